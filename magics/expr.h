/* expr.h — the array expressions of %let NAME = EXPR and of lines that are only an
 * expression (`x`, `preds[:5]`): NumPy's meaning, a small grammar.
 *
 *   expr    := sum (('==' | '!=' | '<' | '<=' | '>' | '>=') sum)?
 *   sum     := product (('+' | '-') product)*
 *   product := unary (('*' | '/' | '@') unary)*
 *   unary   := '-' unary | postfix
 *   postfix := atom ('.' NAME | '[' index, … ']' | '(' args ')')*
 *   atom    := NUMBER | True | False | '[' expr, … ']' | '(' expr ')' | NAME | STRING
 *   index   := expr | start? ':' stop? (':' step?)?   (negative indices count from the end)
 *
 * Values are arrays (array.h); broadcasting, type promotion (bool < int < float; '/'
 * always float) and @ (matrix product, 1-D and 2-D) follow NumPy. NAME is a workspace
 * array or predictions; NAME.attr asks the object's type (dn_type.attr), so batches
 * and predictions give .labels, .classes, .filenames, .class_names. Arrays have .T and
 * .shape.
 *
 * Functions: random(d0, d1, …) or random((d0, d1)) uniform in [0, 1) drawn from %seed
 * (each call takes dn_workspace_next_seed), zeros(shape), ones(shape), arange(n),
 * one_hot(classes, [n]), clip(x, lo, hi), argmax(x, [axis=-1]), log, exp, sqrt, abs,
 * mean / sum / max / min (x, [axis=None]), reshape(x, shape), transpose(x), round(x).
 *
 * Nesting is limited (DN_EXPR_MAX_DEPTH brackets and operators deep), so no text can
 * exhaust the stack; the time taken is linear in the text's length plus the arithmetic. */
#ifndef DN_EXPR_H
#define DN_EXPR_H

#include "array.h"
#include "value.h"

#include <stddef.h>

#define DN_EXPR_MAX_DEPTH 100

/* Evaluates text over the workspace. *out is a new array the caller frees. On failure
 * returns -1 with *ename set to Python's exception name ("SyntaxError", "NameError",
 * "ValueError" (shapes that do not broadcast, naming both), "TypeError", "IndexError",
 * "MemoryError") and err filled; column0 is the column of text[0] in its line, for
 * messages. Nothing in the workspace changes. */
int dn_expr_eval(dn_workspace *ws, const char *text, int column0, dn_array **out,
                 const char **ename, char *err, size_t errlen);

/* Syntax only (a cell is checked before anything in it runs): 0, or -1 with err and
 * *status (DN_PARSE_UNCLOSED when more text could complete it, for is_complete). */
int dn_expr_check(const char *text, int column0, dn_parse_status *status, char *err,
                  size_t errlen);

/* `NAME = EXPR` as %let takes it (spaces around = optional): copies NAME into name and
 * points *expr at EXPR's text (*expr_column: its column), after checking NAME (an
 * identifier, not True/False/None) and EXPR's syntax. 0, or -1 with err and *status as
 * dn_expr_check gives them (a SyntaxError). */
int dn_expr_let(const char *raw, int column0, char *name, size_t namelen, const char **expr,
                int *expr_column, dn_parse_status *status, char *err, size_t errlen);

/* Does a line starting with s (its indentation skipped) hold an expression? A letter or _
 * (a name), a digit or '.' (a number), a bracket, a sign or a quote: nothing else in a
 * cell starts that way (%, !, ? and # lines are the others). */
int dn_expr_starts(const char *s);

/* The names of the functions above, NULL-terminated (for completion). */
extern const char *const dn_expr_functions[];
/* What NAME.attr offers for arrays (T, shape, ...), NULL-terminated (for completion). */
extern const char *const dn_expr_array_attrs[];

#endif
