/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: the iommufd backend object.
 *
 * One VfiIommufd stands for one iommufd (an open /dev/iommu).  It owns
 * the fd when it opened it itself, or borrows a fd the VMM passed in (never
 * closed by the library).  Users (devices, containers, the VMM) connect and
 * disconnect; an fd the backend opened is opened at the first connect and
 * closed when the last user disconnects.
 *
 * Each function wraps exactly one IOMMUFD ioctl.  Every function returns
 * false and sets @errp on failure:
 *  - VFI_ERROR / VFI_ERROR_INVALID_ARGUMENT: a bad argument,
 *    rejected before any ioctl;
 *  - VFI_ERROR / VFI_ERROR_WRONG_STATE: the backend is not
 *    connected;
 *  - VFI_KERNEL_ERROR / errno: the kernel refused the ioctl; ENOTTY
 *    means the running kernel lacks the ioctl (the message says which kernel
 *    version added it).
 * Nothing is changed when a call fails.
 *
 * Threads (docs/concurrency.md): a backend may be shared by threads and by
 * address spaces used in different threads. Its lock makes connect,
 * disconnect, the user count and the lazy open and close of an owned fd
 * atomic (vfi_iommufd_connect(), vfi_iommufd_disconnect(),
 * vfi_iommufd_users(), vfi_iommufd_get_fd()). The ioctl wrappers take no
 * lock (the kernel serialises what it must): any thread may call them while
 * it holds a user, so the fd stays open under it. vfi_iommufd_free() must
 * not overlap any other call on the backend.
 */
#ifndef VFI_IOMMUFD_H
#define VFI_IOMMUFD_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <glib.h>

#include "vfio-iommufd/error.h"
#include "vfio-iommufd/visibility.h"

G_BEGIN_DECLS

/* One iommufd, owned or borrowed (opaque; vfi_iommufd_new()). */
typedef struct VfiIommufd VfiIommufd;

/* One allowed IOVA range, both ends inclusive. */
typedef struct VfiIovaRange {
    uint64_t start;   /* first IOVA of the range */
    uint64_t last;    /* last IOVA of the range (not one past it) */
} VfiIovaRange;

/*
 * What IOMMU_GET_HW_INFO says about the IOMMU behind a device.
 * data/data_len: the vendor data (struct iommu_hw_info_vtd, ...); the caller
 * provides the buffer and its size in data_len; on return data_len is the
 * length the kernel reported (it may be larger than the buffer: only
 * min(buffer, reported) bytes were written).
 */
typedef struct VfiHwInfo {
    uint32_t type;            /* enum iommu_hw_info_type */
    uint64_t capabilities;    /* IOMMU_HW_CAP_* (bit 0: dirty tracking) */
    uint8_t max_pasid_log2;   /* 0: no PASID support */
    void *data;               /* in: caller's buffer, may be NULL if data_len 0 */
    uint32_t data_len;        /* in: buffer size; out: length reported */
} VfiHwInfo;

/**
 * vfi_iommufd_new:
 *
 * A backend that opens /dev/iommu itself on its first connect.
 * Returns: a new backend (free with vfi_iommufd_free()).
 */
VFI_API VfiIommufd *vfi_iommufd_new(void);

/**
 * vfi_iommufd_new_from_fd:
 * @fd: an open iommufd the VMM owns; never closed by the library.
 *
 * Returns: a new backend using @fd, or NULL with INVALID_ARGUMENT if @fd < 0.
 */
VFI_API VfiIommufd *vfi_iommufd_new_from_fd(int fd, GError **errp);

/**
 * vfi_iommufd_free:
 *
 * Free @be. Refused (WRONG_STATE, nothing freed) while users are connected.
 * NULL is accepted and does nothing.
 */
VFI_API bool vfi_iommufd_free(VfiIommufd *be, GError **errp);

