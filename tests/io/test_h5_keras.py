"""Keras weight files between the runtime and h5py: a file the runtime saves has exactly
the layout Keras 2 writes, and files in the Keras-2 and Keras-1 layouts written by h5py
load into the expected arrays (Theano kernels converted as Keras converts them)."""
import pytest

np = pytest.importorskip("numpy", reason="numpy is in Debian's python3 stack, not this one")

h5py = pytest.importorskip("h5py", reason="h5py is in Debian's python3-h5py, not in this stack")

import dnio  # noqa: E402  (after the skip: it needs the build)

KERAS_VERSION = b"2.2.4"


@pytest.fixture(scope="module")
def lib():
    if not dnio.LIB_PATH.exists():
        pytest.fail(f"{dnio.LIB_PATH} is missing: build with ninja first (DEEPNB_BUILD)")
    return dnio.load_lib()


def rng_arrays(seed, shapes):
    r = np.random.default_rng(seed)
    return [r.standard_normal(s).astype(np.float32) for s in shapes]


def small_model(seed=0, dense2_out=3):
    k1, b1, k2, b2, g, be, mm, mv, k3, b3 = rng_arrays(seed, [
        (3, 3, 2, 4), (4,), (4,), (4,), (4,), (4,), (4,), (4,), (4 * 3 * 3, 5), (5,)])
    k4, b4 = rng_arrays(seed + 1, [(5, dense2_out), (dense2_out,)])
    return [
        ("conv2d_1", "Conv2D", [("kernel", k1), ("bias", b1)]),
        ("batch_normalization_1", "BatchNormalization",
         [("gamma", g), ("beta", be), ("moving_mean", mm), ("moving_variance", np.abs(mv))]),
        ("max_pooling2d_1", "MaxPooling2D", []),
        ("flatten_1", "Flatten", []),
        ("dense_1", "Dense", [("kernel", k3), ("bias", b3)]),
        ("dropout_1", "Dropout", []),
        ("dense_2", "Dense", [("kernel", k4), ("bias", b4)]),
    ]


def keras2_reference(path, spec):
    """What Keras 2.2.4's save_weights_to_hdf5_group wrote through h5py 2.x: h5py 2 turned
    the list of bytes into a fixed-length 'S' array, bytes into an 'S' scalar and an empty
    list into an empty float64 array; the same values are spelled out here for h5py 3."""
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = np.array([name.encode("utf8") for name, _, _ in spec])
        f.attrs["backend"] = np.array("tensorflow".encode("utf8"))
        f.attrs["keras_version"] = np.array(KERAS_VERSION)
        for name, _, arrays in spec:
            g = f.create_group(name)
            weight_names = [f"{name}/{a}:0".encode("utf8") for a, _ in arrays]
            g.attrs["weight_names"] = np.array(weight_names) if weight_names else np.array([])
            for wname, (_, val) in zip(weight_names, arrays):
                ds = g.create_dataset(wname, val.shape, dtype=val.dtype)
                ds[:] = val


def describe(path):
    """Everything about a file's layout that a reader could see, values included."""
    out = {}

    def attrs(obj):
        d = {}
        for k in sorted(obj.attrs):
            aid = obj.attrs.get_id(k)
            t = aid.get_type()
            info = [t.get_class(), t.get_size(), aid.shape]
            if isinstance(t, h5py.h5t.TypeStringID):
                info += [t.is_variable_str(), t.get_strpad(), t.get_cset()]
            v = obj.attrs[k]
            info.append(repr(v.tolist() if isinstance(v, np.ndarray) else v))
            info.append(str(np.asarray(v).dtype))
            d[k] = info
        return d

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            pl = obj.id.get_create_plist()
            out[name] = ("dataset", obj.dtype.str, obj.shape, pl.get_layout(), obj.chunks,
                         pl.get_nfilters(), pl.get_fill_time(), pl.get_alloc_time(),
                         pl.get_obj_track_times(), obj[()].tobytes(), attrs(obj))
        else:
            out[name] = ("group", sorted(obj.keys()), attrs(obj))

    with h5py.File(path, "r") as f:
        out["/"] = ("root", sorted(f.keys()), attrs(f))
        f.visititems(visit)
    return out


