/* Every op of op_cases.h on every backend this machine has, against the CPU.
 *
 * For each layer case: a one-layer model built from one seed, the same input and upstream
 * gradient; the output, the input gradient, every parameter gradient and every parameter
 * after the pass (moving statistics move in training) are compared with the CPU's by
 * normalised MSE under the case's tolerance, and the first mismatching pairs printed.
 * Then the loss and optimiser cases (five steps each) and a 20-step CNN.
 *
 * The CPU itself: its gradients against central finite differences, Dropout's output
 * and gradient against its mask, and a 20-step CNN re-run bit for bit; a planted error
 * must make the comparison fail (the harness can fail).
 *
 * The GPU: FP32 math for the comparisons (TF32 off), then deterministic mode checked bit
 * for bit on a re-run of every case, and the CNN re-run in the default mode (TF32 where
 * the chip has it). The CNN's tolerances are wider (normalised MSE 1e-4 in FP32, 1e-2
 * with TF32): Adam divides by the gradients' size, so rounding in near-zero gradients
 * grows over 20 steps; a wrong kernel is off by far more. Without a GPU the GPU cases are reported skipped with the reason;
 * DEEPNB_EXPECT_GPU=1 makes that a failure. DEEPNB_PERF=1 times each case after it
 * passes. */
#include "cuda/gpu.h"
#include "dn_runtime.h"
#include "op_cases.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int failures, passes, skips;
static int quiet;   /* the planted error's report is not printed */
static char err[512];

#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

static void fill(dn_rng *r, float *a, long n, float lo, float hi)
{
    for (long i = 0; i < n; i++)
        a[i] = lo + (hi - lo) * dn_rng_uniform(r);
}

static void fail(const char *what, const char *why)
{
    printf("FAIL %s: %s\n", what, why);
    failures++;
}

/* normalised MSE of got against want; tol 0 means equal to the bit */
static int close_enough(const char *what, const char *part, const float *got,
                        const float *want, long n, double tol)
{
    double se = 0, ss = 0;
    long bad = -1;
    for (long i = 0; i < n; i++) {
        double d = (double)got[i] - want[i];
        se += d * d;
        ss += (double)want[i] * want[i];
        if (bad < 0 && (tol == 0 ? memcmp(&got[i], &want[i], sizeof(float)) != 0
                                 : fabs(d) > 1e-3 * (fabs(want[i]) + 1e-3)))
            bad = i;
    }
    double nmse = se / (ss > 0 ? ss : 1.0);
    int ok = tol == 0 ? bad < 0 : nmse <= tol && !isnan(se);
    if (ok)
        return 1;
    if (quiet)
        return 0;
    printf("FAIL %s, %s: normalised MSE %.3g over %ld values (tolerance %.3g)\n", what, part,
           nmse, n, tol);
    for (long i = bad < 0 ? 0 : bad, k = 0; i < n && k < 4; i++)
        if (got[i] != want[i]) {
            printf("     [%ld] got %.9g want %.9g\n", i, (double)got[i], (double)want[i]);
            k++;
        }
    failures++;
    return 0;
}

/* ------------------------------------------------------------ one layer on a backend */

typedef struct result {
    float *y, *dx, *params[4], *grads[4];
    long ny, nx, psize[4];
    int np, has_grad[4];
} result;

static void result_free(result *r)
{
    free(r->y);
    free(r->dx);
    for (int i = 0; i < 4; i++) {
        free(r->params[i]);
        free(r->grads[i]);
    }
    memset(r, 0, sizeof *r);
}

static float *copy(const float *a, long n)
{
    float *c = malloc((size_t)n * sizeof(float));
    memcpy(c, a, (size_t)n * sizeof(float));
    return c;
}

static dn_model *one_layer(const op_case *c, dn_device dev)
{
    dn_model *m = dn_model_new(11, err, sizeof err);
    if (!m || dn_model_set_input(m, c->ndim, c->shape, err, sizeof err) ||
        dn_model_add(m, c->make(err, sizeof err), err, sizeof err)) {
        dn_model_free(m);
        return NULL;
    }
    if (c->frozen)
        dn_layer_set_trainable(dn_model_layer(m, 0), 0);
    if (dev == DN_DEVICE_GPU && dn_model_set_device(m, DN_DEVICE_GPU, err, sizeof err)) {
        dn_model_free(m);
        return NULL;
    }
    return m;
}

