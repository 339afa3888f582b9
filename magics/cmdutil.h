/* cmdutil.h — argument helpers the command files share: each checks one argument and,
 * when it is wrong, fails the cell with a UsageError that names the command, the
 * argument and what it takes. All return 0, or -1 after dn_fail. */
#ifndef DN_CMDUTIL_H
#define DN_CMDUTIL_H

#include "command.h"

/* A path argument (string or bare word), ~ and ~/ expanded. Caller frees; NULL when v is
 * not a word (or no memory). */
char *dn_arg_path(const dn_value *v);

/* Positional argument i as a workspace name (an identifier); *out borrowed. what names
 * it in the message ("NAME", "the model"). */
int dn_arg_name(dn_ctx *ctx, const dn_call *call, size_t i, const char *what, const char **out);

/* key=N, a whole number in [lo, hi]; *out keeps its default when key is absent. given
 * (optional) says whether it was written. alias (optional) is a second spelling, e.g.
 * nb_epoch for epochs (Keras 1); giving both is an error. */
int dn_opt_whole(dn_ctx *ctx, const dn_call *call, const char *key, const char *alias,
                 long lo, long hi, long *out, int *given);
/* key=X, a number in [lo, hi] */
int dn_opt_number(dn_ctx *ctx, const dn_call *call, const char *key, double lo, double hi,
                  double *out, int *given);
/* key=True|False */
int dn_opt_bool(dn_ctx *ctx, const dn_call *call, const char *key, int *out, int *given);

/* The value of key= or of its alias, NULL when neither; fails when both are given. */
int dn_opt_value(dn_ctx *ctx, const dn_call *call, const char *key, const char *alias,
                 const dn_value **out);

/* Fails with FileNotFoundError / NotADirectoryError unless the folder that would hold
 * path exists (for files a command is about to write). */
int dn_need_parent_folder(dn_ctx *ctx, const char *path);

/* The candidate closest to word when it is close enough to be a typo (at most 2 edits,
 * and fewer than its letters), else NULL. */
const char *dn_closest(const char *word, const char *const *cands, int n);

/* Fails for a name a typed lookup refused with err (dn_workspace_get_typed's message):
 * NameError when the workspace lacks the name, TypeError when it holds something else. */
int dn_fail_lookup(dn_ctx *ctx, const dn_call *call, const char *name, const char *err);

#endif
