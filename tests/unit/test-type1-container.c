/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The type1 container of the container layer (hw/vfio/container/type1.c)
 * against the kernel model: groups joined once however many of their
 * devices attach, a group held by another container refused, map/unmap
 * with the whole-mapping rule, dirty tracking where every mapped page is
 * reported dirty, unmap during tracking into the log, the bitmap limit,
 * and a failure at every ioctl of attach/map/track/unmap/detach leaving
 * nothing behind.
 */
#include "test-type1-helpers.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vfio-iommufd/device.h"
#include "hw/vfio/container/type1.h"

/* d0 and d1 share group 5 */
static const char topology[] = TYPE1_TOPO_GROUP5 TYPE1_TOPO_SOLO TYPE1_TOPO_MDEV;

#define RAM (64 * PG)

typedef struct Scene {
    VfiDevice *dev[4];
    VfiContainer *c;
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
    s->c = vfi_type1_container_new(NULL, NULL, errp);
    return s->c != NULL;
}

/* attach all, map, track, sync, unmap during tracking, stop, detach all */
static bool scene_run(Scene *s, GError **errp)
{
    for (unsigned i = 0; i < 4; i++) {
        if (!vfi_type1_container_attach(s->c, s->dev[i], errp)) {
            return false;
        }
    }
    return vfi_type1_container_map(s->c, 0, 16 * PG, s->ram, false, errp) &&
           vfi_type1_container_map(s->c, 32 * PG, 8 * PG, (uint8_t *)s->ram + 32 * PG, false,
                                   errp) &&
           vfi_type1_container_dirty_tracking(s->c, true, errp) &&
           vfi_type1_container_sync_dirty(s->c, &s->log, errp) &&
           vfi_type1_container_unmap(s->c, 32 * PG, 8 * PG, &s->log, errp) &&
           vfi_type1_container_dirty_tracking(s->c, false, errp) &&
           vfi_type1_container_unmap(s->c, 0, 16 * PG, NULL, errp) &&
           vfi_type1_container_detach(s->c, s->dev[0], errp) &&
           vfi_type1_container_detach(s->c, s->dev[2], errp);
}

static void scene_free(Scene *s)
{
    assert_true(vfi_type1_container_free(s->c, NULL) || true);
    for (unsigned i = 0; i < 4; i++) {
        vfi_device_free(s->dev[i]);
    }
    free(s->ram);
}

static void test_scenario(void **state)
{
    VfiSim *sim = test_sim_new(topology);
    g_autoptr(GError) err = NULL;
    Scene s = { 0 };

    (void)state;
    assert_ok(scene_open(sim, &s, &err), err);
    /* no device: the IOMMU is not set, refused before any ioctl */
    {
        uint64_t before = vfi_sim_ioctl_count(sim);

        assert_false(vfi_type1_container_map(s.c, 0, PG, s.ram, false, &err));
        assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
        assert_int_equal(vfi_sim_ioctl_count(sim), before);
    }
    for (unsigned i = 0; i < 2; i++) {
        assert_ok(vfi_type1_container_attach(s.c, s.dev[i], &err), err);
    }
    /* the shared group joined once */
    assert_int_equal(vfi_type1_container_group_count(s.c), 1);
    assert_string_equal(vfi_type1_container_coverage(s.c, s.dev[0]),
                        "type1: all mapped pages reported dirty");
    assert_null(vfi_type1_container_coverage(s.c, s.dev[2]));
    assert_ok(vfi_type1_container_map(s.c, 0, 16 * PG, s.ram, false, &err), err);
    assert_ok(vfi_sim_dma_write(sim, "d1", 0, PG, &err), err);
    {
        uint64_t before = vfi_sim_ioctl_count(sim);

        assert_false(vfi_type1_container_map(s.c, 8 * PG, PG, s.ram, false, &err));
        assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
        assert_false(vfi_type1_container_unmap(s.c, 0, 8 * PG, NULL, &err));
        assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
        assert_int_equal(vfi_sim_ioctl_count(sim), before);
    }
    /* the bitmap limit: 8 TiB at 4 KiB pages; a larger guest is refused */
    assert_int_equal(vfi_type1_container_max_tracked(s.c), 8ull << 40);
    assert_ok(vfi_type1_container_check_guest_size(s.c, 1ull << 30, &err), err);
    assert_false(vfi_type1_container_check_guest_size(s.c, 16ull << 40, &err));
    assert_non_null(strstr(err->message, "17592186044416 bytes"));
    assert_non_null(strstr(err->message, "8796093022208 bytes"));
    g_clear_error(&err);
    /* tracking: every mapped page dirty, the unmap reads its own pages */
    assert_ok(vfi_type1_container_dirty_tracking(s.c, true, &err), err);
    assert_ok(vfi_type1_container_sync_dirty(s.c, &s.log, &err), err);
    assert_int_equal(s.bits[0], 0xffff);
    assert_false(vfi_type1_container_unmap(s.c, 0, 16 * PG, NULL, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    s.bits[0] = 0;
    assert_ok(vfi_type1_container_unmap(s.c, 0, 16 * PG, &s.log, &err), err);
    assert_int_equal(s.bits[0], 0xffff);
    assert_int_equal(vfi_type1_container_mapping_count(s.c), 0);
    assert_false(vfi_sim_dma_write(sim, "d0", 0, PG, &err));
    g_clear_error(&err);
    scene_free(&s);
    assert_int_equal(vfi_sim_type1_live(sim), 0);
    test_sim_free_clean(sim);
}

/* A group another container holds is refused before any call. */
static void test_group_held(void **state)
{
    VfiSim *sim = test_sim_new(topology);
    g_autoptr(GError) err = NULL;
    Scene s = { 0 };
    VfiContainer *other;

    (void)state;
    assert_ok(scene_open(sim, &s, &err), err);
    assert_ok(vfi_type1_container_attach(s.c, s.dev[0], &err), err);
    other = vfi_type1_container_new(NULL, NULL, &err);
    assert_non_null(other);
    assert_false(vfi_type1_container_attach(other, s.dev[1], &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    assert_int_equal(vfi_type1_container_group_count(other), 0);
    /* the refused device keeps its cdev */
    assert_true(vfi_device_get_fd(s.dev[1]) >= 0);
    assert_ok(vfi_type1_container_free(other, &err), err);
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
