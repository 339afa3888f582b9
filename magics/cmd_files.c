/* cmd_files.c — files and shell: %pwd, %cd, %mkdir, %ls, %%sh. (! lines are run by
 * interp.c through shell.h.) */
#include "command.h"
#include "shell.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Python's exception names: what a Keras user reads every day. */
static const char *errno_name(int e)
{
    switch (e) {
    case ENOENT: return "FileNotFoundError";
    case EEXIST: return "FileExistsError";
    case EACCES: case EPERM: case EROFS: return "PermissionError";
    case ENOTDIR: return "NotADirectoryError";
    case EISDIR: return "IsADirectoryError";
    default: return "OSError";
    }
}

/* The text of a word argument (path, flag): strings, names, numbers as written. */
static const char *word(const dn_value *v)
{
    if (!v) return NULL;
    if (v->kind == DN_VAL_CALL || v->kind == DN_VAL_TUPLE || v->kind == DN_VAL_LIST) return NULL;
    return v->text;
}

static const char *home_dir(void)
{
    const char *h = getenv("HOME");
    if (h && *h) return h;
    struct passwd *pw = getpwuid(getuid());
    return pw ? pw->pw_dir : "/";
}

/* ~ and ~user expanded; NULL (with msg) when the user is unknown. Caller frees. */
static char *expand_tilde(const char *path, char *msg, size_t len)
{
    if (path[0] != '~') return strdup(path);
    const char *slash = strchr(path, '/');
    size_t ulen = slash ? (size_t)(slash - path - 1) : strlen(path + 1);
    const char *home;
    if (!ulen) {
        home = home_dir();
    } else {
        char user[256];
        if (ulen >= sizeof user) ulen = sizeof user - 1;
        memcpy(user, path + 1, ulen);
        user[ulen] = 0;
        struct passwd *pw = getpwnam(user);
        if (!pw) { snprintf(msg, len, "no user named '%.64s' (in %.128s)", user, path); return NULL; }
        home = pw->pw_dir;
    }
    char *out = NULL;
    if (asprintf(&out, "%s%s", home, slash ? slash : "") < 0) return NULL;
    return out;
}

/* Python's repr of a str, as IPython shows %pwd: '/path' */
static char *py_repr(const char *s)
{
    char q = strchr(s, '\'') && !strchr(s, '"') ? '"' : '\'';
    size_t cap = strlen(s) * 4 + 3, n = 0;
    char *out = malloc(cap);
    if (!out) return NULL;
    out[n++] = q;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == (unsigned char)q || *c == '\\') { out[n++] = '\\'; out[n++] = (char)*c; }
        else if (*c == '\n') { out[n++] = '\\'; out[n++] = 'n'; }
        else if (*c == '\t') { out[n++] = '\\'; out[n++] = 't'; }
        else if (*c < 0x20) n += (size_t)sprintf(out + n, "\\x%02x", *c);
        else out[n++] = (char)*c;
    }
    out[n++] = q;
    out[n] = 0;
    return out;
}

static int run_pwd(dn_ctx *ctx, const dn_call *call)
{
    char err[256];
    if (dn_args_check(call->args, "%pwd", 0, 0, NULL, err, sizeof err) < 0)
        return dn_fail(ctx, "UsageError", "%s", err);
    char *cwd = getcwd(NULL, 0);
    if (!cwd) return dn_fail(ctx, errno_name(errno), "cannot read the working directory: %s", strerror(errno));
    char *repr = py_repr(cwd);
    json_t *data = repr ? json_pack("{s:s}", "text/plain", repr) : NULL;
    free(cwd);
    free(repr);
    if (!data) return dn_fail(ctx, "UnicodeError", "the working directory's name is not UTF-8");
    dn_result(ctx, data);
    json_decref(data);
    return 0;
}

