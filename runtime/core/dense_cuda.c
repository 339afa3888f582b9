/* dense_cuda.c — Dense on the GPU: cuBLAS products (column-major, so the row-major
 * operands are passed swapped), bias and activation by one kernel, the bias gradient as
 * column sums by gemv. */
#include "cuda/cuda_impl.h"
#include "layer_types.h"

static void dense_cuda_forward(dn_layer *l, const float *x, int n, int training, dn_rng *rng)
{
    (void)training;
    (void)rng;
    dense_layer *d = (dense_layer *)l;
    dn_cuda_state *st = dn_cuda();
    const int in = l->in_shape[l->in_ndim - 1];
    const long rows = (long)n * (l->in_size / in);
    const float one = 1.0f, zero = 0.0f;
    /* y^T (units x rows) = W^T (units x in) x^T (in x rows), all column-major views */
    if (!dn_cublas_ok(dn_cublas.sgemm(st->blas, CUBLAS_OP_N, CUBLAS_OP_N, d->units, (int)rows, in,
                                  &one, l->params[0].dev_data, d->units, x, in, &zero,
                                  l->out.data, d->units), "Dense's product"))
        return;
    dn_cuda_bias_act((int)l->act, l->out.data, d->use_bias ? l->params[1].dev_data : NULL, rows,
                     d->units);
}

static void dense_cuda_backward(dn_layer *l, const float *x, int n, float *dx)
{
    dense_layer *d = (dense_layer *)l;
    dn_cuda_state *st = dn_cuda();
    const int in = l->in_shape[l->in_ndim - 1];
    const long rows = (long)n * (l->in_size / in);
    const float *dz = l->delta.data;
    const float one = 1.0f, zero = 0.0f;
    if (l->trainable) {
        /* dW^T (units x in) = dz^T (units x rows) x (rows x in) */
        dn_cublas_ok(dn_cublas.sgemm(st->blas, CUBLAS_OP_N, CUBLAS_OP_T, d->units, in, (int)rows,
                                 &one, dz, d->units, x, in, &zero, l->params[0].dev_grad,
                                 d->units), "Dense's kernel gradient");
        if (d->use_bias)
            dn_cuda_colsum(dz, rows, d->units, l->params[1].dev_grad);
    }
    /* dx^T (in x rows) = W (in x units) dz^T (units x rows) */
    if (dx)
        dn_cublas_ok(dn_cublas.sgemm(st->blas, CUBLAS_OP_T, CUBLAS_OP_N, in, (int)rows, d->units,
                                 &one, l->params[0].dev_data, d->units, dz, d->units, &zero, dx,
                                 in), "Dense's input gradient");
}

const dn_layer_kernels dn_dense_cuda = {
    .forward = dense_cuda_forward,
    .backward = dense_cuda_backward,
};
