/* signals.c — process signal handlers; everything they call is async-signal-safe
 * (atomic stores, the interpreter's interrupt, a write to the transport's eventfd). */
#include "signals.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static dn_core *volatile g_core;
static dn_transport *volatile g_transport;

static void on_sigint(int sig)
{
    (void)sig;
    int saved = errno;
    if (g_core) dn_core_interrupt(g_core);
    errno = saved;
}

static void on_sigterm(int sig)
{
    (void)sig;
    int saved = errno;
    if (g_core) dn_core_interrupt(g_core);
    if (g_transport) g_transport->ops->stop(g_transport);
    errno = saved;
}

int dn_signals_attach(dn_core *core, dn_transport *t, char *err, size_t errlen)
{
    g_core = core;
    g_transport = t;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;  /* blocking calls in the interpreter go on after a SIGINT */
    sa.sa_handler = on_sigint;
    if (sigaction(SIGINT, &sa, NULL) != 0) goto fail;
    sa.sa_handler = on_sigterm;
    if (sigaction(SIGTERM, &sa, NULL) != 0) goto fail;
    return 0;
fail:
    snprintf(err, errlen, "cannot install signal handlers: %s", strerror(errno));
    return -1;
}

void dn_signals_detach(void)
{
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    g_core = NULL;
    g_transport = NULL;
}
