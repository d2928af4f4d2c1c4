/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: an address space with a vIOMMU (include/vfio-iommufd/
 * as-viommu.h). The address space owns the vIOMMUs (one per nest parent
 * and IOMMU instance), the vDEVICEs (one per device) and the nested HWPTs
 * (each with the device it was made for) in three lists; which HWPT a
 * device is on is its container record's (stage1.c). A record whose device
 * left while its destroy failed stays without a device ("orphan"), to be
 * destroyed again at the address space's free.
 */
#include "config.h"
#include "vfio-iommufd/as-viommu.h"
#include "address-space-internal.h"
#include "container/container-internal.h"
#include "container/container-pasid.h"
#include "as-viommu-internal.h"
#include "trace.h"

typedef struct AsViommu {
    VfiViommu *viommu;
    uint32_t parent_id;       /* its nest-parent HWPT */
    char *instance;           /* the IOMMU instance (NULL: unknown) */
    uint32_t type;
} AsViommu;

typedef struct AsVdev {
    VfiDevice *dev;           /* NULL: an orphan */
    AsViommu *vi;             /* the vIOMMU the device uses */
    VfiVdevice *vdev;         /* NULL until vfi_address_space_alloc_vdevice() */
} AsVdev;

typedef struct AsNested {
    VfiNestedHwpt *hwpt;
    VfiDevice *owner;         /* the device it was made for; NULL: an orphan */
    uint32_t parent_id;
    AsViommu *vi;             /* made on it, NULL: on the parent */
    uint32_t flags;           /* its IOMMU_HWPT_ALLOC flags */
    uint32_t fault_id;        /* the fault queue it names, 0: none */
} AsNested;

typedef struct AsVeventq {
    VfiVeventq *q;
    AsViommu *vi;             /* its vIOMMU: the queue goes just before it */
} AsVeventq;

typedef struct AsFaultq {
    VfiFaultq *q;
    VfiDevice *owner;         /* the device it was made for; NULL: an orphan */
} AsFaultq;

struct VfiAsViommus {
    GPtrArray *viommus;       /* AsViommu *, owned */
    GPtrArray *vdevs;         /* AsVdev *, owned */
    GPtrArray *nested;        /* AsNested *, owned */
    GPtrArray *veventqs;      /* AsVeventq *, owned */
    GPtrArray *faultqs;       /* AsFaultq *, owned */
};

static struct VfiAsViommus *state(VfiAddressSpace *as)
{
    if (!as->nest) {
        as->nest = g_new0(struct VfiAsViommus, 1);
        as->nest->viommus = g_ptr_array_new_with_free_func(g_free);
        as->nest->vdevs = g_ptr_array_new_with_free_func(g_free);
        as->nest->nested = g_ptr_array_new_with_free_func(g_free);
        as->nest->veventqs = g_ptr_array_new_with_free_func(g_free);
        as->nest->faultqs = g_ptr_array_new_with_free_func(g_free);
    }
    return as->nest;
}

/* @dev's record in a container of @as, or NULL (the lookup of
 * vfi_as_device(), which address-space.c holds: this file is called by it,
 * never calls it). */
static VfiContainerDevice *as_dev(const VfiAddressSpace *as, const VfiDevice *dev)
{
    VfiContainerDevice *cd = vfi_container_device_state(dev);

    return as && cd && cd->container && cd->container->as == as ? cd : NULL;
}

