/* kernel.h — one kernel: connection -> sockets -> protocol core -> a language. */
#ifndef DN_KERNEL_H
#define DN_KERNEL_H

#include "connection.h"
#include "interp.h"

#include <stddef.h>

/* Serves interp on conn's sockets until a shutdown_request (or SIGTERM); the calling
 * thread becomes the shell thread, SIGINT interrupts the running cell. Calls
 * interp->shutdown at the end but does not free interp. Returns 0, or -1 with err filled
 * when the kernel could not start. */
int dn_kernel_serve(const dn_connection *conn, dn_interp *interp, char *err, size_t errlen);

#endif
