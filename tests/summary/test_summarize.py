"""scripts/summarize.py on result folders made here: good runs, and every way a run can
look green without being so (missing, empty, truncated, malformed and stale result
files; exit statuses no failure explains; pytest.exit() mid-run; nothing collected; a
missing reference; too few tests). The pytest cases run real pytest with the real
plugin (deepnb_results.py) on small test folders written here. Each check reads the
summary's last line, which must always be `N passed, N failed, N skipped`."""
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SUMMARIZE = REPO / "scripts" / "summarize.py"
PLUGIN_DIR = Path(__file__).resolve().parent
LAST = re.compile(r"^(\d+) passed, (\d+) failed, (\d+) skipped$")
RUN = "run-42"

MESON_OK = "\n".join(json.dumps({"name": f"t{i}", "result": r})
                     for i, r in enumerate(["OK", "OK", "SKIP"])) + "\n"
JUNIT_OK = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest"
errors="0" failures="0" skipped="0" tests="2"><testcase classname="m" name="a"/>
<testcase classname="m" name="b"/></testsuite></testsuites>"""


def summarize(results, *names, ci=False, minimums=None):
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci:
        env["CI"] = "true"
    args = [sys.executable, str(SUMMARIZE), str(results)]
    if minimums:
        args += ["--minimums", str(minimums)]
    r = subprocess.run(args + list(names), capture_output=True, text=True, env=env, timeout=60)
    lines = r.stdout.strip().splitlines()
    assert lines, r.stderr
    m = LAST.match(lines[-1])
    assert m, f"last line is not the summary: {lines[-1]!r}\n{r.stdout}\n{r.stderr}"
    assert "Traceback" not in r.stdout + r.stderr, r.stdout + r.stderr
    return r.returncode, tuple(map(int, m.groups())), r.stdout


def run_dir(tmp_path):
    """An empty results folder with this run's id, written a moment before the results."""
    d = tmp_path / "results"
    d.mkdir()
    (d / ".run").write_text(RUN + "\n")
    past = time.time() - 10
    os.utime(d / ".run", (past, past))
    return d


def meson(d, name, text=MESON_OK, rc=0):
    (d / f"{name}.json").write_text(text)
    (d / f"{name}.rc").write_text(f"{rc}\n")


def junit(d, name, text=JUNIT_OK, rc=0, collected=2, run=RUN, imports=()):
    (d / f"{name}.xml").write_text(text)
    (d / f"{name}.rc").write_text(f"{rc}\n")
    (d / f"{name}.meta.json").write_text(json.dumps(
        {"run": run, "collected": collected, "exitstatus": rc, "import_failures": list(imports)}))


def good(tmp_path):
    d = run_dir(tmp_path)
    meson(d, "c-unit")
    junit(d, "python-x")
    return d


def test_a_good_run(tmp_path):
    rc, counts, out = summarize(good(tmp_path), "c-unit", "python-x", ci=True)
    assert (rc, counts) == (0, (4, 0, 1)), out


def test_a_failed_test_is_counted_by_name(tmp_path):
    d = good(tmp_path)
    meson(d, "c-unit", MESON_OK + json.dumps({"name": "kernel_zmq", "result": "TIMEOUT"}) + "\n", rc=1)
    rc, counts, out = summarize(d, "c-unit", "python-x")
    assert (rc, counts) == (1, (4, 1, 1)) and "kernel_zmq (TIMEOUT)" in out, out


def test_a_suite_that_did_not_run(tmp_path):
    rc, counts, out = summarize(good(tmp_path), "c-unit", "python-x", "c-unit-asan")
    assert rc == 1 and counts[1] == 1 and "c-unit-asan: produced no results" in out, out


@pytest.mark.parametrize("text, words", [
    ("", "is empty"),
    ("\n\n", "is empty"),
    (MESON_OK + '{"name": "t9", "res', "not JSON"),
    ('["OK"]\n', "not a meson test record"),
    ("\x00\xff garbage", "not JSON"),
])
def test_a_bad_meson_log(tmp_path, text, words):
    d = good(tmp_path)
    meson(d, "c-unit", text)
    rc, counts, out = summarize(d, "c-unit", "python-x")
    assert rc == 1 and counts[1] == 1 and words in out, out


