/* conv2d.c — Conv2D on NHWC inputs with an HWIO kernel (Keras' layout), TensorFlow's
 * 'same'/'valid' padding. The batch is cut into runs of whole images (so input gradients
 * of different runs never overlap) that the team's threads take one at a time; each run
 * is walked in chunks of output pixels small enough to stay in cache: im2col, one sgemm,
 * then bias and activation on the chunk just computed. 3x3 stride-1 convolutions with
 * enough channels go by Winograd's F(2x2, 3x3) or F(4x4, 3x3) instead (winograd.c):
 * forward, input gradient and kernel gradient.
 * 1x1 stride-1 convolutions use the input as the patch matrix directly. The input
 * gradient of a stride-1 convolution is itself a convolution (of the output gradient with
 * the flipped kernel), computed the same way; other strides scatter a patch-matrix
 * gradient back (col2im). */
#include "cpu.h"
#include "layer_types.h"
#include "status.h"

#include <stdlib.h>
#include <string.h>

/* patch-matrix floats per chunk (512 KB): measured fastest on a Zen 3 between 2^15 and
 * 2^20; bounds the workspace too (VGG's first block would need gigabytes at once) */
#define CHUNK_FLOATS (1L << 17)

/* Winograd's products have the channels as their inner dimension: below this many, sgemm
 * is too inefficient for the saved multiplies to pay */
#define WINO_MIN_CHANNELS 8

/* patch rows shorter than this (few input channels, e.g. a first layer on gray or RGB
 * images) go through dn_small_sgemm: sgemm's packing costs more than such products; with
 * no padding it reads the patches in place, one output row at a time, without im2col */
#define SMALL_K 64

static long conv_K(const conv_layer *c) { return (long)c->kh * c->kw * c->g.C; }

static int conv_pointwise(const conv_layer *c)
{
    return c->kh == 1 && c->kw == 1 && c->sh == 1 && c->sw == 1;
}

/* patches read in place (c->koff) by dn_small_sgemm, one output row of an image at a time */
static int conv_in_place(const conv_layer *c)
{
    return c->koff && dn_small_sgemm_fits(c->filters);
}

static dn_operand patches_of_row(const conv_layer *c, const float *x, long b, int oh, int ow)
{
    const dn_conv_geom *g = &c->g;
    dn_operand a = {x + (((long)b * g->H + (long)oh * g->SH) * g->W + (long)ow * g->SW) * g->C,
                    (long)g->SW * g->C, 0, NULL, c->koff};
    return a;
}

static long chunk_rows(const conv_layer *c)
{
    long r = CHUNK_FLOATS / conv_K(c);
    return r > 0 ? r : 1;
}

/* The convolution way to dx works over the whole padded input, so it pays where 'valid'
 * padding leaves the output not much smaller than the input (measured: 26x26 from 24x24
 * gains 10%, 12x12 from 10x10 loses 15% against col2im). */
static int conv_transposed_dx(const conv_layer *c)
{
    return c->wino_dx || (c->sh == 1 && c->sw == 1 && !conv_pointwise(c) &&
           5L * c->g.H * c->g.W <= 6L * c->g.OH * c->g.OW);
}

static long dx_K(const conv_layer *c) { return (long)c->kh * c->kw * c->filters; }

static long dx_chunk_rows(const conv_layer *c)
{
    long r = CHUNK_FLOATS / dx_K(c);
    return r > 0 ? r : 1;
}

static long min_l(long a, long b) { return a < b ? a : b; }
static long max_l(long a, long b) { return a > b ? a : b; }

/* a patch matrix chunk: of the input (forward, kernel gradient) or of the output
 * gradient (input gradient by convolution) */
