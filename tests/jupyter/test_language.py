"""The language's first commands (LANGUAGE.md "Files and shell"), seen through a real
client: results, streams, displays, pager, errors, completion and inspection."""
import os

import pytest

from conftest import IS_DEEPNB, deepnb_only, only
from conftest import outputs_text as _outputs_text

COMMANDS = ["%pwd", "%cd", "%mkdir", "%ls", "%seed", "%lsmagic", "%who"]


def outputs_text(msgs):
    text = _outputs_text(msgs)
    # IPython runs ! lines on a pty (CR LF); deepnb's pipes keep the bytes as written
    return text if IS_DEEPNB else text.replace("\r\n", "\n")


@pytest.fixture(scope="module")
def home(kernel):
    """The kernel's starting directory, where every test returns."""
    reply, msgs = kernel.execute("%pwd")
    path = eval(only(msgs, "execute_result")[0]["content"]["data"]["text/plain"])
    assert os.path.isdir(path)
    return path


@pytest.fixture
def at_home(kernel, home):
    yield home
    kernel.execute(f"%cd {home}")


def ok(kernel, code):
    reply, msgs = kernel.execute(code)
    assert reply["content"]["status"] == "ok", (code, reply["content"], outputs_text(msgs))
    return msgs


def test_pwd_is_the_result(kernel, at_home):
    msgs = ok(kernel, "%pwd")
    results = only(msgs, "execute_result")
    assert len(results) == 1
    assert results[0]["content"]["data"]["text/plain"] == repr(at_home)


def test_mkdir_cd_ls(kernel, at_home):
    ok(kernel, "%mkdir -p work/data/deep other")
    assert os.path.isdir(os.path.join(at_home, "work/data/deep"))
    assert os.path.isdir(os.path.join(at_home, "other"))
    msgs = ok(kernel, "%cd work")
    target = os.path.join(at_home, "work")
    assert target in outputs_text(msgs), "%cd prints the new directory"
    assert only(ok(kernel, "%pwd"), "execute_result")[0]["content"]["data"]["text/plain"] == repr(target)
    open(os.path.join(target, "notes.txt"), "w").close()
    listing = outputs_text(ok(kernel, "%ls"))
    assert "data" in listing and "notes.txt" in listing
    assert "deep" in outputs_text(ok(kernel, "%ls data"))
    ok(kernel, "%cd ..")
    assert only(ok(kernel, "%pwd"), "execute_result")[0]["content"]["data"]["text/plain"] == repr(at_home)


def test_cd_expands_home(kernel, at_home):
    ok(kernel, "%cd ~")
    pwd = only(ok(kernel, "%pwd"), "execute_result")[0]["content"]["data"]["text/plain"]
    assert pwd == repr(os.path.expanduser("~"))


def test_shell_line_streams_stdout(kernel):
    msgs = ok(kernel, "!echo hello from sh")
    streams = only(msgs, "stream")
    assert outputs_text(streams) == "hello from sh\n"
    assert {m["content"]["name"] for m in streams} == {"stdout"}


@deepnb_only
def test_shell_line_streams_stderr_apart(kernel):
    msgs = ok(kernel, "!echo out; echo err >&2")
    by_name = {}
    for m in only(msgs, "stream"):
        by_name[m["content"]["name"]] = by_name.get(m["content"]["name"], "") + m["content"]["text"]
    assert by_name == {"stdout": "out\n", "stderr": "err\n"}


def streams_of(msgs):
    """(name, text) of each stream message, consecutive ones of a name joined."""
    out = []
    for m in only(msgs, "stream"):
        name, text = m["content"]["name"], m["content"]["text"]
        if out and out[-1][0] == name:
            out[-1] = (name, out[-1][1] + text)
        else:
            out.append((name, text))
    return out


@deepnb_only
def test_stderr_and_stdout_arrive_in_the_order_written(kernel):
    """Writes a microsecond apart on the two pipes (issue 12): each time, in order, and
    stderr still named stderr."""
    for _ in range(15):
        assert streams_of(ok(kernel, "!echo warn >&2; echo ok")) == [("stderr", "warn\n"), ("stdout", "ok\n")]
        assert streams_of(ok(kernel, "!echo ok; echo warn >&2")) == [("stdout", "ok\n"), ("stderr", "warn\n")]
    script = "%%sh\nfor i in 1 2 3 4 5; do echo out$i; echo err$i >&2; done\necho end"
    want = [(n, f"{w}{i}\n") for i in range(1, 6) for n, w in (("stdout", "out"), ("stderr", "err"))]
    for _ in range(5):
        assert streams_of(ok(kernel, script)) == want + [("stdout", "end\n")]


