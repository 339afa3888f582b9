/* check.h — what the runtime's C tests share: CHECK prints "ok  " or "FAIL" and a
 * sentence per check and counts failures; check_done ends main. */
#ifndef DN_TESTS_RUNTIME_CHECK_H
#define DN_TESTS_RUNTIME_CHECK_H

#include <stdio.h>

static int failures;

#define CHECK(cond, ...)                                   \
    do {                                                   \
        int ok_ = (cond);                                  \
        printf("%s ", ok_ ? "ok  " : "FAIL");              \
        printf(__VA_ARGS__);                               \
        printf("\n");                                      \
        failures += !ok_;                                  \
    } while (0)

/* "all passed" or "FAILED"; main's exit status */
static inline int check_done(void)
{
    printf("%s\n", failures ? "FAILED" : "all passed");
    return failures != 0;
}

#endif