static long cols_floats(const conv_layer *c, int n)
{
    long rows = (long)n * c->g.OH * c->g.OW, in_rows = (long)n * c->g.H * c->g.W;
    long cols = min_l(chunk_rows(c), rows) * conv_K(c);
    long tcols = min_l(dx_chunk_rows(c), in_rows) * dx_K(c);
    if (c->wino)
        cols = max_l(cols, dn_winograd_workspace(&c->g, c->filters, c->wm));
    if (c->wino_dx)
        tcols = max_l(tcols, dn_winograd_workspace(&c->gt, c->g.C, c->wm_dx));
    return max_l(cols, tcols);
}

/* a thread's partial kernel gradient: HWIO, or Winograd's elems x C x F */
static long wgrad_floats(const conv_layer *c)
{
    return (c->wino ? (long)dn_winograd_elems(c->wm) * c->g.C : conv_K(c)) * c->filters;
}

/* per-thread workspace: patch matrix and its gradient */
static long thread_floats(const conv_layer *c, int n)
{
    return 2 * cols_floats(c, n);
}

/* a work item's partial kernel and bias gradients. Partial sums belong to items, not
 * threads, and are added in item order: whichever thread takes an item, a run repeats
 * bit for bit. */
static long part_floats(const conv_layer *c)
{
    return wgrad_floats(c) + c->filters;
}

/* images per work item: about a chunk's worth, and at least 4 items per thread; one
 * when the layer computes batch-invariantly */
static long item_images(const conv_layer *c, int n)
{
    if (c->base.invariant)
        return 1;   /* each image's rows in the same chunks whatever the batch */
    long per_img = (long)c->g.OH * c->g.OW;
    long k = chunk_rows(c) / per_img;
    long fair = (n + 4L * dn_cpu_threads() - 1) / (4L * dn_cpu_threads());
    if (k > fair)
        k = fair;
    return k > 0 ? k : 1;
}

static long n_items(const conv_layer *c, int n)
{
    long ipi = item_images(c, n);
    return (n + ipi - 1) / ipi;
}

