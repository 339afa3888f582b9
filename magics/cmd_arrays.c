/* cmd_arrays.c — the array commands: %let NAME = EXPR (expr.h), %save and %load of .npy
 * files (array.h). */
#include "command.h"
#include "cmdutil.h"
#include "array.h"
#include "expr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Positional argument i as a workspace name. */
static int name_arg(dn_ctx *ctx, const dn_call *call, size_t i, const char *usage, const char **out)
{
    const dn_value *v = dn_args_pos(call->args, i);
    if (v->kind != DN_VAL_NAME || !dn_workspace_valid_name(v->text)) {
        char shown[128];
        dn_value_format(v, shown, sizeof shown);
        return dn_fail(ctx, "UsageError", "%s: NAME is a workspace name (letters, digits, _), not %s",
                       usage, shown);
    }
    *out = v->text;
    return 0;
}

/* ---------------------------------------------------------------- %let */

static int run_let(dn_ctx *ctx, const dn_call *call)
{
    char name[256], err[1024];
    const char *expr;
    int col;
    /* the handler does not see where its arguments start: the cell was checked (with
     * columns) before it ran, so only evaluation errors, which name no column, remain */
    if (dn_expr_let(call->raw, 6, name, sizeof name, &expr, &col, NULL, err, sizeof err) < 0)
        return dn_fail(ctx, "SyntaxError", "%s", err);
    dn_workspace *ws = dn_ctx_workspace(ctx);
    dn_array *a = NULL;
    const char *ename = NULL;
    if (dn_expr_eval(ws, expr, col, &a, &ename, err, sizeof err) < 0)
        return dn_fail(ctx, ename, "%s", err);
    /* a bare name of predictions copies them whole: the copy stays predictions */
    int preds = a->filenames || a->labels || a->class_names || a->dir;
    /* the old value under name goes only now that the new one exists */
    if (dn_array_set(ws, name, a, preds, err, sizeof err) < 0) {
        dn_array_free(a);
        return dn_fail(ctx, "MemoryError", "%s", err);
    }
    return 0;
}

/* ---------------------------------------------------------------- %save */

