/* core.c — the protocol core: parse, dispatch by msg_type through one table, publish
 * busy/idle around every request, implement the interpreter's sink. */
#include "core.h"

#include "log.h"
#include "utf8.h"
#include "wire.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* How long an input() wait sleeps between looks at the interrupt and quit flags. */
#define DN_INPUT_TICK_MS 100

struct dn_core {
    dn_interp *interp;
    dn_transport *t;
    const dn_signer *signer;
    json_t *kernel_info;          /* the reply content, built once; never mutated after */
    pthread_mutex_t info_lock;    /* shell and control both copy it; jansson promises no thread safety */
    char session[40];             /* this process's session id, also msg_id prefix */
    char id_prefix[64];
    atomic_ulong counter;         /* msg_id sequence */
    int execution_count;          /* shell thread only */
    int aborting;                 /* shell thread only: answer queued execute_requests "aborted" */
    atomic_int interrupted;       /* set by dn_core_interrupt, cleared per execute */
    atomic_int quit, restart;
};

/* One request being served; also the ctx of the sink handed to the interpreter. */
typedef struct dn_request {
    dn_core *c;
    dn_channel ch;
    dn_msg msg;
    const char *type;
    int silent, allow_stdin;
    int execution_count;
    json_t *error;                /* {ename, evalue, traceback} of the last out->error */
    json_t *payload;              /* execute_reply.payload */
    int abort_queue;              /* set by a failed execute with stop_on_error */
    dn_frames *waiting;           /* then: the shell requests that were already waiting */
    size_t nwaiting;
} dn_request;

/* ---------------------------------------------------------------- messages out */

static json_t *new_header(dn_core *c, const char *msg_type)
{
    char id[96], date[40];
    snprintf(id, sizeof id, "%s_%lu", c->id_prefix, (unsigned long)atomic_fetch_add(&c->counter, 1) + 1);
    dn_iso_now(date);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "msg_id", id, "session", c->session,
                     "username", "deepnb", "date", date, "msg_type", msg_type,
                     "version", DN_PROTOCOL_VERSION);
}

/* Builds and sends one message; steals content and metadata (NULL = {}). */
static int send_msg(dn_core *c, dn_channel ch, dn_channel origin, const dn_frames *ids,
                    json_t *parent, const char *msg_type, json_t *metadata, json_t *content)
{
    dn_msg m = { 0 };
    m.header = new_header(c, msg_type);
    m.parent = parent ? json_incref(parent) : json_object();
    m.metadata = metadata ? metadata : json_object();
    m.content = content ? content : json_object();
    if (ids) m.ids = *ids;  /* borrowed: detached before dn_msg_fini */
    dn_frames out = { 0 };
    int rc = -1;
    if (m.header && m.content && m.metadata && dn_wire_build(&m, c->signer, &out) == 0)
        rc = c->t->ops->send(c->t, ch, origin, &out);
    else
        dn_error("could not build a %s message", msg_type);
    if (dn_log_enabled(DN_LOG_DEBUG)) {
        char *s = json_dumps(m.content, JSON_COMPACT);
        dn_debug("send %s on %d: %.300s", msg_type, (int)ch, s ? s : "?");
        free(s);
    }
    memset(&m.ids, 0, sizeof m.ids);
    dn_msg_fini(&m);
    dn_frames_clear(&out);
    return rc;
}

/* iopub topic frame, the way ipykernel names them: kernel.<session>.<msg_type> */
static void publish(dn_request *r, const char *msg_type, json_t *content)
{
    char topic[128];
    snprintf(topic, sizeof topic, "kernel.%s.%s", r->c->session, msg_type);
    dn_frames ids = { 0 };
    if (dn_frames_push(&ids, topic, strlen(topic)) == 0)
        send_msg(r->c, DN_IOPUB, r->ch, &ids, r->msg.header, msg_type, NULL, content);
    else
        json_decref(content);
    dn_frames_clear(&ids);
}

