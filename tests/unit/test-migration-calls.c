/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a VMM's migration needs beyond start/sync/stop (issue 10): unplugging
 * a tracked device without losing its pages, the queries (mappings, logged
 * ranges, coverage), the VMM's own labels in messages, and a clear error for
 * a passed fd bound before.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "test-common.h"
#include "test-dirty-helpers.h"
#include "util/kernel-internal.h"

static void start_ok(Fixture *f)
{
    g_autoptr(GError) err = NULL;

    assert_ok(vfi_address_space_dirty_tracking_start(f->as, &err), err);
}

/* A device logging its own DMA leaves with its log read; the others keep
 * tracking. */
static void test_detach_dirty_logging_device(void **state)
{
    Fixture *f = fixture_new(dirty_topo);
    g_autoptr(GError) err = NULL;
    VfiDirtyLog *log = log_new(0, PAGE, 2 * MIB / PAGE);

    attach_ok(f, "a0", NULL);
    attach_ok(f, "l0", &prefer_logging);
    map_ok(f, 0, 2 * MIB);
    start_ok(f);
    dma_ok(f, "l0", 3 * PAGE, PAGE);
    dma_ok(f, "a0", 5 * PAGE, PAGE);
    assert_ok(vfi_address_space_detach_device_dirty(f->as, fdev(f, "l0"), log, &err), err);
    assert_true(log_test(log, 3));
    assert_null(vfi_device_get_container(fdev(f, "l0")));
    assert_false(vfi_device_dma_logging_active(fdev(f, "l0")));
    assert_true(vfi_address_space_dirty_tracking_is_active(f->as));
    log_clear(log);
    assert_ok(vfi_address_space_sync_dirty(f->as, log, &err), err);
    assert_true(log_test(log, 5));
    assert_false(log_test(log, 3));
    check_consistent(f);
    log_free(log);
    stop_all(f);
    fixture_free(f);
}

/* An IOMMU-tracked device: the last one of its HWPT takes the HWPT's bits
 * with it; one sharing its HWPT leaves them for the next sync. */
static void test_detach_dirty_hwpt(void **state)
{
    Fixture *f = fixture_new(dirty_topo);
    g_autoptr(GError) err = NULL;
    VfiDirtyLog *log = log_new(0, PAGE, 2 * MIB / PAGE);

    attach_ok(f, "a0", NULL);
    attach_ok(f, "a1", NULL);
    attach_ok(f, "b0", NULL);
    assert_ptr_equal(vfi_device_get_hwpt(fdev(f, "a0")), vfi_device_get_hwpt(fdev(f, "a1")));
    map_ok(f, 0, 2 * MIB);
    start_ok(f);
    dma_ok(f, "a1", 7 * PAGE, PAGE);
    dma_ok(f, "b0", 9 * PAGE, PAGE);
    /* a1 shares its HWPT with a0: the HWPT stays, its bits too */
    assert_ok(vfi_address_space_detach_device_dirty(f->as, fdev(f, "a1"), log, &err), err);
    assert_int_equal(log_count(log), 0);
    /* b0 is the last device of its HWPT: its bits come with it */
    assert_ok(vfi_address_space_detach_device_dirty(f->as, fdev(f, "b0"), log, &err), err);
    assert_true(log_test(log, 9));
    assert_int_equal(log_count(log), 1);
    assert_int_equal(vfi_container_hwpt_count(container_of_dev(f, "a0")), 1);
    log_clear(log);
    assert_ok(vfi_address_space_sync_dirty(f->as, log, &err), err);
    assert_true(log_test(log, 7));
    assert_int_equal(log_count(log), 1);
    check_consistent(f);
    log_free(log);
    stop_all(f);
    fixture_free(f);
}