def test_saved_file_is_the_keras2_layout(lib, tmp_path):
    spec = small_model()
    ours, ref = tmp_path / "ours.h5", tmp_path / "keras.h5"
    dnio.save_h5(lib, ours, dnio.Model(spec))
    keras2_reference(ref, spec)

    with h5py.File(ours, "r") as f:
        assert set(f.attrs) == {"layer_names", "backend", "keras_version"}
        names = f.attrs["layer_names"]
        assert names.dtype == np.dtype("S21") and names.shape == (7,)
        assert [n.decode() for n in names] == [n for n, _, _ in spec]
        assert f.attrs["backend"] == b"tensorflow" and f.attrs["keras_version"] == KERAS_VERSION
        assert sorted(f.keys()) == sorted(n for n, _, _ in spec)
        empty = f["flatten_1"].attrs["weight_names"]
        assert empty.dtype == np.float64 and empty.shape == (0,)
        assert list(f["dense_1"].attrs["weight_names"]) == [b"dense_1/kernel:0", b"dense_1/bias:0"]
        assert list(f["dense_1"].keys()) == ["dense_1"]
        k = f["dense_1/dense_1/kernel:0"]
        assert k.dtype == np.dtype("<f4") and k.shape == (36, 5) and k.chunks is None
        np.testing.assert_array_equal(k[()], spec[4][2][0][1])
        bn = f["batch_normalization_1"]
        assert [n.decode() for n in bn.attrs["weight_names"]] == [
            f"batch_normalization_1/{a}:0" for a in ("gamma", "beta", "moving_mean", "moving_variance")]

    got, want = describe(ours), describe(ref)
    assert got.keys() == want.keys()
    for key in want:
        assert got[key] == want[key], key


def keras2_load(path):
    """Keras 2's load_weights_from_hdf5_group, reduced to what it reads: the values of each
    layer with weights, in file order."""
    with h5py.File(path, "r") as f:
        out = []
        for name in [n.decode("utf8") for n in f.attrs["layer_names"]]:
            g = f[name]
            weight_names = [n.decode("utf8") for n in g.attrs["weight_names"]]
            if weight_names:
                out.append((name, [np.asarray(g[w]) for w in weight_names]))
        return out


def test_keras2_reader_gets_the_values(lib, tmp_path):
    spec = small_model(seed=4)
    dnio.save_h5(lib, tmp_path / "w.h5", dnio.Model(spec))
    loaded = keras2_load(tmp_path / "w.h5")
    want = [(n, [a for _, a in arrays]) for n, _, arrays in spec if arrays]
    assert [n for n, _ in loaded] == [n for n, _ in want]
    for (_, got), (_, exp) in zip(loaded, want):
        for g, e in zip(got, exp):
            np.testing.assert_array_equal(g, e)


def empty_model(spec):
    return dnio.Model([(n, c, [(a, np.full(v.shape, -9, np.float32)) for a, v in arrays])
                       for n, c, arrays in spec])


def assert_model(model, spec, convert=None):
    for name, _, arrays in spec:
        for aname, value in arrays:
            want = convert(name, aname, value) if convert else value
            np.testing.assert_array_equal(model.arrays[(name, aname)], want,
                                          err_msg=f"{name}/{aname}")


@pytest.mark.parametrize("by_name", [False, True])
def test_keras2_file_from_h5py_loads(lib, tmp_path, by_name):
    spec = small_model(seed=2)
    keras2_reference(tmp_path / "k2.h5", spec)
    m = empty_model(spec)
    dnio.load_h5(lib, tmp_path / "k2.h5", m, by_name=by_name)
    assert_model(m, spec)


