/* cmd_train.c — training and using models: %fit (arrays or image batches), %evaluate,
 * %predict, %history.
 *
 * Progress is shown as Keras users know it (`37/360 [===>....] - ETA: 12s - loss: ...`),
 * one display per epoch updated in place a few times a second at most, so an epoch of a
 * thousand steps sends tens of messages, not thousands. The interrupt stops between
 * steps: the weights are then those of the last completed step, and the files saved after
 * finished epochs stay. */
#include "array.h"
#include "cmdutil.h"
#include "live.h"
#include "model_cmds.h"
#include "text.h"
#include "ws_batches.h"
#include "core/array_source.h"
#include "data/resize.h"
#include "io/model_weights.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Keras' progbar: %.4f, or %.4e for values as small as 1e-3 */
static void metric_text(dn_text *t, const char *name, double v)
{
    if (fabs(v) > 1e-3 || v == 0) dn_text_addf(t, " - %s: %.4f", name, v);
    else dn_text_addf(t, " - %s: %.4e", name, v);
}

static void metrics_text(dn_text *t, const char *prefix, const dn_metrics *m)
{
    char k[32];
    snprintf(k, sizeof k, "%sloss", prefix);
    metric_text(t, k, m->loss);
    if (m->has_acc) {
        snprintf(k, sizeof k, "%sacc", prefix);
        metric_text(t, k, m->acc);
    }
}

static void duration_text(dn_text *t, double s)
{
    if (s >= 3600) dn_text_addf(t, "%d:%02d:%02d", (int)(s / 3600), (int)fmod(s / 60, 60), (int)fmod(s, 60));
    else if (s >= 60) dn_text_addf(t, "%d:%02d", (int)(s / 60), (int)fmod(s, 60));
    else dn_text_addf(t, "%ds", (int)s);
}

/* ---------------------------------------------------------------- progress display */

typedef struct progress {
    dn_live live;
    char title[64];        /* "Epoch 1/3", "Predicting", "Evaluating" */
    long steps, step;      /* this pass's batches, and those done */
    int always;            /* shown from the first step (fit), else after half a second */
    int quiet;             /* no updates while it runs (%fit verbose=0 or 2) */
    int has_metrics;
    dn_metrics running;
    /* fit: validation after the epoch's training */
    int validating;
    long vstep, vsteps;
    int final;
    double seconds;
    int has_val;
    dn_metrics val;
    int stopped;
    /* image batches count the steps of the epoch they are in: fewer than planned when
     * a file is found that cannot be decoded (runtime/data/dirsource.h) */
    dn_batch_source *src, *vsrc;
} progress;

static void progress_init(progress *p, dn_ctx *ctx, const char *title, long steps, int always)
{
    memset(p, 0, sizeof *p);
    dn_live_init(&p->live, ctx, "progress");
    snprintf(p->title, sizeof p->title, "%s", title);
    p->steps = steps;
    p->always = always;
}

/* Keras 2's bar: 30 wide, '=' done, '>' at the head, '.' to go */
static void bar_text(dn_text *t, long cur, long target)
{
    int digits = 1;
    for (long v = target; v >= 10; v /= 10) digits++;
    dn_text_addf(t, "%*ld/%ld [", digits, cur, target);
    int width = 30, done = target > 0 ? (int)(width * cur / target) : width;
    if (done > width) done = width;
    for (int k = 0; k < done - 1; k++) dn_text_adds(t, "=");
    if (done > 0) dn_text_adds(t, cur < target ? ">" : "=");
    for (int k = done; k < width; k++) dn_text_adds(t, ".");
    dn_text_adds(t, "]");
}

static json_t *progress_bundle(const progress *p)
{
    /* Keras' line: the bar, then the time (or ETA), then the figures; the HTML shows the
     * bar as a <progress> element and the figures on a line of their own, so nothing wraps */
    dn_text plain = { 0 }, bar = { 0 }, tim = { 0 }, met = { 0 }, html = { 0 };
    bar_text(&bar, p->step, p->steps);
    double el = dn_mono_s() - p->live.t0;
    if (p->final) {
        dn_text_adds(&tim, " - ");
        duration_text(&tim, p->seconds);
        double per = p->steps ? p->seconds / (double)p->steps : 0;
        if (per >= 1) dn_text_addf(&tim, " %.0fs/step", per);
        else if (per >= 1e-3) dn_text_addf(&tim, " %.0fms/step", per * 1e3);
        else dn_text_addf(&tim, " %.0fus/step", per * 1e6);
    } else if (p->step > 0 && p->step < p->steps && !p->validating && !p->stopped) {
        dn_text_adds(&tim, " - ETA: ");
        duration_text(&tim, el / (double)p->step * (double)(p->steps - p->step));
    }
    if (p->has_metrics && p->step > 0) metrics_text(&met, "", &p->running);
    if (p->has_val) metrics_text(&met, "val_", &p->val);
    if (p->validating && !p->final) dn_text_addf(&met, " - validating %ld/%ld", p->vstep, p->vsteps);
    if (p->stopped) dn_text_adds(&met, " - stopped");
    dn_text_addf(&plain, "%s\n%s%s%s", p->title, bar.s ? bar.s : "", tim.s ? tim.s : "",
                 met.s ? met.s : "");
    dn_text_adds(&html, "<div class=\"deepnb-progress\"><b>");
    dn_text_add_html(&html, p->title);
    dn_text_addf(&html, "</b><br><progress value=\"%ld\" max=\"%ld\" style=\"width:24em\"></progress> "
                 "<code>%ld/%ld", p->validating && !p->final ? p->vstep : p->step,
                 p->validating && !p->final ? p->vsteps : p->steps, p->step, p->steps);
    dn_text_add_html(&html, tim.s ? tim.s : "");
    dn_text_adds(&html, "</code>");
    /* the figures without the " - " that joins them to the bar in the text */
    if (met.s && met.n > 3) {
        dn_text_adds(&html, "<br><code>");
        dn_text_add_html(&html, met.s + 3);
        dn_text_adds(&html, "</code>");
    }
    dn_text_adds(&html, "</div>");
    free(bar.s);
    free(tim.s);
    free(met.s);
    return dn_text_bundle(&plain, &html);
}

