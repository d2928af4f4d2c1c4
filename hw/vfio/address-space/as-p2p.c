/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: peer-to-peer mappings of the whole guest: a slice of a
 * device's BAR exported as a dma-buf (the device layer's
 * vfi_device_export_dma_buf()) and mapped by file into every container of
 * the address space (vfi_address_space_dma_map_file()), in one call. The
 * dma-buf has one range, the only kind iommufd maps (7.3); the address
 * space's duplicate of its fd keeps it for replays; the call's own fd is
 * closed before it returns, so a failure anywhere leaves no fd and no
 * dma-buf behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <unistd.h>

#include "vfio-iommufd/error.h"
#include "vfio-iommufd/device.h"
#include "address-space-internal.h"
#include "trace.h"

/* What iommufd's errno means for a VFIO dma-buf (7.3's
 * iopt_map_file_pages() and vfio_pci_dma_buf_iommufd_map()). */
static const char *map_hint(const GError *err)
{
    if (err->domain != VFI_KERNEL_ERROR) {
        return "";
    }
    switch (err->code) {
    case ENODEV:
        return ": the dma-buf is revoked (the device's memory decoding is off, it is being "
               "reset, or it was closed)";
    case EOPNOTSUPP:
        return ": this kernel's iommufd does not map this dma-buf (it maps VFIO dma-bufs "
               "of one range, from Linux 6.19 with CONFIG_VFIO_PCI_DMABUF)";
    default:
        return "";
    }
}

bool vfi_address_space_dma_map_device_bar(VfiAddressSpace *as, uint64_t iova,
                                          VfiDevice *dev, unsigned region, uint64_t offset,
                                          uint64_t size, bool readonly, uint64_t *iova_out,
                                          GError **errp)
{
    VfiDmaBufRange range = { .offset = offset, .length = size };
    g_autoptr(GError) local = NULL;
    int fd = -1;
    bool ok;

    if (!as || !dev) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "address space map of a device BAR: %s is NULL", as ? "device" : "as");
        return false;
    }
    if (!vfi_device_export_dma_buf(dev, region, &range, 1, O_RDWR | O_CLOEXEC, &fd, errp)) {
        return false;
    }
    ok = vfi_address_space_dma_map_file(as, iova, size, fd, 0, readonly, iova_out, &local);
    close(fd);
    if (!ok) {
        g_set_error(errp, local->domain, local->code,
                    "peer-to-peer map of device %s BAR %u offset 0x%" PRIx64
                    " (dma-buf, closed again): %s%s", vfi_device_get_display_name(dev), region,
                    offset, local->message, map_hint(local));
        return false;
    }
    trace_vfi_as_dma_map_device_bar(vfi_device_get_display_name(dev), region, offset, size,
                                    iova_out ? *iova_out : iova);
    return true;
}
