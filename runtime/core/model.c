/* model.c — the Sequential container: layers, shapes, names, parameters, one step of
 * forward/backward/update. The epoch loops (fit, evaluate, predict) are in fit.c. */
#include "model.h"
#include "backend.h"
#include "cpu.h"
#include "layer_impl.h"
#include "reuse.h"
#include "status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define MAX_PREFIXES 16

struct dn_model {
    dn_rng rng;
    int in_ndim, in_shape[3];
    long in_size;
    dn_layer **layers;
    int nlayers, cap;
    dn_tensor scratch;           /* shared workspace of the layers (im2col) */
    dn_tensor pingpong[2];       /* outputs no later step reads, alternately */
    int batch_cap;               /* scratch holds batches this large */
    int kept_from;               /* the last forward kept outputs of layers >= this */
    int last_start;              /* the last forward began at this layer... */
    const float *last_x;         /* ...with this input (backward reads it) */
    int last_n;
    int compiled;
    dn_optimizer opt;
    dn_loss loss;
    int want_acc;
    struct { const char *prefix; int count; } names[MAX_PREFIXES];
    const dn_backend *be;        /* where it computes (backend.h) */
    dn_tensor xin, yin;          /* on a device: the batch's inputs and labels */
    dn_tensor dxdev;             /* on a device: dn_model_backward's dx */
    dn_tensor host_out;          /* on a device: dn_model_infer's output, on the host */
    int reuse_off;               /* dn_model_set_reuse(m, 0) */
    dn_reuse *reuse;             /* kept outputs of frozen prefixes (reuse.c) */
};

static int on_device(const dn_model *m) { return m->be->on_device; }

dn_model *dn_model_new(uint64_t seed, char *err, size_t errlen)
{
    dn_cpu_init();
    dn_model *m = calloc(1, sizeof *m);
    if (!m) {
        dn_seterr(err, errlen, "out of memory creating a model");
        return NULL;
    }
    dn_rng_seed(&m->rng, seed);
    m->be = dn_backend_cpu();
    return m;
}

void dn_model_free(dn_model *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->nlayers; i++)
        dn_layer_free(m->layers[i]);
    free(m->layers);
    dn_tensor_fini(&m->scratch);
    dn_tensor_fini(&m->pingpong[0]);
    dn_tensor_fini(&m->pingpong[1]);
    dn_tensor_fini(&m->xin);
    dn_tensor_fini(&m->yin);
    dn_tensor_fini(&m->dxdev);
    dn_tensor_fini(&m->host_out);
    dn_reuse_free(m->reuse);
    free(m);
}

int dn_model_set_input(dn_model *m, int ndim, const int *shape, char *err, size_t errlen)
{
    if (m->nlayers)
        return dn_seterr(err, errlen, "the input shape can only be set before the first layer");
    if (ndim < 1 || ndim > 3)
        return dn_seterr(err, errlen, "an input shape has 1 to 3 axes (no batch axis), got %d",
                       ndim);
    for (int i = 0; i < ndim; i++)
        if (shape[i] <= 0)
            return dn_seterr(err, errlen, "input shape axis %d must be positive, got %d", i,
                           shape[i]);
    m->in_ndim = ndim;
    memset(m->in_shape, 0, sizeof m->in_shape);
    memcpy(m->in_shape, shape, (size_t)ndim * sizeof(int));
    m->in_size = (long)dn_shape_size(ndim, shape);
    return DN_OK;
}

static int reserve_layer(dn_model *m, dn_layer *l, int n, char *err, size_t errlen)
{
    l->scratch = &m->scratch;
    if (l->kern->reserve && l->kern->reserve(l, n, err, errlen))
        return DN_ERROR;
    return DN_OK;
}

static int reserve_batch(dn_model *m, int n, char *err, size_t errlen)
{
    if (n <= m->batch_cap)
        return DN_OK;
    for (int i = 0; i < m->nlayers; i++)
        if (reserve_layer(m, m->layers[i], n, err, errlen))
            return DN_ERROR;
    m->batch_cap = n;
    return DN_OK;
}

static int name_taken(const dn_model *m, const char *name)
{
    return dn_model_find_layer(m, name) >= 0;
}

