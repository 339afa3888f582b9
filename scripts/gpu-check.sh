#!/bin/bash
# gpu-check.sh — the GPU backend's one prepared check, for a machine with an NVIDIA GPU
# and CUDA (nvcc, cuBLAS, cuDNN 9): builds the runtime's core with its CUDA backend, runs
# the GPU tests with DEEPNB_EXPECT_GPU=1 (a missing GPU fails them), then bench/gpu
# (VGG16 training images/s, full and fine-tune, against PyTorch on the same GPU when
# python3 has torch and torchvision). Meant to finish in about 5 minutes on an H100.
#
# It builds with gcc and nvcc directly rather than meson: the runtime's core needs only
# a CBLAS (OpenBLAS) and CUDA, while the whole project needs ZeroMQ, HDF5, libjpeg,
# Cairo... which a bare GPU machine lacks and cannot download. Without a CBLAS there,
# carry Debian's OpenBLAS packages, fetched on a machine with a network:
#     bash scripts/gpu-check.sh --fetch-deps      # into build-gpudeps/ (ignored by git)
# and carry that folder (the device tool: carry ["build-gpudeps"]).
#
# Results: $OUT (or ./gpu-check-out) gets gpu-check.log (everything), tests.txt,
# bench.txt and summary.txt (one line per step: ok / FAIL / SKIP). Exit status 0 when
# every step passed.
#   bash scripts/gpu-check.sh            # the check
#   bash scripts/gpu-check.sh --fetch-deps
set -u
cd "$(dirname "$0")/.."
REPO=$PWD

if [ "${1:-}" = "--fetch-deps" ]; then
    mkdir -p build-gpudeps && cd build-gpudeps &&
        apt-get download libopenblas0-pthread libopenblas-pthread-dev libopenblas-dev \
            libgfortran5 libquadmath0 libxxhash0 libxxhash-dev && ls -l
    exit $?
fi

OUT=${OUT:-$REPO/gpu-check-out}
mkdir -p "$OUT"
B=$REPO/build-gpucheck
rm -rf "$B"
mkdir -p "$B"
exec > >(tee "$OUT/gpu-check.log") 2>&1
SUMMARY=$OUT/summary.txt
: > "$SUMMARY"
step() { echo "$1" | tee -a "$SUMMARY"; }
T0=$(date +%s)

echo "== the machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
command -v nvcc && nvcc --version | tail -2
PY=$(command -v python3 || true)
[ -n "$PY" ] && "$PY" -c 'import sys; print("python", sys.version.split()[0])'

echo "== finding CBLAS, cuBLAS and cuDNN"
CUDA_HOME=${CUDA_HOME:-$(dirname "$(dirname "$(command -v nvcc 2>/dev/null || echo /usr/local/cuda/bin/nvcc)")")}
INC=(-I"$CUDA_HOME/include")
LIB=(-L"$CUDA_HOME/lib64" -Wl,-rpath,"$CUDA_HOME/lib64")
RUNPATH=()
find_header() {   # name dirs... -> the first dir holding it
    local h=$1; shift
    for d in "$@"; do [ -f "$d/$h" ] && { echo "$d"; return 0; }; done
    return 1
}
PYSITE=$([ -n "$PY" ] && "$PY" -c 'import site; print(" ".join(site.getsitepackages()))' 2>/dev/null)
# CBLAS: the system's, else Debian's packages carried in build-gpudeps/
CBLAS_INC=$(find_header cblas.h /usr/include /usr/include/x86_64-linux-gnu \
    /usr/include/x86_64-linux-gnu/openblas-pthread /usr/include/openblas)
if [ -z "${GPU_CHECK_USE_DEPS:-}" ] && [ -n "$CBLAS_INC" ] &&
    ls /usr/lib/x86_64-linux-gnu/libopenblas.so* >/dev/null 2>&1; then
    INC+=(-I"$CBLAS_INC")
    LIB+=(-lopenblas)
