/* split.c — see split.h. Paths are relative to DIR and used with the *at() calls on
 * one directory descriptor, so the process's working directory does not matter. */
#include "data/split.h"
#include "core/rng.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define JOURNAL ".deepnb-split.journal"
#define JOURNAL_TMP ".deepnb-split.journal.tmp"
#define TMP_PREFIX ".deepnb-tmp-"

typedef enum { OP_MKDIR = 'D', OP_COPY = 'C', OP_MOVE = 'M' } op_kind;

typedef struct op {
    op_kind kind;
    char *src, *alt, *dst;   /* alt: where src will be once moved (copies only) */
} op;

typedef struct plan {
    long valid, sample_train, sample_valid;
    uint64_t seed;
    op *ops;
    long n, cap;
} plan;

typedef struct strs {
    char **v;
    long n, cap;
} strs;

static const char *folder_names[DN_SPLIT_FOLDERS] = {
    "train", "valid", "sample/train", "sample/valid", "test/unknown",
};

const char *dn_split_folder_name(int f)
{
    return f >= 0 && f < DN_SPLIT_FOLDERS ? folder_names[f] : NULL;
}

void dn_split_options_init(dn_split_options *o, const char *dir)
{
    memset(o, 0, sizeof *o);
    o->dir = dir;
    o->valid = 2000;
    o->sample_train = 200;
    o->sample_valid = 50;
}

static void strs_free(strs *s)
{
    for (long i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}

static int strs_add(strs *s, const char *x)
{
    if (s->n == s->cap) {
        long cap = s->cap ? s->cap * 2 : 64;
        char **p = realloc(s->v, sizeof *p * cap);
        if (!p)
            return -1;
        s->v = p;
        s->cap = cap;
    }
    if (!(s->v[s->n] = strdup(x)))
        return -1;
    s->n++;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, f);
    if (vasprintf(&s, f, ap) < 0)
        s = NULL;
    va_end(ap);
    return s;
}

/* Lists the visible entries of dfd/rel: regular files (want_dirs 0) or folders (1),
 * sorted. A missing folder gives an empty list. */
static int list(int dfd, const char *rel, int want_dirs, strs *out)
{
    int fd = openat(dfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -1;
    }
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d))) {
        struct stat st;
        if (de->d_name[0] == '.' || fstatat(fd, de->d_name, &st, 0) != 0)
            continue;
        if (want_dirs ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode))
            rc = strs_add(out, de->d_name);
    }
    closedir(d);
    if (rc == 0 && out->n > 1)
        qsort(out->v, out->n, sizeof *out->v, cmp_str);
    return rc;
}

static int is_dir(int dfd, const char *rel)
{
    struct stat st;
    return fstatat(dfd, rel, &st, 0) == 0 && S_ISDIR(st.st_mode);
}

