"""ImageExampleGen's executor: lists the data folder, runs the Beam ingestion, checks and records the outcome."""
import posixpath
from typing import Any, Dict, List

from absl import logging
from tfx import types
from tfx.components.util import examples_utils
from tfx.dsl.components.base import base_beam_executor
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils, standard_component_specs

from components.image_example_gen import beam_ingestion, ingestion_report, layout, listing
from results.ingestion import REJECTED_CSV, IngestionSummary
from trainer.features import SPLIT_NAMES

EVAL_PERCENT_KEY = "eval_percent"


def _placements(input_base: str, eval_percent: int) -> List[layout.Placement]:
    """Every entry of the data folder placed: the files by their path, the unreadable entries rejected as listed."""
    folder = listing.list_folder(input_base)
    placements = [layout.place_file(path, eval_percent) for path in layout.data_files(folder.files)]
    return placements + [layout.place_file(entry.path, eval_percent)._replace(rejection=entry.reason)
                         for entry in folder.unreadable]


class Executor(base_beam_executor.BaseBeamExecutor):
    """Writes train/eval/test splits of tf.Examples, rejected.csv and ingestion_summary.json.

    A subclass of BaseBeamExecutor so the pipeline's `beam_pipeline_args` (runner, workers) apply.
    """

    def Do(self, input_dict: Dict[str, List[types.Artifact]], output_dict: Dict[str, List[types.Artifact]],
           exec_properties: Dict[str, Any]) -> None:
        self._log_startup(input_dict, output_dict, exec_properties)
        input_base = exec_properties[standard_component_specs.INPUT_BASE_KEY]
        eval_percent = layout.validate_eval_percent(exec_properties[EVAL_PERCENT_KEY])
        examples = artifact_utils.get_single_instance(output_dict[standard_component_specs.EXAMPLES_KEY])
        examples.split_names = artifact_utils.encode_split_names(list(SPLIT_NAMES))
        split_uris = {split: artifact_utils.get_split_uri([examples], split) for split in SPLIT_NAMES}

        placements = _placements(input_base, eval_percent)
        logging.info("Ingesting %d files from %s into %s.", len(placements), input_base, examples.uri)
        with self._make_beam_pipeline() as pipeline:
            beam_ingestion.ingest(pipeline, input_base, placements, split_uris, examples.uri, eval_percent)

        summary = IngestionSummary.read_in(examples.uri)
        logging.info("Ingestion summary: %s", summary)
        ingestion_report.check_every_split_has_every_class(
            summary, posixpath.join(examples.uri, REJECTED_CSV))

        for name, value in ingestion_report.count_properties(summary).items():
            examples.set_int_custom_property(name, value)
        examples_utils.set_payload_format(examples, example_gen_pb2.FORMAT_TF_EXAMPLE)
        examples_utils.set_file_format(examples, beam_ingestion.FILE_FORMAT)
