/* test_commands.c — the interpreter through a fake sink: shell lines (streaming,
 * interrupt, exit status), %cd/%pwd/%mkdir/%ls on a temp dir, help pages, unknown
 * commands, %who/%del/%seed, %%html/%%markdown, kernel_info, history. */
#include "check.h"
#include "internal.h"
#include "magics.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static dn_interp *it;
static fake f;
static char tmp[256];

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static const char *err_name(void) { const event *e = fake_find(&f, "error"); return e ? e->name : NULL; }
static const char *err_value(void) { const event *e = fake_find(&f, "error"); return e ? e->text : NULL; }

static void shell_streaming(void)
{
    printf("# ! lines stream as they run\n");
    int rc = run(it, &f, "!printf 'one\\n'; sleep 0.4; printf 'two\\n' >&2; sleep 0.4; printf 'three\\n'", 1);
    CHECK(rc == 0 && !fake_find(&f, "error"), "the shell line succeeds");
    CHECK(f.n == 3, "three separate chunks (got %d)", f.n);
    if (f.n == 3) {
        CHECK(!strcmp(f.ev[0].name, "stdout") && !strcmp(f.ev[0].text, "one\n")
              && !strcmp(f.ev[1].name, "stderr") && !strcmp(f.ev[1].text, "two\n")
              && !strcmp(f.ev[2].name, "stdout") && !strcmp(f.ev[2].text, "three\n"),
              "stdout, stderr, stdout in the order written");
        /* each chunk arrived when it was written, not all at the end */
        CHECK(f.ev[1].t - f.ev[0].t > 0.25 && f.ev[2].t - f.ev[1].t > 0.25,
              "chunks arrive apart: %.2f s and %.2f s", f.ev[1].t - f.ev[0].t, f.ev[2].t - f.ev[1].t);
    }
    rc = run(it, &f, "!echo 'é€😀'", 2);
    char *out = fake_text(&f, "stdout");
    CHECK(rc == 0 && out && !strcmp(out, "é€😀\n"), "UTF-8 output passes whole");
    free(out);
    rc = run(it, &f, "!echo a \\\n  b", 3);
    out = fake_text(&f, "stdout");
    CHECK(rc == 0 && out && !strcmp(out, "a b\n"), "a \\ line continues on the next: %s", out ? out : "");
    free(out);
    /* stdin is /dev/null: cat ends at once instead of waiting */
    rc = run(it, &f, "!cat; echo done", 4);
    out = fake_text(&f, "stdout");
    CHECK(rc == 0 && out && !strcmp(out, "done\n"), "stdin is empty");
    free(out);
    /* no descriptor of the kernel leaks into the child beyond 0, 1, 2 */
    rc = run(it, &f, "!ls /proc/self/fd | sort -n | tr '\\n' ' '", 5);
    out = fake_text(&f, "stdout");
    /* ls itself opens one directory fd (3) to read /proc/self/fd */
    CHECK(rc == 0 && out && !strcmp(out, "0 1 2 3 "), "child fds: %s", out ? out : "");
    free(out);
    /* default dispositions even when the kernel ignores SIGINT and SIGPIPE */
    signal(SIGINT, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    rc = run(it, &f, "!grep SigIgn /proc/self/status", 6);
    signal(SIGINT, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    out = fake_text(&f, "stdout");
    unsigned long long ign = out && strchr(out, ':') ? strtoull(strchr(out, ':') + 1, NULL, 16) : ~0ull;
    unsigned long long mask = (1ull << (SIGINT - 1)) | (1ull << (SIGPIPE - 1)) | (1ull << (SIGTERM - 1));
    CHECK(rc == 0 && !(ign & mask), "child does not ignore SIGINT, SIGPIPE, SIGTERM: %s", out ? out : "");
    free(out);
}

static void shell_exit_status(void)
{
    printf("# non-zero exit fails the cell\n");
    int rc = run(it, &f, "!echo before; exit 3\n!echo after", 7);
    char *out = fake_text(&f, "stdout");
    CHECK(rc != 0, "execute reports failure");
    CHECK_STR(err_name(), "ShellError", "ename");
    CHECK_STR(err_value(), "`echo before; exit 3` exited with status 3", "evalue");
    CHECK(out && !strcmp(out, "before\n"), "output before the failure shown, the next line not run");
    free(out);
    const event *e = fake_find(&f, "error");
    CHECK(e && json_array_size(e->json) == 2
          && !strcmp(json_string_value(json_array_get(e->json, 1)), "(line 1 of the cell)"),
          "traceback says which line failed");
    rc = run(it, &f, "!kill -TERM $$", 8);
    CHECK(rc != 0 && err_value() && strstr(err_value(), "killed by signal 15"), "death by signal: %s",
          err_value() ? err_value() : "");
    rc = run(it, &f, "!false || true", 9);
    CHECK(rc == 0 && !fake_find(&f, "error"), "|| true ignores a failure");
    rc = run(it, &f, "%%sh\necho one\nexit 4\n", 10);
    CHECK(rc != 0 && err_value() && !strcmp(err_value(), "the %%sh cell exited with status 4"),
          "%%%%sh fails on exit 4: %s", err_value() ? err_value() : "");
    rc = run(it, &f, "%%sh\necho one\nfalse\necho two\n", 10);
    out = fake_text(&f, "stdout");
    CHECK(rc != 0 && out && !strcmp(out, "one\n"), "%%%%sh stops at the first failing command: '%s'",
          out ? out : "");
    free(out);
    rc = run(it, &f, "%%sh\nfalse || true\necho two\n", 10);
    out = fake_text(&f, "stdout");
    CHECK(rc == 0 && out && !strcmp(out, "two\n"), "and goes on after cmd || true");
    free(out);
}

static void *interrupter(void *arg)
{
    double delay = *(double *)arg;
    struct timespec ts = { 0, (long)(delay * 1e9) };
    nanosleep(&ts, NULL);
    it->ops->interrupt(it);
    return NULL;
}

static int no_children(void)
{
    return waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD;
}

static void interrupt_case(const char *code, double limit, const char *what)
{
    pthread_t th;
    double delay = 0.3;
    pthread_create(&th, NULL, interrupter, &delay);
    double t0 = now_s();
    int rc = run(it, &f, code, 11);
    double took = now_s() - t0;
    pthread_join(th, NULL);
    CHECK(rc != 0, "%s: execute reports failure", what);
    CHECK_STR(err_name(), "KeyboardInterrupt", "ename");
    CHECK(took < limit, "%s: returned %.2f s after start (interrupt at 0.3 s)", what, took);
    CHECK(no_children(), "%s: no child left, no zombie", what);
    /* the sleep itself (its pid was printed first) is gone too */
    char *out = fake_text(&f, "stdout");
    int pid = out ? atoi(out) : 0;
    int gone = pid > 0 && kill(pid, 0) == -1 && errno == ESRCH;
    CHECK(gone, "%s: process %d is gone", what, pid);
    if (!gone && pid > 0) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "grep -E 'State|PPid|SigIgn' /proc/%d/status", pid);
        if (system(cmd) != 0) printf("      (no status)\n");
    }
    free(out);
}

