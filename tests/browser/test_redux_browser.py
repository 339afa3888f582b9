"""Lesson 2's notebook in real browsers: notebooks/lesson2-redux.ipynb opened with the
deepnb kernel in JupyterLab 4 (PyPI, the repository's .venv) and in the classic Notebook
6.4 (Debian's /usr/bin/python3), each served headless on 127.0.0.1 and driven in headless
Chromium; Run All from the menu, then the page is read back.

The layout is the repository's: <root>/notebooks/lesson2-redux.ipynb beside
<root>/work-data/, whose models/base.h5 the notebook loads. The test does not run the
pretrain notebook (minutes): it makes a base of the same architecture in a second, with
the notebook's own `%%model base` cell (make_notebooks.BASE_MODEL) and `%save_weights`
through jupyter_client; its weights are random, which is enough for rendering.

What must show, read from the DOM once the last cell has run:
  - the notebook opens clean: not marked as having unsaved changes before anything runs;
  - no error (or stderr) output anywhere, and every code cell has run;
  - each %fit cell shows one progress display per epoch (one <progress> each, value ==
    max at the end) while it ran and after: the bar was updated in place, never appended
    (sampled twice a second during the run: a partial bar was seen, and never more bars
    than epochs); the saved record agrees (one display_data per epoch);
  - the %plots, %confusion_matrix, %top_losses and %plot_history cells show <img>s with a
    data:image/png src that have loaded (naturalWidth > 0);
  - %split, the %fit history, %evaluate, %submit, %confusion_matrix and %logloss tables
    render as <table>;
  - %FileLink is an <a> whose href, fetched by the page, serves the submission CSV.

Screenshots land in the test's tmp dir: ui-<name>-fitting-<cell>.png (each fit's last
epoch part way), ui-<name>-fit-and-plot.png (the batch plot above a finished fit), ui-<name>-
confusion.png, ui-<name>-plots.png (right and wrong at random), ui-<name>-top-losses-
history.png, ui-<name>-end.png, failure-<name>.png/.html when a step fails. With
DEEPNB_REDUX_SHOTS=DIR set, the fit-and-plot picture is also written as
DIR/redux-<name>.png (how docs/images/redux-*.png were made).
"""
import importlib.util
import json
import os
import re
import shutil
import time
from pathlib import Path

import pytest

from browser_harness import REPO, require_browser
# the fixtures (jupyter_env, the servers, browser, the kill-by-tag at the end) are
# imported so that pytest finds them in this module too
from test_browser import (ClassicNotebook, JupyterLab, browser, classic_server,  # noqa: F401
                          jupyter_env, lab_server, no_process_left_behind, wait_for)

NOTEBOOK = REPO / "notebooks" / "lesson2-redux.ipynb"
NB_PATH = "notebooks/lesson2-redux.ipynb"
RUN_WAIT = 600     # Run All takes 15-30 s here, more on a busy shared machine
WAIT = 60          # loading the page, the kernel starting
PICTURES = ("%plots", "%confusion_matrix", "%top_losses", "%plot_history")
TABLES = {"%seed 42\n%split": "deepnb-split", "%fit": "deepnb-history",
          "%evaluate": "deepnb-evaluate", "%submit": "deepnb-submission",
          "%confusion_matrix": "deepnb-confusion", "%logloss": "deepnb-logloss"}


def load_make_notebooks():
    spec = importlib.util.spec_from_file_location("make_notebooks",
                                                  REPO / "notebooks" / "make_notebooks.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def make_layout(root, jenv):
    """root/notebooks/lesson2-redux.ipynb and root/work-data/models/base.h5 (random
    weights, the base's architecture) made by the deepnb kernel itself."""
    jupyter_client = pytest.importorskip("jupyter_client")
    from jupyter_client.kernelspec import KernelSpecManager
    env, dirs = jenv
    (root / "notebooks").mkdir()
    shutil.copy(NOTEBOOK, root / "notebooks")
    models = root / "work-data" / "models"
    models.mkdir(parents=True)
    kernels = dirs["prefix"] / "share" / "jupyter" / "kernels"
    km = jupyter_client.KernelManager(
        kernel_name="deepnb", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels)]))
    km.start_kernel(cwd=str(root / "work-data"), env=env)
    kc = km.client()
    try:
        kc.start_channels()
        kc.wait_for_ready(timeout=WAIT)
        for code in (load_make_notebooks().BASE_MODEL,
                     f"%save_weights base {models / 'base.h5'}"):
            reply = kc.execute_interactive(code, timeout=WAIT, output_hook=lambda m: None)
            assert reply["content"]["status"] == "ok", (code, reply["content"])
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    assert (models / "base.h5").stat().st_size > 1_000_000


