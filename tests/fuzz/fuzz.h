/* fuzz.h — what the libFuzzer harnesses of tests/fuzz share: the input cut into frames
 * or records, an input handed to code that reads files (a memfd, named through /proc),
 * and a broken invariant reported as a finding. */
#ifndef DN_FUZZ_H
#define DN_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* libFuzzer's entry points */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A cursor over the input. */
typedef struct fz_in {
    const uint8_t *p;
    size_t n;
} fz_in;

/* Next byte (0 when none left). */
unsigned fz_byte(fz_in *in);
/* Next chunk: a 2-byte little-endian length, then that many bytes (fewer at the end).
 * Returns 0 with *p and *len set, -1 when the input is used up. */
int fz_chunk(fz_in *in, const uint8_t **p, size_t *len);

/* A broken invariant: prints the sentence and aborts, which libFuzzer reports as a
 * crash and keeps the input. */
void fz_fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* An error message a person can read: NUL-terminated within n, a sentence rather than
 * nothing or a fragment (the bad input itself may be quoted in it). Fails (fz_fail)
 * otherwise; what names the call. */
void fz_check_message(const char *msg, size_t n, const char *what);

/* Puts data in an anonymous in-memory file and names it: path gets "/proc/self/fd/N".
 * Returns the descriptor (close it when done), or -1. */
int fz_memfile(const void *data, size_t n, char *path, size_t pathlen);

/* 1 when every number written in text is a whole number up to 64 without an exponent:
 * the cell and expression harnesses run only such text, so that the shapes they make
 * stay small enough to compute in a moment (the fuzzer soon writes random(99999, 99999)
 * @ ..., which is slow work rather than a fault). */
int fz_small_numbers(const char *text);

/* A scratch folder made once per process under $FZ_SCRATCH, else /dev/shm (or $TMPDIR),
 * removed at exit. */
const char *fz_scratch(void);

#endif