static void shell_interrupt(void)
{
    printf("# interrupt\n");
    interrupt_case("!sh -c 'echo $$; exec sleep 30'\n!echo never", 1.3, "sleep 30");
    CHECK(!strstr(f.n > 0 && f.ev[0].text ? f.ev[0].text : "", "never"), "the rest of the cell did not run");
    /* a group that ignores SIGINT gets SIGTERM a second later */
    interrupt_case("!trap '' INT; sh -c 'echo $$; exec sleep 30'", 2.5, "SIGINT ignored");
    /* the interpreter lives on */
    int rc = run(it, &f, "!echo alive", 12);
    char *out = fake_text(&f, "stdout");
    CHECK(rc == 0 && out && !strcmp(out, "alive\n"), "the next cell runs normally");
    free(out);
    /* a background job is not waited for, and is reaped once it ends */
    double t0 = now_s();
    rc = run(it, &f, "!(sleep 0.8; exit 0) & echo started", 14);
    double took = now_s() - t0;
    out = fake_text(&f, "stdout");
    CHECK(rc == 0 && out && !strcmp(out, "started\n") && took < 0.75,
          "a line with a background job returns after %.2f s", took);
    free(out);
    struct timespec pause = { 1, 0 };
    nanosleep(&pause, NULL);
    run(it, &f, "%pwd", 15);
    CHECK(no_children(), "the finished background job was reaped by the next cell");
    /* an interrupt between cells does not hit the next one */
    it->ops->interrupt(it);
    rc = run(it, &f, "!echo fine", 13);
    CHECK(rc == 0, "a stale interrupt is forgotten when a cell starts");
}

