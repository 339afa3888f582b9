/* dirsource.c — flow_from_directory: the folder scan, then worker threads that
 * decode images into a ring of batch slots ahead of the consumer.
 *
 * The work is one endless stream of batches: epoch e's plan (its order, with the files
 * left out so far removed) holds nb(e) batches numbered from start(e) = start(e-1) +
 * nb(e-1). A worker takes the next image of the stream (under the lock), decodes it
 * unlocked, and counts it done in its slot (B mod nslots). Workers may only start batch
 * B when B < released + nslots (the slot is free); they plan epoch e+1 only when every
 * image of epoch e is done (so the plan leaves out every file epoch e found it could
 * not decode, whatever the threads' timing) and e+1 <= the consumer's epoch + 1 (two
 * plans are kept). The consumer hands out batches in order and releases one when it
 * is asked for the next, as batches.h promises. reset() mid-epoch marks the rest of
 * the epoch skipped: workers count those images done without decoding.
 *
 * A decode that fails for a reason that may pass (image.h: out of memory, a failing
 * read) is tried again after a pause, a few times; if it still fails, the batch is
 * served as an error and nothing is remembered about the file. A file that cannot be
 * decoded is left out: its place in its batch is dropped (the batch comes short, or is
 * not served at all if nothing is left of it) and later plans do not hold it. */
#include "data/dirsource.h"
#include "core/rng.h"
#include "data/image.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

/* tries of one image before a passing failure is given up on, and the first pause
 * between them (each pause four times the one before: 10, 40, 160, 640 ms) */
enum { DECODE_TRIES = 5, FIRST_PAUSE_MS = 10 };

typedef struct slot {
    float *x, *y;
    long *ids;      /* -1 where the file was left out (or its decode gave up) */
    long batch;     /* which stream batch occupies the slot (-1: none yet) */
    int n, done;    /* places in the batch, and places finished */
    int kept;       /* images decoded into it */
    char failed[PATH_MAX + 400];   /* set when a passing failure outlasted its tries */
} slot;

typedef struct plan {
    long epoch;     /* -1: none */
    long *order;    /* the epoch's files in serving order */
    long n, nb;     /* files and batches planned */
    long start;     /* stream number of the first batch */
    long dropped;   /* files left out while this epoch was decoded (short batches) */
    long empty;     /* batches with nothing left to serve */
} plan;

typedef struct worker {
    dn_dir_source *src;
    pthread_t th;
    int started;
} worker;

struct dn_dir_source {
    dn_batch_source base;
    dn_dir_options opt;
    char *dir;
    char message[200];

    int nclasses;
    char **class_names;
    long n;
    char **files;          /* relative names, unshuffled order */
    int *labels;
    unsigned char *bad;    /* per file: cannot be decoded, left out for good */
    long nbad;
    long skipped;

    size_t img_floats;     /* floats per image */

    pthread_mutex_t mu;
    pthread_cond_t work_cv, done_cv;
    int nworkers;
    worker *workers;
    int nslots;
    slot *slots;
    plan plans[2];             /* epoch e's plan is plans[e & 1] */
    long task_epoch, task_batch, task_i;   /* next image of the stream to hand a worker */
    long pending;              /* images handed out and not yet done */
    long released;             /* stream batches before this are handed back */
    long skip_before;          /* stream batches before this are not decoded */
    long epoch, served;        /* the consumer's epoch and batches of its plan passed */
    int holding;               /* the consumer holds batch start(epoch) + served - 1 */
    int stop;
    char fatal[256];
    char **warnq;              /* decode warnings waiting for the consumer's thread */
    int warnq_n, warnq_cap;
    long retries, decoded;
};

static const dn_batch_source_ops dir_ops;

void dn_dir_options_init(dn_dir_options *o, const char *dir)
{
    memset(o, 0, sizeof *o);
    o->dir = dir;
    o->width = 224;
    o->height = 224;
    o->batch_size = 64;
    o->shuffle = 1;
    o->class_mode = DN_CLASS_CATEGORICAL;
    o->preprocess = DN_PRE_NONE;
    o->channels = 3;
    o->prefetch = 2;
}

/* ---------------------------------------------------------------- scanning */

typedef struct entry {
    char *dir;     /* relative folder, e.g. "cat" or "cat/more" */
    char *name;
    int label;
} entry;

typedef struct elist {
    entry *e;
    long n, cap;
} elist;

static int has_image_ext(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot)
        return 0;
    return !strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg") || !strcasecmp(dot, ".png") ||
           !strcasecmp(dot, ".bmp");
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Keras orders files by (folder path, file name) as plain strings */
static int cmp_entry(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    if (x->label != y->label)
        return x->label < y->label ? -1 : 1;
    int c = strcmp(x->dir, y->dir);
    return c ? c : strcmp(x->name, y->name);
}

