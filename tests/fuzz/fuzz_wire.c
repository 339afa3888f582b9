/* fuzz_wire — the wire format and its signatures (kernel/wire.c, kernel/hmac.c).
 * Input: a flags byte, then frames as fz_chunk records. Flag 1: sign the message with
 * the key (so the fuzzer reaches the JSON behind a good signature); flag 2: no key.
 * Invariants: a parse says OK, BAD_BODY or DROP, with a message when not OK; a message
 * that parses is built again (dn_wire_build) into frames that parse to the same JSON,
 * identities and buffers; a signature verifies, and one changed hex digit does not. */
#include "fuzz.h"
#include "fuzz_frames.h"
#include "wire.h"

#include <stdio.h>
#include <string.h>

static const char KEY[] = "fuzz-key-5f3c8e2a";

static void same_frames(const dn_frames *a, const dn_frames *b, const char *what)
{
    if (a->n != b->n)
        fz_fail("%s: %zu frames became %zu", what, a->n, b->n);
    for (size_t i = 0; i < a->n; i++)
        if (a->v[i].len != b->v[i].len || memcmp(a->v[i].data, b->v[i].data, a->v[i].len))
            fz_fail("%s: frame %zu changed", what, i);
}

static void check_signing(const dn_signer *s, const dn_frames *f, size_t d)
{
    const void *parts[4];
    size_t lens[4];
    fz_json_parts(f, d, parts, lens);
    char sig[DN_SIG_HEX_LEN + 1];
    if (dn_signer_sign(s, parts, lens, 4, sig) != 0)
        fz_fail("signing failed");
    if (!dn_signer_verify(s, parts, lens, 4, sig, strlen(sig)))
        fz_fail("a signature does not verify");
    if (!dn_signer_enabled(s))
        return;
    if (strlen(sig) != DN_SIG_HEX_LEN)
        fz_fail("a signature of %zu hex digits", strlen(sig));
    sig[lens[0] % DN_SIG_HEX_LEN] ^= 1;
    if (dn_signer_verify(s, parts, lens, 4, sig, DN_SIG_HEX_LEN))
        fz_fail("a changed signature verifies");
    sig[lens[0] % DN_SIG_HEX_LEN] ^= 1;
    if (dn_signer_verify(s, parts, lens, 4, sig, DN_SIG_HEX_LEN - 1))
        fz_fail("a shortened signature verifies");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = { data, size };
    unsigned flags = fz_byte(&in);
    char err[512];
    dn_signer *s = flags & 2 ? dn_signer_new("", "", 0, err, sizeof err)
                             : dn_signer_new("hmac-sha256", KEY, sizeof KEY - 1, err, sizeof err);
    if (!s)
        fz_fail("no signer: %s", err);
    dn_frames f = { 0 };
    const uint8_t *p;
    size_t len;
    while (fz_chunk(&in, &p, &len) == 0)
        if (dn_frames_push(&f, p, len) != 0)
            fz_fail("out of memory");
    if (flags & 1)      /* the signature frame made right */
        fz_resign(s, &f);
    size_t d = fz_delimiter(&f);
    if (d + 6 <= f.n)
        check_signing(s, &f, d);

    dn_msg m;
    err[0] = 0;
    int rc = dn_wire_parse(&f, s, &m, err, sizeof err);
    if (rc != DN_WIRE_OK && rc != DN_WIRE_DROP && rc != DN_WIRE_BAD_BODY)
        fz_fail("dn_wire_parse returned %d", rc);
    if (rc != DN_WIRE_OK)
        fz_check_message(err, sizeof err, "dn_wire_parse");
    if (rc == DN_WIRE_BAD_BODY && (!m.header || !json_is_object(m.header)))
        fz_fail("BAD_BODY without its header");
    if (rc == DN_WIRE_OK) {
        dn_frames out = { 0 };
        if (dn_wire_build(&m, s, &out) != 0)
            fz_fail("a parsed message cannot be built again");
        dn_msg again;
        if (dn_wire_parse(&out, s, &again, err, sizeof err) != DN_WIRE_OK)
            fz_fail("a built message does not parse: %s", err);
        if (!json_equal(m.header, again.header) || !json_equal(m.parent, again.parent) ||
            !json_equal(m.metadata, again.metadata) || !json_equal(m.content, again.content))
            fz_fail("a message changed on its way through dn_wire_build");
        same_frames(&m.ids, &again.ids, "identities");
        same_frames(&m.buffers, &again.buffers, "buffers");
        dn_msg_fini(&again);
        dn_frames_clear(&out);
    }
    if (rc != DN_WIRE_DROP)
        dn_msg_fini(&m);
    dn_frames_clear(&f);
    dn_signer_free(s);
    return 0;
}
