/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd kernel model: nesting, as Linux 7.3 does it with its mock
 * IOMMU (drivers/iommu/iommufd/selftest.c, viommu.c, hw_pagetable.c,
 * device.c): nest parents, vIOMMUs, vDEVICEs, nested HWPTs with the mock's
 * data type, their invalidation with partial completion, and PASID
 * attachments of a physical device.
 *
 * Only an IOMMU instance switched to the mock's nesting
 * (vfi_sim_set_iommu_nesting()) takes NEST_PARENT and the selftest types;
 * the others answer as a VT-d without nesting (EOPNOTSUPP). References are
 * users counts, so IOMMU_DESTROY refuses with EBUSY as the kernel does: a
 * nest parent under a vIOMMU or a nested HWPT, a vIOMMU under a vDEVICE,
 * nested HWPT or vEVENTQ, a fault queue named by a HWPT or open as an fd.
 * A device's unbind destroys its vDEVICE itself and leaves its id a
 * tombstone (iommufd_device_remove_vdev()).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <linux/iommufd.h>

#include "config.h"
#include "sim-internal.h"
#include "vfio-iommufd/error.h"
#include "trace.h"

#if !HAVE_IOMMU_HWPT_ALLOC_PASID
#define IOMMU_HWPT_ALLOC_PASID 0u       /* 6.12 headers: no such flag */
#endif

static int refuse(const char *what, int err, const char *why)
{
    trace_vfi_sim_refused(what, err, why);
    return -err;
}

static SimObj *get(SimCtx *ctx, uint32_t id, SimObjType type)
{
    SimObj *obj = sim_ctx_lookup(ctx, id);

    return obj && obj->type == type ? obj : NULL;
}

static void ref(SimObj *obj)
{
    if (obj) {
        obj->users++;
    }
}

static void unref(SimObj *obj)
{
    if (obj) {
        obj->users--;
    }
}

bool sim_ctx_tombstoned(const SimCtx *ctx, uint32_t id)
{
    return ctx->tombstones && g_hash_table_contains(ctx->tombstones, GUINT_TO_POINTER(id));
}

void sim_obj_unref_all(SimObj *obj)
{
    if (obj->type == SIM_OBJ_HWPT && !obj->nested) {
        unref(obj->ioas);
    }
    if (obj->type == SIM_OBJ_HWPT && obj->nested && !obj->viommu) {
        unref(obj->parent);
    }
    if (obj->type == SIM_OBJ_VIOMMU) {
        unref(obj->parent);
    }
    unref(obj->viommu);
    unref(obj->fault);
    if (obj->type == SIM_OBJ_VDEVICE && obj->devobj) {
        obj->devobj->vdev = NULL;
    }
#if HAVE_IOMMU_HW_QUEUE_ALLOC
    if (obj->type == SIM_OBJ_HW_QUEUE) {
        sim_hw_queue_release(obj);
    }
#endif
}

void sim_obj_clear_nesting(SimObj *obj)
{
    if (obj->queue) {
        g_queue_free_full(obj->queue, g_free);
        obj->queue = NULL;
    }
    g_clear_pointer(&obj->responses, g_hash_table_destroy);
    g_clear_pointer(&obj->pasids, g_hash_table_destroy);
}

/* ---- vIOMMU and vDEVICE --------------------------------------------------- */

#if HAVE_IOMMU_VIOMMU_ALLOC
/* mock_viommu_init(): the selftest data is a loopback, plus an mmap window. */
static int viommu_data(SimObj *viommu, const struct iommu_viommu_alloc *cmd)
{
    VfiSimViommuSelftest d = { 0 };
    uint8_t *user = (void *)(uintptr_t)cmd->data_uptr;

    if (!cmd->data_len) {
        return 0;
    }
    if (!user) {
        return -EFAULT;
    }
    /* iommu_copy_struct_from_user(..., out_data): the struct up to out_data */
    if (cmd->data_len < offsetof(VfiSimViommuSelftest, out_data) + sizeof(d.out_data)) {
        return refuse("IOMMU_VIOMMU_ALLOC", EINVAL, "selftest data too short");
    }
    memcpy(&d, user, MIN(cmd->data_len, sizeof(d)));
    d.out_data = d.in_data;
    viommu->has_window = true;
    viommu->window_word = d.in_data;
    d.out_mmap_length = 2 * SIM_PAGE_SIZE;
    d.out_mmap_offset = (uint64_t)viommu->id << SIM_PAGE_SHIFT;
    memcpy(user, &d, MIN(cmd->data_len, sizeof(d)));
    return 0;
}

