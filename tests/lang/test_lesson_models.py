"""Lesson 2's model steps as cells, through the real kernel, checked against numpy, h5py
and files written by real Keras:

- the linear regression by SGD (the lesson's cells; an exact float64 replay of SGD);
- the linear model on a base network's 1000 outputs, and pop / freeze / add / unfreeze
  with the weights that move at the very next step;
- a saved model loaded into a fresh one predicts bit for bit the same (both layouts);
- real Keras' fixture files (tests/keras/fixtures) give Keras' outputs within 1e-5;
- %fit on 10,000 28x28 images sends fewer than 100 iopub messages per epoch;
- an interrupted %fit keeps the finished epochs' files and says where it stopped;
- VGG16's parameter count and a VGG16-layout file made by h5py.
"""
import json
import pathlib
import random
import time

import pytest

np = pytest.importorskip("numpy", reason="numpy is in Debian's python3 stack")
h5py = pytest.importorskip("h5py", reason="h5py is in Debian's python3-h5py")
Image = pytest.importorskip("PIL.Image", reason="needs Pillow")

REPO = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "keras" / "fixtures"


def save(kernel, name, path):
    kernel.ok(f"%save {name} {path} overwrite=True")
    return np.load(path)


def h5_arrays(path):
    """{layer/array: values} of a Keras-2 file written by %save_weights."""
    out = {}
    with h5py.File(path, "r") as f:
        for lname in f.attrs["layer_names"]:
            lname = lname.decode() if isinstance(lname, bytes) else lname
            g = f[lname]
            for w in g.attrs["weight_names"]:
                w = w.decode() if isinstance(w, bytes) else w
                out[w] = np.array(g[w])
    return out


def image_folder(root, classes, n_per_class, size=8, seed=0, mode="L"):
    """root/<class>/<i>.png: small real images whose mean brightness depends on the class,
    so that a model can learn them."""
    rng = random.Random(seed)
    for c, cls in enumerate(classes):
        d = root / cls
        d.mkdir(parents=True)
        for i in range(n_per_class):
            base = 40 + 160 * c // max(1, len(classes) - 1)
            px = bytes(min(255, max(0, base + rng.randint(-40, 40))) for _ in range(size * size * (3 if mode == "RGB" else 1)))
            Image.frombytes(mode, (size, size), px).save(d / f"{cls}.{i}.png")
    return root


# ---------------------------------------------------------------- linear regression

def test_linear_regression_as_the_lesson_writes_it(kernel, tmp_path):
    kernel.ok("%seed 42\n%let x = random(30, 2)\n%let y = x @ [2., 3.] + 1.")
    x, y = save(kernel, "x", tmp_path / "x.npy"), save(kernel, "y", tmp_path / "y.npy")
    assert x.shape == (30, 2) and x.dtype == np.float32 and (x >= 0).all() and (x < 1).all()
    np.testing.assert_allclose(y, x @ np.array([2, 3], np.float32) + 1, rtol=1e-6)

    kernel.ok("%%model lm\nDense(1, input_shape=(2,))")
    kernel.ok("%compile lm optimizer=SGD(lr=0.1) loss=mse")
    kernel.ok(f"%save_weights lm {tmp_path}/w0.h5")
    w0 = h5_arrays(tmp_path / "w0.h5")
    k0, b0 = w0["dense_1/kernel:0"], w0["dense_1/bias:0"]
    before = kernel.ok("%evaluate lm x y")
    want = float(np.mean((x @ k0 + b0 - y[:, None]) ** 2))
    got = float(before.result.split("loss:")[1].split()[0])
    assert abs(got - want) < 1e-3 * max(1, want), (before.result, want)
    assert want > 1, "untrained, the line is far from the data"

    # the lesson runs fit (5 epochs of batch 1) again and again: the loss keeps falling
    losses = [got]
    for _ in range(3):
        kernel.ok("%fit lm x y epochs=5 batch_size=1")
        r = kernel.ok("%evaluate lm x y")
        losses.append(float(r.result.split("loss:")[1].split()[0]))
    assert losses[1] < losses[0] / 50 and losses[3] < losses[2] < losses[1], losses
    assert losses[3] < 1e-3, losses
    kernel.ok(f"%save_weights lm {tmp_path}/w1.h5")
    w1 = h5_arrays(tmp_path / "w1.h5")
    np.testing.assert_allclose(w1["dense_1/kernel:0"][:, 0], [2, 3], atol=0.1)
    np.testing.assert_allclose(w1["dense_1/bias:0"], [1], atol=0.1)
    # %weights shows the same numbers, as the spreadsheet view
    shown = kernel.ok("%weights lm").texts()[0]
    assert "dense_1/kernel (2, 1)" in shown and "dense_1/bias (1,)" in shown
    for v in np.concatenate([w1["dense_1/kernel:0"].ravel(), w1["dense_1/bias:0"]]):
        assert f"{v:.4f}"[:5] in shown, (v, shown)
    hist = kernel.ok("%history lm").texts()[0]
    assert len([l for l in hist.splitlines() if l.strip()[:1].isdigit()]) == 15


