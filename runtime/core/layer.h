/* layer.h — the layers a Sequential model is made of, Keras' set and semantics.
 * Parameters live in Keras' shapes (Dense kernel (in, out), Conv2D kernel HWIO,
 * biases (out), BatchNormalization vectors (channels)), so weight files are plain copies.
 * A layer is created alone, then handed to a model (dn_model_add), which infers its
 * shapes and initialises its parameters. */
#ifndef DN_LAYER_H
#define DN_LAYER_H

#include <stddef.h>

#include "activation.h"
#include "tensor.h"

typedef enum dn_padding { DN_PAD_VALID = 0, DN_PAD_SAME } dn_padding;
int dn_padding_parse(const char *name, dn_padding *out, char *err, size_t errlen);

typedef struct dn_layer dn_layer;

/* One parameter array with its gradient and the optimiser's per-element state. */
typedef struct dn_param {
    char name[32];       /* Keras' weight name: "kernel", "bias", "gamma", "moving_mean", ... */
    int ndim;
    int shape[4];
    long size;
    float *data;
    float *grad;         /* NULL for arrays no gradient reaches (moving statistics) */
    float *slot[2];      /* optimiser state (momentum / moments), owned by the model */
    /* On a GPU (backend.h): the device's copies and which side is newer. NULL and
     * unused on the CPU. After the fields above, which tests' ctypes mirrors read. */
    float *dev_data, *dev_grad, *dev_slot[2];
    int newer;
} dn_param;

/* Constructors return NULL with err on a bad argument or no memory. Defaults as Keras:
 * Glorot-uniform kernels, zero biases; pooling strides 0 mean "the pool size". */
dn_layer *dn_dense_new(int units, dn_activation act, int use_bias, char *err, size_t errlen);
dn_layer *dn_conv2d_new(int filters, int kh, int kw, int sh, int sw, dn_padding pad,
                        dn_activation act, int use_bias, char *err, size_t errlen);
dn_layer *dn_maxpool2d_new(int ph, int pw, int sh, int sw, dn_padding pad,
                           char *err, size_t errlen);
dn_layer *dn_flatten_new(char *err, size_t errlen);
/* rate in [0, 1): the fraction dropped while training (inverted dropout) */
dn_layer *dn_dropout_new(float rate, char *err, size_t errlen);
/* Keras defaults: momentum 0.99, epsilon 1e-3; normalises the last axis */
dn_layer *dn_batchnorm_new(float momentum, float epsilon, char *err, size_t errlen);
dn_layer *dn_activation_layer_new(dn_activation act, char *err, size_t errlen);
void dn_layer_free(dn_layer *l);

/* A user's name (unique within a model). Only before the layer joins a model. */
int dn_layer_set_name(dn_layer *l, const char *name, char *err, size_t errlen);
const char *dn_layer_name(const dn_layer *l);
/* Keras class name: "Dense", "Conv2D", "MaxPooling2D", "Flatten", "Dropout",
 * "BatchNormalization", "Activation" */
const char *dn_layer_class(const dn_layer *l);
dn_activation dn_layer_activation(const dn_layer *l);

/* Frozen layers keep their weights: the optimiser skips them and backward does not
 * compute their weight gradients (a frozen BatchNormalization runs in inference mode).
 * Takes effect at the next step, no recompiling. */
void dn_layer_set_trainable(dn_layer *l, int trainable);
int dn_layer_trainable(const dn_layer *l);

/* Per-example shapes (no batch axis), known once the layer is in a model. */
int dn_layer_output_shape(const dn_layer *l, int shape[3]);   /* returns ndim */
int dn_layer_input_shape(const dn_layer *l, int shape[3]);

int dn_layer_nparams(const dn_layer *l);
dn_param *dn_layer_param(dn_layer *l, int i);
long dn_layer_count_params(const dn_layer *l);
/* the last forward pass's output, for looking inside a model (the spreadsheet view):
 * data and shape (batch axis first); NULL before any forward pass */
const float *dn_layer_output(const dn_layer *l);
const dn_tensor *dn_layer_output_tensor(const dn_layer *l);

#endif
