/* registry.c — all command tables gathered, sorted, looked up; help pages; suggestions. */
#include "internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DN_COMMAND_SET(set) extern const dn_command dn_commands_##set[];
#include "commands.def"
#undef DN_COMMAND_SET

static const dn_command *const sets[] = {
#define DN_COMMAND_SET(set) dn_commands_##set,
#include "commands.def"
#undef DN_COMMAND_SET
};

static const dn_command **sorted;
static size_t nsorted;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static int by_name(const void *a, const void *b)
{
    const dn_command *x = *(const dn_command *const *)a, *y = *(const dn_command *const *)b;
    int c = strcmp(x->name, y->name);
    return c ? c : (int)x->kind - (int)y->kind;
}

static void build(void)
{
    size_t n = 0;
    for (size_t s = 0; s < sizeof sets / sizeof *sets; s++)
        for (const dn_command *c = sets[s]; c->name; c++) n++;
    sorted = malloc((n ? n : 1) * sizeof *sorted);
    if (!sorted) return;
    for (size_t s = 0; s < sizeof sets / sizeof *sets; s++)
        for (const dn_command *c = sets[s]; c->name; c++) sorted[nsorted++] = c;
    qsort(sorted, nsorted, sizeof *sorted, by_name);
}

int dn_commands_validate(char *err, size_t errlen)
{
    pthread_once(&once, build);
    if (!sorted) { snprintf(err, errlen, "out of memory"); return -1; }
    for (size_t k = 0; k < nsorted; k++) {
        const dn_command *c = sorted[k];
        if (!c->run || !c->synopsis || !c->help || (c->kind != DN_LINE && c->kind != DN_CELL)) {
            snprintf(err, errlen, "command %s is missing its handler, synopsis, help or kind", c->name);
            return -1;
        }
        if (k && !by_name(&sorted[k - 1], &sorted[k])) {
            snprintf(err, errlen, "two %s commands are named %s", c->kind == DN_CELL ? "cell" : "line", c->name);
            return -1;
        }
    }
    return 0;
}

size_t dn_commands_count(void)
{
    pthread_once(&once, build);
    return nsorted;
}

const dn_command *dn_commands_at(size_t i)
{
    pthread_once(&once, build);
    return i < nsorted ? sorted[i] : NULL;
}

const dn_command *dn_commands_find(const char *name, dn_command_kind kind)
{
    pthread_once(&once, build);
    for (size_t k = 0; name && k < nsorted; k++)
        if (sorted[k]->kind == kind && !strcmp(sorted[k]->name, name)) return sorted[k];
    return NULL;
}

char *dn_command_help(const dn_command *cmd, int detail)
{
    const char *kind = cmd->kind == DN_CELL
        ? "Cell command: the first line of a cell; the rest of the cell is its body."
        : "Line command.";
    /* a help whose second line is the full usage ("%split DIR [valid=2000] [...]") says
     * what the short synopsis says: shown once, not twice */
    const char *nl = strchr(cmd->help, '\n');
    char usage[80];
    snprintf(usage, sizeof usage, "%s%s", cmd->kind == DN_CELL ? "%%" : "%", cmd->name);
    int has_usage = nl && !strncmp(nl + 1, usage, strlen(usage))
                    && (nl[1 + strlen(usage)] == ' ' || nl[1 + strlen(usage)] == '\n'
                        || !nl[1 + strlen(usage)]);
    const char *top = has_usage ? "" : cmd->synopsis, *gap = has_usage ? "" : "\n\n";
    char *text = NULL;
    int n = detail > 1
        ? asprintf(&text, "%s%s%s\n\n%s\nDefined in: %s\n", top, gap, cmd->help, kind,
                   cmd->source ? cmd->source : "magics/")
        : asprintf(&text, "%s%s%s\n\n%s\n", top, gap, cmd->help, kind);
    return n < 0 ? NULL : text;
}

int dn_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64) return 1000;   /* names are short; anything longer is no match */
    int d[65][65];
    for (size_t i = 0; i <= la; i++) d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++) d[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            int cost = a[i - 1] != b[j - 1];
            int v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v) v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < v) v = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    }
    return d[la][lb];
}

void dn_commands_unknown(const char *name, dn_command_kind kind, char *msg, size_t len)
{
    const char *mine = kind == DN_CELL ? "%%" : "%";
    dn_command_kind other = kind == DN_CELL ? DN_LINE : DN_CELL;
    if (dn_commands_find(name, other)) {
        if (other == DN_CELL)
            snprintf(msg, len, "%%%%%s is a cell command: write %%%%%s on the first line of the "
                     "cell, its body below", name, name);
        else
            snprintf(msg, len, "%%%s is a line command: write it with one %%, as %%%s", name, name);
        return;
    }
    const dn_command *best = NULL;
    int bestd = 1000;
    for (size_t k = 0; k < dn_commands_count(); k++) {
        const dn_command *c = dn_commands_at(k);
        int d = dn_edit_distance(name, c->name) + (c->kind != kind);   /* prefer the same kind */
        if (d < bestd) { bestd = d; best = c; }
    }
    /* close enough to be a typo: at most 2 edits, and fewer than half the letters */
    size_t l = strlen(name);
    if (best && bestd <= 2 && (size_t)bestd * 2 < (l > strlen(best->name) ? l : strlen(best->name)) + 1)
        snprintf(msg, len, "Unknown command %s%s. Did you mean %s%s?", mine, name,
                 best->kind == DN_CELL ? "%%" : "%", best->name);
    else
        snprintf(msg, len, "Unknown command %s%s. %%lsmagic lists the commands.", mine, name);
}

const char dn_shell_help[] =
    "!COMMAND\n\n"
    "Runs COMMAND with /bin/sh -c in the kernel's working directory (see %cd). Pipes,\n"
    "redirections and globs work as in a terminal: !ls train | shuf -n 5\n"
    "Output appears while the command runs, stdout and stderr apart. Standard input is\n"
    "empty (/dev/null): a command that asks a question gets end-of-file.\n"
    "A line ending in \\ continues on the next line.\n\n"
    "Exit status: a command that exits with a non-zero status fails the cell with a\n"
    "ShellError (\"`false` exited with status 1\"), and the lines after it in the cell\n"
    "do not run, as with `set -e`. Write `!cmd || true` to ignore a failure.\n\n"
    "Interrupt (the notebook's stop button) sends SIGINT to the command's process group,\n"
    "then SIGTERM after a second and SIGKILL after two; the cell ends with\n"
    "KeyboardInterrupt and the kernel keeps its state.\n";
