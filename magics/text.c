#include "text.h"

#include <jansson.h>

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

const char *dn_grouped(long v, char *buf, size_t len)
{
    char raw[32];
    int n = snprintf(raw, sizeof raw, "%ld", v < 0 ? -v : v), k = 0;
    if (v < 0 && (size_t)k + 1 < len) buf[k++] = '-';
    for (int i = 0; i < n && (size_t)k + 2 < len; i++) {
        if (i && (n - i) % 3 == 0) buf[k++] = ',';
        buf[k++] = raw[i];
    }
    buf[k] = 0;
    return buf;
}

json_t *dn_text_bundle(dn_text *plain, dn_text *html)
{
    json_t *b = plain->oom || html->oom ? NULL
              : json_pack("{s:s, s:s}", "text/plain", plain->s ? plain->s : "",
                          "text/html", html->s ? html->s : "");
    free(plain->s);
    free(html->s);
    memset(plain, 0, sizeof *plain);
    memset(html, 0, sizeof *html);
    return b;
}
