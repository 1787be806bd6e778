/*
 * mem.h - the one allocation path of libbulwark.
 *
 * Every allocation goes through these wrappers so that a test build can make
 * the Nth allocation fail and check that each error path cleans up (see
 * tests/unit/test_faults.c).  Outside such a build they are the libc calls.
 * bw_free(NULL) is a no-op.  All functions are thread-safe.
 */
#ifndef BW_CORE_MEM_H
#define BW_CORE_MEM_H

#include <stddef.h>

void *bw_malloc(size_t n);
void *bw_calloc(size_t count, size_t size);
void *bw_realloc(void *p, size_t n);
/* Grows an array of count elements of size bytes to at least want elements,
 * doubling; returns NULL (and leaves *p alone) on overflow or failure. */
void *bw_grow(void *p, size_t *cap, size_t want, size_t size);
char *bw_strdup(const char *s);
char *bw_strndup(const char *s, size_t n);
void bw_free(void *p);

/* Fault injection: after this call the nth allocation from now (1 = the next
 * one) and every later one fail until bw_mem_fail_reset().  Only honoured in
 * builds with BW_FAULT_INJECTION; elsewhere it returns -1 and does nothing. */
int bw_mem_fail_after(long nth);
void bw_mem_fail_reset(void);

#endif
