/* test_data.c — %split and %batches through the interpreter and a fake sink, on real
 * folders in /tmp: the table of counts, refusal of an existing layout, the same split for
 * the same %seed, a split stopped part-way (an obstacle, an interrupt) and finished by
 * running it again, the batches object in %who, grayscale batches, and bad arguments
 * that leave files and workspace as they were. */
#include "check.h"
#include "internal.h"
#include "magics.h"
#include "ws_batches.h"

#include <dirent.h>
#include <errno.h>
#include <png.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

static dn_interp *it;
static fake f;
static char root[256];

static const char *err_name(void) { const event *e = fake_find(&f, "error"); return e ? e->name : NULL; }
static const char *err_value(void) { const event *e = fake_find(&f, "error"); return e ? e->text : ""; }

static void put(const char *path, const char *bytes)
{
    FILE *fp = fopen(path, "w");
    if (fp) { fputs(bytes, fp); fclose(fp); }
}

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* A w x h grey PNG whose pixel (x, y) is base + x + w*y (libpng's simplified API). */
static int grey_png(const char *path, int w, int h, int base)
{
    unsigned char px[64 * 64];
    for (int k = 0; k < w * h; k++) px[k] = (unsigned char)(base + k);
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    img.width = (png_uint_32)w;
    img.height = (png_uint_32)h;
    img.format = PNG_FORMAT_GRAY;
    return png_image_write_to_file(&img, path, 0, px, 0, NULL) ? 0 : -1;
}

/* Every file under dir with its checksum, sorted (hidden files left out): what a split
 * must keep. Caller frees. */
static char *listing(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "cd '%s' && find . -type f ! -name '.*' -exec md5sum {} + | sort -k2", dir);
    FILE *p = popen(cmd, "r");
    if (!p) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *s = malloc(cap);
    size_t r;
    while (s && (r = fread(s + n, 1, cap - n - 1, p)) > 0) {
        n += r;
        if (cap - n < 4096) { char *t = realloc(s, cap *= 2); if (!t) { free(s); s = NULL; } else s = t; }
    }
    pclose(p);
    if (s) s[n] = 0;
    return s;
}

static long count_files(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "find '%s' -type f ! -name '.*' 2>/dev/null | wc -l", dir);
    FILE *p = popen(cmd, "r");
    long n = -1;
    if (p) { if (fscanf(p, "%ld", &n) != 1) n = -1; pclose(p); }
    return n;
}

/* DIR/train/{cat,dog}.N.jpg (ncat + ndog files, small distinct contents), DIR/test/N.jpg */
static void competition(const char *dir, int ncat, int ndog, int ntest)
{
    char p[512];
    snprintf(p, sizeof p, "%s/train", dir);
    mkdir(dir, 0755);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/test", dir);
    mkdir(p, 0755);
    for (int k = 0; k < ncat + ndog; k++) {
        char body[64];
        const char *cls = k < ncat ? "cat" : "dog";
        int n = k < ncat ? k : k - ncat;
        snprintf(p, sizeof p, "%s/train/%s.%d.jpg", dir, cls, n);
        snprintf(body, sizeof body, "%s %d\n", cls, n);
        put(p, body);
    }
    for (int k = 1; k <= ntest; k++) {
        char body[64];
        snprintf(p, sizeof p, "%s/test/%d.jpg", dir, k);
        snprintf(body, sizeof body, "test %d\n", k);
        put(p, body);
    }
}

static const char *plain_of(const event *e)
{
    return e ? json_string_value(json_object_get(e->json, "text/plain")) : NULL;
}

