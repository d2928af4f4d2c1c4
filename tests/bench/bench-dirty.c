/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Benchmark: reading dirty bits during migration (docs/benchmarks.md,
 * "bench-dirty").
 *
 * A guest of N RAM sections ("slots", each one IOAS mapping followed by a
 * one-page hole), one or two dirty-tracking HWPTs, 5% of its 4 KiB pages
 * dirty at random in each HWPT (fixed seed). Two places to run:
 *
 *   model   the kernel model (sim/), switched to its kernel-cost mode (a
 *           test-and-clear per IOPTE, as a kernel walks its page table),
 *           the guest in one container (vfi_container_sync_dirty*());
 *   kernel  a real kernel's mock IOMMU (IOMMUFD_TEST, tests/vm/run.sh's
 *           boot "mock", --kernel): mock devices are no VFIO cdevs, so the
 *           library reads through a VfiDirtyReader told of every mapping;
 *           one user buffer is mapped at every slot (the VM has 1 GiB).
 *
 * Each round times, side by side and in an order rotated from round to
 * round, with CLOCK_MONOTONIC:
 *   bare        GET_DIRTY_BITMAP per mapping and HWPT straight into the log
 *               (vfi_iommufd_hwpt_get_dirty_bitmap()): the kernel's share;
 *   lib         the library's serial sync into the VMM's log (a VMM whose
 *               dirty log is the library's layout needs nothing more);
 *   lib+merge   the same, then the merge a QEMU-like VMM does into its
 *               dirty memory (below), clearing the log's non-zero words;
 *   qemu        what QEMU does, written from a reading of its code: per RAM
 *               section one zeroed scratch bitmap, every HWPT's
 *               GET_DIRTY_BITMAP into it (the kernel ORs), then the merge,
 *               then free;
 *   parallel    the library's sync spread over a VfiDirtyPool (threads - 1
 *               workers and the caller).
 * The merge: for every non-zero word, a popcount (the dirty page count)
 * and an atomic OR into two client bitmaps (migration and VGA) laid out as
 * QEMU's, in blocks of 2^21 pages. Before each pass the same pages are
 * dirtied again and the log and clients are zeroed, outside the timed
 * window; after it the log (or the clients and the count) must equal the
 * expected bits, in every mode. Ratios are medians of the per-round ratios.
 *
 *   bench-dirty [--short] [--kernel] [--rounds R] [--threads N] [--json]
 *
 * Targets (full runs only; a miss exits 1): lib/bare <= 1.10 and
 * parallel/serial <= 0.70 with 2 threads. --short checks every path and
 * prints the ratios, fails only on an error or a wrong log.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <linux/iommufd.h>
#include <glib.h>

#include "vfio-iommufd/iommufd.h"
#include "vfio-iommufd/container.h"
#include "vfio-iommufd/dirty.h"
#include "vfio-iommufd/dirty-pool.h"
#include "vfio-iommufd-sim/sim.h"
#include "bench-stats.h"

/* The mock IOMMU's test ioctl, from the kernel source: only tests/vm/run.sh's
 * build has it on the include path (never copied into the repository). */
#if defined(__has_include)
#if __has_include("iommufd_test.h")
#include "iommufd_test.h"
#define HAVE_MOCK 1
#endif
#endif

#define PS UINT64_C(4096)                       /* the log's page */
#define MOCK_UNIT UINT64_C(2048)                /* the mock's IO page */
#define MODEL_BASE (UINT64_C(4) << 30)          /* above the x86 MSI window */
#define KERNEL_BASE (UINT64_C(1) << 24)         /* MOCK_APERTURE_START */
#define FAKE_VADDR UINT64_C(0x7f0000000000)     /* the model never touches it */
#define DIRTY_PERCENT 5
#define SEED UINT64_C(0x5eed5eed)
#define BLOCK_PAGES (UINT64_C(1) << 21)         /* a QEMU dirty-memory block */
#define SPLIT_ALIGNMENT (UINT64_C(2) << 20)
#define TARGET_LIB_OVER_BARE 1.10
#define TARGET_PARALLEL 0.70

typedef enum { WHERE_MODEL, WHERE_KERNEL } Where;

typedef enum {
    PASS_BARE,
    PASS_LIB,
    PASS_LIB_MERGED,
    PASS_QEMU,
    PASS_PARALLEL,
    PASS__COUNT,
} PassKind;

static const char *const pass_names[PASS__COUNT] = {
    "bare ioctls", "library sync", "library sync + merge", "QEMU-like sync", "parallel sync",
};

typedef struct BenchCase {
    uint64_t guest_bytes;
    unsigned slots;           /* RAM sections: one mapping each */
    unsigned hwpts;
} BenchCase;

/* A VMM's dirty memory as QEMU lays it out: per client, blocks of
 * BLOCK_PAGES bits indexed by the page's offset in guest RAM. */
typedef struct Clients {
    unsigned nr_blocks;
    uint64_t **mig, **vga;
    uint64_t dirty_pages;     /* the popcounts summed */
} Clients;

typedef struct Bench Bench;

/* What differs between the model and the kernel. */
typedef struct BenchOps {
    void (*setup)(Bench *b);                    /* map the case, make its reader */
    void (*teardown)(Bench *b);
    void (*mark)(Bench *b, unsigned h);          /* dirty HWPT h's pages again */
    bool (*sync)(Bench *b, VfiDirtyPool *pool, GError **errp); /* NULL pool: serial */
} BenchOps;

