/* resize.h — RGB bytes to float32 HWC at the model's input size, with the model's
 * preprocessing folded into the last pass. */
#ifndef DN_DATA_RESIZE_H
#define DN_DATA_RESIZE_H

#include <stddef.h>

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

#endif
