/* Frozen-prefix reuse: two models built from one seed, one keeping and reusing its
 * frozen layers' outputs and one computing them every time, trained on sources with
 * the same shuffled order, must have bit-identical weights and metrics after every
 * epoch: through epochs that fill the kept outputs and epochs that reuse them, an
 * interrupted epoch, a change to a frozen weight (as %load_weights makes), unfreezing,
 * outputs kept on disk, and validation passes. */
#include "dn_runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

static char err[512];

enum { N = 53, NV = 21, H = 12, W = 12, C = 3, K = 4 };
static float X[N * H * W * C], Y[N * K], XV[NV * H * W * C], YV[NV * K];

static void make_data(void)
{
    dn_rng r;
    dn_rng_seed(&r, 7);
    for (size_t i = 0; i < sizeof X / sizeof *X; i++)
        X[i] = dn_rng_uniform(&r);
    for (size_t i = 0; i < sizeof XV / sizeof *XV; i++)
        XV[i] = dn_rng_uniform(&r);
    for (int i = 0; i < N; i++)
        Y[i * K + dn_rng_below(&r, K)] = 1.0f;
    for (int i = 0; i < NV; i++)
        YV[i * K + dn_rng_below(&r, K)] = 1.0f;
}

/* conv, frozen BN, pool, flatten, dense, dropout, dense: layers 0..6 */
static dn_model *build(void)
{
    dn_model *m = dn_model_new(42, err, sizeof err);
    int shape[3] = {H, W, C};
    int ok = m && !dn_model_set_input(m, 3, shape, err, sizeof err) &&
             !dn_model_add(m, dn_conv2d_new(8, 3, 3, 1, 1, DN_PAD_SAME, DN_ACT_RELU, 1, err, sizeof err), err, sizeof err) &&
             !dn_model_add(m, dn_batchnorm_new(0.99f, 1e-3f, err, sizeof err), err, sizeof err) &&
             !dn_model_add(m, dn_maxpool2d_new(2, 2, 0, 0, DN_PAD_VALID, err, sizeof err), err, sizeof err) &&
             !dn_model_add(m, dn_flatten_new(err, sizeof err), err, sizeof err) &&
             !dn_model_add(m, dn_dense_new(16, DN_ACT_RELU, 1, err, sizeof err), err, sizeof err) &&
             !dn_model_add(m, dn_dropout_new(0.3f, err, sizeof err), err, sizeof err) &&
             !dn_model_add(m, dn_dense_new(K, DN_ACT_SOFTMAX, 1, err, sizeof err), err, sizeof err);
    dn_optimizer o;
    dn_optimizer_defaults(&o, DN_OPT_ADAM);
    ok = ok && !dn_model_compile(m, &o, DN_LOSS_CATEGORICAL_CE, 1, err, sizeof err);
    if (!ok) {
        printf("FAIL building: %s\n", err);
        exit(1);
    }
    for (int i = 0; i < 6; i++)
        dn_layer_set_trainable(dn_model_layer(m, i), 0);
    return m;
}

typedef struct pair {
    dn_model *m[2];                 /* 0 reuses, 1 does not */
    dn_batch_source *tr[2], *va[2];
} pair;

static void pair_init(pair *p)
{
    int xs[4] = {N, H, W, C}, vs[4] = {NV, H, W, C};
    for (int k = 0; k < 2; k++) {
        p->m[k] = build();
        p->tr[k] = dn_array_source_new(X, 4, xs, Y, K, 8, 1, 99, err, sizeof err);
        p->va[k] = dn_array_source_new(XV, 4, vs, YV, K, 10, 0, 0, err, sizeof err);
    }
    dn_model_set_reuse(p->m[1], 0);
}

static void pair_fini(pair *p)
{
    for (int k = 0; k < 2; k++) {
        dn_model_free(p->m[k]);
        p->tr[k]->ops->free(p->tr[k]);
        p->va[k]->ops->free(p->va[k]);
    }
}

static int same_weights(pair *p)
{
    dn_wlayer a[16], b[16];
    int n = dn_model_weights(p->m[0], a, 16);
    dn_model_weights(p->m[1], b, 16);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < a[i].narrays; j++) {
            long size = 1;
            for (int d = 0; d < a[i].arrays[j].ndim; d++)
                size *= a[i].arrays[j].shape[d];
            if (memcmp(a[i].arrays[j].data, b[i].arrays[j].data, (size_t)size * sizeof(float)))
                return 0;
        }
    return 1;
}

/* array j of layer i of model m */
static float *weights_of(dn_model *m, int i, int j)
{
    dn_wlayer w[16];
    dn_model_weights(m, w, 16);
    return (float *)w[i].arrays[j].data;
}

