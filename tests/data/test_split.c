/* test_split — %split's engine on competition-shaped folders this test writes
 * (train/cat.N.png, train/dog.N.png, test/N.png, sample_submission.csv): exact
 * counts, no file lost or duplicated (content checksums before and after), the same
 * seed giving the same split, refusal over an existing layout, and finishing the job
 * after real failures part-way (a folder taken away mid-run; a file-size limit that
 * makes copies fail like a full disk) and after an interruption. */
#include "data/split.h"
#include "testutil.h"

#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/wait.h>

#define NCAT 160
#define NDOG 140
#define NTEST 40

static char root[1024];

static uint64_t fnv(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return h;
}

typedef struct listing {
    char **line;   /* "relative/path <hash>" sorted */
    int n, cap;
} listing;

static void walk(const char *base, const char *rel, listing *l)
{
    char p[4096];
    pathf(p, sizeof p, "%s%s%s", base, *rel ? "/" : "", rel);
    DIR *d = opendir(p);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char r[4096], full[4096];
        pathf(r, sizeof r, "%s%s%s", rel, *rel ? "/" : "", de->d_name);
        pathf(full, sizeof full, "%s/%s", base, r);
        struct stat st;
        stat(full, &st);
        if (S_ISDIR(st.st_mode)) {
            walk(base, r, l);
            pathf(r + strlen(r), sizeof r - strlen(r), "/");
        }
        size_t n = 0;
        char *b = S_ISDIR(st.st_mode) ? NULL : read_file(full, &n);
        char line[4200];
        pathf(line, sizeof line, "%s %016llx", r, b ? (unsigned long long)fnv(b, n) : 0ull);
        free(b);
        if (l->n == l->cap) {
            l->cap = l->cap ? l->cap * 2 : 256;
            l->line = realloc(l->line, sizeof *l->line * l->cap);
        }
        l->line[l->n++] = strdup(line);
    }
    closedir(d);
}

static int cmp_line(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static listing list_tree(const char *dir)
{
    listing l = {0};
    walk(dir, "", &l);
    if (l.n > 1)
        qsort(l.line, l.n, sizeof *l.line, cmp_line);
    return l;
}

static void listing_free(listing *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->line[i]);
    free(l->line);
}

static int same_listing(const listing *a, const listing *b)
{
    if (a->n != b->n)
        return 0;
    for (int i = 0; i < a->n; i++)
        if (strcmp(a->line[i], b->line[i]))
            return 0;
    return 1;
}

/* hash of the file with this base name in the listing under prefix (or 0) */
static int count_with(const listing *l, const char *prefix, const char *name, const char *hash)
{
    int k = 0;
    size_t pl = strlen(prefix);
    for (int i = 0; i < l->n; i++) {
        const char *s = l->line[i], *sp = strrchr(s, ' '), *slash;
        if (strncmp(s, prefix, pl))
            continue;
        for (slash = sp; slash > s && *slash != '/'; slash--)
            ;
        if (*slash == '/')
            slash++;
        if ((size_t)(sp - slash) == strlen(name) && !strncmp(slash, name, sp - slash) &&
            (!hash || !strcmp(sp + 1, hash)))
            k++;
    }
    return k;
}

/* a competition-shaped folder; big > 0 makes every training file that many bytes */
static void make_competition(const char *dir, int ncat, int ndog, int ntest, size_t big)
{
    char p[4096];
    pathf(p, sizeof p, "%s/train", dir);
    mkdirs(p);
    pathf(p, sizeof p, "%s/test", dir);
    mkdirs(p);
    for (int i = 0; i < ncat + ndog; i++) {
        int dog = i >= ncat, n = dog ? i - ncat : i;
        pathf(p, sizeof p, "%s/train/%s.%d.png", dir, dog ? "dog" : "cat", n);
        if (big) {
            char *b = malloc(big);
            for (size_t j = 0; j < big; j++)
                b[j] = (char)(j * 31 + i * 7);
            write_bytes(p, b, big);
            free(b);
        } else {
            write_solid_png(p, 4, 4, n % 256, n / 256, dog ? 200 : 100);
        }
    }
    for (int i = 1; i <= ntest; i++) {
        pathf(p, sizeof p, "%s/test/%d.png", dir, i);
        write_solid_png(p, 4, 4, i, 0, 50);
    }
    pathf(p, sizeof p, "%s/sample_submission.csv", dir);
    write_bytes(p, "id,label\n1,0.5\n", 15);
}

