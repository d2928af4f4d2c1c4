/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The vIOMMU objects (issue 13) on the kernel model: the shared scenarios of
 * tests/vm/viommu-scenarios.h (the same functions run on Linux 7.3's mock
 * IOMMU in the VM), the library's VFIO-side calls (replace, PASID
 * attach/replace/detach, their refusals before any ioctl), the vEVENTQ
 * reader's loss accounting, the vDEVICE left to the device's unbind, fault
 * injection at every ioctl of each scenario (nothing left behind), and the
 * build against 6.12 headers, where every call of a newer request refuses
 * with VFI_ERROR_NOT_SUPPORTED before any ioctl.
 */
#include <inttypes.h>

#include "config.h"
#include "test-common.h"
#include "vfio-iommufd/device.h"
#include "vfio-iommufd/device-pasid.h"
#include "vfio-iommufd/iommufd.h"
#include "vfio-iommufd/viommu.h"
#include "../vm/viommu-scenarios.h"
#include "util/kernel-internal.h"

static const char topo[] =
    "[iommu n]\ndirty-tracking=false\n"
    "[iommu v]\ndirty-tracking=false\n"
    "[device n0]\niommu=n\n[device v0]\niommu=v\n";

typedef struct Fix {
    VfiSim *sim;
    VfiIommufd *be;
    VfiDevice *dev;         /* n0, behind the nesting instance */
    uint32_t ioas;
} Fix;

static Fix *fix_new(bool nesting)
{
    g_autoptr(GError) err = NULL;
    Fix *f = g_new0(Fix, 1);

    f->sim = test_sim_new(topo);
    assert_ok(vfi_sim_set_iommu_nesting(f->sim, "n", nesting, &err), err);
    assert_ok(vfi_sim_set_device_max_pasid_log2(f->sim, "n0", 20, &err), err);
    f->be = vfi_iommufd_new();
    assert_ok(vfi_iommufd_connect(f->be, &err), err);
    assert_ok(vfi_iommufd_ioas_alloc(f->be, &f->ioas, &err), err);
    f->dev = vfi_device_open_sysfs(vfi_sim_device_sysfs_path(f->sim, "n0"), &err);
    assert_non_null(f->dev);
    assert_ok(vfi_device_bind(f->dev, f->be, &err), err);
    return f;
}

static void fix_free(Fix *f)
{
    g_autoptr(GError) err = NULL;

    vfi_device_free(f->dev);    /* NULL is fine */
    assert_ok(vfi_iommufd_destroy(f->be, f->ioas, &err), err);
    vfi_iommufd_disconnect(f->be);
    assert_ok(vfi_iommufd_free(f->be, &err), err);
    test_sim_free_clean(f->sim);
    g_free(f);
}

#if HAVE_IOMMU_VEVENTQ_ALLOC

/* ---- the platform of the shared scenarios: the library's VFIO calls ----- */

static bool m_replace(void *opaque, uint32_t pt, GError **errp)
{
    return vfi_device_replace(((Fix *)opaque)->dev, pt, NULL, errp);
}

static bool m_pasid(void *opaque, int op, uint32_t pasid, uint32_t pt, GError **errp)
{
    Fix *f = opaque;

    return op == 0 ? vfi_device_attach_pasid(f->dev, pasid, pt, NULL, errp) :
           op == 1 ? vfi_device_replace_pasid(f->dev, pasid, pt, NULL, errp) :
           vfi_device_detach_pasid(f->dev, pasid, errp);
}

static bool m_vevent(void *opaque, GError **errp)
{
    Fix *f = opaque;

    return vfi_sim_trigger_vevent(f->sim, vfi_iommufd_get_fd(f->be),
                                  vfi_device_get_devid(f->dev), errp);
}

static bool m_iopf(void *opaque, uint32_t pasid, uint32_t grpid, uint32_t perm, uint64_t addr,
                   GError **errp)
{
    Fix *f = opaque;

    return vfi_sim_trigger_iopf(f->sim, vfi_iommufd_get_fd(f->be), vfi_device_get_devid(f->dev),
                                pasid, grpid, perm, addr, errp);
}

