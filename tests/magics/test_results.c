/* test_results.c — the results commands (cmd_results.c) and their drawing (draw.c)
 * through the interpreter and a fake sink, so that they also run under ASan and UBSan:
 *
 * - draw.c: base64 against RFC 4648's vectors; matplotlib's Blues at its stops; a grid
 *   whose tiles hold exactly the pixels given, at the rectangles it reports; a matrix
 *   whose cells are coloured by value with white text on dark cells and dark text on
 *   light ones; a chart with a missing value; sizes too large refused;
 * - the commands on predictions made here with known probabilities and real PNG files:
 *   each view picks the rows an independent reading of the numbers picks (ties by row),
 *   the PNG has the size its metadata says, the same %seed gives the same bytes, an
 *   empty view says so in words; the confusion matrix, most_confused, logloss and
 *   top_losses agree with sums done here; %submit's file (header, rows, order, format,
 *   clip), its refusals leaving no file, overwrite; %FileLink's href reaching the file;
 *   %plot_history of a model trained here;
 * - every refusal: its error name, and nothing displayed or written. */
#include "array.h"
#include "check.h"
#include "draw.h"
#include "internal.h"
#include "magics.h"
#include "data/image.h"

#include <cairo.h>
#include <dirent.h>
#include <math.h>
#include <png.h>
#include <sys/stat.h>
#include <unistd.h>

static dn_interp *it;
static fake f;
static char root[256];
static char start_cwd[4096];
static json_t *metadata[256];   /* display metadata by event index (check.h's sink drops it) */

static const char *err_name(void) { const event *e = fake_find(&f, "error"); return e ? e->name : NULL; }
static const char *err_value(void) { const event *e = fake_find(&f, "error"); return e ? e->text : ""; }

static void md_display(void *c, json_t *data, json_t *md, const char *id)
{
    (void)id;
    fake *ff = c;
    event *e = fake_push(ff, "display");
    if (!e) return;
    e->json = json_deep_copy(data);
    metadata[ff->n - 1] = md ? json_deep_copy(md) : NULL;
}

static int cell(const char *code)
{
    for (int k = 0; k < 256; k++) { json_decref(metadata[k]); metadata[k] = NULL; }
    fake_reset(&f);
    f.sink.display_data = md_display;
    dn_execute_request req = { code, 0, 1, 0, 1 };
    return it->ops->execute(it, &req, &f.sink);
}

static int count_kind(const char *kind)
{
    int n = 0;
    for (int k = 0; k < f.n; k++) n += !strcmp(f.ev[k].kind, kind);
    return n;
}

/* the k-th event carrying mime (display or result), or NULL */
static const event *with_mime(const char *mime, int k)
{
    for (int i = 0; i < f.n; i++)
        if (f.ev[i].json && json_object_get(f.ev[i].json, mime) && k-- == 0) return &f.ev[i];
    return NULL;
}

static const char *mime_of(const event *e, const char *mime)
{
    return e ? json_string_value(json_object_get(e->json, mime)) : NULL;
}

/* ---------------------------------------------------------------- helpers */

static int b64val(int c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* base64 text to bytes (malloc'd) */
static unsigned char *unbase64(const char *s, size_t *n)
{
    size_t len = strlen(s);
    unsigned char *out = malloc(len / 4 * 3 + 3);
    size_t k = 0;
    unsigned v = 0;
    int bits = 0;
    for (size_t i = 0; out && i < len && s[i] != '='; i++) {
        int d = b64val(s[i]);
        if (d < 0) { free(out); return NULL; }
        v = v << 6 | (unsigned)d;
        bits += 6;
        if (bits >= 8) { bits -= 8; out[k++] = (unsigned char)(v >> bits); }
    }
    *n = k;
    return out;
}

/* The PNG of event e decoded (RGB), or -1. */
static int decode_png_of(const event *e, dn_image *img)
{
    const char *b64 = mime_of(e, "image/png");
    if (!b64) return -1;
    size_t n;
    unsigned char *png = unbase64(b64, &n);
    char err[256];
    int rc = png ? dn_png_decode(png, n, img, err, sizeof err) : -1;
    free(png);
    return rc;
}

/* A w x h grey PNG whose pixel (x, y) is (base + 7x + 13y) mod 256. */
static int grey_png(const char *path, int w, int h, int base)
{
    unsigned char px[64 * 64];
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) px[y * w + x] = (unsigned char)(base + 7 * x + 13 * y);
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    img.width = (png_uint_32)w;
    img.height = (png_uint_32)h;
    img.format = PNG_FORMAT_GRAY;
    return png_image_write_to_file(&img, path, 0, px, 0, NULL) ? 0 : -1;
}

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    char *s = calloc(1, 1 << 16);
    size_t n = s ? fread(s, 1, (1 << 16) - 1, fp) : 0;
    (void)n;
    fclose(fp);
    return s;
}

/* ---------------------------------------------------------------- the predictions */

/* P(dogs) of the 12 validation rows: cats are rows 0-5, dogs 6-11. */
static const float p_dog[12] = { 0.10f, 0.20f, 0.90f, 0.45f, 0.02f, 0.70f,
                                 0.95f, 0.60f, 0.30f, 0.51f, 0.99f, 0.04f };

static dn_array *preds(int nrows, int labelled, const char *dir, const char *const *files,
                       const float *pdog)
{
    char err[256];
    long shape[2] = { nrows, 2 };
    dn_array *a = dn_array_new(DN_DT_FLOAT, 2, shape, err, sizeof err);
    a->filenames = calloc((size_t)nrows, sizeof *a->filenames);
    for (int i = 0; i < nrows; i++) {
        a->data[2 * i + 1] = pdog[i];
        a->data[2 * i] = 1.0f - pdog[i];
        a->filenames[i] = strdup(files[i]);
    }
    if (labelled) {
        a->labels = calloc((size_t)nrows, sizeof *a->labels);
        for (int i = 0; i < nrows; i++) a->labels[i] = i >= nrows / 2;
    }
    a->nclasses = 2;
    a->class_names = calloc(2, sizeof *a->class_names);
    a->class_names[0] = strdup("cats");
    a->class_names[1] = strdup("dogs");
    a->dir = strdup(dir);
    a->width = 8;
    a->height = 8;
    a->channels = 1;
    a->preprocess = 0;
    return a;
}

