/* test_value.c — the argument parser: every value form, keys, columns, every error. */
#include "check.h"
#include "value.h"
#include "utf8.h"

/* Renders all arguments as "key=value value …" for comparison. */
static char *render(const dn_args *a)
{
    static char out[1024];
    size_t off = 0;
    out[0] = 0;
    for (size_t k = 0; k < a->n && off < sizeof out; k++) {
        char v[512];
        dn_value_format(a->values[k], v, sizeof v);
        off += (size_t)snprintf(out + off, sizeof out - off, "%s%s%s%s", k ? " " : "",
                                a->keys[k] ? a->keys[k] : "", a->keys[k] ? "=" : "", v);
    }
    return out;
}

static void parses(const char *text, const char *want)
{
    char err[256];
    dn_parse_status st;
    dn_args *a = dn_args_parse(text, 1, &st, err, sizeof err);
    if (!a) { CHECK(0, "parse %s -> error %s", text, err); return; }
    CHECK(!strcmp(render(a), want) && st == DN_PARSE_OK, "parse %s -> %s", text, render(a));
    if (strcmp(render(a), want)) printf("      wanted %s\n", want);
    dn_args_free(a);
}

static void fails(const char *text, int column0, dn_parse_status want_st, const char *want)
{
    char err[256];
    dn_parse_status st = DN_PARSE_OK;
    dn_args *a = dn_args_parse(text, column0, &st, err, sizeof err);
    CHECK(!a && st == want_st && !strcmp(err, want), "parse %s -> error \"%s\"", text, a ? "(none)" : err);
    if (a || strcmp(err, want)) printf("      wanted \"%s\"\n", want);
    dn_args_free(a);
}

static void kinds(void)
{
    char err[256];
    dn_args *a = dn_args_parse("m 2 -1.5e3 'q s' \"d\" True False None (1, 2) [x] Adam(lr=0.001) "
                               "data/train -p epochs=3", 1, NULL, err, sizeof err);
    CHECK(a && a->n == 14, "14 arguments");
    if (!a) return;
    dn_value_kind want[] = { DN_VAL_NAME, DN_VAL_INT, DN_VAL_FLOAT, DN_VAL_STRING, DN_VAL_STRING,
                             DN_VAL_BOOL, DN_VAL_BOOL, DN_VAL_NONE, DN_VAL_TUPLE, DN_VAL_LIST,
                             DN_VAL_CALL, DN_VAL_STRING, DN_VAL_STRING, DN_VAL_INT };
    int same = 1;
    for (size_t k = 0; k < 14; k++) same &= a->values[k]->kind == want[k];
    CHECK(same, "value kinds in order");
    CHECK(a->values[1]->integer == 2 && a->values[2]->number == -1500.0, "numbers read as numbers");
    CHECK(a->values[3]->quoted && !a->values[11]->quoted, "quoted vs bare strings");
    CHECK(a->values[5]->boolean == 1 && a->values[6]->boolean == 0, "True / False");
    const dn_value *adam = a->values[10];
    CHECK(!strcmp(adam->text, "Adam") && adam->n == 1 && !strcmp(adam->keys[0], "lr")
          && adam->items[0]->number == 0.001, "call Adam(lr=0.001) has key lr = 0.001");
    CHECK(dn_args_npos(a) == 13 && dn_args_key(a, "epochs") && dn_args_key(a, "epochs")->integer == 3,
          "13 positional, epochs=3");
    CHECK(dn_args_pos(a, 11) && !strcmp(dn_value_text(dn_args_pos(a, 11)), "data/train"),
          "positional 11 is the path");
    CHECK(a->columns[1] == 3 && a->values[3]->column == 12, "columns of arguments (3, 12)");
    double d;
    CHECK(dn_value_number(a->values[1], &d) == 0 && d == 2 && dn_value_number(a->values[0], &d) < 0,
          "dn_value_number on a number and a name");
    dn_args_free(a);

    /* columns count code points, not bytes */
    a = dn_args_parse("'é' x", 10, NULL, err, sizeof err);
    CHECK(a && a->values[1]->column == 14, "column after a non-ASCII string: %d", a ? a->values[1]->column : -1);
    dn_args_free(a);
}

