"""The protocol rules clients depend on, checked with jupyter_client (7.4 or 8)."""
import json
import os
import time
from pathlib import Path

import pytest

from conftest import (IS_DEEPNB, TIMEOUT, addr, deepnb_only, heartbeat_echoes, key_of, only,
                      outputs_text, sign)

TRIVIAL = "%pwd"
if IS_DEEPNB:
    SLEEP30 = "!sleep 30"
    # fails after half a second, so the requests sent behind it are queued by then
    SLOW_ERROR = "!sleep 0.5; exit 1"
else:
    SLEEP30 = "import time; time.sleep(30)"  # IPython's ! swallows the interrupt
    SLOW_ERROR = "import time; time.sleep(0.5); raise ValueError('x')"
# a silent cell that would otherwise print; IPython lets ! output through even when silent
SILENT = "!echo should-not-appear" if IS_DEEPNB else "%pwd"
TICKS = "!for i in 1 2 3; do echo tick$i; sleep 1; done"
ABORTED = ("aborted", "abort")  # ipykernel sends "aborted"; the spec's validator says "abort"


def children(pid):
    """Direct children of pid, from /proc/PID/task/*/children. Fails the test when that
    cannot be read (no /proc, a kernel without CONFIG_PROC_CHILDREN, the process gone):
    an unreadable list must not pass for an empty one."""
    tasks = list(Path(f"/proc/{pid}/task").glob("*"))
    assert tasks, f"/proc/{pid}/task cannot be read: cannot tell which processes the kernel left"
    kids = []
    read = 0
    for task in tasks:
        try:
            kids += [int(x) for x in (task / "children").read_text().split()]
            read += 1
        except FileNotFoundError:
            pass        # a thread that ended meanwhile
    assert read, f"no /proc/{pid}/task/*/children could be read"
    return kids


def test_children_fails_when_proc_cannot_be_read():
    """The check above never reads a missing list as "no children"."""
    children(os.getpid())                           # readable here: no error
    gone = 2 ** 22 + 12345                          # above pid_max: no such process
    with pytest.raises(AssertionError):
        children(gone)


