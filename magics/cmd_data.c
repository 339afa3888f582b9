/* cmd_data.c — the data commands: %dataset (runtime/data/fashion.h), %split
 * (runtime/data/split.h) and %batches
 * (runtime/data/dirsource.h), and the workspace's batches objects (ws_batches.h). */
#include "array.h"
#include "cmdutil.h"
#include "command.h"
#include "live.h"
#include "text.h"
#include "ws_batches.h"
#include "data/fashion.h"
#include "data/split.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------- helpers */

/* The folder must exist: FileNotFoundError / NotADirectoryError otherwise. */
static int need_folder(dn_ctx *ctx, const char *dir, const char *what)
{
    struct stat st;
    if (stat(dir, &st) != 0)
        return errno == EACCES
            ? dn_fail(ctx, "PermissionError", "no permission to read %s'%s'", what, dir)
            : dn_fail(ctx, "FileNotFoundError", "no such folder: %s'%s'", what, dir);
    if (!S_ISDIR(st.st_mode))
        return dn_fail(ctx, "NotADirectoryError", "%s'%s' is not a folder", what, dir);
    return 0;
}

/* ---------------------------------------------------------------- %dataset */

/* The file that marks a folder %dataset made: only such a folder is ever removed. */
#define DATASET_MARK ".deepnb-dataset"

typedef struct dataset_progress {
    dn_live live;
    const char *dir;
    int stopped;
} dataset_progress;

static int dataset_progress_cb(void *c, long done, long total)
{
    dataset_progress *p = c;
    if (dn_ctx_interrupted(p->live.ctx)) {
        p->stopped = 1;
        return 1;
    }
    if (dn_live_due(&p->live, 0.5, 0.25)) {
        char d[32], n[32];
        dn_text plain = { 0 }, html = { 0 };
        dn_grouped(done, d, sizeof d);
        dn_grouped(total, n, sizeof n);
        dn_text_addf(&plain, "Making %s: %s of %s images", p->dir, d, n);
        dn_text_addf(&html, "<progress value=\"%ld\" max=\"%ld\"></progress> Making <code>", done, total);
        dn_text_add_html(&html, p->dir);
        dn_text_addf(&html, "</code>: %s of %s images", d, n);
        json_t *b = dn_text_bundle(&plain, &html);
        dn_live_show(&p->live, b);
        json_decref(b);
    }
    return 0;
}

static int has_mark(const char *dir)
{
    char *m = NULL;
    if (asprintf(&m, "%s/%s", dir, DATASET_MARK) < 0) return 0;
    struct stat st;
    int yes = lstat(m, &st) == 0 && S_ISREG(st.st_mode);
    free(m);
    return yes;
}

static int write_mark(const char *dir, const dn_fashion_options *o, char *err, size_t errlen)
{
    char *m = NULL;
    if (asprintf(&m, "%s/%s", dir, DATASET_MARK) < 0) return -1;
    FILE *f = fopen(m, "w");
    int ok = f && fprintf(f, "made by deepnb's %%dataset: fashion-mnist from %s, limit=%ld, "
                          "pretrain=%s\n", o->source, o->limit, o->pretrain ? "True" : "False") > 0;
    if (f && fclose(f) != 0) ok = 0;
    if (!ok) snprintf(err, errlen, "cannot write %s: %s", m, strerror(errno));
    free(m);
    return ok ? 0 : -1;
}

