/* kernel.c — wires the parts together and owns the threads: the main thread serves shell,
 * a second thread serves control (so interrupt and shutdown are heard while a cell runs). */
#include "kernel.h"

#include "connection.h"
#include "core.h"
#include "hmac.h"
#include "log.h"
#include "magics.h"
#include "signals.h"
#include "zmq_transport.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>

static void *control_main(void *arg)
{
    dn_core_serve(arg, DN_CONTROL);
    return NULL;
}

static int welcome(void *ctx, const void *topic, size_t len, dn_frames *out)
{
    return dn_core_welcome(ctx, topic, len, out);
}

int dn_kernel_run(const char *connection_file, char *err, size_t errlen)
{
    dn_log_init();
    dn_connection conn;
    if (dn_connection_load(connection_file, &conn, err, errlen)) return -1;
    int rc = -1;
    dn_signer *signer = NULL;
    dn_transport *t = NULL;
    dn_interp *interp = NULL;
    dn_core *core = NULL;
    int control_started = 0;
    pthread_t control;

    if (!(signer = dn_signer_new(conn.scheme, conn.key, conn.keylen, err, errlen))) goto out;
    if (!(t = dn_zmq_transport_new(&conn, err, errlen))) goto out;
    if (!(interp = dn_magics_new(err, errlen))) goto out;
    if (!(core = dn_core_new(interp, t, signer, err, errlen))) goto out;
    if (dn_zmq_transport_start(t, welcome, core, err, errlen)) goto out;
    if (dn_signals_attach(core, t, err, errlen)) goto out;
    dn_info("kernel listening (%s, %s)", conn.transport, conn.ip);
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
    if (core && interp) {
        int restart = 0;
        dn_core_quitting(core, &restart);
        interp->ops->shutdown(interp, restart);
    }
    dn_signals_detach();
    dn_zmq_transport_free(t);
    dn_core_free(core);
    if (interp) interp->ops->free(interp);
    dn_signer_free(signer);
    dn_connection_fini(&conn);
    return rc;
}
