#include "tensor.h"
#include "backend.h"
#include "status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dn_tensor_reserve(dn_tensor *t, size_t n, char *err, size_t errlen)
{
    if (n <= t->cap)
        return DN_OK;
    if (t->be) {
        void *d = NULL;
        if (t->be->alloc(&d, n * sizeof(float), err, errlen))
            return DN_ERROR;
        t->be->release(t->data);
        t->data = d;
        t->cap = n;
        return DN_OK;
    }
    /* round up to whole cache lines so aligned_alloc's size rule holds */
    size_t bytes = ((n * sizeof(float)) + 63) & ~(size_t)63;
    float *p = aligned_alloc(64, bytes);
    if (!p)
        return dn_seterr(err, errlen, "out of memory allocating %zu MB for a tensor",
                       bytes >> 20);
    free(t->data);
    t->data = p;
    t->cap = bytes / sizeof(float);
    return DN_OK;
}

void dn_tensor_fini(dn_tensor *t)
{
    if (t->be)
        t->be->release(t->data);
    else
        free(t->data);
    memset(t, 0, sizeof *t);
}

void dn_tensor_move(dn_tensor *t, const struct dn_backend *be)
{
    dn_tensor_fini(t);
    t->be = be;
}

size_t dn_shape_size(int ndim, const int *shape)
{
    size_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= (size_t)shape[i];
    return n;
}

void dn_shape_str(char *buf, size_t len, int ndim, const int *shape)
{
    size_t used = (size_t)snprintf(buf, len, "(None");
    for (int i = 0; i < ndim && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, ", %d", shape[i]);
    if (used < len)
        snprintf(buf + used, len - used, ")");
}
