/* test_connection.c — connection files: a good one, and each kind of bad field. */
#include "check.h"
#include "connection.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PORTS "\"shell_port\": 5001, \"iopub_port\": 5002, \"stdin_port\": 5003, \"control_port\": 5004, \"hb_port\": 5005"

static int parse(const char *text, dn_connection *c, char *err, size_t errlen)
{
    return dn_connection_parse(text, strlen(text), "test.json", c, err, errlen);
}

static void bad(const char *text, const char *expect)
{
    dn_connection c;
    char err[300] = "";
    int rc = parse(text, &c, err, sizeof err);
    CHECK(rc == -1 && strstr(err, expect), "refused (%s): %s", expect, err);
}

int main(void)
{
    dn_connection c;
    char err[300], ep[300];
    int rc = parse("{" PORTS ", \"ip\": \"127.0.0.1\", \"transport\": \"tcp\", \"key\": \"abc\", "
                   "\"signature_scheme\": \"hmac-sha256\", \"kernel_name\": \"deepnb\"}", &c, err, sizeof err);
    CHECK(rc == 0, "a jupyter_client connection file parses");
    CHECK(c.ports[DN_PORT_SHELL] == 5001 && c.ports[DN_PORT_HB] == 5005, "ports read");
    CHECK(c.keylen == 3 && strcmp(c.key, "abc") == 0 && strcmp(c.scheme, "hmac-sha256") == 0, "key and scheme read");
    dn_connection_endpoint(&c, DN_PORT_IOPUB, ep, sizeof ep);
    CHECK(strcmp(ep, "tcp://127.0.0.1:5002") == 0, "tcp endpoint %s", ep);
    dn_connection_fini(&c);

    rc = parse("{" PORTS ", \"ip\": \"/tmp/k\", \"transport\": \"ipc\", \"key\": \"\", \"signature_scheme\": \"\"}",
               &c, err, sizeof err);
    dn_connection_endpoint(&c, DN_PORT_SHELL, ep, sizeof ep);
    CHECK(rc == 0 && strcmp(ep, "ipc:///tmp/k-5001") == 0 && c.keylen == 0, "ipc endpoint %s, no key", ep);
    dn_connection_fini(&c);

    rc = parse("{" PORTS ", \"ip\": \"::1\", \"key\": \"\"}", &c, err, sizeof err);
    dn_connection_endpoint(&c, DN_PORT_SHELL, ep, sizeof ep);
    CHECK(rc == 0 && strcmp(ep, "tcp://[::1]:5001") == 0, "IPv6 endpoint %s", ep);
    dn_connection_fini(&c);

    bad("{", "not valid JSON");
    bad("[1,2]", "JSON object");
    bad("{" PORTS ", \"ip\": \"127.0.0.1\", \"transport\": \"udp\"}", "transport");
    bad("{" PORTS "}", "\"ip\" is missing");
    bad("{" PORTS ", \"ip\": 7}", "\"ip\" must be a string");
    bad("{\"shell_port\": \"5001\", \"iopub_port\": 5002, \"stdin_port\": 5003, \"control_port\": 5004, "
        "\"hb_port\": 5005, \"ip\": \"127.0.0.1\"}", "shell_port\" must be an integer");
    bad("{\"shell_port\": 70000, \"iopub_port\": 5002, \"stdin_port\": 5003, \"control_port\": 5004, "
        "\"hb_port\": 5005, \"ip\": \"127.0.0.1\"}", "out of range");
    bad("{\"iopub_port\": 5002, \"stdin_port\": 5003, \"control_port\": 5004, \"hb_port\": 5005, "
        "\"ip\": \"127.0.0.1\"}", "shell_port\" is missing");
    bad("{" PORTS ", \"ip\": \"127.0.0.1\", \"key\": \"k\", \"signature_scheme\": \"hmac-md5\"}", "hmac-md5");
    bad("{" PORTS ", \"ip\": \"127.0.0.1\", \"key\": \"k\", \"signature_scheme\": \"\"}", "signature_scheme");
    rc = parse("{" PORTS ", \"ip\": \"127.0.0.1\", \"key\": \"k\"}", &c, err, sizeof err);
    CHECK(rc == 0 && strcmp(c.scheme, "hmac-sha256") == 0, "no signature_scheme with a key: hmac-sha256");
    dn_connection_fini(&c);
    bad("{" PORTS ", \"ip\": \"127.0.0.1\", \"key\": 5}", "\"key\" must be a string");

    /* from a real file, and a missing one */
    char path[] = "/tmp/dn-conn-XXXXXX";
    int fd = mkstemp(path);
    const char *text = "{" PORTS ", \"ip\": \"127.0.0.1\", \"key\": \"s\", \"signature_scheme\": \"hmac-sha256\"}";
    CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text), "wrote %s", path);
    close(fd);
    rc = dn_connection_load(path, &c, err, sizeof err);
    CHECK(rc == 0 && c.ports[DN_PORT_CONTROL] == 5004, "loaded from a file");
    dn_connection_fini(&c);
    unlink(path);
    rc = dn_connection_load(path, &c, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "cannot open"), "missing file: %s", err);
    return CHECK_DONE();
}
