/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: IOMMUFD objects for a virtual IOMMU (see
 * include/vfio-iommufd/viommu.h).
 *
 * Every object is a ViObj (viommu-internal.h; the queues are in eventq.c): the backend it holds a user of, its kernel id
 * and, for the queues, the fd the kernel returned. Each alloc checks its
 * arguments and the backend first (nothing reaches the kernel when they are
 * wrong), makes exactly one ioctl, and takes the backend user only once the
 * kernel said yes, so a failure leaves nothing. Each free destroys the
 * kernel object and drops the user: a refused destroy (EBUSY) leaves the
 * object (a queue's fd is closed first: the kernel's fd holds the queue).
 *
 * Requests newer than the build's UAPI headers compile out to
 * VFI_ERROR_NOT_SUPPORTED (vfi_kernel_uapi_missing()), before any ioctl.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <string.h>

#include <linux/iommufd.h>

#include "config.h"
#include "vfio-iommufd/error.h"
#include "vfio-iommufd/viommu.h"
#include "util/kernel-internal.h"
#include "iommufd-internal.h"
#include "viommu-internal.h"
#include "trace.h"

#define KVER_NESTED      "6.7"
#define KVER_INVALIDATE  "6.8"
#define KVER_FAULT       "6.11"
#define KVER_VIOMMU      "6.13"
#define KVER_VEVENTQ     "6.15"
#define KVER_HW_QUEUE    "6.17"

struct VfiViommu {
    ViObj o;
};

struct VfiVdevice {
    ViObj o;
    uint64_t virt_id;
};

struct VfiNestedHwpt {
    ViObj o;
};

struct VfiHwQueue {
    ViObj o;
};

/* Take the backend user of a new kernel object @id (the connect cannot fail
 * for a connected backend short of UINT_MAX users: then the object is
 * destroyed again and the error reported). */
bool vfi_viobj_init(ViObj *o, VfiIommufd *be, const char *kind, uint32_t id, int fd,
                     GError **errp)
{
    o->be = be;
    o->id = id;
    o->fd = fd;
    o->kind = kind;
    if (!vfi_iommufd_connect(be, errp)) {
        if (fd >= 0) {
            (void)vfi_kernel_close(fd);
        }
        (void)vfi_iommufd_destroy(be, id, NULL);
        return false;
    }
    trace_vfi_viommu_obj_new(vfi_iommufd_get_fd(be), kind, id, fd);
    return true;
}

/* Destroy @o's kernel object, close its fd, drop the user. A queue's fd
 * holds a reference on the queue in the kernel (IOMMU_DESTROY says EBUSY
 * while it is open), so it is closed first; when the destroy then fails
 * (a HWPT still names a fault queue) the object stays, without its fd, for
 * a later free. @gone_ok: an ENOENT means the kernel destroyed it already
 * (a vDEVICE at its device's unbind). */
bool vfi_viobj_destroy(ViObj *o, bool gone_ok, GError **errp)
{
    g_autoptr(GError) err = NULL;
    bool gone = false;

    if (o->fd >= 0) {
        (void)vfi_kernel_close(o->fd);
        o->fd = -1;
    }
    if (!vfi_iommufd_destroy(o->be, o->id, &err)) {
        if (!gone_ok || !g_error_matches(err, VFI_KERNEL_ERROR, ENOENT)) {
            trace_vfi_viommu_obj_free(vfi_iommufd_get_fd(o->be), o->kind, o->id, false, false);
            g_propagate_prefixed_error(errp, g_steal_pointer(&err), "%s %u: ", o->kind, o->id);
            return false;
        }
        gone = true;
    }
    trace_vfi_viommu_obj_free(vfi_iommufd_get_fd(o->be), o->kind, o->id, true, gone);
    vfi_iommufd_disconnect(o->be);
    return true;
}

bool vfi_viobj_free(ViObj *o, bool gone_ok, GError **errp)
{
    if (!o) {
        return true;
    }
    if (!vfi_viobj_destroy(o, gone_ok, errp)) {
        return false;
    }
    g_free(o);      /* the first member: the object itself */
    return true;
}

/* ---- vIOMMU ---------------------------------------------------------------- */

