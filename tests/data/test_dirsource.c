/* test_dirsource — flow_from_directory semantics of the directory batch source on
 * folders this test writes: class order, file order, counts, one-hot labels, ids,
 * partial last batch, seeded shuffles, unlabelled folders, skipped files, files left
 * out when they cannot be decoded, failures that pass (tried again), error messages, reset and free mid-epoch, and the prefetch bound. */
#include "data/dirsource.h"
#include "testutil.h"

#include <math.h>
#include <time.h>

#define W 8
#define H 6

static char root[4096];

typedef struct warns {
    int n;
    char msg[32][512];
} warns;

static void on_warn(void *ctx, const char *msg)
{
    warns *w = ctx;
    if (w->n < 32)
        pathf(w->msg[w->n], sizeof w->msg[0], "%s", msg);
    w->n++;
}

static const char *expected[] = {
    "cat/cat.0.png", "cat/cat.1.png", "cat/cat.10.png", "cat/cat.2.png", "cat/cat.3.PNG",
    "cat/sub/cat.x.png", "dog/dog.0.png", "dog/dog.1.png", "dog/dog.2.png", "dog/dog.3.png",
    "dog/dog.4.png", "dog/dog.5.png", "dog/dog.6.png",
};
#define N 13

static void path_of(char *buf, size_t n, const char *dir, const char *rel)
{
    pathf(buf, n, "%s/%s", dir, rel);
}

/* The fixture: each image is one colour: R = 10*i + 5 (i its place in expected),
 * G = 100*label + 20, B = 200. */
static void make_fixture(const char *dir)
{
    char p[4096];
    for (int i = 0; i < N; i++) {
        path_of(p, sizeof p, dir, expected[i]);
        char d[4096];
        pathf(d, sizeof d, "%s", p);
        *strrchr(d, '/') = 0;
        mkdirs(d);
        write_solid_png(p, W, H, 10 * i + 5, 100 * (i >= 6) + 20, 200);
    }
    path_of(p, sizeof p, dir, "cat/notes.txt");
    write_bytes(p, "not an image\n", 13);
    path_of(p, sizeof p, dir, "cat/bad.jpg");
    write_bytes(p, "this is text, named .jpg\n", 25);
    /* a PNG cut in half */
    path_of(p, sizeof p, dir, "dog/dog.0.png");
    size_t n = 0;
    char *png = read_file(p, &n);
    path_of(p, sizeof p, dir, "cat/trunc.png");
    write_bytes(p, png, n / 2);
    free(png);
    path_of(p, sizeof p, dir, "dog/.hidden.png");
    write_solid_png(p, W, H, 1, 2, 3);
    path_of(p, sizeof p, dir, ".ipynb_checkpoints");
    mkdirs(p);
    path_of(p, sizeof p, dir, ".ipynb_checkpoints/x.png");
    write_solid_png(p, W, H, 1, 2, 3);
    path_of(p, sizeof p, dir, "loose.png");
    write_solid_png(p, W, H, 1, 2, 3);
}

static dn_dir_source *open_src(const char *dir, int bs, int shuffle, uint64_t seed, warns *w,
                               char *err, size_t errlen)
{
    dn_dir_options o;
    dn_dir_options_init(&o, dir);
    o.width = W;
    o.height = H;
    o.batch_size = bs;
    o.shuffle = shuffle;
    o.seed = seed;
    o.warn = w ? on_warn : NULL;
    o.warn_ctx = w;
    dn_dir_source *s = NULL;
    if (dn_dir_source_new(&o, &s, err, errlen) != 0)
        return NULL;
    return s;
}

/* Reads one epoch; checks every image's pixels and label against its id. Returns
 * the number of examples, fills ids (in delivery order) and batch sizes. */
