"""Arrays through the real kernel: %let, lines that are an expression, %save/%load,
checked against numpy (Debian's /usr/bin/python3 -m pytest tests/lang/test_arrays.py).

What is compared: the lesson's x and y, broadcasting and reductions, .npy files in both
directions (int64, bool, float64, strings), numpy's repr of small and summarised arrays,
the HTML table of 2-D arrays, each refusal leaving %who and files as they were, %seed's
repeatability, and a batches object's .classes/.labels/.filenames against its folder.
"""
import pathlib

import numpy as np
import pytest

Image = pytest.importorskip("PIL.Image")


def load(kernel, name):
    """NAME saved by the kernel, read back with numpy."""
    path = pathlib.Path(kernel.cwd) / f"{name}.npy"
    kernel.ok(f"%save {name} {path} overwrite=True")
    return np.load(path)


def who(kernel):
    return kernel.ok("%who").stdout


def files(folder):
    return {p.name: p.read_bytes() for p in pathlib.Path(folder).iterdir() if p.is_file()}


def test_lesson_x_and_y(kernel):
    kernel.ok("%seed 42\n%let x = random(30, 2)\n%let y = x @ [2., 3.] + 1.")
    x, y = load(kernel, "x"), load(kernel, "y")
    assert x.dtype == np.float32 and x.shape == (30, 2)
    assert (x >= 0).all() and (x < 1).all() and len(np.unique(x)) == 60
    assert y.dtype == np.float32 and y.shape == (30,)
    # the product accumulates in double and is rounded once to float32, then + 1
    want = (x.astype(np.float64) @ [2.0, 3.0]).astype(np.float32) + np.float32(1)
    assert np.array_equal(y, want)
    np.testing.assert_allclose(y, x @ np.array([2, 3], np.float32) + 1, rtol=1e-6)
    # the same seed gives the same x
    kernel.ok("%seed 42\n%let x2 = random(30, 2)")
    assert np.array_equal(load(kernel, "x2"), x)
    kernel.ok("%del x2")


def test_broadcasting_and_reductions(kernel):
    kernel.ok("%seed 3\n%let a = random(4, 3) * 10 - 5\n%let b = random(3)\n%let c = random(4, 1)")
    a, b, c = load(kernel, "a"), load(kernel, "b"), load(kernel, "c")
    cases = {
        "a * b + c": a * b + c,
        "a - c": a - c,
        "a / b": a / b,
        "(a > 0) * a": (a > 0) * a,
        "a @ b": a.astype(np.float64) @ b,
        "a.T @ c": a.T.astype(np.float64) @ c,
        "sum(a, axis=0)": a.astype(np.float64).sum(axis=0),
        "sum(a)": a.astype(np.float64).sum(),
        "mean(a, axis=1)": a.astype(np.float64).mean(axis=1),
        "max(a, axis=0)": a.max(axis=0),
        "min(a)": a.min(),
        "clip(a, -1, 1)": np.clip(a, -1, 1),
        "exp(b)": np.exp(b),
        "log(b)": np.log(b),
        "sqrt(abs(a))": np.sqrt(np.abs(a)),
        "a[1:3, ::-1]": a[1:3, ::-1],
        "a[a > 0]": a[a > 0],
        "a[:, 1]": a[:, 1],
        "reshape(a, (3, 4)).T": a.reshape(3, 4).T,
        "round(a, 2)": np.round(a, 2),
        "a ** 2": a ** 2,
    }
    for expr, want in cases.items():
        kernel.ok(f"%let r = {expr}")
        got = load(kernel, "r")
        assert got.shape == np.shape(want), expr
        np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-6, err_msg=expr)
    # argmax: axis -1 unless told (numpy's default flattens: axis=None here)
    for expr, want in {"argmax(a)": np.argmax(a, axis=-1), "argmax(a, axis=0)": np.argmax(a, axis=0),
                       "argmax(a, axis=None)": np.argmax(a), "argmin(b)": np.argmin(b)}.items():
        kernel.ok(f"%let r = {expr}")
        got = load(kernel, "r")
        assert got.dtype == np.int64 and np.array_equal(got, want), expr
    kernel.ok("%let r = one_hot(argmax(a), 3)")
    assert np.array_equal(load(kernel, "r"), np.eye(3, dtype=np.float32)[np.argmax(a, axis=-1)])
    kernel.ok("%let r = sum(a > 0, axis=0)")
    got = load(kernel, "r")
    assert got.dtype == np.int64 and np.array_equal(got, (a > 0).sum(axis=0))
    kernel.ok("%let r = a > b")
    got = load(kernel, "r")
    assert got.dtype == np.bool_ and np.array_equal(got, a > b)
    kernel.ok("%del a b c r")


