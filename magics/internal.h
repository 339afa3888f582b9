/* internal.h — the interpreter's state, shared by the files of magics/ (not by commands,
 * which see only command.h). */
#ifndef DN_MAGICS_INTERNAL_H
#define DN_MAGICS_INTERNAL_H

#include "command.h"
#include "history.h"
#include "magics.h"
#include "shell.h"

typedef struct dn_magics {
    dn_interp base;
    dn_workspace *ws;
    dn_history *history;
    dn_cancel cancel;
    char *oldpwd;          /* for %cd - */
    char *language_doc;    /* help_links' page (dn_magics_set_language_doc) */
} dn_magics;

struct dn_ctx {
    dn_magics *m;
    const dn_sink *out;
    int line;              /* line of the running statement, for messages */
    int multiline;         /* the cell has several statements: say which line failed */
    int failed;
};

/* registry.c */
int dn_commands_validate(char *err, size_t errlen);
/* "Unknown command %pdw. Did you mean %pwd?" and friends, for name used as kind. */
void dn_commands_unknown(const char *name, dn_command_kind kind, char *msg, size_t len);
/* Damerau (optimal string alignment) distance, for suggestions. */
int dn_edit_distance(const char *a, const char *b);
/* The help of ! lines (no command entry: shell lines are not %commands). */
extern const char dn_shell_help[];

/* assist.c: complete, inspect, is_complete */
json_t *dn_magics_complete(dn_interp *self, const char *code, int cursor_pos);
json_t *dn_magics_inspect(dn_interp *self, const char *code, int cursor_pos, int detail);
json_t *dn_magics_is_complete(dn_interp *self, const char *code);

#endif
