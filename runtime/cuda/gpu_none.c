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
