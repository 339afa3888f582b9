/* dn_runtime.h — the neural-network runtime in one include: tensors (float32, row-major,
 * images NHWC), layers with Keras' shapes and names, losses, optimisers, Sequential
 * models with fit/evaluate/predict, in-memory batch sources, named weight arrays, a
 * model's Keras weight files. */
#ifndef DN_RUNTIME_H
#define DN_RUNTIME_H

#include "batches.h"
#include "core/activation.h"
#include "core/array_source.h"
#include "core/cpu.h"
#include "core/layer.h"
#include "core/loss.h"
#include "core/model.h"
#include "core/optimizer.h"
#include "core/rng.h"
#include "core/status.h"
#include "core/tensor.h"
#include "core/zoo.h"
#include "io/model_weights.h"
#include "io/weights.h"

#endif
