#!/usr/bin/env python3
"""Kernel latency: deepnb against Debian's ipykernel 6.17 and PyPI's ipykernel 7.

    python3 bench/kernel_latency/bench.py [--build DIR] [--starts 5] [--rounds 200]

Runs with either Python stack (it needs jupyter_client for connection files and pyzmq).
Each kernel is launched the way a kernel manager does (a connection file, `-f`), and
driven by a lean client (raw pyzmq, hand-signed frames) so client overhead stays small
and the same for every kernel:
  startup    process spawn to the first kernel_info_reply (median of --starts starts;
             the client's sockets are connected before the spawn, reconnecting every ms)
  roundtrip  execute_request sent to iopub idle received, for a trivial cell: `%pwd`
             for deepnb, `1` for ipykernel (median and p99 of --rounds, after a warm-up)
  memory     resident set (VmRSS) of the kernel's process tree, 0.5 s after it is ready
             (its private part, Private_Clean + Private_Dirty, is shown beside it)
Ratios, last: deepnb against the better ipykernel on each measure (higher is better
for deepnb). Goals: startup >= 20x, roundtrip >= 10x, memory >= 10x.
"""
import argparse
import hashlib
import hmac
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import zmq
from jupyter_client.connect import write_connection_file

REPO = Path(__file__).resolve().parents[2]
VENV_PY = os.environ.get("DEEPNB_VENV_PYTHON", str(REPO / ".venv" / "bin" / "python"))


class Client:
    """Just enough of a Jupyter client to time a kernel."""

    def __init__(self, cfg):
        self.key = cfg["key"].encode() if isinstance(cfg["key"], str) else cfg["key"]
        self.session = uuid.uuid4().hex
        self.ctx = zmq.Context()
        base = f"{cfg['transport']}://{cfg['ip']}:"

        def sock(kind, port):
            s = self.ctx.socket(kind)
            s.setsockopt(zmq.LINGER, 0)
            s.setsockopt(zmq.RECONNECT_IVL, 1)  # find a kernel that just bound within a ms
            s.connect(base + str(cfg[port]))
            return s
        self.shell = sock(zmq.DEALER, "shell_port")
        self.control = sock(zmq.DEALER, "control_port")
        self.iopub = sock(zmq.SUB, "iopub_port")
        self.iopub.setsockopt(zmq.SUBSCRIBE, b"")

    def send(self, sock, msg_type, content):
        msg_id = uuid.uuid4().hex
        hdr = {"msg_id": msg_id, "session": self.session, "username": "bench",
               "date": "2026-01-01T00:00:00.000000Z", "msg_type": msg_type, "version": "5.3"}
        parts = [json.dumps(hdr).encode(), b"{}", b"{}", json.dumps(content).encode()]
        h = hmac.new(self.key, digestmod=hashlib.sha256)
        for p in parts:
            h.update(p)
        sock.send_multipart([b"<IDS|MSG>", h.hexdigest().encode()] + parts)
        return msg_id

    @staticmethod
    def parse(frames):
        i = frames.index(b"<IDS|MSG>")
        return json.loads(frames[i + 2]), json.loads(frames[i + 3]), frames[i + 5]

    def wait(self, sock, deadline, want=None, parent=None):
        """Next message on sock (matching want/parent when given), or None at deadline."""
        while True:
            left = deadline - time.perf_counter()
            if left <= 0 or not sock.poll(max(1, int(left * 1000))):
                return None
            hdr, par, content = self.parse(sock.recv_multipart())
            if (want is None or hdr["msg_type"] == want) and \
                    (parent is None or par.get("msg_id") == parent):
                return hdr, par, content

    def close(self):
        self.ctx.destroy(linger=0)