static void files(void)
{
    printf("# %%cd %%pwd %%mkdir %%ls\n");
    char want[1024], path[512];
    snprintf(tmp, sizeof tmp, "/tmp/dn_magics_XXXXXX");
    CHECK(mkdtemp(tmp) != NULL && chmod(tmp, 0755) == 0, "temp dir %s", tmp);
    char *start = getcwd(NULL, 0);
    setenv("HOME", tmp, 1);

    snprintf(path, sizeof path, "%%cd %s", tmp);
    int rc = run(it, &f, path, 20);
    char *out = fake_text(&f, "stdout");
    snprintf(want, sizeof want, "%s\n", tmp);
    CHECK(rc == 0 && out && !strcmp(out, want), "%%cd prints the new directory");
    free(out);

    rc = run(it, &f, "%pwd", 21);
    const event *r = fake_find(&f, "result");
    snprintf(want, sizeof want, "'%s'", tmp);
    CHECK(rc == 0 && r && !strcmp(json_string_value(json_object_get(r->json, "text/plain")), want),
          "%%pwd is an execute_result '%s'", tmp);

    rc = run(it, &f, "%mkdir a", 22);
    CHECK(rc == 0 && is_dir("a") && f.n == 0, "%%mkdir a, silently");
    rc = run(it, &f, "%mkdir a", 23);
    CHECK_STR(err_name(), "FileExistsError", "again");
    CHECK_STR(err_value(), "'a' already exists", "evalue");
    rc = run(it, &f, "%mkdir x/y", 24);
    CHECK_STR(err_name(), "FileNotFoundError", "parent missing");
    CHECK_STR(err_value(), "cannot create 'x/y': its parent 'x' does not exist (%mkdir -p makes missing parents too)", "evalue");
    CHECK(!is_dir("x"), "nothing made");
    rc = run(it, &f, "%mkdir b c/d", 25);
    CHECK(rc != 0 && !is_dir("b"), "one bad directory: none made (b absent)");
    rc = run(it, &f, "%mkdir -p x/y/z 'sp ace' a", 26);
    CHECK(rc == 0 && is_dir("x/y/z") && is_dir("sp ace"), "-p makes parents, quoted names, existing ok");
    FILE *fp = fopen("file.txt", "w");
    if (fp) fclose(fp);
    rc = run(it, &f, "%mkdir -p file.txt/sub", 27);
    CHECK_STR(err_name(), "NotADirectoryError", "under a file");
    rc = run(it, &f, "%mkdir -q z", 28);
    CHECK_STR(err_value(), "%mkdir has no option -q (only -p); quote a name that starts with -", "unknown flag");
    rc = run(it, &f, "%mkdir", 29);
    CHECK_STR(err_value(), "%mkdir needs 1 argument, got 0 (see %mkdir?)", "no directory");

    /* permission: a process without root rights tries to write in a root-owned dir */
    mkdir("locked", 0755);
    pid_t pid = fork();
    if (pid == 0) {
        if (geteuid() == 0 && setuid(65534) != 0) _exit(3);
        fake_reset(&f);
        run(it, &f, "%mkdir locked/inner", 30);
        const char *n = err_name(), *v = err_value();
        printf("      child: %s: %s\n", n ? n : "-", v ? v : "-");
        _exit(n && !strcmp(n, "PermissionError") && v
              && !strcmp(v, "cannot create 'locked/inner': no permission to write in 'locked'") ? 0 : 1);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "PermissionError for a dir we may not write (as uid 65534)");

    rc = run(it, &f, "%ls", 31);
    out = fake_text(&f, "stdout");
    CHECK(rc == 0 && out && strstr(out, "a/") && strstr(out, "file.txt") && strstr(out, "x/")
          && !strstr(out, "file.txt/"), "%%ls marks directories: %s", out ? out : "");
    free(out);
    rc = run(it, &f, "%ls x", 32);
    out = fake_text(&f, "stdout");
    CHECK(rc == 0 && out && !strcmp(out, "y/\n"), "%%ls DIR");
    free(out);
    rc = run(it, &f, "%ls nowhere", 33);
    CHECK_STR(err_name(), "FileNotFoundError", "%ls of a missing dir");

    rc = run(it, &f, "%cd x/y", 34);
    snprintf(want, sizeof want, "%s/x/y", tmp);
    char *cwd = getcwd(NULL, 0);
    CHECK(rc == 0 && cwd && !strcmp(cwd, want), "%%cd relative");
    free(cwd);
    rc = run(it, &f, "%cd -", 35);
    cwd = getcwd(NULL, 0);
    CHECK(rc == 0 && cwd && !strcmp(cwd, tmp), "%%cd - goes back");
    free(cwd);
    rc = run(it, &f, "%cd ~/a", 36);
    snprintf(want, sizeof want, "%s/a", tmp);
    cwd = getcwd(NULL, 0);
    CHECK(rc == 0 && cwd && !strcmp(cwd, want), "%%cd ~/a expands ~");
    free(cwd);
    rc = run(it, &f, "%cd", 37);
    cwd = getcwd(NULL, 0);
    CHECK(rc == 0 && cwd && !strcmp(cwd, tmp), "%%cd alone goes home");
    free(cwd);
    rc = run(it, &f, "%cd nowhere", 38);
    CHECK_STR(err_value(), "no such directory: 'nowhere'", "%cd to a missing dir");
    rc = run(it, &f, "%cd file.txt", 39);
    CHECK_STR(err_name(), "NotADirectoryError", "%cd to a file");
    rc = run(it, &f, "%cd a b", 40);
    CHECK_STR(err_value(), "%cd takes at most 1 argument; b (column 7) is one too many (quote a path that has spaces)",
              "two arguments");
    cwd = getcwd(NULL, 0);
    CHECK(cwd && !strcmp(cwd, tmp), "failed %%cd left the directory alone");
    free(cwd);
    /* shell lines run in the working directory */
    rc = run(it, &f, "%cd x\n!pwd", 41);
    out = fake_text(&f, "stdout");
    snprintf(want, sizeof want, "%s/x\n%s/x\n", tmp, tmp);
    CHECK(rc == 0 && out && !strcmp(out, want), "! runs where %%cd went");
    free(out);
    if (start && chdir(start) != 0) printf("cannot go back to %s\n", start);
    free(start);
}

