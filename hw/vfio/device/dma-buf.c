/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: dma-buf export of a device region (VFIO_DEVICE_FEATURE with
 * GET | DMA_BUF, Linux 6.19): slices of a PCI BAR as a dma-buf fd, which
 * iommufd's IOMMU_IOAS_MAP_FILE maps for peer-to-peer DMA (another device's
 * DMA reaching this device's BAR). The caller owns the fd.
 *
 * The kernel side (7.3): vfio_pci_core_feature_dma_buf() refuses a driver
 * without get_dmabuf_phys (EOPNOTSUPP), flags or no range (EINVAL), a region
 * that is no claimed BAR (ENODEV), unaligned or zero slices (EINVAL), a BAR
 * without a P2P provider or a slice past its end (EINVAL); a kernel built
 * without CONFIG_VFIO_PCI_DMABUF (PCI_P2PDMA && DMA_SHARED_BUFFER) answers
 * ENOTTY, as does one before 6.19. The library checks what it can before
 * the ioctl and names the kernel's reason after it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "config.h"
#include "vfio-iommufd/error.h"
#include "vfio-iommufd/device.h"
#include "util/kernel-internal.h"
#include "device-internal.h"
#include "trace.h"

#define KVER_DMA_BUF "6.19"
#define DMA_BUF_OPEN_FLAGS (O_ACCMODE | O_CLOEXEC | O_NONBLOCK)
/* VFIO_PCI_BAR0_REGION_INDEX .. BAR5: the regions that are BARs */
#define BAR_REGIONS 6u
/* struct vfio_device_feature_dma_buf before its ranges: four u32 */
#define PAYLOAD_HEAD 16u

/* Why the export's inputs are refused (before any ioctl), NULL if they are
 * fine; *@bad: the range at fault. */
static const char *export_refusal(unsigned region, const VfiDmaBufRange *ranges, unsigned n,
                                  int open_flags, unsigned *bad)
{
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), total = 0, end;

    if (region >= BAR_REGIONS) {
        return "the region is not a PCI BAR (0-5)";
    }
    if (!ranges || n == 0) {
        return "no range";
    }
    if (n > (UINT32_MAX - sizeof(struct vfio_device_feature) - PAYLOAD_HEAD) /
            sizeof(VfiDmaBufRange)) {
        return "too many ranges";
    }
    if (open_flags & ~DMA_BUF_OPEN_FLAGS) {
        return "open flags other than O_CLOEXEC, O_NONBLOCK and an access mode";
    }
    for (*bad = 0; *bad < n; (*bad)++) {
        const VfiDmaBufRange *r = &ranges[*bad];

        if (!r->length) {
            return "a range is empty";
        }
        if ((r->offset | r->length) & (page - 1)) {
            return "a range is not page aligned";
        }
        if (__builtin_add_overflow(r->offset, r->length, &end) ||
            __builtin_add_overflow(total, r->length, &total)) {
            return "a range overflows";
        }
    }
    return NULL;
}

/* The checks made before any ioctl; false with INVALID_ARGUMENT. */
static bool check_export(VfiDevice *dev, unsigned region, const VfiDmaBufRange *ranges,
                         unsigned n, int open_flags, GError **errp)
{
    unsigned bad = n;
    const char *why = export_refusal(region, ranges, n, open_flags, &bad);

    if (!why) {
        return true;
    }
    trace_vfi_device_refused(vfi_device_get_display_name(dev), why, 0);
    if (bad < n) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "dma-buf export of device %s BAR %u: %s (range %u: offset 0x%" PRIx64
                    " length 0x%" PRIx64 ")", vfi_device_get_display_name(dev), region, why,
                    bad, ranges[bad].offset, ranges[bad].length);
    } else {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "dma-buf export of device %s region %u: %s (open flags 0x%x)",
                    vfi_device_get_display_name(dev), region, why, (unsigned)open_flags);
    }
    return false;
}

#if HAVE_VFIO_DEVICE_FEATURE_DMA_BUF

G_STATIC_ASSERT(sizeof(struct vfio_device_feature_dma_buf) == PAYLOAD_HEAD);

