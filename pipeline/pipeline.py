"""`create_pipeline`: the gc-tfx graph, a pure factory. Runners (local, Kubeflow) compute every path."""
from typing import List, Optional, Union

from ml_metadata.proto import metadata_store_pb2
# TFX's classes from the modules that define them, not through `tfx.v1`, whose import also loads every extension and
# the Google Cloud SDKs: 3 s at every start (tests/test_structure.py).
from tfx import components as tfx_components
from tfx.components.schema_gen.import_schema_gen.component import ImportSchemaGen
from tfx.orchestration import data_types
from tfx.orchestration import pipeline as tfx_pipeline
from tfx.proto import pusher_pb2, trainer_pb2, transform_pb2

from components.image_example_gen.component import ImageExampleGen
from components.model_selection.component import ModelSelection
from components.review import Review
from components.validation_gate import DataValidationGate
from pipeline import evaluation
from pipeline import experiment as ids
from pipeline.experiment import ExperimentConfig, evaluator_id, trainer_id
from trainer.config import BASELINE, GC, METHODS
from trainer.features import EVAL_SPLIT, TEST_SPLIT, TRAIN_SPLIT

# Dotted names, not imports: the components load the trainer's code (TensorFlow) in their own processes.
PREPROCESSING_FN = "trainer.preprocessing.preprocessing_fn"
RUN_FN = "trainer.task.run_fn"

# Nodes the runners never serve from the cache: ModelSelection's result depends on the model serving at the push
# destination, which changes between runs while its inputs stay the same. Its cost is predicting two splits.
ALWAYS_RUN = (ids.MODEL_SELECTION_ID,)


