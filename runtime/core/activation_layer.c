/* activation_layer.c — Activation: an activation on its own, e.g. Activation('softmax'). */
#include "layer_impl.h"
#include "status.h"

#include <string.h>

static int act_build(dn_layer *l, dn_rng *rng, char *err, size_t errlen)
{
    (void)rng;
    (void)err;
    (void)errlen;
    l->out_ndim = l->in_ndim;
    memcpy(l->out_shape, l->in_shape, sizeof l->in_shape);
    return DN_OK;
}

static void act_forward(dn_layer *l, const float *x, int n, int training, dn_rng *rng)
{
    (void)training;
    (void)rng;
    long total = (long)n * l->in_size;
    long dim = l->in_shape[l->in_ndim - 1];
    memcpy(l->out.data, x, (size_t)total * sizeof(float));
    dn_act_forward(l->act, l->out.data, total / dim, dim);
}

static void act_backward(dn_layer *l, const float *x, int n, float *dx)
{
    (void)x;
    if (dx)
        memcpy(dx, l->delta.data, (size_t)n * (size_t)l->in_size * sizeof(float));
}

static const dn_layer_ops act_ops = {
    .class_name = "Activation",
    .prefix = "activation",
    .build = act_build,
    .cpu = {
        .forward = act_forward,
        .backward = act_backward,
    },
    .cuda = DN_CUDA_KERNELS(dn_activation_cuda),
};

dn_layer *dn_activation_layer_new(dn_activation act, char *err, size_t errlen)
{
    dn_layer *l = dn_layer_alloc(sizeof(dn_layer), &act_ops, err, errlen);
    if (l)
        l->act = act;
    return l;
}