elif ls "$REPO"/build-gpudeps/*.deb >/dev/null 2>&1; then
    D=$B/deps
    for f in "$REPO"/build-gpudeps/*.deb; do dpkg -x "$f" "$D"; done
    OB=$D/usr/lib/x86_64-linux-gnu/openblas-pthread
    INC+=(-I"$D/usr/include/x86_64-linux-gnu/openblas-pthread")
    LIB+=(-L"$OB" -l:libopenblas.so.0 -Wl,-rpath,"$OB:$D/usr/lib/x86_64-linux-gnu")
    RUNPATH+=("$OB" "$D/usr/lib/x86_64-linux-gnu")
else
    step "FAIL build: no CBLAS here (cblas.h and libopenblas); run 'bash scripts/gpu-check.sh --fetch-deps' on a machine with a network and carry build-gpudeps"
    exit 1
fi
# xxHash (the runtime's fingerprints): the system's, else Debian's packages carried
if [ -f /usr/include/xxhash.h ] && ls /usr/lib/x86_64-linux-gnu/libxxhash.so* >/dev/null 2>&1; then
    LIB+=(-l:libxxhash.so.0)
elif ls "$REPO"/build-gpudeps/libxxhash*.deb >/dev/null 2>&1; then
    D=$B/deps
    for f in "$REPO"/build-gpudeps/libxxhash*.deb; do dpkg -x "$f" "$D"; done
    INC+=(-I"$D/usr/include")
    LIB+=(-L"$D/usr/lib/x86_64-linux-gnu" -l:libxxhash.so.0 -Wl,-rpath,"$D/usr/lib/x86_64-linux-gnu")
    RUNPATH+=("$D/usr/lib/x86_64-linux-gnu")
else
    step "FAIL build: no xxhash.h here; run 'bash scripts/gpu-check.sh --fetch-deps' on a machine with a network and carry build-gpudeps"
    exit 1
fi
# cuDNN: the toolkit's, the system's, or the pip wheel PyTorch brought (nvidia-cudnn-cu13)
CUDNN_INC=$(find_header cudnn.h "$CUDA_HOME/include" /usr/include /usr/include/x86_64-linux-gnu \
    $(for s in $PYSITE; do echo "$s/nvidia/cudnn/include" "$s/nvidia/cu13/include"; done))
if [ -z "$CUDNN_INC" ]; then
    step "FAIL build: cudnn.h not found (CUDA toolkit, /usr/include, or python's nvidia/cudnn)"
    exit 1
fi
CUDNN_LIB=$(dirname "$(ls "$CUDNN_INC"/../lib/libcudnn.so* "$CUDA_HOME"/lib64/libcudnn.so* \
    /usr/lib/x86_64-linux-gnu/libcudnn.so* 2>/dev/null | head -1)")
INC+=(-I"$CUDNN_INC")
LIB+=(-L"$CUDNN_LIB" -Wl,-rpath,"$CUDNN_LIB" -l:"$(basename "$(ls "$CUDNN_LIB"/libcudnn.so* | head -1)")")
# cuBLAS: the toolkit's, or the wheel's
CUBLAS=$(ls "$CUDA_HOME"/lib64/libcublas.so* $(for s in $PYSITE; do echo "$s/nvidia/cublas/lib/libcublas.so*" "$s/nvidia/cu13/lib/libcublas.so*"; done) 2>/dev/null | head -1)
[ -n "$CUBLAS" ] || { step "FAIL build: libcublas not found"; exit 1; }
CUBLAS_DIR=$(dirname "$CUBLAS")
LIB+=(-L"$CUBLAS_DIR" -Wl,-rpath,"$CUBLAS_DIR" -l:"$(basename "$CUBLAS")")
CUBLASLT=$(ls "$CUBLAS_DIR"/libcublasLt.so* 2>/dev/null | head -1)
[ -n "$CUBLASLT" ] && LIB+=(-l:"$(basename "$CUBLASLT")")
LIB+=(-lcudart -fopenmp -lm -lpthread -ldl -lrt)
echo "include: ${INC[*]}"
echo "link: ${LIB[*]}"

echo "== build (gcc -O3 and nvcc, warnings shown)"
cat > "$B/dn_config.h" <<'EOF'
#pragma once
#define DN_HAVE_CUDA 1
#define DN_VERSION "gpu-check"
#define DN_DATADIR "/usr/local/share/deepnb"
EOF
CFLAGS=(-std=c11 -D_GNU_SOURCE -O3 -fno-trapping-math -fno-math-errno -fopenmp -Wall -Wextra
        -I"$B" -I"$REPO/runtime" "${INC[@]}")
NVFLAGS=(-O3 --fmad=false -gencode=arch=compute_90,code=sm_90 -gencode=arch=compute_80,code=sm_80
         -Xcompiler=-fno-exceptions,-fno-threadsafe-statics,-Wall -I"$B" -I"$REPO/runtime" "${INC[@]}")
build_ok=1
objs=()
for f in runtime/core/*.c runtime/cuda/backend_cuda.c; do
    o=$B/$(echo "$f" | tr / _).o
    gcc "${CFLAGS[@]}" -c "$f" -o "$o" || build_ok=0
    objs+=("$o")
done
for f in runtime/cuda/gpu.cu runtime/cuda/kernels.cu; do
    o=$B/$(echo "$f" | tr / _).o
    nvcc "${NVFLAGS[@]}" -c "$f" -o "$o" || build_ok=0
    objs+=("$o")
done
for t in tests/gpu/test_gpu_probe.c tests/runtime/test_backend_ops.c bench/gpu/bench_gpu.c; do
    gcc "${CFLAGS[@]}" -I"$REPO/tests/runtime" "$t" "${objs[@]}" "${LIB[@]}" \
        -o "$B/$(basename "$t" .c)" || build_ok=0
done
if [ $build_ok = 1 ]; then step "ok   build ($(( $(date +%s) - T0 )) s)"; else step "FAIL build"; exit 1; fi
export LD_LIBRARY_PATH=$(IFS=:; echo "${RUNPATH[*]:-}")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export DEEPNB_EXPECT_GPU=1

echo "== tests (DEEPNB_EXPECT_GPU=1)"
{
    timeout 60 "$B/test_gpu_probe"; echo "test_gpu_probe exit $?"
    DEEPNB_PERF=1 timeout 240 "$B/test_backend_ops"; echo "test_backend_ops exit $?"
} 2>&1 | tee "$OUT/tests.txt"
for t in test_gpu_probe test_backend_ops; do
    if grep -q "^$t exit 0$" "$OUT/tests.txt"; then step "ok   $t"; else step "FAIL $t"; fi
done
grep -E "passed, .* failed" "$OUT/tests.txt" | tail -1 | sed 's/^/     /' | tee -a "$SUMMARY"

echo "== bench/gpu (VGG16, 224x224, batch 64)"
if [ -n "$PY" ]; then
    timeout 240 "$PY" bench/gpu/bench.py "$B/bench_gpu" 10 64 2>&1 | tee "$OUT/bench.txt"
else
    timeout 240 "$B/bench_gpu" 10 64 2>&1 | tee "$OUT/bench.txt"
fi
bench_rc=${PIPESTATUS[0]}
# every case must have run: one failed case (or a timeout) is a FAIL, not hidden by another's line
if [ "$bench_rc" = 0 ] && grep -q "^deepnb full" "$OUT/bench.txt"; then
    step "ok   bench: $(tail -1 "$OUT/bench.txt")"
else
    step "FAIL bench (exit $bench_rc): $(tail -1 "$OUT/bench.txt")"
fi
step "     total $(( $(date +%s) - T0 )) s"
echo "== summary"
cat "$SUMMARY"
! grep -q "^FAIL" "$SUMMARY"
