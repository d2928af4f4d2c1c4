/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The library's guarantees where one call is refused or one ioctl fails
 * (issue 9): a refusal makes no ioctl and loses no dirty page, NO_CLEAR means
 * the same for device logs as for HWPTs, and an undo that fails leaves the
 * library's record equal to the kernel's and says so. Each case failed on
 * the code before the fix.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "test-common.h"
#include "test-dirty-helpers.h"
#include "util/kernel-internal.h"
#include "vfio-iommufd/iommufd.h"

#include <linux/iommufd.h>

static uint64_t ioctls(Fixture *f)
{
    return vfi_sim_ioctl_count(f->sim);
}

/* Attach @name with @opts (NULL: defaults) to the address space through @be. */
static void attach_be(Fixture *f, VfiIommufd *be, const char *name, const VfiAttachOptions *opts)
{
    g_autoptr(GError) err = NULL;

    assert_ok(vfi_address_space_attach_device(f->as, be, fdev(f, name), opts, &err), err);
}

/* A device logging its own DMA (l0) and one under IOMMU tracking (a0), two
 * address-space mappings, a container-level one at 4 MiB, tracking on, a
 * page written by each device. */
static Fixture *two_sources(VfiContainer **c)
{
    Fixture *f = fixture_new(dirty_topo);
    g_autoptr(GError) err = NULL;

    attach_ok(f, "a0", NULL);
    attach_ok(f, "l0", &prefer_logging);
    *c = container_of_dev(f, "a0");
    assert_ptr_equal(container_of_dev(f, "l0"), *c);
    map_ok(f, 0, MIB);
    map_ok(f, MIB, MIB);
    assert_ok(vfi_container_dma_map(*c, 4 * MIB, MIB, fake_va(4 * MIB), false, &err), err);
    assert_ok(vfi_address_space_dirty_tracking_start(f->as, &err), err);
    dma_ok(f, "l0", 3 * PAGE, PAGE);
    dma_ok(f, "a0", 5 * PAGE, PAGE);
    return f;
}

/* A refused unmap with a dirty read reads nothing: no ioctl, the log it was
 * given untouched, and the next sync finds every page. */
