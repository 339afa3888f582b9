/* fuzz_expr — the array expressions of %let and expression lines (magics/expr.c),
 * evaluated over a workspace holding arrays of each type and predictions.
 * Invariants: the syntax check and the evaluation agree (a SyntaxError from one is a
 * SyntaxError from the other); an error names a Python exception and has a sentence; a
 * result has a consistent shape and prints (repr, the display bundle); nesting and
 * length cannot exhaust the stack. Only text whose numbers are small is evaluated
 * (fz_small_numbers), and allocations over 32 MiB fail here (__asan_default_options),
 * so that large shapes take the MemoryError path instead of computing for minutes. */
#include "array.h"
#include "expr.h"
#include "fuzz.h"
#include "workspace.h"

#include <stdlib.h>
#include <string.h>

const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1:max_allocation_size_mb=32";
}

static dn_workspace *ws;

static void put(const char *name, dn_dtype t, int nd, long d0, long d1, int preds)
{
    char err[256];
    long shape[2] = { d0, d1 };
    dn_array *a = dn_array_new(t, nd, shape, err, sizeof err);
    if (!a)
        fz_fail("%s", err);
    for (long i = 0; i < a->size; i++) {
        if (t == DN_DT_STR) {
            free(a->strs[i]);
            a->strs[i] = strdup(i % 2 ? "cat" : "dög");
        } else {
            a->data[i] = t == DN_DT_BOOL ? (float)(i % 2) : t == DN_DT_INT ? (float)(i % 3)
                                                                        : 0.25f * (float)i - 1;
        }
    }
    if (dn_array_set(ws, name, a, preds, err, sizeof err) != 0)
        fz_fail("%s", err);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    ws = dn_workspace_new();
    if (!ws)
        fz_fail("no workspace");
    dn_workspace_set_seed(ws, 42);
    put("x", DN_DT_FLOAT, 2, 3, 2, 0);
    put("y", DN_DT_INT, 1, 3, 1, 0);
    put("b", DN_DT_BOOL, 1, 4, 1, 0);
    put("s", DN_DT_STR, 1, 2, 1, 0);
    put("t", DN_DT_FLOAT, 0, 1, 1, 0);
    put("preds", DN_DT_FLOAT, 2, 4, 2, 1);
    return 0;
}

static const char *const enames[] = { "SyntaxError", "NameError", "ValueError", "TypeError",
                                       "IndexError", "MemoryError", "ZeroDivisionError",
                                       "AttributeError", "AxisError", NULL };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = strndup((const char *)data, size);
    if (!text)
        return 0;
    char err[1024], cerr[1024];
    dn_parse_status st;
    cerr[0] = 0;
    int checked = dn_expr_check(text, 1, &st, cerr, sizeof cerr);
    if (checked != 0)
        fz_check_message(cerr, sizeof cerr, "dn_expr_check");
    if (!fz_small_numbers(text)) {
        free(text);
        return 0;
    }
    dn_array *out = NULL;
    const char *ename = NULL;
    err[0] = 0;
    int rc = dn_expr_eval(ws, text, 1, &out, &ename, err, sizeof err);
    if (rc != 0) {
        fz_check_message(err, sizeof err, "dn_expr_eval");
        int known = 0;
        for (int i = 0; ename && enames[i]; i++)
            known |= !strcmp(ename, enames[i]);
        if (!known)
            fz_fail("dn_expr_eval failed with exception '%s': %s", ename ? ename : "(none)", err);
        if (checked == 0 && !strcmp(ename, "SyntaxError"))
            fz_fail("the syntax check passes \"%s\", the evaluation says: %s", text, err);
        if (out)
            fz_fail("dn_expr_eval failed but gave an array");
    } else {
        if (checked != 0)
            fz_fail("the syntax check refuses \"%s\" (%s), the evaluation gives a result", text, cerr);
        if (!out || out->ndim < 0 || out->ndim > DN_ARRAY_MAXDIM)
            fz_fail("a result without a shape");
        long size = 1;
        for (int d = 0; d < out->ndim; d++)
            size *= out->shape[d];
        if (size != out->size || (out->dtype == DN_DT_STR ? !out->strs && size : !out->data && size))
            fz_fail("a result of %ld elements says %ld", size, out->size);
        char *repr = dn_array_repr(out);
        json_t *b = dn_array_bundle(out);
        /* strings that are not UTF-8 (from a .npy of bytes, say) cannot go into JSON: the
         * expression line then says so (interp.c), anything else must print */
        if (!repr || (!json_is_string(json_object_get(b, "text/plain")) && out->dtype != DN_DT_STR))
            fz_fail("a result that does not print");
        free(repr);
        json_decref(b);
        dn_array_free(out);
    }
    free(text);
    return 0;
}
