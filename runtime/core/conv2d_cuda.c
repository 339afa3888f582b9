/* conv2d_cuda.c — Conv2D on the GPU by cuDNN: NHWC activations, the HWIO kernel turned into
 * cuDNN's OHWI each step (and its gradient back), bias and activation by one kernel.
 * TensorFlow's 'same' padding puts the odd pixel after; cuDNN pads both sides alike, so
 * such inputs are padded explicitly (zeros) and convolved 'valid', and the input gradient
 * is cropped back. Algorithms: deterministic ones only, cuDNN's heuristic order, unless
 * the backend is in fast mode (then timed: cudnnFind*); chosen again when the batch size
 * or the mode changes. */
#include "cuda/cuda_impl.h"
#include "layer_types.h"

#include <stdlib.h>

typedef struct conv_dev {
    int n;                     /* the batch the descriptors and algorithms are for, 0: none */
    unsigned gen;              /* the backend's mode they were chosen under */
    int made;                  /* descriptors created */
    cudnnTensorDescriptor_t xd, yd;
    cudnnFilterDescriptor_t wd;
    cudnnConvolutionDescriptor_t cd;
    cudnnConvolutionFwdAlgo_t fwd;
    cudnnConvolutionBwdDataAlgo_t bwd_data;
    cudnnConvolutionBwdFilterAlgo_t bwd_filt;
    size_t ws_fwd, ws_data, ws_filt;
    int pb, pr;                /* padding after (bottom, right) */
    int explicit_pad;          /* asymmetric: padded by dn_k_pad */
    float *w, *dw, *xp, *dxp;  /* OHWI kernel and gradient; padded input and its gradient */
    size_t wcap, dwcap, xpcap, dxpcap;
} conv_dev;

static void conv_cuda_release(dn_layer *l)
{
    conv_dev *d = l->dev;
    if (!d)
        return;
    if (d->made) {
        cudnnDestroyTensorDescriptor(d->xd);
        cudnnDestroyTensorDescriptor(d->yd);
        cudnnDestroyFilterDescriptor(d->wd);
        cudnnDestroyConvolutionDescriptor(d->cd);
    }
    dn_cuda_free(d->w);
    dn_cuda_free(d->dw);
    dn_cuda_free(d->xp);
    dn_cuda_free(d->dxp);
    free(d);
    l->dev = NULL;
}

/* whether a candidate may be used: it ran, fits the budget, repeats its bits (unless
 * fast), and uses no TF32 when TF32 is off */
static int usable(cudnnStatus_t status, size_t memory, cudnnDeterminism_t det,
                  cudnnMathType_t math, size_t budget)
{
    dn_cuda_state *st = dn_cuda();
    if (status != CUDNN_STATUS_SUCCESS || memory > budget)
        return 0;
    if (!st->fast && det != CUDNN_DETERMINISTIC)
        return 0;
    return st->tf32 || math == CUDNN_FMA_MATH || math == CUDNN_DEFAULT_MATH;
}

static int no_algo(const dn_layer *l, const char *which)
{
    dn_cuda_fail("%s (Conv2D): cuDNN offers no %s algorithm for its %s within the workspace "
                 "budget%s", l->name, dn_cuda()->fast ? "usable" : "deterministic", which,
                 dn_cuda()->fast ? "" : " (%device gpu fast allows the others)");
    return 0;
}

/* the first usable of cuDNN's candidates for one of the three passes: listed by its
 * heuristics, or timed (cudnnFind*) in fast mode. One macro for three perf types. */
#define PICK(PERF, COUNT, FIND, GET, OUT_ALGO, OUT_WS, WHICH, ...)                        \
    do {                                                                                \
        PERF perf[COUNT];                                                               \
        int got = 0, i;                                                                 \
        cudnnStatus_t s = st->fast ? FIND(st->dnn, __VA_ARGS__, COUNT, &got, perf)      \
                                   : GET(st->dnn, __VA_ARGS__, COUNT, &got, perf);      \
        if (!dn_cudnn_ok(s, "choosing a convolution algorithm"))                        \
            return 0;                                                                   \
        for (i = 0; i < got; i++)                                                       \
            if (usable(perf[i].status, perf[i].memory, perf[i].determinism,             \
                       perf[i].mathType, budget))                                       \
                break;                                                                  \
        if (i == got)                                                                   \
            return no_algo(l, WHICH);                                                   \
        OUT_ALGO = perf[i].algo;                                                        \
        OUT_WS = perf[i].memory;                                                        \
    } while (0)