static void progress_show(progress *p)
{
    json_t *b = progress_bundle(p);
    dn_live_show(&p->live, b);
    json_decref(b);
}

/* Updates at most twice a second; passes that end within half a second and are not
 * always shown leave no display (the record then does not depend on the machine). */
static void progress_tick(progress *p)
{
    if (!p->quiet && dn_live_due(&p->live, p->always ? 0 : 0.5, 0.5))
        progress_show(p);
}

static int should_stop(void *user)
{
    progress *p = user;
    if (dn_ctx_interrupted(p->live.ctx)) {
        p->stopped = 1;
        return 1;
    }
    return 0;
}

static void on_train_batch(void *user, int epoch, long seen, long total, const dn_metrics *running)
{
    (void)epoch; (void)seen; (void)total;
    progress *p = user;
    p->step++;
    if (p->src) p->steps = p->src->ops->batches(p->src);
    p->running = *running;
    progress_tick(p);
}

static void on_val_batch(void *user, int epoch, long seen, long total, const dn_metrics *running)
{
    (void)epoch; (void)seen; (void)total; (void)running;
    progress *p = user;
    p->vstep++;
    if (p->vsrc) p->vsteps = p->vsrc->ops->batches(p->vsrc);
    progress_tick(p);
}

static void on_pass_batch(void *user, int epoch, long seen, long total, const dn_metrics *running)
{
    (void)epoch; (void)seen; (void)total;
    progress *p = user;
    p->step++;
    if (p->src) p->steps = p->src->ops->batches(p->src);
    if (running) p->running = *running;
    progress_tick(p);
}

/* ---------------------------------------------------------------- data sources */

/* What a command trains, evaluates or predicts on: batches or arrays. */
typedef struct source {
    dn_ctx *ctx;
    const char *name;
    dn_batches *batches;            /* image batches, or */
    const dn_array *x, *y;          /* arrays (y may be NULL) */
    dn_batch_source *owned;         /* an array source made here */
    dn_batch_source *src;
    int used;                       /* a pass over it began */
} source;

/* Says which files of the batches could not be decoded and were left out (each was
 * warned about when found; this line lists them whenever the batches are used). */
static void report_left_out(const source *s)
{
    char text[2048];
    if (s->batches && s->used && dn_dir_source_left_out_text(dn_batches_dir(s->batches), text, sizeof text))
        dn_eprint(s->ctx, "Warning: %s: %s\n", s->name, text);
}

static void source_fini(source *s)
{
    report_left_out(s);
    if (s->batches) dn_batches_attach(s->batches, NULL);
    if (s->owned) s->owned->ops->free(s->owned);
    memset(s, 0, sizeof *s);
}

static const char *plural(long n, const char *one, const char *many) { return n == 1 ? one : many; }

/* x must fit the model's input, y (when given) its outputs */
static int check_arrays(dn_ctx *ctx, const char *cmd, const char *model, dn_ws_model *wm,
                        const char *xn, const dn_array *x, const char *yn, const dn_array *y)
{
    int shape[3], nd = dn_model_input_shape(wm->m, shape);
    char want[64], got[64];
    if (x->dtype == DN_DT_STR)
        return dn_fail(ctx, "TypeError", "%%%s: %s holds strings, not numbers", cmd, xn);
    int fits = x->ndim == nd + 1;
    for (int a = 0; fits && a < nd; a++) fits = x->shape[a + 1] == shape[a];
    if (!fits) {
        dn_shape_str(want, sizeof want, nd, shape);
        dn_array_shape_str(x, got, sizeof got);
        return dn_fail(ctx, "ValueError", "%%%s: %s takes inputs of shape %s, but %s has shape %s",
                       cmd, model, want, xn, got);
    }
    if (x->shape[0] < 1) return dn_fail(ctx, "ValueError", "%%%s: %s has no examples", cmd, xn);
    if (!y) return 0;
    long outs = dn_model_output_size(wm->m);
    dn_array_shape_str(y, got, sizeof got);
    if (y->dtype == DN_DT_STR)
        return dn_fail(ctx, "TypeError", "%%%s: %s holds strings, not numbers", cmd, yn);
    if (y->ndim < 1 || y->ndim > 2 || y->shape[0] != x->shape[0]) {
        char xs[64];
        dn_array_shape_str(x, xs, sizeof xs);
        return dn_fail(ctx, "ValueError", "%%%s: %s has shape %s but %s has shape %s: the targets "
                       "need one row per example (%ld)", cmd, xn, xs, yn, got, x->shape[0]);
    }
    long cols = y->ndim == 2 ? y->shape[1] : 1;
    if (cols != outs)
        return dn_fail(ctx, "ValueError", "%%%s: %s has %ld output%s but %s has shape %s (%ld "
                       "column%s)%s", cmd, model, outs, plural(outs, "", "s"), yn, got, cols,
                       plural(cols, "", "s"), outs > 1 && cols == 1
                           ? "; class indices become one-hot rows with one_hot(...)" : "");
    return 0;
}

