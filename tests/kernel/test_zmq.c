/* test_zmq.c — the whole kernel (ZeroMQ transport, threads, signals, core) on real ipc
 * sockets with the mock interpreter, driven by a ZeroMQ client written here: iopub
 * welcome, heartbeat, requests, interrupt on control while a cell runs, SIGINT during the
 * shell's poll, oversized messages, shutdown. */
#include "check.h"
#include "client.h"
#include "kernel.h"
#include "mock_interp.h"
#include "zmq_transport.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

static mock_interp mock;
static dn_connection conn;
static int serve_rc = -2;
static char serve_err[256];

static void *kernel_main(void *arg)
{
    (void)arg;
    serve_rc = dn_kernel_serve(&conn, &mock.base, serve_err, sizeof serve_err);
    return NULL;
}

static void *ctx;
static void *shell, *control, *iopub, *hb, *stdin_;

static void *client_socket(int type, int port)
{
    char ep[300];
    dn_connection_endpoint(&conn, port, ep, sizeof ep);
    void *s = zmq_socket(ctx, type);
    int linger = 0, timeout = 5000;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    if (type == ZMQ_DEALER) zmq_setsockopt(s, ZMQ_ROUTING_ID, CLIENT_ID, strlen(CLIENT_ID));
    if (type == ZMQ_SUB) zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0);
    zmq_connect(s, ep);
    return s;
}

static void send_frames(void *s, const dn_frames *f, size_t skip)
{
    for (size_t i = skip; i < f->n; i++)
        zmq_send(s, f->v[i].data, f->v[i].len, i + 1 < f->n ? ZMQ_SNDMORE : 0);
}

/* A request from a DEALER: the ROUTER adds the identity, so the client sends none. */
static void request(void *s, const char *type, const char *id, const char *content)
{
    dn_frames f = { 0 };
    client_request(&f, type, id, content);
    send_frames(s, &f, 1);
    dn_frames_clear(&f);
}

/* Receives one message (5 s timeout) and parses it; returns its msg_type or "" on timeout. */
static const char *receive(void *s, dn_msg *m)
{
    static char type[64];
    dn_frames f = { 0 };
    int more = 1;
    memset(m, 0, sizeof *m);
    while (more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, s, 0) < 0) { zmq_msg_close(&part); dn_frames_clear(&f); return ""; }
        dn_frames_push(&f, zmq_msg_data(&part), zmq_msg_size(&part));
        more = zmq_msg_more(&part);
        zmq_msg_close(&part);
    }
    char err[200];
    int rc = dn_wire_parse(&f, client_signer(), m, err, sizeof err);
    dn_frames_clear(&f);
    if (rc != DN_WIRE_OK) { if (rc == DN_WIRE_BAD_BODY) dn_msg_fini(m); return "<bad>"; }
    snprintf(type, sizeof type, "%s", json_string_value(json_object_get(m->header, "msg_type")));
    return type;
}

static const char *str(json_t *o, const char *key) { return json_string_value(json_object_get(o, key)); }

/* Reads iopub until a status idle whose parent is id; counts the messages seen. */
static int iopub_until_idle(const char *id, char *types, size_t typeslen)
{
    types[0] = 0;
    for (int n = 0; n < 50; n++) {
        dn_msg m;
        const char *t = receive(iopub, &m);
        if (!*t) return 0;
        const char *parent = str(m.parent, "msg_id");
        if (parent && strcmp(parent, id) == 0) {
            if (strlen(types) + strlen(t) + 2 < typeslen) { strcat(types, t); strcat(types, " "); }
            const char *state = str(m.content, "execution_state");
            if (state && strcmp(state, "idle") == 0) { dn_msg_fini(&m); return 1; }
        }
        dn_msg_fini(&m);
    }
    return 0;
}

static int kernel_info_ok(const char *id)
{
    request(shell, "kernel_info_request", id, "{}");
    dn_msg m;
    const char *t = receive(shell, &m);
    int ok = strcmp(t, "kernel_info_reply") == 0 && strcmp(str(m.parent, "msg_id"), id) == 0;
    if (*t && strcmp(t, "<bad>")) dn_msg_fini(&m);
    return ok;
}

