"""The model, training and weight commands through the real kernel, checked against numpy
(Debian's /usr/bin/python3 -m pytest tests/lang/test_model_commands.py).

Written from what a user is promised (the commands' help, shared/design/LANGUAGE.md,
README.md, magics/README.md), not from the implementation:

- numbers: %predict and %activations against a numpy forward pass of the weights the
  model saves (Dense, Conv2D 'valid'/'same' with strides, MaxPooling2D, Flatten,
  BatchNormalization, Dropout, every activation); %evaluate's loss and accuracy against
  numpy's mse / cross-entropies; one SGD, Adam and RMSprop step against the update rule;
  %summary's parameter counts against the formula (VGG16's included); %freeze,
  %trainable, %finetune and %lr by which weights a fit moves and by how much;
- the files: %save_weights read back with h5py, %load_weights round trips (Keras 2 and
  Keras 3 layouts, by_name=), save={epoch} files of %fit;
- every refusal (one parametrised case each) leaves %who, every model's weights and the
  files on disk exactly as they were, and the kernel answering. A cell that kills the
  kernel fails its own test; the next test starts a new kernel.
"""
import hashlib
import math
import pathlib
import re
import time
from queue import Empty

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")
Image = pytest.importorskip("PIL.Image")


# ---------------------------------------------------------------- the kernel, kept alive

def _watch(kernel):
    """Makes a dead kernel fail the cell at once (instead of waiting for the timeout)."""
    if getattr(kernel.kc, "_dn_watched", False):
        return
    orig = kernel.kc.get_iopub_msg

    def get_iopub_msg(timeout=None):
        end = time.monotonic() + (timeout if timeout is not None else 3600)
        while True:
            try:
                return orig(timeout=max(0.01, min(0.5, end - time.monotonic())))
            except Empty:
                if not kernel.km.is_alive():
                    proc = getattr(kernel.km.provisioner, "process", None)
                    code = getattr(proc, "returncode", None)
                    raise AssertionError(f"the kernel died running the cell (exit status {code})")
                if time.monotonic() >= end:
                    raise

    kernel.kc.get_iopub_msg = get_iopub_msg
    kernel.kc._dn_watched = True


@pytest.fixture
def k(kernel):
    """The module's kernel; started again when an earlier cell killed it."""
    _watch(kernel)
    if not kernel.km.is_alive():
        for attempt in range(5):            # the binary may be being relinked at this moment
            try:
                kernel.km.restart_kernel(now=True)
                break
            except OSError:
                if attempt == 4:
                    raise
                time.sleep(2)
        kernel.kc.wait_for_ready(timeout=60)
        kernel.generation = getattr(kernel, "generation", 0) + 1
    return kernel


# ---------------------------------------------------------------- helpers

_count = [0]


def scratch(k):
    d = pathlib.Path(k.cwd) / "_scratch"
    d.mkdir(exist_ok=True)
    _count[0] += 1
    return d, _count[0]


def read_h5(path):
    """A Keras 2 weight file as {'layer/weight': array}, in the file's order."""
    out = {}
    with h5py.File(path, "r") as f:
        for layer in f.attrs["layer_names"]:
            layer = layer.decode() if isinstance(layer, bytes) else layer
            g = f[layer]
            for wn in g.attrs["weight_names"]:
                wn = wn.decode() if isinstance(wn, bytes) else wn
                out[wn.split(":")[0]] = g[wn][()]
    return out


def weights(k, model):
    """The model's weights, as %save_weights writes them (read with h5py)."""
    d, n = scratch(k)
    path = d / f"{model}_{n}.h5"
    k.ok(f"%save_weights {model} {path}")
    return read_h5(path)


def same_weights(a, b):
    return a.keys() == b.keys() and all(np.array_equal(a[n], b[n]) for n in a)


def arr(k, name):
    """A workspace array read back with numpy."""
    d, n = scratch(k)
    path = d / f"{name}_{n}.npy"
    k.ok(f"%save {name} {path}")
    return np.load(path)


def who(k):
    return k.ok("%who").stdout


def tree(folder):
    """Every file under folder with its sha256 (what a failed command must not touch)."""
    folder = pathlib.Path(folder)
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and "_scratch" not in p.parts}


def np_repr(text):
    """numpy's repr of an array (as the kernel prints it) back to an array."""
    return eval(text, {"array": np.array, "float32": np.float32, "int64": np.int64,  # noqa: S307
                       "bool_": np.bool_})


def blocks(text):
    """'header\\narray(...)' blocks of %weights / %activations as [(header, array)]."""
    if not isinstance(text, str):                       # a cell: every display it made
        text = "\n\n".join(text.texts())
    out = []
    for part in text.strip().split("\n\n"):
        if not part.strip():
            continue
        head, _, body = part.strip().partition("\n")
        out.append((head, np_repr(body)))
    return out


def table(html):
    """The header and value cells of a small HTML table (%evaluate's result)."""
    th = re.findall(r"<th>(.*?)</th>", html)
    td = re.findall(r"<td>(.*?)</td>", html)
    return dict(zip(th, td))


def evaluate(k, args):
    cell = k.ok(f"%evaluate {args}")
    res = cell.results[-1]["data"]
    got = table(res["text/html"])
    return {key: float(v) for key, v in got.items()}, res["text/plain"]


def history_rows(text):
    """%history's text table as a list of dicts."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    i = next(n for n, ln in enumerate(lines) if ln.split()[:2] == ["epoch", "fit"])
    cols = lines[i].split()
    return [dict(zip(cols, ln.split())) for ln in lines[i + 1:]]


def summary_rows(text):
    """%summary's text as [(name, type, output shape, params, trainable or None)]."""
    rows = []
    for ln in text.splitlines():
        m = re.match(r"^(\S+) \((\w+)\)\s+(\(.*?\))\s+([\d,]+)(?:\s+([YN]))?\s*$", ln)
        if m:
            rows.append((m[1], m[2], m[3], int(m[4].replace(",", "")), m[5]))
    totals = {}
    for key in ("Total", "Trainable", "Non-trainable"):
        m = re.search(rf"^{key} params: ([\d,]+)", text, re.M)
        totals[key] = int(m[1].replace(",", "")) if m else None
    return rows, totals


def summary(k, model):
    cell = k.ok(f"%summary {model}")
    texts = cell.texts()
    assert texts, cell
    return summary_rows(texts[-1])


# ---------------------------------------------------------------- numpy references

def act(name, z):
    if name in (None, "linear"):
        return z
    if name == "relu":
        return np.maximum(z, 0)
    if name == "sigmoid":
        return 1 / (1 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "softmax":
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    raise ValueError(name)


def dense(x, w, layer, activation=None):
    return act(activation, x.astype(np.float64) @ w[f"{layer}/kernel"] + w.get(f"{layer}/bias", 0))


def conv2d(x, w, layer, strides=(1, 1), padding="valid", activation=None):
    kern, bias = w[f"{layer}/kernel"].astype(np.float64), w[f"{layer}/bias"]
    n, h, wd, _ = x.shape
    kh, kw, _, co = kern.shape
    sh, sw = strides
    if padding == "same":
        oh, ow = -(-h // sh), -(-wd // sw)
        ph, pw = max((oh - 1) * sh + kh - h, 0), max((ow - 1) * sw + kw - wd, 0)
        x = np.pad(x, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))
    else:
        oh, ow = (h - kh) // sh + 1, (wd - kw) // sw + 1
    out = np.zeros((n, oh, ow, co))
    for i in range(oh):
        for j in range(ow):
            patch = x[:, i * sh:i * sh + kh, j * sw:j * sw + kw, :]
            out[:, i, j, :] = np.tensordot(patch, kern, axes=([1, 2, 3], [0, 1, 2]))
    return act(activation, out + bias)


def maxpool(x, pool=(2, 2), strides=None):
    ph, pw = pool
    sh, sw = strides or pool
    n, h, wd, c = x.shape
    oh, ow = (h - ph) // sh + 1, (wd - pw) // sw + 1
    out = np.zeros((n, oh, ow, c))
    for i in range(oh):
        for j in range(ow):
            out[:, i, j, :] = x[:, i * sh:i * sh + ph, j * sw:j * sw + pw, :].max(axis=(1, 2))
    return out


def batchnorm(x, w, layer, eps=1e-3):
    g, b = w[f"{layer}/gamma"], w[f"{layer}/beta"]
    m, v = w[f"{layer}/moving_mean"], w[f"{layer}/moving_variance"]
    return g * (x - m) / np.sqrt(v + eps) + b


def mse(pred, y):
    y = y.reshape(pred.shape)
    return float(np.mean((pred.astype(np.float64) - y) ** 2))


def cce(p, y):
    p = np.clip(p.astype(np.float64), 1e-7, 1 - 1e-7)
    return float(np.mean(-(y * np.log(p)).sum(axis=1)))


def bce(p, y):
    p = np.clip(p.astype(np.float64), 1e-7, 1 - 1e-7).reshape(-1)
    y = y.reshape(-1)
    return float(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))))


def close(got, want, rel=2e-4, abs_=2e-5):
    return abs(got - want) <= abs_ + rel * abs(want)


# ---------------------------------------------------------------- the standard workspace

def make_pngs(folder, classes=("ant", "bee"), n=5, size=6, mode="L", seed=0):
    rng = np.random.default_rng(seed)
    for c in classes:
        (folder / c).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            shape = (size, size) if mode == "L" else (size, size, 3)
            Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(folder / c / f"{i}.png")
    return folder


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("modeldata")
    make_pngs(root / "imgs")
    make_pngs(root / "rgb", classes=("a", "b"), n=2, size=8, mode="RGB", seed=1)
    files = root / "files"
    files.mkdir()
    (files / "text.h5").write_text("not a weight file\n")
    with h5py.File(files / "other.h5", "w") as f:
        f["data"] = np.arange(5)
    return root


