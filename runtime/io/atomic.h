/* atomic.h — write a file so that readers see either the old file or the whole new one:
 * a temporary file in the same folder, fsync, rename over the target, fsync the folder.
 * Shared by the HDF5 and .npy writers; errors name the file and say why in words. */
#ifndef DN_IO_ATOMIC_H
#define DN_IO_ATOMIC_H

#include <stddef.h>

typedef struct dn_atomic_file {
    char *path;     /* the target */
    char *tmp;      /* the temporary beside it, removed on abort */
    int fd;         /* open on tmp, read-write */
} dn_atomic_file;

/* Creates the temporary file (mode of an existing target, else 0644). 0 or -1 + err. */
int dn_atomic_open(dn_atomic_file *af, const char *path, char *err, size_t errlen);

/* Writes all n bytes (retries short writes). 0 or -1 + err; the file stays open. */
int dn_atomic_write(dn_atomic_file *af, const void *buf, size_t n, char *err, size_t errlen);

/* fsync, close, rename onto the target, fsync the folder. On failure the temporary is
 * removed and the target untouched. Always releases af. 0 or -1 + err. */
int dn_atomic_commit(dn_atomic_file *af, char *err, size_t errlen);

/* Closes and removes the temporary; releases af. Safe to call again on a released af. */
void dn_atomic_abort(dn_atomic_file *af);

/* A person's words for errno e met while writing into folder dir (e.g. "the folder 'x'
 * does not exist", "permission denied", "no space left on the device"). */
void dn_io_reason(int e, const char *dir, char *buf, size_t n);

/* The folder part of path ("." when there is none); malloc'd, NULL when out of memory. */
char *dn_io_dir_of(const char *path);

#endif
