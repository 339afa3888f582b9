/* mock_interp.h — a test-only dn_interp whose cells are commands for the core's tests:
 *   print TEXT      stream TEXT on stdout          err       ValueError, returns 1
 *   display         display_data, update, clear_output, an HTML-only result, a payload
 *   result          execute_result with text/plain "42"
 *   wait            runs until interrupted (or 10 s), then KeyboardInterrupt
 *   input           asks for a line, prints it (or errors when none came)
 *   rawbytes        streams invalid UTF-8
 *   softerr         calls error() but returns 0                                         */
#ifndef DN_TEST_MOCK_INTERP_H
#define DN_TEST_MOCK_INTERP_H

#include "interp.h"

#include <stdatomic.h>

typedef struct mock_interp {
    dn_interp base;
    atomic_int interrupted;
    atomic_int interrupts;       /* interrupt() calls */
    atomic_int running;          /* 1 while a "wait" cell runs */
    int executes;
    dn_execute_request last;     /* code pointer not kept */
    int shutdowns, shutdown_restart;
} mock_interp;

void mock_init(mock_interp *m);

#endif
