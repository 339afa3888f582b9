"""A weight file laid out as Keras' `vgg16_weights_tf_dim_ordering_tf_kernels.h5` (the
file lesson 2's users download): root attribute layer_names with the input and pooling
layers too, Keras-1 dataset names (`block1_conv1_W_1:0`, `block1_conv1_b_1:0`), kernels
(kh, kw, in, out), fc1 (25088, 4096) in 7x7x512 HWC order. Random weights, scaled so
activations stay finite through 16 layers (He-like), from a seeded generator.

    python3 vgg16_file.py OUT.h5     (Debian's python3: numpy, h5py)
"""
import sys

import h5py
import numpy as np

BLOCKS = [(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)]


def layers():
    """(name, kernel shape or None, bias shape or None) in the file's order."""
    out = [("input_1", None, None)]
    cin = 3
    for b, (f, n) in enumerate(BLOCKS, 1):
        for c in range(1, n + 1):
            out.append((f"block{b}_conv{c}", (3, 3, cin, f), (f,)))
            cin = f
        out.append((f"block{b}_pool", None, None))
    out.append(("flatten", None, None))
    out += [("fc1", (25088, 4096), (4096,)), ("fc2", (4096, 4096), (4096,)),
            ("predictions", (4096, 1000), (1000,))]
    return out


def write(path, seed=0):
    rng = np.random.default_rng(seed)
    with h5py.File(path, "w") as f:
        specs = layers()
        f.attrs["layer_names"] = np.array([n.encode() for n, _, _ in specs])
        for name, ks, bs in specs:
            g = f.create_group(name)
            if ks is None:
                g.attrs["weight_names"] = np.array([])
                continue
            wn = [f"{name}_W_1:0", f"{name}_b_1:0"]
            g.attrs["weight_names"] = np.array([w.encode() for w in wn])
            fan_in = int(np.prod(ks[:-1]))
            kernel = rng.standard_normal(ks, dtype=np.float32) * np.float32(np.sqrt(2.0 / fan_in))
            g.create_dataset(wn[0], data=kernel)
            g.create_dataset(wn[1], data=np.zeros(bs, np.float32))


if __name__ == "__main__":
    write(sys.argv[1])