static void publish_status(dn_request *r, const char *state)
{
    publish(r, "status", json_pack("{s:s}", "execution_state", state));
}

/* "execute_request" -> "execute_reply" */
static void reply_type(const char *req_type, char *out, size_t outlen)
{
    size_t n = strlen(req_type);
    if (n > 8 && strcmp(req_type + n - 8, "_request") == 0)
        snprintf(out, outlen, "%.*s_reply", (int)(n - 8), req_type);
    else
        snprintf(out, outlen, "%s_reply", req_type);
}

static void reply(dn_request *r, json_t *metadata, json_t *content)
{
    char type[128];
    reply_type(r->type, type, sizeof type);
    send_msg(r->c, r->ch, r->ch, &r->msg.ids, r->msg.header, type, metadata, content);
}

static void reply_error(dn_request *r, const char *ename, const char *evalue)
{
    json_t *content = json_pack("{s:s, s:s, s:s, s:[s++]}", "status", "error", "ename", ename,
                                "evalue", evalue, "traceback", ename, ": ", evalue);
    if (strcmp(r->type, "execute_request") == 0)
        json_object_set_new(content, "execution_count", json_integer(r->c->execution_count));
    reply(r, NULL, content);
}

static int is_request(const char *type)
{
    size_t n = strlen(type);
    return n > 8 && strcmp(type + n - 8, "_request") == 0;
}

/* ---------------------------------------------------------------- content fields */

/* Fetches a required string field, answering with an error reply when it is absent. */
static const char *need_string(dn_request *r, const char *name)
{
    json_t *v = json_object_get(r->msg.content, name);
    char msg[160];
    if (json_is_string(v)) {
        /* the interpreter takes C strings: a NUL inside would silently cut the text */
        if (strlen(json_string_value(v)) == json_string_length(v)) return json_string_value(v);
        snprintf(msg, sizeof msg, "%s field \"%s\" contains a NUL character", r->type, name);
        dn_warn("%s", msg);
        reply_error(r, "BadRequest", msg);
        return NULL;
    }
    snprintf(msg, sizeof msg, "%s needs a string field \"%s\"", r->type, name);
    dn_warn("%s", msg);
    reply_error(r, "BadRequest", msg);
    return NULL;
}

static int need_int(dn_request *r, const char *name, int *out)
{
    json_t *v = json_object_get(r->msg.content, name);
    if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= 1 << 30) {
        *out = (int)json_integer_value(v);
        return 0;
    }
    char msg[160];
    snprintf(msg, sizeof msg, "%s needs a non-negative integer field \"%s\"", r->type, name);
    dn_warn("%s", msg);
    reply_error(r, "BadRequest", msg);
    return -1;
}

static int opt_bool(dn_request *r, const char *name, int dflt)
{
    json_t *v = json_object_get(r->msg.content, name);
    return json_is_boolean(v) ? json_is_true(v) : dflt;
}

/* Adds status "ok" to an interpreter's answer and sends it, or an error when it had none. */
static void reply_from_interp(dn_request *r, json_t *content, const char *status)
{
    if (!json_is_object(content)) {
        json_decref(content);
        reply_error(r, "InternalError", "the interpreter gave no answer");
        return;
    }
    if (status) json_object_set_new(content, "status", json_string(status));
    reply(r, NULL, content);
}

/* ---------------------------------------------------------------- the sink */

static void sink_stream(void *ctx, const char *name, const char *text, size_t len)
{
    dn_request *r = ctx;
    if (r->silent || len == 0) return;
    if (strcmp(name, "stdout") != 0 && strcmp(name, "stderr") != 0) {
        dn_warn("stream \"%s\" is neither stdout nor stderr; sent as stdout", name);
        name = "stdout";
    }
    size_t n;
    char *clean = dn_utf8_sanitize(text, len, &n);
    if (!clean) return;
    publish(r, "stream", json_pack("{s:s, s:s%}", "name", name, "text", clean, n));
    free(clean);
}

