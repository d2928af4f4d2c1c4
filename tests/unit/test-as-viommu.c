/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * An address space with a vIOMMU (include/vfio-iommufd/as-viommu.h,
 * docs/nesting.md "Giving the guest a vIOMMU, step by step") on the kernel
 * model: devices attached with a nest parent get their vIOMMU (shared per
 * nest parent and IOMMU instance), vDEVICE and nested HWPTs from the
 * address space, go onto a nested HWPT and back; invalidation through the
 * nested HWPT; DMA and dirty tracking through the nest parent; the
 * refusals before any ioctl; detach and free leave nothing; every ioctl of
 * the flow, of a detach and of the free after a failed detach failed in
 * turn, leaving nothing behind.
 */
#include "config.h"
#include "test-container-helpers.h"
#include "vfio-iommufd/as-viommu.h"
#include "vfio-iommufd/dirty.h"
#include "vfio-iommufd/live-update.h"

#define PG 4096u
#define IOVA 0x100000u

static uint8_t buf[16 * PG] __attribute__((aligned(4096)));

static const char topo[] =
    "[iommu n]\ndirty-tracking=true\nnesting=true\n"
    "[iommu m]\ndirty-tracking=true\nnesting=true\n"
    "[device n0]\niommu=n\n[device n1]\niommu=n\n[device m0]\niommu=m\n"
    "[device p0]\niommu=n\n";

static const VfiAttachOptions nest_opts = VFI_ATTACH_OPTIONS_INIT(.nest_parent = true);
static const VfiSimHwptSelftest s1_data = { .iotlb = VFI_SIM_IOTLB_DEFAULT };

static Fixture *setup(void)
{
    g_autoptr(GError) err = NULL;
    Fixture *f = fixture_new(topo);

    assert_ok(vfi_address_space_dma_map(f->as, IOVA, 16 * PG, buf, false, &err), err);
    return f;
}

static VfiNestedHwpt *nested_for(Fixture *f, const char *name, bool on_viommu)
{
    g_autoptr(GError) err = NULL;
    VfiNestedHwpt *h = vfi_address_space_alloc_nested_hwpt(
        f->as, fdev(f, name), on_viommu, 0, 0, VFI_SIM_HWPT_DATA_SELFTEST, &s1_data,
        sizeof(s1_data), &err);

    assert_ok(h != NULL, err);
    return h;
}

static void set_nested_ok(Fixture *f, const char *name, VfiNestedHwpt *h)
{
    g_autoptr(GError) err = NULL;

    assert_ok(vfi_address_space_set_device_nested(f->as, fdev(f, name), h, &err), err);
    assert_int_equal(vfi_address_space_get_device_nested(f->as, fdev(f, name)),
                     vfi_nested_hwpt_get_id(h));
}

/* The refusals of a device out of place: none in the address space, none
 * with a nest parent, a nested HWPT of another nest parent. */
static void test_refusals(void **state)
{
    Fixture *f = setup();
    VfiNestedHwpt *h;

    (void)state;
    assert_refused(f, vfi_address_space_alloc_nested_hwpt(f->as, fdev(f, "n0"), false, 0, 0,
                   VFI_SIM_HWPT_DATA_SELFTEST, &s1_data, sizeof(s1_data), errp) != NULL,
                   VFI_ERROR_WRONG_STATE);
    assert_refused(f, vfi_address_space_get_viommu(f->as, fdev(f, "n0"),
                   VFI_SIM_VIOMMU_TYPE_SELFTEST, NULL, 0, errp) != NULL, VFI_ERROR_WRONG_STATE);
    assert_refused(f, vfi_address_space_set_device_nested(NULL, fdev(f, "n0"), NULL, errp),
                   VFI_ERROR_INVALID_ARGUMENT);
    attach_ok(f, "p0", NULL);            /* no nest parent */
    attach_ok(f, "n0", &nest_opts);
    attach_ok(f, "m0", &nest_opts);      /* another IOMMU: another nest parent */
    assert_refused(f, vfi_address_space_set_device_nested(f->as, fdev(f, "p0"), NULL, errp),
                   VFI_ERROR_WRONG_STATE);
    assert_refused(f, vfi_address_space_alloc_vdevice(f->as, fdev(f, "p0"), 1, errp) != NULL,
                   VFI_ERROR_WRONG_STATE);
    assert_refused(f, vfi_address_space_alloc_vdevice(f->as, fdev(f, "n0"), 1, errp) != NULL,
                   VFI_ERROR_WRONG_STATE);     /* no vIOMMU yet */
    assert_refused(f, vfi_address_space_alloc_nested_hwpt(f->as, fdev(f, "n0"), true, 0, 0,
                   VFI_SIM_HWPT_DATA_SELFTEST, &s1_data, sizeof(s1_data), errp) != NULL,
                   VFI_ERROR_WRONG_STATE);
    h = nested_for(f, "n0", false);
    assert_refused(f, vfi_address_space_set_device_nested(f->as, fdev(f, "m0"), h, errp),
                   VFI_ERROR_WRONG_STATE);
    assert_refused(f, vfi_address_space_set_device_nested(f->as, fdev(f, "p0"), h, errp),
                   VFI_ERROR_WRONG_STATE);
    set_nested_ok(f, "n0", h);
    detach_ok(f, "n0");                  /* from the nested HWPT; the HWPT goes */
    check_consistent(f);
    fixture_free(f);
}

