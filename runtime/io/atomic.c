/* atomic.c — temporary file beside the target, fsync, rename (see atomic.h). */
#include "atomic.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *dn_io_dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

void dn_io_reason(int e, const char *dir, char *buf, size_t n)
{
    switch (e) {
    case ENOENT:
        snprintf(buf, n, "the folder '%s' does not exist", dir);
        break;
    case ENOTDIR:
        snprintf(buf, n, "'%s' is not a folder", dir);
        break;
    case EACCES:
    case EPERM:
        snprintf(buf, n, "permission denied (cannot write in the folder '%s')", dir);
        break;
    case ENOSPC:
        snprintf(buf, n, "no space left on the device");
        break;
    case EDQUOT:
        snprintf(buf, n, "the disk quota is exhausted");
        break;
    case EROFS:
        snprintf(buf, n, "the file system is read-only");
        break;
    case EFBIG:
        snprintf(buf, n, "the file would be larger than allowed (file size limit)");
        break;
    default:
        snprintf(buf, n, "%s", strerror(e));
    }
}

static void fail(const char *path, int e, const char *dir, char *err, size_t errlen)
{
    char why[512];
    dn_io_reason(e, dir, why, sizeof why);
    snprintf(err, errlen, "cannot save '%s': %s", path, why);
}

int dn_atomic_open(dn_atomic_file *af, const char *path, char *err, size_t errlen)
{
    memset(af, 0, sizeof *af);
    af->fd = -1;
    if (!path || !*path) {
        snprintf(err, errlen, "cannot save: no file name given");
        return -1;
    }
    char *dir = dn_io_dir_of(path);
    if (!dir) {
        snprintf(err, errlen, "cannot save '%s': out of memory", path);
        return -1;
    }
    mode_t mode = 0644;
    struct stat st;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            snprintf(err, errlen, "cannot save '%s': it is a folder", path);
            free(dir);
            return -1;
        }
        if (!S_ISREG(st.st_mode)) {
            snprintf(err, errlen, "cannot save '%s': it exists and is not a regular file", path);
            free(dir);
            return -1;
        }
        /* A read-only file says "do not overwrite", as it would to a program writing in
         * place; renaming over it would bypass that. */
        if (access(path, W_OK) != 0) {
            snprintf(err, errlen, "cannot save '%s': %s", path, errno == EACCES ?
                     "the file is read-only (permission denied)" : strerror(errno));
            free(dir);
            return -1;
        }
        mode = st.st_mode & 07777;  /* replacing a file keeps its permissions */
    }
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    size_t len = strlen(dir) + strlen(base) + 32;
    af->tmp = malloc(len);
    af->path = strdup(path);
    if (!af->tmp || !af->path) {
        snprintf(err, errlen, "cannot save '%s': out of memory", path);
        free(dir);
        dn_atomic_abort(af);
        return -1;
    }
    snprintf(af->tmp, len, "%s/.%s.tmp-XXXXXX", dir, base);
    af->fd = mkstemp(af->tmp);
    if (af->fd < 0) {
        fail(path, errno, dir, err, errlen);
        free(dir);
        free(af->tmp);      /* nothing was created: nothing to unlink */
        af->tmp = NULL;
        dn_atomic_abort(af);
        return -1;
    }
    if (fchmod(af->fd, mode) != 0) {
        fail(path, errno, dir, err, errlen);
        free(dir);
        dn_atomic_abort(af);
        return -1;
    }
    free(dir);
    return 0;
}

int dn_atomic_write(dn_atomic_file *af, const void *buf, size_t n, char *err, size_t errlen)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(af->fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            char *dir = dn_io_dir_of(af->path);
            fail(af->path, errno, dir ? dir : ".", err, errlen);
            free(dir);
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int dn_atomic_commit(dn_atomic_file *af, char *err, size_t errlen)
{
    char *dir = dn_io_dir_of(af->path);
    const char *d = dir ? dir : ".";
    if (fsync(af->fd) != 0) {
        fail(af->path, errno, d, err, errlen);
        goto bad;
    }
    int rc = close(af->fd);
    af->fd = -1;
    if (rc != 0) {
        fail(af->path, errno, d, err, errlen);
        goto bad;
    }
    if (rename(af->tmp, af->path) != 0) {
        fail(af->path, errno, d, err, errlen);
        goto bad;
    }
    /* The rename is durable only once the folder is synced; a failure here cannot be
     * undone (the new file is in place), so it is not reported. */
    int dfd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    free(dir);
    free(af->tmp);
    free(af->path);
    af->tmp = af->path = NULL;
    return 0;
bad:
    free(dir);
    dn_atomic_abort(af);
    return -1;
}

void dn_atomic_abort(dn_atomic_file *af)
{
    if (af->fd >= 0)
        close(af->fd);
    af->fd = -1;
    if (af->tmp)
        unlink(af->tmp);
    free(af->tmp);
    free(af->path);
    af->tmp = af->path = NULL;
}