static json_t *display_content(json_t *data, json_t *metadata, const char *display_id)
{
    json_t *transient = display_id ? json_pack("{s:s}", "display_id", display_id) : json_object();
    return json_pack("{s:O, s:O, s:o}", "data", data,
                     "metadata", json_is_object(metadata) ? metadata : json_object(),
                     "transient", transient);
}

static void sink_display(void *ctx, json_t *data, json_t *metadata, const char *display_id)
{
    dn_request *r = ctx;
    if (r->silent) return;
    if (!json_is_object(data)) { dn_warn("display_data without a MIME bundle dropped"); return; }
    json_t *md = json_is_object(metadata) ? json_incref(metadata) : json_object();
    publish(r, "display_data", display_content(data, md, display_id));
    json_decref(md);
}

static void sink_update_display(void *ctx, json_t *data, json_t *metadata, const char *display_id)
{
    dn_request *r = ctx;
    if (r->silent) return;
    if (!display_id || !json_is_object(data)) {
        dn_warn("update_display_data needs a display_id and a MIME bundle; dropped");
        return;
    }
    json_t *md = json_is_object(metadata) ? json_incref(metadata) : json_object();
    publish(r, "update_display_data", display_content(data, md, display_id));
    json_decref(md);
}

static void sink_execute_result(void *ctx, json_t *data, json_t *metadata)
{
    dn_request *r = ctx;
    if (r->silent) return;
    if (!json_is_object(data)) { dn_warn("execute_result without a MIME bundle dropped"); return; }
    json_t *bundle = json_copy(data);
    if (!json_object_get(bundle, "text/plain"))  /* front ends and validators need it */
        json_object_set_new(bundle, "text/plain", json_string(""));
    json_t *md = json_is_object(metadata) ? json_incref(metadata) : json_object();
    publish(r, "execute_result", json_pack("{s:i, s:o, s:o}", "execution_count",
                                           r->execution_count, "data", bundle, "metadata", md));
}

static void sink_error(void *ctx, const char *ename, const char *evalue, json_t *traceback)
{
    dn_request *r = ctx;
    size_t n1, n2;
    char *en = dn_utf8_sanitize(ename ? ename : "Error", strlen(ename ? ename : "Error"), &n1);
    char *ev = dn_utf8_sanitize(evalue ? evalue : "", strlen(evalue ? evalue : ""), &n2);
    if (!en || !ev) { free(en); free(ev); return; }
    json_t *tb;
    if (json_is_array(traceback)) {
        tb = json_array();
        size_t i;
        json_t *line;
        json_array_foreach(traceback, i, line)
            if (json_is_string(line)) json_array_append(tb, line);
    } else {
        tb = json_pack("[s++]", en, ": ", ev);
    }
    json_decref(r->error);
    r->error = json_pack("{s:s, s:s, s:o}", "ename", en, "evalue", ev, "traceback", tb);
    free(en);
    free(ev);
    if (!r->silent) publish(r, "error", json_deep_copy(r->error));
}

static void sink_clear_output(void *ctx, int wait)
{
    dn_request *r = ctx;
    if (!r->silent) publish(r, "clear_output", json_pack("{s:b}", "wait", wait));
}

static void sink_payload(void *ctx, json_t *item)
{
    dn_request *r = ctx;
    if (json_is_object(item)) json_array_append(r->payload, item);
}

