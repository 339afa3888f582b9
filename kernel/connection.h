/* connection.h — the connection file Jupyter writes for a kernel, read and checked. */
#ifndef DN_CONNECTION_H
#define DN_CONNECTION_H

#include <stddef.h>

enum { DN_PORT_SHELL, DN_PORT_IOPUB, DN_PORT_STDIN, DN_PORT_CONTROL, DN_PORT_HB, DN_NPORTS };

typedef struct dn_connection {
    char transport[8];        /* "tcp" or "ipc" */
    char ip[256];             /* address (tcp) or path prefix (ipc) */
    int ports[DN_NPORTS];     /* 1..65535 for tcp; any non-negative suffix for ipc */
    char *key;                /* owned; "" when messages are not signed */
    size_t keylen;
    char scheme[32];          /* "hmac-sha256", or "" when the key is empty */
} dn_connection;

/* Parses a connection file. Returns 0, or -1 with a message naming the file and field. */
int dn_connection_load(const char *path, dn_connection *c, char *err, size_t errlen);
/* The same from JSON text already in memory (origin names it in messages). */
int dn_connection_parse(const char *text, size_t len, const char *origin, dn_connection *c,
                        char *err, size_t errlen);
void dn_connection_fini(dn_connection *c);
/* ZeroMQ endpoint of one port: tcp://ip:port, tcp://[v6]:port or ipc://ip-port. */
void dn_connection_endpoint(const dn_connection *c, int which, char *out, size_t outlen);

#endif
