/* fuzz_cell — a cell of the language as the kernel gets it (magics/): cutting it into
 * statements (cell.c), is_complete, complete and inspect at a cursor, and running it
 * when every statement keeps to memory (expressions, %let, %who, %del, %seed, models and
 * their tables, help; never shell lines, files or training), through a fresh interpreter.
 * Input: a byte placing the cursor, then the cell.
 * Invariants: is_complete answers complete, incomplete or invalid; completion's range
 * lies inside the code; a failing cell says so through error() with a name and a
 * sentence; every published bundle holds text/plain. Only cells whose numbers are small
 * run (fz_small_numbers), and allocations over 32 MiB fail here (__asan_default_options),
 * so that large shapes take the MemoryError path instead of computing for minutes. */
#include "cell.h"
#include "fuzz.h"
#include "magics.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1:max_allocation_size_mb=32";
}

/* commands that touch neither files, processes nor the network, and end quickly */
static const char *const in_memory[] = {
    "let", "lsmagic", "who", "del", "seed", "html", "markdown", "pwd", "model", "compile",
    "summary", "lr", "pop", "add", "trainable", "freeze", "weights", "logloss",
    "most_confused", "history", NULL,
};

static int runnable(const dn_cell *cell)
{
    for (size_t k = 0; k < cell->n; k++) {
        const dn_stmt *st = &cell->stmts[k];
        if (st->kind == DN_STMT_EXPR || st->kind == DN_STMT_HELP)
            continue;
        if (st->kind == DN_STMT_SHELL)
            return 0;
        /* %model NAME vgg16 weights=FILE reads a file; %%model is in memory */
        if (st->kind == DN_STMT_LINE && !strcmp(st->name, "model"))
            return 0;
        int ok = 0;
        for (int i = 0; in_memory[i] && !ok; i++)
            ok = !strcmp(st->name, in_memory[i]);
        if (!ok)
            return 0;
    }
    return 1;
}

typedef struct seen {
    int errors;
} seen;

static void check_bundle(json_t *data, const char *what)
{
    if (!json_is_object(data) || !json_is_string(json_object_get(data, "text/plain")))
        fz_fail("%s without text/plain", what);
}

static void s_stream(void *ctx, const char *name, const char *text, size_t len)
{
    (void)ctx; (void)len;
    if (!text || (strcmp(name, "stdout") && strcmp(name, "stderr")))
        fz_fail("a stream named '%s'", name);
}
static void s_display(void *ctx, json_t *data, json_t *md, const char *id)
{
    (void)ctx; (void)md; (void)id;
    check_bundle(data, "display_data");
}
static void s_result(void *ctx, json_t *data, json_t *md)
{
    (void)ctx; (void)md;
    check_bundle(data, "execute_result");
}
static void s_error(void *ctx, const char *ename, const char *evalue, json_t *tb)
{
    ((seen *)ctx)->errors++;
    if (!ename || !*ename || !evalue)
        fz_fail("an error without a name or a value");
    fz_check_message(evalue, strlen(evalue) + 1, ename);
    if (tb && !json_is_array(tb))
        fz_fail("a traceback that is not a list");
}
static void s_clear(void *ctx, int wait) { (void)ctx; (void)wait; }
static void s_payload(void *ctx, json_t *item)
{
    (void)ctx;
    if (!json_is_object(item))
        fz_fail("a payload item that is not an object");
}
static char *s_input(void *ctx, const char *prompt, int pw) { (void)ctx; (void)prompt; (void)pw; return NULL; }

static size_t code_points(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    if (chdir(fz_scratch()) != 0)       /* completion lists the working directory */
        fz_fail("cannot enter %s", fz_scratch());
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = { data, size };
    unsigned where = fz_byte(&in);
    char *code = strndup((const char *)in.p, in.n);
    if (!code)
        return 0;
    char err[1024];
    dn_interp *m = dn_magics_new(err, sizeof err);
    if (!m)
        fz_fail("dn_magics_new: %s", err);

    json_t *r = m->ops->is_complete(m, code);
    const char *status = json_string_value(json_object_get(r, "status"));
    if (!status || (strcmp(status, "complete") && strcmp(status, "incomplete") &&
                    strcmp(status, "invalid")))
        fz_fail("is_complete says '%s'", status ? status : "(nothing)");
    json_decref(r);

    long cps = (long)code_points(code);
    int cursor = (int)(cps * (long)where / 255);
    r = m->ops->complete(m, code, cursor);
    json_int_t cs = json_integer_value(json_object_get(r, "cursor_start"));
    json_int_t ce = json_integer_value(json_object_get(r, "cursor_end"));
    if (!json_is_array(json_object_get(r, "matches")) || cs < 0 || cs > ce || ce > cps)
        fz_fail("completion at %d of %ld replaces %lld..%lld", cursor, cps, (long long)cs,
                (long long)ce);
    json_decref(r);
    r = m->ops->inspect(m, code, cursor, where & 1);
    if (!json_is_object(r) || !json_is_boolean(json_object_get(r, "found")))
        fz_fail("inspect gave no 'found'");
    json_decref(r);

    int continues;
    err[0] = 0;
    dn_cell *cell = dn_cell_split(code, &continues, err, sizeof err);
    if (!cell) {
        fz_check_message(err, sizeof err, "dn_cell_split");
    } else {
        for (size_t k = 0; k < cell->n; k++)
            if (cell->stmts[k].line < 1 || cell->stmts[k].line > cell->lines ||
                (!cell->stmts[k].args && cell->stmts[k].kind != DN_STMT_HELP))
                fz_fail("statement %zu on line %d of %d", k, cell->stmts[k].line, cell->lines);
        if (runnable(cell) && fz_small_numbers(code)) {
            seen s = { 0 };
            dn_sink sink = { &s, s_stream, s_display, s_display, s_result, s_error, s_clear,
                             s_payload, s_input };
            dn_execute_request req = { code, 0, 1, 0, 1 };
            int rc = m->ops->execute(m, &req, &sink);
            if (rc != 0 && s.errors == 0)
                fz_fail("the cell failed without saying why");
        }
        dn_cell_free(cell);
    }
    m->ops->free(m);
    free(code);
    return 0;
}
