/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: names and descriptions of the requests that leave the
 * library (see util/ioctl-table.h).
 *
 * Every IOMMUFD struct starts with its size and every VFIO device struct
 * with its argsz (both u32): a struct shorter than the fields a description
 * reads is described by its size only.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <glib.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "config.h"
#include "util/ioctl-table.h"

/* Ranges of IOMMU_IOAS_IOVA_RANGES written out; the others are counted. */
#define RANGES_SHOWN 4

#define END_OF(type, field) (offsetof(type, field) + sizeof(((type *)0)->field))

typedef struct IoctlEntry {
    unsigned long request;
    const char *name;
    size_t min_size;     /* bytes of the struct the descriptions read */
    void (*in)(VfiIoctlText *t, const void *arg);
    void (*out)(VfiIoctlText *t, const void *arg, int ret);
    int out_errno;       /* a failure that still has outputs (0: none) */
} IoctlEntry;

static void G_GNUC_PRINTF(2, 3) add(VfiIoctlText *t, const char *fmt, ...)
{
    size_t room = sizeof(t->buf) - t->len;
    va_list ap;
    int n;

    if (room <= 1) {
        return;
    }
    va_start(ap, fmt);
    n = g_vsnprintf(t->buf + t->len, room, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= room) {
        /* Truncated: say so in the last bytes. */
        memcpy(t->buf + sizeof(t->buf) - 4, "...", 4);
        t->len = sizeof(t->buf) - 1;
        return;
    }
    t->len += (size_t)n;
}

static unsigned long long u64(uint64_t v)
{
    return (unsigned long long)v;
}

/* ---- IOMMUFD ------------------------------------------------------------ */

static void destroy_in(VfiIoctlText *t, const void *arg)
{
    const struct iommu_destroy *a = arg;

    add(t, " id %u", a->id);
}

static void ioas_alloc_in(VfiIoctlText *t, const void *arg)
{
    const struct iommu_ioas_alloc *a = arg;

    if (a->flags) {
        add(t, " flags 0x%x", a->flags);
    }
}

static void ioas_alloc_out(VfiIoctlText *t, const void *arg, int ret)
{
    const struct iommu_ioas_alloc *a = arg;

    add(t, " ioas_id %u", a->out_ioas_id);
}

static void iova_ranges_in(VfiIoctlText *t, const void *arg)
{
    const struct iommu_ioas_iova_ranges *a = arg;

    add(t, " ioas_id %u num_iovas %u", a->ioas_id, a->num_iovas);
    t->kept = a->num_iovas;
}

/*
 * EMSGSIZE: num_iovas is the count the kernel needs. Success: it filled
 * num_iovas entries of the array; the first RANGES_SHOWN are shown, never
 * more than the array the caller gave (kept by iova_ranges_in).
 */
static void iova_ranges_out(VfiIoctlText *t, const void *arg, int ret)
{
    const struct iommu_ioas_iova_ranges *a = arg;
    const struct iommu_iova_range *r = (const void *)(uintptr_t)a->allowed_iovas;

    add(t, " num_iovas %u", a->num_iovas);
    if (ret < 0) {
        return;
    }
    add(t, " alignment 0x%llx", u64(a->out_iova_alignment));
    if (!r) {
        return;
    }
    for (uint32_t i = 0; i < a->num_iovas && i < t->kept && i < RANGES_SHOWN; i++) {
        add(t, " [0x%llx, 0x%llx]", u64(r[i].start), u64(r[i].last));
    }
    if (a->num_iovas > RANGES_SHOWN) {
        add(t, " ...");
    }
}

static void allow_iovas_in(VfiIoctlText *t, const void *arg)
{
    const struct iommu_ioas_allow_iovas *a = arg;

    add(t, " ioas_id %u num_iovas %u", a->ioas_id, a->num_iovas);
}

static void ioas_map_in(VfiIoctlText *t, const void *arg)
{
    const struct iommu_ioas_map *a = arg;

    add(t, " ioas_id %u flags 0x%x", a->ioas_id, a->flags);
    if (a->flags & IOMMU_IOAS_MAP_FIXED_IOVA) {
        add(t, " iova 0x%llx", u64(a->iova));
    }
    add(t, " length 0x%llx", u64(a->length));
}

static void ioas_map_out(VfiIoctlText *t, const void *arg, int ret)
{
    const struct iommu_ioas_map *a = arg;

    add(t, " iova 0x%llx", u64(a->iova));
}

