/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: the legacy VFIO type1 container (see backends/type1.h).
 *
 * One /dev/vfio/vfio fd, VFIO_SET_IOMMU with VFIO_TYPE1v2_IOMMU once its
 * first group joined, and one wrapper per type1 ioctl. Arguments are
 * checked before any ioctl (vfi_type1_reject says why); kernel errors carry
 * the errno and the container fd.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>

#include <linux/vfio.h>

#include "vfio-iommufd/error.h"
#include "backends/type1.h"
#include "util/kernel-internal.h"
#include "util/refuse.h"
#include "trace.h"

#define VFIO_CONTAINER_PATH "/dev/vfio/vfio"
/* Linux versions that added the calls, for the ENOTTY message. */
#define KVER_DIRTY "5.8"
/* GET_INFO's buffer: the info and its capability chain. */
#define INFO_BUF_MIN 4096u
#define INFO_BUF_MAX 65536u

struct VfiType1 {
    int fd;
    bool iommu_set;
};

/* Refuse a call before any ioctl: WRONG_STATE on a container, INVALID_ARGUMENT
 * without one. */
#define reject(t, func, errp, ...)                                                         \
    vfi_refuse((errp), (t) ? VFI_ERROR_WRONG_STATE : VFI_ERROR_INVALID_ARGUMENT,          \
               trace_vfi_type1_reject, (t) ? (t)->fd : -1, NULL, (func), __VA_ARGS__)

/* A container with its IOMMU set. */
static bool check_set(const VfiType1 *t, const char *func, GError **errp)
{
    if (!t) {
        return reject(t, func, errp, "no type1 container (NULL)");
    }
    if (!t->iommu_set) {
        return reject(t, func, errp, "container fd %d has no IOMMU set (no group joined yet)",
                      t->fd);
    }
    return true;
}

/* [iova, iova + size): size > 0, no wrap, 4 KiB aligned (the smallest
 * IOMMU page type1 offers on any host is PAGE_SIZE). */
static bool check_range(const VfiType1 *t, const char *func, uint64_t iova, uint64_t size,
                        GError **errp)
{
    if (!size || iova + size - 1 < iova || ((iova | size) & 0xfff)) {
        trace_vfi_type1_reject(t->fd, func, "bad range");
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "%s: container fd %d: IOVA range 0x%" G_GINT64_MODIFIER "x+0x%"
                    G_GINT64_MODIFIER "x is empty, wraps or is not 4 KiB aligned",
                    func, t->fd, iova, size);
        return false;
    }
    return true;
}

VfiType1 *vfi_type1_open(GError **errp)
{
    int fd = vfi_kernel_open(VFIO_CONTAINER_PATH, O_RDWR);
    int ret;
    VfiType1 *t;

    if (fd < 0) {
        vfi_kernel_error(errp, -fd, "open " VFIO_CONTAINER_PATH, NULL,
                         "no VFIO container (kernel without CONFIG_VFIO_CONTAINER, or "
                         "vfio not loaded)");
        return NULL;
    }
    ret = vfi_kernel_ioctl(fd, VFIO_GET_API_VERSION, NULL, "VFIO_GET_API_VERSION");
    if (ret == VFIO_API_VERSION) {
        ret = vfi_kernel_ioctl(fd, VFIO_CHECK_EXTENSION,
                               (void *)(uintptr_t)VFIO_TYPE1v2_IOMMU, "VFIO_CHECK_EXTENSION");
        if (ret == 1) {
            t = g_new0(VfiType1, 1);
            t->fd = fd;
            trace_vfi_type1_open(fd);
            return t;
        }
        g_set_error(errp, VFI_ERROR, VFI_ERROR_NOT_SUPPORTED,
                    "container fd %d: the kernel offers no type1v2 IOMMU (%d%s%s): "
                    "CONFIG_VFIO_IOMMU_TYPE1 missing?", fd, ret,
                    ret < 0 ? ", " : "", ret < 0 ? g_strerror(-ret) : "");
    } else {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_NOT_SUPPORTED,
                    "container fd %d: VFIO API version %d, this library speaks %d", fd, ret,
                    VFIO_API_VERSION);
    }
    vfi_kernel_close(fd);
    return NULL;
}

