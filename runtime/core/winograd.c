/* winograd.c — 3x3 stride-1 convolutions by Winograd's minimal filtering (Lavin & Gray
 * 2015), in two tile sizes:
 *   F(2x2, 3x3): each 2x2 block of outputs from a 4x4 block of inputs, 16 multiplies per
 *                (input, output) channel pair instead of 36 (2.25 times fewer);
 *   F(4x4, 3x3): each 4x4 block from a 6x6 block, 36 multiplies instead of 144 (4 times
 *                fewer), for larger rounding: a few 1e-6 of the outputs' size at 64
 *                channels, ten times F(2x2)'s (tests/runtime/test_winograd.c).
 * Per chunk of tiles that is E = (m + 2)^2 products of (tiles x C) by (C x F) matrices
 * instead of one of (pixels x 9C) by (9C x F), for transforms of inputs and outputs that
 * run across channels (contiguous in NHWC) and vectorise. dn_winograd_tile picks the size
 * measured faster for an output size and channel count. */
#include "activation.h"
#include "cpu.h"

#include <string.h>
#if defined(__x86_64__) && defined(__GNUC__)
/* the transforms vectorise across channels: twice as wide with AVX2 where the CPU has it */
#define WINO_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define WINO_CLONES
#endif

/* transformed inputs and products of one chunk (256 KB): they stay in a core's L2 */
#define WINO_CHUNK_FLOATS (1L << 16)

int dn_winograd_fits(const dn_conv_geom *g)
{
    return g->KH == 3 && g->KW == 3 && g->SH == 1 && g->SW == 1;
}

static int tiles_w(const dn_conv_geom *g, int m) { return (g->OW + m - 1) / m; }
static int tiles_h(const dn_conv_geom *g, int m) { return (g->OH + m - 1) / m; }
static int max_i(int a, int b) { return a > b ? a : b; }
static int min_i(int a, int b) { return a < b ? a : b; }

int dn_winograd_elems(int m) { return (m + 2) * (m + 2); }

/* F(4x4) where its 36 products per tile, over tiles that may reach past the output, are
 * at least a tenth fewer than F(2x2)'s 16 per (smaller) tile (a 24x24 output takes
 * 36 * 6 * 6 = 1296 element products against 16 * 12 * 12 = 2304, a 2x2 one 36 against
 * 16), and the channels are few enough (C + F <= 256) that a chunk holds several tile
 * rows. Measured on a Zen 4, training: 20-35% faster at 224x224x64, 112x112x64 and
 * 56x56x128; slower at 28x28x256 and 14x14x512, where a chunk of one tile row streams the
 * whole transformed kernel for a handful of tiles (chunks across images would fix that). */
int dn_winograd_tile(const dn_conv_geom *g, int F)
{
    long e4 = 36L * tiles_h(g, 4) * tiles_w(g, 4), e2 = 16L * tiles_h(g, 2) * tiles_w(g, 2);
    return g->C + F <= 256 && 10 * e4 <= 9 * e2 ? 4 : 2;
}

/* tile rows per chunk: whole rows, so a chunk's outputs are one contiguous run */
static int rows_per_chunk(const dn_conv_geom *g, int F, int m)
{
    long r = WINO_CHUNK_FLOATS / ((long)dn_winograd_elems(m) * tiles_w(g, m) * (g->C + F));
    return (int)(r < 1 ? 1 : r < tiles_h(g, m) ? r : tiles_h(g, m));
}

long dn_winograd_workspace(const dn_conv_geom *g, int F, int m)
{
    return (long)dn_winograd_elems(m) * rows_per_chunk(g, F, m) * tiles_w(g, m) * (g->C + F) +
           max_i(g->C, F);
}

/* ---------------------------------------------------------------- F(2x2, 3x3)
 * B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1],
 * A^T = [1 1 1 0; 0 1 -1 -1] */