WORLD = {
    "cells": [
        "%seed 7\n%let x = random(30, 2)\n%let y = x @ [2., 3.] + 1.\n%let x3 = random(30, 3)\n"
        "%let y2 = zeros((30, 2))\n%let y3 = zeros((30, 3))\n%let yoh = one_hot(argmax(x), 2)\n"
        "%let y29 = zeros((29,))\n%let xi = random(3, 6, 6, 1)",
        "%%model lm\nDense(1, input_shape=(2,))",
        "%%model raw\nDense(1, input_shape=(2,))",
        "%%model clf\nDense(4, activation='relu', input_shape=(2,))\nDense(2, activation='softmax', name='out')",
        "%%model cnn\nConv2D(2, (3, 3), activation='relu', input_shape=(6, 6, 1))\nMaxPooling2D((2, 2))\n"
        "Flatten()\nDense(2, activation='softmax')",
        "%%model empty\nDense(1, input_shape=(2,))",
        "%pop empty\n%compile lm optimizer=SGD(lr=0.1) loss=mse\n"
        "%compile clf optimizer=adam loss=categorical_crossentropy metrics=accuracy\n"
        "%compile cnn optimizer=sgd loss=categorical_crossentropy metrics=accuracy\n"
        "%batches b {root}/imgs size=6 color=grayscale preprocess=scale shuffle=False batch_size=4\n"
        "%batches bs {root}/imgs size=6 color=grayscale preprocess=scale batch_size=4\n"
        "%batches bn {root}/imgs size=6 color=grayscale preprocess=scale shuffle=False class_mode=None\n"
        "%batches rgb {root}/rgb size=8 shuffle=False\n"
        "%save_weights lm {root}/files/lm.h5\n%save_weights clf {root}/files/clf.h5\n"
        "%save_weights cnn {root}/files/cnn.h5",
    ],
    "models": ("lm", "raw", "clf", "cnn"),
}


WORLD_NAMES = ("x", "y", "x3", "y2", "y3", "yoh", "y29", "xi", "lm", "raw", "clf", "cnn", "empty",
               "b", "bs", "bn", "rgb")


@pytest.fixture
def world(k, data):
    """lm (compiled mse), raw (not compiled), clf (2 softmax outputs), cnn (6x6x1 images),
    empty (no layers), arrays x y x3 y2 y3 yoh y29 xi, batches b (unshuffled) bs (shuffled)
    bn (no labels) rgb (8x8 rgb), weight files in data/files. Built once per kernel; built
    again when a name went missing or changed."""
    state = getattr(k, "_world", None)
    if state is not None and state[0] == getattr(k, "generation", 0):
        if all(line in who(k).splitlines() for line in state[1]):
            return data
    present = [n for n in WORLD_NAMES if re.search(rf"^{n} ", who(k), re.M)]
    if present:
        k.ok("%del " + " ".join(present))
    for cell in WORLD["cells"]:
        k.ok(cell.replace("{root}", str(data)))
    lines = [ln for ln in who(k).splitlines() if ln.split(" ")[0] in WORLD_NAMES]
    assert len(lines) == len(WORLD_NAMES), lines
    k._world = (getattr(k, "generation", 0), lines)
    return data


def run_failing(k, code, timeout=120):
    """Runs a cell expected to fail, with stop_on_error=False: the kernel, as ipykernel,
    aborts requests that reach it while it still clears its queue after a failed cell
    that had stop_on_error, and the next request here comes at once."""
    return k.collect(k.kc.execute(code, store_history=True, stop_on_error=False), timeout)


def refused(k, code, ename, words=(), models=(), folders=()):
    """code fails with ename (or one of a tuple) and a message holding every word (a tuple
    of words: any one of them); then %who, the models' weights and the folders' files are
    as before, and the kernel answers."""
    before_who = who(k)
    before_w = {m: weights(k, m) for m in models}
    before_files = {str(f): tree(f) for f in folders}
    cell = run_failing(k, code)
    assert not cell.ok and cell.error, (code, cell)
    enames = ename if isinstance(ename, tuple) else (ename,)
    assert cell.error["ename"] in enames, (code, cell.error["ename"], cell.error["evalue"])
    msg = cell.error["evalue"]
    for w in words:
        alts = w if isinstance(w, tuple) else (w,)
        assert any(a in msg for a in alts), (code, w, msg)
    assert who(k) == before_who, (code, "changed the workspace")
    for m in models:
        assert same_weights(weights(k, m), before_w[m]), (code, f"changed the weights of {m}")
    for f in folders:
        assert tree(f) == before_files[str(f)], (code, f"changed files under {f}")
    assert k.alive()
    return cell


# ---------------------------------------------------------------- refusals, one case each