static char vfiles[12][64], tfiles[5][64];

static void setup(void)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/valid", root);
    mkdir(p, 0755);
    for (int c = 0; c < 2; c++) {
        snprintf(p, sizeof p, "%s/valid/%s", root, c ? "dogs" : "cats");
        mkdir(p, 0755);
        for (int i = 0; i < 6; i++) {
            snprintf(vfiles[c * 6 + i], sizeof vfiles[0], "%s/%s.%d.png", c ? "dogs" : "cats",
                     c ? "dog" : "cat", i);
            snprintf(p, sizeof p, "%s/valid/%.63s", root, vfiles[c * 6 + i]);
            grey_png(p, 8, 8, 19 * (c * 6 + i));
        }
    }
    snprintf(p, sizeof p, "%s/test", root);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/test/unknown", root);
    mkdir(p, 0755);
    static const int ids[5] = { 10, 2, 33, 1, 7 };
    for (int i = 0; i < 5; i++) {
        snprintf(tfiles[i], sizeof tfiles[0], "unknown/%d.png", ids[i]);
        snprintf(p, sizeof p, "%s/test/%.63s", root, tfiles[i]);
        grey_png(p, 8, 8, 3 * i);
    }
    const char *vf[12], *tf[5];
    for (int i = 0; i < 12; i++) vf[i] = vfiles[i];
    for (int i = 0; i < 5; i++) tf[i] = tfiles[i];
    dn_workspace *ws = ((dn_magics *)it)->ws;
    char err[256], dir[512];
    snprintf(dir, sizeof dir, "%s/valid", root);
    dn_array_set(ws, "p", preds(12, 1, dir, vf, p_dog), 1, err, sizeof err);
    static const float ptest[5] = { 0.01f, 0.5f, 0.97f, 0.3f, 0.9999f };
    snprintf(dir, sizeof dir, "%s/test", root);
    dn_array_set(ws, "tp", preds(5, 0, dir, tf, ptest), 1, err, sizeof err);
    static const float all_right[4] = { 0.1f, 0.2f, 0.8f, 0.9f };
    snprintf(dir, sizeof dir, "%s/valid", root);
    dn_array_set(ws, "good", preds(4, 1, dir, vf, all_right), 1, err, sizeof err);
    if (chdir(root) != 0) printf("(could not cd to %s)\n", root);
}

/* The files the picture's text lists, in order ("  1. cats/cat.0.png  ..."). */
static int listed(const char *text, int *rows, int max)
{
    int n = 0;
    for (const char *s = text; s && (s = strstr(s, ". ")) && n < max; s += 2) {
        char file[64];
        if (sscanf(s + 2, "%63s", file) != 1) continue;
        for (int i = 0; i < 12; i++)
            if (!strcmp(file, vfiles[i])) { rows[n++] = i; break; }
    }
    return n;
}

/* The view's picture: one display with image/png and text/plain, the metadata's size
 * the PNG's; returns the rows listed. */
static int view_rows(const char *code, int *rows, int max, const char *what)
{
    int rc = cell(code);
    const event *e = with_mime("image/png", 0);
    CHECK(rc == 0 && e && count_kind("display") == 1, "%s: one picture (%s)", what, err_value());
    if (!e) return 0;
    dn_image img = { 0 };
    int ok = decode_png_of(e, &img) == 0;
    const event *ev = e;
    json_t *md = metadata[ev - f.ev];
    json_t *pm = json_object_get(md, "image/png");
    CHECK(ok && json_integer_value(json_object_get(pm, "width")) == img.w
          && json_integer_value(json_object_get(pm, "height")) == img.h && img.w >= 480 && img.w <= 900,
          "%s: the PNG decodes, %dx%d as its metadata says", what, img.w, img.h);
    dn_image_fini(&img);
    return listed(mime_of(e, "text/plain"), rows, max);
}

static int same_rows(const int *got, int n, const int *want, int m)
{
    if (n != m) return 0;
    for (int i = 0; i < n; i++)
        if (got[i] != want[i]) return 0;
    return 1;
}

