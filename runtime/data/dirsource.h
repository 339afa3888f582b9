/* dirsource.h — images in DIR/<class>/... as a batch source, with Keras'
 * flow_from_directory semantics:
 *  - classes are the sorted names of DIR's sub-folders (hidden ones such as
 *    .ipynb_checkpoints are ignored, unlike Keras); a class's index is its position;
 *  - files .jpg .jpeg .png .bmp (any case) anywhere under a class folder, ordered by
 *    class, then folder path, then file name (byte order): that is the unshuffled
 *    order, and batch ids are positions in it;
 *  - labels are one-hot (y_dim = classes), or absent with DN_CLASS_NONE (a folder of
 *    unlabelled images such as test/unknown, for prediction);
 *  - shuffled sources draw a new order every epoch from (seed, epoch number), so a run
 *    repeats exactly; the last batch of an epoch may be short.
 * Unreadable files are found when the folder is scanned: each file's header and end
 * marker are checked (dn_image_probe), failures are skipped with a warning naming
 * the file and counted. A full decode of every file at that time would cost as much
 * as an epoch, so damage in the middle of a file is found when it is first decoded:
 * the file is then left out for good (a warning names it, its batch comes one short,
 * and the epochs planned afterwards do not hold it; count and batches say how many
 * examples and batches the current epoch has as now known). A decode that fails for
 * a reason that may pass (out of memory, a failing read: dn_image_error_transient) is
 * tried again, five times in all with growing pauses (under a second in all), and
 * never remembered; if it still fails, next() returns the error and the batch counts
 * as served. No image is ever delivered black in place of a file. Images are decoded
 * by worker threads into a bounded ring of batches: memory is (prefetch + 1) batches
 * whatever the folder's size. */
#ifndef DN_DATA_DIRSOURCE_H
#define DN_DATA_DIRSOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "batches.h"
#include "data/resize.h"

typedef enum dn_class_mode {
    DN_CLASS_CATEGORICAL = 0,   /* y one-hot */
    DN_CLASS_NONE,              /* y NULL (prediction) */
} dn_class_mode;

/* Receives one warning (a whole sentence naming the file). Scan warnings arrive
 * during dn_dir_source_new, decode warnings during next(), always on the caller's
 * thread. */
typedef void (*dn_warn_fn)(void *ctx, const char *msg);

typedef struct dn_dir_options {
    const char *dir;
    int width, height;          /* target size (224 x 224) */
    int batch_size;             /* 64 */
    int shuffle;                /* 1 */
    uint64_t seed;              /* the language's %seed */
    dn_class_mode class_mode;   /* categorical */
    dn_preprocess preprocess;   /* none (0..255 RGB) */
    int channels;               /* 3: RGB; 1: grayscale, L = 0.299 R + 0.587 G + 0.114 B
                                   (Pillow's convert('L'), Keras' color_mode='grayscale');
                                   vgg preprocessing needs RGB */
    int workers;                /* decoding threads; 0: one per online CPU (at most 16) */
    int prefetch;               /* batches decoded ahead of the one being used (2) */
    int exact;                  /* 1: full RGB decode, no DCT scaling (pixels as Pillow's resize) */
    dn_warn_fn warn;
    void *warn_ctx;
} dn_dir_options;

typedef struct dn_dir_source dn_dir_source;

/* Fills *o with the defaults above for dir. */
void dn_dir_options_init(dn_dir_options *o, const char *dir);

/* Scans the folder and starts the workers. 0 or -1 with err (missing or empty folder,
 * no class folders, no readable images, bad options). */
int dn_dir_source_new(const dn_dir_options *o, dn_dir_source **out, char *err, size_t errlen);

/* The batch-source view (free it through ops->free or dn_dir_source_free). */
dn_batch_source *dn_dir_source_base(dn_dir_source *s);
/* The directory source behind a batch source, or NULL if it is another kind. */
dn_dir_source *dn_dir_source_of(dn_batch_source *b);
void dn_dir_source_free(dn_dir_source *s);

/* "Found N images belonging to K classes." plus, when files were skipped, a second
 * line "Skipped S files that are not readable images (see the warnings)." */
const char *dn_dir_source_message(const dn_dir_source *s);

long dn_dir_source_count(const dn_dir_source *s);
int dn_dir_source_num_classes(const dn_dir_source *s);
const char *dn_dir_source_class_name(const dn_dir_source *s, int k);
/* relative file name in the unshuffled order, e.g. "unknown/9292.png" */
const char *dn_dir_source_filename(const dn_dir_source *s, long i);
/* class index of example i (Keras' classes[i]) */
int dn_dir_source_label(const dn_dir_source *s, long i);
const char *dn_dir_source_dir(const dn_dir_source *s);
const dn_dir_options *dn_dir_source_options(const dn_dir_source *s);
/* files skipped at scan time */
long dn_dir_source_skipped(const dn_dir_source *s);
/* files found at decode time that cannot be decoded: left out of every batch since */
long dn_dir_source_left_out(dn_dir_source *s);
/* whether file i (in the unshuffled order) is left out */
int dn_dir_source_is_left_out(dn_dir_source *s, long i);
/* "2 files could not be decoded and were left out: cat/1.jpg, dog/7.jpg" (the first ten
 * names, then "and N more") in buf, "" when none; returns how many are left out */
long dn_dir_source_left_out_text(dn_dir_source *s, char *buf, size_t len);
/* decodes tried again after a failure that may pass (out of memory, a failing read) */
long dn_dir_source_retries(dn_dir_source *s);
/* images decoded since creation (for tests of the prefetch bound) */
long dn_dir_source_images_decoded(dn_dir_source *s);

#endif
