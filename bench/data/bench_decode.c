/* bench_decode — single-thread decode + resize to WxH float32 (VGG preprocessing)
 * through dn_decode_resize_file, the directory source's path,
 * timed in process CPU time (the machine is shared: wall time counts neighbours),
 * the work one loader thread does per image. Prints "images/s N". Files are read
 * from disk each time (page cache), as the directory source does.
 *   bench_decode SECONDS W H FILE...  */
#include "data/image.h"
#include "data/resize.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: bench_decode SECONDS W H FILE...\n");
        return 2;
    }
    double secs = atof(argv[1]);
    int w = atoi(argv[2]), h = atoi(argv[3]), nf = argc - 4;
    char err[256];
    dn_image img = {0};
    unsigned char *fb = NULL;
    size_t fcap = 0;
    float *out = malloc(sizeof(float) * w * h * 3);
    dn_resizer *r = dn_resizer_new();
    long n = 0;
    double t0 = now(), t;
    do {
        for (int i = 0; i < nf; i++, n++) {
            if (dn_decode_resize_file(r, argv[4 + i], 0, &img, &fb, &fcap, out, w, h, DN_PRE_VGG,
                                      err, sizeof err) != 0) {
                fprintf(stderr, "%s: %s\n", argv[4 + i], err);
                return 1;
            }
        }
        t = now() - t0;
    } while (t < secs);
    printf("images/s %.1f\n", n / t);
    dn_resizer_free(r);
    dn_image_fini(&img);
    free(fb);
    free(out);
    return 0;
}
