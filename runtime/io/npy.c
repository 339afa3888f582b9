/* npy.c — NumPy's .npy format (numpy.lib.format): the magic "\x93NUMPY", a version
 * byte pair, a little-endian header length (2 bytes in 1.0, 4 in 2.0 and 3.0), then a
 * Python dict literal {'descr': ..., 'fortran_order': ..., 'shape': (...), } padded
 * with spaces and a newline so that the data starts on a 64-byte boundary. */
#include "npy.h"
#include "atomic.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAGIC "\x93NUMPY"
#define MAGIC_LEN 6
#define MAX_HEADER (1 << 20)    /* numpy's own headers are far smaller; refuse garbage */
#define MAX_PARSED_DIMS 64      /* numpy's NPY_MAXDIMS */

typedef struct npy_header {
    char kind;                  /* 'f', 'i', 'u', 'b', 'U', 'S', 'O', ... */
    size_t size;                /* bytes per element */
    int swap;                   /* file byte order differs from this machine's */
    int fortran;
    int ndim;
    long long shape[MAX_PARSED_DIMS];
    long offset;                /* where the data starts */
    char descr[40];
} npy_header;

static int host_big_endian(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 0;
}

static int lfail(const char *path, char *err, size_t errlen, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(err, errlen, "cannot load '%s': %s", path, msg);
    return -1;
}

/* ---- header parsing: a small reader for the dict literal numpy writes ---- */

typedef struct cursor {
    const char *p, *end;
} cursor;

