/* mem_transport.c — see mem_transport.h. recv never blocks: an empty shell or control queue
 * reads as "transport stopped" (so dn_core_serve ends), an empty stdin as a timeout. */
#include "mem_transport.h"

#include <string.h>

static int m_send(dn_transport *t, dn_channel ch, dn_channel origin, const dn_frames *f)
{
    mem_transport *m = (mem_transport *)t;
    pthread_mutex_lock(&m->lock);
    if (m->nsent < MEM_MAX * 4) {
        mem_sent *s = &m->sent[m->nsent++];
        s->ch = ch;
        s->origin = origin;
        memset(&s->frames, 0, sizeof s->frames);
        for (size_t i = 0; i < f->n; i++) dn_frames_push(&s->frames, f->v[i].data, f->v[i].len);
    }
    pthread_mutex_unlock(&m->lock);
    if (m->on_send) m->on_send(m, ch, f, m->on_send_ctx);
    return 0;
}

static int m_recv(dn_transport *t, dn_channel ch, int timeout_ms, dn_frames *out)
{
    (void)timeout_ms;
    mem_transport *m = (mem_transport *)t;
    pthread_mutex_lock(&m->lock);
    int rc;
    if (m->stopped) {
        rc = -1;
    } else if (m->in_head[ch] == m->in_tail[ch]) {
        if (ch == DN_STDIN) m->stdin_polls++;
        rc = ch == DN_STDIN || timeout_ms == 0 ? 0 : -1;
    } else {
        *out = m->in[ch][m->in_head[ch]++ % MEM_MAX];
        rc = 1;
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}

static void m_stop(dn_transport *t)
{
    mem_transport *m = (mem_transport *)t;
    pthread_mutex_lock(&m->lock);
    m->stopped = 1;
    pthread_mutex_unlock(&m->lock);
}

static const dn_transport_ops mem_ops = { m_send, m_recv, m_stop };

void mem_init(mem_transport *m)
{
    memset(m, 0, sizeof *m);
    m->base.ops = &mem_ops;
    pthread_mutex_init(&m->lock, NULL);
}

void mem_push(mem_transport *m, dn_channel ch, dn_frames *f)
{
    pthread_mutex_lock(&m->lock);
    m->in[ch][m->in_tail[ch]++ % MEM_MAX] = *f;
    pthread_mutex_unlock(&m->lock);
    memset(f, 0, sizeof *f);
}

void mem_clear_sent(mem_transport *m)
{
    pthread_mutex_lock(&m->lock);
    for (int i = 0; i < m->nsent; i++) dn_frames_clear(&m->sent[i].frames);
    m->nsent = 0;
    pthread_mutex_unlock(&m->lock);
}

void mem_fini(mem_transport *m)
{
    mem_clear_sent(m);
    for (int ch = 0; ch < DN_NCHANNELS; ch++)
        while (m->in_head[ch] != m->in_tail[ch]) dn_frames_clear(&m->in[ch][m->in_head[ch]++ % MEM_MAX]);
    pthread_mutex_destroy(&m->lock);
}
