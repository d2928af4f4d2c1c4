/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: the type1 path of an address space (docs/type1.md).
 *
 * Which kind of container a device goes to (asked by the VMM, or AUTO: a
 * device without a VFIO cdev, or a Linux host without /dev/iommu, takes
 * type1), and the address space's calls on its one type1 container
 * (hw/vfio/container/type1.c): attach with the replay of the guest's
 * mappings, detach, map, unmap (with the dirty read while tracking),
 * tracking and syncs. An address space uses one kind for all its devices.
 * The device's owner hook takes a freed device out of the container.
 */
#include <errno.h>

#include "vfio-iommufd/error.h"
#include "vfio-iommufd/kernel.h"
#include "address-space-internal.h"
#include "container/type1.h"
#include "trace.h"

typedef struct VfiAsType1 {
    VfiDeviceOwner owner;       /* first: the device layer's hook */
    VfiAddressSpace *as;
    VfiType1Container *c;
    const VfiDirtyLog *unmap_log; /* the log of the unmap being made, or NULL */
} VfiAsType1;

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
    if (as->containers->len || as->type1) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                    "address space %u: devices are attached already: its backend is chosen",
                    as->id);
        return false;
    }
    as->backend = kind;
    trace_vfi_as_backend(as->id, (int)kind, "asked by the VMM");
    return true;
}

VfiBackendKind vfi_address_space_get_backend(const VfiAddressSpace *as)
{
    VFI_LOCK_GUARD(vfi_as_lock(as));

    if (!as) {
        return VFI_BACKEND_AUTO;
    }
    if (as->type1) {
        return VFI_BACKEND_TYPE1;
    }
    return as->containers->len && as->backend == VFI_BACKEND_AUTO ? VFI_BACKEND_IOMMUFD
                                                                  : as->backend;
}

bool vfi_as_type1_wanted(const VfiAddressSpace *as, const VfiDevice *dev)
{
    bool want;

    if (as->type1 || as->backend == VFI_BACKEND_TYPE1) {
        return true;
    }
    if (as->containers->len || as->backend == VFI_BACKEND_IOMMUFD) {
        return false;
    }
    /* AUTO: no cdev to bind, or no IOMMUFD on this Linux host */
    want = vfi_device_get_fd(dev) < 0 ||
           (vfi_kernel_is_linux() && !g_file_test("/dev/iommu", G_FILE_TEST_EXISTS));
    if (want) {
        trace_vfi_as_backend(as->id, VFI_BACKEND_TYPE1, vfi_device_get_fd(dev) < 0 ?
                             "auto: the device has no VFIO cdev" : "auto: no /dev/iommu");
    }
    return want;
}

unsigned vfi_as_type1_device_count(const VfiAddressSpace *as)
{
    return as->type1 ? vfi_type1_container_device_count(as->type1->c) : 0;
}

void vfi_as_type1_report(const VfiAddressSpace *as, VfiDirtyDeviceReport *out)
{
    for (unsigned i = 0; i < vfi_as_type1_device_count(as); i++) {
        out[i] = (VfiDirtyDeviceReport) {
            .device = vfi_type1_container_device(as->type1->c, i),
            .coverage = VFI_DIRTY_COVERAGE_TYPE1,
            .reason = VFI_COVERED,
        };
    }
}

bool vfi_as_type1_has(const VfiAddressSpace *as, const VfiDevice *dev)
{
    return as->type1 && vfi_type1_container_coverage(as->type1->c, dev);
}

/* The device layer's hook: @dev is being freed while in the container. */
static void type1_release(VfiDeviceOwner *owner, VfiDevice *dev)
{
    VfiAsType1 *t = (VfiAsType1 *)owner;
    VfiAddressSpace *as = t->as;
    VFI_LOCK_GUARD(as->lock);
    g_autoptr(GError) err = NULL;

    if (!vfi_as_type1_detach(as, dev, &err)) {
        trace_vfi_as_release_failed(vfi_device_get_display_name(dev), err->message);
        vfi_device_set_owner(dev, NULL);
    }
}

