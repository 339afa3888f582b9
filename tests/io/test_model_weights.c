/* test_model_weights.c — dn_model_save_weights / dn_model_load_weights on real models and
 * files: a round trip gives byte-identical predictions (with and without
 * BatchNormalization, in Keras 2's layout and, for a ".weights.h5" name, Keras 3's), a
 * mismatching file changes nothing, a load keeps the optimiser's state as Keras does and
 * training goes on from the loaded weights exactly as from the saved ones, and a save
 * that cannot write leaves the old file as it was. */
#include "check.h"
#include "dn_runtime.h"

#include <hdf5.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define N 5          /* examples */
#define H 8
#define W 8
#define C 2
#define IN (H * W * C)

static char err[1024];

/* conv2d_1 (4 filters, same, relu) [batch_normalization_1] max_pooling2d_1 flatten_1
 * dense_1 (6, relu) dense_2 (out, softmax) [dense_3 (2) when extra] */
static dn_model *build(uint64_t seed, int bn, int out, int extra)
{
    char e[512];
    dn_model *m = dn_model_new(seed, e, sizeof e);
    if (!m)
        return NULL;
    int rc = dn_model_set_input(m, 3, (int[]){H, W, C}, e, sizeof e);
    rc |= dn_model_add(m, dn_conv2d_new(4, 3, 3, 1, 1, DN_PAD_SAME, DN_ACT_RELU, 1, e, sizeof e),
                       e, sizeof e);
    if (bn)
        rc |= dn_model_add(m, dn_batchnorm_new(0.99f, 1e-3f, e, sizeof e), e, sizeof e);
    rc |= dn_model_add(m, dn_maxpool2d_new(2, 2, 0, 0, DN_PAD_VALID, e, sizeof e), e, sizeof e);
    rc |= dn_model_add(m, dn_flatten_new(e, sizeof e), e, sizeof e);
    rc |= dn_model_add(m, dn_dense_new(6, DN_ACT_RELU, 1, e, sizeof e), e, sizeof e);
    rc |= dn_model_add(m, dn_dense_new(out, DN_ACT_SOFTMAX, 1, e, sizeof e), e, sizeof e);
    if (extra)
        rc |= dn_model_add(m, dn_dense_new(2, DN_ACT_SOFTMAX, 1, e, sizeof e), e, sizeof e);
    if (rc) {
        printf("cannot build the model: %s\n", e);
        dn_model_free(m);
        return NULL;
    }
    return m;
}

static void data(float *x, float *y, int out, float phase)
{
    for (int i = 0; i < N * IN; i++)
        x[i] = (float)((i * 7919 % 113) - 56) / 40.0f + phase;
    memset(y, 0, sizeof(float) * N * out);
    for (int i = 0; i < N; i++)
        y[i * out + i % out] = 1.0f;
}

/* predictions into p (N * output size floats); 0 or -1 */
static int predict(dn_model *m, const float *x, float *p)
{
    const float *o = dn_model_infer(m, x, N, err, sizeof err);
    if (!o)
        return -1;
    memcpy(p, o, sizeof(float) * N * (size_t)dn_model_output_size(m));
    return 0;
}

static int compile_sgd(dn_model *m, float momentum)
{
    dn_optimizer o;
    dn_optimizer_defaults(&o, DN_OPT_SGD);
    o.lr = 0.05f;
    o.momentum = momentum;
    return dn_model_compile(m, &o, DN_LOSS_CATEGORICAL_CE, 1, err, sizeof err);
}

static int train(dn_model *m, const float *x, const float *y, int steps)
{
    for (int s = 0; s < steps; s++)
        if (dn_model_train_on_batch(m, x, y, N, NULL, err, sizeof err))
            return -1;
    return 0;
}

