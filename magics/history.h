/* history.h — the cells a kernel ran, for history_request (tail, range, search).
 * Kept in memory: a new kernel process starts session 1 with an empty history. */
#ifndef DN_HISTORY_H
#define DN_HISTORY_H

#include <jansson.h>

typedef struct dn_history dn_history;

dn_history *dn_history_new(int session);
void dn_history_free(dn_history *h);
/* Records cell number line of the current session; output (the result's text/plain) may
 * be NULL. Returns 0, or -1 when out of memory. */
int dn_history_add(dn_history *h, int line, const char *input, const char *output);
/* Sets the output of an entry recorded earlier (no-op when the line is unknown). */
void dn_history_set_output(dn_history *h, int line, const char *output);
/* Answers a history_request content: {"history": [[session, line, input], …]} or, with
 * "output": true, [session, line, [input, output]] entries (output null when none).
 *  - tail: the last n entries (default 10)
 *  - range: session (0 = this one, -k = k sessions back), start..stop, stop exclusive
 *    (0 or missing stop: to the end), as IPython's get_range
 *  - search: glob pattern (* ? [..]) matched against the whole input, case-sensitive;
 *    n: only the last n matches; unique: each input once (its latest occurrence). */
json_t *dn_history_query(const dn_history *h, json_t *request);

#endif
