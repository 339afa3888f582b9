/* expr.c — array expressions (expr.h): a recursive-descent parser that evaluates as it
 * parses. The same parser checks syntax alone (eval off), so a cell is checked before
 * anything in it runs. Nesting is bounded by DN_EXPR_MAX_DEPTH and every token is read
 * once (columns counted as the lexer moves), so any text is parsed in linear time
 * without exhausting the stack. Left-associative chains (a + b + c ...) are loops, not
 * recursion, and the values are combined as they are read: nothing deep is built. */
#include "expr.h"
#include "internal.h"
#include "core/rng.h"
#include "utf8.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- tokens */

typedef enum tkind { T_END, T_NUM, T_STR, T_NAME, T_OP } tkind;

/* two-character operators get one code each */
enum { OP_EQ = 'E', OP_NE = 'N', OP_LE = 'L', OP_GE = 'G', OP_POW = 'P' };

typedef struct lexpos {
    size_t pos;    /* byte offset in the text */
    int col;       /* code points since the start of the line */
    int line;      /* lines since the start of the text */
} lexpos;

typedef struct tok {
    tkind kind;
    int op;               /* T_OP */
    int is_int;           /* T_NUM written without '.' or exponent */
    size_t at, len;       /* its bytes */
    int col, line;        /* where it starts (col 0-based in its line) */
} tok;

enum { V_ABSENT = -1, V_NONE = 0, V_ARR, V_OBJ };

typedef struct val {
    int kind;
    dn_array *a;               /* V_ARR */
    int owned;                 /* a is ours to free (else the workspace's) */
    const char *name;          /* the workspace name it is, for messages */
    const dn_type *type;       /* V_OBJ's type; array or predictions for workspace arrays */
    const void *obj;           /* V_OBJ */
} val;

typedef struct P {
    const char *s;
    size_t n;
    lexpos lx;                 /* after the current token */
    tok t;                     /* the current token */
    int column0;
    int depth;
    int nopen;                 /* brackets open, with where they opened */
    char open_ch[DN_EXPR_MAX_DEPTH + 2];
    int open_col[DN_EXPR_MAX_DEPTH + 2], open_line[DN_EXPR_MAX_DEPTH + 2];
    int eval;
    dn_workspace *ws;
    const char *ename;
    char *err;
    size_t errlen;
    dn_parse_status status;
    int failed;
    long ntok;                 /* tokens read so far */
    char **names;              /* workspace names met, kept for messages */
    size_t nnames;
} P;