static void help_and_unknown(void)
{
    printf("# help, unknown commands, syntax errors\n");
    int rc = run(it, &f, "%pwd?", 50);
    const event *p = fake_find(&f, "payload");
    const char *text = p ? json_string_value(json_object_get(json_object_get(p->json, "data"), "text/plain")) : NULL;
    CHECK(rc == 0 && f.n == 1 && p && !strcmp(json_string_value(json_object_get(p->json, "source")), "page")
          && json_integer_value(json_object_get(p->json, "start")) == 0 && text && !strncmp(text, "%pwd\n", 5),
          "%%pwd? sends one pager payload");
    rc = run(it, &f, "%cd??", 51);
    p = fake_find(&f, "payload");
    text = p ? json_string_value(json_object_get(json_object_get(p->json, "data"), "text/plain")) : NULL;
    CHECK(rc == 0 && text && strstr(text, "Defined in: ") && strstr(text, "cmd_files.c"), "%%cd?? says where");
    rc = run(it, &f, "?%mkdir", 52);
    CHECK(rc == 0 && fake_find(&f, "payload"), "?%%mkdir works too");
    rc = run(it, &f, "%%html?\nbody", 53);
    CHECK(rc == 0 && fake_find(&f, "payload") && !fake_find(&f, "display"), "%%%%html? shows help, not the body");

    rc = run(it, &f, "!echo ran\n%pdw", 54);
    CHECK(rc != 0 && !fake_find(&f, "stream"), "a cell with an unknown command runs nothing");
    CHECK_STR(err_name(), "UsageError", "ename");
    CHECK_STR(err_value(), "Unknown command %pdw. Did you mean %pwd?", "evalue");
    rc = run(it, &f, "%lsmagc", 55);
    CHECK_STR(err_value(), "Unknown command %lsmagc. Did you mean %lsmagic?", "one letter missing");
    rc = run(it, &f, "%frobnicate", 56);
    CHECK_STR(err_value(), "Unknown command %frobnicate. %lsmagic lists the commands.", "nothing close");
    rc = run(it, &f, "%html", 57);
    CHECK_STR(err_value(), "%%html is a cell command: write %%html on the first line of the cell, its body below",
              "a cell command used as a line");
    rc = run(it, &f, "%pwd\n%%html\nx", 58);
    CHECK_STR(err_value(), "line 2: %%html must be the first line of the cell: a cell command takes the rest of the cell as its body",
              "%%html not first");
    /* a line starting with a letter is an expression; one that can never parse is a
     * SyntaxError found before line 1 runs */
    rc = run(it, &f, "%seed 1\nhello world", 59);
    CHECK_STR(err_name(), "SyntaxError", "a plain line that is not an expression");
    CHECK(err_value() && strstr(err_value(), "unexpected 'world' at column 7"), "%s", err_value() ? err_value() : "");
    CHECK(rc != 0 && !fake_find(&f, "stream"), "nothing ran");
    rc = run(it, &f, "%seed 1\n$x = 2", 59);
    CHECK_STR(err_name(), "SyntaxError", "a line that is no statement");
    CHECK(err_value() && strstr(err_value(), "line 2: '$x = 2' is not a command"), "%s", err_value() ? err_value() : "");
    rc = run(it, &f, "%seed (1,", 60);
    CHECK_STR(err_value(), "%seed: unclosed '(' in argument 1 (opened at column 7)", "parse error with position");
    rc = run(it, &f, "%who\n%ls 'x", 61);
    CHECK(rc != 0 && !fake_find(&f, "stream"), "a syntax error on line 2 stops line 1 from running");
    /* comments and blank lines */
    rc = run(it, &f, "# a comment\n\n   %seed 5   # five\n%seed", 62);
    char *out = fake_text(&f, "stdout");
    CHECK(rc == 0 && out && !strcmp(out, "5\n"), "comments skipped, trailing comment too");
    free(out);
    /* a command continues while its brackets are open */
    rc = run(it, &f, "%seed (\n  1,)", 63);
    CHECK_STR(err_value(), "%seed takes a whole number from 0 up, got a tuple", "continued over lines, then checked");
}