static void kernel2(const float *w, long cf, float *U)
{
    for (long i = 0; i < cf; i++) {
        float g[3][3], t[4][3];
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 3; b++)
                g[a][b] = w[(a * 3 + b) * cf + i];
        /* t = G g, then u = t G^T */
        for (int b = 0; b < 3; b++) {
            t[0][b] = g[0][b];
            t[1][b] = 0.5f * (g[0][b] + g[1][b] + g[2][b]);
            t[2][b] = 0.5f * (g[0][b] - g[1][b] + g[2][b]);
            t[3][b] = g[2][b];
        }
        for (int r = 0; r < 4; r++) {
            U[(r * 4 + 0) * cf + i] = t[r][0];
            U[(r * 4 + 1) * cf + i] = 0.5f * (t[r][0] + t[r][1] + t[r][2]);
            U[(r * 4 + 2) * cf + i] = 0.5f * (t[r][0] - t[r][1] + t[r][2]);
            U[(r * 4 + 3) * cf + i] = t[r][2];
        }
    }
}

/* V[xi][t][c] = (B^T d B)[xi] for the tiles of rows ty0..ty1 of one image; inputs
 * outside the image (padding, tiles past the edge) read as the zeros */
WINO_CLONES static void input_tiles2(const float *img, const dn_conv_geom *g, int ty0, int ty1,
                                     float *restrict V, long xs, const float *zeros)
{
    const int C = g->C, TW = tiles_w(g, 2);
    long t = 0;
    for (int ty = ty0; ty < ty1; ty++)
        for (int tx = 0; tx < TW; tx++, t++) {
            const float *p[16];
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++) {
                    int y = 2 * ty - g->PT + i, x = 2 * tx - g->PL + j;
                    p[i * 4 + j] = y >= 0 && y < g->H && x >= 0 && x < g->W
                                       ? img + ((long)y * g->W + x) * C : zeros;
                }
            float *restrict v = V + t * C;
#pragma omp simd
            for (int c = 0; c < C; c++) {
                float r[4][4];
                for (int j = 0; j < 4; j++) {   /* r = B^T d */
                    float d0 = p[j][c], d1 = p[4 + j][c], d2 = p[8 + j][c], d3 = p[12 + j][c];
                    r[0][j] = d0 - d2;
                    r[1][j] = d1 + d2;
                    r[2][j] = d2 - d1;
                    r[3][j] = d1 - d3;
                }
                for (int i = 0; i < 4; i++) {   /* v = r B */
                    v[(i * 4 + 0) * xs + c] = r[i][0] - r[i][2];
                    v[(i * 4 + 1) * xs + c] = r[i][1] + r[i][2];
                    v[(i * 4 + 2) * xs + c] = r[i][2] - r[i][1];
                    v[(i * 4 + 3) * xs + c] = r[i][1] - r[i][3];
                }
            }
        }
}

/* y = A^T m A + bias (then relu when asked) for the tiles of rows ty0..ty1; outputs of
 * tiles that reach past the edge are dropped */
WINO_CLONES static void output_tiles2(const float *restrict M, long xs, const dn_conv_geom *g,
                                      int F, int ty0, int ty1, const float *restrict bias,
                                      int relu, float *restrict out)
{
    const int TW = tiles_w(g, 2);
    long t = 0;
    for (int ty = ty0; ty < ty1; ty++)
        for (int tx = 0; tx < TW; tx++, t++) {
            const float *m = M + t * F;
            const int oy = 2 * ty, ox = 2 * tx;
            const int ny = min_i(2, g->OH - oy), nx = min_i(2, g->OW - ox);
            float *o[4];
            o[0] = out + ((long)oy * g->OW + ox) * F;
            o[1] = o[0] + F;
            o[2] = o[0] + (long)g->OW * F;
            o[3] = o[2] + F;
            float tmp[4][64];
            for (int f0 = 0; f0 < F; f0 += 64) {
                const int nf = min_i(64, F - f0), full = ny == 2 && nx == 2;
                /* whole tiles write straight to the output, edge tiles through tmp */
                float *d[4];
                for (int k = 0; k < 4; k++)
                    d[k] = full ? o[k] + f0 : tmp[k];
#pragma omp simd
                for (int f = 0; f < nf; f++) {
                    float q[2][4], y[4];
                    for (int j = 0; j < 4; j++) {
                        float m0 = m[j * xs + f0 + f], m1 = m[(4 + j) * xs + f0 + f];
                        float m2 = m[(8 + j) * xs + f0 + f], m3 = m[(12 + j) * xs + f0 + f];
                        q[0][j] = m0 + m1 + m2;
                        q[1][j] = m1 - m2 - m3;
                    }
                    for (int a = 0; a < 2; a++) {
                        y[a * 2] = q[a][0] + q[a][1] + q[a][2] + bias[f0 + f];
                        y[a * 2 + 1] = q[a][1] - q[a][2] - q[a][3] + bias[f0 + f];
                    }
                    for (int k = 0; k < 4; k++)
                        d[k][f] = relu ? (y[k] > 0.0f ? y[k] : 0.0f) : y[k];
                }
                if (!full)
                    for (int a = 0; a < ny; a++)
                        for (int b = 0; b < nx; b++)
                            memcpy(o[a * 2 + b] + f0, tmp[a * 2 + b], (size_t)nf * sizeof(float));
            }
        }
}

