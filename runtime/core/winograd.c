/* winograd.c — 3x3 stride-1 convolutions by Winograd's F(2x2, 3x3) (Lavin & Gray 2015):
 * each 2x2 block of outputs comes from a 4x4 block of inputs with 16 multiplies per
 * (input, output) channel pair instead of 36. Per chunk of tiles that is 16 products of
 * (tiles x C) by (C x F) matrices instead of one of (pixels x 9C) by (9C x F): 2.25 times
 * fewer multiply-adds, for transforms of inputs and outputs that run across channels
 * (contiguous in NHWC) and vectorise. */
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

static int tiles_w(const dn_conv_geom *g) { return (g->OW + 1) / 2; }
static int tiles_h(const dn_conv_geom *g) { return (g->OH + 1) / 2; }
static int max_i(int a, int b) { return a > b ? a : b; }
static int min_i(int a, int b) { return a < b ? a : b; }

/* tile rows per chunk: whole rows, so a chunk's outputs are one contiguous run */
static int rows_per_chunk(const dn_conv_geom *g, int F)
{
    long r = WINO_CHUNK_FLOATS / (16L * tiles_w(g) * (g->C + F));
    return (int)(r < 1 ? 1 : r < tiles_h(g) ? r : tiles_h(g));
}

long dn_winograd_workspace(const dn_conv_geom *g, int F)
{
    return 16L * rows_per_chunk(g, F) * tiles_w(g) * (g->C + F) + max_i(g->C, F);
}

void dn_winograd_kernel(const float *w, int C, int F, float *U)
{
    const long cf = (long)C * F;
    for (long i = 0; i < cf; i++) {
        float g[3][3], t[4][3];
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 3; b++)
                g[a][b] = w[(a * 3 + b) * cf + i];
        /* t = G g, then u = t G^T, G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1] */
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
WINO_CLONES static void input_tiles(const float *img, const dn_conv_geom *g, int ty0, int ty1,
                        float *restrict V, long xs, const float *zeros)
{
    const int C = g->C, TW = tiles_w(g);
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
                /* r = B^T d, B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1] */
                for (int j = 0; j < 4; j++) {
                    float d0 = p[j][c], d1 = p[4 + j][c], d2 = p[8 + j][c], d3 = p[12 + j][c];
                    r[0][j] = d0 - d2;
                    r[1][j] = d1 + d2;
                    r[2][j] = d2 - d1;
                    r[3][j] = d1 - d3;
                }
                for (int i = 0; i < 4; i++) {
                    v[(i * 4 + 0) * xs + c] = r[i][0] - r[i][2];
                    v[(i * 4 + 1) * xs + c] = r[i][1] + r[i][2];
                    v[(i * 4 + 2) * xs + c] = r[i][2] - r[i][1];
                    v[(i * 4 + 3) * xs + c] = r[i][1] - r[i][3];
                }
            }
        }
}

/* y = A^T m A + bias (then relu when asked) for the tiles of rows ty0..ty1,
 * A^T = [1 1 1 0; 0 1 -1 -1]; outputs of tiles that reach past the edge are dropped */
WINO_CLONES static void output_tiles(const float *restrict M, long xs, const dn_conv_geom *g,
                                     int F, int ty0, int ty1, const float *restrict bias,
                                     int relu, float *restrict out)
{
    const int TW = tiles_w(g);
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

void dn_winograd3x3(const float *x, const dn_conv_geom *g, const float *U, int F,
                    const float *bias, dn_activation act, long b0, long b1, float *ws,
                    float *y)
{
    const int C = g->C, TW = tiles_w(g), TH = tiles_h(g), R = rows_per_chunk(g, F);
    float *V = ws, *M = V + 16L * R * TW * C, *zeros = M + 16L * R * TW * F;
    memset(zeros, 0, (size_t)max_i(C, F) * sizeof(float));
    for (long b = b0; b < b1; b++) {
        const float *img = x + b * g->H * g->W * C;
        float *out = y + b * g->OH * g->OW * F;
        for (int ty0 = 0; ty0 < TH; ty0 += R) {
            const int ty1 = min_i(ty0 + R, TH), T = (ty1 - ty0) * TW;
            input_tiles(img, g, ty0, ty1, V, (long)T * C, zeros);
            for (int xi = 0; xi < 16; xi++)
                product(T, F, C, V + (long)xi * T * C, U + (long)xi * C * F, M + (long)xi * T * F);
            output_tiles(M, (long)T * F, g, F, ty0, ty1, bias ? bias : zeros, act == DN_ACT_RELU,
                         out);
            const int oy0 = 2 * ty0, oy1 = min_i(2 * ty1, g->OH);
            if (act != DN_ACT_RELU)
                dn_act_forward(act, out + (long)oy0 * g->OW * F, (long)(oy1 - oy0) * g->OW, F);
        }
    }
}

/* dM[xi][t][f] = (A dy A^T)[xi] for the tiles of rows ty0..ty1, dy's 2x2 blocks read as 0
 * past the edge */
WINO_CLONES static void grad_tiles(const float *dy, const dn_conv_geom *g, int F, int ty0, int ty1,
                       float *restrict dM, long xs, const float *zeros)
{
    const int TW = tiles_w(g);
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

void dn_winograd3x3_grad(const float *x, const dn_conv_geom *g, const float *dy, int F,
                         long b0, long b1, float *ws, float *dU)
{
    const int C = g->C, TW = tiles_w(g), TH = tiles_h(g), R = rows_per_chunk(g, F);
    float *V = ws, *dM = V + 16L * R * TW * C, *zeros = dM + 16L * R * TW * F;
    memset(zeros, 0, (size_t)max_i(C, F) * sizeof(float));
    for (long b = b0; b < b1; b++) {
        const float *img = x + b * g->H * g->W * C;
        const float *d = dy + b * g->OH * g->OW * F;
        for (int ty0 = 0; ty0 < TH; ty0 += R) {
            const int ty1 = min_i(ty0 + R, TH), T = (ty1 - ty0) * TW;
            input_tiles(img, g, ty0, ty1, V, (long)T * C, zeros);
            grad_tiles(d, g, F, ty0, ty1, dM, (long)T * F, zeros);
            for (int xi = 0; xi < 16; xi++)
                product_tn_add(C, F, T, V + (long)xi * T * C, dM + (long)xi * T * F,
                               dU + (long)xi * C * F);
        }
    }
}

void dn_winograd_kernel_grad(const float *dU, int C, int F, float *dw)
{
    const long cf = (long)C * F;
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
