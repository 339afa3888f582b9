/* shell.c — posix_spawn (no fork of a kernel that may hold gigabytes) + a poll loop that
 * forwards each chunk as soon as it is read.
 *
 * Order: stdout and stderr are two pipes (so stderr keeps its stream name), and a
 * command that writes to both in quick succession (`echo warn >&2; echo ok`) fills both
 * before the loop wakes: poll cannot say which came first. So each pipe's read end is
 * made to raise a queued real-time signal, naming its fd, at every write that gives it
 * data (F_SETSIG + O_ASYNC, sent to this thread only, where it is blocked and read with
 * signalfd; Linux signals every pipe write since 5.14), and the pipes are in packet
 * mode (O_DIRECT: a read returns one write, a write over a page being split in pages).
 * The signals queue in the order of the writes; for each, the loop reads the named
 * pipe's next write, so the chunks come out as they were written. The order is lost
 * only if the signal queue overflows (the kernel then sends SIGIO and both pipes are
 * drained). Where signals or packets cannot be set up, it reads the pipes as poll
 * reports them. */
#include "shell.h"
#include "utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
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
    size_t last;        /* bytes the last read returned (0: none waiting) */
} pipe_state;

/* Reads once; returns 1 while the pipe is open, 0 at EOF or on error. */
static int pump(pipe_state *ps, const dn_sink *out)
{
    char buf[65536];
    memcpy(buf, ps->pending, ps->npending);
    ssize_t n = read(ps->fd, buf + ps->npending, sizeof buf - ps->npending);
    ps->last = n > 0 ? (size_t)n : 0;
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

/* Reads until the pipe is empty (it is non-blocking); returns 0 at EOF or on error. */
static int drain(pipe_state *ps, const dn_sink *out)
{
    for (;;) {
        if (!pump(ps, out)) return 0;
        int avail = 0;
        if (ioctl(ps->fd, FIONREAD, &avail) != 0 || avail == 0) return 1;
    }
}

/* Reads the next write of a packet-mode pipe: its first page and, while pages come
 * whole, the rest of it. 0 at EOF or on error. */
static int read_write(pipe_state *ps, const dn_sink *out)
{
    long page = sysconf(_SC_PAGESIZE);
    do {
        if (!pump(ps, out)) return 0;
    } while (ps->last > 0 && (long)ps->last == page);
    return 1;
}

/* The writes' order (see the top of the file): 0 with *sigfd set, -1 where signals
 * cannot be used (then *sigfd is -1 and nothing changed). */
static int order_signals(pipe_state ps[2], int packets, sigset_t *old, int *sigfd)
{
    *sigfd = -1;
    if (!packets) return -1;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGRTMIN + 7);
    sigaddset(&set, SIGIO);
    if (pthread_sigmask(SIG_BLOCK, &set, old) != 0) return -1;
    struct f_owner_ex me = { F_OWNER_TID, gettid() };
    int ok = 1;
    for (int k = 0; ok && k < 2; k++) {
        int fl = fcntl(ps[k].fd, F_GETFL);
        /* a packet a slot: room for many small writes before the writer waits */
        fcntl(ps[k].fd, F_SETPIPE_SZ, 1 << 20);
        ok = fl >= 0 && fcntl(ps[k].fd, F_SETOWN_EX, &me) == 0
             && fcntl(ps[k].fd, F_SETSIG, SIGRTMIN + 7) == 0
             && fcntl(ps[k].fd, F_SETFL, fl | O_ASYNC | O_NONBLOCK) == 0;
    }
    if (ok) *sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (*sigfd < 0) {
        for (int k = 0; k < 2; k++) {
            int fl = fcntl(ps[k].fd, F_GETFL);
            if (fl >= 0) fcntl(ps[k].fd, F_SETFL, (fl & ~O_ASYNC) | O_NONBLOCK);
        }
        pthread_sigmask(SIG_SETMASK, old, NULL);
        return -1;
    }
    return 0;
}

/* After the pipes are closed (no more signals can come): takes the ones still queued
 * for this thread, so none fires once unblocked, and unblocks. */
static void order_signals_end(int sigfd, const sigset_t *old)
{
    if (sigfd < 0) return;
    close(sigfd);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGRTMIN + 7);
    sigaddset(&set, SIGIO);
    struct timespec zero = { 0, 0 };
    while (sigtimedwait(&set, NULL, &zero) > 0) {}
    pthread_sigmask(SIG_SETMASK, old, NULL);
}

