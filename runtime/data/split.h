/* split.h — the engine of %split: Jeremy's process (LESSON.md §1.1) on a folder laid
 * out as Kaggle ships Dogs vs Cats (DIR/train/cat.0.jpg ..., DIR/test/1.jpg ...):
 *   make valid/, results/, sample/{train,valid,test,results}, test/unknown/;
 *   shuffle the files of train/ (seeded) and move the first `valid` files into valid/;
 *   copy `sample_train` random training files into sample/train/ and `sample_valid`
 *   random validation files into sample/valid/;
 *   in train, valid, sample/train and sample/valid, one folder per class named after
 *   the file-name prefix (cat.1.jpg -> cat/), files moved in;
 *   move the files of test/ into test/unknown/.
 * Files go straight to their final folder (the same end result as moving them twice).
 * Safety: the whole plan is written first to DIR/.deepnb-split.journal (atomically);
 * moves are rename(2) that never replace a file, copies are written to a temporary
 * name, synced, then renamed. If anything fails part-way, the error says what was
 * done, and calling dn_split again with the same options finishes the plan exactly
 * (each step knows whether it is done by looking at the files). The journal is
 * removed when the plan is complete. */
#ifndef DN_DATA_SPLIT_H
#define DN_DATA_SPLIT_H

#include <stddef.h>
#include <stdint.h>

typedef struct dn_split_options {
    const char *dir;
    long valid;              /* 2000 */
    long sample_train;       /* 200 */
    long sample_valid;       /* 50 */
    uint64_t seed;           /* the language's %seed */
    /* Called before each step (done of total); non-zero stops the split there, like
     * an error (e.g. a kernel interrupt). Optional. */
    int (*progress)(void *ctx, long done, long total);
    void *progress_ctx;
} dn_split_options;

/* the rows of the result table */
enum { DN_SPLIT_TRAIN, DN_SPLIT_VALID, DN_SPLIT_SAMPLE_TRAIN, DN_SPLIT_SAMPLE_VALID,
       DN_SPLIT_TEST, DN_SPLIT_FOLDERS };

typedef struct dn_split_result {
    int nclasses;
    char **classes;          /* sorted class names (the train/ sub-folders) */
    long *counts;            /* DN_SPLIT_FOLDERS x nclasses files, counted on disk */
    long totals[DN_SPLIT_FOLDERS];   /* test/unknown has only a total */
    int resumed;             /* 1 when an interrupted split was finished */
    char message[512];       /* one paragraph saying what was done */
} dn_split_result;

void dn_split_options_init(dn_split_options *o, const char *dir);
/* "train", "valid", "sample/train", "sample/valid", "test/unknown" */
const char *dn_split_folder_name(int folder);

/* 0 with *res filled (free with dn_split_result_fini), or -1 with err. Refuses to
 * touch a folder that already has the layout (and names what exists). */
int dn_split(const dn_split_options *o, dn_split_result *res, char *err, size_t errlen);
void dn_split_result_fini(dn_split_result *res);

/* Before calling dn_split, so a caller can tell its cases apart:
 * dn_split_pending: 1 when DIR holds the journal of an unfinished split (its options,
 * seed included, are copied into *recorded; dir is left NULL, progress untouched),
 * 0 when not, -1 with err when the journal is damaged or DIR cannot be opened.
 * dn_split_existing: 1 with the message dn_split would refuse with when DIR already has
 * (part of) the layout and no journal, 0 when not, -1 with err when DIR cannot be opened. */
int dn_split_pending(const char *dir, dn_split_options *recorded, char *err, size_t errlen);
int dn_split_existing(const char *dir, char *err, size_t errlen);

/* The table as aligned plain text; returns the length written (truncated to n). */
size_t dn_split_format(const dn_split_result *res, char *buf, size_t n);

#endif
