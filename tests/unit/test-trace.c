/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Tracing: switches from VFI_TRACE at start-up (this test runs with
 * VFI_TRACE="vfi_kernel_open,-vfi_kernel_close,vfi_kernel_c*" set by meson),
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
    /* "vfi_kernel_open" on, "-vfi_kernel_close" off, then "vfi_kernel_c*" on again:
     * patterns apply in order. */
    assert_true(vfi_trace_is_enabled("vfi_kernel_open"));
    assert_true(vfi_trace_is_enabled("vfi_kernel_close"));
    assert_false(vfi_trace_is_enabled("vfi_kernel_ioctl"));
    assert_false(vfi_trace_is_enabled("no_such_event"));
}

static void test_enable_pattern(void **state)
{
    (void)state;
    assert_int_equal(vfi_trace_enable("vfi_kernel_*", false), 4);
    assert_false(vfi_trace_is_enabled("vfi_kernel_open"));
    assert_int_equal(vfi_trace_enable("vfi_kernel_ioctl", true), 1);
    assert_true(vfi_trace_is_enabled("vfi_kernel_ioctl"));
    assert_int_equal(vfi_trace_enable("nothing_matches_*", true), 0);
    /* Events of every folder are registered, the kernel model's (its own
     * library, registered through vfi_trace_register_group()) too: one
     * switchboard. */
    assert_true(vfi_trace_enable("*", false) > 4);
    assert_true(vfi_trace_enable("vfi_sim_*", true) > 0);
    assert_true(vfi_trace_is_enabled("vfi_sim_attach"));
    assert_true(vfi_trace_enable("vfi_sim_*", false) > 0);
}

static void test_log_output(void **state)
{
    VfiSim *sim = test_sim_new(NULL);
    FILE *fp = tmpfile();
    struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
    g_autofree char *out = NULL;
    int fd;

    (void)state;
    assert_non_null(fp);
    vfi_trace_set_output(fp);
    vfi_trace_enable("*", false);
    vfi_trace_enable("vfi_kernel_ioctl", true);

    fd = vfi_kernel_open("/dev/iommu", O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(VFI_KERNEL_IOCTL(fd, IOMMU_IOAS_ALLOC, &alloc), 0);
    vfi_sim_fail_next(sim, VFI_SIM_OP_IOAS_ALLOC, ENOMEM);
    assert_int_equal(VFI_KERNEL_IOCTL(fd, IOMMU_IOAS_ALLOC, &alloc), -ENOMEM);
    assert_int_equal(vfi_kernel_close(fd), 0);

    out = read_all(fp);
    /* One line per ioctl, with request name, result and errno; nothing for
     * open/close, which are off. */
    assert_non_null(strstr(out, "vfi_kernel_ioctl fd "));
    assert_non_null(strstr(out, "IOMMU_IOAS_ALLOC"));
    assert_non_null(strstr(out, "ret 0 errno 0"));
    assert_non_null(strstr(out, "ret -1 errno 12"));
    assert_null(strstr(out, "vfi_kernel_open"));
    assert_null(strstr(out, "vfi_kernel_close"));

    vfi_trace_enable("*", false);
    vfi_trace_set_output(NULL);
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
