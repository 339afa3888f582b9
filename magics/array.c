/* array.c — the workspace's arrays and predictions (array.h): making and copying them,
 * NumPy's repr (numpy 1.24's arrayprint, which Debian's tests compare against), an HTML
 * table, and .npy files through runtime/io/npy.h. */
#include "array.h"
#include "text.h"
#include "utf8.h"
#include "io/npy.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------- making arrays */

/* "37.3 GiB", as numpy's _ArrayMemoryError says it */
static void size_text(double bytes, char *buf, size_t len)
{
    static const char *const units[] = { "bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
    int u = 0;
    while (u < 6 && bytes >= 1024.0) { bytes /= 1024.0; u++; }
    if (!u) snprintf(buf, len, "%.0f bytes", bytes);
    else snprintf(buf, len, "%#.3g %s", bytes, units[u]);
}

static const char *dtype_word(dn_dtype t)
{
    switch (t) {
    case DN_DT_FLOAT: return "float32";
    case DN_DT_INT: return "int64";
    case DN_DT_BOOL: return "bool";
    case DN_DT_STR: return "str";
    }
    return "?";
}

/* numpy's spelling of a shape in messages: (30, 2), (3,), () */
void dn_array_shape_str(const dn_array *a, char *buf, size_t len)
{
    int k = snprintf(buf, len, "(");
    for (int i = 0; i < a->ndim && k >= 0 && (size_t)k < len; i++)
        k += snprintf(buf + k, len - (size_t)k, i ? ", %ld" : "%ld", a->shape[i]);
    if (k >= 0 && (size_t)k < len)
        snprintf(buf + k, len - (size_t)k, a->ndim == 1 ? ",)" : ")");
}

dn_array *dn_array_new(dn_dtype dtype, int ndim, const long *shape, char *err, size_t errlen)
{
    if (ndim < 0 || ndim > DN_ARRAY_MAXDIM) {
        snprintf(err, errlen, "arrays have at most %d axes, not %d", DN_ARRAY_MAXDIM, ndim);
        return NULL;
    }
    long dims[DN_ARRAY_MAXDIM] = { 1, 1, 1, 1 };
    double want = 1;
    long size = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) {
            snprintf(err, errlen, "negative dimensions are not allowed");
            return NULL;
        }
        dims[i] = shape[i];
        want *= (double)shape[i];
    }
    /* more than memory holds is refused before malloc, which may promise what the
     * kernel cannot keep (overcommit) and get the kernel killed later */
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    double phys = pages > 0 && page > 0 ? (double)pages * (double)page : 64e9;
    double elem = dtype == DN_DT_STR ? (double)sizeof(char *) + 16 : (double)sizeof(float);
    if (want * elem > phys || want > (double)(1L << 40)) {
        char sz[32], sh[128];
        dn_array tmp = { .ndim = ndim };
        memcpy(tmp.shape, dims, sizeof dims);
        size_text(want * elem, sz, sizeof sz);
        dn_array_shape_str(&tmp, sh, sizeof sh);
        snprintf(err, errlen, "Unable to allocate %s for an array with shape %s and data type %s",
                 sz, sh, dtype_word(dtype));
        return NULL;
    }
    size = (long)want;
    dn_array *a = calloc(1, sizeof *a);
    if (!a) goto oom;
    a->dtype = dtype;
    a->ndim = ndim;
    memcpy(a->shape, dims, sizeof dims);
    a->size = size;
    a->preprocess = -1;
    if (dtype == DN_DT_STR) {
        a->strs = calloc(size ? (size_t)size : 1, sizeof *a->strs);
        if (!a->strs) goto oom;
        for (long i = 0; i < size; i++)
            if (!(a->strs[i] = strdup(""))) goto oom;
    } else {
        a->data = calloc(size ? (size_t)size : 1, sizeof *a->data);
        if (!a->data) goto oom;
    }
    return a;
oom:
    dn_array_free(a);
    {
        char sz[32];
        size_text(want * elem, sz, sizeof sz);
        snprintf(err, errlen, "Unable to allocate %s for an array of %s", sz, dtype_word(dtype));
    }
    return NULL;
}

static char **copy_strs(char *const *s, long n, int *oom)
{
    if (!s) return NULL;
    char **o = calloc(n ? (size_t)n : 1, sizeof *o);
    if (!o) { *oom = 1; return NULL; }
    for (long i = 0; i < n; i++)
        if (s[i] && !(o[i] = strdup(s[i]))) *oom = 1;
    return o;
}

static void free_strs(char **s, long n)
{
    if (!s) return;
    for (long i = 0; i < n; i++) free(s[i]);
    free(s);
}

static long rows_of(const dn_array *a) { return a->ndim ? a->shape[0] : 1; }

