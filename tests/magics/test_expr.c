/* test_expr.c — arrays and expressions through the interpreter and a fake sink: %let and
 * lines that are an expression against hand-computed values and numpy's printing,
 * broadcasting, the errors (their names and messages), the nesting limit, a large list
 * literal in linear time, %seed and random(), %save/%load round trips, batches and
 * predictions attributes, and a workspace left as it was by every failing command. */
#include "array.h"
#include "check.h"
#include "expr.h"
#include "internal.h"
#include "magics.h"
#include "text.h"

#include <png.h>
#include <sys/stat.h>
#include <unistd.h>

static dn_interp *it;
static fake f;
static char root[256];
static int count = 1;

static dn_workspace *ws(void) { return ((dn_magics *)it)->ws; }
static const char *err_name(void) { const event *e = fake_find(&f, "error"); return e ? e->name : NULL; }
static const char *err_value(void) { const event *e = fake_find(&f, "error"); return e ? e->text : ""; }
static int go(const char *code) { return run(it, &f, code, count++); }

static const char *plain_of(const event *e)
{
    return e ? json_string_value(json_object_get(e->json, "text/plain")) : NULL;
}

/* A line that is only an expression: its result's text/plain must be want. */
static void shows(const char *code, const char *want)
{
    int rc = go(code);
    const char *got = plain_of(fake_find(&f, "result"));
    CHECK(rc == 0 && got && !strcmp(got, want), "%s  ->  %s", code, got ? got : err_value());
    if (!(rc == 0 && got && !strcmp(got, want))) printf("      wanted %s\n", want);
}

/* code fails with ename and a message holding words */
static void fails(const char *code, const char *ename, const char *words)
{
    int rc = go(code);
    const char *en = err_name(), *ev = err_value();
    int ok = rc != 0 && en && !strcmp(en, ename) && strstr(ev, words);
    CHECK(ok, "%.60s%s fails: %s: %s", code, strlen(code) > 60 ? "…" : "", en ? en : "(no error)", ev);
    if (!ok) printf("      wanted %s with '%s'\n", ename, words);
}

/* Everything the workspace holds, values included: what a failed command must not change. */
static char *snapshot(void)
{
    dn_text t = { 0 };
    dn_text_adds(&t, "");
    for (size_t k = 0; k < dn_workspace_count(ws()); k++) {
        const dn_type *type;
        const void *obj;
        const char *name = dn_workspace_name_at(ws(), k, &type, &obj);
        char d[512] = "";
        if (type->describe) type->describe(obj, d, sizeof d);
        dn_text_addf(&t, "%s %s %s\n", name, type->name, d);
        if (type == &dn_array_type || type == &dn_preds_type) {
            char *r = dn_array_repr(obj);
            dn_text_addf(&t, "%s\n", r ? r : "?");
            free(r);
        }
    }
    return t.s;
}

static const dn_array *get(const char *name)
{
    char e[256];
    return dn_array_get(ws(), name, e, sizeof e);
}

/* ---------------------------------------------------------------- values */

