/* batchnorm_cuda.c — BatchNormalization on the GPU by cuDNN (spatial mode over the last
 * axis: the rows of every other axis are its samples). Training: cuDNN's batch statistics
 * and moving averages (factor 1 - momentum, unbiased variance, as batchnorm.c). Frozen or
 * inference: cuDNN's inference pass, and our kernels for its gradient (cuDNN has none),
 * per-channel sums in a fixed order. */
#include "cuda/cuda_impl.h"
#include "layer_types.h"

#include <stdlib.h>

enum { GAMMA, BETA, MMEAN, MVAR };

typedef struct bn_dev {
    long rows;                 /* the descriptors are for this many rows, 0: none */
    int made;
    cudnnTensorDescriptor_t xd, pd;
    float *saved;              /* mean and inverse std of the last training pass (2C), or
                                * of the moving statistics (invstd at C) */
    float *part, *dxtmp;       /* the sums' partial rows; dx when the model wants none */
    size_t partcap, dxcap;
} bn_dev;

static void bn_cuda_release(dn_layer *l)
{
    bn_dev *d = l->dev;
    if (!d)
        return;
    if (d->made) {
        cudnnDestroyTensorDescriptor(d->xd);
        cudnnDestroyTensorDescriptor(d->pd);
    }
    dn_cuda_free(d->saved);
    dn_cuda_free(d->part);
    dn_cuda_free(d->dxtmp);
    free(d);
    l->dev = NULL;
}

static bn_dev *setup(dn_layer *l, long rows, int C)
{
    bn_dev *d = l->dev;
    if (!d && !(d = l->dev = calloc(1, sizeof *d))) {
        dn_cuda_fail("%s: out of memory", l->name);
        return NULL;
    }
    if (d->rows == rows)
        return d;
    if (rows > 0x7fffffffL) {
        dn_cuda_fail("%s: a batch of %ld rows is more than cuDNN takes", l->name, rows);
        return NULL;
    }
    size_t cap = 0;
    if (!d->made) {
        if (!dn_cudnn_ok(cudnnCreateTensorDescriptor(&d->xd), "BatchNormalization") ||
            !dn_cudnn_ok(cudnnCreateTensorDescriptor(&d->pd), "BatchNormalization") ||
            !dn_cuda_grow((void **)&d->saved, &cap, 2 * (size_t)C * sizeof(float)) ||
            !dn_cuda_grow((void **)&d->part, &d->partcap,
                          2 * (size_t)DN_K_PARTS * C * sizeof(float)))
            return NULL;
        d->made = 1;
    }
    if (!dn_cudnn_ok(cudnnSetTensor4dDescriptor(d->xd, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT,
                                                (int)rows, C, 1, 1), "BatchNormalization") ||
        !dn_cudnn_ok(cudnnDeriveBNTensorDescriptor(d->pd, d->xd, CUDNN_BATCHNORM_SPATIAL),
                     "BatchNormalization"))
        return NULL;
    d->rows = rows;
    return d;
}

static void bn_cuda_forward(dn_layer *l, const float *x, int n, int training, dn_rng *rng)
{
    (void)rng;
    bn_layer *b = (bn_layer *)l;
    dn_cuda_state *st = dn_cuda();
    const int C = l->in_shape[l->in_ndim - 1];
    const long rows = (long)n * l->in_size / C;
    bn_dev *d = setup(l, rows, C);
    if (!d)
        return;
    if (b->epsilon < CUDNN_BN_MIN_EPSILON) {
        dn_cuda_fail("%s: cuDNN needs epsilon >= %g, this layer has %g", l->name,
                     CUDNN_BN_MIN_EPSILON, (double)b->epsilon);
        return;
    }
    const float one = 1.0f, zero = 0.0f;
    b->batch_stats = training && l->trainable;
    dn_param *P = l->params;
    if (b->batch_stats) {
        dn_cudnn_ok(cudnnBatchNormalizationForwardTraining(
                        st->dnn, CUDNN_BATCHNORM_SPATIAL, &one, &zero, d->xd, x, d->xd,
                        l->out.data, d->pd, P[GAMMA].dev_data, P[BETA].dev_data,
                        1.0 - (double)b->momentum, P[MMEAN].dev_data, P[MVAR].dev_data,
                        (double)b->epsilon, d->saved, d->saved + C),
                    "BatchNormalization's forward pass");
        return;
    }
    dn_cudnn_ok(cudnnBatchNormalizationForwardInference(
                    st->dnn, CUDNN_BATCHNORM_SPATIAL, &one, &zero, d->xd, x, d->xd, l->out.data,
                    d->pd, P[GAMMA].dev_data, P[BETA].dev_data, P[MMEAN].dev_data,
                    P[MVAR].dev_data, (double)b->epsilon),
                "BatchNormalization's forward pass");
    /* what the gradient needs: the statistics used, as batchnorm.c keeps them */
    dn_k_invstd(P[MVAR].dev_data, b->epsilon, C, d->saved + C, st->stream);
}

static void bn_cuda_backward(dn_layer *l, const float *x, int n, float *dx)
{
    bn_layer *b = (bn_layer *)l;
    dn_cuda_state *st = dn_cuda();
    const int C = l->in_shape[l->in_ndim - 1];
    const long rows = (long)n * l->in_size / C;
    bn_dev *d = setup(l, rows, C);
    if (!d)
        return;
    dn_param *P = l->params;
    if (b->batch_stats) {
        /* cuDNN always writes dx and both parameter gradients */
        float *target = dx;
        if (!target) {
            if (!dn_cuda_grow((void **)&d->dxtmp, &d->dxcap, (size_t)rows * C * sizeof(float)))
                return;
            target = d->dxtmp;
        }
        const float one = 1.0f, zero = 0.0f;
        dn_cudnn_ok(cudnnBatchNormalizationBackward(
                        st->dnn, CUDNN_BATCHNORM_SPATIAL, &one, &zero, &one, &zero, d->xd, x,
                        d->xd, l->delta.data, d->xd, target, d->pd, P[GAMMA].dev_data,
                        P[GAMMA].dev_grad, P[BETA].dev_grad, (double)b->epsilon, d->saved,
                        d->saved + C),
                    "BatchNormalization's gradient");
        return;
    }
    if (l->trainable)
        dn_k_bn_sums(x, l->delta.data, P[MMEAN].dev_data, d->saved + C, rows, C, d->part,
                     P[GAMMA].dev_grad, P[BETA].dev_grad, st->stream);
    if (dx)
        dn_k_bn_frozen_dx(l->delta.data, P[GAMMA].dev_data, d->saved + C, rows, C, dx,
                          st->stream);
}

const dn_layer_kernels dn_batchnorm_cuda = {
    .forward = bn_cuda_forward,
    .backward = bn_cuda_backward,
    .release = bn_cuda_release,
};
