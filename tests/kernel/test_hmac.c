/* test_hmac.c — HMAC-SHA256 signing against RFC 4231 vectors and Python's hmac module,
 * constant-time verification, and the empty-key / unknown-scheme rules. */
#include "check.h"
#include "hmac.h"

#include <string.h>

static int sign1(dn_signer *s, const char *data, size_t len, char hex[65])
{
    const void *parts[1] = { data };
    size_t lens[1] = { len };
    return dn_signer_sign(s, parts, lens, 1, hex);
}

int main(void)
{
    char err[200], hex[65];
    unsigned char k1[20], k6[131];
    memset(k1, 0x0b, sizeof k1);
    memset(k6, 0xaa, sizeof k6);
    static const struct { const void *key; size_t keylen; const char *data; const char *want; } v[] = {
        { NULL, 20, "Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7" },
        { "Jefe", 4, "what do ya want for nothing?", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
        { NULL, 131, "Test Using Larger Than Block-Size Key - Hash Key First", "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54" },
    };
    for (int i = 0; i < 3; i++) {
        const void *key = v[i].key ? v[i].key : (i == 0 ? (const void *)k1 : (const void *)k6);
        dn_signer *s = dn_signer_new("hmac-sha256", key, v[i].keylen, err, sizeof err);
        CHECK(s && dn_signer_enabled(s), "signer for RFC 4231 vector %d", i + 1);
        CHECK(s && sign1(s, v[i].data, strlen(v[i].data), hex) == 0 && strcmp(hex, v[i].want) == 0,
              "RFC 4231 vector %d: %s", i + 1, hex);
        dn_signer_free(s);
    }

    /* the four JSON frames are one HMAC stream, as jupyter_client computes it */
    dn_signer *s = dn_signer_new("hmac-sha256", "secret", 6, err, sizeof err);
    const void *parts[4] = { "{\"a\":1}", "{}", "{}", "{\"b\":2}" };
    size_t lens[4] = { 7, 2, 2, 7 };
    const char *py = "9b14d94617bffb278285cea390d9dc17e01ec3188dba313f9548021906557a7b";
    CHECK(dn_signer_sign(s, parts, lens, 4, hex) == 0 && strcmp(hex, py) == 0,
          "four frames signed like Python's hmac.new(b'secret', ..., sha256)");
    CHECK(dn_signer_verify(s, parts, lens, 4, py, 64) == 1, "its own signature verifies");
    char bad[65];
    memcpy(bad, py, 65);
    bad[63] = bad[63] == '0' ? '1' : '0';
    CHECK(dn_signer_verify(s, parts, lens, 4, bad, 64) == 0, "a changed signature is refused");
    CHECK(dn_signer_verify(s, parts, lens, 4, py, 63) == 0, "a short signature is refused");
    CHECK(dn_signer_verify(s, parts, lens, 4, "", 0) == 0, "a missing signature is refused");
    lens[3] = 6;
    CHECK(dn_signer_verify(s, parts, lens, 4, py, 64) == 0, "a changed body is refused");
    dn_signer_free(s);

    s = dn_signer_new("", "", 0, err, sizeof err);
    CHECK(s && !dn_signer_enabled(s), "empty key: signing disabled");
    CHECK(s && sign1(s, "x", 1, hex) == 0 && hex[0] == 0, "empty key: empty signature");
    CHECK(s && dn_signer_verify(s, parts, lens, 4, "", 0) == 1, "empty key: anything verifies");
    dn_signer_free(s);

    s = dn_signer_new("hmac-md5", "k", 1, err, sizeof err);
    CHECK(!s && strstr(err, "hmac-md5"), "unknown scheme refused: %s", err);
    return CHECK_DONE();
}
