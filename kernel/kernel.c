/* kernel.c — wires the parts together and owns the threads: the calling thread serves shell,
 * a second thread serves control (so interrupt and shutdown are heard while a cell runs). */
#include "kernel.h"

#include "core.h"
#include "hmac.h"
#include "log.h"
#include "signals.h"
#include "zmq_transport.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static void *control_main(void *arg)
{
    dn_core_serve(arg, DN_CONTROL);
    return NULL;
}

static int welcome(void *ctx, const void *topic, size_t len, dn_frames *out)
{
    return dn_core_welcome(ctx, topic, len, out);
}

typedef struct parent_watch {
    dn_core *core;
    dn_transport *t;
} parent_watch;

static void parent_ended(void *ctx)
{
    parent_watch *w = ctx;
    dn_warn("the process that started this kernel ended; shutting down");
    dn_core_interrupt(w->core);
    w->t->ops->stop(w->t);
}

/* A pidfd for the Jupyter client that started us (jupyter_client sets JPY_PARENT_PID), so
 * an orphaned kernel ends instead of lingering; -1 when there is none to watch. */
static int open_parent_fd(void)
{
    const char *v = getenv("JPY_PARENT_PID");
    long pid = v ? strtol(v, NULL, 10) : 0;
    if (pid <= 1) return -1;
    int fd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
    if (fd < 0) dn_info("not watching parent %ld: %s", pid, strerror(errno));
    return fd;
}

int dn_kernel_serve(const dn_connection *conn, dn_interp *interp, char *err, size_t errlen)
{
    dn_log_init();
    int rc = -1, control_started = 0, signals = 0;
    dn_signer *signer = NULL;
    dn_transport *t = NULL;
    dn_core *core = NULL;
    pthread_t control;
    int parent_fd = -1;
    parent_watch watch;

    if (!(signer = dn_signer_new(conn->scheme, conn->key, conn->keylen, err, errlen))) goto out;
    if (!(t = dn_zmq_transport_new(conn, err, errlen))) goto out;
    if (!(core = dn_core_new(interp, t, signer, err, errlen))) goto out;
    watch = (parent_watch){ core, t };
    if ((parent_fd = open_parent_fd()) >= 0) dn_zmq_transport_watch(t, parent_fd, parent_ended, &watch);
    if (dn_zmq_transport_start(t, welcome, core, err, errlen)) goto out;
    if (dn_signals_attach(core, t, err, errlen)) goto out;
    signals = 1;
    dn_info("kernel listening (%s, %s)", conn->transport, conn->ip);
    dn_core_start(core);

    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);  /* the control thread inherits: no SIGINT there */
    control_started = pthread_create(&control, NULL, control_main, core) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!control_started) {
        snprintf(err, errlen, "cannot start the control thread");
        goto out;
    }
    dn_core_serve(core, DN_SHELL);
    rc = 0;
out:
    if (t) t->ops->stop(t);
    if (control_started) pthread_join(control, NULL);
    int restart = 0;
    if (core) dn_core_quitting(core, &restart);
    interp->ops->shutdown(interp, restart);
    if (signals) dn_signals_detach();
    dn_zmq_transport_free(t);
    dn_core_free(core);
    dn_signer_free(signer);
    if (parent_fd >= 0) close(parent_fd);
    return rc;
}
