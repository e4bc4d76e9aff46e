"""`create_pipeline`: the gc-tfx graph, a pure factory. Runners (local, Kubeflow) compute every path."""
from typing import List, Optional

from ml_metadata.proto import metadata_store_pb2
from tfx import v1 as tfx

from components.image_example_gen.component import ImageExampleGen
from components.model_selection import ModelSelection
from components.validation_gate import DataValidationGate
from pipeline import evaluation

PREPROCESSING_FN = "trainer.preprocessing.preprocessing_fn"
RUN_FN = "trainer.task.run_fn"
GC_TRAINER_ID = "trainer_gc"
BASELINE_TRAINER_ID = "trainer_baseline"


def create_pipeline(
    *,
    pipeline_name: str,
    pipeline_root: str,
    data_root: str,
    schema_path: str,
    serving_model_dir: str,
    epochs: int,
    batch_size: int,
    image_size: int,
    seed: int,
    learning_rate: float = 1e-4,
    eval_percent: int = 10,
    selection_metric: str = evaluation.PRIMARY_METRIC,
    quality_floor: float = 0.5,
    enable_cache: bool = True,
    beam_pipeline_args: Optional[List[str]] = None,
    metadata_connection_config: Optional[metadata_store_pb2.ConnectionConfig] = None,
) -> tfx.dsl.Pipeline:
    """Returns the pipeline training the seed CNN with and without GC and pushing the better model."""
    # Encoded images + labels from DATA/{train,test}/{horses,humans}; bad files listed in rejected.csv.
    example_gen = ImageExampleGen(input_base=data_root, eval_percent=eval_percent)

    # Statistics against a curated schema; anomalies stop the run before any training.
    statistics_gen = tfx.components.StatisticsGen(examples=example_gen.outputs["examples"])
    schema_gen = tfx.components.ImportSchemaGen(schema_file=schema_path)
    example_validator = tfx.components.ExampleValidator(
        statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"])
    validation_gate = DataValidationGate(anomalies=example_validator.outputs["anomalies"])

    # Decode, resize and rescale; the graph is applied inside the Trainers and served with the model.
    transform = tfx.components.Transform(
        examples=example_gen.outputs["examples"],
        schema=schema_gen.outputs["schema"],
        preprocessing_fn=PREPROCESSING_FN,
        splits_config=tfx.proto.SplitsConfig(analyze=["train"], transform=[]),
        materialize=False,
        disable_statistics=True,
        custom_config={"image_size": image_size},
    )
    transform.add_upstream_node(validation_gate)

    # The same run_fn twice; only use_gc differs, the seed gives both identical weights and data order.
    trainers = {}
    for trainer_id, use_gc in ((GC_TRAINER_ID, True), (BASELINE_TRAINER_ID, False)):
        trainers[trainer_id] = tfx.components.Trainer(
            run_fn=RUN_FN,
            examples=example_gen.outputs["examples"],
            transform_graph=transform.outputs["transform_graph"],
            schema=schema_gen.outputs["schema"],
            train_args=tfx.proto.TrainArgs(splits=["train"]),
            eval_args=tfx.proto.EvalArgs(splits=["eval"]),
            custom_config={"use_gc": use_gc, "epochs": epochs, "batch_size": batch_size,
                           "learning_rate": learning_rate, "image_size": image_size, "seed": seed},
        ).with_id(trainer_id)

    # Both models on the held-out test split: GC as candidate, the baseline as baseline_model.
    evaluator = tfx.components.Evaluator(
        examples=example_gen.outputs["examples"],
        model=trainers[GC_TRAINER_ID].outputs["model"],
        baseline_model=trainers[BASELINE_TRAINER_ID].outputs["model"],
        example_splits=["test"],
        eval_config=evaluation.build_eval_config(quality_floor),
    )

    # Pick the better model (metric, tie-breakers, quality floor) and bless only that one.
    model_selection = ModelSelection(
        evaluation=evaluator.outputs["evaluation"],
        candidate_model=trainers[GC_TRAINER_ID].outputs["model"],
        baseline_model=trainers[BASELINE_TRAINER_ID].outputs["model"],
        metric=selection_metric,
        quality_floor=float(quality_floor),
    )

    # Copy the selected SavedModel to serving_model_dir/<version>/ when it was blessed.
    pusher = tfx.components.Pusher(
        model=model_selection.outputs["model"],
        model_blessing=model_selection.outputs["blessing"],
        push_destination=tfx.proto.PushDestination(
            filesystem=tfx.proto.PushDestination.Filesystem(base_directory=serving_model_dir)),
    )

    return tfx.dsl.Pipeline(
        pipeline_name=pipeline_name,
        pipeline_root=pipeline_root,
        components=[example_gen, statistics_gen, schema_gen, example_validator, validation_gate, transform,
                    *trainers.values(), evaluator, model_selection, pusher],
        enable_cache=enable_cache,
        metadata_connection_config=metadata_connection_config,
        beam_pipeline_args=beam_pipeline_args or [],
    )