def test_tf_keras_file_with_h5py3_strings_loads(lib, tmp_path):
    """tf.keras with h5py 3 writes the same layout with variable-length strings, and float64
    arrays when a model was built so; and model.save() puts it under model_weights."""
    spec = small_model(seed=3)
    with h5py.File(tmp_path / "model.h5", "w") as f:
        f.attrs["model_config"] = "{}"
        mw = f.create_group("model_weights")
        mw.attrs["layer_names"] = [n.encode() for n, _, _ in spec]
        mw.attrs["backend"] = "tensorflow"
        mw.attrs["keras_version"] = "2.11.0"
        for name, _, arrays in spec:
            g = mw.create_group(name)
            g.attrs["weight_names"] = [f"{name}/{a}:0".encode() for a, _ in arrays]
            for a, v in arrays:
                g.create_dataset(f"{name}/{a}:0", data=v.astype(np.float64))
    assert h5py.check_string_dtype(h5py.File(tmp_path / "model.h5")["model_weights"]
                                   .attrs.get_id("layer_names").dtype).length is None
    m = empty_model(spec)
    dnio.load_h5(lib, tmp_path / "model.h5", m)
    assert_model(m, spec)


def keras1_file(path, layers, backend=None):
    """Keras 1's save_weights: layer_names and weight_names lists, datasets flat in each
    layer's group under their weight names; backend only when given (older files lack it),
    never keras_version."""
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = np.array([n.encode() for n, _ in layers])
        if backend:
            f.attrs["backend"] = np.array(backend.encode())
        for name, weights in layers:
            g = f.create_group(name)
            g.attrs["weight_names"] = (np.array([w.encode() for w, _ in weights])
                                       if weights else np.array([]))
            for w, v in weights:
                g.create_dataset(w, data=v)


def test_vgg16_style_keras1_file_loads(lib, tmp_path):
    """The layout of vgg16_weights_tf_dim_ordering_tf_kernels.h5: '_W_1:0' names, conv
    kernels (kh, kw, in, out), Dense kernels (in, out), pooling/flatten groups empty."""
    c1w, c1b, c2w, c2b, f1w, f1b, pw, pb = rng_arrays(7, [
        (3, 3, 3, 4), (4,), (3, 3, 4, 4), (4,), (2 * 2 * 4, 6), (6,), (6, 3), (3,)])
    layers = [("block1_conv1", [("block1_conv1_W_1:0", c1w), ("block1_conv1_b_1:0", c1b)]),
              ("block1_conv2", [("block1_conv2_W_1:0", c2w), ("block1_conv2_b_1:0", c2b)]),
              ("block1_pool", []), ("flatten", []),
              ("fc1", [("fc1_W_1:0", f1w), ("fc1_b_1:0", f1b)]),
              ("predictions", [("predictions_W_1:0", pw), ("predictions_b_1:0", pb)])]
    keras1_file(tmp_path / "vgg.h5", layers)
    spec = [("block1_conv1", "Conv2D", [("kernel", c1w), ("bias", c1b)]),
            ("block1_conv2", "Conv2D", [("kernel", c2w), ("bias", c2b)]),
            ("block1_pool", "MaxPooling2D", []), ("flatten", "Flatten", []),
            ("fc1", "Dense", [("kernel", f1w), ("bias", f1b)]),
            ("predictions", "Dense", [("kernel", pw), ("bias", pb)])]
    for by_name in (False, True):
        m = empty_model(spec)
        dnio.load_h5(lib, tmp_path / "vgg.h5", m, by_name=by_name)
        assert_model(m, spec)
    # Fine-tuning: the last layer replaced by Dense(2); by name the rest still loads.
    tuned = spec[:-1] + [("dense_new", "Dense", [("kernel", np.zeros((6, 2), np.float32)),
                                                 ("bias", np.zeros(2, np.float32))])]
    m = empty_model(tuned)
    dnio.load_h5(lib, tmp_path / "vgg.h5", m, by_name=True)
    assert_model(m, spec[:-1])
    assert (m.arrays[("dense_new", "kernel")] == -9).all()


