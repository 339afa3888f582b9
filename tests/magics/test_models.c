/* test_models.c — the model, training and weight commands through the interpreter and a
 * fake sink, written from their help and the language's promise (not from cmd_models.c,
 * cmd_train.c, cmd_weights.c): %%model with every layer kind and %summary's counts, lesson
 * 2's linear model (%predict, %evaluate and one SGD step against hand computation, then
 * the fit that finds y = 2 x0 + 3 x1 + 1), a classifier with validation, %lr, %history,
 * %freeze/%trainable by which weights a fit moves, %pop/%add, weight files in both layouts
 * (round trips, by_name=), image batches from a made PNG folder (%predict with file names,
 * %finetune, %fit with save={epoch}, %evaluate), %activations, %device and VGG16's
 * parameter count. Meant for the ASan+UBSan build too: everything is freed at the end.
 *
 * Refusals: each runs in a process of its own (this program run again with --refuse N), so
 * that one that crashes fails alone and the others still run. The child builds the same
 * small workspace, runs the refusal, checks the error's name and words, that %who, every
 * model's %weights and the files under the test folder are as before, and that the
 * interpreter still answers; then it frees everything (LeakSanitizer looks at its exit). */
#include "array.h"
#include "check.h"
#include "internal.h"
#include "magics.h"
#include "text.h"

#include <math.h>
#include <png.h>
#include <spawn.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static dn_interp *it;
static fake f;
static char root[256];
static int count = 1;

static dn_workspace *ws(void) { return ((dn_magics *)it)->ws; }
static const char *err_name(void) { const event *e = fake_find(&f, "error"); return e ? e->name : NULL; }
static const char *err_value(void) { const event *e = fake_find(&f, "error"); return e ? e->text : ""; }

/* code with every {R} replaced by the test folder (caller frees) */
static char *expand(const char *code)
{
    dn_text t = { 0 };
    dn_text_adds(&t, "");
    for (const char *p = code; *p;) {
        if (!strncmp(p, "{R}", 3)) { dn_text_adds(&t, root); p += 3; }
        else { char c[2] = { *p++, 0 }; dn_text_adds(&t, c); }
    }
    return t.s;
}

static int go(const char *code)
{
    char *c = expand(code);
    int rc = run(it, &f, c, count++);
    free(c);
    return rc;
}

/* Every text/plain the cell displayed or returned, concatenated (caller frees). */
static char *shown(void)
{
    dn_text t = { 0 };
    dn_text_adds(&t, "");
    for (int k = 0; k < f.n; k++) {
        const event *e = &f.ev[k];
        if (strcmp(e->kind, "display") && strcmp(e->kind, "result")) continue;
        const char *s = json_string_value(json_object_get(e->json, "text/plain"));
        if (s) { dn_text_adds(&t, s); dn_text_adds(&t, "\n"); }
    }
    return t.s;
}

static const char *plain_of_result(void)
{
    const event *e = fake_find(&f, "result");
    return e ? json_string_value(json_object_get(e->json, "text/plain")) : NULL;
}

static const char *result_html(void)
{
    const event *e = fake_find(&f, "result");
    return e ? json_string_value(json_object_get(e->json, "text/html")) : NULL;
}

static int ok(const char *code)
{
    int rc = go(code);
    if (rc != 0) {
        CHECK(0, "%.70s: %s: %s", code, err_name() ? err_name() : "?", err_value());
    }
    return rc == 0;
}

/* stdout of code, which must succeed (caller frees) */
static char *out_of(const char *code)
{
    ok(code);
    return fake_text(&f, "stdout");
}

/* text/plain shown by code, which must succeed (caller frees) */
static char *shown_by(const char *code)
{
    ok(code);
    return shown();
}

static int has(const char *hay, const char *needle) { return hay && needle && strstr(hay, needle); }

/* whether %who's text has a line for name holding what */
static int who_line(const char *who, const char *name, const char *what)
{
    size_t n = strlen(name);
    for (const char *l = who; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        const char *end = strchr(l, '\n');
        size_t len = end ? (size_t)(end - l) : strlen(l);
        if (len > n && !strncmp(l, name, n) && l[n] == ' ') {
            char line[512];
            snprintf(line, sizeof line, "%.*s", (int)len, l);
            return strstr(line, what) != NULL;
        }
    }
    return 0;
}

/* The numbers of every array(...) in a text (numpy's repr), in order; returns how many. */
static int floats_in(const char *text, double *out, int max)
{
    int n = 0;
    const char *p = text;
    while (p && (p = strstr(p, "array(")) != NULL) {
        p += 6;
        const char *end = strstr(p, "dtype");
        const char *close = strchr(p, ')');
        if (!end || (close && close < end)) end = close;
        while (p < end && n < max) {
            if (strchr("-0123456789.", *p)) {
                char *e;
                double v = strtod(p, &e);
                if (e == p) { p++; continue; }
                out[n++] = v;
                p = e;
            } else p++;
        }
    }
    return n;
}

/* NAME's weights (of one layer when layer is not NULL) as %weights shows them. */
static int weights_of(const char *model, const char *layer, double *out, int max)
{
    char cmd[200];
    snprintf(cmd, sizeof cmd, "%%weights %s%s%s", model, layer ? " " : "", layer ? layer : "");
    char *s = shown_by(cmd);
    int n = floats_in(s, out, max);
    free(s);
    return n;
}

