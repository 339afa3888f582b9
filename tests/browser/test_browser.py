"""deepnb in real browsers: JupyterLab 4 (PyPI, the repository's .venv) and the classic
Notebook 6.4 (Debian's /usr/bin/python3), each served headless on 127.0.0.1 and driven
in headless Chromium through its own UI: open a notebook the test wrote, Run All from
the menu, read the outputs from the DOM, interrupt a `!sleep 30` cell with the toolbar
button, run the next cell with Shift-Enter. Screenshots of each UI land in the test's tmp
dir: ui-<name>-outputs.png while the sleep runs, ui-<name>-interrupted.png at the end,
failure-<name>.png and failure-<name>.html (the page source) when a step fails.
"""
import json
import os
import time
import uuid
from pathlib import Path

import pytest

from browser_harness import (CHROMEDRIVER, CHROMIUM, DEBIAN_PY, KERNEL_BIN, TAG, TAG_VAR,
                             VENV_PY, Server, kill_tagged, require_browser, tagged_pids,
                             write_kernelspec)
from wdclient import ENTER, SHIFT, Browser

CELLS = [
    "%pwd",
    "!echo hello from the shell",
    "%%markdown\n## Rendered *by* deepnb\n\n- a **list** item",
    "%lsmagic",
    "!sleep 30",
    "!echo after the interrupt",
]
PWD, SHELL, MARKDOWN, LSMAGIC, SLEEP, AFTER = range(len(CELLS))
WAIT = 30  # generous bound for UI steps on a shared, busy machine
INTERRUPT_WAIT = 10  # the sleep lasts 30 s: an error before that proves the interrupt


def write_notebook(root, name="deepnb-browser.ipynb"):
    nb = {
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "deepnb", "display_name": "deepnb",
                                    "language": "deepnb"},
                     "language_info": {"name": "deepnb"}},
        "cells": [{"cell_type": "code", "id": uuid.uuid4().hex[:8], "metadata": {},
                   "execution_count": None, "outputs": [], "source": src}
                  for src in CELLS],
    }
    (root / name).write_text(json.dumps(nb, indent=1))
    return name


class JupyterLab:
    """JupyterLab 4.x DOM: Lumino menus with data-command, toolbar items with
    data-command, the execution indicator's data-status, CodeMirror 6 editors."""
    name = "jupyterlab"

    def __init__(self, b):
        self.b = b

    def path(self, nb):
        return f"/lab/tree/{nb}"

    CELL = "const c = document.querySelectorAll('.jp-NotebookPanel .jp-Notebook .jp-Cell');"

    def cell_count(self):
        return self.b.js(self.CELL + "return c.length;")

    def kernel_name(self):
        return self.b.js("const e = document.querySelector("
                         "'.jp-NotebookPanel-toolbar .jp-Toolbar-kernelName');"
                         "return e ? e.innerText.trim() : null;")

    def status(self):
        return self.b.js("const e = document.querySelector("
                         "'.jp-NotebookPanel-toolbar .jp-Notebook-ExecutionIndicator');"
                         "return e ? e.getAttribute('data-status') : null;")

    def output_text(self, i):
        return self.b.js(self.CELL + "return c[arguments[0]] ? [...c[arguments[0]]"
                         ".querySelectorAll('.jp-OutputArea-output')]"
                         ".map(o => o.innerText).join('\\n') : null;", i)

    def markdown_html(self, i):
        return self.b.js(self.CELL + "const m = c[arguments[0]] && c[arguments[0]]"
                         ".querySelector('.jp-OutputArea .jp-RenderedMarkdown');"
                         "return m ? m.innerHTML : null;", i)

    def run_all(self):
        b = self.b
        b.click(b.wait_js("the Run menu", "return [...document.querySelectorAll("
                          "'.lm-MenuBar-item')].find(e => e.innerText.trim() === 'Run');"))
        b.click(b.wait_js("Run All Cells in the Run menu", "return document.querySelector("
                          "'.lm-Menu-item[data-command=\"runmenu:run-all\"]');"))

    def interrupt(self):
        self.b.click(self.b.wait_js("the interrupt button", "return document.querySelector("
                                    "'.jp-NotebookPanel-toolbar "
                                    "[data-command=\"notebook:interrupt-kernel\"]');"))

    def run_cell(self, i):
        self.b.click(self.b.wait_js(f"the editor of cell {i}", self.CELL +
                                    "return c[arguments[0]].querySelector('.cm-content');", i))
        self.b.keys(SHIFT + ENTER)