/* dM[xi][t][f] = (A dy A^T)[xi] for the tiles of rows ty0..ty1, dy's 2x2 blocks read as 0
 * past the edge */
WINO_CLONES static void grad_tiles2(const float *dy, const dn_conv_geom *g, int F, int ty0,
                                    int ty1, float *restrict dM, long xs, const float *zeros)
{
    const int TW = tiles_w(g, 2);
    long t = 0;
    for (int ty = ty0; ty < ty1; ty++)
        for (int tx = 0; tx < TW; tx++, t++) {
            const float *p[4];
            for (int a = 0; a < 2; a++)
                for (int b = 0; b < 2; b++) {
                    int y = 2 * ty + a, x = 2 * tx + b;
                    p[a * 2 + b] = y < g->OH && x < g->OW ? dy + ((long)y * g->OW + x) * F : zeros;
                }
            float *restrict m = dM + t * F;
#pragma omp simd
            for (int f = 0; f < F; f++) {
                /* e = A dy with A = [1 0; 1 1; 1 -1; 0 -1], then e A^T */
                float e[4][2];
                for (int b = 0; b < 2; b++) {
                    float y0 = p[b][f], y1 = p[2 + b][f];
                    e[0][b] = y0;
                    e[1][b] = y0 + y1;
                    e[2][b] = y0 - y1;
                    e[3][b] = -y1;
                }
                for (int i = 0; i < 4; i++) {
                    m[(i * 4 + 0) * xs + f] = e[i][0];
                    m[(i * 4 + 1) * xs + f] = e[i][0] + e[i][1];
                    m[(i * 4 + 2) * xs + f] = e[i][0] - e[i][1];
                    m[(i * 4 + 3) * xs + f] = -e[i][1];
                }
            }
        }
}

static void kernel_grad2(const float *dU, long cf, float *dw)
{
    for (long i = 0; i < cf; i++) {
        float u[4][4], t[3][4];
        for (int r = 0; r < 4; r++)
            for (int s = 0; s < 4; s++)
                u[r][s] = dU[(r * 4 + s) * cf + i];
        /* the adjoint of U = G g G^T: t = G^T u, then dw = t G */
        for (int s = 0; s < 4; s++) {
            t[0][s] = u[0][s] + 0.5f * (u[1][s] + u[2][s]);
            t[1][s] = 0.5f * (u[1][s] - u[2][s]);
            t[2][s] = 0.5f * (u[1][s] + u[2][s]) + u[3][s];
        }
        for (int a = 0; a < 3; a++) {
            dw[(a * 3 + 0) * cf + i] = t[a][0] + 0.5f * (t[a][1] + t[a][2]);
            dw[(a * 3 + 1) * cf + i] = 0.5f * (t[a][1] - t[a][2]);
            dw[(a * 3 + 2) * cf + i] = 0.5f * (t[a][1] + t[a][2]) + t[a][3];
        }
    }
}