static bool m_iotlb_is(void *opaque, uint32_t hwpt, unsigned i, uint32_t want)
{
    Fix *f = opaque;
    uint32_t v = 0;

    return vfi_sim_nested_iotlb(f->sim, vfi_iommufd_get_fd(f->be), hwpt, i, &v, NULL) &&
           v == want;
}

static bool m_cache_is(void *opaque, uint32_t vdev, unsigned i, uint32_t want)
{
    Fix *f = opaque;
    uint32_t v = 0;

    return vfi_sim_vdevice_cache(f->sim, vfi_iommufd_get_fd(f->be), vdev, i, &v, NULL) &&
           v == want;
}

/* The device attached to its IOAS (an auto domain), its home. */
static VsPlatform platform(Fix *f)
{
    g_autoptr(GError) err = NULL;
    VsPlatform p = {
        .be = f->be, .ioas = f->ioas, .dev_id = vfi_device_get_devid(f->dev), .opaque = f,
        .replace = m_replace, .pasid = m_pasid, .trigger_vevent = m_vevent,
        .trigger_iopf = m_iopf, .iotlb_is = m_iotlb_is, .dev_cache_is = m_cache_is,
        .free_iova = 0x10000000ull,
    };

    if (!vfi_device_get_attached_pt(f->dev)) {
        assert_ok(vfi_device_attach(f->dev, f->ioas, NULL, &err), err);
    }
    /* the IOAS (its auto domain dies when the device leaves it) */
    p.home_pt = f->ioas;
    return p;
}

/* Every shared scenario on the model: it passes, and leaves only the
 * device's binding, its auto domain and the IOAS. */
static void test_scenarios(void **state)
{
    (void)state;
    for (size_t i = 0; i < G_N_ELEMENTS(vs_scenarios); i++) {
        Fix *f = fix_new(true);
        VsPlatform p = platform(f);
        unsigned before = vfi_sim_live_objects(f->sim);
        unsigned fds = vfi_sim_open_fds(f->sim);
        const char *why = vs_run(&p, &vs_scenarios[i]);

        if (why) {
            fail_msg("%s: %s", vs_scenarios[i].name, why);
        }
        assert_int_equal(vfi_sim_live_objects(f->sim), before);
        assert_int_equal(vfi_sim_open_fds(f->sim), fds);
        fix_free(f);
    }
}

/*
 * Fault injection at every ioctl of each scenario: the ioctl fails with
 * ENOMEM, the scenario reports the failure (it checks every call), its
 * cleanup frees what it made (the cleanup's own ioctls are not failed: one
 * injection per run), and nothing is left: the model has the objects and
 * fds it had before, the backend its one user.
 */
static void test_fault_injection(void **state)
{
    (void)state;
    for (size_t i = 0; i < G_N_ELEMENTS(vs_scenarios); i++) {
        Fix *f = fix_new(true);
        VsPlatform p = platform(f);
        unsigned before = vfi_sim_live_objects(f->sim);
        unsigned fds = vfi_sim_open_fds(f->sim);
        uint64_t start = vfi_sim_ioctl_count(f->sim), n;
        VsRun r0 = { 0 };
        const char *first = vs_scenarios[i].body(&p, &r0);

        /* the ioctls of the scenario itself, not of its cleanup */
        n = vfi_sim_ioctl_count(f->sim) - start;
        first = vs_cleanup(&p, &r0, first);
        if (first) {
            fail_msg("%s: %s", vs_scenarios[i].name, first);
        }
        fix_free(f);
        for (uint64_t k = 1; k <= n; k++) {
            VsRun r = { 0 };
            const char *why;

            f = fix_new(true);
            p = platform(f);
            vfi_sim_fail_nth(f->sim, (unsigned)k, ENOMEM);
            why = vs_scenarios[i].body(&p, &r);
            vfi_sim_fail_clear(f->sim);
            if (!why) {
                fail_msg("%s: ioctl %" PRIu64 "/%" PRIu64 " failing: the scenario passed",
                         vs_scenarios[i].name, k, n);
            }
            why = vs_cleanup(&p, &r, NULL);
            if (why) {
                fail_msg("%s: ioctl %" PRIu64 "/%" PRIu64 " failed: %s", vs_scenarios[i].name,
                         k, n, why);
            }
            assert_int_equal(vfi_sim_live_objects(f->sim), before);
            assert_int_equal(vfi_sim_open_fds(f->sim), fds);
            assert_int_equal(vfi_iommufd_users(f->be), 2);
            fix_free(f);
        }
    }
}


