/* dropout_cuda.c — Dropout on the GPU. The mask is drawn on the host from the model's
 * generator, in the CPU's order, and uploaded: the GPU drops exactly what the CPU drops. */
#include "backend.h"
#include "cuda/cuda_impl.h"
#include "layer_types.h"

#include <stdlib.h>

typedef struct dropout_dev {
    float *mask;          /* device */
    size_t cap;
} dropout_dev;

static dropout_dev *dev_of(dn_layer *l)
{
    if (!l->dev)
        l->dev = calloc(1, sizeof(dropout_dev));
    if (!l->dev)
        dn_cuda_fail("%s: out of memory", l->name);
    return l->dev;
}

static void dropout_cuda_forward(dn_layer *l, const float *x, int n, int training, dn_rng *rng)
{
    dropout_layer *d = (dropout_layer *)l;
    const long total = (long)n * l->in_size;
    d->masked = training && d->rate > 0.0f;
    if (!d->masked) {
        l->be->copy(l->out.data, x, (size_t)total * sizeof(float));
        return;
    }
    dropout_dev *dd = dev_of(l);
    char err[512];
    /* the host mask (dropout.c's own tensor) is drawn exactly as the CPU draws it */
    if (!dd || dn_tensor_reserve(&d->mask, (size_t)total, err, sizeof err)) {
        if (dd)
            dn_cuda_fail("%s", err);
        return;
    }
    const float scale = 1.0f / (1.0f - d->rate);
    float *m = d->mask.data;
    for (long i = 0; i < total; i++)
        m[i] = dn_rng_uniform(rng) >= d->rate ? scale : 0.0f;
    if (!dn_cuda_grow((void **)&dd->mask, &dd->cap, (size_t)total * sizeof(float)))
        return;
    if (l->be->upload(dd->mask, m, (size_t)total * sizeof(float), err, sizeof err)) {
        dn_cuda_fail("%s", err);
        return;
    }
    dn_k_mul(l->out.data, x, dd->mask, total, dn_cuda()->stream);
}

static void dropout_cuda_backward(dn_layer *l, const float *x, int n, float *dx)
{
    (void)x;
    dropout_layer *d = (dropout_layer *)l;
    const long total = (long)n * l->in_size;
    if (!dx)
        return;
    if (!d->masked || !l->dev)
        l->be->copy(dx, l->delta.data, (size_t)total * sizeof(float));
    else
        dn_k_mul(dx, l->delta.data, ((dropout_dev *)l->dev)->mask, total, dn_cuda()->stream);
}

static void dropout_cuda_release(dn_layer *l)
{
    dropout_dev *dd = l->dev;
    if (!dd)
        return;
    dn_cuda_free(dd->mask);
    free(dd);
    l->dev = NULL;
}

const dn_layer_kernels dn_dropout_cuda = {
    .forward = dropout_cuda_forward,
    .backward = dropout_cuda_backward,
    .release = dropout_cuda_release,
};
