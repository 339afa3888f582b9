/* weights_probe.c — what a weight file is, without loading it (see weights.h): the same
 * opening and layout telling as the loader (weights_file.c), then every array's shape. */
#include "weights.h"
#include "h5util.h"
#include "weights_file.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *dn_weights_layout_name(dn_weights_layout layout)
{
    switch (layout) {
    case DN_WEIGHTS_KERAS1:
        return "Keras 1";
    case DN_WEIGHTS_KERAS2:
        return "Keras 2";
    case DN_WEIGHTS_THEANO:
        return "Keras 1/2 (Theano backend)";
    case DN_WEIGHTS_KERAS3:
        return "Keras 3 (.weights.h5)";
    }
    return "unknown";
}

void dn_weights_info_free(dn_weights_info *info)
{
    if (!info)
        return;
    for (int i = 0; i < info->nlayers; i++)
        free(info->layers[i].arrays);
    free(info->layers);
    memset(info, 0, sizeof *info);
}

int dn_weights_probe(const char *path, dn_weights_info *info, char *err, size_t errlen)
{
    if (!info) {
        snprintf(err, errlen, "cannot read '%s': nowhere to put what it is",
                 path ? path : "");
        return -1;
    }
    memset(info, 0, sizeof *info);
    if (!path || !*path) {
        snprintf(err, errlen, "cannot read a weight file: no file name given");
        return -1;
    }
    dn_h5_quiet q;
    dn_h5_quiet_begin(&q);
    dn_wfile f;
    char why[768];
    int rc = -1;
    if (dn_wfile_open(&f, path, &q, why, sizeof why) != 0) {
        snprintf(err, errlen, "cannot read '%s': %s", path, why);
        goto out;
    }
    info->layout = f.layout;
    snprintf(info->keras_version, sizeof info->keras_version, "%s", f.keras_version);
    snprintf(info->backend, sizeof info->backend, "%s", f.backend);
    snprintf(info->model_name, sizeof info->model_name, "%s", f.model_name);
    info->whole_model = f.whole_model;
    info->has_optimizer = f.has_optimizer;
    info->layers = calloc((size_t)f.n + 1, sizeof *info->layers);
    if (!info->layers) {
        snprintf(err, errlen, "cannot read '%s': out of memory", path);
        goto out;
    }
    info->nlayers = f.n;
    for (int i = 0; i < f.n; i++) {
        const dn_wfile_layer *l = &f.ls[i];
        dn_winfo_layer *o = &info->layers[i];
        snprintf(o->name, sizeof o->name, "%s", l->name);
        snprintf(o->group, sizeof o->group, "%s", l->group ? l->group : l->name);
        o->arrays = calloc((size_t)l->nw + 1, sizeof *o->arrays);
        if (!o->arrays) {
            snprintf(err, errlen, "cannot read '%s': out of memory", path);
            goto out;
        }
        o->narrays = l->nw;
        for (int w = 0; w < l->nw; w++) {
            dn_winfo_array *a = &o->arrays[w];
            long long dims[H5S_MAX_RANK];
            int kind;
            int nd = dn_wfile_shape(l, w, dims, &kind);
            snprintf(a->name, sizeof a->name, "%s", l->wnames[w]);
            if (nd < 0) {
                snprintf(err, errlen, "cannot read '%s': layer %s lists array '%s', which "
                         "is not in the file", path, l->name, l->wnames[w]);
                goto out;
            }
            a->ndim = nd;
            for (int d = 0; d < nd && d < DN_WINFO_MAXDIMS; d++)
                a->shape[d] = dims[d];
        }
    }
    rc = 0;
out:
    if (rc != 0)
        dn_weights_info_free(info);
    dn_wfile_close(&f);
    dn_h5_quiet_end(&q);
    return rc;
}

typedef struct out {
    char *p;
    size_t n, k;
    int full;
} out;

static void put(out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(out *o, const char *fmt, ...)
{
    if (o->full)
        return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(o->p + o->k, o->n - o->k, fmt, ap);
    va_end(ap);
    if (w < 0 || (size_t)w >= o->n - o->k) {
        o->full = 1;
        o->p[o->k] = 0;     /* a cut item is not shown at all */
    } else {
        o->k += (size_t)w;
    }
}

static void shape_text(char *buf, size_t n, const dn_winfo_array *a)
{
    long long d[DN_WINFO_MAXDIMS];
    int nd = a->ndim < DN_WINFO_MAXDIMS ? a->ndim : DN_WINFO_MAXDIMS;
    for (int k = 0; k < nd; k++)
        d[k] = a->shape[k];
    dn_wfile_fmt_shape(buf, n, nd, d);
}

void dn_weights_describe(const dn_weights_info *info, char *buf, size_t n)
{
    if (!buf || n == 0)
        return;
    buf[0] = 0;
    if (!info)
        return;
    out o = {buf, n, 0, 0};
    int with = 0;
    for (int i = 0; i < info->nlayers; i++)
        with += info->layers[i].narrays > 0;
    put(&o, "a %s file", dn_weights_layout_name(info->layout));
    if (info->keras_version[0] || info->backend[0])
        put(&o, " (%s%s%s%s%s)", info->keras_version[0] ? "keras_version " : "",
            info->keras_version, info->keras_version[0] && info->backend[0] ? ", " : "",
            info->backend[0] ? "backend " : "", info->backend);
    if (info->model_name[0])
        put(&o, ", model '%s'", info->model_name);
    if (info->whole_model)
        put(&o, ", a whole model's");
    if (info->has_optimizer)
        put(&o, ", with optimizer state");
    put(&o, ", %d layer%s (%d with weights)%s", info->nlayers, info->nlayers == 1 ? "" : "s",
        with, with ? ":" : "");
    int shown = 0;
    for (int i = 0; i < info->nlayers; i++) {
        const dn_winfo_layer *l = &info->layers[i];
        if (l->narrays == 0)
            continue;
        char item[600], s[200], first[200] = "";
        size_t k = (size_t)snprintf(item, sizeof item, "%s", l->group);
        if (strcmp(l->group, l->name))
            k += (size_t)snprintf(item + k, sizeof item - k, " \"%s\"", l->name);
        int same = 1;
        for (int a = 0; a < l->narrays; a++) {
            shape_text(s, sizeof s, &l->arrays[a]);
            if (a == 0)
                snprintf(first, sizeof first, "%s", s);
            else if (strcmp(s, first))
                same = 0;
        }
        if (same && l->narrays > 1) {
            snprintf(item + k, sizeof item - k, " %d x %s", l->narrays, first);
        } else {
            for (int a = 0; a < l->narrays && k < sizeof item; a++) {
                shape_text(s, sizeof s, &l->arrays[a]);
                k += (size_t)snprintf(item + k, sizeof item - k, " %s", s);
            }
        }
        /* Keep room to say how many were left out. */
        if (o.k + strlen(item) + 2 + 20 >= n) {
            put(&o, ", ... (%d more)", with - shown);
            break;
        }
        put(&o, shown ? ", %s" : " %s", item);
        shown++;
    }
}
