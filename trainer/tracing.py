"""Keeps AutoGraph out of tf_keras' own code, as TensorFlow has long kept it out of Keras'.

AutoGraph rewrites every Python function a `tf.function` calls unless a rule says the function's module is known
to be graph-safe. TensorFlow 2.16's rules name `keras` (Keras 2 and 3) but not `tf_keras`, the package Keras 2
moved to, so tracing a tf_keras model's train step parses, transforms and recompiles about 500 functions of
tf_keras itself: on the 2-core development machine the first `train_on_batch` of a one-layer model took 24 s
instead of 0.7 s, and each Trainer paid it again for the evaluation step and for the export's signatures. Later
TensorFlow releases add the same `DoNotConvert('tf_keras')` rule; this adds it where it is missing. The rule only
stops AutoGraph from recursing into tf_keras: the function a `tf.function` wraps is still converted, and our own
functions that tf_keras calls run as written (they branch on static shapes only, never on tensor values).
"""
from absl import logging

PACKAGE = "tf_keras"


def keep_autograph_out_of_tf_keras() -> bool:
    """Adds the rule once per process; False (and tracing stays slow, not wrong) when this TensorFlow has no such
    rule list."""
    try:
        from tensorflow.python.autograph.core import config  # no public API holds the rules
        rules = config.CONVERSION_RULES
    except (ImportError, AttributeError):
        logging.warning("AutoGraph's conversion rules not found; tracing tf_keras models stays slow.")
        return False
    if not any(isinstance(rule, config.DoNotConvert) and rule.matches(PACKAGE) for rule in rules):
        config.CONVERSION_RULES = (config.DoNotConvert(PACKAGE), *rules)
    return True
