/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: address spaces, the choice of a container for a device, and
 * DMA mappings made for a whole address space.
 *
 * Attaching a device tries the address space's containers on the device's
 * backend in creation order; a container "does not accept" the device only
 * when placing it there met an incompatibility (EINVAL from HWPT_ALLOC or
 * from the attach to a HWPT just allocated for it). Any other error fails
 * the attach. When no container accepts it, a new one is made (new IOAS,
 * its IOVA ranges read, the address space's mappings replayed).
 *
 * Mappings made through the address space are remembered (sorted by IOVA)
 * so new containers get them; they are validated against every container
 * before any ioctl and rolled back from the containers already done when
 * one fails. A mapping belongs to the level that made it: the address space
 * does not map over nor unmap a mapping made in one container with
 * vfi_container_dma_map() (WRONG_STATE, naming the container), and the
 * container level leaves the address space's mappings alone.
 */
#include <errno.h>
#include <inttypes.h>

#include "vfio-iommufd/error.h"
#include "vfio-iommufd/iommufd.h"
#include "container-internal.h"
#include "device-internal.h"
#include "trace.h"

VfiContainerDevice *vfi_container_device_state(const VfiDevice *dev)
{
    return dev ? vfi_device_get_container_priv(dev) : NULL;
}

/* ---- address spaces ---------------------------------------------------- */

VfiAddressSpace *vfi_address_space_new(void *handle)
{
    VfiAddressSpace *as = g_new0(VfiAddressSpace, 1);

    as->handle = handle;
    as->containers = g_ptr_array_new();
    as->mappings = g_array_new(false, false, sizeof(VfiASMapping));
    trace_vfi_as_new(as, handle);
    return as;
}

bool vfi_address_space_free(VfiAddressSpace *as, GError **errp)
{
    g_autoptr(GError) first = NULL;

    if (!as) {
        return true;
    }
    for (guint i = 0; i < as->containers->len; i++) {
        VfiContainer *c = g_ptr_array_index(as->containers, i);

        if (c->devices->len) {
            g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                        "address space %p: device %s is still attached (ioas %u): "
                        "detach it first", as->handle,
                        vfi_device_get_name(g_ptr_array_index(c->devices, 0)),
                        c->ioas_id);
            return false;
        }
    }
    /* Containers without devices are left-overs of a destroy that failed
     * earlier: try again. */
    for (guint i = 0; i < as->containers->len;) {
        VfiContainer *c = g_ptr_array_index(as->containers, i);
        g_autoptr(GError) err = NULL;
        bool freed;

        if (!vfi_container_cleanup(c, &freed, &err) && !first) {
            first = g_steal_pointer(&err);
        }
        if (!freed) {
            i++;
        }
    }
    if (first) {
        g_propagate_prefixed_error(errp, g_steal_pointer(&first),
                                   "address space %p not freed: ", as->handle);
        return false;
    }
    trace_vfi_as_free(as, as->mappings->len);
    g_ptr_array_free(as->containers, true);
    g_array_free(as->mappings, true);
    g_free(as);
    return true;
}

void *vfi_address_space_get_handle(const VfiAddressSpace *as)
{
    return as ? as->handle : NULL;
}

unsigned vfi_address_space_container_count(const VfiAddressSpace *as)
{
    return as ? as->containers->len : 0;
}

VfiContainer *vfi_address_space_container(const VfiAddressSpace *as, unsigned i)
{
    if (!as || i >= as->containers->len) {
        return NULL;
    }
    return g_ptr_array_index(as->containers, i);
}

unsigned vfi_address_space_mapping_count(const VfiAddressSpace *as)
{
    return as ? as->mappings->len : 0;
}

/* ---- attaching devices ------------------------------------------------- */

static bool as_forget_device(VfiContainerDevice *cd, GError **errp);

/*
 * A new container (holding every mapping of @as) refused @cd's device with
 * EADDRINUSE: some mapping lies where the device's IOMMU cannot map (outside
 * its domain's aperture, in its reserved regions such as the x86 MSI window,
 * or misaligned). Find which one: attach the device alone to a scratch IOAS
 * (the kernel makes its domain and reservations), read that IOAS's ranges,
 * undo, and name the first mapping of @as that does not fit. Best effort:
 * any failure here leaves *@err as it is (traced).
 */
