// kernels.cu — the CUDA backend's own kernels, where no cuBLAS or cuDNN call fits:
// bias with activation, activation gradients, padding, kernel layouts, dropout's mask,
// losses, optimisers, BatchNormalization with fixed statistics. No float atomics; every
// sum runs in a fixed order, so a re-run gives the same bits. Built with --fmad=false
// (runtime/meson.build): a*b+c stays two roundings, as the CPU computes it, so the
// optimisers give the CPU's bits from the CPU's gradients.
#include "cuda/cuda_impl.h"

#include <math.h>

namespace {

const int kThreads = 256;

unsigned blocks_for(long n)
{
    long b = (n + kThreads - 1) / kThreads;
    return (unsigned)(b < 1 ? 1 : (b > 65535L * 16 ? 65535L * 16 : b));
}

// the runtime's activation numbers (core/activation.h)
enum { LINEAR = 0, RELU, SIGMOID, TANH, SOFTMAX };
// losses and accuracies (core/loss.h)
enum { MSE = 0, BINARY_CE, CATEGORICAL_CE };
enum { ACC_NONE = 0, ACC_BINARY, ACC_CATEGORICAL };

__global__ void bias_act(float *y, const float *bias, long rows, long dim, int act)
{
    long n = rows * dim;
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n;
         i += (long)gridDim.x * blockDim.x) {
        float v = y[i];
        if (bias)
            v += bias[i % dim];
        if (act == RELU)
            v = v > 0.0f ? v : 0.0f;
        else if (act == SIGMOID)
            v = 1.0f / (1.0f + expf(-v));
        else if (act == TANH)
            v = tanhf(v);
        y[i] = v;
    }
}

__global__ void act_backward(int act, const float *y, float *dy, long n)
{
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n;
         i += (long)gridDim.x * blockDim.x) {
        if (act == RELU)
            dy[i] = y[i] > 0.0f ? dy[i] : 0.0f;
        else if (act == SIGMOID)
            dy[i] *= y[i] * (1.0f - y[i]);
        else if (act == TANH)
            dy[i] *= 1.0f - y[i] * y[i];
    }
}

__global__ void pad(const float *x, float *xp, int n, int H, int W, int C, int pt, int pb,
                    int pl, int pr, float value)
{
    const int Hp = H + pt + pb, Wp = W + pl + pr;
    const long total = (long)n * Hp * Wp * C;
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < total;
         i += (long)gridDim.x * blockDim.x) {
        int c = (int)(i % C);
        long r = i / C;
        int w = (int)(r % Wp) - pl;
        r /= Wp;
        int h = (int)(r % Hp) - pt;
        long b = r / Hp;
        xp[i] = h >= 0 && h < H && w >= 0 && w < W ? x[((b * H + h) * W + w) * C + c] : value;
    }
}

__global__ void crop(const float *xp, float *x, int n, int H, int W, int C, int pt, int pb,
                     int pl, int pr)
{
    const int Hp = H + pt + pb, Wp = W + pl + pr;
    const long total = (long)n * H * W * C;
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < total;
         i += (long)gridDim.x * blockDim.x) {
        int c = (int)(i % C);
        long r = i / C;
        int w = (int)(r % W);
        r /= W;
        int h = (int)(r % H);
        long b = r / H;
        x[i] = xp[((b * Hp + h + pt) * Wp + w + pl) * C + c];
    }
}

// to_ohwi: HWIO (kh, kw, c, f) -> OHWI (f, kh, kw, c); else the way back
__global__ void relayout(const float *src, float *dst, int KH, int KW, int C, int F, int to_ohwi)
{
    const long total = (long)KH * KW * C * F;
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < total;
         i += (long)gridDim.x * blockDim.x) {
        // i indexes HWIO
        int f = (int)(i % F);
        long r = i / F;
        int c = (int)(r % C);
        long khw = r / C;   // kh * KW + kw
        long o = ((long)f * KH * KW + khw) * C + c;
        if (to_ohwi)
            dst[o] = src[i];
        else
            dst[i] = src[o];
    }
}

__global__ void mul(float *y, const float *x, const float *m, long n)
{
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n;
         i += (long)gridDim.x * blockDim.x)
        y[i] = x[i] * m[i];
}

__device__ float clipp(float p)
{
    const float lo = 1e-7f, hi = 1.0f - 1e-7f;   // DN_LOSS_EPSILON
    return p < lo ? lo : (p > hi ? hi : p);
}

