/* weights_load.c — dn_weights_load_h5: Keras weight files into a model's arrays.
 *
 * Layouts read: Keras 2 (datasets "<layer>/<array>:0" under each layer's group), Keras 1
 * (flat "<layer>_W", "<layer>_W_1:0", BatchNormalization's running_mean/running_std), the
 * "model_weights" group of a whole-model file, list attributes split by Keras into
 * name0, name1, ..., fixed- or variable-length strings, any float or integer dataset type.
 *
 * As Keras 2's loaders do: a file without keras_version is Keras 1; layers are paired by
 * order among those that have weights, or by name (model layers absent from the file are
 * left alone); arrays within a layer are paired by position -- unless every array's name
 * is recognised (W = kernel, b = bias, running_std = moving_variance, ...), then by name.
 * Conversions of 4-D conv kernels into (kh, kw, in, out) correlation form:
 *  - a Keras-1 kernel stored (out, in, kh, kw) ("th" dim ordering) is transposed; when
 *    both orders fit the model's shape, the file's backend decides (theano: "th");
 *  - a kernel written by the theano backend (a true convolution) is turned 180 degrees
 *    in space, as Keras' convert_kernel does;
 *  - a file with (out, in, kh, kw) kernels came from a channels-first model, whose Flatten
 *    ordered features (c, h, w): the first Dense kernel after a Flatten gets its rows
 *    reordered to (h, w, c), as Keras' convert_dense_weights_data_format does (square
 *    feature maps: the neutral form does not carry h and w).
 * Keras 3 files (`.weights.h5`) list layers under groups named after their classes
 * (weights_keras3.c); layers are paired by their name attributes when every model layer
 * finds its own, else per class in order; arrays are "0", "1", ... in the layer's order,
 * paired by position, and need no conversion (TensorFlow's kernels, channels last).
 * The layout is told from the file (weights_file.c), never from its name.
 * All or nothing: every array is checked and read into memory before any is written. */
#include "weights.h"
#include "h5util.h"
#include "weights_file.h"

#include <hdf5.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef dn_wfile_layer flayer;     /* a layer as the file lists it */

typedef struct item {       /* one model array and where its values come from */
    dn_wlayer *ml;
    dn_warray *dst;
    const flayer *fl;
    int fw;                 /* index into fl->wnames */
    int transpose, flip;
    int fm_c, fm_h, fm_w;   /* > 0: Dense rows after Flatten go from (c,h,w) to (h,w,c) */
    float *vals;            /* read and converted, waiting for the commit */
} item;

typedef struct loader {
    const char *path;
    char *err;
    size_t errlen;
    dn_wfile F;             /* the file, its layout and layers (F.ls, F.n) */
    item *items;
    int nitems;
    dn_h5_quiet q;
} loader;

static int fail(loader *L, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(L->err, L->errlen, "cannot load weights from '%s': %s", L->path, msg);
    return -1;
}

/* Known array names, and the model-side name each means. */
static const char *const canon_table[][2] = {
    {"kernel", "kernel"}, {"W", "kernel"}, {"bias", "bias"}, {"b", "bias"},
    {"gamma", "gamma"}, {"beta", "beta"},
    {"moving_mean", "moving_mean"}, {"running_mean", "moving_mean"},
    {"moving_variance", "moving_variance"}, {"running_std", "moving_variance"},
};

/* "dense_1/kernel:0" -> kernel, "block1_conv1_W_1:0" -> kernel, unknown -> NULL. */
static const char *canon(const char *wname)
{
    char s[256];
    const char *base = strrchr(wname, '/') ? strrchr(wname, '/') + 1 : wname;
    snprintf(s, sizeof s, "%s", base);
    char *colon = strrchr(s, ':');
    if (colon && colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1))
        *colon = 0;
    /* Keras 1 under TensorFlow suffixed duplicates: "_W_1". */
    char *us = strrchr(s, '_');
    if (us && us[1] && strspn(us + 1, "0123456789") == strlen(us + 1) && us != s)
        *us = 0;
    const char *best = NULL;
    size_t bestlen = 0;
    size_t sl = strlen(s);
    for (size_t i = 0; i < sizeof canon_table / sizeof canon_table[0]; i++) {
        const char *t = canon_table[i][0];
        size_t tl = strlen(t);
        int hit = !strcmp(s, t) || (sl > tl && s[sl - tl - 1] == '_' && !strcmp(s + sl - tl, t));
        if (hit && tl > bestlen) {
            best = canon_table[i][1];
            bestlen = tl;
        }
    }
    return best;
}

