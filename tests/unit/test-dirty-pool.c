/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Parallel dirty syncs (include/vfio-iommufd/dirty-pool.h): bit for bit the
 * serial sync's result (randomised, fixed seed) with 1, 2 and 4 threads, with
 * and without split mappings, over a log cutting mappings and two
 * containers; the VMM's executor; no thread started unless asked; the first
 * error returned with every other job's bits kept; argument checks; no
 * allocation in steady state.
 */
#include <dirent.h>

#include "vfio-iommufd/dirty-pool.h"
#include "test-dirty-helpers.h"
#include "alloc-counter.h"

#define RAM (16 * MIB)
#define LOG_PAGES (RAM / PAGE)

static const char *const devs[] = { "a0", "b0", "l0", "ml" };

/* Two HWPTs (a0, b0), two logging devices, guest memory as several
 * mappings: two large, one small, one not aligned to 2 pages, one past the
 * log's end. Tracking on. */
static Fixture *pool_fixture_with(uint64_t iopte_sizes)
{
    Fixture *f = dirty_fixture_ab(iopte_sizes);
    g_autoptr(GError) err = NULL;

    attach_ok(f, "l0", &prefer_logging);
    attach_ok(f, "ml", &prefer_logging);
    map_ok(f, 0, 6 * MIB);
    map_ok(f, 6 * MIB, 64 * PAGE);
    map_ok(f, 6 * MIB + 64 * PAGE, 3 * PAGE);
    map_ok(f, 8 * MIB, 8 * MIB + 32 * PAGE);   /* crosses the log's end */
    assert_ok(vfi_address_space_dirty_tracking_start(f->as, &err), err);
    return f;
}

static Fixture *pool_fixture(void)
{
    return pool_fixture_with(0);
}

/* The same random DMA writes for a given seed. */
static void write_pattern(Fixture *f, guint32 seed, unsigned n)
{
    GRand *rand = g_rand_new_with_seed(seed);

    for (unsigned k = 0; k < n; k++) {
        uint64_t p = g_rand_int_range(rand, 0, (gint32)((16 * MIB + 32 * PAGE) / PAGE));

        if (p >= (6 * MIB + 67 * PAGE) / PAGE && p < 8 * MIB / PAGE) {
            continue;           /* a hole */
        }
        dma_ok(f, devs[g_rand_int_range(rand, 0, G_N_ELEMENTS(devs))], p * PAGE, PAGE);
    }
    g_rand_free(rand);
}

static void sync_serial(Fixture *f, VfiDirtyLog *log)
{
    g_autoptr(GError) err = NULL;

    log_clear(log);
    assert_ok(vfi_address_space_sync_dirty(f->as, log, &err), err);
}

static void sync_parallel(Fixture *f, VfiDirtyLog *log, VfiDirtyPool *pool)
{
    g_autoptr(GError) err = NULL;

    log_clear(log);
    assert_ok(vfi_address_space_sync_dirty_parallel(f->as, log, pool, &err), err);
}

static void assert_same(const VfiDirtyLog *a, const VfiDirtyLog *b, const char *what)
{
    for (uint64_t p = 0; p < a->nr_pages; p++) {
        if (log_test(a, p) != log_test(b, p)) {
            fail_msg("%s: page %" PRIu64 " serial %d parallel %d", what, p, log_test(a, p),
                     log_test(b, p));
        }
    }
}

/* Serial and parallel syncs of the same writes give the same log; both
 * leave nothing behind (a second sync finds nothing). */
static void compare(unsigned threads, uint64_t split, const VfiDirtyLog *shape)
{
    Fixture *f = pool_fixture();
    VfiDirtyLog *ls = log_new(shape->base_iova, shape->page_size, shape->nr_pages);
    VfiDirtyLog *lp = log_new(shape->base_iova, shape->page_size, shape->nr_pages);
    g_autoptr(GError) err = NULL;
    g_autoptr(VfiDirtyPool) pool = vfi_dirty_pool_new(threads, &err);

    assert_non_null(pool);
    assert_int_equal(vfi_dirty_pool_width(pool), threads + 1);
    assert_ok(vfi_dirty_pool_set_split_alignment(pool, split, &err), err);
    for (guint32 seed = 1; seed <= 12; seed++) {
        write_pattern(f, seed, 300);
        sync_serial(f, ls);
        write_pattern(f, seed, 300);
        sync_parallel(f, lp, pool);
        assert_true(log_count(ls) > 0);
        assert_same(ls, lp, "one round");
        sync_parallel(f, lp, pool);
        assert_int_equal(log_count(lp), 0);
    }
    log_free(ls);
    log_free(lp);
    stop_all(f);
    fixture_free(f);
}

