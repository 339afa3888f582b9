/* magics.h — the deepnb cell language as an interpreter for the protocol core. */
#ifndef DN_MAGICS_H
#define DN_MAGICS_H

#include "interp.h"

/* A new interpreter with an empty workspace, working in the process's current directory.
 * Returns NULL and fills err when it cannot start. */
dn_interp *dn_magics_new(char *err, size_t errlen);

/* The page kernel_info's help_links name (the language's doc, a file that exists);
 * NULL or unset: the installed or source copy found at build time, if either exists. */
int dn_magics_set_language_doc(dn_interp *it, const char *path);

#endif
