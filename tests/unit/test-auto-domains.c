/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Userspace auto domains: which HWPT each device lands in, with which flags,
 * after how many attach calls; dirty coverage after each change; hot-plug
 * and hot-unplug sequences ending in the same state as a fresh build.
 */
#include "test-container-helpers.h"

#define DIRTY IOMMU_HWPT_ALLOC_DIRTY_TRACKING

static const char homogeneous_topo[] =
    "[iommu a]\ndirty-tracking=true\n"
    "[device d0]\niommu=a\n[device d1]\niommu=a\n[device d2]\niommu=a\n"
    "[device d3]\niommu=a\n[device d4]\niommu=a\n[device d5]\niommu=a\n"
    "[device d6]\niommu=a\n[device d7]\niommu=a\n";

/* 8 devices behind one dirty IOMMU: one dirty HWPT, one attach call each. */
static void test_homogeneous(void **state)
{
    Fixture *f = fixture_new(homogeneous_topo);
    uint64_t attaches = vfi_sim_op_count(f->sim, VFI_SIM_OP_DEVICE_ATTACH);
    uint64_t allocs = vfi_sim_op_count(f->sim, VFI_SIM_OP_HWPT_ALLOC);
    VfiContainer *c;
    VfiHwpt *h;

    for (unsigned i = 0; i < 8; i++) {
        g_autofree char *name = g_strdup_printf("d%u", i);
        VfiUntrackedReason why = -1;

        attach_ok(f, name, NULL);
        assert_int_equal(vfi_device_get_attach_attempts(fdev(f, name)), 1);
        assert_int_equal(vfi_sim_op_count(f->sim, VFI_SIM_OP_DEVICE_ATTACH) - attaches,
                         i + 1);
        c = vfi_device_get_container(fdev(f, name));
        assert_int_equal(vfi_container_dirty_coverage(c, fdev(f, name), &why),
                         VFI_DIRTY_COVERAGE_IOMMU);
        assert_int_equal(why, VFI_COVERED);
        assert_true(vfi_container_iommu_coverage_complete(c));
        check_consistent(f);
    }
    assert_int_equal(vfi_sim_op_count(f->sim, VFI_SIM_OP_HWPT_ALLOC) - allocs, 1);
    assert_int_equal(vfi_address_space_container_count(f->as), 1);
    c = vfi_address_space_container(f->as, 0);
    assert_int_equal(vfi_container_hwpt_count(c), 1);
    assert_int_equal(vfi_container_device_count(c), 8);
    h = vfi_container_hwpt(c, 0);
    assert_int_equal(vfi_hwpt_get_flags(h), DIRTY);
    assert_int_equal(vfi_hwpt_device_count(h), 8);
    for (unsigned i = 0; i < 8; i++) {
        /* attach order kept */
        assert_ptr_equal(vfi_hwpt_device(h, i), f->devs[i]);
        assert_ptr_equal(vfi_container_device(c, i), f->devs[i]);
    }
    assert_ptr_equal(vfi_container_find_hwpt(c, vfi_hwpt_get_id(h)), h);
    assert_null(vfi_container_find_hwpt(c, vfi_hwpt_get_id(h) + 1000));
    fixture_free(f);
}

static const char hetero_topo[] =
    "[iommu a]\ndirty-tracking=true\n"
    "[iommu b]\ndirty-tracking=false\n"
    "[iommu c]\ndirty-tracking=true\n"
    "[device a0]\niommu=a\n[device b0]\niommu=b\n[device c0]\niommu=c\n"
    "[device a1]\niommu=a\n[device b1]\niommu=b\n[device c1]\niommu=c\n"
    "[device a2]\niommu=a\n[device c2]\niommu=c\n";

static void expect_place(Fixture *f, const char *name, int hwpt_idx, unsigned attempts,
                         VfiDirtyCoverage cov, VfiUntrackedReason reason)
{
    VfiDevice *d = fdev(f, name);
    VfiUntrackedReason why = -1;

    assert_int_equal(hwpt_index(d), hwpt_idx);
    assert_int_equal(vfi_device_get_attach_attempts(d), attempts);
    assert_int_equal(vfi_container_dirty_coverage(vfi_device_get_container(d), d, &why), cov);
    assert_int_equal(why, reason);
}

