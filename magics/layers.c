/* layers.c — Keras layer calls to runtime layers (layers.h). Each class lists its
 * parameters in Keras' positional order, with Keras 1's spelling as an alias; a call's
 * arguments are bound to them as Python binds a call's, so a misspelt keyword or one
 * positional too many is refused with the list of what the class takes. */
#include "layers.h"
#include "cmdutil.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef struct lparam {
    const char *name;
    const char *alias;   /* Keras 1's spelling, or NULL */
} lparam;

enum { MAXP = 16 };

typedef struct lclass {
    const char *name;
    const char *alias;        /* another class name that means the same */
    int npos;                 /* parameters that may be given by position */
    lparam params[MAXP];      /* class parameters; the common ones are added after */
} lclass;

/* every layer takes these (Keras' base Layer arguments) */
static const lparam common[] = {
    { "input_shape", NULL }, { "input_dim", NULL }, { "name", NULL }, { "trainable", NULL },
};
enum { NCOMMON = sizeof common / sizeof common[0] };

static const lclass classes[] = {
    { "Dense", NULL, 1, { { "units", "output_dim" }, { "activation", NULL }, { "use_bias", "bias" },
      { "kernel_initializer", "init" }, { "bias_initializer", NULL } } },
    { "Conv2D", "Convolution2D", 3, { { "filters", "nb_filter" }, { "kernel_size", "nb_row" },
      { "nb_col", NULL }, { "strides", "subsample" }, { "padding", "border_mode" },
      { "activation", NULL }, { "use_bias", "bias" }, { "data_format", "dim_ordering" },
      { "dilation_rate", NULL }, { "kernel_initializer", "init" }, { "bias_initializer", NULL } } },
    { "MaxPooling2D", "MaxPool2D", 3, { { "pool_size", NULL }, { "strides", NULL },
      { "padding", "border_mode" }, { "data_format", "dim_ordering" } } },
    { "Flatten", NULL, 0, { { "data_format", NULL } } },
    { "Dropout", NULL, 1, { { "rate", "p" } } },
    { "BatchNormalization", NULL, 0, { { "axis", NULL }, { "momentum", NULL }, { "epsilon", NULL },
      { "center", NULL }, { "scale", NULL } } },
    { "Activation", NULL, 1, { { "activation", NULL } } },
    { "Input", "InputLayer", 1, { { "shape", NULL } } },
};
enum { NCLASSES = sizeof classes / sizeof classes[0] };

const char *const dn_layer_classes[] = { "Dense", "Conv2D", "MaxPooling2D", "Flatten",
    "Dropout", "BatchNormalization", "Activation", "Input", NULL };

/* what a call's arguments bound to: one value (or NULL) per parameter, common ones last */
typedef struct bound {
    const lclass *cls;
    const char *callee;
    const dn_value *v[MAXP + NCOMMON];
} bound;

static int nparams(const lclass *c)
{
    int n = 0;
    while (n < MAXP && c->params[n].name) n++;
    return n;
}

static const lparam *param_at(const lclass *c, int i)
{
    int n = nparams(c);
    return i < n ? &c->params[i] : &common[i - n];
}

static const dn_value *arg(const bound *b, const char *name)
{
    int n = nparams(b->cls) + NCOMMON;
    for (int i = 0; i < n; i++)
        if (!strcmp(param_at(b->cls, i)->name, name)) return b->v[i];
    return NULL;
}

static void list_params(const lclass *c, char *buf, size_t len)
{
    size_t k = 0;
    buf[0] = 0;
    int n = nparams(c) + NCOMMON;
    for (int i = 0; i < n && k < len; i++) {
        const char *p = param_at(c, i)->name;
        if (!strcmp(p, "nb_col")) continue;   /* Keras 1's third position only */
        int w = snprintf(buf + k, len - k, "%s%s", k ? ", " : "", p);
        if (w > 0) k += (size_t)w;
    }
}

