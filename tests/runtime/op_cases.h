/* op_cases.h — the one table test_backend_ops.c runs on every backend: a single layer on a
 * given input shape and batch, in training or inference mode, with the tolerance a GPU's
 * results must meet against the CPU's (normalised MSE: sum (gpu - cpu)^2 / sum cpu^2, over
 * the output, the input gradient and every parameter gradient; FP32 math, TF32 off).
 * Rows in summation order differ between cuBLAS/cuDNN and the CPU, so 1e-10 for products
 * (an error in an index is O(1)); batch statistics and transcendental functions 1e-8.
 * fd: the CPU's gradients are also checked against finite differences (not where a
 * forward draws random numbers). */
#ifndef OP_CASES_H
#define OP_CASES_H

#include "dn_runtime.h"

typedef struct op_case {
    const char *name;
    int ndim, shape[3];      /* input per example */
    int n;                   /* batch */
    int training;
    double tol;
    int fd;
    int frozen;              /* the layer is made non-trainable */
    dn_layer *(*make)(char *err, size_t errlen);
} op_case;

#define E char *err, size_t errlen
static dn_layer *dense_linear(E) { return dn_dense_new(5, DN_ACT_LINEAR, 1, err, errlen); }
static dn_layer *dense_relu(E) { return dn_dense_new(7, DN_ACT_RELU, 1, err, errlen); }
static dn_layer *dense_sigmoid(E) { return dn_dense_new(4, DN_ACT_SIGMOID, 1, err, errlen); }
static dn_layer *dense_tanh(E) { return dn_dense_new(4, DN_ACT_TANH, 1, err, errlen); }
static dn_layer *dense_softmax(E) { return dn_dense_new(6, DN_ACT_SOFTMAX, 1, err, errlen); }
static dn_layer *dense_nobias(E) { return dn_dense_new(3, DN_ACT_LINEAR, 0, err, errlen); }
static dn_layer *conv_valid(E)
{
    return dn_conv2d_new(4, 3, 3, 1, 1, DN_PAD_VALID, DN_ACT_RELU, 1, err, errlen);
}
static dn_layer *conv_same(E)
{
    return dn_conv2d_new(5, 3, 3, 1, 1, DN_PAD_SAME, DN_ACT_TANH, 1, err, errlen);
}
/* 6 -> 3 with stride 2: TensorFlow pads 0 before, 1 after */
static dn_layer *conv_same_s2(E)
{
    return dn_conv2d_new(4, 3, 3, 2, 2, DN_PAD_SAME, DN_ACT_LINEAR, 1, err, errlen);
}
static dn_layer *conv_1x1(E)
{
    return dn_conv2d_new(6, 1, 1, 1, 1, DN_PAD_VALID, DN_ACT_LINEAR, 1, err, errlen);
}
static dn_layer *conv_5x5_s2(E)
{
    return dn_conv2d_new(3, 5, 5, 2, 2, DN_PAD_VALID, DN_ACT_SIGMOID, 0, err, errlen);
}
/* enough channels for the CPU's Winograd path */
static dn_layer *conv_wino(E)
{
    return dn_conv2d_new(8, 3, 3, 1, 1, DN_PAD_SAME, DN_ACT_RELU, 1, err, errlen);
}
static dn_layer *pool_2x2(E) { return dn_maxpool2d_new(2, 2, 0, 0, DN_PAD_VALID, err, errlen); }
/* 6 -> 3 with a 3x3 window and stride 2: padded 0 before, 1 after */
static dn_layer *pool_3x3_s2_same(E)
{
    return dn_maxpool2d_new(3, 3, 2, 2, DN_PAD_SAME, err, errlen);
}
static dn_layer *pool_2x2_s1_same(E)
{
    return dn_maxpool2d_new(2, 2, 1, 1, DN_PAD_SAME, err, errlen);
}
static dn_layer *flatten(E) { return dn_flatten_new(err, errlen); }
static dn_layer *dropout(E) { return dn_dropout_new(0.4f, err, errlen); }
static dn_layer *batchnorm(E) { return dn_batchnorm_new(0.9f, 1e-3f, err, errlen); }
static dn_layer *act_relu(E) { return dn_activation_layer_new(DN_ACT_RELU, err, errlen); }
static dn_layer *act_sigmoid(E) { return dn_activation_layer_new(DN_ACT_SIGMOID, err, errlen); }
static dn_layer *act_tanh(E) { return dn_activation_layer_new(DN_ACT_TANH, err, errlen); }
static dn_layer *act_softmax(E) { return dn_activation_layer_new(DN_ACT_SOFTMAX, err, errlen); }
#undef E

