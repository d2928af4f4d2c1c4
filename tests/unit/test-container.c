/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Containers: reuse and creation, the IOAS and its IOVA ranges, device
 * lists, wrong-state and bad-argument calls (refused before any ioctl),
 * failures that leave nothing behind, and teardown with the last device.
 */
#include "test-container-helpers.h"

static const char topo[] =
    "[iommu a]\ndirty-tracking=true\n"
    "[iommu b]\ndirty-tracking=false\n"
    "[device a0]\niommu=a\n[device a1]\niommu=a\n"
    "[device b0]\niommu=b\n[device b1]\niommu=b\n"
    "[device m0]\nmdev=true\n";

/* The first device makes a container (IOAS, its ranges); the second reuses it. */
static void test_container_reuse(void **state)
{
    Fixture *f = fixture_new(topo);
    uint64_t ioas_allocs = vfi_sim_op_count(f->sim, VFI_SIM_OP_IOAS_ALLOC);
    const VfiIovaRange *r;
    VfiContainer *c;
    size_t n = 0;

    assert_int_equal(vfi_address_space_container_count(f->as), 0);
    assert_ptr_equal(vfi_address_space_get_handle(f->as), f);
    attach_ok(f, "a0", NULL);
    assert_int_equal(vfi_address_space_container_count(f->as), 1);
    c = vfi_address_space_container(f->as, 0);
    assert_ptr_equal(vfi_device_get_container(fdev(f, "a0")), c);
    assert_ptr_equal(vfi_container_get_backend(c), f->be);
    assert_ptr_equal(vfi_container_get_address_space(c), f->as);
    assert_true(vfi_device_is_bound(fdev(f, "a0")));
    assert_ptr_equal(vfi_device_get_backend(fdev(f, "a0")), f->be);

    /* The model's ranges: [0, 2^48-1] less the MSI window, alignment 4096. */
    r = vfi_container_get_iova_ranges(c, &n);
    assert_int_equal(n, 2);
    assert_int_equal(r[0].start, 0);
    assert_int_equal(r[0].last, 0xfedfffffULL);
    assert_int_equal(r[1].start, 0xfef00000ULL);
    assert_int_equal(r[1].last, (1ULL << 48) - 1);
    assert_int_equal(vfi_container_get_iova_alignment(c), 4096);

    attach_ok(f, "a1", NULL);
    attach_ok(f, "b0", NULL);
    attach_ok(f, "m0", NULL);
    assert_int_equal(vfi_address_space_container_count(f->as), 1);
    assert_int_equal(vfi_sim_op_count(f->sim, VFI_SIM_OP_IOAS_ALLOC) - ioas_allocs, 1);
    assert_int_equal(vfi_container_device_count(c), 4);
    assert_ptr_equal(vfi_container_device(c, 0), fdev(f, "a0"));
    assert_ptr_equal(vfi_container_device(c, 1), fdev(f, "a1"));
    assert_ptr_equal(vfi_container_device(c, 2), fdev(f, "b0"));
    assert_ptr_equal(vfi_container_device(c, 3), fdev(f, "m0"));
    assert_null(vfi_container_device(c, 4));
    assert_null(vfi_container_hwpt(c, 2));
    assert_null(vfi_address_space_container(f->as, 1));
    /* one user of the backend per bound device plus the container */
    assert_int_equal(vfi_iommufd_users(f->be), 5);
    check_consistent(f);
    fixture_free(f);
}

/* When the only container refuses the device (HWPT_ALLOC on its IOAS says
 * EINVAL), a new container is made, with the address space's mappings
 * replayed. */
