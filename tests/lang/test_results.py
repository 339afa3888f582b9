"""Results a person can look at, through the real kernel (Debian's /usr/bin/python3 -m
pytest tests/lang/test_results.py): a tiny model trained with %%model/%compile/%fit on
real PNG files made with Pillow, so that some predictions are wrong, then every results
command checked against an independent computation from the predictions saved with %save
(numpy, scikit-learn, matplotlib's Blues):

- each %plots view returns a PNG of the size its metadata says, with as many tiles as it
  should; the images it lists are the ones the view picks by the numbers, and each one is
  in the picture pixel for pixel (as the model saw it, enlarged by nearest neighbour), in
  reading order; %plots BATCHES; the same seed gives the same PNG bytes;
- %confusion_matrix's counts are scikit-learn's, its cells coloured with Blues by the
  numbers shown (counts, or each row's shares with normalize=True);
- %submit's CSV: the exact header, one row per test image in id order, %d,%.5f, clipped;
- %logloss equals scikit-learn's log_loss within 1e-6, clipped and not;
- %top_losses and %most_confused pick what the numbers say; %plot_history;
- %FileLink's href, fetched relative to the notebook's URL from a real Jupyter server
  (the classic Notebook 6.4, and JupyterLab 4 as its renderer resolves links) that
  started the kernel in the notebook's folder, gives HTTP 200 and the file's bytes.
"""
import asyncio
import base64
import csv
import io
import json
import os
import pathlib
import posixpath
import re
import subprocess
import time
import urllib.parse
import urllib.request
import uuid

import pytest

np = pytest.importorskip("numpy")
Image = pytest.importorskip("PIL.Image")
metrics = pytest.importorskip("sklearn.metrics", reason="Debian's python3-sklearn")

from conftest import KERNEL  # noqa: E402

CLASSES = ["boots", "sneakers"]
SIZE = 28
TILE = 176 // SIZE          # 28x28 images are enlarged 6 times (draw.h's DN_TILE_BOX)
TEST_IDS = [17, 3, 250, 9, 1, 88, 41, 120, 5, 66, 7, 300]


def make_images(folder, counts, rng):
    """folder/<class>/<class>.<i>.png: noisy 28x28 grey images, the left half brighter for
    boots and the right half for sneakers by an amount drawn per image (sometimes the
    wrong way), so a linear model gets most but not all of them."""
    for c, cls in enumerate(CLASSES):
        (folder / cls).mkdir(parents=True)
        for i in range(counts[c]):
            amp = rng.normal(40, 45)
            img = rng.normal(110, 40, (SIZE, SIZE))
            half = slice(0, SIZE // 2) if c == 0 else slice(SIZE // 2, SIZE)
            img[:, half] += amp
            Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "L").save(folder / cls / f"{cls}.{i}.png")


@pytest.fixture(scope="module")
def lesson(kernel):
    """The trained model's predictions of a labelled validation folder (vp) and of an
    unlabelled test folder (tp), with what they know, read back with numpy."""
    root = pathlib.Path(kernel.cwd)
    rng = np.random.default_rng(7)
    make_images(root / "train", [40, 40], rng)
    make_images(root / "valid", [24, 12], rng)   # unbalanced: shares differ from counts
    (root / "test" / "unknown").mkdir(parents=True)
    for i in TEST_IDS:
        img = rng.normal(120, 50, (SIZE, SIZE))
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "L").save(root / "test" / "unknown" / f"{i}.png")
    opts = f"size={SIZE} color=grayscale preprocess=scale batch_size=16"
    kernel.ok(f"%seed 0\n%batches trn train {opts}\n%batches val valid {opts} shuffle=False\n"
              f"%batches tst test {opts} shuffle=False class_mode=None")
    kernel.ok("%%model m\nFlatten(input_shape=(28, 28, 1))\nDense(2, activation='softmax')")
    kernel.ok("%compile m optimizer=Adam(lr=0.02) loss=categorical_crossentropy metrics=accuracy")
    kernel.ok("%fit m trn val epochs=2 verbose=0")
    kernel.ok("%fit m trn val epochs=1 verbose=0")
    kernel.ok("%predict m val as=vp\n%predict m tst as=tp")
    kernel.ok("%let vy = vp.classes\n%let vf = vp.filenames\n%let vc = vp.class_names\n%let tf = tp.filenames")
    out = {}
    for name in ("vp", "vy", "vf", "vc", "tp", "tf"):
        kernel.ok(f"%save {name} {name}.npy overwrite=True")
        out[name] = np.load(root / f"{name}.npy")
    out["root"] = root
    pred = out["vp"].argmax(1)
    wrong = int((pred != out["vy"]).sum())
    assert list(out["vc"]) == CLASSES
    assert 0 < wrong < len(pred) // 2, f"the model should get some but not most wrong ({wrong})"
    return out


