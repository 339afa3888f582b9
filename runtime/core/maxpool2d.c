/* maxpool2d.c — MaxPooling2D on NHWC, TensorFlow's padding (padded cells never win).
 * Backward routes each gradient to the input that won the maximum. */
#include "cpu.h"
#include "layer_types.h"
#include "status.h"

#include <string.h>

static int pool_build(dn_layer *l, dn_rng *rng, char *err, size_t errlen)
{
    (void)rng;
    pool_layer *p = (pool_layer *)l;
    if (l->in_ndim != 3)
        return dn_seterr(err, errlen,
                       "%s: MaxPooling2D needs inputs of shape (height, width, channels), got %d axes",
                       l->name, l->in_ndim);
    dn_conv_geom *g = &p->g;
    g->H = l->in_shape[0];
    g->W = l->in_shape[1];
    g->C = l->in_shape[2];
    g->KH = p->ph;
    g->KW = p->pw;
    g->SH = p->sh;
    g->SW = p->sw;
    g->OH = dn_conv_out_size(g->H, p->ph, p->sh, p->pad, &g->PT);
    g->OW = dn_conv_out_size(g->W, p->pw, p->sw, p->pad, &g->PL);
    if (g->OH <= 0 || g->OW <= 0)
        return dn_seterr(err, errlen, "%s (MaxPooling2D): the pool (%d, %d) does not fit the input's "
                         "%dx%d pixels with 'valid' padding", l->name, p->ph, p->pw, g->H, g->W);
    l->out_ndim = 3;
    l->out_shape[0] = g->OH;
    l->out_shape[1] = g->OW;
    l->out_shape[2] = g->C;
    return DN_OK;
}

typedef struct pool_job {
    pool_layer *p;
    const float *x;
    float *dx;
    int n;
} pool_job;

/* the window of output (oh, ow), clipped to the input */
static void window(const dn_conv_geom *g, int oh, int ow, int *h0, int *h1, int *w0, int *w1)
{
    *h0 = oh * g->SH - g->PT;
    *w0 = ow * g->SW - g->PL;
    *h1 = *h0 + g->KH < g->H ? *h0 + g->KH : g->H;
    *w1 = *w0 + g->KW < g->W ? *w0 + g->KW : g->W;
    *h0 = *h0 > 0 ? *h0 : 0;
    *w0 = *w0 > 0 ? *w0 : 0;
}

static void pool_forward_part(void *ctx, long b, int thread)
{
    (void)thread;
    const pool_job *j = ctx;
    dn_layer *l = &j->p->base;
    const dn_conv_geom *g = &j->p->g;
    const int C = g->C;
    const float *img = j->x + b * l->in_size;
    float *o = l->out.data + b * l->out_size;
    for (int oh = 0; oh < g->OH; oh++) {
        for (int ow = 0; ow < g->OW; ow++, o += C) {
            int h0, h1, w0, w1;
            window(g, oh, ow, &h0, &h1, &w0, &w1);
            memcpy(o, img + ((long)h0 * g->W + w0) * C, (size_t)C * sizeof(float));
            for (int ih = h0; ih < h1; ih++)
                for (int iw = w0; iw < w1; iw++) {
                    const float *v = img + ((long)ih * g->W + iw) * C;
                    for (int c = 0; c < C; c++)
                        o[c] = v[c] > o[c] ? v[c] : o[c];
                }
        }
    }
}

static void pool_forward(dn_layer *l, const float *x, int n, int training, dn_rng *rng)
{
    (void)training;
    (void)rng;
    pool_job j = {(pool_layer *)l, x, NULL, n};
    dn_parallel_for(n, pool_forward_part, &j);
}

/* The gradient goes to the first input in the window equal to the maximum (the one a
 * recorded argmax would name); finding it again spares forward an index per output.
 * Channels are searched together, in blocks, with branch-free updates that vectorise. */
#define POOL_BLOCK 64

/* whether no input lies in two windows (stride >= pool): backward then writes each input
 * once instead of adding, and only inputs outside every window need zeroing */
static int disjoint(const dn_conv_geom *g)
{
    return g->SH >= g->KH && g->SW >= g->KW;
}

