"""Writes the seed corpora of tests/fuzz (corpus/<harness>/) from real, valid inputs:
messages signed by jupyter_client's Session, .npy files from numpy, images from Pillow,
weight files from h5py in Keras' layouts; and the inputs that showed the defects of
issue 12 (regress/<harness>/). Run with Debian's Python from the repository root:

    /usr/bin/python3 tests/fuzz/make_seeds.py

The same bytes every run (fixed ids, dates and seeds), so a re-run changes nothing."""
import io
import json
import struct
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
KEY = b"fuzz-key-5f3c8e2a"      # the key the harnesses sign and verify with
DELIM = b"<IDS|MSG>"


def chunk(b):
    """An fz_chunk record: 2-byte little-endian length, then the bytes."""
    assert len(b) < 65536
    return struct.pack("<H", len(b)) + b


def write(kind, harness, name, data):
    d = HERE / kind / harness
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


# ---------------------------------------------------------------- Jupyter messages

def session():
    from jupyter_client.session import Session
    return Session(key=KEY, username="fuzz", session="fuzz-session")


def frames(msg_type, content, n, ids=(b"\x00k\x8bEg",), parent=None, metadata=None,
           buffers=()):
    """A message as the client sends it, signed with KEY, through Session.serialize."""
    s = session()
    msg = {
        "header": {"msg_id": f"fuzz-{n}", "msg_type": msg_type, "username": "fuzz",
                   "session": "fuzz-session", "date": "2024-01-31T12:34:56.123456Z",
                   "version": "5.3"},
        "parent_header": parent or {},
        "metadata": metadata or {},
        "content": content,
        "buffers": list(buffers),
    }
    return s.serialize(msg, ident=list(ids))


def encode(fs):
    return b"".join(chunk(f) for f in fs)


SHELL_REQUESTS = [
    ("kernel_info_request", {}),
    ("execute_request", {"code": "p hello\nd <b>x</b>\nr 42", "silent": False,
                         "store_history": True, "user_expressions": {}, "allow_stdin": True,
                         "stop_on_error": True}),
    ("execute_request", {"code": "x ValueError", "silent": False, "store_history": True,
                         "allow_stdin": False, "stop_on_error": True}),
    ("execute_request", {"code": "i name?\np done", "allow_stdin": True}),
    ("complete_request", {"code": "%comp", "cursor_pos": 5}),
    ("complete_request", {"code": "%let y = x + ", "cursor_pos": 13}),
    ("inspect_request", {"code": "%fit", "cursor_pos": 2, "detail_level": 0}),
    ("inspect_request", {"code": "%split", "cursor_pos": 6, "detail_level": 1}),
    ("is_complete_request", {"code": "%compile m optimizer=SGD(lr="}),
    ("is_complete_request", {"code": "%%model m\nDense(1)"}),
    ("history_request", {"output": False, "raw": True, "hist_access_type": "tail", "n": 3}),
    ("history_request", {"output": True, "raw": True, "hist_access_type": "range",
                         "session": 0, "start": 1, "stop": 3}),
    ("history_request", {"hist_access_type": "search", "pattern": "%l*", "unique": True}),
    ("comm_info_request", {}),
    ("comm_open", {"comm_id": "c1", "target_name": "jupyter.widget", "data": {}}),
    ("comm_msg", {"comm_id": "c1", "data": {}}),
    ("shutdown_request", {"restart": True}),
    ("interrupt_request", {}),
]

# issue 12, defect 3: JSON reals and integers out of int's range in history_request
DEFECT3 = [
    {"hist_access_type": "tail", "n": 1e300},
    {"hist_access_type": "tail", "n": 4294967298},
    {"hist_access_type": "tail", "n": -1e300},
    {"hist_access_type": "range", "session": 0, "start": -1e19, "stop": 3},
    {"hist_access_type": "range", "session": -9223372036854775807, "start": 1},
    {"hist_access_type": "search", "pattern": "*", "n": 1e19, "unique": True},
]


