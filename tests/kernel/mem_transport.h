/* mem_transport.h — dn_transport in memory for the core's unit tests: queues to feed the
 * shell/control/stdin channels, and a log of everything the core sent. */
#ifndef DN_TEST_MEM_TRANSPORT_H
#define DN_TEST_MEM_TRANSPORT_H

#include "transport.h"

#include <pthread.h>

#define MEM_MAX 256

typedef struct mem_sent {
    dn_channel ch, origin;
    dn_frames frames;
} mem_sent;

typedef struct mem_transport {
    dn_transport base;
    pthread_mutex_t lock;
    dn_frames in[DN_NCHANNELS][MEM_MAX];
    int in_head[DN_NCHANNELS], in_tail[DN_NCHANNELS];
    mem_sent sent[MEM_MAX * 4];
    int nsent;
    int stopped;
    int stdin_polls;  /* recv calls on stdin that found nothing */
    /* called (outside the lock) after each send, e.g. to answer an input_request */
    void (*on_send)(struct mem_transport *m, dn_channel ch, const dn_frames *f, void *ctx);
    void *on_send_ctx;
} mem_transport;

void mem_init(mem_transport *m);
void mem_fini(mem_transport *m);
/* Queues a message to be received on ch (the frames are moved). */
void mem_push(mem_transport *m, dn_channel ch, dn_frames *f);
/* Forgets what was sent so far. */
void mem_clear_sent(mem_transport *m);

#endif
