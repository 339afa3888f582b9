"""bench/gpu: deepnb's VGG16 training speed on the GPU against PyTorch's eager mode on the
same GPU in the same run. Usage: bench.py PATH/TO/bench_gpu [steps=10] [batch=64].

PyTorch does the same work: torchvision's VGG16 (the same layers, 138M parameters),
224x224 batches copied from host memory each step, SGD with momentum 0.9, cross-entropy;
TF32 allowed for convolutions and products, as deepnb's default mode; NCHW and
channels_last both measured, the faster counts. The fine-tune case freezes everything but
a new Dense(2) last layer, as %finetune. Without torch (or torchvision) only deepnb's
figures are printed. The last line:
    full=R finetune=R   (R = deepnb's best mode / PyTorch's best layout; > 1: deepnb faster)
"""
import subprocess
import sys
import time


def torch_rates(steps, batch):
    try:
        import torch
        import torchvision
    except ImportError as e:
        print(f"no PyTorch here ({e}): deepnb's figures only")
        return None
    if not torch.cuda.is_available():
        print("PyTorch sees no GPU: deepnb's figures only")
        return None
    torch.backends.cudnn.allow_tf32 = True
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.benchmark = True
    dev = torch.device("cuda")
    x_host = (torch.rand(batch, 3, 224, 224) * 255 - 120).pin_memory()
    rates = {}
    for case in ("full", "finetune"):
        best = 0.0
        for layout in (torch.contiguous_format, torch.channels_last):
            torch.manual_seed(0)
            model = torchvision.models.vgg16()
            if case == "finetune":
                for p in model.parameters():
                    p.requires_grad_(False)
                model.classifier[6] = torch.nn.Linear(4096, 2)
            model = model.to(dev, memory_format=layout)
            classes = 1000 if case == "full" else 2
            y = (torch.arange(batch) % classes).to(dev)
            opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.01,
                                  momentum=0.9)
            lossf = torch.nn.CrossEntropyLoss()

            def step():
                x = x_host.to(dev, non_blocking=False).contiguous(memory_format=layout)
                opt.zero_grad(set_to_none=True)
                loss = lossf(model(x), y)
                loss.backward()
                opt.step()

            for _ in range(3):
                step()
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            for _ in range(steps):
                step()
            torch.cuda.synchronize()
            rate = steps * batch / (time.perf_counter() - t0)
            name = "NCHW" if layout == torch.contiguous_format else "channels_last"
            print(f"torch {case} {name} {rate:.1f}", flush=True)
            best = max(best, rate)
            del model, opt
            torch.cuda.empty_cache()
        rates[case] = best
    print(f"torch {torch.__version__}, torchvision {torchvision.__version__}, cuDNN "
          f"{torch.backends.cudnn.version()}")
    return rates


def main():
    exe = sys.argv[1]
    steps = sys.argv[2] if len(sys.argv) > 2 else "10"
    batch = sys.argv[3] if len(sys.argv) > 3 else "64"
    p = subprocess.run([exe, steps, batch], capture_output=True, text=True)
    print(p.stdout, end="")
    print(p.stderr, end="", file=sys.stderr)
    ours = {}
    for line in p.stdout.splitlines():
        f = line.split()
        if len(f) == 4 and f[0] == "deepnb":
            ours[f[1]] = max(ours.get(f[1], 0.0), float(f[3]))
    if p.returncode != 0 or not ours:
        print(f"bench_gpu failed (exit {p.returncode})")
        return 1
    theirs = torch_rates(int(steps), int(batch))
    if not theirs:
        print(" ".join(f"{k}={v:.1f}img/s" for k, v in ours.items()))
        return 0
    print(" ".join(f"{k}={ours[k] / theirs[k]:.2f}" for k in ("full", "finetune") if k in ours))
    return 0


if __name__ == "__main__":
    sys.exit(main())