/**
 * vfi_iommufd_connect:
 *
 * Add a user. The first connect of a backend that owns its fd opens
 * /dev/iommu (kernel errno on failure, the user count unchanged).
 */
VFI_API bool vfi_iommufd_connect(VfiIommufd *be, GError **errp);

/**
 * vfi_iommufd_disconnect:
 *
 * Drop a user. The last disconnect closes an fd the backend opened. Calling
 * it with no user connected is a programming error, logged with g_critical()
 * and otherwise ignored.
 */
VFI_API void vfi_iommufd_disconnect(VfiIommufd *be);

/* Returns: the iommufd, or -1 while not connected (for an owned fd). */
VFI_API int vfi_iommufd_get_fd(const VfiIommufd *be);
/* Returns: the number of connected users. */
VFI_API unsigned vfi_iommufd_users(const VfiIommufd *be);
/* Returns: whether the fd was passed in by the VMM. */
VFI_API bool vfi_iommufd_fd_is_borrowed(const VfiIommufd *be);

/**
 * vfi_iommufd_ioas_alloc:
 * @ioas_id: out: the new IOAS id.
 *
 * IOMMU_IOAS_ALLOC. The IOAS must be freed with vfi_iommufd_destroy().
 */
VFI_API bool vfi_iommufd_ioas_alloc(VfiIommufd *be, uint32_t *ioas_id,
                                                 GError **errp);

/**
 * vfi_iommufd_destroy:
 *
 * IOMMU_DESTROY of any object (IOAS, HWPT). An object still in use (a HWPT
 * with a device attached, an IOAS with a HWPT on it) gives
 * VFI_KERNEL_ERROR/EBUSY with a message saying it is still in use;
 * an unknown id gives ENOENT.
 */
VFI_API bool vfi_iommufd_destroy(VfiIommufd *be, uint32_t id,
                                              GError **errp);

/**
 * vfi_iommufd_ioas_map:
 *
 * IOMMU_IOAS_MAP of [@vaddr, @vaddr + @size) at the fixed IOVA @iova,
 * readable, and writeable unless @readonly. @size must be non-zero, @vaddr
 * non-NULL, @iova + @size must not overflow. EEXIST: overlaps a mapping.
 */
VFI_API bool vfi_iommufd_ioas_map(VfiIommufd *be, uint32_t ioas_id,
                                              uint64_t iova, uint64_t size, void *vaddr,
                                              bool readonly, GError **errp);

/**
 * vfi_iommufd_ioas_map_any:
 * @iova: out: the IOVA the kernel chose.
 *
 * IOMMU_IOAS_MAP without FIXED_IOVA: the kernel picks the IOVA.
 */
VFI_API bool vfi_iommufd_ioas_map_any(VfiIommufd *be, uint32_t ioas_id,
                                                  uint64_t size, void *vaddr, bool readonly,
                                                  uint64_t *iova, GError **errp);

/*
 * The IOVA argument of a map that lets the kernel choose the IOVA
 * (vfi_iommufd_ioas_map_file(), vfi_container_dma_map_file(),
 * vfi_address_space_dma_map_file()). No fixed mapping can start there: the
 * kernel refuses an IOVA of ULONG_MAX (EOVERFLOW).
 */
#define VFI_IOVA_ANY UINT64_MAX

/**
 * vfi_iommufd_ioas_map_file:
 * @iova: the fixed IOVA, or VFI_IOVA_ANY for one the kernel chooses (the
 *   lowest free one suitably aligned, never 0).
 * @fd: the file: a memfd, or a file on shmem (tmpfs) or hugetlbfs; the
 *   caller's, never closed here. The kernel takes its own reference on the
 *   file, so @fd may be closed once the call returns.
 * @start: the byte offset in the file of the first byte mapped.
 * @size: bytes to map, non-zero; @start + @size must not overflow, nor
 *   @iova + @size for a fixed @iova.
 * @iova_out: out: the IOVA mapped (may be NULL for a fixed @iova).
 *
 * IOMMU_IOAS_MAP_FILE (Linux 6.13): map [@start, @start + @size) of the
 * file at @iova, readable, and writeable unless @readonly. Unmapped with
 * vfi_iommufd_ioas_unmap() like any mapping. The kernel pins the file's
 * pages when the IOAS has a domain (at once, or when the first one is
 * attached): a file that is not shmem or hugetlbfs, or a range past its
 * end, gives EINVAL then; a closed @fd gives EBADF. ENOTTY: the running
 * kernel predates 6.13. A build against UAPI headers without the request
 * (before 6.13) fails with VFI_ERROR / VFI_ERROR_NOT_SUPPORTED, no ioctl.
 */