static void as_explain_conflict(VfiAddressSpace *as, VfiIommufd *be,
                                VfiContainerDevice *cd, GError **err)
{
    const char *name = vfi_device_get_name(cd->dev);
    g_autofree VfiIovaRange *r = NULL;
    g_autoptr(GError) perr = NULL;
    g_autoptr(GString) allowed = g_string_new(NULL);
    size_t n = 0;
    uint64_t align = 0;
    uint32_t ioas = 0;
    bool attached = false, ok;

    if (!vfi_iommufd_connect(be, &perr)) {
        trace_vfi_as_conflict_probe(name, 0, 0, 0, perr->message);
        return;
    }
    ok = vfi_iommufd_ioas_alloc(be, &ioas, &perr) &&
         (attached = vfi_device_attach(cd->dev, ioas, NULL, &perr)) &&
         vfi_iommufd_ioas_iova_ranges(be, ioas, &r, &n, &align, &perr);
    if (attached && !vfi_device_detach(cd->dev, ok ? &perr : NULL)) {
        ok = false;
    }
    if (ioas && !vfi_iommufd_destroy(be, ioas, ok ? &perr : NULL)) {
        ok = false;
    }
    vfi_iommufd_disconnect(be);
    trace_vfi_as_conflict_probe(name, ioas, n, align, ok ? "read" :
                                 perr ? perr->message : "undo failed");
    if (!ok) {
        return;
    }
    align = align ? align : 1;
    for (size_t i = 0; i < n; i++) {
        g_string_append_printf(allowed, "%s[0x%" PRIx64 ", 0x%" PRIx64 "]", i ? ", " : "",
                               r[i].start, r[i].last);
    }
    for (guint i = 0; i < as->mappings->len; i++) {
        VfiASMapping *m = &g_array_index(as->mappings, VfiASMapping, i);
        uint64_t last = m->iova + (m->size - 1);
        bool inside = false;
        GError *e;

        for (size_t j = 0; j < n && !inside; j++) {
            inside = m->iova >= r[j].start && last <= r[j].last;
        }
        if (inside && !(m->iova % align) && !(m->size % align)) {
            continue;
        }
        /* Same domain and code (the kernel's EADDRINUSE), clearer message. */
        e = g_error_new((*err)->domain, (*err)->code,
                        "device %s cannot be attached to address space %p: its mapping "
                        "[0x%" PRIx64 ", 0x%" PRIx64 "] conflicts with what the device's "
                        "IOMMU allows (IOVA ranges %s, alignment 0x%" PRIx64 ") in any "
                        "container; unmap it first (%s)", name, as->handle, m->iova, last,
                        allowed->str, align, (*err)->message);
        g_error_free(*err);
        *err = e;
        return;
    }
}

