/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A test-only allocation counter: the test program's own malloc, calloc,
 * realloc, posix_memalign, aligned_alloc and memalign count every call made
 * while the counter is armed, then forward to the C library's. Not built
 * under AddressSanitizer, whose allocator must see every call itself:
 * alloc_counter_available() says so.
 */
#ifndef VFI_TEST_ALLOC_COUNTER_H
#define VFI_TEST_ALLOC_COUNTER_H

#include <stdbool.h>

bool alloc_counter_available(void);
/* Start counting from zero. */
void alloc_counter_arm(void);
/* Stop counting; returns the allocations made since alloc_counter_arm(). */
unsigned long alloc_counter_disarm(void);

#endif
