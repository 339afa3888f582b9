/* cmdutil.c — see cmdutil.h. */
#include "cmdutil.h"
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

char *dn_arg_path(const dn_value *v)
{
    const char *s = dn_value_text(v);
    if (!s) return NULL;
    const char *home = getenv("HOME");
    char *out = NULL;
    if ((!strcmp(s, "~") || !strncmp(s, "~/", 2)) && home && *home) {
        if (asprintf(&out, "%s%s", home, s + 1) < 0) return NULL;
        return out;
    }
    return strdup(s);
}

int dn_arg_name(dn_ctx *ctx, const dn_call *call, size_t i, const char *what, const char **out)
{
    const dn_value *v = dn_args_pos(call->args, i);
    if (!v || v->kind != DN_VAL_NAME || !dn_workspace_valid_name(v->text)) {
        char shown[128] = "nothing";
        if (v) dn_value_format(v, shown, sizeof shown);
        return dn_fail(ctx, "UsageError", "%%%s: %s is a name (letters, digits and _), not %s",
                       call->name, what, shown);
    }
    *out = v->text;
    return 0;
}

int dn_opt_value(dn_ctx *ctx, const dn_call *call, const char *key, const char *alias,
                 const dn_value **out)
{
    const dn_value *v = dn_args_key(call->args, key);
    const dn_value *a = alias ? dn_args_key(call->args, alias) : NULL;
    if (v && a)
        return dn_fail(ctx, "UsageError", "%%%s: give %s or %s, not both", call->name, key, alias);
    *out = v ? v : a;
    return 0;
}

int dn_opt_whole(dn_ctx *ctx, const dn_call *call, const char *key, const char *alias,
                 long lo, long hi, long *out, int *given)
{
    const dn_value *v;
    if (dn_opt_value(ctx, call, key, alias, &v) < 0) return -1;
    if (given) *given = v != NULL;
    if (!v) return 0;
    if (v->kind != DN_VAL_INT || v->integer < lo || v->integer > hi) {
        char shown[128];
        dn_value_format(v, shown, sizeof shown);
        if (hi >= 1L << 30)
            return dn_fail(ctx, "UsageError", "%%%s: %s must be a whole number from %ld up, not %s",
                           call->name, key, lo, shown);
        return dn_fail(ctx, "UsageError", "%%%s: %s must be a whole number from %ld to %ld, not %s",
                       call->name, key, lo, hi, shown);
    }
    *out = (long)v->integer;
    return 0;
}

int dn_opt_number(dn_ctx *ctx, const dn_call *call, const char *key, double lo, double hi,
                  double *out, int *given)
{
    const dn_value *v = dn_args_key(call->args, key);
    if (given) *given = v != NULL;
    if (!v) return 0;
    double x;
    if (dn_value_number(v, &x) < 0 || !(x >= lo && x <= hi)) {
        char shown[128];
        dn_value_format(v, shown, sizeof shown);
        return dn_fail(ctx, "UsageError", "%%%s: %s must be a number from %g to %g, not %s",
                       call->name, key, lo, hi, shown);
    }
    *out = x;
    return 0;
}

int dn_opt_bool(dn_ctx *ctx, const dn_call *call, const char *key, int *out, int *given)
{
    const dn_value *v = dn_args_key(call->args, key);
    if (given) *given = v != NULL;
    if (!v) return 0;
    if (v->kind != DN_VAL_BOOL)
        return dn_fail(ctx, "UsageError", "%%%s: %s is True or False", call->name, key);
    *out = v->boolean;
    return 0;
}

int dn_need_parent_folder(dn_ctx *ctx, const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return 0;
    char *dir = strndup(path, slash == path ? 1 : (size_t)(slash - path));
    if (!dir) return dn_fail(ctx, "MemoryError", "out of memory");
    struct stat st;
    int rc = 0;
    if (stat(dir, &st) != 0)
        rc = errno == EACCES ? dn_fail(ctx, "PermissionError", "no permission to reach the folder '%s'", dir)
                             : dn_fail(ctx, "FileNotFoundError", "no folder '%s' to write '%s' in "
                                       "(%%mkdir -p %s makes it)", dir, path, dir);
    else if (!S_ISDIR(st.st_mode))
        rc = dn_fail(ctx, "NotADirectoryError", "'%s' is not a folder, so '%s' cannot be written", dir, path);
    free(dir);
    return rc;
}

const char *dn_closest(const char *word, const char *const *cands, int n)
{
    const char *best = NULL;
    int bestd = 1 << 30;
    for (int i = 0; i < n; i++) {
        int d = dn_edit_distance(word, cands[i]);
        if (d < bestd) { bestd = d; best = cands[i]; }
    }
    return best && bestd <= 2 && bestd < (int)strlen(word) ? best : NULL;
}

int dn_fail_lookup(dn_ctx *ctx, const dn_call *call, const char *name, const char *err)
{
    int there = dn_workspace_get(dn_ctx_workspace(ctx), name, NULL) != NULL;
    return dn_fail(ctx, there ? "TypeError" : "NameError", "%%%s: %s", call->name, err);
}
