#include "text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dn_text_add(dn_text *t, const char *s, size_t len)
{
    if (t->oom) return;
    if (t->n + len + 1 > t->cap) {
        size_t cap = (t->n + len + 1) * 2;
        char *ns = realloc(t->s, cap);
        if (!ns) { t->oom = 1; return; }
        t->s = ns;
        t->cap = cap;
    }
    memcpy(t->s + t->n, s, len);
    t->n += len;
    t->s[t->n] = 0;
}

void dn_text_adds(dn_text *t, const char *s) { dn_text_add(t, s, strlen(s)); }

void dn_text_addf(dn_text *t, const char *fmt, ...)
{
    char *s = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n >= 0) dn_text_add(t, s, (size_t)n);
    else t->oom = 1;
    free(s);
}

void dn_text_add_html(dn_text *t, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': dn_text_add(t, "&lt;", 4); break;
        case '>': dn_text_add(t, "&gt;", 4); break;
        case '&': dn_text_add(t, "&amp;", 5); break;
        case '"': dn_text_add(t, "&quot;", 6); break;
        default: dn_text_add(t, s, 1);
        }
    }
}