/* A vDEVICE left to the device's unbind: the kernel destroys it and keeps
 * its id out of use; the library's free then succeeds. */
static void test_vdevice_tombstone(void **state)
{
    g_autoptr(GError) err = NULL;
    Fix *f = fix_new(true);
    uint32_t parent = 0, dev_id = vfi_device_get_devid(f->dev), id, other = 0;
    VfiViommu *v;
    VfiVdevice *vd;

    (void)state;
    assert_ok(vfi_iommufd_hwpt_alloc(f->be, dev_id, f->ioas, IOMMU_HWPT_ALLOC_NEST_PARENT,
                                     IOMMU_HWPT_DATA_NONE, 0, NULL, &parent, &err), err);
    v = vfi_viommu_alloc(f->be, dev_id, parent, VFI_SIM_VIOMMU_TYPE_SELFTEST, NULL, 0, &err);
    assert_non_null(v);
    vd = vfi_vdevice_alloc(v, dev_id, 7, &err);
    assert_non_null(vd);
    id = vfi_vdevice_get_id(vd);
    assert_int_equal(vfi_vdevice_get_virt_id(vd), 7);
    vfi_device_free(f->dev);            /* the unbind */
    f->dev = NULL;
    assert_false(vfi_sim_object_exists(f->sim, vfi_iommufd_get_fd(f->be), id));
    /* the id is a tombstone: a new object gets another one */
    assert_ok(vfi_iommufd_ioas_alloc(f->be, &other, &err), err);
    assert_true(other != id);
    assert_ok(vfi_iommufd_destroy(f->be, other, &err), err);
    assert_ok(vfi_vdevice_free(vd, &err), err);
    assert_ok(vfi_viommu_free(v, &err), err);
    assert_ok(vfi_iommufd_destroy(f->be, parent, &err), err);
    fix_free(f);
}

/* An IOMMU without the mock's nesting: NEST_PARENT and vIOMMUs refused. */
static void test_no_nesting(void **state)
{
    g_autoptr(GError) err = NULL;
    Fix *f = fix_new(false);
    uint32_t parent = 0, plain = 0, dev_id = vfi_device_get_devid(f->dev);
    VfiSimHwptSelftest hd = { .iotlb = 1 };

    (void)state;
    assert_false(vfi_iommufd_hwpt_alloc(f->be, dev_id, f->ioas, IOMMU_HWPT_ALLOC_NEST_PARENT,
                                        IOMMU_HWPT_DATA_NONE, 0, NULL, &parent, &err));
    assert_gerror(err, VFI_KERNEL_ERROR, EOPNOTSUPP);
    assert_ok(vfi_iommufd_hwpt_alloc(f->be, dev_id, f->ioas, 0, IOMMU_HWPT_DATA_NONE, 0, NULL,
                                     &plain, &err), err);
    assert_null(vfi_viommu_alloc(f->be, dev_id, plain, VFI_SIM_VIOMMU_TYPE_SELFTEST, NULL, 0,
                                 &err));
    assert_gerror(err, VFI_KERNEL_ERROR, EOPNOTSUPP);
    assert_null(vfi_nested_hwpt_alloc(f->be, dev_id, plain, 0, 0, VFI_SIM_HWPT_DATA_SELFTEST,
                                      &hd, sizeof(hd), &err));
    assert_gerror(err, VFI_KERNEL_ERROR, EOPNOTSUPP);
    assert_ok(vfi_iommufd_destroy(f->be, plain, &err), err);
    fix_free(f);
}

