/* layer.c — what every layer shares: allocation, parameters, accessors, initialisers. */
#include "backend.h"
#include "layer_impl.h"
#include "status.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *dn_layer_alloc(size_t size, const dn_layer_ops *ops, char *err, size_t errlen)
{
    dn_layer *l = calloc(1, size);
    if (!l) {
        dn_seterr(err, errlen, "out of memory creating a %s layer", ops->class_name);
        return NULL;
    }
    static _Atomic uint64_t serials;
    l->ops = ops;
    l->serial = ++serials;
    l->kern = &ops->cpu;
    l->trainable = 1;
    l->act = DN_ACT_LINEAR;
    return l;
}

int dn_layer_add_param(dn_layer *l, const char *name, int ndim, const int *shape,
                       int with_grad, char *err, size_t errlen)
{
    if (l->nparams >= 4)
        return dn_seterr(err, errlen, "%s: too many parameter arrays", l->name);
    dn_param *p = &l->params[l->nparams];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->ndim = ndim;
    memcpy(p->shape, shape, (size_t)ndim * sizeof(int));
    p->size = (long)dn_shape_size(ndim, shape);
    p->data = calloc((size_t)p->size, sizeof(float));
    p->grad = with_grad ? calloc((size_t)p->size, sizeof(float)) : NULL;
    if (!p->data || (with_grad && !p->grad)) {
        free(p->data);
        free(p->grad);
        return dn_seterr(err, errlen, "%s: out of memory for %s (%ld floats)", l->name, name,
                       p->size);
    }
    l->nparams++;
    return DN_OK;
}

void dn_glorot_uniform(float *w, long n, long fan_in, long fan_out, dn_rng *rng)
{
    float limit = sqrtf(6.0f / (float)(fan_in + fan_out));
    for (long i = 0; i < n; i++)
        w[i] = (2.0f * dn_rng_uniform(rng) - 1.0f) * limit;
}

int dn_conv_out_size(int in, int k, int stride, dn_padding pad, int *pad_before)
{
    if (pad == DN_PAD_SAME) {
        int out = (in + stride - 1) / stride;
        int total = (out - 1) * stride + k - in;
        if (total < 0)
            total = 0;
        /* TensorFlow puts the odd pixel after (bottom/right) */
        *pad_before = total / 2;
        return out;
    }
    *pad_before = 0;
    return in < k ? 0 : (in - k) / stride + 1;
}

int dn_padding_parse(const char *name, dn_padding *out, char *err, size_t errlen)
{
    if (strcmp(name, "valid") == 0) {
        *out = DN_PAD_VALID;
        return DN_OK;
    }
    if (strcmp(name, "same") == 0) {
        *out = DN_PAD_SAME;
        return DN_OK;
    }
    return dn_seterr(err, errlen, "unknown padding '%s' (known: valid, same)", name);
}

void dn_layer_free(dn_layer *l)
{
    if (!l)
        return;
    if (l->kern->release)
        l->kern->release(l);
    if (l->ops->fini)
        l->ops->fini(l);
    for (int i = 0; i < l->nparams; i++) {
        if (l->be && l->be->on_device) {
            char err[8];
            /* nothing to keep: the host copies are freed next, so no download */
            l->params[i].newer = DN_SYNCED;
            dn_param_detach(&l->params[i], l->be, err, sizeof err);
        }
        free(l->params[i].data);
        free(l->params[i].grad);
        free(l->params[i].slot[0]);
        free(l->params[i].slot[1]);
    }
    dn_tensor_fini(&l->out_own);
    dn_tensor_fini(&l->delta);
    dn_tensor_fini(&l->out_host);
    free(l);
}

int dn_layer_set_name(dn_layer *l, const char *name, char *err, size_t errlen)
{
    if (l->in_model)
        return dn_seterr(err, errlen, "layer %s is already in a model; name it before adding it",
                       l->name);
    if (!name[0] || strlen(name) >= sizeof l->name)
        return dn_seterr(err, errlen, "a layer name must have 1 to %zu characters",
                       sizeof l->name - 1);
    snprintf(l->name, sizeof l->name, "%s", name);
    l->user_named = 1;
    return DN_OK;
}

const char *dn_layer_name(const dn_layer *l) { return l->name; }
const char *dn_layer_class(const dn_layer *l) { return l->ops->class_name; }
dn_activation dn_layer_activation(const dn_layer *l) { return l->act; }
void dn_layer_set_trainable(dn_layer *l, int trainable) { l->trainable = trainable != 0; }
int dn_layer_trainable(const dn_layer *l) { return l->trainable; }
int dn_layer_nparams(const dn_layer *l) { return l->nparams; }

/* on a device the model copies the outputs that dn_model_forward keeps to the host */
static const dn_tensor *shown_output(const dn_layer *l)
{
    if (!l->last_n)
        return NULL;
    return l->be && l->be->on_device ? (l->out_host.data ? &l->out_host : NULL) : &l->out;
}

const float *dn_layer_output(const dn_layer *l)
{
    const dn_tensor *t = shown_output(l);
    return t ? t->data : NULL;
}

const dn_tensor *dn_layer_output_tensor(const dn_layer *l) { return shown_output(l); }

dn_param *dn_layer_param(dn_layer *l, int i)
{
    if (i < 0 || i >= l->nparams)
        return NULL;
    /* the caller reads (or writes) the host's copy: make it current. A device failure
     * here stays in the backend and fails the next step with its sentence. */
    if (l->be && l->be->on_device) {
        char err[8];
        dn_param_pull(&l->params[i], l->be, err, sizeof err);
    }
    return &l->params[i];
}

int dn_layer_output_shape(const dn_layer *l, int shape[3])
{
    memcpy(shape, l->out_shape, sizeof l->out_shape);
    return l->out_ndim;
}

int dn_layer_input_shape(const dn_layer *l, int shape[3])
{
    memcpy(shape, l->in_shape, sizeof l->in_shape);
    return l->in_ndim;
}

long dn_layer_count_params(const dn_layer *l)
{
    long n = 0;
    for (int i = 0; i < l->nparams; i++)
        n += l->params[i].size;
    return n;
}
