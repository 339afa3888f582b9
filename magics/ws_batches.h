/* ws_batches.h — the workspace's `batches` objects: images of a folder as a batch source
 * (runtime/batches.h), made by %batches (cmd_data.c) and used by the commands that
 * train, evaluate and predict.
 *
 * A command using batches in a cell calls dn_batches_attach(b, ctx) first and
 * dn_batches_attach(b, NULL) before it returns: warnings the images raise while they
 * are decoded (a file that cannot be decoded and is left out) then reach that cell's stderr. Warnings
 * raised with no cell attached are kept and shown at the next attach. */
#ifndef DN_WS_BATCHES_H
#define DN_WS_BATCHES_H

#include "batches.h"
#include "command.h"
#include "data/dirsource.h"

typedef struct dn_batches dn_batches;

/* name "batches"; %who shows "N images, K classes, batch B, WxH rgb, shuffled, from DIR" */
extern const dn_type dn_batches_type;

/* The batches named name, or NULL with a message (no such name, or not batches). */
dn_batches *dn_batches_get(const dn_workspace *ws, const char *name, char *err, size_t errlen);
/* What training consumes: reset/next/count/batches (owned by b). */
dn_batch_source *dn_batches_source(dn_batches *b);
/* The same source with file names, labels and class names (dirsource.h). */
dn_dir_source *dn_batches_dir(dn_batches *b);
/* Sends b's warnings to ctx's stderr from now on (NULL: keep them for later). */
void dn_batches_attach(dn_batches *b, dn_ctx *ctx);

#endif