static void values(void)
{
    printf("# values against hand-computed ones\n");
    shows("1 + 2 * 3", "7");
    shows("(1 + 2) * 3", "9");
    shows("7 / 2", "3.5");
    shows("6 / 3", "2.0");
    shows("2 ** 3", "8");
    shows("-2 ** 2", "-4");
    shows("2 ** -1.0", "0.5");
    shows("1 - -1", "2");
    shows("+3", "3");
    shows("True + 1", "2");
    shows("1 / 3", "0.33333334");
    shows("1e-5 * 2", "2e-05");
    shows("0.1 + 0.2", "0.3");
    shows("[1, 2, 3] * 2", "array([2, 4, 6])");
    shows("[1, 2] + [0.5, 0.25]", "array([1.5 , 2.25], dtype=float32)");
    shows("[[1, 2], [3, 4]] @ [[5, 6], [7, 8]]", "array([[19, 22],\n       [43, 50]])");
    shows("[1, 2, 3] @ [4, 5, 6]", "32");
    shows("[[1, 2], [3, 4]] @ [1, 1]", "array([3, 7])");
    shows("[1, 1] @ [[1, 2], [3, 4]]", "array([4, 6])");
    shows("[[1., 2.], [3., 4.]] @ [0.5, 0.25]", "array([1. , 2.5], dtype=float32)");
    shows("[1, 2, 3] > 2", "array([False, False,  True])");
    shows("[1, 2, 3] == [1, 0, 3]", "array([ True, False,  True])");
    shows("[1, 2] != 2", "array([ True, False])");
    shows("[True, False] + [True, True]", "array([ True,  True])");
    shows("[True, False] * [True, True]", "array([ True, False])");
    shows("[1, 2, 3] / 2", "array([0.5, 1. , 1.5], dtype=float32)");
    shows("[]", "array([], dtype=float32)");
    shows("[[1, 2]] * 0.5", "array([[0.5, 1. ]], dtype=float32)");
    shows("(1, 2)", "array([1, 2])");
    shows("(3,)", "array([3])");
    shows("1 + 1  # a comment", "2");
    shows("[1,\n   2,   # two\n   3]", "array([1, 2, 3])");
    shows("['a.png', 'b.png']", "array(['a.png', 'b.png'], dtype='<U5')");
    shows("['a.png', 'b.png'][1]", "'b.png'");
    shows("['a', 'bb'] == 'a'", "array([ True, False])");
    shows("\"it's\"", "\"it's\"");

    printf("# functions\n");
    CHECK(go("%let m = [[1, 2, 3], [4, 5, 6]]") == 0 && !fake_find(&f, "stream")
          && !fake_find(&f, "result"), "%%let prints nothing");
    shows("sum(m)", "21");
    shows("sum(m, axis=0)", "array([5, 7, 9])");
    shows("sum(m, -1)", "array([ 6, 15])");
    shows("mean(m, 1)", "array([2., 5.], dtype=float32)");
    shows("mean(m)", "3.5");
    shows("max(m, axis=-1)", "array([3, 6])");
    shows("min(m)", "1");
    shows("sum([True, True, False])", "2");
    shows("argmax(m)", "array([2, 2])");
    shows("argmax(m, axis=0)", "array([1, 1, 1])");
    shows("argmax(m, axis=None)", "5");
    shows("argmin([3, 1, 2])", "1");
    shows("m.sum(axis=0)", "array([5, 7, 9])");
    shows("m.argmax()", "array([2, 2])");
    shows("m.T", "array([[1, 4],\n       [2, 5],\n       [3, 6]])");
    shows("transpose(m)[2]", "array([3, 6])");
    shows("m.shape", "array([2, 3])");
    shows("m.ndim", "2");
    shows("m.size", "6");
    shows("len(m)", "2");
    shows("one_hot([0, 2, 1])", "array([[1., 0., 0.],\n       [0., 0., 1.],\n       [0., 1., 0.]], dtype=float32)");
    shows("one_hot([1], 4)", "array([[0., 1., 0., 0.]], dtype=float32)");
    shows("one_hot(argmax(m), 3)", "array([[0., 0., 1.],\n       [0., 0., 1.]], dtype=float32)");
    shows("clip([-1, 0.5, 2], 0, 1)", "array([0. , 0.5, 1. ], dtype=float32)");
    shows("clip([1, 5, 9], 2, 6)", "array([2, 5, 6])");
    shows("maximum([1, 5], [3, 2])", "array([3, 5])");
    shows("abs([-1, 2])", "array([1, 2])");
    shows("sqrt([4., 9.])", "array([2., 3.], dtype=float32)");
    shows("exp(0.)", "1.0");
    shows("log(1)", "0.0");
    shows("round([0.5, 1.5, 2.5, -0.5])", "array([ 0.,  2.,  2., -0.], dtype=float32)");
    shows("round(3.14159, 2)", "3.14");
    shows("arange(5)", "array([0, 1, 2, 3, 4])");
    shows("arange(1, 7, 2)", "array([1, 3, 5])");
    shows("arange(0., 1., 0.25)", "array([0.  , 0.25, 0.5 , 0.75], dtype=float32)");
    shows("zeros((2, 2))", "array([[0., 0.],\n       [0., 0.]], dtype=float32)");
    shows("ones(3)", "array([1., 1., 1.], dtype=float32)");
    shows("reshape(arange(6), (2, 3))", "array([[0, 1, 2],\n       [3, 4, 5]])");
    shows("reshape(arange(6), 3, -1)[2]", "array([4, 5])");
    shows("arange(6).reshape(2, 3)[1]", "array([3, 4, 5])");

    /* every function completion offers is one the evaluator knows */
    for (size_t k = 0; dn_expr_functions[k]; k++) {
        char code[64];
        snprintf(code, sizeof code, "%s()", dn_expr_functions[k]);
        go(code);
        CHECK(!err_name() || strcmp(err_name(), "NameError"), "%s is a function", code);
    }

    printf("# indexing\n");
    go("%let v = arange(10)");
    shows("v[3]", "3");
    shows("v[-1]", "9");
    shows("v[2:5]", "array([2, 3, 4])");
    shows("v[:3]", "array([0, 1, 2])");
    shows("v[7:]", "array([7, 8, 9])");
    shows("v[::3]", "array([0, 3, 6, 9])");
    shows("v[::-4]", "array([9, 5, 1])");
    shows("v[-3:-1]", "array([7, 8])");
    shows("v[5:100]", "array([5, 6, 7, 8, 9])");
    shows("v[v > 6]", "array([7, 8, 9])");
    shows("v[[0, -1]]", "array([0, 9])");
    shows("m[1]", "array([4, 5, 6])");
    shows("m[:, 1]", "array([2, 5])");
    shows("m[1, 2]", "6");
    shows("m[-1, ::-1]", "array([6, 5, 4])");
    shows("m[m > 2]", "array([3, 4, 5, 6])");
    shows("m[:, [True, False, True]]", "array([[1, 3],\n       [4, 6]])");
    shows("m[0][1:]", "array([2, 3])");

    printf("# printing as numpy\n");
    shows("arange(2000)", "array([   0,    1,    2, ..., 1997, 1998, 1999])");
    shows("[1e-5, 1.0]", "array([1.e-05, 1.e+00], dtype=float32)");
    shows("[1., 2.5]", "array([1. , 2.5], dtype=float32)");
    shows("reshape(arange(2000), 1000, 2) * 1.5",
          "array([[0.0000e+00, 1.5000e+00],\n       [3.0000e+00, 4.5000e+00],\n       "
          "[6.0000e+00, 7.5000e+00],\n       ...,\n       [2.9910e+03, 2.9925e+03],\n       "
          "[2.9940e+03, 2.9955e+03],\n       [2.9970e+03, 2.9985e+03]], dtype=float32)");
}

