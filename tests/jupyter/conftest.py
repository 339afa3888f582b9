"""Shared machinery for the real-client tests of the deepnb kernel.

Runs under Debian's Python (jupyter_client 7.4) and the PyPI venv (jupyter_client 8).
The kernel binary is `$DEEPNB_BUILD/kernel/deepnb` (default `<repo>/build`). Two
kernelspecs are written to a temporary folder found through JUPYTER_PATH:
`deepnb` (interrupt_mode signal) and `deepnb-msg` (interrupt_mode message).

DEEPNB_TEST_KERNEL=ipykernel points both specs at the running Python's ipykernel
instead: a sanity check of the tests themselves against a known-good kernel. Only
tests of deepnb's own semantics skip in that mode.

Every kernel started from these specs carries DEEPNB_TEST_ORPHAN_TAG in its
environment; at the end of the session any such process still running (a kernel a
failed test left behind, or its children) is killed by pid.
"""
import atexit
import hashlib
import hmac
import json
import os
import shutil
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path
from queue import Empty

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("DEEPNB_BUILD") or REPO / "build")
KERNEL_BIN = BUILD / "kernel" / "deepnb"
TARGET = os.environ.get("DEEPNB_TEST_KERNEL", "deepnb")
if TARGET not in ("deepnb", "ipykernel"):
    raise RuntimeError(f"DEEPNB_TEST_KERNEL must be deepnb or ipykernel, not {TARGET!r}")
IS_DEEPNB = TARGET == "deepnb"
TIMEOUT = 15

ORPHAN_VAR = "DEEPNB_TEST_ORPHAN_TAG"
ORPHAN_TAG = os.environ.get("DEEPNB_TEST_TAG") or uuid.uuid4().hex

import jupyter_client  # noqa: E402  (after the constants the docstring names)


def kernel_argv():
    if IS_DEEPNB:
        return [str(KERNEL_BIN), "kernel", "-f", "{connection_file}"]
    return [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]


def _write_specs(root):
    """kernels/deepnb and kernels/deepnb-msg under root; both carry the orphan tag."""
    for name, mode in (("deepnb", "signal"), ("deepnb-msg", "message")):
        d = root / "kernels" / name
        d.mkdir(parents=True, exist_ok=True)
        spec = {
            "argv": kernel_argv(),
            "display_name": f"deepnb ({mode} interrupt, test)",
            "language": "deepnb" if IS_DEEPNB else "python",
            "interrupt_mode": mode,
            "env": {ORPHAN_VAR: ORPHAN_TAG},
        }
        (d / "kernel.json").write_text(json.dumps(spec, indent=1))


# The specs must exist before any test class (jupyter_kernel_test starts its kernel in
# setUpClass, outside fixtures), so they are written at import.
SPEC_ROOT = Path(tempfile.mkdtemp(prefix="deepnb-jspec-"))
atexit.register(shutil.rmtree, SPEC_ROOT, True)  # also when imported outside pytest
_write_specs(SPEC_ROOT)
os.environ["JUPYTER_PATH"] = os.pathsep.join(
    [str(SPEC_ROOT)] + [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p])
os.environ["JUPYTER_RUNTIME_DIR"] = str(SPEC_ROOT / "runtime")


def tagged_pids():
    """Processes (other than this one) whose environment carries this session's tag."""
    needle = f"{ORPHAN_VAR}={ORPHAN_TAG}".encode()
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if needle in env:
            pids.append(int(entry))
    return pids


def kill_orphans():
    pids = tagged_pids()
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return pids


@pytest.hookimpl(trylast=True)  # after pytest's own teardown of the fixtures
def pytest_sessionfinish(session, exitstatus):
    left = kill_orphans()
    if left:
        sys.stderr.write(f"\nconftest: killed {len(left)} kernel process(es) left behind: {left}\n")
    shutil.rmtree(SPEC_ROOT, ignore_errors=True)


def pytest_report_header(config):
    where = KERNEL_BIN if IS_DEEPNB else f"{sys.executable} -m ipykernel_launcher"
    return [f"kernel under test: {TARGET} ({where}); jupyter_client {jupyter_client.__version__}"]


def pytest_sessionstart(session):
    # A missing binary is a broken setup, not a reason to skip: stop with the path.
    if IS_DEEPNB and not KERNEL_BIN.exists():
        pytest.exit(f"kernel binary {KERNEL_BIN} not built (set DEEPNB_BUILD)", returncode=2)


deepnb_only = pytest.mark.skipif(not IS_DEEPNB, reason="deepnb semantics; ipykernel differs")


# --- a started kernel and its client -------------------------------------------------

