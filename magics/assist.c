/* assist.c — what a front end asks while a person types: complete, inspect, is_complete.
 * Positions given and returned count code points (utf8.h converts). */
#include "array.h"
#include "cell.h"
#include "expr.h"
#include "internal.h"
#include "utf8.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---------- small helpers ---------- */

/* Matches with the kind JupyterLab shows beside each (metadata._jupyter_types_experimental). */
typedef struct match { char *text; const char *type; } match;
typedef struct strs { match *v; size_t n, cap; } strs;

static void strs_add(strs *s, char *owned, const char *type)
{
    if (!owned) return;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        match *nv = realloc(s->v, cap * sizeof *nv);
        if (!nv) { free(owned); return; }
        s->v = nv;
        s->cap = cap;
    }
    s->v[s->n++] = (match){ owned, type };
}

static int cmp_match(const void *a, const void *b)
{
    return strcmp(((const match *)a)->text, ((const match *)b)->text);
}

static int is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/* Line of the cell holding byte pos: its start, and whether only blank or comment lines
 * come before it (so a %%command may stand there). */
static size_t line_start(const char *code, size_t pos, int *first)
{
    size_t ls = pos;
    while (ls > 0 && code[ls - 1] != '\n') ls--;
    *first = 1;
    for (size_t k = 0; k < ls && *first;) {
        size_t e = k;
        while (e < ls && code[e] != '\n') e++;
        size_t t = k;
        while (t < e && is_blank(code[t])) t++;
        if (t < e && code[t] != '#') *first = 0;
        k = e + 1;
    }
    return ls;
}

/* The %%command that owns the cell, if its first statement is one: fills name (without
 * %%) and returns the byte where its line ends, or 0 when there is none. */
static size_t cell_command(const char *code, char *name, size_t len)
{
    size_t k = 0;
    for (;;) {
        while (is_blank(code[k])) k++;
        if (code[k] == '\n') { k++; continue; }
        if (code[k] == '#') { while (code[k] && code[k] != '\n') k++; if (code[k]) k++; continue; }
        break;
    }
    if (strncmp(code + k, "%%", 2)) return 0;
    size_t a = k + 2, b = a;
    while (code[b] && !is_blank(code[b]) && code[b] != '\n' && code[b] != '?') b++;
    snprintf(name, len, "%.*s", (int)(b - a), code + a);
    while (code[b] && code[b] != '\n') b++;
    return code[b] ? b : 0;   /* 0: no body yet */
}

/* ---------- complete ---------- */

typedef enum quoting {
    Q_NONE,    /* inside quotes already: names as they are */
    Q_SHELL,   /* a ! line: backslash before what the shell would split on */
    Q_ARG,     /* a bare % argument: a name with blanks or quotes gets an opening quote */
} quoting;

static const char shell_special[] = " \t'\"\\|&;<>()$`*?[]#";

/* The match as it must be typed in its context (caller frees). */
static char *quote_match(const char *m, quoting q, int is_dir)
{
    if (q == Q_SHELL) {
        char *o = malloc(strlen(m) * 2 + 1), *p = o;
        if (!o) return NULL;
        for (const char *c = m; *c; c++) {
            if (strchr(shell_special, *c) && !(c == m && *c == '~')) *p++ = '\\';
            *p++ = *c;
        }
        *p = 0;
        return o;
    }
    if (q == Q_ARG && strpbrk(m, " \t'\"")) {
        char qc = strchr(m, '\'') ? '"' : '\'';
        char *o = NULL;
        /* a file's name is complete: close the quote; a directory goes on */
        if (asprintf(&o, "%c%s%s", qc, m, is_dir ? "" : (qc == '"' ? "\"" : "'")) < 0) return NULL;
        return o;
    }
    return strdup(m);
}

