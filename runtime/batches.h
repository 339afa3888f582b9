/* batches.h — where training and prediction get their examples from: arrays in memory,
 * image folders, anything that can hand out batches. The fit loop (core/) consumes this
 * interface; data/ and core/ implement it. */
#ifndef DN_BATCHES_H
#define DN_BATCHES_H

#include <stddef.h>
#include <stdint.h>

typedef struct dn_batch {
    int n;                /* examples in this batch; the last batch of an epoch may be short */
    int x_ndim;           /* rank of x including the batch axis (2 for (n,features), 4 for NHWC) */
    int x_shape[4];       /* x_shape[0] == n */
    const float *x;       /* row-major; images are NHWC */
    int y_dim;            /* columns of y (classes, or outputs); 0 when unlabelled */
    const float *y;       /* n*y_dim row-major (one-hot for classes), or NULL */
    const long *ids;      /* n example positions in the source's unshuffled order, or NULL */
} dn_batch;

typedef struct dn_batch_source dn_batch_source;

typedef struct dn_batch_source_ops {
    /* Starts an epoch: reshuffles (seeded) when the source shuffles. 0 or -1 with err. */
    int (*reset)(dn_batch_source *self, char *err, size_t errlen);
    /* 1 with the next batch in *out, 0 at the end of the epoch, -1 on error with err.
     * The batch's memory belongs to the source and stays valid until the next call. */
    int (*next)(dn_batch_source *self, dn_batch *out, char *err, size_t errlen);
    /* examples per epoch */
    long (*count)(dn_batch_source *self);
    /* batches per epoch (the last may be short) */
    long (*batches)(dn_batch_source *self);
    void (*free)(dn_batch_source *self);

    /* Optional (NULL: not offered), for reusing per-example results across epochs and
     * across sources (the fit loop's frozen-prefix reuse, core/reuse.h). */
    /* What the source hands out, as a fingerprint: two sources with the same non-zero
     * value give the same x and y for every id in every epoch (same examples, same
     * decoding, no random augmentation); order and batch size may differ. 0: no such
     * promise. */
    uint64_t (*fingerprint)(dn_batch_source *self, char *err, size_t errlen);
    /* Ids are below this (a folder's file count, when some files are left out of its
     * epochs). NULL: below count(). */
    long (*ids)(dn_batch_source *self);
    /* Instead of reset: starts the next epoch and finishes it at once without producing
     * its data, leaving the source as reset then next..next would have. Writes the
     * epoch's ids in order into ids (room for ids() of them), its batch sizes into sizes
     * (room for as many), and their counts into *n and *nb. 0 or -1 + err. */
    int (*skip_epoch)(dn_batch_source *self, long *ids, int *sizes, long *n, long *nb,
                      char *err, size_t errlen);
} dn_batch_source_ops;

struct dn_batch_source {
    const dn_batch_source_ops *ops;
};

#endif
