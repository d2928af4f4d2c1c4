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

/* A kernel that answers nothing itself: the tests below only install it. */
static int calls_read;

static int nop_open(void *opaque, const char *path, int flags)
{
    (void)opaque, (void)path, (void)flags;
    return -ENOENT;
}

static int nop_close(void *opaque, int fd)
{
    (void)opaque, (void)fd;
    return 0;
}

static int nop_ioctl(void *opaque, int fd, unsigned long request, void *arg)
{
    (void)opaque, (void)fd, (void)request, (void)arg;
    return -ENOTTY;
}

static ssize_t counting_read(void *opaque, int fd, void *buf, size_t len)
{
    (void)opaque, (void)fd, (void)buf, (void)len;
    calls_read++;
    return 0;
}

static const VfiKernelOps nop_ops = VFI_KERNEL_OPS_INIT(.open = nop_open, .close = nop_close,
                                                        .ioctl = nop_ioctl,
                                                        .read = counting_read);

static void test_install_null_restores_linux(void **state)
{
    (void)state;
    assert_true(vfi_kernel_install(&nop_ops, NULL, "/tmp/fake-sysfs", NULL));
    assert_false(vfi_kernel_is_linux());
    assert_string_equal(vfi_kernel_sysfs_root(), "/tmp/fake-sysfs");
    assert_true(vfi_kernel_install(NULL, NULL, "/ignored", NULL));
    assert_true(vfi_kernel_is_linux());
    assert_string_equal(vfi_kernel_sysfs_root(), "/sys");
}

/* @ops refused with INVALID_ARGUMENT, and Linux still installed. */
static void assert_install_refused(const VfiKernelOps *ops, const char *says)
{
    g_autoptr(GError) err = NULL;

    assert_false(vfi_kernel_install(ops, NULL, "/tmp/fake-sysfs", &err));
    assert_non_null(err);
    assert_non_null(strstr(err->message, says));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_true(vfi_kernel_is_linux());
    assert_string_equal(vfi_kernel_sysfs_root(), "/sys");
}

/* The size: below VER0, above this library's, or an operation every kernel
 * has missing; each refused, the installed kernel kept. */
static void test_install_size_refused(void **state)
{
    VfiKernelOps ops = nop_ops;

    (void)state;
    ops.size = 0;
    assert_install_refused(&ops, "size 0");
    ops.size = VFI_KERNEL_OPS_SIZE_VER0 - 1;
    assert_install_refused(&ops, "too small");
    ops.size = sizeof(VfiKernelOps) + sizeof(void *);
    assert_install_refused(&ops, "newer layout");
    ops = nop_ops;
    ops.ioctl = NULL;
    assert_install_refused(&ops, "without ioctl");
}

/* A caller compiled when VfiKernelOps ended after ioctl: what lies beyond
 * its size is not its struct, and the library does not read it (read(2)
 * goes to Linux); with the full size the same operation is called. */
static void test_install_short_ops(void **state)
{
    VfiKernelOps old = nop_ops;
    const VfiKernelOps *got;
    char c = 'x';
    int p[2];

    (void)state;
    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], &c, 1), 1);
    old.size = VFI_KERNEL_OPS_SIZE_VER0;
    calls_read = 0;
    assert_true(vfi_kernel_install(&old, NULL, NULL, NULL));
    vfi_kernel_get(&got, NULL);
    assert_ptr_equal(got, &old);
    assert_int_equal(vfi_kernel_read(p[0], &c, 1), 1);
    assert_int_equal(calls_read, 0);
    assert_true(vfi_kernel_install(&nop_ops, NULL, NULL, NULL));
    assert_int_equal(vfi_kernel_read(p[0], &c, 1), 0);
    assert_int_equal(calls_read, 1);
    assert_true(vfi_kernel_install(NULL, NULL, NULL, NULL));
    close(p[0]);
    close(p[1]);
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
        cmocka_unit_test(test_install_size_refused),
        cmocka_unit_test(test_install_short_ops),
        cmocka_unit_test(test_error_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
