/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The mapping records at scale (issue 11, parts 3 and 5): thousands of
 * mappings made and unmapped at random through the address space and a
 * container; the positional API (vfi_address_space_mapping(),
 * vfi_container_mapping()) in IOVA order against the kernel model's count;
 * the merged view dirty reads go by (a dirty sync after a DMA write to
 * every mapped page finds exactly those pages), built again at a tracking
 * start after changes made with tracking off, and kept in step with it on;
 * and no allocation per map or unmap at steady state beyond what the bare
 * ioctls make.
 */
#include <string.h>

#include "test-common.h"
#include "test-dirty-helpers.h"
#include "alloc-counter.h"

#define SLOTS 4096
#define BASE (UINT64_C(1) << 32)

static uint64_t rng_next(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* Slot s: one page at BASE + s pages, so neighbours merge. The even slots
 * of the container level's own range [BASE/2, ...) are its mappings. */
static uint64_t slot_iova(unsigned s)
{
    return BASE + (uint64_t)s * PAGE;
}

static void as_map(Fixture *f, unsigned s)
{
    map_ok(f, slot_iova(s), PAGE);
}

static void as_unmap(Fixture *f, unsigned s)
{
    g_autoptr(GError) err = NULL;

    assert_ok(vfi_address_space_dma_unmap(f->as, slot_iova(s), PAGE, VFI_UNMAP_DISCARD_DIRTY,
                                          &err), err);
}

/* Flip @n random slots (map the free ones, unmap the mapped ones). */
static void flip_random(Fixture *f, bool *used, unsigned n, uint64_t *rng)
{
    for (unsigned k = 0; k < n; k++) {
        unsigned s = rng_next(rng) % SLOTS;

        if (used[s]) {
            as_unmap(f, s);
        } else {
            as_map(f, s);
        }
        used[s] = !used[s];
    }
}

/* Positions and counts of @c and the address space against @used. */
static void check_records(Fixture *f, VfiContainer *c, const bool *used)
{
    unsigned i = 0, n = 0;

    for (unsigned s = 0; s < SLOTS; s++) {
        VfiMappingInfo a, m;

        if (!used[s]) {
            continue;
        }
        n++;
        assert_true(vfi_address_space_mapping(f->as, i, &a));
        assert_true(vfi_container_mapping(c, i, &m));
        assert_int_equal(a.iova, slot_iova(s));
        assert_int_equal(m.iova, slot_iova(s));
        assert_int_equal(m.owner, VFI_MAPPING_BY_ADDRESS_SPACE);
        i++;
    }
    assert_int_equal(vfi_address_space_mapping_count(f->as), n);
    assert_int_equal(vfi_container_mapping_count(c), n);
    assert_false(vfi_container_mapping(c, n, &(VfiMappingInfo){ 0 }));
    assert_int_equal(vfi_sim_ioas_mapping_count(f->sim, vfi_iommufd_get_fd(f->be),
                                                vfi_container_get_ioas_id(c)), n);
}

/* Tracking on: a DMA write to every mapped page, a sync: exactly those
 * pages in the log (the sync reads the merged view's ranges). */
static void check_dirty(Fixture *f, const bool *used)
{
    g_autoptr(GError) err = NULL;
    VfiDirtyLog *log = log_new(BASE, PAGE, SLOTS);
    unsigned n = 0;

    for (unsigned s = 0; s < SLOTS; s++) {
        if (used[s]) {
            dma_ok(f, "a0", slot_iova(s), PAGE);
            n++;
        }
    }
    assert_ok(vfi_address_space_sync_dirty(f->as, log, &err), err);
    assert_int_equal(log_count(log), n);
    for (unsigned s = 0; s < SLOTS; s++) {
        assert_int_equal(log_test(log, s), used[s]);
    }
    log_free(log);
}

static void test_records_at_scale(void **state)
{
    Fixture *f = fixture_new(dirty_topo);
    g_autofree bool *used = g_new0(bool, SLOTS);
    g_autoptr(GError) err = NULL;
    uint64_t rng = 11;
    VfiContainer *c;

    attach_ok(f, "a0", NULL);
    c = container_of_dev(f, "a0");
    for (int pass = 0; pass < 2; pass++) {
        for (int round = 0; round < 3; round++) {
            flip_random(f, used, 3000, &rng);   /* tracking off */
            check_records(f, c, used);
        }
        assert_ok(vfi_address_space_dirty_tracking_start(f->as, &err), err);
        check_dirty(f, used);                   /* the view built again */
        for (int round = 0; round < 3; round++) {
            flip_random(f, used, 3000, &rng);   /* tracking on: kept in step */
            check_records(f, c, used);
            check_dirty(f, used);
        }
        stop_all(f);
    }
    fixture_free(f);
}

/* Container-level mappings among the address space's: positions, owners,
 * refusals across levels. */
static void test_levels_mixed(void **state)
{
    Fixture *f = fixture_new(dirty_topo);
    g_autoptr(GError) err = NULL;
    VfiContainer *c;
    VfiMappingInfo m;

    attach_ok(f, "a0", NULL);
    c = container_of_dev(f, "a0");
    for (unsigned s = 0; s < 2000; s++) {
        if (s % 2) {
            assert_ok(vfi_container_dma_map(c, slot_iova(s), PAGE, fake_va(slot_iova(s)), false,
                                            &err), err);
        } else {
            as_map(f, s);
        }
    }
    assert_int_equal(vfi_container_mapping_count(c), 2000);
    assert_int_equal(vfi_address_space_mapping_count(f->as), 1000);
    for (unsigned i = 0; i < 2000; i += 37) {
        assert_true(vfi_container_mapping(c, i, &m));
        assert_int_equal(m.iova, slot_iova(i));
        assert_int_equal(m.owner, i % 2 ? VFI_MAPPING_BY_CONTAINER : VFI_MAPPING_BY_ADDRESS_SPACE);
    }
    /* neither level unmaps the other's */
    assert_false(vfi_address_space_dma_unmap(f->as, slot_iova(0), 2 * PAGE, 0, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    assert_false(vfi_container_dma_unmap(c, slot_iova(1000), PAGE, 0, NULL, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    /* an unmap cutting a mapping is refused before the ioctl */
    assert_false(vfi_container_dma_unmap(c, slot_iova(1) + PAGE / 2, PAGE, 0, NULL, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    for (unsigned s = 1; s < 2000; s += 2) {
        assert_ok(vfi_container_dma_unmap(c, slot_iova(s), PAGE, 0, NULL, &err), err);
    }
    assert_int_equal(vfi_container_mapping_count(c), 1000);
    assert_true(vfi_container_mapping(c, 999, &m));
    assert_int_equal(m.iova, slot_iova(1998));
    assert_ok(vfi_address_space_dma_unmap(f->as, 0, BASE * 2, 0, &err), err);
    assert_int_equal(vfi_container_mapping_count(c), 0);
    fixture_free(f);
}

/* Map and unmap @cycles random free slots with the library (or bare
 * ioctls on the same IOAS, at the same slots of a range above): the
 * allocations made. */
static unsigned long cycles_allocs(Fixture *f, VfiContainer *c, const bool *used, bool bare,
                                   unsigned cycles, uint64_t *rng)
{
    g_autoptr(GError) err = NULL;
    uint32_t ioas = vfi_container_get_ioas_id(c);

    alloc_counter_arm();
    for (unsigned k = 0; k < cycles; k++) {
        unsigned s = rng_next(rng) % SLOTS;
        uint64_t iova = bare ? BASE * 2 + (uint64_t)s * PAGE : slot_iova(s);
        bool ok;

        if (used[s]) {
            continue;
        }
        ok = bare ? vfi_iommufd_ioas_map(f->be, ioas, iova, PAGE, fake_va(iova), false, &err) &&
                    vfi_iommufd_ioas_unmap(f->be, ioas, iova, PAGE, NULL, &err)
                  : vfi_address_space_dma_map(f->as, iova, PAGE, fake_va(iova), false, &err) &&
                    vfi_address_space_dma_unmap(f->as, iova, PAGE, 0, &err);
        if (!ok) {
            alloc_counter_disarm();
            assert_ok(ok, err);
        }
    }
    return alloc_counter_disarm();
}

static void test_no_allocation_per_map(void **state)
{
    Fixture *f;
    g_autofree bool *used = NULL;
    uint64_t rng = 5;
    unsigned long lib, bare;
    VfiContainer *c;

    if (!alloc_counter_available()) {
        skip();     /* a longjmp: nothing allocated yet */
    }
    used = g_new0(bool, SLOTS);
    f = fixture_new(dirty_topo);
    attach_ok(f, "a0", NULL);
    c = container_of_dev(f, "a0");
    flip_random(f, used, 3000, &rng);
    /* as many bare mappings in the IOAS, out of the way */
    for (unsigned s = 0; s < SLOTS; s += 2) {
        g_autoptr(GError) err = NULL;
        uint64_t iova = BASE * 3 + (uint64_t)s * PAGE;

        assert_ok(vfi_iommufd_ioas_map(f->be, vfi_container_get_ioas_id(c), iova, PAGE,
                                       fake_va(iova), false, &err), err);
    }
    /* warm: every leaf that was full has split once */
    cycles_allocs(f, c, used, false, 20000, &rng);
    cycles_allocs(f, c, used, true, 2000, &rng);
    lib = cycles_allocs(f, c, used, false, 5000, &rng);
    bare = cycles_allocs(f, c, used, true, 5000, &rng);
    print_message("allocations over 5000 map+unmap cycles: library %lu, bare ioctls %lu\n",
                  lib, bare);
    assert_true(lib <= bare + 2);
    fixture_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_records_at_scale),
        cmocka_unit_test(test_levels_mixed),
        cmocka_unit_test(test_no_allocation_per_map),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
