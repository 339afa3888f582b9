/* cmd_core.c — commands about the language itself: %lsmagic, %who, %del, %seed,
 * %%html, %%markdown. */
#include "command.h"
#include "text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A growing string for building output. */
/* The first sentence of a help text, for one-line listings (help texts keep it on their
 * first line). */
static int first_sentence(const char *help)
{
    const char *end = help;
    while (*end && *end != '\n' && !(end[0] == '.' && (end[1] == ' ' || end[1] == '\n' || !end[1]))) end++;
    return (int)(end - help);
}

static int run_lsmagic(dn_ctx *ctx, const dn_call *call)
{
    char err[256];
    if (dn_args_check(call->args, "%lsmagic", 0, 0, NULL, err, sizeof err) < 0)
        return dn_fail(ctx, "UsageError", "%s", err);
    dn_text t = { 0 };
    for (int pass = 0; pass < 2; pass++) {
        dn_command_kind kind = pass ? DN_CELL : DN_LINE;
        dn_text_adds(&t, pass ? "\nCell commands (first line of a cell; the rest is the body):\n"
                      : "Line commands:\n");
        for (size_t k = 0; k < dn_commands_count(); k++) {
            const dn_command *c = dn_commands_at(k);
            if (c->kind != kind) continue;
            dn_text_addf(&t, "  %-28s %.*s\n", c->synopsis, first_sentence(c->help), c->help);
        }
    }
    dn_text_adds(&t, "\nShell lines:\n  !COMMAND                     run COMMAND with /bin/sh; "
             "a non-zero exit fails the cell\n"
             "\n%name? shows a command's help; # starts a comment.\n");
    if (t.s) dn_write(ctx, "stdout", t.s, t.n);
    free(t.s);
    return 0;
}

static int run_who(dn_ctx *ctx, const dn_call *call)
{
    char err[256];
    if (dn_args_check(call->args, "%who", 0, 1, NULL, err, sizeof err) < 0)
        return dn_fail(ctx, "UsageError", "%s", err);
    const char *only = dn_value_text(dn_args_pos(call->args, 0));
    if (dn_args_pos(call->args, 0) && !only)
        return dn_fail(ctx, "UsageError", "%%who TYPE takes a type name such as model or array");
    dn_workspace *ws = dn_ctx_workspace(ctx);
    size_t wname = 4, wtype = 4, shown = 0;
    for (size_t k = 0; k < dn_workspace_count(ws); k++) {
        const dn_type *type;
        const char *name = dn_workspace_name_at(ws, k, &type, NULL);
        const char *tname = type ? type->name : "object";
        if (only && strcmp(only, tname)) continue;
        if (strlen(name) > wname) wname = strlen(name);
        if (strlen(tname) > wtype) wtype = strlen(tname);
        shown++;
    }
    if (!shown) {
        if (only) dn_print(ctx, "No %s in the workspace.\n", only);
        else dn_print(ctx, "The workspace is empty.\n");
        return 0;
    }
    dn_text t = { 0 };
    dn_text_addf(&t, "%-*s  %-*s  %s\n", (int)wname, "Name", (int)wtype, "Type", "Description");
    for (size_t k = 0; k < dn_workspace_count(ws); k++) {
        const dn_type *type;
        const void *obj;
        const char *name = dn_workspace_name_at(ws, k, &type, &obj);
        const char *tname = type ? type->name : "object";
        if (only && strcmp(only, tname)) continue;
        char desc[256] = "";
        if (type && type->describe) type->describe(obj, desc, sizeof desc);
        dn_text_addf(&t, "%-*s  %-*s  %s\n", (int)wname, name, (int)wtype, tname, desc);
    }
    if (t.s) dn_write(ctx, "stdout", t.s, t.n);
    free(t.s);
    return 0;
}

static int run_del(dn_ctx *ctx, const dn_call *call)
{
    char err[256];
    if (dn_args_check(call->args, "%del", 1, -1, NULL, err, sizeof err) < 0)
        return dn_fail(ctx, "UsageError", "%s", err);
    dn_workspace *ws = dn_ctx_workspace(ctx);
    size_t n = dn_args_npos(call->args);
    /* every name checked before any is removed: a failed %del removes nothing */
    for (size_t k = 0; k < n; k++) {
        const dn_value *v = dn_args_pos(call->args, k);
        if (v->kind != DN_VAL_NAME)
            return dn_fail(ctx, "UsageError", "%%del takes workspace names, not %s", dn_value_kind_name(v->kind));
        if (!dn_workspace_get(ws, v->text, NULL)) {
            char err[256];
            dn_workspace_missing(ws, v->text, err, sizeof err);
            return dn_fail(ctx, "NameError", "%s", err);
        }
    }
    for (size_t k = 0; k < n; k++) dn_workspace_remove(ws, dn_args_pos(call->args, k)->text);
    return 0;
}

static int run_seed(dn_ctx *ctx, const dn_call *call)
{
    char err[256];
    if (dn_args_check(call->args, "%seed", 0, 1, NULL, err, sizeof err) < 0)
        return dn_fail(ctx, "UsageError", "%s", err);
    dn_workspace *ws = dn_ctx_workspace(ctx);
    const dn_value *v = dn_args_pos(call->args, 0);
    if (!v) {
        if (dn_workspace_seed_is_set(ws))
            dn_print(ctx, "%llu\n", (unsigned long long)dn_workspace_seed(ws));
        else
            dn_print(ctx, "%llu (chosen at start; %%seed N makes random choices repeatable)\n",
                     (unsigned long long)dn_workspace_seed(ws));
        return 0;
    }
    if (v->kind != DN_VAL_INT || v->integer < 0)
        return dn_fail(ctx, "UsageError", "%%seed takes a whole number from 0 up, got %s",
                       v->text ? v->text : dn_value_kind_name(v->kind));
    dn_workspace_set_seed(ws, (uint64_t)v->integer);
    return 0;
}