static void ioas_copy_in(VfiIoctlText *t, const void *arg)
{
    const struct iommu_ioas_copy *a = arg;

    add(t, " dst_ioas_id %u src_ioas_id %u flags 0x%x src_iova 0x%llx length 0x%llx",
        a->dst_ioas_id, a->src_ioas_id, a->flags, u64(a->src_iova), u64(a->length));
    if (a->flags & IOMMU_IOAS_MAP_FIXED_IOVA) {
        add(t, " dst_iova 0x%llx", u64(a->dst_iova));
    }
}

static void ioas_copy_out(VfiIoctlText *t, const void *arg, int ret)
{
    const struct iommu_ioas_copy *a = arg;

    add(t, " dst_iova 0x%llx", u64(a->dst_iova));
}

static void ioas_unmap_in(VfiIoctlText *t, const void *arg)
{
    const struct iommu_ioas_unmap *a = arg;

    add(t, " ioas_id %u iova 0x%llx length 0x%llx", a->ioas_id, u64(a->iova),
        u64(a->length));
}

static void ioas_unmap_out(VfiIoctlText *t, const void *arg, int ret)
{
    const struct iommu_ioas_unmap *a = arg;

    add(t, " length 0x%llx", u64(a->length));
}

static void option_in(VfiIoctlText *t, const void *arg)
{
    const struct iommu_option *a = arg;

    add(t, " option_id %u op %s object_id %u", a->option_id,
        a->op == IOMMU_OPTION_OP_GET ? "get" : a->op == IOMMU_OPTION_OP_SET ? "set" : "?",
        a->object_id);
    if (a->op == IOMMU_OPTION_OP_SET) {
        add(t, " val64 0x%llx", u64(a->val64));
    }
}

static void option_out(VfiIoctlText *t, const void *arg, int ret)
{
    const struct iommu_option *a = arg;

    if (a->op == IOMMU_OPTION_OP_GET) {
        add(t, " val64 0x%llx", u64(a->val64));
    }
}

static void vfio_ioas_in(VfiIoctlText *t, const void *arg)
{
    const struct iommu_vfio_ioas *a = arg;

    add(t, " op %u", a->op);
    if (a->op == IOMMU_VFIO_IOAS_SET) {
        add(t, " ioas_id %u", a->ioas_id);
    }
}

static void vfio_ioas_out(VfiIoctlText *t, const void *arg, int ret)
{
    const struct iommu_vfio_ioas *a = arg;

    if (a->op == IOMMU_VFIO_IOAS_GET) {
        add(t, " ioas_id %u", a->ioas_id);
    }
}

static void hwpt_alloc_in(VfiIoctlText *t, const void *arg)
{
    const struct iommu_hwpt_alloc *a = arg;

    add(t, " dev_id %u pt_id %u flags 0x%x data_type %u data_len %u", a->dev_id,
        a->pt_id, a->flags, a->data_type, a->data_len);
}

static void hwpt_alloc_out(VfiIoctlText *t, const void *arg, int ret)
{
    const struct iommu_hwpt_alloc *a = arg;

    add(t, " hwpt_id %u", a->out_hwpt_id);
}

static void hw_info_in(VfiIoctlText *t, const void *arg)
{
    const struct iommu_hw_info *a = arg;

    add(t, " dev_id %u data_len %u", a->dev_id, a->data_len);
    if (a->flags) {
        add(t, " flags 0x%x", a->flags);
    }
#if HAVE_IOMMU_HW_INFO_FLAG_INPUT_TYPE
    if (a->flags & IOMMU_HW_INFO_FLAG_INPUT_TYPE) {
        add(t, " in_data_type %u", a->in_data_type);
    }
#endif
}

static void hw_info_out(VfiIoctlText *t, const void *arg, int ret)
{
    const struct iommu_hw_info *a = arg;

    add(t, " data_type %u data_len %u capabilities 0x%llx", a->out_data_type,
        a->data_len, u64(a->out_capabilities));
#if HAVE_IOMMU_HW_INFO_MAX_PASID
    add(t, " max_pasid_log2 %u", a->out_max_pasid_log2);
#endif
}

static void set_dirty_in(VfiIoctlText *t, const void *arg)
{
    const struct iommu_hwpt_set_dirty_tracking *a = arg;

    add(t, " hwpt_id %u flags 0x%x", a->hwpt_id, a->flags);
}

static void get_dirty_in(VfiIoctlText *t, const void *arg)
{
    const struct iommu_hwpt_get_dirty_bitmap *a = arg;

    add(t, " hwpt_id %u flags 0x%x iova 0x%llx length 0x%llx page_size 0x%llx",
        a->hwpt_id, a->flags, u64(a->iova), u64(a->length), u64(a->page_size));
}

