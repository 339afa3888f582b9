/* model.c — the Sequential container: layers, shapes, names, parameters, one step of
 * forward/backward/update. The epoch loops (fit, evaluate, predict) are in fit.c. */
#include "model.h"
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
    int reuse_off;               /* dn_model_set_reuse(m, 0) */
    dn_reuse *reuse;             /* kept outputs of frozen prefixes (reuse.c) */
};

dn_model *dn_model_new(uint64_t seed, char *err, size_t errlen)
{
    dn_cpu_init();
    dn_model *m = calloc(1, sizeof *m);
    if (!m) {
        dn_seterr(err, errlen, "out of memory creating a model");
        return NULL;
    }
    dn_rng_seed(&m->rng, seed);
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
    if (l->ops->reserve && l->ops->reserve(l, n, err, errlen))
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

/* Layers from keep_from on write their own buffers (backward or the caller reads them
 * later); those below only feed the next layer and share two buffers, so inference and
 * fine-tuning a frozen network's top hold two activations, not one per layer. */
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
    if (reserve_batch(m, n, err, errlen))
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
        l->ops->forward(l, in, n, training, &m->rng);
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
    return in;
}

const float *dn_model_forward(dn_model *m, const float *x, int n, int training,
                              char *err, size_t errlen)
{
    return forward_keep(m, 0, x, n, training, 0, err, errlen);
}

const float *dn_model_infer(dn_model *m, const float *x, int n, char *err, size_t errlen)
{
    return forward_keep(m, 0, x, n, 0, m->nlayers - 1, err, errlen);
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
        if (!l->dz_ready && !l->ops->act_in_backward) {
            long dim = l->out_shape[l->out_ndim - 1];
            dn_act_backward(l->act, l->out.data, l->delta.data, (long)n * l->out_size / dim,
                            dim);
            l->dz_ready = 1;
        }
        const float *in = i > m->last_start ? m->layers[i - 1]->out.data : m->last_x;
        float *target = i > lo ? m->layers[i - 1]->delta.data : dx;
        l->ops->backward(l, in, n, target);
    }
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
    memcpy(last->delta.data, dy, (size_t)n * (size_t)last->out_size * sizeof(float));
    backward_from(m, n, 0, 0, dx);
    return DN_OK;
}

static int check_y(const dn_model *m, const float *y, char *err, size_t errlen)
{
    if (!m->compiled)
        return dn_seterr(err, errlen, "the model must be compiled before training or evaluating");
    if (!y)
        return dn_seterr(err, errlen, "training and evaluating need labels (targets)");
    return DN_OK;
}

static void batch_metrics(dn_model *m, const float *p, const float *y, int n, double loss,
                          dn_metrics *out)
{
    if (!out)
        return;
    long dim = dn_model_output_size(m);
    out->loss = loss;
    out->n = n;
    out->has_acc = m->want_acc;
    out->acc = m->want_acc
                   ? dn_accuracy_sum(dn_accuracy_for(m->loss, dim), p, y, n, dim) / (double)n
                   : 0.0;
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
    const float *p = forward_keep(m, start, x, n, 1, keep_from, err, errlen);
    if (!p)
        return DN_ERROR;
    if (lo >= 0 && reserve_deltas(m, n, lo, err, errlen))
        return DN_ERROR;
    dn_layer *last = m->layers[m->nlayers - 1];
    long dim = last->out_size;
    int fused = dn_loss_fuses(m->loss, last->act);
    double loss = dn_loss_eval(m->loss, p, y, n, dim, fused, lo >= 0 ? last->delta.data : NULL);
    batch_metrics(m, p, y, n, loss, out);
    if (lo < 0)
        return DN_OK;   /* everything frozen: nothing to learn */
    for (int i = lo; i < m->nlayers; i++) {
        dn_layer *l = m->layers[i];
        for (int j = 0; l->trainable && j < l->nparams; j++)
            if (l->params[j].grad && dn_optimizer_prepare(&m->opt, &l->params[j], err, errlen))
                return DN_ERROR;
    }
    backward_from(m, n, lo, fused, NULL);
    m->opt.iterations++;
    for (int i = lo; i < m->nlayers; i++) {
        dn_layer *l = m->layers[i];
        for (int j = 0; l->trainable && j < l->nparams; j++)
            if (l->params[j].grad)
                dn_optimizer_apply(&m->opt, &l->params[j]);
    }
    return DN_OK;
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
    int keep_from = keep >= start && keep < m->nlayers - 1 ? keep : m->nlayers - 1;
    const float *p = forward_keep(m, start, x, n, 0, keep_from, err, errlen);
    if (!p)
        return DN_ERROR;
    double loss = dn_loss_eval(m->loss, p, y, n, dn_model_output_size(m), 0, NULL);
    batch_metrics(m, p, y, n, loss, out);
    return DN_OK;
}

int dn_model_test_on_batch(dn_model *m, const float *x, const float *y, int n,
                           dn_metrics *out, char *err, size_t errlen)
{
    return dn_model_test_from(m, 0, x, y, n, -1, out, err, errlen);
}

/* ------------------------------------------------------------ frozen-prefix reuse */

void dn_model_set_reuse(dn_model *m, int on) { m->reuse_off = !on; }
int dn_model_reuse_on(const dn_model *m) { return !m->reuse_off; }
dn_reuse **dn_model_reuse_state(dn_model *m) { return &m->reuse; }
void dn_model_reuse_clear(dn_model *m)
{
    dn_reuse_free(m->reuse);
    m->reuse = NULL;
}

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
