/* zmq_transport.c — the five Jupyter sockets over ZeroMQ.
 *
 * ZeroMQ sockets are not thread-safe, so each has one owner: shell and stdin belong to the
 * shell thread, control to the control thread, heartbeat (REP echo) to its own thread, and
 * the iopub XPUB to a relay thread. Threads publish through their own inproc PUSH socket
 * (guarded by a mutex, so interpreter worker threads may publish too); the relay forwards
 * to the XPUB and answers each new subscription with an iopub_welcome. An eventfd wakes
 * every blocked recv at shutdown. */
#include "zmq_transport.h"

#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define RELAY_ENDPOINT "inproc://deepnb-iopub"
#define LINGER_MS 1000
static const char STOP_RELAY[] = "\0deepnb-stop";  /* a 1-frame message no Jupyter message is */

typedef struct dn_zmq {
    dn_transport base;
    void *ctx;
    void *sock[DN_NCHANNELS];     /* shell, control, stdin, iopub (XPUB) */
    void *hb;
    void *push[2];                /* inproc to the relay: [0] shell side, [1] control side */
    pthread_mutex_t push_lock[2];
    void *pull;
    int wake_fd;
    atomic_int stopping;
    pthread_t hb_thread, relay_thread;
    int hb_started, relay_started;
    dn_welcome_fn welcome;
    void *welcome_ctx;
    int watch_fd;                 /* readable once the parent process ended; -1: none */
    void (*on_watch)(void *ctx);
    void *watch_ctx;
} dn_zmq;

static const char *channel_names[DN_NCHANNELS] = { "shell", "control", "stdin", "iopub" };

/* ---------------------------------------------------------------- sending */

static int send_frames(void *sock, const dn_frames *msg)
{
    for (size_t i = 0; i < msg->n; i++) {
        int flags = i + 1 < msg->n ? ZMQ_SNDMORE : 0;
        while (zmq_send(sock, msg->v[i].data, msg->v[i].len, flags) < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
    }
    return 0;
}

static int z_send(dn_transport *t, dn_channel ch, dn_channel origin, const dn_frames *msg)
{
    dn_zmq *z = (dn_zmq *)t;
    int rc;
    if (ch == DN_IOPUB) {
        int lane = origin == DN_CONTROL;
        pthread_mutex_lock(&z->push_lock[lane]);
        rc = send_frames(z->push[lane], msg);
        pthread_mutex_unlock(&z->push_lock[lane]);
    } else {
        rc = send_frames(z->sock[ch], msg);
    }
    if (rc) dn_warn("%s: send failed: %s", channel_names[ch], zmq_strerror(errno));
    return rc;
}

/* ---------------------------------------------------------------- receiving */

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* Reads the rest of a multipart message that is being thrown away. */
static void discard_rest(void *sock)
{
    int more = 1;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, sock, 0) < 0 && errno == EINTR) { zmq_msg_close(&part); continue; }
        more = zmq_msg_more(&part);
        zmq_msg_close(&part);
    }
}

/* Reads one whole multipart message already waiting. 1 = got it, 0 = none or dropped. */
static int read_message(dn_zmq *z, dn_channel ch, dn_frames *out)
{
    void *sock = z->sock[ch];
    size_t total = 0;
    int more = 1;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        /* only the first part may be missing; the rest of a multipart arrives with it */
        if (zmq_msg_recv(&part, sock, out->n ? 0 : ZMQ_DONTWAIT) < 0) {
            int e = errno;
            zmq_msg_close(&part);
            if (e == EINTR) continue;
            if (e != EAGAIN) dn_warn("%s: receive failed: %s", channel_names[ch], zmq_strerror(e));
            dn_frames_clear(out);
            return 0;
        }
        size_t len = zmq_msg_size(&part);
        more = zmq_msg_more(&part);
        total += len;
        if (total > DN_MAX_MESSAGE_BYTES || out->n >= DN_MAX_FRAMES) {
            zmq_msg_close(&part);
            if (more) discard_rest(sock);
            dn_warn("%s: message dropped: over %d frames or %d bytes", channel_names[ch],
                    DN_MAX_FRAMES, DN_MAX_MESSAGE_BYTES);
            dn_frames_clear(out);
            return 0;
        }
        int bad = dn_frames_push(out, zmq_msg_data(&part), len);
        zmq_msg_close(&part);
        if (bad) {
            if (more) discard_rest(sock);
            dn_error("%s: out of memory; message dropped", channel_names[ch]);
            dn_frames_clear(out);
            return 0;
        }
    }
    return 1;
}