/* the whole %weights text of a model (what a refusal must not change); caller frees */
static char *weights_text(const char *model)
{
    char cmd[200];
    snprintf(cmd, sizeof cmd, "%%weights %s", model);
    go(cmd);
    return shown();
}

static const dn_array *get(const char *name)
{
    char e[256];
    return dn_array_get(ws(), name, e, sizeof e);
}

/* first number after <td> in the cell's HTML result (%evaluate's loss, 6 digits) */
static double first_td(void)
{
    const char *h = result_html();
    const char *p = h ? strstr(h, "<td>") : NULL;
    return p ? strtod(p + 4, NULL) : NAN;
}

static int file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* Every file under dir with its checksum, sorted (caller frees). */
static char *listing(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "cd '%s' && find . -type f -exec md5sum {} + | sort -k2", dir);
    FILE *p = popen(cmd, "r");
    if (!p) return NULL;
    dn_text t = { 0 };
    dn_text_adds(&t, "");
    char buf[4096];
    size_t r;
    while ((r = fread(buf, 1, sizeof buf - 1, p)) > 0) { buf[r] = 0; dn_text_adds(&t, buf); }
    pclose(p);
    return t.s;
}

static int png_file(const char *path, int w, int h, int channels, unsigned seed)
{
    unsigned char px[3 * 16 * 16];
    for (int k = 0; k < w * h * channels; k++) { seed = seed * 1103515245u + 12345u; px[k] = (unsigned char)(seed >> 16); }
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    img.width = (png_uint_32)w;
    img.height = (png_uint_32)h;
    img.format = channels == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
    return png_image_write_to_file(&img, path, 0, px, 0, NULL) ? 0 : -1;
}

static void make_folders(void)
{
    char p[600];
    const char *cls[] = { "ant", "bee" };
    snprintf(p, sizeof p, "%s/imgs", root); mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/rgb", root); mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/files", root); mkdir(p, 0755);
    for (int c = 0; c < 2; c++) {
        snprintf(p, sizeof p, "%s/imgs/%s", root, cls[c]); mkdir(p, 0755);
        snprintf(p, sizeof p, "%s/rgb/%s", root, cls[c]); mkdir(p, 0755);
        for (int i = 0; i < 5; i++) {
            snprintf(p, sizeof p, "%s/imgs/%s/%d.png", root, cls[c], i);
            png_file(p, 6, 6, 1, (unsigned)(17 * c + i + 1));
        }
        for (int i = 0; i < 2; i++) {
            snprintf(p, sizeof p, "%s/rgb/%s/%d.png", root, cls[c], i);
            png_file(p, 8, 8, 3, (unsigned)(99 * c + i + 1));
        }
    }
    snprintf(p, sizeof p, "%s/files/text.h5", root);
    FILE *fp = fopen(p, "w");
    if (fp) { fputs("not a weight file\n", fp); fclose(fp); }
}

/* ---------------------------------------------------------------- building */

static void building(void)
{
    printf("# %%%%model with every layer kind; %%summary's counts against the formula\n");
    ok("%%model s1\n"
       "# Keras 1 and 2 spellings\n"
       "Conv2D(4, (3, 3), padding='same', input_shape=(8, 8, 2)),\n"
       "BatchNormalization()\n"
       "Activation('relu')\n"
       "MaxPooling2D((2, 2))\n"
       "Convolution2D(3, 2, 2, border_mode='valid')\n"
       "Conv2D(5, (2, 2), strides=(2, 2))\n"
       "Flatten()\n"
       "Dropout(0.5)\n"
       "Dense(6, activation='relu', use_bias=False)\n"
       "Dense(2, activation='softmax', name='probs', trainable=False)");
    char *s = shown_by("%summary s1");
    const char *shapes[] = { "(None, 8, 8, 4)", "(None, 4, 4, 4)", "(None, 3, 3, 3)", "(None, 1, 1, 5)",
                             "(None, 5)", "(None, 6)", "(None, 2)" };
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
        CHECK(has(s, shapes[i]), "summary shows %s", shapes[i]);
    int total = (3 * 3 * 2 * 4 + 4) + 16 + (2 * 2 * 4 * 3 + 3) + (2 * 2 * 3 * 5 + 5) + 5 * 6 + (6 * 2 + 2);
    int frozen = 8 + (6 * 2 + 2);
    char want[120];
    snprintf(want, sizeof want, "Total params: %d", total);
    CHECK(has(s, want), "%s", want);
    snprintf(want, sizeof want, "Trainable params: %d", total - frozen);
    CHECK(has(s, want), "%s (BatchNormalization's moving statistics and the frozen layer are not)", want);
    snprintf(want, sizeof want, "Non-trainable params: %d", frozen);
    CHECK(has(s, want), "%s", want);
    CHECK(has(s, "probs (Dense)") && has(s, "conv2d_1 (Conv2D)") && has(s, "batch_normalization_1"), "layer names");
    free(s);
    ok("%%model s2\nInput((4,))\nDense(3)");
    s = shown_by("%summary s2");
    CHECK(has(s, "Total params: 15"), "Input((4,)) then Dense(3): 15 params");
    free(s);
    ok("%%model s2\nDense(3, input_dim=4)\nDense(1)");
    s = shown_by("s2");
    CHECK(has(s, "Total params: 19"), "a line that is only the model's name shows its summary");
    free(s);
    ok("%del s1 s2");
}

