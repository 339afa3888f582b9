/* cmd_results.c — results a person can look at: %plots (the lesson's five views of the
 * predictions, and a batch's images), %confusion_matrix, %submit, %FileLink, %logloss,
 * %top_losses, %most_confused, %plot_history.
 *
 * Pictures are drawn by draw.c and sent as display_data: image/png (with its width and
 * height in the metadata) and a text/plain twin that says what the picture shows, file
 * by file. A tile shows the image as the model saw it (decoded and resized to the
 * model's input size, grey when the batches were grayscale; the preprocessing's value
 * shift is not shown) scaled up by nearest neighbour to about 170 pixels, or the file as
 * it is with original=True. Views that draw at random take one seed from %seed
 * (dn_workspace_next_seed) once they succeed, so a re-run gives the same PNG bytes.
 *
 * Every command checks all of its arguments before it reads an image or writes a file;
 * %submit is the only one that writes, atomically. */
#include "array.h"
#include "cmdutil.h"
#include "draw.h"
#include "model_cmds.h"
#include "text.h"
#include "ws_batches.h"
#include "core/rng.h"
#include "data/image.h"
#include "data/resize.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The folder the kernel started in: Jupyter starts a kernel in its notebook's folder, and
 * the notebook page resolves a relative link against that folder, whatever %cd did
 * since. */
static char *start_dir;
__attribute__((constructor)) static void remember_start_dir(void) { start_dir = getcwd(NULL, 0); }

static const char *plural(long n, const char *one, const char *many) { return n == 1 ? one : many; }

/* Makes s valid UTF-8 in place: each byte that does not begin a well-formed sequence
 * becomes '?'. Jupyter's JSON and cairo's text take only valid UTF-8, and file and class
 * names (or a title cut short) may not be. */
static char *utf8_fix(char *s)
{
    unsigned char *p = (unsigned char *)s;
    while (p && *p) {
        int n = *p < 0x80 ? 1 : (*p >> 5) == 6 ? 2 : (*p >> 4) == 14 ? 3 : (*p >> 3) == 30 ? 4 : 0;
        int ok = n > 0;
        for (int k = 1; ok && k < n; k++) ok = (p[k] & 0xc0) == 0x80;
        if (ok && n > 1) {
            unsigned cp = n == 2 ? (p[0] & 0x1fu) : n == 3 ? (p[0] & 0x0fu) : (p[0] & 0x07u);
            for (int k = 1; k < n; k++) cp = cp << 6 | (p[k] & 0x3fu);
            ok = cp >= (n == 2 ? 0x80u : n == 3 ? 0x800u : 0x10000u) && cp <= 0x10ffff
                 && (cp < 0xd800 || cp > 0xdfff);
        }
        if (!ok) {
            *p++ = '?';
            continue;
        }
        p += n;
    }
    return s;
}

/* ---------------------------------------------------------------- predictions */

/* Positional argument i names predictions (made by %predict ... as=NAME). */
static const dn_array *need_preds(dn_ctx *ctx, const dn_call *call, size_t i, const char **name)
{
    const char *n;
    if (dn_arg_name(ctx, call, i, "PREDS (predictions made by %predict ... as=NAME)", &n) < 0)
        return NULL;
    dn_workspace *ws = dn_ctx_workspace(ctx);
    const dn_type *t = NULL;
    void *obj = dn_workspace_get(ws, n, &t);
    if (!obj) {
        char err[512];
        dn_workspace_missing(ws, n, err, sizeof err);
        dn_fail(ctx, "NameError", "%%%s: %s", call->name, err);
        return NULL;
    }
    if (t != &dn_preds_type) {
        if (t == &dn_array_type)
            dn_fail(ctx, "TypeError", "%%%s: %s is an array, not predictions: %%predict MODEL "
                    "BATCHES as=NAME makes predictions that know their files, true labels and "
                    "class names", call->name, n);
        else
            dn_fail(ctx, "TypeError", "%%%s: %s is %s %s, not predictions (%%predict MODEL BATCHES "
                    "as=NAME makes them)", call->name, n, t && strchr("aeiou", t->name[0]) ? "an" : "a",
                    t ? t->name : "object");
        return NULL;
    }
    const dn_array *a = obj;
    if (a->ndim != 2 || a->shape[0] < 1 || a->shape[1] < 1 || a->dtype == DN_DT_STR) {
        char shp[64];
        dn_array_shape_str(a, shp, sizeof shp);
        dn_fail(ctx, "ValueError", "%%%s: %s has shape %s; predictions are one row of class "
                "probabilities per image", call->name, n, shp);
        return NULL;
    }
    *name = n;
    return a;
}

static long rows_of(const dn_array *a) { return a->shape[0]; }
static int cols_of(const dn_array *a) { return (int)a->shape[1]; }

/* Predictions with true labels, one per row, each a column of a. */
static int need_labels(dn_ctx *ctx, const dn_call *call, const char *name, const dn_array *a,
                       const char *why)
{
    if (!a->labels)
        return dn_fail(ctx, "ValueError", "%%%s: %s has no true labels (its images came from a "
                       "folder without class folders, or the model's outputs are not one per "
                       "class), and %s", call->name, name, why);
    int k = cols_of(a) < 2 ? 2 : cols_of(a);
    for (long i = 0; i < rows_of(a); i++)
        if (a->labels[i] < 0 || a->labels[i] >= k)
            return dn_fail(ctx, "ValueError", "%%%s: %s's row %ld has true class %d, but the rows "
                           "have %d columns", call->name, name, i, a->labels[i], cols_of(a));
    return 0;
}

static int need_files(dn_ctx *ctx, const dn_call *call, const char *name, const dn_array *a)
{
    if (!a->filenames || !a->dir)
        return dn_fail(ctx, "ValueError", "%%%s: %s are predictions of an array, with no image "
                       "files to show (predictions of batches know their files)", call->name, name);
    for (long i = 0; i < rows_of(a); i++)
        if (!a->filenames[i])
            return dn_fail(ctx, "ValueError", "%%%s: %s's row %ld has no file name", call->name,
                           name, i);
    return 0;
}

/* The name of class j ("3" when the class names are not known). */
static const char *class_name(const dn_array *a, int j, char buf[16])
{
    if (a->class_names && j >= 0 && j < a->nclasses && a->class_names[j]) return a->class_names[j];
    snprintf(buf, 16, "%d", j);
    return buf;
}

/* "cats, dogs" (caller frees) */
static char *class_list(const dn_array *a)
{
    dn_text t = { 0 };
    int k = cols_of(a) < 2 ? 2 : cols_of(a);
    for (int j = 0; j < k; j++) {
        char b[16];
        dn_text_addf(&t, "%s%s", j ? ", " : "", class_name(a, j, b));
    }
    if (t.oom) { free(t.s); return NULL; }
    return t.s ? t.s : strdup("");
}

/* A class given as its name (a word or a quoted string) or its index. */
static int class_arg(dn_ctx *ctx, const dn_call *call, const char *name, const dn_array *a,
                     const dn_value *v, const char *what, int *out)
{
    int k = cols_of(a) < 2 ? 2 : cols_of(a);
    const char *s = dn_value_text(v);
    char buf[16];
    for (int j = 0; j < k; j++)
        if (s && !strcmp(s, class_name(a, j, buf))) { *out = j; return 0; }
    if (v->kind == DN_VAL_INT && v->integer >= 0 && v->integer < k) {
        *out = (int)v->integer;
        return 0;
    }
    char shown[128];
    dn_value_format(v, shown, sizeof shown);
    char *list = class_list(a);
    const char *best = NULL;
    if (s && a->class_names)
        best = dn_closest(s, (const char *const *)a->class_names, a->nclasses);
    int rc = dn_fail(ctx, "ValueError", "%%%s: %s %s is not a class of %s (its classes: %s)%s%s%s",
                     call->name, what, shown, name, list ? list : "?", best ? ". Did you mean '" : "",
                     best ? best : "", best ? "'?" : "");
    free(list);
    return rc;
}

/* The class each row predicts: the largest probability (the first of equals, as
 * numpy.argmax); a single column is P(class 1), class 1 from 0.5 up. */
static int predicted(const dn_array *a, long i)
{
    const float *p = a->data + i * a->shape[1];
    int k = cols_of(a);
    if (k == 1) return p[0] >= 0.5f;
    int best = 0;
    for (int j = 1; j < k; j++)
        if (p[j] > p[best]) best = j;
    return best;
}

/* P(class j) of row i */
static double prob(const dn_array *a, long i, int j)
{
    const float *p = a->data + i * a->shape[1];
    if (cols_of(a) == 1) return j == 1 ? p[0] : 1.0 - p[0];
    return p[j];
}

/* ---------------------------------------------------------------- options */

/* clip=(lo, hi), or clip=None / False for none; *lo = 0, *hi = 1 then. */
static int clip_opt(dn_ctx *ctx, const dn_call *call, double *lo, double *hi, int *clipped)
{
    const dn_value *v = dn_args_key(call->args, "clip");
    if (!v) return 0;
    if (v->kind == DN_VAL_NONE || (v->kind == DN_VAL_BOOL && !v->boolean)) {
        *lo = 0;
        *hi = 1;
        *clipped = 0;
        return 0;
    }
    double a, b;
    if ((v->kind == DN_VAL_TUPLE || v->kind == DN_VAL_LIST) && v->n == 2
        && dn_value_number(v->items[0], &a) == 0 && dn_value_number(v->items[1], &b) == 0
        && a >= 0 && b <= 1 && a < b) {
        *lo = a;
        *hi = b;
        *clipped = 1;
        return 0;
    }
    char shown[128];
    dn_value_format(v, shown, sizeof shown);
    return dn_fail(ctx, "UsageError", "%%%s: clip is a pair (lo, hi) with 0 <= lo < hi <= 1, such "
                   "as clip=(0.05, 0.95), or None for no clipping; not %s", call->name, shown);
}

/* ---------------------------------------------------------------- tables */