static int fail(P *p, const char *ename, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(P *p, const char *ename, const char *fmt, ...)
{
    if (p->failed) return -1;
    p->failed = 1;
    p->ename = ename;
    if (!p->status) p->status = DN_PARSE_ERROR;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err, p->errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* "column 12", or "column 3 of continued line 2" for text joined from several lines */
static void where(const P *p, int line, int col, char *buf, size_t len)
{
    if (line == 0) snprintf(buf, len, "column %d", p->column0 + col);
    else snprintf(buf, len, "column %d of the statement's line %d", col + 1, line + 1);
}

static int is_ident_start(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static int is_ident(int c) { return is_ident_start(c) || (c >= '0' && c <= '9'); }
static int is_digit(int c) { return c >= '0' && c <= '9'; }

/* Moves the lexer over k bytes, counting columns and lines. */
static void advance(P *p, size_t k)
{
    for (size_t i = 0; i < k && p->lx.pos < p->n; i++) {
        unsigned char c = (unsigned char)p->s[p->lx.pos++];
        if (c == '\n') { p->lx.line++; p->lx.col = 0; }
        else if ((c & 0xC0) != 0x80) p->lx.col++;
    }
}

/* Reads the next token into p->t. */
static int lex(P *p)
{
    for (;;) {
        if (p->lx.pos >= p->n) break;
        char c = p->s[p->lx.pos];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v') { advance(p, 1); continue; }
        if (c == '\\' && p->lx.pos + 1 < p->n && p->s[p->lx.pos + 1] == '\n') { advance(p, 2); continue; }
        if (c == '#') {   /* a comment runs to the end of its line */
            while (p->lx.pos < p->n && p->s[p->lx.pos] != '\n') advance(p, 1);
            continue;
        }
        break;
    }
    tok *t = &p->t;
    memset(t, 0, sizeof *t);
    t->at = p->lx.pos;
    t->col = p->lx.col;
    t->line = p->lx.line;
    if (p->lx.pos >= p->n) { t->kind = T_END; return 0; }
    p->ntok++;
    const char *s = p->s + p->lx.pos;
    size_t left = p->n - p->lx.pos;
    char pos[64];
    if (is_ident_start((unsigned char)s[0])) {
        size_t k = 1;
        while (k < left && is_ident((unsigned char)s[k])) k++;
        t->kind = T_NAME;
        t->len = k;
        advance(p, k);
        return 0;
    }
    if (is_digit((unsigned char)s[0]) || (s[0] == '.' && left > 1 && is_digit((unsigned char)s[1]))) {
        size_t k = 0;
        int is_int = 1;
        while (k < left && is_digit((unsigned char)s[k])) k++;
        if (k < left && s[k] == '.') {
            is_int = 0;
            k++;
            while (k < left && is_digit((unsigned char)s[k])) k++;
        }
        if (k < left && (s[k] == 'e' || s[k] == 'E')) {
            size_t e = k + 1;
            if (e < left && (s[e] == '+' || s[e] == '-')) e++;
            if (e < left && is_digit((unsigned char)s[e])) {
                is_int = 0;
                k = e;
                while (k < left && is_digit((unsigned char)s[k])) k++;
            }
        }
        if (k < left && is_ident((unsigned char)s[k])) {
            where(p, t->line, t->col, pos, sizeof pos);
            return fail(p, "SyntaxError", "invalid number '%.*s' at %s", (int)(k + 1 < 40 ? k + 1 : 40), s, pos);
        }
        t->kind = T_NUM;
        t->is_int = is_int;
        t->len = k;
        advance(p, k);
        return 0;
    }
    if (s[0] == '\'' || s[0] == '"') {
        size_t k = 1;
        while (k < left && s[k] != s[0] && s[k] != '\n') k += s[k] == '\\' && k + 1 < left && s[k + 1] != '\n' ? 2 : 1;
        if (k >= left || s[k] != s[0]) {
            where(p, t->line, t->col, pos, sizeof pos);
            return fail(p, "SyntaxError", "unterminated string (opened at %s)", pos);
        }
        t->kind = T_STR;
        t->len = k + 1;
        advance(p, k + 1);
        return 0;
    }
    static const char *const two[] = { "==", "!=", "<=", ">=", "**" };
    static const int twocode[] = { OP_EQ, OP_NE, OP_LE, OP_GE, OP_POW };
    for (int i = 0; i < 5; i++)
        if (left >= 2 && s[0] == two[i][0] && s[1] == two[i][1]) {
            t->kind = T_OP;
            t->op = twocode[i];
            t->len = 2;
            advance(p, 2);
            return 0;
        }
    if (strchr("+-*/@<>()[],:.=", s[0])) {
        t->kind = T_OP;
        t->op = s[0];
        t->len = 1;
        advance(p, 1);
        return 0;
    }
    where(p, t->line, t->col, pos, sizeof pos);
    size_t clen = 1;
    while (clen < left && clen < 4 && ((unsigned char)s[clen] & 0xC0) == 0x80) clen++;
    return fail(p, "SyntaxError", "invalid character '%.*s' at %s", (int)clen, s, pos);
}

static int is_op(const P *p, int op) { return p->t.kind == T_OP && p->t.op == op; }
static int is_name(const P *p, const char *w)
{
    return p->t.kind == T_NAME && p->t.len == strlen(w) && !memcmp(p->s + p->t.at, w, p->t.len);
}

/* The token after the current one, without consuming anything. */
static tok peek(P *p)
{
    lexpos save = p->lx;
    tok cur = p->t;
    long ntok = p->ntok;
    int failed = p->failed;
    const char *ename = p->ename;
    tok next = { .kind = T_END };
    if (!failed) {
        char keep[1];
        char *err = p->err;
        size_t errlen = p->errlen;
        p->err = keep;   /* an error in the peeked token is reported when it is read */
        p->errlen = sizeof keep;
        if (lex(p) == 0) next = p->t;
        p->err = err;
        p->errlen = errlen;
    }
    p->lx = save;
    p->t = cur;
    p->ntok = ntok;
    p->failed = failed;
    p->ename = ename;
    if (!failed) p->status = DN_PARSE_OK;
    return next;
}

/* The current token as a person reads it in a message. */
static void tok_text(const P *p, char *buf, size_t len)
{
    if (p->t.kind == T_END) { snprintf(buf, len, "end of text"); return; }
    int l = (int)(p->t.len > 30 ? 30 : p->t.len);
    snprintf(buf, len, "'%.*s%s'", l, p->s + p->t.at, p->t.len > 30 ? "…" : "");
}

/* A syntax error at the current token: at the end of the text with a bracket open, more
 * text could still complete it (is_complete says "incomplete"). */
static int unexpected(P *p, const char *wanted)
{
    char pos[64], tt[64];
    if (p->t.kind == T_END && p->nopen > 0) {
        int k = p->nopen - 1;
        where(p, p->open_line[k], p->open_col[k], pos, sizeof pos);
        fail(p, "SyntaxError", "'%c' was never closed (opened at %s)", p->open_ch[k], pos);
        p->status = DN_PARSE_UNCLOSED;
        return -1;
    }
    where(p, p->t.line, p->t.col, pos, sizeof pos);
    if (p->t.kind == T_END) {
        if (p->ntok == 0) return fail(p, "SyntaxError", "an expression is missing");
        return fail(p, "SyntaxError", "invalid syntax: the expression ends too soon, %s was "
                    "expected (%s)", wanted, pos);
    }
    tok_text(p, tt, sizeof tt);
    if (is_op(p, ')') || is_op(p, ']')) {
        if (!p->nopen) return fail(p, "SyntaxError", "unmatched %s at %s", tt, pos);
        char o[64];
        int k = p->nopen - 1;
        where(p, p->open_line[k], p->open_col[k], o, sizeof o);
        return fail(p, "SyntaxError", "closing %s at %s does not match '%c' (opened at %s)",
                    tt, pos, p->open_ch[k], o);
    }
    if (is_op(p, '=') && p->nopen == 0)
        return fail(p, "SyntaxError", "invalid syntax: '=' at %s (a line that keeps a value "
                    "is %%let NAME = EXPR; a comparison is ==)", pos);
    return fail(p, "SyntaxError", "invalid syntax: unexpected %s at %s (%s was expected)", tt,
                pos, wanted);
}

/* Nesting: brackets, unary operators and powers each go one level deeper. */
static int enter(P *p)
{
    if (++p->depth > DN_EXPR_MAX_DEPTH) {
        char pos[64];
        where(p, p->t.line, p->t.col, pos, sizeof pos);
        return fail(p, "SyntaxError", "the expression is nested too deeply (more than %d levels "
                    "of brackets and operators) at %s", DN_EXPR_MAX_DEPTH, pos);
    }
    return 0;
}
static void leave(P *p) { p->depth--; }

/* Consumes an opening bracket, remembering where it opened. */
static int open_bracket(P *p)
{
    if (enter(p) < 0) return -1;
    p->open_ch[p->nopen] = (char)p->t.op;
    p->open_col[p->nopen] = p->t.col;
    p->open_line[p->nopen] = p->t.line;
    p->nopen++;
    return lex(p);
}
static int close_bracket(P *p, int op)
{
    if (!is_op(p, op)) return unexpected(p, op == ')' ? "')'" : "']'");
    p->nopen--;
    leave(p);
    return lex(p);
}

/* ---------------------------------------------------------------- values */

static void release(val *v)
{
    if (v->kind == V_ARR && v->owned) dn_array_free(v->a);
    memset(v, 0, sizeof *v);
}

static const char *article(const char *w) { return strchr("aeiou", w[0]) ? "an" : "a"; }

/* "'m' is a model", "None", "'b' is a batches object" — what a value that is not an
 * array is, for TypeErrors */
static int not_array(P *p, const val *v, const char *what)
{
    if (v->kind == V_NONE) return fail(p, "TypeError", "None is not an array%s", what);
    if (v->kind == V_ABSENT) return fail(p, "TypeError", "a value is missing%s", what);
    const char *tn = v->type && v->type->name ? v->type->name : "object";
    size_t l = strlen(tn);
    return fail(p, "TypeError", "'%s' is %s %s%s, not an array%s", v->name ? v->name : "?",
                article(tn), tn, l && tn[l - 1] == 's' ? " object" : "", what);
}

static int need_arr(P *p, const val *v, const char *what)
{
    if (v->kind == V_ARR) return 0;
    return not_array(p, v, what);
}

static dn_array *new_arr(P *p, dn_dtype t, int ndim, const long *shape)
{
    char e[256];
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 0) { fail(p, "ValueError", "negative dimensions are not allowed"); return NULL; }
    if (ndim > DN_ARRAY_MAXDIM) {
        fail(p, "ValueError", "arrays have at most %d axes here, not %d", DN_ARRAY_MAXDIM, ndim);
        return NULL;
    }
    dn_array *a = dn_array_new(t, ndim, shape, e, sizeof e);
    if (!a) fail(p, "MemoryError", "%s", e);
    return a;
}

static int set_arr(val *v, dn_array *a)
{
    memset(v, 0, sizeof *v);
    v->kind = V_ARR;
    v->a = a;
    v->owned = 1;
    return 0;
}

static int scalar(P *p, val *out, dn_dtype t, double x)
{
    dn_array *a = new_arr(p, t, 0, NULL);
    if (!a) return -1;
    a->data[0] = (float)x;
    return set_arr(out, a);
}

/* The values of a in a new plain array of shape (nd, shape) (same size): no
 * predictions' file names or labels come along. */
static dn_array *plain_copy(P *p, const dn_array *a, int nd, const long *shape)
{
    dn_array *o = new_arr(p, a->dtype, nd, shape);
    if (!o) return NULL;
    if (a->dtype != DN_DT_STR) {
        if (a->size) memcpy(o->data, a->data, (size_t)a->size * sizeof *o->data);
        return o;
    }
    for (long i = 0; i < a->size; i++) {
        free(o->strs[i]);
        if (!(o->strs[i] = strdup(a->strs[i] ? a->strs[i] : ""))) {
            dn_array_free(o);
            fail(p, "MemoryError", "out of memory");
            return NULL;
        }
    }
    return o;
}

/* (30,2) as numpy's messages write shapes */
static void shape_compact(const dn_array *a, char *buf, size_t len)
{
    int k = snprintf(buf, len, "(");
    for (int i = 0; i < a->ndim && k >= 0 && (size_t)k < len; i++)
        k += snprintf(buf + k, len - (size_t)k, i ? ",%ld" : "%ld", a->shape[i]);
    if (k >= 0 && (size_t)k < len) snprintf(buf + k, len - (size_t)k, a->ndim == 1 ? ",)" : ")");
}

/* numpy's promotion: bool < int < float (strings stand apart) */
static int rank(dn_dtype t) { return t == DN_DT_BOOL ? 0 : t == DN_DT_INT ? 1 : t == DN_DT_FLOAT ? 2 : 3; }
static dn_dtype promote(dn_dtype a, dn_dtype b) { return rank(a) >= rank(b) ? a : b; }

static const char *dtype_name(dn_dtype t)
{
    return t == DN_DT_FLOAT ? "float32" : t == DN_DT_INT ? "int64" : t == DN_DT_BOOL ? "bool" : "str";
}

/* A whole number stored as float, as a long; values past 2^62 (which no index or size
 * can be) are clamped there, since converting them would be undefined. */
static long to_long(double v)
{
    if (isnan(v)) return 0;
    if (v > 4.6e18) return 4611686018427387904L;
    if (v < -4.6e18) return -4611686018427387904L;
    return (long)v;
}

/* An integer from a 0-d INT or BOOL array (what indices, axes and sizes take). */
static int whole(P *p, const val *v, const char *what, long *out)
{
    if (v->kind != V_ARR) return not_array(p, v, "");
    const dn_array *a = v->a;
    if (a->ndim != 0 || a->dtype == DN_DT_STR || a->dtype == DN_DT_FLOAT) {
        if (a->ndim == 0 && a->dtype == DN_DT_FLOAT)
            return fail(p, "TypeError", "%s must be a whole number, not %g ('float' object cannot "
                        "be interpreted as an integer)", what, (double)a->data[0]);
        char sh[64];
        shape_compact(a, sh, sizeof sh);
        return fail(p, "TypeError", "%s must be a whole number, not %s array of shape %s", what,
                    article(dtype_name(a->dtype)), sh);
    }
    *out = to_long(a->data[0]);
    return 0;
}

/* An axis argument: None (*none = 1) or a whole number in [-ndim, ndim). */
static int axis_arg(P *p, const val *v, int ndim, int *axis, int *none)
{
    *none = 0;
    if (v->kind == V_NONE) { *none = 1; return 0; }
    long ax;
    if (whole(p, v, "axis", &ax) < 0) return -1;
    if (ax < -ndim || ax >= ndim)
        return fail(p, "AxisError", "axis %ld is out of bounds for array of dimension %d", ax, ndim);
    *axis = (int)(ax < 0 ? ax + ndim : ax);
    return 0;
}

/* A shape from arguments: (d0, d1), [d0, d1], d0, d1 ... or nothing (a scalar). */
static int shape_args(P *p, const val *args, int n, const char *fname, int *ndim, long *shape)
{
    if (n == 1 && args[0].kind == V_ARR && args[0].a->ndim == 1) {
        const dn_array *a = args[0].a;
        if (a->size > DN_ARRAY_MAXDIM)
            return fail(p, "ValueError", "%s: arrays have at most %d axes here, not %ld", fname,
                        DN_ARRAY_MAXDIM, a->size);
        if (a->size && (a->dtype == DN_DT_FLOAT || a->dtype == DN_DT_STR))
            return fail(p, "TypeError", "%s: a shape is whole numbers ('%s' object cannot be "
                        "interpreted as an integer)", fname, a->dtype == DN_DT_FLOAT ? "float" : "str");
        *ndim = (int)a->size;
        for (long i = 0; i < a->size; i++) shape[i] = to_long(a->data[i]);
    } else {
        if (n > DN_ARRAY_MAXDIM)
            return fail(p, "ValueError", "%s: arrays have at most %d axes here, not %d", fname,
                        DN_ARRAY_MAXDIM, n);
        char what[64];
        snprintf(what, sizeof what, "%s's size", fname);
        for (int i = 0; i < n; i++)
            if (whole(p, &args[i], what, &shape[i]) < 0) return -1;
        *ndim = n;
    }
    for (int i = 0; i < *ndim; i++)
        if (shape[i] < 0) return fail(p, "ValueError", "negative dimensions are not allowed");
    return 0;
}

/* ---------------------------------------------------------------- elementwise */

enum { B_ADD = '+', B_SUB = '-', B_MUL = '*', B_DIV = '/', B_POW = OP_POW, B_EQ = OP_EQ,
       B_NE = OP_NE, B_LT = '<', B_LE = OP_LE, B_GT = '>', B_GE = OP_GE, B_MAX = 'M', B_MIN = 'm' };

static const char *op_text(int op)
{
    switch (op) {
    case B_ADD: return "+"; case B_SUB: return "-"; case B_MUL: return "*"; case B_DIV: return "/";
    case B_POW: return "**"; case B_EQ: return "=="; case B_NE: return "!="; case B_LT: return "<";
    case B_LE: return "<="; case B_GT: return ">"; case B_GE: return ">="; case B_MAX: return "maximum";
    case B_MIN: return "minimum";
    }
    return "?";
}

static int is_cmp(int op)
{
    return op == B_EQ || op == B_NE || op == B_LT || op == B_LE || op == B_GT || op == B_GE;
}

static double apply(int op, double x, double y)
{
    switch (op) {
    case B_ADD: return x + y;
    case B_SUB: return x - y;
    case B_MUL: return x * y;
    case B_DIV: return x / y;
    case B_POW: return pow(x, y);
    case B_EQ: return x == y;
    case B_NE: return x != y;
    case B_LT: return x < y;
    case B_LE: return x <= y;
    case B_GT: return x > y;
    case B_GE: return x >= y;
    case B_MAX: return isnan(x) || isnan(y) ? NAN : x > y ? x : y;
    case B_MIN: return isnan(x) || isnan(y) ? NAN : x < y ? x : y;
    }
    return 0;
}

/* NumPy's broadcasting: shapes aligned at the right, a 1 stretches. Fills the out shape
 * (padded to 4 axes at the left) and each operand's strides over it. */
static int broadcast(P *p, const dn_array *a, const dn_array *b, int *ndim, long *shape,
                     long *sa, long *sb)
{
    int nd = a->ndim > b->ndim ? a->ndim : b->ndim;
    long stra[DN_ARRAY_MAXDIM], strb[DN_ARRAY_MAXDIM];
    long st = 1;
    for (int i = a->ndim - 1; i >= 0; i--) { stra[i] = st; st *= a->shape[i]; }
    st = 1;
    for (int i = b->ndim - 1; i >= 0; i--) { strb[i] = st; st *= b->shape[i]; }
    for (int k = 0; k < DN_ARRAY_MAXDIM; k++) { shape[k] = 1; sa[k] = sb[k] = 0; }
    for (int i = 0; i < nd; i++) {
        int ia = i - (nd - a->ndim), ib = i - (nd - b->ndim);
        long da = ia >= 0 ? a->shape[ia] : 1, db = ib >= 0 ? b->shape[ib] : 1;
        if (da != db && da != 1 && db != 1) {
            char s1[64], s2[64];
            shape_compact(a, s1, sizeof s1);
            shape_compact(b, s2, sizeof s2);
            return fail(p, "ValueError", "operands could not be broadcast together with shapes %s %s", s1, s2);
        }
        int k = DN_ARRAY_MAXDIM - nd + i;
        shape[k] = da == 1 ? db : da;
        sa[k] = ia >= 0 && da != 1 ? stra[ia] : 0;
        sb[k] = ib >= 0 && db != 1 ? strb[ib] : 0;
    }
    *ndim = nd;
    return 0;
}

static int binop(P *p, int op, val *l, val *r, val *out)
{
    if (!p->eval) return 0;
    char what[64];
    snprintf(what, sizeof what, " (in %s)", op_text(op));
    if (need_arr(p, l, what) < 0 || need_arr(p, r, what) < 0) return -1;
    const dn_array *a = l->a, *b = r->a;
    int strs = (a->dtype == DN_DT_STR) + (b->dtype == DN_DT_STR);
    if (strs && !(strs == 2 && (op == B_EQ || op == B_NE)))
        return fail(p, "TypeError", "'%s' is not defined for %s", op_text(op),
                    strs == 2 ? "strings (only == and != compare them)" : "a string and a number");
    dn_dtype t = promote(a->dtype, b->dtype);
    if (strs || is_cmp(op)) t = DN_DT_BOOL;
    else if (op == B_DIV) t = DN_DT_FLOAT;
    else if (t == DN_DT_BOOL && op == B_SUB)
        return fail(p, "TypeError", "numpy boolean subtract, the `-` operator, is not supported, "
                    "use the bitwise_xor, the `^` operator, or the logical_xor function instead.");
    else if (t == DN_DT_BOOL && op == B_POW) t = DN_DT_INT;
    int nd = 0;
    long shape[DN_ARRAY_MAXDIM], sa[DN_ARRAY_MAXDIM], sb[DN_ARRAY_MAXDIM];
    if (broadcast(p, a, b, &nd, shape, sa, sb) < 0) return -1;
    if (t == DN_DT_INT && op == B_POW) {
        for (long i = 0; i < b->size; i++)
            if (b->data[i] < 0) return fail(p, "ValueError", "Integers to negative integer powers are not allowed.");
    }
    dn_array *o = new_arr(p, t, nd, shape + DN_ARRAY_MAXDIM - nd);
    if (!o) return -1;
    long k = 0;
    for (long i0 = 0; i0 < shape[0]; i0++)
        for (long i1 = 0; i1 < shape[1]; i1++)
            for (long i2 = 0; i2 < shape[2]; i2++)
                for (long i3 = 0; i3 < shape[3]; i3++, k++) {
                    long ia = i0 * sa[0] + i1 * sa[1] + i2 * sa[2] + i3 * sa[3];
                    long ib = i0 * sb[0] + i1 * sb[1] + i2 * sb[2] + i3 * sb[3];
                    if (strs) {
                        int eq = !strcmp(a->strs[ia] ? a->strs[ia] : "", b->strs[ib] ? b->strs[ib] : "");
                        o->data[k] = (float)(op == B_EQ ? eq : !eq);
                        continue;
                    }
                    double v = apply(op, (double)a->data[ia], (double)b->data[ib]);
                    /* whole numbers have no -0 (1 / -b must not be -inf where b is 0) */
                    o->data[k] = t == DN_DT_BOOL ? (float)(v != 0) : t == DN_DT_INT ? (float)(v + 0.0) : (float)v;
                }
    release(l);
    release(r);
    return set_arr(out, o);
}

/* numpy.matmul for 1-D and 2-D operands, accumulated in double */
static int matmul(P *p, val *l, val *r, val *out)
{
    if (!p->eval) return 0;
    if (need_arr(p, l, " (in @)") < 0 || need_arr(p, r, " (in @)") < 0) return -1;
    const dn_array *a = l->a, *b = r->a;
    if (a->dtype == DN_DT_STR || b->dtype == DN_DT_STR)
        return fail(p, "TypeError", "'@' is not defined for strings");
    for (int k = 0; k < 2; k++) {
        const dn_array *x = k ? b : a;
        if (x->ndim == 0)
            return fail(p, "ValueError", "matmul: Input operand %d does not have enough dimensions "
                        "(has 0, gufunc core with signature (n?,k),(k,m?)->(n?,m?) requires 1)", k);
        if (x->ndim > 2) {
            char sh[64];
            shape_compact(x, sh, sizeof sh);
            return fail(p, "ValueError", "@ takes 1-D and 2-D arrays here; operand %d has shape %s", k, sh);
        }
    }
    long n = a->ndim == 2 ? a->shape[0] : 1, ka = a->ndim == 2 ? a->shape[1] : a->shape[0];
    long kb = b->shape[0], m = b->ndim == 2 ? b->shape[1] : 1;
    if (ka != kb) {
        char s1[64], s2[64];
        shape_compact(a, s1, sizeof s1);
        shape_compact(b, s2, sizeof s2);
        return fail(p, "ValueError", "matmul: Input operand 1 has a mismatch in its core dimension "
                    "0, with gufunc signature (n?,k),(k,m?)->(n?,m?) (size %ld is different from "
                    "%ld) (shapes %s %s)", kb, ka, s1, s2);
    }
    long shape[2];
    int nd = 0;
    if (a->ndim == 2) shape[nd++] = n;
    if (b->ndim == 2) shape[nd++] = m;
    dn_dtype t = promote(a->dtype, b->dtype);
    dn_array *o = new_arr(p, t, nd, shape);
    if (!o) return -1;
    double *acc = calloc(m ? (size_t)m : 1, sizeof *acc);
    if (!acc) { dn_array_free(o); return fail(p, "MemoryError", "out of memory"); }
    for (long i = 0; i < n; i++) {
        memset(acc, 0, (size_t)m * sizeof *acc);
        for (long q = 0; q < ka; q++) {
            double x = (double)a->data[i * ka + q];
            const float *row = b->data + q * m;
            for (long j = 0; j < m; j++) acc[j] += x * (double)row[j];
        }
        for (long j = 0; j < m; j++)
            o->data[i * m + j] = t == DN_DT_BOOL ? (float)(acc[j] != 0) : (float)(acc[j] + 0.0);
    }
    free(acc);
    release(l);
    release(r);
    return set_arr(out, o);
}

static int negate(P *p, val *v, int minus)
{
    if (!p->eval) return 0;
    if (need_arr(p, v, minus ? " (in unary -)" : " (in unary +)") < 0) return -1;
    if (v->a->dtype == DN_DT_STR) return fail(p, "TypeError", "unary %c is not defined for strings", minus ? '-' : '+');
    if (!minus) return 0;
    if (v->a->dtype == DN_DT_BOOL)
        return fail(p, "TypeError", "The numpy boolean negative, the `-` operator, is not supported, "
                    "use the `~` operator or the logical_not function instead.");
    dn_array *o = v->owned ? v->a : plain_copy(p, v->a, v->a->ndim, v->a->shape);
    if (!o) return -1;
    if (!v->owned) { release(v); set_arr(v, o); }
    for (long i = 0; i < o->size; i++)
        o->data[i] = o->dtype == DN_DT_INT ? 0.0f - o->data[i] : -o->data[i];   /* -(0) is 0 */
    v->name = NULL;
    v->type = NULL;
    return 0;
}

/* ---------------------------------------------------------------- lists */

typedef struct vlist { val *v; size_t n, cap; } vlist;

static int vpush(P *p, vlist *l, val *v)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        val *nv = realloc(l->v, cap * sizeof *nv);
        if (!nv) { release(v); return fail(p, "MemoryError", "out of memory"); }
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n++] = *v;
    memset(v, 0, sizeof *v);
    return 0;
}

