/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The public dirty reader of a container (vfi_dirty_reader_new_for_container(),
 * hw/vfio/migration/dirty-reader.c) against the kernel model: on a type1
 * container (its VFIO_IOMMU_DIRTY_PAGES reads, through the container ops)
 * and, the same, on an IOMMUFD one, with and without a device's DMA log;
 * its reads, whole or in pieces cutting mappings, set bit for bit what the
 * serial sync of the same scene sets. Its refusals come before any ioctl.
 */
#include "test-type1-helpers.h"

#include <string.h>
#include <sys/mman.h>

#include "vfio-iommufd/container.h"
#include "vfio-iommufd/dirty.h"
#include "vfio-iommufd/dirty-pool.h"

#define TOPO_PLAIN "[iommu a]\ndirty-tracking=true\n[device solo]\niommu=a\n"
#define TOPO_LOG "[iommu a]\ndirty-tracking=true\n[device solo]\niommu=a\ndma-logging=true\n"
#define PAGES 64u
#define SPAN (PAGES * PG)

typedef struct Scene {
    VfiSim *sim;
    VfiIommufd *be;
    VfiAddressSpace *as;
    VfiDevice *dev;
    uint8_t *ram;
    uint64_t bits[PAGES / 64];
    VfiDirtyLog log;
} Scene;

/* Three mappings with holes ([0,8) [8,24) [40,56) pages), tracking on, the
 * device's DMA over pages 3, 9, 23 and 41-44. */
