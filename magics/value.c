/* value.c — a recursive-descent parser for command arguments (grammar in value.h). */
#include "value.h"
#include "utf8.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser {
    const char *s;      /* the whole argument text */
    size_t i;           /* current byte */
    int column0;
    int argno;          /* 1-based number of the argument being parsed */
    dn_parse_status status;
    char *err;
    size_t errlen;
    int failed;
    int depth;          /* brackets open around the value being parsed */
    size_t col_byte;    /* code points before s[col_byte] are col_count: columns are */
    long col_count;     /* counted on from the last one asked, so a long text costs linear time */
} parser;

/* Deeper nesting is refused: the parser, the formatter and the free recurse per bracket,
 * and no text may exhaust the kernel's stack. */
#define MAX_DEPTH 64

static int column_at(parser *p, size_t byte)
{
    if (byte < p->col_byte) {
        p->col_byte = 0;
        p->col_count = 0;
    }
    p->col_count += (long)dn_utf8_count(p->s + p->col_byte, byte - p->col_byte);
    p->col_byte = byte;
    return p->column0 + (int)p->col_count;
}

static void fail(parser *p, dn_parse_status st, const char *fmt, ...)
{
    if (p->failed) return;
    p->failed = 1;
    p->status = st;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err, p->errlen, fmt, ap);
    va_end(ap);
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
static int is_ident_start(char c) { return isalpha((unsigned char)c) || c == '_'; }
static int is_ident_char(char c) { return isalnum((unsigned char)c) || c == '_'; }

static void skip_space(parser *p)
{
    while (is_space(p->s[p->i])) p->i++;
}

static void value_free(dn_value *v)
{
    if (!v) return;
    for (size_t k = 0; k < v->n; k++) {
        value_free(v->items[k]);
        if (v->keys) free(v->keys[k]);
    }
    free(v->items);
    free(v->keys);
    free(v->text);
    free(v);
}

static dn_value *value_new(parser *p, dn_value_kind kind, size_t start)
{
    dn_value *v = calloc(1, sizeof *v);
    if (!v) { fail(p, DN_PARSE_ERROR, "out of memory"); return NULL; }
    v->kind = kind;
    v->column = column_at(p, start);
    return v;
}

/* Room for n items, doubling: appending one at a time costs linear time in all (an
 * allocator that never grows in place, as ASan's, made a long list quadratic). */
static size_t room_for(size_t n)
{
    size_t cap = 4;
    while (cap < n) cap *= 2;
    return cap;
}

/* Appends item (and its key, taken over) to a container; frees both on failure. */
static int value_push(parser *p, dn_value *c, dn_value *item, char *key)
{
    size_t cap = room_for(c->n + 1);
    int grow = c->n == 0 || room_for(c->n) < c->n + 1;
    dn_value **items = grow ? realloc(c->items, cap * sizeof *items) : c->items;
    if (items) c->items = items;
    char **keys = c->keys;
    if (items && key && !keys) {   /* the first key: keys from now on, NULL for those before */
        keys = calloc(cap, sizeof *keys);
    } else if (items && keys && grow) {
        keys = realloc(c->keys, cap * sizeof *keys);
    }
    if (keys) c->keys = keys;
    if (!items || ((key || c->keys) && !keys)) {
        fail(p, DN_PARSE_ERROR, "out of memory");
        value_free(item);
        free(key);
        return -1;
    }
    c->items[c->n] = item;
    if (c->keys) c->keys[c->n] = key;
    c->n++;
    return 0;
}

static char *dup_range(parser *p, size_t a, size_t b)
{
    char *t = strndup(p->s + a, b - a);
    if (!t) fail(p, DN_PARSE_ERROR, "out of memory");
    return t;
}

static dn_value *parse_value(parser *p, int top);