/* A nested HWPT on the nest parent: DMA maps still go to the IOAS, DMA and
 * dirty tracking through the parent, back on the parent and off again. */
static void test_on_parent(void **state)
{
    Fixture *f = setup();
    g_autoptr(GError) err = NULL;
    uint64_t bits[1] = { 0 };
    VfiDirtyLog log = { .base_iova = IOVA, .page_size = PG, .bitmap = bits, .nr_pages = 16 };
    VfiUntrackedReason why;
    VfiNestedHwpt *h;

    (void)state;
    attach_ok(f, "n0", &nest_opts);
    h = nested_for(f, "n0", false);
    set_nested_ok(f, "n0", h);
    assert_int_equal(vfi_device_dirty_coverage(fdev(f, "n0"), &why), VFI_DIRTY_COVERAGE_IOMMU);
    assert_ok(vfi_address_space_dirty_tracking_start(f->as, &err), err);
    assert_ok(vfi_sim_dma_write(f->sim, "n0", IOVA + 3 * PG, PG, &err), err);
    assert_ok(vfi_address_space_sync_dirty(f->as, &log, &err), err);
    assert_int_equal(bits[0], 1u << 3);
    assert_ok(vfi_address_space_dirty_tracking_stop(f->as, &err), err);
    /* a map made while on the nested HWPT goes to the IOAS under it */
    assert_ok(vfi_address_space_dma_map(f->as, IOVA + 32 * PG, 4 * PG, buf, false, &err), err);
    assert_ok(vfi_sim_dma_write(f->sim, "n0", IOVA + 32 * PG, PG, &err), err);
    assert_ok(vfi_address_space_dma_unmap(f->as, IOVA + 32 * PG, 4 * PG, 0, &err), err);
    assert_false(vfi_sim_dma_write(f->sim, "n0", IOVA + 32 * PG, PG, &err));
    g_clear_error(&err);
    assert_ok(vfi_address_space_set_device_nested(f->as, fdev(f, "n0"), NULL, &err), err);
    assert_int_equal(vfi_address_space_get_device_nested(f->as, fdev(f, "n0")), 0);
    set_nested_ok(f, "n0", h);
    {
        uint64_t n = vfi_sim_ioctl_count(f->sim);

        set_nested_ok(f, "n0", h);       /* there already: no ioctl */
        assert_int_equal(vfi_sim_ioctl_count(f->sim), n);
    }
    assert_refused(f, vfi_address_space_free_nested_hwpt(f->as, h, errp),
                   VFI_ERROR_WRONG_STATE);      /* n0 is on it */
    {
        g_autoptr(GError) e2 = NULL;
        VfiNestedHwpt *h2 = nested_for(f, "n0", false);
        unsigned live = vfi_sim_live_objects(f->sim);

        set_nested_ok(f, "n0", h2);    /* the guest changed its stage-1 table */
        assert_ok(vfi_address_space_free_nested_hwpt(f->as, h, &e2), e2);
        assert_int_equal(vfi_sim_live_objects(f->sim), live - 1);
    }
    {
        GArray *fds = NULL;
        g_autoptr(GError) e3 = NULL;
        uint64_t n = vfi_sim_ioctl_count(f->sim);

        /* the blob does not carry vIOMMU objects: refused, no ioctl */
        assert_null(vfi_live_update_save(f->as, &fds, &e3));
        assert_non_null(e3);
        assert_non_null(strstr(e3->message, "vIOMMU object"));
        assert_int_equal(vfi_sim_ioctl_count(f->sim), n);
        assert_null(fds);
    }
    detach_ok(f, "n0");
    check_consistent(f);
    fixture_free(f);
}

