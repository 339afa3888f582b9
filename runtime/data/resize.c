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
/* dn_resize_planes has an AVX2 path picked at run time (GCC/Clang on x86-64) */
#if defined(__x86_64__) && defined(__GNUC__)
#define DN_RESIZE_AVX2 1
#include <immintrin.h>
#else
#define DN_RESIZE_AVX2 0
#endif

typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));

#define Q 16384   /* the vertical pass's fixed-point one */
/* Above this many taps (shrinking more than ~15x) 14-bit weights get too coarse
 * (each is a few units), so the vertical pass works in float instead. */
#define Q_MAX_TAPS 32

typedef struct table {
    int in, out, ksize;
    int img, r;       /* the image's size in pixels, its pixels per input sample (1, 2) */
    int taps;         /* taps per output index (the widest window; never above in) */
    int *lo, *n;      /* first source index and tap count per output index */
    float *w;         /* out * ksize weights */
    v4f *w4;          /* out * taps weights, each in all 4 lanes (horizontal pass) */
    int16_t *q;       /* out * qtaps weights in Q14 (vertical pass) */
    int32_t *qv;      /* the same as pairs, each pair in all 4 lanes: out * qtaps/2 * 4 */
    int qtaps;        /* taps rounded up to even */
} table;

struct dn_resizer {
    table h, v;
    float *tmp;       /* the vertical pass's output: dh rows of sw*3 floats (+ pad) */
    size_t tmp_cap;
    const unsigned char **rows;   /* the source rows of one output row's taps */
    int rows_cap;
    table ph[3], pv[3];   /* dn_resize_planes' tables, per plane */
    v4f *pbuf;            /* its scratch: 8 float rows, their transpose, 3 outputs */
    size_t pbuf_cap;
    int avx2;             /* the CPU has AVX2 and FMA */
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
    dn_resizer *r = calloc(1, sizeof(dn_resizer));
#if DN_RESIZE_AVX2
    /* DN_RESIZE_NO_AVX2 set: the SSE2 path anyway (the tests compare the two) */
    if (r)
        r->avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                  !getenv("DN_RESIZE_NO_AVX2");
#endif
    return r;
}

static void table_fini(table *t)
{
    free(t->lo);
    free(t->n);
    free(t->w);
    free(t->w4);
    free(t->q);
    free(t->qv);
    memset(t, 0, sizeof *t);
}

void dn_resizer_free(dn_resizer *r)
{
    if (!r)
        return;
    table_fini(&r->h);
    table_fini(&r->v);
    for (int p = 0; p < 3; p++) {
        table_fini(&r->ph[p]);
        table_fini(&r->pv[p]);
    }
    free(r->pbuf);
    free(r->tmp);
    free(r->rows);
    free(r);
}

static double triangle(double x)
{
    x = fabs(x);
    return x < 1.0 ? 1.0 - x : 0.0;
}

/* The same coefficients as Pillow's precompute_coeffs for its bilinear filter:
 * centre of output pixel mapped into the input, support widened by the scale when
 * shrinking, weights normalised to sum to 1. With r 2 the input is a chroma plane
 * of in samples for an image of img pixels: Pillow's weights over the image are
 * folded through libjpeg's "fancy" upsampling (image pixel 2j is 3/4 of sample j
 * and 1/4 of j-1, pixel 2j+1 3/4 of j and 1/4 of j+1, edges replicated), giving
 * the one linear map a full decode followed by Pillow's resize applies. */
