"""The benchmarks `make bench` runs, in order, with their titles; each module's NAME is its key here."""
from typing import Dict

TITLES: Dict[str, str] = {
    "gc_overhead": "GC overhead",
    "training_efficiency": "Training efficiency",
    "thread_settings": "Thread and allocator settings",
    "pipeline_vs_keras": "Pipeline vs bare Keras",
    "input_headroom": "Input pipeline headroom",
    "input_autotune": "tf.data autotuning",
    "one_replica_strategy": "Strategy on one device",
    "whole_run": "Whole run",
    "mirrored_strategy": "MirroredStrategy",
    "speedups": "Candidate speed-ups",
    "transform_materialization": "Transform output format",
}