static void test_new_container(void **state)
{
    static uint8_t buf[2 * 4096] __attribute__((aligned(4096)));
    Fixture *f = fixture_new(topo);
    g_autoptr(GError) err = NULL;
    int iommufd;
    VfiContainer *c0, *c1;

    attach_ok(f, "a0", NULL);
    assert_ok(vfi_address_space_dma_map(f->as, 0x100000, 4096, buf, false, &err), err);
    vfi_sim_fail_next(f->sim, VFI_SIM_OP_HWPT_ALLOC, EINVAL);
    attach_ok(f, "b0", NULL);
    assert_int_equal(vfi_address_space_container_count(f->as), 2);
    c0 = vfi_address_space_container(f->as, 0);
    c1 = vfi_address_space_container(f->as, 1);
    assert_ptr_equal(vfi_device_get_container(fdev(f, "b0")), c1);
    assert_int_not_equal(vfi_container_get_ioas_id(c0), vfi_container_get_ioas_id(c1));
    /* no plain candidate in c0 (a's HWPT is dirty), HWPT_ALLOC refused:
     * the one attach call is in c1 */
    assert_int_equal(vfi_device_get_attach_attempts(fdev(f, "b0")), 1);
    assert_int_equal(vfi_container_hwpt_count(c0), 1);
    assert_int_equal(vfi_container_hwpt_count(c1), 1);
    iommufd = vfi_iommufd_get_fd(f->be);
    assert_int_equal(vfi_sim_ioas_mapping_count(f->sim, iommufd,
                                                 vfi_container_get_ioas_id(c1)), 1);
    check_consistent(f);

    /* b1 goes to the first container that takes it: c0 (its HWPT_ALLOC now
     * works) */
    attach_ok(f, "b1", NULL);
    assert_ptr_equal(vfi_device_get_container(fdev(f, "b1")), c0);
    check_consistent(f);

    /* The new container goes with its last device. */
    detach_ok(f, "b0");
    assert_int_equal(vfi_address_space_container_count(f->as), 1);
    assert_ptr_equal(vfi_address_space_container(f->as, 0), c0);
    check_consistent(f);
    assert_ok(vfi_address_space_dma_unmap(f->as, 0x100000, 4096, 0, &err), err);
    fixture_free(f);
}

