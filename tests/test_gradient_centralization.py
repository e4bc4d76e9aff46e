"""Gradient Centralization acts on every update: in the operator, in optimizers of both Keras versions, inside
`model.fit`, under MirroredStrategy, and after saving and loading.

The references are independent NumPy transcriptions of the paper (Yong et al., ECCV 2020, arXiv 2004.01461) and of
the authors' PyTorch optimizers (SGD_GC, SGD_GCC, Adam_GC, and Adam with gc_loc=False, their "GC2").
"""
import doctest
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Iterator, List, Optional, Sequence, Tuple

import keras
import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from trainer import gradient_centralization
from trainer.gradient_centralization import centralize, centralized, centralized_class

KERAS_MODULES = {"keras2": tf_keras, "keras3": keras}
OPTIMIZER_MODULES = {"keras2": tf_keras.optimizers, "keras2_legacy": tf_keras.optimizers.legacy,
                     "keras3": keras.optimizers}


def reference_centralize(gradient: np.ndarray, output_axes: int = 1) -> np.ndarray:
    """Each output unit's fan-in (all but the last `output_axes` axes) minus its own mean, one unit at a time."""
    result = np.array(gradient, dtype=np.float64)
    if result.ndim <= output_axes:
        return result
    for unit in np.ndindex(*result.shape[result.ndim - output_axes:]):
        fan_in = result[(Ellipsis,) + unit]
        result[(Ellipsis,) + unit] = fan_in - fan_in.mean()
    return result


def authors_centralize(torch_layout_gradient: np.ndarray) -> np.ndarray:
    """The authors' operator on a PyTorch-layout gradient: mean over every axis but axis 0 (the output axis)."""
    axes = tuple(range(1, torch_layout_gradient.ndim))
    return torch_layout_gradient - torch_layout_gradient.mean(axis=axes, keepdims=True)


