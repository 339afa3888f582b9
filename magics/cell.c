/* cell.c — line-level syntax of a cell (statement kinds, continuations, comments). */
#include "cell.h"
#include "expr.h"
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct span { const char *s; size_t len; } span;

typedef struct buf { char *s; size_t n, cap; int oom; } buf;

static void buf_add(buf *b, const char *s, size_t len)
{
    if (b->oom) return;
    if (b->n + len + 1 > b->cap) {
        size_t cap = (b->n + len + 1) * 2;
        char *ns = realloc(b->s, cap);
        if (!ns) { b->oom = 1; return; }
        b->s = ns;
        b->cap = cap;
    }
    memcpy(b->s + b->n, s, len);
    b->n += len;
    b->s[b->n] = 0;
}

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

size_t dn_strip_comment(const char *s, size_t len, int anywhere)
{
    char quote = 0;
    for (size_t k = 0; k < len; k++) {
        char c = s[k];
        if (quote) {
            if (c == '\\' && k + 1 < len) k++;
            else if (c == quote) quote = 0;
        } else if (c == '\'' || c == '"') {
            quote = c;
        } else if (c == '#' && (anywhere || k == 0 || is_ws(s[k - 1]))) {
            len = k;
            break;
        }
    }
    while (len && is_ws(s[len - 1])) len--;
    return len;
}

static size_t strip_comment(const char *s, size_t len) { return dn_strip_comment(s, len, 0); }
static size_t strip_expr_comment(const char *s, size_t len) { return dn_strip_comment(s, len, 1); }

/* Bracket depth as text is added (dn_args_open_depth's rules, kept between calls), so
 * a statement spread over many lines is scanned once, not once per line. */
typedef struct depth_scan { int depth; char quote; } depth_scan;

static void scan_more(depth_scan *d, const char *s, size_t len)
{
    for (size_t k = 0; k < len; k++) {
        char c = s[k];
        if (d->quote) {
            if (c == '\\' && k + 1 < len) k++;
            else if (c == d->quote || c == '\n') d->quote = 0;   /* strings end at the line */
        } else if (c == '\'' || c == '"') {
            d->quote = c;
        } else if (c == '(' || c == '[') {
            d->depth++;
        } else if ((c == ')' || c == ']') && d->depth > 0) {
            d->depth--;
        }
    }
}

/* The rest of a statement that started with first (already stripped) on line *i: lines
 * follow while it ends in \ or a bracket is open. */
static int gather(buf *b, const span *lines, size_t nl, size_t *i, const char *first,
                  size_t flen, size_t (*strip)(const char *, size_t), int *continues)
{
    depth_scan d = { 0 };
    size_t scanned = 0;
    buf_add(b, "", 0);
    buf_add(b, first, flen);
    for (;;) {
        int backslash = b->n && b->s[b->n - 1] == '\\';
        if (backslash) b->s[--b->n] = 0;
        if (!b->oom) scan_more(&d, b->s + scanned, b->n - scanned);
        scanned = b->n;
        if (!backslash && d.depth <= 0) break;
        if (*i + 1 >= nl) {
            if (backslash && continues) *continues = 1;
            break;
        }
        (*i)++;
        /* indentation is kept: columns in messages are then those of the line as written */
        buf_add(b, backslash ? " " : "\n", 1);
        buf_add(b, lines[*i].s, strip(lines[*i].s, lines[*i].len));
    }
    return b->oom ? -1 : 0;
}

void dn_cell_free(dn_cell *cell)
{
    if (!cell) return;
    for (size_t k = 0; k < cell->n; k++) {
        free(cell->stmts[k].name);
        free(cell->stmts[k].args);
        free(cell->stmts[k].body);
    }
    free(cell->stmts);
    free(cell);
}

static int push(dn_cell *cell, dn_stmt st)
{
    if (cell->n == cell->cap) {
        size_t cap = cell->cap ? cell->cap * 2 : 8;
        dn_stmt *s = realloc(cell->stmts, cap * sizeof *s);
        if (!s) return -1;
        cell->stmts = s;
        cell->cap = cap;
    }
    cell->stmts[cell->n++] = st;
    return 0;
}

/* The command name after the % signs: up to a blank or '?'. */
static size_t name_len(const char *s, size_t len)
{
    size_t k = 0;
    while (k < len && !is_ws(s[k]) && s[k] != '?') k++;
    return k;
}