static void split_table(void)
{
    printf("# %%split: the table, the files, refusal\n");
    char dir[300], cmd[400], p[400];
    snprintf(dir, sizeof dir, "%s/a", root);
    competition(dir, 30, 24, 12);
    char *before = listing(dir);
    snprintf(cmd, sizeof cmd, "%%seed 3\n%%split %s valid=10 sample_train=6 sample_valid=4", dir);
    int rc = run(it, &f, cmd, 1);
    CHECK(rc == 0, "split succeeds: %s", err_value());
    const event *d = fake_find(&f, "display");
    const char *table = plain_of(d);
    CHECK(table != NULL, "the table is display_data with text/plain");
    /* the numbers in the table are the files on disk */
    const char *rows[] = { "train", "valid", "sample/train", "sample/valid" };
    long tot[4] = { 0 };
    for (int r = 0; r < 4; r++) {
        char want[200], cat[700], dog[700];
        snprintf(cat, sizeof cat, "%s/%s/cat", dir, rows[r]);
        snprintf(dog, sizeof dog, "%s/%s/dog", dir, rows[r]);
        long c = count_files(cat), g = count_files(dog);
        tot[r] = c + g;
        snprintf(want, sizeof want, "%-14s %10ld %10ld %10ld\n", rows[r], c, g, c + g);
        CHECK(table && strstr(table, want), "row %s: %ld cat + %ld dog", rows[r], c, g);
    }
    CHECK(tot[0] == 44 && tot[1] == 10 && tot[2] == 6 && tot[3] == 4,
          "44 train, 10 valid, 6 + 4 sample files");
    snprintf(p, sizeof p, "%s/test/unknown", dir);
    CHECK(count_files(p) == 12 && table && strstr(table, "test/unknown            -          -         12\n"),
          "12 test files in test/unknown");
    const char *html = d ? json_string_value(json_object_get(d->json, "text/html")) : NULL;
    CHECK(html && strstr(html, "<table") && strstr(html, "<th>cat</th><th>dog</th>")
          && strstr(html, "<td>44</td>") && strstr(html, "</table>"), "text/html twin is a table");
    char *out = fake_text(&f, "stdout");
    CHECK(out && strstr(out, "Moved 10 files to valid/"), "a line says what was done: %s", out ? out : "");
    free(out);
    snprintf(p, sizeof p, "%s/results", dir);
    CHECK(exists(p), "results/ made");
    snprintf(p, sizeof p, "%s/sample/results", dir);
    CHECK(exists(p), "sample/results/ made");
    snprintf(p, sizeof p, "%s/.deepnb-split.journal", dir);
    CHECK(!exists(p), "no journal left");

    /* nothing lost: the files of train/ and test/ are all there (sample copies added) */
    char *after = listing(dir);
    long lines_before = 0, lines_after = 0;
    for (char *c = before; c && *c; c++) lines_before += *c == '\n';
    for (char *c = after; c && *c; c++) lines_after += *c == '\n';
    CHECK(lines_before == 66 && lines_after == 76, "66 files before, 66 + 10 sample copies after (%ld)", lines_after);

    /* refusal: nothing touched */
    snprintf(cmd, sizeof cmd, "%%split %s", dir);
    rc = run(it, &f, cmd, 2);
    CHECK_STR(err_name(), "FileExistsError", "a split folder is refused");
    CHECK(strstr(err_value(), "looks split already") && strstr(err_value(), "valid/"),
          "the message names what exists: %s", err_value());
    char *again = listing(dir);
    CHECK(again && after && !strcmp(again, after), "files untouched by the refusal");
    free(before);
    free(after);
    free(again);
}