/* ---------------------------------------------------------------- F(4x4, 3x3)
 * Toom-Cook matrices for the points 0, -1, 1, 1/2, -2 and infinity. Lavin & Gray's points
 * 0, 1, -1, 2, -2 make the coefficients of B^T and A^T larger, and the outputs' rounding
 * about three times larger (Barabasz et al. 2020, "Error analysis and improving the
 * accuracy of Winograd convolution for deep neural networks", measured here the same):
 *   B^T = [1 -3/2  -2  3/2   1  0;   G = [    1      0     0;   A^T = [1  1 1   1   1 0;
 *          0    1 -5/2 1/2   1  0;         -1/3    1/3  -1/3;          0 -1 1 1/2  -2 0;
 *          0   -1  1/2 5/2   1  0;          1/3    1/3   1/3;          0  1 1 1/4   4 0;
 *          0   -2   -1   2   1  0;       -16/15  -8/15 -4/15;          0 -1 1 1/8  -8 1]
 *          0  1/2   -1 -1/2  1  0;         1/15  -2/15  4/15;
 *          0    1 -3/2  -2 3/2  1]            0      0     1]
 * Each is applied along one axis of a tile, then the other, by the 1-D helpers below. */

/* r = B^T d over 6 values */
#define BT6(d, r)                                                                           \
    do {                                                                                    \
        r##0 = d##0 + d##4 - 2.0f * d##2 + 1.5f * (d##3 - d##1);                            \
        r##1 = d##1 + d##4 + 0.5f * d##3 - 2.5f * d##2;                                     \
        r##2 = d##4 - d##1 + 0.5f * d##2 + 2.5f * d##3;                                     \
        r##3 = d##4 - d##2 + 2.0f * (d##3 - d##1);                                          \
        r##4 = d##4 - d##2 + 0.5f * (d##1 - d##3);                                          \
        r##5 = d##1 + d##5 - 2.0f * d##3 + 1.5f * (d##4 - d##2);                            \
    } while (0)

/* y = A^T m over 6 values into 4 */
#define AT6(m, y)                                                                           \
    do {                                                                                    \
        const float s12_ = m##1 + m##2, d21_ = m##2 - m##1;                                 \
        y##0 = m##0 + s12_ + m##3 + m##4;                                                   \
        y##1 = d21_ + 0.5f * m##3 - 2.0f * m##4;                                            \
        y##2 = s12_ + 0.25f * m##3 + 4.0f * m##4;                                           \
        y##3 = d21_ + 0.125f * m##3 - 8.0f * m##4 + m##5;                                   \
    } while (0)

/* e = A y over 4 values into 6: the adjoint of AT6 */
#define A6(y, e)                                                                            \
    do {                                                                                    \
        const float s02_ = y##0 + y##2, s13_ = y##1 + y##3;                                 \
        e##0 = y##0;                                                                        \
        e##1 = s02_ - s13_;                                                                 \
        e##2 = s02_ + s13_;                                                                 \
        e##3 = y##0 + 0.5f * y##1 + 0.25f * y##2 + 0.125f * y##3;                           \
        e##4 = y##0 - 2.0f * y##1 + 4.0f * y##2 - 8.0f * y##3;                              \
        e##5 = y##3;                                                                        \
    } while (0)

/* u = G g over 3 values into 6 */
static void g6(const float g[3], float u[6])
{
    u[0] = g[0];
    u[1] = -(g[0] - g[1] + g[2]) / 3.0f;
    u[2] = (g[0] + g[1] + g[2]) / 3.0f;
    u[3] = -(16.0f * g[0] + 8.0f * g[1] + 4.0f * g[2]) / 15.0f;
    u[4] = (g[0] - 2.0f * g[1] + 4.0f * g[2]) / 15.0f;
    u[5] = g[2];
}

/* t = G^T u over 6 values into 3: the adjoint of g6 */
static void gt6(const float u[6], float t[3])
{
    t[0] = u[0] + (u[2] - u[1]) / 3.0f + (u[4] - 16.0f * u[3]) / 15.0f;
    t[1] = (u[1] + u[2]) / 3.0f - (8.0f * u[3] + 2.0f * u[4]) / 15.0f;
    t[2] = (u[2] - u[1]) / 3.0f + (4.0f * u[4] - 4.0f * u[3]) / 15.0f + u[5];
}

static void kernel4(const float *w, long cf, float *U)
{
    for (long i = 0; i < cf; i++) {
        float t[6][3], col[3], u[6];
        for (int b = 0; b < 3; b++) {   /* t = G g, a column of g at a time */
            for (int a = 0; a < 3; a++)
                col[a] = w[(a * 3 + b) * cf + i];
            g6(col, u);
            for (int r = 0; r < 6; r++)
                t[r][b] = u[r];
        }
        for (int r = 0; r < 6; r++) {   /* then t G^T, a row at a time */
            g6(t[r], u);
            for (int s = 0; s < 6; s++)
                U[(r * 6 + s) * cf + i] = u[s];
        }
    }
}

