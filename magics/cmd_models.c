/* cmd_models.c — making and changing models: %%model, %model, %compile, %summary,
 * %finetune, %pop, %add, %trainable, %freeze, %lr. Training is in cmd_train.c, weight
 * files and looking inside in cmd_weights.c.
 *
 * Every command checks its arguments before it changes anything; a model is built whole
 * before it replaces the one under its name, and takes its seed only once it exists, so
 * a failed cell leaves the workspace (seeds included) as it was. */
#include "cell.h"
#include "cmdutil.h"
#include "layers.h"
#include "model_cmds.h"
#include "text.h"
#include "ws_batches.h"
#include "ws_model.h"
#include "data/resize.h"
#include "io/model_weights.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---------------------------------------------------------------- shared with other files */

dn_ws_model *dn_need_model(dn_ctx *ctx, const dn_call *call, size_t i, const char **name)
{
    const char *n;
    if (dn_arg_name(ctx, call, i, "the model", &n) < 0) return NULL;
    char err[256];
    dn_ws_model *wm = dn_ws_model_get(dn_ctx_workspace(ctx), n, err, sizeof err);
    if (!wm) {
        const dn_type *t;
        dn_fail(ctx, dn_workspace_get(dn_ctx_workspace(ctx), n, &t) ? "TypeError" : "NameError",
                "%%%s: %s", call->name, err);
        return NULL;
    }
    if (name) *name = n;
    return wm;
}

/* The activation that decides what the model's outputs can be: the last layer's, looking
 * through layers that pass values on unchanged at inference (Dropout, Flatten). */
static const dn_layer *output_layer(dn_model *m)
{
    for (int i = dn_model_nlayers(m) - 1; i >= 0; i--) {
        const dn_layer *l = dn_model_layer(m, i);
        const char *c = dn_layer_class(l);
        if (strcmp(c, "Dropout") && strcmp(c, "Flatten")) return l;
    }
    return NULL;
}

int dn_loss_fits_model(dn_model *m, dn_loss loss, char *err, size_t errlen)
{
    const dn_layer *l = output_layer(m);
    if (!l || loss == DN_LOSS_MSE) return 0;
    dn_activation a = dn_layer_activation(l);
    const char *lname = dn_layer_name(l);
    long outs = dn_model_output_size(m);
    if (loss == DN_LOSS_CATEGORICAL_CE && outs == 1) {
        snprintf(err, errlen, "categorical_crossentropy compares a distribution over classes, but "
                 "the model has a single output; use binary_crossentropy with a sigmoid output, or "
                 "end with Dense(2, activation='softmax') and one-hot labels");
        return -1;
    }
    if (a == DN_ACT_SOFTMAX || a == DN_ACT_SIGMOID) return 0;
    snprintf(err, errlen, "%s takes probabilities, but the model's last layer %s has the "
             "activation %s, whose outputs can be %s; end the model with activation='%s' (e.g. "
             "%%add NAME Activation('%s')) or use loss=mse", dn_loss_name(loss), lname,
             dn_activation_name(a), a == DN_ACT_TANH ? "negative" : "above 1",
             loss == DN_LOSS_CATEGORICAL_CE ? "softmax" : "sigmoid",
             loss == DN_LOSS_CATEGORICAL_CE ? "softmax" : "sigmoid");
    return -1;
}

/* ---------------------------------------------------------------- building */

/* Appends the layers of calls (1 or more) to a new model made with seed. The first call
 * must give the input shape. NULL after dn_fail (msg prefix names where). Takes the
 * layers in calls (freed on failure). */
static dn_model *build(dn_ctx *ctx, uint64_t seed, dn_layer_call *calls, int n, const int *lines)
{
    char err[1024];
    dn_model *m = dn_model_new(seed, err, sizeof err);
    int k = 0;
    if (!m) {
        dn_fail(ctx, "MemoryError", "%s", err);
        goto fail;
    }
    if (!calls[0].in_ndim) {
        dn_fail(ctx, "ValueError", "line %d: the first layer needs the shape of one example, as in "
                "Keras: input_shape=(28, 28, 1) for images, input_shape=(2,) or input_dim=2 for "
                "vectors (or a first line Input((28, 28, 1)))", lines[0]);
        goto fail;
    }
    if (dn_model_set_input(m, calls[0].in_ndim, calls[0].in_shape, err, sizeof err)) {
        dn_fail(ctx, "ValueError", "line %d: %s", lines[0], err);
        goto fail;
    }
    for (k = 0; k < n; k++) {
        if (k > 0 && calls[k].in_ndim) {
            int shape[3], nd = dn_model_output_shape(m, shape);
            int same = nd == calls[k].in_ndim;
            for (int a = 0; same && a < nd; a++) same = shape[a] == calls[k].in_shape[a];
            if (!same || !calls[k].layer) {
                char have[64], said[64];
                dn_shape_str(have, sizeof have, nd, shape);
                dn_shape_str(said, sizeof said, calls[k].in_ndim, calls[k].in_shape);
                dn_fail(ctx, "ValueError", "line %d: %s; the input shape goes on the first layer "
                        "only (here the input is %s, the line says %s)", lines[k],
                        calls[k].layer ? "input_shape on a later layer" : "Input() must be the first line",
                        have, said);
                goto fail;
            }
        }
        if (!calls[k].layer) continue;
        dn_layer *l = calls[k].layer;
        calls[k].layer = NULL;
        if (dn_model_add(m, l, err, sizeof err)) {
            dn_fail(ctx, "ValueError", "line %d: %s", lines[k], err);
            k++;
            goto fail;
        }
    }
    return m;
fail:
    for (; k < n; k++) dn_layer_free(calls[k].layer);
    for (int j = 0; j < n; j++) calls[j].layer = NULL;
    dn_model_free(m);
    return NULL;
}

static void say_made(dn_ctx *ctx, const char *name, const dn_ws_model *wm)
{
    char d[256];
    dn_model_type.describe(wm, d, sizeof d);
    dn_print(ctx, "%s: %s\n", name, d);
}

