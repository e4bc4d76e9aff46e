"""ModelSelection: the TFX step after the Evaluators that compares GC with the baseline over every seed, states
the verdict, and hands the one model to push to the standard Pusher.

The Evaluator's blessing speaks only for its candidate, so it cannot push "whichever is better", and a verdict
needs every seed at once. This component takes, per seed, that pair's Evaluator output, both models and both
Trainers' model_run artifacts, plus the Examples. One source per number: the test metrics are TFMA's
(`report.tfma_results`), the eval-split scores that pick a seed are what each Trainer recorded after its last
epoch (`training_record.json`), and the only inference here is what needs per-example predictions: both models on
the test split for McNemar's paired test (`predictions`) and the serving model's score (`serving_model`). It
computes the study (`results.paired_statistics`), applies the push rule (`rules`), copies the chosen model into
its own Model output and writes a ModelBlessing the Pusher understands (custom property `blessed` = 1 or 0) with
`selection.json` beside it.

Its inputs depend on the seeds, so the spec class is built per seed list (`ModelSelection(seeds=...)`); the
executor reads the seeds back from its `seeds` parameter. Every runner passes the inputs by key.

The serving folder is a parameter, not an input: open-source Kubeflow runs no Resolver nodes, and what serves can
change between runs while this component's inputs stay the same, so the runners never serve it from the cache
(`pipeline.pipeline.ALWAYS_RUN`).
"""
import os
from typing import Any, Dict, List, Sequence, Type

from absl import logging
from tfx import types
from tfx.components.evaluator import constants as evaluator_constants
from tfx.dsl.components.base import base_component, base_executor, executor_spec
from tfx.dsl.io import fileio
from tfx.types import artifact_utils, standard_artifacts
from tfx.types.component_spec import ChannelParameter, ExecutionParameter
from tfx.utils import io_utils, path_utils

from components.model_selection import predictions, rules, serving_model
from report import tfma_results
from results import paired_statistics
from results.selection import SELECTION_FILE, Candidate, SelectionRecord
from trainer.config import BASELINE, GC, METHODS
from trainer.features import TEST_SPLIT
from trainer.training_record import EVAL_ACCURACY, EVAL_LOSS, TrainingRecord

EXAMPLES_KEY = "examples"
MODEL_KEY = "model"
BLESSING_KEY = "blessing"
SEEDS_KEY = "seeds"
QUALITY_FLOOR_KEY = "quality_floor"
SERVING_MODEL_DIR_KEY = "serving_model_dir"  # the Pusher's base directory: the chosen model must beat its newest
FORCE_PUSH_KEY = "force_push"  # 1: push even when the serving model scores as high (an int: every runner has it)

# Custom properties set on both outputs, besides the blessing's `blessed`, `current_model`, `current_model_id`.
VERDICT_PROPERTY = "verdict"
METHOD_PROPERTY = "method"  # of the chosen model, pushed or not
SEED_PROPERTY = "seed"
INTERVAL_PROPERTIES = ("interval_low", "interval_high")
REASON_PROPERTY = "reason"
SERVING_VERSION_PROPERTY = "serving_version"  # only when a model was serving
SERVING_VALUE_PROPERTY = "serving_test_value"
FORCED_PROPERTY = "forced"
SELECTED_FROM_PROPERTY = "selected_from"  # URI of the input Model that the output model was copied from


def evaluation_key(seed: int) -> str:
    return f"evaluation_seed{seed}"


def model_key(method: str, seed: int) -> str:
    return f"{method}_model_seed{seed}"


def model_run_key(method: str, seed: int) -> str:
    """The input of a Trainer's model_run artifact, which holds its training record."""
    return f"{method}_model_run_seed{seed}"


def format_seeds(seeds: Sequence[int]) -> str:
    """The `seeds` parameter: comma-separated, a string because every runner passes strings through unchanged."""
    return ",".join(str(seed) for seed in seeds)


def parse_seeds(text: str) -> List[int]:
    seeds = [int(part) for part in text.split(",") if part.strip()]
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must name distinct whole numbers, got {text!r}")
    return seeds


class ModelSelectionSpec(types.ComponentSpec):
    """Parameters and outputs; `spec_class` adds the per-seed inputs."""

    PARAMETERS = {
        SEEDS_KEY: ExecutionParameter(type=str),
        QUALITY_FLOOR_KEY: ExecutionParameter(type=float),
        SERVING_MODEL_DIR_KEY: ExecutionParameter(type=str),
        FORCE_PUSH_KEY: ExecutionParameter(type=int),
    }
    INPUTS: Dict[str, ChannelParameter] = {}
    OUTPUTS = {
        MODEL_KEY: ChannelParameter(type=standard_artifacts.Model),
        BLESSING_KEY: ChannelParameter(type=standard_artifacts.ModelBlessing),
    }