class ClassicNotebook:
    """Notebook 6.4 DOM: Bootstrap menus with ids, toolbar buttons with
    data-jupyter-action, the kernel indicator icon's class, CodeMirror 5 editors."""
    name = "classic"

    def __init__(self, b):
        self.b = b

    def path(self, nb):
        return f"/notebooks/{nb}"

    CELL = "const c = document.querySelectorAll('#notebook-container .cell');"

    def cell_count(self):
        return self.b.js(self.CELL + "return c.length;")

    def kernel_name(self):
        return self.b.js("const e = document.querySelector('.kernel_indicator_name');"
                         "return e ? e.innerText.trim() : null;")

    def status(self):
        return self.b.js("const e = document.getElementById('kernel_indicator_icon');"
                         "if (!e) return null;"
                         "const m = e.className.match(/kernel_(\\w+)_icon/);"
                         "return m ? m[1] : e.className;")

    def output_text(self, i):
        return self.b.js(self.CELL + "return c[arguments[0]] ? [...c[arguments[0]]"
                         ".querySelectorAll('.output_area')]"
                         ".map(o => o.innerText).join('\\n') : null;", i)

    def markdown_html(self, i):
        return self.b.js(self.CELL + "const m = c[arguments[0]] && c[arguments[0]]"
                         ".querySelector('.output_area .output_markdown');"
                         "return m ? m.innerHTML : null;", i)

    def run_all(self):
        b = self.b
        b.click(b.wait_js("the Cell menu", "return document.getElementById('celllink');"))
        b.click(b.wait_js("Run All in the Cell menu", "const a = document.querySelector("
                          "'#run_all_cells > a'); return a && a.offsetParent ? a : null;"))

    def interrupt(self):
        self.b.click(self.b.wait_js("the interrupt button", "return document.querySelector("
                                    "'button[data-jupyter-action="
                                    "\"jupyter-notebook:interrupt-kernel\"]');"))

    def run_cell(self, i):
        self.b.click(self.b.wait_js(f"the editor of cell {i}", self.CELL +
                                    "return c[arguments[0]].querySelector('.CodeMirror-lines');",
                                    i))
        self.b.keys(SHIFT + ENTER)


def sleep_pids():
    """The kernel's `sleep 30` children (found by this session's tag)."""
    out = []
    for pid in tagged_pids():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if f.read().split(b"\0")[:2] == [b"sleep", b"30"]:
                    out.append(pid)
        except OSError:
            pass
    return out


def wait_for(what, predicate, timeout):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"waited {timeout}s for {what}")
        time.sleep(0.1)


def exercise(ui, server, root, shots):
    """The whole scenario in one UI; returns nothing, asserts as it goes."""
    b = ui.b
    nb = write_notebook(root)
    b.get(server.url(ui.path(nb)))

    # Loaded: all cells shown, the kernel named and idle.
    b.wait_js("the notebook's cells", ui.CELL + "return c.length === arguments[0];",
              len(CELLS), timeout=60)
    wait_for("the kernel name deepnb in the toolbar", lambda: ui.kernel_name() == "deepnb", WAIT)
    wait_for(f"an idle kernel (status {ui.status()!r})", lambda: ui.status() == "idle", WAIT)
    kernels = server.api("/api/kernels")
    assert [k["name"] for k in kernels] == ["deepnb"], kernels

    ui.run_all()

    # Outputs of the first cells arrive while the sleep runs.
    pwd = wait_for("the %pwd output", lambda: ui.output_text(PWD), WAIT)
    assert str(root) in pwd, f"%pwd shows {pwd!r}, the server's root is {root}"
    shell = wait_for("the shell output", lambda: ui.output_text(SHELL), WAIT)
    assert "hello from the shell" in shell, shell
    html = wait_for("the rendered markdown", lambda: ui.markdown_html(MARKDOWN), WAIT)
    assert "<h2" in html and "<em>by</em>" in html and "<strong>list</strong>" in html \
        and "<li>" in html, f"markdown not rendered as HTML: {html!r}"
    assert "##" not in html and "*by*" not in html, html
    lsmagic = wait_for("the %lsmagic output", lambda: ui.output_text(LSMAGIC), WAIT)
    for word in ("Line commands:", "%pwd", "%%markdown", "!COMMAND"):
        assert word in lsmagic, f"{word!r} missing from %lsmagic output: {lsmagic!r}"

    # The sleep is running in the kernel: interrupt it from the toolbar.
    wait_for("the kernel's `sleep 30` process", sleep_pids, WAIT)
    b.screenshot(shots / f"ui-{ui.name}-outputs.png")
    assert ui.status() == "busy", ui.status()
    ui.interrupt()
    t0 = time.monotonic()
    err = wait_for("KeyboardInterrupt in the sleep cell's output",
                   lambda: "KeyboardInterrupt" in (ui.output_text(SLEEP) or "")
                   and ui.output_text(SLEEP), INTERRUPT_WAIT)
    took = time.monotonic() - t0
    print(f"{ui.name}: interrupt shown after {took:.2f}s: {err.strip()[:200]!r}")
    wait_for("the sleep process to end", lambda: not sleep_pids(), INTERRUPT_WAIT)

    # The kernel lives on: the next cell runs from the keyboard.
    ui.run_cell(AFTER)
    after = wait_for("the output of the cell after the interrupt",
                     lambda: ui.output_text(AFTER), WAIT)
    assert "after the interrupt" in after, after
    wait_for(f"an idle kernel at the end (status {ui.status()!r})",
             lambda: ui.status() == "idle", WAIT)
    assert ui.kernel_name() == "deepnb"
    b.screenshot(shots / f"ui-{ui.name}-interrupted.png")


