/* test_orphan.c — the deepnb binary ends by itself when the Jupyter client that started it
 * (JPY_PARENT_PID) dies without a shutdown_request; and it answers a real connection file.
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
        ssize_t w = write(pipefd[1], &k, sizeof k);
        (void)w;
        usleep(200000);  /* let the kernel start its watch */
        _exit(0);
    }
    pid_t kernel = 0;
    CHECK(read(pipefd[0], &kernel, sizeof kernel) == sizeof kernel && kernel > 0, "kernel started, pid %d", (int)kernel);
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
