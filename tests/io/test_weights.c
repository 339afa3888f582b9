/* test_weights.c — Keras HDF5 weight files: round trips, pairing by order and by name,
 * all-or-nothing loads, Keras-1 and Theano files, errors, atomic saves that fail. */
#include "check.h"
#include "wmodel.h"
#include "io/weights.h"

#include <errno.h>
#include <hdf5.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>


/* dense_1 (3,2)+(2), flatten_1, conv_1 (2,3,2,4)+(4), bn_1 4 x (bn). Values from fill. */
static int model_a(dn_wlayer *m, float fill, float step, int bn)
{
    set_layer(&m[0], "dense_1", "Dense");
    add_array(&m[0], "kernel", 2, (int[]){3, 2}, fill, step);
    add_array(&m[0], "bias", 1, (int[]){2}, fill + 100, step);
    set_layer(&m[1], "flatten_1", "Flatten");
    set_layer(&m[2], "conv_1", "Conv2D");
    add_array(&m[2], "kernel", 4, (int[]){2, 3, 2, 4}, fill + 200, step);
    add_array(&m[2], "bias", 1, (int[]){4}, fill + 300, step);
    set_layer(&m[3], "bn_1", "BatchNormalization");
    add_array(&m[3], "gamma", 1, (int[]){bn}, fill + 400, step);
    add_array(&m[3], "beta", 1, (int[]){bn}, fill + 500, step);
    add_array(&m[3], "moving_mean", 1, (int[]){bn}, fill + 600, step);
    add_array(&m[3], "moving_variance", 1, (int[]){bn}, fill + 700, step);
    return 4;
}

static void fill_model(dn_wlayer *m, int n, float v)
{
    for (int i = 0; i < n; i++)
        for (int a = 0; a < m[i].narrays; a++)
            for (size_t k = 0; k < nelem(&m[i].arrays[a]); k++)
                m[i].arrays[a].data[k] = v;
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

static int all_equal(const dn_wlayer *m, int n, float v)
{
    for (int i = 0; i < n; i++)
        for (int a = 0; a < m[i].narrays; a++)
            for (size_t k = 0; k < nelem(&m[i].arrays[a]); k++)
                if (m[i].arrays[a].data[k] != v)
                    return 0;
    return 1;
}

/* ---- files written with the HDF5 library directly, in Keras-1 layouts ---- */

static void str_attr(hid_t obj, const char *name, const char *const *s, int n, int scalar)
{
    size_t len = 1;
    for (int i = 0; i < n; i++)
        if (strlen(s[i]) > len)
            len = strlen(s[i]);
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, len);
    char *buf = calloc((size_t)n + 1, len);
    for (int i = 0; i < n; i++)
        memcpy(buf + (size_t)i * len, s[i], strlen(s[i]));
    hsize_t dim = (hsize_t)n;
    hid_t sp;
    if (scalar)
        sp = H5Screate(H5S_SCALAR);
    else if (n == 0)
        sp = H5Screate_simple(1, &dim, NULL);
    else
        sp = H5Screate_simple(1, &dim, NULL);
    hid_t a = H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, t, buf);
    H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
    free(buf);
}

