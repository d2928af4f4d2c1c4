/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Nest parents in userspace auto domains (docs/nesting.md, "Nest-parent
 * placement"), on the kernel model: a device the VMM asks a nest parent for
 * gets IOMMU_HWPT_ALLOC_NEST_PARENT, with DIRTY_TRACKING where the coverage
 * rule gives it IOMMU tracking; the pair refused (EOPNOTSUPP as ARM SMMUv3,
 * or EINVAL) is retried as NEST_PARENT alone and recorded (coverage,
 * report, blocker), and not asked again for the same fingerprint; the flag
 * rule both ways; the VT-d erratum 772415 (read-only mappings) refused
 * before any ioctl, or mapped read-write when the VMM opted in; migration
 * through a tracked nest parent; every ioctl of nest-parent attaches
 * failed in turn, leaving nothing behind.
 */
#include "test-container-helpers.h"
#include "vfio-iommufd/dirty.h"

#define NEST IOMMU_HWPT_ALLOC_NEST_PARENT
#define DIRTY IOMMU_HWPT_ALLOC_DIRTY_TRACKING
#define PG 4096u

static uint8_t buf[16 * PG] __attribute__((aligned(4096)));

/*
 * vtd: Intel-like, the pair taken, the erratum; smmu: the pair refused with
 * EOPNOTSUPP (ARM SMMUv3); einval: refused with EINVAL; plain: nesting
 * without dirty tracking; nonest: dirty tracking without nesting (QEMU's
 * VT-d has neither).
 */
static const char topo[] =
    "[iommu vtd]\ndirty-tracking=true\nnesting=true\nvtd-errata-772415=true\n"
    "[iommu smmu]\ndirty-tracking=true\nnesting=true\ndirty-nest-parent=EOPNOTSUPP\n"
    "[iommu einval]\ndirty-tracking=true\nnesting=true\ndirty-nest-parent=EINVAL\n"
    "[iommu plain]\ndirty-tracking=false\nnesting=true\n"
    "[iommu nonest]\ndirty-tracking=true\n"
    "[device v0]\niommu=vtd\n[device v1]\niommu=vtd\n[device v2]\niommu=vtd\n"
    "[device s0]\niommu=smmu\n[device s1]\niommu=smmu\n"
    "[device e0]\niommu=einval\n[device p0]\niommu=plain\n[device n0]\niommu=nonest\n";

static const VfiAttachOptions nest_opts = VFI_ATTACH_OPTIONS_INIT(.nest_parent = true);

static void set_nesting(Fixture *f, bool nest, bool ro_rw)
{
    g_autoptr(GError) err = NULL;
    VfiNestingOptions o = { .nest_parent = nest, .readonly_as_writeable = ro_rw };

    assert_ok(vfi_address_space_set_nesting(f->as, &o, &err), err);
}

static uint32_t flags_of(Fixture *f, const char *name)
{
    VfiHwpt *h = vfi_device_get_hwpt(fdev(f, name));

    assert_non_null(h);
    return vfi_hwpt_get_flags(h);
}

static void expect_cov(Fixture *f, const char *name, VfiDirtyCoverage cov,
                       VfiUntrackedReason why)
{
    VfiUntrackedReason r = VFI_COVERED;

    assert_int_equal(vfi_device_dirty_coverage(fdev(f, name), &r), cov);
    assert_int_equal(r, why);
}

static uint64_t op(Fixture *f, VfiSimOp o)
{
    return vfi_sim_op_count(f->sim, o);
}

/* The address space's request: NEST_PARENT | DIRTY_TRACKING where the pair
 * is taken, shared by the devices of the IOMMU; NEST_PARENT alone for an
 * IOMMU without dirty tracking. */
static void test_nest_parent_with_dirty(void **state)
{
    Fixture *f = fixture_new(topo);

    set_nesting(f, true, false);
    attach_ok(f, "v0", NULL);
    assert_int_equal(flags_of(f, "v0"), NEST | DIRTY);
    expect_cov(f, "v0", VFI_DIRTY_COVERAGE_IOMMU, VFI_COVERED);
    attach_ok(f, "v1", NULL);
    assert_ptr_equal(vfi_device_get_hwpt(fdev(f, "v1")), vfi_device_get_hwpt(fdev(f, "v0")));
    assert_int_equal(vfi_device_get_attach_attempts(fdev(f, "v1")), 1);
    attach_ok(f, "p0", NULL);
    assert_int_equal(flags_of(f, "p0"), NEST);
    expect_cov(f, "p0", VFI_DIRTY_COVERAGE_NONE, VFI_UNTRACKED_NO_IOMMU_CAP);
    assert_int_equal(vfi_address_space_container_count(f->as), 1);
    assert_int_equal(vfi_container_hwpt_count(vfi_address_space_container(f->as, 0)), 2);
    check_consistent(f);
    fixture_free(f);
}

/* The per-device form, and the VMM's opt-out: a nest parent without the
 * dirty flag. set_nesting only while the address space has no container. */
static void test_nest_parent_per_device(void **state)
{
    Fixture *f = fixture_new(topo);
    VfiAttachOptions opt_out =
        VFI_ATTACH_OPTIONS_INIT(.nest_parent = true, .no_iommu_dirty_tracking = true);
    VfiNestingOptions o = { .nest_parent = true };
    g_autoptr(GError) err = NULL;
    uint64_t n;

    attach_ok(f, "v0", &nest_opts);
    assert_int_equal(flags_of(f, "v0"), NEST | DIRTY);
    attach_ok(f, "v1", &opt_out);
    assert_int_equal(flags_of(f, "v1"), NEST);
    expect_cov(f, "v1", VFI_DIRTY_COVERAGE_NONE, VFI_UNTRACKED_VMM_OPT_OUT);
    n = vfi_sim_ioctl_count(f->sim);
    assert_false(vfi_address_space_set_nesting(f->as, &o, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    assert_int_equal(vfi_sim_ioctl_count(f->sim), n);
    check_consistent(f);
    fixture_free(f);
}

/* The flag rule both ways: a nest parent never joins a plain HWPT, a plain
 * device never joins a nest parent (same IOMMU, same flags otherwise). */
static void test_flag_rule(void **state)
{
    Fixture *f = fixture_new(topo);
    VfiHwpt *plain, *nest;

    attach_ok(f, "v0", NULL);
    plain = vfi_device_get_hwpt(fdev(f, "v0"));
    assert_int_equal(vfi_hwpt_get_flags(plain), DIRTY);
    attach_ok(f, "v1", &nest_opts);
    nest = vfi_device_get_hwpt(fdev(f, "v1"));
    assert_ptr_not_equal(nest, plain);
    assert_int_equal(vfi_hwpt_get_flags(nest), NEST | DIRTY);
    /* not even tried: the plain HWPT is no candidate */
    assert_int_equal(vfi_device_get_attach_attempts(fdev(f, "v1")), 1);
    attach_ok(f, "v2", NULL);
    assert_ptr_equal(vfi_device_get_hwpt(fdev(f, "v2")), plain);
    assert_int_equal(vfi_device_get_attach_attempts(fdev(f, "v2")), 1);
    /* the plain one gone, a plain device still makes its own */
    detach_ok(f, "v0");
    detach_ok(f, "v2");
    attach_ok(f, "v0", NULL);
    assert_ptr_not_equal(vfi_device_get_hwpt(fdev(f, "v0")), nest);
    assert_int_equal(flags_of(f, "v0"), DIRTY);
    check_consistent(f);
    fixture_free(f);
}

/* Which device of a report is @name. */
static const VfiDirtyDeviceReport *report_of(const VfiDirtyDeviceReport *r, unsigned n,
                                             Fixture *f, const char *name)
{
    for (unsigned i = 0; i < n; i++) {
        if (r[i].device == fdev(f, name)) {
            return &r[i];
        }
    }
    fail_msg("%s not in the report", name);
    return NULL;
}

/* The pair refused: retried as NEST_PARENT alone, the reason in the
 * coverage, the report and the blocker; the next device of the same
 * fingerprint is not asked again; the refusal goes with the memo. */
static void test_pair_refused(void **state)
{
    Fixture *f = fixture_new(topo);
    g_autofree VfiDirtyDeviceReport *rep = NULL;
    g_autofree char *blocker = NULL;
    uint64_t allocs = op(f, VFI_SIM_OP_HWPT_ALLOC);
    unsigned n = 0;

    set_nesting(f, true, false);
    attach_ok(f, "s0", NULL);
    assert_int_equal(op(f, VFI_SIM_OP_HWPT_ALLOC) - allocs, 2);     /* the pair, then alone */
    assert_int_equal(flags_of(f, "s0"), NEST);
    expect_cov(f, "s0", VFI_DIRTY_COVERAGE_NONE, VFI_UNTRACKED_NEST_PARENT_REFUSED);
    allocs = op(f, VFI_SIM_OP_HWPT_ALLOC);
    attach_ok(f, "s1", NULL);
    assert_int_equal(op(f, VFI_SIM_OP_HWPT_ALLOC) - allocs, 0);     /* remembered */
    assert_ptr_equal(vfi_device_get_hwpt(fdev(f, "s1")), vfi_device_get_hwpt(fdev(f, "s0")));
    assert_int_equal(vfi_device_get_attach_attempts(fdev(f, "s1")), 1);
    expect_cov(f, "s1", VFI_DIRTY_COVERAGE_NONE, VFI_UNTRACKED_NEST_PARENT_REFUSED);
    /* EINVAL for the pair: the same */
    attach_ok(f, "e0", NULL);
    assert_int_equal(flags_of(f, "e0"), NEST);
    expect_cov(f, "e0", VFI_DIRTY_COVERAGE_NONE, VFI_UNTRACKED_NEST_PARENT_REFUSED);
    attach_ok(f, "v0", NULL);
    expect_cov(f, "v0", VFI_DIRTY_COVERAGE_IOMMU, VFI_COVERED);
    assert_int_equal(vfi_address_space_container_count(f->as), 1);

    rep = vfi_address_space_dirty_report(f->as, &n);
    assert_int_equal(n, 4);
    assert_int_equal(report_of(rep, n, f, "s0")->reason, VFI_UNTRACKED_NEST_PARENT_REFUSED);
    assert_int_equal(report_of(rep, n, f, "v0")->coverage, VFI_DIRTY_COVERAGE_IOMMU);
    blocker = vfi_address_space_migration_blocker(f->as);
    assert_non_null(blocker);
    assert_non_null(strstr(blocker, "3 devices"));
    assert_non_null(strstr(blocker, vfi_untracked_reason_str(VFI_UNTRACKED_NEST_PARENT_REFUSED)));
    assert_non_null(strstr(blocker, vfi_device_get_display_name(fdev(f, "s1"))));
    assert_null(strstr(blocker, vfi_device_get_display_name(fdev(f, "v0"))));
    assert_non_null(strstr(vfi_untracked_reason_str(VFI_UNTRACKED_NEST_PARENT_REFUSED),
                           "NEST_PARENT"));

    /* the smmu HWPT gone, the container keeps its memo while it has HWPTs
     * (v0's, e0's): the refusal holds */
    detach_ok(f, "s0");
    detach_ok(f, "s1");
    allocs = op(f, VFI_SIM_OP_HWPT_ALLOC);
    attach_ok(f, "s0", NULL);
    assert_int_equal(op(f, VFI_SIM_OP_HWPT_ALLOC) - allocs, 1);     /* NEST alone at once */
    /* everything gone: a new container asks again */
    detach_ok(f, "s0");
    detach_ok(f, "e0");
    detach_ok(f, "v0");
    assert_int_equal(vfi_address_space_container_count(f->as), 0);
    allocs = op(f, VFI_SIM_OP_HWPT_ALLOC);
    attach_ok(f, "s0", NULL);
    assert_int_equal(op(f, VFI_SIM_OP_HWPT_ALLOC) - allocs, 2);
    check_consistent(f);
    fixture_free(f);
}

/* An IOMMU without nesting: the attach fails (never a plain HWPT instead),
 * with the kernel's EOPNOTSUPP and a message that says so; nothing left. */
static void test_nesting_unsupported(void **state)
{
    Fixture *f = fixture_new(topo);
    g_autoptr(GError) err = NULL;

    set_nesting(f, true, false);
    assert_false(vfi_address_space_attach_device(f->as, f->be, fdev(f, "n0"), NULL, &err));
    assert_gerror(err, VFI_KERNEL_ERROR, EOPNOTSUPP);
    assert_null(vfi_device_get_container(fdev(f, "n0")));
    assert_int_equal(vfi_address_space_container_count(f->as), 0);
    check_consistent(f);
    g_clear_error(&err);
    assert_false(vfi_address_space_attach_device(f->as, f->be, fdev(f, "n0"), NULL, &err));
    assert_non_null(strstr(err->message, "nest-parent"));
    check_consistent(f);
    fixture_free(f);
}

/* The erratum without the opt-in: read-only maps refused before any ioctl
 * where a nest parent has it; a nest parent with it refused where
 * read-only mappings are (the address space's before any attach ioctl; a
 * container's own: that container does not take it). */
static void test_erratum_refused(void **state)
{
    Fixture *f = fixture_new(topo);
    g_autoptr(GError) err = NULL;
    VfiContainer *c;
    uint64_t n, attaches;

    set_nesting(f, true, false);
    attach_ok(f, "v0", NULL);
    c = vfi_device_get_container(fdev(f, "v0"));
    n = vfi_sim_ioctl_count(f->sim);
    assert_false(vfi_address_space_dma_map(f->as, 0x100000, PG, buf, true, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_container_dma_map(c, 0x100000, PG, buf, true, &err));
    assert_non_null(strstr(err->message, "772415"));
    assert_non_null(strstr(err->message, "readonly_as_writeable"));
    g_clear_error(&err);
    assert_int_equal(vfi_sim_ioctl_count(f->sim), n);
    assert_int_equal(vfi_address_space_mapping_count(f->as), 0);
    /* read-write is fine */
    assert_ok(vfi_address_space_dma_map(f->as, 0x100000, PG, buf, false, &err), err);
    /* the model holds the erratum too: a raw read-only map is EINVAL */
    assert_false(vfi_iommufd_ioas_map(f->be, vfi_container_get_ioas_id(c), 0x200000, PG, buf,
                                      true, &err));
    assert_gerror(err, VFI_KERNEL_ERROR, EINVAL);
    detach_ok(f, "v0");
    assert_ok(vfi_address_space_dma_unmap(f->as, 0x100000, PG, 0, &err), err);

    /* the address space's read-only mapping first: the nest parent refused */
    assert_ok(vfi_address_space_dma_map(f->as, 0x100000, PG, buf, true, &err), err);
    n = vfi_sim_ioctl_count(f->sim);
    attaches = op(f, VFI_SIM_OP_DEVICE_ATTACH) + op(f, VFI_SIM_OP_HWPT_ALLOC) +
               op(f, VFI_SIM_OP_IOAS_ALLOC);
    assert_false(vfi_address_space_attach_device(f->as, f->be, fdev(f, "v0"), NULL, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    assert_int_equal(op(f, VFI_SIM_OP_DEVICE_ATTACH) + op(f, VFI_SIM_OP_HWPT_ALLOC) +
                     op(f, VFI_SIM_OP_IOAS_ALLOC), attaches);
    assert_true(vfi_sim_ioctl_count(f->sim) - n <= 2);     /* hw info, DMA-logging probe */
    check_consistent(f);
    /* a device without the erratum is no trouble (s0: SMMU) */
    attach_ok(f, "s0", NULL);
    detach_ok(f, "s0");
    assert_ok(vfi_address_space_dma_unmap(f->as, 0x100000, PG, 0, &err), err);

    /* a container's own read-only mapping: that container does not take it */
    {
        VfiAttachOptions plain = VFI_ATTACH_OPTIONS_INIT();

        attach_ok(f, "p0", &plain);
    }
    c = vfi_device_get_container(fdev(f, "p0"));
    assert_ok(vfi_container_dma_map(c, 0x300000, PG, buf, true, &err), err);
    attach_ok(f, "v0", NULL);
    assert_ptr_not_equal(vfi_device_get_container(fdev(f, "v0")), c);
    assert_int_equal(vfi_address_space_container_count(f->as), 2);
    check_consistent(f);
    assert_ok(vfi_container_dma_unmap(c, 0x300000, PG, 0, NULL, &err), err);
    fixture_free(f);
}

/* The opt-in: read-only requests made read-write where the erratum forbids
 * them (the model would refuse them otherwise), and the records say so. */
static void test_erratum_opt_in(void **state)
{
    Fixture *f = fixture_new(topo);
    g_autoptr(GError) err = NULL;
    VfiMappingInfo mi;
    VfiContainer *c;

    set_nesting(f, true, true);
    /* before any container: replayed read-write into the one made for v0 */
    assert_ok(vfi_address_space_dma_map(f->as, 0x100000, PG, buf, true, &err), err);
    attach_ok(f, "v0", NULL);
    c = vfi_device_get_container(fdev(f, "v0"));
    assert_true(vfi_container_mapping(c, 0, &mi));
    assert_false(mi.readonly);
    assert_true(vfi_address_space_mapping(f->as, 0, &mi));
    assert_true(mi.readonly);
    /* after: made read-write too */
    assert_ok(vfi_address_space_dma_map(f->as, 0x200000, PG, buf + PG, true, &err), err);
    assert_true(vfi_container_mapping(c, 1, &mi));
    assert_false(mi.readonly);
    assert_ok(vfi_container_dma_map(c, 0x300000, PG, buf + 2 * PG, true, &err), err);
    assert_int_equal(vfi_sim_ioas_mapping_count(f->sim, vfi_iommufd_get_fd(f->be),
                                                vfi_container_get_ioas_id(c)), 3);
    /* a device without the erratum beside it changes nothing */
    attach_ok(f, "v1", NULL);
    check_consistent(f);
    assert_ok(vfi_container_dma_unmap(c, 0x300000, PG, 0, NULL, &err), err);
    assert_ok(vfi_address_space_dma_unmap(f->as, 0x100000, 0x200000, 0, &err), err);
    fixture_free(f);
}

/* Migration through a tracked nest parent: the guest's first stage is not
 * the IOMMU's business here; DMA into the second stage is read by a sync,
 * and an unmap reads the range (NO_CLEAR) before it goes. */
static void test_migration(void **state)
{
    Fixture *f = fixture_new(topo);
    g_autoptr(GError) err = NULL;
    uint64_t bits[1] = { 0 };
    VfiDirtyLog log = { .base_iova = 0x100000, .page_size = PG, .bitmap = bits,
                        .nr_pages = 16 };
    uint64_t reads;

    set_nesting(f, true, false);
    attach_ok(f, "v0", NULL);
    attach_ok(f, "s0", NULL);
    assert_ok(vfi_address_space_dma_map(f->as, 0x100000, 16 * PG, buf, false, &err), err);
    assert_ok(vfi_address_space_dirty_tracking_start(f->as, &err), err);
    assert_true(vfi_hwpt_dirty_tracking_is_on(vfi_device_get_hwpt(fdev(f, "v0"))));
    assert_false(vfi_hwpt_dirty_tracking_is_on(vfi_device_get_hwpt(fdev(f, "s0"))));
    assert_ok(vfi_sim_dma_write(f->sim, "v0", 0x100000 + 2 * PG, PG, &err), err);
    assert_ok(vfi_address_space_sync_dirty(f->as, &log, &err), err);
    assert_int_equal(bits[0], 1u << 2);
    bits[0] = 0;
    assert_ok(vfi_sim_dma_write(f->sim, "v0", 0x100000 + 5 * PG, PG, &err), err);
    reads = op(f, VFI_SIM_OP_HWPT_GET_DIRTY_BITMAP);
    assert_ok(vfi_address_space_dma_unmap_dirty(f->as, 0x100000, 16 * PG, &log, 0, &err),
              err);
    assert_true(op(f, VFI_SIM_OP_HWPT_GET_DIRTY_BITMAP) > reads);
    assert_int_equal(bits[0], 1u << 5);
    expect_cov(f, "s0", VFI_DIRTY_COVERAGE_NONE, VFI_UNTRACKED_NEST_PARENT_REFUSED);
    assert_ok(vfi_address_space_dirty_tracking_stop(f->as, &err), err);
    check_consistent(f);
    fixture_free(f);
}

/* ---- faults ------------------------------------------------------------ */

typedef struct FaultCase {
    const char *name;
    const char *first;          /* attached before, or NULL */
    const char *dev;            /* the attach whose ioctls fail */
    bool ro_mapped;             /* an address-space read-only mapping (opt-in) */
} FaultCase;

static const FaultCase fault_cases[] = {
    { "vtd pair", NULL, "v0", false },
    { "vtd pair joins", "v0", "v1", false },
    { "smmu pair refused, retried", NULL, "s0", false },
    { "smmu refusal remembered", "s0", "s1", false },
    { "einval pair refused, retried", "v0", "e0", false },
    { "vtd pair, read-only mapping replayed read-write", NULL, "v0", true },
};

static void fault_setup(Fixture *f, const FaultCase *fc)
{
    g_autoptr(GError) err = NULL;

    set_nesting(f, true, fc->ro_mapped);
    assert_ok(vfi_address_space_dma_map(f->as, 0x100000, 4 * PG, buf, fc->ro_mapped, &err),
              err);
    if (fc->first) {
        attach_ok(f, fc->first, NULL);
    }
}

/* After a step that succeeded under an injected fault: the flag rule. */
static void fault_check_placed(Fixture *f, const FaultCase *fc)
{
    VfiUntrackedReason why;
    VfiDirtyCoverage cov = vfi_device_dirty_coverage(fdev(f, fc->dev), &why);
    uint32_t fl = flags_of(f, fc->dev);

    assert_true(fl & NEST);
    assert_int_equal(!!(fl & DIRTY), cov == VFI_DIRTY_COVERAGE_IOMMU);
    assert_true(cov == VFI_DIRTY_COVERAGE_IOMMU || why == VFI_UNTRACKED_NEST_PARENT_REFUSED);
    for (unsigned i = 0; i < vfi_address_space_container_count(f->as); i++) {
        VfiContainer *c = vfi_address_space_container(f->as, i);

        for (unsigned j = 0; j < vfi_container_hwpt_count(c); j++) {
            assert_true(vfi_hwpt_device_count(vfi_container_hwpt(c, j)) > 0);
        }
    }
}

static void fault_run(const FaultCase *fc)
{
    static const int errnos[] = { EINVAL, ENOMEM, EBUSY, EOPNOTSUPP, EADDRINUSE };
    g_autoptr(GError) err = NULL;
    unsigned containers;
    uint64_t n, before;
    Fixture *f = fixture_new(topo);

    fault_setup(f, fc);
    before = vfi_sim_ioctl_count(f->sim);
    attach_ok(f, fc->dev, NULL);
    n = vfi_sim_ioctl_count(f->sim) - before;
    fault_check_placed(f, fc);
    fixture_free(f);
    for (uint64_t k = 1; k <= n; k++) {
        for (unsigned e = 0; e < G_N_ELEMENTS(errnos); e++) {
            f = fixture_new(topo);
            fault_setup(f, fc);
            containers = vfi_address_space_container_count(f->as);
            vfi_sim_fail_nth(f->sim, (unsigned)k, errnos[e]);
            if (vfi_address_space_attach_device(f->as, f->be, fdev(f, fc->dev), NULL, &err)) {
                vfi_sim_fail_clear(f->sim);
                assert_true(errnos[e] == EINVAL || errnos[e] == EOPNOTSUPP ||
                            errnos[e] == EADDRINUSE);
                fault_check_placed(f, fc);
            } else {
                vfi_sim_fail_clear(f->sim);
                if (!g_error_matches(err, VFI_KERNEL_ERROR, errnos[e])) {
                    fail_msg("%s: ioctl %" PRIu64 "/%" PRIu64 " failing with %s: got %s",
                             fc->name, k, n, g_strerror(errnos[e]), err->message);
                }
                g_clear_error(&err);
                assert_null(vfi_device_get_container(fdev(f, fc->dev)));
                assert_int_equal(vfi_address_space_container_count(f->as), containers);
            }
            check_consistent(f);
            assert_ok(vfi_address_space_dma_unmap(f->as, 0x100000, 4 * PG, 0, &err), err);
            fixture_free(f);
        }
    }
}

static void test_faults(void **state)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(fault_cases); i++) {
        print_message("case: %s\n", fault_cases[i].name);
        fault_run(&fault_cases[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nest_parent_with_dirty),
        cmocka_unit_test(test_nest_parent_per_device),
        cmocka_unit_test(test_flag_rule),
        cmocka_unit_test(test_pair_refused),
        cmocka_unit_test(test_nesting_unsupported),
        cmocka_unit_test(test_erratum_refused),
        cmocka_unit_test(test_erratum_opt_in),
        cmocka_unit_test(test_migration),
        cmocka_unit_test(test_faults),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