static int run_save(dn_ctx *ctx, const dn_call *call)
{
    static const char *const keys[] = { "overwrite", NULL };
    char err[1024];
    if (dn_args_check(call->args, "%save", 2, 2, keys, err, sizeof err) < 0)
        return dn_fail(ctx, "UsageError", "%s", err);
    const char *name;
    if (name_arg(ctx, call, 0, "%save NAME FILE.npy", &name) < 0) return -1;
    int overwrite = 0;
    const dn_value *ov = dn_args_key(call->args, "overwrite");
    if (ov) {
        if (ov->kind != DN_VAL_BOOL)
            return dn_fail(ctx, "UsageError", "%%save: overwrite is True or False");
        overwrite = ov->boolean;
    }
    dn_workspace *ws = dn_ctx_workspace(ctx);
    const dn_array *a = dn_array_get(ws, name, err, sizeof err);
    if (!a) {
        /* the expression evaluator says why, with a suggestion for a mistyped name */
        dn_array *tmp = NULL;
        const char *ename = "NameError";
        char why[1024];
        if (dn_expr_eval(ws, name, 1, &tmp, &ename, why, sizeof why) < 0)
            return dn_fail(ctx, ename, "%s", why);
        dn_array_free(tmp);
        return dn_fail(ctx, "TypeError", "%s", err);
    }
    const dn_value *fv = dn_args_pos(call->args, 1);
    char *file = dn_arg_path(fv);
    if (!file) return dn_fail(ctx, "UsageError", "%%save NAME FILE.npy: FILE is a file name, not %s",
                              dn_value_kind_name(fv->kind));
    /* as numpy.save: a name without the extension gets .npy */
    size_t fl = strlen(file);
    if (fl < 4 || strcmp(file + fl - 4, ".npy")) {
        char *withext = NULL;
        if (asprintf(&withext, "%s.npy", file) < 0) withext = NULL;
        free(file);
        if (!(file = withext)) return dn_fail(ctx, "MemoryError", "out of memory");
    }
    int rc = 0;
    struct stat st;
    char *slash = strrchr(file, '/');
    if (slash && slash != file) {
        *slash = 0;
        int bad = stat(file, &st) != 0 || !S_ISDIR(st.st_mode);
        if (bad) rc = dn_fail(ctx, "FileNotFoundError", "no such folder: '%s' (to save %s in)", file, name);
        *slash = '/';
    }
    if (rc == 0 && stat(file, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            rc = dn_fail(ctx, "IsADirectoryError", "'%s' is a folder", file);
        else if (!overwrite)
            rc = dn_fail(ctx, "FileExistsError", "'%s' exists; %%save %s %s overwrite=True replaces it",
                         file, name, file);
    }
    if (rc == 0 && a->dtype == DN_DT_STR && a->ndim != 1) {
        char sh[64];
        dn_array_shape_str(a, sh, sizeof sh);
        rc = dn_fail(ctx, "ValueError", "%s has shape %s: only 1-D arrays of strings can be saved "
                     "to .npy", name, sh);
    }
    /* the write is atomic (a temporary file renamed): an old file stays whole on failure */
    if (rc == 0 && dn_array_save_npy(a, file, err, sizeof err) < 0)
        rc = dn_fail(ctx, "OSError", "%s", err);
    free(file);
    return rc;
}

/* ---------------------------------------------------------------- %load */

static int run_load(dn_ctx *ctx, const dn_call *call)
{
    char err[1024];
    if (dn_args_check(call->args, "%load", 2, 2, NULL, err, sizeof err) < 0)
        return dn_fail(ctx, "UsageError", "%s", err);
    const char *name;
    if (name_arg(ctx, call, 0, "%load NAME FILE.npy", &name) < 0) return -1;
    const dn_value *fv = dn_args_pos(call->args, 1);
    char *file = dn_arg_path(fv);
    if (!file) return dn_fail(ctx, "UsageError", "%%load NAME FILE.npy: FILE is a file name, not %s",
                              dn_value_kind_name(fv->kind));
    struct stat st;
    int rc = 0;
    if (stat(file, &st) != 0)
        rc = errno == EACCES ? dn_fail(ctx, "PermissionError", "no permission to read '%s'", file)
                             : dn_fail(ctx, "FileNotFoundError", "No such file or directory: '%s'", file);
    else if (S_ISDIR(st.st_mode))
        rc = dn_fail(ctx, "IsADirectoryError", "'%s' is a folder, not a .npy file", file);
    dn_array *a = NULL;
    if (rc == 0 && !(a = dn_array_load_npy(file, err, sizeof err)))
        rc = dn_fail(ctx, "ValueError", "%s", err);
    free(file);
    if (rc) return rc;
    /* NAME's old value goes only once the file was read whole */
    if (dn_array_set(dn_ctx_workspace(ctx), name, a, 0, err, sizeof err) < 0) {
        dn_array_free(a);
        return dn_fail(ctx, "MemoryError", "%s", err);
    }
    return 0;
}

/* ---------------------------------------------------------------- the table */

static const char *const save_keys[] = { "overwrite=", NULL };

const dn_command dn_commands_arrays[] = {
    { .name = "let", .kind = DN_LINE, .raw_args = 1, .run = run_let, .source = __FILE__,
      .synopsis = "%let NAME = EXPR",
      .complete = DN_COMPLETE_NAMES, .args = "n",
      .help =
        "Compute an array and keep it under NAME (prints nothing, like Python's =).\n"
        "%let NAME = EXPR\n\n"
        "EXPR is an array expression with NumPy's meaning: numbers, True/False, 'strings',\n"
        "lists [1, 2], workspace arrays and predictions by name, + - * / ** @ (matrix\n"
        "product), == != < <= > >= (bool arrays), indexing x[0], x[:5], x[:, 1], x[::-1],\n"
        "x[x > 0.5], x[[2, 0]], attributes x.T x.shape x.ndim x.size x.dtype, and of batches\n"
        "and predictions .classes .labels .filenames .class_names. Shapes broadcast as in\n"
        "NumPy; bool < int < float, and / always gives floats. Arrays are float32 (int and\n"
        "bool print and save as int64 and bool).\n\n"
        "Functions: random(d0, d1, ...) uniform in [0, 1) from %seed; zeros(shape),\n"
        "ones(shape), arange([start,] stop[, step]), one_hot(classes, [n]), clip(x, lo, hi),\n"
        "maximum(x, y), minimum(x, y), argmax(x, axis=-1), argmin(x, axis=-1), sum / mean /\n"
        "max / min (x, axis=None), log, exp, sqrt, abs, round(x, decimals=0),\n"
        "reshape(x, shape), transpose(x), len(x). Methods: x.sum(axis=0), x.argmax(), ...\n"
        "argmax's axis is -1 unless given (NumPy flattens; axis=None does that here).\n\n"
        "NAME's old value is replaced only once the new one was computed: a failing %let\n"
        "changes nothing. A line that is only an expression shows its value.\n\n"
        "Examples:\n"
        "  %seed 42\n"
        "  %let x = random(30, 2)\n"
        "  %let y = x @ [2., 3.] + 1.\n"
        "  %let err = mean((y - x[:, 0]) ** 2)\n"
        "  %let cls = argmax(preds)\n"
        "  %let labels = batches.labels" },
    { .name = "save", .kind = DN_LINE, .run = run_save, .source = __FILE__,
      .synopsis = "%save NAME FILE.npy [overwrite=False]",
      .complete = DN_COMPLETE_NAMES | DN_COMPLETE_PATHS | DN_COMPLETE_KEYWORDS, .args = "np-",
      .keywords = save_keys,
      .help =
        "Save an array (or predictions) to a NumPy .npy file, as numpy.save.\n"
        "%save NAME FILE.npy [overwrite=False]\n\n"
        "Floats are saved as float32, whole numbers as int64, bools as bool, strings (1-D)\n"
        "as a unicode array; numpy.load reads them. A FILE without .npy gets it, as\n"
        "numpy.save does. An existing file is refused (FileExistsError) unless\n"
        "overwrite=True. The write is atomic: a temporary file beside FILE is renamed over\n"
        "it, so a failed save leaves any old file whole.\n\n"
        "Examples:\n"
        "  %save preds results/preds.npy\n"
        "  %save x x.npy overwrite=True" },
    { .name = "load", .kind = DN_LINE, .run = run_load, .source = __FILE__,
      .synopsis = "%load NAME FILE.npy",
      .complete = DN_COMPLETE_NAMES | DN_COMPLETE_PATHS, .args = "np-",
      .help =
        "Load a NumPy .npy file (numpy.save's) into the workspace as NAME.\n"
        "%load NAME FILE.npy\n\n"
        "Any numeric array of up to 4 axes (floats become float32; integers and bools\n"
        "keep their kind) or a 1-D array of strings. A missing file is a FileNotFoundError,\n"
        "a file that is not .npy a ValueError; either way NAME keeps its old value.\n\n"
        "Example:\n"
        "  %load y results/y.npy" },
    { 0 },
};
