/* bench_cnn — the runtime's speed on the benchmark CNN (28x28x1 inputs: Conv 32, Conv 32,
 * MaxPool, Conv 64, MaxPool, Flatten, Dense 128, Dense 10 softmax; Adam), the toy
 * Dense(2->1) SGD step, and the convolutions' GFLOP/s next to OpenBLAS sgemm's (counting
 * a direct convolution's FLOPs: 3x3 ones by Winograd do fewer, and may pass sgemm).
 * Prints key=value lines for bench.py.
 * Usage: bench_cnn [seconds per measurement] [--no-conv: skip the per-convolution part] */
#include "dn_runtime.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static char err[512];

/* The machine is shared: the best of WINDOWS equal slices of the measuring time is the
 * figure least disturbed by other processes (bench.py does the same for torch). */
#define WINDOWS 5

static int train_step(dn_model *m, const float *x, const float *y, int n)
{
    return dn_model_train_on_batch(m, x, y, n, NULL, err, sizeof err);
}

static int infer_step(dn_model *m, const float *x, const float *y, int n)
{
    (void)y;
    return dn_model_infer(m, x, n, err, sizeof err) ? 0 : -1;
}

/* seconds per call of fn, best window; -1 on error */
static double best_seconds(int (*fn)(dn_model *, const float *, const float *, int),
                           dn_model *m, const float *x, const float *y, int n, double secs)
{
    double best = 1e30;
    for (int w = 0; w < WINDOWS; w++) {
        long k = 0;
        double t0 = now(), t;
        do {
            if (fn(m, x, y, n))
                return -1;
            k++;
        } while ((t = now() - t0) < secs / WINDOWS);
        if (t / (double)k < best)
            best = t / (double)k;
    }
    return best;
}

static dn_model *cnn(void)
{
    int in[3] = {28, 28, 1};
    dn_model *m = dn_model_new(1, err, sizeof err);
    int rc = !m || dn_model_set_input(m, 3, in, err, sizeof err);
    rc = rc || dn_model_add(m, dn_conv2d_new(32, 3, 3, 1, 1, DN_PAD_VALID, DN_ACT_RELU, 1, err, sizeof err), err, sizeof err);
    rc = rc || dn_model_add(m, dn_conv2d_new(32, 3, 3, 1, 1, DN_PAD_VALID, DN_ACT_RELU, 1, err, sizeof err), err, sizeof err);
    rc = rc || dn_model_add(m, dn_maxpool2d_new(2, 2, 0, 0, DN_PAD_VALID, err, sizeof err), err, sizeof err);
    rc = rc || dn_model_add(m, dn_conv2d_new(64, 3, 3, 1, 1, DN_PAD_VALID, DN_ACT_RELU, 1, err, sizeof err), err, sizeof err);
    rc = rc || dn_model_add(m, dn_maxpool2d_new(2, 2, 0, 0, DN_PAD_VALID, err, sizeof err), err, sizeof err);
    rc = rc || dn_model_add(m, dn_flatten_new(err, sizeof err), err, sizeof err);
    rc = rc || dn_model_add(m, dn_dense_new(128, DN_ACT_RELU, 1, err, sizeof err), err, sizeof err);
    rc = rc || dn_model_add(m, dn_dense_new(10, DN_ACT_SOFTMAX, 1, err, sizeof err), err, sizeof err);
    dn_optimizer adam;
    dn_optimizer_defaults(&adam, DN_OPT_ADAM);
    rc = rc || dn_model_compile(m, &adam, DN_LOSS_CATEGORICAL_CE, 1, err, sizeof err);
    if (rc) {
        fprintf(stderr, "bench_cnn: %s\n", err);
        exit(1);
    }
    return m;
}

/* GFLOP/s of C(M,N) = A(M,K) B(K,N): through the runtime's own path when runtime
 * (dn_sgemm: pieces on the team, OpenBLAS single-threaded in each), else in one OpenBLAS
 * call threaded over every core (the yardstick). Either way with the kernels the runtime
 * chose for this CPU. */
