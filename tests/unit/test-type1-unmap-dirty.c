/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reads of dirty bits on a type1 container against the kernel model, with
 * the model's count of ioctls by kind: an address space's unmap with a
 * dirty read reads the IOMMU bits once, by the unmap itself
 * (VFIO_IOMMU_UNMAP_DMA with GET_DIRTY_BITMAP, no DIRTY_PAGES read before
 * it), and still delivers the pages kept from an earlier read and the
 * device DMA logs; so does a container-level one, and the unmaps of the
 * record's resync after an ENOENT read theirs too (the model's own counts
 * of type1 ioctls agree). The bits land on the log's pages whatever their
 * size and the mapping's offset in it; steady-state syncs allocate nothing;
 * an unmap munmaps its own file mmaps and no other.
 */
#include "test-type1-helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/vfio.h>

#include "alloc-counter.h"
#include "vfio-iommufd/kernel.h"
#include "vfio-iommufd/container.h"
#include "vfio-iommufd/dirty.h"

/* mdevs only: the type1 bitmap holds exactly what an mdev wrote (no
 * physical group, whose pages type1 reports all dirty). ml logs its own
 * DMA; lg is a physical device that does. */
#define TOPO_MDEV "[device m]\nmdev=true\n"
#define TOPO_MDEV_LOG "[device ml]\nmdev=true\ndma-logging=true\n"
#define TOPO_LOG "[iommu a]\n[device lg]\niommu=a\ndma-logging=true\n"

#define NR 256

/*
 * The reads of dirty bits, counted by a kernel wrapped around the model
 * (include/vfio-iommufd/kernel.h): the model counts ioctls by kind
 * (vfi_sim_op_count(), checked against these where they meet), not by
 * their flags (a DIRTY_PAGES read from a start, an unmap with its bitmap
 * from one without). The container ioctls share their numbers with device
 * ones (VFIO_IOMMU_DIRTY_PAGES is VFIO_DEVICE_FEATURE's), so the wrapper
 * tells them apart by the fd, the type1 container's being the one opened
 * from /dev/vfio/vfio.
 */
typedef struct Reads {
    uint64_t bitmap_reads;      /* DIRTY_PAGES with GET_BITMAP */
    uint64_t unmaps;            /* UNMAP_DMA */
    uint64_t unmap_reads;       /*   of them with GET_DIRTY_BITMAP */
    uint64_t reports;           /* DMA_LOGGING_REPORT on a device */
} Reads;

static struct {
    const VfiKernelOps *inner;
    void *opaque;
    int container_fd;
    Reads n;
    bool counting;              /* the library's allocations being counted */
    unsigned long allocs;       /*   so far (the model's left out) */
} wrap;

static int wrap_open(void *opaque, const char *path, int flags)
{
    int fd = wrap.inner->open(wrap.opaque, path, flags);

    if (fd >= 0 && strcmp(path, "/dev/vfio/vfio") == 0) {
        wrap.container_fd = fd;
    }
    return fd;
}

static int wrap_close(void *opaque, int fd)
{
    return wrap.inner->close(wrap.opaque, fd);
}

static void wrap_count(int fd, unsigned long request, const void *arg)
{
    const struct vfio_iommu_type1_dirty_bitmap *d = arg;
    const struct vfio_iommu_type1_dma_unmap *u = arg;
    const struct vfio_device_feature *f = arg;

    if (fd == wrap.container_fd && request == VFIO_IOMMU_DIRTY_PAGES) {
        wrap.n.bitmap_reads += !!(d->flags & VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP);
    } else if (fd == wrap.container_fd && request == VFIO_IOMMU_UNMAP_DMA) {
        wrap.n.unmaps++;
        wrap.n.unmap_reads += !!(u->flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP);
    } else if (fd != wrap.container_fd && request == VFIO_DEVICE_FEATURE) {
        wrap.n.reports += (f->flags & VFIO_DEVICE_FEATURE_MASK) ==
                          VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT;
    }
}

