/* test_assist.c — complete (code-point positions, non-ASCII text), inspect, is_complete,
 * and the suggestion distance. */
#include "check.h"
#include "internal.h"
#include "magics.h"
#include "utf8.h"

#include <sys/stat.h>
#include <unistd.h>

static dn_interp *it;

/* complete(code, cursor) must give exactly want (a NULL-terminated list) at start..end */
static void completes(const char *code, int cursor, const char *const *want, int start, int end)
{
    json_t *r = it->ops->complete(it, code, cursor < 0 ? (int)dn_utf8_count(code, strlen(code)) : cursor);
    json_t *m = json_object_get(r, "matches");
    size_t n = 0;
    while (want[n]) n++;
    int same = json_array_size(m) == n;
    for (size_t k = 0; same && k < n; k++) same = !strcmp(json_string_value(json_array_get(m, k)), want[k]);
    int cs = (int)json_integer_value(json_object_get(r, "cursor_start"));
    int ce = (int)json_integer_value(json_object_get(r, "cursor_end"));
    char *got = json_dumps(m, JSON_COMPACT);
    CHECK(same && cs == start && ce == end && json_is_object(json_object_get(r, "metadata")),
          "complete %s -> %s at %d..%d", code, got, cs, ce);
    if (!(same && cs == start && ce == end)) printf("      wanted start %d end %d\n", start, end);
    free(got);
    json_decref(r);
}

static void is_complete(const char *code, const char *want)
{
    json_t *r = it->ops->is_complete(it, code);
    const char *st = json_string_value(json_object_get(r, "status"));
    int indent_ok = strcmp(want, "incomplete") || json_is_string(json_object_get(r, "indent"));
    CHECK(st && !strcmp(st, want) && indent_ok, "is_complete %s -> %s", code, st ? st : "(none)");
    json_decref(r);
}

static void inspects(const char *code, int cursor, int found, const char *contains)
{
    json_t *r = it->ops->inspect(it, code, cursor, 0);
    const char *text = json_string_value(json_object_get(json_object_get(r, "data"), "text/plain"));
    int ok = json_is_true(json_object_get(r, "found")) == found && json_is_object(json_object_get(r, "metadata"))
             && (!found || (text && strstr(text, contains)));
    CHECK(ok, "inspect %s at %d -> found=%d", code, cursor, json_is_true(json_object_get(r, "found")));
    json_decref(r);
}

static void touch(const char *p)
{
    FILE *f = fopen(p, "w");
    if (f) fclose(f);
}