static int table_make(table *t, int in, int out, int img, int r)
{
    if (t->in == in && t->out == out && t->img == img && t->r == r && t->w)
        return 0;
    table_fini(t);
    double scale = (double)img / out, support = scale < 1.0 ? 1.0 : scale;
    int kimg = (int)ceil(support) * 2 + 1, ksize = r == 1 ? kimg : kimg / 2 + 3;
    t->lo = malloc(sizeof(int) * out);
    t->n = malloc(sizeof(int) * out);
    t->w = calloc((size_t)out * ksize, sizeof(float));
    double *k = malloc(sizeof(double) * (kimg + ksize));
    if (!t->lo || !t->n || !t->w || !k) {
        free(k);
        table_fini(t);
        return -1;
    }
    double *pk = k + kimg;   /* the weights on the input (the plane when r is 2) */
    for (int xx = 0; xx < out; xx++) {
        double center = (xx + 0.5) * scale, ww = 0.0, ss = 1.0 / support;
        int xmin = (int)(center - support + 0.5), xmax;
        if (xmin < 0)
            xmin = 0;
        xmax = (int)(center + support + 0.5);
        if (xmax > img)
            xmax = img;
        xmax -= xmin;
        for (int x = 0; x < xmax; x++) {
            k[x] = triangle((x + xmin - center + 0.5) * ss);
            ww += k[x];
        }
        int plo = xmin, pn = xmax;
        if (r == 1) {
            for (int x = 0; x < xmax; x++)
                pk[x] = ww != 0.0 ? k[x] / ww : 0.0;
        } else {
            plo = xmin / 2 - 1 < 0 ? 0 : xmin / 2 - 1;
            pn = ksize;
            memset(pk, 0, sizeof(double) * ksize);
            for (int x = 0; x < xmax; x++) {
                int i = xmin + x, j = i / 2, nb = i % 2 ? j + 1 : j - 1;
                double v = ww != 0.0 ? k[x] / ww : 0.0;
                if (j > in - 1)
                    j = in - 1;
                nb = nb < 0 ? 0 : nb > in - 1 ? in - 1 : nb;
                pk[j - plo] += 0.75 * v;
                pk[nb - plo] += 0.25 * v;
            }
            if (plo + pn > in)
                pn = in - plo;
        }
        /* drop zero weights at the ends: fewer taps, same sums */
        int a = 0, b = pn;
        while (a < b && pk[a] == 0.0)
            a++;
        while (b > a && pk[b - 1] == 0.0)
            b--;
        t->lo[xx] = plo + a;
        t->n[xx] = b - a;
        for (int x = a; x < b; x++)
            t->w[(size_t)xx * ksize + (x - a)] = (float)pk[x];
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
    /* Q14 weights whose sum is exactly Q (the rounding left over goes to the largest),
     * so flat areas stay exact; the error elsewhere is below 0.05 of a level */
    t->qtaps = (t->taps + 1) & ~1;
    t->q = calloc((size_t)out * t->qtaps, sizeof(int16_t));
    if (!t->q) {
        table_fini(t);
        return -1;
    }
    for (int xx = 0; xx < out; xx++) {
        int16_t *q = t->q + (size_t)xx * t->qtaps;
        int sum = 0, big = 0;
        for (int j = 0; j < t->taps; j++) {
            q[j] = (int16_t)lrintf(t->w[(size_t)xx * ksize + j] * Q);
            sum += q[j];
            if (q[j] > q[big])
                big = j;
        }
        q[big] = (int16_t)(q[big] + Q - sum);
    }
    size_t pairs = (size_t)out * t->qtaps / 2;
    t->qv = aligned_alloc(16, pairs * 16);
    if (!t->qv) {
        table_fini(t);
        return -1;
    }
    for (size_t i = 0; i < pairs; i++) {
        uint32_t v = (uint32_t)(uint16_t)t->q[2 * i] | (uint32_t)(uint16_t)t->q[2 * i + 1] << 16;
        for (int l = 0; l < 4; l++)
            t->qv[4 * i + l] = (int32_t)v;
    }
    t->in = in;
    t->out = out;
    t->img = img;
    t->r = r;
    t->ksize = ksize;
    return 0;
}

static int pillow_table(table *t, int in, int out)
{
    return table_make(t, in, out, in, 1);
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

/* One output row of the vertical pass straight from the source bytes: 16-bit
 * weights (Q14, summing to exactly 1.0) and pmaddwd, 8 multiply-adds an instruction,
 * two taps at a time (n is even; a padding tap has weight 0). */
static void vrow(const unsigned char *const *rows, int n, const int16_t *q,
                 const int32_t *qv, size_t len, float *out)
{
    size_t i = 0;
#ifdef __SSE2__
    const __m128i z = _mm_setzero_si128();
    const __m128 scale = _mm_set1_ps(1.0f / Q);
    const __m128i *wv = (const __m128i *)qv;
    for (; i + 16 <= len; i += 16) {
        __m128i a0 = z, a1 = z, a2 = z, a3 = z;
        for (int k = 0; k < n; k += 2) {
            __m128i r0 = _mm_loadu_si128((const __m128i *)(rows[k] + i));
            __m128i r1 = _mm_loadu_si128((const __m128i *)(rows[k + 1] + i));
            __m128i lo = _mm_unpacklo_epi8(r0, r1), hi = _mm_unpackhi_epi8(r0, r1);
            __m128i w = wv[k / 2];
            a0 = _mm_add_epi32(a0, _mm_madd_epi16(_mm_unpacklo_epi8(lo, z), w));
            a1 = _mm_add_epi32(a1, _mm_madd_epi16(_mm_unpackhi_epi8(lo, z), w));
            a2 = _mm_add_epi32(a2, _mm_madd_epi16(_mm_unpacklo_epi8(hi, z), w));
            a3 = _mm_add_epi32(a3, _mm_madd_epi16(_mm_unpackhi_epi8(hi, z), w));
        }
        _mm_storeu_ps(out + i, _mm_mul_ps(_mm_cvtepi32_ps(a0), scale));
        _mm_storeu_ps(out + i + 4, _mm_mul_ps(_mm_cvtepi32_ps(a1), scale));
        _mm_storeu_ps(out + i + 8, _mm_mul_ps(_mm_cvtepi32_ps(a2), scale));
        _mm_storeu_ps(out + i + 12, _mm_mul_ps(_mm_cvtepi32_ps(a3), scale));
    }
#else
    (void)qv;
#endif
    for (; i < len; i++) {
        int32_t a = 0;
        for (int k = 0; k < n; k++)
            a += q[k] * rows[k][i];
        out[i] = (float)a * (1.0f / Q);
    }
}

/* the vertical pass in float, for extreme shrinks */
static void vrow_float(const unsigned char *const *rows, int n, const float *w, size_t len,
                       float *out)
{
    for (size_t i = 0; i < len; i++) {
        float a = 0;
        for (int k = 0; k < n; k++)
            a += w[k] * rows[k][i];
        out[i] = a;
    }
}

static inline v4f finish(v4f acc, v4f mul, v4f add, int bgr)
{
    acc = acc * mul + add;
#if defined(__clang__)   /* the fuzz build (tests/fuzz) compiles with clang */
    return bgr ? __builtin_shufflevector(acc, acc, 2, 1, 0, 3) : acc;
#else
    return bgr ? __builtin_shuffle(acc, (v4i){2, 1, 0, 3}) : acc;
#endif
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

/* One generic loop, and copies with the tap count fixed so the inner loop unrolls
 * completely (the common shrink factors need 2 to 8 taps). */
#define HROWS_BODY(N)                                                              \
    for (int x = 0; x < dw; x++) {                                                 \
        const float *p0 = s0 + (size_t)lo[x] * 3, *p1 = s1 + (size_t)lo[x] * 3;    \
        const v4f *w = w4 + (size_t)x * (N);                                       \
        v4f a0 = {0, 0, 0, 0}, a1 = {0, 0, 0, 0};                                  \
        _Pragma("GCC unroll 8")                                                    \
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
    if (pillow_table(&r->h, sw, dw) != 0 || pillow_table(&r->v, sh, dh) != 0) {
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
    /* vertical pass: dh rows of sw pixels, as floats */
    const table *t = &r->v;
    if (t->qtaps > r->rows_cap) {
        const unsigned char **p = realloc(r->rows, sizeof *p * t->qtaps);
        if (!p) {
            snprintf(err, errlen, "out of memory resizing a %dx%d image", sw, sh);
            return -1;
        }
        r->rows = p;
        r->rows_cap = t->qtaps;
    }
    for (int y = 0; y < dh; y++) {
        float *o = r->tmp + (size_t)y * row;
        if (sh == dh) {
            to_float(src + (size_t)y * row, o, row);
            continue;
        }
        for (int k = 0; k < t->qtaps; k++)
            r->rows[k] = src + (size_t)(t->lo[y] + (k < t->taps ? k : t->taps - 1)) * row;
        if (t->taps > Q_MAX_TAPS)
            vrow_float(r->rows, t->taps, t->w + (size_t)y * t->ksize, row, o);
        else
            vrow(r->rows, t->qtaps, t->q + (size_t)y * t->qtaps,
                 t->qv + (size_t)y * t->qtaps / 2 * 4, row, o);
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

/* ---------------------------------------------------------------- planes */

int dn_plane_fits(const dn_plane *p, int iw, int ih)
{
    return (p->rx == 1 || p->rx == 2) && (p->ry == 1 || p->ry == 2) &&
           p->w == (iw + p->rx - 1) / p->rx && p->h == (ih + p->ry - 1) / p->ry &&
           p->stride >= (size_t)p->w;
}

/* Four float rows to one vector per column (lane l = row l), 4x4 blocks at a time. */
static void interleave4(const float *r0, const float *r1, const float *r2, const float *r3,
                        v4f *t, int n)
{
    int j = 0;
#ifdef __SSE2__
    for (; j + 4 <= n; j += 4) {
        __m128 a = _mm_loadu_ps(r0 + j), b = _mm_loadu_ps(r1 + j);
        __m128 c = _mm_loadu_ps(r2 + j), d = _mm_loadu_ps(r3 + j);
        _MM_TRANSPOSE4_PS(a, b, c, d);
        t[j] = a;
        t[j + 1] = b;
        t[j + 2] = c;
        t[j + 3] = d;
    }
#endif
    for (; j < n; j++)
        t[j] = (v4f){r0[j], r1[j], r2[j], r3[j]};
}

/* The horizontal pass of 4 rows at once on their interleaved columns: one vector
 * multiply-add a tap for all 4 rows, output interleaved the same way. */
#define HPLANE_BODY(N)                                                             \
    for (int x = 0; x < dw; x++) {                                                 \
        const v4f *p = t + lo[x], *w = w4 + (size_t)x * (N);                       \
        v4f a = {0, 0, 0, 0};                                                      \
        _Pragma("GCC unroll 8")                                                    \
        for (int k = 0; k < (N); k++)                                              \
            a += w[k] * p[k];                                                      \
        o[x] = a;                                                                  \
    }

#define HPLANE_FIXED(N)                                                            \
    static void hplane_##N(const v4f *t, v4f *o, const int *lo, const v4f *w4, int dw) \
    {                                                                              \
        HPLANE_BODY(N)                                                             \
    }
HPLANE_FIXED(1)
HPLANE_FIXED(2)
HPLANE_FIXED(3)
HPLANE_FIXED(4)
HPLANE_FIXED(5)
HPLANE_FIXED(6)
HPLANE_FIXED(7)
HPLANE_FIXED(8)

static void hplane(const v4f *t, v4f *o, const int *lo, const v4f *w4, int taps, int dw)
{
    switch (taps) {
    case 1: hplane_1(t, o, lo, w4, dw); return;
    case 2: hplane_2(t, o, lo, w4, dw); return;
    case 3: hplane_3(t, o, lo, w4, dw); return;
    case 4: hplane_4(t, o, lo, w4, dw); return;
    case 5: hplane_5(t, o, lo, w4, dw); return;
    case 6: hplane_6(t, o, lo, w4, dw); return;
    case 7: hplane_7(t, o, lo, w4, dw); return;
    case 8: hplane_8(t, o, lo, w4, dw); return;
    default: HPLANE_BODY(taps)
    }
}

static inline v4f clamp255(v4f v)
{
#ifdef __SSE2__
    return _mm_min_ps(_mm_max_ps(v, _mm_setzero_ps()), _mm_set1_ps(255.0f));
#else
    for (int l = 0; l < 4; l++)
        v[l] = v[l] < 0.0f ? 0.0f : v[l] > 255.0f ? 255.0f : v[l];
    return v;
#endif
}

/* YCbCr (JFIF, full range) to RGB for 4 interleaved rows, preprocessing applied,
 * transposed back to pixels and stored into the rows of dst that exist. */
static void ycc_to_rgb(const v4f *Y, const v4f *Cb, const v4f *Cr, float *dst, int y0,
                       int dw, int dh, dn_preprocess pre)
{
    float m = pre == DN_PRE_SCALE01 ? 1.0f / 255 : 1.0f;
    float a0 = 0, a1 = 0, a2 = 0;
    if (pre == DN_PRE_VGG) {   /* channel 0 is blue then */
        a0 = -103.939f;
        a1 = -116.779f;
        a2 = -123.68f;
    }
    int nrows = dh - y0 < 4 ? dh - y0 : 4;
    for (int x = 0; x < dw; x++) {
        v4f y = Y[x], r = y, g = y, b = y;
        if (Cb) {
            v4f cb = Cb[x] - 128.0f, cr = Cr[x] - 128.0f;
            r = y + 1.402f * cr;
            g = y - 0.344136f * cb - 0.714136f * cr;
            b = y + 1.772f * cb;
        }
        r = clamp255(r);
        g = clamp255(g);
        b = clamp255(b);
        v4f c0 = pre == DN_PRE_VGG ? b : r, c2 = pre == DN_PRE_VGG ? r : b;
        c0 = c0 * m + a0;
        v4f c1 = g * m + a1;
        c2 = c2 * m + a2;
#ifdef __SSE2__
        __m128 p0 = c0, p1 = c1, p2 = c2, p3 = _mm_setzero_ps();
        _MM_TRANSPOSE4_PS(p0, p1, p2, p3);   /* lanes were rows; now pixels */
        v4f px[4] = {p0, p1, p2, p3};
#else
        v4f px[4];
        for (int l = 0; l < 4; l++)
            px[l] = (v4f){c0[l], c1[l], c2[l], 0};
#endif
        for (int l = 0; l < nrows; l++)
            put(dst + (size_t)(y0 + l) * dw * 3, x, dw, px[l]);
    }
}

#if DN_RESIZE_AVX2
#define AVX2 __attribute__((target("avx2,fma")))
AVX2 static void vrow8(const unsigned char *const *rows, int n, const int16_t *q,
                       const int32_t *qv, size_t len, float *out);
#endif

/* The vertical pass of one plane for output rows y0 .. y0+n-1 (the last repeated
 * past dh) into n float rows maxw apart. */
static void vrows(dn_resizer *r, const dn_plane *pl, const table *tv, int y0, int n, int dh,
                  float *rowf, int maxw)
{
    for (int l = 0; l < n; l++) {
        int y = y0 + l < dh ? y0 + l : dh - 1;
        for (int k = 0; k < tv->qtaps; k++)
            r->rows[k] = pl->px + (size_t)(tv->lo[y] + (k < tv->taps ? k : tv->taps - 1)) * pl->stride;
        float *o = rowf + (size_t)l * maxw;
        if (tv->taps > Q_MAX_TAPS)
            vrow_float(r->rows, tv->taps, tv->w + (size_t)y * tv->ksize, (size_t)pl->w, o);
#if DN_RESIZE_AVX2
        else if (r->avx2)
            vrow8(r->rows, tv->qtaps, tv->q + (size_t)y * tv->qtaps,
                  tv->qv + (size_t)y * tv->qtaps / 2 * 4, (size_t)pl->w, o);
#endif
        else
            vrow(r->rows, tv->qtaps, tv->q + (size_t)y * tv->qtaps,
                 tv->qv + (size_t)y * tv->qtaps / 2 * 4, (size_t)pl->w, o);
    }
}

#if DN_RESIZE_AVX2
/* The same with 8 rows in the lanes of 256-bit vectors, where the CPU has AVX2
 * (chosen at run time; the rest of the build stays baseline x86-64). */
typedef float v8f __attribute__((vector_size(32)));

/* vrow with 256-bit integer vectors: 16 columns as 16-bit lanes, pairs of rows
 * interleaved for vpmaddwd (the same Q14 arithmetic, so the same results). */
AVX2 static void vrow8(const unsigned char *const *rows, int n, const int16_t *q,
                       const int32_t *qv, size_t len, float *out)
{
    size_t i = 0;
    const __m256 scale = _mm256_set1_ps(1.0f / Q);
    for (; i + 16 <= len; i += 16) {
        __m256i a0 = _mm256_setzero_si256(), a1 = _mm256_setzero_si256();
        for (int k = 0; k < n; k += 2) {
            __m256i r0 = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(rows[k] + i)));
            __m256i r1 = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(rows[k + 1] + i)));
            __m256i w = _mm256_broadcastsi128_si256(_mm_load_si128((const __m128i *)(qv + 2 * k)));
            a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(_mm256_unpacklo_epi16(r0, r1), w));
            a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(_mm256_unpackhi_epi16(r0, r1), w));
        }
        /* per 128-bit half: a0 has columns 0-3 | 8-11, a1 4-7 | 12-15 */
        __m256 f0 = _mm256_mul_ps(_mm256_cvtepi32_ps(a0), scale);
        __m256 f1 = _mm256_mul_ps(_mm256_cvtepi32_ps(a1), scale);
        _mm256_storeu_ps(out + i, _mm256_permute2f128_ps(f0, f1, 0x20));
        _mm256_storeu_ps(out + i + 8, _mm256_permute2f128_ps(f0, f1, 0x31));
    }
    for (; i < len; i++) {
        int32_t a = 0;
        for (int k = 0; k < n; k++)
            a += q[k] * rows[k][i];
        out[i] = (float)a * (1.0f / Q);
    }
}

