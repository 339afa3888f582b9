#include "cpu.h"

#include <cblas.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int nthreads = 1;

static void init_once(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    nthreads = n > 0 ? (int)n : 1;
    openblas_set_num_threads(nthreads);
}

void dn_cpu_init(void)
{
    pthread_once(&once, init_once);
}

int dn_cpu_threads(void)
{
    dn_cpu_init();
    return nthreads;
}

void dn_im2col_nhwc(const float *x, const dn_conv_geom *g, long p0, long p1, float *cols)
{
    const long per_img = (long)g->OH * g->OW;
    const long K = (long)g->KH * g->KW * g->C;
    const size_t crow = (size_t)g->C * sizeof(float);
    for (long p = p0; p < p1; p++) {
        long n = p / per_img, r = p % per_img;
        int oh = (int)(r / g->OW), ow = (int)(r % g->OW);
        const float *img = x + n * (long)g->H * g->W * g->C;
        float *row = cols + (p - p0) * K;
        for (int kh = 0; kh < g->KH; kh++) {
            int ih = oh * g->SH - g->PT + kh;
            if (ih < 0 || ih >= g->H) {
                memset(row, 0, crow * (size_t)g->KW);
                row += (long)g->KW * g->C;
                continue;
            }
            int iw0 = ow * g->SW - g->PL;
            if (iw0 >= 0 && iw0 + g->KW <= g->W) {
                /* the whole kernel row is inside: one contiguous run of KW*C floats */
                memcpy(row, img + ((long)ih * g->W + iw0) * g->C, crow * (size_t)g->KW);
                row += (long)g->KW * g->C;
                continue;
            }
            for (int kw = 0; kw < g->KW; kw++, row += g->C) {
                int iw = iw0 + kw;
                if (iw < 0 || iw >= g->W)
                    memset(row, 0, crow);
                else
                    memcpy(row, img + ((long)ih * g->W + iw) * g->C, crow);
            }
        }
    }
}

void dn_col2im_nhwc(const float *cols, const dn_conv_geom *g, long p0, long p1, float *dx)
{
    const long per_img = (long)g->OH * g->OW;
    const long K = (long)g->KH * g->KW * g->C;
    const int C = g->C;
    for (long p = p0; p < p1; p++) {
        long n = p / per_img, r = p % per_img;
        int oh = (int)(r / g->OW), ow = (int)(r % g->OW);
        float *img = dx + n * (long)g->H * g->W * C;
        const float *row = cols + (p - p0) * K;
        for (int kh = 0; kh < g->KH; kh++) {
            int ih = oh * g->SH - g->PT + kh;
            if (ih < 0 || ih >= g->H) {
                row += (long)g->KW * C;
                continue;
            }
            for (int kw = 0; kw < g->KW; kw++, row += C) {
                int iw = ow * g->SW - g->PL + kw;
                if (iw < 0 || iw >= g->W)
                    continue;
                float *dst = img + ((long)ih * g->W + iw) * C;
                for (int c = 0; c < C; c++)
                    dst[c] += row[c];
            }
        }
    }
}