/* Code points in s (for aligning text columns). */
static int width_of(const char *s)
{
    int n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

/* rows x cols cells, row 0 the header; text columns aligned (the first to the left, the
 * others to the right), an HTML table. before/after are lines around it (may be NULL). */
static json_t *table_bundle(const char *before, const char *const *cells, int rows, int cols,
                            const char *after, const char *cls)
{
    dn_text plain = { 0 }, html = { 0 };
    int w[16] = { 0 };
    if (cols > 16) return NULL;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            int n = width_of(cells[r * cols + c]);
            if (n > w[c]) w[c] = n;
        }
    if (before) {
        dn_text_addf(&plain, "%s\n", before);
        dn_text_adds(&html, "<p>");
        dn_text_add_html(&html, before);
        dn_text_adds(&html, "</p>");
    }
    dn_text_addf(&html, "<table class=\"%s\">", cls);
    for (int r = 0; r < rows; r++) {
        dn_text_adds(&html, "<tr>");
        for (int c = 0; c < cols; c++) {
            const char *s = cells[r * cols + c];
            int pad = w[c] - width_of(s);
            if (c) dn_text_adds(&plain, "  ");
            if (c == 0) dn_text_adds(&plain, s);
            for (int k = 0; k < pad && (c || c + 1 < cols); k++) dn_text_adds(&plain, " ");
            if (c) dn_text_adds(&plain, s);
            const char *tag = r == 0 || (c == 0 && cols > 1) ? "th" : "td";
            dn_text_addf(&html, "<%s>", tag);
            dn_text_add_html(&html, s);
            dn_text_addf(&html, "</%s>", tag);
        }
        dn_text_adds(&plain, "\n");
        dn_text_adds(&html, "</tr>");
    }
    dn_text_adds(&html, "</table>");
    if (after) {
        dn_text_addf(&plain, "%s\n", after);
        dn_text_adds(&html, "<p>");
        dn_text_add_html(&html, after);
        dn_text_adds(&html, "</p>");
    }
    /* no trailing newline in text/plain, as a repr */
    if (plain.s && plain.n && plain.s[plain.n - 1] == '\n') plain.s[--plain.n] = 0;
    return dn_text_bundle(&plain, &html);
}

/* Cells are built as strings; a small owner for them. */
typedef struct cells {
    char **s;
    int n, cap, oom;
} cells;

static void cell_add(cells *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void cell_add(cells *c, const char *fmt, ...)
{
    if (c->oom) return;
    if (c->n == c->cap) {
        int cap = c->cap ? c->cap * 2 : 32;
        char **ns = realloc(c->s, (size_t)cap * sizeof *ns);
        if (!ns) { c->oom = 1; return; }
        c->s = ns;
        c->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0) { c->oom = 1; s = NULL; }
    va_end(ap);
    if (s) c->s[c->n++] = utf8_fix(s);
}

static void cells_free(cells *c)
{
    for (int i = 0; i < c->n; i++) free(c->s[i]);
    free(c->s);
    memset(c, 0, sizeof *c);
}

/* ---------------------------------------------------------------- sending pictures */

static int show_pic(dn_ctx *ctx, dn_pic *p, const char *text)
{
    char err[256];
    json_t *data, *md;
    int rc = dn_pic_bundle(p, text, &data, &md, err, sizeof err);
    dn_pic_fini(p);
    if (rc) return dn_fail(ctx, "MemoryError", "%s", err);
    dn_display_md(ctx, data, md);
    json_decref(data);
    json_decref(md);
    return 0;
}

static int show_bundle(dn_ctx *ctx, json_t *b, int result)
{
    if (!b) return dn_fail(ctx, "MemoryError", "out of memory");
    if (result) dn_result(ctx, b);
    else dn_display(ctx, b);
    json_decref(b);
    return 0;
}

/* ---------------------------------------------------------------- tiles from files */

/* What a tile shows and how: as the model saw the images (its size and colours) or the
 * files as they are, fitted into DN_TILE_BOX. */
typedef struct viewer {
    int mw, mh, channels;      /* the model's input */
    int original;
    dn_resizer *rz;
    dn_image img;
    unsigned char *fb;
    size_t fcap;
    int factor;                /* the last tile's scale: f > 0 enlarged f times, 0 shrunk */
    int mixed;                 /* tiles had different factors */
    int first;
} viewer;

static void viewer_fini(viewer *v)
{
    dn_resizer_free(v->rz);
    dn_image_fini(&v->img);
    free(v->fb);
}

static unsigned char to_byte(float v)
{
    return v <= 0 ? 0 : v >= 255 ? 255 : (unsigned char)lrintf(v);
}

/* RGB bytes w x h (owned by the caller) fitted into the box: enlarged by a whole factor
 * (nearest neighbour), or shrunk with Pillow's bilinear filter. */
static unsigned char *fit_box(viewer *v, unsigned char *rgb, int w, int h, int *ow, int *oh,
                              char *err, size_t errlen)
{
    int side = w > h ? w : h, f = DN_TILE_BOX / side;
    if (v->first) { v->factor = f; v->first = 0; }
    else if (v->factor != f) v->mixed = 1;
    if (f >= 1) {
        unsigned char *out = dn_draw_upscale(rgb, w, h, f);
        free(rgb);
        if (!out) snprintf(err, errlen, "out of memory");
        *ow = w * f;
        *oh = h * f;
        return out;
    }
    int dw = w >= h ? DN_TILE_BOX : (int)lround((double)w * DN_TILE_BOX / h);
    int dh = h >= w ? DN_TILE_BOX : (int)lround((double)h * DN_TILE_BOX / w);
    if (dw < 1) dw = 1;
    if (dh < 1) dh = 1;
    float *fl = malloc(sizeof(float) * 3 * (size_t)dw * dh);
    unsigned char *out = malloc(3 * (size_t)dw * dh);
    if (!fl || !out || dn_resize_rgb(v->rz, rgb, w, h, fl, dw, dh, DN_PRE_NONE, err, errlen)) {
        if (!fl || !out) snprintf(err, errlen, "out of memory");
        free(fl);
        free(out);
        free(rgb);
        return NULL;
    }
    for (size_t k = 0; k < 3 * (size_t)dw * dh; k++) out[k] = to_byte(fl[k]);
    free(fl);
    free(rgb);
    *ow = dw;
    *oh = dh;
    return out;
}

/* The tile image of dir/file: malloc'd RGB bytes *w x *h; NULL after dn_fail. */
static unsigned char *load_tile(dn_ctx *ctx, const dn_call *call, viewer *v, const char *dir,
                                const char *file, int *w, int *h)
{
    char path[PATH_MAX], err[512];
    if (snprintf(path, sizeof path, "%s/%s", dir, file) >= (int)sizeof path) {
        dn_fail(ctx, "OSError", "%%%s: the path of %s is too long", call->name, file);
        return NULL;
    }
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno == EACCES)
            dn_fail(ctx, "PermissionError", "%%%s: no permission to read %s", call->name, path);
        else
            dn_fail(ctx, "FileNotFoundError", "%%%s: the image %s is gone%s", call->name, path,
                    dir[0] != '/' ? " (its folder is relative to the working directory: did %cd "
                    "change it?)" : "");
        return NULL;
    }
    if (!v->rz && !(v->rz = dn_resizer_new())) {
        dn_fail(ctx, "MemoryError", "out of memory");
        return NULL;
    }
    unsigned char *rgb = NULL;
    int iw, ih;
    if (v->original) {
        if (dn_image_decode_file(path, 0, 0, &v->img, &v->fb, &v->fcap, err, sizeof err)) {
            dn_fail(ctx, "ValueError", "%%%s: cannot read the image %s: %s", call->name, path, err);
            return NULL;
        }
        iw = v->img.w;
        ih = v->img.h;
        rgb = malloc(3 * (size_t)iw * ih);
        if (rgb) memcpy(rgb, v->img.px, 3 * (size_t)iw * ih);
    } else {
        iw = v->mw;
        ih = v->mh;
        size_t npx = (size_t)iw * ih;
        float *fl = malloc(sizeof(float) * 3 * npx);
        if (fl && dn_decode_resize_file(v->rz, path, 0, &v->img, &v->fb, &v->fcap, fl, iw, ih,
                                        DN_PRE_NONE, err, sizeof err)) {
            free(fl);
            dn_fail(ctx, "ValueError", "%%%s: cannot read the image %s: %s", call->name, path, err);
            return NULL;
        }
        rgb = fl ? malloc(3 * npx) : NULL;
        for (size_t p = 0; rgb && p < npx; p++) {
            const float *s = fl + 3 * p;
            if (v->channels == 1) {
                /* the grey dirsource.c gives the model: Pillow's convert('L') weights */
                unsigned char g = to_byte(0.299f * s[0] + 0.587f * s[1] + 0.114f * s[2]);
                rgb[3 * p] = rgb[3 * p + 1] = rgb[3 * p + 2] = g;
            } else {
                for (int c = 0; c < 3; c++) rgb[3 * p + c] = to_byte(s[c]);
            }
        }
        free(fl);
    }
    if (!rgb) {
        dn_fail(ctx, "MemoryError", "out of memory");
        return NULL;
    }
    unsigned char *t = fit_box(v, rgb, iw, ih, w, h, err, sizeof err);
    if (!t) dn_fail(ctx, "MemoryError", "%%%s: %s", call->name, err);
    return t;
}

/* "as the model saw them: 28x28 grayscale, shown 6 times larger" */
static void view_words(const viewer *v, char *buf, size_t len)
{
    char scale[64];
    if (v->mixed) snprintf(scale, sizeof scale, "each fitted into %d pixels", DN_TILE_BOX);
    else if (v->factor > 1)
        snprintf(scale, sizeof scale, "shown %d times larger (nearest neighbour)", v->factor);
    else if (v->factor == 1) snprintf(scale, sizeof scale, "shown pixel for pixel");
    else snprintf(scale, sizeof scale, "shrunk to fit %d pixels", DN_TILE_BOX);
    if (v->original)
        snprintf(buf, len, "The files as they are, %s.", scale);
    else
        snprintf(buf, len, "As the model saw them: %dx%d %s, %s.", v->mw, v->mh,
                 v->channels == 1 ? "grayscale" : "RGB", scale);
}

/* A grid of chosen rows: titles[i] and captions from the file names; sends the picture
 * and its text twin. */
