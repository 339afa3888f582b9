/* install.h — writes the deepnb kernelspec into one of Jupyter's kernels folders. */
#ifndef DN_INSTALL_H
#define DN_INSTALL_H

#include <stddef.h>

typedef enum { DN_INSTALL_USER, DN_INSTALL_PREFIX, DN_INSTALL_SYS_PREFIX } dn_install_where;

typedef struct dn_install_options {
    dn_install_where where;
    const char *prefix;          /* for DN_INSTALL_PREFIX */
    const char *name;            /* folder name; default "deepnb" */
    const char *display_name;    /* default "deepnb" */
    const char *interrupt_mode;  /* "signal" (default) or "message" */
    const char *executable;      /* absolute path written into argv[0] */
} dn_install_options;

/* Writes <kernels>/<name>/{kernel.json, logos}. dir gets the folder written.
 * Returns 0, or -1 with err filled. */
int dn_install_kernelspec(const dn_install_options *o, char *dir, size_t dirlen,
                          char *err, size_t errlen);
/* 1 when name is a valid kernel name (ASCII letters, digits, '.', '_', '-'). */
int dn_install_valid_name(const char *name);

#endif
