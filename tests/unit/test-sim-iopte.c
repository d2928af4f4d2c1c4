/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of the kernel model's IOPTEs (vfi_sim_set_iopte_sizes()) and
 * its kernel-cost dirty reads (vfi_sim_set_dirty_cost()), through raw UAPI
 * structs. The expected words follow Linux 7.3: generic_pt's
 * record_dirty() reports a dirty IOPTE from its start for its whole size
 * through iova_bitmap_set(), which writes into the user pages
 * iova_bitmap_get() pinned.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "test-common.h"
#include "vfio-iommufd/kernel.h"
#include "util/kernel-internal.h"

#define TOPOLOGY "[iommu a]\ndirty-tracking=true\n[device d1]\niommu=a\n"

#define UVA UINT64_C(0x7f0000000000)     /* aligned to 1 TiB; never dereferenced */
#define PAGE UINT64_C(4096)
#define KiB (UINT64_C(1) << 10)
#define MiB (UINT64_C(1) << 20)
#define GiB (UINT64_C(1) << 30)
#define RW (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_FIXED_IOVA)
#define NO_CLEAR IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR
#define BUF_PAGES 3                      /* a bitmap's pages and guard pages */

static int io(int fd, unsigned long request, void *arg)
{
    return vfi_kernel_ioctl(fd, request, arg, "test");
}

/* A model with IOPTE sizes @sizes (0: none), d1 bound to an iommufd, an
 * IOAS, two dirty-tracking HWPTs on it (d1 attached to the first), both
 * tracking. */
typedef struct Fixture {
    VfiSim *sim;
    int fd, dev;
    uint32_t ioas, hwpt[2];
    uint8_t *buf;                        /* BUF_PAGES pages, page-aligned */
} Fixture;

static void fixture_init(Fixture *f, uint64_t sizes)
{
    g_autoptr(GError) err = NULL;
    struct iommu_ioas_alloc a = { .size = sizeof(a) };
    struct vfio_device_bind_iommufd b = { .argsz = sizeof(b) };
    struct vfio_device_attach_iommufd_pt at = { .argsz = sizeof(at) };
    void *mem = NULL;

    f->sim = test_sim_new(TOPOLOGY);
    assert_ok(vfi_sim_set_iopte_sizes(f->sim, sizes, &err), err);
    f->fd = vfi_kernel_open("/dev/iommu", O_RDWR);
    f->dev = vfi_kernel_open("/dev/vfio/devices/vfio0", O_RDWR);
    assert_true(f->fd >= 0 && f->dev >= 0);
    assert_int_equal(io(f->fd, IOMMU_IOAS_ALLOC, &a), 0);
    f->ioas = a.out_ioas_id;
    b.iommufd = f->fd;
    assert_int_equal(io(f->dev, VFIO_DEVICE_BIND_IOMMUFD, &b), 0);
    for (int i = 0; i < 2; i++) {
        struct iommu_hwpt_alloc h = { .size = sizeof(h), .dev_id = b.out_devid,
                                      .pt_id = f->ioas,
                                      .flags = IOMMU_HWPT_ALLOC_DIRTY_TRACKING };
        struct iommu_hwpt_set_dirty_tracking s = { .size = sizeof(s),
                                                   .flags = IOMMU_HWPT_DIRTY_TRACKING_ENABLE };

        assert_int_equal(io(f->fd, IOMMU_HWPT_ALLOC, &h), 0);
        f->hwpt[i] = h.out_hwpt_id;
        s.hwpt_id = h.out_hwpt_id;
        assert_int_equal(io(f->fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &s), 0);
    }
    at.pt_id = f->hwpt[0];
    assert_int_equal(io(f->dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at), 0);
    assert_int_equal(posix_memalign(&mem, PAGE, BUF_PAGES * PAGE), 0);
    f->buf = mem;
    memset(f->buf, 0, BUF_PAGES * PAGE);
}

static void fixture_fini(Fixture *f)
{
    free(f->buf);
    assert_int_equal(vfi_kernel_close(f->dev), 0);
    assert_int_equal(vfi_kernel_close(f->fd), 0);
    test_sim_free_clean(f->sim);
}