def code_cells():
    """(index among all cells, source) of the notebook's code cells."""
    nb = json.loads(NOTEBOOK.read_text())
    return [(i, "".join(c["source"])) for i, c in enumerate(nb["cells"])
            if c["cell_type"] == "code"], len(nb["cells"])


# Per UI: where cells, prompts and outputs are, what an error output looks like, whether
# the notebook is marked dirty, how to save it.
class Lab(JupyterLab):
    CELL_SEL = ".jp-NotebookPanel .jp-Notebook .jp-Cell"  # as JupyterLab.CELL
    OUT = ".jp-OutputArea-output"
    # errors and stderr streams both render as this mime type (the notebook writes no
    # stderr, so any is a failure)
    ERR = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
    PROMPT = ".jp-InputArea-prompt"
    CODE = "jp-CodeCell"
    SCROLLER = ".jp-NotebookPanel .jp-WindowedPanel-outer"

    def dirty(self):
        return self.b.js(
            "const t = [...document.querySelectorAll('.lm-DockPanel-tabBar .lm-TabBar-tab')]"
            ".filter(t => t.innerText.includes('lesson2-redux'));"
            "return t.length ? t.map(t => t.classList.contains('jp-mod-dirty'))"
            ".some(x => x) : null;")

    def save(self):
        self.b.click(self.b.wait_js("the save button", "return document.querySelector("
                                    "'.jp-NotebookPanel-toolbar "
                                    "[data-command=\"docmanager:save\"]');"))

    def tidy_for_screenshot(self):
        """The file browser closed (a real click on its open tab), so the notebook has
        the width."""
        tab = self.b.js("return document.querySelector('.jp-SideBar.jp-mod-left "
                        ".lm-TabBar-tab.lm-mod-current');")
        if tab:
            self.b.click(tab)


class Classic(ClassicNotebook):
    CELL_SEL = "#notebook-container .cell"  # as ClassicNotebook.CELL
    OUT = ".output_area"
    ERR = ".output_area .output_error, .output_area .output_stderr"
    PROMPT = ".input_prompt"
    CODE = "code_cell"
    SCROLLER = "#site"

    def dirty(self):
        return self.b.js("if (!window.Jupyter || !Jupyter.notebook) return null;"
                         "const s = document.getElementById('autosave_status');"
                         "return Jupyter.notebook.dirty || "
                         "(s ? /unsaved/i.test(s.innerText) : false);")

    def save(self):
        self.b.click(self.b.wait_js("the save button", "return document.querySelector("
                                    "'button[data-jupyter-action="
                                    "\"jupyter-notebook:save-notebook\"]');"))

    def tidy_for_screenshot(self):
        pass


SUMMARY_JS = """
// textContent, not innerText: JupyterLab 4 skips rendering the cells out of view
// (content-visibility: auto), and innerText is empty there.
const [cellSel, outSel, errSel, promptSel, codeClass] = arguments;
return [...document.querySelectorAll(cellSel)].map(c => {
  const outs = [...c.querySelectorAll(outSel)];
  const code = c.classList.contains(codeClass);
  const p = code ? c.querySelector(promptSel) : null;
  return {
    code,
    prompt: p ? p.textContent.trim() : null,
    outputs: outs.length,
    text: outs.map(o => o.textContent).join('\\n').slice(0, 3000),
    imgs: [...c.querySelectorAll(outSel.split(',').map(s => s + ' img').join(','))].map(
      im => ({png: im.src.startsWith('data:image/png;base64,'), w: im.naturalWidth,
              h: im.naturalHeight, complete: im.complete})),
    progress: [...c.querySelectorAll('progress')].map(e => [e.value, e.max]),
    epochs: [...c.querySelectorAll('.deepnb-progress b')].map(e => e.textContent),
    tables: [...c.querySelectorAll('table')].map(t => t.className),
    links: [...c.querySelectorAll(outSel.split(',').map(s => s + ' a').join(','))].map(
      a => ({href: a.href, text: a.textContent})),
    errors: [...c.querySelectorAll(errSel)].map(e => e.textContent.slice(0, 800)),
  };
});
"""

