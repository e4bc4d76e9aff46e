"""A full disk is recognised however the layer that hit it said so, and nothing else is taken for one."""
import errno

import pytest
import tensorflow as tf

from cli import disk_space
from cli.errors import UserError


def _chained(outer: Exception, cause: Exception) -> Exception:
    outer.__cause__ = cause
    return outer


def _raised_while_handling(outer: Exception, context: Exception) -> Exception:
    outer.__context__ = context
    return outer


@pytest.mark.parametrize("error, full", [
    (OSError(errno.ENOSPC, "No space left on device"), True),
    (tf.errors.ResourceExhaustedError(None, None, "/out/model/variables.data; No space left on device"), True),
    # ML Metadata's SQLite, as the issue saw it at the end of a run.
    (RuntimeError("database or disk is full query: INSERT INTO Association(...) VALUES(16, 7);"), True),
    (_chained(RuntimeError("Pipeline failed"), OSError(errno.ENOSPC, "No space left on device")), True),
    (_raised_while_handling(KeyError("x"), _chained(ValueError("write"), OSError(errno.ENOSPC, "full"))), True),
    (OSError(errno.EACCES, "Permission denied"), False),
    (OSError(errno.EDQUOT, "Disk quota exceeded"), False),
    (RuntimeError("the space of hyper-parameters is full of local minima"), False),
])
def test_a_full_disk_is_found_anywhere_in_the_chain(error, full):
    assert disk_space.is_out_of_space(error) is full


def test_a_full_disk_becomes_the_one_sentence_and_other_errors_pass_unchanged():
    with pytest.raises(UserError) as said:
        with disk_space.full_disk_as_user_error("out"):
            raise _chained(RuntimeError("Beam failed"), OSError(errno.ENOSPC, "No space left on device"))
    assert str(said.value) == ("no space left on the disk holding out; free space and rerun the same command to "
                               "resume.")
    with pytest.raises(ValueError, match="^unrelated$"):
        with disk_space.full_disk_as_user_error("out"):
            raise ValueError("unrelated")
    paragraph = UserError("component Trainer failed: no space left ...")
    with pytest.raises(UserError) as kept:
        with disk_space.full_disk_as_user_error("out"):
            raise paragraph from OSError(errno.ENOSPC, "full")
    assert kept.value is paragraph  # a paragraph that already names the component stays
