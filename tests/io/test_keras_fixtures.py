"""Weight files written by real Keras (tests/keras/fixtures: tf_keras 2.21's `.h5` and Keras
3.15's `.weights.h5`, see tests/keras/README.md) in the runtime, without TensorFlow:

- each fixture's model, built from its model.txt with the runtime's own layer names (as a
  %%model cell builds it), loads the file and predicts Keras' outputs (y.npy) within 1e-5;
  so does the model with Keras' layer names, by order and by name;
- dn_weights_probe tells each file's layout and lists its layers and shapes as h5py sees
  them;
- saved again, the Keras 3 file has Keras 3's groups, attributes, dataset shapes and
  values, group by group (all but the optimizer's state, which deepnb does not save), and
  the Keras 2 file tf_keras' layer lists, datasets and values; both load back exactly;
- a file for another model is refused with both sides listed, the model unchanged.

tests/keras/make_fixtures.py check proves the other way: deepnb's files in real Keras."""
import pytest

np = pytest.importorskip("numpy", reason="numpy is in Debian's python3 stack, not this one")
h5py = pytest.importorskip("h5py", reason="h5py is in Debian's python3-h5py, not in this stack")

import dnio  # noqa: E402  (after the skips: they need numpy and the build)
import dnmodel  # noqa: E402
import keras_defs  # noqa: E402

FIXTURES = keras_defs.fixtures()
IDS = [f["name"] for f in FIXTURES]


@pytest.fixture(scope="module")
def lib():
    if not dnio.LIB_PATH.exists():
        pytest.fail(f"{dnio.LIB_PATH} is missing: build with ninja first (DEEPNB_BUILD)")
    return dnio.load_lib()


def predict(m, fx):
    x, y = np.load(fx["x"]), np.load(fx["y"])
    return m.predict(x).reshape(y.shape), y


def loaded(fx, names=None, by_name=False, seed=5):
    m = keras_defs.build(keras_defs.read_lines(fx["definition"]), seed=seed, names=names)
    m.load_weights(fx["weights"], by_name=by_name)
    return m


def test_fixtures_are_there():
    assert {(f["model"], f["keras"]) for f in FIXTURES} >= {
        ("cnn", "keras2"), ("cnn", "keras3"), ("dense", "keras2"), ("dense", "keras3")}
    for fx in FIXTURES:
        assert fx["weights"].name.endswith(".weights.h5" if fx["keras"] == "keras3" else ".h5")
        assert keras_defs.read_lines(fx["definition"]) == fx["lines"]


@pytest.mark.parametrize("fx", FIXTURES, ids=IDS)
def test_runtime_model_predicts_keras_outputs(fx):
    fresh = keras_defs.build(fx["lines"], seed=5)
    got, y = predict(fresh, fx)
    assert np.max(np.abs(got - y)) > 1e-3     # else a load that did nothing would pass
    m = loaded(fx)
    got, y = predict(m, fx)
    np.testing.assert_allclose(got, y, rtol=0, atol=fx["tolerance"])
    # Keras' own names: by name and by order give the same weights
    for by_name in (False, True):
        k = loaded(fx, names=fx["keras_layer_names"], by_name=by_name)
        np.testing.assert_array_equal(predict(k, fx)[0], got)


@pytest.mark.parametrize("fx", FIXTURES, ids=IDS)
def test_probe_tells_layout_and_layers(lib, fx):
    info = dnio.probe(lib, fx["weights"])
    with h5py.File(fx["weights"], "r") as f:
        if fx["keras"] == "keras2":
            assert info["layout"] == "keras2"
            assert info["keras_version"] == f.attrs["keras_version"] == "2.21.0"
            assert info["backend"] == "tensorflow" and not info["has_optimizer"]
            assert [n for n, _, _ in info["layers"]] == fx["keras_layer_names"]
            for name, group, arrays in info["layers"]:
                assert group == name
                assert [(a, s) for a, s in arrays] == [
                    (w, f[name][w].shape) for w in f[name].attrs["weight_names"]]
        else:
            assert info["layout"] == "keras3"
            assert info["keras_version"] == "" and info["backend"] == ""
            assert info["model_name"] == "sequential" and info["has_optimizer"]
            assert sorted(g for _, g, _ in info["layers"]) == sorted(f["layers"])
            assert sorted(n for n, _, _ in info["layers"]) == sorted(fx["keras_layer_names"])
            for name, group, arrays in info["layers"]:
                v = f["layers"][group]["vars"]
                assert name == v.attrs["name"]
                assert arrays == [(str(i), v[str(i)].shape) for i in range(len(v))]
    assert info["describe"].startswith("a Keras 3 (.weights.h5) file, model 'sequential'"
                                       if fx["keras"] == "keras3" else
                                       "a Keras 2 file (keras_version 2.21.0, backend tensorflow)")


def tree(path, skip=()):
    """{path: what a reader of it sees} for every group and dataset but those under skip"""
    out = {}

    def text(v):
        return v.decode() if isinstance(v, bytes) else v

    def attrs(obj):
        return {k: [text(e) for e in v.tolist()] if isinstance(v, np.ndarray) else text(v)
                for k, v in obj.attrs.items()}

    def visit(name, obj):
        if any(name == s or name.startswith(s + "/") for s in skip):
            return
        if isinstance(obj, h5py.Dataset):
            out[name] = ("dataset", obj.dtype.str, obj.shape, obj.chunks, obj[()].tobytes(),
                         attrs(obj))
        else:
            out[name] = ("group", sorted(obj.keys()), attrs(obj))

    with h5py.File(path, "r") as f:
        out["/"] = ("root", sorted(k for k in f.keys() if k not in skip), attrs(f))
        f.visititems(visit)
    return out