AVX2 static void interleave8(const float *rows, int maxw, v8f *t, int n)
{
    int j = 0;
    const float *r0 = rows, *r1 = r0 + maxw, *r2 = r1 + maxw, *r3 = r2 + maxw;
    const float *r4 = r3 + maxw, *r5 = r4 + maxw, *r6 = r5 + maxw, *r7 = r6 + maxw;
    for (; j + 4 <= n; j += 4) {
        __m128 a = _mm_loadu_ps(r0 + j), b = _mm_loadu_ps(r1 + j);
        __m128 c = _mm_loadu_ps(r2 + j), d = _mm_loadu_ps(r3 + j);
        __m128 e = _mm_loadu_ps(r4 + j), f = _mm_loadu_ps(r5 + j);
        __m128 g = _mm_loadu_ps(r6 + j), h = _mm_loadu_ps(r7 + j);
        _MM_TRANSPOSE4_PS(a, b, c, d);
        _MM_TRANSPOSE4_PS(e, f, g, h);
        t[j] = _mm256_set_m128(e, a);
        t[j + 1] = _mm256_set_m128(f, b);
        t[j + 2] = _mm256_set_m128(g, c);
        t[j + 3] = _mm256_set_m128(h, d);
    }
    for (; j < n; j++)
        t[j] = (v8f){r0[j], r1[j], r2[j], r3[j], r4[j], r5[j], r6[j], r7[j]};
}

