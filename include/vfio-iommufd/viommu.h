/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: IOMMUFD objects for a virtual IOMMU (nesting).
 *
 * The objects a VMM's vIOMMU emulation needs on top of a nest-parent HWPT
 * (IOMMU_HWPT_ALLOC_NEST_PARENT, vfi_iommufd_hwpt_alloc()):
 *  - VfiViommu: IOMMU_VIOMMU_ALLOC, a vIOMMU of a vendor type on the parent;
 *  - VfiVdevice: IOMMU_VDEVICE_ALLOC, a device's virtual id in a vIOMMU;
 *  - VfiNestedHwpt: IOMMU_HWPT_ALLOC of a nested (stage-1) HWPT on the
 *    parent or on a vIOMMU, with the vendor data (type, length, pointer);
 *  - vfi_iommufd_invalidate(): IOMMU_HWPT_INVALIDATE of a nested HWPT or a
 *    vIOMMU, with the number of entries the kernel consumed;
 *  - VfiVeventq: IOMMU_VEVENTQ_ALLOC and the reader of its fd, which reports
 *    lost events (the kernel's lost-events record, sequence gaps);
 *  - VfiFaultq: IOMMU_FAULT_QUEUE_ALLOC, page-request faults read from its fd
 *    and the responses written to it;
 *  - VfiHwQueue: IOMMU_HW_QUEUE_ALLOC (Linux 6.17).
 *
 * Ownership: each object holds one user of its backend (the iommufd stays
 * open under it) and owns its kernel id, and its fd for the queues. Its
 * _free() call destroys the kernel object (IOMMU_DESTROY) and drops the
 * user; when the kernel refuses (EBUSY: something still depends on it)
 * nothing is freed and the object stays valid. A queue's fd holds the queue
 * in the kernel, so a queue's free closes the fd first: a refused free
 * leaves the queue without its fd (reads fail), to be freed again later. The order the kernel
 * requires (docs/nesting.md): a device off a nested HWPT before the HWPT; a
 * nested HWPT, vDEVICEs, vEVENTQs and HW queues of a vIOMMU before the
 * vIOMMU; the vIOMMU and nested HWPTs before their parent HWPT. A vDEVICE
 * should be freed before its device is unbound: the kernel destroys it at
 * the unbind and leaves its id unusable (the free then still succeeds,
 * reporting the id as already gone in its trace event).
 *
 * Errors (false / NULL with @errp set): VFI_ERROR_INVALID_ARGUMENT for a
 * bad argument and VFI_ERROR_WRONG_STATE for a backend not connected, both
 * before any ioctl; VFI_ERROR_NOT_SUPPORTED when the build's UAPI headers
 * lack the request (before any ioctl); VFI_KERNEL_ERROR with the errno
 * when the kernel refuses (nothing is then left behind).
 */
#ifndef VFI_VIOMMU_H
#define VFI_VIOMMU_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <glib.h>

#include "vfio-iommufd/error.h"
#include "vfio-iommufd/iommufd.h"
#include "vfio-iommufd/visibility.h"

G_BEGIN_DECLS

/* A vIOMMU object (opaque; vfi_viommu_alloc()). */
typedef struct VfiViommu VfiViommu;
/* A vDEVICE object (opaque; vfi_vdevice_alloc()). */
typedef struct VfiVdevice VfiVdevice;
/* A nested HWPT (opaque; vfi_nested_hwpt_alloc()). */
typedef struct VfiNestedHwpt VfiNestedHwpt;
/* A vEVENTQ and its reader (opaque; vfi_veventq_alloc()). */
typedef struct VfiVeventq VfiVeventq;
/* A fault queue (opaque; vfi_faultq_alloc()). */
typedef struct VfiFaultq VfiFaultq;
/* A HW queue of a vIOMMU (opaque; vfi_hw_queue_alloc()). */
typedef struct VfiHwQueue VfiHwQueue;

/**
 * vfi_viommu_alloc:
 * @be: a connected backend.
 * @dev_id: a bound device behind the IOMMU instance the vIOMMU stands for.
 * @parent_hwpt_id: a HWPT allocated with IOMMU_HWPT_ALLOC_NEST_PARENT.
 * @type: enum iommu_viommu_type (or a driver's test type), not 0.
 * @data, @data_len: vendor data, in and out (the kernel may write outputs
 *   into it, e.g. an mmap offset); NULL and 0 for none.
 *
 * IOMMU_VIOMMU_ALLOC (Linux 6.13). EINVAL: the parent is not a nest parent.
 * Returns: the vIOMMU (vfi_viommu_free()), or NULL.
 */
VFI_API VfiViommu *vfi_viommu_alloc(VfiIommufd *be, uint32_t dev_id, uint32_t parent_hwpt_id,
                                    uint32_t type, void *data, uint32_t data_len,
                                    GError **errp);
/* Returns: the vIOMMU's id (0 for NULL). */
VFI_API uint32_t vfi_viommu_get_id(const VfiViommu *viommu);
/* Returns: the backend the vIOMMU was made on (not a new reference). */
VFI_API VfiIommufd *vfi_viommu_get_backend(const VfiViommu *viommu);

/**
 * vfi_viommu_free:
 *
 * IOMMU_DESTROY of the vIOMMU. EBUSY (nothing freed): vDEVICEs, nested
 * HWPTs, vEVENTQs or HW queues still on it. NULL is accepted.
 */
VFI_API bool vfi_viommu_free(VfiViommu *viommu, GError **errp);

/**
 * vfi_viommu_mmap:
 * @offset, @length: a window of the vIOMMU the kernel offered (its vendor
 *   data's out_mmap_offset / out_mmap_length), @length a multiple of the page
 *   size.
 * @addr: out: the mapping (shared, read and write), the caller's to unmap
 *   with vfi_viommu_munmap() before the vIOMMU is freed (the kernel refuses
 *   the vIOMMU's destroy with EBUSY while it is mapped).
 *
 * mmap(2) of the iommufd at @offset (Linux 6.17). ENXIO: not a window (or
 * not its exact length).
 */
VFI_API bool vfi_viommu_mmap(VfiViommu *viommu, uint64_t offset, uint64_t length, void **addr,
                             GError **errp);

/**
 * vfi_viommu_munmap:
 *
 * munmap(2) of a mapping vfi_viommu_mmap() made (@length the same).
 */
VFI_API bool vfi_viommu_munmap(VfiViommu *viommu, void *addr, uint64_t length, GError **errp);

/**
 * vfi_vdevice_alloc:
 * @dev_id: a bound device behind the vIOMMU's IOMMU instance.
 * @virt_id: the device's id in the guest's IOMMU (a vRID, a stream id).
 *
 * IOMMU_VDEVICE_ALLOC (Linux 6.13). EEXIST: the device already has a
 * vDEVICE, or @virt_id is taken in this vIOMMU.
 * Returns: the vDEVICE (vfi_vdevice_free()), or NULL.
 */
VFI_API VfiVdevice *vfi_vdevice_alloc(VfiViommu *viommu, uint32_t dev_id, uint64_t virt_id,
                                      GError **errp);
/* Returns: the vDEVICE's id (0 for NULL). */
VFI_API uint32_t vfi_vdevice_get_id(const VfiVdevice *vdev);
/* Returns: the virtual id it was made with. */
VFI_API uint64_t vfi_vdevice_get_virt_id(const VfiVdevice *vdev);

/**
 * vfi_vdevice_free:
 *
 * IOMMU_DESTROY of the vDEVICE. An id the kernel already destroyed (its
 * device was unbound) is not an error. NULL is accepted.
 */
VFI_API bool vfi_vdevice_free(VfiVdevice *vdev, GError **errp);

/**
 * vfi_nested_hwpt_alloc:
 * @be: a connected backend.
 * @dev_id: the bound device the HWPT is made for.
 * @pt_id: the nest-parent HWPT, or a vIOMMU's id.
 * @flags: 0, IOMMU_HWPT_ALLOC_PASID (6.15), IOMMU_HWPT_FAULT_ID_VALID.
 * @fault_id: the fault queue's id when @flags has IOMMU_HWPT_FAULT_ID_VALID.
 * @data_type: enum iommu_hwpt_data_type of the stage-1 data, not NONE.
 * @data, @data_len: the vendor data, non-NULL and non-zero.
 *
 * IOMMU_HWPT_ALLOC of a nested HWPT. Attach a device to it with
 * vfi_device_attach() or vfi_device_replace().
 * Returns: the HWPT (vfi_nested_hwpt_free()), or NULL.
 */
VFI_API VfiNestedHwpt *vfi_nested_hwpt_alloc(VfiIommufd *be, uint32_t dev_id, uint32_t pt_id,
                                             uint32_t flags, uint32_t fault_id,
                                             uint32_t data_type, const void *data,
                                             uint32_t data_len, GError **errp);
/* Returns: the nested HWPT's id (0 for NULL). */
VFI_API uint32_t vfi_nested_hwpt_get_id(const VfiNestedHwpt *hwpt);

/**
 * vfi_nested_hwpt_free:
 *
 * IOMMU_DESTROY of the HWPT. EBUSY (nothing freed): a device is attached.
 * NULL is accepted.
 */
VFI_API bool vfi_nested_hwpt_free(VfiNestedHwpt *hwpt, GError **errp);

/**
 * vfi_iommufd_invalidate:
 * @id: a nested HWPT or a vIOMMU.
 * @data_type: enum iommu_hwpt_invalidate_data_type or
 *   iommu_viommu_invalidate_data_type.
 * @entries: @entry_num requests of @entry_len bytes each (NULL only when
 *   @entry_num is 0).
 * @done: out: how many requests the kernel consumed, also on failure: the
 *   kernel stops at the first request it refuses, so on failure
 *   @entries[*done] is the refused one.
 *
 * IOMMU_HWPT_INVALIDATE (Linux 6.8).
 */
VFI_API bool vfi_iommufd_invalidate(VfiIommufd *be, uint32_t id, uint32_t data_type,
                                    const void *entries, uint32_t entry_len,
                                    uint32_t entry_num, uint32_t *done, GError **errp);

/* One event read from a vEVENTQ (vfi_veventq_read()). */
typedef struct VfiVevent {
    uint32_t sequence;   /* the kernel's sequence index, [0, INT32_MAX] */
    uint32_t lost;       /* events lost just before this one: a gap in the
                          * sequence, or the kernel's lost-events record */
    bool lost_record;    /* this is the kernel's IOMMU_VEVENTQ_FLAG_LOST_EVENTS
                          * record: no data; @lost says how many */
    uint32_t data_len;   /* bytes in @data */
    uint8_t *data;       /* the event's data (owned by the event) */
} VfiVevent;

/**
 * vfi_veventq_alloc:
 * @type: enum iommu_veventq_type, not 0; one queue per type and vIOMMU.
 * @depth: the most events the kernel queues before it loses some (> 0).
 * @event_len: the data length of one event of @type (the records carry no
 *   length), e.g. sizeof(struct iommu_vevent_arm_smmuv3); 1 to 4096.
 *
 * IOMMU_VEVENTQ_ALLOC (Linux 6.15). EEXIST: the vIOMMU has a queue of
 * @type. The queue owns the fd the kernel returns.
 * Returns: the queue (vfi_veventq_free()), or NULL.
 */
VFI_API VfiVeventq *vfi_veventq_alloc(VfiViommu *viommu, uint32_t type, uint32_t depth,
                                      uint32_t event_len, GError **errp);
/* Returns: the queue's id (0 for NULL). */
VFI_API uint32_t vfi_veventq_get_id(const VfiVeventq *q);
/* Returns: its fd, for poll(2) (owned by the queue; -1 for NULL). */
VFI_API int vfi_veventq_get_fd(const VfiVeventq *q);

/**
 * vfi_veventq_read:
 * @events: out: the events queued now, in order (a new array owning its
 *   VfiVevent elements: g_array_unref()); empty when none.
 * @lost: out (may be NULL): the events lost in this read, the sum of the
 *   events' lost counts.
 *
 * read(2) of the queue's fd until it is empty. A gap in the sequence
 * (counted from the previous read) or the kernel's lost-events record is
 * reported in the event's lost count, never dropped silently; a trace
 * event says "N events lost". A read that fails after events were read
 * returns those (true); one failing first returns false, nothing consumed.
 */
VFI_API bool vfi_veventq_read(VfiVeventq *q, GArray **events, uint64_t *lost,
                              GError **errp);

/**
 * vfi_veventq_free:
 *
 * Close of its fd, then IOMMU_DESTROY of the queue. NULL is accepted.
 */
VFI_API bool vfi_veventq_free(VfiVeventq *q, GError **errp);

/* One page-request fault read from a fault queue (struct iommu_hwpt_pgfault). */
typedef struct VfiPageFault {
    uint32_t flags;      /* IOMMU_PGFAULT_FLAGS_* */
    uint32_t dev_id;     /* the faulting device's id */
    uint32_t pasid;      /* the PASID, when flags say it is valid */
    uint32_t grpid;      /* the page request group */
    uint32_t perm;       /* IOMMU_PGFAULT_PERM_* */
    uint64_t addr;       /* the faulting address */
    uint32_t length;     /* bytes of the request */
    uint32_t cookie;     /* what the response names (vfi_faultq_respond()) */
} VfiPageFault;

/**
 * vfi_faultq_alloc:
 *
 * IOMMU_FAULT_QUEUE_ALLOC (Linux 6.11). Give its id to
 * vfi_nested_hwpt_alloc() (IOMMU_HWPT_FAULT_ID_VALID).
 * Returns: the queue, owning its fd (vfi_faultq_free()), or NULL.
 */
VFI_API VfiFaultq *vfi_faultq_alloc(VfiIommufd *be, GError **errp);
/* Returns: the queue's id (0 for NULL). */
VFI_API uint32_t vfi_faultq_get_id(const VfiFaultq *q);
/* Returns: its fd, for poll(2) (owned by the queue; -1 for NULL). */
VFI_API int vfi_faultq_get_fd(const VfiFaultq *q);

/**
 * vfi_faultq_read:
 * @faults: out: the faults queued now (a new GArray of VfiPageFault,
 *   g_array_unref()); empty when none.
 *
 * read(2) of the queue's fd until it is empty (as vfi_veventq_read() on a
 * failure).
 */
VFI_API bool vfi_faultq_read(VfiFaultq *q, GArray **faults, GError **errp);

/**
 * vfi_faultq_respond:
 * @cookie: a fault's cookie (of the last fault of its group).
 * @code: enum iommu_page_response_code (0: success, 1: invalid).
 *
 * write(2) of one struct iommu_hwpt_page_response. EINVAL: no fault
 * pending with @cookie.
 */
VFI_API bool vfi_faultq_respond(VfiFaultq *q, uint32_t cookie, uint32_t code, GError **errp);

/**
 * vfi_faultq_free:
 *
 * Close of its fd, then IOMMU_DESTROY of the queue. EBUSY: a HWPT still
 * names it; the queue stays, its fd closed: free it again once the HWPT is
 * gone. NULL is accepted.
 */
VFI_API bool vfi_faultq_free(VfiFaultq *q, GError **errp);

/**
 * vfi_hw_queue_alloc:
 * @type: enum iommu_hw_queue_type (or a driver's test type), not 0.
 * @index: the queue's index in the vIOMMU.
 * @base_addr: the guest queue's address (an IOVA of the parent HWPT).
 * @length: its length in bytes, non-zero.
 *
 * IOMMU_HW_QUEUE_ALLOC (Linux 6.17).
 * Returns: the queue (vfi_hw_queue_free()), or NULL.
 */
VFI_API VfiHwQueue *vfi_hw_queue_alloc(VfiViommu *viommu, uint32_t type, uint32_t index,
                                       uint64_t base_addr, uint64_t length, GError **errp);
/* Returns: the HW queue's id (0 for NULL). */
VFI_API uint32_t vfi_hw_queue_get_id(const VfiHwQueue *q);

/**
 * vfi_hw_queue_free:
 *
 * IOMMU_DESTROY of the HW queue. NULL is accepted.
 */
VFI_API bool vfi_hw_queue_free(VfiHwQueue *q, GError **errp);

G_END_DECLS

#endif