static void test_round_trip(const char *dir, int bn, int keras3)
{
    char what[128];
    snprintf(what, sizeof what, "%s, %s", bn ? "with BatchNormalization" : "plain",
             keras3 ? "Keras 3" : "Keras 2");
    char path[600];
    snprintf(path, sizeof path, "%s/rt%d%s", dir, bn, keras3 ? ".weights.h5" : ".h5");
    float x[N * IN], y[N * 3], pa[N * 3], pb[N * 3], pb2[N * 3];
    data(x, y, 3, 0.3f);
    dn_model *a = build(1, bn, 3, 0), *b = build(2, bn, 3, 0);
    /* training moves the moving statistics away from their initial 0 and 1 */
    int rc = compile_sgd(a, 0.9f) || train(a, x, y, 3) || predict(a, x, pa) ||
             predict(b, x, pb);
    CHECK(rc == 0 && memcmp(pa, pb, sizeof pa) != 0, "%s: two seeds predict differently", what);
    rc = dn_model_save_weights(a, path, err, sizeof err);
    CHECK(rc == 0, "%s: saved %s %s", what, path, rc ? err : "");
    dn_weights_info info;
    rc = dn_weights_probe(path, &info, err, sizeof err);
    CHECK(rc == 0 && info.layout == (keras3 ? DN_WEIGHTS_KERAS3 : DN_WEIGHTS_KERAS2) &&
              info.nlayers == dn_model_nlayers(a),
          "%s: the file name chose the layout (%s) %s", what,
          rc ? "?" : dn_weights_layout_name(info.layout), rc ? err : "");
    if (rc == 0)
        dn_weights_info_free(&info);
    rc = dn_model_load_weights(b, path, 0, err, sizeof err);
    CHECK(rc == 0, "%s: loaded into the other model %s", what, rc ? err : "");
    CHECK(predict(b, x, pb2) == 0 && memcmp(pa, pb2, sizeof pa) == 0,
          "%s: then it predicts byte for byte as the saved one", what);
    if (bn) {
        dn_model *c = build(3, bn, 3, 0);
        float pc[N * 3];
        rc = dn_model_load_weights(c, path, 1, err, sizeof err);
        CHECK(rc == 0 && predict(c, x, pc) == 0 && memcmp(pa, pc, sizeof pa) == 0,
              "%s: by name too %s", what, rc ? err : "");
        dn_model_free(c);
    }
    dn_model_free(a);
    dn_model_free(b);
}

static void test_mismatch(const char *dir)
{
    char path[600];
    snprintf(path, sizeof path, "%s/mm.h5", dir);
    float x[N * IN], y[N * 3], before[N * 4], after[N * 4];
    data(x, y, 3, -0.2f);
    dn_model *a = build(1, 0, 3, 0);
    dn_model_save_weights(a, path, err, sizeof err);

    dn_model *wide = build(2, 0, 4, 0);
    predict(wide, x, before);
    int rc = dn_model_load_weights(wide, path, 0, err, sizeof err);
    CHECK(rc != 0 && strstr(err, "layer dense_2") && strstr(err, "(6, 3)") &&
          strstr(err, "(6, 4)"), "a wrong Dense shape is refused, naming layer and shapes: %s",
          err);
    CHECK(predict(wide, x, after) == 0 && memcmp(before, after, sizeof before) == 0,
          "the refused model predicts byte for byte as before (conv2d_1 and dense_1 fit "
          "but were not written)");
    rc = dn_model_load_weights(wide, path, 1, err, sizeof err);
    CHECK(rc != 0 && strstr(err, "layer dense_2") && predict(wide, x, after) == 0 &&
              memcmp(before, after, sizeof before) == 0,
          "by name the same: %s", err);

    dn_model *longer = build(2, 0, 3, 1);
    predict(longer, x, before);
    rc = dn_model_load_weights(longer, path, 0, err, sizeof err);
    CHECK(rc != 0 && strstr(err, "the file has 3 layers with weights") &&
              strstr(err, "the model has 4") && strstr(err, "dense_3"),
          "a file with too few layers is refused, naming them: %s", err);
    CHECK(predict(longer, x, after) == 0 && memcmp(before, after, sizeof(float) * N * 2) == 0,
          "and the model predicts as before");

    dn_model *empty = dn_model_new(1, err, sizeof err);
    rc = dn_model_load_weights(empty, path, 0, err, sizeof err);
    CHECK(rc != 0 && strstr(err, "the model has no layers"), "an empty model: %s", err);
    rc = dn_model_save_weights(empty, path, err, sizeof err);
    CHECK(rc != 0 && strstr(err, "the model has no layers"), "nor saves: %s", err);
    snprintf(path, sizeof path, "%s/missing.h5", dir);
    rc = dn_model_load_weights(a, path, 0, err, sizeof err);
    CHECK(rc != 0 && strstr(err, "missing.h5"), "a missing file: %s", err);
    dn_model_free(empty);
    dn_model_free(longer);
    dn_model_free(wide);
    dn_model_free(a);
}

/* the first layer's kernel */
static dn_param *conv_kernel(dn_model *m) { return dn_layer_param(dn_model_layer(m, 0), 0); }

