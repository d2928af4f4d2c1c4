/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The public dirty reader (VfiDirtyReader) on HWPTs the caller names, as a
 * VMM managing its own HWPTs (or the real-kernel suite on the mock IOMMU)
 * uses it: two HWPTs ORed exactly, NO_CLEAR then clearing reads against a
 * model of the kernel's dirty state, sub-byte log offsets against a
 * bit-by-bit reference, argument checks before any ioctl, bits kept across a
 * kernel error, and no allocation in steady state (its stats and a counting
 * allocator).
 */
#include "test-dirty-helpers.h"
#include "alloc-counter.h"

#define RAM (16 * MIB)
#define RAM_PAGES (RAM / PAGE)

typedef struct ReaderFixture {
    Fixture *f;
    VfiContainer *c;
    uint32_t hwpt_a, hwpt_b;
    VfiDirtyReader *r;
} ReaderFixture;

/* a0 and b0 in one container: two dirty HWPTs (IOMMUs a and b); [0, RAM)
 * mapped; tracking on; a reader on both HWPTs with the IOAS's alignment. */
static ReaderFixture *reader_fixture(void)
{
    ReaderFixture *rf = g_new0(ReaderFixture, 1);
    g_autoptr(GError) err = NULL;

    rf->f = fixture_new(dirty_topo);
    attach_ok(rf->f, "a0", NULL);
    attach_ok(rf->f, "b0", NULL);
    map_ok(rf->f, 0, RAM);
    assert_ok(vfi_address_space_dirty_tracking_start(rf->f->as, &err), err);
    rf->c = container_of_dev(rf->f, "a0");
    assert_ptr_equal(container_of_dev(rf->f, "b0"), rf->c);
    rf->hwpt_a = vfi_hwpt_get_id(vfi_device_get_hwpt(fdev(rf->f, "a0")));
    rf->hwpt_b = vfi_hwpt_get_id(vfi_device_get_hwpt(fdev(rf->f, "b0")));
    assert_true(rf->hwpt_a && rf->hwpt_b && rf->hwpt_a != rf->hwpt_b);
    rf->r = vfi_dirty_reader_new(rf->f->be);
    assert_non_null(rf->r);
    assert_ok(vfi_dirty_reader_set_iova_alignment(
                  rf->r, vfi_container_get_iova_alignment(rf->c), &err), err);
    assert_ok(vfi_dirty_reader_add_hwpt(rf->r, rf->hwpt_a, &err), err);
    assert_ok(vfi_dirty_reader_add_hwpt(rf->r, rf->hwpt_b, &err), err);
    assert_int_equal(vfi_dirty_reader_hwpt_count(rf->r), 2);
    return rf;
}

static void reader_fixture_free(ReaderFixture *rf)
{
    vfi_dirty_reader_free(rf->r);
    stop_all(rf->f);
    fixture_free(rf->f);
    g_free(rf);
}

static void mark(ReaderFixture *rf, const char *dev, uint64_t page)
{
    hwpt_mark(rf->f, fdev(rf->f, dev), page * PAGE, PAGE);
}

static void test_two_hwpts_ored(void **state)
{
    ReaderFixture *rf = reader_fixture();
    VfiDirtyLog *log = log_new(0, PAGE, RAM_PAGES);
    g_autofree bool *want = g_new0(bool, RAM_PAGES);
    g_autoptr(GError) err = NULL;
    VfiDirtyStats st0, st1;

    for (unsigned k = 0; k < 60; k++) {
        uint64_t pa = (k * 97 + 3) % RAM_PAGES, pb = (k * 61 + 5) % RAM_PAGES;

        mark(rf, "a0", pa);
        mark(rf, "b0", pb);
        want[pa] = want[pb] = true;
    }
    mark(rf, "a0", 777);                     /* dirty in both */
    mark(rf, "b0", 777);
    want[777] = true;
    vfi_dirty_reader_get_stats(rf->r, &st0);
    assert_ok(vfi_dirty_reader_query(rf->r, 0, RAM, log, 0, &err), err);
    vfi_dirty_reader_get_stats(rf->r, &st1);
    for (uint64_t p = 0; p < RAM_PAGES; p++) {
        if (log_test(log, p) != want[p]) {
            fail_msg("page %" PRIu64 ": dirty %d, expected %d", p, log_test(log, p), want[p]);
        }
    }
    /* byte-aligned: one zero-copy read per HWPT, no scratch */
    assert_int_equal(st1.zero_copy_reads - st0.zero_copy_reads, 2);
    assert_int_equal(st1.scratch_reads - st0.scratch_reads, 0);
    /* the read cleared both */
    log_clear(log);
    assert_ok(vfi_dirty_reader_query(rf->r, 0, RAM, log, 0, &err), err);
    assert_int_equal(log_count(log), 0);
    /* the container's own reader is another one: it sees nothing either */
    assert_ok(vfi_container_sync_dirty(rf->c, log, &err), err);
    assert_int_equal(log_count(log), 0);
    log_free(log);
    reader_fixture_free(rf);
}

