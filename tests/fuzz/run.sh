#!/usr/bin/env bash
# Builds the libFuzzer harnesses (build-fuzz/: clang, ASan+UBSan, -Dfuzz=true), replays
# each one's regression inputs (regress/<harness>/), fuzzes each for a bounded time from
# its seed corpus (corpus/<harness>/), and writes RESULTS_DIR/fuzz.xml, one JUnit testcase
# per harness, failed on any finding: a crash, a sanitizer report (memory error, leak,
# undefined behaviour), a broken invariant, an input slower than the timeout, or a run
# that did not happen. What a failing run found is kept in RESULTS_DIR/fuzz/<harness>/
# (crash-*, leak-*, timeout-*: replay one with `build-fuzz/tests/fuzz/fuzz_<harness> FILE`).
#
#   tests/fuzz/run.sh RESULTS_DIR [HARNESS...]
#
# FUZZ_SECONDS (default 15) is each harness's fuzzing time; two run at a time.
# DEEPNB_FUZZ_BUILD overrides the build folder. Exit status 0 only when all passed.
set -u -o pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
results=${1:?usage: tests/fuzz/run.sh RESULTS_DIR [HARNESS...]}
shift
mkdir -p "$results"
results=$(cd "$results" && pwd)
build=${DEEPNB_FUZZ_BUILD:-$root/build-fuzz}
seconds=${FUZZ_SECONDS:-15}
all=(wire core connection args cell expr npy image weights h5_isolated)
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=("${all[@]}")
out=$results/fuzz
rm -rf "$out" && mkdir -p "$out"

# the result file from the per-harness status files (status, seconds, message, log), and
# for scripts/summarize.py this run's id and how many harnesses should have a result
write_xml() {
  printf '{"run": "%s", "collected": %d}\n' "${DEEPNB_RUN_ID:-}" ${#harnesses[@]} \
    >"$results/fuzz.meta.json"
  /usr/bin/python3 - "$out" "$results/fuzz.xml" "${harnesses[@]}" <<'EOF'
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
out, dest, names = Path(sys.argv[1]), sys.argv[2], sys.argv[3:]
suite = ET.Element("testsuite", name="fuzz")
failures = 0
for name in names:
    d = out / name
    status = (d / "status").read_text().strip() if (d / "status").exists() else "error"
    secs = (d / "seconds").read_text().strip() if (d / "seconds").exists() else "0"
    msg = (d / "message").read_text().strip() if (d / "message").exists() else "it did not run"
    case = ET.SubElement(suite, "testcase", classname="fuzz", name=name, time=secs)
    if status != "passed":
        failures += 1
        log = (d / "log").read_text(errors="replace")[-6000:] if (d / "log").exists() else ""
        ET.SubElement(case, "failure", message=msg).text = log
    else:
        ET.SubElement(case, "system-out").text = msg
suite.set("tests", str(len(names)))
suite.set("failures", str(failures))
suite.set("errors", "0")
suite.set("skipped", "0")
root = ET.Element("testsuites")
root.append(suite)
ET.ElementTree(root).write(dest, encoding="utf-8", xml_declaration=True)
print(f"fuzz: {len(names) - failures} passed, {failures} failed -> {dest}")
sys.exit(1 if failures else 0)
EOF
}

fail_all() {  # MESSAGE: every harness fails with it (the build is missing)
  for h in "${harnesses[@]}"; do
    mkdir -p "$out/$h"
    echo failed >"$out/$h/status"
    echo "$1" >"$out/$h/message"
    cp "$out/build.log" "$out/$h/log" 2>/dev/null || true
  done
  write_xml
  exit 1
}

echo "=== fuzz build ($build)"
if ! command -v clang >/dev/null; then
  echo "clang is not installed" >"$out/build.log"
  fail_all "clang is not installed (Debian's clang package), so the harnesses cannot be built"
fi
if [ ! -f "$build/build.ninja" ]; then
  CC=clang meson setup "$build" -Dfuzz=true -Dcuda=disabled -Dbuildtype=debugoptimized \
    -Db_sanitize=address,undefined -Db_lundef=false >"$out/build.log" 2>&1 ||
    { cat "$out/build.log"; fail_all "meson setup of the fuzz build failed"; }
fi
targets=()
for h in "${harnesses[@]}"; do targets+=("tests/fuzz/fuzz_$h"); done
targets+=(runtime/deepnb-hdf5.so)   # the module h5_isolated reads through (core/module.h)
ninja -C "$build" "${targets[@]}" >>"$out/build.log" 2>&1 ||
  { tail -40 "$out/build.log"; fail_all "the fuzz build failed"; }

export FZ_SCRATCH=$out/scratch
mkdir -p "$FZ_SCRATCH"
# UBSan stops at the first report (the build also says -fno-sanitize-recover)
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export DEEPNB_LOG=off

run_one() {  # HARNESS: replay its regressions, then fuzz; writes status, message, seconds
  local h=$1 d=$out/$1 bin=$build/tests/fuzz/fuzz_$1 start=$SECONDS
  mkdir -p "$d/new"
  local status=passed msg=""
  if [ -d "$root/tests/fuzz/regress/$h" ]; then
    # each regression input exactly as it is (any length), with a tight time limit
    if ! "$bin" -timeout=10 -rss_limit_mb=2560 -artifact_prefix="$d/" \
        "$root"/tests/fuzz/regress/"$h"/* >"$d/regress.log" 2>&1; then
      status=failed
      msg="a regression input fails again: $(grep -m1 -E 'SUMMARY|invariant broken|ERROR' "$d/regress.log")"
    fi
  fi
  # new inputs go to new/ (not into the repository); the seeds are read, never written
  "$bin" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2560 -print_final_stats=1 \
      -artifact_prefix="$d/" "$d/new" "$root/tests/fuzz/corpus/$h" >"$d/fuzz.log" 2>&1
  local rc=$?
  local runs
  runs=$(grep -m1 -oE 'stat::number_of_executed_units: [0-9]+' "$d/fuzz.log" | grep -oE '[0-9]+$')
  if [ $rc -ne 0 ]; then
    status=failed
    msg="${msg:+$msg; }finding: $(grep -m1 -E 'invariant broken|SUMMARY' "$d/fuzz.log") ($(grep -m1 -oE 'Test unit written to .*' "$d/fuzz.log"))"
  elif [ -z "$runs" ] || [ "$runs" -eq 0 ]; then
    status=failed
    msg="${msg:+$msg; }the fuzzer ran no input"
  else
    msg="$runs inputs in ${seconds}s, $(grep -oE 'cov: [0-9]+' "$d/fuzz.log" | tail -1) edges"
    [ -d "$root/tests/fuzz/regress/$h" ] && msg="$msg; its regression inputs pass"
  fi
  cat "$d/regress.log" "$d/fuzz.log" 2>/dev/null >"$d/log"
  echo "$status" >"$d/status"
  echo "$msg" >"$d/message"
  echo $((SECONDS - start)) >"$d/seconds"
  printf '  %-12s %-6s %s\n' "$h" "$status" "$msg"
}

echo "=== fuzzing ${#harnesses[@]} harnesses, ${seconds}s each, two at a time"
running=0
for h in "${harnesses[@]}"; do
  if [ $running -ge 2 ]; then wait -n; running=$((running - 1)); fi
  run_one "$h" &
  running=$((running + 1))
done
wait
rm -rf "$FZ_SCRATCH"
write_xml
