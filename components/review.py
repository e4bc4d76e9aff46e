"""Review: the pipeline's last step, writing what people review in the KFP UI (and, locally, in ML Metadata).

Outputs, in the types the open-source KFP v2 UI renders (`system`):
- `report` (system.HTML): the standalone report page, the same one `gc-tfx run` writes to OUTPUT/report/, at the
  artifact's URI itself;
- `verdict` (system.Markdown): the verdict in words, the per-seed table, what was pushed and why;
- `metrics` (system.Metrics): the study's numbers, for the run page and Compare runs;
- `gc_classification`, `baseline_classification` (system.ClassificationMetrics): the chosen seed's pair on the
  test split, a confusion matrix and an ROC each.

It reads its inputs through report.run_results, the same code `gc-tfx report` runs on artifacts it finds in ML
Metadata, so the page, the Markdown and the metrics agree with summary.json and the console. Its inputs depend on
the seeds, so the spec class is built per seed list, as ModelSelection's.
"""
from typing import Any, Dict, List, Sequence, Type

from absl import logging
from tfx import types
from tfx.dsl.components.base import base_component, base_executor, executor_spec
from tfx.dsl.io import fileio
from tfx.types import artifact_utils, standard_artifacts
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

import system
from components.model_selection.component import (BLESSING_KEY, EXAMPLES_KEY, SEEDS_KEY, evaluation_key,
                                                  format_seeds, model_run_key, parse_seeds)
from report import kfp_outputs, page
from report.run_results import RunArtifacts, load_run_results
from trainer.config import METHODS

STATISTICS_KEY = "statistics"
ANOMALIES_KEY = "anomalies"
PUSHED_MODEL_KEY = "pushed_model"
REPORT_KEY = "report"
VERDICT_KEY = "verdict"
METRICS_KEY = "metrics"
DISPLAY_NAME = "display_name"  # the KFP UI's label of an artifact


def classification_key(method: str) -> str:
    return f"{method}_classification"


class ReviewSpec(types.ComponentSpec):
    """Parameters and outputs; `spec_class` adds the per-seed inputs."""

    PARAMETERS = {SEEDS_KEY: ExecutionParameter(type=str)}
    INPUTS: Dict[str, ChannelParameter] = {}
    OUTPUTS = {
        REPORT_KEY: ChannelParameter(type=system.HTML),
        VERDICT_KEY: ChannelParameter(type=system.Markdown),
        METRICS_KEY: ChannelParameter(type=system.Metrics),
        **{classification_key(method): ChannelParameter(type=system.ClassificationMetrics) for method in METHODS},
    }


def spec_class(seeds: Sequence[int]) -> Type[ReviewSpec]:
    inputs = {
        EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples),
        STATISTICS_KEY: ChannelParameter(type=standard_artifacts.ExampleStatistics),
        ANOMALIES_KEY: ChannelParameter(type=standard_artifacts.ExampleAnomalies),
        BLESSING_KEY: ChannelParameter(type=standard_artifacts.ModelBlessing),
        PUSHED_MODEL_KEY: ChannelParameter(type=standard_artifacts.PushedModel),
    }
    for seed in seeds:
        inputs[evaluation_key(seed)] = ChannelParameter(type=standard_artifacts.ModelEvaluation)
        inputs.update({model_run_key(method, seed): ChannelParameter(type=standard_artifacts.ModelRun)
                       for method in METHODS})
    return type("ReviewSpec", (ReviewSpec,), {"INPUTS": inputs})


def _single(input_dict: Dict[str, List[types.Artifact]], key: str) -> types.Artifact:
    return artifact_utils.get_single_instance(input_dict[key])


class Executor(base_executor.BaseExecutor):
    """Writes the four kinds of output; see the module docstring."""

    def Do(self, input_dict: Dict[str, List[types.Artifact]], output_dict: Dict[str, List[types.Artifact]],
           exec_properties: Dict[str, Any]) -> None:
        seeds = parse_seeds(exec_properties[SEEDS_KEY])
        results = load_run_results(RunArtifacts(
            examples=_single(input_dict, EXAMPLES_KEY), blessing=_single(input_dict, BLESSING_KEY),
            evaluations={seed: _single(input_dict, evaluation_key(seed)) for seed in seeds},
            model_runs={(method, seed): _single(input_dict, model_run_key(method, seed))
                        for seed in seeds for method in METHODS},
            pushed_model=_single(input_dict, PUSHED_MODEL_KEY), statistics=_single(input_dict, STATISTICS_KEY),
            anomalies=_single(input_dict, ANOMALIES_KEY)))

        for key, text in ((REPORT_KEY, page.render(results)), (VERDICT_KEY, kfp_outputs.markdown(results))):
            artifact = artifact_utils.get_single_instance(output_dict[key])
            with fileio.open(artifact.uri, "w") as output:  # the object at the URI is the document itself
                output.write(text)
            artifact.set_string_custom_property(DISPLAY_NAME, key)

        metrics = artifact_utils.get_single_instance(output_dict[METRICS_KEY])
        metrics.set_string_custom_property(DISPLAY_NAME, METRICS_KEY)
        for name, value in kfp_outputs.scalar_metrics(results).items():
            metrics.set_float_custom_property(name, value)

        for method, curves in kfp_outputs.classification_metrics(results).items():
            artifact = artifact_utils.get_single_instance(output_dict[classification_key(method)])
            artifact.set_string_custom_property(DISPLAY_NAME, f"{method} seed {results.models_seed}")
            if curves is None:
                logging.warning("Review: no confusion matrix for %s (no ConfusionMatrixPlot)", method)
                continue
            for name, value in curves.items():
                artifact.set_json_value_custom_property(name, value)
        logging.info("Review written: %s", artifact_utils.get_single_instance(output_dict[REPORT_KEY]).uri)


class Review(base_component.BaseComponent):
    """The review step over `seeds` (see the module docstring)."""

    SPEC_CLASS = ReviewSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(Executor)

    def __init__(self, *, examples: types.BaseChannel, statistics: types.BaseChannel,
                 anomalies: types.BaseChannel, blessing: types.BaseChannel, pushed_model: types.BaseChannel,
                 evaluations: Dict[int, types.BaseChannel],
                 model_runs: Dict[str, Dict[int, types.BaseChannel]]) -> None:
        """`evaluations` maps seed -> Evaluator output; `model_runs` maps method -> seed -> Trainer model_run."""
        seeds = sorted(evaluations)
        channels = {EXAMPLES_KEY: examples, STATISTICS_KEY: statistics, ANOMALIES_KEY: anomalies,
                    BLESSING_KEY: blessing, PUSHED_MODEL_KEY: pushed_model}
        for seed in seeds:
            channels[evaluation_key(seed)] = evaluations[seed]
            channels.update({model_run_key(method, seed): model_runs[method][seed] for method in METHODS})
        outputs = {key: types.Channel(type=parameter.type) for key, parameter in ReviewSpec.OUTPUTS.items()}
        super().__init__(spec=spec_class(seeds)(**channels, seeds=format_seeds(seeds), **outputs))
