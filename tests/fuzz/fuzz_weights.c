/* fuzz_weights — deepnb's reading of Keras weight files (runtime/io: weights_file.c,
 * weights_load.c, weights_keras3.c, weights_probe.c, h5util.c) on what HDF5 hands back.
 * libhdf5 1.10 itself crashes on some malformed files, so raw bytes go to fuzz_h5_isolated
 * (the child-process path); here the input is a recipe that libhdf5 writes as a valid
 * HDF5 file -- layout, layer and array names, shapes, element types, string attributes
 * fixed or variable length, split or not, arrays listed but missing, stray groups -- and
 * the loader runs in-process, where the fuzzer sees its coverage.
 * Invariants: load and probe give 0 or an error sentence; a failed load leaves every
 * model array as it was; after each call no HDF5 object is left open; describe always
 * ends its text. */
#include "fuzz.h"
#include "io/h5util.h"
#include "io/weights.h"

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the model: Conv2D(2, 3x3) on 1 channel, BatchNormalization, Flatten, Dense(8 -> 3);
 * its arrays side by side in vals */
enum { NVALS = 18 + 2 + 4 * 2 + 24 + 3 };
static float vals[NVALS];
static dn_wlayer model[4] = {
    { "conv2d_1", "Conv2D", 2,
      { { "kernel", 4, { 3, 3, 1, 2 }, vals }, { "bias", 1, { 2 }, vals + 18 } } },
    { "batch_normalization_1", "BatchNormalization", 4,
      { { "gamma", 1, { 2 }, vals + 20 }, { "beta", 1, { 2 }, vals + 22 },
        { "moving_mean", 1, { 2 }, vals + 24 }, { "moving_variance", 1, { 2 }, vals + 26 } } },
    { "flatten_1", "Flatten", 0, { { "", 0, { 0 }, NULL } } },
    { "dense_1", "Dense", 2,
      { { "kernel", 2, { 8, 3 }, vals + 28 }, { "bias", 1, { 3 }, vals + 52 } } },
};

static const char *const layer_names[] = { "conv2d_1", "batch_normalization_1", "flatten_1",
                                           "dense_1", "dense_2", "conv2d", "dense", "x/y",
                                           "batch_normalization", "flatten" };
static const char *const array_names[] = { "kernel:0", "bias:0", "gamma:0", "beta:0",
                                           "moving_mean:0", "moving_variance:0", "W", "b",
                                           "running_std", "0", "1", "2", "3", "" };

static const char *pick(fz_in *in, const char *const *table, size_t n, char *own, size_t ownlen)
{
    unsigned b = fz_byte(in);
    if (b < 0xf0)
        return table[b % n];
    /* a name of the input's own bytes */
    size_t len = fz_byte(in) % (ownlen - 1);
    size_t k = 0;
    while (k < len && in->n) {
        char c = (char)fz_byte(in);
        own[k++] = c ? c : '_';
    }
    own[k] = 0;
    return own;
}

static hid_t elem_type(unsigned b)
{
    switch (b % 8) {
    case 0: return H5Tcopy(H5T_NATIVE_FLOAT);
    case 1: return H5Tcopy(H5T_NATIVE_DOUBLE);
    case 2: return H5Tcopy(H5T_NATIVE_INT);
    case 3: return H5Tcopy(H5T_NATIVE_UCHAR);
    case 4: return H5Tcopy(H5T_STD_I64BE);
    case 5: return H5Tcopy(H5T_IEEE_F32BE);
    case 6: return H5Tcopy(H5T_C_S1);           /* strings: "does not hold numbers" */
    default: return H5Tcopy(H5T_NATIVE_USHORT); /* bfloat16 as Keras 3 marks it */
    }
}

/* A list of strings as an attribute: fixed length through deepnb's writer, or variable
 * length as h5py writes a list of str. */
static void write_list(hid_t obj, const char *name, const char *const *s, int n, int vlen)
{
    if (!vlen || n == 0) {
        dn_h5_write_strings(obj, name, s, n);
        return;
    }
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    hsize_t d = (hsize_t)n;
    hid_t sp = H5Screate_simple(1, &d, NULL);
    hid_t a = H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    if (a >= 0) {
        H5Awrite(a, t, s);
        H5Aclose(a);
    }
    H5Sclose(sp);
    H5Tclose(t);
}

