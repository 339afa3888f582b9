"""The cell language's model, training, weight and array commands through the real
kernel process under jupyter_client (Debian's /usr/bin/python3: jupyter_client 7.4,
numpy, h5py, Pillow as references).

The kernel is $DEEPNB_BUILD/kernel/deepnb (default <repo>/build), found through a
temporary kernelspec on JUPYTER_PATH. Each test module gets one kernel started in a
fresh folder (`kernel.cwd`); `kernel.run(code)` returns everything the cell published.
"""
import contextlib
import json
import os
import pathlib
import time
from queue import Empty

import pytest

jupyter_client = pytest.importorskip("jupyter_client")

REPO = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("DEEPNB_BUILD") or REPO / "build")
KERNEL = BUILD / "kernel" / "deepnb"


class Cell:
    """What one execute_request produced."""

    def __init__(self):
        self.msgs = []          # every iopub message of the request but status
        self.stdout = ""
        self.stderr = ""
        self.displays = []      # display_data contents
        self.updates = []       # update_display_data contents
        self.results = []       # execute_result contents
        self.error = None       # the error content, if any
        self.reply = None

    @property
    def ok(self):
        return self.reply["status"] == "ok"

    @property
    def result(self):
        """text/plain of the cell's result (None when it had none)."""
        return self.results[-1]["data"]["text/plain"] if self.results else None

    def texts(self, mime="text/plain"):
        """mime of every display and result, in order."""
        return [m["content"]["data"][mime] for m in self.msgs
                if m["msg_type"] in ("display_data", "execute_result")
                and mime in m["content"]["data"]]

    def __repr__(self):
        return (f"Cell(status={self.reply and self.reply['status']}, error={self.error and (self.error['ename'], self.error['evalue'])}, "
                f"stdout={self.stdout[-500:]!r}, stderr={self.stderr[-500:]!r}, "
                f"texts={[t[:300] for t in self.texts()]})")


class Kernel:
    def __init__(self, km, kc, cwd):
        self.km, self.kc, self.cwd = km, kc, cwd

    def send(self, code):
        return self.kc.execute(code, store_history=True)

    def collect(self, msg_id, timeout):
        cell = Cell()
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            assert left > 0, "the kernel did not finish the cell in time"
            try:
                msg = self.kc.get_iopub_msg(timeout=left)
            except Empty:
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            t, c = msg["msg_type"], msg["content"]
            if t == "status":
                if c["execution_state"] == "idle":
                    break
                continue
            cell.msgs.append(msg)
            if t == "stream":
                setattr(cell, c["name"], getattr(cell, c["name"]) + c["text"])
            elif t == "display_data":
                cell.displays.append(c)
            elif t == "update_display_data":
                cell.updates.append(c)
            elif t == "execute_result":
                cell.results.append(c)
            elif t == "error":
                cell.error = c
        while True:
            reply = self.kc.get_shell_msg(timeout=max(1, deadline - time.monotonic()))
            if reply["parent_header"].get("msg_id") == msg_id:
                cell.reply = reply["content"]
                return cell

    def run(self, code, timeout=300):
        return self.collect(self.send(code), timeout)

    def ok(self, code, timeout=300):
        """Runs code; fails the test unless the cell succeeded."""
        cell = self.run(code, timeout)
        assert cell.ok, (code, cell)
        return cell

    def fails(self, code, ename, *words, timeout=300):
        """Runs code; fails the test unless the cell failed with ename and its message
        holds every one of words."""
        cell = self.run(code, timeout)
        assert not cell.ok and cell.error, (code, cell)
        assert cell.error["ename"] == ename, (code, cell.error)
        for w in words:
            assert w in cell.error["evalue"], (code, w, cell.error["evalue"])
        return cell

    def interrupt(self):
        self.km.interrupt_kernel()

    def alive(self):
        return self.ok("%pwd").result is not None


def start_kernel(spec_root, cwd, name="deepnb-langtest"):
    spec = spec_root / "kernels" / name
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(KERNEL), "kernel", "-f", "{connection_file}"],
        "display_name": "deepnb (language tests)", "language": "deepnb",
        "interrupt_mode": "signal"}))
    os.environ["JUPYTER_PATH"] = str(spec_root)
    os.environ["JUPYTER_RUNTIME_DIR"] = str(spec_root / "runtime")
    km = jupyter_client.KernelManager(kernel_name=name)
    km.start_kernel(cwd=str(cwd))
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=30)
    return Kernel(km, kc, cwd)


def stop_kernel(k):
    try:
        k.kc.stop_channels()
    finally:
        k.km.shutdown_kernel(now=True)


@contextlib.contextmanager
def kernel_in(tmp_path_factory):
    """A kernel started in a fresh folder, on a kernelspec of its own; JUPYTER_PATH and
    JUPYTER_RUNTIME_DIR are put back afterwards."""
    assert KERNEL.exists(), f"{KERNEL} is not built (set DEEPNB_BUILD to the meson build folder)"
    saved = {k: os.environ.get(k) for k in ("JUPYTER_PATH", "JUPYTER_RUNTIME_DIR")}
    k = start_kernel(tmp_path_factory.mktemp("jupyter"), tmp_path_factory.mktemp("work"))
    try:
        yield k
    finally:
        stop_kernel(k)
        for key, v in saved.items():
            if v is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = v


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    """One kernel per test module."""
    with kernel_in(tmp_path_factory) as k:
        yield k


@pytest.fixture
def fresh_kernel(tmp_path_factory):
    """A kernel of the test's own, for tests that interrupt or need an empty workspace."""
    with kernel_in(tmp_path_factory) as k:
        yield k
