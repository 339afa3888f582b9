#include "cpu.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define DN_AVX2 1
#endif

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int nthreads = 1;
#ifdef DN_AVX2
static int avx2_fma;    /* dn_small_sgemm's kernel can run */
static int avx512;      /* and its AVX-512 one (DEEPNB_NO_AVX512 set: not used) */
#endif

int dn_cgroup_path(const char *file, char *path, size_t len)
{
    FILE *f = fopen("/proc/self/cgroup", "r");
    if (!f)
        return -1;
    char line[1024];
    int rc = -1;
    while (rc && fgets(line, sizeof line, f))
        if (!strncmp(line, "0::", 3)) {
            line[strcspn(line, "\n")] = 0;
            int k = snprintf(path, len, "/sys/fs/cgroup%s/%s", line + 3, file);
            rc = k > 0 && (size_t)k < len ? 0 : -1;
        }
    fclose(f);
    return rc;
}

/* cgroup v2's CPU quota of this process (cpu.max "quota period"), rounded up to whole
 * CPUs, or 0 when there is none */
static int cgroup_cpus(void)
{
    char path[1200];
    if (dn_cgroup_path("cpu.max", path, sizeof path))
        return 0;
    FILE *c = fopen(path, "r");
    long long quota, period;
    int cpus = 0;
    if (c && fscanf(c, "%lld %lld", &quota, &period) == 2 && quota > 0 && period > 0)
        cpus = (int)((quota + period - 1) / period);
    if (c)
        fclose(c);
    return cpus;
}

/* The cores this process may use: the online ones, fewer when its affinity mask or its
 * cgroup's quota says so (a container or taskset), fewer still when OMP_NUM_THREADS or
 * DEEPNB_THREADS asks. */
static int usable_cores(void)
{
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    int n = online > 0 ? (int)online : 1;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0 && CPU_COUNT(&set) < n)
        n = CPU_COUNT(&set);
    int quota = cgroup_cpus();
    if (quota > 0 && quota < n)
        n = quota;
    const char *asks[] = {getenv("DEEPNB_THREADS"), getenv("OMP_NUM_THREADS")};
    for (int i = 0; i < 2; i++)
        if (asks[i] && atoi(asks[i]) > 0 && atoi(asks[i]) < n)
            n = atoi(asks[i]);
    return n;
}

static void init_once(void)
{
    nthreads = usable_cores();
#ifdef DN_AVX2
    avx2_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    avx512 = avx2_fma && __builtin_cpu_supports("avx512f") && !getenv("DEEPNB_NO_AVX512");
#endif
}

void dn_cpu_init(void)
{
    pthread_once(&once, init_once);
}

int dn_cpu_threads(void)
{
    dn_cpu_init();
    return nthreads;
}

void dn_cpu_describe(char *buf, size_t len)
{
    dn_cpu_init();
    char isa[64] = "";
#ifdef DN_AVX2
    __builtin_cpu_init();
    snprintf(isa, sizeof isa, "%s%s%s%s", __builtin_cpu_supports("avx512f") ? "AVX-512, " : "",
             __builtin_cpu_supports("avx2") ? "AVX2, " : "",
             __builtin_cpu_supports("fma") ? "FMA, " : "", __builtin_cpu_supports("avx") ? "AVX" : "SSE");
#endif
    /* the configuration line reads "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell ..." */
    const char *cfg = dn_blas_config(), *core = dn_blas_corename(), *was = dn_blas_replaced();
    char version[32] = "", why[160] = "";
    if (cfg && sscanf(cfg, "OpenBLAS %31s", version) != 1)
        version[0] = 0;
    if (was[0])
        snprintf(why, sizeof why, ", chosen by deepnb: OpenBLAS did not know this processor "
                 "and took %.40s's", was);
    if (dn_blas_missing())
        snprintf(buf, len, "%d thread%s (the cores this process may use); no OpenBLAS (%.120s): "
                 "products by a plain loop, slowly%s%s", nthreads, nthreads == 1 ? "" : "s",
                 dn_blas_missing(), isa[0] ? "; CPU: " : "", isa);
    else
        snprintf(buf, len, "%d thread%s (the cores this process may use); OpenBLAS %s (%s "
                 "kernels%s, single-threaded inside the team)%s%s", nthreads,
                 nthreads == 1 ? "" : "s", version[0] ? version : "(version unknown)",
                 core ? core : "unknown", why, isa[0] ? "; CPU: " : "", isa);
}