static int conv_build(dn_layer *l, dn_rng *rng, char *err, size_t errlen)
{
    conv_layer *c = (conv_layer *)l;
    if (l->in_ndim != 3)
        return dn_seterr(err, errlen,
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
        return dn_seterr(err, errlen, "%s (Conv2D): the kernel (%d, %d) does not fit the input's "
                         "%dx%d pixels with 'valid' padding (padding='same' keeps the size)",
                         l->name, c->kh, c->kw, g->H, g->W);
    l->out_ndim = 3;
    l->out_shape[0] = g->OH;
    l->out_shape[1] = g->OW;
    l->out_shape[2] = c->filters;
    c->gt = (dn_conv_geom){.H = g->OH, .W = g->OW, .C = c->filters, .KH = c->kh, .KW = c->kw,
                           .SH = 1, .SW = 1, .PT = c->kh - 1 - g->PT, .PL = c->kw - 1 - g->PL,
                           .OH = g->H, .OW = g->W};
    c->wino = dn_winograd_fits(g) && g->C >= WINO_MIN_CHANNELS &&
              c->filters >= WINO_MIN_CHANNELS;
    c->wino_dx = c->wino && dn_winograd_fits(&c->gt);
    c->wm = dn_winograd_tile(g, c->filters);
    c->wm_dx = dn_winograd_tile(&c->gt, g->C);
    c->wflip = malloc((size_t)(conv_K(c) * c->filters) * sizeof(float));
    if (!conv_pointwise(c) && conv_K(c) < SMALL_K && g->PT == 0 && g->PL == 0 &&
        (long)(g->OH - 1) * g->SH + g->KH <= g->H && (long)(g->OW - 1) * g->SW + g->KW <= g->W) {
        c->koff = malloc((size_t)conv_K(c) * sizeof(long));
        if (!c->koff)
            return dn_seterr(err, errlen, "%s: out of memory", l->name);
        for (int kh = 0, k = 0; kh < c->kh; kh++)
            for (int kw = 0; kw < c->kw; kw++)
                for (int ci = 0; ci < g->C; ci++)
                    c->koff[k++] = ((long)kh * g->W + kw) * g->C + ci;
    }
    if (c->wino)
        c->U = malloc((size_t)((long)(dn_winograd_elems(c->wm) + dn_winograd_elems(c->wm_dx)) *
                               g->C * c->filters) * sizeof(float));
    c->Ut = c->U ? c->U + (long)dn_winograd_elems(c->wm) * g->C * c->filters : NULL;
    if (!c->wflip || (c->wino && !c->U))
        return dn_seterr(err, errlen, "%s: out of memory", l->name);
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
    long floats = thread_floats(c, n) * dn_cpu_threads() + n_items(c, n) * part_floats(c);
    return dn_tensor_reserve(l->scratch, (size_t)floats, err, errlen);
}

typedef struct conv_job {
    conv_layer *c;
    const float *x;
    float *dx;
    int n;
    long ipi;           /* images per item */
} conv_job;

static float *thread_scratch(const conv_job *j, int thread)
{
    const conv_layer *c = j->c;
    return c->base.scratch->data + thread * thread_floats(c, j->n);
}

static float *item_partial(const conv_job *j, long item)
{
    const conv_layer *c = j->c;
    return c->base.scratch->data + dn_cpu_threads() * thread_floats(c, j->n) + item * part_floats(c);
}

static void conv_forward_item(void *ctx, long item, int thread)
{
    const conv_job *j = ctx;
    conv_layer *c = j->c;
    dn_layer *l = &c->base;
    const int F = c->filters;
    const long K = conv_K(c), per_img = (long)c->g.OH * c->g.OW;
    const long b1 = (item + 1) * j->ipi < j->n ? (item + 1) * j->ipi : j->n;
    const long r0 = item * j->ipi * per_img, r1 = b1 * per_img, step = chunk_rows(c);
    float *cols = thread_scratch(j, thread);
    const float *bias = c->use_bias ? l->params[1].data : NULL;
    if (c->wino) {
        dn_winograd3x3(j->x, &c->g, c->wm, c->U, F, bias, l->act, item * j->ipi, b1, cols,
                       l->out.data);
        return;
    }
    if (conv_in_place(c)) {
        const int OH = c->g.OH, OW = c->g.OW;
        for (long b = item * j->ipi; b < b1; b++)
            for (int oh = 0; oh < OH; oh++) {
                float *out = l->out.data + (b * OH + oh) * OW * F;
                if (bias)
                    for (int r = 0; r < OW; r++)
                        memcpy(out + (long)r * F, bias, (size_t)F * sizeof(float));
                const dn_operand a = patches_of_row(c, j->x, b, oh, 0);
                dn_small_sgemm(OW, F, (int)K, &a, l->params[0].data, out, bias != NULL);
                dn_act_forward(l->act, out, OW, F);
            }
        return;
    }
    for (long p0 = r0; p0 < r1; p0 += step) {
        long p1 = p0 + step < r1 ? p0 + step : r1;
        float *out = l->out.data + p0 * F;
        const float *a = cols;
        if (conv_pointwise(c))
            a = j->x + p0 * K;
        else
            dn_im2col_nhwc(j->x, &c->g, p0, p1, cols);
        /* start from the bias so the product adds onto it (beta 1 also spares OpenBLAS
         * its separate pass zeroing C) */
        if (bias)
            for (long r = 0; r < p1 - p0; r++)
                for (int f = 0; f < F; f++)
                    out[r * F + f] = bias[f];
        const dn_operand pa = {a, K, 1, NULL, NULL};
        if (K >= SMALL_K ||
            !dn_small_sgemm((int)(p1 - p0), F, (int)K, &pa, l->params[0].data, out, bias != NULL))
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(p1 - p0), F, (int)K,
                        1.0f, a, (int)K, l->params[0].data, F, bias ? 1.0f : 0.0f, out, F);
        dn_act_forward(l->act, out, p1 - p0, F);
    }
}

