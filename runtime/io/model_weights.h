/* model_weights.h — a Sequential model's weights to and from Keras HDF5 files, as Keras'
 * model.save_weights and model.load_weights: the arrays dn_model_weights lists, through
 * dn_weights_save_h5 / dn_weights_save_keras3 / dn_weights_load_h5 (layouts, conversions
 * and checks: weights.h). */
#ifndef DN_MODEL_WEIGHTS_H
#define DN_MODEL_WEIGHTS_H

#include <stddef.h>

#include "../core/model.h"

/* Writes every layer (those without weights too), atomically: on failure an existing file
 * at path is left as it was. A path ending in ".weights.h5" gets Keras 3's layout (what
 * Keras 3's save_weights writes, and the only name it accepts), any other Keras 2's (what
 * Keras 2 and tf.keras write for ".h5"). The optimiser's state is saved in neither.
 * 0 or -1 + err. */
int dn_model_save_weights(dn_model *m, const char *path, char *err, size_t errlen);

/* Reads a Keras 1, 2 or 3 weight file into the model, whatever its name (the layout is
 * told from the contents): by_name pairs layers by name (the model's layers the file
 * lacks keep their weights), else the layers with weights in order (for Keras 3 files:
 * by name when all are found, else per class in order; see dn_weights_load_h5). All or
 * nothing: on any error (err names the layer and both shapes of a mismatch) no weight
 * changes. As Keras' load_weights, the optimiser's state (momentum,
 * moments, iteration count) and the layers' trainable flags are kept; compile again to
 * start the optimiser afresh. 0 or -1 + err. */
int dn_model_load_weights(dn_model *m, const char *path, int by_name, char *err,
                          size_t errlen);

/* The same, for files from anywhere: the file is read by a child process (isolate.h), so
 * a malformed file that crashes or hangs libhdf5 gives an error instead of taking the
 * program with it. The model's arrays go to memory shared with the child and come back
 * only when everything was read: all or nothing, as above. */
int dn_model_load_weights_isolated(dn_model *m, const char *path, int by_name, char *err,
                                   size_t errlen);

/* dn_weights_probe in a child process: 0 when path is a Keras weight file, else -1 + err
 * (not one, damaged, or crashed its reader). */
int dn_weights_check_isolated(const char *path, char *err, size_t errlen);

#endif
