/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: address spaces and the choice of a container for a device.
 *
 * Attaching a device tries the address space's containers on the device's
 * backend in creation order; a container "does not accept" the device only
 * when placing it there met an incompatibility (placement.c). Any other
 * error fails the attach. When no container accepts it, a new one is made
 * (new IOAS, its IOVA ranges read, the address space's mappings replayed);
 * while the address space is tracking, the new container starts tracking
 * too, and a device joining a tracking container is brought into its state.
 * The address space is the owner of its devices' placements: freeing a
 * device still attached takes it out here (the device layer's hook).
 */
#include <errno.h>
#include <inttypes.h>

#include "vfio-iommufd/error.h"
#include "vfio-iommufd/iommufd.h"
#include "util/kernel-internal.h"
#include "address-space-internal.h"
#include "container/type1.h"
#include "trace.h"

/* ---- address spaces ---------------------------------------------------- */

VfiAddressSpace *vfi_address_space_new(void *handle)
{
    static unsigned next_id;
    VfiAddressSpace *as = g_new0(VfiAddressSpace, 1);

    as->lock = vfi_lock_new();
    as->handle = handle;
    as->id = g_atomic_int_add(&next_id, 1) + 1;
    as->containers = g_ptr_array_new();
    as->mappings = vfi_range_tree_new(sizeof(VfiAsMapping));
    trace_vfi_as_new(as->id);
    return as;
}

/* Clean up @c (an emptied container of @as): it leaves @as's list when it
 * is freed, and stays in it (appended if new) when a destroy failed. */
static bool as_cleanup(VfiAddressSpace *as, VfiContainer *c, GError **errp)
{
    guint idx;
    bool in = g_ptr_array_find(as->containers, c, &idx);
    bool freed;
    bool ok = vfi_container_cleanup(c, &freed, errp);

    if (freed && in) {
        g_ptr_array_remove_index(as->containers, idx);
    } else if (!freed && !in) {
        g_ptr_array_add(as->containers, c);
    }
    return ok;
}

bool vfi_address_space_free(VfiAddressSpace *as, GError **errp)
{
    g_autoptr(VfiLockGuard) guard = vfi_lock_guard(vfi_as_lock(as));
    g_autoptr(GError) first = NULL;

    if (!as) {
        return true;
    }
    for (guint i = 0; i < as->containers->len; i++) {
        VfiContainer *c = g_ptr_array_index(as->containers, i);

        if (c->devices->len) {
            g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                        "address space %u: device %s is still attached (%s): detach it "
                        "first", as->id,
                        vfi_device_get_display_name(g_ptr_array_index(c->devices, 0)),
                        VFI_CONTAINER_DESC(c));
            return false;
        }
    }
    /* vIOMMU objects a failed destroy left, before their parents */
    if (!vfi_as_viommu_free_all(as, &first)) {
        g_propagate_prefixed_error(errp, g_steal_pointer(&first),
                                   "address space %u not freed: ", as->id);
        return false;
    }
    /* Containers without devices are left-overs of a destroy that failed
     * earlier: try again. */
    for (guint i = as->containers->len; i-- > 0;) {
        g_autoptr(GError) err = NULL;

        if (!as_cleanup(as, g_ptr_array_index(as->containers, i), &err) && !first) {
            first = g_steal_pointer(&err);
        }
    }
    if (first) {
        g_propagate_prefixed_error(errp, g_steal_pointer(&first),
                                   "address space %u not freed: ", as->id);
        return false;
    }
    trace_vfi_as_free(as->id, vfi_range_tree_len(as->mappings));
    /* Given back before it is freed (no other thread may wait for it now). */
    vfi_lock_release(g_steal_pointer(&guard));
    vfi_as_free_record(as);
    return true;
}

void vfi_as_free_record(VfiAddressSpace *as)
{
    vfi_lock_free(as->lock);
    g_ptr_array_free(as->containers, true);
    vfi_as_forget_all_mappings(as);
    vfi_range_tree_free(as->mappings);
    vfi_as_viommu_free_record(as);
    g_free(as);
}

void *vfi_address_space_get_handle(const VfiAddressSpace *as)
{
    return as ? as->handle : NULL;
}

unsigned vfi_address_space_container_count(const VfiAddressSpace *as)
{
    VFI_LOCK_GUARD(vfi_as_lock(as));

    /* its IOMMUFD containers (IOASes): a type1 one is reached through its
     * devices and the coverage report (container.h) */
    return as && vfi_address_space_get_backend(as) == VFI_BACKEND_IOMMUFD ?
           as->containers->len : 0;
}

VfiContainer *vfi_address_space_container(const VfiAddressSpace *as, unsigned i)
{
    VFI_LOCK_GUARD(vfi_as_lock(as));

    if (i >= vfi_address_space_container_count(as)) {
        return NULL;
    }
    return g_ptr_array_index(as->containers, i);
}

unsigned vfi_address_space_mapping_count(const VfiAddressSpace *as)
{
    VFI_LOCK_GUARD(vfi_as_lock(as));

    return as ? vfi_range_tree_len(as->mappings) : 0;
}

/* ---- attaching devices ------------------------------------------------- */

/*
 * A new container (holding every mapping of @as) refused @cd's device with
 * EADDRINUSE: some mapping of @as lies where the device's IOMMU cannot map
 * (outside its domain's aperture, in a reserved region such as the x86 MSI
 * window, or misaligned for it). Say so, with the kernel's error: finding
 * which mapping would take attaching the device somewhere else, and an undo
 * that could fail, so the library does not probe.
 */
static void as_explain_conflict(VfiAddressSpace *as, VfiDevice *dev, GError **err)
{
    GError *e = g_error_new((*err)->domain, (*err)->code,
                            "device %s cannot be attached to address space %u: one of its "
                            "%u mappings lies where the device's IOMMU cannot map (outside "
                            "its aperture, in a reserved region such as the x86 MSI window, "
                            "or misaligned for it; vfi_container_get_iova_ranges() of a "
                            "container holding the device shows what it allows); unmap it "
                            "first (%s)", vfi_device_get_display_name(dev), as->id,
                            vfi_range_tree_len(as->mappings), (*err)->message);

    g_error_free(*err);
    *err = e;
}

/* Refusals before any ioctl (INVALID_ARGUMENT, WRONG_STATE). */
static bool attach_check(VfiAddressSpace *as, VfiIommufd *be, VfiDevice *dev, bool type1,
                         GError **errp)
{
    const char *name = dev ? vfi_device_get_display_name(dev) : NULL;
    VfiContainerDevice *cd = vfi_container_device_state(dev);
    const char *why = NULL;

    /* a type1 address space does not use the backend (not even opened) */
    if (!as || (!be && !type1) || !dev) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "attach device: %s not given", !as ? "address space" :
                    !be ? "backend" : "device");
        return false;
    }
    if (cd) {
        why = "already in a container";
        g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                    "device %s is already in a container (%s): detach it first",
                    name, VFI_CONTAINER_DESC(cd->container));
    } else if (vfi_device_is_bound(dev) && (type1 || vfi_device_get_backend(dev) != be)) {
        why = "bound to another backend";
        g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                    "device %s is bound to %s iommufd backend (iommufd %d)", name,
                    type1 ? "an" : "another", vfi_iommufd_get_fd(vfi_device_get_backend(dev)));
        if (type1) {
            g_prefix_error(errp, "address space %u takes type1 containers: ", as->id);
        }
    } else if (vfi_device_get_attached_pt(dev)) {
        why = "attached outside containers";
        g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                    "device %s is attached to pt %u outside any container: detach it first",
                    name, vfi_device_get_attached_pt(dev));
    }
    if (why) {
        trace_vfi_as_attach_refused(name, why);
    }
    return !why;
}

