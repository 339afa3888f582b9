"""What the browser tests share: where things are, the per-session process tag and the
kill by tag, the Jupyter server process, the deepnb kernelspec. (A module of its own,
not a conftest.py: test modules of other folders import their own `conftest`, and
pytest keeps one module of that name.)

Every process these tests start (servers, kernels, chromedriver, Chromium and their
children) carries DEEPNB_BROWSER_TEST_TAG=<per-session id> in its environment, so any
such process still running can be found and killed by pid.
"""
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from wdclient import free_port, stop_group

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("DEEPNB_BUILD") or REPO / "build")
KERNEL_BIN = BUILD / "kernel" / "deepnb"
# PyPI's stack, as scripts/install-deps.sh makes it (DEEPNB_VENV_PYTHON names another)
VENV_PY = Path(os.environ.get("DEEPNB_VENV_PYTHON") or REPO / ".venv" / "bin" / "python")
DEBIAN_PY = Path("/usr/bin/python3")
CHROMIUM = next((p for p in ("/usr/lib/chromium/chromium", "/usr/bin/chromium")
                 if os.access(p, os.X_OK)), None)
CHROMEDRIVER = shutil.which("chromedriver") or (
    "/usr/bin/chromedriver" if os.access("/usr/bin/chromedriver", os.X_OK) else None)

TAG_VAR = "DEEPNB_BROWSER_TEST_TAG"
TAG = uuid.uuid4().hex


def tagged_pids():
    """Processes other than this one whose environment carries this session's tag."""
    needle = f"{TAG_VAR}={TAG}".encode()
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if needle in f.read().split(b"\0"):
                    pids.append(int(entry))
        except OSError:
            continue
    return pids


def kill_tagged():
    pids = tagged_pids()
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return pids


def require_browser():
    if not CHROMIUM:
        pytest.skip("Debian's chromium is not installed (apt package chromium)")
    if not CHROMEDRIVER:
        pytest.skip("chromedriver is not installed (apt package chromium-driver)")


class Server:
    """A Jupyter server process serving root with token; url(path) adds the token."""

    def __init__(self, argv, env, root, log_path, token):
        self.port = None
        self.token = token
        self.root = root
        self._log = open(log_path, "wb")
        self.log_path = log_path
        self.proc = None
        self.argv, self.env = argv, env

    def start(self, timeout=60):
        self.port = free_port()
        argv = [a.format(port=self.port, token=self.token) for a in self.argv]
        if os.geteuid() == 0:  # containers and CI often run tests as root
            argv.append("--allow-root")
        self.proc = subprocess.Popen(argv, env=self.env, cwd=self.root, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                self.api("/api/status")
                return self
            except (OSError, urllib.error.URLError):
                pass
            if time.monotonic() >= deadline:
                raise RuntimeError(f"server not answering within {timeout}s:\n{self.log()}")
            time.sleep(0.2)

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}?token={self.token}"

    def api(self, path):
        with urllib.request.urlopen(self.url(path), timeout=5) as r:
            return json.loads(r.read())

    def log(self):
        self._log.flush()
        return Path(self.log_path).read_text(errors="replace")[-4000:]

    def stop(self):
        if self.proc is not None:
            # SIGTERM lets the server shut its kernels down; the tag kill catches the rest
            stop_group(self.proc, grace=10)
        self._log.close()


def write_kernelspec(share):
    """`deepnb install --prefix` writes the spec as users get it; the test adds the tag
    to its env so kernels (and their shell children) can be found and killed."""
    prefix = share.parent.parent
    subprocess.run([str(KERNEL_BIN), "install", "--prefix", str(prefix)], check=True,
                   capture_output=True, timeout=30)
    spec_path = share / "kernels" / "deepnb" / "kernel.json"
    spec = json.loads(spec_path.read_text())
    spec.setdefault("env", {})[TAG_VAR] = TAG
    spec_path.write_text(json.dumps(spec, indent=1))
    return spec