static int run_cd(dn_ctx *ctx, const dn_call *call)
{
    char err[256];
    if (dn_args_check(call->args, "%cd", 0, 1, NULL, err, sizeof err) < 0)
        return dn_fail(ctx, "UsageError", "%s", err);
    const dn_value *v = dn_args_pos(call->args, 0);
    const char *arg = v ? word(v) : "~";
    if (!arg) return dn_fail(ctx, "UsageError", "%%cd takes a directory, not %s", dn_value_kind_name(v->kind));
    char *target;
    if (!strcmp(arg, "-")) {
        if (!dn_ctx_oldpwd(ctx))
            return dn_fail(ctx, "UsageError", "no previous directory: %%cd - goes back after a %%cd");
        target = strdup(dn_ctx_oldpwd(ctx));
    } else {
        target = expand_tilde(arg, err, sizeof err);
        if (!target) return dn_fail(ctx, "UsageError", "%s", err);
    }
    if (!target) return dn_fail(ctx, "MemoryError", "out of memory");
    char *old = getcwd(NULL, 0);
    if (chdir(target) < 0) {
        int e = errno;
        free(old);
        int rc = e == ENOENT ? dn_fail(ctx, "FileNotFoundError", "no such directory: '%s'", target)
               : e == ENOTDIR ? dn_fail(ctx, "NotADirectoryError", "'%s' is not a directory", target)
               : e == EACCES ? dn_fail(ctx, "PermissionError", "no permission to enter '%s'", target)
               : dn_fail(ctx, errno_name(e), "cannot change to '%s': %s", target, strerror(e));
        free(target);
        return rc;
    }
    free(target);
    if (old) dn_ctx_set_oldpwd(ctx, old);
    free(old);
    char *cwd = getcwd(NULL, 0);
    if (cwd) dn_print(ctx, "%s\n", cwd);
    free(cwd);
    return 0;
}

/* The directory part of path ("." when none); caller frees. */
static char *parent_of(const char *path)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/') n--;   /* a/b/ names a/b */
    while (n > 0 && path[n - 1] != '/') n--;
    while (n > 1 && path[n - 1] == '/') n--;
    if (n == 0) return strdup(".");
    return strndup(path, n);
}

/* Checks that path can be made; fills missing (the directories to create, outermost
 * first; with parents they may be several). 0, or -1 after dn_fail. */
static int plan_mkdir(dn_ctx *ctx, const char *shown, const char *path, int parents,
                      char ***missing, size_t *nmissing)
{
    struct stat st;
    if (stat(path, &st) == 0) {
        if (parents && S_ISDIR(st.st_mode)) return 0;   /* -p: nothing to do */
        if (S_ISDIR(st.st_mode))
            return dn_fail(ctx, "FileExistsError", "'%s' already exists", shown);
        return dn_fail(ctx, "FileExistsError", "'%s' already exists and is not a directory", shown);
    }
    if (errno != ENOENT) {
        if (errno == ENOTDIR)
            return dn_fail(ctx, "NotADirectoryError", "cannot create '%s': a part of the path is a file", shown);
        return dn_fail(ctx, errno_name(errno), "cannot create '%s': %s", shown, strerror(errno));
    }
    /* walk up to the nearest ancestor that exists */
    char *chain[PATH_MAX / 2];
    size_t nchain = 0;
    char *cur = strdup(path);
    int rc = 0;
    while (cur) {
        char *up = parent_of(cur);
        if (nchain < sizeof chain / sizeof *chain) chain[nchain++] = cur;
        else free(cur);
        cur = NULL;
        if (!up) { rc = dn_fail(ctx, "MemoryError", "out of memory"); break; }
        if (stat(up, &st) == 0) {
            if (!S_ISDIR(st.st_mode)) {
                rc = dn_fail(ctx, "NotADirectoryError", "cannot create '%s': '%s' is not a directory", shown, up);
            } else if (nchain > 1 && !parents) {
                rc = dn_fail(ctx, "FileNotFoundError", "cannot create '%s': its parent '%s' does not "
                             "exist (%%mkdir -p makes missing parents too)", shown, chain[1]);
            } else if (access(up, W_OK | X_OK) < 0) {
                rc = dn_fail(ctx, "PermissionError", "cannot create '%s': no permission to write in '%s'",
                             shown, up);
            }
            free(up);
            break;
        }
        if (errno != ENOENT) {
            rc = dn_fail(ctx, errno_name(errno), "cannot create '%s': %s: %s", shown, up, strerror(errno));
            free(up);
            break;
        }
        cur = up;
    }
    if (rc < 0) {
        for (size_t k = 0; k < nchain; k++) free(chain[k]);
        return rc;
    }
    char **all = realloc(*missing, (*nmissing + nchain) * sizeof *all);
    if (!all) {
        for (size_t k = 0; k < nchain; k++) free(chain[k]);
        return dn_fail(ctx, "MemoryError", "out of memory");
    }
    for (size_t k = 0; k < nchain; k++) all[*nmissing + k] = chain[nchain - 1 - k];
    *missing = all;
    *nmissing += nchain;
    return 0;
}