def test_lines_run_in_order_comments_skipped(kernel):
    msgs = ok(kernel, "!echo one\n# a comment\n\n!echo two")
    assert outputs_text(msgs) == "one\ntwo\n"


def test_shell_line_uses_the_working_directory(kernel, at_home):
    ok(kernel, "%mkdir -p shellcwd")
    ok(kernel, "%cd shellcwd")
    assert outputs_text(ok(kernel, "!pwd")).strip() == os.path.join(at_home, "shellcwd")


@deepnb_only
def test_failing_shell_line_fails_the_cell(kernel):
    reply, msgs = kernel.execute("!echo before; exit 3\n!echo never")
    assert reply["content"]["status"] == "error"
    err = only(msgs, "error")
    assert len(err) == 1
    text = err[0]["content"]["evalue"] + "\n".join(err[0]["content"]["traceback"])
    assert "3" in text, "the exit status is shown"
    out = outputs_text(only(msgs, "stream"))
    assert "before" in out and "never" not in out


@deepnb_only
def test_seed(kernel):
    ok(kernel, "%seed 42")
    reply, msgs = kernel.execute("%seed banana")
    assert reply["content"]["status"] == "error", "a seed must be a number"
    assert len(only(msgs, "error")) == 1


def test_lsmagic_lists_the_commands(kernel):
    text = outputs_text(ok(kernel, "%lsmagic"))
    for name in (COMMANDS if IS_DEEPNB else ["%pwd", "%cd", "%who"]):
        assert name in text, f"{name} missing from %lsmagic"


def test_who(kernel):
    """%who lists a name just made, with its type, and forgets it once deleted."""
    if IS_DEEPNB:
        ok(kernel, "%let who_probe = [1., 2., 3.]")
    else:
        ok(kernel, "who_probe = [1.0, 2.0, 3.0]")
    text = outputs_text(ok(kernel, "%who"))
    line = [ln for ln in text.splitlines() if "who_probe" in ln]
    assert line, text
    if IS_DEEPNB:   # a table: Name, Type, Description
        assert text.splitlines()[0].split()[:3] == ["Name", "Type", "Description"], text
        assert line[0].split()[:2] == ["who_probe", "array"], line
        assert "3" in line[0], line   # the description gives its shape
    ok(kernel, "%del who_probe" if IS_DEEPNB else "del who_probe")
    assert "who_probe" not in outputs_text(ok(kernel, "%who"))


def test_html_cell(kernel):
    msgs = ok(kernel, "%%html\n<b>bold</b> text")
    shown = only(msgs, "display_data")
    assert len(shown) == 1
    assert "<b>bold</b> text" in shown[0]["content"]["data"]["text/html"]
    assert "text/plain" in shown[0]["content"]["data"]


def test_markdown_cell(kernel):
    msgs = ok(kernel, "%%markdown\n# Title\n\nSome *text*.")
    shown = only(msgs, "display_data")
    assert len(shown) == 1
    assert shown[0]["content"]["data"]["text/markdown"].strip() == "# Title\n\nSome *text*."


def test_help_goes_to_the_pager(kernel):
    reply, msgs = kernel.execute("%cd?")
    assert reply["content"]["status"] == "ok"
    pages = [p for p in reply["content"]["payload"] if p["source"] == "page"]
    assert len(pages) == 1
    assert "cd" in pages[0]["data"]["text/plain"]
    assert not only(msgs, "error")


@deepnb_only
def test_unknown_command_suggests_the_nearest(kernel):
    reply, msgs = kernel.execute("%pdw")
    assert reply["content"]["status"] == "error"
    err = only(msgs, "error")[0]["content"]
    text = err["evalue"] + "\n".join(err["traceback"])
    assert "%pwd" in text, text


@deepnb_only
@pytest.mark.parametrize("code", ["%ls " + "(" * 40000, "%ls " + "[f(" * 20000 + ")" * 5,
                                  "x = " + "(" * 40000, "%ls [" + "1, " * 130000 + "]"])
def test_text_that_once_crashed_or_hung_the_kernel(kernel, code):
    """40 KB of brackets overflowed the argument parser's stack (the kernel died and the
    workspace with it); a 400 KB list took 43 s. Now: a SyntaxError or an answer, fast,
    from execute and is_complete alike, and the kernel lives."""
    reply, msgs = kernel.execute(code, timeout=30)
    assert reply["content"]["status"] == "error"
    msg_id = kernel.kc.is_complete(code)
    assert kernel.reply(msg_id, timeout=30)["content"]["status"] in ("complete", "incomplete", "invalid")
    kernel.iopub(msg_id)
    reply, _ = kernel.execute("%pwd")
    assert reply["content"]["status"] == "ok"