static int run_dataset(dn_ctx *ctx, const dn_call *call)
{
    static const char *const keys[] = { "limit", "pretrain", "refresh", "source", NULL };
    char err[1024];
    if (dn_args_check(call->args, "%dataset", 2, 2, keys, err, sizeof err) < 0)
        return dn_fail(ctx, "UsageError", "%s", err);
    const char *kind = dn_value_text(dn_args_pos(call->args, 0));
    if (!kind || strcmp(kind, "fashion-mnist"))
        return dn_fail(ctx, "ValueError", "%%dataset knows fashion-mnist (Debian's Fashion-MNIST "
                       "laid out as Dogs vs Cats), not %s", kind ? kind : "that");
    long limit = -1;
    int pretrain = 1, refresh = 0;
    if (dn_opt_whole(ctx, call, "limit", NULL, 1, 1L << 30, &limit, NULL) < 0
        || dn_opt_bool(ctx, call, "pretrain", &pretrain, NULL) < 0
        || dn_opt_bool(ctx, call, "refresh", &refresh, NULL) < 0)
        return -1;
    const dn_value *sv = dn_args_key(call->args, "source");
    char *dir = dn_arg_path(dn_args_pos(call->args, 1)), *source = sv ? dn_arg_path(sv) : NULL;
    if (!dir || (sv && !source)) {
        free(dir);
        free(source);
        return dn_fail(ctx, "UsageError", "%%dataset fashion-mnist DIR: DIR (and source=) are folders");
    }
    int rc = 0;
    struct stat st;
    int exists = lstat(dir, &st) == 0;
    if (exists && !refresh)
        rc = dn_fail(ctx, "FileExistsError", "%s exists already; %s", dir, has_mark(dir)
                     ? "refresh=True lays it out afresh (it was made by %dataset)"
                     : "give a new folder (deepnb removes only folders %dataset made)");
    else if (exists && !has_mark(dir))
        rc = dn_fail(ctx, "FileExistsError", "%s was not made by %%dataset, so refresh=True leaves "
                     "it alone; give a new folder, or remove it yourself", dir);
    if (rc == 0) rc = dn_need_parent_folder(ctx, dir);
    char *target = NULL;
    if (rc == 0 && (exists ? asprintf(&target, "%s.fresh-%ld", dir, (long)getpid())
                           : asprintf(&target, "%s", dir)) < 0)
        rc = dn_fail(ctx, "MemoryError", "out of memory");
    if (rc) {
        free(dir);
        free(source);
        return -1;
    }
    dn_fashion_options o;
    dn_fashion_options_init(&o, target);
    if (source) o.source = source;
    o.limit = limit;
    o.pretrain = pretrain;
    dataset_progress prog = { .dir = dir };
    dn_live_init(&prog.live, ctx, "dataset");
    o.progress = dataset_progress_cb;
    o.progress_ctx = &prog;
    dn_fashion_result r;
    if (exists && lstat(target, &st) == 0) dn_remove_tree(target, err, sizeof err);
    int made = dn_fashion_make(&o, &r, err, sizeof err);
    dn_live_clear(&prog.live);
    if (made == 1) {
        rc = dn_fail(ctx, "KeyboardInterrupt", "%%dataset stopped: nothing was made%s",
                     exists ? " and the old folder is as it was" : "");
    } else if (made != 0) {
        rc = dn_fail(ctx, "OSError", "%s", err);
    } else if (write_mark(target, &o, err, sizeof err) != 0) {
        char ignored[256];
        dn_remove_tree(target, ignored, sizeof ignored);
        rc = dn_fail(ctx, "OSError", "%s", err);
    } else if (exists) {
        /* the fresh folder takes the old one's place; the old one goes last */
        char *old = NULL;
        if (asprintf(&old, "%s.old-%ld", dir, (long)getpid()) < 0 || rename(dir, old) != 0
            || rename(target, dir) != 0) {
            rc = dn_fail(ctx, "OSError", "cannot put the fresh %s in place: %s", dir, strerror(errno));
            if (old && lstat(dir, &st) != 0) rename(old, dir);
            dn_remove_tree(target, err, sizeof err);
        } else if (dn_remove_tree(old, err, sizeof err) != 0) {
            dn_eprint(ctx, "Warning: the old data could not all be removed: %s\n", err);
        }
        free(old);
    }
    if (rc == 0) {
        char a[32], b[32], c[32], d[32];
        /* the same words whether the folder was new or refreshed: a notebook's record
         * then does not depend on what was on disk before */
        dn_print(ctx, "%s: train/ %s images of boot and sneaker (by file name: boot.0.png, "
                 "sneaker.0.png, ...), test/ %s unlabelled, sample_submission.csv, solution.csv",
                 dir, dn_grouped(r.train, a, sizeof a), dn_grouped(r.test, b, sizeof b));
        if (pretrain)
            dn_print(ctx, "; pretrain/ %s + %s images of 8 other classes (train/ and valid/)",
                     dn_grouped(r.pretrain_train, c, sizeof c), dn_grouped(r.pretrain_valid, d, sizeof d));
        dn_print(ctx, ".\n");
    }
    free(target);
    free(dir);
    free(source);
    return rc;
}

/* ---------------------------------------------------------------- %split */

typedef struct split_progress {
    dn_live live;         /* shown for long splits only */
    const char *dir;
    int stopped;          /* the interrupt stopped it */
    long done, total;
} split_progress;