def random_array(shape: Sequence[int], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def fan_in_sums(weights: Sequence[np.ndarray]) -> List[np.ndarray]:
    """Sum of each output unit's incoming weights (Keras layout) for every kernel."""
    return [np.sum(weight, axis=tuple(range(weight.ndim - 1))) for weight in weights if weight.ndim >= 2]


@pytest.mark.parametrize("shape, depthwise", [
    ((5, 3), False),  # Dense (in, out)
    ((4, 2, 3), False),  # Conv1D (k, in, out)
    ((3, 3, 2, 4), False),  # Conv2D (kh, kw, in, out)
    ((2, 3, 3, 2, 4), False),  # Conv3D (kd, kh, kw, in, out)
    ((3, 3, 4, 2), True),  # DepthwiseConv2D (kh, kw, in, multiplier)
    ((5, 4, 2), True),  # DepthwiseConv1D (k, in, multiplier)
    ((4,), False),  # bias
    ((4,), True),  # depthwise bias
    ((), False),  # scalar
], ids=["dense", "conv1d", "conv2d", "conv3d", "depthwise_conv2d", "depthwise_conv1d", "bias", "depthwise_bias",
        "scalar"])
def test_centralize_matches_per_unit_reference(shape, depthwise):
    gradient = random_array(shape)
    result = centralize(tf.constant(gradient), depthwise=depthwise).numpy()
    np.testing.assert_allclose(result, reference_centralize(gradient, 2 if depthwise else 1), atol=1e-6)


def _depthwise_to_torch(kernel: np.ndarray) -> np.ndarray:
    height, width, channels, multiplier = kernel.shape
    return kernel.reshape(height, width, channels * multiplier).transpose(2, 0, 1)[:, np.newaxis]


def _depthwise_from_torch(weight: np.ndarray, keras_shape: Sequence[int]) -> np.ndarray:
    return weight[:, 0].transpose(1, 2, 0).reshape(keras_shape)


@pytest.mark.parametrize("keras_shape, depthwise, to_torch, from_torch", [
    ((5, 3), False, lambda k: k.T, lambda w, shape: w.T),  # Linear (out, in)
    ((4, 2, 3), False, lambda k: k.transpose(2, 1, 0), lambda w, shape: w.transpose(2, 1, 0)),  # Conv1d
    ((3, 3, 2, 4), False, lambda k: k.transpose(3, 2, 0, 1), lambda w, shape: w.transpose(2, 3, 1, 0)),  # Conv2d
    ((2, 3, 3, 2, 4), False, lambda k: k.transpose(4, 3, 0, 1, 2),
     lambda w, shape: w.transpose(2, 3, 4, 1, 0)),  # Conv3d
    ((3, 3, 4, 2), True, _depthwise_to_torch, _depthwise_from_torch),  # Conv2d(groups=in): (in * mult, 1, kh, kw)
], ids=["dense", "conv1d", "conv2d", "conv3d", "depthwise_conv2d"])
def test_keras_layout_equals_authors_operator_in_pytorch_layout(keras_shape, depthwise, to_torch, from_torch):
    gradient = random_array(keras_shape)
    expected = from_torch(authors_centralize(to_torch(gradient)), keras_shape)
    result = centralize(tf.constant(gradient), depthwise=depthwise).numpy()
    np.testing.assert_allclose(result, expected, atol=1e-6)
    # Applying the PyTorch-layout code (keep axis 0) to a Keras kernel would centralize the wrong axes.
    assert not np.allclose(authors_centralize(gradient), expected, atol=1e-3)


def test_sparse_gradient_passes_through_unchanged():
    slices = tf.IndexedSlices(tf.ones((2, 3)), tf.constant([0, 4]), tf.constant([6, 3]))
    assert centralize(slices) is slices


def test_docstring_example_holds():
    results = doctest.testmod(gradient_centralization)
    assert results.attempted >= 1 and results.failed == 0


LAYER_CASES = [
    # Keras version, layer factory, input shape, {variable name: output axes kept; None = untouched}
    pytest.param("keras2", lambda k: k.layers.Dense(3), (2, 4), {"kernel": 1, "bias": None}, id="keras2-dense"),
    pytest.param("keras2", lambda k: k.layers.Conv1D(3, 2), (2, 5, 2), {"kernel": 1, "bias": None},
                 id="keras2-conv1d"),
    pytest.param("keras2", lambda k: k.layers.Conv2D(3, 2), (2, 5, 5, 2), {"kernel": 1, "bias": None},
                 id="keras2-conv2d"),
    pytest.param("keras2", lambda k: k.layers.Conv3D(3, 2), (2, 3, 3, 3, 2), {"kernel": 1, "bias": None},
                 id="keras2-conv3d"),
    pytest.param("keras2", lambda k: k.layers.DepthwiseConv1D(2, depth_multiplier=2), (2, 5, 3),
                 {"depthwise_kernel": 2, "bias": None}, id="keras2-depthwise_conv1d"),
    pytest.param("keras2", lambda k: k.layers.DepthwiseConv2D(2, depth_multiplier=2), (2, 5, 5, 3),
                 {"depthwise_kernel": 2, "bias": None}, id="keras2-depthwise_conv2d"),
    pytest.param("keras2", lambda k: k.layers.SeparableConv2D(4, 2, depth_multiplier=2), (2, 5, 5, 3),
                 {"depthwise_kernel": 2, "pointwise_kernel": 1, "bias": None}, id="keras2-separable_conv2d"),
    pytest.param("keras2", lambda k: k.layers.Embedding(10, 3), (2, 4), {"embeddings": None}, id="keras2-embedding"),
    pytest.param("keras2", lambda k: k.layers.BatchNormalization(), (4, 3), {"gamma": None, "beta": None},
                 id="keras2-batch_normalization"),
    pytest.param("keras3", lambda k: k.layers.Dense(3), (2, 4), {"kernel": 1, "bias": None}, id="keras3-dense"),
    pytest.param("keras3", lambda k: k.layers.Conv2D(3, 2), (2, 5, 5, 2), {"kernel": 1, "bias": None},
                 id="keras3-conv2d"),
    # Keras 3 names a DepthwiseConv kernel plain "kernel"; its layer's default name gives it away.
    pytest.param("keras3", lambda k: k.layers.DepthwiseConv1D(2, depth_multiplier=2), (2, 5, 3),
                 {"kernel": 2, "bias": None}, id="keras3-depthwise_conv1d"),
    pytest.param("keras3", lambda k: k.layers.DepthwiseConv2D(2, depth_multiplier=2), (2, 5, 5, 3),
                 {"kernel": 2, "bias": None}, id="keras3-depthwise_conv2d"),
    pytest.param("keras3", lambda k: k.layers.SeparableConv2D(4, 2, depth_multiplier=2), (2, 5, 5, 3),
                 {"depthwise_kernel": 2, "pointwise_kernel": 1, "bias": None}, id="keras3-separable_conv2d"),
    pytest.param("keras3", lambda k: k.layers.Embedding(10, 3), (2, 4), {"embeddings": None}, id="keras3-embedding"),
    pytest.param("keras3", lambda k: k.layers.BatchNormalization(), (4, 3), {"gamma": None, "beta": None},
                 id="keras3-batch_normalization"),
]


@pytest.mark.parametrize("version, make_layer, input_shape, expected_output_axes", LAYER_CASES)
def test_each_layer_type_gets_its_centralization(version, make_layer, input_shape, expected_output_axes):
    module = KERAS_MODULES[version]
    layer = make_layer(module)
    is_embedding = "embeddings" in expected_output_axes
    inputs = np.arange(np.prod(input_shape)).reshape(input_shape) % 10 if is_embedding else random_array(input_shape)
    with tf.GradientTape() as tape:
        outputs = tf.convert_to_tensor(layer(inputs, training=True))
        loss = tf.reduce_sum(outputs * random_array(outputs.shape, seed=1))
    variables = layer.trainable_variables
    gradients = tape.gradient(loss, variables)
    before = [np.array(variable) for variable in variables]
    centralized(module.optimizers.SGD(learning_rate=1.0)).apply_gradients(zip(gradients, variables))

    names = [variable.name.split("/")[-1].split(":")[0] for variable in variables]
    assert sorted(names) == sorted(expected_output_axes)
    for name, gradient, initial, variable in zip(names, gradients, before, variables):
        assert isinstance(gradient, tf.IndexedSlices) == is_embedding
        dense_gradient = tf.convert_to_tensor(gradient).numpy()
        output_axes = expected_output_axes[name]
        expected_step = dense_gradient if output_axes is None else reference_centralize(dense_gradient, output_axes)
        np.testing.assert_allclose(np.array(variable), initial - expected_step, atol=1e-5, err_msg=name)


# Keras adds Adam's epsilon before the bias correction, PyTorch after: a tiny epsilon makes that difference vanish.
LEARNING_RATE, MOMENTUM, BETA_1, BETA_2, EPSILON = 0.1, 0.9, 0.9, 0.999, 1e-10
# name: (shape, output axes kept; None = never centralized). Both Keras versions name depthwise kernels
# "depthwise_kernel" and embedding tables "embeddings"; this table gets a dense gradient, unlike the layer test's.
TRAJECTORY_VARIABLES = {"kernel": ((4, 3), 1), "conv_kernel": ((2, 2, 3, 4), 1),
                        "depthwise_kernel": ((2, 2, 3, 2), 2), "bias": ((3,), 1), "embeddings": ((5, 3), None)}


def reference_trajectory(algorithm: str, conv_only: bool, initial: np.ndarray, gradients: Sequence[np.ndarray],
                         output_axes: Optional[int]) -> np.ndarray:
    """The authors' SGD_GC/SGD_GCC (PyTorch momentum), Adam_GC and GC2 (Adam with gc_loc=False), in float64."""
    def gc(values: np.ndarray) -> np.ndarray:
        if output_axes is None or values.ndim <= (3 if conv_only else 1):
            return values
        return reference_centralize(values, output_axes)

    weights = initial.astype(np.float64)
    buffer = first_moment = second_moment = np.zeros_like(weights)
    for step, gradient in enumerate(gradients, start=1):
        if algorithm == "sgd_momentum":
            buffer = MOMENTUM * buffer + gc(gradient)
            weights = weights - LEARNING_RATE * buffer
            continue
        gradient = gradient if algorithm == "adam_gc2" else gc(gradient)
        first_moment = BETA_1 * first_moment + (1 - BETA_1) * gradient
        second_moment = BETA_2 * second_moment + (1 - BETA_2) * gradient ** 2
        direction = first_moment / (np.sqrt(second_moment) / np.sqrt(1 - BETA_2 ** step) + EPSILON)
        if algorithm == "adam_gc2":
            direction = gc(direction)
        weights = weights - LEARNING_RATE / (1 - BETA_1 ** step) * direction
    return weights


def make_optimizer(family: str, algorithm: str):
    optimizers = OPTIMIZER_MODULES[family]
    if algorithm == "sgd_momentum":
        return optimizers.SGD(learning_rate=LEARNING_RATE, momentum=MOMENTUM)
    return optimizers.Adam(learning_rate=LEARNING_RATE, beta_1=BETA_1, beta_2=BETA_2, epsilon=EPSILON)


@pytest.mark.parametrize("conv_only", [False, True], ids=["all_kernels", "conv_only"])
@pytest.mark.parametrize("algorithm", ["sgd_momentum", "adam", "adam_gc2"])
@pytest.mark.parametrize("family", sorted(OPTIMIZER_MODULES))
def test_trajectory_matches_authors_algorithm(family, algorithm, conv_only):
    optimizer = centralized(make_optimizer(family, algorithm), conv_only=conv_only,
                            centralize_update=algorithm == "adam_gc2")
    make_variable = keras.Variable if family == "keras3" else tf.Variable
    initial = {name: random_array(shape, seed=seed) for seed, (name, (shape, _)) in
               enumerate(TRAJECTORY_VARIABLES.items())}
    variables = {name: make_variable(value, name=name) for name, value in initial.items()}
    gradients = {name: [random_array(shape, seed=100 * step + seed) for step in range(4)]
                 for seed, (name, (shape, _)) in enumerate(TRAJECTORY_VARIABLES.items())}
    for step in range(4):
        optimizer.apply_gradients([(tf.constant(gradients[name][step]), variables[name]) for name in variables])
    for name, (_, output_axes) in TRAJECTORY_VARIABLES.items():
        expected = reference_trajectory(algorithm, conv_only, initial[name], gradients[name], output_axes)
        np.testing.assert_allclose(np.array(variables[name]), expected, rtol=1e-5, atol=1e-5, err_msg=name)


def tiny_classifier(module):  # tf_keras or keras
    return module.Sequential([
        module.Input((6, 6, 2)),
        module.layers.Conv2D(4, 3, activation="relu"),
        module.layers.Flatten(),
        module.layers.Dense(1, activation="sigmoid"),
    ])


def training_data() -> Tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(32, 6, 6, 2)).astype(np.float32), rng.integers(0, 2, size=(32, 1)).astype(np.float32)


