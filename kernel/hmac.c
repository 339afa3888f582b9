/* hmac.c — HMAC-SHA256 with OpenSSL 3: one keyed context made at start, duplicated per
 * message so threads never share mutable state. */
#include "hmac.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dn_signer {
    EVP_MAC *mac;
    EVP_MAC_CTX *keyed;  /* initialised with key and digest; only ever duplicated */
};

dn_signer *dn_signer_new(const char *scheme, const void *key, size_t keylen, char *err, size_t errlen)
{
    dn_signer *s = calloc(1, sizeof *s);
    if (!s) { snprintf(err, errlen, "out of memory"); return NULL; }
    if (keylen == 0) return s;
    if (!scheme || strcmp(scheme, "hmac-sha256") != 0) {
        snprintf(err, errlen, "signature_scheme \"%s\" is not supported (only hmac-sha256)",
                 scheme ? scheme : "");
        free(s);
        return NULL;
    }
    /* no openssl.cnf, error strings or cipher/digest tables: the kernel needs only the
     * default provider's HMAC and SHA-256, and the rest costs start-up time and ~0.6 MiB */
    OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS |
                        OPENSSL_INIT_NO_ADD_ALL_CIPHERS | OPENSSL_INIT_NO_ADD_ALL_DIGESTS, NULL);
    s->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (s->mac) s->keyed = EVP_MAC_CTX_new(s->mac);
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    if (!s->keyed || !EVP_MAC_init(s->keyed, key, keylen, params)) {
        snprintf(err, errlen, "OpenSSL could not set up HMAC-SHA256");
        dn_signer_free(s);
        return NULL;
    }
    return s;
}

void dn_signer_free(dn_signer *s)
{
    if (!s) return;
    EVP_MAC_CTX_free(s->keyed);
    EVP_MAC_free(s->mac);
    free(s);
}

int dn_signer_enabled(const dn_signer *s) { return s && s->keyed; }

static int mac_raw(const dn_signer *s, const void *const *parts, const size_t *lens, int nparts,
                   unsigned char out[32])
{
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_dup(s->keyed);
    if (!ctx) return -1;
    int ok = 1;
    for (int i = 0; ok && i < nparts; i++)
        ok = EVP_MAC_update(ctx, parts[i], lens[i]);
    size_t outlen = 0;
    ok = ok && EVP_MAC_final(ctx, out, &outlen, 32) && outlen == 32;
    EVP_MAC_CTX_free(ctx);
    return ok ? 0 : -1;
}

int dn_signer_sign(const dn_signer *s, const void *const *parts, const size_t *lens, int nparts,
                   char hex[DN_SIG_HEX_LEN + 1])
{
    hex[0] = 0;
    if (!dn_signer_enabled(s)) return 0;
    unsigned char raw[32];
    if (mac_raw(s, parts, lens, nparts, raw)) return -1;
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = digits[raw[i] >> 4];
        hex[2 * i + 1] = digits[raw[i] & 15];
    }
    hex[DN_SIG_HEX_LEN] = 0;
    return 0;
}

int dn_signer_verify(const dn_signer *s, const void *const *parts, const size_t *lens, int nparts,
                     const void *sig, size_t siglen)
{
    if (!dn_signer_enabled(s)) return 1;
    if (siglen != DN_SIG_HEX_LEN) return 0;
    char want[DN_SIG_HEX_LEN + 1];
    if (dn_signer_sign(s, parts, lens, nparts, want)) return 0;
    return CRYPTO_memcmp(want, sig, DN_SIG_HEX_LEN) == 0;
}
