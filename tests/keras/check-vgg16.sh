#!/bin/sh
# The VGG16 path on a file written by real Keras (by hand; needs .venv-keras and a build):
# tf_keras' applications.VGG16 saved with save_weights, loaded by deepnb's `%model vgg
# vgg16 weights=FILE`, its predictions compared with Keras' own for the same inputs.
#   sh tests/keras/check-vgg16.sh [OUTDIR]      (OUTDIR: default a fresh tmp folder)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${1:-$(mktemp -d)}
"$repo/.venv-keras/bin/python" "$here/vgg16_keras.py" "$out"
/usr/bin/python3 - "$out" <<'PY'
import json, os, pathlib, sys, tempfile
sys.path.insert(0, os.path.join(os.environ.get("REPO", "."), "tests", "lang"))
out = pathlib.Path(sys.argv[1])
from conftest import start_kernel, stop_kernel
import numpy as np
root = pathlib.Path(tempfile.mkdtemp())
(root / "spec").mkdir(); (root / "work").mkdir()
k = start_kernel(root / "spec", root / "work")
try:
    k.ok(f"%model vgg vgg16 weights={out}/vgg16_weights_tf_dim_ordering_tf_kernels.h5")
    k.ok(f"%load x {out}/x.npy\n%predict vgg x as=p\n%save p {out}/deepnb.npy overwrite=True")
finally:
    stop_kernel(k)
a, b = np.load(out / "y.npy"), np.load(out / "deepnb.npy")
diff = float(np.abs(a - b).max())
print(f"VGG16 from real Keras: max |deepnb - Keras| = {diff:.3g} (largest output {float(a.max()):.3g})")
sys.exit(0 if diff <= 1e-5 * max(1.0, float(np.abs(a).max())) and (a.argmax(1) == b.argmax(1)).all() else 1)
PY