int sim_ioctl_viommu_alloc(SimCtx *ctx, void *arg)
{
    struct iommu_viommu_alloc *cmd = arg;
    SimObj *devobj, *parent, *viommu;
    int rc;

    if (cmd->flags || cmd->type == 0) {
        return refuse("IOMMU_VIOMMU_ALLOC", EOPNOTSUPP, "flags, or type DEFAULT");
    }
    devobj = get(ctx, cmd->dev_id, SIM_OBJ_DEVICE);
    if (!devobj) {
        return refuse("IOMMU_VIOMMU_ALLOC", ENOENT, "dev_id is not a physical device");
    }
    if (!devobj->dev->iommu->cfg.nesting || cmd->type != VFI_SIM_VIOMMU_TYPE_SELFTEST) {
        return refuse("IOMMU_VIOMMU_ALLOC", EOPNOTSUPP, "the IOMMU has no such vIOMMU type");
    }
    parent = get(ctx, cmd->hwpt_id, SIM_OBJ_HWPT);
    if (!parent || parent->nested) {
        return refuse("IOMMU_VIOMMU_ALLOC", ENOENT, "hwpt_id is not a paging HWPT");
    }
    if (!(parent->alloc_flags & IOMMU_HWPT_ALLOC_NEST_PARENT)) {
        return refuse("IOMMU_VIOMMU_ALLOC", EINVAL, "the HWPT is not a nest parent");
    }
    viommu = sim_obj_new(ctx, SIM_OBJ_VIOMMU);
    rc = viommu_data(viommu, cmd);
    if (rc) {
        sim_obj_free(viommu);
        return rc;
    }
    viommu->iommu = devobj->dev->iommu;
    viommu->vtype = cmd->type;
    viommu->parent = parent;
    ref(parent);
    cmd->out_viommu_id = viommu->id;
    trace_vfi_sim_viommu(viommu->id, "viommu", parent->id, cmd->type);
    return 0;
}
#endif

/* The vDEVICE of @viommu with virtual id @virt_id, or NULL. */
static SimObj *vdevice_by_virt(SimCtx *ctx, const SimObj *viommu, uint64_t virt_id)
{
    GHashTableIter it;
    gpointer value;

    g_hash_table_iter_init(&it, ctx->objects);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        SimObj *obj = value;

        if (obj->type == SIM_OBJ_VDEVICE && obj->viommu == viommu && obj->virt_id == virt_id) {
            return obj;
        }
    }
    return NULL;
}

