"""The fault tests drive the real kernel with tests/lang's client (Kernel, start_kernel):
loaded from there under another module name, so both folders keep a conftest.py of
their own."""
import importlib.util
import pathlib

_spec = importlib.util.spec_from_file_location(
    "lang_conftest", pathlib.Path(__file__).resolve().parents[1] / "lang" / "conftest.py")
lang = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lang)

KERNEL, Kernel, start_kernel, stop_kernel, kernel_in = (
    lang.KERNEL, lang.Kernel, lang.start_kernel, lang.stop_kernel, lang.kernel_in)
fresh_kernel = lang.fresh_kernel
