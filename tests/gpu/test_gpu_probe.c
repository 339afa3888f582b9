/* The GPU probe answers in every build: a device, or a sentence saying why not.
 * DEEPNB_EXPECT_GPU=1 (set on a GPU machine) makes a missing device a failure. */
#include "cuda/gpu.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    dn_gpu_info info;
    char why[256];
    int n = dn_gpu_probe(&info, why, sizeof why);
    int expect = getenv("DEEPNB_EXPECT_GPU") && strcmp(getenv("DEEPNB_EXPECT_GPU"), "1") == 0;
    printf("built with CUDA: %s\n", dn_gpu_built() ? "yes" : "no");
    if (n > 0) {
        printf("devices: %d; device 0: %s, %.1f GiB, compute capability %d.%d, CUDA runtime %d, cuDNN %d\n",
               n, info.name, info.total_mem / 1073741824.0, info.cc_major, info.cc_minor,
               info.runtime_version, info.cudnn_version);
        if (info.name[0] == 0 || info.total_mem == 0 || info.cc_major < 3) {
            printf("FAIL: a device was found but its properties are empty\n");
            return 1;
        }
    } else {
        printf("no GPU: %s\n", why);
        if (why[0] == 0) { printf("FAIL: no device and no reason given\n"); return 1; }
        if (expect) { printf("FAIL: DEEPNB_EXPECT_GPU=1 but no device\n"); return 1; }
    }
    /* a second probe must give the cached, identical answer */
    dn_gpu_info again;
    if (dn_gpu_probe(&again, why, sizeof why) != n || memcmp(&again, &info, sizeof info) != 0) {
        printf("FAIL: a second probe answered differently\n");
        return 1;
    }
    printf("ok\n");
    return 0;
}