/* The progress line as a MIME bundle (caller decrefs). */
static json_t *progress_bundle(const split_progress *p, const char *state)
{
    char d[32], n[32];
    dn_grouped(p->done, d, sizeof d);
    dn_grouped(p->total, n, sizeof n);
    dn_text plain = { 0 }, html = { 0 };
    if (!strcmp(state, "running")) {
        dn_text_addf(&plain, "Splitting %s: step %s of %s", p->dir, d, n);
        dn_text_addf(&html, "<progress value=\"%ld\" max=\"%ld\"></progress> Splitting <code>",
             p->done, p->total);
        dn_text_add_html(&html, p->dir);
        dn_text_addf(&html, "</code>: step %s of %s", d, n);
    } else {
        dn_text_addf(&plain, "Split of %s stopped at step %s of %s", p->dir, d, n);
        dn_text_adds(&html, "Split of <code>");
        dn_text_add_html(&html, p->dir);
        dn_text_addf(&html, "</code> stopped at step %s of %s", d, n);
    }
    json_t *b = plain.oom || html.oom ? NULL
              : json_pack("{s:s, s:s}", "text/plain", plain.s, "text/html", html.s);
    free(plain.s);
    free(html.s);
    return b;
}

static void progress_show(split_progress *p, const char *state)
{
    json_t *b = progress_bundle(p, state);
    dn_live_show(&p->live, b);
    json_decref(b);
}

/* The engine calls this before each step: stop on interrupt, and after half a second
 * show a progress line that is updated in place a few times a second. */
static int split_progress_cb(void *c, long done, long total)
{
    split_progress *p = c;
    p->done = done;
    p->total = total;
    if (dn_ctx_interrupted(p->live.ctx)) {
        p->stopped = 1;
        return 1;
    }
    if (dn_live_due(&p->live, 0.5, 0.25))
        progress_show(p, "running");
    return 0;
}

/* The table of counts: folders down, classes across (display_data, HTML + plain). */
static int show_split_table(dn_ctx *ctx, const dn_split_result *r)
{
    size_t cap = 256 + (size_t)(DN_SPLIT_FOLDERS + 1) * (size_t)(r->nclasses + 2) * 64;
    for (int c = 0; c < r->nclasses; c++) cap += (DN_SPLIT_FOLDERS + 1) * strlen(r->classes[c]);
    char *plain = malloc(cap);
    dn_text html = { 0 };
    if (!plain) return dn_fail(ctx, "MemoryError", "out of memory");
    dn_split_format(r, plain, cap);
    char num[32];
    dn_text_adds(&html, "<table class=\"deepnb-split\">\n<thead><tr><th>folder</th>");
    for (int c = 0; c < r->nclasses; c++) {
        dn_text_adds(&html, "<th>");
        dn_text_add_html(&html, r->classes[c]);
        dn_text_adds(&html, "</th>");
    }
    dn_text_adds(&html, "<th>total</th></tr></thead>\n<tbody>\n");
    for (int f = 0; f < DN_SPLIT_FOLDERS; f++) {
        dn_text_addf(&html, "<tr><th style=\"text-align:left\">%s</th>", dn_split_folder_name(f));
        for (int c = 0; c < r->nclasses; c++) {
            if (f == DN_SPLIT_TEST) dn_text_adds(&html, "<td>-</td>");
            else dn_text_addf(&html, "<td>%s</td>", dn_grouped(r->counts[f * r->nclasses + c], num, sizeof num));
        }
        dn_text_addf(&html, "<td>%s</td></tr>\n", dn_grouped(r->totals[f], num, sizeof num));
    }
    dn_text_adds(&html, "</tbody>\n</table>\n");
    json_t *data = html.oom ? NULL : json_pack("{s:s, s:s}", "text/plain", plain, "text/html", html.s);
    free(plain);
    free(html.s);
    if (!data) return dn_fail(ctx, "UnicodeError", "class names must be UTF-8 text");
    dn_display(ctx, data);
    json_decref(data);
    return 0;
}

