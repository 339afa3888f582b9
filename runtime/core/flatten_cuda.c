/* flatten_cuda.c — Flatten on the GPU: the same floats, copied on the device. */
#include "backend.h"
#include "layer_impl.h"

static void flatten_cuda_forward(dn_layer *l, const float *x, int n, int training, dn_rng *rng)
{
    (void)training;
    (void)rng;
    l->be->copy(l->out.data, x, (size_t)n * (size_t)l->in_size * sizeof(float));
}

static void flatten_cuda_backward(dn_layer *l, const float *x, int n, float *dx)
{
    (void)x;
    if (dx)
        l->be->copy(dx, l->delta.data, (size_t)n * (size_t)l->in_size * sizeof(float));
}

const dn_layer_kernels dn_flatten_cuda = {
    .forward = flatten_cuda_forward,
    .backward = flatten_cuda_backward,
};
