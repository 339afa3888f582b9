/* conv2d.c — Conv2D on NHWC inputs with an HWIO kernel (Keras' layout), TensorFlow's
 * 'same'/'valid' padding. im2col over a bounded chunk of output pixels, then one sgemm
 * per chunk; 1x1 stride-1 convolutions use the input as the patch matrix directly. */
#include "cpu.h"
#include "layer_impl.h"
#include "status.h"

#include <cblas.h>
#include <string.h>

/* patch-matrix floats per chunk: bounds the workspace (VGG's first block would need
 * gigabytes at once) while keeping each sgemm large enough to run at full speed */
#define CHUNK_FLOATS (1L << 20)

typedef struct conv_layer {
    dn_layer base;
    int filters, kh, kw, sh, sw;
    dn_padding pad;
    int use_bias;
    dn_conv_geom g;
} conv_layer;

static long conv_K(const conv_layer *c) { return (long)c->kh * c->kw * c->g.C; }

static int conv_pointwise(const conv_layer *c)
{
    return c->kh == 1 && c->kw == 1 && c->sh == 1 && c->sw == 1;
}

static long chunk_rows(const conv_layer *c)
{
    long r = CHUNK_FLOATS / conv_K(c);
    return r > 0 ? r : 1;
}

static int conv_build(dn_layer *l, dn_rng *rng, char *err, size_t errlen)
{
    conv_layer *c = (conv_layer *)l;
    if (l->in_ndim != 3)
        return dn_fail(err, errlen,
                       "%s: Conv2D needs inputs of shape (height, width, channels), got %d axes",
                       l->name, l->in_ndim);
    dn_conv_geom *g = &c->g;
    g->H = l->in_shape[0];
    g->W = l->in_shape[1];
    g->C = l->in_shape[2];
    g->KH = c->kh;
    g->KW = c->kw;
    g->SH = c->sh;
    g->SW = c->sw;
    g->OH = dn_conv_out_size(g->H, c->kh, c->sh, c->pad, &g->PT);
    g->OW = dn_conv_out_size(g->W, c->kw, c->sw, c->pad, &g->PL);
    if (g->OH <= 0 || g->OW <= 0)
        return dn_fail(err, errlen, "%s: a %dx%d kernel does not fit a %dx%d input with 'valid' padding",
                       l->name, c->kh, c->kw, g->H, g->W);
    l->out_ndim = 3;
    l->out_shape[0] = g->OH;
    l->out_shape[1] = g->OW;
    l->out_shape[2] = c->filters;
    int kshape[4] = {c->kh, c->kw, g->C, c->filters};
    if (dn_layer_add_param(l, "kernel", 4, kshape, 1, err, errlen))
        return DN_ERROR;
    long rf = (long)c->kh * c->kw;
    dn_glorot_uniform(l->params[0].data, l->params[0].size, rf * g->C, rf * c->filters, rng);
    if (c->use_bias && dn_layer_add_param(l, "bias", 1, &c->filters, 1, err, errlen))
        return DN_ERROR;
    return DN_OK;
}

static int conv_reserve(dn_layer *l, int n, char *err, size_t errlen)
{
    conv_layer *c = (conv_layer *)l;
    if (conv_pointwise(c))
        return DN_OK;
    long rows = (long)n * c->g.OH * c->g.OW;
    long r = chunk_rows(c);
    if (r > rows)
        r = rows;
    /* the patch matrix and, for backward, its gradient */
    return dn_tensor_reserve(l->scratch, (size_t)(2 * r * conv_K(c)), err, errlen);
}

static void conv_forward(dn_layer *l, const float *x, int n, int training, dn_rng *rng)
{
    (void)training;
    (void)rng;
    conv_layer *c = (conv_layer *)l;
    const int F = c->filters;
    const long K = conv_K(c), rows = (long)n * c->g.OH * c->g.OW;
    const float *w = l->params[0].data;
    if (conv_pointwise(c)) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, F, (int)K, 1.0f, x,
                    (int)K, w, F, 0.0f, l->out.data, F);
    } else {
        float *cols = l->scratch->data;
        long step = chunk_rows(c);
        for (long p0 = 0; p0 < rows; p0 += step) {
            long p1 = p0 + step < rows ? p0 + step : rows;
            dn_im2col_nhwc(x, &c->g, p0, p1, cols);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(p1 - p0), F, (int)K,
                        1.0f, cols, (int)K, w, F, 0.0f, l->out.data + p0 * F, F);
        }
    }
    dn_bias_act_forward(l->act, l->out.data, c->use_bias ? l->params[1].data : NULL, rows, F);
}

static void conv_backward(dn_layer *l, const float *x, int n, float *dx)
{
    conv_layer *c = (conv_layer *)l;
    const int F = c->filters;
    const long K = conv_K(c), rows = (long)n * c->g.OH * c->g.OW;
    const float *dz = l->delta.data;
    const float *w = l->params[0].data;
    float *dw = l->params[0].grad;
    int grads = l->trainable;
    if (grads && c->use_bias) {
        float *db = l->params[1].grad;
        memset(db, 0, (size_t)F * sizeof(float));
        for (long r = 0; r < rows; r++)
            for (int j = 0; j < F; j++)
                db[j] += dz[r * F + j];
    }
    if (conv_pointwise(c)) {
        if (grads)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)K, F, (int)rows, 1.0f, x,
                        (int)K, dz, F, 0.0f, dw, F);
        if (dx)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)K, F, 1.0f, dz,
                        F, w, F, 0.0f, dx, (int)K);
        return;
    }
    if (!grads && !dx)
        return;
    long step = chunk_rows(c);
    float *cols = l->scratch->data;
    float *dcols = cols + (step < rows ? step : rows) * K;
    if (dx)
        memset(dx, 0, (size_t)n * (size_t)l->in_size * sizeof(float));
    for (long p0 = 0; p0 < rows; p0 += step) {
        long p1 = p0 + step < rows ? p0 + step : rows;
        int m = (int)(p1 - p0);
        if (grads) {
            dn_im2col_nhwc(x, &c->g, p0, p1, cols);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)K, F, m, 1.0f, cols,
                        (int)K, dz + p0 * F, F, p0 == 0 ? 0.0f : 1.0f, dw, F);
        }
        if (dx) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, (int)K, F, 1.0f,
                        dz + p0 * F, F, w, F, 0.0f, dcols, (int)K);
            dn_col2im_nhwc(dcols, &c->g, p0, p1, dx);
        }
    }
}

static const dn_layer_ops conv_ops = {
    .class_name = "Conv2D",
    .prefix = "conv2d",
    .build = conv_build,
    .reserve = conv_reserve,
    .forward = conv_forward,
    .backward = conv_backward,
};

dn_layer *dn_conv2d_new(int filters, int kh, int kw, int sh, int sw, dn_padding pad,
                        dn_activation act, int use_bias, char *err, size_t errlen)
{
    if (filters <= 0 || kh <= 0 || kw <= 0 || sh <= 0 || sw <= 0) {
        dn_fail(err, errlen,
                "Conv2D: filters, kernel size and strides must be positive, got filters=%d "
                "kernel=(%d, %d) strides=(%d, %d)", filters, kh, kw, sh, sw);
        return NULL;
    }
    conv_layer *c = dn_layer_alloc(sizeof *c, &conv_ops, err, errlen);
    if (!c)
        return NULL;
    c->filters = filters;
    c->kh = kh;
    c->kw = kw;
    c->sh = sh;
    c->sw = sw;
    c->pad = pad;
    c->use_bias = use_bias != 0;
    c->base.act = act;
    return &c->base;
}