class Kernel:
    """A KernelManager + BlockingKernelClient pair with helpers that work under
    jupyter_client 7 and 8."""

    def __init__(self, name="deepnb", cwd=None):
        from jupyter_client import KernelManager
        self.km = KernelManager(kernel_name=name)
        kw = {"cwd": str(cwd)} if cwd else {}
        self.km.start_kernel(**kw)
        self.kc = self.km.client()
        self.kc.start_channels()
        try:
            self.kc.wait_for_ready(timeout=30)
        except BaseException:
            self.close()
            raise

    @property
    def pid(self):
        return self.km.provisioner.process.pid

    @property
    def process(self):
        return self.km.provisioner.process

    def close(self):
        try:
            self.kc.stop_channels()
        finally:
            if self.km.has_kernel:
                self.km.shutdown_kernel(now=True)

    # Messages ----------------------------------------------------------------------
    def send(self, channel, msg_type, content=None):
        msg = self.kc.session.msg(msg_type, content or {})
        getattr(self.kc, channel + "_channel").send(msg)
        return msg["header"]["msg_id"]

    def get(self, channel, timeout=TIMEOUT):
        return getattr(self.kc, f"get_{channel}_msg")(timeout=timeout)

    def reply(self, msg_id, channel="shell", timeout=TIMEOUT):
        """The reply to msg_id on channel; replies to other requests are skipped."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {channel} reply to {msg_id} within {timeout}s")
            try:
                msg = self.get(channel, timeout=left)
            except Empty:
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg

    def iopub(self, msg_ids, timeout=TIMEOUT):
        """iopub messages of each request in msg_ids, read until each one's idle.
        Returns {msg_id: [messages]}; messages of other requests are dropped."""
        if isinstance(msg_ids, str):
            msg_ids = [msg_ids]
        out = {m: [] for m in msg_ids}
        pending = set(msg_ids)
        deadline = time.monotonic() + timeout
        while pending:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no idle on iopub for {sorted(pending)} within {timeout}s; "
                                     f"got {summarize(out)}")
            try:
                msg = self.get("iopub", timeout=left)
            except Empty:
                continue
            parent = msg["parent_header"].get("msg_id")
            if parent in out:
                out[parent].append(msg)
                if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                    pending.discard(parent)
        return out

    def flush_iopub(self, quiet=0.2):
        while True:
            try:
                self.get("iopub", timeout=quiet)
            except Empty:
                return

    def execute(self, code, timeout=TIMEOUT, **kw):
        """(reply, iopub messages between busy and idle, inclusive)."""
        msg_id = self.kc.execute(code, **kw)
        reply = self.reply(msg_id, timeout=timeout)
        msgs = self.iopub(msg_id, timeout=timeout)[msg_id]
        return reply, msgs

    def alive(self):
        """Raises unless the process runs, heartbeat echoes and kernel_info answers."""
        assert self.process.poll() is None, f"kernel exited with {self.process.returncode}"
        assert heartbeat_echoes(self.km.get_connection_info()), "heartbeat did not echo"
        msg_id = self.kc.kernel_info()
        reply = self.reply(msg_id, timeout=TIMEOUT)
        assert reply["content"]["status"] == "ok"
        self.iopub(msg_id)
        return True


def summarize(by_parent):
    return {k[:8]: [(m["msg_type"], m["content"].get("execution_state", "")) for m in v]
            for k, v in by_parent.items()}


def outputs_text(msgs):
    """All text a cell produced: streams and text/plain of results and displays."""
    parts = []
    for m in msgs:
        c = m["content"]
        if m["msg_type"] == "stream":
            parts.append(c["text"])
        elif m["msg_type"] in ("execute_result", "display_data"):
            parts.append(c["data"].get("text/plain", ""))
        elif m["msg_type"] == "error":
            parts.append(c["evalue"] + "\n" + "\n".join(c["traceback"]))
    return "".join(parts)


def only(msgs, msg_type):
    return [m for m in msgs if m["msg_type"] == msg_type]


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    """One kernel (signal interrupt) per test module, started in its own temp folder."""
    k = Kernel("deepnb", cwd=tmp_path_factory.mktemp("kcwd"))
    yield k
    k.close()


@pytest.fixture
def fresh_kernel(tmp_path):
    """A kernel of its own for a test that stops, restarts or interrupts it."""
    made = []

    def start(name="deepnb"):
        k = Kernel(name, cwd=tmp_path)
        made.append(k)
        return k

    yield start
    for k in made:
        k.close()


# --- raw sockets ----------------------------------------------------------------------

def addr(info, channel):
    return f"{info['transport']}://{info['ip']}:{info[channel + '_port']}"


def heartbeat_echoes(info, timeout=5.0):
    import zmq
    ctx = zmq.Context.instance()
    s = ctx.socket(zmq.REQ)
    s.setsockopt(zmq.LINGER, 0)
    try:
        s.connect(addr(info, "hb"))
        payload = b"ping-" + uuid.uuid4().hex.encode()
        s.send(payload)
        if s.poll(int(timeout * 1000)):
            return s.recv() == payload
        return False
    finally:
        s.close()


def key_of(info):
    key = info["key"]
    return key.encode() if isinstance(key, str) else key


def sign(key, frames):
    if not key:
        return b""
    h = hmac.new(key, digestmod=hashlib.sha256)
    for f in frames:
        h.update(f)
    return h.hexdigest().encode()


def header(msg_type, session="raw-test"):
    return {"msg_id": uuid.uuid4().hex, "session": session, "username": "test",
            "date": "2026-01-01T00:00:00.000000Z", "msg_type": msg_type, "version": "5.3"}


def wire(key, hdr, content, parent=None, metadata=None):
    """[delimiter, signature, header, parent, metadata, content] for hdr and content."""
    frames = [json.dumps(x).encode() if not isinstance(x, bytes) else x
              for x in (hdr, parent or {}, metadata or {}, content)]
    return [b"<IDS|MSG>", sign(key, frames)] + frames