@pytest.mark.parametrize("fx", [f for f in FIXTURES if f["keras"] == "keras3"],
                         ids=[f["name"] for f in FIXTURES if f["keras"] == "keras3"])
def test_saved_keras3_file_is_what_keras3_writes(fx, tmp_path):
    # With Keras' layer names the name attributes are Keras' too; with the runtime's own
    # the groups are still Keras' (the class, numbered), only the attributes differ.
    m = loaded(fx, names=fx["keras_layer_names"])
    m.save_weights(tmp_path / "ours.weights.h5")
    ours, keras = tree(tmp_path / "ours.weights.h5"), tree(fx["weights"], skip=("optimizer",))
    assert ours.keys() == keras.keys()
    for key in keras:
        assert ours[key] == keras[key], key
    with h5py.File(tmp_path / "ours.weights.h5", "r") as f:
        name = f["vars"].attrs.get_id("name")
        assert name.get_type().is_variable_str() and name.shape == ()
        assert "optimizer" not in f and not f.attrs.keys()

    auto = loaded(fx)
    auto.save_weights(tmp_path / "auto.weights.h5")
    with h5py.File(tmp_path / "auto.weights.h5", "r") as a, \
            h5py.File(fx["weights"], "r") as k:
        assert sorted(a["layers"]) == sorted(k["layers"])
        assert sorted(a["layers"][g]["vars"].attrs["name"] for g in a["layers"]) == \
            sorted(auto.names())

    again = keras_defs.build(fx["lines"], seed=9)
    again.load_weights(tmp_path / "auto.weights.h5")
    np.testing.assert_array_equal(predict(again, fx)[0], predict(auto, fx)[0])


@pytest.mark.parametrize("fx", [f for f in FIXTURES if f["keras"] == "keras2"],
                         ids=[f["name"] for f in FIXTURES if f["keras"] == "keras2"])
def test_saved_keras2_file_is_what_tf_keras_writes(fx, tmp_path):
    m = loaded(fx, names=fx["keras_layer_names"])
    m.save_weights(tmp_path / "ours.h5")
    # What differs, and why: tf_keras stores its strings variable-length (h5py 3), says
    # keras_version 2.21.0 (deepnb claims 2.2.4, whose layout it writes) and adds an empty
    # top_level_model_weights group (the model's own weights, none for Sequential), which
    # tf_keras reads only when present.
    ours, keras = tree(tmp_path / "ours.h5"), tree(fx["weights"], skip=("top_level_model_weights",))
    assert ours.keys() == keras.keys()
    for key in keras:
        if key == "/":
            assert ours[key][1] == keras[key][1]
            o, k = ours[key][2], keras[key][2]
            assert o["layer_names"] == k["layer_names"] == fx["keras_layer_names"]
            assert o["backend"] == k["backend"] == "tensorflow"
            assert o["keras_version"] == "2.2.4" and k["keras_version"] == "2.21.0"
        elif ours[key][0] == "group" and "weight_names" in keras[key][2]:
            assert ours[key][1] == keras[key][1]
            assert ours[key][2]["weight_names"] == keras[key][2]["weight_names"], key
        else:
            assert ours[key] == keras[key], key
    again = keras_defs.build(fx["lines"], seed=9)
    again.load_weights(tmp_path / "ours.h5")
    np.testing.assert_array_equal(predict(again, fx)[0], predict(m, fx)[0])


def test_cross_layouts_give_the_same_model(tmp_path):
    """A Keras 3 fixture saved as Keras 2 and back (and the other way) changes nothing."""
    for fx in FIXTURES:
        m = loaded(fx)
        want = predict(m, fx)[0]
        for name in ("x.h5", "x.weights.h5"):
            m.save_weights(tmp_path / name)
            other = keras_defs.build(fx["lines"], seed=3)
            other.load_weights(tmp_path / name)
            np.testing.assert_array_equal(predict(other, fx)[0], want)


def snapshot(m, n):
    return [{k: v[0].copy() for k, v in m.params(i).items()} for i in range(n)]


def test_wrong_file_is_refused_and_changes_nothing():
    cnn = next(f for f in FIXTURES if f["name"] == "cnn_keras3")
    dense = next(f for f in FIXTURES if f["name"] == "dense_keras3")
    m = keras_defs.build(dense["lines"], seed=4)
    before = snapshot(m, 3)
    with pytest.raises(dnmodel.WeightsError) as e:
        m.load_weights(cnn["weights"])
    msg = str(e.value)
    assert "do not pair with the model's" in msg
    assert "the file has 4 layers with weights: batch_normalization 4 x (4,), conv2d " \
           "(3, 3, 1, 4) (4,), conv2d_1 (3, 3, 4, 6) (6,), dense (96, 5) (5,)" in msg
    assert "the model has 3: dense_1 Dense (10, 16) (16,)" in msg
    after = snapshot(m, 3)
    for b, a in zip(before, after):
        for k in b:
            np.testing.assert_array_equal(a[k], b[k])

    # Same classes, other sizes: the layer and both shapes, nothing written.
    wide = [ln.replace("Dense(5,", "Dense(7,") for ln in cnn["lines"]]
    m = keras_defs.build(wide, seed=4)
    before = snapshot(m, 7)
    with pytest.raises(dnmodel.WeightsError) as e:
        m.load_weights(cnn["weights"])
    assert "layer dense_1 (dense in the file): the file has kernel (96, 5), the model has " \
           "(96, 7)" in str(e.value)
    for b, a in zip(before, snapshot(m, 7)):
        for k in b:
            np.testing.assert_array_equal(a[k], b[k])
