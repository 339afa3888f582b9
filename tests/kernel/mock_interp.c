/* mock_interp.c — see mock_interp.h. */
#include "mock_interp.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static json_t *k_info(dn_interp *self)
{
    (void)self;
    return json_pack("{s:s, s:s, s:{s:s, s:s, s:s}, s:s, s:[{s:s, s:s}]}",
        "implementation", "mock", "implementation_version", "1.0",
        "language_info", "name", "mocklang", "version", "1.0", "file_extension", ".mock",
        "banner", "mock interpreter", "help_links", "text", "help", "url", "https://example.org");
}

static int k_execute(dn_interp *self, const dn_execute_request *req, const dn_sink *out)
{
    mock_interp *m = (mock_interp *)self;
    m->executes++;
    m->last = *req;
    m->last.code = NULL;
    atomic_store(&m->interrupted, 0);
    const char *code = req->code;
    if (strncmp(code, "print ", 6) == 0) {
        out->stream(out->ctx, "stdout", code + 6, strlen(code + 6));
    } else if (strcmp(code, "err") == 0) {
        out->error(out->ctx, "ValueError", "bad value", NULL);
        return 1;
    } else if (strcmp(code, "softerr") == 0) {
        out->error(out->ctx, "Warning", "soft", NULL);
    } else if (strcmp(code, "display") == 0) {
        json_t *d = json_pack("{s:s}", "text/plain", "first");
        out->display_data(out->ctx, d, NULL, "d1");
        json_decref(d);
        d = json_pack("{s:s}", "text/plain", "second");
        out->update_display_data(out->ctx, d, NULL, "d1");
        json_decref(d);
        out->clear_output(out->ctx, 1);
        d = json_pack("{s:s}", "text/html", "<b>x</b>");
        out->execute_result(out->ctx, d, NULL);
        json_decref(d);
        json_t *p = json_pack("{s:s, s:{s:s}, s:i}", "source", "page", "data", "text/plain", "help", "start", 0);
        out->payload(out->ctx, p);
        json_decref(p);
    } else if (strcmp(code, "result") == 0) {
        json_t *d = json_pack("{s:s}", "text/plain", "42");
        out->execute_result(out->ctx, d, NULL);
        json_decref(d);
    } else if (strcmp(code, "wait") == 0) {
        atomic_store(&m->running, 1);
        struct timespec start, now, tick = { 0, 1000000 };
        clock_gettime(CLOCK_MONOTONIC, &start);
        for (;;) {
            if (atomic_load(&m->interrupted)) break;
            clock_gettime(CLOCK_MONOTONIC, &now);
            if (now.tv_sec - start.tv_sec > 10) break;
            nanosleep(&tick, NULL);
        }
        atomic_store(&m->running, 0);
        out->error(out->ctx, "KeyboardInterrupt", "interrupted", NULL);
        return 1;
    } else if (strcmp(code, "input") == 0) {
        char *line = out->input(out->ctx, "name: ", 0);
        if (!line) {
            out->error(out->ctx, "EOFError", "no input", NULL);
            return 1;
        }
        out->stream(out->ctx, "stdout", line, strlen(line));
        free(line);
    } else if (strcmp(code, "rawbytes") == 0) {
        out->stream(out->ctx, "stderr", "a\xff" "b", 3);
    }
    return 0;
}

static json_t *k_complete(dn_interp *self, const char *code, int pos)
{
    (void)self; (void)code;
    return json_pack("{s:[s,s], s:i, s:i, s:{}}", "matches", "alpha", "alpine",
                     "cursor_start", 0, "cursor_end", pos, "metadata");
}

static json_t *k_inspect(dn_interp *self, const char *code, int pos, int detail)
{
    (void)self; (void)pos;
    return json_pack("{s:b, s:{s:s}, s:{}}", "found", 1, "data", "text/plain",
                     detail ? "details" : code, "metadata");
}

static json_t *k_is_complete(dn_interp *self, const char *code)
{
    (void)self;
    size_t n = strlen(code);
    if (n && code[n - 1] == '\\') return json_pack("{s:s, s:s}", "status", "incomplete", "indent", "");
    return json_pack("{s:s}", "status", "complete");
}

static json_t *k_history(dn_interp *self, json_t *req)
{
    (void)self; (void)req;
    return json_pack("{s:[[i,i,s]]}", "history", 0, 1, "print hi");
}

static void k_interrupt(dn_interp *self)
{
    mock_interp *m = (mock_interp *)self;
    atomic_store(&m->interrupted, 1);
    atomic_fetch_add(&m->interrupts, 1);
}

static void k_shutdown(dn_interp *self, int restart)
{
    mock_interp *m = (mock_interp *)self;
    m->shutdowns++;
    m->shutdown_restart = restart;
}

static void k_free(dn_interp *self) { (void)self; }

static const dn_interp_ops mock_ops = {
    k_info, k_execute, k_complete, k_inspect, k_is_complete, k_history, k_interrupt,
    k_shutdown, k_free,
};

void mock_init(mock_interp *m)
{
    memset(m, 0, sizeof *m);
    m->base.ops = &mock_ops;
}
