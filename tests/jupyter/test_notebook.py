"""nbclient (Debian's 0.7 or the venv's 0.11) runs notebooks/first.ipynb on the deepnb
kernelspec, twice (it must be re-runnable), and the outputs say what the cells did."""
import os

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import IS_DEEPNB, REPO

NOTEBOOK = REPO / "notebooks" / "first.ipynb"
SCRATCH = "/tmp/deepnb-first"


def text_of(cell):
    parts = []
    for out in cell.outputs:
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type in ("execute_result", "display_data"):
            parts.append(out.data.get("text/plain", ""))
    return "".join(parts)


def by_tag(nb):
    return {t: c for c in nb.cells for t in c.metadata.get("tags", [])}


@pytest.mark.parametrize("run", [1, 2])
def test_first_notebook(tmp_path, run):
    nb = nbformat.read(str(NOTEBOOK), as_version=4)
    before = NOTEBOOK.read_bytes()
    client = NotebookClient(nb, timeout=60, kernel_name="deepnb",
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError on any error output

    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    cells = by_tag(nb)

    start = [o for o in cells["start"].outputs if o.output_type == "execute_result"]
    assert start[0].data["text/plain"] == repr(str(tmp_path)), "kernel starts beside the notebook"
    assert SCRATCH in text_of(cells["setup"])
    assert text_of(cells["shell-ls"]).split() == ["cats", "dogs", "readme.txt"]
    listing = text_of(cells["ls"])
    for name in ("cats", "dogs", "readme.txt"):
        assert name in listing
    pwd = [o for o in cells["pwd"].outputs if o.output_type == "execute_result"]
    assert pwd[0].data["text/plain"] == repr(SCRATCH)
    names = ["%pwd", "%cd", "%mkdir", "%ls", "%lsmagic"] if IS_DEEPNB else ["%pwd", "%cd"]
    for name in names:
        assert name in text_of(cells["lsmagic"])
    md = [o for o in cells["markdown"].outputs if o.output_type == "display_data"]
    assert "## Written by a cell" in md[0].data["text/markdown"]
    assert "cleaned up" in text_of(cells["cleanup"])

    assert not os.path.exists(SCRATCH), "the notebook left its scratch folder behind"
    assert NOTEBOOK.read_bytes() == before
    assert os.listdir(tmp_path) == [], "the notebook wrote beside itself"
