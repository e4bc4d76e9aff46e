"""The Trainers' `run_fn`: one function for both methods, switched by `custom_config["method"]`, so only GC differs.

Both Trainers seed every random source with the same `seed` before building the model: identical initial
weights, data order and augmentation. With two or more GPUs the model is built and compiled inside
MirroredStrategy over all of them; the batch size is per replica, so the global batch scales.
"""
from __future__ import annotations

import hashlib
import os
import time
from typing import TYPE_CHECKING, Dict, List, Optional

import tensorflow as tf
import tensorflow_transform as tft
import tf_keras
from absl import logging
from tensorboard.plugins.hparams import api as hparams_api

from trainer import data, export, model as model_lib
from trainer.config import LEARNING_RATE, TrainerSettings
from trainer.gradient_centralization import centralized
from trainer.progress import EpochProgress
from trainer.training_record import TRAINING_RECORD_FILE, TrainingRecord

if TYPE_CHECKING:  # For the annotation only: importing tfx.v1 takes ~12 s (it loads every component and cloud SDK).
    from tfx import v1 as tfx


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


def log_hyperparameters(log_dir: str, settings: TrainerSettings) -> None:
    """Records `gc` (true/false) as TensorBoard's HParams hyperparameter, so runs group by method, not by seed."""
    with tf.summary.create_file_writer(log_dir).as_default():
        hparams_api.hparams({"gc": settings.use_gc},
                            trial_id=f"{settings.method}_seed{settings.training.seed}")


def training_strategy() -> tf.distribute.Strategy:
    """MirroredStrategy over every GPU when there are two or more; otherwise the default (one-device) strategy.

    One device has nothing to mirror, and a one-replica MirroredStrategy stalled Keras' change of epoch, the
    longer the more images are cached (benchmarks/one_replica_strategy.py: 3.2 s per 3-epoch fit of 512 images,
    13.5 s of 1027); the model, the batches and the update are the same.
    """
    if len(tf.config.list_logical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def build_compiled_model(settings: TrainerSettings) -> tf_keras.Model:
    """The seed CNN compiled with RMSprop, centralized when the method is GC; call inside the strategy's scope."""
    model = model_lib.build_model(settings.training.image_size, settings.training.seed)
    optimizer = tf_keras.optimizers.RMSprop(learning_rate=LEARNING_RATE)
    if settings.use_gc:
        optimizer = centralized(optimizer)
    model.compile(
        optimizer=optimizer,
        loss=tf_keras.losses.BinaryCrossentropy(),
        metrics=[tf_keras.metrics.BinaryAccuracy(name="accuracy"), tf_keras.metrics.AUC(name="auc")],
    )
    return model


def run_fn(fn_args: tfx.components.FnArgs) -> None:
    """Trains the seed CNN with or without GC and exports it with Transform's graph attached."""
    settings = TrainerSettings.from_custom_config(fn_args.custom_config or {})
    training = settings.training
    tf_keras.utils.set_random_seed(training.seed)
    strategy = training_strategy()
    global_batch_size = training.batch_size * strategy.num_replicas_in_sync
    logging.info("Training %s under %s on %d replica(s), global batch %d.", settings.method,
                 type(strategy).__name__, strategy.num_replicas_in_sync, global_batch_size)

    tf_transform_output = tft.TFTransformOutput(fn_args.transform_graph_path)
    train_dataset, eval_dataset = (
        data.input_dataset(files, fn_args.data_accessor, tf_transform_output, batch_size=global_batch_size,
                           shuffle=shuffle, seed=training.seed)
        for files, shuffle in ((fn_args.train_files, True), (fn_args.eval_files, False)))
    with strategy.scope():
        model = build_compiled_model(settings)
    model.summary(print_fn=logging.info)
    initial_fingerprint = weights_fingerprint(model)

    log_hyperparameters(fn_args.model_run_dir, settings)
    timer = EpochTimer()
    progress = EpochProgress(f"{settings.method} seed {training.seed}", training.epochs, timer.epoch_seconds)
    fit_started = time.perf_counter()
    history = model.fit(
        train_dataset,
        validation_data=eval_dataset,
        epochs=training.epochs,
        callbacks=[tf_keras.callbacks.TensorBoard(log_dir=fn_args.model_run_dir), timer, progress],
        verbose=0,  # EpochProgress prints one line per epoch instead
    )
    fit_seconds = time.perf_counter() - fit_started
    export_started = time.perf_counter()
    export.export_serving_model(model, tf_transform_output, fn_args.serving_model_dir)
    record = TrainingRecord(
        settings=settings,
        optimizer=model.optimizer.name,
        strategy=type(strategy).__name__,
        replicas=strategy.num_replicas_in_sync,
        global_batch_size=global_batch_size,
        initial_weights_sha256=initial_fingerprint,
        history={name: [float(value) for value in values] for name, values in history.history.items()},
        epoch_seconds=timer.epoch_seconds,
        fit_seconds=fit_seconds,
        export_seconds=time.perf_counter() - export_started,
    )
    tf.io.gfile.makedirs(fn_args.model_run_dir)
    with tf.io.gfile.GFile(os.path.join(fn_args.model_run_dir, TRAINING_RECORD_FILE), "w") as record_file:
        record_file.write(record.to_json())