static void test_no_clear_then_clear(void **state)
{
    ReaderFixture *rf = reader_fixture();
    VfiDirtyLog *log = log_new(0, PAGE, RAM_PAGES);
    g_autoptr(GError) err = NULL;
    struct iommu_hwpt_get_dirty_bitmap g;
    unsigned long req;

    mark(rf, "a0", 10);
    mark(rf, "b0", 20);
    mark(rf, "b0", 75);
    for (int round = 0; round < 3; round++) {
        log_clear(log);
        assert_ok(vfi_dirty_reader_query(rf->r, 8 * PAGE, 100 * PAGE, log,
                                          VFI_DIRTY_QUERY_NO_CLEAR, &err), err);
        assert_int_equal(log_count(log), 3);
        assert_true(log_test(log, 10) && log_test(log, 20) && log_test(log, 75));
    }
    /* the flag reaches the kernel, the log itself is the buffer (byte 1) */
    assert_int_equal(vfi_sim_last_ioctl(rf->f->sim, &req, &g, sizeof(g)), sizeof(g));
    assert_int_equal(req, IOMMU_HWPT_GET_DIRTY_BITMAP);
    assert_int_equal(g.hwpt_id, rf->hwpt_b);
    assert_int_equal(g.flags, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR);
    assert_int_equal(g.iova, 8 * PAGE);
    assert_int_equal(g.length, 100 * PAGE);
    assert_int_equal(g.page_size, PAGE);
    assert_int_equal(g.data, (uintptr_t)log->bitmap + 1);
    /* a clearing read at a sub-byte offset finds them and clears them */
    log_clear(log);
    assert_ok(vfi_dirty_reader_query(rf->r, 3 * PAGE, 100 * PAGE, log, 0, &err), err);
    assert_int_equal(vfi_sim_last_ioctl(rf->f->sim, &req, &g, sizeof(g)), sizeof(g));
    assert_int_equal(g.flags, 0);
    assert_int_equal(log_count(log), 3);
    assert_true(log_test(log, 10) && log_test(log, 20) && log_test(log, 75));
    log_clear(log);
    assert_ok(vfi_dirty_reader_query(rf->r, 0, RAM, log, VFI_DIRTY_QUERY_NO_CLEAR, &err),
              err);
    assert_int_equal(log_count(log), 0);
    log_free(log);
    reader_fixture_free(rf);
}

/* Dirties 20 random log pages through either HWPT, and the window
 * [first, first + n)'s first and last page; @dirty follows. */
static void mark_random(ReaderFixture *rf, GRand *rand, bool *dirty, uint64_t npages,
                        uint64_t page_size, uint64_t first, uint64_t n)
{
    for (unsigned k = 0; k < 20; k++) {
        uint64_t p = g_rand_int_range(rand, 0, (gint32)npages);
        uint64_t sub = g_rand_int_range(rand, 0, (gint32)(page_size / PAGE));

        mark(rf, g_rand_boolean(rand) ? "a0" : "b0", p * (page_size / PAGE) + sub);
        dirty[p] = true;
    }
    mark(rf, "a0", first * (page_size / PAGE));
    dirty[first] = true;
    mark(rf, "b0", (first + n - 1) * (page_size / PAGE));
    dirty[first + n - 1] = true;
}

/*
 * Random windows at random bit offsets of a log (its base moved so the
 * window lands there), NO_CLEAR or clearing at random, against a model of
 * the kernel's dirty state and a bit-by-bit reference; the log is prefilled
 * with garbage that must survive outside each window.
 */
