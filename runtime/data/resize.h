/* resize.h — RGB bytes to float32 HWC at the model's input size, with the model's
 * preprocessing folded into the last pass. */
#ifndef DN_DATA_RESIZE_H
#define DN_DATA_RESIZE_H

#include <stddef.h>

#include "data/image.h"

typedef enum dn_preprocess {
    DN_PRE_NONE = 0,   /* RGB, values 0..255 */
    DN_PRE_SCALE01,    /* RGB, values / 255 -> 0..1 */
    DN_PRE_VGG,        /* ImageNet mean [123.68, 116.779, 103.939] (RGB) subtracted,
                          channels reversed to BGR, values 0..255 (vgg16.py) */
} dn_preprocess;

/* "none", "scale" (also "scale01", "rescale"), "vgg". 0 or -1 with err. */
int dn_preprocess_parse(const char *name, dn_preprocess *out, char *err, size_t errlen);
const char *dn_preprocess_name(dn_preprocess p);

/* Caches filter tables and scratch between calls; one per thread. */
typedef struct dn_resizer dn_resizer;

dn_resizer *dn_resizer_new(void);
void dn_resizer_free(dn_resizer *r);

/* Resizes an sw x sh RGB image to dw x dh float32 HWC in dst (dw*dh*3 floats).
 * The filter is Pillow's BILINEAR: a triangle whose support grows with the shrink
 * factor, so shrinking averages every source pixel (no aliasing); separable: a
 * vertical pass on the bytes with 14-bit fixed-point weights, then a horizontal
 * pass in float. Within 1.05 levels of Pillow's result (which rounds to 8 bits
 * after each pass). 0 or -1 with err. */
int dn_resize_rgb(dn_resizer *r, const unsigned char *src, int sw, int sh,
                  float *dst, int dw, int dh, dn_preprocess pre,
                  char *err, size_t errlen);

/* One plane of 8-bit samples of a YCbCr or grey image (as a JPEG holds it): w x h
 * samples, rows stride bytes apart, each sample standing for rx x ry image pixels
 * (1, or 2 for chroma subsampled that way, sited as JPEG sites it: at the centre
 * of its pixels). */
typedef struct dn_plane {
    const unsigned char *px;
    size_t stride;
    int w, h, rx, ry;
} dn_plane;

/* Whether a plane has the size an iw x ih image implies (w = ceil(iw / rx), ...). */
int dn_plane_fits(const dn_plane *p, int iw, int ih);

/* Resizes an iw x ih image given as planes (np 3: Y, Cb, Cr; np 1: grey) straight
 * to dw x dh float32 HWC RGB with pre, converting colour only at the output size.
 * Y (and grey) get Pillow's BILINEAR weights as in dn_resize_rgb; a subsampled
 * plane gets them folded through libjpeg's fancy upsampling, so the map is the one
 * a full decode + Pillow's resize applies, but for where that clamps RGB to 0..255
 * per pixel before averaging (here only the result is clamped) and its roundings
 * to 8 bits. Bounds against Pillow: tests/data/test_images.py. */
int dn_resize_planes(dn_resizer *r, const dn_plane *planes, int np, int iw, int ih,
                     float *dst, int dw, int dh, dn_preprocess pre, char *err, size_t errlen);

/* Decode and resize in one: an image file (or its bytes) to dw x dh float32 HWC with
 * pre. A grey or YCbCr JPEG (4:4:4, 4:2:2, 4:4:0, 4:2:0) is decoded to its planes
 * (DCT-scaled when big enough, no chroma upsampling, no full-size colour
 * conversion) and resized by dn_resize_planes; other images, and every image when
 * exact is set, take dn_image_decode_mem + dn_resize_rgb (Pillow's pixels).
 * img and filebuf/filecap are reusable scratch (free with dn_image_fini, free()).
 * 0 or -1 with err. */
int dn_decode_resize_mem(dn_resizer *r, const unsigned char *buf, size_t n, int exact,
                         dn_image *img, float *dst, int dw, int dh, dn_preprocess pre,
                         char *err, size_t errlen);
int dn_decode_resize_file(dn_resizer *r, const char *path, int exact, dn_image *img,
                          unsigned char **filebuf, size_t *filecap, float *dst, int dw,
                          int dh, dn_preprocess pre, char *err, size_t errlen);

/* The JPEG planes path of dn_decode_resize_mem: 0 done, -1 error (err), 1 not a
 * JPEG it takes (the caller decodes to RGB instead). */
int dn_jpeg_decode_resize(const unsigned char *buf, size_t n, dn_image *scratch,
                          dn_resizer *r, float *dst, int dw, int dh, dn_preprocess pre,
                          char *err, size_t errlen);

#endif
