/* weights_save.c — dn_weights_save_h5: a Keras-2 weight file, laid out as Keras 2.2's
 * save_weights_to_hdf5_group writes it through h5py:
 *   /                attrs layer_names (fixed-length ASCII strings, every layer in order),
 *                    backend = "tensorflow", keras_version = DN_KERAS_VERSION (scalars)
 *   /<layer>         a group per layer, attr weight_names ("<layer>/<array>:0" each;
 *                    an empty float64 array for a layer without weights)
 *   /<layer>/<layer>/<array>:0   float32 little-endian dataset, contiguous, Keras' shape
 * Keras 2.2.4 is the version claimed: the last multi-backend release, whose loaders (and
 * tf.keras') read this layout; "tensorflow" because kernels are stored in correlation
 * form with channels last, as TensorFlow's Keras stores them.
 * dn_weights_save_keras3 shares the checks and the atomic file, and writes Keras 3's
 * layout (weights_keras3.c). */
#include "weights.h"
#include "atomic.h"
#include "h5util.h"
#include "weights_file.h"

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DN_KERAS_VERSION "2.2.4"
#define DN_KERAS_BACKEND "tensorflow"

static int check_layers(const char *path, const dn_wlayer *layers, int nlayers,
                        char *err, size_t errlen)
{
    if (nlayers < 0 || (nlayers > 0 && !layers)) {
        snprintf(err, errlen, "cannot save '%s': no layers given", path);
        return -1;
    }
    for (int i = 0; i < nlayers; i++) {
        const dn_wlayer *l = &layers[i];
        if (!memchr(l->name, 0, sizeof l->name) || !l->name[0] || strchr(l->name, '/') ||
            !memchr(l->class_name, 0, sizeof l->class_name) ||
            !strcmp(l->name, ".")) {
            snprintf(err, errlen, "cannot save '%s': layer %d has no usable name", path, i);
            return -1;
        }
        for (int j = 0; j < i; j++)
            if (!strcmp(layers[j].name, l->name)) {
                snprintf(err, errlen, "cannot save '%s': two layers are named '%s'",
                         path, l->name);
                return -1;
            }
        if (l->narrays < 0 || l->narrays > 4) {
            snprintf(err, errlen, "cannot save '%s': layer %s has %d arrays (0 to 4 allowed)",
                     path, l->name, l->narrays);
            return -1;
        }
        for (int a = 0; a < l->narrays; a++) {
            const dn_warray *w = &l->arrays[a];
            if (!memchr(w->name, 0, sizeof w->name) || !w->name[0]) {
                snprintf(err, errlen, "cannot save '%s': layer %s: array %d has no name",
                         path, l->name, a);
                return -1;
            }
            for (int b = 0; b < a; b++)
                if (!strcmp(l->arrays[b].name, w->name)) {
                    snprintf(err, errlen, "cannot save '%s': layer %s has two arrays named '%s'",
                             path, l->name, w->name);
                    return -1;
                }
            if (w->ndim < 0 || w->ndim > 4) {
                snprintf(err, errlen, "cannot save '%s': layer %s: %s has %d dimensions",
                         path, l->name, w->name, w->ndim);
                return -1;
            }
            size_t count = 1;
            for (int d = 0; d < w->ndim; d++) {
                if (w->shape[d] < 0) {
                    snprintf(err, errlen, "cannot save '%s': layer %s: %s has a negative size",
                             path, l->name, w->name);
                    return -1;
                }
                count *= (size_t)w->shape[d];
            }
            if (count > 0 && !w->data) {
                snprintf(err, errlen, "cannot save '%s': layer %s: %s has no data",
                         path, l->name, w->name);
                return -1;
            }
        }
    }
    return 0;
}

/* One layer's group, weight_names and datasets. 0 or -1 (HDF5 error on the stack). */
static int write_layer(hid_t fid, hid_t lcpl, const dn_h5_untimed *u, const dn_wlayer *l)
{
    char names[4][sizeof l->name + sizeof l->arrays[0].name + 8];
    const char *list[4];
    for (int a = 0; a < l->narrays; a++) {
        snprintf(names[a], sizeof names[a], "%s/%s:0", l->name, l->arrays[a].name);
        list[a] = names[a];
    }
    hid_t g = H5Gcreate2(fid, l->name, H5P_DEFAULT, u->gcpl, H5P_DEFAULT);
    if (g < 0)
        return -1;
    /* the datasets' "<layer>/" group, made here so that it too carries no time */
    hid_t inner = l->narrays ? H5Gcreate2(g, l->name, lcpl, u->gcpl, H5P_DEFAULT) : 0;
    if (inner < 0) {
        H5Gclose(g);
        return -1;
    }
    if (inner > 0)
        H5Gclose(inner);
    int rc = dn_h5_write_strings(g, "weight_names", list, l->narrays);
    for (int a = 0; rc == 0 && a < l->narrays; a++) {
        const dn_warray *w = &l->arrays[a];
        hsize_t dims[4];
        for (int d = 0; d < w->ndim; d++)
            dims[d] = (hsize_t)w->shape[d];
        hid_t sp = w->ndim ? H5Screate_simple(w->ndim, dims, NULL) : H5Screate(H5S_SCALAR);
        hid_t ds = sp >= 0 ? H5Dcreate2(g, names[a], H5T_IEEE_F32LE, sp, lcpl,
                                        u->dcpl, H5P_DEFAULT) : -1;
        /* HDF5 refuses a NULL buffer even when there is nothing to write. */
        float none = 0;
        if (ds < 0 || H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                               w->data ? w->data : &none) < 0)
            rc = -1;
        if (ds >= 0)
            H5Dclose(ds);
        if (sp >= 0)
            H5Sclose(sp);
    }
    H5Gclose(g);
    return rc;
}

