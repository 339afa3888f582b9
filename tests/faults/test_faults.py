"""Faults against the real kernel process (under jupyter_client, Debian's python3), for
every kind of file the kernel writes: weights (%save_weights), arrays (%save .npy), the
submission CSV (%submit) and %split's moves and copies.

- full disk: a real file system that fills up, a 4 MiB tmpfs mounted over a test folder
  (tests run as root on CI machines of this kind, where mount works without extra
  tools; RLIMIT_FSIZE would send SIGXFSZ instead of ENOSPC, and an LD_PRELOAD'd write
  misses writes glibc and libhdf5 make internally). Without root it skips, and fails in
  CI (CI=true).
- SIGKILL while a file is being written, and in the middle of a split (held at its gate,
  DEEPNB_SPLIT_GATE);
- messages signed with the wrong key asking for each write;
- a flood of 5,000 execute requests whose replies are never read;
- a memory limit (ulimit -v) met by a cell and by writes made with memory nearly gone.
The rule each time: nothing lost. The old file is intact or the new one complete (the
same bytes as the same write made without the fault), no temporary file is left behind,
the workspace is unchanged, and the kernel still answers."""
import contextlib
import hashlib
import json
import os
import signal
import subprocess
import time

import pytest

np = pytest.importorskip("numpy")
h5py = pytest.importorskip("h5py")
Image = pytest.importorskip("PIL.Image")
zmq = pytest.importorskip("zmq")

from conftest import Kernel, kernel_in, start_kernel, stop_kernel  # noqa: E402

CI = os.environ.get("CI") == "true"
MODEL = "%%model m\nFlatten(input_shape=(32, 32, 1))\nDense(64, activation='relu')\nDense(2, activation='softmax')"
# each writer: the cell that writes FILE (replacing it), and the file's suffix
WRITERS = {
    "weights": ("%save_weights m {f}", ".h5"),
    "array": ("%save x {f} overwrite=True", ".npy"),
    "submission": ("%submit tp {f} overwrite=True", ".csv"),
}


def sha(p):
    return hashlib.sha256(p.read_bytes()).hexdigest() if p.exists() else None


def leftovers(folder):
    """Temporary files a write left behind (atomic writers name them *.tmp-XXXXXX)."""
    return sorted(p.name for p in folder.iterdir() if ".tmp-" in p.name)


def setup_workspace(k):
    """x (an array), m (a model of 65,666 weights), tp (predictions of 40 test images)."""
    root = k.cwd
    test = root / "imgs" / "test" / "unknown"
    test.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(3)
    for i in range(1, 41):
        Image.fromarray(rng.integers(0, 255, (32, 32), dtype=np.uint8), "L").save(test / f"{i}.png")
    k.ok("%seed 4\n%let x = random(128, 128)")
    k.ok(MODEL)
    k.ok("%compile m optimizer=SGD(lr=0.1) loss=categorical_crossentropy")
    k.ok(f"%batches tst {root / 'imgs' / 'test'} size=32 color=grayscale shuffle=False class_mode=None")
    k.ok("%predict m tst as=tp")


def snapshot(k):
    """What the workspace holds: %who, x's values, m's weights, tp's values."""
    return (k.ok("%who").stdout, k.ok("x").result, tuple(k.ok("%weights m").texts()), k.ok("tp").result)


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    with kernel_in(tmp_path_factory) as k:
        setup_workspace(k)
        k.state = snapshot(k)
        yield k


def reference(k, writer, folder):
    """The file the writer makes where nothing goes wrong."""
    cell, ext = WRITERS[writer]
    f = folder / f"ref-{writer}{ext}"
    k.ok(cell.format(f=f))
    return f


def kernel_ok(k):
    assert k.alive(), "the kernel does not answer"
    assert snapshot(k) == k.state, "the workspace changed"


# ---------------------------------------------------------------- full disk

@pytest.fixture
def disk(tmp_path):
    d = tmp_path / "disk"
    d.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(d)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        why = f"a full-disk test needs to mount a tmpfs (root): {r.stderr.strip()}"
        if CI:
            pytest.fail(why)
        pytest.skip(why)
    try:
        yield d
    finally:
        subprocess.run(["umount", "-l", str(d)], check=False)


