/* test_npy.c — .npy files: round trips for every element type, files shaped by hand as
 * other numpy versions write them (format 2.0, Fortran order, big-endian, float16,
 * Python-2 "3L" shapes), broken files, strings, and a failed save that keeps the old file. */
#include "check.h"
#include "io/npy.h"

#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* A .npy file with the given version and header dict, padded as numpy pads it. */
static void make_npy(const char *path, int major, const char *dict, const void *data, size_t n)
{
    size_t pre = major == 1 ? 10 : 12;
    size_t len = strlen(dict);
    size_t total = (pre + len + 1 + 63) / 64 * 64;
    unsigned char *buf = calloc(total + n + 1, 1);
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)major;
    buf[7] = 0;
    size_t hlen = total - pre;
    buf[8] = (unsigned char)(hlen & 0xff);
    buf[9] = (unsigned char)(hlen >> 8);
    memcpy(buf + pre, dict, len);
    memset(buf + pre + len, ' ', total - pre - len - 1);
    buf[total - 1] = '\n';
    if (n)
        memcpy(buf + total, data, n);
    write_bytes(path, buf, total + n);
    free(buf);
}

static int load_expect(const char *path, int ndim, const long *shape, const float *want, size_t n)
{
    float *d = NULL;
    int nd = -1;
    long sh[4];
    char err[512];
    if (dn_npy_load(path, &d, &nd, sh, err, sizeof err) != 0) {
        printf("     load failed: %s\n", err);
        return 0;
    }
    int ok = nd == ndim;
    for (int i = 0; ok && i < ndim; i++)
        ok = sh[i] == shape[i];
    for (size_t i = 0; ok && i < n; i++)
        ok = d[i] == want[i] || (isnan(d[i]) && isnan(want[i]));
    free(d);
    return ok;
}

static void test_roundtrip(const char *dir)
{
    char path[600], err[512];
    static const long shapes[5][4] = {{0}, {5}, {2, 3}, {2, 3, 4}, {1, 2, 3, 2}};
    for (int nd = 0; nd <= 4; nd++) {
        size_t n = 1;
        for (int d = 0; d < nd; d++)
            n *= (size_t)shapes[nd][d];
        float v[24];
        for (size_t i = 0; i < n; i++)
            v[i] = (float)i * 0.5f - 3.0f;
        snprintf(path, sizeof path, "%s/f%d.npy", dir, nd);
        int rc = dn_npy_save(path, v, nd, shapes[nd], err, sizeof err);
        CHECK(rc == 0 && load_expect(path, nd, shapes[nd], v, n),
              "float32 with %d dimensions round-trips (%s)", nd, rc ? err : "");
    }
    long two = 2, three = 3;
    snprintf(path, sizeof path, "%s/t.npy", dir);
    double f64[2] = {1.5, -2.25};
    float wf64[2] = {1.5f, -2.25f};
    dn_npy_save_as(path, DN_NPY_F64, f64, 1, &two, err, sizeof err);
    CHECK(load_expect(path, 1, &two, wf64, 2), "float64 saved and loaded as float32");
    int8_t i8[3] = {-128, 0, 127};
    float wi8[3] = {-128, 0, 127};
    dn_npy_save_as(path, DN_NPY_I8, i8, 1, &three, err, sizeof err);
    CHECK(load_expect(path, 1, &three, wi8, 3), "int8");
    int16_t i16[3] = {-32768, 1, 32767};
    float wi16[3] = {-32768, 1, 32767};
    dn_npy_save_as(path, DN_NPY_I16, i16, 1, &three, err, sizeof err);
    CHECK(load_expect(path, 1, &three, wi16, 3), "int16");
    int32_t i32[3] = {-16777216, 7, 16777216};
    float wi32[3] = {-16777216.0f, 7, 16777216.0f};
    dn_npy_save_as(path, DN_NPY_I32, i32, 1, &three, err, sizeof err);
    CHECK(load_expect(path, 1, &three, wi32, 3), "int32");
    int64_t i64[3] = {-((int64_t)1 << 40), 1, 9};
    float wi64[3] = {-1099511627776.0f, 1, 9};
    dn_npy_save_as(path, DN_NPY_I64, i64, 1, &three, err, sizeof err);
    CHECK(load_expect(path, 1, &three, wi64, 3), "int64 (labels)");
    uint8_t u8[3] = {0, 128, 255};
    float wu8[3] = {0, 128, 255};
    dn_npy_save_as(path, DN_NPY_U8, u8, 1, &three, err, sizeof err);
    CHECK(load_expect(path, 1, &three, wu8, 3), "uint8");
    uint8_t b[3] = {1, 0, 1};
    float wb[3] = {1, 0, 1};
    dn_npy_save_as(path, DN_NPY_BOOL, b, 1, &three, err, sizeof err);
    CHECK(load_expect(path, 1, &three, wb, 3), "bool");
    size_t len;
    char *bytes = slurp(path, &len);
    CHECK(bytes && len == 128 + 3 && strstr(bytes + 10, "{'descr': '|b1', 'fortran_order': False, "
                                                          "'shape': (3,), }") &&
              bytes[127] == '\n',
          "the header is numpy's dict, the data starts at byte 128 (64-byte aligned)");
    free(bytes);
}

