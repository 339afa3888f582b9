"""deepnb-dataset: the offline Dogs vs Cats stand-in made from Debian's Fashion-MNIST.
Layout as the competition's, pixels equal to the IDX files', same bytes every run."""
import csv
import gzip
import hashlib
import pathlib
import subprocess

import pytest

# Pillow and numpy come from Debian's /usr/bin/python3 (the reference); the PyPI
# Jupyter venv has neither, so there these tests skip.
np = pytest.importorskip("numpy", reason="needs numpy: run with Debian's /usr/bin/python3")
Image = pytest.importorskip("PIL.Image", reason="needs Pillow: run with Debian's /usr/bin/python3")

SRC = pathlib.Path("/usr/share/datasets/fashion-mnist")
OTHERS = ["bag", "coat", "dress", "pullover", "sandal", "shirt", "trouser", "tshirt"]


def idx(prefix):
    im = gzip.open(SRC / f"{prefix}-images-idx3-ubyte.gz").read()
    lb = gzip.open(SRC / f"{prefix}-labels-idx1-ubyte.gz").read()
    return np.frombuffer(im, np.uint8, offset=16).reshape(-1, 28, 28), np.frombuffer(lb, np.uint8, offset=8)


def run(build_dir, *args):
    return subprocess.run([str(build_dir / "tools" / "deepnb-dataset"), *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def tree(d):
    return {str(p.relative_to(d)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(d.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def made(build_dir, tmp_path_factory):
    assert SRC.exists(), "dataset-fashion-mnist is not installed"
    base = tmp_path_factory.mktemp("ds")
    r = run(build_dir, "fashion-mnist", base / "a", "--limit", "15", "--threads", "2")
    assert r.returncode == 0, r.stderr
    return base


def test_layout(made):
    d = made / "a"
    train = sorted(p.name for p in (d / "train").iterdir())
    assert train == sorted([f"sneaker.{i}.png" for i in range(15)] + [f"boot.{i}.png" for i in range(15)])
    assert sorted(p.name for p in (d / "test").iterdir()) == sorted(f"{i}.png" for i in range(1, 31))
    rows = list(csv.reader(open(d / "sample_submission.csv")))
    assert rows[0] == ["id", "label"] and rows[1:] == [[str(i), "0.5"] for i in range(1, 31)]
    sol = list(csv.reader(open(d / "solution.csv")))
    assert sol[0] == ["id", "label"] and sum(int(r[1]) for r in sol[1:]) == 15
    for split in ("train", "valid"):
        assert sorted(p.name for p in (d / "pretrain" / split).iterdir()) == OTHERS
        for c in OTHERS:
            assert len(list((d / "pretrain" / split / c).iterdir())) == 15


def test_pixels_match_the_idx_files(made):
    d = made / "a"
    x, y = idx("train")
    sneakers = np.where(y == 7)[0]
    boots = np.where(y == 9)[0]
    for n in (0, 14):
        assert np.array_equal(np.asarray(Image.open(d / "train" / f"sneaker.{n}.png")), x[sneakers[n]])
        assert np.array_equal(np.asarray(Image.open(d / "train" / f"boot.{n}.png")), x[boots[n]])
    bag = sorted((d / "pretrain" / "train" / "bag").iterdir())[3]
    assert y[int(bag.stem)] == 8 and np.array_equal(np.asarray(Image.open(bag)), x[int(bag.stem)])
    tx, ty = idx("t10k")
    sol = {int(r[0]): int(r[1]) for r in list(csv.reader(open(d / "solution.csv")))[1:]}
    candidates = {7: tx[ty == 7][:15], 9: tx[ty == 9][:15]}
    for i in range(1, 31):
        px = np.asarray(Image.open(d / "test" / f"{i}.png"))
        label = 7 if sol[i] == 1 else 9
        assert any(np.array_equal(px, c) for c in candidates[label]), i
    mixed = [sol[i] for i in range(1, 31)]
    assert mixed != sorted(mixed) and mixed != sorted(mixed, reverse=True)


def test_same_bytes_every_run(build_dir, made):
    r = run(build_dir, "fashion-mnist", made / "b", "--limit", "15", "--threads", "1")
    assert r.returncode == 0, r.stderr
    assert tree(made / "a") == tree(made / "b")


def test_refuses_existing_and_options(build_dir, made):
    r = run(build_dir, "fashion-mnist", made / "a", "--limit", "3")
    assert r.returncode == 1 and "exists already" in r.stderr
    r = run(build_dir, "fashion-mnist", made / "c", "--limit", "2", "--no-pretrain")
    assert r.returncode == 0 and not (made / "c" / "pretrain").exists()
    assert len(list((made / "c" / "train").iterdir())) == 4
    r = run(build_dir, "fashion-mnist", made / "d", "--source", made / "nowhere")
    assert r.returncode == 1 and "dataset-fashion-mnist" in r.stderr
    r = run(build_dir, "mnist", made / "e")
    assert r.returncode == 2 and "usage" in r.stderr