static void complete_paths(const char *token, quoting q, strs *out)
{
    const char *slash = strrchr(token, '/');
    size_t dlen = slash ? (size_t)(slash - token) + 1 : 0;
    const char *base = token + dlen;
    char *dir;
    if (!dlen) {
        dir = strdup(".");
    } else if (token[0] == '~') {   /* list ~/x, keep ~/ in what is offered */
        const char *home = getenv("HOME");
        dir = NULL;
        if (token[1] == '/' && home && asprintf(&dir, "%s%.*s", home, (int)(dlen - 1), token + 1) < 0)
            dir = NULL;
    } else {
        dir = strndup(token, dlen);
    }
    if (!dir) return;
    DIR *d = opendir(dir);
    if (!d) { free(dir); return; }
    struct dirent *de;
    size_t blen = strlen(base);
    while ((de = readdir(d)) && out->n < 2000) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        if (de->d_name[0] == '.' && base[0] != '.') continue;
        if (strncmp(de->d_name, base, blen)) continue;
        struct stat st;
        int is_dir = de->d_type == DT_DIR
            || ((de->d_type == DT_LNK || de->d_type == DT_UNKNOWN)
                && fstatat(dirfd(d), de->d_name, &st, 0) == 0 && S_ISDIR(st.st_mode));
        char *m = NULL;
        if (asprintf(&m, "%.*s%s%s", (int)dlen, token, de->d_name, is_dir ? "/" : "") >= 0) {
            strs_add(out, quote_match(m, q, is_dir), is_dir ? "directory" : "path");
            free(m);
        }
    }
    closedir(d);
    free(dir);
}

static void complete_names(dn_magics *m, const char *token, strs *out)
{
    size_t tl = strlen(token);
    for (size_t k = 0; k < dn_workspace_count(m->ws); k++) {
        const char *name = dn_workspace_name_at(m->ws, k, NULL, NULL);
        if (!strncmp(name, token, tl)) strs_add(out, strdup(name), "instance");
    }
}

