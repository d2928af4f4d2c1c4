/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * PASIDs of an address space's devices with a vIOMMU, on the kernel model
 * (include/vfio-iommufd/as-pasid.h, vfi_address_space_replace_pasid()): a
 * PASID moved from its shared PASID HWPT onto a nested HWPT of the
 * device's vIOMMU and back, the shared HWPT's users (the last one leaving
 * destroys it), the nested HWPT held while a PASID is on it, the device's
 * detach; the refusals with no ioctl; PASID DMA (vfi_sim_dma_write_pasid())
 * through either HWPT in the address space's dirty sync; every ioctl of
 * attach + replace + replace back + detach failed in turn, the library's
 * PASID table still the model's and nothing left.
 */
#include "config.h"
#include "test-container-helpers.h"
#include "vfio-iommufd/as-pasid.h"
#include "vfio-iommufd/as-viommu.h"
#include "vfio-iommufd/device-pasid.h"
#include "vfio-iommufd/dirty.h"

#define PG 4096u
#define IOVA 0x100000u

static uint8_t buf[16 * PG] __attribute__((aligned(4096)));

static const char topo[] =
    "[iommu n]\ndirty-tracking=true\nnesting=true\n"
    "[iommu m]\ndirty-tracking=true\nnesting=true\n"
    "[device n0]\niommu=n\n[device m0]\niommu=m\n[device p0]\niommu=n\n"
    "[device n1]\niommu=n\n";

static G_GNUC_UNUSED const VfiAttachOptions nest_pasid =
    VFI_ATTACH_OPTIONS_INIT(.nest_parent = true, .pasid = true);
static const VfiAttachOptions pasid_only = VFI_ATTACH_OPTIONS_INIT(.pasid = true);

static Fixture *setup(void)
{
    g_autoptr(GError) err = NULL;
    Fixture *f = fixture_new(topo);

    assert_ok(vfi_sim_set_device_max_pasid_log2(f->sim, "n0", 20, &err), err);
    assert_ok(vfi_sim_set_device_max_pasid_log2(f->sim, "m0", 20, &err), err);
    assert_ok(vfi_sim_set_device_max_pasid_log2(f->sim, "p0", 20, &err), err);
    assert_ok(vfi_sim_set_device_max_pasid_log2(f->sim, "n1", 20, &err), err);
    assert_ok(vfi_address_space_dma_map(f->as, IOVA, 16 * PG, buf, false, &err), err);
    return f;
}

#if HAVE_VFIO_DEVICE_ATTACH_PASID && HAVE_IOMMU_HWPT_ALLOC_PASID && HAVE_IOMMU_VIOMMU_ALLOC

static const VfiSimHwptSelftest s1_data = { .iotlb = VFI_SIM_IOTLB_DEFAULT };

/* @name's vIOMMU and vDEVICE, and a nested HWPT on the vIOMMU with @flags. */
static VfiNestedHwpt *nested_for(Fixture *f, const char *name, uint32_t flags)
{
    g_autoptr(GError) err = NULL;
    VfiNestedHwpt *h;

    assert_ok(vfi_address_space_get_viommu(f->as, fdev(f, name), VFI_SIM_VIOMMU_TYPE_SELFTEST,
                                           NULL, 0, &err) != NULL, err);
    if (!vfi_address_space_get_device_nested(f->as, fdev(f, name)) &&
        !vfi_address_space_alloc_vdevice(f->as, fdev(f, name), 0x42, &err)) {
        g_clear_error(&err);              /* it has one already */
    }
    h = vfi_address_space_alloc_nested_hwpt(f->as, fdev(f, name), true, flags, 0,
                                            VFI_SIM_HWPT_DATA_SELFTEST, &s1_data,
                                            sizeof(s1_data), &err);
    assert_ok(h != NULL, err);
    return h;
}

static void pasid_ok(Fixture *f, const char *name, uint32_t pasid)
{
    g_autoptr(GError) err = NULL;

    assert_ok(vfi_address_space_attach_pasid(f->as, fdev(f, name), pasid, &err), err);
}

/* Replace @pasid of @name onto @h (NULL: back); library and model agree. */
static void replace_ok(Fixture *f, const char *name, uint32_t pasid, VfiNestedHwpt *h)
{
    g_autoptr(GError) err = NULL;
    uint32_t pt;

    assert_ok(vfi_address_space_replace_pasid(f->as, fdev(f, name), pasid, h, &err), err);
    pt = vfi_device_get_pasid_pt(fdev(f, name), pasid);
    assert_int_equal(pt, vfi_sim_device_pasid_pt(f->sim, name, pasid));
    if (h) {
        assert_int_equal(pt, vfi_nested_hwpt_get_id(h));
    } else {
        assert_int_not_equal(pt, 0);
        assert_int_not_equal(pt, vfi_hwpt_get_id(vfi_device_get_hwpt(fdev(f, name))));
    }
}

