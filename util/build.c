/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the library was compiled with (include/vfio-iommufd/build.h): the
 * config.h probes of the UAPI headers (root meson.build, uapi_features). */
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "vfio-iommufd/build.h"

typedef struct BuildFeature {
    uint32_t bit;
    const char *name;
    int have;
} BuildFeature;

static const BuildFeature features[] = {
    { VFI_BUILD_HWPT_INVALIDATE, "IOMMU_HWPT_INVALIDATE", HAVE_IOMMU_HWPT_INVALIDATE },
    { VFI_BUILD_FAULT_QUEUE_ALLOC, "IOMMU_FAULT_QUEUE_ALLOC", HAVE_IOMMU_FAULT_QUEUE_ALLOC },
    { VFI_BUILD_IOAS_MAP_FILE, "IOMMU_IOAS_MAP_FILE", HAVE_IOMMU_IOAS_MAP_FILE },
    { VFI_BUILD_IOAS_CHANGE_PROCESS, "IOMMU_IOAS_CHANGE_PROCESS",
      HAVE_IOMMU_IOAS_CHANGE_PROCESS },
    { VFI_BUILD_VIOMMU_ALLOC, "IOMMU_VIOMMU_ALLOC", HAVE_IOMMU_VIOMMU_ALLOC },
    { VFI_BUILD_VDEVICE_ALLOC, "IOMMU_VDEVICE_ALLOC", HAVE_IOMMU_VDEVICE_ALLOC },
    { VFI_BUILD_VEVENTQ_ALLOC, "IOMMU_VEVENTQ_ALLOC", HAVE_IOMMU_VEVENTQ_ALLOC },
    { VFI_BUILD_HWPT_ALLOC_PASID, "IOMMU_HWPT_ALLOC_PASID", HAVE_IOMMU_HWPT_ALLOC_PASID },
    { VFI_BUILD_HW_INFO_MAX_PASID, "out_max_pasid_log2", HAVE_IOMMU_HW_INFO_MAX_PASID },
    { VFI_BUILD_DEVICE_PASID, "VFIO_DEVICE_ATTACH_PASID", HAVE_VFIO_DEVICE_ATTACH_PASID },
    { VFI_BUILD_HW_QUEUE_ALLOC, "IOMMU_HW_QUEUE_ALLOC", HAVE_IOMMU_HW_QUEUE_ALLOC },
    { VFI_BUILD_HW_INFO_INPUT_TYPE, "IOMMU_HW_INFO_FLAG_INPUT_TYPE",
      HAVE_IOMMU_HW_INFO_FLAG_INPUT_TYPE },
    { VFI_BUILD_DEVICE_DMA_BUF, "VFIO_DEVICE_FEATURE_DMA_BUF",
      HAVE_VFIO_DEVICE_FEATURE_DMA_BUF },
};

uint32_t vfi_build_features(void)
{
    uint32_t mask = 0;

    for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++) {
        if (features[i].have) {
            mask |= features[i].bit;
        }
    }
    return mask;
}

const char *vfi_build_feature_name(uint32_t feature)
{
    for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++) {
        if (features[i].bit == feature) {
            return features[i].name;
        }
    }
    return NULL;
}
