/* log.c — leveled stderr logging; one fprintf per line so threads don't interleave. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int level = DN_LOG_WARN;
static int initialised;

void dn_log_init(void)
{
    if (initialised) return;
    initialised = 1;
    const char *v = getenv("DEEPNB_LOG");
    if (!v || !*v) return;
    static const char *names[] = { "debug", "info", "warn", "error", "off" };
    for (int i = 0; i < 5; i++)
        if (strcmp(v, names[i]) == 0) { level = i; return; }
    if (strcmp(v, "warning") == 0) { level = DN_LOG_WARN; return; }
    fprintf(stderr, "deepnb: DEEPNB_LOG=%s is not one of debug, info, warn, error, off; using warn\n", v);
}

int dn_log_enabled(int lvl) { return lvl >= level && level != DN_LOG_OFF; }

void dn_log(int lvl, const char *fmt, ...)
{
    if (!dn_log_enabled(lvl)) return;
    static const char *tags[] = { "debug", "info", "warning", "error" };
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "deepnb %s: %s\n", tags[lvl], line);
}