static int check_batches(dn_ctx *ctx, const char *cmd, const char *model, dn_ws_model *wm,
                         const char *bn, dn_batches *b, int need_labels)
{
    dn_dir_source *d = dn_batches_dir(b);
    const dn_dir_options *o = dn_dir_source_options(d);
    int shape[3], nd = dn_model_input_shape(wm->m, shape);
    int fits = nd == 3 && shape[0] == o->height && shape[1] == o->width && shape[2] == o->channels;
    if (!fits) {
        char want[64];
        dn_shape_str(want, sizeof want, nd, shape);
        if (nd == 3)
            return dn_fail(ctx, "ValueError", "%%%s: %s takes images of shape %s but %s gives "
                           "(None, %d, %d, %d): make the batches with size=(%d, %d) color=%s",
                           cmd, model, want, bn, o->height, o->width, o->channels, shape[0],
                           shape[1], shape[2] == 1 ? "grayscale" : "rgb");
        return dn_fail(ctx, "ValueError", "%%%s: %s takes inputs of shape %s, not images (%s gives "
                       "(None, %d, %d, %d))", cmd, model, want, bn, o->height, o->width, o->channels);
    }
    if (need_labels) {
        if (o->class_mode == DN_CLASS_NONE)
            return dn_fail(ctx, "ValueError", "%%%s: %s has no labels (class_mode=None); %s needs "
                           "labelled images", cmd, bn, cmd);
        long outs = dn_model_output_size(wm->m);
        int k = dn_dir_source_num_classes(d);
        if (outs != k)
            return dn_fail(ctx, "ValueError", "%%%s: %s has %ld output%s but %s has %d class%s%s",
                           cmd, model, outs, plural(outs, "", "s"), bn, k, plural(k, "", "es"),
                           outs != k ? " (%finetune replaces the last layer with one that fits)" : "");
    }
    if (wm->preprocess >= 0 && (int)o->preprocess != wm->preprocess)
        dn_eprint(ctx, "Warning: %s was %s images with preprocess=%s, but %s has preprocess=%s; "
                  "its outputs will be off (make the batches with preprocess=%s)\n", model,
                  !strcmp(wm->arch, "VGG16") ? "made for" : "trained on",
                  dn_preprocess_name((dn_preprocess)wm->preprocess), bn,
                  dn_preprocess_name(o->preprocess), dn_preprocess_name((dn_preprocess)wm->preprocess));
    return 0;
}

/* Whether name is a batches object (else it should be an array). */
static int is_batches(dn_ctx *ctx, const char *name)
{
    const dn_type *t;
    return dn_workspace_get(dn_ctx_workspace(ctx), name, &t) && t == &dn_batches_type;
}

/* The data named xn: batches, or the array xn with targets yn (NULL when the command
 * needs none). batch_size and shuffle are for arrays; a shuffled array source takes its
 * seed with dn_workspace_peek_seed (the caller takes it once the command will run). */
static int source_open(dn_ctx *ctx, const char *cmd, const char *model, dn_ws_model *wm,
                       const char *xn, const char *yn, int need_y, long batch_size, int shuffle,
                       source *s)
{
    memset(s, 0, sizeof *s);
    s->ctx = ctx;
    char err[512];
    dn_workspace *ws = dn_ctx_workspace(ctx);
    const dn_type *t;
    void *obj = dn_workspace_get(ws, xn, &t);
    if (!obj)
    {
        dn_workspace_missing(ws, xn, err, sizeof err);
        return dn_fail(ctx, "NameError", "%%%s: %s", cmd, err);
    }
    s->name = xn;
    if (t == &dn_batches_type) {
        if (yn)
            return dn_fail(ctx, "UsageError", "%%%s: %s is batches, which carry their own labels; "
                           "give no targets after it", cmd, xn);
        s->batches = obj;
        if (check_batches(ctx, cmd, model, wm, xn, s->batches, need_y)) return -1;
        dn_batches_attach(s->batches, ctx);
        s->src = dn_batches_source(s->batches);
        return 0;
    }
    if (!(s->x = dn_array_get(ws, xn, err, sizeof err)))
        return dn_fail(ctx, "TypeError", "%%%s: %s is a %s; give batches (%%batches) or an array",
                       cmd, xn, t ? t->name : "thing");
    if (need_y && !yn)
        return dn_fail(ctx, "UsageError", "%%%s on arrays takes the inputs and the targets: "
                       "%%%s %s %s Y", cmd, cmd, model, xn);
    if (yn && !(s->y = dn_array_get(ws, yn, err, sizeof err)))
        return dn_fail(ctx, dn_workspace_get(ws, yn, NULL) ? "TypeError" : "NameError", "%%%s: %s",
                       cmd, err);
    if (check_arrays(ctx, cmd, model, wm, xn, s->x, yn, s->y)) return -1;
    int shape[4] = { (int)s->x->shape[0], (int)s->x->shape[1], (int)s->x->shape[2], (int)s->x->shape[3] };
    long cols = s->y ? (s->y->ndim == 2 ? s->y->shape[1] : 1) : 0;
    uint64_t seed = shuffle ? dn_workspace_peek_seed(ws) : 0;
    s->owned = dn_array_source_new(s->x->data, s->x->ndim, shape, s->y ? s->y->data : NULL,
                                   (int)cols, (int)batch_size, shuffle, seed, err, sizeof err);
    if (!s->owned) return dn_fail(ctx, "MemoryError", "%s", err);
    s->src = s->owned;
    return 0;
}

/* The name a value is (NAME), or NULL */
static const char *name_of(const dn_value *v)
{
    return v && v->kind == DN_VAL_NAME ? v->text : NULL;
}

/* ---------------------------------------------------------------- %fit */

/* save=results/ft{epoch}.h5: {epoch} or {epoch:02d} becomes the model's epoch number */
static int save_path(dn_ctx *ctx, const char *pattern, int epoch, char **out)
{
    dn_text t = { 0 };
    for (const char *p = pattern; *p;) {
        if (*p != '{') {
            dn_text_add(&t, p++, 1);
            continue;
        }
        const char *end = strchr(p, '}');
        int width = 0;
        if (end && !strncmp(p, "{epoch}", 7)) {
            dn_text_addf(&t, "%d", epoch);
        } else if (end && sscanf(p, "{epoch:0%dd}", &width) == 1 && width > 0 && width < 10
                   && end[-1] == 'd') {
            dn_text_addf(&t, "%0*d", width, epoch);
        } else {
            free(t.s);
            return dn_fail(ctx, "UsageError", "%%fit: save=%s: the only field a file name can hold is "
                           "{epoch} (or {epoch:02d}), the model's epoch number", pattern);
        }
        p = end + 1;
    }
    if (t.oom) { free(t.s); return dn_fail(ctx, "MemoryError", "out of memory"); }
    *out = t.s;
    return 0;
}

