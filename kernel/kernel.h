/* kernel.h — one kernel process: connection file -> sockets -> protocol core -> language. */
#ifndef DN_KERNEL_H
#define DN_KERNEL_H

#include <stddef.h>

/* Serves until a shutdown_request (or SIGTERM). Returns 0, or -1 with err filled when the
 * kernel could not start. */
int dn_kernel_run(const char *connection_file, char *err, size_t errlen);

#endif
