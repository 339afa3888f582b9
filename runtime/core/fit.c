/* fit.c — the loops over batch sources: fit (epochs, validation, progress, cancellation),
 * evaluate and predict. Cancellation is checked before every step, so an interrupted
 * run leaves the weights of the last completed step. Fit and evaluate passes keep and
 * reuse the outputs of a frozen prefix (reuse.h). */
#include "layer_impl.h"
#include "model.h"
#include "reuse.h"
#include "status.h"
#include "tensor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int stop_requested(const dn_callbacks *cb)
{
    return cb && cb->should_stop && cb->should_stop(cb->user);
}

static int check_batch(dn_model *m, const dn_batch *b, int need_y, char *err, size_t errlen)
{
    int shape[3];
    int nd = dn_model_input_shape(m, shape);
    int ok = b->n > 0 && b->x && b->x_ndim == nd + 1 && b->x_shape[0] == b->n;
    for (int i = 0; ok && i < nd; i++)
        ok = b->x_shape[i + 1] == shape[i];
    if (!ok) {
        char want[64], got[64] = "(";
        dn_shape_str(want, sizeof want, nd, shape);
        for (int i = 0; i < b->x_ndim && i < 4; i++) {
            size_t u = strlen(got);
            snprintf(got + u, sizeof got - u, i ? ", %d" : "%d", b->x_shape[i]);
        }
        strncat(got, ")", sizeof got - strlen(got) - 1);
        return dn_seterr(err, errlen, "the model takes inputs of shape %s but a batch has shape %s",
                       want, got);
    }
    if (need_y && (!b->y || b->y_dim != dn_model_output_size(m)))
        return dn_seterr(err, errlen,
                       b->y ? "the model has %ld outputs but the labels have %d columns"
                            : "the model has %ld outputs but the batch has no labels (%d)",
                       dn_model_output_size(m), b->y_dim);
    return DN_OK;
}

typedef struct running {
    double loss, acc;
    long n;
    int has_acc;
} running;

static void running_add(running *r, const dn_metrics *b)
{
    r->loss += b->loss * (double)b->n;
    r->acc += b->acc * (double)b->n;
    r->n += b->n;
    r->has_acc = b->has_acc;
}

static dn_metrics running_mean(const running *r)
{
    dn_metrics m = {0};
    m.n = r->n;
    m.has_acc = r->has_acc;
    if (r->n) {
        m.loss = r->loss / (double)r->n;
        m.acc = r->acc / (double)r->n;
    }
    return m;
}

/* What a pass does about the model's frozen prefix: e NULL computes everything. */
typedef struct reuse_plan {
    dn_reuse_entry *e;
    int cut;             /* layers [0, cut) are kept in e */
    long feat;           /* floats per example at the cut */
    int y_dim;
} reuse_plan;

static reuse_plan plan_reuse(dn_model *m, dn_batch_source *src, int train)
{
    reuse_plan p = {0};
    dn_reuse **state = dn_model_reuse_state(m);
    if (!dn_model_reuse_on(m) || !src->ops->fingerprint || !src->ops->skip_epoch)
        return p;
    int cut = dn_model_prefix_cut(m, train);
    if (cut < 1)
        return p;
    char why[400] = "";
    uint64_t source = src->ops->fingerprint(src, why, sizeof why);
    uint64_t prefix = source ? dn_model_prefix_fingerprint(m, cut) : 0;
    if (!source || !prefix)
        return p;
    const dn_layer *top = dn_model_layer(m, cut - 1);
    p.cut = cut;
    p.feat = top->out_size;
    p.y_dim = (int)dn_model_output_size(m);
    long ids = src->ops->ids ? src->ops->ids(src) : src->ops->count(src);
    p.e = dn_reuse_entry_for(state, source, prefix, cut, ids, p.feat, p.y_dim, why, sizeof why);
    if (!p.e && train) {
        char note[1024];
        snprintf(note, sizeof note, "The outputs of the frozen layers up to %s are not kept: %s.",
                 top->name, why);
        dn_reuse_set_note(state, note);
    }
    return p;
}

