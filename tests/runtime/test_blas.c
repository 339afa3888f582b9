/* OpenBLAS loaded at the first product (core/blas.c): not before it; the table that
 * corrects a generic choice of kernels; the correction made in-process on this machine
 * when OpenBLAS picks generic kernels on a processor with AVX2 or AVX-512; a user's
 * OPENBLAS_CORETYPE respected (run with it set: DEEPNB_TEST_USER_CORE names it). */
#include "core/cpu.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "check.h"

static void choose(const char *have, int level, const char *want)
{
    char core[32] = "";
    int r = dn_blas_choose(have, level, core, sizeof core);
    CHECK(want ? r == 1 && !strcmp(core, want) : r == 0, "OpenBLAS took %s on a level-%d CPU: %s",
          have, level, want ? want : "left alone");
}

/* dn_small_sgemm against one fused multiply-add chain per element over k in order (the
 * AVX2 and AVX-512 kernels alike must give exactly these bits; DEEPNB_NO_AVX512 picks
 * the AVX2 one), shapes with every tail of rows and columns */
static void small_products(void)
{
    if (!dn_small_sgemm_fits(8)) {
        printf("skip the small-product kernel: no AVX2 and FMA here\n");
        return;
    }
    const int Ms[] = {1, 5, 6, 7, 13}, Ns[] = {8, 16, 24, 32, 40, 64, 72, 136}, Ks[] = {1, 9, 288};
    int bad = 0, cases = 0;
    for (size_t a = 0; a < sizeof Ms / sizeof *Ms; a++)
        for (size_t b = 0; b < sizeof Ns / sizeof *Ns; b++)
            for (size_t c = 0; c < sizeof Ks / sizeof *Ks; c++)
                for (int add = 0; add < 2; add++) {
                    int M = Ms[a], N = Ns[b], K = Ks[c];
                    float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * K * N);
                    float *C = malloc(sizeof(float) * M * N), *R = malloc(sizeof(float) * M * N);
                    unsigned x = 12345u + (unsigned)(M * 131 + N * 7 + K);
                    for (int i = 0; i < M * K; i++)
                        A[i] = (float)((x = x * 1664525u + 1013904223u) >> 8) / 16777216.0f - 0.5f;
                    for (int i = 0; i < K * N; i++)
                        B[i] = (float)((x = x * 1664525u + 1013904223u) >> 8) / 16777216.0f - 0.5f;
                    for (int i = 0; i < M * N; i++)
                        C[i] = R[i] = add ? 0.25f * (float)(i % 7) : 0.0f;
                    for (int i = 0; i < M; i++)
                        for (int j = 0; j < N; j++)
                            for (int k = 0; k < K; k++)
                                R[i * N + j] = fmaf(A[i * K + k], B[k * N + j], R[i * N + j]);
                    const dn_operand op = {A, K, 1, NULL, NULL};
                    dn_small_sgemm(M, N, K, &op, B, C, add);
                    bad += memcmp(C, R, sizeof(float) * M * N) != 0;
                    cases++;
                    free(A), free(B), free(C), free(R);
                }
    CHECK(!bad, "the small-product kernel%s gives one FMA chain's bits in %d of %d shapes",
          getenv("DEEPNB_NO_AVX512") ? " (AVX2)" : "", cases - bad, cases);
}

int main(void)
{
    small_products();
    choose("Prescott", 4, "SkylakeX");
    choose("Nehalem", 4, "SkylakeX");
    choose("Sandybridge", 4, "SkylakeX");
    choose("Prescott", 3, "Haswell");
    choose("Sandybridge", 3, "Haswell");
    choose("Prescott", 2, NULL);     /* nothing better to ask for */
    choose("Haswell", 4, NULL);      /* AVX2 kernels: it knew the processor */
    choose("Zen", 3, NULL);
    choose("SkylakeX", 4, NULL);
    choose("Mystery", 4, NULL);      /* a name this table does not know */

    CHECK(!dn_blas_loaded(), "nothing has loaded OpenBLAS before the first product");
    float a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {7, 8, 9, 10, 11, 12}, c[4];
    dn_blas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 2, 2, 3, 1.0f, a, 3, b, 2, 0.0f, c, 2);
    CHECK(c[0] == 58 && c[1] == 64 && c[2] == 139 && c[3] == 154, "the first product is right");
    CHECK(dn_blas_loaded() && !dn_blas_missing(), "and OpenBLAS is loaded");

    const char *user = getenv("DEEPNB_TEST_USER_CORE"), *core = dn_blas_corename();
    if (user) {
        CHECK(core && !strcasecmp(core, user) && !dn_blas_replaced()[0],
              "the user's OPENBLAS_CORETYPE=%s is kept (%s)", user, core ? core : "?");
    } else {
        char want[32];
        const char *was = dn_blas_replaced();
        int level = dn_cpu_vector_level();
        if (was[0])
            CHECK(dn_blas_choose(was, level, want, sizeof want) && !strcmp(core, want),
                  "OpenBLAS took %s on this level-%d CPU; deepnb loaded %s", was, level, core);
        else
            CHECK(!dn_blas_choose(core, level, want, sizeof want),
                  "OpenBLAS's own choice %s is right for this level-%d CPU", core, level);
        CHECK(!getenv("OPENBLAS_CORETYPE"), "the variable was for that load only");
    }
    return check_done();
}
