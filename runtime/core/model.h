/* model.h — Sequential models: build layer by layer, compile, train, evaluate, predict.
 * A model owns its layers and one seeded generator (initialisation, dropout), so the
 * same seed and calls give the same numbers. Per-step memory is reused: a step that
 * needs no larger batch than before allocates nothing. */
#ifndef DN_MODEL_H
#define DN_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "../batches.h"
#include "../io/weights.h"
#include "layer.h"
#include "loss.h"
#include "optimizer.h"

typedef struct dn_model dn_model;

dn_model *dn_model_new(uint64_t seed, char *err, size_t errlen);
void dn_model_free(dn_model *m);

/* The per-example input shape (no batch axis; 1 to 3 axes, images (h, w, c)). Only
 * while the model has no layers. 0 or -1 + err. */
int dn_model_set_input(dn_model *m, int ndim, const int *shape, char *err, size_t errlen);
/* Appends l, inferring its shapes and initialising its weights. The model owns l from
 * now on, also when this fails (then l is freed). 0 or -1 + err naming layer and shapes.
 * l may be a constructor's NULL: its message in err is kept. */
int dn_model_add(dn_model *m, dn_layer *l, char *err, size_t errlen);
/* Removes and frees the last layer. 0 or -1 + err when empty. */
int dn_model_pop(dn_model *m, char *err, size_t errlen);

int dn_model_nlayers(const dn_model *m);
dn_layer *dn_model_layer(dn_model *m, int i);
/* index of the layer called name, or -1 */
int dn_model_find_layer(const dn_model *m, const char *name);
int dn_model_input_shape(const dn_model *m, int shape[3]);    /* returns ndim */
int dn_model_output_shape(const dn_model *m, int shape[3]);   /* returns ndim */
long dn_model_input_size(const dn_model *m);                  /* floats per example */
long dn_model_output_size(const dn_model *m);

/* Parameter counts as Keras' summary shows them: trainable are the arrays that frozen-
 * ness allows the optimiser to change; moving statistics are always non-trainable. */
void dn_model_count_params(const dn_model *m, long *trainable, long *non_trainable);

typedef struct dn_summary_row {
    char name[128];
    char class_name[32];
    char output_shape[64];     /* "(None, 26, 26, 32)" */
    long params;
    int trainable;
} dn_summary_row;
/* Fills up to max rows; returns the number of layers. */
int dn_model_summary(const dn_model *m, dn_summary_row *rows, int max);

/* The model's weights as named arrays pointing at its own buffers, layers in order
 * (layers without weights are listed with narrays 0). Fills up to max; returns the
 * number of layers. */
int dn_model_weights(dn_model *m, dn_wlayer *out, int max);

/* Sets optimiser, loss and the accuracy metric; resets the optimiser's state. The
 * optimiser is copied; change it later through dn_model_optimizer. 0 or -1 + err. */
int dn_model_compile(dn_model *m, const dn_optimizer *opt, dn_loss loss, int accuracy,
                     char *err, size_t errlen);
/* NULL before compile. Its fields (lr...) may be changed between any two steps. */
dn_optimizer *dn_model_optimizer(dn_model *m);
int dn_model_compiled(const dn_model *m);
dn_loss dn_model_loss(const dn_model *m);
/* whether compile asked for the accuracy metric */
int dn_model_wants_accuracy(const dn_model *m);

typedef struct dn_metrics {
    double loss;
    double acc;          /* meaningful when has_acc */
    int has_acc;
    long n;              /* examples the means are over */
} dn_metrics;

/* One optimisation step on n examples (x row-major n*input size, y n*output size).
 * out (may be NULL) gets the batch's loss and accuracy before the update. 0 or -1 + err. */
int dn_model_train_on_batch(dn_model *m, const float *x, const float *y, int n,
                            dn_metrics *out, char *err, size_t errlen);
/* Loss and accuracy of n examples in inference mode. 0 or -1 + err. */
int dn_model_test_on_batch(dn_model *m, const float *x, const float *y, int n,
                           dn_metrics *out, char *err, size_t errlen);