def test_sgd_steps_are_exactly_sgd(kernel, tmp_path):
    """Unshuffled batch-1 SGD replayed in float64: the cell path takes exactly those steps."""
    kernel.ok("%let xs = random(20, 3)\n%let ys = xs @ [1., -2., 0.5] - 0.25")
    kernel.ok("%%model sg\nDense(1, input_dim=3)")
    kernel.ok("%compile sg optimizer=SGD(lr=0.05) loss=mse")
    kernel.ok(f"%save_weights sg {tmp_path}/s0.h5")
    kernel.ok("%fit sg xs ys epochs=2 batch_size=1 shuffle=False")
    kernel.ok(f"%save_weights sg {tmp_path}/s1.h5")
    x, y = save(kernel, "xs", tmp_path / "xs.npy").astype(np.float64), save(kernel, "ys", tmp_path / "ys.npy").astype(np.float64)
    w0 = h5_arrays(tmp_path / "s0.h5")
    k, b = w0["dense_1/kernel:0"].astype(np.float64)[:, 0], float(w0["dense_1/bias:0"][0])
    for _ in range(2):
        for i in range(len(x)):
            err = x[i] @ k + b - y[i]
            k, b = k - 0.05 * 2 * err * x[i], b - 0.05 * 2 * err
    w1 = h5_arrays(tmp_path / "s1.h5")
    np.testing.assert_allclose(w1["dense_1/kernel:0"][:, 0], k, atol=1e-5)
    np.testing.assert_allclose(w1["dense_1/bias:0"][0], b, atol=1e-5)


# ---------------------------------------------------------------- linear model, fine-tuning

@pytest.fixture(scope="module")
def pets(tmp_path_factory):
    root = tmp_path_factory.mktemp("pets")
    image_folder(root / "train", ["cat", "dog"], 48, seed=1)
    image_folder(root / "valid", ["cat", "dog"], 16, seed=2)
    return root


def test_linear_model_on_a_base_networks_outputs(kernel, pets, tmp_path):
    kernel.ok(f"%seed 7\n%batches trn {pets}/train size=8 color=grayscale preprocess=scale shuffle=False batch_size=16\n"
              f"%batches val {pets}/valid size=8 color=grayscale preprocess=scale shuffle=False")
    kernel.ok("%%model base\nConv2D(4, (3,3), activation='relu', input_shape=(8, 8, 1))\nFlatten()\n"
              "Dense(1000, activation='softmax')")
    r = kernel.ok("%predict base trn as=trn_features\n%predict base val as=val_features")
    assert "(96, 1000)" in r.stdout and "(32, 1000)" in r.stdout
    kernel.ok("%let trn_labels = trn.labels\n%let val_labels = val.labels")
    labels = save(kernel, "trn_labels", tmp_path / "l.npy")
    assert labels.shape == (96, 2) and (labels.sum(1) == 1).all() and labels[:48, 0].all()
    kernel.ok("%%model lm\nDense(2, activation='softmax', input_shape=(1000,))")
    kernel.ok("%compile lm optimizer=RMSprop(lr=0.1) loss=categorical_crossentropy metrics=accuracy")
    r = kernel.ok("%fit lm trn_features trn_labels epochs=3 batch_size=16 validation=(val_features, val_labels)")
    last = r.updates[-1]["data"]["text/plain"] if r.updates else r.displays[-2]["data"]["text/plain"]
    assert "val_loss:" in last and "val_acc:" in last
    hist = r.texts()[-1]
    assert "val_acc" in hist and len([l for l in hist.splitlines() if l.strip()[:1].isdigit()]) == 3