def wire_and_core():
    for i, (t, c) in enumerate(SHELL_REQUESTS):
        fs = frames(t, c, i)
        write("corpus", "wire", f"{i:02d}-{t}", b"\x00" + encode(fs))
        write("corpus", "core", f"{i:02d}-{t}", b"\x00" + chunk(encode(fs)))
    # a reply with a parent and buffers; no key; a signature left to the harness
    fs = frames("execute_reply", {"status": "ok", "execution_count": 1}, 90,
                parent={"msg_id": "p", "msg_type": "execute_request"},
                metadata={"started": "2024-01-31T12:34:56Z"}, buffers=[b"\x00\x01\x02", b""])
    write("corpus", "wire", "90-reply-buffers", b"\x00" + encode(fs))
    fs[2] = b""
    write("corpus", "wire", "91-unsigned", b"\x02" + encode(fs))
    write("corpus", "wire", "92-resign", b"\x01" + encode(frames("execute_request",
                                                                  {"code": "x"}, 92)))
    # a session: executes queued behind a failing one, an input reply, control requests
    ex = lambda code, n: frames("execute_request", {"code": code, "allow_stdin": True}, n)
    recs = [(0, ex("p one", 1)), (0, ex("x Boom", 2)), (0, ex("p queued", 3)),
            (0, frames("complete_request", {"code": "%p", "cursor_pos": 2}, 4)),
            (1, frames("kernel_info_request", {}, 5)), (1, frames("interrupt_request", {}, 6)),
            (0, ex("i say?\np ok", 7)),
            (2, frames("input_reply", {"value": "yes"}, 8, ids=())),
            (1, frames("shutdown_request", {"restart": False}, 9))]
    write("corpus", "core", "50-session", b"".join(bytes([ch]) + chunk(encode(f)) for ch, f in recs))
    # bad input: wrong channel, unknown type, bad content, bad signature
    bad = [(1, frames("execute_request", {"code": "p x"}, 1)),
           (0, frames("frobnicate_request", {}, 2)),
           (0, frames("complete_request", {"code": 7, "cursor_pos": "x"}, 3))]
    f = frames("execute_request", {"code": "p x"}, 4)
    f[2] = b"0" * 64
    bad.append((0, f))
    write("corpus", "core", "51-bad", b"".join(bytes([ch]) + chunk(encode(f)) for ch, f in bad))
    for i, c in enumerate(DEFECT3):
        fs = frames("history_request", c, 300 + i)
        write("regress", "core", f"defect3-history-{i}", b"\x00" + chunk(encode(fs)))


# ---------------------------------------------------------------- connection files

def connection():
    base = {"shell_port": 53794, "iopub_port": 53795, "stdin_port": 53796,
            "control_port": 53797, "hb_port": 53798, "ip": "127.0.0.1",
            "key": "a0436f6c-1916-498b-8eb9-e81ab9368e84", "transport": "tcp",
            "signature_scheme": "hmac-sha256", "kernel_name": "deepnb"}
    write("corpus", "connection", "tcp", json.dumps(base, indent=1).encode())
    ipc = dict(base, transport="ipc", ip="/tmp/deepnb-kernel", shell_port=0)
    write("corpus", "connection", "ipc", json.dumps(ipc).encode())
    v6 = dict(base, ip="::1", key="", signature_scheme="")
    write("corpus", "connection", "ipv6-nokey", json.dumps(v6).encode())
    write("corpus", "connection", "bad-port", json.dumps(dict(base, hb_port=70000)).encode())
    write("corpus", "connection", "bad-scheme",
          json.dumps(dict(base, signature_scheme="hmac-md5")).encode())


# ---------------------------------------------------------------- .npy

def npy():
    rng = np.random.default_rng(12)
    arrays = {
        "f32-2d": rng.random((3, 4), dtype=np.float32),
        "f64-fortran": np.asfortranarray(rng.random((2, 3, 2))),
        "f16": np.arange(6, dtype=np.float16).reshape(2, 3),
        "i64-labels": np.array([0, 1, 1, 0, 7], dtype=np.int64),
        "u8-image": rng.integers(0, 255, (2, 2, 2, 3), dtype=np.uint8),
        "bool": np.array([True, False, True]),
        "be-i32": np.arange(4, dtype=">i4"),
        "scalar": np.float32(3.5),
        "empty": np.zeros((0, 3), dtype=np.float32),
        "u16": np.arange(5, dtype=np.uint16),
        "unicode": np.array(["train/cat.1.jpg", "valid/dog.2.jpg", "ünïcödé"]),
        "bytes": np.array([b"a", b"bc", b""]),
    }
    for name, a in arrays.items():
        b = io.BytesIO()
        np.save(b, a)
        write("corpus", "npy", name, b.getvalue())
    for version in [(2, 0), (3, 0)]:
        b = io.BytesIO()
        np.lib.format.write_array(b, np.ones((2, 2), dtype=np.float32), version=version)
        write("corpus", "npy", f"version-{version[0]}", b.getvalue())