/* Bind (if not bound yet), probe DMA logging, read the IOMMU hw info. */
static bool attach_prepare(VfiAddressSpace *as, VfiIommufd *be, VfiContainerDevice *cd,
                           GError **errp)
{
    VfiDevice *dev = cd->dev;
    bool offered;

    if (!vfi_device_is_bound(dev)) {
        /* Bound here; a failure below leaves it bound (a cdev is only unbound
         * by closing its fd: vfi_device_free()). */
        if (!vfi_device_bind(dev, be, errp)) {
            return false;
        }
        cd->bound_here = true;
    }
    trace_vfi_as_attach_device(vfi_device_get_display_name(dev), as->id, vfi_device_get_devid(dev),
                               cd->bound_here, vfi_device_is_mdev(dev),
                               cd->opts.no_iommu_dirty_tracking);
    if (!vfi_device_dma_logging_probe(dev, &offered, errp)) {
        g_prefix_error(errp, "device %s (devid %u): ", vfi_device_get_display_name(dev),
                       vfi_device_get_devid(dev));
        return false;
    }
    return vfi_device_is_mdev(dev) || vfi_placement_read_hw_info(cd, errp);
}

/* Whether @as is tracking leaving @except (NULL: none) aside: it has another
 * container and every one of them is tracking. */
