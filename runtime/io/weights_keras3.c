/* weights_keras3.c — Keras 3's `.weights.h5` layout: listing a file's layers, pairing them
 * with a model's, writing one (see weights_file.h and weights.h).
 *
 * What Keras 3.15's save_weights writes (and tf.keras 2.13+ for a `.weights.h5` name):
 *   /vars                        the model's own variables (none for Sequential), attr
 *                                name = the model's name ("sequential")
 *   /layers/<group>/vars         one per layer, weightless ones too, attr name = the
 *                                layer's name (tf.keras writes no name attributes);
 *                                datasets "0", "1", ... in the layer's variable order
 *   /optimizer/vars              the optimiser's variables (after compile, when built)
 * The group is not the layer's name: Keras' saving_lib names each layer of a container
 * after its class in snake case, numbered per class in the container's order ("dense",
 * "dense_1", ...), so that two builds of one model address their weights alike whatever
 * their (session-numbered or user-given) names. Loading looks the groups up by those
 * paths; groups the model does not ask for are ignored, a missing one is an error. */
#include "weights_file.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *dn_k3_layers_group(hid_t root, int *any_vars)
{
    static const char *const names[] = {"layers", "_layer_checkpoint_dependencies"};
    const char *found = NULL;
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !found; i++)
        if (H5Lexists(root, names[i], H5P_DEFAULT) > 0)
            found = names[i];
    *any_vars = H5Lexists(root, "vars", H5P_DEFAULT) > 0;
    H5Eclear2(H5E_DEFAULT);
    return found;
}

void dn_k3_snake_case(const char *class_name, char *out, size_t n)
{
    size_t len = strlen(class_name);
    char *a = malloc(len + 1), *b = malloc(2 * len + 1), *c = malloc(4 * len + 1);
    if (!a || !b || !c) {
        snprintf(out, n, "%s", "");
        free(a);
        free(b);
        free(c);
        return;
    }
    /* re.sub(r"\W+", "", name): ASCII non-word characters go; UTF-8 bytes stay. */
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)class_name[i];
        if (isalnum(ch) || ch == '_' || ch >= 0x80)
            a[k++] = (char)ch;
    }
    a[k] = 0;
    len = k;
    /* re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name), scanning as re does: left to right,
     * matches do not overlap. */
    k = 0;
    for (size_t i = 0; i < len;) {
        b[k++] = a[i];
        if (i + 2 < len && isupper((unsigned char)a[i + 1]) && islower((unsigned char)a[i + 2])) {
            b[k++] = '_';
            b[k++] = a[i + 1];
            size_t j = i + 2;
            while (j < len && islower((unsigned char)a[j]))
                b[k++] = a[j++];
            i = j;
        } else {
            i++;
        }
    }
    b[k] = 0;
    len = k;
    /* re.sub("([a-z])([A-Z])", r"\1_\2", name).lower() */
    k = 0;
    for (size_t i = 0; i < len;) {
        if (i + 1 < len && islower((unsigned char)b[i]) && isupper((unsigned char)b[i + 1])) {
            c[k++] = b[i];
            c[k++] = '_';
            c[k++] = b[i + 1];
            i += 2;
        } else {
            c[k++] = b[i++];
        }
    }
    c[k] = 0;
    for (size_t i = 0; i < k; i++)
        if ((unsigned char)c[i] < 0x80)
            c[i] = (char)tolower((unsigned char)c[i]);
    snprintf(out, n, "%s", c);
    free(a);
    free(b);
    free(c);
}

/* ---- listing ---- */

typedef struct names {
    char **v;
    int n, cap;
    int oom;
} names;

static herr_t collect(hid_t g, const char *name, const H5L_info_t *info, void *data)
{
    (void)g;
    (void)info;
    names *s = data;
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 16;
        char **v = realloc(s->v, (size_t)cap * sizeof *v);
        if (!v) {
            s->oom = 1;
            return -1;
        }
        s->v = v;
        s->cap = cap;
    }
    if (!(s->v[s->n] = strdup(name))) {
        s->oom = 1;
        return -1;
    }
    s->n++;
    return 0;
}

