/* test_core.c — the protocol core through the in-memory transport and the mock
 * interpreter: dispatch, busy/idle order, execution counts, silent, abort after an error,
 * bad input, stdin, shutdown and restart, interrupts by message and by SIGINT. */
#include "check.h"
#include "client.h"
#include "core.h"
#include "mem_transport.h"
#include "mock_interp.h"
#include "signals.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static mem_transport mem;
static mock_interp mock;
static dn_core *core;

static const char *ch_name(dn_channel ch)
{
    static const char *n[] = { "shell", "control", "stdin", "iopub" };
    return n[ch];
}

/* The kernel's i-th sent message, parsed and verified with the shared key. */
static int sent(int i, dn_msg *m)
{
    char err[200];
    return dn_wire_parse(&mem.sent[i].frames, client_signer(), m, err, sizeof err);
}

static const char *type_of(const dn_msg *m) { return json_string_value(json_object_get(m->header, "msg_type")); }

/* "iopub:status(busy) shell:execute_reply iopub:status(idle)" for what was sent. */
static const char *trace(void)
{
    static char out[4096];
    out[0] = 0;
    for (int i = 0; i < mem.nsent; i++) {
        dn_msg m;
        char item[128];
        if (sent(i, &m) != DN_WIRE_OK) { strcat(out, "<unparsable> "); continue; }
        const char *state = json_string_value(json_object_get(m.content, "execution_state"));
        snprintf(item, sizeof item, "%s%s:%s%s%s%s", i ? " " : "", ch_name(mem.sent[i].ch), type_of(&m),
                 state ? "(" : "", state ? state : "", state ? ")" : "");
        if (strlen(out) + strlen(item) < sizeof out) strcat(out, item);
        dn_msg_fini(&m);
    }
    return out;
}

/* The content of the first sent message of this type (a new reference), or NULL. */
static json_t *content_of(const char *type)
{
    for (int i = 0; i < mem.nsent; i++) {
        dn_msg m;
        if (sent(i, &m) != DN_WIRE_OK) continue;
        json_t *c = strcmp(type_of(&m), type) == 0 ? json_incref(m.content) : NULL;
        dn_msg_fini(&m);
        if (c) return c;
    }
    return NULL;
}

static const char *str(json_t *o, const char *key) { return json_string_value(json_object_get(o, key)); }
static long long num(json_t *o, const char *key) { return json_integer_value(json_object_get(o, key)); }

static void handle(dn_channel ch, const char *type, const char *id, const char *content)
{
    dn_frames f = { 0 };
    client_request(&f, type, id, content);
    dn_core_handle(core, ch, &f);
    dn_frames_clear(&f);
}

static void handle_raw(dn_frames *f)
{
    dn_core_handle(core, DN_SHELL, f);
    dn_frames_clear(f);
}

static void queue(const char *type, const char *id, const char *content)
{
    dn_frames f = { 0 };
    client_request(&f, type, id, content);
    mem_push(&mem, DN_SHELL, &f);
}

static void fresh(void)
{
    if (core) dn_core_free(core);
    mem_fini(&mem);
    mem_init(&mem);
    mock_init(&mock);
    char err[200];
    core = dn_core_new(&mock.base, &mem.base, client_signer(), err, sizeof err);
}

/* Every message of the last request names it as parent and carries a valid signature. */
static int all_parented(const char *id)
{
    for (int i = 0; i < mem.nsent; i++) {
        dn_msg m;
        if (sent(i, &m) != DN_WIRE_OK) return 0;
        int ok = str(m.parent, "msg_id") && strcmp(str(m.parent, "msg_id"), id) == 0;
        dn_msg_fini(&m);
        if (!ok) return 0;
    }
    return 1;
}

