/* test_weights_keras3.c — Keras 3's `.weights.h5` layout and dn_weights_probe: round trips
 * with the layout checked object by object, each layout told apart, pairing by name and
 * by class and number (groups come back alphabetically: dense_10 before dense_2), classes
 * found by their shapes, mismatches that list both sides and change nothing, files Keras 3
 * writes that deepnb cannot take, and saves that fail leaving the old file. */
#include "check.h"
#include "wmodel.h"
#include "io/weights.h"

#include <hdf5.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>


static void fill_model(dn_wlayer *m, int n, float v)
{
    for (int i = 0; i < n; i++)
        for (int a = 0; a < m[i].narrays; a++)
            for (size_t k = 0; k < nelem(&m[i].arrays[a]); k++)
                m[i].arrays[a].data[k] = v;
}

static int all_equal(const dn_wlayer *m, int n, float v)
{
    for (int i = 0; i < n; i++)
        for (int a = 0; a < m[i].narrays; a++)
            for (size_t k = 0; k < nelem(&m[i].arrays[a]); k++)
                if (m[i].arrays[a].data[k] != v)
                    return 0;
    return 1;
}

static int same_values(const dn_wlayer *x, const dn_wlayer *y, int n)
{
    for (int i = 0; i < n; i++) {
        if (x[i].narrays != y[i].narrays)
            return 0;
        for (int a = 0; a < x[i].narrays; a++)
            if (nelem(&x[i].arrays[a]) != nelem(&y[i].arrays[a]) ||
                memcmp(x[i].arrays[a].data, y[i].arrays[a].data,
                       nelem(&x[i].arrays[a]) * sizeof(float)))
                return 0;
    }
    return 1;
}

/* The CNN of the Keras fixtures: conv2d, batch_normalization, max_pooling2d, conv2d,
 * flatten, dropout, dense, under the runtime's names (Keras 2 style: conv2d_1, ...). */
static int cnn(dn_wlayer *m, float fill, int dense_out)
{
    set_layer(&m[0], "conv2d_1", "Conv2D");
    add_array(&m[0], "kernel", 4, (int[]){3, 3, 1, 4}, fill, 0.01f);
    add_array(&m[0], "bias", 1, (int[]){4}, fill + 1, 0.01f);
    set_layer(&m[1], "batch_normalization_1", "BatchNormalization");
    add_array(&m[1], "gamma", 1, (int[]){4}, fill + 2, 0.01f);
    add_array(&m[1], "beta", 1, (int[]){4}, fill + 3, 0.01f);
    add_array(&m[1], "moving_mean", 1, (int[]){4}, fill + 4, 0.01f);
    add_array(&m[1], "moving_variance", 1, (int[]){4}, fill + 5, 0.01f);
    set_layer(&m[2], "max_pooling2d_1", "MaxPooling2D");
    set_layer(&m[3], "conv2d_2", "Conv2D");
    add_array(&m[3], "kernel", 4, (int[]){3, 3, 4, 6}, fill + 6, 0.01f);
    add_array(&m[3], "bias", 1, (int[]){6}, fill + 7, 0.01f);
    set_layer(&m[4], "flatten_1", "Flatten");
    set_layer(&m[5], "dropout_1", "Dropout");
    set_layer(&m[6], "dense_1", "Dense");
    add_array(&m[6], "kernel", 2, (int[]){96, dense_out}, fill + 8, 0.01f);
    add_array(&m[6], "bias", 1, (int[]){dense_out}, fill + 9, 0.01f);
    return 7;
}

/* ---- Keras 3 files written with HDF5 directly, as Keras 3's H5IOStore writes them ---- */

static void vlen_attr(hid_t obj, const char *name, const char *s)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, t, &s);
    H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
}

