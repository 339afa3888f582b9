#!/usr/bin/env bash
# Recreates .venv-keras, the throwaway venv with real Keras that tests/keras/make_fixtures.py
# runs in: TensorFlow 2.21 (CPU), Keras 3.15.1, tf_keras 2.21 (the Keras 2 API), every
# package pinned in tests/keras/requirements.txt (what the committed fixtures were made
# with). Not part of CI or scripts/test-all.sh: the fixtures are made once and committed.
#
#   bash tests/keras/setup-venv.sh [VENV]      (default: .venv-keras at the repository root)
#   PYTHON=/path/to/python3.11 bash tests/keras/setup-venv.sh
#
# Needs a CPython TensorFlow 2.21 has wheels for (the fixtures were made with 3.11.7; Debian
# 12's 3.11 does too), PyPI access and about 1.5 GiB of disk.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
venv=${1:-$root/.venv-keras}
py=${PYTHON:-python3}

"$py" - <<'PY'
import sys
if sys.version_info[:2] != (3, 11):
    print(f"note: Python {sys.version.split()[0]}; the fixtures were made with 3.11.7 and "
          "the pins were resolved there", file=sys.stderr)
PY
if [ -e "$venv" ]; then
    echo "$venv exists; remove it first to recreate it" >&2
    exit 1
fi
"$py" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade "pip>=23.2"
# --no-deps: the list is the whole environment, transitive packages included
"$venv/bin/python" -m pip install --no-deps -r "$root/tests/keras/requirements.txt"
"$venv/bin/python" -m pip check
TF_CPP_MIN_LOG_LEVEL=3 CUDA_VISIBLE_DEVICES= "$venv/bin/python" -c '
import keras, tensorflow as tf, tf_keras
print(f"ready: TensorFlow {tf.__version__}, Keras {keras.__version__}, tf_keras {tf_keras.__version__}")'
