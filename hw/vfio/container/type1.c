/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: the type1 backend of the container layer (see
 * hw/vfio/container/type1.h): the container's life, its groups and its
 * devices, and the ops table. Its maps, unmaps and dirty reads are in
 * type1-dma.c.
 *
 * A VfiType1 (backends/type1.c) and the groups of its devices (the device
 * layer's VfiGroup, one per IOMMU group, counted by the devices in it).
 * GET_INFO is read when the first group sets the IOMMU: the IOVA ranges a
 * map must stay in (the container's ranges) and the migration capability's
 * bitmap limit.
 */
#include <errno.h>
#include <string.h>

#include "vfio-iommufd/error.h"
#include "device/device-internal.h"
#include "type1.h"
#include "trace.h"

typedef struct T1Group {
    VfiGroup *group;
    unsigned devices;           /* attached devices of the group */
} T1Group;

/* ---- groups ----------------------------------------------------------------- */

static T1Group *find_group(const VfiType1Container *t, unsigned id)
{
    for (guint i = 0; i < t->groups->len; i++) {
        T1Group *g = g_ptr_array_index(t->groups, i);

        if (vfi_group_get_id(g->group) == id) {
            return g;
        }
    }
    return NULL;
}

/* The group leaves (its last device left, or its join failed): unset,
 * closed; with the last group the kernel released the IOMMU and every
 * mapping. */
static void group_leave(VfiType1Container *t, T1Group *g)
{
    g_autoptr(GError) err = NULL;

    if (!vfi_group_unset_container(g->group, &err)) {
        /* closing the group unsets it anyway */
        trace_vfi_type1_container_refused(vfi_type1_get_fd(t->t1), "unset", err->message);
    }
    trace_vfi_type1_container_group(vfi_type1_get_fd(t->t1), vfi_group_get_id(g->group),
                                    "left");
    vfi_group_close(g->group);
    g_ptr_array_remove(t->groups, g);
    if (!t->groups->len) {
        vfi_type1_iommu_released(t->t1);
        t->tracking = false;
        memset(&t->info, 0, sizeof(t->info));
    }
}

/* The first group sets the IOMMU and reads what it offers. */
static bool iommu_up(VfiType1Container *t, GError **errp)
{
    if (vfi_type1_iommu_set(t->t1)) {
        return true;
    }
    return vfi_type1_set_iommu(t->t1, errp) && vfi_type1_get_info(t->t1, &t->info, errp);
}

/* Group @id joins (once): open, viable, into the container. */
static T1Group *group_join(VfiType1Container *t, unsigned id, GError **errp)
{
    T1Group *g = find_group(t, id);
    VfiGroup *vg;

    if (g) {
        return g;
    }
    vg = vfi_group_open(id, errp);
    if (!vg) {
        return NULL;
    }
    g = g_new0(T1Group, 1);
    g->group = vg;
    g_ptr_array_add(t->groups, g);
    if (!vfi_group_check_viable(vg, errp) ||
        !vfi_group_set_container(vg, vfi_type1_get_fd(t->t1), errp) || !iommu_up(t, errp)) {
        group_leave(t, g);
        return NULL;
    }
    trace_vfi_type1_container_group(vfi_type1_get_fd(t->t1), id, "joined");
    return g;
}

/* ---- the ops ----------------------------------------------------------------- */

/* Attach @cd's device: its group joins, its fd through the group, its DMA
 * logging probed (the device ioctls work on a group-opened device). */
static VfiPlaceResult t1_attach(VfiContainer *c, VfiContainerDevice *cd, GError **errp)
{
    VfiType1Container *t = c->type1;
    VfiDevice *dev = cd->dev;
    bool offered;
    T1Group *g;
    int id = vfi_device_iommu_group(dev, errp);

    if (id < 0 || !vfi_device_release_cdev(dev, errp)) {
        return VFI_PLACE_ERROR;
    }
    g = group_join(t, (unsigned)id, errp);
    if (!g || !vfi_device_open_in_group(dev, g->group, errp)) {
        if (g && !g->devices) {
            group_leave(t, g);
        }
        vfi_device_reopen_cdev(dev);
        return VFI_PLACE_ERROR;
    }
    g->devices++;
    if (!vfi_device_dma_logging_probe(dev, &offered, errp)) {
        g_prefix_error(errp, "device %s (type1 container fd %d): ",
                       vfi_device_get_display_name(dev), vfi_type1_get_fd(t->t1));
        vfi_container_detach_device(c, cd, NULL);
        return VFI_PLACE_ERROR;
    }
    trace_vfi_type1_container_device(vfi_type1_get_fd(t->t1), vfi_device_get_display_name(dev),
                                     (unsigned)id, "attached");
    return VFI_PLACE_OK;
}

/* The kernel dropped every mapping with the last group: so does the record. */
static void t1_all_unmapped(VfiContainer *c)
{
    vfi_type1_drop_mmaps(c, 0, UINT64_MAX);
    vfi_kept_forget(c->kept, 0, UINT64_MAX);
    vfi_container_forget_all_mappings(c);
    vfi_range_tree_clear(c->mapped);
    c->mapped_valid = true;
}

static bool t1_detach(VfiContainer *c, VfiContainerDevice *cd, GError **errp)
{
    VfiType1Container *t = c->type1;
    VfiGroup *vg = vfi_device_get_group(cd->dev);
    T1Group *g = vg ? find_group(t, vfi_group_get_id(vg)) : NULL;

    if (!g) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                    "detach: type1 container fd %d: device %s is not attached here",
                    vfi_type1_get_fd(t->t1), vfi_device_get_display_name(cd->dev));
        return false;
    }
    trace_vfi_type1_container_device(vfi_type1_get_fd(t->t1),
                                     vfi_device_get_display_name(cd->dev),
                                     vfi_group_get_id(vg), "detached");
    vfi_device_leave_group(cd->dev);
    if (--g->devices == 0) {
        group_leave(t, g);
    }
    if (!t->groups->len) {
        t1_all_unmapped(c);
    }
    /* the cdevs of the group's devices open again once it is closed */
    vfi_device_reopen_cdev(cd->dev);
    return true;
}

