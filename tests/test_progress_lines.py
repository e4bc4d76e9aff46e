"""The Trainer's epoch lines (trainer/progress.py): content against hand-computed values, in place on a terminal."""
import io

import pytest

from trainer.progress import EpochProgress, epoch_line

LOGS = {"loss": 0.69123, "accuracy": 0.5, "val_accuracy": 0.625, "auc": 0.6}


@pytest.mark.parametrize("epoch, seconds, expected_end", [
    (0, [30.0], "30.0 s/epoch, ~4 min 30 s left"),  # only the first epoch so far: 9 more of 30 s
    (1, [30.0, 10.0], "10.0 s/epoch, ~1 min 20 s left"),  # later epochs leave the first (tracing) out: 8 x 10 s
    (2, [30.0, 10.0, 14.0], "14.0 s/epoch, ~1 min 24 s left"),  # 7 x mean(10, 14)
    (9, [30.0] + [10.0] * 9, "10.0 s/epoch"),  # the last: nothing left
])
def test_epoch_line_reports_metrics_seconds_and_time_left(epoch, seconds, expected_end):
    line = epoch_line("gc", epoch, 10, LOGS, seconds)
    assert line == (f"    gc: epoch {epoch + 1}/10, loss 0.6912, accuracy 0.5000, val_accuracy 0.6250, "
                    f"{expected_end}")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("stream_type, expected", [
    (io.StringIO, "    gc: epoch 1/2, loss 0.6912, 3.0 s/epoch, ~3 s left\n"
                  "    gc: epoch 2/2, loss 0.5000, 1.0 s/epoch\n"),
    (_Terminal, "\r\033[K    gc: epoch 1/2, loss 0.6912, 3.0 s/epoch, ~3 s left"
                "\r\033[K    gc: epoch 2/2, loss 0.5000, 1.0 s/epoch\n"),
])
def test_lines_update_in_place_only_on_a_terminal(stream_type, expected):
    stream, seconds = stream_type(), []
    progress = EpochProgress("gc", 2, seconds, stream)
    for epoch, (duration, loss) in enumerate([(3.0, 0.69123), (1.0, 0.5)]):
        seconds.append(duration)
        progress.on_epoch_end(epoch, {"loss": loss})
    assert stream.getvalue() == expected
