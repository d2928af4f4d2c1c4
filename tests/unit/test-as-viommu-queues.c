/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The queues of an address space's vIOMMU (include/vfio-iommufd/
 * as-viommu.h: vfi_address_space_alloc_veventq(), _alloc_faultq()) on the
 * kernel model: owned by the address space, read by the VMM, and gone with
 * their objects in the kernel's order: a vEVENTQ just before its vIOMMU
 * (kept while another device uses the vIOMMU), a fault queue after the
 * nested HWPTs naming it (handed to the device whose HWPT names it); the
 * refusals with no ioctl; every ioctl of the detach, then of the address
 * space's free, failed in turn: the free that succeeds leaves no kernel
 * object and no fd.
 */
#include "config.h"
#include "test-container-helpers.h"
#include "vfio-iommufd/as-viommu.h"
#include "vfio-iommufd/live-update.h"

#define PG 4096u
#define IOVA 0x100000u

static uint8_t buf[16 * PG] __attribute__((aligned(4096)));

static const char topo[] =
    "[iommu n]\nnesting=true\n"
    "[device n0]\niommu=n\n[device n1]\niommu=n\n[device p0]\niommu=n\n";

static const VfiAttachOptions nest_opts = VFI_ATTACH_OPTIONS_INIT(.nest_parent = true);

static Fixture *setup(void)
{
    g_autoptr(GError) err = NULL;
    Fixture *f = fixture_new(topo);

    assert_ok(vfi_address_space_dma_map(f->as, IOVA, 16 * PG, buf, false, &err), err);
    return f;
}

#if HAVE_IOMMU_VIOMMU_ALLOC && HAVE_IOMMU_VEVENTQ_ALLOC && HAVE_IOMMU_FAULT_QUEUE_ALLOC

static const VfiSimHwptSelftest s1_data = { .iotlb = VFI_SIM_IOTLB_DEFAULT };

/* @name attached with a nest parent, its vIOMMU and vDEVICE @virt_id, on a
 * nested HWPT of the vIOMMU naming fault queue @fq (NULL: none). */
static void nested_device(Fixture *f, const char *name, uint64_t virt_id, VfiFaultq *fq)
{
    g_autoptr(GError) err = NULL;
    VfiDevice *d = fdev(f, name);
    VfiNestedHwpt *h;

    if (!vfi_device_get_container(d)) {
        attach_ok(f, name, &nest_opts);
    }
    assert_ok(vfi_address_space_get_viommu(f->as, d, VFI_SIM_VIOMMU_TYPE_SELFTEST, NULL, 0,
                                           &err) != NULL, err);
    assert_ok(vfi_address_space_alloc_vdevice(f->as, d, virt_id, &err) != NULL, err);
    h = vfi_address_space_alloc_nested_hwpt(f->as, d, true, fq ? IOMMU_HWPT_FAULT_ID_VALID : 0,
                                            vfi_faultq_get_id(fq), VFI_SIM_HWPT_DATA_SELFTEST,
                                            &s1_data, sizeof(s1_data), &err);
    assert_ok(h != NULL, err);
    assert_ok(vfi_address_space_set_device_nested(f->as, d, h, &err), err);
}

static VfiVeventq *veventq_for(Fixture *f, const char *name)
{
    g_autoptr(GError) err = NULL;
    VfiVeventq *q = vfi_address_space_alloc_veventq(f->as, fdev(f, name),
                                                    VFI_SIM_VEVENTQ_TYPE_SELFTEST, 4,
                                                    sizeof(VfiSimVeventSelftest), &err);

    assert_ok(q != NULL, err);
    return q;
}

static VfiFaultq *faultq_for(Fixture *f, const char *name)
{
    g_autoptr(GError) err = NULL;
    VfiFaultq *q = vfi_address_space_alloc_faultq(f->as, fdev(f, name), &err);

    assert_ok(q != NULL, err);
    return q;
}

/* One event of @name read from @q. */
static void event_ok(Fixture *f, const char *name, VfiVeventq *q)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GArray) ev = NULL;
    uint64_t lost = 1;

    assert_ok(vfi_sim_trigger_vevent(f->sim, vfi_iommufd_get_fd(f->be),
                                     vfi_device_get_devid(fdev(f, name)), &err), err);
    assert_ok(vfi_veventq_read(q, &ev, &lost, &err), err);
    assert_int_equal(ev->len, 1);
    assert_int_equal(lost, 0);
}

/* One page request of @name read from @q and answered. */
static void fault_ok(Fixture *f, const char *name, VfiFaultq *q)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GArray) faults = NULL;
    VfiPageFault *pf;

    assert_ok(vfi_sim_trigger_iopf(f->sim, vfi_iommufd_get_fd(f->be),
                                   vfi_device_get_devid(fdev(f, name)), 0, 1, 0, IOVA, &err), err);
    assert_ok(vfi_faultq_read(q, &faults, &err), err);
    assert_int_equal(faults->len, 1);
    pf = &g_array_index(faults, VfiPageFault, 0);
    assert_int_equal(pf->dev_id, vfi_device_get_devid(fdev(f, name)));
    assert_ok(vfi_faultq_respond(q, pf->cookie, 0, &err), err);
}

/* Nothing but the library's own objects, and one fd per device plus the
 * iommufd (no queue fd). */
static void only_library_objects(Fixture *f)
{
    assert_int_equal(vfi_sim_live_objects(f->sim), expected_objects(f));
    check_consistent(f);
}

/* Two devices on one vIOMMU, the queue of each made for n0: n0's detach
 * leaves the vEVENTQ with the vIOMMU n1 uses and the fault queue to n1
 * (its HWPT names it); n1's detach takes everything. */