static dn_split_options opts(const char *dir, uint64_t seed)
{
    dn_split_options o;
    dn_split_options_init(&o, dir);
    o.valid = 60;
    o.sample_train = 20;
    o.sample_valid = 10;
    o.seed = seed;
    return o;
}

/* Every original file is in exactly one final place with its content; copies are
 * exact copies of a file in the right set; nothing else is left behind. */
static int conserved(const listing *before, const listing *after, int ntest)
{
    int ok = 1;
    for (int i = 0; i < before->n; i++) {
        const char *s = before->line[i], *sp = strrchr(s, ' ');
        char name[512];
        pathf(name, sizeof name, "%.*s", (int)(sp - s), s);
        if (sp > s && sp[-1] == '/')
            continue;   /* a folder */
        if (!strncmp(name, "train/", 6) && strchr(name + 6, '/') == NULL) {
            const char *base = name + 6;
            int in_train = count_with(after, "train/", base, sp + 1);
            int in_valid = count_with(after, "valid/", base, sp + 1);
            int anywhere = count_with(after, "", base, NULL);
            int copies = count_with(after, "sample/", base, sp + 1);
            if (in_train + in_valid != 1 || anywhere != 1 + copies ||
                (copies && count_with(after, in_valid ? "sample/valid/" : "sample/train/",
                                      base, sp + 1) != 1)) {
                printf("     %s: train %d valid %d copies %d anywhere %d\n", base, in_train,
                       in_valid, copies, anywhere);
                ok = 0;
            }
        } else if (!strncmp(name, "test/", 5) && strchr(name + 5, '/') == NULL) {
            if (count_with(after, "test/unknown/", name + 5, sp + 1) != 1) {
                printf("     %s not in test/unknown\n", name);
                ok = 0;
            }
        }
    }
    for (int i = 0; i < after->n; i++)
        if (strstr(after->line[i], ".deepnb")) {
            printf("     left behind: %s\n", after->line[i]);
            ok = 0;
        }
    (void)ntest;
    return ok;
}

static void test_split_fresh(const char *dir, listing *out_after)
{
    make_competition(dir, NCAT, NDOG, NTEST, 0);
    listing before = list_tree(dir);
    dn_split_options o = opts(dir, 5);
    dn_split_result r;
    char err[1024];
    int rc = dn_split(&o, &r, err, sizeof err);
    CHECK(rc == 0, "split a fresh folder %s", rc ? err : "");
    if (rc)
        return;
    char table[2048];
    dn_split_format(&r, table, sizeof table);
    printf("%s\n%s", r.message, table);
    CHECK(r.nclasses == 2 && !strcmp(r.classes[0], "cat") && !strcmp(r.classes[1], "dog"),
          "classes cat, dog from the prefixes");
    CHECK(r.totals[DN_SPLIT_TRAIN] == NCAT + NDOG - 60 && r.totals[DN_SPLIT_VALID] == 60 &&
              r.totals[DN_SPLIT_SAMPLE_TRAIN] == 20 && r.totals[DN_SPLIT_SAMPLE_VALID] == 10 &&
              r.totals[DN_SPLIT_TEST] == NTEST,
          "exact counts: train 240, valid 60, sample 20/10, test 40");
    long cats = r.counts[DN_SPLIT_TRAIN * 2] + r.counts[DN_SPLIT_VALID * 2];
    long dogs = r.counts[DN_SPLIT_TRAIN * 2 + 1] + r.counts[DN_SPLIT_VALID * 2 + 1];
    CHECK(cats == NCAT && dogs == NDOG, "per class: %ld cats, %ld dogs in train+valid", cats, dogs);
    CHECK(!r.resumed, "not a resumed split");
    listing after = list_tree(dir);
    CHECK(conserved(&before, &after, NTEST), "no file lost or duplicated (checksums)");
    int prefix_ok = 1;
    for (int i = 0; i < after.n; i++) {
        const char *s = after.line[i];
        if (strstr(s, "/ "))
            continue;   /* a folder */
        const char *c = strstr(s, "/cat/") ? "cat." : strstr(s, "/dog/") ? "dog." : NULL;
        if (c && !strstr(s, c))
            prefix_ok = 0;
    }
    CHECK(prefix_ok, "every file is in the folder of its prefix");
    char p[2048];
    pathf(p, sizeof p, "%s/results", dir);
    struct stat st;
    int dirs_ok = stat(p, &st) == 0;
    static const char *made[] = {"sample/test", "sample/results", "test/unknown", "valid/cat",
                                 "sample/valid/dog"};
    for (int i = 0; i < 5; i++) {
        pathf(p, sizeof p, "%s/%s", dir, made[i]);
        dirs_ok &= stat(p, &st) == 0 && S_ISDIR(st.st_mode);
    }
    CHECK(dirs_ok, "results/, sample/test/, sample/results/, test/unknown/ and class folders exist");
    pathf(p, sizeof p, "%s/sample_submission.csv", dir);
    CHECK(stat(p, &st) == 0, "sample_submission.csv untouched");

    dn_split_result_fini(&r);
    /* refusal */
    rc = dn_split(&o, &r, err, sizeof err);
    listing again = list_tree(dir);
    CHECK(rc != 0 && strstr(err, "valid/") && strstr(err, "sample/") &&
              strstr(err, "train/cat/") && strstr(err, "nothing was changed"),
          "refuses an existing layout: %s", err);
    CHECK(same_listing(&after, &again), "and changes nothing");
    listing_free(&again);
    listing_free(&before);
    *out_after = after;
}

