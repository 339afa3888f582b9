/* core.h — the Jupyter protocol core: one dispatch table from msg_type to handler, every
 * request wrapped in iopub busy/idle, replies signed and sent through a dn_transport. It
 * knows no language (it talks to a dn_interp) and no sockets (it talks to a dn_transport).
 *
 * Threads: shell requests are handled on one thread (the "shell thread", which also makes
 * every dn_interp call), control requests on another; dn_core_interrupt may come from a
 * signal handler; dn_core_welcome from the transport's iopub thread. */
#ifndef DN_CORE_H
#define DN_CORE_H

#include "hmac.h"
#include "interp.h"
#include "transport.h"

#define DN_PROTOCOL_VERSION "5.3"

typedef struct dn_core dn_core;

/* interp, transport and signer are borrowed and must outlive the core. Asks the
 * interpreter for its kernel_info once, here (on the shell thread). NULL + err on failure. */
dn_core *dn_core_new(dn_interp *interp, dn_transport *transport, const dn_signer *signer,
                     char *err, size_t errlen);
void dn_core_free(dn_core *c);

/* Publishes status "starting" (once per process, before serving). */
void dn_core_start(dn_core *c);
/* Handles one incoming message from ch (DN_SHELL or DN_CONTROL). Bad input is logged and
 * dropped, or answered with an error reply when its header can be trusted. */
void dn_core_handle(dn_core *c, dn_channel ch, const dn_frames *frames);
/* Receives and handles messages on ch until the transport stops or shutdown is asked. */
void dn_core_serve(dn_core *c, dn_channel ch);
/* Async-signal-safe: interrupts the running cell (and a pending input request). */
void dn_core_interrupt(dn_core *c);
/* 1 once a shutdown_request was answered; *restart gets its restart flag. */
int dn_core_quitting(const dn_core *c, int *restart);
/* The iopub_welcome message (protocol 5.5) for a new iopub subscription to topic.
 * Appends its frames to out; returns 0 or -1. Thread-safe. */
int dn_core_welcome(dn_core *c, const void *topic, size_t topiclen, dn_frames *out);
/* The count the last stored execute got. */
int dn_core_execution_count(const dn_core *c);

#endif
