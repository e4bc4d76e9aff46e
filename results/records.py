"""The one way a record becomes JSON and back: a pydantic model, validated when read, with one NaN policy.

JSON has no NaN or infinity. A number that is not a number (TFMA reports precision as NaN for a model that never
predicts the positive class) is None in memory and null in the file, for every record alike (`Number`).
"""
import math
import os
from typing import IO, Annotated, ClassVar, Optional, Type, TypeVar

import pydantic

RecordT = TypeVar("RecordT", bound="Record")


def _nan_as_none(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# A metric that may be missing or undefined: None, never NaN.
Number = Annotated[Optional[float], pydantic.BeforeValidator(_nan_as_none)]


class Record(pydantic.BaseModel):
    """Frozen, validated on construction; derived values (computed fields) are written out for readers of the file
    and ignored when it is read back."""

    model_config = pydantic.ConfigDict(frozen=True, extra="ignore", ser_json_inf_nan="null")
    FILE_NAME: ClassVar[str] = ""  # the record's file in the artifact or folder that holds it

    def to_json(self) -> str:
        return self.model_dump_json(indent=2) + "\n"

    @classmethod
    def from_json(cls: Type[RecordT], text: str, source: str = "") -> RecordT:
        """The record in `text`; ValueError naming `source` and every field that does not fit."""
        try:
            return cls.model_validate_json(text)
        except pydantic.ValidationError as error:
            problems = "; ".join(f"{'.'.join(str(part) for part in item['loc']) or 'the document'}: {item['msg']}"
                                 for item in error.errors())
            raise ValueError(f"{source or cls.__name__} is not a valid {cls.__name__} ({problems}): written by "
                             f"another version of gc-tfx?") from None

    @classmethod
    def read(cls: Type[RecordT], path: str) -> RecordT:
        """The record in the file at `path`, a local path or a gs:// or s3:// URI."""
        return cls.from_json(read_text(path), source=path)

    @classmethod
    def read_in(cls: Type[RecordT], folder: str) -> RecordT:
        """The record's file (FILE_NAME) in `folder`, e.g. an artifact's URI."""
        return cls.read(os.path.join(folder, cls.FILE_NAME))


def open_text(path: str) -> IO[str]:
    """A text file opened for reading, local or in object storage (TensorFlow is imported only for the latter)."""
    if "://" in path:
        import tensorflow as tf  # pylint: disable=import-outside-toplevel

        return tf.io.gfile.GFile(path)
    return open(path, encoding="utf-8", newline="")


def read_text(path: str) -> str:
    """A text file's contents, local or in object storage."""
    with open_text(path) as text:
        return text.read()
