/* bench_weights.c — saves and loads a VGG16-sized weight file (138,357,544 float32, the
 * 13 conv + 3 Dense layers of vgg16_weights_tf_dim_ordering_tf_kernels.h5) and a
 * 25,000 x 1,000 .npy of predictions; prints the seconds each took. The files go to the
 * folder given (default: /tmp) and are removed afterwards. */
#include "io/npy.h"
#include "io/weights.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void add(dn_wlayer *l, const char *name, const char *cls, int ndim, const int *kshape,
                int out)
{
    memset(l, 0, sizeof *l);
    snprintf(l->name, sizeof l->name, "%s", name);
    snprintf(l->class_name, sizeof l->class_name, "%s", cls);
    l->narrays = 2;
    dn_warray *k = &l->arrays[0], *b = &l->arrays[1];
    snprintf(k->name, sizeof k->name, "kernel");
    k->ndim = ndim;
    size_t n = 1;
    for (int d = 0; d < ndim; d++)
        n *= (size_t)(k->shape[d] = kshape[d]);
    k->data = calloc(n, sizeof(float));
    snprintf(b->name, sizeof b->name, "bias");
    b->ndim = 1;
    b->shape[0] = out;
    b->data = calloc((size_t)out, sizeof(float));
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    static const int convs[13][2] = {{3, 64}, {64, 64}, {64, 128}, {128, 128}, {128, 256},
                                     {256, 256}, {256, 256}, {256, 512}, {512, 512},
                                     {512, 512}, {512, 512}, {512, 512}, {512, 512}};
    static const char *names[13] = {"block1_conv1", "block1_conv2", "block2_conv1",
        "block2_conv2", "block3_conv1", "block3_conv2", "block3_conv3", "block4_conv1",
        "block4_conv2", "block4_conv3", "block5_conv1", "block5_conv2", "block5_conv3"};
    dn_wlayer layers[21];   /* 13 conv, 5 pooling, 3 Dense */
    int n = 0;
    for (int i = 0; i < 13; i++) {
        add(&layers[n++], names[i], "Conv2D", 4, (int[]){3, 3, convs[i][0], convs[i][1]},
            convs[i][1]);
        if (i == 1 || i == 3 || i == 6 || i == 9 || i == 12) {
            memset(&layers[n], 0, sizeof layers[n]);
            snprintf(layers[n].name, sizeof layers[n].name, "block%d_pool",
                     i == 1 ? 1 : i == 3 ? 2 : i == 6 ? 3 : i == 9 ? 4 : 5);
            snprintf(layers[n++].class_name, sizeof layers[0].class_name, "MaxPooling2D");
        }
    }
    /* Flatten is left out: the model's layers with weights are what loading pairs. */
    add(&layers[n++], "fc1", "Dense", 2, (int[]){25088, 4096}, 4096);
    add(&layers[n++], "fc2", "Dense", 2, (int[]){4096, 4096}, 4096);
    add(&layers[n++], "predictions", "Dense", 2, (int[]){4096, 1000}, 1000);

    char path[1024], err[1024];
    snprintf(path, sizeof path, "%s/dn_bench_vgg16.h5", dir);
    double t0 = now();
    if (dn_weights_save_h5(path, layers, n, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    double t1 = now();
    if (dn_weights_load_h5(path, layers, n, 0, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    double t2 = now();
    remove(path);

    long shape[2] = {25000, 1000};
    float *preds = calloc((size_t)shape[0] * (size_t)shape[1], sizeof(float));
    snprintf(path, sizeof path, "%s/dn_bench_preds.npy", dir);
    float *back = NULL;
    int nd;
    long sh[4];
    double t3 = now();
    if (!preds || dn_npy_save(path, preds, 2, shape, err, sizeof err) ||
        dn_npy_load(path, &back, &nd, sh, err, sizeof err)) {
        fprintf(stderr, "%s\n", preds ? err : "out of memory");
        return 1;
    }
    double t4 = now();
    remove(path);
    printf("vgg16 weights (553 MB): save %.2f s (with fsync), load %.2f s; "
           "predictions .npy (100 MB): save+load %.2f s\n", t1 - t0, t2 - t1, t4 - t3);
    free(preds);
    free(back);
    for (int i = 0; i < n; i++)
        for (int a = 0; a < layers[i].narrays; a++)
            free(layers[i].arrays[a].data);
    return 0;
}
