/* draw.h — pictures of results, drawn with cairo into PNG bytes for Jupyter's image/png:
 * grids of images with titles (%plots, %top_losses), a heat-map matrix
 * (%confusion_matrix) and line charts (%plot_history).
 *
 * Text is drawn in DejaVu Sans, read from its file (Debian's fonts-dejavu-core) through
 * FreeType with fixed options (grey antialiasing, no hinting), so a picture does not
 * depend on the machine's fontconfig settings and the same drawing gives the same PNG
 * bytes. When no DejaVu file is found, cairo's "sans-serif" (fontconfig) stands in.
 *
 * Knows nothing about cells: commands (cmd_results.c) choose what to draw and send the
 * bundle. Every function that can fail returns 0 or -1 with err.
 *
 * The drawing is the module deepnb-draw.so (draw_api.h, draw_cairo.c): cairo, pixman,
 * FreeType and fontconfig are mapped at the first picture, not at start-up. These
 * functions open it at their first call; when it cannot be opened, those that can fail
 * say why in err, and the others do nothing (dn_blues gives 0, dn_base64 and
 * dn_draw_upscale NULL, dn_draw_font_file NULL). */
#ifndef DN_DRAW_H
#define DN_DRAW_H

#include <jansson.h>
#include <stddef.h>

/* ---------------------------------------------------------------- a picture */

/* cairo's own types (cairo_surface_t, cairo_t), named without cairo.h */
struct _cairo_surface;
struct _cairo;

typedef struct dn_pic {
    struct _cairo_surface *s;    /* RGB24 image surface, white */
    struct _cairo *cr;           /* with the font options above */
    int w, h;
} dn_pic;

/* Side limit of a picture, so no argument can ask for gigabytes. */
#define DN_PIC_MAX_SIDE 8192

int dn_pic_init(dn_pic *p, int w, int h, char *err, size_t errlen);
void dn_pic_fini(dn_pic *p);
/* The picture as PNG bytes (malloc'd; the caller frees *png). */
int dn_pic_png(dn_pic *p, unsigned char **png, size_t *n, char *err, size_t errlen);
/* {"image/png": base64 PNG, "text/plain": text} and {"image/png": {"width", "height"}}:
 * new references. */
int dn_pic_bundle(dn_pic *p, const char *text, json_t **data, json_t **metadata,
                  char *err, size_t errlen);

/* RFC 4648 base64 with padding, NUL-terminated; NULL on no memory. */
char *dn_base64(const unsigned char *p, size_t n);

/* The font file used for regular (bold = 0) or bold text, or NULL (fontconfig's). */
const char *dn_draw_font_file(int bold);

/* ---------------------------------------------------------------- image grids */

/* Side of the square each tile's image is fitted into: four tiles make a row about 800
 * pixels wide. */
#define DN_TILE_BOX 176

/* Colours of titles: a right answer, a wrong one, neither known. */
#define DN_RGB_RIGHT 0x1a7f37u
#define DN_RGB_WRONG 0xc0392bu
#define DN_RGB_TEXT 0x202020u

typedef struct dn_tile {
    const unsigned char *rgb;  /* w x h RGB bytes, drawn pixel for pixel (already scaled) */
    int w, h;                  /* at most DN_TILE_BOX */
    const char *title;         /* one or two lines ("a\nb") above the image */
    const char *caption;       /* a small grey line below it (a file name), or NULL */
    unsigned color;            /* the title's first line, 0xRRGGBB */
} dn_tile;

typedef struct dn_rect { int x, y, w, h; } dn_rect;

/* A heading line, a smaller grey line under it (may be NULL), then the tiles in rows of
 * cols (0: up to 4 a row, the rows balanced: 9 tiles make 3 rows of 3). Where each
 * tile's image went is written to at (n rects) when at is not NULL. */
int dn_draw_grid(const char *heading, const char *subheading, const dn_tile *tiles, int n,
                 int cols, dn_pic *out, dn_rect *at, char *err, size_t errlen);

/* Integer upscaling by nearest neighbour (each pixel becomes f x f), or a copy when f is
 * 1: malloc'd w*f x h*f RGB bytes, NULL on no memory. */
unsigned char *dn_draw_upscale(const unsigned char *rgb, int w, int h, int f);

/* ---------------------------------------------------------------- heat-map matrix */

/* matplotlib's Blues colour map (ColorBrewer's nine steps, interpolated) at t in [0, 1]:
 * near white at 0, dark blue at 1. 0xRRGGBB. */
unsigned dn_blues(double t);

/* A heading, a grey line under it (sub, may be NULL), and a k x k matrix of values:
 * row i is true class i, column j predicted class j; cells
 * coloured dn_blues(v / max) with v written in them (decimals after the point; 0: whole
 * numbers with thousands separators), white on dark cells (v > max / 2) and black on
 * light ones; class names on both axes, row_label and col_label beside them, a colour
 * bar on the right. The cells' rectangles (k*k, row-major) go to cells when not NULL. */
int dn_draw_matrix(const char *heading, const char *sub, int k, const char *const *names,
                   const double *values, int decimals, const char *row_label,
                   const char *col_label, dn_pic *out, dn_rect *cells, char *err,
                   size_t errlen);

/* ---------------------------------------------------------------- line charts */

typedef struct dn_series {
    const char *name;      /* in the legend */
    const double *x, *y;   /* n points; NaN y values are left out */
    int n;
    unsigned color;
    int dashed;
} dn_series;

typedef struct dn_panel {
    const char *title;     /* above the panel */
    const char *ylabel;
    const dn_series *series;
    int nseries;
} dn_panel;

/* Panels side by side, sharing the x axis' label (whole-number ticks: epochs) and one
 * legend under the heading (the first panel's series: the panels' series are the same
 * names and styles). marks (may be NULL) are x positions of dotted vertical lines, each
 * with a small label. */
int dn_draw_chart(const char *heading, const dn_panel *panels, int npanels,
                  const char *xlabel, const double *marks, const char *const *mark_labels,
                  int nmarks, dn_pic *out, char *err, size_t errlen);

#endif