/* Looks once at the stdin channel for an input_reply; 1 = got one, 0 = not yet, -1 = stop. */
static int take_input_reply(dn_request *r, char **value)
{
    dn_core *c = r->c;
    dn_frames f = { 0 };
    int rc = c->t->ops->recv(c->t, DN_STDIN, DN_INPUT_TICK_MS, &f);
    if (rc <= 0) { dn_frames_clear(&f); return rc; }
    dn_msg m;
    char err[200];
    int ok = dn_wire_parse(&f, c->signer, &m, err, sizeof err);
    dn_frames_clear(&f);
    if (ok != DN_WIRE_OK) {
        dn_warn("stdin: message dropped: %s", err);
        if (ok == DN_WIRE_BAD_BODY) dn_msg_fini(&m);
        return 0;
    }
    const char *type = json_string_value(json_object_get(m.header, "msg_type"));
    json_t *v = json_object_get(m.content, "value");
    int got = 0;
    if (strcmp(type, "input_reply") != 0) {
        dn_warn("stdin: unexpected %s ignored", type);
    } else if (!json_is_string(v)) {
        dn_warn("stdin: input_reply without a string value ignored");
    } else {
        *value = strdup(json_string_value(v));
        got = 1;
    }
    dn_msg_fini(&m);
    return got;
}

static char *sink_input(void *ctx, const char *prompt, int password)
{
    dn_request *r = ctx;
    dn_core *c = r->c;
    if (!r->allow_stdin) return NULL;
    /* replies to earlier, abandoned requests must not answer this one */
    dn_frames stale = { 0 };
    while (c->t->ops->recv(c->t, DN_STDIN, 0, &stale) == 1) dn_frames_clear(&stale);
    dn_frames_clear(&stale);
    size_t n;
    char *p = dn_utf8_sanitize(prompt ? prompt : "", prompt ? strlen(prompt) : 0, &n);
    if (!p) return NULL;
    json_t *content = json_pack("{s:s%, s:b}", "prompt", p, n, "password", password);
    free(p);
    if (send_msg(c, DN_STDIN, DN_SHELL, &r->msg.ids, r->msg.header, "input_request", NULL, content))
        return NULL;
    char *value = NULL;
    for (;;) {
        if (atomic_load(&c->interrupted) || atomic_load(&c->quit)) return NULL;
        int rc = take_input_reply(r, &value);
        if (rc < 0) return NULL;
        if (rc > 0) return value;
    }
}

static dn_sink make_sink(dn_request *r)
{
    dn_sink s = {
        .ctx = r,
        .stream = sink_stream,
        .display_data = sink_display,
        .update_display_data = sink_update_display,
        .execute_result = sink_execute_result,
        .error = sink_error,
        .clear_output = sink_clear_output,
        .payload = sink_payload,
        .input = sink_input,
    };
    return s;
}

/* ---------------------------------------------------------------- handlers */

static void h_kernel_info(dn_core *c, dn_request *r)
{
    pthread_mutex_lock(&c->info_lock);
    json_t *content = json_deep_copy(c->kernel_info);
    pthread_mutex_unlock(&c->info_lock);
    reply(r, NULL, content);
}

static json_t *execute_metadata(dn_core *c, const char *started, const char *status)
{
    return json_pack("{s:s, s:b, s:s, s:s}", "started", started, "dependencies_met", 1,
                     "engine", c->session, "status", status);
}

/* Receives every shell request already waiting (without blocking) into r->waiting. */
static void take_waiting(dn_core *c, dn_request *r)
{
    dn_frames f = { 0 };
    while (c->t->ops->recv(c->t, DN_SHELL, 0, &f) == 1) {
        dn_frames *w = realloc(r->waiting, (r->nwaiting + 1) * sizeof *w);
        if (!w) {
            dn_warn("out of memory: a request waiting behind a failed cell is dropped");
            dn_frames_clear(&f);
            continue;
        }
        r->waiting = w;
        r->waiting[r->nwaiting++] = f;
        memset(&f, 0, sizeof f);
    }
    dn_frames_clear(&f);
}

