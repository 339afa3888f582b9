/* dense.c — Dense: y = act(x . kernel + bias), kernel (in, units) as Keras stores it.
 * Inputs of rank > 1 per example act on the last axis, as Keras' Dense does. */
#include "layer_types.h"
#include "status.h"

#include "cpu.h"
#include <string.h>

static int dense_build(dn_layer *l, dn_rng *rng, char *err, size_t errlen)
{
    dense_layer *d = (dense_layer *)l;
    int in = l->in_shape[l->in_ndim - 1];
    l->out_ndim = l->in_ndim;
    memcpy(l->out_shape, l->in_shape, sizeof l->in_shape);
    l->out_shape[l->out_ndim - 1] = d->units;
    int kshape[2] = {in, d->units};
    if (dn_layer_add_param(l, "kernel", 2, kshape, 1, err, errlen))
        return DN_ERROR;
    dn_glorot_uniform(l->params[0].data, l->params[0].size, in, d->units, rng);
    if (d->use_bias && dn_layer_add_param(l, "bias", 1, &d->units, 1, err, errlen))
        return DN_ERROR;
    return DN_OK;
}

/* Batch-invariant product: every element a plain chain of fused multiply-adds over the
 * inputs in order (dn_small_sgemm), or one sgemm per row where that kernel does not
 * apply, so a row's bits do not depend on the rows around it. (The BLAS's sgemm treats
 * rows differently by their place in its blocks, and small matrices apart.) */
#define INVARIANT_PIECE 48   /* rows per work item, a multiple of the kernel's 6 */

typedef struct dense_job {
    const float *x, *w;
    float *out;
    long rows;
    int in, units;
} dense_job;

static void dense_invariant_piece(void *ctx, long i, int thread)
{
    (void)thread;
    const dense_job *j = ctx;
    long r0 = i * INVARIANT_PIECE, r1 = r0 + INVARIANT_PIECE < j->rows ? r0 + INVARIANT_PIECE : j->rows;
    const dn_operand a = {j->x + r0 * j->in, j->in, 1, NULL, NULL};
    if (dn_small_sgemm((int)(r1 - r0), j->units, j->in, &a, j->w, j->out + r0 * j->units, 0))
        return;
    for (long r = r0; r < r1; r++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 1, j->units, j->in, 1.0f,
                    j->x + r * j->in, j->in, j->w, j->units, 0.0f, j->out + r * j->units, j->units);
}

static void dense_forward(dn_layer *l, const float *x, int n, int training, dn_rng *rng)
{
    (void)training;
    (void)rng;
    dense_layer *d = (dense_layer *)l;
    int in = l->in_shape[l->in_ndim - 1];
    long rows = (long)n * (l->in_size / in);
    if (l->invariant) {
        dense_job j = {x, l->params[0].data, l->out.data, rows, in, d->units};
        dn_parallel_for((rows + INVARIANT_PIECE - 1) / INVARIANT_PIECE, dense_invariant_piece, &j);
    } else {
        dn_sgemm(CblasNoTrans, CblasNoTrans, (int)rows, d->units, in, 1.0f, x, in,
                 l->params[0].data, d->units, 0.0f, l->out.data, d->units);
    }
    dn_bias_act_forward(l->act, l->out.data, d->use_bias ? l->params[1].data : NULL, rows,
                        d->units);
}

static void dense_backward(dn_layer *l, const float *x, int n, float *dx)
{
    dense_layer *d = (dense_layer *)l;
    int in = l->in_shape[l->in_ndim - 1];
    long rows = (long)n * (l->in_size / in);
    const float *dz = l->delta.data;
    if (l->trainable) {
        dn_sgemm(CblasTrans, CblasNoTrans, in, d->units, (int)rows, 1.0f, x,
                    in, dz, d->units, 0.0f, l->params[0].grad, d->units);
        if (d->use_bias) {
            float *db = l->params[1].grad;
            memset(db, 0, (size_t)d->units * sizeof(float));
            for (long r = 0; r < rows; r++)
                for (int j = 0; j < d->units; j++)
                    db[j] += dz[r * d->units + j];
        }
    }
    if (dx)
        dn_sgemm(CblasNoTrans, CblasTrans, (int)rows, in, d->units, 1.0f, dz,
                    d->units, l->params[0].data, d->units, 0.0f, dx, in);
}

static const dn_layer_ops dense_ops = {
    .class_name = "Dense",
    .prefix = "dense",
    .build = dense_build,
    .cpu = {
        .forward = dense_forward,
        .backward = dense_backward,
    },
    .cuda = DN_CUDA_KERNELS(dn_dense_cuda),
};

dn_layer *dn_dense_new(int units, dn_activation act, int use_bias, char *err, size_t errlen)
{
    if (units <= 0) {
        dn_seterr(err, errlen, "Dense: units must be positive, got %d", units);
        return NULL;
    }
    dense_layer *d = dn_layer_alloc(sizeof *d, &dense_ops, err, errlen);
    if (!d)
        return NULL;
    d->units = units;
    d->use_bias = use_bias != 0;
    d->base.act = act;
    return &d->base;
}
