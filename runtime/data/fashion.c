/* fashion.c — the offline data set (fashion.h), from Debian's dataset-fashion-mnist.
 * Every run writes the same bytes: fixed PNG settings, a fixed test order. */
#include "fashion.h"

#include <errno.h>
#include <ftw.h>
#include <png.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define SIDE 28
#define PIXELS (SIDE * SIDE)

/* Fashion-MNIST's labels; the two competition classes are 7 (sneaker) and 9 (ankle
 * boot): two kinds of shoe, as alike and as different as cats and dogs. */
static const char *class_names[10] = {"tshirt", "trouser", "pullover", "dress", "coat",
                                      "sandal", "shirt", "sneaker", "bag", "boot"};
#define CLASS_A 7
#define CLASS_B 9

typedef struct idx {
    long n;
    unsigned char *images;   /* n * 784 */
    unsigned char *labels;   /* n */
} idx;

typedef struct job {
    const unsigned char *px;
    char *path;
} job;

typedef struct jobs {
    job *v;
    long n, cap;
    long next;               /* next job to hand a thread */
    long done;               /* files written */
    int stop;                /* the caller asked to stop */
    pthread_mutex_t mu;
    char err[512];
} jobs;

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Reads a gzip'd (or plain) IDX file whole. */
static unsigned char *read_gz(const char *path, size_t *len, char *err, size_t errlen)
{
    gzFile f = gzopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open %.300s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 20, n = 0;
    unsigned char *b = malloc(cap);
    int r = 0;
    while (b && (r = gzread(f, b + n, (unsigned)(cap - n))) > 0) {
        n += (size_t)r;
        if (n == cap) {
            unsigned char *q = realloc(b, cap *= 2);
            if (!q) {
                free(b);
                b = NULL;
            }
            b = q;
        }
    }
    if (!b || r < 0) {
        snprintf(err, errlen, "cannot read %.300s (damaged gzip data?)", path);
        free(b);
        gzclose(f);
        return NULL;
    }
    gzclose(f);
    *len = n;
    return b;
}

static int load_split(const char *src, const char *prefix, idx *out, char *err, size_t errlen)
{
    char ip[4096], lp[4096];
    snprintf(ip, sizeof ip, "%s/%s-images-idx3-ubyte.gz", src, prefix);
    snprintf(lp, sizeof lp, "%s/%s-labels-idx1-ubyte.gz", src, prefix);
    size_t ni, nl;
    unsigned char *im = read_gz(ip, &ni, err, errlen);
    if (!im)
        return -1;
    unsigned char *lb = read_gz(lp, &nl, err, errlen);
    if (!lb) {
        free(im);
        return -1;
    }
    if (ni < 16 || nl < 8 || be32(im) != 0x803 || be32(lb) != 0x801 || be32(im + 8) != SIDE ||
        be32(im + 12) != SIDE || be32(im + 4) != be32(lb + 4) ||
        ni != 16 + (size_t)be32(im + 4) * PIXELS || nl != 8 + (size_t)be32(lb + 4)) {
        snprintf(err, errlen, "%.300s or %.300s is not a 28x28 IDX image/label pair", ip, lp);
        free(im);
        free(lb);
        return -1;
    }
    out->n = be32(im + 4);
    out->images = im;       /* header kept in front; pixels at +16 */
    out->labels = lb;
    return 0;
}

static int add_job(jobs *j, const unsigned char *px, char *path)
{
    if (!path)
        return -1;
    if (j->n == j->cap) {
        long cap = j->cap ? j->cap * 2 : 4096;
        job *q = realloc(j->v, sizeof *q * cap);
        if (!q) {
            free(path);
            return -1;
        }
        j->v = q;
        j->cap = cap;
    }
    j->v[j->n++] = (job){px, path};
    return 0;
}

static char *fmt(const char *f, const char *a, const char *b, long n)
{
    char *s = NULL;
    return asprintf(&s, f, a, b, n) < 0 ? NULL : s;
}

typedef struct membuf {
    unsigned char *p;
    size_t n, cap;
} membuf;

static void on_write(png_structp png, png_bytep data, size_t len)
{
    membuf *m = png_get_io_ptr(png);
    if (m->n + len > m->cap) {
        size_t cap = (m->n + len) * 2;
        unsigned char *q = realloc(m->p, cap);
        if (!q)
            png_error(png, "out of memory");
        m->p = q;
        m->cap = cap;
    }
    memcpy(m->p + m->n, data, len);
    m->n += len;
}

static void on_flush(png_structp png) { (void)png; }

/* Encodes one grey image with fixed settings (no time or text chunks), so the bytes
 * depend only on the pixels. */
static int encode_png(const unsigned char *px, membuf *m)
{
    m->n = 0;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        return -1;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return -1;
    }
    png_set_write_fn(png, m, on_write, on_flush);
    png_set_compression_level(png, 9);
    png_set_filter(png, 0, PNG_FILTER_NONE | PNG_FILTER_SUB | PNG_FILTER_UP | PNG_FILTER_AVG |
                               PNG_FILTER_PAETH);
    png_set_IHDR(png, info, SIDE, SIDE, 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < SIDE; y++)
        png_write_row(png, (png_const_bytep)(px + y * SIDE));
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return 0;
}