dn_array *dn_array_copy(const dn_array *a)
{
    char err[256];
    dn_array *c = dn_array_new(a->dtype, a->ndim, a->shape, err, sizeof err);
    if (!c) return NULL;
    int oom = 0;
    if (a->dtype == DN_DT_STR) {
        for (long i = 0; i < a->size; i++) {
            free(c->strs[i]);
            c->strs[i] = strdup(a->strs[i] ? a->strs[i] : "");
            if (!c->strs[i]) oom = 1;
        }
    } else if (a->size) {
        memcpy(c->data, a->data, (size_t)a->size * sizeof *a->data);
    }
    long rows = rows_of(a);
    c->filenames = copy_strs(a->filenames, rows, &oom);
    if (a->labels) {
        c->labels = malloc((size_t)(rows ? rows : 1) * sizeof *c->labels);
        if (c->labels) memcpy(c->labels, a->labels, (size_t)rows * sizeof *c->labels);
        else oom = 1;
    }
    c->nclasses = a->nclasses;
    c->class_names = copy_strs(a->class_names, a->nclasses, &oom);
    if (a->dir && !(c->dir = strdup(a->dir))) oom = 1;
    c->width = a->width;
    c->height = a->height;
    c->channels = a->channels;
    c->preprocess = a->preprocess;
    if (oom) { dn_array_free(c); return NULL; }
    return c;
}

void dn_array_free(dn_array *a)
{
    if (!a) return;
    free(a->data);
    if (a->strs) free_strs(a->strs, a->size);
    free_strs(a->filenames, rows_of(a));
    free(a->labels);
    free_strs(a->class_names, a->nclasses);
    free(a->dir);
    free(a);
}

/* ---------------------------------------------------------------- the workspace types */

static void array_free(void *obj) { dn_array_free(obj); }

static void array_describe(const void *obj, char *buf, size_t len)
{
    const dn_array *a = obj;
    char sh[128];
    dn_array_shape_str(a, sh, sizeof sh);
    if (a->ndim == 0) {
        char *r = dn_array_repr(a);
        snprintf(buf, len, "%s scalar %s", dtype_word(a->dtype), r ? r : "");
        free(r);
        return;
    }
    snprintf(buf, len, "%s %s", dtype_word(a->dtype), sh);
}

static void preds_describe(const void *obj, char *buf, size_t len)
{
    const dn_array *a = obj;
    char sh[128];
    dn_array_shape_str(a, sh, sizeof sh);
    int k = snprintf(buf, len, "predictions %s", sh);
    if (a->nclasses > 0 && k >= 0 && (size_t)k < len)
        k += snprintf(buf + k, len - (size_t)k, ", %d class%s", a->nclasses, a->nclasses == 1 ? "" : "es");
    if (a->filenames && k >= 0 && (size_t)k < len)
        k += snprintf(buf + k, len - (size_t)k, ", with file names");
    if (a->labels && k >= 0 && (size_t)k < len)
        snprintf(buf + k, len - (size_t)k, ", with true labels");
}

static json_t *array_show(const void *obj) { return dn_array_bundle(obj); }

static const char *const preds_attrs[] = { "filenames", "labels", "classes", "class_names", NULL };

/* NAME.filenames and friends of predictions: what %predict knew about each row */
static dn_array *preds_attr(const void *obj, const char *attr, char *err, size_t errlen)
{
    const dn_array *a = obj;
    long n = rows_of(a);
    dn_array *r = NULL;
    if (!strcmp(attr, "filenames")) {
        if (!a->filenames) { snprintf(err, errlen, "these predictions have no file names"); return NULL; }
        if (!(r = dn_array_new(DN_DT_STR, 1, &n, err, errlen))) return NULL;
        for (long i = 0; i < n; i++) {
            free(r->strs[i]);
            if (!(r->strs[i] = strdup(a->filenames[i] ? a->filenames[i] : ""))) goto oom;
        }
    } else if (!strcmp(attr, "class_names")) {
        if (a->nclasses <= 0 || !a->class_names) {
            snprintf(err, errlen, "these predictions have no class names");
            return NULL;
        }
        long k = a->nclasses;
        if (!(r = dn_array_new(DN_DT_STR, 1, &k, err, errlen))) return NULL;
        for (long i = 0; i < k; i++) {
            free(r->strs[i]);
            if (!(r->strs[i] = strdup(a->class_names[i] ? a->class_names[i] : ""))) goto oom;
        }
    } else if (!strcmp(attr, "classes") || !strcmp(attr, "labels")) {
        if (!a->labels) {
            snprintf(err, errlen, "the true classes of these predictions are not known (they "
                     "were made from unlabelled images)");
            return NULL;
        }
        if (!strcmp(attr, "classes")) {
            if (!(r = dn_array_new(DN_DT_INT, 1, &n, err, errlen))) return NULL;
            for (long i = 0; i < n; i++) r->data[i] = (float)a->labels[i];
        } else {
            long k = a->nclasses > 0 ? a->nclasses : a->ndim >= 2 ? a->shape[1] : 0;
            for (long i = 0; i < n; i++)
                if (a->labels[i] >= k) k = a->labels[i] + 1;
            long shape[2] = { n, k };
            if (!(r = dn_array_new(DN_DT_FLOAT, 2, shape, err, errlen))) return NULL;
            for (long i = 0; i < n; i++)
                if (a->labels[i] >= 0) r->data[i * k + a->labels[i]] = 1.0f;
        }
    } else {
        snprintf(err, errlen, "no attribute '%s'", attr);
        return NULL;
    }
    return r;
oom:
    dn_array_free(r);
    snprintf(err, errlen, "out of memory");
    return NULL;
}