static void test_kernel_info(void)
{
    fresh();
    dn_core_start(core);
    CHECK(strcmp(trace(), "iopub:status(starting)") == 0, "start publishes starting: %s", trace());
    mem_clear_sent(&mem);

    handle(DN_SHELL, "kernel_info_request", "k1", "{}");
    CHECK(strcmp(trace(), "iopub:status(busy) shell:kernel_info_reply iopub:status(idle)") == 0,
          "kernel_info wrapped in busy/idle: %s", trace());
    CHECK(all_parented("k1"), "every message has the request as parent and a valid signature");
    json_t *c = content_of("kernel_info_reply");
    CHECK(c && strcmp(str(c, "status"), "ok") == 0 && strcmp(str(c, "protocol_version"), "5.3") == 0,
          "status ok, protocol_version 5.3");
    CHECK(c && strcmp(str(json_object_get(c, "language_info"), "name"), "mocklang") == 0 &&
          strcmp(str(c, "banner"), "mock interpreter") == 0 && json_array_size(json_object_get(c, "help_links")) == 1,
          "language_info, banner, help_links from the interpreter");
    json_decref(c);
    dn_msg m;
    sent(1, &m);
    CHECK(m.ids.n == 1 && memcmp(m.ids.v[0].data, CLIENT_ID, strlen(CLIENT_ID)) == 0, "reply routed to the client identity");
    CHECK(strcmp(str(m.header, "version"), "5.3") == 0 && str(m.header, "date") && str(m.header, "session") &&
          str(m.header, "username"), "reply header complete");
    dn_msg_fini(&m);

    /* msg_ids never repeat (clients reject a repeated signature) */
    int unique = 1;
    for (int i = 0; i < mem.nsent; i++)
        for (int j = 0; j < i; j++) {
            dn_msg a, b;
            sent(i, &a);
            sent(j, &b);
            if (strcmp(str(a.header, "msg_id"), str(b.header, "msg_id")) == 0) unique = 0;
            dn_msg_fini(&a);
            dn_msg_fini(&b);
        }
    CHECK(unique, "msg_ids unique");

    mem_clear_sent(&mem);
    handle(DN_CONTROL, "kernel_info_request", "k2", "{}");
    CHECK(strcmp(trace(), "iopub:status(busy) control:kernel_info_reply iopub:status(idle)") == 0,
          "kernel_info on control answered on control: %s", trace());
    CHECK(mem.sent[0].origin == DN_CONTROL, "control-thread publishing marked as such");
}