typedef struct gemm_job {
    enum CBLAS_TRANSPOSE ta, tb;
    int M, N, K, lda, ldb, ldc, by_rows;
    long pieces;
    float alpha, beta;
    const float *A, *B;
    float *C;
} gemm_job;

static void gemm_piece(void *ctx, long i, int thread)
{
    (void)thread;
    const gemm_job *j = ctx;
    if (j->by_rows) {
        int i0 = (int)(j->M * i / j->pieces), i1 = (int)(j->M * (i + 1) / j->pieces);
        const float *A = j->ta == CblasNoTrans ? j->A + (long)i0 * j->lda : j->A + i0;
        cblas_sgemm(CblasRowMajor, j->ta, j->tb, i1 - i0, j->N, j->K, j->alpha, A, j->lda,
                    j->B, j->ldb, j->beta, j->C + (long)i0 * j->ldc, j->ldc);
    } else {
        int c0 = (int)(j->N * i / j->pieces), c1 = (int)(j->N * (i + 1) / j->pieces);
        const float *B = j->tb == CblasNoTrans ? j->B + c0 : j->B + (long)c0 * j->ldb;
        cblas_sgemm(CblasRowMajor, j->ta, j->tb, j->M, c1 - c0, j->K, j->alpha, j->A, j->lda,
                    B, j->ldb, j->beta, j->C + c0, j->ldc);
    }
}

void dn_sgemm(enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, int M, int N, int K,
              float alpha, const float *A, int lda, const float *B, int ldb, float beta,
              float *C, int ldc)
{
    gemm_job j = {ta, tb, M, N, K, lda, ldb, ldc, M >= N, 1, alpha, beta, A, B, C};
    /* below ~1 MFLOP a second thread costs more than it saves; pieces of at least 16
     * rows or columns keep each product efficient */
    if ((double)M * N * K >= 5e5 && dn_cpu_threads() > 1) {
        long span = j.by_rows ? M : N;
        j.pieces = 4L * dn_cpu_threads();
        if (j.pieces > span / 16)
            j.pieces = span / 16 > 1 ? span / 16 : 1;
    }
    dn_parallel_for(j.pieces, gemm_piece, &j);
}

#ifdef DN_AVX2
/* Rows i0..i0+RB of C = A B, columns j0..j0+8*NV, all of K at once: RB x NV accumulators
 * (at most 6 x 2 of the 16 ymm registers), one B row and one broadcast A value per step */
static inline __attribute__((always_inline, target("avx2,fma"))) void
block(int RB, int NV, int K, const dn_operand *A, int i, const float *B, int N, float *Cm,
      int add)
{
    __m256 acc[6][2];
    const float *ar[6];
    for (int r = 0; r < RB; r++)
        ar[r] = A->p + (A->rt ? A->rt[i + r] : (i + r) * A->rs);
    for (int r = 0; r < RB; r++)
        for (int v = 0; v < NV; v++)
            acc[r][v] = add ? _mm256_loadu_ps(Cm + (long)r * N + 8 * v) : _mm256_setzero_ps();
    for (int k = 0; k < K; k++) {
        __m256 b[2];
        for (int v = 0; v < NV; v++)
            b[v] = _mm256_loadu_ps(B + (long)k * N + 8 * v);
        const long ko = A->kt ? A->kt[k] : k * A->ks;
        for (int r = 0; r < RB; r++) {
            __m256 a = _mm256_broadcast_ss(ar[r] + ko);
            for (int v = 0; v < NV; v++)
                acc[r][v] = _mm256_fmadd_ps(a, b[v], acc[r][v]);
        }
    }
    for (int r = 0; r < RB; r++)
        for (int v = 0; v < NV; v++)
            _mm256_storeu_ps(Cm + (long)r * N + 8 * v, acc[r][v]);
}

