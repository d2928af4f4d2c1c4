/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fault injection through the container layer. Every scenario is a setup
 * (state built without faults) and one step (an attach, a detach, a map or
 * unmap through the address space or in one container). The step is run
 * once to count its ioctls; then, for every k in 1..N and every errno, the
 * state is rebuilt, the k-th ioctl of the step fails with that errno, and:
 *  - the step either fails with exactly that kernel errno, or succeeds
 *    honestly (EINVAL and EADDRINUSE are "this HWPT / container cannot take
 *    the device" and lead elsewhere, EOPNOTSUPP on a dirty HWPT_ALLOC means
 *    "place it untracked"); after such a success the placement is one the
 *    algorithm promises: every physical device in a HWPT whose dirty flag
 *    is what it wants (untracked "kernel refused" only under EOPNOTSUPP), no
 *    empty HWPT or container left;
 *  - a failed step leaves the mappings alone: those the address space
 *    remembers and those each container records;
 *  - the model holds exactly the objects the library's lists imply, no fd
 *    more than the devices and the backend, in each IOAS the mappings its
 *    container records (the address space's ones included);
 *  - every device can then be detached and attached again, and the
 *    teardown leaves the model empty.
 */
#include "test-container-helpers.h"

static uint8_t buf[8 * 4096] __attribute__((aligned(4096)));

static const char topo[] =
    "[iommu a]\ndirty-tracking=true\n"
    "[iommu b]\ndirty-tracking=false\n"
    "[iommu c]\ndirty-tracking=true\n"
    "[device a0]\niommu=a\n[device a1]\niommu=a\n"
    "[device b0]\niommu=b\n[device c0]\niommu=c\n"
    "[device m0]\nmdev=true\n";

typedef struct Scenario {
    const char *name;
    void (*setup)(Fixture *f);
    bool (*step)(Fixture *f, GError **errp);
    const char *opted_out;  /* device the step attaches with no_iommu_dirty_tracking */
} Scenario;

static bool attach(Fixture *f, const char *name, const VfiAttachOptions *opts,
                   GError **errp)
{
    return vfi_address_space_attach_device(f->as, f->be, fdev(f, name), opts, errp);
}

static void setup_none(Fixture *f)
{
}

static void setup_a0(Fixture *f)
{
    attach_ok(f, "a0", NULL);
}

static void setup_a0_a1(Fixture *f)
{
    attach_ok(f, "a0", NULL);
    attach_ok(f, "a1", NULL);
}

static void setup_a0_b0(Fixture *f)
{
    attach_ok(f, "a0", NULL);
    attach_ok(f, "b0", NULL);
}

static void setup_maps(Fixture *f)
{
    g_autoptr(GError) err = NULL;

    assert_ok(vfi_address_space_dma_map(f->as, 0x100000, 2 * 4096, buf, false, &err), err);
    assert_ok(vfi_address_space_dma_map(f->as, 0x200000, 4096, buf, true, &err), err);
}

static void setup_two_containers(Fixture *f)
{
    attach_ok(f, "a0", NULL);
    vfi_sim_fail_next(f->sim, VFI_SIM_OP_HWPT_ALLOC, EINVAL);
    attach_ok(f, "b0", NULL);
    assert_int_equal(vfi_address_space_container_count(f->as), 2);
}

static void setup_two_containers_mapped(Fixture *f)
{
    g_autoptr(GError) err = NULL;

    setup_two_containers(f);
    assert_ok(vfi_address_space_dma_map(f->as, 0x100000, 4096, buf, false, &err), err);
}

static VfiContainer *container_of(Fixture *f, const char *name)
{
    VfiContainer *c = vfi_device_get_container(fdev(f, name));

    assert_non_null(c);
    return c;
}

/* a0 with an address-space mapping and two of its container's own. */
static void setup_a0_container_maps(Fixture *f)
{
    g_autoptr(GError) err = NULL;
    VfiContainer *c;

    attach_ok(f, "a0", NULL);
    c = container_of(f, "a0");
    assert_ok(vfi_address_space_dma_map(f->as, 0x100000, 4096, buf, false, &err), err);
    assert_ok(vfi_container_dma_map(c, 0x200000, 2 * 4096, buf, false, &err), err);
    assert_ok(vfi_container_dma_map(c, 0x300000, 4096, buf, true, &err), err);
}

/* a0 with container-level mappings only. */
static void setup_a0_container_maps_only(Fixture *f)
{
    g_autoptr(GError) err = NULL;
    VfiContainer *c;

    attach_ok(f, "a0", NULL);
    c = container_of(f, "a0");
    assert_ok(vfi_container_dma_map(c, 0x200000, 2 * 4096, buf, false, &err), err);
    assert_ok(vfi_container_dma_map(c, 0x300000, 4096, buf, true, &err), err);
}

static bool step_container_map(Fixture *f, GError **errp)
{
    return vfi_container_dma_map(container_of(f, "a0"), 0x400000, 2 * 4096, buf, false,
                                  errp);
}

static bool step_container_unmap(Fixture *f, GError **errp)
{
    uint64_t unmapped = 0;
    bool ok = vfi_container_dma_unmap(container_of(f, "a0"), 0x200000, 0x101000,
                                       VFI_UNMAP_ALLOW_ABSENT, &unmapped, errp);

    assert_int_equal(unmapped, ok ? 3 * 4096 : 0);
    return ok;
}

static bool step_container_unmap_all(Fixture *f, GError **errp)
{
    uint64_t unmapped = 0;
    bool ok = vfi_container_dma_unmap_all(container_of(f, "a0"), &unmapped, errp);

    assert_int_equal(unmapped, ok ? 3 * 4096 : 0);
    return ok;
}

static bool step_attach_a0(Fixture *f, GError **errp)
{
    return attach(f, "a0", NULL, errp);
}

static bool step_attach_a1(Fixture *f, GError **errp)
{
    return attach(f, "a1", NULL, errp);
}

static bool step_attach_b0(Fixture *f, GError **errp)
{
    return attach(f, "b0", NULL, errp);
}

static bool step_attach_c0(Fixture *f, GError **errp)
{
    return attach(f, "c0", NULL, errp);
}

static bool step_attach_a1_opt_out(Fixture *f, GError **errp)
{
    VfiAttachOptions no = VFI_ATTACH_OPTIONS_INIT(.no_iommu_dirty_tracking = true);

    return attach(f, "a1", &no, errp);
}

static bool step_attach_m0(Fixture *f, GError **errp)
{
    return attach(f, "m0", NULL, errp);
}

static bool step_detach_a1(Fixture *f, GError **errp)
{
    return vfi_address_space_detach_device(f->as, fdev(f, "a1"), errp);
}

static bool step_detach_a0(Fixture *f, GError **errp)
{
    return vfi_address_space_detach_device(f->as, fdev(f, "a0"), errp);
}

static bool step_detach_b0(Fixture *f, GError **errp)
{
    return vfi_address_space_detach_device(f->as, fdev(f, "b0"), errp);
}

static bool step_as_map(Fixture *f, GError **errp)
{
    return vfi_address_space_dma_map(f->as, 0x400000, 2 * 4096, buf, false, errp);
}

static bool step_as_unmap(Fixture *f, GError **errp)
{
    return vfi_address_space_dma_unmap(f->as, 0x100000, 4096, 0, errp);
}

static const Scenario scenarios[] = {
    { "first attach: new container", setup_none, step_attach_a0, NULL },
    { "first attach with mappings to replay", setup_maps, step_attach_a0, NULL },
    { "join the HWPT of the same IOMMU", setup_a0, step_attach_a1, NULL },
    { "other IOMMU: EINVAL then new HWPT", setup_a0, step_attach_b0, NULL },
    { "dirty device, plain and dirty HWPTs of others", setup_a0_b0, step_attach_c0, NULL },
    { "VMM opt-out next to a dirty HWPT", setup_a0, step_attach_a1_opt_out, "a1" },
    { "mdev into a new container", setup_none, step_attach_m0, NULL },
    { "mdev into an existing container", setup_a0, step_attach_m0, NULL },
    { "attach with two containers", setup_two_containers, step_attach_a1, NULL },
    { "detach, HWPT stays", setup_a0_a1, step_detach_a1, NULL },
    { "detach the last device of a HWPT", setup_a0_b0, step_detach_b0, NULL },
    { "detach the last device: HWPT and IOAS go", setup_a0, step_detach_a0, NULL },
    { "detach the last device of one of two containers", setup_two_containers,
      step_detach_b0, NULL },
    { "address-space map in two containers", setup_two_containers, step_as_map, NULL },
    { "address-space unmap in two containers", setup_two_containers_mapped, step_as_unmap, NULL },
    { "container-level map", setup_a0, step_container_map, NULL },
    { "container-level map next to others", setup_a0_container_maps, step_container_map, NULL },
    { "container-level unmap next to an address-space mapping", setup_a0_container_maps,
      step_container_unmap, NULL },
    { "container-level unmap-all", setup_a0_container_maps_only, step_container_unmap_all, NULL },
};

static const int errnos[] = { EINVAL, ENOMEM, EBUSY, EFAULT, EOPNOTSUPP, EADDRINUSE };

/* Model mappings of every container equal the ones it records, among them
 * every mapping the address space remembers. */
static void check_mappings(Fixture *f)
{
    int iommufd = vfi_iommufd_get_fd(f->be);

    for (unsigned i = 0; i < vfi_address_space_container_count(f->as); i++) {
        VfiContainer *c = vfi_address_space_container(f->as, i);

        assert_int_equal(vfi_sim_ioas_mapping_count(f->sim, iommufd,
                                                     vfi_container_get_ioas_id(c)),
                         (int)vfi_container_mapping_count(c));
        assert_true(vfi_container_mapping_count(c) >=
                    vfi_address_space_mapping_count(f->as));
    }
}

/* Sum of the mappings the containers record. */
static unsigned container_mappings(Fixture *f)
{
    unsigned n = 0;

    for (unsigned i = 0; i < vfi_address_space_container_count(f->as); i++) {
        n += vfi_container_mapping_count(vfi_address_space_container(f->as, i));
    }
    return n;
}

static bool dirty_capable(const char *name)
{
    return name[0] == 'a' || name[0] == 'c';    /* iommu a and c have the cap */
}

/* After a step that succeeded in spite of @err: every device is where the
 * algorithm may put it. */
static void check_placement(Fixture *f, const Scenario *s, int err)
{
    for (unsigned i = 0; i < vfi_address_space_container_count(f->as); i++) {
        VfiContainer *c = vfi_address_space_container(f->as, i);

        assert_true(vfi_container_device_count(c) > 0);
        for (unsigned j = 0; j < vfi_container_hwpt_count(c); j++) {
            assert_true(vfi_hwpt_device_count(vfi_container_hwpt(c, j)) > 0);
        }
    }
    for (unsigned i = 0; i < f->ndevs; i++) {
        VfiDevice *d = f->devs[i];
        VfiContainer *c = vfi_device_get_container(d);
        VfiUntrackedReason why = VFI_COVERED;
        bool opted_out = s->opted_out && !strcmp(s->opted_out, f->names[i]);
        bool want, dirty;

        if (!c || vfi_device_is_mdev(d)) {
            continue;
        }
        vfi_container_dirty_coverage(c, d, &why);
        if (why == VFI_UNTRACKED_KERNEL_REFUSED && err != EOPNOTSUPP) {
            fail_msg("%s: device %s untracked (kernel refused) under %s", s->name,
                     f->names[i], g_strerror(err));
        }
        want = dirty_capable(f->names[i]) && !opted_out &&
               why != VFI_UNTRACKED_KERNEL_REFUSED;
        dirty = vfi_hwpt_get_flags(vfi_device_get_hwpt(d)) & IOMMU_HWPT_ALLOC_DIRTY_TRACKING;
        if (want != dirty) {
            fail_msg("%s: under %s device %s is in a hwpt with dirty flag %d, wants %d",
                     s->name, g_strerror(err), f->names[i], dirty, want);
        }
    }
}

/* After the step: everything can be detached and attached again. */
static void recover(Fixture *f)
{
    g_autoptr(GError) err = NULL;

    for (unsigned i = 0; i < f->ndevs; i++) {
        if (vfi_device_get_container(f->devs[i])) {
            assert_ok(vfi_address_space_detach_device(f->as, f->devs[i], &err), err);
        }
    }
    check_consistent(f);
    for (unsigned i = 0; i < f->ndevs; i++) {
        assert_ok(vfi_address_space_attach_device(f->as, f->be, f->devs[i], NULL, &err),
                  err);
    }
    check_consistent(f);
    check_mappings(f);
}

static void run_scenario(const Scenario *s)
{
    g_autoptr(GError) err = NULL;
    uint64_t before, n;
    unsigned mappings, cmappings;
    Fixture *f;
    bool ok;

    f = fixture_new(topo);
    s->setup(f);
    before = vfi_sim_ioctl_count(f->sim);
    ok = s->step(f, &err);
    assert_ok(ok, err);
    n = vfi_sim_ioctl_count(f->sim) - before;
    check_consistent(f);
    fixture_free(f);
    assert_true(n > 0);

    for (uint64_t k = 1; k <= n; k++) {
        for (unsigned e = 0; e < G_N_ELEMENTS(errnos); e++) {
            f = fixture_new(topo);
            s->setup(f);
            mappings = vfi_address_space_mapping_count(f->as);
            cmappings = container_mappings(f);
            vfi_sim_fail_nth(f->sim, (unsigned)k, errnos[e]);
            ok = s->step(f, &err);
            vfi_sim_fail_clear(f->sim);
            if (ok) {
                if (errnos[e] != EINVAL && errnos[e] != EOPNOTSUPP &&
                    errnos[e] != EADDRINUSE) {
                    fail_msg("%s: ioctl %" PRIu64 "/%" PRIu64 " failing with %s: the step "
                             "succeeded", s->name, k, n, g_strerror(errnos[e]));
                }
                check_placement(f, s, errnos[e]);
            } else {
                if (!g_error_matches(err, VFI_KERNEL_ERROR, errnos[e])) {
                    fail_msg("%s: ioctl %" PRIu64 "/%" PRIu64 " failing with %s: got %s/%d: "
                             "%s", s->name, k, n, g_strerror(errnos[e]),
                             g_quark_to_string(err->domain), err->code, err->message);
                }
                g_clear_error(&err);
                /* a failed step leaves the remembered and recorded mappings alone */
                assert_int_equal(vfi_address_space_mapping_count(f->as), mappings);
                assert_int_equal(container_mappings(f), cmappings);
            }
            check_consistent(f);
            check_mappings(f);
            recover(f);
            fixture_free(f);
        }
    }
}

static void test_all_scenarios(void **state)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(scenarios); i++) {
        print_message("scenario: %s\n", scenarios[i].name);
        run_scenario(&scenarios[i]);
    }
}

/* A failing attach of a device this call bound leaves it bound, holding
 * nothing else; the next attach reuses the binding. */
static void test_failed_attach_keeps_binding(void **state)
{
    Fixture *f = fixture_new(topo);
    g_autoptr(GError) err = NULL;
    uint64_t binds;

    vfi_sim_fail_next(f->sim, VFI_SIM_OP_IOAS_ALLOC, ENOMEM);
    assert_false(attach(f, "a0", NULL, &err));
    assert_gerror(err, VFI_KERNEL_ERROR, ENOMEM);
    assert_true(vfi_device_is_bound(fdev(f, "a0")));
    assert_int_equal(vfi_sim_live_objects(f->sim), 1);
    check_consistent(f);
    binds = vfi_sim_op_count(f->sim, VFI_SIM_OP_DEVICE_BIND);
    attach_ok(f, "a0", NULL);
    assert_int_equal(vfi_sim_op_count(f->sim, VFI_SIM_OP_DEVICE_BIND), binds);
    check_consistent(f);
    fixture_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_scenarios),
        cmocka_unit_test(test_failed_attach_keeps_binding),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