def spec_class(seeds: Sequence[int]) -> Type[ModelSelectionSpec]:
    """A ModelSelectionSpec whose inputs are the Examples and, per seed, the evaluation, both models and both
    Trainers' model_run artifacts."""
    inputs = {EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples)}
    for seed in seeds:
        inputs[evaluation_key(seed)] = ChannelParameter(type=standard_artifacts.ModelEvaluation)
        for method in METHODS:
            inputs[model_key(method, seed)] = ChannelParameter(type=standard_artifacts.Model)
            inputs[model_run_key(method, seed)] = ChannelParameter(type=standard_artifacts.ModelRun)
    return type("ModelSelectionSpec", (ModelSelectionSpec,), {"INPUTS": inputs})


class Executor(base_executor.BaseExecutor):
    """Computes the study and the choice; see the module docstring."""

    def Do(self, input_dict: Dict[str, List[types.Artifact]], output_dict: Dict[str, List[types.Artifact]],
           exec_properties: Dict[str, Any]) -> None:
        seeds = parse_seeds(exec_properties[SEEDS_KEY])
        quality_floor = float(exec_properties[QUALITY_FLOOR_KEY])
        examples = artifact_utils.get_single_instance(input_dict[EXAMPLES_KEY])
        models = {(method, seed): artifact_utils.get_single_instance(input_dict[model_key(method, seed)])
                  for seed in seeds for method in METHODS}
        evaluations = {seed: artifact_utils.get_single_instance(input_dict[evaluation_key(seed)]) for seed in seeds}
        test = predictions.load_split(examples, TEST_SPLIT)

        seed_results, pairs, candidates, test_metrics = [], [], [], {}
        for seed in seeds:
            by_model = tfma_results.load_overall_metrics_by_model(evaluations[seed].uri)
            metrics = {method: tfma_results.metrics_of_model(by_model, method) for method in METHODS}
            test_metrics[str(seed)] = metrics
            correct = {}
            for method in METHODS:
                probability = predictions.probabilities(models[method, seed], test)
                correct[method] = predictions.correct(probability, test.labels)
                record = TrainingRecord.read_in(
                    artifact_utils.get_single_instance(input_dict[model_run_key(method, seed)]).uri)
                candidates.append(_candidate(method, seed, record, metrics[method][rules.PRIMARY_METRIC]))
            pair = paired_statistics.PairedPredictions(correct[GC], correct[BASELINE])
            pairs.append(pair)
            seed_results.append(paired_statistics.seed_result(
                seed, metrics[GC][rules.PRIMARY_METRIC], metrics[BASELINE][rules.PRIMARY_METRIC], pair))
            logging.info("Seed %d: GC %.4f, baseline %.4f, McNemar exact p %.4g.", seed, seed_results[-1].gc,
                         seed_results[-1].baseline, seed_results[-1].mcnemar_p)

        study = paired_statistics.summarize(rules.PRIMARY_METRIC, seed_results, pairs)
        serving = serving_model.score_serving_model(exec_properties[SERVING_MODEL_DIR_KEY], test)
        choice = rules.choose_model(study.verdict, candidates, quality_floor, serving=serving,
                                    force_push=bool(exec_properties[FORCE_PUSH_KEY]))
        logging.info("Verdict %s, 95%% interval [%.4f, %.4f]; %s", study.verdict, *study.interval_95, choice.reason)

        source = models[choice.method, choice.seed]
        model = artifact_utils.get_single_instance(output_dict[MODEL_KEY])
        blessing = artifact_utils.get_single_instance(output_dict[BLESSING_KEY])
        copy_model_artifact(source, model.uri)
        model.set_string_custom_property(SELECTED_FROM_PROPERTY, source.uri)
        for artifact in (model, blessing):
            _set_decision_properties(artifact, study, choice)
        _bless(blessing, choice, source)
        record = SelectionRecord(
            study=study, rule=rules.RULE, choice=choice, candidates=candidates, test_metrics=test_metrics,
            model_uris={str(seed): {method: models[method, seed].uri for method in METHODS} for seed in seeds},
            evaluation_uris={str(seed): evaluations[seed].uri for seed in seeds},
            selected_from=source.uri, selected_model_uri=model.uri)
        io_utils.write_string_file(os.path.join(blessing.uri, SELECTION_FILE), record.to_json())