static int bind(const dn_value *call, bound *b, char *err, size_t errlen)
{
    memset(b, 0, sizeof *b);
    b->callee = call->text;
    for (int c = 0; c < NCLASSES && !b->cls; c++)
        if (!strcmp(classes[c].name, call->text) || (classes[c].alias && !strcmp(classes[c].alias, call->text)))
            b->cls = &classes[c];
    if (!b->cls) {
        int n = 0;
        while (dn_layer_classes[n]) n++;
        const char *near = dn_closest(call->text, dn_layer_classes, n);
        if (!near)
            for (int c = 0; c < n && !near; c++)
                if (!strcasecmp(call->text, dn_layer_classes[c])) near = dn_layer_classes[c];
        if (near)
            snprintf(err, errlen, "unknown layer %s(). Did you mean %s()?", call->text, near);
        else
            snprintf(err, errlen, "deepnb has no %s layer; the layers are Dense, Conv2D, "
                     "MaxPooling2D, Flatten, Dropout, BatchNormalization and Activation",
                     call->text);
        return -1;
    }
    const lclass *c = b->cls;
    int n = nparams(c) + NCOMMON, pos = 0;
    char names[512];
    for (size_t i = 0; i < call->n; i++) {
        const char *key = call->keys ? call->keys[i] : NULL;   /* NULL: no keyword at all */
        int slot = -1;
        if (!key) {
            if (pos >= c->npos) {
                list_params(c, names, sizeof names);
                if (c->npos == 0)
                    snprintf(err, errlen, "%s() takes keyword arguments only (%s)", call->text, names);
                else
                    snprintf(err, errlen, "%s() takes at most %d positional argument%s, got more "
                             "(it takes: %s)", call->text, c->npos, c->npos == 1 ? "" : "s", names);
                return -1;
            }
            slot = pos++;
        } else {
            for (int k = 0; k < n && slot < 0; k++) {
                const lparam *p = param_at(c, k);
                if (!strcmp(p->name, key) || (p->alias && !strcmp(p->alias, key))) slot = k;
            }
            if (slot < 0) {
                const char *cands[MAXP + NCOMMON];
                for (int k = 0; k < n; k++) cands[k] = param_at(c, k)->name;
                const char *near = dn_closest(key, cands, n);
                list_params(c, names, sizeof names);
                if (near)
                    snprintf(err, errlen, "%s() got an unexpected keyword argument '%s'. Did you "
                             "mean '%s'?", call->text, key, near);
                else
                    snprintf(err, errlen, "%s() got an unexpected keyword argument '%s' (it takes: "
                             "%s)", call->text, key, names);
                return -1;
            }
        }
        if (b->v[slot]) {
            snprintf(err, errlen, "%s() got multiple values for argument '%s'", call->text,
                     param_at(c, slot)->name);
            return -1;
        }
        b->v[slot] = call->items[i];
    }
    return 0;
}

/* ---------------------------------------------------------------- argument values */

static int bad(const bound *b, const char *what, const dn_value *v, const char *want,
               char *err, size_t errlen)
{
    char shown[128];
    dn_value_format(v, shown, sizeof shown);
    snprintf(err, errlen, "%s(): %s must be %s, not %s", b->callee, what, want, shown);
    return -1;
}

static int whole(const bound *b, const char *name, int lo, int dflt, int *out, char *err,
                 size_t errlen)
{
    const dn_value *v = arg(b, name);
    *out = dflt;
    if (!v) return 0;
    if (v->kind != DN_VAL_INT || v->integer < lo || v->integer > (1 << 24)) {
        char want[64];
        snprintf(want, sizeof want, "a whole number from %d up", lo);
        return bad(b, name, v, want, err, errlen);
    }
    *out = (int)v->integer;
    return 0;
}

/* an int n for (n, n), or a pair (a, b) */
static int pair(const bound *b, const char *name, const dn_value *v, int out[2], char *err,
                size_t errlen)
{
    if (v->kind == DN_VAL_INT && v->integer >= 1 && v->integer <= 4096) {
        out[0] = out[1] = (int)v->integer;
        return 0;
    }
    if ((v->kind == DN_VAL_TUPLE || v->kind == DN_VAL_LIST) && v->n == 2
        && v->items[0]->kind == DN_VAL_INT && v->items[1]->kind == DN_VAL_INT
        && v->items[0]->integer >= 1 && v->items[1]->integer >= 1
        && v->items[0]->integer <= 4096 && v->items[1]->integer <= 4096) {
        out[0] = (int)v->items[0]->integer;
        out[1] = (int)v->items[1]->integer;
        return 0;
    }
    return bad(b, name, v, "a whole number or a pair of them, such as (3, 3)", err, errlen);
}