static void test_execute(void)
{
    fresh();
    handle(DN_SHELL, "execute_request", "e1", "{\"code\": \"print hi\"}");
    CHECK(strcmp(trace(), "iopub:status(busy) iopub:execute_input iopub:stream shell:execute_reply iopub:status(idle)") == 0,
          "execute order: %s", trace());
    CHECK(all_parented("e1"), "execute messages parented");
    json_t *in = content_of("execute_input"), *st = content_of("stream"), *r = content_of("execute_reply");
    CHECK(in && strcmp(str(in, "code"), "print hi") == 0 && num(in, "execution_count") == 1, "execute_input code and count 1");
    CHECK(st && strcmp(str(st, "name"), "stdout") == 0 && strcmp(str(st, "text"), "hi") == 0, "stream stdout hi");
    CHECK(r && strcmp(str(r, "status"), "ok") == 0 && num(r, "execution_count") == 1 &&
          json_is_object(json_object_get(r, "user_expressions")) && json_is_array(json_object_get(r, "payload")),
          "execute_reply ok, count 1, user_expressions {}, payload []");
    CHECK(mock.last.execution_count == 1 && mock.last.store_history && !mock.last.silent && mock.last.allow_stdin,
          "interpreter told count 1, store_history, not silent, stdin allowed");
    json_decref(in); json_decref(st); json_decref(r);

    mem_clear_sent(&mem);
    handle(DN_SHELL, "execute_request", "e2", "{\"code\": \"result\"}");
    r = content_of("execute_result");
    CHECK(r && num(r, "execution_count") == 2 && strcmp(str(json_object_get(r, "data"), "text/plain"), "42") == 0,
          "second execute: count 2, execute_result with it");
    json_decref(r);

    mem_clear_sent(&mem);
    handle(DN_SHELL, "execute_request", "e3", "{\"code\": \"print x\", \"store_history\": false}");
    r = content_of("execute_reply");
    CHECK(r && num(r, "execution_count") == 2 && dn_core_execution_count(core) == 2,
          "store_history false: count stays 2");
    json_decref(r);

    mem_clear_sent(&mem);
    handle(DN_SHELL, "execute_request", "e4", "{\"code\": \"print x\", \"silent\": true}");
    CHECK(strcmp(trace(), "iopub:status(busy) shell:execute_reply iopub:status(idle)") == 0,
          "silent: no execute_input, no output: %s", trace());
    CHECK(mock.last.silent && !mock.last.store_history && dn_core_execution_count(core) == 2,
          "silent: interpreter told, no history, count unchanged");

    mem_clear_sent(&mem);
    handle(DN_SHELL, "execute_request", "e5", "{\"code\": \"display\"}");
    CHECK(strcmp(trace(), "iopub:status(busy) iopub:execute_input iopub:display_data iopub:update_display_data "
                          "iopub:clear_output iopub:execute_result shell:execute_reply iopub:status(idle)") == 0,
          "display outputs in order: %s", trace());
    json_t *d = content_of("display_data"), *u = content_of("update_display_data"), *co = content_of("clear_output");
    r = content_of("execute_result");
    json_t *rep = content_of("execute_reply");
    CHECK(d && strcmp(str(json_object_get(d, "transient"), "display_id"), "d1") == 0 &&
          json_is_object(json_object_get(d, "metadata")), "display_data: transient.display_id, metadata");
    CHECK(u && strcmp(str(json_object_get(u, "transient"), "display_id"), "d1") == 0, "update_display_data: transient.display_id");
    CHECK(co && json_is_true(json_object_get(co, "wait")), "clear_output: wait true");
    CHECK(r && str(json_object_get(r, "data"), "text/plain") && str(json_object_get(r, "data"), "text/html"),
          "execute_result always has text/plain");
    json_t *p = json_array_get(json_object_get(rep, "payload"), 0);
    CHECK(p && strcmp(str(p, "source"), "page") == 0, "payload in execute_reply");
    json_decref(d); json_decref(u); json_decref(co); json_decref(r); json_decref(rep);

    mem_clear_sent(&mem);
    handle(DN_SHELL, "execute_request", "e6", "{\"code\": \"err\"}");
    CHECK(strcmp(trace(), "iopub:status(busy) iopub:execute_input iopub:error shell:execute_reply iopub:status(idle)") == 0,
          "error order: %s", trace());
    json_t *e = content_of("error");
    rep = content_of("execute_reply");
    CHECK(e && strcmp(str(e, "ename"), "ValueError") == 0 && json_array_size(json_object_get(e, "traceback")) == 1,
          "iopub error with ename and traceback");
    CHECK(rep && strcmp(str(rep, "status"), "error") == 0 && strcmp(str(rep, "ename"), "ValueError") == 0 &&
          strcmp(str(rep, "evalue"), "bad value") == 0 && json_is_array(json_object_get(rep, "traceback")) &&
          num(rep, "execution_count") == 4, "execute_reply error: ename, evalue, traceback, execution_count");
    json_decref(e); json_decref(rep);

    mem_clear_sent(&mem);
    handle(DN_SHELL, "execute_request", "e7", "{\"code\": \"softerr\", \"stop_on_error\": false}");
    rep = content_of("execute_reply");
    CHECK(rep && strcmp(str(rep, "status"), "error") == 0, "error() makes the reply an error even when execute returns 0");
    json_decref(rep);

    mem_clear_sent(&mem);
    handle(DN_SHELL, "execute_request", "e8", "{\"code\": \"rawbytes\"}");
    st = content_of("stream");
    CHECK(st && strcmp(str(st, "name"), "stderr") == 0 && strcmp(str(st, "text"), "a\xef\xbf\xbd" "b") == 0,
          "invalid UTF-8 in a stream replaced by U+FFFD");
    json_decref(st);
}