/* ---------------------------------------------------------------- lesson 2 */

static void linear(void)
{
    printf("# lesson 2's linear model against hand computation\n");
    ok("%seed 42\n%let x = random(30, 2)\n%let y = x @ [2., 3.] + 1.");
    ok("%%model lm\nDense(1, input_shape=(2,))");
    char *o = out_of("%who");
    CHECK(who_line(o, "lm", "Sequential, 1 layer, 3 params"), "%%who lists lm: %s", o);
    free(o);
    ok("%compile lm optimizer=SGD(lr=0.1) loss=mse");
    double w[3];
    CHECK(weights_of("lm", NULL, w, 3) == 3, "three weights");
    const dn_array *x = get("x"), *y = get("y");
    ok("%predict lm x as=p");
    const dn_array *p = get("p");
    int good = x && y && p && p->size == 30;
    double mse = 0, gk[2] = { 0, 0 }, gb = 0;
    for (int i = 0; good && i < 30; i++) {
        double want = x->data[2 * i] * w[0] + x->data[2 * i + 1] * w[1] + w[2];
        if (fabs(p->data[i] - want) > 1e-5 * (1 + fabs(want))) good = 0;
        double r = want - y->data[i];
        mse += r * r / 30;
        gk[0] += 2 * r * x->data[2 * i] / 30;
        gk[1] += 2 * r * x->data[2 * i + 1] / 30;
        gb += 2 * r / 30;
    }
    CHECK(good, "%%predict = x @ kernel + bias");
    ok("%evaluate lm x y");
    double loss = first_td();
    CHECK(fabs(loss - mse) < 1e-5 + 1e-4 * mse, "%%evaluate's loss %g = mean squared error %g", loss, mse);
    /* one step on the whole batch: w - lr * gradient */
    ok("%fit lm x y batch_size=30 shuffle=False verbose=0");
    double w1[3];
    weights_of("lm", NULL, w1, 3);
    CHECK(fabs(w1[0] - (w[0] - 0.1 * gk[0])) < 1e-5 && fabs(w1[1] - (w[1] - 0.1 * gk[1])) < 1e-5
          && fabs(w1[2] - (w[2] - 0.1 * gb)) < 1e-5, "one SGD step: [%g %g %g] from [%g %g %g]",
          w1[0], w1[1], w1[2], w[0], w[1], w[2]);
    /* %lr shows and changes; the next step uses it */
    o = out_of("%lr lm");
    CHECK(has(o, "0.1"), "%%lr shows 0.1: %s", o);
    free(o);
    o = out_of("%lr lm 0.2");
    CHECK(has(o, "0.2"), "%%lr lm 0.2: %s", o);
    free(o);
    ok("%fit lm x y epochs=20 batch_size=1 verbose=0");
    weights_of("lm", NULL, w, 3);
    CHECK(fabs(w[0] - 2) < 0.1 && fabs(w[1] - 3) < 0.1 && fabs(w[2] - 1) < 0.1,
          "the fit finds y = 2 x0 + 3 x1 + 1: [%g %g] %g", w[0], w[1], w[2]);
    char *h = shown_by("%history lm");
    CHECK(has(h, "   21    2") && has(h, "    1    1") && has(h, "0.2"), "%%history: 21 epochs of 2 fits, lr 0.2");
    free(h);
    o = out_of("%who");
    CHECK(who_line(o, "lm", "trained 21 epochs"), "%%who: %s", o);
    free(o);
    h = shown_by("%activations lm x n=2");
    double a[8];
    int n = floats_in(h, a, 8);
    CHECK(n == 6 && fabs(a[0] - x->data[0]) < 1e-6 && fabs(a[4] - (x->data[0] * w[0] + x->data[1] * w[1] + w[2])) < 1e-4,
          "%%activations: 2 inputs and their outputs (%d numbers)", n);
    free(h);
    ok("%del p");
}

static void classifier(void)
{
    printf("# a classifier: cross-entropy, accuracy, validation, %%history\n");
    ok("%let yoh = one_hot(argmax(x), 2)\n%let vx = random(8, 2)\n%let vy = one_hot(argmax(vx), 2)");
    ok("%%model clf\nDense(4, activation='relu', input_shape=(2,))\nDense(2, activation='softmax', name='out')");
    ok("%compile clf optimizer=Adam(lr=0.05) loss=categorical_crossentropy metrics=accuracy");
    ok("%predict clf x as=cp");
    const dn_array *p = get("cp"), *y = get("yoh");
    double ce = 0;
    int right = 0, sums = p && y && p->size == 60;
    for (int i = 0; sums && i < 30; i++) {
        double q = y->data[2 * i] > 0.5 ? p->data[2 * i] : p->data[2 * i + 1];
        ce -= log(q) / 30;
        right += (p->data[2 * i] > p->data[2 * i + 1]) == (y->data[2 * i] > 0.5);
        if (fabs(p->data[2 * i] + p->data[2 * i + 1] - 1) > 1e-5) sums = 0;
    }
    CHECK(sums, "%%predict: 30 rows of 2 probabilities summing to 1");
    ok("%evaluate clf x yoh");
    CHECK(fabs(first_td() - ce) < 1e-5 + 1e-4 * ce, "%%evaluate's loss %g = cross-entropy %g", first_td(), ce);
    const char *res = plain_of_result();
    char acc[40];
    snprintf(acc, sizeof acc, "acc: %.4f", right / 30.0);
    CHECK(has(res, acc), "%s in '%s'", acc, res ? res : "");
    ok("%fit clf x yoh epochs=3 validation=(vx, vy) verbose=0");
    char *h = shown_by("%history clf");
    CHECK(has(h, "val_loss") && has(h, "val_acc") && has(h, "    3    1"), "history with validation: %s", h);
    free(h);
    ok("%del cp vx vy");
}