static void auto_name(dn_model *m, dn_layer *l)
{
    int k = 0;
    while (k < MAX_PREFIXES && m->names[k].prefix && strcmp(m->names[k].prefix, l->ops->prefix))
        k++;
    int *count = NULL, local = 0;
    if (k < MAX_PREFIXES) {
        m->names[k].prefix = l->ops->prefix;
        count = &m->names[k].count;
    } else {
        count = &local;
    }
    do
        snprintf(l->name, sizeof l->name, "%s_%d", l->ops->prefix, ++*count);
    while (name_taken(m, l->name));
}

static const dn_layer_kernels *kernels_on(const dn_layer *l, const dn_backend *be)
{
    return be->kernels ? l->ops->cuda : &l->ops->cpu;
}

/* Puts a layer that computes on the CPU onto the device be: its parameters' device copies
 * (uploaded at the next step) and its kernels. All or nothing. */
static int place_layer(dn_layer *l, const dn_backend *be, char *err, size_t errlen)
{
    const dn_layer_kernels *k = kernels_on(l, be);
    if (!k)
        return dn_seterr(err, errlen, "%s: %s layers have no %s kernels in this build", l->name,
                       l->ops->class_name, be->name);
    int i = 0;
    for (; i < l->nparams; i++)
        if (dn_param_attach(&l->params[i], be, err, errlen))
            break;
    if (i < l->nparams) {
        char e2[8];
        while (i-- > 0) {
            l->params[i].newer = DN_SYNCED;
            dn_param_detach(&l->params[i], be, e2, sizeof e2);
        }
        return DN_ERROR;
    }
    dn_tensor_move(&l->out_own, be);
    dn_tensor_move(&l->delta, be);
    l->be = be;
    l->kern = k;
    return DN_OK;
}

int dn_model_add(dn_model *m, dn_layer *l, char *err, size_t errlen)
{
    if (!l) {
        /* keep the message of the constructor that returned NULL */
        if (err && errlen && err[0])
            return DN_ERROR;
        return dn_seterr(err, errlen, "no layer to add");
    }
    if (l->in_model)
        return dn_seterr(err, errlen, "layer %s already belongs to a model", l->name);
    if (l->user_named && name_taken(m, l->name)) {
        dn_seterr(err, errlen, "layer names must be unique in a model: it already has a layer named '%s'", l->name);
        goto fail;
    }
    if (!l->user_named)
        auto_name(m, l);
    if (m->nlayers) {
        const dn_layer *prev = m->layers[m->nlayers - 1];
        l->in_ndim = prev->out_ndim;
        memcpy(l->in_shape, prev->out_shape, sizeof l->in_shape);
    } else if (m->in_ndim) {
        l->in_ndim = m->in_ndim;
        memcpy(l->in_shape, m->in_shape, sizeof l->in_shape);
    } else {
        dn_seterr(err, errlen, "%s: the first layer needs the model's input shape", l->name);
        goto fail;
    }
    l->in_size = (long)dn_shape_size(l->in_ndim, l->in_shape);
    if (l->ops->build(l, &m->rng, err, errlen))
        goto fail;
    l->out_size = (long)dn_shape_size(l->out_ndim, l->out_shape);
    if (l->out_size <= 0) {
        dn_seterr(err, errlen, "%s: empty output", l->name);
        goto fail;
    }
    if (on_device(m) && place_layer(l, m->be, err, errlen))
        goto fail;
    if (m->batch_cap && reserve_layer(m, l, m->batch_cap, err, errlen))
        goto fail;
    if (m->nlayers == m->cap) {
        int cap = m->cap ? 2 * m->cap : 16;
        dn_layer **p = realloc(m->layers, (size_t)cap * sizeof *p);
        if (!p) {
            dn_seterr(err, errlen, "out of memory adding %s", l->name);
            goto fail;
        }
        m->layers = p;
        m->cap = cap;
    }
    l->scratch = &m->scratch;
    l->in_model = 1;
    m->layers[m->nlayers++] = l;
    return DN_OK;
fail:
    /* say which input the layer was given: most add errors are shape errors */
    if (err && errlen && l->in_ndim) {
        char shp[64], buf[512];
        dn_shape_str(shp, sizeof shp, l->in_ndim, l->in_shape);
        snprintf(buf, sizeof buf, "%s (input shape %s)", err, shp);
        snprintf(err, errlen, "%s", buf);
    }
    dn_layer_free(l);
    return DN_ERROR;
}

