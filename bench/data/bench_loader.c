/* bench_loader — the directory source's delivered images/s, alone and in front of a
 * consumer that spends WORK_MS of CPU per batch (a stand-in for a training step).
 * Prints the rate, and the share of the consumer's time spent waiting in next().
 *   bench_loader DIR SECONDS WORK_MS [WORKERS]  */
#include "data/dirsource.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static double process_cpu(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: bench_loader DIR SECONDS WORK_MS [WORKERS]\n");
        return 2;
    }
    double secs = atof(argv[2]), work = atof(argv[3]) / 1000;
    dn_dir_options o;
    dn_dir_options_init(&o, argv[1]);
    o.preprocess = DN_PRE_VGG;
    o.seed = 1;
    o.workers = argc > 4 ? atoi(argv[4]) : 0;
    dn_dir_source *s;
    char err[512];
    if (dn_dir_source_new(&o, &s, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    dn_batch_source *b = dn_dir_source_base(s);
    dn_batch bt;
    long images = 0;
    double waited = 0, t0 = now(), t, p0 = process_cpu(), busy = 0;
    volatile float sink = 0;
    do {
        double w0 = now();
        int r = b->ops->next(b, &bt, err, sizeof err);
        if (r == 0) {
            b->ops->reset(b, err, sizeof err);
            r = b->ops->next(b, &bt, err, sizeof err);
        }
        waited += now() - w0;
        if (r != 1) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        images += bt.n;
        /* the "training step": touch the batch, then burn CPU for WORK_MS */
        double c0 = cpu_now();
        for (long i = 0; i < (long)bt.n * 224 * 224 * 3; i += 4096)
            sink += bt.x[i];
        while (cpu_now() - c0 < work)
            sink += 1;
        busy += cpu_now() - c0;
        t = now() - t0;
    } while (t < secs);
    double loader_cpu = process_cpu() - p0 - busy;
    printf("delivered %.1f images/s, consumer waited %.0f%% of the time, loader CPU "
           "%.2f ms/image\n", images / t, 100 * waited / t, 1000 * loader_cpu / images);
    dn_dir_source_free(s);
    return 0;
}