static void h_execute(dn_core *c, dn_request *r)
{
    const char *code = need_string(r, "code");
    if (!code) return;
    char started[40];
    dn_iso_now(started);
    r->silent = opt_bool(r, "silent", 0);
    int store_history = r->silent ? 0 : opt_bool(r, "store_history", 1);
    r->allow_stdin = opt_bool(r, "allow_stdin", 1);
    int stop_on_error = opt_bool(r, "stop_on_error", 1);
    if (store_history) c->execution_count++;
    r->execution_count = c->execution_count;
    r->payload = json_array();
    atomic_store(&c->interrupted, 0);

    if (!r->silent)
        publish(r, "execute_input", json_pack("{s:s, s:i}", "code", code,
                                              "execution_count", r->execution_count));
    dn_execute_request req = {
        .code = code, .silent = r->silent, .store_history = store_history,
        .allow_stdin = r->allow_stdin, .execution_count = r->execution_count,
    };
    dn_sink sink = make_sink(r);
    int rc = c->interp->ops->execute(c->interp, &req, &sink);
    if (rc != 0 && !r->error) {
        dn_warn("the interpreter failed a cell without saying why");
        sink_error(r, "Error", "the cell failed", NULL);
    }
    json_t *content;
    if (r->error) {
        content = json_deep_copy(r->error);
        json_object_set_new(content, "status", json_string("error"));
        r->abort_queue = stop_on_error && !r->silent;
        /* the requests queued behind the failed cell are the ones to abort: taken now,
         * before its reply, so that a request the client sends once it has the reply is
         * served, never mistaken for one that was waiting */
        if (r->abort_queue && !c->aborting) take_waiting(c, r);
    } else {
        content = json_pack("{s:s}", "status", "ok");
    }
    json_object_set_new(content, "execution_count", json_integer(r->execution_count));
    json_object_set_new(content, "user_expressions", json_object());
    json_object_set(content, "payload", r->payload);
    reply(r, execute_metadata(c, started, r->error ? "error" : "ok"), content);
}

/* Like ipykernel: the reply says "aborted" in content and metadata. */
static void reply_aborted(dn_core *c, dn_request *r)
{
    char started[40];
    dn_iso_now(started);
    dn_info("aborting %s after an error", r->type);
    reply(r, execute_metadata(c, started, "aborted"), json_pack("{s:s}", "status", "aborted"));
}

static void h_complete(dn_core *c, dn_request *r)
{
    const char *code = need_string(r, "code");
    int pos;
    if (!code || need_int(r, "cursor_pos", &pos)) return;
    reply_from_interp(r, c->interp->ops->complete(c->interp, code, pos), "ok");
}

static void h_inspect(dn_core *c, dn_request *r)
{
    const char *code = need_string(r, "code");
    int pos, detail = 0;
    if (!code || need_int(r, "cursor_pos", &pos)) return;
    json_t *d = json_object_get(r->msg.content, "detail_level");
    if (json_is_integer(d) && json_integer_value(d) == 1) detail = 1;
    reply_from_interp(r, c->interp->ops->inspect(c->interp, code, pos, detail), "ok");
}

static void h_is_complete(dn_core *c, dn_request *r)
{
    const char *code = need_string(r, "code");
    if (code) reply_from_interp(r, c->interp->ops->is_complete(c->interp, code), NULL);
}

static void h_history(dn_core *c, dn_request *r)
{
    reply_from_interp(r, c->interp->ops->history(c->interp, r->msg.content), "ok");
}

static void h_comm_info(dn_core *c, dn_request *r)
{
    (void)c;
    reply(r, NULL, json_pack("{s:s, s:{}}", "status", "ok", "comms"));
}

/* No comm targets exist: close the new comm at once, as ipykernel does for unknown targets. */
static void h_comm_open(dn_core *c, dn_request *r)
{
    (void)c;
    json_t *id = json_object_get(r->msg.content, "comm_id");
    const char *target = json_string_value(json_object_get(r->msg.content, "target_name"));
    dn_info("comm_open for target \"%s\": no such target, closing it", target ? target : "?");
    if (json_is_string(id))
        publish(r, "comm_close", json_pack("{s:O, s:{}}", "comm_id", id, "data"));
}

static void h_comm_ignore(dn_core *c, dn_request *r)
{
    (void)c;
    dn_info("%s for an unknown comm ignored", r->type);
}

