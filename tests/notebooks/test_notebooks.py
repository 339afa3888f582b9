"""The lesson notebooks, executed headless by nbclient (Debian's) on the deepnb kernel in
a copy of the repository's layout (notebooks/ beside work-data/), and checked on their
outputs: the base's accuracy and its file made byte for byte again, the redux notebook's
validation accuracy, submission, pictures and a second run giving the same record, the
SGD notebook's line, the linear notebook's steps, and the VGG16 notebook on a
VGG16-layout file made by h5py.

The kernel is $DEEPNB_BUILD/kernel/deepnb (default <repo>/build), found through a
temporary kernelspec on JUPYTER_PATH."""
import copy
import csv
import json
import os
import pathlib
import re
import shutil

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
np = pytest.importorskip("numpy")
pytest.importorskip("h5py")

import vgg16_file  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("DEEPNB_BUILD") or REPO / "build")
KERNEL = BUILD / "kernel" / "deepnb"


@pytest.fixture(scope="module")
def layout(tmp_path_factory):
    """root/notebooks (copies of the notebooks) and a kernelspec; no root/work-data, as
    in a fresh clone: the notebooks make it."""
    assert KERNEL.exists(), f"{KERNEL} is not built (set DEEPNB_BUILD)"
    root = tmp_path_factory.mktemp("lesson")
    shutil.copytree(REPO / "notebooks", root / "notebooks",
                    ignore=shutil.ignore_patterns("*.nbconvert.*", "*.py"))
    spec = root / "jupyter" / "kernels" / "deepnb"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(KERNEL), "kernel", "-f", "{connection_file}"],
        "display_name": "deepnb", "language": "deepnb", "interrupt_mode": "signal"}))
    saved = {k: os.environ.get(k) for k in ("JUPYTER_PATH", "JUPYTER_RUNTIME_DIR")}
    os.environ["JUPYTER_PATH"] = str(root / "jupyter")
    os.environ["JUPYTER_RUNTIME_DIR"] = str(root / "jupyter" / "runtime")
    yield root
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def execute(layout, name):
    path = layout / "notebooks" / f"{name}.ipynb"
    nb = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(nb, kernel_name="deepnb", timeout=1800,
                            resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb


def outputs(nb, source_start):
    """The outputs of the code cell whose source starts with source_start."""
    cells = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(source_start)]
    assert cells, f"no cell starts with {source_start!r}"
    return cells[0].outputs


def texts(outs):
    parts = []
    for o in outs:
        if o.output_type == "stream":
            parts.append(o.text)
        elif "data" in o:
            parts.append(o.data.get("text/plain", ""))
    return "\n".join(parts)


def val_accs(outs):
    return [float(v) for v in re.findall(r"val_acc: ([0-9.]+)", texts(outs))]


@pytest.fixture(scope="module")
def base(layout):
    nb = execute(layout, "lesson2-pretrain")
    f = layout / "work-data" / "models" / "base.h5"
    assert f.exists()
    return nb, f.read_bytes()


def test_pretrained_base(layout, base):
    nb, first = base
    acc = float(re.search(r"acc: ([0-9.]+)", texts(outputs(nb, "%evaluate base"))).group(1))
    assert acc >= 0.85, f"the base's accuracy on its own validation set: {acc}"
    assert any("image/png" in o.get("data", {}) for o in outputs(nb, "%plot_history"))
    # made again from the top: the same file, byte for byte
    execute(layout, "lesson2-pretrain")
    assert (layout / "work-data" / "models" / "base.h5").read_bytes() == first


TIMING = re.compile(r"(\d+:)*\d+s \d+(us|ms|s)/step")


def record(nb):
    """Every code cell's outputs with the timings masked; a progress display that was
    cleared (shown only when the work took long enough) is left out."""
    out = []
    for c in nb.cells:
        if c.cell_type != "code":
            continue
        cell = []
        for o in c.outputs:
            o = copy.deepcopy(dict(o))
            if o["output_type"] == "display_data" and not o["data"].get("text/plain"):
                continue
            o.pop("execution_count", None)
            if "data" in o:
                o["data"] = {k: TIMING.sub("T", v) if isinstance(v, str) else v
                             for k, v in dict(o["data"]).items()}
            if "text" in o:
                o["text"] = TIMING.sub("T", o["text"])
            cell.append(json.dumps(o, sort_keys=True, default=str))
        out.append(cell)
    return out