#if HAVE_IOMMU_HWPT_INVALIDATE
static void invalidate_in(VfiIoctlText *t, const void *arg)
{
    const struct iommu_hwpt_invalidate *a = arg;

    add(t, " hwpt_id %u data_type %u entry_len %u entry_num %u", a->hwpt_id,
        a->data_type, a->entry_len, a->entry_num);
}

static void invalidate_out(VfiIoctlText *t, const void *arg, int ret)
{
    const struct iommu_hwpt_invalidate *a = arg;

    add(t, " entry_num %u", a->entry_num);
}
#endif

#if HAVE_IOMMU_FAULT_QUEUE_ALLOC
static void fault_alloc_out(VfiIoctlText *t, const void *arg, int ret)
{
    const struct iommu_fault_alloc *a = arg;

    add(t, " fault_id %u fault_fd %u", a->out_fault_id, a->out_fault_fd);
}
#endif

/* Newer than 6.12: named and decoded when the headers have them (config.h);
 * of these the library makes IOMMU_IOAS_MAP_FILE so far. */
#if HAVE_IOMMU_IOAS_MAP_FILE
static void ioas_map_file_in(VfiIoctlText *t, const void *arg)
{
    const struct iommu_ioas_map_file *a = arg;

    add(t, " ioas_id %u flags 0x%x fd %d start 0x%llx", a->ioas_id, a->flags, a->fd,
        u64(a->start));
    if (a->flags & IOMMU_IOAS_MAP_FIXED_IOVA) {
        add(t, " iova 0x%llx", u64(a->iova));
    }
    add(t, " length 0x%llx", u64(a->length));
}

static void ioas_map_file_out(VfiIoctlText *t, const void *arg, int ret)
{
    const struct iommu_ioas_map_file *a = arg;

    add(t, " iova 0x%llx", u64(a->iova));
}
#endif

#if HAVE_IOMMU_VIOMMU_ALLOC
static void viommu_alloc_in(VfiIoctlText *t, const void *arg)
{
    const struct iommu_viommu_alloc *a = arg;

    add(t, " flags 0x%x type %u dev_id %u hwpt_id %u data_len %u", a->flags, a->type,
        a->dev_id, a->hwpt_id, a->data_len);
}

static void viommu_alloc_out(VfiIoctlText *t, const void *arg, int ret)
{
    const struct iommu_viommu_alloc *a = arg;

    add(t, " viommu_id %u", a->out_viommu_id);
}
#endif

#if HAVE_IOMMU_VDEVICE_ALLOC
static void vdevice_alloc_in(VfiIoctlText *t, const void *arg)
{
    const struct iommu_vdevice_alloc *a = arg;

    add(t, " viommu_id %u dev_id %u virt_id 0x%llx", a->viommu_id, a->dev_id,
        u64(a->virt_id));
}

static void vdevice_alloc_out(VfiIoctlText *t, const void *arg, int ret)
{
    const struct iommu_vdevice_alloc *a = arg;

    add(t, " vdevice_id %u", a->out_vdevice_id);
}
#endif

#if HAVE_IOMMU_VEVENTQ_ALLOC
static void veventq_alloc_in(VfiIoctlText *t, const void *arg)
{
    const struct iommu_veventq_alloc *a = arg;

    add(t, " flags 0x%x viommu_id %u type %u depth %u", a->flags, a->viommu_id, a->type,
        a->veventq_depth);
}

static void veventq_alloc_out(VfiIoctlText *t, const void *arg, int ret)
{
    const struct iommu_veventq_alloc *a = arg;

    add(t, " veventq_id %u veventq_fd %u", a->out_veventq_id, a->out_veventq_fd);
}
#endif

#if HAVE_IOMMU_HW_QUEUE_ALLOC
static void hw_queue_alloc_in(VfiIoctlText *t, const void *arg)
{
    const struct iommu_hw_queue_alloc *a = arg;

    add(t, " flags 0x%x viommu_id %u type %u index %u iova 0x%llx length 0x%llx", a->flags,
        a->viommu_id, a->type, a->index, u64(a->nesting_parent_iova), u64(a->length));
}

static void hw_queue_alloc_out(VfiIoctlText *t, const void *arg, int ret)
{
    const struct iommu_hw_queue_alloc *a = arg;

    add(t, " hw_queue_id %u", a->out_hw_queue_id);
}
#endif

/* ---- VFIO device -------------------------------------------------------- */

static void flags_in(VfiIoctlText *t, uint32_t flags)
{
    if (flags) {
        add(t, " flags 0x%x", flags);
    }
}

static void bind_in(VfiIoctlText *t, const void *arg)
{
    const struct vfio_device_bind_iommufd *a = arg;

    add(t, " iommufd %d", a->iommufd);
    flags_in(t, a->flags);
}

