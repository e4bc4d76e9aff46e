"""Progress lines follow LocalDagRunner's log records and remember which component failed."""
import io
import logging

from cli import console_progress as progress


def _log(message: str, *args) -> None:
    logging.getLogger("absl").info(message, *args)


def test_prints_start_and_finish_and_marks_cached_components():
    stream = io.StringIO()
    handler = progress.follow_components(stream)
    try:
        _log("Component %s is running.", "Transform")
        _log("A cached execution %d is used.", 7)
        _log("Component %s is finished.", "Transform")
        _log("Component %s is running.", "trainer_gc")
        _log("Component %s is finished.", "trainer_gc")
        _log("Something else entirely.")
    finally:
        logging.getLogger("absl").removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "  Transform running ..."
    assert lines[1].startswith("  Transform done in ") and lines[1].endswith(" s (cached)")
    assert lines[3].startswith("  trainer_gc done in ") and not lines[3].endswith("(cached)")
    assert len(lines) == 4
    assert handler.running_component is None


def test_remembers_the_component_that_never_finished():
    handler = progress.follow_components(io.StringIO())
    try:
        _log("Component %s is running.", "Evaluator")
    finally:
        logging.getLogger("absl").removeHandler(handler)
    assert handler.running_component == "Evaluator"