VFI_API bool vfi_iommufd_ioas_map_file(VfiIommufd *be, uint32_t ioas_id, uint64_t iova,
                                       int fd, uint64_t start, uint64_t size,
                                       bool readonly, uint64_t *iova_out, GError **errp);

/**
 * vfi_iommufd_ioas_unmap:
 * @unmapped: out (may be NULL): the number of bytes unmapped.
 *
 * IOMMU_IOAS_UNMAP of [@iova, @iova + @size). The range must cover whole
 * mappings. When nothing is mapped there the error is
 * VFI_KERNEL_ERROR/ENOENT with a message saying so, distinct from
 * any other failure. The kernel gives the same ENOENT for an unknown IOAS
 * and for a mapping that sticks out of the range (it never splits one); in
 * that last case the mappings before it in the range are already unmapped,
 * the one exception to "nothing is changed when a call fails".
 * @size must be non-zero and @iova + @size must not overflow.
 */
VFI_API bool vfi_iommufd_ioas_unmap(VfiIommufd *be, uint32_t ioas_id,
                                                uint64_t iova, uint64_t size,
                                                uint64_t *unmapped, GError **errp);

/**
 * vfi_iommufd_ioas_unmap_all:
 * @unmapped: out (may be NULL): the number of bytes unmapped (0 when the
 *            IOAS was empty, which is not an error).
 *
 * IOMMU_IOAS_UNMAP of the whole IOVA space (iova 0, length UINT64_MAX).
 * The kernel reports an empty IOAS as a success, so ENOENT means @ioas_id is
 * not an IOAS.
 */
VFI_API bool vfi_iommufd_ioas_unmap_all(VfiIommufd *be, uint32_t ioas_id,
                                                uint64_t *unmapped, GError **errp);

/**
 * vfi_iommufd_ioas_iova_ranges:
 * @ranges: out: a newly allocated array (g_free()) of allowed IOVA ranges,
 *          ascending.
 * @nr_ranges: out: its length.
 * @alignment: out (may be NULL): the IOAS's required IOVA alignment.
 *
 * IOMMU_IOAS_IOVA_RANGES, called again with a larger array on EMSGSIZE.
 */
VFI_API bool vfi_iommufd_ioas_iova_ranges(VfiIommufd *be, uint32_t ioas_id,
                                                      VfiIovaRange **ranges,
                                                      size_t *nr_ranges,
                                                      uint64_t *alignment, GError **errp);

/**
 * vfi_iommufd_get_hw_info:
 * @dev_id: a bound device's id (VFIO_DEVICE_BIND_IOMMUFD's out_devid).
 * @info: in/out, see VfiHwInfo.
 *
 * IOMMU_GET_HW_INFO. An mdev's id gives ENOENT (it has no IOMMU).
 */
VFI_API bool vfi_iommufd_get_hw_info(VfiIommufd *be, uint32_t dev_id,
                                                      VfiHwInfo *info, GError **errp);