int main(void)
{
    char err[256];
    it = dn_magics_new(err, sizeof err);
    if (!it) { printf("dn_magics_new: %s\n", err); return 1; }
    char tmp[] = "/tmp/dn_assist_XXXXXX";
    char *start = getcwd(NULL, 0);
    if (!mkdtemp(tmp) || chdir(tmp) != 0) { printf("no temp dir\n"); return 1; }
    touch("alpha.txt");
    touch("ünï.txt");
    touch(".hidden");
    mkdir("αβ_dir", 0755);
    mkdir("sub", 0755);
    touch("sub/inner.txt");
    touch("my file.txt");
    mkdir("sp ace", 0755);
    setenv("HOME", tmp, 1);

    printf("# command names\n");
    completes("%pw", -1, (const char *const[]){ "%pwd", NULL }, 0, 3);
    completes("%m", -1, (const char *const[]){ "%%markdown", "%%model", "%mkdir", "%model", "%most_confused", NULL }, 0, 2);
    completes("%%ht", -1, (const char *const[]){ "%%html", NULL }, 0, 4);
    completes("%pwd\n%m", -1, (const char *const[]){ "%mkdir", "%model", "%most_confused", NULL }, 5, 7);
    completes("%pwd\n%%h", -1, (const char *const[]){ NULL }, 5, 8);
    completes("# é\n  %lsm", -1, (const char *const[]){ "%lsmagic", NULL }, 6, 10);
    completes("%cd ü\n%se", -1, (const char *const[]){ "%seed", NULL }, 6, 9);
    completes("%pw", 2, (const char *const[]){ "%plot_history", "%plots", "%pop", "%predict", "%pwd", NULL }, 0, 2);

    json_t *r0 = it->ops->complete(it, "%cd su", 6);
    char *types = json_dumps(json_object_get(r0, "metadata"), JSON_COMPACT | JSON_SORT_KEYS);
    CHECK(types && !strcmp(types, "{\"_jupyter_types_experimental\":[{\"end\":6,\"start\":4,"
                           "\"text\":\"sub/\",\"type\":\"directory\"}]}"), "JupyterLab's match types: %s", types);
    free(types);
    json_decref(r0);

    printf("# paths\n");
    completes("%ls al", -1, (const char *const[]){ "alpha.txt", NULL }, 4, 6);
    completes("%cd αβ", -1, (const char *const[]){ "αβ_dir/", NULL }, 4, 6);
    completes("%cd ", -1, (const char *const[]){ "'my file.txt'", "'sp ace/", "alpha.txt", "sub/", "ünï.txt", "αβ_dir/", NULL }, 4, 4);
    completes("%ls .h", -1, (const char *const[]){ ".hidden", NULL }, 4, 6);
    completes("%ls sub/i", -1, (const char *const[]){ "sub/inner.txt", NULL }, 4, 9);
    completes("%ls ~/su", -1, (const char *const[]){ "~/sub/", NULL }, 4, 8);
    completes("%mkdir -", -1, (const char *const[]){ "-p", NULL }, 7, 8);
    completes("!cat ü", -1, (const char *const[]){ "ünï.txt", NULL }, 5, 6);
    completes("!ls | grep x >al", -1, (const char *const[]){ "alpha.txt", NULL }, 14, 16);
    completes("é€\n!ls αβ_dir/../su", -1, (const char *const[]){ "αβ_dir/../sub/", NULL }, 7, 19);
    printf("# names with blanks: escaped in ! lines, quoted in %% arguments\n");
    completes("!cat my", -1, (const char *const[]){ "my\\ file.txt", NULL }, 5, 7);
    completes("!cat my\\ f", -1, (const char *const[]){ "my\\ file.txt", NULL }, 5, 10);
    completes("!ls sp\\ ace/../my", -1, (const char *const[]){ "sp\\ ace/../my\\ file.txt", NULL }, 4, 17);
    completes("%ls my", -1, (const char *const[]){ "'my file.txt'", NULL }, 4, 6);
    completes("%cd sp", -1, (const char *const[]){ "'sp ace/", NULL }, 4, 6);
    completes("%ls 'my", -1, (const char *const[]){ "my file.txt", NULL }, 5, 7);
    completes("%%sh\nls su", -1, (const char *const[]){ "sub/", NULL }, 8, 10);
    completes("%%html\nsu", -1, (const char *const[]){ NULL }, 7, 9);
    completes("%pwd su", -1, (const char *const[]){ NULL }, 5, 7);
    /* a line starting with a letter is an expression: the word at the cursor is a name */
    completes("plain su", -1, (const char *const[]){ "sum", NULL }, 6, 8);

    printf("# workspace names\n");
    dn_magics *m = (dn_magics *)it;
    static const dn_type t = { .name = "thing" };
    static int o1, o2, o3;
    dn_workspace_set(m->ws, "train_batches", &t, &o1, err, sizeof err);
    dn_workspace_set(m->ws, "test_batches", &t, &o2, err, sizeof err);
    dn_workspace_set(m->ws, "model", &t, &o3, err, sizeof err);
    completes("%del tr", -1, (const char *const[]){ "train_batches", NULL }, 5, 7);
    completes("%del model t", -1, (const char *const[]){ "test_batches", "train_batches", NULL }, 11, 12);
    printf("# expressions: names and functions, attributes after a dot\n");
    static const char *const battrs[] = { "classes", "labels", "class_names", NULL };
    static const dn_type bt = { .name = "batches", .attrs = battrs };
    static int o4;
    dn_workspace_set(m->ws, "b", &bt, &o4, err, sizeof err);
    completes("tr", -1, (const char *const[]){ "train_batches", "transpose", NULL }, 0, 2);
    completes("%pwd\nx @ mo", -1, (const char *const[]){ "model", NULL }, 9, 11);
    completes("b.cl", -1, (const char *const[]){ "class_names", "classes", NULL }, 2, 4);
    completes("%let y = ar", -1, (const char *const[]){ "arange", "argmax", "argmin", NULL }, 9, 11);
    completes("%let y = b.l", -1, (const char *const[]){ "labels", NULL }, 11, 12);
    dn_workspace_remove(m->ws, "b");

    printf("# is_complete\n");
    is_complete("", "complete");
    is_complete("%pwd", "complete");
    is_complete("%pwd\n!ls | head\n# done", "complete");
    is_complete("%cd a \\", "incomplete");
    is_complete("!ls \\", "incomplete");
    is_complete("%seed (1,", "incomplete");
    is_complete("%ls [a,\n b", "incomplete");
    is_complete("%ls [a,\n b]", "complete");
    is_complete("%%html", "incomplete");
    is_complete("%%html\n", "incomplete");
    is_complete("%%html\n  \n", "incomplete");
    is_complete("%%html\n<b>x</b>", "complete");
    is_complete("%%markdown\n# Title", "complete");
    is_complete("%%html\n<b>x</b>\n\n", "complete");
    is_complete("%compile m optimizer=SGD(lr=0.1,", "incomplete");
    is_complete("%compile m optimizer=SGD(lr=0.1))", "invalid");
    is_complete("%ls a)", "invalid");
    is_complete("%ls 'abc", "invalid");
    is_complete("%nosuch", "complete");
    is_complete("%%nosuch\nx\n\n", "complete");
    /* a line starting with a letter is an expression: `ls -l` is ls - l (valid syntax, a
     * NameError when run); one that can never parse is invalid */
    is_complete("ls -l", "complete");
    is_complete("hello world", "invalid");
    is_complete("x[1,", "incomplete");
    is_complete("x[1,\n 2]", "complete");
    is_complete("x @ (w +\n", "incomplete");
    is_complete("x)", "invalid");
    is_complete("x +", "invalid");
    is_complete("f('abc", "invalid");
    is_complete("x = 3", "invalid");
    is_complete("%let y = [1,", "incomplete");
    is_complete("%let y = [1,\n 2]", "complete");
    is_complete("%let y = 1 +", "invalid");
    is_complete("%let = 3", "invalid");
    is_complete("%let y = x # a comment (", "complete");
    is_complete("x  # a comment [", "complete");
    is_complete("%pwd\n%%html\n", "invalid");
    is_complete("%pwd?", "complete");

    printf("# inspect\n");
    inspects("%cd ~/data", 3, 1, "%cd [DIR]");
    inspects("%cd ~/data", 9, 1, "Change the working directory");
    inspects("%pwd\n%mkdir x", 8, 1, "%mkdir [-p] DIR...");
    inspects("%%html\n<b>x</b>", 10, 1, "%%html");
    inspects("!ls", 2, 1, "ShellError");
    inspects("%nosuch", 3, 0, "");
    inspects("hello", 2, 0, "");
    json_t *r = it->ops->inspect(it, "%cd", 3, 1);
    const char *text = json_string_value(json_object_get(json_object_get(r, "data"), "text/plain"));
    CHECK(text && strstr(text, "Defined in:"), "detail_level 1 says where the command is defined");
    json_decref(r);

    printf("# suggestions\n");
    CHECK(dn_edit_distance("pdw", "pwd") == 1, "a swap is one edit");
    CHECK(dn_edit_distance("kitten", "sitting") == 3, "kitten/sitting = 3");
    CHECK(dn_edit_distance("", "abc") == 3 && dn_edit_distance("abc", "abc") == 0, "empty and equal");
    char msg[256];
    dn_commands_unknown("mkdri", DN_LINE, msg, sizeof msg);
    CHECK(!strcmp(msg, "Unknown command %mkdri. Did you mean %mkdir?"), "%s", msg);
    dn_commands_unknown("htm", DN_CELL, msg, sizeof msg);
    CHECK(!strcmp(msg, "Unknown command %%htm. Did you mean %%html?"), "%s", msg);
    dn_commands_unknown("pwd", DN_CELL, msg, sizeof msg);
    CHECK(!strcmp(msg, "%pwd is a line command: write it with one %, as %pwd"), "%s", msg);
    dn_commands_unknown("x", DN_LINE, msg, sizeof msg);
    CHECK(!strcmp(msg, "Unknown command %x. %lsmagic lists the commands."), "one letter suggests nothing: %s", msg);

    /* the workspace holds static objects here: take them out before free */
    while (dn_workspace_count(m->ws)) dn_workspace_remove(m->ws, dn_workspace_name_at(m->ws, 0, NULL, NULL));
    it->ops->free(it);
    if (start && chdir(start) != 0) printf("cannot go back\n");
    free(start);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0) printf("could not remove %s\n", tmp);
    printf("%s\n", check_failures ? "FAILED" : "all passed");
    return check_failures != 0;
}
