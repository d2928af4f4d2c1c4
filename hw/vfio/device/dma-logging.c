/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: VFIO device DMA logging (VFIO_DEVICE_FEATURE with
 * DMA_LOGGING_START / STOP / REPORT), one ioctl per function, and the
 * device's logging state they leave (offered, on, the logged ranges).
 *
 * The feature header (argsz, flags) is followed by the feature's payload in
 * one buffer; the buffers live on the stack (no allocation, so a report in a
 * migration's sync loop costs nothing but the ioctl).
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <string.h>

#include <linux/vfio.h>

#include "vfio-iommufd/error.h"
#include "vfio-iommufd/dirty.h"
#include "util/kernel-internal.h"
#include "util/kept.h"
#include "device-internal.h"
#include "trace.h"

#define KVER_DMA_LOGGING "6.2"


/* The largest feature payload sent here. */
#define FEATURE_PAYLOAD_MAX sizeof(struct vfio_device_feature_dma_logging_report)
G_STATIC_ASSERT(sizeof(struct vfio_device_feature_dma_logging_control) <=
                FEATURE_PAYLOAD_MAX);

/* The device's logging is on, for these ranges (copied) and page size. */
static void logging_record(VfiDevice *dev, uint64_t page_size,
                           const VfiDmaLoggingRange *ranges, unsigned n)
{
    vfi_device_dma_logging_forget(dev);
    dev->logged = g_array_sized_new(false, false, sizeof(VfiRange), n);
    for (unsigned i = 0; i < n; i++) {
        VfiRange r = { ranges[i].iova, ranges[i].iova + (ranges[i].length - 1) };

        vfi_ranges_add_merged(dev->logged, r.iova, r.last);
    }
    dev->logging_page_size = page_size;
    dev->logging_on = true;
}

void vfi_device_dma_logging_forget(VfiDevice *dev)
{
    dev->logging_on = false;
    dev->logging_page_size = 0;
    g_clear_pointer(&dev->logged, g_array_unref);
    g_clear_pointer(&dev->kept, g_array_unref);
}

void vfi_device_dma_logging_unmapped(VfiDevice *dev, uint64_t iova, uint64_t last)
{
    vfi_kept_forget(dev->kept, iova, last);
}

bool vfi_device_dma_logging_covers(const VfiDevice *dev, uint64_t iova, uint64_t last)
{
    return !dev->logging_on || vfi_ranges_contain(dev->logged, iova, last);
}

bool vfi_device_dma_logging_active(const VfiDevice *dev)
{
    VFI_LOCK_GUARD(vfi_device_lock(dev));

    return dev && dev->logging_on;
}

VfiDmaLoggingRange *vfi_device_dma_logging_ranges(const VfiDevice *dev, unsigned *n,
                                                  uint64_t *page_size)
{
    VFI_LOCK_GUARD(vfi_device_lock(dev));
    VfiDmaLoggingRange *out;
    guint len = dev && dev->logging_on ? dev->logged->len : 0;

    if (n) {
        *n = len;
    }
    if (page_size) {
        *page_size = len ? dev->logging_page_size : 0;
    }
    if (!len) {
        return NULL;
    }
    out = g_new(VfiDmaLoggingRange, len);
    for (guint i = 0; i < len; i++) {
        VfiRange *r = &g_array_index(dev->logged, VfiRange, i);

        out[i] = (VfiDmaLoggingRange){ .iova = r->iova, .length = r->last - r->iova + 1 };
    }
    return out;
}

bool vfi_device_offers_dma_logging(const VfiDevice *dev)
{
    VFI_LOCK_GUARD(vfi_device_lock(dev));

    return dev && dev->logging_offered;
}

/* VFIO_DEVICE_FEATURE with @flags and @len bytes of @payload after the
 * header, in one buffer on the stack (no allocation: a report in a
 * migration's sync loop costs nothing but the ioctl). 0 or -errno. */
static int feature_call(VfiDevice *dev, uint32_t flags, const void *payload, size_t len)
{
    union {
        struct vfio_device_feature hdr;
        uint64_t align_;
        uint8_t bytes[sizeof(struct vfio_device_feature) + FEATURE_PAYLOAD_MAX];
    } buf;
    size_t total = sizeof(struct vfio_device_feature) + len;

    g_assert(len <= FEATURE_PAYLOAD_MAX);
    memset(&buf, 0, sizeof(buf));
    buf.hdr.argsz = total;
    buf.hdr.flags = flags;
    if (len) {
        memcpy(buf.bytes + sizeof(struct vfio_device_feature), payload, len);
    }
    return VFI_KERNEL_IOCTL(vfi_device_get_fd(dev), VFIO_DEVICE_FEATURE, &buf);
}

bool vfi_device_dma_logging_probe(VfiDevice *dev, bool *offered, GError **errp)
{
    VFI_LOCK_GUARD(vfi_device_lock(dev));
    int ret;

    if (!vfi_device_check_bound(dev, "DMA logging probe", errp)) {
        return false;
    }
    ret = feature_call(dev, VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET |
                            VFIO_DEVICE_FEATURE_DMA_LOGGING_START, NULL, 0);
    if (ret == -ENOTTY) {
        /* vfio core: the device's driver has no DMA logging ops */
        *offered = dev->logging_offered = false;
        return true;
    }
    if (ret < 0) {
        vfi_kernel_error(errp, -ret, "VFIO_DEVICE_FEATURE", KVER_DMA_LOGGING,
                          "device %s: probing DMA_LOGGING_START", vfi_device_get_display_name(dev));
        return false;
    }
    *offered = dev->logging_offered = true;
    return true;
}

bool vfi_device_dma_logging_start(VfiDevice *dev, uint64_t page_size,
                                   const VfiDmaLoggingRange *ranges, unsigned n,
                                   GError **errp)
{
    VFI_LOCK_GUARD(vfi_device_lock(dev));
    struct vfio_device_feature_dma_logging_control ctl;
    int ret;

    G_STATIC_ASSERT(sizeof(VfiDmaLoggingRange) ==
                    sizeof(struct vfio_device_feature_dma_logging_range));
    G_STATIC_ASSERT(offsetof(VfiDmaLoggingRange, length) ==
                    offsetof(struct vfio_device_feature_dma_logging_range, length));

    if (!vfi_device_check_bound(dev, "DMA logging start", errp)) {
        return false;
    }
    if (!ranges || n == 0 || page_size == 0 || (page_size & (page_size - 1))) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "DMA logging start of device %s: %s", vfi_device_get_display_name(dev),
                    !ranges || n == 0 ? "no range" : "page size not a power of two");
        return false;
    }
    memset(&ctl, 0, sizeof(ctl));
    ctl.page_size = page_size;
    ctl.num_ranges = n;
    ctl.ranges = (uintptr_t)ranges;
    ret = feature_call(dev, VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_START,
                       &ctl, sizeof(ctl));
    if (ret < 0) {
        vfi_kernel_error(errp, -ret, "VFIO_DEVICE_FEATURE", KVER_DMA_LOGGING,
                          "device %s: DMA_LOGGING_START of %u ranges, page size 0x%" PRIx64
                          "%s", vfi_device_get_display_name(dev), n, page_size,
                          ret == -E2BIG ? ": too many ranges for the device" : "");
        return false;
    }
    logging_record(dev, page_size, ranges, n);
    return true;
}

