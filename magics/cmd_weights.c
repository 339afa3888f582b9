/* cmd_weights.c — a model's weights: %save_weights and %load_weights (Keras' HDF5
 * layouts, runtime/io), %weights and %activations (the spreadsheet view: the numbers
 * inside a model as tables), and %device (where the runtime computes). */
#include "array.h"
#include "cmdutil.h"
#include "model_cmds.h"
#include "text.h"
#include "core/cpu.h"
#include "cuda/gpu.h"
#include "io/model_weights.h"
#include "io/weights.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------- weight files */

int dn_need_weight_file(dn_ctx *ctx, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return errno == EACCES ? dn_fail(ctx, "PermissionError", "no permission to read '%s'", path)
                               : dn_fail(ctx, "FileNotFoundError", "no weight file '%s'", path);
    if (S_ISDIR(st.st_mode))
        return dn_fail(ctx, "IsADirectoryError", "'%s' is a folder, not a weight file", path);
    if (access(path, R_OK) != 0)
        return dn_fail(ctx, "PermissionError", "no permission to read '%s'", path);
    char err[1024];
    if (dn_weights_check_isolated(path, err, sizeof err) != 0)
        return dn_fail(ctx, "ValueError", "%s", err);
    return 0;
}

static const char *layout_name(const char *path)
{
    size_t n = strlen(path);
    return n >= 11 && !strcmp(path + n - 11, ".weights.h5") ? "Keras 3 .weights.h5" : "Keras 2 HDF5";
}