static dn_value *parse_string(parser *p)
{
    size_t start = p->i;
    char q = p->s[p->i++];
    size_t cap = 16, n = 0;
    char *buf = malloc(cap);
    if (!buf) { fail(p, DN_PARSE_ERROR, "out of memory"); return NULL; }
    for (;;) {
        char c = p->s[p->i];
        /* a string ends at its line, as in Python (and as dn_args_open_depth and the cell
         * splitter read it): a newline is written \n */
        if (!c || c == '\n') {
            free(buf);
            fail(p, DN_PARSE_ERROR, "unterminated string in argument %d (%c at column %d)%s",
                 p->argno, q, column_at(p, start),
                 c ? ": a string ends at its line (write \\n for a newline)" : "");
            return NULL;
        }
        p->i++;
        if (c == q) break;
        if (c == '\\' && p->s[p->i]) {
            char e = p->s[p->i];
            char out = e == 'n' ? '\n' : e == 't' ? '\t' : e;
            if (e == '\\' || e == '\'' || e == '"' || e == 'n' || e == 't') {
                c = out;
                p->i++;
            }   /* other escapes stay as written, backslash included, as in Python */
        }
        if (n + 2 > cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) { free(buf); fail(p, DN_PARSE_ERROR, "out of memory"); return NULL; }
            buf = nb;
        }
        buf[n++] = c;
    }
    buf[n] = 0;
    dn_value *v = value_new(p, DN_VAL_STRING, start);
    if (!v) { free(buf); return NULL; }
    v->text = buf;
    v->quoted = 1;
    return v;
}

/* Items up to the closing bracket; into c (a TUPLE, LIST or CALL). */
static int parse_items(parser *p, dn_value *c, char open, size_t open_at)
{
    char close = open == '(' ? ')' : ']';
    int seen_key = 0, trailing_comma = 0;
    for (;;) {
        skip_space(p);
        char ch = p->s[p->i];
        if (!ch) {
            fail(p, DN_PARSE_UNCLOSED, "unclosed '%c' in argument %d (opened at column %d)",
                 open, p->argno, column_at(p, open_at));
            return -1;
        }
        if (ch == close) { p->i++; break; }
        if (ch == ')' || ch == ']') {
            fail(p, DN_PARSE_ERROR, "'%c' closes '%c' (column %d) in argument %d (column %d)",
                 ch, open, column_at(p, open_at), p->argno, column_at(p, p->i));
            return -1;
        }
        if (ch == ',') {
            fail(p, DN_PARSE_ERROR, "expected a value before ',' in argument %d (column %d)",
                 p->argno, column_at(p, p->i));
            return -1;
        }
        /* key=value items are only meaningful in calls */
        char *key = NULL;
        if (is_ident_start(ch)) {
            size_t j = p->i;
            while (is_ident_char(p->s[j])) j++;
            size_t k = j;
            while (is_space(p->s[k])) k++;
            if (p->s[k] == '=' && p->s[k + 1] != '=') {
                if (c->kind != DN_VAL_CALL) {
                    fail(p, DN_PARSE_ERROR, "key=value is only allowed in a call such as "
                         "f(%.*s=…), not inside '%c' (argument %d, column %d)",
                         (int)(j - p->i), p->s + p->i, open, p->argno, column_at(p, p->i));
                    return -1;
                }
                key = dup_range(p, p->i, j);
                if (!key) return -1;
                for (size_t q = 0; q < c->n; q++) {
                    if (c->keys && c->keys[q] && !strcmp(c->keys[q], key)) {
                        fail(p, DN_PARSE_ERROR, "keyword '%s' given twice in %s(…) "
                             "(argument %d, column %d)", key, c->text, p->argno,
                             column_at(p, p->i));
                        free(key);
                        return -1;
                    }
                }
                p->i = k + 1;
                skip_space(p);
                if (!p->s[p->i] || p->s[p->i] == ',' || p->s[p->i] == close) {
                    fail(p, DN_PARSE_ERROR, "missing value after '%s=' in argument %d "
                         "(column %d)", key, p->argno, column_at(p, k + 1));
                    free(key);
                    return -1;
                }
                seen_key = 1;
            } else if (seen_key) {
                fail(p, DN_PARSE_ERROR, "positional item after a key=value item in %s(…) "
                     "(argument %d, column %d)", c->text, p->argno, column_at(p, p->i));
                return -1;
            }
        } else if (seen_key) {
            fail(p, DN_PARSE_ERROR, "positional item after a key=value item in %s(…) "
                 "(argument %d, column %d)", c->text, p->argno, column_at(p, p->i));
            return -1;
        }
        dn_value *item = parse_value(p, 0);
        if (!item) { free(key); return -1; }
        if (value_push(p, c, item, key) < 0) return -1;
        skip_space(p);
        ch = p->s[p->i];
        trailing_comma = 0;
        if (ch == ',') { p->i++; trailing_comma = 1; continue; }
        if (ch == close) { p->i++; break; }
        if (!ch) continue;   /* reported as unclosed above */
        if (ch == ')' || ch == ']') {
            fail(p, DN_PARSE_ERROR, "'%c' closes '%c' (column %d) in argument %d (column %d)",
                 ch, open, column_at(p, open_at), p->argno, column_at(p, p->i));
            return -1;
        }
        fail(p, DN_PARSE_ERROR, "expected ',' or '%c' after item %zu in argument %d (column %d)",
             close, c->n, p->argno, column_at(p, p->i));
        return -1;
    }
    /* (a) is a itself, (a,) a one-item tuple — as in Python */
    if (c->kind == DN_VAL_TUPLE && c->n == 1 && !trailing_comma) return 1;
    return 0;
}

