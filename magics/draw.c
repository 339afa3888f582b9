/* draw.c — draw.h's functions for the rest of deepnb: each opens the drawing module
 * (draw_api.h) at its first call and calls its function. Nothing here includes cairo.h,
 * so a kernel maps cairo at its first picture. */
#include "draw_api.h"

#include <string.h>

static const dn_draw_api *module(char *err, size_t errlen)
{
    return dn_module_open("draw", "draws pictures: plots, confusion matrices, charts",
                          "magics", DN_DRAW_API_ABI, sizeof(dn_draw_api), err, errlen);
}

int dn_pic_init(dn_pic *p, int w, int h, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    const dn_draw_api *m = module(err, errlen);
    return m ? m->pic_init(p, w, h, err, errlen) : -1;
}

void dn_pic_fini(dn_pic *p)
{
    if (!p->s && !p->cr)
        return;  /* never drawn on: no need of the module */
    const dn_draw_api *m = module(NULL, 0);
    if (m)
        m->pic_fini(p);
}

int dn_pic_png(dn_pic *p, unsigned char **png, size_t *n, char *err, size_t errlen)
{
    const dn_draw_api *m = module(err, errlen);
    return m ? m->pic_png(p, png, n, err, errlen) : -1;
}

int dn_pic_bundle(dn_pic *p, const char *text, json_t **data, json_t **metadata, char *err,
                  size_t errlen)
{
    const dn_draw_api *m = module(err, errlen);
    return m ? m->pic_bundle(p, text, data, metadata, err, errlen) : -1;
}

char *dn_base64(const unsigned char *p, size_t n)
{
    const dn_draw_api *m = module(NULL, 0);
    return m ? m->base64(p, n) : NULL;
}

const char *dn_draw_font_file(int bold)
{
    const dn_draw_api *m = module(NULL, 0);
    return m ? m->font_file(bold) : NULL;
}

int dn_draw_grid(const char *heading, const char *subheading, const dn_tile *tiles, int n,
                 int cols, dn_pic *out, dn_rect *at, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    const dn_draw_api *m = module(err, errlen);
    return m ? m->grid(heading, subheading, tiles, n, cols, out, at, err, errlen) : -1;
}

unsigned char *dn_draw_upscale(const unsigned char *rgb, int w, int h, int f)
{
    const dn_draw_api *m = module(NULL, 0);
    return m ? m->upscale(rgb, w, h, f) : NULL;
}

unsigned dn_blues(double t)
{
    const dn_draw_api *m = module(NULL, 0);
    return m ? m->blues(t) : 0;
}

int dn_draw_matrix(const char *heading, const char *sub, int k, const char *const *names,
                   const double *values, int decimals, const char *row_label,
                   const char *col_label, dn_pic *out, dn_rect *cells, char *err,
                   size_t errlen)
{
    memset(out, 0, sizeof *out);
    const dn_draw_api *m = module(err, errlen);
    return m ? m->matrix(heading, sub, k, names, values, decimals, row_label, col_label, out,
                         cells, err, errlen)
             : -1;
}

int dn_draw_chart(const char *heading, const dn_panel *panels, int npanels, const char *xlabel,
                  const double *marks, const char *const *mark_labels, int nmarks, dn_pic *out,
                  char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    const dn_draw_api *m = module(err, errlen);
    return m ? m->chart(heading, panels, npanels, xlabel, marks, mark_labels, nmarks, out, err,
                        errlen)
             : -1;
}
