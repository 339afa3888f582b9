/* cpu.h — the CPU backend's shared pieces: OpenBLAS set to the machine's cores, and the
 * NHWC im2col/col2im that turn convolutions into one sgemm per chunk of output pixels. */
#ifndef DN_CPU_H
#define DN_CPU_H

/* Sets OpenBLAS to the online cores (sysconf) once; later calls do nothing. */
void dn_cpu_init(void);
int dn_cpu_threads(void);

typedef struct dn_conv_geom {
    int H, W, C;          /* input per example */
    int KH, KW, SH, SW;
    int PT, PL;           /* padding before (top, left); the rest of 'same' goes after */
    int OH, OW;
} dn_conv_geom;

/* Rows p0..p1 of the (n*OH*OW, KH*KW*C) patch matrix, in (kh, kw, c) order so that an
 * HWIO kernel is its (KH*KW*C, O) right-hand side. Padding reads as 0. */
void dn_im2col_nhwc(const float *x, const dn_conv_geom *g, long p0, long p1, float *cols);
/* Adds the patch-matrix rows p0..p1 back into dx (the transpose of dn_im2col_nhwc). */
void dn_col2im_nhwc(const float *cols, const dn_conv_geom *g, long p0, long p1, float *dx);

#endif
