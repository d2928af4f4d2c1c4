/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* <vfio-iommufd/version.h>, VFI_CHECK_VERSION() and the run-time version
 * agree with each other and with the project version (EXPECTED_VERSION). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vfio-iommufd/version.h>

#if !VFI_CHECK_VERSION(0, 2, 0)
#error "VFI_CHECK_VERSION(0, 2, 0) is false in #if"
#endif

#define CHECK(cond) check((cond), #cond, __LINE__)

static void check(int ok, const char *what, int line)
{
    if (!ok) {
        fprintf(stderr, "version.c:%d: %s failed\n", line, what);
        exit(1);
    }
}

int main(void)
{
    unsigned major = 99, minor = 99, micro = 99;
    char built[64];

    vfi_get_version(&major, &minor, &micro);
    vfi_get_version(NULL, NULL, NULL);
    snprintf(built, sizeof(built), "%u.%u.%u", VFI_VERSION_MAJOR, VFI_VERSION_MINOR,
             VFI_VERSION_MICRO);
    printf("version: headers %s, library %s (%u.%u.%u), project %s\n", built,
           vfi_version_string(), major, minor, micro, EXPECTED_VERSION);
    CHECK(strcmp(built, EXPECTED_VERSION) == 0);
    CHECK(strcmp(VFI_VERSION_STRING, EXPECTED_VERSION) == 0);
    CHECK(strcmp(vfi_version_string(), EXPECTED_VERSION) == 0);
    CHECK(major == VFI_VERSION_MAJOR && minor == VFI_VERSION_MINOR &&
          micro == VFI_VERSION_MICRO);
    CHECK(VFI_CHECK_VERSION(0, 0, 0));
    CHECK(VFI_CHECK_VERSION(VFI_VERSION_MAJOR, VFI_VERSION_MINOR, VFI_VERSION_MICRO));
    CHECK(!VFI_CHECK_VERSION(VFI_VERSION_MAJOR, VFI_VERSION_MINOR, VFI_VERSION_MICRO + 1));
    CHECK(!VFI_CHECK_VERSION(VFI_VERSION_MAJOR, VFI_VERSION_MINOR + 1, 0));
    CHECK(!VFI_CHECK_VERSION(VFI_VERSION_MAJOR + 1, 0, 0));
    if (VFI_VERSION_MINOR > 0) {
        CHECK(VFI_CHECK_VERSION(VFI_VERSION_MAJOR, VFI_VERSION_MINOR - 1, 99));
    }
    return 0;
}
