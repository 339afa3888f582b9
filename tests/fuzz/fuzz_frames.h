/* fuzz_frames.h — for the harnesses of kernel/ (wire, core): where the delimiter is, and
 * the signature frame made right, so that the fuzzer reaches the JSON behind it. */
#ifndef DN_FUZZ_FRAMES_H
#define DN_FUZZ_FRAMES_H

#include "wire.h"

/* Index of the <IDS|MSG> frame, or f->n when there is none. */
size_t fz_delimiter(const dn_frames *f);
/* The four JSON frames after the delimiter at d (the signed parts). */
void fz_json_parts(const dn_frames *f, size_t d, const void *parts[4], size_t lens[4]);
/* When f has a delimiter and the five frames after it, replaces the signature frame by
 * s's signature of the four JSON frames. */
void fz_resign(const dn_signer *s, dn_frames *f);

#endif