#define HPLANE8_BODY(N)                                                            \
    for (int x = 0; x < dw; x++) {                                                 \
        const v8f *p = t + lo[x];                                                  \
        const float *w = wt + (size_t)x * ksize;                                   \
        __m256 a = _mm256_setzero_ps();                                            \
        _Pragma("GCC unroll 8")                                                    \
        for (int k = 0; k < (N); k++)                                              \
            a = _mm256_fmadd_ps(_mm256_broadcast_ss(w + k), p[k], a);              \
        o[x] = a;                                                                  \
    }

#define HPLANE8_FIXED(N)                                                           \
    AVX2 static void hplane8_##N(const v8f *t, v8f *o, const int *lo, const float *wt, \
                                 int ksize, int dw)                                \
    {                                                                              \
        HPLANE8_BODY(N)                                                            \
    }
HPLANE8_FIXED(1)
HPLANE8_FIXED(2)
HPLANE8_FIXED(3)
HPLANE8_FIXED(4)
HPLANE8_FIXED(5)
HPLANE8_FIXED(6)
HPLANE8_FIXED(7)
HPLANE8_FIXED(8)

AVX2 static void hplane8(const v8f *t, v8f *o, const table *th, int dw)
{
    const int *lo = th->lo, ksize = th->ksize;
    const float *wt = th->w;
    switch (th->taps) {
    case 1: hplane8_1(t, o, lo, wt, ksize, dw); return;
    case 2: hplane8_2(t, o, lo, wt, ksize, dw); return;
    case 3: hplane8_3(t, o, lo, wt, ksize, dw); return;
    case 4: hplane8_4(t, o, lo, wt, ksize, dw); return;
    case 5: hplane8_5(t, o, lo, wt, ksize, dw); return;
    case 6: hplane8_6(t, o, lo, wt, ksize, dw); return;
    case 7: hplane8_7(t, o, lo, wt, ksize, dw); return;
    case 8: hplane8_8(t, o, lo, wt, ksize, dw); return;
    default: HPLANE8_BODY(th->taps)
    }
}