static long read_epoch(dn_dir_source *s, long *ids, int *sizes, int *nbatches, int *bad)
{
    dn_batch_source *b = dn_dir_source_base(s);
    char err[256];
    dn_batch bt;
    long n = 0;
    int k = 0, r;
    while ((r = b->ops->next(b, &bt, err, sizeof err)) == 1) {
        sizes[k++] = bt.n;
        for (int i = 0; i < bt.n; i++) {
            long id = bt.ids[i];
            ids[n++] = id;
            const float *x = bt.x + (size_t)i * W * H * 3;
            int label = id >= 6;
            if (x[0] != 10 * id + 5 || x[1] != 100 * label + 20 || x[2] != 200 ||
                x[(W * H - 1) * 3] != 10 * id + 5)
                (*bad)++;
            if (bt.y && (bt.y_dim != 2 || bt.y[i * 2 + label] != 1 || bt.y[i * 2 + 1 - label] != 0))
                (*bad)++;
        }
        if (bt.x_ndim != 4 || bt.x_shape[0] != bt.n || bt.x_shape[1] != H || bt.x_shape[2] != W ||
            bt.x_shape[3] != 3)
            (*bad)++;
    }
    if (r < 0) {
        printf("     next failed: %s\n", err);
        (*bad)++;
    }
    *nbatches = k;
    return n;
}

static int is_permutation(const long *ids, long n)
{
    int seen[N] = {0};
    for (long i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= N || seen[ids[i]])
            return 0;
        seen[ids[i]] = 1;
    }
    return n == N;
}

static void test_errors(void)
{
    char err[512], d[4200];
    dn_dir_source *s;
    pathf(d, sizeof d, "%s/missing", root);
    s = open_src(d, 4, 0, 0, NULL, err, sizeof err);
    CHECK(!s && strstr(err, "no such folder"), "missing folder is an error: %s", err);

    pathf(d, sizeof d, "%s/empty", root);
    mkdirs(d);
    s = open_src(d, 4, 0, 0, NULL, err, sizeof err);
    CHECK(!s && strstr(err, "no class folders"), "empty folder is an error: %s", err);

    pathf(d, sizeof d, "%s/loose", root);
    mkdirs(d);
    char p[4300];
    pathf(p, sizeof p, "%s/1.png", d);
    write_solid_png(p, W, H, 0, 0, 0);
    s = open_src(d, 4, 0, 0, NULL, err, sizeof err);
    CHECK(!s && strstr(err, "1 images but no class folders") && strstr(err, "unknown"),
          "images without class folders: %s", err);

    pathf(d, sizeof d, "%s/noimg/a", root);
    mkdirs(d);
    pathf(d, sizeof d, "%s/noimg", root);
    s = open_src(d, 4, 0, 0, NULL, err, sizeof err);
    CHECK(!s && strstr(err, "found no images"), "class folders without images: %s", err);

    pathf(p, sizeof p, "%s/noimg/a/x.jpg", root);
    write_bytes(p, "text", 4);
    warns w = {0};
    s = open_src(d, 4, 0, 0, &w, err, sizeof err);
    CHECK(!s && strstr(err, "no readable images") && w.n == 1,
          "only unreadable images: %s (%d warning)", err, w.n);

    dn_dir_options o;
    dn_dir_options_init(&o, root);
    o.batch_size = 0;
    CHECK(dn_dir_source_new(&o, &s, err, sizeof err) != 0 && strstr(err, "batch_size"),
          "bad batch size: %s", err);
}