/* Stores wm under name (replacing what was there), taking the seed it was built with. */
static int keep(dn_ctx *ctx, const char *name, dn_ws_model *wm)
{
    char err[256];
    dn_workspace *ws = dn_ctx_workspace(ctx);
    if (dn_device_adopt(ctx, wm->m) < 0) {
        dn_ws_model_free(wm);
        return -1;
    }
    if (dn_workspace_set(ws, name, &dn_model_type, wm, err, sizeof err) < 0) {
        dn_ws_model_free(wm);
        return dn_fail(ctx, "MemoryError", "%s", err);
    }
    dn_workspace_next_seed(ws);
    return 0;
}

/* the body's lines, joined while brackets are open; *line is the first line's number */
typedef struct body_reader {
    const char *p;
    int line;
} body_reader;

static char *next_layer_text(body_reader *r, int *line)
{
    for (;;) {
        if (!*r->p) return NULL;
        const char *e = strchr(r->p, '\n');
        size_t len = e ? (size_t)(e - r->p) : strlen(r->p);
        const char *s = r->p;
        r->p += len + (e ? 1 : 0);
        r->line++;
        while (len && (*s == ' ' || *s == '\t')) { s++; len--; }
        if (!len || *s == '#') continue;
        *line = r->line;
        dn_text t = { 0 };
        dn_text_add(&t, s, len);
        while (!t.oom && dn_args_open_depth(t.s, t.n) > 0 && *r->p) {
            e = strchr(r->p, '\n');
            len = e ? (size_t)(e - r->p) : strlen(r->p);
            dn_text_adds(&t, "\n");
            dn_text_add(&t, r->p, len);
            r->p += len + (e ? 1 : 0);
            r->line++;
        }
        if (t.oom) { free(t.s); return NULL; }
        return t.s;
    }
}

/* Drops a comment and a trailing comma (a layer copied out of a Python list). */
static void trim_layer_text(char *s)
{
    size_t n = dn_strip_comment(s, strlen(s), 1);
    if (n && s[n - 1] == ',') n--;
    s[n] = 0;
}

enum { MAX_BODY_LAYERS = 512 };

static int run_model_cell(dn_ctx *ctx, const dn_call *call)
{
    char err[1024];
    if (dn_args_check(call->args, "%%model", 1, 1, NULL, err, sizeof err) < 0)
        return dn_fail(ctx, "UsageError", "%s", err);
    const char *name;
    if (dn_arg_name(ctx, call, 0, "NAME", &name) < 0) return -1;
    dn_layer_call *calls = calloc(MAX_BODY_LAYERS, sizeof *calls);
    int *lines = calloc(MAX_BODY_LAYERS, sizeof *lines);
    int n = 0, rc = 0;
    if (!calls || !lines) {
        free(calls);
        free(lines);
        return dn_fail(ctx, "MemoryError", "out of memory");
    }
    body_reader r = { call->body, call->line };
    char *text;
    int line;
    while (rc == 0 && (text = next_layer_text(&r, &line))) {
        trim_layer_text(text);
        if (!*text) { free(text); continue; }
        if (n == MAX_BODY_LAYERS) {
            rc = dn_fail(ctx, "ValueError", "a %%%%model cell holds at most %d layers", MAX_BODY_LAYERS);
        } else {
            dn_parse_status ps;
            dn_args *a = dn_args_parse(text, 1, &ps, err, sizeof err);
            if (!a) {
                rc = dn_fail(ctx, "SyntaxError", "line %d of the cell: %s", line, err);
            } else if (a->n != 1 || a->keys[0] || a->values[0]->kind != DN_VAL_CALL) {
                rc = dn_fail(ctx, "SyntaxError", "line %d of the cell: '%s' is not a layer; write one "
                             "layer call a line, such as Dense(2, activation='softmax')", line, text);
            } else if (dn_layer_from_call(a->values[0], &calls[n], err, sizeof err)) {
                rc = dn_fail(ctx, "ValueError", "line %d of the cell: %s", line, err);
            } else {
                lines[n++] = line;
            }
            dn_args_free(a);
        }
        free(text);
    }
    if (rc == 0 && n == 0)
        rc = dn_fail(ctx, "ValueError", "%%%%model %s has no layers: write one Keras layer a line "
                     "below the first, e.g.\n%%%%model %s\nDense(1, input_shape=(2,))", name, name);
    dn_model *m = NULL;
    if (rc == 0) {
        m = build(ctx, dn_workspace_peek_seed(dn_ctx_workspace(ctx)), calls, n, lines);
        if (!m) rc = -1;
    } else {
        for (int k = 0; k < n; k++) dn_layer_free(calls[k].layer);
    }
    free(calls);
    free(lines);
    if (rc) return rc;
    dn_ws_model *wm = dn_ws_model_new(m, "Sequential");
    if (!wm) return dn_fail(ctx, "MemoryError", "out of memory");
    if (keep(ctx, name, wm)) return -1;
    say_made(ctx, name, wm);
    return 0;
}

