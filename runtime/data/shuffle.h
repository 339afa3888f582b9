/* shuffle.h — the seeded permutations runtime/data needs (epoch orders, %split's
 * choices): splitmix64-seeded xoshiro256**, Fisher-Yates without modulo bias. The
 * same (seed, stream) always gives the same order, on every machine. */
#ifndef DN_DATA_SHUFFLE_H
#define DN_DATA_SHUFFLE_H

#include <stdint.h>

/* Shuffles a[0..n) in place; stream separates independent uses of one seed. */
void dn_data_shuffle(long *a, long n, uint64_t seed, uint64_t stream);

#endif