/* @dev's record in @as, on a nest parent; NULL with the error otherwise. */
static VfiContainerDevice *nest_device(VfiAddressSpace *as, VfiDevice *dev, const char *what,
                                       GError **errp)
{
    VfiContainerDevice *cd = as_dev(as, dev);

    if (!as || !dev) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT, "%s: %s not given", what,
                    !as ? "address space" : "device");
        return NULL;
    }
    if (!cd) {
        trace_vfi_as_viommu_refused(as->id, vfi_device_get_display_name(dev),
                                    "in no container of this address space");
        g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                    "%s: device %s is in no container of address space %u", what,
                    vfi_device_get_display_name(dev), as->id);
        return NULL;
    }
    if ((!cd->hwpt || !(cd->hwpt->flags & IOMMU_HWPT_ALLOC_NEST_PARENT))) {
        trace_vfi_as_viommu_refused(as->id, vfi_device_get_display_name(dev),
                                    "no nest parent");
        g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                    "%s: device %s of address space %u (ioas %u hwpt %u) has no nest-parent "
                    "HWPT: attach it with VfiAttachOptions.nest_parent or set nesting on the "
                    "address space", what, vfi_device_get_display_name(dev), as->id,
                    cd->container->ioas_id, cd->hwpt ? cd->hwpt->id : 0);
        return NULL;
    }
    return cd;
}

static AsVdev *find_vdev(VfiAddressSpace *as, const VfiDevice *dev)
{
    GPtrArray *a = state(as)->vdevs;

    for (guint i = 0; i < a->len; i++) {
        AsVdev *v = g_ptr_array_index(a, i);

        if (v->dev == dev) {
            return v;
        }
    }
    return NULL;
}

static AsViommu *find_viommu(VfiAddressSpace *as, uint32_t parent_id, const char *instance)
{
    GPtrArray *a = state(as)->viommus;

    for (guint i = 0; i < a->len; i++) {
        AsViommu *vi = g_ptr_array_index(a, i);

        if (vi->parent_id == parent_id && g_strcmp0(vi->instance, instance) == 0) {
            return vi;
        }
    }
    return NULL;
}

static AsViommu *viommu_new(VfiAddressSpace *as, VfiContainerDevice *cd, uint32_t type,
                            void *data, uint32_t data_len, GError **errp)
{
    VfiViommu *v = vfi_viommu_alloc(cd->container->be, vfi_device_get_devid(cd->dev),
                                    cd->hwpt->id, type, data, data_len, errp);
    AsViommu *vi;

    if (!v) {
        return NULL;
    }
    vi = g_new0(AsViommu, 1);
    vi->viommu = v;
    vi->parent_id = cd->hwpt->id;
    vi->instance = g_strdup(vfi_device_get_iommu_instance(cd->dev));
    vi->type = type;
    g_ptr_array_add(state(as)->viommus, vi);
    trace_vfi_as_viommu(as->id, vfi_device_get_display_name(cd->dev), "new vIOMMU",
                        vfi_viommu_get_id(v));
    return vi;
}

VfiViommu *vfi_address_space_get_viommu(VfiAddressSpace *as, VfiDevice *dev, uint32_t type,
                                        void *data, uint32_t data_len, GError **errp)
{
    VFI_LOCK_GUARD(vfi_as_lock(as));
    VfiContainerDevice *cd = nest_device(as, dev, "get vIOMMU", errp);
    AsVdev *v;
    AsViommu *vi;

    if (!cd) {
        return NULL;
    }
    if ((v = find_vdev(as, dev))) {
        vi = v->vi;
    } else {
        vi = find_viommu(as, cd->hwpt->id, vfi_device_get_iommu_instance(dev));
    }
    if (vi && vi->type != type) {
        trace_vfi_as_viommu_refused(as->id, vfi_device_get_display_name(dev), "another type");
        g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                    "get vIOMMU: device %s: the vIOMMU %u of its nest parent (hwpt %u) has "
                    "type %u, not %u", vfi_device_get_display_name(dev),
                    vfi_viommu_get_id(vi->viommu), vi->parent_id, vi->type, type);
        return NULL;
    }
    if (!vi && !(vi = viommu_new(as, cd, type, data, data_len, errp))) {
        return NULL;
    }
    if (!v) {
        v = g_new0(AsVdev, 1);
        v->dev = dev;
        v->vi = vi;
        g_ptr_array_add(state(as)->vdevs, v);
    }
    trace_vfi_as_viommu(as->id, vfi_device_get_display_name(dev), "uses vIOMMU",
                        vfi_viommu_get_id(vi->viommu));
    return vi->viommu;
}

