/* maxpool2d_cuda.c — MaxPooling2D on the GPU by cuDNN (CUDNN_POOLING_MAX_DETERMINISTIC).
 * TensorFlow's padded cells never win: a padded input is padded explicitly with -FLT_MAX
 * and pooled 'valid', and its gradient cropped back. */
#include "cuda/cuda_impl.h"
#include "layer_types.h"

#include <float.h>
#include <stdlib.h>

typedef struct pool_dev {
    int n, made;
    cudnnTensorDescriptor_t xd, yd;
    cudnnPoolingDescriptor_t pd;
    int pb, pr, padded;
    float *xp, *dxp;
    size_t xpcap, dxpcap;
} pool_dev;

static void pool_cuda_release(dn_layer *l)
{
    pool_dev *d = l->dev;
    if (!d)
        return;
    if (d->made) {
        cudnnDestroyTensorDescriptor(d->xd);
        cudnnDestroyTensorDescriptor(d->yd);
        cudnnDestroyPoolingDescriptor(d->pd);
    }
    dn_cuda_free(d->xp);
    dn_cuda_free(d->dxp);
    free(d);
    l->dev = NULL;
}

static pool_dev *setup(dn_layer *l, int n)
{
    pool_layer *p = (pool_layer *)l;
    pool_dev *d = l->dev;
    if (!d && !(d = l->dev = calloc(1, sizeof *d))) {
        dn_cuda_fail("%s: out of memory", l->name);
        return NULL;
    }
    if (d->n == n)
        return d;
    d->n = 0;
    if (!d->made) {
        if (!dn_cudnn_ok(cudnnCreateTensorDescriptor(&d->xd), "MaxPooling2D") ||
            !dn_cudnn_ok(cudnnCreateTensorDescriptor(&d->yd), "MaxPooling2D") ||
            !dn_cudnn_ok(cudnnCreatePoolingDescriptor(&d->pd), "MaxPooling2D"))
            return NULL;
        d->made = 1;
    }
    const dn_conv_geom *g = &p->g;
    int th = (g->OH - 1) * g->SH + g->KH - g->H, tw = (g->OW - 1) * g->SW + g->KW - g->W;
    th = th > 0 ? th : 0;
    tw = tw > 0 ? tw : 0;
    d->pb = th - g->PT;
    d->pr = tw - g->PL;
    d->padded = th > 0 || tw > 0;
    const int Hp = d->padded ? g->H + th : g->H, Wp = d->padded ? g->W + tw : g->W;
    int on, oc, oh, ow;
    if (!dn_cudnn_ok(cudnnSetTensor4dDescriptor(d->xd, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, n,
                                                g->C, Hp, Wp), "MaxPooling2D's input") ||
        !dn_cudnn_ok(cudnnSetPooling2dDescriptor(d->pd, CUDNN_POOLING_MAX_DETERMINISTIC,
                                                 CUDNN_NOT_PROPAGATE_NAN, g->KH, g->KW, 0, 0,
                                                 g->SH, g->SW), "MaxPooling2D's window") ||
        !dn_cudnn_ok(cudnnGetPooling2dForwardOutputDim(d->pd, d->xd, &on, &oc, &oh, &ow),
                     "MaxPooling2D's output size"))
        return NULL;
    if (oh != g->OH || ow != g->OW) {
        dn_cuda_fail("%s (MaxPooling2D): cuDNN computes a %dx%d output where TensorFlow's "
                     "padding gives %dx%d", l->name, oh, ow, g->OH, g->OW);
        return NULL;
    }
    size_t xpbytes = d->padded ? (size_t)n * Hp * Wp * g->C * sizeof(float) : 0;
    if (!dn_cudnn_ok(cudnnSetTensor4dDescriptor(d->yd, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, n,
                                                g->C, g->OH, g->OW), "MaxPooling2D's output") ||
        !dn_cuda_grow((void **)&d->xp, &d->xpcap, xpbytes) ||
        !dn_cuda_grow((void **)&d->dxp, &d->dxpcap, xpbytes))
        return NULL;
    d->n = n;
    return d;
}

static void pool_cuda_forward(dn_layer *l, const float *x, int n, int training, dn_rng *rng)
{
    (void)training;
    (void)rng;
    pool_layer *p = (pool_layer *)l;
    dn_cuda_state *st = dn_cuda();
    pool_dev *d = setup(l, n);
    if (!d)
        return;
    const dn_conv_geom *g = &p->g;
    const float *in = x;
    if (d->padded) {
        dn_k_pad(x, d->xp, n, g->H, g->W, g->C, g->PT, d->pb, g->PL, d->pr, -FLT_MAX, st->stream);
        in = d->xp;
    }
    const float one = 1.0f, zero = 0.0f;
    dn_cudnn_ok(cudnnPoolingForward(st->dnn, d->pd, &one, d->xd, in, &zero, d->yd, l->out.data),
                "MaxPooling2D's forward pass");
}

static void pool_cuda_backward(dn_layer *l, const float *x, int n, float *dx)
{
    pool_layer *p = (pool_layer *)l;
    dn_cuda_state *st = dn_cuda();
    if (!dx)
        return;
    pool_dev *d = setup(l, n);
    if (!d)
        return;
    const dn_conv_geom *g = &p->g;
    const float one = 1.0f, zero = 0.0f;
    if (!dn_cudnn_ok(cudnnPoolingBackward(st->dnn, d->pd, &one, d->yd, l->out.data, d->yd,
                                          l->delta.data, d->xd, d->padded ? d->xp : x, &zero,
                                          d->xd, d->padded ? d->dxp : dx),
                     "MaxPooling2D's input gradient"))
        return;
    if (d->padded)
        dn_k_crop(d->dxp, dx, n, g->H, g->W, g->C, g->PT, d->pb, g->PL, d->pr, st->stream);
}

const dn_layer_kernels dn_maxpool2d_cuda = {
    .forward = pool_cuda_forward,
    .backward = pool_cuda_backward,
    .release = pool_cuda_release,
};
