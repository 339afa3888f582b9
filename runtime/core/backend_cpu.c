/* backend_cpu.c — the CPU backend: host memory and today's functions, called as model.c
 * called them before there was a table (training gives the same bits). */
#include "backend.h"
#include "status.h"

#include <stdlib.h>
#include <string.h>

static int cpu_alloc(void **out, size_t bytes, char *err, size_t errlen)
{
    size_t rounded = (bytes + 63) & ~(size_t)63;
    *out = aligned_alloc(64, rounded ? rounded : 64);
    if (!*out)
        return dn_seterr(err, errlen, "out of memory allocating %zu MB", bytes >> 20);
    return DN_OK;
}

static void cpu_release(void *p) { free(p); }

static int cpu_transfer(void *dst, const void *src, size_t bytes, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    memcpy(dst, src, bytes);
    return DN_OK;
}

static void cpu_copy(void *dst, const void *src, size_t bytes) { memcpy(dst, src, bytes); }
static void cpu_zero(void *p, size_t bytes) { memset(p, 0, bytes); }

static int cpu_loss(dn_loss loss, dn_accuracy acc, const float *p, const float *y, long n,
                    long dim, int fused, float *grad, double *loss_out, double *acc_sum,
                    char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    *loss_out = dn_loss_eval(loss, p, y, n, dim, fused, grad);
    *acc_sum = acc == DN_ACC_NONE ? 0.0 : dn_accuracy_sum(acc, p, y, n, dim);
    return DN_OK;
}

static int cpu_sync(char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    return DN_OK;
}

static const dn_backend cpu_backend = {
    .name = "cpu",
    .on_device = 0,
    .kernels = 0,
    .alloc = cpu_alloc,
    .release = cpu_release,
    .upload = cpu_transfer,
    .download = cpu_transfer,
    .copy = cpu_copy,
    .zero = cpu_zero,
    .act_backward = dn_act_backward,
    .loss = cpu_loss,
    .opt_prepare = dn_optimizer_prepare,
    .opt_apply = dn_optimizer_apply,
    .sync = cpu_sync,
};

const dn_backend *dn_backend_cpu(void) { return &cpu_backend; }