static int run_mkdir(dn_ctx *ctx, const dn_call *call)
{
    char err[256];
    if (dn_args_check(call->args, "%mkdir", 1, -1, NULL, err, sizeof err) < 0)
        return dn_fail(ctx, "UsageError", "%s", err);
    int parents = 0;
    size_t ndirs = 0;
    for (size_t k = 0; k < dn_args_npos(call->args); k++) {
        const char *w = word(dn_args_pos(call->args, k));
        if (!w) return dn_fail(ctx, "UsageError", "%%mkdir takes directory names, not %s",
                               dn_value_kind_name(dn_args_pos(call->args, k)->kind));
        if (!strcmp(w, "-p") && !dn_args_pos(call->args, k)->quoted) parents = 1;
        else if (w[0] == '-' && dn_args_pos(call->args, k)->kind == DN_VAL_STRING
                 && !dn_args_pos(call->args, k)->quoted)
            return dn_fail(ctx, "UsageError", "%%mkdir has no option %s (only -p); quote a name "
                           "that starts with -", w);
        else ndirs++;
    }
    if (!ndirs) return dn_fail(ctx, "UsageError", "%%mkdir needs a directory name");

    /* plan everything first: a failed %mkdir creates nothing */
    char **missing = NULL;
    size_t nmissing = 0;
    int rc = 0;
    for (size_t k = 0; rc == 0 && k < dn_args_npos(call->args); k++) {
        const dn_value *v = dn_args_pos(call->args, k);
        if (!strcmp(word(v), "-p") && !v->quoted) continue;
        char *path = expand_tilde(word(v), err, sizeof err);
        if (!path) { rc = dn_fail(ctx, "UsageError", "%s", err); break; }
        for (size_t q = 0; q < nmissing && !parents; q++)
            if (!strcmp(missing[q], path)) rc = dn_fail(ctx, "UsageError", "'%s' is named twice", word(v));
        if (rc == 0) rc = plan_mkdir(ctx, word(v), path, parents, &missing, &nmissing);
        free(path);
    }
    char *created = rc == 0 ? calloc(nmissing ? nmissing : 1, 1) : NULL;
    if (rc == 0 && !created) rc = dn_fail(ctx, "MemoryError", "out of memory");
    for (size_t k = 0; rc == 0 && k < nmissing; k++) {
        if (mkdir(missing[k], 0777) == 0) { created[k] = 1; continue; }
        if (errno == EEXIST && parents) continue;   /* named twice under -p, or made meanwhile */
        rc = dn_fail(ctx, errno_name(errno), "cannot create '%s': %s", missing[k], strerror(errno));
        /* undo, innermost first, so the failure leaves the tree as it was */
        for (size_t u = k; u-- > 0;)
            if (created[u]) rmdir(missing[u]);
    }
    free(created);
    for (size_t k = 0; k < nmissing; k++) free(missing[k]);
    free(missing);
    return rc;
}

static int by_name(const void *a, const void *b)
{
    return strcoll(*(char *const *)a, *(char *const *)b);
}