/* Pairs a model layer's arrays with the file layer's weights by name when every name is
 * known and they are the same set; else by position. perm[a] = file index for array a. */
static void pair_arrays(const dn_wlayer *ml, const flayer *fl, int perm[4])
{
    for (int a = 0; a < ml->narrays; a++)
        perm[a] = a;
    const char *fc[4];
    for (int w = 0; w < fl->nw; w++)
        if (!(fc[w] = canon(fl->wnames[w])))
            return;
    int used[4] = {0};
    int p[4];
    for (int a = 0; a < ml->narrays; a++) {
        const char *mc = canon(ml->arrays[a].name);
        int found = -1;
        for (int w = 0; mc && w < fl->nw; w++)
            if (!used[w] && !strcmp(fc[w], mc)) {
                found = w;
                break;
            }
        if (found < 0)
            return;
        used[found] = 1;
        p[a] = found;
    }
    memcpy(perm, p, sizeof p);
}

static int open_file(loader *L)
{
    char why[768];
    if (dn_wfile_open(&L->F, L->path, &L->q, why, sizeof why) != 0)
        return fail(L, "%s", why);
    return 0;
}

static int model_has_weights(const dn_wlayer *l) { return l->narrays > 0; }

/* Lists names (of layers with weights) into buf for an error message. */
static void list_names(char *buf, size_t n, const char *const *names, int count)
{
    size_t k = 0;
    buf[0] = 0;
    for (int i = 0; i < count && k + 8 < n; i++) {
        if (i == 6 && count > 8) {
            snprintf(buf + k, n - k, ", ... %s", names[count - 1]);
            return;
        }
        k += (size_t)snprintf(buf + k, n - k, i ? ", %s" : "%s", names[i]);
    }
}

/* "dense_2", or "dense_2 (dense_1 in the file)" when the file knows the layer by another
 * name: its name in Keras 1/2 files, its group (what h5py shows) in Keras 3 files. */
static void who(char *buf, size_t n, const dn_wlayer *ml, const flayer *fl)
{
    const char *fname = fl->group ? fl->group : fl->name;
    if (strcmp(ml->name, fname))
        snprintf(buf, n, "%s (%s in the file)", ml->name, fname);
    else
        snprintf(buf, n, "%s", ml->name);
}

static int add_layer_items(loader *L, dn_wlayer *ml, const flayer *fl)
{
    if (fl->nested) {
        char w[300];
        who(w, sizeof w, ml, fl);
        return fail(L, "layer %s: the file keeps weights of it in '%s', a layer inside the "
                    "layer (a nested model?), which deepnb's layers do not have", w, fl->nested);
    }
    if (fl->nw != ml->narrays) {
        char fn[400], mn[400];
        list_names(fn, sizeof fn, (const char *const *)fl->wnames, fl->nw);
        const char *an[4];
        for (int a = 0; a < ml->narrays; a++)
            an[a] = ml->arrays[a].name;
        list_names(mn, sizeof mn, an, ml->narrays);
        char w[300];
        who(w, sizeof w, ml, fl);
        return fail(L, "layer %s: the file has %d weight array%s%s%s%s, the model has %d%s%s%s",
                    w, fl->nw, fl->nw == 1 ? "" : "s", fl->nw ? " (" : "", fn,
                    fl->nw ? ")" : "", ml->narrays, ml->narrays ? " (" : "", mn,
                    ml->narrays ? ")" : "");
    }
    int perm[4];
    pair_arrays(ml, fl, perm);
    for (int a = 0; a < ml->narrays; a++) {
        item *it = &L->items[L->nitems++];
        it->ml = ml;
        it->dst = &ml->arrays[a];
        it->fl = fl;
        it->fw = perm[a];
    }
    return 0;
}

