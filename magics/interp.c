/* interp.c — the interpreter behind interp.h: runs cells statement by statement. */
#include "array.h"
#include "cell.h"
#include "dn_config.h"
#include "expr.h"
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------- what commands see ---------- */

dn_workspace *dn_ctx_workspace(dn_ctx *ctx) { return ctx->m->ws; }
const dn_sink *dn_ctx_sink(dn_ctx *ctx) { return ctx->out; }
int dn_ctx_interrupted(dn_ctx *ctx) { return dn_cancel_requested(&ctx->m->cancel); }
struct dn_cancel *dn_ctx_cancel(dn_ctx *ctx) { return &ctx->m->cancel; }
const char *dn_ctx_oldpwd(dn_ctx *ctx) { return ctx->m->oldpwd; }

int dn_ctx_set_oldpwd(dn_ctx *ctx, const char *dir)
{
    char *copy = strdup(dir);
    if (!copy) return -1;
    free(ctx->m->oldpwd);
    ctx->m->oldpwd = copy;
    return 0;
}

void dn_write(dn_ctx *ctx, const char *stream, const char *text, size_t len)
{
    if (len) ctx->out->stream(ctx->out->ctx, stream, text, len);
}

static void vwrite(dn_ctx *ctx, const char *stream, const char *fmt, va_list ap)
{
    char *text = NULL;
    int n = vasprintf(&text, fmt, ap);
    if (n > 0) dn_write(ctx, stream, text, (size_t)n);
    free(text);
}

void dn_print(dn_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vwrite(ctx, "stdout", fmt, ap);
    va_end(ap);
}

void dn_eprint(dn_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vwrite(ctx, "stderr", fmt, ap);
    va_end(ap);
}

void dn_result(dn_ctx *ctx, json_t *data) { ctx->out->execute_result(ctx->out->ctx, data, NULL); }
void dn_display(dn_ctx *ctx, json_t *data) { ctx->out->display_data(ctx->out->ctx, data, NULL, NULL); }
void dn_display_md(dn_ctx *ctx, json_t *data, json_t *metadata)
{
    ctx->out->display_data(ctx->out->ctx, data, metadata, NULL);
}

void dn_page(dn_ctx *ctx, const char *text)
{
    json_t *item = json_pack("{s:s, s:{s:s}, s:i}", "source", "page", "data", "text/plain",
                             text, "start", 0);
    if (item) ctx->out->payload(ctx->out->ctx, item);
    json_decref(item);
}

static void send_error(dn_ctx *ctx, const char *ename, const char *evalue)
{
    char *where = NULL;
    if (ctx->multiline && ctx->line > 0 && asprintf(&where, "(line %d of the cell)", ctx->line) < 0)
        where = NULL;
    /* the exception's name in red, as ipykernel's tracebacks: the classic Notebook shows
     * an error as ordinary output otherwise (JupyterLab colours the whole error) */
    char *head = NULL;
    if (asprintf(&head, "\033[0;31m%s\033[0m: %s", ename, evalue) < 0) head = NULL;
    json_t *tb = json_array();
    if (tb && head) json_array_append_new(tb, json_string(head));
    if (tb && where) json_array_append_new(tb, json_string(where));
    ctx->out->error(ctx->out->ctx, ename, evalue, tb);
    json_decref(tb);
    free(where);
    free(head);
    ctx->failed = 1;
}

int dn_fail(dn_ctx *ctx, const char *ename, const char *fmt, ...)
{
    char *evalue = NULL;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&evalue, fmt, ap) < 0) evalue = NULL;
    va_end(ap);
    send_error(ctx, ename, evalue ? evalue : fmt);
    free(evalue);
    return -1;
}

int dn_fail_interrupted(dn_ctx *ctx)
{
    return dn_fail(ctx, "KeyboardInterrupt", "interrupted by the user");
}

/* ---------- a sink between the core and the commands ----------
 * It drops iopub output of silent requests and keeps the result's text for history. */

typedef struct tap {
    const dn_sink *inner;
    int silent;
    char *result_text;
} tap;