static void test_scan_and_order(const char *dir)
{
    char err[512];
    warns w = {0};
    dn_dir_source *s = open_src(dir, 4, 0, 0, &w, err, sizeof err);
    CHECK(s != NULL, "opens the fixture %s", s ? "" : err);
    if (!s)
        return;
    const char *msg = dn_dir_source_message(s);
    CHECK(!strncmp(msg, "Found 13 images belonging to 2 classes.\n", 40), "message: %s", msg);
    CHECK(strstr(msg, "Skipped 2 files") != NULL, "message counts the skipped files");
    CHECK(dn_dir_source_skipped(s) == 2 && w.n == 2, "2 skipped, 2 warnings");
    CHECK(w.n == 2 && strstr(w.msg[0], "cat/bad.jpg") && strstr(w.msg[1], "cat/trunc.png") &&
              strstr(w.msg[1], "truncated"),
          "warnings name the files: [%s] [%s]", w.msg[0], w.msg[1]);
    CHECK(dn_dir_source_num_classes(s) == 2 && !strcmp(dn_dir_source_class_name(s, 0), "cat") &&
              !strcmp(dn_dir_source_class_name(s, 1), "dog"),
          "classes are the sorted visible folders: cat, dog");
    int order_ok = dn_dir_source_count(s) == N;
    for (long i = 0; order_ok && i < N; i++)
        order_ok = !strcmp(dn_dir_source_filename(s, i), expected[i]) &&
                   dn_dir_source_label(s, i) == (i >= 6);
    CHECK(order_ok, "file names in Keras order (class, folder, name), labels by class");

    dn_batch_source *b = dn_dir_source_base(s);
    CHECK(b->ops->count(b) == 13 && b->ops->batches(b) == 4, "13 examples in 4 batches of 4");
    long ids[N * 2];
    int sizes[8], nb = 0, bad = 0;
    long n = read_epoch(s, ids, sizes, &nb, &bad);
    int seq = n == N;
    for (long i = 0; seq && i < N; i++)
        seq = ids[i] == i;
    CHECK(seq && bad == 0, "unshuffled epoch: ids 0..12 in file order, pixels and one-hot match");
    CHECK(nb == 4 && sizes[0] == 4 && sizes[3] == 1, "last batch is short (%d)", sizes[3]);
    dn_batch bt;
    CHECK(b->ops->next(b, &bt, err, sizeof err) == 0, "next after the epoch's end returns 0");
    CHECK(b->ops->reset(b, err, sizeof err) == 0, "reset");
    n = read_epoch(s, ids, sizes, &nb, &bad);
    seq = n == N;
    for (long i = 0; seq && i < N; i++)
        seq = ids[i] == i;
    CHECK(seq && bad == 0, "second unshuffled epoch is the same order");
    CHECK(dn_dir_source_of(b) == s, "the dir source is found behind its batch source");
    b->ops->free(b);
}

static void test_shuffle(const char *dir)
{
    char err[512];
    long a[3][N], c[3][N], d[N];
    int sizes[8], nb, bad = 0;
    dn_dir_source *s1 = open_src(dir, 5, 1, 42, NULL, err, sizeof err);
    dn_dir_source *s2 = open_src(dir, 5, 1, 42, NULL, err, sizeof err);
    dn_dir_source *s3 = open_src(dir, 5, 1, 7, NULL, err, sizeof err);
    if (!s1 || !s2 || !s3) {
        CHECK(0, "open shuffled sources: %s", err);
        return;
    }
    int perms = 1;
    for (int e = 0; e < 3; e++) {
        dn_batch_source *b1 = dn_dir_source_base(s1), *b2 = dn_dir_source_base(s2);
        b1->ops->reset(b1, err, sizeof err);
        b2->ops->reset(b2, err, sizeof err);
        perms &= read_epoch(s1, a[e], sizes, &nb, &bad) == N && is_permutation(a[e], N);
        perms &= read_epoch(s2, c[e], sizes, &nb, &bad) == N && is_permutation(c[e], N);
    }
    read_epoch(s3, d, sizes, &nb, &bad);
    CHECK(perms && bad == 0, "every shuffled epoch is a permutation with matching pixels");
    CHECK(!memcmp(a, c, sizeof a), "the same seed gives the same orders, epoch after epoch");
    CHECK(memcmp(a[0], a[1], sizeof a[0]) && memcmp(a[1], a[2], sizeof a[0]),
          "each epoch is reshuffled");
    CHECK(memcmp(a[0], d, sizeof d) != 0, "another seed gives another order");
    long ident[N];
    for (int i = 0; i < N; i++)
        ident[i] = i;
    CHECK(memcmp(a[0], ident, sizeof ident) != 0, "shuffled order is not the file order");
    dn_dir_source_free(s1);
    dn_dir_source_free(s2);
    dn_dir_source_free(s3);
}

