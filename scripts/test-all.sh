#!/usr/bin/env bash
# Runs every test of deepnb and ends with the line `N passed, N failed, N skipped`:
#  1. installs what is missing (scripts/install-deps.sh), builds (build/, CUDA when found);
#  2. C unit tests (meson test) in that build and in an ASan+UBSan build (build-asan/);
#     the libFuzzer harnesses (tests/fuzz/run.sh, its own clang build build-fuzz/);
#  3. Python tests under Debian's stack (/usr/bin/python3: jupyter_client 7.4, torch,
#     h5py, Pillow as references; tests/browser drives JupyterLab 4 from .venv and the
#     classic Notebook in headless Chromium) and the kernel's tests again under PyPI's
#     (.venv: jupyter_client 8, jupyter_kernel_test 0.7).
# Exit status 0 only when nothing failed. scripts/summarize.py judges the results: each
# step leaves NAME.json (meson) or NAME.xml + NAME.meta.json (pytest) and NAME.rc (its exit
# status) in build-results/, under this run's id; CI=true makes it strict (see there).
set -u -o pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

bash scripts/install-deps.sh || { echo "install-deps failed"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }

build=${DEEPNB_BUILD:-$root/build}
asan=$root/build-asan
results=$root/build-results
rm -rf "$results" && mkdir -p "$results"
# every result must carry this run's id and be newer than this file (never an old run's)
export DEEPNB_RUN_ID="$(date +%s.%N)-$$"
echo "$DEEPNB_RUN_ID" >"$results/.run"
expected=()
record() { echo "$2" >"$results/$1.rc"; }   # NAME STATUS: a step's exit status
# meson test in build folder $1 as suite $2 (more options after); testlog.json is removed
# first, so a run that writes none leaves no result rather than the previous run's
meson_suite() {
  local dir=$1 name=$2 log="$1/meson-logs/testlog.json"; shift 2
  rm -f "$log"
  meson test -C "$dir" --print-errorlogs --num-processes 2 "$@"
  record "$name" $?
  [ -f "$log" ] && cp -p "$log" "$results/$name.json"
}

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
  meson_suite "$build" c-unit
fi
if [ $asan_ok = 1 ]; then
  step "C unit tests under ASan+UBSan"
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    meson_suite "$asan" c-unit-asan --timeout-multiplier 3
fi

# libFuzzer harnesses (tests/fuzz): their own clang build (build-fuzz/), regression inputs
# replayed, then each harness fuzzed for FUZZ_SECONDS (15) from its seeds
expected+=(fuzz)
step "fuzz harnesses (tests/fuzz/run.sh)"
bash tests/fuzz/run.sh "$results"
record fuzz $?

export DEEPNB_BUILD=$build
has_tests() { compgen -G "$1/test_*.py" >/dev/null; }
# One pytest process per folder: each folder has its own conftest.py, and pytest can hold
# only one module of that name at a time.
pytest_dir() {  # STACK PYTHON DIR
  local name="python-$1-$(basename "$3")"
  expected+=("$name")
  step "Python tests, $1's stack: $3"
  DEEPNB_RESULT_META="$results/$name.meta.json" PYTHONPATH="$root/tests/summary${PYTHONPATH:+:$PYTHONPATH}" \
    "$2" -m pytest -p deepnb_results -p no:cacheprovider -q -rfE "$3" --junitxml="$results/$name.xml"
  record "$name" $?
}
if [ $build_ok = 1 ]; then
  for d in tests/summary tests/jupyter tests/runtime tests/io tests/data tests/lang tests/faults \
           tests/notebooks tests/browser; do
    has_tests "$d" && pytest_dir debian /usr/bin/python3 "$d"
  done
  has_tests tests/jupyter && pytest_dir pypi "$root/.venv/bin/python" tests/jupyter
fi
# no kernel a failed test started may outlive the run
pkill -f "$build/kernel/deepnb kernel" 2>/dev/null || true

step "summary"
[ $build_ok = 1 ] || { echo "  the build failed"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }
[ $asan_ok = 1 ] || echo "  the sanitizer build failed"
/usr/bin/python3 scripts/summarize.py "$results" --minimums tests/summary/minimums.txt "${expected[@]}"
rc=$?
# a summariser that could not run still ends the output with a summary line
[ $rc -le 1 ] || { echo "  scripts/summarize.py failed (exit status $rc)"; echo "0 passed, 1 failed, 0 skipped"; rc=1; }
exit $rc