/* IOMMUs a (dirty), b (plain), c (dirty), devices interleaved. */
static void test_heterogeneous(void **state)
{
    Fixture *f = fixture_new(hetero_topo);
    uint64_t allocs = vfi_sim_op_count(f->sim, VFI_SIM_OP_HWPT_ALLOC);
    VfiContainer *c;

    attach_ok(f, "a0", NULL);    /* nothing yet: new dirty HWPT 0 */
    expect_place(f, "a0", 0, 1, VFI_DIRTY_COVERAGE_IOMMU, VFI_COVERED);
    attach_ok(f, "b0", NULL);    /* no plain candidate: new plain HWPT 1 */
    expect_place(f, "b0", 1, 1, VFI_DIRTY_COVERAGE_NONE, VFI_UNTRACKED_NO_IOMMU_CAP);
    c = vfi_device_get_container(fdev(f, "a0"));
    assert_false(vfi_container_iommu_coverage_complete(c));
    attach_ok(f, "c0", NULL);    /* tries HWPT 0 (EINVAL: other IOMMU), new HWPT 2 */
    expect_place(f, "c0", 2, 2, VFI_DIRTY_COVERAGE_IOMMU, VFI_COVERED);
    attach_ok(f, "a1", NULL);
    expect_place(f, "a1", 0, 1, VFI_DIRTY_COVERAGE_IOMMU, VFI_COVERED);
    attach_ok(f, "b1", NULL);
    expect_place(f, "b1", 1, 1, VFI_DIRTY_COVERAGE_NONE, VFI_UNTRACKED_NO_IOMMU_CAP);
    /* HWPT 0 comes first in creation order but holds other hw info: the
     * same-hw-info-first order makes it 1 attempt. */
    attach_ok(f, "c1", NULL);
    expect_place(f, "c1", 2, 1, VFI_DIRTY_COVERAGE_IOMMU, VFI_COVERED);
    attach_ok(f, "c2", NULL);
    expect_place(f, "c2", 2, 1, VFI_DIRTY_COVERAGE_IOMMU, VFI_COVERED);
    attach_ok(f, "a2", NULL);
    expect_place(f, "a2", 0, 1, VFI_DIRTY_COVERAGE_IOMMU, VFI_COVERED);
    check_consistent(f);

    assert_int_equal(vfi_sim_op_count(f->sim, VFI_SIM_OP_HWPT_ALLOC) - allocs, 3);
    assert_int_equal(vfi_address_space_container_count(f->as), 1);
    assert_int_equal(vfi_container_hwpt_count(c), 3);
    assert_int_equal(vfi_hwpt_get_flags(vfi_container_hwpt(c, 0)), DIRTY);
    assert_int_equal(vfi_hwpt_get_flags(vfi_container_hwpt(c, 1)), 0);
    assert_int_equal(vfi_hwpt_get_flags(vfi_container_hwpt(c, 2)), DIRTY);
    assert_int_equal(vfi_hwpt_device_count(vfi_container_hwpt(c, 0)), 3);
    assert_int_equal(vfi_hwpt_device_count(vfi_container_hwpt(c, 1)), 2);
    assert_int_equal(vfi_hwpt_device_count(vfi_container_hwpt(c, 2)), 3);
    assert_int_equal(vfi_container_device_count(c), 8);
    fixture_free(f);
}

/* A dirty-capable device never joins a plain HWPT, even one made first. */
static void test_dirty_never_joins_plain(void **state)
{
    Fixture *f = fixture_new(hetero_topo);
    uint64_t attaches;

    attach_ok(f, "b0", NULL);
    attaches = vfi_sim_op_count(f->sim, VFI_SIM_OP_DEVICE_ATTACH);
    attach_ok(f, "a0", NULL);
    /* the plain HWPT was not even tried */
    assert_int_equal(vfi_sim_op_count(f->sim, VFI_SIM_OP_DEVICE_ATTACH) - attaches, 1);
    expect_place(f, "a0", 1, 1, VFI_DIRTY_COVERAGE_IOMMU, VFI_COVERED);
    /* and a plain device never joins a dirty one */
    attach_ok(f, "b1", NULL);
    expect_place(f, "b1", 0, 1, VFI_DIRTY_COVERAGE_NONE, VFI_UNTRACKED_NO_IOMMU_CAP);
    check_consistent(f);
    fixture_free(f);
}