/* ---------------------------------------------------------------- broadcasting */

static void broadcasting(void)
{
    printf("# broadcasting\n");
    shows("[[1, 2, 3], [4, 5, 6]] + [10, 20, 30]", "array([[11, 22, 33],\n       [14, 25, 36]])");
    shows("[[1], [2]] + [10, 20, 30]", "array([[11, 21, 31],\n       [12, 22, 32]])");
    shows("[[1, 2, 3], [4, 5, 6]] * [[2], [10]]", "array([[ 2,  4,  6],\n       [40, 50, 60]])");
    shows("2 * [[1], [2]]", "array([[2],\n       [4]])");
    shows("zeros((2, 1, 3)) + [[1], [2], [3], [4]]",
          "array([[[1., 1., 1.],\n        [2., 2., 2.],\n        [3., 3., 3.],\n        [4., 4., 4.]],\n\n"
          "       [[1., 1., 1.],\n        [2., 2., 2.],\n        [3., 3., 3.],\n        [4., 4., 4.]]], dtype=float32)");
    shows("sum(zeros((0, 3)) + [1, 2, 3])", "0.0");
    go("%seed 1\n%let x = random(30, 2)");
    fails("x + [1, 2, 3]", "ValueError", "operands could not be broadcast together with shapes (30,2) (3,)");
    fails("%let y = [[1, 2, 3], [4, 5, 6]] + [1, 2]", "ValueError", "shapes (2,3) (2,)");
    fails("x @ [1, 2, 3]", "ValueError", "mismatch in its core dimension 0");
    shows("(x @ [2., 3.] + 1.).shape", "array([30])");
    /* the lesson's y is x @ [2, 3] + 1, row by row, in float32 */
    go("%let y = x @ [2., 3.] + 1.");
    const dn_array *x = get("x"), *y = get("y");
    int ok = x && y && y->ndim == 1 && y->shape[0] == 30 && y->dtype == DN_DT_FLOAT;
    for (int i = 0; ok && i < 30; i++) {
        float want = (float)((double)x->data[2 * i] * 2 + (double)x->data[2 * i + 1] * 3) + 1.0f;
        ok = y->data[i] == want && x->data[2 * i] >= 0 && x->data[2 * i] < 1;
    }
    CHECK(ok, "y = x @ [2., 3.] + 1. for all 30 rows");
}

