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

/* A refused call: VFI_ERROR @code and no ioctl. */
#define assert_refused(f, call, code) do {                                   \
        g_autoptr(GError) e_ = NULL;                                         \
        uint64_t n_ = vfi_sim_ioctl_count((f)->sim);                        \
        GError **errp = &e_;                                                 \
        assert_false(call);                                                  \
        assert_gerror(e_, VFI_ERROR, (code));                               \
        assert_int_equal(vfi_sim_ioctl_count((f)->sim), n_);               \
    } while (0)

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

    vfi_device_free(f->dev);
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

#endif /* HAVE_IOMMU_VEVENTQ_ALLOC */

int main(void)
{
    const struct CMUnitTest tests[] = {
#if HAVE_IOMMU_VEVENTQ_ALLOC
        cmocka_unit_test(test_scenarios),
        cmocka_unit_test(test_fault_injection),
#endif
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
