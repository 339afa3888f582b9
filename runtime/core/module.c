/* module.c — see module.h. */
#include "module.h"

#include "dn_config.h"

#include <dlfcn.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* builds that make their own dn_config.h (scripts/gpu-check.sh) have no modules */
#ifndef DN_BUILD_ROOT
#define DN_BUILD_ROOT ""
#endif
#ifndef DN_MODULE_DIR
#define DN_MODULE_DIR ""
#endif

#define MAX_MODULES 8

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    char name[16];
    const void *table;
} opened[MAX_MODULES];
static int nopened;

/* appends printf-style to buf (n bytes), cutting at the end */
static void add(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void add(char *buf, size_t n, const char *fmt, ...)
{
    size_t at = strlen(buf);
    if (at + 1 >= n)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + at, n - at, fmt, ap);
    va_end(ap);
}

/* 1 when the file that holds this code (the program, or a library such as the tests'
 * runtime shim loaded into Python) is under the build tree */
static int in_build_tree(void)
{
    if (!*DN_BUILD_ROOT)
        return 0;
    char file[PATH_MAX] = "";
    Dl_info info;
    struct link_map *map = NULL;
    if (dladdr1((void *)in_build_tree, &info, (void **)&map, RTLD_DL_LINKMAP) && map &&
        map->l_name && map->l_name[0]) {
        if (!realpath(map->l_name, file))
            return 1;  /* cannot tell: the build tree is tried, its head still checked */
    } else {
        /* the program itself: its own name as the kernel saw it, whatever the cwd is now */
        ssize_t k = readlink("/proc/self/exe", file, sizeof file - 1);
        if (k <= 0)
            return 1;
        file[k] = 0;
    }
    size_t r = strlen(DN_BUILD_ROOT);
    return !strncmp(file, DN_BUILD_ROOT, r) && file[r] == '/';
}

/* the table at path, or NULL with why appended to tried */
static const void *try_path(const char *path, const char *name, unsigned abi, size_t size,
                            char *tried, size_t triedlen)
{
    add(tried, triedlen, "%s%s", *tried ? "; " : "", path);
    if (access(path, F_OK) != 0) {
        add(tried, triedlen, " (no such file)");
        return NULL;
    }
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        /* dlerror repeats the path first: keep the reason */
        const char *colon = e ? strstr(e, ": ") : NULL;
        add(tried, triedlen, " (%s)", colon ? colon + 2 : e ? e : "dlopen failed");
        return NULL;
    }
    const dn_module_head *head = dlsym(h, DN_MODULE_SYMBOL);
    if (!head) {
        add(tried, triedlen, " (not a deepnb module: no %s)", DN_MODULE_SYMBOL);
    } else if (strncmp(head->name, name, sizeof head->name) != 0) {
        add(tried, triedlen, " (it is the module '%.16s')", head->name);
    } else if (strncmp(head->version, DN_VERSION, sizeof head->version) != 0 ||
               head->abi != abi || head->size != size) {
        add(tried, triedlen, " (from deepnb %.32s, table %u of %u bytes; this is %s, table %u of %zu)",
            head->version, head->abi, head->size, DN_VERSION, abi, size);
    } else {
        return head;  /* kept open for the process's life, as a linked library is */
    }
    dlclose(h);
    return NULL;
}

static const void *find(const char *name, const char *subdir, unsigned abi, size_t size,
                        char *tried, size_t triedlen)
{
    char path[PATH_MAX];
    const char *dir = getenv("DEEPNB_MODULE_DIR");
    if (dir && *dir) {
        snprintf(path, sizeof path, "%s/deepnb-%s.so", dir, name);
        return try_path(path, name, abi, size, tried, triedlen);
    }
    const void *t = NULL;
    if (in_build_tree()) {
        snprintf(path, sizeof path, "%s/%s/deepnb-%s.so", DN_BUILD_ROOT, subdir, name);
        t = try_path(path, name, abi, size, tried, triedlen);
    }
    if (!t && *DN_MODULE_DIR) {
        snprintf(path, sizeof path, "%s/deepnb-%s.so", DN_MODULE_DIR, name);
        t = try_path(path, name, abi, size, tried, triedlen);
    }
    if (!t && !*tried)
        add(tried, triedlen, "nowhere: this build of deepnb has no place for modules");
    return t;
}

const void *dn_module_open(const char *name, const char *purpose, const char *subdir,
                           unsigned abi, size_t size, char *err, size_t errlen)
{
    pthread_mutex_lock(&lock);
    const void *t = NULL;
    for (int i = 0; i < nopened && !t; i++)
        if (!strcmp(opened[i].name, name))
            t = opened[i].table;
    if (!t) {
        char tried[2048] = "";
        t = find(name, subdir, abi, size, tried, sizeof tried);
        if (t && nopened < MAX_MODULES) {
            snprintf(opened[nopened].name, sizeof opened[nopened].name, "%s", name);
            opened[nopened++].table = t;
        } else if (!t && err && errlen) {
            snprintf(err, errlen,
                     "deepnb could not load deepnb-%s.so, the part of it that %s. Looked in "
                     "%s. Rebuild deepnb (ninja -C build) or install it again (meson "
                     "install), or set DEEPNB_MODULE_DIR to the folder that holds it",
                     name, purpose, tried);
        }
    }
    pthread_mutex_unlock(&lock);
    return t;
}

int dn_module_loaded(const char *name)
{
    pthread_mutex_lock(&lock);
    int found = 0;
    for (int i = 0; i < nopened; i++)
        found |= !strcmp(opened[i].name, name);
    pthread_mutex_unlock(&lock);
    return found;
}