static int is_word(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* In an expression (an expression line, %let's right side): the word before pos is a
 * workspace or function name, or after NAME. an attribute of what NAME is. *start gets
 * where the completed word begins. */
static void complete_expr(dn_magics *m, const char *code, size_t from, size_t pos, size_t *start,
                          strs *out)
{
    size_t s = pos;
    while (s > from && is_word(code[s - 1])) s--;
    *start = s;
    char *token = strndup(code + s, pos - s);
    if (!token) return;
    size_t tl = strlen(token);
    if (s > from && code[s - 1] == '.') {
        size_t o = s - 1;
        while (o > from && is_word(code[o - 1])) o--;
        char *owner = strndup(code + o, s - 1 - o);
        const dn_type *t = NULL;
        if (owner && dn_workspace_get(m->ws, owner, &t)) {
            for (size_t k = 0; t && t->attrs && t->attrs[k]; k++)
                if (!strncmp(t->attrs[k], token, tl)) strs_add(out, strdup(t->attrs[k]), "property");
            for (size_t k = 0; (t == &dn_array_type || t == &dn_preds_type) && dn_expr_array_attrs[k]; k++)
                if (!strncmp(dn_expr_array_attrs[k], token, tl)) strs_add(out, strdup(dn_expr_array_attrs[k]), "property");
        }
        free(owner);
        free(token);
        return;
    }
    complete_names(m, token, out);
    for (size_t k = 0; dn_expr_functions[k]; k++)
        if (!strncmp(dn_expr_functions[k], token, tl)) strs_add(out, strdup(dn_expr_functions[k]), "function");
    free(token);
}

/* Where the cursor is among a command's arguments (text from `from` to the completed
 * word at start): the positional index, or the key whose value it is in. */
typedef struct arg_place {
    int index;          /* positional arguments before it */
    char key[64];       /* "KEY=" when completing a value, else "" */
} arg_place;

static void find_place(const char *code, size_t from, size_t start, arg_place *pl)
{
    int depth = 0, index = 0;
    char quote = 0;
    size_t word = from, eq = 0;   /* current depth-0 word, and its first '=' (+1) */
    int in_word = 0;
    memset(pl, 0, sizeof *pl);
    for (size_t k = from; k < start; k++) {
        char c = code[k];
        if (quote) { if (c == quote) quote = 0; continue; }
        if (depth == 0 && is_blank(c)) {
            if (in_word && !eq) index++;
            in_word = 0;
            eq = 0;
            continue;
        }
        if (!in_word) { in_word = 1; word = k; }
        if (c == '\'' || c == '"') quote = c;
        else if (c == '(' || c == '[') depth++;
        else if ((c == ')' || c == ']') && depth > 0) depth--;
        else if (c == '=' && depth == 0 && !eq) eq = k + 1;
    }
    pl->index = index;
    if (in_word && eq && eq - word < sizeof pl->key)
        snprintf(pl->key, sizeof pl->key, "%.*s", (int)(eq - word), code + word);
}

static int listed(const char *const *list, const char *s)
{
    for (size_t k = 0; list && list[k]; k++)
        if (!strcmp(list[k], s)) return 1;
    return 0;
}

static void complete_args(dn_magics *m, const dn_command *cmd, const char *token, quoting q,
                          const arg_place *pl, strs *out)
{
    if (!cmd) return;
    unsigned what = cmd->complete;
    if (cmd->args && pl) {
        /* only what this argument takes (command.h) */
        if (pl->key[0]) {
            what = (listed(cmd->path_keys, pl->key) ? DN_COMPLETE_PATHS : 0)
                 | (listed(cmd->name_keys, pl->key) ? DN_COMPLETE_NAMES : 0);
        } else {
            size_t n = strlen(cmd->args);
            char kind = n ? cmd->args[(size_t)pl->index < n ? (size_t)pl->index : n - 1] : '-';
            what &= DN_COMPLETE_KEYWORDS;
            what |= kind == 'n' ? DN_COMPLETE_NAMES : kind == 'p' ? DN_COMPLETE_PATHS : 0;
        }
    }
    if (what & DN_COMPLETE_KEYWORDS)
        for (size_t k = 0; cmd->keywords && cmd->keywords[k]; k++)
            if (!strncmp(cmd->keywords[k], token, strlen(token))) strs_add(out, strdup(cmd->keywords[k]), "keyword");
    if (what & DN_COMPLETE_NAMES) complete_names(m, token, out);
    if (what & DN_COMPLETE_PATHS) complete_paths(token, q, out);
}

/* Start of the word that ends at pos, words being split at any of stops; with
 * escapes, a stop after a backslash is part of the word (shell). */
static size_t word_start(const char *code, size_t from, size_t pos, const char *stops, int escapes)
{
    size_t k = pos;
    while (k > from) {
        if (strchr(stops, code[k - 1])) {
            size_t b = 0;
            while (escapes && k - 1 - b > from && code[k - 2 - b] == '\\') b++;
            if (b % 2 == 0) break;
            k -= b;   /* skip the escaped character and its backslashes */
            if (k > from) k--;
            continue;
        }
        k--;
    }
    return k;
}

/* A shell word without its backslashes (caller frees). */
static char *unescape(const char *s, size_t len)
{
    char *o = malloc(len + 1), *p = o;
    if (!o) return NULL;
    for (size_t k = 0; k < len; k++) {
        if (s[k] == '\\' && k + 1 < len) k++;
        *p++ = s[k];
    }
    *p = 0;
    return o;
}

/* How a % argument starting at start is quoted: already inside quotes, or bare. */
static quoting arg_quoting(const char *code, size_t start, size_t from)
{
    return start > from && (code[start - 1] == '\'' || code[start - 1] == '"') ? Q_NONE : Q_ARG;
}

json_t *dn_magics_complete(dn_interp *self, const char *code, int cursor_pos)
{
    dn_magics *m = (dn_magics *)self;
    if (!code) code = "";
    size_t pos = dn_utf8_offset(code, cursor_pos < 0 ? 0 : cursor_pos);
    int first;
    size_t ls = line_start(code, pos, &first);
    size_t t = ls;
    while (t < pos && is_blank(code[t])) t++;
    strs out = { 0 };
    size_t start = pos;
    char cname[128];
    size_t body_from = cell_command(code, cname, sizeof cname);

    if (body_from && ls > body_from) {
        /* in the body of a %%command: what that command completes */
        /* bodies so far are scripts (%%sh): shell words */
        start = word_start(code, ls, pos, " \t|;&<>()'\"=`", 1);
        char *token = unescape(code + start, pos - start);
        if (token) complete_args(m, dn_commands_find(cname, DN_CELL), token, Q_SHELL, NULL, &out);
        free(token);
    } else if (t < pos && code[t] == '!') {
        start = word_start(code, t + 1, pos, " \t|;&<>()'\"=`", 1);
        char *token = unescape(code + start, pos - start);
        if (token) complete_paths(token, Q_SHELL, &out);
        free(token);
    } else if (t < pos && dn_expr_starts(code + t)) {
        /* a line that is an expression: names, functions, attributes */
        complete_expr(m, code, t, pos, &start, &out);
    } else if (t < pos && code[t] == '%') {
        int cell = code[t + 1] == '%';
        size_t ns = t + (cell ? 2 : 1), ne = ns;
        while (ne < pos && !is_blank(code[ne])) ne++;
        const char *eq = ne < pos && !cell && ne - ns == 3 && !strncmp(code + ns, "let", 3)
                       ? memchr(code + ne, '=', pos - ne) : NULL;
        if (eq) {
            /* %let NAME = EXPR: past the =, the expression's names */
            complete_expr(m, code, (size_t)(eq - code) + 1, pos, &start, &out);
        } else if (ne == pos) {   /* the cursor is on the command's name */
            start = t;
            size_t pl = pos - ns;
            for (size_t k = 0; k < dn_commands_count(); k++) {
                const dn_command *c = dn_commands_at(k);
                if (strncmp(c->name, code + ns, pl)) continue;
                if (c->kind == DN_CELL && !first) continue;
                if (cell && c->kind != DN_CELL) continue;
                char *s = NULL;
                if (asprintf(&s, "%s%s", c->kind == DN_CELL ? "%%" : "%", c->name) >= 0) strs_add(&out, s, "magic");
            }
        } else {
            char *name = strndup(code + ns, ne - ns);
            start = word_start(code, ne, pos, " \t'\"=(,[", 0);
            char *token = strndup(code + start, pos - start);
            arg_place pl;
            find_place(code, ne, start, &pl);
            if (name && token)
                complete_args(m, dn_commands_find(name, cell ? DN_CELL : DN_LINE), token,
                              arg_quoting(code, start, ne), &pl, &out);
            free(name);
            free(token);
        }
    }
    if (out.n) qsort(out.v, out.n, sizeof *out.v, cmp_match);
    json_int_t cs = (json_int_t)dn_utf8_count(code, start), ce = (json_int_t)dn_utf8_count(code, pos);
    json_t *matches = json_array(), *types = json_array();
    for (size_t k = 0; k < out.n; k++) {
        json_t *s = json_string(out.v[k].text);   /* NULL for a file name that is not UTF-8 */
        if (s) {
            json_array_append(matches, s);
            json_array_append_new(types, json_pack("{s:I, s:I, s:o, s:s}", "start", cs, "end", ce,
                                                   "text", s, "type", out.v[k].type));
        }
        free(out.v[k].text);
    }
    free(out.v);
    return json_pack("{s:o, s:I, s:I, s:{s:o}}", "matches", matches, "cursor_start", cs,
                     "cursor_end", ce, "metadata", "_jupyter_types_experimental", types);
}

/* ---------- inspect ---------- */

json_t *dn_magics_inspect(dn_interp *self, const char *code, int cursor_pos, int detail)
{
    (void)self;
    if (!code) code = "";
    size_t pos = dn_utf8_offset(code, cursor_pos < 0 ? 0 : cursor_pos);
    int first;
    size_t ls = line_start(code, pos, &first);
    char cname[128];
    size_t body_from = cell_command(code, cname, sizeof cname);
    const dn_command *cmd = NULL;
    char *help = NULL;
    size_t t = ls;
    while (is_blank(code[t])) t++;
    while (code[t] == '?') t++;
    if (body_from && ls > body_from) {
        cmd = dn_commands_find(cname, DN_CELL);
    } else if (code[t] == '!') {
        help = strdup(dn_shell_help);
    } else if (code[t] == '%') {
        int cell = code[t + 1] == '%';
        size_t ns = t + (cell ? 2 : 1), ne = ns;
        while (code[ne] && !is_blank(code[ne]) && code[ne] != '\n' && code[ne] != '?') ne++;
        char *name = strndup(code + ns, ne - ns);
        if (name) cmd = dn_commands_find(name, cell ? DN_CELL : DN_LINE);
        free(name);
    }
    if (cmd) help = dn_command_help(cmd, detail > 0 ? 2 : 1);
    json_t *r = help
        ? json_pack("{s:b, s:{s:s}, s:{}}", "found", 1, "data", "text/plain", help, "metadata")
        : json_pack("{s:b, s:{}, s:{}}", "found", 0, "data", "metadata");
    free(help);
    return r;
}

/* ---------- is_complete ---------- */

static json_t *status(const char *s)
{
    return !strcmp(s, "incomplete") ? json_pack("{s:s, s:s}", "status", s, "indent", "")
                                    : json_pack("{s:s}", "status", s);
}

json_t *dn_magics_is_complete(dn_interp *self, const char *code)
{
    (void)self;
    if (!code) code = "";
    char err[512];
    int continues;
    dn_cell *cell = dn_cell_split(code, &continues, err, sizeof err);
    if (!cell) return status("invalid");
    const char *verdict = continues ? "incomplete" : "complete";
    /* judged on syntax alone, as IPython does: an unknown command with well-formed
     * arguments is complete (running it says what is wrong) */
    for (size_t k = 0; k < cell->n && strcmp(verdict, "invalid"); k++) {
        const dn_stmt *st = &cell->stmts[k];
        if (st->kind == DN_STMT_SHELL || st->kind == DN_STMT_HELP) continue;
        dn_parse_status ps;
        if (st->kind == DN_STMT_EXPR) {
            dn_expr_check(st->args, st->args_column, &ps, err, sizeof err);
            if (ps == DN_PARSE_UNCLOSED) verdict = "incomplete";
            else if (ps == DN_PARSE_ERROR) verdict = "invalid";
            continue;
        }
        const dn_command *cmd = dn_commands_find(st->name, st->cell_syntax ? DN_CELL : DN_LINE);
        /* a cell command needs a body: its first line alone asks for more */
        if (st->kind == DN_STMT_CELL && !st->body[strspn(st->body, " \t\r\n")]) verdict = "incomplete";
        if (cmd && cmd->raw_args && !strcmp(cmd->name, "let")) {
            char name[256];
            const char *expr;
            int col;
            if (dn_expr_let(st->args, st->args_column, name, sizeof name, &expr, &col, &ps, err,
                            sizeof err) < 0)
                verdict = ps == DN_PARSE_UNCLOSED ? "incomplete" : "invalid";
            continue;
        }
        if (cmd && cmd->raw_args) {
            if (dn_args_open_depth(st->args, strlen(st->args)) > 0) verdict = "incomplete";
            continue;
        }
        dn_args *a = dn_args_parse(st->args, st->args_column, &ps, err, sizeof err);
        dn_args_free(a);
        if (ps == DN_PARSE_UNCLOSED) verdict = "incomplete";
        else if (ps == DN_PARSE_ERROR) verdict = "invalid";
    }
    dn_cell_free(cell);
    return status(verdict);
}
