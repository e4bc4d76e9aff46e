"""ImageExampleGen: an ExampleGen for folders of labelled images (DATA/{train,test}/{horses,humans}/*)."""
from typing import Optional, Union

from tfx.components.example_gen import component as example_gen_component
from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.orchestration import data_types
from tfx.proto import example_gen_pb2
from tfx.types import channel, component_spec, standard_artifacts, standard_component_specs

from components.image_example_gen import driver, executor, layout

# Read by no executor: it is there for the orchestrator's cache key, which holds every execution parameter. Open-
# source Kubeflow runs no ExampleGen driver, so without it the key would hold only the folder's name.
DATA_FINGERPRINT_KEY = "data_fingerprint"


class ImageExampleGenSpec(component_spec.ComponentSpec):
    """Parameters of ImageExampleGen; `input_config` is derived, for the drivers that fingerprint the input."""

    PARAMETERS = {
        standard_component_specs.INPUT_BASE_KEY: component_spec.ExecutionParameter(type=str),
        standard_component_specs.INPUT_CONFIG_KEY: component_spec.ExecutionParameter(type=example_gen_pb2.Input),
        executor.EVAL_PERCENT_KEY: component_spec.ExecutionParameter(type=int),
        DATA_FINGERPRINT_KEY: component_spec.ExecutionParameter(type=str, optional=True),
    }
    INPUTS = {}
    OUTPUTS = {
        standard_component_specs.EXAMPLES_KEY: component_spec.ChannelParameter(type=standard_artifacts.Examples),
    }


def _input_config() -> example_gen_pb2.Input:
    # What each source split reads, in the form ExampleGen drivers understand. Our driver fingerprints the
    # whole folder instead; Kubeflow's stock FileBasedExampleGen driver fingerprints these patterns.
    return example_gen_pb2.Input(splits=[
        example_gen_pb2.Input.Split(name=layout.TRAIN_FOLDER, pattern=f"{layout.TRAIN_FOLDER}/*/*"),
        example_gen_pb2.Input.Split(name=layout.TEST_FOLDER, pattern=f"{layout.TEST_FOLDER}/*/*"),
    ])


class ImageExampleGen(example_gen_component.FileBasedExampleGen):
    """Ingests `input_base`/{train,test}/{class}/* into `train`, `eval` and `test` splits of tf.Examples.

    Features: `image` (encoded PNG/JPEG bytes), `label` (int64 index into CLASS_NAMES), `filename` (posix path
    relative to `input_base`). `eval` is `eval_percent`% of train/, chosen by a stable hash of `filename`;
    `test` is test/ only. Files that cannot be examples are listed in `rejected.csv` beside the splits.

    A FileBasedExampleGen subclass so that orchestrators treat it as one: Kubeflow V2 runs the ExampleGen
    fingerprinting driver before its cache check. The parent's constructor is skipped because it builds the
    parent's spec, whose output_config and format options do not apply here.
    """

    SPEC_CLASS = ImageExampleGenSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)
    DRIVER_CLASS = driver.ImageFolderDriver

    def __init__(self, input_base: str, eval_percent: int = layout.DEFAULT_EVAL_PERCENT,
                 data_fingerprint: Optional[Union[str, data_types.RuntimeParameter]] = None):
        """`input_base`: the data folder (local or gs://); `eval_percent`: 1..50, share of train/ held out;
        `data_fingerprint`: any value that changes with the folder's content (none where a driver fingerprints)."""
        if not isinstance(input_base, str) or not input_base:
            raise ValueError(f"input_base must be the data folder path, got {input_base!r}.")
        spec = ImageExampleGenSpec(
            input_base=input_base,
            input_config=_input_config(),
            eval_percent=layout.validate_eval_percent(eval_percent),
            data_fingerprint=data_fingerprint,
            examples=channel.Channel(type=standard_artifacts.Examples))
        base_beam_component.BaseBeamComponent.__init__(self, spec=spec)  # pylint: disable=non-parent-init-called