static int run_ls(dn_ctx *ctx, const dn_call *call)
{
    char err[256];
    if (dn_args_check(call->args, "%ls", 0, 2, NULL, err, sizeof err) < 0)
        return dn_fail(ctx, "UsageError", "%s", err);
    int all = 0;
    const char *dir = NULL;
    for (size_t k = 0; k < dn_args_npos(call->args); k++) {
        const dn_value *v = dn_args_pos(call->args, k);
        const char *w = word(v);
        if (!w) return dn_fail(ctx, "UsageError", "%%ls takes a directory, not %s", dn_value_kind_name(v->kind));
        if (!strcmp(w, "-a") && !v->quoted) all = 1;
        else if (dir) return dn_fail(ctx, "UsageError", "%%ls lists one directory at a time");
        else dir = w;
    }
    char *path = expand_tilde(dir ? dir : ".", err, sizeof err);
    if (!path) return dn_fail(ctx, "UsageError", "%s", err);
    struct stat st;
    if (stat(path, &st) < 0) {
        int e = errno;
        free(path);
        return e == ENOENT ? dn_fail(ctx, "FileNotFoundError", "no such file or directory: '%s'", dir)
                           : dn_fail(ctx, errno_name(e), "cannot list '%s': %s", dir, strerror(e));
    }
    if (!S_ISDIR(st.st_mode)) {   /* like ls: a file lists as itself */
        free(path);
        dn_print(ctx, "%s\n", dir);
        return 0;
    }
    DIR *d = opendir(path);
    if (!d) {
        int e = errno;
        free(path);
        return dn_fail(ctx, errno_name(e), "cannot list '%s': %s", dir ? dir : ".", strerror(e));
    }
    char **names = NULL;
    size_t n = 0, cap = 0, width = 0;
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        if (de->d_name[0] == '.' && !all) continue;
        int is_dir = de->d_type == DT_DIR;
        if (de->d_type == DT_UNKNOWN || de->d_type == DT_LNK) {   /* links to directories count */
            struct stat es;
            is_dir = fstatat(dirfd(d), de->d_name, &es, 0) == 0 && S_ISDIR(es.st_mode);
        }
        if (n == cap) {
            char **nn = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof *names);
            if (!nn) { rc = -1; break; }
            names = nn;
        }
        if (asprintf(&names[n], "%s%s", de->d_name, is_dir ? "/" : "") < 0) { rc = -1; break; }
        if (strlen(names[n]) > width) width = strlen(names[n]);
        n++;
    }
    closedir(d);
    free(path);
    if (rc < 0) {
        for (size_t k = 0; k < n; k++) free(names[k]);
        free(names);
        return dn_fail(ctx, "MemoryError", "out of memory");
    }
    qsort(names, n, sizeof *names, by_name);
    /* columns filled top to bottom, as ls does, in 80 characters */
    size_t colw = width + 2, cols = colw < 80 ? 80 / colw : 1;
    if (!cols) cols = 1;
    size_t rows = (n + cols - 1) / cols;
    size_t cap_out = rows * (cols * colw + 1) + 1, len = 0;
    char *out = malloc(cap_out);
    for (size_t r = 0; out && r < rows; r++) {
        for (size_t c = 0; c < cols; c++) {
            size_t i = c * rows + r;
            if (i >= n) break;
            if (c + 1 == cols || i + rows >= n) len += (size_t)sprintf(out + len, "%s", names[i]);
            else len += (size_t)sprintf(out + len, "%-*s", (int)colw, names[i]);
        }
        out[len++] = '\n';
    }
    if (out) dn_write(ctx, "stdout", out, len);
    free(out);
    for (size_t k = 0; k < n; k++) free(names[k]);
    free(names);
    return 0;
}

