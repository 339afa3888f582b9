""".npy files between the runtime and numpy, both ways, for every element type."""
import io
import zlib

import pytest

np = pytest.importorskip("numpy", reason="numpy is in Debian's python3 stack, not this one")

import dnio  # noqa: E402  (after the skip: it needs numpy)

SAVE_TYPES = ["<f4", "<f8", "i1", "<i2", "<i4", "<i8", "u1", "?"]
LOAD_TYPES = ["<f2", "<f4", "<f8", "i1", "<i2", "<i4", "<i8", "u1", "<u2", "<u4", "<u8", "?"]


@pytest.fixture(scope="module")
def lib():
    if not dnio.LIB_PATH.exists():
        pytest.fail(f"{dnio.LIB_PATH} is missing: build with ninja first (DEEPNB_BUILD)")
    return dnio.load_lib()


def sample(dtype, shape):
    r = np.random.default_rng(zlib.crc32(repr((dtype, shape)).encode()))  # same every run
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return r.integers(0, 2, shape).astype(dt)
    if dt.kind in "iu":
        info = np.iinfo(dt)
        lo, hi = max(info.min, -2**24), min(info.max, 2**24)  # exact in float32
        a = r.integers(lo, hi, shape, endpoint=True).astype(dt)
        if a.size >= 2:
            a.flat[0], a.flat[1] = max(info.min, -2**24), min(info.max, 2**24)
        return a
    return (r.standard_normal(shape) * 100).astype(dt)


@pytest.mark.parametrize("shape", [(), (7,), (3, 4), (2, 3, 4), (2, 1, 3, 5)])
def test_float32_saved_by_runtime_read_by_numpy(lib, tmp_path, shape):
    a = sample("<f4", shape)
    dnio.npy_save(lib, tmp_path / "a.npy", a)
    b = np.load(tmp_path / "a.npy")
    assert b.dtype == np.float32 and b.shape == shape
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", SAVE_TYPES)
def test_every_type_saved_by_runtime_read_by_numpy(lib, tmp_path, dtype):
    a = sample(dtype, (4, 5))
    dnio.npy_save(lib, tmp_path / "a.npy", a)
    b = np.load(tmp_path / "a.npy")
    assert b.dtype == np.dtype(dtype) and b.shape == a.shape
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", LOAD_TYPES)
@pytest.mark.parametrize("order", ["C", "F"])
def test_every_type_saved_by_numpy_read_by_runtime(lib, tmp_path, dtype, order):
    a = np.asarray(sample(dtype, (3, 4, 2)), order=order)
    np.save(tmp_path / "a.npy", a)
    got = dnio.npy_load(lib, tmp_path / "a.npy")
    assert got.shape == a.shape
    np.testing.assert_array_equal(got, a.astype(np.float32))


@pytest.mark.parametrize("dtype", [">f4", ">f8", ">i2", ">i4", ">i8", ">u4", ">f2"])
def test_big_endian_from_numpy(lib, tmp_path, dtype):
    a = sample(dtype, (5, 3))
    np.save(tmp_path / "a.npy", a)
    np.testing.assert_array_equal(dnio.npy_load(lib, tmp_path / "a.npy"), a.astype(np.float32))


@pytest.mark.parametrize("version", [(1, 0), (2, 0), (3, 0)])
def test_format_versions(lib, tmp_path, version):
    a = sample("<f4", (6, 2))
    buf = io.BytesIO()
    np.lib.format.write_array(buf, a, version=version)
    (tmp_path / "a.npy").write_bytes(buf.getvalue())
    assert (tmp_path / "a.npy").read_bytes()[6] == version[0]
    np.testing.assert_array_equal(dnio.npy_load(lib, tmp_path / "a.npy"), a)


def test_predictions_and_file_names_both_ways(lib, tmp_path):
    """The lesson saves test-set probabilities and file names for a later session."""
    probs = sample("<f4", (9, 2))
    names = [f"unknown/{i}.jpg" for i in (1, 10, 100, 1000, 9292, 12500, 7, 8, 9)]
    names[3] = "unknown/caf\u00e9 \u65e5\u672c.jpg"
    dnio.npy_save(lib, tmp_path / "probs.npy", probs)
    dnio.npy_save_strings(lib, tmp_path / "names.npy", names)
    assert list(np.load(tmp_path / "names.npy")) == names
    assert np.load(tmp_path / "names.npy").dtype == np.dtype("<U%d" % max(map(len, names)))
    np.testing.assert_array_equal(np.load(tmp_path / "probs.npy"), probs)
    np.save(tmp_path / "n2.npy", np.array(names))
    assert dnio.npy_load_strings(lib, tmp_path / "n2.npy") == names
    np.save(tmp_path / "b.npy", np.array([b"cat", b"dog!"]))
    assert dnio.npy_load_strings(lib, tmp_path / "b.npy") == ["cat", "dog!"]


def test_numpy_errors_are_messages(lib, tmp_path):
    np.save(tmp_path / "o.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    with pytest.raises(dnio.IOError_, match="Python objects"):
        dnio.npy_load(lib, tmp_path / "o.npy")
    np.save(tmp_path / "r.npy", np.zeros(2, dtype=[("x", "<f4"), ("y", "<i4")]))
    with pytest.raises(dnio.IOError_, match="structured"):
        dnio.npy_load(lib, tmp_path / "r.npy")
    np.savez(tmp_path / "z.npz", a=np.zeros(3))
    with pytest.raises(dnio.IOError_, match="not a NumPy .npy file"):
        dnio.npy_load(lib, tmp_path / "z.npz")
    np.save(tmp_path / "t.npy", np.arange(100, dtype=np.float64))
    data = (tmp_path / "t.npy").read_bytes()
    (tmp_path / "t.npy").write_bytes(data[:-8])
    with pytest.raises(dnio.IOError_, match="truncated"):
        dnio.npy_load(lib, tmp_path / "t.npy")
