/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: error domains.
 *
 * Every function of the library that can fail takes a GError **errp as its
 * last argument and returns false (or NULL) on failure.  Errors come in two
 * domains:
 *
 *  - VFIO_IOMMUFD_KERNEL_ERROR: the kernel refused an ioctl.  The error code
 *    is the positive errno the kernel returned (EINVAL, EBUSY, ENOENT, ...), so
 *    a caller can tell, for example, an incompatible attach (EINVAL) from any
 *    other failure with g_error_matches(err, VFIO_IOMMUFD_KERNEL_ERROR, EINVAL).
 *    The message names the ioctl, the errno and the ids involved.
 *
 *  - VFIO_IOMMUFD_ERROR: the library refused the call itself, before any
 *    ioctl was made (bad argument, wrong state, lookup failure).  Nothing was
 *    changed.  The code is a VfioIommufdErrorCode.
 */
#ifndef VFIO_IOMMUFD_ERROR_H
#define VFIO_IOMMUFD_ERROR_H

#include <stdbool.h>
#include <stdio.h>
#include <glib.h>

#include "vfio-iommufd/visibility.h"

G_BEGIN_DECLS

typedef enum {
    /* A bad argument: NULL, zero size, overflow, misalignment, out of range. */
    VFIO_IOMMUFD_ERROR_INVALID_ARGUMENT = 1,
    /* The object is in the wrong state for the call (not bound, already
     * attached, still in use, not connected ...). */
    VFIO_IOMMUFD_ERROR_WRONG_STATE,
    /* A lookup failed: no such device, no cdev in sysfs, unknown id. */
    VFIO_IOMMUFD_ERROR_NOT_FOUND,
    /* A host-side operation outside the ioctl layer failed (reading sysfs,
     * parsing a file). The message carries the errno where there is one. */
    VFIO_IOMMUFD_ERROR_HOST,
} VfioIommufdErrorCode;

/* Domain of errors the library detects itself (VfioIommufdErrorCode). */
#define VFIO_IOMMUFD_ERROR (vfio_iommufd_error_quark())
/* Domain of errors the kernel returned: the code is the positive errno. */
#define VFIO_IOMMUFD_KERNEL_ERROR (vfio_iommufd_kernel_error_quark())

VFIO_IOMMUFD_API GQuark vfio_iommufd_error_quark(void);
VFIO_IOMMUFD_API GQuark vfio_iommufd_kernel_error_quark(void);

G_END_DECLS

#endif
