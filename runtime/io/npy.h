/* npy.h — NumPy .npy files (format versions 1.0, 2.0, 3.0): arrays of up to 4 dimensions
 * for predictions, features and labels, and 1-D arrays of strings for file names, so
 * that a later session (or numpy.load) picks them up. Writes are atomic: a temporary
 * file beside the target, fsync, rename; on failure an existing file is untouched.
 * Functions return 0, or -1 with a message in err naming the file and the reason. */
#ifndef DN_NPY_H
#define DN_NPY_H

#include <stddef.h>

#define DN_NPY_MAXDIM 4

typedef enum dn_npy_dtype {
    DN_NPY_F32,     /* float    '<f4' */
    DN_NPY_F64,     /* double   '<f8' */
    DN_NPY_I8,      /* int8_t   '|i1' */
    DN_NPY_I16,     /* int16_t  '<i2' */
    DN_NPY_I32,     /* int32_t  '<i4' */
    DN_NPY_I64,     /* int64_t  '<i8' */
    DN_NPY_U8,      /* uint8_t  '|u1' */
    DN_NPY_BOOL,    /* uint8_t holding 0 or 1, '|b1' */
} dn_npy_dtype;

/* Saves a float32 array of ndim (0 to 4) dimensions, C order. */
int dn_npy_save(const char *path, const float *data, int ndim, const long *shape,
                char *err, size_t errlen);

/* Saves an array whose elements have the C type of dtype (e.g. int64_t labels). */
int dn_npy_save_as(const char *path, dn_npy_dtype dtype, const void *data, int ndim,
                   const long *shape, char *err, size_t errlen);

/* Loads a numeric array (float16/32/64, int8/16/32/64, uint8/16/32/64, bool; either byte
 * order; C or Fortran order) as float32 in C order. *data is malloc'd (free() it);
 * shape[ndim..3] are set to 1. Integers beyond 2^24 lose precision, as float32 does. */
int dn_npy_load(const char *path, float **data, int *ndim, long shape[DN_NPY_MAXDIM],
                char *err, size_t errlen);

/* Saves n UTF-8 strings as a 1-D numpy unicode array ('<U<longest>'). */
int dn_npy_save_strings(const char *path, const char *const *strs, long n,
                        char *err, size_t errlen);

/* Loads a 1-D array of unicode ('U') or byte ('S') strings as UTF-8 strings. Free with
 * dn_npy_strings_free. */
int dn_npy_load_strings(const char *path, char ***strs, long *n, char *err, size_t errlen);
void dn_npy_strings_free(char **strs, long n);

#endif
