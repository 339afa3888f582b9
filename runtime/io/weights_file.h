/* weights_file.h — inside io only: a Keras weight file opened, its layout told and its
 * layers listed, shared by the loader (weights_load.c) and dn_weights_probe
 * (weights_probe.c); Keras 3's layout itself (listing, pairing, writing) lives in
 * weights_keras3.c. Not part of the runtime's API. */
#ifndef DN_IO_WEIGHTS_FILE_H
#define DN_IO_WEIGHTS_FILE_H

#include <hdf5.h>
#include <stddef.h>

#include "h5util.h"
#include "weights.h"

typedef struct dn_wfile_layer {
    char *name;      /* Keras 1/2: layer_names' entry; Keras 3: vars' name attr, else group */
    char *group;     /* Keras 3: the group under layers/ ("dense_1"); NULL for Keras 1/2 */
    char *prefix;    /* Keras 3: group without its "_<n>" ("dense"); NULL for Keras 1/2 */
    long index;      /* Keras 3: that n (0 for "dense") */
    char **wnames;   /* the arrays, as paths below g, in the layer's order */
    int nw;
    hid_t g;         /* Keras 1/2: the layer's group; Keras 3: its vars group (-1: none) */
    char *nested;    /* Keras 3: a group below the layer, beside vars, holding datasets
                      * (a nested model or sub-layers), else NULL */
} dn_wfile_layer;

typedef struct dn_wfile {
    const char *path;
    hid_t fid, root;            /* root: where layer groups are ("model_weights" or "/") */
    dn_weights_layout layout;
    int keras1;                 /* Keras 1/2 file without keras_version, or 1.x */
    int theano;                 /* backend "theano" */
    char keras_version[32], backend[32], model_name[128];
    int whole_model, has_optimizer;
    dn_wfile_layer *ls;
    int n;
} dn_wfile;

/* Opens path read-only, tells its layout and lists its layers with their arrays' paths.
 * The caller keeps HDF5 quiet around the whole use (dn_h5_quiet_begin(q)); q gives
 * HDF5's failures words. 0, or -1 with the reason in err, worded to follow "cannot ...
 * '<path>': " ("no such file", "it is not an HDF5 file"). dn_wfile_close either way. */
int dn_wfile_open(dn_wfile *f, const char *path, const dn_h5_quiet *q, char *err,
                  size_t errlen);
void dn_wfile_close(dn_wfile *f);

/* What an array holds: numbers HDF5 converts to float, something else (strings,
 * compounds), or Keras 3's bfloat16 (its bits stored as 16-bit words, marked by a
 * "dtype" attribute), which would need a conversion deepnb does not make. */
enum { DN_WFILE_NOT_NUMBERS = 0, DN_WFILE_NUMBERS = 1, DN_WFILE_BFLOAT16 = 2 };

/* The shape of array w of layer l: returns ndim (-1 when missing or unreadable) and
 * fills dims (room for H5S_MAX_RANK) and *kind (DN_WFILE_...). */
int dn_wfile_shape(const dn_wfile_layer *l, int w, long long *dims, int *kind);

/* ---- Keras 3 (weights_keras3.c) ---- */

/* The group holding a Keras 3 file's layers ("layers", or "_layer_checkpoint_dependencies"
 * in Keras 2.13's first version of the format), NULL when root has neither; *any_vars = 1
 * when root has the model's own "vars" group. */
const char *dn_k3_layers_group(hid_t root, int *any_vars);

/* Lists a Keras 3 file's layers into f (every group under layers/, ordered by prefix,
 * then number), its model name and whether it saved an optimizer. 0 or -1 + err. */
int dn_k3_list(dn_wfile *f, char *err, size_t errlen);

/* Keras' naming.to_snake_case: "BatchNormalization" -> "batch_normalization",
 * "Conv2D" -> "conv2d", "MaxPooling2D" -> "max_pooling2d". */
void dn_k3_snake_case(const char *class_name, char *out, size_t n);

/* For each model layer with weights, file_of[i] = the index into f->ls of its layer in
 * a Keras 3 file, by class and number (see dn_weights_load_h5); -1 for layers without
 * weights. 0, or -1 with a sentence in err saying what does not pair and listing the
 * file's layers with weights and the model's, with shapes. */
int dn_k3_pair_by_order(const dn_wfile *f, const dn_wlayer *layers, int nlayers,
                        int *file_of, char *err, size_t errlen);

/* Writes the Keras 3 layout of layers into the open file fid (see
 * dn_weights_save_keras3). 0 or -1 (HDF5 error on the stack). */
int dn_k3_write(hid_t fid, const dn_h5_untimed *u, const dn_wlayer *layers, int nlayers,
                const char *model_name);

/* "(3, 3, 1, 4)", "(4,)", "()" into buf. */
void dn_wfile_fmt_shape(char *buf, size_t n, int ndim, const long long *dims);

#endif
