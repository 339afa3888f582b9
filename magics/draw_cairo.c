/* draw_cairo.c — draw.h's pictures, drawn with cairo: the code of the module
 * deepnb-draw.so (draw_api.h), reached through draw.c. */
#include "draw.h"

#include <cairo.h>
#include <cairo-ft.h>
#include <ft2build.h>
#include FT_FREETYPE_H

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------- fonts */

/* Where the DejaVu files are: Debian and Ubuntu, Fedora, Arch, openSUSE. */
/* ---- text */

typedef enum dn_align { DN_LEFT, DN_CENTER, DN_RIGHT } dn_align;

/* Width of s in pixels at size px. */
static double text_width(cairo_t *cr, const char *s, double size, int bold);
/* Draws s with its baseline at y, x being its left end, middle or right end. */
static void text_at(cairo_t *cr, const char *s, double x, double y, double size, int bold,
                         dn_align a, unsigned rgb);
/* Draws s within max_w: at size, else smaller down to min_size, else cut with "…".
 * Returns the size used. */
static double text_fit(cairo_t *cr, const char *s, double x, double y, double size,
                               double min_size, double max_w, int bold, dn_align a,
                               unsigned rgb);

static const char *const font_dirs[] = {
    "/usr/share/fonts/truetype/dejavu/",
    "/usr/share/fonts/dejavu-sans-fonts/",
    "/usr/share/fonts/dejavu/",
    "/usr/share/fonts/TTF/",
    "/usr/share/fonts/truetype/",
};
static const char *const font_names[2] = { "DejaVuSans.ttf", "DejaVuSans-Bold.ttf" };

static pthread_once_t font_once = PTHREAD_ONCE_INIT;
static FT_Library ft_lib;
static cairo_font_face_t *faces[2];
static char font_paths[2][256];
static cairo_user_data_key_t face_key;

static void done_face(void *face) { FT_Done_Face((FT_Face)face); }