/* ---------------------------------------------------------------- freezing */

static void freezing(void)
{
    printf("# %%freeze / %%trainable decide which weights a fit moves\n");
    ok("%%model z\nDense(3, input_shape=(2,), name='first')\nDense(2, name='mid')\nDense(1, name='last')");
    ok("%compile z optimizer=SGD(lr=0.1) loss=mse");
    const char *layers[] = { "first", "mid", "last" };
    struct { const char *cmd; int moves[3]; } steps[] = {
        { "%freeze z upto=mid", { 0, 1, 1 } },
        { "%freeze z", { 0, 0, 0 } },
        { "%trainable z from=-1", { 0, 0, 1 } },
        { "%trainable z from=1", { 0, 1, 1 } },
        { "%trainable z", { 1, 1, 1 } },
        { "%freeze z upto=2", { 0, 0, 1 } },
    };
    for (size_t s = 0; s < sizeof steps / sizeof *steps; s++) {
        ok(steps[s].cmd);
        char *before[3];
        for (int l = 0; l < 3; l++) { char c[60]; snprintf(c, sizeof c, "%%weights z %s", layers[l]); go(c); before[l] = shown(); }
        ok("%fit z x y batch_size=30 verbose=0");
        for (int l = 0; l < 3; l++) {
            char c[60];
            snprintf(c, sizeof c, "%%weights z %s", layers[l]);
            go(c);
            char *after = shown();
            int moved = strcmp(before[l], after) != 0;
            CHECK(moved == steps[s].moves[l], "after %s, %s %s", steps[s].cmd, layers[l], moved ? "moved" : "stayed");
            free(after);
            free(before[l]);
        }
    }
    char *s = shown_by("%summary z");
    CHECK(has(s, "Trainable params: 3") && has(s, "Non-trainable params: 17") && has(s, "Trainable"), "summary counts frozen layers");
    free(s);
    ok("%del z");
}

/* ---------------------------------------------------------------- %pop and %add */

static void pop_add(void)
{
    printf("# %%pop and %%add\n");
    ok("%%model a\nDense(4, activation='relu', input_shape=(2,))\nDense(2, activation='softmax')");
    ok("%compile a optimizer=sgd loss=categorical_crossentropy");
    ok("%pop a");
    char *s = shown_by("%summary a");
    CHECK(has(s, "(None, 4)") && !has(s, "dense_2") && has(s, "Total params: 12"), "popped: %s", s);
    free(s);
    /* the loss no longer fits the relu output: refused, with what to change */
    ok("%let y4 = one_hot(argmax(x), 4)");
    go("%fit a x y4");
    CHECK(err_name() && !strcmp(err_name(), "ValueError") && has(err_value(), "softmax"), "CE on relu after %%pop: %s", err_value());
    ok("%add a Dense(3, activation='softmax', name='head')");
    s = shown_by("%summary a");
    CHECK(has(s, "head (Dense)") && has(s, "(None, 3)") && has(s, "Total params: 27"), "added: %s", s);
    free(s);
    ok("%let y3 = one_hot(argmax(x), 3)");
    char *before = weights_text("a");
    ok("%fit a x y3 verbose=0");
    char *after = weights_text("a");
    CHECK(strcmp(before, after) != 0, "the added layer trains without recompiling");
    free(before);
    free(after);
    ok("%pop a\n%pop a");
    char *o = out_of("%who a");
    free(o);
    go("%pop a");
    CHECK(err_name() && !strcmp(err_name(), "IndexError"), "%%pop of an empty model: %s", err_value());
    ok("%add a Dense(5)");
    ok("%predict a x as=ap");
    CHECK(get("ap") && get("ap")->ndim == 2 && get("ap")->shape[1] == 5, "an emptied model keeps its input shape");
    ok("%del a ap y3 y4");
}

/* ---------------------------------------------------------------- weight files */

