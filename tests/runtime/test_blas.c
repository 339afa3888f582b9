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

int main(void)
{
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