def run_scenario(ui_cls, server, browser, tmp_path, root):
    ui = ui_cls(browser)
    try:
        exercise(ui, server, root, tmp_path)
    except BaseException:
        try:
            browser.screenshot(tmp_path / f"failure-{ui.name}.png")
            (tmp_path / f"failure-{ui.name}.html").write_text(browser.page_source())
        except Exception:  # the browser may be what failed
            pass
        print(f"server log ({server.log_path}):\n{server.log()}")
        raise


@pytest.fixture(scope="module", autouse=True)
def no_process_left_behind():
    """Whatever a test left running (a kernel, Chromium) is killed by tag at the end; a
    missing kernel binary is a broken setup, not a reason to skip."""
    if not KERNEL_BIN.exists():
        pytest.fail(f"kernel binary {KERNEL_BIN} not built (set DEEPNB_BUILD)", pytrace=False)
    yield
    left = kill_tagged()
    if left:
        print(f"browser tests: killed {len(left)} process(es) left behind: {left}")


@pytest.fixture
def jupyter_env(tmp_path):
    """A private Jupyter world: HOME, config, data, runtime dirs and JUPYTER_PATH with
    the deepnb kernelspec, plus the process tag. Returns (env, dirs)."""
    require_browser()
    dirs = {k: tmp_path / k for k in ("home", "config", "data", "runtime", "root",
                                      "chrome-profile", "prefix")}
    for d in dirs.values():
        d.mkdir()
    share = dirs["prefix"] / "share" / "jupyter"
    spec = write_kernelspec(share)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("JUPYTER", "JPY_", "PYTHON", "VIRTUAL_ENV"))}
    env.update({
        "HOME": str(dirs["home"]),
        "JUPYTER_PATH": str(share),
        "JUPYTER_DATA_DIR": str(dirs["data"]),
        "JUPYTER_CONFIG_DIR": str(dirs["config"]),
        "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]),
        "JUPYTER_PLATFORM_DIRS": "1",
        TAG_VAR: TAG,
    })
    dirs["spec"] = spec
    yield env, dirs
    kill_tagged()


@pytest.fixture
def browser(jupyter_env, tmp_path):
    require_browser()
    env, dirs = jupyter_env
    b = Browser(CHROMEDRIVER, CHROMIUM, str(dirs["chrome-profile"]), env,
                str(tmp_path / "chromedriver.log"))
    yield b
    b.close()


def start_server(argv, jupyter_env, tmp_path):
    env, dirs = jupyter_env
    root = Path(os.path.realpath(dirs["root"]))
    server = Server(argv, env, root, str(tmp_path / "server.log"), uuid.uuid4().hex)
    try:
        server.start()
        specs = server.api("/api/kernelspecs")["kernelspecs"]
        assert "deepnb" in specs, f"server does not see the deepnb kernelspec: {list(specs)}"
    except BaseException:
        server.stop()
        raise
    return server, root


@pytest.fixture
def lab_server(jupyter_env, tmp_path):
    if not VENV_PY.exists():
        pytest.skip(f"{VENV_PY} missing: run scripts/install-deps.sh for JupyterLab 4")
    env, dirs = jupyter_env
    # No news/update toasts over the notebook in the screenshots.
    settings = dirs["config"] / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    server, root = start_server(
        [str(VENV_PY), "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
         "--ServerApp.port={port}", "--ServerApp.port_retries=0",
         "--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={dirs['root']}"], jupyter_env, tmp_path)
    yield server, root
    server.stop()


@pytest.fixture
def classic_server(jupyter_env, tmp_path):
    env, dirs = jupyter_env
    server, root = start_server(
        [str(DEBIAN_PY), "-m", "notebook", "--no-browser", "--ip=127.0.0.1",
         "--port={port}", "--port-retries=0", "--NotebookApp.token={token}", f"--notebook-dir={dirs['root']}"],
        jupyter_env, tmp_path)
    yield server, root
    server.stop()


def test_jupyterlab4(lab_server, browser, tmp_path):
    server, root = lab_server
    version = server.api("/api")["version"]
    print(f"jupyter_server {version}, Chromium {browser.version}")
    run_scenario(JupyterLab, server, browser, tmp_path, root)


def test_classic_notebook64(classic_server, browser, tmp_path):
    server, root = classic_server
    version = server.api("/api")["version"]
    assert version.startswith("6."), f"expected the classic Notebook 6.x, got {version}"
    print(f"notebook {version}, Chromium {browser.version}")
    run_scenario(ClassicNotebook, server, browser, tmp_path, root)