def test_npy_from_numpy_and_back(kernel):
    cwd = pathlib.Path(kernel.cwd)
    arrays = {
        "i64": np.array([[3, -1, 7], [0, 12, -100]], dtype=np.int64),
        "bo": np.array([True, False, True]),
        "f64": np.array([[0.1, 2.5], [-3.75, 1e-3]]),
        "names": np.array(["cats/cat.1.png", "dogs/dog.22.png", "é.png"]),
        "i32": np.arange(5, dtype=np.int32),
        "u8": np.array([[0, 255]], dtype=np.uint8),
        "f16": np.array([1.5, -2.0], dtype=np.float16),
        "scalar": np.float32(2.5),
    }
    for name, arr in arrays.items():
        np.save(cwd / f"np_{name}.npy", arr)
        kernel.ok(f"%load {name} np_{name}.npy")
        back = load(kernel, name)
        if arr.dtype.kind in "iu":
            assert back.dtype == np.int64 and np.array_equal(back, arr), name
            shown = repr(arr.astype(np.int64))
        elif arr.dtype.kind == "b":
            assert back.dtype == np.bool_ and np.array_equal(back, arr), name
            shown = repr(arr)
        elif arr.dtype.kind == "U":
            assert back.dtype.kind == "U" and list(back) == list(arr), name
            shown = repr(arr)
        else:
            assert back.dtype == np.float32 and np.array_equal(back, arr.astype(np.float32)), name
            shown = repr(np.float32(arr)) if arr.shape == () else repr(arr.astype(np.float32))
        # a line that is only the name shows numpy's repr
        assert kernel.ok(name).result == shown, name
    kernel.ok("%del " + " ".join(arrays))


@pytest.mark.parametrize("expr", [
    "[[0.5, 0.25], [1, 2]]",
    "[1e-5, 1.0, 3.5]",
    "[1e10, -3.0]",
    "[[1, 22, 333], [-4, 5, 6]]",
    "[True, False, True]",
    "['a.png', 'bb.png']",
    "arange(3000) * 0.5",
    "reshape(arange(2400), (40, 60))",
    "reshape(arange(24) / 7, (2, 3, 4))",
    "zeros((2, 0))",
    "[]",
    "1 / 3",
    "[0.1, 0.2, 0.30000001]",
])
def test_repr_like_numpy(kernel, expr):
    kernel.ok(f"%let r = {expr}")
    arr = load(kernel, "r")
    if arr.dtype == np.float32 and arr.shape == ():
        want = repr(np.float32(arr))
    else:
        want = repr(arr)
    assert kernel.ok("r").result == want
    assert kernel.ok(expr).result == want


def test_random_repr_and_html(kernel):
    kernel.ok("%seed 0\n%let x = random(25, 3)")
    x = load(kernel, "x")
    cell = kernel.ok("x")
    assert cell.result == repr(x)
    html = cell.results[-1]["data"]["text/html"]
    assert "<table" in html and "(25, 3)" in html and "…" in html   # summarised past 20 rows
    assert html.count("<tr>") == 1 + 20 + 1                         # header, 10 + 10 rows, the … row
    one_d = kernel.ok("x[:, 0]").results[-1]["data"]
    assert "<table" in one_d["text/html"] and one_d["text/plain"] == repr(x[:, 0])
    scalar = kernel.ok("x[0, 0]").results[-1]["data"]
    assert scalar["text/plain"] == repr(np.float32(x[0, 0])) and "text/html" not in scalar
    # an expression line before the last is a display, the last the result
    cell = kernel.ok("x[0]\n%seed\nx[1]")
    assert [d["data"]["text/plain"] for d in cell.displays] == [repr(x[0])]
    assert cell.result == repr(x[1])
    kernel.ok("%del x")


