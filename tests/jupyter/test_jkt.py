"""jupyter_kernel_test's KernelTests (0.4.5 on Debian, 0.7 in the venv) with every sample
of the deepnb language filled in, and 0.7's iopub welcome test."""
import os
import signal
import unittest

import jupyter_kernel_test as jkt  # as a module, so pytest does not collect the base classes

from conftest import IS_DEEPNB


def _ipykernel_major():
    try:
        import ipykernel
        return int(ipykernel.__version__.split(".")[0])
    except ImportError:
        return 0


class DeepnbKernelTests(jkt.KernelTests):
    kernel_name = "deepnb"

    if IS_DEEPNB:
        language_name = "deepnb"
        file_extension = ".dnb"
        code_hello_world = "!echo hello, world"
        code_stderr = "!echo oops >&2"
        completion_samples = [
            {"text": "%pw", "matches": {"%pwd"}},
            {"text": "%lsmag", "matches": {"%lsmagic"}},
        ]
        complete_code_samples = ["%pwd", "!echo hi", "%cd /tmp", "# a comment", "",
                                 "%%markdown\n# Title"]
        # A trailing backslash continues a line; an open bracket continues an argument.
        incomplete_code_samples = ["!echo a \\", "%compile m optimizer=SGD(lr=0.1,"]
        invalid_code_samples = ["%compile m optimizer=SGD(lr=0.1))"]
        code_page_something = "%pwd?"
        code_generate_error = "%no_such_command"
        code_display_data = [
            {"code": "%%html\n<b>bold</b>", "mime": "text/html"},
            {"code": "%%markdown\n# Title", "mime": "text/markdown"},
        ]
        code_history_pattern = "%p?d"
        code_inspect_sample = "%pwd"
        code_clear_output = ""  # the language has no clear_output command yet
    else:
        language_name = "python"
        file_extension = ".py"
        code_hello_world = "!echo hello, world"
        code_stderr = "import sys; print('oops', file=sys.stderr)"
        completion_samples = [{"text": "%pw", "matches": {"%pwd"}}]
        complete_code_samples = ["%pwd", "!echo hi", "1"]
        incomplete_code_samples = ["for i in range(3):"]
        invalid_code_samples = ["import = 7q"]
        code_page_something = "%pwd?"
        code_generate_error = "raise ValueError('x')"  # UsageError goes to a stream
        code_display_data = [
            {"code": "%%html\n<b>bold</b>", "mime": "text/html"},
            {"code": "%%markdown\n# Title", "mime": "text/markdown"},
        ]
        code_history_pattern = "%p?d"
        code_inspect_sample = "%pwd"
        code_clear_output = "from IPython.display import clear_output; clear_output()"

    # The kernel starts in this process's working directory (start_new_kernel passes none).
    code_execute_result = [{"code": "%pwd", "result": repr(os.getcwd())}]
    # IPython answers a range request with session 0 for the current session, which the
    # range test rejects: a known ipykernel quirk, not something to copy.
    supported_history_operations = (("tail", "range", "search") if IS_DEEPNB
                                    else ("tail", "search"))

    def test_clear_output(self):
        if IS_DEEPNB:
            raise unittest.SkipTest("deepnb has no clear_output command yet: nothing to send")
        super().test_clear_output()

    def test_help_links_and_banner(self):
        """kernel_info carries a banner and help_links the frontends show."""
        self.flush_channels()
        msg_id = self.kc.kernel_info()
        reply = self.get_non_kernel_info_reply_or_info(msg_id)
        content = reply["content"]
        self.assertTrue(content["banner"].strip())
        self.assertIn("help_links", content)
        for link in content["help_links"]:
            self.assertEqual(set(link), {"text", "url"})
        li = content["language_info"]
        for key in ("name", "version", "mimetype", "file_extension"):
            self.assertIn(key, li)

    def get_non_kernel_info_reply_or_info(self, msg_id):
        while True:
            reply = self.kc.get_shell_msg(timeout=jkt.TIMEOUT)
            if reply["parent_header"].get("msg_id") == msg_id:
                jkt.validate_message(reply, "kernel_info_reply", msg_id)
                return reply


class _Alarm:
    """The welcome test waits on iopub without a timeout: bound it with SIGALRM."""

    def setUp(self):
        def expire(signum, frame):
            raise AssertionError("no iopub message within 30 s")
        self._old = signal.signal(signal.SIGALRM, expire)
        signal.alarm(30)

    def tearDown(self):
        signal.alarm(0)
        signal.signal(signal.SIGALRM, self._old)


if hasattr(jkt, "IopubWelcomeTests"):
    class DeepnbIopubWelcome(_Alarm, jkt.IopubWelcomeTests):
        kernel_name = "deepnb"
        # ipykernel 7 publishes the welcome on an XPUB iopub; 6.x does not.
        support_iopub_welcome = IS_DEEPNB or _ipykernel_major() >= 7
else:
    class DeepnbIopubWelcome(unittest.TestCase):
        def test_recv_iopub_welcome_msg(self):
            raise unittest.SkipTest(
                f"jupyter_kernel_test {jkt.__version__} has no iopub welcome test "
                "(test_protocol.py checks the welcome with raw sockets under both stacks)")