static void bind_out(VfiIoctlText *t, const void *arg, int ret)
{
    const struct vfio_device_bind_iommufd *a = arg;

    add(t, " dev_id %u", a->out_devid);
}

static void attach_in(VfiIoctlText *t, const void *arg)
{
    const struct vfio_device_attach_iommufd_pt *a = arg;

    add(t, " pt_id %u", a->pt_id);
    flags_in(t, a->flags);
#if HAVE_VFIO_DEVICE_ATTACH_PASID
    if ((a->flags & VFIO_DEVICE_ATTACH_PASID) &&
        a->argsz >= END_OF(struct vfio_device_attach_iommufd_pt, pasid)) {
        add(t, " pasid %u", a->pasid);
    }
#endif
}

/* The kernel answers with the HWPT it attached to (an IOAS id asks it to
 * pick or make one). */
static void attach_out(VfiIoctlText *t, const void *arg, int ret)
{
    const struct vfio_device_attach_iommufd_pt *a = arg;

    add(t, " pt_id %u", a->pt_id);
}

static void detach_in(VfiIoctlText *t, const void *arg)
{
    const struct vfio_device_detach_iommufd_pt *a = arg;

    flags_in(t, a->flags);
#if HAVE_VFIO_DEVICE_ATTACH_PASID
    if ((a->flags & VFIO_DEVICE_DETACH_PASID) &&
        a->argsz >= END_OF(struct vfio_device_detach_iommufd_pt, pasid)) {
        add(t, " pasid %u", a->pasid);
    }
#endif
}

static void get_info_out(VfiIoctlText *t, const void *arg, int ret)
{
    const struct vfio_device_info *a = arg;

    add(t, " flags 0x%x num_regions %u num_irqs %u", a->flags, a->num_regions,
        a->num_irqs);
}

static void hot_reset_info_in(VfiIoctlText *t, const void *arg)
{
    const struct vfio_pci_hot_reset_info *a = arg;

    add(t, " argsz %u (room for %u devices)", a->argsz,
        a->argsz >= sizeof(*a) ? (unsigned)((a->argsz - sizeof(*a)) /
                                            sizeof(a->devices[0])) : 0);
}

/* The header only (the devices follow in the caller's array: too long for
 * the event; the library traces what it makes of them). */
static void hot_reset_info_out(VfiIoctlText *t, const void *arg, int ret)
{
    const struct vfio_pci_hot_reset_info *a = arg;

    add(t, " flags 0x%x%s%s count %u%s", a->flags,
        a->flags & VFIO_PCI_HOT_RESET_FLAG_DEV_ID ? " dev_id" : "",
        a->flags & VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED ? " owned" : "", a->count,
        ret == -ENOSPC ? " (array too small)" : "");
}

static void hot_reset_in(VfiIoctlText *t, const void *arg)
{
    const struct vfio_pci_hot_reset *a = arg;

    add(t, " flags 0x%x count %u%s", a->flags, a->count,
        a->count ? "" : " (cdev: the iommufd's ownership)");
}

static const char *const feature_names[] = {
    [VFIO_DEVICE_FEATURE_PCI_VF_TOKEN] = "PCI_VF_TOKEN",
    [VFIO_DEVICE_FEATURE_MIGRATION] = "MIGRATION",
    [VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE] = "MIG_DEVICE_STATE",
    [VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY] = "LOW_POWER_ENTRY",
    [VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP] = "LOW_POWER_ENTRY_WITH_WAKEUP",
    [VFIO_DEVICE_FEATURE_LOW_POWER_EXIT] = "LOW_POWER_EXIT",
    [VFIO_DEVICE_FEATURE_DMA_LOGGING_START] = "DMA_LOGGING_START",
    [VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP] = "DMA_LOGGING_STOP",
    [VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT] = "DMA_LOGGING_REPORT",
    [VFIO_DEVICE_FEATURE_MIG_DATA_SIZE] = "MIG_DATA_SIZE",
#ifdef VFIO_DEVICE_FEATURE_BUS_MASTER
    [VFIO_DEVICE_FEATURE_BUS_MASTER] = "BUS_MASTER",
#endif
#if HAVE_VFIO_DEVICE_FEATURE_DMA_BUF
    [VFIO_DEVICE_FEATURE_DMA_BUF] = "DMA_BUF",
#endif
#ifdef VFIO_DEVICE_FEATURE_MIG_PRECOPY_INFOv2
    [VFIO_DEVICE_FEATURE_MIG_PRECOPY_INFOv2] = "MIG_PRECOPY_INFOv2",
#endif
#ifdef VFIO_DEVICE_FEATURE_ZPCI_ERROR
    [VFIO_DEVICE_FEATURE_ZPCI_ERROR] = "ZPCI_ERROR",
#endif
};