static void views(void)
{
    printf("# %%plots: the views pick the right rows\n");
    int rows[16], n;
    /* most_correct cats: predicted cats and cats, highest P(cats) first */
    n = view_rows("%plots p most_correct cats", rows, 16, "most_correct cats");
    CHECK(same_rows(rows, n, (int[]){ 4, 0, 1, 3 }, 4), "most_correct cats: rows 4 0 1 3 (%d rows)", n);
    n = view_rows("%plots p most_incorrect cats", rows, 16, "most_incorrect cats");
    CHECK(same_rows(rows, n, (int[]){ 11, 8 }, 2), "most_incorrect cats: rows 11 8 (the two predicted cats that are dogs)");
    n = view_rows("%plots p most_incorrect dogs n=1", rows, 16, "most_incorrect dogs n=1");
    CHECK(same_rows(rows, n, (int[]){ 2 }, 1), "most_incorrect dogs n=1: row 2 (P(dogs) 0.90)");
    n = view_rows("%plots p most_correct 1", rows, 16, "most_correct 1 (an index)");
    CHECK(same_rows(rows, n, (int[]){ 10, 6, 7, 9 }, 4), "most_correct 1 = dogs: rows 10 6 7 9");
    /* uncertain: |P(dogs) - 0.5|; rows 5 and 8 tie at 0.2 and come in row order */
    n = view_rows("%plots p uncertain n=5", rows, 16, "uncertain n=5");
    CHECK(same_rows(rows, n, (int[]){ 9, 3, 7, 5, 8 }, 5), "uncertain: rows 9 3 7 5 8");
    /* random views: the right pool, without repeats */
    n = view_rows("%seed 3\n%plots p incorrect", rows, 16, "incorrect");
    int seen = 0;
    for (int i = 0; i < n; i++) seen |= 1 << rows[i];
    CHECK(n == 4 && seen == ((1 << 2) | (1 << 5) | (1 << 8) | (1 << 11)), "incorrect: rows 2 5 8 11 in some order");
    n = view_rows("%seed 3\n%plots p correct n=8", rows, 16, "correct n=8");
    seen = 0;
    for (int i = 0; i < n; i++) seen |= 1 << rows[i];
    CHECK(n == 8 && seen == 0x6db, "correct n=8: the 8 right rows, each once");
    n = view_rows("%plots p correct n=64", rows, 16, "correct n=64");
    CHECK(n == 8, "n beyond the pool shows the pool (%d)", n);

    printf("# the same seed, the same PNG bytes; another seed, another choice\n");
    cell("%seed 11\n%plots p correct");
    char *a = strdup(mime_of(with_mime("image/png", 0), "image/png") ? mime_of(with_mime("image/png", 0), "image/png") : "");
    cell("%seed 11\n%plots p correct");
    const char *b = mime_of(with_mime("image/png", 0), "image/png");
    CHECK(b && !strcmp(a, b) && strlen(a) > 1000, "re-run after %%seed 11: identical PNG (%zu base64 bytes)", strlen(a));
    int differs = 0;
    for (int s = 12; s < 20 && !differs; s++) {
        char code[64];
        snprintf(code, sizeof code, "%%seed %d\n%%plots p correct", s);
        cell(code);
        b = mime_of(with_mime("image/png", 0), "image/png");
        differs = b && strcmp(a, b);
    }
    CHECK(differs, "other seeds choose other images");
    free(a);

    printf("# views without labels, empty views\n");
    n = view_rows("%plots tp uncertain n=2", rows, 16, "uncertain on unlabelled predictions");
    const char *t = mime_of(with_mime("image/png", 0), "text/plain");
    CHECK(t && strstr(t, "unknown/2.png") && strstr(t, "unknown/1.png") && strstr(t, "unknown/2.png") < strstr(t, "unknown/1.png"),
          "unlabelled: 2.png (0.5) then 1.png (0.3)");
    int rc = cell("%plots good incorrect");
    char *out = fake_text(&f, "stdout");
    CHECK(rc == 0 && count_kind("display") == 0 && out && strstr(out, "No incorrect predictions"),
          "an empty view says so: %s", out ? out : "");
    free(out);
    rc = cell("%plots good most_incorrect dogs");
    out = fake_text(&f, "stdout");
    CHECK(rc == 0 && count_kind("display") == 0 && out && strstr(out, "wrongly predicted dogs"),
          "an empty most_incorrect says so: %s", out ? out : "");
    free(out);
}

static void tiles_are_pixels(void)
{
    printf("# a tile is the image as the model saw it, enlarged by nearest neighbour\n");
    cell("%plots p most_incorrect dogs n=1");
    dn_image img = { 0 };
    const event *e = with_mime("image/png", 0);
    if (!e || decode_png_of(e, &img)) {
        CHECK(0, "picture decodes");
        return;
    }
    /* row 2 is cats/cat.2.png: pixel (x, y) = base + 7x + 13y, base = 38; 8x8 -> x22 */
    int base = 38, f22 = DN_TILE_BOX / 8, found = 0;
    for (int y0 = 0; y0 + 8 * f22 <= img.h && !found; y0++)
        for (int x0 = 0; x0 + 8 * f22 <= img.w && !found; x0++) {
            int ok = 1;
            for (int y = 0; y < 8 * f22 && ok; y++)
                for (int x = 0; x < 8 * f22 && ok; x++) {
                    const unsigned char *px = img.px + ((size_t)(y0 + y) * img.w + x0 + x) * 3;
                    unsigned char want = (unsigned char)(base + 7 * (x / f22) + 13 * (y / f22));
                    ok = px[0] == want && px[1] == want && px[2] == want;
                }
            found = ok;
        }
    CHECK(found, "cat.2.png appears pixel for pixel, each pixel a %dx%d block", f22, f22);
    dn_image_fini(&img);
}