static int choose_algorithms(dn_layer *l, conv_dev *d)
{
    dn_cuda_state *st = dn_cuda();
    const size_t budget = dn_cuda_workspace_budget();
    PICK(cudnnConvolutionFwdAlgoPerf_t, CUDNN_CONVOLUTION_FWD_ALGO_COUNT,
         cudnnFindConvolutionForwardAlgorithm, cudnnGetConvolutionForwardAlgorithm_v7,
         d->fwd, d->ws_fwd, "forward pass", d->xd, d->wd, d->cd, d->yd);
    PICK(cudnnConvolutionBwdDataAlgoPerf_t, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT,
         cudnnFindConvolutionBackwardDataAlgorithm, cudnnGetConvolutionBackwardDataAlgorithm_v7,
         d->bwd_data, d->ws_data, "input gradient", d->wd, d->yd, d->cd, d->xd);
    PICK(cudnnConvolutionBwdFilterAlgoPerf_t, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT,
         cudnnFindConvolutionBackwardFilterAlgorithm,
         cudnnGetConvolutionBackwardFilterAlgorithm_v7, d->bwd_filt, d->ws_filt,
         "kernel gradient", d->xd, d->yd, d->cd, d->wd);
    return 1;
}

/* descriptors and algorithms for batches of n, or NULL (failure kept) */
static conv_dev *setup(dn_layer *l, int n)
{
    conv_layer *c = (conv_layer *)l;
    dn_cuda_state *st = dn_cuda();
    conv_dev *d = l->dev;
    if (!d && !(d = l->dev = calloc(1, sizeof *d))) {
        dn_cuda_fail("%s: out of memory", l->name);
        return NULL;
    }
    if (d->n == n && d->gen == st->mode_gen)
        return d;
    d->n = 0;
    if (!d->made) {
        if (!dn_cudnn_ok(cudnnCreateTensorDescriptor(&d->xd), "Conv2D") ||
            !dn_cudnn_ok(cudnnCreateTensorDescriptor(&d->yd), "Conv2D") ||
            !dn_cudnn_ok(cudnnCreateFilterDescriptor(&d->wd), "Conv2D") ||
            !dn_cudnn_ok(cudnnCreateConvolutionDescriptor(&d->cd), "Conv2D"))
            return NULL;
        d->made = 1;
    }
    const dn_conv_geom *g = &c->g;
    int th = (g->OH - 1) * g->SH + g->KH - g->H, tw = (g->OW - 1) * g->SW + g->KW - g->W;
    th = th > 0 ? th : 0;
    tw = tw > 0 ? tw : 0;
    d->pb = th - g->PT;
    d->pr = tw - g->PL;
    d->explicit_pad = d->pb != g->PT || d->pr != g->PL;
    const int Hp = d->explicit_pad ? g->H + th : g->H, Wp = d->explicit_pad ? g->W + tw : g->W;
    const int ph = d->explicit_pad ? 0 : g->PT, pw = d->explicit_pad ? 0 : g->PL;
    int on, oc, oh, ow;
    if (!dn_cudnn_ok(cudnnSetTensor4dDescriptor(d->xd, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, n,
                                                g->C, Hp, Wp), "Conv2D's input") ||
        !dn_cudnn_ok(cudnnSetFilter4dDescriptor(d->wd, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NHWC,
                                                c->filters, g->C, g->KH, g->KW), "Conv2D's kernel") ||
        !dn_cudnn_ok(cudnnSetConvolution2dDescriptor(d->cd, ph, pw, g->SH, g->SW, 1, 1,
                                                     CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
                     "Conv2D's geometry") ||
        !dn_cudnn_ok(cudnnSetConvolutionMathType(d->cd, st->tf32 ? CUDNN_DEFAULT_MATH
                                                                 : CUDNN_FMA_MATH), "Conv2D") ||
        !dn_cudnn_ok(cudnnGetConvolution2dForwardOutputDim(d->cd, d->xd, d->wd, &on, &oc, &oh,
                                                           &ow), "Conv2D's output size"))
        return NULL;
    if (on != n || oc != c->filters || oh != g->OH || ow != g->OW) {
        dn_cuda_fail("%s (Conv2D): cuDNN computes a %dx%d output where TensorFlow's padding "
                     "gives %dx%d", l->name, oh, ow, g->OH, g->OW);
        return NULL;
    }
    if (!dn_cudnn_ok(cudnnSetTensor4dDescriptor(d->yd, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, n,
                                                c->filters, g->OH, g->OW), "Conv2D's output") ||
        !choose_algorithms(l, d))
        return NULL;
    const size_t wbytes = (size_t)l->params[0].size * sizeof(float);
    const size_t xpbytes = d->explicit_pad ? (size_t)n * Hp * Wp * g->C * sizeof(float) : 0;
    if (!dn_cuda_grow((void **)&d->w, &d->wcap, wbytes) ||
        !dn_cuda_grow((void **)&d->dw, &d->dwcap, wbytes) ||
        !dn_cuda_grow((void **)&d->xp, &d->xpcap, xpbytes) ||
        !dn_cuda_grow((void **)&d->dxp, &d->dxpcap, xpbytes))
        return NULL;
    d->n = n;
    d->gen = st->mode_gen;
    return d;
}

static void conv_cuda_forward(dn_layer *l, const float *x, int n, int training, dn_rng *rng)
{
    (void)training;
    (void)rng;
    conv_layer *c = (conv_layer *)l;
    dn_cuda_state *st = dn_cuda();
    conv_dev *d = setup(l, n);
    if (!d)
        return;
    const dn_conv_geom *g = &c->g;
    dn_k_hwio_to_ohwi(l->params[0].dev_data, d->w, g->KH, g->KW, g->C, c->filters, st->stream);
    const float *in = x;
    if (d->explicit_pad) {
        dn_k_pad(x, d->xp, n, g->H, g->W, g->C, g->PT, d->pb, g->PL, d->pr, 0.0f, st->stream);
        in = d->xp;
    }
    void *ws = dn_cuda_workspace(d->ws_fwd);
    const float one = 1.0f, zero = 0.0f;
    if (d->ws_fwd && !ws)
        return;
    if (!dn_cudnn_ok(cudnnConvolutionForward(st->dnn, &one, d->xd, in, d->wd, d->w, d->cd,
                                             d->fwd, ws, d->ws_fwd, &zero, d->yd, l->out.data),
                     "Conv2D's forward pass"))
        return;
    dn_cuda_bias_act((int)l->act, l->out.data, c->use_bias ? l->params[1].dev_data : NULL,
                     (long)n * g->OH * g->OW, c->filters);
}

static void conv_cuda_backward(dn_layer *l, const float *x, int n, float *dx)
{
    conv_layer *c = (conv_layer *)l;
    dn_cuda_state *st = dn_cuda();
    if (!l->trainable && !dx)
        return;
    conv_dev *d = setup(l, n);
    if (!d)
        return;
    const dn_conv_geom *g = &c->g;
    const float one = 1.0f, zero = 0.0f;
    if (l->trainable) {
        if (c->use_bias)
            dn_cuda_colsum(l->delta.data, (long)n * g->OH * g->OW, c->filters,
                           l->params[1].dev_grad);
        void *ws = dn_cuda_workspace(d->ws_filt);
        if (d->ws_filt && !ws)
            return;
        /* forward padded this batch's input into d->xp already */
        if (!dn_cudnn_ok(cudnnConvolutionBackwardFilter(st->dnn, &one, d->xd,
                                                        d->explicit_pad ? d->xp : x, d->yd,
                                                        l->delta.data, d->cd, d->bwd_filt, ws,
                                                        d->ws_filt, &zero, d->wd, d->dw),
                         "Conv2D's kernel gradient"))
            return;
        dn_k_ohwi_to_hwio(d->dw, l->params[0].dev_grad, g->KH, g->KW, g->C, c->filters,
                          st->stream);
    }
    if (!dx)
        return;
    void *ws = dn_cuda_workspace(d->ws_data);
    if (d->ws_data && !ws)
        return;
    if (!dn_cudnn_ok(cudnnConvolutionBackwardData(st->dnn, &one, d->wd, d->w, d->yd,
                                                  l->delta.data, d->cd, d->bwd_data, ws,
                                                  d->ws_data, &zero, d->xd,
                                                  d->explicit_pad ? d->dxp : dx),
                     "Conv2D's input gradient"))
        return;
    if (d->explicit_pad)
        dn_k_crop(d->dxp, dx, n, g->H, g->W, g->C, g->PT, d->pb, g->PL, d->pr, st->stream);
}

const dn_layer_kernels dn_conv2d_cuda = {
    .forward = conv_cuda_forward,
    .backward = conv_cuda_backward,
    .release = conv_cuda_release,
};
