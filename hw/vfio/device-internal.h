/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: internal link between a VfiDevice (hw/vfio/device.c) and
 * the container layer's per-device state.
 *
 * The device layer stores one opaque pointer for the container layer and
 * never looks at it: the container layer sets it when it places a device in
 * a container and clears it (and frees what it points to) when the device
 * leaves. vfi_device_free() of a device still in a container first takes
 * it out through vfi_container_device_release(), so the container's lists
 * never point to a freed device.
 */
#ifndef VFI_HW_VFIO_DEVICE_INTERNAL_H
#define VFI_HW_VFIO_DEVICE_INTERNAL_H

#include "vfio-iommufd/device.h"

/* Set the container layer's private pointer of @dev (NULL to clear it). */
void vfi_device_set_container_priv(VfiDevice *dev, void *priv);
/* Returns: the container layer's private pointer of @dev, or NULL. */
void *vfi_device_get_container_priv(const VfiDevice *dev);

/* @dev non-NULL (INVALID_ARGUMENT) and bound to an iommufd (WRONG_STATE),
 * @what naming the operation in the message; no ioctl. For the ioctl
 * wrappers of other files (dma-logging.c). */
bool vfi_device_check_bound(const VfiDevice *dev, const char *what, GError **errp);

/* Take @dev out of the container it is in (as
 * vfi_address_space_detach_device() does); failures are traced and the
 * device leaves the container's lists anyway. Called by vfi_device_free(). */
void vfi_container_device_release(VfiDevice *dev);

#endif
