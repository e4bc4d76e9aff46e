"""The ExampleGen driver that makes TFX's cache key change whenever the data folder changes.

TFX runs a component's driver before it looks up the cache, and ExampleGen drivers put an `input_fingerprint`
into the execution properties the cache key is computed from. TFX's own file-based fingerprint covers only the
files matching the split patterns and only their count, total size and mtimes to the second; ours covers the
path and content of every file below the data folder, since any of them can change an example or rejected.csv.
"""
from typing import Iterable, Optional

from tfx.components.example_gen import driver as example_gen_driver
from tfx.components.example_gen import input_processor
from tfx.proto import example_gen_pb2
from tfx.proto import range_config_pb2

from components.image_example_gen import listing


class _ImageFolderInputProcessor(input_processor.InputProcessor):
    """Single span, no versions: the data folder is read as a whole every time."""

    def __init__(self, input_base: str, splits: Iterable[example_gen_pb2.Input.Split]):
        super().__init__(splits=splits)
        self._input_base = input_base

    def get_pattern_for_span_version(self, pattern: str, span: int, version: Optional[int]) -> str:
        return pattern

    def get_latest_span(self) -> int:
        return 0

    def get_input_fingerprint(self, span: int, version: Optional[int]) -> str:
        return listing.fingerprint_folder(self._input_base)


class ImageFolderDriver(example_gen_driver.FileBasedDriver):
    """FileBasedDriver whose input fingerprint hashes every file of the image folder."""

    def get_input_processor(
            self,
            splits: Iterable[example_gen_pb2.Input.Split],
            range_config: Optional[range_config_pb2.RangeConfig] = None,
            input_base_uri: Optional[str] = None) -> input_processor.InputProcessor:
        del range_config  # ImageExampleGenSpec has none: the folder is one span.
        return _ImageFolderInputProcessor(input_base_uri, splits)
