/* A run repeats bit for bit: the same seed and data train the same weights, however the
 * CPU team's threads happen to share out the work (two threads forced here). */
#include "dn_runtime.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;
#define CHECK(c, ...) do { if (c) { printf("ok - "); } else { printf("not ok - "); failures++; } \
                           printf(__VA_ARGS__); printf("\n"); } while (0)

enum { N = 24, H = 16, W = 16, C = 3, CLASSES = 4, STEPS = 4 };

static dn_model *train_once(const float *x, const float *y, char *err, size_t errlen)
{
    dn_model *m = dn_model_new(7, err, errlen);
    if (!m) return NULL;
    int shape[3] = {H, W, C};
    /* conv 3->16 takes the im2col path, 16->16 the Winograd one: both sum per-item partials */
    int ok = !dn_model_set_input(m, 3, shape, err, errlen)
        && !dn_model_add(m, dn_conv2d_new(16, 3, 3, 1, 1, DN_PAD_SAME, DN_ACT_RELU, 1, err, errlen), err, errlen)
        && !dn_model_add(m, dn_conv2d_new(16, 3, 3, 1, 1, DN_PAD_VALID, DN_ACT_RELU, 1, err, errlen), err, errlen)
        && !dn_model_add(m, dn_maxpool2d_new(2, 2, 0, 0, DN_PAD_VALID, err, errlen), err, errlen)
        && !dn_model_add(m, dn_flatten_new(err, errlen), err, errlen)
        && !dn_model_add(m, dn_dense_new(CLASSES, DN_ACT_SOFTMAX, 1, err, errlen), err, errlen);
    dn_optimizer opt;
    dn_optimizer_defaults(&opt, DN_OPT_ADAM);
    ok = ok && !dn_model_compile(m, &opt, DN_LOSS_CATEGORICAL_CE, 1, err, errlen);
    for (int s = 0; ok && s < STEPS; s++) {
        dn_metrics met;
        ok = !dn_model_train_on_batch(m, x, y, N, &met, err, errlen);
    }
    if (!ok) { dn_model_free(m); return NULL; }
    return m;
}

int main(void)
{
    setenv("OMP_NUM_THREADS", "2", 1);
    float *x = malloc(sizeof(float) * N * H * W * C), *y = calloc(N * CLASSES, sizeof(float));
    unsigned s = 12345;
    for (long i = 0; i < (long)N * H * W * C; i++) {
        s = s * 1103515245u + 12345u;
        x[i] = (float)((s >> 8) & 0xffff) / 65535.0f;
    }
    for (int i = 0; i < N; i++) y[i * CLASSES + i % CLASSES] = 1;
    char err[256] = "";
    float first[N * CLASSES];
    int same = 1;
    for (int run = 0; run < 6 && same; run++) {
        dn_model *m = train_once(x, y, err, sizeof err);
        if (!m) { CHECK(0, "training runs: %s", err); break; }
        const float *p = dn_model_infer(m, x, N, err, sizeof err);
        if (!p) { CHECK(0, "predicts: %s", err); dn_model_free(m); break; }
        if (run == 0) memcpy(first, p, sizeof first);
        else same = !memcmp(first, p, sizeof first);
        dn_model_free(m);
    }
    CHECK(same, "six trainings from one seed predict bit for bit the same (%d threads)",
          dn_cpu_threads());
    free(x);
    free(y);
    printf("%s\n", failures ? "FAILED" : "all passed");
    return failures ? 1 : 0;
}
