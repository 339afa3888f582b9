/* wire.c — the framing and signing rules of the Jupyter wire protocol. */
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void dn_msg_fini(dn_msg *m)
{
    dn_frames_clear(&m->ids);
    dn_frames_clear(&m->buffers);
    json_decref(m->header);
    json_decref(m->parent);
    json_decref(m->metadata);
    json_decref(m->content);
    memset(m, 0, sizeof *m);
}

static json_t *load_object(const dn_buf *b, const char *what, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *v = json_loadb((const char *)b->data, b->len, JSON_ALLOW_NUL, &jerr);
    if (!v) {
        snprintf(err, errlen, "%s is not valid JSON (%s)", what, jerr.text);
        return NULL;
    }
    if (!json_is_object(v)) {
        snprintf(err, errlen, "%s is not a JSON object", what);
        json_decref(v);
        return NULL;
    }
    return v;
}

int dn_wire_parse(const dn_frames *in, const dn_signer *signer, dn_msg *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    size_t d = 0;
    const size_t dlen = sizeof DN_DELIMITER - 1;
    while (d < in->n && !(in->v[d].len == dlen && memcmp(in->v[d].data, DN_DELIMITER, dlen) == 0))
        d++;
    if (d == in->n) {
        snprintf(err, errlen, "no <IDS|MSG> delimiter among %zu frames", in->n);
        return DN_WIRE_DROP;
    }
    if (in->n < d + 6) {
        snprintf(err, errlen, "too few frames after the delimiter (%zu, need 5)", in->n - d - 1);
        return DN_WIRE_DROP;
    }
    const dn_buf *sig = &in->v[d + 1], *body = &in->v[d + 2];
    const void *parts[4] = { body[0].data, body[1].data, body[2].data, body[3].data };
    size_t lens[4] = { body[0].len, body[1].len, body[2].len, body[3].len };
    if (!dn_signer_verify(signer, parts, lens, 4, sig->data, sig->len)) {
        snprintf(err, errlen, "bad signature");
        return DN_WIRE_DROP;
    }
    for (size_t i = 0; i < d; i++)
        if (dn_frames_push(&out->ids, in->v[i].data, in->v[i].len)) goto oom;
    out->header = load_object(&body[0], "header", err, errlen);
    if (!out->header) goto drop;
    json_t *id = json_object_get(out->header, "msg_id");
    json_t *type = json_object_get(out->header, "msg_type");
    if (!json_is_string(id) || !json_is_string(type) || !json_string_length(type)) {
        snprintf(err, errlen, "header lacks a string msg_id or msg_type");
        goto drop;
    }
    if (!(out->parent = load_object(&body[1], "parent_header", err, errlen))) return DN_WIRE_BAD_BODY;
    if (!(out->metadata = load_object(&body[2], "metadata", err, errlen))) return DN_WIRE_BAD_BODY;
    if (!(out->content = load_object(&body[3], "content", err, errlen))) return DN_WIRE_BAD_BODY;
    for (size_t i = d + 6; i < in->n; i++)
        if (dn_frames_push(&out->buffers, in->v[i].data, in->v[i].len)) goto oom;
    return DN_WIRE_OK;
oom:
    snprintf(err, errlen, "out of memory");
drop:
    dn_msg_fini(out);
    return DN_WIRE_DROP;
}

int dn_wire_build(const dn_msg *m, const dn_signer *signer, dn_frames *out)
{
    json_t *objs[4] = { m->header, m->parent, m->metadata, m->content };
    char *json[4] = { 0 };
    size_t lens[4];
    int rc = -1;
    for (int i = 0; i < 4; i++) {
        json[i] = json_dumps(objs[i], JSON_COMPACT);
        if (!json[i]) goto out;
        lens[i] = strlen(json[i]);
    }
    char sig[DN_SIG_HEX_LEN + 1];
    if (dn_signer_sign(signer, (const void *const *)json, lens, 4, sig)) goto out;
    for (size_t i = 0; i < m->ids.n; i++)
        if (dn_frames_push(out, m->ids.v[i].data, m->ids.v[i].len)) goto out;
    if (dn_frames_push(out, DN_DELIMITER, sizeof DN_DELIMITER - 1)) goto out;
    if (dn_frames_push(out, sig, strlen(sig))) goto out;
    for (int i = 0; i < 4; i++) {
        if (dn_frames_push_owned(out, json[i], lens[i])) goto out;
        json[i] = NULL;
    }
    for (size_t i = 0; i < m->buffers.n; i++)
        if (dn_frames_push(out, m->buffers.v[i].data, m->buffers.v[i].len)) goto out;
    rc = 0;
out:
    for (int i = 0; i < 4; i++) free(json[i]);
    return rc;
}

void dn_iso_now(char out[40])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char base[24];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 40, "%.20s.%06dZ", base, (int)(ts.tv_nsec / 1000) % 1000000);
}
