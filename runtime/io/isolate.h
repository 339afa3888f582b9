/* isolate.h — reading untrusted files where a crash cannot hurt: a weight file downloaded
 * from anywhere goes through libhdf5, and Debian's 1.10 crashes (SEGV in H5HG_read),
 * hangs or leaks on some malformed files. The reading runs in a child process; only what
 * it writes to shared memory, and its message, come back. */
#ifndef DN_IO_ISOLATE_H
#define DN_IO_ISOLATE_H

#include <stddef.h>

/* Runs fn(ctx, err, errlen) in a forked child and returns its result (0 or -1 with its
 * message in err). Memory the caller mapped with dn_shared_alloc is shared with the child;
 * everything else the child changes is its own. A child that dies of a signal or runs
 * longer than timeout_s seconds (then it is killed) gives -1 with a sentence saying so,
 * naming what (e.g. "reading 'x.h5'"). */
int dn_isolated(int (*fn)(void *ctx, char *err, size_t errlen), void *ctx, double timeout_s,
                const char *what, char *err, size_t errlen);

/* n bytes of zeroed memory shared with the children dn_isolated starts; NULL on failure.
 * Free with dn_shared_free(p, n). */
void *dn_shared_alloc(size_t n);
void dn_shared_free(void *p, size_t n);

#endif
