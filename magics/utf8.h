/* utf8.h — Jupyter counts cursor positions in Unicode code points; C strings count bytes. */
#ifndef DN_UTF8_H
#define DN_UTF8_H

#include <stddef.h>

/* Byte offset of code point number cp in s (clamped to the end of s). */
size_t dn_utf8_offset(const char *s, long cp);
/* Number of code points in the first nbytes bytes of s (continuation bytes don't count). */
long dn_utf8_count(const char *s, size_t nbytes);
/* Length of the longest prefix of s[0..len) that does not end inside a multi-byte
 * sequence, so a stream can hold back a character split across two reads. */
size_t dn_utf8_complete_prefix(const char *s, size_t len);

#endif