static int check_model(loader *L, const dn_wlayer *layers, int nlayers)
{
    if (nlayers < 0 || (nlayers > 0 && !layers))
        return fail(L, "no model layers given");
    for (int i = 0; i < nlayers; i++) {
        const dn_wlayer *l = &layers[i];
        if (!memchr(l->name, 0, sizeof l->name) || !memchr(l->class_name, 0, sizeof l->class_name))
            return fail(L, "model layer %d has a name without an end", i);
        if (l->narrays < 0 || l->narrays > 4)
            return fail(L, "model layer %d has %d arrays", i, l->narrays);
        for (int a = 0; a < l->narrays; a++) {
            const dn_warray *w = &l->arrays[a];
            if (!memchr(w->name, 0, sizeof w->name))
                return fail(L, "model layer %s: array %d has a name without an end", l->name, a);
            if (w->ndim < 0 || w->ndim > 4)
                return fail(L, "model layer %s: %s has %d dimensions", l->name, w->name, w->ndim);
            for (int d = 0; d < w->ndim; d++)
                if (w->shape[d] < 0)
                    return fail(L, "model layer %s: %s has a negative size", l->name, w->name);
        }
    }
    return 0;
}

/* Pairs the model's layers with the file's of the same name (Keras 3: the name
 * attributes); model layers the file lacks keep their weights. */
static int pair_by_name(loader *L, dn_wlayer *layers, int nlayers, int total)
{
    int matched = 0;
    /* As Keras: a layer without weights whose namesake in the file has some is an
     * error (add_layer_items compares the counts). */
    for (int i = 0; i < nlayers; i++)
        for (int f = 0; f < L->F.n; f++)
            if (!strcmp(L->F.ls[f].name, layers[i].name)) {
                if (add_layer_items(L, &layers[i], &L->F.ls[f]) != 0)
                    return -1;
                matched += model_has_weights(&layers[i]);
                break;
            }
    if (matched == 0 && total > 0) {
        const char **fn = calloc((size_t)L->F.n + 1, sizeof *fn);
        const char **mn = calloc((size_t)nlayers + 1, sizeof *mn);
        int nf = 0, nm = 0;
        if (!fn || !mn) {
            free(fn);
            free(mn);
            return fail(L, "no layer of the model has a name found in the file");
        }
        for (int f = 0; f < L->F.n; f++)
            if (L->F.ls[f].nw > 0)
                fn[nf++] = L->F.ls[f].name;
        for (int i = 0; i < nlayers; i++)
            if (model_has_weights(&layers[i]))
                mn[nm++] = layers[i].name;
        char fl[600], ml[600];
        list_names(fl, sizeof fl, fn, nf);
        list_names(ml, sizeof ml, mn, nm);
        free(fn);
        free(mn);
        return fail(L, "no layer of the model has a name found in the file (the file's layers "
                    "with weights: %s; the model's: %s)", fl, ml);
    }
    return 0;
}

/* 1 when every model layer with weights has a namesake with weights in the file (one
 * without is another layer that happens to share the name: pair by class instead). */
static int all_names_found(const loader *L, const dn_wlayer *layers, int nlayers)
{
    for (int i = 0; i < nlayers; i++) {
        if (!model_has_weights(&layers[i]))
            continue;
        int found = 0;
        for (int f = 0; f < L->F.n && !found; f++)
            found = (L->F.ls[f].nw > 0 || L->F.ls[f].nested) &&
                    !strcmp(L->F.ls[f].name, layers[i].name);
        if (!found)
            return 0;
    }
    return 1;
}

/* Keras 3 without by_name: by name when that finds every layer, else by class and
 * number (weights_keras3.c). */