// one thread per row, the row's elements in order, as dn_loss_eval and dn_accuracy_sum
__global__ void loss_rows(int loss, int acc, int fused, const float *p, const float *y, long n,
                          long dim, float *grad, double *rows)
{
    const long total = n * dim;
    for (long r = blockIdx.x * (long)blockDim.x + threadIdx.x; r < n;
         r += (long)gridDim.x * blockDim.x) {
        double sum = 0.0;
        const float *pr = p + r * dim, *yr = y + r * dim;
        float *g = grad ? grad + r * dim : NULL;
        for (long j = 0; j < dim; j++) {
            float pj = pr[j], yj = yr[j];
            if (loss == MSE) {
                float d = pj - yj;
                sum += (double)d * d;
                if (g)
                    g[j] = (2.0f / (float)total) * d;
            } else if (loss == BINARY_CE) {
                const float s = 1.0f / (float)total;
                float q = clipp(pj);
                // 1 - q in float, then the double log: loss.c's operations
                sum -= yj * log((double)q) + (1.0f - yj) * log((double)(1.0f - q));
                if (g)
                    g[j] = fused ? s * (pj - yj)
                                 : (q != pj ? 0.0f : s * (pj - yj) / (pj * (1.0f - pj)));
            } else {
                const float s = 1.0f / (float)n;
                float q = clipp(pj);
                if (yj != 0.0f)
                    sum -= yj * log((double)q);
                if (g)
                    g[j] = fused ? s * (pj - yj) : (q != pj ? 0.0f : -s * yj / pj);
            }
        }
        double a = 0.0;
        if (acc == ACC_BINARY) {
            long hit = 0;
            for (long j = 0; j < dim; j++)
                hit += (pr[j] > 0.5f) == (yr[j] > 0.5f);
            a = (double)hit / (double)dim;
        } else if (acc == ACC_CATEGORICAL) {
            long ap = 0, ay = 0;
            for (long j = 1; j < dim; j++) {
                if (pr[j] > pr[ap])
                    ap = j;
                if (yr[j] > yr[ay])
                    ay = j;
            }
            a = ap == ay;
        }
        rows[r] = sum;
        rows[n + r] = a;
    }
}

__global__ void sgd(float *w, const float *g, float *v, long n, float lr, float m, int nesterov)
{
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n;
         i += (long)gridDim.x * blockDim.x) {
        if (!v) {
            w[i] -= lr * g[i];
        } else {
            v[i] = m * v[i] - lr * g[i];
            w[i] += nesterov ? m * v[i] - lr * g[i] : v[i];
        }
    }
}

__global__ void rmsprop(float *w, const float *g, float *a, long n, float lr, float rho, float eps)
{
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n;
         i += (long)gridDim.x * blockDim.x) {
        a[i] = rho * a[i] + (1.0f - rho) * g[i] * g[i];
        w[i] -= lr * g[i] / (sqrtf(a[i]) + eps);
    }
}

__global__ void adam(float *w, const float *g, float *m, float *v, long n, float lr_t, float b1,
                     float b2, float eps)
{
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n;
         i += (long)gridDim.x * blockDim.x) {
        m[i] = b1 * m[i] + (1.0f - b1) * g[i];
        v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
        w[i] -= lr_t * m[i] / (sqrtf(v[i]) + eps);
    }
}

// pass 1: block (c-group, part) sums rows part, part + PARTS, ... for its channels
__global__ void bn_partial(const float *x, const float *dy, const float *mean,
                           const float *invstd, long rows, int C, float *part)
{
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    int k = blockIdx.y;
    if (c >= C)
        return;
    float sdy = 0.0f, sdyx = 0.0f;
    for (long r = k; r < rows; r += DN_K_PARTS) {
        float g = dy[r * C + c];
        sdy += g;
        sdyx += g * (x[r * C + c] - mean[c]) * invstd[c];
    }
    part[(long)k * C + c] = sdy;
    part[(long)(DN_K_PARTS + k) * C + c] = sdyx;
}

// pass 2: the parts in order
__global__ void bn_total(const float *part, int C, float *dgamma, float *dbeta)
{
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C)
        return;
    float sdy = 0.0f, sdyx = 0.0f;
    for (int k = 0; k < DN_K_PARTS; k++) {
        sdy += part[(long)k * C + c];
        sdyx += part[(long)(DN_K_PARTS + k) * C + c];
    }
    if (dgamma)
        dgamma[c] = sdyx;
    if (dbeta)
        dbeta[c] = sdy;
}

