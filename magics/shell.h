/* shell.h — running `!command` lines: /bin/sh -c in its own process group, output
 * streamed as it arrives, interruptible from another thread or a signal handler. */
#ifndef DN_SHELL_H
#define DN_SHELL_H

#include "interp.h"

#include <stdatomic.h>
#include <stddef.h>

/* The interrupt state of one interpreter. */
typedef struct dn_cancel {
    atomic_int requested;   /* set by dn_cancel_request, cleared when a cell starts */
    atomic_int pgid;        /* process group of the running shell line, 0 when none */
    int wake[2];            /* self-pipe: a request wakes the poll loop at once */
    int left[64];           /* groups whose background jobs outlived their line */
    int nleft;
} dn_cancel;

/* Also makes this process a child subreaper (Linux): descendants of a shell line that
 * lose their parent become ours instead of init's, so we reap them even where init
 * does not (containers). */
int dn_cancel_init(dn_cancel *c, char *err, size_t errlen);
/* Reaps what finished of the background jobs earlier lines left behind. */
void dn_cancel_reap(dn_cancel *c);
/* At shutdown: SIGHUP to those jobs, as a closing terminal does (nohup'd ones live on),
 * and reaps whatever ends within half a second. */
void dn_cancel_hangup(dn_cancel *c);
void dn_cancel_fini(dn_cancel *c);
/* Async-signal-safe: flags the request, sends SIGINT to the running group, wakes the
 * loop. */
void dn_cancel_request(dn_cancel *c);
/* Forgets an earlier request (a new cell starts). */
void dn_cancel_reset(dn_cancel *c);
int dn_cancel_requested(dn_cancel *c);

typedef enum dn_shell_outcome {
    DN_SHELL_EXITED,       /* *code is the exit status */
    DN_SHELL_SIGNALED,     /* *code is the signal that ended it */
    DN_SHELL_INTERRUPTED,  /* the user interrupted; the group is gone and reaped */
    DN_SHELL_FAILED,       /* it could not start: err says why */
} dn_shell_outcome;

/* Runs argv[0] (/bin/sh) with argv; stdin is /dev/null, stdout and stderr go to out->stream
 * as "stdout" / "stderr" chunks as they are produced. Children get default signal
 * dispositions, an empty signal mask, and no descriptor of ours beyond 0-2. After an
 * interrupt the group gets SIGINT, then SIGTERM after 1 s, then SIGKILL after 2 s.
 * Once the shell itself has exited, output of background jobs it left is read for
 * another half second at most, then the pipes close (a later write gets SIGPIPE); they
 * are not waited for, dn_cancel_reap reaps them later. */
dn_shell_outcome dn_shell_run(dn_cancel *c, char *const argv[], const dn_sink *out,
                              int *code, char *err, size_t errlen);

/* /bin/sh -c cmd */
dn_shell_outcome dn_shell_line(dn_cancel *c, const char *cmd, const dn_sink *out, int *code,
                               char *err, size_t errlen);

#endif