static int stop_at;
static char sabotage_dir[2048];

/* at step stop_at, takes test/unknown away: the test moves then fail for real */
static int sabotage(void *ctx, long done, long total)
{
    (void)ctx;
    (void)total;
    if (done == stop_at) {
        char a[2100], b[2100];
        pathf(a, sizeof a, "%s/test/unknown", sabotage_dir);
        pathf(b, sizeof b, "%s/test/away", sabotage_dir);
        rename(a, b);
    }
    return 0;
}

static long first_seen;   /* the first step a run's progress reported, or -1 */

static int interrupt(void *ctx, long done, long total)
{
    (void)ctx;
    (void)total;
    if (first_seen < 0)
        first_seen = done;
    return done == stop_at;
}

static void test_resume(const char *dir, const listing *reference)
{
    char err[1024], a[2100], b[2100];
    make_competition(dir, NCAT, NDOG, NTEST, 0);
    dn_split_options o = opts(dir, 5);
    dn_split_result r;
    /* steps: 7 + 1 + 8 folders, 30 copies, 300 moves of train, 40 of test */
    long total = 16 + 30 + 300 + NTEST;
    stop_at = (int)(total - 25);
    pathf(sabotage_dir, sizeof sabotage_dir, "%s", dir);
    o.progress = sabotage;
    int rc = dn_split(&o, &r, err, sizeof err);
    CHECK(rc != 0 && strstr(err, "stopped at step") && strstr(err, "no file was lost") &&
              strstr(err, "moves"),
          "a folder taken away mid-run stops the split: %s", err);
    pathf(a, sizeof a, "%s/.deepnb-split.journal", dir);
    struct stat st;
    CHECK(stat(a, &st) == 0, "the journal stays for the rerun");
    dn_split_options other = opts(dir, 6);
    rc = dn_split(&other, &r, err, sizeof err);
    CHECK(rc != 0 && strstr(err, "seed=5"), "a rerun with other options is refused: %s", err);
    pathf(a, sizeof a, "%s/test/away", dir);
    pathf(b, sizeof b, "%s/test/unknown", dir);
    rename(a, b);
    o.progress = NULL;
    rc = dn_split(&o, &r, err, sizeof err);
    CHECK(rc == 0 && r.resumed, "running it again finishes the job %s", rc ? err : "");
    listing l = list_tree(dir);
    CHECK(same_listing(&l, reference), "the result is exactly the uninterrupted split's (%d files)",
          l.n);
    listing_free(&l);
    dn_split_result_fini(&r);

    /* an interruption (a progress callback saying stop) in the middle of the copies */
    rm_rf(dir);
    make_competition(dir, NCAT, NDOG, NTEST, 0);
    stop_at = 20;
    first_seen = -1;
    o.progress = interrupt;
    rc = dn_split(&o, &r, err, sizeof err);
    CHECK(rc != 0 && strstr(err, "interrupted at step 21"), "interrupted: %s", err);
    /* interrupted again, sooner after its start than the first run was: its progress
     * starts where the first stopped and its counts do not go back */
    long moves_before = -1, moves_after = -1;
    const char *d = strstr(err, "Done so far: ");
    if (d)
        sscanf(d, "Done so far: %ld", &moves_before);
    stop_at = 22;
    first_seen = -1;
    rc = dn_split(&o, &r, err, sizeof err);
    d = strstr(err, "Done so far: ");
    if (d)
        sscanf(d, "Done so far: %ld", &moves_after);
    CHECK(rc != 0 && first_seen == 20 && strstr(err, "interrupted at step 23") &&
              moves_after >= moves_before && moves_before >= 0,
          "a second interruption: progress went on from step %ld, moves done %ld then %ld",
          first_seen, moves_before, moves_after);
    o.progress = NULL;
    rc = dn_split(&o, &r, err, sizeof err);
    l = list_tree(dir);
    CHECK(rc == 0 && same_listing(&l, reference), "resumed after an interruption, same result");
    listing_free(&l);
    dn_split_result_fini(&r);
}