#if HAVE_IOMMU_VIOMMU_ALLOC
static VfiViommu *viommu_for(Fixture *f, const char *name)
{
    g_autoptr(GError) err = NULL;
    VfiViommu *v = vfi_address_space_get_viommu(f->as, fdev(f, name),
                                                VFI_SIM_VIOMMU_TYPE_SELFTEST, NULL, 0, &err);

    assert_ok(v != NULL, err);
    return v;
}

static void vdevice_for(Fixture *f, const char *name, uint64_t virt_id)
{
    g_autoptr(GError) err = NULL;

    assert_ok(vfi_address_space_alloc_vdevice(f->as, fdev(f, name), virt_id, &err) != NULL,
              err);
}

/* Two devices of one IOMMU share the vIOMMU; each its vDEVICE and nested
 * HWPT; invalidation through the nested HWPT; the first detach leaves the
 * vIOMMU to the second, the second takes everything away. */
static void test_flow(void **state)
{
    Fixture *f = setup();
    g_autoptr(GError) err = NULL;
    VfiSimInvalidateSelftest inv = { .flags = VFI_SIM_INVALIDATE_FLAG_ALL };
    uint32_t done = 0, v = 0;
    unsigned base;
    VfiViommu *vi;
    VfiNestedHwpt *h0, *h1;

    (void)state;
    attach_ok(f, "n0", &nest_opts);
    attach_ok(f, "n1", &nest_opts);
    attach_ok(f, "m0", &nest_opts);
    base = expected_objects(f);
    vi = viommu_for(f, "n0");
    {
        uint64_t n = vfi_sim_ioctl_count(f->sim);

        assert_ptr_equal(viommu_for(f, "n1"), vi);      /* shared: no ioctl */
        assert_int_equal(vfi_sim_ioctl_count(f->sim), n);
    }
    assert_ptr_not_equal(viommu_for(f, "m0"), vi);       /* another instance */
    vdevice_for(f, "n0", 0x42);
    vdevice_for(f, "n1", 0x43);
    assert_refused(f, vfi_address_space_alloc_vdevice(f->as, fdev(f, "n0"), 9, errp) != NULL,
                   VFI_ERROR_WRONG_STATE);
    h0 = nested_for(f, "n0", true);
    h1 = nested_for(f, "n1", true);
    assert_refused(f, vfi_address_space_set_device_nested(f->as, fdev(f, "m0"), h0, errp),
                   VFI_ERROR_WRONG_STATE);              /* another vIOMMU, parent */
    set_nested_ok(f, "n0", h0);
    set_nested_ok(f, "n1", h1);
    assert_ok(vfi_iommufd_invalidate(f->be, vfi_nested_hwpt_get_id(h0),
                                     VFI_SIM_HWPT_INVALIDATE_DATA_SELFTEST, &inv, sizeof(inv),
                                     1, &done, &err), err);
    assert_int_equal(done, 1);
    assert_true(vfi_sim_nested_iotlb(f->sim, vfi_iommufd_get_fd(f->be),
                                     vfi_nested_hwpt_get_id(h0), 0, &v, NULL));
    assert_int_equal(v, 0);
    assert_ok(vfi_sim_dma_write(f->sim, "n1", IOVA, PG, &err), err);
    /* 2 vIOMMUs, 3 vDEVICE-less... : n0, n1 vDEVICEs, 2 nested HWPTs */
    assert_int_equal(vfi_sim_live_objects(f->sim), base + 2 + 2 + 2);
    detach_ok(f, "n0");
    assert_int_equal(vfi_sim_live_objects(f->sim), expected_objects(f) + 2 + 1 + 1);
    detach_ok(f, "n1");
    detach_ok(f, "m0");
    assert_int_equal(vfi_sim_live_objects(f->sim), expected_objects(f));
    fixture_free(f);
}
#endif

/* ---- faults ------------------------------------------------------------ */

/* The flow on n0 (with a vIOMMU where the headers have it): stops at the
 * first failure. */
static bool flow(Fixture *f, GError **errp)
{
    VfiNestedHwpt *h;
    bool viommu = HAVE_IOMMU_VIOMMU_ALLOC;

    if (!vfi_address_space_attach_device(f->as, f->be, fdev(f, "n0"), &nest_opts, errp)) {
        return false;
    }
    if (viommu && (!vfi_address_space_get_viommu(f->as, fdev(f, "n0"),
                                                 VFI_SIM_VIOMMU_TYPE_SELFTEST, NULL, 0, errp) ||
                   !vfi_address_space_alloc_vdevice(f->as, fdev(f, "n0"), 0x42, errp))) {
        return false;
    }
    h = vfi_address_space_alloc_nested_hwpt(f->as, fdev(f, "n0"), viommu, 0, 0,
                                            VFI_SIM_HWPT_DATA_SELFTEST, &s1_data,
                                            sizeof(s1_data), errp);
    return h && vfi_address_space_set_device_nested(f->as, fdev(f, "n0"), h, errp);
}

