/* blas.c — OpenBLAS, loaded at the first product instead of at start-up.
 *
 * A kernel whose first cell is `%pwd` never maps OpenBLAS (nor libgfortran behind it),
 * and its choice of kernels can still be corrected: OpenBLAS picks them from a list of
 * processors it knows when it loads, and Debian's 0.3.21 falls back to its SSE3
 * "Prescott" kernels on processors newer than the list (5x slower than AVX-512's). When
 * it did, on a processor with AVX2 and FMA or AVX-512, the library is unloaded and loaded
 * again with OPENBLAS_CORETYPE set for that one load. A user's own OPENBLAS_CORETYPE is
 * never overridden; a choice of AVX2 kernels or better is left alone.
 *
 * Without OpenBLAS (dlopen fails) products still come out right, from a plain loop, and
 * dn_blas_corename says why they are slow. */
#include "cpu.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef void (*sgemm_fn)(enum CBLAS_ORDER, enum CBLAS_TRANSPOSE, enum CBLAS_TRANSPOSE, int,
                         int, int, float, const float *, int, const float *, int, float, float *,
                         int);

static pthread_once_t once = PTHREAD_ONCE_INIT;
static void *lib;
static sgemm_fn sgemm;
static char *(*get_corename)(void), *(*get_config)(void);
static void (*set_threads)(int);
static char replaced[32];        /* what OpenBLAS took before deepnb corrected it */
static char why_missing[256];

/* OpenBLAS' core names by the widest vector unit their kernels use: 1 SSE, 2 AVX,
 * 3 AVX2 + FMA, 4 AVX-512 */
static const struct { const char *name; int level; } cores[] = {
    { "Prescott", 1 }, { "Core2", 1 }, { "Penryn", 1 }, { "Dunnington", 1 }, { "Nehalem", 1 },
    { "Atom", 1 }, { "Opteron", 1 }, { "Opteron_SSE3", 1 }, { "Barcelona", 1 },
    { "Bobcat", 1 }, { "Katmai", 1 }, { "Coppermine", 1 }, { "Northwood", 1 },
    { "Banias", 1 }, { "Sandybridge", 2 }, { "Bulldozer", 2 }, { "Piledriver", 2 },
    { "Haswell", 3 }, { "Zen", 3 }, { "Steamroller", 3 }, { "Excavator", 3 },
    { "SkylakeX", 4 }, { "Cooperlake", 4 }, { "SapphireRapids", 4 },
};

int dn_blas_choose(const char *have, int cpu_level, char *core, size_t len)
{
    int level = 0;
    for (size_t i = 0; have && i < sizeof cores / sizeof cores[0]; i++)
        if (!strcasecmp(have, cores[i].name))
            level = cores[i].level;
    /* a core this table does not know, or AVX2 kernels or better: OpenBLAS knew the
     * processor well enough */
    if (!level || level > 2 || cpu_level <= level || cpu_level < 3)
        return 0;
    snprintf(core, len, "%s", cpu_level >= 4 ? "SkylakeX" : "Haswell");
    return 1;
}

int dn_cpu_vector_level(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
        return 4;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return 3;
    if (__builtin_cpu_supports("avx"))
        return 2;
    return 1;
#else
    return 0;
#endif
}

static void *open_blas(void)
{
    void *h = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!h)
        h = dlopen("libopenblas.so", RTLD_NOW | RTLD_LOCAL);
    if (!h)
        snprintf(why_missing, sizeof why_missing, "%s", dlerror());
    return h;
}

static void load(void)
{
    lib = open_blas();
    if (!lib)
        return;
    char *(*corename)(void) = (char *(*)(void))dlsym(lib, "openblas_get_corename");
    char core[32];
    const char *have = corename ? corename() : NULL;
    if (have && !getenv("OPENBLAS_CORETYPE") &&
        dn_blas_choose(have, dn_cpu_vector_level(), core, sizeof core)) {
        snprintf(replaced, sizeof replaced, "%s", have);
        dlclose(lib);
        /* for this load only: commands the user runs later are not affected */
        setenv("OPENBLAS_CORETYPE", core, 1);
        lib = open_blas();
        unsetenv("OPENBLAS_CORETYPE");
        if (!lib)
            return;
    }
    sgemm = (sgemm_fn)dlsym(lib, "cblas_sgemm");
    get_corename = (char *(*)(void))dlsym(lib, "openblas_get_corename");
    get_config = (char *(*)(void))dlsym(lib, "openblas_get_config");
    set_threads = (void (*)(int))dlsym(lib, "openblas_set_num_threads");
    if (!sgemm) {
        snprintf(why_missing, sizeof why_missing, "the library has no cblas_sgemm");
        return;
    }
    /* single-threaded inside the team's threads (cpu.h) */
    if (set_threads)
        set_threads(1);
}

static void ensure(void) { pthread_once(&once, load); }

/* C = alpha op(A) op(B) + beta C, one element at a time: only when OpenBLAS is missing */
static void plain_sgemm(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb,
                        int M, int N, int K, float alpha, const float *A, int lda,
                        const float *B, int ldb, float beta, float *C, int ldc)
{
    /* column-major is row-major of the transposed product */
    if (order == CblasColMajor) {
        plain_sgemm(CblasRowMajor, tb, ta, N, M, K, alpha, B, ldb, A, lda, beta, C, ldc);
        return;
    }
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            float s = 0.0f;
            for (int k = 0; k < K; k++) {
                float a = ta == CblasNoTrans ? A[(long)i * lda + k] : A[(long)k * lda + i];
                float b = tb == CblasNoTrans ? B[(long)k * ldb + j] : B[(long)j * ldb + k];
                s += a * b;
            }
            float *c = &C[(long)i * ldc + j];
            *c = alpha * s + (beta == 0.0f ? 0.0f : beta * *c);
        }
}

void dn_blas_sgemm(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb,
                   int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                   int ldb, float beta, float *C, int ldc)
{
    ensure();
    (sgemm ? sgemm : plain_sgemm)(order, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void dn_blas_set_num_threads(int n)
{
    ensure();
    if (set_threads)
        set_threads(n);
}

const char *dn_blas_corename(void)
{
    ensure();
    return get_corename ? get_corename() : NULL;
}

const char *dn_blas_config(void)
{
    ensure();
    return get_config ? get_config() : NULL;
}

const char *dn_blas_replaced(void)
{
    ensure();
    return replaced;
}

const char *dn_blas_missing(void)
{
    ensure();
    return sgemm ? NULL : why_missing;
}

int dn_blas_loaded(void) { return lib != NULL; }