/* What the kernel's errno means for an export that passed our checks. */
static const char *export_reason(int err)
{
    switch (err) {
    case ENOTTY:
        return "this kernel or driver has no dma-buf export (Linux 6.19 with "
               "CONFIG_VFIO_PCI_DMABUF, which needs PCI_P2PDMA and DMA_SHARED_BUFFER; "
               "vfio-pci devices only, no mdev)";
    case EOPNOTSUPP:
        return "the device's VFIO driver (a vfio-pci variant) offers no dma-buf export";
    case ENODEV:
        return "the region is no BAR the device has (absent, or not claimed), or the "
               "device is going away";
    case EINVAL:
        return "the BAR has no P2P provider (not a memory BAR, or not mappable), or a "
               "slice reaches past the BAR's end";
    case EOVERFLOW:
        return "a slice overflows the BAR's address";
    default:
        return "refused by the kernel";
    }
}

bool vfi_device_dma_buf_probe(VfiDevice *dev, bool *offered, GError **errp)
{
    VFI_LOCK_GUARD(vfi_device_lock(dev));
    struct vfio_device_feature f = { .argsz = sizeof(f) };
    int ret;

    if (!vfi_device_check_bound(dev, "dma-buf probe", errp)) {
        return false;
    }
    f.flags = VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_GET |
              VFIO_DEVICE_FEATURE_DMA_BUF;
    ret = VFI_KERNEL_IOCTL(vfi_device_get_fd(dev), VFIO_DEVICE_FEATURE, &f);
    if (ret < 0 && ret != -ENOTTY && ret != -EOPNOTSUPP) {
        vfi_kernel_error(errp, -ret, "VFIO_DEVICE_FEATURE", KVER_DMA_BUF,
                         "device %s: probing DMA_BUF", vfi_device_get_display_name(dev));
        return false;
    }
    *offered = ret >= 0;
    trace_vfi_device_dma_buf_probe(vfi_device_get_display_name(dev), *offered, -MIN(ret, 0));
    return true;
}

bool vfi_device_export_dma_buf(VfiDevice *dev, unsigned region, const VfiDmaBufRange *ranges,
                               unsigned n, int open_flags, int *fd_out, GError **errp)
{
    VFI_LOCK_GUARD(vfi_device_lock(dev));
    size_t size = sizeof(struct vfio_device_feature) +
                  sizeof(struct vfio_device_feature_dma_buf) +
                  (size_t)n * sizeof(struct vfio_region_dma_range);
    g_autofree struct vfio_device_feature *f = NULL;
    struct vfio_device_feature_dma_buf *db;
    int ret;

    G_STATIC_ASSERT(sizeof(VfiDmaBufRange) == sizeof(struct vfio_region_dma_range));
    if (!vfi_device_check_bound(dev, "dma-buf export", errp) ||
        !check_export(dev, region, ranges, n, open_flags, errp)) {
        return false;
    }
    f = g_malloc0(size);
    f->argsz = size;
    f->flags = VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_DMA_BUF;
    db = (struct vfio_device_feature_dma_buf *)f->data;
    db->region_index = region;
    db->open_flags = open_flags;
    db->nr_ranges = n;
    memcpy(db->dma_ranges, ranges, n * sizeof(*ranges));
    ret = VFI_KERNEL_IOCTL(vfi_device_get_fd(dev), VFIO_DEVICE_FEATURE, f);
    if (ret < 0) {
        vfi_kernel_error(errp, -ret, "VFIO_DEVICE_FEATURE", KVER_DMA_BUF,
                         "device %s: dma-buf export of BAR %u (%u range%s, first offset 0x%"
                         PRIx64 " length 0x%" PRIx64 "): %s",
                         vfi_device_get_display_name(dev), region, n, n == 1 ? "" : "s",
                         ranges[0].offset, ranges[0].length, export_reason(-ret));
        return false;
    }
    trace_vfi_device_dma_buf_export(vfi_device_get_display_name(dev), region, n, ret);
    *fd_out = ret;
    return true;
}

#else /* UAPI headers before 6.19 */

bool vfi_device_dma_buf_probe(VfiDevice *dev, bool *offered, GError **errp)
{
    (void)dev;
    (void)offered;
    vfi_kernel_uapi_missing(errp, "dma-buf probe", "VFIO_DEVICE_FEATURE_DMA_BUF",
                            KVER_DMA_BUF);
    return false;
}

bool vfi_device_export_dma_buf(VfiDevice *dev, unsigned region, const VfiDmaBufRange *ranges,
                               unsigned n, int open_flags, int *fd_out, GError **errp)
{
    (void)fd_out;
    if (!vfi_device_check_bound(dev, "dma-buf export", errp) ||
        !check_export(dev, region, ranges, n, open_flags, errp)) {
        return false;
    }
    vfi_kernel_uapi_missing(errp, "dma-buf export", "VFIO_DEVICE_FEATURE_DMA_BUF",
                            KVER_DMA_BUF);
    return false;
}

#endif