static void run_random(uint64_t page_size, unsigned iterations)
{
    ReaderFixture *rf = reader_fixture();
    uint64_t npages = RAM / page_size;      /* log pages of the mapped RAM */
    uint64_t log_pages = npages + 64;
    uint64_t words = (log_pages + 63) / 64;
    g_autofree uint64_t *bits = g_new(uint64_t, words);
    g_autofree uint64_t *before = g_new(uint64_t, words);
    g_autofree bool *dirty = g_new0(bool, npages);   /* the kernel's state, ORed */
    GRand *rand = g_rand_new_with_seed(7);
    g_autoptr(GError) err = NULL;
    VfiDirtyStats st;

    for (unsigned it = 0; it < iterations; it++) {
        uint64_t first = g_rand_int_range(rand, 0, (gint32)npages);
        uint64_t n = 1 + g_rand_int_range(rand, 0, (gint32)MIN(npages - first, 600));
        uint64_t off = g_rand_int_range(rand, 0, 64);          /* window's log bit */
        bool no_clear = g_rand_boolean(rand);
        VfiDirtyLog log;

        mark_random(rf, rand, dirty, npages, page_size, first, n);
        if (off > 0) {
            /* the log starts off pages before the window: never below 0 */
            if (first < off) {
                off = first;
            }
        }
        log.base_iova = (first - off) * page_size;
        log.page_size = page_size;
        log.nr_pages = log_pages;
        log.bitmap = bits;
        log_fill_garbage(rand, bits, words);
        memcpy(before, bits, words * 8);
        assert_ok(vfi_dirty_reader_query(rf->r, first * page_size, n * page_size, &log,
                                          no_clear ? VFI_DIRTY_QUERY_NO_CLEAR : 0, &err),
                  err);
        for (uint64_t b = 0; b < log_pages; b++) {
            bool old = (before[b / 64] >> (b % 64)) & 1;
            bool in = b >= off && b < off + n;
            bool want = old || (in && dirty[first + (b - off)]);

            if (log_test(&log, b) != want) {
                fail_msg("iteration %u window [%" PRIu64 ", +%" PRIu64 ") at log bit %" PRIu64
                         " page size 0x%" PRIx64 ": bit %" PRIu64 " is %d, expected %d", it,
                         first, n, off, page_size, b, log_test(&log, b), want);
            }
        }
        if (!no_clear) {
            memset(dirty + first, 0, n * sizeof(bool));
        }
    }
    vfi_dirty_reader_get_stats(rf->r, &st);
    assert_true(st.zero_copy_reads > 0);
    assert_true(st.scratch_reads > 0);
    g_rand_free(rand);
    reader_fixture_free(rf);
}

static void test_sub_byte_offsets(void **state)
{
    run_random(PAGE, 300);
    run_random(4 * PAGE, 150);
}