static int join(char *buf, size_t n, const char *a, const char *b)
{
    int k = snprintf(buf, n, "%s/%s", a, b);
    return k < 0 || (size_t)k >= n ? -1 : 0;
}

/* Collects the image files under root/rel (recursively; symlinked folders are not
 * followed, as Keras' default). */
static int walk(const char *root, const char *rel, int label, elist *out, int depth,
                char *err, size_t errlen)
{
    char path[PATH_MAX];
    if (join(path, sizeof path, root, rel) != 0) {
        snprintf(err, errlen, "path too long: %s/%s", root, rel);
        return -1;
    }
    DIR *d = opendir(path);
    if (!d) {
        snprintf(err, errlen, "cannot read folder %s: %s", path, strerror(errno));
        return -1;
    }
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char full[PATH_MAX], sub[PATH_MAX];
        if (join(full, sizeof full, path, de->d_name) != 0 ||
            join(sub, sizeof sub, rel, de->d_name) != 0) {
            snprintf(err, errlen, "path too long in %s", path);
            rc = -1;
            break;
        }
        struct stat lst, st;
        if (lstat(full, &lst) != 0)
            continue;
        if (S_ISDIR(lst.st_mode)) {
            if (depth < 32)
                rc = walk(root, sub, label, out, depth + 1, err, errlen);
            continue;
        }
        if (!has_image_ext(de->d_name) || stat(full, &st) != 0 || S_ISDIR(st.st_mode))
            continue;
        if (out->n == out->cap) {
            long cap = out->cap ? out->cap * 2 : 256;
            entry *p = realloc(out->e, sizeof *p * cap);
            if (!p) {
                snprintf(err, errlen, "out of memory listing %s", path);
                rc = -1;
                break;
            }
            out->e = p;
            out->cap = cap;
        }
        entry *e = &out->e[out->n];
        e->dir = strdup(rel);
        e->name = strdup(de->d_name);
        e->label = label;
        if (!e->dir || !e->name) {
            free(e->dir);
            free(e->name);
            snprintf(err, errlen, "out of memory listing %s", path);
            rc = -1;
            break;
        }
        out->n++;
    }
    closedir(d);
    return rc;
}

typedef struct probe_job {
    const char *dir;
    entry *e;
    char **msg;        /* per entry: NULL if readable, else the reason */
    long lo, hi;
    pthread_t th;
    int started;
} probe_job;

static void *probe_range(void *arg)
{
    probe_job *j = arg;
    for (long i = j->lo; i < j->hi; i++) {
        char path[PATH_MAX], err[200];
        dn_image_info info;
        int k = snprintf(path, sizeof path, "%s/%s/%s", j->dir, j->e[i].dir, j->e[i].name);
        if (k < 0 || (size_t)k >= sizeof path)
            j->msg[i] = strdup("path too long");
        else if (dn_image_probe(path, &info, err, sizeof err) != 0)
            j->msg[i] = strdup(err);
    }
    return NULL;
}

static int default_workers(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 16 ? 16 : (int)n;
}

/* Probes every file (in parallel: a cold disk makes this the slow part of a scan)
 * and keeps the readable ones; warnings go out in file order. */
static int probe_all(dn_dir_source *s, elist *el, char *err, size_t errlen)
{
    char **msg = calloc(el->n ? el->n : 1, sizeof *msg);
    int nj = s->opt.workers > 0 ? s->opt.workers : default_workers();
    if (nj > el->n / 64 + 1)
        nj = (int)(el->n / 64 + 1);
    probe_job *jobs = calloc(nj, sizeof *jobs);
    if (!msg || !jobs) {
        free(msg);
        free(jobs);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int i = 0; i < nj; i++) {
        jobs[i] = (probe_job){.dir = s->dir, .e = el->e, .msg = msg,
                              .lo = el->n * i / nj, .hi = el->n * (i + 1) / nj};
        jobs[i].started = i > 0 && pthread_create(&jobs[i].th, NULL, probe_range, &jobs[i]) == 0;
    }
    for (int i = 0; i < nj; i++)
        if (!jobs[i].started)
            probe_range(&jobs[i]);   /* the first range, or one whose thread did not start */
    for (int i = 0; i < nj; i++)
        if (jobs[i].started)
            pthread_join(jobs[i].th, NULL);
    free(jobs);
    s->files = malloc(sizeof *s->files * (el->n ? el->n : 1));
    s->labels = malloc(sizeof *s->labels * (el->n ? el->n : 1));
    int rc = s->files && s->labels ? 0 : -1;
    for (long i = 0; i < el->n; i++) {
        char rel[PATH_MAX * 2];
        snprintf(rel, sizeof rel, "%s/%s", el->e[i].dir, el->e[i].name);
        if (msg[i]) {
            s->skipped++;
            if (s->opt.warn) {
                char w[PATH_MAX * 2 + 300];
                snprintf(w, sizeof w, "skipped %s: %s", rel, msg[i]);
                s->opt.warn(s->opt.warn_ctx, w);
            }
            free(msg[i]);
        } else if (rc == 0) {
            s->files[s->n] = strdup(rel);
            s->labels[s->n] = el->e[i].label;
            if (!s->files[s->n])
                rc = -1;
            else
                s->n++;
        }
    }
    free(msg);
    if (rc != 0)
        snprintf(err, errlen, "out of memory");
    return rc;
}