static int run_split(dn_ctx *ctx, const dn_call *call)
{
    static const char *const keys[] = { "valid", "sample_train", "sample_valid", NULL };
    char err[2048];
    if (dn_args_check(call->args, "%split", 1, 1, keys, err, sizeof err) < 0)
        return dn_fail(ctx, "UsageError", "%s", err);
    const dn_value *dv = dn_args_pos(call->args, 0);
    if (!dn_value_text(dv))
        return dn_fail(ctx, "UsageError", "%%split DIR takes a folder, not %s", dn_value_kind_name(dv->kind));
    dn_split_options o;
    dn_split_options_init(&o, NULL);
    int given[3];
    const long most = 1L << 30;
    if (dn_opt_whole(ctx, call, "valid", NULL, 0, most, &o.valid, &given[0]) < 0
        || dn_opt_whole(ctx, call, "sample_train", NULL, 0, most, &o.sample_train, &given[1]) < 0
        || dn_opt_whole(ctx, call, "sample_valid", NULL, 0, most, &o.sample_valid, &given[2]) < 0)
        return -1;
    char *dir = dn_arg_path(dv);
    if (!dir) return dn_fail(ctx, "MemoryError", "out of memory");
    int rc = need_folder(ctx, dir, "");
    if (rc < 0) { free(dir); return rc; }

    dn_split_options rec;
    int pending = dn_split_pending(dir, &rec, err, sizeof err);
    if (pending < 0) { free(dir); return dn_fail(ctx, "OSError", "%s", err); }
    if (pending) {
        /* an unfinished split finishes with the options and seed it was planned with */
        const long mine[3] = { o.valid, o.sample_train, o.sample_valid };
        const long theirs[3] = { rec.valid, rec.sample_train, rec.sample_valid };
        for (int k = 0; k < 3; k++)
            if (given[k] && mine[k] != theirs[k]) {
                rc = dn_fail(ctx, "ValueError",
                             "%s has an unfinished split planned with valid=%ld sample_train=%ld "
                             "sample_valid=%ld; %%split %s (without options) finishes it",
                             dir, rec.valid, rec.sample_train, rec.sample_valid, dir);
                free(dir);
                return rc;
            }
        o.valid = rec.valid;
        o.sample_train = rec.sample_train;
        o.sample_valid = rec.sample_valid;
        o.seed = rec.seed;
        /* the seed it recorded is drawn from %seed, not the number the user typed: not shown */
        dn_print(ctx, "Finishing the unfinished split of %s (valid=%ld sample_train=%ld "
                 "sample_valid=%ld, the same random choices).\n", dir, o.valid, o.sample_train,
                 o.sample_valid);
    } else {
        int existing = dn_split_existing(dir, err, sizeof err);
        if (existing) {
            rc = dn_fail(ctx, existing > 0 ? "FileExistsError" : "OSError", "%s", err);
            free(dir);
            return rc;
        }
        char *train = NULL;
        if (asprintf(&train, "%s/train", dir) < 0) train = NULL;
        rc = train ? need_folder(ctx, train, "the training folder ") : dn_fail(ctx, "MemoryError", "out of memory");
        free(train);
        if (rc < 0) { free(dir); return rc; }
        o.seed = dn_workspace_next_seed(dn_ctx_workspace(ctx));
    }

    split_progress prog = { .dir = dir };
    dn_live_init(&prog.live, ctx, "split");
    o.dir = dir;
    o.progress = split_progress_cb;
    o.progress_ctx = &prog;
    dn_split_result r;
    if (dn_split(&o, &r, err, sizeof err) != 0) {
        if (prog.live.shown) progress_show(&prog, "stopped");
        /* the journal exists once anything moved: then running %split again resumes */
        dn_split_options again;
        char e2[256];
        int started = dn_split_pending(dir, &again, e2, sizeof e2) == 1;
        const char *ename = prog.stopped ? "KeyboardInterrupt" : started ? "OSError" : "ValueError";
        if (started)
            rc = dn_fail(ctx, ename, "%s.\n%%split %s finishes the job: it resumes where this "
                         "one stopped, with the same choices.", err, dir);
        else
            rc = dn_fail(ctx, ename, "%s", err);
        free(dir);
        return rc;
    }
    /* the line goes once the table is there: a notebook's record then doesn't depend on
     * whether the split took long enough to show progress */
    dn_live_clear(&prog.live);
    rc = show_split_table(ctx, &r);
    if (rc == 0) dn_print(ctx, "%s\n", r.message);
    dn_split_result_fini(&r);
    free(dir);
    return rc;
}

/* ---------------------------------------------------------------- batches objects */

struct dn_batches {
    dn_dir_source *src;     /* reads the folder by its absolute path: a later %cd changes nothing */
    char *shown_dir;        /* the folder as the user wrote it, for %who */
    dn_ctx *ctx;            /* the cell warnings go to, NULL between cells */
    char **pending;         /* warnings that came with no cell attached */
    int npending, cap;
    long dropped;           /* warnings beyond what is kept */
};

enum { KEEP_WARNINGS = 50 };

static void batches_warn(void *c, const char *msg)
{
    dn_batches *b = c;
    if (b->ctx) {
        dn_eprint(b->ctx, "Warning: %s\n", msg);
        return;
    }
    if (b->npending == KEEP_WARNINGS) { b->dropped++; return; }
    if (b->npending == b->cap) {
        int cap = b->cap ? b->cap * 2 : 8;
        char **p = realloc(b->pending, sizeof *p * cap);
        if (!p) { b->dropped++; return; }
        b->pending = p;
        b->cap = cap;
    }
    char *m = strdup(msg);
    if (m) b->pending[b->npending++] = m;
    else b->dropped++;
}