# ---------------------------------------------------------------- pictures

def picture(cell):
    """The one display with image/png: (RGB array, text/plain, PNG bytes)."""
    pics = [c for c in cell.displays if "image/png" in c["data"]]
    assert len(pics) == 1, cell
    png = base64.b64decode(pics[0]["data"]["image/png"])
    img = Image.open(io.BytesIO(png))
    md = pics[0]["metadata"]["image/png"]
    assert (md["width"], md["height"]) == img.size, "the metadata gives the PNG's size"
    assert img.mode == "RGB"
    return np.asarray(img), pics[0]["data"]["text/plain"], png


def listed(text):
    """The files the picture's text lists, in order ('  1. boots/boots.3.png  ...')."""
    return re.findall(r"^\s*\d+\. (\S+)", text, re.M)


def find_tile(arr, block):
    """Top-left corners where block (grey, h x w) sits in arr's R=G=B pixels exactly."""
    h, w = block.shape
    grey = arr[:, :, 0].astype(np.int16)
    same = (arr[:, :, 0] == arr[:, :, 1]) & (arr[:, :, 1] == arr[:, :, 2])
    hits = []
    ys, xs = np.nonzero(grey[: grey.shape[0] - h + 1, : grey.shape[1] - w + 1] == block[0, 0])
    for y, x in zip(ys, xs):
        if (grey[y, x:x + w] == block[0]).all() and (grey[y:y + h, x:x + w] == block).all() \
                and same[y:y + h, x:x + w].all():
            hits.append((int(y), int(x)))
    return hits


def check_tiles(arr, folder, files):
    """Each file is in the picture once, as the model saw it (28x28 grey, the file itself
    here) enlarged TILE times by nearest neighbour, and the tiles read in list order."""
    places = []
    for f in files:
        px = np.asarray(Image.open(folder / f).convert("L"), dtype=np.int16)
        hits = find_tile(arr, np.kron(px, np.ones((TILE, TILE), np.int16)))
        assert len(hits) == 1, (f, hits)
        places.append(hits[0])
    rows = sorted(set(y for y, _ in places))
    assert places == sorted(places, key=lambda p: (rows.index(p[0]), p[1])), places


def order_by(keys, idx):
    """idx sorted by keys (ascending), ties by index: the order the views use."""
    idx = np.asarray(idx)
    return list(idx[np.lexsort((idx, keys))])


def test_views_pick_the_right_images(kernel, lesson):
    p, y, files = lesson["vp"].astype(np.float64), lesson["vy"], lesson["vf"]
    folder = lesson["root"] / "valid"
    pred = p.argmax(1)
    for c, cls in enumerate(CLASSES):
        for view, pool in (("most_correct", np.nonzero((pred == c) & (y == c))[0]),
                           ("most_incorrect", np.nonzero((pred == c) & (y != c))[0])):
            cell = kernel.ok(f"%plots vp {view} {cls}")
            want = [files[i] for i in order_by(-p[pool, c], pool)][:4]
            if not want:
                assert not cell.displays and "No image" in cell.stdout, cell
                continue
            arr, text, _ = picture(cell)
            assert listed(text) == want, (view, cls, text)
            check_tiles(arr, folder, want)
    # uncertain: |P(sneakers) - 0.5|, smallest first
    arr, text, _ = picture(kernel.ok("%plots vp uncertain n=6"))
    want = [files[i] for i in order_by(np.abs(p[:, 1] - 0.5), np.arange(len(p)))][:6]
    assert listed(text) == want
    check_tiles(arr, folder, want)
    # the random views: the right pool, n of it, each once
    for view, pool in (("correct", set(np.nonzero(pred == y)[0])), ("incorrect", set(np.nonzero(pred != y)[0]))):
        arr, text, _ = picture(kernel.ok(f"%seed 3\n%plots vp {view}"))
        got = listed(text)
        assert len(got) == min(4, len(pool)) == len(set(got))
        assert {list(files).index(f) for f in got} <= pool
        check_tiles(arr, folder, got)
        assert 760 <= arr.shape[1] <= 840 or len(got) < 4, "four tiles make a row about 800 wide"


