/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: error domains.
 *
 * Every function of the library that can fail takes a GError **errp as its
 * last argument and returns false (or NULL) on failure.  Errors come in two
 * domains:
 *
 *  - VFI_KERNEL_ERROR: the kernel refused an ioctl.  The error code
 *    is the positive errno the kernel returned (EINVAL, EBUSY, ENOENT, ...), so
 *    a caller can tell, for example, an incompatible attach (EINVAL) from any
 *    other failure with g_error_matches(err, VFI_KERNEL_ERROR, EINVAL).
 *    The message names the ioctl, the errno and the ids involved.
 *
 *  - VFI_ERROR: the library refused the call itself, before any
 *    ioctl was made (bad argument, wrong state, lookup failure).  Nothing was
 *    changed.  The code is a VfiErrorCode.  One call documents an exception:
 *    vfi_address_space_attach_device() asks the kernel what the device offers
 *    (binding it first if needed) before the refusals that depend on it;
 *    those ioctls only read, and the binding stays.
 */
#ifndef VFI_ERROR_H
#define VFI_ERROR_H

#include <stdbool.h>
#include <stdio.h>
#include <glib.h>

#include "vfio-iommufd/visibility.h"

G_BEGIN_DECLS

/* The codes of the VFI_ERROR domain. */
typedef enum {
    /* A bad argument: NULL, zero size, overflow, misalignment, out of range. */
    VFI_ERROR_INVALID_ARGUMENT = 1,
    /* The object is in the wrong state for the call (not bound, already
     * attached, still in use, not connected ...). */
    VFI_ERROR_WRONG_STATE,
    /* A lookup failed: no such device, no cdev in sysfs, unknown id. */
    VFI_ERROR_NOT_FOUND,
    /* A host-side operation outside the ioctl layer failed (reading sysfs,
     * parsing a file). The message carries the errno where there is one. */
    VFI_ERROR_HOST,
    /* The library was built without what the call needs: the Linux UAPI
     * headers it was compiled against lack the request (the message names
     * it, the release that added it, and says to rebuild with newer
     * headers). Nothing was changed. */
    VFI_ERROR_NOT_SUPPORTED,
    /* A hook of the VMM refused (VfiDeviceHooks): its message follows; what
     * the call had done was undone. */
    VFI_ERROR_VMM,
} VfiErrorCode;

/* Domain of errors the library detects itself (VfiErrorCode). */
#define VFI_ERROR (vfi_error_quark())
/* Domain of errors the kernel returned: the code is the positive errno. */
#define VFI_KERNEL_ERROR (vfi_kernel_error_quark())

/* Returns: the quark of the VFI_ERROR domain. */
VFI_API GQuark vfi_error_quark(void);
/* Returns: the quark of the VFI_KERNEL_ERROR domain. */
VFI_API GQuark vfi_kernel_error_quark(void);

G_END_DECLS

#endif
