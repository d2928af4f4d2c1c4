/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * PASIDs of an address space's devices (include/vfio-iommufd/as-pasid.h)
 * on the kernel model: attach and detach, two PASIDs sharing a PASID HWPT
 * and its users, the HWPT destroyed with its last user, a device's detach
 * dropping its PASIDs, the refusals with no ioctl, dirty tracking switching
 * the PASID HWPT, a live-update save refused, every ioctl of attach + detach failed in turn leaving
 * nothing; a build without the UAPI refuses before any ioctl.
 */
#include "config.h"
#include "test-container-helpers.h"
#include "vfio-iommufd/as-pasid.h"
#include "vfio-iommufd/device-pasid.h"
#include "vfio-iommufd/dirty.h"
#include "vfio-iommufd/live-update.h"

static const char topo[] =
    "[iommu n]\ndirty-tracking=true\n"
    "[iommu m]\ndirty-tracking=true\n"
    "[device n0]\niommu=n\n[device n1]\niommu=n\n[device m0]\niommu=m\n"
    "[device x0]\niommu=n\n";

static const VfiAttachOptions pasid_opts = VFI_ATTACH_OPTIONS_INIT(.pasid = true);

static Fixture *setup(void)
{
    g_autoptr(GError) err = NULL;
    Fixture *f = fixture_new(topo);

    assert_ok(vfi_sim_set_device_max_pasid_log2(f->sim, "n0", 20, &err), err);
    assert_ok(vfi_sim_set_device_max_pasid_log2(f->sim, "n1", 20, &err), err);
    assert_ok(vfi_sim_set_device_max_pasid_log2(f->sim, "m0", 8, &err), err);
    return f;
}

#if HAVE_VFIO_DEVICE_ATTACH_PASID && HAVE_IOMMU_HWPT_ALLOC_PASID

static void pasid_ok(Fixture *f, const char *name, uint32_t pasid)
{
    g_autoptr(GError) err = NULL;

    assert_ok(vfi_address_space_attach_pasid(f->as, fdev(f, name), pasid, &err), err);
    assert_int_not_equal(vfi_device_get_pasid_pt(fdev(f, name), pasid), 0);
}

static void unpasid_ok(Fixture *f, const char *name, uint32_t pasid)
{
    g_autoptr(GError) err = NULL;

    assert_ok(vfi_address_space_detach_pasid(f->as, fdev(f, name), pasid, &err), err);
    assert_int_equal(vfi_device_get_pasid_pt(fdev(f, name), pasid), 0);
}

/* The HWPT of @c with @id, or NULL. */
static VfiHwpt *hwpt_of(VfiContainer *c, uint32_t id)
{
    for (unsigned i = 0; i < vfi_container_hwpt_count(c); i++) {
        if (vfi_hwpt_get_id(vfi_container_hwpt(c, i)) == id) {
            return vfi_container_hwpt(c, i);
        }
    }
    return NULL;
}

static VfiHwpt *pasid_hwpt(Fixture *f, const char *name, uint32_t pasid)
{
    VfiDevice *d = fdev(f, name);

    return hwpt_of(vfi_device_get_container(d), vfi_device_get_pasid_pt(d, pasid));
}

/* Two devices of one instance, three PASIDs: one PASID HWPT (PASID-capable,
 * dirty-capable, no RID device), gone with its last user. */
static void test_share_and_free(void **state)
{
    Fixture *f = setup();
    VfiContainer *c;
    VfiHwpt *h;
    uint32_t id;

    (void)state;
    attach_ok(f, "n0", &pasid_opts);
    attach_ok(f, "n1", &pasid_opts);
    c = vfi_device_get_container(fdev(f, "n0"));
    assert_int_equal(vfi_container_hwpt_count(c), 1);
    assert_true(vfi_hwpt_get_flags(vfi_device_get_hwpt(fdev(f, "n0"))) & IOMMU_HWPT_ALLOC_PASID);
    pasid_ok(f, "n0", 5);
    h = pasid_hwpt(f, "n0", 5);
    assert_non_null(h);
    id = vfi_hwpt_get_id(h);
    assert_ptr_not_equal(h, vfi_device_get_hwpt(fdev(f, "n0")));
    assert_int_equal(vfi_hwpt_get_flags(h),
                     IOMMU_HWPT_ALLOC_PASID | IOMMU_HWPT_ALLOC_DIRTY_TRACKING);
    assert_int_equal(vfi_hwpt_device_count(h), 0);
    pasid_ok(f, "n0", 6);
    pasid_ok(f, "n1", 5);
    assert_ptr_equal(pasid_hwpt(f, "n0", 6), h);
    assert_ptr_equal(pasid_hwpt(f, "n1", 5), h);
    assert_int_equal(vfi_container_hwpt_count(c), 2);
    check_consistent(f);
    unpasid_ok(f, "n0", 5);
    unpasid_ok(f, "n1", 5);
    assert_ptr_equal(hwpt_of(c, id), h);          /* one user left */
    assert_true(vfi_sim_object_exists(f->sim, vfi_iommufd_get_fd(f->be), id));
    unpasid_ok(f, "n0", 6);
    assert_null(hwpt_of(c, id));
    assert_false(vfi_sim_object_exists(f->sim, vfi_iommufd_get_fd(f->be), id));
    assert_int_equal(vfi_container_hwpt_count(c), 1);
    check_consistent(f);
    fixture_free(f);
}