static int pair_keras3(loader *L, dn_wlayer *layers, int nlayers, int total)
{
    if (all_names_found(L, layers, nlayers))
        return pair_by_name(L, layers, nlayers, total);
    int *file_of = malloc(((size_t)nlayers + 1) * sizeof *file_of);
    if (!file_of)
        return fail(L, "out of memory");
    char why[1024];
    int rc = dn_k3_pair_by_order(&L->F, layers, nlayers, file_of, why, sizeof why);
    if (rc != 0)
        fail(L, "%s", why);
    for (int i = 0; rc == 0 && i < nlayers; i++)
        if (file_of[i] >= 0)
            rc = add_layer_items(L, &layers[i], &L->F.ls[file_of[i]]);
    free(file_of);
    return rc;
}

static int pair_layers(loader *L, dn_wlayer *layers, int nlayers, int by_name)
{
    int total = 0;
    for (int i = 0; i < nlayers; i++)
        total += layers[i].narrays;
    L->items = calloc((size_t)total + 1, sizeof *L->items);
    if (!L->items)
        return fail(L, "out of memory");

    if (by_name)
        return pair_by_name(L, layers, nlayers, total);
    if (L->F.layout == DN_WEIGHTS_KERAS3)
        return pair_keras3(L, layers, nlayers, total);

    const char **fnames = calloc((size_t)L->F.n + 1, sizeof *fnames);
    const char **mnames = calloc((size_t)nlayers + 1, sizeof *mnames);
    const flayer **fw = calloc((size_t)L->F.n + 1, sizeof *fw);
    dn_wlayer **mw = calloc((size_t)nlayers + 1, sizeof *mw);
    int nf = 0, nm = 0, rc = 0;
    if (!fnames || !mnames || !fw || !mw) {
        rc = fail(L, "out of memory");
        goto out;
    }
    for (int f = 0; f < L->F.n; f++)
        if (L->F.ls[f].nw > 0) {
            fw[nf] = &L->F.ls[f];
            fnames[nf++] = L->F.ls[f].name;
        }
    for (int i = 0; i < nlayers; i++)
        if (model_has_weights(&layers[i])) {
            mw[nm] = &layers[i];
            mnames[nm++] = layers[i].name;
        }
    if (nf != nm) {
        char fl[600], ml[600];
        list_names(fl, sizeof fl, fnames, nf);
        list_names(ml, sizeof ml, mnames, nm);
        rc = fail(L, "the file has %d layer%s with weights (%s), the model has %d (%s)",
                  nf, nf == 1 ? "" : "s", fl, nm, ml);
        goto out;
    }
    for (int k = 0; k < nm && rc == 0; k++)
        rc = add_layer_items(L, mw[k], fw[k]);
out:
    free(fnames);
    free(mnames);
    free(fw);
    free(mw);
    return rc;
}

/* Decides how the file's array maps onto the model's shape; -1 + err on a mismatch. */
static int plan_item(loader *L, item *it, const long long *fd, int fnd)
{
    const dn_warray *w = it->dst;
    long long m[4];
    for (int d = 0; d < w->ndim; d++)
        m[d] = w->shape[d];
    int direct = fnd == w->ndim;
    for (int d = 0; direct && d < fnd; d++)
        direct = fd[d] == m[d];
    int conv = w->ndim == 4 && !strcmp(w->name, "kernel") &&
               !strstr(it->ml->class_name, "Transpose");
    int th = conv && L->F.keras1 && fnd == 4 && fd[0] == m[3] && fd[1] == m[2] &&
             fd[2] == m[0] && fd[3] == m[1];
    if (!direct && !th) {
        char fs[160], ms[160];
        dn_wfile_fmt_shape(fs, sizeof fs, fnd, fd);
        dn_wfile_fmt_shape(ms, sizeof ms, w->ndim, m);
        char wh[300];
        who(wh, sizeof wh, it->ml, it->fl);     /* paired by order under another name? */
        return fail(L, "layer %s: the file has %s %s, the model has %s", wh, w->name, fs, ms);
    }
    it->transpose = th && (!direct || L->F.theano);
    it->flip = conv && L->F.theano;
    return 0;
}