const dn_type dn_array_type = {
    .name = "array",
    .describe = array_describe,
    .free = array_free,
    .show = array_show,
};

const dn_type dn_preds_type = {
    .name = "predictions",
    .describe = preds_describe,
    .free = array_free,
    .attr = preds_attr,
    .attrs = preds_attrs,
    .show = array_show,
};

const dn_array *dn_array_get(const dn_workspace *ws, const char *name, char *err, size_t errlen)
{
    const dn_type *t = NULL;
    void *obj = dn_workspace_get(ws, name, &t);
    if (obj && (t == &dn_array_type || t == &dn_preds_type)) return obj;
    /* the workspace's own message: "no name 'x' ..." or "'m' is a model, not an array" */
    dn_workspace_get_typed(ws, name, &dn_array_type, err, errlen);
    return NULL;
}

int dn_array_set(dn_workspace *ws, const char *name, dn_array *a, int is_preds,
                 char *err, size_t errlen)
{
    return dn_workspace_set(ws, name, is_preds ? &dn_preds_type : &dn_array_type, a, err, errlen);
}

/* ---------------------------------------------------------------- numbers as numpy prints them */

/* The shortest decimal digits that read back as v (finite, > 0): digits[0..n) with the
 * point after the first, times 10^*e10. float32 never needs more than 9. */
static int shortest_digits(float v, char digits[16], int *e10)
{
    char buf[48];
    for (int p = 0; p <= 9; p++) {
        snprintf(buf, sizeof buf, "%.*e", p, (double)v);
        if (p == 9 || strtof(buf, NULL) == v) break;
    }
    int n = 0;
    const char *c = buf;
    for (; *c && *c != 'e'; c++)
        if (*c >= '0' && *c <= '9' && n < 15) digits[n++] = *c;
    *e10 = *c == 'e' ? atoi(c + 1) : 0;
    while (n > 1 && digits[n - 1] == '0') n--;
    digits[n] = 0;
    return n;
}

/* Positional digits of |v| with at most maxfrac digits after the point (<0: no limit):
 * integer part into ip, fraction into fp (no trailing zeros). */
static void positional(float v, int maxfrac, char *ip, size_t iplen, char *fp, size_t fplen)
{
    float av = fabsf(v);
    if (av == 0) { snprintf(ip, iplen, "0"); fp[0] = 0; return; }
    char d[16];
    int e;
    int n = shortest_digits(av, d, &e);
    int frac = n - 1 - e;
    if (maxfrac >= 0 && frac > maxfrac) {
        /* numpy's Dragon4 cuts at the precision, rounding the exact value (half to even) */
        char buf[80];
        snprintf(buf, sizeof buf, "%.*f", maxfrac, (double)av);
        char *dot = strchr(buf, '.');
        if (dot) *dot = 0;
        size_t l = strlen(buf);
        if (l >= iplen) l = iplen - 1;
        memcpy(ip, buf, l);
        ip[l] = 0;
        l = dot ? strlen(dot + 1) : 0;
        if (l >= fplen) l = fplen - 1;
        if (l) memcpy(fp, dot + 1, l);
        fp[l] = 0;
        while (l && fp[l - 1] == '0') fp[--l] = 0;
        return;
    }
    size_t k = 0;
    if (e < 0) {
        snprintf(ip, iplen, "0");
        for (int z = 0; z < -e - 1 && k + 1 < fplen; z++) fp[k++] = '0';
        for (int i = 0; i < n && k + 1 < fplen; i++) fp[k++] = d[i];
        fp[k] = 0;
        return;
    }
    size_t j = 0;
    for (int i = 0; i <= e && j + 1 < iplen; i++) ip[j++] = i < n ? d[i] : '0';
    ip[j] = 0;
    for (int i = e + 1; i < n && k + 1 < fplen; i++) fp[k++] = d[i];
    fp[k] = 0;
}

/* A float32 scalar as numpy prints np.float32(v): 0.5488135, 1.0, 1e-05, 3.4028235e+38 */
static void float_scalar(float v, char *buf, size_t len)
{
    if (isnan(v)) { snprintf(buf, len, "nan"); return; }
    if (isinf(v)) { snprintf(buf, len, v < 0 ? "-inf" : "inf"); return; }
    float av = fabsf(v);
    const char *sign = signbit(v) ? "-" : "";
    if (av == 0 || (av >= 1e-4f && av < 1e16f)) {
        char ip[64], fp[64];
        positional(v, -1, ip, sizeof ip, fp, sizeof fp);
        snprintf(buf, len, "%s%s.%s", sign, ip, fp[0] ? fp : "0");
        return;
    }
    char d[16];
    int e;
    int n = shortest_digits(av, d, &e);
    snprintf(buf, len, "%s%c%s%.*s%s%c%02d", sign, d[0], n > 1 ? "." : "", n - 1, d + 1, "e",
             e < 0 ? '-' : '+', e < 0 ? -e : e);
}