bool vfi_device_dma_logging_stop(VfiDevice *dev, GError **errp)
{
    VFI_LOCK_GUARD(vfi_device_lock(dev));
    int ret;

    if (!vfi_device_check_bound(dev, "DMA logging stop", errp)) {
        return false;
    }
    ret = feature_call(dev, VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP,
                       NULL, 0);
    if (ret < 0) {
        vfi_kernel_error(errp, -ret, "VFIO_DEVICE_FEATURE", KVER_DMA_LOGGING,
                          "device %s: DMA_LOGGING_STOP", vfi_device_get_display_name(dev));
        return false;
    }
    vfi_device_dma_logging_forget(dev);
    return true;
}

static bool report_ioctl(VfiDevice *dev, uint64_t iova, uint64_t size, uint64_t page_size,
                         void *bitmap, GError **errp)
{
    VFI_LOCK_GUARD(vfi_device_lock(dev));
    struct vfio_device_feature_dma_logging_report rep;
    int ret;

    if (!vfi_device_check_bound(dev, "DMA logging report", errp)) {
        return false;
    }
    if (!bitmap || size == 0 || page_size < VFI_DMA_LOGGING_MIN_PAGE_SIZE ||
        (page_size & (page_size - 1)) || ((iova | size) & (page_size - 1)) ||
        iova + (size - 1) < iova) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "DMA logging report of device %s: bad arguments (page size: a power of "
                    "two of at least 4 KiB; iova 0x%" PRIx64
                    " size 0x%" PRIx64 " page size 0x%" PRIx64 "%s)",
                    vfi_device_get_display_name(dev), iova, size, page_size,
                    bitmap ? "" : ", no bitmap");
        return false;
    }
    rep.iova = iova;
    rep.length = size;
    rep.page_size = page_size;
    rep.bitmap = (uintptr_t)bitmap;
    ret = feature_call(dev, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT,
                       &rep, sizeof(rep));
    if (ret < 0) {
        vfi_kernel_error(errp, -ret, "VFIO_DEVICE_FEATURE", KVER_DMA_LOGGING,
                          "device %s: DMA_LOGGING_REPORT iova 0x%" PRIx64 " size 0x%" PRIx64
                          " page size 0x%" PRIx64, vfi_device_get_display_name(dev), iova, size,
                          page_size);
        return false;
    }
    return true;
}

