"""Adds up every test result of one run of scripts/test-all.sh and judges it.

    summarize.py RESULTS_DIR [--minimums FILE] [--ci] NAME...

RESULTS_DIR holds, for each suite NAME that ran:
  NAME.json       meson's testlog.json (C unit tests), or
  NAME.xml        pytest's JUnit XML, with
  NAME.meta.json  what tests/summary/deepnb_results.py (a pytest plugin) recorded: the
                  run's id, how many tests were collected, pytest's exit status, whether
                  the run was stopped (pytest.exit(), Ctrl-C), the modules
                  pytest.importorskip could not import;
  NAME.rc         the exit status of the step (meson test or pytest);
  .run            the run's id, written first: every result file must be newer and
                  every record carry the same id, or it is from an earlier run.
The NAMEs given, and those FILE names, are the suites that must have run. FILE lists each suite's minimum
number of tests that ran (passed or failed): `NAME COUNT` a line, # comments.

Failures, always: a missing, empty, truncated, malformed or stale result file; a
non-zero exit status that no failed test explains; a run that was stopped
(pytest.exit(), Ctrl-C) or ended before all the tests it collected had run (a crash). In CI (--ci or CI=true) also: a
module pytest.importorskip could not import (a missing reference such as torch), a
suite that collected nothing (pytest's exit status 5), and fewer tests than the
minimum; outside CI those are notes.

Prints one line per suite, the failures and notes by name, and last the line CI reads:
`N passed, N failed, N skipped`. Exit status 1 when anything failed or nothing ran."""
import json
import os
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

PYTEST_STATUS = {0: "all passed", 1: "some tests failed", 2: "interrupted",
                 3: "internal error", 4: "usage error", 5: "no tests collected"}


class Bad(Exception):
    """A result file that cannot be read as what it claims to be."""


def meson_counts(path):
    passed = failed = skipped = 0
    failures = []
    lines = path.read_text(errors="replace").splitlines()
    if not any(line.strip() for line in lines):
        raise Bad(f"{path.name} is empty")
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            t = json.loads(line)
        except ValueError as e:
            raise Bad(f"{path.name} line {n} is not JSON ({e}); truncated?") from None
        if not isinstance(t, dict) or "result" not in t or "name" not in t:
            raise Bad(f"{path.name} line {n} is not a meson test record")
        r = t["result"]
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:
            failed += 1
            failures.append(f"{t['name']} ({r})")
    return passed, failed, skipped, failures


def junit_counts(path):
    passed = failed = skipped = 0
    failures = []
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        raise Bad(f"{path.name} is not well-formed XML ({e}); empty or truncated?") from None
    except OSError as e:
        raise Bad(f"{path.name} cannot be read ({e})") from None
    if root.tag not in ("testsuites", "testsuite"):
        raise Bad(f"{path.name} is not JUnit XML (root element <{root.tag}>)")
    for case in root.iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
            failures.append(name)
        elif case.find("skipped") is not None:
            skipped += 1
        else:
            passed += 1
    # an error at collection time has no testcase of its own
    for suite in root.iter("testsuite"):
        try:
            errs = int(suite.get("errors", 0))
        except ValueError:
            raise Bad(f"{path.name}: errors={suite.get('errors')!r} is not a number") from None
        counted = sum(1 for c in suite.iter("testcase") if c.find("error") is not None)
        if errs > counted:
            failed += errs - counted
            failures.append(f"{errs - counted} collection error(s)")
    return passed, failed, skipped, failures