def test_refusals_leave_workspace_and_files(kernel):
    cwd = pathlib.Path(kernel.cwd)
    kernel.ok("%seed 9\n%let x = random(30, 2)\n%let keep = [1, 2, 3]")
    kernel.ok(f"%save x {cwd}/x_saved.npy overwrite=True")
    before_who, before_files = who(kernel), files(cwd)
    before_x = kernel.ok("x").result

    def unchanged():
        assert who(kernel) == before_who
        assert files(cwd) == before_files
        assert kernel.ok("x").result == before_x

    kernel.fails("%let y = xx + 1", "NameError", "name 'xx' is not defined. Did you mean 'x'?")
    unchanged()
    kernel.fails("%let x = x + [1, 2, 3]", "ValueError",
                 "operands could not be broadcast together with shapes (30,2) (3,)")
    unchanged()
    kernel.fails("%let keep = x @ [1, 2, 3]", "ValueError", "matmul")
    unchanged()
    kernel.fails("%let x = x[30]", "IndexError", "index 30 is out of bounds for axis 0 with size 30")
    unchanged()
    kernel.fails("%load x missing.npy", "FileNotFoundError", "missing.npy")
    unchanged()
    (cwd / "notes.txt").write_text("not an array\n")
    before_files = files(cwd)
    kernel.fails("%load x notes.txt", "ValueError", "not a NumPy .npy file")
    unchanged()
    kernel.fails("%save keep x_saved.npy", "FileExistsError", "overwrite=True")
    unchanged()
    kernel.fails("%save kep x_new.npy", "NameError", "Did you mean 'keep'?")
    unchanged()
    kernel.fails("%seed 1\n%let y = [1,\n 2,", "SyntaxError", "never closed")
    unchanged()
    kernel.fails("hello world", "SyntaxError", "unexpected 'world'")
    unchanged()
    assert not (cwd / "x_new.npy").exists()
    kernel.ok("%del x keep")


def test_seed_repeats_random(kernel):
    kernel.ok("%seed 5\n%let a = random(4)\n%let b = random(4)")
    a, b = load(kernel, "a"), load(kernel, "b")
    kernel.ok("%seed 5\n%let c = random(4)")
    assert np.array_equal(load(kernel, "c"), a) and not np.array_equal(a, b)
    kernel.ok("%del a b c")


def test_is_complete(kernel):
    def status(code):
        msg_id = kernel.kc.is_complete(code)
        while True:
            reply = kernel.kc.get_shell_msg(timeout=10)
            if reply["parent_header"].get("msg_id") == msg_id:
                return reply["content"]["status"]
    assert status("x[1,") == "incomplete"
    assert status("%let y = [1,\n 2") == "incomplete"
    assert status("x )") == "invalid"
    assert status("x @ w + b") == "complete"
    assert status("(" * 100000) == "invalid"


def test_batches_attributes(kernel, tmp_path):
    root = tmp_path / "pets"
    names = {"cats": ["c1.png", "c2.png", "c3.png"], "dogs": ["d10.png", "d2.png"]}
    for k, (cls, files_) in enumerate(names.items()):
        (root / cls).mkdir(parents=True)
        for i, fn in enumerate(files_):
            Image.new("RGB", (12, 10), (40 * k, 20 * i, 100)).save(root / cls / fn)
    kernel.ok(f"%batches b {root} size=8 shuffle=False")
    filenames = [f"{cls}/{fn}" for cls in sorted(names) for fn in sorted(names[cls])]
    classes = [k for k, cls in enumerate(sorted(names)) for _ in names[cls]]
    kernel.ok("%let cl = b.classes\n%let lb = b.labels\n%let fn = b.filenames\n%let cn = b.class_names")
    cl, lb, fn, cn = (load(kernel, n) for n in ("cl", "lb", "fn", "cn"))
    assert cl.dtype == np.int64 and cl.tolist() == classes
    assert lb.dtype == np.float32 and np.array_equal(lb, np.eye(2, dtype=np.float32)[classes])
    assert fn.tolist() == filenames
    assert cn.tolist() == ["cats", "dogs"]
    assert kernel.ok("b.classes").result == repr(np.array(classes))
    assert kernel.ok("b.filenames").result == repr(np.array(filenames))
    assert kernel.ok("sum(b.labels, axis=0)").result == repr(np.array([3.0, 2.0], np.float32))
    kernel.fails("b.weights", "AttributeError", "'b' (batches) has no attribute 'weights'")
    kernel.fails("%let z = b * 2", "TypeError", "'b' is a batches object, not an array")
    cell = kernel.ok("b")
    assert cell.result.startswith("batches: 5 images, 2 classes")
    kernel.ok("%del b cl lb fn cn")
