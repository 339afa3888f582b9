/* weights.h — a model's weights as named arrays, the neutral form that weight files are
 * read into and written from. core/ fills it from a model; io/ turns it into files.
 * Arrays are float32, row-major, in Keras' shapes: Dense kernel (in, out), Conv2D kernel
 * (kh, kw, in, out), biases (out), BatchNormalization gamma/beta/moving_mean/
 * moving_variance (channels). */
#ifndef DN_WEIGHTS_H
#define DN_WEIGHTS_H

#include <stddef.h>

typedef struct dn_warray {
    char name[64];        /* "kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance" */
    int ndim;
    int shape[4];
    float *data;          /* owned by the model; load writes into it */
} dn_warray;

typedef struct dn_wlayer {
    char name[128];       /* the layer's name, e.g. "dense_1", "block1_conv1" */
    char class_name[32];  /* "Dense", "Conv2D", "BatchNormalization", ... */
    int narrays;          /* 0 for layers without weights (they are still listed) */
    dn_warray arrays[4];
} dn_wlayer;

/* Writes a Keras-2 HDF5 weight file (root attrs layer_names, backend, keras_version; a group
 * per layer with weight_names; datasets "<layer>/<name>:0"). Atomic: a temporary file in
 * the same folder, then rename; on failure an existing file is untouched. 0 or -1 + err. */
int dn_weights_save_h5(const char *path, const dn_wlayer *layers, int nlayers,
                       char *err, size_t errlen);

/* Reads Keras-2 and Keras-1 layouts (`_W`/`_b`, `_W_1:0`, Theano "th" kernels) into the
 * arrays' data. by_name: match layers by name, else layers with weights in order.
 * All or nothing: every shape is checked first; on any mismatch nothing is written and err
 * names the layer and both shapes. 0 or -1 + err. */
int dn_weights_load_h5(const char *path, dn_wlayer *layers, int nlayers, int by_name,
                       char *err, size_t errlen);

#endif
