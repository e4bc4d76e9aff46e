"""gc-tfx: a TFX pipeline comparing training with and without Gradient Centralization.

Dependencies are pinned in requirements.lock (installed by `make setup`), so install_requires only names the
top-level packages; the lock decides their versions.
"""
import setuptools

# The top-level packages, in the order imports may go (each may import those before it; docs/architecture.md).
ROOMS = ("results", "trainer", "report", "components", "pipeline", "kubeflow", "datasets", "cli")

setuptools.setup(
    name="gc-tfx",
    version="0.1.0",
    description="Does Gradient Centralization train this image model better? A TFX pipeline that answers honestly.",
    packages=setuptools.find_packages(include=[f"{room}{suffix}" for room in ROOMS for suffix in ("", ".*")]),
    # `system`: the KFP UI's artifact types, imported by that name in every task (see system.py).
    py_modules=["system", "local_runner"],
    package_data={"pipeline": ["schema/*.pbtxt"], "report": ["templates/*"]},
    python_requires=">=3.9,<3.11",
    install_requires=[
        "tfx[kfp]==1.16.0",
        "tensorflow>=2.16,<2.17",
        "tf-keras>=2.16,<2.17",
        "apache-beam[gcp,aws]",
        "tensorflow-datasets",
        "kfp",
        "kfp-kubernetes",  # validates the compiled package's Kubernetes platform document (kubeflow/package.py)
        "tensorflow-io",  # s3:// for TensorFlow (Kubeflow's MinIO); kubeflow/task_entrypoint.py imports it
        "Pillow",
        "matplotlib",
        "absl-py",
        "pydantic",
        "jinja2",
    ],
    entry_points={"console_scripts": ["gc-tfx=cli.main:main"]},
)
