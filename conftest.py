"""pytest configuration shared by every test.

Keras 2 (tf_keras) must be chosen before any test module imports TensorFlow, as in the CLI and the Dockerfile.
"""
import os

os.environ["TF_USE_LEGACY_KERAS"] = "1"
# Keep TensorFlow's C++ start-up chatter out of test output.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