def test_pop_freeze_add_unfreeze_take_effect_at_the_next_step(kernel, pets, tmp_path):
    # one batch of 16 images: epochs=1 is exactly one step
    kernel.ok(f"%batches one {pets}/valid size=8 color=grayscale preprocess=scale batch_size=32 shuffle=False")
    kernel.ok("%%model ft\nConv2D(3, (3,3), activation='relu', input_shape=(8, 8, 1))\nFlatten()\n"
              "Dense(6, activation='relu')\nDense(5, activation='softmax')")
    kernel.ok("%pop ft\n%freeze ft\n%add ft Dense(2, activation='softmax')")
    kernel.ok("%compile ft optimizer=SGD(lr=0.5) loss=categorical_crossentropy")

    def step(tag):
        kernel.ok(f"%save_weights ft {tmp_path}/{tag}0.h5")
        kernel.ok("%fit ft one epochs=1")
        kernel.ok(f"%save_weights ft {tmp_path}/{tag}1.h5")
        a, b = h5_arrays(tmp_path / f"{tag}0.h5"), h5_arrays(tmp_path / f"{tag}1.h5")
        return {k for k in a if not np.array_equal(a[k], b[k])}

    assert step("a") == {"dense_3/kernel:0", "dense_3/bias:0"}
    kernel.ok("%trainable ft from=dense_1")          # no recompiling
    assert step("b") == {"dense_1/kernel:0", "dense_1/bias:0", "dense_3/kernel:0", "dense_3/bias:0"}
    kernel.ok("%trainable ft from=0")
    assert len(step("c")) == 6
    kernel.ok("%freeze ft upto=-1")                    # everything before the last layer
    assert step("d") == {"dense_3/kernel:0", "dense_3/bias:0"}
    summary = kernel.ok("%summary ft").texts()[0]
    assert "Trainable" in summary and "dense_3 (Dense)" in summary


def test_finetune_then_lr(kernel, pets):
    kernel.ok(f"%batches ftb {pets}/train size=8 color=grayscale preprocess=scale")
    kernel.ok("%%model net\nConv2D(3, (3,3), activation='relu', input_shape=(8, 8, 1))\nFlatten()\n"
              "Dense(7, activation='softmax')")
    r = kernel.ok("%finetune net ftb")
    assert "Dense(2, activation='softmax')" in r.stdout and "cat, dog" in r.stdout
    assert "Adam(lr=0.001" in r.stdout
    r = kernel.ok("%lr net 0.01")
    assert "0.001 -> 0.01" in r.stdout
    r = kernel.ok("%fit net ftb epochs=2")
    hist = r.texts()[-1].splitlines()
    rows = [l.split() for l in hist if l.strip()[:1].isdigit()]
    assert [row[-1] for row in rows] == ["0.01", "0.01"]


# ---------------------------------------------------------------- weights round trips

@pytest.mark.parametrize("ext", ["h5", "weights.h5"])
def test_saved_model_loads_into_a_fresh_one_bit_for_bit(kernel, pets, tmp_path, ext):
    kernel.ok(f"%batches sv {pets}/train size=8 color=grayscale preprocess=scale")
    defn = ("Conv2D(4, (3,3), activation='relu', padding='same', input_shape=(8, 8, 1))\n"
            "BatchNormalization()\nMaxPooling2D((2,2))\nFlatten()\nDropout(0.25)\nDense(2, activation='softmax')")
    kernel.ok(f"%%model a\n{defn}")
    kernel.ok("%compile a optimizer=Adam(lr=0.01) loss=categorical_crossentropy metrics=accuracy")
    kernel.ok("%fit a sv epochs=2")
    kernel.ok(f"%save_weights a {tmp_path}/a.{ext}")
    kernel.ok(f"%%model b\n{defn}")
    kernel.ok("%let xi = random(20, 8, 8, 1)")
    p_fresh = kernel.ok("%predict b xi as=pb0").stdout
    kernel.ok(f"%load_weights b {tmp_path}/a.{ext}")
    kernel.ok("%predict a xi as=pa\n%predict b xi as=pb")
    pa, pb, pb0 = (save(kernel, n, tmp_path / f"{n}.npy") for n in ("pa", "pb", "pb0"))
    assert not np.array_equal(pa, pb0), "the fresh model differed before the load"
    assert np.array_equal(pa, pb)
    assert p_fresh


@pytest.mark.parametrize("fixture", json.loads((FIXTURES / "index.json").read_text())["fixtures"],
                         ids=lambda f: f["name"])
def test_real_keras_files_give_keras_outputs(kernel, tmp_path, fixture):
    lines = "\n".join(fixture["lines"])
    kernel.ok(f"%%model k\n{lines}")
    r = kernel.ok(f"%load_weights k {FIXTURES / fixture['weights']}")
    assert "Loaded" in r.stdout
    kernel.ok(f"%load kx {FIXTURES / fixture['x']}\n%predict k kx as=kp")
    got = save(kernel, "kp", tmp_path / "kp.npy")
    want = np.load(FIXTURES / fixture["y"])
    assert got.shape == want.shape
    assert np.abs(got - want).max() < 1e-5, np.abs(got - want).max()