static void test_reset_and_free_mid_epoch(const char *dir)
{
    char err[512];
    dn_dir_source *s = open_src(dir, 4, 1, 3, NULL, err, sizeof err);
    dn_dir_source *ref = open_src(dir, 4, 1, 3, NULL, err, sizeof err);
    dn_batch_source *b = dn_dir_source_base(s);
    dn_batch bt;
    long ids[N], rids[N];
    int sizes[8], nb, bad = 0;
    b->ops->next(b, &bt, err, sizeof err);
    CHECK(b->ops->reset(b, err, sizeof err) == 0, "reset after one batch");
    long n = read_epoch(s, ids, sizes, &nb, &bad);
    /* the reference reads epoch 0 fully, then epoch 1 */
    read_epoch(ref, rids, sizes, &nb, &bad);
    dn_batch_source *rb = dn_dir_source_base(ref);
    rb->ops->reset(rb, err, sizeof err);
    read_epoch(ref, rids, sizes, &nb, &bad);
    CHECK(n == N && is_permutation(ids, N) && !memcmp(ids, rids, sizeof ids) && bad == 0,
          "after a reset mid-epoch the next epoch is whole and in epoch 1's order");
    b->ops->next(b, &bt, err, sizeof err);
    b->ops->reset(b, err, sizeof err);
    b->ops->next(b, &bt, err, sizeof err);
    b->ops->free(b);   /* mid-epoch, workers busy: must join cleanly */
    CHECK(1, "free mid-epoch returns");
    dn_dir_source_free(ref);
}

static void test_unlabelled(void)
{
    char d[4200], p[4300], err[512];
    pathf(d, sizeof d, "%s/test/unknown", root);
    mkdirs(d);
    for (int i = 1; i <= 5; i++) {
        pathf(p, sizeof p, "%s/%d.png", d, i);
        write_solid_png(p, W, H, i, i, i);
    }
    pathf(d, sizeof d, "%s/test", root);
    dn_dir_options o;
    dn_dir_options_init(&o, d);
    o.width = W;
    o.height = H;
    o.batch_size = 2;
    o.shuffle = 0;
    o.class_mode = DN_CLASS_NONE;
    dn_dir_source *s;
    if (dn_dir_source_new(&o, &s, err, sizeof err) != 0) {
        CHECK(0, "open test/: %s", err);
        return;
    }
    CHECK(!strcmp(dn_dir_source_message(s), "Found 5 images belonging to 1 classes."),
          "unlabelled: %s", dn_dir_source_message(s));
    CHECK(!strcmp(dn_dir_source_filename(s, 0), "unknown/1.png") &&
              !strcmp(dn_dir_source_filename(s, 4), "unknown/5.png"),
          "file names like Keras: unknown/1.png");
    dn_batch_source *b = dn_dir_source_base(s);
    dn_batch bt;
    int ok = 1, k = 0;
    while (b->ops->next(b, &bt, err, sizeof err) == 1) {
        ok &= bt.y == NULL && bt.y_dim == 0;
        for (int i = 0; i < bt.n; i++, k++)
            ok &= bt.ids[i] == k && bt.x[i * W * H * 3] == k + 1;
    }
    CHECK(ok && k == 5, "class_mode none: y NULL, images in file order");
    dn_dir_source_free(s);
}

/* A folder dmg/a/0.png .. (n-1).png, one colour each (R = 10 i + 5); those named in
 * damaged get their image data damaged (header and IEND intact, the CRC no longer
 * matches), so they pass the scan and fail at decode time. */
static void make_damaged(const char *name, int n, const int *damaged, int ndamaged)
{
    char d[4200], p[4300];
    pathf(d, sizeof d, "%s/%s/a", root, name);
    mkdirs(d);
    for (int i = 0; i < n; i++) {
        pathf(p, sizeof p, "%s/%d.png", d, i);
        write_solid_png(p, W, H, 10 * i + 5, 60, 70);
    }
    for (int k = 0; k < ndamaged; k++) {
        pathf(p, sizeof p, "%s/%d.png", d, damaged[k]);
        size_t len = 0;
        unsigned char *b = (unsigned char *)read_file(p, &len);
        for (size_t i = 0; i + 4 < len; i++)
            if (!memcmp(b + i, "IDAT", 4)) {
                b[i + 6] ^= 0x5a;   /* inside the compressed data */
                break;
            }
        write_bytes(p, b, len);
        free(b);
    }
}

