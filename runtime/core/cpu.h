/* cpu.h — the CPU backend's shared pieces: one team of threads (one per online core,
 * OpenMP), matrix products on OpenBLAS split across that team, and the NHWC
 * im2col/col2im that turn convolutions into one sgemm per chunk of output pixels.
 * OpenBLAS itself runs single-threaded inside the team's threads: one pool of threads
 * instead of two spinning against each other, and the work between products (im2col,
 * bias, activations, pooling) runs in parallel too. */
#ifndef DN_CPU_H
#define DN_CPU_H

#include "activation.h"
#include "layer_impl.h"

#include <cblas.h>

/* Counts the online cores (sysconf) once, or fewer when OMP_NUM_THREADS asks; later
 * calls do nothing. */
void dn_cpu_init(void);
int dn_cpu_threads(void);

/* Where the CPU backend computes, for a person: threads, the BLAS library with its
 * version and the kernel it chose for this processor, and the vector units the
 * processor offers (e.g. "2 threads (OpenMP); OpenBLAS 0.3.21 (Haswell kernels,
 * single-threaded inside the team); CPU: AVX-512, AVX2, FMA"). */
void dn_cpu_describe(char *buf, size_t len);

/* OpenBLAS picks its kernels when it loads, from a list of processors it knows; Debian's
 * 0.3.21 does not know some new ones and falls back to Prescott's (SSE3), 5x slower
 * than the AVX-512 kernels on the same machine. Returns 1 when it picked generic kernels
 * (SSE or AVX) on a processor with AVX2 and FMA or AVX-512, with the OpenBLAS core to ask for
 * (OPENBLAS_CORETYPE: "SkylakeX" for AVX-512, "Haswell" for AVX2 and FMA) in core and
 * the one it picked in *picked; 0 when its choice is right or unknown to this table
 * (nothing to change), or when OPENBLAS_CORETYPE is set already. The choice can only be
 * changed before OpenBLAS loads: a program re-executes itself with the variable set
 * (kernel/main.c). */
int dn_blas_better_core(char *core, size_t len, const char **picked);

/* Runs fn(ctx, i, thread) for i = 0..count-1 on the team, handing items out one at a
 * time, so a thread slowed by another process takes fewer (the machine may be shared).
 * thread (0..dn_cpu_threads()-1) selects per-thread workspace. fn may call cblas
 * directly: OpenBLAS is single-threaded. */
void dn_parallel_for(long count, void (*fn)(void *ctx, long i, int thread), void *ctx);

/* Row-major C = alpha op(A) op(B) + beta C, split across the team by rows or columns of C
 * when the product is large enough to be worth it. */
void dn_sgemm(enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, int M, int N, int K,
              float alpha, const float *A, int lda, const float *B, int ldb, float beta,
              float *C, int ldc);

/* A left operand read in place: element (r, k) at p + row offset + column offset, each a
 * stride (rs, ks) or, where the table is not NULL, an entry of it (rt[r], kt[k]). Strides
 * give a matrix or its transpose; a table gives a convolution's patches without im2col. */
typedef struct dn_operand {
    const float *p;
    long rs, ks;
    const long *rt, *kt;
} dn_operand;

/* Row-major packed C (M x N) = A B, or += when add, B (K x N) packed: register-blocked
 * AVX2/FMA for the small products of convolutions, which sgemm's packing of both operands
 * and its separate pass zeroing C make slow. Returns 0 without touching C where it cannot
 * (no AVX2 and FMA, or N not a multiple of 8): the caller then uses cblas. */
int dn_small_sgemm(int M, int N, int K, const dn_operand *A, const float *B, float *Cm, int add);
/* whether dn_small_sgemm runs for products N columns wide */
int dn_small_sgemm_fits(int N);

/* Rows p0..p1 of the (n*OH*OW, KH*KW*C) patch matrix, in (kh, kw, c) order so that an
 * HWIO kernel is its (KH*KW*C, O) right-hand side. Padding reads as 0. */
void dn_im2col_nhwc(const float *x, const dn_conv_geom *g, long p0, long p1, float *cols);
/* Adds the patch-matrix rows p0..p1 back into dx (the transpose of dn_im2col_nhwc). */
void dn_col2im_nhwc(const float *cols, const dn_conv_geom *g, long p0, long p1, float *dx);

/* 3x3 stride-1 convolutions by Winograd's F(2x2, 3x3) (winograd.c). */
int dn_winograd_fits(const dn_conv_geom *g);
/* floats of per-thread workspace dn_winograd3x3 needs for geometry g and F outputs */
long dn_winograd_workspace(const dn_conv_geom *g, int F);
/* U (16 * C * F floats) from an HWIO (3, 3, C, F) kernel; recompute when it changes */
void dn_winograd_kernel(const float *w, int C, int F, float *U);
/* y = act(x conv w + bias) for images b0..b1 (NHWC, whole images at x and y), with U
 * from dn_winograd_kernel; bias may be NULL; ws holds dn_winograd_workspace floats. */
void dn_winograd3x3(const float *x, const dn_conv_geom *g, const float *U, int F,
                    const float *bias, dn_activation act, long b0, long b1, float *ws,
                    float *y);
/* The kernel gradient in Winograd's domain: dU (16 * C * F floats) += its share from images
 * b0..b1 of input x and output gradient dy (dL/dz, NHWC). ws as for dn_winograd3x3. */
void dn_winograd3x3_grad(const float *x, const dn_conv_geom *g, const float *dy, int F,
                         long b0, long b1, float *ws, float *dU);
/* dw (HWIO, 9 * C * F floats) = the kernel gradient that dU stands for */
void dn_winograd_kernel_grad(const float *dU, int C, int F, float *dw);

#endif
