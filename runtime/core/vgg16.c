/* vgg16.c — see zoo.h. */
#include "zoo.h"
#include "status.h"

#include <stdio.h>

/* adds l named name; on failure empties the model again */
static int add_named(dn_model *m, dn_layer *l, const char *name, char *err, size_t errlen)
{
    if (l && dn_layer_set_name(l, name, err, errlen)) {
        dn_layer_free(l);
        l = NULL;
    }
    if (dn_model_add(m, l, err, errlen) == DN_OK)
        return DN_OK;
    while (dn_model_nlayers(m))
        dn_model_pop(m, NULL, 0);
    return DN_ERROR;
}

int dn_model_build_vgg16(dn_model *m, int classes, int with_dropout, char *err, size_t errlen)
{
    static const int filters[5] = {64, 128, 256, 512, 512};
    static const int convs[5] = {2, 2, 3, 3, 3};
    if (dn_model_nlayers(m))
        return dn_seterr(err, errlen, "VGG16 is built into an empty model");
    if (classes < 1)
        return dn_seterr(err, errlen, "VGG16 needs at least one class, got %d", classes);
    const int input[3] = {224, 224, 3};
    if (dn_model_set_input(m, 3, input, err, errlen))
        return DN_ERROR;
    char name[32];
    for (int b = 0; b < 5; b++) {
        for (int c = 0; c < convs[b]; c++) {
            snprintf(name, sizeof name, "block%d_conv%d", b + 1, c + 1);
            dn_layer *l = dn_conv2d_new(filters[b], 3, 3, 1, 1, DN_PAD_SAME, DN_ACT_RELU, 1, err,
                                        errlen);
            if (add_named(m, l, name, err, errlen))
                return DN_ERROR;
        }
        snprintf(name, sizeof name, "block%d_pool", b + 1);
        if (add_named(m, dn_maxpool2d_new(2, 2, 2, 2, DN_PAD_VALID, err, errlen), name, err,
                      errlen))
            return DN_ERROR;
    }
    if (add_named(m, dn_flatten_new(err, errlen), "flatten", err, errlen))
        return DN_ERROR;
    for (int k = 1; k <= 2; k++) {
        snprintf(name, sizeof name, "fc%d", k);
        if (add_named(m, dn_dense_new(4096, DN_ACT_RELU, 1, err, errlen), name, err, errlen))
            return DN_ERROR;
        if (with_dropout) {
            snprintf(name, sizeof name, "dropout_%d", k);
            if (add_named(m, dn_dropout_new(0.5f, err, errlen), name, err, errlen))
                return DN_ERROR;
        }
    }
    return add_named(m, dn_dense_new(classes, DN_ACT_SOFTMAX, 1, err, errlen), "predictions",
                     err, errlen);
}
