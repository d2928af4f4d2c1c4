/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The type1 container of the container layer (hw/vfio/container/type1.c,
 * type1-dma.c) against the kernel model, driven as a VMM drives it: a type1
 * address space and the container it makes (the public headers).
 * Nothing reaches the kernel before the first device (a map is recorded
 * and replayed); groups joined once however many of their devices attach;
 * a group held by another container refused, the device keeping its cdev;
 * map/unmap with the whole-mapping rule; dirty tracking where every mapped
 * page is reported dirty; unmap during tracking into the log; the bitmap
 * limit; and a failure at every ioctl of attach/map/track/unmap/detach
 * leaving nothing behind.
 */
#include "test-type1-helpers.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vfio-iommufd/container.h"
#include "vfio-iommufd/device.h"
#include "vfio-iommufd/dirty.h"

/* d0 and d1 share group 5 */
static const char topology[] = TYPE1_TOPO_GROUP5 TYPE1_TOPO_SOLO TYPE1_TOPO_MDEV;

#define RAM (64 * PG)

typedef struct Scene {
    VfiDevice *dev[4];
    VfiAddressSpace *as;
    void *ram;
    uint64_t bits[1];
    VfiDirtyLog log;
} Scene;

static const char *const names[] = { "d0", "d1", "solo", "m" };

static bool scene_open(VfiSim *sim, Scene *s, GError **errp)
{
    for (unsigned i = 0; i < 4; i++) {
        s->dev[i] = vfi_device_open_sysfs(vfi_sim_device_sysfs_path(sim, names[i]), errp);
        if (!s->dev[i]) {
            return false;
        }
    }
    assert_int_equal(posix_memalign(&s->ram, PG, RAM), 0);
    s->log = (VfiDirtyLog) { .base_iova = 0, .page_size = PG, .bitmap = s->bits,
                             .nr_pages = RAM / PG };
    s->as = vfi_address_space_new(NULL);
    return vfi_address_space_set_backend(s->as, VFI_BACKEND_TYPE1, errp);
}

/* attach all, map, track, sync, unmap during tracking, stop, unmap, detach
 * two (one of the shared group, the solo) */
static bool scene_run(Scene *s, GError **errp)
{
    for (unsigned i = 0; i < 4; i++) {
        if (!vfi_address_space_attach_device(s->as, NULL, s->dev[i], NULL, errp)) {
            return false;
        }
    }
    return vfi_address_space_dma_map(s->as, 0, 16 * PG, s->ram, false, errp) &&
           vfi_address_space_dma_map(s->as, 32 * PG, 8 * PG, (uint8_t *)s->ram + 32 * PG,
                                     false, errp) &&
           vfi_address_space_dirty_tracking_start(s->as, errp) &&
           vfi_address_space_sync_dirty(s->as, &s->log, errp) &&
           vfi_address_space_dma_unmap_dirty(s->as, 32 * PG, 8 * PG, &s->log, 0, errp) &&
           vfi_address_space_dirty_tracking_stop(s->as, errp) &&
           vfi_address_space_dma_unmap(s->as, 0, 16 * PG, 0, errp) &&
           vfi_address_space_detach_device(s->as, s->dev[0], errp) &&
           vfi_address_space_detach_device(s->as, s->dev[2], errp);
}

/* Whatever a scene left: tracking stopped, mappings dropped, devices out. */
static void scene_free(Scene *s)
{
    if (s->as) {
        vfi_address_space_dirty_tracking_stop(s->as, NULL);
        vfi_address_space_dma_unmap(s->as, 0, RAM, VFI_UNMAP_DISCARD_DIRTY |
                                    VFI_UNMAP_ALLOW_ABSENT, NULL);
    }
    for (unsigned i = 0; i < 4; i++) {
        if (s->as && s->dev[i]) {
            vfi_address_space_detach_device(s->as, s->dev[i], NULL);
        }
        vfi_device_free(s->dev[i]);
    }
    assert_true(vfi_address_space_free(s->as, NULL));
    free(s->ram);
}

/* Nothing reaches the kernel before the first device: a map is recorded
 * (replayed once the first group set the IOMMU), no container is open. */
static void first_device(VfiSim *sim, Scene *s)
{
    g_autoptr(GError) err = NULL;
    uint64_t before = vfi_sim_ioctl_count(sim);

    assert_ok(vfi_address_space_dma_map(s->as, 0, 16 * PG, s->ram, false, &err), err);
    assert_int_equal(vfi_sim_ioctl_count(sim), before);
    assert_int_equal(vfi_sim_type1_live(sim), 0);
    for (unsigned i = 0; i < 2; i++) {
        assert_ok(vfi_address_space_attach_device(s->as, NULL, s->dev[i], NULL, &err), err);
    }
    /* the shared group joined once: one container and one group set */
    assert_int_equal(vfi_sim_type1_live(sim), 2);
    assert_int_equal(vfi_container_mapping_count(vfi_device_get_container(s->dev[0])), 1);
    assert_ok(vfi_sim_dma_write(sim, "d1", 0, PG, &err), err);      /* replayed */
}

/* The coverage of the container's devices, and of none other. */
static void coverage(Scene *s)
{
    unsigned n = 0;
    g_autofree VfiDirtyDeviceReport *rep = vfi_address_space_dirty_report(s->as, &n);

    assert_int_equal(n, 2);
    for (unsigned i = 0; i < n; i++) {
        assert_true(rep[i].device == s->dev[0] || rep[i].device == s->dev[1]);
        assert_int_equal(rep[i].coverage, VFI_DIRTY_COVERAGE_TYPE1);
        assert_string_equal(vfi_dirty_coverage_granularity(rep[i].coverage, NULL),
                            "type1: all mapped pages reported dirty");
    }
}

