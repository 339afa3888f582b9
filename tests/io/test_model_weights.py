"""A runtime model's weight files against h5py and an independent forward pass.

- A model saved by the runtime (Conv2D, MaxPooling2D, Flatten, Dense, Dense softmax;
  with and without BatchNormalization) has exactly the layout Keras 2 writes, and a fresh
  model of another seed that loads it predicts identically.
- Files written by h5py in the Keras-2 and Keras-1 layouts (`<layer>_W`, `_b`,
  `<layer>_W_1:0`) with known random weights give the outputs of a NumPy float64 forward
  pass of those weights (TensorFlow's 'same'/'valid' padding, NHWC), within 1e-5.
- A Theano-ordered Keras-1 file (kernels (out, in, kh, kw) and turned 180 degrees, Flatten
  in (c, h, w) order) gives the same outputs as the Keras-2 file of the same network.
- A mismatching file is refused with the layer and both shapes named, and the model
  predicts byte for byte as before; a save that fails leaves the old file as it was."""
import os
import tempfile

import pytest

np = pytest.importorskip("numpy", reason="numpy is in Debian's python3 stack, not this one")
h5py = pytest.importorskip("h5py", reason="h5py is in Debian's python3-h5py, not in this stack")

import dnmodel  # noqa: E402  (after the skips: it needs numpy and the build)
from dnmodel import ACT, PAD  # noqa: E402
from test_h5_keras import describe, keras1_file, keras2_reference  # noqa: E402

TOL = 1e-5
EPS = 1e-3          # BatchNormalization's epsilon, Keras' default
# (padding, stride, input side): each leaves a square feature map before Flatten
CONVS = [("same", 1, 8), ("valid", 1, 10), ("same", 2, 8)]
CONV_IDS = ["same", "valid", "same-stride2"]
NAMES = ["conv2d_1", "batch_normalization_1", "max_pooling2d_1", "flatten_1", "dense_1",
         "dense_2"]


