/* resize.c — separable triangle-filter resize (Pillow's BILINEAR with reducing
 * support), written with GCC vector types so both passes run 4 floats at a time. */
#include "data/resize.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));

typedef struct table {
    int in, out, ksize;
    int taps;         /* taps per output index (the widest window; never above in) */
    int *lo, *n;      /* first source index and tap count per output index */
    float *w;         /* out * ksize weights */
    v4f *w4;          /* out * taps weights, each in all 4 lanes (horizontal pass) */
} table;

struct dn_resizer {
    table h, v;
    float *tmp;       /* the vertical pass's output: dh rows of sw*3 floats (+ pad) */
    size_t tmp_cap;
    float *ring;      /* source rows converted to float, ksize of them */
    size_t ring_cap;
    const float **rowp;   /* the taps' rows of one output row */
    int rowp_cap;
};

int dn_preprocess_parse(const char *name, dn_preprocess *out, char *err, size_t errlen)
{
    if (!strcasecmp(name, "none") || !strcasecmp(name, "raw"))
        *out = DN_PRE_NONE;
    else if (!strcasecmp(name, "scale") || !strcasecmp(name, "scale01") || !strcasecmp(name, "rescale"))
        *out = DN_PRE_SCALE01;
    else if (!strcasecmp(name, "vgg") || !strcasecmp(name, "vgg16"))
        *out = DN_PRE_VGG;
    else {
        snprintf(err, errlen, "unknown preprocessing '%s' (use none, scale or vgg)", name);
        return -1;
    }
    return 0;
}

const char *dn_preprocess_name(dn_preprocess p)
{
    switch (p) {
    case DN_PRE_SCALE01: return "scale";
    case DN_PRE_VGG: return "vgg";
    default: return "none";
    }
}

dn_resizer *dn_resizer_new(void)
{
    return calloc(1, sizeof(dn_resizer));
}

static void table_fini(table *t)
{
    free(t->lo);
    free(t->n);
    free(t->w);
    free(t->w4);
    memset(t, 0, sizeof *t);
}

void dn_resizer_free(dn_resizer *r)
{
    if (!r)
        return;
    table_fini(&r->h);
    table_fini(&r->v);
    free(r->tmp);
    free(r->ring);
    free(r->rowp);
    free(r);
}

static double triangle(double x)
{
    x = fabs(x);
    return x < 1.0 ? 1.0 - x : 0.0;
}

/* The same coefficients as Pillow's precompute_coeffs for its bilinear filter:
 * centre of output pixel mapped into the input, support widened by the scale when
 * shrinking, weights normalised to sum to 1. */
static int table_make(table *t, int in, int out)
{
    if (t->in == in && t->out == out && t->w)
        return 0;
    table_fini(t);
    double scale = (double)in / out, fscale = scale < 1.0 ? 1.0 : scale;
    double support = 1.0 * fscale;
    int ksize = (int)ceil(support) * 2 + 1;
    t->lo = malloc(sizeof(int) * out);
    t->n = malloc(sizeof(int) * out);
    t->w = calloc((size_t)out * ksize, sizeof(float));
    double *k = malloc(sizeof(double) * ksize);
    if (!t->lo || !t->n || !t->w || !k) {
        free(k);
        table_fini(t);
        return -1;
    }
    for (int xx = 0; xx < out; xx++) {
        double center = (xx + 0.5) * scale, ww = 0.0, ss = 1.0 / fscale;
        int xmin = (int)(center - support + 0.5), xmax;
        if (xmin < 0)
            xmin = 0;
        xmax = (int)(center + support + 0.5);
        if (xmax > in)
            xmax = in;
        xmax -= xmin;
        for (int x = 0; x < xmax; x++) {
            k[x] = triangle((x + xmin - center + 0.5) * ss);
            ww += k[x];
        }
        /* drop zero weights at the ends: fewer taps, same sums */
        int a = 0, b = xmax;
        while (a < b && k[a] == 0.0)
            a++;
        while (b > a && k[b - 1] == 0.0)
            b--;
        t->lo[xx] = xmin + a;
        t->n[xx] = b - a;
        for (int x = a; x < b; x++)
            t->w[(size_t)xx * ksize + (x - a)] = (float)(ww != 0.0 ? k[x] / ww : 0.0);
        if (b - a > t->taps)
            t->taps = b - a;
    }
    /* Every output gets the same tap count (zero weights pad the short ones), so the
     * inner loops have a fixed trip count the branch predictor learns; near the far
     * edge the window slides left instead of reading past the row. */
    for (int xx = 0; xx < out; xx++) {
        int shift = t->lo[xx] + t->taps - in;
        if (shift > 0) {
            float *w = t->w + (size_t)xx * ksize;
            memmove(w + shift, w, sizeof(float) * t->n[xx]);
            memset(w, 0, sizeof(float) * shift);
            t->lo[xx] -= shift;
        }
        t->n[xx] = t->taps;
    }
    free(k);
    t->w4 = malloc(sizeof(v4f) * out * (t->taps ? t->taps : 1));
    if (!t->w4) {
        table_fini(t);
        return -1;
    }
    for (int xx = 0; xx < out; xx++)
        for (int j = 0; j < t->taps; j++) {
            float w = t->w[(size_t)xx * ksize + j];
            t->w4[(size_t)xx * t->taps + j] = (v4f){w, w, w, w};
        }
    t->in = in;
    t->out = out;
    t->ksize = ksize;
    return 0;
}