static void map(Fixture *f, uint64_t iova, uint64_t len, uint64_t uva)
{
    struct iommu_ioas_map m = { .size = sizeof(m), .flags = RW, .ioas_id = f->ioas,
                                .user_va = uva, .length = len, .iova = iova };

    assert_int_equal(io(f->fd, IOMMU_IOAS_MAP, &m), 0);
}

static void dma(Fixture *f, uint64_t iova, uint64_t len)
{
    g_autoptr(GError) err = NULL;

    assert_ok(vfi_sim_dma_write(f->sim, "d1", iova, len, &err), err);
}

static int read_at(Fixture *f, int h, uint64_t iova, uint64_t len, uint64_t page_size,
                   uint32_t flags, void *bitmap)
{
    struct iommu_hwpt_get_dirty_bitmap g = {
        .size = sizeof(g), .hwpt_id = f->hwpt[h], .flags = flags, .iova = iova,
        .length = len, .page_size = page_size, .data = (uintptr_t)bitmap,
    };

    return io(f->fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &g);
}

/* Read HWPT 0 into a zeroed f->buf + @off. */
static int rd(Fixture *f, uint64_t iova, uint64_t len, uint64_t page_size, uint32_t flags,
              size_t off)
{
    memset(f->buf, 0, BUF_PAGES * PAGE);
    return read_at(f, 0, iova, len, page_size, flags, f->buf + off);
}

static uint64_t word(const Fixture *f, size_t byte)
{
    uint64_t w;

    memcpy(&w, f->buf + byte, sizeof(w));
    return w;
}

/* Bytes [from, to) of f->buf are all @v. */
static void assert_bytes(const Fixture *f, size_t from, size_t to, uint8_t v)
{
    for (size_t i = from; i < to; i++) {
        if (f->buf[i] != v) {
            fail_msg("byte %zu is 0x%02x, expected 0x%02x", i, f->buf[i], v);
        }
    }
}

/* ---- layout ----------------------------------------------------------- */

/* Greedy IOPTEs: the largest allowed size the IOVA and the user address
 * are aligned to and that fits in the rest of the mapping. */
static void test_layout(void **state)
{
    Fixture f;

    fixture_init(&f, 4 * KiB | 8 * KiB | 2 * MiB);
    /* [0, 2M) 2M, [2M, 4M) 2M, [4M, 4M+8K) 8K, [4M+8K, 4M+12K) 4K */
    map(&f, 0, 4 * MiB + 12 * KiB, UVA);
    dma(&f, 4 * MiB + 4 * KiB, 1);
    assert_int_equal(rd(&f, 0, 4 * MiB + 12 * KiB, PAGE, NO_CLEAR, 0), 0);
    assert_bytes(&f, 0, 1024 / 8, 0);
    assert_int_equal(word(&f, 1024 / 8), 3);        /* pages 1024 and 1025 */
    dma(&f, MiB, PAGE);
    dma(&f, 4 * MiB + 8 * KiB, PAGE);
    assert_int_equal(rd(&f, 0, 4 * MiB + 12 * KiB, PAGE, 0, 0), 0);
    assert_bytes(&f, 0, 512 / 8, 0xff);            /* the whole first 2 MiB */
    assert_bytes(&f, 512 / 8, 1024 / 8, 0);
    assert_int_equal(word(&f, 1024 / 8), 7);
    assert_bytes(&f, 1024 / 8 + 8, BUF_PAGES * PAGE, 0);

    /* user address only 8 KiB aligned to the IOVA: 8 KiB IOPTEs at most */
    map(&f, 8 * MiB, 2 * MiB, UVA + 8 * MiB + 8 * KiB);
    dma(&f, 9 * MiB, 1);
    assert_int_equal(rd(&f, 8 * MiB, 2 * MiB, PAGE, 0, 0), 0);
    assert_int_equal(word(&f, 0), 0);
    assert_int_equal(word(&f, 256 / 8), 3);         /* pages 256, 257 */
    /* 4 KiB aligned only: 4 KiB IOPTEs */
    map(&f, 16 * MiB, 2 * MiB, UVA + 4 * KiB);
    dma(&f, 17 * MiB, 1);
    assert_int_equal(rd(&f, 16 * MiB, 2 * MiB, PAGE, 0, 0), 0);
    assert_int_equal(word(&f, 256 / 8), 1);
    fixture_fini(&f);
}