/* Keras 2's layout into the open file; lnames: the layers' names. 0 or -1 (HDF5 error
 * on the stack). */
static int write_keras2(hid_t fid, hid_t lcpl, const dn_h5_untimed *u, const dn_wlayer *layers,
                        int nlayers, const char **lnames)
{
    if (dn_h5_write_strings(fid, "layer_names", lnames, nlayers) != 0 ||
        dn_h5_write_string(fid, "backend", DN_KERAS_BACKEND) != 0 ||
        dn_h5_write_string(fid, "keras_version", DN_KERAS_VERSION) != 0)
        return -1;
    for (int i = 0; i < nlayers; i++)
        if (write_layer(fid, lcpl, u, &layers[i]) != 0)
            return -1;
    return 0;
}

/* Keras 3's model name for a Sequential model, as Keras names the first one. */
#define DN_KERAS3_MODEL_NAME "sequential"

/* The checks, the temporary file, one layout's writer, the rename. */
static int save_as(const char *path, const dn_wlayer *layers, int nlayers, int keras3,
                   char *err, size_t errlen)
{
    if (!path || !*path) {
        snprintf(err, errlen, "cannot save weights: no file name given");
        return -1;
    }
    if (check_layers(path, layers, nlayers, err, errlen) != 0)
        return -1;
    for (int i = 0; keras3 && i < nlayers; i++) {
        char snake[64];
        dn_k3_snake_case(layers[i].class_name, snake, sizeof snake);
        if (!snake[0]) {
            snprintf(err, errlen, "cannot save '%s': layer %s has no class name, which Keras 3 "
                     "names its group after", path, layers[i].name);
            return -1;
        }
    }

    dn_h5_quiet q;
    dn_h5_quiet_begin(&q);
    dn_atomic_file af;
    if (dn_atomic_open(&af, path, err, errlen) != 0) {
        dn_h5_quiet_end(&q);
        return -1;
    }
    int rc = -1;
    hid_t fid = -1, fapl = -1, lcpl = -1;
    dn_h5_untimed u = { -1, -1, -1 };
    const char **lnames = malloc(sizeof(char *) * (size_t)(nlayers ? nlayers : 1));
    if (!lnames) {
        snprintf(err, errlen, "cannot save '%s': out of memory", path);
        goto out;
    }
    for (int i = 0; i < nlayers; i++)
        lnames[i] = layers[i].name;

    fapl = H5Pcreate(H5P_FILE_ACCESS);
    lcpl = H5Pcreate(H5P_LINK_CREATE);
    /* Strong close: every object is closed with the file, so a failed save leaks nothing. */
    if (fapl < 0 || lcpl < 0 || H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0 ||
        H5Pset_create_intermediate_group(lcpl, 1) < 0 || dn_h5_untimed_open(&u) < 0)
        goto h5fail;
#if H5_VERSION_GE(1, 10, 7)
    /* Nobody else knows the temporary file: a lock protects nothing, and file systems
     * without locks (some network mounts) would make every save fail. */
    if (H5Pset_file_locking(fapl, 0, 1) < 0)
        goto h5fail;
#endif
    fid = H5Fcreate(af.tmp, H5F_ACC_TRUNC, u.fcpl, fapl);
    if (fid < 0)
        goto h5fail;
    if ((keras3 ? dn_k3_write(fid, &u, layers, nlayers, DN_KERAS3_MODEL_NAME)
                : write_keras2(fid, lcpl, &u, layers, nlayers, lnames)) != 0)
        goto h5fail;
    /* Data still in HDF5's caches is written here, so a full disk shows up here too. */
    herr_t closed = H5Fclose(fid);
    fid = -1;
    if (closed < 0)
        goto h5fail;
    rc = dn_atomic_commit(&af, err, errlen);
    goto out;

h5fail: {
        char *dir = dn_io_dir_of(path);
        char why[512];
        dn_h5_reason(&q, dir, why, sizeof why);
        snprintf(err, errlen, "cannot save '%s': %s", path, why);
        free(dir);
    }
out:
    if (fid >= 0)
        H5Fclose(fid);
    if (lcpl >= 0)
        H5Pclose(lcpl);
    dn_h5_untimed_close(&u);
    if (fapl >= 0)
        H5Pclose(fapl);
    if (rc != 0)
        dn_atomic_abort(&af);
    free(lnames);
    dn_h5_quiet_end(&q);
    return rc;
}

int dn_weights_save_h5(const char *path, const dn_wlayer *layers, int nlayers,
                       char *err, size_t errlen)
{
    return save_as(path, layers, nlayers, 0, err, errlen);
}

int dn_weights_save_keras3(const char *path, const dn_wlayer *layers, int nlayers,
                           char *err, size_t errlen)
{
    return save_as(path, layers, nlayers, 1, err, errlen);
}