static void inputs(const op_case *c, dn_model *m, float **x, float **dy)
{
    long nx = (long)c->n * dn_model_input_size(m), ny = (long)c->n * dn_model_output_size(m);
    dn_rng r;
    dn_rng_seed(&r, 99);
    *x = malloc((size_t)nx * sizeof(float));
    *dy = malloc((size_t)ny * sizeof(float));
    fill(&r, *x, nx, -1.5f, 1.5f);
    fill(&r, *dy, ny, -1.0f, 1.0f);
}

/* forward and backward of case c on dev; 0, or -1 with err */
static int run_case(const op_case *c, dn_device dev, result *out)
{
    memset(out, 0, sizeof *out);
    dn_model *m = one_layer(c, dev);
    if (!m)
        return -1;
    float *x, *dy;
    inputs(c, m, &x, &dy);
    out->nx = (long)c->n * dn_model_input_size(m);
    out->ny = (long)c->n * dn_model_output_size(m);
    out->dx = malloc((size_t)out->nx * sizeof(float));
    const float *y = dn_model_forward(m, x, c->n, c->training, err, sizeof err);
    int rc = -1;
    if (!y)
        goto done;
    out->y = copy(y, out->ny);
    if (dn_model_backward(m, dy, c->n, out->dx, err, sizeof err))
        goto done;
    dn_layer *l = dn_model_layer(m, 0);
    out->np = dn_layer_nparams(l);
    for (int j = 0; j < out->np; j++) {
        dn_param *p = dn_layer_param(l, j);
        out->psize[j] = p->size;
        out->params[j] = copy(p->data, p->size);
        out->has_grad[j] = p->grad && dn_layer_trainable(l);
        if (out->has_grad[j])
            out->grads[j] = copy(p->grad, p->size);
    }
    rc = 0;
done:
    free(x);
    free(dy);
    dn_model_free(m);
    return rc;
}

static int compare(const char *what, const result *got, const result *want, double tol)
{
    int ok = close_enough(what, "output", got->y, want->y, want->ny, tol) &&
             close_enough(what, "input gradient", got->dx, want->dx, want->nx, tol);
    for (int j = 0; ok && j < want->np; j++) {
        char part[64];
        snprintf(part, sizeof part, "parameter %d after the pass", j);
        ok = close_enough(what, part, got->params[j], want->params[j], want->psize[j], tol);
        if (ok && want->has_grad[j]) {
            snprintf(part, sizeof part, "parameter %d's gradient", j);
            ok = close_enough(what, part, got->grads[j], want->grads[j], want->psize[j], tol);
        }
    }
    return ok;
}

/* ------------------------------------------------------------ the CPU's own checks */

#define FD_H 1e-3f
#define FD_SAMPLES 8

static double loss_r(dn_model *m, const float *x, int n, int training, const float *R,
                     long ny)
{
    const float *y = dn_model_forward(m, x, n, training, err, sizeof err);
    double s = 0;
    for (long i = 0; y && i < ny; i++)
        s += (double)y[i] * R[i];
    return s;
}

/* central difference of L over v[i] with step h */
static double central(dn_model *m, float *x, int n, int training, const float *R, long ny,
                      float *v, long i, float h)
{
    float keep = v[i];
    v[i] = keep + h;
    double lp = loss_r(m, x, n, training, R, ny);
    v[i] = keep - h;
    double lm = loss_r(m, x, n, training, R, ny);
    v[i] = keep;
    return (lp - lm) / (2.0 * h);
}

/* gradients g of L = sum(y * dy) over v at FD_SAMPLES spread indices against central
 * differences: the largest difference under 1e-2 of the largest gradient (float32
 * passes, h = 1e-3; a wrong gradient is off by O(1)), as test_gradients.c. A ReLU's kink
 * within h of the point spoils a difference: such a sample is taken again with h / 16
 * (a wrong gradient fails both). */
static int fd_ok(const char *what, const char *part, dn_model *m, float *x, int n,
                 int training, const float *R, long ny, float *v, const float *g, long count)
{
    double maxdiff = 0, maxg = 1e-3;
    long worst = 0;
    double worst_fd = 0;
    double fds[FD_SAMPLES];
    long at[FD_SAMPLES];
    int k = 0;
    for (; k < FD_SAMPLES && k < count; k++) {
        at[k] = (k * 7919L + 3) % count;
        fds[k] = central(m, x, n, training, R, ny, v, at[k], FD_H);
        maxg = fabs(fds[k]) > maxg ? fabs(fds[k]) : maxg;
    }
    for (int j = 0; j < k; j++) {
        long i = at[j];
        double fd = fds[j];
        if (fabs(fd - g[i]) > 1e-2 * maxg) {
            double fd2 = central(m, x, n, training, R, ny, v, i, FD_H / 16);
            fd = fabs(fd2 - g[i]) < fabs(fd - g[i]) ? fd2 : fd;
        }
        if (fabs(fd - g[i]) > maxdiff) {
            maxdiff = fabs(fd - g[i]);
            worst = i;
            worst_fd = fd;
        }
    }
    if (maxdiff <= 1e-2 * maxg)
        return 1;
    if (quiet)
        return 0;
    printf("FAIL %s, %s [%ld]: backward gives %.6g, finite differences %.6g\n", what, part,
           worst, (double)g[worst], worst_fd);
    failures++;
    return 0;
}

