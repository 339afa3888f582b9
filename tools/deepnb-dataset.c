/* deepnb-dataset — the offline stand-in for Kaggle's Dogs vs Cats Redux from Debian's
 * dataset-fashion-mnist, from the command line (the cell language's %dataset does the
 * same): runtime/data/fashion.h says what it lays out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dn_config.h"
#include "data/fashion.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: deepnb-dataset fashion-mnist OUTDIR [--source DIR] [--limit N]\n"
            "                      [--no-pretrain] [--threads N]\n"
            "Lays Fashion-MNIST's sneakers and ankle boots out like Kaggle's Dogs vs Cats\n"
            "(train/sneaker.N.png, train/boot.N.png, test/N.png, sample_submission.csv,\n"
            "solution.csv) and its other eight classes in pretrain/{train,valid}/<class>/.\n"
            "  --source DIR   the IDX files (default " DN_FASHION_SOURCE ")\n"
            "  --limit N      at most N images per class in each split (quick tests)\n"
            "  --no-pretrain  skip pretrain/\n"
            "  --threads N    PNG writers (default: online CPUs)\n");
}

int main(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage(stdout);
        return 0;
    }
    if (argc >= 2 && !strcmp(argv[1], "--version")) {
        printf("deepnb-dataset %s\n", DN_VERSION);
        return 0;
    }
    if (argc < 3 || strcmp(argv[1], "fashion-mnist") != 0) {
        usage(stderr);
        return 2;
    }
    dn_fashion_options o;
    dn_fashion_options_init(&o, argv[2]);
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "--source") && i + 1 < argc)
            o.source = argv[++i];
        else if (!strcmp(argv[i], "--limit") && i + 1 < argc)
            o.limit = strtol(argv[++i], NULL, 10) > 0 ? strtol(argv[i], NULL, 10) : 0;
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            o.threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--no-pretrain"))
            o.pretrain = 0;
        else {
            fprintf(stderr, "deepnb-dataset: unknown option %s\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (o.limit == 0) {
        fprintf(stderr, "deepnb-dataset: --limit needs a number of images, 1 or more\n");
        return 2;
    }
    char err[1024];
    dn_fashion_result r;
    if (dn_fashion_make(&o, &r, err, sizeof err) != 0) {
        fprintf(stderr, "deepnb-dataset: %s\n", err);
        return 1;
    }
    printf("deepnb-dataset: wrote %ld images to %s (train/ and test/: sneaker vs boot, %ld test "
           "images; pretrain/: %s)\n", r.train + r.test + r.pretrain_train + r.pretrain_valid,
           o.out, r.test, o.pretrain ? "8 classes" : "skipped");
    return 0;
}
