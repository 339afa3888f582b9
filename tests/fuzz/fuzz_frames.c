/* fuzz_frames.c — see fuzz_frames.h. */
#include "fuzz_frames.h"
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

size_t fz_delimiter(const dn_frames *f)
{
    const size_t dlen = sizeof DN_DELIMITER - 1;
    for (size_t i = 0; i < f->n; i++)
        if (f->v[i].len == dlen && !memcmp(f->v[i].data, DN_DELIMITER, dlen))
            return i;
    return f->n;
}

void fz_json_parts(const dn_frames *f, size_t d, const void *parts[4], size_t lens[4])
{
    for (int i = 0; i < 4; i++) {
        parts[i] = f->v[d + 2 + i].data;
        lens[i] = f->v[d + 2 + i].len;
    }
}

void fz_resign(const dn_signer *s, dn_frames *f)
{
    size_t d = fz_delimiter(f);
    if (d + 6 > f->n)
        return;
    const void *parts[4];
    size_t lens[4];
    fz_json_parts(f, d, parts, lens);
    char sig[DN_SIG_HEX_LEN + 1];
    if (dn_signer_sign(s, parts, lens, 4, sig) != 0)
        fz_fail("signing failed");
    unsigned char *copy = (unsigned char *)strdup(sig);
    if (!copy)
        fz_fail("out of memory");
    free(f->v[d + 1].data);
    f->v[d + 1].data = copy;
    f->v[d + 1].len = strlen(sig);
}