/* The address space's mappings into a new type1 container. */
static bool type1_replay(VfiAddressSpace *as, GError **errp)
{
    VfiRangeIter it;

    for (VfiAsMapping *m = vfi_range_tree_first(as->mappings, 0, &it); m;
         m = vfi_range_iter_next(&it)) {
        if (!vfi_as_type1_map(as, m, errp)) {
            return false;
        }
    }
    return true;
}

static VfiAsType1 *type1_new(VfiAddressSpace *as, GError **errp)
{
    VfiType1Container *c = vfi_type1_container_new(errp);
    VfiAsType1 *t;

    if (!c) {
        return NULL;
    }
    t = g_new0(VfiAsType1, 1);
    t->owner.release = type1_release;
    t->owner.lock = as->lock;
    t->owner.type1 = true;
    t->as = as;
    t->c = c;
    return t;
}

/* The container goes with its last device. */
static bool type1_maybe_free(VfiAddressSpace *as, GError **errp)
{
    bool ok;

    if (!as->type1 || vfi_type1_container_device_count(as->type1->c)) {
        return true;
    }
    ok = vfi_type1_container_free(as->type1->c, errp);
    g_clear_pointer(&as->type1, g_free);
    return ok;
}

/* The VMM's attached hook (its failure undoes the attach: VFI_ERROR_VMM). */
static bool type1_hook_attached(VfiAddressSpace *as, VfiDevice *dev, GError **errp)
{
    g_autoptr(GError) err = NULL;

    if (!as->hooks.attached || as->hooks.attached(as->hooks.opaque, dev,
                                                  vfi_device_get_fd(dev), &err)) {
        return true;
    }
    g_set_error(errp, VFI_ERROR, VFI_ERROR_VMM, "the VMM's attached hook refused device %s: %s",
                vfi_device_get_display_name(dev), err ? err->message : "(no message)");
    return false;
}

bool vfi_as_type1_attach(VfiAddressSpace *as, VfiDevice *dev, const VfiAttachOptions *opts,
                         GError **errp)
{
    bool first = !as->type1;

    if (vfi_device_get_owner(dev)) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE, "device %s is attached already",
                    vfi_device_get_display_name(dev));
        return false;
    }
    if (first && !(as->type1 = type1_new(as, errp))) {
        return false;
    }
    if (opts && opts->label) {
        vfi_device_set_label(dev, opts->label);
    }
    if (!vfi_type1_container_attach(as->type1->c, dev, errp)) {
        type1_maybe_free(as, NULL);
        return false;
    }
    vfi_device_set_owner(dev, &as->type1->owner);
    if ((first && !type1_replay(as, errp)) || !type1_hook_attached(as, dev, errp)) {
        vfi_device_set_owner(dev, NULL);
        vfi_type1_container_detach(as->type1->c, dev, NULL);
        type1_maybe_free(as, NULL);
        return false;
    }
    trace_vfi_as_type1_device(as->id, vfi_device_get_display_name(dev), "attached");
    return true;
}

bool vfi_as_type1_detach(VfiAddressSpace *as, VfiDevice *dev, GError **errp)
{
    if (!vfi_as_type1_has(as, dev)) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                    "address space %u: device %s is not in its type1 container", as->id,
                    dev ? vfi_device_get_display_name(dev) : "(null)");
        return false;
    }
    if (as->hooks.detaching) {
        as->hooks.detaching(as->hooks.opaque, dev, vfi_device_get_fd(dev));
    }
    vfi_device_set_owner(dev, NULL);
    if (!vfi_type1_container_detach(as->type1->c, dev, errp)) {
        return false;
    }
    trace_vfi_as_type1_device(as->id, vfi_device_get_display_name(dev), "detached");
    return type1_maybe_free(as, errp);
}

bool vfi_as_type1_detach_dirty(VfiAddressSpace *as, VfiDevice *dev, const VfiDirtyLog *log,
                               GError **errp)
{
    bool last = vfi_as_type1_device_count(as) == 1;

    if (last && vfi_as_type1_tracking_is_active(as) && vfi_type1_container_mapping_count(
            as->type1->c) && !vfi_as_type1_sync(as, log, errp)) {
        return false;
    }
    return vfi_as_type1_detach(as, dev, errp);
}