bool vfi_address_space_attach_device(VfiAddressSpace *as, VfiIommufd *be,
                                      VfiDevice *dev, const VfiAttachOptions *opts,
                                      GError **errp)
{
    g_autoptr(GError) last = NULL;
    VfiContainerDevice *cd;
    VfiContainer *c = NULL;
    VfiPlaceResult r;
    bool new_container = false;
    bool freed;

    if (!as || !be || !dev) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "attach device: %s not given", !as ? "address space" :
                    !be ? "backend" : "device");
        return false;
    }
    cd = vfi_container_device_state(dev);
    if (cd) {
        trace_vfi_as_attach_refused(vfi_device_get_name(dev), "already in a container");
        g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                    "device %s is already in a container (ioas %u): detach it first",
                    vfi_device_get_name(dev), cd->container->ioas_id);
        return false;
    }
    if (vfi_device_is_bound(dev) && vfi_device_get_backend(dev) != be) {
        trace_vfi_as_attach_refused(vfi_device_get_name(dev), "bound to another backend");
        g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                    "device %s is bound to another iommufd backend", vfi_device_get_name(dev));
        return false;
    }
    if (vfi_device_get_attached_pt(dev)) {
        trace_vfi_as_attach_refused(vfi_device_get_name(dev), "attached outside containers");
        g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                    "device %s is attached to pt %u outside any container: detach it first",
                    vfi_device_get_name(dev), vfi_device_get_attached_pt(dev));
        return false;
    }

    cd = g_new0(VfiContainerDevice, 1);
    cd->dev = dev;
    if (opts) {
        cd->opts = *opts;
    }
    if (!vfi_device_is_bound(dev)) {
        /* Bound here; a failure below leaves it bound (a cdev is only unbound
         * by closing its fd: vfi_device_free()). */
        if (!vfi_device_bind(dev, be, errp)) {
            goto fail;
        }
        cd->bound_here = true;
    }
    trace_vfi_as_attach_device(vfi_device_get_name(dev), as, vfi_device_get_devid(dev),
                                cd->bound_here, vfi_device_is_mdev(dev),
                                cd->opts.no_iommu_dirty_tracking);
    if (!vfi_device_dma_logging_probe(dev, &cd->logging_offered, errp)) {
        g_prefix_error(errp, "device %s (devid %u): ", vfi_device_get_name(dev),
                       vfi_device_get_devid(dev));
        goto fail;
    }
    if (!vfi_device_is_mdev(dev) && !vfi_auto_domain_read_hw_info(cd, errp)) {
        goto fail;
    }

    for (guint i = 0; i < as->containers->len; i++) {
        c = g_ptr_array_index(as->containers, i);
        if (c->be != be) {
            continue;
        }
        g_clear_error(&last);
        r = vfi_auto_domain_place(c, cd, &last);
        if (r == VFI_PLACE_OK) {
            goto placed;
        }
        if (r == VFI_PLACE_ERROR) {
            g_propagate_error(errp, g_steal_pointer(&last));
            goto fail;
        }
        trace_vfi_as_container_refused(vfi_device_get_name(dev), c->ioas_id, last->message);
    }

    c = vfi_container_create(as, be, errp);
    if (!c) {
        goto fail;
    }
    trace_vfi_as_new_container(vfi_device_get_name(dev), c->ioas_id, as->containers->len);
    g_clear_error(&last);
    r = vfi_auto_domain_place(c, cd, &last);
    if (r != VFI_PLACE_OK) {
        g_autoptr(GError) err = NULL;

        if (!vfi_container_cleanup(c, &freed, &err)) {
            trace_vfi_as_cleanup_failed(vfi_device_get_name(dev), err->message);
        }
        if (g_error_matches(last, VFI_KERNEL_ERROR, EADDRINUSE)) {
            as_explain_conflict(as, be, cd, &last);
        }
        g_propagate_error(errp, g_steal_pointer(&last));
        goto fail;
    }
    g_ptr_array_add(as->containers, c);
    new_container = true;

placed:
    cd->container = c;
    vfi_container_add_device(c, dev);
    vfi_device_set_container_priv(dev, cd);
    trace_vfi_as_attached(vfi_device_get_name(dev), c->ioas_id,
                           cd->hwpt ? cd->hwpt->id : 0, cd->attach_attempts);
    /* The device's domain and reserved regions changed what the IOAS allows:
     * without the new ranges the container's checks would not be the
     * kernel's, so a failure to read them fails (and undoes) the attach. */
    if (!vfi_container_refresh_ranges(c, errp)) {
        g_autoptr(GError) err = NULL;

        g_prefix_error(errp, "attach of device %s: ", vfi_device_get_name(dev));
        if (!vfi_device_detach(dev, &err) || !as_forget_device(cd, &err)) {
            trace_vfi_as_cleanup_failed(vfi_device_get_name(dev), err->message);
        }
        trace_vfi_as_attach_failed(vfi_device_get_name(dev), false,
                                    errp && *errp ? (*errp)->message : "");
        return false;
    }
    /* Dirty tracking on: bring the device (or the new container) into it. */
    if (!vfi_container_dirty_catch_up(c, cd, new_container, errp)) {
        g_autoptr(GError) err = NULL;

        g_prefix_error(errp, "attach of device %s while dirty tracking is on: ",
                       vfi_device_get_name(dev));
        if (!vfi_device_detach(dev, &err) || !as_forget_device(cd, &err)) {
            trace_vfi_as_cleanup_failed(vfi_device_get_name(dev), err->message);
        }
        trace_vfi_as_attach_failed(vfi_device_get_name(dev), false,
                                    errp && *errp ? (*errp)->message : "");
        return false;
    }
    return true;

fail:
    trace_vfi_as_attach_failed(vfi_device_get_name(dev), cd->bound_here,
                                errp && *errp ? (*errp)->message : "");
    g_free(cd);
    return false;
}