static void test_abort(void)
{
    fresh();
    queue("execute_request", "a1", "{\"code\": \"err\"}");
    queue("execute_request", "a2", "{\"code\": \"print 2\"}");
    queue("kernel_info_request", "a3", "{}");
    queue("execute_request", "a4", "{\"code\": \"print 4\"}");
    dn_core_serve(core, DN_SHELL);
    CHECK(strcmp(trace(),
                 "iopub:status(busy) iopub:execute_input iopub:error shell:execute_reply iopub:status(idle) "
                 "iopub:status(busy) shell:execute_reply iopub:status(idle) "
                 "iopub:status(busy) shell:kernel_info_reply iopub:status(idle) "
                 "iopub:status(busy) shell:execute_reply iopub:status(idle)") == 0,
          "queued executes aborted (each in busy/idle), other requests served: %s", trace());
    int aborted = 0;
    for (int i = 0; i < mem.nsent; i++) {
        dn_msg m;
        sent(i, &m);
        if (strcmp(type_of(&m), "execute_reply") == 0 && str(m.content, "status") &&
            strcmp(str(m.content, "status"), "aborted") == 0 &&
            strcmp(str(m.metadata, "status"), "aborted") == 0) aborted++;
        dn_msg_fini(&m);
    }
    CHECK(aborted == 2, "two replies say \"aborted\" in content and metadata, as ipykernel's do");
    CHECK(mock.executes == 1, "aborted cells never reached the interpreter");

    mem_clear_sent(&mem);
    mem.stopped = 0;
    queue("execute_request", "a5", "{\"code\": \"print 5\"}");
    dn_core_serve(core, DN_SHELL);
    json_t *r = content_of("execute_reply");
    CHECK(r && strcmp(str(r, "status"), "ok") == 0 && mock.executes == 2, "a request arriving later runs again");
    json_decref(r);

    fresh();
    queue("execute_request", "b1", "{\"code\": \"err\", \"stop_on_error\": false}");
    queue("execute_request", "b2", "{\"code\": \"print 2\"}");
    dn_core_serve(core, DN_SHELL);
    CHECK(mock.executes == 2, "stop_on_error false: the next cell runs");
    fresh();
    queue("execute_request", "c1", "{\"code\": \"err\", \"silent\": true}");
    queue("execute_request", "c2", "{\"code\": \"print 2\"}");
    dn_core_serve(core, DN_SHELL);
    CHECK(mock.executes == 2, "a silent failure aborts nothing (as in ipykernel)");
}

static void test_bad_input(void)
{
    fresh();
    dn_frames f = { 0 };
    client_raw(&f, "{\"msg_id\":\"x1\",\"msg_type\":\"kernel_info_request\"}", "{}", 0);
    handle_raw(&f);
    CHECK(mem.nsent == 0, "wrong signature: dropped, nothing sent");
    dn_frames_push(&f, "garbage", 7);
    handle_raw(&f);
    CHECK(mem.nsent == 0, "no delimiter: dropped");
    dn_frames_push(&f, CLIENT_ID, 8);
    dn_frames_push(&f, DN_DELIMITER, 9);
    dn_frames_push(&f, "abc", 3);
    handle_raw(&f);
    CHECK(mem.nsent == 0, "too few frames: dropped");
    client_raw(&f, "{\"msg_id\":", "{}", 1);
    handle_raw(&f);
    CHECK(mem.nsent == 0, "invalid JSON header: dropped");
    client_raw(&f, "\"header\"", "{}", 1);
    handle_raw(&f);
    CHECK(mem.nsent == 0, "non-object header: dropped");
    client_raw(&f, "{\"msg_id\":\"x2\"}", "{}", 1);
    handle_raw(&f);
    CHECK(mem.nsent == 0, "header without msg_type: dropped");

    client_raw(&f, "{\"msg_id\":\"x3\",\"msg_type\":\"execute_request\"}", "{\"code\":", 1);
    handle_raw(&f);
    json_t *r = content_of("execute_reply");
    CHECK(strcmp(trace(), "iopub:status(busy) shell:execute_reply iopub:status(idle)") == 0 && r &&
          strcmp(str(r, "status"), "error") == 0 && strcmp(str(r, "ename"), "BadRequest") == 0 &&
          strstr(str(r, "evalue"), "content is not valid JSON") && json_is_array(json_object_get(r, "traceback")),
          "invalid JSON content with a good header: error reply");
    json_decref(r);

    mem_clear_sent(&mem);
    handle(DN_SHELL, "frobnicate_request", "x4", "{}");
    r = content_of("frobnicate_reply");
    CHECK(r && strcmp(str(r, "ename"), "UnknownMessageType") == 0, "unknown *_request: error reply: %s", trace());
    json_decref(r);
    mem_clear_sent(&mem);
    handle(DN_SHELL, "frobnicate", "x5", "{}");
    CHECK(strcmp(trace(), "iopub:status(busy) iopub:status(idle)") == 0, "unknown non-request: busy/idle only");

    mem_clear_sent(&mem);
    handle(DN_SHELL, "execute_request", "x6", "{\"silent\": true}");
    r = content_of("execute_reply");
    CHECK(r && strcmp(str(r, "ename"), "BadRequest") == 0 && strstr(str(r, "evalue"), "code"),
          "execute without code: %s", r ? str(r, "evalue") : "-");
    CHECK(mock.executes == 0 && dn_core_execution_count(core) == 0, "nothing ran, count unchanged");
    json_decref(r);
    mem_clear_sent(&mem);
    handle(DN_SHELL, "complete_request", "x7", "{\"code\": \"al\"}");
    r = content_of("complete_reply");
    CHECK(r && strcmp(str(r, "status"), "error") == 0 && strstr(str(r, "evalue"), "cursor_pos"), "complete without cursor_pos");
    json_decref(r);
    mem_clear_sent(&mem);
    handle(DN_SHELL, "execute_request", "x8", "{\"code\": 42}");
    r = content_of("execute_reply");
    CHECK(r && strcmp(str(r, "status"), "error") == 0, "code of the wrong type");
    json_decref(r);
    mem_clear_sent(&mem);
    handle(DN_CONTROL, "execute_request", "x9", "{\"code\": \"print 1\"}");
    r = content_of("execute_reply");
    CHECK(r && mem.sent[1].ch == DN_CONTROL && strcmp(str(r, "ename"), "WrongChannel") == 0 && mock.executes == 0,
          "execute on control refused (the interpreter is only called from shell)");
    json_decref(r);

    /* a huge but valid request is served */
    size_t big = 8 << 20;
    char *code = malloc(big + 64);
    strcpy(code, "{\"code\": \"print ");
    memset(code + 16, 'x', big);
    strcpy(code + 16 + big, "\"}");
    mem_clear_sent(&mem);
    handle(DN_SHELL, "execute_request", "x10", code);
    free(code);
    json_t *st = content_of("stream");
    CHECK(st && strlen(str(st, "text")) == big, "an 8 MiB cell is served");
    json_decref(st);

    mem_clear_sent(&mem);
    handle(DN_SHELL, "kernel_info_request", "x11", "{}");
    CHECK(strcmp(trace(), "iopub:status(busy) shell:kernel_info_reply iopub:status(idle)") == 0,
          "after all the bad input the kernel still serves");
}