static bool as_tracking(const VfiAddressSpace *as, const VfiContainer *except)
{
    guint n = 0;

    for (guint i = 0; i < as->containers->len; i++) {
        const VfiContainer *o = g_ptr_array_index(as->containers, i);

        if (o == except) {
            continue;
        }
        if (!o->dirty_tracking) {
            return false;
        }
        n++;
    }
    return n > 0;
}

/*
 * A device covered by its own DMA logging may not join a tracking container
 * (@c, or a new one of a tracking @as when @c is NULL) with nothing mapped:
 * its DMA_LOGGING_START needs the mapped ranges. Refused before its attach
 * (WRONG_STATE), so a refusal changes nothing.
 */
static bool check_logging_join(const VfiAddressSpace *as, const VfiContainer *c,
                               const VfiContainerDevice *cd, GError **errp)
{
    bool tracking = c ? c->dirty_tracking : as_tracking(as, NULL);
    bool empty = c ? vfi_container_mapped_count(c) == 0 : vfi_range_tree_len(as->mappings) == 0;

    if (!tracking || !empty || !vfi_coverage_uses_logging(cd)) {
        return true;
    }
    trace_vfi_as_attach_refused(vfi_device_get_display_name(cd->dev), "logs its DMA, nothing mapped");
    g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                "device %s logs its own DMA, but dirty tracking is on in %s with nothing "
                "mapped (DMA_LOGGING_START needs the mapped ranges): map guest memory "
                "first, or stop tracking", vfi_device_get_display_name(cd->dev),
                c ? VFI_CONTAINER_DESC(c) : "the address space");
    return false;
}

/* The first mapping of @as asked read-only, or NULL. */
static const VfiAsMapping *as_first_readonly(const VfiAddressSpace *as)
{
    VfiRangeIter it;

    for (const VfiAsMapping *m = vfi_range_tree_nth(as->mappings, 0, &it); m;
         m = vfi_range_iter_next(&it)) {
        if (m->readonly) {
            return m;
        }
    }
    return NULL;
}

/*
 * A nest parent whose VT-d has the erratum 772415 cannot have the address
 * space's read-only mappings in its domain (they are in every container,
 * and replayed into a new one): WRONG_STATE before any attach, unless the
 * VMM opted in to mapping them read-write (VfiNestingOptions).
 */
static bool check_erratum_join(const VfiAddressSpace *as, const VfiContainerDevice *cd,
                               GError **errp)
{
    const VfiAsMapping *m;

    if (!cd->opts.nest_parent || !vfi_nest_parent_ro_erratum(cd) ||
        as->nesting.readonly_as_writeable || !(m = as_first_readonly(as))) {
        return true;
    }
    trace_vfi_as_attach_refused(vfi_device_get_display_name(cd->dev),
                                "nest parent with erratum 772415, read-only mappings");
    g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                "device %s cannot be a nest parent in address space %u: its VT-d IOMMU has "
                "erratum 772415 (no read-only mappings in a nesting parent), and the "
                "address space's mapping iova 0x%" PRIx64 " size 0x%" PRIx64 " is "
                "read-only (unmap it, map it read-write, or set "
                "VfiNestingOptions.readonly_as_writeable before the first attach)",
                vfi_device_get_display_name(cd->dev), as->id, m->r.iova,
                m->r.last - m->r.iova + 1);
    return false;
}