/* Detach what is left (no failure now), free, check the model clean. */
static void teardown(Fixture *f)
{
    g_autoptr(GError) err = NULL;

    vfi_sim_fail_clear(f->sim);
    if (vfi_device_get_container(fdev(f, "n0"))) {
        assert_ok(vfi_address_space_detach_device(f->as, fdev(f, "n0"), &err), err);
    }
    assert_ok(vfi_address_space_free(f->as, &err), err);
    f->as = NULL;
    for (unsigned i = 0; i < f->ndevs; i++) {
        vfi_device_free(f->devs[i]);
    }
    assert_ok(vfi_iommufd_free(f->be, &err), err);
    assert_int_equal(vfi_sim_live_objects(f->sim), 0);
    assert_int_equal(vfi_sim_open_fds(f->sim), 0);
    test_sim_free_clean(f->sim);
    g_free(f);
}

static uint64_t count_flow(void)
{
    g_autoptr(GError) err = NULL;
    Fixture *f = setup();
    uint64_t before = vfi_sim_ioctl_count(f->sim), n;

    assert_ok(flow(f, &err), err);
    n = vfi_sim_ioctl_count(f->sim) - before;
    teardown(f);
    return n;
}

static void test_faults_flow(void **state)
{
    uint64_t n = count_flow();

    (void)state;
    for (uint64_t k = 1; k <= n; k++) {
        g_autoptr(GError) err = NULL;
        Fixture *f = setup();

        vfi_sim_fail_nth(f->sim, (unsigned)k, ENOMEM);
        if (!flow(f, &err)) {
            assert_non_null(err);
        }
        teardown(f);
    }
}

/* A detach failing at its k-th ioctl, then the address space's free failing
 * at its j-th: whatever is left goes at the free that succeeds. */
static void fault_detach(uint64_t k, uint64_t j)
{
    g_autoptr(GError) err = NULL;
    Fixture *f = setup();

    assert_ok(flow(f, &err), err);
    vfi_sim_fail_nth(f->sim, (unsigned)k, EBUSY);
    if (!vfi_address_space_detach_device(f->as, fdev(f, "n0"), &err)) {
        g_clear_error(&err);
    }
    vfi_sim_fail_clear(f->sim);
    if (!vfi_device_get_container(fdev(f, "n0")) && j) {
        vfi_sim_fail_nth(f->sim, (unsigned)j, EBUSY);
        if (!vfi_address_space_free(f->as, &err)) {
            g_clear_error(&err);
        } else {
            f->as = vfi_address_space_new(f);
        }
    }
    teardown(f);
}

static void test_faults_detach(void **state)
{
    g_autoptr(GError) err = NULL;
    Fixture *f = setup();
    uint64_t before, n;

    (void)state;
    assert_ok(flow(f, &err), err);
    before = vfi_sim_ioctl_count(f->sim);
    assert_ok(vfi_address_space_detach_device(f->as, fdev(f, "n0"), &err), err);
    n = vfi_sim_ioctl_count(f->sim) - before;
    teardown(f);
    for (uint64_t k = 1; k <= n; k++) {
        for (uint64_t j = 0; j <= n; j++) {
            fault_detach(k, j);
        }
    }
}

#if !HAVE_IOMMU_VIOMMU_ALLOC
/* Headers without IOMMU_VIOMMU_ALLOC: refused before any ioctl. */
static void test_viommu_unsupported(void **state)
{
    Fixture *f = setup();

    (void)state;
    attach_ok(f, "n0", &nest_opts);
    assert_refused(f, vfi_address_space_get_viommu(f->as, fdev(f, "n0"),
                   VFI_SIM_VIOMMU_TYPE_SELFTEST, NULL, 0, errp) != NULL,
                   VFI_ERROR_NOT_SUPPORTED);
    fixture_free(f);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_on_parent),
#if HAVE_IOMMU_VIOMMU_ALLOC
        cmocka_unit_test(test_flow),
#else
        cmocka_unit_test(test_viommu_unsupported),
#endif
        cmocka_unit_test(test_faults_flow),
        cmocka_unit_test(test_faults_detach),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
