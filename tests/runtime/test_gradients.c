/* Every layer's backward pass (input and parameter gradients) against central finite
 * differences of L = sum(out * R) for a fixed random R, on small sizes. Tolerance: the
 * largest difference over the largest gradient magnitude must stay under 2e-3 (float32
 * forward passes, h = 1e-3; a wrong gradient is off by O(1)). Also the losses' gradients
 * (plain and fused with softmax/sigmoid) and Dropout's mask. */
#include "dn_runtime.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOL 2e-3
#define H 1e-3f

static int failures;
static char err[512];

static void fill(dn_rng *r, float *a, long n, float lo, float hi)
{
    for (long i = 0; i < n; i++)
        a[i] = lo + (hi - lo) * dn_rng_uniform(r);
}

static double lossR(dn_model *m, const float *x, int n, int training, const float *R)
{
    const float *y = dn_model_forward(m, x, n, training, err, sizeof err);
    long k = (long)n * dn_model_output_size(m);
    double s = 0;
    for (long i = 0; i < k; i++)
        s += (double)y[i] * R[i];
    return s;
}

/* compares analytic g[0..n) with finite differences of L over v[0..n) */
static double fd_error(dn_model *m, float *x, int n, int training, const float *R, float *v,
                       const float *g, long count)
{
    double maxdiff = 0, maxg = 1e-6;
    for (long i = 0; i < count; i++) {
        float keep = v[i];
        v[i] = keep + H;
        double lp = lossR(m, x, n, training, R);
        v[i] = keep - H;
        double lm = lossR(m, x, n, training, R);
        v[i] = keep;
        double num = (lp - lm) / (2.0 * H);
        double d = fabs(num - g[i]);
        maxdiff = d > maxdiff ? d : maxdiff;
        maxg = fabs(num) > maxg ? fabs(num) : maxg;
    }
    return maxdiff / maxg;
}

static void check(const char *what, int in_ndim, const int *in_shape, int n, dn_layer *l,
                  int training)
{
    dn_model *m = dn_model_new(7, err, sizeof err);
    if (!m || dn_model_set_input(m, in_ndim, in_shape, err, sizeof err) ||
        dn_model_add(m, l, err, sizeof err)) {
        printf("FAIL %s: %s\n", what, err);
        failures++;
        dn_model_free(m);
        return;
    }
    dn_rng r;
    dn_rng_seed(&r, 11);
    long nx = (long)n * dn_model_input_size(m), ny = (long)n * dn_model_output_size(m);
    float *x = malloc((size_t)nx * sizeof(float)), *dx = malloc((size_t)nx * sizeof(float));
    float *R = malloc((size_t)ny * sizeof(float));
    fill(&r, x, nx, -1, 1);
    fill(&r, R, ny, -1, 1);
    dn_layer *L = dn_model_layer(m, 0);
    /* non-zero biases and BN affine parameters make their gradients matter */
    for (int p = 0; p < dn_layer_nparams(L); p++) {
        dn_param *pp = dn_layer_param(L, p);
        if (pp->grad && strcmp(pp->name, "kernel"))
            fill(&r, pp->data, pp->size, 0.5f, 1.5f);
    }
    lossR(m, x, n, training, R);
    if (dn_model_backward(m, R, n, dx, err, sizeof err)) {
        printf("FAIL %s: %s\n", what, err);
        failures++;
    } else {
        double e = fd_error(m, x, n, training, R, x, dx, nx);
        int ok = e < TOL;
        printf("%s %-44s d/dx      rel err %.2e\n", ok ? "ok  " : "FAIL", what, e);
        failures += !ok;
        for (int p = 0; p < dn_layer_nparams(L); p++) {
            dn_param *pp = dn_layer_param(L, p);
            if (!pp->grad || !dn_layer_trainable(L))
                continue;
            float *g = malloc((size_t)pp->size * sizeof(float));
            memcpy(g, pp->grad, (size_t)pp->size * sizeof(float));
            e = fd_error(m, x, n, training, R, pp->data, g, pp->size);
            ok = e < TOL;
            printf("%s %-44s d/%-8s rel err %.2e\n", ok ? "ok  " : "FAIL", what, pp->name, e);
            failures += !ok;
            free(g);
        }
    }
    free(x);
    free(dx);
    free(R);
    dn_model_free(m);
}

