/* model_weights.c — see model_weights.h. The model lends its own buffers (named arrays
 * that point at them), so a save copies nothing and a load writes the values in place;
 * the core derives nothing from weights that outlives a step (conv2d rebuilds its flipped
 * kernel in each backward), so nothing needs refreshing after a load. */
#include "model_weights.h"
#include "isolate.h"
#include "weights_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <string.h>

/* Keras 3's save_weights insists on this ending (it refuses "x.h5"), and Keras 2 and
 * tf.keras write their HDF5 layout for a plain ".h5" (tf.keras writes Keras 3's layout
 * for a ".weights.h5" too): the name says which, here as there. */
static int keras3_name(const char *path)
{
    static const char end[] = ".weights.h5";
    size_t n = strlen(path), e = sizeof end - 1;
    return n >= e && !strcmp(path + n - e, end);
}

/* The model's arrays as io takes them; NULL + err when the model is empty or no memory. */
static dn_wlayer *model_arrays(dn_model *m, const char *what, const char *path, int *n,
                               char *err, size_t errlen)
{
    *n = dn_model_nlayers(m);
    if (*n <= 0) {
        snprintf(err, errlen, "cannot %s '%s': the model has no layers", what, path);
        return NULL;
    }
    dn_wlayer *w = malloc((size_t)*n * sizeof *w);
    if (!w) {
        snprintf(err, errlen, "cannot %s '%s': out of memory", what, path);
        return NULL;
    }
    dn_model_weights(m, w, *n);
    return w;
}

int dn_model_save_weights(dn_model *m, const char *path, char *err, size_t errlen)
{
    if (!m || !path || !*path) {
        snprintf(err, errlen, "cannot save weights: %s", !m ? "no model" : "no file name given");
        return -1;
    }
    int n;
    dn_wlayer *w = model_arrays(m, "save", path, &n, err, errlen);
    if (!w)
        return -1;
    int rc = keras3_name(path) ? dn_weights_save_keras3(path, w, n, err, errlen)
                               : dn_weights_save_h5(path, w, n, err, errlen);
    free(w);
    return rc;
}

/* The model's arrays for a load from path; NULL + err (no model, no file name, ...). */
static dn_wlayer *arrays_to_load(dn_model *m, const char *path, int *n, char *err, size_t errlen)
{
    if (!m || !path || !*path) {
        snprintf(err, errlen, "cannot load weights: %s", !m ? "no model" : "no file name given");
        return NULL;
    }
    return model_arrays(m, "load weights from", path, n, err, errlen);
}

int dn_model_load_weights(dn_model *m, const char *path, int by_name, char *err,
                          size_t errlen)
{
    int n;
    dn_wlayer *w = arrays_to_load(m, path, &n, err, errlen);
    if (!w)
        return -1;
    int rc = dn_weights_load_h5(path, w, n, by_name, err, errlen);
    free(w);
    return rc;
}

/* Seconds a read may take: a minute, and a second for every 20 MB (VGG16's 553 MB file
 * reads in a few seconds; only a reader caught in a loop gets near this). */
static double read_limit(const char *path)
{
    struct stat st;
    double mb = stat(path, &st) == 0 ? (double)st.st_size / 1e6 : 0;
    return 60.0 + mb / 20.0;
}

static size_t floats_of(const dn_warray *a)
{
    size_t c = 1;
    for (int d = 0; d < a->ndim; d++)
        c *= (size_t)a->shape[d];
    return c;
}

typedef struct shared_load {
    const char *path;
    dn_wlayer *w;       /* the model's arrays, pointing into shared memory */
    int n, by_name;
} shared_load;

static int load_in_child(void *ctx, char *err, size_t errlen)
{
    shared_load *s = ctx;
    return dn_weights_load_h5(s->path, s->w, s->n, s->by_name, err, errlen);
}

int dn_model_load_weights_isolated(dn_model *m, const char *path, int by_name, char *err,
                                   size_t errlen)
{
    /* the child reads through the HDF5 module: opened here, it needs no dlopen of its own
     * (the loader's lock may have been held by another thread at the fork) */
    if (!dn_weights_module(err, errlen))
        return -1;
    int n;
    dn_wlayer *w = arrays_to_load(m, path, &n, err, errlen);
    if (!w)
        return -1;
    size_t total = 0;
    for (int i = 0; i < n; i++)
        for (int a = 0; a < w[i].narrays; a++)
            total += floats_of(&w[i].arrays[a]);
    float *shared = dn_shared_alloc(total * sizeof(float));
    dn_wlayer *copy = malloc((size_t)n * sizeof *copy);
    int rc = -1;
    if (!shared || !copy) {
        snprintf(err, errlen, "cannot load weights from '%s': out of memory", path);
        goto out;
    }
    /* the child starts from the model's values: layers the file lacks keep theirs */
    memcpy(copy, w, (size_t)n * sizeof *copy);
    size_t at = 0;
    for (int i = 0; i < n; i++)
        for (int a = 0; a < copy[i].narrays; a++) {
            size_t c = floats_of(&copy[i].arrays[a]);
            memcpy(shared + at, w[i].arrays[a].data, c * sizeof(float));
            copy[i].arrays[a].data = shared + at;
            at += c;
        }
    shared_load s = { path, copy, n, by_name };
    char what[600];
    snprintf(what, sizeof what, "reading '%s'", path);
    rc = dn_isolated(load_in_child, &s, read_limit(path), what, err, errlen);
    if (rc == 0)
        for (int i = 0; i < n; i++)
            for (int a = 0; a < w[i].narrays; a++)
                memcpy(w[i].arrays[a].data, copy[i].arrays[a].data,
                       floats_of(&w[i].arrays[a]) * sizeof(float));
out:
    dn_shared_free(shared, total * sizeof(float));
    free(copy);
    free(w);
    return rc;
}

static int check_in_child(void *ctx, char *err, size_t errlen)
{
    dn_weights_info info;
    if (dn_weights_probe(ctx, &info, err, errlen) != 0)
        return -1;
    dn_weights_info_free(&info);
    return 0;
}

int dn_weights_check_isolated(const char *path, char *err, size_t errlen)
{
    if (!dn_weights_module(err, errlen))  /* before the fork, as above */
        return -1;
    char what[600];
    snprintf(what, sizeof what, "reading '%s'", path);
    return dn_isolated(check_in_child, (void *)path, read_limit(path), what, err, errlen);
}