M = ("lm", "raw", "clf", "cnn")     # the models whose weights every refusal must keep
R = [
    # %%model
    ("%%model\nDense(1, input_shape=(2,))", "UsageError", ["argument"]),
    ("%%model a b\nDense(1, input_shape=(2,))", "UsageError", ["b"]),
    ("%%model 1a\nDense(1, input_shape=(2,))", "UsageError", ["1a"]),
    ("%%model e", "ValueError", ["no layers", "Dense("]),
    ("%%model e\nDens(1, input_shape=(2,))", ("ValueError", "NameError"), ["Dens", "Did you mean", "Dense"]),
    ("%%model e\nDense(1, input_shape=(2,), activaton='relu')", ("ValueError", "TypeError"),
     ["activaton", "Did you mean", "'activation'"]),
    ("%%model e\nDense(1, input_shape=(2,), activation='rleu')", "ValueError", ["rleu", "relu"]),
    ("%%model e\nDense(2, input_shape=(2,))\nActivation('foo')", "ValueError", ["foo", "relu"]),
    ("%%model e\nDense(1)", "ValueError", ["input_shape"]),
    # (3) is the number 3: this once dereferenced NULL and killed the kernel (the cell fuzzer found it)
    ("%%model e\nDense(1, input_shape=(3))", "ValueError", ["input_shape=3 is a number", "(3,)"]),
    ("%%model e\nInput((5))\nDense(2)", "ValueError", ["shape=5 is a number", "(5,)"]),
    ("%%model e\nConv2D(2, (3, 3), input_shape=(5,))", "ValueError", ["Conv2D", ("(None, 5)", "(5,)")]),
    ("%%model e\nDense(2, input_shape=(4,))\nConv2D(2, (3, 3))", "ValueError", ["Conv2D", "(None, 2)"]),
    ("%%model e\nConv2D(2, (5, 5), input_shape=(3, 3, 1))", "ValueError", ["(5, 5)", ("(None, 3, 3, 1)", "(3, 3, 1)")]),
    ("%%model e\nConv2D(2, (2, 2), input_shape=(3, 3, 1))\nMaxPooling2D((4, 4))", "ValueError",
     ["MaxPooling2D", "(None, 2, 2, 2)"]),
    ("%%model e\nDense(0, input_shape=(2,))", "ValueError", ["units", "0"]),
    ("%%model e\nDense(-3, input_shape=(2,))", "ValueError", ["units", "-3"]),
    ("%%model e\nDense('a', input_shape=(2,))", ("ValueError", "TypeError"), ["units"]),
    ("%%model e\nDense(2, input_shape=(2,), name='d')\nDense(2, name='d')", "ValueError", ["'d'", ("unique", "already")]),
    ("%%model e\nDense(2, input_shape=(2,)", "SyntaxError", ["unclosed"]),
    ("%%model e\nfoo", "SyntaxError", ["foo"]),
    ("%%model e\nDense(2, input_shape=(2,))\nDropout(1.5)", "ValueError", ["rate", "1.5"]),
    ("%%model e\nMaxPooling2D((2, 2), input_shape=(4,))", "ValueError", ["MaxPooling2D", ("(None, 4)", "(4,)")]),
    ("%%model e\nConv2D(2, (3, 3), padding='foo', input_shape=(4, 4, 1))", "ValueError", ["foo", "same", "valid"]),
    ("%%model e\nConv2D(2, (2, 2), strides=0, input_shape=(3, 3, 1))", "ValueError", ["strides", "0"]),
    # 4e11 bytes of kernel: no machine here has them
    ("%%model e\nDense(1000000, input_shape=(100000,))", ("MemoryError", "ValueError"), [("memory", "too large", "too big")]),
    ("%%model e\nDense(2, input_shape=(2,))\nInput((3,))", "ValueError", ["Input"]),
    ("%%model e\nDense(2, input_shape=(2,), input_dim=3)", "ValueError", ["input_dim"]),
    ("%%model e\nDense(2, 3, input_shape=(2,))", ("ValueError", "TypeError"), ["positional"]),
    ("%%model e\nDense(input_shape=(2,))", ("ValueError", "TypeError"), ["units"]),
    ("%%model e\nDense(2, input_shape=(0,))", "ValueError", ["input_shape"]),
    ("%%model e\nFlatten(input_shape=(2, 3))\nDense(2, trainable=3)", "ValueError", ["trainable"]),
    # a failed build keeps the old model of that name
    ("%%model lm\nDense(3, input_shape=(2,))\nDens(1)", ("ValueError", "NameError"), ["Dens"]),
    ("%%model lm\nDense(3, input_shape=(2,))\nDense(1, activation='rleu')", "ValueError", ["rleu"]),
    # %model NAME vgg16
    ("%model lm vgg16 weights={root}/files/nosuch.h5", "FileNotFoundError", ["nosuch.h5"]),
    ("%model lm vgg16 weights={root}/files/lm.h5", "ValueError", ["lm.h5", "dense_1"]),
    ("%model lm vgg16 weights={root}/files/text.h5", "ValueError", ["text.h5", "not"]),
    ("%model v vgg61", ("ValueError", "NameError"), ["vgg61", "vgg16"]),
    ("%model v vgg16 classes=0", "UsageError", ["classes", "0"]),
    ("%model v vgg16 dropout=2", "UsageError", ["dropout"]),
    ("%model v", "UsageError", ["argument"]),
    ("%model v vgg16 foo=1", "UsageError", ["foo", "weights="]),
    # %compile
    ("%compile raw optimizer=SGD(lr=0.1) loss=categorical_crossentropy", "ValueError",
     ["categorical_crossentropy", "single output", "softmax"]),
    ("%compile raw optimizer=SGD(lr=0.1) loss=binary_crossentropy", "ValueError", ["sigmoid", "mse"]),
    ("%compile raw optimizer=adma loss=mse", ("ValueError", "UsageError", "NameError"), ["adma", ("adam", "Adam")]),
    ("%compile raw optimizer=sgd loss=mae", ("ValueError", "UsageError", "NameError"), ["mae", "mse"]),
    ("%compile raw optimizer=sgd loss=mse metrics=acuracy", ("ValueError", "UsageError"), ["acuracy", "accuracy"]),
    ("%compile raw optimizer=SGD(lr=-1) loss=mse", ("UsageError", "ValueError"), ["lr", "-1"]),
    ("%compile raw optimizer=SGD(lrr=0.1) loss=mse", ("UsageError", "TypeError"), ["lrr", "lr"]),
    ("%compile raw optimizer=Adam(beta_1=1.5) loss=mse", ("UsageError", "ValueError"), ["beta_1"]),
    ("%compile raw optimizer=sgd", "UsageError", ["loss="]),
    ("%compile raw loss=mse", "UsageError", ["optimizer="]),
    ("%compile rw optimizer=sgd loss=mse", "NameError", ["rw", "Did you mean", "'raw'"]),
    ("%compile x optimizer=sgd loss=mse", "TypeError", ["'x'", "array", "not a model"]),
    ("%compile raw optimizer=sgd loss=mse foo=1", "UsageError", ["foo"]),
    ("%compile raw sgd mse", "UsageError", ["sgd"]),
    ("%compile clf optimizer=sgd loss=categorical_crossentropy metrics=accuracy extra", "UsageError", ["extra"]),
    ("%compile empty optimizer=sgd loss=mse", ("ValueError", "UsageError"), ["empty"]),
    # %summary
    ("%summary", "UsageError", ["argument"]),
    ("%summary lmm", "NameError", ["lmm", "Did you mean", "'lm'"]),
    ("%summary x", "TypeError", ["'x'", "not a model"]),
    ("%summary lm clf", "UsageError", ["clf"]),
    # %finetune
    ("%finetune cnn x", "TypeError", ["'x'", "batches"]),
    ("%finetune cnn bn", "ValueError", ["bn", "labels"]),
    ("%finetune lm b", "ValueError", ["lm", ("layer", "(None, 6, 6, 1)")]),
    ("%finetune cnn", "UsageError", ["argument"]),
    ("%finetune cnn nosuch", "NameError", ["nosuch"]),
    ("%finetune cnnn b", "NameError", ["cnnn", "'cnn'"]),
    ("%finetune cnn rgb", "ValueError", ["(None, 6, 6, 1)", "(None, 8, 8, 3)"]),
    ("%finetune cnn b lr=-1", "UsageError", ["lr"]),
    # %pop / %add
    ("%pop empty", "IndexError", ["empty", "no layers"]),
    ("%pop", "UsageError", ["argument"]),
    ("%pop x", "TypeError", ["'x'", "not a model"]),
    ("%pop nosuch", "NameError", ["nosuch"]),
    ("%add lm Dens(2)", ("ValueError", "NameError"), ["Dens", "Dense"]),
    ("%add lm Dense(2, activaton='relu')", ("ValueError", "TypeError"), ["activaton", "'activation'"]),
    ("%add lm 3", "ValueError", ["layer"]),
    ("%add lm Dense(2, input_shape=(5,))", "ValueError", ["input_shape", "(None, 1)"]),
    ("%add lm Conv2D(2, (3, 3))", "ValueError", ["Conv2D", "(None, 1)"]),
    ("%add lm Dense(2, activation='rleu')", "ValueError", ["rleu", "relu"]),
    ("%add lm Dense(2, name='dense_1')", "ValueError", ["dense_1"]),
    ("%add lm", "UsageError", ["argument"]),
    ("%add x Dense(2)", "TypeError", ["'x'", "not a model"]),
    # %trainable / %freeze
    ("%trainable clf from=5", "IndexError", ["5", "2 layers"]),
    ("%trainable clf from=-3", "IndexError", ["-3"]),
    ("%trainable clf from=ot", ("ValueError", "NameError"), ["'ot'", "Did you mean", "'out'"]),
    ("%trainable clf fro=1", "UsageError", ["fro", "from="]),
    ("%trainable x", "TypeError", ["'x'", "not a model"]),
    ("%freeze clf upto=7", "IndexError", ["7"]),
    ("%freeze clf upto=nosuch", ("ValueError", "NameError"), ["nosuch"]),
    ("%freeze clf upt=1", "UsageError", ["upt", "upto="]),
    ("%freeze clff", "NameError", ["clff", "'clf'"]),
    # %lr
    ("%lr raw", "ValueError", ["raw", "%compile"]),
    ("%lr raw 0.1", "ValueError", ["raw", "%compile"]),
    ("%lr lm -0.1", "UsageError", ["-0.1"]),
    ("%lr lm abc", "UsageError", ["abc"]),
    ("%lr lm 0.1 0.2", "UsageError", ["0.2"]),
    ("%lr x 0.1", "TypeError", ["'x'", "not a model"]),
    ("%lr", "UsageError", ["argument"]),
    # %fit on arrays
    ("%fit raw x y", "ValueError", ["raw", "not compiled", "%compile"]),
    ("%fit lm x3 y", "ValueError", ["(None, 2)", "(30, 3)"]),
    ("%fit lm x y2", "ValueError", ["1 output", "(30, 2)"]),
    ("%fit lm x y29", "ValueError", ["30", "29"]),
    ("%fit clf x y3", "ValueError", ["2 outputs", "(30, 3)"]),
    ("%fit clf x y", "ValueError", ["2 outputs", "(30,)", "one_hot"]),
    ("%fit lm x", "UsageError", ["targets"]),
    ("%fit lm x y epochs=0", "UsageError", ["epochs", "0"]),
    ("%fit lm x y epochs=-1", "UsageError", ["epochs", "-1"]),
    ("%fit lm x y epochs=1.5", "UsageError", ["epochs", "1.5"]),
    ("%fit lm x y epoch=2", "UsageError", ["epoch", "epochs="]),
    ("%fit lm x y batch_size=0", "UsageError", ["batch_size", "0"]),
    ("%fit lm x y validation=(x3, y)", "ValueError", ["(None, 2)", "(30, 3)"]),
    ("%fit lm x y validation=(x, y2)", "ValueError", ["(30, 2)"]),
    ("%fit lm x y validation=x", "UsageError", ["validation"]),
    ("%fit lm x y save={root}/nosuch/w{epoch}.h5", "FileNotFoundError", ["nosuch"]),
    ("%fit lm x y validation=(x3, y) save={root}/files/w{epoch}.h5", "ValueError", ["(30, 3)"]),
    ("%fit lm x y epochs=2 batch_size=0 save={root}/files/lm.h5", "UsageError", ["batch_size"]),
    ("%fit lm nosuch y", "NameError", ["nosuch"]),
    ("%fit lm x nosuch", "NameError", ["nosuch"]),
    ("%fit lm x y validation=(x, nosuch)", "NameError", ["nosuch"]),
    ("%fit x x y", "TypeError", ["'x'", "not a model"]),
    ("%fit lm x y shuffle=2", "UsageError", ["shuffle"]),
    ("%fit lm", "UsageError", ["argument"]),
    ("%fit lm b", "ValueError", ["(None, 2)", "(None, 6, 6, 1)"]),
    # %fit on batches
    ("%fit cnn rgb", "ValueError", ["(None, 6, 6, 1)", "(None, 8, 8, 3)"]),
    ("%fit cnn b rgb", "ValueError", ["(None, 6, 6, 1)", "(None, 8, 8, 3)"]),
    ("%fit cnn bn", "ValueError", ["bn", "labels"]),
    ("%fit cnn b batch_size=2", "UsageError", ["batch_size"]),
    ("%fit cnn b save={root}/nosuch/ft{epoch}.h5", "FileNotFoundError", ["nosuch"]),
    ("%fit cnn b x", "UsageError", ["x"]),
    ("%fit clf b", "ValueError", ["(None, 2)", "(None, 6, 6, 1)"]),
    # %evaluate
    ("%evaluate raw x y", "ValueError", ["raw", "%compile"]),
    ("%evaluate lm x3 y", "ValueError", ["(None, 2)", "(30, 3)"]),
    ("%evaluate lm x y29", "ValueError", ["30", "29"]),
    ("%evaluate lm x", "UsageError", ["targets"]),
    ("%evaluate lm x y y", "UsageError", ["y"]),
    ("%evaluate clf x y", "ValueError", ["2 outputs", "one_hot"]),
    ("%evaluate cnn bn", "ValueError", ["bn", "labels"]),
    ("%evaluate cnn rgb", "ValueError", ["(None, 6, 6, 1)", "(None, 8, 8, 3)"]),
    ("%evaluate lm", "UsageError", ["argument"]),
    ("%evaluate nosuch x y", "NameError", ["nosuch"]),
    ("%evaluate lm x nosuch", "NameError", ["nosuch"]),
    # %predict
    ("%predict lm x3", "ValueError", ["(None, 2)", "(30, 3)"]),
    ("%predict lm nosuch", "NameError", ["nosuch"]),
    ("%predict lm x as=1a", "UsageError", ["as="]),
    ("%predict lm", "UsageError", ["argument"]),
    ("%predict cnn bs", "ValueError", ["bs", "shuffle=False"]),
    ("%predict cnn rgb", "ValueError", ["(None, 6, 6, 1)", "(None, 8, 8, 3)"]),
    ("%predict x x", "TypeError", ["'x'", "not a model"]),
    ("%predict lm x sa=p", "UsageError", ["sa", "as="]),
    ("%predict empty x", "ValueError", ["empty"]),
    # %history
    ("%history", "UsageError", ["argument"]),
    ("%history x", "TypeError", ["'x'", "not a model"]),
    ("%history lmm", "NameError", ["lmm", "'lm'"]),
    # %save_weights / %load_weights
    ("%save_weights lm {root}/nosuch/w.h5", "FileNotFoundError", ["nosuch"]),
    ("%save_weights lm {root}/files", "IsADirectoryError", ["files"]),
    ("%save_weights lm", "UsageError", ["argument"]),
    ("%save_weights x {root}/files/lm.h5", "TypeError", ["'x'", "not a model"]),
    ("%save_weights nosuch {root}/files/x.h5", "NameError", ["nosuch"]),
    ("%load_weights lm {root}/files/nosuch.h5", "FileNotFoundError", ["nosuch.h5"]),
    ("%load_weights lm {root}/files/text.h5", "ValueError", ["text.h5", "not"]),
    ("%load_weights lm {root}/files/other.h5", "ValueError", ["other.h5", "not a Keras weight file"]),
    ("%load_weights lm {root}/files/clf.h5", "ValueError", ["clf.h5", "2 layers", "1"]),
    ("%load_weights clf {root}/files/lm.h5", "ValueError", ["lm.h5"]),
    ("%load_weights raw {root}/files/clf.h5 by_name=True", "ValueError", ["dense_1", "(2, 4)", "(2, 1)"]),
    ("%load_weights lm {root}/files/lm.h5 by_name=2", "UsageError", ["by_name"]),
    ("%load_weights lm {root}/files", ("IsADirectoryError", "ValueError"), ["files"]),
    ("%load_weights x {root}/files/lm.h5", "TypeError", ["'x'", "not a model"]),
    ("%load_weights lm", "UsageError", ["argument"]),
    # %weights
    ("%weights lm 5", "IndexError", ["5"]),
    ("%weights lm -2", "IndexError", ["-2"]),
    ("%weights lm dense_l", ("ValueError", "NameError"), ["dense_l", "Did you mean", "'dense_1'"]),
    ("%weights clf ot", ("ValueError", "NameError"), ["'ot'", "Did you mean", "'out'"]),
    ("%weights x", "TypeError", ["'x'", "not a model"]),
    ("%weights", "UsageError", ["argument"]),
    ("%weights lm 0 1", "UsageError", ["1"]),
    # %activations
    ("%activations lm x3", "ValueError", ["(None, 2)", "(30, 3)"]),
    ("%activations lm x n=0", "UsageError", ["n", "0"]),
    ("%activations lm x n=-1", "UsageError", ["n", "-1"]),
    ("%activations lm b", "TypeError", ["'b'", "not an array"]),
    ("%activations x x", "TypeError", ["'x'", "not a model"]),
    ("%activations lm", "UsageError", ["argument"]),
    ("%activations lm nosuch", "NameError", ["nosuch"]),
    # %device
    ("%device tpu", "UsageError", ["cpu", "gpu"]),
    ("%device cpu gpu", "UsageError", ["gpu"]),
]