VfiVdevice *vfi_address_space_alloc_vdevice(VfiAddressSpace *as, VfiDevice *dev,
                                            uint64_t virt_id, GError **errp)
{
    VFI_LOCK_GUARD(vfi_as_lock(as));
    AsVdev *v;

    if (!nest_device(as, dev, "alloc vDEVICE", errp)) {
        return NULL;
    }
    v = find_vdev(as, dev);
    if (!v || v->vdev) {
        trace_vfi_as_viommu_refused(as->id, vfi_device_get_display_name(dev),
                                    v ? "vDEVICE exists" : "no vIOMMU yet");
        g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                    "alloc vDEVICE: device %s of address space %u %s",
                    vfi_device_get_display_name(dev), as->id,
                    v ? "has its vDEVICE already" :
                    "has no vIOMMU (vfi_address_space_get_viommu() first)");
        return NULL;
    }
    v->vdev = vfi_vdevice_alloc(v->vi->viommu, vfi_device_get_devid(dev), virt_id, errp);
    if (v->vdev) {
        trace_vfi_as_viommu(as->id, vfi_device_get_display_name(dev), "new vDEVICE",
                            vfi_vdevice_get_id(v->vdev));
    }
    return v->vdev;
}

VfiNestedHwpt *vfi_address_space_alloc_nested_hwpt(VfiAddressSpace *as, VfiDevice *dev,
                                                   bool on_viommu, uint32_t flags,
                                                   uint32_t fault_id, uint32_t data_type,
                                                   const void *data, uint32_t data_len,
                                                   GError **errp)
{
    VFI_LOCK_GUARD(vfi_as_lock(as));
    VfiContainerDevice *cd = nest_device(as, dev, "alloc nested HWPT", errp);
    AsVdev *v = cd ? find_vdev(as, dev) : NULL;
    VfiNestedHwpt *h;
    AsNested *n;

    if (!cd) {
        return NULL;
    }
    if (on_viommu && !v) {
        trace_vfi_as_viommu_refused(as->id, vfi_device_get_display_name(dev), "no vIOMMU yet");
        g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                    "alloc nested HWPT: device %s of address space %u has no vIOMMU "
                    "(vfi_address_space_get_viommu() first)", vfi_device_get_display_name(dev),
                    as->id);
        return NULL;
    }
    h = vfi_nested_hwpt_alloc(cd->container->be, vfi_device_get_devid(dev),
                              on_viommu ? vfi_viommu_get_id(v->vi->viommu) : cd->hwpt->id,
                              flags, fault_id, data_type, data, data_len, errp);
    if (!h) {
        return NULL;
    }
    n = g_new0(AsNested, 1);
    *n = (AsNested){ .hwpt = h, .owner = dev, .parent_id = cd->hwpt->id,
                     .vi = on_viommu ? v->vi : NULL, .flags = flags,
                     .fault_id = flags & IOMMU_HWPT_FAULT_ID_VALID ? fault_id : 0 };
    g_ptr_array_add(state(as)->nested, n);
    trace_vfi_as_viommu(as->id, vfi_device_get_display_name(dev), "new nested HWPT",
                        vfi_nested_hwpt_get_id(h));
    return h;
}

static AsNested *find_nested(VfiAddressSpace *as, const VfiNestedHwpt *h)
{
    GPtrArray *a = state(as)->nested;

    for (guint i = 0; i < a->len; i++) {
        AsNested *n = g_ptr_array_index(a, i);

        if (n->hwpt == h) {
            return n;
        }
    }
    return NULL;
}

/* @n may take @cd's device: same nest parent, and a vIOMMU's HWPT only for
 * a device using that vIOMMU. */