/* A new container of @kind for @cd: type1's (@be unused), or an IOAS of
 * @be with the erratum 772415 opt-in set before the replay maps anything. */
static VfiContainer *new_container(VfiAddressSpace *as, VfiBackendKind kind, VfiIommufd *be,
                                   const VfiContainerDevice *cd, GError **errp)
{
    VfiContainer *c = kind == VFI_BACKEND_TYPE1 ? vfi_type1_container_new(as, as->lock, errp) :
                      vfi_container_new(as, as->lock, be, errp);

    if (c && kind != VFI_BACKEND_TYPE1) {
        c->ro_as_writeable = as->nesting.readonly_as_writeable;
        c->ro_erratum_expected = c->ro_as_writeable && cd->opts.nest_parent &&
                                 vfi_nest_parent_ro_erratum(cd);
    }
    return c;
}

/* Undo the attach of @cd to the new container @c before it was placed.
 * When the detach fails the device stays in @c, as in the kernel: @c joins
 * @as and @cd is placed in it (vfi_address_space_free() refuses until it is
 * detached), @errp says so, and false is returned. */
static bool new_undo_attach(VfiAddressSpace *as, VfiContainer *c, VfiContainerDevice *cd,
                            GError **errp)
{
    const char *name = vfi_device_get_display_name(cd->dev);
    const char *cname = VFI_CONTAINER_DESC(c);
    g_autoptr(GError) err = NULL;

    if (vfi_container_detach_device(c, cd, &err)) {
        return true;
    }
    trace_vfi_as_cleanup_failed(name, err->message);
    g_prefix_error(errp, "device %s stays attached to the new %s of address space %u (its "
                   "detach failed: %s), and is in that container: ", name, cname, as->id,
                   err->message);
    g_ptr_array_add(as->containers, c);
    vfi_container_add_device(c, cd);
    return false;
}

/*
 * Place @cd in a new container of @as: an IOAS of @be (@kind IOMMUFD: its
 * ranges read, @as's mappings replayed, then the attach) or a type1
 * container (@kind TYPE1, @be unused: the attach first, the first group
 * setting the IOMMU, then the ranges and the replay). Returns it, in @as's
 * list, or NULL: the new container cleaned up (one whose cleanup failed
 * stays in @as's list, empty, @errp says so) and @cd in no container, for
 * the caller to free; or, when the undo of a type1 attach could not detach
 * the device, the container in @as's list with @cd placed in it
 * (cd->container set: not the caller's to free), @errp says so.
 */
static VfiContainer *place_in_new(VfiAddressSpace *as, VfiBackendKind kind, VfiIommufd *be,
                                  VfiContainerDevice *cd, GError **errp)
{
    const char *name = vfi_device_get_display_name(cd->dev);
    bool type1 = kind == VFI_BACKEND_TYPE1;
    g_autoptr(GError) last = NULL;
    g_autoptr(GError) err = NULL;
    VfiContainer *c;
    bool attached;

    if (!(c = new_container(as, kind, be, cd, errp))) {
        return NULL;
    }
    VFI_TRACE_CONTAINER(vfi_as_new_container, c, name, as->containers->len);
    /* type1: nothing maps before the first group set the IOMMU, so the
     * attach comes first; an IOAS takes the replay before any device */
    attached = type1 && vfi_container_attach_device(c, cd, &last) == VFI_PLACE_OK;
    if ((attached || !type1) && vfi_container_refresh_ranges(c, &last) &&
        vfi_as_replay(as, c, &last) &&
        (type1 || vfi_container_attach_device(c, cd, &last) == VFI_PLACE_OK)) {
        g_ptr_array_add(as->containers, c);
        return c;
    }
    if (g_error_matches(last, VFI_KERNEL_ERROR, EADDRINUSE)) {
        as_explain_conflict(as, cd->dev, &last);
    }
    if ((!attached || new_undo_attach(as, c, cd, &last)) && !as_cleanup(as, c, &err)) {
        /* The empty container stays in the address space, as in the kernel:
         * a later attach may use it, vfi_address_space_free() destroys it. */
        trace_vfi_as_cleanup_failed(name, err->message);
        g_prefix_error(&last, "(the new %s stays in address space %u, empty: %s) ",
                       VFI_CONTAINER_DESC(c), as->id, err->message);
    }
    g_propagate_error(errp, g_steal_pointer(&last));
    return NULL;
}