static bool exists(Fixture *f, uint32_t id)
{
    return vfi_sim_object_exists(f->sim, vfi_iommufd_get_fd(f->be), id);
}

/* Onto the nested HWPT and back: the shared PASID HWPT's users, its
 * destruction with the last, the nested HWPT held, no ioctl when there. */
static void test_replace(void **state)
{
    g_autoptr(GError) err = NULL;
    Fixture *f = setup();
    VfiNestedHwpt *h;
    uint32_t shared, shared2;
    uint64_t n;

    (void)state;
    attach_ok(f, "n0", &nest_pasid);
    pasid_ok(f, "n0", 5);
    pasid_ok(f, "n0", 6);
    shared = vfi_device_get_pasid_pt(fdev(f, "n0"), 5);
    h = nested_for(f, "n0", IOMMU_HWPT_ALLOC_PASID);
    replace_ok(f, "n0", 5, h);
    assert_true(exists(f, shared));                     /* PASID 6 still on it */
    replace_ok(f, "n0", 6, h);
    assert_false(exists(f, shared));                    /* its last user left */
    n = vfi_sim_ioctl_count(f->sim);
    replace_ok(f, "n0", 6, h);                          /* there already */
    assert_int_equal(vfi_sim_ioctl_count(f->sim), n);
    assert_refused(f, vfi_address_space_free_nested_hwpt(f->as, h, errp),
                   VFI_ERROR_WRONG_STATE);              /* PASIDs on it */
    replace_ok(f, "n0", 5, NULL);                       /* a new PASID HWPT */
    shared2 = vfi_device_get_pasid_pt(fdev(f, "n0"), 5);
    replace_ok(f, "n0", 6, NULL);                       /* shares it */
    assert_int_equal(vfi_device_get_pasid_pt(fdev(f, "n0"), 6), shared2);
    assert_ok(vfi_address_space_free_nested_hwpt(f->as, h, &err), err);
    h = nested_for(f, "n0", IOMMU_HWPT_ALLOC_PASID);
    replace_ok(f, "n0", 5, h);
    detach_ok(f, "n0");                                 /* PASIDs, nested, vIOMMU go */
    assert_int_equal(vfi_sim_device_pasid_pt(f->sim, "n0", 5), 0);
    assert_int_equal(vfi_sim_live_objects(f->sim), expected_objects(f));
    check_consistent(f);
    fixture_free(f);
}

/* n1's PASID on the nested HWPT n0 made (one vIOMMU for the instance): n0's
 * detach hands the HWPT to n1, whose PASID holds it; n1's detach takes it. */
static void test_hand_over(void **state)
{
    Fixture *f = setup();
    VfiNestedHwpt *h;
    uint32_t id;

    (void)state;
    attach_ok(f, "n0", &nest_pasid);
    attach_ok(f, "n1", &nest_pasid);
    pasid_ok(f, "n1", 2);
    h = nested_for(f, "n0", IOMMU_HWPT_ALLOC_PASID);
    id = vfi_nested_hwpt_get_id(h);
    nested_for(f, "n1", IOMMU_HWPT_ALLOC_PASID);        /* n1's vIOMMU: n0's */
    replace_ok(f, "n1", 2, h);
    detach_ok(f, "n0");
    assert_true(exists(f, id));                         /* n1's PASID is on it */
    assert_refused(f, vfi_address_space_free_nested_hwpt(f->as, h, errp),
                   VFI_ERROR_WRONG_STATE);
    detach_ok(f, "n1");
    assert_false(exists(f, id));
    assert_int_equal(vfi_sim_live_objects(f->sim), expected_objects(f));
    fixture_free(f);
}