static dn_dir_source *open_plain(const char *name, int bs, int shuffle, warns *w)
{
    char d[4200], err[512];
    pathf(d, sizeof d, "%s/%s", root, name);
    dn_dir_source *s = open_src(d, bs, shuffle, 5, w, err, sizeof err);
    CHECK(s != NULL, "open %s %s", name, s ? "" : err);
    return s;
}

/* The ids of one epoch in delivery order (at most 16), each image's red checked
 * against its id; the batch sizes in sizes. -1 when next() fails (err). */
static int epoch_ids(dn_dir_source *s, long *ids, int *sizes, int *nb, int *wrong, char *err,
                     size_t errlen)
{
    dn_batch_source *b = dn_dir_source_base(s);
    dn_batch bt;
    int n = 0, r;
    *nb = 0;
    while ((r = b->ops->next(b, &bt, err, errlen)) == 1) {
        sizes[(*nb)++] = bt.n;
        for (int i = 0; i < bt.n && n < 16; i++) {
            ids[n++] = bt.ids[i];
            const float *x = bt.x + (size_t)i * W * H * 3;
            if (x[0] != 10 * bt.ids[i] + 5 || x[(W * H - 1) * 3] != 10 * bt.ids[i] + 5 || x[1] != 60)
                (*wrong)++;
        }
    }
    return r < 0 ? -1 : n;
}

/* A file that fails to decode is left out: its batch comes short, later epochs do not
 * hold it, the user is told once by name, and no black image is ever delivered. */
