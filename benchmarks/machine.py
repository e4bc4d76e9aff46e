"""A description of the machine a benchmark ran on, stored with every result."""
import os
import platform
from typing import Dict

from cli import allocator


def describe() -> Dict[str, object]:
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    memory_gib = None
    if hasattr(os, "sysconf") and "SC_PHYS_PAGES" in os.sysconf_names:
        memory_gib = round(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30, 1)
    return {
        "cpu_count": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "memory_gib": memory_gib,
        "gpus": [device.name for device in tf.config.list_physical_devices("GPU")],
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "platform": platform.platform(),
        "allocator": allocator.loaded_allocator(),
    }