def fill(disk, leave):
    """Fills disk until `leave` bytes are free (one filler file); returns the filler."""
    filler = disk / "filler"
    st = os.statvfs(disk)
    want = max(st.f_bavail * st.f_frsize - leave, 0)
    with open(filler, "ab") as f:
        with contextlib.suppress(OSError):
            f.write(b"\0" * want)
    return filler


@pytest.mark.parametrize("leave", [0, 8192, 65536], ids=["full", "8KiB-free", "64KiB-free"])
@pytest.mark.parametrize("old", [True, False], ids=["replacing", "new"])
@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_full_disk(work, tmp_path, disk, writer, old, leave):
    ref = reference(work, writer, tmp_path)
    cell, ext = WRITERS[writer]
    target = disk / f"out{ext}"
    if old:
        target.write_bytes(b"the old file, which must survive\n" * 100)
    before = sha(target)
    filler = fill(disk, leave)
    r = work.run(cell.format(f=target))
    if r.ok:
        assert sha(target) == sha(ref), "the cell succeeded but the file is not the whole new file"
    else:
        assert r.error["ename"] in ("OSError", "MemoryError"), r
        assert "space" in r.error["evalue"], r.error["evalue"]
        assert sha(target) == before, "a failed write changed the file"
    if leave == 0:
        assert not r.ok, "a write on a full disk succeeded"
    assert leftovers(disk) == []
    kernel_ok(work)
    # space again: the same write works and gives the reference's bytes
    filler.unlink()
    work.ok(cell.format(f=target))
    assert sha(target) == sha(ref)


def plain_competition(d, n=40, ntest=10):
    (d / "train").mkdir(parents=True)
    (d / "test").mkdir()
    for cls in ("cat", "dog"):
        for i in range(n):
            (d / "train" / f"{cls}.{i}.jpg").write_bytes(f"{cls} {i}\n".encode() * 50)
    for i in range(1, ntest + 1):
        (d / "test" / f"{i}.jpg").write_bytes(f"test {i}\n".encode() * 50)
    return d


