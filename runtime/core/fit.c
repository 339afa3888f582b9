/* fit.c — the loops over batch sources: fit (epochs, validation, progress, cancellation),
 * evaluate and predict. Cancellation is checked before every step, so an interrupted
 * run leaves the weights of the last completed step. */
#include "model.h"
#include "status.h"
#include "tensor.h"

#include <stdio.h>
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

/* one pass of src; train selects train_on_batch */
static int pass(dn_model *m, dn_batch_source *src, int train, int epoch,
                const dn_callbacks *cb, dn_metrics *out, char *err, size_t errlen)
{
    if (src->ops->reset(src, err, errlen))
        return DN_ERROR;
    long total = src->ops->count(src);
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
        int rc = train ? dn_model_train_on_batch(m, b.x, b.y, b.n, &bm, err, errlen)
                       : dn_model_test_on_batch(m, b.x, b.y, b.n, &bm, err, errlen);
        if (rc)
            return DN_ERROR;
        running_add(&r, &bm);
        if (cb && cb->on_batch) {
            dn_metrics now = running_mean(&r);
            cb->on_batch(cb->user, epoch, r.n, total, &now);
        }
    }
    *out = running_mean(&r);
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