static void skip_ws(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int eat(cursor *c, char ch)
{
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

static int parse_str(cursor *c, char *out, size_t n)
{
    skip_ws(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return -1;
    char q = *c->p++;
    size_t k = 0;
    while (c->p < c->end && *c->p != q) {
        if (k + 1 >= n)
            return -1;
        out[k++] = *c->p++;
    }
    if (c->p >= c->end)
        return -1;
    c->p++;
    out[k] = 0;
    return 0;
}

static int parse_word(cursor *c, const char *w)
{
    skip_ws(c);
    size_t n = strlen(w);
    if ((size_t)(c->end - c->p) >= n && !memcmp(c->p, w, n)) {
        c->p += n;
        return 1;
    }
    return 0;
}

static int parse_shape(cursor *c, npy_header *h)
{
    if (!eat(c, '('))
        return -1;
    h->ndim = 0;
    for (;;) {
        if (eat(c, ')'))
            return 0;
        skip_ws(c);
        if (c->p >= c->end || *c->p < '0' || *c->p > '9')
            return -1;
        long long v = 0;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
            if (v > (LLONG_MAX - 9) / 10)
                return -1;
            v = v * 10 + (*c->p++ - '0');
        }
        if (c->p < c->end && *c->p == 'L')    /* written by numpy under Python 2 */
            c->p++;
        if (h->ndim >= MAX_PARSED_DIMS)
            return -1;
        h->shape[h->ndim++] = v;
        if (!eat(c, ',')) {
            if (eat(c, ')'))
                return 0;
            return -1;
        }
    }
}

/* "<f4" -> kind 'f', 4 bytes, byte order. 0 or -1. */
static int parse_descr(npy_header *h)
{
    const char *d = h->descr;
    int big = host_big_endian();
    if (*d == '<' || *d == '>' || *d == '|' || *d == '=') {
        if (*d == '<')
            big = 0;
        else if (*d == '>')
            big = 1;
        d++;
    }
    if (!*d)
        return -1;
    h->kind = *d++;
    if (!*d && (h->kind == 'b' || h->kind == 'O')) {
        h->size = h->kind == 'b' ? 1 : 8;   /* '|O' is pickled objects; only named */
    } else {
        if (!*d || strspn(d, "0123456789") != strlen(d) || strlen(d) > 9)
            return -1;
        h->size = (size_t)strtoul(d, NULL, 10);
    }
    if (h->kind == 'U')
        h->size *= 4;       /* UTF-32 code units */
    h->swap = h->size > 1 && h->kind != 'S' && big != host_big_endian();
    return 0;
}

static int read_header(const char *path, FILE *f, npy_header *h, char *err, size_t errlen)
{
    memset(h, 0, sizeof *h);
    unsigned char pre[MAGIC_LEN + 2];
    size_t got = fread(pre, 1, sizeof pre, f);
    if (got < MAGIC_LEN || memcmp(pre, MAGIC, MAGIC_LEN) != 0)
        return lfail(path, err, errlen, "it is not a NumPy .npy file (no \\x93NUMPY magic)");
    if (got < sizeof pre)
        return lfail(path, err, errlen, "the file is truncated (in its header)");
    int major = pre[MAGIC_LEN], minor = pre[MAGIC_LEN + 1];
    if (major < 1 || major > 3 || minor != 0)
        return lfail(path, err, errlen, "unsupported .npy format version %d.%d", major, minor);
    unsigned char lb[4] = {0};
    size_t lsz = major == 1 ? 2 : 4;
    if (fread(lb, 1, lsz, f) != lsz)
        return lfail(path, err, errlen, "the file is truncated (in its header)");
    unsigned long hlen = (unsigned long)lb[0] | (unsigned long)lb[1] << 8 |
                         (unsigned long)lb[2] << 16 | (unsigned long)lb[3] << 24;
    if (hlen > MAX_HEADER)
        return lfail(path, err, errlen, "bad header (claims %lu bytes)", hlen);
    char *text = malloc(hlen + 1);
    if (!text)
        return lfail(path, err, errlen, "out of memory");
    if (fread(text, 1, hlen, f) != hlen) {
        free(text);
        return lfail(path, err, errlen, "the file is truncated (in its header)");
    }
    text[hlen] = 0;
    h->offset = (long)(MAGIC_LEN + 2 + lsz + hlen);

    cursor c = {text, text + hlen};
    int have_descr = 0, have_fortran = 0, have_shape = 0, bad = 0;
    char key[32];
    if (!eat(&c, '{'))
        bad = 1;
    while (!bad && !eat(&c, '}')) {
        if (parse_str(&c, key, sizeof key) != 0 || !eat(&c, ':')) {
            bad = 1;
            break;
        }
        if (!strcmp(key, "descr")) {
            skip_ws(&c);
            if (c.p < c.end && *c.p == '[') {
                free(text);
                return lfail(path, err, errlen, "it holds a structured array (record fields), "
                             "which is not supported");
            }
            bad = parse_str(&c, h->descr, sizeof h->descr) != 0;
            if (!bad && parse_descr(h) != 0) {
                free(text);
                return lfail(path, err, errlen, "unsupported element type '%s'", h->descr);
            }
            have_descr = 1;
        } else if (!strcmp(key, "fortran_order")) {
            if (parse_word(&c, "True"))
                h->fortran = 1;
            else if (parse_word(&c, "False"))
                h->fortran = 0;
            else
                bad = 1;
            have_fortran = 1;
        } else if (!strcmp(key, "shape")) {
            bad = parse_shape(&c, h) != 0;
            have_shape = 1;
        } else {
            bad = 1;
        }
        if (!bad && !eat(&c, ',')) {
            if (!eat(&c, '}'))
                bad = 1;
            break;
        }
    }
    free(text);
    if (bad || !have_descr || !have_fortran || !have_shape)
        return lfail(path, err, errlen, "bad header (not the dict numpy writes)");
    return 0;
}

static FILE *open_read(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (!path || !*path) {
        snprintf(err, errlen, "cannot load: no file name given");
        return NULL;
    }
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        lfail(path, err, errlen, "it is a folder");
        return NULL;
    }
    FILE *f = fopen(path, "rb");
    if (!f)
        lfail(path, err, errlen, "%s", errno == ENOENT ? "no such file" :
              errno == EACCES ? "permission denied" : strerror(errno));
    return f;
}

/* Checks the data is all there and reads it; *count elements of h->size bytes. */
static int read_data(const char *path, FILE *f, const npy_header *h, size_t count,
                     unsigned char **raw, char *err, size_t errlen)
{
    *raw = NULL;
    if (h->size && count > SIZE_MAX / h->size)
        return lfail(path, err, errlen, "the array is too large");
    size_t nbytes = count * h->size;
    struct stat st;
    if (fstat(fileno(f), &st) != 0)
        return lfail(path, err, errlen, "%s", strerror(errno));
    unsigned long long have = st.st_size > h->offset ? (unsigned long long)(st.st_size - h->offset) : 0;
    if (have < nbytes)
        return lfail(path, err, errlen, "the file is truncated: its header promises %zu bytes "
                     "of data, it holds %llu", nbytes, have);
    *raw = malloc(nbytes ? nbytes : 1);
    if (!*raw)
        return lfail(path, err, errlen, "out of memory (%zu bytes)", nbytes);
    if (fseek(f, h->offset, SEEK_SET) != 0 || fread(*raw, 1, nbytes, f) != nbytes) {
        free(*raw);
        *raw = NULL;
        return lfail(path, err, errlen, "read error");
    }
    return 0;
}

static int count_of(const char *path, const npy_header *h, size_t *count, char *err, size_t errlen)
{
    size_t n = 1;
    for (int d = 0; d < h->ndim; d++) {
        if (h->shape[d] > LONG_MAX || (h->shape[d] && n > SIZE_MAX / (size_t)h->shape[d]))
            return lfail(path, err, errlen, "the array is too large");
        n *= (size_t)h->shape[d];
    }
    *count = n;
    return 0;
}

static float half_to_float(uint16_t hbits)
{
    uint32_t sign = (uint32_t)(hbits >> 15) << 31, e = (hbits >> 10) & 0x1f, m = hbits & 0x3ff;
    uint32_t bits;
    if (e == 0x1f) {
        bits = sign | 0x7f800000u | (m << 13);
    } else if (e == 0) {
        if (m == 0) {
            bits = sign;
        } else {    /* subnormal: normalise */
            int shift = 0;
            while (!(m & 0x400)) {
                m <<= 1;
                shift++;
            }
            bits = sign | ((uint32_t)(113 - shift) << 23) | ((m & 0x3ff) << 13);
        }
    } else {
        bits = sign | ((e + 112) << 23) | (m << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static float to_float(const unsigned char *p, char kind, size_t size, int swap)
{
    unsigned char b[8];
    for (size_t i = 0; i < size; i++)
        b[i] = swap ? p[size - 1 - i] : p[i];
    switch (kind) {
    case 'f':
        if (size == 2) {
            uint16_t v;
            memcpy(&v, b, 2);
            return half_to_float(v);
        } else if (size == 4) {
            float v;
            memcpy(&v, b, 4);
            return v;
        } else {
            double v;
            memcpy(&v, b, 8);
            return (float)v;
        }
    case 'i':
        switch (size) {
        case 1: { int8_t v; memcpy(&v, b, 1); return (float)v; }
        case 2: { int16_t v; memcpy(&v, b, 2); return (float)v; }
        case 4: { int32_t v; memcpy(&v, b, 4); return (float)v; }
        default: { int64_t v; memcpy(&v, b, 8); return (float)v; }
        }
    default:    /* 'u' and 'b' */
        switch (size) {
        case 1: return (float)b[0];
        case 2: { uint16_t v; memcpy(&v, b, 2); return (float)v; }
        case 4: { uint32_t v; memcpy(&v, b, 4); return (float)v; }
        default: { uint64_t v; memcpy(&v, b, 8); return (float)v; }
        }
    }
}

static int numeric_ok(char kind, size_t size)
{
    switch (kind) {
    case 'f':
        return size == 2 || size == 4 || size == 8;
    case 'i':
    case 'u':
        return size == 1 || size == 2 || size == 4 || size == 8;
    case 'b':
        return size == 1;
    default:
        return 0;
    }
}

/* Fortran order to C order: element (i0..id-1) sits at i0 + s0*(i1 + s1*(...)). */
static void fortran_to_c(const float *src, float *dst, int ndim, const long *shape, size_t count)
{
    long idx[DN_NPY_MAXDIM] = {0};
    for (size_t k = 0; k < count; k++) {
        size_t off = 0;
        for (int d = ndim - 1; d >= 0; d--)
            off = off * (size_t)shape[d] + (size_t)idx[d];
        dst[k] = src[off];
        for (int d = ndim - 1; d >= 0; d--) {
            if (++idx[d] < shape[d])
                break;
            idx[d] = 0;
        }
    }
}

int dn_npy_load(const char *path, float **data, int *ndim, long shape[DN_NPY_MAXDIM],
                char *err, size_t errlen)
{
    *data = NULL;
    FILE *f = open_read(path, err, errlen);
    if (!f)
        return -1;
    npy_header h;
    unsigned char *raw = NULL;
    float *vals = NULL;
    size_t count = 0;
    if (read_header(path, f, &h, err, errlen) != 0)
        goto bad;
    if (h.kind == 'U' || h.kind == 'S') {
        lfail(path, err, errlen, "it holds strings ('%s'), not numbers", h.descr);
        goto bad;
    }
    if (h.kind == 'O') {
        lfail(path, err, errlen, "it holds Python objects (pickled), which cannot be read");
        goto bad;
    }
    if (!numeric_ok(h.kind, h.size)) {
        lfail(path, err, errlen, "unsupported element type '%s'", h.descr);
        goto bad;
    }
    if (h.ndim > DN_NPY_MAXDIM) {
        lfail(path, err, errlen, "the array has %d dimensions; at most %d are supported",
              h.ndim, DN_NPY_MAXDIM);
        goto bad;
    }
    if (count_of(path, &h, &count, err, errlen) != 0 ||
        read_data(path, f, &h, count, &raw, err, errlen) != 0)
        goto bad;
    vals = malloc((count ? count : 1) * sizeof(float));
    if (!vals) {
        lfail(path, err, errlen, "out of memory");
        goto bad;
    }
    if (h.kind == 'f' && h.size == 4 && !h.swap) {
        memcpy(vals, raw, count * 4);
    } else {
        for (size_t k = 0; k < count; k++)
            vals[k] = to_float(raw + k * h.size, h.kind, h.size, h.swap);
    }
    free(raw);
    raw = NULL;
    for (int d = 0; d < DN_NPY_MAXDIM; d++)
        shape[d] = d < h.ndim ? (long)h.shape[d] : 1;
    if (h.fortran && h.ndim > 1 && count > 0) {
        float *c = malloc(count * sizeof(float));
        if (!c) {
            lfail(path, err, errlen, "out of memory");
            goto bad;
        }
        fortran_to_c(vals, c, h.ndim, shape, count);
        free(vals);
        vals = c;
    }
    fclose(f);
    *ndim = h.ndim;
    *data = vals;
    return 0;
bad:
    free(raw);
    free(vals);
    fclose(f);
    return -1;
}

/* ---- writing ---- */

static int write_npy(const char *path, const char *descr, size_t itemsize, const void *data,
                     int ndim, const long *shape, char *err, size_t errlen)
{
    if (!path || !*path) {
        snprintf(err, errlen, "cannot save: no file name given");
        return -1;
    }
    if (ndim < 0 || ndim > DN_NPY_MAXDIM || (ndim > 0 && !shape)) {
        snprintf(err, errlen, "cannot save '%s': %d dimensions (0 to %d allowed)", path, ndim,
                 DN_NPY_MAXDIM);
        return -1;
    }
    size_t count = 1;
    char shp[160];
    size_t k = (size_t)snprintf(shp, sizeof shp, "(");
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0 || (shape[d] && count > SIZE_MAX / itemsize / (size_t)shape[d])) {
            snprintf(err, errlen, "cannot save '%s': bad shape", path);
            return -1;
        }
        count *= (size_t)shape[d];
        k += (size_t)snprintf(shp + k, sizeof shp - k, d ? ", %ld" : "%ld", shape[d]);
    }
    snprintf(shp + k, sizeof shp - k, ndim == 1 ? ",)" : ")");
    if (count > 0 && !data) {
        snprintf(err, errlen, "cannot save '%s': no data", path);
        return -1;
    }
    char head[512];
    memcpy(head, MAGIC, MAGIC_LEN);
    head[6] = 1;    /* format 1.0: a header this short always fits its 2-byte length */
    head[7] = 0;
    int n = 10 + snprintf(head + 10, sizeof head - 10,
                          "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shp);
    /* Pad with spaces and end with a newline so the data starts on a 64-byte boundary. */
    int total = (n + 1 + 63) / 64 * 64;
    memset(head + n, ' ', (size_t)(total - n - 1));
    head[total - 1] = '\n';
    unsigned hlen = (unsigned)(total - 10);
    head[8] = (char)(hlen & 0xff);
    head[9] = (char)(hlen >> 8);

    dn_atomic_file af;
    if (dn_atomic_open(&af, path, err, errlen) != 0)
        return -1;
    if (dn_atomic_write(&af, head, (size_t)total, err, errlen) != 0 ||
        dn_atomic_write(&af, data, count * itemsize, err, errlen) != 0) {
        dn_atomic_abort(&af);
        return -1;
    }
    return dn_atomic_commit(&af, err, errlen);
}

int dn_npy_save_as(const char *path, dn_npy_dtype dtype, const void *data, int ndim,
                   const long *shape, char *err, size_t errlen)
{
    static const struct { char kind; size_t size; } t[] = {
        [DN_NPY_F32] = {'f', 4}, [DN_NPY_F64] = {'f', 8}, [DN_NPY_I8] = {'i', 1},
        [DN_NPY_I16] = {'i', 2}, [DN_NPY_I32] = {'i', 4}, [DN_NPY_I64] = {'i', 8},
        [DN_NPY_U8] = {'u', 1},  [DN_NPY_BOOL] = {'b', 1},
    };
    if ((unsigned)dtype >= sizeof t / sizeof t[0]) {
        snprintf(err, errlen, "cannot save '%s': unknown element type", path ? path : "");
        return -1;
    }
    char descr[8];
    char order = t[dtype].size == 1 ? '|' : host_big_endian() ? '>' : '<';
    snprintf(descr, sizeof descr, "%c%c%zu", order, t[dtype].kind, t[dtype].size);
    return write_npy(path, descr, t[dtype].size, data, ndim, shape, err, errlen);
}

int dn_npy_save(const char *path, const float *data, int ndim, const long *shape,
                char *err, size_t errlen)
{
    return dn_npy_save_as(path, DN_NPY_F32, data, ndim, shape, err, errlen);
}

/* ---- strings ---- */

/* Next code point of UTF-8 text at *s, or -1 when the bytes are not valid UTF-8. */
static long utf8_next(const unsigned char **s)
{
    const unsigned char *p = *s;
    long cp;
    int extra;
    if (p[0] < 0x80) {
        cp = p[0];
        extra = 0;
    } else if ((p[0] & 0xe0) == 0xc0) {
        cp = p[0] & 0x1f;
        extra = 1;
    } else if ((p[0] & 0xf0) == 0xe0) {
        cp = p[0] & 0x0f;
        extra = 2;
    } else if ((p[0] & 0xf8) == 0xf0) {
        cp = p[0] & 0x07;
        extra = 3;
    } else {
        return -1;
    }
    for (int i = 1; i <= extra; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return -1;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    static const long min[] = {0, 0x80, 0x800, 0x10000};
    if (cp < min[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return -1;
    *s = p + 1 + extra;
    return cp;
}

static size_t utf8_put(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    } else if (cp < 0x800) {
        out[0] = (char)(0xc0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    } else if (cp < 0x10000) {
        out[0] = (char)(0xe0 | cp >> 12);
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | cp >> 18);
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

int dn_npy_save_strings(const char *path, const char *const *strs, long n,
                        char *err, size_t errlen)
{
    if (n < 0 || (n > 0 && !strs)) {
        snprintf(err, errlen, "cannot save '%s': no strings given", path ? path : "");
        return -1;
    }
    size_t width = 1;   /* numpy's narrowest unicode type is U1 */
    for (long i = 0; i < n; i++) {
        const unsigned char *s = (const unsigned char *)(strs[i] ? strs[i] : "");
        size_t len = 0;
        while (*s) {
            if (utf8_next(&s) < 0) {
                snprintf(err, errlen, "cannot save '%s': string %ld is not valid UTF-8",
                         path ? path : "", i);
                return -1;
            }
            len++;
        }
        if (len > width)
            width = len;
    }
    if ((size_t)n > SIZE_MAX / 4 / width) {
        snprintf(err, errlen, "cannot save '%s': too many strings", path ? path : "");
        return -1;
    }
    uint32_t *buf = calloc((size_t)n * width + 1, 4);
    if (!buf) {
        snprintf(err, errlen, "cannot save '%s': out of memory", path ? path : "");
        return -1;
    }
    for (long i = 0; i < n; i++) {
        const unsigned char *s = (const unsigned char *)(strs[i] ? strs[i] : "");
        for (size_t k = 0; *s; k++)
            buf[(size_t)i * width + k] = (uint32_t)utf8_next(&s);
    }
    char descr[24];
    snprintf(descr, sizeof descr, "%cU%zu", host_big_endian() ? '>' : '<', width);
    int rc = write_npy(path, descr, width * 4, buf, 1, &n, err, errlen);
    free(buf);
    return rc;
}

void dn_npy_strings_free(char **strs, long n)
{
    if (!strs)
        return;
    for (long i = 0; i < n; i++)
        free(strs[i]);
    free(strs);
}

int dn_npy_load_strings(const char *path, char ***strs, long *n, char *err, size_t errlen)
{
    *strs = NULL;
    *n = 0;
    FILE *f = open_read(path, err, errlen);
    if (!f)
        return -1;
    npy_header h;
    unsigned char *raw = NULL;
    char **out = NULL;
    size_t count = 0;
    if (read_header(path, f, &h, err, errlen) != 0)
        goto bad;
    if ((h.kind != 'U' && h.kind != 'S') || h.size == 0) {
        lfail(path, err, errlen, "it does not hold strings ('%s')", h.descr);
        goto bad;
    }
    if (h.ndim > 1) {
        lfail(path, err, errlen, "expected a 1-D array of strings, it has %d dimensions", h.ndim);
        goto bad;
    }
    if (count_of(path, &h, &count, err, errlen) != 0 ||
        read_data(path, f, &h, count, &raw, err, errlen) != 0)
        goto bad;
    out = calloc(count + 1, sizeof *out);
    if (!out) {
        lfail(path, err, errlen, "out of memory");
        goto bad;
    }
    for (size_t i = 0; i < count; i++) {
        const unsigned char *e = raw + i * h.size;
        if (h.kind == 'S') {
            out[i] = strndup((const char *)e, h.size);
        } else {
            size_t chars = h.size / 4;
            out[i] = malloc(chars * 4 + 1);
            if (out[i]) {
                size_t k = 0;
                for (size_t c = 0; c < chars; c++) {
                    const unsigned char *q = e + c * 4;
                    uint32_t cp = h.swap ? (uint32_t)q[3] | (uint32_t)q[2] << 8 |
                                           (uint32_t)q[1] << 16 | (uint32_t)q[0] << 24
                                         : (uint32_t)q[0] | (uint32_t)q[1] << 8 |
                                           (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
                    if (cp == 0)
                        break;      /* numpy pads with zeros */
                    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
                        lfail(path, err, errlen, "string %zu holds an invalid character", i);
                        free(out[i]);
                        out[i] = NULL;
                        count = i;
                        goto bad;
                    }
                    k += utf8_put(out[i] + k, cp);
                }
                out[i][k] = 0;
            }
        }
        if (!out[i]) {
            count = i;
            lfail(path, err, errlen, "out of memory");
            goto bad;
        }
    }
    free(raw);
    fclose(f);
    *strs = out;
    *n = (long)count;
    return 0;
bad:
    if (out)
        dn_npy_strings_free(out, (long)count);
    free(raw);
    fclose(f);
    return -1;
}
