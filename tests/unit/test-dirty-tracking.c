/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Dirty tracking start/stop (no-op twice, rollback under fault injection at
 * every ioctl, per container and per address space), devices attached or
 * detached while it is on, unmaps during tracking, and the coverage report
 * and migration-blocker message of mixed containers.
 */
#include "test-dirty-helpers.h"

/* a0, a1 (dirty HWPT of a), b0 (dirty HWPT of b), n0 (plain), l0 and ml
 * (device logging), mapped [0, 16 MiB). */
static Fixture *mixed_fixture(void)
{
    Fixture *f = fixture_new(dirty_topo);

    attach_ok(f, "a0", NULL);
    attach_ok(f, "a1", NULL);
    attach_ok(f, "b0", NULL);
    attach_ok(f, "n0", NULL);
    attach_ok(f, "l0", &prefer_logging);
    attach_ok(f, "ml", &prefer_logging);
    map_ok(f, 0, 16 * MIB);
    assert_int_equal(vfi_address_space_container_count(f->as), 1);
    return f;
}

/* Every tracker is on: a write of each device is found by a sync. Every
 * tracker is off: a sync is refused (nothing to read), no ioctl. Either way
 * the library's view of every HWPT is the model's. */
static void assert_all_tracking(Fixture *f, bool on)
{
    static const char *const devs[] = { "a0", "b0", "l0", "ml" };
    g_autoptr(GError) err = NULL;
    VfiDirtyLog *log = log_new(0, PAGE, 16 * MIB / PAGE);
    VfiContainer *c = container_of_dev(f, "a0");
    uint64_t ioctls;

    assert_int_equal(check_hwpts_match_model(f, c), on ? 2 : 0);
    for (unsigned i = 0; i < G_N_ELEMENTS(devs); i++) {
        dma_ok(f, devs[i], (i * 5 + 1) * PAGE, PAGE);
    }
    if (!on) {
        ioctls = vfi_sim_ioctl_count(f->sim);
        assert_false(vfi_container_sync_dirty(c, log, &err));
        assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
        assert_int_equal(vfi_sim_ioctl_count(f->sim), ioctls);
        assert_int_equal(log_count(log), 0);
        assert_false(vfi_device_dma_logging_active(fdev(f, "l0")));
        assert_false(vfi_device_dma_logging_active(fdev(f, "ml")));
        log_free(log);
        return;
    }
    assert_ok(vfi_container_sync_dirty(c, log, &err), err);
    for (unsigned i = 0; i < G_N_ELEMENTS(devs); i++) {
        if (log_test(log, i * 5 + 1) != on) {
            fail_msg("device %s: page %u dirty %d, tracking expected %d", devs[i], i * 5 + 1,
                     log_test(log, i * 5 + 1), on);
        }
    }
    assert_int_equal(vfi_device_dma_logging_active(fdev(f, "l0")), on);
    assert_int_equal(vfi_device_dma_logging_active(fdev(f, "ml")), on);
    log_free(log);
}

