import os
import pathlib

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def build_dir():
    d = pathlib.Path(os.environ.get("DEEPNB_BUILD", REPO / "build"))
    if not (d / "tests" / "data" / "imgtool").exists():
        pytest.fail(f"imgtool not built in {d} (set DEEPNB_BUILD to the meson build folder)")
    return d