def train_tiny_classifier(version: str, optimizer, epochs: int = 2, jit_compile: bool = False):
    """Trains from seeded weights; returns the model and its initial weights."""
    module = KERAS_MODULES[version]
    module.utils.set_random_seed(0)
    model = tiny_classifier(module)
    model.compile(optimizer=optimizer, loss="binary_crossentropy", jit_compile=jit_compile)
    initial = [np.array(weight) for weight in model.trainable_weights]
    features, labels = training_data()
    model.fit(features, labels, batch_size=8, epochs=epochs, shuffle=False, verbose=0)
    return model, initial


@pytest.mark.parametrize("version, gc_options, jit_compile", [
    ("keras2", {}, False),
    ("keras2", {}, True),
    ("keras2", {"centralize_update": True}, True),
    ("keras2", None, False),
    ("keras3", {}, True),
    ("keras3", {"centralize_update": True}, True),
    ("keras3", None, True),
], ids=["keras2-gc", "keras2-gc-xla", "keras2-gc2-xla", "keras2-plain", "keras3-gc-xla", "keras3-gc2-xla",
        "keras3-plain"])
def test_fit_keeps_fan_in_sums_with_gc_and_drifts_without(version, gc_options, jit_compile):
    """The public implementations fail this: `model.fit` never calls the `get_gradients` they override."""
    optimizer = KERAS_MODULES[version].optimizers.SGD(learning_rate=0.1)
    if gc_options is not None:
        optimizer = centralized(optimizer, **gc_options)
    model, initial = train_tiny_classifier(version, optimizer, jit_compile=jit_compile)
    trained = [np.array(weight) for weight in model.trainable_weights]
    assert max(np.abs(after - before).max() for after, before in zip(trained, initial)) > 1e-2
    sum_drift = max(np.abs(after - before).max() for after, before in zip(fan_in_sums(trained), fan_in_sums(initial)))
    if gc_options is None:
        assert sum_drift > 1e-3
    else:
        assert sum_drift < 1e-5


