/* test_isolate — reading in a child process (io/isolate.h): a crash, a hang and a failure
 * in the child come back as messages, what the child writes to shared memory comes back,
 * and a real weight file that crashes Debian's libhdf5 (fixtures/crashes-libhdf5.h5, a
 * Keras file whose global heap was damaged) fails the load without touching the model. */
#include "check.h"
#include "core/model.h"
#include "io/isolate.h"
#include "io/model_weights.h"

#include <signal.h>
#include <time.h>

static int crash(void *ctx, char *err, size_t errlen)
{
    (void)ctx; (void)err; (void)errlen;
    raise(SIGSEGV);
    return 0;
}

static int hang(void *ctx, char *err, size_t errlen)
{
    (void)ctx; (void)err; (void)errlen;
    for (;;) pause();
    return 0;
}

static int refuse(void *ctx, char *err, size_t errlen)
{
    (void)ctx;
    snprintf(err, errlen, "not a weight file, says the child");
    return -1;
}

static int fill(void *ctx, char *err, size_t errlen)
{
    (void)err; (void)errlen;
    float *shared = ctx;
    for (int i = 0; i < 1000; i++) shared[i] = (float)i;
    return 0;
}

int main(void)
{
    char err[1024];
    int rc = dn_isolated(crash, NULL, 10, "reading 'x.h5'", err, sizeof err);
    CHECK(rc == -1 && strstr(err, "reading 'x.h5' crashed") && strstr(err, "signal 11"),
          "a crash in the child: %s", err);
    rc = dn_isolated(hang, NULL, 0.3, "reading 'y.h5'", err, sizeof err);
    CHECK(rc == -1 && strstr(err, "took longer than"), "a hang is stopped: %s", err);
    rc = dn_isolated(refuse, NULL, 10, "reading 'z.h5'", err, sizeof err);
    CHECK(rc == -1 && !strcmp(err, "not a weight file, says the child"), "its message: %s", err);
    float *shared = dn_shared_alloc(1000 * sizeof(float));
    rc = dn_isolated(fill, shared, 10, "filling", err, sizeof err);
    CHECK(rc == 0 && shared[0] == 0 && shared[999] == 999, "what it writes to shared memory comes back");
    dn_shared_free(shared, 1000 * sizeof(float));

    /* the real thing: a file that crashes libhdf5 when read in the process */
    char path[4096];
    const char *src = getenv("MESON_SOURCE_ROOT");
    snprintf(path, sizeof path, "%s/tests/io/fixtures/crashes-libhdf5.h5", src ? src : ".");
    CHECK(access(path, R_OK) == 0, "the fixture is at %s", path);
    /* under AddressSanitizer the library's bad read is caught before it can crash, and the
     * child ends with ASan's exit status instead of a signal */
#ifdef __SANITIZE_ADDRESS__
    const char *want = "ended with status";
#else
    const char *want = "crashed the HDF5 library";
#endif
    rc = dn_weights_check_isolated(path, err, sizeof err);
    CHECK(rc == -1 && strstr(err, want), "checking it: %s", err);
    dn_model *m = dn_model_new(1, err, sizeof err);
    int in[1] = { 2 };
    dn_model_set_input(m, 1, in, err, sizeof err);
    dn_model_add(m, dn_dense_new(1, DN_ACT_LINEAR, 1, err, sizeof err), err, sizeof err);
    dn_param *k = dn_layer_param(dn_model_layer(m, 0), 0);
    float before[2] = { k->data[0], k->data[1] };
    rc = dn_model_load_weights_isolated(m, path, 0, err, sizeof err);
    CHECK(rc == -1 && strstr(err, want), "loading it: %s", err);
    CHECK(k->data[0] == before[0] && k->data[1] == before[1], "and the model is as it was");
    dn_model_free(m);
    printf("%s\n", failures ? "FAILED" : "all passed");
    return failures != 0;
}