/* What lives for the whole run. */
typedef struct Env {
    Where where;
    const BenchOps *ops;
    VfiIommufd *be;
    VfiDirtyPool *pool;
    unsigned threads;
    uint32_t hwpt[2];
    /* model */
    VfiSim *sim;
    VfiDevice *devs[2];
    /* kernel */
    int fd;
    uint32_t ioas, stdev, stdev_h[2];
    void *buf;
    uint64_t buf_bytes;
} Env;

struct Bench {
    Env *env;
    BenchCase bc;
    uint64_t base, slot_bytes, map_bytes, nr_pages;
    size_t log_words;
    VfiDirtyLog log;
    uint64_t *expected;
    uint64_t *dirty[2];       /* the pages marked in each HWPT */
    uint64_t *units[2];       /* the same in 2 KiB units (the mock's marks) */
    uint64_t nr_marked[2];
    uint64_t over_reported;   /* bits the kernel reports beyond the marks */
    Clients cl;
    /* model */
    VfiAddressSpace *as;
    VfiContainer *c;
    /* kernel */
    VfiDirtyReader *rd;
};

typedef struct CaseResult {
    BenchCase bc;
    double ms[PASS__COUNT];   /* median times */
    double lib_over_bare, qemu_over_lib, qemu_over_lib_merged, parallel_over_serial;
    double parallel_cpu_over_wall; /* CPU time of the parallel pass / its wall
                               * time: up to the threads when each had a core */
    double bare_ns_per_page;  /* per 4 KiB page and HWPT */
    uint64_t over_reported;
} CaseResult;

static G_NORETURN void die(GError *err)
{
    fprintf(stderr, "bench-dirty: %s\n", err ? err->message : "(no error)");
    exit(1);
}

