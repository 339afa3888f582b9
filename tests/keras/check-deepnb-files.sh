#!/usr/bin/env bash
# The proof that deepnb's weight files load in real Keras: deepnb (the build, Debian's
# python3) loads every fixture, saves it in both layouts and predicts; real Keras (the
# venv, see setup-venv.sh) loads each file deepnb wrote into the model of model.txt --
# fresh, then compiled and trained a step, then in both tf_keras and Keras 3 -- and must
# predict deepnb's outputs within 1e-5.
#
#   bash tests/keras/check-deepnb-files.sh [OUT]    (default: a temporary folder)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
venv=${VENV:-$root/.venv-keras}
out=${1:-$(mktemp -d)}
[ -x "$venv/bin/python" ] || { echo "no $venv: run tests/keras/setup-venv.sh first" >&2; exit 1; }
/usr/bin/python3 "$root/tests/keras/deepnb_export.py" "$out"
"$venv/bin/python" "$root/tests/keras/make_fixtures.py" check-all "$out"
"$venv/bin/python" "$root/tests/keras/make_fixtures.py" check-all "$out" --compiled --both
