/* module.h — the parts of deepnb that bring big libraries with them, built as modules
 * (deepnb-<name>.so) and opened at their first use instead of at start-up.
 *
 * Debian's HDF5 links curl, GnuTLS, OpenSSL, Kerberos, LDAP and SSH; cairo links pixman,
 * fontconfig and X11's client libraries: linked into the kernel they were 50 of its 67
 * libraries, about half its resident memory and a third of its start-up, for a first
 * cell that reads no weight file and draws nothing. Each such part is a module whose
 * code calls its library as usual; the rest of deepnb calls it through one table of
 * functions that the module exports as `dn_module_api`.
 *
 * A module is looked for
 *   - in $DEEPNB_MODULE_DIR, when that is set (there only);
 *   - in the build tree (DN_BUILD_ROOT/<subdir>), when the program or library holding
 *     this code is in it;
 *   - in DN_MODULE_DIR, where `meson install` puts modules (<prefix>/<libdir>/deepnb).
 * Its table starts with a dn_module_head, checked against the caller's before any
 * function in it is called: a module of another version of deepnb is refused. */
#ifndef DN_MODULE_H
#define DN_MODULE_H

#include <stddef.h>

#define DN_MODULE_SYMBOL "dn_module_api"

typedef struct dn_module_head {
    char name[16];      /* "hdf5", "draw": the file is deepnb-<name>.so */
    char version[32];   /* deepnb's version (DN_VERSION) */
    unsigned abi;       /* the table's layout: bumped whenever its members change */
    unsigned size;      /* sizeof the whole table */
} dn_module_head;

/* The head a module's table starts with (TYPE: the table's struct). */
#define DN_MODULE_HEAD(name, abi, type) { name, DN_VERSION, abi, sizeof(type) }

/* The table of module name (its head first), opened once per process and kept: later
 * calls return it at once (thread-safe). NULL + err: a sentence naming the module, what
 * it is for (purpose: "reads and writes weight files"), each place tried and why it
 * failed. A failure is not kept: the next call tries again. */
const void *dn_module_open(const char *name, const char *purpose, const char *subdir,
                           unsigned abi, size_t size, char *err, size_t errlen);

/* 1 when module name has been opened in this process (for tests: a kernel that has run
 * only %pwd has opened none). */
int dn_module_loaded(const char *name);

#endif