/* An epoch that starts at the cut, every example's prefix output being kept: the source
 * only says the order, nothing is decoded or computed below the cut. */
static int pass_reused(dn_model *m, dn_batch_source *src, const reuse_plan *p, int train,
                       int epoch, const dn_callbacks *cb, dn_metrics *out, char *err,
                       size_t errlen)
{
    long room = src->ops->ids ? src->ops->ids(src) : src->ops->count(src), total = 0, nb = 0;
    long *ids = malloc(sizeof(long) * (size_t)room);
    int *sizes = malloc(sizeof(int) * (size_t)room);
    int rc = ids && sizes ? src->ops->skip_epoch(src, ids, sizes, &total, &nb, err, errlen)
                          : dn_seterr(err, errlen, "out of memory for an epoch's order");
    int most = 0;
    for (long j = 0; rc == DN_OK && j < nb; j++)
        most = sizes[j] > most ? sizes[j] : most;
    for (long i = 0; rc == DN_OK && i < total; i++)
        if (!dn_reuse_has(p->e, ids[i]))   /* cannot happen: covers() said all are kept */
            rc = dn_seterr(err, errlen, "the kept outputs lack example %ld: run again with "
                           "reuse=False", ids[i]);
    float *bx = NULL, *by = NULL;
    if (rc == DN_OK) {
        bx = malloc(sizeof(float) * (size_t)most * (size_t)p->feat);
        by = malloc(sizeof(float) * (size_t)most * (size_t)(p->y_dim ? p->y_dim : 1));
        if (!bx || !by)
            rc = dn_seterr(err, errlen, "out of memory for a batch of kept outputs");
    }
    running r = {0};
    for (long j = 0, pos = 0; rc == DN_OK && j < nb; pos += sizes[j++]) {
        if (stop_requested(cb)) {
            rc = DN_INTERRUPTED;
            break;
        }
        dn_reuse_get(p->e, ids + pos, sizes[j], bx, by);
        dn_metrics bm;
        rc = train ? dn_model_train_from(m, p->cut, bx, by, sizes[j], -1, &bm, err, errlen)
                   : dn_model_test_from(m, p->cut, bx, by, sizes[j], -1, &bm, err, errlen);
        if (rc)
            break;
        running_add(&r, &bm);
        if (cb && cb->on_batch) {
            dn_metrics now = running_mean(&r);
            cb->on_batch(cb->user, epoch, r.n, total, &now);
        }
    }
    free(ids);
    free(sizes);
    free(bx);
    free(by);
    if (rc == DN_OK)
        *out = running_mean(&r);
    return rc;
}

/* one pass of src; train selects training steps */
static int pass(dn_model *m, dn_batch_source *src, int train, int epoch,
                const dn_callbacks *cb, dn_metrics *out, char *err, size_t errlen)
{
    if (train && *dn_model_reuse_state(m))
        dn_reuse_set_note(dn_model_reuse_state(m), "");
    reuse_plan plan = plan_reuse(m, src, train);
    const char *top = plan.e ? dn_model_layer(m, plan.cut - 1)->name : NULL;
    if (plan.e && dn_reuse_covers(plan.e, src->ops->count(src))) {
        if (train)
            dn_reuse_record(*dn_model_reuse_state(m), plan.e, 1, top);
        return pass_reused(m, src, &plan, train, epoch, cb, out, err, errlen);
    }
    if (src->ops->reset(src, err, errlen))
        return DN_ERROR;
    long total = src->ops->count(src);
    int keep = plan.e ? plan.cut - 1 : -1;
    running r = {0};
    for (;;) {
        if (stop_requested(cb))
            return DN_INTERRUPTED;
        dn_batch b;
        int got = src->ops->next(src, &b, err, errlen);
        if (got < 0)
            return DN_ERROR;
        if (got == 0)
            break;
        if (check_batch(m, &b, 1, err, errlen))
            return DN_ERROR;
        dn_metrics bm;
        int rc = train ? dn_model_train_from(m, 0, b.x, b.y, b.n, keep, &bm, err, errlen)
                       : dn_model_test_from(m, 0, b.x, b.y, b.n, keep, &bm, err, errlen);
        if (rc)
            return DN_ERROR;
        if (plan.e && b.ids)
            dn_reuse_put(plan.e, b.ids, b.n, dn_model_layer(m, plan.cut - 1)->out.data, b.y);
        running_add(&r, &bm);
        if (cb && cb->on_batch) {
            dn_metrics now = running_mean(&r);
            cb->on_batch(cb->user, epoch, r.n, total, &now);
        }
    }
    *out = running_mean(&r);
    if (plan.e && train)
        dn_reuse_record(*dn_model_reuse_state(m), plan.e, 0, top);
    return DN_OK;
}