/*
 * The bookkeeping half of a detach, once the device is detached in the
 * kernel (or, for vfi_container_device_release(), about to be by the close
 * of its fd): it leaves its HWPT's and container's lists, an empty HWPT is
 * destroyed, an empty container cleaned up.
 */
static bool as_forget_device(VfiContainerDevice *cd, GError **errp)
{
    VfiDevice *dev = cd->dev;
    VfiContainer *c = cd->container;
    VfiHwpt *h = cd->hwpt;
    g_autoptr(GError) err = NULL;
    bool freed;

    trace_vfi_as_detach_device(vfi_device_get_name(dev), c->ioas_id, h ? h->id : 0);
    if (h) {
        vfi_hwpt_remove_device(h, dev);
    }
    vfi_container_remove_device(c, dev);
    vfi_device_set_container_priv(dev, NULL);
    vfi_container_dirty_forget_device(cd);
    g_free(cd);

    if (h && h->devices->len == 0 && !vfi_hwpt_destroy(h, &err)) {
        /* The device is detached; the empty HWPT stays known (it still
         * exists in the kernel) and is reused or destroyed later. */
        g_propagate_prefixed_error(errp, g_steal_pointer(&err),
                                   "device %s detached, but: ", vfi_device_get_name(dev));
        return false;
    }
    /* The device's reservations (and its domain's aperture with the last
     * HWPT) went away: read what the IOAS allows now. On failure the device
     * stays detached and the container keeps its older, stricter ranges
     * (a detach only ever widens them) until the next re-read. */
    if (c->devices->len && !vfi_container_refresh_ranges(c, &err)) {
        g_propagate_prefixed_error(errp, g_steal_pointer(&err),
                                   "device %s detached, but: ", vfi_device_get_name(dev));
        return false;
    }
    if (c->devices->len == 0 && !vfi_container_cleanup(c, &freed, &err)) {
        g_propagate_prefixed_error(errp, g_steal_pointer(&err),
                                   "device %s detached, but: ", vfi_device_get_name(dev));
        return false;
    }
    return true;
}

static bool as_detach(VfiAddressSpace *as, VfiDevice *dev, bool force, GError **errp)
{
    VfiContainerDevice *cd = vfi_container_device_state(dev);
    VfiContainer *c;
    VfiHwpt *h;

    if (!as || !dev) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "detach device: %s not given", !as ? "address space" : "device");
        return false;
    }
    if (!cd || cd->container->as != as) {
        trace_vfi_as_detach_refused(vfi_device_get_name(dev), "in no container of this "
                                     "address space");
        g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                    "device %s is in no container of address space %p",
                    vfi_device_get_name(dev), as->handle);
        return false;
    }
    c = cd->container;
    h = cd->hwpt;
    if (!force && !vfi_container_dirty_check_detach(cd, errp)) {
        return false;
    }
    if (force) {
        /* The device goes away: stop its DMA logging first (traced only). */
        vfi_container_dirty_forget_device(cd);
    }
    if (!vfi_device_detach(dev, errp)) {
        g_prefix_error(errp, "detaching device %s (devid %u) from ioas %u hwpt %u: ",
                       vfi_device_get_name(dev), vfi_device_get_devid(dev), c->ioas_id,
                       h ? h->id : 0);
        return false;
    }
    return as_forget_device(cd, errp);
}

bool vfi_address_space_detach_device(VfiAddressSpace *as, VfiDevice *dev, GError **errp)
{
    return as_detach(as, dev, false, errp);
}

VfiContainer *vfi_device_get_container(const VfiDevice *dev)
{
    VfiContainerDevice *cd = vfi_container_device_state(dev);

    return cd ? cd->container : NULL;
}

VfiHwpt *vfi_device_get_hwpt(const VfiDevice *dev)
{
    VfiContainerDevice *cd = vfi_container_device_state(dev);

    return cd ? cd->hwpt : NULL;
}

unsigned vfi_device_get_attach_attempts(const VfiDevice *dev)
{
    VfiContainerDevice *cd = vfi_container_device_state(dev);

    return cd ? cd->attach_attempts : 0;
}

/* ---- address-space mappings -------------------------------------------- */