void vfi_type1_close(VfiType1 *t)
{
    if (!t) {
        return;
    }
    trace_vfi_type1_close(t->fd, t->iommu_set);
    vfi_kernel_close(t->fd);
    g_free(t);
}

int vfi_type1_get_fd(const VfiType1 *t)
{
    return t ? t->fd : -1;
}

bool vfi_type1_iommu_set(const VfiType1 *t)
{
    return t && t->iommu_set;
}

bool vfi_type1_set_iommu(VfiType1 *t, GError **errp)
{
    int ret;

    if (!t) {
        return reject(t, __func__, errp, "no type1 container (NULL)");
    }
    if (t->iommu_set) {
        return reject(t, __func__, errp, "container fd %d has its IOMMU set already", t->fd);
    }
    ret = vfi_kernel_ioctl(t->fd, VFIO_SET_IOMMU, (void *)(uintptr_t)VFIO_TYPE1v2_IOMMU,
                           "VFIO_SET_IOMMU");
    if (ret < 0) {
        vfi_kernel_error(errp, -ret, "VFIO_SET_IOMMU", NULL, "container fd %d, type1v2",
                         t->fd);
        return false;
    }
    t->iommu_set = true;
    return true;
}

void vfi_type1_iommu_released(VfiType1 *t)
{
    if (t) {
        t->iommu_set = false;
    }
}

/* ---- GET_INFO and its capability chain ------------------------------------- */

static void parse_ranges(const uint8_t *buf, uint32_t off, VfiType1Info *info)
{
    struct vfio_iommu_type1_info_cap_iova_range hdr;

    memcpy(&hdr, buf + off, sizeof(hdr));
    info->n_ranges = MIN(hdr.nr_iovas, VFI_TYPE1_MAX_RANGES);
    for (unsigned i = 0; i < info->n_ranges; i++) {
        struct vfio_iova_range r;

        memcpy(&r, buf + off + sizeof(hdr) + i * sizeof(r), sizeof(r));
        info->ranges[i] = (VfiIovaRange) { .start = r.start, .last = r.end };
    }
}

/* Walk the chain of @buf (@len bytes) from @off; false on a link out of
 * the buffer or a loop. */
static bool parse_caps(const uint8_t *buf, uint32_t len, uint32_t off, VfiType1Info *info)
{
    for (unsigned hops = 0; off; hops++) {
        struct vfio_info_cap_header h;

        if (hops > 64 || off < sizeof(struct vfio_iommu_type1_info) ||
            off > len - sizeof(h)) {
            return false;
        }
        memcpy(&h, buf + off, sizeof(h));
        if (h.id == VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION &&
            off + sizeof(struct vfio_iommu_type1_info_cap_migration) <= len) {
            struct vfio_iommu_type1_info_cap_migration m;

            memcpy(&m, buf + off, sizeof(m));
            info->has_migration = true;
            info->dirty_pgsizes = m.pgsize_bitmap;
            info->max_dirty_bitmap_size = m.max_dirty_bitmap_size;
        } else if (h.id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL &&
                   off + sizeof(struct vfio_iommu_type1_info_dma_avail) <= len) {
            struct vfio_iommu_type1_info_dma_avail a;

            memcpy(&a, buf + off, sizeof(a));
            info->has_dma_avail = true;
            info->dma_avail = a.avail;
        } else if (h.id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE &&
                   off + sizeof(struct vfio_iommu_type1_info_cap_iova_range) <= len) {
            parse_ranges(buf, off, info);
        }
        off = h.next;
    }
    return true;
}