static void weight_files(void)
{
    printf("# %%save_weights / %%load_weights\n");
    ok("%%model r\nDense(3, activation='relu', input_shape=(2,))\nBatchNormalization()\nDense(2, name='top')");
    ok("%compile r optimizer=SGD(lr=0.1) loss=mse\n%let ry = zeros((30, 2))");
    const char *names[] = { "{R}/files/r.h5", "{R}/files/r.weights.h5" };
    for (int k = 0; k < 2; k++) {
        char *w0 = weights_text("r");
        char cmd[300];
        snprintf(cmd, sizeof cmd, "%%save_weights r %s", names[k]);
        char *o = out_of(cmd);
        CHECK(has(o, "Saved"), "%s", o);
        free(o);
        ok("%fit r x ry verbose=0");
        char *w1 = weights_text("r");
        CHECK(strcmp(w0, w1) != 0, "the fit changed the weights");
        snprintf(cmd, sizeof cmd, "%%load_weights r %s", names[k]);
        ok(cmd);
        char *w2 = weights_text("r");
        CHECK(!strcmp(w0, w2), "%s loads back what was saved", names[k]);
        free(w0);
        free(w1);
        free(w2);
    }
    /* by_name: only the layers the file names */
    ok("%%model r2\nDense(3, activation='relu', input_shape=(2,), name='other')\nBatchNormalization()\nDense(2, name='top')");
    char *own = weights_text("r2");
    ok("%load_weights r2 {R}/files/r.h5 by_name=True");
    char *got = weights_text("r2");
    double a[64], b[64], c[64];
    int na = weights_of("r", "top", a, 64), nb = weights_of("r2", "top", b, 64), nc = weights_of("r2", "other", c, 64);
    double o2[64];
    int no = floats_in(own, o2, 64);
    CHECK(na == 8 && nb == 8 && !memcmp(a, b, sizeof(double) * 8) && no >= 9 && nc == 9 && !memcmp(o2, c, sizeof(double) * 9)
          && strcmp(own, got) != 0, "by_name=True loads top, leaves other");
    free(own);
    free(got);
    /* a file whose second layer does not fit: nothing loads */
    ok("%%model r3\nDense(3, input_shape=(2,))\nDense(4)");
    ok("%save_weights r3 {R}/files/r3.h5");
    ok("%%model r4\nDense(3, input_shape=(2,))\nDense(2)");
    char *before = weights_text("r4");
    go("%load_weights r4 {R}/files/r3.h5");
    CHECK(err_name() && !strcmp(err_name(), "ValueError") && has(err_value(), "dense_2") && has(err_value(), "(3, 4)")
          && has(err_value(), "(3, 2)"), "the error names the layer and both shapes: %s", err_value());
    char *after = weights_text("r4");
    CHECK(!strcmp(before, after), "no layer changed");
    free(before);
    free(after);
    ok("%del r r2 r3 r4 ry");
}

/* ---------------------------------------------------------------- image batches */

static void images(void)
{
    printf("# image batches: %%predict, %%finetune, %%fit save={epoch}, %%evaluate\n");
    ok("%seed 5\n%batches b {R}/imgs size=6 color=grayscale preprocess=scale shuffle=False batch_size=4\n"
       "%batches bs {R}/imgs size=6 color=grayscale preprocess=scale batch_size=4");
    ok("%%model cnn\nConv2D(2, (3, 3), activation='relu', input_shape=(6, 6, 1))\nMaxPooling2D((2, 2))\nFlatten()\n"
       "Dense(3, activation='softmax')");
    char *s = shown_by("%summary cnn");
    CHECK(has(s, "(None, 4, 4, 2)") && has(s, "(None, 2, 2, 2)") && has(s, "(None, 8)") && has(s, "Total params: 47"),
          "cnn summary");
    free(s);
    go("%predict cnn bs");
    CHECK(err_name() && !strcmp(err_name(), "ValueError") && has(err_value(), "shuffle=False"), "shuffled source refused: %s", err_value());
    char *o = out_of("%finetune cnn b");
    CHECK(has(o, "ant") && has(o, "bee"), "%%finetune names the classes: %s", o);
    free(o);
    s = shown_by("%summary cnn");
    CHECK(has(s, "Trainable params: 18") && has(s, "Non-trainable params: 20"), "finetuned: only the new Dense(2) trains");
    free(s);
    o = out_of("%lr cnn");
    CHECK(has(o, "0.001") && has(o, "Adam"), "compiled with Adam(lr=0.001): %s", o);
    free(o);
    double conv0[32], conv1[32];
    int n0 = weights_of("cnn", "0", conv0, 32);
    ok("%fit cnn b epochs=2 save={R}/files/ft{epoch}.h5 verbose=0");
    int n1 = weights_of("cnn", "0", conv1, 32);
    CHECK(n0 == 20 && n1 == 20 && !memcmp(conv0, conv1, sizeof(double) * 20), "the frozen convolution stayed");
    char p1[600], p2[600];
    snprintf(p1, sizeof p1, "%s/files/ft1.h5", root);
    snprintf(p2, sizeof p2, "%s/files/ft2.h5", root);
    CHECK(file_exists(p1) && file_exists(p2), "save={epoch} wrote ft1.h5 and ft2.h5");
    ok("%fit cnn bs b verbose=0");
    char *h = shown_by("%history cnn");
    CHECK(has(h, "    3    2") && has(h, "val_loss"), "third epoch, second fit, validated");
    free(h);
    ok("%evaluate cnn b");
    double loss = first_td();
    ok("%predict cnn b as=pr");
    const dn_array *p = get("pr");
    ok("%let lab = b.labels");
    const dn_array *l = get("lab");
    double ce = 0;
    for (int i = 0; p && l && i < 10; i++) ce -= log(l->data[2 * i] > 0.5 ? p->data[2 * i] : p->data[2 * i + 1]) / 10;
    CHECK(p && p->size == 20 && fabs(loss - ce) < 1e-5 + 1e-4 * ce, "%%evaluate on batches %g = cross-entropy of %%predict %g", loss, ce);
    ok("%let fn = pr.filenames\n%let cn = pr.class_names");
    go("fn[5]");
    const char *r = plain_of_result();
    CHECK(r && !strcmp(r, "'bee/0.png'"), "predictions know their files: %s", r ? r : err_value());
    go("cn");
    r = plain_of_result();
    CHECK(has(r, "'ant', 'bee'"), "and the class names: %s", r ? r : err_value());
    /* what the models and predictions keep must outlive the batches they came from */
    ok("%batches b2 {R}/imgs size=6 color=grayscale preprocess=scale shuffle=False");
    ok("%%model m2\nConv2D(2, (3, 3), input_shape=(6, 6, 1))\nFlatten()\nDense(3, activation='softmax')");
    ok("%finetune m2 b2\n%predict m2 b2 as=p2");
    ok("%del b2");
    ok("%summary m2\n%who\n%let cn2 = p2.class_names\n%let fn2 = p2.filenames");
    go("cn2");
    r = plain_of_result();
    CHECK(has(r, "'ant', 'bee'"), "class names outlive their batches: %s", r ? r : err_value());
    ok("%batches b2 {R}/imgs size=6 color=grayscale preprocess=scale shuffle=False");
    ok("%predict m2 b2 as=b2");     /* the source itself replaced by its predictions */
    go("b2.filenames[0]");
    r = plain_of_result();
    CHECK(r && !strcmp(r, "'ant/0.png'"), "predictions named as their source: %s", r ? r : err_value());
    ok("%fit m2 b verbose=0");
    ok("%predict m2 b as=m2");      /* the model replaced by its own predictions */
    char *w = out_of("%who");
    CHECK(who_line(w, "m2", "predictions"), "m2 is predictions now: %s", w);
    free(w);
    ok("%del b bs cnn pr lab fn cn m2 p2 cn2 fn2 b2");
}