static int scan(dn_dir_source *s, char *err, size_t errlen)
{
    struct stat st;
    if (stat(s->dir, &st) != 0) {
        snprintf(err, errlen, "no such folder: %s", s->dir);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s is not a folder", s->dir);
        return -1;
    }
    DIR *d = opendir(s->dir);
    if (!d) {
        snprintf(err, errlen, "cannot read folder %s: %s", s->dir, strerror(errno));
        return -1;
    }
    long cap = 0, loose = 0;
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char full[PATH_MAX];
        if (join(full, sizeof full, s->dir, de->d_name) != 0 || stat(full, &st) != 0)
            continue;
        if (!S_ISDIR(st.st_mode)) {
            loose += has_image_ext(de->d_name);
            continue;
        }
        if (s->nclasses == cap) {
            cap = cap ? cap * 2 : 16;
            char **p = realloc(s->class_names, sizeof *p * cap);
            if (!p) {
                rc = -1;
                break;
            }
            s->class_names = p;
        }
        if (!(s->class_names[s->nclasses] = strdup(de->d_name))) {
            rc = -1;
            break;
        }
        s->nclasses++;
    }
    closedir(d);
    if (rc != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (s->nclasses == 0) {
        if (loose)
            snprintf(err, errlen,
                     "%s has %ld images but no class folders: images must be in "
                     "%s/<class>/ (for unlabelled images, e.g. %s/unknown/)",
                     s->dir, loose, s->dir, s->dir);
        else
            snprintf(err, errlen, "%s has no class folders (and no images)", s->dir);
        return -1;
    }
    if (s->nclasses > 1)
        qsort(s->class_names, s->nclasses, sizeof *s->class_names, cmp_str);

    elist el = {0};
    for (int k = 0; k < s->nclasses && rc == 0; k++)
        rc = walk(s->dir, s->class_names[k], k, &el, 0, err, errlen);
    if (rc == 0) {
        if (el.n > 1)
            qsort(el.e, el.n, sizeof *el.e, cmp_entry);
        rc = probe_all(s, &el, err, errlen);
    }
    for (long i = 0; i < el.n; i++) {
        free(el.e[i].dir);
        free(el.e[i].name);
    }
    free(el.e);
    if (rc != 0)
        return -1;
    if (s->n == 0) {
        if (s->skipped)
            snprintf(err, errlen, "no readable images in %s: all %ld image files were skipped",
                     s->dir, s->skipped);
        else
            snprintf(err, errlen,
                     "found no images in the %d class folder%s of %s (looked for .jpg, .jpeg, "
                     ".png, .bmp)", s->nclasses, s->nclasses == 1 ? "" : "s", s->dir);
        return -1;
    }
    int k = snprintf(s->message, sizeof s->message, "Found %ld images belonging to %d classes.",
                     s->n, s->nclasses);
    if (s->skipped && k > 0 && (size_t)k < sizeof s->message)
        snprintf(s->message + k, sizeof s->message - k,
                 "\nSkipped %ld file%s that %s (see the warnings).", s->skipped,
                 s->skipped == 1 ? "" : "s",
                 s->skipped == 1 ? "is not a readable image" : "are not readable images");
    return 0;
}

/* ---------------------------------------------------------------- workers */

/* Makes epoch e's plan (caller holds the lock; every image of epoch e-1 is done, and
 * plans[e & 1] is no longer used). The order is drawn over all files from (seed, e),
 * then the files left out are taken away, so the others keep their relative order. */
static void make_plan(dn_dir_source *s, long e)
{
    plan *p = &s->plans[e & 1];
    long *o = p->order;
    for (long i = 0; i < s->n; i++)
        o[i] = i;
    if (s->opt.shuffle) {
        dn_rng r;
        dn_rng_seed_stream(&r, s->opt.seed, (uint64_t)e);
        dn_rng_shuffle(&r, o, s->n);
    }
    long k = 0;
    for (long i = 0; i < s->n; i++)
        if (!s->bad[o[i]])
            o[k++] = o[i];
    const plan *prev = &s->plans[(e + 1) & 1];
    p->epoch = e;
    p->n = k;
    p->nb = (k + s->opt.batch_size - 1) / s->opt.batch_size;
    p->start = e == 0 ? 0 : prev->start + prev->nb;
    p->dropped = p->empty = 0;
}

/* The consumer's plan (caller holds the lock). */
static plan *current(dn_dir_source *s)
{
    plan *p = &s->plans[s->epoch & 1];
    if (p->epoch != s->epoch)
        make_plan(s, s->epoch);
    return p;
}