static bool check_nested_fits(VfiAddressSpace *as, VfiContainerDevice *cd, const AsNested *n,
                              const char *what, GError **errp)
{
    AsVdev *v = find_vdev(as, cd->dev);
    const char *why = n->parent_id != cd->hwpt->id ? "of another nest parent" :
                      n->vi && (!v || v->vi != n->vi) ? "of another vIOMMU" : NULL;

    if (why) {
        trace_vfi_as_viommu_refused(as->id, vfi_device_get_display_name(cd->dev), why);
        g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                    "%s: nested HWPT %u (nest parent hwpt %u) is %s than device %s's "
                    "(nest parent hwpt %u)", what, vfi_nested_hwpt_get_id(n->hwpt), n->parent_id,
                    why, vfi_device_get_display_name(cd->dev), cd->hwpt->id);
        return false;
    }
    return true;
}

bool vfi_address_space_set_device_nested(VfiAddressSpace *as, VfiDevice *dev,
                                         VfiNestedHwpt *hwpt, GError **errp)
{
    VFI_LOCK_GUARD(vfi_as_lock(as));
    VfiContainerDevice *cd = nest_device(as, dev, "set nested", errp);
    AsNested *n;

    if (!cd) {
        return false;
    }
    if (!hwpt) {
        return vfi_container_device_set_stage1(cd, 0, errp);
    }
    if (!(n = find_nested(as, hwpt))) {
        trace_vfi_as_viommu_refused(as->id, vfi_device_get_display_name(dev),
                                    "nested HWPT not of this address space");
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "set nested: nested HWPT %u was not made by address space %u "
                    "(vfi_address_space_alloc_nested_hwpt())", vfi_nested_hwpt_get_id(hwpt),
                    as->id);
        return false;
    }
    return check_nested_fits(as, cd, n, "set nested", errp) &&
           vfi_container_device_set_stage1(cd, vfi_nested_hwpt_get_id(hwpt), errp);
}

uint32_t vfi_address_space_get_device_nested(VfiAddressSpace *as, const VfiDevice *dev)
{
    VFI_LOCK_GUARD(vfi_as_lock(as));
    VfiContainerDevice *cd = as_dev(as, dev);

    return cd ? vfi_container_device_get_stage1(cd) : 0;
}

uint32_t vfi_as_viommu_pasid_target(VfiAddressSpace *as, VfiContainerDevice *cd,
                                    VfiNestedHwpt *hwpt, GError **errp)
{
    const char *name = vfi_device_get_display_name(cd->dev);
    AsNested *n;

    if (!nest_device(as, cd->dev, "replace_pasid", errp)) {
        return 0;
    }
    if (!(n = find_nested(as, hwpt))) {
        trace_vfi_as_viommu_refused(as->id, name, "nested HWPT not of this address space");
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "replace_pasid: nested HWPT %u was not made by address space %u "
                    "(vfi_address_space_alloc_nested_hwpt())", vfi_nested_hwpt_get_id(hwpt),
                    as->id);
        return 0;
    }
    if (!(n->flags & VFI_HWPT_ALLOC_PASID)) {
        /* iommufd_hwpt_pasid_compat(): the kernel would say EINVAL */
        trace_vfi_as_viommu_refused(as->id, name, "nested HWPT without ALLOC_PASID");
        g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                    "replace_pasid: nested HWPT %u of address space %u was not allocated "
                    "with IOMMU_HWPT_ALLOC_PASID: no PASID may be attached to it",
                    vfi_nested_hwpt_get_id(hwpt), as->id);
        return 0;
    }
    return check_nested_fits(as, cd, n, "replace_pasid", errp) ? vfi_nested_hwpt_get_id(hwpt)
                                                                : 0;
}

/* ---- event and fault queues --------------------------------------------- */