static void checks(void)
{
    char err[256];
    dn_args *a = dn_args_parse("a b c=1", 1, NULL, err, sizeof err);
    static const char *const keys[] = { "c", "d", NULL };
    CHECK(dn_args_check(a, "%x", 1, 2, keys, err, sizeof err) == 0, "shape check passes");
    CHECK(dn_args_check(a, "%x", 3, -1, keys, err, sizeof err) < 0
          && !strcmp(err, "%x needs 3 arguments, got 2 (see %x?)"), "too few: %s", err);
    CHECK(dn_args_check(a, "%x", 0, 1, keys, err, sizeof err) < 0
          && !strcmp(err, "%x takes at most 1 argument; b (column 3) is one too many (quote a path that has spaces)"),
          "too many: %s", err);
    static const char *const other[] = { "d", NULL };
    CHECK(dn_args_check(a, "%x", 0, -1, other, err, sizeof err) < 0
          && !strcmp(err, "%x has no option 'c' (column 5); it takes: d="), "unknown key: %s", err);
    CHECK(dn_args_check(a, "%x", 0, -1, NULL, err, sizeof err) < 0
          && !strcmp(err, "%x takes no key=value options, got 'c=' (column 5)"), "no keys allowed: %s", err);
    dn_args_free(a);
}

static void utf8(void)
{
    const char *s = "aé€😀b";
    CHECK(dn_utf8_offset(s, 0) == 0 && dn_utf8_offset(s, 2) == 3 && dn_utf8_offset(s, 4) == 10
          && dn_utf8_offset(s, 99) == strlen(s), "code point -> byte offsets");
    CHECK(dn_utf8_count(s, strlen(s)) == 5 && dn_utf8_count(s, 6) == 3, "byte -> code point counts");
    CHECK(dn_utf8_complete_prefix("ab\xe2\x82", 4) == 2 && dn_utf8_complete_prefix("ab\xe2\x82\xac", 5) == 5
          && dn_utf8_complete_prefix("a\xf0\x9f", 3) == 1, "a character split across reads is held back");
}

