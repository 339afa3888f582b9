"""A pytest plugin scripts/test-all.sh loads into every pytest run (-p deepnb_results,
with this folder on PYTHONPATH): it records, in the file $DEEPNB_RESULT_META names,
what JUnit XML cannot say, so scripts/summarize.py can judge the run:
  run              $DEEPNB_RUN_ID (a record from another run is refused);
  collected        how many tests were collected (more than the XML holds: the run
                   stopped early, e.g. pytest.exit());
  exitstatus       pytest's own exit status;
  stopped          why the run was stopped, if it was (pytest.exit() with any return
                   code, Ctrl-C): then it is not a complete run, even in its last test;
  import_failures  every module pytest.importorskip could not import ("torch: ..."):
                   in CI a missing reference is a failure, not a skip.
Without DEEPNB_RESULT_META it records nothing and changes nothing."""
import json
import os

import pytest

_failed_imports = []
_collected = {}
_stopped = []
_importorskip = pytest.importorskip


def _recording_importorskip(modname, *args, **kwargs):
    try:
        return _importorskip(modname, *args, **kwargs)
    except pytest.skip.Exception as e:
        _failed_imports.append(f"{modname}: {e}")
        raise


# at import, not in pytest_configure: the folder's conftest.py (which may call it) is
# imported before plugins are configured
pytest.importorskip = _recording_importorskip


def pytest_collection_finish(session):
    _collected["n"] = len(session.items)


def pytest_keyboard_interrupt(excinfo):
    """pytest calls this for pytest.exit() too, not only for Ctrl-C."""
    _stopped.append(f"{excinfo.typename}: {excinfo.value}")


def pytest_sessionfinish(session, exitstatus):
    path = os.environ.get("DEEPNB_RESULT_META")
    if not path:
        return
    record = {"run": os.environ.get("DEEPNB_RUN_ID"), "collected": _collected.get("n"),
              "exitstatus": int(exitstatus), "import_failures": sorted(set(_failed_imports)),
              "stopped": _stopped[0] if _stopped else None}
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(record, f)
    os.replace(tmp, path)
