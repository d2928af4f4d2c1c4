/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfio-iommufd: the tree nodes' pool (util/node-pool.h). */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <glib.h>

#include "util/node-pool.h"
#include "trace-root.h"

#if defined(__SANITIZE_ADDRESS__)
#define VFI_NODE_POOL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VFI_NODE_POOL_ASAN 1
#endif
#endif
#ifndef VFI_NODE_POOL_ASAN
#define VFI_NODE_POOL_ASAN 0
#endif

#ifdef VFI_HAVE_VALGRIND_H
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif

#define CHUNK_BYTES ((size_t)2 << 20)   /* a huge page on x86, arm64 (4K) */

typedef struct PoolChunk PoolChunk;

/* The header of a chunk, in its block 0. */
struct PoolChunk {
    PoolChunk *prev, *next;         /* the pool's chunks with a free block */
    PoolChunk *all_next;            /* every chunk of the pool */
    void *free;                     /* blocks given back, linked by their first word */
    unsigned cut;                   /* blocks cut so far, the header included */
    unsigned live;                  /* blocks handed out */
    bool listed;                    /* in the list of chunks with a free block */
};

typedef struct NodePool {
    GMutex lock;
    size_t size;
    PoolChunk *avail;               /* chunks with a free block */
    PoolChunk *all;
    unsigned chunks, empty;         /* chunks, and of them those with no block out */
    size_t live;                    /* blocks handed out */
    bool huge;                      /* MADV_HUGEPAGE asked for its chunks */
} NodePool;

static NodePool pools[2] = {
    { .size = VFI_NODE_POOL_LEAF },
    { .size = VFI_NODE_POOL_INNER },
};
/* Every block from g_malloc: under AddressSanitizer or valgrind, whose
 * checks (overflows, leaks: memcheck would take the chunks for roots and
 * call a leaked node that another node links "still reachable") see heap
 * blocks only. Set once, before the first block. */
static bool use_malloc;

/* fork(): no pool lock held across it (a thread of the parent holding
 * one would leave the child's pool locked for ever), as malloc's. */
static void pools_lock(void)
{
    g_mutex_lock(&pools[0].lock);
    g_mutex_lock(&pools[1].lock);
}

static void pools_unlock(void)
{
    g_mutex_unlock(&pools[1].lock);
    g_mutex_unlock(&pools[0].lock);
}

static void pools_init(void)
{
    use_malloc = VFI_NODE_POOL_ASAN || RUNNING_ON_VALGRIND;
    pthread_atfork(pools_lock, pools_unlock, pools_unlock);
}

static NodePool *pool_of(size_t size)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;

    g_assert(size == VFI_NODE_POOL_LEAF || size == VFI_NODE_POOL_INNER);
    pthread_once(&once, pools_init);
    return &pools[size == VFI_NODE_POOL_INNER];
}

static unsigned chunk_blocks(const NodePool *p)
{
    return (unsigned)(CHUNK_BYTES / p->size);
}

static PoolChunk *chunk_of(const void *b)
{
    return (PoolChunk *)((uintptr_t)b & ~(uintptr_t)(CHUNK_BYTES - 1));
}

static void list_add(NodePool *p, PoolChunk *c)
{
    c->prev = NULL;
    c->next = p->avail;
    if (p->avail) {
        p->avail->prev = c;
    }
    p->avail = c;
    c->listed = true;
}

static void list_del(NodePool *p, PoolChunk *c)
{
    if (c->prev) {
        c->prev->next = c->next;
    } else {
        p->avail = c->next;
    }
    if (c->next) {
        c->next->prev = c->prev;
    }
    c->listed = false;
}

/* Huge pages for @c or not (@huge: MADV_HUGEPAGE, else MADV_NOHUGEPAGE:
 * a first chunk stays in small pages even where THP is "always"). Whether
 * huge pages then back it is the kernel's THP setting's say. */
static void chunk_advise(NodePool *p, PoolChunk *c, bool huge)
{
    int rc = madvise(c, CHUNK_BYTES, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);

    trace_vfi_node_pool_huge(p->size, p->chunks, huge, rc < 0 ? errno : 0);
}

