/* live.c — see live.h. */
#include "live.h"

#include <stdio.h>
#include <time.h>

double dn_mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void dn_live_init(dn_live *l, dn_ctx *ctx, const char *kind)
{
    static unsigned serial;
    l->ctx = ctx;
    l->shown = 0;
    snprintf(l->id, sizeof l->id, "deepnb-%s-%ld-%u", kind, (long)time(NULL), ++serial);
    l->t0 = l->last = dn_mono_s();
}

int dn_live_due(const dn_live *l, double first_after, double every)
{
    double now = dn_mono_s();
    return l->shown ? now - l->last >= every : now - l->t0 >= first_after;
}

void dn_live_show(dn_live *l, json_t *bundle)
{
    if (!bundle) return;
    const dn_sink *out = dn_ctx_sink(l->ctx);
    if (!l->shown) out->display_data(out->ctx, bundle, NULL, l->id);
    else out->update_display_data(out->ctx, bundle, NULL, l->id);
    l->shown = 1;
    l->last = dn_mono_s();
}

void dn_live_clear(dn_live *l)
{
    if (!l->shown) return;
    json_t *b = json_pack("{s:s, s:s}", "text/plain", "", "text/html", "");
    dn_live_show(l, b);
    json_decref(b);
}
