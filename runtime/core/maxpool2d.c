/* maxpool2d.c — MaxPooling2D on NHWC, TensorFlow's padding (padded cells never win).
 * Forward remembers where each maximum came from; backward routes the gradient there. */
#include "cpu.h"
#include "layer_impl.h"
#include "status.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>

typedef struct pool_layer {
    dn_layer base;
    int ph, pw, sh, sw;
    dn_padding pad;
    dn_conv_geom g;
    int *argmax;          /* per output element: index within its example's input */
    size_t argmax_cap;
} pool_layer;

static int pool_build(dn_layer *l, dn_rng *rng, char *err, size_t errlen)
{
    (void)rng;
    pool_layer *p = (pool_layer *)l;
    if (l->in_ndim != 3)
        return dn_fail(err, errlen,
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
        return dn_fail(err, errlen, "%s: a %dx%d pool does not fit a %dx%d input with 'valid' padding",
                       l->name, p->ph, p->pw, g->H, g->W);
    l->out_ndim = 3;
    l->out_shape[0] = g->OH;
    l->out_shape[1] = g->OW;
    l->out_shape[2] = g->C;
    return DN_OK;
}

static int pool_reserve(dn_layer *l, int n, char *err, size_t errlen)
{
    pool_layer *p = (pool_layer *)l;
    size_t need = (size_t)n * (size_t)l->out_size;
    if (need <= p->argmax_cap)
        return DN_OK;
    int *a = realloc(p->argmax, need * sizeof(int));
    if (!a)
        return dn_fail(err, errlen, "%s: out of memory", l->name);
    p->argmax = a;
    p->argmax_cap = need;
    return DN_OK;
}

typedef struct pool_job {
    pool_layer *p;
    const float *x;
    float *dx;
    int n;
} pool_job;

static void forward_part(void *ctx, int t, int nt)
{
    const pool_job *j = ctx;
    pool_layer *p = j->p;
    dn_layer *l = &p->base;
    const float *x = j->x;
    const dn_conv_geom *g = &p->g;
    const int C = g->C;
    for (int b = j->n * t / nt; b < j->n * (t + 1) / nt; b++) {
        const float *img = x + (long)b * l->in_size;
        float *out = l->out.data + (long)b * l->out_size;
        int *arg = p->argmax + (long)b * l->out_size;
        for (int oh = 0; oh < g->OH; oh++) {
            for (int ow = 0; ow < g->OW; ow++) {
                float *o = out + ((long)oh * g->OW + ow) * C;
                int *a = arg + ((long)oh * g->OW + ow) * C;
                for (int c = 0; c < C; c++) {
                    o[c] = -FLT_MAX;
                    a[c] = 0;
                }
                for (int kh = 0; kh < g->KH; kh++) {
                    int ih = oh * g->SH - g->PT + kh;
                    if (ih < 0 || ih >= g->H)
                        continue;
                    for (int kw = 0; kw < g->KW; kw++) {
                        int iw = ow * g->SW - g->PL + kw;
                        if (iw < 0 || iw >= g->W)
                            continue;
                        int base = (ih * g->W + iw) * C;
                        const float *v = img + base;
                        for (int c = 0; c < C; c++) {
                            if (v[c] > o[c]) {
                                o[c] = v[c];
                                a[c] = base + c;
                            }
                        }
                    }
                }
            }
        }
    }
}

static void pool_forward(dn_layer *l, const float *x, int n, int training, dn_rng *rng)
{
    (void)training;
    (void)rng;
    pool_job j = {(pool_layer *)l, x, NULL, n};
    dn_parallel(n, forward_part, &j);
}

static void backward_part(void *ctx, int t, int nt)
{
    const pool_job *j = ctx;
    pool_layer *p = j->p;
    dn_layer *l = &p->base;
    float *dx = j->dx;
    int b0 = j->n * t / nt, b1 = j->n * (t + 1) / nt;
    memset(dx + (long)b0 * l->in_size, 0, (size_t)(b1 - b0) * (size_t)l->in_size * sizeof(float));
    for (int b = b0; b < b1; b++) {
        const float *dy = l->delta.data + (long)b * l->out_size;
        const int *a = p->argmax + (long)b * l->out_size;
        float *d = dx + (long)b * l->in_size;
        for (long i = 0; i < l->out_size; i++)
            d[a[i]] += dy[i];
    }
}

static void pool_backward(dn_layer *l, const float *x, int n, float *dx)
{
    (void)x;
    if (!dx)
        return;
    pool_job j = {(pool_layer *)l, NULL, dx, n};
    dn_parallel(n, backward_part, &j);
}

static void pool_fini(dn_layer *l)
{
    free(((pool_layer *)l)->argmax);
}

static const dn_layer_ops pool_ops = {
    .class_name = "MaxPooling2D",
    .prefix = "max_pooling2d",
    .build = pool_build,
    .reserve = pool_reserve,
    .forward = pool_forward,
    .backward = pool_backward,
    .fini = pool_fini,
};

dn_layer *dn_maxpool2d_new(int ph, int pw, int sh, int sw, dn_padding pad,
                           char *err, size_t errlen)
{
    if (sh == 0)
        sh = ph;
    if (sw == 0)
        sw = pw;
    if (ph <= 0 || pw <= 0 || sh <= 0 || sw <= 0) {
        dn_fail(err, errlen, "MaxPooling2D: pool size and strides must be positive, got "
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