static int cpu_fd(const op_case *c, const result *cpu)
{
    dn_model *m = one_layer(c, DN_DEVICE_CPU);
    float *x, *dy;
    inputs(c, m, &x, &dy);
    int ok = fd_ok(c->name, "input gradient", m, x, c->n, c->training, dy, cpu->ny, x, cpu->dx,
                   cpu->nx);
    dn_layer *l = dn_model_layer(m, 0);
    for (int j = 0; ok && j < cpu->np; j++) {
        if (!cpu->has_grad[j])
            continue;
        ok = fd_ok(c->name, "a parameter's gradient", m, x, c->n, c->training, dy, cpu->ny,
                   dn_layer_param(l, j)->data, cpu->grads[j], cpu->psize[j]);
    }
    free(x);
    free(dy);
    dn_model_free(m);
    return ok;
}

/* Dropout in training: each output 0 or x / (1 - rate), the gradient through the same mask */
static int cpu_dropout(const op_case *c, const result *cpu)
{
    dn_model *m = one_layer(c, DN_DEVICE_CPU);
    float *x, *dy;
    inputs(c, m, &x, &dy);
    const float scale = 1.0f / (1.0f - 0.4f);
    long dropped = 0;
    int ok = 1;
    for (long i = 0; i < cpu->ny && ok; i++) {
        int kept = cpu->y[i] != 0.0f;
        dropped += !kept;
        ok = kept ? cpu->y[i] == x[i] * scale && cpu->dx[i] == dy[i] * scale : cpu->dx[i] == 0.0f;
    }
    if (!ok || dropped == 0 || dropped == cpu->ny) {
        fail(c->name, "the output and gradient do not follow one mask of rate 0.4");
        ok = 0;
    }
    free(x);
    free(dy);
    dn_model_free(m);
    return ok;
}

/* ------------------------------------------------------------ training */

/* five steps of a step case; losses[5], and the kernel and bias after */
static int run_steps(const step_case *s, dn_device dev, double losses[5], double accs[5],
                     float **w, long *nw)
{
    dn_model *m = dn_model_new(5, err, sizeof err);
    int in[1] = {6};
    if (!m || dn_model_set_input(m, 1, in, err, sizeof err) ||
        dn_model_add(m, dn_dense_new(s->units, s->act, 1, err, sizeof err), err, sizeof err)) {
        dn_model_free(m);
        return -1;
    }
    dn_optimizer o;
    dn_optimizer_defaults(&o, s->opt);
    o.momentum = s->momentum;
    o.nesterov = s->nesterov;
    if (s->opt == DN_OPT_SGD)
        o.lr = 0.1f;
    if (dn_model_compile(m, &o, s->loss, 1, err, sizeof err) ||
        (dev == DN_DEVICE_GPU && dn_model_set_device(m, DN_DEVICE_GPU, err, sizeof err))) {
        dn_model_free(m);
        return -1;
    }
    enum { N = 16 };
    float x[N * 6], y[N * 4];
    dn_rng r;
    dn_rng_seed(&r, 4);
    int rc = 0;
    for (int step = 0; step < 5 && !rc; step++) {
        fill(&r, x, N * 6, -1, 1);
        for (int i = 0; i < N * s->units; i++)
            y[i] = 0;
        for (int i = 0; i < N; i++) {
            if (s->loss == DN_LOSS_CATEGORICAL_CE)
                y[i * s->units + dn_rng_below(&r, (uint32_t)s->units)] = 1;
            else
                for (int j = 0; j < s->units; j++)
                    y[i * s->units + j] = s->loss == DN_LOSS_MSE ? dn_rng_uniform(&r)
                                                                 : (float)dn_rng_below(&r, 2);
        }
        dn_metrics mt;
        rc = dn_model_train_on_batch(m, x, y, N, &mt, err, sizeof err);
        losses[step] = mt.loss;
        accs[step] = mt.acc;
    }
    dn_layer *l = dn_model_layer(m, 0);
    long k = dn_layer_param(l, 0)->size, b = dn_layer_param(l, 1)->size;
    *nw = k + b;
    *w = malloc((size_t)(k + b) * sizeof(float));
    memcpy(*w, dn_layer_param(l, 0)->data, (size_t)k * sizeof(float));
    memcpy(*w + k, dn_layer_param(l, 1)->data, (size_t)b * sizeof(float));
    dn_model_free(m);
    return rc;
}