/* ---------------------------------------------------------------- errors */

static void describe_thing(const void *obj, char *buf, size_t len) { (void)obj; snprintf(buf, len, "Sequential, 3 layers"); }
static void free_thing(void *obj) { free(obj); }
static const dn_type model_type = { .name = "model", .describe = describe_thing, .free = free_thing };

static void errors(void)
{
    printf("# errors: names and messages, workspace unchanged\n");
    go("%let x = [[1., 2.], [3., 4.]]");
    char e[256];
    dn_workspace_set(ws(), "mdl", &model_type, malloc(1), e, sizeof e);
    char *before = snapshot();
    fails("xx + 1", "NameError", "name 'xx' is not defined. Did you mean 'x'?");
    fails("%let y = xy * 2", "NameError", "Did you mean 'x'?");
    fails("%let y = nothing_like_it", "NameError", "name 'nothing_like_it' is not defined");
    fails("%let y = ranodm(3)", "NameError", "Did you mean 'random'?");
    fails("%let y = mdl + 1", "TypeError", "'mdl' is a model, not an array");
    fails("%let y = mdl", "TypeError", "'mdl' is a model, not an array");
    fails("%let y = x(1)", "TypeError", "'x' is an array, not a function");
    fails("%let y = random", "TypeError", "random is a function");
    fails("%let x = x[2]", "IndexError", "index 2 is out of bounds for axis 0 with size 2");
    fails("%let x = x[0, 0, 0]", "IndexError", "too many indices for array: array is 2-dimensional, but 3 were indexed");
    fails("%let x = x[0.5]", "IndexError", "only integers, slices");
    fails("%let x = x[[True, False, True]]", "IndexError", "boolean index did not match");
    fails("%let x = reshape(x, 3)", "ValueError", "cannot reshape array of size 4 into shape (3,)");
    fails("%let x = [[1, 2], [3]]", "ValueError", "inhomogeneous shape after 1 dimensions");
    fails("%let x = sum(x, axis=2)", "AxisError", "axis 2 is out of bounds for array of dimension 2");
    fails("%let x = max([])", "ValueError", "zero-size array to reduction operation maximum");
    fails("%let x = one_hot([0, 3], 2)", "ValueError", "class 3 is out of range for 2 classes");
    fails("%let x = one_hot([0.5])", "ValueError", "one_hot takes class numbers");
    fails("%let x = [1, 2] - [True, False] - ([True, True] - [True, False])", "TypeError", "boolean subtract");
    fails("%let x = x + 'a'", "TypeError", "'+' is not defined for a string and a number");
    fails("%let x = 2 ** -1", "ValueError", "Integers to negative integer powers are not allowed.");
    fails("%let x = zeros(2.5)", "TypeError", "cannot be interpreted as an integer");
    fails("%let x = zeros(-1)", "ValueError", "negative dimensions are not allowed");
    fails("%let x = random(100000, 100000, 100000)", "MemoryError", "Unable to allocate");
    fails("%let x = argmax(x, axis=0, axis=1)", "TypeError", "multiple values for argument 'axis'");
    fails("%let x = argmax(x, foo=1)", "TypeError", "unexpected keyword argument 'foo'");
    fails("%let x = one_hot()", "TypeError", "missing its argument 'classes'");
    fails("%let x = x.foo", "AttributeError", "has no attribute 'foo'");
    fails("%let x = mdl.foo", "AttributeError", "'mdl' (model) has no attributes");
    fails("%let x = x.frobnicate()", "AttributeError", "arrays have no method 'frobnicate'");
    fails("x[5]", "IndexError", "index 5 is out of bounds for axis 0 with size 2");
    fails("x[10 ** 30]", "IndexError", "is out of bounds for axis 0 with size 2");
    shows("x[-10 ** 30:10 ** 30, 0]", "array([1., 3.], dtype=float32)");
    printf("# syntax errors (with columns), found before anything runs\n");
    fails("%let y = 1 + * 2", "SyntaxError", "unexpected '*' at column 14");
    fails("x +* 2", "SyntaxError", "unexpected '*' at column 4");
    fails("%pwd\nx[1,", "SyntaxError", "'[' was never closed (opened at column 2)");
    CHECK(!fake_find(&f, "result"), "line 1 did not run");
    fails("x = 3", "SyntaxError", "%let NAME = EXPR");
    fails("@x", "SyntaxError", "line 1: '@x' is not a command");
    fails("x < 1 < 3", "SyntaxError", "comparisons do not chain");
    fails("x $ 2", "SyntaxError", "invalid character '$' at column 3");
    fails("x + 'abc", "SyntaxError", "unterminated string (opened at column 5)");
    fails("2x", "SyntaxError", "invalid number '2x' at column 1");
    fails("x + 2x", "SyntaxError", "invalid number '2x'");
    fails("f(a=1, 2)", "SyntaxError", "positional argument follows keyword argument");
    fails("x)", "SyntaxError", "unmatched ')' at column 2");
    fails("(x]", "SyntaxError", "closing ']' at column 3 does not match '('");
    fails("%let y", "SyntaxError", "'=' must follow the name y");
    fails("%let 1y = 2", "SyntaxError", "'1y' cannot be a name");
    fails("%let $y = 2", "SyntaxError", "NAME must be a name");
    fails("%let True = 2", "SyntaxError", "cannot assign to True");
    fails("%let y =", "SyntaxError", "the expression after '=' is missing");
    fails("%let y = [1,\n 2,\n 3 +]", "SyntaxError", "column 5 of the statement's line 3");
    fails("%pwd\n%let y = (", "SyntaxError", "'(' was never closed");
    CHECK(!fake_find(&f, "result"), "%%pwd did not run");
    char *after = snapshot();
    CHECK(before && after && !strcmp(before, after), "the workspace is as it was after every failure");
    free(before);
    free(after);

    printf("# expression lines: results, displays, other objects\n");
    int rc = go("mdl");
    const char *got = plain_of(fake_find(&f, "result"));
    CHECK(rc == 0 && got && !strcmp(got, "model: Sequential, 3 layers"), "a model's line shows its description: %s", got ? got : err_value());
    rc = go("x\n%seed 1\nx[0]");
    int displays = 0, results = 0;
    for (int k = 0; k < f.n; k++) {
        displays += !strcmp(f.ev[k].kind, "display");
        results += !strcmp(f.ev[k].kind, "result");
    }
    const char *last = plain_of(fake_find(&f, "result"));
    CHECK(rc == 0 && displays == 1 && results == 1 && last && !strcmp(last, "array([1., 2.], dtype=float32)"),
          "the last expression is the result, an earlier one a display (%d, %d)", displays, results);
    const event *d = fake_find(&f, "display");
    const char *html = d ? json_string_value(json_object_get(d->json, "text/html")) : NULL;
    CHECK(html && strstr(html, "<table") && strstr(html, "shape (2, 2)") && strstr(html, "<td>4.</td>"),
          "a 2-D array has an HTML table with its shape");
    rc = go("%who");
    char *who = fake_text(&f, "stdout");
    CHECK(who && strstr(who, "float32 (2, 2)"), "%%who describes x: %s", who ? who : "");
    free(who);
    dn_workspace_remove(ws(), "mdl");
}