static int z_recv(dn_transport *t, dn_channel ch, int timeout_ms, dn_frames *out)
{
    dn_zmq *z = (dn_zmq *)t;
    long deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
    for (;;) {
        if (atomic_load(&z->stopping)) return -1;
        zmq_pollitem_t items[2] = {
            { .socket = z->sock[ch], .events = ZMQ_POLLIN },
            { .socket = NULL, .fd = z->wake_fd, .events = ZMQ_POLLIN },
        };
        long wait = -1;
        if (timeout_ms >= 0) {
            wait = timeout_ms == 0 ? 0 : deadline - now_ms();
            if (wait < 0) wait = 0;  /* -1 would mean forever */
        }
        int rc = zmq_poll(items, 2, wait);
        if (rc < 0) {
            if (errno == EINTR) continue;  /* a signal (SIGINT) during the wait is not an error */
            if (errno != ETERM) dn_error("%s: poll failed: %s", channel_names[ch], zmq_strerror(errno));
            return -1;
        }
        if (items[1].revents) return -1;
        if (items[0].revents & ZMQ_POLLIN) {
            if (read_message(z, ch, out)) return 1;
        }
        if (timeout_ms == 0 || (timeout_ms > 0 && now_ms() >= deadline)) return 0;
    }
}

static void z_stop(dn_transport *t)
{
    dn_zmq *z = (dn_zmq *)t;
    atomic_store(&z->stopping, 1);
    uint64_t one = 1;
    /* async-signal-safe: this may run in a SIGTERM handler */
    ssize_t ignored = write(z->wake_fd, &one, sizeof one);
    (void)ignored;
}

static const dn_transport_ops zmq_ops = { z_send, z_recv, z_stop };

/* ---------------------------------------------------------------- threads */

/* Echoes every ping whole: a REP socket sends only after the last part has arrived, so the
 * parts are gathered first (pings are one small frame; a cap keeps a flood bounded). */
enum { HB_MAX_PARTS = 64 };

static void *heartbeat_main(void *arg)
{
    dn_zmq *z = arg;
    zmq_msg_t parts[HB_MAX_PARTS];
    for (;;) {
        int n = 0, more = 1, failed = 0;
        while (more) {
            zmq_msg_t part;
            zmq_msg_init(&part);
            if (zmq_msg_recv(&part, z->hb, 0) < 0) {
                zmq_msg_close(&part);
                if (errno == EINTR) continue;
                for (int i = 0; i < n; i++) zmq_msg_close(&parts[i]);
                return NULL;  /* ETERM: the context is shutting down */
            }
            more = zmq_msg_more(&part);
            if (n < HB_MAX_PARTS) parts[n++] = part;
            else { zmq_msg_close(&part); failed = 1; }
        }
        if (failed) dn_warn("heartbeat: a ping of more than %d parts was cut to %d", HB_MAX_PARTS, HB_MAX_PARTS);
        for (int i = 0; i < n; i++)
            if (zmq_msg_send(&parts[i], z->hb, i + 1 < n ? ZMQ_SNDMORE : 0) < 0) zmq_msg_close(&parts[i]);
    }
}

/* Forwards one multipart message from the relay's PULL to the XPUB; 1 = it was the stop. */
static int forward(dn_zmq *z, int flags)
{
    int first = 1, more = 1;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, z->pull, first ? flags : 0) < 0) {
            zmq_msg_close(&part);
            if (errno == EINTR && !first) continue;
            return first && errno == EAGAIN ? -1 : 1;
        }
        more = zmq_msg_more(&part);
        if (first && !more && zmq_msg_size(&part) == sizeof STOP_RELAY &&
            memcmp(zmq_msg_data(&part), STOP_RELAY, sizeof STOP_RELAY) == 0) {
            zmq_msg_close(&part);
            return 1;
        }
        first = 0;
        if (zmq_msg_send(&part, z->sock[DN_IOPUB], more ? ZMQ_SNDMORE : 0) < 0) zmq_msg_close(&part);
    }
    return 0;
}

