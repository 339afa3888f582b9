/* frames.h — a multipart message as a list of owned byte buffers (ZeroMQ frames). */
#ifndef DN_FRAMES_H
#define DN_FRAMES_H

#include <stddef.h>

typedef struct dn_buf {
    unsigned char *data;  /* owned; NUL-terminated for convenience (not counted in len) */
    size_t len;
} dn_buf;

typedef struct dn_frames {
    dn_buf *v;
    size_t n, cap;
} dn_frames;

/* Appends a copy of data. Returns 0, or -1 when out of memory. */
int dn_frames_push(dn_frames *f, const void *data, size_t len);
/* Appends a buffer whose ownership moves to f (data from malloc). */
int dn_frames_push_owned(dn_frames *f, void *data, size_t len);
size_t dn_frames_bytes(const dn_frames *f);
/* Frees every buffer and leaves f empty and reusable. */
void dn_frames_clear(dn_frames *f);

#endif
