/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfio-iommufd: symbol visibility. The library is built with hidden
 * visibility by default; only functions marked VFIO_IOMMUFD_API are exported. */
#ifndef VFIO_IOMMUFD_VISIBILITY_H
#define VFIO_IOMMUFD_VISIBILITY_H

#if defined(VFIO_IOMMUFD_BUILDING)
#define VFIO_IOMMUFD_API __attribute__((visibility("default")))
#else
#define VFIO_IOMMUFD_API
#endif

#endif
