/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: the choice of a backend for an address space
 * (docs/type1.md).
 *
 * Which kind of container a device goes to (asked by the VMM, or AUTO: a
 * device without a VFIO cdev, or a Linux host without /dev/iommu, takes
 * type1). The placement in the address space's one type1 container (made
 * at its first device, the guest's mappings replayed into it once the
 * first group set its IOMMU) is address-space.c's, with the IOMMUFD one's
 * new container code. Everything else a type1 address space does goes
 * through the same calls as an IOMMUFD one: the container layer's ops
 * table (hw/vfio/container/container-ops.h) does the rest.
 */
#include <errno.h>

#include "vfio-iommufd/error.h"
#include "vfio-iommufd/kernel.h"
#include "address-space-internal.h"
#include "trace.h"

#define VFI_AS_REASON_ASKED "asked by the VMM (vfi_address_space_set_backend)"

bool vfi_address_space_set_backend(VfiAddressSpace *as, VfiBackendKind kind, GError **errp)
{
    VFI_LOCK_GUARD(vfi_as_lock(as));

    if (!vfi_as_check_given(as, "set backend", errp)) {
        return false;
    }
    if (kind != VFI_BACKEND_AUTO && kind != VFI_BACKEND_IOMMUFD && kind != VFI_BACKEND_TYPE1) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "address space %u: unknown backend kind %d", as->id, (int)kind);
        return false;
    }
    if (as->containers->len) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                    "address space %u: devices are attached already: its backend is chosen",
                    as->id);
        return false;
    }
    as->backend = kind;
    as->backend_reason = kind == VFI_BACKEND_AUTO ? NULL : VFI_AS_REASON_ASKED;
    trace_vfi_as_backend(as->id, (int)kind, "asked by the VMM");
    return true;
}

VfiBackendKind vfi_address_space_get_backend(const VfiAddressSpace *as)
{
    VFI_LOCK_GUARD(vfi_as_lock(as));

    if (!as) {
        return VFI_BACKEND_AUTO;
    }
    if (as->containers->len) {
        /* one kind per address space: its first container's */
        return vfi_as_containers(as)[0]->ops->kind;
    }
    return as->backend;
}

/* Why AUTO takes the kind it takes for a first device @dev (type1 when it
 * has no VFIO cdev open or a Linux host has no /dev/iommu); sets *@type1. */
static const char *vfi_as_auto_reason(const VfiDevice *dev, bool *type1)
{
    bool no_cdev = vfi_device_get_fd(dev) < 0;
    bool no_iommu = vfi_kernel_is_linux() && !g_file_test("/dev/iommu", G_FILE_TEST_EXISTS);

    *type1 = no_cdev || no_iommu;
    if (no_cdev && no_iommu) {
        return "auto: the device has no VFIO cdev and there is no /dev/iommu";
    }
    if (no_cdev) {
        return "auto: the device has no VFIO cdev";
    }
    if (no_iommu) {
        return "auto: no /dev/iommu";
    }
    /* (an installed kernel other than Linux's, as the model, has /dev/iommu) */
    return "auto: /dev/iommu and the device's VFIO cdev exist";
}

bool vfi_as_type1_wanted(VfiAddressSpace *as, const VfiDevice *dev)
{
    bool want;

    if (as->containers->len) {
        return vfi_container_is_type1(vfi_as_containers(as)[0]);
    }
    if (as->backend != VFI_BACKEND_AUTO) {
        return as->backend == VFI_BACKEND_TYPE1;
    }
    /* the choice of the first device (kept once its container is made) */
    as->backend_reason = vfi_as_auto_reason(dev, &want);
    trace_vfi_as_backend(as->id, want ? VFI_BACKEND_TYPE1 : VFI_BACKEND_IOMMUFD,
                         as->backend_reason);
    return want;
}

const char *vfi_address_space_get_backend_reason(const VfiAddressSpace *as)
{
    VFI_LOCK_GUARD(vfi_as_lock(as));

    if (!as) {
        return NULL;
    }
    /* AUTO before its first device's container is made: no choice yet */
    return as->containers->len || as->backend != VFI_BACKEND_AUTO ? as->backend_reason : NULL;
}
