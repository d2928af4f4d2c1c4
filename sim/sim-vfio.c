/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd kernel model: VFIO cdev device files.
 *
 * Each open of /dev/vfio/devices/vfioN is a device file with its own bind
 * state. VFIO_DEVICE_BIND_IOMMUFD makes a DEVICE object (physical device)
 * or an ACCESS object (mdev) in the iommufd; until then every other ioctl
 * fails with EINVAL, as the kernel's access check does. ATTACH takes an IOAS
 * id (the kernel auto-domain path for physical devices) or a HWPT id;
 * closing the file unbinds. DMA logging (VFIO_DEVICE_FEATURE_DMA_LOGGING_*)
 * is offered by devices added with dma_logging.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "config.h"
#include "sim-internal.h"
#include "trace.h"

#define ARGSZ_MIN(type, last) (offsetof(type, last) + sizeof(((type *)0)->last))

static int refuse(SimDeviceFile *df, const char *what, int err, const char *why)
{
    trace_vfi_sim_device_refused(df->dev->name, what, err, why);
    return -err;
}

/* ---- attach / detach ---------------------------------------------------- */

/* Drop @devobj's reference on @pt; a kernel-made auto domain dies with its
 * last device. */
static void put_pt(SimObj *pt)
{
    pt->users--;
    if (pt->type == SIM_OBJ_HWPT && pt->auto_domain && !pt->users) {
        trace_vfi_sim_auto_domain_free(pt->id, pt->ioas->id);
        pt->ioas->users--;
        sim_obj_free(pt);
    }
}

/* Move @devobj to @pt (a replace when attached elsewhere). */
static void switch_pt(SimObj *devobj, SimObj *pt)
{
    SimObj *old = devobj->attached;

    trace_vfi_sim_attach(devobj->dev->name, pt->id, old ? old->id : 0);
    pt->users++;
    devobj->attached = pt;
    if (old) {
        put_pt(old);
    }
}

void sim_device_detach(SimObj *devobj)
{
    SimObj *old = devobj->attached;

    if (!old) {
        return;
    }
    devobj->attached = NULL;
    trace_vfi_sim_detach(devobj->dev->name, old->id);
    put_pt(old);
}

/* The kernel auto-domain path: reuse a kernel-made HWPT of the device's
 * IOMMU instance on @ioas (the lowest id), else make one (-EADDRINUSE when
 * the new domain's aperture would leave a mapping out). User-allocated
 * HWPTs are never considered. */
static int auto_domain_for(SimObj *devobj, SimObj *ioas, SimObj **out)
{
    SimCtx *ctx = devobj->ctx;
    SimObj *best = NULL, *hwpt;
    GHashTableIter it;
    gpointer value;

    g_hash_table_iter_init(&it, ctx->objects);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        SimObj *obj = value;

        if (obj->type == SIM_OBJ_HWPT && obj->auto_domain && obj->ioas == ioas &&
            obj->iommu == devobj->dev->iommu && (!best || obj->id < best->id)) {
            best = obj;
        }
    }
    if (best) {
        trace_vfi_sim_auto_domain_reuse(devobj->dev->name, best->id, ioas->id);
        *out = best;
        return 0;
    }
    if (sim_ioas_check_new_domain(ioas)) {
        return -EADDRINUSE;
    }
    hwpt = sim_hwpt_new(ctx, ioas, devobj->dev->iommu, 0, true);
    trace_vfi_sim_auto_domain_new(devobj->dev->name, hwpt->id, ioas->id);
    *out = hwpt;
    return 0;
}

/* An attach of a physical device to an IOAS: its auto domain (*@hwpt).
 * Returns 1 when it is attached there already (*@hwpt set), 0, or -errno. */