int dn_model_fit(dn_model *m, dn_batch_source *train, int epochs, dn_batch_source *val,
                 const dn_callbacks *cb, dn_epoch_log *history, char *err, size_t errlen)
{
    if (!dn_model_compiled(m))
        return dn_seterr(err, errlen, "compile the model before fitting it");
    if (!train)
        return dn_seterr(err, errlen, "fit needs training data");
    if (epochs < 1)
        return dn_seterr(err, errlen, "epochs must be at least 1, got %d", epochs);
    /* validation reports progress through on_epoch only, as Keras does */
    dn_callbacks quiet = {0};
    if (cb) {
        quiet.user = cb->user;
        quiet.should_stop = cb->should_stop;
    }
    for (int e = 1; e <= epochs; e++) {
        double t0 = now_s();
        dn_epoch_log log = {.epoch = e, .epochs = epochs};
        int rc = pass(m, train, 1, e, cb, &log.train, err, errlen);
        if (rc)
            return rc;
        if (val) {
            rc = pass(m, val, 0, e, &quiet, &log.val, err, errlen);
            if (rc)
                return rc;
            log.has_val = 1;
        }
        log.seconds = now_s() - t0;
        if (history)
            history[e - 1] = log;
        if (cb && cb->on_epoch)
            cb->on_epoch(cb->user, &log);
    }
    return DN_OK;
}

int dn_model_evaluate(dn_model *m, dn_batch_source *src, const dn_callbacks *cb,
                      dn_metrics *out, char *err, size_t errlen)
{
    if (!dn_model_compiled(m))
        return dn_seterr(err, errlen, "compile the model before evaluating it");
    if (!src)
        return dn_seterr(err, errlen, "evaluate needs data");
    dn_metrics local;
    return pass(m, src, 0, 1, cb, out ? out : &local, err, errlen);
}

int dn_model_predict(dn_model *m, dn_batch_source *src, float *out, long rows, long *done,
                     const dn_callbacks *cb, char *err, size_t errlen)
{
    if (done)
        *done = 0;
    if (!src)
        return dn_seterr(err, errlen, "predict needs data");
    if (src->ops->reset(src, err, errlen))
        return DN_ERROR;
    const long dim = dn_model_output_size(m), total = src->ops->count(src);
    long pos = 0;
    for (;;) {
        if (stop_requested(cb))
            return DN_INTERRUPTED;
        dn_batch b;
        int got = src->ops->next(src, &b, err, errlen);
        if (got < 0)
            return DN_ERROR;
        if (got == 0)
            break;
        if (check_batch(m, &b, 0, err, errlen))
            return DN_ERROR;
        const float *p = dn_model_infer(m, b.x, b.n, err, errlen);
        if (!p)
            return DN_ERROR;
        for (int i = 0; i < b.n; i++) {
            long row = b.ids ? b.ids[i] : pos + i;
            if (row < 0 || row >= rows)
                return dn_seterr(err, errlen, "example %ld does not fit the %ld output rows", row,
                               rows);
            memcpy(out + row * dim, p + (long)i * dim, (size_t)dim * sizeof(float));
        }
        pos += b.n;
        if (done)
            *done = pos;
        if (cb && cb->on_batch) {
            dn_metrics none = {.n = pos};
            cb->on_batch(cb->user, 1, pos, total, &none);
        }
    }
    return DN_OK;
}
