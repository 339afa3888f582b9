#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install what is needed, build, install the
# deepnb kernelspec for this user, make the pre-trained base network when it is missing
# (notebooks/lesson2-pretrain.ipynb -> work-data/models/base.h5), and run lesson 2's
# redux notebook headless on the offline data set. Each notebook run leaves its executed
# copy and an HTML rendering beside it (notebooks/<name>.nbconvert.ipynb and .html,
# ignored by git). The notebooks make their own data (%dataset ... refresh=True).
#   scripts/run-main.sh [NOTEBOOK...]     default: notebooks/lesson2-redux.ipynb
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if (($#)); then notebooks=("$@"); else notebooks=(notebooks/lesson2-redux.ipynb); fi

bash scripts/install-deps.sh
[ -f build/build.ninja ] || meson setup build
ninja -C build
build/kernel/deepnb install --user

# an older main job laid work-data/lesson2 out with the command-line tool: %dataset
# refreshes only folders it made itself, so that one goes
if [ -d work-data/lesson2 ] && [ ! -f work-data/lesson2/.deepnb-dataset ]; then
  rm -rf work-data/lesson2
fi

run() {  # NOTEBOOK
  local nb=$1 name dir
  name=$(basename "${nb%.ipynb}")
  dir=$(dirname "$nb")
  local t0=$SECONDS
  # Debian's nbconvert (classic stack); the kernel works the same under the .venv's.
  /usr/bin/python3 -m nbconvert --to notebook --execute \
      --ExecutePreprocessor.kernel_name=deepnb --ExecutePreprocessor.timeout=3600 \
      --output "$name.nbconvert" "$nb"
  /usr/bin/python3 -m nbconvert --to html --output "$name.nbconvert" "$dir/$name.nbconvert.ipynb"
  echo "main job: executed $nb in $((SECONDS - t0)) s -> $dir/$name.nbconvert.ipynb and $dir/$name.nbconvert.html"
}

if [ ! -f work-data/models/base.h5 ]; then
  echo "main job: work-data/models/base.h5 is missing: making it with notebooks/lesson2-pretrain.ipynb"
  run notebooks/lesson2-pretrain.ipynb
fi
for nb in "${notebooks[@]}"; do
  run "$nb"
done