__global__ void bn_frozen_dx(const float *dy, const float *gamma, const float *invstd,
                             long rows, int C, float *dx)
{
    const long n = rows * C;
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n;
         i += (long)gridDim.x * blockDim.x) {
        int c = (int)(i % C);
        dx[i] = dy[i] * gamma[c] * invstd[c];
    }
}

__global__ void invstd_k(const float *var, float eps, int C, float *invstd)
{
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c < C)
        invstd[c] = 1.0f / sqrtf(var[c] + eps);
}

}  // namespace

extern "C" {

void dn_k_bias_act(float *y, const float *bias, long rows, long dim, int act, cudaStream_t s)
{
    bias_act<<<blocks_for(rows * dim), kThreads, 0, s>>>(y, bias, rows, dim, act);
}

void dn_k_act_backward(int act, const float *y, float *dy, long n, cudaStream_t s)
{
    act_backward<<<blocks_for(n), kThreads, 0, s>>>(act, y, dy, n);
}

void dn_k_pad(const float *x, float *xp, int n, int H, int W, int C, int pt, int pb, int pl,
              int pr, float value, cudaStream_t s)
{
    long total = (long)n * (H + pt + pb) * (W + pl + pr) * C;
    pad<<<blocks_for(total), kThreads, 0, s>>>(x, xp, n, H, W, C, pt, pb, pl, pr, value);
}

void dn_k_crop(const float *xp, float *x, int n, int H, int W, int C, int pt, int pb, int pl,
               int pr, cudaStream_t s)
{
    crop<<<blocks_for((long)n * H * W * C), kThreads, 0, s>>>(xp, x, n, H, W, C, pt, pb, pl, pr);
}

void dn_k_hwio_to_ohwi(const float *w, float *o, int KH, int KW, int C, int F, cudaStream_t s)
{
    relayout<<<blocks_for((long)KH * KW * C * F), kThreads, 0, s>>>(w, o, KH, KW, C, F, 1);
}

void dn_k_ohwi_to_hwio(const float *o, float *w, int KH, int KW, int C, int F, cudaStream_t s)
{
    relayout<<<blocks_for((long)KH * KW * C * F), kThreads, 0, s>>>(o, w, KH, KW, C, F, 0);
}

void dn_k_mul(float *y, const float *x, const float *m, long n, cudaStream_t s)
{
    mul<<<blocks_for(n), kThreads, 0, s>>>(y, x, m, n);
}

void dn_k_loss(int loss, int acc, int fused, const float *p, const float *y, long n, long dim,
               float *grad, double *rows, cudaStream_t s)
{
    loss_rows<<<blocks_for(n), kThreads, 0, s>>>(loss, acc, fused, p, y, n, dim, grad, rows);
}

void dn_k_sgd(float *w, const float *g, float *v, long n, float lr, float m, int nesterov,
              cudaStream_t s)
{
    sgd<<<blocks_for(n), kThreads, 0, s>>>(w, g, v, n, lr, m, nesterov);
}

void dn_k_rmsprop(float *w, const float *g, float *a, long n, float lr, float rho, float eps,
                  cudaStream_t s)
{
    rmsprop<<<blocks_for(n), kThreads, 0, s>>>(w, g, a, n, lr, rho, eps);
}

void dn_k_adam(float *w, const float *g, float *m, float *v, long n, float lr_t, float b1,
               float b2, float eps, cudaStream_t s)
{
    adam<<<blocks_for(n), kThreads, 0, s>>>(w, g, m, v, n, lr_t, b1, b2, eps);
}

void dn_k_bn_sums(const float *x, const float *dy, const float *mean, const float *invstd,
                  long rows, int C, float *part, float *dgamma, float *dbeta, cudaStream_t s)
{
    dim3 grid((unsigned)((C + 63) / 64), DN_K_PARTS);
    bn_partial<<<grid, 64, 0, s>>>(x, dy, mean, invstd, rows, C, part);
    bn_total<<<(unsigned)((C + 63) / 64), 64, 0, s>>>(part, C, dgamma, dbeta);
}

void dn_k_bn_frozen_dx(const float *dy, const float *gamma, const float *invstd, long rows,
                       int C, float *dx, cudaStream_t s)
{
    bn_frozen_dx<<<blocks_for(rows * C), kThreads, 0, s>>>(dy, gamma, invstd, rows, C, dx);
}

void dn_k_invstd(const float *var, float eps, int C, float *invstd, cudaStream_t s)
{
    invstd_k<<<(unsigned)((C + 255) / 256), 256, 0, s>>>(var, eps, C, invstd);
}

}  // extern "C"
