"""The image folders the pipeline reads: drawn (`synthetic`) or downloaded (`download`), in one layout (`layout`).

Submodules are imported by name so that `gc-tfx --help` does not pay for NumPy or Pillow.
"""
