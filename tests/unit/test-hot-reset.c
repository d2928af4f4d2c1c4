/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * PCI hot reset of cdev devices (hw/vfio/device/hot-reset.c) against the
 * kernel model: the devices a reset affects and who owns them, the refusal
 * before the reset ioctl, the reset, the kernel's errors.
 */
#include "test-common.h"

#include <errno.h>
#include <string.h>
#include <linux/vfio.h>

#include "vfio-iommufd/iommufd.h"
#include "vfio-iommufd/device.h"

/* a0 and a1 share one bus reset; solo has none (ENODEV, as an integrated
 * endpoint on a root bus) */
static const char topology[] =
    "[iommu a]\n"
    "[device a0]\niommu=a\nreset-group=bus1\n"
    "[device solo]\niommu=a\n"
    "[device a1]\niommu=a\nreset-group=bus1\n";

typedef struct Fixture {
    VfiSim *sim;
    VfiIommufd *be;
    VfiDevice *a0, *a1, *solo;
} Fixture;

static VfiDevice *open_bound(Fixture *f, const char *name, VfiIommufd *be)
{
    g_autoptr(GError) err = NULL;
    VfiDevice *dev = vfi_device_open_sysfs(vfi_sim_device_sysfs_path(f->sim, name), &err);

    assert_non_null(dev);
    if (be) {
        assert_ok(vfi_device_bind(dev, be, &err), err);
    }
    return dev;
}

static int setup(void **state)
{
    Fixture *f = g_new0(Fixture, 1);

    f->sim = test_sim_new(topology);
    f->be = vfi_iommufd_new();
    f->a0 = open_bound(f, "a0", f->be);
    f->solo = open_bound(f, "solo", f->be);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    Fixture *f = *state;
    g_autoptr(GError) err = NULL;

    vfi_device_free(f->a0);
    vfi_device_free(f->a1);
    vfi_device_free(f->solo);
    assert_int_equal(vfi_iommufd_users(f->be), 0);
    assert_ok(vfi_iommufd_free(f->be, &err), err);
    test_sim_free_clean(f->sim);
    g_free(f);
    return 0;
}

/* a1 unopened: the info lists both, a1 not owned, with their addresses */
static void test_info_not_owned(void **state)
{
    Fixture *f = *state;
    g_autoptr(GError) err = NULL;
    g_autoptr(VfiHotResetInfo) info = vfi_device_get_hot_reset_info(f->a0, &err);

    assert_non_null(info);
    assert_int_equal(info->n_devices, 2);
    assert_false(info->all_owned);
    assert_int_equal(info->flags, VFIO_PCI_HOT_RESET_FLAG_DEV_ID);
    assert_true(info->devices[0].owned);
    assert_true(info->devices[0].open);
    assert_int_equal(info->devices[0].devid, vfi_device_get_devid(f->a0));
    assert_string_equal(info->devices[0].name, vfi_device_get_name(f->a0));
    assert_false(info->devices[1].owned);
    assert_false(info->devices[1].open);
    assert_int_equal(info->devices[1].devid, 0);
    assert_string_equal(info->devices[1].name, vfi_sim_device_bdf(f->sim, "a1"));
    assert_int_equal(info->devices[1].bus, 0);
    assert_int_equal(info->devices[1].devfn, 3 << 3);
    /* the first ask had room for one: ENOSPC, then again */
    assert_int_equal(vfi_sim_op_count(f->sim, VFI_SIM_OP_DEVICE_HOT_RESET_INFO), 2);
}

/* refused before the reset ioctl, naming the device not owned; a1 bound to
 * another iommufd is not owned either */
