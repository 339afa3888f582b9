/* fashion.h — the offline stand-in for Kaggle's Dogs vs Cats Redux, made from Debian's
 * dataset-fashion-mnist (IDX files) and laid out as the competition ships:
 *   OUT/train/sneaker.<n>.png, OUT/train/boot.<n>.png   the training split's two classes
 *   OUT/test/<id>.png                                   the test split's, unlabelled, mixed
 *                                                       in a fixed order, ids from 1
 *   OUT/sample_submission.csv                           id,label (0.5 each)
 *   OUT/solution.csv                                    id,label (1 = sneaker)
 * and the other eight classes for pre-training, laid out for flow_from_directory:
 *   OUT/pretrain/{train,valid}/<class>/<index>.png      train / test splits
 * Every run writes the same bytes. The folder is made beside OUT under another name and
 * renamed into place when complete: a failed or stopped run leaves nothing behind. */
#ifndef DN_DATA_FASHION_H
#define DN_DATA_FASHION_H

#include <stddef.h>

#define DN_FASHION_SOURCE "/usr/share/datasets/fashion-mnist"

typedef struct dn_fashion_options {
    const char *out;        /* the folder to make; must not exist */
    const char *source;     /* the IDX files; NULL: DN_FASHION_SOURCE */
    long limit;             /* at most this many images per class in each split; < 0: all */
    int pretrain;           /* 1: also pretrain/ (the eight other classes) */
    int threads;            /* PNG writers; 0: one per online CPU (at most 64) */
    /* called about ten times a second with the files written so far; non-zero stops */
    int (*progress)(void *ctx, long done, long total);
    void *progress_ctx;
} dn_fashion_options;

typedef struct dn_fashion_result {
    long train, test;                 /* competition images: train/ and test/ */
    long pretrain_train, pretrain_valid;
} dn_fashion_result;

/* Fills *o with the defaults above for out. */
void dn_fashion_options_init(dn_fashion_options *o, const char *out);

/* Makes the set. 0; 1 when progress asked to stop (nothing left behind); -1 + err
 * ("... is Debian's dataset-fashion-mnist installed?", a full disk, out exists). */
int dn_fashion_make(const dn_fashion_options *o, dn_fashion_result *r, char *err, size_t errlen);

/* Removes a folder and everything below it, links not followed (for a folder this
 * module made). 0 or -1 + err. */
int dn_remove_tree(const char *path, char *err, size_t errlen);

#endif
