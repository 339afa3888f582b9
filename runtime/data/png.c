/* png.c — PNG through libpng: every colour type and depth, interlaced or not,
 * reduced to 8-bit RGB as Pillow's convert('RGB') does (alpha and tRNS ignored,
 * palette expanded, 16-bit samples keep their high byte). */
#include "data/image.h"

#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

typedef struct memsrc {
    const unsigned char *buf;
    size_t n, pos;
    char msg[160];
    png_bytep *rows;
} memsrc;

static void on_read(png_structp png, png_bytep data, size_t len)
{
    memsrc *m = png_get_io_ptr(png);
    if (len > m->n - m->pos)
        png_error(png, "data ends early");
    memcpy(data, m->buf + m->pos, len);
    m->pos += len;
}

/* errno tells a caller whether trying again may help (image.h): libpng says "Out of
 * memory" (or "Insufficient memory") when its own allocations fail */
static void on_error(png_structp png, png_const_charp msg)
{
    memsrc *m = png_get_error_ptr(png);
    snprintf(m->msg, sizeof m->msg, "%s", msg);
    errno = strcasestr(msg, "memory") ? ENOMEM : EILSEQ;
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

int dn_png_decode(const unsigned char *buf, size_t n, dn_image *out,
                  char *err, size_t errlen)
{
    memsrc m = {.buf = buf, .n = n};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &m, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        snprintf(err, errlen, "out of memory starting libpng");
        return -1;
    }
    if (setjmp(png_jmpbuf(png))) {
        if (m.msg[0] && strstr(m.msg, "data ends early"))
            snprintf(err, errlen, "truncated PNG (data ends early)");
        else
            snprintf(err, errlen, "bad PNG: %s", m.msg);
        free(m.rows);
        png_destroy_read_struct(&png, &info, NULL);
        return -1;
    }
    png_set_read_fn(png, &m, on_read);
    png_set_user_limits(png, DN_IMAGE_MAX_SIDE, DN_IMAGE_MAX_SIDE);
    png_read_info(png, info);

    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    int depth = png_get_bit_depth(png, info), ct = png_get_color_type(png, info);
    if (ct == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(png);
    if (ct == PNG_COLOR_TYPE_GRAY && depth < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    if (depth == 16)
        png_set_strip_16(png);
    /* palette expansion also turns tRNS into alpha, so strip it for those too */
    if ((ct & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, info, PNG_INFO_tRNS))
        png_set_strip_alpha(png);
    if (!(ct & PNG_COLOR_MASK_COLOR))
        png_set_gray_to_rgb(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != (size_t)w * 3)
        png_error(png, "unexpected row layout after conversion to RGB");
    if (dn_image_reserve(out, (int)w, (int)h, m.msg, sizeof m.msg) != 0)
        png_longjmp(png, 1);
    m.rows = malloc(sizeof *m.rows * h);
    if (!m.rows)
        png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < h; y++)
        m.rows[y] = out->px + (size_t)y * w * 3;
    png_read_image(png, m.rows);
    png_read_end(png, NULL);
    free(m.rows);
    png_destroy_read_struct(&png, &info, NULL);
    return 0;
}
