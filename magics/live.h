/* live.h — a display that changes in place, for the progress of long work: the first
 * show sends display_data with a display_id, later ones update_display_data with it.
 * dn_live_due says when another update is worth a message, so a thousand steps send
 * tens of messages, not thousands. */
#ifndef DN_LIVE_H
#define DN_LIVE_H

#include "command.h"

typedef struct dn_live {
    dn_ctx *ctx;
    char id[80];
    int shown;          /* the display exists */
    double t0, last;    /* when the work started, when the display last changed */
} dn_live;

/* seconds on a monotonic clock */
double dn_mono_s(void);

/* kind names the display id ("deepnb-<kind>-<time>-<n>"); the clock starts now */
void dn_live_init(dn_live *l, dn_ctx *ctx, const char *kind);
/* Whether to show now: first_after seconds after the start for the first show (0:
 * at once), then every `every` seconds. */
int dn_live_due(const dn_live *l, double first_after, double every);
/* Shows bundle (borrowed; NULL is ignored). */
void dn_live_show(dn_live *l, json_t *bundle);
/* Empties a display that was shown: its place in the record then does not depend on
 * how long the work took. */
void dn_live_clear(dn_live *l);

#endif