static int stop_after;   /* steps before should_stop says yes; <0 never */
static int countdown(void *u)
{
    (void)u;
    return stop_after >= 0 && stop_after-- == 0;
}

/* one epoch and a validation pass on both; what the reusing model's note says */
static void epoch(pair *p, const char *what, const char *note_starts)
{
    dn_metrics t[2], v[2];
    int rc[2];
    for (int k = 0; k < 2; k++) {
        int saved = stop_after;
        dn_callbacks cb = {.should_stop = countdown};
        dn_epoch_log log;
        rc[k] = dn_model_fit(p->m[k], p->tr[k], 1, NULL, &cb, &log, err, sizeof err);
        t[k] = log.train;
        if (rc[k] == DN_OK)
            rc[k] = dn_model_evaluate(p->m[k], p->va[k], NULL, &v[k], err, sizeof err);
        stop_after = saved;
    }
    int done = rc[0] == DN_OK;
    CHECK(rc[0] == rc[1] && (rc[0] == DN_OK || rc[0] == DN_INTERRUPTED), "%s: both %s (%d %d) %s",
          what, done ? "complete" : "interrupted", rc[0], rc[1], err);
    CHECK(same_weights(p), "%s: bit-identical weights", what);
    if (done)
        CHECK(t[0].loss == t[1].loss && t[0].acc == t[1].acc && v[0].loss == v[1].loss &&
                  v[0].acc == v[1].acc,
              "%s: identical metrics (train %a %a acc %a %a, val %a %a acc %a %a)", what, t[0].loss,
              t[1].loss, t[0].acc, t[1].acc, v[0].loss, v[1].loss, v[0].acc, v[1].acc);
    const char *note = dn_model_reuse_note(p->m[0]);
    CHECK(!strncmp(note, note_starts, strlen(note_starts)), "%s: note \"%s\"", what, note);
    CHECK(!dn_model_reuse_note(p->m[1])[0], "%s: no note without reuse", what);
}

/* A frozen prefix's outputs for one example, bit for bit the same at every place in
 * batches of many sizes: convolutions (small-product, im2col and Winograd paths), pooling
 * and a Dense layer whose BLAS product would treat rows by their place. */
static void batch_invariance(void)
{
    enum { IH = 14, IW = 14, IC = 16, IN = 140 };
    dn_model *m = dn_model_new(5, err, sizeof err);
    int shape[3] = {IH, IW, IC};
    int ok = m && !dn_model_set_input(m, 3, shape, err, sizeof err) &&
             !dn_model_add(m, dn_conv2d_new(64, 3, 3, 1, 1, DN_PAD_SAME, DN_ACT_RELU, 1, err, sizeof err), err, sizeof err) &&
             !dn_model_add(m, dn_conv2d_new(64, 3, 3, 1, 1, DN_PAD_SAME, DN_ACT_RELU, 1, err, sizeof err), err, sizeof err) &&
             !dn_model_add(m, dn_maxpool2d_new(2, 2, 0, 0, DN_PAD_VALID, err, sizeof err), err, sizeof err) &&
             !dn_model_add(m, dn_conv2d_new(40, 5, 5, 1, 1, DN_PAD_SAME, DN_ACT_RELU, 1, err, sizeof err), err, sizeof err) &&
             !dn_model_add(m, dn_flatten_new(err, sizeof err), err, sizeof err) &&
             !dn_model_add(m, dn_dense_new(20, DN_ACT_RELU, 1, err, sizeof err), err, sizeof err) &&
             !dn_model_add(m, dn_dense_new(4, DN_ACT_SOFTMAX, 1, err, sizeof err), err, sizeof err);
    CHECK(ok, "a CNN for batch invariance %s", ok ? "" : err);
    if (!ok)
        return;
    for (int i = 0; i < 6; i++)
        dn_layer_set_trainable(dn_model_layer(m, i), 0);
    const long per = (long)IH * IW * IC;
    float *xs = malloc(sizeof(float) * per * IN), *xb = malloc(sizeof(float) * per * IN);
    dn_rng r;
    dn_rng_seed(&r, 3);
    for (long i = 0; i < per * IN; i++)
        xs[i] = dn_rng_uniform(&r);
    const int sizes[] = {1, 2, 5, 7, 8, 9, 12, 16, 63, 64, 65, 100, 128, 130};
    float *ref[6] = {0};
    int same = 1;
    char where[128] = "";
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
        int n = sizes[si];
        /* example 0 last, after others */
        for (int i = 0; i < n; i++)
            memcpy(xb + i * per, xs + ((i + 1) % IN) * per, sizeof(float) * per);
        memcpy(xb + (n - 1) * per, xs, sizeof(float) * per);
        if (!dn_model_forward(m, xb, n, 1, err, sizeof err)) {
            CHECK(0, "forward of %d: %s", n, err);
            break;
        }
        for (int li = 0; li < 6; li++) {
            const dn_layer *l = dn_model_layer(m, li);
            int os[3], nd = dn_layer_output_shape(l, os);
            long sz = 1;
            for (int d = 0; d < nd; d++)
                sz *= os[d];
            const float *o = dn_layer_output(l) + (n - 1) * sz;
            if (!ref[li]) {
                ref[li] = malloc(sizeof(float) * sz);
                memcpy(ref[li], o, sizeof(float) * sz);
            } else if (memcmp(ref[li], o, sizeof(float) * sz) && same) {
                same = 0;
                snprintf(where, sizeof where, " (layer %d differs at place %d of %d)", li, n - 1, n);
            }
        }
    }
    const char *core = getenv("OPENBLAS_CORETYPE");
    CHECK(same, "frozen layers give an example the same bits at any place in any batch, "
          "OpenBLAS kernels %s%s", core ? core : "of its own choice", where);
    for (int li = 0; li < 6; li++)
        free(ref[li]);
    free(xs);
    free(xb);
    dn_model_free(m);
}