VfiVeventq *vfi_address_space_alloc_veventq(VfiAddressSpace *as, VfiDevice *dev,
                                            uint32_t type, uint32_t depth, uint32_t event_len,
                                            GError **errp)
{
    VFI_LOCK_GUARD(vfi_as_lock(as));
    VfiContainerDevice *cd = nest_device(as, dev, "alloc vEVENTQ", errp);
    AsVdev *v = cd ? find_vdev(as, dev) : NULL;
    AsVeventq *e;
    VfiVeventq *q;

    if (!cd) {
        return NULL;
    }
    if (!v) {
        trace_vfi_as_viommu_refused(as->id, vfi_device_get_display_name(dev),
                                    "vEVENTQ: no vIOMMU yet");
        g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                    "alloc vEVENTQ: device %s of address space %u has no vIOMMU "
                    "(vfi_address_space_get_viommu() first)",
                    vfi_device_get_display_name(dev), as->id);
        return NULL;
    }
    if (!(q = vfi_veventq_alloc(v->vi->viommu, type, depth, event_len, errp))) {
        return NULL;
    }
    e = g_new0(AsVeventq, 1);
    *e = (AsVeventq){ .q = q, .vi = v->vi };
    g_ptr_array_add(state(as)->veventqs, e);
    trace_vfi_as_viommu(as->id, vfi_device_get_display_name(dev), "new vEVENTQ",
                        vfi_veventq_get_id(q));
    return q;
}

VfiFaultq *vfi_address_space_alloc_faultq(VfiAddressSpace *as, VfiDevice *dev, GError **errp)
{
    VFI_LOCK_GUARD(vfi_as_lock(as));
    VfiContainerDevice *cd = nest_device(as, dev, "alloc fault queue", errp);
    AsFaultq *r;
    VfiFaultq *q;

    if (!cd || !(q = vfi_faultq_alloc(cd->container->be, errp))) {
        return NULL;
    }
    r = g_new0(AsFaultq, 1);
    *r = (AsFaultq){ .q = q, .owner = dev };
    g_ptr_array_add(state(as)->faultqs, r);
    trace_vfi_as_viommu(as->id, vfi_device_get_display_name(dev), "new fault queue",
                        vfi_faultq_get_id(q));
    return q;
}

/* ---- teardown ---------------------------------------------------------- */

/* A device of @as other than @gone on the nested HWPT @id (its RID or a
 * PASID), or NULL. */
static VfiDevice *other_user(VfiAddressSpace *as, const VfiDevice *gone, uint32_t id)
{
    for (guint i = 0; i < as->containers->len; i++) {
        VfiContainer *c = g_ptr_array_index(as->containers, i);

        for (guint j = 0; j < c->devices->len; j++) {
            VfiDevice *d = g_ptr_array_index(c->devices, j);

            if (d != gone && vfi_container_device_uses_pt(vfi_container_device_state(d), id)) {
                return d;
            }
        }
    }
    return NULL;
}

bool vfi_address_space_free_nested_hwpt(VfiAddressSpace *as, VfiNestedHwpt *hwpt,
                                         GError **errp)
{
    VFI_LOCK_GUARD(vfi_as_lock(as));
    AsNested *n;
    VfiDevice *user;
    guint idx;

    if (!vfi_as_check_given(as, "free nested HWPT", errp)) {
        return false;
    }
    if (!hwpt) {
        return true;
    }
    if (!(n = find_nested(as, hwpt))) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "free nested HWPT: nested HWPT %u was not made by address space %u",
                    vfi_nested_hwpt_get_id(hwpt), as->id);
        return false;
    }
    if ((user = other_user(as, NULL, vfi_nested_hwpt_get_id(hwpt)))) {
        trace_vfi_as_viommu_refused(as->id, vfi_device_get_display_name(user),
                                    "free nested HWPT: a device is on it");
        g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                    "free nested HWPT: device %s is on nested HWPT %u: move it back first "
                    "(vfi_address_space_set_device_nested())",
                    vfi_device_get_display_name(user), vfi_nested_hwpt_get_id(hwpt));
        return false;
    }
    if (!vfi_nested_hwpt_free(hwpt, errp)) {
        return false;
    }
    g_ptr_array_find(as->nest->nested, n, &idx);
    g_ptr_array_remove_index(as->nest->nested, idx);
    trace_vfi_as_viommu(as->id, "-", "nested HWPT freed", 0);
    return true;
}

