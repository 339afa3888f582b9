/* fuzz_core — the protocol core's message handling (kernel/core.c) with the real
 * language behind it (magics/: kernel_info, complete, inspect, is_complete, history) and a
 * scripted execute that drives every sink call (the fuzzer must not run shell lines).
 *
 * Input: records, each a byte (channel: 0 shell, 1 control, 2 stdin; +0x80: sign it with
 * the key) and an fz_chunk holding the message's frames as fz_chunk records. Shell
 * messages queue up (a failed execute takes the waiting ones, as on a socket), control
 * messages are handled between them, stdin messages answer input requests.
 * Invariants: every message the core sends parses and verifies with the key; busy and
 * idle pair up around every request; every request whose header can be read gets
 * exactly one reply, on its own channel. */
#include "core.h"
#include "fuzz.h"
#include "fuzz_frames.h"
#include "magics.h"
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char KEY[] = "fuzz-key-5f3c8e2a";
enum { QMAX = 64 };

/* ---------------------------------------------------------------- the transport */

typedef struct fz_transport {
    dn_transport base;
    dn_frames shell[QMAX], stdin_held[QMAX], stdin_live[QMAX];
    int shell_head, shell_n, held_head, held_n, live_head, live_n;
    int stopped;
    long requests, replies, busy;   /* counted per top-level message */
} fz_transport;

static dn_signer *signer;
static dn_interp *real;

static const char *type_of(const dn_msg *m)
{
    return json_string_value(json_object_get(m->header, "msg_type"));
}

static int ends_with(const char *s, const char *end)
{
    size_t n = strlen(s), e = strlen(end);
    return n >= e && !strcmp(s + n - e, end);
}

/* Counts a message the core will read as a request it must answer. */
static void count_request(fz_transport *t, const dn_frames *f)
{
    dn_msg m;
    char err[256];
    int rc = dn_wire_parse(f, signer, &m, err, sizeof err);
    if (rc == DN_WIRE_DROP)
        return;
    t->requests += ends_with(type_of(&m), "_request");
    dn_msg_fini(&m);
}

static int t_send(dn_transport *base, dn_channel ch, dn_channel origin, const dn_frames *f)
{
    fz_transport *t = (fz_transport *)base;
    (void)origin;
    dn_msg m;
    char err[256];
    if (dn_wire_parse(f, signer, &m, err, sizeof err) != DN_WIRE_OK)
        fz_fail("the core sent a message that does not parse: %s", err);
    const char *type = type_of(&m);
    if (ch == DN_IOPUB && !strcmp(type, "status")) {
        const char *state = json_string_value(json_object_get(m.content, "execution_state"));
        if (!state)
            fz_fail("a status without execution_state");
        if (!strcmp(state, "busy"))
            t->busy++;
        else if (!strcmp(state, "idle") && --t->busy < 0)
            fz_fail("idle without busy");
    } else if (ch == DN_SHELL || ch == DN_CONTROL) {
        if (!ends_with(type, "_reply"))
            fz_fail("%s sent on the %s channel", type, ch == DN_SHELL ? "shell" : "control");
        if (!json_is_object(m.content) || !json_is_string(json_object_get(m.content, "status")))
            fz_fail("%s without a status", type);
        t->replies++;
    } else if (ch == DN_STDIN) {
        if (strcmp(type, "input_request"))
            fz_fail("%s sent on stdin", type);
        if (t->held_n > 0 && t->live_n < QMAX) {   /* the client answers it */
            t->stdin_live[(t->live_head + t->live_n++) % QMAX] = t->stdin_held[t->held_head];
            memset(&t->stdin_held[t->held_head], 0, sizeof(dn_frames));
            t->held_head = (t->held_head + 1) % QMAX;
            t->held_n--;
        }
    }
    dn_msg_fini(&m);
    return 0;
}

static int t_recv(dn_transport *base, dn_channel ch, int timeout_ms, dn_frames *out)
{
    fz_transport *t = (fz_transport *)base;
    if (t->stopped)
        return -1;
    if (ch == DN_SHELL && t->shell_n > 0) {
        *out = t->shell[t->shell_head];
        memset(&t->shell[t->shell_head], 0, sizeof(dn_frames));
        t->shell_head = (t->shell_head + 1) % QMAX;
        t->shell_n--;
        count_request(t, out);
        return 1;
    }
    if (ch == DN_STDIN && t->live_n > 0) {
        *out = t->stdin_live[t->live_head];
        memset(&t->stdin_live[t->live_head], 0, sizeof(dn_frames));
        t->live_head = (t->live_head + 1) % QMAX;
        t->live_n--;
        return 1;
    }
    /* nothing will come: an input request waiting for a reply gives up */
    return timeout_ms == 0 ? 0 : -1;
}

