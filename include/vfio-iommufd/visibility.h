/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfio-iommufd: symbol visibility. The library is built with hidden
 * visibility by default; only functions marked VFI_API are exported. */
#ifndef VFI_VISIBILITY_H
#define VFI_VISIBILITY_H

#if defined(VFI_BUILDING)
/* Marks a function of the API: exported from the library. */
#define VFI_API __attribute__((visibility("default")))
#else
/* Marks a function of the API (nothing to do on the users' side). */
#define VFI_API
#endif

#endif
