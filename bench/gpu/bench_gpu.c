/* bench_gpu — VGG16 training on the GPU, images per second (224x224x3, batch 64 by
 * default, SGD with momentum, categorical cross-entropy on random images): the whole
 * network, then the fine-tune case as %finetune makes it (the last layer replaced by
 * Dense(2, softmax), every other layer frozen). Each in the deterministic mode and in
 * fast mode (cuDNN's timed choice). The batch is uploaded from host memory every step,
 * as a real training loop's batches are.
 * Usage: bench_gpu [steps=10] [batch=64]. Prints one line per case:
 *   deepnb CASE MODE IMAGES_PER_SECOND
 * Exit 2 when there is no GPU (with the reason). */
#include "cuda/gpu.h"
#include "dn_runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char err[512];

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static dn_model *vgg(int finetune)
{
    dn_model *m = dn_model_new(1, err, sizeof err);
    if (!m || dn_model_build_vgg16(m, 1000, 1, err, sizeof err))
        return NULL;
    if (finetune) {
        if (dn_model_pop(m, err, sizeof err) ||
            dn_model_add(m, dn_dense_new(2, DN_ACT_SOFTMAX, 1, err, sizeof err), err, sizeof err))
            return NULL;
        for (int i = 0; i < dn_model_nlayers(m) - 1; i++)
            dn_layer_set_trainable(dn_model_layer(m, i), 0);
    }
    dn_optimizer o;
    dn_optimizer_defaults(&o, DN_OPT_SGD);
    o.momentum = 0.9f;
    if (dn_model_compile(m, &o, DN_LOSS_CATEGORICAL_CE, 1, err, sizeof err) ||
        dn_model_set_device(m, DN_DEVICE_GPU, err, sizeof err))
        return NULL;
    return m;
}

/* images per second over steps after 2 warm-up steps; < 0 on failure */
static double measure(int finetune, int steps, int batch, const float *x, float *y)
{
    dn_model *m = vgg(finetune);
    if (!m)
        return -1;
    long classes = dn_model_output_size(m);
    memset(y, 0, (size_t)batch * (size_t)classes * sizeof(float));
    for (int i = 0; i < batch; i++)
        y[(long)i * classes + i % classes] = 1;
    double t0 = 0;
    for (int s = 0; s < steps + 2; s++) {
        if (s == 2)
            t0 = now_s();
        if (dn_model_train_on_batch(m, x, y, batch, NULL, err, sizeof err)) {
            dn_model_free(m);
            return -1;
        }
    }
    double rate = (double)steps * batch / (now_s() - t0);
    dn_model_free(m);
    return rate;
}

int main(int argc, char **argv)
{
    int steps = argc > 1 ? atoi(argv[1]) : 10, batch = argc > 2 ? atoi(argv[2]) : 64;
    if (steps < 1 || batch < 1) {
        fprintf(stderr, "usage: bench_gpu [steps >= 1] [batch >= 1]\n");
        return 1;
    }
    dn_gpu_info info;
    char why[512];
    if (dn_gpu_probe(&info, why, sizeof why) <= 0) {
        printf("no GPU: %s\n", why);
        return 2;
    }
    printf("GPU: %s; VGG16, %d steps of %d images 224x224x3\n", info.name, steps, batch);
    size_t nx = (size_t)batch * 224 * 224 * 3;
    float *x = malloc(nx * sizeof(float)), *y = malloc((size_t)batch * 1000 * sizeof(float));
    if (!x || !y) {
        printf("out of memory\n");
        return 1;
    }
    dn_rng r;
    dn_rng_seed(&r, 3);
    for (size_t i = 0; i < nx; i++)
        x[i] = 255.0f * dn_rng_uniform(&r) - 120.0f;
    int rc = 0;
    for (int fast = 0; fast < 2; fast++) {
        if (dn_gpu_set_mode(fast, info.cc_major >= 8, err, sizeof err)) {
            printf("FAIL: %s\n", err);
            return 1;
        }
        for (int ft = 0; ft < 2; ft++) {
            double rate = measure(ft, steps, batch, x, y);
            if (rate < 0) {
                printf("FAIL %s %s: %s\n", ft ? "finetune" : "full", fast ? "fast" : "deterministic", err);
                rc = 1;
                continue;
            }
            printf("deepnb %s %s %.1f\n", ft ? "finetune" : "full", fast ? "fast" : "deterministic",
                   rate);
            fflush(stdout);
        }
    }
    free(x);
    free(y);
    return rc;
}