static int number(const bound *b, const char *name, double lo, double hi, double dflt,
                  double *out, char *err, size_t errlen)
{
    const dn_value *v = arg(b, name);
    *out = dflt;
    if (!v) return 0;
    double x;
    if (dn_value_number(v, &x) < 0 || !(x >= lo && x < hi)) {
        char want[96];
        snprintf(want, sizeof want, "a number from %g to below %g", lo, hi);
        return bad(b, name, v, want, err, errlen);
    }
    *out = x;
    return 0;
}

static int boolean(const bound *b, const char *name, int dflt, int *out, char *err, size_t errlen)
{
    const dn_value *v = arg(b, name);
    *out = dflt;
    if (!v) return 0;
    if (v->kind != DN_VAL_BOOL) return bad(b, name, v, "True or False", err, errlen);
    *out = v->boolean;
    return 0;
}

static int activation(const bound *b, dn_activation *out, char *err, size_t errlen)
{
    const dn_value *v = arg(b, "activation");
    *out = DN_ACT_LINEAR;
    if (!v || v->kind == DN_VAL_NONE) return 0;
    const char *s = dn_value_text(v);
    char why[128];
    if (!s || dn_activation_parse(s, out, why, sizeof why))
        return bad(b, "activation", v, "one of 'linear', 'relu', 'sigmoid', 'tanh', 'softmax' "
                   "(or None)", err, errlen);
    return 0;
}

static int padding(const bound *b, dn_padding *out, char *err, size_t errlen)
{
    const dn_value *v = arg(b, "padding");
    *out = DN_PAD_VALID;
    if (!v) return 0;
    const char *s = dn_value_text(v);
    char why[128];
    if (!s || dn_padding_parse(s, out, why, sizeof why))
        return bad(b, "padding", v, "'valid' or 'same'", err, errlen);
    return 0;
}

/* what deepnb computes one way only: accepted when it asks for that way */
static int only(const bound *b, const char *name, const char *const *ok, const char *why,
                char *err, size_t errlen)
{
    const dn_value *v = arg(b, name);
    if (!v) return 0;
    const char *s = dn_value_text(v);
    for (int k = 0; s && ok[k]; k++)
        if (!strcmp(s, ok[k])) return 0;
    char shown[128];
    dn_value_format(v, shown, sizeof shown);
    snprintf(err, errlen, "%s(): %s=%s is not supported: %s", b->callee, name, shown, why);
    return -1;
}

static int shape_of(const bound *b, const char *name, const dn_value *v, dn_layer_call *out,
                    char *err, size_t errlen)
{
    const dn_value *items[3];
    int n = 0;
    if (v->kind == DN_VAL_INT && strcmp(name, "input_dim") != 0) {
        /* (3) is Python's 3, as in Keras, where input_shape=(3) fails too */
        snprintf(err, errlen, "%s(): %s=%lld is a number, not a shape: the shape of one example "
                 "with one axis is written (%lld,), with a comma", b->callee, name,
                 (long long)v->integer, (long long)v->integer);
        return -1;
    }
    if (v->kind == DN_VAL_INT) {  /* input_dim=N */
        n = 1;
        items[0] = v;
        v = NULL;
    } else if ((v->kind == DN_VAL_TUPLE || v->kind == DN_VAL_LIST) && v->n >= 1 && v->n <= 3) {
        n = (int)v->n;
        for (int i = 0; i < n; i++) items[i] = v->items[i];
    } else {
        return bad(b, name, v, "the shape of one example, 1 to 3 whole numbers such as (2,) or "
                   "(28, 28, 1)", err, errlen);
    }
    for (int i = 0; i < n; i++) {
        if (items[i]->kind != DN_VAL_INT || items[i]->integer < 1 || items[i]->integer > (1 << 24))
            return bad(b, name, v ? v : items[i], "the shape of one example, 1 to 3 whole "
                       "numbers such as (2,) or (28, 28, 1) (no batch axis, no None)", err, errlen);
        out->in_shape[i] = (int)items[i]->integer;
    }
    out->in_ndim = n;
    return 0;
}