static void fake_describe(const void *obj, char *buf, size_t len) { snprintf(buf, len, "%d rows", *(const int *)obj); }
static int freed;
static void fake_free(void *obj) { freed++; free(obj); }
static const dn_type array_type = { .name = "array", .describe = fake_describe, .free = fake_free };
static const dn_type model_type = { .name = "model", .describe = fake_describe, .free = fake_free };

static void workspace(void)
{
    printf("# %%who %%del %%seed\n");
    dn_magics *m = (dn_magics *)it;
    int rc = run(it, &f, "%who", 70);
    char *out = fake_text(&f, "stdout");
    CHECK(rc == 0 && out && !strcmp(out, "The workspace is empty.\n"), "%%who when empty");
    free(out);
    char err[128];
    int *a = malloc(sizeof *a), *b = malloc(sizeof *b), *c = malloc(sizeof *c);
    *a = 30; *b = 2; *c = 7;
    CHECK(dn_workspace_set(m->ws, "x", &array_type, a, err, sizeof err) == 0
          && dn_workspace_set(m->ws, "model", &model_type, b, err, sizeof err) == 0, "two objects stored");
    CHECK(dn_workspace_set(m->ws, "2bad", &array_type, c, err, sizeof err) < 0, "a bad name refused: %s", err);
    CHECK(dn_workspace_set(m->ws, "x", &array_type, c, err, sizeof err) == 0 && freed == 1, "replacing frees the old");
    CHECK(dn_workspace_get_typed(m->ws, "x", &model_type, err, sizeof err) == NULL
          && !strcmp(err, "'x' is an array, not a model"), "typed get: %s", err);
    rc = run(it, &f, "%who", 71);
    out = fake_text(&f, "stdout");
    CHECK(rc == 0 && out && !strcmp(out, "Name   Type   Description\nmodel  model  2 rows\nx      array  7 rows\n"),
          "%%who lists names, types, descriptions:\n%s", out ? out : "");
    free(out);
    rc = run(it, &f, "%who array", 72);
    out = fake_text(&f, "stdout");
    CHECK(rc == 0 && out && strstr(out, "x ") && !strstr(out, "model "), "%%who TYPE filters");
    free(out);
    rc = run(it, &f, "%del x nothere", 73);
    CHECK(rc != 0 && dn_workspace_get(m->ws, "x", NULL), "%%del with a missing name removes nothing");
    CHECK_STR(err_value(), "no name 'nothere' in the workspace (%who lists them)", "evalue");
    rc = run(it, &f, "%del x model", 74);
    CHECK(rc == 0 && dn_workspace_count(m->ws) == 0 && freed == 3, "%%del frees");

    rc = run(it, &f, "%seed 42", 75);
    CHECK(rc == 0 && dn_workspace_seed(m->ws) == 42 && dn_workspace_seed_is_set(m->ws), "%%seed 42");
    uint64_t s1 = dn_workspace_next_seed(m->ws), s2 = dn_workspace_next_seed(m->ws);
    run(it, &f, "%seed 42", 76);
    CHECK(s1 != s2 && dn_workspace_next_seed(m->ws) == s1 && dn_workspace_next_seed(m->ws) == s2,
          "the same seed gives the same sequence of derived seeds");
    rc = run(it, &f, "%seed", 77);
    out = fake_text(&f, "stdout");
    CHECK(rc == 0 && out && !strcmp(out, "42\n"), "%%seed shows it");
    free(out);
    rc = run(it, &f, "%seed -1", 78);
    CHECK(rc != 0 && dn_workspace_seed(m->ws) == 42, "a bad seed changes nothing");
    rc = run(it, &f, "%seed 1.5", 79);
    CHECK_STR(err_value(), "%seed takes a whole number from 0 up, got 1.5", "evalue");
}