static void test_other_requests(void)
{
    fresh();
    handle(DN_SHELL, "complete_request", "o1", "{\"code\": \"al\", \"cursor_pos\": 2}");
    json_t *r = content_of("complete_reply");
    CHECK(r && strcmp(str(r, "status"), "ok") == 0 && json_array_size(json_object_get(r, "matches")) == 2 &&
          num(r, "cursor_end") == 2 && json_is_object(json_object_get(r, "metadata")), "complete_reply");
    json_decref(r);
    mem_clear_sent(&mem);
    handle(DN_SHELL, "inspect_request", "o2", "{\"code\": \"al\", \"cursor_pos\": 2, \"detail_level\": 1}");
    r = content_of("inspect_reply");
    CHECK(r && strcmp(str(r, "status"), "ok") == 0 && json_is_true(json_object_get(r, "found")) &&
          strcmp(str(json_object_get(r, "data"), "text/plain"), "details") == 0, "inspect_reply with detail_level 1");
    json_decref(r);
    mem_clear_sent(&mem);
    handle(DN_SHELL, "is_complete_request", "o3", "{\"code\": \"abc\\\\\"}");
    r = content_of("is_complete_reply");
    CHECK(r && strcmp(str(r, "status"), "incomplete") == 0 && str(r, "indent"), "is_complete_reply incomplete");
    json_decref(r);
    mem_clear_sent(&mem);
    handle(DN_SHELL, "history_request", "o4", "{\"hist_access_type\": \"tail\", \"n\": 3, \"output\": false, \"raw\": true}");
    r = content_of("history_reply");
    CHECK(r && strcmp(str(r, "status"), "ok") == 0 && json_array_size(json_object_get(r, "history")) == 1, "history_reply");
    json_decref(r);
    mem_clear_sent(&mem);
    handle(DN_SHELL, "comm_info_request", "o5", "{}");
    r = content_of("comm_info_reply");
    CHECK(r && strcmp(str(r, "status"), "ok") == 0 && json_object_size(json_object_get(r, "comms")) == 0, "comm_info: no comms");
    json_decref(r);
    mem_clear_sent(&mem);
    handle(DN_SHELL, "comm_open", "o6", "{\"comm_id\": \"c1\", \"target_name\": \"jupyter.widget\", \"data\": {}}");
    r = content_of("comm_close");
    CHECK(strcmp(trace(), "iopub:status(busy) iopub:comm_close iopub:status(idle)") == 0 && r &&
          strcmp(str(r, "comm_id"), "c1") == 0, "comm_open without a target: closed at once: %s", trace());
    json_decref(r);
    mem_clear_sent(&mem);
    handle(DN_SHELL, "comm_msg", "o7", "{\"comm_id\": \"c1\", \"data\": {}}");
    handle(DN_SHELL, "comm_close", "o8", "{\"comm_id\": \"c1\", \"data\": {}}");
    CHECK(strcmp(trace(), "iopub:status(busy) iopub:status(idle) iopub:status(busy) iopub:status(idle)") == 0,
          "comm_msg / comm_close for unknown comms ignored");

    dn_frames w = { 0 };
    CHECK(dn_core_welcome(core, "", 0, &w) == 0, "welcome built");
    dn_msg m;
    char err[100];
    CHECK(dn_wire_parse(&w, client_signer(), &m, err, sizeof err) == DN_WIRE_OK && m.ids.n == 0 &&
          strcmp(type_of(&m), "iopub_welcome") == 0 && strcmp(str(m.content, "subscription"), "") == 0 &&
          json_object_size(m.parent) == 0, "iopub_welcome for subscription \"\": no topic, empty parent");
    dn_msg_fini(&m);
    dn_frames_clear(&w);
    dn_core_welcome(core, "kernel.", 7, &w);
    CHECK(dn_wire_parse(&w, client_signer(), &m, err, sizeof err) == DN_WIRE_OK && m.ids.n == 1 &&
          strcmp(str(m.content, "subscription"), "kernel.") == 0, "welcome for a topic goes to that topic");
    dn_msg_fini(&m);
    dn_frames_clear(&w);
}