/* A new file with the model's own vars group (name attr when model is given). */
static hid_t k3_create(const char *path, const char *model)
{
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t v = H5Gcreate2(f, "vars", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (model)
        vlen_attr(v, "name", model);
    H5Gclose(v);
    H5Gclose(H5Gcreate2(f, "layers", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    return f;
}

/* layers/<group>/vars with name attr (unless NULL) and arrays "0".. of the given shapes
 * ({ndim, d0, d1, d2, d3} each), values base + 100 a + 0.5 i. */
static void k3_layer(hid_t f, const char *group, const char *name, int narr,
                     const int (*shapes)[5], float base)
{
    char path[256];
    snprintf(path, sizeof path, "layers/%s", group);
    hid_t g = H5Gcreate2(f, path, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t v = H5Gcreate2(g, "vars", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (name)
        vlen_attr(v, "name", name);
    for (int a = 0; a < narr; a++) {
        hsize_t dims[4];
        size_t n = 1;
        for (int d = 0; d < shapes[a][0]; d++) {
            dims[d] = (hsize_t)shapes[a][1 + d];
            n *= dims[d];
        }
        float *vals = malloc(n * sizeof(float));
        for (size_t i = 0; i < n; i++)
            vals[i] = base + 100.0f * (float)a + 0.5f * (float)i;
        char key[16];
        snprintf(key, sizeof key, "%d", a);
        hid_t sp = H5Screate_simple(shapes[a][0], dims, NULL);
        hid_t ds = H5Dcreate2(v, key, H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, vals);
        H5Dclose(ds);
        H5Sclose(sp);
        free(vals);
    }
    H5Gclose(v);
    H5Gclose(g);
}

/* 1 when every value of array a of l is what k3_layer wrote with base. */
static int got_k3(const dn_wlayer *l, int a, float base)
{
    for (size_t i = 0; i < nelem(&l->arrays[a]); i++)
        if (l->arrays[a].data[i] != base + 100.0f * (float)a + 0.5f * (float)i)
            return 0;
    return 1;
}

/* ---- reading a file back with HDF5 directly ---- */

static int attr_string(hid_t f, const char *obj, const char *name, char *buf, size_t n,
                       int *vlen_utf8)
{
    buf[0] = 0;
    if (H5Aexists_by_name(f, obj, name, H5P_DEFAULT) <= 0)
        return -1;
    hid_t a = H5Aopen_by_name(f, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    hid_t t = H5Aget_type(a);
    hid_t sp = H5Aget_space(a);
    *vlen_utf8 = H5Tis_variable_str(t) > 0 && H5Tget_cset(t) == H5T_CSET_UTF8 &&
                 H5Sget_simple_extent_type(sp) == H5S_SCALAR;
    int rc = -1;
    if (*vlen_utf8) {
        char *s = NULL;
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        H5Tset_cset(mt, H5T_CSET_UTF8);
        if (H5Aread(a, mt, &s) >= 0 && s) {
            snprintf(buf, n, "%s", s);
            H5free_memory(s);
            rc = 0;
        }
        H5Tclose(mt);
    }
    H5Sclose(sp);
    H5Tclose(t);
    H5Aclose(a);
    return rc;
}

static int nlinks(hid_t f, const char *group)
{
    H5G_info_t gi;
    if (H5Lexists(f, group, H5P_DEFAULT) <= 0 ||
        H5Gget_info_by_name(f, group, &gi, H5P_DEFAULT) < 0)
        return -1;
    return (int)gi.nlinks;
}

/* 1 when dataset path holds exactly l's array a: float32 little-endian, contiguous, shape. */
static int dataset_is(hid_t f, const char *path, const dn_warray *w)
{
    if (H5Lexists(f, path, H5P_DEFAULT) <= 0)
        return 0;
    hid_t ds = H5Dopen2(f, path, H5P_DEFAULT);
    hid_t t = H5Dget_type(ds), sp = H5Dget_space(ds), pl = H5Dget_create_plist(ds);
    hsize_t dims[4] = {0};
    int ok = H5Tequal(t, H5T_IEEE_F32LE) > 0 && H5Sget_simple_extent_ndims(sp) == w->ndim &&
             H5Pget_layout(pl) == H5D_CONTIGUOUS;
    H5Sget_simple_extent_dims(sp, dims, NULL);
    for (int d = 0; ok && d < w->ndim; d++)
        ok = dims[d] == (hsize_t)w->shape[d];
    float *v = malloc(nelem(w) * sizeof(float) + 1);
    ok = ok && H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0 &&
         !memcmp(v, w->data, nelem(w) * sizeof(float));
    free(v);
    H5Pclose(pl);
    H5Sclose(sp);
    H5Tclose(t);
    H5Dclose(ds);
    return ok;
}

static void test_layout(const char *dir)
{
    char path[700], err[1024], s[256];
    dn_wlayer m[7];
    int n = cnn(m, 1.0f, 5);
    snprintf(path, sizeof path, "%s/cnn.weights.h5", dir);
    int rc = dn_weights_save_keras3(path, m, n, err, sizeof err);
    CHECK(rc == 0, "save the fixtures' CNN in Keras 3's layout (%s)", rc ? err : "");
    CHECK(count_entries(dir) == 1, "only the file is left in the folder (no temporary)");

    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    H5O_info_t oi;
    H5Oget_info(f, &oi);
    CHECK(oi.num_attrs == 0 && nlinks(f, "/") == 2 && nlinks(f, "vars") == 0 &&
              H5Lexists(f, "optimizer", H5P_DEFAULT) == 0,
          "root: no attributes, just 'layers' and an empty 'vars', no optimizer group");
    int vu = 0;
    CHECK(attr_string(f, "vars", "name", s, sizeof s, &vu) == 0 && vu && !strcmp(s, "sequential"),
          "vars' name is 'sequential', a scalar variable-length UTF-8 string as h5py writes");
    static const char *const groups[] = {"conv2d", "batch_normalization", "max_pooling2d",
                                          "conv2d_1", "flatten", "dropout", "dense"};
    CHECK(nlinks(f, "layers") == 7, "a group per layer, weightless ones too");
    int good = 1;
    for (int i = 0; i < n; i++) {
        char g[128], ds[160];
        snprintf(g, sizeof g, "layers/%s/vars", groups[i]);
        if (nlinks(f, g) != m[i].narrays || attr_string(f, g, "name", s, sizeof s, &vu) != 0 ||
            strcmp(s, m[i].name) || !vu) {
            printf("     %s: %d links, name '%s'\n", g, nlinks(f, g), s);
            good = 0;
        }
        snprintf(g, sizeof g, "layers/%s", groups[i]);
        if (nlinks(f, g) != 1)
            good = 0;
        for (int a = 0; a < m[i].narrays; a++) {
            snprintf(ds, sizeof ds, "layers/%s/vars/%d", groups[i], a);
            if (!dataset_is(f, ds, &m[i].arrays[a])) {
                printf("     %s differs\n", ds);
                good = 0;
            }
        }
    }
    CHECK(good, "groups are Keras 3's (class in snake case, numbered per class: conv2d, "
                "conv2d_1), vars name = the layer's name, arrays \"0\", \"1\"... as float32");
    H5Fclose(f);

    dn_weights_info info;
    rc = dn_weights_probe(path, &info, err, sizeof err);
    CHECK(rc == 0 && info.layout == DN_WEIGHTS_KERAS3 && !strcmp(info.model_name, "sequential") &&
              !info.has_optimizer && info.nlayers == 7 && !info.keras_version[0],
          "probe: Keras 3, model 'sequential', no optimizer, 7 layers %s", rc ? err : "");
    if (rc == 0) {
        /* Listed per class by number: batch_normalization, conv2d, conv2d_1, dense, ... */
        CHECK(!strcmp(info.layers[1].group, "conv2d") && !strcmp(info.layers[1].name, "conv2d_1") &&
                  !strcmp(info.layers[2].group, "conv2d_1") &&
                  !strcmp(info.layers[2].name, "conv2d_2") && info.layers[2].narrays == 2 &&
                  info.layers[2].arrays[0].ndim == 4 && info.layers[2].arrays[0].shape[2] == 4 &&
                  info.layers[2].arrays[0].shape[3] == 6 &&
                  !strcmp(info.layers[2].arrays[1].name, "1"),
              "probe lists groups, names and shapes");
        char line[1024];
        dn_weights_describe(&info, line, sizeof line);
        CHECK(strstr(line, "a Keras 3 (.weights.h5) file, model 'sequential', 7 layers (4 with "
                           "weights): batch_normalization \"batch_normalization_1\" 4 x (4,), "
                           "conv2d \"conv2d_1\" (3, 3, 1, 4) (4,)") == line,
              "describe: %s", line);
        char tiny[90];
        dn_weights_describe(&info, tiny, sizeof tiny);
        CHECK(strlen(tiny) < sizeof tiny && strstr(tiny, "7 layers"), "describe cut to fit: %s",
              tiny);
        dn_weights_info_free(&info);
    }

    /* Back: every name is in the file, so by name; and by_name; values exactly. */
    dn_wlayer b[7];
    for (int by_name = 0; by_name < 2; by_name++) {
        cnn(b, -7.0f, 5);
        fill_model(b, 7, -7.0f);
        rc = dn_weights_load_h5(path, b, 7, by_name, err, sizeof err);
        CHECK(rc == 0 && same_values(m, b, 7), "loads back %s, the same values %s",
              by_name ? "by name" : "by order", rc ? err : "");
        free_model(b, 7);
    }
    /* Other names (as another session's Keras or a %%model cell gives): class and number. */
    cnn(b, -7.0f, 5);
    fill_model(b, 7, -7.0f);
    for (int i = 0; i < 7; i++)
        snprintf(b[i].name, sizeof b[i].name, "layer_%d", i);
    rc = dn_weights_load_h5(path, b, 7, 0, err, sizeof err);
    CHECK(rc == 0 && same_values(m, b, 7), "with other names it pairs by class and number %s",
          rc ? err : "");
    free_model(b, 7);
    free_model(m, n);
}

static void test_detection(const char *dir)
{
    char path[700], err[1024];
    dn_weights_info info;
    dn_wlayer m[7];
    int n = cnn(m, 0.5f, 5);

    snprintf(path, sizeof path, "%s/k2.h5", dir);
    dn_weights_save_h5(path, m, n, err, sizeof err);
    int rc = dn_weights_probe(path, &info, err, sizeof err);
    CHECK(rc == 0 && info.layout == DN_WEIGHTS_KERAS2 && !strcmp(info.keras_version, "2.2.4") &&
              !strcmp(info.backend, "tensorflow") && info.nlayers == 7 &&
              !strcmp(info.layers[6].name, "dense_1") && info.layers[6].narrays == 2 &&
              !strcmp(info.layers[6].arrays[0].name, "dense_1/kernel:0") &&
              info.layers[6].arrays[0].shape[0] == 96 && info.layers[2].narrays == 0,
          "a Keras 2 file: version, backend, layers in order, weight names, shapes %s",
          rc ? err : "");
    dn_weights_info_free(&info);

    /* Keras 1 (no keras_version) and the Theano backend, written as Keras 1 did. */
    for (int th = 0; th < 2; th++) {
        snprintf(path, sizeof path, "%s/k1_%d.h5", dir, th);
        hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
        hid_t t = H5Tcopy(H5T_C_S1);
        H5Tset_size(t, 7);
        hsize_t one = 1;
        hid_t sp = H5Screate_simple(1, &one, NULL);
        hid_t a = H5Acreate2(f, "layer_names", t, sp, H5P_DEFAULT, H5P_DEFAULT);
        H5Awrite(a, t, "dense_1");
        H5Aclose(a);
        H5Sclose(sp);
        if (th) {
            H5Tset_size(t, 6);
            sp = H5Screate(H5S_SCALAR);
            a = H5Acreate2(f, "backend", t, sp, H5P_DEFAULT, H5P_DEFAULT);
            H5Awrite(a, t, "theano");
            H5Aclose(a);
            H5Sclose(sp);
        }
        H5Tclose(t);
        hid_t g = H5Gcreate2(f, "dense_1", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        hsize_t zero = 0;
        sp = H5Screate_simple(1, &zero, NULL);
        double none = 0;
        a = H5Acreate2(g, "weight_names", H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
        H5Awrite(a, H5T_NATIVE_DOUBLE, &none);
        H5Aclose(a);
        H5Sclose(sp);
        H5Gclose(g);
        H5Fclose(f);
        rc = dn_weights_probe(path, &info, err, sizeof err);
        CHECK(rc == 0 && info.layout == (th ? DN_WEIGHTS_THEANO : DN_WEIGHTS_KERAS1) &&
                  !strcmp(info.backend, th ? "theano" : "") && info.nlayers == 1,
              "a Keras 1 file%s is told as %s %s", th ? " by Theano" : "",
              dn_weights_layout_name(info.layout), rc ? err : "");
        dn_weights_info_free(&info);
    }

    /* A whole-model file keeps the weights under model_weights. */
    snprintf(path, sizeof path, "%s/whole.h5", dir);
    char inner[640];
    snprintf(inner, sizeof inner, "%s/inner.h5", dir);
    dn_weights_save_h5(inner, m, n, err, sizeof err);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t src = H5Fopen(inner, H5F_ACC_RDONLY, H5P_DEFAULT);
    H5Ocopy(src, "/", f, "model_weights", H5P_DEFAULT, H5P_DEFAULT);
    H5Gclose(H5Gcreate2(f, "optimizer_weights", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    H5Fclose(src);
    H5Fclose(f);
    unlink(inner);
    rc = dn_weights_probe(path, &info, err, sizeof err);
    CHECK(rc == 0 && info.layout == DN_WEIGHTS_KERAS2 && info.whole_model && info.has_optimizer,
          "a whole-model file: Keras 2, whole_model, optimizer_weights %s", rc ? err : "");
    dn_weights_info_free(&info);

    /* tf.keras 2.13+ writes Keras 3's layout for a .weights.h5, with no name attributes. */
    snprintf(path, sizeof path, "%s/tfk.weights.h5", dir);
    f = k3_create(path, NULL);
    k3_layer(f, "dense", NULL, 2, (const int[][5]){{2, 3, 2}, {1, 2}}, 1.0f);
    k3_layer(f, "dropout", NULL, 0, NULL, 0);
    H5Fclose(f);
    rc = dn_weights_probe(path, &info, err, sizeof err);
    CHECK(rc == 0 && info.layout == DN_WEIGHTS_KERAS3 && !info.model_name[0] &&
              info.nlayers == 2 && !strcmp(info.layers[0].name, "dense") &&
              info.layers[0].narrays == 2 && info.layers[1].narrays == 0,
          "tf.keras' .weights.h5 (no name attributes): Keras 3, names from the groups %s",
          rc ? err : "");
    dn_weights_info_free(&info);

    /* Not weight files: each in its own words, info left empty. */
    struct { const char *name, *bytes, *want; } bad[] = {
        {"none.h5", NULL, "no such file"},
        {"text.h5", "not hdf5 at all\n", "it is not an HDF5 file"},
        {"model.keras", "PK\x03\x04rest of a zip", "it is not an HDF5 file but a zip archive"},
        {"bare.h5", "", "it is an HDF5 file but not a Keras weight file"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, bad[i].name);
        if (bad[i].bytes && bad[i].bytes[0])
            write_bytes(path, bad[i].bytes, strlen(bad[i].bytes));
        else if (bad[i].bytes)
            H5Fclose(H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
        rc = dn_weights_probe(path, &info, err, sizeof err);
        CHECK(rc != 0 && strstr(err, bad[i].want) && strstr(err, path) && info.nlayers == 0 &&
                  !info.layers,
              "%s: %s", bad[i].name, err);
        dn_wlayer b[7];
        cnn(b, -7.0f, 5);
        fill_model(b, 7, -7.0f);
        rc = dn_weights_load_h5(path, b, 7, 0, err, sizeof err);
        CHECK(rc != 0 && strstr(err, bad[i].want) && all_equal(b, 7, -7.0f),
              "  and the loader says the same: %s", err);
        free_model(b, 7);
        unlink(path);
    }
    rc = dn_weights_probe(dir, &info, err, sizeof err);
    CHECK(rc != 0 && strstr(err, "it is a folder"), "a folder: %s", err);
    free_model(m, n);
}

/* Keras 3 numbers a class's layers dense, dense_1, ..., dense_10, which HDF5 lists
 * alphabetically (dense_10 before dense_2): the pairing must count, not sort. */
static void test_creation_order(const char *dir)
{
    char path[700], err[1024];
    enum { ND = 12 };
    snprintf(path, sizeof path, "%s/deep.weights.h5", dir);
    hid_t f = k3_create(path, "sequential");
    /* Dense i maps i+2 -> i+3 features, so shapes tell them apart (and a wrong order fails);
     * a BatchNormalization after every fourth, numbered on its own. */
    dn_wlayer m[ND + 3];
    int n = 0, nb = 0;
    for (int i = 0; i < ND; i++) {
        char group[64], name[64];
        snprintf(group, sizeof group, i ? "dense_%d" : "dense", i);
        snprintf(name, sizeof name, "dense_%d", 100 + i);   /* another session's names */
        k3_layer(f, group, name, 2, (const int[][5]){{2, i + 2, i + 3}, {1, i + 3}},
                 (float)(1000 * i));
        set_layer(&m[n], "", "Dense");
        snprintf(m[n].name, sizeof m[n].name, "dense_%d", i + 1);   /* the runtime's */
        add_array(&m[n], "kernel", 2, (int[]){i + 2, i + 3}, -7.0f, 0);
        add_array(&m[n], "bias", 1, (int[]){i + 3}, -7.0f, 0);
        n++;
        if (i % 4 == 3) {
            snprintf(group, sizeof group, nb ? "batch_normalization_%d" : "batch_normalization",
                     nb);
            const int c = i + 3;
            k3_layer(f, group, group, 4,
                     (const int[][5]){{1, c}, {1, c}, {1, c}, {1, c}}, (float)(50000 + 1000 * nb));
            set_layer(&m[n], "", "BatchNormalization");
            snprintf(m[n].name, sizeof m[n].name, "batch_normalization_%d", nb + 1);
            for (int a = 0; a < 4; a++)
                add_array(&m[n], (const char *const[]){"gamma", "beta", "moving_mean",
                                                       "moving_variance"}[a], 1, (int[]){c},
                          -7.0f, 0);
            n++;
            nb++;
        }
    }
    H5Fclose(f);
    int rc = dn_weights_load_h5(path, m, n, 0, err, sizeof err);
    int good = rc == 0;
    for (int i = 0, d = 0, b = 0; good && i < n; i++) {
        float base = !strcmp(m[i].class_name, "Dense") ? (float)(1000 * d++)
                                                       : (float)(50000 + 1000 * b++);
        for (int a = 0; a < m[i].narrays; a++)
            good &= got_k3(&m[i], a, base);
    }
    CHECK(good, "12 Dense and 3 BatchNormalization layers interleaved, other names: each "
                "gets its class's n-th (dense_10 after dense_9) %s", rc ? err : "");

    /* Without the last layer, a BatchNormalization: the counts differ, both sides listed. */
    fill_model(m, n, -7.0f);
    rc = dn_weights_load_h5(path, m, n - 1, 0, err, sizeof err);
    CHECK(rc != 0 && strstr(err, "its layers do not pair with the model's by class and order: "
                                 "the file has 3 'batch_normalization' layers with weights "
                                 "(batch_normalization, batch_normalization_1, "
                                 "batch_normalization_2), the model has 2 BatchNormalization "
                                 "layers (batch_normalization_1, batch_normalization_2)") &&
              strstr(err, "; the file has 15 layers with weights:") &&
              strstr(err, "; the model has 14:") && all_equal(m, n, -7.0f),
          "one layer fewer: %s", err);
    free_model(m, n);
}

static void test_by_name(const char *dir)
{
    char path[700], err[1024];
    snprintf(path, sizeof path, "%s/named.weights.h5", dir);
    /* Keras 3 with user names: groups by class, names only in the attributes. */
    hid_t f = k3_create(path, "mine");
    k3_layer(f, "dense", "first", 2, (const int[][5]){{2, 4, 4}, {1, 4}}, 10.0f);
    k3_layer(f, "dense_1", "second", 2, (const int[][5]){{2, 4, 4}, {1, 4}}, 20.0f);
    H5Fclose(f);

    /* The model lists them the other way round: names decide, not order. */
    dn_wlayer m[2];
    set_layer(&m[0], "second", "Dense");
    add_array(&m[0], "kernel", 2, (int[]){4, 4}, -7.0f, 0);
    add_array(&m[0], "bias", 1, (int[]){4}, -7.0f, 0);
    set_layer(&m[1], "first", "Dense");
    add_array(&m[1], "kernel", 2, (int[]){4, 4}, -7.0f, 0);
    add_array(&m[1], "bias", 1, (int[]){4}, -7.0f, 0);
    int rc = dn_weights_load_h5(path, m, 2, 0, err, sizeof err);
    CHECK(rc == 0 && got_k3(&m[0], 0, 20.0f) && got_k3(&m[0], 1, 20.0f) &&
              got_k3(&m[1], 0, 10.0f) && got_k3(&m[1], 1, 10.0f),
          "every name found: paired by the name attributes, whatever the order %s",
          rc ? err : "");
    /* One name missing: by class and number, i.e. in the file's order. */
    fill_model(m, 2, -7.0f);
    snprintf(m[0].name, sizeof m[0].name, "other");
    rc = dn_weights_load_h5(path, m, 2, 0, err, sizeof err);
    CHECK(rc == 0 && got_k3(&m[0], 0, 10.0f) && got_k3(&m[1], 0, 20.0f),
          "a name not found: by class and number instead %s", rc ? err : "");
    /* by_name=1 forces names: 'other' is left alone, 'first' gets its values. */
    fill_model(m, 2, -7.0f);
    rc = dn_weights_load_h5(path, m, 2, 1, err, sizeof err);
    CHECK(rc == 0 && all_equal(&m[0], 1, -7.0f) && got_k3(&m[1], 0, 10.0f),
          "by_name: only the namesakes load %s", rc ? err : "");
    snprintf(m[1].name, sizeof m[1].name, "third");
    fill_model(m, 2, -7.0f);
    rc = dn_weights_load_h5(path, m, 2, 1, err, sizeof err);
    CHECK(rc != 0 && strstr(err, "no layer of the model has a name found in the file (the "
                                 "file's layers with weights: first, second; the model's: "
                                 "other, third)") && all_equal(m, 2, -7.0f),
          "by_name with no namesake: %s", err);
    free_model(m, 2);
}

/* Classes the file names otherwise (a subclass, a class deepnb calls differently) are
 * found by their layers' shapes, when that is unambiguous. */
static void test_class_by_shapes(const char *dir)
{
    char path[700], err[1024];
    snprintf(path, sizeof path, "%s/custom.weights.h5", dir);
    hid_t f = k3_create(path, "sequential");
    k3_layer(f, "my_dense", NULL, 2, (const int[][5]){{2, 3, 5}, {1, 5}}, 1.0f);
    k3_layer(f, "my_dense_1", NULL, 2, (const int[][5]){{2, 5, 2}, {1, 2}}, 2.0f);
    k3_layer(f, "conv2d", NULL, 2, (const int[][5]){{4, 3, 3, 1, 3}, {1, 3}}, 3.0f);
    H5Fclose(f);
    dn_wlayer m[3];
    set_layer(&m[0], "conv2d_1", "Conv2D");
    add_array(&m[0], "kernel", 4, (int[]){3, 3, 1, 3}, -7.0f, 0);
    add_array(&m[0], "bias", 1, (int[]){3}, -7.0f, 0);
    set_layer(&m[1], "dense_1", "Dense");
    add_array(&m[1], "kernel", 2, (int[]){3, 5}, -7.0f, 0);
    add_array(&m[1], "bias", 1, (int[]){5}, -7.0f, 0);
    set_layer(&m[2], "dense_2", "Dense");
    add_array(&m[2], "kernel", 2, (int[]){5, 2}, -7.0f, 0);
    add_array(&m[2], "bias", 1, (int[]){2}, -7.0f, 0);
    int rc = dn_weights_load_h5(path, m, 3, 0, err, sizeof err);
    CHECK(rc == 0 && got_k3(&m[0], 0, 3.0f) && got_k3(&m[1], 0, 1.0f) && got_k3(&m[1], 1, 1.0f) &&
              got_k3(&m[2], 1, 2.0f),
          "the file's my_dense layers have the model's Dense shapes: paired %s", rc ? err : "");

    /* Two unknown classes both fitting: ambiguous, refused. */
    snprintf(path, sizeof path, "%s/twice.weights.h5", dir);
    f = k3_create(path, "sequential");
    k3_layer(f, "alpha", NULL, 1, (const int[][5]){{2, 3, 5}}, 1.0f);
    k3_layer(f, "beta", NULL, 1, (const int[][5]){{2, 3, 5}}, 2.0f);
    H5Fclose(f);
    dn_wlayer d[1];
    set_layer(&d[0], "dense_1", "Dense");
    add_array(&d[0], "kernel", 2, (int[]){3, 5}, -7.0f, 0);
    rc = dn_weights_load_h5(path, d, 1, 0, err, sizeof err);
    CHECK(rc != 0 && strstr(err, "could be several classes of the file's by their shapes") &&
              strstr(err, "the file has 2 layers with weights: alpha (3, 5), beta (3, 5); the "
                          "model has 1: dense_1 Dense (3, 5)") && all_equal(d, 1, -7.0f),
          "ambiguous: %s", err);
    /* No class with those shapes at all. */
    free_model(d, 1);
    set_layer(&d[0], "dense_1", "Dense");
    add_array(&d[0], "kernel", 2, (int[]){3, 6}, -7.0f, 0);
    rc = dn_weights_load_h5(path, d, 1, 0, err, sizeof err);
    CHECK(rc != 0 && strstr(err, "the model's Dense layer (dense_1) finds no layers of the "
                                 "file: none is named 'dense...'") && all_equal(d, 1, -7.0f),
          "no match: %s", err);
    free_model(d, 1);
    free_model(m, 3);
}

static void test_mismatch(const char *dir)
{
    char path[700], err[1024];
    dn_wlayer a[7], b[7];
    int n = cnn(a, 2.0f, 5);
    snprintf(path, sizeof path, "%s/mm.weights.h5", dir);
    dn_weights_save_keras3(path, a, n, err, sizeof err);
    /* The Dense of another size, names of another session: the layer, its group, shapes. */
    cnn(b, -7.0f, 7);
    fill_model(b, 7, -7.0f);
    snprintf(b[6].name, sizeof b[6].name, "dense_9");
    int rc = dn_weights_load_h5(path, b, 7, 0, err, sizeof err);
    CHECK(rc != 0 && strstr(err, "layer dense_9 (dense in the file): the file has kernel (96, 5), "
                                 "the model has (96, 7)") && all_equal(b, 7, -7.0f),
          "a shape mismatch names the layer, its group and both shapes; nothing written: %s", err);
    free_model(b, 7);

    /* A BatchNormalization of 3 arrays (Keras 3's center=False): counts named. */
    snprintf(path, sizeof path, "%s/bn3.weights.h5", dir);
    hid_t f = k3_create(path, "sequential");
    k3_layer(f, "batch_normalization", NULL, 3, (const int[][5]){{1, 4}, {1, 4}, {1, 4}}, 1.0f);
    H5Fclose(f);
    dn_wlayer c[1];
    c[0] = a[1];    /* borrows a's buffers: the load fails before writing */
    rc = dn_weights_load_h5(path, c, 1, 0, err, sizeof err);
    CHECK(rc != 0 && strstr(err, "layer batch_normalization_1 (batch_normalization in the file): "
                                 "the file has 3 weight arrays (0, 1, 2), the model has 4"),
          "another number of arrays: %s", err);

    /* A layer keeping weights in a layer of its own (a nested model): refused in words. */
    snprintf(path, sizeof path, "%s/nested.weights.h5", dir);
    f = k3_create(path, "sequential");
    k3_layer(f, "batch_normalization", NULL, 4, (const int[][5]){{1, 4}, {1, 4}, {1, 4}, {1, 4}},
             1.0f);
    k3_layer(f, "batch_normalization/inner", NULL, 1, (const int[][5]){{1, 2}}, 1.0f);
    H5Fclose(f);
    float before = c[0].arrays[0].data[0];
    rc = dn_weights_load_h5(path, c, 1, 0, err, sizeof err);
    CHECK(rc != 0 && strstr(err, "keeps weights of it in 'batch_normalization/inner'") &&
              c[0].arrays[0].data[0] == before,
          "weights below a layer's own group: %s", err);
    free_model(a, n);
}

/* ---- saves that fail ---- */

static int save_small3(const char *path, char *err, size_t len)
{
    dn_wlayer a[7];
    int n = cnn(a, 1.0f, 5);
    int rc = dn_weights_save_keras3(path, a, n, err, len);
    free_model(a, n);
    return rc;
}

static int save_big3(const char *path, char *err, size_t len)
{
    dn_wlayer big[1];
    set_layer(&big[0], "dense_big", "Dense");
    add_array(&big[0], "kernel", 2, (int[]){300, 300}, 0.5f, 0);
    int rc = dn_weights_save_keras3(path, big, 1, err, len);
    free_model(big, 1);
    return rc;
}

static void save_big_limited(const char *path, int out)
{
    struct rlimit r = {16384, 16384};
    char err[1024];
    signal(SIGXFSZ, SIG_IGN);  /* a write past the limit fails with EFBIG instead of killing */
    setrlimit(RLIMIT_FSIZE, &r);
    int rc = save_big3(path, err, sizeof err);
    if (write(out, rc ? err : "saved", strlen(rc ? err : "saved")) < 0)
        _exit(3);
    _exit(rc ? 1 : 0);
}

static void test_failed_saves(const char *dir)
{
    char path[700], err[1024], msg[1024];
    snprintf(path, sizeof path, "%s/keep.weights.h5", dir);
    int rc = save_small3(path, err, sizeof err);
    size_t len0 = 0, len1 = 0;
    char *before = slurp(path, &len0);
    int entries = count_entries(dir);

    int p[2];
    if (pipe(p) != 0)
        return;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        save_big_limited(path, p[1]);
    }
    close(p[1]);
    ssize_t got = read(p[0], msg, sizeof msg - 1);
    msg[got > 0 ? got : 0] = 0;
    close(p[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    char *after = slurp(path, &len1);
    CHECK(rc == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 1 && strstr(msg, "larger than allowed") &&
              strstr(msg, path),
          "a Keras 3 save that runs out of room fails with the reason: %s", msg);
    CHECK(before && after && len0 == len1 && !memcmp(before, after, len0) &&
              count_entries(dir) == entries,
          "the old file is untouched, no temporary left");
    free(before);
    free(after);

    full_disk_check(dir, "64k", "full.weights.h5", 1, save_small3, save_big3);

    dn_wlayer a[7];
    int n = cnn(a, 1.0f, 5);
    snprintf(path, sizeof path, "%s/no/such/folder/w.weights.h5", dir);
    rc = dn_weights_save_keras3(path, a, n, err, sizeof err);
    CHECK(rc != 0 && strstr(err, "does not exist") && strstr(err, path),
          "save into a missing folder: %s", err);
    snprintf(path, sizeof path, "%s/noclass.weights.h5", dir);
    a[2].class_name[0] = 0;
    rc = dn_weights_save_keras3(path, a, n, err, sizeof err);
    CHECK(rc != 0 && strstr(err, "layer max_pooling2d_1 has no class name") &&
              access(path, F_OK) != 0,
          "a layer without a class (Keras 3 names groups by it) is refused: %s", err);
    snprintf(a[2].class_name, sizeof a[2].class_name, "MaxPooling2D");
    snprintf(a[3].name, sizeof a[3].name, "conv2d_1");
    rc = dn_weights_save_keras3(path, a, n, err, sizeof err);
    CHECK(rc != 0 && strstr(err, "two layers are named 'conv2d_1'") && access(path, F_OK) != 0,
          "two layers with one name are refused: %s", err);
    free_model(a, n);
}

static void test_snake_names(const char *dir)
{
    /* Keras' to_snake_case on the runtime's classes, seen through the groups written. */
    static const char *const cls[][2] = {
        {"Dense", "dense"}, {"Conv2D", "conv2d"}, {"MaxPooling2D", "max_pooling2d"},
        {"BatchNormalization", "batch_normalization"}, {"Flatten", "flatten"},
        {"Dropout", "dropout"}, {"Activation", "activation"}, {"GlobalAveragePooling2D",
        "global_average_pooling2d"}, {"ZeroPadding2D", "zero_padding2d"},
        {"Conv2DTranspose", "conv2d_transpose"}, {"PReLU", "p_re_lu"}, {"LSTM", "lstm"},
        {"HTTPServerError", "http_server_error"}, {"Re-LU x", "re_l_ux"},
    };
    int n = (int)(sizeof cls / sizeof cls[0]);
    dn_wlayer m[16];
    for (int i = 0; i < n; i++) {
        set_layer(&m[i], "", cls[i][0]);
        snprintf(m[i].name, sizeof m[i].name, "l%d", i);
    }
    char path[700], err[1024], g[128];
    snprintf(path, sizeof path, "%s/snake.weights.h5", dir);
    int rc = dn_weights_save_keras3(path, m, n, err, sizeof err);
    hid_t f = rc == 0 ? H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT) : -1;
    int good = f >= 0;
    for (int i = 0; good && i < n; i++) {
        snprintf(g, sizeof g, "layers/%s", cls[i][1]);
        if (H5Lexists(f, g, H5P_DEFAULT) <= 0) {
            printf("     no group %s for %s\n", g, cls[i][0]);
            good = 0;
        }
    }
    if (f >= 0)
        H5Fclose(f);
    CHECK(good, "class names become Keras' snake case (PReLU -> p_re_lu, LSTM -> lstm) %s",
          rc ? err : "");
}

int main(void)
{
    char *dir = scratch_dir();
    chmod(dir, 0755);
    char sub[600];
    const char *parts[] = {"layout", "detect", "order", "name", "shapes", "mismatch", "fail",
                           "snake"};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        snprintf(sub, sizeof sub, "%s/%s", dir, parts[i]);
        mkdir(sub, 0755);
        switch (i) {
        case 0: test_layout(sub); break;
        case 1: test_detection(sub); break;
        case 2: test_creation_order(sub); break;
        case 3: test_by_name(sub); break;
        case 4: test_class_by_shapes(sub); break;
        case 5: test_mismatch(sub); break;
        case 6: test_failed_saves(sub); break;
        case 7: test_snake_names(sub); break;
        }
    }
    /* Every path above, failures included, closed what it opened in HDF5. */
    ssize_t open_objs = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
    CHECK(open_objs == 0, "no HDF5 file, group, dataset or attribute is left open (%zd)",
          open_objs);
    remove_tree(dir);
    printf("%s: %d failure(s)\n", failures ? "FAILED" : "passed", failures);
    return failures ? 1 : 0;
}