/* Python's repr of a str: 'a.png' (double quotes when it holds ' but no ") */
static void py_str_repr(dn_text *t, const char *s)
{
    char q = strchr(s, '\'') && !strchr(s, '"') ? '"' : '\'';
    dn_text_add(t, &q, 1);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '\\') dn_text_adds(t, "\\\\");
        else if (*c == (unsigned char)q) { dn_text_adds(t, "\\"); dn_text_add(t, &q, 1); }
        else if (*c == '\n') dn_text_adds(t, "\\n");
        else if (*c == '\r') dn_text_adds(t, "\\r");
        else if (*c == '\t') dn_text_adds(t, "\\t");
        else if (*c < 0x20 || *c == 0x7f) dn_text_addf(t, "\\x%02x", *c);
        else dn_text_add(t, (const char *)c, 1);
    }
    dn_text_add(t, &q, 1);
}

/* How every element of one array prints: numpy's FloatingFormat ('maxprec', precision 8),
 * IntegerFormat, BoolFormat, repr for strings; fitted to the elements that are shown. */
typedef struct efmt {
    dn_dtype dtype;
    int exp;              /* floats in scientific notation */
    int pad_left, pad_right, precision;
    int int_width;
    int for_table;        /* no padding (an HTML cell) */
} efmt;

static void efmt_fit(efmt *f, const dn_array *a, const long *idx, long n)
{
    memset(f, 0, sizeof *f);
    f->dtype = a->dtype;
    if (a->dtype == DN_DT_INT) {
        for (long i = 0; i < n; i++) {
            char b[64];
            int w = snprintf(b, sizeof b, "%.0f", (double)a->data[idx[i]]);
            if (w > f->int_width) f->int_width = w;
        }
        return;
    }
    if (a->dtype != DN_DT_FLOAT) return;
    double maxv = 0, minv = INFINITY;
    long finite = 0, nonfinite = 0;
    int neginf = 0;
    for (long i = 0; i < n; i++) {
        float v = a->data[idx[i]];
        if (!isfinite(v)) { nonfinite++; if (isinf(v) && v < 0) neginf = 1; continue; }
        finite++;
        double av = fabs((double)v);
        if (av == 0) continue;
        if (av > maxv) maxv = av;
        if (av < minv) minv = av;
    }
    if (maxv > 0 && (maxv >= 1e8 || minv < 0.0001 || maxv / minv > 1000.0)) f->exp = 1;
    if (finite) {
        for (long i = 0; i < n; i++) {
            float v = a->data[idx[i]];
            if (!isfinite(v)) continue;
            int il, fl;
            if (f->exp) {
                char d[16];
                int e;
                int nd = v == 0 ? 1 : shortest_digits(fabsf(v), d, &e);
                il = 1 + (signbit(v) ? 1 : 0);
                fl = nd - 1;
            } else {
                char ip[64], fp[64];
                positional(v, 8, ip, sizeof ip, fp, sizeof fp);
                il = (int)strlen(ip) + (signbit(v) ? 1 : 0);
                fl = (int)strlen(fp);
            }
            if (il > f->pad_left) f->pad_left = il;
            if (fl > (f->exp ? f->precision : f->pad_right)) {
                if (f->exp) f->precision = fl; else f->pad_right = fl;
            }
        }
        if (f->exp) f->pad_right = 2 + 2 + f->precision;   /* exp_size + 2 + precision */
    }
    if (nonfinite) {
        int offset = f->pad_right + 1;
        if (3 - offset > f->pad_left) f->pad_left = 3 - offset;
        if (3 + neginf - offset > f->pad_left) f->pad_left = 3 + neginf - offset;
    }
}

static void pad_to(dn_text *t, int width, int used)
{
    for (int k = used; k < width; k++) dn_text_add(t, " ", 1);
}

static void efmt_put(const efmt *f, const dn_array *a, long i, dn_text *t)
{
    switch (f->dtype) {
    case DN_DT_STR:
        py_str_repr(t, a->strs[i] ? a->strs[i] : "");
        return;
    case DN_DT_BOOL:
        dn_text_adds(t, a->data[i] != 0 ? (f->for_table ? "True" : " True") : "False");
        return;
    case DN_DT_INT: {
        char b[64];
        int w = snprintf(b, sizeof b, "%.0f", (double)a->data[i]);
        if (!f->for_table) pad_to(t, f->int_width, w);
        dn_text_adds(t, b);
        return;
    }
    case DN_DT_FLOAT:
        break;
    }
    float v = a->data[i];
    if (!isfinite(v)) {
        const char *s = isnan(v) ? "nan" : v < 0 ? "-inf" : "inf";
        if (!f->for_table) pad_to(t, f->pad_left + f->pad_right + 1, (int)strlen(s));
        dn_text_adds(t, s);
        return;
    }
    char ip[80], fp[80];
    const char *sign = signbit(v) ? "-" : "";
    if (f->exp) {
        /* numpy's min_digits = precision: every element gets that many digits of its
         * exact value, correctly rounded (not the shortest digits padded with zeros) */
        char b[64];
        snprintf(b, sizeof b, "%.*e", f->precision, fabs((double)v));
        char *dot = strchr(b, '.'), *e = strchr(b, 'e');
        if (!e) return;
        snprintf(ip, sizeof ip, "%s%c", sign, b[0]);
        if (!f->for_table) pad_to(t, f->pad_left, (int)strlen(ip));
        dn_text_adds(t, ip);
        dn_text_adds(t, ".");
        if (dot) dn_text_add(t, dot + 1, (size_t)(e - dot - 1));
        dn_text_adds(t, e);
        return;
    }
    char p[64];
    positional(v, 8, p, sizeof p, fp, sizeof fp);
    snprintf(ip, sizeof ip, "%s%s", sign, p);
    if (!f->for_table) pad_to(t, f->pad_left, (int)strlen(ip));
    dn_text_adds(t, ip);
    dn_text_adds(t, ".");
    dn_text_adds(t, fp);
    if (!f->for_table) pad_to(t, f->pad_right, (int)strlen(fp));
}

