"""Gradient Centralization for any tf_keras (Keras 2) or Keras 3 optimizer.

Gradient Centralization (GC; Yong et al., "Gradient Centralization: A New Optimization Technique for Deep Neural
Networks", ECCV 2020, arXiv 2004.01461) subtracts from every weight gradient its mean over each output unit's
fan-in, GC(g)[..., o] = g[..., o] - mean(g[..., o]), so each unit's weight vector keeps its sum and moves on a
hyperplane. Keras kernels put the output axis last (Dense `(in, out)`, Conv2D `(kh, kw, in, out)`), so the mean
runs over every axis but the last; the authors' PyTorch code keeps axis 0 because PyTorch puts outputs first.

`centralized(optimizer)` switches the optimizer to a cached subclass of its own class whose per-variable update
hook centralizes the gradient after cross-replica aggregation and clipping, before the optimizer's state
(momentum, Adam moments) sees it, as the authors' optimizers do:

- `tf_keras.optimizers.Optimizer`: `update_step(gradient, variable)`
- `tf_keras.optimizers.legacy.Optimizer`: `_resource_apply_dense(grad, var, apply_state)`
- `keras.optimizers.Optimizer` (TensorFlow backend): `update_step(gradient, variable, learning_rate)`

The keras.io example overrides `get_gradients`, which `model.fit` never calls; these hooks run on every update.

Which variables are centralized (decided from the variable alone, when the update step is traced):
- Variables of rank <= 1 (biases, normalization scales), embedding tables (named `embeddings` in both Keras
  versions: a lookup table has no fan-in, whether its gradient arrives as `tf.IndexedSlices` or dense) and every
  `tf.IndexedSlices` gradient pass through untouched; with `conv_only=True` so does every variable of rank <= 3.
- Depthwise kernels `(kh, kw, in, multiplier)` hold one filter per (input channel, multiplier) pair, whose fan-in
  is the spatial axes only, so they are centralized over all axes but the last two. They are recognised by name:
  `depthwise_kernel` (tf_keras DepthwiseConv*/SeparableConv*, Keras 3 SeparableConv*) or the `kernel` of a layer
  named `depthwise_conv...` (Keras 3 DepthwiseConv*, whose default names these are). A Keras 3 depthwise layer
  given another name is centralized like an ordinary convolution.
"""
import re
from typing import Any, Callable, Dict, NamedTuple, Optional, TypeVar, Union

import keras
import tensorflow as tf
import tf_keras
from absl import logging

GC_NAME_PREFIX = "GC_"

_DEPTHWISE_KERNEL_NAME = re.compile(r"depthwise_kernel|(^|/)depthwise_conv[^/]*/kernel\b")
_EMBEDDING_TABLE_NAME = re.compile(r"(^|/)embeddings\b")
_LOSS_SCALE_OPTIMIZERS = (tf_keras.mixed_precision.LossScaleOptimizer, keras.optimizers.LossScaleOptimizer)

OptimizerT = TypeVar("OptimizerT", tf_keras.optimizers.Optimizer, tf_keras.optimizers.legacy.Optimizer,
                     keras.optimizers.Optimizer)


def centralize(gradient: Union[tf.Tensor, tf.IndexedSlices], *,
               depthwise: bool = False) -> Union[tf.Tensor, tf.IndexedSlices]:
    """Subtracts the mean over every axis but the output axis (the last; the last two if `depthwise`).

    Rank <= 1 gradients (biases) and `tf.IndexedSlices` are returned unchanged.

    >>> centralize(tf.constant([[1.0, 2.0], [3.0, 6.0]])).numpy()  # Dense (in=2, out=2): columns sum to 0
    array([[-1., -2.],
           [ 1.,  2.]], dtype=float32)
    """
    if isinstance(gradient, tf.IndexedSlices):
        return gradient
    gradient = tf.convert_to_tensor(gradient)
    fan_in_axes = list(range(gradient.shape.rank - (2 if depthwise else 1)))
    if not fan_in_axes:
        return gradient
    return gradient - tf.reduce_mean(gradient, axis=fan_in_axes, keepdims=True)


