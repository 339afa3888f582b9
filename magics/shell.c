/* shell.c — posix_spawn (no fork of a kernel that may hold gigabytes) + a poll loop that
 * forwards each chunk as soon as it is read. */
#include "shell.h"
#include "utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int dn_cancel_init(dn_cancel *c, char *err, size_t errlen)
{
    atomic_init(&c->requested, 0);
    atomic_init(&c->pgid, 0);
    c->nleft = 0;
    if (pipe2(c->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
        snprintf(err, errlen, "cannot make the interrupt pipe: %s", strerror(errno));
        return -1;
    }
    /* best effort: without it orphans go to init, which reaps them where init is sane */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    return 0;
}

/* Reaps finished members of group pg; 1 while some are still alive. */
static int reap_group(int pg)
{
    while (waitpid(-pg, NULL, WNOHANG) > 0) {}
    return kill(-pg, 0) == 0;
}

void dn_cancel_reap(dn_cancel *c)
{
    int keep = 0;
    for (int k = 0; k < c->nleft; k++)
        if (reap_group(c->left[k])) c->left[keep++] = c->left[k];
    c->nleft = keep;
}

void dn_cancel_fini(dn_cancel *c)
{
    close(c->wake[0]);
    close(c->wake[1]);
}

void dn_cancel_hangup(dn_cancel *c)
{
    for (int k = 0; k < c->nleft; k++) kill(-c->left[k], SIGHUP);
    double until = now_s() + 0.5;
    dn_cancel_reap(c);
    while (c->nleft && now_s() < until) {
        struct timespec ts = { 0, 20 * 1000 * 1000 };
        nanosleep(&ts, NULL);
        dn_cancel_reap(c);
    }
}

void dn_cancel_request(dn_cancel *c)
{
    int saved = errno;   /* a signal handler must leave errno as it found it */
    atomic_store(&c->requested, 1);
    int pg = atomic_load(&c->pgid);
    if (pg > 0) kill(-pg, SIGINT);
    ssize_t w = write(c->wake[1], "x", 1);
    (void)w;   /* a full pipe already wakes the loop */
    errno = saved;
}

static void drain_wake(dn_cancel *c)
{
    char buf[64];
    while (read(c->wake[0], buf, sizeof buf) > 0) {}
}

void dn_cancel_reset(dn_cancel *c)
{
    atomic_store(&c->requested, 0);
    drain_wake(c);
}

int dn_cancel_requested(dn_cancel *c) { return atomic_load(&c->requested); }


/* One output pipe; pending holds the start of a UTF-8 character split across reads. */
typedef struct pipe_state {
    int fd;
    const char *name;
    char pending[4];
    size_t npending;
} pipe_state;

/* Reads once; returns 1 while the pipe is open, 0 at EOF or on error. */
static int pump(pipe_state *ps, const dn_sink *out)
{
    char buf[65536];
    memcpy(buf, ps->pending, ps->npending);
    ssize_t n = read(ps->fd, buf + ps->npending, sizeof buf - ps->npending);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return 1;
    if (n <= 0) {
        if (ps->npending && out) out->stream(out->ctx, ps->name, ps->pending, ps->npending);
        ps->npending = 0;
        return 0;
    }
    size_t total = ps->npending + (size_t)n;
    size_t whole = dn_utf8_complete_prefix(buf, total);
    if (whole && out) out->stream(out->ctx, ps->name, buf, whole);
    ps->npending = total - whole;
    memcpy(ps->pending, buf + whole, ps->npending);
    return 1;
}

static int spawn(char *const argv[], int out_w, int err_w, pid_t *pid, char *err, size_t errlen)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    int rc = posix_spawn_file_actions_init(&fa);
    if (rc) goto fail_plain;
    rc = posix_spawnattr_init(&at);
    if (rc) { posix_spawn_file_actions_destroy(&fa); goto fail_plain; }

    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    if (!rc) rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (!rc) rc = posix_spawn_file_actions_adddup2(&fa, out_w, 1);
    if (!rc) rc = posix_spawn_file_actions_adddup2(&fa, err_w, 2);
    if (!rc) rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    /* own group so an interrupt reaches pipelines and their children, not the kernel */
    if (!rc) rc = posix_spawnattr_setpgroup(&at, 0);
    /* the kernel may ignore or block SIGINT/SIGPIPE; children must not inherit that */
    if (!rc) rc = posix_spawnattr_setsigdefault(&at, &all);
    if (!rc) rc = posix_spawnattr_setsigmask(&at, &none);
    if (!rc) rc = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF
                                                | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_USEVFORK);
    if (!rc) rc = posix_spawn(pid, argv[0], &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (!rc) return 0;
fail_plain:
    snprintf(err, errlen, "cannot start %s: %s", argv[0], strerror(rc));
    return -1;
}