#if HAVE_IOMMU_VDEVICE_ALLOC
int sim_ioctl_vdevice_alloc(SimCtx *ctx, void *arg)
{
    struct iommu_vdevice_alloc *cmd = arg;
    SimObj *viommu = get(ctx, cmd->viommu_id, SIM_OBJ_VIOMMU);
    SimObj *devobj, *vdev;

    if (!viommu) {
        return refuse("IOMMU_VDEVICE_ALLOC", ENOENT, "viommu_id is not a vIOMMU");
    }
    devobj = get(ctx, cmd->dev_id, SIM_OBJ_DEVICE);
    if (!devobj) {
        return refuse("IOMMU_VDEVICE_ALLOC", ENOENT, "dev_id is not a physical device");
    }
    if (devobj->dev->iommu != viommu->iommu) {
        return refuse("IOMMU_VDEVICE_ALLOC", EINVAL, "device of another IOMMU instance");
    }
    if (devobj->vdev) {
        return refuse("IOMMU_VDEVICE_ALLOC", EEXIST, "the device has a vDEVICE");
    }
    if (vdevice_by_virt(ctx, viommu, cmd->virt_id)) {
        return refuse("IOMMU_VDEVICE_ALLOC", EEXIST, "virt_id taken in this vIOMMU");
    }
    vdev = sim_obj_new(ctx, SIM_OBJ_VDEVICE);
    vdev->viommu = viommu;
    ref(viommu);
    vdev->devobj = devobj;
    vdev->virt_id = cmd->virt_id;
    for (unsigned i = 0; i < SIM_MOCK_CACHE_NUM; i++) {
        vdev->cache[i] = VFI_SIM_DEV_CACHE_DEFAULT;
    }
    devobj->vdev = vdev;
    cmd->out_vdevice_id = vdev->id;
    trace_vfi_sim_viommu(vdev->id, "vdevice", viommu->id, (uint32_t)cmd->virt_id);
    return 0;
}
#endif

void sim_device_unbind_nesting(SimObj *devobj)
{
    SimObj *vdev = devobj->vdev;
    SimCtx *ctx = devobj->ctx;

    if (devobj->pasids) {
        GHashTableIter it;
        gpointer value;

        g_hash_table_iter_init(&it, devobj->pasids);
        while (g_hash_table_iter_next(&it, NULL, &value)) {
            unref(value);
        }
        g_clear_pointer(&devobj->pasids, g_hash_table_destroy);
    }
    if (!vdev) {
        return;
    }
    /* iommufd_object_tombstone_user(): destroyed, its id kept out of use */
    if (!ctx->tombstones) {
        ctx->tombstones = g_hash_table_new(g_direct_hash, g_direct_equal);
    }
    g_hash_table_add(ctx->tombstones, GUINT_TO_POINTER(vdev->id));
    trace_vfi_sim_viommu(vdev->id, "vdevice tombstone", devobj->id, 0);
    sim_obj_unref_all(vdev);
    sim_obj_free(vdev);
}

/* ---- nested HWPTs ----------------------------------------------------------- */

/* __mock_domain_alloc_nested(): the selftest data sets the mock IOTLB. */
static int nested_data(const struct iommu_hwpt_alloc *cmd, uint32_t *iotlb)
{
    VfiSimHwptSelftest d = { 0 };
    const uint8_t *user = (const void *)(uintptr_t)cmd->data_uptr;

    if (cmd->data_type != VFI_SIM_HWPT_DATA_SELFTEST) {
        return refuse("IOMMU_HWPT_ALLOC", EOPNOTSUPP, "not the selftest data type");
    }
    if (!user) {
        return -EFAULT;
    }
    if (cmd->data_len < sizeof(d.iotlb)) {
        return refuse("IOMMU_HWPT_ALLOC", EINVAL, "selftest data too short");
    }
    for (uint32_t i = sizeof(d); i < cmd->data_len; i++) {
        if (user[i]) {
            return refuse("IOMMU_HWPT_ALLOC", E2BIG, "selftest data: trailing bytes");
        }
    }
    memcpy(&d, user, MIN(cmd->data_len, sizeof(d)));
    *iotlb = d.iotlb;
    return 0;
}

