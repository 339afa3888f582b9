/* zmq_transport.h — dn_transport over the five ZeroMQ sockets of a connection file. */
#ifndef DN_ZMQ_TRANSPORT_H
#define DN_ZMQ_TRANSPORT_H

#include "connection.h"
#include "transport.h"

/* Incoming messages larger than this (all frames together), or with more frames, are
 * dropped and logged; a single bigger frame makes ZeroMQ close that client's connection
 * (ZMQ_MAXMSGSIZE), which its library reopens. */
#define DN_MAX_MESSAGE_BYTES (64 * 1024 * 1024)
#define DN_MAX_FRAMES 4096

/* Builds the iopub_welcome for a new subscription (appends frames to out; 0 or -1). */
typedef int (*dn_welcome_fn)(void *ctx, const void *topic, size_t topiclen, dn_frames *out);

/* Creates the sockets and binds them to the connection file's endpoints. NULL + err when
 * an endpoint cannot be bound. No thread runs yet. */
dn_transport *dn_zmq_transport_new(const dn_connection *conn, char *err, size_t errlen);
/* Before start: calls on_ready (from the iopub thread, once) when fd becomes readable. */
void dn_zmq_transport_watch(dn_transport *t, int fd, void (*on_ready)(void *ctx), void *ctx);
/* Starts the heartbeat and iopub threads; welcome answers new iopub subscriptions. */
int dn_zmq_transport_start(dn_transport *t, dn_welcome_fn welcome, void *ctx, char *err, size_t errlen);
/* Stops everything: flushes queued iopub messages (up to a second), joins the threads,
 * closes the sockets. Call after the threads that use shell/control/stdin have ended. */
void dn_zmq_transport_free(dn_transport *t);

#endif
