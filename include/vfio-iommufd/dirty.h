/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: dirty tracking for live migration (docs/dirty-tracking.md).
 *
 * Every device of a container is covered in one of three ways, decided per
 * device (mixed mode):
 *  - device DMA logging (VFIO_DEVICE_FEATURE_DMA_LOGGING_*) when the device
 *    offers it (probed at attach) and the VMM asked for it
 *    (VfiAttachOptions.prefer_device_dirty_logging); such a device is
 *    placed in a plain HWPT (it does not pay for IOMMU tracking);
 *  - else IOMMU dirty tracking when its HWPT was allocated with
 *    IOMMU_HWPT_ALLOC_DIRTY_TRACKING;
 *  - else it is untracked, and vfi_address_space_migration_blocker() names
 *    it with the reason.
 *
 * Starting tracking on a container switches IOMMU_HWPT_SET_DIRTY_TRACKING on
 * for every HWPT with the dirty flag and DMA_LOGGING_START on every logging
 * device (with the container's mapped IOVA ranges). While it is on:
 *  - a device attached to the container is brought into the same state (its
 *    new dirty HWPT is switched on, its logging started) or the attach fails;
 *  - a tracked device cannot be detached (WRONG_STATE: its unread dirty
 *    pages would be lost; stop tracking after the final sync first);
 *  - a plain unmap is refused (WRONG_STATE) unless it says
 *    VFI_UNMAP_DISCARD_DIRTY: use vfi_container_dma_unmap_dirty(), which
 *    reads the range's dirty bits (NO_CLEAR) into the VMM's log first;
 *  - a map outside the ranges a logging device was started with is refused
 *    (WRONG_STATE): device logs cannot grow.
 * While it is off there are no dirty bits to read: the kernel refuses to read
 * a HWPT whose tracking is off (EINVAL), so queries and syncs are refused
 * (WRONG_STATE) and the unmap-dirty functions just unmap.
 *
 * Reading: the VMM keeps one dirty log per guest-physical layout
 * (VfiDirtyLog); queries OR the bits of every source into it. When the
 * range starts on a byte boundary of the log, the log's own memory is
 * handed to the kernel (zero copy); otherwise a scratch buffer owned by the
 * container's reader (grown, never shrunk) is read and ORed in, shifted
 * word-wise. Steady-state syncs allocate nothing. The same reader is
 * available on its own for HWPTs the VMM manages (VfiDirtyReader below).
 *
 * Threads (docs/concurrency.md): the functions on address spaces,
 * containers, HWPTs and devices in containers hold the address space's lock,
 * as those of container.h: a migration thread may sync while the main thread
 * maps, unmaps and hot-plugs. An unmap with a dirty read reads and unmaps
 * under one hold of the lock. The VMM does not modify a log, nor hand it to
 * another query, while a query writes into it (the kernel ORs whole 64-bit
 * words of the buffer it is given). The functions on a device in no
 * container are for one thread at a time, and a VfiDirtyReader is not
 * thread-safe (below).
 */
#ifndef VFI_DIRTY_H
#define VFI_DIRTY_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "vfio-iommufd/container.h"
#include "vfio-iommufd/device.h"
#include "vfio-iommufd/visibility.h"

G_BEGIN_DECLS

/* The VMM's dirty log for a guest-physical layout: bit i stands for the page
 * at base_iova + i * page_size. The bitmap holds DIV_ROUND_UP(nr_pages, 64)
 * words, owned by the VMM. page_size: a power of two, at least the IOVA
 * alignment of the container queried; base_iova aligned to it. The library
 * hands the bitmap to the kernel (zero copy) only for a read that cuts no
 * mapping it knows of; a public reader not told of its mappings
 * (vfi_dirty_reader_add_mapping()) reads what it is asked, and a kernel whose
 * dirty IOPTEs are larger than page_size (Linux 7.3's generic page table,
 * huge IOPTEs) may then set bits past the range up to the end of the memory
 * page holding its last bitmap byte: allocate the bitmap in whole memory
 * pages (docs/dirty-tracking.md, "Granularity"). */
typedef struct VfiDirtyLog {
    uint64_t base_iova;    /* the IOVA of bit 0 */
    uint64_t page_size;    /* the bytes one bit stands for */
    uint64_t *bitmap;      /* DIV_ROUND_UP(nr_pages, 64) words */
    uint64_t nr_pages;     /* the number of bits */
} VfiDirtyLog;

/* Flags of the dirty queries (vfi_container_query_dirty(),
 * vfi_dirty_reader_query()). */
typedef enum {
    /* Leave the IOMMU dirty state in place: the same bits come back on the
     * next read (IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR). Device DMA logs have
     * no such mode in the UAPI: reading them always clears, the bits are in
     * the caller's log. */
    VFI_DIRTY_QUERY_NO_CLEAR = 1 << 0,
} VfiDirtyQueryFlags;

/* The most IOVA ranges given to DMA_LOGGING_START (the vfio core's limit:
 * one page of 16-byte ranges). More mapped ranges are merged across the
 * smallest gaps; E2BIG from a driver with a lower limit halves the count. */
#define VFI_DMA_LOGGING_MAX_RANGES 256

/* The smallest page size DMA_LOGGING_REPORT accepts (the vfio core refuses
 * smaller ones with EINVAL); also the page size the library gives
 * DMA_LOGGING_START. */
#define VFI_DMA_LOGGING_MIN_PAGE_SIZE UINT64_C(4096)

/* ---- start / stop ------------------------------------------------------ */

/**
 * vfi_container_dirty_tracking_start:
 *
 * IOMMU_HWPT_SET_DIRTY_TRACKING(enable) on every HWPT of @c allocated with
 * the dirty flag, then DMA_LOGGING_START on every device using device
 * logging (the container's mapped ranges; WRONG_STATE before any ioctl when
 * such a device exists and nothing is mapped). Already on: a no-op, no
 * ioctl. If one step fails, the HWPTs and devices already switched are
 * switched back and the error names the HWPT (or device) and why. Enabling
 * clears stale IOMMU dirty bits (kernel semantics).
 */
VFI_API bool vfi_container_dirty_tracking_start(VfiContainer *c, GError **errp);

/**
 * vfi_container_dirty_tracking_stop:
 *
 * DMA_LOGGING_STOP on the logging devices, then SET_DIRTY_TRACKING(disable)
 * on the HWPTs. Already off: a no-op. On failure the ones already stopped
 * are started again (their dirty state then starts empty: the kernel clears
 * on enable) and tracking stays on.
 */
VFI_API bool vfi_container_dirty_tracking_stop(VfiContainer *c, GError **errp);

/* Returns: whether tracking is on for @c (false for NULL). */
VFI_API bool vfi_container_dirty_tracking_is_active(const VfiContainer *c);

/* Returns: whether the library switched IOMMU_HWPT_SET_DIRTY_TRACKING on for
 * @h (false for NULL and for a HWPT without the dirty flag). Exactly these
 * HWPTs are read by its container's queries and syncs. */
VFI_API bool vfi_hwpt_dirty_tracking_is_on(const VfiHwpt *h);

/**
 * vfi_address_space_dirty_tracking_start:
 *
 * Start tracking on every container of @as that is not tracking. On failure
 * the containers this call started are stopped again. Already on (see
 * vfi_address_space_dirty_tracking_is_active()): a no-op, no ioctl. With
 * no container: success, nothing to start (and @as is not tracking).
 */
VFI_API bool vfi_address_space_dirty_tracking_start(VfiAddressSpace *as,
                                                              GError **errp);
/* Stop tracking on every container that is tracking; on failure the
 * containers already stopped are started again. None tracking: a no-op. */
VFI_API bool vfi_address_space_dirty_tracking_stop(VfiAddressSpace *as,
                                                             GError **errp);
/**
 * vfi_address_space_dirty_tracking_is_active:
 *
 * Returns: whether @as is tracking: it has at least one container and every
 * one of them is tracking (false for NULL). Derived from the containers on
 * every call, never stored: vfi_container_dirty_tracking_stop() of one
 * container makes it false at once. A container made while it is true (a
 * device fitting none of the existing ones) starts tracking as part of that
 * attach; one made while it is false does not.
 */
VFI_API bool vfi_address_space_dirty_tracking_is_active(const VfiAddressSpace *as);

/* ---- reading dirty bits ------------------------------------------------ */

/**
 * vfi_container_query_dirty:
 * @iova, @size: aligned to @log's page size, inside the log's span.
 * @flags: VfiDirtyQueryFlags.
 *
 * OR the dirty bits of [@iova, @iova + @size) from every HWPT of @c whose
 * dirty tracking is on and every device of @c whose DMA logging is started
 * into @log,
 * at bit (@iova - log->base_iova) / log->page_size onwards. Bits of the log
 * outside the range are not changed. Checked before any ioctl
 * (INVALID_ARGUMENT): @c, @log and its bitmap non-NULL, page size a power of
 * two and at least the container's IOVA alignment (and at least 4 KiB when
 * a device's DMA logging is started: DMA_LOGGING_REPORT refuses smaller
 * pages), base, @iova and @size aligned to it, @size non-zero, no overflow,
 * the range inside the log, unknown flags. WRONG_STATE, before any ioctl,
 * when tracking of @c is off (there is nothing to read: the kernel refuses
 * to read a HWPT whose tracking is off). On a kernel error the bits already
 * read are in @log. A range cutting a mapping is read from the HWPTs over
 * the whole mapping (an IOPTE never crosses a mapping's edge): the pages
 * outside the range are kept by @c and ORed into the log by the query of
 * their pages, so none is lost and no bit outside the range is set
 * (docs/dirty-tracking.md, "Granularity").
 */
VFI_API bool vfi_container_query_dirty(VfiContainer *c, uint64_t iova,
                                                 uint64_t size, const VfiDirtyLog *log,
                                                 uint32_t flags, GError **errp);

/**
 * vfi_container_sync_dirty:
 *
 * Query (clearing) every range mapped in @c, clipped to @log's span and
 * widened to its page size. Bits of unmapped parts of the log are left
 * untouched. Same checks as vfi_container_query_dirty() (WRONG_STATE when
 * tracking of @c is off).
 */
VFI_API bool vfi_container_sync_dirty(VfiContainer *c, const VfiDirtyLog *log,
                                                GError **errp);

/* vfi_container_sync_dirty() of every container of @as, into one log. Every
 * container is checked before any ioctl: WRONG_STATE naming the first one
 * whose tracking is off. No container: success, nothing read. */
VFI_API bool vfi_address_space_sync_dirty(VfiAddressSpace *as,
                                                    const VfiDirtyLog *log, GError **errp);

/* ---- unmap during migration ---------------------------------------------- */

/**
 * vfi_container_dma_unmap_dirty:
 * @log: where the dirty bits of the range go (must cover every mapped part
 *   of the range), or NULL only with VFI_UNMAP_DISCARD_DIRTY.
 * @flags: VfiUnmapFlags.
 *
 * While tracking of @c is on: read the dirty bits of the mapped parts of
 * [@iova, @iova + @size) with NO_CLEAR into @log, then unmap as
 * vfi_container_dma_unmap(). While it is off there is nothing to read: it
 * just unmaps (the arguments, @log included, are checked the same way). If
 * the unmap fails the bits read stay in @log (over-reporting is harmless;
 * losing a page is not). On a type1 container the IOMMU's bits come from
 * the unmap itself (VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP: one read, which
 * also catches a page dirtied in between), its kept pages and device logs
 * from the read before it.
 */
VFI_API bool vfi_container_dma_unmap_dirty(VfiContainer *c, uint64_t iova,
                                                     uint64_t size, const VfiDirtyLog *log,
                                                     VfiUnmapFlags flags, uint64_t *unmapped,
                                                     GError **errp);

/**
 * vfi_address_space_dma_unmap_dirty:
 *
 * The same for an address space: the bits of every container whose tracking
 * is on into @log (containers not tracking have nothing to read), then
 * vfi_address_space_dma_unmap(). Every container's log checks are done
 * before any ioctl. If the read of a later container fails, false is
 * returned with nothing unmapped, but the bits of the containers read before
 * it were already ORed into @log: they are true dirty bits (read with
 * NO_CLEAR, so they are read again by the next sync), and the VMM may keep
 * or clear them; the call can be retried. On a type1 container the IOMMU's
 * bits come from the unmap itself (VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP),
 * its kept pages and device logs from the read before it.
 */
VFI_API bool vfi_address_space_dma_unmap_dirty(VfiAddressSpace *as, uint64_t iova,
                                                         uint64_t size,
                                                         const VfiDirtyLog *log,
                                                         VfiUnmapFlags flags, GError **errp);

/* ---- hot-unplug during migration ---------------------------------------- */

/**
 * vfi_address_space_detach_device_dirty:
 * @log: where the device's last dirty bits go: it must cover every range
 *   mapped in the device's container (NULL only when there is nothing to
 *   read: tracking off, or the device untracked).
 *
 * Unplug @dev while dirty tracking is on without losing a page: its last
 * dirty bits are read (clearing) into @log over the container's mapped
 * ranges — its own DMA log if it logs its DMA, and its HWPT's bits if it is
 * the last device of that HWPT (otherwise the HWPT keeps tracking the
 * devices that stay and the next sync reads it) — then its logging stops
 * and it is detached as by vfi_address_space_detach_device(); the other
 * devices keep tracking. With tracking off, or for an untracked device, it
 * is the plain detach. Refused before any ioctl: INVALID_ARGUMENT (NULLs, no
 * log, a log not covering the mapped ranges), WRONG_STATE (@dev in no
 * container of @as). If the read or the logging stop fails, the device
 * stays attached and the bits read so far are in @log.
 */
VFI_API bool vfi_address_space_detach_device_dirty(VfiAddressSpace *as, VfiDevice *dev,
                                                   const VfiDirtyLog *log, GError **errp);


/* ---- coverage report ----------------------------------------------------- */

/* One device of vfi_address_space_dirty_report(). */
typedef struct VfiDirtyDeviceReport {
    VfiDevice *device;          /* the device */
    VfiContainer *container;    /* the container it is in (a type1 one
                                 * too: vfi_container_get_backend_kind()) */
    VfiDirtyCoverage coverage;  /* how its DMA writes are tracked */
    VfiUntrackedReason reason;  /* VFI_COVERED when covered */
} VfiDirtyDeviceReport;

/**
 * vfi_address_space_dirty_report:
 * @n: out: the number of entries.
 *
 * Returns: one entry per device of @as (containers in creation order,
 * devices in attach order), computed from the current state; free with
 * g_free(). NULL (and *n = 0) when there is no device.
 */
VFI_API VfiDirtyDeviceReport *vfi_address_space_dirty_report(
    const VfiAddressSpace *as, unsigned *n);

/**
 * vfi_address_space_migration_blocker:
 *
 * Returns: NULL when every device of @as is covered (or there is none),
 * else a message naming every untracked device and why, for example
 * "dirty tracking does not cover 2 devices: 0000:00:02.0 (its IOMMU has no
 * dirty tracking), 00000000-0000-0000-0000-000000000004 (mdev without an
 * IOMMU domain)". Free with g_free().
 */
VFI_API char *vfi_address_space_migration_blocker(const VfiAddressSpace *as);

/* Returns: true when every device of @c is covered by IOMMU dirty tracking
 * or device DMA logging (false for an empty container). */
VFI_API bool vfi_container_dirty_coverage_complete(const VfiContainer *c);

/* Returns: whether @dev (in a container) offers VFIO DMA logging, as probed
 * when it was attached. */
VFI_API bool vfi_device_offers_dma_logging(const VfiDevice *dev);
/* Returns: whether @dev's DMA logging is started. */
VFI_API bool vfi_device_dma_logging_active(const VfiDevice *dev);

/* ---- statistics ---------------------------------------------------------- */

/* Counters of one dirty reader (a container's, or a VfiDirtyReader). */
typedef struct VfiDirtyStats {
    uint64_t zero_copy_reads;  /* reads (one per source) whose buffer was the
                                * caller's log */
    uint64_t scratch_reads;    /* reads into the reader's scratch buffer */
    uint64_t scratch_grows;    /* allocations of the scratch buffer */
    uint64_t scratch_bytes;    /* its current size */
} VfiDirtyStats;

/* Copy @c's counters into @st (zeros for NULL, or before @c's first dirty
 * HWPT or query). */
VFI_API void vfi_container_get_dirty_stats(const VfiContainer *c,
                                                     VfiDirtyStats *st);

/* ---- the dirty reader (hw/vfio/dirty-reader.c) ----------------------------
 *
 * The machinery behind vfi_container_query_dirty() and the sync and
 * unmap-dirty paths, usable on its own: a set of sources (HWPTs of one
 * iommufd) read into the caller's VfiDirtyLog with their bits ORed. For
 * VMMs that manage HWPTs themselves (and for tests on the kernel's mock
 * IOMMU, whose devices are no VFIO cdevs and cannot be put in a container).
 * Each container owns one internally, whose sources follow the container's
 * dirty HWPTs and its devices whose DMA logging is started.
 *
 * A query validates everything before any ioctl, then, when the range starts
 * on a byte of the log, hands the log's own memory to the kernel for every
 * source (zero copy: the kernel only sets bits); otherwise (and for the tail
 * of a range whose whole words would run past the end of the log) it reads
 * every source into the reader's scratch buffer (zeroed per range, grown when
 * too small, never shrunk) and ORs it into the log once, shifted word-wise.
 * Steady state allocates nothing. Not thread-safe: one thread at a time
 * per reader (its sources and scratch buffer have no lock; two readers may
 * be used by two threads, also on one backend); the log must not be
 * modified while a query runs.
 */
typedef struct VfiDirtyReader VfiDirtyReader;

/**
 * vfi_dirty_reader_new:
 * @be: the backend the HWPTs belong to; not owned: it must stay connected
 *   while queries run and outlive the reader.
 *
 * Returns: a reader without sources (free with vfi_dirty_reader_free()),
 * or NULL when @be is NULL. No ioctl.
 */
VFI_API VfiDirtyReader *vfi_dirty_reader_new(VfiIommufd *be);

/**
 * vfi_dirty_reader_new_for_container:
 * @c: the container whose sources the reader reads (vfi_device_get_container();
 *   a type1 one or an IOMMUFD one); not owned: free the reader before @c goes
 *   (a container goes with its last device's detach).
 *
 * A reader of @c's own sources, as vfi_container_query_dirty() reads them:
 * on a type1 container its IOMMU dirty bits through VFIO_IOMMU_DIRTY_PAGES
 * (the container ops' dirty-read primitive), on an IOMMUFD one its HWPTs
 * whose tracking is on, and the DMA logs of its devices whose logging is
 * started. A query is then the container's query into the caller's log:
 * WRONG_STATE before any ioctl while @c's tracking is off, every read
 * inside @c's mappings, taking @c's lock; a sync of the whole log span
 * with it sets exactly the bits vfi_container_sync_dirty() sets. The pages
 * a read takes around its range (whole mappings) are kept by @c, so reads
 * by the reader and by @c's syncs lose none. The reader has its own scratch
 * buffer and counters (vfi_dirty_reader_get_stats()).
 *
 * On type1 every read clears: VFIO_IOMMU_DIRTY_PAGES has no read that
 * leaves the bits, so VFI_DIRTY_QUERY_NO_CLEAR leaves the devices' DMA logs
 * (and an IOMMUFD container's HWPTs) as they are but not the type1 bits,
 * which the kernel sets again only for pages dirtied again (without
 * hardware tracking type1 reports every mapped page dirty at every read).
 * Its sources, mappings and alignment are @c's:
 * vfi_dirty_reader_set_iova_alignment(), _add_hwpt(), _remove_hwpt(),
 * _add_mapping() and _remove_mapping() are refused (WRONG_STATE), and a
 * parallel query (vfi_dirty_reader_query_parallel() with a pool) is
 * NOT_SUPPORTED (sync @c in parallel instead). No ioctl.
 *
 * Returns: the reader (free with vfi_dirty_reader_free()), or NULL with
 * INVALID_ARGUMENT for a NULL @c.
 */
VFI_API VfiDirtyReader *vfi_dirty_reader_new_for_container(VfiContainer *c, GError **errp);

/* Free @r and its scratch buffer (the HWPTs are the caller's). NULL: no-op. */
VFI_API void vfi_dirty_reader_free(VfiDirtyReader *r);

/**
 * vfi_dirty_reader_set_iova_alignment:
 * @alignment: the IOVA alignment of the IOAS the HWPTs are built on (the
 *   out_iova_alignment of IOMMU_IOAS_IOVA_RANGES, see
 *   vfi_iommufd_ioas_iova_ranges()); a power of two.
 *
 * Optional. When set, a log whose page size is below @alignment is refused
 * before any ioctl (INVALID_ARGUMENT), as containers do; by default (1) the
 * reader only requires a power-of-two page size and leaves the IOAS
 * alignment to the kernel (EINVAL from IOMMU_HWPT_GET_DIRTY_BITMAP).
 * INVALID_ARGUMENT for a NULL @r or an @alignment that is not a power of two.
 */
VFI_API bool vfi_dirty_reader_set_iova_alignment(VfiDirtyReader *r,
                                                           uint64_t alignment, GError **errp);

/**
 * vfi_dirty_reader_add_hwpt:
 *
 * Add HWPT @hwpt_id (allocated with IOMMU_HWPT_ALLOC_DIRTY_TRACKING on @r's
 * backend; the caller keeps owning it and starts/stops its tracking) as a
 * source: its bits are ORed into the log by every later query, after the
 * sources added before it. No ioctl: an unknown id or a HWPT without the
 * dirty flag is reported by the kernel at the first query (ENOENT,
 * EOPNOTSUPP). The reader does not know whether the caller switched the
 * HWPT's tracking on: a query while it is off fails with the kernel's EINVAL
 * (VFI_KERNEL_ERROR, the message naming the HWPT and saying so),
 * the IOMMU drivers refusing to read a domain that is not tracking; remove
 * a HWPT whose tracking the caller stops, or do not query then.
 * INVALID_ARGUMENT for a NULL @r, id 0, or an id already added.
 */
VFI_API bool vfi_dirty_reader_add_hwpt(VfiDirtyReader *r, uint32_t hwpt_id,
                                                 GError **errp);

/* Remove HWPT @hwpt_id from @r's sources (do it before destroying the HWPT).
 * NOT_FOUND when it is not one; INVALID_ARGUMENT for a NULL @r. */
VFI_API bool vfi_dirty_reader_remove_hwpt(VfiDirtyReader *r, uint32_t hwpt_id,
                                                    GError **errp);

/* Returns: the number of HWPT sources of @r (0 for NULL). */
VFI_API unsigned vfi_dirty_reader_hwpt_count(const VfiDirtyReader *r);

/**
 * vfi_dirty_reader_add_mapping:
 * @r: the reader.
 * @iova, @size: a mapping of the IOAS the reader's HWPTs translate, as the
 *   caller made it (one IOMMU_IOAS_MAP).
 *
 * Tell @r of a mapping, so that a query whose range cuts it reads it whole
 * from the HWPTs: the IOMMU records dirtiness per IOPTE, which never crosses
 * a mapping's edge but may cross any other IOVA, and a kernel read whose edge
 * cuts a dirty IOPTE larger than the log's page loses it (Linux 7.3: one
 * starting before the read is cleared, unreported) or sets bits past the
 * range (docs/dirty-tracking.md, "Granularity"). The bits of the mapping
 * outside the queried range are kept by @r and ORed into the log by the
 * query of their pages. A query is also cut at the edges of the mappings
 * told: the kernel stops a read at the first unmapped IOVA and still
 * succeeds (what lies after a hole is not read), and reads nothing from a
 * range starting in one. Without mappings told, @r reads exactly the ranges
 * queried: then query whole mappings, one range per run of mappings
 * without a hole. No ioctl. INVALID_ARGUMENT for a
 * NULL @r, a size of 0, an overflowing range, or one overlapping a mapping
 * told before (nothing changes).
 */
VFI_API bool vfi_dirty_reader_add_mapping(VfiDirtyReader *r, uint64_t iova, uint64_t size,
                                          GError **errp);

/**
 * vfi_dirty_reader_remove_mapping:
 *
 * Forget the mapping [@iova, @iova + @size) told with
 * vfi_dirty_reader_add_mapping() (the caller unmapped it, after reading its
 * bits with a query if it needs them) and the pages @r kept of it. No
 * ioctl. NOT_FOUND unless exactly that mapping was told (nothing changes),
 * INVALID_ARGUMENT for a NULL @r or a bad range.
 */
VFI_API bool vfi_dirty_reader_remove_mapping(VfiDirtyReader *r, uint64_t iova,
                                             uint64_t size, GError **errp);

/**
 * vfi_dirty_reader_query:
 * @iova, @size: aligned to @log's page size, inside the log's span.
 * @log: the caller's log (owned by the caller; bits are only ever set).
 * @flags: VfiDirtyQueryFlags (VFI_DIRTY_QUERY_NO_CLEAR leaves the dirty
 *   state in the kernel for the next read, for example before an unmap).
 *
 * OR the dirty bits of [@iova, @iova + @size) of every source of @r into
 * @log at bit (@iova - log->base_iova) / log->page_size onwards; bits of the
 * log outside the range are not changed. Checked before any ioctl
 * (INVALID_ARGUMENT): @r, @log and its bitmap non-NULL, page size a power of
 * two (and at least the alignment set with
 * vfi_dirty_reader_set_iova_alignment()), log base, @iova and @size aligned
 * to it, @size non-zero, no overflow of the range or the log's span, the
 * range inside the log, unknown flags. No source: success, no ioctl. A
 * kernel error (VFI_KERNEL_ERROR with the errno) names the HWPT; the
 * bits already read (and cleared in the kernel) are in @log.
 */
VFI_API bool vfi_dirty_reader_query(VfiDirtyReader *r, uint64_t iova,
                                              uint64_t size, const VfiDirtyLog *log,
                                              uint32_t flags, GError **errp);

/* Copy @r's counters into @st (zeros for NULL). */
VFI_API void vfi_dirty_reader_get_stats(const VfiDirtyReader *r,
                                                  VfiDirtyStats *st);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(VfiDirtyReader, vfi_dirty_reader_free)

/* ---- VFIO DMA logging of one device (hw/vfio/dma-logging.c) -------------- */

/* One IOVA range for DMA_LOGGING_START. */
typedef struct VfiDmaLoggingRange {
    uint64_t iova;     /* start of the range */
    uint64_t length;   /* its length in bytes */
} VfiDmaLoggingRange;

/**
 * vfi_device_dma_logging_probe:
 * @offered: out: whether the device supports DMA logging.
 *
 * VFIO_DEVICE_FEATURE with PROBE|SET of DMA_LOGGING_START. ENOTTY from the
 * kernel means "not offered" (success, *@offered false); any other error is
 * returned. WRONG_STATE when @dev is not bound.
 */
VFI_API bool vfi_device_dma_logging_probe(VfiDevice *dev, bool *offered,
                                                    GError **errp);
/* DMA_LOGGING_START with @n ranges (sorted, disjoint, @page_size-aligned). */
VFI_API bool vfi_device_dma_logging_start(VfiDevice *dev, uint64_t page_size,
                                                    const VfiDmaLoggingRange *ranges,
                                                    unsigned n, GError **errp);
/* DMA_LOGGING_STOP. */
VFI_API bool vfi_device_dma_logging_stop(VfiDevice *dev, GError **errp);
/**
 * vfi_device_dma_logging_report:
 * @bitmap: any byte address; DIV_ROUND_UP(@size / @page_size, 64) words
 *   from there may be read and written (the kernel only sets bits).
 *
 * DMA_LOGGING_REPORT of [@iova, @iova + @size): ORs the logged pages into
 * @bitmap and clears them in the device.
 */
VFI_API bool vfi_device_dma_logging_report(VfiDevice *dev, uint64_t iova,
                                                     uint64_t size, uint64_t page_size,
                                                     void *bitmap, GError **errp);

/**
 * vfi_device_dma_logging_ranges:
 * @n: out: the number of ranges (0 while the device's logging is off).
 * @page_size: out (may be NULL): the page size its logging was started with.
 *
 * Returns: a copy (g_free()) of the IOVA ranges @dev logs its DMA for, as
 * given to DMA_LOGGING_START, ascending; NULL while its logging is off. No
 * ioctl.
 */
VFI_API VfiDmaLoggingRange *vfi_device_dma_logging_ranges(const VfiDevice *dev, unsigned *n,
                                                          uint64_t *page_size);

G_END_DECLS

#endif
