// The CUDA build's device discovery. Failures (no driver, no device) are answers, not
// crashes: the caller falls back to the CPU and says why once.
extern "C" {
#include "cuda/gpu.h"
}
#include <cuda_runtime.h>
#include <cudnn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_once_t probe_once = PTHREAD_ONCE_INIT;
static dn_gpu_info probed;
static char probe_why[256];

static void probe(void)
{
    memset(&probed, 0, sizeof probed);
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess || n <= 0) {
        snprintf(probe_why, sizeof probe_why, "no usable GPU (%s); computing on the CPU.",
                 e != cudaSuccess ? cudaGetErrorString(e) : "no CUDA device found");
        cudaGetLastError(); // clear the sticky error so later calls start clean
        return;
    }
    cudaDeviceProp p;
    if (cudaGetDeviceProperties(&p, 0) != cudaSuccess) {
        snprintf(probe_why, sizeof probe_why, "the GPU did not answer a properties query; computing on the CPU.");
        return;
    }
    probed.count = n;
    snprintf(probed.name, sizeof probed.name, "%s", p.name);
    probed.total_mem = p.totalGlobalMem;
    probed.cc_major = p.major;
    probed.cc_minor = p.minor;
    cudaRuntimeGetVersion(&probed.runtime_version);
    probed.cudnn_version = (int)cudnnGetVersion();
}

extern "C" int dn_gpu_built(void) { return 1; }

extern "C" int dn_gpu_probe(dn_gpu_info *info, char *why, size_t whylen)
{
    pthread_once(&probe_once, probe);
    if (info) *info = probed;
    if (why && whylen) snprintf(why, whylen, "%s", probed.count ? "" : probe_why);
    return probed.count;
}
