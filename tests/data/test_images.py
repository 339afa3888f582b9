"""Decoding and resizing against Debian's Pillow 9.4, through tests/data/imgtool.

Tolerances (values 0..255):
  decode, PNG and BMP: exact; JPEG at full size: exact (same libjpeg-turbo, same ISLOW
  IDCT and fancy upsampling as Pillow).
  resize vs Pillow's resize(size, BILINEAR): max |diff| <= 1.05, mean < 0.35. Same
  filter and coefficients; Pillow rounds to 8 bits after each pass (error up to 1.0),
  our vertical pass uses 14-bit weights (error below 0.05), the horizontal one floats.
  JPEG with DCT scaling (decode at 1/2, 1/4, 1/8 before resizing): vs Pillow at the
  same DCT scale, max |diff| < 1.05; vs Pillow's full decode + resize (a different,
  equally valid, reduction) mean < 2.0 and every row's and column's mean < 4.0.
  The loader's JPEG planes path (dn_decode_resize_file): see its section below.
"""
import gzip
import io
import os
import pathlib
import struct
import subprocess

import pytest

# Pillow and numpy come from Debian's /usr/bin/python3 (the reference); the PyPI
# Jupyter venv has neither, so there these tests skip.
np = pytest.importorskip("numpy", reason="needs numpy: run with Debian's /usr/bin/python3")
Image = pytest.importorskip("PIL.Image", reason="needs Pillow: run with Debian's /usr/bin/python3")

CHELSEA = pathlib.Path("/usr/lib/python3/dist-packages/skimage/data/chelsea.png")
DOG = pathlib.Path("/usr/share/darknet/data/dog.jpg")
pytestmark = pytest.mark.filterwarnings("ignore:Palette images with Transparency:UserWarning")
VGG_MEAN = np.array([123.68, 116.779, 103.939], np.float32)