static void queue_warning(dn_dir_source *s, const char *msg)
{
    if (s->warnq_n == s->warnq_cap) {
        int cap = s->warnq_cap ? s->warnq_cap * 2 : 16;
        char **p = realloc(s->warnq, sizeof *p * cap);
        if (!p)
            return;
        s->warnq = p;
        s->warnq_cap = cap;
    }
    char *m = strdup(msg);
    if (m)
        s->warnq[s->warnq_n++] = m;
}

/* ITU-R 601 luma, the weights of Pillow's convert('L') (which Keras' grayscale uses) */
static void to_gray(const float *rgb, float *out, size_t npx)
{
    for (size_t p = 0; p < npx; p++, rgb += 3)
        out[p] = 0.299f * rgb[0] + 0.587f * rgb[1] + 0.114f * rgb[2];
}

static void sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0 && errno == EINTR)
        ;
}

/* One worker's scratch for decoding. */
typedef struct scratch {
    dn_resizer *rz;
    dn_image img;
    unsigned char *fb;
    size_t fcap;
    float *rgb;     /* grayscale: resized as RGB here, then reduced to one channel */
} scratch;

enum { DECODED, LEFT_OUT, GAVE_UP };

/* Decodes file f into x (called unlocked). A failure that may pass is tried again,
 * DECODE_TRIES times in all with growing pauses; err says why on failure. */
static int decode(dn_dir_source *s, scratch *w, long f, float *x, char *err, size_t errlen)
{
    const dn_dir_options *o = &s->opt;
    char path[PATH_MAX];
    int k = snprintf(path, sizeof path, "%s/%s", s->dir, s->files[f]);
    if (k < 0 || (size_t)k >= sizeof path) {
        snprintf(err, errlen, "path too long");
        return LEFT_OUT;
    }
    float *px = w->rgb ? w->rgb : x;
    long pause = FIRST_PAUSE_MS, waited = 0;
    for (int t = 1;; t++) {
        errno = 0;
        if (dn_decode_resize_file(w->rz, path, o->exact, &w->img, &w->fb, &w->fcap, px, o->width,
                                  o->height, o->preprocess, err, errlen) == 0) {
            if (w->rgb)
                to_gray(w->rgb, x, (size_t)o->width * o->height);
            return DECODED;
        }
        if (!dn_image_error_transient(errno))
            return LEFT_OUT;
        pthread_mutex_lock(&s->mu);
        int stop = s->stop;
        if (!stop && t < DECODE_TRIES)
            s->retries++;
        pthread_mutex_unlock(&s->mu);
        if (stop || t == DECODE_TRIES) {
            size_t u = strlen(err);
            snprintf(err + u, errlen - u, " (still failing after %d tries over %.1f s)", t,
                     waited / 1000.0);
            return GAVE_UP;
        }
        sleep_ms(pause);
        waited += pause;
        pause *= 4;
    }
}

/* Counts one place of slot sl done (caller holds the lock). */
static void place_done(dn_dir_source *s, slot *sl, plan *p)
{
    if (++sl->done < sl->n)
        return;
    if (!sl->kept && !sl->failed[0] && sl->batch >= s->skip_before)
        p->empty++;
    pthread_cond_broadcast(&s->done_cv);
}