static void display(void)
{
    printf("# %%%%html %%%%markdown %%lsmagic kernel_info\n");
    int rc = run(it, &f, "%%html\n<b>Dogs</b> &amp; <i>cats</i><script>x=1</script><br>ok", 80);
    const event *d = fake_find(&f, "display");
    CHECK(rc == 0 && d && !strcmp(json_string_value(json_object_get(d->json, "text/html")),
                                  "<b>Dogs</b> &amp; <i>cats</i><script>x=1</script><br>ok"),
          "%%%%html: text/html is the body");
    CHECK(d && !strcmp(json_string_value(json_object_get(d->json, "text/plain")), "Dogs & cats\nok"),
          "text/plain twin without tags: %s", d ? json_string_value(json_object_get(d->json, "text/plain")) : "");
    rc = run(it, &f, "%%markdown\n# Title\n*x*", 81);
    d = fake_find(&f, "display");
    CHECK(rc == 0 && d && !strcmp(json_string_value(json_object_get(d->json, "text/markdown")), "# Title\n*x*")
          && json_object_get(d->json, "text/plain"), "%%%%markdown: text/markdown and text/plain");
    rc = run(it, &f, "%%html extra\nx", 82);
    CHECK(rc != 0, "%%%%html takes no arguments");

    rc = run(it, &f, "%lsmagic", 83);
    char *out = fake_text(&f, "stdout");
    CHECK(rc == 0 && out && strstr(out, "%pwd") && strstr(out, "%%html") && strstr(out, "%mkdir [-p] DIR...")
          && strstr(out, "!COMMAND"), "%%lsmagic lists line and cell commands");
    free(out);

    json_t *ki = it->ops->kernel_info(it);
    json_t *li = json_object_get(ki, "language_info");
    CHECK(!strcmp(json_string_value(json_object_get(ki, "implementation")), "deepnb")
          && !strcmp(json_string_value(json_object_get(li, "name")), "deepnb")
          && !strcmp(json_string_value(json_object_get(li, "mimetype")), "text/x-deepnb")
          && !strcmp(json_string_value(json_object_get(li, "file_extension")), ".dnb")
          && json_object_get(li, "codemirror_mode") && json_object_get(li, "pygments_lexer")
          && json_object_get(li, "version") && json_is_string(json_object_get(ki, "banner"))
          && json_array_size(json_object_get(ki, "help_links")) >= 1, "kernel_info fields");
    json_decref(ki);
}

