/* reuse.h — frozen-prefix reuse (internal to core/; the public switch is in model.h).
 *
 * While a model's first layers are frozen and compute the same in training as in
 * inference (no Dropout, no trainable BatchNormalization among them), their output for
 * an example depends on nothing but the example. The fit loop (fit.c) keeps those
 * outputs per example id as it computes them; once it holds all of a source's, later
 * passes skip decoding and start at the first layer that learns. Entries are keyed on
 * what decides the outputs: the source's fingerprint (batches.h) and the prefix's
 * (which layer objects, their parameter values). Loading weights, unfreezing, popping
 * or adding below the cut therefore make a new key; nothing needs to remember to
 * invalidate. Results are bit-identical to computing the prefix every time, because
 * each example's prefix output does not depend on the batch it is in. */
#ifndef DN_REUSE_H
#define DN_REUSE_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

typedef struct dn_reuse dn_reuse;             /* a model's entries */
typedef struct dn_reuse_entry dn_reuse_entry; /* one (source, prefix) */

/* ---- in model.c */
/* One step (train) or one evaluation (test) starting at layer start with x its input
 * (n * that layer's input size). keep >= start keeps layer keep's output readable
 * (dn_layer_output) afterwards; -1 keeps what the step needs. 0 or -1 + err. */
int dn_model_train_from(dn_model *m, int start, const float *x, const float *y, int n,
                        int keep, dn_metrics *out, char *err, size_t errlen);
int dn_model_test_from(dn_model *m, int start, const float *x, const float *y, int n, int keep,
                       dn_metrics *out, char *err, size_t errlen);
int dn_model_reuse_on(const dn_model *m);
dn_reuse **dn_model_reuse_state(dn_model *m);
/* The number of leading layers whose outputs may be kept: below the first layer that
 * learns and, when training, the first that varies in training. 0: none. At most
 * nlayers - 1. */
int dn_model_prefix_cut(const dn_model *m, int training);
/* Changes whenever the first cut layers could compute something else. 0: no memory. */
uint64_t dn_model_prefix_fingerprint(const dn_model *m, int cut);

/* ---- in reuse.c */
void dn_reuse_free(dn_reuse *r);
/* The entry for (source, prefix), for ids below count: an existing one, or a new empty one in memory when it
 * fits (half of what the machine and the process's cgroup have available, or
 * DEEPNB_REUSE_MEMORY bytes), else in an unlinked file on disk (DEEPNB_CACHE_DIR,
 * $XDG_CACHE_HOME/deepnb or ~/.cache/deepnb) when the disk keeps 1 GiB free besides.
 * An older entry of the same source for another prefix is dropped first. NULL when
 * neither has room, with the reason in err. */
dn_reuse_entry *dn_reuse_entry_for(dn_reuse **r, uint64_t source, uint64_t prefix, int cut,
                                   long count, long feat, int y_dim, char *err,
                                   size_t errlen);
/* whether at least need examples' outputs are kept (a source's count: its epochs hold
 * every example it can still give, so that many kept means all of them) */
int dn_reuse_covers(const dn_reuse_entry *e, long need);
/* whether example id's output is kept */
int dn_reuse_has(const dn_reuse_entry *e, long id);
/* Keeps rows x (n * feat) and y (n * y_dim, or NULL when y_dim is 0) for ids. Ids out of
 * range are ignored. */
void dn_reuse_put(dn_reuse_entry *e, const long *ids, int n, const float *x, const float *y);
/* Gathers the kept rows of ids into x and y. */
void dn_reuse_get(const dn_reuse_entry *e, const long *ids, int n, float *x, float *y);
/* Records what the last training pass did with e, for dn_model_reuse_note: reused says
 * whether it started at the cut; layer names the last kept layer. */
void dn_reuse_record(dn_reuse *r, const dn_reuse_entry *e, int reused, const char *layer);
/* Sets the note to msg ("" clears it); makes *rp when missing (silently not, without
 * memory). */
void dn_reuse_set_note(dn_reuse **rp, const char *msg);
const char *dn_reuse_note(const dn_reuse *r);

#endif
