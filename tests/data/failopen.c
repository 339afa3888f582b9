/* failopen.c — fault injection for the tests: open() of one file fails with a chosen
 * errno a chosen number of times, as it does on a machine short of memory (ENOMEM).
 *
 *   DEEPNB_FAILOPEN=SUFFIX:SKIP:COUNT[:ERRNO]
 *
 * The opens of paths ending in SUFFIX are counted; numbers SKIP+1 to SKIP+COUNT fail
 * with ERRNO (a number; ENOMEM when left out). A new value starts the count again.
 * With DEEPNB_FAILOPEN_LOG=FILE each failure made appends a line to FILE, so a test
 * can see the fault happened. Linked into a test program it takes the place of libc's
 * open (the runtime is a static library); built as a module it is an LD_PRELOAD for
 * the kernel. */
#undef _FILE_OFFSET_BITS   /* open and open64 stay two functions */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char last[512];
static long seen;

/* whether this open of path is one to fail (then errno is set) */
static int inject(const char *path)
{
    const char *spec = getenv("DEEPNB_FAILOPEN");
    char suffix[256];
    long skip, count;
    int err = ENOMEM;
    if (!spec || !path || sscanf(spec, "%255[^:]:%ld:%ld:%d", suffix, &skip, &count, &err) < 3)
        return 0;
    size_t n = strlen(path), m = strlen(suffix);
    if (n < m || strcmp(path + n - m, suffix) != 0)
        return 0;
    pthread_mutex_lock(&mu);
    if (strcmp(last, spec) != 0) {
        snprintf(last, sizeof last, "%s", spec);
        seen = 0;
    }
    long k = ++seen;
    pthread_mutex_unlock(&mu);
    if (k <= skip || k > skip + count)
        return 0;
    const char *log = getenv("DEEPNB_FAILOPEN_LOG");
    FILE *f = log ? fopen(log, "a") : NULL;
    if (f) {
        fprintf(f, "open %ld of %s failed with errno %d\n", k, path, err);
        fclose(f);
    }
    errno = err;
    return 1;
}

static int forward(const char *name, const char *path, int flags, mode_t mode)
{
    int (*real)(const char *, int, ...) = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, name);
    if (!real) {
        errno = ENOSYS;
        return -1;
    }
    return real(path, flags, mode);
}

static mode_t mode_arg(int flags, va_list ap)
{
    return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? va_arg(ap, mode_t) : 0;
}

int open(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    return inject(path) ? -1 : forward("open", path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    return inject(path) ? -1 : forward("open64", path, flags, mode);
}
