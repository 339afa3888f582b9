/* tensor.h — float32 arrays of rank 1 to 4, row-major; images are NHWC (Keras'
 * channels-last), so shape[0] is the batch axis wherever there is one.
 * Storage only grows: a step that needs no more than the last one allocates nothing. */
#ifndef DN_TENSOR_H
#define DN_TENSOR_H

#include <stddef.h>

typedef struct dn_tensor {
    int ndim;
    int shape[4];
    float *data;      /* 64-byte aligned, owned */
    size_t cap;       /* floats allocated */
    /* where data lives: NULL for host memory, else the backend (backend.h) whose memory
     * it is; reserve and fini allocate and free there */
    const struct dn_backend *be;
} dn_tensor;

/* Makes room for n floats (keeping nothing of the old contents when it must grow).
 * 0 or -1 + err. */
int dn_tensor_reserve(dn_tensor *t, size_t n, char *err, size_t errlen);
void dn_tensor_fini(dn_tensor *t);
/* Frees the storage and puts future storage on be (NULL: host memory). */
void dn_tensor_move(dn_tensor *t, const struct dn_backend *be);

size_t dn_shape_size(int ndim, const int *shape);
/* Keras-style text of a per-example shape with the batch axis first: "(None, 26, 26, 32)" */
void dn_shape_str(char *buf, size_t len, int ndim, const int *shape);

#endif