def tree(d):
    return {str(p.relative_to(d)): sha(p) for p in sorted(d.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("leave", [0, 8192, 16384], ids=["full", "8KiB-free", "16KiB-free"])
def test_full_disk_split(work, tmp_path, disk, leave):
    d = plain_competition(disk / "dc")
    ref = plain_competition(tmp_path / "dc")
    before = tree(d)
    work.ok(f"%seed 6\n%split {ref} valid=20 sample_train=10 sample_valid=4")
    filler = fill(disk, leave)
    r = work.run(f"%seed 6\n%split {d} valid=20 sample_train=10 sample_valid=4")
    if leave == 0:
        assert not r.ok and "space" in r.error["evalue"], r
    if not r.ok:
        # no file lost: every original file is somewhere, with its bytes
        assert sorted(h for k, h in tree(d).items() if not k.startswith(("sample/", "."))) \
            == sorted(before.values())
    kernel_ok(work)
    filler.unlink()
    if not r.ok:
        r = work.run(f"%split {d}")
        if not r.ok:      # the journal itself could not be written: nothing began
            assert tree(d) == before
            r = work.run(f"%seed 6\n%split {d} valid=20 sample_train=10 sample_valid=4")
    assert r.ok, r
    assert tree(d) == tree(ref)


# ---------------------------------------------------------------- SIGKILL

def kill_when(k, path_test, timeout=60):
    """SIGKILLs the kernel as soon as path_test() is true (polled every millisecond)."""
    deadline = time.monotonic() + timeout
    while not path_test() and time.monotonic() < deadline:
        time.sleep(0.001)
    os.kill(k.km.provisioner.pid, signal.SIGKILL)
    k.km.provisioner.process.wait(10)


@pytest.fixture
def own_kernel(tmp_path_factory):
    """A kernel of the test's own, which the test may kill; stopped quietly afterwards."""
    k = start_kernel(tmp_path_factory.mktemp("jupyter"), tmp_path_factory.mktemp("work"))
    try:
        yield k
    finally:
        with contextlib.suppress(Exception):
            stop_kernel(k)


@pytest.mark.parametrize("writer", ["weights", "array", "submission"])
def test_sigkill_mid_write(own_kernel, tmp_path, writer):
    k = own_kernel
    setup_workspace(k)
    # big enough that the write takes a while: 1024x4096 weights, a 4096x4096 array
    k.ok("%%model m\nFlatten(input_shape=(32, 32, 1))\nDense(4096)\nDense(2, activation='softmax')")
    k.ok("%let x = random(4096, 4096)\n%predict m tst as=tp")
    cell, ext = WRITERS[writer]
    ref = reference(k, writer, tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    target = out / f"f{ext}"
    target.write_bytes(b"old\n" * 1000)
    old = sha(target)
    k.send(cell.format(f=target))
    kill_when(k, lambda: leftovers(out) or sha(target) != old)
    now = sha(target)
    assert now in (old, sha(ref)), "after SIGKILL the file is neither the old one nor the whole new one"
    if writer != "submission":   # 16 MB and 64 MB: the kill lands while the temporary is written
        assert leftovers(out) and now == old, "the kill did not land mid-write"
    # a temporary file may stay (nothing ran to remove it); the target never is one
    assert all(p.name.startswith((".f", "f")) for p in out.iterdir())


def test_sigkill_mid_split_then_finish(tmp_path_factory, tmp_path):
    gate = tmp_path / "gate"      # shut: the split waits before its middle move
    spec_root = tmp_path_factory.mktemp("jupyter")
    os.environ["DEEPNB_SPLIT_GATE"] = str(gate)
    try:
        k = start_kernel(spec_root, tmp_path_factory.mktemp("work"))
    finally:
        del os.environ["DEEPNB_SPLIT_GATE"]
    d = plain_competition(tmp_path / "dc", n=100, ntest=20)
    ref = plain_competition(tmp_path / "ref", n=100, ntest=20)
    try:
        k.send(f"%seed 3\n%split {d} valid=40 sample_train=20 sample_valid=10")
        moves = 220
        counted = lambda: sum(1 for p in d.rglob("*") if p.is_file() and len(p.relative_to(d).parts) == 3
                              and p.parts[-3] in ("train", "valid", "test"))
        deadline = time.monotonic() + 60
        while counted() < moves // 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)
        kill_when(k, lambda: True)
        assert counted() == moves // 2, "the split did not wait at its gate"
    finally:
        with contextlib.suppress(Exception):
            stop_kernel(k)
    assert (d / ".deepnb-split.journal").exists()
    gate.touch()
    with kernel_in(tmp_path_factory) as k2:
        r = k2.ok(f"%split {d}")
        assert "Finishing the unfinished split" in r.stdout
        k2.ok(f"%seed 3\n%split {ref} valid=40 sample_train=20 sample_valid=10")
    assert tree(d) == tree(ref)


# ---------------------------------------------------------------- wrong key

def sign(key, parts):
    import hmac
    h = hmac.new(key, digestmod=hashlib.sha256)
    for p in parts:
        h.update(p)
    return h.hexdigest().encode()


def test_wrong_key_writes_nothing(work, tmp_path):
    info = work.km.get_connection_info()
    s = zmq.Context.instance().socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(f"{info['transport']}://{info['ip']}:{info['shell_port']}")
    try:
        for writer, (cell, ext) in sorted(WRITERS.items()):
            for key in (b"not the key", b""):
                target = tmp_path / f"{writer}-{len(key)}{ext}"
                hdr = json.dumps({"msg_id": f"w-{writer}-{len(key)}", "session": "evil", "username": "e",
                                  "msg_type": "execute_request", "version": "5.3", "date": ""}).encode()
                content = json.dumps({"code": cell.format(f=target) + f"\n!touch {target}.ran",
                                      "silent": False, "store_history": True, "user_expressions": {},
                                      "allow_stdin": False, "stop_on_error": True}).encode()
                parts = [hdr, b"{}", b"{}", content]
                s.send_multipart([b"<IDS|MSG>", sign(key, parts)] + parts)
                assert not s.poll(500), "a message signed with the wrong key was answered"
                assert not target.exists() and not os.path.exists(f"{target}.ran"), "it ran"
    finally:
        s.close()
    kernel_ok(work)


# ---------------------------------------------------------------- flood

def test_flood_of_unread_executes(fresh_kernel, tmp_path):
    """5,000 execute requests from a client that never reads: every one runs, in order
    (the last writes a file); meanwhile and after, the kernel answers another client."""
    k = fresh_kernel
    k.ok("%let n = [0.]")
    info = k.km.get_connection_info()
    key = info["key"].encode() if isinstance(info["key"], str) else info["key"]
    s = zmq.Context.instance().socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.SNDHWM, 0)
    s.connect(f"{info['transport']}://{info['ip']}:{info['shell_port']}")
    out = tmp_path / "flood.npy"
    try:
        for i in range(5000):
            code = "%let n = n + 1" if i < 4999 else f"%save n {out}"
            hdr = json.dumps({"msg_id": f"flood-{i}", "session": "flood", "username": "f",
                              "msg_type": "execute_request", "version": "5.3", "date": ""}).encode()
            content = json.dumps({"code": code, "silent": False, "store_history": False,
                                  "user_expressions": {}, "allow_stdin": False,
                                  "stop_on_error": False}).encode()
            parts = [hdr, b"{}", b"{}", content]
            s.send_multipart([b"<IDS|MSG>", sign(key, parts)] + parts)
        assert k.alive()      # served between the flood's requests
        deadline = time.monotonic() + 600
        while not out.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert np.load(out).tolist() == [4999.0]
        assert k.ok("n").result == "array([4999.], dtype=float32)"
        assert k.alive()
    finally:
        s.close()


# ---------------------------------------------------------------- memory limit

LIMIT_KB = 1_400_000     # the kernel starts in about 530 MB of address space


@pytest.fixture
def limited(tmp_path_factory):
    """A kernel started under `ulimit -v LIMIT_KB`."""
    import conftest
    spec_root = tmp_path_factory.mktemp("jupyter")
    spec = spec_root / "kernels" / "deepnb-limited"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": ["/bin/sh", "-c", f'ulimit -v {LIMIT_KB} && exec "$0" kernel -f "$1"',
                 str(conftest.KERNEL), "{connection_file}"],
        "display_name": "deepnb (memory limit)", "language": "deepnb", "interrupt_mode": "signal"}))
    saved = {v: os.environ.get(v) for v in ("JUPYTER_PATH", "JUPYTER_RUNTIME_DIR")}
    os.environ["JUPYTER_PATH"] = str(spec_root)
    os.environ["JUPYTER_RUNTIME_DIR"] = str(spec_root / "runtime")
    import jupyter_client
    km = jupyter_client.KernelManager(kernel_name="deepnb-limited")
    cwd = tmp_path_factory.mktemp("work")
    km.start_kernel(cwd=str(cwd))
    kc = km.client()
    kc.start_channels()
    k = Kernel(km, kc, cwd)
    try:
        kc.wait_for_ready(timeout=30)
        yield k
    finally:
        with contextlib.suppress(Exception):
            stop_kernel(k)
        for v, val in saved.items():
            if val is None:
                os.environ.pop(v, None)
            else:
                os.environ[v] = val