/* Appends what an epoch did with the frozen layers' outputs, once per different sentence
 * (the first epoch keeps them, the next ones reuse them). */
static void add_note(char *notes, size_t len, const char *note)
{
    if (!note[0])
        return;
    size_t k = strlen(notes), m = strlen(note);
    /* the notes so far end with the last one and a newline */
    if (k > m && !strncmp(notes + k - m - 1, note, m))
        return;
    snprintf(notes + k, len - k, "%s\n", note);
}

static int run_fit(dn_ctx *ctx, const dn_call *call)
{
    static const char *const keys[] = { "epochs", "nb_epoch", "batch_size", "validation",
        "validation_data", "shuffle", "save", "verbose", "reuse", NULL };
    char err[1024];
    if (dn_args_check(call->args, "%fit", 2, 4, keys, err, sizeof err) < 0)
        return dn_fail(ctx, "UsageError", "%s", err);
    const char *name;
    dn_ws_model *wm = dn_need_model(ctx, call, 0, &name);
    if (!wm) return -1;
    long epochs = 1, batch_size = 32, verbose = 1;
    int shuffle = 1, reuse = 1;
    if (dn_opt_whole(ctx, call, "epochs", "nb_epoch", 1, 100000, &epochs, NULL) < 0
        || dn_opt_whole(ctx, call, "batch_size", NULL, 1, 1 << 20, &batch_size, NULL) < 0
        || dn_opt_whole(ctx, call, "verbose", NULL, 0, 2, &verbose, NULL) < 0
        || dn_opt_bool(ctx, call, "shuffle", &shuffle, NULL) < 0
        || dn_opt_bool(ctx, call, "reuse", &reuse, NULL) < 0)
        return -1;
    if (!dn_model_compiled(wm->m))
        return dn_fail(ctx, "ValueError", "%s is not compiled: %%compile %s optimizer=... loss=... "
                       "first (or %%finetune)", name, name);
    if (dn_loss_fits_model(wm->m, dn_model_loss(wm->m), err, sizeof err))
        return dn_fail(ctx, "ValueError", "%%fit: %s (the model changed since %%compile)", err);
    const dn_value *sv = dn_args_key(call->args, "save");
    char *pattern = NULL;
    if (sv) {
        if (!(pattern = dn_arg_path(sv)))
            return dn_fail(ctx, "UsageError", "%%fit: save is a file name such as results/ft{epoch}.h5");
        char *first = NULL;
        int rc = save_path(ctx, pattern, 1, &first);
        if (rc == 0) rc = dn_need_parent_folder(ctx, first);
        free(first);
        if (rc) { free(pattern); return -1; }
    }
    /* %fit NAME TRAIN [VALID] | NAME X Y, validation= for either */
    source train = { 0 }, val = { 0 };
    const char *xn, *yn = NULL, *vxn = NULL, *vyn = NULL;
    int rc = dn_arg_name(ctx, call, 1, "the training data (batches, or arrays X Y)", &xn);
    size_t next = 2;
    if (rc == 0 && !is_batches(ctx, xn) && dn_args_pos(call->args, 2)) {
        rc = dn_arg_name(ctx, call, 2, "Y (the targets)", &yn);
        next = 3;
    }
    const dn_value *vv = NULL, *vpos = dn_args_pos(call->args, next);
    if (rc == 0) rc = dn_opt_value(ctx, call, "validation", "validation_data", &vv);
    if (rc == 0 && vpos && vv)
        rc = dn_fail(ctx, "UsageError", "%%fit: give the validation data once (after the training "
                     "data, or as validation=)");
    if (rc == 0 && dn_args_pos(call->args, next + (vpos != NULL)))
        rc = dn_fail(ctx, "UsageError", "%%fit takes NAME TRAIN [VALID] for batches, or NAME X Y "
                     "[validation=(VX, VY)] for arrays: one argument too many");
    if (rc == 0 && (vpos || vv)) {
        const dn_value *v = vpos ? vpos : vv;
        if ((v->kind == DN_VAL_TUPLE || v->kind == DN_VAL_LIST) && v->n == 2
            && name_of(v->items[0]) && name_of(v->items[1])) {
            vxn = name_of(v->items[0]);
            vyn = name_of(v->items[1]);
        } else if (name_of(v) && is_batches(ctx, name_of(v))) {
            vxn = name_of(v);
        } else {
            char shown[128];
            dn_value_format(v, shown, sizeof shown);
            rc = dn_fail(ctx, "UsageError", "%%fit: validation data is batches (%%fit m train valid) "
                         "or a pair of arrays, validation=(VX, VY); not %s", shown);
        }
    }
    /* batches bring their own batch size and order: an option that would do nothing is
     * refused rather than ignored */
    if (rc == 0 && is_batches(ctx, xn))
        for (int k = 0; rc == 0 && k < 2; k++) {
            const char *opt = k ? "shuffle" : "batch_size";
            if (dn_args_key(call->args, opt))
                rc = dn_fail(ctx, "UsageError", "%%fit: %s= is for arrays; %s has its own (%%batches "
                             "NAME DIR %s=...)", opt, xn, opt);
        }
    if (rc == 0)
        rc = source_open(ctx, "fit", name, wm, xn, yn, 1, batch_size, shuffle, &train);
    if (rc == 0 && vxn)
        rc = source_open(ctx, "fit", name, wm, vxn, vyn, 1, batch_size, 0, &val);
    if (rc) {
        source_fini(&train);
        source_fini(&val);
        free(pattern);
        return -1;
    }
    if (train.owned && shuffle) dn_workspace_next_seed(dn_ctx_workspace(ctx));
    if (train.batches) {
        dn_dir_source *d = dn_batches_dir(train.batches);
        if (wm->preprocess < 0) wm->preprocess = (int)dn_dir_source_options(d)->preprocess;
        dn_ws_model_classes_from(wm, d);   /* out of memory: predictions go unnamed */
    }

    long steps = train.src->ops->batches(train.src);
    int fit_no = wm->fits + 1, any = 0, done_epochs = 0;
    char saved[1024] = "", notes[4096] = "";
    dn_model_set_reuse(wm->m, reuse);
    dn_optimizer *opt = dn_model_optimizer(wm->m);
    for (int e = 1; e <= epochs && rc == 0; e++) {
        int epoch_no = (wm->nhist ? wm->hist[wm->nhist - 1].epoch : 0) + 1;
        char title[64];
        snprintf(title, sizeof title, "Epoch %d/%ld", e, epochs);
        progress p;
        progress_init(&p, ctx, title, steps, verbose == 1);
        p.src = train.batches ? train.src : NULL;
        p.vsrc = val.batches ? val.src : NULL;
        train.used = val.used = 1;
        p.has_metrics = 1;
        p.quiet = verbose != 1;
        if (verbose == 1) progress_show(&p);
        dn_callbacks cb = { .user = &p, .on_batch = on_train_batch, .should_stop = should_stop };
        dn_epoch_log log;
        double lr = opt->lr;
        int r = dn_model_fit(wm->m, train.src, 1, NULL, &cb, &log, err, sizeof err);
        any |= p.step > 0;
        add_note(notes, sizeof notes, dn_model_reuse_note(wm->m));
        if (r == DN_OK && val.src) {
            p.validating = 1;
            p.vsteps = val.src->ops->batches(val.src);
            if (verbose == 1) progress_show(&p);
            dn_callbacks vcb = { .user = &p, .on_batch = on_val_batch, .should_stop = should_stop };
            r = dn_model_evaluate(wm->m, val.src, &vcb, &log.val, err, sizeof err);
            if (r == DN_OK) {
                log.has_val = 1;
                p.has_val = 1;
                p.val = log.val;
            }
        }
        if (r == DN_ERROR) {
            if (p.live.shown) { p.stopped = 1; progress_show(&p); }
            rc = dn_fail(ctx, "RuntimeError", "%%fit stopped in epoch %d after step %ld of %ld: %s",
                         e, p.step, p.steps, err);
            break;
        }
        p.seconds = dn_mono_s() - p.live.t0;
        if (r == DN_INTERRUPTED) {
            if (p.live.shown) progress_show(&p);
            if (p.validating) {
                /* the epoch's training is complete: it counts, without validation figures */
                log.has_val = 0;
                log.seconds = p.seconds;
                dn_hist_row row = { .epoch = epoch_no, .fit = fit_no, .log = log, .lr = lr };
                dn_ws_model_add_epoch(wm, &row);
                done_epochs++;
                rc = dn_fail(ctx, "KeyboardInterrupt", "%%fit stopped while validating epoch %d of "
                             "%ld: its training is complete and kept (epoch %d of %s)%s%s%s", e,
                             epochs, epoch_no, name, pattern ? ", but not saved" : "",
                             saved[0] ? "; saved before: " : "", saved);
            } else {
                rc = dn_fail(ctx, "KeyboardInterrupt", "%%fit stopped in epoch %d of %ld after step %ld "
                             "of %ld: %s has the weights of that step%s%s%s", e, epochs, p.step, p.steps,
                             name, p.step ? "" : " (none of this epoch)", saved[0] ? "; saved: " : "",
                             saved);
            }
            break;
        }
        log.seconds = p.seconds;
        p.final = 1;
        if (verbose) progress_show(&p);
        dn_hist_row row = { .epoch = epoch_no, .fit = fit_no, .log = log, .lr = lr };
        if (dn_ws_model_add_epoch(wm, &row)) {
            rc = dn_fail(ctx, "MemoryError", "out of memory");
            break;
        }
        done_epochs++;
        if (pattern) {
            char *path = NULL;
            if (save_path(ctx, pattern, epoch_no, &path)) { rc = -1; break; }
            if (dn_model_save_weights(wm->m, path, err, sizeof err)) {
                rc = dn_fail(ctx, "OSError", "%%fit: epoch %d is done but its weights could not be "
                             "saved: %s", e, err);
                free(path);
                break;
            }
            size_t k = strlen(saved);
            snprintf(saved + k, sizeof saved - k, "%s%s", k ? ", " : "", path);
            free(path);
        }
    }
    if (any || done_epochs) wm->fits = fit_no;
    source_fini(&train);
    source_fini(&val);
    free(pattern);
    if (rc) return rc;
    if (saved[0]) dn_print(ctx, "Saved %s.\n", saved);
    if (!verbose) return 0;   /* as Keras' verbose=0: nothing shown (%history has it) */
    if (notes[0]) dn_print(ctx, "%s", notes);
    json_t *h = dn_ws_model_history(wm, name);
    if (h) {
        dn_display(ctx, h);
        json_decref(h);
    }
    return 0;
}

