"""%device through the real kernel, and the BLAS kernels the kernel computes with: on a
processor Debian's OpenBLAS does not know (it falls back to its SSE3 'Prescott' kernels,
5x slower than AVX-512's) the kernel loads it again with OPENBLAS_CORETYPE set for that
load; where OpenBLAS chose well, or the user chose, nothing changes. OpenBLAS is loaded
at the first product, not at start-up."""
import ctypes
import ctypes.util
import os
import subprocess
import sys

from conftest import kernel_in

GENERIC = {"prescott", "core2", "penryn", "dunnington", "nehalem", "atom", "opteron",
           "opteron_sse3", "barcelona", "bobcat", "katmai", "coppermine", "northwood",
           "banias", "sandybridge", "bulldozer", "piledriver"}


def native_core():
    """What OpenBLAS picks on this machine by itself (in a fresh process, no variable)."""
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "DEEPNB_BLAS_PICKED")}
    code = ("import ctypes, ctypes.util; lib = ctypes.CDLL(ctypes.util.find_library('openblas') "
            "or 'libopenblas.so.0'); lib.openblas_get_corename.restype = ctypes.c_char_p; "
            "print(lib.openblas_get_corename().decode())")
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, check=True).stdout.strip()


def cpu_flags():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    return set()


def expected_core():
    flags, have = cpu_flags(), native_core()
    if have.lower() in GENERIC:
        if {"avx512f", "avx512bw", "avx512vl", "avx512dq"} <= flags:
            return "SkylakeX", have
        if {"avx2", "fma"} <= flags:
            return "Haswell", have
    return have, None


def test_device_says_where_and_why(kernel):
    out = kernel.ok("%device").stdout
    assert "Computing on the CPU." in out and "OpenBLAS 0.3" in out and "thread" in out
    assert out.count("GPU:") == 1
    want, picked = expected_core()
    assert f"({want} kernels" in out, (want, picked, out)
    if picked:
        assert f"took {picked}'s" in out and "chosen by deepnb" in out
        # the variable was for that one load: the user's commands do not inherit it
        shell = kernel.ok("!echo ${OPENBLAS_CORETYPE:-unset}").stdout.split()
        assert shell == ["unset"]
    else:
        assert "chosen by deepnb" not in out
    kernel.fails("%device tpu", "UsageError", "cpu or gpu")
    kernel.fails("%device cpu fast", "UsageError", "after gpu fast")
    r = kernel.ok("%device cpu")
    assert "Computing on the CPU" in r.stdout


def has_gpu():
    return os.path.exists("/dev/nvidia0") or os.environ.get("DEEPNB_EXPECT_GPU") == "1"


def test_without_a_gpu_gpu_is_an_error_sentence_and_models_stay(kernel):
    """No GPU here (or a build without CUDA): %device gpu fails with a sentence saying why,
    a model made before keeps computing on the CPU and trains."""
    if has_gpu():
        import pytest
        pytest.skip("this machine has a GPU")
    kernel.ok("%%model dev_m\nDense(2, input_shape=(3,), activation='softmax')")
    kernel.ok("%compile dev_m optimizer=SGD(lr=0.1) loss=categorical_crossentropy")
    out = kernel.ok("%device").stdout
    assert "Computing on the CPU." in out and out.count("GPU:") == 1
    for cell in ("%device gpu", "%device gpu fast"):
        r = kernel.run(cell)
        assert not r.ok and r.error["ename"] == "RuntimeError", r
        why = r.error["evalue"]
        assert why.startswith("no GPU to compute on: ") and (
            "built without CUDA" in why or "no usable GPU" in why), why
    kernel.ok("%let dx = random(4, 3)\n%let dy = one_hot([0, 1, 1, 0], 2)")
    kernel.ok("%fit dev_m dx dy epochs=1 batch_size=2")
    assert "Computing on the CPU" in kernel.ok("%device").stdout


def test_a_gpu_runs_the_models(kernel):
    """On a machine with a GPU: the default puts models there; %device cpu and gpu move them."""
    if not has_gpu():
        import pytest
        pytest.skip("no GPU on this machine")
    kernel.ok("%%model gm\nDense(2, input_shape=(3,), activation='softmax')")
    assert "Computing on the GPU" in kernel.ok("%device").stdout
    kernel.ok("%compile gm optimizer=SGD(lr=0.1) loss=categorical_crossentropy")
    kernel.ok("%let gx = random(4, 3)\n%let gy = one_hot([0, 1, 1, 0], 2)")
    kernel.ok("%fit gm gx gy epochs=1 batch_size=2")
    out = kernel.ok("%device cpu").stdout
    assert "Moved there: gm." in out
    out = kernel.ok("%device gpu fast").stdout
    assert "Moved there: gm." in out and "the fastest cuDNN" in out
    kernel.ok("%fit gm gx gy epochs=1 batch_size=2")


def maps_openblas(k):
    """whether the kernel process (the parent of its shell commands) has OpenBLAS mapped"""
    pid = k.ok("!echo $PPID").stdout.strip()
    return "libopenblas" in open(f"/proc/{pid}/maps").read()


def test_openblas_is_loaded_at_the_first_product_only(tmp_path_factory):
    with kernel_in(tmp_path_factory) as k:
        k.ok("%pwd\n%who")
        assert not maps_openblas(k)
        k.ok("%let a = ones((3, 4))\n%let b = a * 2")
        assert not maps_openblas(k)
        k.ok("%%model m\nDense(2, input_shape=(3,))")
        k.ok("%compile m optimizer=SGD(lr=0.1) loss=mse\n%let x = ones((4, 3))\n%let y = ones((4, 2))")
        k.ok("%fit m x y epochs=1 verbose=0")
        assert maps_openblas(k)


def test_a_users_choice_is_kept(tmp_path_factory):
    os.environ["OPENBLAS_CORETYPE"] = "Haswell"
    try:
        with kernel_in(tmp_path_factory) as k:
            out = k.ok("%device").stdout
            assert "(Haswell kernels" in out and "chosen by deepnb" not in out
    finally:
        del os.environ["OPENBLAS_CORETYPE"]


def test_help_shows_the_usage_once(kernel):
    """%split? once showed its short synopsis and then its full usage: the same line twice."""
    for cmd, short, full in (("%split?", "%split DIR [valid=2000] ...", "%split DIR [valid=2000] [sample_train=200]"),
                             ("%fit?", "%fit NAME TRAIN [VALID] | NAME X Y [...]", "%fit NAME TRAIN [VALID] [epochs=1]")):
        page = kernel.ok(cmd).reply["payload"][0]["data"]["text/plain"]
        assert short not in page and page.count(full) == 1, (cmd, page[:400])
    # a help without a usage line of its own keeps the synopsis on top
    page = kernel.ok("%pwd?").reply["payload"][0]["data"]["text/plain"]
    assert page.startswith("%pwd\n\n"), page
