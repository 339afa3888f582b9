/* wire.h — Jupyter messages to and from ZeroMQ frames:
 *   [identities...] "<IDS|MSG>" signature header parent_header metadata content [buffers...]
 * The signature covers the four JSON frames exactly as they travel. */
#ifndef DN_WIRE_H
#define DN_WIRE_H

#include "frames.h"
#include "hmac.h"

#include <jansson.h>

#define DN_DELIMITER "<IDS|MSG>"

typedef struct dn_msg {
    dn_frames ids;                  /* routing identities (or the iopub topic) */
    json_t *header, *parent, *metadata, *content;  /* owned references */
    dn_frames buffers;
} dn_msg;

enum {
    DN_WIRE_OK = 0,
    DN_WIRE_DROP = -1,     /* unusable: no delimiter, too few frames, bad signature, bad header */
    DN_WIRE_BAD_BODY = 1,  /* header (msg_id, msg_type) usable, the rest not: answer with an error */
};

/* Parses and verifies in. On DN_WIRE_OK every field of out is set; on DN_WIRE_BAD_BODY
 * ids and header are; err says what is wrong. out must be released with dn_msg_fini. */
int dn_wire_parse(const dn_frames *in, const dn_signer *signer, dn_msg *out, char *err, size_t errlen);
/* Serialises m (header, parent, metadata, content must be objects) and signs it into out,
 * which it appends to. Returns 0, or -1 when out of memory / signing failed. */
int dn_wire_build(const dn_msg *m, const dn_signer *signer, dn_frames *out);
void dn_msg_fini(dn_msg *m);

/* Current UTC time, ISO 8601 with microseconds: 2024-01-31T12:34:56.123456Z. */
void dn_iso_now(char out[40]);

#endif