static inline __attribute__((always_inline, target("avx2,fma"))) void
row_block(int RB, int K, const dn_operand *A, int i, const float *B, int N, float *Cm, int add)
{
    int j = 0;
    for (; j + 16 <= N; j += 16)
        block(RB, 2, K, A, i, B + j, N, Cm + (long)i * N + j, add);
    if (j < N)
        block(RB, 1, K, A, i, B + j, N, Cm + (long)i * N + j, add);
}

static __attribute__((target("avx2,fma"))) void small_gemm(int M, int N, int K,
                                                           const dn_operand *A, const float *B,
                                                           float *Cm, int add)
{
    int i = 0;
    for (; i + 6 <= M; i += 6)
        row_block(6, K, A, i, B, N, Cm, add);
    switch (M - i) {
    case 5: row_block(5, K, A, i, B, N, Cm, add); break;
    case 4: row_block(4, K, A, i, B, N, Cm, add); break;
    case 3: row_block(3, K, A, i, B, N, Cm, add); break;
    case 2: row_block(2, K, A, i, B, N, Cm, add); break;
    case 1: row_block(1, K, A, i, B, N, Cm, add); break;
    default: break;
    }
}

/* The same products with AVX-512: 16 floats a register and 32 registers, so up to 6 x 4
 * accumulators. Each element is still one chain of fused multiply-adds over k in order,
 * so the bits are those of the AVX2 kernel (and row-invariant: dense.c). */
static inline __attribute__((always_inline, target("avx512f"))) void
block512(int RB, int NV, int K, const dn_operand *A, int i, const float *B, int N, float *Cm,
         int add)
{
    __m512 acc[6][4];
    const float *ar[6];
    for (int r = 0; r < RB; r++)
        ar[r] = A->p + (A->rt ? A->rt[i + r] : (i + r) * A->rs);
    for (int r = 0; r < RB; r++)
        for (int v = 0; v < NV; v++)
            acc[r][v] = add ? _mm512_loadu_ps(Cm + (long)r * N + 16 * v) : _mm512_setzero_ps();
    for (int k = 0; k < K; k++) {
        __m512 b[4];
        for (int v = 0; v < NV; v++)
            b[v] = _mm512_loadu_ps(B + (long)k * N + 16 * v);
        const long ko = A->kt ? A->kt[k] : k * A->ks;
        for (int r = 0; r < RB; r++) {
            __m512 a = _mm512_set1_ps(ar[r][ko]);
            for (int v = 0; v < NV; v++)
                acc[r][v] = _mm512_fmadd_ps(a, b[v], acc[r][v]);
        }
    }
    for (int r = 0; r < RB; r++)
        for (int v = 0; v < NV; v++)
            _mm512_storeu_ps(Cm + (long)r * N + 16 * v, acc[r][v]);
}

static inline __attribute__((always_inline, target("avx512f,avx2,fma"))) void
row_block512(int RB, int K, const dn_operand *A, int i, const float *B, int N, float *Cm,
             int add)
{
    int j = 0;
    for (; j + 64 <= N; j += 64)
        block512(RB, 4, K, A, i, B + j, N, Cm + (long)i * N + j, add);
    if (j + 32 <= N) {
        block512(RB, 2, K, A, i, B + j, N, Cm + (long)i * N + j, add);
        j += 32;
    }
    if (j + 16 <= N) {
        block512(RB, 1, K, A, i, B + j, N, Cm + (long)i * N + j, add);
        j += 16;
    }
    if (j < N)   /* the last 8 columns */
        block(RB, 1, K, A, i, B + j, N, Cm + (long)i * N + j, add);
}

static __attribute__((target("avx512f,avx2,fma"))) void small_gemm512(int M, int N, int K,
                                                                     const dn_operand *A,
                                                                     const float *B, float *Cm,
                                                                     int add)
{
    int i = 0;
    for (; i + 6 <= M; i += 6)
        row_block512(6, K, A, i, B, N, Cm, add);
    switch (M - i) {
    case 5: row_block512(5, K, A, i, B, N, Cm, add); break;
    case 4: row_block512(4, K, A, i, B, N, Cm, add); break;
    case 3: row_block512(3, K, A, i, B, N, Cm, add); break;
    case 2: row_block512(2, K, A, i, B, N, Cm, add); break;
    case 1: row_block512(1, K, A, i, B, N, Cm, add); break;
    default: break;
    }
}

