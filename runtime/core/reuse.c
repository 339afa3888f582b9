/* reuse.c — where frozen-prefix outputs are kept (see reuse.h): up to MAX_ENTRIES
 * (source, prefix) entries per model, each count * feat floats plus labels, in memory or
 * in an unlinked, preallocated file on disk mapped into memory. */
#include "reuse.h"
#include "cpu.h"
#include "status.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define MAX_ENTRIES 4
#define DISK_MARGIN (1LL << 30)   /* what a disk entry leaves free */

struct dn_reuse_entry {
    uint64_t source, prefix;
    int cut;
    long count, feat;        /* ids are below count */
    int y_dim;
    float *x, *y;            /* count * feat, count * y_dim (y after x in one block) */
    unsigned char *have;     /* per id */
    long filled;
    size_t bytes;            /* of x and y */
    int on_disk;             /* x, y are a mapping of an unlinked file in dir */
    char dir[512];
    unsigned long used;      /* last use, for eviction */
};

struct dn_reuse {
    dn_reuse_entry *e[MAX_ENTRIES];
    unsigned long clock;
    char note[1400];
};

static void entry_free(dn_reuse_entry *e)
{
    if (!e)
        return;
    if (e->on_disk)
        munmap(e->x, e->bytes);
    else
        free(e->x);
    free(e->have);
    free(e);
}

void dn_reuse_free(dn_reuse *r)
{
    if (!r)
        return;
    for (int i = 0; i < MAX_ENTRIES; i++)
        entry_free(r->e[i]);
    free(r);
}

/* "4.0 MiB" */
static void size_str(char *buf, size_t len, double bytes)
{
    static const char *unit[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (bytes >= 1024.0 && u < 4) {
        bytes /= 1024.0;
        u++;
    }
    snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", bytes, unit[u]);
}

/* "23,000" */
static void count_str(char *buf, size_t len, long n)
{
    char raw[32];
    int k = snprintf(raw, sizeof raw, "%ld", n), o = 0;
    for (int i = 0; i < k && (size_t)o + 2 < len; i++) {
        if (i && (k - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = raw[i];
    }
    buf[o] = 0;
}

static long long read_ll(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long long v = -1;
    if (fscanf(f, "%lld", &v) != 1)
        v = -1;
    fclose(f);
    return v;
}

/* What this process may still allocate: the machine's MemAvailable, and its cgroup v2
 * limit less its usage when it has one. -1 when unknown. */
static long long memory_available(void)
{
    long long avail = -1;
    FILE *f = fopen("/proc/meminfo", "r");
    if (f) {
        char line[256];
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "MemAvailable: %lld kB", &avail) == 1) {
                avail *= 1024;
                break;
            }
        fclose(f);
    }
    char path[1200];
    long long max = -1, cur = -1;
    if (!dn_cgroup_path("memory.max", path, sizeof path))
        max = read_ll(path);   /* "max" reads as -1 */
    if (!dn_cgroup_path("memory.current", path, sizeof path))
        cur = read_ll(path);
    if (max > 0 && cur >= 0 && (avail < 0 || max - cur < avail))
        avail = max > cur ? max - cur : 0;
    return avail;
}

static long long memory_budget(void)
{
    const char *v = getenv("DEEPNB_REUSE_MEMORY");
    if (v && *v) {
        char *end;
        long long b = strtoll(v, &end, 10);
        if (*end == 0 && b >= 0)
            return b;
    }
    long long a = memory_available();
    return a < 0 ? 0 : a / 2;
}

static void cache_dir(char *buf, size_t len)
{
    const char *d = getenv("DEEPNB_CACHE_DIR");
    if (d && *d) {
        snprintf(buf, len, "%s", d);
        return;
    }
    const char *x = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (x && *x)
        snprintf(buf, len, "%s/deepnb", x);
    else if (home && *home)
        snprintf(buf, len, "%s/.cache/deepnb", home);
    else
        snprintf(buf, len, "/tmp");
}

/* mkdir -p */
static int make_dirs(const char *dir)
{
    char p[512];
    snprintf(p, sizeof p, "%s", dir);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            if (mkdir(p, 0700) && errno != EEXIST)
                return -1;
            *s = '/';
        }
    return mkdir(p, 0700) && errno != EEXIST ? -1 : 0;
}

/* An unlinked file of bytes, allocated on disk (no SIGBUS later for want of space),
 * mapped. NULL + err. */
static void *map_on_disk(const char *dir, size_t bytes, char *err, size_t errlen)
{
    struct statvfs vfs;
    char size[32];
    size_str(size, sizeof size, (double)bytes);
    if (make_dirs(dir) || statvfs(dir, &vfs)) {
        dn_seterr(err, errlen, "cannot use %s for the %s they need: %s", dir, size,
                  strerror(errno));
        return NULL;
    }
    long long free_b = (long long)vfs.f_bavail * (long long)vfs.f_frsize;
    if ((long long)bytes + DISK_MARGIN > free_b) {
        char fr[32];
        size_str(fr, sizeof fr, (double)free_b);
        dn_seterr(err, errlen, "they need %s, more than memory allows, and %s has %s free "
                  "(1 GiB is left free)", size, dir, fr);
        return NULL;
    }
    char path[600];
    snprintf(path, sizeof path, "%s/reuse-XXXXXX", dir);
    int fd = mkstemp(path);
    if (fd < 0) {
        dn_seterr(err, errlen, "cannot create a file in %s: %s", dir, strerror(errno));
        return NULL;
    }
    unlink(path);
    int rc = posix_fallocate(fd, 0, (off_t)bytes);
    void *p = rc ? MAP_FAILED : mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    int e = rc ? rc : errno;
    close(fd);
    if (p == MAP_FAILED) {
        dn_seterr(err, errlen, "cannot set aside %s in %s: %s", size, dir, strerror(e));
        return NULL;
    }
    return p;
}