/* The checks of iommufd_hwpt_nested_alloc() / iommufd_viommu_alloc_hwpt_nested(). */
static int nested_check(const struct iommu_hwpt_alloc *cmd, SimObj *devobj, SimObj *pt,
                        SimObj **parent)
{
    SimIommu *iommu = devobj->dev->iommu;

    if (pt->type == SIM_OBJ_VIOMMU && pt->iommu != iommu) {
        return refuse("IOMMU_HWPT_ALLOC", EINVAL, "vIOMMU of another IOMMU instance");
    }
    if (pt->type != SIM_OBJ_VIOMMU && (pt->type != SIM_OBJ_HWPT || pt->nested)) {
        return refuse("IOMMU_HWPT_ALLOC", EINVAL, "pt_id is no IOAS, paging HWPT or vIOMMU");
    }
    if ((cmd->flags & ~(uint32_t)(IOMMU_HWPT_FAULT_ID_VALID | IOMMU_HWPT_ALLOC_PASID)) ||
        !cmd->data_len || !iommu->cfg.nesting) {
        return refuse("IOMMU_HWPT_ALLOC", EOPNOTSUPP, "flags, no data, or no nesting");
    }
    *parent = pt->type == SIM_OBJ_VIOMMU ? pt->parent : pt;
    if (pt->type == SIM_OBJ_HWPT &&
        (pt->auto_domain || !(pt->alloc_flags & IOMMU_HWPT_ALLOC_NEST_PARENT) ||
         pt->iommu != iommu)) {
        return refuse("IOMMU_HWPT_ALLOC", EINVAL, "the parent is not a nest parent "
                      "of the device's IOMMU");
    }
    return 0;
}

int sim_hwpt_alloc_nested(SimCtx *ctx, struct iommu_hwpt_alloc *cmd, SimObj *devobj,
                          SimObj *pt)
{
    SimObj *parent = NULL, *hwpt;
    uint32_t iotlb = 0;
    int rc = nested_check(cmd, devobj, pt, &parent);

    if (!rc) {
        rc = nested_data(cmd, &iotlb);
    }
    if (!rc && (cmd->flags & IOMMU_HWPT_FAULT_ID_VALID)) {
        rc = sim_hwpt_check_fault(ctx, cmd->fault_id);
    }
    if (rc) {
        return rc;
    }
    hwpt = sim_obj_new(ctx, SIM_OBJ_HWPT);
    hwpt->nested = true;
    hwpt->ioas = parent->ioas;
    hwpt->iommu = devobj->dev->iommu;
    hwpt->alloc_flags = cmd->flags;
    hwpt->dirty = sim_dirty_new();
    hwpt->parent = parent;
    if (pt->type == SIM_OBJ_VIOMMU) {
        hwpt->viommu = pt;
        ref(pt);
    } else {
        ref(parent);
    }
    for (unsigned i = 0; i < SIM_MOCK_CACHE_NUM; i++) {
        hwpt->cache[i] = iotlb;
    }
    if (cmd->flags & IOMMU_HWPT_FAULT_ID_VALID) {
        sim_hwpt_set_fault(hwpt, cmd->fault_id);
    }
    cmd->out_hwpt_id = hwpt->id;
    trace_vfi_sim_viommu(hwpt->id, "nested hwpt", pt->id, cmd->data_type);
    return 0;
}

int sim_hwpt_check_fault(SimCtx *ctx, uint32_t fault_id)
{
    return get(ctx, fault_id, SIM_OBJ_FAULT) ? 0 :
           refuse("IOMMU_HWPT_ALLOC", ENOENT, "fault_id is not a fault queue");
}

void sim_hwpt_set_fault(SimObj *hwpt, uint32_t fault_id)
{
    hwpt->fault = get(hwpt->ctx, fault_id, SIM_OBJ_FAULT);
    ref(hwpt->fault);
}

/* ---- invalidation ------------------------------------------------------------ */

/* The @i-th request of the user array into @out (@size bytes, zero
 * extended), as iommu_copy_struct_from_user_array(): EINVAL below @min,
 * E2BIG for non-zero bytes beyond @size. */
static int copy_entry(const struct iommu_hwpt_invalidate *cmd, uint32_t i, void *out,
                      size_t size, size_t min)
{
    const uint8_t *e = (const uint8_t *)(uintptr_t)cmd->data_uptr + (size_t)i * cmd->entry_len;

    if (cmd->entry_len < min) {
        return -EINVAL;
    }
    for (size_t b = size; b < cmd->entry_len; b++) {
        if (e[b]) {
            return -E2BIG;
        }
    }
    memset(out, 0, size);
    memcpy(out, e, MIN(size, cmd->entry_len));
    return 0;
}

