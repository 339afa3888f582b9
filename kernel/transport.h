/* transport.h — how the protocol core reaches its channels. ZeroMQ implements it for the
 * real kernel (zmq_transport.h); the unit tests implement it in memory. The core hands and
 * receives whole wire messages (frames); it never sees a socket. */
#ifndef DN_TRANSPORT_H
#define DN_TRANSPORT_H

#include "frames.h"

typedef enum dn_channel { DN_SHELL, DN_CONTROL, DN_STDIN, DN_IOPUB, DN_NCHANNELS } dn_channel;

typedef struct dn_transport dn_transport;

typedef struct dn_transport_ops {
    /* Sends one message on ch. origin is the channel whose thread is sending (DN_SHELL or
     * DN_CONTROL): shell and stdin are used only by the shell thread, control only by the
     * control thread; iopub may be used from any thread, the transport serialises it.
     * Returns 0, or -1 when the message could not be sent (it is logged). */
    int (*send)(dn_transport *t, dn_channel ch, dn_channel origin, const dn_frames *msg);
    /* Waits up to timeout_ms (-1: forever, 0: just look) for a message on ch (shell, control
     * or stdin; each only from its own thread). Returns 1 with *out filled (caller clears),
     * 0 on timeout, -1 once the transport is stopping. */
    int (*recv)(dn_transport *t, dn_channel ch, int timeout_ms, dn_frames *out);
    /* Wakes every recv and makes later ones return -1. Safe from any thread. */
    void (*stop)(dn_transport *t);
} dn_transport_ops;

struct dn_transport {
    const dn_transport_ops *ops;
};

#endif