void dn_batches_attach(dn_batches *b, dn_ctx *ctx)
{
    b->ctx = ctx;
    if (!ctx) return;
    for (int k = 0; k < b->npending; k++) {
        dn_eprint(ctx, "Warning: %s\n", b->pending[k]);
        free(b->pending[k]);
    }
    if (b->dropped) dn_eprint(ctx, "Warning: %ld more warnings not shown\n", b->dropped);
    b->npending = 0;
    b->dropped = 0;
}

static void batches_free(void *obj)
{
    dn_batches *b = obj;
    if (!b) return;
    dn_dir_source_free(b->src);   /* stops and joins its decoding threads */
    free(b->shown_dir);
    for (int k = 0; k < b->npending; k++) free(b->pending[k]);
    free(b->pending);
    free(b);
}

static void batches_describe(const void *obj, char *buf, size_t len)
{
    const dn_batches *b = obj;
    const dn_dir_options *o = dn_dir_source_options(b->src);
    char n[32], out[64] = "";
    int k = dn_dir_source_num_classes(b->src);
    long left = dn_dir_source_left_out(b->src);
    if (left) snprintf(out, sizeof out, " (%ld left out: they could not be decoded)", left);
    snprintf(buf, len, "%s images%s, %d class%s, batch %d, %dx%d %s, %s%s, from %s",
             dn_grouped(dn_dir_source_count(b->src) - left, n, sizeof n), out, k, k == 1 ? "" : "es",
             o->batch_size, o->width, o->height, o->channels == 1 ? "grayscale" : "rgb",
             o->shuffle ? "shuffled" : "in file order",
             o->class_mode == DN_CLASS_NONE ? ", unlabelled" : "", b->shown_dir);
}

static const char *const batches_attrs[] = { "classes", "labels", "filenames", "class_names", NULL };

/* b.classes and friends, as Keras' DirectoryIterator has them: in file order (the
 * unshuffled order, whatever shuffle says), without the files left out because they
 * could not be decoded, so they line up with %predict's rows. */
static dn_array *batches_attr(const void *obj, const char *attr, char *err, size_t errlen)
{
    const dn_batches *b = obj;
    dn_dir_source *s = b->src;
    long all = dn_dir_source_count(s), k = dn_dir_source_num_classes(s);
    long *at = malloc(sizeof *at * (size_t)(all ? all : 1)), n = 0;   /* the files kept */
    if (!at) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (long i = 0; i < all; i++)
        if (!dn_dir_source_is_left_out(s, i)) at[n++] = i;
    dn_array *a = NULL;
    if (!strcmp(attr, "classes")) {
        if ((a = dn_array_new(DN_DT_INT, 1, &n, err, errlen)))
            for (long i = 0; i < n; i++) a->data[i] = (float)dn_dir_source_label(s, at[i]);
    } else if (!strcmp(attr, "labels")) {
        long shape[2] = { n, k };
        if ((a = dn_array_new(DN_DT_FLOAT, 2, shape, err, errlen)))
            for (long i = 0; i < n; i++) {
                int c = dn_dir_source_label(s, at[i]);
                if (c >= 0 && c < k) a->data[i * k + c] = 1.0f;
            }
    } else if (!strcmp(attr, "filenames") || !strcmp(attr, "class_names")) {
        int files = attr[0] == 'f';
        long m = files ? n : k;
        if (!(a = dn_array_new(DN_DT_STR, 1, &m, err, errlen))) {
            free(at);
            return NULL;
        }
        for (long i = 0; i < m; i++) {
            const char *v = files ? dn_dir_source_filename(s, at[i]) : dn_dir_source_class_name(s, (int)i);
            free(a->strs[i]);
            if (!(a->strs[i] = strdup(v ? v : ""))) {
                dn_array_free(a);
                a = NULL;
                snprintf(err, errlen, "out of memory");
                break;
            }
        }
    } else {
        snprintf(err, errlen, "no attribute '%s'", attr);
    }
    free(at);
    return a;
}

const dn_type dn_batches_type = {
    .name = "batches",
    .describe = batches_describe,
    .free = batches_free,
    .attr = batches_attr,
    .attrs = batches_attrs,
};

dn_batches *dn_batches_get(const dn_workspace *ws, const char *name, char *err, size_t errlen)
{
    return dn_workspace_get_typed(ws, name, &dn_batches_type, err, errlen);
}

dn_batch_source *dn_batches_source(dn_batches *b) { return dn_dir_source_base(b->src); }
dn_dir_source *dn_batches_dir(dn_batches *b) { return b->src; }

