"""A small W3C WebDriver client: Debian's chromedriver driven over HTTP with the
standard library, so the browser tests need no Python package beyond pytest.

Only what the tests use: navigate, run JavaScript, click, keys, screenshots, and
explicit waits that poll a JavaScript predicate until it holds or a timeout passes.
"""
import base64
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

ELEMENT_KEY = "element-6066-11e4-a52e-4f735466cecf"  # W3C's name for element references
SHIFT, ENTER = "\ue008", "\ue007"


def free_port():
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WebDriverError(RuntimeError):
    pass


class WaitTimeout(AssertionError):
    pass


def _http(method, url, body=None, timeout=30):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        try:
            detail = json.loads(e.read())["value"]
            msg = f"{detail.get('error')}: {detail.get('message', '')[:500]}"
        except Exception:  # not a WebDriver error body
            msg = str(e)
        raise WebDriverError(f"{method} {url}: {msg}") from None


class Browser:
    """chromedriver + one headless Chromium session. close() ends both, also after a
    failed start; the caller additionally kills by environment tag (see conftest)."""

    def __init__(self, chromedriver, chromium, user_data_dir, env, log_path,
                 width=1280, height=1000):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.session = None
        self._log = open(log_path, "wb")
        # own process group: close() can end chromedriver and whatever it left
        self.proc = subprocess.Popen([chromedriver, f"--port={self.port}"], env=env,
                                     stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        try:
            self._wait_ready()
            caps = {"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": chromium,
                    "args": ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                             "--disable-background-networking",
                             f"--user-data-dir={user_data_dir}",
                             f"--window-size={width},{height}"],
                },
            }}}
            value = _http("POST", self.base + "/session", caps, timeout=60)["value"]
            self.session = value["sessionId"]
            self.version = value["capabilities"].get("browserVersion", "?")
        except BaseException:
            self.close()
            raise

    def _wait_ready(self, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise WebDriverError(f"chromedriver exited with {self.proc.returncode}")
            try:
                if _http("GET", self.base + "/status", timeout=2)["value"].get("ready"):
                    return
            except (OSError, WebDriverError):
                pass
            time.sleep(0.1)
        raise WebDriverError(f"chromedriver not ready within {timeout}s")

    def _cmd(self, method, path, body=None, timeout=30):
        return _http(method, f"{self.base}/session/{self.session}{path}", body,
                     timeout)["value"]

    # Commands ------------------------------------------------------------------------
    def get(self, url):
        self._cmd("POST", "/url", {"url": url}, timeout=60)

    def js(self, script, *args):
        """Runs script (a function body; `arguments` holds args) and returns its value;
        DOM elements come back as element references usable with click()."""
        return self._cmd("POST", "/execute/sync", {"script": script, "args": list(args)})

    def click(self, element):
        self._cmd("POST", f"/element/{element[ELEMENT_KEY]}/click", {})

    def keys(self, *chords):
        """Presses each chord (a string of keys held together, e.g. SHIFT + ENTER) on
        whatever has the focus, as real key events."""
        actions = []
        for chord in chords:
            actions += [{"type": "keyDown", "value": k} for k in chord]
            actions += [{"type": "keyUp", "value": k} for k in reversed(chord)]
        self._cmd("POST", "/actions",
                  {"actions": [{"type": "key", "id": "keyboard", "actions": actions}]})
        self._cmd("DELETE", "/actions")

    def screenshot(self, path):
        with open(path, "wb") as f:
            f.write(base64.b64decode(self._cmd("GET", "/screenshot")))

    def set_window_size(self, width, height):
        """Resizes the (headless) window, e.g. to fit a region in one screenshot."""
        self._cmd("POST", "/window/rect", {"width": width, "height": height})

    def page_source(self):
        return self._cmd("GET", "/source")

    def wait_js(self, what, script, *args, timeout=30, interval=0.1):
        """Polls script until it returns something truthy and returns that; on timeout
        fails naming `what` and the last value seen."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            try:
                last = self.js(script, *args)
            except WebDriverError as e:  # e.g. the page is still navigating
                last = e
            else:
                if last:
                    return last
            if time.monotonic() >= deadline:
                raise WaitTimeout(f"waited {timeout}s for {what}; last value: {last!r}")
            time.sleep(interval)

    def close(self):
        try:
            if self.session:
                _http("DELETE", f"{self.base}/session/{self.session}", timeout=15)
        except (OSError, WebDriverError):
            pass
        finally:
            self.session = None
            stop_group(self.proc)
            self._log.close()


def stop_group(proc, grace=5):
    """Ends proc and its process group: SIGTERM, then SIGKILL after grace seconds."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            pass
    try:  # also what the leader left behind in its group
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if proc.poll() is None:
        proc.wait(5)