static void *writer(void *arg)
{
    jobs *j = arg;
    membuf m = {0};
    for (;;) {
        pthread_mutex_lock(&j->mu);
        long i = j->err[0] || j->stop ? j->n : j->next++;
        pthread_mutex_unlock(&j->mu);
        if (i >= j->n)
            break;
        const job *jb = &j->v[i];
        FILE *f = NULL;
        int ok = encode_png(jb->px, &m) == 0 && (f = fopen(jb->path, "wb")) != NULL &&
                 fwrite(m.p, 1, m.n, f) == m.n;
        if (f && fclose(f) != 0)
            ok = 0;
        pthread_mutex_lock(&j->mu);
        if (!ok && !j->err[0])
            snprintf(j->err, sizeof j->err, "cannot write %.300s: %s", jb->path, strerror(errno));
        j->done += ok;
        pthread_mutex_unlock(&j->mu);
    }
    free(m.p);
    return NULL;
}

static int mkdir_p(const char *path, char *err, size_t errlen)
{
    char b[4096];
    snprintf(b, sizeof b, "%s", path);
    for (char *p = b + 1;; p++) {
        if (*p == '/' || !*p) {
            char c = *p;
            *p = 0;
            if (mkdir(b, 0777) != 0 && errno != EEXIST) {
                snprintf(err, errlen, "cannot make %.300s: %s", b, strerror(errno));
                return -1;
            }
            *p = c;
            if (!c)
                return 0;
        }
    }
}

