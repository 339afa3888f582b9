#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install what is needed, build, install the
# deepnb kernelspec for this user, and run the main notebook headless, writing the
# executed copy beside it (notebooks/<name>.nbconvert.ipynb).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
notebook=${1:-notebooks/first.ipynb}

bash scripts/install-deps.sh
[ -f build/build.ninja ] || meson setup build
ninja -C build
build/kernel/deepnb install --user

# Debian's nbconvert (classic stack); the kernel works the same under the .venv's.
/usr/bin/python3 -m nbconvert --to notebook --execute \
    --ExecutePreprocessor.kernel_name=deepnb --ExecutePreprocessor.timeout=1800 \
    --output "$(basename "${notebook%.ipynb}").nbconvert.ipynb" "$notebook"
echo "main job: executed $notebook -> ${notebook%.ipynb}.nbconvert.ipynb"