@pytest.mark.parametrize("family", sorted(OPTIMIZER_MODULES))
def test_centralized_converts_in_place_and_shows_gc_in_name(family, caplog):
    optimizer = OPTIMIZER_MODULES[family].RMSprop(learning_rate=0.01)
    base_class, base_name = type(optimizer), optimizer.get_config()["name"]
    with caplog.at_level("INFO", logger="absl"):  # whatever verbosity earlier code left absl at
        assert centralized(optimizer) is optimizer
    assert isinstance(optimizer, base_class) and type(optimizer) is centralized_class(base_class)
    assert type(optimizer).__name__ == "GradientCentralizedRMSprop"
    assert optimizer.get_config()["name"] == f"GC_{base_name}"
    assert f"Gradient Centralization on: optimizer GC_{base_name} " in caplog.text


@pytest.mark.parametrize("family", sorted(OPTIMIZER_MODULES))
def test_serialize_round_trip_rebuilds_the_gc_optimizer(family):
    optimizers = OPTIMIZER_MODULES[family]
    optimizer = centralized(optimizers.SGD(learning_rate=0.05, momentum=0.5), conv_only=True,
                            centralize_update=True)
    config = optimizer.get_config()
    assert (config["gc_conv_only"], config["gc_centralize_update"]) == (True, True)
    from_config = type(optimizer).from_config(optimizer.get_config())
    serialize, deserialize = (keras.optimizers.serialize, keras.optimizers.deserialize) if family == "keras3" else (
        tf_keras.optimizers.serialize, tf_keras.optimizers.deserialize)
    deserialized = deserialize(serialize(optimizer))
    for restored in (from_config, deserialized):
        assert type(restored) is type(optimizer)
        assert restored.get_config() == config