static void *work(void *arg)
{
    worker *wk = arg;
    dn_dir_source *s = wk->src;
    const dn_dir_options *o = &s->opt;
    scratch w = {.rz = dn_resizer_new()};
    if (o->channels == 1)
        w.rgb = malloc(sizeof(float) * 3 * o->width * o->height);
    int ready = w.rz && (o->channels != 1 || w.rgb);
    pthread_mutex_lock(&s->mu);
    if (!ready)
        snprintf(s->fatal, sizeof s->fatal, "out of memory starting a decoding thread");
    while (!s->stop && ready) {
        plan *p = &s->plans[s->task_epoch & 1];
        long B = s->task_batch;
        if (B == p->start + p->nb) {
            /* the task epoch is all handed out: plan the next once it is all done */
            long e = s->task_epoch + 1;
            if (e > s->epoch + 1 || s->pending > 0) {
                pthread_cond_wait(&s->work_cv, &s->mu);
                continue;
            }
            if (s->plans[e & 1].epoch != e)
                make_plan(s, e);
            s->task_epoch = e;
            continue;
        }
        if (B >= s->released + s->nslots) {
            pthread_cond_wait(&s->work_cv, &s->mu);
            continue;
        }
        long j = B - p->start;
        slot *sl = &s->slots[B % s->nslots];
        long i = s->task_i;
        if (i == 0) {
            sl->batch = B;
            sl->n = (int)(j == p->nb - 1 ? p->n - j * o->batch_size : o->batch_size);
            sl->done = sl->kept = 0;
            sl->failed[0] = 0;
        }
        if (++s->task_i == sl->n) {
            s->task_batch++;
            s->task_i = 0;
        }
        long f = p->order[j * o->batch_size + i];
        sl->ids[i] = -1;
        if (B < s->skip_before || s->bad[f]) {
            place_done(s, sl, p);
            continue;
        }
        s->pending++;
        pthread_mutex_unlock(&s->mu);

        char err[300];
        float *x = sl->x + (size_t)i * s->img_floats;
        int r = decode(s, &w, f, x, err, sizeof err);
        if (r == DECODED && sl->y) {
            float *y = sl->y + (size_t)i * s->nclasses;
            memset(y, 0, sizeof(float) * s->nclasses);
            y[s->labels[f]] = 1.0f;
        }

        pthread_mutex_lock(&s->mu);
        s->decoded++;
        if (r == DECODED) {
            sl->ids[i] = f;
            sl->kept++;
        } else if (r == LEFT_OUT) {
            char msg[PATH_MAX + 400];
            s->bad[f] = 1;
            s->nbad++;
            p->dropped++;
            snprintf(msg, sizeof msg, "could not decode %s: %s; it is left out", s->files[f], err);
            queue_warning(s, msg);
        } else if (!sl->failed[0]) {
            snprintf(sl->failed, sizeof sl->failed, "could not decode %s: %s; it was not left "
                     "out, as this may pass (memory or reading): run the command again",
                     s->files[f], err);
        }
        place_done(s, sl, p);
        if (--s->pending == 0)
            pthread_cond_broadcast(&s->work_cv);
    }
    if (!ready)
        pthread_cond_broadcast(&s->done_cv);
    pthread_mutex_unlock(&s->mu);
    dn_resizer_free(w.rz);
    free(w.rgb);
    dn_image_fini(&w.img);
    free(w.fb);
    return NULL;
}

static void deliver_warnings(dn_dir_source *s)
{
    char **q = s->warnq;
    int n = s->warnq_n;
    if (!n)
        return;
    s->warnq = NULL;
    s->warnq_n = s->warnq_cap = 0;
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < n; i++) {
        if (s->opt.warn)
            s->opt.warn(s->opt.warn_ctx, q[i]);
        free(q[i]);
    }
    free(q);
    pthread_mutex_lock(&s->mu);
}

/* Hands back batches up to B (caller holds the lock). */
static void release_to(dn_dir_source *s, long B)
{
    if (s->released < B) {
        s->released = B;
        pthread_cond_broadcast(&s->work_cv);
    }
}

/* Hands back the batch the consumer holds (caller holds the lock). */
static void release_held(dn_dir_source *s)
{
    if (s->holding) {
        s->holding = 0;
        release_to(s, s->released + 1);
    }
}

/* Waits until stream batch B is complete; 0, or -1 with err. */
static int wait_batch(dn_dir_source *s, long B, char *err, size_t errlen)
{
    slot *sl = &s->slots[B % s->nslots];
    while (!(sl->batch == B && sl->done == sl->n) && !s->fatal[0])
        pthread_cond_wait(&s->done_cv, &s->mu);
    if (s->fatal[0]) {
        snprintf(err, errlen, "%s", s->fatal);
        return -1;
    }
    return 0;
}

/* Closes the gaps the files left out made in a complete slot: its kept images first. */
static void compact(dn_dir_source *s, slot *sl)
{
    int k = 0;
    for (int i = 0; i < sl->n; i++) {
        if (sl->ids[i] < 0)
            continue;
        if (k != i) {
            memmove(sl->x + (size_t)k * s->img_floats, sl->x + (size_t)i * s->img_floats,
                    sizeof(float) * s->img_floats);
            if (sl->y)
                memmove(sl->y + (size_t)k * s->nclasses, sl->y + (size_t)i * s->nclasses,
                        sizeof(float) * s->nclasses);
            sl->ids[k] = sl->ids[i];
        }
        k++;
    }
}