static const op_case op_cases[] = {
    /* name                ndim shape        n  train tol   fd frozen make */
    {"Dense linear",        1, {8},          5, 1, 1e-10, 1, 0, dense_linear},
    {"Dense relu",          1, {9},          6, 1, 1e-10, 1, 0, dense_relu},
    {"Dense sigmoid",       1, {5},          4, 1, 1e-8,  1, 0, dense_sigmoid},
    {"Dense tanh",          1, {5},          4, 1, 1e-8,  1, 0, dense_tanh},
    {"Dense softmax",       1, {7},          5, 1, 1e-8,  1, 0, dense_softmax},
    {"Dense no bias",       1, {4},          3, 1, 1e-10, 1, 0, dense_nobias},
    {"Dense on (4, 6)",     2, {4, 6},       3, 1, 1e-10, 1, 0, dense_relu},
    {"Dense frozen",        1, {8},          5, 1, 1e-10, 1, 1, dense_linear},
    {"Conv2D valid relu",   3, {7, 7, 3},    3, 1, 1e-10, 1, 0, conv_valid},
    {"Conv2D same tanh",    3, {6, 5, 2},    2, 1, 1e-8,  1, 0, conv_same},
    {"Conv2D same s2",      3, {6, 6, 3},    3, 1, 1e-10, 1, 0, conv_same_s2},
    {"Conv2D 1x1",          3, {4, 4, 5},    2, 1, 1e-10, 1, 0, conv_1x1},
    {"Conv2D 5x5 s2",       3, {9, 9, 2},    2, 1, 1e-8,  1, 0, conv_5x5_s2},
    {"Conv2D Winograd",     3, {8, 8, 8},    2, 1, 1e-10, 1, 0, conv_wino},
    {"Conv2D frozen",       3, {7, 7, 3},    2, 1, 1e-10, 1, 1, conv_valid},
    {"MaxPooling2D 2x2",    3, {6, 6, 3},    3, 1, 1e-12, 1, 0, pool_2x2},
    {"MaxPooling2D 3 s2 same", 3, {6, 6, 2}, 2, 1, 1e-12, 1, 0, pool_3x3_s2_same},
    {"MaxPooling2D 2 s1 same", 3, {5, 5, 2}, 2, 1, 1e-12, 1, 0, pool_2x2_s1_same},
    {"Flatten",             3, {3, 3, 2},    4, 1, 0,     1, 0, flatten},
    {"Dropout training",    1, {40},         5, 1, 0,     0, 0, dropout},
    {"Dropout inference",   1, {12},         3, 0, 0,     1, 0, dropout},
    {"BatchNorm training",  3, {4, 4, 3},    4, 1, 1e-8,  1, 0, batchnorm},
    {"BatchNorm inference", 1, {6},          5, 0, 1e-8,  1, 0, batchnorm},
    {"BatchNorm frozen",    3, {3, 3, 4},    3, 1, 1e-8,  1, 1, batchnorm},
    {"Activation relu",     1, {10},         4, 1, 0,     1, 0, act_relu},
    {"Activation sigmoid",  1, {10},         4, 1, 1e-8,  1, 0, act_sigmoid},
    {"Activation tanh",     1, {10},         4, 1, 1e-8,  1, 0, act_tanh},
    {"Activation softmax",  2, {3, 6},       4, 1, 1e-8,  1, 0, act_softmax},
};

/* losses with the last activation (fused where the loss allows it) and optimiser
 * settings: five steps of a Dense model, the loss of each step and the weights after
 * (normalised MSE 1e-10 against the CPU) */
typedef struct step_case {
    const char *name;
    dn_activation act;
    dn_loss loss;
    int units;
    dn_optimizer_kind opt;
    float momentum;
    int nesterov;
} step_case;

static const step_case step_cases[] = {
    {"mse, SGD",                           DN_ACT_LINEAR,  DN_LOSS_MSE,            3, DN_OPT_SGD,     0.0f, 0},
    {"mse on tanh, SGD momentum",          DN_ACT_TANH,    DN_LOSS_MSE,            3, DN_OPT_SGD,     0.9f, 0},
    {"binary CE on sigmoid (fused), Nesterov", DN_ACT_SIGMOID, DN_LOSS_BINARY_CE,  1, DN_OPT_SGD,     0.9f, 1},
    {"binary CE on relu (clipped), RMSprop", DN_ACT_RELU,  DN_LOSS_BINARY_CE,      2, DN_OPT_RMSPROP, 0.0f, 0},
    {"categorical CE on softmax (fused), Adam", DN_ACT_SOFTMAX, DN_LOSS_CATEGORICAL_CE, 4, DN_OPT_ADAM, 0.0f, 0},
    {"categorical CE on sigmoid, Adam",    DN_ACT_SIGMOID, DN_LOSS_CATEGORICAL_CE, 4, DN_OPT_ADAM,    0.0f, 0},
};

#endif
