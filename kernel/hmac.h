/* hmac.h — message signing (HMAC-SHA256 over the four JSON frames), with libsodium. */
#ifndef DN_HMAC_H
#define DN_HMAC_H

#include <stddef.h>

#define DN_SIG_HEX_LEN 64  /* lowercase hex of a 32-byte SHA-256 MAC */

typedef struct dn_signer dn_signer;

/* scheme is "hmac-sha256" (or "" / NULL with an empty key). An empty key means messages are
 * neither signed nor checked. Returns NULL and fills err when the scheme is unsupported. */
dn_signer *dn_signer_new(const char *scheme, const void *key, size_t keylen, char *err, size_t errlen);
void dn_signer_free(dn_signer *s);
int dn_signer_enabled(const dn_signer *s);
/* Signs parts[0..nparts) as one stream into hex (DN_SIG_HEX_LEN + 1 bytes; "" when disabled).
 * Safe to call from several threads at once. Returns 0, or -1 when libsodium fails. */
int dn_signer_sign(const dn_signer *s, const void *const *parts, const size_t *lens, int nparts,
                   char hex[DN_SIG_HEX_LEN + 1]);
/* 1 when sig (siglen bytes of hex) is the signature of parts, compared in constant time;
 * always 1 when signing is disabled. */
int dn_signer_verify(const dn_signer *s, const void *const *parts, const size_t *lens, int nparts,
                     const void *sig, size_t siglen);

#endif