@pytest.mark.parametrize("registry, namespace, package", [
    (tf_keras.saving, tf_keras.optimizers, "gc_tfx"),
    (tf_keras.saving, tf_keras.optimizers.legacy, "gc_tfx_legacy"),
    (keras.saving, keras.optimizers, "gc_tfx"),
], ids=["keras2", "keras2_legacy", "keras3"])
def test_every_builtin_optimizer_has_a_registered_gc_class(registry, namespace, package):
    names = ["Adadelta", "Adagrad", "Adam", "Adamax", "Ftrl", "Nadam", "RMSprop", "SGD"]
    for name in names:
        registered = registry.get_registered_object(f"{package}>GradientCentralized{name}")
        assert registered is not None and issubclass(registered, getattr(namespace, name)), name


def test_custom_optimizer_class_is_registered_when_centralized():
    class ScaledSGD(tf_keras.optimizers.SGD):
        pass

    assert tf_keras.saving.get_registered_object("gc_tfx>GradientCentralizedScaledSGD") is None
    gc_class = centralized_class(ScaledSGD)
    assert centralized_class(ScaledSGD) is gc_class
    assert tf_keras.saving.get_registered_object("gc_tfx>GradientCentralizedScaledSGD") is gc_class


@pytest.mark.parametrize("version", ["keras2", "keras3"])
def test_keras_file_reloads_gc_optimizer_with_its_state(version, tmp_path):
    module = KERAS_MODULES[version]
    model, initial = train_tiny_classifier(version, centralized(module.optimizers.SGD(0.1, momentum=0.9)),
                                           epochs=1)
    model.save(tmp_path / "model.keras")
    loaded = module.models.load_model(tmp_path / "model.keras")
    assert type(loaded.optimizer) is type(model.optimizer)
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    for restored, saved in zip(loaded.optimizer.variables, model.optimizer.variables):
        np.testing.assert_allclose(np.array(restored), np.array(saved))
    features, labels = training_data()
    loaded.fit(features, labels, batch_size=8, epochs=1, verbose=0)
    trained = [np.array(weight) for weight in loaded.trainable_weights]
    for after, before in zip(fan_in_sums(trained), fan_in_sums(initial)):
        np.testing.assert_allclose(after, before, atol=1e-5)