VfiViommu *vfi_viommu_alloc(VfiIommufd *be, uint32_t dev_id, uint32_t parent_hwpt_id,
                            uint32_t type, void *data, uint32_t data_len, GError **errp)
{
#if HAVE_IOMMU_VIOMMU_ALLOC
    struct iommu_viommu_alloc arg = {
        .size = sizeof(arg), .type = type, .dev_id = dev_id, .hwpt_id = parent_hwpt_id,
        .data_len = data_len, .data_uptr = (uintptr_t)data,
    };
    g_autofree VfiViommu *v = NULL;
    int ret;

    if (!vfi_iommufd_check(be, __func__, errp)) {
        return NULL;
    }
    if (type == 0 || (data_len && !data)) {
        vfi_iommufd_reject(be, __func__, errp, type == 0 ? "type 0 (DEFAULT) is reserved"
                           : "data is NULL with a non-zero data_len");
        return NULL;
    }
    ret = VFI_KERNEL_IOCTL(vfi_iommufd_get_fd(be), IOMMU_VIOMMU_ALLOC, &arg);
    if (ret < 0) {
        vfi_kernel_error(errp, -ret, "IOMMU_VIOMMU_ALLOC", KVER_VIOMMU,
                         "iommufd %d dev_id %u parent hwpt %u type 0x%x%s",
                         vfi_iommufd_get_fd(be), dev_id, parent_hwpt_id, type,
                         -ret == EINVAL ? " (is the parent a nest parent?)" : "");
        return NULL;
    }
    v = g_new0(VfiViommu, 1);
    return vfi_viobj_init(&v->o, be, "viommu", arg.out_viommu_id, -1, errp) ?
           g_steal_pointer(&v) : NULL;
#else
    (void)be, (void)dev_id, (void)parent_hwpt_id, (void)type, (void)data, (void)data_len;
    vfi_kernel_uapi_missing(errp, "vfi_viommu_alloc", "IOMMU_VIOMMU_ALLOC", KVER_VIOMMU);
    return NULL;
#endif
}

uint32_t vfi_viommu_get_id(const VfiViommu *viommu)
{
    return viommu ? viommu->o.id : 0;
}

VfiIommufd *vfi_viommu_get_backend(const VfiViommu *viommu)
{
    return viommu ? viommu->o.be : NULL;
}

bool vfi_viommu_free(VfiViommu *viommu, GError **errp)
{
    return vfi_viobj_free(viommu ? &viommu->o : NULL, false, errp);
}

bool vfi_viommu_mmap(VfiViommu *viommu, uint64_t offset, uint64_t length, void **addr,
                     GError **errp)
{
    VfiIommufd *be = viommu ? viommu->o.be : NULL;
    int ret;

    if (!viommu || !addr || !length || length > SIZE_MAX) {
        return vfi_iommufd_reject(be, __func__, errp, !viommu ? "no vIOMMU (NULL)" :
                                  !addr ? "addr is NULL" : "length 0 or too large");
    }
    if (!vfi_iommufd_check(be, __func__, errp)) {
        return false;
    }
    ret = vfi_kernel_mmap(vfi_iommufd_get_fd(be), (size_t)length, offset, addr);
    if (ret < 0) {
        vfi_kernel_error(errp, -ret, "mmap(iommufd)", NULL, "iommufd %d viommu %u offset 0x%"
                         PRIx64 " length 0x%" PRIx64 "%s", vfi_iommufd_get_fd(be),
                         viommu->o.id, offset, length, -ret == ENXIO ?
                         " (not a window the kernel offered, or not its length)" : "");
        return false;
    }
    return true;
}

bool vfi_viommu_munmap(VfiViommu *viommu, void *addr, uint64_t length, GError **errp)
{
    int ret;

    if (!viommu || !addr || !length) {
        return vfi_iommufd_reject(viommu ? viommu->o.be : NULL, __func__, errp,
                                  "no vIOMMU, addr or length");
    }
    ret = vfi_kernel_munmap(addr, (size_t)length);
    if (ret < 0) {
        vfi_kernel_error(errp, -ret, "munmap(iommufd window)", NULL, "viommu %u length 0x%"
                         PRIx64, viommu->o.id, length);
        return false;
    }
    return true;
}

/* ---- vDEVICE --------------------------------------------------------------- */

VfiVdevice *vfi_vdevice_alloc(VfiViommu *viommu, uint32_t dev_id, uint64_t virt_id,
                              GError **errp)
{
#if HAVE_IOMMU_VDEVICE_ALLOC
    struct iommu_vdevice_alloc arg = {
        .size = sizeof(arg), .dev_id = dev_id, .virt_id = virt_id,
    };
    g_autofree VfiVdevice *vd = NULL;
    VfiIommufd *be = viommu ? viommu->o.be : NULL;
    int ret;

    if (!viommu) {
        vfi_iommufd_reject(NULL, __func__, errp, "no vIOMMU (NULL)");
        return NULL;
    }
    if (!vfi_iommufd_check(be, __func__, errp)) {
        return NULL;
    }
    arg.viommu_id = viommu->o.id;
    ret = VFI_KERNEL_IOCTL(vfi_iommufd_get_fd(be), IOMMU_VDEVICE_ALLOC, &arg);
    if (ret < 0) {
        vfi_kernel_error(errp, -ret, "IOMMU_VDEVICE_ALLOC", KVER_VIOMMU,
                         "iommufd %d viommu %u dev_id %u virt_id 0x%" PRIx64 "%s",
                         vfi_iommufd_get_fd(be), viommu->o.id, dev_id, virt_id,
                         -ret == EEXIST ? " (the device has a vDEVICE, or the virtual "
                         "id is taken)" : "");
        return NULL;
    }
    vd = g_new0(VfiVdevice, 1);
    vd->virt_id = virt_id;
    return vfi_viobj_init(&vd->o, be, "vdevice", arg.out_vdevice_id, -1, errp) ?
           g_steal_pointer(&vd) : NULL;
#else
    (void)viommu, (void)dev_id, (void)virt_id;
    vfi_kernel_uapi_missing(errp, "vfi_vdevice_alloc", "IOMMU_VDEVICE_ALLOC", KVER_VIOMMU);
    return NULL;
#endif
}

