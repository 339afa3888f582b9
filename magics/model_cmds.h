/* model_cmds.h — what the files of model commands (cmd_models.c, cmd_train.c,
 * cmd_weights.c) share. Each function that can fail sends the cell's error itself
 * (dn_fail) and returns -1 or NULL. */
#ifndef DN_MODEL_CMDS_H
#define DN_MODEL_CMDS_H

#include "command.h"
#include "ws_model.h"

/* Positional argument i names a model; *name (optional) gets the name. */
dn_ws_model *dn_need_model(dn_ctx *ctx, const dn_call *call, size_t i, const char **name);

/* A layer of wm by index (as Keras' model.layers[i], negative from the end) or name. */
int dn_layer_ref(dn_ctx *ctx, const dn_call *call, dn_ws_model *wm, const char *model,
                 const dn_value *v, int *index);

/* Whether loss can train m's outputs (cross-entropy needs probabilities): 0, or -1 with a
 * sentence saying what to change. Does not send anything. */
int dn_loss_fits_model(dn_model *m, dn_loss loss, char *err, size_t errlen);

/* path must be a readable file in a Keras weight layout: FileNotFoundError,
 * IsADirectoryError, PermissionError or ValueError otherwise. */
int dn_need_weight_file(dn_ctx *ctx, const char *path);

/* Puts a new model where the workspace computes (%device, cmd_weights.c): the GPU when
 * one is present and nothing chose otherwise. 0, or -1 after dn_fail (%device gpu was
 * chosen and the model cannot go there). */
int dn_device_adopt(dn_ctx *ctx, dn_model *m);

#endif
