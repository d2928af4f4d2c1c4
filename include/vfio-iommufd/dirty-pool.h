/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: parallel dirty syncs (docs/dirty-tracking.md, "Parallel
 * syncs").
 *
 * The kernel reads a HWPT's dirty bits (IOMMU_HWPT_GET_DIRTY_BITMAP) under
 * the IOAS's iova_rwsem taken for reading, so reads of different ranges and
 * HWPTs can run at once; its cost is a page-table walk per IOPTE. A
 * VfiDirtyPool spreads a sync's HWPT reads over several threads: its own
 * (started by vfi_dirty_pool_new(), none before) or the VMM's
 * (vfi_dirty_pool_new_external()). The result is the serial sync's, bit for
 * bit: every read goes into a buffer of the thread doing it and is ORed into
 * the log with atomic word ORs (the kernel sets bits with plain
 * read-modify-writes, so two reads never share a word of memory they write).
 *
 * The work is split at mapping edges, never inside a mapping unless the VMM
 * says where that is safe (vfi_dirty_pool_set_split_alignment()): an IOPTE
 * never crosses a mapping's edge, but a read whose edge cuts a dirty IOPTE
 * larger than the log's page loses or spills it (docs/dirty-tracking.md,
 * "Granularity").
 */
#ifndef VFIO_IOMMUFD_DIRTY_POOL_H
#define VFIO_IOMMUFD_DIRTY_POOL_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "vfio-iommufd/visibility.h"
#include "vfio-iommufd/container.h"
#include "vfio-iommufd/dirty.h"

G_BEGIN_DECLS

/*
 * The threads (or the VMM's executor) and buffers of parallel syncs. A pool
 * runs one sync at a time: syncs of two address spaces on one pool wait for
 * each other (a pool each lets them run at once).
 */
typedef struct VfiDirtyPool VfiDirtyPool;

/* A job of a parallel sync, as an external executor runs it: fn(job). */
typedef void (*VfiDirtyPoolJobFn)(void *job);
/* An external executor's entry: run @fn(@job) once, soon, on a thread of
 * its own choice (vfi_dirty_pool_new_external()); @opaque is the one given
 * there. */
typedef void (*VfiDirtyPoolSubmitFn)(void *opaque, VfiDirtyPoolJobFn fn, void *job);

/**
 * vfi_dirty_pool_new:
 * @threads: worker threads to start now (1..64). The thread calling a sync
 *   works too, so @threads workers give @threads + 1 reads at once.
 *
 * Returns: a pool whose threads wait for syncs (free with
 * vfi_dirty_pool_free(), which joins them), or NULL with
 * VFI_ERROR_INVALID_ARGUMENT for a count out of range, VFI_ERROR_HOST when a
 * thread cannot be started (none is left running).
 */
VFI_API VfiDirtyPool *vfi_dirty_pool_new(unsigned threads, GError **errp);

/**
 * vfi_dirty_pool_new_external:
 * @width: how many jobs of one sync the VMM's executor runs at once (1..64).
 * @submit: called @width times per sync (from the syncing thread, the
 *   address space's lock held): it must arrange for fn(job) to run once,
 *   soon, on a thread of the VMM's choice that does not take that lock.
 * @opaque: passed to @submit.
 *
 * A pool without threads of its own: the VMM's executor runs its workers,
 * the sync waits until every one has finished. No thread is started.
 * Returns: the pool, or NULL (INVALID_ARGUMENT: @submit NULL, @width out of
 * range).
 */
VFI_API VfiDirtyPool *vfi_dirty_pool_new_external(unsigned width, VfiDirtyPoolSubmitFn submit,
                                                  void *opaque, GError **errp);

/* Stop and join the pool's threads, free its buffers. Not while a sync
 * runs on it. NULL: nothing. */
VFI_API void vfi_dirty_pool_free(VfiDirtyPool *pool);

/**
 * vfi_dirty_pool_set_split_alignment:
 * @alignment: 0 (the default): a mapping is read whole by one thread; else
 *   a power of two of at least 4 KiB: a mapping may be split at IOVAs that
 *   are multiples of it.
 *
 * Allow the pool to split mappings. Safe only when no IOPTE of the guest's
 * memory can be larger than @alignment: IOPTEs are as large as the IOMMU
 * page that the IOVA, the physical address and the length of a physically
 * contiguous run of pinned memory allow, so with the AMD v1 format (Linux
 * 7.3's generic page table) any physically contiguous run can make one;
 * the VMM knows its memory (1 GiB is safe with Intel VT-d and SMMUv3 4 KiB
 * granule page tables, whose largest page it is). INVALID_ARGUMENT for a
 * NULL @pool or a bad value (nothing changes).
 */
VFI_API bool vfi_dirty_pool_set_split_alignment(VfiDirtyPool *pool, uint64_t alignment,
                                                GError **errp);

/* Returns: how many reads of a sync run at once (threads + 1, or the
 * external width + 1); 0 for NULL. */
VFI_API unsigned vfi_dirty_pool_width(const VfiDirtyPool *pool);

/**
 * vfi_container_sync_dirty_parallel:
 *
 * vfi_container_sync_dirty() with the HWPT reads spread over @pool: the same
 * checks before any ioctl, the same bits in @log. The device DMA logs, the
 * pages kept from earlier reads and the pieces the log's span cuts out of a
 * mapping are read first by the calling thread, then the pool reads the
 * rest (one job per HWPT and mapping, or piece of a mapping split at the
 * split alignment). On a kernel error every job still runs to its end, the
 * bits read are in @log, and the first error is returned. NULL @pool:
 * vfi_container_sync_dirty().
 */
VFI_API bool vfi_container_sync_dirty_parallel(VfiContainer *c, const VfiDirtyLog *log,
                                               VfiDirtyPool *pool, GError **errp);

/* The same over every container of @as (vfi_address_space_sync_dirty()). */
VFI_API bool vfi_address_space_sync_dirty_parallel(VfiAddressSpace *as, const VfiDirtyLog *log,
                                                   VfiDirtyPool *pool, GError **errp);

/**
 * vfi_dirty_reader_query_parallel:
 *
 * vfi_dirty_reader_query() with the HWPT reads spread over @pool: each
 * mapping told with vfi_dirty_reader_add_mapping() that lies inside the
 * range (aligned to the log's pages) is one job per HWPT (or several,
 * split at the split alignment); the rest of the range (mappings cut by it,
 * IOVAs not told of) is read by the calling thread first. The same checks
 * before any ioctl, the same bits in @log. On a kernel error every job still
 * runs to its end, the bits read are in @log, the first error is returned.
 * NULL @pool: vfi_dirty_reader_query(). The reader is not locked: one query
 * at a time on it.
 */
VFI_API bool vfi_dirty_reader_query_parallel(VfiDirtyReader *r, uint64_t iova, uint64_t size,
                                             const VfiDirtyLog *log, uint32_t flags,
                                             VfiDirtyPool *pool, GError **errp);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(VfiDirtyPool, vfi_dirty_pool_free)

G_END_DECLS

#endif