bool vfi_address_space_dma_map(VfiAddressSpace *as, uint64_t iova, uint64_t size,
                                void *vaddr, bool readonly, GError **errp)
{
    VfiASMapping m = { .iova = iova, .size = size, .vaddr = vaddr, .readonly = readonly };
    uint64_t last = iova + (size - 1);
    guint pos, i;

    if (!as) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "address space dma map: no address space given");
        return false;
    }
    if (!vaddr) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "address space dma map: NULL vaddr for iova 0x%" PRIx64, iova);
        return false;
    }
    if (!vfi_check_range_basic("address space dma map", iova, size, errp)) {
        return false;
    }
    for (i = 0; i < as->containers->len; i++) {
        VfiContainer *c = g_ptr_array_index(as->containers, i);
        const VfiContainerMapping *o;

        if (!vfi_container_check_range(c, "address space dma map", iova, size, errp) ||
            !vfi_container_dirty_check_map(c, "address space dma map", iova, size, errp)) {
            return false;
        }
        o = vfi_container_mapping_overlap(c, iova, last, false);
        if (o) {
            trace_vfi_as_dma_map_refused(as, iova, size, o->iova, o->last - o->iova + 1);
            g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                        "address space dma map: [0x%" PRIx64 ", 0x%" PRIx64 "] overlaps "
                        "the mapping [0x%" PRIx64 ", 0x%" PRIx64 "] made in the container "
                        "of ioas %u (vfi_container_dma_map): unmap it there first", iova,
                        last, o->iova, o->last, c->ioas_id);
            return false;
        }
    }
    /* Sorted and disjoint: find the insertion point and check overlaps. */
    for (pos = 0; pos < as->mappings->len; pos++) {
        VfiASMapping *o = &g_array_index(as->mappings, VfiASMapping, pos);

        if (o->iova > last) {
            break;
        }
        if (o->iova + (o->size - 1) >= iova) {
            trace_vfi_as_dma_map_refused(as, iova, size, o->iova, o->size);
            g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                        "address space dma map: [0x%" PRIx64 ", 0x%" PRIx64 "] overlaps "
                        "the mapping at iova 0x%" PRIx64 " size 0x%" PRIx64, iova, last,
                        o->iova, o->size);
            return false;
        }
    }
    /* Every container checked above: map without checking again. */
    for (i = 0; i < as->containers->len; i++) {
        VfiContainer *c = g_ptr_array_index(as->containers, i);

        if (!vfi_container_map_unchecked(c, iova, size, vaddr, readonly, true, errp)) {
            for (guint j = 0; j < i; j++) {
                VfiContainer *done = g_ptr_array_index(as->containers, j);
                g_autoptr(GError) err = NULL;
                bool ok = vfi_iommufd_ioas_unmap(done->be, done->ioas_id, iova, size,
                                                    NULL, &err);

                trace_vfi_as_dma_map_rollback(done->ioas_id, iova, size, ok);
                if (ok) {
                    vfi_container_mappings_remove(done, iova, size);
                }
            }
            return false;
        }
    }
    g_array_insert_val(as->mappings, pos, m);
    trace_vfi_as_dma_map(as, iova, size, vaddr, readonly, as->containers->len);
    return true;
}