static int show_grid(dn_ctx *ctx, const dn_call *call, viewer *v, const char *dir,
                     const char *const *files, const long *rows, int n, char (*titles)[160],
                     const unsigned *colors, const char *head, const char *legend)
{
    dn_tile *tiles = calloc((size_t)n, sizeof *tiles);
    unsigned char **px = calloc((size_t)n, sizeof *px);
    char (*captions)[128] = calloc((size_t)n, sizeof *captions);
    int rc = 0;
    if (!tiles || !px || !captions) rc = dn_fail(ctx, "MemoryError", "out of memory");
    for (int i = 0; rc == 0 && i < n; i++) {
        if (dn_ctx_interrupted(ctx)) { rc = dn_fail_interrupted(ctx); break; }
        const char *file = files[rows[i]];
        if (!(px[i] = load_tile(ctx, call, v, dir, file, &tiles[i].w, &tiles[i].h))) {
            rc = -1;
            break;
        }
        tiles[i].rgb = px[i];
        utf8_fix(titles[i]);
        tiles[i].title = titles[i];
        tiles[i].color = colors[i];
        const char *slash = strrchr(file, '/');
        snprintf(captions[i], sizeof captions[i], "%s", slash ? slash + 1 : file);
        tiles[i].caption = utf8_fix(captions[i]);
    }
    dn_pic pic = { 0 };
    char err[256], sub[512], words[160];
    if (rc == 0) {
        view_words(v, words, sizeof words);
        snprintf(sub, sizeof sub, "%s%s%s", words, legend ? "\n" : "", legend ? legend : "");
        utf8_fix(sub);
        if (dn_draw_grid(head, sub, tiles, n, 0, &pic, NULL, err, sizeof err))
            rc = dn_fail(ctx, "ValueError", "%%%s: %s", call->name, err);
    }
    if (rc == 0) {
        dn_text t = { 0 };
        dn_text_addf(&t, "%s\n%s%s%s\n", head, words, legend ? " " : "", legend ? legend : "");
        for (int i = 0; i < n; i++) {
            char *f = strdup(files[rows[i]]);
            dn_text_addf(&t, "%3d. %s  ", i + 1, f ? utf8_fix(f) : "?");
            free(f);
            for (const char *s = titles[i]; *s; s++) {
                if (*s == '\n') dn_text_adds(&t, ", ");
                else dn_text_add(&t, s, 1);
            }
            dn_text_adds(&t, "\n");
        }
        dn_text_addf(&t, "(a %dx%d PNG)", pic.w, pic.h);
        if (t.oom) {
            dn_pic_fini(&pic);
            rc = dn_fail(ctx, "MemoryError", "out of memory");
        } else {
            rc = show_pic(ctx, &pic, t.s);
        }
        free(t.s);
    }
    for (int i = 0; px && i < n; i++) free(px[i]);
    free(px);
    free(tiles);
    free(captions);
    return rc;
}

/* ---------------------------------------------------------------- %plots */

enum view { V_CORRECT, V_INCORRECT, V_MOST_CORRECT, V_MOST_INCORRECT, V_UNCERTAIN, V_COUNT };
static const char *const view_names[V_COUNT] = { "correct", "incorrect", "most_correct",
                                                 "most_incorrect", "uncertain" };

typedef struct keyed { double key; long i; } keyed;

static int by_key(const void *x, const void *y)
{
    const keyed *a = x, *b = y;
    if (a->key != b->key) return a->key < b->key ? -1 : 1;
    return a->i < b->i ? -1 : a->i > b->i;
}

/* Uncertainty of row i, smallest first: |P - 0.5| for two classes (or one column),
 * else the margin between the two likeliest classes. */
static double uncertainty(const dn_array *a, long i)
{
    int k = cols_of(a);
    const float *p = a->data + i * a->shape[1];
    if (k == 1) return fabs((double)p[0] - 0.5);
    if (k == 2) return fabs((double)p[1] - 0.5);
    double b1 = -INFINITY, b2 = -INFINITY;
    for (int j = 0; j < k; j++) {
        if (p[j] > b1) { b2 = b1; b1 = p[j]; }
        else if (p[j] > b2) b2 = p[j];
    }
    return b1 - b2;
}

static void fmt_title(char *t, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fmt_title(char *t, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t, len, fmt, ap);
    va_end(ap);
    utf8_fix(t);
}

/* A probability as titles show it: d decimals, more when they would round a value short
 * of 1 up to 1 (0.99997, not 1.0000), and two significant digits below 10^-d (3.1e-05,
 * not 0.0000). */
static const char *ptext(double p, int d, char *buf, size_t len)
{
    if (p > 0 && p < pow(10, -d)) {
        snprintf(buf, len, "%.1e", p);
        return buf;
    }
    snprintf(buf, len, "%.*f", d, p);
    while (p < 1 && d < 7 && buf[0] == '1') snprintf(buf, len, "%.*f", ++d, p);
    return buf;
}

static viewer viewer_of_preds(const dn_array *a, int original)
{
    viewer v = { .mw = a->width, .mh = a->height, .channels = a->channels, .original = original,
                 .first = 1 };
    if (v.mw < 1 || v.mh < 1) v.original = 1;   /* size unknown: the files as they are */
    return v;
}

static int plots_batches(dn_ctx *ctx, const dn_call *call, const char *name, dn_batches *b)
{
    dn_dir_source *d = dn_batches_dir(b);
    const dn_dir_options *o = dn_dir_source_options(d);
    long count = dn_dir_source_count(d);
    long n = o->batch_size < 8 ? o->batch_size : 8;
    if (n > count) n = count;
    int original = 0;
    if (dn_opt_whole(ctx, call, "n", NULL, 1, 64, &n, NULL) < 0
        || dn_opt_bool(ctx, call, "original", &original, NULL) < 0)
        return -1;
    if (dn_args_pos(call->args, 1))
        return dn_fail(ctx, "UsageError", "%%plots %s: %s is batches, which take no VIEW (views "
                       "are for predictions: %%plots PREDS incorrect)", name, name);
    if (n > count) n = count;
    long *idx = malloc((size_t)count * sizeof *idx);
    if (!idx) return dn_fail(ctx, "MemoryError", "out of memory");
    for (long i = 0; i < count; i++) idx[i] = i;
    dn_workspace *ws = dn_ctx_workspace(ctx);
    if (o->shuffle) {
        dn_rng r;
        dn_rng_seed(&r, dn_workspace_peek_seed(ws));
        dn_rng_shuffle(&r, idx, count);
    }
    char (*titles)[160] = calloc((size_t)n, sizeof *titles);
    unsigned *colors = calloc((size_t)n, sizeof *colors);
    const char **files = calloc((size_t)count, sizeof *files);
    int rc = 0;
    if (!titles || !colors || !files) rc = dn_fail(ctx, "MemoryError", "out of memory");
    for (long i = 0; rc == 0 && i < count; i++) files[i] = dn_dir_source_filename(d, i);
    for (long i = 0; rc == 0 && i < n; i++) {
        colors[i] = DN_RGB_TEXT;
        if (o->class_mode == DN_CLASS_NONE) snprintf(titles[i], sizeof titles[i], "(no label)");
        else
            snprintf(titles[i], sizeof titles[i], "%s",
                     dn_dir_source_class_name(d, dn_dir_source_label(d, idx[i])));
    }
    if (rc == 0) {
        viewer v = { .mw = o->width, .mh = o->height, .channels = o->channels,
                     .original = original, .first = 1 };
        char head[256], cnt[32];
        if (o->shuffle)
            snprintf(head, sizeof head, "%ld of the %s images of %s, drawn at random as a shuffled "
                     "batch is", n, dn_grouped(count, cnt, sizeof cnt), name);
        else
            snprintf(head, sizeof head, "The first %ld of the %s images of %s (its unshuffled order)",
                     n, dn_grouped(count, cnt, sizeof cnt), name);
        rc = show_grid(ctx, call, &v, dn_dir_source_dir(d), files, idx, (int)n, titles, colors,
                       head, o->class_mode == DN_CLASS_NONE ? "No labels (class_mode=None)."
                                                            : "Titles: each image's label.");
        viewer_fini(&v);
    }
    if (rc == 0 && o->shuffle) dn_workspace_next_seed(ws);
    free(idx);
    free(titles);
    free(colors);
    free(files);
    return rc;
}

/* The rows a view shows, in order, into *rows (malloc'd): the lesson's
 * permutation(correct)[:n] for the random views (seeded with seed), the rows sorted by
 * their key for the others, ties in row order. Returns how many rows qualify, -1 on no
 * memory. */
static long pick_rows(const dn_array *a, int view, int cls, uint64_t seed, long **rows)
{
    long N = rows_of(a), pool = 0;
    keyed *ks = malloc((size_t)N * sizeof *ks);
    long *out = malloc((size_t)N * sizeof *out);
    if (!ks || !out) {
        free(ks);
        free(out);
        return -1;
    }
    for (long i = 0; i < N; i++) {
        int p = predicted(a, i), y = a->labels ? a->labels[i] : -1;
        int in = 0;
        double key = 0;
        switch (view) {
        case V_CORRECT: in = p == y; break;
        case V_INCORRECT: in = p != y; break;
        case V_MOST_CORRECT: in = p == cls && y == cls; key = -prob(a, i, cls); break;
        case V_MOST_INCORRECT: in = p == cls && y != cls; key = -prob(a, i, cls); break;
        default: in = 1; key = uncertainty(a, i); break;
        }
        if (in) ks[pool++] = (keyed){ key, i };
    }
    if (view == V_CORRECT || view == V_INCORRECT) {
        for (long i = 0; i < pool; i++) out[i] = ks[i].i;
        dn_rng r;
        dn_rng_seed(&r, seed);
        dn_rng_shuffle(&r, out, pool);
    } else {
        qsort(ks, (size_t)pool, sizeof *ks, by_key);
        for (long i = 0; i < pool; i++) out[i] = ks[i].i;
    }
    free(ks);
    *rows = out;
    return pool;
}

/* Row i's title in view (one or two lines); returns its colour: green when the
 * prediction is right, red when wrong, dark grey when the truth is not known. */