/* mock_domain_cache_invalidate_user(): stops at the first bad request. */
static int invalidate_nested(SimObj *hwpt, struct iommu_hwpt_invalidate *cmd, uint32_t *done)
{
    VfiSimInvalidateSelftest inv;

    if (cmd->data_type != VFI_SIM_HWPT_INVALIDATE_DATA_SELFTEST) {
        return -EINVAL;
    }
    for (uint32_t i = 0; i < cmd->entry_num; i++, (*done)++) {
        int rc = copy_entry(cmd, i, &inv, sizeof(inv), sizeof(inv));

        if (rc) {
            return rc;
        }
        if (inv.flags & ~VFI_SIM_INVALIDATE_FLAG_ALL) {
            return -EOPNOTSUPP;
        }
        if (inv.iotlb_id >= SIM_MOCK_CACHE_NUM) {
            return -EINVAL;
        }
        for (unsigned j = 0; j < SIM_MOCK_CACHE_NUM; j++) {
            if ((inv.flags & VFI_SIM_INVALIDATE_FLAG_ALL) || j == inv.iotlb_id) {
                hwpt->cache[j] = 0;
            }
        }
    }
    return 0;
}

/* mock_viommu_cache_invalidate(): the whole array is read first (a bad
 * entry length consumes nothing), then the requests in order. */
static int invalidate_viommu(SimObj *viommu, struct iommu_hwpt_invalidate *cmd,
                             uint32_t *done)
{
    VfiSimViommuInvalidateSelftest inv;

    if (cmd->data_type != VFI_SIM_VIOMMU_INVALIDATE_DATA_SELFTEST) {
        return -EINVAL;
    }
    for (uint32_t i = 0; i < cmd->entry_num; i++) {
        int rc = copy_entry(cmd, i, &inv, sizeof(inv), 0);

        if (rc) {
            return rc;
        }
    }
    for (uint32_t i = 0; i < cmd->entry_num; i++, (*done)++) {
        SimObj *vdev;

        copy_entry(cmd, i, &inv, sizeof(inv), 0);
        if (inv.flags & ~VFI_SIM_INVALIDATE_FLAG_ALL) {
            return -EOPNOTSUPP;
        }
        vdev = inv.cache_id < SIM_MOCK_CACHE_NUM ?
               vdevice_by_virt(viommu->ctx, viommu, inv.vdev_id) : NULL;
        if (!vdev) {
            return -EINVAL;     /* cache_id beyond the cache, or no such vDEVICE */
        }
        for (unsigned j = 0; j < SIM_MOCK_CACHE_NUM; j++) {
            if ((inv.flags & VFI_SIM_INVALIDATE_FLAG_ALL) || j == inv.cache_id) {
                vdev->cache[j] = 0;
            }
        }
    }
    return 0;
}

#if HAVE_IOMMU_HWPT_INVALIDATE
int sim_ioctl_hwpt_invalidate(SimCtx *ctx, void *arg)
{
    struct iommu_hwpt_invalidate *cmd = arg;
    SimObj *obj;
    uint32_t done = 0;
    int rc;

    if (cmd->__reserved) {
        rc = refuse("IOMMU_HWPT_INVALIDATE", EOPNOTSUPP, "reserved");
    } else if (cmd->entry_num && (!cmd->data_uptr || !cmd->entry_len ||
                                  cmd->entry_len > SIM_PAGE_SIZE)) {
        rc = refuse("IOMMU_HWPT_INVALIDATE", EINVAL, "no array, or entry_len 0 or > 4096");
    } else if (!(obj = sim_ctx_lookup(ctx, cmd->hwpt_id))) {
        rc = refuse("IOMMU_HWPT_INVALIDATE", ENOENT, "no such object");
    } else if (obj->type == SIM_OBJ_HWPT && obj->nested) {
        rc = invalidate_nested(obj, cmd, &done);
    } else if (obj->type == SIM_OBJ_VIOMMU) {
        rc = invalidate_viommu(obj, cmd, &done);
    } else {
        rc = refuse("IOMMU_HWPT_INVALIDATE", EINVAL, "neither a nested HWPT nor a vIOMMU");
    }
    trace_vfi_sim_invalidate(cmd->hwpt_id, cmd->entry_num, done, -rc);
    /* written back in every case (the dispatcher copies it out) */
    cmd->entry_num = done;
    return rc;
}
#endif