/* ---------------------------------------------------------------- %evaluate */

static json_t *metrics_bundle(const dn_metrics *m)
{
    dn_text plain = { 0 }, html = { 0 };
    metrics_text(&plain, "", m);
    /* metrics_text starts with " - " */
    dn_text_adds(&html, "<table class=\"deepnb-evaluate\"><tr><th>loss</th>");
    if (m->has_acc) dn_text_adds(&html, "<th>acc</th>");
    dn_text_addf(&html, "<th>examples</th></tr><tr><td>%.6g</td>", m->loss);
    if (m->has_acc) dn_text_addf(&html, "<td>%.4f</td>", m->acc);
    char n[32];
    dn_text_addf(&html, "<td>%s</td></tr></table>", dn_grouped(m->n, n, sizeof n));
    if (plain.s && plain.n > 3) {
        memmove(plain.s, plain.s + 3, plain.n - 2);
        plain.n -= 3;
    }
    return dn_text_bundle(&plain, &html);
}

static int run_evaluate(dn_ctx *ctx, const dn_call *call)
{
    static const char *const keys[] = { "batch_size", "reuse", NULL };
    char err[1024];
    if (dn_args_check(call->args, "%evaluate", 2, 3, keys, err, sizeof err) < 0)
        return dn_fail(ctx, "UsageError", "%s", err);
    const char *name;
    dn_ws_model *wm = dn_need_model(ctx, call, 0, &name);
    if (!wm) return -1;
    long batch_size = 32;
    int reuse = 1;
    if (dn_opt_whole(ctx, call, "batch_size", NULL, 1, 1 << 20, &batch_size, NULL) < 0
        || dn_opt_bool(ctx, call, "reuse", &reuse, NULL) < 0) return -1;
    if (!dn_model_compiled(wm->m))
        return dn_fail(ctx, "ValueError", "%s is not compiled: %%evaluate needs its loss (%%compile %s "
                       "optimizer=... loss=...)", name, name);
    if (dn_loss_fits_model(wm->m, dn_model_loss(wm->m), err, sizeof err))
        return dn_fail(ctx, "ValueError", "%%evaluate: %s (the model changed since %%compile)", err);
    const char *xn, *yn = NULL;
    if (dn_arg_name(ctx, call, 1, "the data (batches, or arrays X Y)", &xn) < 0
        || (dn_args_pos(call->args, 2) && dn_arg_name(ctx, call, 2, "Y (the targets)", &yn) < 0))
        return -1;
    source s;
    if (source_open(ctx, "evaluate", name, wm, xn, yn, 1, batch_size, 0, &s)) {
        source_fini(&s);
        return -1;
    }
    progress p;
    progress_init(&p, ctx, "Evaluating", s.src->ops->batches(s.src), 0);
    p.src = s.batches ? s.src : NULL;
    s.used = 1;
    p.has_metrics = 1;
    dn_callbacks cb = { .user = &p, .on_batch = on_pass_batch, .should_stop = should_stop };
    dn_metrics m;
    dn_model_set_reuse(wm->m, reuse);
    int r = dn_model_evaluate(wm->m, s.src, &cb, &m, err, sizeof err);
    source_fini(&s);
    if (r == DN_INTERRUPTED) {
        if (p.live.shown) progress_show(&p);
        return dn_fail(ctx, "KeyboardInterrupt", "%%evaluate stopped after %ld of %ld batches",
                       p.step, p.steps);
    }
    dn_live_clear(&p.live);
    if (r) return dn_fail(ctx, "RuntimeError", "%s", err);
    json_t *b = metrics_bundle(&m);
    if (!b) return dn_fail(ctx, "MemoryError", "out of memory");
    dn_result(ctx, b);
    json_decref(b);
    return 0;
}

