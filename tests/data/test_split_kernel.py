"""%split and %batches through the real kernel process under jupyter_client, on
competition-shaped folders of real JPEG/PNG files: exact counts in the table and on
disk, no file lost or doubled (checksums), the same split for the same %seed, refusal of
a split folder, a split stopped part-way (an obstacle; an interrupt of the kernel) that
running %split again finishes exactly, Jeremy's process done by hand with ! lines,
%cd and %mkdir, and %batches' Found lines.

Runs under Debian's /usr/bin/python3 (jupyter_client 7.4, Pillow); the kernel is
$DEEPNB_BUILD/kernel/deepnb (default <repo>/build), found through a temporary
kernelspec on JUPYTER_PATH."""
import hashlib
import io
import json
import os
import pathlib
import random
import re
import shutil
import time
from queue import Empty

import pytest

Image = pytest.importorskip("PIL.Image", reason="needs Pillow: run with Debian's /usr/bin/python3")
jupyter_client = pytest.importorskip("jupyter_client")

REPO = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("DEEPNB_BUILD") or REPO / "build")
KERNEL = BUILD / "kernel" / "deepnb"
JOURNAL = ".deepnb-split.journal"


# ---------------------------------------------------------------- the kernel

class Kernel:
    def __init__(self, km, kc, gate):
        self.km, self.kc = km, kc
        self.gate = gate    # DEEPNB_SPLIT_GATE: open (the file exists) unless a test shuts it

    def send(self, code):
        return self.kc.execute(code, store_history=True)

    def collect(self, msg_id, timeout=120):
        """Every iopub message of the request until idle, and its reply."""
        out = {"msgs": [], "stdout": "", "stderr": "", "displays": [], "updates": [], "error": None}
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            assert left > 0, "the kernel did not finish the cell in time"
            try:
                msg = self.kc.get_iopub_msg(timeout=left)
            except Empty:
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            t, c = msg["msg_type"], msg["content"]
            out["msgs"].append(msg)
            if t == "stream":
                out[c["name"]] += c["text"]
            elif t == "display_data":
                out["displays"].append(msg)
            elif t == "update_display_data":
                out["updates"].append(msg)
            elif t == "error":
                out["error"] = c
            elif t == "status" and c["execution_state"] == "idle":
                break
        while True:
            reply = self.kc.get_shell_msg(timeout=max(1, deadline - time.monotonic()))
            if reply["parent_header"].get("msg_id") == msg_id:
                out["reply"] = reply["content"]
                return out

    def run(self, code, timeout=120):
        return self.collect(self.send(code), timeout)

    def ok(self, code, timeout=120):
        r = self.run(code, timeout)
        assert r["reply"]["status"] == "ok", (code, r["error"], r["stderr"][-2000:])
        return r


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    assert KERNEL.exists(), f"{KERNEL} is not built (set DEEPNB_BUILD to the meson build folder)"
    spec_root = tmp_path_factory.mktemp("jupyter")
    spec = spec_root / "kernels" / "deepnb-datatest"
    spec.mkdir(parents=True)
    gate = spec_root / "split-gate"
    gate.touch()
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(KERNEL), "kernel", "-f", "{connection_file}"],
        "display_name": "deepnb (data tests)", "language": "deepnb", "interrupt_mode": "signal",
        "env": {"DEEPNB_SPLIT_GATE": str(gate)}}))
    saved = {k: os.environ.get(k) for k in ("JUPYTER_PATH", "JUPYTER_RUNTIME_DIR")}
    os.environ["JUPYTER_PATH"] = str(spec_root)
    os.environ["JUPYTER_RUNTIME_DIR"] = str(spec_root / "runtime")
    work = tmp_path_factory.mktemp("work")
    km = jupyter_client.KernelManager(kernel_name="deepnb-datatest")
    km.start_kernel(cwd=str(work))
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=30)
        yield Kernel(km, kc, gate)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# ---------------------------------------------------------------- data

def competition(d, ncat=160, ndog=140, ntest=60, seed=0):
    """DIR/train/{cat,dog}.N.jpg and DIR/test/N.png: small real images, all different."""
    rng = random.Random(seed)
    (d / "train").mkdir(parents=True)
    (d / "test").mkdir()
    for cls, n in (("cat", ncat), ("dog", ndog)):
        for i in range(n):
            im = Image.frombytes("RGB", (16, 12), rng.randbytes(16 * 12 * 3))
            im.save(d / "train" / f"{cls}.{i}.jpg", quality=90)
    for i in range(1, ntest + 1):
        Image.frombytes("L", (12, 12), rng.randbytes(144)).save(d / "test" / f"{i}.png")
    return d