/* ---- attach and PASID ------------------------------------------------------- */

static bool pasid_compat(const SimObj *hwpt)
{
    return IOMMU_HWPT_ALLOC_PASID && (hwpt->alloc_flags & IOMMU_HWPT_ALLOC_PASID);
}

int sim_attach_nested_check(SimObj *devobj, SimObj *hwpt)
{
    SimObj *vdev = devobj->vdev;

    /* iommufd_hwpt_pasid_compat(): PASIDs attached need a PASID-capable HWPT */
    if (!pasid_compat(hwpt) && devobj->pasids && g_hash_table_size(devobj->pasids)) {
        return refuse("VFIO_DEVICE_ATTACH_IOMMUFD_PT", EINVAL,
                      "PASIDs attached, HWPT without IOMMU_HWPT_ALLOC_PASID");
    }
    /* mock_domain_nop_attach(): a vIOMMU's nested domain needs the device's
     * virtual id in that vIOMMU (iommufd_viommu_get_vdev_id()) */
    if (hwpt->viommu && (!vdev || vdev->viommu != hwpt->viommu)) {
        return refuse("VFIO_DEVICE_ATTACH_IOMMUFD_PT", ENOENT,
                      "no vDEVICE of the device in the nested HWPT's vIOMMU");
    }
    devobj->event_viommu = hwpt->viommu;
    devobj->event_virt_id = hwpt->viommu ? vdev->virt_id : 0;
    return 0;
}

static int pasid_check(SimObj *devobj, uint32_t pasid, SimObj *pt)
{
    SimObj *main_pt = devobj->attached;
    uint8_t width = devobj->dev->max_pasid_log2;

    if (pt->type != SIM_OBJ_HWPT) {
        /* iommufd_device_auto_get_domain(): the auto domain it finds or
         * makes is allocated without IOMMU_HWPT_ALLOC_PASID, so the PASID
         * compatibility check refuses it */
        return refuse("VFIO_DEVICE_ATTACH_PASID", EINVAL, "an IOAS: its auto domain takes no PASID");
    }
    if (pt->iommu != devobj->dev->iommu || pasid == 0) {
        return refuse("VFIO_DEVICE_ATTACH_PASID", EINVAL, "another IOMMU, or PASID 0");
    }
    if (!pasid_compat(pt) || (main_pt && !pasid_compat(main_pt))) {
        return refuse("VFIO_DEVICE_ATTACH_PASID", EINVAL,
                      "HWPT (or the device's own) without IOMMU_HWPT_ALLOC_PASID");
    }
    /* iommu_attach_device_pasid(): only a device with PASIDs checks the
     * width (one without has nothing to program: the attach succeeds) */
    if (width && (pasid >> width)) {
        return refuse("VFIO_DEVICE_ATTACH_PASID", EINVAL, "PASID beyond the device's width");
    }
    return 0;
}

int sim_pasid_attach(SimObj *devobj, uint32_t pasid, SimObj *pt, uint32_t *pt_id)
{
    SimObj *old;
    int rc = pasid_check(devobj, pasid, pt);

    if (rc) {
        return rc;
    }
    if (!devobj->pasids) {
        devobj->pasids = g_hash_table_new(g_direct_hash, g_direct_equal);
    }
    old = g_hash_table_lookup(devobj->pasids, GUINT_TO_POINTER(pasid));
    ref(pt);
    unref(old);
    g_hash_table_insert(devobj->pasids, GUINT_TO_POINTER(pasid), pt);
    trace_vfi_sim_pasid(devobj->dev->name, pasid, pt->id, old ? old->id : 0);
    *pt_id = pt->id;
    return 0;
}