PROGRESS_JS = """
const [cellSel, fits] = arguments;
const cells = document.querySelectorAll(cellSel);
return fits.map(i => [...cells[i].querySelectorAll('progress')].map(e => [e.value, e.max]));
"""


def summary(ui):
    return ui.b.js(SUMMARY_JS, ui.CELL_SEL, ui.OUT, ui.ERR, ui.PROMPT, ui.CODE)


def done_prompt(p):
    return bool(p and re.search(r"\[\d+\]", p))


def scroll_to(ui, i, margin=16, tries=10):
    """Scrolls the notebook so cell i's top is margin px below the top of the notebook's
    scrolled area, again until it stays there (JupyterLab lays out cells as they come
    into view, which moves what is below them)."""
    for _ in range(tries):
        off = ui.b.js(
            "const [sel, i, m, scSel] = arguments;"
            "const c = document.querySelectorAll(sel)[i], sc = document.querySelector(scSel);"
            "const off = c.getBoundingClientRect().top - sc.getBoundingClientRect().top - m;"
            "sc.scrollTop += off; return off;", ui.CELL_SEL, i, margin, ui.SCROLLER)
        time.sleep(0.5)
        if abs(off) < 2:
            return True
    if tries > 1:
        raise AssertionError(f"cell {i} does not stay in view")


def rects(ui, first, last):
    """The viewport's inner height, the notebook's scrolled area and cells first..last
    as [left, top, right, bottom] in CSS pixels (the screenshot's, at a ratio of 1)."""
    return ui.b.js(
        "const [sel, first, last, scSel] = arguments;"
        "const c = document.querySelectorAll(sel), sc = document.querySelector(scSel);"
        "const r = e => { const b = e.getBoundingClientRect();"
        "                 return [b.left, b.top, b.right, b.bottom]; };"
        "if (window.devicePixelRatio !== 1) return null;"
        "return [window.innerHeight, r(sc), r(c[first]), r(c[last])];",
        ui.CELL_SEL, first, last, ui.SCROLLER)


def shoot(ui, first, last, path, crop=True, margin=16, max_height=2400):
    """A screenshot of cells first..last (both included), the window made tall enough
    to hold them (up to max_height); crop: cut to those cells, else the whole window."""
    b = ui.b
    b.set_window_size(1280, 1000)
    time.sleep(0.5)
    inner, area, top, bottom = rects(ui, first, last)
    height = bottom[3] - top[1] + 2 * margin
    around = (1000 - inner) + (inner - (area[3] - area[1]))  # the window's and the UI's
    b.set_window_size(1280, int(min(max_height, height + around + 4)))
    time.sleep(1)
    scroll_to(ui, first, margin)
    time.sleep(1.5)  # let the images scrolled to paint
    inner, area, top, bottom = rects(ui, first, last)
    b.screenshot(path)
    if not crop:
        return path
    try:
        from PIL import Image
    except ImportError:
        return path
    with Image.open(path) as im:
        box = (int(area[0]), int(max(area[1], top[1] - margin)),
               int(area[2]), int(min(area[3], bottom[3] + margin)))
        part = im.crop(box)
    part.save(path, optimize=True)
    return path


def small_png(src, dst, limit=400_000):
    """src copied to dst, as a 256-colour PNG when it is larger than limit bytes."""
    shutil.copy(src, dst)
    if dst.stat().st_size > limit:
        from PIL import Image
        with Image.open(src) as im:
            im.convert("RGB").quantize(256).save(dst, optimize=True)