static void load_fonts(void)
{
    int have_lib = FT_Init_FreeType(&ft_lib) == 0;
    for (int b = 0; b < 2; b++) {
        for (size_t d = 0; have_lib && !faces[b] && d < sizeof font_dirs / sizeof *font_dirs; d++) {
            char path[256];
            snprintf(path, sizeof path, "%s%s", font_dirs[d], font_names[b]);
            FT_Face face;
            if (access(path, R_OK) != 0 || FT_New_Face(ft_lib, path, 0, &face) != 0) continue;
            cairo_font_face_t *f = cairo_ft_font_face_create_for_ft_face(face, FT_LOAD_NO_HINTING);
            if (cairo_font_face_status(f) != CAIRO_STATUS_SUCCESS
                || cairo_font_face_set_user_data(f, &face_key, face, done_face) != CAIRO_STATUS_SUCCESS) {
                cairo_font_face_destroy(f);
                FT_Done_Face(face);
                continue;
            }
            faces[b] = f;
            snprintf(font_paths[b], sizeof font_paths[b], "%s", path);
        }
        if (!faces[b])
            faces[b] = cairo_toy_font_face_create("sans-serif", CAIRO_FONT_SLANT_NORMAL,
                                                  b ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    }
}

const char *dn_draw_font_file(int bold)
{
    pthread_once(&font_once, load_fonts);
    return font_paths[bold != 0][0] ? font_paths[bold != 0] : NULL;
}

static void set_font(cairo_t *cr, double size, int bold)
{
    pthread_once(&font_once, load_fonts);
    cairo_set_font_face(cr, faces[bold != 0]);
    cairo_set_font_size(cr, size);
}

/* ---------------------------------------------------------------- pictures */

static void set_rgb(cairo_t *cr, unsigned rgb)
{
    cairo_set_source_rgb(cr, ((rgb >> 16) & 255) / 255.0, ((rgb >> 8) & 255) / 255.0,
                         (rgb & 255) / 255.0);
}

int dn_pic_init(dn_pic *p, int w, int h, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    if (w < 1 || h < 1 || w > DN_PIC_MAX_SIDE || h > DN_PIC_MAX_SIDE) {
        snprintf(err, errlen, "a picture of %dx%d pixels is too large (at most %d a side)",
                 w, h, DN_PIC_MAX_SIDE);
        return -1;
    }
    p->s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    if (cairo_surface_status(p->s) != CAIRO_STATUS_SUCCESS) {
        snprintf(err, errlen, "cannot make a %dx%d picture: %s", w, h,
                 cairo_status_to_string(cairo_surface_status(p->s)));
        cairo_surface_destroy(p->s);
        p->s = NULL;
        return -1;
    }
    p->cr = cairo_create(p->s);
    cairo_font_options_t *o = cairo_font_options_create();
    cairo_font_options_set_antialias(o, CAIRO_ANTIALIAS_GRAY);
    cairo_font_options_set_hint_style(o, CAIRO_HINT_STYLE_NONE);
    cairo_font_options_set_hint_metrics(o, CAIRO_HINT_METRICS_OFF);
    cairo_set_font_options(p->cr, o);
    cairo_font_options_destroy(o);
    set_rgb(p->cr, 0xffffff);
    cairo_paint(p->cr);
    p->w = w;
    p->h = h;
    return 0;
}

void dn_pic_fini(dn_pic *p)
{
    if (p->cr) cairo_destroy(p->cr);
    if (p->s) cairo_surface_destroy(p->s);
    memset(p, 0, sizeof *p);
}

typedef struct membuf {
    unsigned char *p;
    size_t n, cap;
    int oom;
} membuf;

static cairo_status_t write_mem(void *closure, const unsigned char *data, unsigned int len)
{
    membuf *m = closure;
    if (m->n + len > m->cap) {
        size_t cap = (m->n + len) * 2 + 4096;
        unsigned char *np = realloc(m->p, cap);
        if (!np) {
            m->oom = 1;
            return CAIRO_STATUS_NO_MEMORY;
        }
        m->p = np;
        m->cap = cap;
    }
    memcpy(m->p + m->n, data, len);
    m->n += len;
    return CAIRO_STATUS_SUCCESS;
}

int dn_pic_png(dn_pic *p, unsigned char **png, size_t *n, char *err, size_t errlen)
{
    cairo_surface_flush(p->s);
    membuf m = { 0 };
    cairo_status_t st = cairo_surface_write_to_png_stream(p->s, write_mem, &m);
    if (st != CAIRO_STATUS_SUCCESS || m.oom) {
        snprintf(err, errlen, "cannot encode the picture as PNG: %s",
                 m.oom ? "out of memory" : cairo_status_to_string(st));
        free(m.p);
        return -1;
    }
    *png = m.p;
    *n = m.n;
    return 0;
}

char *dn_base64(const unsigned char *p, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (n > (SIZE_MAX - 1) / 4 * 3 - 3) return NULL;
    char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;
    if (!out) return NULL;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        *o++ = tab[v >> 18];
        *o++ = tab[(v >> 12) & 63];
        *o++ = tab[(v >> 6) & 63];
        *o++ = tab[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
        *o++ = tab[v >> 18];
        *o++ = tab[(v >> 12) & 63];
        *o++ = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        *o++ = '=';
    }
    *o = 0;
    return out;
}

int dn_pic_bundle(dn_pic *p, const char *text, json_t **data, json_t **metadata,
                  char *err, size_t errlen)
{
    unsigned char *png;
    size_t n;
    if (dn_pic_png(p, &png, &n, err, errlen)) return -1;
    char *b64 = dn_base64(png, n);
    free(png);
    json_t *d = b64 ? json_pack("{s:s, s:s}", "image/png", b64, "text/plain", text) : NULL;
    json_t *md = json_pack("{s:{s:i, s:i}}", "image/png", "width", p->w, "height", p->h);
    free(b64);
    if (!d || !md) {
        json_decref(d);
        json_decref(md);
        snprintf(err, errlen, "out of memory (or text that is not UTF-8)");
        return -1;
    }
    *data = d;
    *metadata = md;
    return 0;
}

/* ---------------------------------------------------------------- text */

static double text_width(cairo_t *cr, const char *s, double size, int bold)
{
    set_font(cr, size, bold);
    cairo_text_extents_t e;
    cairo_text_extents(cr, s, &e);
    return e.x_advance;
}

static void text_at(cairo_t *cr, const char *s, double x, double y, double size, int bold,
                  dn_align a, unsigned rgb)
{
    double w = a == DN_LEFT ? 0 : text_width(cr, s, size, bold);
    set_font(cr, size, bold);
    set_rgb(cr, rgb);
    cairo_move_to(cr, a == DN_LEFT ? x : a == DN_CENTER ? x - w / 2 : x - w, y);
    cairo_show_text(cr, s);
    cairo_new_path(cr);
}

static double text_fit(cairo_t *cr, const char *s, double x, double y, double size,
                        double min_size, double max_w, int bold, dn_align a, unsigned rgb)
{
    double w = text_width(cr, s, size, bold);
    if (w > max_w && min_size < size) {
        double smaller = size * max_w / w;
        size = smaller < min_size ? min_size : floor(smaller * 4) / 4;
        w = text_width(cr, s, size, bold);
    }
    if (w <= max_w) {
        text_at(cr, s, x, y, size, bold, a, rgb);
        return size;
    }
    /* cut at a character boundary, with an ellipsis */
    size_t len = strlen(s);
    char *buf = malloc(len + 4);
    if (!buf) return size;
    size_t keep = len;
    while (keep > 0) {
        do keep--; while (keep > 0 && ((unsigned char)s[keep] & 0xc0) == 0x80);
        memcpy(buf, s, keep);
        memcpy(buf + keep, "\xe2\x80\xa6", 4);
        if (text_width(cr, buf, size, bold) <= max_w) break;
    }
    text_at(cr, buf, x, y, size, bold, a, rgb);
    free(buf);
    return size;
}

/* ---------------------------------------------------------------- image grids */

enum {
    MARGIN = 16,           /* around the whole picture */
    GAP = 16,              /* between tiles */
    HEAD_SIZE = 17,        /* heading */
    SUB_SIZE = 12,         /* the grey line under it */
    TITLE_SIZE = 13,       /* tile titles */
    TITLE_LINE = 17,
    CAPTION_SIZE = 11,
};

#define RGB_GREY 0x6a6a6au
#define RGB_FRAME 0xd0d0d0u

unsigned char *dn_draw_upscale(const unsigned char *rgb, int w, int h, int f)
{
    if (w < 1 || h < 1 || f < 1 || (long)w * f > DN_PIC_MAX_SIDE || (long)h * f > DN_PIC_MAX_SIDE)
        return NULL;
    int W = w * f;
    unsigned char *out = malloc((size_t)W * h * f * 3);
    if (!out) return NULL;
    for (int y = 0; y < h; y++) {
        unsigned char *row = out + (size_t)y * f * W * 3;
        for (int x = 0; x < w; x++)
            for (int k = 0; k < f; k++)
                memcpy(row + ((size_t)x * f + k) * 3, rgb + ((size_t)y * w + x) * 3, 3);
        for (int k = 1; k < f; k++) memcpy(row + (size_t)k * W * 3, row, (size_t)W * 3);
    }
    return out;
}

/* Copies RGB bytes into the surface at (x, y), pixel for pixel. */
static void blit(dn_pic *p, const unsigned char *rgb, int w, int h, int x0, int y0)
{
    cairo_surface_flush(p->s);
    unsigned char *base = cairo_image_surface_get_data(p->s);
    int stride = cairo_image_surface_get_stride(p->s);
    for (int y = 0; y < h; y++) {
        int yy = y0 + y;
        if (yy < 0 || yy >= p->h) continue;
        uint32_t *row = (uint32_t *)(base + (size_t)yy * stride);
        for (int x = 0; x < w; x++) {
            int xx = x0 + x;
            if (xx < 0 || xx >= p->w) continue;
            const unsigned char *s = rgb + ((size_t)y * w + x) * 3;
            row[xx] = 0xff000000u | (uint32_t)s[0] << 16 | (uint32_t)s[1] << 8 | s[2];
        }
    }
    cairo_surface_mark_dirty(p->s);
}

static int count_lines(const char *s)
{
    if (!s || !*s) return 0;
    int n = 1;
    for (; *s; s++) n += *s == '\n';
    return n;
}

/* The heading, and under it up to two smaller grey lines (sub, lines split at '\n'). */
static void heading(dn_pic *p, const char *head, const char *sub)
{
    double y = MARGIN + HEAD_SIZE;
    text_fit(p->cr, head, MARGIN, y, HEAD_SIZE, 11, p->w - 2 * MARGIN, 1, DN_LEFT, DN_RGB_TEXT);
    y += 6;
    for (int l = 0; sub && *sub && l < 2; l++) {
        const char *nl = strchr(sub, '\n');
        size_t len = nl ? (size_t)(nl - sub) : strlen(sub);
        char line[512];
        snprintf(line, sizeof line, "%.*s", (int)(len < sizeof line ? len : sizeof line - 1), sub);
        y += SUB_SIZE + 4;
        text_fit(p->cr, line, MARGIN, y, SUB_SIZE, 9, p->w - 2 * MARGIN, 0, DN_LEFT, RGB_GREY);
        sub += len + (nl != NULL);
    }
}

static int heading_height(const char *sub)
{
    int lines = count_lines(sub);
    return MARGIN + HEAD_SIZE + 6 + (lines > 2 ? 2 : lines) * (SUB_SIZE + 4) + 14;
}

/* The width a heading and its grey lines ask for, up to max. */
static int heading_width(const char *head, const char *sub, int max)
{
    dn_pic probe;
    char err[64];
    if (dn_pic_init(&probe, 1, 1, err, sizeof err)) return 0;
    double w = text_width(probe.cr, head, HEAD_SIZE, 1);
    for (const char *s = sub; s && *s;) {
        const char *nl = strchr(s, '\n');
        size_t len = nl ? (size_t)(nl - s) : strlen(s);
        char line[512];
        snprintf(line, sizeof line, "%.*s", (int)(len < sizeof line ? len : sizeof line - 1), s);
        double lw = text_width(probe.cr, line, SUB_SIZE, 0);
        if (lw > w) w = lw;
        s += len + (nl != NULL);
    }
    dn_pic_fini(&probe);
    int need = (int)ceil(w) + 2 * MARGIN;
    return need > max ? max : need;
}

int dn_draw_grid(const char *head, const char *sub, const dn_tile *tiles, int n, int cols,
                 dn_pic *out, dn_rect *at, char *err, size_t errlen)
{
    if (n < 1) {
        snprintf(err, errlen, "no images to draw");
        return -1;
    }
    if (cols <= 0) {
        int rows = (n + 3) / 4;
        cols = (n + rows - 1) / rows;
    }
    if (cols > n) cols = n;
    int rows = (n + cols - 1) / cols, lines = 0, caption = 0;
    for (int i = 0; i < n; i++) {
        int l = count_lines(tiles[i].title);
        if (l > lines) lines = l;
        if (tiles[i].caption) caption = 1;
        if (tiles[i].w > DN_TILE_BOX || tiles[i].h > DN_TILE_BOX || tiles[i].w < 1 || tiles[i].h < 1) {
            snprintf(err, errlen, "tile %d is %dx%d: images are fitted into %dx%d first", i,
                     tiles[i].w, tiles[i].h, DN_TILE_BOX, DN_TILE_BOX);
            return -1;
        }
    }
    if (lines > 2) lines = 2;
    int top = heading_height(sub);
    int cell_h = lines * TITLE_LINE + 4 + DN_TILE_BOX + (caption ? CAPTION_SIZE + 6 : 0) + GAP;
    int W = 2 * MARGIN + cols * DN_TILE_BOX + (cols - 1) * GAP;
    int hw = heading_width(head, sub, 800);   /* room for the heading, up to 800 */
    if (W < hw) W = hw;
    int H = top + rows * cell_h - GAP + MARGIN;
    if (dn_pic_init(out, W, H, err, errlen)) return -1;
    heading(out, head, sub);
    cairo_t *cr = out->cr;
    for (int i = 0; i < n; i++) {
        const dn_tile *t = &tiles[i];
        int cx = MARGIN + (i % cols) * (DN_TILE_BOX + GAP), cy = top + (i / cols) * cell_h;
        /* the title: up to two lines, centred over the box */
        const char *s = t->title ? t->title : "";
        for (int l = 0; l < lines && *s; l++) {
            const char *nl = strchr(s, '\n');
            size_t len = nl ? (size_t)(nl - s) : strlen(s);
            char line[256];
            snprintf(line, sizeof line, "%.*s", (int)(len < sizeof line ? len : sizeof line - 1), s);
            text_fit(cr, line, cx + DN_TILE_BOX / 2.0, cy + (l + 1) * TITLE_LINE - 4,
                             TITLE_SIZE, 9, DN_TILE_BOX, l == 0, DN_CENTER,
                             l == 0 ? t->color : RGB_GREY);
            s += len + (nl != NULL);
        }
        int by = cy + lines * TITLE_LINE + 4;
        int ix = cx + (DN_TILE_BOX - t->w) / 2, iy = by + (DN_TILE_BOX - t->h) / 2;
        /* a thin frame, so white images still show their edges */
        set_rgb(cr, RGB_FRAME);
        cairo_set_line_width(cr, 1);
        cairo_rectangle(cr, ix - 0.5, iy - 0.5, t->w + 1, t->h + 1);
        cairo_stroke(cr);
        blit(out, t->rgb, t->w, t->h, ix, iy);
        if (at) at[i] = (dn_rect){ ix, iy, t->w, t->h };
        if (t->caption)
            text_fit(cr, t->caption, cx + DN_TILE_BOX / 2.0,
                             by + DN_TILE_BOX + CAPTION_SIZE + 3, CAPTION_SIZE, 8, DN_TILE_BOX, 0,
                             DN_CENTER, RGB_GREY);
    }
    return 0;
}

/* ---------------------------------------------------------------- heat-map matrix */

/* matplotlib's _Blues_data: ColorBrewer's Blues, nine steps, linearly interpolated */
static const unsigned blues9[9] = { 0xf7fbff, 0xdeebf7, 0xc6dbef, 0x9ecae1, 0x6baed6,
                                    0x4292c6, 0x2171b5, 0x08519c, 0x08306b };

unsigned dn_blues(double t)
{
    if (!(t > 0)) t = 0;
    if (t > 1) t = 1;
    double pos = t * 8;
    int i = (int)pos;
    if (i >= 8) i = 7;
    double f = pos - i;
    unsigned out = 0;
    for (int sh = 16; sh >= 0; sh -= 8) {
        double a = (blues9[i] >> sh) & 255, b = (blues9[i + 1] >> sh) & 255;
        out |= (unsigned)lround(a + (b - a) * f) << sh;
    }
    return out;
}

static void number_text(char *buf, size_t len, double v, int decimals)
{
    if (decimals > 0) {
        snprintf(buf, len, "%.*f", decimals, v);
        return;
    }
    char raw[64];
    snprintf(raw, sizeof raw, "%.0f", v);
    /* thousands separators, as the tables show counts */
    size_t n = strlen(raw), k = 0;
    size_t digits = n - (raw[0] == '-');
    for (size_t i = 0; i < n && k + 2 < len; i++) {
        size_t left = n - i;
        if (i > (size_t)(raw[0] == '-') && left % 3 == 0 && digits > 3) buf[k++] = ',';
        buf[k++] = raw[i];
    }
    buf[k] = 0;
}

static double nice_step(double range, int target)
{
    if (!(range > 0)) return 1;
    double raw = range / target, mag = pow(10, floor(log10(raw))), f = raw / mag;
    double s = f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10;
    return s * mag;
}

/* decimals a tick label needs at this step */
static int step_decimals(double step)
{
    int d = 0;
    while (d < 8 && fabs(step * pow(10, d) - round(step * pow(10, d))) > 1e-9 * pow(10, d)) d++;
    return d;
}

int dn_draw_matrix(const char *head, const char *sub, int k, const char *const *names,
                   const double *values, int decimals, const char *row_label,
                   const char *col_label, dn_pic *out, dn_rect *cells, char *err, size_t errlen)
{
    if (k < 1 || k > 100) {
        snprintf(err, errlen, "a matrix of %d classes cannot be drawn (1 to 100)", k);
        return -1;
    }
    dn_pic probe;
    if (dn_pic_init(&probe, 1, 1, err, errlen)) return -1;
    int c = (int)lround(360.0 / k);
    if (c > 120) c = 120;
    if (c < 40) c = 40;
    double name_size = 13, num_size = c * 0.18;
    if (num_size > 20) num_size = 20;
    if (num_size < 10) num_size = 10;
    double vmax = 0;
    for (int i = 0; i < k * k; i++)
        if (values[i] > vmax) vmax = values[i];
    double wrow = 0, wcol = 0;
    for (int i = 0; i < k; i++) {
        double w = text_width(probe.cr, names[i], name_size, 0);
        if (w > wrow) wrow = w;
        if (w > wcol) wcol = w;
    }
    if (wrow > 200) wrow = 200;
    if (wcol > 200) wcol = 200;
    int rotate = wcol > c - 8;
    int col_h = rotate ? (int)ceil(wcol * M_SQRT1_2 + name_size) + 6 : (int)name_size + 8;
    /* colour bar ticks */
    double step = nice_step(vmax, 4);
    int tdec = decimals > 0 ? step_decimals(step) : 0;
    double wtick = 0;
    for (double v = 0; v <= vmax * (1 + 1e-9) + 1e-12; v += step) {
        char t[64];
        number_text(t, sizeof t, v, tdec);
        double w = text_width(probe.cr, t, 11, 0);
        if (w > wtick) wtick = w;
        if (vmax <= 0) break;
    }
    dn_pic_fini(&probe);

    int top = heading_height(sub);
    int x_label = MARGIN, x_names = x_label + 22, x0 = x_names + (int)ceil(wrow) + 8;
    int y0 = top + 4, mat = k * c;
    int x_bar = x0 + mat + 20, bar_w = 16;
    int W = x_bar + bar_w + 6 + (int)ceil(wtick) + MARGIN;
    int H = y0 + mat + 6 + col_h + 22 + MARGIN;
    int hw = heading_width(head, sub, 800);
    if (W < hw) W = hw;
    if (W < 360) W = 360;
    if (dn_pic_init(out, W, H, err, errlen)) return -1;
    cairo_t *cr = out->cr;
    heading(out, head, sub);
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) {
            double v = values[i * k + j], t = vmax > 0 ? v / vmax : 0;
            int x = x0 + j * c, y = y0 + i * c;
            set_rgb(cr, dn_blues(t));
            cairo_rectangle(cr, x, y, c, c);
            cairo_fill(cr);
            if (cells) cells[i * k + j] = (dn_rect){ x, y, c, c };
            char num[64];
            number_text(num, sizeof num, v, decimals);
            text_fit(cr, num, x + c / 2.0, y + c / 2.0 + num_size * 0.36, num_size, 7,
                             c - 4, 0, DN_CENTER, v > vmax / 2 ? 0xffffff : 0x000000);
        }
    set_rgb(cr, 0x404040);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, x0 - 0.5, y0 - 0.5, mat + 1, mat + 1);
    cairo_stroke(cr);
    /* row names, right-aligned beside their rows */
    for (int i = 0; i < k; i++)
        text_fit(cr, names[i], x0 - 8, y0 + i * c + c / 2.0 + name_size * 0.36, name_size,
                         8, wrow, 0, DN_RIGHT, DN_RGB_TEXT);
    /* column names under their columns: level, or at 45 degrees when they are too wide
     * (then each ends at its column's middle and hangs down to the left) */
    for (int j = 0; j < k; j++) {
        double cx = x0 + j * c + c / 2.0, ty = y0 + mat + 6;
        if (!rotate) {
            text_fit(cr, names[j], cx, ty + name_size, name_size, 8, c - 4, 0, DN_CENTER,
                             DN_RGB_TEXT);
            continue;
        }
        cairo_save(cr);
        cairo_translate(cr, cx + name_size * 0.3, ty + 2);
        cairo_rotate(cr, -M_PI / 4);
        text_fit(cr, names[j], 0, 0, name_size, 8, 200, 0, DN_RIGHT, DN_RGB_TEXT);
        cairo_restore(cr);
    }
    /* axis labels */
    text_at(cr, col_label, x0 + mat / 2.0, y0 + mat + 6 + col_h + 16, 13, 1, DN_CENTER, DN_RGB_TEXT);
    cairo_save(cr);
    cairo_translate(cr, x_label + 13, y0 + mat / 2.0);
    cairo_rotate(cr, -M_PI / 2);
    text_at(cr, row_label, 0, 0, 13, 1, DN_CENTER, DN_RGB_TEXT);
    cairo_restore(cr);
    /* the colour bar: 0 at the bottom, the largest value at the top */
    for (int y = 0; y < mat; y++) {
        set_rgb(cr, dn_blues(1.0 - (y + 0.5) / mat));
        cairo_rectangle(cr, x_bar, y0 + y, bar_w, 1);
        cairo_fill(cr);
    }
    set_rgb(cr, 0x404040);
    cairo_rectangle(cr, x_bar - 0.5, y0 - 0.5, bar_w + 1, mat + 1);
    cairo_stroke(cr);
    for (double v = 0; v <= vmax * (1 + 1e-9) + 1e-12; v += step) {
        double y = vmax > 0 ? y0 + mat - v / vmax * mat : y0 + mat;
        char t[64];
        number_text(t, sizeof t, v, tdec);
        set_rgb(cr, 0x404040);
        cairo_move_to(cr, x_bar + bar_w, floor(y) + 0.5);
        cairo_line_to(cr, x_bar + bar_w + 4, floor(y) + 0.5);
        cairo_stroke(cr);
        text_at(cr, t, x_bar + bar_w + 6, y + 4, 11, 0, DN_LEFT, DN_RGB_TEXT);
        if (vmax <= 0) break;
    }
    return 0;
}

