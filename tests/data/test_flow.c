/* test_flow — the lesson's data steps end to end on the offline data set: the
 * deepnb-dataset tool (path in argv[1]) lays out a small sneaker-vs-boot competition,
 * dn_split performs Jeremy's process on it, and directory sources read train/, valid/
 * and test/ as %batches would. */
#include "data/dirsource.h"
#include "data/split.h"
#include "testutil.h"

static dn_dir_source *open_dir(const char *dir, int shuffle, dn_class_mode mode, char *err,
                               size_t errlen)
{
    dn_dir_options o;
    dn_dir_options_init(&o, dir);
    o.width = 28;
    o.height = 28;
    o.batch_size = 64;
    o.shuffle = shuffle;
    o.seed = 1;
    o.class_mode = mode;
    o.preprocess = DN_PRE_SCALE01;
    dn_dir_source *s = NULL;
    return dn_dir_source_new(&o, &s, err, errlen) == 0 ? s : NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_flow PATH-TO-deepnb-dataset\n");
        return 2;
    }
    char root[1024], dir[1100], cmd[4096], err[1024];
    make_tmpdir(root, sizeof root, "flow");
    pathf(dir, sizeof dir, "%s/fm", root);
    pathf(cmd, sizeof cmd, "'%s' fashion-mnist '%s' --limit 120 --no-pretrain > /dev/null", argv[1], dir);
    CHECK(system(cmd) == 0, "deepnb-dataset lays out 240 training and 240 test images");

    dn_split_options so;
    dn_split_options_init(&so, dir);
    so.valid = 40;
    so.sample_train = 20;
    so.sample_valid = 10;
    so.seed = 1;
    dn_split_result r;
    int rc = dn_split(&so, &r, err, sizeof err);
    CHECK(rc == 0, "split %s", rc ? err : r.message);
    if (rc == 0) {
        CHECK(r.nclasses == 2 && !strcmp(r.classes[0], "boot") && !strcmp(r.classes[1], "sneaker"),
              "classes boot, sneaker");
        CHECK(r.totals[DN_SPLIT_TRAIN] == 200 && r.totals[DN_SPLIT_VALID] == 40 &&
                  r.totals[DN_SPLIT_TEST] == 240,
              "200 train, 40 valid, 240 test");
        dn_split_result_fini(&r);
    }

    char sub[1200];
    pathf(sub, sizeof sub, "%s/train", dir);
    dn_dir_source *tr = open_dir(sub, 1, DN_CLASS_CATEGORICAL, err, sizeof err);
    CHECK(tr && !strcmp(dn_dir_source_message(tr), "Found 200 images belonging to 2 classes."),
          "train: %s", tr ? dn_dir_source_message(tr) : err);
    pathf(sub, sizeof sub, "%s/valid", dir);
    dn_dir_source *va = open_dir(sub, 0, DN_CLASS_CATEGORICAL, err, sizeof err);
    CHECK(va && !strcmp(dn_dir_source_message(va), "Found 40 images belonging to 2 classes."),
          "valid: %s", va ? dn_dir_source_message(va) : err);
    pathf(sub, sizeof sub, "%s/test", dir);
    dn_dir_source *te = open_dir(sub, 0, DN_CLASS_NONE, err, sizeof err);
    CHECK(te && !strcmp(dn_dir_source_message(te), "Found 240 images belonging to 1 classes."),
          "test: %s", te ? dn_dir_source_message(te) : err);
    if (tr && va && te) {
        dn_batch_source *b = dn_dir_source_base(tr);
        dn_batch bt;
        long n = 0;
        int ok = 1, batches = 0;
        while (b->ops->next(b, &bt, err, sizeof err) == 1) {
            batches++;
            n += bt.n;
            for (int i = 0; i < bt.n; i++) {
                const float *x = bt.x + (size_t)i * 28 * 28 * 3;
                const char *f = dn_dir_source_filename(tr, bt.ids[i]);
                int label = bt.y[i * 2 + 1] == 1.0f;
                /* grey images: R = G = B, in [0, 1]; the label matches the folder */
                ok &= x[300] == x[301] && x[301] == x[302] && x[300] >= 0 && x[300] <= 1;
                ok &= !strncmp(f, label ? "sneaker/sneaker." : "boot/boot.", label ? 16 : 10);
            }
        }
        CHECK(ok && n == 200 && batches == 4, "a training epoch: 4 batches, grey pixels, "
              "labels matching the folders");
        b = dn_dir_source_base(te);
        ok = b->ops->next(b, &bt, err, sizeof err) == 1 && bt.y == NULL &&
             !strncmp(dn_dir_source_filename(te, bt.ids[0]), "unknown/", 8);
        CHECK(ok, "test batches: unlabelled, file names unknown/<id>.png (%s)",
              dn_dir_source_filename(te, 0));
    }
    dn_dir_source_free(tr);
    dn_dir_source_free(va);
    dn_dir_source_free(te);
    rm_rf(root);
    printf("%s: %d failure(s)\n", failures ? "FAILED" : "passed", failures);
    return failures ? 1 : 0;
}