static int run_sh(dn_ctx *ctx, const dn_call *call)
{
    char err[256];
    if (dn_args_check(call->args, "%%sh", 0, 0, NULL, err, sizeof err) < 0)
        return dn_fail(ctx, "UsageError", "%s", err);
    int code = 0;
    /* stops at the first command that fails, as ! lines do (sh -e); on the first line, so
     * the shell's line numbers in its messages are the cell's */
    char *script = NULL;
    if (asprintf(&script, "set -e; %s", call->body) < 0)
        return dn_fail(ctx, "MemoryError", "out of memory");
    dn_shell_outcome st = dn_shell_line(dn_ctx_cancel(ctx), script, dn_ctx_sink(ctx), &code, err, sizeof err);
    free(script);
    switch (st) {
    case DN_SHELL_EXITED:
        return code ? dn_fail(ctx, "ShellError", "the %%%%sh cell exited with status %d", code) : 0;
    case DN_SHELL_SIGNALED:
        return dn_fail(ctx, "ShellError", "the %%%%sh cell was killed by signal %d (%s)", code, strsignal(code));
    case DN_SHELL_INTERRUPTED:
        return dn_fail_interrupted(ctx);
    case DN_SHELL_FAILED:
        break;
    }
    return dn_fail(ctx, "OSError", "%s", err);
}

static const char *const mkdir_keywords[] = { "-p", NULL };
static const char *const ls_keywords[] = { "-a", NULL };

const dn_command dn_commands_files[] = {
    { .name = "pwd", .kind = DN_LINE, .synopsis = "%pwd", .run = run_pwd, .source = __FILE__,
      .help = "Show the working directory, as the cell's result ('/home/me/data').\n"
              "Shell lines, paths in commands and %ls are relative to it." },
    { .name = "cd", .kind = DN_LINE, .synopsis = "%cd [DIR]", .run = run_cd, .source = __FILE__,
      .complete = DN_COMPLETE_PATHS,
      .help = "Change the working directory and print the new one.\n"
              "~ is your home directory and ~user someone else's; %cd alone goes home;\n"
              "%cd - goes back to the directory before the last %cd. The change holds for\n"
              "later cells, shell lines and every command that reads or writes files.\n"
              "Quote a path that has spaces: %cd 'my data'\n\n"
              "Example:\n  %cd ~/data/dogscats" },
    { .name = "mkdir", .kind = DN_LINE, .synopsis = "%mkdir [-p] DIR...", .run = run_mkdir,
      .source = __FILE__, .complete = DN_COMPLETE_PATHS | DN_COMPLETE_KEYWORDS,
      .keywords = mkdir_keywords,
      .help = "Make directories.\n"
              "Without -p, each DIR must not exist yet and its parent must; with -p, missing\n"
              "parents are made too and existing directories are fine. Every DIR is checked\n"
              "before any is made, so a failing %mkdir makes none.\n\n"
              "Example:\n  %mkdir -p valid results sample/train sample/valid sample/test" },
    { .name = "ls", .kind = DN_LINE, .synopsis = "%ls [-a] [DIR]", .run = run_ls, .source = __FILE__,
      .complete = DN_COMPLETE_PATHS | DN_COMPLETE_KEYWORDS, .keywords = ls_keywords,
      .help = "List a directory (the working one when DIR is left out).\n"
              "Names are sorted, directories end with /, hidden names (starting with .) show\n"
              "only with -a. For more, use a shell line: !ls -l DIR" },
    { .name = "sh", .kind = DN_CELL, .synopsis = "%%sh", .run = run_sh, .source = __FILE__,
      .complete = DN_COMPLETE_PATHS,
      .help = "Run the body of the cell as one /bin/sh script.\n"
              "Output streams while it runs. The script stops at the first command that fails\n"
              "(as sh -e: write cmd || true to go on) and the cell fails with a ShellError. Standard input is empty; interrupt stops it as it stops ! lines\n"
              "(SIGINT to its process group, then SIGTERM, then SIGKILL).\n\n"
              "Example:\n  %%sh\n  for c in cat dog; do mkdir -p train/$c; mv train/$c.*.jpg train/$c/; done" },
    { 0 },
};