static unsigned view_title(const dn_array *a, int view, int cls, long i, char *title, size_t len)
{
    int p = predicted(a, i), y = a->labels ? a->labels[i] : -1;
    char pb[16], yb[16], cb[16], t1[32], t2[32], second[64] = "";
    const char *pn = class_name(a, p, pb), *yn = y >= 0 ? class_name(a, y, yb) : NULL;
    switch (view) {
    case V_CORRECT:
        fmt_title(title, len, "%s %s", pn, ptext(prob(a, i, p), 4, t1, sizeof t1));
        break;
    case V_INCORRECT:
        fmt_title(title, len, "%s %s\nis %s", pn, ptext(prob(a, i, p), 4, t1, sizeof t1), yn);
        break;
    case V_MOST_CORRECT:
    case V_MOST_INCORRECT:
        fmt_title(title, len, "%s %s%s%s", class_name(a, cls, cb),
                  ptext(prob(a, i, cls), 4, t1, sizeof t1), view == V_MOST_INCORRECT ? "\nis " : "",
                  view == V_MOST_INCORRECT ? yn : "");
        break;
    default: {
        /* the likeliest class; with more than two, the runner-up too; the truth */
        int k = cols_of(a) < 2 ? 2 : cols_of(a), q = -1;
        for (int j = 0; j < k; j++)
            if (j != p && (q < 0 || prob(a, i, j) > prob(a, i, q))) q = j;
        if (k > 2)
            snprintf(second, sizeof second, "%s %s", class_name(a, q, cb),
                     ptext(prob(a, i, q), 4, t2, sizeof t2));
        fmt_title(title, len, "%s %s%s%s%s%s%s", pn, ptext(prob(a, i, p), 4, t1, sizeof t1),
                  second[0] || yn ? "\n" : "", second, second[0] && yn ? ", " : "",
                  yn ? "is " : "", yn ? yn : "");
        break;
    }
    }
    return y < 0 ? DN_RGB_TEXT : p == y ? DN_RGB_RIGHT : DN_RGB_WRONG;
}

/* The picture's heading and the line saying what the titles hold. */
static void view_heading(const dn_array *a, const char *name, int view, const char *cname, int m,
                         long pool, char *head, size_t hlen, char *legend, size_t llen)
{
    char cnt[32];
    const char *g = dn_grouped(pool, cnt, sizeof cnt);
    switch (view) {
    case V_CORRECT:
        snprintf(head, hlen, "Correct: %d of the %s images of %s classified correctly, at random",
                 m, g, name);
        snprintf(legend, llen, "Titles: the predicted class and its probability.");
        break;
    case V_INCORRECT:
        snprintf(head, hlen, "Incorrect: %d of the %s images of %s classified wrongly, at random",
                 m, g, name);
        snprintf(legend, llen, "Titles: the predicted class, its probability, the true class.");
        break;
    case V_MOST_CORRECT:
        snprintf(head, hlen, "Most confident and right: %d of the %s images of %s rightly "
                 "predicted %s", m, g, name, cname);
        snprintf(legend, llen, "Titles: P(%s), the highest first.", cname);
        break;
    case V_MOST_INCORRECT:
        snprintf(head, hlen, "Most confident and wrong: %d of the %s images of %s wrongly "
                 "predicted %s", m, g, name, cname);
        snprintf(legend, llen, "Titles: P(%s), the highest first, and the true class.", cname);
        break;
    default:
        snprintf(head, hlen, "Most uncertain: %d of the %s images of %s, %s first", m, g, name,
                 cols_of(a) <= 2 ? "the probabilities nearest 0.5"
                                 : "the smallest margins between the two likeliest classes");
        snprintf(legend, llen, "Titles: the likeliest class and its probability%s%s.",
                 cols_of(a) > 2 ? ", the runner-up's" : "", a->labels ? ", the true class" : "");
        break;
    }
    utf8_fix(head);
    utf8_fix(legend);
}

static int run_plots(dn_ctx *ctx, const dn_call *call)
{
    static const char *const keys[] = { "n", "original", NULL };
    char err[512];
    if (dn_args_check(call->args, "%plots", 1, 3, keys, err, sizeof err) < 0)
        return dn_fail(ctx, "UsageError", "%s", err);
    const char *name;
    if (dn_arg_name(ctx, call, 0, "the first argument (predictions or batches)", &name) < 0) return -1;
    dn_workspace *ws = dn_ctx_workspace(ctx);
    const dn_type *t = NULL;
    void *obj = dn_workspace_get(ws, name, &t);
    if (obj && t == &dn_batches_type) return plots_batches(ctx, call, name, obj);
    const dn_array *a = need_preds(ctx, call, 0, &name);
    if (!a) return -1;

    const dn_value *vv = dn_args_pos(call->args, 1);
    char shown[128];
    if (!vv) {
        return dn_fail(ctx, "UsageError", "%%plots %s VIEW: which view? correct, incorrect, "
                       "most_correct CLASS, most_incorrect CLASS or uncertain", name);
    }
    const char *vs = dn_value_text(vv);
    int view = -1;
    for (int k = 0; vs && k < V_COUNT; k++)
        if (!strcmp(vs, view_names[k])) view = k;
    if (view < 0) {
        dn_value_format(vv, shown, sizeof shown);
        const char *best = vs ? dn_closest(vs, view_names, V_COUNT) : NULL;
        return dn_fail(ctx, "UsageError", "%%plots: %s is not a view; the views are correct, "
                       "incorrect, most_correct CLASS, most_incorrect CLASS and uncertain%s%s%s",
                       shown, best ? ". Did you mean " : "", best ? best : "", best ? "?" : "");
    }
    long n = 4;
    int original = 0;
    if (dn_opt_whole(ctx, call, "n", NULL, 1, 64, &n, NULL) < 0
        || dn_opt_bool(ctx, call, "original", &original, NULL) < 0)
        return -1;
    const dn_value *cv = dn_args_pos(call->args, 2);
    int cls = -1;
    int needs_class = view == V_MOST_CORRECT || view == V_MOST_INCORRECT;
    if (needs_class && !cv) {
        char *list = class_list(a);
        int rc = dn_fail(ctx, "UsageError", "%%plots %s %s CLASS: which class? one of %s", name,
                         view_names[view], list ? list : "?");
        free(list);
        return rc;
    }
    if (!needs_class && cv) {
        dn_value_format(cv, shown, sizeof shown);
        return dn_fail(ctx, "UsageError", "%%plots %s %s takes no CLASS (only most_correct and "
                       "most_incorrect do), not %s", name, view_names[view], shown);
    }
    if (view != V_UNCERTAIN
        && need_labels(ctx, call, name, a, "telling right from wrong needs them (uncertain works "
                       "without)") < 0)
        return -1;
    if (cv && class_arg(ctx, call, name, a, cv, "CLASS", &cls) < 0) return -1;
    if (need_files(ctx, call, name, a) < 0) return -1;

    int random_view = view == V_CORRECT || view == V_INCORRECT;
    long *rows = NULL, pool = pick_rows(a, view, cls, dn_workspace_peek_seed(ws), &rows);
    if (pool < 0) return dn_fail(ctx, "MemoryError", "out of memory");
    char cb[16], cnt[32];
    const char *cname = cls >= 0 ? class_name(a, cls, cb) : "";
    if (pool == 0) {
        free(rows);
        const char *all = dn_grouped(rows_of(a), cnt, sizeof cnt);
        if (view == V_CORRECT)
            dn_print(ctx, "No correct predictions: all %s images of %s are classified wrongly.\n",
                     all, name);
        else if (view == V_INCORRECT)
            dn_print(ctx, "No incorrect predictions: all %s images of %s are classified "
                     "correctly.\n", all, name);
        else if (view == V_MOST_CORRECT)
            dn_print(ctx, "No image of %s is rightly predicted %s.\n", name, cname);
        else
            dn_print(ctx, "No image of %s is wrongly predicted %s: every image predicted %s is one.\n",
                     name, cname, cname);
        if (random_view) dn_workspace_next_seed(ws);
        return 0;
    }
    int m = (int)(n < pool ? n : pool);
    char (*titles)[160] = calloc((size_t)m, sizeof *titles);
    unsigned *colors = calloc((size_t)m, sizeof *colors);
    int rc = titles && colors ? 0 : dn_fail(ctx, "MemoryError", "out of memory");
    for (int t = 0; rc == 0 && t < m; t++)
        colors[t] = view_title(a, view, cls, rows[t], titles[t], sizeof titles[t]);
    if (rc == 0) {
        char head[320], legend[200];
        view_heading(a, name, view, cname, m, pool, head, sizeof head, legend, sizeof legend);
        viewer v = viewer_of_preds(a, original);
        rc = show_grid(ctx, call, &v, a->dir, (const char *const *)a->filenames, rows, m, titles,
                       colors, head, legend);
        viewer_fini(&v);
    }
    if (rc == 0 && random_view) dn_workspace_next_seed(ws);
    free(rows);
    free(titles);
    free(colors);
    return rc;
}

/* ---------------------------------------------------------------- %top_losses */

/* -ln P(true class), with P kept from 1e-15 up (Kaggle's bound) so a confident mistake
 * costs a large number, not infinity. */
static double row_loss(const dn_array *a, long i)
{
    double p = prob(a, i, a->labels[i]);
    if (p < 1e-15) p = 1e-15;
    return -log(p);
}

static int run_top_losses(dn_ctx *ctx, const dn_call *call)
{
    static const char *const keys[] = { "n", "original", NULL };
    char err[512];
    if (dn_args_check(call->args, "%top_losses", 1, 1, keys, err, sizeof err) < 0)
        return dn_fail(ctx, "UsageError", "%s", err);
    const char *name;
    const dn_array *a = need_preds(ctx, call, 0, &name);
    if (!a) return -1;
    long n = 9;
    int original = 0;
    if (dn_opt_whole(ctx, call, "n", NULL, 1, 64, &n, NULL) < 0
        || dn_opt_bool(ctx, call, "original", &original, NULL) < 0
        || need_labels(ctx, call, name, a, "a loss needs the true class") < 0
        || need_files(ctx, call, name, a) < 0)
        return -1;
    long N = rows_of(a);
    keyed *ks = malloc((size_t)N * sizeof *ks);
    long *rows = malloc((size_t)N * sizeof *rows);
    if (!ks || !rows) {
        free(ks);
        free(rows);
        return dn_fail(ctx, "MemoryError", "out of memory");
    }
    for (long i = 0; i < N; i++) ks[i] = (keyed){ -row_loss(a, i), i };
    qsort(ks, (size_t)N, sizeof *ks, by_key);
    for (long i = 0; i < N; i++) rows[i] = ks[i].i;
    free(ks);
    int m = (int)(n < N ? n : N);
    char (*titles)[160] = calloc((size_t)m, sizeof *titles);
    unsigned *colors = calloc((size_t)m, sizeof *colors);
    int rc = 0;
    if (!titles || !colors) rc = dn_fail(ctx, "MemoryError", "out of memory");
    for (int t = 0; rc == 0 && t < m; t++) {
        long i = rows[t];
        int p = predicted(a, i), y = a->labels[i];
        char pb[16], yb[16], pt[32];
        snprintf(titles[t], sizeof titles[t], "%s / %s\nloss %.2f, P(%s) %s",
                 class_name(a, p, pb), class_name(a, y, yb), row_loss(a, i), class_name(a, y, yb),
                 ptext(prob(a, i, y), 2, pt, sizeof pt));
        colors[t] = p == y ? DN_RGB_RIGHT : DN_RGB_WRONG;
    }
    if (rc == 0) {
        char head[256], cnt[32];
        snprintf(head, sizeof head, "Top losses: %d of the %s images of %s, the highest loss first",
                 m, dn_grouped(N, cnt, sizeof cnt), name);
        viewer v = viewer_of_preds(a, original);
        rc = show_grid(ctx, call, &v, a->dir, (const char *const *)a->filenames, rows, m, titles,
                       colors, head,
                       "Titles: predicted / actual, the loss \u2212ln P(actual) and P(actual).");
        viewer_fini(&v);
    }
    free(rows);
    free(titles);
    free(colors);
    return rc;
}

