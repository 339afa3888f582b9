/* weights_file.c — a Keras weight file opened and its layout told (see weights_file.h).
 *
 * Told apart by what the file holds, never by its name: a root attribute layer_names
 * (or layer_names0, 1, ... when Keras split it) is Keras 1 or 2 -- one level down, under
 * "model_weights", in a whole-model file --, keras_version 1.x or none is Keras 1, backend
 * "theano" means true-convolution kernels; a root "layers" (or "vars") group is Keras 3. */
#include "weights_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void dn_wfile_fmt_shape(char *buf, size_t n, int ndim, const long long *dims)
{
    size_t k = (size_t)snprintf(buf, n, "(");
    for (int d = 0; d < ndim && k < n; d++)
        k += (size_t)snprintf(buf + k, n - k, d ? ", %lld" : "%lld", dims[d]);
    if (k < n)
        snprintf(buf + k, n - k, ndim == 1 ? ",)" : ")");
}

/* Checks the path as a file a person named, before HDF5 sees it, so that the common
 * mistakes get their own words. */
static int check_path(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(err, errlen, "%s", errno == ENOENT ? "no such file" : strerror(errno));
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "it is a folder");
        return -1;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s", errno == EACCES ? "permission denied" : strerror(errno));
        return -1;
    }
    unsigned char magic[4] = {0};
    ssize_t got = read(fd, magic, sizeof magic);
    close(fd);
    /* Keras 3's model.save writes a .keras zip whose weights are an HDF5 file inside. */
    if (got == 4 && !memcmp(magic, "PK\x03\x04", 4)) {
        snprintf(err, errlen, "it is not an HDF5 file but a zip archive (a Keras 3 .keras "
                 "model? its weights are the model.weights.h5 inside it: unzip that)");
        return -1;
    }
    if (H5Fis_hdf5(path) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        snprintf(err, errlen, "it is not an HDF5 file");
        return -1;
    }
    return 0;
}

static int has_link(hid_t g, const char *name)
{
    htri_t r = H5Lexists(g, name, H5P_DEFAULT);
    if (r < 0)
        H5Eclear2(H5E_DEFAULT);
    return r > 0;
}

static int has_attr(hid_t o, const char *name)
{
    htri_t r = H5Aexists(o, name);
    if (r < 0)
        H5Eclear2(H5E_DEFAULT);
    return r > 0;
}