static void test_training_goes_on(const char *dir)
{
    char path[600];
    snprintf(path, sizeof path, "%s/train.h5", dir);
    float x[N * IN], y[N * 3], pa[N * 3], pb[N * 3];
    data(x, y, 3, 0.1f);
    dn_model *a = build(1, 1, 3, 0);
    int rc = compile_sgd(a, 0.9f) || train(a, x, y, 2);
    dn_model_save_weights(a, path, err, sizeof err);

    /* As Keras' load_weights: the optimiser's state stays (recompiling resets it). */
    data(x, y, 3, 0.7f);
    rc |= train(a, x, y, 1);
    dn_param *k = conv_kernel(a);
    long iters = dn_model_optimizer(a)->iterations;
    size_t bytes = sizeof(float) * (size_t)k->size;
    float *slot = malloc(bytes), *w = malloc(bytes);
    memcpy(slot, k->slot[0], bytes);
    memcpy(w, k->data, bytes);
    rc |= dn_model_load_weights(a, path, 0, err, sizeof err);
    CHECK(rc == 0 && iters == 3 && dn_model_optimizer(a)->iterations == iters && k->slot[0] &&
              memcmp(slot, k->slot[0], bytes) == 0 && memcmp(w, k->data, bytes) != 0,
          "a load writes the weights and keeps the optimiser's iterations (%ld) and "
          "momentum %s", dn_model_optimizer(a)->iterations, rc ? err : "");
    free(slot);
    free(w);

    /* Two models of other seeds loading the file train on exactly alike: nothing of
     * their own weights is left anywhere (a cache would show here). */
    dn_model *b = build(5, 1, 3, 0), *c = build(6, 1, 3, 0);
    predict(b, x, pb);   /* b has done a forward pass with its own weights */
    rc = dn_model_load_weights(b, path, 0, err, sizeof err) ||
         dn_model_load_weights(c, path, 0, err, sizeof err) || compile_sgd(b, 0.9f) ||
         compile_sgd(c, 0.9f) || train(b, x, y, 3) || train(c, x, y, 3) ||
         predict(b, x, pa) || predict(c, x, pb);
    CHECK(rc == 0 && memcmp(pa, pb, sizeof pa) == 0,
          "two models loaded from one file train on identically %s", rc ? err : "");
    float p0[N * 3];
    dn_model *d = build(1, 1, 3, 0);
    rc = dn_model_load_weights(d, path, 0, err, sizeof err) || predict(d, x, p0);
    CHECK(rc == 0 && memcmp(pa, p0, sizeof pa) != 0, "and training changed what they predict");
    dn_model_free(a);
    dn_model_free(b);
    dn_model_free(c);
    dn_model_free(d);
}

static void test_failed_save(const char *dir)
{
    char sub[600], path[700];
    snprintf(sub, sizeof sub, "%s/locked", dir);
    snprintf(path, sizeof path, "%s/w.h5", sub);
    mkdir(sub, 0755);
    chmod(dir, 0755);  /* nobody must reach the folder to be refused by it */
    dn_model *a = build(1, 0, 3, 0), *b = build(2, 0, 3, 0);
    dn_model_save_weights(a, path, err, sizeof err);
    chmod(path, 0666);   /* only the folder stands in the way */
    size_t len0, len1;
    char *before = slurp(path, &len0);
    int p[2];
    if (pipe(p) != 0)
        return;
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
            _exit(4);
        int rc = dn_model_save_weights(b, path, err, sizeof err);
        if (write(p[1], err, strlen(err)) < 0)
            _exit(3);
        _exit(rc ? 1 : 0);
    }
    close(p[1]);
    char msg[1024];
    ssize_t got = read(p[0], msg, sizeof msg - 1);
    msg[got > 0 ? got : 0] = 0;
    close(p[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    char *after = slurp(path, &len1);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 1 && strstr(msg, "permission denied"),
          "a save into a folder the user cannot write fails: %s", msg);
    CHECK(before && after && len0 == len1 && !memcmp(before, after, len0),
          "the old file is byte for byte the same");
    CHECK(count_entries(sub) == 1, "and nothing else is left in the folder");
    free(before);
    free(after);
    dn_model_free(a);
    dn_model_free(b);
}

int main(void)
{
    char *dir = scratch_dir();
    for (int keras3 = 0; keras3 < 2; keras3++) {
        test_round_trip(dir, 0, keras3);
        test_round_trip(dir, 1, keras3);
    }
    test_mismatch(dir);
    test_training_goes_on(dir);
    test_failed_save(dir);
    /* Every path above, failures included, closed what it opened in HDF5. */
    ssize_t open_objs = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
    CHECK(open_objs == 0, "no HDF5 file, group, dataset or attribute is left open (%zd)", open_objs);
    remove_tree(dir);
    printf("%s\n", failures ? "FAILED" : "all passed");
    return failures ? 1 : 0;
}
