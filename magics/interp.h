/* interp.h — the one seam between the Jupyter protocol core (kernel/) and a language
 * (magics/). The core knows no language; a language knows no sockets or wire format.
 *
 * Ownership: every json_t* handed to a function here is borrowed for the duration of the
 * call; every json_t* a function returns is a new reference the caller owns.
 * Threads: all calls except interrupt() come from the shell thread, one at a time.
 * Positions (cursor_pos, cursor_start, cursor_end) count Unicode code points.
 */
#ifndef DN_INTERP_H
#define DN_INTERP_H

#include <jansson.h>
#include <stddef.h>

/* What a running request can publish. Implemented by the core; each call goes out on
 * iopub at once, with the request being served as parent. */
typedef struct dn_sink {
    void *ctx;
    /* name is "stdout" or "stderr"; text is UTF-8 (invalid bytes are replaced by the core) */
    void (*stream)(void *ctx, const char *name, const char *text, size_t len);
    /* data is a MIME bundle {"text/plain": ..., "text/html": ...}; metadata may be NULL;
     * display_id may be NULL (no transient id) */
    void (*display_data)(void *ctx, json_t *data, json_t *metadata, const char *display_id);
    void (*update_display_data)(void *ctx, json_t *data, json_t *metadata, const char *display_id);
    /* the cell's result; the core adds execution_count. data must hold text/plain. */
    void (*execute_result)(void *ctx, json_t *data, json_t *metadata);
    /* publishes an iopub error and makes the reply status "error" (last call wins).
     * traceback is an array of strings, or NULL for [evalue-line]. */
    void (*error)(void *ctx, const char *ename, const char *evalue, json_t *traceback);
    void (*clear_output)(void *ctx, int wait);
    /* appends to execute_reply.payload, e.g. {"source":"page","data":{...},"start":0} */
    void (*payload)(void *ctx, json_t *item);
    /* input_request on stdin; returns the reply (caller frees) or NULL when the request
     * did not allow stdin or the client went away / an interrupt came */
    char *(*input)(void *ctx, const char *prompt, int password);
} dn_sink;

typedef struct dn_execute_request {
    const char *code;
    int silent;          /* no iopub output, no history */
    int store_history;
    int allow_stdin;
    int execution_count; /* the number this cell gets (already incremented when store_history) */
} dn_execute_request;

typedef struct dn_interp dn_interp;

typedef struct dn_interp_ops {
    /* kernel_info_reply fields the language owns: implementation, implementation_version,
     * language_info, banner, help_links. The core adds status and protocol_version. */
    json_t *(*kernel_info)(dn_interp *self);
    /* Runs a cell, publishing through out. Returns 0 when it succeeded, non-zero when it
     * failed (after calling out->error). Must return soon after interrupt(). */
    int (*execute)(dn_interp *self, const dn_execute_request *req, const dn_sink *out);
    /* {matches, cursor_start, cursor_end, metadata} */
    json_t *(*complete)(dn_interp *self, const char *code, int cursor_pos);
    /* {found, data, metadata} */
    json_t *(*inspect)(dn_interp *self, const char *code, int cursor_pos, int detail_level);
    /* {status: complete|incomplete|invalid|unknown [, indent]} */
    json_t *(*is_complete)(dn_interp *self, const char *code);
    /* request is the history_request content; returns {history: [...]} */
    json_t *(*history)(dn_interp *self, json_t *request);
    /* Async-signal-safe: may be called from a SIGINT handler or the control thread while
     * execute() runs on the shell thread. Asks the running cell to stop. */
    void (*interrupt)(dn_interp *self);
    /* Called once before the process exits or restarts; releases children and files. */
    void (*shutdown)(dn_interp *self, int restart);
    void (*free)(dn_interp *self);
} dn_interp_ops;

struct dn_interp {
    const dn_interp_ops *ops;
};

#endif