void sim_pasid_detach(SimObj *devobj, uint32_t pasid)
{
    SimObj *old = devobj->pasids ?
                  g_hash_table_lookup(devobj->pasids, GUINT_TO_POINTER(pasid)) : NULL;

    /* vfio_iommufd_physical_pasid_detach_ioas(): nothing attached, nothing done */
    if (!old) {
        return;
    }
    unref(old);
    g_hash_table_remove(devobj->pasids, GUINT_TO_POINTER(pasid));
    trace_vfi_sim_pasid(devobj->dev->name, pasid, 0, old->id);
}

/* The HWPT PASID @pasid of device @name is attached to, or NULL. */
static SimObj *pasid_hwpt(const VfiSim *sim, const char *name, uint32_t pasid)
{
    SimDevice *dev = sim_find_device(sim, name);
    SimObj *devobj = dev && dev->bound ? dev->bound->obj : NULL;

    return devobj && devobj->pasids && pasid ?
           g_hash_table_lookup(devobj->pasids, GUINT_TO_POINTER(pasid)) : NULL;
}

uint32_t vfi_sim_device_pasid_pt(const VfiSim *sim, const char *name, uint32_t pasid)
{
    SIM_LOCKED(sim);
    SimObj *hwpt = pasid_hwpt(sim, name, pasid);

    return hwpt ? hwpt->id : 0;
}

/* A PASID DMA refused: the reason, nothing marked. */
static bool pasid_dma_fault(const char *name, uint32_t pasid, uint64_t iova, uint64_t len,
                            const char *why, GError **errp)
{
    trace_vfi_sim_pasid_dma(name ? name : "(null)", pasid, iova, len, 0, why);
    g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                "DMA write of device %s PASID %u to 0x%" G_GINT64_MODIFIER "x+0x%"
                G_GINT64_MODIFIER "x: %s", name ? name : "(null)", pasid, iova, len, why);
    return false;
}

bool vfi_sim_dma_write_pasid(VfiSim *sim, const char *name, uint32_t pasid, uint64_t iova,
                             uint64_t len, GError **errp)
{
    SIM_LOCKED(sim);
    SimObj *pt = pasid_hwpt(sim, name, pasid), *hwpt;
    uint64_t last;

    if (!sim_find_device(sim, name)) {
        return pasid_dma_fault(name, pasid, iova, len, "unknown device", errp);
    }
    if (!len || __builtin_add_overflow(iova, len - 1, &last)) {
        return pasid_dma_fault(name, pasid, iova, len, "bad IOVA range", errp);
    }
    if (!pt) {
        /* nothing attached at the PASID: the IOMMU blocks it */
        return pasid_dma_fault(name, pasid, iova, len, "IOMMU fault (nothing attached at "
                               "the PASID)", errp);
    }
    /* a nested HWPT's stage 1 is the identity in the model: its parent's
     * stage 2 translates and takes the dirty bits, as for the RID */
    hwpt = pt->nested ? pt->parent : pt;
    if (!sim_ioas_covers(hwpt->ioas, iova, len, true) ||
        sim_dmabuf_revoked_in(sim, hwpt->ioas, iova, len)) {
        return pasid_dma_fault(name, pasid, iova, len, "IOMMU fault (not mapped writeable)",
                               errp);
    }
    if (hwpt->dirty_enabled) {
        sim_hwpt_mark(hwpt, iova, len);
    }
    trace_vfi_sim_pasid_dma(name, pasid, iova, len, hwpt->id,
                            hwpt->dirty_enabled ? "dirty marked" : "not tracked");
    return true;
}

/* ---- mmap of a vIOMMU window ---------------------------------------------- */

/* iommufd_fops_mmap(): only the exact window, its exact length; the mapping
 * holds a reference on the vIOMMU (and on the context). The model maps two
 * anonymous shared pages, the first word the data's in_data, as the mock's
 * loopback page. */