static int run_save_weights(dn_ctx *ctx, const dn_call *call)
{
    char err[1024];
    if (dn_args_check(call->args, "%save_weights", 2, 2, NULL, err, sizeof err) < 0)
        return dn_fail(ctx, "UsageError", "%s", err);
    const char *name;
    dn_ws_model *wm = dn_need_model(ctx, call, 0, &name);
    if (!wm) return -1;
    char *path = dn_arg_path(dn_args_pos(call->args, 1));
    if (!path) return dn_fail(ctx, "UsageError", "%%save_weights NAME FILE: FILE is a file name");
    struct stat st;
    int rc = dn_need_parent_folder(ctx, path);
    if (rc == 0 && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        rc = dn_fail(ctx, "IsADirectoryError", "'%s' is a folder; give a file name such as %s/%s.h5",
                     path, path, name);
    if (rc == 0 && !dn_model_nlayers(wm->m))
        rc = dn_fail(ctx, "ValueError", "%s has no layers, so no weights to save", name);
    if (rc == 0 && dn_model_save_weights(wm->m, path, err, sizeof err))
        rc = dn_fail(ctx, "OSError", "%s", err);
    if (rc == 0) {
        char size[32] = "";
        if (stat(path, &st) == 0) dn_grouped((long)st.st_size, size, sizeof size);
        dn_print(ctx, "Saved the weights of %s to %s (%s, %s bytes).\n", name, path,
                 layout_name(path), size);
    }
    free(path);
    return rc;
}

static int run_load_weights(dn_ctx *ctx, const dn_call *call)
{
    static const char *const keys[] = { "by_name", NULL };
    char err[1024];
    if (dn_args_check(call->args, "%load_weights", 2, 2, keys, err, sizeof err) < 0)
        return dn_fail(ctx, "UsageError", "%s", err);
    const char *name;
    dn_ws_model *wm = dn_need_model(ctx, call, 0, &name);
    if (!wm) return -1;
    int by_name = 0;
    if (dn_opt_bool(ctx, call, "by_name", &by_name, NULL) < 0) return -1;
    char *path = dn_arg_path(dn_args_pos(call->args, 1));
    if (!path) return dn_fail(ctx, "UsageError", "%%load_weights NAME FILE: FILE is a file name");
    int rc = dn_need_weight_file(ctx, path);
    if (rc == 0 && !dn_model_nlayers(wm->m))
        rc = dn_fail(ctx, "ValueError", "%s has no layers to load weights into", name);
    if (rc == 0 && dn_model_load_weights_isolated(wm->m, path, by_name, err, sizeof err))
        rc = dn_fail(ctx, "ValueError", "%s", err);
    if (rc == 0) dn_print(ctx, "Loaded the weights of %s from %s.\n", name, path);
    free(path);
    return rc;
}

/* ---------------------------------------------------------------- looking inside */

/* n rows of row floats as an array (rows x row; a single row stays 1-D when flat1). */
static dn_array *as_array(const float *data, long rows, long row, int flat1, char *err, size_t errlen)
{
    long shape[2] = { rows, row };
    dn_array *a = flat1 ? dn_array_new(DN_DT_FLOAT, 1, shape + 1, err, errlen)
                        : dn_array_new(DN_DT_FLOAT, 2, shape, err, errlen);
    if (a) memcpy(a->data, data, (size_t)(rows * row) * sizeof(float));
    return a;
}

/* adds one table (heading, then the array's HTML and text) to plain/html */
static int add_table(dn_text *plain, dn_text *html, const char *heading, const char *note,
                     const dn_array *a)
{
    json_t *b = dn_array_bundle(a);
    if (!b) return -1;
    const char *tp = json_string_value(json_object_get(b, "text/plain"));
    const char *th = json_string_value(json_object_get(b, "text/html"));
    dn_text_addf(plain, "%s%s%s\n%s\n\n", heading, note ? "  " : "", note ? note : "", tp ? tp : "");
    dn_text_adds(html, "<div class=\"deepnb-weights\"><p><b>");
    dn_text_add_html(html, heading);
    dn_text_adds(html, "</b>");
    if (note) {
        dn_text_adds(html, " <small>");
        dn_text_add_html(html, note);
        dn_text_adds(html, "</small>");
    }
    dn_text_adds(html, "</p>\n");
    if (th) dn_text_adds(html, th);
    else {
        dn_text_adds(html, "<pre>");
        dn_text_add_html(html, tp ? tp : "");
        dn_text_adds(html, "</pre>");
    }
    dn_text_adds(html, "</div>\n");
    json_decref(b);
    return 0;
}

static void shape_text(int ndim, const int *shape, char *buf, size_t len)
{
    int k = snprintf(buf, len, "(");
    for (int i = 0; i < ndim && k >= 0 && (size_t)k < len; i++)
        k += snprintf(buf + k, len - (size_t)k, i ? ", %d" : "%d", shape[i]);
    if (k >= 0 && (size_t)k < len) snprintf(buf + k, len - (size_t)k, ndim == 1 ? ",)" : ")");
}

static int show_layer_weights(dn_ctx *ctx, dn_layer *l)
{
    dn_text plain = { 0 }, html = { 0 };
    char err[256];
    for (int j = 0; j < dn_layer_nparams(l); j++) {
        const dn_param *p = dn_layer_param(l, j);
        char heading[256], shp[64], note[160] = "";
        shape_text(p->ndim, p->shape, shp, sizeof shp);
        snprintf(heading, sizeof heading, "%s/%s %s", dn_layer_name(l), p->name, shp);
        long cols = p->shape[p->ndim - 1], rows = p->size / cols;
        /* a convolution's kernel (rows, cols, in, out) reads as Dense's: one row per input */
        if (p->ndim > 2)
            snprintf(note, sizeof note, "shown as (%ld, %ld): a row per kernel position and input "
                     "channel, a column per output", rows, cols);
        dn_array *a = as_array(p->data, rows, cols, p->ndim == 1, err, sizeof err);
        if (!a || add_table(&plain, &html, heading, note[0] ? note : NULL, a)) {
            dn_array_free(a);
            free(plain.s);
            free(html.s);
            return dn_fail(ctx, "MemoryError", "out of memory");
        }
        dn_array_free(a);
    }
    json_t *b = dn_text_bundle(&plain, &html);
    if (!b) return dn_fail(ctx, "MemoryError", "out of memory");
    dn_display(ctx, b);
    json_decref(b);
    return 0;
}

static int run_weights(dn_ctx *ctx, const dn_call *call)
{
    char err[256];
    if (dn_args_check(call->args, "%weights", 1, 2, NULL, err, sizeof err) < 0)
        return dn_fail(ctx, "UsageError", "%s", err);
    const char *name;
    dn_ws_model *wm = dn_need_model(ctx, call, 0, &name);
    if (!wm) return -1;
    int n = dn_model_nlayers(wm->m), lo = 0, hi = n;
    const dn_value *lv = dn_args_pos(call->args, 1);
    if (lv) {
        if (dn_layer_ref(ctx, call, wm, name, lv, &lo) < 0) return -1;
        hi = lo + 1;
        if (!dn_layer_nparams(dn_model_layer(wm->m, lo)))
            return dn_fail(ctx, "ValueError", "%s (%s) has no weights", dn_layer_name(dn_model_layer(wm->m, lo)),
                           dn_layer_class(dn_model_layer(wm->m, lo)));
    }
    int shown = 0;
    for (int i = lo; i < hi; i++) {
        dn_layer *l = dn_model_layer(wm->m, i);
        if (!dn_layer_nparams(l)) continue;
        if (show_layer_weights(ctx, l)) return -1;
        shown++;
    }
    if (!shown) dn_print(ctx, "%s has no weights.\n", name);
    return 0;
}

/* %activations NAME X [n=3]: each layer's outputs for the first n examples of X */
static int run_activations(dn_ctx *ctx, const dn_call *call)
{
    static const char *const keys[] = { "n", NULL };
    char err[1024];
    if (dn_args_check(call->args, "%activations", 2, 2, keys, err, sizeof err) < 0)
        return dn_fail(ctx, "UsageError", "%s", err);
    const char *name, *xname;
    dn_ws_model *wm = dn_need_model(ctx, call, 0, &name);
    if (!wm || dn_arg_name(ctx, call, 1, "X (an array)", &xname) < 0) return -1;
    const dn_array *x = dn_array_get(dn_ctx_workspace(ctx), xname, err, sizeof err);
    if (!x) return dn_fail_lookup(ctx, call, xname, err);
    long n = 3;
    if (dn_opt_whole(ctx, call, "n", NULL, 1, 100, &n, NULL) < 0) return -1;
    if (!dn_model_nlayers(wm->m)) return dn_fail(ctx, "ValueError", "%s has no layers", name);
    int ishape[3], ind = dn_model_input_shape(wm->m, ishape);
    long isize = dn_model_input_size(wm->m);
    int fits = x->dtype != DN_DT_STR && x->ndim == ind + 1;
    for (int a = 0; fits && a < ind; a++) fits = x->shape[a + 1] == ishape[a];
    if (!fits) {
        char want[64], got[64];
        dn_shape_str(want, sizeof want, ind, ishape);
        dn_array_shape_str(x, got, sizeof got);
        return dn_fail(ctx, "ValueError", "%s takes inputs of shape %s, but %s has shape %s",
                       name, want, xname, got);
    }
    if (n > x->shape[0]) n = x->shape[0];
    if (n < 1) return dn_fail(ctx, "ValueError", "%s has no examples", xname);
    if (!dn_model_forward(wm->m, x->data, (int)n, 0, err, sizeof err))
        return dn_fail(ctx, "RuntimeError", "%s", err);
    dn_text plain = { 0 }, html = { 0 };
    char heading[256], shp[64];
    int rc = 0;
    snprintf(heading, sizeof heading, "input: the first %ld of %s", n, xname);
    dn_array *a = as_array(x->data, n, isize, 0, err, sizeof err);
    rc = !a || add_table(&plain, &html, heading, NULL, a);
    dn_array_free(a);
    for (int i = 0; rc == 0 && i < dn_model_nlayers(wm->m); i++) {
        const dn_layer *l = dn_model_layer(wm->m, i);
        int shape[3], nd = dn_layer_output_shape(l, shape);
        dn_shape_str(shp, sizeof shp, nd, shape);
        snprintf(heading, sizeof heading, "%s (%s) output %s", dn_layer_name(l), dn_layer_class(l), shp);
        long per = (long)dn_shape_size(nd, shape);
        a = as_array(dn_layer_output(l), n, per, 0, err, sizeof err);
        rc = !a || add_table(&plain, &html, heading, nd > 1 ? "one row per example, flattened" : NULL, a);
        dn_array_free(a);
    }
    json_t *b = rc ? NULL : dn_text_bundle(&plain, &html);
    if (rc) {
        free(plain.s);
        free(html.s);
    }
    if (!b) return dn_fail(ctx, "MemoryError", "out of memory");
    dn_display(ctx, b);
    json_decref(b);
    return 0;
}

/* ---------------------------------------------------------------- %device */

/* Where this kernel's models compute: by default the GPU when one is present (found at
 * the first model, never at start-up: a CPU user pays nothing), else the CPU;
 * %device cpu|gpu [fast] chooses, DEEPNB_DEVICE=cpu|gpu in the environment too. */
enum { WANT_AUTO = 0, WANT_CPU, WANT_GPU };
static int want = -1;               /* -1: not read from the environment yet */
static char auto_why[640];          /* why auto chose the CPU (or fell back to it) */

static int wanted(void)
{
    if (want < 0) {
        const char *e = getenv("DEEPNB_DEVICE");
        want = e && !strcasecmp(e, "cpu") ? WANT_CPU : e && !strcasecmp(e, "gpu") ? WANT_GPU
                                                                               : WANT_AUTO;
    }
    return want;
}

int dn_device_adopt(dn_ctx *ctx, dn_model *m)
{
    char err[512];
    int w = wanted();
    if (w == WANT_CPU)
        return 0;
    if (w == WANT_AUTO) {
        dn_gpu_info gpu;
        if (dn_gpu_probe(&gpu, auto_why, sizeof auto_why) <= 0)
            return 0;
        /* a GPU that cannot take the model leaves it on the CPU, and %device says why */
        if (dn_model_set_device(m, DN_DEVICE_GPU, err, sizeof err))
            snprintf(auto_why, sizeof auto_why, "the last model stayed on the CPU: %s", err);
        else
            auto_why[0] = 0;
        return 0;
    }
    if (dn_model_set_device(m, DN_DEVICE_GPU, err, sizeof err))
        return dn_fail(ctx, "RuntimeError", "%s (%%device cpu computes on the CPU)", err);
    return 0;
}

/* Moves every model of the workspace to d; all or nothing: on a failure those moved go
 * back and the cell fails with the reason. */
static int move_models(dn_ctx *ctx, dn_device d, dn_text *moved)
{
    dn_workspace *ws = dn_ctx_workspace(ctx);
    size_t n = dn_workspace_count(ws);
    char err[512];
    /* which models this call moved: only those go back (one already on d stays there) */
    unsigned char *went = calloc(n ? n : 1, 1);
    if (!went) return dn_fail(ctx, "MemoryError", "out of memory");
    for (size_t i = 0; i < n; i++) {
        const dn_type *type;
        const void *obj;
        const char *name = dn_workspace_name_at(ws, i, &type, &obj);
        if (type != &dn_model_type) continue;
        dn_model *m = ((const dn_ws_model *)obj)->m;
        if (dn_model_device(m) == d) continue;
        if (dn_model_set_device(m, d, err, sizeof err)) {
            for (size_t k = 0; k < i; k++) {
                if (!went[k]) continue;
                dn_workspace_name_at(ws, k, &type, &obj);
                char e2[64];
                dn_model_set_device(((const dn_ws_model *)obj)->m,
                                    d == DN_DEVICE_GPU ? DN_DEVICE_CPU : DN_DEVICE_GPU, e2,
                                    sizeof e2);
            }
            free(went);
            return dn_fail(ctx, "RuntimeError", "model %s cannot move to the %s: %s", name,
                           d == DN_DEVICE_GPU ? "GPU" : "CPU", err);
        }
        went[i] = 1;
        dn_text_addf(moved, "%s%s", moved->n ? ", " : "", name);
    }
    free(went);
    return 0;
}

static void describe_gpu(dn_text *t, const dn_gpu_info *gpu)
{
    int fast = 0, tf32 = 0;
    size_t fr = 0, tot = 0;
    dn_text_addf(t, "GPU: %s (%.1f GiB, compute capability %d.%d, CUDA runtime %d, cuDNN %d)",
                 gpu->name, (double)gpu->total_mem / (1024.0 * 1024 * 1024), gpu->cc_major,
                 gpu->cc_minor, gpu->runtime_version, gpu->cudnn_version);
    if (dn_gpu_mode(&fast, &tf32)) {
        dn_text_addf(t, "; %s algorithms%s, TF32 %s",
                     fast ? "the fastest cuDNN" : "deterministic",
                     fast ? " (re-runs may differ in the last bits)" : " (re-runs give the same numbers)",
                     tf32 ? "on" : "off");
        if (dn_gpu_memory(&fr, &tot))
            dn_text_addf(t, "; %.0f MiB of %.0f MiB free", fr / (1024.0 * 1024), tot / (1024.0 * 1024));
    } else {
        dn_text_adds(t, "; not started yet (it starts with the first model)");
    }
    dn_text_adds(t, ".\n");
}

static int run_device(dn_ctx *ctx, const dn_call *call)
{
    char err[256];
    if (dn_args_check(call->args, "%device", 0, 2, NULL, err, sizeof err) < 0)
        return dn_fail(ctx, "UsageError", "%s", err);
    const char *arg = dn_value_text(dn_args_pos(call->args, 0));
    const char *mode = dn_value_text(dn_args_pos(call->args, 1));
    if ((dn_args_pos(call->args, 0) && (!arg || (strcasecmp(arg, "cpu") && strcasecmp(arg, "gpu")))) ||
        (dn_args_pos(call->args, 1) && (!mode || strcasecmp(arg, "gpu") ||
                                        (strcasecmp(mode, "fast") && strcasecmp(mode, "deterministic")))))
        return dn_fail(ctx, "UsageError", "%%device takes cpu or gpu, and after gpu fast or "
                       "deterministic (or nothing, to show where the runtime computes)");
    dn_gpu_info gpu;
    char why[512], cpu[512];
    dn_text moved = { 0 };
    if (arg && !strcasecmp(arg, "gpu")) {
        if (dn_gpu_probe(&gpu, why, sizeof why) <= 0)
            return dn_fail(ctx, "RuntimeError", "no GPU to compute on: %s", why);
        int fast = mode && !strcasecmp(mode, "fast");
        char e[512];
        if (dn_gpu_set_mode(fast, gpu.cc_major >= 8, e, sizeof e))
            return dn_fail(ctx, "RuntimeError", "the GPU cannot be used: %s", e);
        if (move_models(ctx, DN_DEVICE_GPU, &moved) < 0) { free(moved.s); return -1; }
        want = WANT_GPU;
    } else if (arg) {
        if (move_models(ctx, DN_DEVICE_CPU, &moved) < 0) { free(moved.s); return -1; }
        want = WANT_CPU;
    }
    int ngpu = dn_gpu_probe(&gpu, why, sizeof why);
    int on_gpu = wanted() == WANT_GPU || (wanted() == WANT_AUTO && ngpu > 0 && !auto_why[0]);
    dn_cpu_describe(cpu, sizeof cpu);
    dn_text t = { 0 };
    if (on_gpu)
        dn_text_addf(&t, "Computing on the GPU (%s).\n",
                     wanted() == WANT_GPU ? "chosen with %device gpu" : "found, so used by default");
    else
        dn_text_addf(&t, "Computing on the CPU.%s\n",
                     wanted() == WANT_CPU ? " (chosen with %device cpu or DEEPNB_DEVICE=cpu)"
                     : ngpu > 0 ? "" : " (no GPU found)");
    if (moved.n) dn_text_addf(&t, "Moved there: %s.\n", moved.s);
    free(moved.s);
    dn_text_addf(&t, "CPU: %s.\n", cpu);
    if (ngpu > 0) {
        describe_gpu(&t, &gpu);
        if (!on_gpu && wanted() == WANT_AUTO && auto_why[0])
            dn_text_addf(&t, "Why not the GPU: %s.\n", auto_why);
    } else {
        dn_text_addf(&t, "GPU: %s\n", why);
    }
    if (t.s) dn_write(ctx, "stdout", t.s, t.n);
    free(t.s);
    return 0;
}

/* ---------------------------------------------------------------- the table */

const dn_command dn_commands_weights[] = {
    { .name = "save_weights", .kind = DN_LINE, .run = run_save_weights, .source = __FILE__,
      .synopsis = "%save_weights NAME FILE",
      .complete = DN_COMPLETE_NAMES | DN_COMPLETE_PATHS, .args = "np-",
      .help =
        "Save a model's weights in Keras' HDF5 layout, as model.save_weights.\n"
        "%save_weights NAME FILE\n\n"
        "FILE ending in .weights.h5 gets Keras 3's layout (what today's Keras writes);\n"
        "any other name (results/ft1.h5) Keras 2's, which Keras 2 and 3 both load. The\n"
        "optimiser's state is not saved. An existing FILE is replaced, atomically: if\n"
        "the save fails (full disk, no permission) the old file is left as it was.\n\n"
        "Example:\n  %save_weights vgg results/ft1.h5" },
    { .name = "load_weights", .kind = DN_LINE, .run = run_load_weights, .source = __FILE__,
      .synopsis = "%load_weights NAME FILE [by_name=False]",
      .complete = DN_COMPLETE_NAMES | DN_COMPLETE_PATHS | DN_COMPLETE_KEYWORDS, .args = "np-",
      .keywords = (const char *const[]){ "by_name=", NULL },
      .help =
        "Load weights saved by Keras (1, 2 or 3, TensorFlow or Theano) or by deepnb.\n"
        "%load_weights NAME FILE [by_name=False]\n\n"
        "The file's layers with weights are paired with the model's in order, as Keras'\n"
        "load_weights does; by_name=True pairs them by layer name instead (the model's\n"
        "layers the file lacks keep their weights). Every shape is checked first: if one\n"
        "does not fit, the error names the layer and both shapes and no weight changes.\n"
        "The optimiser's state and which layers are frozen stay as they were.\n\n"
        "Example:\n  %load_weights vgg results/ft3.h5" },
    { .name = "weights", .kind = DN_LINE, .run = run_weights, .source = __FILE__,
      .synopsis = "%weights NAME [LAYER]",
      .complete = DN_COMPLETE_NAMES, .args = "n-",
      .help =
        "A model's weights as tables: the spreadsheet view of a network.\n"
        "%weights NAME [LAYER]\n\n"
        "Each layer's arrays (kernel, bias, BatchNormalization's gamma, beta and moving\n"
        "statistics) as tables; a Dense kernel has a row per input and a column per output.\n"
        "LAYER (a name or an index) shows that layer only. Large arrays are summarised.\n\n"
        "Example (lesson 2: the fitted line should be about [[2], [3]] and [1]):\n"
        "  %weights lm" },
    { .name = "activations", .kind = DN_LINE, .run = run_activations, .source = __FILE__,
      .synopsis = "%activations NAME X [n=3]",
      .complete = DN_COMPLETE_NAMES | DN_COMPLETE_KEYWORDS,
      .args = "nn-", .keywords = (const char *const[]){ "n=", NULL },
      .help =
        "Each layer's outputs for the first examples of an array: a network as a chain of\n"
        "matrix products, step by step.\n"
        "%activations NAME X [n=3]\n\n"
        "Runs the first n rows of X through the model (inference: no dropout) and shows\n"
        "the input and every layer's output as tables, one row per example.\n\n"
        "Example:\n  %activations net x n=2" },
    { .name = "device", .kind = DN_LINE, .run = run_device, .source = __FILE__,
      .synopsis = "%device [cpu|gpu [fast]]",
      .complete = DN_COMPLETE_KEYWORDS,
      .keywords = (const char *const[]){ "cpu", "gpu", "fast", "deterministic", NULL },
      .help =
        "Where the runtime computes, and why.\n"
        "%device [cpu|gpu [fast|deterministic]]\n\n"
        "Alone: the CPU's threads, the BLAS library and the kernels it chose for this\n"
        "processor, and the GPU (CUDA, cuBLAS, cuDNN): its name, memory and mode, or why\n"
        "there is none. A GPU is used by default when one is present (DEEPNB_DEVICE=cpu\n"
        "in the environment keeps the CPU).\n"
        "%device cpu and %device gpu move every model of the workspace there (weights and\n"
        "optimiser state go along) and the models made later. On the GPU, re-runs give the\n"
        "same numbers (deterministic cuDNN algorithms; TF32 products on chips that have\n"
        "them, as TensorFlow); %device gpu fast lets cuDNN time its algorithms and take\n"
        "the fastest, whose last bits may differ from run to run.\n\n"
        "Example:\n  %device gpu fast" },
    { 0 },
};
