#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install what is needed, build, install the
# deepnb kernelspec for this user, make the offline data set (Fashion-MNIST laid out as
# Dogs vs Cats, tools/README.md) fresh in work-data/lesson2/, and run the lesson's
# notebook headless, writing the executed copy beside it
# (notebooks/<name>.nbconvert.ipynb, ignored by git).
#   scripts/run-main.sh [NOTEBOOK...]     default: notebooks/lesson2.ipynb
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if (($#)); then notebooks=("$@"); else notebooks=(notebooks/lesson2.ipynb); fi

bash scripts/install-deps.sh
[ -f build/build.ninja ] || meson setup build
ninja -C build
build/kernel/deepnb install --user

# A fresh copy every run: the notebook splits it in place, and %split refuses a folder
# that is split already. The same bytes every run (deepnb-dataset is deterministic).
data=work-data/lesson2
rm -rf "$data"
mkdir -p work-data
build/tools/deepnb-dataset fashion-mnist "$data"

for nb in "${notebooks[@]}"; do
  out="$(basename "${nb%.ipynb}").nbconvert.ipynb"
  # Debian's nbconvert (classic stack); the kernel works the same under the .venv's.
  /usr/bin/python3 -m nbconvert --to notebook --execute \
      --ExecutePreprocessor.kernel_name=deepnb --ExecutePreprocessor.timeout=1800 \
      --output "$out" "$nb"
  echo "main job: executed $nb -> $(dirname "$nb")/$out"
done