static void test_start_stop_twice(void **state)
{
    Fixture *f = mixed_fixture();
    VfiContainer *c = container_of_dev(f, "a0");
    g_autoptr(GError) err = NULL;
    struct iommu_hwpt_set_dirty_tracking arg;
    uint64_t sets, feats, ioctls;
    unsigned long req;

    assert_false(vfi_container_dirty_tracking_is_active(c));
    sets = vfi_sim_op_count(f->sim, VFI_SIM_OP_HWPT_SET_DIRTY_TRACKING);
    feats = vfi_sim_op_count(f->sim, VFI_SIM_OP_DEVICE_FEATURE);
    assert_ok(vfi_container_dirty_tracking_start(c, &err), err);
    assert_true(vfi_container_dirty_tracking_is_active(c));
    /* two dirty HWPTs (a, b); two logging devices */
    assert_int_equal(vfi_sim_op_count(f->sim, VFI_SIM_OP_HWPT_SET_DIRTY_TRACKING) - sets, 2);
    assert_int_equal(vfi_sim_op_count(f->sim, VFI_SIM_OP_DEVICE_FEATURE) - feats, 2);
    assert_all_tracking(f, true);

    ioctls = vfi_sim_ioctl_count(f->sim);
    assert_ok(vfi_container_dirty_tracking_start(c, &err), err);
    assert_ok(vfi_address_space_dirty_tracking_start(f->as, &err), err);
    assert_int_equal(vfi_sim_ioctl_count(f->sim), ioctls);

    assert_ok(vfi_address_space_dirty_tracking_stop(f->as, &err), err);
    assert_false(vfi_container_dirty_tracking_is_active(c));
    assert_false(vfi_address_space_dirty_tracking_is_active(f->as));
    ioctls = vfi_sim_ioctl_count(f->sim);
    /* the last one was a SET_DIRTY_TRACKING disable of a dirty HWPT */
    assert_int_equal(vfi_sim_last_ioctl(f->sim, &req, &arg, sizeof(arg)), sizeof(arg));
    assert_int_equal(req, IOMMU_HWPT_SET_DIRTY_TRACKING);
    assert_int_equal(arg.flags, 0);
    assert_int_equal(arg.hwpt_id, vfi_hwpt_get_id(vfi_device_get_hwpt(fdev(f, "b0"))));
    assert_ok(vfi_container_dirty_tracking_stop(c, &err), err);
    assert_ok(vfi_address_space_dirty_tracking_stop(f->as, &err), err);
    assert_int_equal(vfi_sim_ioctl_count(f->sim), ioctls);
    assert_all_tracking(f, false);

    /* NULLs */
    assert_false(vfi_container_dirty_tracking_start(NULL, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_address_space_dirty_tracking_stop(NULL, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_container_dirty_tracking_is_active(NULL));
    fixture_free(f);
}

static const int fault_errnos[] = { EINVAL, ENOMEM, EOPNOTSUPP, EIO };

/* Start (or stop) failing at each of its ioctls: the error names what
 * failed, and everything is back as before. */
static void run_fault(bool stop, bool whole_as)
{
    g_autoptr(GError) err = NULL;
    uint64_t n, before;
    Fixture *f = mixed_fixture();
    VfiContainer *c = container_of_dev(f, "a0");

    if (stop) {
        assert_ok(vfi_container_dirty_tracking_start(c, &err), err);
    }
    before = vfi_sim_ioctl_count(f->sim);
    assert_ok(stop ? vfi_container_dirty_tracking_stop(c, &err)
                   : vfi_container_dirty_tracking_start(c, &err), err);
    n = vfi_sim_ioctl_count(f->sim) - before;
    assert_int_equal(n, 4);
    stop_all(f);
    fixture_free(f);

    for (uint64_t k = 1; k <= n; k++) {
        for (unsigned e = 0; e < G_N_ELEMENTS(fault_errnos); e++) {
            bool ok;

            f = mixed_fixture();
            c = container_of_dev(f, "a0");
            if (stop) {
                assert_ok(vfi_address_space_dirty_tracking_start(f->as, &err), err);
            }
            vfi_sim_fail_nth(f->sim, (unsigned)k, fault_errnos[e]);
            if (whole_as) {
                ok = stop ? vfi_address_space_dirty_tracking_stop(f->as, &err)
                          : vfi_address_space_dirty_tracking_start(f->as, &err);
            } else {
                ok = stop ? vfi_container_dirty_tracking_stop(c, &err)
                          : vfi_container_dirty_tracking_start(c, &err);
            }
            vfi_sim_fail_clear(f->sim);
            assert_false(ok);
            if (!g_error_matches(err, VFI_KERNEL_ERROR, fault_errnos[e])) {
                fail_msg("ioctl %" PRIu64 " failing with %s: got %s", k,
                         g_strerror(fault_errnos[e]), err->message);
            }
            /* names the HWPT or the device that failed */
            if (!strstr(err->message, "hwpt") && !strstr(err->message, "device")) {
                fail_msg("message names nothing: %s", err->message);
            }
            g_clear_error(&err);
            /* back to the former state, all of it */
            assert_int_equal(vfi_container_dirty_tracking_is_active(c), stop);
            /* (stop cases started through the address space) */
            assert_int_equal(vfi_address_space_dirty_tracking_is_active(f->as), stop);
            assert_all_tracking(f, stop);
            check_consistent(f);
            stop_all(f);
            fixture_free(f);
        }
    }
}

static void test_start_rollback(void **state)
{
    run_fault(false, false);
    run_fault(false, true);
}

static void test_stop_rollback(void **state)
{
    run_fault(true, false);
    run_fault(true, true);
}

/* Two containers (two backends): the address-space start rolls back the
 * container already started when the second one fails. */
static void test_address_space_rollback(void **state)
{
    Fixture *f = fixture_new(dirty_topo);
    VfiIommufd *be2 = vfi_iommufd_new();
    g_autoptr(GError) err = NULL;
    VfiContainer *c1, *c2;

    attach_ok(f, "a0", NULL);
    assert_ok(vfi_address_space_attach_device(f->as, be2, fdev(f, "b0"), NULL, &err), err);
    assert_int_equal(vfi_address_space_container_count(f->as), 2);
    c1 = container_of_dev(f, "a0");
    c2 = container_of_dev(f, "b0");
    vfi_sim_fail_nth(f->sim, 2, ENOMEM);
    assert_false(vfi_address_space_dirty_tracking_start(f->as, &err));
    assert_gerror(err, VFI_KERNEL_ERROR, ENOMEM);
    assert_false(vfi_container_dirty_tracking_is_active(c1));
    assert_false(vfi_container_dirty_tracking_is_active(c2));
    assert_false(vfi_address_space_dirty_tracking_is_active(f->as));
    /* three SET ioctls more: c1 on, c2 fails, c1 off; then a clean start is 2 */
    assert_ok(vfi_address_space_dirty_tracking_start(f->as, &err), err);
    assert_true(vfi_container_dirty_tracking_is_active(c1));
    assert_true(vfi_container_dirty_tracking_is_active(c2));
    /* a device attached later in a new container (third backend would be
     * needed): a0's sibling a1 joins c1 and its HWPT is on already */
    attach_ok(f, "a1", NULL);
    stop_all(f);
    assert_ok(vfi_address_space_detach_device(f->as, fdev(f, "b0"), &err), err);
    fixture_free(f);
    assert_ok(vfi_iommufd_free(be2, &err), err);
}

static void attach_catch_up_fails(Fixture *f, VfiContainer *c)
{
    g_autoptr(GError) err = NULL;
    uint64_t ioctls, n = 0;
    unsigned objects;

    /* the catch-up fails at its last ioctl: the attach fails, nothing left.
     * The ioctls are counted on a second attach: the first one taught the
     * container which HWPTs refuse l1, the failing one is like the second. */
    attach_ok(f, "l1", &prefer_logging);
    assert_true(vfi_device_dma_logging_active(fdev(f, "l1")));
    for (int i = 0; i < 2; i++) {
        if (i) {
            ioctls = vfi_sim_ioctl_count(f->sim);
            attach_ok(f, "l1", &prefer_logging);
            n = vfi_sim_ioctl_count(f->sim) - ioctls;
        }
        assert_ok(vfi_container_dirty_tracking_stop(c, &err), err);
        detach_ok(f, "l1");
        assert_ok(vfi_container_dirty_tracking_start(c, &err), err);
    }
    objects = vfi_sim_live_objects(f->sim);    /* l1 stays bound */
    vfi_sim_fail_nth(f->sim, (unsigned)(n - 1), EIO);  /* the DMA_LOGGING_START */
    assert_false(vfi_address_space_attach_device(f->as, f->be, fdev(f, "l1"),
                                                  &prefer_logging, &err));
    vfi_sim_fail_clear(f->sim);
    assert_gerror(err, VFI_KERNEL_ERROR, EIO);
    assert_null(vfi_device_get_container(fdev(f, "l1")));
    assert_int_equal(vfi_sim_live_objects(f->sim), objects);
}

/* Devices attached while tracking is on are brought into it. */
static void test_attach_while_tracking(void **state)
{
    Fixture *f = fixture_new(dirty_topo);
    VfiIommufd *be2 = vfi_iommufd_new();
    g_autoptr(GError) err = NULL;
    VfiDirtyLog *log = log_new(0, PAGE, 16 * MIB / PAGE);
    uint64_t sets;
    VfiContainer *c, *c2;

    attach_ok(f, "a0", NULL);
    map_ok(f, 0, 16 * MIB);
    assert_ok(vfi_address_space_dirty_tracking_start(f->as, &err), err);
    c = container_of_dev(f, "a0");

    /* a new dirty HWPT (IOMMU b) is switched on */
    sets = vfi_sim_op_count(f->sim, VFI_SIM_OP_HWPT_SET_DIRTY_TRACKING);
    attach_ok(f, "b0", NULL);
    assert_int_equal(vfi_sim_op_count(f->sim, VFI_SIM_OP_HWPT_SET_DIRTY_TRACKING) - sets, 1);
    /* joining a HWPT already on costs nothing */
    attach_ok(f, "a1", NULL);
    assert_int_equal(vfi_sim_op_count(f->sim, VFI_SIM_OP_HWPT_SET_DIRTY_TRACKING) - sets, 1);
    /* a logging device starts logging */
    attach_ok(f, "l0", &prefer_logging);
    assert_true(vfi_device_dma_logging_active(fdev(f, "l0")));
    dma_ok(f, "b0", 3 * PAGE, PAGE);
    dma_ok(f, "l0", 4 * PAGE, PAGE);
    assert_ok(vfi_container_sync_dirty(c, log, &err), err);
    assert_true(log_test(log, 3) && log_test(log, 4));
    assert_int_equal(log_count(log), 2);

    /* a new container (another backend) starts tracking too */
    assert_ok(vfi_address_space_attach_device(f->as, be2, fdev(f, "n0"), NULL, &err), err);
    c2 = container_of_dev(f, "n0");
    assert_ptr_not_equal(c, c2);
    assert_true(vfi_container_dirty_tracking_is_active(c2));

    attach_catch_up_fails(f, c);
    stop_all(f);
    assert_ok(vfi_address_space_detach_device(f->as, fdev(f, "n0"), &err), err);
    log_free(log);
    fixture_free(f);
    assert_ok(vfi_iommufd_free(be2, &err), err);
}

static void test_detach_while_tracking(void **state)
{
    Fixture *f = mixed_fixture();
    g_autoptr(GError) err = NULL;
    uint64_t ioctls;

    attach_ok(f, "m0", NULL);
    assert_ok(vfi_address_space_dirty_tracking_start(f->as, &err), err);
    ioctls = vfi_sim_ioctl_count(f->sim);
    assert_false(vfi_address_space_detach_device(f->as, fdev(f, "a0"), &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    assert_false(vfi_address_space_detach_device(f->as, fdev(f, "l0"), &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    assert_int_equal(vfi_sim_ioctl_count(f->sim), ioctls);
    /* untracked devices may leave */
    detach_ok(f, "m0");
    detach_ok(f, "n0");
    stop_all(f);
    detach_ok(f, "a0");
    fixture_free(f);
}

/* vfi_device_free() of a logging device while tracking is on: it leaves
 * its container and its logging stops; nothing is left in the model. */
static void test_free_while_tracking(void **state)
{
    Fixture *f = mixed_fixture();
    g_autoptr(GError) err = NULL;

    assert_ok(vfi_address_space_dirty_tracking_start(f->as, &err), err);
    for (unsigned i = 0; i < f->ndevs; i++) {
        if (!strcmp(f->names[i], "l0")) {
            g_clear_pointer(&f->devs[i], vfi_device_free);
        }
    }
    stop_all(f);
    fixture_free(f);
}

static void unmap_refused_while_tracking(Fixture *f, VfiContainer *c)
{
    g_autoptr(GError) err = NULL;
    uint64_t ioctls;

    /* plain unmaps are refused, no ioctl */
    ioctls = vfi_sim_ioctl_count(f->sim);
    assert_false(vfi_address_space_dma_unmap(f->as, 16 * MIB, 4 * MIB, 0, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    assert_false(vfi_container_dma_unmap(c, 16 * MIB, 4 * MIB, 0, NULL, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    assert_false(vfi_container_dma_unmap_all(c, NULL, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    /* a dirty unmap without a log must say it does not care */
    assert_false(vfi_address_space_dma_unmap_dirty(f->as, 16 * MIB, 4 * MIB, NULL, 0, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    /* a log that does not cover the range */
    {
        VfiDirtyLog *small = log_new(0, PAGE, 16 * MIB / PAGE);

        assert_false(vfi_address_space_dma_unmap_dirty(f->as, 16 * MIB, 4 * MIB, small, 0,
                                                        &err));
        assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
        log_free(small);
    }
    assert_int_equal(vfi_sim_ioctl_count(f->sim), ioctls);
    assert_int_equal(vfi_address_space_mapping_count(f->as), 3);
}

static void test_unmap_while_tracking(void **state)
{
    Fixture *f = mixed_fixture();
    VfiContainer *c = container_of_dev(f, "a0");
    g_autoptr(GError) err = NULL;
    VfiDirtyLog *log = log_new(0, PAGE, 32 * MIB / PAGE);
    uint64_t unmapped = 0;

    map_ok(f, 16 * MIB, 4 * MIB);
    /* container-level mappings are unmapped at the container level */
    assert_ok(vfi_container_dma_map(c, 20 * MIB, 4 * MIB, fake_va(20 * MIB), false, &err),
              err);
    map_ok(f, 24 * MIB, 4 * MIB);
    assert_ok(vfi_container_dma_map(c, 28 * MIB, 4 * MIB, fake_va(28 * MIB), false, &err),
              err);
    assert_ok(vfi_address_space_dirty_tracking_start(f->as, &err), err);

    unmap_refused_while_tracking(f, c);
    /* pages written then unmapped are in the log: none lost */
    dma_ok(f, "a0", 16 * MIB + 5 * PAGE, PAGE);
    dma_ok(f, "b0", 16 * MIB + 7 * PAGE, 2 * PAGE);
    dma_ok(f, "l0", 16 * MIB + 100 * PAGE, PAGE);
    assert_ok(vfi_address_space_dma_unmap_dirty(f->as, 16 * MIB, 4 * MIB, log, 0, &err), err);
    assert_int_equal(log_count(log), 4);
    assert_true(log_test(log, 4096 + 5) && log_test(log, 4096 + 7) &&
                log_test(log, 4096 + 8) && log_test(log, 4096 + 100));
    assert_int_equal(vfi_address_space_mapping_count(f->as), 2);

    /* container level, and a range whose IOMMU bits are read NO_CLEAR */
    log_clear(log);
    dma_ok(f, "a1", 20 * MIB + PAGE, PAGE);
    assert_ok(vfi_container_query_dirty(c, 20 * MIB, 4 * MIB, log,
                                         VFI_DIRTY_QUERY_NO_CLEAR, &err), err);
    assert_int_equal(log_count(log), 1);
    log_clear(log);
    assert_ok(vfi_container_dma_unmap_dirty(c, 20 * MIB, 4 * MIB, log, 0, &unmapped, &err),
              err);
    assert_int_equal(unmapped, 4 * MIB);
    assert_int_equal(log_count(log), 1);
    assert_true(log_test(log, 5120 + 1));
    /* discard explicitly */
    assert_ok(vfi_container_dma_unmap_dirty(c, 28 * MIB, 4 * MIB, NULL,
                                             VFI_UNMAP_DISCARD_DIRTY, &unmapped, &err), err);
    assert_int_equal(unmapped, 4 * MIB);
    assert_ok(vfi_address_space_dma_unmap_dirty(f->as, 24 * MIB, 4 * MIB, NULL,
                                                 VFI_UNMAP_DISCARD_DIRTY, &err), err);
    /* the unmapped range is no longer synced */
    log_clear(log);
    assert_ok(vfi_container_sync_dirty(c, log, &err), err);
    assert_int_equal(log_count(log), 0);
    log_free(log);
    stop_all(f);
    fixture_free(f);
}

/* A map outside the ranges a logging device logs is refused while it logs. */
static void test_map_while_logging(void **state)
{
    Fixture *f = fixture_new(dirty_topo);
    g_autoptr(GError) err = NULL;
    uint64_t ioctls;

    attach_ok(f, "a0", NULL);
    /* nothing mapped: a logging device cannot start */
    attach_ok(f, "l0", &prefer_logging);
    ioctls = vfi_sim_ioctl_count(f->sim);
    assert_false(vfi_address_space_dirty_tracking_start(f->as, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    assert_int_equal(vfi_sim_ioctl_count(f->sim), ioctls);
    map_ok(f, 0, 4 * MIB);
    assert_ok(vfi_address_space_dirty_tracking_start(f->as, &err), err);
    ioctls = vfi_sim_ioctl_count(f->sim);
    assert_false(vfi_address_space_dma_map(f->as, 8 * MIB, MIB, fake_va(8 * MIB), false,
                                            &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    assert_int_equal(vfi_sim_ioctl_count(f->sim), ioctls);
    stop_all(f);
    map_ok(f, 8 * MIB, MIB);
    fixture_free(f);
}

/* Each device's coverage and reason, in the report and from its container. */
static void coverage_check_report(Fixture *f, VfiContainer *c)
{
    g_autofree VfiDirtyDeviceReport *rep = NULL;
    VfiUntrackedReason why;
    unsigned n;

    rep = vfi_address_space_dirty_report(f->as, &n);
    assert_int_equal(n, 8);
    {
        static const struct {
            const char *name;
            VfiDirtyCoverage cov;
            VfiUntrackedReason why;
        } want[] = {
            { "a0", VFI_DIRTY_COVERAGE_IOMMU, VFI_COVERED },
            { "n0", VFI_DIRTY_COVERAGE_NONE, VFI_UNTRACKED_NO_IOMMU_CAP },
            { "l0", VFI_DIRTY_COVERAGE_DEVICE_LOGGING, VFI_COVERED },
            { "l1", VFI_DIRTY_COVERAGE_IOMMU, VFI_COVERED },
            { "l2", VFI_DIRTY_COVERAGE_NONE, VFI_UNTRACKED_LOGGING_NOT_PREFERRED },
            { "m0", VFI_DIRTY_COVERAGE_NONE, VFI_UNTRACKED_MDEV },
            { "ml", VFI_DIRTY_COVERAGE_DEVICE_LOGGING, VFI_COVERED },
            { "a1", VFI_DIRTY_COVERAGE_NONE, VFI_UNTRACKED_VMM_OPT_OUT },
        };

        for (unsigned i = 0; i < n; i++) {
            assert_ptr_equal(rep[i].device, fdev(f, want[i].name));
            assert_ptr_equal(rep[i].container, c);
            assert_int_equal(rep[i].coverage, want[i].cov);
            assert_int_equal(rep[i].reason, want[i].why);
            assert_int_equal(vfi_container_dirty_coverage(c, rep[i].device, &why),
                             want[i].cov);
            assert_int_equal(why, want[i].why);
        }
    }
}

/* The migration blocker names each untracked device and why. */
static void coverage_check_blocker(Fixture *f, VfiContainer *c)
{
    g_autofree char *msg = NULL;
    g_autofree char *expect = NULL;

    msg = vfi_address_space_migration_blocker(f->as);
    expect = g_strdup_printf("dirty tracking does not cover 4 devices: "
                             "%s (its IOMMU has no dirty tracking), "
                             "%s (it offers DMA logging, but the VMM did not ask for it), "
                             "%s (mdev without an IOMMU domain), "
                             "%s (the VMM opted out of IOMMU dirty tracking)",
                             vfi_device_get_name(fdev(f, "n0")),
                             vfi_device_get_name(fdev(f, "l2")),
                             vfi_device_get_name(fdev(f, "m0")),
                             vfi_device_get_name(fdev(f, "a1")));
    assert_string_equal(msg, expect);
    assert_false(vfi_container_dirty_coverage_complete(c));
}

static void coverage_after_unplug(Fixture *f, VfiContainer *c)
{
    g_autofree char *msg = NULL;
    g_autofree char *expect = NULL;

    /* hot-unplug of the untracked devices: the container is fully tracked */
    detach_ok(f, "n0");
    detach_ok(f, "l2");
    detach_ok(f, "a1");
    g_free(msg);
    msg = vfi_address_space_migration_blocker(f->as);
    g_free(expect);
    expect = g_strdup_printf("dirty tracking does not cover 1 device: %s (mdev without an "
                             "IOMMU domain)", vfi_device_get_name(fdev(f, "m0")));
    assert_string_equal(msg, expect);
    detach_ok(f, "m0");
    g_free(msg);
    msg = vfi_address_space_migration_blocker(f->as);
    assert_null(msg);
    assert_true(vfi_container_dirty_coverage_complete(c));
    assert_false(vfi_container_iommu_coverage_complete(c));
    assert_false(vfi_container_dirty_coverage_complete(NULL));
}

static void test_coverage_report(void **state)
{
    Fixture *f = fixture_new(dirty_topo);
    VfiContainer *c;
    unsigned n;

    assert_null(vfi_address_space_migration_blocker(f->as));
    assert_null(vfi_address_space_dirty_report(f->as, &n));
    assert_int_equal(n, 0);

    attach_ok(f, "a0", NULL);           /* IOMMU */
    attach_ok(f, "n0", NULL);           /* none: no IOMMU capability */
    attach_ok(f, "l0", &prefer_logging); /* device logging */
    attach_ok(f, "l1", NULL);           /* IOMMU (logging offered, not preferred) */
    attach_ok(f, "l2", NULL);           /* none: logging offered, not preferred */
    attach_ok(f, "m0", NULL);           /* none: mdev */
    attach_ok(f, "ml", &prefer_logging); /* device logging */
    attach_ok(f, "a1", &opt_out);       /* none: VMM opted out */
    c = container_of_dev(f, "a0");

    coverage_check_report(f, c);
    /* a logging device preferring logging sits in a plain HWPT */
    assert_int_equal(vfi_hwpt_get_flags(vfi_device_get_hwpt(fdev(f, "l0"))), 0);
    assert_true(vfi_device_offers_dma_logging(fdev(f, "l2")));
    assert_false(vfi_device_offers_dma_logging(fdev(f, "a0")));

    coverage_check_blocker(f, c);
    coverage_after_unplug(f, c);
    fixture_free(f);
}

/* A start failing at a logging device whose undo fails too (two faults:
 * DMA_LOGGING_START of l0, then SET_DIRTY_TRACKING disable of b's HWPT, or
 * of a's): the error is the first fault's, the container is not tracking,
 * the HWPT whose undo failed is still on in the model and the library says
 * so; a later start and stop bring everything back in step. */
static void test_start_rollback_double_fault(void **state)
{
    /* start order: SET a, SET b, START l0 (fails), START ml; undo: SET b off
     * (ioctl 4), SET a off (ioctl 5) */
    for (unsigned undo_nth = 4; undo_nth <= 5; undo_nth++) {
        Fixture *f = mixed_fixture();
        VfiContainer *c = container_of_dev(f, "a0");
        VfiHwpt *ha = vfi_device_get_hwpt(fdev(f, "a0"));
        VfiHwpt *hb = vfi_device_get_hwpt(fdev(f, "b0"));
        VfiHwpt *stuck = undo_nth == 4 ? hb : ha;
        VfiDirtyLog *log = log_new(0, PAGE, 16 * MIB / PAGE);
        g_autoptr(GError) err = NULL;
        uint64_t sets = vfi_sim_op_count(f->sim, VFI_SIM_OP_HWPT_SET_DIRTY_TRACKING);

        vfi_sim_fail_next(f->sim, VFI_SIM_OP_DEVICE_FEATURE, EIO);
        vfi_sim_fail_nth(f->sim, undo_nth, ENOMEM);
        assert_false(vfi_container_dirty_tracking_start(c, &err));
        vfi_sim_fail_clear(f->sim);
        assert_gerror(err, VFI_KERNEL_ERROR, EIO);
        /* 2 forward, 2 undo attempts */
        assert_int_equal(vfi_sim_op_count(f->sim, VFI_SIM_OP_HWPT_SET_DIRTY_TRACKING) - sets,
                         4);
        assert_false(vfi_container_dirty_tracking_is_active(c));
        assert_false(vfi_address_space_dirty_tracking_is_active(f->as));
        assert_false(vfi_device_dma_logging_active(fdev(f, "l0")));
        assert_false(vfi_device_dma_logging_active(fdev(f, "ml")));
        /* exactly the HWPT whose undo failed is on, in both views */
        assert_int_equal(check_hwpts_match_model(f, c), 1);
        assert_true(vfi_hwpt_dirty_tracking_is_on(stuck));
        assert_false(vfi_hwpt_dirty_tracking_is_on(stuck == ha ? hb : ha));
        /* the container is not tracking: no read */
        assert_false(vfi_container_sync_dirty(c, log, &err));
        assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
        /* a new start switches on the rest only; stop switches off both */
        sets = vfi_sim_op_count(f->sim, VFI_SIM_OP_HWPT_SET_DIRTY_TRACKING);
        assert_ok(vfi_container_dirty_tracking_start(c, &err), err);
        assert_int_equal(vfi_sim_op_count(f->sim, VFI_SIM_OP_HWPT_SET_DIRTY_TRACKING) - sets,
                         1);
        assert_all_tracking(f, true);
        assert_ok(vfi_container_dirty_tracking_stop(c, &err), err);
        assert_all_tracking(f, false);
        check_consistent(f);
        log_free(log);
        fixture_free(f);
    }
}

static void read_off_unmaps(Fixture *f, VfiContainer *c1, VfiDirtyLog *log)
{
    g_autoptr(GError) err = NULL;
    uint64_t reads, feats, unmapped = 0;

    /* unmaps with a log: nothing read, the log untouched, unmapped */
    dma_ok(f, "a0", 16 * MIB, PAGE);
    reads = vfi_sim_op_count(f->sim, VFI_SIM_OP_HWPT_GET_DIRTY_BITMAP);
    feats = vfi_sim_op_count(f->sim, VFI_SIM_OP_DEVICE_FEATURE);
    assert_ok(vfi_address_space_dma_unmap_dirty(f->as, 16 * MIB, 4 * MIB, log, 0, &err), err);
    assert_ok(vfi_container_dma_unmap_dirty(c1, 24 * MIB, 4 * MIB, log, 0, &unmapped, &err),
              err);
    assert_int_equal(unmapped, 4 * MIB);
    assert_int_equal(vfi_sim_op_count(f->sim, VFI_SIM_OP_HWPT_GET_DIRTY_BITMAP), reads);
    assert_int_equal(vfi_sim_op_count(f->sim, VFI_SIM_OP_DEVICE_FEATURE), feats);
    assert_int_equal(log_count(log), 0);
    assert_int_equal(vfi_address_space_mapping_count(f->as), 2);
    /* the arguments are checked all the same */
    assert_false(vfi_address_space_dma_unmap_dirty(f->as, 20 * MIB, 4 * MIB, NULL, 0, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
}

/* Tracking off: there are no dirty bits to read. Queries and syncs are
 * refused (WRONG_STATE, no ioctl), unmaps with a log just unmap; with one of
 * two containers tracking, an address-space unmap reads that one only. */
static void test_read_tracking_off(void **state)
{
    Fixture *f = fixture_new(dirty_topo);
    VfiIommufd *be2 = vfi_iommufd_new();
    VfiDirtyLog *log = log_new(0, PAGE, 32 * MIB / PAGE);
    g_autoptr(GError) err = NULL;
    uint64_t ioctls, reads, feats;
    VfiContainer *c1, *c2;

    attach_ok(f, "a0", NULL);
    attach_ok(f, "l0", &prefer_logging);
    assert_ok(vfi_address_space_attach_device(f->as, be2, fdev(f, "b0"), NULL, &err), err);
    c1 = container_of_dev(f, "a0");
    c2 = container_of_dev(f, "b0");
    map_ok(f, 0, 16 * MIB);
    map_ok(f, 16 * MIB, 4 * MIB);
    map_ok(f, 20 * MIB, 4 * MIB);
    assert_ok(vfi_container_dma_map(c1, 24 * MIB, 4 * MIB, fake_va(24 * MIB), false, &err),
              err);

    ioctls = vfi_sim_ioctl_count(f->sim);
    assert_false(vfi_container_query_dirty(c1, 0, 16 * MIB, log, 0, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    assert_false(vfi_container_sync_dirty(c1, log, &err));
    assert_non_null(strstr(err->message, "tracking is off"));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    assert_false(vfi_address_space_sync_dirty(f->as, log, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    assert_int_equal(vfi_sim_ioctl_count(f->sim), ioctls);

    read_off_unmaps(f, c1, log);
    /* c1 tracking, c2 not: the address space is not tracking; its unmap
     * reads c1's sources only (a's HWPT and l0's log), with NO_CLEAR */
    assert_ok(vfi_container_dirty_tracking_start(c1, &err), err);
    assert_false(vfi_address_space_dirty_tracking_is_active(f->as));
    assert_false(vfi_address_space_sync_dirty(f->as, log, &err));
    assert_non_null(strstr(err->message, "tracking is off for ioas"));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    dma_ok(f, "a0", 20 * MIB + PAGE, PAGE);
    dma_ok(f, "l0", 20 * MIB + 2 * PAGE, PAGE);
    dma_ok(f, "b0", 20 * MIB + 3 * PAGE, PAGE);     /* c2 not tracking: lost */
    reads = vfi_sim_op_count(f->sim, VFI_SIM_OP_HWPT_GET_DIRTY_BITMAP);
    feats = vfi_sim_op_count(f->sim, VFI_SIM_OP_DEVICE_FEATURE);
    assert_ok(vfi_address_space_dma_unmap_dirty(f->as, 20 * MIB, 4 * MIB, log, 0, &err), err);
    assert_int_equal(vfi_sim_op_count(f->sim, VFI_SIM_OP_HWPT_GET_DIRTY_BITMAP) - reads, 1);
    assert_int_equal(vfi_sim_op_count(f->sim, VFI_SIM_OP_DEVICE_FEATURE) - feats, 1);
    assert_int_equal(log_count(log), 2);
    assert_true(log_test(log, 5120 + 1) && log_test(log, 5120 + 2));
    check_hwpts_match_model(f, c1);
    check_hwpts_match_model(f, c2);

    stop_all(f);
    assert_ok(vfi_address_space_detach_device(f->as, fdev(f, "b0"), &err), err);
    log_free(log);
    fixture_free(f);
    assert_ok(vfi_iommufd_free(be2, &err), err);
}

/* The address space's tracking state is derived from its containers: a
 * container-level stop makes it false at once, so a container made then
 * does not start tracking on its own; once all are tracking again, a new
 * container joins in. */
static void test_address_space_state_derived(void **state)
{
    Fixture *f = fixture_new(dirty_topo);
    VfiIommufd *be2 = vfi_iommufd_new(), *be3 = vfi_iommufd_new();
    VfiIommufd *be4 = vfi_iommufd_new();
    g_autoptr(GError) err = NULL;
    VfiContainer *c1, *c2, *c3, *c4;
    uint64_t sets;

    /* no container: nothing to start, not tracking */
    assert_ok(vfi_address_space_dirty_tracking_start(f->as, &err), err);
    assert_false(vfi_address_space_dirty_tracking_is_active(f->as));
    attach_ok(f, "a0", NULL);
    c1 = container_of_dev(f, "a0");
    assert_false(vfi_container_dirty_tracking_is_active(c1));
    assert_ok(vfi_address_space_attach_device(f->as, be2, fdev(f, "b0"), NULL, &err), err);
    c2 = container_of_dev(f, "b0");
    map_ok(f, 0, 16 * MIB);

    assert_ok(vfi_address_space_dirty_tracking_start(f->as, &err), err);
    assert_true(vfi_address_space_dirty_tracking_is_active(f->as));
    assert_ok(vfi_container_dirty_tracking_stop(c2, &err), err);
    assert_false(vfi_address_space_dirty_tracking_is_active(f->as));
    assert_int_equal(check_hwpts_match_model(f, c2), 0);

    /* a new container now does not start tracking */
    sets = vfi_sim_op_count(f->sim, VFI_SIM_OP_HWPT_SET_DIRTY_TRACKING);
    assert_ok(vfi_address_space_attach_device(f->as, be3, fdev(f, "a1"), NULL, &err), err);
    c3 = container_of_dev(f, "a1");
    assert_true(c3 != c1 && c3 != c2);
    assert_false(vfi_container_dirty_tracking_is_active(c3));
    assert_int_equal(vfi_sim_op_count(f->sim, VFI_SIM_OP_HWPT_SET_DIRTY_TRACKING), sets);
    assert_int_equal(check_hwpts_match_model(f, c3), 0);

    /* c2 on again: c3 is still off, so the address space is not tracking;
     * its start switches on c3 only */
    assert_ok(vfi_container_dirty_tracking_start(c2, &err), err);
    assert_false(vfi_address_space_dirty_tracking_is_active(f->as));
    sets = vfi_sim_op_count(f->sim, VFI_SIM_OP_HWPT_SET_DIRTY_TRACKING);
    assert_ok(vfi_address_space_dirty_tracking_start(f->as, &err), err);
    assert_int_equal(vfi_sim_op_count(f->sim, VFI_SIM_OP_HWPT_SET_DIRTY_TRACKING) - sets, 1);
    assert_true(vfi_address_space_dirty_tracking_is_active(f->as));
    assert_int_equal(check_hwpts_match_model(f, c3), 1);

    /* all tracking: a new container joins in as part of the attach */
    assert_ok(vfi_address_space_attach_device(f->as, be4, fdev(f, "n0"), NULL, &err), err);
    c4 = container_of_dev(f, "n0");
    assert_true(vfi_container_dirty_tracking_is_active(c4));
    assert_true(vfi_address_space_dirty_tracking_is_active(f->as));

    stop_all(f);
    assert_false(vfi_address_space_dirty_tracking_is_active(f->as));
    assert_int_equal(check_hwpts_match_model(f, c1), 0);
    assert_ok(vfi_address_space_detach_device(f->as, fdev(f, "b0"), &err), err);
    assert_ok(vfi_address_space_detach_device(f->as, fdev(f, "a1"), &err), err);
    assert_ok(vfi_address_space_detach_device(f->as, fdev(f, "n0"), &err), err);
    fixture_free(f);
    assert_ok(vfi_iommufd_free(be2, &err), err);
    assert_ok(vfi_iommufd_free(be3, &err), err);
    assert_ok(vfi_iommufd_free(be4, &err), err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_stop_twice),
        cmocka_unit_test(test_start_rollback),
        cmocka_unit_test(test_stop_rollback),
        cmocka_unit_test(test_address_space_rollback),
        cmocka_unit_test(test_attach_while_tracking),
        cmocka_unit_test(test_detach_while_tracking),
        cmocka_unit_test(test_free_while_tracking),
        cmocka_unit_test(test_unmap_while_tracking),
        cmocka_unit_test(test_map_while_logging),
        cmocka_unit_test(test_coverage_report),
        cmocka_unit_test(test_start_rollback_double_fault),
        cmocka_unit_test(test_read_tracking_off),
        cmocka_unit_test(test_address_space_state_derived),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
