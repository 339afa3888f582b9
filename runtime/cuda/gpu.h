/* gpu.h — finding a GPU. Every build has these functions: a CPU-only build answers that
 * it was built without CUDA, a CUDA build asks the driver. Nothing here aborts. */
#ifndef DN_GPU_H
#define DN_GPU_H

#include <stddef.h>

typedef struct dn_gpu_info {
    int count;            /* usable CUDA devices; 0 when none */
    char name[256];       /* device 0's name */
    size_t total_mem;     /* device 0's memory in bytes */
    int cc_major, cc_minor;
    int runtime_version;  /* CUDA runtime, e.g. 13000 */
    int cudnn_version;    /* e.g. 90100; 0 when unknown */
} dn_gpu_info;

/* 1 when this build contains the CUDA backend. */
int dn_gpu_built(void);

/* Probes once per process (later calls return the cached answer). Returns the number of
 * usable devices; when 0, why holds a sentence a person understands. */
int dn_gpu_probe(dn_gpu_info *info, char *why, size_t whylen);

/* The GPU backend's mode (the CUDA build; initialises CUDA when it has not yet).
 * fast 0: deterministic algorithms only, a re-run gives the same bits; 1: cuDNN's
 * measured fastest. tf32: TensorFloat-32 products on chips that have them (compute
 * capability 8+; on by default there, as in TensorFlow). 0 or -1 + err (no GPU). */
int dn_gpu_set_mode(int fast, int tf32, char *err, size_t errlen);
/* 1 and the mode once the GPU backend is up; 0 (nothing filled) before or without it */
int dn_gpu_mode(int *fast, int *tf32);
/* 1 and the device's free and total bytes once the backend is up; else 0 */
int dn_gpu_memory(size_t *free_bytes, size_t *total_bytes);

#endif