def test_theano_keras1_file_is_converted(lib, tmp_path):
    """A Theano-trained Keras-1 file from a channels-first model: conv kernels (out, in, kh,
    kw), true convolution, Flatten in (c, h, w) order. Keras 2 transposes kernels to (kh, kw,
    in, out) and turns them 180 degrees (convert_kernel); moving the model to channels last,
    convert_dense_weights_data_format reorders the rows of the Dense after Flatten."""
    cw, cb, dw, db, d2w, d2b = rng_arrays(11, [(4, 3, 3, 2), (4,), (4 * 3 * 3, 5), (5,),
                                               (5, 2), (2,)])
    layers = [("convolution2d_1", [("convolution2d_1_W", cw), ("convolution2d_1_b", cb)]),
              ("maxpooling2d_1", []), ("flatten_1", []),
              ("dense_1", [("dense_1_W", dw), ("dense_1_b", db)]),
              ("dense_2", [("dense_2_W", d2w), ("dense_2_b", d2b)])]
    keras1_file(tmp_path / "th.h5", layers, backend="theano")
    want_kernel = np.transpose(cw, (2, 3, 1, 0))[::-1, ::-1, :, :]
    want_dense = dw.reshape(4, 3, 3, 5).transpose(1, 2, 0, 3).reshape(36, 5)
    spec = [("convolution2d_1", "Conv2D", [("kernel", want_kernel), ("bias", cb)]),
            ("maxpooling2d_1", "MaxPooling2D", []), ("flatten_1", "Flatten", []),
            ("dense_1", "Dense", [("kernel", want_dense), ("bias", db)]),
            ("dense_2", "Dense", [("kernel", d2w), ("bias", d2b)])]
    m = empty_model(spec)
    dnio.load_h5(lib, tmp_path / "th.h5", m)
    assert_model(m, spec)
    # The conversions are not no-ops: the test can tell them apart.
    assert not np.array_equal(want_kernel, np.transpose(cw, (2, 3, 1, 0)))
    assert not np.array_equal(want_dense, dw)

    # A feature map that is not square cannot be reordered from the neutral form: refused.
    layers[3] = ("dense_1", [("dense_1_W", dw[:24]), ("dense_1_b", db)])
    keras1_file(tmp_path / "th2.h5", layers, backend="theano")
    spec[3] = ("dense_1", "Dense", [("kernel", dw[:24]), ("bias", db)])
    m = empty_model(spec)
    with pytest.raises(dnio.IOError_, match="layer dense_1: .*square feature map"):
        dnio.load_h5(lib, tmp_path / "th2.h5", m)
    assert all((v == -9).all() for v in m.arrays.values())


def test_keras1_batchnorm_names(lib, tmp_path):
    g, b, mean, var, dw, db = rng_arrays(5, [(6,), (6,), (6,), (6,), (6, 2), (2,)])
    layers = [("batchnormalization_1", [("batchnormalization_1_gamma", g),
                                        ("batchnormalization_1_beta", b),
                                        ("batchnormalization_1_running_mean", mean),
                                        ("batchnormalization_1_running_std", var)]),
              ("dense_1", [("dense_1_W", dw), ("dense_1_b", db)])]
    keras1_file(tmp_path / "bn.h5", layers)
    spec = [("batch_normalization_1", "BatchNormalization",
             [("gamma", g), ("beta", b), ("moving_mean", mean), ("moving_variance", var)]),
            ("dense_1", "Dense", [("kernel", dw), ("bias", db)])]
    m = empty_model(spec)
    dnio.load_h5(lib, tmp_path / "bn.h5", m)
    assert_model(m, spec)


def test_mismatch_names_layer_and_shapes_and_writes_nothing(lib, tmp_path):
    spec = small_model(seed=1, dense2_out=10)
    keras2_reference(tmp_path / "k.h5", spec)
    other = small_model(seed=1, dense2_out=2)
    m = empty_model(other)
    with pytest.raises(dnio.IOError_) as e:
        dnio.load_h5(lib, tmp_path / "k.h5", m)
    assert "layer dense_2: the file has kernel (5, 10), the model has (5, 2)" in str(e.value)
    assert all((v == -9).all() for v in m.arrays.values())


def test_file_errors(lib, tmp_path):
    m = empty_model(small_model())
    with pytest.raises(dnio.IOError_, match="no such file"):
        dnio.load_h5(lib, tmp_path / "missing.h5", m)
    (tmp_path / "notes.h5").write_text("not hdf5")
    with pytest.raises(dnio.IOError_, match="not an HDF5 file"):
        dnio.load_h5(lib, tmp_path / "notes.h5", m)
    with h5py.File(tmp_path / "plain.h5", "w") as f:
        f["x"] = np.arange(3)
    with pytest.raises(dnio.IOError_, match="no 'layer_names' attribute"):
        dnio.load_h5(lib, tmp_path / "plain.h5", m)
    with pytest.raises(dnio.IOError_, match="does not exist"):
        dnio.save_h5(lib, tmp_path / "nope" / "w.h5", m)


