/* status_codes.h — the runtime's return values, for callers that have an error helper of
 * their own (status.h adds the runtime's dn_seterr). */
#ifndef DN_STATUS_CODES_H
#define DN_STATUS_CODES_H

enum {
    DN_OK = 0,
    DN_ERROR = -1,
    DN_INTERRUPTED = 1   /* fit/evaluate/predict stopped between steps at the caller's request */
};

#endif
