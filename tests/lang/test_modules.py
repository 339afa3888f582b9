"""The parts of deepnb that bring big libraries are modules opened at their first use
(runtime/core/module.h): a kernel that has only run %pwd, %who and %let has mapped neither
HDF5 nor cairo, nor the libraries behind them; the first weight file maps deepnb-hdf5.so,
the first picture deepnb-draw.so. A module that cannot be opened fails the cell that
needs it with a sentence saying where it was looked for, leaves the workspace and the
files as they were, and the kernel goes on."""
import os
import shutil

from conftest import BUILD, kernel_in

# libraries Debian's HDF5 and cairo bring (and OpenSSL, which signing no longer needs)
HEAVY = ("libhdf5", "libcurl", "libgnutls", "libssl", "libcrypto", "libldap", "libssh2",
         "libcairo", "libpixman", "libfontconfig", "libfreetype", "libX11", "libxcb")

MODEL = "%%model m\nDense(2, activation='softmax', input_shape=(3,))"
DATA = ("%seed 1\n%compile m optimizer=SGD(lr=0.1) loss=categorical_crossentropy metrics=accuracy\n"
        "%let x = random(8, 3)\n%let y = one_hot([0, 1, 0, 1, 1, 0, 0, 1], 2)\n"
        "%fit m x y epochs=2 batch_size=4 verbose=0")


def mapped(k):
    """the files the kernel process (the parent of its shell commands) has mapped"""
    pid = k.ok("!echo $PPID").stdout.strip()
    with open(f"/proc/{pid}/maps") as f:
        return {line.split()[-1] for line in f if "/" in line}


def names(paths):
    return {os.path.basename(p) for p in paths}


def heavy_in(paths):
    return sorted(n for n in names(paths) if n.startswith(HEAVY))


def refused(k, code, *words):
    """runs code, which must fail with every one of words in its message (the command's
    own error name: %save_weights says OSError, as for any file it cannot write)"""
    c = k.run(code)
    assert not c.ok and c.error, (code, c)
    for w in words:
        assert w in c.error["evalue"], (code, w, c.error)
    return c


def test_modules_open_at_their_first_use_only(tmp_path_factory):
    with kernel_in(tmp_path_factory) as k:
        k.ok("%pwd\n%who\n%let a = ones((3, 4))\n%let b = a * 2")
        first = mapped(k)
        assert heavy_in(first) == [], heavy_in(first)
        assert not {"deepnb-hdf5.so", "deepnb-draw.so"} & names(first)
        # training needs neither
        k.ok(MODEL)
        k.ok(DATA)
        assert heavy_in(mapped(k)) == []

        k.ok("%save_weights m w.h5")
        after_save = names(mapped(k))
        assert "deepnb-hdf5.so" in after_save and any(n.startswith("libhdf5") for n in after_save)
        assert "deepnb-draw.so" not in after_save and not any(n.startswith("libcairo") for n in after_save)
        k.ok("%load_weights m w.h5")

        k.ok("%plot_history m")
        after_plot = names(mapped(k))
        assert "deepnb-draw.so" in after_plot and any(n.startswith("libcairo") for n in after_plot)


def test_a_missing_module_fails_only_the_cells_that_need_it(tmp_path_factory):
    empty = tmp_path_factory.mktemp("no-modules")
    os.environ["DEEPNB_MODULE_DIR"] = str(empty)
    try:
        with kernel_in(tmp_path_factory) as k:
            k.ok(MODEL)
            k.ok(DATA)
            who = k.ok("%who").stdout
            c = refused(k, "%save_weights m w.h5", "deepnb-hdf5.so",
                        str(empty / "deepnb-hdf5.so"), "no such file", "DEEPNB_MODULE_DIR")
            assert "weight files" in c.error["evalue"]
            assert not (k.cwd / "w.h5").exists() and os.listdir(k.cwd) == []
            refused(k, "%plot_history m", "deepnb-draw.so", "no such file")
            # the workspace is as it was and the kernel goes on computing
            assert k.ok("%who").stdout == who
            k.ok("%fit m x y epochs=1 batch_size=4 verbose=0")
            assert k.ok("%evaluate m x y").ok
            # the module comes back once it is there: a failure is not kept
            shutil.copy(BUILD / "runtime" / "deepnb-hdf5.so", empty)
            k.ok("%save_weights m w.h5")
            assert (k.cwd / "w.h5").stat().st_size > 0
    finally:
        del os.environ["DEEPNB_MODULE_DIR"]


def test_a_module_is_checked_before_it_is_called(tmp_path_factory):
    wrong = tmp_path_factory.mktemp("wrong-modules")
    # the drawing module under the HDF5 module's name
    shutil.copy(BUILD / "magics" / "deepnb-draw.so", wrong / "deepnb-hdf5.so")
    os.environ["DEEPNB_MODULE_DIR"] = str(wrong)
    try:
        with kernel_in(tmp_path_factory) as k:
            k.ok(MODEL)
            refused(k, "%save_weights m w.h5", "it is the module 'draw'")
            assert not (k.cwd / "w.h5").exists()
            assert k.alive()
    finally:
        del os.environ["DEEPNB_MODULE_DIR"]


def config_value(name):
    """a quoted value of the build's dn_config.h"""
    for line in (BUILD / "dn_config.h").read_text().splitlines():
        if line.startswith(f"#define {name} "):
            return line.split(" ", 2)[2].strip().strip('"')
    raise AssertionError(f"{name} is not in {BUILD / 'dn_config.h'}")


def test_an_installed_kernel_opens_the_installed_modules(tmp_path_factory, monkeypatch):
    """meson install puts the modules in DN_MODULE_DIR; a kernel outside the build tree
    looks there, never in the build tree."""
    import subprocess
    import conftest
    dest = tmp_path_factory.mktemp("destdir")
    subprocess.run(["meson", "install", "-C", str(BUILD), "--destdir", str(dest), "--no-rebuild",
                    "--quiet"], check=True, capture_output=True)
    module_dir = config_value("DN_MODULE_DIR")
    installed = dest / module_dir.lstrip("/")
    assert sorted(os.listdir(installed)) == ["deepnb-draw.so", "deepnb-hdf5.so"]
    kernel = next(p for p in dest.rglob("deepnb") if p.is_file() and p.parent.name == "bin")
    monkeypatch.setattr(conftest, "KERNEL", kernel)
    # installed under DESTDIR, not at the prefix itself: found through DEEPNB_MODULE_DIR
    monkeypatch.setenv("DEEPNB_MODULE_DIR", str(installed))
    with kernel_in(tmp_path_factory) as k:
        k.ok(MODEL)
        k.ok(DATA)
        k.ok("%save_weights m w.h5\n%plot_history m")
        maps = mapped(k)
        assert str(installed / "deepnb-hdf5.so") in maps and str(installed / "deepnb-draw.so") in maps
    # without it, the kernel looks in the prefix's folder only (the build tree is not its)
    monkeypatch.delenv("DEEPNB_MODULE_DIR")
    if not os.path.exists(f"{module_dir}/deepnb-hdf5.so"):
        with kernel_in(tmp_path_factory) as k:
            k.ok(MODEL)
            c = refused(k, "%save_weights m w.h5", f"{module_dir}/deepnb-hdf5.so (no such file)")
            assert str(BUILD) not in c.error["evalue"]