int dn_model_pop(dn_model *m, char *err, size_t errlen)
{
    if (!m->nlayers)
        return dn_seterr(err, errlen, "the model has no layers to pop");
    dn_layer_free(m->layers[--m->nlayers]);
    return DN_OK;
}

int dn_model_nlayers(const dn_model *m) { return m->nlayers; }

dn_layer *dn_model_layer(dn_model *m, int i)
{
    return i >= 0 && i < m->nlayers ? m->layers[i] : NULL;
}

int dn_model_find_layer(const dn_model *m, const char *name)
{
    for (int i = 0; i < m->nlayers; i++)
        if (m->layers[i]->in_model && !strcmp(m->layers[i]->name, name))
            return i;
    return -1;
}

int dn_model_input_shape(const dn_model *m, int shape[3])
{
    if (!m->in_ndim && m->nlayers)
        return dn_layer_input_shape(m->layers[0], shape);
    memcpy(shape, m->in_shape, sizeof m->in_shape);
    return m->in_ndim;
}

int dn_model_output_shape(const dn_model *m, int shape[3])
{
    if (!m->nlayers)
        return dn_model_input_shape(m, shape);
    return dn_layer_output_shape(m->layers[m->nlayers - 1], shape);
}

long dn_model_input_size(const dn_model *m) { return m->in_size; }

long dn_model_output_size(const dn_model *m)
{
    return m->nlayers ? m->layers[m->nlayers - 1]->out_size : m->in_size;
}

void dn_model_count_params(const dn_model *m, long *trainable, long *non_trainable)
{
    long t = 0, nt = 0;
    for (int i = 0; i < m->nlayers; i++) {
        const dn_layer *l = m->layers[i];
        for (int j = 0; j < l->nparams; j++) {
            if (l->trainable && l->params[j].grad)
                t += l->params[j].size;
            else
                nt += l->params[j].size;
        }
    }
    if (trainable)
        *trainable = t;
    if (non_trainable)
        *non_trainable = nt;
}

int dn_model_summary(const dn_model *m, dn_summary_row *rows, int max)
{
    for (int i = 0; i < m->nlayers && i < max; i++) {
        const dn_layer *l = m->layers[i];
        dn_summary_row *r = &rows[i];
        snprintf(r->name, sizeof r->name, "%s", l->name);
        snprintf(r->class_name, sizeof r->class_name, "%s", l->ops->class_name);
        dn_shape_str(r->output_shape, sizeof r->output_shape, l->out_ndim, l->out_shape);
        r->params = dn_layer_count_params(l);
        r->trainable = l->trainable;
    }
    return m->nlayers;
}

int dn_model_weights(dn_model *m, dn_wlayer *out, int max)
{
    for (int i = 0; i < m->nlayers && i < max; i++) {
        dn_layer *l = m->layers[i];
        dn_wlayer *w = &out[i];
        memset(w, 0, sizeof *w);
        snprintf(w->name, sizeof w->name, "%s", l->name);
        snprintf(w->class_name, sizeof w->class_name, "%s", l->ops->class_name);
        w->narrays = l->nparams;
        for (int j = 0; j < l->nparams; j++) {
            dn_warray *a = &w->arrays[j];
            /* the caller reads or writes the host's copy (weight files): make it current */
            if (l->be && l->be->on_device) {
                char e[8];
                dn_param_pull(&l->params[j], l->be, e, sizeof e);
            }
            snprintf(a->name, sizeof a->name, "%s", l->params[j].name);
            a->ndim = l->params[j].ndim;
            memcpy(a->shape, l->params[j].shape, sizeof a->shape);
            a->data = l->params[j].data;
        }
    }
    return m->nlayers;
}