@pytest.mark.parametrize("code,ename,words", R, ids=[c.replace("\n", "|")[:70] for c, _, _ in R])
def test_refusal_changes_nothing(k, world, code, ename, words):
    root = world
    refused(k, code.replace("{root}", str(root)), ename, words, models=M,
            folders=(root, pathlib.Path(k.cwd)))


def test_device_shows_and_chooses(k):
    shown = k.ok("%device").stdout
    assert "CPU" in shown and "GPU" in shown, shown       # where it computes, and whether a GPU was found
    k.ok("%device cpu")
    assert "CPU" in k.ok("%device").stdout.splitlines()[0]
    before = who(k)
    cell = run_failing(k, "%device gpu")
    if cell.ok:                                            # a machine with a usable GPU
        assert "GPU" in k.ok("%device").stdout.splitlines()[0]
        k.ok("%device cpu")
    else:                                                  # says why it cannot, and stays on the CPU
        assert cell.error["ename"] in ("RuntimeError", "ValueError", "UsageError"), cell.error
        assert "GPU" in cell.error["evalue"], cell.error
        assert "CPU" in k.ok("%device").stdout.splitlines()[0]
    assert who(k) == before
    assert k.alive()


# ---------------------------------------------------------------- building: %%model, %summary

def test_summary_parameter_counts_and_shapes(k):
    k.ok("%%model s1\n"
         "# every layer kind, Keras 1 and 2 spellings\n"
         "Conv2D(4, (3, 3), padding='same', input_shape=(8, 8, 2)),\n"
         "BatchNormalization()\n"
         "Activation('relu')\n"
         "MaxPooling2D((2, 2))\n"
         "Convolution2D(3, 2, 2, border_mode='valid')\n"
         "Conv2D(5, (2, 2), strides=(2, 2))\n"
         "Flatten()\n"
         "Dropout(0.5)\n"
         "Dense(6, activation='relu', use_bias=False)\n"
         "Dense(2, activation='softmax', name='probs', trainable=False)")
    rows, totals = summary(k, "s1")
    # conv: kh*kw*cin*cout + cout; BN: 4*c (gamma, beta trainable; moving mean/var not)
    want = [
        ("Conv2D", "(None, 8, 8, 4)", 3 * 3 * 2 * 4 + 4),
        ("BatchNormalization", "(None, 8, 8, 4)", 4 * 4),
        ("Activation", "(None, 8, 8, 4)", 0),
        ("MaxPooling2D", "(None, 4, 4, 4)", 0),
        ("Conv2D", "(None, 3, 3, 3)", 2 * 2 * 4 * 3 + 3),
        ("Conv2D", "(None, 1, 1, 5)", 2 * 2 * 3 * 5 + 5),
        ("Flatten", "(None, 5)", 0),
        ("Dropout", "(None, 5)", 0),
        ("Dense", "(None, 6)", 5 * 6),
        ("Dense", "(None, 2)", 6 * 2 + 2),
    ]
    assert [(t, s, p) for _, t, s, p, _ in rows] == want, rows
    assert rows[-1][0] == "probs"
    total = sum(p for _, _, p in want)
    frozen = 2 * 4 + (6 * 2 + 2)
    assert totals == {"Total": total, "Trainable": total - frozen, "Non-trainable": frozen}, totals
    # a Trainable column shows which layer is frozen
    assert rows[-1][4] == "N" and rows[0][4] == "Y", rows
    # the names Keras gives: type in snake case, numbered per type
    assert [r[0] for r in rows[:3]] == ["conv2d_1", "batch_normalization_1", "activation_1"], rows
    line = next(ln for ln in who(k).splitlines() if ln.startswith("s1 "))
    assert f"{len(want)} layers" in line and f"{total:,} params" in line, line
    # a line that is only the model's name shows the same layers
    same = k.ok("s1").texts()[-1]
    assert summary_rows(same)[0] == rows and summary_rows(same)[1] == totals
    k.ok("%del s1")


def test_first_layer_shape_forms(k):
    for body in ("Dense(3, input_shape=(4,))", "Dense(3, input_dim=4)", "Input((4,))\nDense(3)",
                 "Input(shape=(4,))\nDense(3)"):
        k.ok("%%model s2\n" + body)
        rows, totals = summary(k, "s2")
        assert rows[-1][2] == "(None, 3)" and totals["Total"] == 4 * 3 + 3, (body, rows)
    k.ok("%del s2")


def test_model_replaced_only_when_built(k):
    k.ok("%seed 1\n%let xs = random(4, 2)")
    k.ok("%%model s3\nDense(2, input_shape=(2,))")
    before = weights(k, "s3")
    k.ok("%%model s3\nDense(5, input_shape=(2,))\nDense(1)")
    rows, _ = summary(k, "s3")
    assert [r[2] for r in rows] == ["(None, 5)", "(None, 1)"]
    assert weights(k, "s3")["dense_1/kernel"].shape == (2, 5) != before["dense_1/kernel"].shape
    # an array's name can become a model's, as a Python assignment
    k.ok("%%model xs\nDense(1, input_shape=(2,))")
    assert re.search(r"^xs +model", who(k), re.M)
    k.ok("%del s3 xs")


def test_seed_repeats_the_initial_weights(k):
    k.ok("%seed 11")
    k.ok("%%model s4\nDense(3, input_shape=(2,))")
    a = weights(k, "s4")
    k.ok("%seed 11")
    k.ok("%%model s5\nDense(3, input_shape=(2,))")
    b = weights(k, "s5")
    assert same_weights(a, b)
    # Glorot uniform: |w| < sqrt(6 / (fan_in + fan_out)), biases zero
    lim = math.sqrt(6 / (2 + 3))
    assert np.all(np.abs(a["dense_1/kernel"]) < lim) and np.all(a["dense_1/bias"] == 0)
    assert len(np.unique(a["dense_1/kernel"])) == 6
    k.ok("%del s4 s5")


def test_vgg16_parameter_counts(k):
    k.ok("%model v1 vgg16 classes=3 dropout=False")
    rows, totals = summary(k, "v1")
    convs = [(3, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 256),
             (256, 512), (512, 512), (512, 512), (512, 512), (512, 512), (512, 512)]
    conv_params = sum(9 * a * b + b for a, b in convs)
    dense = (7 * 7 * 512) * 4096 + 4096 + 4096 * 4096 + 4096 + 4096 * 3 + 3
    assert totals == {"Total": conv_params + dense, "Trainable": conv_params + dense, "Non-trainable": 0}
    names = [r[0] for r in rows]
    assert names[:3] == ["block1_conv1", "block1_conv2", "block1_pool"] and "block5_conv3" in names
    assert names[-3:] == ["fc1", "fc2", "predictions"], names
    assert rows[0][2] == "(None, 224, 224, 64)" and rows[-1][2] == "(None, 3)"
    assert next(r for r in rows if r[0] == "block5_pool")[2] == "(None, 7, 7, 512)"
    assert not any(r[1] == "Dropout" for r in rows)
    k.ok("%del v1")
    # the default: 1000 classes, Dropout after fc1 and fc2: 138,357,544 parameters as the help says
    k.ok("%model v2 vgg16")
    rows, totals = summary(k, "v2")
    assert totals["Total"] == 138_357_544 == conv_params + dense - (4096 * 3 + 3) + 4096 * 1000 + 1000
    assert [r[0] for r in rows if r[1] == "Dropout"] and len(rows) == len(names) + 2
    k.ok("%del v2")


