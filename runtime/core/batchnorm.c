/* batchnorm.c — BatchNormalization over the last axis (Keras' axis=-1).
 * Training: batch mean and biased variance normalise; the moving statistics follow
 * moving = momentum*moving + (1-momentum)*batch, with the unbiased variance (m/(m-1)),
 * as TensorFlow's fused kernel and torch do. Inference, and a frozen layer (TF2 Keras
 * semantics), use the moving statistics. */
#include "layer_types.h"
#include "status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { GAMMA, BETA, MMEAN, MVAR };

static int bn_build(dn_layer *l, dn_rng *rng, char *err, size_t errlen)
{
    (void)rng;
    bn_layer *b = (bn_layer *)l;
    int C = l->in_shape[l->in_ndim - 1];
    l->out_ndim = l->in_ndim;
    memcpy(l->out_shape, l->in_shape, sizeof l->in_shape);
    if (dn_layer_add_param(l, "gamma", 1, &C, 1, err, errlen) ||
        dn_layer_add_param(l, "beta", 1, &C, 1, err, errlen) ||
        dn_layer_add_param(l, "moving_mean", 1, &C, 0, err, errlen) ||
        dn_layer_add_param(l, "moving_variance", 1, &C, 0, err, errlen))
        return DN_ERROR;
    for (int c = 0; c < C; c++) {
        l->params[GAMMA].data[c] = 1.0f;
        l->params[MVAR].data[c] = 1.0f;
    }
    b->mean = calloc((size_t)C, sizeof(float));
    b->invstd = calloc((size_t)C, sizeof(float));
    b->acc = calloc(2 * (size_t)C, sizeof(double));
    if (!b->mean || !b->invstd || !b->acc)
        return dn_seterr(err, errlen, "%s: out of memory", l->name);
    return DN_OK;
}

static void bn_forward(dn_layer *l, const float *x, int n, int training, dn_rng *rng)
{
    (void)rng;
    bn_layer *b = (bn_layer *)l;
    const int C = l->in_shape[l->in_ndim - 1];
    const long rows = (long)n * l->in_size / C;
    float *mean = b->mean, *invstd = b->invstd;
    b->batch_stats = training && l->trainable;
    if (b->batch_stats) {
        double *s = b->acc, *s2 = b->acc + C;
        memset(b->acc, 0, 2 * (size_t)C * sizeof(double));
        for (long r = 0; r < rows; r++)
            for (int c = 0; c < C; c++)
                s[c] += x[r * C + c];
        for (int c = 0; c < C; c++)
            mean[c] = (float)(s[c] / (double)rows);
        for (long r = 0; r < rows; r++)
            for (int c = 0; c < C; c++) {
                double d = (double)x[r * C + c] - mean[c];
                s2[c] += d * d;
            }
        float *mm = l->params[MMEAN].data, *mv = l->params[MVAR].data;
        float mo = b->momentum;
        for (int c = 0; c < C; c++) {
            double var = s2[c] / (double)rows;
            invstd[c] = (float)(1.0 / sqrt(var + b->epsilon));
            double unbiased = rows > 1 ? var * (double)rows / (double)(rows - 1) : var;
            mm[c] = mo * mm[c] + (1.0f - mo) * mean[c];
            mv[c] = mo * mv[c] + (1.0f - mo) * (float)unbiased;
        }
    } else {
        for (int c = 0; c < C; c++) {
            mean[c] = l->params[MMEAN].data[c];
            invstd[c] = 1.0f / sqrtf(l->params[MVAR].data[c] + b->epsilon);
        }
    }
    const float *gamma = l->params[GAMMA].data, *beta = l->params[BETA].data;
    float *y = l->out.data;
    for (long r = 0; r < rows; r++)
        for (int c = 0; c < C; c++)
            y[r * C + c] = gamma[c] * (x[r * C + c] - mean[c]) * invstd[c] + beta[c];
}

static void bn_backward(dn_layer *l, const float *x, int n, float *dx)
{
    bn_layer *b = (bn_layer *)l;
    const int C = l->in_shape[l->in_ndim - 1];
    const long rows = (long)n * l->in_size / C;
    const float *dy = l->delta.data, *mean = b->mean, *invstd = b->invstd;
    const float *gamma = l->params[GAMMA].data;
    double *sdy = b->acc, *sdyx = b->acc + C;
    memset(b->acc, 0, 2 * (size_t)C * sizeof(double));
    for (long r = 0; r < rows; r++)
        for (int c = 0; c < C; c++) {
            float g = dy[r * C + c];
            sdy[c] += g;
            sdyx[c] += g * (x[r * C + c] - mean[c]) * invstd[c];
        }
    if (l->trainable) {
        for (int c = 0; c < C; c++) {
            l->params[GAMMA].grad[c] = (float)sdyx[c];
            l->params[BETA].grad[c] = (float)sdy[c];
        }
    }
    if (!dx)
        return;
    if (!b->batch_stats) {
        /* the statistics are constants here */
        for (long r = 0; r < rows; r++)
            for (int c = 0; c < C; c++)
                dx[r * C + c] = dy[r * C + c] * gamma[c] * invstd[c];
        return;
    }
    const float inv_m = 1.0f / (float)rows;
    for (long r = 0; r < rows; r++)
        for (int c = 0; c < C; c++) {
            float xhat = (x[r * C + c] - mean[c]) * invstd[c];
            dx[r * C + c] = gamma[c] * invstd[c] * inv_m *
                            ((float)rows * dy[r * C + c] - (float)sdy[c] - xhat * (float)sdyx[c]);
        }
}

static void bn_fini(dn_layer *l)
{
    bn_layer *b = (bn_layer *)l;
    free(b->mean);
    free(b->invstd);
    free(b->acc);
}

/* batch statistics (and moving-average updates) only while trainable */
static int bn_varies(const dn_layer *l) { return l->trainable; }

static const dn_layer_ops bn_ops = {
    .class_name = "BatchNormalization",
    .prefix = "batch_normalization",
    .build = bn_build,
    .fini = bn_fini,
    .cpu = {
        .forward = bn_forward,
        .backward = bn_backward,
    },
    .cuda = DN_CUDA_KERNELS(dn_batchnorm_cuda),
    .varies_in_training = bn_varies,
};

dn_layer *dn_batchnorm_new(float momentum, float epsilon, char *err, size_t errlen)
{
    if (!(momentum >= 0.0f && momentum <= 1.0f) || !(epsilon > 0.0f)) {
        dn_seterr(err, errlen, "BatchNormalization: momentum must be in [0, 1] and epsilon "
                "positive, got momentum=%g epsilon=%g", (double)momentum, (double)epsilon);
        return NULL;
    }
    bn_layer *b = dn_layer_alloc(sizeof *b, &bn_ops, err, errlen);
    if (!b)
        return NULL;
    b->momentum = momentum;
    b->epsilon = epsilon;
    return &b->base;
}
