"""ImageExampleGen: image folders in the Horses-or-Humans / Keras layout to train, eval and test tf.Examples."""
from components.image_example_gen.component import ImageExampleGen
from components.image_example_gen.ingestion_report import (REJECTED_CSV, SUMMARY_JSON, IncompleteSplitError,
                                                           count_properties)
from components.image_example_gen.layout import SPLIT_NAMES

__all__ = ["ImageExampleGen", "IncompleteSplitError", "REJECTED_CSV", "SUMMARY_JSON", "SPLIT_NAMES",
           "count_properties"]