uint32_t vfi_vdevice_get_id(const VfiVdevice *vdev)
{
    return vdev ? vdev->o.id : 0;
}

uint64_t vfi_vdevice_get_virt_id(const VfiVdevice *vdev)
{
    return vdev ? vdev->virt_id : 0;
}

bool vfi_vdevice_free(VfiVdevice *vdev, GError **errp)
{
    return vfi_viobj_free(vdev ? &vdev->o : NULL, true, errp);
}

/* ---- nested HWPT ----------------------------------------------------------- */

static bool nested_check(VfiIommufd *be, uint32_t flags, uint32_t data_type,
                         const void *data, uint32_t data_len, GError **errp)
{
    if (!vfi_iommufd_check(be, "vfi_nested_hwpt_alloc", errp)) {
        return false;
    }
    if (data_type == IOMMU_HWPT_DATA_NONE || !data || !data_len) {
        return vfi_iommufd_reject(be, "vfi_nested_hwpt_alloc", errp,
                                  "a nested HWPT needs vendor data (type, pointer, length)");
    }
    if (flags & (IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_DIRTY_TRACKING)) {
        return vfi_iommufd_reject(be, "vfi_nested_hwpt_alloc", errp,
                                  "NEST_PARENT and DIRTY_TRACKING are for paging HWPTs");
    }
#if !HAVE_IOMMU_HWPT_ALLOC_PASID
    if (flags & ~(uint32_t)IOMMU_HWPT_FAULT_ID_VALID) {
        vfi_kernel_uapi_missing(errp, "vfi_nested_hwpt_alloc", "IOMMU_HWPT_ALLOC_PASID",
                                "6.15");
        return false;
    }
#endif
    return true;
}

VfiNestedHwpt *vfi_nested_hwpt_alloc(VfiIommufd *be, uint32_t dev_id, uint32_t pt_id,
                                     uint32_t flags, uint32_t fault_id, uint32_t data_type,
                                     const void *data, uint32_t data_len, GError **errp)
{
    struct iommu_hwpt_alloc arg = {
        .size = sizeof(arg), .flags = flags, .dev_id = dev_id, .pt_id = pt_id,
        .data_type = data_type, .data_len = data_len, .data_uptr = (uintptr_t)data,
        .fault_id = flags & IOMMU_HWPT_FAULT_ID_VALID ? fault_id : 0,
    };
    g_autofree VfiNestedHwpt *h = NULL;
    int ret;

    if (!nested_check(be, flags, data_type, data, data_len, errp)) {
        return NULL;
    }
    ret = VFI_KERNEL_IOCTL(vfi_iommufd_get_fd(be), IOMMU_HWPT_ALLOC, &arg);
    if (ret < 0) {
        vfi_kernel_error(errp, -ret, "IOMMU_HWPT_ALLOC", KVER_NESTED,
                         "iommufd %d nested HWPT for dev_id %u on pt %u flags 0x%x "
                         "data_type 0x%x%s", vfi_iommufd_get_fd(be), dev_id, pt_id, flags,
                         data_type, -ret == EINVAL ? " (is the parent a nest parent or a "
                         "vIOMMU of the device's IOMMU?)" : "");
        return NULL;
    }
    h = g_new0(VfiNestedHwpt, 1);
    return vfi_viobj_init(&h->o, be, "nested-hwpt", arg.out_hwpt_id, -1, errp) ?
           g_steal_pointer(&h) : NULL;
}

uint32_t vfi_nested_hwpt_get_id(const VfiNestedHwpt *hwpt)
{
    return hwpt ? hwpt->o.id : 0;
}

bool vfi_nested_hwpt_free(VfiNestedHwpt *hwpt, GError **errp)
{
    return vfi_viobj_free(hwpt ? &hwpt->o : NULL, false, errp);
}

/* ---- invalidation ---------------------------------------------------------- */

