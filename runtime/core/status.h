/* status.h — the runtime's return values and its error-message helper. */
#ifndef DN_STATUS_H
#define DN_STATUS_H

#include <stddef.h>

enum {
    DN_OK = 0,
    DN_ERROR = -1,
    DN_INTERRUPTED = 1   /* fit/evaluate/predict stopped between steps at the caller's request */
};

/* Fills err (when not NULL) printf-style and returns DN_ERROR, so callers can
 * `return dn_fail(err, errlen, "...")`. */
int dn_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