static void split_seed(void)
{
    printf("# %%split: the same %%seed, the same split\n");
    char a[300], b[300], c[300], cmd[700];
    snprintf(a, sizeof a, "%s/s1", root);
    snprintf(b, sizeof b, "%s/s2", root);
    snprintf(c, sizeof c, "%s/s3", root);
    competition(a, 40, 40, 5);
    competition(b, 40, 40, 5);
    competition(c, 40, 40, 5);
    snprintf(cmd, sizeof cmd, "%%seed 11\n%%split %s valid=20 sample_train=5 sample_valid=5", a);
    int rc1 = run(it, &f, cmd, 3);
    snprintf(cmd, sizeof cmd, "%%seed 11\n%%split %s valid=20 sample_train=5 sample_valid=5", b);
    int rc2 = run(it, &f, cmd, 4);
    snprintf(cmd, sizeof cmd, "%%seed 12\n%%split %s valid=20 sample_train=5 sample_valid=5", c);
    int rc3 = run(it, &f, cmd, 5);
    char *la = listing(a), *lb = listing(b), *lc = listing(c);
    CHECK(rc1 == 0 && rc2 == 0 && rc3 == 0, "three splits");
    CHECK(la && lb && !strcmp(la, lb), "same %%seed: the same files in the same places");
    CHECK(la && lc && strcmp(la, lc), "another %%seed: another split");
    free(la);
    free(lb);
    free(lc);
}

static void split_resume(void)
{
    printf("# %%split: stopped part-way, finished by running it again\n");
    char a[300], ref[300], cmd[700], p[400];
    snprintf(a, sizeof a, "%s/r1", root);
    snprintf(ref, sizeof ref, "%s/r2", root);
    competition(a, 50, 50, 10);
    competition(ref, 50, 50, 10);
    /* a file where results/ must go stops the split after it began (root ignores modes) */
    snprintf(p, sizeof p, "%s/results", a);
    put(p, "in the way\n");
    snprintf(cmd, sizeof cmd, "%%seed 21\n%%split %s valid=20 sample_train=8 sample_valid=4", a);
    int rc = run(it, &f, cmd, 6);
    CHECK(rc != 0, "the split fails part-way");
    CHECK_STR(err_name(), "OSError", "ename");
    CHECK(strstr(err_value(), "making results/") && strstr(err_value(), "Done so far")
          && strstr(err_value(), "finishes the job"),
          "the error says where, what was done, and that %%split again finishes: %s", err_value());
    snprintf(p, sizeof p, "%s/valid", a);
    CHECK(exists(p), "valid/ was made before the failure");
    snprintf(p, sizeof p, "%s/results", a);
    unlink(p);
    /* again, with other options: refused, the plan is kept */
    snprintf(cmd, sizeof cmd, "%%split %s valid=30", a);
    rc = run(it, &f, cmd, 7);
    CHECK(rc != 0 && strstr(err_value(), "unfinished split planned with valid=20"),
          "other options than the plan's are refused: %s", err_value());
    /* again, options left out: finished with the plan's options and seed */
    snprintf(cmd, sizeof cmd, "%%split %s", a);
    rc = run(it, &f, cmd, 8);
    char *out = fake_text(&f, "stdout");
    CHECK(rc == 0 && out && strstr(out, "Finishing the unfinished split"), "%%split again finishes: %s",
          rc ? err_value() : "");
    free(out);
    snprintf(cmd, sizeof cmd, "%%seed 21\n%%split %s valid=20 sample_train=8 sample_valid=4", ref);
    rc = run(it, &f, cmd, 9);
    char *la = listing(a), *lr = listing(ref);
    CHECK(rc == 0 && la && lr && !strcmp(la, lr), "exactly the split made in one go");
    free(la);
    free(lr);
}

/* Files the split has moved: those in train/ and valid/'s class folders and test/unknown/. */
static long moves_done(const char *dir)
{
    char cmd[900], unknown[400];
    snprintf(cmd, sizeof cmd, "find '%s/train' '%s/valid' -mindepth 2 -type f ! -name '.*' 2>/dev/null | wc -l",
             dir, dir);
    FILE *p = popen(cmd, "r");
    long n = -1;
    if (p) { if (fscanf(p, "%ld", &n) != 1) n = -1; pclose(p); }
    snprintf(unknown, sizeof unknown, "%s/test/unknown", dir);
    return n + count_files(unknown);
}

typedef struct watch { const char *folder; long at; int fired; } watch;