static void t_stop(dn_transport *base) { ((fz_transport *)base)->stopped = 1; }

static const dn_transport_ops t_ops = { t_send, t_recv, t_stop };

/* ---------------------------------------------------------------- the interpreter */

typedef struct fz_interp {
    dn_interp base;
} fz_interp;

static json_t *i_kernel_info(dn_interp *self) { (void)self; return real->ops->kernel_info(real); }

static json_t *bundle(const char *text, size_t n)
{
    json_t *s = json_stringn(text, n);     /* NULL for bytes that are not UTF-8 */
    return s ? json_pack("{s:o, s:s}", "text/plain", s, "text/html", "<b>x</b>") : NULL;
}

/* Each line of a cell is a sink call: p/e TEXT stream, d/u TEXT display and update,
 * r TEXT result, c clear, y payload, i PROMPT input, x NAME error and fail, s soft
 * error; any other line goes to the real language's is_complete. */
static int i_execute(dn_interp *self, const dn_execute_request *req, const dn_sink *out)
{
    (void)self;
    const char *s = req->code;
    int rc = 0;
    while (*s && rc == 0) {
        const char *e = strchr(s, '\n');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        const char *arg = n > 1 ? s + 2 : "";
        size_t an = n > 1 ? n - 2 : 0;
        json_t *b = NULL;
        switch (*s) {
        case 'p': out->stream(out->ctx, "stdout", arg, an); break;
        case 'e': out->stream(out->ctx, "stderr", arg, an); break;
        case 'd': if ((b = bundle(arg, an))) out->display_data(out->ctx, b, NULL, an ? "fz" : NULL); break;
        case 'u': if ((b = bundle(arg, an))) out->update_display_data(out->ctx, b, NULL, "fz"); break;
        case 'r': if ((b = bundle(arg, an))) out->execute_result(out->ctx, b, NULL); break;
        case 'c': out->clear_output(out->ctx, an > 0); break;
        case 'y': out->payload(out->ctx, json_pack("{s:s, s:i}", "source", "page", "start", 0)); break;
        case 'i': {
            char prompt[64];
            snprintf(prompt, sizeof prompt, "%.*s", (int)(an < 63 ? an : 63), arg);
            char *got = out->input(out->ctx, prompt, an & 1);
            if (got)
                out->stream(out->ctx, "stdout", got, strlen(got));
            free(got);
            break;
        }
        case 'x': case 's': {
            char name[64];
            snprintf(name, sizeof name, "%.*s", (int)(an < 63 ? an : 63), arg);
            json_t *tb = json_pack("[s]", "a traceback line");
            out->error(out->ctx, name, "the cell failed", an & 1 ? tb : NULL);
            json_decref(tb);
            rc = *s == 'x';
            break;
        }
        default: {
            char *line = strndup(s, n);
            json_t *r = line ? real->ops->is_complete(real, line) : NULL;
            if (line && !json_is_object(r))
                fz_fail("is_complete gave no object");
            json_decref(r);
            free(line);
        }
        }
        json_decref(b);
        s += n + (e != NULL);
    }
    return rc;
}

static json_t *i_complete(dn_interp *self, const char *code, int pos)
{
    (void)self;
    json_t *r = real->ops->complete(real, code, pos);
    if (!json_is_array(json_object_get(r, "matches")))
        fz_fail("complete gave no matches");
    return r;
}

static json_t *i_inspect(dn_interp *self, const char *code, int pos, int detail)
{
    (void)self;
    return real->ops->inspect(real, code, pos, detail);
}

static json_t *i_is_complete(dn_interp *self, const char *code)
{
    (void)self;
    return real->ops->is_complete(real, code);
}

static json_t *i_history(dn_interp *self, json_t *request)
{
    (void)self;
    return real->ops->history(real, request);
}

static void i_interrupt(dn_interp *self) { (void)self; }
static void i_shutdown(dn_interp *self, int restart) { (void)self; (void)restart; }
static void i_free(dn_interp *self) { (void)self; }

static const dn_interp_ops i_ops = {
    i_kernel_info, i_execute, i_complete, i_inspect, i_is_complete, i_history,
    i_interrupt, i_shutdown, i_free,
};

/* ---------------------------------------------------------------- the harness */