/* ---------------------------------------------------------------- line charts */

enum { PANEL_W = 300, PANEL_H = 220, AXIS_W = 52, PANEL_GAP = 36 };

static void axis_range(const dn_panel *p, double *lo, double *hi)
{
    double a = INFINITY, b = -INFINITY;
    for (int s = 0; s < p->nseries; s++)
        for (int i = 0; i < p->series[s].n; i++) {
            double y = p->series[s].y[i];
            if (isnan(y) || isinf(y)) continue;
            if (y < a) a = y;
            if (y > b) b = y;
        }
    if (a > b) { a = 0; b = 1; }
    if (b - a < 1e-9 * (fabs(a) + 1)) {   /* one value: a band around it */
        double half = fabs(a) > 0 ? fabs(a) * 0.1 : 0.5;
        a -= half;
        b += half;
    }
    double pad = (b - a) * 0.08;
    a -= pad;
    b += pad;
    *lo = a;
    *hi = b;
}

int dn_draw_chart(const char *head, const dn_panel *panels, int npanels, const char *xlabel,
                  const double *marks, const char *const *mark_labels, int nmarks, dn_pic *out,
                  char *err, size_t errlen)
{
    if (npanels < 1 || npanels > 4) {
        snprintf(err, errlen, "a chart has 1 to 4 panels, not %d", npanels);
        return -1;
    }
    double xmin = INFINITY, xmax = -INFINITY;
    for (int p = 0; p < npanels; p++)
        for (int s = 0; s < panels[p].nseries; s++)
            for (int i = 0; i < panels[p].series[s].n; i++) {
                double x = panels[p].series[s].x[i];
                if (x < xmin) xmin = x;
                if (x > xmax) xmax = x;
            }
    if (xmin > xmax) { xmin = 0; xmax = 1; }
    if (xmax - xmin < 1) { xmin -= 0.5; xmax += 0.5; }
    double xpad = (xmax - xmin) * 0.05;
    xmin -= xpad;
    xmax += xpad;
    int legend_y = heading_height(NULL) + 2, top = legend_y + 34;
    int W = MARGIN + npanels * (AXIS_W + PANEL_W) + (npanels - 1) * PANEL_GAP + MARGIN;
    int H = top + PANEL_H + 44 + MARGIN;
    int hw = heading_width(head, NULL, 1200);
    if (W < hw) W = hw;
    if (dn_pic_init(out, W, H, err, errlen)) return -1;
    cairo_t *cr = out->cr;
    heading(out, head, NULL);
    /* one legend for all panels (their series share names and styles), under the heading */
    double lx = MARGIN + AXIS_W;
    for (int s = 0; s < panels[0].nseries; s++) {
        const dn_series *se = &panels[0].series[s];
        static const double dash[] = { 6, 4 };
        set_rgb(cr, se->color);
        cairo_set_line_width(cr, 2);
        cairo_set_dash(cr, se->dashed ? dash : NULL, se->dashed ? 2 : 0, 0);
        cairo_move_to(cr, lx, legend_y - 4);
        cairo_line_to(cr, lx + 26, legend_y - 4);
        cairo_stroke(cr);
        cairo_set_dash(cr, NULL, 0, 0);
        cairo_arc(cr, lx + 13, legend_y - 4, 3.2, 0, 2 * M_PI);
        cairo_fill(cr);
        text_at(cr, se->name, lx + 32, legend_y, 12, 0, DN_LEFT, DN_RGB_TEXT);
        lx += 32 + text_width(cr, se->name, 12, 0) + 24;
    }
    double xstep = nice_step(xmax - xmin, 8);
    if (xstep < 1) xstep = 1;
    for (int p = 0; p < npanels; p++) {
        const dn_panel *pn = &panels[p];
        int px = MARGIN + p * (AXIS_W + PANEL_W + PANEL_GAP) + AXIS_W, py = top;
        double lo, hi;
        axis_range(pn, &lo, &hi);
        double ystep = nice_step(hi - lo, 5);
        int ydec = step_decimals(ystep);
#define X_AT(x) (px + ((x) - xmin) / (xmax - xmin) * PANEL_W)
#define Y_AT(y) (py + PANEL_H - ((y) - lo) / (hi - lo) * PANEL_H)
        text_at(cr, pn->title, px + PANEL_W / 2.0, py - 8, 13, 1, DN_CENTER, DN_RGB_TEXT);
        /* grid and ticks */
        cairo_set_line_width(cr, 1);
        for (double v = ceil(lo / ystep) * ystep; v <= hi + 1e-12; v += ystep) {
            double y = floor(Y_AT(v)) + 0.5;
            set_rgb(cr, 0xeaeaea);
            cairo_move_to(cr, px, y);
            cairo_line_to(cr, px + PANEL_W, y);
            cairo_stroke(cr);
            char t[64];
            snprintf(t, sizeof t, "%.*f", ydec, fabs(v) < ystep * 1e-6 ? 0.0 : v);
            text_at(cr, t, px - 6, y + 4, 11, 0, DN_RIGHT, DN_RGB_TEXT);
        }
        for (double v = ceil(xmin / xstep) * xstep; v <= xmax + 1e-12; v += xstep) {
            double x = floor(X_AT(v)) + 0.5;
            set_rgb(cr, 0x404040);
            cairo_move_to(cr, x, py + PANEL_H);
            cairo_line_to(cr, x, py + PANEL_H + 4);
            cairo_stroke(cr);
            char t[64];
            snprintf(t, sizeof t, "%.0f", v);
            text_at(cr, t, x, py + PANEL_H + 16, 11, 0, DN_CENTER, DN_RGB_TEXT);
        }
        for (int m = 0; m < nmarks; m++) {
            if (marks[m] < xmin || marks[m] > xmax) continue;
            double x = floor(X_AT(marks[m])) + 0.5;
            static const double dots[] = { 2, 3 };
            cairo_set_dash(cr, dots, 2, 0);
            set_rgb(cr, 0x9a9a9a);
            cairo_move_to(cr, x, py);
            cairo_line_to(cr, x, py + PANEL_H);
            cairo_stroke(cr);
            cairo_set_dash(cr, NULL, 0, 0);
            if (mark_labels && mark_labels[m])
                text_at(cr, mark_labels[m], x + 3, py + PANEL_H - 5, 10, 0, DN_LEFT, RGB_GREY);
        }
        set_rgb(cr, 0x404040);
        cairo_rectangle(cr, px - 0.5, py - 0.5, PANEL_W + 1, PANEL_H + 1);
        cairo_stroke(cr);
        /* the series, clipped to the panel */
        cairo_save(cr);
        cairo_rectangle(cr, px, py, PANEL_W, PANEL_H);
        cairo_clip(cr);
        for (int s = 0; s < pn->nseries; s++) {
            const dn_series *se = &pn->series[s];
            set_rgb(cr, se->color);
            cairo_set_line_width(cr, 2);
            static const double dash[] = { 6, 4 };
            cairo_set_dash(cr, se->dashed ? dash : NULL, se->dashed ? 2 : 0, 0);
            int pen = 0;
            for (int i = 0; i < se->n; i++) {
                if (isnan(se->y[i]) || isinf(se->y[i])) { pen = 0; continue; }
                if (pen) cairo_line_to(cr, X_AT(se->x[i]), Y_AT(se->y[i]));
                else cairo_move_to(cr, X_AT(se->x[i]), Y_AT(se->y[i]));
                pen = 1;
            }
            cairo_stroke(cr);
            cairo_set_dash(cr, NULL, 0, 0);
            for (int i = 0; i < se->n; i++) {
                if (isnan(se->y[i]) || isinf(se->y[i])) continue;
                cairo_arc(cr, X_AT(se->x[i]), Y_AT(se->y[i]), 3.2, 0, 2 * M_PI);
                cairo_fill(cr);
            }
        }
        cairo_restore(cr);
        if (pn->ylabel) {
            cairo_save(cr);
            cairo_translate(cr, px - AXIS_W + 10, py + PANEL_H / 2.0);
            cairo_rotate(cr, -M_PI / 2);
            text_at(cr, pn->ylabel, 0, 0, 12, 0, DN_CENTER, DN_RGB_TEXT);
            cairo_restore(cr);
        }
        if (xlabel)
            text_at(cr, xlabel, px + PANEL_W / 2.0, py + PANEL_H + 34, 12, 0, DN_CENTER, DN_RGB_TEXT);
#undef X_AT
#undef Y_AT
    }
    return 0;
}