/* A container on another backend is never tried. */
static void test_other_backend(void **state)
{
    Fixture *f = fixture_new(topo);
    g_autoptr(GError) err = NULL;
    VfiIommufd *be2 = vfi_iommufd_new();

    attach_ok(f, "a0", NULL);
    assert_ok(vfi_address_space_attach_device(f->as, be2, fdev(f, "a1"), NULL, &err), err);
    assert_int_equal(vfi_address_space_container_count(f->as), 2);
    assert_ptr_equal(vfi_container_get_backend(vfi_device_get_container(fdev(f, "a1"))),
                     be2);
    /* a device bound to be2 cannot be attached through f->be */
    detach_ok(f, "a1");
    assert_false(vfi_address_space_attach_device(f->as, f->be, fdev(f, "a1"), NULL, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    vfi_device_free(fdev(f, "a1"));
    /* the fixture must not free it again */
    for (unsigned i = 0; i < f->ndevs; i++) {
        if (!strcmp(f->names[i], "a1")) {
            f->devs[i] = f->devs[--f->ndevs];
            f->names[i] = f->names[f->ndevs];
        }
    }
    assert_ok(vfi_iommufd_free(be2, &err), err);
    fixture_free(f);
}

/* a0 attached: a second attach, a wrong detach, NULLs, a busy free. */
static void refusals_with_a0_attached(Fixture *f, VfiAddressSpace *as2)
{
    g_autoptr(GError) err = NULL;
    uint64_t ioctls;
    unsigned objects;

    attach_ok(f, "a0", NULL);
    objects = vfi_sim_live_objects(f->sim);
    ioctls = vfi_sim_ioctl_count(f->sim);
    /* double attach, in the same or another address space */
    assert_false(vfi_address_space_attach_device(f->as, f->be, fdev(f, "a0"), NULL, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    assert_false(vfi_address_space_attach_device(as2, f->be, fdev(f, "a0"), NULL, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    /* detach through the wrong address space */
    assert_false(vfi_address_space_detach_device(as2, fdev(f, "a0"), &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    /* NULLs */
    assert_false(vfi_address_space_attach_device(NULL, f->be, fdev(f, "a1"), NULL, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_address_space_attach_device(f->as, NULL, fdev(f, "a1"), NULL, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_address_space_attach_device(f->as, f->be, NULL, NULL, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_address_space_detach_device(f->as, NULL, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_address_space_detach_device(NULL, fdev(f, "a0"), &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    /* freeing an address space with a device in it */
    assert_false(vfi_address_space_free(f->as, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    assert_int_equal(vfi_sim_ioctl_count(f->sim), ioctls);
    assert_int_equal(vfi_sim_live_objects(f->sim), objects);
    assert_int_equal(vfi_device_get_attach_attempts(fdev(f, "a0")), 1);
}

/* A device attached outside the container layer is refused; bound by the
 * VMM, it is placed by the library. */
static void refusals_attached_outside(Fixture *f)
{
    uint32_t ioas = vfi_container_get_ioas_id(vfi_device_get_container(fdev(f, "a0")));
    g_autoptr(GError) err = NULL;
    uint64_t ioctls;

    assert_ok(vfi_device_bind(fdev(f, "a1"), f->be, &err), err);
    assert_ok(vfi_device_attach(fdev(f, "a1"), ioas, NULL, &err), err);
    ioctls = vfi_sim_ioctl_count(f->sim);
    assert_false(vfi_address_space_attach_device(f->as, f->be, fdev(f, "a1"), NULL,
                                                  &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    assert_int_equal(vfi_sim_ioctl_count(f->sim), ioctls);
    assert_ok(vfi_device_detach(fdev(f, "a1"), &err), err);
    /* bound by the VMM, then placed by the library */
    attach_ok(f, "a1", NULL);
    assert_ptr_equal(vfi_device_get_hwpt(fdev(f, "a1")),
                     vfi_device_get_hwpt(fdev(f, "a0")));
}

/* Wrong state and bad arguments: refused before any ioctl, nothing changed. */
static void test_refusals(void **state)
{
    Fixture *f = fixture_new(topo);
    g_autoptr(GError) err = NULL;
    VfiAddressSpace *as2 = vfi_address_space_new(NULL);
    uint64_t ioctls;

    /* detach of a device never attached */
    ioctls = vfi_sim_ioctl_count(f->sim);
    assert_false(vfi_address_space_detach_device(f->as, fdev(f, "a0"), &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    assert_int_equal(vfi_sim_ioctl_count(f->sim), ioctls);

    refusals_with_a0_attached(f, as2);
    refusals_attached_outside(f);
    check_consistent(f);
    assert_true(vfi_address_space_free(NULL, &err));
    assert_ok(vfi_address_space_free(as2, &err), err);
    assert_null(vfi_device_get_container(NULL));
    assert_null(vfi_device_get_hwpt(NULL));
    assert_int_equal(vfi_device_get_attach_attempts(NULL), 0);
    assert_int_equal(vfi_container_device_count(NULL), 0);
    assert_int_equal(vfi_container_hwpt_count(NULL), 0);
    assert_int_equal(vfi_hwpt_device_count(NULL), 0);
    fixture_free(f);
}

/* An attach that fails with a non-EINVAL error leaves nothing: no HWPT, no
 * IOAS, no container; the device stays bound (bound by this call). */
static void test_attach_failure_leaves_nothing(void **state)
{
    Fixture *f = fixture_new(topo);
    g_autoptr(GError) err = NULL;
    unsigned before;

    vfi_sim_fail_next(f->sim, VFI_SIM_OP_DEVICE_ATTACH, EBUSY);
    assert_false(vfi_address_space_attach_device(f->as, f->be, fdev(f, "a0"), NULL, &err));
    assert_non_null(strstr(err->message, vfi_device_get_name(fdev(f, "a0"))));
    assert_gerror(err, VFI_KERNEL_ERROR, EBUSY);
    assert_int_equal(vfi_address_space_container_count(f->as), 0);
    assert_true(vfi_device_is_bound(fdev(f, "a0")));
    assert_int_equal(vfi_sim_live_objects(f->sim), 1);   /* the binding */
    assert_int_equal(vfi_iommufd_users(f->be), 1);
    check_consistent(f);

    /* In an existing container: the HWPT made for it goes again. */
    attach_ok(f, "a0", NULL);
    before = vfi_sim_live_objects(f->sim);
    vfi_sim_fail_next(f->sim, VFI_SIM_OP_DEVICE_ATTACH, EFAULT);
    assert_false(vfi_address_space_attach_device(f->as, f->be, fdev(f, "b0"), NULL, &err));
    assert_gerror(err, VFI_KERNEL_ERROR, EFAULT);
    assert_int_equal(vfi_sim_live_objects(f->sim), before + 1);   /* b0's binding */
    assert_int_equal(vfi_container_hwpt_count(vfi_address_space_container(f->as, 0)), 1);
    check_consistent(f);
    /* and the next attach works, reusing the binding */
    attach_ok(f, "b0", NULL);
    check_consistent(f);
    fixture_free(f);
}

/* Detach: DETACH failing changes nothing; the last device out of a HWPT
 * destroys it; the last device out of the container destroys the IOAS. */
static void test_detach(void **state)
{
    Fixture *f = fixture_new(topo);
    g_autoptr(GError) err = NULL;
    uint64_t destroys;
    VfiContainer *c;

    attach_ok(f, "a0", NULL);
    attach_ok(f, "a1", NULL);
    attach_ok(f, "b0", NULL);
    c = vfi_address_space_container(f->as, 0);

    vfi_sim_fail_next(f->sim, VFI_SIM_OP_DEVICE_DETACH, EBUSY);
    assert_false(vfi_address_space_detach_device(f->as, fdev(f, "a0"), &err));
    assert_gerror(err, VFI_KERNEL_ERROR, EBUSY);
    assert_ptr_equal(vfi_device_get_container(fdev(f, "a0")), c);
    assert_int_equal(vfi_hwpt_device_count(vfi_container_hwpt(c, 0)), 2);
    check_consistent(f);

    destroys = vfi_sim_op_count(f->sim, VFI_SIM_OP_DESTROY);
    detach_ok(f, "a0");
    assert_int_equal(vfi_sim_op_count(f->sim, VFI_SIM_OP_DESTROY), destroys);
    assert_int_equal(vfi_hwpt_device_count(vfi_container_hwpt(c, 0)), 1);
    assert_null(vfi_device_get_container(fdev(f, "a0")));
    assert_null(vfi_device_get_hwpt(fdev(f, "a0")));
    assert_true(vfi_device_is_bound(fdev(f, "a0")));
    detach_ok(f, "a1");
    assert_int_equal(vfi_sim_op_count(f->sim, VFI_SIM_OP_DESTROY), destroys + 1);
    assert_int_equal(vfi_container_hwpt_count(c), 1);
    check_consistent(f);
    detach_ok(f, "b0");   /* HWPT, then IOAS */
    assert_int_equal(vfi_sim_op_count(f->sim, VFI_SIM_OP_DESTROY), destroys + 3);
    assert_int_equal(vfi_address_space_container_count(f->as), 0);
    assert_int_equal(vfi_iommufd_users(f->be), 3);   /* the three bindings */
    assert_int_equal(vfi_sim_live_objects(f->sim), 3);
    check_consistent(f);
    fixture_free(f);
}

/* DESTROY of the emptied HWPT fails: the device is detached anyway, the
 * HWPT stays listed (it still exists), is reused, and is destroyed later. */
static void test_detach_destroy_fails(void **state)
{
    Fixture *f = fixture_new(topo);
    g_autoptr(GError) err = NULL;
    VfiContainer *c;
    VfiHwpt *h;

    attach_ok(f, "a0", NULL);
    attach_ok(f, "b0", NULL);
    c = vfi_address_space_container(f->as, 0);
    h = vfi_device_get_hwpt(fdev(f, "a0"));

    vfi_sim_fail_next(f->sim, VFI_SIM_OP_DESTROY, EBUSY);
    assert_false(vfi_address_space_detach_device(f->as, fdev(f, "a0"), &err));
    assert_non_null(strstr(err->message, "detached"));
    assert_gerror(err, VFI_KERNEL_ERROR, EBUSY);
    assert_null(vfi_device_get_container(fdev(f, "a0")));
    assert_int_equal(vfi_sim_device_attached_pt(f->sim, "a0"), 0);
    assert_int_equal(vfi_container_hwpt_count(c), 2);
    assert_int_equal(vfi_hwpt_device_count(h), 0);
    check_consistent(f);

    /* the empty HWPT is reused by the next device that fits */
    attach_ok(f, "a1", NULL);
    assert_ptr_equal(vfi_device_get_hwpt(fdev(f, "a1")), h);
    check_consistent(f);

    /* last device out with DESTROY of its HWPT failing: the container stays
     * (no device, that HWPT, its IOAS) until the address space is freed */
    detach_ok(f, "a1");
    vfi_sim_fail_next(f->sim, VFI_SIM_OP_DESTROY, EBUSY);
    assert_false(vfi_address_space_detach_device(f->as, fdev(f, "b0"), &err));
    assert_gerror(err, VFI_KERNEL_ERROR, EBUSY);
    assert_int_equal(vfi_address_space_container_count(f->as), 1);
    assert_int_equal(vfi_container_device_count(c), 0);
    assert_int_equal(vfi_container_hwpt_count(c), 1);
    check_consistent(f);
    /* freeing the address space cleans up; a failure there keeps it */
    vfi_sim_fail_next(f->sim, VFI_SIM_OP_DESTROY, EBUSY);
    assert_false(vfi_address_space_free(f->as, &err));
    assert_gerror(err, VFI_KERNEL_ERROR, EBUSY);
    check_consistent(f);
    fixture_free(f);
}

/* The container holds exactly one backend user for its life. */
/* vfi_device_free() of a device still in a container takes it out first:
 * the container's lists never point to a freed device, its HWPT (now
 * empty) and, for the last device, the container and IOAS are destroyed. */
static void test_free_device_in_container(void **state)
{
    Fixture *f = fixture_new(topo);
    VfiContainer *c;

    attach_ok(f, "a0", NULL);
    attach_ok(f, "a1", NULL);
    attach_ok(f, "b0", NULL);
    c = vfi_address_space_container(f->as, 0);
    assert_int_equal(vfi_container_hwpt_count(c), 2);

    vfi_device_free(fdev(f, "b0"));
    f->devs[2] = NULL;           /* b0: the fixture must not free it again */
    assert_int_equal(vfi_container_device_count(c), 2);
    assert_int_equal(vfi_container_hwpt_count(c), 1);
    assert_int_equal(vfi_sim_live_objects(f->sim), 2 + 1 + 1);  /* 2 bindings, IOAS, HWPT */

    vfi_device_free(fdev(f, "a0"));
    f->devs[0] = NULL;
    vfi_device_free(fdev(f, "a1"));
    f->devs[1] = NULL;
    assert_int_equal(vfi_address_space_container_count(f->as), 0);
    assert_int_equal(vfi_sim_live_objects(f->sim), 0);
    assert_int_equal(vfi_iommufd_users(f->be), 0);
    fixture_free(f);
}

static void test_backend_users(void **state)
{
    Fixture *f = fixture_new(topo);

    assert_int_equal(vfi_iommufd_users(f->be), 0);
    attach_ok(f, "m0", NULL);
    assert_int_equal(vfi_iommufd_users(f->be), 2);
    attach_ok(f, "a0", NULL);
    assert_int_equal(vfi_iommufd_users(f->be), 3);
    detach_ok(f, "m0");
    detach_ok(f, "a0");
    assert_int_equal(vfi_iommufd_users(f->be), 2);
    check_consistent(f);
    fixture_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_container_reuse),
        cmocka_unit_test(test_new_container),
        cmocka_unit_test(test_other_backend),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_attach_failure_leaves_nothing),
        cmocka_unit_test(test_detach),
        cmocka_unit_test(test_detach_destroy_fails),
        cmocka_unit_test(test_backend_users),
        cmocka_unit_test(test_free_device_in_container),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