static void test_refused_not_owned(void **state)
{
    Fixture *f = *state;
    g_autoptr(GError) err = NULL;
    VfiIommufd *other = vfi_iommufd_new();

    for (int round = 0; round < 2; round++) {
        assert_false(vfi_device_hot_reset(f->a0, &err));
        assert_non_null(err);
        assert_non_null(strstr(err->message, vfi_sim_device_bdf(f->sim, "a1")));
        assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
        assert_int_equal(vfi_sim_op_count(f->sim, VFI_SIM_OP_DEVICE_HOT_RESET), 0);
        assert_int_equal(vfi_sim_device_reset_count(f->sim, "a0"), 0);
        if (round == 0) {
            f->a1 = open_bound(f, "a1", other);
        }
    }
    vfi_device_free(g_steal_pointer(&f->a1));
    assert_ok(vfi_iommufd_free(other, &err), err);
}

/* both owned: one reset of both, named as the VMM knows them */
static void test_reset_owned(void **state)
{
    Fixture *f = *state;
    g_autoptr(GError) err = NULL;
    g_autoptr(VfiHotResetInfo) info = NULL;

    f->a1 = open_bound(f, "a1", f->be);
    vfi_device_set_label(f->a1, "hostdev1");
    info = vfi_device_get_hot_reset_info(f->a0, &err);
    assert_non_null(info);
    assert_true(info->all_owned);
    assert_string_equal(info->devices[1].name, "hostdev1 (0000:00:03.0)");
    assert_ok(vfi_device_hot_reset(f->a0, &err), err);
    assert_int_equal(vfi_sim_op_count(f->sim, VFI_SIM_OP_DEVICE_HOT_RESET), 1);
    assert_int_equal(vfi_sim_device_reset_count(f->sim, "a0"), 1);
    assert_int_equal(vfi_sim_device_reset_count(f->sim, "a1"), 1);
    assert_int_equal(vfi_sim_device_reset_count(f->sim, "solo"), 0);
}

/* no slot or bus reset: ENODEV from the info, no reset ioctl */
static void test_no_reset(void **state)
{
    Fixture *f = *state;
    g_autoptr(GError) err = NULL;

    assert_null(vfi_device_get_hot_reset_info(f->solo, &err));
    assert_gerror(err, VFI_KERNEL_ERROR, ENODEV);
    assert_false(vfi_device_hot_reset(f->solo, &err));
    assert_gerror(err, VFI_KERNEL_ERROR, ENODEV);
    assert_int_equal(vfi_sim_op_count(f->sim, VFI_SIM_OP_DEVICE_HOT_RESET), 0);
}

/* refusals of the library (no ioctl) and injected kernel failures */
static void test_faults(void **state)
{
    Fixture *f = *state;
    g_autoptr(GError) err = NULL;
    g_autoptr(VfiDevice) unbound = open_bound(f, "a1", NULL);
    uint64_t n = vfi_sim_ioctl_count(f->sim);

    assert_null(vfi_device_get_hot_reset_info(unbound, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    assert_false(vfi_device_hot_reset(NULL, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_int_equal(vfi_sim_ioctl_count(f->sim), n);
    g_clear_pointer(&unbound, vfi_device_free);
    f->a1 = open_bound(f, "a1", f->be);
    vfi_sim_fail_next(f->sim, VFI_SIM_OP_DEVICE_HOT_RESET_INFO, EIO);
    assert_false(vfi_device_hot_reset(f->a0, &err));
    assert_gerror(err, VFI_KERNEL_ERROR, EIO);
    vfi_sim_fail_next(f->sim, VFI_SIM_OP_DEVICE_HOT_RESET, EBUSY);
    assert_false(vfi_device_hot_reset(f->a0, &err));
    assert_non_null(strstr(err->message, vfi_sim_device_bdf(f->sim, "a1")));
    assert_gerror(err, VFI_KERNEL_ERROR, EBUSY);
    assert_int_equal(vfi_sim_device_reset_count(f->sim, "a0"), 0);
    assert_ok(vfi_device_hot_reset(f->a0, &err), err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_info_not_owned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_not_owned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_owned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_faults, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