/* Keep the first error in @first, drop the others (traced). */
static void keep_first(VfiAddressSpace *as, GError **first, GError *err)
{
    trace_vfi_as_viommu_refused(as->id, "-", err->message);
    if (!*first) {
        *first = err;
    } else {
        g_error_free(err);
    }
}

/* Destroy the nested HWPTs of @a that @owner_of (NULL: every one) made and
 * no other device is on; one still used goes to its user. */
static void free_nested(VfiAddressSpace *as, VfiDevice *owner_of, GError **first)
{
    GPtrArray *a = state(as)->nested;

    for (guint i = a->len; i-- > 0;) {
        AsNested *n = g_ptr_array_index(a, i);
        GError *err = NULL;
        VfiDevice *user;

        if (owner_of && n->owner != owner_of) {
            continue;
        }
        if (owner_of && (user = other_user(as, owner_of, vfi_nested_hwpt_get_id(n->hwpt)))) {
            n->owner = user;
            continue;
        }
        if (vfi_nested_hwpt_free(n->hwpt, &err)) {
            g_ptr_array_remove_index(a, i);
        } else {
            n->owner = NULL;
            keep_first(as, first, err);
        }
    }
}

/* Destroy the vDEVICE of @dev (NULL: of every device): its record goes,
 * or stays an orphan when the destroy failed. */
static void free_vdevs(VfiAddressSpace *as, VfiDevice *dev, GError **first)
{
    GPtrArray *a = state(as)->vdevs;

    for (guint i = a->len; i-- > 0;) {
        AsVdev *v = g_ptr_array_index(a, i);
        GError *err = NULL;

        if (dev && v->dev != dev) {
            continue;
        }
        if (vfi_vdevice_free(v->vdev, &err)) {
            g_ptr_array_remove_index(a, i);
        } else {
            v->dev = NULL;
            keep_first(as, first, err);
        }
    }
}

static bool viommu_used(VfiAddressSpace *as, const AsViommu *vi)
{
    struct VfiAsViommus *s = state(as);

    for (guint i = 0; i < s->vdevs->len; i++) {
        if (((AsVdev *)g_ptr_array_index(s->vdevs, i))->vi == vi) {
            return true;
        }
    }
    for (guint i = 0; i < s->nested->len; i++) {
        if (((AsNested *)g_ptr_array_index(s->nested, i))->vi == vi) {
            return true;
        }
    }
    return false;
}

/* Destroy the vEVENTQs of @vi (their fds closed first); false when one
 * stays (its vIOMMU must then stay too). */
static bool free_veventqs(VfiAddressSpace *as, const AsViommu *vi, GError **first)
{
    GPtrArray *a = state(as)->veventqs;
    bool all = true;

    for (guint i = a->len; i-- > 0;) {
        AsVeventq *e = g_ptr_array_index(a, i);
        GError *err = NULL;

        if (e->vi != vi) {
            continue;
        }
        if (vfi_veventq_free(e->q, &err)) {
            g_ptr_array_remove_index(a, i);
        } else {
            keep_first(as, first, err);
            all = false;
        }
    }
    return all;
}

/* Destroy the vIOMMUs no device and no nested HWPT uses any more, each
 * after its vEVENTQs. */
static void free_viommus(VfiAddressSpace *as, GError **first)
{
    GPtrArray *a = state(as)->viommus;

    for (guint i = a->len; i-- > 0;) {
        AsViommu *vi = g_ptr_array_index(a, i);
        GError *err = NULL;

        if (viommu_used(as, vi) || !free_veventqs(as, vi, first)) {
            continue;
        }
        if (vfi_viommu_free(vi->viommu, &err)) {
            g_free(vi->instance);
            g_ptr_array_remove_index(a, i);
        } else {
            keep_first(as, first, err);
        }
    }
}