static void test_refused_unmap_dirty_keeps_pages(void **state)
{
    VfiContainer *c;
    Fixture *f = two_sources(&c);
    g_autoptr(GError) err = NULL;
    VfiDirtyLog *log = log_new(0, PAGE, 8 * MIB / PAGE);
    uint64_t n = ioctls(f);

    /* cuts the mapping [0, 1 MiB) */
    assert_false(vfi_address_space_dma_unmap_dirty(f->as, 0, MIB / 2, log, 0, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    /* also holds the container-level mapping at 4 MiB */
    assert_false(vfi_address_space_dma_unmap_dirty(f->as, 0, 8 * MIB, log, 0, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    /* a container-level unmap over an address-space mapping */
    assert_false(vfi_container_dma_unmap_dirty(c, 0, MIB, log, 0, NULL, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    assert_int_equal(ioctls(f), n);
    assert_int_equal(log_count(log), 0);

    assert_ok(vfi_address_space_sync_dirty(f->as, log, &err), err);
    assert_true(log_test(log, 3));
    assert_true(log_test(log, 5));
    assert_int_equal(log_count(log), 2);
    log_free(log);
    stop_all(f);
    fixture_free(f);
}

/* NO_CLEAR reads of a device log report its pages again, up to the first
 * clearing read; an unmap forgets them. */
static void test_no_clear_device_log(void **state)
{
    VfiContainer *c;
    Fixture *f = two_sources(&c);
    g_autoptr(GError) err = NULL;
    VfiDirtyLog *log = log_new(0, PAGE, 8 * MIB / PAGE);

    for (int round = 0; round < 2; round++) {
        log_clear(log);
        assert_ok(vfi_container_query_dirty(c, 0, 2 * MIB, log, VFI_DIRTY_QUERY_NO_CLEAR,
                                            &err), err);
        assert_true(log_test(log, 3));
        assert_true(log_test(log, 5));
    }
    log_clear(log);
    assert_ok(vfi_address_space_sync_dirty(f->as, log, &err), err);
    assert_true(log_test(log, 3));
    assert_true(log_test(log, 5));
    log_clear(log);
    assert_ok(vfi_address_space_sync_dirty(f->as, log, &err), err);
    assert_int_equal(log_count(log), 0);

    /* kept by a NO_CLEAR read, then unmapped: gone with the mapping */
    dma_ok(f, "l0", MIB + 2 * PAGE, PAGE);
    assert_ok(vfi_address_space_dma_unmap_dirty(f->as, MIB, MIB, log, 0, &err), err);
    assert_true(log_test(log, MIB / PAGE + 2));
    map_ok(f, MIB, MIB);
    log_clear(log);
    assert_ok(vfi_address_space_sync_dirty(f->as, log, &err), err);
    assert_int_equal(log_count(log), 0);
    log_free(log);
    stop_all(f);
    fixture_free(f);
}

/* A device that logs its own DMA joining a tracking container with nothing
 * mapped is refused before its attach ioctl, and nothing changes. */
static void test_logging_join_refused_before_attach(void **state)
{
    Fixture *f = fixture_new(dirty_topo);
    g_autoptr(GError) err = NULL;
    uint64_t attaches;
    unsigned objects;

    attach_ok(f, "a0", NULL);
    assert_ok(vfi_address_space_dirty_tracking_start(f->as, &err), err);
    attaches = vfi_sim_op_count(f->sim, VFI_SIM_OP_DEVICE_ATTACH);
    objects = vfi_sim_live_objects(f->sim);
    assert_false(vfi_address_space_attach_device(f->as, f->be, fdev(f, "l0"), &prefer_logging,
                                                 &err));
    assert_non_null(strstr(err->message, "nothing mapped"));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    assert_int_equal(vfi_sim_op_count(f->sim, VFI_SIM_OP_DEVICE_ATTACH), attaches);
    /* bound by the call (kept), nothing else */
    assert_int_equal(vfi_sim_live_objects(f->sim), objects + 1);
    assert_null(vfi_device_get_container(fdev(f, "l0")));
    assert_int_equal(vfi_device_get_attached_pt(fdev(f, "l0")), 0);
    check_consistent(f);
    stop_all(f);
    fixture_free(f);
}

/* An address space whose second container cannot start (a logging device,
 * nothing mapped) refuses the start before any ioctl: the first container
 * is not switched on and back. */
static void test_as_start_refused_before_any_ioctl(void **state)
{
    Fixture *f = fixture_new(dirty_topo);
    g_autoptr(GError) err = NULL;
    VfiIommufd *be2 = vfi_iommufd_new();
    uint64_t n;

    attach_ok(f, "a0", NULL);
    attach_be(f, be2, "l0", &prefer_logging);   /* another backend: another container */
    assert_int_equal(vfi_address_space_container_count(f->as), 2);
    n = ioctls(f);
    assert_false(vfi_address_space_dirty_tracking_start(f->as, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    assert_int_equal(ioctls(f), n);
    assert_false(vfi_container_dirty_tracking_is_active(container_of_dev(f, "a0")));
    fixture_free(f);            /* frees l0, the last user of be2 */
    assert_ok(vfi_iommufd_free(be2, &err), err);
}

/* The new container of a failed attach whose IOAS cannot be destroyed stays
 * in the address space, as in the kernel, and the error says so; it is
 * destroyed later. */
static void test_failed_attach_keeps_container(void **state)
{
    Fixture *f = fixture_new(dirty_topo);
    g_autoptr(GError) err = NULL;

    uint64_t n;

    map_ok(f, 0xfee00000ULL, PAGE);            /* the x86 MSI window */
    /* the same failed attach without a fault: its last ioctl destroys the
     * new container's IOAS */
    n = ioctls(f);
    assert_false(vfi_address_space_attach_device(f->as, f->be, fdev(f, "a0"), NULL, &err));
    assert_gerror(err, VFI_KERNEL_ERROR, EADDRINUSE);
    {
        unsigned long req = 0;

        vfi_sim_last_ioctl(f->sim, &req, NULL, 0);
        assert_int_equal(req, IOMMU_DESTROY);
    }
    n = ioctls(f) - n;
    assert_int_equal(vfi_address_space_container_count(f->as), 0);
    /* now that destroy fails (the device is bound already: one ioctl less) */
    vfi_sim_fail_nth(f->sim, (unsigned)n - 1, EBUSY);
    assert_false(vfi_address_space_attach_device(f->as, f->be, fdev(f, "a0"), NULL, &err));
    assert_non_null(strstr(err->message, "stays in address space"));
    assert_gerror(err, VFI_KERNEL_ERROR, EADDRINUSE);
    assert_int_equal(vfi_address_space_container_count(f->as), 1);
    assert_int_equal(vfi_container_device_count(vfi_address_space_container(f->as, 0)), 0);
    check_consistent(f);
    assert_ok(vfi_address_space_dma_unmap(f->as, 0xfee00000ULL, PAGE, 0, &err), err);
    attach_ok(f, "a0", NULL);
    check_consistent(f);
    fixture_free(f);
}

/* vfi_device_destroy() of a VMM-passed fd whose detach fails says the device
 * stays attached; vfi_device_free() could only trace it. */
static void test_destroy_reports_kept_attach(void **state)
{
    Fixture *f = fixture_new(dirty_topo);
    g_autoptr(GError) err = NULL;
    g_autofree char *node = NULL;
    const char *path = vfi_sim_device_sysfs_path(f->sim, "a0");
    VfiDevice *dev;
    uint32_t ioas;
    int fd;

    {
        g_autofree char *link = g_build_filename(path, "vfio-dev", NULL);
        g_autoptr(GDir) d = g_dir_open(link, 0, NULL);

        assert_non_null(d);
        node = g_build_filename("/dev/vfio/devices", g_dir_read_name(d), NULL);
    }
    fd = vfi_kernel_open(node, O_RDWR);
    assert_true(fd >= 0);
    assert_ok(vfi_iommufd_connect(f->be, &err), err);     /* the VMM's own user */
    dev = vfi_device_new_from_fd(fd, path, &err);
    assert_ok(dev != NULL, err);
    assert_ok(vfi_device_bind(dev, f->be, &err), err);
    assert_ok(vfi_iommufd_ioas_alloc(f->be, &ioas, &err), err);
    assert_ok(vfi_device_attach(dev, ioas, NULL, &err), err);
    vfi_sim_fail_next(f->sim, VFI_SIM_OP_DEVICE_DETACH, EIO);
    assert_false(vfi_device_destroy(dev, &err));
    assert_non_null(strstr(err->message, "stays attached"));
    assert_gerror(err, VFI_KERNEL_ERROR, EIO);
    assert_int_not_equal(vfi_sim_device_attached_pt(f->sim, "a0"), 0);
    assert_int_equal(vfi_kernel_close(fd), 0);      /* the VMM's close detaches */
    assert_int_equal(vfi_sim_device_attached_pt(f->sim, "a0"), 0);
    assert_ok(vfi_iommufd_destroy(f->be, ioas, &err), err);
    vfi_iommufd_disconnect(f->be);
    assert_ok(vfi_device_destroy(NULL, &err), err);
    fixture_free(f);
}

/* The kernel (iopt_insert_area()) refuses a fixed map whose user_va page
 * offset the IOAS alignment forbids; without a domain it takes it, and a
 * domain made later is refused (EADDRINUSE). */
static void test_model_unaligned_user_va(void **state)
{
    Fixture *f = fixture_new(dirty_topo);
    g_autoptr(GError) err = NULL;
    void *va = (uint8_t *)fake_va(0) + 0x800;
    uint32_t ioas;

    assert_ok(vfi_device_bind(fdev(f, "a0"), f->be, &err), err);
    assert_ok(vfi_iommufd_ioas_alloc(f->be, &ioas, &err), err);
    assert_ok(vfi_iommufd_ioas_map(f->be, ioas, 0, PAGE, va, false, &err), err);
    assert_false(vfi_device_attach(fdev(f, "a0"), ioas, NULL, &err));
    assert_gerror(err, VFI_KERNEL_ERROR, EADDRINUSE);
    assert_ok(vfi_iommufd_ioas_unmap_all(f->be, ioas, NULL, &err), err);
    assert_ok(vfi_device_attach(fdev(f, "a0"), ioas, NULL, &err), err);
    assert_false(vfi_iommufd_ioas_map(f->be, ioas, 0, PAGE, va, false, &err));
    assert_gerror(err, VFI_KERNEL_ERROR, EINVAL);
    assert_ok(vfi_iommufd_ioas_map(f->be, ioas, 0, PAGE, fake_va(0), false, &err), err);
    assert_ok(vfi_device_detach(fdev(f, "a0"), &err), err);
    assert_ok(vfi_iommufd_destroy(f->be, ioas, &err), err);
    fixture_free(f);
}

/* Two sections of one name are refused, not merged. */
static void test_topology_duplicate_section(void **state)
{
    g_autoptr(GError) err = NULL;
    VfiSim *sim = vfi_sim_new(&err);

    assert_ok(sim != NULL, err);
    assert_false(vfi_sim_load_topology_data(sim, "[iommu a]\n[device d]\niommu=a\n"
                                                 "[device d]\ndma-logging=true\n", &err));
    assert_non_null(strstr(err->message, "twice"));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    vfi_sim_free(sim);
}

/* A query whose range would need more scratch memory than there is fails
 * (before any ioctl) instead of aborting the process. A public reader reads
 * what it is asked (a container reads only what is mapped). */
static void test_huge_range_fails(void **state)
{
    Fixture *f = fixture_new(dirty_topo);
    g_autoptr(GError) err = NULL;
    uint64_t pages = UINT64_C(1) << 46, bits[2] = { 0, 0 };
    VfiDirtyLog log = { .base_iova = 0, .page_size = PAGE, .bitmap = bits, .nr_pages = pages };
    VfiDirtyReader *rd = vfi_dirty_reader_new(f->be);
    VfiContainer *c;
    uint64_t n;

    attach_ok(f, "a0", NULL);
    map_ok(f, 0, MIB);
    c = container_of_dev(f, "a0");
    assert_ok(vfi_container_dirty_tracking_start(c, &err), err);
    assert_ok(vfi_dirty_reader_add_hwpt(rd, vfi_hwpt_get_id(vfi_device_get_hwpt(fdev(f, "a0"))),
                                        &err), err);
    n = ioctls(f);
    /* bit 1: not on a byte of the log, so the whole range goes the scratch way */
    assert_false(vfi_dirty_reader_query(rd, PAGE, (pages - 8) * PAGE, &log, 0, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_HOST);
    assert_int_equal(ioctls(f), n);
    /* the container reads its mapped MiB only */
    assert_ok(vfi_container_query_dirty(c, PAGE, (pages - 8) * PAGE, &log, 0, &err), err);
    vfi_dirty_reader_free(rd);
    assert_ok(vfi_container_dirty_tracking_stop(c, &err), err);
    fixture_free(f);
}

/* An fd that is no VFIO device is named so, not "not supported by this
 * kernel". */
static void test_not_a_vfio_device(void **state)
{
    Fixture *f = fixture_new(dirty_topo);
    g_autoptr(GError) err = NULL;
    g_autoptr(VfiIommufd) other = vfi_iommufd_new();
    VfiDevice *dev;

    assert_ok(vfi_iommufd_connect(other, &err), err);
    dev = vfi_device_new_from_fd(vfi_iommufd_get_fd(other), NULL, &err);
    assert_ok(dev != NULL, err);
    assert_false(vfi_device_bind(dev, f->be, &err));
    assert_non_null(strstr(err->message, "is not a VFIO device"));
    assert_gerror(err, VFI_KERNEL_ERROR, ENOTTY);
    vfi_device_free(dev);
    vfi_iommufd_disconnect(other);
    fixture_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused_unmap_dirty_keeps_pages),
        cmocka_unit_test(test_no_clear_device_log),
        cmocka_unit_test(test_logging_join_refused_before_attach),
        cmocka_unit_test(test_as_start_refused_before_any_ioctl),
        cmocka_unit_test(test_failed_attach_keeps_container),
        cmocka_unit_test(test_destroy_reports_kept_attach),
        cmocka_unit_test(test_model_unaligned_user_va),
        cmocka_unit_test(test_topology_duplicate_section),
        cmocka_unit_test(test_huge_range_fails),
        cmocka_unit_test(test_not_a_vfio_device),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