/* ---------------------------------------------------------------- limits */

static void limits(void)
{
    printf("# nesting limit and a large literal\n");
    size_t n = 100000;
    char *deep = malloc(2 * n + 16);
    memset(deep, '(', n);
    strcpy(deep + n, "1");
    memset(deep + n + 1, ')', n);
    deep[2 * n + 1] = 0;
    fails(deep, "SyntaxError", "nested too deeply");
    char *let = malloc(2 * n + 32);
    snprintf(let, 2 * n + 32, "%%let y = %s", deep);
    fails(let, "SyntaxError", "nested too deeply");
    json_t *r = it->ops->is_complete(it, deep);
    CHECK(!strcmp(json_string_value(json_object_get(r, "status")), "invalid"), "is_complete: invalid");
    json_decref(r);
    memset(deep, '-', n);
    strcpy(deep + n, "1");
    fails(deep, "SyntaxError", "nested too deeply");
    memset(deep, '[', n);
    strcpy(deep + n, "1");
    fails(deep, "SyntaxError", "nested too deeply");
    shows("((((((((((1))))))))))", "1");
    free(deep);
    free(let);

    /* 400 KB of list literal, one number per line: linear in the text. The quadratic
     * parser took 43 s (69 s under ASan); the limits leave room for a loaded machine. */
    dn_text big = { 0 };
    dn_text_adds(&big, "%let big = [");
    long items = 0;
    while (big.n < 400000) dn_text_addf(&big, "%ld.25,\n", items++ % 1000);
    dn_text_adds(&big, "]");
    double t0 = now_s();
    int rc = go(big.s);
    double took = now_s() - t0;
#if defined(__SANITIZE_ADDRESS__)
    double limit = 8.0;   /* the sanitizers make every allocation slow */
#else
    double limit = 3.0;
#endif
    const dn_array *b = get("big");
    CHECK(rc == 0 && b && b->size == items && b->data[items - 1] == (float)((items - 1) % 1000) + 0.25f,
          "%ld items read", items);
    CHECK(took < limit, "400 KB list literal in %.3f s (limit %.1f)", took, limit);
    /* the same on one line, as an expression line */
    big.n = 0;
    dn_text_adds(&big, "sum([");
    for (long i = 0; big.n < 400000; i++) dn_text_addf(&big, "%ld, ", i % 3);
    dn_text_adds(&big, "])");
    t0 = now_s();
    rc = go(big.s);
    took = now_s() - t0;
    CHECK(rc == 0 && took < limit, "400 KB on one line in %.3f s", took);
    free(big.s);
    go("%del big");
}

