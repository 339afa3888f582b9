/* jpeg.c — JPEG through libjpeg-turbo, with the library's own DCT scaling so big
 * photos are decoded at a fraction of their size before the resize. Default IDCT
 * (ISLOW) and fancy upsampling, as Pillow uses, so full-size pixels match Pillow's. */
#include "data/image.h"
#include "data/resize.h"

#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

typedef struct jerr {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
} jerr;

/* errno tells a caller whether trying again may help (image.h) */
static void on_error(j_common_ptr c)
{
    jerr *e = (jerr *)c->err;
    c->err->format_message(c, e->msg);
    errno = c->err->msg_code == JERR_OUT_OF_MEMORY ? ENOMEM : EILSEQ;
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
        errno = EILSEQ;
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

/* Planes the raw path takes: grey, or YCbCr whose chroma is at full resolution or
 * halved across and/or down (4:4:4, 4:2:2, 4:4:0, 4:2:0). */
static int raw_ok(const struct jpeg_decompress_struct *c)
{
    if (c->jpeg_color_space == JCS_GRAYSCALE && c->num_components == 1)
        return 1;
    if (c->jpeg_color_space != JCS_YCbCr || c->num_components != 3)
        return 0;
    const jpeg_component_info *k = c->comp_info;
    return k[0].h_samp_factor <= 2 && k[0].v_samp_factor <= 2 &&
           k[1].h_samp_factor == 1 && k[1].v_samp_factor == 1 &&
           k[2].h_samp_factor == 1 && k[2].v_samp_factor == 1;
}

int dn_jpeg_decode_resize(const unsigned char *buf, size_t n, dn_image *scratch,
                          dn_resizer *rz, float *dst, int dw, int dh, dn_preprocess pre,
                          char *err, size_t errlen)
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
    if (!raw_ok(&c)) {
        jpeg_destroy_decompress(&c);
        return 1;
    }
    c.raw_data_out = TRUE;
    c.scale_num = (unsigned)pick_scale(&c, dw, dh);
    c.scale_denom = 8;
    jpeg_calc_output_dimensions(&c);
    int np = c.num_components;
    dn_plane pl[3];
    size_t off[3], total = 0;
    int iw = (int)c.output_width, ih = (int)c.output_height;
    if (iw <= 0 || ih <= 0 || iw > DN_IMAGE_MAX_SIDE || ih > DN_IMAGE_MAX_SIDE ||
        (long)iw * ih > DN_IMAGE_MAX_PIXELS) {
        snprintf(err, errlen, "image size %dx%d is out of range", iw, ih);
        jpeg_destroy_decompress(&c);
        return -1;
    }
    /* Each plane is held whole: rows of whole blocks, as many as the iMCU rows
     * hold (jpeg_read_raw_data writes full iMCU rows). */
    for (int i = 0; i < np; i++) {
        const jpeg_component_info *k = &c.comp_info[i];
        int ds = k->DCT_scaled_size;
        int hs = c.max_h_samp_factor * c.min_DCT_scaled_size, vs = c.max_v_samp_factor * c.min_DCT_scaled_size;
        int kh = k->h_samp_factor * ds, kv = k->v_samp_factor * ds;
        if (kh <= 0 || kv <= 0 || hs % kh != 0 || vs % kv != 0) {
            jpeg_destroy_decompress(&c);
            return 1;
        }
        size_t blocks = ((size_t)k->width_in_blocks + (size_t)k->h_samp_factor - 1) /
                        (size_t)k->h_samp_factor * (size_t)k->h_samp_factor;
        pl[i].stride = blocks * (size_t)ds;
        pl[i].w = (int)k->downsampled_width;
        pl[i].h = (int)k->downsampled_height;
        pl[i].rx = hs / kh;
        pl[i].ry = vs / kv;
        /* dn_resize_planes folds in libjpeg's fancy upsampling, which libjpeg
         * replaces by plain replication at 1/8 scale and for planes of 2 or fewer
         * samples across: those go the RGB way. */
        int sub = pl[i].rx > 1 || pl[i].ry > 1;
        if (!dn_plane_fits(&pl[i], iw, ih) ||
            (sub && (c.min_DCT_scaled_size < 2 || pl[i].w <= 2 || pl[i].h <= 2))) {
            jpeg_destroy_decompress(&c);
            return 1;
        }
        off[i] = total;
        total += pl[i].stride * (size_t)c.total_iMCU_rows * (size_t)kv;
    }
    if (total > scratch->cap) {
        unsigned char *p = realloc(scratch->px, total);
        if (!p) {
            snprintf(err, errlen, "out of memory for a %dx%d image", iw, ih);
            jpeg_destroy_decompress(&c);
            return -1;
        }
        scratch->px = p;
        scratch->cap = total;
    }
    jpeg_start_decompress(&c);
    JSAMPROW rowptr[3][4 * DCTSIZE];
    JSAMPARRAY planes[3] = {rowptr[0], rowptr[1], rowptr[2]};
    for (JDIMENSION m = 0; m < c.total_iMCU_rows; m++) {
        for (int i = 0; i < np; i++) {
            int kv = c.comp_info[i].v_samp_factor * c.comp_info[i].DCT_scaled_size;
            for (int y = 0; y < kv; y++)
                rowptr[i][y] = scratch->px + off[i] + ((size_t)m * kv + y) * pl[i].stride;
        }
        jpeg_read_raw_data(&c, planes, (JDIMENSION)(c.max_v_samp_factor * c.min_DCT_scaled_size));
    }
    jpeg_finish_decompress(&c);
    jpeg_destroy_decompress(&c);
    for (int i = 0; i < np; i++)
        pl[i].px = scratch->px + off[i];
    return dn_resize_planes(rz, pl, np, iw, ih, dst, dw, dh, pre, err, errlen);
}