/* Keras 1 and 2: layer_names, and per layer a group with weight_names. */
static int list_keras12(dn_wfile *f, char *err, size_t errlen)
{
    char msg[512];
    int found;
    if (dn_h5_read_string(f->root, "keras_version", f->keras_version,
                          sizeof f->keras_version, &found, msg, sizeof msg) != 0) {
        snprintf(err, errlen, "%s", msg);
        return -1;
    }
    f->keras1 = !found || f->keras_version[0] == '1';
    if (dn_h5_read_string(f->root, "backend", f->backend, sizeof f->backend, &found,
                          msg, sizeof msg) != 0) {
        snprintf(err, errlen, "%s", msg);
        return -1;
    }
    f->theano = found && !strcmp(f->backend, "theano");
    f->layout = f->theano ? DN_WEIGHTS_THEANO : f->keras1 ? DN_WEIGHTS_KERAS1 : DN_WEIGHTS_KERAS2;

    char **names;
    int n;
    if (dn_h5_read_strings(f->root, "layer_names", &names, &n, &found, msg, sizeof msg) != 0) {
        snprintf(err, errlen, "%s", msg);
        return -1;
    }
    f->ls = calloc((size_t)n + 1, sizeof *f->ls);
    if (!f->ls) {
        dn_h5_strings_free(names, n);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    f->n = n;
    for (int i = 0; i < n; i++) {
        f->ls[i].name = names[i];
        f->ls[i].g = -1;
    }
    free(names);    /* the strings now belong to ls */
    for (int i = 0; i < n; i++) {
        dn_wfile_layer *l = &f->ls[i];
        if (!has_link(f->root, l->name) || (l->g = H5Gopen2(f->root, l->name, H5P_DEFAULT)) < 0) {
            H5Eclear2(H5E_DEFAULT);
            snprintf(err, errlen, "it lists layer '%s' but has no group of that name", l->name);
            return -1;
        }
        if (dn_h5_read_strings(l->g, "weight_names", &l->wnames, &l->nw, &found,
                               msg, sizeof msg) != 0) {
            snprintf(err, errlen, "layer %s: %s", l->name, msg);
            return -1;
        }
    }
    return 0;
}

int dn_wfile_open(dn_wfile *f, const char *path, const dn_h5_quiet *q, char *err,
                  size_t errlen)
{
    memset(f, 0, sizeof *f);
    f->path = path;
    f->fid = f->root = -1;
    if (check_path(path, err, errlen) != 0)
        return -1;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
#if H5_VERSION_GE(1, 10, 7)
    /* Lock where the file system can, read anyway where it cannot (network mounts). */
    if (fapl >= 0)
        H5Pset_file_locking(fapl, 1, 1);
#endif
    f->fid = H5Fopen(path, H5F_ACC_RDONLY, fapl >= 0 ? fapl : H5P_DEFAULT);
    if (fapl >= 0)
        H5Pclose(fapl);
    if (f->fid < 0) {
        if (strstr(q->desc, "truncated file")) {
            snprintf(err, errlen, "the file is truncated (shorter than its header says: an "
                     "interrupted download or copy?)");
            return -1;
        }
        dn_h5_reason(q, ".", err, errlen);
        return -1;
    }
    f->root = H5Gopen2(f->fid, "/", H5P_DEFAULT);
    if (f->root < 0) {
        snprintf(err, errlen, "cannot open its root group");
        return -1;
    }
    int keras12 = has_attr(f->root, "layer_names") || has_attr(f->root, "layer_names0");
    /* A whole-model file (Keras 2's model.save) keeps the weights one group down. */
    if (!keras12 && has_link(f->root, "model_weights")) {
        hid_t mw = H5Gopen2(f->root, "model_weights", H5P_DEFAULT);
        if (mw >= 0) {
            f->whole_model = 1;
            f->has_optimizer = has_link(f->root, "optimizer_weights");
            H5Gclose(f->root);
            f->root = mw;
            keras12 = has_attr(f->root, "layer_names") || has_attr(f->root, "layer_names0");
        }
    }
    H5Eclear2(H5E_DEFAULT);
    if (keras12)
        return list_keras12(f, err, errlen);
    int any_vars = 0;
    if (!f->whole_model && (dn_k3_layers_group(f->root, &any_vars) || any_vars)) {
        f->layout = DN_WEIGHTS_KERAS3;
        return dn_k3_list(f, err, errlen);
    }
    snprintf(err, errlen, "it is an HDF5 file but not a Keras weight file (it has no "
             "'layer_names' attribute, as Keras 1 and 2 write, nor the 'layers' group of "
             "Keras 3's .weights.h5)");
    return -1;
}

void dn_wfile_close(dn_wfile *f)
{
    for (int i = 0; i < f->n; i++) {
        dn_wfile_layer *l = &f->ls[i];
        if (l->g >= 0)
            H5Gclose(l->g);
        dn_h5_strings_free(l->wnames, l->nw);
        free(l->name);
        free(l->group);
        free(l->prefix);
        free(l->nested);
    }
    free(f->ls);
    f->ls = NULL;
    f->n = 0;
    if (f->root >= 0)
        H5Gclose(f->root);
    if (f->fid >= 0)
        H5Fclose(f->fid);
    f->root = f->fid = -1;
}

/* Keras 3 marks a bfloat16 variable with a "dtype" attribute on its dataset. */
static int is_bfloat16(hid_t ds)
{
    if (!has_attr(ds, "dtype"))
        return 0;
    char v[32];
    int found;
    char msg[128];
    if (dn_h5_read_string(ds, "dtype", v, sizeof v, &found, msg, sizeof msg) != 0)
        return 0;
    return found && !strcmp(v, "bfloat16");
}

int dn_wfile_shape(const dn_wfile_layer *l, int w, long long *dims, int *kind)
{
    *kind = DN_WFILE_NOT_NUMBERS;
    if (l->g < 0 || w < 0 || w >= l->nw || !has_link(l->g, l->wnames[w]))
        return -1;
    hid_t ds = H5Dopen2(l->g, l->wnames[w], H5P_DEFAULT);
    if (ds < 0) {
        H5Eclear2(H5E_DEFAULT);
        return -1;
    }
    hid_t sp = H5Dget_space(ds), t = H5Dget_type(ds);
    int nd = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
    hsize_t d[H5S_MAX_RANK];
    if (nd >= 0 && nd <= H5S_MAX_RANK && H5Sget_simple_extent_dims(sp, d, NULL) >= 0) {
        for (int k = 0; k < nd; k++)
            dims[k] = (long long)d[k];
    } else {
        nd = -1;
    }
    H5T_class_t cls = t >= 0 ? H5Tget_class(t) : H5T_NO_CLASS;
    if (is_bfloat16(ds))
        *kind = DN_WFILE_BFLOAT16;
    else if (cls == H5T_FLOAT || cls == H5T_INTEGER)
        *kind = DN_WFILE_NUMBERS;
    if (t >= 0)
        H5Tclose(t);
    if (sp >= 0)
        H5Sclose(sp);
    H5Dclose(ds);
    H5Eclear2(H5E_DEFAULT);
    return nd;
}