static G_NORETURN void G_GNUC_PRINTF(1, 2) fail(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fprintf(stderr, "bench-dirty: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* splitmix64: a small, fixed-seed generator (same pages on every run). */
static uint64_t rng_next(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* Zeroed, page-aligned, whole pages (a kernel may write up to the end of
 * the last page of a bitmap it is given). */
static uint64_t *alloc_words(size_t words)
{
    size_t bytes = (words * 8 + 4095) / 4096 * 4096;
    void *p = NULL;

    if (posix_memalign(&p, 4096, bytes ? bytes : 4096)) {
        fail("out of memory (%zu bytes)", bytes);
    }
    memset(p, 0, bytes ? bytes : 4096);
    return p;
}

static uint64_t popcount_words(const uint64_t *w, size_t n)
{
    uint64_t s = 0;

    for (size_t i = 0; i < n; i++) {
        s += (uint64_t)__builtin_popcountll(w[i]);
    }
    return s;
}

/* ---- the VMM's side: QEMU-like dirty memory -------------------------------- */

static void clients_init(Clients *cl, uint64_t nr_pages)
{
    cl->nr_blocks = (unsigned)((nr_pages + BLOCK_PAGES - 1) / BLOCK_PAGES);
    cl->mig = g_new0(uint64_t *, cl->nr_blocks);
    cl->vga = g_new0(uint64_t *, cl->nr_blocks);
    for (unsigned i = 0; i < cl->nr_blocks; i++) {
        cl->mig[i] = alloc_words(BLOCK_PAGES / 64);
        cl->vga[i] = alloc_words(BLOCK_PAGES / 64);
    }
}

static void clients_free(Clients *cl)
{
    for (unsigned i = 0; i < cl->nr_blocks; i++) {
        free(cl->mig[i]);
        free(cl->vga[i]);
    }
    g_free(cl->mig);
    g_free(cl->vga);
}

static void clients_zero(Clients *cl, uint64_t nr_pages)
{
    for (unsigned i = 0; i < cl->nr_blocks; i++) {
        uint64_t pages = MIN(BLOCK_PAGES, nr_pages - (uint64_t)i * BLOCK_PAGES);

        memset(cl->mig[i], 0, (pages + 63) / 64 * 8);
        memset(cl->vga[i], 0, (pages + 63) / 64 * 8);
    }
    cl->dirty_pages = 0;
}

/*
 * The merge a QEMU-like VMM does of a little-endian bitmap of @nwords words
 * whose bit 0 is guest page @first_page (a multiple of 64): per non-zero
 * word, a popcount and an atomic OR into each client's block. @clear: zero
 * the merged words (a log that is reused instead of freed).
 */
static void clients_merge(Clients *cl, uint64_t *bm, uint64_t first_page, size_t nwords,
                          bool clear)
{
    uint64_t n = 0;

    for (size_t k = 0; k < nwords; k++) {
        uint64_t w = bm[k], page = first_page + (uint64_t)k * 64;
        size_t blk = page / BLOCK_PAGES, off = (page % BLOCK_PAGES) / 64;

        if (!w) {
            continue;
        }
        n += (uint64_t)__builtin_popcountll(w);
        __atomic_fetch_or(&cl->mig[blk][off], w, __ATOMIC_SEQ_CST);
        __atomic_fetch_or(&cl->vga[blk][off], w, __ATOMIC_SEQ_CST);
        if (clear) {
            bm[k] = 0;
        }
    }
    cl->dirty_pages += n;
}

static bool clients_equal(const Clients *cl, const uint64_t *expected, size_t words)
{
    for (size_t k = 0; k < words; k++) {
        size_t blk = k / (BLOCK_PAGES / 64), off = k % (BLOCK_PAGES / 64);

        if (cl->mig[blk][off] != expected[k] || cl->vga[blk][off] != expected[k]) {
            return false;
        }
    }
    return true;
}

/* ---- the passes -------------------------------------------------------------- */

static uint64_t slot_iova(const Bench *b, unsigned i)
{
    return b->base + (uint64_t)i * b->slot_bytes;
}

/* bare: the ioctls alone, each mapping and HWPT straight into the log. */
static void sync_bare(Bench *b, uint64_t *into)
{
    g_autoptr(GError) err = NULL;

    for (unsigned i = 0; i < b->bc.slots; i++) {
        uint64_t iova = slot_iova(b, i);

        for (unsigned h = 0; h < b->bc.hwpts; h++) {
            if (!vfi_iommufd_hwpt_get_dirty_bitmap(b->env->be, b->env->hwpt[h], iova,
                                                   b->map_bytes, PS,
                                                   into + (iova - b->base) / PS / 64, 0,
                                                   &err)) {
                die(err);
            }
        }
    }
}

/* qemu: per RAM section a zeroed scratch bitmap that every HWPT's read ORs
 * into, merged into the clients, freed. */
static void sync_qemu(Bench *b)
{
    g_autoptr(GError) err = NULL;
    size_t words = (b->map_bytes / PS + 63) / 64;

    for (unsigned i = 0; i < b->bc.slots; i++) {
        uint64_t iova = slot_iova(b, i);
        uint64_t *scratch = g_try_malloc0(words * 8);

        if (!scratch) {
            fail("out of memory");
        }
        for (unsigned h = 0; h < b->bc.hwpts; h++) {
            if (!vfi_iommufd_hwpt_get_dirty_bitmap(b->env->be, b->env->hwpt[h], iova,
                                                   b->map_bytes, PS, scratch, 0, &err)) {
                die(err);
            }
        }
        clients_merge(&b->cl, scratch, (iova - b->base) / PS, words, false);
        g_free(scratch);
    }
}

static void sync_lib(Bench *b, VfiDirtyPool *pool)
{
    g_autoptr(GError) err = NULL;

    if (!b->env->ops->sync(b, pool, &err)) {
        die(err);
    }
}

static void run_timed(Bench *b, PassKind kind)
{
    switch (kind) {
    case PASS_BARE:
        sync_bare(b, b->log.bitmap);
        break;
    case PASS_LIB:
        sync_lib(b, NULL);
        break;
    case PASS_LIB_MERGED:
        sync_lib(b, NULL);
        clients_merge(&b->cl, b->log.bitmap, 0, b->log_words, true);
        break;
    case PASS_QEMU:
        sync_qemu(b);
        break;
    default:
        sync_lib(b, b->env->pool);
        break;
    }
}

static void check_pass(Bench *b, PassKind kind)
{
    size_t bytes = b->log_words * 8;
    bool merged = kind == PASS_LIB_MERGED || kind == PASS_QEMU;
    bool ok;

    if (merged) {
        ok = clients_equal(&b->cl, b->expected, b->log_words) &&
             b->cl.dirty_pages == popcount_words(b->expected, b->log_words) &&
             (kind != PASS_LIB_MERGED || !popcount_words(b->log.bitmap, b->log_words));
    } else {
        ok = !memcmp(b->log.bitmap, b->expected, bytes);
    }
    if (!ok) {
        fail("%s gave wrong dirty bits (guest %" PRIu64 " MiB, %u HWPT(s))", pass_names[kind],
             b->bc.guest_bytes >> 20, b->bc.hwpts);
    }
}

/* Returns: the time of one pass of @kind, in ns. */
/* The CPU time of the process (all its threads). */
static uint64_t cpu_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One pass: its wall time; *@cpu (may be NULL) gets the CPU time the
 * process's threads had meanwhile (a parallel pass whose second thread
 * found no free core shows it: about its wall time, not twice it). */
static uint64_t run_pass(Bench *b, PassKind kind, uint64_t *cpu)
{
    uint64_t t0, t1, c0;

    for (unsigned h = 0; h < b->bc.hwpts; h++) {
        b->env->ops->mark(b, h);
    }
    memset(b->log.bitmap, 0, b->log_words * 8);
    clients_zero(&b->cl, b->nr_pages);
    c0 = cpu_ns();
    t0 = now_ns();
    run_timed(b, kind);
    t1 = now_ns();
    if (cpu) {
        *cpu = cpu_ns() - c0;
    }
    check_pass(b, kind);
    return t1 - t0;
}

/* ---- a case --------------------------------------------------------------------- */

static void random_marks(Bench *b)
{
    const uint64_t threshold = UINT64_MAX / 100 * DIRTY_PERCENT;
    uint64_t slot_pages = b->slot_bytes / PS;

    for (unsigned h = 0; h < b->bc.hwpts; h++) {
        uint64_t state = SEED + h;

        b->dirty[h] = alloc_words(b->log_words);
        b->units[h] = alloc_words(b->log_words * 2);
        for (uint64_t p = 0; p < b->nr_pages; p++) {
            /* the holes after the mappings are never written */
            if (p % slot_pages == slot_pages - 1 || rng_next(&state) >= threshold) {
                continue;
            }
            b->dirty[h][p / 64] |= UINT64_C(1) << (p % 64);
            /* the mock marks 2 KiB units: the first half of the page */
            b->units[h][2 * p / 64] |= UINT64_C(1) << (2 * p % 64);
        }
        b->nr_marked[h] = popcount_words(b->dirty[h], b->log_words);
    }
}

/* What the kernel reports for the marks: read once with the bare ioctls.
 * It must hold every marked page; the model (4 KiB entries) and 6.12's mock
 * (2 KiB IO pages) report exactly those, 7.x's mock whole IOPTEs, which may
 * be larger than a page. */
static void learn_expected(Bench *b)
{
    g_autofree uint64_t *marks = g_new0(uint64_t, b->log_words);

    for (unsigned h = 0; h < b->bc.hwpts; h++) {
        for (size_t w = 0; w < b->log_words; w++) {
            marks[w] |= b->dirty[h][w];
        }
        b->env->ops->mark(b, h);
    }
    sync_bare(b, b->expected);
    for (size_t w = 0; w < b->log_words; w++) {
        if (marks[w] & ~b->expected[w]) {
            fail("the bare read lost marked pages (word %zu: marked 0x%" PRIx64 ", read 0x%"
                 PRIx64 ")", w, marks[w], b->expected[w]);
        }
    }
    b->over_reported = popcount_words(b->expected, b->log_words) -
                       popcount_words(marks, b->log_words);
    if (b->env->where == WHERE_MODEL && b->over_reported) {
        fail("the model reported %" PRIu64 " pages never marked", b->over_reported);
    }
}

static void bench_init(Bench *b, Env *env, const BenchCase *bc)
{
    *b = (Bench){ .env = env, .bc = *bc };
    b->base = env->where == WHERE_KERNEL ? KERNEL_BASE : MODEL_BASE;
    b->slot_bytes = bc->guest_bytes / bc->slots;
    if (b->slot_bytes % (64 * PS) || bc->hwpts < 1 || bc->hwpts > 2) {
        fail("bad case: each slot must be a whole number of 64-page log words");
    }
    b->map_bytes = b->slot_bytes - PS;
    b->nr_pages = bc->guest_bytes / PS;
    b->log_words = b->nr_pages / 64;
    b->log = (VfiDirtyLog){ .base_iova = b->base, .page_size = PS,
                            .bitmap = alloc_words(b->log_words), .nr_pages = b->nr_pages };
    b->expected = alloc_words(b->log_words);
    clients_init(&b->cl, b->nr_pages);
    random_marks(b);
    env->ops->setup(b);
    learn_expected(b);
}

static void bench_fini(Bench *b)
{
    b->env->ops->teardown(b);
    for (unsigned h = 0; h < b->bc.hwpts; h++) {
        free(b->dirty[h]);
        free(b->units[h]);
    }
    clients_free(&b->cl);
    free(b->log.bitmap);
    free(b->expected);
}

/* The median over the rounds of t[num][r] / t[den][r] (both passes ran in
 * the same round, a few hundred milliseconds apart at most). */
static double median_ratio(const uint64_t *t, unsigned rounds, PassKind num, PassKind den)
{
    g_autofree double *v = g_new(double, rounds);

    for (unsigned r = 0; r < rounds; r++) {
        uint64_t d = t[den * rounds + r];

        v[r] = d ? (double)t[num * rounds + r] / (double)d : 0;
    }
    return median(v, rounds);
}

static void run_case(Env *env, const BenchCase *bc, unsigned rounds, CaseResult *res)
{
    Bench b;
    g_autofree uint64_t *t = g_new0(uint64_t, (size_t)PASS__COUNT * rounds);
    g_autofree double *v = g_new(double, rounds);
    g_autofree double *cpu = g_new(double, rounds);

    bench_init(&b, env, bc);
    for (unsigned r = 0; r < rounds; r++) {
        /* rotate the order so that no kind always runs first */
        for (unsigned k = 0; k < PASS__COUNT; k++) {
            PassKind kind = (k + r) % PASS__COUNT;
            uint64_t c = 0;

            t[kind * rounds + r] = run_pass(&b, kind, kind == PASS_PARALLEL ? &c : NULL);
            if (kind == PASS_PARALLEL) {
                cpu[r] = t[kind * rounds + r] ? (double)c / (double)t[kind * rounds + r] : 0;
            }
        }
    }
    res->parallel_cpu_over_wall = median(cpu, rounds);
    res->bc = *bc;
    res->over_reported = b.over_reported;
    bench_fini(&b);

    res->lib_over_bare = median_ratio(t, rounds, PASS_LIB, PASS_BARE);
    res->qemu_over_lib = median_ratio(t, rounds, PASS_QEMU, PASS_LIB);
    res->qemu_over_lib_merged = median_ratio(t, rounds, PASS_QEMU, PASS_LIB_MERGED);
    res->parallel_over_serial = median_ratio(t, rounds, PASS_PARALLEL, PASS_LIB);
    for (unsigned k = 0; k < PASS__COUNT; k++) {
        for (unsigned r = 0; r < rounds; r++) {
            v[r] = (double)t[k * rounds + r];
        }
        res->ms[k] = median(v, rounds) / 1e6;
    }
    res->bare_ns_per_page = res->ms[PASS_BARE] * 1e6 /
                            ((double)(bc->guest_bytes / PS) * bc->hwpts);
}

/* ---- the model ------------------------------------------------------------------ */

static void model_setup(Bench *b)
{
    g_autoptr(GError) err = NULL;
    Env *env = b->env;

    b->as = vfi_address_space_new(NULL);
    for (unsigned h = 0; h < b->bc.hwpts; h++) {
        if (!vfi_address_space_attach_device(b->as, env->be, env->devs[h], NULL, &err)) {
            die(err);
        }
    }
    if (vfi_address_space_container_count(b->as) != 1) {
        fail("expected one container");
    }
    b->c = vfi_address_space_container(b->as, 0);
    if (vfi_container_hwpt_count(b->c) != b->bc.hwpts) {
        fail("expected one HWPT per IOMMU instance");
    }
    for (unsigned h = 0; h < b->bc.hwpts; h++) {
        VfiHwpt *hwpt = vfi_container_hwpt(b->c, h);

        if (!(vfi_hwpt_get_flags(hwpt) & IOMMU_HWPT_ALLOC_DIRTY_TRACKING)) {
            fail("a HWPT was allocated without dirty tracking");
        }
        env->hwpt[h] = vfi_hwpt_get_id(hwpt);
    }
    for (unsigned i = 0; i < b->bc.slots; i++) {
        uint64_t off = (uint64_t)i * b->slot_bytes;

        if (!vfi_address_space_dma_map(b->as, b->base + off, b->map_bytes,
                                       (void *)(uintptr_t)(FAKE_VADDR + off), false, &err)) {
            die(err);
        }
    }
    if (!vfi_container_dirty_tracking_start(b->c, &err)) {
        die(err);
    }
}

static void model_teardown(Bench *b)
{
    g_autoptr(GError) err = NULL;

    if (!vfi_container_dirty_tracking_stop(b->c, &err)) {
        die(err);
    }
    for (unsigned i = 0; i < b->bc.slots; i++) {
        if (!vfi_address_space_dma_unmap(b->as, slot_iova(b, i), b->map_bytes, 0, &err)) {
            die(err);
        }
    }
    for (unsigned h = 0; h < b->bc.hwpts; h++) {
        if (!vfi_address_space_detach_device(b->as, b->env->devs[h], &err)) {
            die(err);
        }
    }
    if (!vfi_address_space_free(b->as, &err)) {
        die(err);
    }
}

/* Dirty HWPT @h's pages again in the model (runs of pages in one call). */
static void model_mark(Bench *b, unsigned h)
{
    g_autoptr(GError) err = NULL;
    const uint64_t *bits = b->dirty[h];
    int fd = vfi_iommufd_get_fd(b->env->be);
    uint64_t p = 0;

    while (p < b->nr_pages) {
        uint64_t w = bits[p / 64] >> (p % 64), run;

        if (!w) {
            p = (p / 64 + 1) * 64;
            continue;
        }
        p += (uint64_t)__builtin_ctzll(w);
        for (run = 1; p + run < b->nr_pages &&
                      (bits[(p + run) / 64] >> ((p + run) % 64)) & 1; run++) {
        }
        if (!vfi_sim_hwpt_mark_dirty(b->env->sim, fd, b->env->hwpt[h], b->base + p * PS,
                                     run * PS, &err)) {
            die(err);
        }
        p += run;
    }
}

static bool model_sync(Bench *b, VfiDirtyPool *pool, GError **errp)
{
    return pool ? vfi_container_sync_dirty_parallel(b->c, &b->log, pool, errp)
                : vfi_container_sync_dirty(b->c, &b->log, errp);
}

static const BenchOps model_ops = {
    .setup = model_setup,
    .teardown = model_teardown,
    .mark = model_mark,
    .sync = model_sync,
};

static void model_env_init(Env *env)
{
    g_autoptr(GError) err = NULL;

    env->sim = vfi_sim_new(&err);
    if (!env->sim) {
        die(err);
    }
    /* The kernel's shape of a read (a test-and-clear per IOPTE), not the
     * unit tests' word-wise fast path. */
    if (!vfi_sim_set_dirty_cost(env->sim, VFI_SIM_DIRTY_COST_KERNEL, &err) ||
        !vfi_sim_load_topology_data(env->sim, "[iommu iommu0]\ndirty-tracking=true\n"
                                    "[iommu iommu1]\ndirty-tracking=true\n"
                                    "[device dev0]\niommu=iommu0\n"
                                    "[device dev1]\niommu=iommu1\n", &err)) {
        die(err);
    }
    vfi_sim_install(env->sim);
    for (unsigned i = 0; i < 2; i++) {
        g_autofree char *name = g_strdup_printf("dev%u", i);

        env->devs[i] = vfi_device_open_sysfs(vfi_sim_device_sysfs_path(env->sim, name), &err);
        if (!env->devs[i]) {
            die(err);
        }
    }
    /* One backend for the whole run: the devices stay bound to it. */
    env->be = vfi_iommufd_new();
    if (!vfi_iommufd_connect(env->be, &err)) {
        die(err);
    }
}

static void model_env_fini(Env *env)
{
    g_autoptr(GError) err = NULL;
    unsigned left;

    for (unsigned i = 0; i < 2; i++) {
        vfi_device_free(env->devs[i]);
    }
    vfi_iommufd_disconnect(env->be);
    if (!vfi_iommufd_free(env->be, &err)) {
        die(err);
    }
    left = vfi_sim_live_objects(env->sim);
    if (left) {
        fail("%u kernel object(s) left", left);
    }
    vfi_sim_free(env->sim);
}

/* ---- the real kernel's mock IOMMU --------------------------------------------- */

#ifdef HAVE_MOCK
static int test_cmd(Env *env, struct iommu_test_cmd *cmd)
{
    cmd->size = sizeof(*cmd);
    return ioctl(env->fd, IOMMU_TEST_CMD, cmd) < 0 ? -errno : 0;
}

/* A mock device attached to @pt (IOMMU_TEST_OP_MOCK_DOMAIN). */
static uint32_t mock_device(Env *env, uint32_t pt, uint32_t *idev)
{
    struct iommu_test_cmd cmd = { .op = IOMMU_TEST_OP_MOCK_DOMAIN, .id = pt };
    int ret = test_cmd(env, &cmd);

    if (ret) {
        fail("IOMMU_TEST_OP_MOCK_DOMAIN on %u: %s", pt, g_strerror(-ret));
    }
    if (idev) {
        *idev = cmd.mock_domain.out_idev_id;
    }
    return cmd.mock_domain.out_stdev_id;
}

static void kernel_setup(Bench *b)
{
    g_autoptr(GError) err = NULL;
    Env *env = b->env;

    if (b->map_bytes > env->buf_bytes) {
        fail("a mapping of %" PRIu64 " bytes is larger than the buffer", b->map_bytes);
    }
    b->rd = vfi_dirty_reader_new(env->be);
    if (!vfi_dirty_reader_set_iova_alignment(b->rd, MOCK_UNIT, &err)) {
        die(err);
    }
    for (unsigned h = 0; h < b->bc.hwpts; h++) {
        if (!vfi_dirty_reader_add_hwpt(b->rd, env->hwpt[h], &err)) {
            die(err);
        }
    }
    /* The same user memory at every slot: the guest may be larger than the
     * VM's RAM. */
    for (unsigned i = 0; i < b->bc.slots; i++) {
        if (!vfi_iommufd_ioas_map(env->be, env->ioas, slot_iova(b, i), b->map_bytes,
                                  env->buf, false, &err) ||
            !vfi_dirty_reader_add_mapping(b->rd, slot_iova(b, i), b->map_bytes, &err)) {
            die(err);
        }
    }
}

static void kernel_teardown(Bench *b)
{
    g_autoptr(GError) err = NULL;

    for (unsigned i = 0; i < b->bc.slots; i++) {
        uint64_t unmapped = 0;

        if (!vfi_iommufd_ioas_unmap(b->env->be, b->env->ioas, slot_iova(b, i), b->map_bytes,
                                    &unmapped, &err)) {
            die(err);
        }
    }
    vfi_dirty_reader_free(b->rd);
}

/* Dirty HWPT @h's pages again: IOMMU_TEST_OP_DIRTY per mapping, 2 KiB units. */
static void kernel_mark(Bench *b, unsigned h)
{
    uint64_t marked = 0;

    for (unsigned i = 0; i < b->bc.slots; i++) {
        struct iommu_test_cmd cmd = {
            .op = IOMMU_TEST_OP_DIRTY,
            .id = b->env->hwpt[h],
            .dirty = {
                .iova = slot_iova(b, i),
                .length = b->map_bytes,
                .page_size = MOCK_UNIT,
                .uptr = (uintptr_t)(b->units[h] + (uint64_t)i * b->slot_bytes / MOCK_UNIT / 64),
            },
        };
        int ret = test_cmd(b->env, &cmd);

        if (ret) {
            fail("IOMMU_TEST_OP_DIRTY: %s", g_strerror(-ret));
        }
        marked += cmd.dirty.out_nr_dirty;
    }
    if (marked != b->nr_marked[h]) {
        fail("the mock marked %" PRIu64 " pages of %" PRIu64, marked, b->nr_marked[h]);
    }
}

/*
 * Serial: one query per mapping (per RAM section, as a VMM's listener
 * syncs). Not one query over the whole span: the reader reads a range with
 * one GET_DIRTY_BITMAP per HWPT, and the kernel stops a read at the first
 * IOVA hole without an error (6.12 and 7.3: __iommu_read_and_clear_dirty()'s
 * -EINVAL is dropped by iommu_read_and_clear_dirty()), so the pages after the
 * first hole would be missed. Parallel: one query over the span; the pool
 * reads each told mapping as jobs and the holes alone.
 */
static bool kernel_sync(Bench *b, VfiDirtyPool *pool, GError **errp)
{
    uint64_t span = (uint64_t)b->bc.slots * b->slot_bytes - PS;

    if (pool) {
        return vfi_dirty_reader_query_parallel(b->rd, b->base, span, &b->log, 0, pool, errp);
    }
    for (unsigned i = 0; i < b->bc.slots; i++) {
        if (!vfi_dirty_reader_query(b->rd, slot_iova(b, i), b->map_bytes, &b->log, 0, errp)) {
            return false;
        }
    }
    return true;
}

static const BenchOps kernel_ops = {
    .setup = kernel_setup,
    .teardown = kernel_teardown,
    .mark = kernel_mark,
    .sync = kernel_sync,
};

/*
 * Fault the buffer's @n pages in a scattered order (a stride coprime with
 * @n), so that pages adjacent in the buffer are not adjacent in physical
 * memory: 7.x's mock is a generic page table that makes one IOPTE of any
 * aligned, physically contiguous run (a fresh VM hands out such runs), and
 * a read then walks a few large IOPTEs instead of one per 4 KiB page. With
 * the buffer scattered, every IOPTE is 4 KiB, as in a guest without huge
 * pages (6.12's mock has one entry per 2 KiB IO page anyway).
 */
static uint64_t gcd_u64(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;

        a = b;
        b = t;
    }
    return a;
}

static void scatter_touch(void *buf, uint64_t n)
{
    uint64_t stride = 4099;

    while (gcd_u64(stride, n) != 1) {
        stride += 2;
    }
    for (uint64_t i = 0, p = 0; i < n; i++, p = (p + stride) % n) {
        ((volatile uint8_t *)buf)[p * PS] = 0x5a;
    }
}

/* The IOAS, a mock device on it (its kernel-made HWPT), two dirty-tracking
 * HWPTs with a mock device each, tracking on, and the user buffer. */
static void kernel_env_init(Env *env, uint64_t buf_bytes)
{
    g_autoptr(GError) err = NULL;
    uint32_t idev = 0;

    env->be = vfi_iommufd_new();
    if (!vfi_iommufd_connect(env->be, &err) ||
        !vfi_iommufd_ioas_alloc(env->be, &env->ioas, &err)) {
        die(err);
    }
    env->fd = vfi_iommufd_get_fd(env->be);
    env->stdev = mock_device(env, env->ioas, &idev);
    for (unsigned h = 0; h < 2; h++) {
        if (!vfi_iommufd_hwpt_alloc(env->be, idev, env->ioas, IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
                                    IOMMU_HWPT_DATA_NONE, 0, NULL, &env->hwpt[h], &err)) {
            die(err);
        }
        env->stdev_h[h] = mock_device(env, env->hwpt[h], NULL);
        if (!vfi_iommufd_hwpt_set_dirty_tracking(env->be, env->hwpt[h], true, &err)) {
            die(err);
        }
    }
    env->buf_bytes = buf_bytes;
    env->buf = mmap(NULL, buf_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (env->buf == MAP_FAILED) {
        fail("mmap of %" PRIu64 " bytes: %s", buf_bytes, g_strerror(errno));
    }
    /* no huge pages (no THP in the VM anyway) */
    (void)madvise(env->buf, buf_bytes, MADV_NOHUGEPAGE);
    scatter_touch(env->buf, buf_bytes / PS);
}

static void kernel_env_fini(Env *env)
{
    g_autoptr(GError) err = NULL;
    const uint32_t objs[] = { env->stdev_h[0], env->stdev_h[1], env->stdev,
                              env->hwpt[0], env->hwpt[1], env->ioas };

    for (unsigned i = 0; i < G_N_ELEMENTS(objs); i++) {
        if (!vfi_iommufd_destroy(env->be, objs[i], &err)) {
            die(err);
        }
    }
    munmap(env->buf, env->buf_bytes);
    vfi_iommufd_disconnect(env->be);
    if (!vfi_iommufd_free(env->be, &err)) {
        die(err);
    }
}
#endif /* HAVE_MOCK */

/* ---- output, main --------------------------------------------------------------- */

static const char *where_name(Where w)
{
    return w == WHERE_KERNEL ? "kernel" : "model";
}

static const char *verdict(bool met)
{
    return met ? "met" : "MISSED";
}

/* Returns: whether the case met its targets. */
static bool print_text(FILE *f, const Env *env, const CaseResult *r, unsigned rounds)
{
    static const char *const labels[PASS__COUNT] = {
        "bare ioctls        ", "library sync       ", "library sync+merge ",
        "QEMU-like sync     ", "parallel sync      ",
    };
    bool met_lib = r->lib_over_bare <= TARGET_LIB_OVER_BARE;
    bool met_par = env->threads < 2 || r->parallel_over_serial <= TARGET_PARALLEL;

    fprintf(f, "%s: guest %" PRIu64 " MiB in %u sections, 4 KiB pages, %d%% dirty, %u HWPT(s), "
            "%u threads (median of %u rounds, wall clock)\n", where_name(env->where),
            r->bc.guest_bytes >> 20, r->bc.slots, DIRTY_PERCENT, r->bc.hwpts, env->threads,
            rounds);
    for (unsigned k = 0; k < PASS__COUNT; k++) {
        fprintf(f, "  %s %10.3f ms\n", labels[k], r->ms[k]);
    }
    fprintf(f, "  bare: %.1f ns per page and HWPT; %" PRIu64 " bits over-reported (IOPTEs "
            "larger than a page)\n", r->bare_ns_per_page, r->over_reported);
    fprintf(f, "  lib/bare %.3f (target <= %.2f: %s)  parallel/serial %.3f (target <= %.2f: "
            "%s)\n", r->lib_over_bare, TARGET_LIB_OVER_BARE, verdict(met_lib),
            r->parallel_over_serial, TARGET_PARALLEL,
            env->threads < 2 ? "n/a" : verdict(met_par));
    fprintf(f, "  qemu/lib %.3f (a VMM using the library's log as its own)  "
            "qemu/(lib+merge) %.3f (a VMM merging into QEMU-like dirty memory)\n",
            r->qemu_over_lib, r->qemu_over_lib_merged);
    fprintf(f, "  parallel pass: CPU time / wall time %.2f (%u threads; about 1 when the "
            "others found no free core)\n", r->parallel_cpu_over_wall, env->threads);
    fflush(f);
    return met_lib && met_par;
}

static void print_json(const Env *env, const CaseResult *r, unsigned rounds, bool first)
{
    printf("%s{\"where\": \"%s\", \"guest_bytes\": %" PRIu64 ", \"page_size\": %" PRIu64
           ", \"hwpts\": %u, \"threads\": %u, \"lib_over_bare\": %.3f, \"qemu_over_lib\": %.3f"
           ", \"qemu_over_lib_merged\": %.3f, \"parallel_over_serial\": %.3f"
           ", \"bare_ms\": %.3f, \"lib_ms\": %.3f, \"lib_merged_ms\": %.3f, \"qemu_ms\": %.3f"
           ", \"parallel_ms\": %.3f, \"bare_ns_per_page\": %.1f, \"sections\": %u"
           ", \"rounds\": %u, \"over_reported\": %" PRIu64 ", \"parallel_cpu_over_wall\": %.2f}",
           first ? "{\"cases\": [" : ", ", where_name(env->where), r->bc.guest_bytes, PS, r->bc.hwpts,
           env->threads, r->lib_over_bare, r->qemu_over_lib, r->qemu_over_lib_merged,
           r->parallel_over_serial, r->ms[PASS_BARE], r->ms[PASS_LIB], r->ms[PASS_LIB_MERGED],
           r->ms[PASS_QEMU], r->ms[PASS_PARALLEL], r->bare_ns_per_page, r->bc.slots, rounds,
           r->over_reported, r->parallel_cpu_over_wall);
}

typedef struct Options {
    bool json, short_run, kernel;
    unsigned rounds, threads;
} Options;

static void parse_options(int argc, char **argv, Options *o)
{
    static const struct option longopts[] = {
        { "short", no_argument, NULL, 's' },
        { "kernel", no_argument, NULL, 'k' },
        { "rounds", required_argument, NULL, 'r' },
        { "threads", required_argument, NULL, 't' },
        { "json", no_argument, NULL, 'j' },
        { NULL, 0, NULL, 0 },
    };
    int opt;

    *o = (Options){ .threads = 2 };
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case 's': o->short_run = true; break;
        case 'k': o->kernel = true; break;
        case 'r': o->rounds = (unsigned)strtoul(optarg, NULL, 0); break;
        case 't': o->threads = (unsigned)strtoul(optarg, NULL, 0); break;
        case 'j': o->json = true; break;
        default:
            fprintf(stderr, "usage: bench-dirty [--short] [--kernel] [--rounds R] "
                    "[--threads N] [--json]\n");
            exit(2);
        }
    }
    if (o->threads < 1 || o->threads > 65) {
        fail("--threads: 1 to 65");
    }
    if (!o->rounds) {
        o->rounds = o->short_run ? 3 : o->kernel ? 11 : 9;
    }
}