/* ---------------------------------------------------------------- %confusion_matrix */

/* counts[i*k + j]: rows of true class i predicted j. k is the number of classes. */
static long *confusion(const dn_array *a, int *kout)
{
    int k = cols_of(a) < 2 ? 2 : cols_of(a);
    long *c = calloc((size_t)k * k, sizeof *c);
    if (!c) return NULL;
    for (long i = 0; i < rows_of(a); i++) c[a->labels[i] * k + predicted(a, i)]++;
    *kout = k;
    return c;
}

static int run_confusion_matrix(dn_ctx *ctx, const dn_call *call)
{
    static const char *const keys[] = { "normalize", NULL };
    char err[512];
    if (dn_args_check(call->args, "%confusion_matrix", 1, 1, keys, err, sizeof err) < 0)
        return dn_fail(ctx, "UsageError", "%s", err);
    const char *name;
    const dn_array *a = need_preds(ctx, call, 0, &name);
    if (!a) return -1;
    int normalize = 0;
    if (dn_opt_bool(ctx, call, "normalize", &normalize, NULL) < 0
        || need_labels(ctx, call, name, a, "a confusion matrix counts true against predicted") < 0)
        return -1;
    int k;
    long *c = confusion(a, &k);
    if (k > 100) {
        free(c);
        return dn_fail(ctx, "ValueError", "%%confusion_matrix: %s has %d classes; a matrix is drawn "
                       "for at most 100", name, k);
    }
    double *v = c ? malloc(sizeof(double) * (size_t)k * k) : NULL;
    char **names = v ? calloc((size_t)k, sizeof *names) : NULL;
    int oom = !names;
    for (int i = 0; !oom && i < k; i++) {
        char nb[16];
        oom = !(names[i] = strdup(class_name(a, i, nb)));
        if (!oom) utf8_fix(names[i]);
    }
    if (oom) {
        for (int i = 0; names && i < k; i++) free(names[i]);
        free(c);
        free(v);
        free(names);
        return dn_fail(ctx, "MemoryError", "out of memory");
    }
    long right = 0, N = rows_of(a);
    for (int i = 0; i < k; i++) {
        long rs = 0;
        for (int j = 0; j < k; j++) rs += c[i * k + j];
        right += c[i * k + i];
        for (int j = 0; j < k; j++)
            v[i * k + j] = !normalize ? (double)c[i * k + j]
                         : rs ? (double)c[i * k + j] / (double)rs : 0;
    }
    char head[256], cnt[32], rt[32];
    snprintf(head, sizeof head, "Confusion matrix of %s", name);
    const char *sub = normalize ? "Shares: each true class's row adds up to 1." : NULL;
    dn_pic pic;
    int rc = 0;
    if (dn_draw_matrix(head, sub, k, (const char *const *)names, v, normalize ? 2 : 0,
                       "True label", "Predicted label", &pic, NULL, err, sizeof err))
        rc = dn_fail(ctx, "ValueError", "%%confusion_matrix: %s", err);
    /* the counts as a table */
    cells cl = { 0 };
    cell_add(&cl, "true \\ predicted");
    for (int j = 0; j < k; j++) cell_add(&cl, "%s", names[j]);
    for (int i = 0; i < k; i++) {
        cell_add(&cl, "%s", names[i]);
        for (int j = 0; j < k; j++) {
            char g[32];
            if (normalize) cell_add(&cl, "%s (%.4f)", dn_grouped(c[i * k + j], g, sizeof g), v[i * k + j]);
            else cell_add(&cl, "%s", dn_grouped(c[i * k + j], g, sizeof g));
        }
    }
    char before[256], after[256];
    snprintf(before, sizeof before, "Confusion matrix of %s: rows are the true classes, columns the "
             "predicted ones%s.", name, normalize ? "; counts, and in brackets the share of the row" : "");
    snprintf(after, sizeof after, "%s of %s right (accuracy %.4f).", dn_grouped(right, rt, sizeof rt),
             dn_grouped(N, cnt, sizeof cnt), (double)right / (double)N);
    if (rc == 0) {
        if (cl.oom) {
            dn_pic_fini(&pic);
            rc = dn_fail(ctx, "MemoryError", "out of memory");
        } else {
            json_t *tb = table_bundle(before, (const char *const *)cl.s, k + 1, k + 1, after,
                                      "deepnb-confusion");
            /* the picture's twin: what it shows, the matrix as numpy prints it */
            dn_text t = { 0 };
            char *list = utf8_fix(class_list(a));
            dn_text_addf(&t, "%s%s: rows are the true classes (%s), columns the predicted "
                         "ones; cells coloured by the %s (Blues, darkest the largest).\n", head,
                         normalize ? ", normalised (each row adds up to 1)" : "", list ? list : "?",
                         normalize ? "shares" : "counts");
            free(list);
            int width = 1;
            for (int i = 0; i < k * k; i++) {
                char num[32];
                int w = normalize ? snprintf(num, sizeof num, "%.2f", v[i])
                                  : snprintf(num, sizeof num, "%ld", c[i]);
                if (w > width) width = w;
            }
            for (int i = 0; i < k; i++) {
                dn_text_adds(&t, i ? " [" : "[[");
                for (int j = 0; j < k; j++) {
                    if (normalize) dn_text_addf(&t, "%s%*.2f", j ? " " : "", width, v[i * k + j]);
                    else dn_text_addf(&t, "%s%*ld", j ? " " : "", width, c[i * k + j]);
                }
                dn_text_adds(&t, i + 1 < k ? "]\n" : "]]\n");
            }
            dn_text_addf(&t, "(a %dx%d PNG)", pic.w, pic.h);
            rc = t.oom ? (dn_pic_fini(&pic), dn_fail(ctx, "MemoryError", "out of memory"))
                       : show_pic(ctx, &pic, t.s);
            free(t.s);
            if (rc == 0) rc = show_bundle(ctx, tb, 0);
            else json_decref(tb);
        }
    }
    cells_free(&cl);
    for (int i = 0; i < k; i++) free(names[i]);
    free(c);
    free(v);
    free(names);
    return rc;
}

/* ---------------------------------------------------------------- %most_confused */

static int run_most_confused(dn_ctx *ctx, const dn_call *call)
{
    static const char *const keys[] = { "min", NULL };
    char err[512];
    if (dn_args_check(call->args, "%most_confused", 1, 1, keys, err, sizeof err) < 0)
        return dn_fail(ctx, "UsageError", "%s", err);
    const char *name;
    const dn_array *a = need_preds(ctx, call, 0, &name);
    if (!a) return -1;
    long min = 1;
    if (dn_opt_whole(ctx, call, "min", NULL, 1, 1L << 40, &min, NULL) < 0
        || need_labels(ctx, call, name, a, "confusions are counted between true and predicted") < 0)
        return -1;
    int k;
    long *c = confusion(a, &k);
    keyed *pairs = c ? malloc(sizeof *pairs * (size_t)k * k) : NULL;
    if (!pairs) {
        free(c);
        return dn_fail(ctx, "MemoryError", "out of memory");
    }
    int np = 0;
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++)
            if (i != j && c[i * k + j] >= min)
                pairs[np++] = (keyed){ -(double)c[i * k + j], (long)i * k + j };
    qsort(pairs, (size_t)np, sizeof *pairs, by_key);
    int rc = 0;
    if (np == 0) {
        dn_print(ctx, "No pair of classes of %s is confused %ld time%s or more.\n", name, min,
                 plural(min, "", "s"));
    } else {
        cells cl = { 0 };
        cell_add(&cl, "actual");
        cell_add(&cl, "predicted");
        cell_add(&cl, "times");
        for (int p = 0; p < np; p++) {
            int i = (int)(pairs[p].i / k), j = (int)(pairs[p].i % k);
            char b1[16], b2[16], g[32];
            cell_add(&cl, "%s", class_name(a, i, b1));
            cell_add(&cl, "%s", class_name(a, j, b2));
            cell_add(&cl, "%s", dn_grouped(c[i * k + j], g, sizeof g));
        }
        char before[256];
        snprintf(before, sizeof before, "The classes %s confuses most (%ld time%s or more), most "
                 "often first:", name, min, plural(min, "", "s"));
        rc = cl.oom ? dn_fail(ctx, "MemoryError", "out of memory")
                    : show_bundle(ctx, table_bundle(before, (const char *const *)cl.s, np + 1, 3,
                                                    NULL, "deepnb-most-confused"), 1);
        cells_free(&cl);
    }
    free(pairs);
    free(c);
    return rc;
}

/* ---------------------------------------------------------------- %logloss */

/* Kaggle's log loss of the predictions with every probability clipped to [lo, hi] and
 * each row scaled to add up to 1 again (as scikit-learn's log_loss): per row. */
static double clipped_loss(const dn_array *a, long i, double lo, double hi)
{
    int k = cols_of(a) < 2 ? 2 : cols_of(a);
    double sum = 0, pt = 0;
    for (int j = 0; j < k; j++) {
        double p = prob(a, i, j);
        p = p < lo ? lo : p > hi ? hi : p;
        sum += p;
        if (j == a->labels[i]) pt = p;
    }
    return -log(pt / sum);
}