static void test_same_as_serial(void **state)
{
    /* the log covers all but the tail of the last mapping: a cut mapping */
    VfiDirtyLog whole = { 0, PAGE, NULL, LOG_PAGES };
    /* a log starting inside the first mapping, at 2-page granularity */
    VfiDirtyLog inner = { 4 * PAGE, 2 * PAGE, NULL, (LOG_PAGES - 8) / 2 };

    for (unsigned t = 1; t <= 4; t *= 2) {
        compare(t, 0, &whole);
        compare(t, 64 * 1024, &whole);
        compare(t, 0, &inner);
        compare(t, 1 * MIB, &inner);
    }
}

/* A public reader told of the mappings: its parallel query gives its
 * serial query's bits (device logs are not its sources: HWPTs only). */
static void test_reader_parallel(void **state)
{
    Fixture *f = pool_fixture();
    VfiDirtyLog *ls = log_new(0, PAGE, LOG_PAGES), *lp = log_new(0, PAGE, LOG_PAGES);
    g_autoptr(GError) err = NULL;
    g_autoptr(VfiDirtyPool) pool = vfi_dirty_pool_new(2, &err);
    VfiDirtyReader *rd = vfi_dirty_reader_new(f->be);
    static const uint64_t maps[][2] = {
        { 0, 6 * MIB }, { 6 * MIB, 64 * PAGE }, { 6 * MIB + 64 * PAGE, 3 * PAGE },
        { 8 * MIB, 8 * MIB + 32 * PAGE },
    };

    assert_ok(vfi_dirty_reader_add_hwpt(rd, vfi_hwpt_get_id(vfi_device_get_hwpt(fdev(f, "a0"))),
                                        &err), err);
    assert_ok(vfi_dirty_reader_add_hwpt(rd, vfi_hwpt_get_id(vfi_device_get_hwpt(fdev(f, "b0"))),
                                        &err), err);
    for (unsigned i = 0; i < G_N_ELEMENTS(maps); i++) {
        assert_ok(vfi_dirty_reader_add_mapping(rd, maps[i][0], maps[i][1], &err), err);
    }
    assert_ok(vfi_dirty_pool_set_split_alignment(pool, 256 * 1024, &err), err);
    for (guint32 seed = 20; seed < 26; seed++) {
        /* [4 pages, 15 MiB): cuts the first and the last mapping, holds a hole */
        uint64_t iova = 4 * PAGE, size = 15 * MIB - iova;

        write_pattern(f, seed, 300);
        log_clear(ls);
        assert_ok(vfi_dirty_reader_query(rd, iova, size, ls, 0, &err), err);
        write_pattern(f, seed, 300);
        log_clear(lp);
        assert_ok(vfi_dirty_reader_query_parallel(rd, iova, size, lp, 0, pool, &err), err);
        assert_true(log_count(ls) > 0);
        assert_same(ls, lp, "reader");
        sync_serial(f, ls);            /* the logging devices' pages, the rest */
    }
    vfi_dirty_reader_free(rd);         /* before its backend */
    log_free(ls);
    log_free(lp);
    stop_all(f);
    fixture_free(f);
}

/* On the model's kernel-exact mode (a read crossing a hole stops there), a
 * reader told of its mappings finds the pages after a hole, serially and in
 * parallel; one not told reads what it is asked, and loses them. */