static int attach_physical_ioas(SimDeviceFile *df, SimObj *pt, SimObj **hwpt)
{
    SimObj *devobj = df->obj;
    SimObj *cur = devobj->attached;
    int rc;

    if (cur && cur->auto_domain && cur->ioas == pt) {
        *hwpt = cur;
        return 1;
    }
    /* an auto domain is made without IOMMU_HWPT_ALLOC_PASID: the PASID
     * compatibility check refuses it while PASIDs are attached */
    if (devobj->pasids && g_hash_table_size(devobj->pasids)) {
        return refuse(df, "VFIO_DEVICE_ATTACH_IOMMUFD_PT", EINVAL,
                      "PASIDs attached: an auto domain takes none");
    }
    /* The device's reserved regions first, then (for a new auto domain)
     * the domain's aperture: both EADDRINUSE on a conflicting mapping. */
    if (!(cur && cur->ioas == pt) && sim_ioas_check_dev_resv(pt)) {
        return refuse(df, "VFIO_DEVICE_ATTACH_IOMMUFD_PT", EADDRINUSE,
                      "a mapping overlaps the device's reserved region (MSI window)");
    }
    rc = auto_domain_for(devobj, pt, hwpt);
    if (rc) {
        return refuse(df, "VFIO_DEVICE_ATTACH_IOMMUFD_PT", -rc,
                      "a mapping lies outside the new auto domain's aperture");
    }
    return 0;
}

/* An attach of a physical device to HWPT @hwpt. Returns 1 when it is
 * attached there already, 0, or -errno. */
static int attach_physical_hwpt(SimDeviceFile *df, SimObj *hwpt)
{
    SimObj *devobj = df->obj;
    SimIommu *iommu = df->dev->iommu;

    if (hwpt == devobj->attached) {
        return 1;
    }
    if (hwpt->iommu != iommu) {
        return refuse(df, "VFIO_DEVICE_ATTACH_IOMMUFD_PT", EINVAL,
                      "HWPT of another IOMMU instance");
    }
    if ((hwpt->alloc_flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) &&
        !iommu->cfg.dirty_tracking) {
        return refuse(df, "VFIO_DEVICE_ATTACH_IOMMUFD_PT", EINVAL,
                      "dirty-tracking HWPT, IOMMU without the capability");
    }
    /* iopt_table_enforce_dev_resv_regions(), unless the device already
     * reserves them in this IOAS (a replace within one IOAS) */
    if (!(devobj->attached && devobj->attached->ioas == hwpt->ioas) &&
        sim_ioas_check_dev_resv(hwpt->ioas)) {
        return refuse(df, "VFIO_DEVICE_ATTACH_IOMMUFD_PT", EADDRINUSE,
                      "a mapping overlaps the device's reserved region (MSI window)");
    }
    /* nesting and PASID rules (sim-viommu.c) */
    return sim_attach_nested_check(devobj, hwpt);
}

static int attach_physical(SimDeviceFile *df, SimObj *pt, uint32_t *pt_id)
{
    SimObj *hwpt = pt;
    int rc;

    if (pt->type == SIM_OBJ_IOAS) {
        rc = attach_physical_ioas(df, pt, &hwpt);
        if (rc == 1) {
            *pt_id = hwpt->id;
            return 0;
        }
    } else if (pt->type == SIM_OBJ_HWPT) {
        rc = attach_physical_hwpt(df, pt);
        if (rc == 1) {
            return 0;
        }
    } else {
        return refuse(df, "VFIO_DEVICE_ATTACH_IOMMUFD_PT", EINVAL,
                      "pt_id is neither an IOAS nor a HWPT");
    }
    if (rc) {
        return rc;
    }
    switch_pt(df->obj, hwpt);
    *pt_id = hwpt->id;
    return 0;
}

