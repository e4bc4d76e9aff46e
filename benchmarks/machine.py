"""A description of the machine a benchmark ran on, stored with every result.

Sessions land on different machine kinds (a 2-core AMD EPYC with AVX2 one day, an Intel Xeon with AVX-512 the
next: 2.3x the training speed), so the processor's model and vector extensions are recorded with every figure.
"""
import os
import platform
from typing import Dict, Optional

from cli import allocator

CPUINFO_PATH = "/proc/cpuinfo"
# The extensions that decide this workload's speed, widest first; their /proc/cpuinfo flag names.
VECTOR_EXTENSIONS = (("avx512f", "AVX-512"), ("avx2", "AVX2"), ("avx", "AVX"), ("asimd", "NEON"))
MATRIX_EXTENSIONS = (("amx_tile", "AMX"),)


def describe_processor(cpuinfo: Optional[str]) -> str:
    """'MODEL NAME (AVX-512, AMX)' from the text of /proc/cpuinfo; the architecture alone when there is none."""
    fields: Dict[str, str] = {}
    for line in (cpuinfo or "").splitlines():
        key, separator, value = line.partition(":")
        if separator and key.strip() not in fields:  # the first processor speaks for all
            fields[key.strip()] = value.strip()
    model = fields.get("model name") or platform.processor() or platform.machine()
    flags = set((fields.get("flags") or fields.get("Features") or "").split())
    vector = next((name for flag, name in VECTOR_EXTENSIONS if flag in flags), None)
    extensions = ([vector] if vector else []) + [name for flag, name in MATRIX_EXTENSIONS if flag in flags]
    return f"{model} ({', '.join(extensions)})" if extensions else model


def _read_cpuinfo() -> Optional[str]:
    try:
        with open(CPUINFO_PATH, encoding="utf-8", errors="replace") as cpuinfo:
            return cpuinfo.read()
    except OSError:  # not Linux
        return None


def describe() -> Dict[str, object]:
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    memory_gib = None
    if hasattr(os, "sysconf") and "SC_PHYS_PAGES" in os.sysconf_names:
        memory_gib = round(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30, 1)
    return {
        "cpu_count": os.cpu_count(),
        "processor": describe_processor(_read_cpuinfo()),
        "memory_gib": memory_gib,
        "gpus": [device.name for device in tf.config.list_physical_devices("GPU")],
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "platform": platform.platform(),
        "allocator": allocator.loaded_allocator(),
    }
