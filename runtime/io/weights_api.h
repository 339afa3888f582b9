/* weights_api.h — the HDF5 module's table (core/module.h): Keras weight files are read
 * and written by deepnb-hdf5.so, so that a kernel maps libhdf5 (and the 40 libraries
 * Debian's build of it brings) only when a cell first touches a weight file.
 * weights.c gives weights.h's functions to the rest of deepnb by calling through it;
 * weights_module.c is the module's side. */
#ifndef DN_IO_WEIGHTS_API_H
#define DN_IO_WEIGHTS_API_H

#include "core/module.h"
#include "weights.h"

#define DN_WEIGHTS_API_ABI 1

typedef struct dn_weights_api {
    dn_module_head head;
    int (*save_h5)(const char *path, const dn_wlayer *layers, int nlayers, char *err,
                   size_t errlen);
    int (*save_keras3)(const char *path, const dn_wlayer *layers, int nlayers, char *err,
                       size_t errlen);
    int (*load_h5)(const char *path, dn_wlayer *layers, int nlayers, int by_name, char *err,
                   size_t errlen);
    int (*probe)(const char *path, dn_weights_info *info, char *err, size_t errlen);
    void (*info_free)(dn_weights_info *info);
    void (*describe)(const dn_weights_info *info, char *buf, size_t n);
    const char *(*layout_name)(dn_weights_layout layout);
} dn_weights_api;

/* The module's table, opened at the first call; NULL + err (why it could not be opened).
 * A caller about to fork a child that reads a weight file opens it first: the child
 * then needs no dlopen of its own. */
const dn_weights_api *dn_weights_module(char *err, size_t errlen);

#endif
