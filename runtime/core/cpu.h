/* cpu.h — the CPU backend's shared pieces: one team of threads (one per core the process
 * may use, team.c), matrix products on OpenBLAS split across that team, and the NHWC
 * im2col/col2im that turn convolutions into one sgemm per chunk of output pixels.
 * OpenBLAS itself runs single-threaded inside the team's threads: one pool of threads
 * instead of two spinning against each other, and the work between products (im2col,
 * bias, activations, pooling) runs in parallel too. */
#ifndef DN_CPU_H
#define DN_CPU_H

#include "activation.h"
#include "layer_impl.h"

#include <cblas.h>

/* Counts the cores this process may use once: online ones, fewer by its affinity mask
 * (taskset) or cgroup CPU quota (containers), fewer when DEEPNB_THREADS or
 * OMP_NUM_THREADS asks; later calls do nothing. */
void dn_cpu_init(void);
/* The path of file (e.g. "cpu.max") in this process's cgroup v2 folder. 0, or -1 when the
 * process is in no cgroup v2 hierarchy. */
int dn_cgroup_path(const char *file, char *path, size_t len);
int dn_cpu_threads(void);

/* Where the CPU backend computes, for a person: threads, the BLAS library with its
 * version and the kernel it chose for this processor, and the vector units the
 * processor offers (e.g. "2 threads (the cores this process may use); OpenBLAS 0.3.21 (Haswell kernels,
 * single-threaded inside the team); CPU: AVX-512, AVX2, FMA"). */
void dn_cpu_describe(char *buf, size_t len);

/* OpenBLAS, loaded at the first product (blas.c): a first cell that computes nothing
 * does not pay for it, and its kernels can be chosen before it loads. The runtime's calls
 * below go through dn_blas_sgemm whatever they are written as. */
void dn_blas_sgemm(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb,
                   int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                   int ldb, float beta, float *C, int ldc);
void dn_blas_set_num_threads(int n);
#define cblas_sgemm dn_blas_sgemm
#define openblas_set_num_threads dn_blas_set_num_threads
/* The kernels OpenBLAS computes with ("SkylakeX"), its configuration line ("OpenBLAS
 * 0.3.21 DYNAMIC_ARCH ..."), or NULL without it; these load it. */
const char *dn_blas_corename(void);
const char *dn_blas_config(void);
/* "" or the kernels OpenBLAS took by itself before deepnb asked for better ones */
const char *dn_blas_replaced(void);
/* NULL, or why OpenBLAS could not be loaded (products then come from a slow loop) */
const char *dn_blas_missing(void);
/* whether OpenBLAS has been loaded yet (it is at the first product or question) */
int dn_blas_loaded(void);
/* The processor's widest vector unit that OpenBLAS kernels use: 1 SSE, 2 AVX, 3 AVX2 and
 * FMA, 4 AVX-512 (F, BW, VL, DQ); 0 when not x86. */
int dn_cpu_vector_level(void);
/* OpenBLAS picked kernels `have` on a processor of cpu_level: 1 with the core to ask for
 * (OPENBLAS_CORETYPE: "SkylakeX" for AVX-512, "Haswell" for AVX2 and FMA) when it took
 * generic ones (SSE or AVX) on a processor with AVX2 or better; 0 when its choice is
 * right or a core this table does not know (nothing to change). */
int dn_blas_choose(const char *have, int cpu_level, char *core, size_t len);

/* Runs fn(ctx, i, thread) for i = 0..count-1 on the team (team.c), the caller's thread
 * included, handing items out one at a time, so a thread slowed by another process takes
 * fewer, and returning as soon as every item is done: a thread the scheduler has not run
 * yet is not waited for (the machine may be shared). thread (0..dn_cpu_threads()-1)
 * selects per-thread workspace; no two running items share one. fn may call cblas
 * directly (OpenBLAS is single-threaded); a dn_parallel_for inside fn, or from a second
 * thread while the team is busy, runs serially. */
void dn_parallel_for(long count, void (*fn)(void *ctx, long i, int thread), void *ctx);
/* Tests: hook (or NULL) is called by a worker thread each time it wakes for a job, with
 * its thread number, before it takes items; a hook that blocks plays a descheduled
 * thread. */
void dn_team_set_wake_hook(void (*hook)(int thread));

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

/* 3x3 stride-1 convolutions by Winograd's F(m x m, 3x3), m = 2 or 4 (winograd.c). */
int dn_winograd_fits(const dn_conv_geom *g);
/* the tile size m for geometry g and F outputs: the one measured faster */
int dn_winograd_tile(const dn_conv_geom *g, int F);
/* (m + 2)^2: the transformed kernel's and each tile's elements */
int dn_winograd_elems(int m);
/* floats of per-thread workspace dn_winograd3x3 needs for geometry g, F outputs, tile m */
long dn_winograd_workspace(const dn_conv_geom *g, int F, int m);
/* U (elems(m) * C * F floats) from an HWIO (3, 3, C, F) kernel; recompute when it changes */
void dn_winograd_kernel(const float *w, int C, int F, int m, float *U);
/* y = act(x conv w + bias) for images b0..b1 (NHWC, whole images at x and y), with U
 * from dn_winograd_kernel for the same m; bias may be NULL; ws holds
 * dn_winograd_workspace floats. */
void dn_winograd3x3(const float *x, const dn_conv_geom *g, int m, const float *U, int F,
                    const float *bias, dn_activation act, long b0, long b1, float *ws,
                    float *y);
/* The kernel gradient in Winograd's domain: dU (elems(m) * C * F floats) += its share from
 * images b0..b1 of input x and output gradient dy (dL/dz, NHWC). ws as for dn_winograd3x3. */
void dn_winograd3x3_grad(const float *x, const dn_conv_geom *g, int m, const float *dy, int F,
                         long b0, long b1, float *ws, float *dU);
/* dw (HWIO, 9 * C * F floats) = the kernel gradient that dU (for tile m) stands for */
void dn_winograd_kernel_grad(const float *dU, int C, int F, int m, float *dw);

#endif