/* ---------------------------------------------------------------- %predict */

static int copy_names(char ***out, const char *(*get)(const void *, long), const void *obj, long n)
{
    char **s = calloc(n > 0 ? (size_t)n : 1, sizeof *s);
    if (!s) return -1;
    for (long i = 0; i < n; i++)
        if (!(s[i] = strdup(get(obj, i)))) {
            while (i--) free(s[i]);
            free(s);
            return -1;
        }
    *out = s;
    return 0;
}

static const char *file_at(const void *d, long i) { return dn_dir_source_filename(d, i); }
static const char *class_at(const void *d, long i) { return dn_dir_source_class_name(d, (int)i); }
static const char *model_class_at(const void *wm, long i) { return ((const dn_ws_model *)wm)->class_names[i]; }

/* what the predictions of batches know about their rows */
static int describe_rows(dn_array *a, dn_batches *b, const dn_ws_model *wm, long dim)
{
    dn_dir_source *d = dn_batches_dir(b);
    const dn_dir_options *o = dn_dir_source_options(d);
    long n = dn_dir_source_count(d);
    int k = dn_dir_source_num_classes(d);
    if (copy_names(&a->filenames, file_at, d, n)) return -1;
    if (!(a->dir = strdup(dn_dir_source_dir(d)))) return -1;
    a->width = o->width;
    a->height = o->height;
    a->channels = o->channels;
    a->preprocess = (int)o->preprocess;
    if (o->class_mode != DN_CLASS_NONE && k == dim) {
        a->labels = malloc((size_t)n * sizeof *a->labels);
        if (!a->labels) return -1;
        for (long i = 0; i < n; i++) a->labels[i] = dn_dir_source_label(d, i);
        if (copy_names(&a->class_names, class_at, d, k)) return -1;
        a->nclasses = k;
    } else if (wm->nclasses == dim) {
        if (copy_names(&a->class_names, model_class_at, wm, dim)) return -1;
        a->nclasses = (int)dim;
    }
    return 0;
}

/* Takes the rows of files that were left out (they could not be decoded, so the model
 * never saw them) out of predictions described by describe_rows: no made-up rows. */
static int drop_left_out(dn_array *a, dn_batches *b)
{
    dn_dir_source *d = dn_batches_dir(b);
    long n = a->shape[0], dim = a->ndim == 2 ? a->shape[1] : 1, k = 0;
    if (!dn_dir_source_left_out(d)) return 0;
    for (long i = 0; i < n; i++) {
        if (dn_dir_source_is_left_out(d, i)) {
            free(a->filenames[i]);
            continue;
        }
        if (k != i) {
            memmove(a->data + k * dim, a->data + i * dim, (size_t)dim * sizeof(float));
            a->filenames[k] = a->filenames[i];
            if (a->labels) a->labels[k] = a->labels[i];
        }
        k++;
    }
    a->shape[0] = k;
    a->size = k * dim;
    return 0;
}