static int is_number(const char *s)
{
    size_t i = 0, digits = 0;
    if (s[i] == '+' || s[i] == '-') i++;
    while (isdigit((unsigned char)s[i])) { i++; digits++; }
    if (s[i] == '.') { i++; while (isdigit((unsigned char)s[i])) { i++; digits++; } }
    if (!digits) return 0;
    if (s[i] == 'e' || s[i] == 'E') {
        i++;
        if (s[i] == '+' || s[i] == '-') i++;
        if (!isdigit((unsigned char)s[i])) return 0;
        while (isdigit((unsigned char)s[i])) i++;
    }
    return s[i] == 0;
}

/* A bare word: a number, True/False/None, an identifier (NAME), or an unquoted string. */
static dn_value *classify_word(parser *p, size_t start, size_t end)
{
    char *w = dup_range(p, start, end);
    if (!w) return NULL;
    dn_value *v = value_new(p, DN_VAL_STRING, start);
    if (!v) { free(w); return NULL; }
    v->text = w;
    if (!strcmp(w, "True") || !strcmp(w, "False")) {
        v->kind = DN_VAL_BOOL;
        v->boolean = w[0] == 'T';
    } else if (!strcmp(w, "None")) {
        v->kind = DN_VAL_NONE;
    } else if (is_number(w)) {
        int is_float = strpbrk(w, ".eE") != NULL;
        v->number = strtod(w, NULL);
        if (!is_float) {
            char *endp;
            v->integer = strtoll(w, &endp, 10);
        }
        v->kind = is_float ? DN_VAL_FLOAT : DN_VAL_INT;
    } else {
        int ident = is_ident_start(w[0]);
        for (size_t k = 1; ident && w[k]; k++) ident = is_ident_char(w[k]);
        v->kind = ident ? DN_VAL_NAME : DN_VAL_STRING;
    }
    return v;
}

