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

/* Writes Keras 3's `.weights.h5` layout, what Keras 3's model.save_weights writes (and
 * loads back with load_weights; tf.keras 2.13+ reads it too):
 *   /vars                  attr name = "sequential" (the model's own variables: none)
 *   /layers/<group>/vars   a group per layer, those without weights too, attr name = the
 *                          layer's name; datasets "0", "1", ... float32 in the layer's
 *                          array order (Dense/Conv2D kernel, bias; BatchNormalization
 *                          gamma, beta, moving_mean, moving_variance)
 * <group> is Keras 3's, not the layer's name: the class in snake case, numbered per class
 * in model order ("conv2d", "conv2d_1", "batch_normalization", "dense", "dense_1"): Keras 3
 * finds a layer's weights by that path whatever the layer is called, and keeps the name
 * only as the attribute. No optimizer group: the optimiser's state is not saved (as in the
 * Keras 2 files above); Keras 3 loads such a file into a compiled model too, warning that
 * it skips the optimiser's variables. Atomic, as dn_weights_save_h5. 0 or -1 + err. */
int dn_weights_save_keras3(const char *path, const dn_wlayer *layers, int nlayers,
                           char *err, size_t errlen);

/* Reads any layout dn_weights_probe names, told apart by the file itself: Keras 2 and 1
 * (`_W`/`_b`, `_W_1:0`, Theano "th" kernels), a whole-model file's "model_weights", and
 * Keras 3 (`.weights.h5`, also tf.keras' own). Into the arrays' data.
 * Keras 1/2 files: by_name pairs layers by name, else the layers with weights in order.
 * Keras 3 files list layers under class-based groups in alphabetical order, so "in order"
 * means: by name (the vars groups' name attributes) when every model layer with weights
 * finds its name there, else the n-th layer of a class in the model with the file's n-th
 * of that class (its group "dense", "dense_1", "dense_2", ... is its place among them);
 * a class whose group prefix the file lacks is paired with the file's one class whose
 * layers have the same array shapes. The same number of layers with weights on both
 * sides; what does not pair is an error listing the file's layers and the model's with
 * their shapes. by_name: by the name attributes only (as for Keras 1/2 files).
 * All or nothing: every shape is checked first; on any mismatch nothing is written and err
 * names the layer and both shapes. 0 or -1 + err. */
int dn_weights_load_h5(const char *path, dn_wlayer *layers, int nlayers, int by_name,
                       char *err, size_t errlen);

/* ---- what a file is, without loading it ---- */

typedef enum dn_weights_layout {
    DN_WEIGHTS_KERAS1 = 1, /* layer_names; no keras_version (or 1.x); "dense_1_W" arrays */
    DN_WEIGHTS_KERAS2,     /* layer_names, keras_version 2.x; "dense_1/kernel:0" arrays */
    DN_WEIGHTS_THEANO,     /* Keras 1 or 2 written by the Theano backend (true convolutions) */
    DN_WEIGHTS_KERAS3      /* layers/<group>/vars/0, 1, ... (`.weights.h5`) */
} dn_weights_layout;

/* "Keras 1", "Keras 2", "Keras 1/2 (Theano backend)", "Keras 3 (.weights.h5)" */
const char *dn_weights_layout_name(dn_weights_layout layout);

#define DN_WINFO_MAXDIMS 8
typedef struct dn_winfo_array {
    char name[128];       /* as stored: "dense_1/kernel:0", "conv1_W"; Keras 3: "0", "1", ... */
    int ndim;
    long long shape[DN_WINFO_MAXDIMS];   /* the first DN_WINFO_MAXDIMS sizes */
} dn_winfo_array;

typedef struct dn_winfo_layer {
    char name[128];       /* Keras 1/2: as layer_names lists it; Keras 3: the name attribute
                           * of its vars group (tf.keras writes none: then the group's) */
    char group[128];      /* Keras 3: its group under layers/ ("dense_1"); else as name */
    int narrays;          /* 0 for layers without weights (they are listed too) */
    dn_winfo_array *arrays;
} dn_winfo_layer;

typedef struct dn_weights_info {
    dn_weights_layout layout;
    char keras_version[32];   /* root attributes; "" where the file has none (Keras 3) */
    char backend[32];
    char model_name[128];     /* Keras 3: the root vars group's name ("sequential"), else "" */
    int whole_model;          /* Keras 1/2: a model.save file (weights under model_weights) */
    int has_optimizer;        /* optimiser state saved too (optimizer / optimizer_weights) */
    int nlayers;
    dn_winfo_layer *layers;   /* in the file's order; Keras 3: per class, by the groups'
                               * numbers ("dense", "dense_1", ..., "dense_10") */
} dn_weights_info;

/* Says what path is without loading it: layout, versions, layers with their arrays'
 * shapes, for messages (dn_weights_describe). Errors in words, as the loader gives them:
 * "no such file", "it is a folder", "it is not an HDF5 file", "it is not an HDF5 file but
 * a zip archive (a Keras 3 .keras model? ...)", "it is an HDF5 file but not a Keras
 * weight file (...)". 0 (free info with dn_weights_info_free) or -1 + err (info is left
 * empty: nothing to free). */
int dn_weights_probe(const char *path, dn_weights_info *info, char *err, size_t errlen);
void dn_weights_info_free(dn_weights_info *info);

/* One line for a person: "a Keras 3 (.weights.h5) file, model 'sequential', 7 layers (4
 * with weights): batch_normalization 4 x (4,), conv2d (3, 3, 1, 4) (4,), ..." (layers
 * with weights: group, "name" where it differs, shapes), cut with "... (k more)" to fit n. */
void dn_weights_describe(const dn_weights_info *info, char *buf, size_t n);

#endif
