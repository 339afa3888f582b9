/* imgtool — the test suite's window on runtime/data's image code, driven by
 * test_images.py (which holds Pillow's answers):
 *   imgtool decode FILE OUT            8-bit RGB at full size: "w h\n" then w*h*3 bytes
 *   imgtool resize FILE W H PRE OUT [noscale]
 *                                      float32 HWC after decode+resize+preprocess
 *   imgtool load FILE W H PRE OUT [exact]
 *                                      float32 HWC from dn_decode_resize_file (the
 *                                      loader's path: JPEG planes unless exact)
 *   imgtool resize-raw IN.rgb SW SH W H OUT
 *                                      resize of raw RGB bytes (no decoding), float32
 *   imgtool probe FILE                 prints "FORMAT W H" or the error; rc 1 on error
 *   imgtool writepng OUT W H COLOR DEPTH INTERLACE
 *                                      a patterned PNG of any colour type (0,2,3,4,6),
 *                                      depth, interlace 0/1 (Pillow cannot write all)
 */
#include "data/image.h"
#include "data/resize.h"

#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int write_file(const char *path, const char *head, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    if (head)
        fputs(head, f);
    size_t w = fwrite(p, 1, n, f);
    return fclose(f) == 0 && w == n ? 0 : -1;
}

static int writepng(const char *path, int w, int h, int ct, int depth, int interlace)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return 1;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) {
        fclose(f);
        return 1;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, ct,
                 interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    int nsamp = ct == 0 ? 1 : ct == 2 ? 3 : ct == 3 ? 1 : ct == 4 ? 2 : 4;
    if (ct == 3) {
        png_color pal[256];
        png_byte trans[256];
        for (int i = 0; i < 256; i++) {
            pal[i].red = (png_byte)(i * 7);
            pal[i].green = (png_byte)(255 - i);
            pal[i].blue = (png_byte)(i * 3 + 11);
            trans[i] = (png_byte)(i * 5);
        }
        png_set_PLTE(png, info, pal, 1 << depth);
        png_set_tRNS(png, info, trans, 1 << depth, NULL);
    }
    png_write_info(png, info);
    int passes = png_set_interlace_handling(png);   /* 7 with Adam7, else 1 */
    size_t rowbytes = ((size_t)w * nsamp * depth + 7) / 8;
    png_bytep row = calloc(1, rowbytes);
    unsigned maxv = (1u << depth) - 1;
    for (int pass = 0; pass < passes; pass++)
        for (int y = 0; y < h; y++) {
            memset(row, 0, rowbytes);
            for (int x = 0; x < w; x++)
                for (int c = 0; c < nsamp; c++) {
                    unsigned v = ((unsigned)(x * 37 + y * 101 + c * 59) * 2654435761u >> 7) & maxv;
                    size_t bit = ((size_t)x * nsamp + c) * depth;
                    if (depth == 16) {
                        row[bit / 8] = (png_byte)(v >> 8);
                        row[bit / 8 + 1] = (png_byte)v;
                    } else if (depth == 8) {
                        row[bit / 8] = (png_byte)v;
                    } else {
                        row[bit / 8] |= (png_byte)(v << (8 - depth - bit % 8));
                    }
                }
            png_write_row(png, row);
        }
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(row);
    return fclose(f) == 0 ? 0 : 1;
}

static dn_image img;
static unsigned char *fb;
static size_t fcap;