def test_arrays_paired_by_name_when_all_names_are_known(lib, tmp_path):
    """Within a layer Keras pairs arrays by position; when every name is known (kernel,
    W, bias, b, gamma, running_std, ...) the runtime pairs them by name, so a file that
    lists bias first still loads right."""
    k, b = rng_arrays(9, [(4, 3), (3,)])
    with h5py.File(tmp_path / "swapped.h5", "w") as f:
        f.attrs["layer_names"] = np.array([b"dense_1"])
        f.attrs["backend"] = np.array(b"tensorflow")
        f.attrs["keras_version"] = np.array(KERAS_VERSION)
        g = f.create_group("dense_1")
        g.attrs["weight_names"] = np.array([b"dense_1/bias:0", b"dense_1/kernel:0"])
        g["dense_1/bias:0"] = b
        g["dense_1/kernel:0"] = k
    spec = [("dense_1", "Dense", [("kernel", k), ("bias", b)])]
    m = empty_model(spec)
    dnio.load_h5(lib, tmp_path / "swapped.h5", m)
    assert_model(m, spec)


def test_by_name_layer_without_weights_against_file_with_weights(lib, tmp_path):
    spec = small_model(seed=6)
    keras2_reference(tmp_path / "k.h5", spec)
    m = empty_model([("dense_1", "Dropout", [])] + spec[:1])
    with pytest.raises(dnio.IOError_, match="layer dense_1: the file has 2 weight arrays"):
        dnio.load_h5(lib, tmp_path / "k.h5", m, by_name=True)
    assert all((v == -9).all() for v in m.arrays.values())


def keras2_save_attributes(group, name, data):
    """Keras 2's save_attributes_to_hdf5_group: a list longer than HDF5's 64512-byte header
    limit goes into name0, name1, ... split as numpy.array_split splits it."""
    data_npy = np.asarray(data)
    num_chunks = 1
    chunks = np.array_split(data_npy, num_chunks)
    while any(c.nbytes > 64512 for c in chunks):
        num_chunks += 1
        chunks = np.array_split(data_npy, num_chunks)
    if num_chunks > 1:
        for i, c in enumerate(chunks):
            group.attrs["%s%d" % (name, i)] = c
    else:
        group.attrs[name] = data_npy


def test_long_layer_list_is_split_as_keras_splits_it(lib, tmp_path):
    spec = [(f"dense_{i:04d}_" + "x" * 110, "Dense",
             [("bias", np.full(2, i, np.float32))] if i % 3 == 0 else []) for i in range(1100)]
    dnio.save_h5(lib, tmp_path / "ours.h5", dnio.Model(spec))
    with h5py.File(tmp_path / "keras.h5", "w") as f:
        keras2_save_attributes(f, "layer_names", [n.encode() for n, _, _ in spec])
        f.attrs["backend"] = np.array(b"tensorflow")
        f.attrs["keras_version"] = np.array(KERAS_VERSION)
        for name, _, arrays in spec:
            g = f.create_group(name)
            names = [f"{name}/{a}:0".encode() for a, _ in arrays]
            g.attrs["weight_names"] = np.array(names) if names else np.array([])
            for a, v in arrays:
                g.create_dataset(f"{name}/{a}:0", v.shape, dtype=v.dtype)[:] = v
    with h5py.File(tmp_path / "ours.h5", "r") as f:
        assert sorted(k for k in f.attrs if k.startswith("layer_names")) == [
            "layer_names0", "layer_names1", "layer_names2"]
    got, want = describe(tmp_path / "ours.h5"), describe(tmp_path / "keras.h5")
    assert got == want
    m = empty_model(spec)
    dnio.load_h5(lib, tmp_path / "keras.h5", m)
    assert_model(m, spec)
