/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Benchmark: reading dirty bits during migration.
 *
 * A guest mapped as 64 contiguous ranges from 4 GiB up (above the x86 MSI
 * window), one or two dirty-tracking HWPTs in one container (two IOMMU
 * instances, one device each), 5% of the pages dirty at random in each
 * HWPT (fixed seed), on the simulated kernel. Each round times, side by
 * side and in rotating order:
 *   a. the library's sync into a VMM-style dirty log covering the guest
 *      (vfi_container_sync_dirty(): the log goes to the kernel as is);
 *   b. the same sync done the way upstream VMMs do it: per range and HWPT a
 *      zeroed scratch bitmap (g_malloc0), the ioctl into it, a word-wise OR
 *      into the log, g_free;
 *   c. the bare ioctls alone, each range and HWPT straight into the
 *      (zeroed) log: the kernel's share;
 *   and a memcpy of the log's size per HWPT: the memory-bandwidth floor.
 * The same pages are dirtied again before every pass and the log is zeroed,
 * outside the timed window; every pass's log is checked against the
 * expected one. Each ratio (a/c, b/a, c/memcpy) is the median over the
 * rounds (9 by default, 3 with --short) of the ratio within the round; the
 * times printed are medians too. Targets (4 KiB pages): a/c <= 1.10 and
 * b/a >= 1.5. The container keeps adjacent mappings merged, so the library
 * reads the 64 ranges with one ioctl per HWPT where b and c make 64; the
 * text output shows the ioctl counts and a's time inside its ioctls.
 *
 *   bench-dirty [--short] [--rounds R] [--json] [--wall]
 *
 * Times are the CPU time of the benchmark's thread (which runs the simulated
 * kernel too): time lost to other processes is left out; --wall measures
 * wall-clock time instead.
 *
 * --short runs small guests (seconds) through every path; it never fails on
 * a missed target. The full run exits 1 when a target is missed. Any error
 * or a wrong dirty log exits 1 in both modes.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/iommufd.h>

#include "vfio-iommufd/kernel.h"
#include "timed-kernel.h"
#include "vfio-iommufd-sim/sim.h"
#include "vfio-iommufd/container.h"
#include "vfio-iommufd/dirty.h"

#define NR_RANGES 64
#define GUEST_BASE (UINT64_C(4) << 30)          /* above the MSI window */
#define FAKE_VADDR UINT64_C(0x7f0000000000)     /* never touched by the model */
#define DIRTY_PERCENT 5
#define SEED UINT64_C(0x5eed5eed)
#define TARGET_LIB_OVER_BARE 1.10
#define TARGET_BASELINE_OVER_LIB 1.5

/*
 * The clock of every measurement: by default the CPU time of this thread
 * (the simulated kernel runs in this thread, so it is all the work there
 * is, and time spent preempted by other processes is left out); --wall
 * switches to CLOCK_MONOTONIC. The ioctls of pass a only are timed (so that
 * the clock reads do not weigh on the 64 times more ioctls of b and c).
 */
static clockid_t bench_clock = CLOCK_THREAD_CPUTIME_ID;

static uint64_t now_ns(void)
{
    return bench_now_ns(bench_clock);
}

static G_NORETURN void die(GError *err)
{
    fprintf(stderr, "bench-dirty: %s\n", err->message);
    exit(1);
}

static G_NORETURN void fail(const char *msg)
{
    fprintf(stderr, "bench-dirty: %s\n", msg);
    exit(1);
}