class _GradientCentralization:
    """What every GC optimizer class adds to its base: options, GC name, config keys and the update rule."""

    _NAME_ATTRIBUTE = "name"

    def __init__(self, *args: Any, gc_conv_only: bool = False, gc_centralize_update: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._enable_gradient_centralization(gc_conv_only, gc_centralize_update)

    def _enable_gradient_centralization(self, conv_only: bool, centralize_update: bool) -> None:
        self._gc_conv_only = bool(conv_only)
        self._gc_centralize_update = bool(centralize_update)
        name = getattr(self, self._NAME_ATTRIBUTE)
        if not name.startswith(GC_NAME_PREFIX):
            setattr(self, self._NAME_ATTRIBUTE, GC_NAME_PREFIX + name)

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update(gc_conv_only=self._gc_conv_only, gc_centralize_update=self._gc_centralize_update)
        return config

    def _centralized_update(self, gradient: Union[tf.Tensor, tf.IndexedSlices], variable: tf.Variable,
                            apply_update: Callable[[Union[tf.Tensor, tf.IndexedSlices]], Any]) -> Any:
        """Runs the base optimizer's update of one variable (`apply_update`) with GC on its input or output."""
        if (isinstance(gradient, tf.IndexedSlices) or variable.shape.rank <= (3 if self._gc_conv_only else 1)
                or _EMBEDDING_TABLE_NAME.search(variable.name)):
            return apply_update(gradient)
        depthwise = _DEPTHWISE_KERNEL_NAME.search(variable.name) is not None
        if not self._gc_centralize_update:
            return apply_update(centralize(gradient, depthwise=depthwise))
        # The authors' "GC2": centralize the step the optimizer takes (Adam: m / (sqrt(v) + eps)) instead of the
        # gradient. TF2 automatic control dependencies order these reads and writes of `variable` as written.
        before = tf.identity(variable)
        apply_update(gradient)
        step = tf.identity(variable) - before
        return variable.assign(before + centralize(step, depthwise=depthwise))


class _Keras2Centralization(_GradientCentralization):
    """tf_keras calls `update_step` per variable with the all-reduced, clipped gradient, on each replica's copy."""

    def update_step(self, gradient: Union[tf.Tensor, tf.IndexedSlices], variable: tf.Variable) -> Any:
        base_update_step = super().update_step
        return self._centralized_update(gradient, variable, lambda update: base_update_step(update, variable))


class _Keras2LegacyCentralization(_GradientCentralization):
    """Legacy tf_keras optimizers apply aggregated dense gradients in `_resource_apply_dense` (sparse: elsewhere)."""

    _NAME_ATTRIBUTE = "_name"

    def _resource_apply_dense(self, grad: tf.Tensor, var: tf.Variable, apply_state: Optional[dict] = None) -> Any:
        base_apply_dense = super()._resource_apply_dense
        return self._centralized_update(grad, var,
                                        lambda update: base_apply_dense(update, var, apply_state=apply_state))


class _Keras3Centralization(_GradientCentralization):
    """Keras 3 (TensorFlow backend) calls `update_step` per variable after all-reducing and clipping the gradient."""

    def update_step(self, gradient: Union[tf.Tensor, tf.IndexedSlices], variable: tf.Variable,
                    learning_rate: Any) -> Any:
        base_update_step = super().update_step
        return self._centralized_update(gradient, variable,
                                        lambda update: base_update_step(update, variable, learning_rate))


class _OptimizerFamily(NamedTuple):
    base: type
    centralization: type
    register: Callable[..., Callable[[type], type]]
    package: str  # registered names are "package>GradientCentralizedSGD"; legacy tf_keras classes share names


_FAMILIES = (
    _OptimizerFamily(tf_keras.optimizers.Optimizer, _Keras2Centralization,
                     tf_keras.saving.register_keras_serializable, "gc_tfx"),
    _OptimizerFamily(tf_keras.optimizers.legacy.Optimizer, _Keras2LegacyCentralization,
                     tf_keras.saving.register_keras_serializable, "gc_tfx_legacy"),
    _OptimizerFamily(keras.optimizers.Optimizer, _Keras3Centralization,
                     keras.saving.register_keras_serializable, "gc_tfx"),
)
_CENTRALIZED_CLASSES: Dict[type, type] = {}


def centralized_class(optimizer_class: type) -> type:
    """The GC subclass of a tf_keras or Keras 3 optimizer class, created once and registered for deserialization.

    Built-in optimizers are registered when this module is imported; call this for a custom optimizer class
    before loading a model saved with it.
    """
    if issubclass(optimizer_class, _GradientCentralization):
        raise ValueError(f"{optimizer_class.__name__} already centralizes gradients.")
    if issubclass(optimizer_class, _LOSS_SCALE_OPTIMIZERS):
        raise TypeError(f"Centralize the optimizer inside {optimizer_class.__name__}, not the loss-scale wrapper: "
                        "Keras wraps a GC optimizer in loss scaling by itself under a mixed-precision policy.")
    family = next((family for family in _FAMILIES if issubclass(optimizer_class, family.base)), None)
    if family is None:
        raise TypeError(f"Expected a tf_keras or Keras 3 optimizer class, got {optimizer_class!r}.")
    if family.centralization is _Keras3Centralization and keras.backend.backend() != "tensorflow":
        raise ValueError("Gradient Centralization of Keras 3 optimizers needs the TensorFlow backend, "
                         f"got KERAS_BACKEND={keras.backend.backend()!r}.")
    if optimizer_class not in _CENTRALIZED_CLASSES:
        name = f"GradientCentralized{optimizer_class.__name__}"
        centralized_optimizer_class = type(name, (family.centralization, optimizer_class), {
            "__module__": __name__,
            "__qualname__": name,
            "__doc__": f"{optimizer_class.__name__} with Gradient Centralization ({__name__}).",
        })
        _CENTRALIZED_CLASSES[optimizer_class] = family.register(package=family.package)(centralized_optimizer_class)
    return _CENTRALIZED_CLASSES[optimizer_class]


def centralized(optimizer: OptimizerT, *, conv_only: bool = False, centralize_update: bool = False) -> OptimizerT:
    """Makes every update of `optimizer` use centralized gradients; converts it in place and returns it.

    Args:
      optimizer: a tf_keras (Keras 2, new or legacy) or Keras 3 optimizer that has not applied any update yet.
      conv_only: centralize only convolution kernels (rank > 3), the setting of the paper's ImageNet results.
      centralize_update: centralize the optimizer's step instead of the gradient (the authors' "GC2" variant
        for adaptive optimizers).

    Raises:
      ValueError: `optimizer` already centralizes gradients or has already applied updates.
      TypeError: `optimizer` is a loss-scale wrapper or not a tf_keras/Keras 3 optimizer.
    """
    centralized_optimizer_class = centralized_class(type(optimizer))
    iterations = getattr(optimizer, "_iterations", None)
    if iterations is not None and int(iterations.numpy()) > 0:
        raise ValueError(f"Centralize the {type(optimizer).__name__} optimizer before training: it has already "
                         f"applied {int(iterations.numpy())} updates, with functions traced without GC.")
    object.__setattr__(optimizer, "__class__", centralized_optimizer_class)
    optimizer._enable_gradient_centralization(conv_only, centralize_update)
    logging.info("Gradient Centralization on: optimizer %s (conv_only=%s, centralize_update=%s).",
                 getattr(optimizer, optimizer._NAME_ATTRIBUTE), conv_only, centralize_update)
    return optimizer


def _register_builtin_optimizers() -> None:
    """Creates the GC class of every built-in optimizer, so loading a saved model finds them in a fresh process."""
    namespaces = [tf_keras.optimizers, tf_keras.optimizers.legacy]
    if keras.backend.backend() == "tensorflow":
        namespaces.append(keras.optimizers)
    bases = tuple(family.base for family in _FAMILIES)
    for namespace in namespaces:
        for value in vars(namespace).values():
            if (isinstance(value, type) and issubclass(value, bases) and value not in bases
                    and not issubclass(value, _LOSS_SCALE_OPTIMIZERS)):
                centralized_class(value)


_register_builtin_optimizers()
