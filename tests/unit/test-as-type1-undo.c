/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The undo of a first type1 attach whose replay failed (place_in_new(),
 * hw/vfio/address-space/address-space.c): the device's group joined the
 * new container and set its IOMMU, the replay of the address space's
 * mappings failed, and the undo's VFIO_GROUP_UNSET_CONTAINER fails too
 * (EBUSY). The container layer closes the group anyway (the kernel unsets
 * a group's container when its fd is closed), so the detach succeeds: the
 * replay's error is returned, nothing asserts, the address space and
 * everything else can be freed, nothing is left on the model, and a later
 * attach works.
 */
#include "test-type1-helpers.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <linux/vfio.h>

#include "vfio-iommufd/container.h"
#include "vfio-iommufd/error.h"

static const char topology[] = "[iommu a]\n" TYPE1_TOPO_SOLO;

#define RAM_SIZE (16 * PG)

typedef struct Scene {
    VfiSim *sim;
    VfiIommufd *be;
    VfiAddressSpace *as;
    VfiDevice *dev;
    void *ram;
} Scene;

/* A type1 address space with one mapping (replayed at the first attach)
 * and the device "solo", not attached yet. */
static void scene_up(Scene *s)
{
    g_autoptr(GError) err = NULL;

    s->sim = test_sim_new(topology);
    s->be = vfi_iommufd_new();
    s->as = vfi_address_space_new(NULL);
    s->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(s->ram != MAP_FAILED);
    assert_ok(vfi_address_space_set_backend(s->as, VFI_BACKEND_TYPE1, &err), err);
    assert_ok(vfi_address_space_dma_map(s->as, 0, RAM_SIZE, s->ram, false, &err), err);
    s->dev = vfi_device_open_sysfs(vfi_sim_device_sysfs_path(s->sim, "solo"), &err);
    assert_ok(s->dev != NULL, err);
}

/* Everything freed, nothing left on the model (objects, fds, groups,
 * type1 containers: test_sim_free_clean()). */
static void scene_down(Scene *s)
{
    g_autoptr(GError) err = NULL;

    vfi_device_free(s->dev);
    assert_ok(vfi_address_space_free(s->as, &err), err);
    assert_ok(vfi_iommufd_free(s->be, &err), err);
    munmap(s->ram, RAM_SIZE);
    assert_int_equal(vfi_sim_type1_live(s->sim), 0);
    test_sim_free_clean(s->sim);
}

/* The first attach with the replay's map failing (EIO); @unset_nth > 0:
 * the @unset_nth-th ioctl of the attach fails too (EBUSY). Returns how
 * many ioctls the attach made; the attach must fail with the map's EIO. */
static uint64_t attach_failing(Scene *s, unsigned unset_nth)
{
    g_autoptr(GError) err = NULL;
    uint64_t before = vfi_sim_ioctl_count(s->sim);
    uint64_t maps = vfi_sim_op_count(s->sim, VFI_SIM_OP_TYPE1_MAP);

    vfi_sim_fail_next(s->sim, VFI_SIM_OP_TYPE1_MAP, EIO);
    if (unset_nth) {
        vfi_sim_fail_nth(s->sim, unset_nth, EBUSY);
    }
    assert_false(vfi_address_space_attach_device(s->as, s->be, s->dev, NULL, &err));
    vfi_sim_fail_clear(s->sim);
    assert_gerror(err, VFI_KERNEL_ERROR, EIO);
    /* the replay's map was made (and failed): the group had joined */
    assert_int_equal(vfi_sim_op_count(s->sim, VFI_SIM_OP_TYPE1_MAP), maps + 1);
    /* the attach left nothing: no container, the device in none */
    assert_null(vfi_device_get_container(s->dev));
    assert_int_equal(vfi_sim_type1_live(s->sim), 0);
    assert_int_equal(vfi_address_space_get_backend(s->as), VFI_BACKEND_TYPE1);
    return vfi_sim_ioctl_count(s->sim) - before;
}

/* The request of the last ioctl the model handled. */
static unsigned long last_request(const VfiSim *sim)
{
    unsigned long req = 0;

    vfi_sim_last_ioctl(sim, &req, NULL, 0);
    return req;
}

/* Where the undo's VFIO_GROUP_UNSET_CONTAINER is: the attach's last ioctl
 * (then the group and the container are closed), found on a scene of its
 * own. */
static unsigned unset_position(void)
{
    Scene s = { 0 };
    uint64_t n;

    scene_up(&s);
    n = attach_failing(&s, 0);
    assert_int_equal(last_request(s.sim), VFIO_GROUP_UNSET_CONTAINER);
    scene_down(&s);
    assert_true(n > 1 && n < 1000);
    return (unsigned)n;
}

static void test_undo_unset_fails(void **state)
{
    unsigned nth = unset_position();
    uint64_t groups;
    g_autoptr(GError) err = NULL;
    Scene s = { 0 };

    (void)state;
    scene_up(&s);
    groups = vfi_sim_op_count(s.sim, VFI_SIM_OP_GROUP);
    assert_int_equal(attach_failing(&s, nth), nth);
    /* the injected failure hit the undo's UNSET_CONTAINER (it was made,
     * and failed: the injection was used up by it) */
    assert_int_equal(last_request(s.sim), VFIO_GROUP_UNSET_CONTAINER);
    assert_true(vfi_sim_op_count(s.sim, VFI_SIM_OP_GROUP) > groups);
    /* rolled back fully: the next attach works, replay included */
    assert_ok(vfi_address_space_attach_device(s.as, s.be, s.dev, NULL, &err), err);
    assert_ok(vfi_sim_dma_write(s.sim, "solo", 0, RAM_SIZE, &err), err);
    assert_ok(vfi_address_space_detach_device(s.as, s.dev, &err), err);
    scene_down(&s);
}

/* The same without the UNSET failure: the reference the test above is
 * measured against. */
static void test_undo_plain(void **state)
{
    g_autoptr(GError) err = NULL;
    Scene s = { 0 };

    (void)state;
    scene_up(&s);
    attach_failing(&s, 0);
    assert_ok(vfi_address_space_attach_device(s.as, s.be, s.dev, NULL, &err), err);
    assert_ok(vfi_address_space_detach_device(s.as, s.dev, &err), err);
    scene_down(&s);
}

/* The address space freed right after the failed undo (the device never
 * attached again). */
static void test_undo_unset_fails_then_free(void **state)
{
    unsigned nth = unset_position();
    Scene s = { 0 };

    (void)state;
    scene_up(&s);
    attach_failing(&s, nth);
    scene_down(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_undo_plain),
        cmocka_unit_test(test_undo_unset_fails),
        cmocka_unit_test(test_undo_unset_fails_then_free),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