/* The names of g's links in alphabetical order. 0 or -1 (out of memory or HDF5). */
static int list_links(hid_t g, names *s)
{
    memset(s, 0, sizeof *s);
    hsize_t idx = 0;
    herr_t r = H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, &idx, collect, s);
    H5Eclear2(H5E_DEFAULT);
    return r < 0 || s->oom ? -1 : 0;
}

static void free_names(names *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* 1 when a dataset lies anywhere below g (links that lead nowhere are passed over). */
static int has_datasets(hid_t g, int depth)
{
    names s;
    if (depth > 32 || list_links(g, &s) != 0)
        return 0;
    int found = 0;
    for (int i = 0; i < s.n && !found; i++) {
        hid_t o = H5Oopen(g, s.v[i], H5P_DEFAULT);
        if (o < 0) {
            H5Eclear2(H5E_DEFAULT);
            continue;
        }
        H5I_type_t t = H5Iget_type(o);
        if (t == H5I_DATASET)
            found = 1;
        else if (t == H5I_GROUP)
            found = has_datasets(o, depth + 1);
        H5Oclose(o);
    }
    free_names(&s);
    return found;
}

/* "dense_12" -> prefix "dense", 12; "dense" -> "dense", 0. Keras never writes "_0" or
 * leading zeros: such a suffix is part of the name. */
static int split_group(const char *group, char **prefix, long *index)
{
    const char *us = strrchr(group, '_');
    *index = 0;
    if (us && us != group && us[1] && us[1] != '0' && strlen(us + 1) < 10 &&
        strspn(us + 1, "0123456789") == strlen(us + 1)) {
        *index = strtol(us + 1, NULL, 10);
        *prefix = strndup(group, (size_t)(us - group));
    } else {
        *prefix = strdup(group);
    }
    return *prefix ? 0 : -1;
}

static int cmp_layers(const void *pa, const void *pb)
{
    const dn_wfile_layer *a = pa, *b = pb;
    int c = strcmp(a->prefix, b->prefix);
    if (c)
        return c;
    return (a->index > b->index) - (a->index < b->index);
}

/* The string in attribute "name" of obj into a malloc'd copy; NULL when absent. */
static char *name_attr(hid_t obj)
{
    char buf[512], msg[128];
    int found = 0;
    if (H5Aexists(obj, "name") <= 0 ||
        dn_h5_read_string(obj, "name", buf, sizeof buf, &found, msg, sizeof msg) != 0 || !found) {
        H5Eclear2(H5E_DEFAULT);
        return NULL;
    }
    return strdup(buf);
}

/* One layer group: its vars (datasets "0".."n-1"), name and any weights kept elsewhere. */
static int list_layer(hid_t lg, dn_wfile_layer *l, char *err, size_t errlen)
{
    hid_t g = H5Gopen2(lg, l->group, H5P_DEFAULT);
    if (g < 0) {
        H5Eclear2(H5E_DEFAULT);
        snprintf(err, errlen, "cannot open its layer group '%s'", l->group);
        return -1;
    }
    int rc = -1;
    names sub;
    if (list_links(g, &sub) != 0) {
        snprintf(err, errlen, "cannot list the layer group '%s'", l->group);
        H5Gclose(g);
        return -1;
    }
    for (int i = 0; i < sub.n; i++) {
        if (!strcmp(sub.v[i], "vars"))
            continue;
        hid_t o = H5Oopen(g, sub.v[i], H5P_DEFAULT);
        if (o < 0) {
            H5Eclear2(H5E_DEFAULT);
            continue;
        }
        int nested = H5Iget_type(o) == H5I_DATASET ||
                     (H5Iget_type(o) == H5I_GROUP && has_datasets(o, 0));
        H5Oclose(o);
        if (nested && !l->nested) {
            size_t len = strlen(l->group) + strlen(sub.v[i]) + 2;
            if (!(l->nested = malloc(len))) {
                snprintf(err, errlen, "out of memory");
                goto out;
            }
            snprintf(l->nested, len, "%s/%s", l->group, sub.v[i]);
        }
    }
    if (H5Lexists(g, "vars", H5P_DEFAULT) > 0)
        l->g = H5Gopen2(g, "vars", H5P_DEFAULT);
    H5Eclear2(H5E_DEFAULT);
    if (l->g >= 0) {
        l->name = name_attr(l->g);
        H5G_info_t gi;
        if (H5Gget_info(l->g, &gi) < 0) {
            H5Eclear2(H5E_DEFAULT);
            snprintf(err, errlen, "cannot list '%s/vars'", l->group);
            goto out;
        }
        /* Variables are "0", "1", ...: numbered, not sorted by name ("10" < "2"). */
        int nw = 0;
        char key[24];
        for (;; nw++) {
            snprintf(key, sizeof key, "%d", nw);
            if (H5Lexists(l->g, key, H5P_DEFAULT) <= 0)
                break;
        }
        H5Eclear2(H5E_DEFAULT);
        if ((hsize_t)nw != gi.nlinks) {
            snprintf(err, errlen, "layer group '%s': its vars hold %llu entries, not just "
                     "the numbered variables 0 to %d Keras writes", l->group,
                     (unsigned long long)gi.nlinks, nw - 1);
            goto out;
        }
        l->wnames = calloc((size_t)nw + 1, sizeof *l->wnames);
        if (!l->wnames) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
        for (int w = 0; w < nw; w++) {
            snprintf(key, sizeof key, "%d", w);
            if (!(l->wnames[w] = strdup(key))) {
                snprintf(err, errlen, "out of memory");
                goto out;
            }
            l->nw = w + 1;
        }
    }
    if (!l->name && !(l->name = strdup(l->group))) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    rc = 0;
out:
    free_names(&sub);
    H5Gclose(g);
    return rc;
}

int dn_k3_list(dn_wfile *f, char *err, size_t errlen)
{
    int any_vars = 0;
    const char *lname = dn_k3_layers_group(f->root, &any_vars);
    if (any_vars) {
        hid_t v = H5Gopen2(f->root, "vars", H5P_DEFAULT);
        if (v >= 0) {
            char *mn = name_attr(v);
            if (mn)
                snprintf(f->model_name, sizeof f->model_name, "%s", mn);
            free(mn);
            H5Gclose(v);
        }
        H5Eclear2(H5E_DEFAULT);
    }
    if (H5Lexists(f->root, "optimizer", H5P_DEFAULT) > 0) {
        hid_t o = H5Gopen2(f->root, "optimizer", H5P_DEFAULT);
        if (o >= 0) {
            f->has_optimizer = has_datasets(o, 0);
            H5Gclose(o);
        }
    }
    H5Eclear2(H5E_DEFAULT);
    if (!lname)
        return 0;   /* a model without layers */
    hid_t lg = H5Gopen2(f->root, lname, H5P_DEFAULT);
    if (lg < 0) {
        H5Eclear2(H5E_DEFAULT);
        snprintf(err, errlen, "cannot open its '%s' group", lname);
        return -1;
    }
    names s;
    int rc = -1;
    if (list_links(lg, &s) != 0) {
        snprintf(err, errlen, "cannot list its '%s' group", lname);
        H5Gclose(lg);
        return -1;
    }
    f->ls = calloc((size_t)s.n + 1, sizeof *f->ls);
    if (!f->ls) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (int i = 0; i < s.n; i++) {
        dn_wfile_layer *l = &f->ls[f->n++];
        l->g = -1;
        l->group = s.v[i];
        s.v[i] = NULL;      /* now owned by the layer */
        if (split_group(l->group, &l->prefix, &l->index) != 0) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
        if (list_layer(lg, l, err, errlen) != 0)
            goto out;
    }
    qsort(f->ls, (size_t)f->n, sizeof *f->ls, cmp_layers);
    rc = 0;
out:
    free_names(&s);
    H5Gclose(lg);
    return rc;
}

/* ---- pairing a model with a file by class and number ---- */

typedef struct buf {
    char *p;
    size_t n, k;
    int full;
} buf;

static void put(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(buf *b, const char *fmt, ...)
{
    if (b->full || b->k >= b->n)
        return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(b->p + b->k, b->n - b->k, fmt, ap);
    va_end(ap);
    if (w < 0 || (size_t)w >= b->n - b->k)
        b->full = 1;
    else
        b->k += (size_t)w;
}

/* Shapes of a file layer's arrays: "(3, 3, 1, 4) (4,)", or "4 x (4,)" when all alike. */
static void file_shapes(const dn_wfile_layer *l, char *out, size_t n)
{
    char first[160] = "", s[160];
    buf b = {out, n, 0, 0};
    out[0] = 0;
    int same = 1;
    long long d[H5S_MAX_RANK];
    for (int w = 0; w < l->nw; w++) {
        int kind;
        int nd = dn_wfile_shape(l, w, d, &kind);
        if (nd < 0)
            snprintf(s, sizeof s, "(?)");
        else
            dn_wfile_fmt_shape(s, sizeof s, nd, d);
        if (w == 0)
            snprintf(first, sizeof first, "%s", s);
        else if (strcmp(first, s))
            same = 0;
        put(&b, w ? " %s" : "%s", s);
    }
    if (same && l->nw > 1)
        snprintf(out, n, "%d x %s", l->nw, first);
}

static void model_shapes(const dn_wlayer *l, char *out, size_t n)
{
    buf b = {out, n, 0, 0};
    out[0] = 0;
    int same = 1;
    for (int a = 0; a < l->narrays; a++) {
        long long d[4];
        char s[160];
        for (int k = 0; k < l->arrays[a].ndim; k++)
            d[k] = l->arrays[a].shape[k];
        dn_wfile_fmt_shape(s, sizeof s, l->arrays[a].ndim, d);
        if (a > 0 && (l->arrays[a].ndim != l->arrays[0].ndim ||
                      memcmp(l->arrays[a].shape, l->arrays[0].shape,
                             sizeof(int) * (size_t)l->arrays[0].ndim)))
            same = 0;
        put(&b, a ? " %s" : "%s", s);
    }
    if (same && l->narrays > 1) {
        char s[160];
        long long d[4];
        for (int k = 0; k < l->arrays[0].ndim; k++)
            d[k] = l->arrays[0].shape[k];
        dn_wfile_fmt_shape(s, sizeof s, l->arrays[0].ndim, d);
        snprintf(out, n, "%d x %s", l->narrays, s);
    }
}

static int file_has_weights(const dn_wfile_layer *l) { return l->nw > 0 || l->nested; }

/* "; the file has 3 layers with weights: conv2d (3, 3, 1, 4) (4,), ...; the model has 3:
 * conv2d_1 Conv2D (3, 3, 1, 4) (4,), ..." appended to b, each list cut to fit. */
static void both_lists(buf *b, const dn_wfile *f, const dn_wlayer *layers, int nlayers)
{
    int nf = 0, nm = 0;
    for (int i = 0; i < f->n; i++)
        nf += file_has_weights(&f->ls[i]);
    for (int i = 0; i < nlayers; i++)
        nm += layers[i].narrays > 0;
    size_t room = b->n > b->k ? (b->n - b->k) / 2 : 0;
    char item[1024], shapes[320];
    put(b, "; the file has %d layer%s with weights%s", nf, nf == 1 ? "" : "s", nf ? ":" : "");
    size_t stop = b->k + room;
    int shown = 0;
    for (int i = 0; i < f->n; i++) {
        const dn_wfile_layer *l = &f->ls[i];
        if (!file_has_weights(l))
            continue;
        file_shapes(l, shapes, sizeof shapes);
        if (strcmp(l->name, l->group))
            snprintf(item, sizeof item, "%s \"%s\" %s", l->group, l->name, shapes);
        else
            snprintf(item, sizeof item, "%s %s", l->group, shapes);
        if (l->nested)
            snprintf(item + strlen(item), sizeof item - strlen(item), " + weights in %s",
                     l->nested);
        if (b->k + strlen(item) + 24 > stop) {
            put(b, ", ... (%d more)", nf - shown);
            break;
        }
        put(b, shown ? ", %s" : " %s", item);
        shown++;
    }
    put(b, "; the model has %d%s", nm, nm ? ":" : "");
    shown = 0;
    for (int i = 0; i < nlayers; i++) {
        const dn_wlayer *l = &layers[i];
        if (l->narrays <= 0)
            continue;
        model_shapes(l, shapes, sizeof shapes);
        snprintf(item, sizeof item, "%s %s %s", l->name, l->class_name, shapes);
        if (b->k + strlen(item) + 24 > b->n) {
            put(b, ", ... (%d more)", nm - shown);
            break;
        }
        put(b, shown ? ", %s" : " %s", item);
        shown++;
    }
}

/* 1 when file layer fl's arrays have exactly model layer ml's shapes. */
static int same_shapes(const dn_wfile_layer *fl, const dn_wlayer *ml)
{
    if (fl->nested || fl->nw != ml->narrays)
        return 0;
    long long d[H5S_MAX_RANK];
    for (int a = 0; a < ml->narrays; a++) {
        int kind;
        int nd = dn_wfile_shape(fl, a, d, &kind);
        if (nd != ml->arrays[a].ndim)
            return 0;
        for (int k = 0; k < nd; k++)
            if (d[k] != ml->arrays[a].shape[k])
                return 0;
    }
    return 1;
}

typedef struct klass {
    char snake[160];    /* model: the class in snake case; file: the group prefix */
    const char *cls;    /* model: the class name */
    int *idx;           /* model: layer indices in model order; file: indices into ls */
    int n;
    int paired;         /* the other side's klass index + 1, 0 while unpaired */
} klass;

/* The names of a klass's layers, "dense_1, dense_2", for a sentence. */
static void klass_names(const klass *k, const dn_wfile *f, const dn_wlayer *layers,
                        char *out, size_t n)
{
    buf b = {out, n, 0, 0};
    out[0] = 0;
    for (int i = 0; i < k->n; i++) {
        const char *nm = layers ? layers[k->idx[i]].name : f->ls[k->idx[i]].group;
        if (i == 6 && k->n > 8) {
            put(&b, ", ... %s", layers ? layers[k->idx[k->n - 1]].name
                                       : f->ls[k->idx[k->n - 1]].group);
            break;
        }
        put(&b, i ? ", %s" : "%s", nm);
    }
}

int dn_k3_pair_by_order(const dn_wfile *f, const dn_wlayer *layers, int nlayers,
                        int *file_of, char *err, size_t errlen)
{
    klass *mk = calloc((size_t)nlayers + 1, sizeof *mk);
    klass *fk = calloc((size_t)f->n + 1, sizeof *fk);
    int *midx = calloc((size_t)nlayers + 1, sizeof *midx);
    int *fidx = calloc((size_t)f->n + 1, sizeof *fidx);
    int nmk = 0, nfk = 0, rc = -1;
    char why[1200] = "";
    buf b = {err, errlen, 0, 0};
    if (!mk || !fk || !midx || !fidx) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (int i = 0; i < nlayers; i++)
        file_of[i] = -1;

    /* The model's layers with weights by class, each class's in model order. */
    for (int i = 0; i < nlayers; i++) {
        if (layers[i].narrays <= 0)
            continue;
        char snake[160];
        dn_k3_snake_case(layers[i].class_name, snake, sizeof snake);
        int k = 0;
        while (k < nmk && strcmp(mk[k].snake, snake))
            k++;
        if (k == nmk) {
            snprintf(mk[k].snake, sizeof mk[k].snake, "%s", snake);
            mk[k].cls = layers[i].class_name;
            nmk++;
        }
    }
    /* Lay each class's indices out contiguously. */
    int at = 0;
    for (int k = 0; k < nmk; k++) {
        mk[k].idx = midx + at;
        for (int i = 0; i < nlayers; i++) {
            if (layers[i].narrays <= 0)
                continue;
            char snake[160];
            dn_k3_snake_case(layers[i].class_name, snake, sizeof snake);
            if (!strcmp(snake, mk[k].snake))
                mk[k].idx[mk[k].n++] = i;
        }
        at += mk[k].n;
    }
    /* The file's layers with weights by prefix: ls is sorted by prefix, then number. */
    at = 0;
    for (int i = 0; i < f->n; i++) {
        const dn_wfile_layer *l = &f->ls[i];
        if (!file_has_weights(l))
            continue;
        if (nfk == 0 || strcmp(fk[nfk - 1].snake, l->prefix)) {
            snprintf(fk[nfk].snake, sizeof fk[nfk].snake, "%s", l->prefix);
            fk[nfk].idx = fidx + at;
            nfk++;
        }
        fk[nfk - 1].idx[fk[nfk - 1].n++] = i;
        at++;
    }

    /* Classes whose snake-case name is a prefix of the file's. */
    for (int k = 0; k < nmk; k++)
        for (int j = 0; j < nfk; j++)
            if (!fk[j].paired && !strcmp(mk[k].snake, fk[j].snake)) {
                mk[k].paired = j + 1;
                fk[j].paired = k + 1;
                break;
            }
    /* The others by their shapes: the one unpaired file class whose layers have the
     * model class's shapes, one by one -- and no other model class's. */
    for (int k = 0; k < nmk; k++) {
        if (mk[k].paired)
            continue;
        int hit = -1, hits = 0;
        for (int j = 0; j < nfk; j++) {
            if (fk[j].paired || fk[j].n != mk[k].n)
                continue;
            int ok = 1;
            for (int i = 0; ok && i < mk[k].n; i++)
                ok = same_shapes(&f->ls[fk[j].idx[i]], &layers[mk[k].idx[i]]);
            if (ok) {
                hit = j;
                hits++;
            }
        }
        char mn[300];
        klass_names(&mk[k], f, layers, mn, sizeof mn);
        if (hits == 0) {
            snprintf(why, sizeof why, "the model's %s layer%s (%s) find%s no layers of the "
                     "file: none is named '%s...' and no other class there has %s shapes",
                     mk[k].cls, mk[k].n == 1 ? "" : "s", mn, mk[k].n == 1 ? "s" : "",
                     mk[k].snake, mk[k].n == 1 ? "its" : "their");
            goto fail;
        }
        if (hits > 1) {
            snprintf(why, sizeof why, "the model's %s layer%s (%s) could be several classes "
                     "of the file's by their shapes, which is ambiguous: name the model's "
                     "layers as the file names its layers, or load by name", mk[k].cls,
                     mk[k].n == 1 ? "" : "s", mn);
            goto fail;
        }
        for (int o = k + 1; o < nmk; o++) {
            if (mk[o].paired || mk[o].n != fk[hit].n)
                continue;
            int ok = 1;
            for (int i = 0; ok && i < mk[o].n; i++)
                ok = same_shapes(&f->ls[fk[hit].idx[i]], &layers[mk[o].idx[i]]);
            if (ok) {
                snprintf(why, sizeof why, "the file's '%s' layers fit the model's %s and %s "
                         "layers alike by their shapes, which is ambiguous", fk[hit].snake,
                         mk[k].cls, mk[o].cls);
                goto fail;
            }
        }
        mk[k].paired = hit + 1;
        fk[hit].paired = k + 1;
    }
    for (int k = 0; k < nmk; k++) {
        const klass *fc = &fk[mk[k].paired - 1];
        if (fc->n != mk[k].n) {
            char mn[300], fn[300];
            klass_names(&mk[k], f, layers, mn, sizeof mn);
            klass_names(fc, f, NULL, fn, sizeof fn);
            snprintf(why, sizeof why, "the file has %d '%s' layer%s with weights (%s), the "
                     "model has %d %s layer%s (%s)", fc->n, fc->snake, fc->n == 1 ? "" : "s",
                     fn, mk[k].n, mk[k].cls, mk[k].n == 1 ? "" : "s", mn);
            goto fail;
        }
    }
    for (int j = 0; j < nfk; j++)
        if (!fk[j].paired) {
            char fn[300];
            klass_names(&fk[j], f, NULL, fn, sizeof fn);
            snprintf(why, sizeof why, "the file's layer%s %s ha%s no counterpart in the model",
                     fk[j].n == 1 ? "" : "s", fn, fk[j].n == 1 ? "s" : "ve");
            goto fail;
        }
    for (int k = 0; k < nmk; k++)
        for (int i = 0; i < mk[k].n; i++)
            file_of[mk[k].idx[i]] = fk[mk[k].paired - 1].idx[i];
    rc = 0;
    goto out;
fail:
    put(&b, "its layers do not pair with the model's by class and order: %s", why);
    both_lists(&b, f, layers, nlayers);
out:
    free(mk);
    free(fk);
    free(midx);
    free(fidx);
    return rc;
}

/* ---- writing ---- */

int dn_k3_write(hid_t fid, const dn_h5_untimed *u, const dn_wlayer *layers, int nlayers,
                const char *model_name)
{
    int rc = -1;
    hid_t lg = -1;
    char (*snakes)[160] = calloc((size_t)nlayers + 1, sizeof *snakes);
    int *counts = calloc((size_t)nlayers + 1, sizeof *counts);
    if (!snakes || !counts)
        goto out;
    /* As Keras' _save_state: the model's own (empty) variables first, then its layers. */
    hid_t v = H5Gcreate2(fid, "vars", H5P_DEFAULT, u->gcpl, H5P_DEFAULT);
    if (v < 0)
        goto out;
    int w = dn_h5_write_vlen_string(v, "name", model_name);
    H5Gclose(v);
    if (w != 0)
        goto out;
    lg = H5Gcreate2(fid, "layers", H5P_DEFAULT, u->gcpl, H5P_DEFAULT);
    if (lg < 0)
        goto out;
    int nsnakes = 0;
    for (int i = 0; i < nlayers; i++) {
        const dn_wlayer *l = &layers[i];
        char snake[160], group[200];
        dn_k3_snake_case(l->class_name, snake, sizeof snake);
        int k = 0;
        while (k < nsnakes && strcmp(snakes[k], snake))
            k++;
        if (k == nsnakes)
            snprintf(snakes[nsnakes++], sizeof snakes[0], "%s", snake);
        /* Keras' _get_unique_name: "dense", then "dense_1", "dense_2", ... */
        if (counts[k]++ == 0)
            snprintf(group, sizeof group, "%s", snake);
        else
            snprintf(group, sizeof group, "%s_%d", snake, counts[k] - 1);
        hid_t g = H5Gcreate2(lg, group, H5P_DEFAULT, u->gcpl, H5P_DEFAULT);
        if (g < 0)
            goto out;
        hid_t vars = H5Gcreate2(g, "vars", H5P_DEFAULT, u->gcpl, H5P_DEFAULT);
        H5Gclose(g);
        if (vars < 0)
            goto out;
        int ok = dn_h5_write_vlen_string(vars, "name", l->name) == 0;
        for (int a = 0; ok && a < l->narrays; a++) {
            const dn_warray *arr = &l->arrays[a];
            hsize_t dims[4];
            for (int d = 0; d < arr->ndim; d++)
                dims[d] = (hsize_t)arr->shape[d];
            char key[16];
            snprintf(key, sizeof key, "%d", a);
            hid_t sp = arr->ndim ? H5Screate_simple(arr->ndim, dims, NULL) : H5Screate(H5S_SCALAR);
            hid_t ds = sp >= 0 ? H5Dcreate2(vars, key, H5T_IEEE_F32LE, sp, H5P_DEFAULT,
                                            u->dcpl, H5P_DEFAULT) : -1;
            /* HDF5 refuses a NULL buffer even when there is nothing to write. */
            float none = 0;
            ok = ds >= 0 && H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                                     arr->data ? arr->data : &none) >= 0;
            if (ds >= 0)
                H5Dclose(ds);
            if (sp >= 0)
                H5Sclose(sp);
        }
        H5Gclose(vars);
        if (!ok)
            goto out;
    }
    rc = 0;
out:
    if (lg >= 0)
        H5Gclose(lg);
    free(snakes);
    free(counts);
    return rc;
}