/* ---------------------------------------------------------------- VGG16, %device */

static void vgg_device(void)
{
    printf("# %%model vgg16, %%device\n");
    ok("%model v vgg16 classes=2 dropout=False");
    long conv[13][2] = { { 3, 64 }, { 64, 64 }, { 64, 128 }, { 128, 128 }, { 128, 256 }, { 256, 256 }, { 256, 256 },
                         { 256, 512 }, { 512, 512 }, { 512, 512 }, { 512, 512 }, { 512, 512 }, { 512, 512 } };
    long total = 0;
    for (int i = 0; i < 13; i++) total += 9 * conv[i][0] * conv[i][1] + conv[i][1];
    total += 25088L * 4096 + 4096 + 4096L * 4096 + 4096 + 4096 * 2 + 2;
    char *s = shown_by("%summary v");
    char want[80];
    snprintf(want, sizeof want, "Total params: %ld,%03ld,%03ld", total / 1000000, total / 1000 % 1000, total % 1000);
    CHECK(has(s, want) && has(s, "block5_conv3") && has(s, "(None, 7, 7, 512)") && has(s, "fc2"), "VGG16: %s", want);
    free(s);
    ok("%del v");
    char *o = out_of("%device");
    CHECK(has(o, "CPU"), "%%device: %s", o);
    int no_gpu = has(o, "GPU") && (has(o, "no GPU") || has(o, "no usable GPU") || has(o, "without CUDA"));
    free(o);
    ok("%device cpu");
    if (no_gpu) {
        go("%device gpu");
        CHECK(err_name() && has(err_value(), "GPU"), "%%device gpu without a GPU says why: %s", err_value());
    }
}

/* ---------------------------------------------------------------- refusals */

typedef struct refusal {
    const char *code;
    const char *ename;      /* one name, or several separated by | */
    const char *words[4];
} refusal;

