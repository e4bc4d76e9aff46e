# The image every Kubeflow task runs: TFX 1.16 plus this project, installed under requirements.lock's pins.
# Build from the repository root:  docker build -t REGISTRY/gc-tfx:TAG .   (kubeflow/README.md has the whole path)
#
# The base tag is the lock's tfx version, never `latest`. Its user (root) is kept: the KFP v2 launcher wraps each
# task's command and creates /gcs, /minio and /s3 at the filesystem root for artifacts. The command itself comes
# from the compiled package (`python -m kubeflow.task_entrypoint`, our shim in front of TFX's
# kubeflow_v2_run_executor), so everything below installs into the interpreter `python` names, through
# `python -m pip`, never a bare `pip`. tensorflow-io (TensorFlow's s3:// for MinIO) comes with the lock's pins.
FROM tensorflow/tfx:1.16.0

# Keras 2 (tf_keras) for TFT/TFMA and the trainer: set before anything imports TensorFlow, as the CLI does.
ENV TF_USE_LEGACY_KERAS=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# tcmalloc for every task: glibc's malloc returns the seed CNN's huge activations to the kernel after every op, so
# each training step page-faults gigabytes again (cli/allocator.py; 1.9x faster Trainer steps on CPU, issue 16).
# The tasks start as `python -m ...`, not through gc-tfx's re-execution, so it is preloaded through ENV, set only
# after the install. The version is whatever the base image's distribution ships (its security updates), so the
# pin rule is waived for this one package; the build fails if the library is not where LD_PRELOAD points.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libtcmalloc-minimal4 \
    && rm -rf /var/lib/apt/lists/* \
    && test -f /usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4
ENV LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4

# kubeflow/options.py IMAGE_SOURCE_ROOT: compiled packages read the schema from /gc-tfx/pipeline/schema/.
WORKDIR /gc-tfx

# Dependencies first, before any source is copied, so this slow layer is rebuilt only when the lock or the
# package metadata change. -c holds every dependency to the lock's version; the project itself is still empty.
COPY requirements.lock setup.py pyproject.toml ./
RUN python -m pip install -c requirements.lock -e .

# The code, installed in place (as `make setup` does) so that pipeline/schema/schema.pbtxt stays beside it. Tasks
# need system.py, trainer/, results/, report/, components/ and pipeline/; the rest makes the image's `gc-tfx`
# whole (data, submit).
COPY system.py ./
COPY trainer/ trainer/
COPY results/ results/
COPY report/ report/
COPY components/ components/
COPY pipeline/ pipeline/
COPY kubeflow/ kubeflow/
COPY local_runner.py ./
COPY datasets/ datasets/
COPY cli/ cli/
# The import check fails the build, not a cluster run, if the entrypoint, TFX's modules behind it, S3 support or
# our code cannot load.
RUN python -m pip install --no-deps -e . \
    && python -c "import kubeflow.task_entrypoint, tensorflow_io, pipeline.pipeline, trainer.task" \
    && python -c "import tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor" \
    && python -c "import tfx.orchestration.kubeflow.v2.file_based_example_gen.driver"