int dn_model_compile(dn_model *m, const dn_optimizer *opt, dn_loss loss, int accuracy,
                     char *err, size_t errlen)
{
    if (dn_optimizer_check(opt, err, errlen))
        return DN_ERROR;
    if ((unsigned)loss > DN_LOSS_CATEGORICAL_CE)
        return dn_seterr(err, errlen, "unknown loss %d", (int)loss);
    /* a new optimiser starts from fresh state, as a Keras recompile does */
    for (int i = 0; i < m->nlayers; i++)
        for (int j = 0; j < m->layers[i]->nparams; j++) {
            dn_param *p = &m->layers[i]->params[j];
            for (int s = 0; s < 2; s++) {
                free(p->slot[s]);
                p->slot[s] = NULL;
                m->be->release(p->dev_slot[s]);
                p->dev_slot[s] = NULL;
            }
        }
    m->opt = *opt;
    m->opt.iterations = 0;
    m->loss = loss;
    m->want_acc = accuracy != 0;
    m->compiled = 1;
    return DN_OK;
}

dn_optimizer *dn_model_optimizer(dn_model *m) { return m->compiled ? &m->opt : NULL; }
int dn_model_compiled(const dn_model *m) { return m->compiled; }
dn_loss dn_model_loss(const dn_model *m) { return m->loss; }
int dn_model_wants_accuracy(const dn_model *m) { return m->want_acc; }

/* On a device: the host's newer parameters go up before a pass reads them. */
static int push_params(dn_model *m, char *err, size_t errlen)
{
    for (int i = 0; on_device(m) && i < m->nlayers; i++)
        for (int j = 0; j < m->layers[i]->nparams; j++)
            if (dn_param_push(&m->layers[i]->params[j], m->be, err, errlen))
                return DN_ERROR;
    return DN_OK;
}

/* The batch's rows where the backend reads them: host pointers as given on the CPU,
 * copies in the model's staging tensor on a device. NULL + err. */
static const float *stage(dn_model *m, dn_tensor *t, const float *host, size_t floats,
                          char *err, size_t errlen)
{
    if (!on_device(m))
        return host;
    if (dn_tensor_reserve(t, floats, err, errlen) ||
        m->be->upload(t->data, host, floats * sizeof(float), err, errlen))
        return NULL;
    return t->data;
}

/* Layers from keep_from on write their own buffers (backward or the caller reads them
 * later); those below only feed the next layer and share two buffers, so inference and
 * fine-tuning a frozen network's top hold two activations, not one per layer.
 * x is where the backend reads (see stage); so is the result. */
static const float *forward_keep(dn_model *m, int start, const float *x, int n, int training,
                                 int keep_from, char *err, size_t errlen)
{
    if (!m->nlayers) {
        dn_seterr(err, errlen, "the model has no layers");
        return NULL;
    }
    if (n <= 0 || !x) {
        dn_seterr(err, errlen, "a batch needs at least one example, got %d", n);
        return NULL;
    }
    if (reserve_batch(m, n, err, errlen) || push_params(m, err, errlen))
        return NULL;
    const float *in = x;
    /* a frozen prefix computes the same whatever batch an example is in, so that its
     * outputs may be kept and reused (reuse.h) with or without reuse giving the same bits */
    int cut = dn_model_prefix_cut(m, training);
    for (int i = 0; i < m->nlayers; i++)
        m->layers[i]->invariant = i < cut;
    for (int i = 0; i < start; i++)
        m->layers[i]->last_n = 0;   /* not computed by this forward */
    for (int i = start; i < m->nlayers; i++) {
        dn_layer *l = m->layers[i];
        int keep = i >= keep_from;
        dn_tensor *buf = keep ? &l->out_own : &m->pingpong[i % 2];
        if (dn_tensor_reserve(buf, (size_t)n * (size_t)l->out_size, err, errlen))
            return NULL;
        l->out.data = buf->data;
        l->out.cap = buf->cap;
        l->kern->forward(l, in, n, training, &m->rng);
        l->last_n = keep ? n : 0;
        l->out.ndim = l->out_ndim + 1;
        l->out.shape[0] = n;
        memcpy(l->out.shape + 1, l->out_shape, sizeof l->out_shape);
        in = l->out.data;
    }
    m->last_x = x;
    m->last_start = start;
    m->last_n = n;
    m->kept_from = keep_from;
    /* a training pass may move what no gradient reaches (moving statistics) */
    for (int i = 0; training && on_device(m) && i < m->nlayers; i++)
        for (int j = 0; j < m->layers[i]->nparams; j++)
            if (!m->layers[i]->params[j].grad)
                m->layers[i]->params[j].newer = DN_DEVICE_NEWER;
    if (m->be->sync(err, errlen))
        return NULL;
    return in;
}

