"""The Trainers' `run_fn`: one function, switched by `custom_config["use_gc"]`, so only GC differs.

Both Trainers seed every random source with the same `seed` before building the model: identical initial
weights, data order and augmentation. With two or more GPUs the model is built and compiled inside
MirroredStrategy over all of them; the batch size is per replica, so the global batch scales.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional

import tensorflow as tf
import tensorflow_transform as tft
import tf_keras
from absl import logging

from trainer import data, export, model as model_lib
from trainer.gradient_centralization import centralized
from trainer.preprocessing import DEFAULT_IMAGE_SIZE

if TYPE_CHECKING:  # For the annotation only: importing tfx.v1 takes ~12 s (it loads every component and cloud SDK).
    from tfx import v1 as tfx

TRAINING_RECORD_FILE = "training_record.json"


@dataclasses.dataclass(frozen=True)
class TrainingConfig:
    """What a Trainer's `custom_config` may set; defaults are the seed experiment's."""

    use_gc: bool = False
    epochs: int = 10
    batch_size: int = 128
    learning_rate: float = 1e-4
    image_size: int = DEFAULT_IMAGE_SIZE
    seed: int = 42

    @classmethod
    def from_custom_config(cls, custom_config: Optional[Mapping[str, Any]]) -> "TrainingConfig":
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(custom_config or {}) - known)
        if unknown:
            raise ValueError(f"Unknown Trainer custom_config keys {unknown}; expected some of {sorted(known)}.")
        config = cls(**(custom_config or {}))
        for name in ("epochs", "batch_size", "image_size"):
            if getattr(config, name) < 1:
                raise ValueError(f"Trainer custom_config {name} must be >= 1, got {getattr(config, name)}.")
        return config


class EpochTimer(tf_keras.callbacks.Callback):
    """Wall seconds per epoch; the first includes tracing/compilation, so reports show it apart."""

    def __init__(self) -> None:
        super().__init__()
        self.epoch_seconds: List[float] = []
        self._start = 0.0

    def on_epoch_begin(self, epoch: int, logs: Optional[Dict[str, float]] = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: Optional[Dict[str, float]] = None) -> None:
        self.epoch_seconds.append(time.perf_counter() - self._start)


def weights_fingerprint(model: tf_keras.Model) -> str:
    """SHA-256 of all weights: equal fingerprints prove both Trainers started from the same point."""
    digest = hashlib.sha256()
    for weight in model.get_weights():
        digest.update(weight.tobytes())
    return digest.hexdigest()


def training_strategy() -> tf.distribute.Strategy:
    """MirroredStrategy over every GPU when there are two or more; otherwise the default (one-device) strategy.

    One device has nothing to mirror, and a one-replica MirroredStrategy stalled Keras' change of epoch, the
    longer the more images are cached (benchmarks/one_replica_strategy.py: 3.2 s per 3-epoch fit of 512 images,
    13.5 s of 1027); the model, the batches and the update are the same.
    """
    if len(tf.config.list_logical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def _build_compiled_model(config: TrainingConfig) -> tf_keras.Model:
    model = model_lib.build_model(config.image_size, config.seed)
    optimizer = tf_keras.optimizers.RMSprop(learning_rate=config.learning_rate)
    if config.use_gc:
        optimizer = centralized(optimizer)
    model.compile(
        optimizer=optimizer,
        loss=tf_keras.losses.BinaryCrossentropy(),
        metrics=[tf_keras.metrics.BinaryAccuracy(name="accuracy"), tf_keras.metrics.AUC(name="auc")],
    )
    return model


def run_fn(fn_args: tfx.components.FnArgs) -> None:
    """Trains the seed CNN with or without GC and exports it with Transform's graph attached."""
    config = TrainingConfig.from_custom_config(fn_args.custom_config)
    tf_keras.utils.set_random_seed(config.seed)
    strategy = training_strategy()
    global_batch_size = config.batch_size * strategy.num_replicas_in_sync
    logging.info("Training with GC=%s under %s on %d replica(s), global batch %d.", config.use_gc,
                 type(strategy).__name__, strategy.num_replicas_in_sync, global_batch_size)

    tf_transform_output = tft.TFTransformOutput(fn_args.transform_graph_path)
    train_dataset = data.input_dataset(fn_args.train_files, tf_transform_output, batch_size=global_batch_size,
                                       shuffle=True, seed=config.seed)
    eval_dataset = data.input_dataset(fn_args.eval_files, tf_transform_output, batch_size=global_batch_size,
                                      shuffle=False, seed=config.seed)
    with strategy.scope():
        model = _build_compiled_model(config)
    model.summary(print_fn=logging.info)
    initial_fingerprint = weights_fingerprint(model)

    timer = EpochTimer()
    fit_started = time.perf_counter()
    history = model.fit(
        train_dataset,
        validation_data=eval_dataset,
        epochs=config.epochs,
        callbacks=[tf_keras.callbacks.TensorBoard(log_dir=fn_args.model_run_dir), timer],
        verbose=2,
    )
    fit_seconds = time.perf_counter() - fit_started
    export_started = time.perf_counter()
    export.export_serving_model(model, tf_transform_output, fn_args.serving_model_dir)
    record = {
        "config": dataclasses.asdict(config),
        "optimizer": model.optimizer.name,
        "strategy": type(strategy).__name__,
        "replicas": strategy.num_replicas_in_sync,
        "global_batch_size": global_batch_size,
        "initial_weights_sha256": initial_fingerprint,
        "history": {name: [float(value) for value in values] for name, values in history.history.items()},
        "epoch_seconds": timer.epoch_seconds,
        "first_epoch_seconds": timer.epoch_seconds[0],
        "later_epoch_seconds_mean": (sum(timer.epoch_seconds[1:]) / (len(timer.epoch_seconds) - 1)
                                     if len(timer.epoch_seconds) > 1 else None),
        # The whole fit() call (epochs plus Keras' work between them) and the SavedModel export: where a
        # Trainer's time goes besides its epochs (benchmarks/whole_run.py).
        "fit_seconds": fit_seconds,
        "export_seconds": time.perf_counter() - export_started,
    }
    tf.io.gfile.makedirs(fn_args.model_run_dir)
    with tf.io.gfile.GFile(os.path.join(fn_args.model_run_dir, TRAINING_RECORD_FILE), "w") as record_file:
        json.dump(record, record_file, indent=2)