/* The VMM opts out: a plain HWPT whatever the IOMMU can do. */
static void test_vmm_opt_out(void **state)
{
    Fixture *f = fixture_new(homogeneous_topo);
    VfiAttachOptions no = VFI_ATTACH_OPTIONS_INIT(.no_iommu_dirty_tracking = true);
    VfiContainer *c;

    attach_ok(f, "d0", NULL);
    attach_ok(f, "d1", &no);
    expect_place(f, "d0", 0, 1, VFI_DIRTY_COVERAGE_IOMMU, VFI_COVERED);
    expect_place(f, "d1", 1, 1, VFI_DIRTY_COVERAGE_NONE, VFI_UNTRACKED_VMM_OPT_OUT);
    c = vfi_device_get_container(fdev(f, "d0"));
    assert_int_equal(vfi_hwpt_get_flags(vfi_container_hwpt(c, 1)), 0);
    assert_false(vfi_container_iommu_coverage_complete(c));
    /* a second opt-out device joins the plain HWPT; a normal one the dirty */
    attach_ok(f, "d2", &no);
    expect_place(f, "d2", 1, 1, VFI_DIRTY_COVERAGE_NONE, VFI_UNTRACKED_VMM_OPT_OUT);
    attach_ok(f, "d3", NULL);
    expect_place(f, "d3", 0, 1, VFI_DIRTY_COVERAGE_IOMMU, VFI_COVERED);
    check_consistent(f);
    /* once the opt-out devices leave, tracking is complete again */
    detach_ok(f, "d1");
    detach_ok(f, "d2");
    assert_int_equal(vfi_container_hwpt_count(c), 1);
    assert_true(vfi_container_iommu_coverage_complete(c));
    check_consistent(f);
    fixture_free(f);
}

/* The IOMMU reports dirty tracking but HWPT_ALLOC refuses the flag. */
static void test_kernel_refused(void **state)
{
    Fixture *f = fixture_new(homogeneous_topo);
    uint64_t allocs = vfi_sim_op_count(f->sim, VFI_SIM_OP_HWPT_ALLOC);
    VfiContainer *c;
    VfiHwpt *h;

    vfi_sim_fail_next(f->sim, VFI_SIM_OP_HWPT_ALLOC, EOPNOTSUPP);
    attach_ok(f, "d0", NULL);
    assert_int_equal(vfi_sim_op_count(f->sim, VFI_SIM_OP_HWPT_ALLOC) - allocs, 2);
    expect_place(f, "d0", 0, 1, VFI_DIRTY_COVERAGE_NONE, VFI_UNTRACKED_KERNEL_REFUSED);
    c = vfi_device_get_container(fdev(f, "d0"));
    h = vfi_device_get_hwpt(fdev(f, "d0"));
    assert_int_equal(vfi_hwpt_get_flags(h), 0);
    check_consistent(f);

    /* The next device is asked again: the kernel now grants it. */
    attach_ok(f, "d1", NULL);
    expect_place(f, "d1", 1, 1, VFI_DIRTY_COVERAGE_IOMMU, VFI_COVERED);

    /* A refused device first tries the existing plain HWPTs. */
    allocs = vfi_sim_op_count(f->sim, VFI_SIM_OP_HWPT_ALLOC);
    detach_ok(f, "d1");    /* the dirty HWPT goes */
    assert_int_equal(vfi_container_hwpt_count(c), 1);
    vfi_sim_fail_next(f->sim, VFI_SIM_OP_HWPT_ALLOC, EOPNOTSUPP);
    attach_ok(f, "d2", NULL);
    assert_int_equal(vfi_sim_op_count(f->sim, VFI_SIM_OP_HWPT_ALLOC) - allocs, 1);
    expect_place(f, "d2", 0, 1, VFI_DIRTY_COVERAGE_NONE, VFI_UNTRACKED_KERNEL_REFUSED);
    assert_ptr_equal(vfi_device_get_hwpt(fdev(f, "d2")), h);
    check_consistent(f);
    /* Detached and attached again: the refusal is not remembered. */
    detach_ok(f, "d2");
    attach_ok(f, "d2", NULL);
    expect_place(f, "d2", 1, 1, VFI_DIRTY_COVERAGE_IOMMU, VFI_COVERED);
    check_consistent(f);
    fixture_free(f);
}

/* EOPNOTSUPP for a plain HWPT is a plain failure. */
static void test_plain_alloc_eopnotsupp_fails(void **state)
{
    Fixture *f = fixture_new(hetero_topo);
    g_autoptr(GError) err = NULL;

    vfi_sim_fail_next(f->sim, VFI_SIM_OP_HWPT_ALLOC, EOPNOTSUPP);
    assert_false(vfi_address_space_attach_device(f->as, f->be, fdev(f, "b0"), NULL, &err));
    assert_gerror(err, VFI_KERNEL_ERROR, EOPNOTSUPP);
    assert_null(vfi_device_get_container(fdev(f, "b0")));
    assert_int_equal(vfi_address_space_container_count(f->as), 0);
    assert_true(vfi_device_is_bound(fdev(f, "b0")));    /* bound here, stays bound */
    check_consistent(f);
    attach_ok(f, "b0", NULL);
    check_consistent(f);
    fixture_free(f);
}