/* On a device: a copy of the n outputs of layer l in the host tensor t. NULL + err. */
static const float *to_host(dn_model *m, const dn_layer *l, dn_tensor *t, int n, char *err,
                            size_t errlen)
{
    size_t floats = (size_t)n * (size_t)l->out_size;
    if (dn_tensor_reserve(t, floats, err, errlen) ||
        m->be->download(t->data, l->out.data, floats * sizeof(float), err, errlen))
        return NULL;
    t->ndim = l->out.ndim;
    memcpy(t->shape, l->out.shape, sizeof t->shape);
    return t->data;
}

const float *dn_model_forward(dn_model *m, const float *x, int n, int training,
                              char *err, size_t errlen)
{
    const float *xs = x && n > 0 ? stage(m, &m->xin, x, (size_t)n * (size_t)m->in_size, err,
                                         errlen) : x;
    if (x && n > 0 && !xs)
        return NULL;
    const float *y = forward_keep(m, 0, xs, n, training, 0, err, errlen);
    if (!y || !on_device(m))
        return y;
    /* every layer's output is readable on the host (dn_layer_output), as on the CPU */
    for (int i = 0; i < m->nlayers; i++)
        if (!(y = to_host(m, m->layers[i], &m->layers[i]->out_host, n, err, errlen)))
            return NULL;
    return y;
}

/* floats per example that layer start takes */
static long input_size_at(const dn_model *m, int start)
{
    return start > 0 ? m->layers[start - 1]->out_size : m->in_size;
}

/* inference from layer start keeping the last output (and layer keep's, when keep >=
 * start), left where the backend computed it */
static const float *infer_on_backend(dn_model *m, int start, const float *x, int n, int keep,
                                     char *err, size_t errlen)
{
    const float *xs = x && n > 0 ? stage(m, &m->xin, x, (size_t)n * (size_t)input_size_at(m, start),
                                         err, errlen) : x;
    if (x && n > 0 && !xs)
        return NULL;
    int keep_from = keep >= start && keep < m->nlayers - 1 ? keep : m->nlayers - 1;
    return forward_keep(m, start, xs, n, 0, keep_from, err, errlen);
}

const float *dn_model_infer(dn_model *m, const float *x, int n, char *err, size_t errlen)
{
    const float *y = infer_on_backend(m, 0, x, n, -1, err, errlen);
    if (!y || !on_device(m))
        return y;
    return to_host(m, m->layers[m->nlayers - 1], &m->host_out, n, err, errlen);
}

/* Gradients are only kept for the layers backward reaches, so inference and fine-tuning
 * a frozen network's top need no gradient memory for the rest. */
static int reserve_deltas(dn_model *m, int n, int lo, char *err, size_t errlen)
{
    for (int i = lo; i < m->nlayers; i++) {
        dn_layer *l = m->layers[i];
        if (dn_tensor_reserve(&l->delta, (size_t)n * (size_t)l->out_size, err, errlen))
            return DN_ERROR;
    }
    return DN_OK;
}

/* From the last layer's delta (dL/d output, or dL/dz when fused) down to layer lo. */
static void backward_from(dn_model *m, int n, int lo, int fused, float *dx)
{
    for (int i = m->nlayers - 1; i >= lo; i--) {
        dn_layer *l = m->layers[i];
        l->dz_ready = fused && i == m->nlayers - 1;
        if (!l->dz_ready && !l->kern->act_in_backward) {
            long dim = l->out_shape[l->out_ndim - 1];
            m->be->act_backward(l->act, l->out.data, l->delta.data,
                                (long)n * l->out_size / dim, dim);
            l->dz_ready = 1;
        }
        const float *in = i > m->last_start ? m->layers[i - 1]->out.data : m->last_x;
        float *target = i > lo ? m->layers[i - 1]->delta.data : dx;
        l->kern->backward(l, in, n, target);
    }
}

/* On a device, dn_model_backward's results come to the host: every gradient backward
 * wrote (trainable layers) and dx. */
