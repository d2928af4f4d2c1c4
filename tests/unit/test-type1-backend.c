/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The type1 container wrappers (backends/type1.c) and VFIO groups of the
 * device layer (hw/vfio/device/group.c) against the kernel model: a device
 * through its group, the GET_INFO chain parsed, map/unmap, dirty pages,
 * refusals before any ioctl, and a failure at every ioctl of a scenario
 * leaving nothing behind.
 */
#include "test-type1-helpers.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vfio-iommufd/device.h"
#include "backends/type1.h"
#include "hw/vfio/device/device-internal.h"

static const char topology[] = TYPE1_TOPO_GROUP5 TYPE1_TOPO_MDEV;

static void *ram(size_t size)
{
    void *p = NULL;

    assert_int_equal(posix_memalign(&p, PG, size), 0);
    memset(p, 0, size);
    return p;
}

/* d0 opened by sysfs (its cdev), then through group 5 in a container. */
typedef struct Scene {
    VfiDevice *dev;
    VfiGroup *group;
    VfiType1 *t1;
} Scene;

static bool scene_up(VfiSim *sim, Scene *s, GError **errp)
{
    int id;

    s->dev = vfi_device_open_sysfs(vfi_sim_device_sysfs_path(sim, "d0"), errp);
    if (!s->dev) {
        return false;
    }
    id = vfi_device_iommu_group(s->dev, errp);
    if (id < 0) {
        return false;
    }
    s->t1 = vfi_type1_open(errp);
    if (!s->t1) {
        return false;
    }
    /* the cdev of d0 blocks its group: it gives it up first */
    if (!vfi_device_release_cdev(s->dev, errp)) {
        return false;
    }
    s->group = vfi_group_open((unsigned)id, errp);
    return s->group && vfi_group_check_viable(s->group, errp) &&
           vfi_group_set_container(s->group, vfi_type1_get_fd(s->t1), errp) &&
           vfi_type1_set_iommu(s->t1, errp) &&
           vfi_device_open_in_group(s->dev, s->group, errp);
}

static void scene_down(Scene *s)
{
    if (s->dev) {
        vfi_device_leave_group(s->dev);
    }
    if (s->group) {
        vfi_group_unset_container(s->group, NULL);
    }
    vfi_group_close(s->group);
    vfi_type1_close(s->t1);
    if (s->dev) {
        vfi_device_reopen_cdev(s->dev);
        assert_true(s->dev->fd >= 0);
    }
    vfi_device_free(s->dev);
    memset(s, 0, sizeof(*s));
}

/* Tracking: every mapped page, at the read and at the unmap. */
static void dirty_round(Scene *s)
{
    g_autoptr(GError) err = NULL;
    uint64_t bits = 0, n = 0;

    assert_ok(vfi_type1_dirty_tracking(s->t1, true, &err), err);
    assert_ok(vfi_type1_dirty_get(s->t1, 0x100000, 4 * PG, PG, &bits, 8, &err), err);
    assert_int_equal(bits, 0xf);
    bits = 0;
    assert_ok(vfi_type1_unmap(s->t1, 0x100000, 4 * PG, PG, &bits, 8, &n, &err), err);
    assert_int_equal(bits, 0xf);
    assert_int_equal(n, 4 * PG);
    assert_ok(vfi_type1_dirty_tracking(s->t1, false, &err), err);
}