def test_memory_limit(limited, tmp_path):
    k = limited
    setup_workspace(k)
    k.state = snapshot(k)
    limit = [ln for ln in open(f"/proc/{k.km.provisioner.pid}/limits") if ln.startswith("Max address space")]
    assert str(LIMIT_KB * 1024) in limit[0], limit
    # a cell that needs more than there is: a MemoryError, nothing else changes
    r = k.run("%let big = random(20000, 20000)")
    assert not r.ok and r.error["ename"] == "MemoryError", r
    kernel_ok(k)
    # memory nearly gone: fill it with arrays until one does not fit
    fillers = []
    for i in range(40):
        r = k.run(f"%let fill{i} = random(4096, 4096)")
        if not r.ok:
            assert r.error["ename"] == "MemoryError", r
            break
        fillers.append(f"fill{i}")
    else:
        pytest.fail("the memory limit was never met")
    state = snapshot(k)
    refs = {}
    for writer, (cell, ext) in sorted(WRITERS.items()):
        target = tmp_path / f"{writer}{ext}"
        target.write_bytes(b"old\n")
        r = k.run(cell.format(f=target))
        if r.ok:
            refs[writer] = sha(target)
        else:
            assert r.error["ename"] in ("MemoryError", "OSError"), r
            assert target.read_bytes() == b"old\n"
        assert leftovers(tmp_path) == []
        assert k.alive() and snapshot(k) == state
    k.ok("%del " + " ".join(fillers))
    kernel_ok(k)
    for writer, (cell, ext) in sorted(WRITERS.items()):
        target = tmp_path / f"{writer}{ext}"
        k.ok(cell.format(f=target))
        if writer in refs:    # written under pressure: the same bytes as now
            assert sha(target) == refs[writer]