/* ---------------------------------------------------------------- the classes */

static const char *const channels_last[] = { "channels_last", "tf", NULL };
static const char *const glorot[] = { "glorot_uniform", NULL };
static const char *const zeros[] = { "zeros", "zero", NULL };
static const char *const why_last = "deepnb keeps images channels last (height, width, "
                                    "channels), as TensorFlow does";
static const char *const why_init = "deepnb initialises kernels glorot_uniform and biases with "
                                    "zeros, as Keras does by default";

static dn_layer *make(const bound *b, char *err, size_t errlen)
{
    const char *cls = b->cls->name;
    dn_activation act;
    if (!strcmp(cls, "Dense")) {
        int units, bias;
        if (!arg(b, "units")) {
            snprintf(err, errlen, "Dense() needs units, the number of outputs: Dense(2) or "
                     "Dense(units=2)");
            return NULL;
        }
        if (whole(b, "units", 1, 1, &units, err, errlen) || activation(b, &act, err, errlen)
            || boolean(b, "use_bias", 1, &bias, err, errlen)
            || only(b, "kernel_initializer", glorot, why_init, err, errlen)
            || only(b, "bias_initializer", zeros, why_init, err, errlen))
            return NULL;
        return dn_dense_new(units, act, bias, err, errlen);
    }
    if (!strcmp(cls, "Conv2D")) {
        int filters, k[2], s[2] = { 1, 1 }, bias;
        dn_padding pad;
        const dn_value *ks = arg(b, "kernel_size"), *col = arg(b, "nb_col");
        if (!arg(b, "filters") || !ks) {
            snprintf(err, errlen, "%s() needs filters and kernel_size: %s(32, (3, 3))", b->callee,
                     b->callee);
            return NULL;
        }
        if (whole(b, "filters", 1, 1, &filters, err, errlen)) return NULL;
        if (col) {   /* Keras 1: Convolution2D(64, 3, 3) */
            int r, c;
            if (ks->kind != DN_VAL_INT || col->kind != DN_VAL_INT || whole(b, "kernel_size", 1, 1, &r, err, errlen)
                || whole(b, "nb_col", 1, 1, &c, err, errlen)) {
                snprintf(err, errlen, "%s(): Keras 1's form is %s(filters, rows, cols), three whole "
                         "numbers", b->callee, b->callee);
                return NULL;
            }
            k[0] = r;
            k[1] = c;
        } else if (pair(b, "kernel_size", ks, k, err, errlen)) {
            return NULL;
        }
        const dn_value *dil = arg(b, "dilation_rate");
        int d[2];
        if (dil && (pair(b, "dilation_rate", dil, d, err, errlen) || d[0] != 1 || d[1] != 1)) {
            snprintf(err, errlen, "%s(): dilation_rate other than 1 is not supported", b->callee);
            return NULL;
        }
        if ((arg(b, "strides") && pair(b, "strides", arg(b, "strides"), s, err, errlen))
            || padding(b, &pad, err, errlen) || activation(b, &act, err, errlen)
            || boolean(b, "use_bias", 1, &bias, err, errlen)
            || only(b, "data_format", channels_last, why_last, err, errlen)
            || only(b, "kernel_initializer", glorot, why_init, err, errlen)
            || only(b, "bias_initializer", zeros, why_init, err, errlen))
            return NULL;
        return dn_conv2d_new(filters, k[0], k[1], s[0], s[1], pad, act, bias, err, errlen);
    }
    if (!strcmp(cls, "MaxPooling2D")) {
        int p[2] = { 2, 2 }, s[2] = { 0, 0 };
        dn_padding pad;
        const dn_value *sv = arg(b, "strides");
        if ((arg(b, "pool_size") && pair(b, "pool_size", arg(b, "pool_size"), p, err, errlen))
            || (sv && sv->kind != DN_VAL_NONE && pair(b, "strides", sv, s, err, errlen))
            || padding(b, &pad, err, errlen)
            || only(b, "data_format", channels_last, why_last, err, errlen))
            return NULL;
        return dn_maxpool2d_new(p[0], p[1], s[0], s[1], pad, err, errlen);
    }
    if (!strcmp(cls, "Flatten")) {
        if (only(b, "data_format", channels_last, why_last, err, errlen)) return NULL;
        return dn_flatten_new(err, errlen);
    }
    if (!strcmp(cls, "Dropout")) {
        double rate;
        if (!arg(b, "rate")) {
            snprintf(err, errlen, "Dropout() needs rate, the fraction of inputs to drop: Dropout(0.5)");
            return NULL;
        }
        if (number(b, "rate", 0, 1, 0, &rate, err, errlen)) return NULL;
        return dn_dropout_new((float)rate, err, errlen);
    }
    if (!strcmp(cls, "BatchNormalization")) {
        double mom, eps;
        int center, scale;
        const dn_value *ax = arg(b, "axis");
        if (ax && !(ax->kind == DN_VAL_INT && (ax->integer == -1 || ax->integer == 3))) {
            snprintf(err, errlen, "BatchNormalization(): deepnb normalises the last axis (the "
                     "channels, axis=-1) only");
            return NULL;
        }
        if (number(b, "momentum", 0, 1, 0.99, &mom, err, errlen)
            || number(b, "epsilon", 0, 1, 1e-3, &eps, err, errlen)
            || boolean(b, "center", 1, &center, err, errlen) || boolean(b, "scale", 1, &scale, err, errlen))
            return NULL;
        if (!center || !scale) {
            snprintf(err, errlen, "BatchNormalization(): center=False and scale=False are not "
                     "supported (deepnb always learns gamma and beta)");
            return NULL;
        }
        return dn_batchnorm_new((float)mom, (float)eps, err, errlen);
    }
    if (!strcmp(cls, "Activation")) {
        if (!arg(b, "activation")) {
            snprintf(err, errlen, "Activation() needs the activation's name: Activation('relu')");
            return NULL;
        }
        if (activation(b, &act, err, errlen)) return NULL;
        return dn_activation_layer_new(act, err, errlen);
    }
    snprintf(err, errlen, "%s(): no such layer", b->callee);
    return NULL;
}

