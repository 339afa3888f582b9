/* lsan_canary.c — proves tests/io/lsan.supp hides only libhdf5's own leak: memory that
 * deepnb would own after an HDF5 call (here a string H5Aread allocates, never given back
 * with H5free_memory) is still reported by LeakSanitizer under that suppression file.
 * Built and run only in sanitizer builds. Usage: test_lsan_canary (runs itself twice). */
#include "check.h"

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Writes a file with a variable-length string attribute and reads it back; forgets to
 * free what H5Aread allocated when forget is set. */
static int child(const char *path, int forget)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t s = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(f, "backend", t, s, H5P_DEFAULT, H5P_DEFAULT);
    const char *v = "tensorflow";
    H5Awrite(a, t, &v);
    H5Aclose(a);
    H5Sclose(s);
    H5Fclose(f);
    f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    a = H5Aopen(f, "backend", H5P_DEFAULT);
    char *out = NULL;
    int rc = H5Aread(a, t, &out) < 0 || !out || strcmp(out, v) != 0;
    if (!forget)
        H5free_memory(out);
    out = NULL;
    H5Aclose(a);
    H5Fclose(f);
    H5Tclose(t);
    return rc;
}

static char *run_self(const char *self, const char *mode, const char *path, int *status)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "'%s' %s '%s' 2>&1", self, mode, path);
    FILE *p = popen(cmd, "r");
    size_t n = 0, cap = 1 << 16;
    char *out = calloc(1, cap + 1);
    if (p && out)
        n = fread(out, 1, cap, p);
    if (out)
        out[n] = 0;
    *status = p ? pclose(p) : -1;
    return out;
}

int main(int argc, char **argv)
{
    if (argc == 3)
        return child(argv[2], !strcmp(argv[1], "forget"));
    const char *lsan = getenv("LSAN_OPTIONS");
    CHECK(lsan && strstr(lsan, "lsan.supp"), "runs under the project's suppressions (%s)", lsan ? lsan : "unset");
    char dir[] = "/tmp/dn-lsan-XXXXXX", path[300];
    CHECK(mkdtemp(dir) != NULL, "temp dir");
    snprintf(path, sizeof path, "%s/a.h5", dir);
    int status;
    char *out = run_self(argv[0], "clean", path, &status);
    CHECK(status == 0 && out && !strstr(out, "LeakSanitizer"), "nothing forgotten: no report (status %d)\n%s",
          status, out ? out : "");
    free(out);
    out = run_self(argv[0], "forget", path, &status);
    CHECK(status != 0 && out && strstr(out, "detected memory leaks") && strstr(out, "H5Aread"),
          "a string from H5Aread never freed is reported (status %d)\n%.2000s", status, out ? out : "");
    free(out);
    unlink(path);
    rmdir(dir);
    printf("%s: %d failure(s)\n", failures ? "FAILED" : "passed", failures);
    return failures ? 1 : 0;
}
