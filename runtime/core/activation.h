/* activation.h — elementwise (and softmax) activations, applied in place on a
 * layer's output; their backward turns dL/dy into dL/dz using y alone. */
#ifndef DN_ACTIVATION_H
#define DN_ACTIVATION_H

#include <stddef.h>

typedef enum dn_activation {
    DN_ACT_LINEAR = 0,
    DN_ACT_RELU,
    DN_ACT_SIGMOID,
    DN_ACT_TANH,
    DN_ACT_SOFTMAX       /* over the last axis */
} dn_activation;

/* Keras' names: "linear", "relu", "sigmoid", "tanh", "softmax". 0 or -1 + err. */
int dn_activation_parse(const char *name, dn_activation *out, char *err, size_t errlen);
const char *dn_activation_name(dn_activation a);

/* y[rows*dim] in place; dim is the size of the last axis (softmax's axis) */
void dn_act_forward(dn_activation a, float *y, long rows, long dim);
/* y += bias (per last-axis element, bias may be NULL), then the activation, in one pass
 * where the activation allows it */
void dn_bias_act_forward(dn_activation a, float *y, const float *bias, long rows, long dim);
/* dy[rows*dim] in place: dL/dy -> dL/dz, given y = act(z) */
void dn_act_backward(dn_activation a, const float *y, float *dy, long rows, long dim);

#endif
