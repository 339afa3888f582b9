/* image.h — reading JPEG, PNG and BMP files into 8-bit RGB, the way Pillow's
 * Image.open(f).convert('RGB') sees them (grey replicated, alpha and transparency
 * dropped, 16-bit samples reduced to their high byte). */
#ifndef DN_DATA_IMAGE_H
#define DN_DATA_IMAGE_H

#include <stddef.h>

typedef enum dn_image_format {
    DN_IMAGE_UNKNOWN = 0,
    DN_IMAGE_JPEG,
    DN_IMAGE_PNG,
    DN_IMAGE_BMP,
} dn_image_format;

/* An RGB image, rows top to bottom, 3 bytes a pixel. The buffer is reused (grown
 * when needed) by each decode into the same dn_image. */
typedef struct dn_image {
    int w, h;
    unsigned char *px;
    size_t cap;
} dn_image;

typedef struct dn_image_info {
    dn_image_format format;
    int w, h;
} dn_image_info;

/* Largest side and area accepted, so a hostile header cannot ask for gigabytes. */
#define DN_IMAGE_MAX_SIDE 32768
#define DN_IMAGE_MAX_PIXELS (1L << 28)

dn_image_format dn_image_sniff(const unsigned char *buf, size_t n);
const char *dn_image_format_name(dn_image_format f);

/* Checks cheaply that a file looks like a complete image without decoding it: a
 * known signature, a sane header (size), and the format's end marker at the end
 * (JPEG EOI, PNG IEND, BMP pixel data that fits the file). 0 or -1 with err. */
int dn_image_probe(const char *path, dn_image_info *info, char *err, size_t errlen);

/* Decodes an encoded image held in memory. min_w/min_h > 0 allow a JPEG to be
 * decoded at a reduced DCT scale whose result is still at least min_w x min_h
 * (the caller resizes afterwards); 0 decodes at full size. 0 or -1 with err. */
int dn_image_decode_mem(const unsigned char *buf, size_t n, int min_w, int min_h,
                        dn_image *out, char *err, size_t errlen);

/* Whether a failure whose errno is errnum may pass if tried again: out of memory
 * (ENOMEM, ENOBUFS), too many open files (EMFILE, ENFILE), interrupted or would block
 * (EINTR, EAGAIN), an I/O error or time-out (EIO, ETIMEDOUT). After a failed decode
 * errno says which kind it was: the allocation or read that failed left its errno, and
 * the JPEG and PNG libraries' error handlers set ENOMEM for their own allocation
 * failures and EILSEQ for bad data; a caller sets errno to 0 before the call. */
int dn_image_error_transient(int errnum);

/* Reads and decodes a file; filebuf and filecap are a reusable read buffer (may be
 * NULL/0 at first; free() it when done). */
int dn_image_decode_file(const char *path, int min_w, int min_h, dn_image *out,
                         unsigned char **filebuf, size_t *filecap,
                         char *err, size_t errlen);

/* Reads a whole file into *filebuf (grown as needed; free() it when done). */
int dn_image_read_file(const char *path, unsigned char **filebuf, size_t *filecap,
                       size_t *len, char *err, size_t errlen);

/* Makes room for w x h RGB pixels in img (keeps the buffer if big enough). */
int dn_image_reserve(dn_image *img, int w, int h, char *err, size_t errlen);
void dn_image_fini(dn_image *img);

/* The per-format decoders dn_image_decode_mem dispatches to. */
int dn_jpeg_decode(const unsigned char *buf, size_t n, int min_w, int min_h,
                   dn_image *out, char *err, size_t errlen);
int dn_png_decode(const unsigned char *buf, size_t n, dn_image *out,
                  char *err, size_t errlen);
int dn_bmp_decode(const unsigned char *buf, size_t n, dn_image *out,
                  char *err, size_t errlen);
/* BMP header check shared by probe and decode: size and where the pixels are. */
int dn_bmp_header(const unsigned char *buf, size_t n, size_t file_size, int *w, int *h,
                  char *err, size_t errlen);

#endif