@deepnb_only
def test_error_names_are_red_as_ipykernels(kernel):
    """The classic Notebook shows a traceback's ANSI colours and nothing else of an error."""
    reply, msgs = kernel.execute("%pdw")
    tb = only(msgs, "error")[0]["content"]["traceback"]
    assert tb[0].startswith("\x1b[0;31mUsageError\x1b[0m: "), tb


def _complete(kernel, code, cursor_pos=None):
    msg_id = kernel.kc.complete(code, cursor_pos)
    reply = kernel.reply(msg_id)
    kernel.iopub(msg_id)
    c = reply["content"]
    assert c["status"] == "ok"
    assert "metadata" in c
    return c


def _completed(code, c):
    """The lines each match would make of code."""
    return {code[:c["cursor_start"]] + m + code[c["cursor_end"]:] for m in c["matches"]}


def test_complete_command_name_whole_token(kernel):
    c = _complete(kernel, "%pw")
    assert c["matches"] == ["%pwd"]
    assert (c["cursor_start"], c["cursor_end"]) == (0, 3)


def test_complete_several(kernel):
    c = _complete(kernel, "%ls")
    assert {"%ls", "%lsmagic"} <= set(c["matches"])


@deepnb_only
def test_complete_offers_names_only_where_they_are_taken(kernel, at_home, tmp_path):
    """Workspace names where the argument is one, paths where it is a file, nothing
    where it is neither (issue 12)."""
    ok(kernel, f"%cd {tmp_path}")
    ok(kernel, "%let alpha = random(2, 2)\n!touch alpha_file.txt")
    names, files = ["alpha"], ["alpha_file.txt"]
    cases = {
        "%save al": names,                   # NAME
        "%save alpha al": files,             # FILE.npy
        "%save_weights m al": files,
        "%load_weights alpha al": files,
        "%batches b al": files,              # DIR
        "%submit alpha al": files,
        "%lr al": names,
        "%lr m al": [],                      # a learning rate
        "%weights m al": [],                 # a layer
        "%fit m alpha al": names,            # Y
        "%fit m x y epochs=al": [],
        "%fit m x y save=al": files,
        "%fit m x y validation=(al": names,
        "%predict m x as=al": names,
        "%del al": names,
    }
    for code, want in cases.items():
        assert _complete(kernel, code)["matches"] == want, code


def test_complete_counts_code_points(kernel):
    code = "!echo héllo ☃\n%pw"
    c = _complete(kernel, code, len(code))
    assert (c["cursor_start"], c["cursor_end"]) == (len(code) - 3, len(code))
    assert "%pwd" in c["matches"]


def test_complete_in_the_middle(kernel):
    code = "%pw\n!echo after"
    c = _complete(kernel, code, 3)
    assert (c["cursor_start"], c["cursor_end"]) == (0, 3)
    assert "%pwd" in c["matches"]


@pytest.mark.parametrize("prefix", ["%ls ", "%cd ", "!cat "])
def test_complete_paths(kernel, at_home, prefix):
    ok(kernel, "%mkdir -p compl/alpha_dir")
    ok(kernel, "%cd compl")
    open(os.path.join(at_home, "compl", "alpha_file.txt"), "w").close()
    open(os.path.join(at_home, "compl", "alpha_dir", "inner.txt"), "w").close()
    c = _complete(kernel, prefix + "alpha_f")
    assert prefix + "alpha_file.txt" in _completed(prefix + "alpha_f", c)
    c = _complete(kernel, prefix + "alpha_dir/in")
    assert prefix + "alpha_dir/inner.txt" in _completed(prefix + "alpha_dir/in", c)


def test_inspect_gives_help(kernel):
    for code, pos in (("%mkdir -p x", 3), ("%cd", 3)):
        msg_id = kernel.kc.inspect(code, pos, 0)
        reply = kernel.reply(msg_id)
        kernel.iopub(msg_id)
        c = reply["content"]
        assert c["status"] == "ok" and c["found"] is True, (code, c)
        assert c["data"]["text/plain"].strip()


@deepnb_only
def test_inspect_unknown_is_not_found(kernel):
    msg_id = kernel.kc.inspect("%zzzz", 3, 0)
    reply = kernel.reply(msg_id)
    kernel.iopub(msg_id)
    assert reply["content"]["status"] == "ok"
    assert reply["content"]["found"] is False