static void write_array(hid_t where, const char *path, fz_in *in)
{
    unsigned kind = fz_byte(in);
    int nd = (int)(fz_byte(in) % 5);
    hsize_t dims[4];
    hsize_t count = 1;
    for (int d = 0; d < nd; d++)
        count *= dims[d] = fz_byte(in) % 9;
    hid_t t = elem_type(kind);
    hid_t sp = nd ? H5Screate_simple(nd, dims, NULL) : H5Screate(H5S_SCALAR);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t ds = H5Dcreate2(where, path, t, sp, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    if (ds >= 0) {
        if (kind % 8 < 6 && count) {
            double *v = malloc(count * sizeof *v);
            for (hsize_t i = 0; v && i < count; i++)
                v[i] = (double)(int)fz_byte(in) - 100;
            if (v)
                H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
            free(v);
        }
        if (kind % 8 == 7)
            dn_h5_write_string(ds, "dtype", "bfloat16");
        H5Dclose(ds);
    }
    H5Pclose(lcpl);
    H5Sclose(sp);
    H5Tclose(t);
}

/* Writes the recipe as a file at path. */
static void write_file(const char *path, fz_in *in)
{
    unsigned layout = fz_byte(in);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0)
        fz_fail("cannot write %s", path);
    int keras3 = layout % 4 == 3;
    hid_t root = layout % 4 == 2 ? H5Gcreate2(f, "model_weights", H5P_DEFAULT, H5P_DEFAULT,
                                              H5P_DEFAULT)
                                 : H5Gopen2(f, "/", H5P_DEFAULT);
    if (layout & 4)
        dn_h5_write_string(root, "keras_version", layout & 8 ? "1.2.2" : "2.2.4");
    if (layout & 16)
        dn_h5_write_string(root, "backend", layout & 32 ? "theano" : "tensorflow");
    if (keras3) {
        hid_t v = H5Gcreate2(root, "vars", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        dn_h5_write_vlen_string(v, "name", "sequential");
        H5Gclose(v);
    }
    int nl = 1 + (int)(fz_byte(in) % 5);
    const char *names[8];
    char own[8][40];
    for (int l = 0; l < nl; l++) {
        names[l] = pick(in, layer_names, sizeof layer_names / sizeof *layer_names, own[l], 40);
        char gpath[200];
        snprintf(gpath, sizeof gpath, keras3 ? "layers/%s/vars" : "%s", names[l]);
        hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
        H5Pset_create_intermediate_group(lcpl, 1);
        hid_t lg = *names[l] ? H5Gcreate2(root, gpath, lcpl, H5P_DEFAULT, H5P_DEFAULT) : -1;
        H5Pclose(lcpl);
        if (lg < 0) {
            H5Eclear2(H5E_DEFAULT);
            continue;
        }
        if (keras3 && (fz_byte(in) & 1))
            dn_h5_write_vlen_string(lg, "name", names[l]);
        int na = (int)(fz_byte(in) % 6);
        const char *wn[6];
        char wbuf[6][80], ownw[6][40];
        for (int a = 0; a < na; a++) {
            const char *an = keras3 ? array_names[9 + a % 4]
                                    : pick(in, array_names, sizeof array_names / sizeof *array_names,
                                           ownw[a], 40);
            unsigned how = fz_byte(in);
            /* Keras 2 lists "layer/kernel:0", Keras 1 plain names; sometimes not written */
            if (how & 1)
                snprintf(wbuf[a], sizeof wbuf[a], "%s/%s", names[l], an);
            else
                snprintf(wbuf[a], sizeof wbuf[a], "%s", an);
            wn[a] = keras3 ? an : wbuf[a];
            if (!(how & 2) && *wn[a])
                write_array(lg, wn[a], in);
            H5Eclear2(H5E_DEFAULT);
        }
        if (!keras3)
            write_list(lg, "weight_names", wn, na, fz_byte(in) & 1);
        H5Gclose(lg);
        H5Eclear2(H5E_DEFAULT);
    }
    if (!keras3 && !(layout & 64))
        write_list(root, "layer_names", names, nl, layout & 128);
    if (layout & 64 && !keras3)
        H5Gclose(H5Gcreate2(root, "optimizer_weights", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    H5Eclear2(H5E_DEFAULT);
    H5Gclose(root);
    H5Fclose(f);
}

static void no_open_objects(const char *after)
{
    ssize_t n = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
    if (n != 0)
        fz_fail("%zd HDF5 objects are still open after %s", n, after);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);   /* the recipe's own mistakes are not news */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = { data, size };
    unsigned how = fz_byte(&in);
    char path[300];
    snprintf(path, sizeof path, "%s/w.h5", fz_scratch());
    write_file(path, &in);
    no_open_objects("writing the file");

    float before[NVALS];
    for (int i = 0; i < NVALS; i++)
        vals[i] = before[i] = 0.5f + (float)i;

    char err[2048];
    err[0] = 0;
    int rc = dn_weights_load_h5(path, model, 4, how & 1, err, sizeof err);
    no_open_objects("dn_weights_load_h5");
    if (getenv("FZ_VERBOSE"))    /* what a seed does: FZ_VERBOSE=1 fuzz_weights FILE */
        fprintf(stderr, "load: %s\n", rc ? err : "ok");
    if (rc != 0) {
        fz_check_message(err, sizeof err, "dn_weights_load_h5");
        if (memcmp(before, vals, sizeof vals))
            fz_fail("a failed load changed the model's weights: %s", err);
    }

    dn_weights_info info;
    err[0] = 0;
    rc = dn_weights_probe(path, &info, err, sizeof err);
    no_open_objects("dn_weights_probe");
    if (getenv("FZ_VERBOSE"))
        fprintf(stderr, "probe: %s\n", rc ? err : "ok");
    if (rc != 0) {
        fz_check_message(err, sizeof err, "dn_weights_probe");
    } else {
        char small[40], large[4096];
        dn_weights_describe(&info, small, sizeof small);
        dn_weights_describe(&info, large, sizeof large);
        if (!memchr(small, 0, sizeof small) || !memchr(large, 0, sizeof large) || !large[0])
            fz_fail("dn_weights_describe left its text without an end");
        dn_weights_info_free(&info);
    }
    return 0;
}
