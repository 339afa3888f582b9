/* layer_types.h — the layer files' structs (first member dn_layer), shared by each
 * layer's CPU file and its CUDA twin (<layer>_cuda.c). Not part of the public interface. */
#ifndef DN_LAYER_TYPES_H
#define DN_LAYER_TYPES_H

#include "layer_impl.h"

/* dense.c */
typedef struct dense_layer {
    dn_layer base;
    int units;
    int use_bias;
} dense_layer;

/* conv2d.c */
typedef struct conv_layer {
    dn_layer base;
    int filters, kh, kw, sh, sw;
    dn_padding pad;
    int use_bias;
    dn_conv_geom g;
    dn_conv_geom gt;      /* the input gradient as a convolution of the output gradient */
    float *wflip;         /* the kernel flipped, in and out swapped: (kh, kw, out, in) */
    int wino, wino_dx;    /* forward, input gradient by Winograd */
    int wm, wm_dx;        /* their tile sizes (dn_winograd_tile) */
    float *U, *Ut;        /* the kernel and the flipped kernel, Winograd-transformed */
    long *koff;           /* patch element k's offset from its first input, when read in place */
} conv_layer;

/* maxpool2d.c */
typedef struct pool_layer {
    dn_layer base;
    int ph, pw, sh, sw;
    dn_padding pad;
    dn_conv_geom g;
} pool_layer;

/* dropout.c */
typedef struct dropout_layer {
    dn_layer base;
    float rate;
    int masked;          /* the last forward drew a mask (training) */
    dn_tensor mask;
} dropout_layer;

/* batchnorm.c */
typedef struct bn_layer {
    dn_layer base;
    float momentum, epsilon;
    int batch_stats;          /* the last forward normalised with batch statistics */
    float *mean, *invstd;     /* per channel, of the last forward */
    double *acc;              /* 2*C accumulators */
} bn_layer;

#endif