int main(void)
{
    printf("# values\n");
    parses("", "");
    parses("  m  ", "m");
    parses("42 -7 +3", "42 -7 3");
    parses("0.001 1e-3 .5 -2.5E+2", "0.001 0.001 0.5 -250.0");
    parses("'a b' \"c d\"", "'a b' 'c d'");
    parses("'it\\'s' \"q\\\"q\" 'x\\ny' 'back\\\\slash' 'keep\\d'", "'it\\'s' 'q\"q' 'x\\ny' 'back\\\\slash' 'keep\\\\d'");
    parses("True False None", "True False None");
    parses("true none", "true none");
    parses("(1, 2) (3,) () (4) ( 5 , 6 , )", "(1, 2) (3,) () 4 (5, 6)");
    parses("[1, 'a', b] [] [[1], (2, 3)]", "[1, 'a', b] [] [[1], (2, 3)]");
    parses("Adam(lr=0.001) SGD() Dense(2, activation='softmax', input_shape=(1000,))",
           "Adam(lr=0.001) SGD() Dense(2, activation='softmax', input_shape=(1000,))");
    parses("f(g(1), k=h(x=[1]))", "f(g(1), k=h(x=[1]))");
    parses("data/train ~/x results/ft{epoch}.h5 -p a=b,c cat.1.jpg 2x",
           "'data/train' '~/x' 'results/ft{epoch}.h5' '-p' a='b,c' 'cat.1.jpg' '2x'");
    parses("epochs=3 lr = 0.1 validation=(vx, vy)", "epochs=3 lr=0.1 validation=(vx, vy)");
    parses("f(\n  1,\n  k=2\n)", "f(1, k=2)");
    parses("a==b", "'a==b'");
    parses("lr= 2", "lr=2");
    kinds();
    checks();
    utf8();

    printf("# errors\n");
    fails("m opt=SGD(lr=0.1", 1, DN_PARSE_UNCLOSED, "unclosed '(' in argument 2 (opened at column 10)");
    fails("[1, 2", 5, DN_PARSE_UNCLOSED, "unclosed '[' in argument 1 (opened at column 5)");
    fails("(1, [2, 3)", 1, DN_PARSE_ERROR, "')' closes '[' (column 5) in argument 1 (column 10)");
    fails("a b)", 1, DN_PARSE_ERROR, "unexpected ')' in argument 2 (column 4)");
    fails("]", 1, DN_PARSE_ERROR, "unexpected ']' in argument 1 (column 1)");
    fails("x 'abc", 1, DN_PARSE_ERROR, "unterminated string in argument 2 (' at column 3)");
    /* a string ends at its line, as the cell splitter and is_complete read it (found by
     * tests/fuzz: the parser took the newline in, so "(1," after it was called unclosed) */
    fails("x 'a\n b' (1,", 1, DN_PARSE_ERROR, "unterminated string in argument 2 (' at column 3): "
          "a string ends at its line (write \\n for a newline)");
    fails("(1 2)", 1, DN_PARSE_ERROR, "expected ',' or ')' after item 1 in argument 1 (column 4)");
    fails("(1,,2)", 1, DN_PARSE_ERROR, "expected a value before ',' in argument 1 (column 4)");
    fails("(,)", 1, DN_PARSE_ERROR, "expected a value before ',' in argument 1 (column 2)");
    fails("lr=", 1, DN_PARSE_ERROR, "missing value after 'lr=' in argument 1 (column 4)");
    fails("a lr= ", 1, DN_PARSE_ERROR, "missing value after 'lr=' in argument 2 (column 6)");
    fails("f(a=)", 1, DN_PARSE_ERROR, "missing value after 'a=' in argument 1 (column 5)");
    fails("f(a=1, 2)", 1, DN_PARSE_ERROR, "positional item after a key=value item in f(…) (argument 1, column 8)");
    fails("f(a=1, a=2)", 1, DN_PARSE_ERROR, "keyword 'a' given twice in f(…) (argument 1, column 8)");
    fails("e=1 e=2", 1, DN_PARSE_ERROR, "keyword 'e' given twice (argument 2, column 5)");
    fails("[a=1]", 1, DN_PARSE_ERROR, "key=value is only allowed in a call such as f(a=…), not inside '[' (argument 1, column 2)");
    fails("3(1)", 1, DN_PARSE_ERROR, "'3' cannot be called: only a name can be followed by '(' (argument 1, column 2)");
    fails("'a'b", 1, DN_PARSE_ERROR, "unexpected 'b' in argument 1 (column 4)");
    fails("(1)x", 1, DN_PARSE_ERROR, "unexpected 'x' in argument 1 (column 4)");
    fails("é (", 1, DN_PARSE_UNCLOSED, "unclosed '(' in argument 2 (opened at column 3)");

    printf("# what no text may do: exhaust the stack, take quadratic time\n");
    {
        /* 40 KB of brackets once overflowed the stack through the parser's recursion */
        size_t n = 100000;
        char *deep = malloc(3 * n + 16);
        for (size_t k = 0; k < n; k++) deep[k] = "([f("[k % 4];
        deep[n] = 0;
        char msg[256];
        dn_parse_status st;
        dn_args *none = dn_args_parse(deep, 1, &st, msg, sizeof msg);
        CHECK(!none && st == DN_PARSE_ERROR && strstr(msg, "nested more than 64 deep"),
              "%zu bytes of brackets: %s", n, msg);
        char nest64[200] = "", want[256];
        for (int k = 0; k < 64; k++) strcat(nest64, "[");
        for (int k = 0; k < 64; k++) strcat(nest64, "]");
        dn_args *ok = dn_args_parse(nest64, 1, NULL, want, sizeof want);
        CHECK(ok != NULL, "64 brackets deep still parse");
        dn_args_free(ok);
        /* a 400 KB list took 43 s when every value counted its column from the start */
        size_t items = 130000;
        char *big = malloc(items * 3 + 8);
        size_t m = 0;
        big[m++] = '[';
        for (size_t k = 0; k < items; k++) { big[m++] = '1'; big[m++] = ','; big[m++] = ' '; }
        big[m++] = ']';
        big[m] = 0;
        char err[256];
        double t0 = now_s();
        dn_args *a = dn_args_parse(big, 1, NULL, err, sizeof err);
        double took = now_s() - t0;
        CHECK(a && a->values[0]->n == items, "a list of %zu items parses", items);
        /* linear time is milliseconds; the old quadratic time was tens of seconds */
        CHECK(took < 5, "in %.3f s", took);
        dn_args_free(a);
        free(big);
        free(deep);
    }

    printf("# bracket depth (line continuation)\n");
    CHECK(dn_args_open_depth("f(a, [1", 7) == 2, "two brackets open");
    CHECK(dn_args_open_depth("f('(', 1)", 9) == 0, "brackets in strings don't count");
    CHECK(dn_args_open_depth("a)", 2) == 0, "a stray closer is not an open bracket");

    printf("%s\n", check_failures ? "FAILED" : "all passed");
    return check_failures != 0;
}