/* Drains the pipes the queued signals name, in the order the writes happened. */
static void drain_in_order(int sigfd, pipe_state ps[2], int *open_pipes, const dn_sink *out)
{
    struct signalfd_siginfo si[64];
    ssize_t n;
    while ((n = read(sigfd, si, sizeof si)) > 0) {
        for (size_t i = 0; i < (size_t)n / sizeof *si; i++)
            for (int k = 0; k < 2; k++) {
                int overflow = si[i].ssi_signo == (uint32_t)SIGIO;
                if (ps[k].fd < 0 || (!overflow && (int)si[i].ssi_fd != ps[k].fd)) continue;
                if (!(overflow ? drain(&ps[k], out) : read_write(&ps[k], out))) {
                    close(ps[k].fd);
                    ps[k].fd = -1;
                    (*open_pipes)--;
                }
            }
    }
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
    /* packet mode (see the top), where the system has it */
    int mode = O_CLOEXEC | O_DIRECT;
    if (pipe2(po, mode) < 0 && (mode = O_CLOEXEC, pipe2(po, mode) < 0)) {
        snprintf(err, errlen, "cannot make a pipe: %s", strerror(errno));
        return DN_SHELL_FAILED;
    }
    if (pipe2(pe, mode) < 0) {
        snprintf(err, errlen, "cannot make a pipe: %s", strerror(errno));
        close(po[0]); close(po[1]);
        return DN_SHELL_FAILED;
    }
    dn_cancel_reap(c);
    /* the order signals are set up before the child can write */
    pipe_state ps[2] = { { po[0], "stdout", {0}, 0, 0 }, { pe[0], "stderr", {0}, 0, 0 } };
    sigset_t old_mask;
    int sigfd;
    order_signals(ps, mode & O_DIRECT, &old_mask, &sigfd);
    pid_t pid;
    int rc = spawn(argv, po[1], pe[1], &pid, err, errlen);
    close(po[1]);
    close(pe[1]);
    if (rc < 0) {
        close(po[0]); close(pe[0]);
        order_signals_end(sigfd, &old_mask);
        return DN_SHELL_FAILED;
    }
    atomic_store(&c->pgid, (int)pid);
    /* a request that came before the group existed still counts */
    int sent = 0;   /* 0 nothing, 1 SIGINT, 2 SIGTERM, 3 SIGKILL */
    double asked_at = 0;

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
        struct pollfd fds[4];
        int nf = 0, map[4];
        /* with the signals, a pipe is read when its signal says so; poll only tells its end */
        for (int k = 0; k < 2; k++)
            if (ps[k].fd >= 0) {
                fds[nf] = (struct pollfd){ ps[k].fd, sigfd < 0 ? POLLIN : 0, 0 };
                map[nf++] = k;
            }
        fds[nf] = (struct pollfd){ c->wake[0], POLLIN, 0 };
        map[nf++] = -1;
        if (sigfd >= 0) {
            fds[nf] = (struct pollfd){ sigfd, POLLIN, 0 };
            map[nf++] = -2;
        }
        /* short timeout: the loop also notices the shell's exit and the escalation times */
        int n = poll(fds, (nfds_t)nf, exited ? 20 : 50);
        if (n < 0 && errno != EINTR) break;
        if (sigfd >= 0) drain_in_order(sigfd, ps, &open_pipes, out);
        for (int k = 0; n > 0 && k < nf; k++) {
            if (!fds[k].revents || map[k] == -2) continue;
            if (map[k] < 0) { drain_wake(c); continue; }
            pipe_state *p = &ps[map[k]];
            if (p->fd < 0) continue;   /* closed above */
            if (sigfd >= 0) {
                /* the writers are gone: what is left was signalled and read above */
                if (fds[k].revents & (POLLHUP | POLLERR | POLLNVAL)) {
                    drain_in_order(sigfd, ps, &open_pipes, out);
                    if (p->fd >= 0 && !drain(p, out)) {
                        close(p->fd);
                        p->fd = -1;
                        open_pipes--;
                    }
                }
                continue;
            }
            if (!pump(p, out) || (fds[k].revents & (POLLERR | POLLNVAL))) {
                close(p->fd);
                p->fd = -1;
                open_pipes--;
            }
        }
    }
    if (sigfd >= 0) drain_in_order(sigfd, ps, &open_pipes, out);
    for (int k = 0; k < 2; k++) {
        if (ps[k].fd >= 0) {
            if (ps[k].npending) out->stream(out->ctx, ps[k].name, ps[k].pending, ps[k].npending);
            close(ps[k].fd);
        }
    }
    order_signals_end(sigfd, &old_mask);
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