static void vfree(vlist *l)
{
    for (size_t k = 0; k < l->n; k++) release(&l->v[k]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* [a, b, …] and (a, b, …): the items stacked along a new first axis, as numpy.array. */
static int stack(P *p, vlist *l, val *out)
{
    if (!p->eval) return 0;
    int strs = 0, nums = 0;
    dn_dtype t = DN_DT_BOOL;
    for (size_t k = 0; k < l->n; k++) {
        if (need_arr(p, &l->v[k], " (in a list)") < 0) return -1;
        const dn_array *a = l->v[k].a;
        if (a->dtype == DN_DT_STR) strs = 1; else nums = 1;
        t = promote(t, a->dtype);
    }
    if (strs && nums) return fail(p, "TypeError", "a list mixes strings and numbers");
    if (!l->n) t = DN_DT_FLOAT;
    const dn_array *first = l->n ? l->v[0].a : NULL;
    for (size_t k = 1; k < l->n; k++) {
        const dn_array *a = l->v[k].a;
        int same = a->ndim == first->ndim;
        for (int d = 0; same && d < a->ndim; d++) same = a->shape[d] == first->shape[d];
        if (!same) {
            int agree = 0;
            while (agree < a->ndim && agree < first->ndim && a->shape[agree] == first->shape[agree]) agree++;
            char sh[96];
            int q = snprintf(sh, sizeof sh, "(%zu", l->n);
            for (int d = 0; d < agree && q > 0 && (size_t)q < sizeof sh; d++)
                q += snprintf(sh + q, sizeof sh - (size_t)q, ", %ld", first->shape[d]);
            if (q > 0 && (size_t)q < sizeof sh) snprintf(sh + q, sizeof sh - (size_t)q, agree ? ")" : ",)");
            return fail(p, "ValueError", "setting an array element with a sequence. The requested "
                        "array has an inhomogeneous shape after %d dimensions. The detected shape "
                        "was %s + inhomogeneous part.", agree + 1, sh);
        }
    }
    long shape[DN_ARRAY_MAXDIM + 1];
    shape[0] = (long)l->n;
    int nd = 1 + (first ? first->ndim : 0);
    if (nd > DN_ARRAY_MAXDIM)
        return fail(p, "ValueError", "arrays have at most %d axes here; this list makes %d", DN_ARRAY_MAXDIM, nd);
    for (int d = 1; d < nd; d++) shape[d] = first->shape[d - 1];
    dn_array *o = new_arr(p, t, nd, shape);
    if (!o) return -1;
    long each = first ? first->size : 0;
    for (size_t k = 0; k < l->n; k++) {
        const dn_array *a = l->v[k].a;
        if (t == DN_DT_STR) {
            for (long i = 0; i < each; i++) {
                long at = (long)k * each + i;
                char *c = strdup(a->strs[i] ? a->strs[i] : "");
                if (!c) { dn_array_free(o); return fail(p, "MemoryError", "out of memory"); }
                free(o->strs[at]);
                o->strs[at] = c;
            }
        } else if (each) {
            memcpy(o->data + (long)k * each, a->data, (size_t)each * sizeof *o->data);
        }
    }
    return set_arr(out, o);
}

/* ---------------------------------------------------------------- indexing */

typedef struct sub {
    int kind;            /* 0: a value, 1: a slice */
    val v;               /* kind 0 */
    val part[3];         /* kind 1: start, stop, step (V_ABSENT when left out) */
} sub;

static void sub_free(sub *s)
{
    release(&s->v);
    for (int k = 0; k < 3; k++) release(&s->part[k]);
}

static const char valid_indices[] = "only integers, slices (`:`), ellipsis (`...`), numpy.newaxis "
                                    "(`None`) and integer or boolean arrays are valid indices";

/* Python's slice.indices: the positions a slice takes of an axis of length len. */
static int slice_list(P *p, sub *s, long len, long **out, long *count)
{
    long v[3] = { 0, 0, 1 };
    int given[3] = { 0, 0, 0 };
    for (int k = 0; k < 3; k++) {
        if (s->part[k].kind == V_ABSENT || s->part[k].kind == V_NONE) continue;
        if (s->part[k].kind != V_ARR || s->part[k].a->ndim != 0 || s->part[k].a->dtype == DN_DT_FLOAT
            || s->part[k].a->dtype == DN_DT_STR)
            return fail(p, "TypeError", "slice indices must be integers or None or have an __index__ method");
        v[k] = to_long(s->part[k].a->data[0]);
        given[k] = 1;
    }
    long step = v[2];
    if (step == 0) return fail(p, "ValueError", "slice step cannot be zero");
    long start, stop;
    if (step > 0) {
        start = !given[0] ? 0 : v[0] < 0 ? (v[0] + len < 0 ? 0 : v[0] + len) : (v[0] > len ? len : v[0]);
        stop = !given[1] ? len : v[1] < 0 ? (v[1] + len < 0 ? 0 : v[1] + len) : (v[1] > len ? len : v[1]);
    } else {
        start = !given[0] ? len - 1 : v[0] < 0 ? (v[0] + len < 0 ? -1 : v[0] + len) : (v[0] >= len ? len - 1 : v[0]);
        stop = !given[1] ? -1 : v[1] < 0 ? (v[1] + len < 0 ? -1 : v[1] + len) : (v[1] >= len ? len - 1 : v[1]);
    }
    long n = step > 0 ? (stop > start ? (stop - start + step - 1) / step : 0)
                      : (start > stop ? (start - stop + (-step) - 1) / (-step) : 0);
    long *l = malloc((size_t)(n ? n : 1) * sizeof *l);
    if (!l) return fail(p, "MemoryError", "out of memory");
    for (long i = 0; i < n; i++) l[i] = start + i * step;
    *out = l;
    *count = n;
    return 0;
}

static int index_value(P *p, val *x, sub *subs, int nsub, val *out)
{
    if (!p->eval) return 0;
    if (need_arr(p, x, " (to index it)") < 0) return -1;
    const dn_array *a = x->a;
    /* a boolean array of the array's own shape picks elements: x[x > 0.5] */
    if (nsub == 1 && subs[0].kind == 0 && subs[0].v.kind == V_ARR && subs[0].v.a->dtype == DN_DT_BOOL
        && subs[0].v.a->ndim == a->ndim && a->ndim > 1) {
        const dn_array *m = subs[0].v.a;
        for (int d = 0; d < a->ndim; d++)
            if (m->shape[d] != a->shape[d])
                return fail(p, "IndexError", "boolean index did not match indexed array along "
                            "dimension %d; dimension is %ld but corresponding boolean dimension is %ld",
                            d, a->shape[d], m->shape[d]);
        long n = 0;
        for (long i = 0; i < m->size; i++) n += m->data[i] != 0;
        dn_array *o = new_arr(p, a->dtype, 1, &n);
        if (!o) return -1;
        long k = 0;
        for (long i = 0; i < m->size; i++) {
            if (m->data[i] == 0) continue;
            if (a->dtype == DN_DT_STR) {
                free(o->strs[k]);
                if (!(o->strs[k] = strdup(a->strs[i] ? a->strs[i] : ""))) { dn_array_free(o); return fail(p, "MemoryError", "out of memory"); }
            } else {
                o->data[k] = a->data[i];
            }
            k++;
        }
        release(x);
        return set_arr(out, o);
    }
    if (nsub > a->ndim)
        return fail(p, "IndexError", "too many indices for array: array is %d-dimensional, but %d "
                    "were indexed", a->ndim, nsub);
    long *lists[DN_ARRAY_MAXDIM] = { 0 };
    long counts[DN_ARRAY_MAXDIM];
    int keep[DN_ARRAY_MAXDIM];
    int fancy = 0, rc = 0;
    for (int d = 0; d < a->ndim && rc == 0; d++) {
        long len = a->shape[d];
        keep[d] = 1;
        if (d >= nsub) {
            lists[d] = malloc((size_t)(len ? len : 1) * sizeof **lists);
            if (!lists[d]) { rc = fail(p, "MemoryError", "out of memory"); break; }
            for (long i = 0; i < len; i++) lists[d][i] = i;
            counts[d] = len;
            continue;
        }
        sub *s = &subs[d];
        if (s->kind == 1) { rc = slice_list(p, s, len, &lists[d], &counts[d]); continue; }
        if (s->v.kind != V_ARR) {
            rc = s->v.kind == V_NONE ? fail(p, "IndexError", "None (numpy.newaxis) is not supported "
                                            "as an index here")
                                     : not_array(p, &s->v, " (as an index)");
            break;
        }
        const dn_array *ix = s->v.a;
        if (ix->dtype == DN_DT_STR || (ix->ndim == 0 && ix->dtype != DN_DT_INT)) {
            rc = fail(p, "IndexError", "%s", valid_indices);
            break;
        }
        if (ix->ndim == 0) {
            long i = to_long(ix->data[0]);
            if (i < -len || i >= len) {
                rc = fail(p, "IndexError", "index %ld is out of bounds for axis %d with size %ld", i, d, len);
                break;
            }
            lists[d] = malloc(sizeof **lists);
            if (!lists[d]) { rc = fail(p, "MemoryError", "out of memory"); break; }
            lists[d][0] = i < 0 ? i + len : i;
            counts[d] = 1;
            keep[d] = 0;
            continue;
        }
        if (ix->ndim > 1) {
            rc = fail(p, "IndexError", "an index array must be 1-D here (one axis at a time)");
            break;
        }
        if (fancy++) {
            rc = fail(p, "IndexError", "only one index array per subscript is supported here; "
                      "index one axis at a time: x[rows][:, cols]");
            break;
        }
        long n = 0;
        if (ix->dtype == DN_DT_BOOL) {
            if (ix->size != len) {
                rc = fail(p, "IndexError", "boolean index did not match indexed array along "
                          "dimension %d; dimension is %ld but corresponding boolean dimension is %ld",
                          d, len, ix->size);
                break;
            }
            for (long i = 0; i < ix->size; i++) n += ix->data[i] != 0;
        } else if (ix->dtype == DN_DT_FLOAT && ix->size) {
            rc = fail(p, "IndexError", "arrays used as indices must be of integer (or boolean) type");
            break;
        } else {
            n = ix->size;
        }
        lists[d] = malloc((size_t)(n ? n : 1) * sizeof **lists);
        if (!lists[d]) { rc = fail(p, "MemoryError", "out of memory"); break; }
        counts[d] = n;
        long k = 0;
        for (long i = 0; i < ix->size && rc == 0; i++) {
            if (ix->dtype == DN_DT_BOOL) { if (ix->data[i] != 0) lists[d][k++] = i; continue; }
            long j = to_long(ix->data[i]);
            if (j < -len || j >= len) rc = fail(p, "IndexError", "index %ld is out of bounds for axis %d with size %ld", j, d, len);
            else lists[d][k++] = j < 0 ? j + len : j;
        }
    }
    dn_array *o = NULL;
    if (rc == 0) {
        long shape[DN_ARRAY_MAXDIM];
        int nd = 0;
        for (int d = 0; d < a->ndim; d++)
            if (keep[d]) shape[nd++] = counts[d];
        o = new_arr(p, a->dtype, nd, shape);
        if (!o) rc = -1;
    }
    if (rc == 0 && o->size > 0) {
        long strides[DN_ARRAY_MAXDIM], st = 1, pos[DN_ARRAY_MAXDIM] = { 0 };
        for (int d = a->ndim - 1; d >= 0; d--) { strides[d] = st; st *= a->shape[d]; }
        for (long k = 0; k < o->size; k++) {
            long src = 0;
            for (int d = 0; d < a->ndim; d++) src += lists[d][pos[d]] * strides[d];
            if (a->dtype == DN_DT_STR) {
                free(o->strs[k]);
                if (!(o->strs[k] = strdup(a->strs[src] ? a->strs[src] : ""))) { rc = fail(p, "MemoryError", "out of memory"); break; }
            } else {
                o->data[k] = a->data[src];
            }
            for (int d = a->ndim - 1; d >= 0; d--) {
                if (++pos[d] < counts[d]) break;
                pos[d] = 0;
            }
        }
    }
    for (int d = 0; d < a->ndim; d++) free(lists[d]);
    if (rc) { dn_array_free(o); return -1; }
    release(x);
    return set_arr(out, o);
}

/* ---------------------------------------------------------------- functions */

enum { MAXP = 4, MAXVAR = 8 };

typedef struct fcall {
    val arg[MAXP];       /* by parameter; V_ABSENT when not given */
    val var[MAXVAR];     /* variadic positional arguments */
    int nvar;
} fcall;

typedef struct fn {
    const char *name;
    const char *params[MAXP];   /* NULL-terminated */
    int required;               /* how many params must be given */
    int variadic;               /* more positional arguments go to var[] */
    int (*run)(P *p, const struct fn *f, fcall *c, val *out);
    const char *usage;
} fn;


/* The argument of parameter i as an array (a TypeError naming the function otherwise). */
static const dn_array *arg_arr(P *p, const fn *f, fcall *c, int i)
{
    char what[96];
    snprintf(what, sizeof what, " (argument '%s' of %s())", f->params[i], f->name);
    if (need_arr(p, &c->arg[i], what) < 0) return NULL;
    if (c->arg[i].a->dtype == DN_DT_STR) {
        fail(p, "TypeError", "%s() takes numbers, not strings", f->name);
        return NULL;
    }
    return c->arg[i].a;
}

static int run_random(P *p, const fn *f, fcall *c, val *out)
{
    int nd;
    long shape[DN_ARRAY_MAXDIM];
    if (shape_args(p, c->var, c->nvar, f->name, &nd, shape) < 0) return -1;
    dn_array *o = new_arr(p, DN_DT_FLOAT, nd, shape);
    if (!o) return -1;
    /* one seed per call, from %seed: re-running the notebook repeats the numbers */
    dn_rng r;
    dn_rng_seed(&r, dn_workspace_next_seed(p->ws));
    for (long i = 0; i < o->size; i++) o->data[i] = dn_rng_uniform(&r);
    return set_arr(out, o);
}

static int run_fill(P *p, const fn *f, fcall *c, val *out)
{
    int nd;
    long shape[DN_ARRAY_MAXDIM];
    if (shape_args(p, c->var, c->nvar, f->name, &nd, shape) < 0) return -1;
    dn_array *o = new_arr(p, DN_DT_FLOAT, nd, shape);
    if (!o) return -1;
    if (!strcmp(f->name, "ones"))
        for (long i = 0; i < o->size; i++) o->data[i] = 1.0f;
    return set_arr(out, o);
}

static int run_arange(P *p, const fn *f, fcall *c, val *out)
{
    if (c->nvar < 1 || c->nvar > 3)
        return fail(p, "TypeError", "arange() takes 1 to 3 arguments: arange(stop) or "
                    "arange(start, stop[, step]) (%d given)", c->nvar);
    double v[3] = { 0, 0, 1 };
    int is_int = 1;
    for (int i = 0; i < c->nvar; i++) {
        const val *a = &c->var[i];
        if (a->kind != V_ARR || a->a->ndim != 0 || a->a->dtype == DN_DT_STR)
            return fail(p, "TypeError", "arange() takes numbers");
        if (a->a->dtype == DN_DT_FLOAT) is_int = 0;
        v[c->nvar == 1 ? 1 : i] = (double)a->a->data[0];
    }
    (void)f;
    if (v[2] == 0) return fail(p, "ValueError", "arange(): the step cannot be zero");
    double n = ceil((v[1] - v[0]) / v[2]);
    long len = n > 0 ? to_long(n) : 0;
    dn_array *o = new_arr(p, is_int ? DN_DT_INT : DN_DT_FLOAT, 1, &len);
    if (!o) return -1;
    for (long i = 0; i < len; i++) o->data[i] = (float)(v[0] + (double)i * v[2]);
    return set_arr(out, o);
}

static int run_one_hot(P *p, const fn *f, fcall *c, val *out)
{
    const dn_array *a = arg_arr(p, f, c, 0);
    if (!a) return -1;
    long n = -1;
    if (c->arg[1].kind != V_ABSENT && c->arg[1].kind != V_NONE) {
        if (whole(p, &c->arg[1], "one_hot's number of classes", &n) < 0) return -1;
        if (n < 0) return fail(p, "ValueError", "one_hot: the number of classes cannot be negative");
    }
    long most = -1;
    for (long i = 0; i < a->size; i++) {
        float v = a->data[i];
        if (!(v >= 0) || v != floorf(v))
            return fail(p, "ValueError", "one_hot takes class numbers (0, 1, 2, ...), not %g", (double)v);
        long c = to_long(v);
        if (c > most) most = c;
        if (n >= 0 && c >= n)
            return fail(p, "ValueError", "one_hot: class %ld is out of range for %ld classes", c, n);
    }
    if (n < 0) n = most + 1;
    if (a->ndim + 1 > DN_ARRAY_MAXDIM)
        return fail(p, "ValueError", "one_hot: arrays have at most %d axes here", DN_ARRAY_MAXDIM);
    long shape[DN_ARRAY_MAXDIM];
    for (int d = 0; d < a->ndim; d++) shape[d] = a->shape[d];
    shape[a->ndim] = n;
    dn_array *o = new_arr(p, DN_DT_FLOAT, a->ndim + 1, shape);
    if (!o) return -1;
    for (long i = 0; i < a->size; i++) o->data[i * n + (long)a->data[i]] = 1.0f;
    return set_arr(out, o);
}

static int run_minmax2(P *p, const fn *f, fcall *c, val *out)
{
    return binop(p, !strcmp(f->name, "maximum") ? B_MAX : B_MIN, &c->arg[0], &c->arg[1], out);
}

static int run_clip(P *p, const fn *f, fcall *c, val *out)
{
    if (!arg_arr(p, f, c, 0)) return -1;
    int lo = c->arg[1].kind != V_ABSENT && c->arg[1].kind != V_NONE;
    int hi = c->arg[2].kind != V_ABSENT && c->arg[2].kind != V_NONE;
    if (!lo && !hi) return fail(p, "ValueError", "clip(x, lo, hi): one of lo and hi must be given");
    val cur = c->arg[0], tmp = { 0 };
    memset(&c->arg[0], 0, sizeof c->arg[0]);
    if (lo) {
        if (binop(p, B_MAX, &cur, &c->arg[1], &tmp) < 0) { release(&cur); return -1; }
        cur = tmp;
    }
    if (hi) {
        memset(&tmp, 0, sizeof tmp);
        if (binop(p, B_MIN, &cur, &c->arg[2], &tmp) < 0) { release(&cur); return -1; }
        cur = tmp;
    }
    if (!cur.owned) {   /* never the workspace's own array */
        dn_array *o = plain_copy(p, cur.a, cur.a->ndim, cur.a->shape);
        if (!o) { release(&cur); return -1; }
        release(&cur);
        set_arr(&cur, o);
    }
    *out = cur;
    return 0;
}

/* A new array like a (its dtype t) with every element through one function. */
static int map_values(P *p, const dn_array *a, dn_dtype t, double (*g)(double), int fl, val *out)
{
    dn_array *o = new_arr(p, t, a->ndim, a->shape);
    if (!o) return -1;
    for (long i = 0; i < a->size; i++) {
        if (fl) {   /* float32 functions, as numpy computes float32 arrays */
            float x = a->data[i];
            o->data[i] = g == log ? logf(x) : g == exp ? expf(x) : g == sqrt ? sqrtf(x) : (float)g((double)x);
        } else {
            o->data[i] = (float)g((double)a->data[i]);
        }
    }
    return set_arr(out, o);
}

static int run_math(P *p, const fn *f, fcall *c, val *out)
{
    const dn_array *a = arg_arr(p, f, c, 0);
    if (!a) return -1;
    if (!strcmp(f->name, "abs")) return map_values(p, a, a->dtype, fabs, 0, out);
    double (*g)(double) = !strcmp(f->name, "log") ? log : !strcmp(f->name, "exp") ? exp : sqrt;
    return map_values(p, a, DN_DT_FLOAT, g, a->dtype == DN_DT_FLOAT, out);
}

static int run_round(P *p, const fn *f, fcall *c, val *out)
{
    const dn_array *a = arg_arr(p, f, c, 0);
    if (!a) return -1;
    long d = 0;
    if (c->arg[1].kind != V_ABSENT && whole(p, &c->arg[1], "round's decimals", &d) < 0) return -1;
    dn_array *o = new_arr(p, a->dtype, a->ndim, a->shape);
    if (!o) return -1;
    /* numpy rounds half to even, scaling by 10**decimals in the array's own precision */
    float scale = powf(10.0f, (float)(d < 0 ? -d : d));
    for (long i = 0; i < a->size; i++) {
        float x = a->data[i];
        if (a->dtype == DN_DT_BOOL || (a->dtype == DN_DT_INT && d >= 0)) o->data[i] = x;
        else if (d == 0) o->data[i] = rintf(x);
        else if (d > 0) o->data[i] = rintf(x * scale) / scale;
        else o->data[i] = rintf(x / scale) * scale;
    }
    return set_arr(out, o);
}

enum { R_SUM, R_MEAN, R_MAX, R_MIN, R_ARGMAX, R_ARGMIN };

static int reduce(P *p, const fn *f, const dn_array *a, int kind, const val *axv, int dflt_last, val *out)
{
    int axis = 0, none = 1;
    if (axv->kind == V_ABSENT) {
        none = !(dflt_last && a->ndim > 0);
        axis = a->ndim - 1;
    } else if (a->ndim == 0 && axv->kind == V_ARR && axv->a->ndim == 0 && axv->a->dtype == DN_DT_INT
               && (axv->a->data[0] == 0 || axv->a->data[0] == -1)) {
        none = 1;   /* numpy reduces a scalar over axis 0 or -1 as over all */
    } else if (axis_arg(p, axv, a->ndim, &axis, &none) < 0) {
        return -1;
    }
    if (a->ndim == 0) none = 1;
    long outer = 1, len = a->size, inner = 1;
    long shape[DN_ARRAY_MAXDIM];
    int nd = 0;
    if (!none) {
        outer = 1;
        inner = 1;
        for (int d = 0; d < axis; d++) outer *= a->shape[d];
        for (int d = axis + 1; d < a->ndim; d++) inner *= a->shape[d];
        len = a->shape[axis];
        for (int d = 0; d < a->ndim; d++)
            if (d != axis) shape[nd++] = a->shape[d];
    }
    if (len == 0 && kind != R_SUM && kind != R_MEAN) {
        if (kind == R_ARGMAX || kind == R_ARGMIN)
            return fail(p, "ValueError", "attempt to get %s of an empty sequence", f->name);
        return fail(p, "ValueError", "zero-size array to reduction operation %s which has no "
                    "identity", kind == R_MAX ? "maximum" : "minimum");
    }
    dn_dtype t = kind == R_MEAN ? DN_DT_FLOAT
               : kind == R_ARGMAX || kind == R_ARGMIN ? DN_DT_INT
               : kind == R_SUM ? (a->dtype == DN_DT_FLOAT ? DN_DT_FLOAT : DN_DT_INT)
               : a->dtype;
    dn_array *o = new_arr(p, t, nd, shape);
    if (!o) return -1;
    for (long q = 0; q < outer; q++)
        for (long i = 0; i < inner; i++) {
            double acc = kind == R_SUM || kind == R_MEAN ? 0 : (double)a->data[q * len * inner + i];
            long best = 0;
            for (long j = 0; j < len; j++) {
                double x = (double)a->data[(q * len + j) * inner + i];
                switch (kind) {
                case R_SUM: case R_MEAN: acc += x; break;
                case R_MAX: if (isnan(x) || x > acc) acc = isnan(acc) ? acc : x; break;
                case R_MIN: if (isnan(x) || x < acc) acc = isnan(acc) ? acc : x; break;
                case R_ARGMAX: if (!isnan(acc) && (isnan(x) || x > acc)) { acc = x; best = j; } break;
                case R_ARGMIN: if (!isnan(acc) && (isnan(x) || x < acc)) { acc = x; best = j; } break;
                }
            }
            if (kind == R_MEAN) acc = len ? acc / (double)len : NAN;
            if (kind == R_ARGMAX || kind == R_ARGMIN) acc = (double)best;
            o->data[q * inner + i] = (float)acc;
        }
    return set_arr(out, o);
}

static int run_reduce(P *p, const fn *f, fcall *c, val *out)
{
    const dn_array *a = arg_arr(p, f, c, 0);
    if (!a) return -1;
    static const char *const names[] = { "sum", "mean", "max", "min", "argmax", "argmin" };
    int kind = 0;
    for (int k = 0; k < 6; k++)
        if (!strcmp(f->name, names[k])) kind = k;
    return reduce(p, f, a, kind, &c->arg[1], kind == R_ARGMAX || kind == R_ARGMIN, out);
}

static int run_reshape(P *p, const fn *f, fcall *c, val *out)
{
    if (need_arr(p, &c->arg[0], " (argument 'x' of reshape())") < 0) return -1;
    const dn_array *a = c->arg[0].a;
    int nd = 0;
    long shape[DN_ARRAY_MAXDIM];
    const val *sv = c->var;
    int ns = c->nvar;
    if (ns == 1 && sv[0].kind == V_ARR && sv[0].a->ndim == 1) {
        if (sv[0].a->size > DN_ARRAY_MAXDIM)
            return fail(p, "ValueError", "reshape: arrays have at most %d axes here", DN_ARRAY_MAXDIM);
        if (sv[0].a->dtype == DN_DT_FLOAT || sv[0].a->dtype == DN_DT_STR)
            return fail(p, "TypeError", "reshape: a shape is whole numbers");
        nd = (int)sv[0].a->size;
        for (int i = 0; i < nd; i++) shape[i] = to_long(sv[0].a->data[i]);
    } else {
        if (ns > DN_ARRAY_MAXDIM)
            return fail(p, "ValueError", "reshape: arrays have at most %d axes here", DN_ARRAY_MAXDIM);
        for (int i = 0; i < ns; i++)
            if (whole(p, &sv[i], "reshape's sizes", &shape[i]) < 0) return -1;
        nd = ns;
    }
    (void)f;
    int unknown = -1;
    long known = 1;
    char want[96];
    int q = snprintf(want, sizeof want, "(");
    for (int i = 0; i < nd && q > 0 && (size_t)q < sizeof want; i++)
        q += shape[i] == -1 ? snprintf(want + q, sizeof want - (size_t)q, i ? ",newaxis" : "newaxis")
                            : snprintf(want + q, sizeof want - (size_t)q, i ? ",%ld" : "%ld", shape[i]);
    if (q > 0 && (size_t)q < sizeof want) snprintf(want + q, sizeof want - (size_t)q, nd == 1 ? ",)" : ")");
    for (int i = 0; i < nd; i++) {
        if (shape[i] == -1) {
            if (unknown >= 0) return fail(p, "ValueError", "can only specify one unknown dimension");
            unknown = i;
        } else if (shape[i] < 0) {
            return fail(p, "ValueError", "negative dimensions not allowed");
        } else {
            known *= shape[i];
        }
    }
    if (unknown >= 0) {
        if (known == 0 || a->size % known)
            return fail(p, "ValueError", "cannot reshape array of size %ld into shape %s", a->size, want);
        shape[unknown] = a->size / known;
        known = a->size;
    }
    if (known != a->size)
        return fail(p, "ValueError", "cannot reshape array of size %ld into shape %s", a->size, want);
    /* a reshaped array is a plain array: the rows of predictions are gone */
    dn_array *o = plain_copy(p, a, nd, shape);
    return o ? set_arr(out, o) : -1;
}

static dn_array *transposed(P *p, const dn_array *a)
{
    long shape[DN_ARRAY_MAXDIM];
    for (int d = 0; d < a->ndim; d++) shape[d] = a->shape[a->ndim - 1 - d];
    dn_array *o = new_arr(p, a->dtype, a->ndim, shape);
    if (!o) return NULL;
    long st[DN_ARRAY_MAXDIM], s = 1, pos[DN_ARRAY_MAXDIM] = { 0 };
    for (int d = a->ndim - 1; d >= 0; d--) { st[d] = s; s *= a->shape[d]; }
    for (long k = 0; k < o->size; k++) {
        long src = 0;
        for (int d = 0; d < a->ndim; d++) src += pos[d] * st[a->ndim - 1 - d];
        if (a->dtype == DN_DT_STR) {
            free(o->strs[k]);
            if (!(o->strs[k] = strdup(a->strs[src] ? a->strs[src] : ""))) {
                dn_array_free(o);
                fail(p, "MemoryError", "out of memory");
                return NULL;
            }
        } else {
            o->data[k] = a->data[src];
        }
        for (int d = a->ndim - 1; d >= 0; d--) {
            if (++pos[d] < o->shape[d]) break;
            pos[d] = 0;
        }
    }
    return o;
}

static int run_transpose(P *p, const fn *f, fcall *c, val *out)
{
    (void)f;
    if (need_arr(p, &c->arg[0], " (argument 'x' of transpose())") < 0) return -1;
    dn_array *o = transposed(p, c->arg[0].a);
    return o ? set_arr(out, o) : -1;
}

static int run_len(P *p, const fn *f, fcall *c, val *out)
{
    (void)f;
    if (need_arr(p, &c->arg[0], " (argument of len())") < 0) return -1;
    if (c->arg[0].a->ndim == 0) return fail(p, "TypeError", "len() of unsized object");
    return scalar(p, out, DN_DT_INT, (double)c->arg[0].a->shape[0]);
}

static const fn functions[] = {
    { "random", { NULL }, 0, 1, run_random, "random(d0, d1, ...)" },
    { "zeros", { NULL }, 0, 1, run_fill, "zeros(shape)" },
    { "ones", { NULL }, 0, 1, run_fill, "ones(shape)" },
    { "arange", { NULL }, 0, 1, run_arange, "arange([start,] stop[, step])" },
    { "one_hot", { "classes", "n", NULL }, 1, 0, run_one_hot, "one_hot(classes, [n])" },
    { "clip", { "x", "lo", "hi", NULL }, 1, 0, run_clip, "clip(x, lo, hi)" },
    { "maximum", { "x", "y", NULL }, 2, 0, run_minmax2, "maximum(x, y)" },
    { "minimum", { "x", "y", NULL }, 2, 0, run_minmax2, "minimum(x, y)" },
    { "argmax", { "x", "axis", NULL }, 1, 0, run_reduce, "argmax(x, axis=-1)" },
    { "argmin", { "x", "axis", NULL }, 1, 0, run_reduce, "argmin(x, axis=-1)" },
    { "sum", { "x", "axis", NULL }, 1, 0, run_reduce, "sum(x, axis=None)" },
    { "mean", { "x", "axis", NULL }, 1, 0, run_reduce, "mean(x, axis=None)" },
    { "max", { "x", "axis", NULL }, 1, 0, run_reduce, "max(x, axis=None)" },
    { "min", { "x", "axis", NULL }, 1, 0, run_reduce, "min(x, axis=None)" },
    { "log", { "x", NULL }, 1, 0, run_math, "log(x)" },
    { "exp", { "x", NULL }, 1, 0, run_math, "exp(x)" },
    { "sqrt", { "x", NULL }, 1, 0, run_math, "sqrt(x)" },
    { "abs", { "x", NULL }, 1, 0, run_math, "abs(x)" },
    { "round", { "x", "decimals", NULL }, 1, 0, run_round, "round(x, decimals=0)" },
    { "reshape", { "x", NULL }, 1, 1, run_reshape, "reshape(x, shape)" },
    { "transpose", { "x", NULL }, 1, 0, run_transpose, "transpose(x)" },
    { "len", { "x", NULL }, 1, 0, run_len, "len(x)" },
};
enum { NFUNCTIONS = sizeof functions / sizeof functions[0] };

/* methods: x.sum(axis=0) is sum(x, axis=0) */
static const char *const methods[] = { "sum", "mean", "max", "min", "argmax", "argmin",
                                       "reshape", "transpose", "clip", "round", NULL };

static const fn *find_fn(const char *name, size_t len)
{
    for (int k = 0; k < NFUNCTIONS; k++)
        if (strlen(functions[k].name) == len && !memcmp(functions[k].name, name, len)) return &functions[k];
    return NULL;
}

/* ---------------------------------------------------------------- parsing */

typedef struct kwarg { size_t at, len; val v; } kwarg;

typedef struct arglist {
    vlist pos;
    kwarg kw[MAXP + 2];
    int nkw;
} arglist;

static void args_free(arglist *a)
{
    vfree(&a->pos);
    for (int k = 0; k < a->nkw; k++) release(&a->kw[k].v);
    a->nkw = 0;
}

static int p_expr(P *p, val *out);

/* After '(' was consumed: arguments up to and including ')'. */
static int p_args(P *p, arglist *al)
{
    while (!is_op(p, ')')) {
        if (p->t.kind == T_NAME && peek(p).kind == T_OP && peek(p).op == '=') {
            size_t at = p->t.at, len = p->t.len;
            if (lex(p) < 0 || lex(p) < 0) return -1;
            val v = { 0 };
            if (p_expr(p, &v) < 0) return -1;
            if (al->nkw == MAXP + 2) {
                release(&v);
                return fail(p, "SyntaxError", "too many keyword arguments");
            }
            al->kw[al->nkw++] = (kwarg){ at, len, v };
        } else {
            if (al->nkw) {
                char pos[64];
                where(p, p->t.line, p->t.col, pos, sizeof pos);
                return fail(p, "SyntaxError", "positional argument follows keyword argument (%s)", pos);
            }
            val v = { 0 };
            if (p_expr(p, &v) < 0) return -1;
            if (vpush(p, &al->pos, &v) < 0) return -1;
        }
        if (is_op(p, ',')) { if (lex(p) < 0) return -1; continue; }
        if (!is_op(p, ')')) return unexpected(p, "',' or ')'");
    }
    return close_bracket(p, ')');
}

/* Binds the arguments to f's parameters (self, when not NULL, comes first) and runs it. */
static int call_fn(P *p, const fn *f, val *self, arglist *al, val *out)
{
    if (!p->eval) return 0;
    fcall c;
    memset(&c, 0, sizeof c);
    for (int k = 0; k < MAXP; k++) c.arg[k].kind = V_ABSENT;
    int np = 0;
    while (np < MAXP && f->params[np]) np++;
    int rc = 0;
    size_t total = al->pos.n + (self ? 1 : 0);
    for (size_t i = 0; i < total && rc == 0; i++) {
        val *v = self ? (i == 0 ? self : &al->pos.v[i - 1]) : &al->pos.v[i];
        if ((int)i < np) c.arg[i] = *v;
        else if (f->variadic && c.nvar < MAXVAR) c.var[c.nvar++] = *v;
        else if (f->variadic) rc = fail(p, "TypeError", "%s() takes at most %d sizes", f->name, MAXVAR);
        else rc = fail(p, "TypeError", "%s() takes at most %d argument%s (%zu given); it is %s",
                       f->name, np, np == 1 ? "" : "s", total, f->usage);
        if (rc == 0) memset(v, 0, sizeof *v);
    }
    for (int k = 0; k < al->nkw && rc == 0; k++) {
        int at = -1;
        for (int j = 0; j < np; j++)
            if (strlen(f->params[j]) == al->kw[k].len && !memcmp(f->params[j], p->s + al->kw[k].at, al->kw[k].len)) at = j;
        if (at < 0)
            rc = fail(p, "TypeError", "%s() got an unexpected keyword argument '%.*s'; it is %s",
                      f->name, (int)al->kw[k].len, p->s + al->kw[k].at, f->usage);
        else if (c.arg[at].kind != V_ABSENT)
            rc = fail(p, "TypeError", "%s() got multiple values for argument '%s'", f->name, f->params[at]);
        else {
            c.arg[at] = al->kw[k].v;
            memset(&al->kw[k].v, 0, sizeof al->kw[k].v);
        }
    }
    for (int j = 0; j < f->required && rc == 0; j++)
        if (c.arg[j].kind == V_ABSENT)
            rc = fail(p, "TypeError", "%s() is missing its argument '%s'; it is %s", f->name,
                      f->params[j], f->usage);
    if (rc == 0) {
        val res = { 0 };
        rc = f->run(p, f, &c, &res);
        if (rc == 0) *out = res;
    }
    for (int k = 0; k < MAXP; k++) if (c.arg[k].kind != V_ABSENT) release(&c.arg[k]);
    for (int k = 0; k < c.nvar; k++) release(&c.var[k]);
    return rc;
}

/* A name the parse keeps for messages (freed with the parse). */
static char *keep_name(P *p, const char *s, size_t len)
{
    char *c = strndup(s, len);
    char **nv = c ? realloc(p->names, (p->nnames + 1) * sizeof *nv) : NULL;
    if (!nv) { free(c); fail(p, "MemoryError", "out of memory"); return NULL; }
    p->names = nv;
    p->names[p->nnames++] = c;
    return c;
}

/* "name 'xx' is not defined. Did you mean 'x'?" — the closest workspace name (or function
 * name, for a call) when it is close enough to be a typo. */
static int name_error(P *p, const char *name, int call)
{
    const char *best = NULL;
    int bestd = 1000;
    for (size_t k = 0; k < dn_workspace_count(p->ws); k++) {
        const char *w = dn_workspace_name_at(p->ws, k, NULL, NULL);
        int d = dn_edit_distance(name, w);
        if (d < bestd) { bestd = d; best = w; }
    }
    for (int k = 0; call && k < NFUNCTIONS; k++) {
        int d = dn_edit_distance(name, functions[k].name);
        if (d < bestd) { bestd = d; best = functions[k].name; }
    }
    size_t l = strlen(name), bl = best ? strlen(best) : 0;
    if (best && bestd <= 2 && (size_t)bestd * 2 < (l > bl ? l : bl) + 1)
        return fail(p, "NameError", "name '%s' is not defined. Did you mean '%s'?", name, best);
    if (call)
        return fail(p, "NameError", "name '%s' is not defined (the functions are: random, zeros, "
                    "ones, arange, one_hot, clip, argmax, log, exp, sqrt, abs, mean, sum, max, min, "
                    "reshape, transpose, round, ...)", name);
    return fail(p, "NameError", "name '%s' is not defined (%%who lists the workspace)", name);
}

static int lookup(P *p, size_t at, size_t len, val *out)
{
    if (!p->eval) return 0;
    char *name = keep_name(p, p->s + at, len);
    if (!name) return -1;
    const dn_type *t = NULL;
    void *obj = dn_workspace_get(p->ws, name, &t);
    if (!obj) {
        if (find_fn(name, len))
            return fail(p, "TypeError", "%s is a function: call it, e.g. %s", name, find_fn(name, len)->usage);
        return name_error(p, name, 0);
    }
    memset(out, 0, sizeof *out);
    out->name = name;
    out->type = t;
    if (t == &dn_array_type || t == &dn_preds_type) {
        out->kind = V_ARR;
        out->a = obj;
        out->owned = 0;
    } else {
        out->kind = V_OBJ;
        out->obj = obj;
    }
    return 0;
}

static int number(P *p, val *out)
{
    if (!p->eval) return lex(p);
    char small[64], *buf = small;
    size_t len = p->t.len;
    if (len >= sizeof small && !(buf = malloc(len + 1))) return fail(p, "MemoryError", "out of memory");
    memcpy(buf, p->s + p->t.at, len);
    buf[len] = 0;
    double v = strtod(buf, NULL);
    if (buf != small) free(buf);
    int is_int = p->t.is_int;
    if (scalar(p, out, is_int ? DN_DT_INT : DN_DT_FLOAT, v) < 0) return -1;
    return lex(p);
}

static int string(P *p, val *out)
{
    if (!p->eval) return lex(p);
    const char *s = p->s + p->t.at + 1;
    size_t n = p->t.len - 2;
    char *o = malloc(n + 1);
    if (!o) return fail(p, "MemoryError", "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n) {
            char c = s[++i];
            if (c == 'n') o[k++] = '\n';
            else if (c == 't') o[k++] = '\t';
            else if (c == '\\' || c == '\'' || c == '"') o[k++] = c;
            else { o[k++] = '\\'; o[k++] = c; }   /* unknown escapes stay, as in Python */
        } else {
            o[k++] = s[i];
        }
    }
    o[k] = 0;
    dn_array *a = new_arr(p, DN_DT_STR, 0, NULL);
    if (!a) { free(o); return -1; }
    free(a->strs[0]);
    a->strs[0] = o;
    set_arr(out, a);
    return lex(p);
}

/* After '[' or '(' was consumed: items up to the closing bracket, stacked. A '(' with one
 * item and no comma is just brackets around an expression. */
static int p_items(P *p, int close, val *out)
{
    vlist l = { 0 };
    int comma = 0;
    while (!is_op(p, close)) {
        val v = { 0 };
        if (p_expr(p, &v) < 0 || vpush(p, &l, &v) < 0) { vfree(&l); return -1; }
        if (is_op(p, ',')) { comma = 1; if (lex(p) < 0) { vfree(&l); return -1; } continue; }
        if (!is_op(p, close)) { vfree(&l); return unexpected(p, close == ')' ? "',' or ')'" : "',' or ']'"); }
    }
    if (close_bracket(p, close) < 0) { vfree(&l); return -1; }
    if (close == ')' && l.n == 1 && !comma) {
        *out = l.v[0];
        free(l.v);
        return 0;
    }
    int rc = stack(p, &l, out);
    vfree(&l);
    return rc;
}

static int p_atom(P *p, val *out)
{
    memset(out, 0, sizeof *out);
    if (p->t.kind == T_NUM) return number(p, out);
    if (p->t.kind == T_STR) return string(p, out);
    if (is_op(p, '(') || is_op(p, '[')) {
        int close = p->t.op == '(' ? ')' : ']';
        if (open_bracket(p) < 0) return -1;
        return p_items(p, close, out);
    }
    if (p->t.kind != T_NAME) return unexpected(p, "a value");
    if (is_name(p, "True") || is_name(p, "False")) {
        int b = is_name(p, "True");
        if (p->eval && scalar(p, out, DN_DT_BOOL, b) < 0) return -1;
        return lex(p);
    }
    if (is_name(p, "None")) {
        out->kind = V_NONE;
        return lex(p);
    }
    size_t at = p->t.at, len = p->t.len;
    if (lex(p) < 0) return -1;
    if (!is_op(p, '(')) return lookup(p, at, len, out);
    /* NAME(...) calls a function */
    if (open_bracket(p) < 0) return -1;
    arglist al;
    memset(&al, 0, sizeof al);
    int rc = p_args(p, &al);
    if (rc == 0 && p->eval) {
        const fn *f = find_fn(p->s + at, len);
        if (!f) {
            char *name = keep_name(p, p->s + at, len);
            const dn_type *t = NULL;
            if (!name) rc = -1;
            else if (dn_workspace_get(p->ws, name, &t))
                rc = fail(p, "TypeError", "'%s' is %s %s, not a function", name,
                          article(t && t->name ? t->name : "object"), t && t->name ? t->name : "object");
            else rc = name_error(p, name, 1);
        } else {
            rc = call_fn(p, f, NULL, &al, out);
        }
    }
    args_free(&al);
    return rc;
}

/* x.T, x.shape, x.ndim, x.size, x.dtype, and what the object's type offers */
static int attribute(P *p, val *x, const char *attr, val *out)
{
    if (!p->eval) return 0;
    char e[512];
    const dn_type *t = x->type;
    int has = 0;
    for (size_t k = 0; t && t->attrs && t->attrs[k]; k++) has |= !strcmp(t->attrs[k], attr);
    if (x->kind == V_ARR && !has) {
        const dn_array *a = x->a;
        dn_array *o = NULL;
        if (!strcmp(attr, "T")) {
            o = transposed(p, a);
            if (!o) return -1;
        } else if (!strcmp(attr, "shape")) {
            long n = a->ndim;
            if (!(o = new_arr(p, DN_DT_INT, 1, &n))) return -1;
            for (int d = 0; d < a->ndim; d++) o->data[d] = (float)a->shape[d];
        } else if (!strcmp(attr, "ndim") || !strcmp(attr, "size")) {
            if (!(o = new_arr(p, DN_DT_INT, 0, NULL))) return -1;
            o->data[0] = (float)(attr[0] == 'n' ? a->ndim : a->size);
        } else if (!strcmp(attr, "dtype")) {
            if (!(o = new_arr(p, DN_DT_STR, 0, NULL))) return -1;
            free(o->strs[0]);
            if (!(o->strs[0] = strdup(dtype_name(a->dtype)))) { dn_array_free(o); return fail(p, "MemoryError", "out of memory"); }
        } else {
            return fail(p, "AttributeError", "%s%s%shas no attribute '%s'; arrays have T, shape, "
                        "ndim, size, dtype%s and the methods sum, mean, max, min, argmax, argmin, "
                        "reshape, transpose, clip, round", x->name ? "'" : "", x->name ? x->name : "",
                        x->name ? "' " : "the array ", attr,
                        t == &dn_preds_type ? ", filenames, labels, classes, class_names" : "");
        }
        release(x);
        return set_arr(out, o);
    }
    if (x->kind != V_ARR && x->kind != V_OBJ)
        return fail(p, "AttributeError", "'NoneType' object has no attribute '%s'", attr);
    const char *tn = t && t->name ? t->name : "object";
    if (!has) {
        if (!t || !t->attrs || !t->attrs[0])
            return fail(p, "AttributeError", "'%s' (%s) has no attributes", x->name ? x->name : "?", tn);
        char list[256] = "";
        for (size_t k = 0; t->attrs[k]; k++) {
            size_t l = strlen(list);
            snprintf(list + l, sizeof list - l, "%s%s", k ? ", " : "", t->attrs[k]);
        }
        return fail(p, "AttributeError", "'%s' (%s) has no attribute '%s'; it has: %s",
                    x->name ? x->name : "?", tn, attr, list);
    }
    dn_array *o = t->attr(x->kind == V_ARR ? (const void *)x->a : x->obj, attr, e, sizeof e);
    if (!o) return fail(p, "ValueError", "%s.%s: %s", x->name ? x->name : "?", attr, e);
    release(x);
    return set_arr(out, o);
}

/* After '[' was consumed: index items up to and including ']'. */
static int p_subscript(P *p, val *x, val *out)
{
    sub subs[DN_ARRAY_MAXDIM + 1];
    int n = 0, rc = 0;
    memset(subs, 0, sizeof subs);
    while (rc == 0) {
        sub s;
        memset(&s, 0, sizeof s);
        for (int k = 0; k < 3; k++) s.part[k].kind = V_ABSENT;
        if (!is_op(p, ':')) {
            if (is_op(p, ']') || is_op(p, ',')) { rc = unexpected(p, "an index"); break; }
            rc = p_expr(p, &s.v);
        }
        if (rc == 0 && is_op(p, ':')) {
            s.kind = 1;
            s.part[0] = s.v;
            memset(&s.v, 0, sizeof s.v);
            for (int k = 1; k < 3 && rc == 0 && is_op(p, ':'); k++) {
                if ((rc = lex(p)) < 0) break;
                if (!is_op(p, ':') && !is_op(p, ']') && !is_op(p, ',')) rc = p_expr(p, &s.part[k]);
            }
        }
        if (rc == 0 && n == DN_ARRAY_MAXDIM + 1) {
            sub_free(&s);
            rc = fail(p, "IndexError", "too many indices (arrays have at most %d axes)", DN_ARRAY_MAXDIM);
            break;
        }
        if (rc < 0) { sub_free(&s); break; }
        subs[n++] = s;
        if (is_op(p, ']')) break;
        if (!is_op(p, ',')) { rc = unexpected(p, "',' or ']'"); break; }
        if ((rc = lex(p)) < 0) break;
        if (is_op(p, ']')) break;   /* x[1,] is x[1] */
    }
    if (rc == 0) rc = close_bracket(p, ']');
    if (rc == 0) rc = index_value(p, x, subs, n, out);
    for (int k = 0; k < n; k++) sub_free(&subs[k]);
    return rc;
}

static int p_postfix(P *p, val *out)
{
    if (p_atom(p, out) < 0) return -1;
    for (;;) {
        int rc = 0;
        val res = { 0 };
        if (is_op(p, '.')) {
            if (lex(p) < 0) { release(out); return -1; }
            if (p->t.kind != T_NAME) { release(out); return unexpected(p, "a name after '.'"); }
            size_t at = p->t.at, len = p->t.len;
            if (lex(p) < 0) { release(out); return -1; }
            char attr[64];
            snprintf(attr, sizeof attr, "%.*s", (int)(len < 63 ? len : 63), p->s + at);
            if (is_op(p, '(')) {   /* a method: x.sum(axis=0) */
                if (open_bracket(p) < 0) { release(out); return -1; }
                arglist al;
                memset(&al, 0, sizeof al);
                rc = p_args(p, &al);
                if (rc == 0 && p->eval) {
                    int ok = 0;
                    for (int k = 0; methods[k]; k++) ok |= !strcmp(methods[k], attr);
                    if (!ok || out->kind != V_ARR) {
                        if (out->kind == V_ARR)
                            rc = fail(p, "AttributeError", "arrays have no method '%s'; they have sum, "
                                      "mean, max, min, argmax, argmin, reshape, transpose, clip, round", attr);
                        else
                            rc = not_array(p, out, "");
                    } else {
                        rc = call_fn(p, find_fn(attr, strlen(attr)), out, &al, &res);
                    }
                }
                args_free(&al);
            } else {
                rc = attribute(p, out, attr, &res);
            }
        } else if (is_op(p, '[')) {
            if (open_bracket(p) < 0) { release(out); return -1; }
            rc = p_subscript(p, out, &res);
        } else if (is_op(p, '(')) {
            if (open_bracket(p) < 0) { release(out); return -1; }
            arglist al;
            memset(&al, 0, sizeof al);
            rc = p_args(p, &al);
            args_free(&al);
            if (rc == 0 && p->eval) rc = fail(p, "TypeError", "an array is not callable");
        } else {
            return 0;
        }
        if (rc < 0) { release(out); return -1; }
        if (p->eval) *out = res;
    }
}

static int p_unary(P *p, val *out);

static int p_power(P *p, val *out)
{
    if (p_postfix(p, out) < 0) return -1;
    if (!is_op(p, OP_POW)) return 0;
    val r = { 0 }, res = { 0 };
    if (enter(p) < 0 || lex(p) < 0 || p_unary(p, &r) < 0) { release(out); return -1; }
    leave(p);
    if (binop(p, B_POW, out, &r, &res) < 0) { release(out); release(&r); return -1; }
    if (p->eval) *out = res;
    return 0;
}

static int p_unary(P *p, val *out)
{
    if (!is_op(p, '-') && !is_op(p, '+')) return p_power(p, out);
    int minus = p->t.op == '-';
    if (enter(p) < 0 || lex(p) < 0 || p_unary(p, out) < 0) return -1;
    leave(p);
    if (negate(p, out, minus) < 0) { release(out); return -1; }
    return 0;
}

static int p_product(P *p, val *out)
{
    if (p_unary(p, out) < 0) return -1;
    while (is_op(p, '*') || is_op(p, '/') || is_op(p, '@')) {
        int op = p->t.op;
        val r = { 0 }, res = { 0 };
        if (lex(p) < 0 || p_unary(p, &r) < 0) { release(out); return -1; }
        int rc = op == '@' ? matmul(p, out, &r, &res) : binop(p, op, out, &r, &res);
        if (rc < 0) { release(out); release(&r); return -1; }
        if (p->eval) *out = res;
    }
    return 0;
}

static int p_sum(P *p, val *out)
{
    if (p_product(p, out) < 0) return -1;
    while (is_op(p, '+') || is_op(p, '-')) {
        int op = p->t.op;
        val r = { 0 }, res = { 0 };
        if (lex(p) < 0 || p_product(p, &r) < 0) { release(out); return -1; }
        if (binop(p, op, out, &r, &res) < 0) { release(out); release(&r); return -1; }
        if (p->eval) *out = res;
    }
    return 0;
}

static int cmp_op(const P *p)
{
    if (p->t.kind != T_OP) return 0;
    int op = p->t.op;
    return op == OP_EQ || op == OP_NE || op == '<' || op == OP_LE || op == '>' || op == OP_GE ? op : 0;
}

static int p_expr(P *p, val *out)
{
    if (p_sum(p, out) < 0) return -1;
    int op = cmp_op(p);
    if (!op) return 0;
    val r = { 0 }, res = { 0 };
    if (lex(p) < 0 || p_sum(p, &r) < 0) { release(out); return -1; }
    if (binop(p, op, out, &r, &res) < 0) { release(out); release(&r); return -1; }
    if (p->eval) *out = res;
    if (cmp_op(p)) {
        char pos[64];
        where(p, p->t.line, p->t.col, pos, sizeof pos);
        release(out);
        return fail(p, "SyntaxError", "comparisons do not chain here (a < b < c): compare two "
                    "values at a time (%s)", pos);
    }
    return 0;
}

/* ---------------------------------------------------------------- the interface */

static void p_init(P *p, dn_workspace *ws, const char *text, int column0, int eval, char *err,
                   size_t errlen)
{
    memset(p, 0, sizeof *p);
    p->s = text ? text : "";
    p->n = strlen(p->s);
    p->column0 = column0 > 0 ? column0 : 1;
    p->eval = eval;
    p->ws = ws;
    p->err = err;
    p->errlen = errlen;
    if (errlen) err[0] = 0;
}

static void p_fini(P *p)
{
    for (size_t k = 0; k < p->nnames; k++) free(p->names[k]);
    free(p->names);
}

/* The whole text as one expression. */
static int p_all(P *p, val *out)
{
    if (lex(p) < 0 || p_expr(p, out) < 0) return -1;
    if (p->t.kind != T_END) {
        release(out);
        return unexpected(p, "an operator or the end of the expression");
    }
    return 0;
}

int dn_expr_check(const char *text, int column0, dn_parse_status *status, char *err, size_t errlen)
{
    P p;
    p_init(&p, NULL, text, column0, 0, err, errlen);
    val v = { 0 };
    int rc = p_all(&p, &v);
    release(&v);
    if (status) *status = rc == 0 ? DN_PARSE_OK : p.status ? p.status : DN_PARSE_ERROR;
    p_fini(&p);
    return rc;
}

int dn_expr_eval(dn_workspace *ws, const char *text, int column0, dn_array **out,
                 const char **ename, char *err, size_t errlen)
{
    *out = NULL;
    *ename = "SyntaxError";
    /* syntax first: a text that can never run draws no seed and touches nothing */
    if (dn_expr_check(text, column0, NULL, err, errlen) < 0) return -1;
    P p;
    p_init(&p, ws, text, column0, 1, err, errlen);
    val v = { 0 };
    int rc = p_all(&p, &v);
    if (rc == 0 && v.kind != V_ARR) rc = not_array(&p, &v, "");
    if (rc == 0) {
        /* a bare workspace name gives a copy, predictions' file names and labels included */
        *out = v.owned ? v.a : dn_array_copy(v.a);
        if (!*out) rc = fail(&p, "MemoryError", "out of memory");
        if (v.owned) memset(&v, 0, sizeof v);
    }
    release(&v);
    if (rc < 0) *ename = p.ename ? p.ename : "ValueError";
    p_fini(&p);
    return rc;
}

int dn_expr_starts(const char *s)
{
    unsigned char c = (unsigned char)s[0];
    return is_ident_start(c) || is_digit(c) || (c == '.' && is_digit((unsigned char)s[1]))
        || c == '(' || c == '[' || c == '-' || c == '+' || c == '\'' || c == '"';
}

const char *const dn_expr_functions[] = {
    "random", "zeros", "ones", "arange", "one_hot", "clip", "maximum", "minimum", "argmax",
    "argmin", "sum", "mean", "max", "min", "log", "exp", "sqrt", "abs", "round", "reshape",
    "transpose", "len", NULL,
};

const char *const dn_expr_array_attrs[] = { "T", "shape", "ndim", "size", "dtype", NULL };

int dn_expr_let(const char *raw, int column0, char *name, size_t namelen, const char **expr,
                int *expr_column, dn_parse_status *status, char *err, size_t errlen)
{
    if (status) *status = DN_PARSE_ERROR;
    if (!raw) raw = "";
    size_t k = 0;
    while (raw[k] == ' ' || raw[k] == '\t') k++;
    size_t n0 = k;
    while (is_ident((unsigned char)raw[k])) k++;
    size_t nlen = k - n0;
    if (!nlen) {
        if (!raw[k]) snprintf(err, errlen, "%%let NAME = EXPR: the name and the expression are missing");
        else snprintf(err, errlen, "%%let NAME = EXPR: NAME must be a name (letters, digits, _), "
                      "not '%.20s'", raw + k);
        return -1;
    }
    if (nlen >= namelen) {
        snprintf(err, errlen, "%%let: the name is too long (at most %zu characters)", namelen - 1);
        return -1;
    }
    memcpy(name, raw + n0, nlen);
    name[nlen] = 0;
    if (!dn_workspace_valid_name(name)) {
        snprintf(err, errlen, "%%let NAME = EXPR: '%s' cannot be a name: use letters, digits and "
                 "_, not starting with a digit", name);
        return -1;
    }
    if (!strcmp(name, "True") || !strcmp(name, "False") || !strcmp(name, "None")) {
        snprintf(err, errlen, "%%let: cannot assign to %s", name);
        return -1;
    }
    while (raw[k] == ' ' || raw[k] == '\t') k++;
    if (raw[k] != '=' || raw[k + 1] == '=') {
        snprintf(err, errlen, "%%let NAME = EXPR: '=' must follow the name %s (column %ld)", name,
                 (long)column0 + dn_utf8_count(raw, k));
        return -1;
    }
    k++;
    while (raw[k] == ' ' || raw[k] == '\t') k++;
    *expr = raw + k;
    *expr_column = column0 + (int)dn_utf8_count(raw, k);
    if (!raw[k]) {
        snprintf(err, errlen, "%%let %s = EXPR: the expression after '=' is missing", name);
        return -1;
    }
    return dn_expr_check(*expr, *expr_column, status, err, errlen);
}
