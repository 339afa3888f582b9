/* layer_impl.h — what the model and the layer files share: the layer struct and the
 * vtable each layer file fills in. Not part of the public interface. */
#ifndef DN_LAYER_IMPL_H
#define DN_LAYER_IMPL_H

#include "dn_config.h"
#include "layer.h"
#include <stdint.h>
#include "rng.h"
#include "tensor.h"

struct dn_backend;

/* A convolution or pooling window's geometry, TensorFlow's padding. */
typedef struct dn_conv_geom {
    int H, W, C;          /* input per example */
    int KH, KW, SH, SW;
    int PT, PL;           /* padding before (top, left); the rest of 'same' goes after */
    int OH, OW;
} dn_conv_geom;

/* What a layer computes, on one backend (backend.h). The CPU's are today's functions; a
 * GPU's read and write device memory (x, dx, l->out, l->delta, dn_param.dev_*) and report
 * failures through the backend's sync. */
typedef struct dn_layer_kernels {
    /* Makes room for batches of n (beyond out/delta, which the model sizes). Optional. */
    int (*reserve)(dn_layer *l, int n, char *err, size_t errlen);
    /* x (n * in_size) -> l->out, activation included. */
    void (*forward)(dn_layer *l, const float *x, int n, int training, dn_rng *rng);
    /* l->delta holds dL/d out, or dL/dz when l->dz_ready (the model then undid the
     * activation, or the loss gave dL/dz directly). Writes dx when not NULL and, when
     * l->trainable, every param's grad (overwriting). */
    void (*backward)(dn_layer *l, const float *x, int n, float *dx);
    /* backward undoes the activation itself (chunk by chunk, while in cache) */
    int act_in_backward;
    /* frees what reserve and the kernels allocated (l->dev). Optional. */
    void (*release)(dn_layer *l);
} dn_layer_kernels;

/* A layer file's CUDA kernels, or NULL in a build without CUDA: the one place that knows
 * whether CUDA was built (dn_config.h), so no layer file needs an #ifdef. */
#if DN_HAVE_CUDA
#define DN_CUDA_KERNELS(k) (&(k))
#else
#define DN_CUDA_KERNELS(k) NULL
#endif

typedef struct dn_layer_ops {
    const char *class_name;   /* Keras class */
    const char *prefix;       /* Keras' default name stem: "dense" -> dense_1 */
    /* From l->in_*: checks the input, sets l->out_*, allocates and initialises params
     * (on the host; the model gives them device copies when it computes on a GPU). */
    int (*build)(dn_layer *l, dn_rng *rng, char *err, size_t errlen);
    /* frees what the layer file allocated beyond params, out and delta */
    void (*fini)(dn_layer *l);
    dn_layer_kernels cpu;
    const dn_layer_kernels *cuda;   /* DN_CUDA_KERNELS(...) */
    /* Whether forward in training differs from inference or draws random numbers
     * (Dropout, a trainable BatchNormalization). Optional: NULL means never. The
     * frozen-prefix reuse (reuse.h) stops at such a layer. */
    int (*varies_in_training)(const dn_layer *l);
} dn_layer_ops;

/* each layer file's CUDA twin (<layer>_cuda.c, built with CUDA only) */
extern const dn_layer_kernels dn_dense_cuda, dn_conv2d_cuda, dn_maxpool2d_cuda,
    dn_flatten_cuda, dn_dropout_cuda, dn_batchnorm_cuda, dn_activation_cuda;

struct dn_layer {
    const dn_layer_ops *ops;
    char name[128];
    int user_named;
    int in_model;
    int trainable;
    dn_activation act;
    int in_ndim, in_shape[3];
    int out_ndim, out_shape[3];
    long in_size, out_size;          /* floats per example */
    int nparams;
    dn_param params[4];
    dn_tensor out;                   /* (n, out_shape): a view of out_own, or of the model's
                                      * two shared buffers when nothing needs it later */
    dn_tensor out_own;
    dn_tensor delta;                 /* dL/d out, then dL/dz */
    dn_tensor *scratch;              /* the model's workspace, shared by all its layers */
    int last_n;                      /* batch of the last forward that kept the output, or 0 */
    int dz_ready;                    /* see dn_layer_kernels.backward */
    uint64_t serial;                 /* unique to this layer object in the process: its
                                      * configuration (strides, rates...) never changes */
    int invariant;                   /* set by the model before forward: compute each
                                      * example's output independently of the batch it is
                                      * in, bit for bit (frozen prefixes, reuse.h) */
    /* where it computes (set by the model): its backend and that backend's kernels */
    const struct dn_backend *be;
    const dn_layer_kernels *kern;
    void *dev;                       /* a backend's per-layer state (descriptors, masks) */
    dn_tensor out_host;              /* on a device: the host copy dn_layer_output shows */
};

/* Allocates a layer-file struct whose first member is dn_layer. NULL + err on no memory. */
void *dn_layer_alloc(size_t size, const dn_layer_ops *ops, char *err, size_t errlen);
/* Adds a parameter with its grad (grad only when with_grad). 0 or -1 + err. */
int dn_layer_add_param(dn_layer *l, const char *name, int ndim, const int *shape,
                       int with_grad, char *err, size_t errlen);
/* Glorot-uniform fill: limit sqrt(6 / (fan_in + fan_out)) */
void dn_glorot_uniform(float *w, long n, long fan_in, long fan_out, dn_rng *rng);
/* TensorFlow's output size and leading (top/left) padding for one axis */
int dn_conv_out_size(int in, int k, int stride, dn_padding pad, int *pad_before);

#endif