static void draw_units(void)
{
    printf("# draw.c\n");
    static const char *const b64[][2] = { { "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" },
        { "foo", "Zm9v" }, { "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" } };
    for (size_t i = 0; i < sizeof b64 / sizeof *b64; i++) {
        char *s = dn_base64((const unsigned char *)b64[i][0], strlen(b64[i][0]));
        CHECK(s && !strcmp(s, b64[i][1]), "base64('%s') = %s", b64[i][0], s ? s : "(null)");
        free(s);
    }
    CHECK(dn_blues(0) == 0xf7fbff && dn_blues(1) == 0x08306b && dn_blues(0.5) == 0x6baed6
          && dn_blues(-1) == 0xf7fbff && dn_blues(2) == 0x08306b && dn_blues(0.0625) == 0xebf3fb,
          "Blues: ColorBrewer's stops at 0, 1/2, 1, interpolated between (%06x)", dn_blues(0.0625));
    printf("(font: %s)\n", dn_draw_font_file(0) ? dn_draw_font_file(0) : "fontconfig's sans-serif");

    unsigned char px[3][12 * 10 * 3];
    dn_tile tiles[3];
    for (int t = 0; t < 3; t++) {
        for (int k = 0; k < 12 * 10 * 3; k++) px[t][k] = (unsigned char)(k * 31 + t * 77);
        tiles[t] = (dn_tile){ px[t], 12, 10, t ? "two\nlines" : "one", "file.png", DN_RGB_WRONG };
    }
    dn_pic pic;
    dn_rect at[3];
    char err[256];
    int rc = dn_draw_grid("Heading", "sub line\nsecond", tiles, 3, 0, &pic, at, err, sizeof err);
    CHECK(rc == 0 && pic.w >= 480, "a grid of 3 is drawn (%dx%d)", pic.w, pic.h);
    if (rc == 0) {
        cairo_surface_flush(pic.s);
        const unsigned char *d = cairo_image_surface_get_data(pic.s);
        int stride = cairo_image_surface_get_stride(pic.s), exact = 1;
        for (int t = 0; t < 3; t++)
            for (int y = 0; y < 10; y++)
                for (int x = 0; x < 12; x++) {
                    uint32_t v = *(const uint32_t *)(d + (size_t)(at[t].y + y) * stride + (size_t)(at[t].x + x) * 4);
                    const unsigned char *s = px[t] + (y * 12 + x) * 3;
                    exact &= ((v >> 16) & 255) == s[0] && ((v >> 8) & 255) == s[1] && (v & 255) == s[2];
                }
        CHECK(exact && at[1].x > at[0].x && at[2].x > at[1].x && at[0].y == at[2].y,
              "each tile holds its pixels exactly, in one row, left to right");
        unsigned char *png1, *png2;
        size_t n1, n2;
        dn_pic_png(&pic, &png1, &n1, err, sizeof err);
        dn_pic_fini(&pic);
        dn_draw_grid("Heading", "sub line\nsecond", tiles, 3, 0, &pic, NULL, err, sizeof err);
        dn_pic_png(&pic, &png2, &n2, err, sizeof err);
        CHECK(n1 == n2 && !memcmp(png1, png2, n1) && !memcmp(png1, "\x89PNG", 4), "the same drawing, the same PNG bytes");
        free(png1);
        free(png2);
        dn_pic_fini(&pic);
    }
    tiles[1].w = DN_TILE_BOX + 1;
    CHECK(dn_draw_grid("H", NULL, tiles, 3, 0, &pic, NULL, err, sizeof err) < 0, "a tile larger than the box is refused: %s", err);
    CHECK(dn_draw_grid("H", NULL, tiles, 0, 0, &pic, NULL, err, sizeof err) < 0, "no tiles is refused");
    CHECK(dn_pic_init(&pic, 100000, 10, err, sizeof err) < 0, "a huge picture is refused: %s", err);
    unsigned char one[3] = { 1, 2, 3 };
    unsigned char *up = dn_draw_upscale(one, 1, 1, 3);
    CHECK(up && up[0] == 1 && up[26] == 3 && up[25] == 2, "upscale by 3 repeats the pixel 9 times");
    free(up);
    CHECK(dn_draw_upscale(one, 1, 1, 100000) == NULL, "an upscale beyond the side limit is refused");

    /* a matrix: colours follow the numbers, text white on dark, dark on light */
    const char *names[2] = { "cats", "a rather long class name" };
    double v[4] = { 0.9, 0.1, 0.25, 0.75 };
    dn_rect cells[4];
    rc = dn_draw_matrix("M", "shares", 2, names, v, 2, "True label", "Predicted label", &pic, cells, err, sizeof err);
    CHECK(rc == 0, "a matrix is drawn (%dx%d): %s", pic.w, pic.h, rc ? err : "");
    if (rc == 0) {
        cairo_surface_flush(pic.s);
        const unsigned char *d = cairo_image_surface_get_data(pic.s);
        int stride = cairo_image_surface_get_stride(pic.s), colours = 1;
        for (int i = 0; i < 4; i++) {
            uint32_t c = *(const uint32_t *)(d + (size_t)(cells[i].y + 3) * stride + (size_t)(cells[i].x + 3) * 4) & 0xffffff;
            colours &= c == dn_blues(v[i] / 0.9);
            int white = 0, dark = 0;
            for (int y = 0; y < cells[i].h; y++)
                for (int x = 0; x < cells[i].w; x++) {
                    uint32_t q = *(const uint32_t *)(d + (size_t)(cells[i].y + y) * stride + (size_t)(cells[i].x + x) * 4) & 0xffffff;
                    white += q == 0xffffff;
                    dark += ((q >> 16) & 255) < 60 && ((q >> 8) & 255) < 60 && (q & 255) < 60;
                }
            int is_dark = v[i] > 0.9 / 2;
            CHECK(is_dark ? white > 20 : (white == 0 && dark > 20),
                  "cell %d (%.2f): %s text (%d white, %d dark pixels)", i, v[i], is_dark ? "white" : "black", white, dark);
        }
        CHECK(colours, "each cell's colour is Blues(value / largest)");
        dn_pic_fini(&pic);
    }
    double zero[1] = { 0 };
    rc = dn_draw_matrix("M", NULL, 1, names, zero, 0, "t", "p", &pic, NULL, err, sizeof err);
    CHECK(rc == 0, "a matrix of zeros is drawn");
    if (rc == 0) dn_pic_fini(&pic);

    double x[3] = { 1, 2, 3 }, y1[3] = { 0.5, 0.4, 0.3 }, y2[3] = { 0.6, NAN, 0.4 };
    dn_series s[2] = { { "training", x, y1, 3, 0x1f77b4, 0 }, { "validation", x, y2, 3, 0xff7f0e, 1 } };
    dn_panel panel = { "Loss", "loss", s, 2 };
    double mark = 2.5;
    const char *ml = "fit 2";
    rc = dn_draw_chart("Chart", &panel, 1, "epoch", &mark, &ml, 1, &pic, err, sizeof err);
    CHECK(rc == 0 && pic.w > 300, "a chart with a missing value is drawn (%dx%d)", pic.w, pic.h);
    if (rc == 0) dn_pic_fini(&pic);
    double one_y[1] = { 0.7 };
    dn_series s1 = { "training", x, one_y, 1, 0, 0 };
    dn_panel p1 = { "Loss", "loss", &s1, 1 };
    rc = dn_draw_chart("One epoch", &p1, 1, "epoch", NULL, NULL, 0, &pic, err, sizeof err);
    CHECK(rc == 0, "a chart of one point is drawn");
    if (rc == 0) dn_pic_fini(&pic);
}

