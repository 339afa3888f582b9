/* weights.c — weights.h's functions for the rest of deepnb: each opens the HDF5 module
 * (weights_api.h) at its first call and calls its function. Nothing here includes
 * hdf5.h, so nothing linked with the runtime maps libhdf5 before a weight file is used. */
#include "weights_api.h"

#include <stdio.h>
#include <string.h>

const dn_weights_api *dn_weights_module(char *err, size_t errlen)
{
    return dn_module_open("hdf5", "reads and writes Keras weight files", "runtime",
                          DN_WEIGHTS_API_ABI, sizeof(dn_weights_api), err, errlen);
}

int dn_weights_save_h5(const char *path, const dn_wlayer *layers, int nlayers, char *err,
                       size_t errlen)
{
    const dn_weights_api *m = dn_weights_module(err, errlen);
    return m ? m->save_h5(path, layers, nlayers, err, errlen) : -1;
}

int dn_weights_save_keras3(const char *path, const dn_wlayer *layers, int nlayers, char *err,
                           size_t errlen)
{
    const dn_weights_api *m = dn_weights_module(err, errlen);
    return m ? m->save_keras3(path, layers, nlayers, err, errlen) : -1;
}

int dn_weights_load_h5(const char *path, dn_wlayer *layers, int nlayers, int by_name,
                       char *err, size_t errlen)
{
    const dn_weights_api *m = dn_weights_module(err, errlen);
    return m ? m->load_h5(path, layers, nlayers, by_name, err, errlen) : -1;
}

int dn_weights_probe(const char *path, dn_weights_info *info, char *err, size_t errlen)
{
    memset(info, 0, sizeof *info);  /* left empty on failure, as weights.h says */
    const dn_weights_api *m = dn_weights_module(err, errlen);
    return m ? m->probe(path, info, err, errlen) : -1;
}

void dn_weights_info_free(dn_weights_info *info)
{
    if (!info)
        return;
    if (!info->layers) {  /* nothing a probe filled: no need of the module */
        memset(info, 0, sizeof *info);
        return;
    }
    const dn_weights_api *m = dn_weights_module(NULL, 0);
    if (m)
        m->info_free(info);
}

void dn_weights_describe(const dn_weights_info *info, char *buf, size_t n)
{
    char err[1024];
    const dn_weights_api *m = dn_weights_module(err, sizeof err);
    if (m)
        m->describe(info, buf, n);
    else if (n)
        snprintf(buf, n, "%s", err);
}

const char *dn_weights_layout_name(dn_weights_layout layout)
{
    const dn_weights_api *m = dn_weights_module(NULL, 0);
    return m ? m->layout_name(layout) : "unknown";
}