static int grads_to_host(dn_model *m, char *err, size_t errlen)
{
    for (int i = 0; i < m->nlayers; i++) {
        dn_layer *l = m->layers[i];
        for (int j = 0; l->trainable && j < l->nparams; j++) {
            dn_param *p = &l->params[j];
            if (p->grad && m->be->download(p->grad, p->dev_grad,
                                           (size_t)p->size * sizeof(float), err, errlen))
                return DN_ERROR;
        }
    }
    return DN_OK;
}

int dn_model_backward(dn_model *m, const float *dy, int n, float *dx, char *err,
                      size_t errlen)
{
    if (!m->nlayers || !m->last_x || n != m->last_n || m->kept_from != 0 || m->last_start != 0)
        return dn_seterr(err, errlen,
                       "backward needs dn_model_forward of the same %d examples just before", n);
    if (reserve_deltas(m, n, 0, err, errlen))
        return DN_ERROR;
    dn_layer *last = m->layers[m->nlayers - 1];
    size_t out_floats = (size_t)n * (size_t)last->out_size, in_floats = (size_t)n * (size_t)m->in_size;
    if (m->be->upload(last->delta.data, dy, out_floats * sizeof(float), err, errlen))
        return DN_ERROR;
    float *target = dx;
    if (dx && on_device(m)) {
        if (dn_tensor_reserve(&m->dxdev, in_floats, err, errlen))
            return DN_ERROR;
        target = m->dxdev.data;
    }
    backward_from(m, n, 0, 0, target);
    if (m->be->sync(err, errlen))
        return DN_ERROR;
    if (!on_device(m))
        return DN_OK;
    if (dx && m->be->download(dx, target, in_floats * sizeof(float), err, errlen))
        return DN_ERROR;
    return grads_to_host(m, err, errlen);
}

static int check_y(const dn_model *m, const float *y, char *err, size_t errlen)
{
    if (!m->compiled)
        return dn_seterr(err, errlen, "the model must be compiled before training or evaluating");
    if (!y)
        return dn_seterr(err, errlen, "training and evaluating need labels (targets)");
    return DN_OK;
}

/* loss (and dL/dp or dL/dz into grad when not NULL) and the metrics of a batch whose
 * outputs p and labels y are where the backend computes */
static int batch_loss(dn_model *m, const float *p, const float *y, int n, int fused,
                      float *grad, dn_metrics *out, char *err, size_t errlen)
{
    long dim = dn_model_output_size(m);
    dn_accuracy acc = m->want_acc && out ? dn_accuracy_for(m->loss, dim) : DN_ACC_NONE;
    double loss, acc_sum;
    if (m->be->loss(m->loss, acc, p, y, n, dim, fused, grad, &loss, &acc_sum, err, errlen))
        return DN_ERROR;
    if (!out)
        return DN_OK;
    out->loss = loss;
    out->n = n;
    out->has_acc = m->want_acc;
    out->acc = m->want_acc ? acc_sum / (double)n : 0.0;
    return DN_OK;
}

static int learns(const dn_layer *l)
{
    for (int j = 0; l->trainable && j < l->nparams; j++)
        if (l->params[j].grad)
            return 1;
    return 0;
}

/* the lowest layer with something to learn, or -1 */
static int lowest_learning(const dn_model *m)
{
    for (int i = 0; i < m->nlayers; i++)
        if (learns(m->layers[i]))
            return i;
    return -1;
}

