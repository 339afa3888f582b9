#!/usr/bin/env bash
# Runs every test of deepnb and ends with the line `N passed, N failed, N skipped`:
#  1. installs what is missing (scripts/install-deps.sh), builds (build/, CUDA when found);
#  2. C unit tests (meson test) in that build and in an ASan+UBSan build (build-asan/);
#     the libFuzzer harnesses (tests/fuzz/run.sh, its own clang build build-fuzz/);
#  3. Python tests under Debian's stack (/usr/bin/python3: jupyter_client 7.4, torch,
#     h5py, Pillow as references; tests/browser drives JupyterLab 4 from .venv and the
#     classic Notebook in headless Chromium) and the kernel's tests again under PyPI's
#     (.venv: jupyter_client 8, jupyter_kernel_test 0.7).
# Exit status 0 only when nothing failed.
set -u -o pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

bash scripts/install-deps.sh || { echo "install-deps failed"; echo "0 passed, 1 failed"; exit 1; }

build=${DEEPNB_BUILD:-$root/build}
asan=$root/build-asan
results=$root/build-results
rm -rf "$results" && mkdir -p "$results"
expected=()

step() { echo; echo "=== $*"; }

step "build ($build)"
[ -f "$build/build.ninja" ] || meson setup "$build" >"$results/setup.log" 2>&1 || cat "$results/setup.log"
build_ok=1
ninja -C "$build" || build_ok=0

step "build with ASan+UBSan ($asan)"
[ -f "$asan/build.ninja" ] || meson setup "$asan" -Dcuda=disabled -Dbuildtype=debug \
    -Db_sanitize=address,undefined -Db_lundef=false >"$results/setup-asan.log" 2>&1 || cat "$results/setup-asan.log"
asan_ok=1
ninja -C "$asan" || asan_ok=0

expected+=(c-unit c-unit-asan)
if [ $build_ok = 1 ]; then
  step "C unit tests"
  meson test -C "$build" --print-errorlogs --num-processes 2
  cp "$build/meson-logs/testlog.json" "$results/c-unit.json"
fi
if [ $asan_ok = 1 ]; then
  step "C unit tests under ASan+UBSan"
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    meson test -C "$asan" --print-errorlogs --num-processes 2 --timeout-multiplier 3
  cp "$asan/meson-logs/testlog.json" "$results/c-unit-asan.json"
fi

# libFuzzer harnesses (tests/fuzz): their own clang build (build-fuzz/), regression inputs
# replayed, then each harness fuzzed for FUZZ_SECONDS (15) from its seeds
expected+=(fuzz)
step "fuzz harnesses (tests/fuzz/run.sh)"
bash tests/fuzz/run.sh "$results"

export DEEPNB_BUILD=$build
has_tests() { compgen -G "$1/test_*.py" >/dev/null; }
# One pytest process per folder: each folder has its own conftest.py, and pytest can hold
# only one module of that name at a time.
pytest_dir() {  # STACK PYTHON DIR
  local name="python-$1-$(basename "$3")"
  expected+=("$name")
  step "Python tests, $1's stack: $3"
  "$2" -m pytest -p no:cacheprovider -q -rfE "$3" --junitxml="$results/$name.xml"
}
if [ $build_ok = 1 ]; then
  for d in tests/jupyter tests/runtime tests/io tests/data tests/lang tests/notebooks tests/browser; do
    has_tests "$d" && pytest_dir debian /usr/bin/python3 "$d"
  done
  has_tests tests/jupyter && pytest_dir pypi "$root/.venv/bin/python" tests/jupyter
fi
# no kernel a failed test started may outlive the run
pkill -f "$build/kernel/deepnb kernel" 2>/dev/null || true

step "summary"
[ $build_ok = 1 ] || { echo "  the build failed"; echo "0 passed, 1 failed"; exit 1; }
[ $asan_ok = 1 ] || echo "  the sanitizer build failed"
exec /usr/bin/python3 scripts/summarize.py "$results" "${expected[@]}"
