/* log.h — the kernel's diagnostics on stderr, quiet by default.
 * DEEPNB_LOG=debug|info|warn|error|off chooses the level (default: warn). */
#ifndef DN_LOG_H
#define DN_LOG_H

enum { DN_LOG_DEBUG, DN_LOG_INFO, DN_LOG_WARN, DN_LOG_ERROR, DN_LOG_OFF };

/* Reads DEEPNB_LOG once; later calls change nothing. */
void dn_log_init(void);
int dn_log_enabled(int level);
void dn_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define dn_debug(...) do { if (dn_log_enabled(DN_LOG_DEBUG)) dn_log(DN_LOG_DEBUG, __VA_ARGS__); } while (0)
#define dn_info(...)  dn_log(DN_LOG_INFO, __VA_ARGS__)
#define dn_warn(...)  dn_log(DN_LOG_WARN, __VA_ARGS__)
#define dn_error(...) dn_log(DN_LOG_ERROR, __VA_ARGS__)

#endif
