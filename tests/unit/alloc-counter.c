/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Test-only allocation counter (see alloc-counter.h). The definitions below
 * interpose the C library's allocator for this test program; dlsym() itself
 * may allocate while the real functions are being looked up, which a small
 * static buffer serves.
 */
#include <dlfcn.h>
#include <malloc.h>
#include <stdlib.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "alloc-counter.h"

#if defined(__SANITIZE_ADDRESS__)

bool alloc_counter_available(void)
{
    return false;
}

void alloc_counter_arm(void)
{
}

unsigned long alloc_counter_disarm(void)
{
    return 0;
}

#else

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);
static void *(*real_memalign)(size_t, size_t);

static _Alignas(16) char boot_buf[8192];
static size_t boot_used;
static bool looking_up;
static volatile bool armed;
static volatile unsigned long count;

static void *boot_alloc(size_t n)
{
    void *p;

    n = (n + 15) & ~(size_t)15;
    if (boot_used + n > sizeof(boot_buf)) {
        return NULL;
    }
    p = boot_buf + boot_used;
    boot_used += n;
    return p;
}

static bool from_boot(const void *p)
{
    return (const char *)p >= boot_buf && (const char *)p < boot_buf + sizeof(boot_buf);
}

static void lookup(void)
{
    looking_up = true;
    real_malloc = dlsym(RTLD_NEXT, "malloc");
    real_calloc = dlsym(RTLD_NEXT, "calloc");
    real_realloc = dlsym(RTLD_NEXT, "realloc");
    real_free = dlsym(RTLD_NEXT, "free");
    real_posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
    real_aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
    real_memalign = dlsym(RTLD_NEXT, "memalign");
    looking_up = false;
}

static inline void counted(void)
{
    if (armed) {
        count++;
    }
}

void *malloc(size_t n)
{
    if (!real_malloc) {
        if (looking_up) {
            return boot_alloc(n);
        }
        lookup();
    }
    counted();
    return real_malloc(n);
}

void *calloc(size_t a, size_t b)
{
    if (!real_calloc) {
        if (looking_up) {
            /* boot_buf is static: already zero */
            return a && b > SIZE_MAX / a ? NULL : boot_alloc(a * b);
        }
        lookup();
    }
    counted();
    return real_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
    if (from_boot(p)) {
        void *q = malloc(n);
        if (q) {
            memcpy(q, p, n < (size_t)(boot_buf + sizeof(boot_buf) - (char *)p) ? n : (size_t)(boot_buf + sizeof(boot_buf) - (char *)p));
        }
        return q;
    }
    if (!real_realloc) {
        lookup();
    }
    counted();
    return real_realloc(p, n);
}

void free(void *p)
{
    if (!p || from_boot(p)) {
        return;
    }
    if (!real_free) {
        lookup();
    }
    real_free(p);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    if (!real_posix_memalign) {
        lookup();
    }
    counted();
    return real_posix_memalign(out, align, n);
}

void *aligned_alloc(size_t align, size_t n)
{
    if (!real_aligned_alloc) {
        lookup();
    }
    counted();
    return real_aligned_alloc(align, n);
}

void *memalign(size_t align, size_t n)
{
    if (!real_memalign) {
        lookup();
    }
    counted();
    return real_memalign(align, n);
}

bool alloc_counter_available(void)
{
    return true;
}

void alloc_counter_arm(void)
{
    count = 0;
    armed = true;
}

unsigned long alloc_counter_disarm(void)
{
    armed = false;
    return count;
}

#endif