def _shell_requests():
    return {
        "kernel_info_request": {},
        "execute_request": {"code": TRIVIAL, "silent": False, "store_history": True,
                            "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
        "complete_request": {"code": "%pw", "cursor_pos": 3},
        "inspect_request": {"code": "%pwd", "cursor_pos": 2, "detail_level": 0},
        "is_complete_request": {"code": "%pwd"},
        "history_request": {"output": False, "raw": True, "hist_access_type": "tail", "n": 3},
        "comm_info_request": {},
    }


@pytest.mark.parametrize("channel,msg_type",
                         [("shell", t) for t in _shell_requests()] + [("control", "kernel_info_request")])
def test_busy_first_idle_last(kernel, channel, msg_type):
    content = _shell_requests()[msg_type]
    msg_id = kernel.send(channel, msg_type, content)
    reply = kernel.reply(msg_id, channel)
    assert reply["msg_type"] == msg_type.replace("_request", "_reply")
    want = "complete" if msg_type == "is_complete_request" else "ok"
    assert reply["content"]["status"] == want, reply["content"]
    msgs = kernel.iopub(msg_id)[msg_id]
    first, last = msgs[0], msgs[-1]
    assert (first["msg_type"], first["content"].get("execution_state")) == ("status", "busy"), msgs
    assert first["parent_header"]["msg_type"] == msg_type
    assert (last["msg_type"], last["content"].get("execution_state")) == ("status", "idle")
    assert len(only(msgs, "status")) == 2, "exactly one busy and one idle per request"


def test_comm_info_is_empty(kernel):
    msg_id = kernel.send("shell", "comm_info_request", {"target_name": "jupyter.widget"})
    reply = kernel.reply(msg_id)
    kernel.iopub(msg_id)
    assert reply["content"] == {"status": "ok", "comms": {}}


def test_execution_counts_and_execute_input(kernel):
    r1, m1 = kernel.execute(TRIVIAL)
    n = r1["content"]["execution_count"]
    types = [m["msg_type"] for m in m1]
    assert types == ["status", "execute_input", "execute_result", "status"], types
    assert m1[1]["content"] == {"code": TRIVIAL, "execution_count": n}
    assert m1[2]["content"]["execution_count"] == n
    assert "text/plain" in m1[2]["content"]["data"]

    r2, _ = kernel.execute(TRIVIAL)
    assert r2["content"]["execution_count"] == n + 1

    # store_history=False runs the cell but does not take a number
    r3, m3 = kernel.execute(TRIVIAL, store_history=False)
    assert r3["content"]["status"] == "ok"
    assert isinstance(r3["content"]["execution_count"], int)
    assert only(m3, "execute_result"), "a cell that is not stored still shows its result"

    # silent: nothing on iopub but busy and idle, and no number taken either
    r4, m4 = kernel.execute(SILENT, silent=True)
    assert r4["content"]["status"] == "ok"
    assert [m["msg_type"] for m in m4] == ["status", "status"], m4

    r5, m5 = kernel.execute(TRIVIAL)
    assert r5["content"]["execution_count"] == n + 2
    assert only(m5, "execute_input")[0]["content"]["execution_count"] == n + 2


def test_error_reply_and_message(kernel):
    code = "%no_such_command" if IS_DEEPNB else "raise ValueError('x')"
    reply, msgs = kernel.execute(code)
    c = reply["content"]
    assert c["status"] == "error"
    assert c["ename"] and isinstance(c["evalue"], str)
    assert all(isinstance(line, str) for line in c["traceback"])
    assert isinstance(c["execution_count"], int)
    errs = only(msgs, "error")
    assert len(errs) == 1 and errs[0]["content"]["ename"] == c["ename"]


def _start_sleep(k):
    """Starts SLEEP30 and returns its msg_id once the cell is running."""
    msg_id = k.kc.execute(SLEEP30)
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        msg = k.get("iopub", timeout=TIMEOUT)
        if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "execute_input":
            break
    time.sleep(0.5)  # let the shell line start
    return msg_id


@pytest.mark.parametrize("spec,how", [("deepnb", "signal"), ("deepnb-msg", "manager"),
                                      ("deepnb-msg", "request")])
def test_interrupt(fresh_kernel, spec, how):
    k = fresh_kernel(spec)
    k.execute("%mkdir -p keep/here")
    k.execute("%cd keep/here")
    _, before = k.execute("%pwd")

    msg_id = _start_sleep(k)
    t0 = time.monotonic()
    if how == "request":
        irq = k.send("control", "interrupt_request")
        irq_reply = k.reply(irq, "control")
        assert irq_reply["msg_type"] == "interrupt_reply"
        if IS_DEEPNB:  # ipykernel 6 answers with an empty content
            assert irq_reply["content"]["status"] == "ok"
    else:
        k.km.interrupt_kernel()
    reply = k.reply(msg_id, timeout=20)
    took = time.monotonic() - t0
    print(f"interrupt ({spec}, {how}) answered in {took * 1000:.0f} ms")
    assert took < 5, f"interrupted cell replied after {took:.1f}s"
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "KeyboardInterrupt"
    msgs = k.iopub(msg_id)[msg_id]
    assert [m["content"]["ename"] for m in only(msgs, "error")] == ["KeyboardInterrupt"]

    # alive, same state, no sleep left behind
    k.alive()
    _, after = k.execute("%pwd")
    assert outputs_text(after) == outputs_text(before)
    deadline = time.monotonic() + 5
    while children(k.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert children(k.pid) == [], "the interrupted shell command is still running"
    r, _ = k.execute("!echo after")
    assert r["content"]["status"] == "ok"


@pytest.mark.parametrize("spec", ["deepnb", "deepnb-msg"])
def test_interrupt_while_idle(fresh_kernel, spec):
    """SIGINT lands while the kernel waits in zmq_poll (EINTR): it must shrug it off."""
    k = fresh_kernel(spec)
    for _ in range(3):
        k.km.interrupt_kernel()
        time.sleep(0.1)
    k.alive()
    reply, _ = k.execute(TRIVIAL)
    assert reply["content"]["status"] == "ok"


def test_stream_is_live(kernel):
    msg_id = kernel.kc.execute(TICKS)
    t0 = time.monotonic()
    seen = []
    while True:
        msg = kernel.get("iopub", timeout=TIMEOUT)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream":
            seen.append((time.monotonic() - t0, msg["content"]["name"], msg["content"]["text"]))
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
    end = time.monotonic() - t0
    reply = kernel.reply(msg_id)
    assert reply["content"]["status"] == "ok"
    text = "".join(s[2] for s in seen)
    assert text.split() == ["tick1", "tick2", "tick3"], seen
    assert all(s[1] == "stdout" for s in seen)
    first = next(t for t, _, chunk in seen if "tick1" in chunk)
    print(f"first chunk after {first * 1000:.0f} ms, cell done after {end * 1000:.0f} ms")
    assert end - first > 1.5, f"tick1 came at {first:.2f}s, the cell ended at {end:.2f}s"


def test_queued_requests_abort_after_error(kernel, tmp_path):
    marker = tmp_path / "ran"
    bad = kernel.kc.execute(SLOW_ERROR)
    queued = [kernel.kc.execute(f"!touch {marker}"), kernel.kc.execute(TRIVIAL)]
    assert kernel.reply(bad)["content"]["status"] == "error"
    for q in queued:
        content = kernel.reply(q)["content"]
        assert content["status"] in ABORTED, content
    kernel.iopub([bad] + queued)
    assert not marker.exists(), "an aborted request ran"
    # the abort ends with the queue: a request sent now runs
    reply, _ = kernel.execute(f"!touch {marker}")
    assert reply["content"]["status"] == "ok"
    assert marker.exists()


def test_a_request_sent_after_the_error_reply_runs(kernel):
    """Only what was queued behind a failed cell is aborted: a request the client sends as
    soon as it has the error's reply runs (it once raced the kernel's abort of its queue)."""
    for _ in range(150):
        bad = kernel.kc.execute("%nosuchcommand")
        assert kernel.reply(bad)["content"]["status"] == "error"
        after = kernel.kc.execute(TRIVIAL)   # sent at once, before the idle has arrived
        assert kernel.reply(after)["content"]["status"] == "ok"
        kernel.iopub([bad, after])


def test_no_abort_without_stop_on_error(kernel):
    bad = kernel.kc.execute(SLOW_ERROR, stop_on_error=False)
    after = kernel.kc.execute(TRIVIAL)
    assert kernel.reply(bad)["content"]["status"] == "error"
    assert kernel.reply(after)["content"]["status"] == "ok"
    kernel.iopub([bad, after])


def test_kernel_info_on_control(kernel):
    msg_id = kernel.send("control", "kernel_info_request")
    reply = kernel.reply(msg_id, "control")
    c = reply["content"]
    assert reply["msg_type"] == "kernel_info_reply"
    assert c["status"] == "ok"
    assert c["protocol_version"].startswith("5.")
    assert c["language_info"]["name"] == ("deepnb" if IS_DEEPNB else "python")
    kernel.iopub(msg_id)


def test_heartbeat_echoes(kernel):
    import zmq
    info = kernel.km.get_connection_info()
    assert heartbeat_echoes(info)
    s = zmq.Context.instance().socket(zmq.REQ)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(addr(info, "hb"))
    try:
        for payload in ([b"a"], [b"x" * 100_000], [b"one", b"two", b""]):
            s.send_multipart(payload)
            assert s.poll(5000), "no heartbeat echo"
            assert s.recv_multipart() == payload
    finally:
        s.close()


@pytest.mark.skipif(not IS_DEEPNB and __import__("ipykernel").__version__ < "7",
                    reason="ipykernel 6 has no XPUB iopub welcome")
def test_iopub_welcome_on_subscribe(tmp_path):
    """The first subscriber of a new kernel gets iopub_welcome (protocol 5.5) first,
    signed like any message. (A second SUB with the same topic is filtered by XPUB.)"""
    import zmq
    from jupyter_client import KernelManager
    km = KernelManager(kernel_name="deepnb")
    km.start_kernel(cwd=str(tmp_path))
    s = zmq.Context.instance().socket(zmq.SUB)
    s.setsockopt(zmq.LINGER, 0)
    try:
        info = km.get_connection_info()
        s.setsockopt(zmq.SUBSCRIBE, b"")
        s.connect(addr(info, "iopub"))
        assert s.poll(10000), "no iopub_welcome after subscribing"
        frames = s.recv_multipart()
    finally:
        s.close()
        km.shutdown_kernel(now=True)
    i = frames.index(b"<IDS|MSG>")
    sig, parts = frames[i + 1], frames[i + 2:i + 6]
    assert sig == sign(key_of(info), parts)
    hdr, content = json.loads(parts[0]), json.loads(parts[3])
    assert hdr["msg_type"] == "iopub_welcome"
    assert content == {"subscription": ""}


def test_shutdown(fresh_kernel):
    k = fresh_kernel()
    msg_id = k.kc.shutdown()
    reply = k.reply(msg_id, "control")
    assert reply["msg_type"] == "shutdown_reply"
    assert reply["content"] == {"status": "ok", "restart": False}
    assert k.process.wait(timeout=10) == 0


def test_shutdown_reply_with_restart(fresh_kernel):
    k = fresh_kernel()
    msg_id = k.kc.shutdown(restart=True)
    reply = k.reply(msg_id, "control")
    assert reply["content"] == {"status": "ok", "restart": True}
    assert k.process.wait(timeout=10) == 0


def test_restart_kernel(fresh_kernel):
    k = fresh_kernel()
    old = k.pid
    k.km.restart_kernel(now=False)
    assert k.pid != old
    assert not os.path.exists(f"/proc/{old}") or \
        Path(f"/proc/{old}/stat").read_text().split()[2] == "Z", "old kernel still runs"
    # the frontend's client stays connected across the restart, as JupyterLab's does
    k.kc.wait_for_ready(timeout=30)
    reply, _ = k.execute(TRIVIAL)
    assert reply["content"]["status"] == "ok"
    assert reply["content"]["execution_count"] == 1, "a restarted kernel counts from 1"
    k.alive()
