/* workspace.h — the named objects of one kernel (models, arrays, batches, predictions)
 * and the seed every random choice derives from.
 *
 * A kind of object is described once by a dn_type (a static vtable); the workspace owns
 * what is stored in it and frees it with its type's free when replaced or removed.
 *
 * Seeding: `%seed N` calls dn_workspace_set_seed. A command that makes random choices
 * (split, shuffle, weight init, dropout) takes one fresh seed with
 * dn_workspace_next_seed() each time it runs and seeds its own generator with it. The
 * seeds handed out after `%seed N` are a fixed sequence, so re-running a notebook from the
 * top repeats every choice; the same command run twice still gets different seeds. */
#ifndef DN_WORKSPACE_H
#define DN_WORKSPACE_H

#include <stddef.h>
#include <stdint.h>

struct dn_array;
struct json_t;

typedef struct dn_type {
    const char *name;   /* "model", "array", "batches", "predictions" */
    /* one line about obj for %who, e.g. "Sequential, 3 layers, 1,234 params" */
    void (*describe)(const void *obj, char *buf, size_t len);
    void (*free)(void *obj);
    /* Optional. NAME.attr in expressions (%let y = batches.labels): a new array the
     * caller frees, or NULL with a message ("'b' (batches) has no attribute 'foo';
     * it has: labels, classes, ..."). attrs lists the names, NULL-terminated. */
    struct dn_array *(*attr)(const void *obj, const char *attr, char *err, size_t errlen);
    const char *const *attrs;
    /* Optional. What a line that is only NAME shows: a new MIME bundle with text/plain
     * (a model's summary, a batches object's description). Without it, describe's line. */
    struct json_t *(*show)(const void *obj);
} dn_type;

typedef struct dn_workspace dn_workspace;

dn_workspace *dn_workspace_new(void);
void dn_workspace_free(dn_workspace *ws);

/* Is name usable (an identifier: letter or _, then letters, digits, _)? */
int dn_workspace_valid_name(const char *name);
/* Stores obj under name, taking ownership, replacing (and freeing) any old object.
 * On error (bad name, no memory) obj is NOT taken: the caller still owns it. */
int dn_workspace_set(dn_workspace *ws, const char *name, const dn_type *type, void *obj,
                     char *err, size_t errlen);
/* The object named name, or NULL; *type (when not NULL) gets its type. */
void *dn_workspace_get(const dn_workspace *ws, const char *name, const dn_type **type);
/* The object named name if it has type type; NULL with a message ("no name 'x' in the
 * workspace (see %who)", "'x' is an array, not a model") otherwise. */
void *dn_workspace_get_typed(const dn_workspace *ws, const char *name, const dn_type *type,
                             char *err, size_t errlen);
/* The message for a name the workspace lacks, with the closest name when it looks like a
 * typo: "no name 'modle' in the workspace. Did you mean 'model'?" */
void dn_workspace_missing(const dn_workspace *ws, const char *name, char *err, size_t errlen);
/* Frees and forgets name; 0 when it existed, -1 otherwise. */
int dn_workspace_remove(dn_workspace *ws, const char *name);

/* Names in alphabetical order: entry i, or NULL past the end. */
size_t dn_workspace_count(const dn_workspace *ws);
const char *dn_workspace_name_at(const dn_workspace *ws, size_t i, const dn_type **type,
                                 const void **obj);

/* The seed set by %seed, or the one chosen at start from system entropy. */
uint64_t dn_workspace_seed(const dn_workspace *ws);
/* 1 when the seed was set by %seed, 0 when it was chosen at start. */
int dn_workspace_seed_is_set(const dn_workspace *ws);
void dn_workspace_set_seed(dn_workspace *ws, uint64_t seed);
/* A fresh seed for the next random consumer (see above). */
uint64_t dn_workspace_next_seed(dn_workspace *ws);
/* The seed dn_workspace_next_seed would return, without taking it: a command that may
 * still fail builds with it and takes it only once it succeeded, so a failed cell does
 * not shift the seeds of the cells after it. */
uint64_t dn_workspace_peek_seed(const dn_workspace *ws);

#endif
