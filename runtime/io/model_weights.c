/* model_weights.c — see model_weights.h. The model lends its own buffers (named arrays
 * that point at them), so a save copies nothing and a load writes the values in place;
 * the core derives nothing from weights that outlives a step (conv2d rebuilds its flipped
 * kernel in each backward), so nothing needs refreshing after a load. */
#include "model_weights.h"

#include <stdio.h>
#include <stdlib.h>
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

int dn_model_load_weights(dn_model *m, const char *path, int by_name, char *err,
                          size_t errlen)
{
    if (!m || !path || !*path) {
        snprintf(err, errlen, "cannot load weights: %s", !m ? "no model" : "no file name given");
        return -1;
    }
    int n;
    dn_wlayer *w = model_arrays(m, "load weights from", path, &n, err, errlen);
    if (!w)
        return -1;
    int rc = dn_weights_load_h5(path, w, n, by_name, err, errlen);
    free(w);
    return rc;
}
