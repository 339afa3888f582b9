/* frames.c — growable list of owned buffers. */
#include "frames.h"

#include <stdlib.h>
#include <string.h>

static int reserve(dn_frames *f)
{
    if (f->n < f->cap) return 0;
    size_t cap = f->cap ? f->cap * 2 : 8;
    dn_buf *v = realloc(f->v, cap * sizeof *v);
    if (!v) return -1;
    f->v = v;
    f->cap = cap;
    return 0;
}

int dn_frames_push_owned(dn_frames *f, void *data, size_t len)
{
    if (reserve(f)) return -1;
    f->v[f->n].data = data;
    f->v[f->n].len = len;
    f->n++;
    return 0;
}

int dn_frames_push(dn_frames *f, const void *data, size_t len)
{
    unsigned char *copy = malloc(len + 1);
    if (!copy) return -1;
    if (len) memcpy(copy, data, len);
    copy[len] = 0;
    if (dn_frames_push_owned(f, copy, len)) { free(copy); return -1; }
    return 0;
}

size_t dn_frames_bytes(const dn_frames *f)
{
    size_t total = 0;
    for (size_t i = 0; i < f->n; i++) total += f->v[i].len;
    return total;
}

void dn_frames_clear(dn_frames *f)
{
    for (size_t i = 0; i < f->n; i++) free(f->v[i].data);
    free(f->v);
    f->v = NULL;
    f->n = f->cap = 0;
}
