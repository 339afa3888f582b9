/* team.c — the CPU backend's team of threads behind dn_parallel_for.
 *
 * Why not an OpenMP parallel region: it ends in a barrier that every thread of the team
 * must reach, so on a shared machine a thread the scheduler has not run yet holds the
 * whole step up until it is run, only to find the work done. Here the caller works too,
 * items are claimed one at a time, and the caller waits only for items that some thread
 * has claimed and not finished; a worker that wakes late finds nothing left and sleeps
 * again. Which thread runs an item never changes its result: items are independent and
 * callers add partial results in item order.
 *
 * A job's claims live in one 64-bit word, the job's generation above the next item's
 * index, so a worker that read an older job and was descheduled can never claim an item
 * of the next one with the old job's function. */
#include "cpu.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#define SPINS 4000        /* polls before sleeping: a step's regions follow closely */

typedef void (*item_fn)(void *ctx, long i, int thread);

static struct {
    pthread_mutex_t callers;      /* one job at a time; a second caller runs serially */
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    int nworkers;                 /* threads besides the caller's */
    uint32_t gen;                 /* the current job (under mu) */
    item_fn fn;
    void *ctx;
    long count;
    _Atomic uint64_t claim;       /* gen << 32 | next item */
    _Atomic long finished;
    int sleeping_caller;          /* the caller waits on done */
    void (*hook)(int thread);     /* tests: called by a worker when it wakes */
} team = {.callers = PTHREAD_MUTEX_INITIALIZER, .mu = PTHREAD_MUTEX_INITIALIZER,
          .wake = PTHREAD_COND_INITIALIZER, .done = PTHREAD_COND_INITIALIZER};

static _Thread_local int in_team;   /* nested calls run serially */

static inline void pause_cpu(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Claims and runs items of job gen until none is left; returns how many it ran. */
static long run_items(uint32_t gen, item_fn fn, void *ctx, long count, int thread)
{
    long ran = 0;
    for (;;) {
        uint64_t c = atomic_load(&team.claim);
        if ((uint32_t)(c >> 32) != gen || (long)(c & 0xffffffffu) >= count)
            return ran;
        if (!atomic_compare_exchange_weak(&team.claim, &c, c + 1))
            continue;
        fn(ctx, (long)(c & 0xffffffffu), thread);
        ran++;
        if (atomic_fetch_add(&team.finished, 1) + 1 == count) {
            pthread_mutex_lock(&team.mu);
            if (team.sleeping_caller)
                pthread_cond_signal(&team.done);
            pthread_mutex_unlock(&team.mu);
        }
    }
}

static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    in_team = 1;
    uint32_t seen = 0;
    for (;;) {
        /* spin a little for the next job, then sleep */
        for (int s = 0; s < SPINS && (uint32_t)(atomic_load(&team.claim) >> 32) == seen; s++)
            pause_cpu();
        pthread_mutex_lock(&team.mu);
        while (team.gen == seen)
            pthread_cond_wait(&team.wake, &team.mu);
        seen = team.gen;
        item_fn fn = team.fn;
        void *ctx = team.ctx;
        long count = team.count;
        void (*hook)(int) = team.hook;
        pthread_mutex_unlock(&team.mu);
        if (hook)
            hook(id);
        run_items(seen, fn, ctx, count, id);
    }
    return NULL;
}

/* Starts the workers once (under mu); fewer when threads cannot be made. */
static void start_workers(void)
{
    static int started;
    if (started)
        return;
    started = 1;
    int want = dn_cpu_threads() - 1;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    /* workers start with every signal blocked: the kernel's interrupt is for the thread
     * running the cell */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    for (int i = 0; i < want; i++) {
        pthread_t t;
        if (pthread_create(&t, &a, worker, (void *)(intptr_t)(i + 1)))
            break;
        team.nworkers++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&a);
}

void dn_parallel_for(long count, void (*fn)(void *ctx, long i, int thread), void *ctx)
{
    if (count <= 0)
        return;
    if (count == 1 || dn_cpu_threads() == 1 || in_team || count > 0xffffffffL ||
        pthread_mutex_trylock(&team.callers)) {
        for (long i = 0; i < count; i++)
            fn(ctx, i, 0);
        return;
    }
    pthread_mutex_lock(&team.mu);
    start_workers();
    if (!team.nworkers) {
        pthread_mutex_unlock(&team.mu);
        pthread_mutex_unlock(&team.callers);
        for (long i = 0; i < count; i++)
            fn(ctx, i, 0);
        return;
    }
    uint32_t gen = ++team.gen;
    team.fn = fn;
    team.ctx = ctx;
    team.count = count;
    atomic_store(&team.finished, 0);
    atomic_store(&team.claim, (uint64_t)gen << 32);
    pthread_cond_broadcast(&team.wake);
    pthread_mutex_unlock(&team.mu);

    in_team = 1;
    run_items(gen, fn, ctx, count, 0);
    in_team = 0;
    /* every item is claimed: wait for the ones still running elsewhere */
    for (int s = 0; s < SPINS && atomic_load(&team.finished) < count; s++)
        pause_cpu();
    if (atomic_load(&team.finished) < count) {
        pthread_mutex_lock(&team.mu);
        team.sleeping_caller = 1;
        while (atomic_load(&team.finished) < count)
            pthread_cond_wait(&team.done, &team.mu);
        team.sleeping_caller = 0;
        pthread_mutex_unlock(&team.mu);
    }
    pthread_mutex_unlock(&team.callers);
}

void dn_team_set_wake_hook(void (*hook)(int thread))
{
    pthread_mutex_lock(&team.mu);
    team.hook = hook;
    pthread_mutex_unlock(&team.mu);
}
