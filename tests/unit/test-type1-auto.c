/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * AUTO's choice of a backend and the device open behind it, against the
 * kernel model: a device whose cdev is in sysfs but has no node (topology
 * vfio-cdev-node=false, as a container given only /dev/vfio/vfio and the
 * group nodes: the open ENOENT) opens through its group and takes type1;
 * vfi_address_space_get_backend_reason() before, at and after the choice.
 */
#include "test-type1-helpers.h"

#include <string.h>
#include <sys/mman.h>

#include "vfio-iommufd/container.h"
#include "vfio-iommufd/dirty.h"

#define NODELESS "[iommu a]\n[device solo]\niommu=a\nvfio-cdev-node=false\n"

static char *cdev_dir(VfiSim *sim, const char *name)
{
    return g_build_filename(vfi_sim_device_sysfs_path(sim, name), "vfio-dev", NULL);
}

/* Attach @dev with AUTO, map a page, sync once, unmap, detach; @dev freed. */
static void auto_flow(VfiSim *sim, VfiDevice *dev, VfiBackendKind want, const char *reason)
{
    g_autoptr(GError) err = NULL;
    VfiAddressSpace *as = vfi_address_space_new(NULL);
    VfiIommufd *be = vfi_iommufd_new();
    void *ram = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint64_t bits = 0;
    VfiDirtyLog log = { .base_iova = 0, .page_size = PG, .bitmap = &bits, .nr_pages = 1 };

    assert_true(ram != MAP_FAILED);
    assert_null(vfi_address_space_get_backend_reason(as));
    assert_null(vfi_address_space_get_backend_reason(NULL));
    assert_ok(vfi_address_space_attach_device(as, be, dev, NULL, &err), err);
    assert_int_equal(vfi_address_space_get_backend(as), want);
    assert_string_equal(vfi_address_space_get_backend_reason(as), reason);
    assert_ok(vfi_address_space_dma_map(as, 0, PG, ram, false, &err), err);
    assert_ok(vfi_address_space_dirty_tracking_start(as, &err), err);
    assert_ok(vfi_address_space_sync_dirty(as, &log, &err), err);
    assert_int_equal(bits, want == VFI_BACKEND_TYPE1 ? 1 : 0);
    assert_ok(vfi_address_space_dirty_tracking_stop(as, &err), err);
    assert_ok(vfi_address_space_dma_unmap(as, 0, PG, 0, &err), err);
    assert_ok(vfi_address_space_detach_device(as, dev, &err), err);
    /* every device gone: no choice any more */
    assert_null(vfi_address_space_get_backend_reason(as));
    vfi_device_free(dev);
    assert_ok(vfi_address_space_free(as, &err), err);
    assert_ok(vfi_iommufd_free(be, &err), err);
    munmap(ram, PG);
    (void)sim;
}

/* The cdev in sysfs, its node ENOENT: through the group, type1. */
static void test_cdev_without_node(void **state)
{
    VfiSim *sim = test_sim_new(NODELESS);
    g_autofree char *vdir = cdev_dir(sim, "solo");
    g_autoptr(GError) err = NULL;
    VfiDevice *dev;

    (void)state;
    assert_true(g_file_test(vdir, G_FILE_TEST_IS_DIR));
    dev = vfi_device_open_sysfs(vfi_sim_device_sysfs_path(sim, "solo"), &err);
    assert_ok(dev != NULL, err);
    assert_int_equal(vfi_device_get_fd(dev), -1);
    auto_flow(sim, dev, VFI_BACKEND_TYPE1, "auto: the device has no VFIO cdev");
    assert_int_equal(vfi_sim_type1_live(sim), 0);
    test_sim_free_clean(sim);
}

/* The cdev and its node: IOMMUFD, and why. */
static void test_cdev_with_node(void **state)
{
    VfiSim *sim = test_sim_new("[iommu a]\n" TYPE1_TOPO_SOLO);
    g_autoptr(GError) err = NULL;
    VfiDevice *dev = vfi_device_open_sysfs(vfi_sim_device_sysfs_path(sim, "solo"), &err);

    (void)state;
    assert_ok(dev != NULL, err);
    assert_true(vfi_device_get_fd(dev) >= 0);
    auto_flow(sim, dev, VFI_BACKEND_IOMMUFD, "auto: /dev/iommu and the device's VFIO cdev exist");
    test_sim_free_clean(sim);
}

/* Asked for: the reason says so from the request on, AUTO again clears it. */
static void test_asked(void **state)
{
    g_autoptr(GError) err = NULL;
    VfiAddressSpace *as = vfi_address_space_new(NULL);

    (void)state;
    assert_ok(vfi_address_space_set_backend(as, VFI_BACKEND_TYPE1, &err), err);
    assert_string_equal(vfi_address_space_get_backend_reason(as),
                        "asked by the VMM (vfi_address_space_set_backend)");
    assert_ok(vfi_address_space_set_backend(as, VFI_BACKEND_AUTO, &err), err);
    assert_null(vfi_address_space_get_backend_reason(as));
    assert_ok(vfi_address_space_free(as, &err), err);
}

/* A device that is not bound to vfio-pci keeps the cdev's ENOENT. */
static void test_nodeless_not_vfio_pci(void **state)
{
    VfiSim *sim = test_sim_new(NODELESS);
    g_autofree char *drv = g_build_filename(vfi_sim_device_sysfs_path(sim, "solo"), "driver",
                                            NULL);
    g_autoptr(GError) err = NULL;

    (void)state;
    assert_int_equal(unlink(drv), 0);   /* no driver bound */
    assert_null(vfi_device_open_sysfs(vfi_sim_device_sysfs_path(sim, "solo"), &err));
    assert_gerror(err, VFI_KERNEL_ERROR, ENOENT);
    test_sim_free_clean(sim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cdev_without_node),
        cmocka_unit_test(test_cdev_with_node),
        cmocka_unit_test(test_asked),
        cmocka_unit_test(test_nodeless_not_vfio_pci),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