static void tables(void)
{
    printf("# %%confusion_matrix, %%most_confused, %%logloss, %%top_losses\n");
    int rc = cell("%confusion_matrix p");
    const event *pic = with_mime("image/png", 0), *tab = with_mime("text/html", 0);
    const char *pt = mime_of(pic, "text/plain"), *tt = mime_of(tab, "text/plain");
    CHECK(rc == 0 && pic && tab && pic < tab, "a picture, then a table (%s)", err_value());
    CHECK(pt && strstr(pt, "[[4 2]\n [2 4]]"), "the picture's text holds [[4 2] [2 4]]: %s", pt ? pt : "");
    CHECK(tt && strstr(tt, "cats                 4     2") && strstr(tt, "8 of 12 right"),
          "the table: 4 2 / 2 4, 8 of 12 right:\n%s", tt ? tt : "");
    rc = cell("%confusion_matrix p normalize=True");
    pt = mime_of(with_mime("image/png", 0), "text/plain");
    CHECK(rc == 0 && pt && strstr(pt, "[[0.67 0.33]\n [0.33 0.67]]"), "normalised: rows of shares: %s", pt ? pt : "");

    rc = cell("%most_confused p");
    const event *r = fake_find(&f, "result");
    const char *mt = mime_of(r, "text/plain");
    const char *cd = mt ? strstr(mt, "\ncats         dogs      2\n") : NULL;
    const char *dc = mt ? strstr(mt, "\ndogs         cats      2") : NULL;
    CHECK(rc == 0 && cd && dc && cd < dc, "most_confused: both pairs twice, in row order:\n%s", mt ? mt : "");
    rc = cell("%most_confused p min=3");
    char *out = fake_text(&f, "stdout");
    CHECK(rc == 0 && out && strstr(out, "No pair"), "min=3: no pair, in words");
    free(out);

    /* the log loss, computed here */
    double raw = 0, clipped = 0;
    int conf_wrong = 0;
    for (int i = 0; i < 12; i++) {
        double pd = p_dog[i], pc = 1.0f - p_dog[i];
        double pt2 = i < 6 ? pc : pd;
        double a = fmin(fmax(pc, 1e-15), 1 - 1e-15), b = fmin(fmax(pd, 1e-15), 1 - 1e-15);
        raw += -log((i < 6 ? a : b) / (a + b));
        a = fmin(fmax(pc, 0.05), 0.95);
        b = fmin(fmax(pd, 0.05), 0.95);
        clipped += -log((i < 6 ? a : b) / (a + b));
        conf_wrong += pt2 < 0.05;
    }
    raw /= 12;
    clipped /= 12;
    rc = cell("%logloss p");
    const char *lt = mime_of(fake_find(&f, "result"), "text/plain");
    char want[64], want2[64];
    snprintf(want, sizeof want, "%.6f", raw);
    snprintf(want2, sizeof want2, "%.6f", clipped);
    const char *all = lt ? strstr(lt, "all: the log loss") : NULL;
    CHECK(rc == 0 && all && strstr(all, want) && strstr(all, want2), "logloss: %s unclipped, %s clipped:\n%s", want, want2, lt ? lt : "");
    CHECK(lt && strstr(lt, "1 confident mistake cost") && conf_wrong == 1, "one confident mistake (row 11, P(dogs) 0.04)");
    rc = cell("%logloss p clip=None");
    lt = mime_of(fake_find(&f, "result"), "text/plain");
    CHECK(rc == 0 && lt && strstr(lt, want) && !strstr(lt, "clip=("), "clip=None: the unclipped loss only");

    rc = cell("%top_losses p n=2");
    const char *tl = mime_of(with_mime("image/png", 0), "text/plain");
    CHECK(rc == 0 && tl && strstr(tl, "1. dogs/dog.5.png  cats / dogs, loss 3.22")
          && strstr(tl, "2. cats/cat.2.png  dogs / cats, loss 2.30"), "top_losses: dog.5 (3.22) then cat.2 (2.30):\n%s", tl ? tl : "");
}

