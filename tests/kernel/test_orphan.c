/* test_orphan.c — the deepnb binary ends by itself when the Jupyter client that started it
 * (JPY_PARENT_PID) dies without a shutdown_request. Before the client dies it checks the
 * kernel was serving the real connection file: the heartbeat echoes and kernel_info is
 * answered (so a program that merely exits, /bin/true, fails this test).
 * Usage: test_kernel_orphan PATH/TO/deepnb */
#include "check.h"

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

/* A socket on port (1..5) of the connection in dir, with a 5 s receive limit. */
static void *connect_port(void *ctx, int type, const char *dir, int port)
{
    char ep[400];
    snprintf(ep, sizeof ep, "ipc://%s/k-%d", dir, port);
    void *s = zmq_socket(ctx, type);
    int linger = 0, timeout = 5000;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    zmq_connect(s, ep);
    return s;
}

/* 1 when the kernel on dir echoes a heartbeat and answers kernel_info_request (the
 * connection file has no key: messages carry an empty signature). */
static int kernel_serves(const char *dir)
{
    void *ctx = zmq_ctx_new();
    void *hb = connect_port(ctx, ZMQ_REQ, dir, 5);
    char buf[8192];
    int echoed = zmq_send(hb, "ping", 4, 0) == 4 && zmq_recv(hb, buf, sizeof buf, 0) == 4 &&
                 !memcmp(buf, "ping", 4);
    void *shell = connect_port(ctx, ZMQ_DEALER, dir, 1);
    const char *frames[] = { "<IDS|MSG>", "",
        "{\"msg_id\": \"orphan-1\", \"username\": \"t\", \"session\": \"s\", "
        "\"msg_type\": \"kernel_info_request\", \"version\": \"5.3\", \"date\": \"\"}",
        "{}", "{}", "{}" };
    for (int i = 0; i < 6; i++)
        zmq_send(shell, frames[i], strlen(frames[i]), i < 5 ? ZMQ_SNDMORE : 0);
    /* the reply: its header is the frame after the delimiter and the signature */
    int answered = 0, k = 0, more = 1, after = -1;
    while (more) {
        int n = zmq_recv(shell, buf, sizeof buf - 1, 0);
        if (n < 0) break;
        buf[n < (int)sizeof buf - 1 ? n : (int)sizeof buf - 1] = 0;
        if (!strcmp(buf, "<IDS|MSG>")) after = k;
        if (after >= 0 && k == after + 2 && strstr(buf, "\"kernel_info_reply\"")) answered = 1;
        size_t sz = sizeof more;
        zmq_getsockopt(shell, ZMQ_RCVMORE, &more, &sz);
        k++;
    }
    zmq_close(hb);
    zmq_close(shell);
    zmq_ctx_term(ctx);
    return echoed && answered;
}

int main(int argc, char **argv)
{
    if (argc < 2) { fprintf(stderr, "usage: %s DEEPNB\n", argv[0]); return 2; }
    char dir[] = "/tmp/dn-orphan-XXXXXX", conn[300], text[600];
    CHECK(mkdtemp(dir) != NULL, "temp dir");
    snprintf(conn, sizeof conn, "%s/conn.json", dir);
    snprintf(text, sizeof text, "{\"transport\": \"ipc\", \"ip\": \"%s/k\", \"shell_port\": 1, \"iopub_port\": 2, "
             "\"stdin_port\": 3, \"control_port\": 4, \"hb_port\": 5, \"key\": \"\", \"signature_scheme\": \"\"}", dir);
    FILE *f = fopen(conn, "w");
    fputs(text, f);
    fclose(f);
    /* the orphaned kernel becomes our child, so we can wait for it */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    int pipefd[2];
    CHECK(pipe(pipefd) == 0, "pipe");
    pid_t parent = fork();
    if (parent == 0) {  /* plays the Jupyter client: starts the kernel, then dies */
        char pid[32];
        snprintf(pid, sizeof pid, "%d", (int)getpid());
        setenv("JPY_PARENT_PID", pid, 1);
        pid_t k = fork();
        if (k == 0) {
            execl(argv[1], argv[1], "kernel", "-f", conn, (char *)NULL);
            _exit(127);
        }
        int serving = kernel_serves(dir);
        ssize_t w = write(pipefd[1], &k, sizeof k);
        w = write(pipefd[1], &serving, sizeof serving);
        (void)w;
        _exit(0);
    }
    pid_t kernel = 0;
    int serving = 0;
    CHECK(read(pipefd[0], &kernel, sizeof kernel) == sizeof kernel && kernel > 0, "kernel started, pid %d", (int)kernel);
    CHECK(read(pipefd[0], &serving, sizeof serving) == sizeof serving && serving,
          "before its parent died the kernel echoed a heartbeat and answered kernel_info");
    waitpid(parent, NULL, 0);
    int pfd = (int)syscall(SYS_pidfd_open, kernel, 0);
    struct pollfd p = { .fd = pfd, .events = POLLIN };
    int ended = pfd >= 0 && poll(&p, 1, 5000) == 1;
    CHECK(ended, "the kernel ended on its own within 5 s after its parent died");
    int status = -1;
    if (!ended) kill(kernel, SIGKILL);
    waitpid(kernel, &status, 0);
    CHECK(ended && WIFEXITED(status) && WEXITSTATUS(status) == 0, "and exited cleanly (status %d)", status);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0, "cleaned up");
    return CHECK_DONE();
}