/* ---------------------------------------------------------------- repr */

enum { THRESHOLD = 1000, EDGE = 3, LINEWIDTH = 75 };

/* The indices shown along one axis of length len: all, or EDGE at each end. */
static int axis_shown(long len, int summary, long *out)
{
    if (summary && len > 2 * EDGE) {
        for (int k = 0; k < EDGE; k++) { out[k] = k; out[EDGE + k] = len - EDGE + k; }
        return 2 * EDGE;
    }
    return -1;   /* every index */
}

/* Flat indices of the elements shown (numpy's _leading_trailing). Caller frees. */
static long *shown_elements(const dn_array *a, int summary, long *count)
{
    long pick[DN_ARRAY_MAXDIM][2 * EDGE];
    long len[DN_ARRAY_MAXDIM];
    int all[DN_ARRAY_MAXDIM];
    long total = 1;
    for (int d = 0; d < a->ndim; d++) {
        int n = axis_shown(a->shape[d], summary, pick[d]);
        all[d] = n < 0;
        len[d] = n < 0 ? a->shape[d] : n;
        total *= len[d];
    }
    long *idx = malloc((size_t)(total ? total : 1) * sizeof *idx);
    if (!idx) return NULL;
    long pos[DN_ARRAY_MAXDIM] = { 0 };
    for (long k = 0; k < total; k++) {
        long flat = 0;
        for (int d = 0; d < a->ndim; d++)
            flat = flat * a->shape[d] + (all[d] ? pos[d] : pick[d][pos[d]]);
        idx[k] = flat;
        for (int d = a->ndim - 1; d >= 0; d--) {
            if (++pos[d] < len[d]) break;
            pos[d] = 0;
        }
    }
    *count = total;
    return idx;
}

typedef struct reprctx {
    const dn_array *a;
    efmt f;
    int summary;
    long strides[DN_ARRAY_MAXDIM];
} reprctx;

static long cps(const char *s, size_t n) { return dn_utf8_count(s, n); }

/* numpy's _extendLine: word goes on line, or line is ended and word starts the next */
static void extend_line(dn_text *s, dn_text *line, const char *word, long width, long prefix_len,
                        const char *prefix)
{
    long ll = line->s ? cps(line->s, line->n) : 0;
    int wrap = ll + cps(word, strlen(word)) > width && ll > prefix_len;
    if (wrap) {
        size_t n = line->n;
        while (n && line->s[n - 1] == ' ') n--;
        dn_text_add(s, line->s, n);
        dn_text_adds(s, "\n");
        line->n = 0;
        dn_text_adds(line, prefix);
    }
    dn_text_adds(line, word);
}

/* numpy's _formatArray recurser: the sub-array at offset base on axis, as text. */
static void recurse(reprctx *c, int axis, long base, const char *hang, long width, dn_text *out)
{
    const dn_array *a = c->a;
    if (axis == a->ndim) {
        efmt_put(&c->f, a, base, out);
        return;
    }
    size_t hl = strlen(hang);
    char *next_hang = malloc(hl + 2);
    if (!next_hang) { out->oom = 1; return; }
    memcpy(next_hang, hang, hl);
    next_hang[hl] = ' ';
    next_hang[hl + 1] = 0;
    long next_width = width - 1;
    long alen = a->shape[axis];
    int summary = c->summary && 2 * EDGE < alen;
    long leading = summary ? EDGE : 0, trailing = summary ? EDGE : alen;
    int axes_left = a->ndim - axis;
    dn_text s = { 0 };
    dn_text_adds(&s, "");
    if (axes_left == 1) {
        long elem_width = width - 1;
        dn_text line = { 0 }, word = { 0 };
        dn_text_adds(&line, hang);
        for (long i = 0; i < leading; i++) {
            word.n = 0;
            dn_text_adds(&word, "");
            recurse(c, axis + 1, base + i * c->strides[axis], next_hang, next_width, &word);
            extend_line(&s, &line, word.s, elem_width, (long)hl, hang);
            dn_text_adds(&line, ", ");
        }
        if (summary) {
            extend_line(&s, &line, "...", elem_width, (long)hl, hang);
            dn_text_adds(&line, ", ");
        }
        for (long i = trailing; i >= 1; i--) {
            word.n = 0;
            dn_text_adds(&word, "");
            recurse(c, axis + 1, base + (alen - i) * c->strides[axis], next_hang, next_width, &word);
            extend_line(&s, &line, word.s, elem_width, (long)hl, hang);
            if (i > 1) dn_text_adds(&line, ", ");
        }
        if (line.s) dn_text_add(&s, line.s, line.n);
        if (line.oom || word.oom) s.oom = 1;
        free(line.s);
        free(word.s);
    } else {
        char sep[8] = ",";
        for (int k = 0; k < axes_left - 1 && k < 6; k++) strcat(sep, "\n");
        for (long i = 0; i < leading; i++) {
            dn_text_adds(&s, hang);
            recurse(c, axis + 1, base + i * c->strides[axis], next_hang, next_width, &s);
            dn_text_adds(&s, sep);
        }
        if (summary) {
            dn_text_adds(&s, hang);
            dn_text_adds(&s, "...");
            dn_text_adds(&s, sep);
        }
        for (long i = trailing; i >= 1; i--) {
            dn_text_adds(&s, hang);
            recurse(c, axis + 1, base + (alen - i) * c->strides[axis], next_hang, next_width, &s);
            if (i > 1) dn_text_adds(&s, sep);
        }
    }
    free(next_hang);
    /* the hanging indent of the first line gives way to the opening bracket */
    dn_text_adds(out, "[");
    if (s.s && s.n >= hl) dn_text_add(out, s.s + hl, s.n - hl);
    dn_text_adds(out, "]");
    if (s.oom) out->oom = 1;
    free(s.s);
}