/* Interrupts once the split waits at the gate (DEEPNB_SPLIT_GATE, runtime/data/split.c):
 * when half of the moves are done and no more follow. */
static void *interrupt_at_gate(void *arg)
{
    watch *w = arg;
    double t0 = now_s();
    while (moves_done(w->folder) < w->at && now_s() - t0 < 30) {
        struct timespec ts = { 0, 10000000 };
        nanosleep(&ts, NULL);
    }
    struct timespec settle = { 0, 300000000 };
    nanosleep(&settle, NULL);
    w->fired = moves_done(w->folder) == w->at;
    it->ops->interrupt(it);
    return NULL;
}

static void split_interrupt(void)
{
    printf("# %%split: interrupted at the gate, then finished\n");
    char a[300], ref[300], cmd[700], journal[400], gate[400];
    snprintf(ref, sizeof ref, "%s/i2", root);
    competition(ref, 200, 200, 100);
    snprintf(a, sizeof a, "%s/i1", root);
    competition(a, 200, 200, 100);
    snprintf(journal, sizeof journal, "%s/.deepnb-split.journal", a);
    /* the gate is shut (no such file): the split pauses before move 250 of 500 */
    snprintf(gate, sizeof gate, "%s/gate", root);
    setenv("DEEPNB_SPLIT_GATE", gate, 1);
    watch w = { a, 250, 0 };
    run(it, &f, "%seed 8", 10);
    pthread_t th;
    pthread_create(&th, NULL, interrupt_at_gate, &w);
    snprintf(cmd, sizeof cmd, "%%split %s valid=100", a);
    int rc = run(it, &f, cmd, 11);
    pthread_join(th, NULL);
    put(gate, "open\n");
    CHECK(w.fired, "the split waited at the gate with 250 moves done");
    CHECK(rc != 0, "the split stops");
    CHECK_STR(err_name(), "KeyboardInterrupt", "ename");
    CHECK(strstr(err_value(), "interrupted at step") && strstr(err_value(), "finishes the job"),
          "says where it stopped: %.160s", err_value());
    CHECK(strstr(err_value(), "Done so far: 250 of 500 moves") != NULL,
          "stopped at the gate: %.300s", err_value());
    CHECK(exists(journal), "the plan is kept for the next run");
    char sample[400];
    snprintf(sample, sizeof sample, "%s/sample", a);
    /* sample copies made before the stop are extra; every other file is there once */
    long moved = count_files(a) - count_files(sample) - 500;
    CHECK(moved == 0, "no file lost or doubled while stopped (%ld extra)", moved);
    snprintf(cmd, sizeof cmd, "%%split %s", a);
    rc = run(it, &f, cmd, 12);
    CHECK(rc == 0 && !exists(journal), "running it again (gate open) finishes: %s", rc ? err_value() : "ok");
    unsetenv("DEEPNB_SPLIT_GATE");
    snprintf(cmd, sizeof cmd, "%%seed 8\n%%split %s valid=100", ref);
    rc = run(it, &f, cmd, 13);
    char *la = listing(a), *lr = listing(ref);
    CHECK(rc == 0 && la && lr && !strcmp(la, lr), "the same files in the same places as an uninterrupted split");
    free(la);
    free(lr);
}