bool vfi_type1_get_info(VfiType1 *t, VfiType1Info *info, GError **errp)
{
    g_autofree uint8_t *buf = NULL;
    struct vfio_iommu_type1_info head;
    uint32_t size = INFO_BUF_MIN;
    int ret;

    if (!check_set(t, __func__, errp)) {
        return false;
    }
    for (unsigned tries = 0; tries < 2; tries++) {
        g_free(buf);
        buf = g_malloc0(size);
        head = (struct vfio_iommu_type1_info) { .argsz = size };
        memcpy(buf, &head, sizeof(head));
        ret = vfi_kernel_ioctl(t->fd, VFIO_IOMMU_GET_INFO, buf, "VFIO_IOMMU_GET_INFO");
        if (ret < 0) {
            vfi_kernel_error(errp, -ret, "VFIO_IOMMU_GET_INFO", NULL, "container fd %d", t->fd);
            return false;
        }
        memcpy(&head, buf, sizeof(head));
        if (head.argsz <= size || head.argsz > INFO_BUF_MAX) {
            break;
        }
        size = head.argsz;      /* the chain needs more room: once more */
    }
    memset(info, 0, sizeof(*info));
    info->iova_pgsizes = head.flags & VFIO_IOMMU_INFO_PGSIZES ? head.iova_pgsizes : 0;
    if ((head.flags & VFIO_IOMMU_INFO_CAPS) && head.argsz <= size &&
        !parse_caps(buf, size, head.cap_offset, info)) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_HOST,
                    "VFIO_IOMMU_GET_INFO: container fd %d: a capability chain link out "
                    "of the %u bytes returned", t->fd, size);
        return false;
    }
    return true;
}

/* ---- map, unmap ------------------------------------------------------------- */

bool vfi_type1_map(VfiType1 *t, uint64_t iova, uint64_t size, void *vaddr, bool readonly,
                   GError **errp)
{
    struct vfio_iommu_type1_dma_map m = {
        .argsz = sizeof(m),
        .flags = VFIO_DMA_MAP_FLAG_READ | (readonly ? 0 : VFIO_DMA_MAP_FLAG_WRITE),
        .vaddr = (uintptr_t)vaddr, .iova = iova, .size = size,
    };
    int ret;

    if (!check_set(t, __func__, errp) || !check_range(t, __func__, iova, size, errp)) {
        return false;
    }
    if (!vaddr || ((uintptr_t)vaddr & 0xfff)) {
        return reject(t, __func__, errp, "container fd %d: user address %p is NULL or not "
                      "page aligned", t->fd, vaddr);
    }
    ret = VFI_KERNEL_IOCTL(t->fd, VFIO_IOMMU_MAP_DMA, &m);
    if (ret < 0) {
        vfi_kernel_error(errp, -ret, "VFIO_IOMMU_MAP_DMA", NULL,
                         "container fd %d, iova 0x%" G_GINT64_MODIFIER "x size 0x%"
                         G_GINT64_MODIFIER "x", t->fd, iova, size);
        return false;
    }
    return true;
}