static void scalar_text(const dn_array *a, long i, dn_text *t)
{
    char b[160];
    switch (a->dtype) {
    case DN_DT_FLOAT: float_scalar(a->data[i], b, sizeof b); dn_text_adds(t, b); break;
    case DN_DT_INT: snprintf(b, sizeof b, "%.0f", (double)a->data[i]); dn_text_adds(t, b); break;
    case DN_DT_BOOL: dn_text_adds(t, a->data[i] != 0 ? "True" : "False"); break;
    case DN_DT_STR: py_str_repr(t, a->strs[i] ? a->strs[i] : ""); break;
    }
}

/* '<U5': the longest string's length in code points (at least 1), as numpy sizes it */
static long str_width(const dn_array *a)
{
    long w = 1;
    for (long i = 0; i < a->size; i++) {
        const char *s = a->strs[i] ? a->strs[i] : "";
        long n = cps(s, strlen(s));
        if (n > w) w = n;
    }
    return w;
}

char *dn_array_repr(const dn_array *a)
{
    dn_text t = { 0 };
    dn_text_adds(&t, "");
    if (a->ndim == 0) {
        scalar_text(a, 0, &t);
        if (t.oom) { free(t.s); return NULL; }
        return t.s;
    }
    /* int64 and bool are numpy's implied dtypes: no dtype= unless the array is empty */
    int skipdtype = (a->dtype == DN_DT_INT || a->dtype == DN_DT_BOOL) && a->size > 0;
    dn_text_adds(&t, "array(");
    if (a->size > 0 || (a->ndim == 1 && a->shape[0] == 0)) {
        reprctx c = { .a = a, .summary = a->size > THRESHOLD };
        long st = 1;
        for (int d = a->ndim - 1; d >= 0; d--) { c.strides[d] = st; st *= a->shape[d]; }
        long n = 0;
        long *idx = shown_elements(a, c.summary, &n);
        if (!idx) { free(t.s); return NULL; }
        efmt_fit(&c.f, a, idx, n);
        free(idx);
        if (a->size == 0) dn_text_adds(&t, "[]");
        else recurse(&c, 0, 0, "       ", LINEWIDTH - 1, &t);
    } else {
        char sh[128];
        dn_array_shape_str(a, sh, sizeof sh);
        dn_text_addf(&t, "[], shape=%s", sh);
    }
    if (skipdtype) {
        dn_text_adds(&t, ")");
    } else {
        dn_text_adds(&t, ",");
        char dt[48];
        if (a->dtype == DN_DT_STR) snprintf(dt, sizeof dt, "dtype='<U%ld')", str_width(a));
        else snprintf(dt, sizeof dt, "dtype=%s)", dtype_word(a->dtype));
        const char *nl = t.s ? strrchr(t.s, '\n') : NULL;
        long last = nl ? cps(nl + 1, strlen(nl + 1)) : cps(t.s, t.n);
        if (last + (long)strlen(dt) + 1 > LINEWIDTH) dn_text_adds(&t, "\n      ");
        else dn_text_adds(&t, " ");
        dn_text_adds(&t, dt);
    }
    if (t.oom) { free(t.s); return NULL; }
    return t.s;
}

/* ---------------------------------------------------------------- HTML */

enum { TABLE_MAX = 20, TABLE_EDGE = 10 };

/* rows (or columns) shown in the table: all, or TABLE_EDGE at each end */
static long table_pick(long len, long *pick)
{
    if (len <= TABLE_MAX) {
        for (long i = 0; i < len; i++) pick[i] = i;
        return len;
    }
    for (long i = 0; i < TABLE_EDGE; i++) { pick[i] = i; pick[TABLE_EDGE + i] = len - TABLE_EDGE + i; }
    return 2 * TABLE_EDGE;
}

static void cell_html(const efmt *f, const dn_array *a, long i, dn_text *html)
{
    dn_text t = { 0 };
    dn_text_adds(&t, "");
    if (a->dtype == DN_DT_STR) dn_text_adds(&t, a->strs[i] ? a->strs[i] : "");
    else efmt_put(f, a, i, &t);
    if (t.s) dn_text_add_html(html, t.s);
    if (t.oom) html->oom = 1;
    free(t.s);
}