static inline v4f load4(const float *p)
{
    v4f v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void store4(float *p, v4f v)
{
    memcpy(p, &v, sizeof v);
}

/* bytes -> floats, 16 at a time where SSE2 is there (GCC lowers a generic vector
 * conversion from bytes to scalar converts, which dominated the profile) */
static void to_float(const unsigned char *s, float *d, size_t n)
{
    size_t i = 0;
#ifdef __SSE2__
    const __m128i z = _mm_setzero_si128();
    for (; i + 16 <= n; i += 16) {
        __m128i b = _mm_loadu_si128((const __m128i *)(s + i));
        __m128i lo = _mm_unpacklo_epi8(b, z), hi = _mm_unpackhi_epi8(b, z);
        _mm_storeu_ps(d + i, _mm_cvtepi32_ps(_mm_unpacklo_epi16(lo, z)));
        _mm_storeu_ps(d + i + 4, _mm_cvtepi32_ps(_mm_unpackhi_epi16(lo, z)));
        _mm_storeu_ps(d + i + 8, _mm_cvtepi32_ps(_mm_unpacklo_epi16(hi, z)));
        _mm_storeu_ps(d + i + 12, _mm_cvtepi32_ps(_mm_unpackhi_epi16(hi, z)));
    }
#endif
    for (; i < n; i++)
        d[i] = s[i];
}

/* One output row of the vertical pass: the weighted sum of n float rows, 16 floats
 * a step; fixed-count copies let the compiler unroll the taps. */
#define VROW_BODY(N)                                                               \
    size_t i = 0;                                                                  \
    for (; i + 16 <= len; i += 16) {                                               \
        v4f a = {0, 0, 0, 0}, b = a, c = a, d = a;                                 \
        for (int k = 0; k < (N); k++) {                                            \
            const float *p = rows[k] + i;                                          \
            v4f wk = {w[k], w[k], w[k], w[k]};                                     \
            a += wk * load4(p);                                                    \
            b += wk * load4(p + 4);                                                \
            c += wk * load4(p + 8);                                                \
            d += wk * load4(p + 12);                                               \
        }                                                                          \
        store4(out + i, a);                                                        \
        store4(out + i + 4, b);                                                    \
        store4(out + i + 8, c);                                                    \
        store4(out + i + 12, d);                                                   \
    }                                                                              \
    for (; i < len; i++) {                                                         \
        float a = 0;                                                               \
        for (int k = 0; k < (N); k++)                                              \
            a += w[k] * rows[k][i];                                                \
        out[i] = a;                                                                \
    }

#define VROW_FIXED(N)                                                              \
    static void vrow_##N(const float *const *rows, const float *w, size_t len,     \
                         float *out)                                               \
    {                                                                              \
        VROW_BODY(N)                                                               \
    }