static void h_shutdown(dn_core *c, dn_request *r)
{
    int restart = opt_bool(r, "restart", 0);
    reply(r, NULL, json_pack("{s:s, s:b}", "status", "ok", "restart", restart));
    atomic_store(&c->restart, restart);
    atomic_store(&c->quit, 1);
    dn_core_interrupt(c);  /* a cell still running on the shell thread must end */
    c->t->ops->stop(c->t);
}

static void h_interrupt(dn_core *c, dn_request *r)
{
    dn_core_interrupt(c);
    reply(r, NULL, json_pack("{s:s}", "status", "ok"));
}

enum { ON_SHELL = 1 << DN_SHELL, ON_CONTROL = 1 << DN_CONTROL };

static const struct {
    const char *type;
    void (*fn)(dn_core *, dn_request *);
    unsigned channels;  /* interpreter calls happen only on the shell thread */
} handlers[] = {
    { "kernel_info_request", h_kernel_info, ON_SHELL | ON_CONTROL },
    { "execute_request", h_execute, ON_SHELL },
    { "complete_request", h_complete, ON_SHELL },
    { "inspect_request", h_inspect, ON_SHELL },
    { "is_complete_request", h_is_complete, ON_SHELL },
    { "history_request", h_history, ON_SHELL },
    { "comm_info_request", h_comm_info, ON_SHELL | ON_CONTROL },
    { "comm_open", h_comm_open, ON_SHELL },
    { "comm_msg", h_comm_ignore, ON_SHELL },
    { "comm_close", h_comm_ignore, ON_SHELL },
    { "shutdown_request", h_shutdown, ON_SHELL | ON_CONTROL },
    { "interrupt_request", h_interrupt, ON_SHELL | ON_CONTROL },
};

/* ---------------------------------------------------------------- dispatch */

static void dispatch(dn_core *c, dn_request *r, int wire, const char *wire_err)
{
    if (wire == DN_WIRE_BAD_BODY) {
        if (is_request(r->type)) reply_error(r, "BadRequest", wire_err);
        return;
    }
    if (c->aborting && r->ch == DN_SHELL && strcmp(r->type, "execute_request") == 0) {
        reply_aborted(c, r);
        return;
    }
    for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++) {
        if (strcmp(handlers[i].type, r->type) != 0) continue;
        if (!(handlers[i].channels & (1u << r->ch))) {
            char msg[160];
            snprintf(msg, sizeof msg, "%s is not served on the %s channel", r->type,
                     r->ch == DN_CONTROL ? "control" : "shell");
            dn_warn("%s", msg);
            if (is_request(r->type)) reply_error(r, "WrongChannel", msg);
            return;
        }
        handlers[i].fn(c, r);
        return;
    }
    dn_warn("unknown message type %s", r->type);
    if (is_request(r->type)) {
        char msg[160];
        snprintf(msg, sizeof msg, "deepnb does not handle %s", r->type);
        reply_error(r, "UnknownMessageType", msg);
    }
}

void dn_core_handle(dn_core *c, dn_channel ch, const dn_frames *frames)
{
    dn_request r = { .c = c, .ch = ch };
    char err[256];
    int wire = dn_wire_parse(frames, c->signer, &r.msg, err, sizeof err);
    if (wire == DN_WIRE_DROP) {
        dn_warn("%s: message dropped: %s", ch == DN_CONTROL ? "control" : "shell", err);
        return;
    }
    r.type = json_string_value(json_object_get(r.msg.header, "msg_type"));
    if (wire == DN_WIRE_BAD_BODY) dn_warn("%s: %s", r.type, err);
    dn_debug("recv %s on %d", r.type, (int)ch);
    publish_status(&r, "busy");
    dispatch(c, &r, wire, err);
    publish_status(&r, "idle");
    json_decref(r.error);
    json_decref(r.payload);
    dn_msg_fini(&r.msg);
    if (r.waiting) {
        /* the execute_requests that were waiting are answered "aborted", the rest served */
        c->aborting = 1;
        for (size_t k = 0; k < r.nwaiting; k++) {
            dn_core_handle(c, DN_SHELL, &r.waiting[k]);
            dn_frames_clear(&r.waiting[k]);
        }
        free(r.waiting);
        c->aborting = 0;
    }
}