static void check_loss(const char *what, dn_loss loss, dn_activation act, int fused)
{
    enum { N = 3, D = 4 };
    dn_rng r;
    dn_rng_seed(&r, 5);
    float z[N * D], y[N * D], p[N * D], g[N * D];
    fill(&r, z, N * D, -2, 2);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < D; j++)
            y[i * D + j] = loss == DN_LOSS_CATEGORICAL_CE ? (j == (i % D)) : dn_rng_uniform(&r);
    memcpy(p, z, sizeof p);
    dn_act_forward(act, p, N, D);
    dn_loss_eval(loss, p, y, N, D, fused, g);
    double maxdiff = 0, maxg = 1e-9;
    /* fused: the gradient is with respect to z; otherwise with respect to p */
    float *v = fused ? z : p;
    for (int i = 0; i < N * D; i++) {
        double l2[2];
        for (int s = 0; s < 2; s++) {
            float keep = v[i];
            v[i] = keep + (s ? -H : H);
            float q[N * D];
            memcpy(q, fused ? z : p, sizeof q);
            if (fused)
                dn_act_forward(act, q, N, D);
            l2[s] = dn_loss_eval(loss, q, y, N, D, 0, NULL);
            v[i] = keep;
        }
        double num = (l2[0] - l2[1]) / (2.0 * H);
        maxdiff = fmax(maxdiff, fabs(num - g[i]));
        maxg = fmax(maxg, fabs(num));
    }
    double e = maxdiff / maxg;
    int ok = e < TOL;
    printf("%s %-44s           rel err %.2e\n", ok ? "ok  " : "FAIL", what, e);
    failures += !ok;
}

static void check_dropout(void)
{
    int shape[1] = {1000};
    dn_model *m = dn_model_new(3, err, sizeof err);
    dn_model_set_input(m, 1, shape, err, sizeof err);
    dn_model_add(m, dn_dropout_new(0.25f, err, sizeof err), err, sizeof err);
    float x[1000], dy[1000], dx[1000];
    for (int i = 0; i < 1000; i++) {
        x[i] = 1.0f + (float)i / 1000.0f;
        dy[i] = (float)(i % 7) - 3.0f;
    }
    const float *y = dn_model_forward(m, x, 1, 1, err, sizeof err);
    int dropped = 0, bad = 0;
    float kept[1000];
    for (int i = 0; i < 1000; i++) {
        dropped += y[i] == 0.0f;
        kept[i] = y[i] / x[i];
        bad += y[i] != 0.0f && fabsf(kept[i] - 1.0f / 0.75f) > 1e-6f;
    }
    dn_model_backward(m, dy, 1, dx, err, sizeof err);
    for (int i = 0; i < 1000; i++)
        bad += fabsf(dx[i] - dy[i] * kept[i]) > 1e-5f;
    const float *yi = dn_model_forward(m, x, 1, 0, err, sizeof err);
    for (int i = 0; i < 1000; i++)
        bad += yi[i] != x[i];
    int ok = !bad && dropped > 200 && dropped < 300;
    printf("%s Dropout(0.25): %d of 1000 dropped, kept scaled 1/0.75, dx = dy*mask, identity at inference\n",
           ok ? "ok  " : "FAIL", dropped);
    failures += !ok;
    dn_model_free(m);
}

