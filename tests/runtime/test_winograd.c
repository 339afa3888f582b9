/* The Winograd F(2x2, 3x3) and F(4x4, 3x3) convolutions (runtime/core/winograd.c), each on
 * every geometry, and their kernel gradients against a direct convolution and a direct sum
 * in double precision: 'valid', 'same' and the 'full' padding of input
 * gradients, odd sizes (tiles that end past the output), chunks of one tile row, channel
 * counts on and off the vector kernel's multiples of 8, bias and relu, batches of 1 and 3
 * and a range of images inside a batch, and which tile size each output size gets.
 * Tolerance: max |diff| / max |direct| < 1e-5 (2e-5 for F(4x4) over more than 64 channels). */
#include "core/cpu.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

static float frand(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return (float)((*s >> 8) & 0xffff) / 32768.0f - 1.0f;
}

/* y[b] = act(x[b] conv w + bias) directly, for b in b0..b1 */
static void direct(const float *x, const dn_conv_geom *g, const float *w, int F, const float *bias,
                   int relu, long b0, long b1, float *y)
{
    for (long b = b0; b < b1; b++)
        for (int oy = 0; oy < g->OH; oy++)
            for (int ox = 0; ox < g->OW; ox++)
                for (int f = 0; f < F; f++) {
                    double s = bias ? bias[f] : 0.0;
                    for (int i = 0; i < 3; i++)
                        for (int j = 0; j < 3; j++) {
                            int iy = oy - g->PT + i, ix = ox - g->PL + j;
                            if (iy < 0 || iy >= g->H || ix < 0 || ix >= g->W)
                                continue;
                            for (int c = 0; c < g->C; c++)
                                s += (double)x[((b * g->H + iy) * g->W + ix) * g->C + c] *
                                     w[((i * 3 + j) * g->C + c) * F + f];
                        }
                    if (relu && s < 0)
                        s = 0;
                    y[((b * g->OH + oy) * g->OW + ox) * F + f] = (float)s;
                }
}

/* pad: 0 'valid', 1 'same', 2 'full' (an input gradient's geometry) */
static void check_tile(int m, int n, int H, int W, int C, int F, int pad, int use_bias,
                       int relu, long b0, long b1)
{
    dn_conv_geom g = {.H = H, .W = W, .C = C, .KH = 3, .KW = 3, .SH = 1, .SW = 1,
                      .PT = pad, .PL = pad, .OH = H - 2 + 2 * pad, .OW = W - 2 + 2 * pad};
    long xn = (long)n * H * W * C, yn = (long)n * g.OH * g.OW * F;
    float *x = malloc((size_t)xn * sizeof(float)), *w = malloc(9 * (size_t)C * F * sizeof(float));
    float *bias = malloc((size_t)F * sizeof(float)), *U = malloc((size_t)dn_winograd_elems(m) * C * F * sizeof(float));
    float *ws = malloc((size_t)dn_winograd_workspace(&g, F, m) * sizeof(float));
    float *want = malloc((size_t)yn * sizeof(float)), *got = malloc((size_t)yn * sizeof(float));
    unsigned s = (unsigned)(H * 131 + W * 17 + C * 7 + F + pad);
    for (long i = 0; i < xn; i++)
        x[i] = frand(&s);
    for (long i = 0; i < 9L * C * F; i++)
        w[i] = frand(&s);
    for (int f = 0; f < F; f++)
        bias[f] = frand(&s);
    /* images outside b0..b1 must stay untouched: both start from the same marker */
    for (long i = 0; i < yn; i++)
        want[i] = got[i] = 1234.5f;
    direct(x, &g, w, F, use_bias ? bias : NULL, relu, b0, b1, want);
    dn_winograd_kernel(w, C, F, m, U);
    dn_winograd3x3(x, &g, m, U, F, use_bias ? bias : NULL, relu ? DN_ACT_RELU : DN_ACT_LINEAR, b0, b1,
                   ws, got);
    const long per = (long)g.OH * g.OW * F;
    double maxd = 0, maxv = 1e-12;
    int outside = 0;    /* values written outside images b0..b1 */
    for (long i = 0; i < yn; i++) {
        if (i < b0 * per || i >= b1 * per) {
            outside += got[i] != 1234.5f;
            continue;
        }
        double d = fabs((double)want[i] - got[i]);
        maxd = d > maxd ? d : maxd;
        maxv = fabs(want[i]) > maxv ? fabs(want[i]) : maxv;
    }
    double rel = maxd / maxv;
    /* the kernel gradient for output gradient dy = the direct outputs: sum over pixels of
     * input patch x dy, in images b0..b1 */
    float *dU = calloc((size_t)dn_winograd_elems(m) * C * F, sizeof(float)), *dw = malloc(9 * (size_t)C * F * sizeof(float));
    dn_winograd3x3_grad(x, &g, m, want, F, b0, b1, ws, dU);
    dn_winograd_kernel_grad(dU, C, F, m, dw);
    double gmaxd = 0, gmaxv = 1e-12;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            for (int c = 0; c < C; c++)
                for (int f = 0; f < F; f++) {
                    double sum = 0;
                    for (long b = b0; b < b1; b++)
                        for (int oy = 0; oy < g.OH; oy++)
                            for (int ox = 0; ox < g.OW; ox++) {
                                int iy = oy - g.PT + i, ix = ox - g.PL + j;
                                if (iy >= 0 && iy < H && ix >= 0 && ix < W)
                                    sum += (double)x[((b * H + iy) * W + ix) * C + c] *
                                           want[((b * g.OH + oy) * g.OW + ox) * F + f];
                            }
                    double d = fabs(sum - dw[((i * 3 + j) * C + c) * F + f]);
                    gmaxd = d > gmaxd ? d : gmaxd;
                    gmaxv = fabs(sum) > gmaxv ? fabs(sum) : gmaxv;
                }
    double grel = gmaxd / gmaxv;
    free(dU);
    free(dw);
    /* F(4x4)'s rounding grows with the channels summed: 1e-5 up to 64 of them, 2e-5 past */
    const double tol = m == 4 && C > 64 ? 2e-5 : 1e-5;
    int ok = dn_winograd_fits(&g) && rel < tol && !outside && grel < tol;
    printf("%s F(%dx%d) n=%d %dx%dx%d -> %dx%dx%d pad=%d bias=%d relu=%d images %ld..%ld: rel %.2g, "
           "kernel gradient rel %.2g\n", ok ? "ok  " : "FAIL", m, m, n, H, W, C, g.OH, g.OW, F, pad,
           use_bias, relu, b0, b1, rel, grel);
    failures += !ok;
    free(x);
    free(w);
    free(bias);
    free(U);
    free(ws);
    free(want);
    free(got);
}

