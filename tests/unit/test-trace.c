/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Tracing: switches from VFIO_IOMMUFD_TRACE at start-up (this test runs with
 * VFIO_IOMMUFD_TRACE="kernel_open,-kernel_close,kernel_c*" set by meson),
 * switching at run time, and the log back end's output for an ioctl.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <linux/iommufd.h>

#include "test-common.h"
#include "vfio-iommufd/trace.h"
#include "util/kernel-internal.h"

static char *read_all(FILE *fp)
{
    long len;
    char *buf;

    fflush(fp);
    len = ftell(fp);
    assert_true(len >= 0);
    buf = g_malloc0(len + 1);
    rewind(fp);
    assert_int_equal(fread(buf, 1, len, fp), (size_t)len);
    return buf;
}

static void test_env_switches(void **state)
{
    (void)state;
    /* "kernel_open" on, "-kernel_close" off, then "kernel_c*" on again:
     * patterns apply in order. */
    assert_true(vfio_iommufd_trace_is_enabled("kernel_open"));
    assert_true(vfio_iommufd_trace_is_enabled("kernel_close"));
    assert_false(vfio_iommufd_trace_is_enabled("kernel_ioctl"));
    assert_false(vfio_iommufd_trace_is_enabled("no_such_event"));
}

static void test_enable_pattern(void **state)
{
    (void)state;
    assert_int_equal(vfio_iommufd_trace_enable("kernel_*", false), 4);
    assert_false(vfio_iommufd_trace_is_enabled("kernel_open"));
    assert_int_equal(vfio_iommufd_trace_enable("kernel_ioctl", true), 1);
    assert_true(vfio_iommufd_trace_is_enabled("kernel_ioctl"));
    assert_int_equal(vfio_iommufd_trace_enable("nothing_matches_*", true), 0);
    /* Events of every folder are registered. */
    assert_true(vfio_iommufd_trace_enable("*", false) > 4);
}

static void test_log_output(void **state)
{
    VfioSim *sim = test_sim_new(NULL);
    FILE *fp = tmpfile();
    struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
    g_autofree char *out = NULL;
    int fd;

    (void)state;
    assert_non_null(fp);
    vfio_iommufd_trace_set_output(fp);
    vfio_iommufd_trace_enable("*", false);
    vfio_iommufd_trace_enable("kernel_ioctl", true);

    fd = vfio_kernel_open("/dev/iommu", O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(VFIO_KERNEL_IOCTL(fd, IOMMU_IOAS_ALLOC, &alloc), 0);
    vfio_sim_fail_next(sim, VFIO_SIM_OP_IOAS_ALLOC, ENOMEM);
    assert_int_equal(VFIO_KERNEL_IOCTL(fd, IOMMU_IOAS_ALLOC, &alloc), -ENOMEM);
    assert_int_equal(vfio_kernel_close(fd), 0);

    out = read_all(fp);
    /* One line per ioctl, with request name, result and errno; nothing for
     * open/close, which are off. */
    assert_non_null(strstr(out, "kernel_ioctl fd "));
    assert_non_null(strstr(out, "IOMMU_IOAS_ALLOC"));
    assert_non_null(strstr(out, "ret 0 errno 0"));
    assert_non_null(strstr(out, "ret -1 errno 12"));
    assert_null(strstr(out, "kernel_open"));
    assert_null(strstr(out, "kernel_close"));

    vfio_iommufd_trace_enable("*", false);
    vfio_iommufd_trace_set_output(NULL);
    fclose(fp);
    test_sim_free_clean(sim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_env_switches),
        cmocka_unit_test(test_enable_pattern),
        cmocka_unit_test(test_log_output),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