def test_the_same_seed_gives_the_same_png(kernel, lesson):
    a = picture(kernel.ok("%seed 5\n%plots vp correct n=6"))[2]
    b = picture(kernel.ok("%seed 5\n%plots vp correct n=6"))[2]
    assert a == b
    others = {picture(kernel.ok(f"%seed {s}\n%plots vp correct n=6"))[2] for s in range(6, 10)}
    assert any(o != a for o in others), "other seeds choose other images"


def test_plots_of_batches(kernel, lesson):
    arr, text, _ = picture(kernel.ok("%plots val n=5"))
    assert listed(text) == list(lesson["vf"][:5]), "unshuffled: the first images, in order"
    check_tiles(arr, lesson["root"] / "valid", listed(text))
    arr, text, _ = picture(kernel.ok("%seed 2\n%plots trn"))
    got = listed(text)
    assert len(got) == 8 == len(set(got))
    for line in re.findall(r"^\s*\d+\. (\S+)  (\S+)$", text, re.M):
        assert line[0].split("/")[0] == line[1], "each title is the image's label"
    check_tiles(arr, lesson["root"] / "train", got)


def test_an_empty_view_says_so(kernel, lesson, tmp_path):
    """An easy folder the model gets right: no incorrect predictions, in words."""
    easy = lesson["root"] / "easy"
    for c, cls in enumerate(CLASSES):
        (easy / cls).mkdir(parents=True)
        img = np.full((SIZE, SIZE), 40, np.uint8)
        img[:, (0 if c == 0 else SIZE // 2):(SIZE // 2 if c == 0 else SIZE)] = 250
        Image.fromarray(img, "L").save(easy / cls / f"{cls}.png")
    kernel.ok(f"%batches easy_b easy size={SIZE} color=grayscale preprocess=scale shuffle=False")
    kernel.ok("%predict m easy_b as=ep")
    cell = kernel.ok("%plots ep incorrect")
    assert not cell.displays and "No incorrect predictions" in cell.stdout, cell


# ---------------------------------------------------------------- tables and numbers

def table_rows(text):
    return [re.split(r"\s{2,}", line.strip()) for line in text.splitlines()]


def blues(t):
    """matplotlib's Blues (Debian's python3-matplotlib) as 0..255 RGB."""
    matplotlib = pytest.importorskip("matplotlib")
    return np.array(matplotlib.colormaps["Blues"](t)[:3]) * 255


def cell_colours_present(arr, values):
    """Each value's Blues colour (by value / the largest) fills a cell's worth of pixels."""
    vmax = max(values)
    for v in values:
        want = blues(v / vmax if vmax else 0)
        near = (np.abs(arr.astype(np.int16) - want).max(axis=2) <= 2).sum()
        assert near >= 5000, (v, want, near)


def test_confusion_matrix_equals_sklearn(kernel, lesson):
    p, y = lesson["vp"], lesson["vy"]
    cm = metrics.confusion_matrix(y, p.argmax(1), labels=[0, 1])
    cell = kernel.ok("%confusion_matrix vp")
    arr, text, _ = picture(cell)
    tables = [c for c in cell.displays if "text/html" in c["data"]]
    assert len(tables) == 1 and "<table" in tables[0]["data"]["text/html"]
    rows = table_rows(tables[0]["data"]["text/plain"])
    head = next(i for i, r in enumerate(rows) if r[0] == "true \\ predicted")
    assert rows[head][1:] == CLASSES
    got = [[int(v.replace(",", "")) for v in rows[head + 1 + i][1:]] for i in range(2)]
    assert [r[0] for r in rows[head + 1: head + 3]] == CLASSES
    assert got == cm.tolist()
    assert f"[[{cm[0, 0]:2d} {cm[0, 1]:2d}]\n [{cm[1, 0]:2d} {cm[1, 1]:2d}]]" in text or str(cm) in text
    cell_colours_present(arr, cm.ravel().tolist())
    # normalised: the colours follow the shares (classes are unbalanced, so they differ
    # from the counts' colours)
    share = cm / cm.sum(axis=1, keepdims=True)
    arr, text, _ = picture(kernel.ok("%confusion_matrix vp normalize=True"))
    cell_colours_present(arr, share.ravel().tolist())
    assert f"{share[0, 0]:.2f}" in text and f"{share[1, 1]:.2f}" in text


def test_logloss_equals_sklearn(kernel, lesson):
    p, y = lesson["vp"].astype(np.float64), lesson["vy"]
    cell = kernel.ok("%logloss vp")
    rows = table_rows(cell.result)
    allrow = next(r for r in rows if r[0] == "all: the log loss")
    raw, clipped = float(allrow[2]), float(allrow[3])
    assert abs(raw - metrics.log_loss(y, p, eps=1e-15)) < 1e-6
    assert abs(clipped - metrics.log_loss(y, np.clip(p, 0.05, 0.95))) < 1e-6
    pt = p[np.arange(len(y)), y]
    mistakes = next(r for r in rows if r[0].startswith("confident mistakes"))
    assert int(mistakes[1]) == int((pt < 0.05).sum()) > 0
    # the lesson's point: a few confident mistakes are most of the loss, and clipping cuts it
    assert float(mistakes[2]) > raw / 2 and clipped < raw
    cell = kernel.ok("%logloss vp clip=(0.2, 0.8)")
    allrow = next(r for r in table_rows(cell.result) if r[0] == "all: the log loss")
    assert abs(float(allrow[3]) - metrics.log_loss(y, np.clip(p, 0.2, 0.8))) < 1e-6
    assert "<table" in cell.results[-1]["data"]["text/html"]


def test_submit_writes_the_lessons_csv(kernel, lesson):
    root = lesson["root"]
    kernel.ok("%mkdir -p results")
    cell = kernel.ok("%submit tp results/sub.csv")
    text = (root / "results" / "sub.csv").read_text()
    lines = text.splitlines()
    assert lines[0] == "id,label" and text.endswith("\n")
    ids = [int(pathlib.Path(f).stem) for f in lesson["tf"]]
    order = np.argsort(ids)
    assert len(lines) == 1 + len(ids)
    want = ["%d,%.5f" % (ids[i], min(max(float(lesson["tp"][i, 1]), 0.05), 0.95)) for i in order]
    assert lines[1:] == want
    rows = list(csv.reader(io.StringIO(text)))
    assert [int(r[0]) for r in rows[1:]] == sorted(TEST_IDS)
    assert all(0.05 <= float(r[1]) <= 0.95 for r in rows[1:])
    assert all(re.fullmatch(r"\d+,\d\.\d{5}", line) for line in lines[1:])
    head = cell.displays[0]["data"]
    assert "<table" in head["text/html"] and want[0].split(",")[1] in head["text/html"]
    assert "href='results/sub.csv'" in cell.displays[1]["data"]["text/html"]
    # refusals leave the file as it was
    kernel.fails("%submit tp results/sub.csv", "FileExistsError", "overwrite=True")
    kernel.fails("%submit vp results/v.csv", "ValueError", "id")
    assert (root / "results" / "sub.csv").read_text() == text and not (root / "results" / "v.csv").exists()
    kernel.ok("%submit tp results/sub.csv column=boots clip=None overwrite=True")
    lines = (root / "results" / "sub.csv").read_text().splitlines()
    assert lines[1:] == ["%d,%.5f" % (ids[i], float(lesson["tp"][i, 0])) for i in order]


def test_top_losses_and_most_confused(kernel, lesson):
    p, y, files = lesson["vp"].astype(np.float64), lesson["vy"], lesson["vf"]
    loss = -np.log(np.maximum(p[np.arange(len(y)), y], 1e-15))
    arr, text, _ = picture(kernel.ok("%top_losses vp n=6"))
    want = [files[i] for i in order_by(-loss, np.arange(len(y)))][:6]
    assert listed(text) == want
    check_tiles(arr, lesson["root"] / "valid", want)
    cm = metrics.confusion_matrix(y, p.argmax(1), labels=[0, 1])
    rows = table_rows(kernel.ok("%most_confused vp").result)
    pairs = [(r[0], r[1], int(r[2])) for r in rows[2:]]
    want = sorted([(CLASSES[i], CLASSES[j], int(cm[i, j])) for i in range(2) for j in range(2)
                   if i != j and cm[i, j] >= 1], key=lambda t: -t[2])
    assert pairs == want


def test_plot_history(kernel, lesson):
    """The curves' numbers are %history's: 3 epochs over 2 fits, with validation."""
    arr, text, _ = picture(kernel.ok("%plot_history m"))
    assert "3 epochs" in text and "(2 fits)" in text and arr.shape[1] >= 700
    drawn = [r.split() for r in text.splitlines() if re.match(r"^\s+\d+\s+\d", r)]
    hist = [r.split() for r in kernel.ok("%history m").texts()[0].splitlines()
            if re.match(r"^\s*\d+\s+\d+\s+\d", r)]
    assert len(drawn) == len(hist) == 3
    for d, h in zip(drawn, hist):
        assert d[0] == h[0] and d[1:5] == h[2:6], (d, h)   # epoch; loss acc val_loss val_acc


def test_refusals(kernel, lesson):
    kernel.fails("%plots vp incorect", "UsageError", "Did you mean incorrect?")
    kernel.fails("%plots vp most_correct dogs", "ValueError", "not a class", "boots, sneakers")
    kernel.fails("%plots tp incorrect", "ValueError", "no true labels")
    kernel.fails("%confusion_matrix tp", "ValueError", "no true labels")
    kernel.fails("%plots vp correct n=0", "UsageError", "n")
    kernel.fails("%FileLink nope.csv", "FileNotFoundError", "nope.csv")
    kernel.fails("%submit tp missing/sub.csv", "FileNotFoundError", "missing")
    assert not (lesson["root"] / "missing").exists()


# ---------------------------------------------------------------- %FileLink through a server

DEBIAN_PY = "/usr/bin/python3"
VENV_PY = pathlib.Path(__file__).resolve().parents[2] / ".venv" / "bin" / "python"


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, argv, root, home):
        self.token = uuid.uuid4().hex
        self.port = free_port()
        spec = home / "share" / "kernels" / "deepnb"
        spec.mkdir(parents=True)
        (spec / "kernel.json").write_text(json.dumps({
            "argv": [str(KERNEL), "kernel", "-f", "{connection_file}"],
            "display_name": "deepnb", "language": "deepnb"}))
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("JUPYTER", "JPY_", "PYTHON", "VIRTUAL_ENV"))}
        env.update(HOME=str(home), JUPYTER_PATH=str(home / "share"),
                   JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_DATA_DIR=str(home / "data"),
                   JUPYTER_RUNTIME_DIR=str(home / "runtime"), JUPYTER_PLATFORM_DIRS="1")
        argv = [a.format(port=self.port, token=self.token, root=root) for a in argv]
        if os.geteuid() == 0:
            argv.append("--allow-root")
        self.log = open(home / "server.log", "wb")
        self.proc = subprocess.Popen(argv, env=env, cwd=root, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 90
        while True:
            try:
                self.get("/api/status")
                break
            except OSError:
                assert self.proc.poll() is None, (home / "server.log").read_text()[-3000:]
                assert time.monotonic() < deadline, "the server did not answer"
                time.sleep(0.3)

    def request(self, path, method="GET", body=None):
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"token {self.token}"})
        return urllib.request.urlopen(req, timeout=30)

    def get(self, path):
        with self.request(path) as r:
            return r.status, r.read(), r.geturl()

    def api(self, path, method="GET", body=None):
        with self.request(path, method, body) as r:
            return json.loads(r.read() or b"null")

    def stop(self):
        import signal
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.log.close()