static void test_device_through_group(void **state)
{
    VfiSim *sim = test_sim_new(topology);
    g_autoptr(GError) err = NULL;
    Scene s = { 0 };
    VfiType1Info info;
    VfiDeviceInfo dinfo;
    uint8_t *buf = ram(4 * PG);

    (void)state;
    assert_ok(scene_up(sim, &s, &err), err);
    assert_int_equal(vfi_group_get_id(s.group), 5);
    assert_ptr_equal(vfi_device_get_group(s.dev), s.group);
    assert_ok(vfi_device_get_info(s.dev, &dinfo, &err), err);
    /* bound to no iommufd: refused before any ioctl */
    {
        VfiIommufd *be = vfi_iommufd_new();
        uint64_t before = vfi_sim_ioctl_count(sim);

        assert_false(vfi_device_bind(s.dev, be, &err));
        assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
        assert_int_equal(vfi_sim_ioctl_count(sim), before);
        assert_ok(vfi_iommufd_free(be, &err), err);
    }
    assert_ok(vfi_type1_get_info(s.t1, &info, &err), err);
    assert_true(info.iova_pgsizes & PG);
    assert_int_equal(info.n_ranges, 2);
    assert_int_equal(info.ranges[0].last, 0xfedfffffull);
    assert_true(info.has_migration);
    assert_int_equal(info.dirty_pgsizes, PG);
    assert_int_equal(info.max_dirty_bitmap_size, 256ull << 20);
    assert_true(info.has_dma_avail);
    assert_int_equal(info.dma_avail, 65535);
    assert_ok(vfi_type1_map(s.t1, 0x100000, 4 * PG, buf, false, &err), err);
    assert_ok(vfi_sim_dma_write(sim, "d0", 0x100000, PG, &err), err);
    assert_ok(vfi_sim_dma_write(sim, "d1", 0x101000, PG, &err), err);   /* its group */
    dirty_round(&s);
    assert_false(vfi_sim_dma_write(sim, "d0", 0x100000, PG, &err));
    g_clear_error(&err);
    /* an unaligned range: refused before any ioctl */
    {
        uint64_t before = vfi_sim_ioctl_count(sim);

        assert_false(vfi_type1_map(s.t1, 0x100800, PG, buf, false, &err));
        assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
        assert_int_equal(vfi_sim_ioctl_count(sim), before);
    }
    /* the group is open: a second opener in the process is refused */
    assert_null(vfi_group_open(5, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    /* leaving the group: its cdev opens again (unbound, the group open) */
    vfi_device_leave_group(s.dev);
    vfi_device_reopen_cdev(s.dev);
    assert_true(s.dev->fd >= 0);
    assert_ok(vfi_group_unset_container(s.group, &err), err);
    scene_down(&s);
    assert_int_equal(vfi_sim_type1_live(sim), 0);
    free(buf);
    test_sim_free_clean(sim);
}

/* A failure at each ioctl of the scene leaves nothing open or set. */
static bool fault_pass(VfiSim *sim, unsigned nth)
{
    g_autoptr(GError) err = NULL;
    Scene s = { 0 };
    bool ok;

    vfi_sim_fail_nth(sim, nth, EIO);
    ok = scene_up(sim, &s, &err);
    scene_down(&s);
    return ok;
}

static void test_faults(void **state)
{
    (void)state;
    type1_fault_passes(topology, 100, 5, fault_pass);
}

/* The viability error names the host-driver device; not viable is refused. */
static void test_open_refusals(void **state)
{
    VfiSim *sim = test_sim_new(topology);
    g_autoptr(GError) err = NULL;
    VfiDevice *dev = vfi_device_open_sysfs(vfi_sim_device_sysfs_path(sim, "d1"), &err);
    VfiGroup *g;

    (void)state;
    assert_non_null(dev);
    /* its cdev is bound: the kernel refuses the group with EBUSY */
    {
        VfiIommufd *be = vfi_iommufd_new();

        assert_ok(vfi_device_bind(dev, be, &err), err);
        assert_null(vfi_group_open(5, &err));
        assert_gerror(err, VFI_KERNEL_ERROR, EBUSY);
        vfi_device_free(dev);
        assert_ok(vfi_iommufd_free(be, &err), err);
    }
    g = vfi_group_open(5, &err);
    assert_non_null(g);
    /* a cdev opens while its group is open (binding it would be EBUSY) */
    dev = vfi_device_open_sysfs(vfi_sim_device_sysfs_path(sim, "d0"), &err);
    assert_non_null(dev);
    assert_true(dev->fd >= 0);
    /* a group in no container gives no device fd: EINVAL, the cdev back */
    assert_false(vfi_device_open_in_group(dev, g, &err));
    assert_gerror(err, VFI_KERNEL_ERROR, EINVAL);
    assert_true(dev->fd >= 0);
    vfi_group_close(g);
    vfi_device_reopen_cdev(dev);
    assert_true(dev->fd >= 0);
    g = NULL;
    /* a passed fd never joins a group */
    {
        VfiDevice *passed = vfi_device_new_from_fd(dev->fd, NULL, &err);

        assert_false(vfi_device_release_cdev(passed, &err));
        assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
        vfi_device_free(passed);
    }
    vfi_device_free(dev);
    vfi_group_close(g);
    test_sim_free_clean(sim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_device_through_group),
        cmocka_unit_test(test_faults),
        cmocka_unit_test(test_open_refusals),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