int dn_model_train_from(dn_model *m, int start, const float *x, const float *y, int n,
                        int keep, dn_metrics *out, char *err, size_t errlen)
{
    if (check_y(m, y, err, errlen))
        return DN_ERROR;
    /* backward goes down to the lowest layer with something to learn; it reads the
     * outputs from the one below that on */
    int lo = lowest_learning(m);
    if (lo >= 0 && lo < start)
        return dn_seterr(err, errlen, "layer %s learns: training cannot start above it",
                         m->layers[lo]->name);
    int keep_from = lo < 0 ? m->nlayers - 1 : (lo > 0 ? lo - 1 : 0);
    if (keep >= start && keep < keep_from)
        keep_from = keep;
    if (keep_from < start)
        keep_from = start;
    const long dim = dn_model_output_size(m);
    const float *xs = x && n > 0 ? stage(m, &m->xin, x, (size_t)n * (size_t)input_size_at(m, start),
                                         err, errlen) : x;
    const float *ys = xs && n > 0 ? stage(m, &m->yin, y, (size_t)n * (size_t)dim, err, errlen)
                                  : y;
    if ((x && n > 0 && !xs) || !ys)
        return DN_ERROR;
    const float *p = forward_keep(m, start, xs, n, 1, keep_from, err, errlen);
    if (!p)
        return DN_ERROR;
    if (lo >= 0 && reserve_deltas(m, n, lo, err, errlen))
        return DN_ERROR;
    dn_layer *last = m->layers[m->nlayers - 1];
    int fused = dn_loss_fuses(m->loss, last->act);
    if (batch_loss(m, p, ys, n, fused, lo >= 0 ? last->delta.data : NULL, out, err, errlen))
        return DN_ERROR;
    if (lo < 0)
        return DN_OK;   /* everything frozen: nothing to learn */
    for (int i = lo; i < m->nlayers; i++) {
        dn_layer *l = m->layers[i];
        for (int j = 0; l->trainable && j < l->nparams; j++)
            if (l->params[j].grad && m->be->opt_prepare(&m->opt, &l->params[j], err, errlen))
                return DN_ERROR;
    }
    backward_from(m, n, lo, fused, NULL);
    /* nothing changes unless every gradient was computed */
    if (m->be->sync(err, errlen))
        return DN_ERROR;
    m->opt.iterations++;
    for (int i = lo; i < m->nlayers; i++) {
        dn_layer *l = m->layers[i];
        for (int j = 0; l->trainable && j < l->nparams; j++)
            if (l->params[j].grad) {
                m->be->opt_apply(&m->opt, &l->params[j]);
                if (on_device(m))
                    l->params[j].newer = DN_DEVICE_NEWER;
            }
    }
    return m->be->sync(err, errlen);
}

int dn_model_train_on_batch(dn_model *m, const float *x, const float *y, int n,
                            dn_metrics *out, char *err, size_t errlen)
{
    return dn_model_train_from(m, 0, x, y, n, -1, out, err, errlen);
}

int dn_model_test_from(dn_model *m, int start, const float *x, const float *y, int n, int keep,
                       dn_metrics *out, char *err, size_t errlen)
{
    if (check_y(m, y, err, errlen))
        return DN_ERROR;
    const float *p = infer_on_backend(m, start, x, n, keep, err, errlen);
    const float *ys = p ? stage(m, &m->yin, y, (size_t)n * (size_t)dn_model_output_size(m), err,
                                errlen) : NULL;
    if (!ys)
        return DN_ERROR;
    return batch_loss(m, p, ys, n, 0, NULL, out, err, errlen);
}

int dn_model_test_on_batch(dn_model *m, const float *x, const float *y, int n,
                           dn_metrics *out, char *err, size_t errlen)
{
    return dn_model_test_from(m, 0, x, y, n, -1, out, err, errlen);
}

dn_device dn_model_device(const dn_model *m)
{
    return on_device(m) ? DN_DEVICE_GPU : DN_DEVICE_CPU;
}

/* Every per-batch buffer goes (the next step makes them again where they now belong). */
static void drop_batch_buffers(dn_model *m, const dn_backend *to)
{
    const dn_backend *dev = to->on_device ? to : NULL;
    for (int i = 0; i < m->nlayers; i++) {
        dn_layer *l = m->layers[i];
        if (l->kern->release)
            l->kern->release(l);
        l->dev = NULL;
        dn_tensor_move(&l->out_own, dev);
        dn_tensor_move(&l->delta, dev);
        dn_tensor_fini(&l->out_host);
        l->last_n = 0;
        l->out.data = NULL;
    }
    dn_tensor_move(&m->pingpong[0], dev);
    dn_tensor_move(&m->pingpong[1], dev);
    dn_tensor_move(&m->xin, dev);
    dn_tensor_move(&m->yin, dev);
    dn_tensor_move(&m->dxdev, dev);
    m->batch_cap = 0;
    m->last_x = NULL;
    m->last_n = 0;
}

