/* jpeg.c — JPEG through libjpeg-turbo, with the library's own DCT scaling so big
 * photos are decoded at a fraction of their size before the resize. Default IDCT
 * (ISLOW) and fancy upsampling, as Pillow uses, so full-size pixels match Pillow's. */
#include "data/image.h"

#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

typedef struct jerr {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
} jerr;

static void on_error(j_common_ptr c)
{
    jerr *e = (jerr *)c->err;
    c->err->format_message(c, e->msg);
    longjmp(e->jump, 1);
}

/* Pillow refuses a file cut short ("image file is truncated"); libjpeg would only
 * warn and pad it with grey, so that warning is made an error here. Other warnings
 * (recoverable corrupt data) are ignored, as Pillow ignores them. */
static void on_message(j_common_ptr c, int level)
{
    if (level < 0 && c->err->msg_code == JWRN_JPEG_EOF) {
        jerr *e = (jerr *)c->err;
        snprintf(e->msg, sizeof e->msg, "truncated JPEG (data ends early)");
        longjmp(e->jump, 1);
    }
}

/* Scales 1/8, 1/4 and 1/2 have SIMD IDCTs in libjpeg-turbo; the other n/8 scales
 * measured slower than a full-size decode, so only these are used. */
static int pick_scale(struct jpeg_decompress_struct *c, int min_w, int min_h)
{
    static const int nums[] = {1, 2, 4};
    if (min_w <= 0 || min_h <= 0)
        return 8;
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        long w = ((long)c->image_width * nums[i] + 7) / 8;
        long h = ((long)c->image_height * nums[i] + 7) / 8;
        if (w >= min_w && h >= min_h)
            return nums[i];
    }
    return 8;
}

int dn_jpeg_decode(const unsigned char *buf, size_t n, int min_w, int min_h,
                   dn_image *out, char *err, size_t errlen)
{
    struct jpeg_decompress_struct c;
    jerr e;
    c.err = jpeg_std_error(&e.pub);
    e.pub.error_exit = on_error;
    e.pub.emit_message = on_message;
    e.msg[0] = 0;
    jpeg_create_decompress(&c);
    if (setjmp(e.jump)) {
        snprintf(err, errlen, "bad JPEG: %s", e.msg);
        jpeg_destroy_decompress(&c);
        return -1;
    }
    jpeg_mem_src(&c, buf, (unsigned long)n);
    jpeg_read_header(&c, TRUE);
    if (c.jpeg_color_space == JCS_CMYK || c.jpeg_color_space == JCS_YCCK) {
        snprintf(err, errlen, "CMYK JPEG images are not supported");
        jpeg_destroy_decompress(&c);
        return -1;
    }
    c.out_color_space = JCS_RGB;
    c.scale_num = (unsigned)pick_scale(&c, min_w, min_h);
    c.scale_denom = 8;
    jpeg_calc_output_dimensions(&c);
    if (dn_image_reserve(out, (int)c.output_width, (int)c.output_height, err, errlen) != 0) {
        jpeg_destroy_decompress(&c);
        return -1;
    }
    jpeg_start_decompress(&c);
    size_t stride = (size_t)out->w * 3;
    while (c.output_scanline < c.output_height) {
        JSAMPROW rows[4];
        int k = 0;
        for (; k < 4 && c.output_scanline + (unsigned)k < c.output_height; k++)
            rows[k] = out->px + (c.output_scanline + (unsigned)k) * stride;
        jpeg_read_scanlines(&c, rows, (JDIMENSION)k);
    }
    jpeg_finish_decompress(&c);
    jpeg_destroy_decompress(&c);
    return 0;
}