@pytest.mark.parametrize("text, words", [
    ("", "not well-formed XML"),
    (JUNIT_OK[:120], "not well-formed XML"),
    ("<html><body>502</body></html>", "not JUnit XML"),
])
def test_a_bad_junit_file(tmp_path, text, words):
    d = good(tmp_path)
    junit(d, "python-x", text)
    rc, counts, out = summarize(d, "c-unit", "python-x")
    assert rc == 1 and counts[1] >= 1 and words in out, out


def test_a_stale_result_file_is_not_read(tmp_path):
    d = good(tmp_path)
    old = time.time() - 3600
    os.utime(d / "c-unit.json", (old, old))
    rc, counts, out = summarize(d, "c-unit", "python-x")
    assert rc == 1 and counts[0] == 2 and "from an earlier run" in out, out


def test_a_record_of_another_run_is_refused(tmp_path):
    d = good(tmp_path)
    junit(d, "python-x", run="run-41")
    rc, counts, out = summarize(d, "c-unit", "python-x")
    assert rc == 1 and "from another run" in out, out


def test_no_run_id_fails(tmp_path):
    d = good(tmp_path)
    (d / ".run").unlink()
    rc, counts, out = summarize(d, "c-unit", "python-x")
    assert rc == 1 and ".run is missing" in out, out


@pytest.mark.parametrize("kind, code, words", [
    ("meson", 1, "meson test exited with status 1"),
    ("meson", 125, "meson test exited with status 125"),
    ("pytest", 2, "(interrupted)"),
    ("pytest", 3, "(internal error)"),
    ("pytest", 1, "though no test failed"),
])
def test_an_exit_status_no_failure_explains(tmp_path, kind, code, words):
    d = good(tmp_path)
    if kind == "meson":
        meson(d, "c-unit", rc=code)
    else:
        junit(d, "python-x", rc=code)
    rc, counts, out = summarize(d, "c-unit", "python-x")
    assert rc == 1 and counts[1] == 1 and words in out, out


def test_no_exit_status_recorded(tmp_path):
    d = good(tmp_path)
    (d / "python-x.rc").unlink()
    rc, counts, out = summarize(d, "c-unit", "python-x")
    assert rc == 1 and "no exit status recorded" in out, out


def test_a_run_stopped_before_all_collected_tests_ran(tmp_path):
    d = good(tmp_path)
    junit(d, "python-x", collected=40)
    rc, counts, out = summarize(d, "c-unit", "python-x")
    assert rc == 1 and "only 2 of the 40 tests collected" in out, out


def test_missing_plugin_record(tmp_path):
    d = good(tmp_path)
    (d / "python-x.meta.json").unlink()
    rc, counts, out = summarize(d, "c-unit", "python-x")
    assert rc == 1 and "python-x.meta.json is missing" in out, out


def test_ci_only_failures_are_notes_outside_ci(tmp_path):
    d = good(tmp_path)
    junit(d, "python-x", imports=["torch: could not import 'torch'"])
    junit(d, "python-empty", "<testsuites><testsuite errors='0'/></testsuites>", rc=5, collected=0)
    mins = tmp_path / "minimums.txt"
    mins.write_text("# comment\nc-unit 2\npython-x 30   # far more than ran\n")
    rc, counts, out = summarize(d, "c-unit", "python-x", "python-empty", minimums=mins)
    assert (rc, counts) == (0, (4, 0, 1)), out
    assert out.count("NOTE") == 3 and "(a failure in CI)" in out, out
    rc, counts, out = summarize(d, "c-unit", "python-x", "python-empty", minimums=mins, ci=True)
    assert rc == 1 and counts[1] == 3, out
    for words in ("a reference cannot be imported: torch", "collected no tests",
                  "only 2 tests ran, at least 30 expected"):
        assert words in out, (words, out)


