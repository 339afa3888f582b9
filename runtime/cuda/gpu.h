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

#endif
