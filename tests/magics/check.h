/* check.h — the few helpers the magics unit tests share: CHECK prints every check it
 * makes, and a fake dn_sink that records what a cell published, with arrival times. */
#ifndef DN_TEST_CHECK_H
#define DN_TEST_CHECK_H

#include "interp.h"
#include "magics.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int check_failures;

#define CHECK(cond, ...) do { \
    int ok_ = !!(cond); \
    printf("%s - ", ok_ ? "ok" : "FAIL"); \
    printf(__VA_ARGS__); \
    printf("\n"); \
    if (!ok_) { check_failures++; printf("      at %s:%d: %s\n", __FILE__, __LINE__, #cond); } \
} while (0)

#define CHECK_STR(got, want, what) do { \
    const char *g_ = (got), *w_ = (want); \
    CHECK(g_ && !strcmp(g_, w_), "%s: %s%s%s", what, g_ ? "'" : "", g_ ? g_ : "(null)", g_ ? "'" : ""); \
    if (!(g_ && !strcmp(g_, w_))) printf("      wanted '%s'\n", w_); \
} while (0)

static inline double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- fake sink ---- */

typedef struct event {
    char kind[16];      /* stream, display, update, result, error, clear, payload */
    char *name;         /* stream name / ename */
    char *text;         /* stream text / evalue */
    json_t *json;       /* display/result data, payload item */
    double t;
} event;

typedef struct fake {
    event ev[256];
    int n;
    dn_sink sink;
} fake;

static inline event *fake_push(fake *f, const char *kind)
{
    if (f->n >= 256) return NULL;
    event *e = &f->ev[f->n++];
    memset(e, 0, sizeof *e);
    strncpy(e->kind, kind, sizeof e->kind - 1);   /* memset above ends it */
    e->t = now_s();
    return e;
}

static inline void f_stream(void *c, const char *name, const char *text, size_t len)
{
    event *e = fake_push(c, "stream");
    if (e) { e->name = strdup(name); e->text = strndup(text, len); }
}
static inline void f_display(void *c, json_t *data, json_t *md, const char *id)
{
    (void)md; (void)id;
    event *e = fake_push(c, "display");
    if (e) e->json = json_deep_copy(data);
}
static inline void f_update(void *c, json_t *data, json_t *md, const char *id)
{
    (void)md; (void)id;
    event *e = fake_push(c, "update");
    if (e) e->json = json_deep_copy(data);
}
static inline void f_result(void *c, json_t *data, json_t *md)
{
    (void)md;
    event *e = fake_push(c, "result");
    if (e) e->json = json_deep_copy(data);
}
static inline void f_error(void *c, const char *ename, const char *evalue, json_t *tb)
{
    event *e = fake_push(c, "error");
    if (e) { e->name = strdup(ename); e->text = strdup(evalue); e->json = tb ? json_deep_copy(tb) : NULL; }
}
static inline void f_clear(void *c, int wait) { (void)wait; fake_push(c, "clear"); }
static inline void f_payload(void *c, json_t *item)
{
    event *e = fake_push(c, "payload");
    if (e) e->json = json_deep_copy(item);
}
static inline char *f_input(void *c, const char *prompt, int password)
{
    (void)c; (void)prompt; (void)password;
    return NULL;
}

static inline void fake_reset(fake *f)
{
    for (int k = 0; k < f->n; k++) {
        free(f->ev[k].name);
        free(f->ev[k].text);
        json_decref(f->ev[k].json);
    }
    f->n = 0;
    f->sink = (dn_sink){ f, f_stream, f_display, f_update, f_result, f_error, f_clear,
                         f_payload, f_input };
}

/* All stream text of one name, concatenated (caller frees). */
static inline char *fake_text(const fake *f, const char *name)
{
    size_t len = 0;
    for (int k = 0; k < f->n; k++)
        if (!strcmp(f->ev[k].kind, "stream") && !strcmp(f->ev[k].name, name)) len += strlen(f->ev[k].text);
    char *s = calloc(len + 1, 1);
    for (int k = 0; s && k < f->n; k++)
        if (!strcmp(f->ev[k].kind, "stream") && !strcmp(f->ev[k].name, name)) strcat(s, f->ev[k].text);
    return s;
}

static inline const event *fake_find(const fake *f, const char *kind)
{
    for (int k = 0; k < f->n; k++)
        if (!strcmp(f->ev[k].kind, kind)) return &f->ev[k];
    return NULL;
}

/* Runs code as cell number count (store_history on); returns execute's status. */
static inline int run(dn_interp *it, fake *f, const char *code, int count)
{
    fake_reset(f);
    dn_execute_request req = { code, 0, 1, 0, count };
    return it->ops->execute(it, &req, &f->sink);
}

/* ---- a test's interpreter and scratch folder ---- */

/* A new interpreter and a fresh folder /tmp/<tag>_XXXXXX in root; NULL after saying why. */
static inline dn_interp *test_start(fake *f, char *root, size_t len, const char *tag)
{
    char err[256];
    dn_interp *it = dn_magics_new(err, sizeof err);
    if (!it) { printf("FAIL - dn_magics_new: %s\n", err); return NULL; }
    fake_reset(f);
    snprintf(root, len, "/tmp/%s_XXXXXX", tag);
    if (!mkdtemp(root)) { printf("FAIL - mkdtemp\n"); it->ops->free(it); return NULL; }
    return it;
}

/* Shuts the interpreter down, removes root, prints the verdict; the exit status. */
static inline int test_finish(dn_interp *it, fake *f, const char *root)
{
    it->ops->shutdown(it, 0);
    it->ops->free(it);
    fake_reset(f);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0) printf("(could not remove %s)\n", root);
    printf("%s\n", check_failures ? "FAILED" : "all passed");
    return check_failures ? 1 : 0;
}

#endif