/* Copies fail with EFBIG under a file-size limit, as on a full disk: the child
 * process runs the split under the limit, the parent finishes it. */
static void test_disk_full(const char *dir)
{
    const size_t big = 70000;
    make_competition(dir, 30, 30, 5, big);
    listing before = list_tree(dir);
    dn_split_options o = opts(dir, 9);
    o.valid = 10;
    o.sample_train = 5;
    o.sample_valid = 3;
    int fd[2];
    if (pipe(fd) != 0)
        return;
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {60000, 60000};
        setrlimit(RLIMIT_FSIZE, &rl);
        dn_split_result r;
        char err[1024] = "";
        int rc = dn_split(&o, &r, err, sizeof err);
        if (write(fd[1], err, strlen(err)) < 0)
            _exit(3);
        _exit(rc == 0 ? 0 : 1);
    }
    close(fd[1]);
    char msg[1024] = "";
    ssize_t n = read(fd[0], msg, sizeof msg - 1);
    msg[n > 0 ? n : 0] = 0;
    close(fd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 1 && strstr(msg, "copying") &&
              strstr(msg, "File too large"),
          "a copy that cannot be written stops the split: %s", msg);
    dn_split_result r;
    char err[1024];
    int rc = dn_split(&o, &r, err, sizeof err);
    listing after = list_tree(dir);
    CHECK(rc == 0 && r.resumed && r.totals[DN_SPLIT_SAMPLE_TRAIN] == 5 &&
              r.totals[DN_SPLIT_VALID] == 10 && r.totals[DN_SPLIT_TRAIN] == 50,
          "rerun without the limit finishes: %s", rc ? err : r.message);
    CHECK(conserved(&before, &after, 5), "no file lost, no temporary file left behind");
    listing_free(&before);
    listing_free(&after);
    if (rc == 0)
        dn_split_result_fini(&r);
}

static void test_bad_inputs(void)
{
    char d[2048], p[2100], err[1024];
    dn_split_result r;
    pathf(d, sizeof d, "%s/nope", root);
    dn_split_options o = opts(d, 1);
    CHECK(dn_split(&o, &r, err, sizeof err) != 0 && strstr(err, "cannot open folder"),
          "missing folder: %s", err);
    pathf(d, sizeof d, "%s/noprefix", root);
    make_competition(d, 10, 10, 2, 0);
    pathf(p, sizeof p, "%s/train/README", d);
    write_bytes(p, "x", 1);
    listing before = list_tree(d);
    o = opts(d, 1);
    o.valid = 5;
    o.sample_train = 2;
    o.sample_valid = 1;
    CHECK(dn_split(&o, &r, err, sizeof err) != 0 && strstr(err, "train/README has no class prefix"),
          "a file without a prefix: %s", err);
    listing after = list_tree(d);
    CHECK(same_listing(&before, &after), "and nothing was changed");
    o.valid = 30;
    unlink(p);
    CHECK(dn_split(&o, &r, err, sizeof err) != 0 && strstr(err, "leave none"),
          "valid larger than train: %s", err);
    listing_free(&before);
    listing_free(&after);
}

