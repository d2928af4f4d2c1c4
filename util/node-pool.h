/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: the pool the library's tree nodes come from (util/ranges.c).
 *
 * Blocks of one of two sizes (VFI_NODE_POOL_LEAF, VFI_NODE_POOL_INNER) cut
 * from 2 MiB chunks, 2 MiB aligned, shared by every tree of the process.
 * Why: a lookup in a large tree (100k mappings: 13 MB of nodes in two
 * trees) lands on a random leaf, and with nodes spread over thousands of
 * 4 KiB pages each lookup costs a TLB miss (a page walk, two-dimensional
 * under a hypervisor). From its second chunk of a size on, the pool asks
 * the kernel for transparent huge pages (MADV_HUGEPAGE) on every chunk of
 * it: a large tree then sits in a few huge pages. A process with small
 * trees keeps one chunk per size, faulted in page by page as it is used
 * (no huge page is asked for it). An empty chunk is returned to the kernel
 * unless it is the last of its size.
 *
 * Thread-safe (one mutex per size; blocks are taken and given back only
 * when a node splits or merges), and fork-safe (the locks are taken around
 * a fork(), pthread_atfork(), as malloc's are). Under AddressSanitizer the blocks come
 * from g_malloc instead, so that ASan sees every node; under valgrind the
 * blocks are announced to it as heap blocks (leaks and undefined reads are
 * reported as for g_malloc).
 */
#ifndef VFI_UTIL_NODE_POOL_H
#define VFI_UTIL_NODE_POOL_H

#include <stddef.h>

#define VFI_NODE_POOL_LEAF 1024
#define VFI_NODE_POOL_INNER 4096

/* A block of @size bytes (VFI_NODE_POOL_LEAF or _INNER), not zeroed,
 * aligned to @size; aborts when memory is exhausted (as g_malloc does). */
void *vfi_node_pool_alloc(size_t size);
/* Give back @p, a block of @size from vfi_node_pool_alloc(). NULL: nothing. */
void vfi_node_pool_free(void *p, size_t size);
/* Bytes of the blocks of @size handed out and not given back. */
size_t vfi_node_pool_in_use(size_t size);
/* Bytes of memory the chunks of @size hold (in use, free and spare). */
size_t vfi_node_pool_mapped(size_t size);

#endif