static void test_shutdown(void)
{
    fresh();
    handle(DN_CONTROL, "shutdown_request", "s1", "{\"restart\": true}");
    json_t *r = content_of("shutdown_reply");
    int restart = 0;
    CHECK(strcmp(trace(), "iopub:status(busy) control:shutdown_reply iopub:status(idle)") == 0 && r &&
          strcmp(str(r, "status"), "ok") == 0 && json_is_true(json_object_get(r, "restart")),
          "shutdown on control: reply with restart true");
    CHECK(dn_core_quitting(core, &restart) && restart && mem.stopped, "core quitting with restart, transport stopped");
    CHECK(mock.interrupts == 1, "a running cell is interrupted");
    json_decref(r);

    fresh();
    queue("shutdown_request", "s2", "{\"restart\": false}");
    queue("execute_request", "s3", "{\"code\": \"print never\"}");
    dn_core_serve(core, DN_SHELL);
    r = content_of("shutdown_reply");
    CHECK(r && json_is_false(json_object_get(r, "restart")) && dn_core_quitting(core, &restart) && !restart,
          "shutdown on shell: reply with restart false");
    CHECK(mock.executes == 0, "serving stops after shutdown");
    json_decref(r);
}

static void *run_wait_cell(void *arg)
{
    (void)arg;
    handle(DN_SHELL, "execute_request", "w1", "{\"code\": \"wait\"}");
    return NULL;
}

static void wait_running(void)
{
    struct timespec tick = { 0, 1000000 };
    for (int i = 0; i < 5000 && !atomic_load(&mock.running); i++) nanosleep(&tick, NULL);
}