VROW_FIXED(2)
VROW_FIXED(3)
VROW_FIXED(4)
VROW_FIXED(5)
VROW_FIXED(6)
VROW_FIXED(7)
VROW_FIXED(8)

static void vrow(const float *const *rows, int n, const float *w, size_t len, float *out)
{
    switch (n) {
    case 2: vrow_2(rows, w, len, out); return;
    case 3: vrow_3(rows, w, len, out); return;
    case 4: vrow_4(rows, w, len, out); return;
    case 5: vrow_5(rows, w, len, out); return;
    case 6: vrow_6(rows, w, len, out); return;
    case 7: vrow_7(rows, w, len, out); return;
    case 8: vrow_8(rows, w, len, out); return;
    default: { VROW_BODY(n) }
    }
}

static inline v4f finish(v4f acc, v4f mul, v4f add, int bgr)
{
    acc = acc * mul + add;
    return bgr ? __builtin_shuffle(acc, (v4i){2, 1, 0, 3}) : acc;
}

/* Writes pixel x of an output row: 4-wide stores spill one float into the next
 * pixel, written after, so only a row's last pixel is stored lane by lane. */
static inline void put(float *o, int x, int dw, v4f v)
{
    if (x < dw - 1) {
        store4(o + (size_t)x * 3, v);
    } else {
        o[(size_t)x * 3] = v[0];
        o[(size_t)x * 3 + 1] = v[1];
        o[(size_t)x * 3 + 2] = v[2];
    }
}

static void hcopy(const float *s0, const float *s1, float *o0, float *o1, int dw,
                  v4f mul, v4f add, int bgr)
{
    for (int x = 0; x < dw; x++) {
        put(o0, x, dw, finish(load4(s0 + (size_t)x * 3), mul, add, bgr));
        put(o1, x, dw, finish(load4(s1 + (size_t)x * 3), mul, add, bgr));
    }
}

/* One generic loop, and copies with the tap count fixed so the compiler unrolls
 * the inner loop (the common shrink factors need 2 to 8 taps). */
#define HROWS_BODY(N)                                                              \
    for (int x = 0; x < dw; x++) {                                                 \
        const float *p0 = s0 + (size_t)lo[x] * 3, *p1 = s1 + (size_t)lo[x] * 3;    \
        const v4f *w = w4 + (size_t)x * (N);                                       \
        v4f a0 = {0, 0, 0, 0}, a1 = {0, 0, 0, 0};                                  \
        for (int k = 0; k < (N); k++) {                                            \
            a0 += w[k] * load4(p0 + 3 * k);                                        \
            a1 += w[k] * load4(p1 + 3 * k);                                        \
        }                                                                          \
        put(o0, x, dw, finish(a0, mul, add, bgr));                                 \
        put(o1, x, dw, finish(a1, mul, add, bgr));                                 \
    }

#define HROWS_FIXED(N)                                                             \
    static void hrows_##N(const float *s0, const float *s1, float *o0, float *o1,  \
                          const int *lo, const v4f *w4, int dw, v4f mul, v4f add,  \
                          int bgr)                                                 \
    {                                                                              \
        HROWS_BODY(N)                                                              \
    }
HROWS_FIXED(2)
HROWS_FIXED(3)
HROWS_FIXED(4)
HROWS_FIXED(5)
HROWS_FIXED(6)
HROWS_FIXED(7)
HROWS_FIXED(8)

static void hrows(const float *s0, const float *s1, float *o0, float *o1, const int *lo,
                  const v4f *w4, int taps, int dw, v4f mul, v4f add, int bgr)
{
    switch (taps) {
    case 2: hrows_2(s0, s1, o0, o1, lo, w4, dw, mul, add, bgr); return;
    case 3: hrows_3(s0, s1, o0, o1, lo, w4, dw, mul, add, bgr); return;
    case 4: hrows_4(s0, s1, o0, o1, lo, w4, dw, mul, add, bgr); return;
    case 5: hrows_5(s0, s1, o0, o1, lo, w4, dw, mul, add, bgr); return;
    case 6: hrows_6(s0, s1, o0, o1, lo, w4, dw, mul, add, bgr); return;
    case 7: hrows_7(s0, s1, o0, o1, lo, w4, dw, mul, add, bgr); return;
    case 8: hrows_8(s0, s1, o0, o1, lo, w4, dw, mul, add, bgr); return;
    default: HROWS_BODY(taps)
    }
}