static void table_html(const dn_array *a, dn_text *html)
{
    long rows = a->shape[0], cols = a->ndim == 2 ? a->shape[1] : 1;
    long rp[TABLE_MAX], cp[TABLE_MAX];
    long nr = table_pick(rows, rp), nc = table_pick(cols, cp);
    /* the formatter is fitted to the cells shown, as numpy fits it to what it prints */
    long *idx = malloc((size_t)(nr * nc > 0 ? nr * nc : 1) * sizeof *idx);
    if (!idx) { html->oom = 1; return; }
    for (long r = 0; r < nr; r++)
        for (long k = 0; k < nc; k++) idx[r * nc + k] = rp[r] * cols + cp[k];
    efmt f;
    efmt_fit(&f, a, idx, nr * nc);
    f.for_table = 1;
    free(idx);
    int files = a->filenames != NULL, truth = a->labels != NULL;
    char sh[128];
    dn_array_shape_str(a, sh, sizeof sh);
    dn_text_addf(html, "<table class=\"deepnb-array\">\n<caption style=\"text-align:left\">%s "
                 "array, shape %s</caption>\n<thead><tr><th></th>", dtype_word(a->dtype), sh);
    if (files) dn_text_adds(html, "<th style=\"text-align:left\">file</th>");
    if (truth) dn_text_adds(html, "<th>true class</th>");
    if (a->ndim == 2) {
        for (long k = 0; k < nc; k++) {
            if (nc < cols && k == TABLE_EDGE) dn_text_adds(html, "<th>…</th>");
            if (a->nclasses == cols && a->class_names && a->class_names[cp[k]]) {
                dn_text_adds(html, "<th>");
                dn_text_add_html(html, a->class_names[cp[k]]);
                dn_text_adds(html, "</th>");
            } else {
                dn_text_addf(html, "<th>%ld</th>", cp[k]);
            }
        }
    } else {
        dn_text_adds(html, "<th></th>");
    }
    dn_text_adds(html, "</tr></thead>\n<tbody>\n");
    for (long r = 0; r < nr; r++) {
        if (nr < rows && r == TABLE_EDGE) {
            dn_text_adds(html, "<tr><th>…</th>");
            for (long k = 0; k < nc + (nc < cols) + files + truth; k++) dn_text_adds(html, "<td>…</td>");
            dn_text_adds(html, "</tr>\n");
        }
        dn_text_addf(html, "<tr><th>%ld</th>", rp[r]);
        if (files) {
            dn_text_adds(html, "<td style=\"text-align:left\">");
            dn_text_add_html(html, a->filenames[rp[r]] ? a->filenames[rp[r]] : "");
            dn_text_adds(html, "</td>");
        }
        if (truth) {
            int l = a->labels[rp[r]];
            dn_text_adds(html, "<td>");
            if (l >= 0 && l < a->nclasses && a->class_names && a->class_names[l])
                dn_text_add_html(html, a->class_names[l]);
            else
                dn_text_addf(html, "%d", l);
            dn_text_adds(html, "</td>");
        }
        for (long k = 0; k < nc; k++) {
            if (nc < cols && k == TABLE_EDGE) dn_text_adds(html, "<td>…</td>");
            dn_text_adds(html, a->dtype == DN_DT_STR ? "<td style=\"text-align:left\">" : "<td>");
            cell_html(&f, a, rp[r] * cols + cp[k], html);
            dn_text_adds(html, "</td>");
        }
        dn_text_adds(html, "</tr>\n");
    }
    dn_text_adds(html, "</tbody>\n</table>\n");
}

json_t *dn_array_bundle(const dn_array *a)
{
    char *plain = dn_array_repr(a);
    if (!plain) return NULL;
    json_t *b = NULL;
    if ((a->ndim == 1 || a->ndim == 2) && a->size > 0) {
        dn_text html = { 0 };
        table_html(a, &html);
        if (!html.oom && html.s) b = json_pack("{s:s, s:s}", "text/plain", plain, "text/html", html.s);
        free(html.s);
    }
    if (!b) b = json_pack("{s:s}", "text/plain", plain);
    free(plain);
    return b;
}

/* ---------------------------------------------------------------- .npy */

int dn_array_save_npy(const dn_array *a, const char *path, char *err, size_t errlen)
{
    if (a->dtype == DN_DT_STR) {
        if (a->ndim != 1) {
            char sh[128];
            dn_array_shape_str(a, sh, sizeof sh);
            snprintf(err, errlen, "only 1-D arrays of strings can be saved to .npy, not shape %s", sh);
            return -1;
        }
        return dn_npy_save_strings(path, (const char *const *)a->strs, a->size, err, errlen);
    }
    if (a->dtype == DN_DT_FLOAT) return dn_npy_save(path, a->data, a->ndim, a->shape, err, errlen);
    size_t n = a->size ? (size_t)a->size : 1;
    if (a->dtype == DN_DT_INT) {
        int64_t *v = malloc(n * sizeof *v);
        if (!v) { snprintf(err, errlen, "out of memory"); return -1; }
        for (long i = 0; i < a->size; i++) {
            double d = (double)a->data[i];
            v[i] = isfinite(d) && fabs(d) < 9.2e18 ? (int64_t)llrint(d) : 0;
        }
        int rc = dn_npy_save_as(path, DN_NPY_I64, v, a->ndim, a->shape, err, errlen);
        free(v);
        return rc;
    }
    uint8_t *v = malloc(n);
    if (!v) { snprintf(err, errlen, "out of memory"); return -1; }
    for (long i = 0; i < a->size; i++) v[i] = a->data[i] != 0;
    int rc = dn_npy_save_as(path, DN_NPY_BOOL, v, a->ndim, a->shape, err, errlen);
    free(v);
    return rc;
}