static dn_reuse_entry *entry_new(uint64_t source, uint64_t prefix, int cut, long count,
                                 long feat, int y_dim, char *err, size_t errlen)
{
    dn_reuse_entry *e = calloc(1, sizeof *e);
    if (e)
        e->have = calloc((size_t)count, 1);
    if (!e || !e->have) {
        free(e);
        dn_seterr(err, errlen, "out of memory");
        return NULL;
    }
    e->source = source;
    e->prefix = prefix;
    e->cut = cut;
    e->count = count;
    e->feat = feat;
    e->y_dim = y_dim;
    e->bytes = (size_t)count * (size_t)(feat + y_dim) * sizeof(float);
    if ((long long)e->bytes <= memory_budget())
        e->x = malloc(e->bytes);
    if (!e->x) {
        cache_dir(e->dir, sizeof e->dir);
        e->x = map_on_disk(e->dir, e->bytes, err, errlen);
        e->on_disk = 1;
    }
    if (!e->x) {
        free(e->have);
        free(e);
        return NULL;
    }
    e->y = e->x + (size_t)count * (size_t)feat;
    return e;
}

dn_reuse_entry *dn_reuse_entry_for(dn_reuse **rp, uint64_t source, uint64_t prefix, int cut,
                                   long count, long feat, int y_dim, char *err,
                                   size_t errlen)
{
    if (!*rp && !(*rp = calloc(1, sizeof **rp))) {
        dn_seterr(err, errlen, "out of memory");
        return NULL;
    }
    dn_reuse *r = *rp;
    r->clock++;
    int free_slot = -1, oldest = 0;
    for (int i = 0; i < MAX_ENTRIES; i++) {
        dn_reuse_entry *e = r->e[i];
        if (e && e->source == source && e->prefix == prefix && e->cut == cut &&
            e->count == count && e->feat == feat && e->y_dim == y_dim) {
            e->used = r->clock;
            return e;
        }
        if (e && e->source == source) {
            /* the same data through another prefix: that one is stale */
            entry_free(e);
            r->e[i] = e = NULL;
        }
        if (!e && free_slot < 0)
            free_slot = i;
        if (e && r->e[oldest] && e->used < r->e[oldest]->used)
            oldest = i;
    }
    if (free_slot < 0) {
        entry_free(r->e[oldest]);
        r->e[oldest] = NULL;
        free_slot = oldest;
    }
    dn_reuse_entry *e = entry_new(source, prefix, cut, count, feat, y_dim, err, errlen);
    if (e) {
        e->used = r->clock;
        r->e[free_slot] = e;
    }
    return e;
}

int dn_reuse_covers(const dn_reuse_entry *e, long need) { return e->filled >= need; }

int dn_reuse_has(const dn_reuse_entry *e, long id)
{
    return id >= 0 && id < e->count && e->have[id];
}

void dn_reuse_put(dn_reuse_entry *e, const long *ids, int n, const float *x, const float *y)
{
    for (int i = 0; i < n; i++) {
        long id = ids[i];
        if (id < 0 || id >= e->count)
            continue;
        memcpy(e->x + (size_t)id * e->feat, x + (size_t)i * e->feat, (size_t)e->feat * sizeof(float));
        if (e->y_dim)
            memcpy(e->y + (size_t)id * e->y_dim, y + (size_t)i * e->y_dim,
                   (size_t)e->y_dim * sizeof(float));
        if (!e->have[id]) {
            e->have[id] = 1;
            e->filled++;
        }
    }
}

void dn_reuse_get(const dn_reuse_entry *e, const long *ids, int n, float *x, float *y)
{
    for (int i = 0; i < n; i++) {
        memcpy(x + (size_t)i * e->feat, e->x + (size_t)ids[i] * e->feat, (size_t)e->feat * sizeof(float));
        if (e->y_dim)
            memcpy(y + (size_t)i * e->y_dim, e->y + (size_t)ids[i] * e->y_dim,
                   (size_t)e->y_dim * sizeof(float));
    }
}

void dn_reuse_record(dn_reuse *r, const dn_reuse_entry *e, int reused, const char *layer)
{
    char n[32], size[32], where[600];
    count_str(n, sizeof n, e->filled);
    size_str(size, sizeof size, (double)e->bytes);
    if (e->on_disk)
        snprintf(where, sizeof where, "%s on disk in %s, freed when the kernel ends", size, e->dir);
    else
        snprintf(where, sizeof where, "%s in memory", size);
    if (reused)
        snprintf(r->note, sizeof r->note, "Reused the kept outputs of the frozen layers up to %s "
                 "(the first %d) for %s examples (%s).", layer, e->cut, n, where);
    else
        snprintf(r->note, sizeof r->note, "Kept the outputs of the frozen layers up to %s (the "
                 "first %d) for %s examples (%s): later epochs start above them. reuse=False "
                 "turns this off.", layer, e->cut, n, where);
}

void dn_reuse_set_note(dn_reuse **rp, const char *msg)
{
    if (*rp || (*rp = calloc(1, sizeof **rp)))
        snprintf((*rp)->note, sizeof (*rp)->note, "%s", msg);
}

const char *dn_reuse_note(const dn_reuse *r) { return r ? r->note : ""; }
