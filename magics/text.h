/* text.h — a growing UTF-8 buffer for building tables, listings and HTML. A failed
 * allocation sets oom and later additions do nothing, so callers check once at the end. */
#ifndef DN_TEXT_H
#define DN_TEXT_H

#include <stddef.h>

typedef struct dn_text {
    char *s;        /* NUL-terminated once anything was added; NULL before */
    size_t n, cap;
    int oom;
} dn_text;

void dn_text_add(dn_text *t, const char *s, size_t len);
void dn_text_adds(dn_text *t, const char *s);
void dn_text_addf(dn_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* adds s with < > & " escaped for HTML */
void dn_text_add_html(dn_text *t, const char *s);

/* 23000 -> "23,000" (counts a person reads); returns buf */
const char *dn_grouped(long v, char *buf, size_t len);

/* {"text/plain": plain, "text/html": html} (a new reference), freeing both texts' memory;
 * NULL when either ran out of memory or is not valid UTF-8. */
struct json_t *dn_text_bundle(dn_text *plain, dn_text *html);

#endif