def plain_files(d, n_cat, n_dog, n_test):
    """A big folder of small files for the interrupt test (a split moves files, it never
    reads them)."""
    (d / "train").mkdir(parents=True)
    (d / "test").mkdir()
    for cls, n in (("cat", n_cat), ("dog", n_dog)):
        for i in range(n):
            (d / "train" / f"{cls}.{i}.jpg").write_bytes(f"{cls} {i}\n".encode())
    for i in range(1, n_test + 1):
        (d / "test" / f"{i}.jpg").write_bytes(f"test {i}\n".encode())
    return d


def sums(d):
    """{relative path: sha256} of every visible file under d."""
    return {str(p.relative_to(d)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(d.rglob("*")) if p.is_file() and not p.name.startswith(".")}


def count(d):
    return sum(1 for p in d.iterdir() if p.is_file()) if d.is_dir() else 0


def table(r):
    """The split table's text/plain twin as {row: [numbers...]} (test/unknown: [total])."""
    texts = [m["content"]["data"]["text/plain"] for m in r["displays"]
             if "<table" in m["content"]["data"].get("text/html", "")]
    assert len(texts) == 1, r["displays"]
    lines = texts[0].strip().splitlines()
    head = lines[0].split()
    rows = {}
    for line in lines[1:]:
        cells = line.split()
        rows[cells[0]] = [int(c) for c in cells[1:] if c != "-"]
    return head, rows


def check_split(before, d, valid, sample_train, sample_valid, classes=("cat", "dog")):
    """Every file of train/ and test/ is in exactly one place, in its class folder, with
    its bytes; the sample folders hold copies of training / validation files."""
    after = sums(d)
    train_files = {k[len("train/"):]: v for k, v in before.items() if k.startswith("train/")}
    test_files = {k[len("test/"):]: v for k, v in before.items() if k.startswith("test/")}
    placed = {}
    for rel, h in after.items():
        parts = rel.split("/")
        if parts[0] in ("train", "valid"):
            assert len(parts) == 3 and parts[2].split(".")[0] == parts[1], rel
            assert parts[2] not in placed, f"{parts[2]} is in two places"
            placed[parts[2]] = (parts[0], h)
    assert {k: v[1] for k, v in placed.items()} == train_files, "a training file was lost or changed"
    assert sum(1 for v in placed.values() if v[0] == "valid") == valid
    unknown = {rel.split("/", 2)[2]: h for rel, h in after.items() if rel.startswith("test/unknown/")}
    assert unknown == test_files
    assert not [rel for rel in after if rel.startswith("test/") and not rel.startswith("test/unknown/")]
    for folder, n, source in (("sample/train", sample_train, "train"), ("sample/valid", sample_valid, "valid")):
        copies = {rel.split("/")[-1]: h for rel, h in after.items() if rel.startswith(folder + "/")}
        assert len(copies) == n
        for name, h in copies.items():
            assert placed[name] == (source, h), f"{folder}/{name} is not a copy of a {source} file"
    for c in classes:
        for folder in ("train", "valid", "sample/train", "sample/valid"):
            assert (d / folder / c).is_dir()
    for folder in ("results", "sample/test", "sample/results"):
        assert (d / folder).is_dir()
    assert not (d / JOURNAL).exists()


# ---------------------------------------------------------------- tests

def test_split_counts_checksums_and_refusal(kernel, tmp_path):
    d = competition(tmp_path / "dogscats")
    before = sums(d)
    r = kernel.ok(f"%seed 42\n%split {d} valid=60 sample_train=20 sample_valid=10")
    head, rows = table(r)
    assert head == ["folder", "cat", "dog", "total"]
    for folder in ("train", "valid", "sample/train", "sample/valid"):
        disk = [count(d / folder / "cat"), count(d / folder / "dog")]
        assert rows[folder] == disk + [sum(disk)], folder
    assert [rows[f][-1] for f in ("train", "valid", "sample/train", "sample/valid")] == [240, 60, 20, 10]
    assert rows["test/unknown"] == [60] and count(d / "test" / "unknown") == 60
    assert rows["train"][0] + rows["valid"][0] == 160
    assert "Moved 60 files to valid/" in r["stdout"]
    check_split(before, d, 60, 20, 10)

    split = sums(d)
    r = kernel.run(f"%split {d}")
    assert r["reply"]["status"] == "error"
    assert r["error"]["ename"] == "FileExistsError"
    assert "looks split already" in r["error"]["evalue"] and "valid/" in r["error"]["evalue"]
    assert sums(d) == split, "the refusal touched files"


def test_same_seed_same_split(kernel, tmp_path):
    folders = [competition(tmp_path / n, 50, 50, 10, seed=1) for n in ("a", "b", "c")]
    for d, seed in zip(folders, (7, 7, 8)):
        kernel.ok(f"%seed {seed}\n%split {d} valid=30 sample_train=10 sample_valid=5")
    a, b, c = (sums(d) for d in folders)
    assert a == b
    assert a != c


def test_obstacle_then_split_again_finishes(kernel, tmp_path):
    d = competition(tmp_path / "x", 60, 60, 20, seed=2)
    ref = competition(tmp_path / "ref", 60, 60, 20, seed=2)
    before = sums(d)
    (d / "results").write_text("a file where the results folder goes\n")
    r = kernel.run(f"%seed 5\n%split {d} valid=40 sample_train=10 sample_valid=6")
    assert r["reply"]["status"] == "error"
    assert r["error"]["ename"] == "OSError"
    msg = r["error"]["evalue"]
    assert "making results/" in msg and "Done so far" in msg and "finishes the job" in msg
    assert (d / JOURNAL).exists()
    (d / "results").unlink()
    r = kernel.ok(f"%split {d}")
    assert "Finishing the unfinished split" in r["stdout"]
    check_split(before, d, 40, 10, 6)
    kernel.ok(f"%seed 5\n%split {ref} valid=40 sample_train=10 sample_valid=6")
    assert sums(d) == sums(ref)


def moves_done(d):
    """Files the split has moved so far: those in the class folders and test/unknown/."""
    return sum(count(sub) for top in ("train", "valid") if (d / top).is_dir()
               for sub in (d / top).iterdir() if sub.is_dir()) + count(d / "test" / "unknown")


def test_interrupt_then_split_again_finishes(kernel, tmp_path):
    """The split pauses before its middle move while the gate (DEEPNB_SPLIT_GATE, see
    runtime/data/split.c) is shut; the interrupt comes there, so it stops at a known
    step every time. A lost interrupt leaves the split waiting: the cell does not end."""
    ref = plain_files(tmp_path / "bigref", 300, 300, 100)
    d = plain_files(tmp_path / "big", 300, 300, 100)
    moves = 300 + 300 + 100
    before = sums(d)
    kernel.ok("%seed 9")
    kernel.gate.unlink()
    try:
        msg_id = kernel.send(f"%split {d} valid=120")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and moves_done(d) < moves // 2:
            time.sleep(0.01)
        time.sleep(0.3)
        assert moves_done(d) == moves // 2, "the split did not stop at the gate"
        kernel.km.interrupt_kernel()
        r = kernel.collect(msg_id, timeout=30)
    finally:
        kernel.gate.touch()
    assert r["reply"]["status"] == "error"
    assert r["error"]["ename"] == "KeyboardInterrupt", r["error"]
    assert "interrupted at step" in r["error"]["evalue"]
    assert f"Done so far: {moves // 2} of {moves} moves" in r["error"]["evalue"], r["error"]["evalue"]
    assert (d / JOURNAL).exists()
    # consistent while stopped: every file of train/ and test/ once, none lost; the
    # sample copies made so far are copies of them
    now = sums(d)
    assert sorted(h for k, h in now.items() if not k.startswith("sample/")) == sorted(before.values())
    assert set(h for k, h in now.items() if k.startswith("sample/")) <= set(before.values())
    r = kernel.ok(f"%split {d}")
    assert "Finishing the unfinished split" in r["stdout"]
    _, rows = table(r)
    assert rows["valid"][-1] == 120 and rows["train"][-1] == 480 and rows["test/unknown"] == [100]
    check_split(before, d, 120, 200, 50)
    r = kernel.ok(f"%seed 9\n%split {ref} valid=120")
    assert sums(d) == sums(ref)
    # a progress line, when the split was long enough to show one, is updated in place
    ids = [m["content"]["transient"]["display_id"] for m in r["displays"]
           if m["content"].get("transient", {}).get("display_id")]
    for u in r["updates"]:
        assert u["content"]["transient"]["display_id"] in ids


def test_by_hand_with_shell_lines(kernel, tmp_path):
    """LESSON.md §1.1 with ls, shuf, head, mv, cp, pipes, %cd and %mkdir."""
    d = competition(tmp_path / "hand", 100, 80, 30, seed=3)
    before = sums(d)
    # a fixed random source makes shuf repeatable (and so the test)
    (tmp_path / "randsrc").write_bytes(random.Random(0).randbytes(1 << 16))
    shuf = f"shuf --random-source={tmp_path}/randsrc"
    cells = [
        f"%cd {d}",
        "%mkdir -p valid results sample sample/train sample/valid sample/test sample/results test/unknown",
        "%cd train",
        f"!ls | {shuf} | head -n 40 | xargs -I{{}} mv {{}} ../valid/",
        f"!ls | {shuf} -n 16 | xargs -I{{}} cp {{}} ../sample/train/",
        f"%cd ../valid\n!ls | {shuf} -n 8 | xargs -I{{}} cp {{}} ../sample/valid/\n%cd ..",
        "!for f in train valid sample/train sample/valid; do (cd $f && mkdir cats dogs && mv cat.*.jpg cats/ && mv dog.*.jpg dogs/); done",
        "!mv test/*.png test/unknown/",
    ]
    for c in cells:
        kernel.ok(c)
    r = kernel.ok("!for f in train valid sample/train sample/valid; do echo $f $(ls $f/cats | wc -l) $(ls $f/dogs | wc -l); done")
    got = {line.split()[0]: [int(x) for x in line.split()[1:]] for line in r["stdout"].splitlines()}
    assert {k: sum(v) for k, v in got.items()} == {"train": 140, "valid": 40, "sample/train": 16, "sample/valid": 8}
    assert got["train"][0] + got["valid"][0] == 100
    for folder, (cats, dogs) in got.items():
        assert [count(d / folder / "cats"), count(d / folder / "dogs")] == [cats, dogs]
    assert count(d / "test" / "unknown") == 30
    after = sums(d)
    moved = {k.split("/")[-1]: v for k, v in after.items() if k.split("/")[0] in ("train", "valid")}
    assert sorted(moved) == sorted(k.split("/")[-1] for k in before if k.startswith("train/"))
    assert all(before["train/" + name] == h for name, h in moved.items())
    r = kernel.ok(f"%batches hand_train {d}/train size=16")
    assert r["stdout"] == "Found 140 images belonging to 2 classes.\n"
    kernel.ok(f"%cd {tmp_path}")


def test_batches_found_lines_and_who(kernel, tmp_path):
    d = competition(tmp_path / "b", 40, 30, 12, seed=4)
    kernel.ok(f"%seed 1\n%split {d} valid=20 sample_train=8 sample_valid=4")
    (d / "train" / "dog" / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    r = kernel.ok(f"%batches trn {d}/train size=32 batch_size=16")
    assert r["stdout"].splitlines()[0] == "Found 50 images belonging to 2 classes."
    assert "Skipped 1 file" in r["stdout"]
    assert "dog/broken.jpg" in r["stderr"]
    r = kernel.ok(f"%batches val {d}/valid shuffle=False")
    assert r["stdout"] == "Found 20 images belonging to 2 classes.\n"
    r = kernel.ok(f"%batches tst {d}/test shuffle=False class_mode=None")
    assert r["stdout"] == "Found 12 images belonging to 1 classes.\n"
    r = kernel.ok(f"%batches smp {d}/sample/train size=28 color=grayscale preprocess=scale")
    assert r["stdout"] == "Found 8 images belonging to 2 classes.\n"
    r = kernel.ok("%who batches")
    lines = {line.split()[0]: line for line in r["stdout"].splitlines()[1:]}
    assert {"trn", "val", "tst", "smp"} <= set(lines)
    assert "50 images, 2 classes, batch 16" in lines["trn"]
    assert "in file order" in lines["val"] and "unlabelled" in lines["tst"]
    assert "28x28 grayscale" in lines["smp"]
    # a failed %batches leaves the name as it was
    r = kernel.run(f"%batches val {d}/nothere")
    assert r["error"]["ename"] == "FileNotFoundError"
    r = kernel.ok("%who batches")
    assert "20 images, 2 classes" in [l for l in r["stdout"].splitlines() if l.startswith("val ")][0]
