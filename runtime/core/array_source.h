/* array_source.h — a dn_batch_source over arrays in memory (Keras' fit(x, y)): x is
 * (count, per-example shape...) row-major, y (count, y_dim) or NULL. With shuffle on,
 * each epoch's order is a permutation drawn from the source's own seeded generator. */
#ifndef DN_ARRAY_SOURCE_H
#define DN_ARRAY_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "../batches.h"

/* x_ndim counts the example axis (2 for (count, features), 4 for NHWC images); the
 * arrays are borrowed, not copied, and must outlive the source. NULL + err on a bad
 * argument or no memory. Free with src->ops->free(src). */
dn_batch_source *dn_array_source_new(const float *x, int x_ndim, const int *x_shape,
                                     const float *y, int y_dim, int batch_size, int shuffle,
                                     uint64_t seed, char *err, size_t errlen);

#endif
