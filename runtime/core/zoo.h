/* zoo.h — architectures a user can ask for by name (`%model m vgg16`), with Keras' layer
 * names, so that weight files written for them load by name or by order. */
#ifndef DN_ZOO_H
#define DN_ZOO_H

#include <stddef.h>

#include "model.h"

/* VGG16 as the course's vgg16.py and Keras' applications build it, channels last:
 * input (224, 224, 3); blocks of 3x3 'same' relu convolutions (2x64, 2x128, 3x256, 3x512,
 * 3x512) named blockB_convC, each block ending in a 2x2 max-pool blockB_pool; flatten;
 * fc1 and fc2 Dense(4096, relu), each followed by Dropout(0.5) when with_dropout (the
 * course's model; Keras' application has none); predictions Dense(classes, softmax).
 * 138,357,544 parameters for 1000 classes. Inputs are images preprocessed as VGG16 was
 * trained: ImageNet mean subtracted, channels in BGR order (preprocess=vgg).
 * m must be empty. 0 or -1 + err (no memory: the model is then left empty). */
int dn_model_build_vgg16(dn_model *m, int classes, int with_dropout, char *err, size_t errlen);

#endif