/* An ioctl: counted, and the model's allocations while it runs left out
 * of the library's (the kernel is not the library). */
static int wrap_ioctl(void *opaque, int fd, unsigned long request, void *arg)
{
    int ret;

    wrap_count(fd, request, arg);
    if (wrap.counting) {
        wrap.allocs += alloc_counter_disarm();
    }
    ret = wrap.inner->ioctl(wrap.opaque, fd, request, arg);
    if (wrap.counting) {
        alloc_counter_arm();
    }
    return ret;
}

/* Count the library's allocations (not the model's) from here... */
static void library_allocs_arm(void)
{
    wrap.allocs = 0;
    wrap.counting = true;
    alloc_counter_arm();
}

/* ...to here. */
static unsigned long library_allocs_disarm(void)
{
    wrap.allocs += alloc_counter_disarm();
    wrap.counting = false;
    return wrap.allocs;
}

/* The model installed (by test_sim_new()), wrapped before any object is
 * made; vfi_sim_free() puts Linux back. */
static void wrap_install(VfiSim *sim)
{
    static VfiKernelOps ops = VFI_KERNEL_OPS_INIT(.open = wrap_open, .close = wrap_close,
                                                   .ioctl = wrap_ioctl);
    g_autoptr(GError) err = NULL;

    vfi_kernel_get(&wrap.inner, &wrap.opaque);
    /* the model's optional operations (read, write, mmap, munmap) as it
     * has them: this wrapper sits on the model only */
    assert_true(wrap.inner->size == sizeof(VfiKernelOps));
    ops.read = wrap.inner->read;
    ops.write = wrap.inner->write;
    ops.mmap = wrap.inner->mmap;
    ops.munmap = wrap.inner->munmap;
    wrap.container_fd = -1;
    wrap.n = (Reads){ 0 };
    assert_ok(vfi_kernel_install(&ops, wrap.opaque, vfi_sim_sysfs_root(sim), &err), err);
}

static Reads reads_since(Reads r0)
{
    return (Reads){ wrap.n.bitmap_reads - r0.bitmap_reads, wrap.n.unmaps - r0.unmaps,
                    wrap.n.unmap_reads - r0.unmap_reads, wrap.n.reports - r0.reports };
}

typedef struct Scene {
    VfiSim *sim;
    VfiAddressSpace *as;
    VfiDevice *dev[2];
    uint8_t *ram;
    uint64_t bits[NR / 64];
    VfiDirtyLog log;
} Scene;

/* A type1 address space with devices @a (and @b, may be NULL) attached
 * and RAM for NR pages; the log: NR pages of 4 KiB from 0. */