int dn_model_set_device(dn_model *m, dn_device d, char *err, size_t errlen)
{
    if (d != DN_DEVICE_CPU && d != DN_DEVICE_GPU)
        return dn_seterr(err, errlen, "unknown device %d", (int)d);
    if (dn_model_device(m) == d)
        return DN_OK;
    const dn_backend *from = m->be;
    if (d == DN_DEVICE_CPU) {
        /* everything comes down first; a failure leaves the model on the device */
        for (int i = 0; i < m->nlayers; i++)
            for (int j = 0; j < m->layers[i]->nparams; j++)
                if (dn_param_pull(&m->layers[i]->params[j], from, err, errlen))
                    return DN_ERROR;
        const dn_backend *cpu = dn_backend_cpu();
        drop_batch_buffers(m, cpu);   /* with the device's kernels, which made them */
        for (int i = 0; i < m->nlayers; i++) {
            dn_layer *l = m->layers[i];
            for (int j = 0; j < l->nparams; j++)
                if (dn_param_detach(&l->params[j], from, err, errlen))
                    return DN_ERROR;
            l->be = NULL;
            l->kern = &l->ops->cpu;
        }
        m->be = cpu;
        return DN_OK;
    }
    const dn_backend *gpu = dn_backend_cuda(err, errlen);
    if (!gpu)
        return DN_ERROR;
    for (int i = 0; i < m->nlayers; i++)
        if (!kernels_on(m->layers[i], gpu))
            return dn_seterr(err, errlen, "%s: %s layers have no %s kernels in this build",
                             m->layers[i]->name, m->layers[i]->ops->class_name, gpu->name);
    int i = 0;
    for (; i < m->nlayers; i++)
        if (place_layer(m->layers[i], gpu, err, errlen))
            break;
    if (i < m->nlayers) {
        /* undo: the layers placed so far go back to the CPU, nothing lost */
        char e2[8];
        for (int k = 0; k < i; k++) {
            dn_layer *l = m->layers[k];
            for (int j = 0; j < l->nparams; j++) {
                l->params[j].newer = DN_SYNCED;
                dn_param_detach(&l->params[j], gpu, e2, sizeof e2);
            }
            l->be = NULL;
            l->kern = &l->ops->cpu;
        }
        /* the outputs of the last pass went with the placed layers' buffers */
        drop_batch_buffers(m, m->be);
        return DN_ERROR;
    }
    drop_batch_buffers(m, gpu);
    m->be = gpu;
    return DN_OK;
}

/* ------------------------------------------------------------ frozen-prefix reuse */

void dn_model_set_reuse(dn_model *m, int on) { m->reuse_off = !on; }
/* on the CPU only for now: a GPU pass would need the kept rows staged and read back */
int dn_model_reuse_on(const dn_model *m) { return !m->reuse_off && !on_device(m); }
dn_reuse **dn_model_reuse_state(dn_model *m) { return &m->reuse; }

const char *dn_model_reuse_note(const dn_model *m) { return dn_reuse_note(m->reuse); }

int dn_model_prefix_cut(const dn_model *m, int training)
{
    int cut = 0;
    while (cut < m->nlayers - 1) {
        const dn_layer *l = m->layers[cut];
        if (learns(l) || (training && l->ops->varies_in_training && l->ops->varies_in_training(l)))
            break;
        cut++;
    }
    return cut;
}

/* Everything that decides the prefix's output for a given input: which layer objects
 * (each keeps its configuration for life) and their parameter values. */
uint64_t dn_model_prefix_fingerprint(const dn_model *m, int cut)
{
    XXH3_state_t *st = XXH3_createState();
    if (!st)
        return 0;
    XXH3_64bits_reset(st);
    XXH3_64bits_update(st, &cut, sizeof cut);
    for (int i = 0; i < cut && i < m->nlayers; i++) {
        const dn_layer *l = m->layers[i];
        XXH3_64bits_update(st, &l->serial, sizeof l->serial);
        for (int j = 0; j < l->nparams; j++) {
            const dn_param *p = &l->params[j];
            XXH3_64bits_update(st, p->name, strlen(p->name) + 1);
            XXH3_64bits_update(st, &p->size, sizeof p->size);
            XXH3_64bits_update(st, p->data, (size_t)p->size * sizeof(float));
        }
    }
    uint64_t h = XXH3_64bits_digest(st);
    XXH3_freeState(st);
    return h ? h : 1;
}
