/* cell.h — a cell's text cut into statements: commands, shell lines, help requests. */
#ifndef DN_CELL_H
#define DN_CELL_H

#include <stddef.h>

typedef enum dn_stmt_kind {
    DN_STMT_LINE,    /* %name args */
    DN_STMT_CELL,    /* %%name args + body */
    DN_STMT_SHELL,   /* !command */
    DN_STMT_HELP,    /* %name? or %name?? (also ?%name): the command's help */
    DN_STMT_EXPR,    /* a line that is only an expression (x, preds[:5], x @ w + b): args */
} dn_stmt_kind;

typedef struct dn_stmt {
    dn_stmt_kind kind;
    int line;          /* 1-based line where it starts */
    int cell_syntax;   /* the name was written %%name (CELL, or HELP about a cell command) */
    char *name;        /* command name without % (NULL for SHELL and EXPR) */
    char *args;        /* argument text, continuations joined; SHELL: the command line;
                          EXPR: the expression, comments removed */
    int args_column;   /* 1-based column (code points) of args[0] in its line */
    char *body;        /* CELL: everything after the first line ("" when none) */
    int detail;        /* HELP: 1 for ?, 2 for ?? */
} dn_stmt;

typedef struct dn_cell {
    size_t n;
    dn_stmt *stmts;
    int lines;         /* lines in the cell */
    size_t cap;        /* stmts allocated */
} dn_cell;

/* Cuts code into statements. Blank lines and lines starting with # are skipped; in a %
 * line, ' #' outside quotes and brackets starts a comment. A line starting as an
 * expression does (a name, a number, a bracket, a sign, a quote: dn_expr_starts) is an
 * expression (EXPR), where # outside quotes starts a comment. A line ending in
 * \ continues on the next; a % or expression line whose brackets are still open
 * continues too. Returns NULL with a message naming the offending line when a line is
 * not a statement or a %% command is not first. *continues (when not NULL) is set to 1
 * when the code ends in the middle of a statement (a trailing \), for is_complete.
 * Time is linear in the length of the code. */
dn_cell *dn_cell_split(const char *code, int *continues, char *err, size_t errlen);
void dn_cell_free(dn_cell *cell);

/* Length of s[0..len) without its comment and trailing blanks: '#' outside quotes starts
 * a comment after a blank or at the start (% lines: `results/ft#1.h5` is a word), or
 * anywhere when anywhere is set (expressions and layer calls, as in Python). */
size_t dn_strip_comment(const char *s, size_t len, int anywhere);

#endif