void dn_core_serve(dn_core *c, dn_channel ch)
{
    dn_frames f = { 0 };
    while (!atomic_load(&c->quit) && c->t->ops->recv(c->t, ch, -1, &f) == 1) {
        dn_core_handle(c, ch, &f);
        dn_frames_clear(&f);
    }
    dn_frames_clear(&f);
}

/* ---------------------------------------------------------------- life cycle */

dn_core *dn_core_new(dn_interp *interp, dn_transport *t, const dn_signer *signer,
                     char *err, size_t errlen)
{
    dn_core *c = calloc(1, sizeof *c);
    if (!c) { snprintf(err, errlen, "out of memory"); return NULL; }
    c->interp = interp;
    c->t = t;
    c->signer = signer;
    pthread_mutex_init(&c->info_lock, NULL);
    unsigned char rnd[16];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
        /* no entropy source: still unique enough per process for msg_ids */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        memcpy(rnd, &ts, sizeof rnd < sizeof ts ? sizeof rnd : sizeof ts);
    }
    for (int i = 0; i < 16; i++) snprintf(c->session + 2 * i, 3, "%02x", rnd[i]);
    snprintf(c->id_prefix, sizeof c->id_prefix, "%.8s-%d", c->session, (int)getpid());
    c->kernel_info = interp->ops->kernel_info(interp);
    if (!json_is_object(c->kernel_info)) {
        snprintf(err, errlen, "the interpreter gave no kernel_info");
        dn_core_free(c);
        return NULL;
    }
    json_object_set_new(c->kernel_info, "status", json_string("ok"));
    json_object_set_new(c->kernel_info, "protocol_version", json_string(DN_PROTOCOL_VERSION));
    if (!json_object_get(c->kernel_info, "debugger"))
        json_object_set_new(c->kernel_info, "debugger", json_false());
    return c;
}

void dn_core_free(dn_core *c)
{
    if (!c) return;
    json_decref(c->kernel_info);
    pthread_mutex_destroy(&c->info_lock);
    free(c);
}

void dn_core_start(dn_core *c)
{
    dn_request r = { .c = c, .ch = DN_SHELL };
    r.msg.header = json_object();  /* "starting" has no parent */
    publish_status(&r, "starting");
    json_decref(r.msg.header);
}

void dn_core_interrupt(dn_core *c)
{
    atomic_store(&c->interrupted, 1);
    c->interp->ops->interrupt(c->interp);
}

int dn_core_quitting(const dn_core *c, int *restart)
{
    if (restart) *restart = atomic_load(&((dn_core *)c)->restart);
    return atomic_load(&((dn_core *)c)->quit);
}

int dn_core_welcome(dn_core *c, const void *topic, size_t topiclen, dn_frames *out)
{
    size_t n;
    char *sub = dn_utf8_sanitize(topic, topiclen, &n);
    if (!sub) return -1;
    dn_msg m = { 0 };
    m.header = new_header(c, "iopub_welcome");
    m.parent = json_object();
    m.metadata = json_object();
    m.content = json_pack("{s:s%}", "subscription", sub, n);
    int rc = -1;
    /* a welcome for a topic goes to that topic's subscribers only */
    if (topiclen == 0 || dn_frames_push(&m.ids, topic, topiclen) == 0)
        rc = m.header && m.content ? dn_wire_build(&m, c->signer, out) : -1;
    free(sub);
    dn_msg_fini(&m);
    return rc;
}

int dn_core_execution_count(const dn_core *c) { return c->execution_count; }
