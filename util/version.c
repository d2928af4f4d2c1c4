/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The library's version at run time (include/vfio-iommufd/version.h). */
#include <stddef.h>

#include "vfio-iommufd/version.h"

void vfi_get_version(unsigned *major, unsigned *minor, unsigned *micro)
{
    if (major) {
        *major = VFI_VERSION_MAJOR;
    }
    if (minor) {
        *minor = VFI_VERSION_MINOR;
    }
    if (micro) {
        *micro = VFI_VERSION_MICRO;
    }
}

const char *vfi_version_string(void)
{
    return VFI_VERSION_STRING;
}