static int dir_next(dn_batch_source *b, dn_batch *out, char *err, size_t errlen)
{
    dn_dir_source *s = (dn_dir_source *)b;
    pthread_mutex_lock(&s->mu);
    release_held(s);
    plan *p = current(s);
    int rc = 0;
    if (p->n == 0) {
        snprintf(err, errlen, "none of the %ld images of %s could be decoded: every one is left "
                 "out", s->n, s->dir);
        rc = -1;
    }
    while (rc == 0 && s->served < p->nb) {
        long B = p->start + s->served;
        rc = wait_batch(s, B, err, errlen);
        if (rc != 0)
            break;
        slot *sl = &s->slots[B % s->nslots];
        s->served++;
        if (sl->failed[0]) {
            snprintf(err, errlen, "%s", sl->failed);
            s->holding = 1;   /* counts as served: reset() starts the next epoch */
            rc = -1;
            break;
        }
        if (!sl->kept) {      /* every file of the batch was left out */
            release_to(s, B + 1);
            continue;
        }
        if (sl->kept < sl->n)
            compact(s, sl);
        memset(out, 0, sizeof *out);
        out->n = sl->kept;
        out->x_ndim = 4;
        out->x_shape[0] = sl->kept;
        out->x_shape[1] = s->opt.height;
        out->x_shape[2] = s->opt.width;
        out->x_shape[3] = s->opt.channels;
        out->x = sl->x;
        out->y_dim = sl->y ? s->nclasses : 0;
        out->y = sl->y;
        out->ids = sl->ids;
        s->holding = 1;
        rc = 1;
    }
    deliver_warnings(s);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* A fresh source, or one whose epoch has not been started, keeps the epoch it has
 * (its first batches may be decoded already); otherwise the rest of the current
 * epoch is dropped and the next epoch, with its own order, begins. */
static int dir_reset(dn_batch_source *b, char *err, size_t errlen)
{
    dn_dir_source *s = (dn_dir_source *)b;
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    release_held(s);
    if (s->served > 0) {
        plan *p = current(s);
        long next_start = p->start + p->nb;
        if (s->skip_before < next_start)
            s->skip_before = next_start;
        while (rc == 0 && s->released < next_start) {
            rc = wait_batch(s, s->released, err, errlen);
            if (rc == 0)
                release_to(s, s->released + 1);
        }
        if (rc == 0) {
            s->epoch++;
            s->served = 0;
            current(s);
            pthread_cond_broadcast(&s->work_cv);
        }
    }
    deliver_warnings(s);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* Examples and batches of the consumer's epoch as now known: fewer than planned when
 * files were left out while it was decoded. */
static long epoch_size(dn_batch_source *b, int batches)
{
    dn_dir_source *s = (dn_dir_source *)b;
    pthread_mutex_lock(&s->mu);
    const plan *p = current(s);
    long n = batches ? p->nb - p->empty : p->n - p->dropped;
    pthread_mutex_unlock(&s->mu);
    return n;
}

static long dir_count(dn_batch_source *b) { return epoch_size(b, 0); }
static long dir_batches(dn_batch_source *b) { return epoch_size(b, 1); }

/* Same folder, same files (name, class, size, modification time, inode) and the same
 * decoding options give the same x and y per id: there is no random augmentation. */
static uint64_t dir_fingerprint(dn_batch_source *b, char *err, size_t errlen)
{
    dn_dir_source *s = (dn_dir_source *)b;
    char real[PATH_MAX], path[PATH_MAX];
    if (!realpath(s->dir, real)) {
        snprintf(err, errlen, "cannot resolve %s: %s", s->dir, strerror(errno));
        return 0;
    }
    XXH3_state_t *st = XXH3_createState();
    if (!st)
        return 0;
    XXH3_64bits_reset(st);
    const dn_dir_options *o = &s->opt;
    int opts[7] = {o->width, o->height, o->channels, (int)o->preprocess, o->exact,
                   (int)o->class_mode, s->nclasses};
    XXH3_64bits_update(st, "dir", 3);
    XXH3_64bits_update(st, real, strlen(real) + 1);
    XXH3_64bits_update(st, opts, sizeof opts);
    uint64_t h = 0;
    for (long i = 0; i < s->n; i++) {
        struct stat sb;
        int k = snprintf(path, sizeof path, "%s/%s", real, s->files[i]);
        if (k < 0 || (size_t)k >= sizeof path || stat(path, &sb) != 0) {
            snprintf(err, errlen, "cannot read %s: %s", s->files[i],
                     k < 0 || (size_t)k >= sizeof path ? "path too long" : strerror(errno));
            goto out;
        }
        int64_t meta[5] = {s->labels[i], (int64_t)sb.st_size, (int64_t)sb.st_mtim.tv_sec,
                           (int64_t)sb.st_mtim.tv_nsec, (int64_t)sb.st_ino};
        XXH3_64bits_update(st, s->files[i], strlen(s->files[i]) + 1);
        XXH3_64bits_update(st, meta, sizeof meta);
    }
    h = XXH3_64bits_digest(st);
    h = h ? h : 1;
out:
    XXH3_freeState(st);
    return h;
}

static long dir_ids(dn_batch_source *b) { return ((dn_dir_source *)b)->n; }

/* An epoch nobody needs decoded: its plan is reported and its batches are counted done
 * without decoding, as the rest of an epoch that reset drops. */
static int dir_skip_epoch(dn_batch_source *b, long *ids, int *sizes, long *n, long *nb,
                          char *err, size_t errlen)
{
    dn_dir_source *s = (dn_dir_source *)b;
    if (dir_reset(b, err, errlen))
        return -1;
    pthread_mutex_lock(&s->mu);
    plan *p = current(s);
    const long bs = s->opt.batch_size, next_start = p->start + p->nb;
    memcpy(ids, p->order, sizeof(long) * (size_t)p->n);
    for (long j = 0; j < p->nb; j++)
        sizes[j] = (int)(j == p->nb - 1 ? p->n - j * bs : bs);
    *n = p->n;
    *nb = p->nb;
    if (s->skip_before < next_start)
        s->skip_before = next_start;
    int rc = 0;
    while (rc == 0 && s->released < next_start) {
        rc = wait_batch(s, s->released, err, errlen);
        if (rc == 0)
            release_to(s, s->released + 1);
    }
    if (rc == 0)
        s->served = p->nb;   /* the next reset starts the epoch after */
    deliver_warnings(s);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void dn_dir_source_free(dn_dir_source *s)
{
    if (!s)
        return;
    if (s->workers) {
        pthread_mutex_lock(&s->mu);
        s->stop = 1;
        pthread_cond_broadcast(&s->work_cv);
        pthread_mutex_unlock(&s->mu);
        for (int i = 0; i < s->nworkers; i++)
            if (s->workers[i].started)
                pthread_join(s->workers[i].th, NULL);
        free(s->workers);
    }
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->work_cv);
    pthread_cond_destroy(&s->done_cv);
    for (int i = 0; s->slots && i < s->nslots; i++) {
        free(s->slots[i].x);
        free(s->slots[i].y);
        free(s->slots[i].ids);
    }
    free(s->slots);
    free(s->plans[0].order);
    free(s->plans[1].order);
    for (int i = 0; i < s->warnq_n; i++)
        free(s->warnq[i]);
    free(s->warnq);
    for (long i = 0; i < s->n; i++)
        free(s->files[i]);
    free(s->files);
    free(s->labels);
    free(s->bad);
    for (int k = 0; k < s->nclasses; k++)
        free(s->class_names[k]);
    free(s->class_names);
    free(s->dir);
    free(s);
}

static void dir_free(dn_batch_source *b) { dn_dir_source_free((dn_dir_source *)b); }

static const dn_batch_source_ops dir_ops = {
    .reset = dir_reset,
    .next = dir_next,
    .count = dir_count,
    .batches = dir_batches,
    .free = dir_free,
    .fingerprint = dir_fingerprint,
    .ids = dir_ids,
    .skip_epoch = dir_skip_epoch,
};

static int check_options(const dn_dir_options *o, char *err, size_t errlen)
{
    if (!o->dir || !o->dir[0]) {
        snprintf(err, errlen, "no folder given");
        return -1;
    }
    if (o->width < 1 || o->height < 1 || o->width > 4096 || o->height > 4096) {
        snprintf(err, errlen, "image size %dx%d is out of range (1 to 4096)", o->width, o->height);
        return -1;
    }
    if (o->batch_size < 1 || o->batch_size > 65536) {
        snprintf(err, errlen, "batch_size %d is out of range (1 to 65536)", o->batch_size);
        return -1;
    }
    if (o->prefetch < 0 || o->prefetch > 64 || o->workers < 0 || o->workers > 256) {
        snprintf(err, errlen, "prefetch (0 to 64) or workers (0 to 256) out of range");
        return -1;
    }
    if (o->channels != 1 && o->channels != 3) {
        snprintf(err, errlen, "channels must be 3 (RGB) or 1 (grayscale), not %d", o->channels);
        return -1;
    }
    if (o->channels == 1 && o->preprocess == DN_PRE_VGG) {
        snprintf(err, errlen, "vgg preprocessing subtracts an RGB mean and needs color images: "
                 "use grayscale with none or scale");
        return -1;
    }
    if (o->class_mode != DN_CLASS_CATEGORICAL && o->class_mode != DN_CLASS_NONE) {
        snprintf(err, errlen, "unknown class mode");
        return -1;
    }
    return 0;
}

int dn_dir_source_new(const dn_dir_options *o, dn_dir_source **out, char *err, size_t errlen)
{
    *out = NULL;
    if (check_options(o, err, errlen) != 0)
        return -1;
    dn_dir_source *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    s->base.ops = &dir_ops;
    s->opt = *o;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->work_cv, NULL);
    pthread_cond_init(&s->done_cv, NULL);
    s->dir = strdup(o->dir);
    s->opt.dir = s->dir;
    if (!s->dir) {
        snprintf(err, errlen, "out of memory");
        dn_dir_source_free(s);
        return -1;
    }
    size_t dl = strlen(s->dir);
    while (dl > 1 && s->dir[dl - 1] == '/')
        s->dir[--dl] = 0;
    if (scan(s, err, errlen) != 0) {
        dn_dir_source_free(s);
        return -1;
    }
    long bs = o->batch_size;
    s->img_floats = (size_t)o->width * o->height * o->channels;
    s->nslots = o->prefetch + 1;
    s->slots = calloc(s->nslots, sizeof *s->slots);
    s->bad = calloc(s->n, 1);
    for (int k = 0; k < 2; k++) {
        s->plans[k].epoch = -1;
        s->plans[k].order = malloc(sizeof(long) * s->n);
    }
    int ok = s->slots && s->plans[0].order && s->plans[1].order && s->bad;
    for (int i = 0; ok && i < s->nslots; i++) {
        slot *sl = &s->slots[i];
        sl->batch = -1;
        sl->x = malloc(sizeof(float) * s->img_floats * bs);
        sl->ids = malloc(sizeof(long) * bs);
        if (o->class_mode == DN_CLASS_CATEGORICAL)
            sl->y = malloc(sizeof(float) * s->nclasses * bs);
        ok = sl->x && sl->ids && (o->class_mode != DN_CLASS_CATEGORICAL || sl->y);
    }
    if (!ok) {
        snprintf(err, errlen, "out of memory for %d batches of %ld %dx%d images", s->nslots, bs,
                 o->width, o->height);
        dn_dir_source_free(s);
        return -1;
    }
    make_plan(s, 0);
    int nw = o->workers > 0 ? o->workers : default_workers();
    s->workers = calloc(nw, sizeof *s->workers);
    if (!s->workers) {
        snprintf(err, errlen, "out of memory");
        dn_dir_source_free(s);
        return -1;
    }
    s->nworkers = nw;
    /* decoding threads start with every signal blocked: the kernel's interrupt is for the
     * thread running the cell */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    for (int i = 0; i < nw; i++) {
        s->workers[i].src = s;
        if (pthread_create(&s->workers[i].th, NULL, work, &s->workers[i]) == 0)
            s->workers[i].started = 1;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!s->workers[0].started) {
        snprintf(err, errlen, "cannot start decoding threads");
        dn_dir_source_free(s);
        return -1;
    }
    *out = s;
    return 0;
}

dn_batch_source *dn_dir_source_base(dn_dir_source *s) { return &s->base; }

dn_dir_source *dn_dir_source_of(dn_batch_source *b)
{
    return b && b->ops == &dir_ops ? (dn_dir_source *)b : NULL;
}

const char *dn_dir_source_message(const dn_dir_source *s) { return s->message; }
long dn_dir_source_count(const dn_dir_source *s) { return s->n; }
int dn_dir_source_num_classes(const dn_dir_source *s) { return s->nclasses; }

const char *dn_dir_source_class_name(const dn_dir_source *s, int k)
{
    return k >= 0 && k < s->nclasses ? s->class_names[k] : NULL;
}

const char *dn_dir_source_filename(const dn_dir_source *s, long i)
{
    return i >= 0 && i < s->n ? s->files[i] : NULL;
}

int dn_dir_source_label(const dn_dir_source *s, long i)
{
    return i >= 0 && i < s->n ? s->labels[i] : -1;
}

const char *dn_dir_source_dir(const dn_dir_source *s) { return s->dir; }
const dn_dir_options *dn_dir_source_options(const dn_dir_source *s) { return &s->opt; }
long dn_dir_source_skipped(const dn_dir_source *s) { return s->skipped; }

long dn_dir_source_left_out(dn_dir_source *s)
{
    pthread_mutex_lock(&s->mu);
    long n = s->nbad;
    pthread_mutex_unlock(&s->mu);
    return n;
}

int dn_dir_source_is_left_out(dn_dir_source *s, long i)
{
    pthread_mutex_lock(&s->mu);
    int bad = i >= 0 && i < s->n && s->bad[i];
    pthread_mutex_unlock(&s->mu);
    return bad;
}

long dn_dir_source_left_out_text(dn_dir_source *s, char *buf, size_t len)
{
    enum { NAMES = 10 };
    pthread_mutex_lock(&s->mu);
    long n = s->nbad, shown = 0;
    size_t u = 0;
    if (len)
        buf[0] = 0;
    if (n && len) {
        int k = snprintf(buf, len, "%ld file%s could not be decoded and %s left out:", n,
                         n == 1 ? "" : "s", n == 1 ? "was" : "were");
        u = k > 0 ? (size_t)k : 0;
        for (long i = 0; i < s->n && shown < NAMES && u < len; i++)
            if (s->bad[i]) {
                k = snprintf(buf + u, len - u, "%s %s", shown ? "," : "", s->files[i]);
                u += k > 0 ? (size_t)k : 0;
                shown++;
            }
        if (n > shown && u < len)
            snprintf(buf + u, len - u, ", and %ld more", n - shown);
    }
    pthread_mutex_unlock(&s->mu);
    return n;
}

long dn_dir_source_retries(dn_dir_source *s)
{
    pthread_mutex_lock(&s->mu);
    long n = s->retries;
    pthread_mutex_unlock(&s->mu);
    return n;
}

long dn_dir_source_images_decoded(dn_dir_source *s)
{
    pthread_mutex_lock(&s->mu);
    long n = s->decoded;
    pthread_mutex_unlock(&s->mu);
    return n;
}