# ---------------------------------------------------------------- progress and interrupts

@pytest.fixture(scope="module")
def ten_thousand(tmp_path_factory):
    root = tmp_path_factory.mktemp("tenk")
    rng = np.random.default_rng(0)
    for c in ("a", "b"):
        d = root / c
        d.mkdir()
        base = 60 if c == "a" else 180
        for i in range(5000):
            px = np.clip(base + rng.integers(-50, 50, (28, 28)), 0, 255).astype(np.uint8)
            Image.fromarray(px, "L").save(d / f"{i}.png")
    return root


def displays_by_id(cell):
    counts = {}
    for m in cell.msgs:
        if m["msg_type"] in ("display_data", "update_display_data"):
            did = m["content"].get("transient", {}).get("display_id")
            if did:
                counts[did] = counts.get(did, 0) + 1
    return counts


def test_fit_on_ten_thousand_images_sends_few_messages(kernel, ten_thousand):
    kernel.ok(f"%batches tk {ten_thousand} size=28 color=grayscale preprocess=scale batch_size=32")
    kernel.ok("%%model tm\nConv2D(8, (3,3), activation='relu', input_shape=(28, 28, 1))\nMaxPooling2D()\n"
              "Flatten()\nDense(2, activation='softmax')")
    kernel.ok("%compile tm optimizer=Adam() loss=categorical_crossentropy metrics=accuracy")
    r = kernel.ok("%fit tm tk epochs=2")
    per_epoch = displays_by_id(r)
    assert len(per_epoch) == 2, per_epoch           # one display per epoch
    assert all(n < 100 for n in per_epoch.values()), per_epoch
    assert len(r.msgs) < 200, len(r.msgs)
    finals = [u["data"]["text/plain"] for u in r.updates]
    assert "313/313 [==============================]" in finals[-1] and "acc:" in finals[-1]


def test_interrupted_fit_keeps_finished_epochs(fresh_kernel, ten_thousand):
    k = fresh_kernel
    k.ok(f"%batches tk {ten_thousand} size=28 color=grayscale preprocess=scale batch_size=16")
    k.ok("%%model tm\nConv2D(16, (3,3), activation='relu', input_shape=(28, 28, 1))\nConv2D(16, (3,3), activation='relu')\n"
         "Flatten()\nDense(2, activation='softmax')")
    k.ok("%compile tm optimizer=SGD(lr=0.01) loss=categorical_crossentropy metrics=accuracy")
    k.ok("%mkdir results")
    msg_id = k.send("%fit tm tk epochs=50 save=results/ft{epoch}.h5")
    first = pathlib.Path(k.cwd) / "results" / "ft1.h5"
    deadline = time.monotonic() + 240
    while not first.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert first.exists(), "the first epoch did not finish in time"
    time.sleep(1.0)
    k.interrupt()
    cell = k.collect(msg_id, timeout=120)
    assert cell.error and cell.error["ename"] == "KeyboardInterrupt", cell
    ev = cell.error["evalue"]
    assert "after step" in ev and "results/ft1.h5" in ev, ev
    epoch = int(ev.split("stopped in epoch ")[1].split()[0])
    assert epoch >= 2
    saved = sorted(p.name for p in (pathlib.Path(k.cwd) / "results").iterdir())
    assert saved == [f"ft{i}.h5" for i in range(1, epoch)], saved
    hist = k.ok("%history tm").texts()[0]
    assert len([l for l in hist.splitlines() if l.strip()[:1].isdigit()]) == epoch - 1
    # the weights are a complete step's: the model still evaluates, the kernel lives
    r = k.ok("%evaluate tm tk")
    assert "acc:" in r.result


# ---------------------------------------------------------------- VGG16