def execute(server, kernel_id, code):
    """Runs code in the server's kernel over its websocket; the HTML of the results."""
    tornado = pytest.importorskip("tornado.websocket")
    from tornado.httpclient import HTTPRequest

    async def go():
        url = f"ws://127.0.0.1:{server.port}/api/kernels/{kernel_id}/channels"
        ws = await tornado.websocket_connect(HTTPRequest(url, headers={"Authorization": f"token {server.token}"}))
        msg_id = uuid.uuid4().hex
        ws.write_message(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "test",
                       "session": uuid.uuid4().hex, "date": "", "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell",
            "content": {"code": code, "silent": False, "store_history": True,
                        "user_expressions": {}, "allow_stdin": False}}))
        html, errors = [], []
        while True:
            raw = await asyncio.wait_for(ws.read_message(), 60)
            assert raw is not None, "the websocket closed"
            m = json.loads(raw)
            if m.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            t = m["header"]["msg_type"]
            if t in ("execute_result", "display_data") and "text/html" in m["content"]["data"]:
                html.append(m["content"]["data"]["text/html"])
            elif t == "error":
                errors.append(m["content"]["evalue"])
            elif t == "status" and m["content"]["execution_state"] == "idle":
                break
        ws.close()
        return html, errors

    return asyncio.run(go())