bool vfi_as_type1_free(VfiAddressSpace *as, GError **errp)
{
    bool ok;

    if (!as->type1) {
        return true;
    }
    /* vfi_type1_container_free() detaches them: their owner goes first */
    for (unsigned i = 0; i < vfi_type1_container_device_count(as->type1->c); i++) {
        vfi_device_set_owner(vfi_type1_container_device(as->type1->c, i), NULL);
    }
    ok = vfi_type1_container_free(as->type1->c, errp);
    g_clear_pointer(&as->type1, g_free);
    return ok;
}

/* ---- mappings and dirty pages ---------------------------------------------- */

bool vfi_as_type1_map(VfiAddressSpace *as, const VfiAsMapping *m, GError **errp)
{
    if (!as->type1) {
        return true;
    }
    if (m->src.fd >= 0) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_NOT_SUPPORTED,
                    "address space %u: a mapping by file has no type1 form "
                    "(VFIO_IOMMU_MAP_DMA maps process memory)", as->id);
        return false;
    }
    return vfi_type1_container_map(as->type1->c, m->r.iova, m->r.last - m->r.iova + 1,
                                   m->src.vaddr, m->readonly, errp);
}

bool vfi_as_type1_unmap(VfiAddressSpace *as, uint64_t iova, uint64_t size,
                        const VfiDirtyLog *log, GError **errp)
{
    uint64_t scratch_bits[1];
    VfiDirtyLog l;

    if (!as->type1) {
        return true;
    }
    log = log ? log : as->type1->unmap_log;
    /* without a log while tracking (a discarding unmap): read and drop */
    l = log ? *log : (VfiDirtyLog) { .base_iova = 0, .page_size = UINT64_C(1) << 62,
                                     .bitmap = scratch_bits, .nr_pages = 0 };
    return vfi_type1_container_unmap(as->type1->c, iova, size, &l, errp);
}

bool vfi_as_type1_check_unmap(const VfiAddressSpace *as, VfiUnmapFlags flags, GError **errp)
{
    if (!vfi_as_type1_tracking_is_active(as) || (flags & VFI_UNMAP_DISCARD_DIRTY)) {
        return true;
    }
    g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                "address space %u: dirty tracking is on in its type1 container: unmap with "
                "vfi_address_space_dma_unmap_dirty() (or VFI_UNMAP_DISCARD_DIRTY)", as->id);
    return false;
}

void vfi_as_type1_set_unmap_log(VfiAddressSpace *as, const VfiDirtyLog *log)
{
    if (as->type1) {
        as->type1->unmap_log = log;
    }
}

/* Each read covers one whole mapping: the largest must fit the kernel's
 * bitmap limit (both figures named when it does not). */
static bool type1_check_limit(const VfiAddressSpace *as, GError **errp)
{
    uint64_t largest = 0;
    VfiRangeIter it;

    for (VfiAsMapping *m = vfi_range_tree_first(as->mappings, 0, &it); m;
         m = vfi_range_iter_next(&it)) {
        largest = MAX(largest, m->r.last - m->r.iova + 1);
    }
    return vfi_type1_container_check_guest_size(as->type1->c, largest, errp);
}

bool vfi_as_type1_tracking(VfiAddressSpace *as, bool start, GError **errp)
{
    if (!as->type1) {
        return true;
    }
    if (start && !type1_check_limit(as, errp)) {
        return false;
    }
    return vfi_type1_container_dirty_tracking(as->type1->c, start, errp);
}

bool vfi_as_type1_tracking_is_active(const VfiAddressSpace *as)
{
    return as->type1 && vfi_type1_container_tracking(as->type1->c);
}

bool vfi_as_type1_sync(VfiAddressSpace *as, const VfiDirtyLog *log, GError **errp)
{
    VfiDirtyLog l;

    if (!as->type1) {
        return true;
    }
    if (!log) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "address space %u: dirty sync without a log", as->id);
        return false;
    }
    l = *log;
    return vfi_type1_container_sync_dirty(as->type1->c, &l, errp);
}
