/* weights_module.c — deepnb-hdf5.so's table (weights_api.h): the module's one exported
 * symbol. Built into the module only; the rest of deepnb reaches these through weights.c. */
#include "weights_api.h"

#include "dn_config.h"

const dn_weights_api dn_module_api = {
    .head = DN_MODULE_HEAD("hdf5", DN_WEIGHTS_API_ABI, dn_weights_api),
    .save_h5 = dn_weights_save_h5,
    .save_keras3 = dn_weights_save_keras3,
    .load_h5 = dn_weights_load_h5,
    .probe = dn_weights_probe,
    .info_free = dn_weights_info_free,
    .describe = dn_weights_describe,
    .layout_name = dn_weights_layout_name,
};