# ---------------------------------------------------------------- images

def images():
    from PIL import Image
    rng = np.random.default_rng(7)
    px = rng.integers(0, 255, (13, 17, 3), dtype=np.uint8)
    rgb = Image.fromarray(px)
    grey = rgb.convert("L")
    out = {}
    for name, img, fmt, kw in [
        ("jpeg-420", rgb, "JPEG", {"quality": 80, "subsampling": 2}),
        ("jpeg-444", rgb, "JPEG", {"quality": 90, "subsampling": 0}),
        ("jpeg-422", rgb, "JPEG", {"quality": 90, "subsampling": 1}),
        ("jpeg-grey", grey, "JPEG", {}),
        ("jpeg-progressive", rgb, "JPEG", {"progressive": True}),
        ("jpeg-cmyk", rgb.convert("CMYK"), "JPEG", {}),
        ("png-rgb", rgb, "PNG", {}),
        ("png-rgba", rgb.convert("RGBA"), "PNG", {}),
        ("png-palette", rgb.convert("P"), "PNG", {}),
        ("png-grey", grey, "PNG", {}),
        ("png-interlaced", rgb, "PNG", {"interlace": 1}),
        ("png-16bit", Image.fromarray((px[:, :, 0].astype(np.uint16) * 257)), "PNG", {}),
        ("bmp-24", rgb, "BMP", {}),
        ("bmp-palette", rgb.convert("P"), "BMP", {}),
        ("bmp-grey", grey, "BMP", {}),
    ]:
        b = io.BytesIO()
        img.save(b, fmt, **kw)
        out[name] = b.getvalue()
    # a big JPEG for the DCT-scaled planes path (224 from 600 x 400)
    big = Image.fromarray(np.kron(px, np.ones((31, 36, 1), dtype=np.uint8))[:400, :600])
    b = io.BytesIO()
    big.save(b, "JPEG", quality=30)
    out["jpeg-600x400"] = b.getvalue()
    for i, (name, data) in enumerate(out.items()):
        # parameters: output width, height (1 + byte % 64), preprocessing (byte % 3)
        write("corpus", "image", name, bytes([(7 * i) % 64, (5 * i + 3) % 64, i % 3]) + data)


# ---------------------------------------------------------------- the cell language

ARGS = [
    "m optimizer=SGD(lr=0.1) loss=mse metrics=[accuracy]",
    "NAME DIR [valid=2000] sample_train=200 sample_valid=50",
    "batches data/train size=224 batch_size=64 shuffle=True class_mode=None preprocess=vgg",
    "m train valid epochs=3 save=results/ft{epoch}.h5",
    "preds clip=(0.05, 0.95) column='dog' n=4",
    "x 'a b' \"c\\\"d\" -p 1e-3 -1 0.001 None False (1,) (a) [1, [2, (3, 4)]]",
    "Dense(2, activation='softmax', input_shape=(2,))",
    "m (\n  1,\n  2",
]

CELLS = [
    "%seed 42\n%let x = random(30, 2)\n%let y = x @ [2., 3.] + 1.\nx[:5]",
    "%%model lm\nDense(1, input_shape=(2,))",
    "%%model m\nConv2D(4, (3, 3), activation='relu', input_shape=(8, 8, 1))\n"
    "MaxPooling2D()\nFlatten()\nDropout(0.5)\nBatchNormalization()\nDense(2, activation='softmax')\n",
    "%let a = one_hot([0, 2, 1], 3)\nargmax(a, axis=-1) == [0, 2, 1]\n%who\n%del a",
    "%compile lm optimizer=SGD(lr=0.1) loss=mse\n%summary lm\n%weights lm",
    "%fit?\n%split??\n?%lsmagic",
    "%compile m optimizer=Adam(lr=0.001,\n   beta_1=0.9) loss=categorical_crossentropy \\\n metrics=[accuracy]",
    "!ls data | shuf -n 5\n%ls train",
    "# a comment\n%pwd  # and another\n%%html\n<b>late</b>",
    "%%markdown\n# Title\n*text*",
    "%let p = clip(random(4, 2), 0.05, 0.95)\n%logloss p",
]