/* An IOPTE never crosses a mapping, even with contiguous user addresses. */
static void test_layout_mappings(void **state)
{
    Fixture f;

    fixture_init(&f, 4 * KiB | 2 * MiB);
    map(&f, 0, MiB, UVA);
    map(&f, MiB, 3 * MiB, UVA + MiB);       /* [1M, 2M) 4K, [2M, 4M) 2M */
    dma(&f, MiB - PAGE, 2 * PAGE);
    assert_int_equal(rd(&f, 0, 4 * MiB, PAGE, 0, 0), 0);
    assert_int_equal(word(&f, 192 / 8), UINT64_C(1) << 63);   /* page 255 */
    assert_int_equal(word(&f, 256 / 8), 1);                   /* page 256 */
    dma(&f, 2 * MiB - PAGE, 2 * PAGE);
    assert_int_equal(rd(&f, 0, 4 * MiB, PAGE, 0, 0), 0);
    assert_int_equal(word(&f, 448 / 8), UINT64_C(1) << 63);  /* page 511 alone */
    assert_bytes(&f, 512 / 8, 1024 / 8, 0xff);               /* [2M, 4M) whole */
    fixture_fini(&f);
}

/* ---- the edges of a read range ----------------------------------------- */

/* A read starting inside a dirty IOPTE: nothing reported (its IOVA is below
 * the bitmap's); NO_CLEAR keeps it, a clearing read loses it. */
static void test_edge_start(void **state)
{
    Fixture f;

    fixture_init(&f, 4 * KiB | 2 * MiB);
    map(&f, 0, 4 * MiB, UVA);
    dma(&f, MiB + 8 * PAGE, 1);                     /* IOPTE [0, 2M) */
    assert_int_equal(rd(&f, MiB, 64 * PAGE, PAGE, NO_CLEAR, 0), 0);
    assert_bytes(&f, 0, BUF_PAGES * PAGE, 0);
    assert_int_equal(rd(&f, 0, 64 * PAGE, PAGE, NO_CLEAR, 0), 0);   /* still dirty */
    assert_int_equal(word(&f, 0), ~UINT64_C(0));
    assert_int_equal(rd(&f, MiB, 64 * PAGE, PAGE, 0, 0), 0);        /* clearing */
    assert_bytes(&f, 0, BUF_PAGES * PAGE, 0);
    assert_int_equal(rd(&f, 0, 4 * MiB, PAGE, 0, 0), 0);            /* lost */
    assert_bytes(&f, 0, BUF_PAGES * PAGE, 0);
    fixture_fini(&f);
}

/* A read ending inside a dirty IOPTE: its bits past the range land in the
 * caller's buffer after the range's word. */
static void test_edge_end(void **state)
{
    Fixture f;

    fixture_init(&f, 4 * KiB | 2 * MiB);
    map(&f, 0, 4 * MiB, UVA);
    dma(&f, 3 * MiB, 1);                            /* IOPTE [2M, 4M) */
    /* 64 pages, the last one the IOPTE's first: bits 63 .. 574 */
    assert_int_equal(rd(&f, 2 * MiB - 63 * PAGE, 64 * PAGE, PAGE, NO_CLEAR, 0), 0);
    assert_int_equal(word(&f, 0), UINT64_C(1) << 63);
    assert_bytes(&f, 8, 64, 0xff);
    assert_int_equal(word(&f, 64), (UINT64_C(1) << 63) - 1);
    assert_bytes(&f, 72, BUF_PAGES * PAGE, 0);
    /* NO_CLEAR kept it; a clearing read of its first page cleans it all */
    assert_int_equal(rd(&f, 2 * MiB, 64 * PAGE, PAGE, 0, 0), 0);
    assert_bytes(&f, 0, 512 / 8, 0xff);
    assert_int_equal(rd(&f, 0, 4 * MiB, PAGE, 0, 0), 0);
    assert_bytes(&f, 0, BUF_PAGES * PAGE, 0);
    fixture_fini(&f);
}

/* Past the pinned pages the bits are dropped. iova_bitmap_get() pins from
 * the byte of the first dirty IOPTE the pages the rest of the bitmap needs,
 * one more when that byte is not page-aligned. A 1 GiB IOPTE is 262144
 * bits at 4 KiB pages, 8 pages of bitmap. */