/* %model NAME vgg16 [weights=FILE] [classes=1000] [dropout=True] */
static int run_model_line(dn_ctx *ctx, const dn_call *call)
{
    static const char *const keys[] = { "weights", "classes", "dropout", NULL };
    char err[1024];
    if (dn_args_check(call->args, "%model", 2, 2, keys, err, sizeof err) < 0)
        return dn_fail(ctx, "UsageError", "%s", err);
    const char *name;
    if (dn_arg_name(ctx, call, 0, "NAME", &name) < 0) return -1;
    const char *arch = dn_value_text(dn_args_pos(call->args, 1));
    if (!arch || strcasecmp(arch, "vgg16"))
        return dn_fail(ctx, "ValueError", "%%model NAME ARCH knows vgg16 (%%%%model NAME builds any "
                       "Sequential model layer by layer), not '%s'", arch ? arch : "?");
    long classes = 1000;
    int dropout = 1;
    if (dn_opt_whole(ctx, call, "classes", NULL, 1, 1 << 20, &classes, NULL) < 0
        || dn_opt_bool(ctx, call, "dropout", &dropout, NULL) < 0)
        return -1;
    const dn_value *wv = dn_args_key(call->args, "weights");
    char *file = NULL;
    if (wv && wv->kind != DN_VAL_NONE) {
        if (!(file = dn_arg_path(wv)))
            return dn_fail(ctx, "UsageError", "%%model: weights is a file name");
        if (dn_need_weight_file(ctx, file) < 0) { free(file); return -1; }
    }
    dn_model *m = dn_model_new(dn_workspace_peek_seed(dn_ctx_workspace(ctx)), err, sizeof err);
    if (!m || dn_model_build_vgg16(m, (int)classes, dropout, err, sizeof err)) {
        dn_model_free(m);
        free(file);
        return dn_fail(ctx, "MemoryError", "cannot build VGG16: %s", err);
    }
    if (file && dn_model_load_weights_isolated(m, file, 0, err, sizeof err)) {
        dn_model_free(m);
        int rc = dn_fail(ctx, "ValueError", "%s", err);
        free(file);
        return rc;
    }
    dn_ws_model *wm = dn_ws_model_new(m, "VGG16");
    if (!wm) { free(file); return dn_fail(ctx, "MemoryError", "out of memory"); }
    wm->preprocess = DN_PRE_VGG;
    if (keep(ctx, name, wm)) { free(file); return -1; }
    say_made(ctx, name, wm);
    if (file) dn_print(ctx, "Weights loaded from %s.\n", file);
    else dn_print(ctx, "Weights are random (Glorot): give weights=FILE for trained ones.\n");
    dn_print(ctx, "Its images need preprocess=vgg: %%batches NAME DIR preprocess=vgg\n");
    free(file);
    return 0;
}

/* ---------------------------------------------------------------- compile, lr */

static int parse_optimizer(dn_ctx *ctx, const dn_value *v, dn_optimizer *o)
{
    const char *nm = v->kind == DN_VAL_CALL ? v->text : dn_value_text(v);
    dn_optimizer_kind kind;
    char err[256];
    if (!nm || dn_optimizer_parse(nm, &kind, err, sizeof err)) {
        char shown[128], low[64];
        dn_value_format(v, shown, sizeof shown);
        static const char *const known[] = { "sgd", "rmsprop", "adam" };
        snprintf(low, sizeof low, "%s", nm ? nm : "");
        for (char *c = low; *c; c++) *c = (char)tolower((unsigned char)*c);
        const char *near = nm ? dn_closest(low, known, 3) : NULL;
        /* answer in the user's spelling: adma -> adam, Adma(...) -> Adam */
        int upper = nm && isupper((unsigned char)nm[0]);
        if (near)
            return dn_fail(ctx, "ValueError", "%%compile: unknown optimizer %s. Did you mean %s?", shown,
                           !upper ? near : !strcmp(near, "sgd") ? "SGD" : !strcmp(near, "adam") ? "Adam" : "RMSprop");
        return dn_fail(ctx, "ValueError", "%%compile: optimizer is SGD, RMSprop or Adam, with "
                       "arguments as in Keras (SGD(lr=0.1), Adam(lr=0.001)), not %s", shown);
    }
    dn_optimizer_defaults(o, kind);
    if (v->kind != DN_VAL_CALL) return 0;
    static const char *const sgd[] = { "lr", "momentum", "nesterov", "decay", NULL };
    static const char *const rms[] = { "lr", "rho", "epsilon", "decay", NULL };
    static const char *const adam[] = { "lr", "beta_1", "beta_2", "epsilon", "decay", "amsgrad", NULL };
    const char *const *names = kind == DN_OPT_SGD ? sgd : kind == DN_OPT_RMSPROP ? rms : adam;
    const char *cname = dn_optimizer_name(kind);
    const dn_value *got[8] = { 0 };
    size_t npos = 0;
    for (size_t i = 0; i < v->n; i++) {
        const char *key = v->keys ? v->keys[i] : NULL;
        int slot = -1;
        if (!key) {
            if (npos > 0)
                return dn_fail(ctx, "UsageError", "%s() takes the learning rate as its one positional "
                               "argument; give the others by name", cname);
            slot = 0;
            npos++;
        } else {
            const char *canon = strcmp(key, "learning_rate") ? key : "lr";
            for (int k = 0; names[k]; k++)
                if (!strcmp(names[k], canon)) slot = k;
            if (slot < 0) {
                char list[128] = "";
                for (int k = 0; names[k]; k++)
                    snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", k ? ", " : "", names[k]);
                return dn_fail(ctx, "UsageError", "%s() got an unexpected keyword argument '%s' (it "
                               "takes %s)", cname, key, list);
            }
        }
        if (got[slot])
            return dn_fail(ctx, "UsageError", "%s() got multiple values for '%s'", cname, names[slot]);
        got[slot] = v->items[i];
    }
    for (int k = 0; names[k]; k++) {
        if (!got[k]) continue;
        const char *key = names[k];
        if (!strcmp(key, "nesterov") || !strcmp(key, "amsgrad")) {
            if (got[k]->kind != DN_VAL_BOOL)
                return dn_fail(ctx, "UsageError", "%s(): %s is True or False", cname, key);
            if (!strcmp(key, "amsgrad") && got[k]->boolean)
                return dn_fail(ctx, "ValueError", "Adam(amsgrad=True) is not supported");
            o->nesterov = got[k]->boolean;
            continue;
        }
        double x;
        if (dn_value_number(got[k], &x) < 0 || !(x >= 0) || x > 1e6) {
            char shown[128];
            dn_value_format(got[k], shown, sizeof shown);
            return dn_fail(ctx, "UsageError", "%s(): %s must be a number from 0 up, not %s", cname, key, shown);
        }
        if (!strcmp(key, "decay")) {
            if (x != 0)
                return dn_fail(ctx, "ValueError", "%s(decay=%g): learning-rate decay is not supported; "
                               "change the rate between fits with %%lr NAME VALUE", cname, x);
        } else if (!strcmp(key, "lr")) o->lr = (float)x;
        else if (!strcmp(key, "momentum")) o->momentum = (float)x;
        else if (!strcmp(key, "rho")) o->rho = (float)x;
        else if (!strcmp(key, "beta_1")) o->beta1 = (float)x;
        else if (!strcmp(key, "beta_2")) o->beta2 = (float)x;
        else if (!strcmp(key, "epsilon")) o->epsilon = (float)x;
    }
    if (dn_optimizer_check(o, err, sizeof err))
        return dn_fail(ctx, "ValueError", "%s(): %s", cname, err);
    return 0;
}

