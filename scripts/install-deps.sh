#!/usr/bin/env bash
# Installs what deepnb needs to build, run and test on Debian 12, as root:
#  - system libraries and tools, and Debian's Jupyter stack (/usr/bin/python3:
#    jupyter_client 7.4, nbconvert, classic Notebook 6.4, jupyter_kernel_test 0.4.5,
#    numpy, h5py, Pillow, torch 1.13 — the numerical references for tests;
#    Chromium and chromedriver for the browser tests of JupyterLab and the Notebook);
#  - PyPI's current Jupyter stack in .venv (jupyter_client 8, JupyterLab 4, ipykernel 7,
#    jupyter_kernel_test 0.7), made with the python3 first on PATH.
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_pkgs=(
  build-essential meson ninja-build pkg-config clang libclang-rt-14-dev
  libzmq3-dev libjansson-dev libsodium-dev libopenblas-dev libjpeg62-turbo-dev libpng-dev
  libcairo2-dev libfreetype-dev libhdf5-dev libxxhash-dev fonts-dejavu-core
  python3-jupyter-client python3-nbclient python3-nbconvert python3-ipykernel
  python3-jupyter-kernel-test jupyter-notebook python3-pytest
  python3-numpy python3-h5py python3-pil python3-torch python3-skimage
  python3-sklearn python3-matplotlib
  darknet dataset-fashion-mnist
  chromium chromium-driver
)
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: apt-get install ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# PyPI's stack, isolated from Debian's: .venv sees only its own packages.
PY=${DEEPNB_PYPI_PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
if ! .venv/bin/python -c 'import jupyter_client, jupyter_kernel_test, nbclient, pytest, ipykernel, jupyterlab' 2>/dev/null; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r scripts/requirements-pypi.txt
fi
echo "install-deps: ok"
