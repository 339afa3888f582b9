/* Sequential models and their parts: optimiser updates against hand-computed values,
 * Keras-style names, summary and parameter counts, pop, freezing that takes effect at
 * once, named weight arrays, fit with progress and cancellation, predict's order,
 * and errors that name the layer and the shapes. */
#include "dn_runtime.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static char err[512];

/* two steps from w = (1, -2) with gradients (0.5, -0.1) then (0.2, 0.3) */
static void check_optimizer(const char *what, const dn_optimizer *o0, double w0, double w1)
{
    dn_optimizer o = *o0;
    float w[2] = {1.0f, -2.0f}, g[2];
    dn_param p = {.name = "w", .ndim = 1, .shape = {2}, .size = 2, .data = w, .grad = g};
    const float G[2][2] = {{0.5f, -0.1f}, {0.2f, 0.3f}};
    for (int s = 0; s < 2; s++) {
        memcpy(g, G[s], sizeof g);
        dn_optimizer_prepare(&o, &p, err, sizeof err);
        o.iterations++;
        dn_optimizer_apply(&o, &p);
    }
    CHECK(fabs(w[0] - w0) < 2e-6 && fabs(w[1] - w1) < 2e-6, "%s: (%.7f, %.7f), expected (%.7f, %.7f)",
          what, w[0], w[1], w0, w1);
    free(p.slot[0]);
    free(p.slot[1]);
}

static void optimizers(void)
{
    dn_optimizer o;
    dn_optimizer_defaults(&o, DN_OPT_SGD);
    CHECK(o.lr == 0.01f && o.momentum == 0.0f && !o.nesterov, "SGD defaults lr 0.01");
    o.lr = 0.1f;
    /* w -= 0.1 g twice: 1 - 0.05 - 0.02, -2 + 0.01 - 0.03 */
    check_optimizer("SGD(lr=0.1)", &o, 0.93, -2.02);
    o.momentum = 0.9f;
    /* v1 = -0.1 g1 = (-0.05, 0.01); v2 = 0.9 v1 - 0.1 g2 = (-0.065, -0.021); w = w0 + v1 + v2 */
    check_optimizer("SGD(lr=0.1, momentum=0.9)", &o, 0.885, -2.011);
    o.nesterov = 1;
    /* w += 0.9 v - 0.1 g each step: (-0.095, 0.019) then (-0.0785, -0.0489) */
    check_optimizer("SGD(lr=0.1, momentum=0.9, nesterov)", &o, 0.8265, -2.0299);
    dn_optimizer_defaults(&o, DN_OPT_RMSPROP);
    CHECK(o.lr == 0.001f && o.rho == 0.9f && o.epsilon == 1e-7f, "RMSprop defaults 0.001, 0.9, 1e-7");
    o.lr = 0.01f;
    /* a1 = 0.1 g1^2 -> step 0.01*sign = (0.9683772, -1.9683772); a2 = 0.9 a1 + 0.1 g2^2 */
    check_optimizer("RMSprop(lr=0.01)", &o, 0.9560913486, -1.9985284276);
    dn_optimizer_defaults(&o, DN_OPT_ADAM);
    CHECK(o.lr == 0.001f && o.beta1 == 0.9f && o.beta2 == 0.999f && o.epsilon == 1e-7f,
          "Adam defaults 0.001, 0.9, 0.999, 1e-7");
    /* the first Adam step is lr*sign(g): (0.999, -1.999); the second uses
     * lr_t = 0.001*sqrt(1-0.999^2)/(1-0.9^2) with m2 = 0.9 m1 + 0.1 g2, v2 = 0.999 v1 + 0.001 g2^2 */
    check_optimizer("Adam()", &o, 0.9981014364, -1.9994942165);
}