bool vfi_type1_unmap(VfiType1 *t, uint64_t iova, uint64_t size, uint64_t pgsize,
                     void *bitmap, uint64_t bitmap_size, uint64_t *unmapped, GError **errp)
{
    uint8_t buf[sizeof(struct vfio_iommu_type1_dma_unmap) + sizeof(struct vfio_bitmap)] = { 0 };
    struct vfio_iommu_type1_dma_unmap u = { .argsz = sizeof(u), .iova = iova, .size = size };
    struct vfio_bitmap bm = { .pgsize = pgsize, .size = bitmap_size, .data = bitmap };
    int ret;

    if (!check_set(t, __func__, errp) || !check_range(t, __func__, iova, size, errp)) {
        return false;
    }
    if (bitmap && (!pgsize || (pgsize & (pgsize - 1)) ||
                   bitmap_size < (size / pgsize + 63) / 64 * 8)) {
        return reject(t, __func__, errp, "container fd %d: dirty bitmap of %" G_GUINT64_FORMAT
                      " bytes at page size %" G_GUINT64_FORMAT " is too small or the page "
                      "size is no power of two", t->fd, bitmap_size, pgsize);
    }
    if (bitmap) {
        u.argsz = sizeof(buf);
        u.flags = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP;
        memcpy(buf + sizeof(u), &bm, sizeof(bm));
    }
    memcpy(buf, &u, sizeof(u));
    ret = VFI_KERNEL_IOCTL(t->fd, VFIO_IOMMU_UNMAP_DMA, buf);
    memcpy(&u, buf, sizeof(u));
    if (ret < 0) {
        vfi_kernel_error(errp, -ret, "VFIO_IOMMU_UNMAP_DMA", NULL,
                         "container fd %d, iova 0x%" G_GINT64_MODIFIER "x size 0x%"
                         G_GINT64_MODIFIER "x%s", t->fd, iova, size,
                         bitmap ? " with the dirty bitmap" : "");
        return false;
    }
    if (unmapped) {
        *unmapped = u.size;
    }
    return true;
}

/* ---- dirty pages ------------------------------------------------------------- */

bool vfi_type1_dirty_tracking(VfiType1 *t, bool start, GError **errp)
{
    struct vfio_iommu_type1_dirty_bitmap d = {
        .argsz = sizeof(d),
        .flags = start ? VFIO_IOMMU_DIRTY_PAGES_FLAG_START : VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP,
    };
    int ret;

    if (!check_set(t, __func__, errp)) {
        return false;
    }
    ret = VFI_KERNEL_IOCTL(t->fd, VFIO_IOMMU_DIRTY_PAGES, &d);
    if (ret < 0) {
        vfi_kernel_error(errp, -ret, "VFIO_IOMMU_DIRTY_PAGES", KVER_DIRTY, "container fd %d, %s",
                         t->fd, start ? "start" : "stop");
        return false;
    }
    return true;
}

bool vfi_type1_dirty_get(VfiType1 *t, uint64_t iova, uint64_t size, uint64_t pgsize,
                         void *bitmap, uint64_t bitmap_size, GError **errp)
{
    uint8_t buf[sizeof(struct vfio_iommu_type1_dirty_bitmap) +
                sizeof(struct vfio_iommu_type1_dirty_bitmap_get)] = { 0 };
    struct vfio_iommu_type1_dirty_bitmap d = {
        .argsz = sizeof(buf), .flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP,
    };
    struct vfio_iommu_type1_dirty_bitmap_get r = {
        .iova = iova, .size = size,
        .bitmap = { .pgsize = pgsize, .size = bitmap_size, .data = bitmap },
    };
    int ret;

    if (!check_set(t, __func__, errp) || !check_range(t, __func__, iova, size, errp)) {
        return false;
    }
    if (!bitmap || !pgsize || (pgsize & (pgsize - 1)) ||
        bitmap_size < (size / pgsize + 63) / 64 * 8) {
        return reject(t, __func__, errp, "container fd %d: no bitmap, a page size that is no "
                      "power of two, or a bitmap too small for the range", t->fd);
    }
    memcpy(buf, &d, sizeof(d));
    memcpy(buf + sizeof(d), &r, sizeof(r));
    ret = VFI_KERNEL_IOCTL(t->fd, VFIO_IOMMU_DIRTY_PAGES, buf);
    if (ret < 0) {
        vfi_kernel_error(errp, -ret, "VFIO_IOMMU_DIRTY_PAGES", KVER_DIRTY,
                         "container fd %d, get bitmap of iova 0x%" G_GINT64_MODIFIER "x size 0x%"
                         G_GINT64_MODIFIER "x page size %" G_GUINT64_FORMAT, t->fd, iova, size,
                         pgsize);
        return false;
    }
    return true;
}
