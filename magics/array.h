/* array.h — the workspace's arrays: what %let makes, %save/%load move to and from .npy
 * files, %fit trains on and %predict produces.
 *
 * An array has up to 4 axes and one element type. Numbers are stored as float32 whatever
 * their type (the runtime computes in float32); the type says how they print and save:
 * DN_DT_INT holds whole numbers (argmax, class indices), DN_DT_BOOL 0 or 1 (comparisons).
 * Strings (file names, class names) are DN_DT_STR, one malloc'd UTF-8 string per element.
 *
 * Predictions (%predict … as=NAME) are arrays too (n rows of class probabilities) with
 * what is known about each row: its file name, its true class, the class names and the
 * folder the files are in, so that later commands (%plots, %submit, %confusion_matrix)
 * can show images and titles. Their workspace type is "predictions"; everything that
 * takes an array takes them. Arithmetic on them gives plain arrays. */
#ifndef DN_ARRAY_H
#define DN_ARRAY_H

#include "workspace.h"

#include <jansson.h>
#include <stddef.h>

#define DN_ARRAY_MAXDIM 4

typedef enum dn_dtype {
    DN_DT_FLOAT = 0,
    DN_DT_INT,
    DN_DT_BOOL,
    DN_DT_STR,
} dn_dtype;

typedef struct dn_array {
    dn_dtype dtype;
    int ndim;                       /* 0 (a scalar) to 4 */
    long shape[DN_ARRAY_MAXDIM];    /* shape[ndim..] are 1 */
    long size;                      /* product of the shape (1 for a scalar) */
    float *data;                    /* numeric types: size values, row-major; else NULL */
    char **strs;                    /* DN_DT_STR: size strings; else NULL */

    /* Predictions only (all NULL / 0 / -1 otherwise): per row (shape[0]) */
    char **filenames;               /* relative to dir, e.g. "unknown/9292.png", or NULL */
    int *labels;                    /* true class index of each row, or NULL when unknown */
    int nclasses;                   /* class names known: class_names[0..nclasses-1] */
    char **class_names;
    char *dir;                      /* folder the file names are relative to, or NULL */
    int width, height, channels;    /* image size the model saw (0 when not images) */
    int preprocess;                 /* dn_preprocess the images were given (data/resize.h) */
} dn_array;

/* "array" and "predictions" */
extern const dn_type dn_array_type;
extern const dn_type dn_preds_type;

/* A new zero-filled array (strings: empty strings). NULL + err on a bad shape or no
 * memory. shape may be NULL when ndim is 0. */
dn_array *dn_array_new(dn_dtype dtype, int ndim, const long *shape, char *err, size_t errlen);
/* A deep copy, metadata included. NULL on no memory. */
dn_array *dn_array_copy(const dn_array *a);
void dn_array_free(dn_array *a);

/* The array (or predictions) named name, borrowed; NULL with a message otherwise ("no
 * name 'x' in the workspace (see %who)", "'m' is a model, not an array"). */
const dn_array *dn_array_get(const dn_workspace *ws, const char *name, char *err,
                             size_t errlen);
/* Stores a under name as an array (or as predictions when is_preds), taking ownership;
 * on error a is still the caller's. */
int dn_array_set(dn_workspace *ws, const char *name, dn_array *a, int is_preds,
                 char *err, size_t errlen);

/* "(30, 2)" as NumPy prints shapes ("(30,)" for one axis, "()" for a scalar) */
void dn_array_shape_str(const dn_array *a, char *buf, size_t len);

/* NumPy's repr: array([[0.5488135 , 0.71518934], ...], dtype=float32), summarised with
 * ... past 1000 elements as NumPy does; a scalar prints as a number. Caller frees. */
char *dn_array_repr(const dn_array *a);
/* What a line that is only the array's name shows: text/plain the repr; text/html a table
 * for 1-D and 2-D arrays (summarised past 20 rows/columns), with the shape stated. New
 * reference. */
json_t *dn_array_bundle(const dn_array *a);

/* .npy files (runtime/io/npy.h): floats as float32, INT as int64, BOOL as bool, STR as a
 * unicode array. Atomic writes. 0 or -1 + err. */
int dn_array_save_npy(const dn_array *a, const char *path, char *err, size_t errlen);
/* Loads any numeric .npy (as float32, INT for integer dtypes, BOOL for bool) or a 1-D
 * string array. NULL + err. */
dn_array *dn_array_load_npy(const char *path, char *err, size_t errlen);

#endif
