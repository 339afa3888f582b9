/* image.c — format sniffing, cheap completeness probes, file reading, dispatch. */
#include "data/image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

dn_image_format dn_image_sniff(const unsigned char *b, size_t n)
{
    static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff)
        return DN_IMAGE_JPEG;
    if (n >= 8 && memcmp(b, png_sig, 8) == 0)
        return DN_IMAGE_PNG;
    if (n >= 2 && b[0] == 'B' && b[1] == 'M')
        return DN_IMAGE_BMP;
    return DN_IMAGE_UNKNOWN;
}

const char *dn_image_format_name(dn_image_format f)
{
    switch (f) {
    case DN_IMAGE_JPEG: return "JPEG";
    case DN_IMAGE_PNG: return "PNG";
    case DN_IMAGE_BMP: return "BMP";
    default: return "unknown";
    }
}

int dn_image_reserve(dn_image *img, int w, int h, char *err, size_t errlen)
{
    if (w <= 0 || h <= 0 || w > DN_IMAGE_MAX_SIDE || h > DN_IMAGE_MAX_SIDE ||
        (long)w * h > DN_IMAGE_MAX_PIXELS) {
        snprintf(err, errlen, "image size %dx%d is out of range", w, h);
        return -1;
    }
    size_t need = (size_t)w * h * 3;
    if (need > img->cap) {
        unsigned char *p = realloc(img->px, need);
        if (!p) {
            snprintf(err, errlen, "out of memory for a %dx%d image", w, h);
            return -1;
        }
        img->px = p;
        img->cap = need;
    }
    img->w = w;
    img->h = h;
    return 0;
}

void dn_image_fini(dn_image *img)
{
    free(img->px);
    memset(img, 0, sizeof *img);
}

int dn_image_decode_mem(const unsigned char *buf, size_t n, int min_w, int min_h,
                        dn_image *out, char *err, size_t errlen)
{
    switch (dn_image_sniff(buf, n)) {
    case DN_IMAGE_JPEG: return dn_jpeg_decode(buf, n, min_w, min_h, out, err, errlen);
    case DN_IMAGE_PNG: return dn_png_decode(buf, n, out, err, errlen);
    case DN_IMAGE_BMP: return dn_bmp_decode(buf, n, out, err, errlen);
    default:
        snprintf(err, errlen, n == 0 ? "empty file" : "not a JPEG, PNG or BMP image");
        return -1;
    }
}

static int read_all(int fd, unsigned char **buf, size_t *cap, size_t *len,
                    char *err, size_t errlen)
{
    struct stat st;
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "%s", strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "not a regular file");
        return -1;
    }
    size_t want = (size_t)st.st_size + 1;   /* +1 notices a file that grew */
    if (want > *cap) {
        unsigned char *p = realloc(*buf, want);
        if (!p) {
            snprintf(err, errlen, "out of memory reading %zu bytes", want);
            return -1;
        }
        *buf = p;
        *cap = want;
    }
    size_t got = 0;
    while (got < *cap) {
        ssize_t r = read(fd, *buf + got, *cap - got);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            snprintf(err, errlen, "%s", strerror(errno));
            return -1;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    *len = got;
    return 0;
}

int dn_image_error_transient(int errnum)
{
    switch (errnum) {
    case ENOMEM: case ENOBUFS: case EMFILE: case ENFILE: case EINTR: case EAGAIN:
    case EIO: case ETIMEDOUT:
        return 1;
    default:
        return 0;
    }
}

int dn_image_read_file(const char *path, unsigned char **filebuf, size_t *filecap,
                       size_t *len, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s", strerror(errno));
        return -1;
    }
    *len = 0;
    int rc = read_all(fd, filebuf, filecap, len, err, errlen);
    int saved = errno;   /* the read's failure, not close's */
    close(fd);
    errno = saved;
    return rc;
}

int dn_image_decode_file(const char *path, int min_w, int min_h, dn_image *out,
                         unsigned char **filebuf, size_t *filecap,
                         char *err, size_t errlen)
{
    size_t len;
    if (dn_image_read_file(path, filebuf, filecap, &len, err, errlen) != 0)
        return -1;
    return dn_image_decode_mem(*filebuf, len, min_w, min_h, out, err, errlen);
}

