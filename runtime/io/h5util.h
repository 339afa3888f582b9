/* h5util.h — the HDF5 pieces both weight readers and writers need: HDF5's own error
 * printing switched off and its errors turned into words, and Keras' string-list
 * attributes (fixed or variable length, split into name0, name1, ... when large). */
#ifndef DN_IO_H5UTIL_H
#define DN_IO_H5UTIL_H

#include <hdf5.h>
#include <stddef.h>

/* HDF5 prints its error stack to stderr by default; a library must not. While quiet, the
 * stack of the latest failing HDF5 call is kept here instead, to be put into words. */
typedef struct dn_h5_quiet {
    H5E_auto2_t func;
    void *data;
    char desc[256];     /* the innermost description of the latest failure */
    int sys_errno;      /* the system errno HDF5 quoted for it, 0 if none */
} dn_h5_quiet;

void dn_h5_quiet_begin(dn_h5_quiet *q);
void dn_h5_quiet_end(const dn_h5_quiet *q);

/* The latest failure's reason in words: a system error such as "no space left on the
 * device" when HDF5 quoted one (dir names the folder for those), else HDF5's words. */
void dn_h5_reason(const dn_h5_quiet *q, const char *dir, char *buf, size_t n);

/* Reads a list of strings from attribute `name` of obj, or from name0, name1, ... when
 * Keras split it. *found = 0 and *n = 0 when neither exists. An empty numeric attribute
 * (Keras' weight_names of a layer without weights) is an empty list. Free with
 * dn_h5_strings_free. 0 or -1 + err. */
int dn_h5_read_strings(hid_t obj, const char *name, char ***out, int *n, int *found,
                       char *err, size_t errlen);
void dn_h5_strings_free(char **s, int n);

/* Reads a scalar (or one-element) string attribute; *found = 0 when absent. */
int dn_h5_read_string(hid_t obj, const char *name, char *buf, size_t bufsize, int *found,
                      char *err, size_t errlen);

/* Writes a list as Keras 2 does through h5py: fixed-length, null-padded ASCII strings as
 * long as the longest, split into name0, name1, ... past HDF5's 64 KiB header limit;
 * an empty list is an empty float64 array. 0 or -1 (HDF5 error on the stack). */
int dn_h5_write_strings(hid_t obj, const char *name, const char *const *s, int n);

/* Writes a scalar fixed-length string attribute (Keras' backend, keras_version). */
int dn_h5_write_string(hid_t obj, const char *name, const char *s);

/* Writes a scalar variable-length UTF-8 string attribute, as h5py stores a Python str
 * (Keras 3's name attributes). 0 or -1 (HDF5 error on the stack). */
int dn_h5_write_vlen_string(hid_t obj, const char *name, const char *s);

/* Creation property lists that leave out HDF5's modification times, so that the same
 * weights saved twice give the same bytes (a notebook that re-makes a file re-makes it
 * exactly). Open before H5Fcreate, close after; 0 or -1 (HDF5 error on the stack). */
typedef struct dn_h5_untimed {
    hid_t fcpl, gcpl, dcpl;
} dn_h5_untimed;
int dn_h5_untimed_open(dn_h5_untimed *u);
void dn_h5_untimed_close(dn_h5_untimed *u);

#endif
