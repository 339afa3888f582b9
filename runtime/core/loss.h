/* loss.h — Keras' losses and the accuracy metric, over a batch of n rows of dim outputs.
 * Per-example losses are averaged over the batch (mse and binary cross-entropy first
 * average over the outputs, categorical cross-entropy sums them), as Keras does. */
#ifndef DN_LOSS_H
#define DN_LOSS_H

#include <stddef.h>

typedef enum dn_loss {
    DN_LOSS_MSE = 0,
    DN_LOSS_BINARY_CE,
    DN_LOSS_CATEGORICAL_CE
} dn_loss;

/* Keras' names: "mse" (or "mean_squared_error"), "binary_crossentropy",
 * "categorical_crossentropy". 0 or -1 + err. */
int dn_loss_parse(const char *name, dn_loss *out, char *err, size_t errlen);
const char *dn_loss_name(dn_loss l);

/* Probabilities are clipped to [1e-7, 1-1e-7] (Keras' epsilon) before the logarithm. */
#define DN_LOSS_EPSILON 1e-7f

/* Mean loss of the batch. When grad is not NULL it receives dL/dp, or, when
 * fused_logits is set (softmax before categorical CE, sigmoid before binary CE), dL/dz of
 * the pre-activation: (p - y)/n(/dim), exact and stable. */
double dn_loss_eval(dn_loss loss, const float *p, const float *y, long n, long dim,
                    int fused_logits, float *grad);

/* Whether a loss can take the gradient with respect to the logits of activation act. */
int dn_loss_fuses(dn_loss loss, int act);

typedef enum dn_accuracy {
    DN_ACC_NONE = 0,
    DN_ACC_BINARY,        /* mean over outputs of (p > 0.5) == y */
    DN_ACC_CATEGORICAL    /* argmax p == argmax y */
} dn_accuracy;

/* Keras 2's choice for metrics=['accuracy']: binary for binary CE or a single output,
 * else categorical. */
dn_accuracy dn_accuracy_for(dn_loss loss, long dim);
/* sum over the batch of per-example accuracies (divide by n for the batch's mean) */
double dn_accuracy_sum(dn_accuracy kind, const float *p, const float *y, long n, long dim);

#endif