static void refused(ReaderFixture *rf, VfiDirtyReader *r, uint64_t iova, uint64_t size,
                    const VfiDirtyLog *log, uint32_t flags)
{
    g_autoptr(GError) err = NULL;
    uint64_t ioctls = vfi_sim_ioctl_count(rf->f->sim);
    uint64_t first = log && log->bitmap ? log->bitmap[0] : 0;

    assert_false(vfi_dirty_reader_query(r, iova, size, log, flags, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_int_equal(vfi_sim_ioctl_count(rf->f->sim), ioctls);
    if (log && log->bitmap) {
        assert_int_equal(log->bitmap[0], first);
    }
}

/* Every bad query argument is refused before any ioctl, the log untouched. */
static void checks_query_args(ReaderFixture *rf, const VfiDirtyLog *log)
{
    VfiDirtyLog bad;

    assert_null(vfi_dirty_reader_new(NULL));
    refused(rf, NULL, 0, PAGE, log, 0);
    refused(rf, rf->r, 0, PAGE, NULL, 0);
    refused(rf, rf->r, 0, 0, log, 0);                          /* size 0 */
    refused(rf, rf->r, PAGE / 2, PAGE, log, 0);                /* misaligned */
    refused(rf, rf->r, 0, PAGE + 512, log, 0);
    refused(rf, rf->r, 0, RAM + PAGE, log, 0);                 /* past the log */
    refused(rf, rf->r, UINT64_MAX - PAGE + 1, 2 * PAGE, log, 0); /* overflow */
    refused(rf, rf->r, 0, PAGE, log, 0x80);                    /* unknown flag */
    bad = *log;
    bad.bitmap = NULL;
    refused(rf, rf->r, 0, PAGE, &bad, 0);
    bad = *log;
    bad.page_size = 0;
    refused(rf, rf->r, 0, PAGE, &bad, 0);
    bad.page_size = 3 * PAGE;                                  /* not a power of two */
    refused(rf, rf->r, 0, 3 * PAGE, &bad, 0);
    bad.page_size = PAGE / 2;                                  /* below the alignment set */
    refused(rf, rf->r, 0, PAGE, &bad, 0);
    bad = *log;
    bad.base_iova = 512;
    refused(rf, rf->r, PAGE, PAGE, &bad, 0);
    bad = *log;
    bad.nr_pages = 0;
    refused(rf, rf->r, 0, PAGE, &bad, 0);
    bad = *log;
    bad.base_iova = UINT64_MAX - PAGE + 1;
    bad.nr_pages = 2;                                          /* span overflows */
    refused(rf, rf->r, UINT64_MAX - PAGE + 1, PAGE, &bad, 0);
    bad = *log;
    bad.base_iova = 8 * PAGE;                                  /* below the log's base */
    refused(rf, rf->r, 0, PAGE, &bad, 0);
}

static void checks_sources(ReaderFixture *rf)
{
    g_autoptr(GError) err = NULL;
    VfiDirtyStats st;
    uint64_t ioctls;

    /* sources */
    ioctls = vfi_sim_ioctl_count(rf->f->sim);
    assert_false(vfi_dirty_reader_add_hwpt(NULL, rf->hwpt_a, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_dirty_reader_add_hwpt(rf->r, 0, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_dirty_reader_add_hwpt(rf->r, rf->hwpt_b, &err));   /* twice */
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_dirty_reader_remove_hwpt(rf->r, 999, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_NOT_FOUND);
    assert_false(vfi_dirty_reader_remove_hwpt(NULL, rf->hwpt_a, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_dirty_reader_set_iova_alignment(rf->r, 0, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_dirty_reader_set_iova_alignment(rf->r, 3 * PAGE, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_dirty_reader_set_iova_alignment(NULL, PAGE, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_int_equal(vfi_dirty_reader_hwpt_count(rf->r), 2);
    assert_int_equal(vfi_dirty_reader_hwpt_count(NULL), 0);
    vfi_dirty_reader_get_stats(NULL, &st);
    assert_int_equal(st.zero_copy_reads + st.scratch_reads + st.scratch_grows, 0);
    vfi_dirty_reader_free(NULL);
    assert_int_equal(vfi_sim_ioctl_count(rf->f->sim), ioctls);
}

static void checks_no_source(ReaderFixture *rf, const VfiDirtyLog *log)
{
    uint64_t ioctls = vfi_sim_ioctl_count(rf->f->sim);
    g_autoptr(GError) err = NULL;
    VfiDirtyReader *empty;
    VfiDirtyLog bad;

    /* without an alignment set, a page size below the IOAS's is the kernel's
     * to check; with no source, a valid query reads nothing */
    empty = vfi_dirty_reader_new(rf->f->be);
    bad = *log;
    bad.page_size = PAGE / 2;
    bad.nr_pages = 2 * RAM_PAGES;
    assert_ok(vfi_dirty_reader_query(empty, 0, PAGE, &bad, 0, &err), err);
    assert_int_equal(vfi_sim_ioctl_count(rf->f->sim), ioctls);
    /* an unknown HWPT: the kernel's ENOENT, naming it */
    assert_ok(vfi_dirty_reader_add_hwpt(empty, 999, &err), err);
    assert_false(vfi_dirty_reader_query(empty, 0, PAGE, log, 0, &err));
    assert_non_null(err);
    assert_non_null(strstr(err->message, "hwpt 999"));
    assert_gerror(err, VFI_KERNEL_ERROR, ENOENT);
    vfi_dirty_reader_free(empty);
}

static void test_checks(void **state)
{
    ReaderFixture *rf = reader_fixture();
    VfiDirtyLog *log = log_new(0, PAGE, RAM_PAGES);
    g_autoptr(GError) err = NULL;

    log->bitmap[0] = 0x5a;
    checks_query_args(rf, log);

    checks_sources(rf);

    checks_no_source(rf, log);

    /* removing a source: only the other is read */
    mark(rf, "a0", 1);
    mark(rf, "b0", 2);
    assert_ok(vfi_dirty_reader_remove_hwpt(rf->r, rf->hwpt_a, &err), err);
    assert_int_equal(vfi_dirty_reader_hwpt_count(rf->r), 1);
    log_clear(log);
    assert_ok(vfi_dirty_reader_query(rf->r, 0, RAM, log, 0, &err), err);
    assert_int_equal(log_count(log), 1);
    assert_true(log_test(log, 2));
    log_free(log);
    reader_fixture_free(rf);
}

/* A kernel error on the second HWPT: the bits of the first are in the log,
 * on the zero-copy path and on the scratch path. */
static void test_error_keeps_bits(void **state)
{
    ReaderFixture *rf = reader_fixture();
    VfiDirtyLog *log = log_new(0, PAGE, RAM_PAGES);
    g_autoptr(GError) err = NULL;

    for (unsigned start = 0; start <= 3; start += 3) {
        mark(rf, "a0", 40);
        mark(rf, "b0", 50);
        log_clear(log);
        vfi_sim_fail_nth(rf->f->sim, 2, EIO);
        assert_false(vfi_dirty_reader_query(rf->r, start * PAGE, 64 * PAGE, log, 0, &err));
        assert_gerror(err, VFI_KERNEL_ERROR, EIO);
        assert_int_equal(log_count(log), 1);
        assert_true(log_test(log, 40));
        /* b's bit is still in the kernel */
        log_clear(log);
        assert_ok(vfi_dirty_reader_query(rf->r, 0, RAM, log, 0, &err), err);
        assert_int_equal(log_count(log), 1);
        assert_true(log_test(log, 50));
    }
    log_free(log);
    reader_fixture_free(rf);
}

/* 1000 rounds at byte-aligned and sub-byte offsets: the scratch buffer grows
 * in the warm-up only, and no malloc-family call is made. */
static void test_steady_state_no_alloc(void **state)
{
    ReaderFixture *rf = reader_fixture();
    VfiDirtyLog *log = log_new(0, PAGE, RAM_PAGES);
    g_autoptr(GError) err = NULL;
    VfiDirtyStats st0, st1;
    uint64_t found = 0;
    bool counting = alloc_counter_available();

    /* warm-up: the scratch buffer for the largest sub-byte window */
    mark(rf, "a0", 100);
    assert_ok(vfi_dirty_reader_query(rf->r, 5 * PAGE, 1024 * PAGE, log, 0, &err), err);
    vfi_dirty_reader_get_stats(rf->r, &st0);
    assert_int_equal(st0.scratch_grows, 1);
    /* 1024 pages: 128 bytes of bitmap, in one page-aligned page (the
     * kernel may write up to the end of the bitmap's last page) */
    assert_int_equal(st0.scratch_bytes, 4096);
    if (!counting) {
        /* ASan's allocator must see every call: no counter in that build */
        print_message("[ SKIPPED  ] allocation counting (not available in this build, "
                      "sanitizers?): the scratch-buffer checks still run\n");
    }
    for (unsigned round = 0; round < 1000; round++) {
        uint64_t pa = 5 + round % 1000, pb = 1024 + round % 1000;
        unsigned long allocs;
        bool ok;

        mark(rf, "a0", pa);
        mark(rf, "b0", pb);
        log_clear(log);
        alloc_counter_arm();
        ok = vfi_dirty_reader_query(rf->r, 5 * PAGE, 1000 * PAGE, log, 0, NULL) &&
             vfi_dirty_reader_query(rf->r, 1024 * PAGE, 1000 * PAGE, log, 0, NULL);
        allocs = alloc_counter_disarm();
        if (!ok) {
            fail_msg("round %u failed", round);
        }
        if (counting && allocs) {
            fail_msg("round %u made %lu allocation(s)", round, allocs);
        }
        if (!log_test(log, pa) || !log_test(log, pb)) {
            fail_msg("round %u: pages %" PRIu64 " / %" PRIu64 " not found", round, pa, pb);
        }
        found += log_count(log);
    }
    vfi_dirty_reader_get_stats(rf->r, &st1);
    assert_int_equal(found, 2000);
    assert_int_equal(st1.scratch_grows, st0.scratch_grows);
    assert_int_equal(st1.scratch_bytes, st0.scratch_bytes);
    /* two HWPTs: two reads per query, one query of each kind per round */
    assert_int_equal(st1.zero_copy_reads - st0.zero_copy_reads, 2000);
    assert_int_equal(st1.scratch_reads - st0.scratch_reads, 2000);
    log_free(log);
    reader_fixture_free(rf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_hwpts_ored),
        cmocka_unit_test(test_no_clear_then_clear),
        cmocka_unit_test(test_sub_byte_offsets),
        cmocka_unit_test(test_checks),
        cmocka_unit_test(test_error_keeps_bits),
        cmocka_unit_test(test_steady_state_no_alloc),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
