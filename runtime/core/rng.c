#include "rng.h"

#include <math.h>

/* PCG32's seeding: initseq picks the stream (the increment), initstate the start in it */
static void pcg_seed(dn_rng *r, uint64_t initstate, uint64_t initseq)
{
    r->state = 0;
    r->inc = (initseq << 1) | 1u;
    dn_rng_u32(r);
    r->state += initstate;
    dn_rng_u32(r);
}

void dn_rng_seed(dn_rng *r, uint64_t seed)
{
    pcg_seed(r, seed ^ 0x853c49e6748fea9bULL, seed);
}

void dn_rng_seed_stream(dn_rng *r, uint64_t seed, uint64_t stream)
{
    /* the mask keeps small stream numbers off the streams dn_rng_seed gives small seeds */
    pcg_seed(r, seed ^ 0x853c49e6748fea9bULL, stream ^ 0x2f6a9c54d3b1e807ULL);
}

uint32_t dn_rng_u32(dn_rng *r)
{
    uint64_t old = r->state;
    r->state = old * 6364136223846793005ULL + r->inc;
    uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
    uint32_t rot = (uint32_t)(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((-rot) & 31));
}

float dn_rng_uniform(dn_rng *r)
{
    return (float)(dn_rng_u32(r) >> 8) * (1.0f / 16777216.0f);
}

uint32_t dn_rng_below(dn_rng *r, uint32_t n)
{
    /* reject the low values that would make some results likelier than others */
    uint32_t threshold = (uint32_t)(-n) % n;
    for (;;) {
        uint32_t x = dn_rng_u32(r);
        if (x >= threshold)
            return x % n;
    }
}

double dn_rng_normal(dn_rng *r)
{
    double u1 = ((double)dn_rng_u32(r) + 1.0) / 4294967296.0;   /* (0, 1] keeps log finite */
    double u2 = (double)dn_rng_u32(r) / 4294967296.0;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

void dn_rng_shuffle(dn_rng *r, long *a, long n)
{
    for (long i = n - 1; i > 0; i--) {
        long j = (long)dn_rng_below(r, (uint32_t)(i + 1));
        long t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}