static void scene_up(Scene *s, VfiBackendKind kind, bool logging)
{
    VfiAttachOptions opts = VFI_ATTACH_OPTIONS_INIT(.prefer_device_dirty_logging = logging);
    static const uint64_t maps[][2] = { { 0, 8 }, { 8, 16 }, { 40, 16 } };
    g_autoptr(GError) err = NULL;

    s->sim = test_sim_new(logging ? TOPO_LOG : TOPO_PLAIN);
    s->be = vfi_iommufd_new();
    s->as = vfi_address_space_new(NULL);
    s->ram = mmap(NULL, SPAN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(s->ram != MAP_FAILED);
    s->log = (VfiDirtyLog){ .base_iova = 0, .page_size = PG, .bitmap = s->bits,
                            .nr_pages = PAGES };
    s->dev = vfi_device_open_sysfs(vfi_sim_device_sysfs_path(s->sim, "solo"), &err);
    assert_ok(s->dev != NULL, err);
    assert_ok(vfi_address_space_set_backend(s->as, kind, &err), err);
    assert_ok(vfi_address_space_attach_device(s->as, s->be, s->dev, &opts, &err), err);
    for (unsigned i = 0; i < G_N_ELEMENTS(maps); i++) {
        assert_ok(vfi_address_space_dma_map(s->as, maps[i][0] * PG, maps[i][1] * PG,
                                            s->ram + maps[i][0] * PG, false, &err), err);
    }
    assert_ok(vfi_address_space_dirty_tracking_start(s->as, &err), err);
    assert_ok(vfi_sim_dma_write(s->sim, "solo", 3 * PG, PG, &err), err);
    assert_ok(vfi_sim_dma_write(s->sim, "solo", 9 * PG, PG, &err), err);
    assert_ok(vfi_sim_dma_write(s->sim, "solo", 23 * PG, PG, &err), err);
    assert_ok(vfi_sim_dma_write(s->sim, "solo", 41 * PG, 4 * PG, &err), err);
}

static void scene_down(Scene *s)
{
    g_autoptr(GError) err = NULL;

    assert_ok(vfi_address_space_dirty_tracking_stop(s->as, &err), err);
    assert_ok(vfi_address_space_dma_unmap(s->as, 0, 24 * PG, 0, &err), err);
    assert_ok(vfi_address_space_dma_unmap(s->as, 40 * PG, 16 * PG, 0, &err), err);
    assert_ok(vfi_address_space_detach_device(s->as, s->dev, &err), err);
    vfi_device_free(s->dev);
    assert_ok(vfi_address_space_free(s->as, &err), err);
    assert_ok(vfi_iommufd_free(s->be, &err), err);
    munmap(s->ram, SPAN);
    test_sim_free_clean(s->sim);
}

/* The serial sync's bits of the scene. */
static void sync_bits(VfiBackendKind kind, bool logging, uint64_t *out)
{
    g_autoptr(GError) err = NULL;
    Scene s = { 0 };

    scene_up(&s, kind, logging);
    assert_ok(vfi_address_space_sync_dirty(s.as, &s.log, &err), err);
    memcpy(out, s.bits, sizeof(s.bits));
    scene_down(&s);
}

/* The reader's bits of the scene: the whole span, or pieces cutting the
 * mappings (and a hole) at odd pages. */
static void reader_bits(VfiBackendKind kind, bool logging, bool pieces, uint64_t *out)
{
    static const uint64_t cut[] = { 0, 5, 13, 30, 43, PAGES };
    g_autoptr(GError) err = NULL;
    Scene s = { 0 };
    VfiDirtyReader *r;

    scene_up(&s, kind, logging);
    r = vfi_dirty_reader_new_for_container(vfi_device_get_container(s.dev), &err);
    assert_ok(r != NULL, err);
    for (unsigned i = 0; i + 1 < G_N_ELEMENTS(cut); i++) {
        uint64_t a = pieces ? cut[i] : 0, b = pieces ? cut[i + 1] : PAGES;

        assert_ok(vfi_dirty_reader_query(r, a * PG, (b - a) * PG, &s.log, 0, &err), err);
        if (!pieces) {
            break;
        }
    }
    memcpy(out, s.bits, sizeof(s.bits));
    vfi_dirty_reader_free(r);
    scene_down(&s);
}

static void check_identical(VfiBackendKind kind, bool logging)
{
    uint64_t want[PAGES / 64], whole[PAGES / 64], pieces[PAGES / 64];

    sync_bits(kind, logging, want);
    reader_bits(kind, logging, false, whole);
    reader_bits(kind, logging, true, pieces);
    assert_true(want[0] != 0);
    assert_int_equal(want[0] & 0xffff0000ffffffull, want[0]);     /* no bit in a hole */
    assert_memory_equal(whole, want, sizeof(want));
    assert_memory_equal(pieces, want, sizeof(want));
    if (kind == VFI_BACKEND_TYPE1 && !logging) {
        /* type1 without a log: every mapped page */
        assert_int_equal(want[0], 0x00ffff0000ffffffull);
    }
}

static void test_type1(void **state)
{
    (void)state;
    check_identical(VFI_BACKEND_TYPE1, false);
}

static void test_type1_logging(void **state)
{
    (void)state;
    check_identical(VFI_BACKEND_TYPE1, true);
}

static void test_iommufd(void **state)
{
    (void)state;
    check_identical(VFI_BACKEND_IOMMUFD, false);
}

/* Refused before any ioctl: tracking off, the HWPT calls, a parallel
 * query; NULL container. */
static void test_refusals(void **state)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(VfiDirtyPool) pool = vfi_dirty_pool_new(2, NULL);
    Scene s = { 0 };
    VfiDirtyReader *r;
    uint64_t n;

    (void)state;
    assert_null(vfi_dirty_reader_new_for_container(NULL, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    g_clear_error(&err);
    scene_up(&s, VFI_BACKEND_TYPE1, false);
    r = vfi_dirty_reader_new_for_container(vfi_device_get_container(s.dev), &err);
    assert_ok(r != NULL, err);
    n = vfi_sim_ioctl_count(s.sim);
    assert_false(vfi_dirty_reader_add_hwpt(r, 1, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    g_clear_error(&err);
    assert_false(vfi_dirty_reader_add_mapping(r, 0, PG, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    g_clear_error(&err);
    assert_false(vfi_dirty_reader_query_parallel(r, 0, SPAN, &s.log, 0, pool, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_NOT_SUPPORTED);
    g_clear_error(&err);
    assert_int_equal(vfi_sim_ioctl_count(s.sim), n);
    assert_ok(vfi_address_space_dirty_tracking_stop(s.as, &err), err);
    n = vfi_sim_ioctl_count(s.sim);
    assert_false(vfi_dirty_reader_query(r, 0, SPAN, &s.log, 0, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    g_clear_error(&err);
    assert_int_equal(vfi_sim_ioctl_count(s.sim), n);
    assert_int_equal(s.bits[0], 0);
    vfi_dirty_reader_free(r);
    assert_ok(vfi_address_space_dirty_tracking_start(s.as, &err), err);
    scene_down(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type1),
        cmocka_unit_test(test_type1_logging),
        cmocka_unit_test(test_iommufd),
        cmocka_unit_test(test_refusals),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