static void kernel_grad4(const float *dU, long cf, float *dw)
{
    for (long i = 0; i < cf; i++) {
        float t[3][6], u[6], r[3];
        for (int s = 0; s < 6; s++) {   /* t = G^T dU, a column at a time */
            for (int a = 0; a < 6; a++)
                u[a] = dU[(a * 6 + s) * cf + i];
            gt6(u, r);
            for (int a = 0; a < 3; a++)
                t[a][s] = r[a];
        }
        for (int a = 0; a < 3; a++) {   /* then t G */
            gt6(t[a], r);
            for (int b = 0; b < 3; b++)
                dw[(a * 3 + b) * cf + i] = r[b];
        }
    }
}

WINO_CLONES static void input_tiles4(const float *img, const dn_conv_geom *g, int ty0, int ty1,
                                     float *restrict V, long xs, const float *zeros)
{
    const int C = g->C, TW = tiles_w(g, 4);
    long t = 0;
    for (int ty = ty0; ty < ty1; ty++)
        for (int tx = 0; tx < TW; tx++, t++) {
            const float *p[36];
            for (int i = 0; i < 6; i++)
                for (int j = 0; j < 6; j++) {
                    int y = 4 * ty - g->PT + i, x = 4 * tx - g->PL + j;
                    p[i * 6 + j] = y >= 0 && y < g->H && x >= 0 && x < g->W
                                       ? img + ((long)y * g->W + x) * C : zeros;
                }
            float *restrict v = V + t * C;
#pragma omp simd
            for (int c = 0; c < C; c++) {
                float r[6][6];
                #pragma GCC unroll 6
                for (int j = 0; j < 6; j++) {   /* r = B^T d, a column at a time */
                    float d0 = p[j][c], d1 = p[6 + j][c], d2 = p[12 + j][c];
                    float d3 = p[18 + j][c], d4 = p[24 + j][c], d5 = p[30 + j][c];
                    float r0, r1, r2, r3, r4, r5;
                    BT6(d, r);
                    r[0][j] = r0, r[1][j] = r1, r[2][j] = r2;
                    r[3][j] = r3, r[4][j] = r4, r[5][j] = r5;
                }
                #pragma GCC unroll 6
                for (int i = 0; i < 6; i++) {   /* v = r B, a row at a time */
                    float d0 = r[i][0], d1 = r[i][1], d2 = r[i][2];
                    float d3 = r[i][3], d4 = r[i][4], d5 = r[i][5];
                    float v0, v1, v2, v3, v4, v5;
                    BT6(d, v);
                    v[(i * 6 + 0) * xs + c] = v0;
                    v[(i * 6 + 1) * xs + c] = v1;
                    v[(i * 6 + 2) * xs + c] = v2;
                    v[(i * 6 + 3) * xs + c] = v3;
                    v[(i * 6 + 4) * xs + c] = v4;
                    v[(i * 6 + 5) * xs + c] = v5;
                }
            }
        }
}

