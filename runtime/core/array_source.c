#include "array_source.h"
#include "rng.h"
#include "status.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

typedef struct array_source {
    dn_batch_source base;
    const float *x, *y;
    int x_ndim, x_shape[4], y_dim;
    long count, x_row;
    int batch_size, shuffle;
    dn_rng rng;
    long *order;          /* this epoch's example order */
    long pos;
    float *bx, *by;       /* gathered batch (shuffled order) */
} array_source;

static int as_reset(dn_batch_source *self, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    array_source *s = (array_source *)self;
    for (long i = 0; i < s->count; i++)
        s->order[i] = i;
    if (s->shuffle)
        dn_rng_shuffle(&s->rng, s->order, s->count);
    s->pos = 0;
    return DN_OK;
}

static int as_next(dn_batch_source *self, dn_batch *out, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    array_source *s = (array_source *)self;
    if (s->pos >= s->count)
        return 0;
    long n = s->count - s->pos < s->batch_size ? s->count - s->pos : s->batch_size;
    const long *ids = s->order + s->pos;
    memset(out, 0, sizeof *out);
    out->n = (int)n;
    out->x_ndim = s->x_ndim;
    memcpy(out->x_shape, s->x_shape, sizeof out->x_shape);
    out->x_shape[0] = (int)n;
    out->y_dim = s->y ? s->y_dim : 0;
    out->ids = ids;
    if (!s->shuffle) {
        /* in order: the caller's arrays are the batch, nothing to copy */
        out->x = s->x + s->pos * s->x_row;
        out->y = s->y ? s->y + s->pos * s->y_dim : NULL;
    } else {
        for (long i = 0; i < n; i++) {
            memcpy(s->bx + i * s->x_row, s->x + ids[i] * s->x_row, (size_t)s->x_row * sizeof(float));
            if (s->y)
                memcpy(s->by + i * s->y_dim, s->y + ids[i] * s->y_dim,
                       (size_t)s->y_dim * sizeof(float));
        }
        out->x = s->bx;
        out->y = s->y ? s->by : NULL;
    }
    s->pos += n;
    return 1;
}

static long as_count(dn_batch_source *self) { return ((array_source *)self)->count; }

static long as_batches(dn_batch_source *self)
{
    array_source *s = (array_source *)self;
    return (s->count + s->batch_size - 1) / s->batch_size;
}

static void as_free(dn_batch_source *self)
{
    array_source *s = (array_source *)self;
    if (!s)
        return;
    free(s->order);
    free(s->bx);
    free(s->by);
    free(s);
}

/* The arrays' shapes and contents: an example's x and y never change between epochs. */
static uint64_t as_fingerprint(dn_batch_source *self, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    array_source *s = (array_source *)self;
    XXH3_state_t *st = XXH3_createState();
    if (!st)
        return 0;
    XXH3_64bits_reset(st);
    int dims[6] = {s->x_ndim, s->x_shape[0], s->x_shape[1], s->x_shape[2], s->x_shape[3],
                   s->y ? s->y_dim : 0};
    XXH3_64bits_update(st, "array", 5);
    XXH3_64bits_update(st, dims, sizeof dims);
    XXH3_64bits_update(st, s->x, (size_t)(s->count * s->x_row) * sizeof(float));
    if (s->y)
        XXH3_64bits_update(st, s->y, (size_t)(s->count * s->y_dim) * sizeof(float));
    uint64_t h = XXH3_64bits_digest(st);
    XXH3_freeState(st);
    return h ? h : 1;
}

static int as_skip_epoch(dn_batch_source *self, long *ids, int *sizes, long *n, long *nb,
                         char *err, size_t errlen)
{
    array_source *s = (array_source *)self;
    if (as_reset(self, err, errlen))
        return DN_ERROR;
    memcpy(ids, s->order, (size_t)s->count * sizeof(long));
    long j = 0;
    for (long left = s->count; left > 0; j++, left -= s->batch_size)
        sizes[j] = (int)(left < s->batch_size ? left : s->batch_size);
    *n = s->count;
    *nb = j;
    s->pos = s->count;
    return DN_OK;
}

static const dn_batch_source_ops array_ops = {
    .reset = as_reset,
    .next = as_next,
    .count = as_count,
    .batches = as_batches,
    .free = as_free,
    .fingerprint = as_fingerprint,
    .skip_epoch = as_skip_epoch,
};

dn_batch_source *dn_array_source_new(const float *x, int x_ndim, const int *x_shape,
                                     const float *y, int y_dim, int batch_size, int shuffle,
                                     uint64_t seed, char *err, size_t errlen)
{
    if (!x || x_ndim < 2 || x_ndim > 4 || x_shape[0] <= 0) {
        dn_seterr(err, errlen, "an array source needs x with 2 to 4 axes and at least one example");
        return NULL;
    }
    if (batch_size <= 0) {
        dn_seterr(err, errlen, "batch size must be positive, got %d", batch_size);
        return NULL;
    }
    if (y && y_dim <= 0) {
        dn_seterr(err, errlen, "labels need at least one column, got %d", y_dim);
        return NULL;
    }
    array_source *s = calloc(1, sizeof *s);
    if (!s) {
        dn_seterr(err, errlen, "out of memory");
        return NULL;
    }
    s->base.ops = &array_ops;
    s->x = x;
    s->y = y;
    s->x_ndim = x_ndim;
    memcpy(s->x_shape, x_shape, (size_t)x_ndim * sizeof(int));
    s->y_dim = y_dim;
    s->count = x_shape[0];
    s->x_row = 1;
    for (int i = 1; i < x_ndim; i++) {
        if (x_shape[i] <= 0) {
            as_free(&s->base);
            dn_seterr(err, errlen, "x's axis %d must be positive, got %d", i, x_shape[i]);
            return NULL;
        }
        s->x_row *= x_shape[i];
    }
    s->batch_size = batch_size;
    s->shuffle = shuffle != 0;
    dn_rng_seed(&s->rng, seed);
    s->order = malloc((size_t)s->count * sizeof(long));
    if (s->shuffle) {
        long bs = batch_size < s->count ? batch_size : s->count;
        s->bx = malloc((size_t)(bs * s->x_row) * sizeof(float));
        s->by = y ? malloc((size_t)(bs * y_dim) * sizeof(float)) : NULL;
    }
    if (!s->order || (s->shuffle && (!s->bx || (y && !s->by)))) {
        as_free(&s->base);
        dn_seterr(err, errlen, "out of memory for a source of %ld examples", s->count);
        return NULL;
    }
    for (long i = 0; i < s->count; i++)
        s->order[i] = i;
    return &s->base;
}
