/* connection.c — reads the connection file without trusting it: every field is checked for
 * type and range, and unknown signing schemes are refused rather than ignored. */
#include "connection.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *port_names[DN_NPORTS] = {
    "shell_port", "iopub_port", "stdin_port", "control_port", "hb_port",
};

static int get_string(json_t *root, const char *name, const char **out, int required,
                      const char *origin, char *err, size_t errlen)
{
    json_t *v = json_object_get(root, name);
    if (!v) {
        *out = NULL;
        if (required) snprintf(err, errlen, "%s: field \"%s\" is missing", origin, name);
        return required ? -1 : 0;
    }
    if (!json_is_string(v)) {
        snprintf(err, errlen, "%s: field \"%s\" must be a string", origin, name);
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

int dn_connection_parse(const char *text, size_t len, const char *origin, dn_connection *c,
                        char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    json_error_t jerr;
    json_t *root = json_loadb(text, len, 0, &jerr);
    if (!root) {
        snprintf(err, errlen, "%s: not valid JSON (line %d: %s)", origin, jerr.line, jerr.text);
        return -1;
    }
    int rc = -1;
    const char *transport, *ip, *key, *scheme;
    if (!json_is_object(root)) {
        snprintf(err, errlen, "%s: must hold a JSON object", origin);
        goto out;
    }
    if (get_string(root, "transport", &transport, 0, origin, err, errlen)) goto out;
    if (!transport) transport = "tcp";
    if (strcmp(transport, "tcp") != 0 && strcmp(transport, "ipc") != 0) {
        snprintf(err, errlen, "%s: transport \"%s\" is not supported (tcp or ipc)", origin, transport);
        goto out;
    }
    snprintf(c->transport, sizeof c->transport, "%s", transport);
    if (get_string(root, "ip", &ip, 1, origin, err, errlen)) goto out;
    if (!*ip || strlen(ip) >= sizeof c->ip || strpbrk(ip, " \t\r\n")) {
        snprintf(err, errlen, "%s: ip \"%.64s\" is not a usable address", origin, ip);
        goto out;
    }
    snprintf(c->ip, sizeof c->ip, "%s", ip);
    for (int i = 0; i < DN_NPORTS; i++) {
        json_t *v = json_object_get(root, port_names[i]);
        if (!v) {
            snprintf(err, errlen, "%s: field \"%s\" is missing", origin, port_names[i]);
            goto out;
        }
        if (!json_is_integer(v)) {
            snprintf(err, errlen, "%s: field \"%s\" must be an integer", origin, port_names[i]);
            goto out;
        }
        json_int_t p = json_integer_value(v);
        int is_tcp = c->transport[0] == 't';
        if (p < (is_tcp ? 1 : 0) || p > (is_tcp ? 65535 : 1000000000)) {
            snprintf(err, errlen, "%s: %s %lld is out of range", origin, port_names[i], (long long)p);
            goto out;
        }
        c->ports[i] = (int)p;
    }
    if (get_string(root, "key", &key, 0, origin, err, errlen)) goto out;
    if (!key) key = "";
    if (get_string(root, "signature_scheme", &scheme, 0, origin, err, errlen)) goto out;
    if (!scheme) scheme = *key ? "hmac-sha256" : "";  /* jupyter_client's default */
    if (*key && strcmp(scheme, "hmac-sha256") != 0) {
        snprintf(err, errlen, "%s: signature_scheme \"%s\" is not supported (only hmac-sha256)",
                 origin, scheme);
        goto out;
    }
    /* the key may hold any bytes JSON can carry, NUL included */
    c->keylen = json_object_get(root, "key") ? json_string_length(json_object_get(root, "key")) : 0;
    c->key = malloc(c->keylen + 1);
    if (!c->key) { snprintf(err, errlen, "out of memory"); goto out; }
    memcpy(c->key, key, c->keylen + 1);
    snprintf(c->scheme, sizeof c->scheme, "%s", *key ? scheme : "");
    rc = 0;
out:
    json_decref(root);
    return rc;
}

int dn_connection_load(const char *path, dn_connection *c, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open connection file %s: %m", path);
        return -1;
    }
    char buf[65536];
    size_t n = fread(buf, 1, sizeof buf, f);
    int toobig = !feof(f);
    fclose(f);
    if (toobig) {
        snprintf(err, errlen, "%s: too large for a connection file (over 64 KiB)", path);
        return -1;
    }
    return dn_connection_parse(buf, n, path, c, err, errlen);
}

void dn_connection_fini(dn_connection *c)
{
    free(c->key);
    c->key = NULL;
}

void dn_connection_endpoint(const dn_connection *c, int which, char *out, size_t outlen)
{
    if (c->transport[0] == 'i')
        snprintf(out, outlen, "ipc://%s-%d", c->ip, c->ports[which]);
    else if (strchr(c->ip, ':') && c->ip[0] != '[')
        snprintf(out, outlen, "tcp://[%s]:%d", c->ip, c->ports[which]);
    else
        snprintf(out, outlen, "tcp://%s:%d", c->ip, c->ports[which]);
}