static void submit_and_link(void)
{
    printf("# %%submit and %%FileLink\n");
    int rc = cell("%submit tp sub.csv");
    char *csv = slurp("sub.csv");
    CHECK(rc == 0 && csv, "the file is written (%s)", err_value());
    CHECK(csv && !strcmp(csv, "id,label\n1,0.30000\n2,0.50000\n7,0.95000\n10,0.05000\n33,0.95000\n"),
          "header, ids in order, %%.5f, clipped to [0.05, 0.95]:\n%s", csv ? csv : "");
    const event *head = with_mime("text/html", 0), *link = with_mime("text/html", 1);
    const char *lh = mime_of(link, "text/html");
    CHECK(head && link && strstr(mime_of(head, "text/html"), "<td>0.30000</td>"), "the head as a table, then the link");
    /* the href is relative to the folder the process started in */
    char href[1024] = "", path[4096 + 1100];
    if (lh && sscanf(lh, "<a href='%1023[^']'", href) == 1) snprintf(path, sizeof path, "%s/%s", start_cwd, href);
    char *rp = href[0] ? realpath(path, NULL) : NULL, *want = realpath("sub.csv", NULL);
    CHECK(rp && want && !strcmp(rp, want), "the href (%s) reaches the file from the start folder", href);
    free(rp);
    free(want);
    CHECK(mime_of(link, "text/plain") && mime_of(link, "text/plain")[0] == '/', "the link's text is the absolute path");
    free(csv);

    rc = cell("%submit tp sub.csv clip=None");
    CHECK(rc && !strcmp(err_name() ? err_name() : "", "FileExistsError") && count_kind("display") == 0,
          "an existing file is refused: %s", err_value());
    csv = slurp("sub.csv");
    CHECK(csv && strstr(csv, "1,0.30000"), "and kept as it was");
    free(csv);
    rc = cell("%submit tp sub.csv clip=None overwrite=True column=cats");
    csv = slurp("sub.csv");
    CHECK(rc == 0 && csv && strstr(csv, "\n10,0.99000\n") && strstr(csv, "\n7,0.00010\n"), "overwrite=True column=cats, unclipped");
    free(csv);
    rc = cell("%submit tp sub2.csv clip=(0.02, 0.98) column=dogs");
    csv = slurp("sub2.csv");
    CHECK(rc == 0 && csv && strstr(csv, "\n10,0.02000\n") && strstr(csv, "\n33,0.97000\n"), "clip=(0.02, 0.98)");
    free(csv);

    struct { const char *code, *ename, *file; } bad[] = {
        { "%submit p val.csv", "ValueError", "val.csv" },                 /* cats/cat.0.png has no id */
        { "%submit tp nodir/sub.csv", "FileNotFoundError", "nodir/sub.csv" },
        { "%submit tp s3.csv clip=(0.9, 0.1)", "UsageError", "s3.csv" },
        { "%submit tp s3.csv clip=0.05", "UsageError", "s3.csv" },
        { "%submit tp s3.csv column=horses", "ValueError", "s3.csv" },
        { "%submit tp s3.csv overwrite=yes", "UsageError", "s3.csv" },
        { "%submit nothing s3.csv", "NameError", "s3.csv" },
        { "%submit tp valid", "IsADirectoryError", NULL },
        { "%FileLink nosuch.csv", "FileNotFoundError", NULL },
        { "%FileLink valid", "IsADirectoryError", NULL },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        rc = cell(bad[i].code);
        CHECK(rc && err_name() && !strcmp(err_name(), bad[i].ename) && count_kind("display") == 0
              && count_kind("result") == 0 && (!bad[i].file || !exists(bad[i].file)),
              "%s: %s, nothing shown or written (%s: %s)", bad[i].code, bad[i].ename,
              err_name() ? err_name() : "ok", err_value());
    }
    {
        char err[256], dir[600];
        snprintf(dir, sizeof dir, "%s/test", root);
        const char *tf[2] = { tfiles[0], tfiles[1] };
        static const float pn[2] = { 0.5f, NAN };
        dn_array_set(((dn_magics *)it)->ws, "nanp", preds(2, 0, dir, tf, pn), 1, err, sizeof err);
        rc = cell("%submit nanp nan.csv");
        CHECK(rc && err_name() && !strcmp(err_name(), "ValueError") && strstr(err_value(), "not a probability")
              && !exists("nan.csv"), "a NaN probability is refused, nothing written: %s", err_value());
    }
    DIR *d = opendir(".");
    int tmp_left = 0;
    for (struct dirent *de; d && (de = readdir(d));) tmp_left += strstr(de->d_name, ".tmp-") != NULL;
    if (d) closedir(d);
    CHECK(tmp_left == 0, "no temporary file is left behind");
    rc = cell("%FileLink sub.csv");
    const event *res = fake_find(&f, "result");
    CHECK(rc == 0 && res && strstr(mime_of(res, "text/html"), "target='_blank'>") && strstr(mime_of(res, "text/html"), "</a><br>"),
          "%%FileLink is the cell's result, IPython's markup: %s", res ? mime_of(res, "text/html") : "");
    mkdir("with space", 0755);
    FILE *fp = fopen("with space/a#b.csv", "w");
    if (fp) { fputs("x\n", fp); fclose(fp); }
    rc = cell("%FileLink 'with space/a#b.csv'");
    res = fake_find(&f, "result");
    CHECK(rc == 0 && res && strstr(mime_of(res, "text/html"), "with%20space/a%23b.csv' target")
          && strstr(mime_of(res, "text/html"), ">with space/a#b.csv</a>") == NULL
          && strstr(mime_of(res, "text/html"), "with space/a#b.csv</a>"),
          "a name with a blank and # is percent-encoded in the href: %s", res ? mime_of(res, "text/html") : "");
}

static void history_plot(void)
{
    printf("# %%plot_history\n");
    int rc = cell("%seed 1\n%let x = random(20, 3)\n%let y = one_hot(argmax(x[:, :2]), 2)");
    rc |= cell("%%model hm\nDense(2, activation='softmax', input_shape=(3,))");
    rc |= cell("%compile hm optimizer=SGD(lr=0.1) loss=categorical_crossentropy metrics=accuracy");
    CHECK(rc == 0, "a model to train (%s)", err_value());
    rc = cell("%plot_history hm");
    char *out = fake_text(&f, "stdout");
    CHECK(rc == 0 && count_kind("display") == 0 && out && strstr(out, "not been trained"), "untrained: in words");
    free(out);
    cell("%fit hm x y epochs=2 validation=(x, y) verbose=0");
    cell("%fit hm x y epochs=1 validation=(x, y) verbose=0");
    rc = cell("%plot_history hm");
    const event *e = with_mime("image/png", 0);
    const char *t = mime_of(e, "text/plain");
    CHECK(rc == 0 && e && t && strstr(t, "3 epochs") && strstr(t, "(2 fits)") && strstr(t, "val_acc")
          && strstr(t, "\n    3  "), "three epochs of two fits, with validation and accuracy:\n%s", t ? t : "");
    rc = cell("%plot_history x");
    CHECK(rc && err_name(), "%%plot_history of an array fails: %s %s", err_name() ? err_name() : "", err_value());
}