EXPRS = [
    "x @ [2., 3.] + 1.", "preds[:5]", "x.T.shape", "argmax(preds, axis=1) == y",
    "mean(x, axis=0) - sum(x) / 6", "reshape(arange(6), (2, 3))[1, ::-1]",
    "one_hot(y, 3)", "clip(x, -0.5, 0.5) * (x > 0)", "s[1]", "random((2, 2)) < 0.5",
    "log(exp(abs(-x)))", "sqrt(round(x * 10) ** 2)", "zeros((2, 0))", "ones(3)[-1]",
    "preds.class_names", "b & b", "[[1, 2], [3, 4]] @ [[1], [2]]", "t + 1",
]


def language():
    for i, a in enumerate(ARGS):
        write("corpus", "args", f"{i:02d}", a.encode())
    for i, c in enumerate(CELLS):
        write("corpus", "cell", f"{i:02d}", bytes([(37 * i) % 256]) + c.encode())
    for i, e in enumerate(EXPRS):
        write("corpus", "expr", f"{i:02d}", e.encode())
    # issue 12, defect 1: 40 KB of nested brackets overflowed the stack (parse_value /
    # parse_items, dn_value_format, value_free), through execute and is_complete
    nest = "(" * 40000
    write("regress", "args", "defect1-nested-40k", nest.encode())
    write("regress", "args", "defect1-nested-mixed", ("([f(" * 10000).encode())
    write("regress", "cell", "defect1-ls-nested", b"\xff" + ("%ls " + nest).encode())
    write("regress", "cell", "defect1-let-nested", b"\x00" + ("%let z = " + "-(" * 20000).encode())
    write("regress", "expr", "defect1-expr-nested", ("[" * 40000 + "1").encode())
    # defect 2: a 400 KB list took 43 s (column_at counted from the start for every value)
    big = "[" + ", ".join(["1"] * 40000) + "]"
    write("regress", "args", "defect2-long-list", big.encode())
    write("regress", "cell", "defect2-ls-long-list", b"\x80" + ("%ls " + big).encode())
    write("regress", "expr", "defect2-long-list", big.encode())


# ---------------------------------------------------------------- weight files

# fuzz_weights' recipe (see write_file there): indices into its tables
LAYER = {"conv2d_1": 0, "batch_normalization_1": 1, "flatten_1": 2, "dense_1": 3,
         "conv2d": 5, "dense": 6, "batch_normalization": 8, "flatten": 9}
ARRAY = {"kernel:0": 0, "bias:0": 1, "gamma:0": 2, "beta:0": 3, "moving_mean:0": 4,
         "moving_variance:0": 5}
MODEL = [("conv2d_1", [(3, 3, 1, 2), (2,)]),
         ("batch_normalization_1", [(2,), (2,), (2,), (2,)]),
         ("flatten_1", []),
         ("dense_1", [(8, 3), (3,)])]
K2_NAMES = {0: ["kernel:0", "bias:0"], 1: ["gamma:0", "beta:0", "moving_mean:0", "moving_variance:0"],
            3: ["kernel:0", "bias:0"]}


def own(name):
    return bytes([0xf0, len(name)]) + name.encode()


def array(shape, kind=0, seed=1):
    n = int(np.prod(shape)) if shape else 1
    return bytes([kind, len(shape)]) + bytes(shape) + bytes((seed * 31 + 7 * i) % 256 for i in range(n))


def recipe(layout, layers, by_name=0):
    out = bytes([by_name, layout, len(layers) - 1])
    for name, body in layers:
        out += name + body
    return out


def keras2(layout=20, vlen=0, names=None, shapes=None, th=False):
    layers = []
    for i, (lname, arrs) in enumerate(MODEL):
        body = bytes([len(arrs)])
        for k, shape in enumerate(arrs):
            if th and len(shape) == 4:
                shape = (shape[3], shape[2], shape[0], shape[1])
            aname = names[i][k] if names else bytes([ARRAY[K2_NAMES[i][k]]])
            body += aname + bytes([1 if not names else 0]) + array(shape, seed=i + k)
        body += bytes([vlen])
        layers.append((bytes([LAYER[lname]]), body))
    return recipe(layout, layers)