static int parse_loss(dn_ctx *ctx, const dn_value *v, dn_loss *loss)
{
    const char *s = dn_value_text(v);
    char err[256];
    if (!s || dn_loss_parse(s, loss, err, sizeof err)) {
        char shown[128];
        dn_value_format(v, shown, sizeof shown);
        static const char *const known[] = { "mse", "binary_crossentropy", "categorical_crossentropy" };
        const char *near = s ? dn_closest(s, known, 3) : NULL;
        if (near)
            return dn_fail(ctx, "ValueError", "%%compile: unknown loss %s. Did you mean %s?", shown, near);
        return dn_fail(ctx, "ValueError", "%%compile: loss is mse, binary_crossentropy or "
                       "categorical_crossentropy, not %s", shown);
    }
    return 0;
}

static int is_accuracy(const dn_value *v)
{
    const char *s = dn_value_text(v);
    return s && (!strcmp(s, "accuracy") || !strcmp(s, "acc"));
}

static int parse_metrics(dn_ctx *ctx, const dn_value *v, int *acc)
{
    *acc = 0;
    if (!v || v->kind == DN_VAL_NONE) return 0;
    if (v->kind == DN_VAL_LIST || v->kind == DN_VAL_TUPLE) {
        for (size_t i = 0; i < v->n; i++) {
            if (!is_accuracy(v->items[i])) goto bad;
            *acc = 1;
        }
        return 0;
    }
    if (is_accuracy(v)) { *acc = 1; return 0; }
bad:;
    char shown[128];
    dn_value_format(v, shown, sizeof shown);
    return dn_fail(ctx, "ValueError", "%%compile: the metric deepnb computes is accuracy "
                   "(metrics=accuracy or metrics=['accuracy']), not %s", shown);
}

static void optimizer_text(const dn_optimizer *o, char *buf, size_t len)
{
    switch (o->kind) {
    case DN_OPT_SGD:
        if (o->momentum != 0)
            snprintf(buf, len, "SGD(lr=%g, momentum=%g%s)", (double)o->lr, (double)o->momentum,
                     o->nesterov ? ", nesterov=True" : "");
        else
            snprintf(buf, len, "SGD(lr=%g)", (double)o->lr);
        break;
    case DN_OPT_RMSPROP:
        snprintf(buf, len, "RMSprop(lr=%g, rho=%g)", (double)o->lr, (double)o->rho);
        break;
    default:
        snprintf(buf, len, "Adam(lr=%g, beta_1=%g, beta_2=%g)", (double)o->lr, (double)o->beta1,
                 (double)o->beta2);
    }
}

static int compile_model(dn_ctx *ctx, dn_ws_model *wm, const char *name, const dn_optimizer *o,
                         dn_loss loss, int acc)
{
    char err[512];
    if (!dn_model_nlayers(wm->m))
        return dn_fail(ctx, "ValueError", "%s has no layers to compile", name);
    if (dn_loss_fits_model(wm->m, loss, err, sizeof err))
        return dn_fail(ctx, "ValueError", "%s", err);
    if (dn_model_compile(wm->m, o, loss, acc, err, sizeof err))
        return dn_fail(ctx, "ValueError", "%s", err);
    dn_ws_model_new_run(wm);
    return 0;
}

static void say_compiled(dn_ctx *ctx, const char *name, dn_ws_model *wm)
{
    char ot[128];
    optimizer_text(dn_model_optimizer(wm->m), ot, sizeof ot);
    dn_print(ctx, "%s compiled: optimizer %s, loss %s%s.\n", name, ot,
             dn_loss_name(dn_model_loss(wm->m)), dn_model_wants_accuracy(wm->m) ? ", metrics accuracy" : "");
}

static int run_compile(dn_ctx *ctx, const dn_call *call)
{
    static const char *const keys[] = { "optimizer", "loss", "metrics", NULL };
    char err[512];
    if (dn_args_check(call->args, "%compile", 1, 1, keys, err, sizeof err) < 0)
        return dn_fail(ctx, "UsageError", "%s", err);
    const char *name;
    dn_ws_model *wm = dn_need_model(ctx, call, 0, &name);
    if (!wm) return -1;
    const dn_value *ov = dn_args_key(call->args, "optimizer"), *lv = dn_args_key(call->args, "loss");
    if (!ov || !lv)
        return dn_fail(ctx, "UsageError", "%%compile NAME needs optimizer= and loss=, e.g. "
                       "%%compile %s optimizer=SGD(lr=0.1) loss=mse", name);
    dn_optimizer o;
    dn_loss loss;
    int acc;
    if (parse_optimizer(ctx, ov, &o) || parse_loss(ctx, lv, &loss)
        || parse_metrics(ctx, dn_args_key(call->args, "metrics"), &acc)
        || compile_model(ctx, wm, name, &o, loss, acc))
        return -1;
    say_compiled(ctx, name, wm);
    return 0;
}

static int run_lr(dn_ctx *ctx, const dn_call *call)
{
    char err[256];
    if (dn_args_check(call->args, "%lr", 1, 2, NULL, err, sizeof err) < 0)
        return dn_fail(ctx, "UsageError", "%s", err);
    const char *name;
    dn_ws_model *wm = dn_need_model(ctx, call, 0, &name);
    if (!wm) return -1;
    dn_optimizer *o = dn_model_optimizer(wm->m);
    if (!o)
        return dn_fail(ctx, "ValueError", "%s has no optimizer yet: %%compile %s optimizer=... "
                       "loss=... first (or %%finetune)", name, name);
    const dn_value *v = dn_args_pos(call->args, 1);
    if (!v) {
        dn_print(ctx, "%s: learning rate %g (%s)\n", name, (double)o->lr, dn_optimizer_name(o->kind));
        return 0;
    }
    double x;
    if (dn_value_number(v, &x) < 0 || !(x >= 0) || x > 1e6) {
        char shown[128];
        dn_value_format(v, shown, sizeof shown);
        return dn_fail(ctx, "UsageError", "%%lr NAME VALUE: VALUE is a learning rate from 0 up, "
                       "such as 0.01, not %s", shown);
    }
    double old = o->lr;
    o->lr = (float)x;
    dn_print(ctx, "%s: learning rate %g -> %g\n", name, old, (double)o->lr);
    return 0;
}