static void test_owned(void **state)
{
    Fixture *f = setup();
    VfiVeventq *eq;
    VfiFaultq *fq;
    unsigned base;

    (void)state;
    attach_ok(f, "n0", &nest_opts);
    fq = faultq_for(f, "n0");
    nested_device(f, "n0", 0x42, fq);
    nested_device(f, "n1", 0x43, fq);
    eq = veventq_for(f, "n0");
    base = expected_objects(f);
    /* vIOMMU, 2 vDEVICEs, 2 nested HWPTs, 2 queues; their fds */
    assert_int_equal(vfi_sim_live_objects(f->sim), base + 7);
    assert_int_equal(vfi_sim_open_fds(f->sim), f->ndevs + 1 + 2);
    event_ok(f, "n1", eq);
    fault_ok(f, "n1", fq);
    {
        GArray *fds = NULL;
        g_autoptr(GError) e = NULL;
        uint64_t n = vfi_sim_ioctl_count(f->sim);

        /* the blob carries no vIOMMU object, the queues included: refused */
        assert_null(vfi_live_update_save(f->as, &fds, &e));
        assert_non_null(e);
        assert_non_null(strstr(e->message, "7 vIOMMU object(s)"));
        assert_int_equal(vfi_sim_ioctl_count(f->sim), n);
        assert_null(fds);
    }
    detach_ok(f, "n0");
    assert_int_equal(vfi_sim_live_objects(f->sim), expected_objects(f) + 5);
    event_ok(f, "n1", eq);                              /* still the address space's */
    fault_ok(f, "n1", fq);
    detach_ok(f, "n1");
    only_library_objects(f);
    fixture_free(f);
}

/* The refusals, none making an ioctl. */
static void test_refusals(void **state)
{
    Fixture *f = setup();

    (void)state;
    assert_refused(f, vfi_address_space_alloc_faultq(f->as, fdev(f, "n0"), errp) != NULL,
                   VFI_ERROR_WRONG_STATE);              /* not in the address space */
    assert_refused(f, vfi_address_space_alloc_veventq(NULL, fdev(f, "n0"), 1, 1, 4, errp)
                   != NULL, VFI_ERROR_INVALID_ARGUMENT);
    attach_ok(f, "n0", &nest_opts);
    attach_ok(f, "p0", NULL);
    assert_refused(f, vfi_address_space_alloc_veventq(f->as, fdev(f, "n0"),
                   VFI_SIM_VEVENTQ_TYPE_SELFTEST, 4, 4, errp) != NULL,
                   VFI_ERROR_WRONG_STATE);              /* no vIOMMU yet */
    assert_refused(f, vfi_address_space_alloc_faultq(f->as, fdev(f, "p0"), errp) != NULL,
                   VFI_ERROR_WRONG_STATE);              /* no nest parent */
    only_library_objects(f);
    fixture_free(f);
}

/* n0 with its queues: the fault queue named by its nested HWPT. */
static void queued_device(Fixture *f)
{
    attach_ok(f, "n0", &nest_opts);
    nested_device(f, "n0", 0x42, faultq_for(f, "n0"));
    veventq_for(f, "n0");
}

/* The detach failing at its k-th ioctl, the free at its j-th (0: none):
 * the free that then succeeds leaves nothing. */
static void fault_detach(uint64_t k, uint64_t j)
{
    g_autoptr(GError) err = NULL;
    Fixture *f = setup();

    queued_device(f);
    vfi_sim_fail_nth(f->sim, (unsigned)k, EBUSY);
    if (!vfi_address_space_detach_device(f->as, fdev(f, "n0"), &err)) {
        g_clear_error(&err);
    }
    vfi_sim_fail_clear(f->sim);
    if (vfi_device_get_container(fdev(f, "n0"))) {
        detach_ok(f, "n0");
    }
    if (j) {
        vfi_sim_fail_nth(f->sim, (unsigned)j, EBUSY);
        if (vfi_address_space_free(f->as, &err)) {
            f->as = vfi_address_space_new(f);
        }
        g_clear_error(&err);
        vfi_sim_fail_clear(f->sim);
    }
    fixture_free(f);                     /* its free: nothing left, no fd */
}

static void test_faults(void **state)
{
    g_autoptr(GError) err = NULL;
    Fixture *f = setup();
    uint64_t before, n;

    (void)state;
    queued_device(f);
    before = vfi_sim_ioctl_count(f->sim);
    detach_ok(f, "n0");
    n = vfi_sim_ioctl_count(f->sim) - before;
    assert_true(n >= 6);     /* detach, nested, vDEVICE, vEVENTQ, vIOMMU, fault queue */
    fixture_free(f);
    for (uint64_t k = 1; k <= n; k++) {
        for (uint64_t j = 0; j <= n; j++) {
            fault_detach(k, j);
        }
    }
}

#else

/* Without the UAPI: NOT_SUPPORTED before any ioctl. */
static void test_not_supported(void **state)
{
    Fixture *f = setup();

    (void)state;
    attach_ok(f, "n0", &nest_opts);
    assert_refused(f, vfi_address_space_get_viommu(f->as, fdev(f, "n0"), 1, NULL, 0, errp)
                   != NULL, VFI_ERROR_NOT_SUPPORTED);
    assert_refused(f, vfi_address_space_alloc_veventq(f->as, fdev(f, "n0"), 1, 4, 4, errp)
                   != NULL, VFI_ERROR_WRONG_STATE);     /* no vIOMMU: there is none */
    fixture_free(f);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
#if HAVE_IOMMU_VIOMMU_ALLOC && HAVE_IOMMU_VEVENTQ_ALLOC && HAVE_IOMMU_FAULT_QUEUE_ALLOC
        cmocka_unit_test(test_owned),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_faults),
#else
        cmocka_unit_test(test_not_supported),
#endif
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