#endif

int dn_small_sgemm_fits(int N)
{
#ifdef DN_AVX2
    dn_cpu_init();
    return N % 8 == 0 && avx2_fma;
#else
    (void)N;
    return 0;
#endif
}

int dn_small_sgemm(int M, int N, int K, const dn_operand *A, const float *B, float *Cm, int add)
{
#ifdef DN_AVX2
    dn_cpu_init();
    if (N % 8 == 0 && avx2_fma) {
        (avx512 ? small_gemm512 : small_gemm)(M, N, K, A, B, Cm, add);
        return 1;
    }
#else
    (void)M, (void)K, (void)A, (void)B, (void)Cm, (void)add;
#endif
    return 0;
}

void dn_im2col_nhwc(const float *x, const dn_conv_geom *g, long p0, long p1, float *cols)
{
    const long per_img = (long)g->OH * g->OW;
    const long K = (long)g->KH * g->KW * g->C;
    const size_t crow = (size_t)g->C * sizeof(float);
    for (long p = p0; p < p1; p++) {
        long n = p / per_img, r = p % per_img;
        int oh = (int)(r / g->OW), ow = (int)(r % g->OW);
        const float *img = x + n * (long)g->H * g->W * g->C;
        float *row = cols + (p - p0) * K;
        for (int kh = 0; kh < g->KH; kh++) {
            int ih = oh * g->SH - g->PT + kh;
            if (ih < 0 || ih >= g->H) {
                memset(row, 0, crow * (size_t)g->KW);
                row += (long)g->KW * g->C;
                continue;
            }
            int iw0 = ow * g->SW - g->PL;
            if (iw0 >= 0 && iw0 + g->KW <= g->W) {
                /* the whole kernel row is inside: one contiguous run of KW*C floats; short
                 * runs (few channels) copy faster inline than through memcpy */
                const float *src = img + ((long)ih * g->W + iw0) * g->C;
                const long run = (long)g->KW * g->C;
                if (run < 32)
                    for (long j = 0; j < run; j++)
                        row[j] = src[j];
                else
                    memcpy(row, src, (size_t)run * sizeof(float));
                row += run;
                continue;
            }
            for (int kw = 0; kw < g->KW; kw++, row += g->C) {
                int iw = iw0 + kw;
                if (iw < 0 || iw >= g->W)
                    memset(row, 0, crow);
                else
                    memcpy(row, img + ((long)ih * g->W + iw) * g->C, crow);
            }
        }
    }
}

void dn_col2im_nhwc(const float *cols, const dn_conv_geom *g, long p0, long p1, float *dx)
{
    const long per_img = (long)g->OH * g->OW;
    const long K = (long)g->KH * g->KW * g->C;
    const int C = g->C;
    for (long p = p0; p < p1; p++) {
        long n = p / per_img, r = p % per_img;
        int oh = (int)(r / g->OW), ow = (int)(r % g->OW);
        float *img = dx + n * (long)g->H * g->W * C;
        const float *row = cols + (p - p0) * K;
        for (int kh = 0; kh < g->KH; kh++) {
            int ih = oh * g->SH - g->PT + kh;
            if (ih < 0 || ih >= g->H) {
                row += (long)g->KW * C;
                continue;
            }
            int iw0 = ow * g->SW - g->PL;
            if (iw0 >= 0 && iw0 + g->KW <= g->W) {
                /* the whole kernel row is inside: one contiguous run of KW*C floats */
                float *dst = img + ((long)ih * g->W + iw0) * C;
                const long run = (long)g->KW * C;
                for (long j = 0; j < run; j++)
                    dst[j] += row[j];
                row += run;
                continue;
            }
            for (int kw = 0; kw < g->KW; kw++, row += C) {
                int iw = iw0 + kw;
                if (iw < 0 || iw >= g->W)
                    continue;
                float *dst = img + ((long)ih * g->W + iw) * C;
                for (int c = 0; c < C; c++)
                    dst[c] += row[c];
            }
        }
    }
}