static int run_predict(dn_ctx *ctx, const dn_call *call)
{
    static const char *const keys[] = { "as", "batch_size", NULL };
    char err[1024];
    if (dn_args_check(call->args, "%predict", 2, 2, keys, err, sizeof err) < 0)
        return dn_fail(ctx, "UsageError", "%s", err);
    const char *name, *as = NULL;
    dn_ws_model *wm = dn_need_model(ctx, call, 0, &name);
    if (!wm) return -1;
    long batch_size = 32;
    if (dn_opt_whole(ctx, call, "batch_size", NULL, 1, 1 << 20, &batch_size, NULL) < 0) return -1;
    const dn_value *av = dn_args_key(call->args, "as");
    if (av) {
        if (av->kind != DN_VAL_NAME || !dn_workspace_valid_name(av->text))
            return dn_fail(ctx, "UsageError", "%%predict: as= is the name to keep the predictions "
                           "under (letters, digits, _)");
        as = av->text;
    }
    if (!dn_model_nlayers(wm->m)) return dn_fail(ctx, "ValueError", "%s has no layers", name);
    const char *xn;
    if (dn_arg_name(ctx, call, 1, "SOURCE (batches or an array)", &xn) < 0) return -1;
    source s;
    if (source_open(ctx, "predict", name, wm, xn, NULL, 0, batch_size, 0, &s)) {
        source_fini(&s);
        return -1;
    }
    if (s.batches && dn_dir_source_options(dn_batches_dir(s.batches))->shuffle) {
        const char *bn = s.name;
        source_fini(&s);
        return dn_fail(ctx, "ValueError", "%%predict: %s is shuffled, so its images come in a new "
                       "order every epoch and the predictions could not be matched to their files; "
                       "make it with shuffle=False: %%batches %s DIR shuffle=False", bn, bn);
    }
    /* batch ids are positions among every file found; rows of files left out are
     * taken away afterwards (drop_left_out) */
    long rows = s.batches ? dn_dir_source_count(dn_batches_dir(s.batches)) : s.src->ops->count(s.src);
    long dim = dn_model_output_size(wm->m);
    long shape[2] = { rows, dim };
    dn_array *a = dn_array_new(DN_DT_FLOAT, 2, shape, err, sizeof err);
    if (!a) {
        source_fini(&s);
        return dn_fail(ctx, "MemoryError", "%s", err);
    }
    progress p;
    progress_init(&p, ctx, "Predicting", s.src->ops->batches(s.src), 0);
    p.src = s.batches ? s.src : NULL;
    s.used = 1;
    dn_callbacks cb = { .user = &p, .on_batch = on_pass_batch, .should_stop = should_stop };
    long done = 0;
    int r = dn_model_predict(wm->m, s.src, a->data, rows, &done, &cb, err, sizeof err);
    int is_preds = s.batches != NULL;
    if (r == DN_OK && s.batches && (describe_rows(a, s.batches, wm, dim) || drop_left_out(a, s.batches))) {
        r = DN_ERROR;
        snprintf(err, sizeof err, "out of memory");
    }
    if (r == DN_OK && !s.batches && wm->nclasses == dim) {
        if (copy_names(&a->class_names, model_class_at, wm, dim)) {
            r = DN_ERROR;
            snprintf(err, sizeof err, "out of memory");
        } else {
            a->nclasses = (int)dim;
            is_preds = 1;
        }
    }
    const char *sname = s.name;
    long nimages = a->shape[0];
    int from_batches = s.batches != NULL;
    source_fini(&s);
    if (r == DN_INTERRUPTED) {
        if (p.live.shown) progress_show(&p);
        dn_array_free(a);
        return dn_fail(ctx, "KeyboardInterrupt", "%%predict stopped after %ld of %ld examples; "
                       "nothing was kept", done, rows);
    }
    dn_live_clear(&p.live);
    if (r) {
        dn_array_free(a);
        return dn_fail(ctx, "RuntimeError", "%s", err);
    }
    if (!as) {
        json_t *b = dn_array_bundle(a);
        dn_array_free(a);
        if (!b) return dn_fail(ctx, "MemoryError", "out of memory");
        dn_result(ctx, b);
        json_decref(b);
        return 0;
    }
    char shp[64], cnt[32];
    dn_array_shape_str(a, shp, sizeof shp);
    dn_text classes = { 0 };
    for (int c = 0; c < a->nclasses; c++) dn_text_addf(&classes, "%s%s", c ? ", " : "", a->class_names[c]);
    int labelled = a->labels != NULL;
    if (dn_array_set(dn_ctx_workspace(ctx), as, a, is_preds, err, sizeof err) < 0) {
        dn_array_free(a);
        free(classes.s);
        return dn_fail(ctx, "MemoryError", "%s", err);
    }
    dn_print(ctx, "%s: predictions of %s for the %s %s of %s, shape %s%s%s%s%s.\n", as, name,
             dn_grouped(nimages, cnt, sizeof cnt), from_batches ? "images" : "rows", sname, shp,
             classes.s ? "; classes " : "", classes.s ? classes.s : "",
             labelled ? "; true labels known" : "", from_batches && !labelled ? "; no labels" : "");
    free(classes.s);
    return 0;
}

/* ---------------------------------------------------------------- %history */

static int run_history(dn_ctx *ctx, const dn_call *call)
{
    char err[256];
    if (dn_args_check(call->args, "%history", 1, 1, NULL, err, sizeof err) < 0)
        return dn_fail(ctx, "UsageError", "%s", err);
    const char *name;
    dn_ws_model *wm = dn_need_model(ctx, call, 0, &name);
    if (!wm) return -1;
    json_t *h = dn_ws_model_history(wm, name);
    if (!h) {
        dn_print(ctx, "%s has not been trained yet (%%fit trains it).\n", name);
        return 0;
    }
    dn_display(ctx, h);
    json_decref(h);
    return 0;
}

/* ---------------------------------------------------------------- the table */

