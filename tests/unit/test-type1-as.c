/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The address space on the type1 backend (hw/vfio/address-space/as-type1.c)
 * against the kernel model, through the public API as a VMM: the README's
 * passthrough and migration flow with VFI_BACKEND_TYPE1, a group shared by
 * two devices joined once, a group held by another address space refused,
 * AUTO keeping IOMMUFD where there is a cdev, and a failure at every ioctl
 * of the flow leaving nothing behind.
 */
#include "test-type1-helpers.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "vfio-iommufd/container.h"
#include "vfio-iommufd/dirty.h"
#include "vfio-iommufd/dirty-pool.h"

static const char topology[] = TYPE1_TOPO_GROUP5 TYPE1_TOPO_SOLO;

#define RAM_SIZE (256 * PG)
#define NR_PAGES (RAM_SIZE / PG)

typedef struct Flow {
    VfiIommufd *be;
    VfiAddressSpace *as;
    VfiDevice *dev;
    void *ram;
    uint64_t bits[NR_PAGES / 64];
    VfiDirtyLog log;
} Flow;

static bool flow_up(VfiSim *sim, Flow *f, GError **errp)
{
    f->be = vfi_iommufd_new();
    f->as = vfi_address_space_new(NULL);
    f->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    f->log = (VfiDirtyLog) { .base_iova = 0, .page_size = PG, .bitmap = f->bits,
                             .nr_pages = NR_PAGES };
    f->dev = vfi_device_open_sysfs(vfi_sim_device_sysfs_path(sim, "solo"), errp);
    return f->ram != MAP_FAILED && f->dev &&
           vfi_address_space_set_backend(f->as, VFI_BACKEND_TYPE1, errp);
}

/* The README's flow: attach, map, track, sync, stop, unmap, detach. */
static bool flow_run(Flow *f, GError **errp)
{
    return vfi_address_space_attach_device(f->as, f->be, f->dev, NULL, errp) &&
           vfi_address_space_dma_map(f->as, 0, RAM_SIZE, f->ram, false, errp) &&
           vfi_address_space_dirty_tracking_start(f->as, errp) &&
           vfi_address_space_sync_dirty(f->as, &f->log, errp) &&
           vfi_address_space_dirty_tracking_stop(f->as, errp) &&
           vfi_address_space_dma_unmap(f->as, 0, RAM_SIZE, 0, errp) &&
           vfi_address_space_detach_device(f->as, f->dev, errp);
}

static void flow_down(Flow *f)
{
    vfi_device_free(f->dev);
    assert_true(vfi_address_space_free(f->as, NULL));
    assert_true(vfi_iommufd_free(f->be, NULL));
    if (f->ram != MAP_FAILED) {
        munmap(f->ram, RAM_SIZE);
    }
}

static unsigned popcount(const uint64_t *bits, unsigned words)
{
    unsigned n = 0;

    for (unsigned i = 0; i < words; i++) {
        n += (unsigned)__builtin_popcountll(bits[i]);
    }
    return n;
}