static void test_left_out(void)
{
    static const int dmg[] = {1};
    make_damaged("dmg", 5, dmg, 1);
    warns w = {0};
    dn_dir_source *s = open_plain("dmg", 2, 0, &w);
    if (!s)
        return;
    dn_batch_source *bs = dn_dir_source_base(s);
    CHECK(dn_dir_source_count(s) == 5 && w.n == 0 && bs->ops->batches(bs) == 3,
          "damaged data passes the scan: 5 files, 3 batches planned");
    long ids[16];
    int sizes[8], nb, wrong = 0;
    char err[512];
    int n = epoch_ids(s, ids, sizes, &nb, &wrong, err, sizeof err);
    CHECK(n == 4 && ids[0] == 0 && ids[1] == 2 && ids[2] == 3 && ids[3] == 4 && wrong == 0,
          "epoch 0: the damaged file is left out, the others have their own pixels (%d)", n);
    CHECK(nb == 3 && sizes[0] == 1 && sizes[1] == 2 && sizes[2] == 1,
          "its batch came one short (%d %d %d)", sizes[0], sizes[1], sizes[2]);
    CHECK(bs->ops->count(bs) == 4 && bs->ops->batches(bs) == 3,
          "the epoch's count says what it delivered (%ld)", bs->ops->count(bs));
    CHECK(dn_dir_source_left_out(s) == 1 && dn_dir_source_is_left_out(s, 1) &&
              !dn_dir_source_is_left_out(s, 0) && w.n == 1 && strstr(w.msg[0], "a/1.png") &&
              strstr(w.msg[0], "left out") && strstr(w.msg[0], "bad PNG"),
          "one warning naming the file and why: %s", w.msg[0]);
    char text[256];
    dn_dir_source_left_out_text(s, text, sizeof text);
    CHECK(!strcmp(text, "1 file could not be decoded and was left out: a/1.png"), "summary: %s", text);
    for (int e = 1; e < 3; e++) {
        CHECK(bs->ops->reset(bs, err, sizeof err) == 0, "reset");
        CHECK(bs->ops->count(bs) == 4 && bs->ops->batches(bs) == 2, "epoch %d plans 4 files in 2 "
              "batches (%ld, %ld)", e, bs->ops->count(bs), bs->ops->batches(bs));
        n = epoch_ids(s, ids, sizes, &nb, &wrong, err, sizeof err);
        CHECK(n == 4 && nb == 2 && sizes[0] == 2 && sizes[1] == 2 && ids[1] == 2 && wrong == 0,
              "epoch %d: full batches without it (%d in %d)", e, n, nb);
    }
    CHECK(dn_dir_source_left_out(s) == 1 && w.n == 1, "still one file left out, one warning");
    dn_dir_source_free(s);

    /* batches of one, shuffled: the damaged file's batch has nothing left and is not
     * served; the epoch's batch count says so */
    static const int dmg2[] = {0, 3};
    make_damaged("dmg2", 6, dmg2, 2);
    w.n = 0;
    s = open_plain("dmg2", 1, 1, &w);
    if (!s)
        return;
    bs = dn_dir_source_base(s);
    n = epoch_ids(s, ids, sizes, &nb, &wrong, err, sizeof err);
    CHECK(n == 4 && nb == 4 && wrong == 0 && bs->ops->batches(bs) == 4 && bs->ops->count(bs) == 4,
          "batches of one: 4 served of 6 planned, and batches() says 4 (%d, %ld)", nb,
          bs->ops->batches(bs));
    int has_bad = 0;
    for (int i = 0; i < n; i++)
        has_bad |= ids[i] == 0 || ids[i] == 3;
    CHECK(!has_bad && w.n == 2, "neither damaged file delivered; two warnings");
    dn_dir_source_left_out_text(s, text, sizeof text);
    CHECK(!strcmp(text, "2 files could not be decoded and were left out: a/0.png, a/3.png"),
          "summary in file order: %s", text);
    dn_dir_source_free(s);

    /* every file damaged: the first epoch serves nothing, the next says why */
    static const int all[] = {0, 1};
    make_damaged("dmg3", 2, all, 2);
    s = open_plain("dmg3", 4, 0, NULL);
    if (!s)
        return;
    bs = dn_dir_source_base(s);
    n = epoch_ids(s, ids, sizes, &nb, &wrong, err, sizeof err);
    CHECK(n == 0 && nb == 0, "all damaged: nothing served");
    bs->ops->reset(bs, err, sizeof err);
    n = epoch_ids(s, ids, sizes, &nb, &wrong, err, sizeof err);
    CHECK(n == -1 && strstr(err, "none of the 2 images"), "then an error: %s", err);
    dn_dir_source_free(s);

    /* a file removed after the scan is left out too (it cannot be read); batches of
     * one with no prefetch, so nothing but the first batch is decoded before it goes */
    make_damaged("gone", 3, NULL, 0);
    char d[4200], p[4300];
    pathf(d, sizeof d, "%s/gone", root);
    pathf(p, sizeof p, "%s/gone/a/2.png", root);
    dn_dir_options o;
    dn_dir_options_init(&o, d);
    o.width = W;
    o.height = H;
    o.batch_size = 1;
    o.shuffle = 0;
    o.prefetch = 0;
    o.warn = on_warn;
    o.warn_ctx = &w;
    w.n = 0;
    if (dn_dir_source_new(&o, &s, err, sizeof err) != 0) {
        CHECK(0, "open gone: %s", err);
        return;
    }
    unlink(p);
    n = epoch_ids(s, ids, sizes, &nb, &wrong, err, sizeof err);
    CHECK(n == 2 && wrong == 0 && w.n == 1 && strstr(w.msg[0], "a/2.png") &&
              strstr(w.msg[0], "No such file"),
          "a file removed since the scan is left out: %s", w.n ? w.msg[0] : "(no warning)");
    dn_dir_source_free(s);
}

/* A failure that may pass (ENOMEM from open, made by failopen.c) is tried again: the
 * image arrives with its own pixels and nothing is left out; one that does not pass
 * within the tries fails the batch with a clear error, and is not remembered. */