/* the test split's two classes in a fixed mixed order (a seeded Fisher-Yates) */
static void mix(long *a, long n)
{
    uint64_t s = 0x5eed5eedull;
    for (long i = n - 1; i > 0; i--) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        long j = (long)((s >> 33) % (uint64_t)(i + 1));
        long t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

static int write_text(const char *path, const char *text, char *err, size_t errlen)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        snprintf(err, errlen, "cannot write %.300s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}


static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return (flag == FTW_DP ? rmdir(path) : unlink(path)) == 0 ? 0 : -1;
}

int dn_remove_tree(const char *path, char *err, size_t errlen)
{
    if (nftw(path, rm_entry, 32, FTW_DEPTH | FTW_PHYS) != 0) {
        snprintf(err, errlen, "cannot remove %.300s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

void dn_fashion_options_init(dn_fashion_options *o, const char *out)
{
    memset(o, 0, sizeof *o);
    o->out = out;
    o->source = DN_FASHION_SOURCE;
    o->limit = -1;
    o->pretrain = 1;
}

/* Runs the writers, asking progress about ten times a second. */
static void write_all(jobs *j, int threads, const dn_fashion_options *o)
{
    pthread_t th[64];
    int started = 0;
    for (int t = 0; t < threads; t++)
        if (pthread_create(&th[t], NULL, writer, j) == 0)
            started++;
        else
            break;
    if (!started) {
        writer(j);
        return;
    }
    for (;;) {
        pthread_mutex_lock(&j->mu);
        long done = j->done, next = j->next;
        int over = next >= j->n || j->err[0] || j->stop;
        pthread_mutex_unlock(&j->mu);
        if (over)
            break;
        if (o->progress && o->progress(o->progress_ctx, done, j->n)) {
            pthread_mutex_lock(&j->mu);
            j->stop = 1;
            pthread_mutex_unlock(&j->mu);
            break;
        }
        usleep(100 * 1000);
    }
    for (int t = 0; t < started; t++)
        pthread_join(th[t], NULL);
}

int dn_fashion_make(const dn_fashion_options *o, dn_fashion_result *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    err[0] = 0;
    const char *src = o->source ? o->source : DN_FASHION_SOURCE, *final = o->out;
    long limit = o->limit;
    int pretrain = o->pretrain, threads = o->threads;
    if (threads <= 0)
        threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (threads < 1)
        threads = 1;
    if (threads > 64)
        threads = 64;
    if (limit == 0) {
        snprintf(err, errlen, "a limit is a number of images, 1 or more");
        return -1;
    }
    struct stat st;
    if (!final || !*final) {
        snprintf(err, errlen, "no folder given");
        return -1;
    }
    if (lstat(final, &st) == 0) {
        snprintf(err, errlen, "%.300s exists already", final);
        return -1;
    }
    /* made under another name beside the target, renamed into place when complete */
    char out[4096];
    snprintf(out, sizeof out, "%s.partial-%ld", final, (long)getpid());
    if (lstat(out, &st) == 0 && dn_remove_tree(out, err, errlen) != 0)
        return -1;
    idx tr = {0}, te = {0};
    if (load_split(src, "train", &tr, err, errlen) != 0 ||
        load_split(src, "t10k", &te, err, errlen) != 0) {
        size_t k = strlen(err);
        snprintf(err + k, errlen - k, " (is Debian's dataset-fashion-mnist installed?)");
        free(tr.images);
        free(tr.labels);
        return -1;
    }

    jobs j = {0};
    pthread_mutex_init(&j.mu, NULL);
    int rc = 0;
    char path[4200];
    static const char *dirs[] = {"", "/train", "/test"};
    for (size_t i = 0; i < 3 && rc == 0; i++) {
        snprintf(path, sizeof path, "%s%s", out, dirs[i]);
        rc = mkdir_p(path, err, errlen);
    }
    /* the competition: training images numbered per class in file order */
    long count[10] = {0};
    for (long i = 0; i < tr.n && rc == 0; i++) {
        int c = tr.labels[8 + i];
        if ((c != CLASS_A && c != CLASS_B) || (limit >= 0 && count[c] >= limit))
            continue;
        rc = add_job(&j, tr.images + 16 + i * PIXELS,
                     fmt("%s/train/%s.%ld.png", out, class_names[c], count[c]++));
        r->train++;
    }
    long ntest = 0, *test = malloc(sizeof(long) * te.n);
    memset(count, 0, sizeof count);
    for (long i = 0; test && i < te.n; i++) {
        int c = te.labels[8 + i];
        if ((c == CLASS_A || c == CLASS_B) && (limit < 0 || count[c] < limit)) {
            count[c]++;
            test[ntest++] = i;
        }
    }
    if (!test)
        rc = -1;
    else
        mix(test, ntest);
    r->test = ntest;
    size_t cap = (size_t)ntest * 16 + 64;
    char *sub = malloc(cap), *sol = malloc(cap);
    size_t ks = 0, kl = 0;
    if (sub && sol) {
        ks = (size_t)snprintf(sub, cap, "id,label\n");
        kl = (size_t)snprintf(sol, cap, "id,label\n");
    }
    for (long k = 0; k < ntest && rc == 0 && sub && sol; k++) {
        long i = test[k];
        ks += (size_t)snprintf(sub + ks, cap - ks, "%ld,0.5\n", k + 1);
        kl += (size_t)snprintf(sol + kl, cap - kl, "%ld,%d\n", k + 1, te.labels[8 + i] == CLASS_A);
        char *p = NULL;
        if (asprintf(&p, "%s/test/%ld.png", out, k + 1) < 0)
            p = NULL;
        rc = add_job(&j, te.images + 16 + i * PIXELS, p);
    }
    if (!sub || !sol)
        rc = -1;
    if (rc == 0) {
        snprintf(path, sizeof path, "%s/sample_submission.csv", out);
        rc = write_text(path, sub, err, errlen);
    }
    if (rc == 0) {
        snprintf(path, sizeof path, "%s/solution.csv", out);
        rc = write_text(path, sol, err, errlen);
    }
    /* pre-training: the other eight classes, one folder each */
    for (int split = 0; pretrain && split < 2 && rc == 0; split++) {
        const idx *d = split ? &te : &tr;
        const char *name = split ? "valid" : "train";
        memset(count, 0, sizeof count);
        for (int c = 0; c < 10 && rc == 0; c++) {
            if (c == CLASS_A || c == CLASS_B)
                continue;
            snprintf(path, sizeof path, "%s/pretrain/%s/%s", out, name, class_names[c]);
            rc = mkdir_p(path, err, errlen);
        }
        for (long i = 0; i < d->n && rc == 0; i++) {
            int c = d->labels[8 + i];
            if (c == CLASS_A || c == CLASS_B || (limit >= 0 && count[c] >= limit))
                continue;
            count[c]++;
            if (split) r->pretrain_valid++;
            else r->pretrain_train++;
            char *p = NULL;
            if (asprintf(&p, "%s/pretrain/%s/%s/%05ld.png", out, name, class_names[c], i) < 0)
                p = NULL;
            rc = add_job(&j, d->images + 16 + i * PIXELS, p);
        }
    }
    if (rc == 0) {
        write_all(&j, threads, o);
        if (j.err[0]) {
            snprintf(err, errlen, "%s", j.err);
            rc = -1;
        } else if (j.stop) {
            rc = 1;
        }
    }
    if (rc == 0 && rename(out, final) != 0) {
        snprintf(err, errlen, "cannot rename %.300s to %.300s: %s", out, final, strerror(errno));
        rc = -1;
    }
    if (rc != 0) {
        char e2[256];
        dn_remove_tree(out, e2, sizeof e2);   /* nothing half made is left */
    }
    if (rc < 0 && !err[0])
        snprintf(err, errlen, "out of memory");
    for (long i = 0; i < j.n; i++)
        free(j.v[i].path);
    free(j.v);
    free(test);
    free(sub);
    free(sol);
    free(tr.images);
    free(tr.labels);
    free(te.images);
    free(te.labels);
    pthread_mutex_destroy(&j.mu);
    return rc;
}
