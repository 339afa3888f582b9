/* draw_api.h — the drawing module's table (runtime/core/module.h): draw.h's functions
 * live in deepnb-draw.so (draw_cairo.c), so that a kernel maps cairo, pixman, FreeType,
 * fontconfig and X11's client libraries only at its first picture. draw.c gives them to
 * the rest of deepnb by calling through this table; draw_module.c is the module's side. */
#ifndef DN_DRAW_API_H
#define DN_DRAW_API_H

#include "core/module.h"
#include "draw.h"

#define DN_DRAW_API_ABI 1

typedef struct dn_draw_api {
    dn_module_head head;
    int (*pic_init)(dn_pic *p, int w, int h, char *err, size_t errlen);
    void (*pic_fini)(dn_pic *p);
    int (*pic_png)(dn_pic *p, unsigned char **png, size_t *n, char *err, size_t errlen);
    int (*pic_bundle)(dn_pic *p, const char *text, json_t **data, json_t **metadata,
                      char *err, size_t errlen);
    char *(*base64)(const unsigned char *p, size_t n);
    const char *(*font_file)(int bold);
    int (*grid)(const char *heading, const char *subheading, const dn_tile *tiles, int n,
                int cols, dn_pic *out, dn_rect *at, char *err, size_t errlen);
    unsigned char *(*upscale)(const unsigned char *rgb, int w, int h, int f);
    unsigned (*blues)(double t);
    int (*matrix)(const char *heading, const char *sub, int k, const char *const *names,
                  const double *values, int decimals, const char *row_label,
                  const char *col_label, dn_pic *out, dn_rect *cells, char *err,
                  size_t errlen);
    int (*chart)(const char *heading, const dn_panel *panels, int npanels,
                 const char *xlabel, const double *marks, const char *const *mark_labels,
                 int nmarks, dn_pic *out, char *err, size_t errlen);
} dn_draw_api;

#endif