/* A 2 MiB chunk, 2 MiB aligned: twice that mapped, the slack unmapped. */
static PoolChunk *chunk_map(void)
{
    char *m = mmap(NULL, 2 * CHUNK_BYTES, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *c;

    if (m == MAP_FAILED) {
        g_error("vfio-iommufd: node pool: mmap of %zu bytes: %s", 2 * CHUNK_BYTES,
                g_strerror(errno));
    }
    c = (char *)(((uintptr_t)m + CHUNK_BYTES - 1) & ~(uintptr_t)(CHUNK_BYTES - 1));
    if (c > m) {
        munmap(m, (size_t)(c - m));
    }
    munmap(c + CHUNK_BYTES, (size_t)(m + 2 * CHUNK_BYTES - (c + CHUNK_BYTES)));
    return (PoolChunk *)(void *)c;
}

static PoolChunk *chunk_new(NodePool *p)
{
    PoolChunk *c = chunk_map();

    /* advised before the header is written: a huge page backs a range none
     * of whose pages was touched yet (the first chunk's may be collapsed
     * later by khugepaged) */
    if (p->chunks >= 1 && !p->huge) {
        for (PoolChunk *o = p->all; o; o = o->all_next) {
            chunk_advise(p, o, true);
        }
        p->huge = true;
    }
    chunk_advise(p, c, p->huge);
    *c = (PoolChunk){ .cut = 1, .all_next = p->all };
    p->all = c;
    p->chunks++;
    p->empty++;
    list_add(p, c);
    trace_vfi_node_pool_chunk(p->size, p->chunks, "mapped");
    return c;
}

/* Unmap @c, empty, unless it is the pool's only empty chunk. */
static void chunk_maybe_unmap(NodePool *p, PoolChunk *c)
{
    PoolChunk **at = &p->all;

    if (p->empty++ == 0) {
        return;
    }
    p->empty--;
    p->chunks--;
    list_del(p, c);
    while (*at != c) {
        at = &(*at)->all_next;
    }
    *at = c->all_next;
    trace_vfi_node_pool_chunk(p->size, p->chunks, "unmapped");
    munmap(c, CHUNK_BYTES);
}

static void *chunk_take(NodePool *p, PoolChunk *c)
{
    void *b;

    if (c->free) {
        b = c->free;
        c->free = *(void **)b;
    } else {
        b = (char *)c + (size_t)c->cut++ * p->size;
    }
    p->empty -= c->live == 0;
    c->live++;
    p->live++;
    if (!c->free && c->cut == chunk_blocks(p)) {
        list_del(p, c);
    }
    return b;
}

void *vfi_node_pool_alloc(size_t size)
{
    NodePool *p = pool_of(size);
    void *b;

    g_mutex_lock(&p->lock);
    if (use_malloc) {
        p->live++;
        b = g_malloc(size);
    } else {
        b = chunk_take(p, p->avail ? p->avail : chunk_new(p));
    }
    g_mutex_unlock(&p->lock);
    return b;
}

void vfi_node_pool_free(void *b, size_t size)
{
    NodePool *p = pool_of(size);
    PoolChunk *c;

    if (!b) {
        return;
    }
    g_mutex_lock(&p->lock);
    g_assert(p->live > 0);
    if (use_malloc) {
        p->live--;
        g_mutex_unlock(&p->lock);
        g_free(b);
        return;
    }
    c = chunk_of(b);
    g_assert(c->live > 0 && c->free != b);     /* not given back twice in a row */
    *(void **)b = c->free;
    c->free = b;
    c->live--;
    p->live--;
    if (!c->listed) {
        list_add(p, c);
    }
    if (c->live == 0) {
        chunk_maybe_unmap(p, c);
    }
    g_mutex_unlock(&p->lock);
}

size_t vfi_node_pool_in_use(size_t size)
{
    NodePool *p = pool_of(size);
    size_t n;

    g_mutex_lock(&p->lock);
    n = p->live * p->size;
    g_mutex_unlock(&p->lock);
    return n;
}

size_t vfi_node_pool_mapped(size_t size)
{
    NodePool *p = pool_of(size);
    size_t n;

    g_mutex_lock(&p->lock);
    n = use_malloc ? p->live * p->size : p->chunks * CHUNK_BYTES;
    g_mutex_unlock(&p->lock);
    return n;
}

bool vfi_node_pool_uses_malloc(void)
{
    pool_of(VFI_NODE_POOL_LEAF);
    return use_malloc;
}
