"""Runs bench_cnn (the runtime) and the same work in PyTorch -- Debian's torch under
/usr/bin/python3 and PyPI's torch when some other python can import it -- on the same
machine and thread count, then prints the runtime's speed over the faster torch's.
Usage: bench.py PATH/TO/bench_cnn [seconds per measurement, default 1]. Takes about
35 s: three alternating rounds, best figures of each side. Last line:
train=R infer=R toy=R sgemm=R   (R > 1: the runtime is faster; sgemm: 1024^3 through the
runtime's team against OpenBLAS's own threads, both with the best kernels for this CPU)"""
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# scripts/install-bench-deps.sh puts PyPI's torch in .venv-bench; DEEPNB_TORCH_PYTHON names another
PYPI_PYTHONS = [p for p in (os.environ.get("DEEPNB_TORCH_PYTHON"),
                            os.path.join(REPO, ".venv-bench", "bin", "python"),
                            os.path.join(REPO, ".venv", "bin", "python")) if p]


def torch_bench(secs):
    import torch
    from torch import nn
    torch.manual_seed(0)
    torch.set_num_threads(os.cpu_count())
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(1600, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), lr=0.001, eps=1e-7)
    lossf = nn.CrossEntropyLoss()
    x = torch.rand(256, 1, 28, 28)
    y = torch.arange(256) % 10

    def step(n):
        opt.zero_grad()
        loss = lossf(model(x[:n]), y[:n])
        loss.backward()
        opt.step()

    def rate(fn, per):
        # best of 5 slices of the time, as bench_cnn measures: the machine may be shared
        for _ in range(2):
            fn()
        best = 0.0
        for _ in range(5):
            k, t0 = 0, time.perf_counter()
            while time.perf_counter() - t0 < secs / 5:
                fn()
                k += 1
            best = max(best, k * per / (time.perf_counter() - t0))
        return best

    out = {"threads": torch.get_num_threads(), "version": torch.__version__}
    out["train_img_s"] = rate(lambda: step(64), 64)
    with torch.no_grad():
        out["infer_img_s"] = rate(lambda: torch.softmax(model(x), 1), 256)
    toy = nn.Linear(2, 1)
    topt = torch.optim.SGD(toy.parameters(), lr=0.1)
    tx, ty = torch.tensor([[0.3, 0.6]]), torch.tensor([[3.4]])
    mse = nn.MSELoss()

    def toy_step():
        topt.zero_grad()
        mse(toy(tx), ty).backward()
        topt.step()
    out["toy_step_us"] = 1e6 / rate(toy_step, 1)
    return out


def parse(text):
    out = {}
    for line in text.split():
        if "=" in line:
            k, v = line.split("=", 1)
            try:
                out[k] = float(v)
            except ValueError:
                out[k] = v
    return out


ROUNDS = 3


def best(a, b):
    """the better of two measurements, figure by figure (rates up, times down)"""
    if a is None or b is None:
        return a or b
    out = dict(a)
    for k, v in b.items():
        if isinstance(v, float):
            out[k] = min(a[k], v) if k.endswith("_us") else max(a[k], v)
    return out


def run_torch(python, secs):
    r = subprocess.run([python, __file__, "--torch", str(secs)], capture_output=True, text=True)
    return parse(r.stdout) if r.returncode == 0 else None


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--torch":
        res = torch_bench(float(sys.argv[2]))
        print("\n".join(f"{k}={v}" for k, v in res.items()))
        return
    exe, secs = sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
    pypi = next((p for p in PYPI_PYTHONS if os.path.exists(p) and subprocess.run(
        [p, "-c", "import torch"], capture_output=True).returncode == 0), None)
    # Rounds alternate the runtime and each torch, keeping every side's best figures: on a
    # shared machine a burst of someone else's work then cannot decide the comparison.
    ours, deb, pyp = None, None, None
    for r in range(ROUNDS):
        cmd = [exe, str(secs)] + (["--no-conv"] if r else [])
        ours = best(ours, parse(subprocess.run(cmd, capture_output=True, text=True,
                                               check=True).stdout))
        deb = best(deb, run_torch("/usr/bin/python3", secs))
        if pypi:
            pyp = best(pyp, run_torch(pypi, secs))
    print(f"runtime ({int(ours['threads'])} threads): train {ours['train_img_s']:.0f} img/s (batch 64), "
          f"infer {ours['infer_img_s']:.0f} img/s (batch 256), toy step {ours['toy_step_us']:.2f} us")
    # a direct convolution's FLOPs over the time taken: Winograd's do fewer multiplies, so
    # these effective rates can pass sgemm's
    print(f"  convolutions (forward, batch 256, effective): {ours['conv_gflops']:.1f} GFLOP/s = "
          f"{ours['conv_gflops'] / ours['sgemm_same_shapes_gflops']:.0%} of OpenBLAS sgemm on the same "
          f"shapes ({ours['sgemm_same_shapes_gflops']:.1f}), "
          f"{ours['conv_gflops'] / ours['sgemm_1024_gflops']:.0%} of sgemm 1024^3 ({ours['sgemm_1024_gflops']:.1f})")
    for i in (1, 2, 3):
        print(f"  conv{i}: {ours[f'conv{i}_gflops']:.1f} GFLOP/s "
              f"(OpenBLAS alone on the same product: {ours[f'sgemm_conv{i}_gflops']:.1f})")
    torches = []
    if deb:
        torches.append(("Debian torch " + str(deb["version"]), deb))
    else:
        print("Debian torch: skipped (/usr/bin/python3 cannot import torch)")
    if pypi:
        if pyp:
            torches.append(("PyPI torch " + str(pyp["version"]), pyp))
    else:
        print("PyPI torch: skipped (no python here can import it: tried " + ", ".join(PYPI_PYTHONS) + ")")
    for name, t in torches:
        print(f"{name} ({int(t['threads'])} threads): train {t['train_img_s']:.0f} img/s, "
              f"infer {t['infer_img_s']:.0f} img/s, toy step {t['toy_step_us']:.2f} us")
    if not torches:
        print("no torch to compare with")
        sys.exit(1)
    train = ours["train_img_s"] / max(t["train_img_s"] for _, t in torches)
    infer = ours["infer_img_s"] / max(t["infer_img_s"] for _, t in torches)
    toy = min(t["toy_step_us"] for _, t in torches) / ours["toy_step_us"]
    # sgemm 1024^3 through the runtime (its team, OpenBLAS single-threaded inside, the
    # kernels it chose) against OpenBLAS threading itself with those same best kernels
    sgemm = ours["runtime_sgemm_1024_gflops"] / ours["sgemm_1024_gflops"]
    print(f"  sgemm 1024^3: {ours['runtime_sgemm_1024_gflops']:.1f} GFLOP/s through the runtime, "
          f"{ours['sgemm_1024_gflops']:.1f} by OpenBLAS's own threads")
    print(f"train={train:.2f} infer={infer:.2f} toy={toy:.2f} sgemm={sgemm:.2f}")


if __name__ == "__main__":
    main()