static void accuracy(void)
{
    const float p[6] = {0.2f, 0.7f, 0.1f, 0.6f, 0.3f, 0.1f}, y[6] = {0, 1, 0, 0, 0, 1};
    double cat = dn_accuracy_sum(DN_ACC_CATEGORICAL, p, y, 2, 3);
    const float pb[4] = {0.9f, 0.2f, 0.4f, 0.6f}, yb[4] = {1, 0, 1, 1};
    double bin = dn_accuracy_sum(DN_ACC_BINARY, pb, yb, 2, 2);
    CHECK(cat == 1.0 && bin == 1.5 && dn_accuracy_for(DN_LOSS_CATEGORICAL_CE, 3) == DN_ACC_CATEGORICAL &&
          dn_accuracy_for(DN_LOSS_BINARY_CE, 3) == DN_ACC_BINARY && dn_accuracy_for(DN_LOSS_MSE, 1) == DN_ACC_BINARY,
          "accuracy: categorical 1 of 2, binary 1.5 of 2, chosen as Keras 2 does");
    /* a confident wrong answer costs -log(1e-7), not infinity */
    const float pw[2] = {0.0f, 1.0f}, yw[2] = {1.0f, 0.0f};
    double l = dn_loss_eval(DN_LOSS_CATEGORICAL_CE, pw, yw, 1, 2, 0, NULL);
    CHECK(fabs(l - 16.118) < 1e-3, "categorical CE clipped at 1e-7: %.3f", l);
}

static dn_model *small_cnn(uint64_t seed)
{
    int in[3] = {8, 8, 1};
    dn_model *m = dn_model_new(seed, err, sizeof err);
    dn_model_set_input(m, 3, in, err, sizeof err);
    dn_model_add(m, dn_conv2d_new(4, 3, 3, 1, 1, DN_PAD_SAME, DN_ACT_RELU, 1, err, sizeof err), err, sizeof err);
    dn_model_add(m, dn_batchnorm_new(0.99f, 1e-3f, err, sizeof err), err, sizeof err);
    dn_model_add(m, dn_maxpool2d_new(2, 2, 0, 0, DN_PAD_VALID, err, sizeof err), err, sizeof err);
    dn_model_add(m, dn_flatten_new(err, sizeof err), err, sizeof err);
    dn_model_add(m, dn_dense_new(8, DN_ACT_RELU, 1, err, sizeof err), err, sizeof err);
    dn_model_add(m, dn_dropout_new(0.5f, err, sizeof err), err, sizeof err);
    dn_model_add(m, dn_dense_new(2, DN_ACT_SOFTMAX, 1, err, sizeof err), err, sizeof err);
    return m;
}