/* ---------------------------------------------------------------- summary */

static int run_summary(dn_ctx *ctx, const dn_call *call)
{
    char err[256];
    if (dn_args_check(call->args, "%summary", 1, 1, NULL, err, sizeof err) < 0)
        return dn_fail(ctx, "UsageError", "%s", err);
    const char *name;
    dn_ws_model *wm = dn_need_model(ctx, call, 0, &name);
    if (!wm) return -1;
    json_t *b = dn_ws_model_summary(wm, name);
    if (!b) return dn_fail(ctx, "MemoryError", "out of memory");
    dn_display(ctx, b);
    json_decref(b);
    return 0;
}

/* ---------------------------------------------------------------- changing layers */

/* A layer by index (0-based as Keras' model.layers[i], negative from the end) or name. */
int dn_layer_ref(dn_ctx *ctx, const dn_call *call, dn_ws_model *wm, const char *model,
                 const dn_value *v, int *index)
{
    int n = dn_model_nlayers(wm->m);
    if (v->kind == DN_VAL_INT) {
        long long i = v->integer < 0 ? v->integer + n : v->integer;
        if (i < 0 || i >= n)
            return dn_fail(ctx, "IndexError", "%%%s: %s has %d layers (0 to %d), so no layer %lld",
                           call->name, model, n, n - 1, v->integer);
        *index = (int)i;
        return 0;
    }
    const char *s = dn_value_text(v);
    if (!s) {
        char shown[128];
        dn_value_format(v, shown, sizeof shown);
        return dn_fail(ctx, "UsageError", "%%%s: a layer is its name or its index, not %s",
                       call->name, shown);
    }
    int i = dn_model_find_layer(wm->m, s);
    if (i >= 0) { *index = i; return 0; }
    const char **names = calloc(n > 0 ? (size_t)n : 1, sizeof *names);
    if (!names) return dn_fail(ctx, "MemoryError", "out of memory");
    for (int k = 0; k < n; k++) names[k] = dn_layer_name(dn_model_layer(wm->m, k));
    const char *near = dn_closest(s, names, n);
    int rc;
    if (near)
        rc = dn_fail(ctx, "ValueError", "%%%s: %s has no layer '%s'. Did you mean '%s'?",
                     call->name, model, s, near);
    else
        rc = dn_fail(ctx, "ValueError", "%%%s: %s has no layer '%s' (%%summary %s lists them)",
                     call->name, model, s, model);
    free(names);
    return rc;
}

/* "m: 20 layers frozen (block1_conv1 … fc2), 1 trainable (dense_1); trainable params 8,194
 * of 134,268,738" */
static void say_trainable(dn_ctx *ctx, const char *name, dn_ws_model *wm)
{
    int n = dn_model_nlayers(wm->m), nf = 0, nt = 0, ff = -1, lf = -1, ft = -1, lt = -1;
    for (int i = 0; i < n; i++) {
        if (dn_layer_trainable(dn_model_layer(wm->m, i))) {
            nt++;
            if (ft < 0) ft = i;
            lt = i;
        } else {
            nf++;
            if (ff < 0) ff = i;
            lf = i;
        }
    }
    long tr, ntr;
    dn_model_count_params(wm->m, &tr, &ntr);
    char a[32], b[32];
    dn_text t = { 0 };
    dn_text_addf(&t, "%s: ", name);
    if (nf) {
        dn_text_addf(&t, "%d layer%s frozen (%s", nf, nf == 1 ? "" : "s", dn_layer_name(dn_model_layer(wm->m, ff)));
        if (nf > 1) dn_text_addf(&t, " … %s", dn_layer_name(dn_model_layer(wm->m, lf)));
        dn_text_adds(&t, nt ? "), " : ")");
    }
    if (nt) {
        dn_text_addf(&t, "%d%s trainable (%s", nt, nf ? "" : nt == 1 ? " layer" : " layers",
                     dn_layer_name(dn_model_layer(wm->m, ft)));
        if (nt > 1) dn_text_addf(&t, " … %s", dn_layer_name(dn_model_layer(wm->m, lt)));
        dn_text_adds(&t, ")");
    }
    dn_text_addf(&t, "; trainable params %s of %s\n", dn_grouped(tr, a, sizeof a),
                 dn_grouped(tr + ntr, b, sizeof b));
    if (t.s) dn_write(ctx, "stdout", t.s, t.n);
    free(t.s);
}

static int run_trainable_or_freeze(dn_ctx *ctx, const dn_call *call, int trainable)
{
    const char *key = trainable ? "from" : "upto";
    const char *const keys[] = { key, NULL };
    char err[256];
    if (dn_args_check(call->args, trainable ? "%trainable" : "%freeze", 1, 1, keys, err, sizeof err) < 0)
        return dn_fail(ctx, "UsageError", "%s", err);
    const char *name;
    dn_ws_model *wm = dn_need_model(ctx, call, 0, &name);
    if (!wm) return -1;
    int n = dn_model_nlayers(wm->m), at = trainable ? 0 : n;
    const dn_value *v = dn_args_key(call->args, key);
    if (v && dn_layer_ref(ctx, call, wm, name, v, &at) < 0) return -1;
    /* %trainable from=L: L and the layers after it; %freeze upto=L: the layers before L */
    for (int i = trainable ? at : 0; i < (trainable ? n : at); i++)
        dn_layer_set_trainable(dn_model_layer(wm->m, i), trainable);
    say_trainable(ctx, name, wm);
    return 0;
}