/* ---------------------------------------------------------------- %batches */

/* size=224, size=(h, w), or target_size=(h, w) as Keras writes it */
static int size_opt(dn_ctx *ctx, const dn_call *call, int *w, int *h)
{
    const dn_value *v = dn_args_key(call->args, "size");
    const dn_value *t = dn_args_key(call->args, "target_size");
    if (v && t) return dn_fail(ctx, "UsageError", "%%batches: give size or target_size, not both");
    const char *key = v ? "size" : "target_size";
    if (!v) v = t;
    if (!v) return 0;
    long hw[2];
    int ok = 0;
    if (v->kind == DN_VAL_INT) {
        hw[0] = hw[1] = (long)v->integer;
        ok = 1;
    } else if ((v->kind == DN_VAL_TUPLE || v->kind == DN_VAL_LIST) && v->n == 2
               && v->items[0]->kind == DN_VAL_INT && v->items[1]->kind == DN_VAL_INT) {
        hw[0] = (long)v->items[0]->integer;
        hw[1] = (long)v->items[1]->integer;
        ok = 1;
    }
    if (!ok || hw[0] < 1 || hw[1] < 1 || hw[0] > 4096 || hw[1] > 4096) {
        char shown[128];
        dn_value_format(v, shown, sizeof shown);
        return dn_fail(ctx, "UsageError", "%%batches: %s is the images' side in pixels (224) or "
                       "(height, width), each from 1 to 4096, not %s", key, shown);
    }
    *h = (int)hw[0];
    *w = (int)hw[1];
    return 0;
}

static int run_batches(dn_ctx *ctx, const dn_call *call)
{
    static const char *const keys[] = { "size", "target_size", "batch_size", "shuffle",
                                        "class_mode", "preprocess", "color", "color_mode", NULL };
    char err[1024];
    if (dn_args_check(call->args, "%batches", 2, 2, keys, err, sizeof err) < 0)
        return dn_fail(ctx, "UsageError", "%s", err);
    const dn_value *nv = dn_args_pos(call->args, 0), *dv = dn_args_pos(call->args, 1);
    if (nv->kind != DN_VAL_NAME || !dn_workspace_valid_name(nv->text)) {
        char shown[128];
        dn_value_format(nv, shown, sizeof shown);
        return dn_fail(ctx, "UsageError", "%%batches NAME DIR: NAME is the name to keep the "
                       "batches under (letters, digits, _), not %s", shown);
    }
    if (!dn_value_text(dv))
        return dn_fail(ctx, "UsageError", "%%batches NAME DIR: DIR is a folder, not %s",
                       dn_value_kind_name(dv->kind));
    dn_dir_options o;
    dn_dir_options_init(&o, NULL);
    long bs = o.batch_size;
    if (size_opt(ctx, call, &o.width, &o.height) < 0
        || dn_opt_whole(ctx, call, "batch_size", NULL, 1, 65536, &bs, NULL) < 0)
        return -1;
    o.batch_size = (int)bs;
    const dn_value *v = dn_args_key(call->args, "shuffle");
    if (v) {
        if (v->kind != DN_VAL_BOOL)
            return dn_fail(ctx, "UsageError", "%%batches: shuffle is True or False");
        o.shuffle = v->boolean;
    }
    v = dn_args_key(call->args, "class_mode");
    if (v) {
        const char *m = dn_value_text(v);
        if (v->kind == DN_VAL_NONE || (m && !strcasecmp(m, "none")))
            o.class_mode = DN_CLASS_NONE;
        else if (m && !strcmp(m, "categorical"))
            o.class_mode = DN_CLASS_CATEGORICAL;
        else {
            char shown[128];
            dn_value_format(v, shown, sizeof shown);
            return dn_fail(ctx, "UsageError", "%%batches: class_mode is categorical (one-hot "
                           "labels) or None (no labels, for prediction), not %s", shown);
        }
    }
    v = dn_args_key(call->args, "preprocess");
    if (v && v->kind == DN_VAL_NONE) {
        o.preprocess = DN_PRE_NONE;
    } else if (v) {
        if (!dn_value_text(v))
            return dn_fail(ctx, "UsageError", "%%batches: preprocess is vgg, scale or none");
        if (dn_preprocess_parse(dn_value_text(v), &o.preprocess, err, sizeof err) < 0)
            return dn_fail(ctx, "UsageError", "%%batches: %s", err);
    }
    if (dn_opt_value(ctx, call, "color", "color_mode", &v) < 0) return -1;
    if (v) {
        const char *c = dn_value_text(v);
        if (c && (!strcasecmp(c, "rgb") || !strcasecmp(c, "color")))
            o.channels = 3;
        else if (c && (!strcasecmp(c, "grayscale") || !strcasecmp(c, "greyscale")
                       || !strcasecmp(c, "gray") || !strcasecmp(c, "grey")))
            o.channels = 1;
        else {
            char shown[128];
            dn_value_format(v, shown, sizeof shown);
            return dn_fail(ctx, "UsageError", "%%batches: color is rgb or grayscale, not %s", shown);
        }
    }
    if (o.channels == 1 && o.preprocess == DN_PRE_VGG)
        return dn_fail(ctx, "UsageError", "%%batches: preprocess=vgg subtracts an RGB mean and "
                       "needs color=rgb; grayscale images take preprocess=scale or none");
    char *dir = dn_arg_path(dv);
    if (!dir) return dn_fail(ctx, "MemoryError", "out of memory");
    int rc = need_folder(ctx, dir, "");
    if (rc < 0) { free(dir); return rc; }

    dn_batches *b = calloc(1, sizeof *b);
    if (!b) { free(dir); return dn_fail(ctx, "MemoryError", "out of memory"); }
    b->ctx = ctx;
    b->shown_dir = dir;
    char *abs = realpath(dir, NULL);
    if (!abs) {
        batches_free(b);
        return dn_fail(ctx, "OSError", "cannot resolve the folder '%s'", dir);
    }
    o.dir = abs;
    /* only a shuffled source draws at random: an unshuffled one leaves the seeds alone;
     * the seed is taken once the batches exist, so a refusal shifts no later seed */
    if (o.shuffle) o.seed = dn_workspace_peek_seed(dn_ctx_workspace(ctx));
    o.warn = batches_warn;
    o.warn_ctx = b;
    int made = dn_dir_source_new(&o, &b->src, err, sizeof err);
    free(abs);
    if (made != 0) {
        batches_free(b);
        return dn_fail(ctx, "ValueError", "%s", err);
    }
    if (o.shuffle) dn_workspace_next_seed(dn_ctx_workspace(ctx));
    dn_print(ctx, "%s\n", dn_dir_source_message(b->src));
    b->ctx = NULL;
    /* the old object under NAME is replaced only now that the new one exists */
    if (dn_workspace_set(dn_ctx_workspace(ctx), nv->text, &dn_batches_type, b, err, sizeof err) < 0) {
        batches_free(b);
        return dn_fail(ctx, "MemoryError", "%s", err);
    }
    return 0;
}