@pytest.mark.parametrize("version", ["keras2", "keras3"])
def test_checkpoint_restores_optimizer_state(version, tmp_path):
    module = KERAS_MODULES[version]
    features, labels = training_data()
    model, _ = train_tiny_classifier(version, centralized(module.optimizers.SGD(0.1, momentum=0.9)), epochs=1)
    checkpoint_path = tf.train.Checkpoint(model=model, optimizer=model.optimizer).write(str(tmp_path / "ckpt"))
    model.fit(features, labels, batch_size=8, epochs=1, shuffle=False, verbose=0)

    restored_model = tiny_classifier(module)
    restored_optimizer = centralized(module.optimizers.SGD(0.1, momentum=0.9))
    restored_model.compile(optimizer=restored_optimizer, loss="binary_crossentropy", jit_compile=False)
    restored_optimizer.build(restored_model.trainable_variables)
    tf.train.Checkpoint(model=restored_model, optimizer=restored_optimizer).read(checkpoint_path).assert_consumed()
    restored_model.fit(features, labels, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for restored, continued in zip(restored_model.trainable_weights, model.trainable_weights):
        np.testing.assert_allclose(np.array(restored), np.array(continued), rtol=1e-5, atol=1e-6)


def test_savedmodel_export_serves_the_gc_trained_model(tmp_path):
    model, _ = train_tiny_classifier("keras2", centralized(tf_keras.optimizers.SGD(0.1, momentum=0.9)), epochs=1)
    serve = tf.function(lambda images: {"probability": model(images, training=False)},
                        input_signature=[tf.TensorSpec((None, 6, 6, 2), tf.float32)])
    tf.saved_model.save(model, str(tmp_path / "serving"), signatures={"serving_default": serve})
    features, _ = training_data()
    served = tf.saved_model.load(str(tmp_path / "serving")).signatures["serving_default"](tf.constant(features))
    np.testing.assert_allclose(served["probability"].numpy(), model(features).numpy(), atol=1e-6)


def _used_optimizer():
    optimizer = tf_keras.optimizers.SGD(0.1)
    optimizer.apply_gradients([(tf.ones((2, 2)), tf.Variable(tf.zeros((2, 2))))])
    return optimizer


@pytest.mark.parametrize("make_optimizer, error, message", [
    (lambda: centralized(tf_keras.optimizers.SGD()), ValueError, "already centralizes gradients"),
    (_used_optimizer, ValueError, "already applied 1 updates"),
    (lambda: tf_keras.mixed_precision.LossScaleOptimizer(tf_keras.optimizers.SGD()), TypeError,
     "not the loss-scale wrapper"),
    (lambda: keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD()), TypeError, "not the loss-scale wrapper"),
    (lambda: "sgd", TypeError, "Expected a tf_keras or Keras 3 optimizer class, got <class 'str'>"),
], ids=["twice", "used", "keras2_loss_scale", "keras3_loss_scale", "not_an_optimizer"])
def test_invalid_optimizers_are_rejected(make_optimizer, error, message):
    with pytest.raises(error, match=message):
        centralized(make_optimizer())


def test_keras3_needs_the_tensorflow_backend(monkeypatch):
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(ValueError, match="needs the TensorFlow backend, got KERAS_BACKEND='jax'"):
        centralized(keras.optimizers.SGD())


