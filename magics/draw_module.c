/* draw_module.c — deepnb-draw.so's table (draw_api.h): the module's one exported symbol.
 * Built into the module only; the rest of deepnb reaches these through draw.c. */
#include "draw_api.h"

#include "dn_config.h"

const dn_draw_api dn_module_api = {
    .head = DN_MODULE_HEAD("draw", DN_DRAW_API_ABI, dn_draw_api),
    .pic_init = dn_pic_init,
    .pic_fini = dn_pic_fini,
    .pic_png = dn_pic_png,
    .pic_bundle = dn_pic_bundle,
    .base64 = dn_base64,
    .font_file = dn_draw_font_file,
    .grid = dn_draw_grid,
    .upscale = dn_draw_upscale,
    .blues = dn_blues,
    .matrix = dn_draw_matrix,
    .chart = dn_draw_chart,
};