/* The refusals, none making an ioctl. */
static void test_refusals(void **state)
{
    g_autoptr(GError) err = NULL;
    Fixture *f = setup();
    VfiNestedHwpt *h, *plain, *foreign;

    (void)state;
    assert_refused(f, vfi_address_space_replace_pasid(f->as, fdev(f, "n0"), 1, NULL, errp),
                   VFI_ERROR_WRONG_STATE);              /* not in the address space */
    attach_ok(f, "n0", &nest_pasid);
    attach_ok(f, "m0", &nest_pasid);
    attach_ok(f, "p0", &pasid_only);
    pasid_ok(f, "n0", 1);
    pasid_ok(f, "m0", 1);
    pasid_ok(f, "p0", 1);
    h = nested_for(f, "n0", IOMMU_HWPT_ALLOC_PASID);
    plain = nested_for(f, "n0", 0);
    assert_refused(f, vfi_address_space_replace_pasid(f->as, fdev(f, "n0"), 2, h, errp),
                   VFI_ERROR_WRONG_STATE);              /* PASID 2 not attached */
    assert_refused(f, vfi_address_space_replace_pasid(f->as, fdev(f, "n0"), 1, plain, errp),
                   VFI_ERROR_WRONG_STATE);              /* no IOMMU_HWPT_ALLOC_PASID */
    assert_refused(f, vfi_address_space_replace_pasid(f->as, fdev(f, "m0"), 1, h, errp),
                   VFI_ERROR_WRONG_STATE);              /* another nest parent */
    assert_refused(f, vfi_address_space_replace_pasid(f->as, fdev(f, "p0"), 1, h, errp),
                   VFI_ERROR_WRONG_STATE);              /* no nest parent */
    assert_refused(f, vfi_address_space_replace_pasid(f->as, fdev(f, "n0"), 0, h, errp),
                   VFI_ERROR_INVALID_ARGUMENT);         /* PASID 0 */
    foreign = vfi_nested_hwpt_alloc(f->be, vfi_device_get_devid(fdev(f, "n0")),
                                    vfi_hwpt_get_id(vfi_device_get_hwpt(fdev(f, "n0"))),
                                    IOMMU_HWPT_ALLOC_PASID, 0, VFI_SIM_HWPT_DATA_SELFTEST,
                                    &s1_data, sizeof(s1_data), &err);
    assert_ok(foreign != NULL, err);
    assert_refused(f, vfi_address_space_replace_pasid(f->as, fdev(f, "n0"), 1, foreign, errp),
                   VFI_ERROR_INVALID_ARGUMENT);         /* not the address space's */
    assert_ok(vfi_nested_hwpt_free(foreign, &err), err);
    assert_ok(vfi_address_space_detach_pasid(f->as, fdev(f, "p0"), 1, &err), err);
    replace_ok(f, "n0", 1, h);                          /* the shared HWPT goes */
    assert_ok(vfi_address_space_dirty_tracking_start(f->as, &err), err);
    assert_refused(f, vfi_address_space_replace_pasid(f->as, fdev(f, "n0"), 1, NULL, errp),
                   VFI_ERROR_WRONG_STATE);              /* would need a new, untracked one */
    assert_ok(vfi_address_space_dirty_tracking_stop(f->as, &err), err);
    assert_int_equal(vfi_device_get_pasid_pt(fdev(f, "n0"), 1), vfi_nested_hwpt_get_id(h));
    /* 4: the vIOMMU, the vDEVICE, two nested HWPTs */
    assert_int_equal(vfi_sim_live_objects(f->sim), expected_objects(f) + 4);
    fixture_free(f);
}

/* @pasid of @name and its RID DMA one page each, while tracking; the
 * address space's sync reads exactly those pages. */
static void dma_sync(Fixture *f, uint32_t pasid, unsigned page, uint64_t want)
{
    g_autoptr(GError) err = NULL;
    uint64_t bits[1] = { 0 };
    VfiDirtyLog log = { .base_iova = IOVA, .page_size = PG, .bitmap = bits, .nr_pages = 16 };

    assert_ok(vfi_sim_dma_write_pasid(f->sim, "n0", pasid, IOVA + page * PG, PG, &err), err);
    assert_ok(vfi_address_space_sync_dirty(f->as, &log, &err), err);
    assert_int_equal(bits[0], want);
}

/* The dirty bits of HWPT @id over the mapping, left in place. */
static uint64_t hwpt_bits(Fixture *f, uint32_t id)
{
    g_autoptr(GError) err = NULL;
    uint64_t bits[1] = { 0 };

    assert_ok(vfi_iommufd_hwpt_get_dirty_bitmap(f->be, id, IOVA, 16 * PG, PG, bits,
                                                IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, &err), err);
    return bits[0];
}

/* PASID DMA in the dirty sync: through the shared PASID HWPT's own bits,
 * and through a nested HWPT's parent; a PASID with nothing attached and
 * an unmapped IOVA fault. */