static const char mdev_topo[] =
    "[iommu a]\ndirty-tracking=true\n"
    "[device nic0]\niommu=a\n[device vgpu0]\nmdev=true\n[device vgpu1]\nmdev=true\n";

/* An mdev attaches to the IOAS itself and is listed in the container. */
static void test_mdev(void **state)
{
    Fixture *f = fixture_new(mdev_topo);
    uint64_t hwinfo = vfi_sim_op_count(f->sim, VFI_SIM_OP_GET_HW_INFO);
    VfiDevice *vgpu = fdev(f, "vgpu0");
    VfiUntrackedReason why = -1;
    VfiContainer *c;

    assert_true(vfi_device_is_mdev(vgpu));
    attach_ok(f, "vgpu0", NULL);
    assert_int_equal(vfi_sim_op_count(f->sim, VFI_SIM_OP_GET_HW_INFO), hwinfo);
    c = vfi_device_get_container(vgpu);
    assert_non_null(c);
    assert_null(vfi_device_get_hwpt(vgpu));
    assert_int_equal(vfi_container_hwpt_count(c), 0);
    assert_int_equal(vfi_container_device_count(c), 1);
    assert_int_equal(vfi_device_get_attach_attempts(vgpu), 1);
    assert_int_equal(vfi_sim_device_attached_pt(f->sim, "vgpu0"),
                     vfi_container_get_ioas_id(c));
    assert_int_equal(vfi_container_dirty_coverage(c, vgpu, &why), VFI_DIRTY_COVERAGE_NONE);
    assert_int_equal(why, VFI_UNTRACKED_MDEV);
    assert_false(vfi_container_iommu_coverage_complete(c));
    check_consistent(f);

    attach_ok(f, "nic0", NULL);
    attach_ok(f, "vgpu1", NULL);
    assert_int_equal(vfi_address_space_container_count(f->as), 1);
    assert_int_equal(vfi_container_hwpt_count(c), 1);
    assert_int_equal(vfi_container_device_count(c), 3);
    expect_place(f, "nic0", 0, 1, VFI_DIRTY_COVERAGE_IOMMU, VFI_COVERED);
    check_consistent(f);
    detach_ok(f, "nic0");
    assert_int_equal(vfi_container_hwpt_count(c), 0);
    detach_ok(f, "vgpu0");
    check_consistent(f);
    detach_ok(f, "vgpu1");
    assert_int_equal(vfi_address_space_container_count(f->as), 0);
    check_consistent(f);
    fixture_free(f);
}

/* Coverage is computed from state: device not in the container, NULL. */
static void test_coverage_not_attached(void **state)
{
    Fixture *f = fixture_new(homogeneous_topo);
    VfiUntrackedReason why = -1;
    VfiContainer *c;

    attach_ok(f, "d0", NULL);
    c = vfi_device_get_container(fdev(f, "d0"));
    assert_int_equal(vfi_container_dirty_coverage(c, fdev(f, "d1"), &why),
                     VFI_DIRTY_COVERAGE_NONE);
    assert_int_equal(why, VFI_UNTRACKED_NOT_ATTACHED);
    assert_int_equal(vfi_container_dirty_coverage(c, NULL, NULL), VFI_DIRTY_COVERAGE_NONE);
    assert_int_equal(vfi_container_dirty_coverage(NULL, fdev(f, "d0"), &why),
                     VFI_DIRTY_COVERAGE_NONE);
    assert_int_equal(why, VFI_UNTRACKED_NOT_ATTACHED);
    assert_false(vfi_container_iommu_coverage_complete(NULL));
    for (int r = VFI_COVERED; r <= VFI_UNTRACKED_NOT_ATTACHED; r++) {
        assert_non_null(vfi_untracked_reason_str(r));
        assert_string_not_equal(vfi_untracked_reason_str(r), "unknown reason");
    }
    assert_string_equal(vfi_untracked_reason_str(VFI_UNTRACKED_MDEV),
                        "mdev without an IOMMU domain");
    fixture_free(f);
}