/* A journal the folder came with (a downloaded archive can ship one): whatever it says,
 * no step may reach outside the folder, and it must be about the files here. */
static void test_planted_journal(void)
{
    static const char *const journals[] = {
        /* an absolute path */
        "M\ttrain/cat.1.png\t/tmp/deepnb-planted-cat.1.png\n",
        /* out through .. */
        "D\tvalid\nM\ttrain/cat.1.png\tvalid/../../planted-cat.1.png\n",
        /* a folder outside the layout */
        "M\ttrain/cat.1.png\telsewhere/cat.1.png\n",
        /* through a link the archive made: valid -> outside */
        "M\ttrain/cat.1.png\tvalid/cat.1.png\n",
        /* files that are not here */
        "D\tvalid\nM\ttrain/tiger.1.png\tvalid/tiger.1.png\n",
    };
    static const char *const words[] = { "outside", "outside", "outside", "outside", "not here" };
    char d[2048], p[2100], out[2100], err[1024];
    pathf(out, sizeof out, "%s/outside", root);
    mkdir(out, 0777);
    for (size_t k = 0; k < sizeof journals / sizeof journals[0]; k++) {
        pathf(d, sizeof d, "%s/planted%zu", root, k);
        make_competition(d, 10, 10, 2, 0);
        if (k == 3) {
            pathf(p, sizeof p, "%s/valid", d);
            if (symlink(out, p) != 0) perror("symlink");
        }
        char text[512];
        snprintf(text, sizeof text, "deepnb-split 1 valid=5 sample_train=2 sample_valid=1 seed=9\n%send\n",
                 journals[k]);
        pathf(p, sizeof p, "%s/.deepnb-split.journal", d);
        write_bytes(p, text, strlen(text));
        listing before = list_tree(d);
        dn_split_options o = opts(d, 9);
        o.valid = 5;
        o.sample_train = 2;
        o.sample_valid = 1;
        dn_split_result r;
        int rc = dn_split(&o, &r, err, sizeof err);
        listing after = list_tree(d);
        CHECK(rc != 0 && strstr(err, "not written by %split") && strstr(err, words[k]),
              "planted journal %zu refused: %s", k, err);
        CHECK(same_listing(&before, &after), "and nothing in the folder changed");
        DIR *od = opendir(out);
        int entries = 0;
        for (struct dirent *e; od && (e = readdir(od));)
            entries += e->d_name[0] != '.';
        if (od) closedir(od);
        CHECK(entries == 0 && access("/tmp/deepnb-planted-cat.1.png", F_OK) != 0,
              "and nothing reached outside it");
        listing_free(&before);
        listing_free(&after);
    }
}

int main(void)
{
    make_tmpdir(root, sizeof root, "split");
    char a[2048], b[2048], c[2048], d[2048];
    pathf(a, sizeof a, "%s/a", root);
    pathf(b, sizeof b, "%s/b", root);
    pathf(c, sizeof c, "%s/c", root);
    pathf(d, sizeof d, "%s/d", root);
    listing ref = {0};
    test_split_fresh(a, &ref);

    /* same seed, same split; another seed, another one */
    make_competition(b, NCAT, NDOG, NTEST, 0);
    dn_split_options o = opts(b, 5);
    dn_split_result r;
    char err[1024];
    int rc = dn_split(&o, &r, err, sizeof err);
    listing lb = list_tree(b);
    CHECK(rc == 0 && same_listing(&lb, &ref), "the same seed gives the same split");
    listing_free(&lb);
    if (rc == 0)
        dn_split_result_fini(&r);
    rm_rf(b);
    make_competition(b, NCAT, NDOG, NTEST, 0);
    o = opts(b, 6);
    rc = dn_split(&o, &r, err, sizeof err);
    lb = list_tree(b);
    CHECK(rc == 0 && !same_listing(&lb, &ref), "another seed gives another split");
    listing_free(&lb);
    if (rc == 0)
        dn_split_result_fini(&r);

    test_resume(c, &ref);
    test_disk_full(d);
    test_bad_inputs();
    test_planted_journal();
    listing_free(&ref);
    rm_rf(root);
    printf("%s: %d failure(s)\n", failures ? "FAILED" : "passed", failures);
    return failures ? 1 : 0;
}