int dn_layer_from_call(const dn_value *v, dn_layer_call *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!v || v->kind != DN_VAL_CALL) {
        char shown[128] = "nothing";
        if (v) dn_value_format(v, shown, sizeof shown);
        snprintf(err, errlen, "a layer is a call such as Dense(2, activation='softmax'), not %s",
                 shown);
        return -1;
    }
    bound b;
    if (bind(v, &b, err, errlen)) return -1;
    if (!strcmp(b.cls->name, "Input")) {
        const dn_value *s = arg(&b, "shape") ? arg(&b, "shape") : arg(&b, "input_shape");
        if (!s) {
            snprintf(err, errlen, "%s() needs the shape of one example: Input((28, 28, 1))", b.callee);
            return -1;
        }
        return shape_of(&b, "shape", s, out, err, errlen);
    }
    const dn_value *is = arg(&b, "input_shape"), *id = arg(&b, "input_dim");
    if (is && id) {
        snprintf(err, errlen, "%s(): give input_shape or input_dim, not both", b.callee);
        return -1;
    }
    if ((is && shape_of(&b, "input_shape", is, out, err, errlen))
        || (id && shape_of(&b, "input_dim", id, out, err, errlen)))
        return -1;
    const dn_value *name = arg(&b, "name");
    if (name && !dn_value_text(name))
        return bad(&b, "name", name, "a string", err, errlen);
    int trainable;
    if (boolean(&b, "trainable", 1, &trainable, err, errlen)) return -1;
    err[0] = 0;
    dn_layer *l = make(&b, err, errlen);
    if (!l) {
        if (!err[0]) snprintf(err, errlen, "out of memory making a %s layer", b.callee);
        return -1;
    }
    if (name && dn_layer_set_name(l, dn_value_text(name), err, errlen)) {
        dn_layer_free(l);
        return -1;
    }
    dn_layer_set_trainable(l, trainable);
    out->layer = l;
    return 0;
}