static int run_trainable(dn_ctx *ctx, const dn_call *call) { return run_trainable_or_freeze(ctx, call, 1); }
static int run_freeze(dn_ctx *ctx, const dn_call *call) { return run_trainable_or_freeze(ctx, call, 0); }

static void say_ends(dn_ctx *ctx, const char *name, dn_ws_model *wm)
{
    int n = dn_model_nlayers(wm->m);
    if (!n) {
        dn_print(ctx, "%s has no layers now.\n", name);
        return;
    }
    const dn_layer *l = dn_model_layer(wm->m, n - 1);
    int shape[3], nd = dn_layer_output_shape(l, shape);
    char s[64];
    dn_shape_str(s, sizeof s, nd, shape);
    dn_print(ctx, "%s now ends with %s (%s), output %s.\n", name, dn_layer_name(l), dn_layer_class(l), s);
}

static int run_pop(dn_ctx *ctx, const dn_call *call)
{
    char err[256];
    if (dn_args_check(call->args, "%pop", 1, 1, NULL, err, sizeof err) < 0)
        return dn_fail(ctx, "UsageError", "%s", err);
    const char *name;
    dn_ws_model *wm = dn_need_model(ctx, call, 0, &name);
    if (!wm) return -1;
    int n = dn_model_nlayers(wm->m);
    if (n == 0) return dn_fail(ctx, "IndexError", "%s has no layers to pop", name);
    char gone[160];
    dn_layer *last = dn_model_layer(wm->m, n - 1);
    snprintf(gone, sizeof gone, "%s (%s)", dn_layer_name(last), dn_layer_class(last));
    dn_model_pop(wm->m, err, sizeof err);
    dn_print(ctx, "Removed %s. ", gone);
    say_ends(ctx, name, wm);
    return 0;
}

/* Adds the layer of v to wm; an input shape on it must match the model's output. */
static int add_layer(dn_ctx *ctx, dn_ws_model *wm, const char *name, const dn_value *v)
{
    char err[1024];
    dn_layer_call lc;
    if (dn_layer_from_call(v, &lc, err, sizeof err))
        return dn_fail(ctx, "ValueError", "%%add: %s", err);
    if (!lc.layer) return dn_fail(ctx, "ValueError", "%%add: Input() only starts a model");
    if (lc.in_ndim) {
        int shape[3], nd = dn_model_output_shape(wm->m, shape), same = nd == lc.in_ndim;
        for (int a = 0; same && a < nd; a++) same = shape[a] == lc.in_shape[a];
        if (!same) {
            dn_layer_free(lc.layer);
            char have[64];
            dn_shape_str(have, sizeof have, nd, shape);
            return dn_fail(ctx, "ValueError", "%%add: the layer's input_shape does not match %s's "
                           "output %s (a layer added to a model needs no input_shape)", name, have);
        }
    }
    if (dn_model_add(wm->m, lc.layer, err, sizeof err))
        return dn_fail(ctx, "ValueError", "%%add: %s", err);
    return 0;
}

static int run_add(dn_ctx *ctx, const dn_call *call)
{
    char err[256];
    if (dn_args_check(call->args, "%add", 2, 2, NULL, err, sizeof err) < 0)
        return dn_fail(ctx, "UsageError", "%s", err);
    const char *name;
    dn_ws_model *wm = dn_need_model(ctx, call, 0, &name);
    if (!wm || add_layer(ctx, wm, name, dn_args_pos(call->args, 1))) return -1;
    dn_layer *l = dn_model_layer(wm->m, dn_model_nlayers(wm->m) - 1);
    char p[32];
    dn_print(ctx, "Added %s (%s, %s params). ", dn_layer_name(l), dn_layer_class(l),
             dn_grouped(dn_layer_count_params(l), p, sizeof p));
    say_ends(ctx, name, wm);
    return 0;
}

/* %finetune NAME BATCHES: Vgg16.finetune — pop, freeze, Dense(classes, softmax), Adam */
static int run_finetune(dn_ctx *ctx, const dn_call *call)
{
    static const char *const keys[] = { "lr", NULL };
    char err[512];
    if (dn_args_check(call->args, "%finetune", 2, 2, keys, err, sizeof err) < 0)
        return dn_fail(ctx, "UsageError", "%s", err);
    const char *name, *bname;
    dn_ws_model *wm = dn_need_model(ctx, call, 0, &name);
    if (!wm || dn_arg_name(ctx, call, 1, "BATCHES", &bname) < 0) return -1;
    dn_batches *b = dn_batches_get(dn_ctx_workspace(ctx), bname, err, sizeof err);
    if (!b) return dn_fail_lookup(ctx, call, bname, err);
    double lr = 0.001;
    if (dn_opt_number(ctx, call, "lr", 0, 1e6, &lr, NULL) < 0) return -1;
    dn_dir_source *src = dn_batches_dir(b);
    int k = dn_dir_source_num_classes(src);
    if (dn_dir_source_options(src)->class_mode == DN_CLASS_NONE)
        return dn_fail(ctx, "ValueError", "%%finetune: %s has no labels (class_mode=None), so it "
                       "cannot say how many classes to learn; give the training batches", bname);
    if (dn_model_nlayers(wm->m) < 2)
        return dn_fail(ctx, "ValueError", "%%finetune: %s has %d layer%s; fine-tuning replaces the "
                       "last layer of a network with more", name, dn_model_nlayers(wm->m),
                       dn_model_nlayers(wm->m) == 1 ? "" : "s");
    const dn_dir_options *bo = dn_dir_source_options(src);
    int ishape[3], ind = dn_model_input_shape(wm->m, ishape);
    if (ind != 3 || ishape[0] != bo->height || ishape[1] != bo->width || ishape[2] != bo->channels) {
        char want[64];
        dn_shape_str(want, sizeof want, ind, ishape);
        return dn_fail(ctx, "ValueError", "%%finetune: %s takes inputs of shape %s but %s gives "
                       "images of shape (None, %d, %d, %d)%s", name, want, bname, bo->height,
                       bo->width, bo->channels, ind == 3 ? ": make the batches with that size and colour" : "");
    }
    /* the new layer is made before the model changes: a failure then changes nothing */
    dn_layer *top = dn_dense_new(k, DN_ACT_SOFTMAX, 1, err, sizeof err);
    if (!top) return dn_fail(ctx, "MemoryError", "%s", err);
    dn_layer *last = dn_model_layer(wm->m, dn_model_nlayers(wm->m) - 1);
    char gone[160];
    snprintf(gone, sizeof gone, "%s (%s)", dn_layer_name(last), dn_layer_class(last));
    dn_model_pop(wm->m, err, sizeof err);
    for (int i = 0; i < dn_model_nlayers(wm->m); i++) dn_layer_set_trainable(dn_model_layer(wm->m, i), 0);
    if (dn_model_add(wm->m, top, err, sizeof err))
        return dn_fail(ctx, "MemoryError", "%%finetune: %s (the last layer was removed)", err);
    if (dn_ws_model_classes_from(wm, src))
        return dn_fail(ctx, "MemoryError", "out of memory");
    dn_optimizer o;
    dn_optimizer_defaults(&o, DN_OPT_ADAM);
    o.lr = (float)lr;
    if (dn_model_compile(wm->m, &o, DN_LOSS_CATEGORICAL_CE, 1, err, sizeof err))
        return dn_fail(ctx, "ValueError", "%s", err);
    dn_ws_model_new_run(wm);
    dn_layer *added = dn_model_layer(wm->m, dn_model_nlayers(wm->m) - 1);
    dn_text cls = { 0 };
    for (int c = 0; c < k; c++) dn_text_addf(&cls, "%s%s", c ? ", " : "", wm->class_names[c]);
    dn_print(ctx, "Removed %s, froze the other %d layers, added %s = Dense(%d, activation='softmax') "
             "for the classes of %s (%s).\n", gone, dn_model_nlayers(wm->m) - 1, dn_layer_name(added),
             k, bname, cls.s ? cls.s : "");
    free(cls.s);
    say_compiled(ctx, name, wm);
    say_trainable(ctx, name, wm);
    return 0;
}