/* Copy the payload after the feature header into @out, if argsz covers
 * @size bytes of it (copied: the caller's buffer may be byte-aligned). */
static bool feature_payload(const struct vfio_device_feature *f, void *out, size_t size)
{
    if (f->argsz < sizeof(*f) + size) {
        return false;
    }
    memcpy(out, f->data, size);
    return true;
}

/* The DMA logging payloads the library sends: page size and range count
 * to start, the range and page size of a report. */
static void feature_payload_in(VfiIoctlText *t, const struct vfio_device_feature *f)
{
    uint32_t index = f->flags & VFIO_DEVICE_FEATURE_MASK;
    struct vfio_device_feature_dma_logging_control ctl;
    struct vfio_device_feature_dma_logging_report rep;

    if (f->flags & VFIO_DEVICE_FEATURE_PROBE) {
        return;
    }
    if (index == VFIO_DEVICE_FEATURE_DMA_LOGGING_START &&
        feature_payload(f, &ctl, sizeof(ctl))) {
        add(t, " page_size 0x%llx num_ranges %u", u64(ctl.page_size), ctl.num_ranges);
    } else if (index == VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT &&
               feature_payload(f, &rep, sizeof(rep))) {
        add(t, " iova 0x%llx length 0x%llx page_size 0x%llx", u64(rep.iova),
            u64(rep.length), u64(rep.page_size));
    }
#if HAVE_VFIO_DEVICE_FEATURE_DMA_BUF
    struct vfio_device_feature_dma_buf db;
    struct vfio_region_dma_range r0;

    if (index == VFIO_DEVICE_FEATURE_DMA_BUF && feature_payload(f, &db, sizeof(db))) {
        add(t, " region %u open_flags 0x%x flags 0x%x nr_ranges %u", db.region_index,
            db.open_flags, db.flags, db.nr_ranges);
        if (db.nr_ranges && f->argsz >= sizeof(*f) + sizeof(db) + sizeof(r0)) {
            memcpy(&r0, f->data + sizeof(db), sizeof(r0));
            add(t, " [0] offset 0x%llx length 0x%llx", u64(r0.offset), u64(r0.length));
        }
    }
#endif
}

static void feature_in(VfiIoctlText *t, const void *arg)
{
    const struct vfio_device_feature *f = arg;
    uint32_t index = f->flags & VFIO_DEVICE_FEATURE_MASK;
    const char *name = index < G_N_ELEMENTS(feature_names) ? feature_names[index] : NULL;

    if (name) {
        add(t, " feature %s", name);
    } else {
        add(t, " feature %u", index);
    }
    add(t, " flags 0x%x%s%s%s", f->flags,
        f->flags & VFIO_DEVICE_FEATURE_GET ? " get" : "",
        f->flags & VFIO_DEVICE_FEATURE_SET ? " set" : "",
        f->flags & VFIO_DEVICE_FEATURE_PROBE ? " probe" : "");
    feature_payload_in(t, f);
}

/* ---- VFIO groups and the type1 container ----------------------------------- */

/* The requests whose argument is an integer, not a struct. */
static void int_arg_in(VfiIoctlText *t, const void *arg)
{
    add(t, " arg %lu", (unsigned long)(uintptr_t)arg);
}

static void set_container_in(VfiIoctlText *t, const void *arg)
{
    int fd;

    if (arg) {
        memcpy(&fd, arg, sizeof(fd));
        add(t, " container fd %d", fd);
    }
}

static void get_device_fd_in(VfiIoctlText *t, const void *arg)
{
    if (arg) {
        add(t, " device %.64s", (const char *)arg);
    }
}

static void group_status_out(VfiIoctlText *t, const void *arg, int ret)
{
    const struct vfio_group_status *s = arg;

    (void)ret;
    add(t, " flags 0x%x%s%s", s->flags, s->flags & VFIO_GROUP_FLAGS_VIABLE ? " viable" : "",
        s->flags & VFIO_GROUP_FLAGS_CONTAINER_SET ? " container-set" : "");
}

static void type1_info_out(VfiIoctlText *t, const void *arg, int ret)
{
    const struct vfio_iommu_type1_info *i = arg;

    (void)ret;
    add(t, " argsz %u flags 0x%x pgsizes 0x%llx", i->argsz, i->flags, u64(i->iova_pgsizes));
}

static void dma_map_in(VfiIoctlText *t, const void *arg)
{
    const struct vfio_iommu_type1_dma_map *m = arg;

    /* vaddr is a user pointer: never shown */
    add(t, " flags 0x%x iova 0x%llx size 0x%llx", m->flags, u64(m->iova), u64(m->size));
}