static int run(int argc, char **argv)
{
    char err[256];
    if (argc == 4 && !strcmp(argv[1], "decode")) {
        if (dn_image_decode_file(argv[2], 0, 0, &img, &fb, &fcap, err, sizeof err) != 0) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        char head[64];
        snprintf(head, sizeof head, "%d %d\n", img.w, img.h);
        return write_file(argv[3], head, img.px, (size_t)img.w * img.h * 3) ? 1 : 0;
    }
    if ((argc == 7 || argc == 8) && !strcmp(argv[1], "resize")) {
        int w = atoi(argv[3]), h = atoi(argv[4]);
        dn_preprocess pre;
        if (dn_preprocess_parse(argv[5], &pre, err, sizeof err) != 0) {
            fprintf(stderr, "%s\n", err);
            return 2;
        }
        int scale = !(argc == 8 && !strcmp(argv[7], "noscale"));
        if (dn_image_decode_file(argv[2], scale ? w : 0, scale ? h : 0, &img, &fb, &fcap,
                                 err, sizeof err) != 0) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        float *out = malloc(sizeof(float) * w * h * 3);
        dn_resizer *r = dn_resizer_new();
        if (dn_resize_rgb(r, img.px, img.w, img.h, out, w, h, pre, err, sizeof err) != 0) {
            fprintf(stderr, "%s\n", err);
            dn_resizer_free(r);
            free(out);
            return 1;
        }
        char head[64];
        snprintf(head, sizeof head, "%d %d\n", img.w, img.h);   /* the decoded size */
        int rc = write_file(argv[6], head, out, sizeof(float) * w * h * 3);
        dn_resizer_free(r);
        free(out);
        return rc ? 1 : 0;
    }
    if ((argc == 7 || argc == 8) && !strcmp(argv[1], "load")) {
        int w = atoi(argv[3]), h = atoi(argv[4]);
        dn_preprocess pre;
        if (w <= 0 || h <= 0 || dn_preprocess_parse(argv[5], &pre, err, sizeof err) != 0) {
            fprintf(stderr, "bad size or preprocessing\n");
            return 2;
        }
        int exact = argc == 8 && !strcmp(argv[7], "exact");
        float *out = malloc(sizeof(float) * w * h * 3);
        dn_resizer *r = dn_resizer_new();
        int rc = dn_decode_resize_file(r, argv[2], exact, &img, &fb, &fcap, out, w, h, pre,
                                       err, sizeof err);
        if (rc != 0)
            fprintf(stderr, "%s\n", err);
        else
            rc = write_file(argv[6], NULL, out, sizeof(float) * w * h * 3);
        dn_resizer_free(r);
        free(out);
        return rc ? 1 : 0;
    }
    if (argc == 8 && !strcmp(argv[1], "resize-raw")) {
        int sw = atoi(argv[3]), sh = atoi(argv[4]), w = atoi(argv[5]), h = atoi(argv[6]);
        FILE *f = fopen(argv[2], "rb");
        unsigned char *src = malloc((size_t)sw * sh * 3);
        size_t got = f ? fread(src, 1, (size_t)sw * sh * 3, f) : 0;
        if (f)
            fclose(f);
        if (got != (size_t)sw * sh * 3) {
            free(src);
            return 1;
        }
        float *out = malloc(sizeof(float) * w * h * 3);
        dn_resizer *r = dn_resizer_new();
        if (dn_resize_rgb(r, src, sw, sh, out, w, h, DN_PRE_NONE, err, sizeof err) != 0) {
            fprintf(stderr, "%s\n", err);
            dn_resizer_free(r);
            free(out);
            free(src);
            return 1;
        }
        int rc = write_file(argv[7], NULL, out, sizeof(float) * w * h * 3);
        dn_resizer_free(r);
        free(out);
        free(src);
        return rc ? 1 : 0;
    }
    if (argc == 3 && !strcmp(argv[1], "probe")) {
        dn_image_info info;
        if (dn_image_probe(argv[2], &info, err, sizeof err) != 0) {
            printf("%s\n", err);
            return 1;
        }
        printf("%s %d %d\n", dn_image_format_name(info.format), info.w, info.h);
        return 0;
    }
    if (argc == 8 && !strcmp(argv[1], "writepng"))
        return writepng(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), atoi(argv[6]),
                        atoi(argv[7]));
    fprintf(stderr, "usage: see the comment at the top of imgtool.c\n");
    return 2;
}

int main(int argc, char **argv)
{
    int rc = run(argc, argv);
    dn_image_fini(&img);
    free(fb);
    return rc;
}