/* ---------------------------------------------------------------- the table */

static const char *const compile_keys[] = { "optimizer=", "loss=", "metrics=", "SGD(", "RMSprop(",
    "Adam(", "mse", "binary_crossentropy", "categorical_crossentropy", "accuracy", NULL };
static const char *const model_keys[] = { "vgg16", "weights=", "classes=", "dropout=", NULL };

const dn_command dn_commands_models[] = {
    { .name = "model", .kind = DN_CELL, .run = run_model_cell, .source = __FILE__,
      .synopsis = "%%model NAME",
      .complete = DN_COMPLETE_NAMES, .args = "n-",
      .help =
        "A Sequential model, one Keras layer a line.\n"
        "%%model NAME\n"
        "LAYER(...)\n"
        "...\n\n"
        "Each line of the body is one layer call as in Keras; the first layer gives the\n"
        "shape of one example with input_shape= (or input_dim=, or a first line Input(shape)).\n"
        "Layers and their arguments (Keras' names; Keras 1's spellings work too):\n"
        "  Dense(units, activation=None, use_bias=True)\n"
        "  Conv2D(filters, kernel_size, strides=(1,1), padding='valid', activation=None)\n"
        "      also Convolution2D(filters, rows, cols, border_mode='same') as Keras 1 wrote it\n"
        "  MaxPooling2D(pool_size=(2,2), strides=None, padding='valid')\n"
        "  Flatten()   Dropout(rate)   Activation('relu')\n"
        "  BatchNormalization(momentum=0.99, epsilon=0.001)\n"
        "Activations: linear, relu, sigmoid, tanh, softmax. Every layer also takes name= and\n"
        "trainable=. Kernels start Glorot-uniform, biases zero, drawn from %seed.\n"
        "NAME is replaced only when the whole model was built; a wrong line says which.\n\n"
        "Example (lesson 2's linear model):\n"
        "  %%model lm\n"
        "  Dense(1, input_shape=(2,))\n\n"
        "Then: %compile, %summary, %fit. Lines ending in ',' (copied out of a Python list) and\n"
        "# comments are fine." },
    { .name = "model", .kind = DN_LINE, .run = run_model_line, .source = __FILE__,
      .synopsis = "%model NAME vgg16 [weights=FILE]",
      .complete = DN_COMPLETE_NAMES | DN_COMPLETE_PATHS | DN_COMPLETE_KEYWORDS,
      .args = "n-", .path_keys = (const char *const[]){ "weights=", NULL }, .keywords = model_keys,
      .help =
        "A known architecture by name: VGG16, the network lesson 2 fine-tunes.\n"
        "%model NAME vgg16 [weights=FILE] [classes=1000] [dropout=True]\n\n"
        "VGG16 as the course's vgg16.py builds it, channels last: input 224x224x3; five\n"
        "blocks of 3x3 'same' relu convolutions (2x64, 2x128, 3x256, 3x512, 3x512) named\n"
        "block1_conv1 ... block5_conv3, each ending in a 2x2 max-pool; flatten; fc1 and fc2,\n"
        "Dense(4096, relu) each followed by Dropout(0.5); predictions, Dense(1000, softmax):\n"
        "138,357,544 parameters (553 MB of memory).\n\n"
        "weights=FILE loads a Keras HDF5 weight file (Keras 1 or 2, e.g.\n"
        "vgg16_weights_tf_dim_ordering_tf_kernels.h5, or Keras 3's .weights.h5); without it\n"
        "the weights are random. Its images must be preprocessed as VGG16 was trained: make\n"
        "batches with preprocess=vgg (ImageNet mean subtracted, BGR).\n"
        "dropout=False leaves the Dropout layers out (Keras' applications.VGG16 has none).\n\n"
        "Example:\n"
        "  %model vgg vgg16 weights=vgg16_weights_tf_dim_ordering_tf_kernels.h5\n"
        "  %batches batches data/train preprocess=vgg\n"
        "  %finetune vgg batches" },
    { .name = "compile", .kind = DN_LINE, .run = run_compile, .source = __FILE__,
      .synopsis = "%compile NAME optimizer=... loss=...",
      .complete = DN_COMPLETE_NAMES | DN_COMPLETE_KEYWORDS, .args = "n-", .keywords = compile_keys,
      .help =
        "Choose a model's optimiser, loss and metrics, as Keras' model.compile.\n"
        "%compile NAME optimizer=OPT loss=LOSS [metrics=accuracy]\n\n"
        "OPT: SGD(lr=0.01, momentum=0, nesterov=False), RMSprop(lr=0.001, rho=0.9),\n"
        "Adam(lr=0.001, beta_1=0.9, beta_2=0.999), or just sgd / rmsprop / adam for the\n"
        "defaults (Keras 2's). learning_rate= is the same as lr=.\n"
        "LOSS: mse, binary_crossentropy, categorical_crossentropy. A loss that cannot work\n"
        "with the model's last layer (cross-entropy on outputs that are not probabilities)\n"
        "is refused with what to change.\n"
        "metrics=accuracy (or ['accuracy']) reports accuracy while training.\n"
        "Compiling again starts the optimiser afresh (its momentum and moments) and a new\n"
        "history: %history and %fit's save={epoch} count the epochs since the last compile.\n\n"
        "Examples:\n"
        "  %compile lm optimizer=SGD(lr=0.1) loss=mse\n"
        "  %compile m optimizer=RMSprop(lr=0.1) loss=categorical_crossentropy metrics=accuracy" },
    { .name = "summary", .kind = DN_LINE, .run = run_summary, .source = __FILE__,
      .synopsis = "%summary NAME",
      .complete = DN_COMPLETE_NAMES, .args = "n-",
      .help =
        "A model's layers, output shapes and parameter counts, as Keras' model.summary().\n"
        "%summary NAME\n\n"
        "Shown as a table (and as Keras' text). When some layers are frozen a Trainable\n"
        "column says which. A line that is only the model's name shows the same." },
    { .name = "finetune", .kind = DN_LINE, .run = run_finetune, .source = __FILE__,
      .synopsis = "%finetune NAME BATCHES",
      .complete = DN_COMPLETE_NAMES | DN_COMPLETE_KEYWORDS,
      .args = "nn-", .keywords = (const char *const[]){ "lr=", NULL },
      .help =
        "Adapt a trained network to the classes of BATCHES, as the course's Vgg16.finetune.\n"
        "%finetune NAME BATCHES [lr=0.001]\n\n"
        "Removes the last layer, freezes every other layer, adds\n"
        "Dense(number of classes of BATCHES, activation='softmax') and compiles with\n"
        "Adam(lr=0.001), categorical_crossentropy and accuracy, which starts a new history\n"
        "(the next %fit's save=results/ft{epoch}.h5 writes ft1.h5). The model remembers the\n"
        "class names, so its predictions are labelled. Then %fit trains the new layer.\n\n"
        "Example:\n"
        "  %batches batches data/train preprocess=vgg\n"
        "  %finetune vgg batches\n"
        "  %lr vgg 0.01" },
    { .name = "pop", .kind = DN_LINE, .run = run_pop, .source = __FILE__,
      .synopsis = "%pop NAME",
      .complete = DN_COMPLETE_NAMES, .args = "n-",
      .help =
        "Remove a model's last layer, as Keras' model.pop().\n"
        "%pop NAME\n\n"
        "The optimiser stays as compiled; the next %fit trains what is trainable then." },
    { .name = "add", .kind = DN_LINE, .run = run_add, .source = __FILE__,
      .synopsis = "%add NAME LAYER",
      .complete = DN_COMPLETE_NAMES, .args = "n-",
      .help =
        "Append a layer to a model, as Keras' model.add().\n"
        "%add NAME LAYER\n\n"
        "LAYER is a Keras layer call as in %%model. No recompiling is needed: the\n"
        "model's optimiser trains the new layer from the next step.\n\n"
        "Example:\n  %add m Dense(2, activation='softmax')" },
    { .name = "trainable", .kind = DN_LINE, .run = run_trainable, .source = __FILE__,
      .synopsis = "%trainable NAME [from=LAYER]",
      .complete = DN_COMPLETE_NAMES | DN_COMPLETE_KEYWORDS,
      .args = "n-", .keywords = (const char *const[]){ "from=", NULL },
      .help =
        "Let training change a layer and those after it.\n"
        "%trainable NAME [from=LAYER]\n\n"
        "LAYER is a layer's name (block5_conv1, fc1) or its index as in Keras' model.layers\n"
        "(0 is the first; -1 the last). Without from=, every layer becomes trainable. Layers\n"
        "before LAYER are left as they are. Takes effect at the very next training step:\n"
        "unlike Keras, no recompiling is needed (and none forgets it).\n\n"
        "Example (lesson 2, retraining the dense layers):\n"
        "  %trainable vgg from=fc1\n"
        "  %lr vgg 0.01" },
    { .name = "freeze", .kind = DN_LINE, .run = run_freeze, .source = __FILE__,
      .synopsis = "%freeze NAME [upto=LAYER]",
      .complete = DN_COMPLETE_NAMES | DN_COMPLETE_KEYWORDS,
      .args = "n-", .keywords = (const char *const[]){ "upto=", NULL },
      .help =
        "Keep layers' weights as they are while training.\n"
        "%freeze NAME [upto=LAYER]\n\n"
        "Freezes every layer before LAYER (a name or an index, as for %trainable); LAYER\n"
        "and those after it are left as they are. Without upto=, every layer is frozen.\n"
        "A frozen BatchNormalization uses its moving statistics. Takes effect at the next\n"
        "step, no recompiling." },
    { .name = "lr", .kind = DN_LINE, .run = run_lr, .source = __FILE__,
      .synopsis = "%lr NAME [VALUE]",
      .complete = DN_COMPLETE_NAMES, .args = "n-",
      .help =
        "Show or change a compiled model's learning rate (vgg.model.optimizer.lr = 0.01).\n"
        "%lr NAME [VALUE]\n\n"
        "The optimiser keeps its state (momentum, moments); the next step uses VALUE.\n\n"
        "Example:\n  %lr vgg 0.01" },
    { 0 },
};