static void split_errors(void)
{
    printf("# %%split: bad calls\n");
    char cmd[400], dir[300];
    snprintf(dir, sizeof dir, "%s/e", root);
    competition(dir, 5, 5, 1);
    char *before = listing(dir);
    struct { const char *args, *ename, *contains; } cases[] = {
        { "", "UsageError", "%split" },
        { " valid=-1", "UsageError", "valid must be a whole number from 0 up, not -1" },
        { " valid=1.5", "UsageError", "valid must be a whole number" },
        { " valid=20", "ValueError", "valid=20 would leave none to train on" },
        { " sample_train=100 valid=2", "ValueError", "sample_train=100" },
        { " vaild=2", "UsageError", "vaild" },
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        if (k) snprintf(cmd, sizeof cmd, "%%split %s%s", dir, cases[k].args);
        else snprintf(cmd, sizeof cmd, "%%split");
        int rc = run(it, &f, cmd, 20);
        CHECK(rc != 0 && err_name() && !strcmp(err_name(), cases[k].ename)
              && strstr(err_value(), cases[k].contains),
              "%s -> %s: %s", cmd, err_name() ? err_name() : "(none)", err_value());
    }
    snprintf(cmd, sizeof cmd, "%%split %s/nothere", root);
    run(it, &f, cmd, 21);
    CHECK_STR(err_name(), "FileNotFoundError", "a missing folder");
    snprintf(cmd, sizeof cmd, "%%split %s/e/train", root);
    run(it, &f, cmd, 22);
    CHECK(err_name() && !strcmp(err_name(), "FileNotFoundError") && strstr(err_value(), "training folder"),
          "a folder without train/: %s", err_value());
    char *after = listing(dir);
    char journal[400];
    snprintf(journal, sizeof journal, "%s/.deepnb-split.journal", dir);
    CHECK(before && after && !strcmp(before, after) && !exists(journal), "no bad call changed a file");
    free(before);
    free(after);
}

