/* isolate.c — see isolate.h. */
#include "isolate.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void *dn_shared_alloc(size_t n)
{
    void *p = mmap(NULL, n ? n : 1, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void dn_shared_free(void *p, size_t n)
{
    if (p)
        munmap(p, n ? n : 1);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

enum { MSG = 1024 };

int dn_isolated(int (*fn)(void *ctx, char *err, size_t errlen), void *ctx, double timeout_s,
                const char *what, char *err, size_t errlen)
{
    char *msg = dn_shared_alloc(MSG);
    if (!msg) {
        snprintf(err, errlen, "%s: no memory to share with a helper process", what);
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "%s: cannot start a helper process: %s", what, strerror(errno));
        dn_shared_free(msg, MSG);
        return -1;
    }
    if (pid == 0) {
        /* the child: the parent's handlers (the kernel's SIGINT) are not its business, and
         * a crash must end it by its signal, also where a sanitizer would turn it into an
         * exit status */
        static const int sigs[] = { SIGINT, SIGTERM, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
        for (size_t k = 0; k < sizeof sigs / sizeof sigs[0]; k++)
            signal(sigs[k], SIG_DFL);
        int rc = fn(ctx, msg, MSG);
        msg[MSG - 1] = 0;
        _exit(rc == 0 ? 0 : 1);   /* no atexit handlers, no stdio flushing: the parent owns those */
    }
    double t0 = now_s();
    int status = 0, rc = -1;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR) {
            snprintf(err, errlen, "%s: lost the helper process: %s", what, strerror(errno));
            goto out;
        }
        if (now_s() - t0 > timeout_s) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            snprintf(err, errlen, "%s took longer than %g seconds and was stopped: the file is "
                     "probably damaged (its reader was caught in a loop)", what, timeout_s);
            goto out;
        }
        usleep(5000);
    }
    if (WIFSIGNALED(status)) {
        snprintf(err, errlen, "%s crashed the HDF5 library (signal %d, %s): the file is damaged "
                 "or not what it seems; the kernel and its workspace are unharmed", what,
                 WTERMSIG(status), strsignal(WTERMSIG(status)));
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        rc = 0;
    } else {
        if (msg[0])
            snprintf(err, errlen, "%s", msg);
        else
            snprintf(err, errlen, "%s failed: its helper process ended with status %d without "
                     "saying why (the file is probably damaged)", what,
                     WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
out:
    dn_shared_free(msg, MSG);
    return rc;
}