static int attach_emulated(SimDeviceFile *df, SimObj *pt)
{
    if (pt->type != SIM_OBJ_IOAS) {
        /* iommufd_access_attach() looks the id up as an IOAS only */
        return refuse(df, "VFIO_DEVICE_ATTACH_IOMMUFD_PT", ENOENT,
                      "an mdev attaches to an IOAS only");
    }
    if (df->obj->attached != pt) {
        if (sim_ioas_check_new_access(pt)) {
            /* iopt_add_access(): vfio's access pins pages, PAGE_SIZE
             * alignment; a mapping that does not conform is in the way */
            return refuse(df, "VFIO_DEVICE_ATTACH_IOMMUFD_PT", EADDRINUSE,
                          "a mapping is not page aligned");
        }
        switch_pt(df->obj, pt);
    }
    return 0;
}

/*
 * The PASID flags of ATTACH/DETACH (headers of 6.15 and later). Linux 7.3's
 * vfio_df_ioctl_attach_pt()/_detach_pt() refuse other flags with EINVAL and
 * the PASID flag with EOPNOTSUPP for a device without a PASID attach
 * operation (an mdev: vfio-pci devices have one). Returns: 0, or -errno.
 */
static int check_pt_flags(SimDeviceFile *df, const char *what, uint32_t flags,
                          uint32_t pasid_flag)
{
    if (flags & ~pasid_flag) {
        return refuse(df, what, EINVAL, "unknown flags");
    }
    if (flags && !df->dev->iommu) {
        return refuse(df, what, EOPNOTSUPP, "an mdev has no PASID attach");
    }
    return 0;
}

#if HAVE_VFIO_DEVICE_ATTACH_PASID
#define ATTACH_PASID_FLAG VFIO_DEVICE_ATTACH_PASID
#define DETACH_PASID_FLAG VFIO_DEVICE_DETACH_PASID
#else
#define ATTACH_PASID_FLAG 0u        /* 6.12: every flag is EINVAL */
#define DETACH_PASID_FLAG 0u
#endif

/* VFIO_DEVICE_ATTACH_PASID: the struct up to pasid, then sim-viommu.c. */
static int vfio_attach_pasid(SimDeviceFile *df, void *arg)
{
#if HAVE_VFIO_DEVICE_ATTACH_PASID
    struct vfio_device_attach_iommufd_pt *cmd = arg;
    SimObj *pt;

    if (cmd->argsz < ARGSZ_MIN(struct vfio_device_attach_iommufd_pt, pasid)) {
        return refuse(df, "VFIO_DEVICE_ATTACH_PASID", EINVAL, "argsz");
    }
    pt = sim_ctx_lookup(df->ctx, cmd->pt_id);
    if (!pt) {
        return refuse(df, "VFIO_DEVICE_ATTACH_PASID", ENOENT, "no such pt_id");
    }
    return sim_pasid_attach(df->obj, cmd->pasid, pt, &cmd->pt_id);
#else
    (void)df, (void)arg;
    return -EINVAL;
#endif
}

static int vfio_attach(SimDeviceFile *df, void *arg)
{
    struct vfio_device_attach_iommufd_pt *cmd = arg;
    SimObj *pt;
    int rc;

    if (cmd->argsz < ARGSZ_MIN(struct vfio_device_attach_iommufd_pt, pt_id)) {
        return refuse(df, "VFIO_DEVICE_ATTACH_IOMMUFD_PT", EINVAL, "argsz");
    }
    rc = check_pt_flags(df, "VFIO_DEVICE_ATTACH_IOMMUFD_PT", cmd->flags, ATTACH_PASID_FLAG);
    if (rc) {
        return rc;
    }
    if (cmd->flags) {
        return vfio_attach_pasid(df, arg);
    }
    pt = sim_ctx_lookup(df->ctx, cmd->pt_id);
    if (!pt) {
        return refuse(df, "VFIO_DEVICE_ATTACH_IOMMUFD_PT", ENOENT, "no such pt_id");
    }
    if (df->dev->iommu) {
        return attach_physical(df, pt, &cmd->pt_id);
    }
    return attach_emulated(df, pt);
}