def exercise(ui, server, root, shots):
    b = ui.b
    cells, ncells = code_cells()
    fits = [(i, int((re.search(r"epochs=(\d+)", s) or [None, 1])[1]))
            for i, s in cells if s.startswith("%fit")]
    pictures = [i for i, s in cells if s.startswith(PICTURES)]
    assert len(fits) == 4 and len(pictures) == 11, (fits, pictures)
    link = [i for i, s in cells if s.startswith("%FileLink")]
    assert len(link) == 1
    plot_batches = next(i for i, s in cells if s.startswith("%plots batches"))
    confusion = next(i for i, s in cells if s.startswith("%confusion_matrix"))

    b.get(server.url(ui.path(NB_PATH)))
    b.wait_js("the notebook's cells", ui.CELL + "return c.length === arguments[0];",
              ncells, timeout=WAIT)
    wait_for("the kernel name deepnb in the toolbar", lambda: ui.kernel_name() == "deepnb", WAIT)
    wait_for(f"an idle kernel (status {ui.status()!r})", lambda: ui.status() == "idle", WAIT)
    kernels = server.api("/api/kernels")
    assert [k["name"] for k in kernels] == ["deepnb"], kernels
    # Opened and connected, nothing run: no unsaved changes (the kernel's language_info
    # must equal the notebook's, or the UI rewrites the metadata and marks it dirty).
    time.sleep(3)
    dirty = ui.dirty()
    b.screenshot(shots / f"ui-{ui.name}-opened.png")
    assert dirty is False, f"{ui.name} marks the notebook as having unsaved changes " \
                           f"right after opening it (dirty={dirty!r})"

    t0 = time.monotonic()
    ui.run_all()

    # While it runs: sample the %fit cells' bars twice a second; fail at the first error.
    fit_cells = [i for i, _ in fits]
    seen_partial = {i: False for i in fit_cells}
    most_bars = {i: 0 for i in fit_cells}
    shot_taken = set()
    deadline = time.monotonic() + RUN_WAIT
    next_report = time.monotonic() + 30
    while True:
        bars = b.js(PROGRESS_JS, ui.CELL_SEL, fit_cells)
        for (i, epochs), cell_bars in zip(fits, bars):
            most_bars[i] = max(most_bars[i], len(cell_bars))
            assert len(cell_bars) <= epochs, \
                f"cell {i}: {len(cell_bars)} progress bars for {epochs} epoch(s): appended " \
                f"instead of updated in place: {cell_bars}"
            if any(v < m for v, m in cell_bars):
                seen_partial[i] = True
            # a picture of each fit's last epoch part way (its earlier bars full)
            if i not in shot_taken and len(cell_bars) == epochs \
                    and 0 < cell_bars[-1][0] < cell_bars[-1][1]:
                shot_taken.add(i)
                scroll_to(ui, i - 1, tries=1)  # while outputs come: once
                b.screenshot(shots / f"ui-{ui.name}-fitting-{i}.png")
        s = summary(ui)
        errors = [(k, c["errors"]) for k, c in enumerate(s) if c["errors"]]
        assert not errors, f"error output(s) while running: {errors}"
        prompts = [c["prompt"] for c in s if c["code"]]
        status = ui.status()
        if all(map(done_prompt, prompts)) and status == "idle":
            break
        if time.monotonic() >= next_report:
            next_report += 30
            print(f"{ui.name}: {time.monotonic() - t0:.0f}s: kernel {status}, "
                  f"{sum(map(done_prompt, prompts))} of {len(prompts)} cells run: {prompts}")
        assert time.monotonic() < deadline, \
            f"the notebook did not finish in {RUN_WAIT}s; prompts: " \
            f"{[c['prompt'] for c in s if c['code']]}"
        time.sleep(0.5)
    took = time.monotonic() - t0
    print(f"{ui.name}: Run All finished in {took:.1f}s")
    time.sleep(1)  # the last images decode
    s = summary(ui)

    # Every code cell ran, in order, once; nothing failed.
    counts = [int(re.search(r"\[(\d+)\]", c["prompt"])[1]) for c in s if c["code"]]
    assert counts == list(range(1, len(cells) + 1)), counts
    assert not [c["errors"] for c in s if c["errors"]]

    # The fits: one bar per epoch, full; the history table below them.
    for i, epochs in fits:
        c = s[i]
        assert len(c["progress"]) == epochs and all(v == m > 0 for v, m in c["progress"]), \
            f"cell {i}: bars (value, max) {c['progress']} for {epochs} epoch(s)"
        assert c["epochs"] == [f"Epoch {e}/{epochs}" for e in range(1, epochs + 1)], \
            (i, c["epochs"], c["text"][:500])
        assert most_bars[i] == epochs, (i, most_bars[i])
        assert "deepnb-history" in c["tables"], (i, c["tables"])
    partial = [i for i in fit_cells if seen_partial[i]]
    print(f"{ui.name}: a bar part way seen in fit cells {partial} of {fit_cells}")
    assert partial, "never saw a progress bar part way through a fit: " \
                    "the progress display did not update while the fit ran"

    # The pictures: PNGs as data URIs, loaded.
    for i in pictures:
        imgs = s[i]["imgs"]
        assert imgs and all(im["png"] and im["complete"] and im["w"] > 0 and im["h"] > 0
                            for im in imgs), (i, cells, imgs)
    cm = s[confusion]
    assert len(cm["imgs"]) == 1 and cm["imgs"][0]["w"] >= 400, cm["imgs"]

    # The tables.
    for i, src in cells:
        for start, cls in TABLES.items():
            if src.startswith(start):
                assert cls in s[i]["tables"], (i, src.splitlines()[0], s[i]["tables"])

    # %FileLink: a link the page can follow to the CSV.
    links = s[link[0]]["links"]
    assert len(links) == 1 and links[0]["text"].endswith("lesson2/results/submission.csv"), links
    fetched = b.js("const x = new XMLHttpRequest(); x.open('GET', arguments[0], false);"
                   "x.send(); return [x.status, x.responseText.slice(0, 40)];",
                   links[0]["href"])
    assert fetched[0] == 200 and fetched[1].startswith("id,label"), (links[0], fetched)
    print(f"{ui.name}: %FileLink {links[0]['href']} -> {fetched[0]} {fetched[1][:8]!r}")

    # Pictures of it: the batch plot above the first fit, the window made tall enough
    # to hold both; the confusion matrix; the end of the notebook.
    ui.tidy_for_screenshot()
    time.sleep(1)
    fit_and_plot = shoot(ui, plot_batches, fit_cells[0],
                         shots / f"ui-{ui.name}-fit-and-plot.png", crop=False, margin=2)
    shoot(ui, confusion - 1, confusion, shots / f"ui-{ui.name}-confusion.png")
    shoot(ui, pictures[1] - 1, pictures[2], shots / f"ui-{ui.name}-plots.png")
    shoot(ui, pictures[-2], pictures[-1], shots / f"ui-{ui.name}-top-losses-history.png")
    b.set_window_size(1280, 1000)
    time.sleep(1)
    b.screenshot(shots / f"ui-{ui.name}-end.png")
    docs = os.environ.get("DEEPNB_REDUX_SHOTS")
    if docs:
        small_png(fit_and_plot, Path(docs) / f"redux-{ui.name}.png")

    # The record the UI saves agrees: one display per epoch, no error.
    ui.save()
    nb = wait_for("the saved notebook with outputs", lambda: (lambda m: m if any(
        c.get("outputs") for c in m["content"]["cells"]) else None)(
        server.api("/api/contents/" + NB_PATH)), WAIT)["content"]
    outs = [c.get("outputs", []) for c in nb["cells"]]
    assert not [o for cell in outs for o in cell if o["output_type"] == "error"]
    for i, epochs in fits:
        shown = [o for o in outs[i] if o["output_type"] == "display_data"
                 and "<progress" in o["data"].get("text/html", "")]
        assert len(shown) == epochs, (i, [o["data"].get("text/plain") for o in shown])
    # the save is asynchronous (an autosave may already have put outputs on the server):
    # the tab must come clean once it has finished
    wait_for("the notebook marked clean after saving", lambda: ui.dirty() is False, WAIT)