static void check(int n, int H, int W, int C, int F, int pad, int use_bias, int relu, long b0,
                  long b1)
{
    check_tile(2, n, H, W, C, F, pad, use_bias, relu, b0, b1);
    check_tile(4, n, H, W, C, F, pad, use_bias, relu, b0, b1);
}

/* the tile size chosen: F(4x4) where it needs a tenth fewer products and C + F <= 256 */
static void check_choice(int OH, int OW, int C, int F, int want)
{
    dn_conv_geom g = {.H = OH + 2, .W = OW + 2, .C = C, .KH = 3, .KW = 3, .SH = 1, .SW = 1,
                      .OH = OH, .OW = OW};
    int got = dn_winograd_tile(&g, F);
    printf("%s tile for a %dx%d output, %d -> %d channels: F(%dx%d), want F(%dx%d)\n",
           got == want ? "ok  " : "FAIL", OH, OW, C, F, got, got, want, want);
    failures += got != want;
}

int main(void)
{
    check_choice(24, 24, 32, 32, 4);
    check_choice(10, 10, 32, 64, 4);
    check_choice(224, 224, 64, 64, 4);
    check_choice(56, 56, 128, 128, 4);
    check_choice(28, 28, 256, 256, 2);   /* many channels: F(2x2) measured faster */
    check_choice(2, 2, 8, 8, 2);
    check_choice(5, 5, 8, 8, 2);         /* 36 * 4 = 144 against 16 * 9 = 144 */
    check_choice(1, 9, 8, 8, 2);
    check(1, 7, 9, 8, 8, 0, 1, 1, 0, 1);         /* valid, odd output 5x7 */
    check(3, 7, 9, 8, 8, 1, 1, 1, 0, 3);         /* same */
    check(3, 5, 6, 16, 24, 2, 0, 0, 0, 3);       /* full: an input gradient */
    check(3, 26, 26, 32, 32, 0, 1, 1, 1, 3);     /* the benchmark's conv2, images 1..2 */
    check(3, 12, 12, 32, 64, 0, 1, 1, 0, 2);     /* its conv3 */
    check(1, 13, 11, 3, 5, 0, 1, 0, 0, 1);       /* channels off the multiples of 8 */
    check(3, 9, 7, 12, 10, 1, 1, 1, 0, 3);
    check(1, 3, 3, 8, 16, 0, 0, 0, 0, 1);        /* one output: one tile, mostly past it */
    check(3, 4, 4, 8, 8, 1, 1, 0, 0, 3);         /* 'same' on a 4x4 */
    check(1, 61, 29, 64, 64, 1, 1, 1, 0, 1);     /* chunks of 2 tile rows, the last of 1 */
    check(3, 33, 65, 64, 72, 0, 1, 1, 0, 3);     /* chunks of 1 tile row, F = 4 * 16 + 8 */
    check(2, 30, 30, 64, 96, 1, 1, 1, 0, 2);     /* F past the output transform's 32-wide runs */
    check(1, 226, 18, 64, 64, 0, 1, 0, 0, 1);    /* many tile rows, 16 outputs wide */
    check(1, 30, 30, 256, 256, 1, 0, 0, 0, 1);   /* many channels: rounding grows with C */
    if (failures)
        printf("%d Winograd check(s) failed\n", failures);
    return failures != 0;
}