static int vfio_detach(SimDeviceFile *df, void *arg)
{
    struct vfio_device_detach_iommufd_pt *cmd = arg;
    int rc;

    if (cmd->argsz < ARGSZ_MIN(struct vfio_device_detach_iommufd_pt, flags)) {
        return refuse(df, "VFIO_DEVICE_DETACH_IOMMUFD_PT", EINVAL, "argsz");
    }
    rc = check_pt_flags(df, "VFIO_DEVICE_DETACH_IOMMUFD_PT", cmd->flags, DETACH_PASID_FLAG);
    if (rc) {
        return rc;
    }
#if HAVE_VFIO_DEVICE_ATTACH_PASID
    if (cmd->flags) {
        if (cmd->argsz < ARGSZ_MIN(struct vfio_device_detach_iommufd_pt, pasid)) {
            return refuse(df, "VFIO_DEVICE_DETACH_PASID", EINVAL, "argsz");
        }
        sim_pasid_detach(df->obj, cmd->pasid);
        return 0;
    }
#endif
    /* detaching a device that is not attached does nothing */
    sim_device_detach(df->obj);
    return 0;
}

/* ---- bind / unbind ------------------------------------------------------ */

static int vfio_bind(SimDeviceFile *df, void *arg)
{
    struct vfio_device_bind_iommufd *cmd = arg;
    SimDevice *dev = df->dev;
    SimCtx *ctx;
    SimObj *obj;

    if (cmd->argsz < ARGSZ_MIN(struct vfio_device_bind_iommufd, out_devid) || cmd->flags ||
        cmd->iommufd < 0) {
        return refuse(df, "VFIO_DEVICE_BIND_IOMMUFD", EINVAL, "argsz, flags or iommufd");
    }
    if (df->ctx) {
        return refuse(df, "VFIO_DEVICE_BIND_IOMMUFD", EINVAL, "already bound");
    }
    if (sim_type1_cdev_bind(df->sim, dev)) {
        return refuse(df, "VFIO_DEVICE_BIND_IOMMUFD", EBUSY, "its IOMMU group is open");
    }
    ctx = sim_lookup_iommufd(df->sim, cmd->iommufd);
    if (!ctx) {
        return refuse(df, "VFIO_DEVICE_BIND_IOMMUFD", EBADF, "not an iommufd");
    }
    if (dev->bound) {
        /* vfio_df_open(): a cdev device can be opened (bound) only once */
        return refuse(df, "VFIO_DEVICE_BIND_IOMMUFD", EINVAL,
                      "device bound through another file");
    }
    obj = sim_obj_new(ctx, dev->iommu ? SIM_OBJ_DEVICE : SIM_OBJ_ACCESS);
    obj->dev = dev;
    df->ctx = ctx;
    df->obj = obj;
    ctx->bound_devices++;
    dev->bound = df;
    cmd->out_devid = obj->id;
    trace_vfi_sim_bind(dev->name, ctx->fd, obj->id);
    return 0;
}

void sim_device_file_unbind(SimDeviceFile *df)
{
    SimCtx *ctx = df->ctx;

    if (!ctx) {
        return;
    }
    trace_vfi_sim_unbind(df->dev->name, df->obj->id);
    sim_device_unbind_nesting(df->obj);
    sim_device_detach(df->obj);
    sim_device_logging_stop(df->dev);
    sim_dmabuf_device_closed(df->sim, df->dev);
    sim_obj_free(df->obj);
    df->obj = NULL;
    df->ctx = NULL;
    df->dev->bound = NULL;
    ctx->bound_devices--;
    sim_ctx_maybe_free(ctx);
}

/* ---- device info -------------------------------------------------------- */

static int vfio_get_info(SimDeviceFile *df, void *arg)
{
    struct vfio_device_info *info = arg;

    if (info->argsz < ARGSZ_MIN(struct vfio_device_info, num_irqs)) {
        return refuse(df, "VFIO_DEVICE_GET_INFO", EINVAL, "argsz");
    }
    /* Linux 6.12 has no "opened as cdev" flag in vfio_device_info */
    info->flags = VFIO_DEVICE_FLAGS_PCI;
    if (df->dev->iommu) {
        info->flags |= VFIO_DEVICE_FLAGS_RESET;
    }
    info->num_regions = VFIO_PCI_NUM_REGIONS;
    info->num_irqs = VFIO_PCI_NUM_IRQS;
    return 0;
}