static void test_pasid_dma_dirty(void **state)
{
    g_autoptr(GError) err = NULL;
    Fixture *f = setup();
    VfiNestedHwpt *h;
    uint32_t shared;

    (void)state;
    attach_ok(f, "n0", &nest_pasid);
    pasid_ok(f, "n0", 3);
    pasid_ok(f, "n0", 4);
    shared = vfi_device_get_pasid_pt(fdev(f, "n0"), 3);
    assert_ok(vfi_address_space_dirty_tracking_start(f->as, &err), err);
    /* the shared PASID HWPT's bitmap, not the RID's */
    assert_ok(vfi_sim_dma_write_pasid(f->sim, "n0", 3, IOVA + 2 * PG, PG, &err), err);
    assert_int_equal(hwpt_bits(f, shared), 1u << 2);
    assert_int_equal(hwpt_bits(f, vfi_hwpt_get_id(vfi_device_get_hwpt(fdev(f, "n0")))), 0);
    dma_sync(f, 4, 5, (1u << 2) | (1u << 5));
    assert_false(vfi_sim_dma_write_pasid(f->sim, "n0", 9, IOVA, PG, &err));  /* nothing there */
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    g_clear_error(&err);
    assert_false(vfi_sim_dma_write_pasid(f->sim, "n0", 3, IOVA + 16 * PG, PG, &err));
    g_clear_error(&err);
    h = nested_for(f, "n0", IOMMU_HWPT_ALLOC_PASID);
    replace_ok(f, "n0", 3, h);                          /* tracking on: allowed */
    dma_sync(f, 3, 7, 1u << 7);                         /* through the nest parent */
    assert_ok(vfi_address_space_dirty_tracking_stop(f->as, &err), err);
    assert_int_equal(vfi_sim_live_objects(f->sim), expected_objects(f) + 3);
    fixture_free(f);
}

/* ---- faults ---------------------------------------------------------------- */

static bool flow(Fixture *f, VfiNestedHwpt *h, GError **errp)
{
    VfiDevice *d = fdev(f, "n0");

    return vfi_address_space_attach_pasid(f->as, d, 9, errp) &&
           vfi_address_space_replace_pasid(f->as, d, 9, h, errp) &&
           vfi_address_space_replace_pasid(f->as, d, 9, NULL, errp) &&
           vfi_address_space_detach_pasid(f->as, d, 9, errp);
}

/* A fixture with n0 attached and a PASID-capable nested HWPT of its vIOMMU. */
static Fixture *fault_setup(VfiNestedHwpt **h)
{
    Fixture *f = setup();

    attach_ok(f, "n0", &nest_pasid);
    *h = nested_for(f, "n0", IOMMU_HWPT_ALLOC_PASID);
    return f;
}

static void test_faults(void **state)
{
    g_autoptr(GError) err = NULL;
    VfiNestedHwpt *h;
    Fixture *f = fault_setup(&h);
    uint64_t before = vfi_sim_ioctl_count(f->sim), n;

    (void)state;
    assert_ok(flow(f, h, &err), err);
    n = vfi_sim_ioctl_count(f->sim) - before;
    assert_true(n >= 6);       /* ALLOC, ATTACH, REPLACE, DESTROY, ALLOC, REPLACE, ... */
    fixture_free(f);
    for (uint64_t k = 1; k <= n; k++) {
        f = fault_setup(&h);
        vfi_sim_fail_nth(f->sim, (unsigned)k, ENOMEM);
        if (!flow(f, h, &err)) {
            assert_non_null(err);
            g_clear_error(&err);
        }
        vfi_sim_fail_clear(f->sim);
        assert_int_equal(vfi_device_get_pasid_pt(fdev(f, "n0"), 9),
                         vfi_sim_device_pasid_pt(f->sim, "n0", 9));
        /* 3: the vIOMMU, the vDEVICE, the nested HWPT */
        assert_int_equal(vfi_sim_live_objects(f->sim), expected_objects(f) + 3);
        fixture_free(f);                 /* the model left clean */
    }
}

#else

/* Without the UAPI: NOT_SUPPORTED before any ioctl. */
static void test_not_supported(void **state)
{
    Fixture *f = setup();
    g_autoptr(GError) err = NULL;

    (void)state;
    attach_ok(f, "p0", &pasid_only);
    assert_refused(f, vfi_address_space_replace_pasid(f->as, fdev(f, "p0"), 1, NULL, errp),
                   VFI_ERROR_NOT_SUPPORTED);
    assert_false(vfi_sim_dma_write_pasid(f->sim, "p0", 1, IOVA, PG, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);      /* nothing attached */
    fixture_free(f);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
#if HAVE_VFIO_DEVICE_ATTACH_PASID && HAVE_IOMMU_HWPT_ALLOC_PASID && HAVE_IOMMU_VIOMMU_ALLOC
        cmocka_unit_test(test_replace),
        cmocka_unit_test(test_hand_over),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_pasid_dma_dirty),
        cmocka_unit_test(test_faults),
#else
        cmocka_unit_test(test_not_supported),
#endif
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
