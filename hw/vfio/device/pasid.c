/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: a device's replace and its PASIDs (see
 * include/vfio-iommufd/device-pasid.h).
 *
 * The state is the device's: attached_pt for the whole device, and the
 * table of PASIDs (PASID -> pt as the kernel reported it), changed only
 * after the kernel said yes.
 */
#include <errno.h>
#include <string.h>

#include <linux/vfio.h>

#include "config.h"
#include "vfio-iommufd/device-pasid.h"
#include "vfio-iommufd/error.h"
#include "vfio-iommufd/iommufd.h"
#include "util/kernel-internal.h"
#include "device-internal.h"
#include "trace.h"

#define KVER_PASID "6.15"

/* Bound, and no address space owns it (its container moves it). */
static bool check_unowned(const VfiDevice *dev, const char *what, GError **errp)
{
    if (!vfi_device_check_bound(dev, what, errp)) {
        return false;
    }
    if (dev->owner) {
        trace_vfi_device_refused(dev->display, "owned by an address space", 0);
        g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                    "%s: device %s is placed by an address space: its container "
                    "decides its page tables", what, dev->display);
        return false;
    }
    return true;
}

/* The replace ioctl of an attached device; dev->attached_pt follows. */
static bool do_replace(VfiDevice *dev, uint32_t pt_id, uint32_t *out_pt_id, GError **errp)
{
    struct vfio_device_attach_iommufd_pt attach = {
        .argsz = sizeof(attach), .pt_id = pt_id,
    };
    int ret;

    if (!dev->attached_pt) {
        trace_vfi_device_refused(dev->display, "replace: not attached", 0);
        g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                    "replace: device %s is not attached: attach it first", dev->display);
        return false;
    }
    ret = VFI_KERNEL_IOCTL(dev->fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach);
    if (ret < 0) {
        vfi_kernel_error(errp, -ret, "VFIO_DEVICE_ATTACH_IOMMUFD_PT", "6.6",
                         "replace of device %s (devid %u) from pt %u to pt %u%s",
                         dev->display, dev->devid, dev->attached_pt, pt_id,
                         -ret == EINVAL ? " (the page table is incompatible with the device, "
                         "or a vIOMMU's nested HWPT without the device's vDEVICE)" : "");
        return false;
    }
    trace_vfi_device_replace(dev->display, dev->attached_pt, attach.pt_id);
    dev->attached_pt = attach.pt_id;
    if (out_pt_id) {
        *out_pt_id = attach.pt_id;
    }
    return true;
}

bool vfi_device_replace(VfiDevice *dev, uint32_t pt_id, uint32_t *out_pt_id, GError **errp)
{
    VFI_LOCK_GUARD(vfi_device_lock(dev));

    return check_unowned(dev, "replace", errp) && do_replace(dev, pt_id, out_pt_id, errp);
}

bool vfi_device_replace_owned(VfiDevice *dev, uint32_t pt_id, GError **errp)
{
    VFI_LOCK_GUARD(vfi_device_lock(dev));

    if (!vfi_device_check_bound(dev, "replace", errp)) {
        return false;
    }
    return do_replace(dev, pt_id, NULL, errp);
}

uint32_t vfi_device_get_pasid_pt(const VfiDevice *dev, uint32_t pasid)
{
    VFI_LOCK_GUARD(vfi_device_lock(dev));

    if (!dev || !dev->pasids) {
        return 0;
    }
    return GPOINTER_TO_UINT(g_hash_table_lookup(dev->pasids, GUINT_TO_POINTER(pasid)));
}

#if HAVE_VFIO_DEVICE_ATTACH_PASID
/* The device's PASID width allows @pasid (one IOMMU_GET_HW_INFO). */
static bool check_pasid_width(VfiDevice *dev, uint32_t pasid, GError **errp)
{
    VfiHwInfo info = { 0 };

    if (!vfi_device_get_hw_info(dev, &info, errp)) {
        return false;
    }
    if (info.max_pasid_log2 == 0) {
        trace_vfi_device_refused(dev->display, "attach_pasid: no PASID support", 0);
        g_set_error(errp, VFI_ERROR, VFI_ERROR_NOT_SUPPORTED,
                    "attach_pasid: device %s (devid %u) has no PASID support (its IOMMU "
                    "reports a max PASID width of 0): PASID %u not attached",
                    dev->display, dev->devid, pasid);
        return false;
    }
    if (info.max_pasid_log2 < 32 && pasid >> info.max_pasid_log2) {
        trace_vfi_device_refused(dev->display, "attach_pasid: PASID beyond the width", 0);
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "attach_pasid: device %s: PASID %u is beyond its %u-bit PASID width",
                    dev->display, pasid, info.max_pasid_log2);
        return false;
    }
    return true;
}

