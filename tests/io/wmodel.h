/* wmodel.h — what the weight-file tests build their models from: named arrays in
 * malloc'd buffers, filled with a ramp so every value is known. */
#ifndef DN_TEST_WMODEL_H
#define DN_TEST_WMODEL_H

#include "io/weights.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline void add_array(dn_wlayer *l, const char *name, int ndim, const int *shape, float fill,
                      float step)
{
    dn_warray *a = &l->arrays[l->narrays++];
    memset(a, 0, sizeof *a);
    snprintf(a->name, sizeof a->name, "%s", name);
    a->ndim = ndim;
    size_t n = 1;
    for (int d = 0; d < ndim; d++) {
        a->shape[d] = shape[d];
        n *= (size_t)shape[d];
    }
    a->data = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        a->data[i] = fill + step * (float)i;
}

static inline void set_layer(dn_wlayer *l, const char *name, const char *cls)
{
    memset(l, 0, sizeof *l);
    snprintf(l->name, sizeof l->name, "%s", name);
    snprintf(l->class_name, sizeof l->class_name, "%s", cls);
}

static inline size_t nelem(const dn_warray *a)
{
    size_t n = 1;
    for (int d = 0; d < a->ndim; d++)
        n *= (size_t)a->shape[d];
    return n;
}

static inline void free_model(dn_wlayer *m, int n)
{
    for (int i = 0; i < n; i++)
        for (int a = 0; a < m[i].narrays; a++)
            free(m[i].arrays[a].data);
}

#endif