/* ---- DMA logging -------------------------------------------------------- */

void sim_device_logging_stop(SimDevice *dev)
{
    if (dev->log_ranges) {
        g_array_free(dev->log_ranges, TRUE);
        dev->log_ranges = NULL;
    }
    g_clear_pointer(&dev->log, sim_dirty_free);
    dev->logging = false;
    dev->log_page_size = 0;
}

static bool is_page_size(uint64_t page_size)
{
    return page_size >= SIM_PAGE_SIZE && !(page_size & (page_size - 1));
}

static int log_start(SimDeviceFile *df, uint8_t *data)
{
    struct vfio_device_feature_dma_logging_control ctl;
    const struct vfio_device_feature_dma_logging_range *ranges;
    g_autoptr(GArray) nodes = NULL;
    SimDevice *dev = df->dev;

    memcpy(&ctl, data, sizeof(ctl));
    if (!ctl.num_ranges) {
        return refuse(df, "DMA_LOGGING_START", EINVAL, "no range");
    }
    if (ctl.num_ranges > SIM_LOG_MAX_RANGES) {
        return refuse(df, "DMA_LOGGING_START", E2BIG, "too many ranges");
    }
    if (!is_page_size(ctl.page_size)) {
        return refuse(df, "DMA_LOGGING_START", EINVAL, "bad page_size");
    }
    ranges = (const void *)(uintptr_t)ctl.ranges;
    if (!ranges) {
        return refuse(df, "DMA_LOGGING_START", EFAULT, "ranges is NULL");
    }
    nodes = g_array_sized_new(FALSE, FALSE, sizeof(SimLogRange), ctl.num_ranges);
    for (uint32_t i = 0; i < ctl.num_ranges; i++) {
        struct vfio_device_feature_dma_logging_range r;
        SimLogRange n;

        memcpy(&r, &ranges[i], sizeof(r));
        if (!r.length || (r.iova & (ctl.page_size - 1)) || (r.length & (ctl.page_size - 1))) {
            return refuse(df, "DMA_LOGGING_START", EINVAL, "range not page aligned");
        }
        if (__builtin_add_overflow(r.iova, r.length - 1, &n.last)) {
            return refuse(df, "DMA_LOGGING_START", EOVERFLOW, "range overflows");
        }
        n.iova = r.iova;
        for (guint j = 0; j < nodes->len; j++) {
            SimLogRange *o = &g_array_index(nodes, SimLogRange, j);

            if (n.iova <= o->last && o->iova <= n.last) {
                return refuse(df, "DMA_LOGGING_START", EINVAL, "ranges overlap");
            }
        }
        g_array_append_val(nodes, n);
    }
    if (dev->logging) {
        return refuse(df, "DMA_LOGGING_START", EBUSY, "logging already started");
    }
    dev->logging = true;
    dev->log_page_size = ctl.page_size;
    dev->log_ranges = g_steal_pointer(&nodes);
    dev->log = sim_dirty_new();
    /* the driver may change page_size on output; the model keeps it */
    memcpy(data, &ctl, sizeof(ctl));
    trace_vfi_sim_dma_logging(dev->name, "start", ctl.num_ranges, ctl.page_size);
    return 0;
}