def keras3(name_attr=1):
    layers = []
    for lname, group in [("conv2d_1", "conv2d"), ("batch_normalization_1", "batch_normalization"),
                         ("flatten_1", "flatten"), ("dense_1", "dense")]:
        arrs = dict(MODEL)[lname]
        body = bytes([name_attr, len(arrs)])
        for k, shape in enumerate(arrs):
            body += bytes([0]) + array(shape, kind=k % 2, seed=k)
        layers.append((bytes([LAYER[group]]), body))
    return recipe(3, layers)


def weights():
    write("corpus", "weights", "keras2", keras2())
    write("corpus", "weights", "keras2-vlen-names", keras2(layout=20 | 128, vlen=1))
    write("corpus", "weights", "keras2-whole-model", keras2(layout=2 | 4 | 16))
    k1 = [[own("conv2d_1_W"), own("conv2d_1_b")],
          [own("batch_normalization_1_gamma"), own("batch_normalization_1_beta"),
           own("batch_normalization_1_running_mean"), own("batch_normalization_1_running_std")],
          [], [own("dense_1_W"), own("dense_1_b")]]
    write("corpus", "weights", "keras1", keras2(layout=0, names=k1))
    write("corpus", "weights", "keras1-theano", keras2(layout=4 | 8 | 16 | 32, names=k1, th=True))
    write("corpus", "weights", "keras3", keras3())
    write("corpus", "weights", "keras3-no-names", keras3(name_attr=0))
    write_h5_files()


def keras2_h5(path, model, version="2.2.4", vlen=False):
    """A Keras 2 weight file as Keras' save_weights writes it through h5py."""
    import h5py
    with h5py.File(path, "w", track_order=False) as f:
        def strings(names):
            return np.array([n.encode() for n in names]) if not vlen else names
        f.attrs["layer_names"] = strings([n for n, _ in model])
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = version.encode()
        rng = np.random.default_rng(3)
        for lname, arrs in model:
            g = f.create_group(lname)
            wn = [f"{lname}/{a}:0" for a, _ in arrs]
            g.attrs["weight_names"] = strings(wn) if wn else np.zeros((0,), dtype=np.float64)
            for (a, shape), n in zip(arrs, wn):
                g.create_dataset(n, data=rng.random(shape, dtype=np.float32))


def keras3_h5(path):
    """Keras 3's .weights.h5 layout, as its save_weights writes it through h5py."""
    import h5py
    rng = np.random.default_rng(4)
    with h5py.File(path, "w") as f:
        f.create_group("vars").attrs["name"] = "sequential"
        for group, lname, shapes in [("dense", "dense_1", [(2, 3), (3,)]),
                                     ("dense_1", "dense_2", [(3, 1), (1,)])]:
            v = f.create_group(f"layers/{group}/vars")
            v.attrs["name"] = lname
            for i, s in enumerate(shapes):
                v.create_dataset(str(i), data=rng.random(s, dtype=np.float32))


def write_h5_files():
    # fuzz_h5_isolated loads into Dense(2 -> 3), Dense(3 -> 1)
    model = [("dense_1", [("kernel", (2, 3)), ("bias", (3,))]),
             ("dense_2", [("kernel", (3, 1)), ("bias", (1,))])]
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        for name, make in [("keras2.h5", lambda p: keras2_h5(p, model)),
                           ("keras2-vlen.h5", lambda p: keras2_h5(p, model, vlen=True)),
                           ("keras1.h5", lambda p: keras2_h5(p, model, version="1.2.2")),
                           ("keras3.weights.h5", keras3_h5)]:
            p = Path(tmp) / name
            make(str(p))
            write("corpus", "h5_isolated", name, p.read_bytes())
    # issue 12, defect 5: a Keras file whose global heap is damaged; Debian's libhdf5 1.10.8
    # crashes in H5HG_read reading it (tests/io's fixture)
    fixture = HERE.parent / "io" / "fixtures" / "crashes-libhdf5.h5"
    write("regress", "h5_isolated", "defect5-crashes-libhdf5.h5", fixture.read_bytes())


def main():
    wire_and_core()
    connection()
    npy()
    images()
    language()
    weights()
    for extra in sys.argv[1:]:
        print("unknown argument", extra)


if __name__ == "__main__":
    main()