static const char *const fit_keys[] = { "epochs=", "batch_size=", "validation=", "save=",
                                        "shuffle=", "verbose=", "reuse=", NULL };

const dn_command dn_commands_train[] = {
    { .name = "fit", .kind = DN_LINE, .run = run_fit, .source = __FILE__,
      .synopsis = "%fit NAME TRAIN [VALID] | NAME X Y [...]",
      .complete = DN_COMPLETE_NAMES | DN_COMPLETE_KEYWORDS,
      .args = "nnnn-", .path_keys = (const char *const[]){ "save=", NULL },
      .name_keys = (const char *const[]){ "validation=", "validation_data=", NULL }, .keywords = fit_keys,
      .help =
        "Train a compiled model, as Keras' fit and fit_generator.\n"
        "%fit NAME TRAIN [VALID] [epochs=1] [save=results/ft{epoch}.h5]\n"
        "%fit NAME X Y [epochs=1] [batch_size=32] [validation=(VX, VY)] [shuffle=True]\n\n"
        "TRAIN and VALID are batches (%batches); X and Y arrays (%let, %load, %predict),\n"
        "Y with one row per example. Each epoch shows Keras' progress bar, updated in\n"
        "place: steps done, ETA, the running loss and accuracy, and at the end the epoch's\n"
        "time and its validation loss and accuracy. Then a table of every epoch the model\n"
        "has trained (%history shows it again).\n\n"
        "Options:\n"
        "  epochs=1        passes over the data (nb_epoch= as Keras 1 wrote it)\n"
        "  batch_size=32   arrays only: examples per step (batches have their own)\n"
        "  validation=     validation data: batches, or (VX, VY) for arrays\n"
        "  shuffle=True    arrays only: a new order each epoch, drawn from %seed\n"
        "  save=FILE       save the weights after each epoch; {epoch} in FILE becomes the\n"
        "                  model's epoch number, counted over its fits since it was compiled\n"
        "                  (ft1.h5, ft2.h5, ... when the lesson fits one epoch per cell after\n"
        "                  %finetune)\n"
        "  verbose=1       1: the bar updated as it goes; 2: one line per epoch when it ends;\n"
        "                  0: nothing at all (%history shows the epochs)\n"
        "  reuse=True      keep the outputs of the frozen layers at the bottom (after\n"
        "                  %finetune or %freeze: up to the first layer that learns, Dropout\n"
        "                  or trainable BatchNormalization) for every example, and start\n"
        "                  later epochs above them, also in later %fit cells: the same\n"
        "                  numbers, bit for bit, many times faster. They are kept in memory,\n"
        "                  or on disk when memory is short; a line after the epochs says\n"
        "                  where and how much. Loading weights or unfreezing starts afresh.\n"
        "                  reuse=False computes every layer every time.\n\n"
        "The interrupt (stop button) stops between two steps: the model keeps the weights\n"
        "of the last completed step, files saved after finished epochs stay, and the\n"
        "message says the epoch and step reached.\n\n"
        "Examples:\n"
        "  %fit lm x y epochs=5 batch_size=1\n"
        "  %fit vgg batches val_batches save=results/ft{epoch}.h5" },
    { .name = "evaluate", .kind = DN_LINE, .run = run_evaluate, .source = __FILE__,
      .synopsis = "%evaluate NAME BATCHES | NAME X Y",
      .complete = DN_COMPLETE_NAMES | DN_COMPLETE_KEYWORDS,
      .args = "nnn-", .keywords = (const char *const[]){ "batch_size=", "reuse=", NULL },
      .help =
        "The loss (and accuracy, when compiled with it) of a model on data, as Keras'\n"
        "evaluate: dropout off, BatchNormalization's moving statistics.\n"
        "%evaluate NAME BATCHES [reuse=True]\n%evaluate NAME X Y [batch_size=32]\n\n"
        "The result is the mean over every example, as the cell's result. The outputs of\n"
        "frozen layers are kept and reused as %fit does (reuse=False: computed afresh).\n\n"
        "Example:\n  %evaluate lm x y" },
    { .name = "predict", .kind = DN_LINE, .run = run_predict, .source = __FILE__,
      .synopsis = "%predict NAME SOURCE [as=NAME]",
      .complete = DN_COMPLETE_NAMES | DN_COMPLETE_KEYWORDS,
      .args = "nn-", .name_keys = (const char *const[]){ "as=", NULL },
      .keywords = (const char *const[]){ "as=", "batch_size=", NULL },
      .help =
        "A model's outputs (probabilities for a classifier) for every example of SOURCE.\n"
        "%predict NAME SOURCE [as=PREDS] [batch_size=32]\n\n"
        "SOURCE is batches made with shuffle=False (a shuffled one is refused: its order\n"
        "changes every epoch) or an array. Rows are in the source's order. as=PREDS keeps\n"
        "them as predictions: an array (n, outputs) that also knows each row's file name,\n"
        "its true class when the folder has labels, the class names, and the folder, for\n"
        "%plots, %submit and %confusion_matrix; PREDS.filenames, PREDS.classes,\n"
        "PREDS.labels and PREDS.class_names give them as arrays. Without as=, the outputs\n"
        "are the cell's result.\n\n"
        "Examples:\n"
        "  %batches val_batches data/valid shuffle=False\n"
        "  %predict vgg val_batches as=preds\n"
        "  %predict base trn_batches as=trn_features   # the inputs of a linear model" },
    { .name = "history", .kind = DN_LINE, .run = run_history, .source = __FILE__,
      .synopsis = "%history NAME",
      .complete = DN_COMPLETE_NAMES, .args = "n-",
      .help =
        "Every epoch of every %fit since the model was compiled (%compile, %finetune), as a\n"
        "table: loss, accuracy, validation loss and accuracy, and the learning rate it\n"
        "trained with. Timings are left out, so a re-run gives the same table.\n%history NAME" },
    { 0 },
};
