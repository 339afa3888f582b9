/* fuzz_image — image decoding and the resize path (runtime/data: JPEG, PNG, BMP, the JPEG
 * planes path and Pillow's bilinear resize), as %batches feeds a model.
 * Input: 3 bytes of parameters (output width, height, preprocessing), then the file.
 * Invariants: an error has a sentence; a decoded image has a size within the limits
 * and a buffer that holds it (every pixel is read); the probe reads the file without
 * harm; decoding and resizing exactly succeeds whenever decoding does; every resized
 * value is finite and within its preprocessing's range. */
#include "data/image.h"
#include "data/resize.h"
#include "fuzz.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static dn_resizer *resizer;

static void check_range(const float *v, size_t n, dn_preprocess pre, const char *what)
{
    float lo = 0, hi = 255;
    if (pre == DN_PRE_SCALE01)
        hi = 1;
    else if (pre == DN_PRE_VGG)
        lo = -123.68f, hi = 255 - 103.939f;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]) || v[i] < lo - 1e-3f || v[i] > hi + 1e-3f)
            fz_fail("%s: value %zu is %g, outside [%g, %g]", what, i, v[i], lo, hi);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!resizer && !(resizer = dn_resizer_new()))
        fz_fail("no resizer");
    fz_in in = { data, size };
    int dw = 1 + (int)(fz_byte(&in) % 64), dh = 1 + (int)(fz_byte(&in) % 64);
    dn_preprocess pre = (dn_preprocess)(fz_byte(&in) % 3);
    const unsigned char *buf = in.p;
    size_t n = in.n;
    char err[1024];

    char path[64];
    int fd = fz_memfile(buf, n, path, sizeof path);
    if (fd < 0)
        fz_fail("cannot make an in-memory file");
    dn_image_info info;
    err[0] = 0;
    if (dn_image_probe(path, &info, err, sizeof err) != 0)
        fz_check_message(err, sizeof err, "dn_image_probe");
    else if (info.w < 1 || info.h < 1 || info.w > DN_IMAGE_MAX_SIDE || info.h > DN_IMAGE_MAX_SIDE)
        fz_fail("the probe says %d x %d", info.w, info.h);
    close(fd);

    dn_image img = { 0 };
    err[0] = 0;
    int decoded = dn_image_decode_mem(buf, n, 0, 0, &img, err, sizeof err) == 0;
    if (!decoded) {
        fz_check_message(err, sizeof err, "dn_image_decode_mem");
    } else {
        if (img.w < 1 || img.h < 1 || img.w > DN_IMAGE_MAX_SIDE || img.h > DN_IMAGE_MAX_SIDE ||
            (long)img.w * img.h > DN_IMAGE_MAX_PIXELS)
            fz_fail("decoded to %d x %d", img.w, img.h);
        size_t bytes = (size_t)img.w * (size_t)img.h * 3;
        if (!img.px || img.cap < bytes)
            fz_fail("a %d x %d image in %zu bytes", img.w, img.h, img.cap);
        unsigned sum = 0;
        for (size_t i = 0; i < bytes; i++)
            sum += img.px[i];
        (void)sum;
    }

    float *dst = malloc((size_t)dw * (size_t)dh * 3 * sizeof *dst);
    if (!dst)
        fz_fail("out of memory");
    for (int exact = 0; exact < 2; exact++) {
        err[0] = 0;
        if (dn_decode_resize_mem(resizer, buf, n, exact, &img, dst, dw, dh, pre, err,
                                 sizeof err) == 0) {
            check_range(dst, (size_t)dw * (size_t)dh * 3, pre,
                        exact ? "exact decode and resize" : "decode and resize");
        } else {
            fz_check_message(err, sizeof err, "dn_decode_resize_mem");
            if (exact && decoded)
                fz_fail("the image decodes, but decoding and resizing it fails: %s", err);
        }
    }
    /* a reduced DCT scale for the same size */
    err[0] = 0;
    if (dn_image_decode_mem(buf, n, dw, dh, &img, err, sizeof err) != 0)
        fz_check_message(err, sizeof err, "dn_image_decode_mem (scaled)");
    else if (img.w < 1 || img.h < 1 || !img.px)
        fz_fail("scaled decode to %d x %d", img.w, img.h);
    free(dst);
    dn_image_fini(&img);
    return 0;
}