static void structure(void)
{
    dn_model *m = small_cnn(1);
    dn_summary_row rows[16];
    int n = dn_model_summary(m, rows, 16);
    const char *names[] = {"conv2d_1", "batch_normalization_1", "max_pooling2d_1", "flatten_1",
                           "dense_1", "dropout_1", "dense_2"};
    int named = n == 7;
    for (int i = 0; named && i < 7; i++)
        named = !strcmp(rows[i].name, names[i]);
    CHECK(named, "Keras-style names conv2d_1 ... dense_2");
    CHECK(!strcmp(rows[0].output_shape, "(None, 8, 8, 4)") && !strcmp(rows[3].output_shape, "(None, 64)") &&
          rows[0].params == 40 && rows[1].params == 16 && rows[4].params == 520 && rows[6].params == 18,
          "summary shapes %s %s, params 40 16 520 18", rows[0].output_shape, rows[3].output_shape);
    long t, nt;
    dn_model_count_params(m, &t, &nt);
    CHECK(t == 40 + 8 + 520 + 18 && nt == 8, "params: %ld trainable, %ld non-trainable", t, nt);

    dn_wlayer w[16];
    dn_model_weights(m, w, 16);
    CHECK(w[0].narrays == 2 && !strcmp(w[0].arrays[0].name, "kernel") && w[0].arrays[0].ndim == 4 &&
          w[0].arrays[0].shape[0] == 3 && w[0].arrays[0].shape[2] == 1 && w[0].arrays[0].shape[3] == 4 &&
          w[1].narrays == 4 && !strcmp(w[1].arrays[3].name, "moving_variance") &&
          w[3].narrays == 0 && !strcmp(w[4].class_name, "Dense") && w[4].arrays[0].shape[0] == 64 &&
          w[0].arrays[0].data == dn_layer_param(dn_model_layer(m, 0), 0)->data,
          "weight arrays: HWIO conv kernel, BN's four vectors, Dense (in, out), pointing at the model");

    /* Glorot-uniform: |w| <= sqrt(6/(fan_in+fan_out)), zero bias */
    dn_param *k = dn_layer_param(dn_model_layer(m, 4), 0);
    float lim = sqrtf(6.0f / (64 + 8)), mx = 0;
    for (long i = 0; i < k->size; i++)
        mx = fmaxf(mx, fabsf(k->data[i]));
    CHECK(mx <= lim && mx > 0.9f * lim && dn_layer_param(dn_model_layer(m, 4), 1)->data[0] == 0.0f,
          "Glorot-uniform kernel (max |w| %.4f, limit %.4f), zero bias", mx, lim);

    dn_model *m2 = small_cnn(1);
    CHECK(!memcmp(dn_layer_param(dn_model_layer(m2, 4), 0)->data, k->data, (size_t)k->size * sizeof(float)),
          "same seed, same initial weights");
    dn_model_free(m2);

    CHECK(dn_model_pop(m, err, sizeof err) == 0 && dn_model_nlayers(m) == 6, "pop");
    dn_model_add(m, dn_dense_new(3, DN_ACT_SOFTMAX, 1, err, sizeof err), err, sizeof err);
    CHECK(!strcmp(dn_layer_name(dn_model_layer(m, 6)), "dense_3"), "a layer added after pop is dense_3");

    dn_layer *dup = dn_dense_new(2, DN_ACT_LINEAR, 1, err, sizeof err);
    dn_layer_set_name(dup, "dense_1", err, sizeof err);
    CHECK(dn_model_add(m, dup, err, sizeof err) == DN_ERROR && strstr(err, "dense_1"),
          "duplicate name refused: %s", err);

    dn_layer *bad = dn_conv2d_new(2, 3, 3, 1, 1, DN_PAD_VALID, DN_ACT_RELU, 1, err, sizeof err);
    CHECK(dn_model_add(m, bad, err, sizeof err) == DN_ERROR && strstr(err, "conv2d_2") && strstr(err, "(None, 3)"),
          "Conv2D after Dense refused: %s", err);
    CHECK(dn_dense_new(0, DN_ACT_LINEAR, 1, err, sizeof err) == NULL && strstr(err, "units"),
          "Dense(0) refused: %s", err);
    err[0] = 0;
    CHECK(dn_model_add(m, dn_dense_new(-1, DN_ACT_LINEAR, 1, err, sizeof err), err, sizeof err) == DN_ERROR &&
          strstr(err, "got -1"), "adding a failed constructor's NULL keeps its message: %s", err);
    dn_model_free(m);

    int in7[3] = {2, 2, 1};
    m = dn_model_new(1, err, sizeof err);
    dn_model_set_input(m, 3, in7, err, sizeof err);
    CHECK(dn_model_add(m, dn_conv2d_new(1, 3, 3, 1, 1, DN_PAD_VALID, DN_ACT_LINEAR, 1, err, sizeof err),
                       err, sizeof err) == DN_ERROR && strstr(err, "kernel (3, 3)") && strstr(err, "2x2"),
          "kernel larger than the input refused: %s", err);
    dn_model_free(m);
}

typedef struct progress {
    int batches, epochs;
    long last_seen, last_total;
    int stop_after;
    int asked;
} progress;

static void on_batch(void *u, int epoch, long seen, long total, const dn_metrics *r)
{
    (void)epoch;
    (void)r;
    progress *p = u;
    p->batches++;
    p->last_seen = seen;
    p->last_total = total;
}