def test_redux(layout, base):
    nb = execute(layout, "lesson2-redux")
    acc = float(re.search(r"acc: ([0-9.]+)", texts(outputs(nb, "%evaluate vgg"))).group(1))
    assert acc >= 0.95, f"validation accuracy {acc}"
    # the submission: header, one row per test image, in id order, clipped
    sub = layout / "work-data" / "lesson2" / "results" / "submission.csv"
    rows = list(csv.reader(sub.open()))
    assert rows[0] == ["id", "label"] and len(rows) == 2001
    ids = [int(r[0]) for r in rows[1:]]
    assert ids == sorted(ids) == list(range(1, 2001))
    assert all(0.05 <= float(r[1]) <= 0.95 and re.fullmatch(r"\d\.\d{5}", r[1]) for r in rows[1:])
    for fit in ("ft1.h5", "ft2.h5", "ft3.h5", "ft5.h5"):
        assert (sub.parent / fit).exists(), fit
    pictures = [c for c in nb.cells if c.cell_type == "code" and
                c.source.startswith(("%plots", "%confusion_matrix", "%top_losses", "%plot_history"))]
    assert len(pictures) == 11
    for c in pictures:
        assert any("image/png" in o.get("data", {}) for o in c.outputs), c.source
    assert "<a href=" in "".join(o.data.get("text/html", "") for o in outputs(nb, "%FileLink") if "data" in o)
    # Restart and run all: the same record, timings aside
    again = execute(layout, "lesson2-redux")
    first, second = record(nb), record(again)
    assert len(first) == len(second)
    for i, (a, b) in enumerate(zip(first, second)):
        assert a == b, f"cell {i} differs between two runs"


def test_sgd_line(layout):
    nb = execute(layout, "lesson2-sgd")
    evals = [float(re.search(r"loss: ([0-9.e-]+)", texts(c.outputs)).group(1))
             for c in nb.cells if c.cell_type == "code" and "%evaluate lm" in c.source]
    assert len(evals) == 3 and evals[0] > 1 and evals[2] < evals[1] < evals[0] / 10
    weights = texts(outputs(nb, "%weights lm"))
    numbers = [float(v) for v in re.findall(r"-?\d+\.\d+", weights)]
    assert len(numbers) == 3
    np.testing.assert_allclose(numbers, [2, 3, 1], atol=0.15)
    assert "dense_2 (Dense) output (None, 2)" in texts(outputs(nb, "%activations net xs n=4"))


def test_linear_steps(layout, base):
    nb = execute(layout, "lesson2-linear")
    on_preds = val_accs(outputs(nb, "%compile lm optimizer"))
    on_fc1 = val_accs(outputs(nb, "%compile lm256"))
    replaced = val_accs(outputs(nb, "%fit base batches val_batches epochs=2"))
    fc1 = val_accs(outputs(nb, "%trainable base from=fc1"))
    block2 = val_accs(outputs(nb, "%trainable base from=block2_conv1"))
    assert len(on_preds) == 3 and len(on_fc1) == 3 and len(replaced) == 2
    assert on_fc1[-1] > 0.9 and replaced[-1] > 0.9
    assert fc1[-1] >= 0.95 and block2[-1] >= 0.95
    assert (layout / "work-data" / "lesson2-linear" / "results" / "trn_features.npy").exists()
    assert np.load(layout / "work-data" / "lesson2-linear" / "results" / "trn_features.npy").shape == (10000, 256)


def test_vgg16_with_a_keras_layout_file(layout):
    d = layout / "work-data" / "vgg16"
    d.mkdir(parents=True)
    vgg16_file.write(d / "vgg16_weights_tf_dim_ordering_tf_kernels.h5")
    try:
        nb = execute(layout, "lesson2-vgg16")
    finally:
        (d / "vgg16_weights_tf_dim_ordering_tf_kernels.h5").unlink()
    made = texts(outputs(nb, "%mkdir -p ../work-data"))
    assert "138,357,544 params" in made and "Weights loaded" in made
    assert "(2, 1000)" in texts(outputs(nb, "%predict vgg photos as=imagenet"))
    assert "Dense(2, activation='softmax')" in texts(outputs(nb, "%finetune vgg photos"))
    assert any("image/png" in o.get("data", {}) for o in outputs(nb, "%plots photos"))
