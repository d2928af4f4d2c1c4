/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The guest program's scenarios of one area: the mock IOMMU: vIOMMU objects
 * (issue 13), the scenarios of viommu-scenarios.h. Part of tests/vm/guest-
 * tests.c, included by it at this place (not a header of its own): it uses
 * the TAP runner, Ctx and the helpers defined there before it, and the boot
 * tables there list its scenarios in their order.
 */
#ifndef VFI_GUEST_MOCK_VIOMMU_H
#define VFI_GUEST_MOCK_VIOMMU_H

/* ---- mock IOMMU: vIOMMU objects (issue 13), the shared scenarios -------- */

#ifdef IOMMU_VEVENTQ_ALLOC
/* The mock platform: a PASID-capable mock device per scenario, moved and
 * triggered by the mock's test ops. */
typedef struct MockVs {
    Ctx *c;
    uint32_t stdev, idev;
} MockVs;

static bool mock_op(MockVs *m, struct iommu_test_cmd *cmd, const char *what, GError **errp)
{
    int ret = test_cmd(m->c, cmd);

    if (ret) {
        g_set_error(errp, VFI_KERNEL_ERROR, -ret, "%s: %s", what, g_strerror(-ret));
    }
    return ret == 0;
}

static bool mvs_replace(void *opaque, uint32_t pt, GError **errp)
{
    MockVs *m = opaque;
    struct iommu_test_cmd cmd = {
        .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, .id = m->stdev,
        .mock_domain_replace.pt_id = pt,
    };

    return mock_op(m, &cmd, "IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE", errp);
}

static bool mvs_pasid(void *opaque, int op, uint32_t pasid, uint32_t pt, GError **errp)
{
    MockVs *m = opaque;
    struct iommu_test_cmd cmd = { .id = m->stdev };

    cmd.op = op == 0 ? IOMMU_TEST_OP_PASID_ATTACH : op == 1 ? IOMMU_TEST_OP_PASID_REPLACE :
             IOMMU_TEST_OP_PASID_DETACH;
    cmd.pasid_attach.pasid = pasid;
    cmd.pasid_attach.pt_id = pt;
    return mock_op(m, &cmd, "IOMMU_TEST_OP_PASID_*", errp);
}

static bool mvs_vevent(void *opaque, GError **errp)
{
    MockVs *m = opaque;
    struct iommu_test_cmd cmd = {
        .op = IOMMU_TEST_OP_TRIGGER_VEVENT, .trigger_vevent.dev_id = m->idev,
    };

    return mock_op(m, &cmd, "IOMMU_TEST_OP_TRIGGER_VEVENT", errp);
}

static bool mvs_iopf(void *opaque, uint32_t pasid, uint32_t grpid, uint32_t perm,
                     uint64_t addr, GError **errp)
{
    MockVs *m = opaque;
    struct iommu_test_cmd cmd = {
        .op = IOMMU_TEST_OP_TRIGGER_IOPF,
        .trigger_iopf = { .dev_id = m->idev, .pasid = pasid, .grpid = grpid, .perm = perm,
                          .addr = addr },
    };

    return mock_op(m, &cmd, "IOMMU_TEST_OP_TRIGGER_IOPF", errp);
}

static bool mvs_iotlb_is(void *opaque, uint32_t hwpt, unsigned i, uint32_t want)
{
    MockVs *m = opaque;
    struct iommu_test_cmd cmd = {
        .op = IOMMU_TEST_OP_MD_CHECK_IOTLB, .id = hwpt,
        .check_iotlb = { .id = i, .iotlb = want },
    };

    return test_cmd(m->c, &cmd) == 0;
}

static bool mvs_cache_is(void *opaque, uint32_t vdev, unsigned i, uint32_t want)
{
    MockVs *m = opaque;
    struct iommu_test_cmd cmd = {
        .op = IOMMU_TEST_OP_DEV_CHECK_CACHE, .id = m->idev,
        .check_dev_cache = { .id = i, .cache = want },
    };

    (void)vdev;
    return test_cmd(m->c, &cmd) == 0;
}

/* Free in the mock IOAS (MOCK_IOVA's pages are below), inside the aperture. */
#define MOCK_VS_FREE_IOVA 0x10000000ull

/* Scenario @i of viommu-scenarios.h on a new PASID-capable mock device on
 * the mock IOAS (destroyed after it): the same function, the same
 * assertions as test-viommu on the model. */
static TResult mock_vs(Ctx *c, size_t i)
{
    MockVs m = { .c = c };
    VsPlatform p = {
        .be = c->be, .ioas = c->mock_ioas, .home_pt = c->mock_ioas, .opaque = &m,
        .replace = mvs_replace, .pasid = mvs_pasid, .trigger_vevent = mvs_vevent,
        .trigger_iopf = mvs_iopf, .iotlb_is = mvs_iotlb_is, .dev_cache_is = mvs_cache_is,
        .free_iova = MOCK_VS_FREE_IOVA,
    };
    const char *why;
    int ret;

    NEED_MOCK();
    ret = mock_domain(c, c->mock_ioas, MOCK_FLAGS_DEVICE_PASID, &m.stdev, NULL, &m.idev);
    CHECK(ret == 0, "PASID-capable mock device: %s", g_strerror(-ret));
    p.dev_id = m.idev;
    why = vs_run(&p, &vs_scenarios[i]);
    OK(vfi_iommufd_destroy(c->be, m.stdev, errp));
    CHECK(!why, "%s", why);
    return T_PASS;
}
#define MOCK_VS(n, i) static TResult n(Ctx *c) { return mock_vs(c, i); }
#else
#define MOCK_VS(n, i) static TResult n(Ctx *c)                                \
    {                                                                          \
        NEED_MOCK();                                                           \
        SKIP("needs Linux 6.15 UAPI headers: built without IOMMU_VEVENTQ_ALLOC, "   \
             "IOMMU_VIOMMU_ALLOC and the PASID attach (6.12's have none)");   \
    }
#endif
MOCK_VS(t_mock_vs_nested, 0)
MOCK_VS(t_mock_vs_invalidate, 1)
MOCK_VS(t_mock_vs_veventq, 2)
MOCK_VS(t_mock_vs_fault, 3)
MOCK_VS(t_mock_vs_pasid, 4)
MOCK_VS(t_mock_vs_pasid_nested, 5)

/* IOMMU_HW_QUEUE_ALLOC (6.17): vs_hw_queue of viommu-scenarios.h, the
 * same assertions as test-viommu on the model. */
#if defined(IOMMU_VEVENTQ_ALLOC) && defined(IOMMU_HW_QUEUE_ALLOC)
MOCK_VS(t_mock_hw_queue, 6)
#else
static TResult t_mock_hw_queue(Ctx *c)
{
    NEED_MOCK();
    SKIP("needs Linux 6.17 UAPI headers: no IOMMU_HW_QUEUE_ALLOC");
}
#endif

#endif /* VFI_GUEST_MOCK_VIOMMU_H */