def run_scenario(ui_cls, server, b, tmp_path, root, jenv):
    ui = ui_cls(b)
    try:
        make_layout(root, jenv)
        exercise(ui, server, root, tmp_path)
        # passed: the data set the notebook laid out (~300 MB of small files) goes
        shutil.rmtree(root / "work-data", ignore_errors=True)
    except BaseException:
        try:
            b.screenshot(tmp_path / f"failure-{ui.name}.png")
            (tmp_path / f"failure-{ui.name}.html").write_text(b.page_source())
        except Exception:  # the browser may be what failed
            pass
        print(f"server log ({server.log_path}):\n{server.log()}")
        raise


def test_redux_jupyterlab4(lab_server, browser, tmp_path, jupyter_env):
    require_browser()
    server, root = lab_server
    print(f"jupyter_server {server.api('/api')['version']}, Chromium {browser.version}")
    run_scenario(Lab, server, browser, tmp_path, root, jupyter_env)


def test_redux_classic_notebook64(classic_server, browser, tmp_path, jupyter_env):
    require_browser()
    server, root = classic_server
    version = server.api("/api")["version"]
    assert version.startswith("6."), f"expected the classic Notebook 6.x, got {version}"
    print(f"notebook {version}, Chromium {browser.version}")
    run_scenario(Classic, server, browser, tmp_path, root, jupyter_env)
