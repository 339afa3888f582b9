/* workspace.c — a sorted array of named objects; kernels hold tens of them, not millions. */
#include "workspace.h"
#include "internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

typedef struct entry {
    char *name;
    const dn_type *type;
    void *obj;
} entry;

struct dn_workspace {
    entry *items;
    size_t n, cap;
    uint64_t seed;
    int seed_set;
    uint64_t drawn;     /* seeds handed out since the seed was set */
};

dn_workspace *dn_workspace_new(void)
{
    dn_workspace *ws = calloc(1, sizeof *ws);
    if (!ws) return NULL;
    uint64_t s;
    if (getrandom(&s, sizeof s, GRND_NONBLOCK) != (ssize_t)sizeof s)
        s = (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ull;
    ws->seed = s % 1000000000ull;   /* small enough to read and retype */
    return ws;
}

void dn_workspace_free(dn_workspace *ws)
{
    if (!ws) return;
    for (size_t k = 0; k < ws->n; k++) {
        if (ws->items[k].type && ws->items[k].type->free) ws->items[k].type->free(ws->items[k].obj);
        free(ws->items[k].name);
    }
    free(ws->items);
    free(ws);
}

int dn_workspace_valid_name(const char *name)
{
    if (!name || !(isalpha((unsigned char)name[0]) || name[0] == '_')) return 0;
    for (const char *c = name + 1; *c; c++)
        if (!(isalnum((unsigned char)*c) || *c == '_')) return 0;
    return 1;
}

/* index of name, or -(insertion point) - 1 */
static long find(const dn_workspace *ws, const char *name)
{
    size_t lo = 0, hi = ws->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(ws->items[mid].name, name);
        if (c == 0) return (long)mid;
        if (c < 0) lo = mid + 1; else hi = mid;
    }
    return -(long)lo - 1;
}

int dn_workspace_set(dn_workspace *ws, const char *name, const dn_type *type, void *obj,
                     char *err, size_t errlen)
{
    if (!dn_workspace_valid_name(name)) {
        snprintf(err, errlen, "'%s' cannot be a name: use letters, digits and _, not starting "
                 "with a digit", name ? name : "");
        return -1;
    }
    long at = find(ws, name);
    if (at >= 0) {
        entry *e = &ws->items[at];
        if (e->obj != obj && e->type && e->type->free) e->type->free(e->obj);
        e->type = type;
        e->obj = obj;
        return 0;
    }
    if (ws->n == ws->cap) {
        size_t cap = ws->cap ? ws->cap * 2 : 16;
        entry *items = realloc(ws->items, cap * sizeof *items);
        if (!items) { snprintf(err, errlen, "out of memory"); return -1; }
        ws->items = items;
        ws->cap = cap;
    }
    char *copy = strdup(name);
    if (!copy) { snprintf(err, errlen, "out of memory"); return -1; }
    size_t pos = (size_t)(-at - 1);
    memmove(ws->items + pos + 1, ws->items + pos, (ws->n - pos) * sizeof *ws->items);
    ws->items[pos] = (entry){ copy, type, obj };
    ws->n++;
    return 0;
}

void *dn_workspace_get(const dn_workspace *ws, const char *name, const dn_type **type)
{
    long at = name ? find(ws, name) : -1;
    if (at < 0) return NULL;
    if (type) *type = ws->items[at].type;
    return ws->items[at].obj;
}

void *dn_workspace_get_typed(const dn_workspace *ws, const char *name, const dn_type *type,
                             char *err, size_t errlen)
{
    long at = name ? find(ws, name) : -1;
    if (at < 0) {
        dn_workspace_missing(ws, name, err, errlen);
        return NULL;
    }
    const dn_type *t = ws->items[at].type;
    if (t != type) {
        const char *have = t ? t->name : "unknown";
        const char *want = type ? type->name : "unknown";
        snprintf(err, errlen, "'%s' is %s %s, not %s %s", name,
                 strchr("aeiou", have[0]) ? "an" : "a", have,
                 strchr("aeiou", want[0]) ? "an" : "a", want);
        return NULL;
    }
    return ws->items[at].obj;
}

void dn_workspace_missing(const dn_workspace *ws, const char *name, char *err, size_t errlen)
{
    const char *best = NULL;
    int bestd = 3;
    for (size_t k = 0; name && k < ws->n; k++) {
        int d = dn_edit_distance(name, ws->items[k].name);
        if (d < bestd && d < (int)strlen(name)) { bestd = d; best = ws->items[k].name; }
    }
    if (best)
        snprintf(err, errlen, "no name '%s' in the workspace. Did you mean '%s'?", name, best);
    else
        snprintf(err, errlen, "no name '%s' in the workspace (%%who lists them)", name ? name : "");
}

int dn_workspace_remove(dn_workspace *ws, const char *name)
{
    long at = find(ws, name);
    if (at < 0) return -1;
    entry *e = &ws->items[at];
    if (e->type && e->type->free) e->type->free(e->obj);
    free(e->name);
    memmove(e, e + 1, (ws->n - (size_t)at - 1) * sizeof *e);
    ws->n--;
    return 0;
}

size_t dn_workspace_count(const dn_workspace *ws) { return ws->n; }

const char *dn_workspace_name_at(const dn_workspace *ws, size_t i, const dn_type **type,
                                 const void **obj)
{
    if (i >= ws->n) return NULL;
    if (type) *type = ws->items[i].type;
    if (obj) *obj = ws->items[i].obj;
    return ws->items[i].name;
}

uint64_t dn_workspace_seed(const dn_workspace *ws) { return ws->seed; }
int dn_workspace_seed_is_set(const dn_workspace *ws) { return ws->seed_set; }

void dn_workspace_set_seed(dn_workspace *ws, uint64_t seed)
{
    ws->seed = seed;
    ws->seed_set = 1;
    ws->drawn = 0;
}

/* splitmix64: a well-mixed 64-bit output for each (seed, draw number) */
uint64_t dn_workspace_peek_seed(const dn_workspace *ws)
{
    uint64_t z = ws->seed + 0x9E3779B97F4A7C15ull * (ws->drawn + 1);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint64_t dn_workspace_next_seed(dn_workspace *ws)
{
    uint64_t z = dn_workspace_peek_seed(ws);
    ws->drawn++;
    return z;
}