/* Another IOMMU instance gets a PASID HWPT of its own; a VMM's opt-out of
 * IOMMU dirty tracking gives a PASID HWPT without DIRTY_TRACKING. */
static void test_instances_and_flags(void **state)
{
    static const VfiAttachOptions no_dirty =
        VFI_ATTACH_OPTIONS_INIT(.pasid = true, .no_iommu_dirty_tracking = true);
    Fixture *f = setup();

    (void)state;
    attach_ok(f, "n0", &pasid_opts);
    attach_ok(f, "m0", &pasid_opts);
    attach_ok(f, "n1", &no_dirty);
    pasid_ok(f, "n0", 1);
    pasid_ok(f, "m0", 1);
    pasid_ok(f, "n1", 1);
    assert_ptr_not_equal(pasid_hwpt(f, "n0", 1), pasid_hwpt(f, "m0", 1));
    assert_ptr_not_equal(pasid_hwpt(f, "n0", 1), pasid_hwpt(f, "n1", 1));
    assert_int_equal(vfi_hwpt_get_flags(pasid_hwpt(f, "n1", 1)), IOMMU_HWPT_ALLOC_PASID);
    assert_int_equal(vfi_hwpt_get_flags(vfi_device_get_hwpt(fdev(f, "n1"))),
                     IOMMU_HWPT_ALLOC_PASID);
    check_consistent(f);
    fixture_free(f);                     /* every device's PASIDs go with it */
}

/* A device's detach drops its PASIDs and their HWPT. */
static void test_detach_device_drops(void **state)
{
    Fixture *f = setup();
    g_autoptr(GError) err = NULL;

    (void)state;
    attach_ok(f, "n0", &pasid_opts);
    pasid_ok(f, "n0", 1);
    pasid_ok(f, "n0", 0xfffff);
    detach_ok(f, "n0");
    assert_int_equal(vfi_device_get_pasid_pt(fdev(f, "n0"), 1), 0);
    assert_int_equal(vfi_device_get_pasid_pt(fdev(f, "n0"), 0xfffff), 0);
    assert_int_equal(vfi_sim_device_attached_pt(f->sim, "n0"), 0);
    assert_int_equal(vfi_address_space_container_count(f->as), 0);
    check_consistent(f);                  /* no PASID HWPT left in the model */
    /* a device freed with a PASID attached: its release detaches it all */
    attach_ok(f, "n0", &pasid_opts);
    pasid_ok(f, "n0", 2);
    for (unsigned i = 0; i < f->ndevs; i++) {
        if (f->devs[i] == fdev(f, "n0")) {
            vfi_device_free(f->devs[i]);
            f->devs[i] = NULL;
            break;
        }
    }
    assert_int_equal(vfi_address_space_container_count(f->as), 0);
    assert_ok(vfi_address_space_free(f->as, &err), err);
    f->as = vfi_address_space_new(f);
    fixture_free(f);
}

/* The refusals, none making an ioctl. */
static void test_refusals(void **state)
{
    Fixture *f = setup();

    (void)state;
    assert_refused(f, vfi_address_space_attach_pasid(f->as, fdev(f, "n0"), 1, errp),
                   VFI_ERROR_WRONG_STATE);            /* not in the address space */
    assert_refused(f, vfi_address_space_attach_pasid(NULL, fdev(f, "n0"), 1, errp),
                   VFI_ERROR_INVALID_ARGUMENT);
    attach_ok(f, "n0", &pasid_opts);
    attach_ok(f, "x0", &pasid_opts);
    attach_ok(f, "m0", NULL);
    assert_refused(f, vfi_address_space_attach_pasid(f->as, fdev(f, "n0"), 0, errp),
                   VFI_ERROR_INVALID_ARGUMENT);
    assert_refused(f, vfi_address_space_attach_pasid(f->as, fdev(f, "n0"), 1u << 20, errp),
                   VFI_ERROR_INVALID_ARGUMENT);
    assert_refused(f, vfi_address_space_attach_pasid(f->as, fdev(f, "x0"), 1, errp),
                   VFI_ERROR_NOT_SUPPORTED);          /* width 0 */
    assert_refused(f, vfi_address_space_attach_pasid(f->as, fdev(f, "m0"), 1, errp),
                   VFI_ERROR_WRONG_STATE);            /* placed without the option */
    assert_refused(f, vfi_address_space_attach_pasid(f->as, fdev(f, "m0"), 1u << 8, errp),
                   VFI_ERROR_INVALID_ARGUMENT);       /* its 8-bit width */
    assert_refused(f, vfi_address_space_detach_pasid(f->as, fdev(f, "n0"), 3, errp),
                   VFI_ERROR_WRONG_STATE);            /* not attached */
    pasid_ok(f, "n0", 3);
    assert_refused(f, vfi_address_space_attach_pasid(f->as, fdev(f, "n0"), 3, errp),
                   VFI_ERROR_WRONG_STATE);            /* attached already */
    assert_refused(f, vfi_device_attach_pasid(fdev(f, "n0"), 4, 1, NULL, errp),
                   VFI_ERROR_WRONG_STATE);            /* the device's own call: owned */
    {
        GArray *fds = NULL;
        g_autoptr(GError) e = NULL;
        uint64_t n = vfi_sim_ioctl_count(f->sim);

        /* a handover does not carry PASIDs: refused, no ioctl */
        assert_null(vfi_live_update_save(f->as, &fds, &e));
        assert_non_null(e);
        assert_non_null(strstr(e->message, "PASID"));
        assert_gerror(e, VFI_ERROR, VFI_ERROR_NOT_SUPPORTED);
        assert_int_equal(vfi_sim_ioctl_count(f->sim), n);
        assert_null(fds);
    }
    check_consistent(f);
    fixture_free(f);
}