static void dma_unmap_in(VfiIoctlText *t, const void *arg)
{
    const struct vfio_iommu_type1_dma_unmap *u = arg;

    add(t, " flags 0x%x iova 0x%llx size 0x%llx", u->flags, u64(u->iova), u64(u->size));
}

static void dma_unmap_out(VfiIoctlText *t, const void *arg, int ret)
{
    const struct vfio_iommu_type1_dma_unmap *u = arg;

    (void)ret;
    add(t, " unmapped 0x%llx", u64(u->size));
}

static void dirty_pages_in(VfiIoctlText *t, const void *arg)
{
    const struct vfio_iommu_type1_dirty_bitmap *d = arg;
    struct vfio_iommu_type1_dirty_bitmap_get r;

    add(t, " flags 0x%x", d->flags);
    if (d->flags == VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP && d->argsz >= sizeof(*d) + sizeof(r)) {
        memcpy(&r, d->data, sizeof(r));
        add(t, " iova 0x%llx size 0x%llx pgsize 0x%llx", u64(r.iova), u64(r.size),
            u64(r.bitmap.pgsize));
    }
}

/* ---- the table ----------------------------------------------------------- */

#define ENTRY(req, type, last, in_fn, out_fn) \
    { req, #req, END_OF(type, last), in_fn, out_fn, 0 }
/* A request whose argument is an integer or a string (no size field). */
#define ENTRY_RAW(req, in_fn) \
    { req, #req, 0, in_fn, NULL, 0 }

/* The requests of /dev/iommu. */
static const IoctlEntry iommufd_table[] = {
    ENTRY(IOMMU_DESTROY, struct iommu_destroy, id, destroy_in, NULL),
    ENTRY(IOMMU_IOAS_ALLOC, struct iommu_ioas_alloc, out_ioas_id, ioas_alloc_in,
          ioas_alloc_out),
    { IOMMU_IOAS_IOVA_RANGES, "IOMMU_IOAS_IOVA_RANGES",
      END_OF(struct iommu_ioas_iova_ranges, out_iova_alignment), iova_ranges_in,
      iova_ranges_out, EMSGSIZE },
    ENTRY(IOMMU_IOAS_ALLOW_IOVAS, struct iommu_ioas_allow_iovas, num_iovas,
          allow_iovas_in, NULL),
    ENTRY(IOMMU_IOAS_MAP, struct iommu_ioas_map, iova, ioas_map_in, ioas_map_out),
    ENTRY(IOMMU_IOAS_COPY, struct iommu_ioas_copy, src_iova, ioas_copy_in,
          ioas_copy_out),
    ENTRY(IOMMU_IOAS_UNMAP, struct iommu_ioas_unmap, length, ioas_unmap_in,
          ioas_unmap_out),
    ENTRY(IOMMU_OPTION, struct iommu_option, val64, option_in, option_out),
    ENTRY(IOMMU_VFIO_IOAS, struct iommu_vfio_ioas, op, vfio_ioas_in, vfio_ioas_out),
    ENTRY(IOMMU_HWPT_ALLOC, struct iommu_hwpt_alloc, data_len, hwpt_alloc_in,
          hwpt_alloc_out),
    ENTRY(IOMMU_GET_HW_INFO, struct iommu_hw_info, out_capabilities, hw_info_in,
          hw_info_out),
    ENTRY(IOMMU_HWPT_SET_DIRTY_TRACKING, struct iommu_hwpt_set_dirty_tracking, hwpt_id,
          set_dirty_in, NULL),
    ENTRY(IOMMU_HWPT_GET_DIRTY_BITMAP, struct iommu_hwpt_get_dirty_bitmap, page_size,
          get_dirty_in, NULL),
#if HAVE_IOMMU_HWPT_INVALIDATE
    ENTRY(IOMMU_HWPT_INVALIDATE, struct iommu_hwpt_invalidate, entry_num,
          invalidate_in, invalidate_out),
#endif
#if HAVE_IOMMU_FAULT_QUEUE_ALLOC
    ENTRY(IOMMU_FAULT_QUEUE_ALLOC, struct iommu_fault_alloc, out_fault_fd, NULL,
          fault_alloc_out),
#endif
#if HAVE_IOMMU_IOAS_MAP_FILE
    ENTRY(IOMMU_IOAS_MAP_FILE, struct iommu_ioas_map_file, iova, ioas_map_file_in,
          ioas_map_file_out),
#endif
#if HAVE_IOMMU_VIOMMU_ALLOC
    ENTRY(IOMMU_VIOMMU_ALLOC, struct iommu_viommu_alloc, data_len, viommu_alloc_in,
          viommu_alloc_out),
#endif
#if HAVE_IOMMU_VDEVICE_ALLOC
    ENTRY(IOMMU_VDEVICE_ALLOC, struct iommu_vdevice_alloc, virt_id, vdevice_alloc_in,
          vdevice_alloc_out),
#endif
#if HAVE_IOMMU_IOAS_CHANGE_PROCESS
    ENTRY(IOMMU_IOAS_CHANGE_PROCESS, struct iommu_ioas_change_process, size, NULL, NULL),
#endif
#if HAVE_IOMMU_VEVENTQ_ALLOC
    ENTRY(IOMMU_VEVENTQ_ALLOC, struct iommu_veventq_alloc, out_veventq_fd, veventq_alloc_in,
          veventq_alloc_out),
#endif
#if HAVE_IOMMU_HW_QUEUE_ALLOC
    ENTRY(IOMMU_HW_QUEUE_ALLOC, struct iommu_hw_queue_alloc, length, hw_queue_alloc_in,
          hw_queue_alloc_out),
#endif
#ifdef IOMMU_IOAS_NOIOMMU_GET_PA
    ENTRY(IOMMU_IOAS_NOIOMMU_GET_PA, struct iommu_ioas_noiommu_get_pa, length, NULL, NULL),
#endif
};

/* The requests of a VFIO device (its cdev, or the fd its group gave). */
static const IoctlEntry device_table[] = {
    ENTRY(VFIO_DEVICE_BIND_IOMMUFD, struct vfio_device_bind_iommufd, out_devid, bind_in,
          bind_out),
    ENTRY(VFIO_DEVICE_ATTACH_IOMMUFD_PT, struct vfio_device_attach_iommufd_pt, pt_id,
          attach_in, attach_out),
    ENTRY(VFIO_DEVICE_DETACH_IOMMUFD_PT, struct vfio_device_detach_iommufd_pt, flags,
          detach_in, NULL),
    ENTRY(VFIO_DEVICE_GET_INFO, struct vfio_device_info, num_irqs, NULL, get_info_out),
    ENTRY(VFIO_DEVICE_FEATURE, struct vfio_device_feature, flags, feature_in, NULL),
    { VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, "VFIO_DEVICE_GET_PCI_HOT_RESET_INFO",
      END_OF(struct vfio_pci_hot_reset_info, count), hot_reset_info_in, hot_reset_info_out,
      ENOSPC },
    ENTRY(VFIO_DEVICE_PCI_HOT_RESET, struct vfio_pci_hot_reset, count, hot_reset_in, NULL),
    /* Known by name only: the library does not make them (yet). */
    ENTRY(VFIO_DEVICE_GET_REGION_INFO, struct vfio_region_info, argsz, NULL, NULL),
    ENTRY(VFIO_DEVICE_GET_IRQ_INFO, struct vfio_irq_info, argsz, NULL, NULL),
    ENTRY(VFIO_DEVICE_SET_IRQS, struct vfio_irq_set, argsz, NULL, NULL),
    ENTRY_RAW(VFIO_DEVICE_RESET, NULL),
};

/* The requests of a VFIO group (/dev/vfio/N). */
static const IoctlEntry group_table[] = {
    ENTRY(VFIO_GROUP_GET_STATUS, struct vfio_group_status, flags, NULL, group_status_out),
    ENTRY_RAW(VFIO_GROUP_SET_CONTAINER, set_container_in),
    ENTRY_RAW(VFIO_GROUP_UNSET_CONTAINER, NULL),
    ENTRY_RAW(VFIO_GROUP_GET_DEVICE_FD, get_device_fd_in),
};

/* The requests of a VFIO container (/dev/vfio/vfio) with type1 set. */
static const IoctlEntry container_table[] = {
    ENTRY_RAW(VFIO_GET_API_VERSION, NULL),
    ENTRY_RAW(VFIO_CHECK_EXTENSION, int_arg_in),
    ENTRY_RAW(VFIO_SET_IOMMU, int_arg_in),
    ENTRY(VFIO_IOMMU_GET_INFO, struct vfio_iommu_type1_info, iova_pgsizes, NULL,
          type1_info_out),
    ENTRY(VFIO_IOMMU_MAP_DMA, struct vfio_iommu_type1_dma_map, size, dma_map_in, NULL),
    ENTRY(VFIO_IOMMU_UNMAP_DMA, struct vfio_iommu_type1_dma_unmap, size, dma_unmap_in,
          dma_unmap_out),
    ENTRY(VFIO_IOMMU_DIRTY_PAGES, struct vfio_iommu_type1_dirty_bitmap, flags,
          dirty_pages_in, NULL),
};

typedef struct IoctlTable {
    const IoctlEntry *entries;
    size_t n;
} IoctlTable;

#define TABLE(t) { t, G_N_ELEMENTS(t) }

/* Each kind's table; an fd of unknown kind looks in all of them in this
 * order (IOMMUFD's numbers are their own; a device's come before the
 * group's and the container's sharing them). */
static const IoctlTable tables[] = {
    [VFI_FD_IOMMUFD] = TABLE(iommufd_table),
    [VFI_FD_VFIO_DEVICE] = TABLE(device_table),
    [VFI_FD_VFIO_GROUP] = TABLE(group_table),
    [VFI_FD_VFIO_CONTAINER] = TABLE(container_table),
};

static const IoctlEntry *find_in(const IoctlTable *tb, unsigned long request)
{
    for (size_t i = 0; i < tb->n; i++) {
        if (tb->entries[i].request == request) {
            return &tb->entries[i];
        }
    }
    return NULL;
}

/* @request on an fd of @kind: in its kind's table, else by number alone. */
static const IoctlEntry *find(VfiFdKind kind, unsigned long request)
{
    static const VfiFdKind order[] = { VFI_FD_IOMMUFD, VFI_FD_VFIO_DEVICE, VFI_FD_VFIO_GROUP,
                                       VFI_FD_VFIO_CONTAINER };
    const IoctlEntry *e = NULL;

    if (kind > VFI_FD_UNKNOWN && kind < G_N_ELEMENTS(tables)) {
        e = find_in(&tables[kind], request);
    }
    for (size_t i = 0; !e && i < G_N_ELEMENTS(order); i++) {
        e = find_in(&tables[order[i]], request);
    }
    return e;
}

VfiFdKind vfi_fd_kind_of_path(const char *path)
{
    const char *rest;

    if (!path) {
        return VFI_FD_UNKNOWN;
    }
    if (strcmp(path, "/dev/iommu") == 0) {
        return VFI_FD_IOMMUFD;
    }
    if (strcmp(path, "/dev/vfio/vfio") == 0) {
        return VFI_FD_VFIO_CONTAINER;
    }
    if (g_str_has_prefix(path, "/dev/vfio/devices/")) {
        return VFI_FD_VFIO_DEVICE;
    }
    if (!g_str_has_prefix(path, "/dev/vfio/")) {
        return VFI_FD_UNKNOWN;
    }
    rest = path + strlen("/dev/vfio/");
    if (g_str_has_prefix(rest, "noiommu-")) {
        rest += strlen("noiommu-");
    }
    if (!*rest || rest[strspn(rest, "0123456789")] != '\0') {
        return VFI_FD_UNKNOWN;
    }
    return VFI_FD_VFIO_GROUP;
}


/* Can the descriptions of @e read @arg? (Its first u32 is its size.) */
static bool readable(const IoctlEntry *e, const void *arg)
{
    uint32_t size;

    if (!arg || e->min_size == 0) {
        return false;
    }
    memcpy(&size, arg, sizeof(size));
    return size >= e->min_size;
}

const char *vfi_ioctl_name(VfiFdKind kind, unsigned long request)
{
    const IoctlEntry *e = find(kind, request);

    return e ? e->name : NULL;
}

void vfi_ioctl_describe_in(VfiIoctlText *t, VfiFdKind kind, unsigned long request,
                           const void *arg)
{
    const IoctlEntry *e = find(kind, request);

    t->len = 0;
    t->buf[0] = '\0';
    t->kept = 0;
    if (!e) {
        add(t, " nr 0x%lx", request);
        return;
    }
    if (e->min_size && !arg) {
        add(t, " arg NULL");
        return;
    }
    if (e->min_size && !readable(e, arg)) {
        uint32_t size;

        memcpy(&size, arg, sizeof(size));
        add(t, " size %u (short: not decoded)", size);
        return;
    }
    if (e->in) {
        e->in(t, arg);
    }
}

void vfi_ioctl_describe_out(VfiIoctlText *t, VfiFdKind kind, unsigned long request,
                            const void *arg, int ret)
{
    const IoctlEntry *e = find(kind, request);
    size_t mark = t->len;
    size_t before;

    if (!e || !e->out || !readable(e, arg)) {
        return;
    }
    if (ret < 0 && (e->out_errno == 0 || -ret != e->out_errno)) {
        return;
    }
    add(t, " ->");
    before = t->len;
    e->out(t, arg, ret);
    if (t->len == before) {
        /* No output for this variant (an option set, say): no arrow. */
        t->len = mark;
        t->buf[mark] = '\0';
    }
}
