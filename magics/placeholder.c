/* PLACEHOLDER until the language lands: echoes cells so the kernel can be driven. */
#include "magics.h"
#include "dn_config.h"
#include <stdlib.h>
#include <string.h>

static json_t *ph_kernel_info(dn_interp *self)
{
    (void)self;
    return json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s}, s:s, s:[]}",
        "implementation", "deepnb", "implementation_version", DN_VERSION,
        "language_info", "name", "deepnb", "version", DN_VERSION, "mimetype", "text/x-deepnb",
        "file_extension", ".dnb", "banner", "deepnb placeholder", "help_links");
}

static int ph_execute(dn_interp *self, const dn_execute_request *req, const dn_sink *out)
{
    (void)self;
    if (!req->silent) out->stream(out->ctx, "stdout", req->code, strlen(req->code));
    return 0;
}

static json_t *ph_complete(dn_interp *self, const char *code, int cursor_pos)
{
    (void)self; (void)code;
    return json_pack("{s:[], s:i, s:i, s:{}}", "matches", "cursor_start", cursor_pos, "cursor_end", cursor_pos, "metadata");
}
static json_t *ph_inspect(dn_interp *self, const char *code, int cursor_pos, int detail)
{
    (void)self; (void)code; (void)cursor_pos; (void)detail;
    return json_pack("{s:b, s:{}, s:{}}", "found", 0, "data", "metadata");
}
static json_t *ph_is_complete(dn_interp *self, const char *code) { (void)self; (void)code; return json_pack("{s:s}", "status", "complete"); }
static json_t *ph_history(dn_interp *self, json_t *req) { (void)self; (void)req; return json_pack("{s:[]}", "history"); }
static void ph_interrupt(dn_interp *self) { (void)self; }
static void ph_shutdown(dn_interp *self, int restart) { (void)self; (void)restart; }
static void ph_free(dn_interp *self) { free(self); }

static const dn_interp_ops ph_ops = {
    ph_kernel_info, ph_execute, ph_complete, ph_inspect, ph_is_complete, ph_history,
    ph_interrupt, ph_shutdown, ph_free,
};

dn_interp *dn_magics_new(char *err, size_t errlen)
{
    (void)err; (void)errlen;
    dn_interp *it = calloc(1, sizeof *it);
    if (it) it->ops = &ph_ops;
    return it;
}