static void test_edge_pinned_pages(void **state)
{
    Fixture f;

    fixture_init(&f, 4 * KiB | 2 * MiB | GiB);
    map(&f, 0, 2 * GiB, UVA);
    dma(&f, 0, 1);                                  /* IOPTE [0, 1G) */
    dma(&f, GiB, 1);                                /* IOPTE [1G, 2G) */
    /* from bit 0 of a page-aligned bitmap: that page only */
    assert_int_equal(rd(&f, 0, 64 * PAGE, PAGE, NO_CLEAR, 0), 0);
    assert_bytes(&f, 0, PAGE, 0xff);
    assert_bytes(&f, PAGE, BUF_PAGES * PAGE, 0);
    /* the bitmap at the last word of its page: not page-aligned, so the
     * next page is pinned too (and written) */
    assert_int_equal(rd(&f, 0, 64 * PAGE, PAGE, NO_CLEAR, PAGE - 8), 0);
    assert_bytes(&f, 0, PAGE - 8, 0);
    assert_bytes(&f, PAGE - 8, 2 * PAGE, 0xff);
    assert_bytes(&f, 2 * PAGE, BUF_PAGES * PAGE, 0);
    /* the IOPTE starting at bit 8 (byte 1, not page-aligned): two pages */
    assert_int_equal(rd(&f, GiB - 8 * PAGE, 64 * PAGE, PAGE, NO_CLEAR, 0), 0);
    assert_int_equal(f.buf[0], 0);
    assert_bytes(&f, 1, 2 * PAGE, 0xff);
    assert_bytes(&f, 2 * PAGE, BUF_PAGES * PAGE, 0);
    fixture_fini(&f);
}

/* Several IOPTEs at a larger log page and at a smaller one; a range inside
 * one IOPTE. */
static void test_edge_page_sizes(void **state)
{
    Fixture f;

    fixture_init(&f, 4 * KiB | 8 * KiB);
    map(&f, 0, MiB, UVA);
    dma(&f, 20 * KiB, 1);                           /* IOPTE [16K, 24K) */
    assert_int_equal(rd(&f, 0, MiB, 2 * KiB, NO_CLEAR, 0), 0);
    assert_int_equal(word(&f, 0), UINT64_C(0xf) << 8);
    assert_int_equal(rd(&f, 0, MiB, 64 * KiB, NO_CLEAR, 0), 0);
    assert_int_equal(word(&f, 0), 1);
    /* [20K, 24K) lies inside the IOPTE: reported from 16K, below: nothing */
    assert_int_equal(rd(&f, 20 * KiB, PAGE, PAGE, NO_CLEAR, 0), 0);
    assert_int_equal(word(&f, 0), 0);
    /* [12K, 20K) ends inside it: bits 1 and 2 (the latter past the range) */
    assert_int_equal(rd(&f, 12 * KiB, 2 * PAGE, PAGE, NO_CLEAR, 0), 0);
    assert_int_equal(word(&f, 0), 6);
    fixture_fini(&f);
}

/* A hole ends the read (iopt_area_contig_done() fails inside the kernel,
 * whose iommu_read_and_clear_dirty() drops the error): the mappings before
 * it are read (and cleared), nothing after it, and the call succeeds. */
static void test_holes(void **state)
{
    Fixture f;

    fixture_init(&f, 4 * KiB | 2 * MiB);
    map(&f, 0, 2 * MiB, UVA);
    map(&f, 2 * MiB, 2 * MiB, UVA + 2 * MiB);      /* adjacent: contiguous */
    map(&f, 6 * MiB, 2 * MiB, UVA + 6 * MiB);
    dma(&f, 0, 1);
    dma(&f, 6 * MiB, 1);
    assert_int_equal(rd(&f, 0, 4 * MiB, 2 * MiB, NO_CLEAR, 0), 0);
    assert_int_equal(word(&f, 0), 1);
    /* across the hole: the first two mappings only, cleared */
    assert_int_equal(rd(&f, 0, 8 * MiB, 2 * MiB, 0, 0), 0);
    assert_int_equal(word(&f, 0), 1);
    assert_int_equal(rd(&f, 0, 4 * MiB, 2 * MiB, 0, 0), 0);
    assert_int_equal(word(&f, 0), 0);
    /* starting in the hole: nothing read, even what lies after it */
    assert_int_equal(rd(&f, 4 * MiB, 4 * MiB, 2 * MiB, 0, 0), 0);
    assert_int_equal(word(&f, 0), 0);
    assert_int_equal(rd(&f, 5 * MiB, 2 * MiB, MiB, 0, 0), 0);
    assert_int_equal(word(&f, 0), 0);
    /* the mapping after the hole still has its bit */
    assert_int_equal(rd(&f, 6 * MiB, 2 * MiB, 2 * MiB, 0, 0), 0);
    assert_int_equal(word(&f, 0), 1);
    fixture_fini(&f);
}

