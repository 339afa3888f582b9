/* cuda_impl.h — what the CUDA backend (backend_cuda.c) shares with the layers' CUDA twins
 * (core/<layer>_cuda.c) and its own kernels (kernels.cu). Built only with CUDA; C and C++
 * both read it. Not part of the public interface.
 *
 * One device (0), one stream, one cuBLAS and one cuDNN handle, all made at the first
 * dn_backend_cuda(). Every call that can fail goes through dn_cuda_ok / dn_cublas_ok /
 * dn_cudnn_ok, which keep the first failure as a sentence; the backend's sync returns it. */
#ifndef DN_CUDA_IMPL_H
#define DN_CUDA_IMPL_H

#include <stddef.h>

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dn_cuda_state {
    cudaStream_t stream;
    cublasHandle_t blas;
    cudnnHandle_t dnn;
    int fast;            /* 0: deterministic algorithms only; 1: the measured fastest */
    int tf32;            /* TensorFloat-32 products (Keras' and PyTorch's convolution default) */
    unsigned mode_gen;   /* bumped when fast or tf32 change: layers choose algorithms again */
    void *ws;            /* workspace shared by every layer (one stream: never two at once) */
    size_t ws_bytes;
    float *ones;         /* a vector of ones (column sums by gemv) */
    long nones;
} dn_cuda_state;

/* cuBLAS, loaded with dlopen at the backend's first use: linked, its 600 MB of libraries
 * (cuBLAS and cuBLASLt) would be mapped and relocated at every kernel start, GPU or not
 * (0.25 s and 220 MB measured). The handful of calls the backend makes: */
typedef struct dn_cublas_api {
    cublasStatus_t (*create)(cublasHandle_t *h);
    cublasStatus_t (*set_stream)(cublasHandle_t h, cudaStream_t s);
    cublasStatus_t (*set_workspace)(cublasHandle_t h, void *ws, size_t bytes);
    cublasStatus_t (*set_math_mode)(cublasHandle_t h, cublasMath_t mode);
    cublasStatus_t (*sgemm)(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m,
                            int n, int k, const float *alpha, const float *A, int lda,
                            const float *B, int ldb, const float *beta, float *C, int ldc);
    cublasStatus_t (*sgemv)(cublasHandle_t h, cublasOperation_t t, int m, int n,
                            const float *alpha, const float *A, int lda, const float *x,
                            int incx, const float *beta, float *y, int incy);
    const char *(*status_string)(cublasStatus_t s);
    const char *(*status_name)(cublasStatus_t s);
} dn_cublas_api;
extern dn_cublas_api dn_cublas;

/* the state, valid once dn_backend_cuda() has succeeded */
dn_cuda_state *dn_cuda(void);

/* 1 when the call succeeded; else 0, the failure kept (what: the operation, for a person) */
int dn_cuda_ok(cudaError_t e, const char *what);
int dn_cublas_ok(cublasStatus_t s, const char *what);
int dn_cudnn_ok(cudnnStatus_t s, const char *what);
/* keeps a failure of ours (a sentence) as the backend's first error */
void dn_cuda_fail(const char *fmt, ...);

/* device memory that says how much was asked and what is free when it fails */
int dn_cuda_malloc(void **out, size_t bytes, char *err, size_t errlen);
/* frees device memory once the stream's queued work is done (NULL: nothing) */
void dn_cuda_free(void *p);
/* the shared workspace grown to bytes, or NULL (failure kept) */
void *dn_cuda_workspace(size_t bytes);
/* the workspace size layers may ask cuDNN algorithms for */
size_t dn_cuda_workspace_budget(void);
/* at least n ones, or NULL (failure kept) */
const float *dn_cuda_ones(long n);
/* a device buffer of the layer's own, grown to bytes (*p, *cap updated), or 0 */
int dn_cuda_grow(void **p, size_t *cap, size_t bytes);

/* y = act(y + bias) over rows of dim (bias may be NULL); softmax by cuDNN */
void dn_cuda_bias_act(int act, float *y, const float *bias, long rows, long dim);
/* dy = dL/dz from dL/dy given y = act(z); softmax by cuDNN */
void dn_cuda_act_backward(int act, const float *y, float *dy, long rows, long dim);
/* db[dim] = column sums of dz (rows x dim), fixed order (cuBLAS gemv with ones) */
void dn_cuda_colsum(const float *dz, long rows, long dim, float *db);

/* ---- kernels.cu: plain kernels, launched on the stream; no float atomics, sums in a
 * fixed order. Their launch errors are caught by the next dn_cuda_ok / sync. */
void dn_k_bias_act(float *y, const float *bias, long rows, long dim, int act, cudaStream_t s);
void dn_k_act_backward(int act, const float *y, float *dy, long n, cudaStream_t s);
/* NHWC images (n, H, W, C) into (n, H+pt+pb, W+pl+pr, C) with the border set to value */
void dn_k_pad(const float *x, float *xp, int n, int H, int W, int C, int pt, int pb, int pl,
              int pr, float value, cudaStream_t s);
/* the inverse: the interior of xp into x */
void dn_k_crop(const float *xp, float *x, int n, int H, int W, int C, int pt, int pb, int pl,
               int pr, cudaStream_t s);
/* a Keras HWIO kernel (KH, KW, C, F) as cuDNN's OHWI (F, KH, KW, C), and back */
void dn_k_hwio_to_ohwi(const float *w, float *o, int KH, int KW, int C, int F, cudaStream_t s);
void dn_k_ohwi_to_hwio(const float *o, float *w, int KH, int KW, int C, int F, cudaStream_t s);
/* y[i] = x[i] * m[i] */
void dn_k_mul(float *y, const float *x, const float *m, long n, cudaStream_t s);
/* per row: loss (double) and accuracy into rows[r] and rows[n + r]; grad as dn_loss_eval */
void dn_k_loss(int loss, int acc, int fused, const float *p, const float *y, long n, long dim,
               float *grad, double *rows, cudaStream_t s);
/* dn_optimizer_apply's rules, element by element, the same float operations */
void dn_k_sgd(float *w, const float *g, float *v, long n, float lr, float m, int nesterov,
              cudaStream_t s);
void dn_k_rmsprop(float *w, const float *g, float *a, long n, float lr, float rho, float eps,
                  cudaStream_t s);
void dn_k_adam(float *w, const float *g, float *m, float *v, long n, float lr_t, float b1,
               float b2, float eps, cudaStream_t s);
/* BatchNormalization with fixed statistics: per channel sums of dy and dy * xhat over
 * rows (two passes, fixed order; part holds 2 * C * DN_K_PARTS floats), then dx */
#define DN_K_PARTS 64
void dn_k_bn_sums(const float *x, const float *dy, const float *mean, const float *invstd,
                  long rows, int C, float *part, float *dgamma, float *dbeta, cudaStream_t s);
void dn_k_bn_frozen_dx(const float *dy, const float *gamma, const float *invstd, long rows,
                       int C, float *dx, cudaStream_t s);
/* invstd[c] = 1 / sqrtf(var[c] + eps) */
void dn_k_invstd(const float *var, float eps, int C, float *invstd, cudaStream_t s);

#ifdef __cplusplus
}
#endif

#endif