static int pread_full(int fd, void *b, size_t n, off_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, (char *)b + got, n - got, off + (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

static unsigned be16(const unsigned char *p) { return (unsigned)p[0] << 8 | p[1]; }
static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Walks the marker segments to the frame header (SOFn) for the size; the end must
 * hold EOI. A file cut short ends inside entropy-coded data, where FF D9 cannot
 * occur (FF bytes are stuffed), so the tail test catches truncation. */
static int probe_jpeg(int fd, off_t size, dn_image_info *info, char *err, size_t errlen)
{
    off_t pos = 2;
    for (int guard = 0; guard < 4096; guard++) {
        unsigned char m[9];
        if (pos + 4 > size || pread_full(fd, m, 4, pos) != 0)
            break;
        if (m[0] != 0xff) {
            snprintf(err, errlen, "corrupt JPEG: no marker at byte %lld", (long long)pos);
            return -1;
        }
        if (m[1] == 0xff) {      /* fill byte */
            pos++;
            continue;
        }
        unsigned code = m[1];
        if (code == 0xd8 || code == 0x01 || (code >= 0xd0 && code <= 0xd7)) {
            pos += 2;
            continue;
        }
        if (code == 0xd9 || code == 0xda)
            break;               /* image data before any frame header */
        unsigned len = be16(m + 2);
        if (len < 2) {
            snprintf(err, errlen, "corrupt JPEG: bad segment length");
            return -1;
        }
        int sof = code >= 0xc0 && code <= 0xcf && code != 0xc4 && code != 0xc8 && code != 0xcc;
        if (sof) {
            if (len < 8 || pread_full(fd, m, 9, pos) != 0)
                break;
            info->h = (int)be16(m + 5);
            info->w = (int)be16(m + 7);
            if (info->w <= 0 || info->h <= 0 || info->w > DN_IMAGE_MAX_SIDE ||
                info->h > DN_IMAGE_MAX_SIDE) {
                snprintf(err, errlen, "JPEG size %dx%d is out of range", info->w, info->h);
                return -1;
            }
            unsigned char tail[256];
            size_t tn = size > 256 ? 256 : (size_t)size;
            if (pread_full(fd, tail, tn, size - (off_t)tn) != 0)
                break;
            for (size_t i = tn - 1; i > 0; i--)
                if (tail[i - 1] == 0xff && tail[i] == 0xd9)
                    return 0;
            snprintf(err, errlen, "truncated JPEG (no end-of-image marker)");
            return -1;
        }
        pos += 2 + (off_t)len;
    }
    snprintf(err, errlen, "corrupt or truncated JPEG (no frame header)");
    return -1;
}

static int probe_png(int fd, off_t size, dn_image_info *info, char *err, size_t errlen)
{
    static const unsigned char iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82};
    unsigned char h[33], t[12];
    if (size < 33 + 12 || pread_full(fd, h, 33, 0) != 0 || memcmp(h + 12, "IHDR", 4) != 0) {
        snprintf(err, errlen, "corrupt or truncated PNG (no header chunk)");
        return -1;
    }
    uint32_t w = be32(h + 16), hh = be32(h + 20);
    unsigned depth = h[24], ct = h[25];
    int ok_type = (ct == 0 && (depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16)) ||
                  (ct == 3 && (depth == 1 || depth == 2 || depth == 4 || depth == 8)) ||
                  ((ct == 2 || ct == 4 || ct == 6) && (depth == 8 || depth == 16));
    if (!ok_type || h[28] > 1) {
        snprintf(err, errlen, "corrupt PNG header (colour type %u, depth %u)", ct, depth);
        return -1;
    }
    if (w == 0 || hh == 0 || w > DN_IMAGE_MAX_SIDE || hh > DN_IMAGE_MAX_SIDE) {
        snprintf(err, errlen, "PNG size %ux%u is out of range", (unsigned)w, (unsigned)hh);
        return -1;
    }
    if (pread_full(fd, t, 12, size - 12) != 0 || memcmp(t, iend, 12) != 0) {
        snprintf(err, errlen, "truncated PNG (no IEND chunk at the end)");
        return -1;
    }
    info->w = (int)w;
    info->h = (int)hh;
    return 0;
}

static int probe_bmp(int fd, off_t size, dn_image_info *info, char *err, size_t errlen)
{
    unsigned char h[14 + 124];
    size_t n = size < (off_t)sizeof h ? (size_t)size : sizeof h;
    if (pread_full(fd, h, n, 0) != 0) {
        snprintf(err, errlen, "cannot read the BMP header");
        return -1;
    }
    return dn_bmp_header(h, n, (size_t)size, &info->w, &info->h, err, errlen);
}

int dn_image_probe(const char *path, dn_image_info *info, char *err, size_t errlen)
{
    memset(info, 0, sizeof *info);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s", strerror(errno));
        return -1;
    }
    struct stat st;
    unsigned char sig[8];
    int rc = -1;
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "%s", strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "not a regular file");
    } else if (st.st_size == 0) {
        snprintf(err, errlen, "empty file");
    } else {
        size_t n = st.st_size < 8 ? (size_t)st.st_size : 8;
        if (pread_full(fd, sig, n, 0) != 0) {
            snprintf(err, errlen, "cannot read: %s", strerror(errno));
        } else {
            info->format = dn_image_sniff(sig, n);
            switch (info->format) {
            case DN_IMAGE_JPEG: rc = probe_jpeg(fd, st.st_size, info, err, errlen); break;
            case DN_IMAGE_PNG: rc = probe_png(fd, st.st_size, info, err, errlen); break;
            case DN_IMAGE_BMP: rc = probe_bmp(fd, st.st_size, info, err, errlen); break;
            default: snprintf(err, errlen, "not a JPEG, PNG or BMP image"); break;
            }
        }
    }
    close(fd);
    return rc;
}
