"""Frozen-prefix reuse through the real kernel: fine-tuning as the lesson does it (one
epoch per %fit cell, with validation), once with reuse and once with reuse=False, gives
weight files with the same bytes after two epochs; the cells say what was kept and
reused; loading weights and unfreezing start afresh; %evaluate gives the same numbers
either way."""
import pathlib
import random

import pytest

np = pytest.importorskip("numpy", reason="numpy is in Debian's python3 stack")
h5py = pytest.importorskip("h5py", reason="h5py is in Debian's python3-h5py")
Image = pytest.importorskip("PIL.Image", reason="needs Pillow")

BASE = ("Conv2D(8, (3,3), activation='relu', padding='same', input_shape=(16, 16, 1), name='c1')\n"
        "BatchNormalization(name='bn1')\nMaxPooling2D((2,2), name='p1')\n"
        "Conv2D(16, (3,3), activation='relu', padding='same', name='c2')\n"
        "MaxPooling2D((2,2), name='p2')\nFlatten(name='flat')\n"
        "Dense(24, activation='relu', name='fc1')\nDropout(0.5, name='drop')\n"
        "Dense(3, activation='softmax', name='top')")


def arrays(path):
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                out[name] = np.array(obj)
        f.visititems(visit)
    return out


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """train/valid folders of 16x16 PNGs in two classes told apart by a pattern"""
    root = tmp_path_factory.mktemp("reuse")
    rng = random.Random(3)
    for split, n in (("train", 90), ("valid", 30)):
        for c, cls in enumerate(("cat", "dog")):
            d = root / split / cls
            d.mkdir(parents=True)
            for i in range(n):
                px = bytes(min(255, max(0, (40 + 150 * c if (x // 4 + y // 4) % 2 else 120)
                                       + rng.randint(-50, 50)))
                           for y in range(16) for x in range(16))
                Image.frombytes("L", (16, 16), px).save(d / f"{cls}.{i}.png")
    return root


def finetuned(kernel, name, photos, base):
    kernel.ok(f"%seed 11\n%batches {name}_trn {photos}/train size=16 color=grayscale "
              f"preprocess=scale batch_size=16\n%batches {name}_val {photos}/valid size=16 "
              f"color=grayscale preprocess=scale batch_size=16 shuffle=False")
    kernel.ok(f"%%model {name}\n{BASE}")
    kernel.ok(f"%load_weights {name} {base}")
    kernel.ok(f"%finetune {name} {name}_trn")


def fit(kernel, name, *extra):
    r = kernel.ok(f"%fit {name} {name}_trn {name}_val epochs=1 " + " ".join(extra))
    return r.stdout


def test_fine_tuning_with_and_without_reuse_gives_the_same_bytes(kernel, photos, tmp_path):
    kernel.ok(f"%%model src\n{BASE}")
    kernel.ok(f"%save_weights src {tmp_path}/base.h5")
    finetuned(kernel, "a", photos, tmp_path / "base.h5")
    finetuned(kernel, "b", photos, tmp_path / "base.h5")

    first = fit(kernel, "a")
    assert "Kept the outputs of the frozen layers up to fc1 (the first 7) for 180 examples" in first
    assert "in memory" in first and "reuse=False turns this off" in first
    second = fit(kernel, "a")
    assert "Reused the kept outputs of the frozen layers up to fc1 (the first 7) for 180 examples" in second
    for _ in range(2):
        assert "frozen layers" not in fit(kernel, "b", "reuse=False")

    kernel.ok(f"%save_weights a {tmp_path}/a.h5\n%save_weights b {tmp_path}/b.h5")
    a, b = arrays(tmp_path / "a.h5"), arrays(tmp_path / "b.h5")
    assert a.keys() == b.keys() and len(a) >= 10
    different = [k for k in a if a[k].tobytes() != b[k].tobytes()]
    assert different == []
    moved = [k for k in a if "top" in k or "dense" in k]
    assert moved, a.keys()

    # the history tables (loss, accuracy, validation) agree to the last digit
    ha = kernel.ok("%history a").texts()[0]
    hb = kernel.ok("%history b").texts()[0]
    assert ha.replace("a", "b") == hb.replace("a", "b")

    # %evaluate: the validation set's outputs were kept by the fits' validation passes
    ea = kernel.ok("%evaluate a a_val").result
    eb = kernel.ok("%evaluate b b_val reuse=False").result
    assert ea == eb


def test_loading_weights_or_unfreezing_starts_afresh(kernel, photos, tmp_path):
    kernel.ok(f"%%model src2\n{BASE}")
    kernel.ok(f"%save_weights src2 {tmp_path}/base.h5")
    finetuned(kernel, "c", photos, tmp_path / "base.h5")
    assert "Kept" in fit(kernel, "c")
    assert "Reused" in fit(kernel, "c")
    # other weights in the frozen layers (a model of the same shape, initialised
    # otherwise): the kept outputs no longer hold
    kernel.ok("%seed 99")
    kernel.ok(f"%%model other\n{BASE}\n")
    kernel.ok("%finetune other c_trn")
    kernel.ok(f"%save_weights other {tmp_path}/other.h5")
    kernel.ok(f"%load_weights c {tmp_path}/other.h5")
    out = fit(kernel, "c")
    assert "Kept the outputs of the frozen layers up to fc1" in out, out
    assert "Reused" in fit(kernel, "c")
    # unfreezing fc1 moves the cut below it
    kernel.ok("%trainable c from=fc1")
    out = fit(kernel, "c")
    assert "Kept the outputs of the frozen layers up to flat (the first 6)" in out, out
    assert "Reused the kept outputs of the frozen layers up to flat" in fit(kernel, "c")
    # nothing frozen: nothing kept, nothing said
    kernel.ok("%trainable c from=0")
    assert "frozen layers" not in fit(kernel, "c")


def test_reuse_takes_a_boolean(kernel, photos, tmp_path):
    kernel.ok(f"%%model src3\n{BASE}")
    kernel.ok(f"%save_weights src3 {tmp_path}/base.h5")
    finetuned(kernel, "d", photos, tmp_path / "base.h5")
    kernel.fails("%fit d d_trn reuse=maybe", "UsageError", "reuse")
    kernel.fails("%evaluate d d_val reuse=2", "UsageError", "reuse")


def test_reuse_with_files_left_out(kernel, tmp_path):
    """A damaged PNG and JPEG are left out when first decoded (defect 6); the kept outputs
    then cover every file that is left, and later epochs reuse them, the same bytes as
    computing everything."""
    from test_left_out import make_folder
    make_folder(tmp_path / "imgs", damaged=True)
    net = ("Conv2D(4, (3,3), activation='relu', padding='same', input_shape=(8, 8, 3), name='c')\n"
           "Flatten(name='f')\nDense(6, activation='relu', name='h')\n"
           "Dense(2, activation='softmax', name='out')")
    for name, extra in (("la", ""), ("lb", "reuse=False")):
        kernel.ok(f"%seed 4\n%batches {name}_b {tmp_path}/imgs size=8 preprocess=scale batch_size=4")
        kernel.ok(f"%%model {name}\n{net}")
        kernel.ok(f"%freeze {name} upto=-1\n%compile {name} optimizer=SGD(lr=0.3) "
                  "loss=categorical_crossentropy metrics=accuracy")
        outs = [(lambda r: r.stdout + r.stderr)(kernel.ok(f"%fit {name} {name}_b epochs=1 {extra}"))
                for _ in range(3)]
        assert "left out" in outs[0]
        if not extra:
            assert "Kept the outputs of the frozen layers up to h (the first 3) for 12 examples" in outs[0]
            assert "Reused" in outs[1] and "Reused" in outs[2]
        kernel.ok(f"%save_weights {name} {tmp_path}/{name}.h5")
    a, b = arrays(tmp_path / "la.h5"), arrays(tmp_path / "lb.h5")
    assert [k for k in a if a[k].tobytes() != b[k].tobytes()] == []