/* text/plain twin of an HTML body: tags dropped (script and style with their content),
 * the common entities decoded. */
static char *html_to_text(const char *html)
{
    dn_text t = { 0 };
    dn_text_adds(&t, "");
    const char *p = html;
    while (*p) {
        if (*p == '<') {
            const char *skip_to = !strncasecmp(p, "<script", 7) ? "</script"
                                : !strncasecmp(p, "<style", 6) ? "</style" : NULL;
            const char *close = strchr(p, '>');
            if (!close) { dn_text_adds(&t, p); break; }
            if (!strncasecmp(p, "<br", 3) || !strncasecmp(p, "</p", 3) || !strncasecmp(p, "</tr", 4)
                || !strncasecmp(p, "</div", 5) || !strncasecmp(p, "</h", 3) || !strncasecmp(p, "</li", 4))
                dn_text_adds(&t, "\n");
            else if (!strncasecmp(p, "</td", 4) || !strncasecmp(p, "</th", 4))
                dn_text_adds(&t, "\t");
            p = close + 1;
            if (skip_to) {
                const char *end = strcasestr(p, skip_to);
                p = end ? end : p + strlen(p);
            }
            continue;
        }
        if (*p == '&') {
            static const struct { const char *ent, *ch; } ents[] = {
                { "&lt;", "<" }, { "&gt;", ">" }, { "&amp;", "&" }, { "&quot;", "\"" },
                { "&#39;", "'" }, { "&apos;", "'" }, { "&nbsp;", " " },
            };
            size_t e = 0;
            for (; e < sizeof ents / sizeof *ents; e++)
                if (!strncmp(p, ents[e].ent, strlen(ents[e].ent))) break;
            if (e < sizeof ents / sizeof *ents) {
                dn_text_adds(&t, ents[e].ch);
                p += strlen(ents[e].ent);
                continue;
            }
        }
        dn_text_add(&t, p, 1);
        p++;
    }
    return t.s;
}

static int show_body(dn_ctx *ctx, const dn_call *call, const char *mime)
{
    char err[256];
    char cmd[32];
    snprintf(cmd, sizeof cmd, "%%%%%s", call->name);
    if (dn_args_check(call->args, cmd, 0, 0, NULL, err, sizeof err) < 0)
        return dn_fail(ctx, "UsageError", "%s", err);
    char *plain = strcmp(mime, "text/html") ? strdup(call->body) : html_to_text(call->body);
    json_t *data = json_pack("{s:s, s:s}", mime, call->body, "text/plain", plain ? plain : "");
    free(plain);
    if (!data) return dn_fail(ctx, "UnicodeError", "the cell is not valid UTF-8 text");
    dn_display(ctx, data);
    json_decref(data);
    return 0;
}

static int run_html(dn_ctx *ctx, const dn_call *call) { return show_body(ctx, call, "text/html"); }
static int run_markdown(dn_ctx *ctx, const dn_call *call) { return show_body(ctx, call, "text/markdown"); }

const dn_command dn_commands_core[] = {
    { .name = "lsmagic", .kind = DN_LINE, .synopsis = "%lsmagic", .run = run_lsmagic,
      .source = __FILE__,
      .help = "List every command with a line about each.\n"
              "%name? (or ?%name) shows the full help of one; %name?? also says where it\n"
              "is defined." },
    { .name = "who", .kind = DN_LINE, .synopsis = "%who [TYPE]", .run = run_who,
      .source = __FILE__,
      .help = "List the workspace: every name with its type and a short description.\n"
              "Models, arrays, batches and predictions made by other commands live there\n"
              "under the names you gave them. With TYPE (model, array, batches,\n"
              "predictions) only names of that type are listed." },
    { .name = "del", .kind = DN_LINE, .synopsis = "%del NAME...", .run = run_del,
      .source = __FILE__, .complete = DN_COMPLETE_NAMES,
      .help = "Remove names from the workspace and free what they hold.\n"
              "Every NAME must exist; otherwise nothing is removed." },
    { .name = "seed", .kind = DN_LINE, .synopsis = "%seed [N]", .run = run_seed,
      .source = __FILE__,
      .help = "Seed every random choice that follows (splits, shuffles, init, dropout).\n"
              "Each command that draws at random takes the next seed of a sequence fixed by\n"
              "N, so running the notebook again from the top makes the same choices.\n"
              "Without N, shows the current seed (one is chosen at start when %seed was\n"
              "never run). N is a whole number from 0 up.\n\n"
              "Example:\n  %seed 42" },
    { .name = "html", .kind = DN_CELL, .synopsis = "%%html", .run = run_html,
      .source = __FILE__,
      .help = "Show the body of the cell as HTML.\n"
              "Front ends that don't render HTML show the text without its tags.\n\n"
              "Example:\n  %%html\n  <b>Dogs</b> vs <i>cats</i>" },
    { .name = "markdown", .kind = DN_CELL, .synopsis = "%%markdown", .run = run_markdown,
      .source = __FILE__,
      .help = "Show the body of the cell as Markdown.\n"
              "Front ends that don't render Markdown show the source.\n\n"
              "Example:\n  %%markdown\n  # Results\n  *23,000* training images" },
    { 0 },
};
