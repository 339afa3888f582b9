"""%dataset through the real kernel: the offline set laid out by a cell, byte for byte the
set tools/deepnb-dataset makes, refreshed only when %dataset made it, and nothing left
behind by a refusal or an interrupt."""
import hashlib
import subprocess
import time

from conftest import BUILD


def sums(d):
    return {str(p.relative_to(d)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(d.rglob("*")) if p.is_file()}


def test_dataset_is_what_the_tool_makes(kernel, tmp_path):
    r = kernel.ok(f"%dataset fashion-mnist {tmp_path}/a limit=15")
    assert "30 images of boot and sneaker" in r.stdout and "120 + 120 images" in r.stdout
    subprocess.run([str(BUILD / "tools" / "deepnb-dataset"), "fashion-mnist", str(tmp_path / "b"),
                    "--limit", "15"], check=True, capture_output=True)
    a, b = sums(tmp_path / "a"), sums(tmp_path / "b")
    assert a.pop(".deepnb-dataset") and a == b
    assert len([k for k in a if k.startswith("train/")]) == 30
    assert (tmp_path / "a" / "sample_submission.csv").read_text().startswith("id,label\n1,0.5\n")


def test_refresh_only_what_dataset_made(kernel, tmp_path):
    d = tmp_path / "set"
    kernel.ok(f"%dataset fashion-mnist {d} limit=5 pretrain=False")
    (d / "train" / "extra.txt").write_text("mine")
    kernel.fails(f"%dataset fashion-mnist {d} limit=5", "FileExistsError", "refresh=True")
    assert (d / "train" / "extra.txt").exists()
    r = kernel.ok(f"%dataset fashion-mnist {d} limit=7 pretrain=False refresh=True")
    assert "14 images of boot and sneaker" in r.stdout
    assert not (d / "train" / "extra.txt").exists() and len(list((d / "train").iterdir())) == 14
    assert sorted(p.name for p in tmp_path.iterdir()) == ["set"]
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "keep.txt").write_text("keep")
    kernel.fails(f"%dataset fashion-mnist {mine} refresh=True", "FileExistsError", "not made by %dataset")
    assert (mine / "keep.txt").read_text() == "keep" and len(list(mine.iterdir())) == 1
    kernel.fails(f"%dataset fashion-mnist {tmp_path}/no/such limit=3", "FileNotFoundError")
    kernel.fails(f"%dataset cifar {tmp_path}/c", "ValueError", "fashion-mnist")
    kernel.fails(f"%dataset fashion-mnist {tmp_path}/c limit=0", "UsageError", "limit")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "set"]


def test_an_interrupted_refresh_leaves_the_old_set(fresh_kernel, tmp_path):
    k = fresh_kernel
    d = tmp_path / "big"
    k.ok(f"%dataset fashion-mnist {d} limit=10")
    before = sums(d)
    msg = k.send(f"%dataset fashion-mnist {d} refresh=True")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(p.name.startswith("big.fresh") for p in tmp_path.iterdir()):
        time.sleep(0.05)
    time.sleep(0.3)
    k.interrupt()
    cell = k.collect(msg, timeout=120)
    # the whole set takes seconds to write; the interrupt comes 0.3 s in
    assert not cell.ok and cell.error["ename"] == "KeyboardInterrupt", cell
    assert sums(d) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big"]
    assert k.alive()