/* Place @cd in the first container of @as on @be that accepts it, else in
 * a new one (*@made). Returns the container, or NULL. */
static VfiContainer *place(VfiAddressSpace *as, VfiIommufd *be, VfiContainerDevice *cd,
                           bool *made, GError **errp)
{
    *made = false;
    /* The logging refusals of every container it could go to (and of a new
     * one), before any attach ioctl. */
    for (guint i = 0; i < as->containers->len; i++) {
        VfiContainer *c = g_ptr_array_index(as->containers, i);

        if (c->be == be && !check_logging_join(as, c, cd, errp)) {
            return NULL;
        }
    }
    if (!check_logging_join(as, NULL, cd, errp) || !check_erratum_join(as, cd, errp)) {
        return NULL;
    }
    for (guint i = 0; i < as->containers->len; i++) {
        VfiContainer *c = g_ptr_array_index(as->containers, i);
        g_autoptr(GError) err = NULL;

        if (c->be != be) {
            continue;
        }
        switch (vfi_container_attach_device(c, cd, &err)) {
        case VFI_PLACE_OK:
            return c;
        case VFI_PLACE_ERROR:
            g_propagate_error(errp, g_steal_pointer(&err));
            return NULL;
        case VFI_PLACE_INCOMPATIBLE:
            trace_vfi_as_container_refused(vfi_device_get_display_name(cd->dev),
                                           VFI_CONTAINER_DESC(c), err->message);
        }
    }
    *made = true;
    return place_in_new(as, VFI_BACKEND_IOMMUFD, be, cd, errp);
}

/* Place @cd (its checks made) in @as's one type1 container, made at the
 * first device (*@made). Returns the container, or NULL as place_in_new(). */
static VfiContainer *type1_place(VfiAddressSpace *as, VfiContainerDevice *cd, bool *made,
                                 GError **errp)
{
    VfiContainer *c = as->containers->len ? vfi_as_containers(as)[0] : NULL;

    *made = !c;
    if (c) {
        /* its IOMMU is set; it has every mapping unless it was kept with a
         * device whose undo failed halfway through the replay */
        if (vfi_container_as_mapping_count(c) != vfi_range_tree_len(as->mappings) &&
            !vfi_as_replay(as, c, errp)) {
            return NULL;
        }
        return vfi_container_attach_device(c, cd, errp) == VFI_PLACE_OK ? c : NULL;
    }
    c = place_in_new(as, VFI_BACKEND_TYPE1, NULL, cd, errp);
    if (c) {
        trace_vfi_as_backend(as->id, VFI_BACKEND_TYPE1, "type1 container made");
    }
    return c;
}

static bool as_forget_device(VfiAddressSpace *as, VfiContainerDevice *cd, GError **errp);
static void as_release(VfiDeviceOwner *owner, VfiDevice *dev);

/* Undo a placement that could not be finished: detach, forget. When the
 * detach fails the device stays in @c, as in the kernel, and @errp says so. */
static void attach_undo(VfiAddressSpace *as, VfiContainer *c, VfiContainerDevice *cd,
                        GError **errp)
{
    g_autofree char *name = g_strdup(vfi_device_get_display_name(cd->dev));
    uint32_t pt = vfi_device_get_attached_pt(cd->dev);
    g_autoptr(GError) err = NULL;

    g_prefix_error(errp, "attach of device %s: ", name);
    if (!vfi_container_detach_device(c, cd, &err)) {
        trace_vfi_as_cleanup_failed(name, err->message);
        g_prefix_error(errp, "device %s stays attached to pt %u of %s (its detach "
                       "failed: %s), and is in that container: ", name, pt,
                       VFI_CONTAINER_DESC(c), err->message);
        return;
    }
    if (!as_forget_device(as, cd, &err)) {
        trace_vfi_as_cleanup_failed(name, err->message);
        g_prefix_error(errp, "(device %s detached, but %s) ", name, err->message);
    }
}

