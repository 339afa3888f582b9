/* bmp.c — a small reader for uncompressed Windows bitmaps: 1/4/8-bit palette, 24-bit,
 * and 32-bit (plain or with bit-field masks), bottom-up or top-down. Written here
 * because neither libjpeg-turbo nor libpng (the image libraries in our set) reads BMP,
 * and pulling in a general image library for this one format is not worth it. */
#include "data/image.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct bmp {
    int w, h, top_down, bpp, pal_entry, ncolors;
    size_t data_off, stride, pal_off;
    uint32_t mask[3];
} bmp;

static uint32_t le16(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int parse(const unsigned char *b, size_t n, size_t file_size, bmp *m,
                 char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    if (n < 14 + 12 || b[0] != 'B' || b[1] != 'M') {
        snprintf(err, errlen, "corrupt or truncated BMP header");
        return -1;
    }
    m->data_off = le32(b + 10);
    uint32_t hs = le32(b + 14);
    uint32_t compression = 0, clr_used = 0;
    int32_t w, h;
    if (hs == 12) {                      /* OS/2 BITMAPCOREHEADER */
        w = (int32_t)le16(b + 18);
        h = (int32_t)le16(b + 20);
        m->bpp = (int)le16(b + 24);
        m->pal_entry = 3;
    } else if (hs >= 40 && hs <= 124 && n >= 14 + 40) {
        w = (int32_t)le32(b + 18);
        h = (int32_t)le32(b + 22);
        m->bpp = (int)le16(b + 28);
        compression = le32(b + 30);
        clr_used = le32(b + 46);
        m->pal_entry = 4;
    } else {
        snprintf(err, errlen, "unsupported BMP header (size %u)", (unsigned)hs);
        return -1;
    }
    m->pal_off = 14 + hs;
    if (compression == 3 || compression == 6) {   /* BI_BITFIELDS, BI_ALPHABITFIELDS */
        const unsigned char *mp = b + 14 + 40;
        if (hs == 40)
            m->pal_off += compression == 6 ? 16 : 12;
        if (n < 14 + 40 + 12) {
            snprintf(err, errlen, "truncated BMP colour masks");
            return -1;
        }
        for (int i = 0; i < 3; i++)
            m->mask[i] = le32(mp + 4 * i);
    } else if (compression != 0) {
        snprintf(err, errlen, "compressed BMP (method %u) is not supported", (unsigned)compression);
        return -1;
    }
    if (m->bpp != 1 && m->bpp != 4 && m->bpp != 8 && m->bpp != 24 && m->bpp != 32) {
        snprintf(err, errlen, "%d-bit BMP is not supported", m->bpp);
        return -1;
    }
    if (compression != 0 && m->bpp != 32) {
        snprintf(err, errlen, "bit-field masks on a %d-bit BMP are not supported", m->bpp);
        return -1;
    }
    if (m->bpp == 32 && compression == 0) {
        m->mask[0] = 0xff0000u;
        m->mask[1] = 0xff00u;
        m->mask[2] = 0xffu;
    }
    if (m->bpp == 32 && (!m->mask[0] || !m->mask[1] || !m->mask[2])) {
        snprintf(err, errlen, "BMP colour mask is empty");
        return -1;
    }
    m->top_down = h < 0;
    if (h == INT32_MIN) {
        snprintf(err, errlen, "BMP height is out of range");
        return -1;
    }
    m->w = (int)w;
    m->h = (int)(h < 0 ? -h : h);
    if (w <= 0 || m->h == 0 || w > DN_IMAGE_MAX_SIDE || m->h > DN_IMAGE_MAX_SIDE) {
        snprintf(err, errlen, "BMP size %dx%d is out of range", (int)w, m->h);
        return -1;
    }
    if (m->bpp <= 8) {
        m->ncolors = clr_used ? (int)clr_used : 1 << m->bpp;
        if (m->ncolors > 256 || m->ncolors > (1 << m->bpp)) {
            snprintf(err, errlen, "BMP palette of %d colours is out of range", m->ncolors);
            return -1;
        }
        if (m->pal_off + (size_t)m->ncolors * m->pal_entry > m->data_off) {
            snprintf(err, errlen, "corrupt BMP: palette overlaps the pixels");
            return -1;
        }
    }
    m->stride = ((size_t)m->w * m->bpp + 31) / 32 * 4;
    if (m->data_off > file_size || m->stride * m->h > file_size - m->data_off) {
        snprintf(err, errlen, "truncated BMP (pixel data ends early)");
        return -1;
    }
    return 0;
}

int dn_bmp_header(const unsigned char *buf, size_t n, size_t file_size, int *w, int *h,
                  char *err, size_t errlen)
{
    bmp m;
    if (parse(buf, n, file_size, &m, err, errlen) != 0)
        return -1;
    *w = m.w;
    *h = m.h;
    return 0;
}

/* value of a masked channel scaled to 0..255 */
static unsigned char channel(uint32_t px, uint32_t mask)
{
    int shift = __builtin_ctz(mask);
    uint32_t v = (px & mask) >> shift, max = mask >> shift;
    return max == 255 ? (unsigned char)v : (unsigned char)((v * 255 + max / 2) / max);
}

int dn_bmp_decode(const unsigned char *buf, size_t n, dn_image *out, char *err, size_t errlen)
{
    bmp m;
    if (parse(buf, n, n, &m, err, errlen) != 0)
        return -1;
    if (dn_image_reserve(out, m.w, m.h, err, errlen) != 0)
        return -1;
    unsigned char pal[256][3];
    memset(pal, 0, sizeof pal);    /* indices past the palette read as black */
    for (int i = 0; i < m.ncolors; i++) {
        const unsigned char *e = buf + m.pal_off + (size_t)i * m.pal_entry;
        pal[i][0] = e[2];
        pal[i][1] = e[1];
        pal[i][2] = e[0];
    }
    for (int y = 0; y < m.h; y++) {
        const unsigned char *s = buf + m.data_off + m.stride * (size_t)(m.top_down ? y : m.h - 1 - y);
        unsigned char *d = out->px + (size_t)y * m.w * 3;
        for (int x = 0; x < m.w; x++, d += 3) {
            switch (m.bpp) {
            case 24:
                d[0] = s[3 * x + 2];
                d[1] = s[3 * x + 1];
                d[2] = s[3 * x];
                break;
            case 32: {
                uint32_t px = le32(s + 4 * x);
                d[0] = channel(px, m.mask[0]);
                d[1] = channel(px, m.mask[1]);
                d[2] = channel(px, m.mask[2]);
                break;
            }
            default: {
                int per = 8 / m.bpp, bit = (per - 1 - x % per) * m.bpp;
                unsigned idx = (s[x / per] >> bit) & ((1u << m.bpp) - 1);
                memcpy(d, pal[idx], 3);
                break;
            }
            }
        }
    }
    return 0;
}
