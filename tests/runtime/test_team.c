/* The CPU team (team.c): every item runs once, no two running items share a thread
 * number, nested and concurrent calls run serially, and a worker the scheduler does not
 * run (played by a wake hook that blocks) does not hold a call up. */
#include "core/cpu.h"

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

enum { ITEMS = 5000, MAXT = 256 };
static _Atomic int ran[ITEMS];
static _Atomic int busy[MAXT];
static _Atomic int shared_slot, bad_thread, by_caller;
static pthread_t caller;

static void item(void *ctx, long i, int thread)
{
    (void)ctx;
    if (thread < 0 || thread >= dn_cpu_threads() || thread >= MAXT) {
        bad_thread = 1;
        return;
    }
    if (atomic_exchange(&busy[thread], 1))
        shared_slot = 1;
    volatile double x = 0;
    for (int k = 0; k < 200; k++)
        x += k * 0.5;
    ran[i]++;
    if (pthread_equal(pthread_self(), caller))
        by_caller++;
    busy[thread] = 0;
}

static int all_once(long n)
{
    for (long i = 0; i < n; i++)
        if (ran[i] != 1)
            return 0;
    return 1;
}

static void reset(void)
{
    memset((void *)ran, 0, sizeof ran);
    by_caller = 0;
}

static sem_t gate;
static _Atomic int block_next;
static void blocking_hook(int thread)
{
    (void)thread;
    if (atomic_exchange(&block_next, 0))
        sem_wait(&gate);   /* this worker is "descheduled" until the test posts */
}

static _Atomic long inner_sum;
static void inner(void *ctx, long i, int thread)
{
    (void)ctx;
    (void)thread;
    inner_sum += i;
}
static void outer(void *ctx, long i, int thread)
{
    (void)ctx;
    (void)thread;
    (void)i;
    dn_parallel_for(10, inner, NULL);
}

static void *other_caller(void *arg)
{
    (void)arg;
    for (int r = 0; r < 50; r++)
        dn_parallel_for(100, inner, NULL);
    return NULL;
}

int main(void)
{
    caller = pthread_self();
    int T = dn_cpu_threads();
    printf("team of %d threads\n", T);
    for (int r = 0; r < 200; r++) {
        reset();
        dn_parallel_for(ITEMS / (r % 7 + 1), item, NULL);
        if (!all_once(ITEMS / (r % 7 + 1)) || shared_slot || bad_thread)
            break;
    }
    CHECK(all_once(ITEMS / 4) && !shared_slot && !bad_thread,
          "200 calls: every item once, thread numbers in range, never two items on one");

    inner_sum = 0;
    dn_parallel_for(20, outer, NULL);
    CHECK(inner_sum == 20 * 45, "a call inside an item runs serially (sum %ld)", (long)inner_sum);

    inner_sum = 0;
    pthread_t t;
    pthread_create(&t, NULL, other_caller, NULL);
    for (int r = 0; r < 50; r++)
        dn_parallel_for(100, inner, NULL);
    pthread_join(t, NULL);
    CHECK(inner_sum == 100L * 50 * 99, "two threads calling at once both finish (sum %ld)",
          (long)inner_sum);

    if (T < 2) {
        printf("skipped: one core, no workers to be descheduled\n");
        return failures ? 1 : 77;
    }
    /* the next worker to wake blocks: the call must finish without it */
    sem_init(&gate, 0, 0);
    dn_team_set_wake_hook(blocking_hook);
    block_next = 1;
    reset();
    dn_parallel_for(64, item, NULL);
    CHECK(all_once(64), "a call returns with every item done while a worker is held back "
          "(%d of 64 by the caller)", (int)by_caller);
    /* let it go: it finds that job over and takes nothing from the next ones wrongly */
    sem_post(&gate);
    dn_team_set_wake_hook(NULL);
    for (int r = 0; r < 100; r++) {
        reset();
        dn_parallel_for(ITEMS, item, NULL);
        if (!all_once(ITEMS))
            break;
    }
    CHECK(all_once(ITEMS) && !shared_slot && !bad_thread,
          "after the held worker wakes late, 100 more calls run every item once");
    return check_done();
}