static void on_epoch(void *u, const dn_epoch_log *log)
{
    (void)log;
    ((progress *)u)->epochs++;
}

static int should_stop(void *u)
{
    progress *p = u;
    return p->stop_after >= 0 && p->asked++ >= p->stop_after;
}

static void training(void)
{
    enum { N = 40 };
    static float x[N * 64], y[N * 2];
    dn_rng r;
    dn_rng_seed(&r, 9);
    for (int i = 0; i < N; i++) {
        int cls = i % 2;
        for (int j = 0; j < 64; j++)
            x[i * 64 + j] = dn_rng_uniform(&r) + (cls && (j % 8) < 4 ? 1.0f : 0.0f);
        y[2 * i] = (float)!cls;
        y[2 * i + 1] = (float)cls;
    }
    int xs[4] = {N, 8, 8, 1};
    dn_model *m = small_cnn(2);
    dn_optimizer adam;
    dn_optimizer_defaults(&adam, DN_OPT_ADAM);
    adam.lr = 0.01f;
    dn_model_compile(m, &adam, DN_LOSS_CATEGORICAL_CE, 1, err, sizeof err);
    dn_batch_source *tr = dn_array_source_new(x, 4, xs, y, 2, 8, 1, 5, err, sizeof err);
    dn_batch_source *va = dn_array_source_new(x, 4, xs, y, 2, 16, 0, 0, err, sizeof err);
    progress p = {.stop_after = -1};
    dn_callbacks cb = {.user = &p, .on_batch = on_batch, .on_epoch = on_epoch, .should_stop = should_stop};
    dn_epoch_log hist[6];
    int rc = dn_model_fit(m, tr, 6, va, &cb, hist, err, sizeof err);
    CHECK(rc == DN_OK && p.batches == 30 && p.epochs == 6 && p.last_seen == N && p.last_total == N,
          "fit: 6 epochs, %d batch callbacks, seen %ld/%ld", p.batches, p.last_seen, p.last_total);
    CHECK(hist[5].train.loss < hist[0].train.loss && hist[5].has_val && hist[5].val.acc >= 0.9 &&
          hist[5].seconds > 0,
          "loss %.3f -> %.3f, val_loss %.3f val_acc %.2f", hist[0].train.loss, hist[5].train.loss,
          hist[5].val.loss, hist[5].val.acc);

    /* freezing takes effect at once: frozen weights and BN statistics stay put */
    for (int i = 0; i < 5; i++)
        dn_layer_set_trainable(dn_model_layer(m, i), 0);
    dn_param *ck = dn_layer_param(dn_model_layer(m, 0), 0), *mm = dn_layer_param(dn_model_layer(m, 1), 2);
    dn_param *top = dn_layer_param(dn_model_layer(m, 6), 0);
    float c0 = ck->data[0], m0 = mm->data[0], t0 = top->data[0];
    long t, nt;
    dn_model_count_params(m, &t, &nt);
    dn_metrics bm;
    /* backward stops above the frozen layers: their gradients are not even computed */
    ck->grad[0] = 12345.0f;
    dn_param *d1 = dn_layer_param(dn_model_layer(m, 4), 0);
    d1->grad[0] = 12345.0f;
    dn_model_train_on_batch(m, x, y, 8, &bm, err, sizeof err);
    CHECK(ck->data[0] == c0 && mm->data[0] == m0 && top->data[0] != t0 && t == 18,
          "frozen layers unchanged, the top one learns (%ld trainable)", t);
    CHECK(ck->grad[0] == 12345.0f && d1->grad[0] == 12345.0f,
          "no gradient computed for frozen layers");

    /* the learning rate is read at every step */
    dn_model_optimizer(m)->lr = 0.0f;
    float t1 = top->data[0];
    dn_model_train_on_batch(m, x, y, 8, &bm, err, sizeof err);
    CHECK(top->data[0] == t1, "lr set to 0 between steps: no change");
    dn_model_optimizer(m)->lr = 0.01f;
    dn_layer_set_trainable(dn_model_layer(m, 0), 1);
    dn_model_train_on_batch(m, x, y, 8, &bm, err, sizeof err);
    CHECK(ck->data[0] != c0, "unfrozen again: conv2d_1 learns without recompiling");

    /* cancellation: stop before the 3rd step; the weights are the 2nd step's */
    float before[16];
    memcpy(before, top->data, sizeof before);   /* dense_2's kernel: (8, 2) */
    progress q = {.stop_after = 2};
    cb.user = &q;
    rc = dn_model_fit(m, tr, 3, NULL, &cb, NULL, err, sizeof err);
    CHECK(rc == DN_INTERRUPTED && q.batches == 2 && top->size == 16 && memcmp(before, top->data, sizeof before),
          "interrupted fit returns DN_INTERRUPTED after %d steps", q.batches);

    /* predict: rows in source order even from a shuffled source */
    static float pa[N * 2], pb[N * 2];
    long done = 0;
    dn_model_predict(m, va, pa, N, &done, NULL, err, sizeof err);
    rc = dn_model_predict(m, tr, pb, N, &done, NULL, err, sizeof err);
    float worst = 0;
    for (int i = 0; i < N * 2; i++)
        worst = fmaxf(worst, fabsf(pa[i] - pb[i]));
    /* batches of 16 and 8 may round differently inside sgemm, hence not bit-exact */
    CHECK(rc == DN_OK && done == N && worst < 1e-5f,
          "predict: a shuffled source gives rows in source order (max diff %.1e)", worst);
    /* predict keeps only the model's output; dn_model_forward keeps every layer's */
    float dy[16];
    CHECK(dn_layer_output(dn_model_layer(m, 1)) == NULL && dn_layer_output(dn_model_layer(m, 6)) &&
          dn_model_backward(m, dy, 8, NULL, err, sizeof err) == DN_ERROR,
          "after predict only the last output is kept (backward refused: %s)", err);
    dn_model_forward(m, x, 5, 0, err, sizeof err);
    const dn_tensor *t2 = dn_layer_output_tensor(dn_model_layer(m, 1));
    CHECK(t2 && t2->ndim == 4 && t2->shape[0] == 5 && t2->shape[1] == 8 && t2->shape[3] == 4 &&
          dn_layer_output(dn_model_layer(m, 1)) == t2->data,
          "after dn_model_forward a layer's output with its shape (5, 8, 8, 4)");
    float s = pa[0] + pa[1];
    CHECK(fabsf(s - 1.0f) < 1e-5f, "softmax rows sum to 1 (%.6f)", s);

    int ws[4] = {N, 8, 8, 2};
    dn_batch_source *wrong = dn_array_source_new(x, 4, ws, y, 2, 8, 0, 0, err, sizeof err);
    rc = dn_model_fit(m, wrong, 1, NULL, NULL, NULL, err, sizeof err);
    CHECK(rc == DN_ERROR && strstr(err, "(None, 8, 8, 1)") && strstr(err, "(8, 8, 8, 2)"),
          "wrong input shape: %s", err);
    wrong->ops->free(wrong);
    dn_batch_source *wy = dn_array_source_new(x, 4, xs, y, 1, 8, 0, 0, err, sizeof err);
    rc = dn_model_evaluate(m, wy, NULL, NULL, err, sizeof err);
    CHECK(rc == DN_ERROR && strstr(err, "2 outputs"), "wrong label width: %s", err);
    wy->ops->free(wy);

    tr->ops->free(tr);
    va->ops->free(va);
    dn_model_free(m);

    dn_model *u = small_cnn(3);
    CHECK(dn_model_train_on_batch(u, x, y, 4, NULL, err, sizeof err) == DN_ERROR && strstr(err, "compile"),
          "training before compile: %s", err);
    dn_model_free(u);
}

int main(void)
{
    optimizers();
    accuracy();
    structure();
    training();
    printf("%s\n", failures ? "FAILED" : "all model checks pass");
    return failures != 0;
}
