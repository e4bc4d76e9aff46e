"""The `gc-tfx` command: data synth/fetch, run, report, kubeflow compile/submit (see cli.main).

Keras 2 (tf_keras) for TFT, TFMA and the trainer: chosen here, before any command module can import TensorFlow.
"""
import os

os.environ["TF_USE_LEGACY_KERAS"] = "1"