static int check_items(loader *L)
{
    for (int i = 0; i < L->nitems; i++) {
        item *it = &L->items[i];
        const char *wn = it->fl->wnames[it->fw];
        if (H5Lexists(it->fl->g, wn, H5P_DEFAULT) <= 0) {
            H5Eclear2(H5E_DEFAULT);
            /* H5Lexists fails on a path whose middle part is missing: same answer. */
            return fail(L, "layer %s: weight '%s' is listed but not in the file",
                        it->fl->name, wn);
        }
        long long fd[H5S_MAX_RANK];
        int kind;
        int fnd = dn_wfile_shape(it->fl, it->fw, fd, &kind);
        if (fnd < 0)
            return fail(L, "layer %s: cannot read the shape of '%s'", it->fl->name, wn);
        if (kind == DN_WFILE_BFLOAT16)
            return fail(L, "layer %s: '%s' holds bfloat16 values, which deepnb does not "
                        "convert (save the model with float32 variables)", it->fl->name, wn);
        if (kind != DN_WFILE_NUMBERS)
            return fail(L, "layer %s: '%s' does not hold numbers", it->fl->name, wn);
        if (plan_item(L, it, fd, fnd) != 0)
            return -1;
    }
    return 0;
}

static int isqrt_exact(long n)
{
    long r = 0;
    while ((r + 1) * (r + 1) <= n)
        r++;
    return r * r == n ? (int)r : -1;
}

/* After a channels-first file: finds the Dense kernel that follows each Flatten and
 * plans the reordering of its rows from (c, h, w) to (h, w, c). */
static int plan_flatten_dense(loader *L, dn_wlayer *layers, int nlayers)
{
    int any_th = 0;
    for (int i = 0; i < L->nitems; i++)
        any_th |= L->items[i].transpose;
    if (!any_th)
        return 0;
    int channels = 0, after_flatten = 0;
    for (int i = 0; i < nlayers; i++) {
        dn_wlayer *l = &layers[i];
        if (!strcmp(l->class_name, "Flatten"))
            after_flatten = 1;
        for (int a = 0; a < l->narrays; a++) {
            dn_warray *w = &l->arrays[a];
            if (strcmp(w->name, "kernel"))
                continue;
            if (w->ndim == 4 && !after_flatten)
                channels = w->shape[3];
            if (w->ndim != 2 || !after_flatten)
                continue;
            after_flatten = 0;
            for (int k = 0; k < L->nitems; k++) {
                if (L->items[k].dst != w)
                    continue;
                int hw = channels > 0 && w->shape[0] % channels == 0 ? w->shape[0] / channels : 0;
                int side = hw > 0 ? isqrt_exact(hw) : -1;
                if (side < 0)
                    return fail(L, "layer %s: the file comes from a channels-first (Theano "
                                "ordered) model; its Dense rows after Flatten must be "
                                "reordered, which needs a square feature map (%d rows, %d "
                                "channels)", l->name, w->shape[0], channels);
                L->items[k].fm_c = channels;
                L->items[k].fm_h = L->items[k].fm_w = side;
            }
        }
    }
    return 0;
}

/* Rows of a Dense kernel from (c, h, w) order to (h, w, c); cols values per row. */
static void reorder_rows(const float *src, float *dst, int c, int h, int w, int cols)
{
    for (int ci = 0; ci < c; ci++)
        for (int hi = 0; hi < h; hi++)
            for (int wi = 0; wi < w; wi++)
                memcpy(dst + ((size_t)(hi * w + wi) * c + ci) * cols,
                       src + ((size_t)(ci * h + hi) * w + wi) * cols, (size_t)cols * sizeof(float));
}