/**
 * vfi_iommufd_hwpt_alloc:
 * @dev_id: the device the HWPT is made for.
 * @pt_id: the IOAS (or a parent HWPT for nesting).
 * @flags: IOMMU_HWPT_ALLOC_* (NEST_PARENT, DIRTY_TRACKING).
 * @data_type, @data_len, @data: driver-specific data (IOMMU_HWPT_DATA_NONE,
 *   0, NULL for a paging HWPT). @data must be non-NULL when @data_len is not 0.
 * @out_hwpt_id: out: the new HWPT id (free with vfi_iommufd_destroy()).
 *
 * IOMMU_HWPT_ALLOC. EOPNOTSUPP: the IOMMU cannot do what @flags ask (for
 * example dirty tracking).
 */
VFI_API bool vfi_iommufd_hwpt_alloc(VfiIommufd *be, uint32_t dev_id,
                                                 uint32_t pt_id, uint32_t flags,
                                                 uint32_t data_type, uint32_t data_len,
                                                 void *data, uint32_t *out_hwpt_id,
                                                 GError **errp);

/**
 * vfi_iommufd_hwpt_set_dirty_tracking:
 *
 * IOMMU_HWPT_SET_DIRTY_TRACKING: start (@start true) or stop dirty tracking
 * on a HWPT allocated with IOMMU_HWPT_ALLOC_DIRTY_TRACKING. Starting clears
 * stale dirty bits; starting or stopping twice is harmless. A HWPT without
 * the flag gives EINVAL or EOPNOTSUPP.
 */
VFI_API bool vfi_iommufd_hwpt_set_dirty_tracking(VfiIommufd *be,
                                                         uint32_t hwpt_id, bool start,
                                                         GError **errp);

/**
 * vfi_iommufd_hwpt_get_dirty_bitmap:
 * @iova, @size: the IOVA range, both aligned to @page_size, @size > 0,
 *               @iova + @size not overflowing.
 * @page_size: a power of two: bit i of @bitmap stands for the page at
 *             @iova + i * @page_size.
 * @bitmap: the caller's buffer of at least DIV_ROUND_UP(size / page_size, 64)
 *          64-bit words; it needs no alignment (the kernel accepts any byte
 *          address, so a pointer into the middle of a larger bitmap works).
 *          The kernel only SETS bits: it ORs the dirty state into the
 *          buffer. Zero the buffer first for a plain read.
 * @flags: 0, or IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR to leave the dirty
 *         state in place for the next read (by default reading clears it).
 *
 * IOMMU_HWPT_GET_DIRTY_BITMAP. Arguments are checked before the ioctl.
 */
VFI_API bool vfi_iommufd_hwpt_get_dirty_bitmap(VfiIommufd *be, uint32_t hwpt_id,
                                                       uint64_t iova, uint64_t size,
                                                       uint64_t page_size, void *bitmap,
                                                       uint64_t flags, GError **errp);

/**
 * vfi_iommufd_ioas_change_process:
 *
 * IOMMU_IOAS_CHANGE_PROCESS (Linux 6.13): move the accounting of the pages
 * pinned by every mapping of every IOAS of @be's iommufd (RLIMIT_MEMLOCK,
 * the pinned-pages counters) to the calling process: the step of a live
 * update where a new process took over the iommufd
 * (<vfio-iommufd/live-update.h>). The kernel accepts it only when every
 * mapping was made from a file (IOMMU_IOAS_MAP_FILE): EINVAL otherwise;
 * ENOTTY from a kernel older than 6.13; nothing changes on any failure.
 * Built against headers without it: VFI_ERROR_NOT_SUPPORTED, no ioctl.
 */
VFI_API bool vfi_iommufd_ioas_change_process(VfiIommufd *be, GError **errp);

/* For g_autoptr(VfiIommufd): frees a backend with no user left; a backend
 * still in use is reported with g_critical() and not freed. */
static inline void vfi_iommufd_autoptr_free(VfiIommufd *be)
{
    g_autoptr(GError) err = NULL;

    if (!vfi_iommufd_free(be, &err)) {
        g_critical("%s", err->message);
    }
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VfiIommufd, vfi_iommufd_autoptr_free)

G_END_DECLS

#endif