static const char mixed_topo[] =
    "[iommu a]\ndirty-tracking=true\n"
    "[iommu b]\ndirty-tracking=false\n"
    "[iommu c]\ndirty-tracking=true\n"
    "[device a0]\niommu=a\n[device b0]\niommu=b\n[device c0]\niommu=c\n"
    "[device a1]\niommu=a\n[device b1]\niommu=b\n[device c1]\niommu=c\n"
    "[device m0]\nmdev=true\n[device a2]\niommu=a\n";

/* Attach @names (devices of mixed_topo) to a fresh model; describe the result. */
static char *fresh_shape(const char *names[], unsigned n, unsigned *objects)
{
    Fixture *f = fixture_new(mixed_topo);
    char *s;

    for (unsigned i = 0; i < n; i++) {
        attach_ok(f, names[i], NULL);
    }
    check_consistent(f);
    s = shape(f);
    *objects = vfi_sim_live_objects(f->sim);
    fixture_free(f);
    return s;
}

/* Hot-plug and hot-unplug in many orders end in the same state as a fresh
 * build of the same set of devices. */
static void test_unplug_replug(void **state)
{
    static const char *all[] = { "a0", "b0", "c0", "a1", "b1", "c1", "m0", "a2" };
    const unsigned n = G_N_ELEMENTS(all);
    GRand *rand = g_rand_new_with_seed(42);

    for (unsigned round = 0; round < 12; round++) {
        Fixture *f = fixture_new(mixed_topo);
        bool in[G_N_ELEMENTS(all)] = { 0 };
        const char *present[G_N_ELEMENTS(all)];
        unsigned npresent = 0, objects, fresh_objects;
        g_autofree char *got = NULL;
        g_autofree char *want = NULL;

        for (unsigned step = 0; step < 40; step++) {
            unsigned i = g_rand_int_range(rand, 0, n);

            if (in[i]) {
                detach_ok(f, all[i]);
            } else {
                attach_ok(f, all[i], NULL);
            }
            in[i] = !in[i];
            check_consistent(f);
        }
        /* The fresh build attaches the present set in topology order. */
        for (unsigned i = 0; i < n; i++) {
            if (in[i]) {
                present[npresent++] = all[i];
            }
        }
        got = shape(f);
        /* Devices detached here stay bound (one binding object each); the
         * fresh build never bound them. */
        objects = vfi_sim_live_objects(f->sim);
        for (unsigned i = 0; i < f->ndevs; i++) {
            if (vfi_device_is_bound(f->devs[i]) && !vfi_device_get_container(f->devs[i])) {
                objects--;
            }
        }
        fixture_free(f);
        want = fresh_shape(present, npresent, &fresh_objects);
        assert_string_equal(got, want);
        assert_int_equal(objects, fresh_objects);
    }
    g_rand_free(rand);
}

/* Repeated unplug/replug of one device reuses or remakes its HWPT. */
static void test_replug_same_device(void **state)
{
    Fixture *f = fixture_new(hetero_topo);
    uint64_t objects;

    attach_ok(f, "a0", NULL);
    attach_ok(f, "b0", NULL);
    objects = vfi_sim_live_objects(f->sim);
    for (int i = 0; i < 5; i++) {
        detach_ok(f, "a0");
        assert_int_equal(vfi_container_hwpt_count(vfi_device_get_container(fdev(f, "b0"))),
                         1);
        assert_int_equal(vfi_device_get_attach_attempts(fdev(f, "a0")), 0);
        check_consistent(f);
        attach_ok(f, "a0", NULL);
        expect_place(f, "a0", 1, 1, VFI_DIRTY_COVERAGE_IOMMU, VFI_COVERED);
        assert_int_equal(vfi_sim_live_objects(f->sim), objects);
    }
    detach_ok(f, "a0");
    detach_ok(f, "b0");
    assert_int_equal(vfi_address_space_container_count(f->as), 0);
    check_consistent(f);
    attach_ok(f, "b0", NULL);
    check_consistent(f);
    fixture_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_homogeneous),
        cmocka_unit_test(test_heterogeneous),
        cmocka_unit_test(test_dirty_never_joins_plain),
        cmocka_unit_test(test_vmm_opt_out),
        cmocka_unit_test(test_kernel_refused),
        cmocka_unit_test(test_plain_alloc_eopnotsupp_fails),
        cmocka_unit_test(test_mdev),
        cmocka_unit_test(test_coverage_not_attached),
        cmocka_unit_test(test_unplug_replug),
        cmocka_unit_test(test_replug_same_device),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