/* The IOVA ranges GET_INFO gave (none before the first group: the
 * container then allows nothing to be mapped yet), the IOMMU page. */
static bool t1_refresh_ranges(VfiContainer *c, GError **errp)
{
    VfiType1Container *t = c->type1;

    (void)errp;
    g_free(c->ranges);
    c->nr_ranges = vfi_type1_iommu_set(t->t1) ? MAX(t->info.n_ranges, 1) : 0;
    c->ranges = g_new0(VfiIovaRange, MAX(c->nr_ranges, 1));
    if (t->info.n_ranges) {
        memcpy(c->ranges, t->info.ranges, t->info.n_ranges * sizeof(VfiIovaRange));
    } else {
        c->ranges[0] = (VfiIovaRange){ .start = 0, .last = UINT64_MAX };
    }
    c->alignment = VFI_TYPE1_PAGE;
    return true;
}

/* Close the container with its last device (no group left then). */
static bool t1_cleanup(VfiContainer *c, bool *freed, GError **errp)
{
    VfiType1Container *t = c->type1;

    (void)errp;
    *freed = false;
    if (c->devices->len) {
        return true;
    }
    g_assert(t->groups->len == 0);
    t1_all_unmapped(c);
    trace_vfi_type1_container_free(vfi_type1_get_fd(t->t1));
    vfi_type1_close(t->t1);
    g_ptr_array_free(t->groups, TRUE);
    vfi_range_tree_free(t->mmaps);
    g_free(t->bits);
    g_free(t);
    vfi_container_free_record(c);
    *freed = true;
    return true;
}

static const VfiContainerOps type1_ops = {
    .name = "type1",
    .kind = VFI_BACKEND_TYPE1,
    .attach = t1_attach,
    .detach = t1_detach,
    .map = vfi_type1_ops_map,
    .unmap = vfi_type1_ops_unmap,
    .refresh_ranges = t1_refresh_ranges,
    .cleanup = t1_cleanup,
    .iommu_tracking = vfi_type1_ops_tracking,
    .iommu_tracking_is_on = vfi_type1_ops_tracking_is_on,
    .read_iommu_dirty = vfi_type1_ops_read_dirty,
};

VfiContainer *vfi_type1_container_new(VfiAddressSpace *as, VfiLock *lock, GError **errp)
{
    VfiType1 *t1 = vfi_type1_open(errp);
    VfiContainer *c;
    VfiType1Container *t;

    if (!t1) {
        return NULL;
    }
    c = vfi_container_wrap(as, lock, NULL, 0);
    t = g_new0(VfiType1Container, 1);
    t->t1 = t1;
    t->groups = g_ptr_array_new_with_free_func(g_free);
    t->mmaps = vfi_range_tree_new(sizeof(VfiType1Mmap));
    c->ops = &type1_ops;
    c->type1 = t;
    t1_refresh_ranges(c, NULL);
    trace_vfi_type1_container_new(vfi_type1_get_fd(t1));
    return c;
}
