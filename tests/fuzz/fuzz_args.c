/* fuzz_args — the argument parser of the cell language (magics/value.c): `%compile m
 * optimizer=SGD(lr=0.1) metrics=[accuracy]`'s arguments. Input: the argument text.
 * Invariants: an error has a sentence, and "unclosed" only when a bracket is open at the
 * end; arguments that parse, written back by dn_value_format, parse again and are then
 * written the same (format is the parser's inverse; but for inf and nan, which Python's
 * way of writing turns into words); no text exhausts the stack or takes
 * more than linear time (issue 12, defects 1 and 2: regress/args). */
#include "fuzz.h"
#include "value.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The arguments written back as text: `key=value value ...`; malloc'd. */
static char *unparse(const dn_args *a)
{
    size_t cap = 16, n = 0;
    for (size_t i = 0; i < a->n; i++)
        cap += (size_t)dn_value_format(a->values[i], NULL, 0) + 2 +
               (a->keys[i] ? strlen(a->keys[i]) + 1 : 0);
    char *s = malloc(cap);
    if (!s)
        fz_fail("out of memory");
    s[0] = 0;
    for (size_t i = 0; i < a->n; i++) {
        if (i)
            s[n++] = ' ';
        if (a->keys[i]) {
            strcpy(s + n, a->keys[i]);
            n += strlen(a->keys[i]);
            s[n++] = '=';
        }
        n += (size_t)dn_value_format(a->values[i], s + n, cap - n);
    }
    s[n] = 0;
    return s;
}

/* 1 when v holds an infinite or NaN number, which is written inf / nan as Python writes
 * it, and reads back as a word (the parser's nesting limit bounds the recursion) */
static int nonfinite(const dn_value *v)
{
    if (v->kind == DN_VAL_FLOAT && !isfinite(v->number))
        return 1;
    for (size_t i = 0; i < v->n; i++)
        if (nonfinite(v->items[i]))
            return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = strndup((const char *)data, size);
    if (!text)
        return 0;
    char err[1024];
    dn_parse_status st = DN_PARSE_OK;
    err[0] = 0;
    dn_args *a = dn_args_parse(text, 5, &st, err, sizeof err);
    if (!a) {
        fz_check_message(err, sizeof err, "dn_args_parse");
        if (st == DN_PARSE_UNCLOSED && dn_args_open_depth(text, strlen(text)) <= 0)
            fz_fail("'unclosed' with no bracket open at the end: %s", err);
        if (st == DN_PARSE_OK)
            fz_fail("dn_args_parse failed with status OK: %s", err);
        free(text);
        return 0;
    }
    for (size_t i = 0; i < a->n; i++) {
        if (!a->values[i] || a->columns[i] < 5)
            fz_fail("argument %zu: no value or column %d", i, a->columns[i]);
        if (a->keys[i] && !dn_args_key(a, a->keys[i]))
            fz_fail("argument %zu's key '%s' is not found", i, a->keys[i]);
    }
    for (size_t i = 0; i < dn_args_npos(a); i++)
        if (!dn_args_pos(a, i))
            fz_fail("positional argument %zu missing", i);
    for (size_t i = 0; i < a->n; i++)
        if (nonfinite(a->values[i])) {
            dn_args_free(a);
            free(text);
            return 0;
        }
    char *once = unparse(a);
    dn_args *b = dn_args_parse(once, 1, &st, err, sizeof err);
    if (!b)
        fz_fail("written back as \"%s\", the arguments do not parse: %s", once, err);
    if (b->n != a->n)
        fz_fail("written back as \"%s\", %zu arguments became %zu", once, a->n, b->n);
    char *twice = unparse(b);
    if (strcmp(once, twice))
        fz_fail("the arguments are written \"%s\", then \"%s\"", once, twice);
    free(twice);
    free(once);
    dn_args_free(b);
    dn_args_free(a);
    free(text);
    return 0;
}
