# Two commands for a new user: `make demo` and `make test`. Both set up .venv/ first when needed.
SHELL := /bin/bash
VENV := .venv
PYTHON := $(VENV)/bin/python
UV_VERSION := 0.13.8
INSTALLED := $(VENV)/.installed
# Keras 2 (tf_keras) for TFT/TFMA and our code; must be set before TensorFlow is imported.
export TF_USE_LEGACY_KERAS := 1
# uv, unlike pip, installs no bytecode, so with PYTHONDONTWRITEBYTECODE set every process would compile TFX,
# TensorFlow and Beam from source again (measured: 26 of the 42 s a cached `gc-tfx run` took, ~10,000 modules).
# Letting Python cache what it imports costs that once, in the first process; compiling the whole environment at
# set-up took 70 s.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: setup allocator browser demo test test-unit bench bench-quick lock clean

setup: $(INSTALLED) allocator

# tcmalloc, which `gc-tfx run` preloads for training (cli/allocator.py); without it training is about half as fast.
allocator:
	@scripts/install_tcmalloc.sh

# Rebuilt only when the lock, the package metadata or this recipe change, so a second `make setup` is instant.
$(INSTALLED): requirements.lock setup.py pyproject.toml Makefile
	@test -x $(PYTHON) || "$$(scripts/find_python310.sh)" -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(VENV)/bin/uv pip install --quiet --python $(PYTHON) -r requirements.lock
	$(VENV)/bin/uv pip install --quiet --python $(PYTHON) --no-deps -e .
	touch $@

demo: setup
	$(VENV)/bin/gc-tfx run

# Debian's Chromium for the report's browser test; does nothing when it is installed.
browser:
	@scripts/install_chromium.sh

test: setup browser
	$(VENV)/bin/python -m pytest

# Seconds, not minutes: neither the pipeline end to end nor the benchmark smokes.
test-unit: setup
	$(VENV)/bin/python -m pytest -m "not e2e and not bench_smoke"

# Full benchmarks: benchmarks/results.md and benchmarks/results/*.json. About 38 min on a 2-core Intel Xeon with
# AVX-512 (a 33-min run, plus 5 for the thread settings' longer preset), 68 on a 2-core AMD EPYC before that.
bench: setup
	$(VENV)/bin/python -m benchmarks.run_all

# The same benchmarks on little data, one process per core at once, in benchmarks/out/quick/ (6.5 min on the
# 2-core AMD EPYC, 2.2 on the 2-core Intel Xeon).
bench-quick: setup
	$(VENV)/bin/python -m benchmarks.run_all --quick

# Regenerates the lock from requirements.in (needs uv; `make setup` installs it in .venv).
lock: setup
	$(VENV)/bin/uv pip compile requirements.in --python-version 3.10 \
		--python-platform x86_64-manylinux_2_28 --custom-compile-command "make lock" \
		--quiet -o requirements.lock

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
