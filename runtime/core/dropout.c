/* dropout.c — Dropout (inverted, as Keras): while training each value is kept with
 * probability 1-rate and scaled by 1/(1-rate); at inference it passes unchanged. The
 * mask comes from the model's seeded generator. */
#include "layer_types.h"
#include "status.h"

#include <string.h>

static int dropout_build(dn_layer *l, dn_rng *rng, char *err, size_t errlen)
{
    (void)rng;
    (void)err;
    (void)errlen;
    l->out_ndim = l->in_ndim;
    memcpy(l->out_shape, l->in_shape, sizeof l->in_shape);
    return DN_OK;
}

static int dropout_reserve(dn_layer *l, int n, char *err, size_t errlen)
{
    return dn_tensor_reserve(&((dropout_layer *)l)->mask, (size_t)n * (size_t)l->in_size, err,
                             errlen);
}

static void dropout_forward(dn_layer *l, const float *x, int n, int training, dn_rng *rng)
{
    dropout_layer *d = (dropout_layer *)l;
    long total = (long)n * l->in_size;
    d->masked = training && d->rate > 0.0f;
    if (!d->masked) {
        memcpy(l->out.data, x, (size_t)total * sizeof(float));
        return;
    }
    float scale = 1.0f / (1.0f - d->rate);
    float *m = d->mask.data;
    for (long i = 0; i < total; i++)
        m[i] = dn_rng_uniform(rng) >= d->rate ? scale : 0.0f;
    for (long i = 0; i < total; i++)
        l->out.data[i] = x[i] * m[i];
}

static void dropout_backward(dn_layer *l, const float *x, int n, float *dx)
{
    (void)x;
    dropout_layer *d = (dropout_layer *)l;
    if (!dx)
        return;
    long total = (long)n * l->in_size;
    if (!d->masked) {
        memcpy(dx, l->delta.data, (size_t)total * sizeof(float));
        return;
    }
    for (long i = 0; i < total; i++)
        dx[i] = l->delta.data[i] * d->mask.data[i];
}

static void dropout_fini(dn_layer *l)
{
    dn_tensor_fini(&((dropout_layer *)l)->mask);
}

static int dropout_varies(const dn_layer *l)
{
    return ((const dropout_layer *)l)->rate > 0.0f;
}

static const dn_layer_ops dropout_ops = {
    .class_name = "Dropout",
    .prefix = "dropout",
    .build = dropout_build,
    .fini = dropout_fini,
    .cpu = {
        .reserve = dropout_reserve,
        .forward = dropout_forward,
        .backward = dropout_backward,
    },
    .cuda = DN_CUDA_KERNELS(dn_dropout_cuda),
    .varies_in_training = dropout_varies,
};

dn_layer *dn_dropout_new(float rate, char *err, size_t errlen)
{
    if (!(rate >= 0.0f && rate < 1.0f)) {
        dn_seterr(err, errlen, "Dropout: rate must be in [0, 1), got %g", (double)rate);
        return NULL;
    }
    dropout_layer *d = dn_layer_alloc(sizeof *d, &dropout_ops, err, errlen);
    if (!d)
        return NULL;
    d->rate = rate;
    return &d->base;
}
