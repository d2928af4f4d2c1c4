/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the container ops table (hw/vfio/container/container-ops.h) gives a
 * type1 address space, against the kernel model through the public API:
 * device DMA logging in mixed mode (a device that logs its own DMA gets
 * logging coverage, the other type1's "every mapped page"), a parallel
 * sync bit-identical to the serial one, a container-level query cutting a
 * mapping (the rest kept, never lost), a map by file (mmapped by the
 * library) with a DMA through it (the model's type1 DMA moves no bytes), a dma-buf-like fd refused, and a failure
 * at every ioctl of the new flows leaving nothing behind.
 */
#include "test-common.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vfio-iommufd/container.h"
#include "vfio-iommufd/dirty.h"
#include "vfio-iommufd/dirty-pool.h"

static const char topology[] =
    "[iommu a]\n"
    "[device lg]\niommu=a\ndma-logging=true\n"
    "[device solo]\niommu=a\n";

#define PG 4096ull
#define NR 64
#define RAM (NR * PG)

typedef struct Scene {
    VfiSim *sim;
    VfiAddressSpace *as;
    VfiDevice *lg, *solo;
    void *ram;
    uint64_t bits[NR / 64];
    VfiDirtyLog log;
} Scene;

static void scene_up(Scene *s, bool both)
{
    g_autoptr(GError) err = NULL;

    s->sim = test_sim_new(topology);
    s->as = vfi_address_space_new(NULL);
    s->ram = mmap(NULL, RAM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(s->ram != MAP_FAILED);
    s->log = (VfiDirtyLog){ .base_iova = 0, .page_size = PG, .bitmap = s->bits,
                            .nr_pages = NR };
    s->lg = vfi_device_open_sysfs(vfi_sim_device_sysfs_path(s->sim, "lg"), &err);
    assert_ok(s->lg != NULL, err);
    s->solo = both ? vfi_device_open_sysfs(vfi_sim_device_sysfs_path(s->sim, "solo"), &err)
                   : NULL;
    assert_ok(vfi_address_space_set_backend(s->as, VFI_BACKEND_TYPE1, &err), err);
}

static void scene_down(Scene *s)
{
    vfi_device_free(s->lg);
    vfi_device_free(s->solo);
    assert_true(vfi_address_space_free(s->as, NULL));
    munmap(s->ram, RAM);
    assert_int_equal(vfi_sim_type1_live(s->sim), 0);
    test_sim_free_clean(s->sim);
}

static unsigned popcount(const uint64_t *bits)
{
    unsigned n = 0;

    for (unsigned i = 0; i < NR / 64; i++) {
        n += (unsigned)__builtin_popcountll(bits[i]);
    }
    return n;
}

/* Mixed mode: lg logs its own DMA, solo has type1's every page; with solo
 * gone, a new session reads lg's log alone: exactly the page it wrote. */
static void test_logging_mixed(void **state)
{
    g_autoptr(GError) err = NULL;
    g_autofree VfiDirtyDeviceReport *rep = NULL;
    Scene s = { 0 };
    unsigned n;

    (void)state;
    scene_up(&s, true);
    assert_ok(vfi_address_space_attach_device(s.as, NULL, s.lg, NULL, &err), err);
    assert_ok(vfi_address_space_attach_device(s.as, NULL, s.solo, NULL, &err), err);
    assert_ok(vfi_address_space_dma_map(s.as, 0, RAM, s.ram, false, &err), err);
    rep = vfi_address_space_dirty_report(s.as, &n);
    assert_int_equal(n, 2);
    assert_int_equal(rep[0].coverage, VFI_DIRTY_COVERAGE_DEVICE_LOGGING);
    assert_int_equal(rep[1].coverage, VFI_DIRTY_COVERAGE_TYPE1);
    assert_int_equal(vfi_container_get_backend_kind(rep[0].container), VFI_BACKEND_TYPE1);
    assert_ok(vfi_address_space_dirty_tracking_start(s.as, &err), err);
    assert_true(vfi_device_dma_logging_active(s.lg));
    assert_ok(vfi_address_space_sync_dirty(s.as, &s.log, &err), err);
    assert_int_equal(popcount(s.bits), NR);          /* solo: every mapped page */
    memset(s.bits, 0, sizeof(s.bits));
    assert_ok(vfi_address_space_detach_device_dirty(s.as, s.solo, &s.log, &err), err);
    assert_ok(vfi_address_space_dirty_tracking_stop(s.as, &err), err);
    assert_false(vfi_device_dma_logging_active(s.lg));
    assert_ok(vfi_address_space_dirty_tracking_start(s.as, &err), err);
    assert_ok(vfi_sim_dma_write(s.sim, "lg", 5 * PG, PG, &err), err);
    memset(s.bits, 0, sizeof(s.bits));
    assert_ok(vfi_address_space_sync_dirty(s.as, &s.log, &err), err);
    assert_int_equal(s.bits[0], UINT64_C(1) << 5);   /* lg's log alone */
    assert_ok(vfi_address_space_dirty_tracking_stop(s.as, &err), err);
    assert_ok(vfi_address_space_detach_device(s.as, s.lg, &err), err);
    assert_ok(vfi_address_space_dma_unmap(s.as, 0, RAM, 0, &err), err);
    scene_down(&s);
}

/* Tracking with only a logging device (type1's IOMMU side off); a device
 * without logging attached then brings the IOMMU side on (catch-up). */
static void test_logging_catch_up(void **state)
{
    g_autoptr(GError) err = NULL;
    g_autofree VfiDirtyDeviceReport *rep = NULL;
    Scene s = { 0 };
    unsigned n;

    (void)state;
    scene_up(&s, true);
    assert_ok(vfi_address_space_attach_device(s.as, NULL, s.lg, NULL, &err), err);
    assert_ok(vfi_address_space_dma_map(s.as, 0, RAM, s.ram, false, &err), err);
    assert_ok(vfi_address_space_dirty_tracking_start(s.as, &err), err);
    assert_ok(vfi_address_space_sync_dirty(s.as, &s.log, &err), err);
    assert_int_equal(popcount(s.bits), 0);           /* lg wrote nothing */
    assert_ok(vfi_address_space_attach_device(s.as, NULL, s.solo, NULL, &err), err);
    rep = vfi_address_space_dirty_report(s.as, &n);
    assert_int_equal(n, 2);
    assert_int_equal(rep[1].coverage, VFI_DIRTY_COVERAGE_TYPE1);
    assert_int_equal(rep[1].reason, VFI_COVERED);
    assert_ok(vfi_address_space_sync_dirty(s.as, &s.log, &err), err);
    assert_int_equal(popcount(s.bits), NR);          /* the IOMMU side is on */
    assert_ok(vfi_address_space_dirty_tracking_stop(s.as, &err), err);
    assert_ok(vfi_address_space_detach_device(s.as, s.solo, &err), err);
    assert_ok(vfi_address_space_detach_device(s.as, s.lg, &err), err);
    assert_ok(vfi_address_space_dma_unmap(s.as, 0, RAM, 0, &err), err);
    scene_down(&s);
}

/* A parallel sync reads what the serial one does; a query that cuts a
 * mapping keeps the rest of it for the read of those pages. */
static void test_parallel_and_query(void **state)
{
    g_autoptr(GError) err = NULL;
    uint64_t serial[NR / 64];
    VfiDirtyPool *pool;
    VfiContainer *c;
    Scene s = { 0 };

    (void)state;
    scene_up(&s, true);
    pool = vfi_dirty_pool_new(2, &err);
    assert_ok(pool != NULL, err);
    assert_ok(vfi_address_space_attach_device(s.as, NULL, s.solo, NULL, &err), err);
    assert_ok(vfi_address_space_dma_map(s.as, 0, 16 * PG, s.ram, false, &err), err);
    assert_ok(vfi_address_space_dma_map(s.as, 32 * PG, 8 * PG, (char *)s.ram + 32 * PG,
                                        false, &err), err);
    assert_ok(vfi_address_space_dirty_tracking_start(s.as, &err), err);
    assert_ok(vfi_address_space_sync_dirty(s.as, &s.log, &err), err);
    memcpy(serial, s.bits, sizeof(serial));
    memset(s.bits, 0, sizeof(s.bits));
    assert_ok(vfi_address_space_sync_dirty_parallel(s.as, &s.log, pool, &err), err);
    assert_memory_equal(serial, s.bits, sizeof(serial));
    assert_int_equal(popcount(s.bits), 24);
    /* the container-level query of half the first mapping */
    c = vfi_device_get_container(s.solo);
    memset(s.bits, 0, sizeof(s.bits));
    assert_ok(vfi_container_query_dirty(c, 0, 8 * PG, &s.log, 0, &err), err);
    assert_int_equal(s.bits[0], 0xff);
    assert_ok(vfi_address_space_dma_unmap_dirty(s.as, 0, 16 * PG, &s.log, 0, &err), err);
    assert_int_equal(s.bits[0] & 0xffff, 0xffff);
    assert_ok(vfi_address_space_dirty_tracking_stop(s.as, &err), err);
    assert_ok(vfi_address_space_detach_device(s.as, s.solo, &err), err);
    assert_ok(vfi_address_space_dma_unmap(s.as, 32 * PG, 8 * PG, 0, &err), err);
    vfi_dirty_pool_free(pool);
    scene_down(&s);
}

/* A map by file: the library mmaps it; a DMA lands in the file; a pipe (no
 * regular file, like a dma-buf) and a kernel-chosen IOVA are refused. */
static void test_map_file(void **state)
{
    g_autoptr(GError) err = NULL;
    const char msg[] = "through type1";
    char back[sizeof(msg)] = { 0 };
    int fd = memfd_create("t1", MFD_CLOEXEC), p[2];
    uint64_t at;
    Scene s = { 0 };

    (void)state;
    scene_up(&s, false);
    assert_int_equal(ftruncate(fd, 16 * PG), 0);
    assert_int_equal(pipe(p), 0);
    assert_ok(vfi_address_space_attach_device(s.as, NULL, s.lg, NULL, &err), err);
    assert_ok(vfi_address_space_dma_map_file(s.as, 0x100000, 16 * PG, fd, 0, false, NULL,
                                             &err), err);
    /* the model's type1 DMA moves no bytes: the write goes through the
     * mapping, and the library's mmap is the file's (MAP_SHARED) */
    assert_ok(vfi_sim_dma_write(s.sim, "lg", 0x100000 + PG, PG, &err), err);
    assert_int_equal(pwrite(fd, msg, sizeof(msg), PG), sizeof(msg));
    assert_int_equal(pread(fd, back, sizeof(back), PG), sizeof(back));
    assert_string_equal(back, msg);
    assert_false(vfi_address_space_dma_map_file(s.as, 0x200000, PG, p[0], 0, false, NULL,
                                                &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_NOT_SUPPORTED);
    assert_false(vfi_address_space_dma_map_file(s.as, VFI_IOVA_ANY, PG, fd, 0, false, &at,
                                                &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_NOT_SUPPORTED);
    assert_int_equal(vfi_address_space_mapping_count(s.as), 1);
    assert_ok(vfi_address_space_dma_unmap(s.as, 0x100000, 16 * PG, 0, &err), err);
    assert_false(vfi_sim_dma_write(s.sim, "lg", 0x100000, PG, &err));
    g_clear_error(&err);
    assert_ok(vfi_address_space_detach_device(s.as, s.lg, &err), err);
    close(fd);
    close(p[0]);
    close(p[1]);
    scene_down(&s);
}

/* The container-level calls on the type1 container: a map of its own, an
 * unmap of all of them; a live-update save refused before any ioctl. */
static void test_container_level(void **state)
{
    g_autoptr(GError) err = NULL;
    uint64_t done = 0, before;
    VfiContainer *c;
    Scene s = { 0 };

    (void)state;
    scene_up(&s, false);
    assert_ok(vfi_address_space_attach_device(s.as, NULL, s.lg, NULL, &err), err);
    c = vfi_device_get_container(s.lg);
    assert_int_equal(vfi_container_get_iova_alignment(c), PG);
    assert_int_equal(vfi_container_hwpt_count(c), 0);
    assert_ok(vfi_container_dma_map(c, 0, 4 * PG, s.ram, false, &err), err);
    assert_ok(vfi_container_dma_map(c, 8 * PG, 4 * PG, (char *)s.ram + 8 * PG, false, &err),
              err);
    assert_ok(vfi_sim_dma_write(s.sim, "lg", 9 * PG, PG, &err), err);
    assert_int_equal(vfi_container_mapping_count(c), 2);
    /* unaligned to the IOMMU page: refused before any ioctl */
    before = vfi_sim_ioctl_count(s.sim);
    assert_false(vfi_container_dma_map(c, 16 * PG + 512, PG, s.ram, false, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_int_equal(vfi_sim_ioctl_count(s.sim), before);
    /* an overlap: the kernel's EEXIST, as on IOMMUFD */
    assert_false(vfi_container_dma_map(c, 2 * PG, PG, s.ram, false, &err));
    g_clear_error(&err);
    assert_ok(vfi_container_dma_unmap_all(c, &done, &err), err);
    assert_int_equal(done, 8 * PG);
    assert_int_equal(vfi_container_mapping_count(c), 0);
    assert_false(vfi_sim_dma_write(s.sim, "lg", 9 * PG, PG, &err));
    g_clear_error(&err);
    assert_ok(vfi_address_space_detach_device(s.as, s.lg, &err), err);
    scene_down(&s);
}

/* The new flows: attach a logging device, map by file, track (its DMA
 * logging started), sync, unmap with the dirty read, stop, detach. */
static bool faults_run(Scene *s, int fd, GError **errp)
{
    return vfi_address_space_attach_device(s->as, NULL, s->lg, NULL, errp) &&
           vfi_address_space_dma_map_file(s->as, 0, 16 * PG, fd, 0, false, NULL, errp) &&
           vfi_address_space_dirty_tracking_start(s->as, errp) &&
           vfi_address_space_sync_dirty(s->as, &s->log, errp) &&
           vfi_address_space_dma_unmap_dirty(s->as, 0, 16 * PG, &s->log, 0, errp) &&
           vfi_address_space_dirty_tracking_stop(s->as, errp) &&
           vfi_address_space_detach_device(s->as, s->lg, errp);
}

static void test_faults(void **state)
{
    (void)state;
    for (unsigned nth = 1; nth < 200; nth++) {
        g_autoptr(GError) err = NULL;
        int fd = memfd_create("t1", MFD_CLOEXEC);
        Scene s = { 0 };
        bool ok;

        scene_up(&s, false);
        assert_int_equal(ftruncate(fd, 16 * PG), 0);
        vfi_sim_fail_nth(s.sim, nth, EIO);
        ok = faults_run(&s, fd, &err);
        vfi_sim_fail_clear(s.sim);
        if (!ok) {
            vfi_address_space_dirty_tracking_stop(s.as, NULL);
            vfi_address_space_dma_unmap(s.as, 0, 16 * PG, VFI_UNMAP_DISCARD_DIRTY |
                                        VFI_UNMAP_ALLOW_ABSENT, NULL);
            vfi_address_space_detach_device(s.as, s.lg, NULL);
        }
        close(fd);
        vfi_device_free(s.lg);
        assert_true(vfi_address_space_free(s.as, NULL));
        munmap(s.ram, RAM);
        assert_int_equal(vfi_sim_type1_live(s.sim), 0);
        if (test_sim_fault_pass_end(s.sim, ok, nth, 8)) {
            return;
        }
    }
    fail_msg("the flow never ran through");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_logging_mixed),
        cmocka_unit_test(test_logging_catch_up),
        cmocka_unit_test(test_parallel_and_query),
        cmocka_unit_test(test_map_file),
        cmocka_unit_test(test_container_level),
        cmocka_unit_test(test_faults),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