def read_minimums(path):
    mins = {}
    if not path:
        return mins
    for n, line in enumerate(Path(path).read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            raise Bad(f"{path} line {n}: expected `NAME COUNT`, got {line!r}")
        mins[parts[0]] = int(parts[1])
    return mins


def read_rc(results, name):
    p = results / f"{name}.rc"
    if not p.exists():
        return None
    text = p.read_text().strip()
    if not text.lstrip("-").isdigit():
        raise Bad(f"{p.name} holds {text!r}, not an exit status")
    return int(text)


class Suite:
    def __init__(self, name):
        self.name = name
        self.counts = [0, 0, 0]
        self.failed_tests = []   # the names of the tests that failed (in counts[1])
        self.problems = []       # sentences, each one more failure
        self.notes = []          # sentences that would be failures in CI
        self.tests = None        # number of tests the result file holds

    def fail(self, why):
        self.problems.append(why)


def judge(results, name, run_id, started, ci, minimum):
    s = Suite(name)
    json_path, xml_path = results / f"{name}.json", results / f"{name}.xml"
    path = json_path if json_path.exists() else xml_path if xml_path.exists() else None
    try:
        rc = read_rc(results, name)
    except Bad as e:
        s.fail(str(e))
        rc = None
    if path is None:
        s.fail("produced no results (it did not run" +
               (f"; exit status {rc})" if rc is not None else ")"))
        return s
    if started is not None and path.stat().st_mtime < started:
        s.fail(f"{path.name} is from an earlier run (older than this run's start); not read")
        return s
    try:
        if path.suffix == ".json":
            p, f, k, fl = meson_counts(path)
        else:
            p, f, k, fl = junit_counts(path)
    except Bad as e:
        s.fail(f"malformed result file: {e}")
        return s
    s.counts = [p, f, k]
    s.tests = p + f + k
    s.failed_tests = fl
    tool = "meson test" if path.suffix == ".json" else "pytest"
    meta = None
    if path.suffix == ".xml":
        mp = results / f"{name}.meta.json"
        try:
            meta = json.loads(mp.read_text())
            if not isinstance(meta, dict):
                raise ValueError("not an object")
        except FileNotFoundError:
            s.fail(f"{mp.name} is missing: pytest ran without tests/summary/deepnb_results.py, "
                   "so what it collected is unknown")
        except ValueError as e:
            s.fail(f"malformed result file: {mp.name} ({e})")
        if meta is not None and meta.get("run") != run_id:
            s.fail(f"{mp.name} is from another run (id {meta.get('run')!r}, this run {run_id!r})")
            meta = None
    if rc is None:
        s.fail(f"no exit status recorded ({name}.rc)")
    elif rc == 5 and tool == "pytest":
        (s.fail if ci else s.notes.append)("collected no tests (pytest exit status 5)")
    elif rc != 0 and f == 0:
        what = PYTEST_STATUS.get(rc, "") if tool == "pytest" else ""
        s.fail(f"{tool} exited with status {rc}{f' ({what})' if what else ''} though no test failed")
    if meta is not None:
        collected = meta.get("collected")
        if collected is None:
            s.fail("pytest stopped before it finished collecting")
        elif isinstance(collected, int) and s.tests < collected:
            s.fail(f"only {s.tests} of the {collected} tests collected have a result "
                   "(pytest.exit(), a crash or a kill stopped the run)")
        if meta.get("stopped"):
            s.fail(f"the run was stopped before its end ({meta['stopped']})")
        for imp in meta.get("import_failures") or []:
            (s.fail if ci else s.notes.append)(f"a reference cannot be imported: {imp}")
    if minimum is not None and p + f < minimum:
        (s.fail if ci else s.notes.append)(
            f"only {p + f} tests ran, at least {minimum} expected (tests/summary/minimums.txt)")
    return s


def main(argv):
    args, names, minimums_path, ci = list(argv), [], None, os.environ.get("CI") == "true"
    if not args:
        print("usage: summarize.py RESULTS_DIR [--minimums FILE] [--ci] NAME...")
        print("0 passed, 1 failed, 0 skipped")
        return 1
    results = Path(args.pop(0))
    while args:
        a = args.pop(0)
        if a == "--ci":
            ci = True
        elif a == "--minimums" and args:
            minimums_path = args.pop(0)
        else:
            names.append(a)
    total = [0, 0, 0]
    notes, run_problems = [], []     # run_problems: failures of no one suite
    try:
        mins = read_minimums(minimums_path)
    except (Bad, OSError) as e:
        run_problems.append(f"minimums: {e}")
        mins = {}
    run_file = results / ".run"
    if run_file.exists():
        run_id, started = run_file.read_text().strip(), run_file.stat().st_mtime
    else:
        run_problems.append(f"{run_file} is missing: cannot tell this run's results from an earlier one's")
        run_id, started = None, None
    failures = list(run_problems)
    found = sorted({p.name[:-len(".meta.json")] if p.name.endswith(".meta.json") else p.stem
                    for p in results.iterdir() if p.suffix in (".json", ".xml")}) if results.is_dir() else []
    # a suite with a minimum must have run, even if the script forgot to expect it
    for name in dict.fromkeys(names + list(mins) + found):
        s = judge(results, name, run_id, started, ci, mins.get(name))
        p, f, k = s.counts
        f += len(s.problems)
        print(f"  {name:<28} {p:5d} passed {f:4d} failed {k:4d} skipped")
        total = [total[0] + p, total[1] + f, total[2] + k]
        failures += [f"{name}: {x}" for x in s.failed_tests + s.problems]
        notes += [f"{name}: {x}" for x in s.notes]
    for x in notes:
        print(f"NOTE {x}" + ("" if ci else " (a failure in CI)"))
    for x in failures:
        print(f"FAILED {x}")
    total[1] += len(run_problems)
    print(f"{total[0]} passed, {total[1]} failed, {total[2]} skipped")
    return 1 if total[1] or total[0] == 0 else 0


if __name__ == "__main__":
    try:
        code = main(sys.argv[1:])
    except Exception as e:  # the last line must still be the summary
        print(f"FAILED the summary itself: {type(e).__name__}: {e}")
        print("0 passed, 1 failed, 0 skipped")
        code = 1
    sys.exit(code)
