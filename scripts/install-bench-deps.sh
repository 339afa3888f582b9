#!/usr/bin/env bash
# Benchmarks only (not CI): PyPI's current torch in .venv-bench, the second peer of
# bench/cnn beside Debian's torch 1.13. PyPI's Linux wheel is the CUDA build (several
# GiB with its NVIDIA libraries); on a machine without a GPU it runs on the CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv-bench/bin/python ] || "${DEEPNB_PYPI_PYTHON:-python3}" -m venv .venv-bench
.venv-bench/bin/python -c 'import torch, numpy' 2>/dev/null || .venv-bench/bin/python -m pip install -q torch numpy
.venv-bench/bin/python -c 'import torch; print("install-bench-deps: torch", torch.__version__)'