/* An RGB PNG w x h whose pixel (x, y) is (x, y, x + y) mod 256. */
static int rgb_png(const char *path, int w, int h)
{
    unsigned char *px = malloc((size_t)w * h * 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            px[(y * w + x) * 3] = (unsigned char)x;
            px[(y * w + x) * 3 + 1] = (unsigned char)y;
            px[(y * w + x) * 3 + 2] = (unsigned char)(x + y);
        }
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    img.width = (png_uint_32)w;
    img.height = (png_uint_32)h;
    img.format = PNG_FORMAT_RGB;
    int ok = png_image_write_to_file(&img, path, 0, px, 0, NULL);
    free(px);
    return ok ? 0 : -1;
}

static void three_classes_and_sizes(void)
{
    printf("# three classes: margins, column=; files shown as they are or shrunk\n");
    char dir[600], p[700], err[256];
    snprintf(dir, sizeof dir, "%s/three", root);
    mkdir(dir, 0755);
    snprintf(p, sizeof p, "%s/big.png", dir);
    rgb_png(p, 300, 200);
    snprintf(p, sizeof p, "%s/wide.png", dir);
    rgb_png(p, 30, 10);
    snprintf(p, sizeof p, "%s/5.png", dir);
    rgb_png(p, 8, 8);
    long shape[2] = { 3, 3 };
    dn_array *a = dn_array_new(DN_DT_FLOAT, 2, shape, err, sizeof err);
    /* margins between the two likeliest: 0.1, 0.05, 0.3 */
    static const float pr[9] = { 0.5f, 0.4f, 0.1f, 0.2f, 0.375f, 0.425f, 0.6f, 0.1f, 0.3f };
    memcpy(a->data, pr, sizeof pr);
    static const char *const files[3] = { "big.png", "wide.png", "5.png" };
    a->filenames = calloc(3, sizeof *a->filenames);
    for (int i = 0; i < 3; i++) a->filenames[i] = strdup(files[i]);
    a->labels = calloc(3, sizeof *a->labels);
    a->labels[0] = 0; a->labels[1] = 1; a->labels[2] = 2;
    a->nclasses = 3;
    a->class_names = calloc(3, sizeof *a->class_names);
    a->class_names[0] = strdup("ant");
    a->class_names[1] = strdup("bee");
    a->class_names[2] = strdup("cat");
    a->dir = strdup(dir);
    a->width = 16;
    a->height = 16;
    a->channels = 3;
    dn_array_set(((dn_magics *)it)->ws, "p3", a, 1, err, sizeof err);

    int rc = cell("%plots p3 uncertain n=3");
    const char *t = mime_of(with_mime("image/png", 0), "text/plain");
    const char *w = t ? strstr(t, "1. wide.png") : NULL, *b = t ? strstr(t, "2. big.png") : NULL,
               *f5 = t ? strstr(t, "3. 5.png") : NULL;
    CHECK(rc == 0 && w && b && f5, "uncertain by margin: wide (0.05), big (0.1), 5 (0.3):\n%s", t ? t : "");
    CHECK(t && strstr(t, "cat 0.4250\nbee") == NULL && strstr(t, "cat 0.4250, bee 0.3750, is bee")
          && strstr(t, "16x16 RGB, shown 11 times larger"), "titles give the runner-up; the model's 16x16 view, x11");
    dn_image img = { 0 };
    if (decode_png_of(with_mime("image/png", 0), &img) == 0) {
        /* big.png seen as the model saw it: 16x16, then 11x: the top-left block is the
         * resize's first pixel, repeated */
        CHECK(img.w > 3 * 176, "three tiles (%dx%d)", img.w, img.h);
        dn_image_fini(&img);
    }
    rc = cell("%plots p3 uncertain n=3 original=True");
    t = mime_of(with_mime("image/png", 0), "text/plain");
    CHECK(rc == 0 && t && strstr(t, "The files as they are, each fitted into 176 pixels"),
          "original=True: the files as they are, of different sizes: %s", t ? t : "");
    rc = cell("%plots p3 most_incorrect 0 n=1 original=True");
    t = mime_of(with_mime("image/png", 0), "text/plain");
    CHECK(rc == 0 && t && strstr(t, "1. 5.png") && strstr(t, "shown 22 times larger"), "an 8x8 file shown 22 times larger");
    rc = cell("%plots p3 most_correct ant n=1 original=True");
    t = mime_of(with_mime("image/png", 0), "text/plain");
    CHECK(rc == 0 && t && strstr(t, "1. big.png") && strstr(t, "shrunk to fit 176 pixels"), "a 300x200 file shrunk: %s", t ? t : "");
    if (rc == 0 && decode_png_of(with_mime("image/png", 0), &img) == 0) {
        CHECK(img.w >= 480, "the picture (%dx%d)", img.w, img.h);
        dn_image_fini(&img);
    }
    rc = cell("%submit p3 s3.csv");
    CHECK(rc && err_name() && !strcmp(err_name(), "UsageError") && strstr(err_value(), "column=CLASS")
          && !exists("s3.csv"), "three classes: %%submit needs column= (%s)", err_value());
    rc = cell("%submit p3 s3.csv column=ant");
    CHECK(rc && err_name() && !strcmp(err_name(), "ValueError") && strstr(err_value(), "big.png")
          && !exists("s3.csv"), "a file name that is not a number is named: %s", err_value());
    rc = cell("%confusion_matrix p3");
    t = mime_of(with_mime("image/png", 0), "text/plain");
    CHECK(rc == 0 && t && strstr(t, "[[1 0 0]\n [0 0 1]\n [1 0 0]]"), "a 3x3 matrix: %s", t ? t : "");
}