/* ---------------------------------------------------------------- seeds */

static void seeds(void)
{
    printf("# %%seed and random()\n");
    go("%seed 7\n%let a = random(3, 2)\n%let b = random((3, 2))");
    go("%seed 7\n%let c = random(3, 2)");
    const dn_array *a = get("a"), *b = get("b"), *c = get("c");
    int same = a && c && a->size == 6 && c->size == 6, differ = a && b && b->size == 6, range = a != NULL;
    for (int i = 0; same && i < 6; i++) same = a->data[i] == c->data[i];
    for (int i = 0; differ && i < 6; i++) differ = a->data[i] != b->data[i];
    for (int i = 0; range && i < 6; i++) range = a->data[i] >= 0 && a->data[i] < 1;
    CHECK(same, "after the same %%seed, the same numbers");
    CHECK(differ, "the next call draws other numbers");
    CHECK(range && a->ndim == 2 && a->shape[0] == 3 && a->shape[1] == 2, "uniform in [0, 1), shape (3, 2)");
    shows("%seed 7\nrandom(3, 2) == a", "array([[ True,  True],\n       [ True,  True],\n       [ True,  True]])");
    go("%del a b c");
}

/* ---------------------------------------------------------------- files */

static int file_text(const char *path, char *buf, size_t len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return -1;
    size_t n = fread(buf, 1, len - 1, fp);
    buf[n] = 0;
    fclose(fp);
    return (int)n;
}