static int log_report(SimDeviceFile *df, uint8_t *data)
{
    struct vfio_device_feature_dma_logging_report rep;
    SimDevice *dev = df->dev;
    uint64_t last;

    memcpy(&rep, data, sizeof(rep));
    if (!is_page_size(rep.page_size)) {
        return refuse(df, "DMA_LOGGING_REPORT", EINVAL, "bad page_size");
    }
    if (!rep.length) {
        return refuse(df, "DMA_LOGGING_REPORT", EINVAL, "length 0");
    }
    if (__builtin_add_overflow(rep.iova, rep.length - 1, &last)) {
        return refuse(df, "DMA_LOGGING_REPORT", EOVERFLOW, "range overflows");
    }
    if ((rep.iova & (rep.page_size - 1)) || (rep.length & (rep.page_size - 1))) {
        return refuse(df, "DMA_LOGGING_REPORT", EINVAL, "range not page_size aligned");
    }
    if (!rep.bitmap) {
        return refuse(df, "DMA_LOGGING_REPORT", EFAULT, "bitmap is NULL");
    }
    if (!dev->logging) {
        return refuse(df, "DMA_LOGGING_REPORT", EINVAL, "logging not started");
    }
    /* device logs have no NO_CLEAR: reading clears */
    sim_dirty_report(dev->log, rep.iova, rep.length, rep.page_size,
                     (void *)(uintptr_t)rep.bitmap, true);
    trace_vfi_sim_dma_logging(dev->name, "report", 0, rep.page_size);
    return 0;
}

/*
 * vfio_check_feature() of the kernel: 1 to go on, 0 for a successful probe,
 * -EINVAL for a bad combination of flags or a too short payload.
 */
static int check_feature(uint32_t flags, size_t data_size, uint32_t supported,
                         size_t min_size)
{
    uint32_t dir = flags & (VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET);

    if (dir & ~supported) {
        return -EINVAL;
    }
    if (flags & VFIO_DEVICE_FEATURE_PROBE) {
        return 0;
    }
    if (!dir || data_size < min_size) {
        return -EINVAL;
    }
    return 1;
}

static int vfio_feature(SimDeviceFile *df, void *arg)
{
    struct vfio_device_feature *f = arg;
    const size_t minsz = ARGSZ_MIN(struct vfio_device_feature, flags);
    const uint32_t known = VFIO_DEVICE_FEATURE_MASK | VFIO_DEVICE_FEATURE_GET |
                           VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_PROBE;
    uint32_t feature = f->flags & VFIO_DEVICE_FEATURE_MASK;
    size_t data_size;
    int rc;

    if (f->argsz < minsz || (f->flags & ~known)) {
        return refuse(df, "VFIO_DEVICE_FEATURE", EINVAL, "argsz or flags");
    }
    if (!(f->flags & VFIO_DEVICE_FEATURE_PROBE) && (f->flags & VFIO_DEVICE_FEATURE_GET) &&
        (f->flags & VFIO_DEVICE_FEATURE_SET)) {
        return refuse(df, "VFIO_DEVICE_FEATURE", EINVAL, "GET and SET");
    }
    data_size = f->argsz - minsz;
    switch (feature) {
    case VFIO_DEVICE_FEATURE_DMA_LOGGING_START:
    case VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP:
    case VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT:
        if (!df->dev->dma_logging) {
            return refuse(df, "VFIO_DEVICE_FEATURE", ENOTTY, "no DMA logging");
        }
        break;
#if HAVE_VFIO_DEVICE_FEATURE_DMA_BUF
    case VFIO_DEVICE_FEATURE_DMA_BUF:
        return sim_dmabuf_feature(df, f->flags, f->data, data_size);   /* sim-dmabuf.c */
#endif
    default:
        return refuse(df, "VFIO_DEVICE_FEATURE", ENOTTY, "feature not offered");
    }
    if (feature == VFIO_DEVICE_FEATURE_DMA_LOGGING_START) {
        rc = check_feature(f->flags, data_size, VFIO_DEVICE_FEATURE_SET,
                           sizeof(struct vfio_device_feature_dma_logging_control));
        return rc == 1 ? log_start(df, f->data) : rc;
    }
    if (feature == VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP) {
        rc = check_feature(f->flags, data_size, VFIO_DEVICE_FEATURE_SET, 0);
        if (rc == 1) {
            if (df->dev->logging) {
                trace_vfi_sim_dma_logging(df->dev->name, "stop", 0, 0);
            }
            sim_device_logging_stop(df->dev);
            rc = 0;
        }
        return rc;
    }
    rc = check_feature(f->flags, data_size, VFIO_DEVICE_FEATURE_GET,
                       sizeof(struct vfio_device_feature_dma_logging_report));
    return rc == 1 ? log_report(df, f->data) : rc;
}