/* Sizes apply to HWPTs allocated afterwards; the default is the old model
 * (per 4 KiB page, holes read). */
static void test_default_and_options(void **state)
{
    Fixture f;
    g_autoptr(GError) err = NULL;

    fixture_init(&f, 0);
    map(&f, 0, 4 * MiB, UVA);
    dma(&f, MiB, 1);
    assert_int_equal(rd(&f, 0, 8 * MiB, PAGE, 0, 0), 0);    /* a hole: fine */
    assert_int_equal(word(&f, 256 / 8), 1);
    assert_ok(vfi_sim_set_iopte_sizes(f.sim, 4 * KiB | 2 * MiB, &err), err);
    dma(&f, MiB, 1);                                /* existing HWPTs unchanged */
    assert_int_equal(rd(&f, 0, 4 * MiB, PAGE, 0, 0), 0);
    assert_int_equal(word(&f, 256 / 8), 1);
    assert_false(vfi_sim_set_iopte_sizes(f.sim, 2 * MiB, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_sim_set_iopte_sizes(f.sim, 2 * KiB | 4 * KiB, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_sim_set_dirty_cost(f.sim, (VfiSimDirtyCost)7, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_int_equal(vfi_sim_get_dirty_cost(f.sim), VFI_SIM_DIRTY_COST_FAST);
    fixture_fini(&f);
}

static void test_cost_env(void **state)
{
    VfiSim *sim;

    g_setenv("VFI_SIM_DIRTY_COST", "kernel", TRUE);
    sim = test_sim_new(TOPOLOGY);
    assert_int_equal(vfi_sim_get_dirty_cost(sim), VFI_SIM_DIRTY_COST_KERNEL);
    test_sim_free_clean(sim);
    g_setenv("VFI_SIM_DIRTY_COST", "bogus", TRUE);
    sim = test_sim_new(TOPOLOGY);
    assert_int_equal(vfi_sim_get_dirty_cost(sim), VFI_SIM_DIRTY_COST_FAST);
    test_sim_free_clean(sim);
    g_unsetenv("VFI_SIM_DIRTY_COST");
}

/* ---- kernel cost: bit-identical to the fast path -------------------------- */

static const uint64_t size_sets[] = {
    0, 4 * KiB, 4 * KiB | 8 * KiB | 16 * KiB | 2 * MiB, 4 * KiB | 2 * MiB | GiB,
    UINT64_C(0xfffffffffffff000),       /* every power of two: AMD v1 */
};

/* Random mappings (random user address alignment) in [0, 64M) */
static void random_maps(Fixture *f, GRand *r)
{
    uint64_t iova = 0;

    while (iova < 64 * MiB) {
        uint64_t len = (uint64_t)g_rand_int_range(r, 1, 2048) * PAGE;
        uint64_t uva = UVA + ((uint64_t)g_rand_int_range(r, 0, 4) << 20) +
                       (g_rand_boolean(r) ? 0 : (uint64_t)g_rand_int_range(r, 0, 64) * PAGE);

        len = MIN(len, 64 * MiB - iova);
        if (g_rand_int_range(r, 0, 8)) {
            map(f, iova, len, uva + iova);
        }
        iova += len;
    }
}

/* One random read of both HWPTs, HWPT 0 fast, HWPT 1 kernel: the same
 * answer, the same bytes in a buffer of whole pages. Returns: the read's
 * errno, or -1 when it set no bit. */
static int compare_read(Fixture *f, GRand *r, uint8_t *other)
{
    static const uint64_t pages[] = { 2 * KiB, 4 * KiB, 8 * KiB, 64 * KiB, 2 * MiB };
    uint64_t ps = pages[g_rand_int_range(r, 0, G_N_ELEMENTS(pages))];
    uint64_t unit = MAX(ps, PAGE);
    uint64_t iova = (uint64_t)g_rand_int_range(r, 0, (int)(64 * MiB / unit)) * unit;
    uint64_t n = MIN((uint64_t)g_rand_int_range(r, 1, 700), (64 * MiB - iova) / unit);
    bool any = false;
    uint64_t bits = n * unit / ps;
    size_t off = (size_t)g_rand_int_range(r, 0, (int)(PAGE - (bits + 7) / 8 - 1));
    uint32_t flags = g_rand_boolean(r) ? NO_CLEAR : 0;
    g_autoptr(GError) err = NULL;
    int rc0, rc1;

    memset(f->buf, 0, BUF_PAGES * PAGE);
    memset(other, 0, BUF_PAGES * PAGE);
    assert_ok(vfi_sim_set_dirty_cost(f->sim, VFI_SIM_DIRTY_COST_FAST, &err), err);
    rc0 = read_at(f, 0, iova, n * unit, ps, flags, f->buf + off);
    assert_ok(vfi_sim_set_dirty_cost(f->sim, VFI_SIM_DIRTY_COST_KERNEL, &err), err);
    rc1 = read_at(f, 1, iova, n * unit, ps, flags, other + off);
    assert_int_equal(rc0, rc1);
    if (memcmp(f->buf, other, BUF_PAGES * PAGE)) {
        fail_msg("read 0x%" PRIx64 "+0x%" PRIx64 " page 0x%" PRIx64 " flags %u: "
                 "kernel cost differs", iova, n * unit, ps, flags);
    }
    for (size_t i = 0; i < BUF_PAGES * PAGE && !any; i++) {
        any = f->buf[i] != 0;
    }
    return rc0 ? -rc0 : any ? 0 : -1;
}

static void test_cost_identical(void **state)
{
    g_autoptr(GError) err = NULL;
    g_autofree uint8_t *other = NULL;
    void *mem = NULL;

    assert_int_equal(posix_memalign(&mem, PAGE, BUF_PAGES * PAGE), 0);
    other = mem;
    for (unsigned seed = 1; seed <= 40; seed++) {
        g_autoptr(GRand) r = g_rand_new_with_seed(seed);
        uint64_t sizes = size_sets[seed % G_N_ELEMENTS(size_sets)];
        unsigned outcome[3] = { 0 };      /* bits, an error, no bit */
        Fixture f;

        fixture_init(&f, sizes);
        random_maps(&f, r);
        for (int step = 0; step < 150; step++) {
            for (int k = 0; k < 8; k++) {
                uint64_t iova = (uint64_t)g_rand_int_range(r, 0, 16384) * PAGE;
                uint64_t len = (uint64_t)g_rand_int_range(r, 1, 64) * 1000;

                /* the same marks in both HWPTs (unmapped parts alike) */
                for (int h = 0; h < 2; h++) {
                    if (!vfi_sim_hwpt_mark_dirty(f.sim, f.fd, f.hwpt[h], iova, len, &err)) {
                        fail_msg("mark: %s", err->message);
                    }
                }
            }
            switch (compare_read(&f, r, other)) {
            case 0:
                outcome[0]++;
                break;
            case -1:
                outcome[2]++;
                break;
            default:
                outcome[1]++;
            }
        }
        /* the reads found bits; none failed (a hole ends a read quietly) */
        assert_true(outcome[0] > 20);
        assert_int_equal(outcome[1], 0);
        fixture_fini(&f);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_layout_mappings),
        cmocka_unit_test(test_edge_start),
        cmocka_unit_test(test_edge_end),
        cmocka_unit_test(test_edge_pinned_pages),
        cmocka_unit_test(test_edge_page_sizes),
        cmocka_unit_test(test_holes),
        cmocka_unit_test(test_default_and_options),
        cmocka_unit_test(test_cost_env),
        cmocka_unit_test(test_cost_identical),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
