"""The image folders the pipeline reads: drawn (`synthetic`) or the real data through tensorflow-datasets
(`tfds_source`), in one layout (`layout`).

Submodules are imported by name so that `gc-tfx --help` does not pay for NumPy, Pillow or TensorFlow.
"""
