"""VGG16 as real Keras builds it, for the VGG16 path (by hand; needs .venv-keras):

    .venv-keras/bin/python tests/keras/vgg16_keras.py OUTDIR

writes OUTDIR/vgg16_weights_tf_dim_ordering_tf_kernels.h5 (tf_keras' applications.VGG16
with random weights, saved with save_weights: the layout of the file lesson 2's users
download), OUTDIR/x.npy (2 random 224x224x3 inputs, already preprocessed) and
OUTDIR/y.npy (Keras' predictions for them). check-vgg16.sh loads the file into deepnb's
`%model vgg vgg16` and compares."""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import tf_keras  # noqa: E402

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
tf_keras.utils.set_random_seed(3)
model = tf_keras.applications.VGG16(weights=None, include_top=True, classes=1000)
model.save_weights(os.path.join(out, "vgg16_weights_tf_dim_ordering_tf_kernels.h5"))
x = np.random.default_rng(0).normal(0, 60, (2, 224, 224, 3)).astype(np.float32)
np.save(os.path.join(out, "x.npy"), x)
np.save(os.path.join(out, "y.npy"), model.predict(x, verbose=0))
print("wrote", out, [l.name for l in model.layers][:4], "...")