/* The element kind ('f', 'i', 'u', 'b', 'U', 'S', ...) and the number of axes a .npy
 * file declares; npy.h reads the data itself. -1 when it is not a .npy file. */
static int npy_peek(const char *path, char *kind, int *ndim, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
        return -1;
    }
    unsigned char pre[12];
    size_t got = fread(pre, 1, sizeof pre, f);
    if (got < 10 || memcmp(pre, "\x93NUMPY", 6) != 0) {
        fclose(f);
        snprintf(err, errlen, "'%s' is not a NumPy .npy file (it does not start with \\x93NUMPY)", path);
        return -1;
    }
    unsigned long hlen = pre[6] == 1 ? (unsigned long)pre[8] | (unsigned long)pre[9] << 8
                       : (unsigned long)pre[8] | (unsigned long)pre[9] << 8
                         | (unsigned long)pre[10] << 16 | (unsigned long)pre[11] << 24;
    long start = pre[6] == 1 ? 10 : 12;
    if (hlen > (1u << 20) || fseek(f, start, SEEK_SET) != 0) {
        fclose(f);
        snprintf(err, errlen, "'%s' has a damaged .npy header", path);
        return -1;
    }
    char *h = malloc(hlen + 1);
    size_t r = h ? fread(h, 1, hlen, f) : 0;
    fclose(f);
    if (!h || r != hlen) {
        free(h);
        snprintf(err, errlen, "'%s' has a damaged .npy header", path);
        return -1;
    }
    h[hlen] = 0;
    *kind = 0;
    *ndim = -1;
    const char *d = strstr(h, "'descr'");
    if (d && (d = strchr(d + 7, ':'))) {
        while (*++d == ' ') {}
        if (*d == '\'' || *d == '"') {
            d++;
            if (*d == '<' || *d == '>' || *d == '|' || *d == '=') d++;
            *kind = *d;
        } else if (*d == '[') {
            *kind = 'V';
        }
    }
    const char *s = strstr(h, "'shape'");
    if (s && (s = strchr(s + 7, '('))) {
        int n = 0, digits = 0;
        for (s++; *s && *s != ')'; s++) {
            if (*s >= '0' && *s <= '9') { if (!digits) n++; digits = 1; }
            else digits = 0;
        }
        *ndim = n;
    }
    free(h);
    return 0;
}

dn_array *dn_array_load_npy(const char *path, char *err, size_t errlen)
{
    char kind;
    int ndim;
    if (npy_peek(path, &kind, &ndim, err, errlen) < 0) return NULL;
    if (kind == 'U' || kind == 'S') {
        if (ndim > 1) {
            snprintf(err, errlen, "cannot load '%s': only 1-D arrays of strings are supported, "
                     "it has %d axes", path, ndim);
            return NULL;
        }
        char **strs = NULL;
        long n = 0;
        if (dn_npy_load_strings(path, &strs, &n, err, errlen) < 0) return NULL;
        dn_array *a = dn_array_new(DN_DT_STR, ndim == 0 ? 0 : 1, &n, err, errlen);
        if (a) {
            for (long i = 0; i < a->size && i < n; i++) {
                free(a->strs[i]);
                a->strs[i] = strs[i];
                strs[i] = NULL;
            }
        }
        dn_npy_strings_free(strs, n);
        return a;
    }
    float *data = NULL;
    long shape[DN_NPY_MAXDIM];
    if (dn_npy_load(path, &data, &ndim, shape, err, errlen) < 0) return NULL;
    dn_dtype t = kind == 'b' ? DN_DT_BOOL : (kind == 'i' || kind == 'u') ? DN_DT_INT : DN_DT_FLOAT;
    dn_array *a = calloc(1, sizeof *a);
    if (!a) { free(data); snprintf(err, errlen, "out of memory"); return NULL; }
    a->dtype = t;
    a->ndim = ndim;
    a->size = 1;
    for (int i = 0; i < DN_ARRAY_MAXDIM; i++) {
        a->shape[i] = i < ndim ? shape[i] : 1;
        if (i < ndim) a->size *= shape[i];
    }
    a->preprocess = -1;
    a->data = data;
    if (!a->data) a->data = calloc(1, sizeof *a->data);   /* an empty array still has a buffer */
    if (!a->data) { dn_array_free(a); snprintf(err, errlen, "out of memory"); return NULL; }
    if (t == DN_DT_BOOL)
        for (long i = 0; i < a->size; i++) a->data[i] = a->data[i] != 0;
    return a;
}