class ModelSelection(base_component.BaseComponent):
    """Compares GC with the baseline over `seeds` and selects the one model to push (see the module docstring)."""

    SPEC_CLASS = ModelSelectionSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(Executor)

    def __init__(self, *, examples: types.BaseChannel, evaluations: Dict[int, types.BaseChannel],
                 models: Dict[str, Dict[int, types.BaseChannel]], model_runs: Dict[str, Dict[int, types.BaseChannel]],
                 quality_floor: float, serving_model_dir: str, force_push: bool = False) -> None:
        """`evaluations` maps seed -> Evaluator output; `models` and `model_runs` map method -> seed -> that
        Trainer's output; `serving_model_dir` is the Pusher's base directory."""
        seeds = sorted(evaluations)
        for name, channels_by_method in (("model", models), ("model_run", model_runs)):
            if any(sorted(channels_by_method.get(method, {})) != seeds for method in METHODS):
                raise ValueError(f"Need a GC and a baseline {name} for every evaluated seed {seeds}, got "
                                 f"{ {method: sorted(by_seed) for method, by_seed in channels_by_method.items()} }")
        channels = {EXAMPLES_KEY: examples}
        for seed in seeds:
            channels[evaluation_key(seed)] = evaluations[seed]
            channels.update({model_key(method, seed): models[method][seed] for method in METHODS})
            channels.update({model_run_key(method, seed): model_runs[method][seed] for method in METHODS})
        spec = spec_class(seeds)(
            **channels, seeds=format_seeds(seeds), quality_floor=float(quality_floor),
            serving_model_dir=serving_model_dir, force_push=int(bool(force_push)),
            model=types.Channel(type=standard_artifacts.Model),
            blessing=types.Channel(type=standard_artifacts.ModelBlessing))
        super().__init__(spec=spec)


def _candidate(method: str, seed: int, record: TrainingRecord, test_value: float) -> Candidate:
    """A model's scores for the push rule: eval-split ones as its Trainer recorded them, the test value TFMA's."""
    accuracy, loss = record.final_eval_score(EVAL_ACCURACY), record.final_eval_score(EVAL_LOSS)
    if accuracy is None or loss is None:
        raise ValueError(f"The {method} model of seed {seed} ended training with an eval-split accuracy {accuracy} "
                         f"and loss {loss}: not numbers, so training diverged; it cannot be ranked")
    return Candidate(method=method, seed=seed, eval_accuracy=accuracy, eval_log_loss=loss, test_value=test_value)


def copy_model_artifact(source: types.Artifact, destination_uri: str) -> None:
    """Copies a Model artifact's files to `destination_uri`, in the folder layout of the current TFX version.

    Pusher and Evaluator look for the SavedModel under `Format-Serving`, except in artifacts without a TFX version
    (Importer outputs, say), which they read in the pre-0.29 layout (`serving_model_dir`). Our output is always
    stamped with the current version, so an old-layout source is renamed on the way.
    """
    if not path_utils.is_old_model_artifact(source):
        io_utils.copy_dir(source.uri, destination_uri)
        return
    for model_dir in (path_utils.serving_model_dir, path_utils.eval_model_dir):
        old_layout_dir = model_dir(source.uri, True)
        if fileio.exists(old_layout_dir):
            io_utils.copy_dir(old_layout_dir, model_dir(destination_uri, False))


def _bless(blessing: types.Artifact, choice: rules.Choice, source: types.Artifact) -> None:
    """Marks the blessing exactly as the Evaluator does, so the standard Pusher and resolvers read it."""
    blessing.set_int_custom_property(
        evaluator_constants.ARTIFACT_PROPERTY_BLESSED_KEY,
        evaluator_constants.BLESSED_VALUE if choice.should_push else evaluator_constants.NOT_BLESSED_VALUE)
    # The blessed (or rejected) input model; LatestBlessedModelStrategy finds it by this id.
    blessing.set_string_custom_property(evaluator_constants.ARTIFACT_PROPERTY_CURRENT_MODEL_URI_KEY, source.uri)
    blessing.set_int_custom_property(evaluator_constants.ARTIFACT_PROPERTY_CURRENT_MODEL_ID_KEY, source.id)
    marker = (evaluator_constants.BLESSED_FILE_NAME if choice.should_push
              else evaluator_constants.NOT_BLESSED_FILE_NAME)
    io_utils.write_string_file(os.path.join(blessing.uri, marker), "")


def _set_decision_properties(artifact: types.Artifact, study: paired_statistics.Study,
                             choice: rules.Choice) -> None:
    """Records the verdict and the choice in ML Metadata, so they are queryable without reading selection.json."""
    artifact.set_string_custom_property(VERDICT_PROPERTY, study.verdict)
    for name, bound in zip(INTERVAL_PROPERTIES, study.interval_95):
        artifact.set_float_custom_property(name, bound)
    artifact.set_string_custom_property(METHOD_PROPERTY, choice.method)
    artifact.set_int_custom_property(SEED_PROPERTY, choice.seed)
    artifact.set_string_custom_property(REASON_PROPERTY, choice.reason)
    artifact.set_int_custom_property(FORCED_PROPERTY, int(choice.forced))
    if choice.serving is not None:
        artifact.set_string_custom_property(SERVING_VERSION_PROPERTY, choice.serving.version)
        artifact.set_float_custom_property(SERVING_VALUE_PROPERTY, choice.serving.test_value)