/* An overlap and a cut of a mapping, at both levels: refused before any
 * ioctl. */
static void whole_mappings(VfiSim *sim, Scene *s)
{
    VfiContainer *c = vfi_device_get_container(s->dev[0]);
    g_autoptr(GError) err = NULL;
    uint64_t before = vfi_sim_ioctl_count(sim);

    assert_false(vfi_address_space_dma_map(s->as, 8 * PG, PG, s->ram, false, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_address_space_dma_unmap(s->as, 0, 8 * PG, 0, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_container_dma_unmap(c, 0, 8 * PG, 0, NULL, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_int_equal(vfi_sim_ioctl_count(sim), before);
    assert_int_equal(vfi_container_mapping_count(c), 1);
}

/* The bitmap limit: 8 TiB at 4 KiB pages per read, each read one whole
 * mapping. A mapping larger than that is refused at tracking start, both
 * figures named, nothing switched; a 1 GiB one is fine. The model's type1
 * maps take no memory, so the large IOVA ranges map any address. */
static void bitmap_limit(Scene *s)
{
    g_autoptr(GError) err = NULL;
    void *far = (uint8_t *)s->ram + RAM;

    assert_ok(vfi_address_space_dma_map(s->as, 16ull << 40, 16ull << 40, far, false, &err),
              err);
    assert_false(vfi_address_space_dirty_tracking_start(s->as, &err));
    assert_non_null(err);
    assert_non_null(strstr(err->message, "17592186044416 bytes"));
    assert_non_null(strstr(err->message, "8796093022208 bytes"));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_NOT_SUPPORTED);
    assert_false(vfi_address_space_dirty_tracking_is_active(s->as));
    assert_ok(vfi_address_space_dma_unmap(s->as, 16ull << 40, 16ull << 40, 0, &err), err);
    assert_ok(vfi_address_space_dma_map(s->as, 1ull << 40, 1ull << 30, far, false, &err), err);
    assert_ok(vfi_address_space_dirty_tracking_start(s->as, &err), err);
    assert_ok(vfi_address_space_dirty_tracking_stop(s->as, &err), err);
    assert_ok(vfi_address_space_dma_unmap(s->as, 1ull << 40, 1ull << 30, 0, &err), err);
}

static void test_scenario(void **state)
{
    VfiSim *sim = test_sim_new(topology);
    g_autoptr(GError) err = NULL;
    Scene s = { 0 };

    (void)state;
    assert_ok(scene_open(sim, &s, &err), err);
    first_device(sim, &s);
    coverage(&s);
    whole_mappings(sim, &s);
    bitmap_limit(&s);
    /* tracking: every mapped page dirty, the unmap reads its own pages */
    assert_ok(vfi_address_space_dirty_tracking_start(s.as, &err), err);
    assert_ok(vfi_address_space_sync_dirty(s.as, &s.log, &err), err);
    assert_int_equal(s.bits[0], 0xffff);
    {
        uint64_t before = vfi_sim_ioctl_count(sim);

        assert_false(vfi_address_space_dma_unmap(s.as, 0, 16 * PG, 0, &err));
        assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
        assert_int_equal(vfi_sim_ioctl_count(sim), before);
    }
    s.bits[0] = 0;
    assert_ok(vfi_address_space_dma_unmap_dirty(s.as, 0, 16 * PG, &s.log, 0, &err), err);
    assert_int_equal(s.bits[0], 0xffff);
    assert_int_equal(vfi_container_mapping_count(vfi_device_get_container(s.dev[0])), 0);
    assert_int_equal(vfi_address_space_mapping_count(s.as), 0);
    assert_false(vfi_sim_dma_write(sim, "d0", 0, PG, &err));
    g_clear_error(&err);
    scene_free(&s);
    assert_int_equal(vfi_sim_type1_live(sim), 0);
    test_sim_free_clean(sim);
}

/* A group another container holds is refused before any call: nothing of
 * the refused attach is left, and the device keeps its cdev. */
static void test_group_held(void **state)
{
    VfiSim *sim = test_sim_new(topology);
    g_autoptr(GError) err = NULL;
    VfiAddressSpace *other;
    unsigned live;
    Scene s = { 0 };

    (void)state;
    assert_ok(scene_open(sim, &s, &err), err);
    assert_ok(vfi_address_space_attach_device(s.as, NULL, s.dev[0], NULL, &err), err);
    live = vfi_sim_type1_live(sim);
    other = vfi_address_space_new(NULL);
    assert_ok(vfi_address_space_set_backend(other, VFI_BACKEND_TYPE1, &err), err);
    assert_false(vfi_address_space_attach_device(other, NULL, s.dev[1], NULL, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    assert_int_equal(vfi_sim_type1_live(sim), live);
    assert_null(vfi_device_get_container(s.dev[1]));
    assert_true(vfi_device_get_fd(s.dev[1]) >= 0);
    assert_ok(vfi_address_space_free(other, &err), err);
    scene_free(&s);
    assert_int_equal(vfi_sim_type1_live(sim), 0);
    test_sim_free_clean(sim);
}

/* A failure at every ioctl of the scenario: nothing left once freed. */
static bool fault_pass(VfiSim *sim, unsigned nth)
{
    g_autoptr(GError) err = NULL;
    Scene s = { 0 };
    bool ok = scene_open(sim, &s, &err);

    vfi_sim_fail_nth(sim, nth, EIO);
    ok = ok && scene_run(&s, &err);
    vfi_sim_fail_clear(sim);
    scene_free(&s);
    return ok;
}

static void test_faults(void **state)
{
    (void)state;
    type1_fault_passes(topology, 200, 10, fault_pass);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scenario),
        cmocka_unit_test(test_group_held),
        cmocka_unit_test(test_faults),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