AVX2 static void ycc_to_rgb8(const v8f *Y, const v8f *Cb, const v8f *Cr, float *dst, int y0,
                             int dw, int dh, dn_preprocess pre)
{
    float m = pre == DN_PRE_SCALE01 ? 1.0f / 255 : 1.0f;
    float a0 = 0, a1 = 0, a2 = 0;
    if (pre == DN_PRE_VGG) {   /* channel 0 is blue then */
        a0 = -103.939f;
        a1 = -116.779f;
        a2 = -123.68f;
    }
    int nrows = dh - y0 < 8 ? dh - y0 : 8;
    const __m256 zero = _mm256_setzero_ps(), top = _mm256_set1_ps(255.0f);
    for (int x = 0; x < dw; x++) {
        v8f y = Y[x], r = y, g = y, b = y;
        if (Cb) {
            v8f cb = Cb[x] - 128.0f, cr = Cr[x] - 128.0f;
            r = y + 1.402f * cr;
            g = y - 0.344136f * cb - 0.714136f * cr;
            b = y + 1.772f * cb;
        }
        r = _mm256_min_ps(_mm256_max_ps(r, zero), top);
        g = _mm256_min_ps(_mm256_max_ps(g, zero), top);
        b = _mm256_min_ps(_mm256_max_ps(b, zero), top);
        v8f c0 = pre == DN_PRE_VGG ? b : r, c2 = pre == DN_PRE_VGG ? r : b;
        c0 = c0 * m + a0;
        v8f c1 = g * m + a1;
        c2 = c2 * m + a2;
        __m128 p0 = _mm256_castps256_ps128(c0), p1 = _mm256_castps256_ps128(c1);
        __m128 p2 = _mm256_castps256_ps128(c2), p3 = _mm_setzero_ps();
        __m128 q0 = _mm256_extractf128_ps(c0, 1), q1 = _mm256_extractf128_ps(c1, 1);
        __m128 q2 = _mm256_extractf128_ps(c2, 1), q3 = _mm_setzero_ps();
        _MM_TRANSPOSE4_PS(p0, p1, p2, p3);   /* lanes were rows; now pixels */
        _MM_TRANSPOSE4_PS(q0, q1, q2, q3);
        float *o = dst + (size_t)y0 * dw * 3 + (size_t)x * 3;
        size_t st = (size_t)dw * 3;
        if (nrows == 8 && x < dw - 1) {   /* the common case, without branches */
            _mm_storeu_ps(o, p0);
            _mm_storeu_ps(o + st, p1);
            _mm_storeu_ps(o + 2 * st, p2);
            _mm_storeu_ps(o + 3 * st, p3);
            _mm_storeu_ps(o + 4 * st, q0);
            _mm_storeu_ps(o + 5 * st, q1);
            _mm_storeu_ps(o + 6 * st, q2);
            _mm_storeu_ps(o + 7 * st, q3);
            continue;
        }
        __m128 px[8] = {p0, p1, p2, p3, q0, q1, q2, q3};
        for (int l = 0; l < nrows; l++, o += st) {
            float v[4];
            _mm_storeu_ps(v, px[l]);
            memcpy(o, v, sizeof(float) * (x < dw - 1 ? 4 : 3));
        }
    }
}

