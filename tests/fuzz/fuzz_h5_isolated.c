/* fuzz_h5_isolated — a weight file's raw bytes through the path the kernel reads files
 * from anywhere with (runtime/io/isolate.c): the loader runs in a child process with a
 * time limit, the model's arrays in memory shared with it. Debian's libhdf5 1.10.8
 * crashes, hangs and leaks on some malformed files; here that must end as an error
 * sentence in the parent, with the model untouched -- it is not a finding. A crash whose
 * innermost frame of its own is in deepnb's code (not libhdf5's) is one: the child's
 * sanitizer report goes to a file the parent reads.
 * Invariants: the parent survives every input; 0, or -1 with a sentence; a failure
 * leaves the model's arrays as they were; only libhdf5 may crash the child. */
#include "fuzz.h"
#include "io/isolate.h"
#include "io/weights.h"
#include "io/weights_api.h"

#include <dirent.h>
#include <pthread.h>
#include <sanitizer/common_interface_defs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { NFLOATS = 6 + 3 + 3 + 1 };

typedef struct job {
    const char *path;
    dn_wlayer layers[2];
    int by_name;
} job;

static char report_base[400];

/* In the child: no libFuzzer crash file and no report on stderr for what the library
 * does; the report goes to report_base.<pid> for the parent to judge. */
static void in_child(void)
{
    __sanitizer_set_death_callback(NULL);
    __sanitizer_set_report_path(report_base);
}

static int load(void *ctx, char *err, size_t errlen)
{
    job *j = ctx;
    if (dn_weights_load_h5(j->path, j->layers, 2, j->by_name, err, errlen) != 0)
        return -1;
    dn_weights_info info;
    if (dn_weights_probe(j->path, &info, err, errlen) != 0)
        return -1;
    dn_weights_info_free(&info);
    return 0;
}

/* A report the child left: contained when its first frame outside the sanitizer's own
 * interceptors is in libhdf5 (or libc called from there); a finding otherwise. */
static void judge_reports(void)
{
    const char *dir = fz_scratch();
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        if (strncmp(e->d_name, "child.", 6))
            continue;
        char path[700];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "r");
        char line[2048], first[2048] = "";
        while (f && fgets(line, sizeof line, f)) {
            if (!strstr(line, "    #") || strstr(line, "__interceptor_") ||
                strstr(line, "__asan_") || strstr(line, "__asan::") ||
                strstr(line, "sanitizer_common") || strstr(line, "__sanitizer") ||
                /* libFuzzer's own malloc limit, inherited by the forked child */
                strstr(line, "fuzzer::") ||
                strstr(line, "libc.so") || strstr(line, "in memcpy") || strstr(line, "in memmove") ||
                /* the sanitizer's allocator: the frame below it made the call */
                strstr(line, " in malloc ") || strstr(line, " in calloc ") ||
                strstr(line, " in realloc ") || strstr(line, " in free "))
                continue;
            snprintf(first, sizeof first, "%s", line);
            break;
        }
        if (f)
            fclose(f);
        /* a finding only when the first frame is deepnb's own source (built here from
         * ../runtime, ../tests/fuzz ...): libhdf5 and the libraries behind it (zlib,
         * libaec) are contained by the child, which is what this harness checks */
        int ours = strstr(first, "/../runtime/") || strstr(first, "/../tests/fuzz/") ||
                   strstr(first, "/../magics/") || strstr(first, "/../kernel/");
        if (first[0] && ours) {
            fprintf(stderr, "the reading child crashed in deepnb's code; its report:\n");
            f = fopen(path, "r");
            while (f && fgets(line, sizeof line, f))
                fputs(line, stderr);
            if (f)
                fclose(f);
            unlink(path);
            fz_fail("a crash in the child outside libhdf5: %s", first);
        }
        unlink(path);
    }
    if (d)
        closedir(d);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    snprintf(report_base, sizeof report_base, "%s/child", fz_scratch());
    pthread_atfork(NULL, NULL, in_child);
    /* the HDF5 module opened in the parent, as the kernel does before it forks */
    char err[2048];
    if (!dn_weights_module(err, sizeof err))
        fz_fail("%s", err);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a named file: libhdf5 resolves the real path of what it opens */
    char path[512];
    snprintf(path, sizeof path, "%s/in.h5", fz_scratch());
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        fz_fail("cannot write %s", path);
    float *shared = dn_shared_alloc(NFLOATS * sizeof(float));
    if (!shared)
        fz_fail("no shared memory");
    for (int i = 0; i < NFLOATS; i++)
        shared[i] = 0.25f * (float)i;
    /* Dense(2 -> 3), Dense(3 -> 1) */
    job j = { path, {
        { "dense_1", "Dense", 2, { { "kernel", 2, { 2, 3 }, shared }, { "bias", 1, { 3 }, shared + 6 } } },
        { "dense_2", "Dense", 2, { { "kernel", 2, { 3, 1 }, shared + 9 }, { "bias", 1, { 1 }, shared + 12 } } },
    }, (int)(size & 1) };    /* by name or in order: the file stays a plain .h5 file */
    char err[1024];
    err[0] = 0;
    int rc = dn_isolated(load, &j, 2.0, "reading the fuzzed file", err, sizeof err);
    judge_reports();
    if (rc != 0) {
        fz_check_message(err, sizeof err, "dn_isolated");
        for (int i = 0; i < NFLOATS; i++)
            if (shared[i] != 0.25f * (float)i)
                fz_fail("a failed load changed the model's array at %d: %s", i, err);
    }
    if (getenv("FZ_VERBOSE"))
        fprintf(stderr, "isolated load: %s\n", rc ? err : "ok");
    dn_shared_free(shared, NFLOATS * sizeof(float));
    return 0;
}