int main(void)
{
    const char *core = getenv("OPENBLAS_CORETYPE");
    if (core && !strcmp(core, "SkylakeX") && !__builtin_cpu_supports("avx512f")) {
        printf("skipped: OpenBLAS's SkylakeX kernels need AVX-512, which this CPU lacks\n");
        return 77;
    }
    batch_invariance();
    make_data();
    stop_after = -1;
    pair p;
    pair_init(&p);
    epoch(&p, "epoch 1", "Kept the outputs of the frozen layers up to dense_1 (the first 5)");
    epoch(&p, "epoch 2", "Reused the kept outputs of the frozen layers up to dense_1");
    epoch(&p, "epoch 3", "Reused");

    /* a frozen weight changes, as loading weights does: the kept outputs are stale */
    for (int k = 0; k < 2; k++)
        weights_of(p.m[k], 0, 0)[5] += 0.25f;
    epoch(&p, "after a frozen weight changed", "Kept");
    epoch(&p, "the epoch after that", "Reused");

    /* unfreezing dense_1 moves the cut down to flatten */
    for (int k = 0; k < 2; k++)
        dn_layer_set_trainable(dn_model_layer(p.m[k], 4), 1);
    epoch(&p, "dense_1 unfrozen", "Kept the outputs of the frozen layers up to flatten_1 (the first 4)");
    epoch(&p, "dense_1 unfrozen, next epoch", "Reused the kept outputs of the frozen layers up to flatten_1");

    /* an interrupted filling epoch: what it kept is used, the rest is computed next time */
    stop_after = 3;
    for (int k = 0; k < 2; k++)
        weights_of(p.m[k], 1, 0)[0] *= 0.5f;   /* gamma: new prefix */
    epoch(&p, "interrupted after 3 steps", "");   /* the note comes with a finished pass */
    stop_after = -1;
    epoch(&p, "after the interruption", "Kept");
    epoch(&p, "then", "Reused");

    /* everything learns: nothing to keep */
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < 7; i++)
            dn_layer_set_trainable(dn_model_layer(p.m[k], i), 1);
    epoch(&p, "nothing frozen", "");
    pair_fini(&p);

    /* kept on disk when memory may not hold them */
    char dir[] = "/tmp/deepnb-reuse-test-XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "a scratch folder");
    setenv("DEEPNB_REUSE_MEMORY", "0", 1);
    setenv("DEEPNB_CACHE_DIR", dir, 1);
    pair_init(&p);
    char want[700];
    snprintf(want, sizeof want, "Kept the outputs of the frozen layers up to dense_1 (the first 5) "
             "for 53 examples (4.1 KiB on disk in %s, freed when the kernel ends)", dir);
    epoch(&p, "on disk, epoch 1", want);
    epoch(&p, "on disk, epoch 2", "Reused");
    pair_fini(&p);
    CHECK(rmdir(dir) == 0, "nothing left in the cache folder (the file was unlinked)");

    /* no room anywhere: computed every time, and said */
    setenv("DEEPNB_CACHE_DIR", "/proc/no-such-place", 1);
    pair_init(&p);
    epoch(&p, "no room", "The outputs of the frozen layers up to dense_1 are not kept: cannot use /proc/no-such-place");
    epoch(&p, "no room, epoch 2", "The outputs of the frozen layers up to dense_1 are not kept");
    pair_fini(&p);

    return check_done();
}