/* Forward pass; returns the model's output buffer (n * output size, valid until the next
 * call), or NULL + err. training selects dropout and batch statistics. Every layer's
 * output stays readable (dn_layer_output) until the next call. */
const float *dn_model_forward(dn_model *m, const float *x, int n, int training,
                              char *err, size_t errlen);
/* Forward pass in inference mode keeping only the output: intermediate results share two
 * buffers (what predict and evaluate use). NULL + err on failure. */
const float *dn_model_infer(dn_model *m, const float *x, int n, char *err, size_t errlen);
/* Backpropagates dy = dL/d(output) of the last forward (n examples) through every layer,
 * filling trainable layers' grads and, when dx is not NULL, dL/dx. The x given to that
 * forward must still be valid. For tests and tools; training uses
 * dn_model_train_on_batch. 0 or -1 + err. */
int dn_model_backward(dn_model *m, const float *dy, int n, float *dx, char *err,
                      size_t errlen);

/* Where a model computes. A new model computes on the CPU. */
typedef enum dn_device { DN_DEVICE_CPU = 0, DN_DEVICE_GPU } dn_device;
/* Moves the model's computation, weights and optimiser state to d: the GPU initialises
 * CUDA on its first use; its per-batch buffers are made at the next step. Weights read
 * through dn_layer_param or dn_model_weights come from the device first (a pointer so got
 * is good until the next step). All or nothing: on failure (no GPU, out of device memory,
 * a layer without kernels there) err says why and the model stays where it was. */
int dn_model_set_device(dn_model *m, dn_device d, char *err, size_t errlen);
dn_device dn_model_device(const dn_model *m);

/* Progress and cancellation for fit, evaluate and predict. Any member may be NULL. */
typedef struct dn_epoch_log {
    int epoch, epochs;         /* 1-based */
    dn_metrics train;
    int has_val;
    dn_metrics val;
    double seconds;
} dn_epoch_log;

typedef struct dn_callbacks {
    void *user;
    /* after each batch: examples seen and total this epoch (or pass), running means */
    void (*on_batch)(void *user, int epoch, long seen, long total, const dn_metrics *running);
    void (*on_epoch)(void *user, const dn_epoch_log *log);
    /* asked before every step; non-zero stops at once with DN_INTERRUPTED */
    int (*should_stop)(void *user);
} dn_callbacks;

/* Trains for epochs over train (reset at each epoch start), then evaluates on val when
 * given. history (may be NULL) gets one log per completed epoch. Returns DN_OK,
 * DN_INTERRUPTED (the weights are those of the last completed step) or DN_ERROR + err. */
int dn_model_fit(dn_model *m, dn_batch_source *train, int epochs, dn_batch_source *val,
                 const dn_callbacks *cb, dn_epoch_log *history, char *err, size_t errlen);
/* Frozen-prefix reuse, on unless turned off: fit and evaluate keep the outputs of the
 * model's leading layers that are frozen and deterministic in training, per example of
 * a source that promises the same data every epoch (batches.h fingerprint), and later
 * passes over all of it start above them. Results are bit-identical either way. The
 * note is a sentence on what the last training pass kept or reused, or "". */
void dn_model_set_reuse(dn_model *m, int on);
const char *dn_model_reuse_note(const dn_model *m);

/* Mean loss and accuracy over a pass of src. DN_OK, DN_INTERRUPTED or DN_ERROR + err. */
int dn_model_evaluate(dn_model *m, dn_batch_source *src, const dn_callbacks *cb,
                      dn_metrics *out, char *err, size_t errlen);
/* Outputs for a pass of src into out (rows * output size floats, rows >= src count), row
 * i for the source's example i (batch ids), whatever order the batches come in.
 * *done gets the rows written. DN_OK, DN_INTERRUPTED or DN_ERROR + err. */
int dn_model_predict(dn_model *m, dn_batch_source *src, float *out, long rows, long *done,
                     const dn_callbacks *cb, char *err, size_t errlen);

#endif