/* A NO_CLEAR read: the report into a buffer of its own, whose pages are
 * kept before they are ORed into @bitmap. */
static bool read_keep(VfiDevice *dev, uint64_t iova, uint64_t size, uint64_t ps, void *bitmap,
                      GError **errp)
{
    uint64_t n = size / ps, words = (n + 63) / 64;
    g_autofree uint64_t *bits = words <= SIZE_MAX / 8 ? g_try_new0(uint64_t, words) : NULL;

    if (!bits) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_HOST,
                    "DMA logging read of device %s: no memory for %" PRIu64 " pages (ENOMEM)",
                    vfi_device_get_display_name(dev), n);
        return false;
    }
    if (!report_ioctl(dev, iova, size, ps, bits, errp)) {
        return false;
    }
    vfi_kept_add(&dev->kept, iova, ps, bits, 0, n);
    for (uint64_t w = 0; w < words; w++) {
        uint8_t *dst = (uint8_t *)bitmap + w * 8;
        uint64_t v;

        memcpy(&v, dst, sizeof(v));
        v |= bits[w];
        memcpy(dst, &v, sizeof(v));
    }
    return true;
}

bool vfi_device_dma_logging_read(VfiDevice *dev, uint64_t iova, uint64_t size,
                                 uint64_t page_size, void *bitmap, bool keep, GError **errp)
{
    bool ok = keep ? read_keep(dev, iova, size, page_size, bitmap, errp) :
                     report_ioctl(dev, iova, size, page_size, bitmap, errp);

    if (ok) {
        vfi_kept_report(dev->kept, iova, iova + (size - 1), page_size, bitmap, iova);
        if (!keep) {
            vfi_kept_forget(dev->kept, iova, iova + (size - 1));
        }
    }
    return ok;
}

bool vfi_device_dma_logging_report(VfiDevice *dev, uint64_t iova, uint64_t size,
                                   uint64_t page_size, void *bitmap, GError **errp)
{
    return vfi_device_dma_logging_read(dev, iova, size, page_size, bitmap, false, errp);
}
