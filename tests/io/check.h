/* check.h — the few helpers the io unit tests share: named checks that print what they
 * verify, a scratch folder, and files to compare (inline: a test may use only some). */
#ifndef DN_TEST_CHECK_H
#define DN_TEST_CHECK_H

#include <dirent.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures;

#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (cond) {                                                        \
            printf("ok   ");                                               \
        } else {                                                           \
            printf("FAIL (%s:%d) ", __FILE__, __LINE__);                   \
            failures++;                                                    \
        }                                                                  \
        printf(__VA_ARGS__);                                               \
        printf("\n");                                                      \
    } while (0)

/* A fresh scratch folder under $TMPDIR (or /tmp). */
static inline char *scratch_dir(void)
{
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    static char dir[512];
    snprintf(dir, sizeof dir, "%s/dn-io-test-XXXXXX", base);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        exit(2);
    }
    return dir;
}

/* The whole file in memory (NUL added); NULL if it cannot be read. */
static inline char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = 0;
        *len = (size_t)n;
    }
    return buf;
}

static inline int write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int rc = fwrite(data, 1, n, f) == n ? 0 : -1;
    return fclose(f) == 0 ? rc : -1;
}

/* Number of entries in dir other than . and .. (temporaries left behind show up here). */
static inline int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static inline void remove_tree(const char *dir)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

/* In a forked child: mounts a tmpfs of `bytes` over dir, in a mount namespace of the
 * child's own so nothing outside sees it. 0, or -1 where namespaces are not allowed. */
static inline int small_fs(const char *dir, const char *size)
{
    if (unshare(CLONE_NEWNS) != 0)
        return -1;
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return -1;
    char opts[64];
    snprintf(opts, sizeof opts, "size=%s", size);
    return mount("tmpfs", dir, "tmpfs", 0, opts);
}

/* A real full disk: in a forked child, a tmpfs of `size` over DIR/small, in a mount
 * namespace of its own. save_small(path) must fit; save_big(path, err) must fail for want
 * of room. Checks the reason (and that it names the file, if asked), that the old file is byte for byte the same and that no
 * temporary is left. Skips (says so) where mount namespaces are not allowed. */
static inline void full_disk_check(const char *dir, const char *size, const char *name,
                                   int err_names_path,
                                   int (*save_small)(const char *path, char *err, size_t len),
                                   int (*save_big)(const char *path, char *err, size_t len))
{
    char mnt[600], path[700], err[1024];
    snprintf(mnt, sizeof mnt, "%s/small", dir);
    mkdir(mnt, 0755);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        failures = 0;   /* count only the child's own checks */
        if (small_fs(mnt, size) != 0)
            _exit(77);
        snprintf(path, sizeof path, "%s/%s", mnt, name);
        int rc = save_small(path, err, sizeof err);
        CHECK(rc == 0, "a small file fits on the %s file system (%s)", size, rc ? err : "");
        size_t l0 = 0, l1 = 0;
        char *before = slurp(path, &l0);
        rc = save_big(path, err, sizeof err);
        CHECK(rc != 0 && strstr(err, "no space left on the device") &&
                  (!err_names_path || strstr(err, path)),
              "a save onto a full disk fails with the reason: %s", err);
        char *after = slurp(path, &l1);
        CHECK(before && after && l0 == l1 && !memcmp(before, after, l0) &&
                  count_entries(mnt) == 1,
              "the old file is untouched and the temporary is gone");
        fflush(stdout);
        _exit(failures ? 1 : 0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
        printf("skip full-disk check: mount namespaces need root (or CAP_SYS_ADMIN)\n");
    else
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "full-disk checks in the child passed");
}

#endif
