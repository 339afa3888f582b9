/* value.h — command arguments as a small value tree.
 *
 * `%compile m optimizer=SGD(lr=0.1) loss=mse metrics=[accuracy]` parses to three
 * arguments: positional NAME m, keyword optimizer = CALL SGD(lr=0.1), keyword loss =
 * NAME mse, keyword metrics = LIST [NAME accuracy]. Commands decide what a NAME means
 * (a workspace object, a keyword such as mse, or a file name).
 *
 * Grammar: arguments are separated by whitespace; an argument is `key=value` (key an
 * identifier, spaces around `=` allowed) or a value. A value is a number (`2`, `-1`,
 * `0.001`, `1e-3`), a quoted string ('a b' or "a b", with \\ \' \" \n \t escapes),
 * True/False/None, a tuple `(a, b)` (`(a,)` has one item, `(a)` is just a), a list
 * `[a, b]`, a call `Name(item, key=value)`, an identifier (NAME), or any other bare word
 * (an unquoted STRING such as `results/ft{epoch}.h5` or `-p`). Inside brackets, items
 * are separated by commas and whitespace (newlines included) does not matter.
 */
#ifndef DN_VALUE_H
#define DN_VALUE_H

#include <stddef.h>

typedef enum dn_value_kind {
    DN_VAL_NONE, DN_VAL_BOOL, DN_VAL_INT, DN_VAL_FLOAT, DN_VAL_STRING, DN_VAL_NAME,
    DN_VAL_TUPLE, DN_VAL_LIST, DN_VAL_CALL,
} dn_value_kind;

typedef struct dn_value dn_value;
struct dn_value {
    dn_value_kind kind;
    int column;         /* 1-based column (code points) in the cell's line where it starts */
    int quoted;         /* STRING: written between quotes */
    int boolean;        /* BOOL */
    long long integer;  /* INT */
    double number;      /* INT and FLOAT */
    char *text;         /* STRING and NAME: the text; CALL: the callee; numbers: as written */
    size_t n;           /* TUPLE, LIST, CALL: item count */
    dn_value **items;
    char **keys;        /* CALL: keys[i] is item i's keyword, or NULL when positional;
                         * keys itself is NULL when no item has a keyword */
};

typedef struct dn_args {
    size_t n;
    dn_value **values;
    char **keys;        /* keys[i]: keyword of argument i, or NULL when positional */
    int *columns;       /* columns[i]: where argument i starts */
} dn_args;

/* What went wrong, so is_complete can tell "needs more lines" from "can never parse". */
typedef enum dn_parse_status {
    DN_PARSE_OK = 0,
    DN_PARSE_UNCLOSED,   /* a bracket is still open at the end: more text could fix it */
    DN_PARSE_ERROR,      /* anything else */
} dn_parse_status;

/* Parses argument text. column0 is the column of text[0] in its line, used in messages
 * ("unclosed '(' in argument 2 (column 14)"). Returns NULL on error with err filled and
 * *status (when not NULL) saying which kind of error it was. */
dn_args *dn_args_parse(const char *text, int column0, dn_parse_status *status,
                       char *err, size_t errlen);
void dn_args_free(dn_args *args);

/* Positional arguments, counted without the keyword ones. */
size_t dn_args_npos(const dn_args *args);
const dn_value *dn_args_pos(const dn_args *args, size_t i);
/* The value of key=..., or NULL. */
const dn_value *dn_args_key(const dn_args *args, const char *key);
/* Checks the shape of a call to command cmd: positional count within [min_pos, max_pos]
 * (max_pos < 0: no limit) and every keyword in keys (a NULL-terminated list; NULL: none
 * allowed). 0 when fine, -1 with a message naming the command otherwise. */
int dn_args_check(const dn_args *args, const char *cmd, size_t min_pos, long max_pos,
                  const char *const *keys, char *err, size_t errlen);

/* Text of a STRING or NAME (what a command expecting a word or a path reads), else NULL. */
const char *dn_value_text(const dn_value *v);
/* 0 with the number in *out for INT and FLOAT, -1 otherwise. */
int dn_value_number(const dn_value *v, double *out);
/* "a number", "a string", "a name", … for messages. */
const char *dn_value_kind_name(dn_value_kind kind);
/* Python-like rendering of a value (strings quoted, names bare), for messages and tests.
 * Returns the length it needed (like snprintf). */
int dn_value_format(const dn_value *v, char *buf, size_t len);

/* Bracket depth at the end of text, ignoring brackets inside quoted strings: > 0 means a
 * bracket is still open (the command continues on the next line). */
int dn_args_open_depth(const char *text, size_t len);

#endif
