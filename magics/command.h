/* command.h — how a command of the cell language is written and registered.
 *
 * A file of commands defines one NULL-terminated table and adds one line to
 * commands.def; that is the whole registration:
 *
 *     const dn_command dn_commands_models[] = {
 *         { .name = "summary", .kind = DN_LINE, .synopsis = "%summary NAME",
 *           .help = "…", .run = run_summary, .complete = DN_COMPLETE_NAMES },
 *         { 0 }
 *     };
 *     // commands.def:  DN_COMMAND_SET(models)
 *
 * A handler validates everything first and changes the workspace or files only when it
 * is sure to succeed: a failed command leaves no trace. It reports failure with
 * dn_fail(), which sends the cell's error and returns -1.
 */
#ifndef DN_COMMAND_H
#define DN_COMMAND_H

#include "interp.h"
#include "value.h"
#include "workspace.h"

#include <stddef.h>

typedef struct dn_ctx dn_ctx;   /* the running cell, as a command sees it */

typedef enum dn_command_kind {
    DN_LINE = 1,   /* %name args */
    DN_CELL = 2,   /* %%name args on the first line; the rest of the cell is its body */
} dn_command_kind;

/* What completion offers for a command's arguments (flags, combined with |). */
enum {
    DN_COMPLETE_PATHS = 1,     /* file and directory names (directories end with /) */
    DN_COMPLETE_NAMES = 2,     /* workspace names */
    DN_COMPLETE_KEYWORDS = 4,  /* the command's keywords list, e.g. "epochs=" or "-p" */
};

typedef struct dn_call {
    const char *name;      /* command name without % */
    const char *raw;       /* argument text as written (continued lines joined with a space) */
    const dn_args *args;   /* parsed arguments; NULL for raw_args commands */
    const char *body;      /* DN_CELL: the rest of the cell ("" when empty); DN_LINE: NULL */
    int line;              /* 1-based line of the command in the cell */
} dn_call;

typedef struct dn_command {
    const char *name;
    dn_command_kind kind;
    int raw_args;            /* 1: arguments are not parsed; the handler reads call->raw */
    const char *synopsis;    /* usage line: "%mkdir [-p] DIR..." */
    const char *help;        /* what %name? shows under the synopsis: a person's doc */
    int (*run)(dn_ctx *ctx, const dn_call *call);
    unsigned complete;       /* DN_COMPLETE_* */
    const char *const *keywords;  /* NULL-terminated, for DN_COMPLETE_KEYWORDS */
    /* Which argument takes what, for completion (NULL: every argument takes what
     * complete says). One letter per positional argument, the last standing for the
     * rest: 'n' a workspace name, 'p' a path, '-' neither (keywords only); keywords are
     * offered wherever complete has DN_COMPLETE_KEYWORDS. After KEY= the value is a path
     * when "KEY=" is in path_keys, a workspace name when it is in name_keys, else
     * nothing is offered. */
    const char *args;
    const char *const *path_keys, *const *name_keys;
    const char *source;      /* file that defines it, shown by %name?? (use __FILE__) */
} dn_command;

/* --- what a handler can use --- */
dn_workspace *dn_ctx_workspace(dn_ctx *ctx);
const dn_sink *dn_ctx_sink(dn_ctx *ctx);
/* 1 once the user asked to stop the cell; long work checks it and returns
 * dn_fail_interrupted(ctx) */
int dn_ctx_interrupted(dn_ctx *ctx);

/* Text on the cell's stdout / stderr (printf-style). */
void dn_print(dn_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void dn_eprint(dn_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void dn_write(dn_ctx *ctx, const char *stream, const char *text, size_t len);
/* The cell's result (text/plain required), a display, a pager page. data is borrowed. */
void dn_result(dn_ctx *ctx, json_t *data);
void dn_display(dn_ctx *ctx, json_t *data);
/* A display with metadata (e.g. {"image/png": {"width": 800, "height": 400}}). */
void dn_display_md(dn_ctx *ctx, json_t *data, json_t *metadata);
void dn_page(dn_ctx *ctx, const char *text);
/* Fails the cell: error ename ("UsageError", "FileNotFoundError", …) with a message. */
int dn_fail(dn_ctx *ctx, const char *ename, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int dn_fail_interrupted(dn_ctx *ctx);

/* The shell runner of this interpreter (see shell.h), for commands that run programs. */
struct dn_cancel *dn_ctx_cancel(dn_ctx *ctx);

/* Directory before the last %cd, for %cd - (NULL when none). */
const char *dn_ctx_oldpwd(dn_ctx *ctx);
/* Remembers cwd as the directory before the change %cd just made. */
int dn_ctx_set_oldpwd(dn_ctx *ctx, const char *dir);

/* The registry: every command, for %lsmagic and help. */
size_t dn_commands_count(void);
const dn_command *dn_commands_at(size_t i);   /* sorted by name, line before cell */
const dn_command *dn_commands_find(const char *name, dn_command_kind kind);
/* The command's help page: synopsis, help; with detail, also where it is defined. */
char *dn_command_help(const dn_command *cmd, int detail);   /* caller frees */

#endif
