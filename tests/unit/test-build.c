/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the library was built with (<vfio-iommufd/build.h>): its feature bits
 * agree with the UAPI headers this test is compiled against (the same
 * -Duapi_include), and the ioctl layer names the newer requests of those
 * headers.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <linux/iommufd.h>
#include <linux/version.h>
#include <linux/vfio.h>

#include "config.h"
#include "test-common.h"
#include "vfio-iommufd/build.h"
#include "util/ioctl-table.h"

/* What the headers have, read here with the preprocessor where the symbol
 * is a macro (independently of meson's probes), from config.h where it is
 * an enum constant or a struct member. */
static uint32_t headers_features(void)
{
    uint32_t f = 0;

#ifdef IOMMU_HWPT_INVALIDATE
    f |= VFI_BUILD_HWPT_INVALIDATE;
#endif
#ifdef IOMMU_FAULT_QUEUE_ALLOC
    f |= VFI_BUILD_FAULT_QUEUE_ALLOC;
#endif
#ifdef IOMMU_IOAS_MAP_FILE
    f |= VFI_BUILD_IOAS_MAP_FILE;
#endif
#ifdef IOMMU_IOAS_CHANGE_PROCESS
    f |= VFI_BUILD_IOAS_CHANGE_PROCESS;
#endif
#ifdef IOMMU_VIOMMU_ALLOC
    f |= VFI_BUILD_VIOMMU_ALLOC;
#endif
#ifdef IOMMU_VDEVICE_ALLOC
    f |= VFI_BUILD_VDEVICE_ALLOC;
#endif
#ifdef IOMMU_VEVENTQ_ALLOC
    f |= VFI_BUILD_VEVENTQ_ALLOC;
#endif
#ifdef IOMMU_HW_QUEUE_ALLOC
    f |= VFI_BUILD_HW_QUEUE_ALLOC;
#endif
#ifdef VFIO_DEVICE_ATTACH_PASID
    f |= VFI_BUILD_DEVICE_PASID;
#endif
#ifdef VFIO_DEVICE_FEATURE_DMA_BUF
    f |= VFI_BUILD_DEVICE_DMA_BUF;
#endif
    f |= HAVE_IOMMU_HWPT_ALLOC_PASID ? VFI_BUILD_HWPT_ALLOC_PASID : 0;
    f |= HAVE_IOMMU_HW_INFO_MAX_PASID ? VFI_BUILD_HW_INFO_MAX_PASID : 0;
    f |= HAVE_IOMMU_HW_INFO_FLAG_INPUT_TYPE ? VFI_BUILD_HW_INFO_INPUT_TYPE : 0;
    return f;
}

#define ALL_FEATURES 0x1fffu   /* the 13 bits of VfiBuildFeature */

static void test_features_match_headers(void **state)
{
    (void)state;
    print_message("UAPI headers %d.%d.%d, features 0x%x\n", LINUX_VERSION_CODE >> 16,
                  (LINUX_VERSION_CODE >> 8) & 0xff, LINUX_VERSION_CODE & 0xff,
                  vfi_build_features());
    assert_int_equal(vfi_build_features(), headers_features());
    assert_int_equal(vfi_build_features() & ~ALL_FEATURES, 0);
    /* The headers' own version says what they must have: 6.19 and later
     * all of it; 6.12 (Debian 12's bookworm-backports) up to 6.11's, and
     * from 6.12.y stable updates out_max_pasid_log2 (in 6.12.95). */
    if (LINUX_VERSION_CODE >= KERNEL_VERSION(6, 19, 0)) {
        assert_int_equal(vfi_build_features(), ALL_FEATURES);
    } else if (LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0) &&
               LINUX_VERSION_CODE < KERNEL_VERSION(6, 13, 0)) {
        assert_int_equal(vfi_build_features() & ~VFI_BUILD_HW_INFO_MAX_PASID,
                         VFI_BUILD_HWPT_INVALIDATE | VFI_BUILD_FAULT_QUEUE_ALLOC);
    }
}

static void test_feature_names(void **state)
{
    g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);

    (void)state;
    for (unsigned bit = 0; bit < 32; bit++) {
        const char *name = vfi_build_feature_name(1u << bit);

        if (!(ALL_FEATURES & (1u << bit))) {
            assert_null(name);
            continue;
        }
        assert_non_null(name);
        assert_false(g_hash_table_contains(seen, name));
        g_hash_table_add(seen, (gpointer)name);
    }
    assert_string_equal(vfi_build_feature_name(VFI_BUILD_VIOMMU_ALLOC), "IOMMU_VIOMMU_ALLOC");
    assert_null(vfi_build_feature_name(0));
    assert_null(vfi_build_feature_name(VFI_BUILD_VIOMMU_ALLOC | VFI_BUILD_VDEVICE_ALLOC));
}

