/* activation_layer_cuda.c — Activation on the GPU: a copy, then the activation (our
 * kernel, or cuDNN's softmax); the model undoes it in backward, as on the CPU. */
#include "backend.h"
#include "cuda/cuda_impl.h"
#include "layer_impl.h"

static void act_cuda_forward(dn_layer *l, const float *x, int n, int training, dn_rng *rng)
{
    (void)training;
    (void)rng;
    long total = (long)n * l->in_size, dim = l->in_shape[l->in_ndim - 1];
    l->be->copy(l->out.data, x, (size_t)total * sizeof(float));
    dn_cuda_bias_act((int)l->act, l->out.data, NULL, total / dim, dim);
}

static void act_cuda_backward(dn_layer *l, const float *x, int n, float *dx)
{
    (void)x;
    if (dx)
        l->be->copy(dx, l->delta.data, (size_t)n * (size_t)l->in_size * sizeof(float));
}

const dn_layer_kernels dn_activation_cuda = {
    .forward = act_cuda_forward,
    .backward = act_cuda_backward,
};
