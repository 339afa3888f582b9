"""Adds up every test result of a run: meson's testlog.json files and pytest's JUnit XML.

Prints one line per suite, the failures by name, and last the line CI reads:
`N passed, N failed, N skipped`. Exit status 1 when anything failed or nothing ran."""
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def meson_counts(path):
    passed = failed = skipped = 0
    failures = []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        t = json.loads(line)
        r = t.get("result")
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:
            failed += 1
            failures.append(f"{t.get('name')} ({r})")
    return passed, failed, skipped, failures


def junit_counts(path):
    passed = failed = skipped = 0
    failures = []
    root = ET.parse(path).getroot()
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
        errs = int(suite.get("errors", 0))
        counted = sum(1 for c in suite.iter("testcase") if c.find("error") is not None)
        if errs > counted:
            failed += errs - counted
            failures.append(f"{path.stem}: {errs - counted} collection error(s)")
    return passed, failed, skipped, failures


def main(results_dir, expected):
    total = [0, 0, 0]
    all_failures = []
    seen = set()
    for path in sorted(Path(results_dir).iterdir()):
        if path.suffix == ".json":
            p, f, s, fl = meson_counts(path)
        elif path.suffix == ".xml":
            p, f, s, fl = junit_counts(path)
        else:
            continue
        seen.add(path.stem)
        print(f"  {path.stem:<28} {p:5d} passed {f:4d} failed {s:4d} skipped")
        total = [total[0] + p, total[1] + f, total[2] + s]
        all_failures += [f"{path.stem}: {x}" for x in fl]
    for name in expected:
        if name not in seen:
            print(f"  {name:<28} produced no results (it did not run)")
            total[1] += 1
            all_failures.append(f"{name}: no results")
    for x in all_failures:
        print(f"FAILED {x}")
    print(f"{total[0]} passed, {total[1]} failed, {total[2]} skipped")
    return 1 if total[1] or total[0] == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