static double sgemm_gflops(int M, int N, int K, double secs, int runtime)
{
    openblas_set_num_threads(runtime ? 1 : dn_cpu_threads());
    float *a = calloc((size_t)M * K, sizeof(float)), *b = calloc((size_t)K * N, sizeof(float));
    float *c = calloc((size_t)M * N, sizeof(float));
    for (long i = 0; i < (long)M * K; i++)
        a[i] = (float)(i % 13) * 0.1f;
    for (long i = 0; i < (long)K * N; i++)
        b[i] = (float)(i % 7) * 0.1f;
    double best = 1e30;
    for (int w = -1; w < WINDOWS; w++) {   /* window -1 warms up */
        long reps = 0;
        double t0 = now(), t;
        do {
            if (runtime)
                dn_sgemm(CblasNoTrans, CblasNoTrans, M, N, K, 1, a, K, b, N, 0, c, N);
            else
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1, a, K, b, N, 0,
                            c, N);
            reps++;
        } while (w >= 0 && (t = now() - t0) < secs / WINDOWS);
        if (w >= 0)
            best = t / (double)reps < best ? t / (double)reps : best;
    }
    free(a);
    free(b);
    free(c);
    openblas_set_num_threads(1);
    return 2.0 * M * N * K / best * 1e-9;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 1.0;
    int conv_part = !(argc > 2 && strcmp(argv[2], "--no-conv") == 0);
    dn_model *m = cnn();
    enum { TB = 64, IB = 256 };
    float *x = malloc(sizeof(float) * IB * 784), *y = calloc(IB * 10, sizeof(float));
    dn_rng r;
    dn_rng_seed(&r, 1);
    for (int i = 0; i < IB * 784; i++)
        x[i] = dn_rng_uniform(&r);
    for (int i = 0; i < IB; i++)
        y[i * 10 + i % 10] = 1.0f;

    for (int i = 0; i < 2; i++)
        dn_model_train_on_batch(m, x, y, TB, NULL, err, sizeof err);
    double train_s = best_seconds(train_step, m, x, y, TB, secs);
    if (train_s < 0) {
        fprintf(stderr, "bench_cnn: %s\n", err);
        return 1;
    }
    printf("threads=%d\n", dn_cpu_threads());
    printf("train_img_s=%.1f\n", TB / train_s);
    double infer_s = best_seconds(infer_step, m, x, y, IB, secs);
    printf("infer_img_s=%.1f\n", IB / infer_s);
    /* each convolution alone (im2col + sgemm + bias/relu), forward at batch 256, next to
     * OpenBLAS on the same product shape (rows*filters*K) and on 1024^3 */
    static const struct { int h, w, c, f; } convs[] = {{28, 28, 1, 32}, {26, 26, 32, 32}, {12, 12, 32, 64}};
    double all_flops = 0, all_s = 0, all_gemm_s = 0;
    for (int c = 0; c < 3 && conv_part; c++) {
        int in[3] = {convs[c].h, convs[c].w, convs[c].c};
        dn_model *cm = dn_model_new(1, err, sizeof err);
        dn_model_set_input(cm, 3, in, err, sizeof err);
        dn_model_add(cm, dn_conv2d_new(convs[c].f, 3, 3, 1, 1, DN_PAD_VALID, DN_ACT_RELU, 1, err, sizeof err), err, sizeof err);
        float *cx = calloc((size_t)IB * convs[c].h * convs[c].w * convs[c].c, sizeof(float));
        dn_model_forward(cm, cx, IB, 0, err, sizeof err);
        double cs = best_seconds(infer_step, cm, cx, NULL, IB, secs / 2);
        int rows = IB * (convs[c].h - 2) * (convs[c].w - 2), K = 9 * convs[c].c;
        double flops = 2.0 * rows * K * convs[c].f;
        double gemm = sgemm_gflops(rows, convs[c].f, K, secs / 2, 0);
        printf("conv%d_gflops=%.1f sgemm_conv%d_gflops=%.1f\n", c + 1, flops / cs * 1e-9, c + 1, gemm);
        all_flops += flops;
        all_s += cs;
        all_gemm_s += flops / (gemm * 1e9);
        free(cx);
        dn_model_free(cm);
    }
    if (conv_part) {
        printf("conv_gflops=%.1f sgemm_same_shapes_gflops=%.1f\n", all_flops / all_s * 1e-9,
               all_flops / all_gemm_s * 1e-9);
        printf("sgemm_1024_gflops=%.1f\n", sgemm_gflops(1024, 1024, 1024, secs / 2, 0));
        printf("runtime_sgemm_1024_gflops=%.1f\n", sgemm_gflops(1024, 1024, 1024, secs / 2, 1));
    }

    /* toy: Dense(2->1), SGD, mse, one example per step */
    int two[1] = {2};
    dn_model *toy = dn_model_new(1, err, sizeof err);
    dn_model_set_input(toy, 1, two, err, sizeof err);
    dn_model_add(toy, dn_dense_new(1, DN_ACT_LINEAR, 1, err, sizeof err), err, sizeof err);
    dn_optimizer sgd;
    dn_optimizer_defaults(&sgd, DN_OPT_SGD);
    sgd.lr = 0.1f;
    dn_model_compile(toy, &sgd, DN_LOSS_MSE, 0, err, sizeof err);
    float tx[2] = {0.3f, 0.6f}, ty[1] = {3.4f};
    double best = 1e30;
    for (int w = 0; w < WINDOWS; w++) {
        long steps = 0;
        double t0 = now(), t;
        do {
            for (int i = 0; i < 1000; i++)
                dn_model_train_on_batch(toy, tx, ty, 1, NULL, err, sizeof err);
            steps += 1000;
        } while ((t = now() - t0) < secs / 2 / WINDOWS);
        best = t / (double)steps < best ? t / (double)steps : best;
    }
    printf("toy_step_us=%.3f\n", best * 1e6);
    dn_model_free(toy);
    dn_model_free(m);
    free(x);
    free(y);
    return 0;
}