/* The owner of a nested HWPT of @as other than @gone naming fault queue
 * @id, or NULL (an orphan HWPT names it: @named says so). */
static VfiDevice *fault_user(VfiAddressSpace *as, const VfiDevice *gone, uint32_t id,
                             bool *named)
{
    GPtrArray *a = state(as)->nested;

    *named = false;
    for (guint i = 0; i < a->len; i++) {
        AsNested *n = g_ptr_array_index(a, i);

        if (n->fault_id == id) {
            *named = true;
            if (n->owner && n->owner != gone) {
                return n->owner;
            }
        }
    }
    return NULL;
}

/* Destroy the fault queues @owner_of (NULL: every one) made that no nested
 * HWPT names (after the HWPTs: the kernel's order); one still named goes
 * to the owner of a HWPT naming it. */
static void free_faultqs(VfiAddressSpace *as, VfiDevice *owner_of, GError **first)
{
    GPtrArray *a = state(as)->faultqs;

    for (guint i = a->len; i-- > 0;) {
        AsFaultq *r = g_ptr_array_index(a, i);
        GError *err = NULL;
        VfiDevice *user;
        bool named;

        if (owner_of && r->owner != owner_of) {
            continue;
        }
        user = fault_user(as, owner_of, vfi_faultq_get_id(r->q), &named);
        if (named) {
            /* a HWPT still names it (the kernel: EBUSY): to that HWPT's
             * owner, or kept after a failed HWPT destroy, no ioctl sent */
            if (owner_of) {
                r->owner = user;        /* NULL: kept for the address space's free */
            }
            continue;
        }
        if (vfi_faultq_free(r->q, &err)) {
            g_ptr_array_remove_index(a, i);
        } else {
            r->owner = NULL;
            keep_first(as, first, err);
        }
    }
}

bool vfi_as_viommu_device_gone(VfiAddressSpace *as, VfiDevice *dev, GError **errp)
{
    GError *first = NULL;

    if (!as->nest) {
        return true;
    }
    trace_vfi_as_viommu(as->id, vfi_device_get_display_name(dev), "left: its objects freed", 0);
    free_nested(as, dev, &first);
    free_vdevs(as, dev, &first);
    free_viommus(as, &first);
    free_faultqs(as, dev, &first);
    if (first) {
        g_propagate_prefixed_error(errp, first, "device %s detached, but: ",
                                   vfi_device_get_display_name(dev));
        return false;
    }
    return true;
}

bool vfi_as_viommu_free_all(VfiAddressSpace *as, GError **errp)
{
    GError *first = NULL;

    if (!as->nest) {
        return true;
    }
    free_nested(as, NULL, &first);
    free_vdevs(as, NULL, &first);
    free_viommus(as, &first);
    free_faultqs(as, NULL, &first);
    if (first) {
        g_propagate_error(errp, first);
        return false;
    }
    trace_vfi_as_viommu(as->id, "-", "every vIOMMU object freed", 0);
    return true;
}

unsigned vfi_as_viommu_object_count(const VfiAddressSpace *as)
{
    unsigned n = 0;

    if (!as->nest) {
        return 0;
    }
    for (guint i = 0; i < as->nest->vdevs->len; i++) {
        n += ((AsVdev *)g_ptr_array_index(as->nest->vdevs, i))->vdev != NULL;
    }
    return n + as->nest->viommus->len + as->nest->nested->len + as->nest->veventqs->len +
           as->nest->faultqs->len;
}

void vfi_as_viommu_free_record(VfiAddressSpace *as)
{
    if (!as->nest) {
        return;
    }
    g_ptr_array_free(as->nest->faultqs, true);
    g_ptr_array_free(as->nest->veventqs, true);
    g_ptr_array_free(as->nest->nested, true);
    g_ptr_array_free(as->nest->vdevs, true);
    g_ptr_array_free(as->nest->viommus, true);
    g_clear_pointer(&as->nest, g_free);
}
