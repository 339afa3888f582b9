#!/bin/sh
# Runs the real-client tests of the deepnb kernel under both Python stacks:
# Debian's /usr/bin/python3 (jupyter_client 7.4) and the PyPI venv (jupyter_client 8).
#   tests/jupyter/run.sh [pytest args…]
# Env: DEEPNB_BUILD (absolute build dir; default <repo>/build), DEEPNB_VENV_PYTHON
# (default <repo>/.venv/bin/python, as scripts/install-deps.sh makes it),
# DEEPNB_TEST_KERNEL=ipykernel to check the tests themselves against ipykernel.
# Exits non-zero when either stack fails. Every kernel the tests start carries this
# run's tag in its environment; any still running after a stack (a failed test's
# kernel, or its children) is killed by pid.
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
export DEEPNB_BUILD="${DEEPNB_BUILD:-$repo/build}"
export PYTHONDONTWRITEBYTECODE=1
export DEEPNB_TEST_TAG="run-$$-$(date +%s%N)"

venv="${DEEPNB_VENV_PYTHON:-}"
if [ -z "$venv" ]; then
    for p in "$repo/.venv/bin/python"; do
        [ -x "$p" ] && venv=$p && break
    done
fi

kill_orphans() {
    for env in /proc/[0-9]*/environ; do
        pid=${env#/proc/}; pid=${pid%/environ}
        [ "$pid" = "$$" ] && continue
        # other users' processes and ones that just ended cannot be read: skip them quietly
        if { tr '\0' '\n' < "$env"; } 2>/dev/null | grep -qx "DEEPNB_TEST_ORPHAN_TAG=$DEEPNB_TEST_TAG"; then
            echo "run.sh: killing kernel process $pid left behind" >&2
            kill -KILL "$pid" 2>/dev/null
        fi
    done
}
trap kill_orphans EXIT
trap 'kill_orphans; exit 130' INT TERM

status=0
run_stack() {
    name=$1 py=$2; shift 2
    echo "=== $name: $py"
    if [ ! -x "$py" ]; then
        echo "=== $name: FAILED ($py not found)"
        status=1
        return
    fi
    (cd "$here" && "$py" -m pytest -p no:cacheprovider -rfEs "$@")
    rc=$?
    kill_orphans
    if [ $rc -eq 0 ]; then echo "=== $name: passed"; else echo "=== $name: FAILED (pytest exit $rc)"; status=1; fi
}

run_stack "Debian stack (jupyter_client 7.4)" /usr/bin/python3 "$@"
run_stack "PyPI stack (jupyter_client 8)" "${venv:-/nonexistent/venv/python}" "$@"
exit $status