static int run_logloss(dn_ctx *ctx, const dn_call *call)
{
    static const char *const keys[] = { "clip", NULL };
    char err[512];
    if (dn_args_check(call->args, "%logloss", 1, 1, keys, err, sizeof err) < 0)
        return dn_fail(ctx, "UsageError", "%s", err);
    const char *name;
    const dn_array *a = need_preds(ctx, call, 0, &name);
    if (!a) return -1;
    double lo = 0.05, hi = 0.95;
    int clipped = 1;
    if (clip_opt(ctx, call, &lo, &hi, &clipped) < 0
        || need_labels(ctx, call, name, a, "the log loss needs the true class") < 0)
        return -1;
    const double eps = 1e-15;   /* Kaggle's own bound: without it one 0 would cost infinity */
    long N = rows_of(a), cnt[3] = { 0 };
    double raw[3] = { 0 }, clp[3] = { 0 };
    for (long i = 0; i < N; i++) {
        double pt = prob(a, i, a->labels[i]);
        int g = !clipped ? 2 : pt < lo ? 0 : pt > hi ? 1 : 2;
        cnt[g]++;
        raw[g] += clipped_loss(a, i, eps, 1 - eps);
        clp[g] += clipped ? clipped_loss(a, i, lo, hi) : 0;
    }
    double Nd = (double)N;
    double all_raw = (raw[0] + raw[1] + raw[2]) / Nd, all_clp = (clp[0] + clp[1] + clp[2]) / Nd;
    cells cl = { 0 };
    char g[32], cb[64];
    snprintf(cb, sizeof cb, "clip=(%g, %g)", lo, hi);
    cell_add(&cl, "predictions");
    cell_add(&cl, "images");
    cell_add(&cl, "log loss, unclipped");
    if (clipped) cell_add(&cl, "%s", cb);
    if (clipped) {
        static const char *const what[2] = { "confident mistakes: P(true class) < %g",
                                             "confident and right: P(true class) > %g" };
        for (int r = 0; r < 2; r++) {
            cell_add(&cl, what[r], r ? hi : lo);
            cell_add(&cl, "%s", dn_grouped(cnt[r], g, sizeof g));
            cell_add(&cl, "%.6f", raw[r] / Nd);
            cell_add(&cl, "%.6f", clp[r] / Nd);
        }
        cell_add(&cl, "the rest");
        cell_add(&cl, "%s", dn_grouped(cnt[2], g, sizeof g));
        cell_add(&cl, "%.6f", raw[2] / Nd);
        cell_add(&cl, "%.6f", clp[2] / Nd);
    }
    cell_add(&cl, "all: the log loss");
    cell_add(&cl, "%s", dn_grouped(N, g, sizeof g));
    cell_add(&cl, "%.6f", all_raw);
    if (clipped) cell_add(&cl, "%.6f", all_clp);
    char before[256], after[768];
    snprintf(before, sizeof before, "Log loss of %s (%s images; lower is better). Each row adds its "
             "images' share of the loss.", name, dn_grouped(N, g, sizeof g));
    if (!clipped) {
        snprintf(after, sizeof after, "Unclipped means Kaggle's own bounds, [1e-15, 1 - 1e-15].");
    } else {
        char c0[32], c1[32];
        dn_grouped(cnt[0], c0, sizeof c0);
        dn_grouped(cnt[1], c1, sizeof c1);
        snprintf(after, sizeof after,
                 "%s confident mistake%s cost %.4f of the unclipped %.4f (%.0f%%). Clipped to "
                 "[%g, %g], a mistake costs at most -ln(%g) = %.2f, so they cost %.4f; the price "
                 "is paid by the %s confident right answer%s: %.4f instead of %.4f. Unclipped "
                 "means Kaggle's own bounds, [1e-15, 1 - 1e-15]; after clipping, each row is "
                 "scaled to add up to 1, as scikit-learn's log_loss does.", c0,
                 plural(cnt[0], "", "s"), raw[0] / Nd, all_raw,
                 all_raw > 0 ? 100 * raw[0] / Nd / all_raw : 0, lo, hi, lo, -log(lo), clp[0] / Nd,
                 c1, plural(cnt[1], "", "s"), clp[1] / Nd, raw[1] / Nd);
    }
    int rc = cl.oom ? dn_fail(ctx, "MemoryError", "out of memory")
                    : show_bundle(ctx, table_bundle(before, (const char *const *)cl.s,
                                                    clipped ? 5 : 2, clipped ? 4 : 3, after,
                                                    "deepnb-logloss"), 1);
    cells_free(&cl);
    return rc;
}

/* ---------------------------------------------------------------- links */

static void url_encode(dn_text *t, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')
            || strchr("-._~/", *p))
            dn_text_add(t, (const char *)p, 1);
        else
            dn_text_addf(t, "%%%02X", *p);
    }
}

/* The absolute path of an existing file, its folder's symbolic links resolved (the file's
 * own name kept). Caller frees. */
static char *absolute(const char *path)
{
    char *copy = strdup(path);
    if (!copy) return NULL;
    char *slash = strrchr(copy, '/');
    const char *base = slash ? slash + 1 : copy;
    char *dir = NULL;
    if (!slash) dir = realpath(".", NULL);
    else if (slash == copy) dir = strdup("/");
    else {
        *slash = 0;
        dir = realpath(copy, NULL);
    }
    char *out = NULL;
    if (dir && asprintf(&out, "%s%s%s", dir, strcmp(dir, "/") ? "/" : "", base) < 0) out = NULL;
    free(dir);
    free(copy);
    return out;
}

/* abs relative to the folder from (both absolute, without . or ..): "a/b.csv",
 * "../x/b.csv". Caller frees. */
static char *relative_to(const char *abs, const char *from)
{
    size_t common = 0, i = 0;
    /* the longest common prefix ending at a folder boundary */
    while (abs[i] && from[i] && abs[i] == from[i]) {
        i++;
        if (abs[i] == '/' && (from[i] == '/' || !from[i])) common = i;
    }
    if (!strcmp(from, "/")) common = 0;
    else if (!from[i] && abs[i] == '/') common = i;
    dn_text t = { 0 };
    for (const char *p = from + common; *p; p++)
        if (*p == '/' && p[1]) dn_text_adds(&t, "../");
    const char *rest = abs + common;
    while (*rest == '/') rest++;
    dn_text_adds(&t, rest);
    if (t.oom) { free(t.s); return NULL; }
    return t.s ? t.s : strdup(".");
}

/* What IPython's FileLink shows: HTML <a href='rel' target='_blank'>rel</a><br> with rel
 * the file's path relative to the notebook's folder, text/plain its absolute path. NULL
 * with a message (FileNotFoundError ...) via dn_fail. */
static json_t *file_link(dn_ctx *ctx, const char *cmd, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno == EACCES) {
            dn_fail(ctx, "PermissionError", "%%%s: no permission to reach '%s'", cmd, path);
        } else {
            char *cwd = path[0] == '/' ? NULL : getcwd(NULL, 0);
            dn_fail(ctx, "FileNotFoundError", "%%%s: no such file: '%s'%s%s%s", cmd, path,
                    cwd ? " (in " : "", cwd ? cwd : "", cwd ? ")" : "");
            free(cwd);
        }
        return NULL;
    }
    if (S_ISDIR(st.st_mode)) {
        dn_fail(ctx, "IsADirectoryError", "%%%s: '%s' is a folder; a link is made to a file (%%ls "
                "lists a folder)", cmd, path);
        return NULL;
    }
    char *abs = absolute(path);
    char *root = start_dir ? realpath(start_dir, NULL) : NULL;
    /* without the start folder (removed since), the absolute path is the best guess */
    char *rel = !abs ? NULL : root ? relative_to(abs, root) : strdup(abs);
    json_t *b = NULL;
    if (abs && rel) {
        dn_text html = { 0 }, plain = { 0 };
        dn_text_adds(&html, "<a href='");
        url_encode(&html, rel);
        dn_text_adds(&html, "' target='_blank'>");
        dn_text_add_html(&html, rel);
        dn_text_adds(&html, "</a><br>");
        if (!strncmp(rel, "../", 3))
            dn_text_adds(&html, "<small>(outside the notebook's folder: it opens only when the "
                         "Jupyter server's root holds it)</small>");
        dn_text_adds(&plain, abs);
        b = dn_text_bundle(&plain, &html);
    }
    free(abs);
    free(root);
    free(rel);
    if (!b) dn_fail(ctx, "MemoryError", "out of memory (or a path that is not UTF-8)");
    return b;
}

static int run_filelink(dn_ctx *ctx, const dn_call *call)
{
    char err[512];
    if (dn_args_check(call->args, "%FileLink", 1, 1, NULL, err, sizeof err) < 0)
        return dn_fail(ctx, "UsageError", "%s", err);
    char *path = dn_arg_path(dn_args_pos(call->args, 0));
    if (!path) return dn_fail(ctx, "UsageError", "%%FileLink FILE: FILE is a path");
    json_t *b = file_link(ctx, "FileLink", path);
    free(path);
    if (!b) return -1;
    return show_bundle(ctx, b, 1);
}

/* ---------------------------------------------------------------- %submit */

/* The id in a file name: the digits of its base name before the extension
 * ("unknown/9292.jpg" -> 9292); -1 when it is not a number. */
static long file_id(const char *file)
{
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    const char *dot = strrchr(base, '.');
    size_t len = dot ? (size_t)(dot - base) : strlen(base);
    if (len == 0 || len > 18) return -1;
    long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (base[i] < '0' || base[i] > '9') return -1;
        v = v * 10 + (base[i] - '0');
    }
    return v;
}

/* the process' umask, without changing it (other threads may be creating files) */
static mode_t current_umask(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    unsigned m = 022;
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "Umask: %o", &m) == 1) break;
    if (f) fclose(f);
    return (mode_t)m;
}

/* Writes text to path through a temporary file in its folder: a failure leaves no file,
 * and without overwrite a file that appeared meanwhile is not replaced. */
static int write_atomic(dn_ctx *ctx, const char *path, const char *text, size_t len, int overwrite)
{
    char *tmp = NULL;
    if (asprintf(&tmp, "%s.tmp-XXXXXX", path) < 0) return dn_fail(ctx, "MemoryError", "out of memory");
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return dn_fail(ctx, e == EACCES ? "PermissionError" : "OSError", "%%submit: cannot write in "
                       "the folder of '%s': %s", path, strerror(e));
    }
    int rc = 0;
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, text + done, len - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) { rc = errno ? errno : EIO; break; }
        done += (size_t)w;
    }
    if (!rc && fchmod(fd, 0666 & ~current_umask()) != 0) rc = errno;
    if (!rc && fsync(fd) != 0) rc = errno;
    if (close(fd) != 0 && !rc) rc = errno;
    if (!rc) {
        if (overwrite) {
            if (rename(tmp, path) != 0) rc = errno;
        } else if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) != 0) {
            rc = errno;
            if (rc == EINVAL || rc == ENOSYS) {   /* a file system without it: link, then unlink */
                rc = link(tmp, path) != 0 ? errno : 0;
                if (!rc) unlink(tmp);
            }
        }
    }
    if (rc) {
        unlink(tmp);
        free(tmp);
        if (rc == EEXIST)
            return dn_fail(ctx, "FileExistsError", "%%submit: '%s' appeared while it was written; "
                           "overwrite=True replaces it", path);
        return dn_fail(ctx, rc == ENOSPC ? "OSError" : rc == EACCES ? "PermissionError" : "OSError",
                       "%%submit: could not write '%s': %s (nothing was written)", path, strerror(rc));
    }
    free(tmp);
    return 0;
}

