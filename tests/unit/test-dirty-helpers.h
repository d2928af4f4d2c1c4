/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Helpers shared by the dirty-tracking tests (test-dirty-tracking.c,
 * test-dirty-query.c, test-dma-logging.c): a mixed topology, VMM-style
 * dirty logs and a bit-by-bit reference.
 */
#ifndef VFI_TEST_DIRTY_HELPERS_H
#define VFI_TEST_DIRTY_HELPERS_H

#include "test-container-helpers.h"
#include "vfio-iommufd/dirty.h"

#define PAGE 4096ULL
#define MIB (1ULL << 20)

/*
 * a0, a1: IOMMU a (dirty tracking); b0: IOMMU b (dirty tracking, another
 * instance, so a second dirty HWPT in the same container); n0: IOMMU n
 * without dirty tracking; l0, l2: IOMMU n, offer DMA logging; l1: IOMMU a,
 * offers DMA logging; m0: mdev; ml: mdev with DMA logging.
 */
static const char dirty_topo[] =
    "[iommu a]\ndirty-tracking=true\n"
    "[iommu b]\ndirty-tracking=true\n"
    "[iommu n]\ndirty-tracking=false\n"
    "[device a0]\niommu=a\n"
    "[device a1]\niommu=a\n"
    "[device b0]\niommu=b\n"
    "[device n0]\niommu=n\n"
    "[device l0]\niommu=n\ndma-logging=true\n"
    "[device l1]\niommu=a\ndma-logging=true\n"
    "[device l2]\niommu=n\ndma-logging=true\n"
    "[device m0]\nmdev=true\n"
    "[device ml]\nmdev=true\ndma-logging=true\n";

static const VfiAttachOptions prefer_logging =
    VFI_ATTACH_OPTIONS_INIT(.prefer_device_dirty_logging = true);
static const VfiAttachOptions opt_out = VFI_ATTACH_OPTIONS_INIT(.no_iommu_dirty_tracking = true);

/* The model never touches user memory: any non-NULL page-aligned pointer. */
static inline void *fake_va(uint64_t iova)
{
    return (void *)(uintptr_t)(0x10000000000ULL + iova);
}

static inline void map_ok(Fixture *f, uint64_t iova, uint64_t size)
{
    g_autoptr(GError) err = NULL;

    assert_ok(vfi_address_space_dma_map(f->as, iova, size, fake_va(iova), false, &err), err);
}

/* A VMM-style log owning its bitmap. */
/* A fixture of dirty_topo, the model's IOPTE sizes set first when
 * @iopte_sizes is not 0, a0 and b0 attached (two dirty HWPTs). */
static inline Fixture *dirty_fixture_ab(uint64_t iopte_sizes)
{
    Fixture *f = fixture_new(dirty_topo);
    g_autoptr(GError) err = NULL;

    if (iopte_sizes) {
        assert_ok(vfi_sim_set_iopte_sizes(f->sim, iopte_sizes, &err), err);
    }
    attach_ok(f, "a0", NULL);
    attach_ok(f, "b0", NULL);
    return f;
}

static inline VfiDirtyLog *log_new(uint64_t base, uint64_t page_size, uint64_t nr_pages)
{
    VfiDirtyLog *log = g_new0(VfiDirtyLog, 1);

    log->base_iova = base;
    log->page_size = page_size;
    log->nr_pages = nr_pages;
    log->bitmap = g_new0(uint64_t, (nr_pages + 63) / 64);
    return log;
}

static inline void log_free(VfiDirtyLog *log)
{
    if (log) {
        g_free(log->bitmap);
        g_free(log);
    }
}

static inline void log_clear(VfiDirtyLog *log)
{
    memset(log->bitmap, 0, (log->nr_pages + 63) / 64 * 8);
}

static inline bool log_test(const VfiDirtyLog *log, uint64_t bit)
{
    return (log->bitmap[bit / 64] >> (bit % 64)) & 1;
}

static inline uint64_t log_count(const VfiDirtyLog *log)
{
    uint64_t n = 0;

    for (uint64_t i = 0; i < (log->nr_pages + 63) / 64; i++) {
        n += __builtin_popcountll(log->bitmap[i]);
    }
    return n;
}

/* Fills @words words of @bits with random garbage (about a quarter of the
 * bits set): what a query must leave alone outside its window. */
static inline void log_fill_garbage(GRand *rand, uint64_t *bits, uint64_t words)
{
    for (uint64_t w = 0; w < words; w++) {
        bits[w] = ((uint64_t)g_rand_int(rand) << 32 | g_rand_int(rand)) &
                  ((uint64_t)g_rand_int(rand) << 32 | g_rand_int(rand));
    }
}

static inline void dma_ok(Fixture *f, const char *dev, uint64_t iova, uint64_t len)
{
    g_autoptr(GError) err = NULL;

    assert_ok(vfi_sim_dma_write(f->sim, dev, iova, len, &err), err);
}

static inline void hwpt_mark(Fixture *f, VfiDevice *d, uint64_t iova, uint64_t len)
{
    g_autoptr(GError) err = NULL;

    assert_ok(vfi_sim_hwpt_mark_dirty(f->sim, vfi_iommufd_get_fd(f->be),
                                       vfi_hwpt_get_id(vfi_device_get_hwpt(d)), iova, len,
                                       &err), err);
}

static inline VfiContainer *container_of_dev(Fixture *f, const char *name)
{
    return vfi_device_get_container(fdev(f, name));
}

/* Whether the model has HWPT @h's dirty tracking on: a NO_CLEAR read of one
 * page succeeds when it is on and is refused with EINVAL when it is off (the
 * kernel's rule). One ioctl. */
static inline bool model_hwpt_tracking(Fixture *f, VfiHwpt *h)
{
    VfiIommufd *be = vfi_container_get_backend(vfi_hwpt_get_container(h));
    g_autoptr(GError) err = NULL;
    uint64_t word = 0;

    if (vfi_iommufd_hwpt_get_dirty_bitmap(be, vfi_hwpt_get_id(h), 0, PAGE, PAGE, &word,
                                         IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, &err)) {
        return true;
    }
    assert_gerror(err, VFI_KERNEL_ERROR, EINVAL);
    return false;
}

/* Every dirty HWPT of @c: the library's belief (vfi_hwpt_dirty_tracking_is_on)
 * is the model's state. Returns how many are on. */
static inline unsigned check_hwpts_match_model(Fixture *f, VfiContainer *c)
{
    unsigned on = 0;

    for (unsigned i = 0; i < vfi_container_hwpt_count(c); i++) {
        VfiHwpt *h = vfi_container_hwpt(c, i);
        bool lib = vfi_hwpt_dirty_tracking_is_on(h);

        if (!(vfi_hwpt_get_flags(h) & IOMMU_HWPT_ALLOC_DIRTY_TRACKING)) {
            assert_false(lib);
            continue;
        }
        if (lib != model_hwpt_tracking(f, h)) {
            fail_msg("hwpt %u: the library believes tracking %s, the model has it %s",
                     vfi_hwpt_get_id(h), lib ? "on" : "off", lib ? "off" : "on");
        }
        on += lib;
    }
    return on;
}

/* Stop tracking everywhere (so fixture_free may detach everything). */
static inline void stop_all(Fixture *f)
{
    g_autoptr(GError) err = NULL;

    assert_ok(vfi_address_space_dirty_tracking_stop(f->as, &err), err);
    for (unsigned i = 0; i < vfi_address_space_container_count(f->as); i++) {
        assert_ok(vfi_container_dirty_tracking_stop(vfi_address_space_container(f->as, i),
                                                     &err), err);
    }
}

#endif