/* DIR/{cat,dog}/: 3 + 2 grey 8x8 PNGs, and a broken one */
static void image_folder(const char *dir)
{
    char p[400];
    mkdir(dir, 0755);
    snprintf(p, sizeof p, "%s/cat", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/dog", dir);
    mkdir(p, 0755);
    for (int k = 0; k < 5; k++) {
        snprintf(p, sizeof p, "%s/%s/%d.png", dir, k < 3 ? "cat" : "dog", k);
        CHECK(grey_png(p, 8, 8, 10 * k) == 0, "wrote %s", p);
    }
    snprintf(p, sizeof p, "%s/cat/broken.png", dir);
    put(p, "not a png\n");
}

static void batches(void)
{
    printf("# %%batches\n");
    dn_magics *m = (dn_magics *)it;
    while (dn_workspace_count(m->ws)) dn_workspace_remove(m->ws, dn_workspace_name_at(m->ws, 0, NULL, NULL));
    char dir[300], cmd[600];
    snprintf(dir, sizeof dir, "%s/img", root);
    image_folder(dir);
    snprintf(cmd, sizeof cmd, "%%batches tr %s size=8 batch_size=2 shuffle=False color=grayscale", dir);
    int rc = run(it, &f, cmd, 30);
    char *out = fake_text(&f, "stdout"), *err = fake_text(&f, "stderr");
    CHECK(rc == 0, "%%batches succeeds: %s", err_value());
    CHECK(out && !strcmp(out, "Found 5 images belonging to 2 classes.\n"
                              "Skipped 1 file that is not a readable image (see the warnings).\n"),
          "the Found line: %s", out ? out : "");
    CHECK(err && strstr(err, "Warning: skipped cat/broken.png"), "a warning names the skipped file: %s", err ? err : "");
    free(out);
    free(err);

    char msg[256];
    dn_batches *b = dn_batches_get(m->ws, "tr", msg, sizeof msg);
    CHECK(b != NULL, "tr is batches in the workspace");
    if (b) {
        dn_batch_source *s = dn_batches_source(b);
        dn_batch bt;
        char e[256];
        CHECK(s->ops->count(s) == 5 && s->ops->batches(s) == 3, "5 images in 3 batches");
        int got = s->ops->next(s, &bt, e, sizeof e);
        CHECK(got == 1 && bt.n == 2 && bt.x_shape[1] == 8 && bt.x_shape[2] == 8 && bt.x_shape[3] == 1,
              "a grayscale batch is (2, 8, 8, 1)");
        /* file order: cat/0.png first; pixels equal the PNG's bytes (no resize, no scaling) */
        int same = got == 1;
        for (int k = 0; same && k < 64; k++) same = bt.x[k] > k - 0.01f && bt.x[k] < k + 0.01f;
        for (int k = 0; same && k < 64; k++) same = bt.x[64 + k] > 10 + k - 0.01f && bt.x[64 + k] < 10 + k + 0.01f;
        CHECK(same, "pixels are the grey values of cat/0.png and cat/1.png");
        CHECK(got == 1 && bt.y_dim == 2 && bt.y[0] == 1 && bt.y[1] == 0, "one-hot label cat = [1, 0]");
        CHECK(dn_dir_source_label(dn_batches_dir(b), 4) == 1, "dog is class 1");
    }
    rc = run(it, &f, "%who", 31);
    out = fake_text(&f, "stdout");
    CHECK(out && strstr(out, "tr    batches  5 images, 2 classes, batch 2, 8x8 grayscale, in file order, from "),
          "%%who shows the batches: %s", out ? out : "");
    free(out);

    /* a failed %batches leaves NAME as it was */
    const char *bad[][2] = {
        { "%%batches tr %s/nothere", "FileNotFoundError" },
        { "%%batches tr %s/cat/0.png", "NotADirectoryError" },
        { "%%batches tr %s/cat", "ValueError" },           /* images, but no class folders */
        { "%%batches tr %s size=0", "UsageError" },
        { "%%batches tr %s size=(8, 8, 3)", "UsageError" },
        { "%%batches tr %s batch_size=0", "UsageError" },
        { "%%batches tr %s shuffle=1", "UsageError" },
        { "%%batches tr %s class_mode=binary", "UsageError" },
        { "%%batches tr %s preprocess=imagenet", "UsageError" },
        { "%%batches tr %s color=cmyk", "UsageError" },
        { "%%batches tr %s color=grayscale preprocess=vgg", "UsageError" },
        { "%%batches tr %s colour=rgb", "UsageError" },
        { "%%batches tr %s size=8 target_size=(8, 8)", "UsageError" },
        { "%%batches 'tr' %s", "UsageError" },
        { "%%batches tr", "UsageError" },
    };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        snprintf(cmd, sizeof cmd, bad[k][0], dir);
        rc = run(it, &f, cmd, 32);
        CHECK(rc != 0 && err_name() && !strcmp(err_name(), bad[k][1])
              && dn_batches_get(m->ws, "tr", msg, sizeof msg) == b && dn_workspace_count(m->ws) == 1,
              "%s -> %s: %s; tr unchanged", cmd, err_name() ? err_name() : "(none)", err_value());
    }
    /* a successful one replaces it; Keras' spellings work too */
    snprintf(cmd, sizeof cmd, "%%batches tr %s target_size=(6, 4) color_mode=rgb class_mode=None preprocess=scale", dir);
    rc = run(it, &f, cmd, 33);
    dn_batches *b2 = dn_batches_get(m->ws, "tr", msg, sizeof msg);
    CHECK(rc == 0 && b2 && b2 != b && dn_workspace_count(m->ws) == 1, "a new tr replaces the old");
    if (b2) {
        dn_batch_source *s = dn_batches_source(b2);
        dn_batch bt;
        char e[256];
        int got = s->ops->next(s, &bt, e, sizeof e);
        CHECK(got == 1 && bt.x_shape[1] == 6 && bt.x_shape[2] == 4 && bt.x_shape[3] == 3 && !bt.y && bt.y_dim == 0,
              "target_size=(height, width), RGB, no labels with class_mode=None");
        int in01 = got == 1;
        for (int k = 0; in01 && k < bt.n * 6 * 4 * 3; k++) in01 = bt.x[k] >= 0 && bt.x[k] <= 1;
        CHECK(in01, "preprocess=scale gives values in 0..1");
    }
    /* colour to grey with Pillow's weights: pure red is L = 0.299 * 255 (Pillow: 76) */
    char p[400];
    snprintf(p, sizeof p, "%s/rgb", root);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/rgb/red", root);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/rgb/red/0.png", root);
    unsigned char red[4 * 4 * 3];
    for (int k = 0; k < 16; k++) { red[3 * k] = 255; red[3 * k + 1] = 0; red[3 * k + 2] = 0; }
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    img.width = img.height = 4;
    img.format = PNG_FORMAT_RGB;
    CHECK(png_image_write_to_file(&img, p, 0, red, 0, NULL), "wrote a red PNG");
    snprintf(cmd, sizeof cmd, "%%batches grey %s/rgb size=4 color=grayscale", root);
    rc = run(it, &f, cmd, 35);
    dn_batches *bg = dn_batches_get(m->ws, "grey", msg, sizeof msg);
    if (bg) {
        dn_batch bt;
        char e[256];
        int got = dn_batches_source(bg)->ops->next(dn_batches_source(bg), &bt, e, sizeof e);
        int near = got == 1 && bt.x_shape[3] == 1;
        for (int k = 0; near && k < 16; k++) near = bt.x[k] > 75.5f && bt.x[k] < 76.5f;
        CHECK(near, "red becomes grey %.3f", got == 1 ? bt.x[0] : -1.0f);
    }
    CHECK(rc == 0 && bg, "grayscale batches of a colour image");
    run(it, &f, "%del grey", 36);

    /* shuffled batches take a seed: the same %seed, the same order */
    long first[2] = { -1, -2 };
    for (int r = 0; r < 2; r++) {
        snprintf(cmd, sizeof cmd, "%%seed 5\n%%batches sh %s size=8 batch_size=5", dir);
        run(it, &f, cmd, 34);
        dn_batches *bs = dn_batches_get(m->ws, "sh", msg, sizeof msg);
        dn_batch bt;
        char e[256];
        long order = 0;
        if (bs && dn_batches_source(bs)->ops->next(dn_batches_source(bs), &bt, e, sizeof e) == 1)
            for (int k = 0; k < bt.n; k++) order = order * 10 + bt.ids[k];
        first[r] = order;
    }
    CHECK(first[0] == first[1] && first[0] != 1234, "the same %%seed gives the same shuffled order (%ld)", first[0]);
}