typedef struct idrow { long id; long i; } idrow;

static int by_id(const void *x, const void *y)
{
    const idrow *a = x, *b = y;
    return a->id < b->id ? -1 : a->id > b->id;
}

static int run_submit(dn_ctx *ctx, const dn_call *call)
{
    static const char *const keys[] = { "clip", "column", "overwrite", NULL };
    char err[512];
    if (dn_args_check(call->args, "%submit", 2, 2, keys, err, sizeof err) < 0)
        return dn_fail(ctx, "UsageError", "%s", err);
    const char *name;
    const dn_array *a = need_preds(ctx, call, 0, &name);
    if (!a) return -1;
    double lo = 0.05, hi = 0.95;
    int clipped = 1, overwrite = 0;
    if (clip_opt(ctx, call, &lo, &hi, &clipped) < 0
        || dn_opt_bool(ctx, call, "overwrite", &overwrite, NULL) < 0)
        return -1;
    int k = cols_of(a), col = k == 1 ? 0 : k == 2 ? 1 : -1;
    const dn_value *cv = dn_args_key(call->args, "column");
    if (cv) {
        if (class_arg(ctx, call, name, a, cv, "column=", &col) < 0) return -1;
        if (k == 1 && col != 1)
            return dn_fail(ctx, "ValueError", "%%submit: %s has one column, the probability of "
                           "class 1; column= can only name that class", name);
        if (k == 1) col = 0;
    } else if (col < 0) {
        char *list = class_list(a);
        int rc = dn_fail(ctx, "UsageError", "%%submit: %s has %d classes; say whose probability "
                         "the file holds with column=CLASS (one of %s)", name, k, list ? list : "?");
        free(list);
        return rc;
    }
    if (!a->filenames)
        return dn_fail(ctx, "ValueError", "%%submit: %s are predictions of an array, with no file "
                       "names to take the ids from (predict batches of the test folder)", name);
    char *path = dn_arg_path(dn_args_pos(call->args, 1));
    if (!path) return dn_fail(ctx, "UsageError", "%%submit PREDS FILE: FILE is a path such as "
                              "results/submission.csv");
    long N = rows_of(a);
    idrow *ids = malloc((size_t)N * sizeof *ids);
    int rc = ids ? 0 : dn_fail(ctx, "MemoryError", "out of memory");
    for (long i = 0; rc == 0 && i < N; i++) {
        const char *f = a->filenames[i] ? a->filenames[i] : "";
        ids[i] = (idrow){ file_id(f), i };
        if (ids[i].id < 0)
            rc = dn_fail(ctx, "ValueError", "%%submit: the id of each row is its file's name, a "
                         "number (unknown/9292.jpg is id 9292); %s's row %ld is '%s'", name, i, f);
    }
    if (rc == 0) qsort(ids, (size_t)N, sizeof *ids, by_id);
    for (long i = 1; rc == 0 && i < N; i++)
        if (ids[i].id == ids[i - 1].id)
            rc = dn_fail(ctx, "ValueError", "%%submit: two files have id %ld: '%s' and '%s'",
                         ids[i].id, a->filenames[ids[i - 1].i], a->filenames[ids[i].i]);
    for (long i = 0; rc == 0 && i < N; i++)
        if (!isfinite(a->data[i * k + col]))
            rc = dn_fail(ctx, "ValueError", "%%submit: %s's row %ld ('%s') holds %f, not a "
                         "probability; nothing was written", name, i, a->filenames[i],
                         (double)a->data[i * k + col]);
    struct stat st;
    if (rc == 0 && stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            rc = dn_fail(ctx, "IsADirectoryError", "%%submit: '%s' is a folder; give a file name "
                         "such as %s/submission.csv", path, path);
        else if (!overwrite)
            rc = dn_fail(ctx, "FileExistsError", "%%submit: '%s' exists; overwrite=True replaces it",
                         path);
    }
    if (rc == 0) rc = dn_need_parent_folder(ctx, path);
    dn_text csv = { 0 };
    if (rc == 0) {
        dn_text_adds(&csv, "id,label\n");
        for (long r = 0; r < N; r++) {
            double p = a->data[ids[r].i * k + col];
            if (p < lo) p = lo;
            if (p > hi) p = hi;
            dn_text_addf(&csv, "%ld,%.5f\n", ids[r].id, p);
        }
        if (csv.oom) rc = dn_fail(ctx, "MemoryError", "out of memory");
    }
    json_t *link = NULL;
    if (rc == 0) rc = write_atomic(ctx, path, csv.s, csv.n, overwrite);
    if (rc == 0) {
        char cb[16], g[32];
        const char *cname = class_name(a, k == 1 ? 1 : col, cb);
        if (clipped)
            dn_print(ctx, "Wrote %s rows to %s: id, and P(%s) clipped to [%g, %g].\n",
                     dn_grouped(N, g, sizeof g), path, cname, lo, hi);
        else
            dn_print(ctx, "Wrote %s rows to %s: id, and P(%s), unclipped.\n",
                     dn_grouped(N, g, sizeof g), path, cname);
        /* the head of the file, as pandas' head() shows it */
        cells cl = { 0 };
        cell_add(&cl, " ");
        cell_add(&cl, "id");
        cell_add(&cl, "label");
        const char *line = strchr(csv.s, '\n') + 1;
        int shown = 0;
        for (; shown < 5 && *line; shown++) {
            const char *comma = strchr(line, ','), *nl = strchr(line, '\n');
            cell_add(&cl, "%d", shown);
            cell_add(&cl, "%.*s", (int)(comma - line), line);
            cell_add(&cl, "%.*s", (int)(nl - comma - 1), comma + 1);
            line = nl + 1;
        }
        rc = cl.oom ? dn_fail(ctx, "MemoryError", "out of memory")
                    : show_bundle(ctx, table_bundle(NULL, (const char *const *)cl.s, shown + 1, 3,
                                                    NULL, "deepnb-submission"), 0);
        cells_free(&cl);
        if (rc == 0 && (link = file_link(ctx, "submit", path))) rc = show_bundle(ctx, link, 0);
        else if (rc == 0) rc = -1;
    }
    free(csv.s);
    free(ids);
    free(path);
    return rc;
}

/* ---------------------------------------------------------------- %plot_history */

static int run_plot_history(dn_ctx *ctx, const dn_call *call)
{
    char err[512];
    if (dn_args_check(call->args, "%plot_history", 1, 1, NULL, err, sizeof err) < 0)
        return dn_fail(ctx, "UsageError", "%s", err);
    const char *name;
    dn_ws_model *wm = dn_need_model(ctx, call, 0, &name);
    if (!wm) return -1;
    int n = wm->nhist;
    if (n == 0) {
        dn_print(ctx, "%s has not been trained since it was compiled: no curves to draw yet (%%fit "
                 "trains it).\n", name);
        return 0;
    }
    double *buf = malloc(sizeof(double) * (size_t)n * 5);
    double *marks = malloc(sizeof(double) * (size_t)n);
    char (*mlabels)[16] = calloc((size_t)n, sizeof *mlabels);
    const char **mptr = calloc((size_t)n, sizeof *mptr);
    if (!buf || !marks || !mlabels || !mptr) {
        free(buf);
        free(marks);
        free(mlabels);
        free(mptr);
        return dn_fail(ctx, "MemoryError", "out of memory");
    }
    double *x = buf, *tl = buf + n, *vl = buf + 2 * n, *ta = buf + 3 * n, *va = buf + 4 * n;
    int has_val = 0, has_acc = 0, nmarks = 0;
    for (int i = 0; i < n; i++) {
        const dn_hist_row *r = &wm->hist[i];
        x[i] = r->epoch;
        tl[i] = r->log.train.loss;
        ta[i] = r->log.train.has_acc ? r->log.train.acc : NAN;
        vl[i] = r->log.has_val ? r->log.val.loss : NAN;
        va[i] = r->log.has_val && r->log.val.has_acc ? r->log.val.acc : NAN;
        has_val |= r->log.has_val;
        has_acc |= r->log.train.has_acc;
        if (i && r->fit != wm->hist[i - 1].fit) {
            marks[nmarks] = r->epoch - 0.5;
            snprintf(mlabels[nmarks], sizeof mlabels[nmarks], "fit %d", r->fit);
            mptr[nmarks] = mlabels[nmarks];
            nmarks++;
        }
    }
    const unsigned blue = 0x1f77b4, orange = 0xff7f0e;
    dn_series ls[2] = { { "training", x, tl, n, blue, 0 }, { "validation", x, vl, n, orange, 1 } };
    dn_series as[2] = { { "training", x, ta, n, blue, 0 }, { "validation", x, va, n, orange, 1 } };
    dn_panel panels[2] = { { "Loss", "loss", ls, has_val ? 2 : 1 },
                           { "Accuracy", "accuracy", as, has_val ? 2 : 1 } };
    int fits = wm->hist[n - 1].fit - wm->hist[0].fit + 1;
    char head[256];
    snprintf(head, sizeof head, "%s: %s over its %d epoch%s since %%compile (%d fit%s)", name,
             has_acc ? "loss and accuracy" : "loss", n, plural(n, "", "s"), fits, plural(fits, "", "s"));
    dn_pic pic;
    int rc = 0;
    if (dn_draw_chart(head, panels, has_acc ? 2 : 1, "epoch", marks, mptr, nmarks, &pic, err, sizeof err))
        rc = dn_fail(ctx, "ValueError", "%%plot_history: %s", err);
    if (rc == 0) {
        dn_text t = { 0 };
        dn_text_addf(&t, "%s; training solid, validation dashed%s.\n", head,
                     nmarks ? ", a dotted line where each later %fit began" : "");
        dn_text_addf(&t, "%5s  %10s", "epoch", "loss");
        if (has_acc) dn_text_addf(&t, "  %8s", "acc");
        if (has_val) dn_text_addf(&t, "  %10s", "val_loss");
        if (has_val && has_acc) dn_text_addf(&t, "  %8s", "val_acc");
        dn_text_adds(&t, "\n");
        for (int i = 0; i < n; i++) {
            dn_text_addf(&t, "%5.0f  %10.4f", x[i], tl[i]);
            if (has_acc) dn_text_addf(&t, "  %8.4f", ta[i]);
            if (has_val && isnan(vl[i])) dn_text_addf(&t, "  %10s", "-");
            else if (has_val) dn_text_addf(&t, "  %10.4f", vl[i]);
            if (has_val && has_acc && isnan(va[i])) dn_text_addf(&t, "  %8s", "-");
            else if (has_val && has_acc) dn_text_addf(&t, "  %8.4f", va[i]);
            dn_text_adds(&t, "\n");
        }
        dn_text_addf(&t, "(a %dx%d PNG)", pic.w, pic.h);
        rc = t.oom ? (dn_pic_fini(&pic), dn_fail(ctx, "MemoryError", "out of memory"))
                   : show_pic(ctx, &pic, t.s);
        free(t.s);
    }
    free(buf);
    free(marks);
    free(mlabels);
    free(mptr);
    return rc;
}