static void history(void)
{
    printf("# history through execute\n");
    dn_interp *h = dn_magics_new(NULL, 0);
    fake_reset(&f);
    dn_execute_request reqs[] = {
        { "%seed 1", 0, 1, 0, 1 }, { "%pwd", 0, 1, 0, 2 }, { "%seed 2", 1, 0, 0, 2 },
        { "%nosuch", 0, 1, 0, 3 }, { "%pwd", 0, 0, 0, 3 },
    };
    for (size_t k = 0; k < sizeof reqs / sizeof *reqs; k++) h->ops->execute(h, &reqs[k], &f.sink);
    json_t *q = json_pack("{s:b, s:b, s:s, s:i}", "output", 1, "raw", 1, "hist_access_type", "tail", "n", 10);
    json_t *r = h->ops->history(h, q);
    char *s = json_dumps(r, JSON_COMPACT);
    char *cwd = getcwd(NULL, 0);
    char want[1024];
    snprintf(want, sizeof want, "{\"history\":[[1,1,[\"%%seed 1\",null]],[1,2,[\"%%pwd\",\"'%s'\"]],"
             "[1,3,[\"%%nosuch\",null]]]}", cwd);
    CHECK(s && !strcmp(s, want), "silent and store_history=false cells are not recorded, outputs are: %s", s);
    free(s);
    free(cwd);
    json_decref(q);
    json_decref(r);
    h->ops->free(h);
}

int main(void)
{
    char err[256];
    it = dn_magics_new(err, sizeof err);
    CHECK(it != NULL, "dn_magics_new");
    if (!it) return 1;
    fake_reset(&f);
    shell_streaming();
    shell_exit_status();
    shell_interrupt();
    files();
    help_and_unknown();
    workspace();
    display();
    history();
    printf("# shutdown\n");
    run(it, &f, "!sh -c 'echo $$; exec sleep 30' &", 90);
    char *out = fake_text(&f, "stdout");
    int pid = out ? atoi(out) : 0;
    free(out);
    CHECK(pid > 0 && kill(pid, 0) == 0, "a background job outlives its line");
    double t0 = now_s();
    it->ops->shutdown(it, 0);
    CHECK(now_s() - t0 < 1.0 && kill(pid, 0) == -1 && errno == ESRCH && no_children(),
          "shutdown hangs it up and reaps it (%.2f s)", now_s() - t0);
    it->ops->free(it);
    fake_reset(&f);
    if (tmp[0]) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
        if (system(cmd) != 0) printf("could not remove %s\n", tmp);
    }
    printf("%s\n", check_failures ? "FAILED" : "all passed");
    return check_failures != 0;
}