static void tap_stream(void *c, const char *name, const char *text, size_t len)
{
    tap *t = c;
    if (!t->silent) t->inner->stream(t->inner->ctx, name, text, len);
}
static void tap_display(void *c, json_t *data, json_t *md, const char *id)
{
    tap *t = c;
    if (!t->silent) t->inner->display_data(t->inner->ctx, data, md, id);
}
static void tap_update(void *c, json_t *data, json_t *md, const char *id)
{
    tap *t = c;
    if (!t->silent) t->inner->update_display_data(t->inner->ctx, data, md, id);
}
static void tap_result(void *c, json_t *data, json_t *md)
{
    tap *t = c;
    const char *plain = json_string_value(json_object_get(data, "text/plain"));
    if (plain) {
        free(t->result_text);
        t->result_text = strdup(plain);
    }
    if (!t->silent) t->inner->execute_result(t->inner->ctx, data, md);
}
static void tap_error(void *c, const char *ename, const char *evalue, json_t *tb)
{
    tap *t = c;   /* even silent: the reply must say the cell failed */
    t->inner->error(t->inner->ctx, ename, evalue, tb);
}
static void tap_clear(void *c, int wait)
{
    tap *t = c;
    if (!t->silent) t->inner->clear_output(t->inner->ctx, wait);
}
static void tap_payload(void *c, json_t *item)
{
    tap *t = c;
    t->inner->payload(t->inner->ctx, item);
}
static char *tap_input(void *c, const char *prompt, int password)
{
    tap *t = c;
    return t->inner->input ? t->inner->input(t->inner->ctx, prompt, password) : NULL;
}

/* ---------- running a cell ---------- */

typedef struct prepared {
    const dn_command *cmd;   /* NULL for shell statements */
    dn_args *args;
} prepared;

static int run_shell(dn_ctx *ctx, const char *cmd)
{
    char err[256];
    int code = 0;
    dn_shell_outcome r = dn_shell_line(&ctx->m->cancel, cmd, ctx->out, &code, err, sizeof err);
    switch (r) {
    case DN_SHELL_EXITED:
        if (!code) return 0;
        return dn_fail(ctx, "ShellError", "`%s` exited with status %d", cmd, code);
    case DN_SHELL_SIGNALED:
        return dn_fail(ctx, "ShellError", "`%s` was killed by signal %d (%s)", cmd, code,
                       strsignal(code));
    case DN_SHELL_INTERRUPTED:
        return dn_fail_interrupted(ctx);
    case DN_SHELL_FAILED:
        return dn_fail(ctx, "OSError", "%s", err);
    }
    return -1;
}

/* Resolves every statement before anything runs, so a typo on line 5 doesn't leave
 * lines 1-4 done. */
static int prepare(dn_ctx *ctx, const dn_cell *cell, prepared *prep)
{
    char msg[512];
    for (size_t k = 0; k < cell->n; k++) {
        const dn_stmt *st = &cell->stmts[k];
        ctx->line = st->line;
        if (st->kind == DN_STMT_SHELL) continue;
        if (st->kind == DN_STMT_EXPR) {
            if (dn_expr_check(st->args, st->args_column, NULL, msg, sizeof msg) < 0)
                return dn_fail(ctx, "SyntaxError", "%s", msg);
            continue;
        }
        dn_command_kind kind = st->cell_syntax ? DN_CELL : DN_LINE;
        const dn_command *cmd = dn_commands_find(st->name, kind);
        if (!cmd) {
            dn_commands_unknown(st->name, kind, msg, sizeof msg);
            return dn_fail(ctx, "UsageError", "%s", msg);
        }
        prep[k].cmd = cmd;
        if (st->kind == DN_STMT_HELP) continue;
        if (cmd->raw_args && !strcmp(cmd->name, "let")) {
            /* %let's expression is checked with the rest of the cell, before anything runs */
            char name[256];
            const char *expr;
            int col;
            if (dn_expr_let(st->args, st->args_column, name, sizeof name, &expr, &col, NULL, msg,
                            sizeof msg) < 0)
                return dn_fail(ctx, "SyntaxError", "%s", msg);
            continue;
        }
        if (cmd->raw_args) continue;
        dn_parse_status ps;
        prep[k].args = dn_args_parse(st->args, st->args_column, &ps, msg, sizeof msg);
        if (!prep[k].args)
            return dn_fail(ctx, "SyntaxError", "%s%s: %s", kind == DN_CELL ? "%%" : "%", st->name, msg);
    }
    return 0;
}

/* A line that is only an expression: a workspace object shown as its type shows it, or
 * the expression's value as an array; the cell's last statement gives its result. */