/* A small CNN trained 20 steps with Adam: every layer kind, asymmetric padding, dropout.
 * The weights after, all layers' arrays one after another. */
static float *run_cnn(dn_device dev, long *nw)
{
    dn_model *m = dn_model_new(21, err, sizeof err);
    int in[3] = {12, 12, 3};
    if (!m || dn_model_set_input(m, 3, in, err, sizeof err) ||
        dn_model_add(m, dn_conv2d_new(8, 3, 3, 1, 1, DN_PAD_SAME, DN_ACT_RELU, 1, err, sizeof err), err, sizeof err) ||
        dn_model_add(m, dn_batchnorm_new(0.9f, 1e-3f, err, sizeof err), err, sizeof err) ||
        dn_model_add(m, dn_conv2d_new(12, 3, 3, 2, 2, DN_PAD_SAME, DN_ACT_RELU, 1, err, sizeof err), err, sizeof err) ||
        dn_model_add(m, dn_maxpool2d_new(2, 2, 0, 0, DN_PAD_VALID, err, sizeof err), err, sizeof err) ||
        dn_model_add(m, dn_flatten_new(err, sizeof err), err, sizeof err) ||
        dn_model_add(m, dn_dense_new(16, DN_ACT_RELU, 1, err, sizeof err), err, sizeof err) ||
        dn_model_add(m, dn_dropout_new(0.25f, err, sizeof err), err, sizeof err) ||
        dn_model_add(m, dn_dense_new(4, DN_ACT_SOFTMAX, 1, err, sizeof err), err, sizeof err)) {
        dn_model_free(m);
        return NULL;
    }
    dn_optimizer o;
    dn_optimizer_defaults(&o, DN_OPT_ADAM);
    if (dn_model_compile(m, &o, DN_LOSS_CATEGORICAL_CE, 1, err, sizeof err) ||
        (dev == DN_DEVICE_GPU && dn_model_set_device(m, DN_DEVICE_GPU, err, sizeof err))) {
        dn_model_free(m);
        return NULL;
    }
    enum { N = 8 };
    static float x[N * 12 * 12 * 3], y[N * 4];
    dn_rng r;
    dn_rng_seed(&r, 8);
    for (int step = 0; step < 20; step++) {
        fill(&r, x, N * 12 * 12 * 3, 0, 1);
        memset(y, 0, sizeof y);
        for (int i = 0; i < N; i++)
            y[i * 4 + (i + step) % 4] = 1;
        if (dn_model_train_on_batch(m, x, y, N, NULL, err, sizeof err)) {
            dn_model_free(m);
            return NULL;
        }
    }
    long total = 0;
    for (int i = 0; i < dn_model_nlayers(m); i++)
        total += dn_layer_count_params(dn_model_layer(m, i));
    float *w = malloc((size_t)total * sizeof(float)), *at = w;
    for (int i = 0; i < dn_model_nlayers(m); i++)
        for (int j = 0; j < dn_layer_nparams(dn_model_layer(m, i)); j++) {
            dn_param *p = dn_layer_param(dn_model_layer(m, i), j);
            memcpy(at, p->data, (size_t)p->size * sizeof(float));
            at += p->size;
        }
    *nw = total;
    dn_model_free(m);
    return w;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void perf(const op_case *c, dn_device dev)
{
    dn_model *m = one_layer(c, dev);
    if (!m)
        return;
    float *x, *dy, *dx;
    inputs(c, m, &x, &dy);
    dx = malloc((size_t)c->n * (size_t)dn_model_input_size(m) * sizeof(float));
    double t0 = now_s();
    int reps = 50;
    for (int i = 0; i < reps; i++)
        if (!dn_model_forward(m, x, c->n, c->training, err, sizeof err) ||
            dn_model_backward(m, dy, c->n, dx, err, sizeof err))
            break;
    printf("     perf %-24s %s: %.1f us per forward+backward\n", c->name,
           dev == DN_DEVICE_GPU ? "gpu" : "cpu", 1e6 * (now_s() - t0) / reps);
    free(x);
    free(dy);
    free(dx);
    dn_model_free(m);
}

/* ------------------------------------------------------------ main */

int main(void)
{
    const char *e = getenv("DEEPNB_EXPECT_GPU");
    const int expect_gpu = e && !strcmp(e, "1");
    const int want_perf = getenv("DEEPNB_PERF") && !strcmp(getenv("DEEPNB_PERF"), "1");
    char why[512] = "";
    int gpu = dn_gpu_set_mode(0, 0, why, sizeof why) == DN_OK;
    if (!gpu) {
        printf("SKIP every GPU case: %s\n", why);
        if (expect_gpu)
            fail("GPU", "DEEPNB_EXPECT_GPU=1 but there is no GPU to test");
        /* a model asked onto the missing GPU says why, stays on the CPU and computes
         * what it computed before */
        const op_case *c = &op_cases[8];
        dn_model *m = one_layer(c, DN_DEVICE_CPU);
        float *x, *dy;
        inputs(c, m, &x, &dy);
        long ny = (long)c->n * dn_model_output_size(m);
        const float *y = dn_model_forward(m, x, c->n, 0, err, sizeof err);
        float *y1 = y ? copy(y, ny) : NULL;
        char e2[512] = "";
        int refused = dn_model_set_device(m, DN_DEVICE_GPU, e2, sizeof e2) == DN_ERROR &&
                      e2[0] && dn_model_device(m) == DN_DEVICE_CPU;
        const float *y2 = refused ? dn_model_forward(m, x, c->n, 0, err, sizeof err) : NULL;
        if (!y1 || !refused || !y2)
            fail("no GPU", refused ? err : "dn_model_set_device did not refuse with a sentence");
        else if (close_enough("no GPU", "the output after the refusal", y2, y1, ny, 0))
            passes++, printf("ok   without a GPU, the GPU is refused: %s\n", e2);
        free(y1);
        free(x);
        free(dy);
        dn_model_free(m);
    } else {
        dn_gpu_info info;
        dn_gpu_probe(&info, NULL, 0);
        printf("GPU: %s; deterministic mode, FP32 math for the comparisons\n", info.name);
    }

    /* the harness can fail: a planted 1% error in one value must be caught */
    {
        float a[64], b[64];
        dn_rng r;
        dn_rng_seed(&r, 1);
        fill(&r, a, 64, -1, 1);
        memcpy(b, a, sizeof a);
        b[17] *= 1.01f;
        int saved = failures;
        quiet = 1;
        int caught = !close_enough("planted", "value", b, a, 64, 1e-8) &&
                     !close_enough("planted", "value", b, a, 64, 0);
        quiet = 0;
        failures = saved;
        if (!caught)
            fail("the harness", "a planted error went unnoticed");
        else
            passes++, printf("ok   the harness catches a planted 1%% error\n");
        /* and finite differences catch a wrong input gradient (index 3 is sampled) */
        result cpu;
        if (run_case(&op_cases[0], DN_DEVICE_CPU, &cpu) == 0) {
            cpu.dx[3] += 0.5f * (fabsf(cpu.dx[3]) + 1.0f);
            quiet = 1;
            caught = !cpu_fd(&op_cases[0], &cpu);
            quiet = 0;
            failures = saved;
            if (!caught)
                fail("the harness", "finite differences missed a planted wrong gradient");
            else
                passes++, printf("ok   finite differences catch a planted wrong gradient\n");
        } else {
            fail("the harness", err);
        }
        result_free(&cpu);
    }

    for (int i = 0; i < NELEM(op_cases); i++) {
        const op_case *c = &op_cases[i];
        result cpu, g1, g2;
        if (run_case(c, DN_DEVICE_CPU, &cpu)) {
            fail(c->name, err);
            continue;
        }
        int ok = c->fd ? cpu_fd(c, &cpu) : cpu_dropout(c, &cpu);
        if (ok) {
            passes++;
            printf("ok   %-26s cpu (%s)\n", c->name, c->fd ? "finite differences" : "its mask");
            if (want_perf)
                perf(c, DN_DEVICE_CPU);
        }
        if (!gpu) {
            skips++;
            result_free(&cpu);
            continue;
        }
        if (run_case(c, DN_DEVICE_GPU, &g1)) {
            fail(c->name, err);
            result_free(&cpu);
            continue;
        }
        if (compare(c->name, &g1, &cpu, c->tol)) {
            if (run_case(c, DN_DEVICE_GPU, &g2))
                fail(c->name, err);
            else if (compare(c->name, &g2, &g1, 0)) {
                passes++;
                printf("ok   %-26s gpu (within %.0e of the cpu; a re-run gives the same bits)\n",
                       c->name, c->tol);
                if (want_perf)
                    perf(c, DN_DEVICE_GPU);
            }
            result_free(&g2);
        }
        result_free(&g1);
        result_free(&cpu);
    }

    for (int i = 0; i < NELEM(step_cases); i++) {
        const step_case *s = &step_cases[i];
        double lc[5], ac[5], lg[5], ag[5];
        float *wc = NULL, *wg = NULL;
        long nc = 0, ng = 0;
        if (run_steps(s, DN_DEVICE_CPU, lc, ac, &wc, &nc)) {
            fail(s->name, err);
            free(wc);
            continue;
        }
        /* the CPU is the reference here (its losses and optimisers are checked against
         * torch in test_torch_reference.py) */
        if (!gpu) {
            skips++;
            free(wc);
            continue;
        }
        if (run_steps(s, DN_DEVICE_GPU, lg, ag, &wg, &ng)) {
            fail(s->name, err);
        } else {
            int ok = 1;
            for (int k = 0; k < 5 && ok; k++)
                if (fabs(lg[k] - lc[k]) > 1e-5 * (fabs(lc[k]) + 1e-6) || ag[k] != ac[k]) {
                    printf("FAIL %s: step %d loss %.9g acc %.4g on the gpu, %.9g %.4g on the cpu\n",
                           s->name, k + 1, lg[k], ag[k], lc[k], ac[k]);
                    failures++;
                    ok = 0;
                }
            if (ok && close_enough(s->name, "weights after 5 steps", wg, wc, nc, 1e-10)) {
                passes++;
                printf("ok   %-26s gpu (5 steps: losses within 1e-5, weights within 1e-10)\n",
                       s->name);
            }
        }
        free(wc);
        free(wg);
    }

    /* the 20-step CNN: the CPU repeats itself; the GPU follows it and repeats itself */
    long n1 = 0, n2 = 0;
    float *c1 = run_cnn(DN_DEVICE_CPU, &n1), *c2 = c1 ? run_cnn(DN_DEVICE_CPU, &n2) : NULL;
    if (!c1 || !c2)
        fail("20-step CNN on the cpu", err);
    else if (close_enough("20-step CNN on the cpu", "a re-run's weights", c2, c1, n1, 0)) {
        passes++;
        printf("ok   20-step CNN cpu (a re-run gives the same bits)\n");
    }
    if (!gpu) {
        skips++;
    } else if (c1) {
        long ng = 0;
        float *g1 = run_cnn(DN_DEVICE_GPU, &ng), *g2 = g1 ? run_cnn(DN_DEVICE_GPU, &ng) : NULL;
        if (!g1 || !g2)
            fail("20-step CNN on the gpu", err);
        else if (close_enough("20-step CNN on the gpu", "weights against the cpu", g1, c1, n1, 1e-4) &&
                 close_enough("20-step CNN on the gpu", "a re-run's weights", g2, g1, n1, 0)) {
            passes++;
            printf("ok   20-step CNN gpu (within 1e-4 of the cpu; a re-run gives the same bits)\n");
        }
        free(g1);
        free(g2);
        /* the default mode (TF32 where the chip has it) repeats itself too */
        if (dn_gpu_set_mode(0, 1, err, sizeof err)) {
            fail("TF32 mode", err);
        } else {
            float *t1 = run_cnn(DN_DEVICE_GPU, &ng), *t2 = t1 ? run_cnn(DN_DEVICE_GPU, &ng) : NULL;
            if (!t1 || !t2)
                fail("20-step CNN, TF32", err);
            else if (close_enough("20-step CNN, TF32", "weights against the cpu", t1, c1, n1, 1e-2) &&
                     close_enough("20-step CNN, TF32", "a re-run's weights", t2, t1, n1, 0)) {
                passes++;
                printf("ok   20-step CNN gpu, TF32 (within 1e-2 of the cpu; a re-run gives the same bits)\n");
            }
            free(t1);
            free(t2);
        }
    }
    free(c1);
    free(c2);

    printf("%d passed, %d failed, %d skipped%s\n", passes, failures, skips,
           skips ? " (no GPU: the GPU cases did not run)" : "");
    return failures ? 1 : 0;
}