static void scene_up(Scene *s, const char *topology, const char *a, const char *b)
{
    const char *names[2] = { a, b };
    g_autoptr(GError) err = NULL;

    s->sim = test_sim_new(topology);
    wrap_install(s->sim);
    s->as = vfi_address_space_new(NULL);
    s->ram = mmap(NULL, NR * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(s->ram != MAP_FAILED);
    s->log = (VfiDirtyLog){ .base_iova = 0, .page_size = PG, .bitmap = s->bits,
                            .nr_pages = NR };
    assert_ok(vfi_address_space_set_backend(s->as, VFI_BACKEND_TYPE1, &err), err);
    for (unsigned i = 0; i < 2 && names[i]; i++) {
        s->dev[i] = vfi_device_open_sysfs(vfi_sim_device_sysfs_path(s->sim, names[i]), &err);
        assert_ok(s->dev[i] != NULL, err);
        assert_ok(vfi_address_space_attach_device(s->as, NULL, s->dev[i], NULL, &err), err);
    }
}

static void scene_down(Scene *s)
{
    g_autoptr(GError) err = NULL;

    if (vfi_address_space_dirty_tracking_is_active(s->as)) {
        assert_ok(vfi_address_space_dirty_tracking_stop(s->as, &err), err);
    }
    assert_ok(vfi_address_space_dma_unmap(s->as, 0, NR * PG, VFI_UNMAP_ALLOW_ABSENT, &err), err);
    for (unsigned i = 0; i < 2; i++) {
        if (s->dev[i]) {
            assert_ok(vfi_address_space_detach_device(s->as, s->dev[i], &err), err);
            vfi_device_free(s->dev[i]);
        }
    }
    assert_ok(vfi_address_space_free(s->as, &err), err);
    munmap(s->ram, NR * PG);
    assert_int_equal(vfi_sim_type1_live(s->sim), 0);
    test_sim_free_clean(s->sim);
}

static void map(Scene *s, uint64_t page, uint64_t pages)
{
    g_autoptr(GError) err = NULL;

    assert_ok(vfi_address_space_dma_map(s->as, page * PG, pages * PG, s->ram + page * PG,
                                        false, &err), err);
}

static void dma(Scene *s, const char *dev, uint64_t page)
{
    g_autoptr(GError) err = NULL;

    assert_ok(vfi_sim_dma_write(s->sim, dev, page * PG, PG, &err), err);
}

static bool bit(const uint64_t *bits, uint64_t b)
{
    return bits[b / 64] >> (b % 64) & 1;
}

static unsigned count(const uint64_t *bits, unsigned words)
{
    unsigned n = 0;

    for (unsigned i = 0; i < words; i++) {
        n += (unsigned)__builtin_popcountll(bits[i]);
    }
    return n;
}

/* Pages kept by a query that cut a mapping reach the unmap's log without a
 * read of the IOMMU before the unmap; the unmap's own read brings what was
 * written since; nothing is read twice. */
static void test_unmap_reads_once(void **state)
{
    g_autoptr(GError) err = NULL;
    VfiContainer *c;
    Reads r0, r;
    Scene s = { 0 };

    (void)state;
    scene_up(&s, TOPO_MDEV, "m", NULL);
    c = vfi_device_get_container(s.dev[0]);
    map(&s, 0, 16);
    map(&s, 32, 8);
    assert_ok(vfi_address_space_dirty_tracking_start(s.as, &err), err);
    dma(&s, "m", 3);
    dma(&s, "m", 12);
    dma(&s, "m", 33);
    /* the query of half the mapping reads it whole: page 12 kept */
    assert_ok(vfi_container_query_dirty(c, 0, 8 * PG, &s.log, 0, &err), err);
    assert_int_equal(s.bits[0], UINT64_C(1) << 3);
    dma(&s, "m", 5);
    memset(s.bits, 0, sizeof(s.bits));
    r0 = wrap.n;
    assert_ok(vfi_address_space_dma_unmap_dirty(s.as, 0, 16 * PG, &s.log, 0, &err), err);
    r = reads_since(r0);
    assert_int_equal(r.bitmap_reads, 0);       /* no read before the unmap */
    assert_int_equal(r.unmaps, 1);
    assert_int_equal(r.unmap_reads, 1);        /* the unmap's own read */
    assert_int_equal(s.bits[0], (UINT64_C(1) << 5) | (UINT64_C(1) << 12));
    /* the other mapping is untouched: its page comes with the next sync */
    memset(s.bits, 0, sizeof(s.bits));
    assert_ok(vfi_address_space_sync_dirty(s.as, &s.log, &err), err);
    assert_int_equal(s.bits[0], UINT64_C(1) << 33);
    scene_down(&s);
}

/* The model's count of type1 ioctls of kind @op since @since (it tells
 * them from the device ioctls sharing their numbers by the kind of fd). */
static uint64_t sim_ops_since(const Scene *s, VfiSimOp op, uint64_t since)
{
    return vfi_sim_op_count(s->sim, op) - since;
}

/* A container-level unmap with a dirty read reads the IOMMU bits once, by
 * the unmap itself: the pages written after the last sync and before the
 * unmap reach the log, with the pages a query kept; no DIRTY_PAGES read. */
static void test_container_unmap_reads_once(void **state)
{
    g_autoptr(GError) err = NULL;
    uint64_t dirty0, unmap0;
    VfiContainer *c;
    Reads r0, r;
    Scene s = { 0 };

    (void)state;
    scene_up(&s, TOPO_MDEV, "m", NULL);
    c = vfi_device_get_container(s.dev[0]);
    assert_ok(vfi_container_dma_map(c, 64 * PG, 8 * PG, s.ram + 64 * PG, false, &err), err);
    assert_ok(vfi_address_space_dirty_tracking_start(s.as, &err), err);
    dma(&s, "m", 65);
    dirty0 = vfi_sim_op_count(s.sim, VFI_SIM_OP_TYPE1_DIRTY_PAGES);
    assert_ok(vfi_address_space_sync_dirty(s.as, &s.log, &err), err);
    assert_int_equal(sim_ops_since(&s, VFI_SIM_OP_TYPE1_DIRTY_PAGES, dirty0), 1);
    assert_int_equal(count(s.bits, NR / 64), 1);
    assert_true(bit(s.bits, 65));
    /* after the sync: 66 and 69; a query of half the mapping reads it
     * whole, 66 into the log, 69 kept; then 71 */
    dma(&s, "m", 66);
    dma(&s, "m", 69);
    memset(s.bits, 0, sizeof(s.bits));
    assert_ok(vfi_container_query_dirty(c, 64 * PG, 4 * PG, &s.log, 0, &err), err);
    assert_int_equal(count(s.bits, NR / 64), 1);
    assert_true(bit(s.bits, 66));
    dma(&s, "m", 71);
    memset(s.bits, 0, sizeof(s.bits));
    r0 = wrap.n;
    dirty0 = vfi_sim_op_count(s.sim, VFI_SIM_OP_TYPE1_DIRTY_PAGES);
    unmap0 = vfi_sim_op_count(s.sim, VFI_SIM_OP_TYPE1_UNMAP);
    assert_ok(vfi_container_dma_unmap_dirty(c, 64 * PG, 8 * PG, &s.log, 0, NULL, &err), err);
    r = reads_since(r0);
    assert_int_equal(r.bitmap_reads, 0);       /* no read before the unmap */
    assert_int_equal(r.unmaps, 1);
    assert_int_equal(r.unmap_reads, 1);        /* the unmap's own read */
    assert_int_equal(sim_ops_since(&s, VFI_SIM_OP_TYPE1_DIRTY_PAGES, dirty0), 0);
    assert_int_equal(sim_ops_since(&s, VFI_SIM_OP_TYPE1_UNMAP, unmap0), 1);
    assert_int_equal(count(s.bits, NR / 64), 2);
    assert_true(bit(s.bits, 69) && bit(s.bits, 71));
    assert_int_equal(vfi_container_mapping_count(c), 0);
    scene_down(&s);
}

/* An unmap with dirty read of a whole window ([0, 2^47), two small
 * mappings in it), at @container level or the address space's: the
 * bitmap asked of the kernel covers the run of the mappings, not the
 * window (whose bitmap would be over the kernel's limit: EINVAL); one
 * unmap reads both mappings' bits. */
static void check_wide_unmap(bool container)
{
    const uint64_t window = UINT64_C(1) << 47;
    g_autoptr(GError) err = NULL;
    VfiContainer *c;
    Reads r0, r;
    Scene s = { 0 };

    scene_up(&s, TOPO_MDEV, "m", NULL);
    c = vfi_device_get_container(s.dev[0]);
    for (uint64_t p = 8; p <= 200; p += 192) {
        if (container) {
            assert_ok(vfi_container_dma_map(c, p * PG, 4 * PG, s.ram + p * PG, false, &err),
                      err);
        } else {
            map(&s, p, 4);
        }
    }
    assert_ok(vfi_address_space_dirty_tracking_start(s.as, &err), err);
    dma(&s, "m", 9);
    dma(&s, "m", 201);
    r0 = wrap.n;
    assert_ok(container ? vfi_container_dma_unmap_dirty(c, 0, window, &s.log, 0, NULL, &err) :
              vfi_address_space_dma_unmap_dirty(s.as, 0, window, &s.log, 0, &err), err);
    r = reads_since(r0);
    assert_int_equal(r.unmaps, 1);
    assert_int_equal(r.unmap_reads, 1);
    assert_int_equal(count(s.bits, NR / 64), 2);
    assert_true(bit(s.bits, 9) && bit(s.bits, 201));
    assert_int_equal(vfi_container_mapping_count(c), 0);
    scene_down(&s);
}

static void test_wide_unmap(void **state)
{
    (void)state;
    check_wide_unmap(false);
    check_wide_unmap(true);
}

/* An ENOENT from the unmap (injected: type1 kernels answer "nothing there"
 * with success) resyncs the record, one unmap per recorded mapping: each is
 * given the log, so the IOMMU bits of every mapping still reach it. */
static void test_resync_reads(void **state)
{
    g_autoptr(GError) err = NULL;
    VfiContainer *c;
    Reads r0, r;
    Scene s = { 0 };

    (void)state;
    scene_up(&s, TOPO_MDEV, "m", NULL);
    c = vfi_device_get_container(s.dev[0]);
    map(&s, 0, 16);
    map(&s, 16, 8);
    assert_ok(vfi_container_dma_map(c, 64 * PG, 8 * PG, s.ram + 64 * PG, false, &err), err);
    assert_ok(vfi_container_dma_map(c, 72 * PG, 8 * PG, s.ram + 72 * PG, false, &err), err);
    assert_ok(vfi_address_space_dirty_tracking_start(s.as, &err), err);
    dma(&s, "m", 3);
    dma(&s, "m", 17);
    dma(&s, "m", 65);
    dma(&s, "m", 79);

    /* the address space's unmap: the resync removed both, so it succeeds */
    vfi_sim_fail_next(s.sim, VFI_SIM_OP_TYPE1_UNMAP, ENOENT);
    r0 = wrap.n;
    assert_ok(vfi_address_space_dma_unmap_dirty(s.as, 0, 24 * PG, &s.log, 0, &err), err);
    r = reads_since(r0);
    assert_int_equal(r.bitmap_reads, 0);
    assert_int_equal(r.unmaps, 3);             /* the failed one, then one each */
    assert_int_equal(r.unmap_reads, 3);
    assert_int_equal(count(s.bits, NR / 64), 2);
    assert_true(bit(s.bits, 3) && bit(s.bits, 17));

    /* the container's: resynced too, the error says so; the bits are in */
    memset(s.bits, 0, sizeof(s.bits));
    vfi_sim_fail_next(s.sim, VFI_SIM_OP_TYPE1_UNMAP, ENOENT);
    r0 = wrap.n;
    assert_false(vfi_container_dma_unmap_dirty(c, 64 * PG, 16 * PG, &s.log, 0, NULL, &err));
    assert_true(g_error_matches(err, VFI_KERNEL_ERROR, ENOENT));
    assert_non_null(strstr(err->message, "now unmapped"));
    r = reads_since(r0);
    assert_int_equal(r.bitmap_reads, 0);
    assert_int_equal(r.unmaps, 3);
    assert_int_equal(r.unmap_reads, 3);
    assert_int_equal(count(s.bits, NR / 64), 2);
    assert_true(bit(s.bits, 65) && bit(s.bits, 79));
    assert_int_equal(vfi_container_mapping_count(c), 0);
    scene_down(&s);
}

/* Device DMA logs are still read before the unmap: alone (all devices
 * log: the IOMMU side is off, the unmap reads nothing) and beside the
 * IOMMU side (an mdev that does not log), whose bits the unmap reads. */
static void test_unmap_device_logs(void **state)
{
    g_autoptr(GError) err = NULL;
    Reads r0, r;
    Scene s = { 0 };

    (void)state;
    scene_up(&s, TOPO_LOG, "lg", NULL);
    map(&s, 0, 16);
    assert_ok(vfi_address_space_dirty_tracking_start(s.as, &err), err);
    dma(&s, "lg", 7);
    r0 = wrap.n;
    assert_ok(vfi_address_space_dma_unmap_dirty(s.as, 0, 16 * PG, &s.log, 0, &err), err);
    r = reads_since(r0);
    assert_int_equal(r.reports, 1);
    assert_int_equal(r.bitmap_reads, 0);
    assert_int_equal(r.unmaps, 1);
    assert_int_equal(r.unmap_reads, 0);        /* the IOMMU side is off */
    assert_int_equal(s.bits[0], UINT64_C(1) << 7);
    scene_down(&s);

    memset(&s, 0, sizeof(s));
    scene_up(&s, TOPO_MDEV TOPO_MDEV_LOG, "ml", "m");
    map(&s, 0, 16);
    assert_ok(vfi_address_space_dirty_tracking_start(s.as, &err), err);
    dma(&s, "ml", 2);
    dma(&s, "m", 9);
    r0 = wrap.n;
    assert_ok(vfi_address_space_dma_unmap_dirty(s.as, 0, 16 * PG, &s.log, 0, &err), err);
    r = reads_since(r0);
    assert_int_equal(r.reports, 1);
    assert_int_equal(r.bitmap_reads, 0);
    assert_int_equal(r.unmaps, 1);
    assert_int_equal(r.unmap_reads, 1);
    assert_int_equal(s.bits[0], (UINT64_C(1) << 2) | (UINT64_C(1) << 9));
    scene_down(&s);
}

/* The bits reach the log's pages: 4 KiB pages with the mapping at a bit
 * that is not a word's (shifted words, across word edges), and 32 KiB
 * pages (eight IOMMU pages to one log bit), by syncs and by unmaps. */
static void test_log_pages(void **state)
{
    static const uint64_t pages[] = { 67, 127, 128, 130, 191, 200 };
    uint64_t big[NR / 8 / 64 + 1] = { 0 };
    VfiDirtyLog coarse = { .base_iova = 0, .page_size = 8 * PG, .bitmap = big,
                           .nr_pages = NR / 8 };
    g_autoptr(GError) err = NULL;
    Scene s = { 0 };

    (void)state;
    scene_up(&s, TOPO_MDEV, "m", NULL);
    map(&s, 67, 140);                       /* pages 67 .. 206 */
    assert_ok(vfi_address_space_dirty_tracking_start(s.as, &err), err);
    for (unsigned round = 0; round < 2; round++) {
        memset(s.bits, 0, sizeof(s.bits));
        memset(big, 0, sizeof(big));
        for (unsigned i = 0; i < G_N_ELEMENTS(pages); i++) {
            dma(&s, "m", pages[i]);
        }
        assert_ok(vfi_address_space_sync_dirty(s.as, &s.log, &err), err);
        for (unsigned i = 0; i < G_N_ELEMENTS(pages); i++) {
            dma(&s, "m", pages[i]);
        }
        /* the second round: the unmap's own read */
        assert_ok(round ? vfi_address_space_dma_unmap_dirty(s.as, 67 * PG, 140 * PG,
                                                            &coarse, 0, &err) :
                          vfi_address_space_sync_dirty(s.as, &coarse, &err), err);
        assert_int_equal(count(s.bits, NR / 64), G_N_ELEMENTS(pages));
        for (unsigned i = 0; i < G_N_ELEMENTS(pages); i++) {
            assert_true(bit(s.bits, pages[i]));
            assert_true(bit(big, pages[i] / 8));
        }
        /* of the six pages, only 128 and 130 share a 32 KiB page */
        assert_int_equal(count(big, G_N_ELEMENTS(big)), 5);
    }
    scene_down(&s);
}

/* Steady-state syncs of a type1 container make no allocation: its bitmap
 * buffer grows at the first read only (the model's own allocations in its
 * ioctls are not counted). */
static void test_sync_no_alloc(void **state)
{
    g_autoptr(GError) err = NULL;
    bool counting = alloc_counter_available();
    Scene s = { 0 };

    (void)state;
    scene_up(&s, TOPO_MDEV, "m", NULL);
    map(&s, 0, 64);
    map(&s, 100, 100);
    assert_ok(vfi_address_space_dirty_tracking_start(s.as, &err), err);
    assert_ok(vfi_address_space_sync_dirty(s.as, &s.log, &err), err);     /* warm-up */
    if (!counting) {
        print_message("[ SKIPPED  ] allocation counting (not available in this build, "
                      "sanitizers?): the bits are still checked\n");
    }
    for (unsigned round = 0; round < 200; round++) {
        unsigned long allocs;
        bool ok;

        dma(&s, "m", round % 64);
        dma(&s, "m", 100 + round % 100);
        memset(s.bits, 0, sizeof(s.bits));
        library_allocs_arm();
        ok = vfi_address_space_sync_dirty(s.as, &s.log, NULL);
        allocs = library_allocs_disarm();
        if (!ok || (counting && allocs)) {
            fail_msg("round %u: ok %d, %lu allocation(s)", round, ok, allocs);
        }
        assert_int_equal(count(s.bits, NR / 64), 2);
        assert_true(bit(s.bits, round % 64) && bit(s.bits, 100 + round % 100));
    }
    scene_down(&s);
}

/* How many mappings of the memfd named @name the process has. */
static unsigned mmaps_of(const char *name)
{
    g_autofree char *maps = NULL;
    g_autofree char *needle = g_strdup_printf("/memfd:%s ", name);
    unsigned n = 0;

    assert_true(g_file_get_contents("/proc/self/maps", &maps, NULL, NULL));
    for (const char *p = maps; (p = strstr(p, needle)); p++) {
        n++;
    }
    return n;
}

/* Three maps by file: an unmap munmaps its own mmap and no other; the
 * last device leaving (the kernel drops every mapping) munmaps the rest. */
static void test_file_mmaps(void **state)
{
    static const char *const names[] = { "t1-mm-a", "t1-mm-b", "t1-mm-c" };
    g_autoptr(GError) err = NULL;
    int fd[3];
    Scene s = { 0 };

    (void)state;
    scene_up(&s, TOPO_MDEV, "m", NULL);
    for (unsigned i = 0; i < 3; i++) {
        fd[i] = memfd_create(names[i], MFD_CLOEXEC);
        assert_int_equal(ftruncate(fd[i], 4 * PG), 0);
        assert_ok(vfi_address_space_dma_map_file(s.as, (16 + 8 * i) * PG, 4 * PG, fd[i], 0,
                                                 false, NULL, &err), err);
        assert_int_equal(mmaps_of(names[i]), 1);
    }
    assert_ok(vfi_address_space_dma_unmap(s.as, 24 * PG, 4 * PG, 0, &err), err);
    assert_int_equal(mmaps_of(names[0]), 1);
    assert_int_equal(mmaps_of(names[1]), 0);
    assert_int_equal(mmaps_of(names[2]), 1);
    assert_ok(vfi_address_space_detach_device(s.as, s.dev[0], &err), err);
    assert_int_equal(mmaps_of(names[0]) + mmaps_of(names[2]), 0);
    assert_ok(vfi_address_space_attach_device(s.as, NULL, s.dev[0], NULL, &err), err);
    /* replayed: mmapped again, and munmapped with the unmap of everything */
    assert_int_equal(mmaps_of(names[0]) + mmaps_of(names[2]), 2);
    scene_down(&s);
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(mmaps_of(names[i]), 0);
        close(fd[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unmap_reads_once),
        cmocka_unit_test(test_container_unmap_reads_once),
        cmocka_unit_test(test_wide_unmap),
        cmocka_unit_test(test_resync_reads),
        cmocka_unit_test(test_unmap_device_logs),
        cmocka_unit_test(test_log_pages),
        cmocka_unit_test(test_sync_no_alloc),
        cmocka_unit_test(test_file_mmaps),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