static const refusal R[] = {
    { "%%model", "UsageError", { "argument" } },
    { "%%model e", "ValueError", { "no layers" } },
    { "%%model e\nDens(1, input_shape=(2,))", "ValueError|NameError", { "Did you mean", "Dense" } },
    { "%%model e\nDense(1, input_shape=(2,), activaton='relu')", "ValueError|TypeError", { "'activation'" } },
    { "%%model e\nDense(1, input_shape=(2,), activation='rleu')", "ValueError", { "rleu", "relu" } },
    { "%%model e\nDense(1)", "ValueError", { "input_shape" } },
    { "%%model e\nConv2D(2, (3, 3), input_shape=(5,))", "ValueError", { "Conv2D" } },
    { "%%model e\nConv2D(2, (5, 5), input_shape=(3, 3, 1))", "ValueError", { "(5, 5)" } },
    { "%%model e\nConv2D(2, (2, 2), input_shape=(3, 3, 1))\nMaxPooling2D((4, 4))", "ValueError", { "MaxPooling2D" } },
    { "%%model e\nDense(2, input_shape=(2,), name='d')\nDense(2, name='d')", "ValueError", { "'d'" } },
    { "%%model e\nDense(0, input_shape=(2,))", "ValueError", { "units" } },
    { "%%model e\nDense(2, input_shape=(2,)", "SyntaxError", { "unclosed" } },
    { "%%model lm\nDense(3, input_shape=(2,))\nDens(1)", "ValueError|NameError", { "Dens" } },
    { "%model lm vgg16 weights={R}/files/nosuch.h5", "FileNotFoundError", { "nosuch.h5" } },
    { "%model lm vgg16 weights={R}/files/text.h5", "ValueError", { "text.h5" } },
    { "%model v vgg61", "ValueError|NameError", { "vgg61", "vgg16" } },
    { "%compile raw optimizer=SGD(lr=0.1) loss=categorical_crossentropy", "ValueError", { "softmax" } },
    { "%compile raw optimizer=sgd loss=binary_crossentropy", "ValueError", { "sigmoid" } },
    { "%compile raw optimizer=adma loss=mse", "ValueError|UsageError|NameError", { "adma", "Did you mean" } },
    { "%compile raw optimizer=sgd loss=mae", "ValueError|UsageError|NameError", { "mae", "mse" } },
    { "%compile raw optimizer=sgd", "UsageError", { "loss=" } },
    { "%compile rw optimizer=sgd loss=mse", "NameError", { "Did you mean", "'raw'" } },
    { "%compile x optimizer=sgd loss=mse", "TypeError", { "not a model" } },
    { "%summary lmm", "NameError", { "Did you mean", "'lm'" } },
    { "%finetune cnn x", "TypeError", { "batches" } },
    { "%finetune cnn bn", "ValueError", { "labels" } },
    { "%finetune cnn rgb", "ValueError", { "(None, 6, 6, 1)", "(None, 8, 8, 3)" } },
    { "%pop empty", "IndexError", { "no layers" } },
    { "%add lm Dens(2)", "ValueError|NameError", { "Dense" } },
    { "%add lm Conv2D(2, (3, 3))", "ValueError", { "Conv2D", "(None, 1)" } },
    { "%add lm Dense(2, activation='rleu')", "ValueError", { "rleu" } },
    { "%add lm Dense(2, input_shape=(5,))", "ValueError", { "input_shape" } },
    { "%trainable clf from=5", "IndexError", { "5" } },
    { "%trainable clf from=ot", "ValueError|NameError", { "Did you mean", "'out'" } },
    { "%freeze clf upto=nosuch", "ValueError|NameError", { "nosuch" } },
    { "%lr raw 0.1", "ValueError", { "%compile" } },
    { "%lr lm -0.1", "UsageError", { "-0.1" } },
    { "%fit raw x y", "ValueError", { "not compiled" } },
    { "%fit lm x3 y", "ValueError", { "(None, 2)", "(30, 3)" } },
    { "%fit lm x y2", "ValueError", { "(30, 2)" } },
    { "%fit clf x y", "ValueError", { "one_hot" } },
    { "%fit lm x y epochs=0", "UsageError", { "epochs" } },
    { "%fit lm x y validation=(x3, y) save={R}/files/w{epoch}.h5", "ValueError", { "(30, 3)" } },
    { "%fit lm x y save={R}/nosuch/w{epoch}.h5", "FileNotFoundError", { "nosuch" } },
    { "%fit cnn rgb", "ValueError", { "(None, 8, 8, 3)" } },
    { "%fit cnn b batch_size=2", "UsageError", { "batch_size" } },
    { "%evaluate raw x y", "ValueError", { "%compile" } },
    { "%evaluate lm x3 y", "ValueError", { "(30, 3)" } },
    { "%predict cnn bs", "ValueError", { "shuffle=False" } },
    { "%predict lm x3", "ValueError", { "(30, 3)" } },
    { "%save_weights lm {R}/nosuch/w.h5", "FileNotFoundError", { "nosuch" } },
    { "%save_weights x {R}/files/lm.h5", "TypeError", { "not a model" } },
    { "%load_weights lm {R}/files/nosuch.h5", "FileNotFoundError", { "nosuch.h5" } },
    { "%load_weights lm {R}/files/text.h5", "ValueError", { "text.h5" } },
    { "%load_weights lm {R}/files/clf.h5", "ValueError", { "clf.h5" } },
    { "%load_weights raw {R}/files/clf.h5 by_name=True", "ValueError", { "dense_1", "(2, 4)", "(2, 1)" } },
    { "%weights lm 5", "IndexError", { "5" } },
    { "%weights clf ot", "ValueError|NameError", { "Did you mean", "'out'" } },
    { "%activations lm x3", "ValueError", { "(30, 3)" } },
    { "%activations lm nosuch", "NameError", { "nosuch" } },
    { "%fit lm x nosuch", "NameError", { "nosuch" } },
    { "%finetune cnn nosuch", "NameError", { "nosuch" } },
    { "%%model e\nMaxPooling2D((2, 2), input_shape=(4,))", "ValueError", { "MaxPooling2D" } },
    { "%%model e\nConv2D(2, (3, 3), padding='foo', input_shape=(4, 4, 1))", "ValueError", { "foo" } },
    { "%compile raw optimizer=Adam(beta_1=1.5) loss=mse", "UsageError|ValueError", { "beta_1" } },
    { "%history x", "TypeError", { "not a model" } },
    { "%device tpu", "UsageError", { "cpu" } },
};
#define NR ((int)(sizeof R / sizeof *R))

static const char *const WORLD[] = {
    "%seed 7\n%let x = random(30, 2)\n%let y = x @ [2., 3.] + 1.\n%let x3 = random(30, 3)\n"
    "%let y2 = zeros((30, 2))",
    "%%model lm\nDense(1, input_shape=(2,))",
    "%%model raw\nDense(1, input_shape=(2,))",
    "%%model clf\nDense(4, activation='relu', input_shape=(2,))\nDense(2, activation='softmax', name='out')",
    "%%model cnn\nConv2D(2, (3, 3), activation='relu', input_shape=(6, 6, 1))\nMaxPooling2D((2, 2))\nFlatten()\n"
    "Dense(2, activation='softmax')",
    "%%model empty\nDense(1, input_shape=(2,))",
    "%pop empty\n%compile lm optimizer=SGD(lr=0.1) loss=mse\n"
    "%compile clf optimizer=adam loss=categorical_crossentropy metrics=accuracy\n"
    "%compile cnn optimizer=sgd loss=categorical_crossentropy metrics=accuracy\n"
    "%batches b {R}/imgs size=6 color=grayscale preprocess=scale shuffle=False batch_size=4\n"
    "%batches bs {R}/imgs size=6 color=grayscale preprocess=scale batch_size=4\n"
    "%batches bn {R}/imgs size=6 color=grayscale preprocess=scale shuffle=False class_mode=None\n"
    "%batches rgb {R}/rgb size=8 shuffle=False\n"
    "%save_weights lm {R}/files/lm.h5\n%save_weights clf {R}/files/clf.h5",
};