int sim_window_mmap(SimCtx *ctx, size_t len, uint64_t offset, void **addr)
{
    GHashTableIter it;
    gpointer value;
    SimObj *viommu = NULL;
    void *p;

    g_hash_table_iter_init(&it, ctx->objects);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        SimObj *o = value;

        if (o->type == SIM_OBJ_VIOMMU && o->has_window &&
            ((uint64_t)o->id << SIM_PAGE_SHIFT) == offset) {
            viommu = o;
        }
    }
    if (len & (SIM_PAGE_SIZE - 1)) {
        return refuse("mmap(iommufd)", EINVAL, "length not page aligned");
    }
    if (!viommu || len != 2 * SIM_PAGE_SIZE) {
        return refuse("mmap(iommufd)", ENXIO, "not a window, or not its length");
    }
    p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        return -ENOMEM;
    }
    memcpy(p, &viommu->window_word, sizeof(viommu->window_word));
    ref(viommu);
    ctx->queue_fds++;
    g_hash_table_insert(ctx->sim->windows, p, viommu);
    *addr = p;
    trace_vfi_sim_viommu(viommu->id, "window mapped", 0, 0);
    return 0;
}

int sim_window_munmap(VfiSim *sim, void *addr, size_t len)
{
    SimObj *viommu = g_hash_table_lookup(sim->windows, addr);
    SimCtx *ctx;

    if (!viommu || len != 2 * SIM_PAGE_SIZE) {
        return refuse("munmap(iommufd window)", EINVAL, "not a mapped window");
    }
    ctx = viommu->ctx;
    g_hash_table_remove(sim->windows, addr);
    munmap(addr, len);
    unref(viommu);
    trace_vfi_sim_viommu(viommu->id, "window unmapped", 0, 0);
    ctx->queue_fds--;
    sim_ctx_maybe_free(ctx);
    return 0;
}

/* ---- controls (sim.h) ---------------------------------------------------------- */

bool vfi_sim_set_iommu_nesting(VfiSim *sim, const char *name, bool on, GError **errp)
{
    SIM_LOCKED(sim);
    SimIommu *iommu = sim_find_iommu(sim, name);

    if (!iommu) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "no IOMMU instance %s in the model", name ? name : "(null)");
        return false;
    }
    iommu->cfg.nesting = on;
    trace_vfi_sim_viommu(0, on ? "nesting on" : "nesting off", iommu->index, 0);
    return true;
}

/* The mock cache entry @index of object @id (of @type) of @iommufd. */
static bool cache_entry(const VfiSim *sim, int iommufd, uint32_t id, SimObjType type,
                        unsigned index, uint32_t *value, GError **errp)
{
    SIM_LOCKED(sim);
    SimCtx *ctx = sim_lookup_iommufd((VfiSim *)sim, iommufd);
    SimObj *obj = ctx ? get(ctx, id, type) : NULL;

    if (!obj || (type == SIM_OBJ_HWPT && !obj->nested) || index >= SIM_MOCK_CACHE_NUM) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "no %s %u on iommufd %d, or entry %u beyond %u",
                    type == SIM_OBJ_HWPT ? "nested HWPT" : "vDEVICE", id, iommufd, index,
                    SIM_MOCK_CACHE_NUM);
        return false;
    }
    *value = obj->cache[index];
    return true;
}

bool vfi_sim_nested_iotlb(const VfiSim *sim, int iommufd, uint32_t hwpt_id, unsigned index,
                          uint32_t *value, GError **errp)
{
    return cache_entry(sim, iommufd, hwpt_id, SIM_OBJ_HWPT, index, value, errp);
}

bool vfi_sim_vdevice_cache(const VfiSim *sim, int iommufd, uint32_t vdevice_id,
                           unsigned index, uint32_t *value, GError **errp)
{
    return cache_entry(sim, iommufd, vdevice_id, SIM_OBJ_VDEVICE, index, value, errp);
}