/* The attach or replace ioctl; on success the table says @pasid -> pt. */
static bool pasid_attach(VfiDevice *dev, uint32_t pasid, uint32_t pt_id, uint32_t *out,
                         bool replace, GError **errp)
{
    struct vfio_device_attach_iommufd_pt attach = {
        .argsz = sizeof(attach), .flags = VFIO_DEVICE_ATTACH_PASID, .pasid = pasid,
        .pt_id = pt_id,
    };
    int ret = VFI_KERNEL_IOCTL(dev->fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach);

    if (ret < 0) {
        vfi_kernel_error(errp, -ret, "VFIO_DEVICE_ATTACH_PASID", KVER_PASID,
                         "%s of device %s (devid %u) PASID %u to pt %u%s",
                         replace ? "replace" : "attach", dev->display, dev->devid, pasid,
                         pt_id, -ret == EINVAL ? " (a HWPT not allocated with "
                         "IOMMU_HWPT_ALLOC_PASID, or incompatible)" : "");
        return false;
    }
    if (!dev->pasids) {
        dev->pasids = g_hash_table_new(g_direct_hash, g_direct_equal);
    }
    g_hash_table_insert(dev->pasids, GUINT_TO_POINTER(pasid), GUINT_TO_POINTER(attach.pt_id));
    trace_vfi_device_pasid(dev->display, pasid, replace ? "replaced" : "attached",
                           attach.pt_id);
    if (out) {
        *out = attach.pt_id;
    }
    return true;
}

/* The detach ioctl; on success @pasid leaves the table. */
static bool pasid_detach(VfiDevice *dev, uint32_t pasid, GError **errp)
{
    struct vfio_device_detach_iommufd_pt detach = {
        .argsz = sizeof(detach), .flags = VFIO_DEVICE_DETACH_PASID, .pasid = pasid,
    };
    int ret = VFI_KERNEL_IOCTL(dev->fd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach);

    if (ret < 0) {
        vfi_kernel_error(errp, -ret, "VFIO_DEVICE_DETACH_PASID", KVER_PASID,
                         "device %s (devid %u) PASID %u", dev->display, dev->devid, pasid);
        return false;
    }
    g_hash_table_remove(dev->pasids, GUINT_TO_POINTER(pasid));
    trace_vfi_device_pasid(dev->display, pasid, "detached", 0);
    return true;
}
#endif

/* The checks of the three PASID calls: @attached says what the PASID's
 * state must be. */
static bool check_pasid(VfiDevice *dev, const char *what, uint32_t pasid, bool attached,
                        GError **errp)
{
    if (!check_unowned(dev, what, errp)) {
        return false;
    }
#if HAVE_VFIO_DEVICE_ATTACH_PASID
    if (pasid == 0) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "%s: device %s: PASID 0 is the device's own attach "
                    "(vfi_device_attach())", what, dev->display);
        return false;
    }
    if (attached != (vfi_device_get_pasid_pt(dev, pasid) != 0)) {
        trace_vfi_device_refused(dev->display, what, 0);
        g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                    "%s: device %s PASID %u is %s", what, dev->display, pasid,
                    attached ? "not attached" : "already attached (replace it)");
        return false;
    }
    return true;
#else
    vfi_kernel_uapi_missing(errp, what, "VFIO_DEVICE_ATTACH_PASID", KVER_PASID);
    return false;
#endif
}

bool vfi_device_attach_pasid(VfiDevice *dev, uint32_t pasid, uint32_t pt_id,
                             uint32_t *out_pt_id, GError **errp)
{
    VFI_LOCK_GUARD(vfi_device_lock(dev));

    if (!check_pasid(dev, "attach_pasid", pasid, false, errp)) {
        return false;
    }
#if HAVE_VFIO_DEVICE_ATTACH_PASID
    return check_pasid_width(dev, pasid, errp) &&
           pasid_attach(dev, pasid, pt_id, out_pt_id, false, errp);
#else
    (void)pt_id, (void)out_pt_id;
    return false;
#endif
}

bool vfi_device_replace_pasid(VfiDevice *dev, uint32_t pasid, uint32_t pt_id,
                              uint32_t *out_pt_id, GError **errp)
{
    VFI_LOCK_GUARD(vfi_device_lock(dev));

    if (!check_pasid(dev, "replace_pasid", pasid, true, errp)) {
        return false;
    }
#if HAVE_VFIO_DEVICE_ATTACH_PASID
    return pasid_attach(dev, pasid, pt_id, out_pt_id, true, errp);
#else
    (void)pt_id, (void)out_pt_id;
    return false;
#endif
}

bool vfi_device_detach_pasid(VfiDevice *dev, uint32_t pasid, GError **errp)
{
    VFI_LOCK_GUARD(vfi_device_lock(dev));

    if (!check_pasid(dev, "detach_pasid", pasid, true, errp)) {
        return false;
    }
#if HAVE_VFIO_DEVICE_ATTACH_PASID
    return pasid_detach(dev, pasid, errp);
#else
    return false;
#endif
}

#if HAVE_VFIO_DEVICE_ATTACH_PASID
bool vfi_device_attach_pasid_owned(VfiDevice *dev, uint32_t pasid, uint32_t pt_id,
                                   bool replace, GError **errp)
{
    VFI_LOCK_GUARD(vfi_device_lock(dev));

    return vfi_device_check_bound(dev, replace ? "replace_pasid" : "attach_pasid", errp) &&
           pasid_attach(dev, pasid, pt_id, NULL, replace, errp);
}

bool vfi_device_detach_pasid_owned(VfiDevice *dev, uint32_t pasid, GError **errp)
{
    VFI_LOCK_GUARD(vfi_device_lock(dev));

    return vfi_device_check_bound(dev, "detach_pasid", errp) && pasid_detach(dev, pasid, errp);
}
#endif