static int run_expr(dn_ctx *ctx, const dn_stmt *st, int last)
{
    dn_workspace *ws = ctx->m->ws;
    const dn_type *type = NULL;
    const void *obj = dn_workspace_valid_name(st->args) ? dn_workspace_get(ws, st->args, &type) : NULL;
    json_t *b = NULL;
    if (obj) {
        /* a bare name is shown as it is, without copying (an array may be large) */
        if (type && type->show) b = type->show(obj);
        if (!b) {
            char line[1024] = "";
            if (type && type->describe) type->describe(obj, line, sizeof line);
            char *text = NULL;
            if (asprintf(&text, "%s: %s", type && type->name ? type->name : "object", line) >= 0)
                b = json_pack("{s:s}", "text/plain", text);
            free(text);
        }
    } else {
        char err[1024];
        const char *ename = NULL;
        dn_array *a = NULL;
        if (dn_expr_eval(ws, st->args, st->args_column, &a, &ename, err, sizeof err) < 0)
            return dn_fail(ctx, ename, "%s", err);
        b = dn_array_bundle(a);
        dn_array_free(a);
    }
    if (!b) return dn_fail(ctx, "MemoryError", "out of memory (or text that is not UTF-8)");
    if (last) dn_result(ctx, b);
    else dn_display(ctx, b);
    json_decref(b);
    return 0;
}

static int run_cell(dn_ctx *ctx, const char *code)
{
    char err[512];
    dn_cell *cell = dn_cell_split(code, NULL, err, sizeof err);
    if (!cell) return dn_fail(ctx, "SyntaxError", "%s", err);
    ctx->multiline = cell->n > 1;
    prepared *prep = calloc(cell->n ? cell->n : 1, sizeof *prep);
    int rc = prep ? prepare(ctx, cell, prep) : dn_fail(ctx, "MemoryError", "out of memory");
    for (size_t k = 0; rc == 0 && k < cell->n; k++) {
        const dn_stmt *st = &cell->stmts[k];
        ctx->line = st->line;
        if (dn_cancel_requested(&ctx->m->cancel)) { rc = dn_fail_interrupted(ctx); break; }
        if (st->kind == DN_STMT_SHELL) {
            rc = run_shell(ctx, st->args);
        } else if (st->kind == DN_STMT_EXPR) {
            rc = run_expr(ctx, st, k + 1 == cell->n);
        } else if (st->kind == DN_STMT_HELP) {
            char *help = dn_command_help(prep[k].cmd, st->detail);
            if (help) dn_page(ctx, help);
            else rc = dn_fail(ctx, "MemoryError", "out of memory");
            free(help);
        } else {
            dn_call call = { st->name, st->args, prep[k].args, st->body, st->line };
            rc = prep[k].cmd->run(ctx, &call);
            /* a handler that returned failure without saying why still fails the cell */
            if (rc && !ctx->failed) dn_fail(ctx, "UsageError", "%%%s failed", st->name);
            if (!rc && ctx->failed) rc = -1;
        }
    }
    for (size_t k = 0; prep && k < cell->n; k++) dn_args_free(prep[k].args);
    free(prep);
    dn_cell_free(cell);
    return rc ? -1 : 0;
}

static int m_execute(dn_interp *self, const dn_execute_request *req, const dn_sink *out)
{
    dn_magics *m = (dn_magics *)self;
    dn_cancel_reset(&m->cancel);
    dn_cancel_reap(&m->cancel);
    tap t = { out, req->silent, NULL };
    dn_sink wrapped = { &t, tap_stream, tap_display, tap_update, tap_result, tap_error,
                        tap_clear, tap_payload, tap_input };
    int record = req->store_history && !req->silent;
    /* the input is recorded before it runs, so a failed or interrupted cell is in it too */
    if (record) dn_history_add(m->history, req->execution_count, req->code, NULL);
    dn_ctx ctx = { .m = m, .out = &wrapped };
    int rc = run_cell(&ctx, req->code ? req->code : "");
    if (record && t.result_text) dn_history_set_output(m->history, req->execution_count, t.result_text);
    free(t.result_text);
    return rc;
}

int dn_magics_set_language_doc(dn_interp *it, const char *path)
{
    dn_magics *m = (dn_magics *)it;
    char *copy = path ? strdup(path) : NULL;
    if (path && !copy) return -1;
    free(m->language_doc);
    m->language_doc = copy;
    return 0;
}