MIRRORED_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import tf_keras
    from trainer.gradient_centralization import centralized

    GLOBAL_BATCH = 8
    rng = np.random.default_rng(0)
    dataset = tf.data.Dataset.from_tensor_slices((rng.normal(size=(32, 6, 6, 2)).astype(np.float32),
                                                  rng.integers(0, 2, size=(32, 1)).astype(np.float32)))
    optimizers = {
        "sgd_momentum": lambda: tf_keras.optimizers.SGD(0.1, momentum=0.9),
        "adam_gc2": lambda: tf_keras.optimizers.Adam(0.01),
    }
    results = {}
    for algorithm, make_optimizer in optimizers.items():
        for devices in (["/cpu:0"], ["/cpu:0", "/cpu:1"]):
            strategy = tf.distribute.MirroredStrategy(devices)
            with strategy.scope():  # as the Trainer's run_fn builds and compiles
                tf_keras.utils.set_random_seed(0)
                model = tf_keras.Sequential([
                    tf_keras.Input((6, 6, 2)),
                    tf_keras.layers.Conv2D(4, 3, activation="relu"),
                    tf_keras.layers.Flatten(),
                    tf_keras.layers.Dense(1, activation="sigmoid"),
                ])
                model.compile(optimizer=centralized(make_optimizer(), centralize_update=algorithm == "adam_gc2"),
                              loss="binary_crossentropy")
            initial = [w.numpy().tolist() for w in model.trainable_weights]

            def replica_step(features, labels):
                with tf.GradientTape() as tape:
                    losses = tf_keras.losses.binary_crossentropy(labels, model(features, training=True))
                    loss = tf.reduce_sum(losses) / GLOBAL_BATCH  # the global mean, as model.fit scales it
                gradients = tape.gradient(loss, model.trainable_variables)
                model.optimizer.apply_gradients(zip(gradients, model.trainable_variables))

            # Autograph off: the step has no Python control flow, and converting the Keras stack costs ~20 s here.
            train_step = tf.function(lambda *batch: strategy.run(replica_step, args=batch), autograph=False)
            for _ in range(2):
                for batch in strategy.experimental_distribute_dataset(dataset.batch(GLOBAL_BATCH)):
                    train_step(*batch)
            results[f"{algorithm}/{len(devices)}"] = {
                "replicas": strategy.num_replicas_in_sync,
                "optimizer": model.optimizer.name,
                "initial": initial,
                "trained": [w.numpy().tolist() for w in model.trainable_weights],
            }
    json.dump(results, open(sys.argv[1], "w"))
""")


@pytest.fixture(scope="module", autouse=True)
def mirrored_training(tmp_path_factory) -> Iterator[Tuple[subprocess.Popen, Path, Path]]:
    """Starts the two-device run with the module's first test, so it overlaps the others.

    Logical devices must be configured before TensorFlow initialises, hence a fresh interpreter.
    """
    folder = tmp_path_factory.mktemp("mirrored")
    results_path, log_path = folder / "results.json", folder / "stderr.log"
    environment = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="2")
    with open(log_path, "w") as log, subprocess.Popen([sys.executable, "-c", MIRRORED_SCRIPT, str(results_path)],
                                                      env=environment, stdout=log, stderr=log) as process:
        yield process, results_path, log_path
        process.kill()


def test_mirrored_strategy_on_two_devices_matches_one_device(mirrored_training):
    process, results_path, log_path = mirrored_training
    assert process.wait(timeout=300) == 0, log_path.read_text()[-3000:]
    results = json.loads(results_path.read_text())
    for algorithm, optimizer_name in (("sgd_momentum", "GC_SGD"), ("adam_gc2", "GC_Adam")):
        one, two = results[f"{algorithm}/1"], results[f"{algorithm}/2"]
        assert (one["replicas"], two["replicas"]) == (1, 2)
        assert two["optimizer"] == optimizer_name
        initial = [np.array(weight) for weight in two["initial"]]
        trained = [np.array(weight) for weight in two["trained"]]
        for on_one, on_two in zip(one["trained"], trained):
            np.testing.assert_allclose(on_two, on_one, rtol=1e-5, atol=1e-6)
        assert max(np.abs(after - before).max() for after, before in zip(trained, initial)) > 1e-2
        for after, before in zip(fan_in_sums(trained), fan_in_sums(initial)):
            np.testing.assert_allclose(after, before, atol=1e-5)