static void test_reader_holes(void **state)
{
    Fixture *f = pool_fixture_with(PAGE);
    VfiDirtyLog *log = log_new(0, PAGE, LOG_PAGES);
    g_autoptr(GError) err = NULL;
    g_autoptr(VfiDirtyPool) pool = vfi_dirty_pool_new(1, &err);
    VfiDirtyReader *rd = vfi_dirty_reader_new(f->be);
    uint32_t a0 = vfi_hwpt_get_id(vfi_device_get_hwpt(fdev(f, "a0")));

    assert_ok(vfi_dirty_reader_add_hwpt(rd, a0, &err), err);
    /* not told: the read of [0, 16 MiB) stops at the hole after 6 MiB + 67 pages */
    dma_ok(f, "a0", 5 * PAGE, PAGE);
    dma_ok(f, "a0", 9 * MIB, PAGE);
    log_clear(log);
    assert_ok(vfi_dirty_reader_query(rd, 0, 16 * MIB, log, 0, &err), err);
    assert_true(log_test(log, 5) && log_count(log) == 1);
    /* told: the pieces between holes read one by one */
    assert_ok(vfi_dirty_reader_add_mapping(rd, 0, 6 * MIB, &err), err);
    assert_ok(vfi_dirty_reader_add_mapping(rd, 6 * MIB, 67 * PAGE, &err), err);
    assert_ok(vfi_dirty_reader_add_mapping(rd, 8 * MIB, 8 * MIB + 32 * PAGE, &err), err);
    log_clear(log);
    assert_ok(vfi_dirty_reader_query(rd, 0, 16 * MIB, log, 0, &err), err);
    assert_true(log_test(log, 9 * MIB / PAGE) && log_count(log) == 1);
    dma_ok(f, "a0", 6 * MIB + 66 * PAGE, PAGE);
    dma_ok(f, "a0", 12 * MIB, PAGE);
    log_clear(log);
    assert_ok(vfi_dirty_reader_query_parallel(rd, 0, 16 * MIB, log, 0, pool, &err), err);
    assert_true(log_test(log, (6 * MIB) / PAGE + 66) && log_test(log, 12 * MIB / PAGE));
    assert_int_equal(log_count(log), 2);
    vfi_dirty_reader_free(rd);
    log_free(log);
    stop_all(f);
    fixture_free(f);
}

/* ---- the VMM's executor ---------------------------------------------------- */

typedef struct Executor {
    unsigned submits;
    GPtrArray *threads;
} Executor;

typedef struct Run {
    VfiDirtyPoolJobFn fn;
    void *job;
} Run;

static gpointer executor_thread(gpointer data)
{
    Run *r = data;

    r->fn(r->job);
    g_free(r);
    return NULL;
}

static void executor_submit(void *opaque, VfiDirtyPoolJobFn fn, void *job)
{
    Executor *e = opaque;
    Run *r = g_new(Run, 1);

    r->fn = fn;
    r->job = job;
    e->submits++;
    g_ptr_array_add(e->threads, g_thread_new("vmm", executor_thread, r));
}

static unsigned thread_count(void)
{
    DIR *d = opendir("/proc/self/task");
    unsigned n = 0;

    assert_non_null(d);
    while (readdir(d)) {
        n++;
    }
    closedir(d);
    return n - 2;     /* . and .. */
}

static void test_external_executor(void **state)
{
    Fixture *f = pool_fixture();
    VfiDirtyLog *ls = log_new(0, PAGE, LOG_PAGES), *lp = log_new(0, PAGE, LOG_PAGES);
    Executor e = { 0, g_ptr_array_new() };
    g_autoptr(GError) err = NULL;
    unsigned before = thread_count();
    VfiDirtyPool *pool = vfi_dirty_pool_new_external(3, executor_submit, &e, &err);

    assert_non_null(pool);
    assert_int_equal(thread_count(), before);          /* none started */
    write_pattern(f, 7, 500);
    sync_serial(f, ls);
    write_pattern(f, 7, 500);
    sync_parallel(f, lp, pool);
    assert_int_equal(e.submits, 3);
    assert_same(ls, lp, "external executor");
    for (guint i = 0; i < e.threads->len; i++) {
        g_thread_join(g_ptr_array_index(e.threads, i));
    }
    g_ptr_array_free(e.threads, true);
    vfi_dirty_pool_free(pool);
    /* the serial sync and an address space start no thread either */
    assert_int_equal(thread_count(), before);
    log_free(ls);
    log_free(lp);
    stop_all(f);
    fixture_free(f);
}