static dn_value *parse_value(parser *p, int top)
{
    size_t start = p->i;
    char ch = p->s[p->i];
    if (ch == '\'' || ch == '"') return parse_string(p);
    if ((ch == '(' || ch == '[') && p->depth >= MAX_DEPTH) {
        fail(p, DN_PARSE_ERROR, "brackets nested more than %d deep in argument %d (column %d)",
             MAX_DEPTH, p->argno, column_at(p, p->i));
        return NULL;
    }
    if (ch == '(' || ch == '[') {
        p->i++;
        dn_value *c = value_new(p, ch == '(' ? DN_VAL_TUPLE : DN_VAL_LIST, start);
        if (!c) return NULL;
        p->depth++;
        int r = parse_items(p, c, ch, start);
        p->depth--;
        if (r < 0) { value_free(c); return NULL; }
        if (r == 1) {   /* parenthesised single value */
            dn_value *inner = c->items[0];
            c->n = 0;
            value_free(c);
            return inner;
        }
        return c;
    }
    if (ch == ')' || ch == ']') {
        fail(p, DN_PARSE_ERROR, "unexpected '%c' in argument %d (column %d)",
             ch, p->argno, column_at(p, p->i));
        return NULL;
    }
    /* inside brackets ',' and '=' end a word; at the top level only whitespace does, so
     * paths such as a=b,c stay whole */
    size_t j = p->i;
    while (p->s[j] && !is_space(p->s[j]) && !strchr("()[]'\"", p->s[j])
           && (top || !strchr(",=", p->s[j])))
        j++;
    if (j == start) {
        fail(p, DN_PARSE_ERROR, "expected a value in argument %d (column %d)",
             p->argno, column_at(p, p->i));
        return NULL;
    }
    dn_value *v = classify_word(p, start, j);
    if (!v) return NULL;
    p->i = j;
    if (p->s[j] == '(') {
        if (v->kind != DN_VAL_NAME) {
            fail(p, DN_PARSE_ERROR, "'%s' cannot be called: only a name can be followed by "
                 "'(' (argument %d, column %d)", v->text, p->argno, column_at(p, j));
            value_free(v);
            return NULL;
        }
        if (p->depth >= MAX_DEPTH) {
            fail(p, DN_PARSE_ERROR, "brackets nested more than %d deep in argument %d (column %d)",
                 MAX_DEPTH, p->argno, column_at(p, j));
            value_free(v);
            return NULL;
        }
        v->kind = DN_VAL_CALL;
        p->i++;
        p->depth++;
        int r = parse_items(p, v, '(', j);
        p->depth--;
        if (r < 0) { value_free(v); return NULL; }
        return v;
    }
    return v;
}

void dn_args_free(dn_args *args)
{
    if (!args) return;
    for (size_t k = 0; k < args->n; k++) {
        value_free(args->values[k]);
        free(args->keys[k]);
    }
    free(args->values);
    free(args->keys);
    free(args->columns);
    free(args);
}

static int args_push(parser *p, dn_args *a, dn_value *v, char *key, int column)
{
    size_t cap = room_for(a->n + 1);
    int grow = a->n == 0 || room_for(a->n) < a->n + 1;
    dn_value **vals = grow ? realloc(a->values, cap * sizeof *vals) : a->values;
    if (vals) a->values = vals;
    char **keys = !vals ? NULL : grow ? realloc(a->keys, cap * sizeof *keys) : a->keys;
    if (keys) a->keys = keys;
    int *cols = !keys ? NULL : grow ? realloc(a->columns, cap * sizeof *cols) : a->columns;
    if (cols) a->columns = cols;
    if (!cols) {
        fail(p, DN_PARSE_ERROR, "out of memory");
        value_free(v);
        free(key);
        return -1;
    }
    a->values[a->n] = v;
    a->keys[a->n] = key;
    a->columns[a->n] = column;
    a->n++;
    return 0;
}