/* Refusals before any ioctl; with tracking off it is the plain detach. */
static void test_detach_dirty_refusals(void **state)
{
    Fixture *f = fixture_new(dirty_topo);
    g_autoptr(GError) err = NULL;
    VfiDirtyLog *small = log_new(0, PAGE, 16);
    uint64_t n;

    attach_ok(f, "a0", NULL);
    map_ok(f, 0, 2 * MIB);
    start_ok(f);
    n = vfi_sim_ioctl_count(f->sim);
    assert_false(vfi_address_space_detach_device_dirty(f->as, fdev(f, "a0"), NULL, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_address_space_detach_device_dirty(f->as, fdev(f, "a0"), small, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_address_space_detach_device_dirty(f->as, fdev(f, "a1"), small, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    assert_false(vfi_address_space_detach_device_dirty(NULL, fdev(f, "a0"), small, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_int_equal(vfi_sim_ioctl_count(f->sim), n);
    stop_all(f);
    assert_ok(vfi_address_space_detach_device_dirty(f->as, fdev(f, "a0"), NULL, &err), err);
    assert_null(vfi_device_get_container(fdev(f, "a0")));
    log_free(small);
    fixture_free(f);
}

/* The mappings of both levels, the ranges a device logs, the coverage. */
static void test_queries(void **state)
{
    Fixture *f = fixture_new(dirty_topo);
    g_autoptr(GError) err = NULL;
    g_autofree VfiDmaLoggingRange *ranges = NULL;
    VfiMappingInfo m;
    VfiContainer *c;
    VfiUntrackedReason why;
    unsigned n;
    uint64_t ps;

    attach_ok(f, "l0", &prefer_logging);
    attach_ok(f, "n0", NULL);
    c = container_of_dev(f, "l0");
    map_ok(f, 2 * MIB, MIB);
    assert_ok(vfi_address_space_dma_map(f->as, 0, MIB, fake_va(0), true, &err), err);
    assert_ok(vfi_container_dma_map(c, 8 * MIB, PAGE, fake_va(8 * MIB), false, &err), err);
    assert_int_equal(vfi_address_space_mapping_count(f->as), 2);
    assert_true(vfi_address_space_mapping(f->as, 0, &m));
    assert_int_equal(m.iova, 0);
    assert_int_equal(m.size, MIB);
    assert_ptr_equal(m.vaddr, fake_va(0));
    assert_true(m.readonly);
    assert_int_equal(m.owner, VFI_MAPPING_BY_ADDRESS_SPACE);
    assert_false(vfi_address_space_mapping(f->as, 2, &m));
    assert_int_equal(vfi_container_mapping_count(c), 3);
    assert_true(vfi_container_mapping(c, 2, &m));
    assert_int_equal(m.iova, 8 * MIB);
    assert_int_equal(m.owner, VFI_MAPPING_BY_CONTAINER);
    assert_false(m.readonly);
    assert_false(vfi_container_mapping(c, 3, &m));

    assert_null(vfi_device_dma_logging_ranges(fdev(f, "l0"), &n, &ps));
    assert_int_equal(n, 0);
    start_ok(f);
    ranges = vfi_device_dma_logging_ranges(fdev(f, "l0"), &n, &ps);
    assert_int_equal(n, 3);
    assert_int_equal(ps, VFI_DMA_LOGGING_MIN_PAGE_SIZE);
    assert_int_equal(ranges[1].iova, 2 * MIB);
    assert_int_equal(ranges[1].length, MIB);
    assert_int_equal(vfi_device_dirty_coverage(fdev(f, "l0"), &why),
                     VFI_DIRTY_COVERAGE_DEVICE_LOGGING);
    assert_int_equal(why, VFI_COVERED);
    assert_int_equal(vfi_device_dirty_coverage(fdev(f, "n0"), &why), VFI_DIRTY_COVERAGE_NONE);
    assert_int_equal(why, VFI_UNTRACKED_NO_IOMMU_CAP);
    assert_int_equal(vfi_device_dirty_coverage(fdev(f, "a0"), &why), VFI_DIRTY_COVERAGE_NONE);
    assert_int_equal(why, VFI_UNTRACKED_NOT_ATTACHED);
    stop_all(f);
    assert_ok(vfi_container_dma_unmap(c, 8 * MIB, PAGE, 0, NULL, &err), err);
    fixture_free(f);
}

/* The VMM's labels name its devices in messages and the blocker. */
static void test_labels(void **state)
{
    Fixture *f = fixture_new(dirty_topo);
    g_autoptr(GError) err = NULL;
    VfiAttachOptions opts = VFI_ATTACH_OPTIONS_INIT(.label = "nic-1");
    g_autofree char *blocker = NULL;
    g_autofree char *expect = NULL;

    attach_ok(f, "n0", &opts);
    assert_string_equal(vfi_device_get_label(fdev(f, "n0")), "nic-1");
    expect = g_strdup_printf("nic-1 (%s)", vfi_device_get_name(fdev(f, "n0")));
    assert_string_equal(vfi_device_get_display_name(fdev(f, "n0")), expect);
    blocker = vfi_address_space_migration_blocker(f->as);
    assert_non_null(strstr(blocker, expect));
    assert_false(vfi_address_space_attach_device(f->as, f->be, fdev(f, "n0"), NULL, &err));
    assert_non_null(strstr(err->message, expect));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    vfi_device_set_label(fdev(f, "n0"), NULL);
    assert_null(vfi_device_get_label(fdev(f, "n0")));
    assert_string_equal(vfi_device_get_display_name(fdev(f, "n0")),
                        vfi_device_get_name(fdev(f, "n0")));
    fixture_free(f);
}

/* A passed fd bound before (its device freed, the fd kept) cannot be bound
 * again: the error says why and what to do. */
static void test_rebind_passed_fd(void **state)
{
    Fixture *f = fixture_new(dirty_topo);
    g_autoptr(GError) err = NULL;
    const char *path = vfi_sim_device_sysfs_path(f->sim, "a0");
    g_autofree char *node = NULL;
    VfiDevice *dev;
    int fd;

    {
        g_autofree char *dir = g_build_filename(path, "vfio-dev", NULL);
        g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);

        assert_non_null(d);
        node = g_build_filename("/dev/vfio/devices", g_dir_read_name(d), NULL);
    }
    fd = vfi_kernel_open(node, O_RDWR);
    assert_true(fd >= 0);
    dev = vfi_device_new_from_fd(fd, path, &err);
    assert_ok(dev != NULL, err);
    assert_ok(vfi_device_bind(dev, f->be, &err), err);
    vfi_device_free(dev);
    dev = vfi_device_new_from_fd(fd, path, &err);
    assert_ok(dev != NULL, err);
    assert_false(vfi_device_bind(dev, f->be, &err));
    assert_non_null(strstr(err->message, "bound once per open file"));
    assert_gerror(err, VFI_KERNEL_ERROR, EINVAL);
    vfi_device_free(dev);
    assert_int_equal(vfi_kernel_close(fd), 0);
    fixture_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detach_dirty_logging_device),
        cmocka_unit_test(test_detach_dirty_hwpt),
        cmocka_unit_test(test_detach_dirty_refusals),
        cmocka_unit_test(test_queries),
        cmocka_unit_test(test_labels),
        cmocka_unit_test(test_rebind_passed_fd),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