def test_a_suite_with_a_minimum_must_run(tmp_path):
    mins = tmp_path / "minimums.txt"
    mins.write_text("c-unit 1\npython-x 1\npython-gone 1\n")
    rc, counts, out = summarize(good(tmp_path), "c-unit", "python-x", minimums=mins)
    assert rc == 1 and "python-gone: produced no results" in out, out


def test_a_malformed_minimums_file(tmp_path):
    mins = tmp_path / "minimums.txt"
    mins.write_text("c-unit lots\n")
    rc, counts, out = summarize(good(tmp_path), "c-unit", "python-x", minimums=mins)
    assert rc == 1 and "expected `NAME COUNT`" in out, out


def test_nothing_ran(tmp_path):
    rc, counts, out = summarize(run_dir(tmp_path))
    assert (rc, counts) == (1, (0, 0, 0)), out


# ---------------------------------------------------------------- real pytest runs

def real_pytest(tmp_path, d, name, files):
    """Runs pytest with the plugin on a folder of the given files, as test-all.sh does."""
    folder = tmp_path / name
    folder.mkdir()
    for fname, text in files.items():
        (folder / fname).write_text(text)
    env = dict(os.environ, DEEPNB_RUN_ID=RUN, DEEPNB_RESULT_META=str(d / f"{name}.meta.json"),
               PYTHONPATH=str(PLUGIN_DIR))
    r = subprocess.run([sys.executable, "-m", "pytest", "-p", "deepnb_results", "-p", "no:cacheprovider",
                        "-q", str(folder), f"--junitxml={d / (name + '.xml')}"],
                       env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    (d / f"{name}.rc").write_text(f"{r.returncode}\n")
    return r.returncode


def test_real_pytest_exit_mid_run(tmp_path):
    d = run_dir(tmp_path)
    code = real_pytest(tmp_path, d, "python-exits", {"test_a.py": (
        "import pytest\n"
        "def test_1(): pass\n"
        "def test_2(): pytest.exit('stop here', returncode=0)\n"
        "def test_3(): pass\n")})
    assert code == 0     # pytest itself says all is well
    rc, counts, out = summarize(d, "python-exits")
    assert rc == 1 and "only 2 of the 3 tests collected" in out, out
    assert "the run was stopped before its end (Exit: stop here)" in out, out


def test_real_pytest_exit_in_the_last_test(tmp_path):
    d = run_dir(tmp_path)
    code = real_pytest(tmp_path, d, "python-exits", {"test_a.py": (
        "import pytest\n"
        "def test_1(): pass\n"
        "def test_2(): pytest.exit('all done, honest', returncode=0)\n")})
    assert code == 0
    rc, counts, out = summarize(d, "python-exits")
    assert rc == 1 and "the run was stopped before its end" in out, out


def test_real_pytest_missing_reference_and_empty_folder(tmp_path):
    d = run_dir(tmp_path)
    real_pytest(tmp_path, d, "python-noref", {
        "test_ref.py": "import pytest\nnp = pytest.importorskip('deepnb_no_such_module')\n"
                       "def test_1(): pass\n",
        "test_ok.py": "def test_2(): pass\n"})
    assert real_pytest(tmp_path, d, "python-empty", {"README.md": "no tests\n"}) == 5
    rc, counts, out = summarize(d, "python-noref", "python-empty")
    assert rc == 0 and counts == (1, 0, 1) and out.count("NOTE") == 2, out
    rc, counts, out = summarize(d, "python-noref", "python-empty", ci=True)
    assert rc == 1 and counts[1] == 2, out
    assert "a reference cannot be imported: deepnb_no_such_module" in out, out
    assert "python-empty: collected no tests" in out, out


def test_real_pytest_good_and_failing(tmp_path):
    d = run_dir(tmp_path)
    real_pytest(tmp_path, d, "python-mixed", {"test_m.py": (
        "import pytest\n"
        "def test_good(): pass\n"
        "def test_bad(): assert 1 == 2\n"
        "@pytest.mark.skip(reason='a real skip')\n"
        "def test_skipped(): pass\n")})
    rc, counts, out = summarize(d, "python-mixed", ci=True)
    assert (rc, counts) == (1, (1, 1, 1)) and "test_m::test_bad" in out, out
