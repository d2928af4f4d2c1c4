/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What placement remembers of the kernel's answers (placement-memo.c):
 * fingerprints with the IOMMU instance from sysfs, two instances with the
 * same hw info never refused each other's own HWPTs, a device of unknown
 * instance never skips a HWPT, records going with their HWPT, and every
 * decision traced.
 */
#include <fcntl.h>
#include <stdio.h>

#include "test-container-helpers.h"
#include "util/kernel-internal.h"
#include "vfio-iommufd/trace.h"
#include "hw/vfio/device/device-internal.h"

/* Three dirty instances A, B, C of one model (the same hw info), devices
 * a0 a1 (A), b0 b1 b2 (B), c0 (C), in that order of addition. */
static Fixture *same_model_fixture(void)
{
    static const char *const iommus[] = { "A", "B", "C" };
    static const char *const devs[][2] = {
        { "a0", "A" }, { "a1", "A" }, { "b0", "B" }, { "b1", "B" }, { "b2", "B" },
        { "c0", "C" },
    };
    g_autoptr(GError) err = NULL;
    Fixture *f = fixture_new("");

    for (unsigned i = 0; i < G_N_ELEMENTS(iommus); i++) {
        VfiSimIommuConfig cfg = { .dirty_tracking = true, .cap_reg = 0x00d2008c40660462,
                                  .ecap_reg = 0xf050da };

        assert_ok(vfi_sim_add_iommu(f->sim, iommus[i], &cfg, &err), err);
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(devs); i++) {
        assert_ok(vfi_sim_add_device(f->sim, devs[i][0], devs[i][1], false, &err), err);
        f->names[i] = devs[i][0];
        f->devs[i] = vfi_device_open_sysfs(vfi_sim_device_sysfs_path(f->sim, devs[i][0]),
                                            &err);
        assert_ok(f->devs[i] != NULL, err);
    }
    f->ndevs = G_N_ELEMENTS(devs);
    return f;
}

static VfiHwpt *hwpt_of(Fixture *f, const char *name)
{
    return vfi_device_get_hwpt(fdev(f, name));
}

static unsigned attempts(Fixture *f, const char *name)
{
    return vfi_device_get_attach_attempts(fdev(f, name));
}

static unsigned hwpt_count(Fixture *f)
{
    return vfi_container_hwpt_count(vfi_address_space_container(f->as, 0));
}

/* The device layer reads the instance from the sysfs iommu link. */
static void test_instance_from_sysfs(void **state)
{
    Fixture *f = same_model_fixture();
    const char *a0 = vfi_device_get_iommu_instance(fdev(f, "a0"));
    const char *a1 = vfi_device_get_iommu_instance(fdev(f, "a1"));
    const char *b0 = vfi_device_get_iommu_instance(fdev(f, "b0"));

    assert_non_null(a0);
    assert_non_null(b0);
    assert_string_equal(a0, a1);
    assert_string_not_equal(a0, b0);
    assert_true(g_str_has_suffix(a0, "/iommu/A"));
    assert_true(g_str_has_suffix(b0, "/iommu/B"));
    fixture_free(f);
}

/*
 * A refusal of B's device by A's HWPT is not held against B's own HWPT or
 * B's other devices (same hw info, other instance); once proved bound to
 * its instance, the model's HWPTs of other instances are skipped.
 */
static void test_two_instances_same_hw_info(void **state)
{
    Fixture *f = same_model_fixture();

    attach_ok(f, "a0", NULL);                 /* new HWPT 0 */
    assert_int_equal(attempts(f, "a0"), 1);
    attach_ok(f, "b0", NULL);                 /* HWPT 0 refuses it: new HWPT 1 */
    assert_int_equal(attempts(f, "b0"), 2);
    assert_ptr_not_equal(hwpt_of(f, "b0"), hwpt_of(f, "a0"));
    attach_ok(f, "b1", NULL);                 /* remembered: HWPT 1 first */
    assert_int_equal(attempts(f, "b1"), 1);
    assert_ptr_equal(hwpt_of(f, "b1"), hwpt_of(f, "b0"));
    attach_ok(f, "a1", NULL);
    assert_int_equal(attempts(f, "a1"), 1);
    assert_ptr_equal(hwpt_of(f, "a1"), hwpt_of(f, "a0"));
    attach_ok(f, "c0", NULL);                 /* bound: HWPTs 0 and 1 skipped */
    assert_int_equal(attempts(f, "c0"), 1);
    assert_int_equal(hwpt_count(f), 3);
    /* b2 never tried HWPT 0, and is not kept from HWPT 1 */
    attach_ok(f, "b2", NULL);
    assert_int_equal(attempts(f, "b2"), 1);
    assert_ptr_equal(hwpt_of(f, "b2"), hwpt_of(f, "b0"));
    check_consistent(f);
    fixture_free(f);
}

