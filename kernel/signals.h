/* signals.h — SIGINT interrupts the running cell; SIGTERM ends the kernel cleanly. */
#ifndef DN_SIGNALS_H
#define DN_SIGNALS_H

#include "core.h"

#include <stddef.h>

/* Installs the handlers for this process (one core at a time). */
int dn_signals_attach(dn_core *core, dn_transport *t, char *err, size_t errlen);
/* Restores the default dispositions. */
void dn_signals_detach(void);

#endif