static void test_readme_flow(void **state)
{
    VfiSim *sim = test_sim_new(topology);
    g_autoptr(GError) err = NULL;
    g_autofree char *blocker = NULL;
    Flow f = { 0 };

    (void)state;
    assert_ok(flow_up(sim, &f, &err), err);
    assert_int_equal(vfi_address_space_get_backend(f.as), VFI_BACKEND_TYPE1);
    assert_ok(vfi_address_space_attach_device(f.as, f.be, f.dev, NULL, &err), err);
    /* the type1 container: its device's, not an IOAS of the address space */
    assert_non_null(vfi_device_get_container(f.dev));
    assert_int_equal(vfi_address_space_container_count(f.as), 0);
    assert_int_equal(vfi_container_get_backend_kind(vfi_device_get_container(f.dev)),
                     VFI_BACKEND_TYPE1);
    assert_int_equal(vfi_container_get_ioas_id(vfi_device_get_container(f.dev)), 0);
    assert_null(vfi_container_get_backend(vfi_device_get_container(f.dev)));
    assert_int_equal(vfi_iommufd_users(f.be), 0);        /* no iommufd used */
    assert_false(vfi_address_space_set_backend(f.as, VFI_BACKEND_IOMMUFD, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    assert_ok(vfi_address_space_dma_map(f.as, 0, RAM_SIZE, f.ram, false, &err), err);
    assert_ok(vfi_sim_dma_write(sim, "solo", 8 * PG, PG, &err), err);
    blocker = vfi_address_space_migration_blocker(f.as);
    assert_null(blocker);
    {
        unsigned n = 0;
        g_autofree VfiDirtyDeviceReport *rep = vfi_address_space_dirty_report(f.as, &n);

        assert_int_equal(n, 1);
        assert_ptr_equal(rep[0].device, f.dev);
        assert_ptr_equal(rep[0].container, vfi_device_get_container(f.dev));
        assert_int_equal(rep[0].coverage, VFI_DIRTY_COVERAGE_TYPE1);
        assert_string_equal(vfi_dirty_coverage_granularity(rep[0].coverage, NULL),
                            "type1: all mapped pages reported dirty");
    }
    assert_ok(vfi_address_space_dirty_tracking_start(f.as, &err), err);
    assert_true(vfi_address_space_dirty_tracking_is_active(f.as));
    assert_ok(vfi_address_space_sync_dirty(f.as, &f.log, &err), err);
    assert_int_equal(popcount(f.bits, NR_PAGES / 64), NR_PAGES);  /* every page */
    /* an unmap while tracking reads the pages, or is refused */
    assert_false(vfi_address_space_dma_unmap(f.as, 0, RAM_SIZE, 0, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    memset(f.bits, 0, sizeof(f.bits));
    assert_ok(vfi_address_space_dma_unmap_dirty(f.as, 0, RAM_SIZE, &f.log, 0, &err), err);
    assert_int_equal(popcount(f.bits, NR_PAGES / 64), NR_PAGES);
    assert_int_equal(vfi_address_space_mapping_count(f.as), 0);
    assert_ok(vfi_address_space_dirty_tracking_stop(f.as, &err), err);
    assert_ok(vfi_address_space_detach_device(f.as, f.dev, &err), err);
    assert_int_equal(vfi_sim_type1_live(sim), 0);
    flow_down(&f);
    test_sim_free_clean(sim);
}

/* Mapped before the first device: replayed into the new container; a
 * group shared by two devices joins once; another address space cannot
 * take a device of that group. */
static void test_replay_and_shared_group(void **state)
{
    VfiSim *sim = test_sim_new(topology);
    g_autoptr(GError) err = NULL;
    VfiAddressSpace *as = vfi_address_space_new(NULL), *other = vfi_address_space_new(NULL);
    VfiDevice *d0 = vfi_device_open_sysfs(vfi_sim_device_sysfs_path(sim, "d0"), &err);
    VfiDevice *d1 = vfi_device_open_sysfs(vfi_sim_device_sysfs_path(sim, "d1"), &err);
    VfiIommufd *be = vfi_iommufd_new();
    void *ram = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    (void)state;
    assert_ok(vfi_address_space_set_backend(as, VFI_BACKEND_TYPE1, &err), err);
    assert_ok(vfi_address_space_set_backend(other, VFI_BACKEND_TYPE1, &err), err);
    assert_ok(vfi_address_space_dma_map(as, 0x10000, 4 * PG, ram, false, &err), err);
    assert_ok(vfi_address_space_attach_device(as, be, d0, NULL, &err), err);
    assert_ok(vfi_sim_dma_write(sim, "d0", 0x10000, PG, &err), err);   /* replayed */
    assert_ok(vfi_address_space_attach_device(as, be, d1, NULL, &err), err);
    assert_false(vfi_address_space_attach_device(other, be, d1, NULL, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    /* freeing an attached device takes it out */
    vfi_device_free(d1);
    assert_ok(vfi_sim_dma_write(sim, "d0", 0x10000, PG, &err), err);
    assert_false(vfi_address_space_free(as, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    assert_ok(vfi_address_space_detach_device(as, d0, &err), err);
    assert_ok(vfi_address_space_dma_unmap(as, 0x10000, 4 * PG, 0, &err), err);
    vfi_device_free(d0);
    assert_ok(vfi_address_space_free(as, &err), err);
    assert_ok(vfi_address_space_free(other, &err), err);
    assert_ok(vfi_iommufd_free(be, &err), err);
    munmap(ram, 4 * PG);
    assert_int_equal(vfi_sim_type1_live(sim), 0);
    test_sim_free_clean(sim);
}

/* The last device leaving while tracking: its container's pages are read
 * first; a parallel sync reads the same. */
static void test_detach_dirty(void **state)
{
    VfiSim *sim = test_sim_new(topology);
    g_autoptr(GError) err = NULL;
    Flow f = { 0 };

    (void)state;
    assert_ok(flow_up(sim, &f, &err), err);
    assert_ok(vfi_address_space_attach_device(f.as, f.be, f.dev, NULL, &err), err);
    assert_ok(vfi_address_space_dma_map(f.as, 0, 64 * PG, f.ram, false, &err), err);
    assert_ok(vfi_address_space_dirty_tracking_start(f.as, &err), err);
    assert_ok(vfi_address_space_sync_dirty_parallel(f.as, &f.log, NULL, &err), err);
    assert_int_equal(popcount(f.bits, NR_PAGES / 64), 64);
    memset(f.bits, 0, sizeof(f.bits));
    assert_ok(vfi_address_space_detach_device_dirty(f.as, f.dev, &f.log, &err), err);
    assert_int_equal(popcount(f.bits, NR_PAGES / 64), 64);
    assert_int_equal(vfi_sim_type1_live(sim), 0);
    assert_ok(vfi_address_space_dma_unmap(f.as, 0, 64 * PG, 0, &err), err);
    flow_down(&f);
    test_sim_free_clean(sim);
}

/* AUTO with a cdev on the model (which has /dev/iommu): IOMMUFD as before. */
static void test_auto_keeps_iommufd(void **state)
{
    VfiSim *sim = test_sim_new(topology);
    g_autoptr(GError) err = NULL;
    VfiAddressSpace *as = vfi_address_space_new(NULL);
    VfiDevice *dev = vfi_device_open_sysfs(vfi_sim_device_sysfs_path(sim, "solo"), &err);
    VfiIommufd *be = vfi_iommufd_new();

    (void)state;
    assert_int_equal(vfi_address_space_get_backend(as), VFI_BACKEND_AUTO);
    assert_ok(vfi_address_space_attach_device(as, be, dev, NULL, &err), err);
    assert_int_equal(vfi_address_space_get_backend(as), VFI_BACKEND_IOMMUFD);
    assert_non_null(vfi_device_get_container(dev));
    assert_int_equal(vfi_sim_type1_live(sim), 0);
    assert_ok(vfi_address_space_detach_device(as, dev, &err), err);
    vfi_device_free(dev);
    assert_ok(vfi_address_space_free(as, &err), err);
    assert_ok(vfi_iommufd_free(be, &err), err);
    test_sim_free_clean(sim);
}

static bool fault_pass(VfiSim *sim, unsigned nth)
{
    g_autoptr(GError) err = NULL;
    Flow f = { 0 };
    bool ok = flow_up(sim, &f, &err);

    assert_true(ok);
    vfi_sim_fail_nth(sim, nth, EIO);
    ok = flow_run(&f, &err);
    vfi_sim_fail_clear(sim);
    if (!ok) {
        vfi_address_space_detach_device(f.as, f.dev, NULL);
        vfi_address_space_dirty_tracking_stop(f.as, NULL);
        vfi_address_space_dma_unmap(f.as, 0, RAM_SIZE, VFI_UNMAP_DISCARD_DIRTY |
                                    VFI_UNMAP_ALLOW_ABSENT, NULL);
    }
    flow_down(&f);
    return ok;
}

static void test_faults(void **state)
{
    (void)state;
    type1_fault_passes(topology, 200, 8, fault_pass);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_readme_flow),
        cmocka_unit_test(test_replay_and_shared_group),
        cmocka_unit_test(test_auto_keeps_iommufd),
        cmocka_unit_test(test_detach_dirty),
        cmocka_unit_test(test_faults),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
