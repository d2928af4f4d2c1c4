/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: the migration layer's internal interface (hw/vfio/migration/):
 * dirty-tracking policy (start/stop with rollback, catch-up of a device
 * placed while tracking is on) and reading dirty bits (queries, syncs, the
 * read before an unmap). It writes the tracking state it decides into the
 * structures that own it (a HWPT's dirty_on, a device's logging, a
 * container's dirty_tracking) and keeps none of its own.
 */
#ifndef VFI_HW_VFIO_MIGRATION_INTERNAL_H
#define VFI_HW_VFIO_MIGRATION_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "vfio-iommufd/dirty.h"
#include "vfio-iommufd/dirty-pool.h"
#include "container/container-internal.h"

/* ---- dirty-reader.c: reading a set of sources into a log ----------------- */

/* What one read reads: the sources of container @c, computed from its
 * state at read time (its HWPTs whose tracking is on, then its devices whose
 * DMA logging is on), or, when @hwpt_ids is set, those HWPTs and @device's
 * log (if set) alone (a public reader, a device leaving). */
typedef struct VfiDirtySources {
    VfiIommufd *be;
    uint32_t ioas_id;            /* for messages, 0: not known */
    uint64_t alignment;          /* minimum log page size (>= 1) */
    const GArray *hwpt_ids;      /* uint32_t, or NULL */
    VfiDevice *device;           /* with @hwpt_ids: a device log to read, or NULL */
    VfiContainer *c;             /* its container (NULL for a public reader);
                                  * with @hwpt_ids NULL its sources */
    const VfiRangeTree *mappings; /* without @c: the VfiRange mappings a public
                                  * reader was told of, or NULL */
    GArray **kept;               /* util/kept.h: the pages a read took from
                                  * the HWPTs around its range (whole
                                  * mappings), until a read of them */
    VfiDirtyScratch *scratch;
    bool skip_iommu;             /* the container-wide IOMMU bits (type1) are
                                  * not read: the unmap that follows reads
                                  * them itself (its kept pages and the
                                  * device logs still are) */
} VfiDirtySources;

/* The sources of container @c (no allocation). */
VfiDirtySources vfi_dirty_sources_of(VfiContainer *c);

/* WRONG_STATE (traced) unless @c's tracking is on. No ioctl. */
bool vfi_dirty_check_tracking(const VfiContainer *c, const char *what, GError **errp);
/* Read the parts of @c's mapped ranges inside [lo, hi] and @log's span
 * from @s (@c's sources, or some of them) into @log. */
bool vfi_dirty_read_mapped(VfiContainer *c, const VfiDirtySources *s, uint64_t lo,
                           uint64_t hi, const VfiDirtyLog *log, uint32_t flags, GError **errp);
/* The query of @c (vfi_container_query_dirty(), and a container's public
 * reader's) into @log, with the scratch buffer and counters @scratch (NULL:
 * @c's own; a container's reader passes its own), taking @c's lock:
 * WRONG_STATE while @c's tracking is off, the checks before any ioctl, every
 * read inside @c's mapped ranges. */
bool vfi_dirty_query_container(VfiContainer *c, VfiDirtyScratch *scratch, uint64_t iova,
                               uint64_t size, const VfiDirtyLog *log, uint32_t flags,
                               GError **errp);

/* The log checks of vfi_dirty_reader_query() alone (INVALID_ARGUMENT,
 * @what names the operation in the message). No ioctl. */
bool vfi_dirty_check_log(const VfiDirtySources *s, const VfiDirtyLog *log, const char *what,
                         GError **errp);

/* Read [iova, iova + size) (already validated: aligned to the log's pages,
 * inside its span, flags known) from every source into @log: zero copy
 * where the range starts on a byte of the log, else through the scratch
 * buffer. On a kernel error the bits already read are in @log. */
bool vfi_dirty_read(const VfiDirtySources *s, uint64_t iova, uint64_t size,
                    const VfiDirtyLog *log, uint32_t flags, GError **errp);

/* The pieces of vfi_dirty_read() a parallel sync (dirty-pool.c) does in
 * the calling thread: the devices' DMA logs over the range, and the pages
 * kept of it (forgotten unless NO_CLEAR). */
bool vfi_dirty_read_devices(const VfiDirtySources *s, uint64_t iova, uint64_t size,
                            const VfiDirtyLog *log, uint32_t flags, GError **errp);
void vfi_dirty_deliver_kept(const VfiDirtySources *s, uint64_t iova, uint64_t last,
                            const VfiDirtyLog *log, uint32_t flags);

/* A zeroed, page-aligned scratch bitmap of @pages bits in @sc (grown, never
 * shrunk); VFI_ERROR_HOST when it cannot be allocated. */
bool vfi_dirty_scratch_reserve(VfiDirtyScratch *sc, uint32_t ioas_id, uint64_t pages,
                               GError **errp);

/* A query's log and flags, for the callbacks below. */
typedef struct VfiDirtyQueryArgs {
    const VfiDirtyLog *log;
    uint32_t flags;
} VfiDirtyQueryArgs;

/* One piece [a, b] of a public reader's range: inside told mapping @m, or
 * between told mappings (@m NULL). */
typedef bool (*VfiDirtyPieceFn)(void *opaque, const VfiDirtySources *s, const VfiRange *m,
                                uint64_t a, uint64_t b, GError **errp);
/* Cut [iova, last] at the edges of the mappings public reader @s was told
 * of and call @fn on each piece in order; stops at the first false. */
bool vfi_dirty_split_told(const VfiDirtySources *s, uint64_t iova, uint64_t last,
                          VfiDirtyPieceFn fn, void *opaque, GError **errp);

/* The sources of public reader @r (INVALID_ARGUMENT naming @what for
 * NULL). */
bool vfi_dirty_reader_sources(VfiDirtyReader *r, const char *what, VfiDirtySources *out,
                              GError **errp);
/* The checks of a query: the log's and the range's (INVALID_ARGUMENT). */
bool vfi_dirty_check_query(const VfiDirtySources *s, uint64_t iova, uint64_t size,
                           const VfiDirtyLog *log, uint32_t flags, const char *what,
                           GError **errp);
/* Whether the container-wide IOMMU tracking of @s's container (type1: its
 * ops' read_iommu_dirty) is a source now: read on the calling thread (the
 * pool's workers read HWPTs). */
bool vfi_dirty_has_iommu_source(const VfiDirtySources *s);
/* Whether @s has a source to read now. */
bool vfi_dirty_has_sources(const VfiDirtySources *s);

/* A checked query: vfi_dirty_check_log() and the range checks, then
 * vfi_dirty_read(). */
bool vfi_dirty_query(const VfiDirtySources *s, uint64_t iova, uint64_t size,
                     const VfiDirtyLog *log, uint32_t flags, const char *what, GError **errp);

/* The last IOVA of @log's span (the log already checked). */
static inline uint64_t vfi_dirty_log_last(const VfiDirtyLog *log)
{
    return log->base_iova + (log->nr_pages - 1) * log->page_size + (log->page_size - 1);
}

/* Read, clearing, the last dirty bits of @cd's device, leaving @c while
 * tracking is on, into @log over @c's mapped ranges: its DMA log if it
 * logs its own DMA, and its HWPT's bits if it is that HWPT's last device
 * (otherwise the HWPT keeps tracking the devices that stay, and the next
 * sync reads its bits). @log already checked against @c. */
bool vfi_dirty_read_leaving(VfiContainer *c, VfiContainerDevice *cd, const VfiDirtyLog *log,
                            GError **errp);

/* ---- tracking.c: start / stop -------------------------------------------- */

/* Start (@on) or stop tracking on the @n containers of @cs that are not yet
 * in that state; on failure the ones already switched are switched back.
 * @what names the caller in messages. */
bool vfi_dirty_tracking_switch_all(VfiContainer *const *cs, guint n, bool on,
                                   GError **errp);

/* Bring a device just placed in @c into @c's tracking state (its HWPT's
 * tracking, its DMA logging). On failure nothing was left switched on for
 * it. No-op while @c is not tracking. */
bool vfi_dirty_tracking_catch_up(VfiContainer *c, VfiContainerDevice *cd, GError **errp);

/* Stop @dev's DMA logging if it is on, errors traced only: the device goes
 * away for good. */
void vfi_dirty_tracking_drop_device(VfiDevice *dev);

/* ---- dirty-sync.c: syncs and reads before unmaps over several containers - */

/* Read [a, b] (mapped without a hole, inside @log's span) into @log: with
 * vfi_dirty_read() when its ends are on the log's pages, else at the
 * largest page size both ends are aligned to (a kernel read must start at a
 * mapped IOVA aligned to its page size), folded into the log's pages. */
bool vfi_dirty_read_piece(const VfiDirtySources *s, uint64_t a, uint64_t b,
                          const VfiDirtyLog *log, uint32_t flags, GError **errp);

/* The checks of a sync of @n containers into @log (tracking on, log fits),
 * every one before any ioctl. */
bool vfi_dirty_sync_check_all(VfiContainer *const *cs, guint n, const VfiDirtyLog *log,
                              const char *what, GError **errp);

/* vfi_container_sync_dirty() of @n containers into one log; every one is
 * checked (tracking on, log fits) before any ioctl. */
bool vfi_dirty_sync_all(VfiContainer *const *cs, guint n, const VfiDirtyLog *log,
                        GError **errp);

/* Before an unmap of [iova, iova + size) from @n containers: check @log
 * against every one of them (it must cover each one's mapped parts of the
 * range; INVALID_ARGUMENT, no ioctl). NULL @log: nothing to check. */
bool vfi_dirty_check_before_unmap(VfiContainer *const *cs, guint n, uint64_t iova,
                                  uint64_t size, const VfiDirtyLog *log, const char *what,
                                  GError **errp);
/* Then read those parts with NO_CLEAR from every container whose tracking is
 * on (every refusal of the unmap must have been made before). @unmap_reads:
 * the unmap that follows is given @log, so a container whose unmap reads
 * its IOMMU dirty bits itself (type1 while its IOMMU tracks:
 * GET_DIRTY_BITMAP, the exact read) has only its kept pages and device
 * logs read here; false: every source is read here. */
bool vfi_dirty_read_before_unmap(VfiContainer *const *cs, guint n, uint64_t iova,
                                 uint64_t size, const VfiDirtyLog *log, bool unmap_reads,
                                 GError **errp);

/* Unmap flags known, and a log given unless DISCARD_DIRTY (INVALID_ARGUMENT). */
bool vfi_dirty_check_unmap_args(const VfiDirtyLog *log, VfiUnmapFlags flags,
                                const char *what, GError **errp);

/* ---- dirty-pool.c: parallel syncs ---------------------------------------- */

/* vfi_dirty_sync_all() with the HWPT reads of whole mappings spread over
 * @pool (include/vfio-iommufd/dirty-pool.h). */
bool vfi_dirty_sync_all_parallel(VfiContainer *const *cs, guint n, const VfiDirtyLog *log,
                                 VfiDirtyPool *pool, GError **errp);


#endif