/* The VFIO-side PASID calls: refused before the attach with our message. */
static void test_pasid_refusals(void **state)
{
    g_autoptr(GError) err = NULL;
    Fix *f = fix_new(true);
    uint32_t hwpt = 0, dev_id = vfi_device_get_devid(f->dev);
    uint64_t n;

    (void)state;
    assert_ok(vfi_iommufd_hwpt_alloc(f->be, dev_id, f->ioas, IOMMU_HWPT_ALLOC_PASID,
                                     IOMMU_HWPT_DATA_NONE, 0, NULL, &hwpt, &err), err);
    assert_refused(f, vfi_device_attach_pasid(f->dev, 0, hwpt, NULL, errp),
                   VFI_ERROR_INVALID_ARGUMENT);
    assert_refused(f, vfi_device_detach_pasid(f->dev, 3, errp), VFI_ERROR_WRONG_STATE);
    assert_refused(f, vfi_device_replace_pasid(f->dev, 3, hwpt, NULL, errp),
                   VFI_ERROR_WRONG_STATE);
    assert_refused(f, vfi_device_replace(f->dev, hwpt, NULL, errp), VFI_ERROR_WRONG_STATE);
    /* beyond the 20-bit width: one GET_HW_INFO, no attach */
    n = vfi_sim_op_count(f->sim, VFI_SIM_OP_DEVICE_ATTACH);
    assert_false(vfi_device_attach_pasid(f->dev, 1u << 20, hwpt, NULL, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    /* a device without PASID support */
    assert_ok(vfi_sim_set_device_max_pasid_log2(f->sim, "n0", 0, &err), err);
    assert_false(vfi_device_attach_pasid(f->dev, 1, hwpt, NULL, &err));
    assert_non_null(err);
    assert_non_null(strstr(err->message, "has no PASID support"));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_NOT_SUPPORTED);
    assert_int_equal(vfi_sim_op_count(f->sim, VFI_SIM_OP_DEVICE_ATTACH), n);
    assert_int_equal(vfi_device_get_pasid_pt(f->dev, 1), 0);
    assert_ok(vfi_iommufd_destroy(f->be, hwpt, &err), err);
    fix_free(f);
}

#if HAVE_IOMMU_HW_QUEUE_ALLOC
static int hwq_raw(Fix *f, uint32_t viommu, uint32_t type, uint32_t flags, uint64_t iova,
                   uint64_t length, uint32_t *id)
{
    struct iommu_hw_queue_alloc cmd = {
        .size = sizeof(cmd), .flags = flags, .viommu_id = viommu, .type = type,
        .nesting_parent_iova = iova, .length = length,
    };
    int ret = vfi_kernel_ioctl(vfi_iommufd_get_fd(f->be), IOMMU_HW_QUEUE_ALLOC, &cmd, "test");

    *id = cmd.out_hw_queue_id;
    return ret;
}

/* The model's answers the library refuses before (type 0, length 0) or the
 * shared scenario does not reach (bad vIOMMU, overflow, pages not readable
 * or not contiguous, unmap-all of pinned pages), as 7.3's
 * iommufd_hw_queue_alloc_ioctl() and iopt_unmap_iova_range(). */
static void test_hw_queue_raw(void **state)
{
    g_autoptr(GError) err = NULL;
    Fix *f = fix_new(true);
    VsPlatform p = platform(f);
    const uint32_t t = VFI_SIM_HW_QUEUE_TYPE_SELFTEST;
    const uint64_t iova = 0x20000000ull;
    uint8_t *buf = g_malloc0(4 * VS_PG + VS_PG);
    uint8_t *pg = (uint8_t *)(((uintptr_t)buf + VS_PG - 1) & ~(uintptr_t)(VS_PG - 1));
    uint32_t parent = 0, id = 0, id0 = 0, vid;
    VfiViommu *v;

    (void)state;
    /* two mappings whose "physical" pages (their VAs) are not adjacent */
    assert_ok(vfi_iommufd_ioas_map(f->be, f->ioas, iova, VS_PG, pg + 2 * VS_PG, false, &err), err);
    assert_ok(vfi_iommufd_ioas_map(f->be, f->ioas, iova + VS_PG, VS_PG, pg, false, &err), err);
    assert_ok(vfi_iommufd_hwpt_alloc(f->be, p.dev_id, f->ioas, IOMMU_HWPT_ALLOC_NEST_PARENT,
                                     IOMMU_HWPT_DATA_NONE, 0, NULL, &parent, &err), err);
    v = vfi_viommu_alloc(f->be, p.dev_id, parent, VFI_SIM_VIOMMU_TYPE_SELFTEST, NULL, 0, &err);
    assert_non_null(v);
    vid = vfi_viommu_get_id(v);
    assert_int_equal(hwq_raw(f, vid, 0, 0, iova, VS_PG, &id), -EOPNOTSUPP);
    assert_int_equal(hwq_raw(f, vid, t, 1, iova, VS_PG, &id), -EOPNOTSUPP);
    assert_int_equal(hwq_raw(f, vid, t, 0, iova, 0, &id), -EINVAL);
    assert_int_equal(hwq_raw(f, vid, t, 0, UINT64_MAX, 2, &id), -EOVERFLOW);
    assert_int_equal(hwq_raw(f, parent, t, 0, iova, VS_PG, &id), -ENOENT);
    assert_int_equal(hwq_raw(f, vid, t, 0, iova + VS_PG - 8, 16, &id), -EFAULT);
    assert_int_equal(hwq_raw(f, vid, t, 0, iova + VS_PG, VS_PG + 1, &id), -ENOENT);
    {   /* a mapping writeable only: the pin (flags 0, a read) EPERM */
        struct iommu_ioas_map m = {
            .size = sizeof(m), .ioas_id = f->ioas, .user_va = (uintptr_t)(pg + 3 * VS_PG),
            .length = VS_PG, .iova = iova + 8 * VS_PG,
            .flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE,
        };

        assert_int_equal(vfi_kernel_ioctl(vfi_iommufd_get_fd(f->be), IOMMU_IOAS_MAP, &m,
                                          "test"), 0);
        assert_int_equal(hwq_raw(f, vid, t, 0, iova + 8 * VS_PG, VS_PG, &id), -EPERM);
    }
    assert_int_equal(hwq_raw(f, vid, t, 0, iova + VS_PG, VS_PG, &id), 0);
    assert_false(vfi_iommufd_ioas_unmap(f->be, f->ioas, 0, UINT64_MAX, NULL, &err));
    assert_true(g_error_matches(err, VFI_KERNEL_ERROR, EBUSY));
    g_clear_error(&err);
    /* the walk unmapped the mapping before the pinned one, not the one after */
    assert_int_equal(hwq_raw(f, vid, t, 0, iova, VS_PG, &id0), -ENOENT);
    assert_int_equal(hwq_raw(f, vid, t, 0, iova + 8 * VS_PG, VS_PG, &id0), -EPERM);
    assert_ok(vfi_iommufd_destroy(f->be, id, &err), err);
    assert_ok(vfi_viommu_free(v, &err), err);
    assert_ok(vfi_iommufd_destroy(f->be, parent, &err), err);
    assert_ok(vfi_iommufd_ioas_unmap(f->be, f->ioas, 0, UINT64_MAX, NULL, &err), err);
    g_free(buf);
    fix_free(f);
}
#endif

/* The backend calls' refusals, before any ioctl. */
static void test_backend_refusals(void **state)
{
    g_autoptr(GError) err = NULL;
    Fix *f = fix_new(true);
    VfiSimHwptSelftest hd = { 0 };
    uint32_t done = 5, x = 1;

    (void)state;
    assert_refused(f, vfi_viommu_alloc(f->be, 1, 1, 0, NULL, 0, errp) != NULL,
                   VFI_ERROR_INVALID_ARGUMENT);
    assert_refused(f, vfi_viommu_alloc(f->be, 1, 1, 1, NULL, 8, errp) != NULL,
                   VFI_ERROR_INVALID_ARGUMENT);
    assert_refused(f, vfi_vdevice_alloc(NULL, 1, 1, errp) != NULL, VFI_ERROR_INVALID_ARGUMENT);
    assert_refused(f, vfi_nested_hwpt_alloc(f->be, 1, 1, 0, 0, IOMMU_HWPT_DATA_NONE, &hd,
                                            sizeof(hd), errp) != NULL,
                   VFI_ERROR_INVALID_ARGUMENT);
    assert_refused(f, vfi_nested_hwpt_alloc(f->be, 1, 1, IOMMU_HWPT_ALLOC_NEST_PARENT, 0,
                                            VFI_SIM_HWPT_DATA_SELFTEST, &hd, sizeof(hd),
                                            errp) != NULL, VFI_ERROR_INVALID_ARGUMENT);
    assert_refused(f, vfi_iommufd_invalidate(f->be, 1, 1, NULL, 8, 2, &done, errp),
                   VFI_ERROR_INVALID_ARGUMENT);
    assert_int_equal(done, 0);
    assert_refused(f, vfi_iommufd_invalidate(f->be, 1, 1, &x, 4, 1, NULL, errp),
                   VFI_ERROR_INVALID_ARGUMENT);
    assert_refused(f, vfi_veventq_alloc(NULL, 1, 1, 4, errp) != NULL,
                   VFI_ERROR_INVALID_ARGUMENT);
    assert_refused(f, vfi_veventq_read(NULL, NULL, NULL, errp), VFI_ERROR_INVALID_ARGUMENT);
    assert_refused(f, vfi_faultq_respond(NULL, 1, 0, errp), VFI_ERROR_INVALID_ARGUMENT);
    assert_refused(f, vfi_hw_queue_alloc(NULL, 1, 0, 0, 4096, errp) != NULL,
                   VFI_ERROR_INVALID_ARGUMENT);
    assert_true(vfi_viommu_free(NULL, &err) && vfi_vdevice_free(NULL, &err) &&
                vfi_nested_hwpt_free(NULL, &err) && vfi_veventq_free(NULL, &err) &&
                vfi_faultq_free(NULL, &err) && vfi_hw_queue_free(NULL, &err));
    fix_free(f);
}

#endif /* HAVE_IOMMU_VEVENTQ_ALLOC */

#if !HAVE_IOMMU_VEVENTQ_ALLOC
/* Headers without the newer requests (6.12's): every call of them refuses
 * with NOT_SUPPORTED before any ioctl; those 6.12 has (nested HWPT alloc,
 * HWPT_INVALIDATE, the fault queue) reach the model, which answers as its
 * IOMMU does (here: no nesting). */
static void test_old_headers(void **state)
{
    g_autoptr(GError) err = NULL;
    Fix *f = fix_new(true);
    uint32_t dev_id = vfi_device_get_devid(f->dev), done = 1;
    VfiFaultq *fq;

    (void)state;
    assert_refused(f, vfi_viommu_alloc(f->be, dev_id, 1, 1, NULL, 0, errp) != NULL,
                   VFI_ERROR_NOT_SUPPORTED);
    assert_refused(f, vfi_hw_queue_alloc(NULL, 1, 0, 0, 4096, errp) != NULL,
                   VFI_ERROR_NOT_SUPPORTED);
    assert_refused(f, vfi_device_attach_pasid(f->dev, 1, 1, NULL, errp),
                   VFI_ERROR_NOT_SUPPORTED);
    assert_refused(f, vfi_device_detach_pasid(f->dev, 1, errp), VFI_ERROR_NOT_SUPPORTED);
    assert_refused(f, vfi_nested_hwpt_alloc(f->be, dev_id, 1, 1u << 3, 0, 0xdead, &done,
                                            sizeof(done), errp) != NULL,
                   VFI_ERROR_NOT_SUPPORTED);
    /* a vIOMMU cannot be made, so its queues cannot be asked for */
    assert_refused(f, vfi_vdevice_alloc(NULL, dev_id, 1, errp) != NULL,
                   VFI_ERROR_NOT_SUPPORTED);
    assert_refused(f, vfi_veventq_alloc(NULL, 1, 1, 4, errp) != NULL,
                   VFI_ERROR_NOT_SUPPORTED);
    /* 6.12 has these: the model answers */
    assert_false(vfi_iommufd_invalidate(f->be, f->ioas, 1, NULL, 8, 0, &done, &err));
    assert_gerror(err, VFI_KERNEL_ERROR, EINVAL);
    fq = vfi_faultq_alloc(f->be, &err);
    assert_non_null(fq);
    assert_ok(vfi_faultq_free(fq, &err), err);
    fix_free(f);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
#if HAVE_IOMMU_VEVENTQ_ALLOC
        cmocka_unit_test(test_scenarios),
        cmocka_unit_test(test_fault_injection),
        cmocka_unit_test(test_vdevice_tombstone),
        cmocka_unit_test(test_no_nesting),
        cmocka_unit_test(test_pasid_refusals),
        cmocka_unit_test(test_backend_refusals),
#if HAVE_IOMMU_HW_QUEUE_ALLOC
        cmocka_unit_test(test_hw_queue_raw),
#endif
#else
        cmocka_unit_test(test_old_headers),
#endif
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