/* ---- errors and checks ------------------------------------------------------ */

static void test_errors(void **state)
{
    Fixture *f = pool_fixture();
    VfiDirtyLog *log = log_new(0, PAGE, LOG_PAGES);
    g_autoptr(GError) err = NULL;
    g_autoptr(VfiDirtyPool) pool = vfi_dirty_pool_new(2, &err);
    uint64_t ioctls;

    assert_null(vfi_dirty_pool_new(0, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_null(vfi_dirty_pool_new(65, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_null(vfi_dirty_pool_new_external(2, NULL, NULL, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_dirty_pool_set_split_alignment(pool, 3 * PAGE, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_dirty_pool_set_split_alignment(NULL, 0, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    /* a bad log: refused before any ioctl */
    ioctls = vfi_sim_ioctl_count(f->sim);
    log->page_size = 3 * PAGE;
    assert_false(vfi_address_space_sync_dirty_parallel(f->as, log, pool, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_int_equal(vfi_sim_ioctl_count(f->sim), ioctls);
    log->page_size = PAGE;
    /* one HWPT read of a job fails (a log of whole mappings: every HWPT
     * read is a job): the error is returned, the other jobs' bits are in
     * the log, and the failed one's pages are read by the next sync */
    log->nr_pages = 8 * MIB / PAGE;
    dma_ok(f, "a0", 0, PAGE);
    dma_ok(f, "a0", 6 * MIB + PAGE, PAGE);
    dma_ok(f, "b0", 3 * MIB, PAGE);
    vfi_sim_fail_next(f->sim, VFI_SIM_OP_HWPT_GET_DIRTY_BITMAP, EIO);
    log_clear(log);
    assert_false(vfi_address_space_sync_dirty_parallel(f->as, log, pool, &err));
    assert_gerror(err, VFI_KERNEL_ERROR, EIO);
    assert_true(log_count(log) >= 2);
    sync_parallel(f, log, pool);
    assert_true(log_count(log) <= 1);
    sync_parallel(f, log, pool);
    assert_int_equal(log_count(log), 0);
    /* NULL pool: the serial sync */
    dma_ok(f, "l0", 5 * PAGE, PAGE);
    sync_parallel(f, log, NULL);
    assert_true(log_test(log, 5) && log_count(log) == 1);
    log_free(log);
    stop_all(f);
    fixture_free(f);
}

/* ---- steady state ------------------------------------------------------------ */

static void test_no_alloc(void **state)
{
    Fixture *f = pool_fixture();
    VfiDirtyLog *log = log_new(0, PAGE, LOG_PAGES);
    g_autoptr(GError) err = NULL;
    g_autoptr(VfiDirtyPool) pool = vfi_dirty_pool_new(2, &err);
    uint64_t found = 0;

    assert_ok(vfi_dirty_pool_set_split_alignment(pool, 1 * MIB, &err), err);
    write_pattern(f, 3, 200);
    sync_parallel(f, log, pool);        /* warm-up: buffers and jobs grow */
    for (unsigned round = 0; round < 300; round++) {
        unsigned long allocs;
        bool ok;

        dma_ok(f, "a0", (round % 1024) * PAGE, PAGE);
        dma_ok(f, "b0", (2048 + round % 1024) * PAGE, PAGE);
        log_clear(log);
        alloc_counter_arm();
        ok = vfi_address_space_sync_dirty_parallel(f->as, log, pool, NULL);
        allocs = alloc_counter_disarm();
        assert_true(ok);
        if (alloc_counter_available() && allocs) {
            fail_msg("parallel sync round %u made %lu allocation(s)", round, allocs);
        }
        found += log_count(log);
    }
    assert_int_equal(found, 600);
    log_free(log);
    stop_all(f);
    fixture_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_as_serial),
        cmocka_unit_test(test_reader_parallel),
        cmocka_unit_test(test_reader_holes),
        cmocka_unit_test(test_external_executor),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_no_alloc),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
