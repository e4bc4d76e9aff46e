"""A full disk, said as such: one sentence about space instead of whatever layer noticed it first.

The layer that hits the full disk decides what the error looks like: Python raises OSError(ENOSPC), TensorFlow an
OpError whose text says "No space left on device", Beam re-raises a worker's error as text, and ML Metadata's
SQLite answers "database or disk is full" with the SQL statement it was running. Each keeps the cause in its text
or in the exception chain, which is where this looks. The run resumes from the cache once space is freed, so the
message says so.
"""
import contextlib
import errno
from typing import Iterator, Optional

from cli.errors import UserError

_OUT_OF_SPACE_TEXTS = ("no space left on device", "database or disk is full")


def is_out_of_space(error: Optional[BaseException]) -> bool:
    """True when `error`, or any exception in its cause/context chain, reports a full disk."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno == errno.ENOSPC:
            return True
        if any(text in str(error).lower() for text in _OUT_OF_SPACE_TEXTS):
            return True
        error = error.__cause__ or error.__context__
    return False


def out_of_space_sentence(output: str) -> str:
    return f"no space left on the disk holding {output}; free space and rerun the same command to resume."


@contextlib.contextmanager
def full_disk_as_user_error(output: str) -> Iterator[None]:
    """Turns an exception caused by a full disk into a UserError saying so; a UserError or any other passes as is."""
    try:
        yield
    except UserError:
        raise
    except Exception as error:
        if is_out_of_space(error):
            raise UserError(out_of_space_sentence(output)) from error
        raise
