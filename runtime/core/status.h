/* status.h — the runtime's return values and its error-message helper. */
#ifndef DN_STATUS_H
#define DN_STATUS_H

#include <stddef.h>

#include "status_codes.h"

/* Fills err (when not NULL) printf-style and returns DN_ERROR, so callers can
 * `return dn_seterr(err, errlen, "...")`. */
int dn_seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