/* ---------------------------------------------------------------- the table */

static const char *const split_keys[] = { "valid=", "sample_train=", "sample_valid=", NULL };
static const char *const batches_keys[] = { "size=", "batch_size=", "shuffle=", "class_mode=",
                                            "preprocess=", "color=", NULL };

const dn_command dn_commands_data[] = {
    { .name = "split", .kind = DN_LINE, .run = run_split, .source = __FILE__,
      .synopsis = "%split DIR [valid=2000] ...",
      .complete = DN_COMPLETE_PATHS | DN_COMPLETE_KEYWORDS, .args = "p-", .keywords = split_keys,
      .help =
        "Split a Kaggle-style folder into train, valid and sample class folders.\n"
        "%split DIR [valid=2000] [sample_train=200] [sample_valid=50]\n\n"
        "DIR holds train/ (files named CLASS.N.ext, e.g. cat.0.jpg) and test/ (unlabelled).\n"
        "Jeremy's process, as in the lesson:\n"
        "  - make valid/, results/, sample/{train,valid,test,results}/ and test/unknown/;\n"
        "  - shuffle train/ and move `valid` files to valid/;\n"
        "  - copy `sample_train` random training files to sample/train/ and `sample_valid`\n"
        "    random validation files to sample/valid/;\n"
        "  - in train, valid, sample/train and sample/valid, one folder per class (the file\n"
        "    name's prefix: cat.1.jpg goes to cat/), files moved in;\n"
        "  - move the files of test/ into test/unknown/.\n"
        "Then it shows a table of files per class in each folder.\n\n"
        "The random choices come from %seed: after the same %seed N the same files go to the\n"
        "same places. A folder that already has the layout (valid/, sample/, test/unknown/ or\n"
        "class folders in train/) is refused and left untouched (FileExistsError).\n\n"
        "Safe to stop: the whole plan is written to DIR/.deepnb-split.journal before any file\n"
        "moves, files are only moved or copied (never replaced or deleted). If the split\n"
        "fails or is interrupted part-way, the error says what was done, and running\n"
        "%split DIR again finishes the job with the same choices (options left out are\n"
        "taken from the unfinished plan).\n\n"
        "Options:\n"
        "  valid=2000        files moved from train/ to valid/\n"
        "  sample_train=200  training files copied to sample/train/\n"
        "  sample_valid=50   validation files copied to sample/valid/\n\n"
        "Example:\n  %seed 42\n  %split data/dogscats valid=2000" },
    { .name = "dataset", .kind = DN_LINE, .run = run_dataset, .source = __FILE__,
      .synopsis = "%dataset fashion-mnist DIR [...]",
      .complete = DN_COMPLETE_PATHS | DN_COMPLETE_KEYWORDS, .args = "-p-",
      .keywords = (const char *const[]){ "fashion-mnist", "limit=", "pretrain=", "refresh=", NULL },
      .help =
        "Lay out the offline data set: Fashion-MNIST as Kaggle ships Dogs vs Cats.\n"
        "%dataset fashion-mnist DIR [refresh=False] [limit=N] [pretrain=True]\n\n"
        "No machine here can download the competition's photos, so Debian's Fashion-MNIST\n"
        "stands in: sneakers and ankle boots play cats and dogs. DIR gets\n"
        "  train/boot.N.png, train/sneaker.N.png   12,000 images labelled by file name\n"
        "  test/N.png                              2,000 unlabelled, ids from 1\n"
        "  sample_submission.csv, solution.csv     id,label (solution: 1 = sneaker)\n"
        "  pretrain/{train,valid}/<class>/         the eight other classes (48,000 + 8,000),\n"
        "                                          the stand-in for ImageNet\n"
        "The same bytes every time. The folder is made under another name and put in place\n"
        "when complete, so a stopped or failed run leaves nothing behind.\n\n"
        "An existing DIR is refused, unless refresh=True and %dataset made it: then it is\n"
        "laid out afresh (the old one goes once the new one is complete), so a notebook\n"
        "that starts with this line can always be run again from the top. A folder\n"
        "%dataset did not make is never removed.\n\n"
        "Options:\n"
        "  refresh=False   lay out an existing DIR (made by %dataset) afresh\n"
        "  limit=N         at most N images per class in each split (quick tries)\n"
        "  pretrain=True   also pretrain/\n"
        "  source=DIR      the IDX files (default /usr/share/datasets/fashion-mnist)\n\n"
        "Example:\n  %dataset fashion-mnist data/lesson2 refresh=True\n  %split data/lesson2" },
    { .name = "batches", .kind = DN_LINE, .run = run_batches, .source = __FILE__,
      .synopsis = "%batches NAME DIR [...]",
      .complete = DN_COMPLETE_PATHS | DN_COMPLETE_NAMES | DN_COMPLETE_KEYWORDS, .args = "np-",
      .keywords = batches_keys,
      .help =
        "The images of a folder's class sub-folders in batches, as Keras' flow_from_directory.\n"
        "%batches NAME DIR [size=224] [batch_size=64] [shuffle=True] [class_mode=categorical]\n"
        "                  [preprocess=none] [color=rgb]\n\n"
        "The images are those of DIR/<class>/...; NAME keeps them in the workspace (%who\n"
        "lists it). Classes are DIR's sub-folders in sorted order (a class's index is its\n"
        "position); labels are one-hot. Prints `Found N images belonging to K classes.`;\n"
        "files that are not readable images are skipped, each with a warning. NAME is\n"
        "replaced only when the new batches were made.\n\n"
        "Options:\n"
        "  size=224             images resized to size x size; also size=(height, width)\n"
        "                       or Keras' target_size=(224, 224)\n"
        "  batch_size=64        images per batch (the last batch of an epoch may be short)\n"
        "  shuffle=True         a new order every epoch, drawn from %seed; shuffle=False keeps\n"
        "                       file-name order (for predictions that must match file names)\n"
        "  class_mode=categorical  one-hot labels; class_mode=None: no labels (e.g. test/,\n"
        "                       whose images are all in test/unknown/)\n"
        "  preprocess=none      pixel values: none (0..255), scale (0..1), vgg (ImageNet mean\n"
        "                       subtracted, channels in BGR order, as vgg16.py)\n"
        "  color=rgb            rgb (3 channels) or grayscale (1 channel, Pillow's luminance);\n"
        "                       also color_mode= as Keras spells it\n\n"
        "Examples:\n"
        "  %batches batches data/dogscats/train batch_size=64\n"
        "  %batches val_batches data/dogscats/valid shuffle=False\n"
        "  %batches test_batches data/dogscats/test shuffle=False class_mode=None\n"
        "  %batches small data/sneakers/train size=28 color=grayscale preprocess=scale" },
    { 0 },
};