static int exists(int dfd, const char *rel)
{
    struct stat st;
    return fstatat(dfd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static int add_op(plan *p, op_kind k, char *src, char *alt, char *dst)
{
    if (p->n == p->cap) {
        long cap = p->cap ? p->cap * 2 : 256;
        op *q = realloc(p->ops, sizeof *q * cap);
        if (!q)
            goto fail;
        p->ops = q;
        p->cap = cap;
    }
    if (!dst || (k != OP_MKDIR && !src) || (k == OP_COPY && !alt))
        goto fail;
    p->ops[p->n++] = (op){k, src, alt, dst};
    return 0;
fail:
    free(src);
    free(alt);
    free(dst);
    return -1;
}

static void plan_free(plan *p)
{
    for (long i = 0; i < p->n; i++) {
        free(p->ops[i].src);
        free(p->ops[i].alt);
        free(p->ops[i].dst);
    }
    free(p->ops);
    memset(p, 0, sizeof *p);
}

/* class of a training file: its name up to the first dot */
static char *prefix_of(const char *name)
{
    const char *dot = strchr(name, '.');
    return dot && dot > name ? strndup(name, dot - name) : NULL;
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return x < y ? -1 : x > y;
}

/* the runtime's one generator, stream `stream` of the seed */
static void shuffle(long *a, long n, uint64_t seed, uint64_t stream)
{
    dn_rng r;
    dn_rng_seed_stream(&r, seed, stream);
    dn_rng_shuffle(&r, a, n);
}

/* Refuses a folder that already has (part of) the layout; names what exists. */
static int check_fresh(int dfd, const char *dir, char *err, size_t errlen)
{
    char found[600] = "";
    size_t k = 0;
    static const char *marks[] = {"valid", "sample", "test/unknown"};
    for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++)
        if (exists(dfd, marks[i]) && k < sizeof found)
            k += snprintf(found + k, sizeof found - k, "%s%s/", k ? ", " : "", marks[i]);
    strs sub = {0};
    if (list(dfd, "train", 1, &sub) == 0)
        for (long i = 0; i < sub.n && i < 4 && k < sizeof found; i++)
            k += snprintf(found + k, sizeof found - k, "%strain/%s/", k ? ", " : "",
                          i == 3 ? "..." : sub.v[i]);
    strs_free(&sub);
    if (k) {
        snprintf(err, errlen, "%s looks split already (%s exist%s); nothing was changed", dir,
                 found, strchr(found, ',') ? "" : "s");
        return -1;
    }
    return 0;
}

static int make_plan(int dfd, const dn_split_options *o, plan *p, char *err, size_t errlen)
{
    strs files = {0}, classes = {0}, tests = {0};
    char **cls = NULL;
    long *idx = NULL, *rest = NULL, *val = NULL;
    int rc = -1;
    p->valid = o->valid;
    p->sample_train = o->sample_train;
    p->sample_valid = o->sample_valid;
    p->seed = o->seed;
    if (list(dfd, "train", 0, &files) != 0 || list(dfd, "test", 0, &tests) != 0) {
        snprintf(err, errlen, "cannot list %s/train or test: %s", o->dir, strerror(errno));
        goto out;
    }
    long n = files.n;
    if (n == 0) {
        snprintf(err, errlen, "%s/train has no files to split", o->dir);
        goto out;
    }
    if (o->valid < 0 || o->sample_train < 0 || o->sample_valid < 0) {
        snprintf(err, errlen, "valid, sample_train and sample_valid must not be negative");
        goto out;
    }
    if (o->valid >= n) {
        snprintf(err, errlen, "train/ has %ld files: valid=%ld would leave none to train on", n,
                 o->valid);
        goto out;
    }
    if (o->sample_train > n - o->valid || o->sample_valid > o->valid) {
        snprintf(err, errlen, "sample_train=%ld must be at most the %ld training files left, "
                 "sample_valid=%ld at most valid=%ld", o->sample_train, n - o->valid,
                 o->sample_valid, o->valid);
        goto out;
    }
    cls = calloc(n, sizeof *cls);
    idx = malloc(sizeof *idx * n);
    if (!cls || !idx)
        goto oom;
    for (long i = 0; i < n; i++) {
        if (!(cls[i] = prefix_of(files.v[i]))) {
            snprintf(err, errlen, "train/%s has no class prefix (names must look like cat.1.jpg); "
                     "nothing was changed", files.v[i]);
            goto out;
        }
        idx[i] = i;
    }
    for (long i = 0; i < n; i++)
        if ((i == 0 || !classes.n || strcmp(cls[i], classes.v[classes.n - 1])) &&
            strs_add(&classes, cls[i]) != 0)
            goto oom;
    if (classes.n > 1)
        qsort(classes.v, classes.n, sizeof *classes.v, cmp_str);
    long u = 0;
    for (long i = 0; i < classes.n; i++) {
        if (u && !strcmp(classes.v[u - 1], classes.v[i])) {
            free(classes.v[i]);
            continue;
        }
        classes.v[u++] = classes.v[i];
    }
    classes.n = u;

    /* the choices: streams 1, 2, 3 of the seed keep them independent */
    shuffle(idx, n, o->seed, 1);
    long nv = o->valid, nr = n - nv;
    val = malloc(sizeof *val * (nv ? nv : 1));
    rest = malloc(sizeof *rest * (nr ? nr : 1));
    if (!val || !rest)
        goto oom;
    memcpy(val, idx, sizeof *val * nv);
    memcpy(rest, idx + nv, sizeof *rest * nr);
    if (nr > 1)
        qsort(rest, nr, sizeof *rest, cmp_long);

    static const char *dirs[] = {"valid", "results", "sample", "sample/train", "sample/valid",
                                 "sample/test", "sample/results"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        if (add_op(p, OP_MKDIR, NULL, NULL, strdup(dirs[i])) != 0)
            goto oom;
    if (is_dir(dfd, "test") && add_op(p, OP_MKDIR, NULL, NULL, strdup("test/unknown")) != 0)
        goto oom;
    for (int f = 0; f < 4; f++)
        for (long c = 0; c < classes.n; c++)
            if (add_op(p, OP_MKDIR, NULL, NULL, fmt("%s/%s", folder_names[f], classes.v[c])) != 0)
                goto oom;

    /* copies first, while every source is still where the plan found it */
    long *pick = malloc(sizeof *pick * (nr > nv ? nr : nv ? nv : 1));
    if (!pick)
        goto oom;
    memcpy(pick, rest, sizeof *pick * nr);
    shuffle(pick, nr, o->seed, 2);
    for (long i = 0; i < o->sample_train; i++) {
        const char *f = files.v[pick[i]], *c = cls[pick[i]];
        if (add_op(p, OP_COPY, fmt("train/%s", f), fmt("train/%s/%s", c, f),
                   fmt("sample/train/%s/%s", c, f)) != 0) {
            free(pick);
            goto oom;
        }
    }
    memcpy(pick, val, sizeof *pick * nv);
    if (nv > 1)
        qsort(pick, nv, sizeof *pick, cmp_long);
    shuffle(pick, nv, o->seed, 3);
    for (long i = 0; i < o->sample_valid; i++) {
        const char *f = files.v[pick[i]], *c = cls[pick[i]];
        if (add_op(p, OP_COPY, fmt("train/%s", f), fmt("valid/%s/%s", c, f),
                   fmt("sample/valid/%s/%s", c, f)) != 0) {
            free(pick);
            goto oom;
        }
    }
    free(pick);
    for (long i = 0; i < nv; i++)
        if (add_op(p, OP_MOVE, fmt("train/%s", files.v[val[i]]), NULL,
                   fmt("valid/%s/%s", cls[val[i]], files.v[val[i]])) != 0)
            goto oom;
    for (long i = 0; i < nr; i++)
        if (add_op(p, OP_MOVE, fmt("train/%s", files.v[rest[i]]), NULL,
                   fmt("train/%s/%s", cls[rest[i]], files.v[rest[i]])) != 0)
            goto oom;
    for (long i = 0; i < tests.n; i++)
        if (add_op(p, OP_MOVE, fmt("test/%s", tests.v[i]), NULL,
                   fmt("test/unknown/%s", tests.v[i])) != 0)
            goto oom;
    rc = 0;
    goto out;
oom:
    snprintf(err, errlen, "out of memory planning the split");
out:
    if (cls)
        for (long i = 0; i < files.n; i++)
            free(cls[i]);
    free(cls);
    free(idx);
    free(val);
    free(rest);
    strs_free(&files);
    strs_free(&classes);
    strs_free(&tests);
    return rc;
}

/* ---------------------------------------------------------------- trusting a journal */

/* A journal is a file in the user's folder, and a downloaded archive can ship one: its
 * paths are checked before any step runs. A path must be relative, inside the layout
 * the split makes (train, valid, test, sample, results), without . or .. or a link
 * anywhere along it, so no step can reach outside the folder. */
static int path_ok(int dfd, const char *path)
{
    static const char *const tops[] = { "train", "valid", "test", "sample", "results" };
    size_t n = strlen(path);
    if (!n || path[0] == '/' || path[n - 1] == '/' || strstr(path, "//"))
        return 0;
    size_t first = strcspn(path, "/");
    int top = 0;
    for (size_t k = 0; k < sizeof tops / sizeof tops[0]; k++)
        top |= strlen(tops[k]) == first && !strncmp(path, tops[k], first);
    if (!top)
        return 0;
    char prefix[4096];
    if (n >= sizeof prefix)
        return 0;
    for (size_t at = 0; at <= n;) {
        size_t len = strcspn(path + at, "/");
        if ((len == 1 && path[at] == '.') || (len == 2 && path[at] == '.' && path[at + 1] == '.'))
            return 0;
        at += len + 1;
    }
    for (size_t at = 0; at <= n;) {
        size_t len = strcspn(path + at, "/");
        memcpy(prefix, path, at + len);
        prefix[at + len] = 0;
        struct stat st;
        if (fstatat(dfd, prefix, &st, AT_SYMLINK_NOFOLLOW) != 0)
            break;   /* not made yet: nothing below it exists either */
        if (S_ISLNK(st.st_mode))
            return 0;
        at += len + 1;
    }
    return 1;
}

typedef struct named {
    const char *base, *path;
} named;

static int cmp_named(const void *a, const void *b)
{
    return strcmp(((const named *)a)->base, ((const named *)b)->base);
}

/* The journal must be about the files here: the split keeps a file's name wherever it
 * moves it, so each file the journal moves or copies must be at one of the places it
 * names for that name. 0, or -1 with the first path that fails in *bad. */
static int plan_matches(int dfd, const plan *p, const char **bad)
{
    named *v = malloc(sizeof *v * (size_t)(3 * p->n + 1));
    long n = 0;
    if (!v)
        return -1;
    for (long i = 0; i < p->n; i++) {
        const op *o = &p->ops[i];
        const char *paths[3] = { o->src, o->alt, o->dst };
        for (int k = 0; k < 3; k++) {
            if (!paths[k])
                continue;
            if (!path_ok(dfd, paths[k])) {
                *bad = paths[k];
                free(v);
                return -1;
            }
            if (o->kind == OP_MKDIR)
                continue;
            const char *slash = strrchr(paths[k], '/');
            v[n++] = (named){ slash ? slash + 1 : paths[k], paths[k] };
        }
    }
    qsort(v, (size_t)n, sizeof *v, cmp_named);
    for (long i = 0; i < n;) {
        long j = i;
        int here = 0;
        for (; j < n && !strcmp(v[j].base, v[i].base); j++)
            here |= exists(dfd, v[j].path);
        if (!here) {
            *bad = v[i].path;
            free(v);
            return -1;
        }
        i = j;
    }
    free(v);
    return 0;
}

/* ---------------------------------------------------------------- the journal */

typedef struct buf {
    char *p;
    size_t n, cap;
} buf;

static int put(buf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = (b->cap ? b->cap * 2 : 65536) + n;
        char *q = realloc(b->p, cap);
        if (!q)
            return -1;
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
    return 0;
}

/* a path field: tab, newline and backslash escaped */
static int put_field(buf *b, const char *s)
{
    int rc = put(b, "\t", 1);
    for (; *s && rc == 0; s++) {
        if (*s == '\\')
            rc = put(b, "\\\\", 2);
        else if (*s == '\t')
            rc = put(b, "\\t", 2);
        else if (*s == '\n')
            rc = put(b, "\\n", 2);
        else
            rc = put(b, s, 1);
    }
    return rc;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int save_journal(int dfd, const plan *p, char *err, size_t errlen)
{
    buf b = {0};
    char head[200];
    snprintf(head, sizeof head, "deepnb-split 1 valid=%ld sample_train=%ld sample_valid=%ld "
             "seed=%" PRIu64 "\n", p->valid, p->sample_train, p->sample_valid, p->seed);
    int rc = put(&b, head, strlen(head));
    for (long i = 0; i < p->n && rc == 0; i++) {
        const op *o = &p->ops[i];
        char k = (char)o->kind;
        rc = put(&b, &k, 1);
        if (rc == 0 && o->src)
            rc = put_field(&b, o->src);
        if (rc == 0 && o->alt)
            rc = put_field(&b, o->alt);
        if (rc == 0)
            rc = put_field(&b, o->dst);
        if (rc == 0)
            rc = put(&b, "\n", 1);
    }
    if (rc == 0)
        rc = put(&b, "end\n", 4);
    if (rc != 0) {
        free(b.p);
        snprintf(err, errlen, "out of memory writing the split's journal");
        return -1;
    }
    int fd = openat(dfd, JOURNAL_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write_all(fd, b.p, b.n) != 0 || fsync(fd) != 0) {
        snprintf(err, errlen, "cannot write %s: %s; nothing was changed", JOURNAL_TMP,
                 strerror(errno));
        if (fd >= 0)
            close(fd);
        unlinkat(dfd, JOURNAL_TMP, 0);
        free(b.p);
        return -1;
    }
    free(b.p);
    if (close(fd) != 0 || renameat(dfd, JOURNAL_TMP, dfd, JOURNAL) != 0) {
        snprintf(err, errlen, "cannot write %s: %s; nothing was changed", JOURNAL, strerror(errno));
        unlinkat(dfd, JOURNAL_TMP, 0);
        return -1;
    }
    fsync(dfd);
    return 0;
}

/* Splits a journal line ("\tfield\tfield...") into unescaped, allocated fields;
 * returns their count, or -1 when the line is malformed. */
static int fields(const char *s, char **f, int max)
{
    int n = 0;
    while (*s) {
        if (*s != '\t' || n == max)
            goto bad;
        const char *e = ++s;
        while (*e && *e != '\t')
            e++;
        char *w = f[n] = malloc((size_t)(e - s) + 1);
        if (!w)
            goto bad;
        n++;
        for (; s < e; s++) {
            if (*s == '\\' && s + 1 < e) {
                s++;
                *w++ = *s == 't' ? '\t' : *s == 'n' ? '\n' : *s;
            } else {
                *w++ = *s;
            }
        }
        *w = 0;
    }
    return n;
bad:
    for (int i = 0; i < n; i++)
        free(f[i]);
    return -1;
}

static int load_journal(int dfd, plan *p, char *err, size_t errlen)
{
    int fd = openat(dfd, JOURNAL, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(err, errlen, "cannot read %s: %s", JOURNAL, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    char *text = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (text && got < (size_t)st.st_size) {
        ssize_t r = read(fd, text + got, (size_t)st.st_size - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (!text || got != (size_t)st.st_size) {
        free(text);
        snprintf(err, errlen, "cannot read %s", JOURNAL);
        return -1;
    }
    text[got] = 0;
    int rc = -1, ended = 0;
    char *save = NULL, *line = strtok_r(text, "\n", &save);
    if (!line || sscanf(line, "deepnb-split 1 valid=%ld sample_train=%ld sample_valid=%ld seed=%" SCNu64,
                        &p->valid, &p->sample_train, &p->sample_valid, &p->seed) != 4)
        goto bad;
    while ((line = strtok_r(NULL, "\n", &save))) {
        if (!strcmp(line, "end")) {
            ended = 1;
            break;
        }
        char *f[3] = {0};
        op_kind k = (op_kind)line[0];
        int want = k == OP_MKDIR ? 1 : k == OP_MOVE ? 2 : k == OP_COPY ? 3 : 0;
        int got = want ? fields(line + 1, f, 3) : -1;
        if (got != want) {
            for (int i = 0; i < got; i++)
                free(f[i]);
            goto bad;
        }
        int r = want == 1 ? add_op(p, k, NULL, NULL, f[0])
              : want == 2 ? add_op(p, k, f[0], NULL, f[1])
                          : add_op(p, k, f[0], f[1], f[2]);
        if (r != 0) {
            snprintf(err, errlen, "out of memory reading %s", JOURNAL);
            free(text);
            return -1;
        }
    }
    if (ended)
        rc = 0;
bad:
    if (rc != 0)
        snprintf(err, errlen, "%s is damaged; move it away and check the folders by hand", JOURNAL);
    free(text);
    return rc;
}

/* Before a journal's steps run: 0, or -1 with err when it cannot be this folder's. */
static int trust_journal(int dfd, const plan *p, char *err, size_t errlen)
{
    const char *wrong = NULL;
    if (plan_matches(dfd, p, &wrong) == 0)
        return 0;
    if (wrong)
        snprintf(err, errlen, "%s was not written by %%split for this folder (it names '%.300s', "
                 "%s); nothing was done: move it away and check the folders by hand", JOURNAL,
                 wrong, path_ok(dfd, wrong) ? "a file that is not here"
                                            : "a path outside the split's folders");
    else
        snprintf(err, errlen, "out of memory checking %s", JOURNAL);
    return -1;
}

/* ---------------------------------------------------------------- the steps */

/* rename that never replaces an existing file */
static int move_noreplace(int dfd, const char *src, const char *dst)
{
    if (renameat2(dfd, src, dfd, dst, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -1;
    if (exists(dfd, dst)) {      /* a filesystem without RENAME_NOREPLACE */
        errno = EEXIST;
        return -1;
    }
    return renameat(dfd, src, dfd, dst);
}

static int copy_atomic(int dfd, const char *src, const char *dst)
{
    const char *slash = strrchr(dst, '/');
    char *tmp = slash ? fmt("%.*s/" TMP_PREFIX "%s", (int)(slash - dst), dst, slash + 1)
                      : fmt(TMP_PREFIX "%s", dst);
    if (!tmp) {
        errno = ENOMEM;
        return -1;
    }
    int in = openat(dfd, src, O_RDONLY | O_CLOEXEC), out = -1, rc = -1, saved = 0;
    if (in >= 0)
        out = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (in >= 0 && out >= 0) {
        char b[65536];
        ssize_t r;
        while ((r = read(in, b, sizeof b)) > 0)
            if (write_all(out, b, (size_t)r) != 0)
                break;
        if (r == 0 && fsync(out) == 0) {
            rc = close(out);
            out = -1;
            if (rc == 0)
                rc = move_noreplace(dfd, tmp, dst);
        }
    }
    saved = errno;
    if (out >= 0)
        close(out);
    if (in >= 0)
        close(in);
    if (rc != 0)
        unlinkat(dfd, tmp, 0);
    free(tmp);
    errno = saved;
    return rc;
}

/* Does step o unless the files show it done. 0, or -1 with errno and *why. */
static int run_op(int dfd, const op *o, const char **why)
{
    *why = NULL;
    switch (o->kind) {
    case OP_MKDIR:
        if (mkdirat(dfd, o->dst, 0777) == 0 || (errno == EEXIST && is_dir(dfd, o->dst)))
            return 0;
        return -1;
    case OP_COPY:
        if (exists(dfd, o->dst))
            return 0;
        if (exists(dfd, o->src))
            return copy_atomic(dfd, o->src, o->dst);
        if (exists(dfd, o->alt))
            return copy_atomic(dfd, o->alt, o->dst);
        *why = "the file is in neither place the plan knows";
        errno = ENOENT;
        return -1;
    case OP_MOVE: {
        int s = exists(dfd, o->src), d = exists(dfd, o->dst);
        if (!s && d)
            return 0;
        if (s && d) {
            *why = "both exist; not replacing a file";
            errno = EEXIST;
            return -1;
        }
        if (!s) {
            *why = "the file is in neither place the plan knows";
            errno = ENOENT;
            return -1;
        }
        return move_noreplace(dfd, o->src, o->dst);
    }
    }
    errno = EINVAL;
    return -1;
}

/* whether op o is done already (ops run in order, each all or nothing: a resumed split
 * finds the ones before where it stopped done) */
static int op_done(int dfd, const op *o)
{
    switch (o->kind) {
    case OP_MKDIR:
        return is_dir(dfd, o->dst);
    case OP_COPY:
        return exists(dfd, o->dst);
    case OP_MOVE:
        return !exists(dfd, o->src) && exists(dfd, o->dst);
    }
    return 0;
}

static int count_files(int dfd, const char *rel, long *n)
{
    strs s = {0};
    int rc = list(dfd, rel, 0, &s);
    *n = s.n;
    strs_free(&s);
    return rc;
}

static int fill_result(int dfd, dn_split_result *res, char *err, size_t errlen)
{
    strs cls = {0};
    if (list(dfd, "train", 1, &cls) != 0) {
        snprintf(err, errlen, "cannot list train/: %s", strerror(errno));
        strs_free(&cls);
        return -1;
    }
    res->nclasses = (int)cls.n;
    res->classes = cls.v;   /* taken over */
    res->counts = calloc((size_t)DN_SPLIT_FOLDERS * (cls.n ? cls.n : 1), sizeof(long));
    if (!res->counts) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int f = 0; f < DN_SPLIT_TEST; f++)
        for (int c = 0; c < res->nclasses; c++) {
            char *rel = fmt("%s/%s", folder_names[f], res->classes[c]);
            long n = 0;
            if (rel)
                count_files(dfd, rel, &n);
            free(rel);
            res->counts[f * res->nclasses + c] = n;
            res->totals[f] += n;
        }
    count_files(dfd, folder_names[DN_SPLIT_TEST], &res->totals[DN_SPLIT_TEST]);
    return 0;
}

static const char *op_verb(op_kind k)
{
    return k == OP_MKDIR ? "making" : k == OP_COPY ? "copying" : "moving";
}

/* Test hook: with DEEPNB_SPLIT_GATE naming a file, the split pauses before its middle
 * move until that file exists or progress() asks it to stop (at most 120 s), so a test
 * can interrupt it at a known step (tests/data/test_split_kernel.py, tests/magics/
 * test_data.c). Returns progress()'s answer. Unset, it costs one getenv per split. */
static int wait_at_gate(const dn_split_options *o, const char *gate, long i, long n)
{
    for (int k = 0; k < 120 * 200; k++) {
        if (o->progress && o->progress(o->progress_ctx, i, n))
            return 1;
        if (access(gate, F_OK) == 0)
            return 0;
        struct timespec ts = { 0, 5000000 };
        nanosleep(&ts, NULL);
    }
    return 0;
}

int dn_split(const dn_split_options *o, dn_split_result *res, char *err, size_t errlen)
{
    memset(res, 0, sizeof *res);
    if (!o->dir || !o->dir[0]) {
        snprintf(err, errlen, "no folder given");
        return -1;
    }
    int dfd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        snprintf(err, errlen, "cannot open folder %s: %s", o->dir, strerror(errno));
        return -1;
    }
    plan p = {0};
    int rc = -1;
    if (exists(dfd, JOURNAL)) {
        if (load_journal(dfd, &p, err, errlen) != 0)
            goto out;
        if (p.valid != o->valid || p.sample_train != o->sample_train ||
            p.sample_valid != o->sample_valid || p.seed != o->seed) {
            snprintf(err, errlen, "%s/%s records an unfinished split with valid=%ld "
                     "sample_train=%ld sample_valid=%ld seed=%" PRIu64 "; run it again with "
                     "those options to finish it", o->dir, JOURNAL, p.valid, p.sample_train,
                     p.sample_valid, p.seed);
            goto out;
        }
        if (trust_journal(dfd, &p, err, errlen) != 0)
            goto out;
        res->resumed = 1;
    } else {
        if (!is_dir(dfd, "train")) {
            snprintf(err, errlen, "%s/train is not a folder (expected the competition's layout: "
                     "train/cat.0.jpg ..., test/1.jpg ...)", o->dir);
            goto out;
        }
        if (check_fresh(dfd, o->dir, err, errlen) != 0 || make_plan(dfd, o, &p, err, errlen) != 0 ||
            save_journal(dfd, &p, err, errlen) != 0)
            goto out;
    }
    long moves = 0, copies = 0;
    for (long i = 0; i < p.n; i++) {
        moves += p.ops[i].kind == OP_MOVE;
        copies += p.ops[i].kind == OP_COPY;
    }
    long moved = 0, copied = 0, first = 0;
    /* a resumed split goes on from where the last one stopped: its progress and its
     * counts never go back */
    while (res->resumed && first < p.n && op_done(dfd, &p.ops[first])) {
        moved += p.ops[first].kind == OP_MOVE;
        copied += p.ops[first].kind == OP_COPY;
        first++;
    }
    const char *gate = getenv("DEEPNB_SPLIT_GATE");
    for (long i = first; i < p.n; i++) {
        const op *q = &p.ops[i];
        const char *why = NULL;
        int stop = o->progress && o->progress(o->progress_ctx, i, p.n);
        if (!stop && gate && *gate && q->kind == OP_MOVE && moved == moves / 2)
            stop = wait_at_gate(o, gate, i, p.n);
        if (stop || run_op(dfd, q, &why) != 0) {
            char what[1200];
            if (q->kind == OP_MKDIR)
                snprintf(what, sizeof what, "making %s/", q->dst);
            else
                snprintf(what, sizeof what, "%s %s to %s", op_verb(q->kind), q->src, q->dst);
            snprintf(err, errlen, "split %s at step %ld of %ld (%s): %s. Done so far: %ld of %ld "
                     "moves, %ld of %ld copies; no file was lost. The plan is in %s/%s: run the "
                     "split again with the same options to finish it",
                     stop ? "interrupted" : "stopped", i + 1, p.n, what,
                     stop ? "stopped by request" : why ? why : strerror(errno), moved, moves,
                     copied, copies, o->dir, JOURNAL);
            goto out;
        }
        moved += q->kind == OP_MOVE;
        copied += q->kind == OP_COPY;
    }
    fsync(dfd);
    if (unlinkat(dfd, JOURNAL, 0) != 0) {
        snprintf(err, errlen, "the split is complete but %s/%s could not be removed: %s", o->dir,
                 JOURNAL, strerror(errno));
        goto out;
    }
    if (fill_result(dfd, res, err, errlen) != 0)
        goto out;
    size_t k = (size_t)snprintf(res->message, sizeof res->message,
        "%sMoved %ld files to valid/, copied %ld to sample/train/ and %ld to sample/valid/, "
        "sorted into %d class folder%s (", res->resumed ? "Finished an interrupted split. " : "",
        res->totals[DN_SPLIT_VALID], res->totals[DN_SPLIT_SAMPLE_TRAIN],
        res->totals[DN_SPLIT_SAMPLE_VALID], res->nclasses, res->nclasses == 1 ? "" : "s");
    for (int c = 0; c < res->nclasses && k < sizeof res->message; c++)
        k += (size_t)snprintf(res->message + k, sizeof res->message - k, "%s%s", c ? ", " : "",
                              res->classes[c]);
    if (k < sizeof res->message)
        snprintf(res->message + k, sizeof res->message - k, "); %ld test files are in test/unknown/.",
                 res->totals[DN_SPLIT_TEST]);
    rc = 0;
out:
    plan_free(&p);
    close(dfd);
    if (rc != 0)
        dn_split_result_fini(res);
    return rc;
}

int dn_split_pending(const char *dir, dn_split_options *recorded, char *err, size_t errlen)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        snprintf(err, errlen, "cannot open folder %s: %s", dir, strerror(errno));
        return -1;
    }
    int rc = 0;
    if (exists(dfd, JOURNAL)) {
        plan p = {0};
        rc = load_journal(dfd, &p, err, errlen) == 0 ? 1 : -1;
        if (rc == 1) {
            recorded->dir = NULL;
            recorded->valid = p.valid;
            recorded->sample_train = p.sample_train;
            recorded->sample_valid = p.sample_valid;
            recorded->seed = p.seed;
        }
        plan_free(&p);
    }
    close(dfd);
    return rc;
}

int dn_split_existing(const char *dir, char *err, size_t errlen)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        snprintf(err, errlen, "cannot open folder %s: %s", dir, strerror(errno));
        return -1;
    }
    int rc = !exists(dfd, JOURNAL) && check_fresh(dfd, dir, err, errlen) != 0;
    close(dfd);
    return rc;
}

void dn_split_result_fini(dn_split_result *res)
{
    for (int c = 0; c < res->nclasses; c++)
        free(res->classes[c]);
    free(res->classes);
    free(res->counts);
    res->classes = NULL;
    res->counts = NULL;
    res->nclasses = 0;
}

size_t dn_split_format(const dn_split_result *res, char *out, size_t n)
{
    size_t k = 0;
#define OUT(...) do { if (k < n) k += (size_t)snprintf(out + k, n - k, __VA_ARGS__); } while (0)
    if (n)
        out[0] = 0;
    OUT("%-14s", "folder");
    for (int c = 0; c < res->nclasses; c++)
        OUT(" %10s", res->classes[c]);
    OUT(" %10s\n", "total");
    for (int f = 0; f < DN_SPLIT_FOLDERS; f++) {
        OUT("%-14s", folder_names[f]);
        for (int c = 0; c < res->nclasses; c++) {
            if (f == DN_SPLIT_TEST)
                OUT(" %10s", "-");
            else
                OUT(" %10ld", res->counts[f * res->nclasses + c]);
        }
        OUT(" %10ld\n", res->totals[f]);
    }
#undef OUT
    return k < n ? k : n ? n - 1 : 0;
}