WINO_CLONES static void output_tiles4(const float *restrict M, long xs, const dn_conv_geom *g,
                                      int F, int ty0, int ty1, const float *restrict bias,
                                      int relu, float *restrict out)
{
    const int TW = tiles_w(g, 4);
    long t = 0;
    for (int ty = ty0; ty < ty1; ty++)
        for (int tx = 0; tx < TW; tx++, t++) {
            const float *m = M + t * F;
            const int oy = 4 * ty, ox = 4 * tx;
            const int ny = min_i(4, g->OH - oy), nx = min_i(4, g->OW - ox);
            const int full = ny == 4 && nx == 4;
            float *o[16];
            for (int a = 0; a < 4; a++)
                for (int b = 0; b < 4; b++)
                    o[a * 4 + b] = out + ((long)(oy + a) * g->OW + ox + b) * F;
            float tmp[16][32];
            for (int f0 = 0; f0 < F; f0 += 32) {
                const int nf = min_i(32, F - f0);
                /* whole tiles write straight to the output, edge tiles through tmp */
                float *d[16];
                for (int k = 0; k < 16; k++)
                    d[k] = full ? o[k] + f0 : tmp[k];
#pragma omp simd
                for (int f = 0; f < nf; f++) {
                    float q[4][6];
                    #pragma GCC unroll 6
                    for (int j = 0; j < 6; j++) {   /* q = A^T m, a column at a time */
                        const float *mj = m + f0 + f + j * xs;
                        float m0 = mj[0], m1 = mj[6 * xs], m2 = mj[12 * xs];
                        float m3 = mj[18 * xs], m4 = mj[24 * xs], m5 = mj[30 * xs];
                        float y0, y1, y2, y3;
                        AT6(m, y);
                        q[0][j] = y0, q[1][j] = y1, q[2][j] = y2, q[3][j] = y3;
                    }
                    const float bf = bias[f0 + f];
                    #pragma GCC unroll 6
                    for (int a = 0; a < 4; a++) {   /* then q A, a row at a time */
                        float m0 = q[a][0], m1 = q[a][1], m2 = q[a][2];
                        float m3 = q[a][3], m4 = q[a][4], m5 = q[a][5];
                        float y0, y1, y2, y3;
                        AT6(m, y);
                        y0 += bf, y1 += bf, y2 += bf, y3 += bf;
                        if (relu) {
                            y0 = y0 > 0.0f ? y0 : 0.0f;
                            y1 = y1 > 0.0f ? y1 : 0.0f;
                            y2 = y2 > 0.0f ? y2 : 0.0f;
                            y3 = y3 > 0.0f ? y3 : 0.0f;
                        }
                        d[a * 4 + 0][f] = y0;
                        d[a * 4 + 1][f] = y1;
                        d[a * 4 + 2][f] = y2;
                        d[a * 4 + 3][f] = y3;
                    }
                }
                if (!full)
                    for (int a = 0; a < ny; a++)
                        for (int b = 0; b < nx; b++)
                            memcpy(o[a * 4 + b] + f0, tmp[a * 4 + b], (size_t)nf * sizeof(float));
            }
        }
}

WINO_CLONES static void grad_tiles4(const float *dy, const dn_conv_geom *g, int F, int ty0,
                                    int ty1, float *restrict dM, long xs, const float *zeros)
{
    const int TW = tiles_w(g, 4);
    long t = 0;
    for (int ty = ty0; ty < ty1; ty++)
        for (int tx = 0; tx < TW; tx++, t++) {
            const float *p[16];
            for (int a = 0; a < 4; a++)
                for (int b = 0; b < 4; b++) {
                    int y = 4 * ty + a, x = 4 * tx + b;
                    p[a * 4 + b] = y < g->OH && x < g->OW ? dy + ((long)y * g->OW + x) * F : zeros;
                }
            float *restrict m = dM + t * F;
#pragma omp simd
            for (int f = 0; f < F; f++) {
                float e[6][4];
                #pragma GCC unroll 6
                for (int b = 0; b < 4; b++) {   /* e = A dy, a column at a time */
                    float y0 = p[b][f], y1 = p[4 + b][f], y2 = p[8 + b][f], y3 = p[12 + b][f];
                    float e0, e1, e2, e3, e4, e5;
                    A6(y, e);
                    e[0][b] = e0, e[1][b] = e1, e[2][b] = e2;
                    e[3][b] = e3, e[4][b] = e4, e[5][b] = e5;
                }
                #pragma GCC unroll 6
                for (int i = 0; i < 6; i++) {   /* then e A^T, a row at a time */
                    float y0 = e[i][0], y1 = e[i][1], y2 = e[i][2], y3 = e[i][3];
                    float e0, e1, e2, e3, e4, e5;
                    A6(y, e);
                    m[(i * 6 + 0) * xs + f] = e0;
                    m[(i * 6 + 1) * xs + f] = e1;
                    m[(i * 6 + 2) * xs + f] = e2;
                    m[(i * 6 + 3) * xs + f] = e3;
                    m[(i * 6 + 4) * xs + f] = e4;
                    m[(i * 6 + 5) * xs + f] = e5;
                }
            }
        }
}

