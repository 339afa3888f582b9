"""The Help menu's "deepnb cell language" link (kernel_info's help_links) names a page
that exists, for each way deepnb is run: a kernelspec written by `deepnb install` (the
README's way; here into a prefix whose path has a space), the kernelspec `meson install`
writes, and a kernel run from the build tree with a kernelspec that passes no resource
folder."""
import json
import os
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlparse

import jupyter_client
import pytest

from conftest import BUILD, IS_DEEPNB, KERNEL_BIN, REPO

pytestmark = pytest.mark.skipif(not IS_DEEPNB, reason="deepnb's own kernelspec")


def help_page(kernel_dirs, name):
    """The file help_links names, for a kernel started from kernel_dirs/name."""
    km = jupyter_client.KernelManager(kernel_name=name)
    km.kernel_spec_manager.kernel_dirs = [str(d) for d in kernel_dirs]
    km.start_kernel()
    try:
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=30)
        msg_id = kc.kernel_info()
        while True:
            reply = kc.get_shell_msg(timeout=15)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        kc.stop_channels()
    finally:
        km.shutdown_kernel(now=True)
    links = reply["content"]["help_links"]
    assert [link["text"] for link in links] == ["deepnb cell language"], links
    url = urlparse(links[0]["url"])
    assert url.scheme == "file", links
    return Path(unquote(url.path))


def test_deepnb_install_ships_the_page_and_links_it(tmp_path):
    prefix = tmp_path / "my prefix"
    subprocess.run([str(KERNEL_BIN), "install", "--prefix", str(prefix)], check=True,
                   capture_output=True)
    kdir = prefix / "share" / "jupyter" / "kernels"
    spec = json.loads((kdir / "deepnb" / "kernel.json").read_text())
    assert spec["argv"][-2:] == ["--resource-dir", "{resource_dir}"], spec
    page = help_page([kdir], "deepnb")
    assert page == kdir / "deepnb" / "LANGUAGE.md"
    assert page.read_text() == (REPO / "magics" / "README.md").read_text()


def test_meson_install_puts_the_page_beside_kernel_json():
    installed = json.loads(subprocess.run(["meson", "introspect", "--installed", str(BUILD)],
                                          check=True, capture_output=True, text=True).stdout)
    dests = {Path(d) for d in installed.values()}
    kernel_json = next(d for d in dests if d.parts[-3:] == ("kernels", "deepnb", "kernel.json"))
    assert kernel_json.parent / "LANGUAGE.md" in dests, sorted(map(str, dests))
    built = BUILD / "kernelspec" / "kernel.json"
    assert json.loads(built.read_text())["argv"][-2:] == ["--resource-dir", "{resource_dir}"]


def test_a_build_tree_kernel_links_the_source_page(tmp_path):
    d = tmp_path / "kernels" / "deepnb-plain"
    d.mkdir(parents=True)
    (d / "kernel.json").write_text(json.dumps({
        "argv": [str(KERNEL_BIN), "kernel", "-f", "{connection_file}"],
        "display_name": "deepnb (no resource folder)", "language": "deepnb"}))
    page = help_page([tmp_path / "kernels"], "deepnb-plain")
    assert page.exists(), page
    assert page.read_text() == (REPO / "magics" / "README.md").read_text()
