/* fuzz_npy — NumPy .npy files (runtime/io/npy.c), read from a file as %load reads them,
 * as numbers and as strings. Invariants: an error has a sentence; an array that loads has
 * a shape whose product is its count and, saved with dn_npy_save and loaded again, gives
 * the same bits; strings that load save and load again unchanged. */
#include "fuzz.h"
#include "io/npy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void numbers(const char *path)
{
    float *v = NULL;
    int nd = -1;
    long shape[DN_NPY_MAXDIM];
    char err[1024];
    err[0] = 0;
    if (dn_npy_load(path, &v, &nd, shape, err, sizeof err) != 0) {
        fz_check_message(err, sizeof err, "dn_npy_load");
        if (v)
            fz_fail("dn_npy_load failed but handed back data");
        return;
    }
    if (nd < 0 || nd > DN_NPY_MAXDIM)
        fz_fail("dn_npy_load gave %d dimensions", nd);
    size_t count = 1;
    for (int d = 0; d < DN_NPY_MAXDIM; d++) {
        if (shape[d] < 0 || (d >= nd && shape[d] != 1))
            fz_fail("dimension %d is %ld", d, shape[d]);
        count *= (size_t)shape[d];
    }
    char again[512];
    snprintf(again, sizeof again, "%s/a.npy", fz_scratch());
    if (dn_npy_save(again, v, nd, shape, err, sizeof err) != 0)
        fz_fail("an array that loaded does not save: %s", err);
    float *w = NULL;
    int nd2;
    long shape2[DN_NPY_MAXDIM];
    if (dn_npy_load(again, &w, &nd2, shape2, err, sizeof err) != 0)
        fz_fail("a saved array does not load: %s", err);
    if (nd2 != nd || memcmp(shape, shape2, sizeof shape))
        fz_fail("the shape changed through save and load");
    if (count && memcmp(v, w, count * sizeof *v))
        fz_fail("the values changed through save and load");
    free(v);
    free(w);
}

static void strings(const char *path)
{
    char **s = NULL;
    long n = -1;
    char err[1024];
    err[0] = 0;
    if (dn_npy_load_strings(path, &s, &n, err, sizeof err) != 0) {
        fz_check_message(err, sizeof err, "dn_npy_load_strings");
        return;
    }
    char again[512];
    snprintf(again, sizeof again, "%s/s.npy", fz_scratch());
    if (dn_npy_save_strings(again, (const char *const *)s, n, err, sizeof err) != 0) {
        /* bytes ('S') that are not UTF-8 may be refused, in words */
        fz_check_message(err, sizeof err, "dn_npy_save_strings");
    } else {
        char **t = NULL;
        long m = -1;
        if (dn_npy_load_strings(again, &t, &m, err, sizeof err) != 0)
            fz_fail("saved strings do not load: %s", err);
        if (m != n)
            fz_fail("%ld strings became %ld", n, m);
        for (long i = 0; i < n; i++)
            if (strcmp(s[i], t[i]))
                fz_fail("string %ld changed through save and load", i);
        dn_npy_strings_free(t, m);
    }
    dn_npy_strings_free(s, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    int fd = fz_memfile(data, size, path, sizeof path);
    if (fd < 0)
        fz_fail("cannot make an in-memory file");
    numbers(path);
    strings(path);
    close(fd);
    return 0;
}
