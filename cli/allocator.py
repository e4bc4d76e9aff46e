"""The memory allocator `gc-tfx run` trains with: tcmalloc when it is installed, else glibc's malloc.

glibc's malloc serves the seed CNN's huge activations (the first conv output of a batch of 128 at 300 px alone is
727 MB) with fresh mmaps and returns them after every op, so every step page-faults gigabytes again; tcmalloc keeps
them. Measured on a 2-core AMD EPYC (issue 16): a bare training step at 300 px, batch 128, ran at 14.3 images/s
with glibc and 26.6 with tcmalloc, system time 14.7 s -> 0.2 s; on a 2-core Intel Xeon with AVX-512 the two ran
equally fast (README, Performance). The library must be loaded before the process starts (LD_PRELOAD), so the
command re-executes itself once with it; Beam's worker processes inherit it.
"""
import os
import sys
from typing import Dict, List, Optional

TCMALLOC_LIBRARY = "libtcmalloc_minimal.so.4"  # Debian/Ubuntu package libtcmalloc-minimal4
LIBRARY_DIRS = ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib")
CHOICE_VARIABLE = "GC_TFX_ALLOCATOR"  # "glibc" keeps the system malloc
_REEXECUTED_VARIABLE = "GC_TFX_ALLOCATOR_REEXECUTED"  # guards against a loop when the preload does not take


def find_tcmalloc() -> Optional[str]:
    """The path of tcmalloc's shared library, or None when it is not installed."""
    for folder in LIBRARY_DIRS:
        path = os.path.join(folder, TCMALLOC_LIBRARY)
        if os.path.exists(path):
            return path
    return None


def loaded_allocator() -> str:
    """"tcmalloc" when this process has it mapped, else "glibc malloc"."""
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            return "tcmalloc" if "libtcmalloc" in maps.read() else "glibc malloc"
    except OSError:  # not Linux
        return "the system malloc"


def preload_environment() -> Dict[str, str]:
    """{"LD_PRELOAD": ...} that puts tcmalloc in front of what is preloaded already, for a process about to start;
    empty when tcmalloc is not installed or GC_TFX_ALLOCATOR=glibc."""
    library = find_tcmalloc()
    if library is None or os.environ.get(CHOICE_VARIABLE) == "glibc":
        return {}
    return {"LD_PRELOAD": " ".join(filter(None, [library, os.environ.get("LD_PRELOAD", "")]))}


def reexecute_with_tcmalloc(arguments: List[str]) -> None:
    """Replaces this process by `python -m cli ARGUMENTS` with tcmalloc preloaded, when it is installed and not
    loaded yet; returns (keeping glibc's malloc) otherwise, or when GC_TFX_ALLOCATOR=glibc."""
    preload = preload_environment()
    if not preload or os.environ.get(_REEXECUTED_VARIABLE) or loaded_allocator() == "tcmalloc":
        return
    environment = dict(os.environ, **preload, **{_REEXECUTED_VARIABLE: "1"})
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, "-m", "cli", *arguments], environment)


def describe() -> str:
    """One line for the log: which allocator runs, and how to get tcmalloc where it is missing."""
    allocator = loaded_allocator()
    if allocator == "tcmalloc" or os.environ.get(CHOICE_VARIABLE) == "glibc":
        return f"Memory allocator: {allocator}."
    return (f"Memory allocator: {allocator}; training runs faster with tcmalloc (apt-get install "
            f"libtcmalloc-minimal4, or `make setup`).")