def side_after(conv):
    pad, s, h = conv
    out = -(-h // s) if pad == "same" else (h - 3) // s + 1
    return out // 2


def build(conv, bn, seed, dense2=3, extra=False):
    pad, s, h = conv
    m = dnmodel.Model((h, h, 2), seed)
    m.add("conv2d", 4, 3, 3, s, s, PAD[pad], ACT["relu"], 1)
    if bn:
        m.add("batchnorm", 0.99, EPS)
    m.add("maxpool2d", 2, 2, 0, 0, PAD["valid"])
    m.add("flatten")
    m.add("dense", 6, ACT["relu"], 1)
    m.add("dense", dense2, ACT["softmax"], 1)
    if extra:
        m.add("dense", 2, ACT["softmax"], 1)
    return m


def known_weights(conv, bn, seed):
    """Keras-2 spec [(layer, class, [(array, value)])] of random weights for build()"""
    r = np.random.default_rng(seed)
    f = np.float32
    rows = side_after(conv) ** 2 * 4
    spec = [("conv2d_1", "Conv2D", [("kernel", (r.standard_normal((3, 3, 2, 4)) * 0.4).astype(f)),
                                    ("bias", (r.standard_normal(4) * 0.1).astype(f))])]
    if bn:
        spec.append(("batch_normalization_1", "BatchNormalization", [
            ("gamma", r.uniform(0.5, 1.5, 4).astype(f)), ("beta", r.uniform(-0.3, 0.3, 4).astype(f)),
            ("moving_mean", r.uniform(0.0, 0.5, 4).astype(f)),
            ("moving_variance", r.uniform(0.5, 2.0, 4).astype(f))]))
    spec += [("max_pooling2d_1", "MaxPooling2D", []), ("flatten_1", "Flatten", []),
             ("dense_1", "Dense", [("kernel", (r.standard_normal((rows, 6)) * 0.3).astype(f)),
                                   ("bias", (r.standard_normal(6) * 0.1).astype(f))]),
             ("dense_2", "Dense", [("kernel", r.standard_normal((6, 3)).astype(f)),
                                   ("bias", (r.standard_normal(3) * 0.1).astype(f))])]
    return spec


def arrays_of(spec):
    return {(name, a): v for name, _, arrays in spec for a, v in arrays}


def tf_pads(size, k, s, pad):
    """TensorFlow's (before, after) padding of one axis"""
    if pad == "valid":
        return 0, 0
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def reference(spec, conv, bn, x):
    """The network's outputs in float64 NumPy, NHWC, from the Keras-2 spec's values"""
    w = {k: v.astype(np.float64) for k, v in arrays_of(spec).items()}
    pad, s, h = conv
    ph = tf_pads(h, 3, s, pad)
    xp = np.pad(x.astype(np.float64), ((0, 0), ph, ph, (0, 0)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (3, 3), axis=(1, 2))[:, ::s, ::s]
    z = np.einsum("nhwcij,ijco->nhwo", win, w[("conv2d_1", "kernel")]) + w[("conv2d_1", "bias")]
    z = np.maximum(z, 0)
    if bn:
        b = "batch_normalization_1"
        z = (w[(b, "gamma")] * (z - w[(b, "moving_mean")]) /
             np.sqrt(w[(b, "moving_variance")] + EPS) + w[(b, "beta")])
    n, oh, ow, c = z.shape
    z = z[:, :oh // 2 * 2, :ow // 2 * 2].reshape(n, oh // 2, 2, ow // 2, 2, c).max(axis=(2, 4))
    z = z.reshape(n, -1)
    z = np.maximum(z @ w[("dense_1", "kernel")] + w[("dense_1", "bias")], 0)
    z = z @ w[("dense_2", "kernel")] + w[("dense_2", "bias")]
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def inputs(conv, seed=0, n=5):
    h = conv[2]
    return np.random.default_rng(100 + seed).standard_normal((n, h, h, 2)).astype(np.float32)


def rel(a, b):
    return float(np.max(np.abs(np.asarray(a, np.float64) - b)) / np.max(np.abs(b)))


def set_weights(model, spec):
    """writes the spec's values into the model's own buffers"""
    for i, (name, _, arrays) in enumerate(spec):
        p = model.params(i)
        for a, v in arrays:
            p[a][0][...] = v


@pytest.mark.parametrize("bn", [False, True], ids=["plain", "batchnorm"])
def test_saved_file_is_keras2_and_loads_into_a_fresh_model(tmp_path, bn):
    conv = CONVS[0]
    spec = known_weights(conv, bn, seed=1)
    m = build(conv, bn, seed=1)
    assert m.names() == [n for n, _, _ in spec]
    set_weights(m, spec)
    m.save_weights(tmp_path / "ours.h5")
    keras2_reference(tmp_path / "keras.h5", spec)

    with h5py.File(tmp_path / "ours.h5", "r") as f:
        assert [n.decode() for n in f.attrs["layer_names"]] == [n for n, _, _ in spec]
        assert f.attrs["backend"] == b"tensorflow"
        for name, _, arrays in spec:
            assert [w.decode() for w in f[name].attrs["weight_names"]] == [
                f"{name}/{a}:0" for a, _ in arrays]
            for a, v in arrays:
                ds = f[f"{name}/{name}/{a}:0"]
                assert ds.dtype == np.dtype("<f4") and ds.shape == v.shape
                np.testing.assert_array_equal(ds[()], v)
    got, want = describe(tmp_path / "ours.h5"), describe(tmp_path / "keras.h5")
    assert got.keys() == want.keys()
    for key in want:
        assert got[key] == want[key], key

    x = inputs(conv)
    before = m.predict(x)
    assert rel(before, reference(spec, conv, bn, x)) < TOL
    fresh = build(conv, bn, seed=7)
    assert not np.array_equal(fresh.predict(x), before)
    fresh.load_weights(tmp_path / "ours.h5")
    np.testing.assert_array_equal(fresh.predict(x), before)
    by_name = build(conv, bn, seed=8)
    by_name.load_weights(tmp_path / "ours.h5", by_name=True)
    np.testing.assert_array_equal(by_name.predict(x), before)


def keras1_layers(spec, style, backend_th=False):
    """The spec as a Keras-1 file lists it: Keras 1's layer names, '<layer>_W' /
    '<layer>_b' (style 'plain') or '<layer>_W_1:0' (style 'tf', as in VGG16's file)
    weight names, BatchNormalization's running_mean/running_std. backend_th: kernels
    in Theano's order and orientation, Dense rows after Flatten in (c, h, w) order."""
    k1 = {"conv2d_1": "convolution2d_1", "batch_normalization_1": "batchnormalization_1",
          "max_pooling2d_1": "maxpooling2d_1"}
    a1 = {"kernel": "W", "bias": "b", "moving_mean": "running_mean",
          "moving_variance": "running_std"}
    suffix = "_1:0" if style == "tf" else ""
    out = []
    for name, _, arrays in spec:
        lname = k1.get(name, name)
        ws = []
        for a, v in arrays:
            if backend_th and name == "conv2d_1" and a == "kernel":
                v = np.ascontiguousarray(np.transpose(v[::-1, ::-1], (3, 2, 0, 1)))
            if backend_th and name == "dense_1" and a == "kernel":
                side = int(round((v.shape[0] / 4) ** 0.5))
                v = v.reshape(side, side, 4, -1).transpose(2, 0, 1, 3).reshape(v.shape)
            ws.append((f"{lname}_{a1.get(a, a)}{suffix}", v))
        out.append((lname, ws))
    return out


@pytest.mark.parametrize("conv", CONVS, ids=CONV_IDS)
@pytest.mark.parametrize("bn", [False, True], ids=["plain", "batchnorm"])
@pytest.mark.parametrize("layout", ["keras2", "keras1", "keras1-tf"])
def test_h5py_file_gives_the_reference_outputs(tmp_path, conv, bn, layout):
    spec = known_weights(conv, bn, seed=3)
    path = tmp_path / "w.h5"
    if layout == "keras2":
        keras2_reference(path, spec)
    else:
        keras1_file(path, keras1_layers(spec, "tf" if layout == "keras1-tf" else "plain"),
                    backend="tensorflow")
    m = build(conv, bn, seed=5)
    m.load_weights(path)
    for (name, a), v in arrays_of(spec).items():
        np.testing.assert_array_equal(m.params(m.names().index(name))[a][0], v)
    x = inputs(conv, seed=1)
    assert rel(m.predict(x), reference(spec, conv, bn, x)) < TOL


@pytest.mark.parametrize("conv", CONVS, ids=CONV_IDS)
@pytest.mark.parametrize("bn", [False, True], ids=["plain", "batchnorm"])
def test_theano_file_gives_the_keras2_outputs(tmp_path, conv, bn):
    spec = known_weights(conv, bn, seed=4)
    keras2_reference(tmp_path / "k2.h5", spec)
    th = keras1_layers(spec, "plain", backend_th=True)
    keras1_file(tmp_path / "th.h5", th, backend="theano")
    kernel_th = th[0][1][0][1]
    assert kernel_th.shape == (4, 2, 3, 3)
    # the conversions matter: without them the file's values would give other outputs
    assert not np.array_equal(np.transpose(kernel_th, (2, 3, 1, 0)),
                              arrays_of(spec)[("conv2d_1", "kernel")])
    x = inputs(conv, seed=2)
    a, b = build(conv, bn, seed=1), build(conv, bn, seed=2)
    a.load_weights(tmp_path / "k2.h5")
    b.load_weights(tmp_path / "th.h5")
    np.testing.assert_array_equal(b.predict(x), a.predict(x))
    assert rel(a.predict(x), reference(spec, conv, bn, x)) < TOL


def test_mismatch_names_layer_and_shapes_and_changes_nothing(tmp_path):
    conv = CONVS[0]
    spec = known_weights(conv, True, seed=6)
    keras2_reference(tmp_path / "k2.h5", spec)
    x = inputs(conv)

    wide = build(conv, True, seed=2, dense2=4)
    before = wide.predict(x)
    params_before = [{k: v[0].copy() for k, v in wide.params(i).items()} for i in range(6)]
    for by_name in (False, True):
        with pytest.raises(dnmodel.WeightsError) as e:
            wide.load_weights(tmp_path / "k2.h5", by_name=by_name)
        assert "layer dense_2: the file has kernel (6, 3), the model has (6, 4)" in str(e.value)
        assert wide.predict(x).tobytes() == before.tobytes()
    # conv2d_1, the BatchNormalization and dense_1 fit the file, yet none was written
    for i in range(6):
        for k, v in wide.params(i).items():
            np.testing.assert_array_equal(v[0], params_before[i][k])

    longer = build(conv, True, seed=2, extra=True)
    before = longer.predict(x)
    with pytest.raises(dnmodel.WeightsError) as e:
        longer.load_weights(tmp_path / "k2.h5")
    msg = str(e.value)
    assert ("the file has 4 layers with weights (conv2d_1, batch_normalization_1, dense_1, "
            "dense_2), the model has 5 (conv2d_1, batch_normalization_1, dense_1, dense_2, "
            "dense_3)") in msg
    assert longer.predict(x).tobytes() == before.tobytes()


def save_as_nobody(model, path):
    """dn_model_save_weights in a forked child running as user nobody: (status, err)"""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 3
        try:
            os.close(r)
            os.setgid(65534)
            os.setuid(65534)
            try:
                model.save_weights(path)
                os.write(w, b"saved")
                code = 0
            except dnmodel.WeightsError as e:
                os.write(w, str(e).encode())
                code = 1
        finally:
            os._exit(code)  # the child must never return into pytest
    os.close(w)
    msg = os.read(r, 4096).decode()
    os.close(r)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), msg


@pytest.mark.skipif(os.geteuid() != 0, reason="becoming another user needs root (tests run as root here)")
@pytest.mark.parametrize("locked", ["folder", "file"])
def test_failed_save_leaves_the_old_file(locked):
    conv = CONVS[0]
    old, new = build(conv, False, seed=1), build(conv, False, seed=2)
    # pytest's tmp_path is private to root; nobody must be able to reach this folder
    folder = tempfile.mkdtemp(prefix="dn-modelio-")
    try:
        os.chmod(folder, 0o755 if locked == "folder" else 0o777)
        path = os.path.join(folder, "w.h5")
        old.save_weights(path)
        os.chmod(path, 0o666 if locked == "folder" else 0o444)
        before = open(path, "rb").read()
        code, msg = save_as_nobody(new, path)
        assert code == 1, msg
        assert ("permission denied" if locked == "folder" else "read-only") in msg
        assert open(path, "rb").read() == before
        assert os.listdir(folder) == ["w.h5"]
        # the same save as root goes through: the refusal was the permissions'
        os.chmod(path, 0o644)
        new.save_weights(path)
        assert open(path, "rb").read() != before
    finally:
        for f in os.listdir(folder):
            os.unlink(os.path.join(folder, f))
        os.rmdir(folder)