/* ---- hot reset ----------------------------------------------------------- */

/*
 * The devices a hot reset of @df's device affects, in BDF order (as
 * pci_walk_bus() visits them): every PCI device of its reset group (the
 * kernel's dev_set of a slot or bus reset). Returns: their count, 0 when
 * the device has no slot or bus reset.
 */
static GPtrArray *reset_set(SimDeviceFile *df)
{
    GPtrArray *set = g_ptr_array_new();
    const char *group = df->dev->reset_group;

    for (guint i = 0; group && i < df->sim->devices->len; i++) {
        SimDevice *d = g_ptr_array_index(df->sim->devices, i);

        if (d->bdf && d->reset_group && g_str_equal(d->reset_group, group)) {
            g_ptr_array_add(set, d);
        }
    }
    return set;
}

/* vfio_iommufd_get_dev_id() of @d for @ctx: its devid when bound to @ctx,
 * else VFIO_PCI_DEVID_NOT_OWNED (each device of the model is alone in its
 * IOMMU group, so the kernel's "its group is owned" case never arises). */
static uint32_t reset_devid(const SimDevice *d, const SimCtx *ctx)
{
    if (d->bound && d->bound->ctx == ctx) {
        return d->bound->obj->id;
    }
    return (uint32_t)VFIO_PCI_DEVID_NOT_OWNED;
}

static void fill_dependent(struct vfio_pci_dependent_device *out, const SimDevice *d,
                           const SimCtx *ctx)
{
    unsigned seg, bus, slot, fn;

    sscanf(d->bdf, "%x:%x:%x.%x", &seg, &bus, &slot, &fn);
    out->segment = seg;
    out->bus = bus;
    out->devfn = (slot << 3) | fn;
    out->devid = reset_devid(d, ctx);
}

/* vfio_pci_ioctl_get_pci_hot_reset_info() for a cdev-opened device. */
static int vfio_hot_reset_info(SimDeviceFile *df, void *arg)
{
    const char *what = "VFIO_DEVICE_GET_PCI_HOT_RESET_INFO";
    struct vfio_pci_hot_reset_info *info = arg;
    g_autoptr(GPtrArray) set = NULL;
    uint32_t flags = VFIO_PCI_HOT_RESET_FLAG_DEV_ID | VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED;

    if (info->argsz < ARGSZ_MIN(struct vfio_pci_hot_reset_info, count)) {
        return refuse(df, what, EINVAL, "argsz");
    }
    set = reset_set(df);
    if (!set->len) {
        return refuse(df, what, ENODEV, "no slot or bus reset (no reset-group)");
    }
    if (set->len > (info->argsz - sizeof(*info)) / sizeof(info->devices[0])) {
        info->flags = 0;
        info->count = set->len;
        return refuse(df, what, ENOSPC, "array too small (count reported)");
    }
    for (guint i = 0; i < set->len; i++) {
        fill_dependent(&info->devices[i], g_ptr_array_index(set, i), df->ctx);
        if (info->devices[i].devid == (uint32_t)VFIO_PCI_DEVID_NOT_OWNED) {
            flags &= ~VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED;
        }
    }
    info->flags = flags;
    info->count = set->len;
    trace_vfi_sim_hot_reset_info(df->dev->name, set->len, flags);
    return 0;
}

/* vfio_pci_ioctl_pci_hot_reset() for a cdev-opened device with a zero-length
 * array: vfio_pci_dev_set_hot_reset() with the caller's iommufd ctx. */