static const BenchCase model_full[] = {
    { UINT64_C(2) << 30, 16, 1 }, { UINT64_C(2) << 30, 16, 2 },
    { UINT64_C(64) << 30, 64, 1 }, { UINT64_C(64) << 30, 64, 2 },
};
static const BenchCase model_short[] = {
    { UINT64_C(2) << 30, 16, 1 }, { UINT64_C(2) << 30, 16, 2 },
};
/* The mock's aperture is [16 MiB, 2 GiB): 15 sections of 128 MiB. */
static const BenchCase kernel_full[] = {
    { UINT64_C(1920) << 20, 15, 1 }, { UINT64_C(1920) << 20, 15, 2 },
};
static const BenchCase kernel_short[] = {
    { UINT64_C(256) << 20, 4, 1 }, { UINT64_C(256) << 20, 4, 2 },
};

static void env_init(Env *env, const Options *o)
{
    g_autoptr(GError) err = NULL;

    *env = (Env){ .where = o->kernel ? WHERE_KERNEL : WHERE_MODEL, .threads = o->threads };
    if (o->kernel) {
#ifdef HAVE_MOCK
        env->ops = &kernel_ops;
        kernel_env_init(env, (o->short_run ? kernel_short : kernel_full)[0].guest_bytes /
                             (o->short_run ? kernel_short : kernel_full)[0].slots - PS);
#else
        fail("--kernel: built without the kernel's iommufd_test.h (tests/vm/run.sh builds it)");
#endif
    } else {
        env->ops = &model_ops;
        model_env_init(env);
    }
    if (o->threads > 1) {
        env->pool = vfi_dirty_pool_new(o->threads - 1, &err);
        if (!env->pool ||
            !vfi_dirty_pool_set_split_alignment(env->pool, SPLIT_ALIGNMENT, &err)) {
            die(err);
        }
    }
}