AVX2 static void planes_avx2(dn_resizer *r, const dn_plane *planes, int np, float *rowf,
                             int maxw, float *dst, int dw, int dh, dn_preprocess pre)
{
    v8f *t = (v8f *)(r->pbuf + 2 * (size_t)maxw + 2), *out = t + maxw + 1;
    for (int y0 = 0; y0 < dh; y0 += 8) {
        for (int p = 0; p < np; p++) {
            vrows(r, &planes[p], &r->pv[p], y0, 8, dh, rowf, maxw);
            interleave8(rowf, maxw, t, planes[p].w);
            hplane8(t, out + (size_t)p * dw, &r->ph[p], dw);
        }
        ycc_to_rgb8(out, np == 3 ? out + dw : NULL, np == 3 ? out + 2 * dw : NULL, dst, y0, dw,
                    dh, pre);
    }
}
#endif

int dn_resize_planes(dn_resizer *r, const dn_plane *planes, int np, int iw, int ih,
                     float *dst, int dw, int dh, dn_preprocess pre, char *err, size_t errlen)
{
    if ((np != 1 && np != 3) || iw <= 0 || ih <= 0 || dw <= 0 || dh <= 0) {
        snprintf(err, errlen, "cannot resize %d planes of %dx%d to %dx%d", np, iw, ih, dw, dh);
        return -1;
    }
    int maxw = 0, qmax = 0;
    for (int p = 0; p < np; p++) {
        const dn_plane *pl = &planes[p];
        if (!dn_plane_fits(pl, iw, ih)) {
            snprintf(err, errlen, "a %dx%d plane (1/%d x 1/%d) does not fit a %dx%d image",
                     pl->w, pl->h, pl->rx, pl->ry, iw, ih);
            return -1;
        }
        if (table_make(&r->ph[p], pl->w, dw, iw, pl->rx) != 0 ||
            table_make(&r->pv[p], pl->h, dh, ih, pl->ry) != 0) {
            snprintf(err, errlen, "out of memory for resize tables");
            return -1;
        }
        if (pl->w > maxw)
            maxw = pl->w;
        if (r->pv[p].qtaps > qmax)
            qmax = r->pv[p].qtaps;
    }
    /* 8 rows, their transpose (8 lanes), 3 outputs (8 lanes), in v4f units */
    size_t need = (size_t)maxw * 4 + 8 + (size_t)dw * 6;
    if (need > r->pbuf_cap) {
        free(r->pbuf);
        r->pbuf = aligned_alloc(32, need * sizeof(v4f));
        r->pbuf_cap = r->pbuf ? need : 0;
    }
    if (qmax > r->rows_cap) {
        const unsigned char **p = realloc(r->rows, sizeof *p * qmax);
        if (p) {
            r->rows = p;
            r->rows_cap = qmax;
        }
    }
    if (!r->pbuf || qmax > r->rows_cap) {
        snprintf(err, errlen, "out of memory resizing a %dx%d image", iw, ih);
        return -1;
    }
    float *rowf = (float *)r->pbuf;   /* 8 rows of maxw floats, then the rest */
#if DN_RESIZE_AVX2
    if (r->avx2) {
        planes_avx2(r, planes, np, rowf, maxw, dst, dw, dh, pre);
        return 0;
    }
#endif
    v4f *t = r->pbuf + 2 * (size_t)maxw + 2, *out = t + maxw + 1;
    for (int y0 = 0; y0 < dh; y0 += 4) {
        for (int p = 0; p < np; p++) {
            const table *th = &r->ph[p];
            vrows(r, &planes[p], &r->pv[p], y0, 4, dh, rowf, maxw);
            interleave4(rowf, rowf + maxw, rowf + 2 * (size_t)maxw, rowf + 3 * (size_t)maxw, t,
                        planes[p].w);
            hplane(t, out + (size_t)p * dw, th->lo, th->w4, th->taps, dw);
        }
        ycc_to_rgb(out, np == 3 ? out + dw : NULL, np == 3 ? out + 2 * dw : NULL, dst, y0, dw, dh, pre);
    }
    return 0;
}
