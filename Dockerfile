# The image every Kubeflow task runs: TFX 1.16 plus this project, installed under the lock's pins.
# Pinned base, never `latest`. The TFX KFP v2 launcher command comes from the compiled pipeline spec,
# so the base image's entrypoint is kept.
FROM tensorflow/tfx:1.16.0

# Keras 2 (tf_keras) for TFT/TFMA and the trainer; set before anything imports TensorFlow.
ENV TF_USE_LEGACY_KERAS=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /gc-tfx
COPY requirements.lock setup.py pyproject.toml README.md ./
COPY pipeline/ pipeline/
COPY components/ components/
COPY trainer/ trainer/
COPY kubeflow/ kubeflow/
# -c keeps every dependency at the lock's version; packages the base image already has are left alone.
RUN python -m pip install -c requirements.lock .
