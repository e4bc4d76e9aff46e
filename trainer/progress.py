"""One console line per Trainer epoch instead of Keras' own: what a person watching a long run wants to know.

On a terminal the line updates in place (epoch i/N, loss, accuracy, validation accuracy, seconds per epoch, time
left) and stays once the last epoch ends; into a log or a pipe it is one plain line per epoch. Every line also goes
to absl's log, which `gc-tfx --verbose` shows.
"""
import sys
from typing import Dict, List, Optional, TextIO

import tf_keras
from absl import logging


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"


def epoch_line(label: str, epoch: int, epochs: int, logs: Dict[str, float], epoch_seconds: List[float]) -> str:
    """E.g. "    gc: epoch 3/10, loss 0.6912, accuracy 0.5268, val_accuracy 0.6071, 21.5 s/epoch, ~2 min 30 s left".

    Time left counts the epochs after the first only, once there are some: the first also traces the model.
    """
    metrics = ", ".join(f"{name} {logs[name]:.4f}" for name in ("loss", "accuracy", "val_accuracy") if name in logs)
    last = epoch_seconds[-1]
    steady = epoch_seconds[1:] or epoch_seconds
    remaining = epochs - (epoch + 1)
    left = f", ~{_duration(remaining * sum(steady) / len(steady))} left" if remaining else ""
    return f"    {label}: epoch {epoch + 1}/{epochs}, {metrics}, {last:.1f} s/epoch{left}"


class EpochProgress(tf_keras.callbacks.Callback):
    """Prints `epoch_line` after every epoch; put it after the EpochTimer whose `epoch_seconds` it reads."""

    def __init__(self, label: str, epochs: int, epoch_seconds: List[float], stream: TextIO = sys.stdout) -> None:
        super().__init__()
        self._label, self._epochs, self._epoch_seconds, self._stream = label, epochs, epoch_seconds, stream
        self._in_place = stream.isatty()

    def on_epoch_end(self, epoch: int, logs: Optional[Dict[str, float]] = None) -> None:
        line = epoch_line(self._label, epoch, self._epochs, logs or {}, self._epoch_seconds)
        logging.info(line.strip())
        last = epoch + 1 == self._epochs
        if self._in_place:
            self._stream.write("\r\033[K" + line + ("\n" if last else ""))
        else:
            self._stream.write(line + "\n")
        self._stream.flush()