static void files(void)
{
    printf("# %%save and %%load\n");
    char cmd[1024], p[600];
    go("%let fl = [[1.5, -2.], [3.25, 4.]]\n%let it = arange(4) - 1\n%let bo = [1, 2, 3] > 1\n"
       "%let st = ['cat/1.png', 'dog/22.png']");
    const char *names[] = { "fl", "it", "bo", "st" };
    for (int k = 0; k < 4; k++) {
        snprintf(cmd, sizeof cmd, "%%save %s %s/%s.npy\n%%load %s_back %s/%s.npy", names[k], root,
                 names[k], names[k], root, names[k]);
        int rc = go(cmd);
        char back[16];
        snprintf(back, sizeof back, "%s_back", names[k]);
        const dn_array *a = get(names[k]), *b = get(back);
        char *ra = a ? dn_array_repr(a) : NULL, *rb = b ? dn_array_repr(b) : NULL;
        CHECK(rc == 0 && ra && rb && !strcmp(ra, rb) && a->dtype == b->dtype, "%s round trip: %s", names[k], rb ? rb : err_value());
        free(ra);
        free(rb);
    }
    snprintf(p, sizeof p, "%s/it.npy", root);
    char head[256];
    CHECK(file_text(p, head, sizeof head) > 0 && strstr(head + 10, "'descr': '<i8'"), "int arrays are saved as int64");
    snprintf(p, sizeof p, "%s/bo.npy", root);
    CHECK(file_text(p, head, sizeof head) > 0 && strstr(head + 10, "'descr': '|b1'"), "bool arrays as bool");
    snprintf(p, sizeof p, "%s/st.npy", root);
    CHECK(file_text(p, head, sizeof head) > 0 && strstr(head + 10, "'descr': '<U10'"), "strings as unicode");

    char *before = snapshot();
    char old[4096], now[4096];
    snprintf(p, sizeof p, "%s/fl.npy", root);
    int oldn = file_text(p, old, sizeof old);
    snprintf(cmd, sizeof cmd, "%%save it %s/fl.npy", root);
    fails(cmd, "FileExistsError", "overwrite=True");
    CHECK(file_text(p, now, sizeof now) == oldn && !memcmp(old, now, (size_t)oldn), "the file is as it was");
    snprintf(cmd, sizeof cmd, "%%save xz %s/new.npy", root);
    fails(cmd, "NameError", "Did you mean 'x'?");
    snprintf(cmd, sizeof cmd, "%%save fl %s/no/such/dir/f.npy", root);
    fails(cmd, "FileNotFoundError", "no such folder");
    snprintf(cmd, sizeof cmd, "%%load fl %s/missing.npy", root);
    fails(cmd, "FileNotFoundError", "missing.npy");
    snprintf(p, sizeof p, "%s/text.npy", root);
    FILE *fp = fopen(p, "w");
    if (fp) { fputs("not numpy\n", fp); fclose(fp); }
    snprintf(cmd, sizeof cmd, "%%load fl %s/text.npy", root);
    fails(cmd, "ValueError", "not a NumPy .npy file");
    snprintf(cmd, sizeof cmd, "%%load fl %s", root);
    fails(cmd, "IsADirectoryError", "is a folder");
    fails("%load 9x x.npy", "UsageError", "NAME is a workspace name");
    fails("%save fl", "UsageError", "%save");
    snprintf(cmd, sizeof cmd, "%%save st2 %s/st2.npy\n", root);
    char *mid = snapshot();
    go("%let st2 = reshape(['a', 'b', 'c', 'd'], (2, 2))");
    char *before2 = snapshot();
    fails(cmd, "ValueError", "only 1-D arrays of strings");
    snprintf(p, sizeof p, "%s/st2.npy", root);
    struct stat sb;
    CHECK(stat(p, &sb) != 0, "nothing written");
    char *after = snapshot();
    CHECK(!strcmp(after, before2) && !strcmp(mid, before), "the workspace is as it was after every refused %%save/%%load");
    free(mid);
    free(before);
    free(before2);
    free(after);
    go("%del st2");
    snprintf(cmd, sizeof cmd, "%%save it %s/fl.npy overwrite=True\n%%load fl %s/fl", root, root);
    fails(cmd, "FileNotFoundError", "fl");   /* %load takes the name as written */
    snprintf(cmd, sizeof cmd, "%%load fl %s/fl.npy", root);
    int rc = go(cmd);
    shows("fl", "array([-1,  0,  1,  2])");
    CHECK(rc == 0, "overwrite=True replaced the file");
    snprintf(cmd, sizeof cmd, "%%save it %s/noext\n%%load ne %s/noext.npy", root, root);
    rc = go(cmd);
    CHECK(rc == 0 && get("ne") && get("ne")->size == 4, "a file name without .npy gets it, as numpy.save");
    go("%del fl it bo st fl_back it_back bo_back st_back ne");
}

/* ---------------------------------------------------------------- batches and predictions */

static int grey_png(const char *path, int base)
{
    unsigned char px[16];
    for (int k = 0; k < 16; k++) px[k] = (unsigned char)(base + k);
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    img.width = 4;
    img.height = 4;
    img.format = PNG_FORMAT_GRAY;
    return png_image_write_to_file(&img, path, 0, px, 0, NULL) ? 0 : -1;
}