# ---------------------------------------------------------------- outputs against numpy

def test_predict_and_activations_match_numpy(k):
    k.ok("%seed 5\n%let pxi = random(3, 7, 7, 2) * 2 - 1")
    k.ok("%%model p1\n"
         "Conv2D(3, (3, 3), strides=(2, 2), padding='same', activation='tanh', input_shape=(7, 7, 2))\n"
         "BatchNormalization()\n"
         "Conv2D(4, (2, 2), activation='relu')\n"
         "MaxPooling2D((2, 2), strides=(1, 1))\n"
         "Flatten()\n"
         "Dropout(0.5)\n"
         "Dense(5, activation='sigmoid')\n"
         "Dense(3, activation='softmax')")
    w = weights(k, "p1")
    x = arr(k, "pxi").astype(np.float64)
    outs = []
    h = conv2d(x, w, "conv2d_1", strides=(2, 2), padding="same", activation="tanh"); outs.append(h)
    h = batchnorm(h, w, "batch_normalization_1"); outs.append(h)
    h = conv2d(h, w, "conv2d_2", activation="relu"); outs.append(h)
    h = maxpool(h, (2, 2), (1, 1)); outs.append(h)
    h = h.reshape(len(h), -1); outs.append(h)
    outs.append(h)                                     # Dropout: nothing at inference
    h = dense(h, w, "dense_1", "sigmoid"); outs.append(h)
    h = dense(h, w, "dense_2", "softmax"); outs.append(h)
    k.ok("%predict p1 pxi as=pp")
    got = arr(k, "pp")
    assert got.shape == (3, 3)
    np.testing.assert_allclose(got, h, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(got.sum(axis=1), 1, rtol=1e-5)
    # without as=, the outputs are the cell's result
    shown = np_repr(k.ok("%predict p1 pxi").result)
    np.testing.assert_allclose(shown, got, rtol=1e-6)
    # %activations: the input and every layer's output for the first n examples
    parts = blocks(k.ok("%activations p1 pxi n=2"))
    assert len(parts) == 1 + len(outs), [p[0] for p in parts]
    assert parts[0][0].startswith("input")
    # one row per example: images are shown flattened (row-major, channels last)
    np.testing.assert_allclose(parts[0][1], x[:2].reshape(2, -1), rtol=1e-6)
    for (head, got_a), want in zip(parts[1:], outs):
        np.testing.assert_allclose(got_a, want[:2].reshape(2, -1), rtol=1e-4, atol=1e-5, err_msg=head)
    assert "conv2d_1 (Conv2D)" in parts[1][0] and "(None, 4, 4, 3)" in parts[1][0]
    # n=3 unless told
    assert blocks(k.ok("%activations p1 pxi"))[-1][1].shape == (3, 3)
    # %predict's batch_size changes nothing in the outputs
    k.ok("%predict p1 pxi as=pp2 batch_size=2")
    np.testing.assert_allclose(arr(k, "pp2"), got, rtol=1e-6)
    k.ok("%del pp2")
    # n larger than the array: every row
    parts = blocks(k.ok("%activations p1 pxi n=10"))
    assert parts[-1][1].shape == (3, 3)
    k.ok("%del pxi pp p1")


def test_weights_command_shows_the_saved_arrays(k):
    k.ok("%seed 2")
    k.ok("%%model w1\nDense(3, input_shape=(2,))\nBatchNormalization()\nDense(1, name='top')")
    w = weights(k, "w1")
    every = blocks(k.ok("%weights w1"))
    names = [h.split(" ")[0] for h, _ in every]
    assert names == list(w), names
    for (head, a), n in zip(every, w):
        np.testing.assert_array_equal(a.astype(np.float32), w[n], err_msg=head)
        assert head.endswith(str(w[n].shape)), head
    # one layer, by name, by index and from the end
    for ref in ("top", "2", "-1"):
        one = blocks(k.ok(f"%weights w1 {ref}"))
        assert [h.split(" ")[0] for h, _ in one] == ["top/kernel", "top/bias"], ref
    bn = blocks(k.ok("%weights w1 batch_normalization_1"))
    assert [h.split(" ")[0].split("/")[1] for h, _ in bn] == ["gamma", "beta", "moving_mean", "moving_variance"]
    # large arrays are summarised
    k.ok("%%model w3\nDense(3000, input_shape=(2,))")
    big = "\n".join(k.ok("%weights w3 0").texts())
    assert "..." in big and len(big) < 20000, len(big)
    k.ok("%del w3")
    # a layer without weights says so
    k.ok("%%model w2\nDense(2, input_shape=(2,))\nFlatten()")
    cell = run_failing(k, "%weights w2 1")
    assert cell.error["ename"] == "ValueError" and "flatten_1" in cell.error["evalue"] and "no weights" in cell.error["evalue"]
    k.ok("%del w1 w2")


def test_evaluate_against_numpy(k):
    k.ok("%seed 9\n%let ex = random(40, 3) * 2 - 1\n%let ey = ex @ [1., -2., 0.5] + 0.25\n"
         "%let ec = one_hot(argmax(ex), 3)\n%let eb = (ex[:, 0] > 0) * 1.")
    x, y, yc, yb = (arr(k, n).astype(np.float64) for n in ("ex", "ey", "ec", "eb"))
    # mse, the mean over every example whatever batch_size
    k.ok("%%model e1\nDense(1, input_shape=(3,))")
    k.ok("%compile e1 optimizer=sgd loss=mse")
    w = weights(k, "e1")
    want = mse(dense(x, w, "dense_1"), y)
    for bs in ("", " batch_size=7"):
        got, text = evaluate(k, f"e1 ex ey{bs}")
        assert close(got["loss"], want), (got, want)
        assert got["examples"] == 40
        assert text.startswith(f"loss: {want:.4f}"), text
    # categorical cross-entropy and accuracy
    k.ok("%%model e2\nDense(4, activation='tanh', input_shape=(3,))\nDense(3, activation='softmax')")
    k.ok("%compile e2 optimizer=adam loss=categorical_crossentropy metrics=['accuracy']")
    w = weights(k, "e2")
    p = dense(dense(x, w, "dense_1", "tanh"), w, "dense_2", "softmax")
    got, _ = evaluate(k, "e2 ex ec")
    assert close(got["loss"], cce(p, yc)), (got, cce(p, yc))
    assert close(got["acc"], float(np.mean(p.argmax(1) == yc.argmax(1))), abs_=1e-4), got
    # binary cross-entropy and accuracy on a sigmoid output
    k.ok("%%model e3\nDense(1, activation='sigmoid', input_shape=(3,))")
    k.ok("%compile e3 optimizer=sgd loss=binary_crossentropy metrics=accuracy")
    w = weights(k, "e3")
    p = dense(x, w, "dense_1", "sigmoid")
    got, _ = evaluate(k, "e3 ex eb")
    assert close(got["loss"], bce(p, yb)), (got, bce(p, yb))
    assert close(got["acc"], float(np.mean((p.reshape(-1) > 0.5) == yb)), abs_=1e-4), got
    # evaluating changes nothing
    assert same_weights(w, weights(k, "e3"))
    k.ok("%del ex ey ec eb e1 e2 e3")


# ---------------------------------------------------------------- training

def sgd_model(k, name, lr=0.1, opt=None):
    k.ok(f"%%model {name}\nDense(1, input_shape=(2,))")
    k.ok(f"%compile {name} optimizer={opt or f'SGD(lr={lr})'} loss=mse")


def grads_linear(w, x, y):
    pred = x @ w["dense_1/kernel"].astype(np.float64) + w["dense_1/bias"]
    r = pred - y.reshape(pred.shape)
    n = len(x)
    return 2 / n * x.T @ r, 2 / n * r.sum(axis=0), float(np.mean(r ** 2))


def test_fit_one_sgd_step_matches_numpy(k):
    k.ok("%seed 42\n%let fx = random(30, 2)\n%let fy = fx @ [2., 3.] + 1.")
    x, y = arr(k, "fx").astype(np.float64), arr(k, "fy").astype(np.float64)
    sgd_model(k, "f1", 0.1)
    w0 = weights(k, "f1")
    gk, gb, loss0 = grads_linear(w0, x, y)
    k.ok("%fit f1 fx fy epochs=1 batch_size=30 shuffle=False verbose=0")
    w1 = weights(k, "f1")
    np.testing.assert_allclose(w1["dense_1/kernel"], w0["dense_1/kernel"] - 0.1 * gk, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(w1["dense_1/bias"], w0["dense_1/bias"] - 0.1 * gb, rtol=1e-5, atol=1e-6)
    # the epoch's loss is the loss of the one step, before it
    rows = history_rows(k.ok("%history f1").texts()[-1])
    assert len(rows) == 1 and rows[0]["epoch"] == "1" and close(float(rows[0]["loss"]), loss0, abs_=6e-5), rows
    # lesson 2: batch_size=1 for 10 epochs finds y = 2 x0 + 3 x1 + 1
    k.ok("%fit f1 fx fy epochs=20 batch_size=1")
    w = weights(k, "f1")
    np.testing.assert_allclose(w["dense_1/kernel"].ravel(), [2, 3], atol=0.1)
    np.testing.assert_allclose(w["dense_1/bias"], [1], atol=0.1)
    got, _ = evaluate(k, "f1 fx fy")
    assert got["loss"] < 0.01 and close(got["loss"], mse(x @ w["dense_1/kernel"] + w["dense_1/bias"], y))
    rows = history_rows(k.ok("%history f1").texts()[-1])
    assert [r["epoch"] for r in rows] == [str(i) for i in range(1, 22)]
    assert [r["fit"] for r in rows] == ["1"] + ["2"] * 20
    losses = [float(r["loss"]) for r in rows]
    assert losses[-1] < losses[1] < losses[0], losses
    assert re.search(r"^f1 .*trained 21 epochs", who(k), re.M), who(k)
    k.ok("%del fx fy f1")


def test_optimizers_first_step(k):
    """Adam's first step moves every weight by about lr; RMSprop's by lr / sqrt(1 - rho)."""
    k.ok("%seed 4\n%let ox = random(20, 2)\n%let oy = ox @ [2., 3.] + 1.")
    for opt, size in (("Adam(lr=0.01)", 0.01), ("adam", 0.001), ("RMSprop(lr=0.01)", 0.01 / math.sqrt(0.1)),
                      ("RMSprop(learning_rate=0.002, rho=0.5)", 0.002 / math.sqrt(0.5))):
        sgd_model(k, "o1", opt=opt)
        w0 = weights(k, "o1")
        k.ok("%fit o1 ox oy batch_size=20 shuffle=False verbose=0")
        w1 = weights(k, "o1")
        for n in w0:
            step = np.abs(w1[n] - w0[n])
            np.testing.assert_allclose(step, size, rtol=1e-3, err_msg=f"{opt} {n}")
    # SGD with momentum: the second step is lr * (g2 + momentum * g1)
    x, y = arr(k, "ox").astype(np.float64), arr(k, "oy").astype(np.float64)
    sgd_model(k, "o2", opt="SGD(lr=0.05, momentum=0.9)")
    w0 = weights(k, "o2")
    g1k, g1b, _ = grads_linear(w0, x, y)
    k.ok("%fit o2 ox oy batch_size=20 shuffle=False verbose=0")
    w1 = weights(k, "o2")
    g2k, g2b, _ = grads_linear(w1, x, y)
    k.ok("%fit o2 ox oy batch_size=20 shuffle=False verbose=0")
    w2 = weights(k, "o2")
    np.testing.assert_allclose(w1["dense_1/kernel"], w0["dense_1/kernel"] - 0.05 * g1k, rtol=1e-5)
    np.testing.assert_allclose(w2["dense_1/kernel"], w1["dense_1/kernel"] - 0.05 * (g2k + 0.9 * g1k), rtol=1e-4)
    np.testing.assert_allclose(w2["dense_1/bias"], w1["dense_1/bias"] - 0.05 * (g2b + 0.9 * g1b), rtol=1e-4)
    # compiling again starts the optimiser afresh: the next step has no momentum
    k.ok("%compile o2 optimizer=SGD(lr=0.05, momentum=0.9) loss=mse")
    g3k, _, _ = grads_linear(w2, x, y)
    k.ok("%fit o2 ox oy batch_size=20 shuffle=False verbose=0")
    np.testing.assert_allclose(weights(k, "o2")["dense_1/kernel"], w2["dense_1/kernel"] - 0.05 * g3k, rtol=1e-4)
    k.ok("%del ox oy o1 o2")


def test_lr_shows_and_changes_the_step(k):
    k.ok("%seed 8\n%let lx = random(10, 2)\n%let ly = lx @ [2., 3.] + 1.")
    x, y = arr(k, "lx").astype(np.float64), arr(k, "ly").astype(np.float64)
    sgd_model(k, "l1", 0.1)
    assert "0.1" in k.ok("%lr l1").stdout
    out = k.ok("%lr l1 0.025").stdout
    assert "0.1" in out and "0.025" in out, out
    assert "0.025" in k.ok("%lr l1").stdout
    w0 = weights(k, "l1")
    gk, gb, _ = grads_linear(w0, x, y)
    k.ok("%fit l1 lx ly batch_size=10 shuffle=False verbose=0")
    w1 = weights(k, "l1")
    np.testing.assert_allclose(w1["dense_1/kernel"], w0["dense_1/kernel"] - 0.025 * gk, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(w1["dense_1/bias"], w0["dense_1/bias"] - 0.025 * gb, rtol=1e-5, atol=1e-7)
    rows = history_rows(k.ok("%history l1").texts()[-1])
    assert float(rows[-1]["lr"]) == 0.025, rows
    # lr=0 keeps the weights
    k.ok("%lr l1 0")
    k.ok("%fit l1 lx ly batch_size=10 shuffle=False verbose=0")
    assert same_weights(weights(k, "l1"), w1)
    assert re.search(r"^l1 .*lr=0\b", who(k), re.M), who(k)
    k.ok("%del lx ly l1")


def test_freeze_and_trainable_decide_what_moves(k):
    k.ok("%seed 6\n%let zx = random(16, 2)\n%let zy = zx @ [1., -1.] + 0.5")
    k.ok("%%model z1\nDense(3, input_shape=(2,), name='first')\nDense(2, name='mid')\nDense(1, name='last')")
    k.ok("%compile z1 optimizer=SGD(lr=0.1) loss=mse")

    def fit_and_moved():
        before = weights(k, "z1")
        k.ok("%fit z1 zx zy batch_size=16 shuffle=False verbose=0")
        after = weights(k, "z1")
        return {n.split("/")[0] for n in before if not np.array_equal(before[n], after[n])}

    assert fit_and_moved() == {"first", "mid", "last"}
    k.ok("%freeze z1 upto=mid")            # freezes the layers before mid
    _, totals = summary(k, "z1")
    assert totals["Trainable"] == 3 * 2 + 2 + 2 * 1 + 1 and totals["Non-trainable"] == 2 * 3 + 3
    assert fit_and_moved() == {"mid", "last"}
    k.ok("%freeze z1")                     # every layer
    assert summary(k, "z1")[1]["Trainable"] == 0
    assert fit_and_moved() == set()
    k.ok("%trainable z1 from=-1")
    assert fit_and_moved() == {"last"}
    k.ok("%trainable z1 from=1")
    assert fit_and_moved() == {"mid", "last"}
    k.ok("%trainable z1")
    rows, totals = summary(k, "z1")
    assert totals["Non-trainable"] == 0
    assert fit_and_moved() == {"first", "mid", "last"}
    k.ok("%freeze z1 upto=2")
    assert [r[4] for r in summary(k, "z1")[0]] == ["N", "N", "Y"]
    assert fit_and_moved() == {"last"}
    # trainable=False in the model cell
    k.ok("%%model z2\nDense(3, input_shape=(2,), trainable=False)\nDense(1)")
    k.ok("%compile z2 optimizer=SGD(lr=0.1) loss=mse")
    before = weights(k, "z2")
    k.ok("%fit z2 zx zy batch_size=16 verbose=0")
    after = weights(k, "z2")
    assert np.array_equal(before["dense_1/kernel"], after["dense_1/kernel"])
    assert not np.array_equal(before["dense_2/kernel"], after["dense_2/kernel"])
    k.ok("%del zx zy z1 z2")


def dense_step(h, w, layer, y, lr):
    """kernel and bias after one full-batch SGD step of mse on a linear Dense layer."""
    kern, bias = w[f"{layer}/kernel"].astype(np.float64), w[f"{layer}/bias"].astype(np.float64)
    r = h @ kern + bias - y.reshape(len(y), -1)
    return kern - lr * 2 / len(h) * h.T @ r / r.shape[1], bias - lr * 2 / len(h) * r.sum(0) / r.shape[1]


def test_batchnorm_batch_and_moving_statistics(k):
    k.ok("%seed 12\n%let bx = random(32, 3) * 4 + 2\n%let by = bx @ [1., 2., 3.]")
    k.ok("%%model n1\nBatchNormalization(input_shape=(3,))\nDense(1)")
    k.ok("%compile n1 optimizer=SGD(lr=0.01) loss=mse")
    x, y = arr(k, "bx").astype(np.float64), arr(k, "by").astype(np.float64)
    w0 = weights(k, "n1")
    k.ok("%fit n1 bx by batch_size=32 shuffle=False verbose=0")
    w1 = weights(k, "n1")
    bn = "batch_normalization_1"
    # training: the batch's own mean and (biased) variance normalise it
    h = (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-3)
    kern, bias = dense_step(h, w0, "dense_1", y, 0.01)
    np.testing.assert_allclose(w1["dense_1/kernel"], kern, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(w1["dense_1/bias"], bias, rtol=1e-4, atol=1e-6)
    # the moving mean moves towards the batch's, momentum 0.99
    np.testing.assert_allclose(w1[f"{bn}/moving_mean"], 0.99 * w0[f"{bn}/moving_mean"] + 0.01 * x.mean(0), rtol=1e-4)
    # inference (%predict, %evaluate): the moving statistics
    want = dense(batchnorm(x, w1, bn), w1, "dense_1")
    k.ok("%predict n1 bx as=np1")
    np.testing.assert_allclose(arr(k, "np1"), want, rtol=1e-4, atol=1e-5)
    got, _ = evaluate(k, "n1 bx by")
    assert close(got["loss"], mse(want, y)), (got, mse(want, y))
    # frozen: BatchNormalization keeps its weights and normalises with its moving statistics
    k.ok("%freeze n1 upto=1")
    k.ok("%fit n1 bx by batch_size=32 shuffle=False verbose=0")
    w2 = weights(k, "n1")
    for n in ("gamma", "beta", "moving_mean", "moving_variance"):
        assert np.array_equal(w1[f"{bn}/{n}"], w2[f"{bn}/{n}"]), n
    kern, bias = dense_step(batchnorm(x, w1, bn), w1, "dense_1", y, 0.01)
    np.testing.assert_allclose(w2["dense_1/kernel"], kern, rtol=1e-4, atol=1e-6)
    k.ok("%del bx by n1 np1")


def test_dropout_only_while_training(k):
    k.ok("%seed 16\n%let dx = random(20, 3)\n%let dy = dx @ [1., 1., 1.]")
    k.ok("%%model d1\nDense(8, input_shape=(3,))\nDropout(0.9)\nDense(1)")
    k.ok("%compile d1 optimizer=SGD(lr=0.01) loss=mse")
    w = weights(k, "d1")
    x, y = arr(k, "dx").astype(np.float64), arr(k, "dy").astype(np.float64)
    want = dense(dense(x, w, "dense_1"), w, "dense_2")
    first, _ = evaluate(k, "d1 dx dy")
    again, _ = evaluate(k, "d1 dx dy batch_size=3")
    assert close(first["loss"], mse(want, y)) and close(again["loss"], first["loss"], abs_=1e-6)
    # training drops: the epoch's loss (before the one step) differs from the clean loss
    k.ok("%fit d1 dx dy batch_size=20 shuffle=False verbose=0")
    rows = history_rows(k.ok("%history d1").texts()[-1])
    assert not close(float(rows[0]["loss"]), first["loss"], rel=1e-3), (rows, first)
    k.ok("%del dx dy d1")


def test_seed_repeats_a_whole_fit(k):
    """Initial weights, the shuffle order and dropout all come from %seed."""
    k.ok("%seed 0\n%let sx = random(24, 2)\n%let sy = sx @ [1., -1.]")
    runs = []
    for _ in range(2):
        k.ok("%seed 123")
        k.ok("%%model sd\nDense(6, activation='relu', input_shape=(2,))\nDropout(0.3)\nDense(1)")
        k.ok("%compile sd optimizer=adam loss=mse")
        k.ok("%fit sd sx sy epochs=3 batch_size=5 verbose=0")
        runs.append(weights(k, "sd"))
    assert same_weights(runs[0], runs[1])
    k.ok("%seed 124")
    k.ok("%%model sd\nDense(6, activation='relu', input_shape=(2,))\nDropout(0.3)\nDense(1)")
    assert not same_weights(weights(k, "sd"), runs[0])
    k.ok("%del sx sy sd")


def test_validation_history_and_save_files(k, tmp_path):
    k.ok("%seed 3\n%let hx = random(20, 2)\n%let hy = hx @ [2., 3.] + 1.\n"
         "%let vx = random(8, 2)\n%let vy = vx @ [2., 3.] + 1.")
    sgd_model(k, "h1", 0.05)
    assert "not been trained" in k.ok("%history h1").stdout
    pattern = tmp_path / "h{epoch}.h5"
    k.ok(f"%fit h1 hx hy epochs=2 batch_size=5 validation=(vx, vy) save={pattern}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h1.h5", "h2.h5"]
    w = weights(k, "h1")
    assert same_weights(read_h5(tmp_path / "h2.h5"), w)
    assert not same_weights(read_h5(tmp_path / "h1.h5"), w)
    ev, _ = evaluate(k, "h1 vx vy")
    rows = history_rows(k.ok("%history h1").texts()[-1])
    assert len(rows) == 2 and close(float(rows[-1]["val_loss"]), ev["loss"], abs_=6e-5), (rows, ev)
    # the epoch number counts over every fit
    k.ok(f"%fit h1 hx hy save={pattern} verbose=0")
    assert (tmp_path / "h3.h5").exists()
    assert same_weights(read_h5(tmp_path / "h3.h5"), weights(k, "h1"))
    rows = history_rows(k.ok("%history h1").texts()[-1])
    assert [(r["epoch"], r["fit"]) for r in rows] == [("1", "1"), ("2", "1"), ("3", "2")]
    assert rows[-1]["val_loss"] == "-"
    # Keras 1's nb_epoch= and Keras 2's validation_data= name the same things
    k.ok("%fit h1 hx hy nb_epoch=2 validation_data=(vx, vy) verbose=0")
    rows = history_rows(k.ok("%history h1").texts()[-1])
    assert [r["epoch"] for r in rows] == ["1", "2", "3", "4", "5"] and rows[-1]["val_loss"] != "-"
    # the fit's own table is the history too (verbose=2: a line per epoch, then the table)
    cell = k.ok("%fit h1 hx hy verbose=2")
    assert history_rows(cell.texts()[-1])[-1]["epoch"] == "6"
    assert not cell.updates and any("Epoch 1/1" in t for t in cell.texts()), cell
    # verbose=0: nothing at all, as Keras
    cell = k.ok("%fit h1 hx hy verbose=0")
    assert not cell.updates and not cell.texts() and not cell.stdout, cell
    assert history_rows(k.ok("%history h1").texts()[-1])[-1]["epoch"] == "7"
    # the progress bar: a display updated in place, ending at the number of steps
    cell = k.ok("%fit h1 hx hy batch_size=5")
    assert cell.updates and "4/4" in cell.updates[-1]["data"]["text/plain"]
    k.ok("%del hx hy vx vy h1")


def test_interrupt_stops_between_steps(k, tmp_path):
    """The stop button: the weights of the last step, the files of finished epochs, the
    message says the epoch and step reached; the kernel keeps everything."""
    k.ok("%seed 1\n%let ix = random(4000, 64)\n%let iy = sum(ix, axis=1)")
    k.ok("%%model i1\nDense(256, activation='relu', input_shape=(64,))\nDense(1)")
    k.ok("%compile i1 optimizer=SGD(lr=0.001) loss=mse")
    msg = k.send(f"%fit i1 ix iy epochs=1000 batch_size=1 save={tmp_path}/e{{epoch}}.h5")
    time.sleep(1.5)
    k.interrupt()
    cell = k.collect(msg, 60)
    assert not cell.ok and cell.error["ename"] == "KeyboardInterrupt", cell
    text = cell.error["evalue"]
    m = re.search(r"epoch (\d+) of 1000 after step (\d+) of 4000", text)
    assert m, text
    saved = sorted(int(p.stem[1:]) for p in tmp_path.iterdir())
    assert saved == list(range(1, len(saved) + 1)), saved
    assert len(saved) == int(m[1]) - 1, (saved, text)       # every finished epoch, not the one stopped
    rows = history_rows(k.ok("%history i1").texts()[-1])
    assert len(rows) == len(saved)
    if saved and int(m[2]) > 0:
        assert not same_weights(read_h5(tmp_path / f"e{saved[-1]}.h5"), weights(k, "i1"))
    # it goes on from there
    k.ok("%fit i1 ix iy verbose=0")
    assert len(history_rows(k.ok("%history i1").texts()[-1])) == len(saved) + 1
    k.ok("%del ix iy i1")


def test_pop_and_add(k):
    k.ok("%seed 10\n%let ax = random(6, 2)\n%let ay = one_hot([0, 1, 2, 0, 1, 2], 3)")
    k.ok("%%model a1\nDense(4, activation='relu', input_shape=(2,))\nDense(2, activation='softmax')")
    w0 = weights(k, "a1")
    out = k.ok("%pop a1").stdout
    assert "dense_2" in out
    rows, totals = summary(k, "a1")
    assert [r[0] for r in rows] == ["dense_1"] and totals["Total"] == 12
    assert arr_shape_of_predict(k, "a1", "ax") == (6, 4)
    # the layers that stay keep their weights
    assert np.array_equal(weights(k, "a1")["dense_1/kernel"], w0["dense_1/kernel"])
    k.ok("%add a1 Dense(3, activation='softmax', name='head')")
    rows, totals = summary(k, "a1")
    assert [r[0] for r in rows] == ["dense_1", "head"] and rows[-1][2] == "(None, 3)"
    assert totals["Total"] == 12 + 4 * 3 + 3
    w = weights(k, "a1")
    p = np_repr(k.ok("%predict a1 ax").result)
    x = arr(k, "ax").astype(np.float64)
    np.testing.assert_allclose(p, dense(dense(x, w, "dense_1", "relu"), w, "head", "softmax"), rtol=1e-5)
    # compiled, then a layer added: the next fit trains it without recompiling
    k.ok("%compile a1 optimizer=SGD(lr=0.5) loss=categorical_crossentropy")
    k.ok("%add a1 Dense(3, activation='softmax', name='head2')")
    before = weights(k, "a1")
    k.ok("%fit a1 ax ay verbose=0")
    after = weights(k, "a1")
    assert not np.array_equal(before["head2/kernel"], after["head2/kernel"])
    # pop to nothing, then add: the input shape stays
    for _ in range(3):
        k.ok("%pop a1")
    assert re.search(r"^a1 .*0 layers", who(k), re.M)
    k.ok("%add a1 Dense(5)")
    rows, _ = summary(k, "a1")
    assert len(rows) == 1 and rows[0][1:4] == ("Dense", "(None, 5)", 2 * 5 + 5), rows
    assert arr_shape_of_predict(k, "a1", "ax") == (6, 5)
    k.ok("%del ax ay a1")


def arr_shape_of_predict(k, model, x):
    k.ok(f"%predict {model} {x} as=_pshape")
    shape = arr(k, "_pshape").shape
    k.ok("%del _pshape")
    return shape


def test_loss_that_stops_fitting_after_pop_is_refused(k):
    k.ok("%seed 1\n%let qx = random(6, 2)\n%let qy = one_hot([0, 1, 2, 3, 0, 1], 4)")
    k.ok("%%model q1\nDense(4, activation='relu', input_shape=(2,))\nDense(2, activation='softmax')")
    k.ok("%compile q1 optimizer=sgd loss=categorical_crossentropy")
    k.ok("%pop q1")
    refused(k, "%fit q1 qx qy", "ValueError", ["relu", "softmax"], models=("q1",))
    refused(k, "%evaluate q1 qx qy", "ValueError", ["relu", "softmax"], models=("q1",))
    k.ok("%add q1 Activation('softmax')")
    k.ok("%fit q1 qx qy verbose=0")
    k.ok("%del qx qy q1")


# ---------------------------------------------------------------- weight files

def test_save_and_load_weights_round_trip(k, tmp_path):
    k.ok("%seed 13\n%let sx = random(5, 2)")
    k.ok("%%model r1\nDense(3, activation='relu', input_shape=(2,))\nBatchNormalization()\nDense(2, name='top')")
    k.ok("%compile r1 optimizer=SGD(lr=0.1) loss=mse")
    w0 = weights(k, "r1")
    p0 = np_repr(k.ok("%predict r1 sx").result)
    for name in ("r1.h5", "r1.weights.h5"):
        path = tmp_path / name
        out = k.ok(f"%save_weights r1 {path}").stdout
        assert str(path) in out and path.stat().st_size > 0
        k.ok("%let sy = zeros((5, 2))")
        k.ok("%fit r1 sx sy verbose=0")
        assert not same_weights(weights(k, "r1"), w0)
        k.ok(f"%load_weights r1 {path}")
        assert same_weights(weights(k, "r1"), w0), name
        np.testing.assert_array_equal(np_repr(k.ok("%predict r1 sx").result), p0)
    # Keras 3's layout, as Keras 3 reads it: layers/<class-numbered>/vars/<i>
    with h5py.File(tmp_path / "r1.weights.h5") as f:
        assert "layers" in f
        dense_vars = [f[f"layers/{g}/vars"] for g in f["layers"] if g.startswith("dense")]
        assert any(np.array_equal(v["0"][()], w0["top/kernel"]) for v in dense_vars)
    # an existing file is replaced
    old = (tmp_path / "r1.h5").read_bytes()
    k.ok("%fit r1 sx sy verbose=0")
    k.ok(f"%save_weights r1 {tmp_path / 'r1.h5'}")
    assert (tmp_path / "r1.h5").read_bytes() != old
    assert same_weights(read_h5(tmp_path / "r1.h5"), weights(k, "r1"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r1.h5", "r1.weights.h5"]   # no temporary left
    # frozen layers stay frozen through a load
    k.ok("%freeze r1 upto=2")
    k.ok(f"%load_weights r1 {tmp_path / 'r1.weights.h5'}")
    assert [r[4] for r in summary(k, "r1")[0]] == ["N", "N", "Y"]
    k.ok("%del sx sy r1")


def test_load_weights_by_name(k, tmp_path):
    k.ok("%seed 14")
    k.ok("%%model b1\nDense(3, input_shape=(2,), name='a')\nDense(2, name='b')")
    k.ok("%%model b2\nDense(3, input_shape=(2,), name='b_other')\nDense(2, name='c')")
    k.ok("%%model b3\nDense(3, input_shape=(2,), name='z')\nDense(3, name='a')")
    k.ok(f"%save_weights b1 {tmp_path / 'b1.h5'}")
    w1 = weights(k, "b1")
    # in order (the default): b2's layers take b1's whatever their names
    k.ok(f"%load_weights b2 {tmp_path / 'b1.h5'}")
    w2 = weights(k, "b2")
    assert np.array_equal(w2["b_other/kernel"], w1["a/kernel"]) and np.array_equal(w2["c/kernel"], w1["b/kernel"])
    # by name: only the layers the file has; the others keep their weights
    k.ok("%%model b4\nDense(3, input_shape=(2,), name='x')\nDense(2, name='b')")
    w4 = weights(k, "b4")
    k.ok(f"%load_weights b4 {tmp_path / 'b1.h5'} by_name=True")
    got = weights(k, "b4")
    assert np.array_equal(got["b/kernel"], w1["b/kernel"]) and np.array_equal(got["x/kernel"], w4["x/kernel"])
    # by name, a layer whose shapes differ: the error names it and both shapes, nothing loads
    refused(k, f"%load_weights b3 {tmp_path / 'b1.h5'} by_name=True", "ValueError",
            ["layer a", "(2, 3)", "(3, 3)"], models=("b3",), folders=(tmp_path,))
    k.ok("%del b1 b2 b3 b4")


def test_load_weights_that_do_not_fit_change_nothing(k, tmp_path):
    """The first layer fits, the second does not: no layer may change."""
    k.ok("%seed 15")
    k.ok("%%model c1\nDense(3, input_shape=(2,))\nDense(2)")
    k.ok("%%model c2\nDense(3, input_shape=(2,))\nDense(4)")
    k.ok(f"%save_weights c2 {tmp_path / 'c2.h5'}")
    cell = refused(k, f"%load_weights c1 {tmp_path / 'c2.h5'}", "ValueError",
                   ["dense_2", "(3, 4)", "(3, 2)"], models=("c1",), folders=(tmp_path,))
    assert "c2.h5" in cell.error["evalue"]
    k.ok("%del c1 c2")


# ---------------------------------------------------------------- image batches

def test_batches_predict_evaluate_fit_against_numpy(k, world):
    root = world
    files = sorted(p.relative_to(root / "imgs") for p in (root / "imgs").rglob("*.png"))
    x = np.stack([np.asarray(Image.open(root / "imgs" / f).convert("L"), np.float64) / 255 for f in files])[..., None]
    labels = np.array([0 if str(f).startswith("ant") else 1 for f in files])
    k.ok("%seed 21")
    k.ok("%%model g1\nConv2D(2, (3, 3), activation='relu', input_shape=(6, 6, 1))\nMaxPooling2D((2, 2))\n"
         "Flatten()\nDense(2, activation='softmax')")
    k.ok("%compile g1 optimizer=SGD(lr=0.1) loss=categorical_crossentropy metrics=accuracy")
    w = weights(k, "g1")
    want = dense(maxpool(conv2d(x, w, "conv2d_1", activation="relu")).reshape(len(x), -1), w, "dense_1", "softmax")
    out = k.ok("%predict g1 b as=gp").stdout
    assert "gp" in out and "10" in out
    np.testing.assert_allclose(arr(k, "gp"), want, rtol=1e-4, atol=1e-6)
    k.ok("%let gpf = gp.filenames")
    assert list(arr(k, "gpf")) == [str(f) for f in files]
    k.ok("%let gpc = gp.classes\n%let gpn = gp.class_names")
    assert list(arr(k, "gpc")) == list(labels)
    assert list(arr(k, "gpn")) == ["ant", "bee"]
    assert re.search(r"^gp +predictions", who(k), re.M)
    # an unlabelled source: predictions without labels, in file order
    k.ok("%predict g1 bn as=gq")
    np.testing.assert_allclose(arr(k, "gq"), want, rtol=1e-4, atol=1e-6)
    # evaluate on batches: numpy's cross-entropy and accuracy over all 10 images
    got, _ = evaluate(k, "g1 b")
    y = np.eye(2)[labels]
    assert close(got["loss"], cce(want, y)) and got["examples"] == 10, got
    assert close(got["acc"], float(np.mean(want.argmax(1) == labels)), abs_=1e-4)
    # one epoch on batches of 4, 4 and 2 (shuffle=False): three SGD steps, the last on 2 images
    k.ok("%fit g1 b b verbose=0")
    rows = history_rows(k.ok("%history g1").texts()[-1])
    got2, _ = evaluate(k, "g1 b")
    assert close(float(rows[-1]["val_loss"]), got2["loss"], abs_=6e-5), (rows, got2)
    assert not same_weights(weights(k, "g1"), w)
    # a shuffled source trains too
    k.ok("%fit g1 bs epochs=2 verbose=0")
    assert len(history_rows(k.ok("%history g1").texts()[-1])) == 3
    k.ok("%del g1 gp gq gpf gpc gpn")


def test_finetune(k, world, tmp_path):
    k.ok("%seed 22")
    k.ok("%%model t1\nConv2D(2, (3, 3), activation='relu', input_shape=(6, 6, 1))\nFlatten()\n"
         "Dense(5, activation='relu')\nDense(3, activation='softmax')")
    w0 = weights(k, "t1")
    out = k.ok("%finetune t1 b").stdout
    assert "ant" in out and "bee" in out, out
    rows, totals = summary(k, "t1")
    assert [r[1] for r in rows] == ["Conv2D", "Flatten", "Dense", "Dense"]
    assert rows[-1][2] == "(None, 2)" and rows[-1][3] == 5 * 2 + 2
    assert [r[4] for r in rows] == ["N", "N", "N", "Y"]
    assert totals["Trainable"] == 12 and totals["Non-trainable"] == 20 + 32 * 5 + 5
    # compiled with Adam(lr=0.001), categorical_crossentropy and accuracy
    assert "0.001" in k.ok("%lr t1").stdout and "Adam" in k.ok("%lr t1").stdout
    line = next(ln for ln in who(k).splitlines() if ln.startswith("t1 "))
    assert "Adam" in line and "categorical_crossentropy" in line, line
    # the kept layers keep their weights; fitting moves only the new one
    w1 = weights(k, "t1")
    for n in ("conv2d_1/kernel", "dense_1/kernel"):
        assert np.array_equal(w1[n], w0[n])
    k.ok(f"%fit t1 b epochs=2 save={tmp_path}/ft{{epoch}}.h5 verbose=0")
    w2 = weights(k, "t1")
    moved = {n.split("/")[0] for n in w1 if not np.array_equal(w1[n], w2[n])}
    assert moved == {rows[-1][0]}, moved
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ft1.h5", "ft2.h5"]
    ev, text = evaluate(k, "t1 b")
    assert "acc" in ev
    # the model knows the class names: its predictions are labelled
    k.ok("%predict t1 b as=tp\n%let tpn = tp.class_names")
    assert list(arr(k, "tpn")) == ["ant", "bee"]
    # lr= sets Adam's learning rate
    k.ok("%%model t2\nDense(4, input_shape=(6, 6, 1))\nFlatten()\nDense(3, activation='softmax')")
    k.ok("%finetune t2 b lr=0.01")
    assert "0.01" in k.ok("%lr t2").stdout
    k.ok("%del t1 t2 tp tpn")


# ---------------------------------------------------------------- the commands are documented

COMMANDS = ["model", "compile", "summary", "finetune", "pop", "add", "trainable", "freeze", "lr", "fit",
            "evaluate", "predict", "history", "save_weights", "load_weights", "weights", "activations", "device"]


def test_every_command_has_help(k):
    listing = k.ok("%lsmagic").stdout
    assert "%%model NAME" in listing
    for c in COMMANDS:
        assert re.search(rf"^  %{c}\b", listing, re.M), c
        cell = k.ok(f"%{c}?")
        pages = [p["data"]["text/plain"] for p in cell.reply.get("payload", []) if "data" in p]
        assert pages and f"%{c}" in pages[0], c
    cell = k.ok("%%model?")
    assert "input_shape" in cell.reply["payload"][0]["data"]["text/plain"]
