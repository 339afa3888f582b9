/* utf8.h — making text safe for JSON strings. */
#ifndef DN_UTF8_H
#define DN_UTF8_H

#include <stddef.h>

/* A malloc'd, NUL-terminated copy of s[0..len) where every invalid UTF-8 sequence (and
 * NUL byte) is replaced by U+FFFD; *outlen gets its length. NULL when out of memory. */
char *dn_utf8_sanitize(const char *s, size_t len, size_t *outlen);

#endif
