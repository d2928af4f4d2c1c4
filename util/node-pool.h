/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: the pool the library's tree nodes come from (util/ranges.c).
 *
 * Blocks of one of two sizes (VFI_NODE_POOL_LEAF, VFI_NODE_POOL_INNER) cut
 * from 2 MiB chunks, 2 MiB aligned, shared by every tree of the process.
 * Why: a lookup in a large tree (100k mappings: 13 MB of nodes in two
 * trees) lands on a random leaf, and with nodes spread over thousands of
 * 4 KiB pages each lookup costs a TLB miss (a page walk, two-dimensional
 * under a hypervisor). A size's first chunk is advised MADV_NOHUGEPAGE: a
 * process with small trees keeps it in small pages, faulted in as used,
 * even where THP is "always". From its second chunk on the pool advises
 * every chunk of that size MADV_HUGEPAGE (a new one before it is touched):
 * where THP is "madvise" or "always" a large tree then sits in a few huge
 * pages; where it is "never" the chunks stay small pages (the advice is
 * taken and not acted on). A chunk left empty is returned to the kernel,
 * but one empty chunk per size is kept for the next split.
 *
 * Thread-safe (one mutex per size; blocks are taken and given back only
 * when a node splits or merges), and fork-safe (the locks are taken around
 * a fork(), pthread_atfork(), as malloc's are). Under AddressSanitizer or
 * valgrind every block comes from g_malloc instead (decided at the first
 * block), so that their checks see each node as a heap block.
 */
#ifndef VFI_UTIL_NODE_POOL_H
#define VFI_UTIL_NODE_POOL_H

#include <stdbool.h>
#include <stddef.h>

#define VFI_NODE_POOL_LEAF 1024
#define VFI_NODE_POOL_INNER 4096

/* A block of @size bytes (VFI_NODE_POOL_LEAF or _INNER), not zeroed,
 * aligned to @size (to 16 bytes from g_malloc); aborts when memory is
 * exhausted, as g_malloc does. */
void *vfi_node_pool_alloc(size_t size);
/* Give back @p, a block of @size from vfi_node_pool_alloc(). NULL: nothing. */
void vfi_node_pool_free(void *p, size_t size);
/* Bytes of the blocks of @size handed out and not given back. */
size_t vfi_node_pool_in_use(size_t size);
/* Bytes of memory the chunks of @size hold (in use, free and spare); from
 * g_malloc, the blocks in use. */
size_t vfi_node_pool_mapped(size_t size);
/* Whether the blocks come from g_malloc (under ASan or valgrind). */
bool vfi_node_pool_uses_malloc(void);

#endif
