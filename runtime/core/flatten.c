/* flatten.c — Flatten: (h, w, c) -> (h*w*c) in row-major (HWC) order, as Keras' channels-
 * last Flatten, which is what makes VGG's fc1 weights (7*7*512 HWC) load as they are. */
#include "layer_impl.h"
#include "status.h"

#include <string.h>

static int flatten_build(dn_layer *l, dn_rng *rng, char *err, size_t errlen)
{
    (void)rng;
    (void)err;
    (void)errlen;
    l->out_ndim = 1;
    l->out_shape[0] = (int)l->in_size;
    return DN_OK;
}

static void flatten_forward(dn_layer *l, const float *x, int n, int training, dn_rng *rng)
{
    (void)training;
    (void)rng;
    memcpy(l->out.data, x, (size_t)n * (size_t)l->in_size * sizeof(float));
}

static void flatten_backward(dn_layer *l, const float *x, int n, float *dx)
{
    (void)x;
    if (dx)
        memcpy(dx, l->delta.data, (size_t)n * (size_t)l->in_size * sizeof(float));
}

static const dn_layer_ops flatten_ops = {
    .class_name = "Flatten",
    .prefix = "flatten",
    .build = flatten_build,
    .cpu = {
        .forward = flatten_forward,
        .backward = flatten_backward,
    },
    .cuda = DN_CUDA_KERNELS(dn_flatten_cuda),
};

dn_layer *dn_flatten_new(char *err, size_t errlen)
{
    return dn_layer_alloc(sizeof(dn_layer), &flatten_ops, err, errlen);
}