static void quiet_stream(void *ctx, const char *name, const char *text, size_t len)
{
    (void)ctx; (void)name; (void)text; (void)len;
}
static void quiet_json(void *ctx, json_t *a, json_t *b, const char *c) { (void)ctx; (void)a; (void)b; (void)c; }
static void quiet_result(void *ctx, json_t *a, json_t *b) { (void)ctx; (void)a; (void)b; }
static void quiet_error(void *ctx, const char *a, const char *b, json_t *c) { (void)ctx; (void)a; (void)b; (void)c; }
static void quiet_clear(void *ctx, int w) { (void)ctx; (void)w; }
static void quiet_payload(void *ctx, json_t *a) { (void)ctx; (void)a; }
static char *quiet_input(void *ctx, const char *p, int w) { (void)ctx; (void)p; (void)w; return NULL; }

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    setenv("DEEPNB_LOG", "off", 1);
    char err[512];
    /* completion reads the working directory: an empty one gives the same answers */
    if (chdir(fz_scratch()) != 0)
        fz_fail("cannot enter %s", fz_scratch());
    signer = dn_signer_new("hmac-sha256", KEY, sizeof KEY - 1, err, sizeof err);
    real = dn_magics_new(err, sizeof err);
    if (!signer || !real)
        fz_fail("cannot start: %s", err);
    /* a history to ask about: cells that touch nothing */
    dn_sink quiet = { NULL, quiet_stream, quiet_json, quiet_json, quiet_result, quiet_error,
                      quiet_clear, quiet_payload, quiet_input };
    static const char *const cells[] = { "%seed 1", "%let x = [1, 2, 3]", "x * 2", "%who" };
    for (int i = 0; i < 4; i++) {
        dn_execute_request req = { cells[i], 0, 1, 0, i + 1 };
        real->ops->execute(real, &req, &quiet);
    }
    return 0;
}

/* The frames of one message; with sign set, the signature frame is made right. */
static void message(const uint8_t *p, size_t n, int sign, dn_frames *f)
{
    fz_in in = { p, n };
    const uint8_t *q;
    size_t len;
    while (fz_chunk(&in, &q, &len) == 0)
        dn_frames_push(f, q, len);
    if (sign)
        fz_resign(signer, f);
}

static void handle(fz_transport *t, dn_core *core, dn_channel ch, const dn_frames *f)
{
    t->requests = t->replies = t->busy = 0;
    count_request(t, f);
    dn_core_handle(core, ch, f);
    if (t->busy != 0)
        fz_fail("%ld busy without idle", t->busy);
    if (t->replies != t->requests)
        fz_fail("%ld requests got %ld replies", t->requests, t->replies);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_transport t = { .base = { &t_ops } };
    fz_interp fi = { { &i_ops } };
    dn_frames control[QMAX] = { 0 };
    int ncontrol = 0;
    fz_in in = { data, size };
    while (in.n) {
        unsigned kind = fz_byte(&in);
        const uint8_t *p;
        size_t len;
        if (fz_chunk(&in, &p, &len) != 0)
            break;
        dn_frames f = { 0 };
        message(p, len, kind & 0x80, &f);
        int ch = (int)(kind & 0x7f) % 3;
        if (ch == 0 && t.shell_n < QMAX)
            t.shell[(t.shell_head + t.shell_n++) % QMAX] = f;
        else if (ch == 1 && ncontrol < QMAX)
            control[ncontrol++] = f;
        else if (ch == 2 && t.held_n < QMAX)
            t.stdin_held[(t.held_head + t.held_n++) % QMAX] = f;
        else
            dn_frames_clear(&f);
    }
    char err[512];
    dn_core *core = dn_core_new(&fi.base, &t.base, signer, err, sizeof err);
    if (!core)
        fz_fail("dn_core_new: %s", err);
    dn_core_start(core);
    int c = 0;
    while (!dn_core_quitting(core, NULL) && (t.shell_n > 0 || c < ncontrol)) {
        if (t.shell_n > 0) {
            dn_frames f = t.shell[t.shell_head];
            memset(&t.shell[t.shell_head], 0, sizeof f);
            t.shell_head = (t.shell_head + 1) % QMAX;
            t.shell_n--;
            handle(&t, core, DN_SHELL, &f);
            dn_frames_clear(&f);
        }
        if (c < ncontrol && !dn_core_quitting(core, NULL))
            handle(&t, core, DN_CONTROL, &control[c++]);
    }
    dn_core_free(core);
    for (int i = 0; i < QMAX; i++) {
        dn_frames_clear(&t.shell[i]);
        dn_frames_clear(&t.stdin_held[i]);
        dn_frames_clear(&t.stdin_live[i]);
        dn_frames_clear(&control[i]);
    }
    return 0;
}