bool vfi_address_space_dma_unmap(VfiAddressSpace *as, uint64_t iova, uint64_t size,
                                  VfiUnmapFlags flags, GError **errp)
{
    uint64_t last = iova + (size - 1);
    g_autofree bool *unmapped_in = NULL;
    guint first = 0, n = 0, i;

    if (!as) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "address space dma unmap: no address space given");
        return false;
    }
    if (flags & ~(VFI_UNMAP_ALLOW_ABSENT | VFI_UNMAP_DISCARD_DIRTY)) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "address space dma unmap: unknown flags 0x%x", (unsigned)flags);
        return false;
    }
    if (!vfi_check_range_basic("address space dma unmap", iova, size, errp)) {
        return false;
    }
    for (i = 0; i < as->containers->len; i++) {
        if (!vfi_container_dirty_check_unmap(g_ptr_array_index(as->containers, i),
                                              "address space dma unmap", flags, errp)) {
            return false;
        }
    }
    for (i = 0; i < as->mappings->len; i++) {
        VfiASMapping *o = &g_array_index(as->mappings, VfiASMapping, i);
        uint64_t olast = o->iova + (o->size - 1);

        if (olast < iova) {
            continue;
        }
        if (o->iova > last) {
            break;
        }
        if (o->iova < iova || olast > last) {
            g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                        "address space dma unmap: [0x%" PRIx64 ", 0x%" PRIx64 "] cuts the "
                        "mapping at iova 0x%" PRIx64 " size 0x%" PRIx64 " (unmaps must "
                        "cover whole mappings)", iova, last, o->iova, o->size);
            return false;
        }
        if (n++ == 0) {
            first = i;
        }
    }
    /* Mappings made at container level are the containers' business. */
    for (i = 0; i < as->containers->len; i++) {
        VfiContainer *c = g_ptr_array_index(as->containers, i);
        const VfiContainerMapping *o = vfi_container_mapping_overlap(c, iova, last, false);

        if (o) {
            trace_vfi_as_dma_unmap_refused(as, iova, size, c->ioas_id, o->iova,
                                            o->last - o->iova + 1);
            g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                        "address space dma unmap: [0x%" PRIx64 ", 0x%" PRIx64 "] holds the "
                        "mapping [0x%" PRIx64 ", 0x%" PRIx64 "] made in the container of "
                        "ioas %u (vfi_container_dma_map): unmap it with "
                        "vfi_container_dma_unmap", iova, last, o->iova, o->last,
                        c->ioas_id);
            return false;
        }
    }
    if (n == 0) {
        trace_vfi_as_dma_unmap_absent(as, iova, size, flags);
        if (flags & VFI_UNMAP_ALLOW_ABSENT) {
            return true;
        }
        g_set_error(errp, VFI_KERNEL_ERROR, ENOENT,
                    "address space dma unmap: nothing mapped in [0x%" PRIx64 ", 0x%" PRIx64
                    "]", iova, last);
        return false;
    }
    unmapped_in = g_new0(bool, as->containers->len);
    for (i = 0; i < as->containers->len; i++) {
        VfiContainer *c = g_ptr_array_index(as->containers, i);
        g_autoptr(GError) err = NULL;

        if (!vfi_container_mapping_overlap(c, iova, last, true)) {
            /* It does not hold them (a rollback that failed): nothing to do. */
            trace_vfi_as_dma_unmap_skip(c->ioas_id, iova, size);
            continue;
        }
        unmapped_in[i] = true;
        if (vfi_iommufd_ioas_unmap(c->be, c->ioas_id, iova, size, NULL, &err)) {
            vfi_container_mappings_remove(c, iova, size);
            continue;
        }
        if (g_error_matches(err, VFI_KERNEL_ERROR, ENOENT)) {
            /* No recorded mapping crosses the edges: gone already, or a
             * mapping made behind the library's back does. Unmap the
             * recorded ones one by one; those still recorded after that
             * could not be unmapped. */
            vfi_container_unmap_resync(c, iova, last);
            if (!vfi_container_mapping_overlap(c, iova, last, true)) {
                continue;
            }
        }
        /* Put the mappings back in the containers already unmapped. */
        for (guint j = 0; j < i; j++) {
            VfiContainer *done = g_ptr_array_index(as->containers, j);

            for (guint k = first; unmapped_in[j] && k < first + n; k++) {
                VfiASMapping *o = &g_array_index(as->mappings, VfiASMapping, k);
                g_autoptr(GError) merr = NULL;
                bool ok = vfi_container_map_unchecked(done, o->iova, o->size, o->vaddr,
                                                       o->readonly, true, &merr);
                trace_vfi_as_dma_unmap_rollback(done->ioas_id, o->iova, o->size, ok);
            }
        }
        g_propagate_prefixed_error(errp, g_steal_pointer(&err),
                                   "address space dma unmap (ioas %u): ", c->ioas_id);
        return false;
    }
    g_array_remove_range(as->mappings, first, n);
    trace_vfi_as_dma_unmap(as, iova, size, n, as->containers->len);
    return true;
}

void vfi_container_device_release(VfiDevice *dev)
{
    VfiContainerDevice *cd = vfi_container_device_state(dev);
    g_autoptr(GError) err = NULL;

    if (!cd) {
        return;
    }
    trace_vfi_as_release_device(vfi_device_get_name(dev), cd->container->ioas_id);
    if (as_detach(cd->container->as, dev, true, &err)) {
        return;
    }
    trace_vfi_as_release_failed(vfi_device_get_name(dev), err->message);
    g_clear_error(&err);
    cd = vfi_container_device_state(dev);
    if (cd && !as_forget_device(cd, &err)) {
        trace_vfi_as_release_failed(vfi_device_get_name(dev), err->message);
    }
}
