/* fuzz_util.c — see fuzz.h. */
#include "fuzz.h"

#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

unsigned fz_byte(fz_in *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

int fz_chunk(fz_in *in, const uint8_t **p, size_t *len)
{
    if (!in->n)
        return -1;
    size_t want = fz_byte(in);
    want |= (size_t)fz_byte(in) << 8;
    if (want > in->n)
        want = in->n;
    *p = in->p;
    *len = want;
    in->p += want;
    in->n -= want;
    return 0;
}

void fz_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("\n*** fuzz invariant broken: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\n", stderr);
    va_end(ap);
    abort();
}

void fz_check_message(const char *msg, size_t n, const char *what)
{
    const char *end = memchr(msg, 0, n);
    if (!end)
        fz_fail("%s: its error message has no end within %zu bytes", what, n);
    /* a sentence, not an empty string or a fragment of the input (which may be quoted) */
    if (end - msg < 8 || (unsigned char)msg[0] < 0x20)
        fz_fail("%s failed without a sentence saying why: '%s'", what, msg);
}

int fz_memfile(const void *data, size_t n, char *path, size_t pathlen)
{
    int fd = memfd_create("fuzz-input", MFD_CLOEXEC);
    if (fd < 0)
        return -1;
    const char *p = data;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) {
            close(fd);
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    snprintf(path, pathlen, "/proc/self/fd/%d", fd);
    return fd;
}

int fz_small_numbers(const char *s)
{
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            continue;
        long v = 0;
        for (; *s >= '0' && *s <= '9'; s++)
            if ((v = v * 10 + (*s - '0')) > 64)
                return 0;
        if (*s == 'e' || *s == 'E')
            return 0;
        if (!*s)
            break;
    }
    return 1;
}

static char scratch[256];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st; (void)flag; (void)ftw;
    return remove(path);
}

static void rm_scratch(void)
{
    if (scratch[0] && getpid() == (pid_t)atol(strrchr(scratch, '-') + 1))
        nftw(scratch, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *fz_scratch(void)
{
    if (scratch[0])
        return scratch;
    const char *base = getenv("FZ_SCRATCH");     /* run.sh: inside its results */
    if (!base)
        base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
    snprintf(scratch, sizeof scratch, "%s/deepnb-fuzz-%ld", base ? base : "/tmp", (long)getpid());
    if (mkdir(scratch, 0700) != 0)
        fz_fail("cannot make the scratch folder %s", scratch);
    atexit(rm_scratch);
    return scratch;
}