int dn_resize_rgb(dn_resizer *r, const unsigned char *src, int sw, int sh,
                  float *dst, int dw, int dh, dn_preprocess pre,
                  char *err, size_t errlen)
{
    if (sw <= 0 || sh <= 0 || dw <= 0 || dh <= 0) {
        snprintf(err, errlen, "cannot resize %dx%d to %dx%d", sw, sh, dw, dh);
        return -1;
    }
    if (table_make(&r->h, sw, dw) != 0 || table_make(&r->v, sh, dh) != 0) {
        snprintf(err, errlen, "out of memory for resize tables");
        return -1;
    }
    size_t row = (size_t)sw * 3, need = (size_t)dh * row + 4;
    if (need > r->tmp_cap) {
        float *p = realloc(r->tmp, need * sizeof(float));
        if (!p) {
            snprintf(err, errlen, "out of memory resizing a %dx%d image", sw, sh);
            return -1;
        }
        r->tmp = p;
        r->tmp_cap = need;
    }
    /* vertical pass: dh rows of sw pixels. Source rows are converted to float once,
     * into a ring of ksize rows: the taps of successive output rows only move down. */
    const table *t = &r->v;
    int ring = sh == dh ? 1 : t->ksize;
    size_t rneed = (size_t)ring * row;
    if (rneed > r->ring_cap) {
        float *p = realloc(r->ring, rneed * sizeof(float));
        if (!p) {
            snprintf(err, errlen, "out of memory resizing a %dx%d image", sw, sh);
            return -1;
        }
        r->ring = p;
        r->ring_cap = rneed;
    }
    if (ring > r->rowp_cap) {
        const float **p = realloc(r->rowp, sizeof *p * ring);
        if (!p) {
            snprintf(err, errlen, "out of memory resizing a %dx%d image", sw, sh);
            return -1;
        }
        r->rowp = p;
        r->rowp_cap = ring;
    }
    int next = 0;   /* next source row to convert */
    for (int y = 0; y < dh; y++) {
        float *o = r->tmp + (size_t)y * row;
        if (sh == dh) {
            to_float(src + (size_t)y * row, o, row);
            continue;
        }
        int lo = t->lo[y], n = t->n[y];
        if (next < lo)
            next = lo;
        for (; next < lo + n; next++)
            to_float(src + (size_t)next * row, r->ring + (size_t)(next % ring) * row, row);
        for (int k = 0; k < n; k++)
            r->rowp[k] = r->ring + (size_t)((lo + k) % ring) * row;
        vrow(r->rowp, n, t->w + (size_t)y * t->ksize, row, o);
    }
    r->tmp[(size_t)dh * row] = 0;   /* the pad the last 4-wide load reads */

    v4f mul = {1, 1, 1, 0}, add = {0, 0, 0, 0};
    if (pre == DN_PRE_SCALE01)
        mul = (v4f){1.0f / 255, 1.0f / 255, 1.0f / 255, 0};
    else if (pre == DN_PRE_VGG)
        add = (v4f){-123.68f, -116.779f, -103.939f, 0};
    /* horizontal pass, two rows at a time (they share the weights) */
    const table *th = &r->h;
    for (int y = 0; y < dh; y += 2) {
        int y1 = y + 1 < dh ? y + 1 : y;
        const float *s0 = r->tmp + (size_t)y * row, *s1 = r->tmp + (size_t)y1 * row;
        float *o0 = dst + (size_t)y * dw * 3, *o1 = dst + (size_t)y1 * dw * 3;
        if (sw == dw)
            hcopy(s0, s1, o0, o1, dw, mul, add, pre == DN_PRE_VGG);
        else
            hrows(s0, s1, o0, o1, th->lo, th->w4, th->taps, dw, mul, add, pre == DN_PRE_VGG);
    }
    return 0;
}