static void conv_forward(dn_layer *l, const float *x, int n, int training, dn_rng *rng)
{
    (void)training;
    (void)rng;
    conv_layer *c = (conv_layer *)l;
    if (c->wino)
        dn_winograd_kernel(l->params[0].data, c->g.C, c->filters, c->wm, c->U);
    conv_job j = {c, x, NULL, n, item_images(c, n)};
    dn_parallel_for((n + j.ipi - 1) / j.ipi, conv_forward_item, &j);
}

static void conv_backward_item(void *ctx, long item, int thread)
{
    const conv_job *j = ctx;
    conv_layer *c = j->c;
    dn_layer *l = &c->base;
    const int F = c->filters, grads = l->trainable;
    const long K = conv_K(c), per_img = (long)c->g.OH * c->g.OW;
    const long b0 = item * j->ipi, b1 = min_l((item + 1) * j->ipi, j->n);
    const long r0 = b0 * per_img, r1 = b1 * per_img, step = chunk_rows(c);
    const int transposed = j->dx && conv_transposed_dx(c);
    float *cols = thread_scratch(j, thread);
    float *dcols = cols + cols_floats(c, j->n);
    float *dw = item_partial(j, item);               /* this item's partial sums */
    float *db = dw + wgrad_floats(c);
    if (grads)
        memset(dw, 0, (size_t)part_floats(c) * sizeof(float));
    const float *w = l->params[0].data;
    if (j->dx && !transposed)
        memset(j->dx + b0 * l->in_size, 0, (size_t)((b1 - b0) * l->in_size) * sizeof(float));
    for (long p0 = r0; p0 < r1; p0 += step) {
        long p1 = min_l(p0 + step, r1);
        int m = (int)(p1 - p0);
        float *dz = l->delta.data + p0 * F;
        if (!l->dz_ready)
            dn_act_backward(l->act, l->out.data + p0 * F, dz, m, F);
        if (grads)
            for (int r = 0; r < m; r++)
                for (int f = 0; f < F; f++)
                    db[f] += dz[(long)r * F + f];
        if (grads && conv_in_place(c)) {
            /* dw (K x F) += patches^T dz, an output row (or what the chunk holds of it) at a time */
            const int OW = c->g.OW;
            for (long q = p0; q < p1;) {
                long b = q / per_img, r = q % per_img;
                int oh = (int)(r / OW), ow = (int)(r % OW);
                int cnt = (int)min_l(OW - ow, p1 - q);
                dn_operand a = patches_of_row(c, j->x, b, oh, ow);
                a.rs = 0;
                a.ks = (long)c->g.SW * c->g.C;
                a.rt = c->koff;
                a.kt = NULL;
                dn_small_sgemm((int)K, F, cnt, &a, l->delta.data + q * F, dw, 1);
                q += cnt;
            }
        } else if (grads && !c->wino) {
            const float *a = cols;
            if (conv_pointwise(c))
                a = j->x + p0 * K;
            else
                dn_im2col_nhwc(j->x, &c->g, p0, p1, cols);
            const dn_operand pa = {a, 1, K, NULL, NULL};
            if (K >= SMALL_K || !dn_small_sgemm((int)K, F, m, &pa, dz, dw, 1))
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)K, F, m, 1.0f, a,
                            (int)K, dz, F, 1.0f, dw, F);
        }
        if (j->dx && conv_pointwise(c)) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, (int)K, F, 1.0f, dz, F, w, F,
                        0.0f, j->dx + p0 * K, (int)K);
        } else if (j->dx && !transposed) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, (int)K, F, 1.0f, dz, F, w, F,
                        0.0f, dcols, (int)K);
            dn_col2im_nhwc(dcols, &c->g, p0, p1, j->dx);
        }
    }
    if (grads && c->wino)
        dn_winograd3x3_grad(j->x, &c->g, c->wm, l->delta.data, F, b0, b1, cols, dw);
    if (!transposed)
        return;
    /* dx = the output gradient (now complete for these images) convolved with the
     * flipped kernel: the same im2col + sgemm as forward, written straight into dx */
    const int C = c->g.C;
    if (c->wino_dx) {
        dn_winograd3x3(l->delta.data, &c->gt, c->wm_dx, c->Ut, C, NULL, DN_ACT_LINEAR, b0, b1,
                       cols, j->dx);
        return;
    }
    const long K2 = dx_K(c), in_img = (long)c->g.H * c->g.W, step2 = dx_chunk_rows(c);
    for (long q0 = b0 * in_img; q0 < b1 * in_img; q0 += step2) {
        long q1 = min_l(q0 + step2, b1 * in_img);
        dn_im2col_nhwc(l->delta.data, &c->gt, q0, q1, cols);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(q1 - q0), C, (int)K2, 1.0f,
                    cols, (int)K2, c->wflip, C, 0.0f, j->dx + q0 * C, C);
    }
}