def tree_rss_kib(pid):
    """(VmRSS, private pages) of pid and all its descendants, in KiB. Most of a small
    process's RSS is shared library pages; the private part shows what it owns."""
    parent_of = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = Path(f"/proc/{d}/stat").read_text()
                parent_of[int(d)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    tree, grew = {pid}, True
    while grew:
        more = {p for p, pp in parent_of.items() if pp in tree and p not in tree}
        tree |= more
        grew = bool(more)
    rss = private = 0
    for p in tree:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss += int(line.split()[1])
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith(("Private_Clean:", "Private_Dirty:")):
                    private += int(line.split()[1])
        except OSError:
            pass
    return rss, private


class Run:
    """One started kernel: its process, connection and client."""

    def __init__(self, argv, tmp):
        self.conn = os.path.join(tmp, f"kernel-{uuid.uuid4().hex}.json")
        _, cfg = write_connection_file(self.conn, ip="127.0.0.1", transport="tcp",
                                       key=uuid.uuid4().hex.encode(),
                                       signature_scheme="hmac-sha256")
        self.client = Client(cfg)
        cmd = [a.replace("{connection_file}", self.conn) for a in argv]
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        c = self.client
        msg_id = c.send(c.shell, "kernel_info_request", {})
        got = c.wait(c.shell, t0 + 60, "kernel_info_reply", msg_id)
        self.startup = time.perf_counter() - t0
        if got is None:
            self.stop()
            raise RuntimeError(f"{cmd[0]}: no kernel_info_reply within 60 s")

    def iopub_ready(self):
        """Nudge with kernel_info until iopub delivers, as jupyter_client does."""
        c = self.client
        for _ in range(100):
            c.send(c.shell, "kernel_info_request", {})
            if c.wait(c.iopub, time.perf_counter() + 0.2) is not None:
                break
        else:
            raise RuntimeError("iopub never delivered")
        while c.wait(c.iopub, time.perf_counter() + 0.05) is not None:
            pass
        while c.wait(c.shell, time.perf_counter() + 0.01) is not None:
            pass

    def roundtrip(self, code):
        c = self.client
        t0 = time.perf_counter()
        msg_id = c.send(c.shell, "execute_request", {
            "code": code, "silent": False, "store_history": True, "user_expressions": {},
            "allow_stdin": False, "stop_on_error": True})
        while True:
            got = c.wait(c.iopub, t0 + 30, "status", msg_id)
            if got is None:
                raise RuntimeError(f"no idle for {code!r}")
            if json.loads(got[2])["execution_state"] == "idle":
                break
        took = time.perf_counter() - t0
        if c.wait(c.shell, time.perf_counter() + 5, "execute_reply", msg_id) is None:
            raise RuntimeError(f"no execute_reply for {code!r}")
        return took

    def stop(self):
        c = self.client
        if self.proc.poll() is None:
            c.send(c.control, "shutdown_request", {"restart": False})
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        c.close()
        if os.path.exists(self.conn):
            os.unlink(self.conn)


def measure(argv, code, starts, rounds, tmp):
    ups, rss, trips = [], (0, 0), []
    for i in range(starts):
        run = Run(argv, tmp)
        try:
            ups.append(run.startup)
            if i == 0:
                run.iopub_ready()
                time.sleep(0.5)
                rss = tree_rss_kib(run.proc.pid)
                for _ in range(max(10, rounds // 10)):
                    run.roundtrip(code)
                trips = [run.roundtrip(code) for _ in range(rounds)]
        finally:
            run.stop()
    trips.sort()
    return {"startup": statistics.median(ups), "rt_median": statistics.median(trips),
            "rt_p99": trips[min(len(trips) - 1, int(round(0.99 * (len(trips) - 1))))],
            "rss": rss[0], "private": rss[1]}


def version_of(py, module):
    try:
        out = subprocess.run([py, "-c", f"import {module}; print({module}.__version__)"],
                             capture_output=True, text=True, timeout=30)
        return out.stdout.strip() or None
    except (OSError, subprocess.TimeoutExpired):
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.environ.get("DEEPNB_BUILD") or str(REPO / "build"))
    ap.add_argument("--starts", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=200)
    args = ap.parse_args()

    binary = os.path.join(args.build, "kernel", "deepnb")
    kernels = []
    if os.access(binary, os.X_OK):
        kernels.append(("deepnb", [binary, "kernel", "-f", "{connection_file}"], "%pwd", True))
    else:
        print(f"deepnb kernel not found at {binary} (--build or DEEPNB_BUILD)", file=sys.stderr)
    for py, where in (("/usr/bin/python3", "Debian"), (VENV_PY, "PyPI")):
        v = version_of(py, "ipykernel")
        if v:
            kernels.append((f"ipykernel {v} ({where})",
                            [py, "-m", "ipykernel_launcher", "-f", "{connection_file}"], "1",
                            False))
        else:
            print(f"no ipykernel in {py}; skipped", file=sys.stderr)

    results = []
    with tempfile.TemporaryDirectory(prefix="deepnb-bench-") as tmp:
        for name, argv, code, is_deepnb in kernels:
            r = measure(argv, code, args.starts, args.rounds, tmp)
            results.append((name, code, is_deepnb, r))

    print(f"{'kernel':28} {'cell':6} {'startup ms':>11} {'rt median ms':>13} "
          f"{'rt p99 ms':>10} {'RSS MiB':>8} {'private MiB':>12}")
    for name, code, _, r in results:
        print(f"{name:28} {code:6} {r['startup'] * 1e3:11.1f} {r['rt_median'] * 1e3:13.3f} "
              f"{r['rt_p99'] * 1e3:10.3f} {r['rss'] / 1024:8.1f} {r['private'] / 1024:12.1f}")
    print(f"(startup: median of {args.starts} starts; round trip: {args.rounds} cells, "
          f"execute_request to iopub idle;\n RSS and its private part: kernel process tree after start-up)")
    dn = [r for _, _, d, r in results if d]
    ipk = [r for _, _, d, r in results if not d]
    if dn and ipk:
        d = dn[0]
        ratio = {
            "startup": min(r["startup"] for r in ipk) / d["startup"],
            "roundtrip": min(r["rt_median"] for r in ipk) / d["rt_median"],
            "memory": min(r["rss"] for r in ipk) / d["rss"],
        }
        print("goals: startup>=20 roundtrip>=10 memory>=10 (deepnb vs the better ipykernel)")
        print(" ".join(f"{k}={v:.1f}" for k, v in ratio.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