static void *wait_cell(void *arg)
{
    (void)arg;
    request(shell, "execute_request", "z-wait", "{\"code\": \"wait\"}");
    return NULL;
}

int main(void)
{
    char dir[] = "/tmp/dn-zmq-XXXXXX", err[300], text[1024];
    CHECK(mkdtemp(dir) != NULL, "temp dir %s", dir);
    snprintf(text, sizeof text, "{\"transport\": \"ipc\", \"ip\": \"%s/k\", \"shell_port\": 1, \"iopub_port\": 2, "
             "\"stdin_port\": 3, \"control_port\": 4, \"hb_port\": 5, \"key\": \"%s\", "
             "\"signature_scheme\": \"hmac-sha256\"}", dir, CLIENT_KEY);
    CHECK(dn_connection_parse(text, strlen(text), "test", &conn, err, sizeof err) == 0, "connection");
    mock_init(&mock);

    /* SIGINT must reach the kernel's shell thread, not this client thread */
    sigset_t sigint, old;
    sigemptyset(&sigint);
    sigaddset(&sigint, SIGINT);
    pthread_t kernel;
    pthread_create(&kernel, NULL, kernel_main, NULL);
    pthread_sigmask(SIG_BLOCK, &sigint, &old);

    ctx = zmq_ctx_new();
    iopub = client_socket(ZMQ_SUB, DN_PORT_IOPUB);
    dn_msg m;
    const char *t = receive(iopub, &m);
    CHECK(strcmp(t, "iopub_welcome") == 0 && strcmp(str(m.content, "subscription"), "") == 0,
          "a new iopub subscriber is welcomed first (protocol 5.5): %s", t);
    if (*t && strcmp(t, "<bad>")) dn_msg_fini(&m);

    shell = client_socket(ZMQ_DEALER, DN_PORT_SHELL);
    control = client_socket(ZMQ_DEALER, DN_PORT_CONTROL);
    hb = client_socket(ZMQ_REQ, DN_PORT_HB);
    zmq_send(hb, "ping", 4, 0);
    char echo[8] = "";
    CHECK(zmq_recv(hb, echo, sizeof echo, 0) == 4 && memcmp(echo, "ping", 4) == 0, "heartbeat echoes");

    char types[512];
    CHECK(kernel_info_ok("z1"), "kernel_info_reply on shell");
    CHECK(iopub_until_idle("z1", types, sizeof types) && strcmp(types, "status status ") == 0,
          "kernel_info publishes busy and idle: %s", types);

    request(shell, "execute_request", "z2", "{\"code\": \"print hello\"}");
    t = receive(shell, &m);
    CHECK(strcmp(t, "execute_reply") == 0 && strcmp(str(m.content, "status"), "ok") == 0, "execute_reply ok");
    if (*t && strcmp(t, "<bad>")) dn_msg_fini(&m);
    CHECK(iopub_until_idle("z2", types, sizeof types) && strcmp(types, "status execute_input stream status ") == 0,
          "execute on iopub: %s", types);

    /* input(): input_request on the stdin channel, routed to this client, answered */
    stdin_ = client_socket(ZMQ_DEALER, DN_PORT_STDIN);
    nanosleep(&(struct timespec){ 0, 50000000 }, NULL);  /* let the stdin connection settle */
    request(shell, "execute_request", "z-in", "{\"code\": \"input\", \"allow_stdin\": true}");
    t = receive(stdin_, &m);
    CHECK(strcmp(t, "input_request") == 0 && strcmp(str(m.content, "prompt"), "name: ") == 0 &&
          strcmp(str(m.parent, "msg_id"), "z-in") == 0, "input_request arrives on this client's stdin socket");
    if (*t && strcmp(t, "<bad>")) dn_msg_fini(&m);
    request(stdin_, "input_reply", "z-in-r", "{\"value\": \"Grace\"}");
    t = receive(shell, &m);
    CHECK(strcmp(t, "execute_reply") == 0 && strcmp(str(m.content, "status"), "ok") == 0, "the cell got its input");
    if (*t && strcmp(t, "<bad>")) dn_msg_fini(&m);
    CHECK(iopub_until_idle("z-in", types, sizeof types) && strstr(types, "stream"), "and printed it: %s", types);

    /* interrupt_request on control is heard while the shell thread runs a cell */
    pthread_t th;
    pthread_create(&th, NULL, wait_cell, NULL);
    pthread_join(th, NULL);
    struct timespec tick = { 0, 1000000 };
    for (int i = 0; i < 5000 && !atomic_load(&mock.running); i++) nanosleep(&tick, NULL);
    request(control, "interrupt_request", "z3", "{}");
    t = receive(control, &m);
    CHECK(strcmp(t, "interrupt_reply") == 0, "interrupt_reply on control while a cell runs");
    if (*t && strcmp(t, "<bad>")) dn_msg_fini(&m);
    t = receive(shell, &m);
    CHECK(strcmp(t, "execute_reply") == 0 && strcmp(str(m.content, "ename"), "KeyboardInterrupt") == 0,
          "the cell stopped with KeyboardInterrupt");
    if (*t && strcmp(t, "<bad>")) dn_msg_fini(&m);

    /* SIGINT while the shell thread waits in zmq_poll: EINTR is retried, not fatal */
    int before = atomic_load(&mock.interrupts);
    kill(getpid(), SIGINT);
    nanosleep(&(struct timespec){ 0, 50000000 }, NULL);
    CHECK(atomic_load(&mock.interrupts) == before + 1, "SIGINT reached the interpreter");
    CHECK(kernel_info_ok("z4"), "the kernel serves on after SIGINT during its poll");

    /* bad input on the wire */
    zmq_send(shell, "no delimiter", 12, 0);
    dn_frames f = { 0 };
    client_raw(&f, "{\"msg_id\":\"z5\",\"msg_type\":\"kernel_info_request\"}", "{}", 0);
    send_frames(shell, &f, 1);
    dn_frames_clear(&f);
    /* all frames under the per-frame limit, together over it */
    size_t half = DN_MAX_MESSAGE_BYTES / 2 + 1;
    char *big = calloc(1, half);
    client_request(&f, "kernel_info_request", "z6", "{}");
    for (size_t i = 1; i < f.n; i++) zmq_send(shell, f.v[i].data, f.v[i].len, ZMQ_SNDMORE);
    zmq_send(shell, big, half, ZMQ_SNDMORE);
    zmq_send(shell, big, half, 0);
    dn_frames_clear(&f);
    free(big);
    CHECK(kernel_info_ok("z7"), "unsigned, undelimited and oversized messages dropped; the next is served");
    int timeout = 300;
    zmq_setsockopt(shell, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    t = receive(shell, &m);
    CHECK(*t == 0, "no reply came for any dropped message");
    if (*t && strcmp(t, "<bad>")) dn_msg_fini(&m);
    timeout = 5000;
    zmq_setsockopt(shell, ZMQ_RCVTIMEO, &timeout, sizeof timeout);

    request(control, "shutdown_request", "z8", "{\"restart\": true}");
    t = receive(control, &m);
    CHECK(strcmp(t, "shutdown_reply") == 0 && json_is_true(json_object_get(m.content, "restart")), "shutdown_reply");
    if (*t && strcmp(t, "<bad>")) dn_msg_fini(&m);
    CHECK(iopub_until_idle("z8", types, sizeof types), "idle after the shutdown reply still published");
    pthread_join(kernel, NULL);
    CHECK(serve_rc == 0, "the kernel returned normally: %s", serve_rc ? serve_err : "ok");
    CHECK(mock.shutdowns == 1 && mock.shutdown_restart == 1, "interpreter shut down once, told it is a restart");

    pthread_sigmask(SIG_SETMASK, &old, NULL);
    zmq_close(shell); zmq_close(control); zmq_close(iopub); zmq_close(hb); zmq_close(stdin_);
    zmq_ctx_term(ctx);
    dn_connection_fini(&conn);
    dn_signer_free(client_signer());
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0, "cleaned up");
    return CHECK_DONE();
}