static void conv_backward(dn_layer *l, const float *x, int n, float *dx)
{
    conv_layer *c = (conv_layer *)l;
    if (!l->trainable && !dx)
        return;
    const int F = c->filters;
    const long K = conv_K(c), KF = wgrad_floats(c);
    if (dx && conv_transposed_dx(c)) {
        const int C = c->g.C, KH = c->kh, KW = c->kw;
        const float *w = l->params[0].data;
        for (int kh = 0; kh < KH; kh++)
            for (int kw = 0; kw < KW; kw++)
                for (int ci = 0; ci < C; ci++)
                    for (int f = 0; f < F; f++)
                        c->wflip[(((long)(KH - 1 - kh) * KW + (KW - 1 - kw)) * F + f) * C + ci] =
                            w[(((long)kh * KW + kw) * C + ci) * F + f];
        if (c->wino_dx)
            dn_winograd_kernel(c->wflip, F, C, c->wm_dx, c->Ut);
    }
    conv_job j = {c, x, dx, n, item_images(c, n)};
    const long items = n_items(c, n);
    dn_parallel_for(items, conv_backward_item, &j);
    if (!l->trainable)
        return;
    /* sum the items' partial gradients in item order (into the first item's) */
    float *part = item_partial(&j, 0);
    for (long it = 1; it < items; it++) {
        const float *p = item_partial(&j, it);
        for (long i = 0; i < KF + F; i++)
            part[i] += p[i];
    }
    if (c->wino)
        dn_winograd_kernel_grad(part, c->g.C, F, c->wm, l->params[0].grad);
    else
        memcpy(l->params[0].grad, part, (size_t)(K * F) * sizeof(float));
    if (c->use_bias)
        memcpy(l->params[1].grad, part + KF, (size_t)F * sizeof(float));
}

static void conv_fini(dn_layer *l)
{
    free(((conv_layer *)l)->wflip);
    free(((conv_layer *)l)->U);
    free(((conv_layer *)l)->koff);
}

static const dn_layer_ops conv_ops = {
    .class_name = "Conv2D",
    .prefix = "conv2d",
    .build = conv_build,
    .fini = conv_fini,
    .cpu = {
        .reserve = conv_reserve,
        .forward = conv_forward,
        .backward = conv_backward,
        .act_in_backward = 1,
    },
    .cuda = DN_CUDA_KERNELS(dn_conv2d_cuda),
};

dn_layer *dn_conv2d_new(int filters, int kh, int kw, int sh, int sw, dn_padding pad,
                        dn_activation act, int use_bias, char *err, size_t errlen)
{
    if (filters <= 0 || kh <= 0 || kw <= 0 || sh <= 0 || sw <= 0) {
        dn_seterr(err, errlen,
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