@pytest.mark.parametrize("stack", ["classic", "lab"])
def test_filelink_opens_the_file_through_jupyter(tmp_path, stack):
    """The server starts the kernel for work/nb.ipynb in work/; after %cd elsewhere, the
    link still points from the notebook's folder; fetched as the page resolves it, it
    gives the file's bytes."""
    if stack == "classic":
        argv = [DEBIAN_PY, "-m", "notebook", "--no-browser", "--ip=127.0.0.1", "--port={port}",
                "--port-retries=0", "--NotebookApp.token={token}", "--notebook-dir={root}"]
        if subprocess.run([DEBIAN_PY, "-c", "import notebook"], capture_output=True).returncode:
            pytest.skip("Debian's jupyter-notebook is not installed")
    else:
        if not VENV_PY.exists():
            pytest.skip(".venv (JupyterLab 4) is not made: scripts/install-deps.sh")
        argv = [str(VENV_PY), "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
                "--ServerApp.port={port}", "--ServerApp.port_retries=0",
                "--IdentityProvider.token={token}", "--ServerApp.root_dir={root}"]
    root = tmp_path / "root"
    work = root / "work"
    (work / "results").mkdir(parents=True)
    (work / "nb.ipynb").write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    files = {"results/sub.csv": os.urandom(3000), "results/a b#1.csv": b"id,label\n1,0.5\n"}
    for name, data in files.items():
        (work / name).write_bytes(data)
    home = tmp_path / "home"
    home.mkdir()
    server = Server(argv, str(root), home)
    try:
        session = server.api("/api/sessions", "POST", {"path": "work/nb.ipynb", "type": "notebook",
                                                       "name": "nb.ipynb", "kernel": {"name": "deepnb"}})
        kid = session["kernel"]["id"]
        html, errors = execute(server, kid, "%cd results\n%FileLink sub.csv\n%FileLink 'a b#1.csv'\n%cd ..")
        assert not errors and len(html) == 2, (html, errors)
        for (name, data), h in zip(files.items(), html):
            href = re.search(r"href='([^']*)'", h).group(1)
            assert not href.startswith(("/", "http")), href
            if stack == "classic":
                # the browser resolves the href against the notebook page's URL
                url = urllib.parse.urljoin("/notebooks/work/nb.ipynb", href)
            else:
                # JupyterLab's renderer resolves it against the notebook's folder and
                # points the link at the file's download URL (rendermime's handleUrls)
                path = posixpath.normpath(posixpath.join("work", urllib.parse.unquote(href)))
                url = "/files/" + urllib.parse.quote(path)
            status, body, final = server.get(url)
            assert status == 200 and body == data, (href, url, final, status, len(body))
            assert "/files/work/results/" in final, final   # classic: redirected to the file
        server.api(f"/api/sessions/{session['id']}", "DELETE")
    finally:
        server.stop()