/* The device is placed in @c: bring it into @c's state (ranges, tracking). */
static bool attach_finish(VfiAddressSpace *as, VfiContainer *c, VfiContainerDevice *cd,
                          bool made, GError **errp)
{
    /* The device's domain and reserved regions changed what the IOAS
     * allows: without the new ranges the container's checks would not be
     * the kernel's, so a failure to read them fails (and undoes) the attach. */
    bool ok = vfi_container_refresh_ranges(c, errp);

    if (ok && made) {
        /* the address space is tracking without @c: @c joins in */
        ok = !as_tracking(as, c) || vfi_container_dirty_tracking_start(c, errp);
    } else if (ok) {
        ok = vfi_dirty_tracking_catch_up(c, cd, errp);
    }
    if (!ok) {
        attach_undo(as, c, cd, errp);
    }
    return ok;
}

/* The VMM's attached hook of @dev, placed and in its container's state; on
 * its failure the attach is undone as when the device goes away. */
static bool hook_attached(VfiAddressSpace *as, VfiDevice *dev, GError **errp)
{
    const char *name = vfi_device_get_display_name(dev);
    g_autoptr(GError) err = NULL;
    g_autoptr(GError) undo = NULL;
    bool ok;

    if (!as->hooks.attached) {
        return true;
    }
    ok = as->hooks.attached(as->hooks.opaque, dev, vfi_device_get_fd(dev), &err);
    trace_vfi_as_hook(as->id, "attached", name, ok);
    if (ok) {
        return true;
    }
    if (!vfi_as_detach_unhooked(as, dev, &undo)) {
        trace_vfi_as_cleanup_failed(name, undo->message);
    }
    g_set_error(errp, VFI_ERROR, VFI_ERROR_VMM,
                "attach of device %s to address space %u: the VMM's attached hook "
                "failed: %s%s%s", name, as->id, err ? err->message : "(no message)",
                undo ? "; undoing the attach failed too: " : " (the attach was undone)",
                undo ? undo->message : "");
    return false;
}

bool vfi_address_space_set_device_hooks(VfiAddressSpace *as, const VfiDeviceHooks *hooks,
                                        GError **errp)
{
    VFI_LOCK_GUARD(vfi_as_lock(as));

    if (!vfi_as_check_given(as, "set device hooks", errp)) {
        return false;
    }
    for (guint i = 0; i < as->containers->len; i++) {
        VfiContainer *c = g_ptr_array_index(as->containers, i);

        if (c->devices->len) {
            g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                        "set device hooks of address space %u: device %s is attached "
                        "(set the hooks before the first attach)", as->id,
                        vfi_device_get_display_name(g_ptr_array_index(c->devices, 0)));
            return false;
        }
    }
    as->hooks = hooks ? *hooks : (VfiDeviceHooks){ 0 };
    trace_vfi_as_hooks_set(as->id, as->hooks.attached != NULL, as->hooks.detaching != NULL);
    return true;
}

bool vfi_address_space_set_nesting(VfiAddressSpace *as, const VfiNestingOptions *opts,
                                   GError **errp)
{
    VFI_LOCK_GUARD(vfi_as_lock(as));

    if (!vfi_as_check_given(as, "set nesting", errp)) {
        return false;
    }
    if (as->containers->len) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                    "set nesting of address space %u: it has %u container(s) (%s "
                    "first), made under the old options: set them before the first attach",
                    as->id, as->containers->len,
                    VFI_CONTAINER_DESC(g_ptr_array_index(as->containers, 0)));
        return false;
    }
    as->nesting = opts ? *opts : (VfiNestingOptions){ 0 };
    trace_vfi_as_nesting(as->id, as->nesting.nest_parent, as->nesting.readonly_as_writeable);
    return true;
}