static void env_fini(Env *env)
{
    vfi_dirty_pool_free(env->pool);
#ifdef HAVE_MOCK
    if (env->where == WHERE_KERNEL) {
        kernel_env_fini(env);
        return;
    }
#endif
    model_env_fini(env);
}

int main(int argc, char **argv)
{
    Options o;
    Env env;
    const BenchCase *cases;
    unsigned n;
    bool all_met = true;

    parse_options(argc, argv, &o);
    cases = o.kernel ? (o.short_run ? kernel_short : kernel_full)
                     : (o.short_run ? model_short : model_full);
    n = o.kernel ? (o.short_run ? G_N_ELEMENTS(kernel_short) : G_N_ELEMENTS(kernel_full))
                 : (o.short_run ? G_N_ELEMENTS(model_short) : G_N_ELEMENTS(model_full));
    g_autofree CaseResult *res = g_new0(CaseResult, n);

    env_init(&env, &o);
    for (unsigned i = 0; i < n; i++) {
        run_case(&env, &cases[i], o.rounds, &res[i]);
        all_met &= print_text(o.json ? stderr : stdout, &env, &res[i], o.rounds);
    }
    /* one line, after the text (both go to one console in the VM) */
    for (unsigned i = 0; o.json && i < n; i++) {
        print_json(&env, &res[i], o.rounds, i == 0);
    }
    if (o.json) {
        printf("]}\n");
        fflush(stdout);
    }
    env_fini(&env);
    fprintf(o.json ? stderr : stdout, "targets: %s\n", all_met ? "all met" :
            o.short_run ? "missed (short run: not a failure)" : "MISSED");
    return all_met || o.short_run ? 0 : 1;
}