/* whether the windows cover the whole input, so no input needs zeroing */
static int covering(const dn_conv_geom *g)
{
    return g->SH == g->KH && g->SW == g->KW && g->PT == 0 && g->PL == 0 &&
           g->OH * g->SH == g->H && g->OW * g->SW == g->W;
}

/* One window's channels c0..c0+nc: each channel's gradient goes to the first input equal
 * to the maximum, the rest of the window gets 0 (written, or added when windows overlap). */
static void route_window(const dn_conv_geom *g, int h0, int h1, int w0, int w1, int c0, int nc,
                         const float *restrict img, const float *restrict o,
                         const float *restrict dy, float *restrict d, int add)
{
    float open[POOL_BLOCK];    /* 1 while the channel's winner is still to be found */
    for (int c = 0; c < nc; c++)
        open[c] = 1.0f;
    for (int ih = h0; ih < h1; ih++)
        for (int iw = w0; iw < w1; iw++) {
            const long at = ((long)ih * g->W + iw) * g->C + c0;
            const float *restrict v = img + at;
            float *restrict dd = d + at;
            if (add) {
                for (int c = 0; c < nc; c++) {
                    /* a NaN maximum equals nothing: it gets no gradient */
                    float hit = v[c] == o[c] ? open[c] : 0.0f;
                    dd[c] += hit * dy[c];
                    open[c] -= hit;
                }
            } else {
                for (int c = 0; c < nc; c++) {
                    float hit = v[c] == o[c] ? open[c] : 0.0f;
                    dd[c] = hit * dy[c];
                    open[c] -= hit;
                }
            }
        }
}

static void pool_backward_part(void *ctx, long b, int thread)
{
    (void)thread;
    const pool_job *j = ctx;
    dn_layer *l = &j->p->base;
    const dn_conv_geom *g = &j->p->g;
    const int C = g->C, add = !disjoint(g);
    const float *img = j->x + b * l->in_size;
    float *d = j->dx + b * l->in_size;
    const float *o = l->out.data + b * l->out_size;
    const float *dy = l->delta.data + b * l->out_size;
    if (!covering(g))
        memset(d, 0, (size_t)l->in_size * sizeof(float));
    for (int oh = 0; oh < g->OH; oh++) {
        for (int ow = 0; ow < g->OW; ow++, o += C, dy += C) {
            int h0, h1, w0, w1;
            window(g, oh, ow, &h0, &h1, &w0, &w1);
            for (int c0 = 0; c0 < C; c0 += POOL_BLOCK) {
                int nc = C - c0 < POOL_BLOCK ? C - c0 : POOL_BLOCK;
                route_window(g, h0, h1, w0, w1, c0, nc, img, o + c0, dy + c0, d, add);
            }
        }
    }
}

static void pool_backward(dn_layer *l, const float *x, int n, float *dx)
{
    if (!dx)
        return;
    pool_job j = {(pool_layer *)l, x, dx, n};
    dn_parallel_for(n, pool_backward_part, &j);
}

static const dn_layer_ops pool_ops = {
    .class_name = "MaxPooling2D",
    .prefix = "max_pooling2d",
    .build = pool_build,
    .cpu = {
        .forward = pool_forward,
        .backward = pool_backward,
    },
    .cuda = DN_CUDA_KERNELS(dn_maxpool2d_cuda),
};

dn_layer *dn_maxpool2d_new(int ph, int pw, int sh, int sw, dn_padding pad,
                           char *err, size_t errlen)
{
    if (sh == 0)
        sh = ph;
    if (sw == 0)
        sw = pw;
    if (ph <= 0 || pw <= 0 || sh <= 0 || sw <= 0) {
        dn_seterr(err, errlen, "MaxPooling2D: pool size and strides must be positive, got "
                "pool=(%d, %d) strides=(%d, %d)", ph, pw, sh, sw);
        return NULL;
    }
    pool_layer *p = dn_layer_alloc(sizeof *p, &pool_ops, err, errlen);
    if (!p)
        return NULL;
    p->ph = ph;
    p->pw = pw;
    p->sh = sh;
    p->sw = sw;
    p->pad = pad;
    return &p->base;
}