/* An AUTO address space without containers chose a backend for @dev's
 * attach (vfi_as_type1_wanted(), traced there), and the attach was refused
 * or failed before a container was made: the choice goes with it (the next
 * device chooses again). */
static void as_trace_backend_dropped(const VfiAddressSpace *as, const VfiDevice *dev,
                                     bool type1)
{
    if (as && dev && !as->containers->len && as->backend == VFI_BACKEND_AUTO) {
        trace_vfi_as_backend_dropped(as->id, vfi_device_get_display_name(dev),
                                     type1 ? VFI_BACKEND_TYPE1 : VFI_BACKEND_IOMMUFD);
    }
}

bool vfi_address_space_attach_device(VfiAddressSpace *as, VfiIommufd *be, VfiDevice *dev,
                                     const VfiAttachOptions *opts, GError **errp)
{
    VFI_LOCK_GUARD(vfi_as_lock(as));
    VfiAttachOptions given;     /* @opts in this library's layout */
    bool type1;
    VfiContainerDevice *cd;
    VfiContainer *c;
    bool made;

    if (opts && !vfi_struct_size_copy(&given, sizeof(given), opts,
                                      VFI_ATTACH_OPTIONS_SIZE_VER0, "VfiAttachOptions", errp)) {
        return false;
    }
    opts = opts ? &given : NULL;
    type1 = dev && as && vfi_as_type1_wanted(as, dev);   /* as-type1.c */
    if (!attach_check(as, be, dev, type1, errp)) {
        as_trace_backend_dropped(as, dev, type1);
        return false;
    }
    if (opts && opts->label) {
        vfi_device_set_label(dev, opts->label);
    }
    cd = vfi_container_device_new(dev, opts, as_release);
    /* the address space's request for nest parents holds for every device */
    cd->opts.nest_parent = cd->opts.nest_parent || as->nesting.nest_parent;
    c = type1 ? type1_place(as, cd, &made, errp) :
        attach_prepare(as, be, cd, errp) ? place(as, be, cd, &made, errp) : NULL;
    if (!c) {
        trace_vfi_as_attach_failed(vfi_device_get_display_name(dev), cd->bound_here,
                                   errp && *errp ? (*errp)->message : "");
        as_trace_backend_dropped(as, dev, type1);
        if (!cd->container) {
            g_free(cd);     /* (a failed undo may have left it placed: kept) */
        }
        return false;
    }
    vfi_container_add_device(c, cd);
    if (!attach_finish(as, c, cd, made, errp) || !hook_attached(as, dev, errp)) {
        trace_vfi_as_attach_failed(vfi_device_get_display_name(dev), false,
                                   errp && *errp ? (*errp)->message : "");
        return false;
    }
    return true;
}

/* ---- detaching devices ------------------------------------------------- */

/*
 * The bookkeeping half of a detach, once the device is detached in the
 * kernel (or, for a device being freed, about to be by the close of its
 * fd): it leaves its container (container layer), and an emptied container
 * is cleaned up.
 */
static bool as_forget_device(VfiAddressSpace *as, VfiContainerDevice *cd, GError **errp)
{
    g_autofree char *name = g_strdup(vfi_device_get_display_name(cd->dev));
    VfiContainer *c = cd->container;
    g_autoptr(GError) err = NULL;

    trace_vfi_as_detach_device(name, VFI_CONTAINER_DESC(c), cd->hwpt ? cd->hwpt->id : 0);
    if (!vfi_container_forget_device(c, cd, errp)) {
        return false;
    }
    if (c->devices->len == 0 && !as_cleanup(as, c, &err)) {
        g_propagate_prefixed_error(errp, g_steal_pointer(&err), "device %s detached, but: ",
                                   name);
        return false;
    }
    return true;
}