static void objects(void)
{
    printf("# batches' and predictions' attributes\n");
    char p[600], cmd[800];
    snprintf(p, sizeof p, "%s/imgs", root);
    mkdir(p, 0755);
    const char *cls[] = { "ant", "bee", "cat" };
    int per[] = { 2, 3, 1 };
    for (int c = 0; c < 3; c++) {
        snprintf(p, sizeof p, "%s/imgs/%s", root, cls[c]);
        mkdir(p, 0755);
        for (int i = 0; i < per[c]; i++) {
            snprintf(p, sizeof p, "%s/imgs/%s/%d.png", root, cls[c], i);
            grey_png(p, 10 * c + i);
        }
    }
    snprintf(cmd, sizeof cmd, "%%batches b %s/imgs size=4 shuffle=False", root);
    int rc = go(cmd);
    CHECK(rc == 0, "batches made: %s", err_value());
    shows("b.classes", "array([0, 0, 1, 1, 1, 2])");
    shows("b.labels[2:4]", "array([[0., 1., 0.],\n       [0., 1., 0.]], dtype=float32)");
    shows("b.filenames", "array(['ant/0.png', 'ant/1.png', 'bee/0.png', 'bee/1.png', 'bee/2.png',\n"
                         "       'cat/0.png'], dtype='<U9')");
    shows("b.class_names", "array(['ant', 'bee', 'cat'], dtype='<U3')");
    shows("sum(b.labels, axis=0)", "array([2., 3., 1.], dtype=float32)");
    shows("argmax(b.labels) == b.classes", "array([ True,  True,  True,  True,  True,  True])");
    fails("b.foo", "AttributeError", "'b' (batches) has no attribute 'foo'; it has: classes, labels, filenames, class_names");
    fails("b + 1", "TypeError", "'b' is a batches object, not an array");
    rc = go("b");
    const char *got = plain_of(fake_find(&f, "result"));
    CHECK(rc == 0 && got && strstr(got, "batches: 6 images, 3 classes"), "b's line: %s", got ? got : err_value());

    /* predictions as %predict makes them */
    long shape[2] = { 3, 2 };
    char e[256];
    dn_array *pr = dn_array_new(DN_DT_FLOAT, 2, shape, e, sizeof e);
    const float v[6] = { 0.9f, 0.1f, 0.2f, 0.8f, 0.4f, 0.6f };
    memcpy(pr->data, v, sizeof v);
    pr->filenames = calloc(3, sizeof *pr->filenames);
    pr->labels = calloc(3, sizeof *pr->labels);
    pr->class_names = calloc(2, sizeof *pr->class_names);
    for (int i = 0; i < 3; i++) {
        char fn[32];
        snprintf(fn, sizeof fn, "unknown/%d.png", i + 1);
        pr->filenames[i] = strdup(fn);
        pr->labels[i] = i == 0 ? 0 : 1;
    }
    pr->nclasses = 2;
    pr->class_names[0] = strdup("cats");
    pr->class_names[1] = strdup("dogs");
    CHECK(dn_array_set(ws(), "preds", pr, 1, e, sizeof e) == 0, "predictions stored");
    go("%who");
    char *who = fake_text(&f, "stdout");
    CHECK(who && strstr(who, "predictions (3, 2), 2 classes, with file names"), "%%who: %s", who ? who : "");
    free(who);
    shows("preds.classes", "array([0, 1, 1])");
    shows("preds.labels", "array([[1., 0.],\n       [0., 1.],\n       [0., 1.]], dtype=float32)");
    shows("preds.filenames[-1]", "'unknown/3.png'");
    shows("preds.class_names", "array(['cats', 'dogs'], dtype='<U4')");
    shows("argmax(preds) == preds.classes", "array([ True,  True,  True])");
    shows("mean(argmax(preds) == preds.classes)", "1.0");
    shows("preds[:, 1]", "array([0.1, 0.8, 0.6], dtype=float32)");
    shows("preds.shape", "array([3, 2])");
    rc = go("preds");
    const event *res = fake_find(&f, "result");
    const char *html = res ? json_string_value(json_object_get(res->json, "text/html")) : NULL;
    CHECK(rc == 0 && html && strstr(html, "unknown/2.png") && strstr(html, "<th>dogs</th>"),
          "predictions' table names files and classes");
    go("%let p2 = preds\n%let p3 = preds * 1");
    const dn_type *t2 = NULL, *t3 = NULL;
    dn_workspace_get(ws(), "p2", &t2);
    dn_workspace_get(ws(), "p3", &t3);
    CHECK(t2 == &dn_preds_type && t3 == &dn_array_type, "a copy of predictions stays predictions; arithmetic gives an array");
    go("%del b preds p2 p3");
}

int main(void)
{
    if (!(it = test_start(&f, root, sizeof root, "dn_expr"))) return 1;
    values();
    broadcasting();
    errors();
    limits();
    seeds();
    files();
    objects();
    return test_finish(it, &f, root);
}