dn_cell *dn_cell_split(const char *code, int *continues, char *err, size_t errlen)
{
    if (continues) *continues = 0;
    dn_cell *cell = calloc(1, sizeof *cell);
    span *lines = NULL;
    size_t nl = 0, lcap = 0;
    if (!cell) goto oom;
    for (const char *p = code;;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (nl == lcap) {
            lcap = lcap ? lcap * 2 : 64;
            span *nlines = realloc(lines, lcap * sizeof *lines);
            if (!nlines) goto oom;
            lines = nlines;
        }
        size_t l = len;
        if (l && p[l - 1] == '\r') l--;
        lines[nl++] = (span){ p, l };
        if (!e) break;
        p = e + 1;
    }
    cell->lines = (int)nl;

    int first = 1;
    for (size_t i = 0; i < nl; i++) {
        const char *line = lines[i].s;
        size_t off = 0, len = lines[i].len;
        while (off < len && is_ws(line[off])) off++;
        const char *t = line + off;
        size_t tl = len - off;
        if (!tl || t[0] == '#') continue;
        dn_stmt st = { .line = (int)i + 1 };
        if (t[0] == '!') {
            buf b = { 0 };
            size_t a = 1;
            while (a < tl && is_ws(t[a])) a++;
            st.kind = DN_STMT_SHELL;
            st.args_column = (int)dn_utf8_count(line, off + a) + 1;
            buf_add(&b, t + a, tl - a);
            /* the shell joins backslash-newline itself: pass the lines on as written */
            while (b.n && b.s[b.n - 1] == '\\') {
                if (i + 1 >= nl) { if (continues) *continues = 1; break; }
                i++;
                buf_add(&b, "\n", 1);
                buf_add(&b, lines[i].s, lines[i].len);
            }
            if (b.oom) { free(b.s); goto oom; }
            st.args = b.s ? b.s : strdup("");
            if (!st.args || push(cell, st) < 0) { free(st.args); goto oom; }
            first = 0;
            continue;
        }
        int help_prefix = 0;
        if (t[0] == '?') {   /* ?%name and ??%name are help too, as in IPython */
            while (help_prefix < 2 && (size_t)help_prefix < tl && t[help_prefix] == '?') help_prefix++;
            if ((size_t)help_prefix < tl && t[help_prefix] == '%') { t += help_prefix; tl -= (size_t)help_prefix; off += (size_t)help_prefix; }
            else help_prefix = 0;
        }
        if (!help_prefix && dn_expr_starts(t)) {
            buf b = { 0 };
            st.kind = DN_STMT_EXPR;
            st.args_column = (int)dn_utf8_count(line, off) + 1;
            if (gather(&b, lines, nl, &i, t, strip_expr_comment(t, tl), strip_expr_comment, continues) < 0) {
                free(b.s);
                goto oom;
            }
            st.args = b.s;
            if (push(cell, st) < 0) { free(st.args); goto oom; }
            first = 0;
            continue;
        }
        if (t[0] != '%') {
            int shown = (int)(tl > 40 ? 40 : tl);
            snprintf(err, errlen, "line %zu: '%.*s%s' is not a command: a line is %%name args, "
                     "!shell command, an expression (x, x[:5]) or # comment (a %%%%name cell "
                     "command goes on the first line)", i + 1, shown, t, tl > 40 ? "…" : "");
            goto fail;
        }
        int percents = tl > 1 && t[1] == '%' ? 2 : 1;
        st.cell_syntax = percents == 2;
        size_t nlen = name_len(t + percents, tl - (size_t)percents);
        if (!nlen) {
            snprintf(err, errlen, "line %zu: '%s' needs a command name (%%lsmagic lists them)",
                     i + 1, percents == 2 ? "%%" : "%");
            goto fail;
        }
        st.name = strndup(t + percents, nlen);
        if (!st.name) goto oom;
        size_t a = (size_t)percents + nlen;   /* after the name, in t */
        size_t q = 0;
        while (a + q < tl && t[a + q] == '?') q++;
        if (q || help_prefix) {
            size_t rest = a + q;
            while (rest < tl && is_ws(t[rest])) rest++;
            if (rest < tl && t[rest] != '#') {
                snprintf(err, errlen, "line %zu: write %s%s? alone on its line to see its help",
                         i + 1, percents == 2 ? "%%" : "%", st.name);
                free(st.name);
                goto fail;
            }
            st.kind = DN_STMT_HELP;
            st.detail = (q ? (int)q : help_prefix) >= 2 ? 2 : 1;
            if (push(cell, st) < 0) { free(st.name); goto oom; }
            first = 0;
            if (percents == 2) break;   /* a cell command's help ignores the body */
            continue;
        }
        while (a < tl && is_ws(t[a])) a++;
        st.args_column = (int)dn_utf8_count(line, off + a) + 1;
        if (percents == 2) {
            if (!first) {
                snprintf(err, errlen, "line %zu: %%%%%s must be the first line of the cell: a "
                         "cell command takes the rest of the cell as its body", i + 1, st.name);
                free(st.name);
                goto fail;
            }
            st.kind = DN_STMT_CELL;
            st.args = strndup(t + a, strip_comment(t + a, tl - a));
            const char *nlpos = strchr(line, '\n');
            st.body = strdup(nlpos ? nlpos + 1 : "");
            if (!st.args || !st.body || push(cell, st) < 0) {
                free(st.name); free(st.args); free(st.body);
                goto oom;
            }
            break;
        }
        st.kind = DN_STMT_LINE;
        buf b = { 0 };
        if (gather(&b, lines, nl, &i, t + a, strip_comment(t + a, tl - a), strip_comment, continues) < 0) {
            free(b.s);
            free(st.name);
            goto oom;
        }
        st.args = b.s;
        if (push(cell, st) < 0) { free(st.name); free(st.args); goto oom; }
        first = 0;
    }
    free(lines);
    return cell;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    free(lines);
    dn_cell_free(cell);
    return NULL;
}
