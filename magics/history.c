/* history.c — an append-only array; glob matching by fnmatch(3). */
#include "history.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

typedef struct hentry {
    int line;
    char *input;
    char *output;
} hentry;

struct dn_history {
    int session;
    hentry *items;
    size_t n, cap;
};

dn_history *dn_history_new(int session)
{
    dn_history *h = calloc(1, sizeof *h);
    if (h) h->session = session;
    return h;
}

void dn_history_free(dn_history *h)
{
    if (!h) return;
    for (size_t k = 0; k < h->n; k++) {
        free(h->items[k].input);
        free(h->items[k].output);
    }
    free(h->items);
    free(h);
}

int dn_history_add(dn_history *h, int line, const char *input, const char *output)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        hentry *items = realloc(h->items, cap * sizeof *items);
        if (!items) return -1;
        h->items = items;
        h->cap = cap;
    }
    hentry e = { line, strdup(input ? input : ""), output ? strdup(output) : NULL };
    if (!e.input || (output && !e.output)) {
        free(e.input);
        free(e.output);
        return -1;
    }
    h->items[h->n++] = e;
    return 0;
}

void dn_history_set_output(dn_history *h, int line, const char *output)
{
    for (size_t k = h->n; k-- > 0;) {
        if (h->items[k].line != line) continue;
        char *copy = output ? strdup(output) : NULL;
        if (output && !copy) return;
        free(h->items[k].output);
        h->items[k].output = copy;
        return;
    }
}

static json_t *entry_json(const dn_history *h, const hentry *e, int output)
{
    /* invalid UTF-8 can't be sent as a JSON string: such text reads as empty / null */
    json_t *in = json_string(e->input);
    if (!in) in = json_string("");
    json_t *item = in;
    if (output) {
        json_t *out = e->output ? json_string(e->output) : NULL;
        item = json_pack("[o, o]", in, out ? out : json_null());
    }
    return json_pack("[i, i, o]", h->session, e->line, item);
}

/* A count or cell number from the request, clamped to what a history can hold: any
 * JSON number is accepted (n: 1e300 means "all"), none makes undefined behaviour, and a
 * big integer is not cut to its low bits (4294967298 is not 2). */
#define HIST_LIMIT 1000000000
static int get_int(json_t *req, const char *key, int dflt)
{
    json_t *v = json_object_get(req, key);
    double d;
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        return i > HIST_LIMIT ? HIST_LIMIT : i < -HIST_LIMIT ? -HIST_LIMIT : (int)i;
    }
    if (!json_is_real(v)) return dflt;
    d = json_real_value(v);
    if (d != d) return dflt;   /* NaN */
    return d > HIST_LIMIT ? HIST_LIMIT : d < -HIST_LIMIT ? -HIST_LIMIT : (int)d;
}

json_t *dn_history_query(const dn_history *h, json_t *request)
{
    json_t *list = json_array();
    const char *type = json_string_value(json_object_get(request, "hist_access_type"));
    int output = json_is_true(json_object_get(request, "output"));
    if (!type) type = "tail";

    /* chosen[k] != 0: entry k goes into the reply */
    char *chosen = calloc(h->n ? h->n : 1, 1);
    if (!list || !chosen) { free(chosen); json_decref(list); return NULL; }

    if (!strcmp(type, "tail")) {
        int n = get_int(request, "n", 10);
        for (size_t k = h->n; k-- > 0 && n > 0; n--) chosen[k] = 1;
    } else if (!strcmp(type, "range")) {
        int session = get_int(request, "session", 0);
        if (session <= 0) session += h->session;
        int start = get_int(request, "start", 0), stop = get_int(request, "stop", 0);
        if (session == h->session)
            for (size_t k = 0; k < h->n; k++)
                chosen[k] = h->items[k].line >= start && (stop <= 0 || h->items[k].line < stop);
    } else if (!strcmp(type, "search")) {
        const char *pattern = json_string_value(json_object_get(request, "pattern"));
        int unique = json_is_true(json_object_get(request, "unique"));
        int n = get_int(request, "n", 0), taken = 0;
        if (!pattern) pattern = "*";
        /* newest first, so n and unique keep the latest matches */
        for (size_t k = h->n; k-- > 0 && (n <= 0 || taken < n);) {
            if (fnmatch(pattern, h->items[k].input, 0) != 0) continue;
            int dup = 0;
            for (size_t q = k + 1; unique && q < h->n && !dup; q++)
                dup = chosen[q] && !strcmp(h->items[q].input, h->items[k].input);
            if (dup) continue;
            chosen[k] = 1;
            taken++;
        }
    }
    for (size_t k = 0; k < h->n; k++)
        if (chosen[k]) json_array_append_new(list, entry_json(h, &h->items[k], output));
    free(chosen);
    return json_pack("{s:o}", "history", list);
}
