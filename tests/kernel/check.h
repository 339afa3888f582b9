/* check.h — the smallest test harness: CHECK prints each check, main returns failures. */
#ifndef DN_TEST_CHECK_H
#define DN_TEST_CHECK_H

#include <stdio.h>

static int check_failures;

#define CHECK(cond, ...) do { \
    int ok_ = (cond) ? 1 : 0; \
    printf("%s - ", ok_ ? "ok" : "FAIL"); printf(__VA_ARGS__); \
    if (!ok_) printf("   [%s:%d: %s]", __FILE__, __LINE__, #cond); \
    printf("\n"); fflush(stdout); \
    if (!ok_) check_failures++; \
} while (0)

#define CHECK_DONE() (printf("%d failure(s)\n", check_failures), check_failures ? 1 : 0)

#endif
