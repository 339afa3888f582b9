/* rng.h — the runtime's one random generator (PCG32, O'Neill 2014). Every user of
 * randomness gets a dn_rng passed explicitly, so a seeded run repeats exactly. */
#ifndef DN_RNG_H
#define DN_RNG_H

#include <stdint.h>

typedef struct dn_rng {
    uint64_t state;
    uint64_t inc;
} dn_rng;

void dn_rng_seed(dn_rng *r, uint64_t seed);
/* One of a seed's independent sequences (PCG32's streams): stream names the use (an
 * epoch's order, a step of %split), so the uses of one seed never share numbers. */
void dn_rng_seed_stream(dn_rng *r, uint64_t seed, uint64_t stream);
uint32_t dn_rng_u32(dn_rng *r);
/* uniform in [0, 1) with 24 random bits */
float dn_rng_uniform(dn_rng *r);
/* uniform in [0, n), without modulo bias; n >= 1 */
uint32_t dn_rng_below(dn_rng *r, uint32_t n);
/* standard normal (Box-Muller) */
double dn_rng_normal(dn_rng *r);
/* Fisher-Yates shuffle of n longs */
void dn_rng_shuffle(dn_rng *r, long *a, long n);

#endif
