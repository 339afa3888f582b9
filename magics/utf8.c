/* utf8.c — code-point arithmetic; invalid bytes count as one code point each, as the
 * core replaces them one for one. */
#include "utf8.h"

static int is_cont(unsigned char c) { return (c & 0xC0) == 0x80; }

size_t dn_utf8_offset(const char *s, long cp)
{
    size_t i = 0;
    while (s[i] && cp > 0) {
        i++;
        while (s[i] && is_cont((unsigned char)s[i])) i++;
        cp--;
    }
    return i;
}

long dn_utf8_count(const char *s, size_t nbytes)
{
    long n = 0;
    for (size_t i = 0; i < nbytes && s[i]; i++)
        if (!is_cont((unsigned char)s[i])) n++;
    return n;
}

size_t dn_utf8_complete_prefix(const char *s, size_t len)
{
    /* look back at most 3 bytes for the lead byte of an unfinished sequence */
    for (size_t back = 1; back <= 3 && back <= len; back++) {
        unsigned char c = (unsigned char)s[len - back];
        if (is_cont(c)) continue;
        size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        return need > back ? len - back : len;
    }
    return len;
}