dn_args *dn_args_parse(const char *text, int column0, dn_parse_status *status,
                       char *err, size_t errlen)
{
    parser p = { .s = text ? text : "", .column0 = column0, .err = err, .errlen = errlen };
    dn_args *a = calloc(1, sizeof *a);
    if (!a) {
        snprintf(err, errlen, "out of memory");
        if (status) *status = DN_PARSE_ERROR;
        return NULL;
    }
    for (;;) {
        skip_space(&p);
        if (!p.s[p.i]) break;
        p.argno = (int)a->n + 1;
        size_t start = p.i;
        char *key = NULL;
        if (is_ident_start(p.s[p.i])) {
            size_t j = p.i;
            while (is_ident_char(p.s[j])) j++;
            size_t k = j;
            while (p.s[k] == ' ' || p.s[k] == '\t') k++;
            if (p.s[k] == '=' && p.s[k + 1] != '=') {
                key = dup_range(&p, p.i, j);
                if (!key) break;
                for (size_t q = 0; q < a->n; q++) {
                    if (a->keys[q] && !strcmp(a->keys[q], key)) {
                        fail(&p, DN_PARSE_ERROR, "keyword '%s' given twice (argument %d, "
                             "column %d)", key, p.argno, column_at(&p, p.i));
                        break;
                    }
                }
                if (p.failed) { free(key); break; }
                p.i = k + 1;
                while (p.s[p.i] == ' ' || p.s[p.i] == '\t') p.i++;
                if (!p.s[p.i] || is_space(p.s[p.i])) {
                    fail(&p, DN_PARSE_ERROR, "missing value after '%s=' in argument %d "
                         "(column %d)", key, p.argno, column_at(&p, k + 1));
                    free(key);
                    break;
                }
            }
        }
        dn_value *v = parse_value(&p, 1);
        if (!v) { free(key); break; }
        if (p.s[p.i] && !is_space(p.s[p.i])) {
            fail(&p, DN_PARSE_ERROR, "unexpected '%c' in argument %d (column %d)",
                 p.s[p.i], p.argno, column_at(&p, p.i));
            value_free(v);
            free(key);
            break;
        }
        if (args_push(&p, a, v, key, column_at(&p, start)) < 0) break;
    }
    if (p.failed) {
        dn_args_free(a);
        if (status) *status = p.status;
        return NULL;
    }
    if (status) *status = DN_PARSE_OK;
    return a;
}

size_t dn_args_npos(const dn_args *args)
{
    size_t n = 0;
    for (size_t k = 0; args && k < args->n; k++)
        if (!args->keys[k]) n++;
    return n;
}

const dn_value *dn_args_pos(const dn_args *args, size_t i)
{
    for (size_t k = 0; args && k < args->n; k++)
        if (!args->keys[k] && i-- == 0) return args->values[k];
    return NULL;
}

const dn_value *dn_args_key(const dn_args *args, const char *key)
{
    for (size_t k = 0; args && k < args->n; k++)
        if (args->keys[k] && !strcmp(args->keys[k], key)) return args->values[k];
    return NULL;
}

int dn_args_check(const dn_args *args, const char *cmd, size_t min_pos, long max_pos,
                  const char *const *keys, char *err, size_t errlen)
{
    size_t npos = dn_args_npos(args);
    if (npos < min_pos) {
        snprintf(err, errlen, "%s needs %zu argument%s, got %zu (see %s?)", cmd, min_pos,
                 min_pos == 1 ? "" : "s", npos, cmd);
        return -1;
    }
    if (max_pos >= 0 && npos > (size_t)max_pos) {
        const dn_value *extra = dn_args_pos(args, (size_t)max_pos);
        char shown[64];
        dn_value_format(extra, shown, sizeof shown);
        if (max_pos == 0)
            snprintf(err, errlen, "%s takes no positional arguments, got %s (column %d)",
                     cmd, shown, extra->column);
        else
            snprintf(err, errlen, "%s takes at most %ld argument%s; %s (column %d) is one too "
                     "many (quote a path that has spaces)", cmd, max_pos,
                     max_pos == 1 ? "" : "s", shown, extra->column);
        return -1;
    }
    for (size_t k = 0; args && k < args->n; k++) {
        if (!args->keys[k]) continue;
        int known = 0;
        for (size_t q = 0; keys && keys[q]; q++)
            if (!strcmp(keys[q], args->keys[k])) known = 1;
        if (known) continue;
        if (!keys || !keys[0]) {
            snprintf(err, errlen, "%s takes no key=value options, got '%s=' (column %d)",
                     cmd, args->keys[k], args->columns[k]);
        } else {
            size_t off = (size_t)snprintf(err, errlen, "%s has no option '%s' (column %d); "
                                          "it takes:", cmd, args->keys[k], args->columns[k]);
            for (size_t q = 0; keys[q] && off < errlen; q++)
                off += (size_t)snprintf(err + off, errlen - off, " %s=", keys[q]);
        }
        return -1;
    }
    return 0;
}