/* Dirty tracking start / stop switch the PASID HWPT too; an attach while
 * tracking is refused. */
static void test_dirty_tracking(void **state)
{
    Fixture *f = setup();
    g_autoptr(GError) err = NULL;
    VfiHwpt *h;

    (void)state;
    attach_ok(f, "n0", &pasid_opts);
    pasid_ok(f, "n0", 7);
    h = pasid_hwpt(f, "n0", 7);
    assert_false(vfi_hwpt_dirty_tracking_is_on(h));
    assert_ok(vfi_address_space_dirty_tracking_start(f->as, &err), err);
    assert_true(vfi_hwpt_dirty_tracking_is_on(h));
    assert_true(vfi_hwpt_dirty_tracking_is_on(vfi_device_get_hwpt(fdev(f, "n0"))));
    assert_refused(f, vfi_address_space_attach_pasid(f->as, fdev(f, "n0"), 8, errp),
                   VFI_ERROR_WRONG_STATE);
    assert_ok(vfi_address_space_dirty_tracking_stop(f->as, &err), err);
    assert_false(vfi_hwpt_dirty_tracking_is_on(h));
    fixture_free(f);
}

/* Attach PASID 9 then detach it, the k-th ioctl failing (0: none). */
static bool flow(Fixture *f, GError **errp)
{
    return vfi_address_space_attach_pasid(f->as, fdev(f, "n0"), 9, errp) &&
           vfi_address_space_detach_pasid(f->as, fdev(f, "n0"), 9, errp);
}

static void test_faults(void **state)
{
    g_autoptr(GError) err = NULL;
    Fixture *f = setup();
    uint64_t before, n;

    (void)state;
    attach_ok(f, "n0", &pasid_opts);
    before = vfi_sim_ioctl_count(f->sim);
    assert_ok(flow(f, &err), err);
    n = vfi_sim_ioctl_count(f->sim) - before;
    assert_true(n >= 3);                 /* HWPT_ALLOC, ATTACH_PASID, DETACH_PASID, DESTROY */
    fixture_free(f);
    for (uint64_t k = 1; k <= n; k++) {
        f = setup();
        attach_ok(f, "n0", &pasid_opts);
        vfi_sim_fail_nth(f->sim, (unsigned)k, ENOMEM);
        if (!flow(f, &err)) {
            assert_non_null(err);
            g_clear_error(&err);
        }
        vfi_sim_fail_clear(f->sim);
        check_consistent(f);
        fixture_free(f);                 /* the model left clean */
    }
}

#else

/* Without the UAPI: NOT_SUPPORTED before any ioctl. */
static void test_not_supported(void **state)
{
    Fixture *f = setup();

    (void)state;
    attach_ok(f, "n0", &pasid_opts);
    assert_refused(f, vfi_address_space_attach_pasid(f->as, fdev(f, "n0"), 1, errp),
                   VFI_ERROR_NOT_SUPPORTED);
    assert_refused(f, vfi_address_space_detach_pasid(f->as, fdev(f, "n0"), 1, errp),
                   VFI_ERROR_NOT_SUPPORTED);
    fixture_free(f);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
#if HAVE_VFIO_DEVICE_ATTACH_PASID && HAVE_IOMMU_HWPT_ALLOC_PASID
        cmocka_unit_test(test_share_and_free),
        cmocka_unit_test(test_instances_and_flags),
        cmocka_unit_test(test_detach_device_drops),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_dirty_tracking),
        cmocka_unit_test(test_faults),
#else
        cmocka_unit_test(test_not_supported),
#endif
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