static void welcome_subscriber(dn_zmq *z)
{
    zmq_msg_t ev;
    zmq_msg_init(&ev);
    if (zmq_msg_recv(&ev, z->sock[DN_IOPUB], ZMQ_DONTWAIT) < 0) { zmq_msg_close(&ev); return; }
    const unsigned char *d = zmq_msg_data(&ev);
    size_t n = zmq_msg_size(&ev);
    if (n >= 1 && d[0] == 1 && z->welcome) {  /* 1 = subscribe, 0 = unsubscribe */
        dn_frames f = { 0 };
        if (z->welcome(z->welcome_ctx, d + 1, n - 1, &f) == 0) {
            dn_debug("iopub: new subscriber, welcome sent");
            send_frames(z->sock[DN_IOPUB], &f);
        }
        dn_frames_clear(&f);
    }
    zmq_msg_close(&ev);
}

static void *relay_main(void *arg)
{
    dn_zmq *z = arg;
    for (;;) {
        zmq_pollitem_t items[3] = {
            { .socket = z->pull, .events = ZMQ_POLLIN },
            { .socket = z->sock[DN_IOPUB], .events = ZMQ_POLLIN },
            { .socket = NULL, .fd = z->watch_fd, .events = ZMQ_POLLIN },
        };
        if (zmq_poll(items, z->watch_fd >= 0 ? 3 : 2, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (z->watch_fd >= 0 && items[2].revents) {
            z->watch_fd = -1;  /* fires once; the fd stays readable */
            z->on_watch(z->watch_ctx);
        }
        if (items[1].revents & ZMQ_POLLIN) welcome_subscriber(z);
        if ((items[0].revents & ZMQ_POLLIN) && forward(z, ZMQ_DONTWAIT) == 1) {
            /* publish what was queued before the stop, then leave */
            while (forward(z, ZMQ_DONTWAIT) == 0) {}
            break;
        }
    }
    return NULL;
}

static int start_thread(pthread_t *th, void *(*fn)(void *), void *arg)
{
    /* signals go to the main thread only: helper threads must not take SIGINT */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(th, NULL, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

/* ---------------------------------------------------------------- life cycle */

static void *make_socket(dn_zmq *z, int type, const char *endpoint, char *err, size_t errlen)
{
    void *s = zmq_socket(z->ctx, type);
    if (!s) {
        snprintf(err, errlen, "cannot create a ZeroMQ socket: %s", zmq_strerror(errno));
        return NULL;
    }
    int linger = LINGER_MS;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    if (strncmp(endpoint, "tcp://[", 7) == 0) {
        int one = 1;
        zmq_setsockopt(s, ZMQ_IPV6, &one, sizeof one);
    }
    if (type == ZMQ_ROUTER) {
        int one = 1;  /* a client reconnecting with its old identity takes the route over */
        zmq_setsockopt(s, ZMQ_ROUTER_HANDOVER, &one, sizeof one);
        int64_t max = DN_MAX_MESSAGE_BYTES;  /* a bigger frame makes ZeroMQ drop that peer */
        zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &max, sizeof max);
    }
    if (type == ZMQ_XPUB) {
        int one = 1;  /* pass every subscription up, so each subscriber gets a welcome */
        zmq_setsockopt(s, ZMQ_XPUB_VERBOSE, &one, sizeof one);
    }
    if (zmq_bind(s, endpoint) != 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", endpoint, zmq_strerror(errno));
        zmq_close(s);
        return NULL;
    }
    return s;
}

dn_transport *dn_zmq_transport_new(const dn_connection *conn, char *err, size_t errlen)
{
    dn_zmq *z = calloc(1, sizeof *z);
    if (!z) { snprintf(err, errlen, "out of memory"); return NULL; }
    z->base.ops = &zmq_ops;
    z->watch_fd = -1;
    z->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    pthread_mutex_init(&z->push_lock[0], NULL);
    pthread_mutex_init(&z->push_lock[1], NULL);
    z->ctx = zmq_ctx_new();
    if (z->wake_fd < 0 || !z->ctx) {
        snprintf(err, errlen, "cannot set up ZeroMQ: %s", strerror(errno));
        dn_zmq_transport_free(&z->base);
        return NULL;
    }
    static const struct { int port; int channel; int type; } binds[] = {
        { DN_PORT_SHELL, DN_SHELL, ZMQ_ROUTER },
        { DN_PORT_CONTROL, DN_CONTROL, ZMQ_ROUTER },
        { DN_PORT_STDIN, DN_STDIN, ZMQ_ROUTER },
        { DN_PORT_IOPUB, DN_IOPUB, ZMQ_XPUB },
        { DN_PORT_HB, -1, ZMQ_REP },
    };
    char ep[300];
    for (size_t i = 0; i < sizeof binds / sizeof binds[0]; i++) {
        dn_connection_endpoint(conn, binds[i].port, ep, sizeof ep);
        void *s = make_socket(z, binds[i].type, ep, err, errlen);
        if (!s) { dn_zmq_transport_free(&z->base); return NULL; }
        if (binds[i].channel >= 0) z->sock[binds[i].channel] = s;
        else z->hb = s;
        dn_debug("listening on %s", ep);
    }
    z->pull = zmq_socket(z->ctx, ZMQ_PULL);
    if (!z->pull || zmq_bind(z->pull, RELAY_ENDPOINT) != 0) {
        snprintf(err, errlen, "cannot set up the iopub relay: %s", zmq_strerror(errno));
        dn_zmq_transport_free(&z->base);
        return NULL;
    }
    for (int i = 0; i < 2; i++) {
        z->push[i] = zmq_socket(z->ctx, ZMQ_PUSH);
        int linger = LINGER_MS;
        if (z->push[i]) zmq_setsockopt(z->push[i], ZMQ_LINGER, &linger, sizeof linger);
        if (!z->push[i] || zmq_connect(z->push[i], RELAY_ENDPOINT) != 0) {
            snprintf(err, errlen, "cannot set up the iopub relay: %s", zmq_strerror(errno));
            dn_zmq_transport_free(&z->base);
            return NULL;
        }
    }
    return &z->base;
}

void dn_zmq_transport_watch(dn_transport *t, int fd, void (*on_ready)(void *ctx), void *ctx)
{
    dn_zmq *z = (dn_zmq *)t;
    z->watch_fd = fd;
    z->on_watch = on_ready;
    z->watch_ctx = ctx;
}

int dn_zmq_transport_start(dn_transport *t, dn_welcome_fn welcome, void *ctx, char *err, size_t errlen)
{
    dn_zmq *z = (dn_zmq *)t;
    z->welcome = welcome;
    z->welcome_ctx = ctx;
    if (start_thread(&z->hb_thread, heartbeat_main, z) != 0) {
        snprintf(err, errlen, "cannot start the heartbeat thread");
        return -1;
    }
    z->hb_started = 1;
    if (start_thread(&z->relay_thread, relay_main, z) != 0) {
        snprintf(err, errlen, "cannot start the iopub thread");
        return -1;
    }
    z->relay_started = 1;
    return 0;
}

void dn_zmq_transport_free(dn_transport *t)
{
    if (!t) return;
    dn_zmq *z = (dn_zmq *)t;
    if (z->wake_fd >= 0) z_stop(t);
    if (z->relay_started) {
        pthread_mutex_lock(&z->push_lock[0]);
        zmq_send(z->push[0], STOP_RELAY, sizeof STOP_RELAY, 0);
        pthread_mutex_unlock(&z->push_lock[0]);
        pthread_join(z->relay_thread, NULL);
    }
    if (z->ctx) zmq_ctx_shutdown(z->ctx);  /* wakes the heartbeat thread with ETERM */
    if (z->hb_started) pthread_join(z->hb_thread, NULL);
    for (int i = 0; i < DN_NCHANNELS; i++) if (z->sock[i]) zmq_close(z->sock[i]);
    for (int i = 0; i < 2; i++) if (z->push[i]) zmq_close(z->push[i]);
    if (z->pull) zmq_close(z->pull);
    if (z->hb) zmq_close(z->hb);
    if (z->ctx) zmq_ctx_term(z->ctx);
    if (z->wake_fd >= 0) close(z->wake_fd);
    pthread_mutex_destroy(&z->push_lock[0]);
    pthread_mutex_destroy(&z->push_lock[1]);
    free(z);
}