static void test_interrupt(void)
{
    fresh();
    pthread_t th;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_create(&th, NULL, run_wait_cell, NULL);
    wait_running();
    handle(DN_CONTROL, "interrupt_request", "i1", "{}");
    pthread_join(th, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    json_t *ir = content_of("interrupt_reply"), *er = content_of("execute_reply");
    CHECK(ir && strcmp(str(ir, "status"), "ok") == 0, "interrupt_request on control: interrupt_reply ok");
    CHECK(er && strcmp(str(er, "status"), "error") == 0 && strcmp(str(er, "ename"), "KeyboardInterrupt") == 0,
          "the running cell ends with KeyboardInterrupt");
    CHECK(t1.tv_sec - t0.tv_sec < 5, "and it ended soon");
    json_decref(ir);
    json_decref(er);

    fresh();
    char err[100];
    CHECK(dn_signals_attach(core, &mem.base, err, sizeof err) == 0, "SIGINT handler installed");
    pthread_create(&th, NULL, run_wait_cell, NULL);
    wait_running();
    kill(getpid(), SIGINT);
    pthread_join(th, NULL);
    er = content_of("execute_reply");
    CHECK(er && strcmp(str(er, "ename"), "KeyboardInterrupt") == 0 && mock.interrupts == 1,
          "SIGINT interrupts the running cell, the process lives on");
    json_decref(er);
    mem_clear_sent(&mem);
    handle(DN_SHELL, "execute_request", "w2", "{\"code\": \"print after\"}");
    er = content_of("execute_reply");
    CHECK(er && strcmp(str(er, "status"), "ok") == 0, "the next cell runs normally");
    json_decref(er);
    dn_signals_detach();
}

/* on_send hooks: answer an input_request, or interrupt instead of answering */
static void answer_input(mem_transport *m, dn_channel ch, const dn_frames *f, void *ctx)
{
    (void)f;
    if (ch != DN_STDIN) return;
    dn_frames r = { 0 };
    client_request(&r, "input_reply", "in1", ctx);
    mem_push(m, DN_STDIN, &r);
}

static void interrupt_input(mem_transport *m, dn_channel ch, const dn_frames *f, void *ctx)
{
    (void)m; (void)f; (void)ctx;
    if (ch == DN_STDIN) dn_core_interrupt(core);
}

static void test_input(void)
{
    fresh();
    mem.on_send = answer_input;
    mem.on_send_ctx = "{\"value\": \"Ada\"}";
    dn_frames stale = { 0 };
    client_request(&stale, "input_reply", "old", "{\"value\": \"stale\"}");
    mem_push(&mem, DN_STDIN, &stale);
    handle(DN_SHELL, "execute_request", "n1", "{\"code\": \"input\", \"allow_stdin\": true}");
    json_t *req = content_of("input_request"), *st = content_of("stream");
    CHECK(strcmp(trace(), "iopub:status(busy) iopub:execute_input stdin:input_request iopub:stream "
                          "shell:execute_reply iopub:status(idle)") == 0, "input order: %s", trace());
    CHECK(req && strcmp(str(req, "prompt"), "name: ") == 0 && json_is_false(json_object_get(req, "password")),
          "input_request carries prompt and password");
    CHECK(st && strcmp(str(st, "text"), "Ada") == 0, "the reply's value reaches the cell (a stale reply was skipped)");
    dn_msg m;
    sent(2, &m);
    CHECK(m.ids.n == 1 && memcmp(m.ids.v[0].data, CLIENT_ID, strlen(CLIENT_ID)) == 0 &&
          strcmp(str(m.parent, "msg_id"), "n1") == 0, "input_request routed to the requesting client");
    dn_msg_fini(&m);
    json_decref(req);
    json_decref(st);

    mem_clear_sent(&mem);
    handle(DN_SHELL, "execute_request", "n2", "{\"code\": \"input\", \"allow_stdin\": false}");
    json_t *r = content_of("execute_reply");
    req = content_of("input_request");
    CHECK(!req && r && strcmp(str(r, "ename"), "EOFError") == 0,
          "allow_stdin false: no input_request, input() gets nothing");
    json_decref(r);
    json_decref(req);

    fresh();
    mem.on_send = interrupt_input;
    handle(DN_SHELL, "execute_request", "n3", "{\"code\": \"input\"}");
    r = content_of("execute_reply");
    CHECK(r && strcmp(str(r, "ename"), "EOFError") == 0, "an interrupt ends a pending input()");
    json_decref(r);
}

int main(void)
{
    test_kernel_info();
    test_execute();
    test_abort();
    test_bad_input();
    test_other_requests();
    test_shutdown();
    test_interrupt();
    test_input();
    dn_core_free(core);
    mem_fini(&mem);
    dn_signer_free(client_signer());
    return CHECK_DONE();
}