static void dataset(hid_t g, const char *name, int ndim, const hsize_t *dims, const float *v)
{
    hid_t sp = H5Screate_simple(ndim, dims, NULL);
    hid_t d = H5Dcreate2(g, name, H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    H5Dclose(d);
    H5Sclose(sp);
}

/* A Keras-1 file: dense_1 (4,3) as dense_1_W/_b, dropout_1 without weights, conv_1 kernel
 * stored (out=3, in=2, kh=2, kw=3) when th, else (2,3,2,3), names with "_1:0" when tfnames. */
static void write_keras1(const char *path, const char *backend, int th, int tfnames,
                         float *kernel_file /* 36 values */)
{
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    const char *layers[] = {"dense_1", "dropout_1", "conv_1"};
    str_attr(f, "layer_names", layers, 3, 0);
    if (backend)
        str_attr(f, "backend", &backend, 1, 1);
    hid_t g = H5Gcreate2(f, "dense_1", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    const char *dn[] = {tfnames ? "dense_1_W_1:0" : "dense_1_W",
                        tfnames ? "dense_1_b_1:0" : "dense_1_b"};
    str_attr(g, "weight_names", dn, 2, 0);
    float w[12], b[3];
    for (int i = 0; i < 12; i++)
        w[i] = (float)i;
    for (int i = 0; i < 3; i++)
        b[i] = 50.0f + (float)i;
    dataset(g, dn[0], 2, (hsize_t[]){4, 3}, w);
    dataset(g, dn[1], 1, (hsize_t[]){3}, b);
    H5Gclose(g);
    g = H5Gcreate2(f, "dropout_1", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    str_attr(g, "weight_names", NULL, 0, 0);
    H5Gclose(g);
    g = H5Gcreate2(f, "conv_1", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    const char *cn[] = {tfnames ? "conv_1_W_1:0" : "conv_1_W", tfnames ? "conv_1_b_1:0" : "conv_1_b"};
    str_attr(g, "weight_names", cn, 2, 0);
    for (int i = 0; i < 36; i++)
        kernel_file[i] = (float)(1000 + i);
    if (th)
        dataset(g, cn[0], 4, (hsize_t[]){3, 2, 2, 3}, kernel_file);
    else
        dataset(g, cn[0], 4, (hsize_t[]){2, 3, 2, 3}, kernel_file);
    dataset(g, cn[1], 1, (hsize_t[]){3}, b);
    H5Gclose(g);
    H5Fclose(f);
}

static int keras1_model(dn_wlayer *m)
{
    set_layer(&m[0], "dense_1", "Dense");
    add_array(&m[0], "kernel", 2, (int[]){4, 3}, -1, 0);
    add_array(&m[0], "bias", 1, (int[]){3}, -1, 0);
    set_layer(&m[1], "dropout_1", "Dropout");
    set_layer(&m[2], "conv_1", "Conv2D");
    add_array(&m[2], "kernel", 4, (int[]){2, 3, 2, 3}, -1, 0);
    add_array(&m[2], "bias", 1, (int[]){3}, -1, 0);
    return 3;
}

static void test_keras1(const char *dir)
{
    char path[600], err[1024];
    float kf[36];
    dn_wlayer m[3];
    int kh = 2, kw = 3, ci = 2, co = 3;

    /* Theano: (out,in,kh,kw) stored, and a true convolution: transposed and turned. */
    snprintf(path, sizeof path, "%s/k1_theano.h5", dir);
    write_keras1(path, "theano", 1, 0, kf);
    int n = keras1_model(m);
    int rc = dn_weights_load_h5(path, m, n, 0, err, sizeof err);
    CHECK(rc == 0, "Keras-1 theano file loads (%s)", rc ? err : "");
    int good = 1;
    for (int i = 0; i < kh; i++)
        for (int j = 0; j < kw; j++)
            for (int c = 0; c < ci; c++)
                for (int o = 0; o < co; o++) {
                    float want = kf[((o * ci + c) * kh + (kh - 1 - i)) * kw + (kw - 1 - j)];
                    if (m[2].arrays[0].data[((i * kw + j) * ci + c) * co + o] != want)
                        good = 0;
                }
    CHECK(good, "theano (out,in,kh,kw) kernel becomes (kh,kw,in,out), turned 180 degrees");
    CHECK(m[2].arrays[0].data[0] == kf[((0 * ci + 0) * kh + 1) * kw + 2],
          "model kernel[0][0][0][0] = file[0][0][1][2] = %g", m[2].arrays[0].data[0]);
    good = 1;
    for (int i = 0; i < 12; i++)
        if (m[0].arrays[0].data[i] != (float)i)
            good = 0;
    CHECK(good && m[0].arrays[1].data[2] == 52.0f, "dense_1_W/_b load unchanged (no flip for Dense)");
    free_model(m, n);

    /* TensorFlow Keras 1 (VGG16's file): "_W_1:0" names, kernels already (kh,kw,in,out). */
    snprintf(path, sizeof path, "%s/k1_tf.h5", dir);
    write_keras1(path, NULL, 0, 1, kf);
    n = keras1_model(m);
    rc = dn_weights_load_h5(path, m, n, 1, err, sizeof err);
    CHECK(rc == 0, "Keras-1 file with block1_conv1_W_1:0-style names loads by name (%s)",
          rc ? err : "");
    CHECK(!memcmp(m[2].arrays[0].data, kf, sizeof kf), "its conv kernel is taken as is");
    free_model(m, n);

    /* Theano backend but (kh,kw,in,out) stored ("th kernels, tf dim ordering"): turned only. */
    snprintf(path, sizeof path, "%s/k1_theano_tf.h5", dir);
    write_keras1(path, "theano", 0, 0, kf);
    n = keras1_model(m);
    rc = dn_weights_load_h5(path, m, n, 0, err, sizeof err);
    good = rc == 0;
    for (int i = 0; good && i < kh; i++)
        for (int j = 0; j < kw; j++)
            for (int c = 0; c < ci; c++)
                for (int o = 0; o < co; o++)
                    if (m[2].arrays[0].data[((i * kw + j) * ci + c) * co + o] !=
                        kf[(((kh - 1 - i) * kw + (kw - 1 - j)) * ci + c) * co + o])
                        good = 0;
    CHECK(good, "theano file with (kh,kw,in,out) kernels: turned 180 degrees, not transposed");
    free_model(m, n);
}

static void test_roundtrip(const char *dir)
{
    char path[600], err[1024];
    dn_wlayer a[4], b[4];
    snprintf(path, sizeof path, "%s/rt.h5", dir);
    int n = model_a(a, 1.0f, 0.25f, 4);
    int rc = dn_weights_save_h5(path, a, n, err, sizeof err);
    CHECK(rc == 0, "save a Dense/Flatten/Conv2D/BatchNormalization model (%s)", rc ? err : "");
    CHECK(count_entries(dir) == 1, "only the file is left in the folder (no temporary)");
    model_a(b, -7.0f, 0.0f, 4);
    fill_model(b, 4, -7.0f);
    rc = dn_weights_load_h5(path, b, n, 0, err, sizeof err);
    CHECK(rc == 0 && same_values(a, b, n), "load by order gives back the same values (%s)",
          rc ? err : "");
    free_model(b, n);
    model_a(b, -7.0f, 0.0f, 4);
    fill_model(b, 4, -7.0f);
    rc = dn_weights_load_h5(path, b, n, 1, err, sizeof err);
    CHECK(rc == 0 && same_values(a, b, n), "load by name gives back the same values");
    free_model(b, n);

    /* By name: other order, a layer the file lacks (left alone). */
    dn_wlayer c[3];
    model_a(b, -7.0f, 0.0f, 4);
    fill_model(b, 4, -7.0f);
    c[0] = b[3];
    c[1] = b[2];
    set_layer(&c[2], "extra_dense", "Dense");
    add_array(&c[2], "kernel", 2, (int[]){2, 2}, -7.0f, 0);
    rc = dn_weights_load_h5(path, c, 3, 1, err, sizeof err);
    CHECK(rc == 0 && same_values(&c[0], &a[3], 1) && same_values(&c[1], &a[2], 1) &&
              all_equal(&c[2], 1, -7.0f),
          "by name: layers found by name in any order, a layer absent from the file untouched");

    /* By order the same model pairs bn_1 with dense_1: a clear error, nothing written. */
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < c[i].narrays; k++)
            for (size_t e = 0; e < nelem(&c[i].arrays[k]); e++)
                c[i].arrays[k].data[e] = -7.0f;
    rc = dn_weights_load_h5(path, c, 3, 0, err, sizeof err);
    CHECK(rc != 0 && strstr(err, "layer bn_1 (dense_1 in the file): the file has 2 weight arrays") &&
              all_equal(c, 3, -7.0f),
          "by order, a layer with another number of arrays fails, nothing written: %s", err);
    free_model(b, 2);
    free_model(c, 3);

    /* Shape mismatch in the last layer: nothing written, not even to earlier layers. */
    model_a(b, -7.0f, 0.0f, 5);
    fill_model(b, 4, -7.0f);
    rc = dn_weights_load_h5(path, b, n, 0, err, sizeof err);
    CHECK(rc != 0 && strstr(err, "layer bn_1: the file has gamma (4,), the model has (5,)"),
          "mismatch names the layer and both shapes: %s", err);
    CHECK(all_equal(b, n, -7.0f), "after the mismatch every model buffer is untouched");
    free_model(b, n);

    dn_wlayer d[1];
    set_layer(&d[0], "dense_1", "Dense");
    add_array(&d[0], "kernel", 2, (int[]){3, 2}, -7.0f, 0);
    add_array(&d[0], "bias", 1, (int[]){2}, -7.0f, 0);
    rc = dn_weights_load_h5(path, d, 1, 0, err, sizeof err);
    CHECK(rc != 0 && strstr(err, "the file has 3 layers with weights (dense_1, conv_1, bn_1), "
                                 "the model has 1 (dense_1)") && all_equal(d, 1, -7.0f),
          "too many layers in the file: %s", err);
    free_model(d, 1);

    dn_wlayer e[6];
    model_a(e, -7.0f, 0.0f, 4);
    fill_model(e, 4, -7.0f);
    set_layer(&e[4], "dense_9", "Dense");
    add_array(&e[4], "kernel", 2, (int[]){1, 1}, -7.0f, 0);
    rc = dn_weights_load_h5(path, e, 5, 0, err, sizeof err);
    CHECK(rc != 0 && strstr(err, "the model has 4") && all_equal(e, 5, -7.0f),
          "too few layers in the file: %s", err);
    free_model(e, 5);

    /* Truncated copy: an error, never a crash. */
    size_t len;
    char *bytes = slurp(path, &len);
    char tpath[640];
    snprintf(tpath, sizeof tpath, "%s/truncated.h5", dir);
    write_bytes(tpath, bytes, len / 2);
    model_a(b, -7.0f, 0.0f, 4);
    fill_model(b, 4, -7.0f);
    rc = dn_weights_load_h5(tpath, b, n, 0, err, sizeof err);
    CHECK(rc != 0 && strstr(err, tpath) && strstr(err, "truncated") && all_equal(b, n, -7.0f),
          "a truncated file gives an error: %s", err);
    /* Corrupt the data area: the load may succeed or fail, but must stay safe. */
    for (size_t k = len / 3; k < len; k += 97)
        bytes[k] ^= 0x5a;
    write_bytes(tpath, bytes, len);
    rc = dn_weights_load_h5(tpath, b, n, 0, err, sizeof err);
    printf("info a corrupted file was handled without a crash (rc %d%s%s)\n", rc, rc ? ": " : "",
           rc ? err : "");
    free(bytes);
    free_model(b, n);
    unlink(tpath);
    free_model(a, n);
}

static void test_errors(const char *dir)
{
    char path[600], err[1024];
    dn_wlayer b[4];
    int n = model_a(b, -7.0f, 0.0f, 4);
    fill_model(b, 4, -7.0f);
    snprintf(path, sizeof path, "%s/none.h5", dir);
    int rc = dn_weights_load_h5(path, b, n, 0, err, sizeof err);
    CHECK(rc != 0 && strstr(err, path) && strstr(err, "no such file"), "missing file: %s", err);
    snprintf(path, sizeof path, "%s/text.h5", dir);
    write_bytes(path, "not hdf5\n", 9);
    rc = dn_weights_load_h5(path, b, n, 0, err, sizeof err);
    CHECK(rc != 0 && strstr(err, "not an HDF5 file"), "a text file: %s", err);
    unlink(path);
    snprintf(path, sizeof path, "%s/bare.h5", dir);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    H5Fclose(f);
    rc = dn_weights_load_h5(path, b, n, 0, err, sizeof err);
    CHECK(rc != 0 && strstr(err, "no 'layer_names' attribute"), "an HDF5 file without layer_names: %s",
          err);
    unlink(path);
    rc = dn_weights_load_h5(dir, b, n, 0, err, sizeof err);
    CHECK(rc != 0 && strstr(err, "folder"), "a folder: %s", err);
    CHECK(all_equal(b, n, -7.0f), "no failed load wrote to the model");

    snprintf(path, sizeof path, "%s/no/such/folder/w.h5", dir);
    rc = dn_weights_save_h5(path, b, n, err, sizeof err);
    CHECK(rc != 0 && strstr(err, "does not exist") && strstr(err, path),
          "save into a missing folder: %s", err);
    rc = dn_weights_save_h5(dir, b, n, err, sizeof err);
    CHECK(rc != 0 && strstr(err, "is a folder"), "save onto a folder: %s", err);
    dn_wlayer dup[2];
    memcpy(dup, b, sizeof(dn_wlayer));
    memcpy(&dup[1], b, sizeof(dn_wlayer));
    snprintf(path, sizeof path, "%s/dup.h5", dir);
    rc = dn_weights_save_h5(path, dup, 2, err, sizeof err);
    CHECK(rc != 0 && strstr(err, "two layers are named 'dense_1'") && access(path, F_OK) != 0,
          "two layers with one name are refused: %s", err);
    free_model(b, n);
}

/* Runs fn in a child; the child sends its error message back. Returns the child's status. */
static int in_child(void (*fn)(const char *, int), const char *arg, char *msg, size_t n)
{
    int p[2];
    if (pipe(p) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        fn(arg, p[1]);
        _exit(0);
    }
    close(p[1]);
    ssize_t got = read(p[0], msg, n - 1);
    msg[got > 0 ? got : 0] = 0;
    close(p[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void save_big(const char *path, int out)
{
    dn_wlayer l[1];
    char err[1024];
    set_layer(&l[0], "dense_big", "Dense");
    add_array(&l[0], "kernel", 2, (int[]){300, 300}, 0.5f, 0);
    int rc = dn_weights_save_h5(path, l, 1, err, sizeof err);
    if (write(out, rc ? err : "saved", strlen(rc ? err : "saved")) < 0)
        _exit(3);
    free_model(l, 1);
    _exit(rc ? 1 : 0);
}

static void save_big_limited(const char *path, int out)
{
    struct rlimit r = {16384, 16384};
    signal(SIGXFSZ, SIG_IGN);  /* a write past the limit fails with EFBIG instead of killing */
    setrlimit(RLIMIT_FSIZE, &r);
    save_big(path, out);
}

static void save_big_as_nobody(const char *path, int out)
{
    if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
        _exit(4);
    save_big(path, out);
}

static void test_atomic(const char *dir)
{
    char path[600], err[1024], msg[1024];
    dn_wlayer a[4];
    int n = model_a(a, 3.0f, 1.0f, 4);
    snprintf(path, sizeof path, "%s/keep.h5", dir);
    dn_weights_save_h5(path, a, n, err, sizeof err);
    size_t len0, len1;
    char *before = slurp(path, &len0);
    int entries = count_entries(dir);

    int st = in_child(save_big_limited, path, msg, sizeof msg);
    char *after = slurp(path, &len1);
    CHECK(st == 1 && strstr(msg, "larger than allowed") && strstr(msg, path),
          "a save that runs out of room fails with the reason: %s", msg);
    CHECK(after && len0 == len1 && !memcmp(before, after, len0), "the old file is untouched");
    CHECK(count_entries(dir) == entries, "no temporary file is left behind");
    free(after);

    /* A folder the writer may not write in (root drops to nobody for this). */
    char sub[640], subpath[700];
    snprintf(sub, sizeof sub, "%s/locked", dir);
    mkdir(sub, 0755);
    snprintf(subpath, sizeof subpath, "%s/w.h5", sub);
    dn_weights_save_h5(subpath, a, n, err, sizeof err);
    chmod(subpath, 0666);   /* the file may be written; only the folder is closed */
    chmod(dir, 0755);
    if (geteuid() != 0)
        chmod(sub, 0555);
    st = in_child(save_big_as_nobody, subpath, msg, sizeof msg);
    after = slurp(subpath, &len1);
    CHECK(st == 1 && strstr(msg, "permission denied (cannot write in the folder"),
          "an unwritable folder: %s", msg);
    CHECK(after && len0 == len1 && !memcmp(before, after, len0) && count_entries(sub) == 1,
          "the old file is untouched, nothing added");
    free(after);

    /* A read-only file in a writable folder is not replaced either. */
    chmod(sub, 0777);
    chmod(subpath, 0444);
    st = in_child(save_big_as_nobody, subpath, msg, sizeof msg);
    after = slurp(subpath, &len1);
    CHECK(st == 1 && strstr(msg, "read-only"), "a read-only file: %s", msg);
    CHECK(after && len0 == len1 && !memcmp(before, after, len0) && count_entries(sub) == 1,
          "the read-only file is untouched, nothing added");
    free(after);
    chmod(sub, 0755);

    /* A successful save replaces the file and keeps its permission bits. */
    chmod(path, 0640);
    int rc = dn_weights_save_h5(path, a, 1, err, sizeof err);
    struct stat sb;
    stat(path, &sb);
    CHECK(rc == 0 && (sb.st_mode & 0777) == 0640, "replacing a file keeps its mode (%o)",
          (unsigned)(sb.st_mode & 0777));
    free(before);
    free_model(a, n);
}

static int save_model_a(const char *path, char *err, size_t len)
{
    dn_wlayer a[4];
    int n = model_a(a, 1.0f, 1.0f, 4);
    int rc = dn_weights_save_h5(path, a, n, err, len);
    free_model(a, n);
    return rc;
}

static int save_big_dense(const char *path, char *err, size_t len)
{
    dn_wlayer big[1];
    set_layer(&big[0], "dense_big", "Dense");
    add_array(&big[0], "kernel", 2, (int[]){300, 300}, 0.5f, 0);
    int rc = dn_weights_save_h5(path, big, 1, err, len);
    free_model(big, 1);
    return rc;
}

/* A real full disk: a 64 KiB tmpfs. */
static void test_full_disk(const char *dir)
{
    full_disk_check(dir, "64k", "keep.h5", 1, save_model_a, save_big_dense);
}

/* Enough layers that layer_names passes HDF5's 64 KiB limit and Keras splits it. */
static void test_many_layers(const char *dir)
{
    enum { N = 700 };
    static dn_wlayer m[N], b[N];
    char path[600], err[1024];
    for (int i = 0; i < N; i++) {
        char name[128];
        snprintf(name, sizeof name, "layer_%04d_%0100d", i, 0);
        set_layer(&m[i], name, "Dense");
        set_layer(&b[i], name, "Dense");
        if (i % 2 == 0) {
            add_array(&m[i], "bias", 1, (int[]){2}, (float)i, 1);
            add_array(&b[i], "bias", 1, (int[]){2}, -1, 0);
        }
    }
    snprintf(path, sizeof path, "%s/many.h5", dir);
    int rc = dn_weights_save_h5(path, m, N, err, sizeof err);
    int rc2 = rc ? rc : dn_weights_load_h5(path, b, N, 0, err, sizeof err);
    CHECK(rc == 0 && rc2 == 0 && same_values(m, b, N),
          "%d layers (layer_names split into layer_names0, 1, ...) round-trip (%s)", N,
          rc || rc2 ? err : "");
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    CHECK(H5Aexists(f, "layer_names0") > 0 && H5Aexists(f, "layer_names1") > 0 &&
              H5Aexists(f, "layer_names") == 0,
          "the list is split as Keras splits it");
    H5Fclose(f);
    free_model(m, N);
    free_model(b, N);
}

int main(void)
{
    char *dir = scratch_dir();
    chmod(dir, 0755);   /* the atomic test's unprivileged child must reach its folder */
    char sub[600];
    snprintf(sub, sizeof sub, "%s/rt", dir);
    mkdir(sub, 0755);
    test_roundtrip(sub);
    test_errors(dir);
    test_keras1(dir);
    snprintf(sub, sizeof sub, "%s/atomic", dir);
    mkdir(sub, 0755);
    test_atomic(sub);
    test_full_disk(dir);
    test_many_layers(dir);
    /* Every path above, failures included, closed what it opened in HDF5. */
    ssize_t open_objs = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
    CHECK(open_objs == 0, "no HDF5 file, group, dataset or attribute is left open (%zd)",
          open_objs);
    remove_tree(dir);
    printf("%s: %d failure(s)\n", failures ? "FAILED" : "passed", failures);
    return failures ? 1 : 0;
}
