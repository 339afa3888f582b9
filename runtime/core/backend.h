/* backend.h — where a model computes: the CPU (backend_cpu.c, today's functions as they
 * are) or a GPU (runtime/cuda/backend_cuda.c). A model holds one backend; its tensors,
 * parameter copies and layer kernels follow it (dn_model_set_device). Everything that
 * model.c does to numbers goes through this table or a layer's kernel table
 * (layer_impl.h), so a second backend adds files and changes no layer's CPU code.
 *
 * Errors: entries that return void (the layer kernels too) cannot fail on the CPU; on a
 * GPU they may (a launch, cuDNN), and then the backend keeps the first failure as a
 * sentence, as CUDA keeps a sticky error, and sync() returns it. model.c calls sync()
 * before anything it computed is used (before an optimiser step, before returning). */
#ifndef DN_BACKEND_H
#define DN_BACKEND_H

#include <stddef.h>

#include "activation.h"
#include "loss.h"
#include "optimizer.h"

typedef struct dn_backend {
    const char *name;           /* "cpu", "cuda": for messages and %device */
    int on_device;              /* 0: pointers are host memory; 1: device memory */
    /* which kernel table a layer uses here: 0 = dn_layer_ops.cpu, 1 = .cuda */
    int kernels;
    /* Memory. alloc gives bytes (uninitialised) or DN_ERROR + err (out of device memory
     * says how much was asked and what is free); release(NULL) does nothing. */
    int (*alloc)(void **out, size_t bytes, char *err, size_t errlen);
    void (*release)(void *p);
    /* host -> backend, backend -> host; both finish before returning */
    int (*upload)(void *dst, const void *src, size_t bytes, char *err, size_t errlen);
    int (*download)(void *dst, const void *src, size_t bytes, char *err, size_t errlen);
    /* backend -> backend copy and zero fill (asynchronous on a GPU) */
    void (*copy)(void *dst, const void *src, size_t bytes);
    void (*zero)(void *p, size_t bytes);
    /* dy[rows*dim] in place: dL/dy -> dL/dz given y = act(z) (dn_act_backward) */
    void (*act_backward)(dn_activation a, const float *y, float *dy, long rows, long dim);
    /* The batch's mean loss (dn_loss_eval) into *loss and, when acc is not DN_ACC_NONE,
     * the sum of per-example accuracies (dn_accuracy_sum) into *acc_sum; grad (may be
     * NULL) gets dL/dp or dL/dz as dn_loss_eval writes it. p, y, grad live on the
     * backend; only the two numbers come back. 0 or -1 + err. */
    int (*loss)(dn_loss loss, dn_accuracy acc, const float *p, const float *y, long n,
                long dim, int fused, float *grad, double *loss_out, double *acc_sum,
                char *err, size_t errlen);
    /* The optimiser's state for p on this backend (zeroed if new). 0 or -1 + err. */
    int (*opt_prepare)(const dn_optimizer *o, dn_param *p, char *err, size_t errlen);
    /* One update of p from its gradient (dn_optimizer_apply's rules) */
    void (*opt_apply)(const dn_optimizer *o, dn_param *p);
    /* Waits for queued work; DN_OK, or DN_ERROR + the first failure since the last
     * sync (which is then cleared). */
    int (*sync)(char *err, size_t errlen);
} dn_backend;

/* The CPU backend: always there. */
const dn_backend *dn_backend_cpu(void);
/* The CUDA backend, initialised on this first call (never before: a CPU user's start-up
 * pays nothing). NULL + err saying why (built without CUDA, no device, a driver error). */
const dn_backend *dn_backend_cuda(char *err, size_t errlen);

/* Which copy of a parameter array is newer (dn_param.newer), like Caffe's SyncedMemory.
 * Only meaningful while the model is on a device. */
enum { DN_SYNCED = 0, DN_HOST_NEWER, DN_DEVICE_NEWER };

/* The device copies of p (data, grad, the optimiser slots it has on the host) on b,
 * marked host-newer (uploaded at the next step). 0 or -1 + err, nothing kept then. */
int dn_param_attach(dn_param *p, const dn_backend *b, char *err, size_t errlen);
/* Brings data (and, with slots, the optimiser's state) to the host when the device's is
 * newer, then frees the device copies. 0 or -1 + err (the device copies stay). */
int dn_param_detach(dn_param *p, const dn_backend *b, char *err, size_t errlen);
/* Makes the host's data current (downloading when the device's is newer) and marks the
 * host newer: the caller may write it, and the next step uploads it. */
int dn_param_pull(dn_param *p, const dn_backend *b, char *err, size_t errlen);
/* Uploads host-newer data. 0 or -1 + err. */
int dn_param_push(dn_param *p, const dn_backend *b, char *err, size_t errlen);

#endif