VfiContainerDevice *vfi_as_device(const VfiAddressSpace *as, const VfiDevice *dev,
                                  const char *what, GError **errp)
{
    VfiContainerDevice *cd = vfi_container_device_state(dev);

    if (!as || !dev) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "%s: %s not given", what, !as ? "address space" : "device");
        return NULL;
    }
    if (!cd || cd->container->as != as) {
        trace_vfi_as_detach_refused(vfi_device_get_display_name(dev),
                                    "in no container of this address space");
        g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                    "%s: device %s is in no container of address space %u", what,
                    vfi_device_get_display_name(dev), as->id);
        return NULL;
    }
    return cd;
}

/* The detach itself, @cd's checks made; @hook: call the VMM's detaching
 * hook first. */
static bool as_detach_checked(VfiAddressSpace *as, VfiDevice *dev, VfiContainerDevice *cd,
                              bool force, bool hook, GError **errp)
{
    VfiContainer *c = cd->container;
    g_autoptr(GError) err = NULL;

    if (hook && as->hooks.detaching) {
        as->hooks.detaching(as->hooks.opaque, dev, vfi_device_get_fd(dev));
        trace_vfi_as_hook(as->id, "detaching", vfi_device_get_display_name(dev), true);
    }
    if (force) {
        /* The device goes away: stop its DMA logging first (traced only). */
        vfi_dirty_tracking_drop_device(dev);
    }
    /* its PASIDs first (a forced detach goes on: the fd's close drops them) */
    if (!vfi_container_detach_pasids(cd, force ? &err : errp) && !force) {
        return false;
    }
    g_clear_error(&err);
    if (!vfi_container_detach_device(c, cd, errp)) {
        g_prefix_error(errp, "detaching device %s (devid %u) from %s hwpt %u: ",
                       vfi_device_get_display_name(dev), vfi_device_get_devid(dev),
                       VFI_CONTAINER_DESC(c), cd->hwpt ? cd->hwpt->id : 0);
        return false;
    }
    if (!vfi_as_viommu_device_gone(as, dev, &err)) {
        /* the device left all the same: its container forgets it */
        as_forget_device(as, cd, NULL);
        g_propagate_error(errp, g_steal_pointer(&err));
        return false;
    }
    return as_forget_device(as, cd, errp);
}

bool vfi_as_detach(VfiAddressSpace *as, VfiDevice *dev, bool force, GError **errp)
{
    VfiContainerDevice *cd = vfi_as_device(as, dev, "detach device", errp);

    if (!cd) {
        return false;
    }
    if (!force && !vfi_container_check_detach(cd->container, cd, errp)) {
        return false;
    }
    return as_detach_checked(as, dev, cd, force, true, errp);
}

bool vfi_as_detach_unhooked(VfiAddressSpace *as, VfiDevice *dev, GError **errp)
{
    VfiContainerDevice *cd = vfi_as_device(as, dev, "undo attach", errp);

    return cd && as_detach_checked(as, dev, cd, true, false, errp);
}

bool vfi_address_space_detach_device(VfiAddressSpace *as, VfiDevice *dev, GError **errp)
{
    VFI_LOCK_GUARD(vfi_as_lock(as));

    return vfi_as_detach(as, dev, false, errp);
}

/* The device layer's hook: @dev is being freed while in a container. */
static void as_release(VfiDeviceOwner *owner, VfiDevice *dev)
{
    VfiContainerDevice *cd = (VfiContainerDevice *)owner;
    VfiAddressSpace *as = cd->container->as;
    VFI_LOCK_GUARD(as->lock);
    g_autoptr(GError) err = NULL;

    trace_vfi_as_release_device(vfi_device_get_display_name(dev),
                                VFI_CONTAINER_DESC(cd->container));
    if (vfi_as_detach(as, dev, true, &err)) {
        return;
    }
    trace_vfi_as_release_failed(vfi_device_get_display_name(dev), err->message);
    g_clear_error(&err);
    cd = vfi_container_device_state(dev);
    if (cd && !as_forget_device(as, cd, &err)) {
        trace_vfi_as_release_failed(vfi_device_get_display_name(dev), err->message);
    }
}

void vfi_as_device_release(VfiDeviceOwner *owner, VfiDevice *dev)
{
    as_release(owner, dev);
}