static int vfio_hot_reset(SimDeviceFile *df, void *arg)
{
    const char *what = "VFIO_DEVICE_PCI_HOT_RESET";
    struct vfio_pci_hot_reset *r = arg;
    g_autoptr(GPtrArray) set = NULL;

    if (r->argsz < ARGSZ_MIN(struct vfio_pci_hot_reset, count) || r->flags) {
        return refuse(df, what, EINVAL, "argsz or flags");
    }
    if (r->count) {
        return refuse(df, what, EINVAL, "group fds given for a cdev-opened device");
    }
    set = reset_set(df);
    if (!set->len) {
        return refuse(df, what, ENODEV, "no slot or bus reset (no reset-group)");
    }
    for (guint i = 0; i < set->len; i++) {
        SimDevice *d = g_ptr_array_index(set, i);

        if (reset_devid(d, df->ctx) == (uint32_t)VFIO_PCI_DEVID_NOT_OWNED) {
            trace_vfi_sim_hot_reset_not_owned(df->dev->name, d->name);
            return refuse(df, what, EINVAL, "a device of the reset is not owned");
        }
    }
    for (guint i = 0; i < set->len; i++) {
        ((SimDevice *)g_ptr_array_index(set, i))->resets++;
    }
    trace_vfi_sim_hot_reset(df->dev->name, set->len);
    return 0;
}

/* ---- dispatch ----------------------------------------------------------- */

/* A device file got through its group (VFIO_GROUP_GET_DEVICE_FD): open
 * from the start, the iommufd requests are not its (vfio-pci's ioctl:
 * ENOTTY); its hot reset takes group fds, not modelled. */
static int sim_vfio_group_device_ioctl(SimDeviceFile *df, unsigned long request, void *arg)
{
    switch (request) {
    case VFIO_DEVICE_GET_INFO:
        return vfio_get_info(df, arg);
    case VFIO_DEVICE_FEATURE:
        return vfio_feature(df, arg);
    case VFIO_DEVICE_GET_PCI_HOT_RESET_INFO:
    case VFIO_DEVICE_PCI_HOT_RESET:
        trace_vfi_sim_ioctl_not_modelled(df->fd, "hot reset of a group-opened device",
                                         EOPNOTSUPP);
        return -EOPNOTSUPP;
    default:
        trace_vfi_sim_ioctl_unknown(df->fd, request);
        return -ENOTTY;
    }
}

int sim_vfio_ioctl(SimDeviceFile *df, unsigned long request, void *arg)
{
    if (request == VFIO_DEVICE_BIND_IOMMUFD) {
        return df->group ? refuse(df, "VFIO_DEVICE_BIND_IOMMUFD", EINVAL,
                                  "only for a cdev fd, not one got from a group")
                         : vfio_bind(df, arg);
    }
    if (df->group) {
        return sim_vfio_group_device_ioctl(df, request, arg);
    }
    if (!df->ctx) {
        /* the kernel's access_granted check comes before anything else */
        return refuse(df, "ioctl", EINVAL, "device file not bound");
    }
    switch (request) {
    case VFIO_DEVICE_ATTACH_IOMMUFD_PT:
        return vfio_attach(df, arg);
    case VFIO_DEVICE_DETACH_IOMMUFD_PT:
        return vfio_detach(df, arg);
    case VFIO_DEVICE_GET_INFO:
        return vfio_get_info(df, arg);
    case VFIO_DEVICE_FEATURE:
        return vfio_feature(df, arg);
    case VFIO_DEVICE_GET_PCI_HOT_RESET_INFO:
        return vfio_hot_reset_info(df, arg);
    case VFIO_DEVICE_PCI_HOT_RESET:
        return vfio_hot_reset(df, arg);
    default:
        trace_vfi_sim_ioctl_unknown(df->fd, request);
        return -ENOTTY;
    }
}