static void completion(void)
{
    printf("# completion\n");
    char code[400];
    snprintf(code, sizeof code, "%%split %s/", root);
    json_t *r = it->ops->complete(it, code, (int)strlen(code));
    char want[400];
    snprintf(want, sizeof want, "%s/img/", root);
    int found = 0;
    json_t *mt = json_object_get(r, "matches");
    for (size_t k = 0; k < json_array_size(mt); k++) found |= !strcmp(json_string_value(json_array_get(mt, k)), want);
    CHECK(found, "%%split completes folders");
    json_decref(r);
    r = it->ops->complete(it, "%split data sample_", 19);
    char *got = json_dumps(json_object_get(r, "matches"), JSON_COMPACT);
    CHECK(got && !strcmp(got, "[\"sample_train=\",\"sample_valid=\"]"), "%%split keywords: %s", got ? got : "");
    free(got);
    json_decref(r);
    r = it->ops->complete(it, "%batches b data sh", 18);
    got = json_dumps(json_object_get(r, "matches"), JSON_COMPACT);
    CHECK(got && strstr(got, "\"shuffle=\""), "%%batches keywords: %s", got ? got : "");
    free(got);
    json_decref(r);
    r = it->ops->inspect(it, "%batches", 3, 0);
    const char *help = json_string_value(json_object_get(json_object_get(r, "data"), "text/plain"));
    CHECK(help && strstr(help, "flow_from_directory") && strstr(help, "color=rgb"), "%%batches help");
    json_decref(r);
}

int main(void)
{
    if (!(it = test_start(&f, root, sizeof root, "dn_datacmd"))) return 1;
    split_table();
    split_seed();
    split_resume();
    split_interrupt();
    split_errors();
    batches();
    completion();
    return test_finish(it, &f, root);
}