dn_shell_outcome dn_shell_run(dn_cancel *c, char *const argv[], const dn_sink *out,
                              int *code, char *err, size_t errlen)
{
    int po[2], pe[2];
    if (pipe2(po, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "cannot make a pipe: %s", strerror(errno));
        return DN_SHELL_FAILED;
    }
    if (pipe2(pe, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "cannot make a pipe: %s", strerror(errno));
        close(po[0]); close(po[1]);
        return DN_SHELL_FAILED;
    }
    dn_cancel_reap(c);
    pid_t pid;
    int rc = spawn(argv, po[1], pe[1], &pid, err, errlen);
    close(po[1]);
    close(pe[1]);
    if (rc < 0) {
        close(po[0]); close(pe[0]);
        return DN_SHELL_FAILED;
    }
    atomic_store(&c->pgid, (int)pid);
    /* a request that came before the group existed still counts */
    int sent = 0;   /* 0 nothing, 1 SIGINT, 2 SIGTERM, 3 SIGKILL */
    double asked_at = 0;

    pipe_state ps[2] = { { po[0], "stdout", {0}, 0 }, { pe[0], "stderr", {0}, 0 } };
    int open_pipes = 2, exited = 0, status = 0;
    double exited_at = 0;
    for (;;) {
        if (atomic_load(&c->requested) && !sent) {
            if (!exited) kill(-pid, SIGINT);
            sent = 1;
            asked_at = now_s();
        }
        if (sent) {
            double t = now_s() - asked_at;
            if (sent == 1 && t > 1.0) { kill(-pid, SIGTERM); sent = 2; }
            if (sent == 2 && t > 2.0) { kill(-pid, SIGKILL); sent = 3; }
        }
        if (!exited) {
            /* look without reaping, so the pid (= our pgid) can't be reused while
             * dn_cancel_request may still signal it */
            siginfo_t si = { 0 };
            int w = waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT);
            if (w == 0 && si.si_pid == pid) {
                atomic_store(&c->pgid, 0);
                waitpid(pid, &status, 0);
                exited = 1;
                exited_at = now_s();
            } else if (w < 0 && errno == ECHILD) {
                /* SIGCHLD ignored by the host process: the system reaped it, status lost */
                atomic_store(&c->pgid, 0);
                status = 0;
                exited = 1;
                exited_at = now_s();
            }
        }
        if (exited) {
            /* after an interrupt, wait until the whole group is gone (escalating above);
             * orphaned members are ours to reap (subreaper) */
            int group_alive = reap_group(pid) && sent;
            if (!group_alive && (!open_pipes || sent || now_s() - exited_at > 0.5)) break;
            if (sent == 3 && now_s() - asked_at > 3.0) break;
        }
        struct pollfd fds[3];
        int nf = 0, map[3];
        for (int k = 0; k < 2; k++)
            if (ps[k].fd >= 0) { fds[nf] = (struct pollfd){ ps[k].fd, POLLIN, 0 }; map[nf++] = k; }
        fds[nf] = (struct pollfd){ c->wake[0], POLLIN, 0 };
        map[nf++] = -1;
        /* short timeout: the loop also notices the shell's exit and the escalation times */
        int n = poll(fds, (nfds_t)nf, exited ? 20 : 50);
        if (n < 0 && errno != EINTR) break;
        for (int k = 0; n > 0 && k < nf; k++) {
            if (!fds[k].revents) continue;
            if (map[k] < 0) { drain_wake(c); continue; }
            pipe_state *p = &ps[map[k]];
            if (!pump(p, out) || (fds[k].revents & (POLLERR | POLLNVAL))) {
                close(p->fd);
                p->fd = -1;
                open_pipes--;
            }
        }
    }
    for (int k = 0; k < 2; k++) {
        if (ps[k].fd >= 0) {
            if (ps[k].npending) out->stream(out->ctx, ps[k].name, ps[k].pending, ps[k].npending);
            close(ps[k].fd);
        }
    }
    if (!exited) {   /* poll failed: don't leave the shell running or a zombie behind */
        atomic_store(&c->pgid, 0);
        kill(-pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    if (reap_group(pid)) {   /* background jobs live on; reap them when they end */
        if (c->nleft < (int)(sizeof c->left / sizeof *c->left)) c->left[c->nleft++] = pid;
    }
    if (sent) return DN_SHELL_INTERRUPTED;
    if (WIFSIGNALED(status)) { *code = WTERMSIG(status); return DN_SHELL_SIGNALED; }
    *code = WEXITSTATUS(status);
    return DN_SHELL_EXITED;
}

dn_shell_outcome dn_shell_line(dn_cancel *c, const char *cmd, const dn_sink *out, int *code,
                               char *err, size_t errlen)
{
    char *argv[] = { "/bin/sh", "-c", (char *)cmd, NULL };
    return dn_shell_run(c, argv, out, code, err, errlen);
}
