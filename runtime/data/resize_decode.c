/* resize_decode.c — decode and resize in one step: the JPEG planes path where the
 * file allows it, else a full RGB decode and dn_resize_rgb. */
#include "data/resize.h"

int dn_decode_resize_mem(dn_resizer *r, const unsigned char *buf, size_t n, int exact,
                         dn_image *img, float *dst, int dw, int dh, dn_preprocess pre,
                         char *err, size_t errlen)
{
    if (!exact && dn_image_sniff(buf, n) == DN_IMAGE_JPEG) {
        int rc = dn_jpeg_decode_resize(buf, n, img, r, dst, dw, dh, pre, err, errlen);
        if (rc <= 0)
            return rc;
    }
    if (dn_image_decode_mem(buf, n, exact ? 0 : dw, exact ? 0 : dh, img, err, errlen) != 0)
        return -1;
    return dn_resize_rgb(r, img->px, img->w, img->h, dst, dw, dh, pre, err, errlen);
}

int dn_decode_resize_file(dn_resizer *r, const char *path, int exact, dn_image *img,
                          unsigned char **filebuf, size_t *filecap, float *dst, int dw,
                          int dh, dn_preprocess pre, char *err, size_t errlen)
{
    size_t len;
    if (dn_image_read_file(path, filebuf, filecap, &len, err, errlen) != 0)
        return -1;
    return dn_decode_resize_mem(r, *filebuf, len, exact, img, dst, dw, dh, pre, err, errlen);
}
