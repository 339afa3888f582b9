/* bench_finetune — fine-tuning as lesson 2 does it, epoch after epoch: the lesson's base
 * network (Conv 32, BN, pool, Conv 64, BN, pool, Flatten, Dense 256, Dropout, Dense)
 * with everything frozen but a new top, trained one epoch per call with a validation
 * pass, on Fashion-MNIST images from Debian's dataset-fashion-mnist laid out as folders.
 * Epoch 1 computes the frozen layers and keeps their outputs; later epochs reuse them.
 * The same epochs with reuse off are timed too, and their weights must be the same bits.
 * Prints key=value lines, `finetune=R` (epoch 1 / epoch 2 with reuse) last.
 * Usage: bench_finetune [images per class, default 1500] */
#include "dn_runtime.h"
#include "data/dirsource.h"
#include "data/fashion.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char err[1024];

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_finetune: %s: %s\n", what, err);
    exit(1);
}

/* the base network, trained on nothing (its weights do not change the timing), then
 * %finetune's steps: pop the top, freeze the rest, a new Dense top, compile */
static dn_model *finetuned(int classes)
{
    int in[3] = {28, 28, 1};
    dn_model *m = dn_model_new(3, err, sizeof err);
    int rc = !m || dn_model_set_input(m, 3, in, err, sizeof err);
    rc = rc || dn_model_add(m, dn_conv2d_new(32, 3, 3, 1, 1, DN_PAD_SAME, DN_ACT_RELU, 1, err, sizeof err), err, sizeof err);
    rc = rc || dn_model_add(m, dn_batchnorm_new(0.99f, 1e-3f, err, sizeof err), err, sizeof err);
    rc = rc || dn_model_add(m, dn_maxpool2d_new(2, 2, 0, 0, DN_PAD_VALID, err, sizeof err), err, sizeof err);
    rc = rc || dn_model_add(m, dn_conv2d_new(64, 3, 3, 1, 1, DN_PAD_SAME, DN_ACT_RELU, 1, err, sizeof err), err, sizeof err);
    rc = rc || dn_model_add(m, dn_batchnorm_new(0.99f, 1e-3f, err, sizeof err), err, sizeof err);
    rc = rc || dn_model_add(m, dn_maxpool2d_new(2, 2, 0, 0, DN_PAD_VALID, err, sizeof err), err, sizeof err);
    rc = rc || dn_model_add(m, dn_flatten_new(err, sizeof err), err, sizeof err);
    rc = rc || dn_model_add(m, dn_dense_new(256, DN_ACT_RELU, 1, err, sizeof err), err, sizeof err);
    rc = rc || dn_model_add(m, dn_dropout_new(0.5f, err, sizeof err), err, sizeof err);
    rc = rc || dn_model_add(m, dn_dense_new(8, DN_ACT_SOFTMAX, 1, err, sizeof err), err, sizeof err);
    rc = rc || dn_model_pop(m, err, sizeof err);
    for (int i = 0; !rc && i < dn_model_nlayers(m); i++)
        dn_layer_set_trainable(dn_model_layer(m, i), 0);
    rc = rc || dn_model_add(m, dn_dense_new(classes, DN_ACT_SOFTMAX, 1, err, sizeof err), err, sizeof err);
    dn_optimizer adam;
    dn_optimizer_defaults(&adam, DN_OPT_ADAM);
    rc = rc || dn_model_compile(m, &adam, DN_LOSS_CATEGORICAL_CE, 1, err, sizeof err);
    if (rc)
        die("building the model");
    return m;
}

static dn_batch_source *folder(const char *dir, int shuffle)
{
    dn_dir_options o;
    dn_dir_options_init(&o, dir);
    o.width = o.height = 28;
    o.channels = 1;
    o.preprocess = DN_PRE_SCALE01;
    o.shuffle = shuffle;
    o.seed = 42;
    dn_dir_source *s;
    if (dn_dir_source_new(&o, &s, err, sizeof err))
        die(dir);
    return dn_dir_source_base(s);
}

enum { EPOCHS = 3 };

/* seconds of each epoch (fit one epoch, then evaluate on val, as %fit does) */
static void run(dn_model *m, const char *train, const char *valid, double *secs)
{
    dn_batch_source *tr = folder(train, 1), *va = folder(valid, 0);
    for (int e = 0; e < EPOCHS; e++) {
        double t0 = now();
        dn_metrics v;
        if (dn_model_fit(m, tr, 1, NULL, NULL, NULL, err, sizeof err) ||
            dn_model_evaluate(m, va, NULL, &v, err, sizeof err))
            die("an epoch");
        secs[e] = now() - t0;
        printf("  epoch %d: %.2f s, val_acc %.4f%s\n", e + 1, secs[e], v.acc,
               dn_model_reuse_note(m)[0] ? "" : " (nothing kept)");
        fflush(stdout);
    }
    tr->ops->free(tr);
    va->ops->free(va);
}

static int same_weights(dn_model *a, dn_model *b)
{
    dn_wlayer wa[16], wb[16];
    int n = dn_model_weights(a, wa, 16);
    dn_model_weights(b, wb, 16);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < wa[i].narrays; j++) {
            long size = 1;
            for (int d = 0; d < wa[i].arrays[j].ndim; d++)
                size *= wa[i].arrays[j].shape[d];
            if (memcmp(wa[i].arrays[j].data, wb[i].arrays[j].data, sizeof(float) * (size_t)size))
                return 0;
        }
    return 1;
}

int main(int argc, char **argv)
{
    long per_class = argc > 1 ? atol(argv[1]) : 1500;
    char dir[] = "/tmp/deepnb-bench-finetune-XXXXXX", out[256], train[300], valid[300];
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(out, sizeof out, "%s/set", dir);
    dn_fashion_options fo;
    dn_fashion_options_init(&fo, out);
    fo.limit = per_class;
    fo.pretrain = 1;
    dn_fashion_result fr;
    if (dn_fashion_make(&fo, &fr, err, sizeof err))
        die("making the images");
    snprintf(train, sizeof train, "%s/pretrain/train", out);
    snprintf(valid, sizeof valid, "%s/pretrain/valid", out);
    char where[256];
    dn_cpu_describe(where, sizeof where);
    printf("fine-tuning on %ld training and %ld validation images (28x28), batches of 64\n%s\n",
           fr.pretrain_train, fr.pretrain_valid, where);

    double on[EPOCHS], off[EPOCHS];
    printf("reuse on:\n");
    dn_model *a = finetuned(8);
    run(a, train, valid, on);
    printf("  %s\n", dn_model_reuse_note(a));
    printf("reuse off:\n");
    dn_model *b = finetuned(8);
    dn_model_set_reuse(b, 0);
    run(b, train, valid, off);
    int same = same_weights(a, b);
    printf("weights after %d epochs with and without reuse: %s\n", EPOCHS,
           same ? "the same bits" : "DIFFERENT");
    dn_model_free(a);
    dn_model_free(b);
    dn_remove_tree(dir, err, sizeof err);
    printf("epoch2_reuse_s=%.3f epoch2_noreuse_s=%.3f\n", on[1], off[1]);
    printf("finetune=%.1f\n", on[0] / on[1]);
    return same ? 0 : 1;
}
