"""Train/eval TFRecords plus a transform graph on disk, and the same images decoded in memory.

The pipeline-facing benchmarks need both views of one dataset: what the Trainer reads (ImageExampleGen's
gzipped tf.Examples and Transform's graph) and what a bare Keras script would hold (float32 arrays).
"""
import dataclasses
import os
from typing import Dict, Tuple

import numpy as np
import tensorflow_transform as tft
from tfx.components.trainer import fn_args_utils
from tfx.components.util import examples_utils, tfxio_utils
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils, standard_artifacts

from benchmarks import fixtures

# The synthetic dataset's `test` split plays the Trainer's `eval` split: which images are held out does not
# matter for throughput.
_IMAGE_FOLDER_OF_SPLIT = {"train": "train", "eval": "test"}


@dataclasses.dataclass(frozen=True)
class TrainerInputs:
    """Files as the Trainer's FnArgs name them, the transform graph, and the source images they came from."""

    data_dir: str
    examples_uri: str  # the folder holding Split-train/ and Split-eval/, as an Examples artifact does
    files: Dict[str, str]  # split ("train", "eval") -> gzipped TFRecord file
    counts: Dict[str, int]
    transform_graph_path: str
    image_size: int

    def transform_output(self) -> tft.TFTransformOutput:
        return tft.TFTransformOutput(self.transform_graph_path)

    def data_accessor(self) -> fn_args_utils.DataAccessor:
        """The DataAccessor a Trainer gets for these files (`fn_args.data_accessor`), built from an Examples
        artifact the way the Trainer component builds it."""
        examples = standard_artifacts.Examples()
        examples.uri = self.examples_uri
        examples.split_names = artifact_utils.encode_split_names(sorted(self.files))
        examples_utils.set_payload_format(examples, example_gen_pb2.FORMAT_TF_EXAMPLE)
        return fn_args_utils.DataAccessor(
            tf_dataset_factory=tfxio_utils.get_tf_dataset_factory_from_artifact([examples], []),
            record_batch_factory=None, data_view_decode_fn=None)

    def decoded(self, split: str) -> Tuple[np.ndarray, np.ndarray]:
        """The split's (images, labels) exactly as the transform graph decodes them, in file order."""
        return fixtures.decoded_arrays(fixtures.read_split(self.data_dir, _IMAGE_FOLDER_OF_SPLIT[split]),
                                       self.image_size)


def prepare(work_dir: str, *, train: int, evaluation: int, image_size: int, seed: int = 0) -> TrainerInputs:
    """Draws `train` + `evaluation` synthetic images and writes them as ImageExampleGen and Transform would."""
    data_dir = os.path.join(work_dir, "images")
    splits = dict(zip(("train", "eval"), fixtures.synthetic_splits(data_dir, train, evaluation, image_size, seed)))
    files = {split: os.path.join(work_dir, f"Split-{split}", "data_tfrecord-00000-of-00001.gz") for split in splits}
    for split, images in splits.items():
        fixtures.write_raw_records(files[split], images)
    return TrainerInputs(data_dir=data_dir, examples_uri=work_dir, files=files,
                         counts={split: len(images) for split, images in splits.items()},
                         transform_graph_path=fixtures.write_transform_graph(work_dir, image_size),
                         image_size=image_size)