/* ---------------------------------------------------------------- the table */

static const char *const plots_keys[] = { "correct", "incorrect", "most_correct",
    "most_incorrect", "uncertain", "n=", "original=", NULL };

const dn_command dn_commands_results[] = {
    { .name = "plots", .kind = DN_LINE, .run = run_plots, .source = __FILE__,
      .synopsis = "%plots PREDS VIEW [CLASS] [n=4] | BATCHES [n=8]",
      .complete = DN_COMPLETE_NAMES | DN_COMPLETE_KEYWORDS, .args = "n-", .keywords = plots_keys,
      .help =
        "Images of predictions (or of batches) in a grid, each titled, as the lesson's plots.\n"
        "%plots PREDS correct|incorrect|uncertain [n=4] [original=False]\n"
        "%plots PREDS most_correct|most_incorrect CLASS [n=4] [original=False]\n"
        "%plots BATCHES [n=8] [original=False]\n\n"
        "The lesson's five views of a validation set's predictions:\n"
        "  correct         n right predictions, at random (%seed makes the choice repeat)\n"
        "  incorrect       n wrong predictions, at random\n"
        "  most_correct C  the images rightly predicted C with the highest P(C)\n"
        "  most_incorrect C  the images wrongly predicted C with the highest P(C): the model\n"
        "                  was surest they were C, and they are not\n"
        "  uncertain       the probabilities nearest 0.5 (more than two classes: the smallest\n"
        "                  margin between the two likeliest); works without true labels\n"
        "Titles give the predicted class and its probability, and the true class where it\n"
        "helps (green: right, red: wrong). A view with no images (no incorrect predictions)\n"
        "says so in words. With BATCHES, a batch's images with their labels, as fastai's\n"
        "show_batch: the first n of an unshuffled source, n at random of a shuffled one.\n\n"
        "The images are read from their files and shown as the model saw them (resized to\n"
        "its input size, grey for grayscale batches; not the preprocessing's value shift),\n"
        "enlarged by a whole factor with nearest neighbour to about 170 pixels; the\n"
        "picture's text says which images it shows, in order.\n\n"
        "Options:\n"
        "  n=4           images to show (1 to 64); n=8 for batches\n"
        "  original=True the files as they are (fitted into the tile), not the model's view\n\n"
        "Examples:\n"
        "  %plots val_preds incorrect\n"
        "  %plots val_preds most_incorrect dogs n=8\n"
        "  %plots batches" },
    { .name = "top_losses", .kind = DN_LINE, .run = run_top_losses, .source = __FILE__,
      .synopsis = "%top_losses PREDS [n=9]",
      .complete = DN_COMPLETE_NAMES | DN_COMPLETE_KEYWORDS, .args = "n-",
      .keywords = (const char *const[]){ "n=", "original=", NULL },
      .help =
        "The images the model is most wrong about, as fastai's plot_top_losses.\n"
        "%top_losses PREDS [n=9] [original=False]\n\n"
        "Each image's loss is -ln P(its true class) (the cross-entropy; P is kept from 1e-15\n"
        "up); the n largest are shown in a grid, the largest first, titled predicted / actual,\n"
        "the loss and P(actual). PREDS needs true labels. Images as %plots shows them.\n\n"
        "Example:\n  %top_losses val_preds n=8" },
    { .name = "confusion_matrix", .kind = DN_LINE, .run = run_confusion_matrix, .source = __FILE__,
      .synopsis = "%confusion_matrix PREDS [normalize=False]",
      .complete = DN_COMPLETE_NAMES | DN_COMPLETE_KEYWORDS, .args = "n-",
      .keywords = (const char *const[]){ "normalize=", NULL },
      .help =
        "How often each true class is predicted as each class: a picture and a table.\n"
        "%confusion_matrix PREDS [normalize=False]\n\n"
        "Rows are the true classes, columns the predicted ones (the class with the largest\n"
        "probability), class names on both axes, the count in each cell, coloured with\n"
        "matplotlib's Blues: the colours follow the numbers shown (with normalize=True, each\n"
        "row's shares, which add up to 1), white text on dark cells, black on light. The\n"
        "counts follow as a table, with the accuracy. PREDS needs true labels.\n\n"
        "Options:\n"
        "  normalize=True  each true class's row as shares of that class\n\n"
        "Example:\n  %confusion_matrix val_preds" },
    { .name = "most_confused", .kind = DN_LINE, .run = run_most_confused, .source = __FILE__,
      .synopsis = "%most_confused PREDS [min=1]",
      .complete = DN_COMPLETE_NAMES | DN_COMPLETE_KEYWORDS, .args = "n-",
      .keywords = (const char *const[]){ "min=", NULL },
      .help =
        "The pairs of classes the model mixes up most, as fastai's most_confused.\n"
        "A table of actual class, predicted class and how many times, most often first.\n"
        "%most_confused PREDS [min=1]\n\n"
        "Options:\n"
        "  min=1   leave out pairs confused fewer times\n\n"
        "Example:\n  %most_confused val_preds min=2" },
    { .name = "logloss", .kind = DN_LINE, .run = run_logloss, .source = __FILE__,
      .synopsis = "%logloss PREDS [clip=(0.05, 0.95)]",
      .complete = DN_COMPLETE_NAMES | DN_COMPLETE_KEYWORDS, .args = "n-",
      .keywords = (const char *const[]){ "clip=", NULL },
      .help =
        "The competition's score, the log loss, with and without clipping, as a table.\n"
        "%logloss PREDS [clip=(0.05, 0.95)]\n\n"
        "Log loss is the mean of -ln P(true class). A confident mistake (P(true class) near\n"
        "0) costs without bound, which is why the lesson clips the probabilities before\n"
        "submitting. The table splits the images into confident mistakes, confident right\n"
        "answers and the rest, and gives each group's share of the loss unclipped and\n"
        "clipped: what the clip saves on the mistakes and what it costs on the right ones.\n"
        "Unclipped means Kaggle's own bounds (1e-15); after clipping each row is scaled to\n"
        "add up to 1, as scikit-learn's log_loss does. PREDS needs true labels.\n\n"
        "Options:\n"
        "  clip=(lo, hi)  the clip to compare with; clip=None: only the unclipped loss\n\n"
        "Example:\n  %logloss val_preds clip=(0.02, 0.98)" },
    { .name = "submit", .kind = DN_LINE, .run = run_submit, .source = __FILE__,
      .synopsis = "%submit PREDS FILE [clip=(0.05, 0.95)] [column=CLASS]",
      .complete = DN_COMPLETE_NAMES | DN_COMPLETE_PATHS | DN_COMPLETE_KEYWORDS, .args = "np-",
      .keywords = (const char *const[]){ "clip=", "column=", "overwrite=", NULL },
      .help =
        "Write a Kaggle submission file from test-set predictions, as the lesson does.\n"
        "%submit PREDS FILE [clip=(0.05, 0.95)] [column=CLASS] [overwrite=False]\n\n"
        "One row per image: its id, the number its file is named after (unknown/9292.jpg\n"
        "is 9292), and the probability of one class clipped to [lo, hi]; header id,label,\n"
        "rows written %d,%.5f in id order. Shows the first rows as a table and a link to\n"
        "the file. The file is written whole or not at all (through a temporary file),\n"
        "and an existing one is kept unless overwrite=True.\n\n"
        "Options:\n"
        "  clip=(0.05, 0.95)  bounds for the probability; clip=None writes it unclipped\n"
        "  column=CLASS       whose probability (default: the last of two classes, dogs\n"
        "                     of cats and dogs; needed for more than two classes)\n"
        "  overwrite=False    replace an existing file\n\n"
        "Example:\n"
        "  %predict vgg test_batches as=preds\n"
        "  %submit preds results/submission.csv clip=(0.05, 0.95) column=dogs" },
    { .name = "FileLink", .kind = DN_LINE, .run = run_filelink, .source = __FILE__,
      .synopsis = "%FileLink FILE",
      .complete = DN_COMPLETE_PATHS,
      .help =
        "A link to a file that opens or downloads it from the notebook, as IPython's FileLink.\n"
        "%FileLink FILE\n\n"
        "The link is the file's path relative to the notebook's folder (the folder the kernel\n"
        "started in), so it works in JupyterLab and the classic Notebook; the text version\n"
        "is the file's absolute path. A missing file is a FileNotFoundError.\n\n"
        "Example:\n  %FileLink results/submission.csv" },
    { .name = "plot_history", .kind = DN_LINE, .run = run_plot_history, .source = __FILE__,
      .synopsis = "%plot_history NAME",
      .complete = DN_COMPLETE_NAMES, .args = "n-",
      .help =
        "Loss and accuracy curves of a model over every epoch since it was compiled.\n"
        "%plot_history NAME\n\n"
        "Training solid, validation dashed, one point an epoch, a dotted line where each\n"
        "later %fit began; the accuracy panel when the model was compiled with\n"
        "metrics=accuracy. The numbers are in the picture's text (%history shows them as a\n"
        "table).\n\n"
        "Example:\n  %plot_history vgg" },
    { 0 },
};