/* A device opened from an fd alone: the instance is unknown. Its refusals
 * only order the candidates; it is never kept from a HWPT. */
static VfiDevice *open_fd_only(Fixture *f, unsigned index, int *fd)
{
    g_autofree char *node = g_strdup_printf("/dev/vfio/devices/vfio%u", index);
    g_autoptr(GError) err = NULL;
    VfiDevice *d;

    *fd = vfi_kernel_open(node, O_RDWR);
    assert_true(*fd >= 0);
    d = vfi_device_new_from_fd(*fd, NULL, &err);
    assert_ok(d != NULL, err);
    assert_null(vfi_device_get_iommu_instance(d));
    return d;
}

static void attach_dev_ok(Fixture *f, VfiDevice *d)
{
    g_autoptr(GError) err = NULL;

    assert_ok(vfi_address_space_attach_device(f->as, f->be, d, NULL, &err), err);
}

static void detach_dev_ok(Fixture *f, VfiDevice *d)
{
    g_autoptr(GError) err = NULL;

    assert_ok(vfi_address_space_detach_device(f->as, d, &err), err);
}

static void test_unknown_instance_never_skips(void **state)
{
    Fixture *f = same_model_fixture();
    int fd_b, fd_a;
    VfiDevice *xb = open_fd_only(f, 3, &fd_b);    /* b1's cdev, instance unknown */
    VfiDevice *xa = open_fd_only(f, 1, &fd_a);    /* a1's cdev, instance unknown */

    attach_ok(f, "a0", NULL);
    attach_ok(f, "b0", NULL);                 /* proves the hw info instance-bound */
    attach_dev_ok(f, xb);                     /* HWPT 0 (EINVAL: a hint), HWPT 1 */
    assert_int_equal(vfi_device_get_attach_attempts(xb), 2);
    assert_ptr_equal(vfi_device_get_hwpt(xb), hwpt_of(f, "b0"));
    /* xa has the same fingerprint as xb (hw info, no instance): HWPT 1
     * first (it took that fingerprint), refused; HWPT 0 refused that
     * fingerprint too, but with the instance unknown it is tried, last */
    attach_dev_ok(f, xa);
    assert_int_equal(vfi_device_get_attach_attempts(xa), 2);
    assert_ptr_equal(vfi_device_get_hwpt(xa), hwpt_of(f, "a0"));
    assert_int_equal(hwpt_count(f), 2);
    detach_dev_ok(f, xa);
    detach_dev_ok(f, xb);
    vfi_device_free(xa);
    vfi_device_free(xb);
    vfi_kernel_close(fd_a);
    vfi_kernel_close(fd_b);
    fixture_free(f);
}

/* Records go with their HWPT: a later HWPT, even with the same id, starts
 * clean, and so does the proof that the hw info is instance-bound. */
static void test_record_goes_with_hwpt(void **state)
{
    Fixture *f = same_model_fixture();
    g_autoptr(GError) err = NULL;
    uint32_t id0;

    /* b1 bound first, so the ids freed below come back in the same order */
    assert_ok(vfi_device_bind(fdev(f, "b1"), f->be, &err), err);
    attach_ok(f, "a0", NULL);
    id0 = vfi_hwpt_get_id(hwpt_of(f, "a0"));
    attach_ok(f, "b0", NULL);                 /* A's HWPT refused B */
    assert_int_equal(attempts(f, "b0"), 2);
    detach_ok(f, "b0");                       /* HWPT 1 goes */
    detach_ok(f, "a0");                       /* HWPT 0 goes, with the refusal */
    assert_int_equal(vfi_address_space_container_count(f->as), 0);
    attach_ok(f, "b1", NULL);                 /* a new HWPT for B: A's id again */
    assert_int_equal(vfi_hwpt_get_id(hwpt_of(f, "b1")), id0);
    attach_ok(f, "b0", NULL);                 /* not kept from it by the old record */
    assert_int_equal(attempts(f, "b0"), 1);
    assert_ptr_equal(hwpt_of(f, "b0"), hwpt_of(f, "b1"));
    /* the same within a living container: c0's HWPT, refused by B, goes */
    attach_ok(f, "c0", NULL);                 /* tries B's HWPT: bound again */
    assert_int_equal(attempts(f, "c0"), 2);
    detach_ok(f, "c0");
    attach_ok(f, "a0", NULL);                 /* bound: B's HWPT skipped */
    assert_int_equal(attempts(f, "a0"), 1);
    detach_ok(f, "b0");
    detach_ok(f, "b1");                       /* B's HWPT goes with the proof */
    attach_ok(f, "c0", NULL);                 /* so A's HWPT is tried again */
    assert_int_equal(attempts(f, "c0"), 2);
    assert_int_equal(hwpt_count(f), 2);
    check_consistent(f);
    fixture_free(f);
}