/* splitmix64: a small, fixed-seed generator (same pages on every run). */
static uint64_t rng_next(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

typedef struct BenchCase {
    uint64_t guest_bytes;
    uint64_t page_size;
    unsigned hwpts;
} BenchCase;

typedef enum {
    PASS_LIB,           /* a */
    PASS_BASELINE,      /* b */
    PASS_BARE,          /* c */
    PASS_MEMCPY,
    PASS__COUNT,
} PassKind;

static const char *const pass_names[PASS__COUNT] = {
    "library sync", "upstream-style sync", "bare ioctls", "memcpy",
};

typedef struct CaseResult {
    BenchCase bc;
    double ns[PASS__COUNT];     /* medians */
    uint64_t ioctls[PASS__COUNT]; /* ioctls per pass */
    /* medians of the ratios within each round */
    double a_c, b_a, c_m, b_c;
} CaseResult;

/* What one case sets up: the guest, its container and its dirty pages. */
typedef struct Bench {
    VfiSim *sim;
    TimedKernel *tk;
    VfiDevice **devs;
    BenchCase bc;
    VfiIommufd *be;         /* shared by all cases */
    VfiAddressSpace *as;
    VfiContainer *c;
    uint32_t hwpt_ids[2];
    uint64_t range_bytes;       /* IOVA span of one range's slot */
    uint64_t map_bytes;         /* mapped part of it: a one-page hole
                                 * follows, as real guests' RAM ranges are
                                 * not adjacent (the library cannot merge
                                 * them into one read) */
    uint64_t nr_pages;          /* log bits */
    size_t log_words;
    uint64_t *log;              /* the VMM's dirty log */
    uint64_t *expected;         /* OR of the dirty sets */
    uint64_t *dirty[2];         /* pages dirtied in each HWPT */
} Bench;

static void bench_setup(Bench *b)
{
    g_autoptr(GError) err = NULL;
    const BenchCase *bc = &b->bc;

    b->range_bytes = bc->guest_bytes / NR_RANGES;
    if (b->range_bytes % bc->page_size || (b->range_bytes / bc->page_size) % 64) {
        fail("layout: each range must be a whole number of 64-page log words");
    }
    b->map_bytes = b->range_bytes - bc->page_size;
    b->nr_pages = bc->guest_bytes / bc->page_size;
    b->log_words = b->nr_pages / 64;

    b->as = vfi_address_space_new(NULL);
    for (unsigned h = 0; h < bc->hwpts; h++) {
        if (!vfi_address_space_attach_device(b->as, b->be, b->devs[h], NULL, &err)) {
            die(err);
        }
    }
    if (vfi_address_space_container_count(b->as) != 1) {
        fail("expected one container");
    }
    b->c = vfi_address_space_container(b->as, 0);
    if (vfi_container_hwpt_count(b->c) != bc->hwpts) {
        fail("expected one HWPT per IOMMU instance");
    }
    for (unsigned h = 0; h < bc->hwpts; h++) {
        VfiHwpt *hwpt = vfi_container_hwpt(b->c, h);

        if (!(vfi_hwpt_get_flags(hwpt) & IOMMU_HWPT_ALLOC_DIRTY_TRACKING)) {
            fail("a HWPT was allocated without dirty tracking");
        }
        b->hwpt_ids[h] = vfi_hwpt_get_id(hwpt);
    }
    for (unsigned i = 0; i < NR_RANGES; i++) {
        uint64_t off = i * b->range_bytes;

        if (!vfi_address_space_dma_map(b->as, GUEST_BASE + off, b->map_bytes,
                                        (void *)(uintptr_t)(FAKE_VADDR + off), false,
                                        &err)) {
            die(err);
        }
    }
    if (!vfi_container_dirty_tracking_start(b->c, &err)) {
        die(err);
    }

    /* Touch every buffer once so that no pass pays for page faults. */
    b->log = g_new0(uint64_t, b->log_words);
    b->expected = g_new0(uint64_t, b->log_words);
    memset(b->log, 0xff, b->log_words * 8);
    for (unsigned h = 0; h < bc->hwpts; h++) {
        uint64_t state = SEED + h;
        const uint64_t threshold = UINT64_MAX / 100 * DIRTY_PERCENT;

        b->dirty[h] = g_new0(uint64_t, b->log_words);
        uint64_t range_pages = b->range_bytes / bc->page_size;

        for (uint64_t p = 0; p < b->nr_pages; p++) {
            /* the holes between ranges are never written */
            if (p % range_pages == range_pages - 1) {
                continue;
            }
            if (rng_next(&state) < threshold) {
                b->dirty[h][p / 64] |= UINT64_C(1) << (p % 64);
            }
        }
        for (size_t w = 0; w < b->log_words; w++) {
            b->expected[w] |= b->dirty[h][w];
        }
    }
}

static void bench_teardown(Bench *b)
{
    g_autoptr(GError) err = NULL;

    if (!vfi_container_dirty_tracking_stop(b->c, &err)) {
        die(err);
    }
    for (unsigned i = 0; i < NR_RANGES; i++) {
        if (!vfi_address_space_dma_unmap(b->as, GUEST_BASE + i * b->range_bytes,
                                          b->map_bytes, 0, &err)) {
            die(err);
        }
    }
    for (unsigned h = 0; h < b->bc.hwpts; h++) {
        if (!vfi_address_space_detach_device(b->as, b->devs[h], &err)) {
            die(err);
        }
        g_free(b->dirty[h]);
    }
    if (!vfi_address_space_free(b->as, &err)) {
        die(err);
    }
    g_free(b->log);
    g_free(b->expected);
}

/* Dirty the case's pages again in every HWPT (runs of pages in one call). */
static void bench_redirty(Bench *b)
{
    g_autoptr(GError) err = NULL;
    int fd = vfi_iommufd_get_fd(b->be);
    uint64_t ps = b->bc.page_size;

    for (unsigned h = 0; h < b->bc.hwpts; h++) {
        const uint64_t *bits = b->dirty[h];
        uint64_t p = 0;

        while (p < b->nr_pages) {
            uint64_t w = bits[p / 64] >> (p % 64);
            uint64_t run;

            if (!w) {
                p = (p / 64 + 1) * 64;
                continue;
            }
            p += __builtin_ctzll(w);
            for (run = 1; p + run < b->nr_pages &&
                          (bits[(p + run) / 64] >> ((p + run) % 64)) & 1; run++) {
            }
            if (!vfi_sim_hwpt_mark_dirty(b->sim, fd, b->hwpt_ids[h], GUEST_BASE + p * ps,
                                          run * ps, &err)) {
                die(err);
            }
            p += run;
        }
    }
}

/* b: what upstream VMMs do, per range and HWPT. */
static void sync_baseline(Bench *b)
{
    g_autoptr(GError) err = NULL;
    uint64_t ps = b->bc.page_size;
    size_t range_words = (b->map_bytes / ps + 63) / 64;

    for (unsigned i = 0; i < NR_RANGES; i++) {
        uint64_t iova = GUEST_BASE + i * b->range_bytes;
        uint64_t *dst = b->log + (iova - GUEST_BASE) / ps / 64;

        for (unsigned h = 0; h < b->bc.hwpts; h++) {
            uint64_t *scratch = g_malloc0(range_words * 8);

            if (!vfi_iommufd_hwpt_get_dirty_bitmap(b->be, b->hwpt_ids[h], iova,
                                                  b->map_bytes, ps, scratch, 0, &err)) {
                die(err);
            }
            for (size_t w = 0; w < range_words; w++) {
                dst[w] |= scratch[w];
            }
            g_free(scratch);
        }
    }
}

/* c: the ioctls alone, straight into the log. */
static void sync_bare(Bench *b)
{
    g_autoptr(GError) err = NULL;
    uint64_t ps = b->bc.page_size;

    for (unsigned i = 0; i < NR_RANGES; i++) {
        uint64_t iova = GUEST_BASE + i * b->range_bytes;

        for (unsigned h = 0; h < b->bc.hwpts; h++) {
            if (!vfi_iommufd_hwpt_get_dirty_bitmap(b->be, b->hwpt_ids[h], iova,
                                                  b->map_bytes, ps,
                                                  b->log + (iova - GUEST_BASE) / ps / 64, 0,
                                                  &err)) {
                die(err);
            }
        }
    }
}

static void sync_lib(Bench *b)
{
    g_autoptr(GError) err = NULL;
    const VfiDirtyLog log = {
        .base_iova = GUEST_BASE,
        .page_size = b->bc.page_size,
        .bitmap = b->log,
        .nr_pages = b->nr_pages,
    };

    if (!vfi_container_sync_dirty(b->c, &log, &err)) {
        die(err);
    }
}

/* Returns: the time of one pass of @kind, in ns. */
static uint64_t run_pass(Bench *b, PassKind kind, uint64_t *ioctls)
{
    size_t bytes = b->log_words * 8;
    uint64_t t0, t1;

    if (kind == PASS_MEMCPY) {
        t0 = now_ns();
        for (unsigned h = 0; h < b->bc.hwpts; h++) {
            memcpy(b->log, b->expected, bytes);
        }
        t1 = now_ns();
        /* keeps the copy observable */
        if (memcmp(b->log, b->expected, bytes)) {
            fail("memcpy");
        }
        return t1 - t0;
    }

    bench_redirty(b);
    memset(b->log, 0, bytes);
    /* The wrapper only counts ioctls here: timing each one would add two
     * clock reads per ioctl to the pass. */
    b->tk->ioctls = 0;
    t0 = now_ns();
    switch (kind) {
    case PASS_LIB:
        sync_lib(b);
        break;
    case PASS_BASELINE:
        sync_baseline(b);
        break;
    default:
        sync_bare(b);
        break;
    }
    t1 = now_ns();
    *ioctls = b->tk->ioctls;
    if (memcmp(b->log, b->expected, bytes)) {
        g_autofree char *msg = g_strdup_printf("%s gave a wrong dirty log "
                                               "(guest %" PRIu64 " GiB, page %" PRIu64
                                               ", %u HWPT(s))", pass_names[kind],
                                               b->bc.guest_bytes >> 30, b->bc.page_size,
                                               b->bc.hwpts);
        fail(msg);
    }
    return t1 - t0;
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

    return a < b ? -1 : a > b;
}

static double median(uint64_t *v, unsigned n)
{
    qsort(v, n, sizeof(*v), cmp_u64);
    return n % 2 ? (double)v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;

    return a < b ? -1 : a > b;
}

/* The median over the rounds of t[num][r] / t[den][r]: both passes of a
 * ratio ran in the same round, a few milliseconds apart, so a slow phase of
 * the machine weighs on both. */
static double median_ratio(const uint64_t *t, unsigned rounds, PassKind num, PassKind den)
{
    g_autofree double *v = g_new(double, rounds);

    for (unsigned r = 0; r < rounds; r++) {
        uint64_t d = t[den * rounds + r];

        v[r] = d ? (double)t[num * rounds + r] / d : 0;
    }
    qsort(v, rounds, sizeof(*v), cmp_double);
    return rounds % 2 ? v[rounds / 2] : (v[rounds / 2 - 1] + v[rounds / 2]) / 2.0;
}

static void run_case(VfiSim *sim, TimedKernel *tk, VfiIommufd *be, VfiDevice **devs,
                     const BenchCase *bc, unsigned rounds, CaseResult *res)
{
    Bench b = { .sim = sim, .tk = tk, .be = be, .devs = devs, .bc = *bc };
    g_autofree uint64_t *t = g_new0(uint64_t, (size_t)PASS__COUNT * rounds);

    bench_setup(&b);
    for (unsigned r = 0; r < rounds; r++) {
        /* rotate the order so that no kind always runs first */
        for (unsigned k = 0; k < PASS__COUNT; k++) {
            PassKind kind = (k + r) % PASS__COUNT;
            uint64_t ioctls = 0;

            t[kind * rounds + r] = run_pass(&b, kind, &ioctls);
            res->ioctls[kind] = ioctls;
        }
    }
    bench_teardown(&b);

    res->bc = *bc;
    res->a_c = median_ratio(t, rounds, PASS_LIB, PASS_BARE);
    res->b_a = median_ratio(t, rounds, PASS_BASELINE, PASS_LIB);
    res->c_m = median_ratio(t, rounds, PASS_BARE, PASS_MEMCPY);
    res->b_c = median_ratio(t, rounds, PASS_BASELINE, PASS_BARE);
    for (unsigned k = 0; k < PASS__COUNT; k++) {
        res->ns[k] = median(t + k * rounds, rounds);
    }
}

static char *size_str(uint64_t bytes)
{
    if (bytes >= (UINT64_C(1) << 40) && !(bytes % (UINT64_C(1) << 40))) {
        return g_strdup_printf("%" PRIu64 " TiB", bytes >> 40);
    }
    if (bytes >= (UINT64_C(1) << 30) && !(bytes % (UINT64_C(1) << 30))) {
        return g_strdup_printf("%" PRIu64 " GiB", bytes >> 30);
    }
    if (bytes >= (UINT64_C(1) << 20) && !(bytes % (UINT64_C(1) << 20))) {
        return g_strdup_printf("%" PRIu64 " MiB", bytes >> 20);
    }
    if (bytes >= 1024 && !(bytes % 1024)) {
        return g_strdup_printf("%" PRIu64 " KiB", bytes >> 10);
    }
    return g_strdup_printf("%" PRIu64 " bytes", bytes);
}

/* The targets are about the cost of moving 4 KiB-page bitmaps; with larger
 * pages the bitmap is tiny and the kernel's walk is all there is. */
static bool targets_apply(const BenchCase *bc)
{
    return bc->page_size == 4096;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "short", no_argument, NULL, 's' },
        { "rounds", required_argument, NULL, 'r' },
        { "json", no_argument, NULL, 'j' },
        { "wall", no_argument, NULL, 'w' },
        { NULL, 0, NULL, 0 },
    };
    static const BenchCase full_cases[] = {
        { UINT64_C(1) << 40, 4096, 1 },
        { UINT64_C(1) << 40, 4096, 2 },
        { UINT64_C(1) << 40, 2 << 20, 1 },
        { UINT64_C(1) << 40, 2 << 20, 2 },
        { UINT64_C(64) << 30, 4096, 1 },
        { UINT64_C(64) << 30, 4096, 2 },
    };
    static const BenchCase short_cases[] = {
        { UINT64_C(8) << 30, 4096, 1 },
        { UINT64_C(8) << 30, 4096, 2 },
        { UINT64_C(8) << 30, 2 << 20, 1 },
        { UINT64_C(8) << 30, 2 << 20, 2 },
    };
    bool json = false, short_run = false;
    unsigned rounds = 0;
    int opt;

    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case 's': short_run = true; break;
        case 'r': rounds = strtoul(optarg, NULL, 0); break;
        case 'j': json = true; break;
        case 'w': bench_clock = CLOCK_MONOTONIC; break;
        default:
            fprintf(stderr, "usage: bench-dirty [--short] [--rounds R] [--json] [--wall]\n");
            return 2;
        }
    }
    if (!rounds) {
        rounds = short_run ? 3 : 9;
    }
    const BenchCase *cases = short_run ? short_cases : full_cases;
    unsigned nr_cases = short_run ? G_N_ELEMENTS(short_cases) : G_N_ELEMENTS(full_cases);

    g_autoptr(GError) err = NULL;
    g_autoptr(VfiSim) sim = vfi_sim_new(&err);
    if (!sim || !vfi_sim_load_topology_data(sim,
                                             "[iommu iommu0]\ndirty-tracking=true\n"
                                             "[iommu iommu1]\ndirty-tracking=true\n"
                                             "[device dev0]\niommu=iommu0\n"
                                             "[device dev1]\niommu=iommu1\n", &err)) {
        die(err);
    }
    vfi_sim_install(sim);

    TimedKernel tk = { 0 };
    timed_kernel_install(&tk, bench_clock);

    VfiDevice *devs[2];
    for (unsigned i = 0; i < 2; i++) {
        g_autofree char *name = g_strdup_printf("dev%u", i);
        devs[i] = vfi_device_open_sysfs(vfi_sim_device_sysfs_path(sim, name), &err);
        if (!devs[i]) {
            die(err);
        }
    }

    /* One backend for the whole run: the devices stay bound to it. */
    VfiIommufd *be = vfi_iommufd_new();
    if (!vfi_iommufd_connect(be, &err)) {
        die(err);
    }

    g_autofree CaseResult *res = g_new0(CaseResult, nr_cases);
    bool all_met = true;

    if (json) {
        printf("{\"cases\": [");
    }
    for (unsigned i = 0; i < nr_cases; i++) {
        CaseResult *r = &res[i];
        run_case(sim, &tk, be, devs, &cases[i], rounds, r);

        double a = r->ns[PASS_LIB], bl = r->ns[PASS_BASELINE];
        double c = r->ns[PASS_BARE], m = r->ns[PASS_MEMCPY];
        double a_c = r->a_c, b_a = r->b_a, c_m = r->c_m;
        bool apply = targets_apply(&r->bc);
        bool met_ac = a_c <= TARGET_LIB_OVER_BARE, met_ba = b_a >= TARGET_BASELINE_OVER_LIB;

        if (apply) {
            all_met &= met_ac && met_ba;
        }
        if (json) {
            printf("%s{\"guest_bytes\": %" PRIu64 ", \"page_size\": %" PRIu64
                   ", \"hwpts\": %u, \"lib_over_bare\": %.3f, \"baseline_over_lib\": %.3f, "
                   "\"bare_over_memcpy\": %.3f, \"lib_ms\": %.3f, \"baseline_ms\": %.3f, "
                   "\"bare_ms\": %.3f, \"memcpy_ms\": %.3f}", i ? ", " : "",
                   r->bc.guest_bytes, r->bc.page_size, r->bc.hwpts, a_c, b_a, c_m, a / 1e6,
                   bl / 1e6, c / 1e6, m / 1e6);
            fflush(stdout);
            continue;
        }

        g_autofree char *gs = size_str(r->bc.guest_bytes);
        g_autofree char *ps = size_str(r->bc.page_size);
        g_autofree char *ls = size_str((r->bc.guest_bytes / r->bc.page_size) / 8);
        printf("guest %s, %s pages, %u ranges, %d%% dirty, %u HWPT(s), log %s "
               "(median of %u rounds, %s time)\n", gs, ps, NR_RANGES, DIRTY_PERCENT,
               r->bc.hwpts, ls, rounds, bench_clock == CLOCK_MONOTONIC ? "wall" : "CPU");
        printf("  a. library sync       %10.3f ms  %4" PRIu64 " ioctl(s)\n",
               a / 1e6, r->ioctls[PASS_LIB]);
        printf("  b. upstream-style     %10.3f ms  %4" PRIu64 " ioctl(s)\n", bl / 1e6,
               r->ioctls[PASS_BASELINE]);
        printf("  c. bare ioctls        %10.3f ms  %4" PRIu64 " ioctl(s)\n", c / 1e6,
               r->ioctls[PASS_BARE]);
        printf("     memcpy x%u          %10.3f ms\n", r->bc.hwpts, m / 1e6);
        printf("  a/c %.3f (target <= %.2f: %s)  b/a %.3f (target >= %.2f: %s)  "
               "c/memcpy %.1f  (b/c %.2f)\n", a_c, TARGET_LIB_OVER_BARE,
               !apply ? "n/a" : met_ac ? "met" : "MISSED", b_a, TARGET_BASELINE_OVER_LIB,
               !apply ? "n/a" : met_ba ? "met" : "MISSED", c_m, r->b_c);
        fflush(stdout);
    }
    if (json) {
        printf("]}\n");
    }
    fflush(stdout);

    for (unsigned i = 0; i < 2; i++) {
        vfi_device_free(devs[i]);
    }
    vfi_iommufd_disconnect(be);
    if (!vfi_iommufd_free(be, &err)) {
        die(err);
    }
    timed_kernel_uninstall(&tk);

    unsigned left = vfi_sim_live_objects(sim);
    if (left) {
        fprintf(stderr, "bench-dirty: %u kernel object(s) left\n", left);
        return 1;
    }
    if (!json) {
        printf("targets (4 KiB pages): %s\n", all_met ? "all met" :
               short_run ? "missed (short run: not a failure)" : "MISSED");
    } else if (!all_met && !short_run) {
        fprintf(stderr, "bench-dirty: targets MISSED\n");
    }
    return all_met || short_run ? 0 : 1;
}