def create_pipeline(
    *,
    pipeline_name: str,
    pipeline_root: str,
    data_root: str,
    schema_path: str,
    serving_model_dir: str,
    experiment: ExperimentConfig,
    enable_cache: bool = True,
    beam_pipeline_args: Optional[List[str]] = None,
    metadata_connection_config: Optional[metadata_store_pb2.ConnectionConfig] = None,
    data_fingerprint: Optional[Union[str, data_types.RuntimeParameter]] = None,
) -> tfx_pipeline.Pipeline:
    """Returns the pipeline training the seed CNN with and without GC per seed and pushing the better model.

    `data_fingerprint` is for orchestrators that run no ExampleGen driver (open-source Kubeflow): a value that
    changes with the data, so that their cache key for ImageExampleGen does.
    """
    # Encoded images + labels from DATA/{train,test}/{horses,humans}; bad files listed in rejected.csv.
    example_gen = ImageExampleGen(input_base=data_root, eval_percent=experiment.eval_percent,
                                  data_fingerprint=data_fingerprint).with_id(ids.EXAMPLE_GEN_ID)

    # Statistics against a curated schema; anomalies stop the run before any training.
    statistics_gen = tfx_components.StatisticsGen(
        examples=example_gen.outputs["examples"]).with_id(ids.STATISTICS_GEN_ID)
    schema_gen = ImportSchemaGen(schema_file=schema_path).with_id(ids.SCHEMA_GEN_ID)
    example_validator = tfx_components.ExampleValidator(
        statistics=statistics_gen.outputs["statistics"],
        schema=schema_gen.outputs["schema"]).with_id(ids.EXAMPLE_VALIDATOR_ID)
    validation_gate = DataValidationGate(
        anomalies=example_validator.outputs["anomalies"]).with_id(ids.VALIDATION_GATE_ID)

    # Decode, resize and rescale; the graph is applied inside the Trainers and served with the model.
    transform = tfx_components.Transform(
        examples=example_gen.outputs["examples"],
        schema=schema_gen.outputs["schema"],
        preprocessing_fn=PREPROCESSING_FN,
        splits_config=transform_pb2.SplitsConfig(analyze=[TRAIN_SPLIT], transform=[]),
        materialize=False,
        disable_statistics=True,
        custom_config={"image_size": experiment.training.image_size},
    ).with_id(ids.TRANSFORM_ID)
    transform.add_upstream_node(validation_gate)

    # Per seed, the same run_fn twice; only the method differs, the seed gives both identical weights and data
    # order. No Trainer depends on another, so on Kubeflow all of them run at once.
    trainers = {method: {} for method in METHODS}
    evaluations = {}
    for seed in experiment.seeds:
        for method in METHODS:
            trainers[method][seed] = tfx_components.Trainer(
                run_fn=RUN_FN,
                examples=example_gen.outputs["examples"],
                transform_graph=transform.outputs["transform_graph"],
                schema=schema_gen.outputs["schema"],
                train_args=trainer_pb2.TrainArgs(splits=[TRAIN_SPLIT]),
                eval_args=trainer_pb2.EvalArgs(splits=[EVAL_SPLIT]),
                custom_config=experiment.trainer_custom_config(method, seed),
            ).with_id(trainer_id(method, seed))
        # The pair on the held-out test split: GC as candidate, the baseline as baseline_model.
        evaluations[seed] = tfx_components.Evaluator(
            examples=example_gen.outputs["examples"],
            model=trainers[GC][seed].outputs["model"],
            baseline_model=trainers[BASELINE][seed].outputs["model"],
            example_splits=[TEST_SPLIT],
            eval_config=evaluation.build_eval_config(),
        ).with_id(evaluator_id(seed))

    # The verdict over all seeds (paired statistics), then the one model to push: the better method's best seed
    # on the eval split, if it meets the quality floor and beats the model serving now (unless forced).
    model_selection = ModelSelection(
        examples=example_gen.outputs["examples"],
        evaluations={seed: evaluator.outputs["evaluation"] for seed, evaluator in evaluations.items()},
        models={method: {seed: trainer.outputs["model"] for seed, trainer in by_seed.items()}
                for method, by_seed in trainers.items()},
        model_runs={method: {seed: trainer.outputs["model_run"] for seed, trainer in by_seed.items()}
                    for method, by_seed in trainers.items()},
        quality_floor=float(experiment.quality_floor),
        serving_model_dir=serving_model_dir,
        force_push=experiment.force_push,
    ).with_id(ids.MODEL_SELECTION_ID)

    # Copy the selected SavedModel to serving_model_dir/<version>/ when it was blessed.
    pusher = tfx_components.Pusher(
        model=model_selection.outputs["model"],
        model_blessing=model_selection.outputs["blessing"],
        push_destination=pusher_pb2.PushDestination(
            filesystem=pusher_pb2.PushDestination.Filesystem(base_directory=serving_model_dir)),
    ).with_id(ids.PUSHER_ID)

    # What people review, in the types the Kubeflow UI renders: the report page, the verdict in Markdown, the
    # study's metrics for Compare runs and the pushed seed's confusion matrices and ROCs.
    review = Review(
        examples=example_gen.outputs["examples"],
        statistics=statistics_gen.outputs["statistics"],
        anomalies=example_validator.outputs["anomalies"],
        blessing=model_selection.outputs["blessing"],
        pushed_model=pusher.outputs["pushed_model"],
        evaluations={seed: evaluator.outputs["evaluation"] for seed, evaluator in evaluations.items()},
        model_runs={method: {seed: trainer.outputs["model_run"] for seed, trainer in by_seed.items()}
                    for method, by_seed in trainers.items()},
    ).with_id(ids.REVIEW_ID)

    return tfx_pipeline.Pipeline(
        pipeline_name=pipeline_name,
        pipeline_root=pipeline_root,
        components=[example_gen, statistics_gen, schema_gen, example_validator, validation_gate, transform,
                    *(trainer for by_seed in trainers.values() for trainer in by_seed.values()),
                    *evaluations.values(), model_selection, pusher, review],
        enable_cache=enable_cache,
        metadata_connection_config=metadata_connection_config,
        beam_pipeline_args=beam_pipeline_args or [],
    )