/* Add instance @iommu of the fixture's model and device @name behind it. */
static void add_dev(Fixture *f, const char *name, const char *iommu)
{
    VfiSimIommuConfig cfg = { .dirty_tracking = true, .cap_reg = 0x00d2008c40660462,
                              .ecap_reg = 0xf050da };
    g_autoptr(GError) err = NULL;

    assert_ok(vfi_sim_add_iommu(f->sim, iommu, &cfg, &err), err);
    assert_ok(vfi_sim_add_device(f->sim, name, iommu, false, &err), err);
    f->names[f->ndevs] = name;
    f->devs[f->ndevs] = vfi_device_open_sysfs(vfi_sim_device_sysfs_path(f->sim, name), &err);
    assert_ok(f->devs[f->ndevs] != NULL, err);
    f->ndevs++;
}

/*
 * A HWPT that took two instances of one hw info (a domain shared across
 * IOMMU units, as VT-d does) disproves instance binding: nothing is
 * skipped for that hw info. The model never shares a domain across
 * instances, so a device is made to look like B's (a1's cdev with b2's
 * sysfs directory) to A's HWPT, which takes it.
 */
static void test_shared_hwpt_disproves_binding(void **state)
{
    Fixture *f = same_model_fixture();
    g_autoptr(GError) err = NULL;
    int fd;
    VfiDevice *fake;

    add_dev(f, "d0", "D");
    fd = vfi_kernel_open("/dev/vfio/devices/vfio1", O_RDWR);
    assert_true(fd >= 0);
    fake = vfi_device_new_from_fd(fd, vfi_sim_device_sysfs_path(f->sim, "b2"), &err);
    assert_ok(fake != NULL, err);
    assert_string_equal(vfi_device_get_iommu_instance(fake),
                        vfi_device_get_iommu_instance(fdev(f, "b2")));
    attach_ok(f, "a0", NULL);                 /* HWPT 0 */
    attach_dev_ok(f, fake);                   /* "B" in HWPT 0: shared */
    assert_ptr_equal(vfi_device_get_hwpt(fake), hwpt_of(f, "a0"));
    attach_ok(f, "c0", NULL);                 /* HWPT 0 refuses C: HWPT 1 */
    attach_ok(f, "b0", NULL);                 /* HWPT 0 (took "B"), HWPT 1: HWPT 2 */
    assert_int_equal(attempts(f, "b0"), 3);
    /* HWPT 1 (only C) refused B: evidence, but HWPT 0 disproves binding,
     * so d0 tries all three HWPTs (a bound hw info would skip 1 and 2) */
    attach_ok(f, "d0", NULL);
    assert_int_equal(attempts(f, "d0"), 4);
    assert_int_equal(hwpt_count(f), 4);
    detach_dev_ok(f, fake);
    vfi_device_free(fake);
    vfi_kernel_close(fd);
    fixture_free(f);
}

/* Every decision is a trace event. */
static void test_decisions_traced(void **state)
{
    Fixture *f = same_model_fixture();
    g_autofree char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);

    vfi_trace_set_output(out);
    assert_true(vfi_trace_enable("vfi_auto_domain_memo_*", true) > 0);
    attach_ok(f, "a0", NULL);
    attach_ok(f, "b0", NULL);
    attach_ok(f, "b1", NULL);
    attach_ok(f, "c0", NULL);
    detach_ok(f, "c0");
    vfi_trace_enable("vfi_auto_domain_memo_*", false);
    vfi_trace_set_output(NULL);
    fclose(out);
    assert_non_null(strstr(buf, "vfi_auto_domain_memo_accept"));
    assert_non_null(strstr(buf, "vfi_auto_domain_memo_refuse"));
    assert_non_null(strstr(buf, "vfi_auto_domain_memo_bound"));
    assert_non_null(strstr(buf, "vfi_auto_domain_memo_first"));
    assert_non_null(strstr(buf, "vfi_auto_domain_memo_skip_instance"));
    fixture_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_instance_from_sysfs),
        cmocka_unit_test(test_two_instances_same_hw_info),
        cmocka_unit_test(test_unknown_instance_never_skips),
        cmocka_unit_test(test_record_goes_with_hwpt),
        cmocka_unit_test(test_shared_hwpt_disproves_binding),
        cmocka_unit_test(test_decisions_traced),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
