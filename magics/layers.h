/* layers.h — Keras layer calls as users write them (`Dense(2, activation='softmax')`,
 * `Conv2D(32, (3,3), activation='relu', input_shape=(28, 28, 1))`, Keras 1's
 * `Convolution2D(64, 3, 3, border_mode='same')`) turned into runtime layers, with Keras'
 * argument names, defaults and checks. Used by %%model and %add. */
#ifndef DN_LAYERS_H
#define DN_LAYERS_H

#include "core/layer.h"
#include "value.h"

#include <stddef.h>

typedef struct dn_layer_call {
    dn_layer *layer;        /* NULL for Input(shape): it only gives the input shape */
    int in_ndim;            /* input_shape= / input_dim= / Input(shape) given: its axes */
    int in_shape[3];
} dn_layer_call;

/* The layer v (a call) describes. 0, or -1 with a message naming the call and the
 * argument ("Dense(): units must be a whole number from 1 up, not 'a'"). */
int dn_layer_from_call(const dn_value *v, dn_layer_call *out, char *err, size_t errlen);

/* The layer classes understood, for help and suggestions (NULL-terminated). */
extern const char *const dn_layer_classes[];

#endif
