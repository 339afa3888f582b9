/* ws_model.h — the workspace's models: a runtime Sequential model (runtime/core/model.h)
 * with what the language keeps beside it: how it was made, the preprocessing its inputs
 * need, the class names it was fine-tuned for, and the history of every epoch of every
 * %fit. Made by %%model and %model (cmd_models.c); trained by cmd_train.c. */
#ifndef DN_WS_MODEL_H
#define DN_WS_MODEL_H

#include "command.h"
#include "core/model.h"
#include "core/status_codes.h"
#include "core/zoo.h"
#include "data/dirsource.h"

#include <jansson.h>

/* One epoch of a %fit, as %history shows it. */
typedef struct dn_hist_row {
    int epoch;            /* the model's epoch count after it (1, 2, 3… across the fits
                           * since the last compile) */
    int fit;              /* which %fit call since the compile (1-based) */
    dn_epoch_log log;     /* train (and val) loss, accuracy, seconds */
    double lr;            /* learning rate it ran with */
} dn_hist_row;

typedef struct dn_ws_model {
    dn_model *m;
    char arch[32];          /* "Sequential" or "VGG16" */
    int preprocess;         /* inputs it expects (dn_preprocess), or -1: not known */
    char **class_names;     /* the classes of its outputs when known (%finetune, %fit) */
    int nclasses;
    dn_hist_row *hist;      /* the epochs since the last compile */
    int nhist, caphist;
    int fits;               /* %fit calls since the last compile that ran a step */
} dn_ws_model;

/* name "model"; %who: "Sequential, 5 layers, 1,234 params (1,000 trainable), compiled
 * (Adam, categorical_crossentropy), trained 3 epochs" */
extern const dn_type dn_model_type;

/* A new workspace model around m (taken: freed on failure). NULL on no memory. */
dn_ws_model *dn_ws_model_new(dn_model *m, const char *arch);
void dn_ws_model_free(dn_ws_model *wm);

/* The model named name, or NULL with a message (no such name, or not a model). */
dn_ws_model *dn_ws_model_get(const dn_workspace *ws, const char *name, char *err,
                             size_t errlen);

/* Remembers the class names of d (copied); 0 or -1 on no memory (nothing changed). */
int dn_ws_model_classes_from(dn_ws_model *wm, dn_dir_source *d);
/* A compile starts a new training run: the history (and the epoch numbers of %fit's
 * save={epoch}) start again from 1. */
void dn_ws_model_new_run(dn_ws_model *wm);
/* Appends an epoch to the history; 0 or -1 on no memory. */
int dn_ws_model_add_epoch(dn_ws_model *wm, const dn_hist_row *row);

/* Keras' summary as a MIME bundle (text/plain as model.summary() prints it, text/html a
 * table). New reference, NULL on no memory. */
json_t *dn_ws_model_summary(const dn_ws_model *wm, const char *name);
/* The history table (every epoch of every fit so far), or NULL when it has none. */
json_t *dn_ws_model_history(const dn_ws_model *wm, const char *name);

#endif