def imgtool(build_dir, *args, check=True):
    r = subprocess.run([str(build_dir / "tests" / "data" / "imgtool"), *map(str, args)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode >= 0, f"imgtool died with signal {-r.returncode}"
    if check:
        assert r.returncode == 0, r.stderr
    return r


def decode(build_dir, path, tmp_path):
    out = tmp_path / "out.raw"
    imgtool(build_dir, "decode", path, out)
    b = out.read_bytes()
    i = b.index(b"\n")
    w, h = map(int, b[:i].split())
    return np.frombuffer(b[i + 1:], np.uint8).reshape(h, w, 3)


def resize(build_dir, path, w, h, tmp_path, pre="none", exact=True):
    out = tmp_path / "out.raw"
    imgtool(build_dir, "resize", path, w, h, pre, out, *(["noscale"] if exact else []))
    b = out.read_bytes()
    i = b.index(b"\n")
    return np.frombuffer(b[i + 1:], np.float32).reshape(h, w, 3)


def pillow_rgb(path):
    return np.asarray(Image.open(path).convert("RGB"))


def pillow_resized(path, w, h):
    return np.asarray(Image.open(path).convert("RGB").resize((w, h), Image.Resampling.BILINEAR), np.float32)


# ---------------------------------------------------------------- decoding

@pytest.mark.parametrize("path", [CHELSEA, DOG], ids=["chelsea.png", "dog.jpg"])
def test_debian_photos_decode_exactly(build_dir, tmp_path, path):
    assert path.exists(), f"{path} is missing (python3-skimage / darknet packages)"
    ours = decode(build_dir, path, tmp_path)
    ref = pillow_rgb(path)
    assert ours.shape == ref.shape
    assert np.array_equal(ours, ref)


PNG_KINDS = [(0, d) for d in (1, 2, 4, 8, 16)] + [(2, 8), (2, 16), (4, 8), (4, 16), (6, 8), (6, 16)] + \
            [(3, d) for d in (1, 2, 4, 8)]


@pytest.mark.parametrize("interlace", [0, 1], ids=["plain", "adam7"])
@pytest.mark.parametrize("ct,depth", PNG_KINDS, ids=[f"type{c}-{d}bit" for c, d in PNG_KINDS])
def test_png_every_colour_type(build_dir, tmp_path, ct, depth, interlace):
    f = tmp_path / "x.png"
    imgtool(build_dir, "writepng", f, 37, 23, ct, depth, interlace)
    ours = decode(build_dir, f, tmp_path)
    im = Image.open(f)
    if ct == 0 and depth == 16:
        # Pillow opens 16-bit grey as mode I and its convert('RGB') clips at 255; we keep
        # the high byte, as Pillow itself does for 16-bit RGB, RGBA and LA.
        g = (np.asarray(im).astype(np.uint32) >> 8).astype(np.uint8)
        ref = np.repeat(g[:, :, None], 3, axis=2)
    else:
        ref = np.asarray(im.convert("RGB"))
    assert np.array_equal(ours, ref)


@pytest.mark.parametrize("mode", ["1", "L", "LA", "RGB", "RGBA", "P", "P-trns"])
def test_png_made_by_pillow(build_dir, tmp_path, mode):
    rng = np.random.default_rng(1)
    src = Image.fromarray(rng.integers(0, 256, (31, 45, 4), np.uint8), "RGBA")
    f = tmp_path / "p.png"
    if mode == "P-trns":
        im = src.convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
        im.info["transparency"] = 3
        im.save(f, transparency=3)
    else:
        src.convert(mode).save(f)
    assert np.array_equal(decode(build_dir, f, tmp_path), pillow_rgb(f))


@pytest.mark.parametrize("kind", ["rgb", "grey", "progressive", "444", "odd-size"])
def test_jpeg_decodes_as_pillow(build_dir, tmp_path, kind):
    im = Image.open(CHELSEA).convert("RGB")
    f = tmp_path / "j.jpg"
    if kind == "grey":
        im.convert("L").save(f, quality=85)
    elif kind == "progressive":
        im.save(f, quality=80, progressive=True)
    elif kind == "444":
        im.save(f, quality=95, subsampling=0)
    elif kind == "odd-size":
        im.crop((3, 5, 104, 78)).save(f, quality=90)
    else:
        im.save(f, quality=90)
    assert np.array_equal(decode(build_dir, f, tmp_path), pillow_rgb(f))


def bmp_bytes(px, bits, top_down=False, bitfields=False):
    """A BMP written by hand: 24-bit or 32-bit (optionally with bit-field masks)."""
    h, w, _ = px.shape
    bpp = bits // 8
    stride = (w * bpp + 3) // 4 * 4
    rows = []
    for y in (range(h) if top_down else range(h - 1, -1, -1)):
        r = bytearray()
        for x in range(w):
            R, G, B = (int(v) for v in px[y, x])
            r += bytes([B, G, R]) + (bytes([0x7f]) if bpp == 4 else b"")
        rows.append(bytes(r) + b"\0" * (stride - len(r)))
    data = b"".join(rows)
    masks = struct.pack("<III", 0xFF0000, 0xFF00, 0xFF) if bitfields else b""
    info = struct.pack("<IiiHHIIiiII", 40, w, -h if top_down else h, 1, bits,
                       3 if bitfields else 0, len(data), 2835, 2835, 0, 0)
    off = 14 + len(info) + len(masks)
    return b"BM" + struct.pack("<IHHI", off + len(data), 0, 0, off) + info + masks + data


@pytest.mark.parametrize("kind", ["pillow-rgb", "pillow-p", "pillow-l", "pillow-1",
                                  "top-down-24", "bottom-up-32", "bitfields-32"])
def test_bmp(build_dir, tmp_path, kind):
    rng = np.random.default_rng(2)
    px = rng.integers(0, 256, (13, 19, 3), np.uint8)
    f = tmp_path / "b.bmp"
    if kind == "pillow-rgb":
        Image.fromarray(px).save(f)
    elif kind == "pillow-p":
        Image.fromarray(px).convert("P", palette=Image.Palette.ADAPTIVE, colors=200).save(f)
    elif kind == "pillow-l":
        Image.fromarray(px).convert("L").save(f)
    elif kind == "pillow-1":
        Image.fromarray(px).convert("1").save(f)
    else:
        f.write_bytes(bmp_bytes(px, 24 if "24" in kind else 32, top_down="top" in kind,
                                bitfields="bitfields" in kind))
    ours = decode(build_dir, f, tmp_path)
    assert np.array_equal(ours, pillow_rgb(f))
    if kind.startswith(("top", "bottom", "bitfields")):
        assert np.array_equal(ours, px)


# ---------------------------------------------------------------- resizing

@pytest.mark.parametrize("path", [CHELSEA, DOG], ids=["chelsea.png", "dog.jpg"])
@pytest.mark.parametrize("size", [(224, 224), (28, 28), (300, 200), (800, 700)])
def test_resize_matches_pillow_bilinear(build_dir, tmp_path, path, size):
    ours = resize(build_dir, path, *size, tmp_path)
    ref = pillow_resized(path, *size)
    d = np.abs(ours - ref)
    assert d.max() <= 1.05, d.max()
    assert d.mean() < 0.35, d.mean()


@pytest.mark.parametrize("src,dst", [((500, 375), (224, 224)), ((100, 80), (224, 224)),
                                     ((1, 1), (5, 3)), ((2000, 30), (224, 224)),
                                     ((224, 224), (224, 224)), ((7, 300), (28, 28)),
                                     ((40, 2000), (28, 28))])
def test_resize_raw_noise(build_dir, tmp_path, src, dst):
    rng = np.random.default_rng(3)
    px = rng.integers(0, 256, (src[1], src[0], 3), np.uint8)
    raw = tmp_path / "in.rgb"
    raw.write_bytes(px.tobytes())
    out = tmp_path / "out.raw"
    imgtool(build_dir, "resize-raw", raw, src[0], src[1], dst[0], dst[1], out)
    ours = np.frombuffer(out.read_bytes(), np.float32).reshape(dst[1], dst[0], 3)
    ref = np.asarray(Image.fromarray(px).resize(dst, Image.Resampling.BILINEAR), np.float32)
    assert np.abs(ours - ref).max() <= 1.05


def test_shrinking_does_not_alias(build_dir, tmp_path):
    """A one-pixel checkerboard shrunk 8x must come out flat grey (a point-sampling
    resize would give black or white)."""
    y, x = np.mgrid[0:448, 0:448]
    px = (((x + y) % 2) * 255).astype(np.uint8)
    f = tmp_path / "c.png"
    Image.fromarray(px).save(f)
    ours = resize(build_dir, f, 56, 56, tmp_path)
    assert np.abs(ours[4:-4, 4:-4] - 127.5).max() < 2.0


def test_preprocessing_vgg_and_scale(build_dir, tmp_path):
    ref = pillow_resized(CHELSEA, 224, 224)
    vgg = resize(build_dir, CHELSEA, 224, 224, tmp_path, pre="vgg")
    assert np.abs(vgg - (ref - VGG_MEAN)[:, :, ::-1]).max() <= 1.05
    s01 = resize(build_dir, CHELSEA, 224, 224, tmp_path, pre="scale")
    assert np.abs(s01 - ref / 255).max() <= 1.05 / 255
    assert 0.0 <= s01.min() and s01.max() <= 1.0


def assert_dct_close(ours, same_scale, full, max_same):
    """A DCT-scaled result against Pillow at the same DCT scale (every pixel within
    max_same) and against Pillow's full decode (mean < 2, and every row and column mean
    < 4: a different, equally valid reduction, but no edge lost). A black last row or
    column is 100 levels off on average, far outside both."""
    d = np.abs(ours - same_scale)
    assert d.max() < max_same, (d.max(), np.unravel_index(d.argmax(), d.shape))
    d = np.abs(ours - full)
    assert d.mean() < 2.0, d.mean()
    rows, cols = d.mean(axis=(1, 2)), d.mean(axis=(0, 2))
    assert rows.max() < 4.0, ("row", rows.argmax(), rows.max())
    assert cols.max() < 4.0, ("column", cols.argmax(), cols.max())


def test_dct_bounds_catch_a_black_edge():
    """The bounds above fail a result whose last row or column is black."""
    ref = pillow_resized(DOG, 224, 224)
    assert_dct_close(ref, ref, ref, 1.0)
    for edge in (np.s_[-1, :, :], np.s_[:, -1, :]):
        bad = ref.copy()
        bad[edge] = 0
        with pytest.raises(AssertionError):
            assert_dct_close(bad, ref, ref, 1.05)
        with pytest.raises(AssertionError):   # the full-decode bounds alone catch it too
            assert_dct_close(bad, bad, ref, 1.05)


def test_jpeg_dct_scaling_close_to_pillow(build_dir, tmp_path):
    """dog.jpg (768x576) decodes at 1/2 (384x288) before the resize to 224."""
    out = tmp_path / "o.raw"
    imgtool(build_dir, "resize", DOG, 224, 224, "none", out)
    b = out.read_bytes()
    i = b.index(b"\n")
    assert b[:i] == b"384 288"
    ours = np.frombuffer(b[i + 1:], np.float32).reshape(224, 224, 3)
    im = Image.open(DOG)
    im.draft("RGB", (224, 224))     # Pillow at the same scale, resized as dn_resize_rgb does
    assert im.size == (384, 288)
    same = np.asarray(im.convert("RGB").resize((224, 224), Image.Resampling.BILINEAR), np.float32)
    assert_dct_close(ours, same, pillow_resized(DOG, 224, 224), 1.05)   # measured 0.99


# ---------------------------------------------------------------- bad files

def truncated(src, frac):
    b = pathlib.Path(src).read_bytes()
    return b[: int(len(b) * frac)]


BAD = {
    "text.jpg": (b"this is not an image\n", "not a JPEG, PNG or BMP"),
    "empty.png": (b"", "empty"),
    "trunc.jpg": (None, "truncated JPEG"),
    "trunc.png": (None, "truncated PNG"),
    "garbage-after-soi.jpg": (b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8, ""),
    "png-signature-only.png": (b"\x89PNG\r\n\x1a\n" + b"\0" * 100, ""),
    "trunc.bmp": (None, "truncated BMP"),
    "rle.bmp": (None, "compressed BMP"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_files_fail_cleanly(build_dir, tmp_path, name):
    data, why = BAD[name]
    if name == "trunc.jpg":
        data = truncated(DOG, 0.5)
    elif name == "trunc.png":
        data = truncated(CHELSEA, 0.6)
    elif name == "trunc.bmp":
        data = bmp_bytes(np.zeros((20, 20, 3), np.uint8), 24)[:-100]
    elif name == "rle.bmp":
        b = bytearray(bmp_bytes(np.zeros((4, 4, 3), np.uint8), 24))
        b[30:34] = struct.pack("<I", 1)
        data = bytes(b)
    f = tmp_path / name
    f.write_bytes(data)
    probe = imgtool(build_dir, "probe", f, check=False)
    dec = imgtool(build_dir, "decode", f, tmp_path / "o.raw", check=False)
    assert probe.returncode == 1, probe.stdout
    assert dec.returncode == 1
    assert why in probe.stdout, probe.stdout
    if name in ("trunc.jpg", "trunc.png"):
        # the decoder alone (no probe) also refuses a file cut short, as Pillow does
        assert "truncated" in dec.stderr, dec.stderr
        with pytest.raises(OSError):
            Image.open(f).load()


def test_probe_good_files(build_dir):
    r = imgtool(build_dir, "probe", DOG)
    assert r.stdout.split() == ["JPEG", "768", "576"]
    r = imgtool(build_dir, "probe", CHELSEA)
    assert r.stdout.split() == ["PNG", "451", "300"]


# ---------------------------------------------------------------- JPEG planes path
# dn_decode_resize_file (the loader's path) resizes a JPEG's Y, Cb, Cr planes straight
# to the output and converts colour there. The chroma weights are Pillow's folded
# through libjpeg's fancy upsampling (the same linear map), so against the same
# computation done without clamping (libjpeg's upsampled YCbCr through Pillow's
# draft('YCbCr'), converted to RGB in float, resized in float, clamped at the end)
# we are within 1 level. Against Pillow's convert('RGB').resize(size, BILINEAR) the
# difference is Pillow's per-pixel clamping of out-of-gamut RGB before it averages
# plus its 8-bit roundings. Measured 500x375 -> 224x224 (max / mean |diff|):
# photos (chelsea, dog) 4:4:4 3.95/0.32, 4:2:2 7.8/0.32, 4:2:0 9.6/0.34, grey
# 0.99/0.28; in-gamut colour edges 4.3/0.32; saturated primaries side by side (far
# out of gamut after JPEG's ringing) 4:4:4 8.2/0.82, 4:2:2 30/1.15, 4:2:0 44/1.79.
# Against the unclamped reference: at most 0.69/0.11 (4:4:4 and grey 0.01/0.00).

def load(build_dir, path, w, h, tmp_path, pre="none", exact=False, sse2=False):
    out = tmp_path / "out.raw"
    args = [str(build_dir / "tests" / "data" / "imgtool"), "load", str(path), str(w), str(h), pre,
            str(out), *(["exact"] if exact else [])]
    env = dict(os.environ, DN_RESIZE_NO_AVX2="1") if sse2 else None
    r = subprocess.run(args, capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 0, r.stderr
    return np.frombuffer(out.read_bytes(), np.float32).reshape(h, w, 3)


def unclamped_reference(path, w, h):
    """Pillow's decode (same libjpeg, same DCT scaling rule for these sizes) to
    upsampled YCbCr, then colour conversion and resize in float, clamped once."""
    im = Image.open(path)
    im.draft("YCbCr" if im.mode == "RGB" else im.mode, (w, h))
    a = np.asarray(im).astype(np.float64)
    if a.ndim == 2:
        rgb = np.repeat(a[:, :, None], 3, axis=2)
    else:
        y, cb, cr = a[..., 0], a[..., 1] - 128, a[..., 2] - 128
        rgb = np.stack([y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb], -1)
    out = [np.asarray(Image.fromarray(rgb[..., c].astype(np.float32), "F").resize((w, h), Image.Resampling.BILINEAR))
           for c in range(3)]
    return np.clip(np.stack(out, -1), 0, 255)


def colour_blocks(lo, hi):
    y, x = np.mgrid[0:375, 0:500]
    cols = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [0, 1, 1], [1, 0, 1],
                     [0, 0, 0], [1, 1, 1]], np.float64)
    return Image.fromarray((lo + (hi - lo) * cols[((x // 13) + 3 * (y // 11)) % 8]).astype(np.uint8))


SUBSAMPLING = {"444": 0, "422": 1, "420": 2, "grey": None}


def save_jpeg(im, f, kind, **kw):
    if kind == "grey":
        im.convert("L").save(f, quality=90, **kw)
    else:
        im.save(f, quality=90, subsampling=SUBSAMPLING[kind], **kw)


def source(name):
    if name == "edges":
        return colour_blocks(50, 203)      # sharp colour edges inside the RGB gamut
    if name == "saturated":
        return colour_blocks(0, 255)       # primaries side by side
    return Image.open(CHELSEA if name == "chelsea" else DOG).convert("RGB")


@pytest.mark.parametrize("kind", list(SUBSAMPLING))
@pytest.mark.parametrize("src", ["chelsea", "dog", "edges", "saturated"])
def test_jpeg_planes_close_to_pillow(build_dir, tmp_path, src, kind):
    f = tmp_path / "p.jpg"
    save_jpeg(source(src).resize((500, 375), Image.Resampling.LANCZOS), f, kind)
    ours = load(build_dir, f, 224, 224, tmp_path)
    d = np.abs(ours - unclamped_reference(f, 224, 224))
    assert d.max() < 1.0 and d.mean() < 0.25, (d.max(), d.mean())
    d = np.abs(ours - pillow_resized(f, 224, 224))
    if kind == "grey":
        assert d.max() <= 1.05 and d.mean() < 0.35, (d.max(), d.mean())
    elif src == "saturated":   # stated bound of the worst case, not a goal
        assert d.max() < 48 and d.mean() < 2.0, (d.max(), d.mean())
    else:
        assert d.max() < 12 and d.mean() < 0.5, (d.max(), d.mean())


@pytest.mark.parametrize("kind", ["444", "422", "420", "grey"])
@pytest.mark.parametrize("size", [(101, 73), (333, 251), (768, 576), (3, 5)],
                         ids=["odd-small", "odd-mid", "big", "tiny"])
@pytest.mark.parametrize("dst", [(224, 224), (64, 48), (30, 90)])
def test_jpeg_planes_odd_sizes_scaling_enlarging(build_dir, tmp_path, kind, size, dst):
    """Odd sizes (a chroma sample over the last pixel alone), enlarging, and DCT
    scaling (333x251 -> 64x48 decodes at 1/4, 768x576 -> 224x224 at 1/2, -> 64x48
    at 1/8, where 4:2:2 goes the RGB way: libjpeg does not smooth its chroma there,
    nor for a 3x5 image)."""
    f = tmp_path / "o.jpg"
    save_jpeg(Image.open(DOG).convert("RGB").resize(size, Image.Resampling.LANCZOS), f, kind)
    ours = load(build_dir, f, *dst, tmp_path)
    rgb_way = (kind in ("420", "422") and size == (3, 5)) or \
              (kind == "422" and size == (768, 576) and dst == (64, 48))
    if rgb_way:   # Pillow's pixels at the same DCT scale, resized as dn_resize_rgb does
        im = Image.open(f)
        im.draft("RGB", dst)
        d = np.abs(ours - np.asarray(im.convert("RGB").resize(dst, Image.Resampling.BILINEAR), np.float32))
        assert d.max() <= 1.05 and d.mean() < 0.35, (d.max(), d.mean())
    else:
        d = np.abs(ours - unclamped_reference(f, *dst))
        assert d.max() < 1.0 and d.mean() < 0.25, (d.max(), d.mean())


@pytest.mark.parametrize("kind", list(SUBSAMPLING))
@pytest.mark.parametrize("dst", [(224, 224), (37, 301), (600, 450)])
def test_jpeg_planes_sse2_path_as_avx2(build_dir, tmp_path, kind, dst):
    """The SSE2 path (4 rows a vector) and the AVX2 one (8 rows, FMA) agree, and
    the SSE2 one holds the same bound against the reference (where the CPU has no
    AVX2 both runs take it)."""
    f = tmp_path / "s.jpg"
    save_jpeg(Image.open(CHELSEA).convert("RGB").crop((0, 0, 451, 299)), f, kind)
    sse = load(build_dir, f, *dst, tmp_path, pre="vgg", sse2=True)
    assert np.abs(sse - load(build_dir, f, *dst, tmp_path, pre="vgg")).max() < 0.01
    ref = (unclamped_reference(f, *dst) - VGG_MEAN)[:, :, ::-1]
    d = np.abs(sse - ref)
    assert d.max() < 1.0 and d.mean() < 0.25, (d.max(), d.mean())


def test_jpeg_planes_progressive_and_vgg(build_dir, tmp_path):
    f = tmp_path / "p.jpg"
    Image.open(CHELSEA).convert("RGB").save(f, quality=85, progressive=True)
    ref = unclamped_reference(f, 224, 224)
    vgg = load(build_dir, f, 224, 224, tmp_path, pre="vgg")
    assert np.abs(vgg - (ref - VGG_MEAN)[:, :, ::-1]).max() < 1.0
    s01 = load(build_dir, f, 224, 224, tmp_path, pre="scale")
    assert 0.0 <= s01.min() and s01.max() <= 1.0
    assert np.abs(s01 * 255 - ref).max() < 1.0


def test_load_exact_and_other_formats_are_pillow_resize(build_dir, tmp_path):
    """exact (and PNG, which has no planes) take the full decode + dn_resize_rgb."""
    for path, exact in ((DOG, True), (CHELSEA, False)):
        d = np.abs(load(build_dir, path, 224, 224, tmp_path, exact=exact) - pillow_resized(path, 224, 224))
        assert d.max() <= 1.05 and d.mean() < 0.35, (path, d.max(), d.mean())


def test_jpeg_planes_dct_scaled_dog(build_dir, tmp_path):
    """dog.jpg (768x576, 4:2:0) decodes at 1/2 to planes before the resize."""
    ours = load(build_dir, DOG, 224, 224, tmp_path)
    assert_dct_close(ours, unclamped_reference(DOG, 224, 224), pillow_resized(DOG, 224, 224),
                     1.0)   # measured 0.73


@pytest.mark.parametrize("kind", ["444", "420", "grey"])
def test_truncated_jpeg_fails_on_the_planes_path(build_dir, tmp_path, kind):
    f = tmp_path / "t.jpg"
    save_jpeg(Image.open(DOG).convert("RGB"), f, kind, progressive=kind == "444")
    f.write_bytes(truncated(f, 0.5))
    r = imgtool(build_dir, "load", f, 224, 224, "none", tmp_path / "o.raw", check=False)
    assert r.returncode == 1 and "truncated" in r.stderr, r.stderr


def test_cmyk_jpeg_fails_cleanly_on_load(build_dir, tmp_path):
    f = tmp_path / "c.jpg"
    Image.open(CHELSEA).convert("CMYK").save(f, quality=90)
    r = imgtool(build_dir, "load", f, 224, 224, "none", tmp_path / "o.raw", check=False)
    assert r.returncode == 1 and "CMYK" in r.stderr, r.stderr