const char *dn_value_text(const dn_value *v)
{
    return v && (v->kind == DN_VAL_STRING || v->kind == DN_VAL_NAME) ? v->text : NULL;
}

int dn_value_number(const dn_value *v, double *out)
{
    if (!v || (v->kind != DN_VAL_INT && v->kind != DN_VAL_FLOAT)) return -1;
    *out = v->number;
    return 0;
}

const char *dn_value_kind_name(dn_value_kind kind)
{
    switch (kind) {
    case DN_VAL_NONE: return "None";
    case DN_VAL_BOOL: return "True/False";
    case DN_VAL_INT: return "a whole number";
    case DN_VAL_FLOAT: return "a number";
    case DN_VAL_STRING: return "a string";
    case DN_VAL_NAME: return "a name";
    case DN_VAL_TUPLE: return "a tuple";
    case DN_VAL_LIST: return "a list";
    case DN_VAL_CALL: return "a call";
    }
    return "a value";
}

/* snprintf that keeps counting past the end of buf */
static size_t put(char *buf, size_t len, size_t off, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(off < len ? buf + off : NULL, off < len ? len - off : 0, fmt, ap);
    va_end(ap);
    return off + (n > 0 ? (size_t)n : 0);
}

static size_t format_into(const dn_value *v, char *buf, size_t len, size_t off)
{
    switch (v->kind) {
    case DN_VAL_NONE: return put(buf, len, off, "None");
    case DN_VAL_BOOL: return put(buf, len, off, v->boolean ? "True" : "False");
    case DN_VAL_INT: return put(buf, len, off, "%lld", v->integer);
    case DN_VAL_FLOAT: {   /* shortest text that reads back the same, as Python's repr */
        char num[40];
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(num, sizeof num, "%.*g", prec, v->number);
            if (strtod(num, NULL) == v->number) break;
        }
        return put(buf, len, off, "%s%s", num, strpbrk(num, ".eni") ? "" : ".0");
    }
    case DN_VAL_NAME: return put(buf, len, off, "%s", v->text);
    case DN_VAL_STRING:
        off = put(buf, len, off, "'");
        for (const char *c = v->text; *c; c++) {
            if (*c == '\'' || *c == '\\') off = put(buf, len, off, "\\%c", *c);
            else if (*c == '\n') off = put(buf, len, off, "\\n");
            else if (*c == '\t') off = put(buf, len, off, "\\t");
            else off = put(buf, len, off, "%c", *c);
        }
        return put(buf, len, off, "'");
    case DN_VAL_TUPLE: case DN_VAL_LIST: case DN_VAL_CALL: {
        if (v->kind == DN_VAL_CALL) off = put(buf, len, off, "%s", v->text);
        off = put(buf, len, off, v->kind == DN_VAL_LIST ? "[" : "(");
        for (size_t k = 0; k < v->n; k++) {
            if (k) off = put(buf, len, off, ", ");
            if (v->keys && v->keys[k]) off = put(buf, len, off, "%s=", v->keys[k]);
            off = format_into(v->items[k], buf, len, off);
        }
        if (v->kind == DN_VAL_TUPLE && v->n == 1) off = put(buf, len, off, ",");
        return put(buf, len, off, v->kind == DN_VAL_LIST ? "]" : ")");
    }
    }
    return off;
}

int dn_value_format(const dn_value *v, char *buf, size_t len)
{
    if (len) buf[0] = 0;
    if (!v) return 0;
    return (int)format_into(v, buf, len, 0);
}

int dn_args_open_depth(const char *text, size_t len)
{
    int depth = 0;
    char quote = 0;
    for (size_t k = 0; k < len && text[k]; k++) {
        char c = text[k];
        if (quote) {
            if (c == '\\' && k + 1 < len) k++;
            else if (c == quote) quote = 0;
            else if (c == '\n') quote = 0;   /* strings end at the line; the parser reports it */
        } else if (c == '\'' || c == '"') {
            quote = c;
        } else if (c == '(' || c == '[') {
            depth++;
        } else if ((c == ')' || c == ']') && depth > 0) {
            depth--;
        }
    }
    return depth;
}
