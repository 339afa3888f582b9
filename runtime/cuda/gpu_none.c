/* The CPU-only build's answers: no GPU path exists, said plainly. */
#include "cuda/gpu.h"
#include "core/backend.h"
#include "core/status.h"
#include <stdio.h>
#include <string.h>

int dn_gpu_built(void) { return 0; }

int dn_gpu_probe(dn_gpu_info *info, char *why, size_t whylen)
{
    if (info) memset(info, 0, sizeof *info);
    if (why && whylen) snprintf(why, whylen, "deepnb was built without CUDA; computing on the CPU.");
    return 0;
}

const dn_backend *dn_backend_cuda(char *err, size_t errlen)
{
    dn_seterr(err, errlen, "deepnb was built without CUDA, so it computes on the CPU only");
    return NULL;
}

int dn_gpu_set_mode(int fast, int tf32, char *err, size_t errlen)
{
    (void)fast;
    (void)tf32;
    return dn_backend_cuda(err, errlen) ? DN_OK : DN_ERROR;
}

int dn_gpu_mode(int *fast, int *tf32)
{
    (void)fast;
    (void)tf32;
    return 0;
}

int dn_gpu_memory(size_t *free_bytes, size_t *total_bytes)
{
    (void)free_bytes;
    (void)total_bytes;
    return 0;
}