/* (kh,kw,in,out) model layout from the file's order, turned 180 degrees when flip. */
static void convert_kernel(const float *src, float *dst, const int *m, int transpose, int flip)
{
    size_t kh = (size_t)m[0], kw = (size_t)m[1], ci = (size_t)m[2], co = (size_t)m[3];
    for (size_t i = 0; i < kh; i++)
        for (size_t j = 0; j < kw; j++) {
            size_t si = flip ? kh - 1 - i : i, sj = flip ? kw - 1 - j : j;
            for (size_t c = 0; c < ci; c++)
                for (size_t o = 0; o < co; o++) {
                    size_t s = transpose ? ((o * ci + c) * kh + si) * kw + sj
                                         : ((si * kw + sj) * ci + c) * co + o;
                    dst[((i * kw + j) * ci + c) * co + o] = src[s];
                }
        }
}

static size_t count_of(const dn_warray *w)
{
    size_t n = 1;
    for (int d = 0; d < w->ndim; d++)
        n *= (size_t)w->shape[d];
    return n;
}

static int read_items(loader *L)
{
    for (int i = 0; i < L->nitems; i++) {
        item *it = &L->items[i];
        size_t n = count_of(it->dst);
        if (n > 0 && !it->dst->data)
            return fail(L, "model layer %s: %s has no buffer", it->ml->name, it->dst->name);
        if (n > SIZE_MAX / sizeof(float) - 1)
            return fail(L, "layer %s: %s is too large", it->ml->name, it->dst->name);
        it->vals = malloc((n ? n : 1) * sizeof(float));
        if (!it->vals)
            return fail(L, "out of memory reading layer %s", it->ml->name);
        const char *wn = it->fl->wnames[it->fw];
        hid_t ds = H5Dopen2(it->fl->g, wn, H5P_DEFAULT);
        /* HDF5 converts float64/float16/integers and either byte order to native float. */
        herr_t r = ds >= 0 ? H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                                     it->vals) : -1;
        if (ds >= 0)
            H5Dclose(ds);
        if (r < 0) {
            char why[512];
            dn_h5_reason(&L->q, ".", why, sizeof why);
            return fail(L, "layer %s: cannot read '%s' (%s)", it->fl->name, wn, why);
        }
        if (it->transpose || it->flip) {
            float *conv = malloc(n * sizeof(float));
            if (!conv)
                return fail(L, "out of memory reading layer %s", it->ml->name);
            convert_kernel(it->vals, conv, it->dst->shape, it->transpose, it->flip);
            free(it->vals);
            it->vals = conv;
        }
        if (it->fm_c > 0) {
            float *rows = malloc(n * sizeof(float));
            if (!rows)
                return fail(L, "out of memory reading layer %s", it->ml->name);
            reorder_rows(it->vals, rows, it->fm_c, it->fm_h, it->fm_w, it->dst->shape[1]);
            free(it->vals);
            it->vals = rows;
        }
    }
    return 0;
}

static void loader_free(loader *L)
{
    for (int i = 0; i < L->nitems; i++)
        free(L->items[i].vals);
    free(L->items);
    dn_wfile_close(&L->F);
}

int dn_weights_load_h5(const char *path, dn_wlayer *layers, int nlayers, int by_name,
                       char *err, size_t errlen)
{
    loader L = {0};
    L.path = path ? path : "";
    L.err = err;
    L.errlen = errlen;
    L.F.fid = L.F.root = -1;
    dn_h5_quiet_begin(&L.q);
    int rc = -1;
    if (!path || !*path) {
        snprintf(err, errlen, "cannot load weights: no file name given");
        goto out;
    }
    if (check_model(&L, layers, nlayers) != 0 || open_file(&L) != 0 ||
        pair_layers(&L, layers, nlayers, by_name) != 0 ||
        check_items(&L) != 0 || plan_flatten_dense(&L, layers, nlayers) != 0 ||
        read_items(&L) != 0)
        goto out;
    /* Every array is read and converted: only now does the model change. */
    for (int i = 0; i < L.nitems; i++) {
        size_t n = count_of(L.items[i].dst);
        if (n)
            memcpy(L.items[i].dst->data, L.items[i].vals, n * sizeof(float));
    }
    rc = 0;
out:
    loader_free(&L);
    dn_h5_quiet_end(&L.q);
    return rc;
}