def test_vgg16_has_the_lessons_parameters_and_loads_keras_files(fresh_kernel, tmp_path):
    k = fresh_kernel
    r = k.ok("%model vgg vgg16")
    assert "138,357,544 params" in r.stdout
    s = k.ok("%summary vgg").texts()[0]
    for name in ("block1_conv1 (Conv2D)", "block5_pool (MaxPooling2D)", "fc1 (Dense)", "fc2 (Dense)",
                 "predictions (Dense)", "(None, 7, 7, 512)", "(None, 25088)", "(None, 1000)"):
        assert name in s, name
    assert "Total params: 138,357,544" in s
    # the file users have: Keras-1 names (block1_conv1_W_1:0), kernels (kh, kw, in, out)
    rng = np.random.default_rng(3)
    path = tmp_path / "vgg16_weights_tf_dim_ordering_tf_kernels.h5"
    shapes = []
    cin = 3
    for b, (f, n) in enumerate([(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)], 1):
        for c in range(1, n + 1):
            shapes.append((f"block{b}_conv{c}", (3, 3, cin, f), (f,)))
            cin = f
    shapes += [("fc1", (25088, 4096), (4096,)), ("fc2", (4096, 4096), (4096,)),
               ("predictions", (4096, 1000), (1000,))]
    sample = {}
    with h5py.File(path, "w") as f:
        names = ["input_1"] + [s[0] for s in shapes[:2]] + ["block1_pool"] + [s[0] for s in shapes[2:]]
        f.attrs["layer_names"] = np.array([n.encode() for n in names])
        for lname in names:
            g = f.create_group(lname)
            spec = [s for s in shapes if s[0] == lname]
            if not spec:
                g.attrs["weight_names"] = np.array([])
                continue
            _, ks, bs = spec[0]
            wn = [f"{lname}_W_1:0".encode(), f"{lname}_b_1:0".encode()]
            g.attrs["weight_names"] = np.array(wn)
            kern = rng.standard_normal(ks, dtype=np.float32) * 0.01
            g.create_dataset(wn[0].decode(), data=kern)
            g.create_dataset(wn[1].decode(), data=np.full(bs, 0.5, np.float32))
            sample[lname] = (kern.ravel()[:5].copy(), kern.ravel()[-5:].copy())
    r = k.ok(f"%model vgg2 vgg16 weights={path}")
    assert "Weights loaded" in r.stdout
    k.ok(f"%save_weights vgg2 {tmp_path}/back.h5")
    back = h5_arrays(tmp_path / "back.h5")
    for lname, (head, tail) in sample.items():
        kern = back[f"{lname}/kernel:0"].ravel()
        assert np.array_equal(kern[:5], head) and np.array_equal(kern[-5:], tail), lname
        assert (back[f"{lname}/bias:0"] == 0.5).all()


@pytest.mark.parametrize("ext", ["h5", "weights.h5"])
def test_the_same_weights_save_to_the_same_bytes(kernel, tmp_path, ext):
    """HDF5 stamps objects with the time unless told not to: a notebook that re-makes a
    weight file must re-make it byte for byte."""
    kernel.ok("%%model same\nConv2D(2, (3,3), input_shape=(6, 6, 1))\nBatchNormalization()\nFlatten()\nDense(2)")
    kernel.ok(f"%save_weights same {tmp_path}/one.{ext}")
    time.sleep(1.1)
    kernel.ok(f"%save_weights same {tmp_path}/two.{ext}")
    assert (tmp_path / f"one.{ext}").read_bytes() == (tmp_path / f"two.{ext}").read_bytes()


def test_batches_and_predictions_survive_a_cd(kernel, pets, tmp_path):
    """%batches DIR with a relative DIR reads the same folder after %cd (Keras would not)."""
    rel = pathlib.Path(kernel.cwd) / "pets_here"
    if not rel.exists():
        rel.symlink_to(pets)
    kernel.ok(f"%cd {kernel.cwd}\n%batches cdb pets_here/valid size=8 color=grayscale preprocess=scale shuffle=False")
    assert "from pets_here/valid" in kernel.ok("%who batches").stdout
    kernel.ok("%%model cdm\nFlatten(input_shape=(8, 8, 1))\nDense(2, activation='softmax')")
    kernel.ok(f"%mkdir -p {tmp_path}/elsewhere\n%cd {tmp_path}/elsewhere")
    r = kernel.ok("%predict cdm cdb as=cdp")
    assert "32 images" in r.stdout
    kernel.ok(f"%cd {kernel.cwd}")


def test_a_file_that_crashes_libhdf5_is_an_error_not_the_end_of_the_kernel(kernel, tmp_path):
    """Debian's libhdf5 1.10 dies (SEGV in H5HG_read) on this damaged Keras file; it is read
    in a child process, so the cell fails and the workspace lives."""
    bad = REPO / "tests" / "io" / "fixtures" / "crashes-libhdf5.h5"
    kernel.ok("%%model safe\nDense(1, input_shape=(2,))")
    kernel.ok(f"%save_weights safe {tmp_path}/before.h5")
    kernel.fails(f"%load_weights safe {bad}", "ValueError", "crashed the HDF5 library")
    kernel.ok(f"%save_weights safe {tmp_path}/after.h5")
    assert (tmp_path / "before.h5").read_bytes() == (tmp_path / "after.h5").read_bytes()
    assert "safe" in kernel.ok("%who").stdout
