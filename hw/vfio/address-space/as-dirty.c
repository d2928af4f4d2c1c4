/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: migration of a whole address space: dirty tracking of all
 * its containers together, one sync into one log, unmaps that read their
 * dirty bits first, and the coverage report with its migration blocker.
 * The policy is the migration layer's; the coverage rule the container
 * layer's: this file only applies them to the address space's containers.
 */
#include "vfio-iommufd/error.h"
#include "vfio-iommufd/dirty.h"
#include "address-space-internal.h"
#include "trace.h"

bool vfi_address_space_dirty_tracking_start(VfiAddressSpace *as, GError **errp)
{
    VFI_LOCK_GUARD(vfi_as_lock(as));

    if (!vfi_as_check_given(as, "dirty tracking start", errp)) {
        return false;
    }
    return vfi_dirty_tracking_switch_all(vfi_as_containers(as), as->containers->len, true,
                                         errp);
}

bool vfi_address_space_dirty_tracking_stop(VfiAddressSpace *as, GError **errp)
{
    VFI_LOCK_GUARD(vfi_as_lock(as));

    if (!vfi_as_check_given(as, "dirty tracking stop", errp)) {
        return false;
    }
    return vfi_dirty_tracking_switch_all(vfi_as_containers(as), as->containers->len, false,
                                         errp);
}

bool vfi_address_space_dirty_tracking_is_active(const VfiAddressSpace *as)
{
    VFI_LOCK_GUARD(vfi_as_lock(as));

    if (!as || as->containers->len == 0) {
        return false;
    }
    for (guint i = 0; i < as->containers->len; i++) {
        if (!vfi_container_dirty_tracking_is_active(g_ptr_array_index(as->containers, i))) {
            return false;
        }
    }
    return true;
}

bool vfi_address_space_sync_dirty(VfiAddressSpace *as, const VfiDirtyLog *log,
                                  GError **errp)
{
    VFI_LOCK_GUARD(vfi_as_lock(as));

    if (!vfi_as_check_given(as, "dirty sync", errp)) {
        return false;
    }
    return vfi_dirty_sync_all(vfi_as_containers(as), as->containers->len, log, errp);
}

bool vfi_address_space_sync_dirty_parallel(VfiAddressSpace *as, const VfiDirtyLog *log,
                                           VfiDirtyPool *pool, GError **errp)
{
    VFI_LOCK_GUARD(vfi_as_lock(as));

    if (!vfi_as_check_given(as, "address space parallel dirty sync", errp)) {
        return false;
    }
    return vfi_dirty_sync_all_parallel(vfi_as_containers(as), as->containers->len, log, pool,
                                       errp);
}

bool vfi_address_space_dma_unmap_dirty(VfiAddressSpace *as, uint64_t iova, uint64_t size,
                                       const VfiDirtyLog *log, VfiUnmapFlags flags,
                                       GError **errp)
{
    VFI_LOCK_GUARD(vfi_as_lock(as));
    const char *what = "address space dma unmap with dirty read";
    guint n;

    /* Every refusal before the read: a refused call must not have read (and
     * so, for device logs, cleared) dirty bits. */
    if (!vfi_as_check_given(as, what, errp) ||
        !vfi_dirty_check_unmap_args(log, flags, what, errp) ||
        !vfi_range_check(what, iova, size, errp) ||
        !vfi_dirty_check_before_unmap(vfi_as_containers(as), as->containers->len, iova, size,
                                      log, what, errp) ||
        !vfi_as_unmap_prepare(as, iova, size, flags | VFI_UNMAP_DISCARD_DIRTY, &n,
                              errp)) {
        return false;
    }
    if (n == 0) {
        return true;        /* nothing of the address space there: nothing to read */
    }
    /* the unmap is given @log: a type1 unmap reads its IOMMU bits itself */
    return vfi_dirty_read_before_unmap(vfi_as_containers(as), as->containers->len, iova,
                                       size, log, true, errp) &&
           vfi_as_unmap_commit(as, iova, size, n, log, errp);
}

bool vfi_address_space_detach_device_dirty(VfiAddressSpace *as, VfiDevice *dev,
                                           const VfiDirtyLog *log, GError **errp)
{
    VFI_LOCK_GUARD(vfi_as_lock(as));
    const char *what = "detach device with dirty read";
    VfiContainerDevice *cd = NULL;
    VfiContainer *c = NULL;

    cd = vfi_as_device(as, dev, what, errp);
    c = cd ? cd->container : NULL;
    if (!cd) {
        return false;
    }
    if (!c->dirty_tracking || vfi_coverage_rule(cd, NULL) == VFI_DIRTY_COVERAGE_NONE) {
        return vfi_as_detach(as, dev, false, errp);    /* nothing to read */
    }
    if (!log) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "%s: no dirty log given for device %s", what,
                    vfi_device_get_display_name(dev));
        return false;
    }
    if (!vfi_dirty_check_before_unmap(&c, 1, 0, UINT64_MAX, log, what, errp) ||
        !vfi_dirty_read_leaving(c, cd, log, errp)) {
        return false;
    }
    /* its last bits are in @log: stop its logging (reporting a failure: the
     * device then stays, still logging), then the forced detach */
    if (vfi_device_dma_logging_active(dev) && !vfi_device_dma_logging_stop(dev, errp)) {
        g_prefix_error(errp, "%s: device %s stays attached: ", what,
                       vfi_device_get_display_name(dev));
        return false;
    }
    return vfi_as_detach(as, dev, true, errp);
}

/* ---- coverage report ----------------------------------------------------- */

VfiDirtyDeviceReport *vfi_address_space_dirty_report(const VfiAddressSpace *as,
                                                     unsigned *n)
{
    VFI_LOCK_GUARD(vfi_as_lock(as));
    VfiDirtyDeviceReport *out;
    unsigned total = 0, k = 0;

    for (guint i = 0; as && i < as->containers->len; i++) {
        total += vfi_container_device_count(g_ptr_array_index(as->containers, i));
    }
    if (n) {
        *n = total;
    }
    if (!total) {
        return NULL;
    }
    out = g_new0(VfiDirtyDeviceReport, total);
    for (guint i = 0; i < as->containers->len; i++) {
        VfiContainer *c = g_ptr_array_index(as->containers, i);

        for (unsigned j = 0; j < vfi_container_device_count(c); j++) {
            VfiDirtyDeviceReport *e = &out[k++];

            e->device = vfi_container_device(c, j);
            e->container = c;
            e->coverage = vfi_container_dirty_coverage(c, e->device, &e->reason);
        }
    }
    return out;
}

char *vfi_address_space_migration_blocker(const VfiAddressSpace *as)
{
    VFI_LOCK_GUARD(vfi_as_lock(as));
    g_autofree VfiDirtyDeviceReport *rep = NULL;
    g_autoptr(GString) list = NULL;
    unsigned n = 0, untracked = 0;

    rep = vfi_address_space_dirty_report(as, &n);
    for (unsigned i = 0; i < n; i++) {
        if (rep[i].coverage != VFI_DIRTY_COVERAGE_NONE) {
            continue;
        }
        if (!list) {
            list = g_string_new(NULL);
        } else {
            g_string_append(list, ", ");
        }
        g_string_append_printf(list, "%s (%s)", vfi_device_get_display_name(rep[i].device),
                               vfi_untracked_reason_str(rep[i].reason));
        untracked++;
    }
    if (!untracked) {
        return NULL;
    }
    return g_strdup_printf("dirty tracking does not cover %u device%s: %s", untracked,
                           untracked == 1 ? "" : "s", list->str);
}