/* Describe @request's input and output (after @ret) into @out. */
static void describe(unsigned long request, const void *arg, int ret, char *out, size_t size)
{
    VfiIoctlText t;

    vfi_ioctl_describe_in(&t, VFI_FD_UNKNOWN, request, arg);
    vfi_ioctl_describe_out(&t, VFI_FD_UNKNOWN, request, arg, ret);
    g_strlcpy(out, t.buf, size);
}

/* Every IOMMUFD request of the headers up to 6.11's has a name in the
 * ioctl layer's table (the newer ones: test_ioctl_table_after_612()), the
 * hw info decodes out_max_pasid_log2 where the headers have it. */
static void test_ioctl_table_up_to_611(void **state)
{
    char text[256];

    (void)state;
    for (unsigned nr = 0x80; nr <= 0x8e; nr++) {
        assert_non_null(vfi_ioctl_name(VFI_FD_UNKNOWN, _IO(IOMMUFD_TYPE, nr)));
    }
    assert_null(vfi_ioctl_name(VFI_FD_UNKNOWN, _IO(IOMMUFD_TYPE, 0xff)));
    {
        struct iommu_hw_info h = { .size = sizeof(h), .dev_id = 2, .data_len = 24,
                                   .out_data_type = 1, .out_capabilities = 1 };

        describe(IOMMU_GET_HW_INFO, &h, 0, text, sizeof(text));
        assert_string_equal(text, HAVE_IOMMU_HW_INFO_MAX_PASID ?
                            " dev_id 2 data_len 24 -> data_type 1 data_len 24 capabilities "
                            "0x1 max_pasid_log2 0" :
                            " dev_id 2 data_len 24 -> data_type 1 data_len 24 capabilities 0x1");
    }
}

/* The requests after 6.12, when the headers have them. */
static void test_ioctl_table_after_612(void **state)
{
    char text[256];

    (void)state;
    (void)text;
    (void)describe;
#ifdef IOMMU_VIOMMU_ALLOC
    {
        struct iommu_viommu_alloc a = { .size = sizeof(a), .type = 1, .dev_id = 2,
                                        .hwpt_id = 3, .out_viommu_id = 7 };

        assert_string_equal(vfi_ioctl_name(VFI_FD_UNKNOWN, IOMMU_VIOMMU_ALLOC), "IOMMU_VIOMMU_ALLOC");
        describe(IOMMU_VIOMMU_ALLOC, &a, 0, text, sizeof(text));
        assert_string_equal(text, " flags 0x0 type 1 dev_id 2 hwpt_id 3 data_len 0 -> "
                                  "viommu_id 7");
        a.size = 4;
        describe(IOMMU_VIOMMU_ALLOC, &a, -EINVAL, text, sizeof(text));
        assert_string_equal(text, " size 4 (short: not decoded)");
    }
#endif
#ifdef IOMMU_IOAS_MAP_FILE
    {
        struct iommu_ioas_map_file m = { .size = sizeof(m), .ioas_id = 2, .fd = 5,
                                         .flags = IOMMU_IOAS_MAP_FIXED_IOVA, .start = 0x1000,
                                         .length = 0x2000, .iova = 0x10000 };

        describe(IOMMU_IOAS_MAP_FILE, &m, 0, text, sizeof(text));
        assert_string_equal(text, " ioas_id 2 flags 0x1 fd 5 start 0x1000 iova 0x10000 "
                                  "length 0x2000 -> iova 0x10000");
    }
#endif
#ifdef IOMMU_HW_QUEUE_ALLOC
    for (unsigned nr = 0x8f; nr <= IOMMUFD_CMD_HW_QUEUE_ALLOC; nr++) {
        assert_non_null(vfi_ioctl_name(VFI_FD_UNKNOWN, _IO(IOMMUFD_TYPE, nr)));
    }
    {
        struct iommu_veventq_alloc q = { .size = sizeof(q), .viommu_id = 7, .type = 1,
                                         .veventq_depth = 64, .out_veventq_id = 8,
                                         .out_veventq_fd = 9 };

        describe(IOMMU_VEVENTQ_ALLOC, &q, 0, text, sizeof(text));
        assert_string_equal(text, " flags 0x0 viommu_id 7 type 1 depth 64 -> veventq_id 8 "
                                  "veventq_fd 9");
    }
#endif
#ifdef VFIO_DEVICE_ATTACH_PASID
    {
        struct vfio_device_attach_iommufd_pt at = { .argsz = sizeof(at), .pt_id = 4,
                                                    .flags = VFIO_DEVICE_ATTACH_PASID,
                                                    .pasid = 3 };

        describe(VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at, 0, text, sizeof(text));
        assert_string_equal(text, " pt_id 4 flags 0x1 pasid 3 -> pt_id 4");
    }
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_features_match_headers),
        cmocka_unit_test(test_feature_names),
        cmocka_unit_test(test_ioctl_table_up_to_611),
        cmocka_unit_test(test_ioctl_table_after_612),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
