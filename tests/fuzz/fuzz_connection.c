/* fuzz_connection — the connection file (kernel/connection.c), read from a file as the
 * kernel reads it. Invariants: an error has a sentence; a file that is accepted gives
 * tcp or ipc, ports in range, a key and scheme that dn_signer_new accepts, and
 * endpoints that ZeroMQ can be given (tcp://... or ipc://...). */
#include "connection.h"
#include "fuzz.h"
#include "hmac.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64], err[1024];
    int fd = fz_memfile(data, size, path, sizeof path);
    if (fd < 0)
        fz_fail("cannot make an in-memory file");
    dn_connection c;
    err[0] = 0;
    int rc = dn_connection_load(path, &c, err, sizeof err);
    close(fd);
    if (rc != 0) {
        fz_check_message(err, sizeof err, "dn_connection_load");
        dn_connection_fini(&c);
        return 0;
    }
    int tcp = !strcmp(c.transport, "tcp");
    if (!tcp && strcmp(c.transport, "ipc"))
        fz_fail("transport '%s' accepted", c.transport);
    for (int i = 0; i < DN_NPORTS; i++) {
        if (c.ports[i] < (tcp ? 1 : 0) || (tcp && c.ports[i] > 65535))
            fz_fail("port %d accepted", c.ports[i]);
        char ep[400];
        dn_connection_endpoint(&c, i, ep, sizeof ep);
        if (strncmp(ep, tcp ? "tcp://" : "ipc://", 6) || strlen(ep) < 8)
            fz_fail("endpoint '%s'", ep);
    }
    if (!c.key || (c.keylen > 0) != (c.scheme[0] != 0))
        fz_fail("a key of %zu bytes with scheme '%s'", c.keylen, c.scheme);
    dn_signer *s = dn_signer_new(c.scheme, c.key, c.keylen, err, sizeof err);
    if (!s)
        fz_fail("an accepted connection file gives no signer: %s", err);
    if (dn_signer_enabled(s) != (c.keylen > 0))
        fz_fail("signing is %s with a key of %zu bytes", dn_signer_enabled(s) ? "on" : "off",
                c.keylen);
    dn_signer_free(s);
    dn_connection_fini(&c);
    return 0;
}