/* help_links' page: the one set (the kernelspec's copy), else the source's (a kernel run
 * from the build tree), else the one `meson install` put in DN_DATADIR; NULL when none
 * exists, and then no link */
static const char *language_doc(const dn_magics *m)
{
    static const char *const known[] = { DN_SOURCE_DOC, DN_DATADIR "/doc/LANGUAGE.md" };
    if (m->language_doc && access(m->language_doc, R_OK) == 0) return m->language_doc;
    for (size_t k = 0; k < sizeof known / sizeof *known; k++)
        if (access(known[k], R_OK) == 0) return known[k];
    return NULL;
}

static json_t *m_kernel_info(dn_interp *self)
{
    const char *doc = language_doc((dn_magics *)self);
    char banner[512];
    snprintf(banner, sizeof banner,
             "deepnb %s — deep learning, cell by cell%s.\n"
             "%%lsmagic lists the commands, %%name? shows one's help, !cmd runs a shell line.",
             DN_VERSION, DN_HAVE_CUDA ? " (built with CUDA)" : "");
    /* file:// and the path, percent-encoded where a URL needs it */
    char *url = doc ? malloc(7 + 3 * strlen(doc) + 1) : NULL;
    if (url) {
        char *o = url + sprintf(url, "file://");
        for (const unsigned char *p = (const unsigned char *)doc; *p; p++)
            o += strchr("/-._~", *p) || (*p >= '0' && *p <= '9') || ((*p | 32) >= 'a' && (*p | 32) <= 'z')
                 ? sprintf(o, "%c", *p) : sprintf(o, "%%%02X", *p);
    }
    json_t *links = json_array();
    if (url) json_array_append_new(links, json_pack("{s:s, s:s}", "text", "deepnb cell language", "url", url));
    free(url);
    return json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s, s:s}, s:s, s:o}",
        "implementation", "deepnb", "implementation_version", DN_VERSION,
        "language_info",
            "name", "deepnb", "version", DN_VERSION, "mimetype", "text/x-deepnb",
            "file_extension", ".dnb",
            /* closest existing modes: %commands and !lines read like shell */
            "codemirror_mode", "shell", "pygments_lexer", "bash",
        "banner", banner,
        "help_links", links);
}

static json_t *m_history(dn_interp *self, json_t *request)
{
    dn_magics *m = (dn_magics *)self;
    json_t *r = dn_history_query(m->history, request);
    return r ? r : json_pack("{s:[]}", "history");
}

static void m_interrupt(dn_interp *self)
{
    dn_cancel_request(&((dn_magics *)self)->cancel);
}

static void m_shutdown(dn_interp *self, int restart)
{
    (void)restart;
    dn_magics *m = (dn_magics *)self;
    /* a cell reaps the children it started; only background jobs (cmd &) may be left */
    dn_cancel_hangup(&m->cancel);
    /* the workspace may hold large models and arrays: release them now */
    while (dn_workspace_count(m->ws))
        dn_workspace_remove(m->ws, dn_workspace_name_at(m->ws, 0, NULL, NULL));
}

static void m_free(dn_interp *self)
{
    dn_magics *m = (dn_magics *)self;
    if (!m) return;
    dn_workspace_free(m->ws);
    dn_history_free(m->history);
    dn_cancel_fini(&m->cancel);
    free(m->oldpwd);
    free(m->language_doc);
    free(m);
}

static const dn_interp_ops magics_ops = {
    .kernel_info = m_kernel_info,
    .execute = m_execute,
    .complete = dn_magics_complete,
    .inspect = dn_magics_inspect,
    .is_complete = dn_magics_is_complete,
    .history = m_history,
    .interrupt = m_interrupt,
    .shutdown = m_shutdown,
    .free = m_free,
};

dn_interp *dn_magics_new(char *err, size_t errlen)
{
    if (dn_commands_validate(err, errlen) < 0) return NULL;
    dn_magics *m = calloc(1, sizeof *m);
    if (!m) { snprintf(err, errlen, "out of memory"); return NULL; }
    m->base.ops = &magics_ops;
    if (dn_cancel_init(&m->cancel, err, errlen) < 0) { free(m); return NULL; }
    m->ws = dn_workspace_new();
    m->history = dn_history_new(1);
    if (!m->ws || !m->history) {
        snprintf(err, errlen, "out of memory");
        m_free(&m->base);
        return NULL;
    }
    return &m->base;
}