int main(void)
{
    int v4[1] = {4}, img[3] = {5, 6, 3}, img7[3] = {7, 7, 2}, seq[2] = {3, 4};
    char e[256];
    check("Dense(3, linear)", 1, v4, 2, dn_dense_new(3, DN_ACT_LINEAR, 1, e, sizeof e), 1);
    check("Dense(3, relu)", 1, v4, 2, dn_dense_new(3, DN_ACT_RELU, 1, e, sizeof e), 1);
    check("Dense(3, sigmoid)", 1, v4, 2, dn_dense_new(3, DN_ACT_SIGMOID, 1, e, sizeof e), 1);
    check("Dense(3, tanh)", 1, v4, 2, dn_dense_new(3, DN_ACT_TANH, 1, e, sizeof e), 1);
    check("Dense(3, softmax)", 1, v4, 2, dn_dense_new(3, DN_ACT_SOFTMAX, 1, e, sizeof e), 1);
    check("Dense(2, no bias) on (3, 4)", 2, seq, 2, dn_dense_new(2, DN_ACT_LINEAR, 0, e, sizeof e), 1);
    check("Conv2D(4, 3x3, same, relu)", 3, img, 2,
          dn_conv2d_new(4, 3, 3, 1, 1, DN_PAD_SAME, DN_ACT_RELU, 1, e, sizeof e), 1);
    check("Conv2D(3, 3x3, stride 2, valid)", 3, img7, 2,
          dn_conv2d_new(3, 3, 3, 2, 2, DN_PAD_VALID, DN_ACT_LINEAR, 1, e, sizeof e), 1);
    check("Conv2D(2, 2x3, stride (2,1), same, tanh)", 3, img, 2,
          dn_conv2d_new(2, 2, 3, 2, 1, DN_PAD_SAME, DN_ACT_TANH, 1, e, sizeof e), 1);
    check("Conv2D(5, 1x1)", 3, img, 2,
          dn_conv2d_new(5, 1, 1, 1, 1, DN_PAD_VALID, DN_ACT_LINEAR, 1, e, sizeof e), 1);
    check("Conv2D(3, 4x4, stride 3, same)", 3, img7, 1,
          dn_conv2d_new(3, 4, 4, 3, 3, DN_PAD_SAME, DN_ACT_LINEAR, 1, e, sizeof e), 1);
    check("MaxPooling2D(2x2)", 3, img, 2, dn_maxpool2d_new(2, 2, 0, 0, DN_PAD_VALID, e, sizeof e), 1);
    check("MaxPooling2D(3x3, stride 2, same)", 3, img7, 2,
          dn_maxpool2d_new(3, 3, 2, 2, DN_PAD_SAME, e, sizeof e), 1);
    check("Flatten", 3, img, 2, dn_flatten_new(e, sizeof e), 1);
    check("BatchNormalization (training) on images", 3, img, 3,
          dn_batchnorm_new(0.99f, 1e-3f, e, sizeof e), 1);
    check("BatchNormalization (training) on vectors", 1, v4, 5,
          dn_batchnorm_new(0.99f, 1e-3f, e, sizeof e), 1);
    dn_layer *frozen = dn_batchnorm_new(0.99f, 1e-3f, e, sizeof e);
    dn_layer_set_trainable(frozen, 0);
    check("BatchNormalization (frozen: inference mode)", 1, v4, 3, frozen, 1);
    check("Activation(softmax)", 1, v4, 2, dn_activation_layer_new(DN_ACT_SOFTMAX, e, sizeof e), 1);
    check("Activation(sigmoid)", 1, v4, 2, dn_activation_layer_new(DN_ACT_SIGMOID, e, sizeof e), 1);
    check_dropout();
    check_loss("mse d/dp", DN_LOSS_MSE, DN_ACT_SIGMOID, 0);
    check_loss("binary_crossentropy d/dp", DN_LOSS_BINARY_CE, DN_ACT_SIGMOID, 0);
    check_loss("binary_crossentropy+sigmoid d/dz (fused)", DN_LOSS_BINARY_CE, DN_ACT_SIGMOID, 1);
    check_loss("categorical_crossentropy d/dp", DN_LOSS_CATEGORICAL_CE, DN_ACT_SOFTMAX, 0);
    check_loss("categorical_crossentropy+softmax d/dz (fused)", DN_LOSS_CATEGORICAL_CE,
               DN_ACT_SOFTMAX, 1);
    printf("%s\n", failures ? "FAILED" : "all gradients agree");
    return failures != 0;
}
