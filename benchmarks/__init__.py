"""Benchmarks (`make bench`): ratios measured in one run on one machine, never absolute seconds across runs."""