static void test_foreign(const char *dir)
{
    char path[600];
    long s23[2] = {2, 3};
    float c_order[6] = {1, 2, 3, 4, 5, 6};
    snprintf(path, sizeof path, "%s/x.npy", dir);

    float f_order[6] = {1, 4, 2, 5, 3, 6};
    make_npy(path, 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", f_order, 24);
    CHECK(load_expect(path, 2, s23, c_order, 6), "Fortran order is turned into C order");

    long s234[3] = {2, 3, 4};
    float f3[24], c3[24];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 4; k++) {
                c3[(i * 3 + j) * 4 + k] = (float)(100 * i + 10 * j + k);
                f3[i + 2 * (j + 3 * k)] = (float)(100 * i + 10 * j + k);
            }
    make_npy(path, 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3, 4), }", f3, 96);
    CHECK(load_expect(path, 3, s234, c3, 24), "3-D Fortran order too");

    unsigned char be[24];
    for (int i = 0; i < 6; i++) {
        uint32_t u;
        memcpy(&u, &c_order[i], 4);
        be[4 * i] = (unsigned char)(u >> 24);
        be[4 * i + 1] = (unsigned char)(u >> 16);
        be[4 * i + 2] = (unsigned char)(u >> 8);
        be[4 * i + 3] = (unsigned char)u;
    }
    make_npy(path, 1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", be, 24);
    CHECK(load_expect(path, 2, s23, c_order, 6), "big-endian float32 is converted");
    unsigned char bei[8] = {0xff, 0xff, 0xff, 0xfe, 0, 0, 1, 0};
    long two = 2;
    float wbei[2] = {-2, 256};
    make_npy(path, 1, "{'descr': '>i4', 'fortran_order': False, 'shape': (2,), }", bei, 8);
    CHECK(load_expect(path, 1, &two, wbei, 2), "big-endian int32 is converted");

    make_npy(path, 2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", c_order, 24);
    CHECK(load_expect(path, 2, s23, c_order, 6), "format 2.0 (4-byte header length)");
    make_npy(path, 3, "{\"descr\": \"<f4\", \"shape\": (2L, 3L), \"fortran_order\": False}",
             c_order, 24);
    CHECK(load_expect(path, 2, s23, c_order, 6),
          "format 3.0, keys in another order, double quotes, Python-2 \"2L\" sizes");

    uint16_t h[5] = {0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001};
    float wh[5] = {1.0f, -2.0f, 0.5f, 65504.0f, 5.9604645e-08f};
    long five = 5;
    make_npy(path, 1, "{'descr': '<f2', 'fortran_order': False, 'shape': (5,), }", h, 10);
    CHECK(load_expect(path, 1, &five, wh, 5), "float16, subnormals included");
    unsigned char u64[16] = {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    float wu64[2] = {1.0f, 72057594037927936.0f};
    make_npy(path, 1, "{'descr': '<u8', 'fortran_order': False, 'shape': (2,), }", u64, 16);
    CHECK(load_expect(path, 1, &two, wu64, 2), "uint64");
    make_npy(path, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }", NULL, 0);
    long s03[2] = {0, 3};
    CHECK(load_expect(path, 2, s03, NULL, 0), "an empty (0, 3) array");
}

static void expect_error(const char *path, const char *what, const char *needle)
{
    float *d = (float *)1;
    int nd;
    long sh[4];
    char err[512] = "";
    int rc = dn_npy_load(path, &d, &nd, sh, err, sizeof err);
    CHECK(rc != 0 && d == NULL && strstr(err, needle) && strstr(err, path), "%s: %s", what, err);
}

static void test_broken(const char *dir)
{
    char path[600];
    float v[6] = {0};
    snprintf(path, sizeof path, "%s/bad.npy", dir);
    make_npy(path, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", v, 20);
    expect_error(path, "data cut short", "truncated");
    make_npy(path, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", v, 0);
    expect_error(path, "no data at all", "truncated");
    write_bytes(path, "\x93NUMPY\x01\x00\x76\x00{'descr'", 17);
    expect_error(path, "header cut short", "truncated");
    write_bytes(path, "\x93NUM", 5);
    expect_error(path, "magic cut short", "not a NumPy");
    write_bytes(path, "PK\x03\x04 this is a zip", 18);
    expect_error(path, "an .npz (zip) or other file", "not a NumPy");
    make_npy(path, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3) ", v, 24);
    expect_error(path, "header dict not closed", "bad header");
    make_npy(path, 1, "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2, 3), }", v, 24);
    expect_error(path, "fortran_order not a bool", "bad header");
    make_npy(path, 1, "{'descr': '<f4', 'shape': (2, 3), }", v, 24);
    expect_error(path, "a key missing", "bad header");
    make_npy(path, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }", v, 24);
    expect_error(path, "a negative size", "bad header");
    make_npy(path, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': "
                      "(99999999999, 99999999999, 99999999999), }", v, 24);
    expect_error(path, "sizes that overflow", "too large");
    make_npy(path, 7, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", v, 24);
    expect_error(path, "format version 7", "version 7.0");
    make_npy(path, 1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", v, 8);
    expect_error(path, "structured array", "structured");
    make_npy(path, 1, "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", v, 16);
    expect_error(path, "object array", "Python objects");
    make_npy(path, 1, "{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", v, 16);
    expect_error(path, "complex numbers", "unsupported element type '<c8'");
    make_npy(path, 1, "{'descr': '<M8[ns]', 'fortran_order': False, 'shape': (2,), }", v, 16);
    expect_error(path, "dates", "unsupported element type '<M8[ns]'");
    make_npy(path, 1, "{'descr': '<U3', 'fortran_order': False, 'shape': (2,), }", v, 24);
    expect_error(path, "strings where numbers are wanted", "holds strings");
    make_npy(path, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 2), }", v, 8);
    expect_error(path, "five dimensions", "at most 4");
    unlink(path);
    expect_error(path, "a missing file", "no such file");
}

static void test_strings(const char *dir)
{
    char path[600], err[512];
    const char *names[] = {"cats/cat.1.jpg", "unknown/9292.jpg", "", "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac"};
    snprintf(path, sizeof path, "%s/names.npy", dir);
    int rc = dn_npy_save_strings(path, names, 4, err, sizeof err);
    char **back = NULL;
    long n = 0;
    int rc2 = rc ? rc : dn_npy_load_strings(path, &back, &n, err, sizeof err);
    int same = rc2 == 0 && n == 4;
    for (long i = 0; same && i < 4; i++)
        same = !strcmp(back[i], names[i]);
    CHECK(same, "file names (UTF-8, empty included) round-trip as '<U16' (%s)", rc || rc2 ? err : "");
    dn_npy_strings_free(back, n);
    size_t len;
    char *bytes = slurp(path, &len);
    CHECK(bytes && strstr(bytes + 10, "'descr': '<U16'") && len == 128 + 4 * 16 * 4,
          "stored as numpy's unicode type, 4 bytes a character");
    free(bytes);
    const char *bad[] = {"ok", "\xff\xfe"};
    rc = dn_npy_save_strings(path, bad, 2, err, sizeof err);
    CHECK(rc != 0 && strstr(err, "not valid UTF-8"), "invalid UTF-8 is refused: %s", err);
    make_npy(path, 1, "{'descr': '|S4', 'fortran_order': False, 'shape': (2,), }", "ab\0\0wxyz", 8);
    rc = dn_npy_load_strings(path, &back, &n, err, sizeof err);
    CHECK(rc == 0 && n == 2 && !strcmp(back[0], "ab") && !strcmp(back[1], "wxyz"),
          "byte strings ('|S4') load too");
    if (rc == 0)
        dn_npy_strings_free(back, n);
    float v[2] = {1, 2};
    long two = 2;
    dn_npy_save(path, v, 1, &two, err, sizeof err);
    rc = dn_npy_load_strings(path, &back, &n, err, sizeof err);
    CHECK(rc != 0 && strstr(err, "does not hold strings"), "numbers where strings are wanted: %s", err);
}

static void save_big_limited(const char *path, int out)
{
    struct rlimit r = {8192, 8192};
    signal(SIGXFSZ, SIG_IGN);  /* a write past the limit fails with EFBIG instead of killing */
    setrlimit(RLIMIT_FSIZE, &r);
    static float big[100000];
    long n = 100000;
    char err[512];
    int rc = dn_npy_save(path, big, 1, &n, err, sizeof err);
    if (write(out, rc ? err : "saved", strlen(rc ? err : "saved")) < 0)
        _exit(3);
    _exit(rc ? 1 : 0);
}

static void test_atomic(const char *dir)
{
    char path[700], err[512], msg[512];
    snprintf(path, sizeof path, "%s/keep.npy", dir);
    float v[3] = {1, 2, 3};
    long three = 3;
    dn_npy_save(path, v, 1, &three, err, sizeof err);
    size_t l0, l1;
    char *before = slurp(path, &l0);
    int entries = count_entries(dir);
    int p[2];
    if (pipe(p) != 0)
        return;
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
    char *after = slurp(path, &l1);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 1 && strstr(msg, "larger than allowed"),
          "a save that runs out of room fails with the reason: %s", msg);
    CHECK(after && l0 == l1 && !memcmp(before, after, l0) && count_entries(dir) == entries,
          "the old file is untouched and no temporary is left");
    free(before);
    free(after);
    snprintf(path, sizeof path, "%s/missing/x.npy", dir);
    int rc = dn_npy_save(path, v, 1, &three, err, sizeof err);
    CHECK(rc != 0 && strstr(err, "does not exist"), "save into a missing folder: %s", err);
    long s5[5] = {1, 1, 1, 1, 3};
    snprintf(path, sizeof path, "%s/five.npy", dir);
    rc = dn_npy_save(path, v, 5, s5, err, sizeof err);
    CHECK(rc != 0 && access(path, F_OK) != 0, "five dimensions are refused: %s", err);
}

static int save_three(const char *path, char *err, size_t len)
{
    float v[3] = {1, 2, 3};
    long three = 3;
    return dn_npy_save(path, v, 1, &three, err, len);
}

static int save_many(const char *path, char *err, size_t len)
{
    static float big[100000];
    long many = 100000;
    return dn_npy_save(path, big, 1, &many, err, len);
}

/* A real full disk: a 16 KiB tmpfs. */
static void test_full_disk(const char *dir)
{
    full_disk_check(dir, "16k", "probs.npy", 0, save_three, save_many);
}

int main(void)
{
    char *dir = scratch_dir();
    test_roundtrip(dir);
    test_foreign(dir);
    test_broken(dir);
    test_strings(dir);
    char sub[600];
    snprintf(sub, sizeof sub, "%s/atomic", dir);
    mkdir(sub, 0755);
    test_atomic(sub);
    test_full_disk(dir);
    remove_tree(dir);
    printf("%s: %d failure(s)\n", failures ? "FAILED" : "passed", failures);
    return failures ? 1 : 0;
}
