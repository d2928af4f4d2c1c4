/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: what this build of the library was compiled with.
 *
 * The library is compiled against the Linux UAPI headers (linux/iommufd.h,
 * linux/vfio.h) of the build machine, or those given with meson's
 * -Duapi_include=DIR. Linux 6.7's are the floor; what later headers add is
 * probed at configure time and compiled in only when the headers have it.
 * vfi_build_features() says which of those the headers had. A feature
 * compiled in still needs a kernel that has it: a kernel without the ioctl
 * answers ENOTTY (a VFI_KERNEL_ERROR naming the release that added it).
 */
#ifndef VFI_BUILD_H
#define VFI_BUILD_H

#include <stdint.h>

#include "vfio-iommufd/visibility.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The UAPI features after Linux 6.7, one bit each (the values are ABI); the
 * name is the UAPI symbol that was probed, the release the one that added
 * it. */
typedef enum {
    VFI_BUILD_HWPT_INVALIDATE = 1u << 0,     /* IOMMU_HWPT_INVALIDATE, 6.8 */
    VFI_BUILD_FAULT_QUEUE_ALLOC = 1u << 1,   /* IOMMU_FAULT_QUEUE_ALLOC, 6.11 */
    VFI_BUILD_IOAS_MAP_FILE = 1u << 2,       /* IOMMU_IOAS_MAP_FILE, 6.13 */
    VFI_BUILD_IOAS_CHANGE_PROCESS = 1u << 3, /* IOMMU_IOAS_CHANGE_PROCESS, 6.13 */
    VFI_BUILD_VIOMMU_ALLOC = 1u << 4,        /* IOMMU_VIOMMU_ALLOC, 6.13 */
    VFI_BUILD_VDEVICE_ALLOC = 1u << 5,       /* IOMMU_VDEVICE_ALLOC, 6.13 */
    VFI_BUILD_VEVENTQ_ALLOC = 1u << 6,       /* IOMMU_VEVENTQ_ALLOC, 6.15 */
    VFI_BUILD_HWPT_ALLOC_PASID = 1u << 7,    /* IOMMU_HWPT_ALLOC_PASID, 6.15 */
    VFI_BUILD_HW_INFO_MAX_PASID = 1u << 8,   /* iommu_hw_info.out_max_pasid_log2, 6.15 */
    VFI_BUILD_DEVICE_PASID = 1u << 9,        /* VFIO_DEVICE_ATTACH_PASID (and DETACH_PASID), 6.15 */
    VFI_BUILD_HW_QUEUE_ALLOC = 1u << 10,     /* IOMMU_HW_QUEUE_ALLOC, 6.17 */
    VFI_BUILD_HW_INFO_INPUT_TYPE = 1u << 11, /* IOMMU_HW_INFO_FLAG_INPUT_TYPE, 6.17 */
    VFI_BUILD_DEVICE_DMA_BUF = 1u << 12,     /* VFIO_DEVICE_FEATURE_DMA_BUF, 6.19 */
} VfiBuildFeature;

/* Returns: the VfiBuildFeature bits of the UAPI headers this library was
 * built against (Linux 7.3's have all of them; 6.12's the first two, and
 * out_max_pasid_log2 from the 6.12.y stable updates on). */
VFI_API uint32_t vfi_build_features(void);

/* Returns: the UAPI symbol of @feature ("IOMMU_VIOMMU_ALLOC"), NULL when
 * @feature is not exactly one known bit (static storage). */
VFI_API const char *vfi_build_feature_name(uint32_t feature);

#ifdef __cplusplus
}
#endif

#endif