bool vfi_iommufd_invalidate(VfiIommufd *be, uint32_t id, uint32_t data_type,
                            const void *entries, uint32_t entry_len, uint32_t entry_num,
                            uint32_t *done, GError **errp)
{
#if HAVE_IOMMU_HWPT_INVALIDATE
    struct iommu_hwpt_invalidate arg = {
        .size = sizeof(arg), .hwpt_id = id, .data_uptr = (uintptr_t)entries,
        .data_type = data_type, .entry_len = entry_len, .entry_num = entry_num,
    };
    int ret;

    if (done) {
        *done = 0;
    }
    if (!vfi_iommufd_check(be, __func__, errp)) {
        return false;
    }
    if (!done || (entry_num && (!entries || !entry_len))) {
        return vfi_iommufd_reject(be, __func__, errp, !done ? "done is NULL" :
                                  "entries NULL or entry_len 0 with entries to send");
    }
    ret = VFI_KERNEL_IOCTL(vfi_iommufd_get_fd(be), IOMMU_HWPT_INVALIDATE, &arg);
    /* The kernel writes the consumed count back on failure too. */
    *done = MIN(arg.entry_num, entry_num);
    trace_vfi_viommu_invalidate(vfi_iommufd_get_fd(be), id, entry_num, *done, ret < 0 ? -ret : 0);
    if (ret < 0) {
        vfi_kernel_error(errp, -ret, "IOMMU_HWPT_INVALIDATE", KVER_INVALIDATE,
                         "iommufd %d id %u data_type 0x%x: %u of %u requests consumed, "
                         "request %u refused", vfi_iommufd_get_fd(be), id, data_type,
                         *done, entry_num, *done);
        return false;
    }
    return true;
#else
    (void)be, (void)id, (void)data_type, (void)entries, (void)entry_len, (void)entry_num;
    if (done) {
        *done = 0;
    }
    vfi_kernel_uapi_missing(errp, "vfi_iommufd_invalidate", "IOMMU_HWPT_INVALIDATE",
                            KVER_INVALIDATE);
    return false;
#endif
}

/* ---- HW queue -------------------------------------------------------------- */

VfiHwQueue *vfi_hw_queue_alloc(VfiViommu *viommu, uint32_t type, uint32_t index,
                               uint64_t base_addr, uint64_t length, GError **errp)
{
#if HAVE_IOMMU_HW_QUEUE_ALLOC
    struct iommu_hw_queue_alloc arg = {
        .size = sizeof(arg), .type = type, .index = index,
        .nesting_parent_iova = base_addr, .length = length,
    };
    g_autofree VfiHwQueue *q = NULL;
    VfiIommufd *be = viommu ? viommu->o.be : NULL;
    int ret;

    if (!viommu || !vfi_iommufd_check(be, __func__, errp)) {
        if (!viommu) {
            vfi_iommufd_reject(NULL, __func__, errp, "no vIOMMU (NULL)");
        }
        return NULL;
    }
    if (type == 0 || length == 0) {
        vfi_iommufd_reject(be, __func__, errp, type == 0 ? "type 0 (DEFAULT) is reserved" :
                           "length 0");
        return NULL;
    }
    arg.viommu_id = viommu->o.id;
    ret = VFI_KERNEL_IOCTL(vfi_iommufd_get_fd(be), IOMMU_HW_QUEUE_ALLOC, &arg);
    if (ret < 0) {
        vfi_kernel_error(errp, -ret, "IOMMU_HW_QUEUE_ALLOC", KVER_HW_QUEUE,
                         "iommufd %d viommu %u type 0x%x index %u base 0x%" PRIx64
                         " length 0x%" PRIx64, vfi_iommufd_get_fd(be), viommu->o.id, type,
                         index, base_addr, length);
        return NULL;
    }
    q = g_new0(VfiHwQueue, 1);
    return vfi_viobj_init(&q->o, be, "hw-queue", arg.out_hw_queue_id, -1, errp) ?
           g_steal_pointer(&q) : NULL;
#else
    (void)viommu, (void)type, (void)index, (void)base_addr, (void)length;
    vfi_kernel_uapi_missing(errp, "vfi_hw_queue_alloc", "IOMMU_HW_QUEUE_ALLOC", KVER_HW_QUEUE);
    return NULL;
#endif
}

uint32_t vfi_hw_queue_get_id(const VfiHwQueue *q)
{
    return q ? q->o.id : 0;
}

bool vfi_hw_queue_free(VfiHwQueue *q, GError **errp)
{
    return vfi_viobj_free(q ? &q->o : NULL, false, errp);
}

VfiIommufd *vfi_viommu_backend_of(const VfiViommu *viommu)
{
    return viommu->o.be;
}

uint32_t vfi_viommu_id_of(const VfiViommu *viommu)
{
    return viommu->o.id;
}