static void odd_names(void)
{
    printf("# names that are not UTF-8 are shown with ?\n");
    char dir[600], p[700], err[256];
    snprintf(dir, sizeof dir, "%s/odd", root);
    mkdir(dir, 0755);
    snprintf(p, sizeof p, "%s/x\xff.png", dir);
    grey_png(p, 8, 8, 1);
    snprintf(p, sizeof p, "%s/y\xc3\xa9.png", dir);
    grey_png(p, 8, 8, 2);
    const char *files[2] = { "x\xff.png", "y\xc3\xa9.png" };
    static const float pd[2] = { 0.4f, 0.7f };
    dn_array *a = preds(2, 1, dir, files, pd);
    free(a->class_names[0]);
    a->class_names[0] = strdup("caf\xe9");
    dn_array_set(((dn_magics *)it)->ws, "odd", a, 1, err, sizeof err);
    int rc = cell("%plots odd uncertain n=2");
    const char *t = mime_of(with_mime("image/png", 0), "text/plain");
    CHECK(rc == 0 && t && strstr(t, "x?.png") && strstr(t, "y\xc3\xa9.png") && strstr(t, "caf?"),
          "file and class names: invalid bytes become ?, valid UTF-8 stays (%s)", err_value());
    rc = cell("%confusion_matrix odd");
    CHECK(rc == 0 && with_mime("image/png", 0) && strstr(mime_of(with_mime("text/html", 0), "text/html"), "caf?"),
          "the confusion matrix draws and tabulates them (%s)", err_value());
}

static void refusals(void)
{
    printf("# refusals: named, with nothing shown\n");
    cell("%let arr = [1., 2.]");
    struct { const char *code, *ename, *words; } bad[] = {
        { "%plots nothing correct", "NameError", "nothing" },
        { "%plots arr correct", "TypeError", "not predictions" },
        { "%plots p", "UsageError", "which view" },
        { "%plots p incorect", "UsageError", "Did you mean incorrect?" },
        { "%plots p most_correct", "UsageError", "cats, dogs" },
        { "%plots p most_correct dgos", "ValueError", "Did you mean 'dogs'?" },
        { "%plots p most_correct 2", "ValueError", "not a class" },
        { "%plots p correct cats", "UsageError", "takes no CLASS" },
        { "%plots p correct n=0", "UsageError", "from 1 to 64" },
        { "%plots p correct n=65", "UsageError", "from 1 to 64" },
        { "%plots p correct original=1", "UsageError", "True or False" },
        { "%plots p correct bogus=1", "UsageError", "bogus" },
        { "%plots tp incorrect", "ValueError", "no true labels" },
        { "%plots tp most_correct dogs", "ValueError", "no true labels" },
        { "%confusion_matrix tp", "ValueError", "no true labels" },
        { "%confusion_matrix p normalize=1", "UsageError", "True or False" },
        { "%logloss tp", "ValueError", "no true labels" },
        { "%logloss p clip=(0, 2)", "UsageError", "clip" },
        { "%top_losses tp", "ValueError", "no true labels" },
        { "%top_losses p n=100", "UsageError", "from 1 to 64" },
        { "%most_confused p min=0", "UsageError", "min" },
        { "%most_confused arr", "TypeError", "not predictions" },
        { "%FileLink", "UsageError", "" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = cell(bad[i].code);
        CHECK(rc && err_name() && !strcmp(err_name(), bad[i].ename) && strstr(err_value(), bad[i].words)
              && count_kind("display") == 0 && count_kind("result") == 0,
              "%s: %s with '%s' (%s: %s)", bad[i].code, bad[i].ename, bad[i].words,
              err_name() ? err_name() : "ok", err_value());
    }
    /* an image that is gone: FileNotFoundError naming it, nothing shown */
    char p[600];
    snprintf(p, sizeof p, "%s/valid/cats/cat.4.png", root);
    rename(p, "moved.png");
    int rc = cell("%plots p most_correct cats");
    CHECK(rc && err_name() && !strcmp(err_name(), "FileNotFoundError") && strstr(err_value(), "cat.4.png")
          && count_kind("display") == 0, "a missing image: %s", err_value());
    rename("moved.png", p);
    /* a refused random view takes no seed: the next one draws what it would have */
    cell("%seed 4\n%plots p correct");
    char *a = strdup(mime_of(with_mime("image/png", 0), "image/png") ? mime_of(with_mime("image/png", 0), "image/png") : "x");
    cell("%seed 4\n%plots p correct n=0");
    cell("%plots p correct");
    const char *b = mime_of(with_mime("image/png", 0), "image/png");
    CHECK(b && !strcmp(a, b), "a refused %%plots shifts no seed");
    free(a);
    /* help and completion */
    const dn_command *c = dn_commands_find("plots", DN_LINE);
    char *help = c ? dn_command_help(c, 0) : NULL;
    CHECK(help && strstr(help, "most_incorrect") && strstr(help, "Examples:"), "%%plots? has a help page");
    free(help);
    json_t *r = it->ops->complete(it, "%plots p most_", 14);
    json_t *m = json_object_get(r, "matches");
    CHECK(json_array_size(m) == 2, "completion offers most_correct and most_incorrect (%zu)", json_array_size(m));
    json_decref(r);
}

int main(void)
{
    if (!getcwd(start_cwd, sizeof start_cwd)) return 1;
    if (!(it = test_start(&f, root, sizeof root, "dn_results"))) return 1;
    setup();
    draw_units();
    views();
    tiles_are_pixels();
    tables();
    submit_and_link();
    history_plot();
    three_classes_and_sizes();
    odd_names();
    refusals();
    if (chdir("/tmp") != 0) printf("(could not leave %s)\n", root);
    int rc = test_finish(it, &f, root);
    for (int k = 0; k < 256; k++) json_decref(metadata[k]);
    return rc;
}
