/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The ioctl layer: the Linux kernel by default, a model once installed, and
 * the kernel-error messages every layer builds on.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <linux/iommufd.h>

#include "test-common.h"
#include "vfio-iommufd/kernel.h"
#include "util/kernel-internal.h"

static void test_linux_default(void **state)
{
    struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };

    (void)state;
    assert_true(vfi_kernel_is_linux());
    assert_string_equal(vfi_kernel_sysfs_root(), "/sys");
    /* Real system calls: errors come back as negative errno. */
    assert_int_equal(vfi_kernel_open("/nonexistent/vfio-iommufd-test", O_RDWR), -ENOENT);
    assert_int_equal(VFI_KERNEL_IOCTL(-1, IOMMU_IOAS_ALLOC, &alloc), -EBADF);
    int fd = vfi_kernel_open("/dev/null", O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(VFI_KERNEL_IOCTL(fd, IOMMU_IOAS_ALLOC, &alloc), -ENOTTY);
    assert_int_equal(vfi_kernel_close(fd), 0);
    assert_int_equal(vfi_kernel_close(fd), -EBADF);
}

static void test_install_model(void **state)
{
    VfiSim *sim = test_sim_new(NULL);
    struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
    int fd;

    (void)state;
    assert_false(vfi_kernel_is_linux());
    assert_string_equal(vfi_kernel_sysfs_root(), vfi_sim_sysfs_root(sim));
    fd = vfi_kernel_open("/dev/iommu", O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(vfi_sim_open_fds(sim), 1);
    assert_int_equal(VFI_KERNEL_IOCTL(fd, IOMMU_IOAS_ALLOC, &alloc), 0);
    assert_int_not_equal(alloc.out_ioas_id, 0);
    assert_int_equal(vfi_sim_ioctl_count(sim), 1);
    assert_int_equal(vfi_sim_op_count(sim, VFI_SIM_OP_IOAS_ALLOC), 1);
    assert_int_equal(vfi_kernel_close(fd), 0);
    test_sim_free_clean(sim);
    /* Freeing the model restores Linux. */
    assert_true(vfi_kernel_is_linux());
    assert_string_equal(vfi_kernel_sysfs_root(), "/sys");
}

static void test_install_null_restores_linux(void **state)
{
    static const VfiKernelOps ops;

    (void)state;
    vfi_kernel_install(&ops, NULL, "/tmp/fake-sysfs");
    assert_false(vfi_kernel_is_linux());
    assert_string_equal(vfi_kernel_sysfs_root(), "/tmp/fake-sysfs");
    vfi_kernel_install(NULL, NULL, "/ignored");
    assert_true(vfi_kernel_is_linux());
    assert_string_equal(vfi_kernel_sysfs_root(), "/sys");
}

static void test_error_messages(void **state)
{
    g_autoptr(GError) err = NULL;

    (void)state;
    vfi_kernel_error(&err, ENOTTY, "IOMMU_HWPT_GET_DIRTY_BITMAP", "6.7", "hwpt %u", 7u);
    assert_true(g_error_matches(err, VFI_KERNEL_ERROR, ENOTTY));
    assert_non_null(strstr(err->message, "IOMMU_HWPT_GET_DIRTY_BITMAP"));
    assert_non_null(strstr(err->message, "not supported by this kernel"));
    assert_non_null(strstr(err->message, "Linux 6.7"));
    assert_non_null(strstr(err->message, "hwpt 7"));
    g_clear_error(&err);

    vfi_kernel_error(&err, EBUSY, "IOMMU_DESTROY", "6.2", "id %u", 3u);
    assert_true(g_error_matches(err, VFI_KERNEL_ERROR, EBUSY));
    assert_non_null(strstr(err->message, "errno 16"));
    assert_non_null(strstr(err->message, "id 3"));
    assert_null(strstr(err->message, "6.2"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linux_default),
        cmocka_unit_test(test_install_model),
        cmocka_unit_test(test_install_null_restores_linux),
        cmocka_unit_test(test_error_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