/* ---------------------------------------------------------------- both sizes */

void dn_winograd_kernel(const float *w, int C, int F, int m, float *U)
{
    (m == 4 ? kernel4 : kernel2)(w, (long)C * F, U);
}

void dn_winograd_kernel_grad(const float *dU, int C, int F, int m, float *dw)
{
    (m == 4 ? kernel_grad4 : kernel_grad2)(dU, (long)C * F, dw);
}

/* C (M x N) = A (M x K) B (K x N), all packed */
static void product(int M, int N, int K, const float *A, const float *B, float *Cm)
{
    const dn_operand a = {A, K, 1, NULL, NULL};
    if (dn_small_sgemm(M, N, K, &a, B, Cm, 0))
        return;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, A, K, B, N, 0.0f, Cm, N);
}

/* C (M x N) += A^T B, A (K x M), all packed */
static void product_tn_add(int M, int N, int K, const float *A, const float *B, float *Cm)
{
    const dn_operand a = {A, 1, M, NULL, NULL};
    if (dn_small_sgemm(M, N, K, &a, B, Cm, 1))
        return;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, M, N, K, 1.0f, A, M, B, N, 1.0f, Cm, N);
}

void dn_winograd3x3(const float *x, const dn_conv_geom *g, int m, const float *U, int F,
                    const float *bias, dn_activation act, long b0, long b1, float *ws,
                    float *y)
{
    const int C = g->C, TW = tiles_w(g, m), TH = tiles_h(g, m), R = rows_per_chunk(g, F, m);
    const int E = dn_winograd_elems(m);
    float *V = ws, *M = V + (long)E * R * TW * C, *zeros = M + (long)E * R * TW * F;
    memset(zeros, 0, (size_t)max_i(C, F) * sizeof(float));
    for (long b = b0; b < b1; b++) {
        const float *img = x + b * g->H * g->W * C;
        float *out = y + b * g->OH * g->OW * F;
        for (int ty0 = 0; ty0 < TH; ty0 += R) {
            const int ty1 = min_i(ty0 + R, TH), T = (ty1 - ty0) * TW;
            (m == 4 ? input_tiles4 : input_tiles2)(img, g, ty0, ty1, V, (long)T * C, zeros);
            for (int xi = 0; xi < E; xi++)
                product(T, F, C, V + (long)xi * T * C, U + (long)xi * C * F, M + (long)xi * T * F);
            (m == 4 ? output_tiles4 : output_tiles2)(M, (long)T * F, g, F, ty0, ty1,
                                                     bias ? bias : zeros, act == DN_ACT_RELU, out);
            const int oy0 = m * ty0, oy1 = min_i(m * ty1, g->OH);
            if (act != DN_ACT_RELU)
                dn_act_forward(act, out + (long)oy0 * g->OW * F, (long)(oy1 - oy0) * g->OW, F);
        }
    }
}

void dn_winograd3x3_grad(const float *x, const dn_conv_geom *g, int m, const float *dy, int F,
                         long b0, long b1, float *ws, float *dU)
{
    const int C = g->C, TW = tiles_w(g, m), TH = tiles_h(g, m), R = rows_per_chunk(g, F, m);
    const int E = dn_winograd_elems(m);
    float *V = ws, *dM = V + (long)E * R * TW * C, *zeros = dM + (long)E * R * TW * F;
    memset(zeros, 0, (size_t)max_i(C, F) * sizeof(float));
    for (long b = b0; b < b1; b++) {
        const float *img = x + b * g->H * g->W * C;
        const float *d = dy + b * g->OH * g->OW * F;
        for (int ty0 = 0; ty0 < TH; ty0 += R) {
            const int ty1 = min_i(ty0 + R, TH), T = (ty1 - ty0) * TW;
            (m == 4 ? input_tiles4 : input_tiles2)(img, g, ty0, ty1, V, (long)T * C, zeros);
            (m == 4 ? grad_tiles4 : grad_tiles2)(d, g, F, ty0, ty1, dM, (long)T * F, zeros);
            for (int xi = 0; xi < E; xi++)
                product_tn_add(C, F, T, V + (long)xi * T * C, dM + (long)xi * T * F,
                               dU + (long)xi * C * F);
        }
    }
}