static void test_transient(void)
{
    make_damaged("mem", 4, NULL, 0);
    /* open 1 of a/2.png is the scan's probe; opens 2-4 fail with ENOMEM */
    setenv("DEEPNB_FAILOPEN", "/mem/a/2.png:1:3", 1);
    warns w = {0};
    dn_dir_source *s = open_plain("mem", 4, 0, &w);
    if (!s)
        return;
    long ids[16];
    int sizes[8], nb, wrong = 0;
    char err[512];
    int n = epoch_ids(s, ids, sizes, &nb, &wrong, err, sizeof err);
    CHECK(n == 4 && nb == 1 && ids[2] == 2 && wrong == 0 && dn_dir_source_retries(s) == 3,
          "out of memory three times: tried again, delivered with its own pixels (%d images, "
          "%ld retries)", n, dn_dir_source_retries(s));
    CHECK(dn_dir_source_left_out(s) == 0 && w.n == 0, "nothing left out, no warning");
    dn_dir_source_free(s);

    /* opens 2-7 fail: more than the five tries */
    setenv("DEEPNB_FAILOPEN", "/mem/a/2.png:1:6", 1);
    s = open_plain("mem", 4, 0, &w);
    if (!s)
        return;
    dn_batch_source *bs = dn_dir_source_base(s);
    n = epoch_ids(s, ids, sizes, &nb, &wrong, err, sizeof err);
    CHECK(n == -1 && strstr(err, "a/2.png") && strstr(err, "Cannot allocate memory") &&
              strstr(err, "after 5 tries") && strstr(err, "not left out"),
          "still failing after 5 tries: the batch is an error: %s", err);
    CHECK(dn_dir_source_left_out(s) == 0 && w.n == 0, "and the file is not left out");
    CHECK(bs->ops->reset(bs, err, sizeof err) == 0, "reset after the error");
    n = epoch_ids(s, ids, sizes, &nb, &wrong, err, sizeof err);
    CHECK(n == 4 && ids[2] == 2 && wrong == 0, "the next epoch has it, with its pixels (%d)", n);
    dn_dir_source_free(s);
    unsetenv("DEEPNB_FAILOPEN");
}

static void sleep_ms(int ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

static void test_prefetch_bound(void)
{
    char d[4200], p[4300], err[512];
    pathf(d, sizeof d, "%s/many/a", root);
    mkdirs(d);
    for (int i = 0; i < 60; i++) {
        pathf(p, sizeof p, "%s/%02d.png", d, i);
        write_solid_png(p, 64, 64, i, i, i);
    }
    pathf(d, sizeof d, "%s/many", root);
    dn_dir_options o;
    dn_dir_options_init(&o, d);
    o.width = 32;
    o.height = 32;
    o.batch_size = 4;
    o.workers = 3;
    o.prefetch = 2;
    dn_dir_source *s;
    if (dn_dir_source_new(&o, &s, err, sizeof err) != 0) {
        CHECK(0, "open: %s", err);
        return;
    }
    dn_batch_source *b = dn_dir_source_base(s);
    sleep_ms(300);
    long d0 = dn_dir_source_images_decoded(s);
    CHECK(d0 == 12, "a consumer that has not started: exactly 3 batches decoded (%ld)", d0);
    dn_batch bt;
    int ok = 1;
    long max_ahead = 0;
    for (int k = 1; k <= 15; k++) {
        ok &= b->ops->next(b, &bt, err, sizeof err) == 1;
        sleep_ms(20);    /* a slow consumer */
        long ahead = dn_dir_source_images_decoded(s) - (long)(k - 1) * 4;
        if (ahead > max_ahead)
            max_ahead = ahead;
    }
    CHECK(ok && max_ahead <= 12, "a slow consumer: never more than (prefetch+1) batches "
          "decoded beyond the released ones (max %ld images)", max_ahead);
    CHECK(b->ops->next(b, &bt, err, sizeof err) == 0, "epoch of 60 = 15 batches");
    /* across the epoch boundary the next epoch is prefetched too, but only 3 batches */
    sleep_ms(200);
    long ahead = dn_dir_source_images_decoded(s) - 60;
    CHECK(ahead == 12, "at the end of an epoch the next one is prefetched, 3 batches (%ld)",
          ahead);
    dn_dir_source_free(s);
}

int main(void)
{
    make_tmpdir(root, sizeof root, "dirsource");
    char fx[4200];
    pathf(fx, sizeof fx, "%s/fixture", root);
    make_fixture(fx);
    test_errors();
    test_scan_and_order(fx);
    test_shuffle(fx);
    test_reset_and_free_mid_epoch(fx);
    test_unlabelled();
    test_left_out();
    test_transient();
    test_prefetch_bound();
    rm_rf(root);
    printf("%s: %d failure(s)\n", failures ? "FAILED" : "passed", failures);
    return failures ? 1 : 0;
}