/* what a refusal must leave as it was (caller frees) */
static char *state(void)
{
    dn_text t = { 0 };
    dn_text_adds(&t, "");
    go("%who");
    char *w = fake_text(&f, "stdout");
    dn_text_adds(&t, w ? w : "");
    free(w);
    const char *models[] = { "lm", "raw", "clf", "cnn" };
    for (int m = 0; m < 4; m++) {
        char *s = weights_text(models[m]);
        dn_text_adds(&t, s);
        free(s);
    }
    char *files = listing(root);
    dn_text_adds(&t, files ? files : "");
    free(files);
    return t.s;
}

static int ename_in(const char *got, const char *list)
{
    if (!got) return 0;
    size_t n = strlen(got);
    for (const char *p = list; p && *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && !strncmp(p, got, n)) return 1;
        p = bar ? bar + 1 : NULL;
    }
    return 0;
}

/* the child: world, one refusal, checks; returns the exit status */
static int refuse_one(int i)
{
    for (size_t c = 0; c < sizeof WORLD / sizeof *WORLD; c++)
        if (!ok(WORLD[c])) return 2;
    char *before = state();
    const refusal *r = &R[i];
    int rc = go(r->code);
    const char *en = err_name();
    char *ev = strdup(err_value());
    int good = rc != 0 && ename_in(en, r->ename);
    for (int w = 0; w < 4 && r->words[w]; w++)
        if (!strstr(ev, r->words[w])) good = 0;
    CHECK(good, "refused with %s: %s", en ? en : "(no error)", ev);
    if (!good) {
        printf("      wanted %s with", r->ename);
        for (int w = 0; w < 4 && r->words[w]; w++) printf(" '%s'", r->words[w]);
        printf("\n");
    }
    free(ev);
    char *after = state();
    CHECK(!strcmp(before, after), "%%who, every model's weights and the files are as before");
    if (strcmp(before, after)) printf("      before:\n%s\n      after:\n%s\n", before, after);
    free(before);
    free(after);
    CHECK(go("%pwd") == 0, "the interpreter still answers");
    return check_failures ? 1 : 0;
}

static void refusals(const char *self)
{
    printf("# refusals, each in a process of its own\n");
    for (int i = 0; i < NR; i++) {
        char idx[16];
        snprintf(idx, sizeof idx, "%d", i);
        char *argv[] = { (char *)self, (char *)"--refuse", idx, root, NULL };
        fflush(stdout);
        pid_t pid;
        int st = -1;
        if (posix_spawn(&pid, self, NULL, NULL, argv, environ) != 0 || waitpid(pid, &st, 0) != pid) st = -1;
        char what[120];
        snprintf(what, sizeof what, "%s", R[i].code);
        for (char *p = what; *p; p++) if (*p == '\n') *p = '|';
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0) CHECK(1, "refusal %d: %s", i, what);
        else if (WIFSIGNALED(st)) CHECK(0, "refusal %d: %s: the process died of signal %d", i, what, WTERMSIG(st));
        else CHECK(0, "refusal %d: %s: exit status %d (a failed check above, or a sanitizer report)", i, what,
                   WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    }
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv)
{
    char err[256];
    int child = argc == 4 && !strcmp(argv[1], "--refuse");
    if (child) snprintf(root, sizeof root, "%s", argv[3]);
    it = dn_magics_new(err, sizeof err);
    if (!it) { printf("FAIL - dn_magics_new: %s\n", err); return 1; }
    fake_reset(&f);
    int status;
    if (child) {
        printf("  [refusal %s in process %d]\n", argv[2], (int)getpid());
        status = refuse_one(atoi(argv[2]));
    } else {
        snprintf(root, sizeof root, "/tmp/dn_models_XXXXXX");
        if (!mkdtemp(root)) { printf("FAIL - mkdtemp\n"); return 1; }
        make_folders();
        building();
        linear();
        classifier();
        freezing();
        pop_add();
        weight_files();
        images();
        vgg_device();
        ok("%del x y yoh lm clf");
        char *o = out_of("%who");
        CHECK(has(o, "empty"), "the workspace is empty again: %s", o);
        free(o);
        /* the refusals see a test folder of their own */
        char cmd[1024];
        snprintf(cmd, sizeof cmd, "rm -rf '%s/files' && mkdir '%s/files' && echo 'not a weight file' > '%s/files/text.h5'",
                 root, root, root);
        if (system(cmd) != 0) printf("(could not reset %s/files)\n", root);
        refusals("/proc/self/exe");
        status = check_failures ? 1 : 0;
    }
    it->ops->shutdown(it, 0);
    it->ops->free(it);
    fake_reset(&f);
    if (!child) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
        if (system(cmd) != 0) printf("(could not remove %s)\n", root);
        printf("%s\n", check_failures ? "FAILED" : "all passed");
    }
    return status;
}
