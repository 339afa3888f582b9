#!/usr/bin/python3
"""Decode + resize to 224x224, images per second on one core: ours against Pillow.

Files: JPEGs of 500x375 (quality 90, 4:2:0) made from Debian's photos (skimage's
chelsea.png, darknet's dog.jpg: resized, flipped, cropped), in a temporary folder.
  Pillow:  Image.open(f).convert('RGB').resize((224, 224), Image.BILINEAR)
           (8-bit output; no float conversion or preprocessing, which we do include)
  Pillow+draft: the same after im.draft('RGB', (224, 224)) (JPEG DCT scaling by 1/2,
           1/4, 1/8 only when the result stays >= the request: none for 500x375)
  ours:    dn_decode_resize_file (the loader's path: JPEG decoded to Y/Cb/Cr planes,
           each resized straight to 224x224, colour converted there) to float32
           HWC with VGG preprocessing; DCT scaling allowed (a no-op for 500x375)
All single-threaded and timed in process CPU time (the build machine is shared, so
wall time would count the neighbours' work), best of two alternating runs. Then the threaded directory source (all cores) alone and in front
of a consumer spending CPU time per batch. Last line: decode=R, our speed over Pillow's.
Usage: bench_decode.py BUILD_DIR [SECONDS]"""
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

from PIL import Image

CHELSEA = "/usr/lib/python3/dist-packages/skimage/data/chelsea.png"
DOG = "/usr/share/darknet/data/dog.jpg"


def make_jpegs(d):
    srcs = [Image.open(CHELSEA).convert("RGB"), Image.open(DOG).convert("RGB")]
    files = []
    for k, im in enumerate(srcs):
        w, h = im.size
        variants = [im, im.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
                    im.crop((w // 10, h // 10, w, h)), im.crop((0, 0, w * 9 // 10, h * 9 // 10))]
        for v, x in enumerate(variants):
            f = d / f"{k}{v}.jpg"
            x.resize((500, 375), Image.Resampling.LANCZOS).save(f, quality=90)
            files.append(str(f))
    return files


def pillow_rate(files, secs, draft):
    n, t0 = 0, time.process_time()
    while True:
        for f in files:
            im = Image.open(f)
            if draft:
                im.draft("RGB", (224, 224))
            im.convert("RGB").resize((224, 224), Image.Resampling.BILINEAR)
            n += 1
        t = time.process_time() - t0
        if t >= secs:
            return n / t


def ours_rate(build, files, secs):
    r = subprocess.run([str(build / "bench" / "data" / "bench_decode"), str(secs), "224", "224", *files],
                       capture_output=True, text=True, check=True)
    return float(r.stdout.split()[-1])


def main():
    build = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "build").resolve()
    secs = float(sys.argv[2]) if len(sys.argv) > 2 else 2.0
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="dn-bench-"))
    try:
        files = make_jpegs(tmp)
        # alternate the runs so a neighbour's load hits both sides alike
        p1 = pillow_rate(files, secs / 2, False)
        o1 = ours_rate(build, files, secs / 2)
        p2 = pillow_rate(files, secs / 2, False)
        o2 = ours_rate(build, files, secs / 2)
        pd = pillow_rate(files, secs / 2, True)
        pil, ours = max(p1, p2), max(o1, o2)
        print(f"500x375 JPEG -> 224x224, one thread, per CPU second: Pillow {pil:.0f} img/s, "
              f"Pillow+draft {pd:.0f} img/s, ours {ours:.0f} img/s")
        big_p = pillow_rate([DOG], secs / 2, False)
        big_o = ours_rate(build, [DOG], secs / 2)
        print(f"768x576 dog.jpg -> 224x224 (we decode at 1/2 by DCT scaling): "
              f"Pillow {big_p:.0f} img/s, ours {big_o:.0f} img/s ({big_o / big_p:.1f}x)")
        # the threaded loader: 256 images in 2 classes
        for c in ("a", "b"):
            (tmp / "set" / c).mkdir(parents=True)
        for i in range(256):
            shutil.copy(files[i % len(files)], tmp / "set" / "ab"[i % 2] / f"{i}.jpg")
        loader = str(build / "bench" / "data" / "bench_loader")
        for work in (0, 100):
            r = subprocess.run([loader, str(tmp / "set"), str(secs), str(work)],
                               capture_output=True, text=True, check=True)
            what = "alone" if work == 0 else f"with a consumer using {work} ms CPU per batch of 64"
            print(f"directory source ({os.cpu_count()} workers) {what}: {r.stdout.strip()}")
        print(f"decode={ours / pil:.2f}")
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
