/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Benchmark: DMA map and unmap at scale.
 *
 * One device on the simulated kernel, one address space, one container.
 * For each level (the address space: vfi_address_space_dma_map/_unmap; the
 * container: vfi_container_dma_map/_unmap), each size N (10, 10k, 100k
 * mappings of one 4 KiB page each) and each pattern:
 *   append         map at the end of N mappings (then unmapped, untimed);
 *   random-insert  map into a random hole of N mappings laid over 2N slots
 *                  (then unmapped, untimed);
 *   random-remove  unmap a random one of N mappings (then mapped again,
 *                  untimed);
 * the library's call is timed beside the same bare ioctl
 * (vfi_iommufd_ioas_map/_unmap, IOMMU_IOAS_MAP/UNMAP) into the same IOAS,
 * which holds the library's mappings at the even pages of each slot and as
 * many bare ones at the odd pages: the kernel model holds 2N mappings in
 * both cases and does the same work for both (each op of a step at a
 * random slot of its own, so neither finds the other's path in the cache).
 * Library and bare calls alternate, one by one, their order swapped at
 * every step; each round of K steps gives the
 * ratio of the median library call to the median bare call (medians: a
 * call that lost the CPU does not count), and the median of the rounds is
 * reported. A third call per step, the library's again, runs with its
 * ioctls timed (timed-kernel.c): its time less its ioctls' is the
 * library's own cost, measured within one call. The clock is
 * CLOCK_MONOTONIC, its own cost (measured) taken off every timed call.
 *
 * Reported per case: lib_over_bare (library / bare ioctl), and
 * per_op_over_at_10: the library's own cost per op (its time outside its
 * ioctls) at N over that at N = 10, same level and pattern (the model's
 * own map may grow with N: that baseline both share and is not the
 * library's); the N = 10 reference runs in a second address space (rig 1)
 * in the same rounds, one round of each in turn, and the ratio is the
 * median over the rounds of the ratio within a round: the machine's speed
 * drifts (shared), so two cases measured seconds apart would compare the
 * machine, not the library.
 * Targets: lib_over_bare <= 1.5 everywhere, per_op_over_at_10 <= 2; a miss
 * makes a full run exit 1, never a --short one.
 *
 * Memory: the heap the library's record of N mappings takes (glibc
 * mallinfo2, the kernel model's own share of the same fill taken off), per
 * mapping, at each level; and per attached device.
 *
 *   bench-map [--short] [--rounds R] [--steps K] [--json]
 */
#include <getopt.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vfio-iommufd/kernel.h"
#include "timed-kernel.h"
#include "vfio-iommufd-sim/sim.h"
#include "vfio-iommufd/container.h"
#include "bench-stats.h"

#define PAGE UINT64_C(4096)
#define BASE (UINT64_C(4) << 30)                 /* above the MSI window */
#define FAKE_VADDR UINT64_C(0x7f0000000000)      /* never touched by the model */
#define SEED UINT64_C(0x6d61707321)
#define TARGET_RATIO 1.5
#define TARGET_SCALING 2.0
#define NR_DEVICES 4

typedef enum { LEVEL_AS, LEVEL_CONTAINER, LEVEL__COUNT } Level;
typedef enum { PAT_APPEND, PAT_INSERT, PAT_REMOVE, PAT__COUNT } Pattern;

static const char *const level_names[LEVEL__COUNT] = { "address-space", "container" };
static const char *const pattern_names[PAT__COUNT] = {
    "append", "random-insert", "random-remove",
};

typedef struct CaseResult {
    Level level;
    Pattern pattern;
    unsigned n;
    double ratio;             /* median of the rounds' lib/bare */
    double lib_ns, bare_ns;   /* medians, per op */
    double own_ns;            /* median per op of the library's time outside
                               * its ioctls */
    double scaling;           /* own_ns / own_ns at 10 (0: no reference) */
    double total_scaling;     /* lib_ns / lib_ns at 10 */
} CaseResult;

/* One address space with one device and its container: where a case's
 * ops run. */
typedef struct Rig {
    VfiDevice *dev;
    VfiAddressSpace *as;
    VfiContainer *c;
    uint32_t ioas;
    bool *used;               /* slots holding a mapping (random patterns) */
} Rig;

typedef struct Bench {
    VfiSim *sim;
    VfiIommufd *be;
    VfiDevice *devs[NR_DEVICES + 1];
    /* rig[0]: a case's N mappings; rig[1]: the reference size's (N = 10),
     * measured in the same rounds, one after the other, so that the two
     * sides of per_op_over_at_10 run at the same time on a machine whose
     * speed drifts (shared); r: the rig the ops drive */
    Rig rig[2], *r;
    uint64_t clock_ns;        /* the cost of one clock read pair */
    unsigned rounds, steps;
    TimedKernel tk;
    uint64_t rng;
} Bench;

static G_NORETURN void die(GError *err)
{
    fprintf(stderr, "bench-map: %s\n", err->message);
    exit(1);
}

static uint64_t now_ns(void)
{
    return bench_now_ns(CLOCK_MONOTONIC);
}

/* splitmix64 (fixed seed: the same slots on every run). */
static uint64_t rng_next(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static uint64_t slot_iova(uint64_t slot, bool bare)
{
    return BASE + (2 * slot + (bare ? 1 : 0)) * PAGE;
}

static void *slot_vaddr(uint64_t slot, bool bare)
{
    return (void *)(uintptr_t)(FAKE_VADDR + (2 * slot + (bare ? 1 : 0)) * PAGE);
}

/* ---- one map or unmap, by the library (@level) or bare ---------------- */

static void op_map(Bench *b, Level level, bool bare, uint64_t slot)
{
    g_autoptr(GError) err = NULL;
    uint64_t iova = slot_iova(slot, bare);
    void *va = slot_vaddr(slot, bare);
    bool ok = bare ? vfi_iommufd_ioas_map(b->be, b->r->ioas, iova, PAGE, va, false, &err) :
              level == LEVEL_AS ? vfi_address_space_dma_map(b->r->as, iova, PAGE, va, false, &err) :
              vfi_container_dma_map(b->r->c, iova, PAGE, va, false, &err);

    if (!ok) {
        die(err);
    }
}

static void op_unmap(Bench *b, Level level, bool bare, uint64_t slot)
{
    g_autoptr(GError) err = NULL;
    uint64_t iova = slot_iova(slot, bare);
    bool ok = bare ? vfi_iommufd_ioas_unmap(b->be, b->r->ioas, iova, PAGE, NULL, &err) :
              level == LEVEL_AS ? vfi_address_space_dma_unmap(b->r->as, iova, PAGE, 0, &err) :
              vfi_container_dma_unmap(b->r->c, iova, PAGE, 0, NULL, &err);

    if (!ok) {
        die(err);
    }
}

/* The timed op of @pat at @slot (map, or unmap for random-remove); returns
 * its time, the clock's own cost taken off. */
static uint64_t timed_op(Bench *b, Level level, Pattern pat, bool bare, uint64_t slot)
{
    uint64_t t0 = now_ns(), t;

    if (pat == PAT_REMOVE) {
        op_unmap(b, level, bare, slot);
    } else {
        op_map(b, level, bare, slot);
    }
    t = now_ns() - t0;
    return t > b->clock_ns ? t - b->clock_ns : 0;
}

/* Undo what timed_op() did. */
static void undo_op(Bench *b, Level level, Pattern pat, bool bare, uint64_t slot)
{
    if (pat == PAT_REMOVE) {
        op_map(b, level, bare, slot);
    } else {
        op_unmap(b, level, bare, slot);
    }
}

static void calibrate_clock(Bench *b)
{
    double v[101];

    for (unsigned i = 0; i < G_N_ELEMENTS(v); i++) {
        uint64_t t0 = now_ns();

        v[i] = (double)(now_ns() - t0);
    }
    b->clock_ns = (uint64_t)median(v, G_N_ELEMENTS(v));
}

/* ---- set-up of one case ------------------------------------------------ */

/* The slots of a case of @n mappings: append: [0, n), the op at n;
 * random: n of 2n slots at random (b->r->used), the ops on random free
 * (insert) or used (remove) ones. */
static unsigned nr_slots(Pattern pat, unsigned n)
{
    return pat == PAT_APPEND ? n + 1 : 2 * n;
}

static void choose_slots(Bench *b, Pattern pat, unsigned n)
{
    unsigned total = nr_slots(pat, n), placed = 0;

    g_free(b->r->used);
    b->r->used = g_new0(bool, total);
    if (pat == PAT_APPEND) {
        memset(b->r->used, 1, n);
        return;
    }
    while (placed < n) {
        uint64_t s = rng_next(&b->rng) % total;

        if (!b->r->used[s]) {
            b->r->used[s] = true;
            placed++;
        }
    }
}

/* Map (or unmap) every used slot, library and bare, in IOVA order. */
static void fill(Bench *b, Level level, Pattern pat, unsigned n, bool map)
{
    for (unsigned s = 0; s < nr_slots(pat, n); s++) {
        for (int bare = 0; bare < 2 && b->r->used[s]; bare++) {
            if (map) {
                op_map(b, level, bare, s);
            } else {
                op_unmap(b, level, bare, s);
            }
        }
    }
}

/* A slot for the next op: the end (append), a random free (insert) or
 * used (remove) one. */
static uint64_t pick_slot(Bench *b, Pattern pat, unsigned n)
{
    unsigned total = nr_slots(pat, n);

    if (pat == PAT_APPEND) {
        return n;
    }
    for (;;) {
        uint64_t s = rng_next(&b->rng) % total;

        if (b->r->used[s] == (pat == PAT_REMOVE)) {
            return s;
        }
    }
}

static void check_count(Bench *b, Level level, unsigned n)
{
    unsigned lib = level == LEVEL_AS ? vfi_address_space_mapping_count(b->r->as) :
                   vfi_container_mapping_count(b->r->c);
    int kernel = vfi_sim_ioas_mapping_count(b->sim, vfi_iommufd_get_fd(b->be), b->r->ioas);

    if (lib != n || kernel != (int)(2 * n)) {
        fprintf(stderr, "bench-map: %u mappings recorded, %d in the kernel; expected %u, "
                "%u\n", lib, kernel, n, 2 * n);
        exit(1);
    }
}

/* ---- one case ---------------------------------------------------------- */

/* The library's op of @pat at @slot with its ioctls timed: its time
 * outside them (the clock reads around them taken off). */
static double own_op(Bench *b, Level level, Pattern pat, uint64_t slot)
{
    uint64_t before = b->tk.ioctl_ns, t, inner;

    b->tk.timing = true;
    t = timed_op(b, level, pat, false, slot);
    b->tk.timing = false;
    inner = b->tk.ioctl_ns - before + b->clock_ns;
    return t > inner ? (double)(t - inner) : 0;
}

/* One round of b->steps steps: per step the library's op and the bare one
 * (order swapped each step), then the library's with its ioctls timed,
 * each undone untimed: the median times of the three. */
static void run_round(Bench *b, Level level, Pattern pat, unsigned n, double *lib,
                      double *bare, double *own)
{
    g_autofree double *tl = g_new(double, b->steps);
    g_autofree double *tb = g_new(double, b->steps);
    g_autofree double *to = g_new(double, b->steps);

    for (unsigned k = 0; k < b->steps; k++) {
        /* each op at a slot of its own: an op right after another at the
         * neighbouring IOVA would find the model's path to it in the cache */
        uint64_t s[2] = { pick_slot(b, pat, n), pick_slot(b, pat, n) };

        for (int j = 0; j < 2; j++) {
            bool is_bare = (j + k) % 2;
            uint64_t t = timed_op(b, level, pat, is_bare, s[is_bare]);

            (is_bare ? tb : tl)[k] = (double)t;
        }
        undo_op(b, level, pat, false, s[0]);
        undo_op(b, level, pat, true, s[1]);
        to[k] = own_op(b, level, pat, s[0]);
        undo_op(b, level, pat, false, s[0]);
    }
    *lib = median(tl, b->steps);
    *bare = median(tb, b->steps);
    *own = median(to, b->steps);
}

/* Fill rig @r with @n mappings of @pat at @level (slots chosen anew), or
 * empty it again (!@map). */
static void rig_fill(Bench *b, Rig *r, Level level, Pattern pat, unsigned n, bool map)
{
    b->r = r;
    if (map) {
        choose_slots(b, pat, n);
    }
    check_count(b, level, map ? 0 : n);
    fill(b, level, pat, n, map);
    check_count(b, level, map ? n : 0);
}

/* One round of the case in rig 0 (@n mappings) and, unless @n is the
 * reference size @ref_n, one of the reference in rig 1, in an order that
 * alternates with @round: the library's time per op and its own time over
 * the reference's, in *@scaling and *@total_scaling (1 for the reference
 * case itself). */
static void run_pair(Bench *b, Level level, Pattern pat, unsigned n, unsigned ref_n,
                     unsigned round, double *v, double *scaling, double *total_scaling)
{
    double lib[2] = { 0 }, bare[2], own[2] = { 0 };
    int sides = n == ref_n ? 1 : 2;

    for (int k = 0; k < sides; k++) {
        int which = (int)((k + round) % (unsigned)sides);

        b->r = &b->rig[which];
        run_round(b, level, pat, which ? ref_n : n, &lib[which], &bare[which], &own[which]);
    }
    b->r = &b->rig[0];
    v[0] = bare[0] > 0 ? lib[0] / bare[0] : 0;
    v[1] = lib[0];
    v[2] = bare[0];
    v[3] = own[0];
    *scaling = sides == 1 ? 1 : own[1] > 0 ? own[0] / own[1] : 0;
    *total_scaling = sides == 1 ? 1 : lib[1] > 0 ? lib[0] / lib[1] : 0;
}

static CaseResult run_case(Bench *b, Level level, Pattern pat, unsigned n, unsigned ref_n)
{
    unsigned nr = b->rounds;
    g_autofree double *v = g_new(double, 6 * nr);   /* ratio, lib, bare, own, scalings */
    g_autofree double *col = g_new(double, 4 * nr);  /* the same, by column */
    CaseResult r = { .level = level, .pattern = pat, .n = n };
    rig_fill(b, &b->rig[0], level, pat, n, true);
    if (n != ref_n) {
        rig_fill(b, &b->rig[1], level, pat, ref_n, true);
    }
    for (unsigned i = 0; i < nr; i++) {
        run_pair(b, level, pat, n, ref_n, i, &v[4 * i], &v[4 * nr + i], &v[5 * nr + i]);
    }
    if (n != ref_n) {
        rig_fill(b, &b->rig[1], level, pat, ref_n, false);
    }
    rig_fill(b, &b->rig[0], level, pat, n, false);
    for (unsigned i = 0; i < nr; i++) {
        for (int c = 0; c < 4; c++) {
            col[c * nr + i] = v[4 * i + c];
        }
    }
    r.ratio = median(&col[0], nr);
    r.lib_ns = median(&col[nr], nr);
    r.bare_ns = median(&col[2 * nr], nr);
    r.own_ns = median(&col[3 * nr], nr);
    r.scaling = median(&v[4 * nr], nr);
    r.total_scaling = median(&v[5 * nr], nr);
    return r;
}

/* ---- memory ------------------------------------------------------------ */

static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();

    return mi.uordblks + mi.hblkhd;
}

/* The bytes of the library's records of mappings at @level (its tree
 * nodes come from the library's node pool, not the heap): the address
 * space's and its container's, or the container's. */
static size_t record_bytes(Bench *b, Level level)
{
    return vfi_container_get_mapping_bytes(b->r->c) +
           (level == LEVEL_AS ? vfi_address_space_get_mapping_bytes(b->r->as) : 0);
}

/* Memory growth of a fill of @n appended mappings at @level, library or
 * bare: the heap's, and for the library its records'; everything unmapped
 * again afterwards. */
static size_t fill_growth(Bench *b, Level level, bool bare, unsigned n)
{
    size_t before, after, rec_before = bare ? 0 : record_bytes(b, level), rec_after;

    malloc_trim(0);
    before = heap_in_use();
    for (unsigned s = 0; s < n; s++) {
        op_map(b, level, bare, s);
    }
    after = heap_in_use();
    rec_after = bare ? 0 : record_bytes(b, level);
    for (unsigned s = 0; s < n; s++) {
        op_unmap(b, level, bare, s);
    }
    return (after > before ? after - before : 0) + (rec_after - rec_before);
}

/* A new address space in place of b->r->as, with the rig's device attached
 * again (a new container): records that never held a mapping. */
static void fresh_address_space(Bench *b)
{
    g_autoptr(GError) err = NULL;

    if (b->r->as && (!vfi_address_space_detach_device(b->r->as, b->r->dev, &err) ||
                     !vfi_address_space_free(b->r->as, &err))) {
        die(err);
    }
    b->r->as = vfi_address_space_new(NULL);
    if (!vfi_address_space_attach_device(b->r->as, b->be, b->r->dev, NULL, &err)) {
        die(err);
    }
    b->r->c = vfi_address_space_container(b->r->as, 0);
    b->r->ioas = vfi_container_get_ioas_id(b->r->c);
}

/* Bytes of the library's record per mapping at @level, in a new address
 * space: the memory a fill of @n takes, less the kernel model's share (a
 * bare fill of the same slots; one bare fill first so that the model's
 * arrays have grown already). */
static double bytes_per_mapping(Bench *b, Level level, unsigned n)
{
    size_t lib, bare;

    fresh_address_space(b);
    fill_growth(b, level, true, n);
    bare = fill_growth(b, level, true, n);
    lib = fill_growth(b, level, false, n);
    return lib > bare ? (double)(lib - bare) / n : 0;
}

/* Bytes per attached device: the heap NR_DEVICES - 1 attaches beside the
 * first device take (they share its container and HWPT), once the same
 * attaches were made and undone. */
static double bytes_per_device(Bench *b)
{
    g_autoptr(GError) err = NULL;
    size_t before = 0, after = 0;

    for (int pass = 0; pass < 2; pass++) {
        malloc_trim(0);
        before = heap_in_use();
        for (unsigned i = 1; i < NR_DEVICES; i++) {
            if (!vfi_address_space_attach_device(b->r->as, b->be, b->devs[i], NULL, &err)) {
                die(err);
            }
        }
        after = heap_in_use();
        for (unsigned i = 1; i < NR_DEVICES; i++) {
            if (!vfi_address_space_detach_device(b->r->as, b->devs[i], &err)) {
                die(err);
            }
        }
    }
    return after > before ? (double)(after - before) / (NR_DEVICES - 1) : 0;
}

/* ---- set-up and output ------------------------------------------------- */

static void setup(Bench *b)
{
    g_autoptr(GError) err = NULL;
    VfiSimIommuConfig cfg = { .dirty_tracking = true };

    b->sim = vfi_sim_new(&err);
    if (!b->sim || !vfi_sim_add_iommu(b->sim, "iommu0", &cfg, &err)) {
        die(err);
    }
    for (unsigned i = 0; i <= NR_DEVICES; i++) {
        g_autofree char *name = g_strdup_printf("dev%u", i);

        if (!vfi_sim_add_device(b->sim, name, "iommu0", false, &err)) {
            die(err);
        }
    }
    vfi_sim_install(b->sim);
    timed_kernel_install(&b->tk, CLOCK_MONOTONIC);
    b->be = vfi_iommufd_new();
    if (!vfi_iommufd_connect(b->be, &err)) {
        die(err);
    }
    for (unsigned i = 0; i <= NR_DEVICES; i++) {
        g_autofree char *name = g_strdup_printf("dev%u", i);

        b->devs[i] = vfi_device_open_sysfs(vfi_sim_device_sysfs_path(b->sim, name), &err);
        if (!b->devs[i] || !vfi_device_bind(b->devs[i], b->be, &err)) {
            die(err);
        }
    }
    /* devs[0]: rig 0; devs[1..NR_DEVICES - 1]: bytes per device; the last:
     * rig 1 */
    for (int i = 1; i >= 0; i--) {
        b->r = &b->rig[i];
        b->r->dev = b->devs[i ? NR_DEVICES : 0];
        fresh_address_space(b);
    }
    b->rng = SEED;
    calibrate_clock(b);
}

static unsigned teardown(Bench *b)
{
    g_autoptr(GError) err = NULL;

    for (int i = 0; i < 2; i++) {
        Rig *r = &b->rig[i];

        if (!vfi_address_space_detach_device(r->as, r->dev, &err) ||
            !vfi_address_space_free(r->as, &err)) {
            die(err);
        }
        g_free(r->used);
    }
    for (unsigned i = 0; i <= NR_DEVICES; i++) {
        vfi_device_free(b->devs[i]);
    }
    vfi_iommufd_disconnect(b->be);
    if (!vfi_iommufd_free(b->be, &err)) {
        die(err);
    }
    timed_kernel_uninstall(&b->tk);
    return vfi_sim_live_objects(b->sim);
}

/* Whether every target is met. */
static bool judge(const CaseResult *res, unsigned nres)
{
    bool met = true;

    for (unsigned i = 0; i < nres; i++) {
        const CaseResult *r = &res[i];

        met &= r->ratio <= TARGET_RATIO && r->scaling <= TARGET_SCALING;
    }
    return met;
}

static void print_json(const CaseResult *res, unsigned nres, const double *bpm, double bpd,
                       bool met)
{
    printf("{\"cases\": [");
    for (unsigned i = 0; i < nres; i++) {
        const CaseResult *r = &res[i];

        printf("%s\n  {\"level\": \"%s\", \"mappings\": %u, \"pattern\": \"%s\", "
               "\"lib_over_bare\": %.3f, \"per_op_over_at_10\": %.3f, "
               "\"total_over_at_10\": %.3f, \"lib_us\": %.3f, \"bare_us\": %.3f, \"own_us\": %.3f, "
               "\"bytes_per_mapping\": %.1f}", i ? "," : "", level_names[r->level], r->n,
               pattern_names[r->pattern], r->ratio, r->scaling, r->total_scaling,
               r->lib_ns / 1000, r->bare_ns / 1000, r->own_ns / 1000, bpm[r->level]);
    }
    printf("],\n \"bytes_per_attached_device\": %.1f, \"targets_met\": %s}\n", bpd,
           met ? "true" : "false");
}

static void print_text(const CaseResult *res, unsigned nres, const double *bpm, double bpd)
{
    printf("%-14s %7s %-14s %9s %9s %9s %9s %9s %9s\n", "level", "maps", "pattern", "lib us",
           "bare us", "own us", "lib/bare", "own/at10", "all/at10");
    for (unsigned i = 0; i < nres; i++) {
        const CaseResult *r = &res[i];
        bool ok = r->ratio <= TARGET_RATIO && r->scaling <= TARGET_SCALING;

        printf("%-14s %7u %-14s %9.3f %9.3f %9.3f %9.3f %9.3f %9.3f %s\n",
               level_names[r->level], r->n, pattern_names[r->pattern], r->lib_ns / 1000,
               r->bare_ns / 1000, r->own_ns / 1000, r->ratio, r->scaling, r->total_scaling,
               ok ? "met" : "MISSED");
    }
    printf("targets: lib/bare <= %.2f, own/at10 <= %.2f (own: the library's time outside "
           "its ioctls)\n", TARGET_RATIO, TARGET_SCALING);
    printf("library bookkeeping: %.1f B per mapping (address space, with its container's "
           "record), %.1f B (container level), %.1f B per attached device\n",
           bpm[LEVEL_AS], bpm[LEVEL_CONTAINER], bpd);
}

typedef struct Options {
    bool json, is_short;
    const char *sizes;
    int level, pattern;       /* -1: all */
} Options;

/* The index of @name in @names, or exit 2. */
static int name_index(const char *const *names, int n, const char *name)
{
    for (int i = 0; i < n; i++) {
        if (!strcmp(names[i], name)) {
            return i;
        }
    }
    fprintf(stderr, "bench-map: unknown level or pattern '%s'\n", name);
    exit(2);
}

static void parse_options(int argc, char **argv, Bench *b, Options *o)
{
    static const struct option longopts[] = {
        { "short", no_argument, NULL, 's' },
        { "rounds", required_argument, NULL, 'r' },
        { "steps", required_argument, NULL, 'k' },
        { "sizes", required_argument, NULL, 'n' },
        { "json", no_argument, NULL, 'j' },
        { "level", required_argument, NULL, 'l' },
        { "pattern", required_argument, NULL, 'p' },
        { NULL, 0, NULL, 0 },
    };
    int opt;

    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case 's': o->is_short = true; break;
        case 'r': b->rounds = strtoul(optarg, NULL, 0); break;
        case 'k': b->steps = strtoul(optarg, NULL, 0); break;
        case 'n': o->sizes = optarg; break;
        case 'j': o->json = true; break;
        case 'l': o->level = name_index(level_names, LEVEL__COUNT, optarg); break;
        case 'p': o->pattern = name_index(pattern_names, PAT__COUNT, optarg); break;
        default:
            fprintf(stderr, "usage: bench-map [--short] [--rounds R] [--steps K] "
                    "[--sizes N,N,...] [--level L] [--pattern P] [--json]\n");
            exit(2);
        }
    }
    b->rounds = b->rounds ? b->rounds : o->is_short ? 3 : 11;
    b->steps = b->steps ? b->steps : o->is_short ? 50 : 400;
}

/* The sizes to run: --sizes, or 10, 10k, 100k (--short: 10, 1000). The
 * first one is the reference of per_op_over_at_10 (meant to be 10). */
static unsigned parse_sizes(const Options *o, unsigned *sizes, unsigned max)
{
    static const unsigned full_sizes[] = { 10, 10000, 100000 };
    static const unsigned short_sizes[] = { 10, 1000 };
    const unsigned *def = o->is_short ? short_sizes : full_sizes;
    unsigned n = o->is_short ? G_N_ELEMENTS(short_sizes) : G_N_ELEMENTS(full_sizes);

    if (o->sizes) {
        g_auto(GStrv) v = g_strsplit(o->sizes, ",", max);

        for (n = 0; v[n]; n++) {
            sizes[n] = strtoul(v[n], NULL, 0);
            if (!sizes[n]) {
                fprintf(stderr, "bench-map: sizes must be positive\n");
                exit(2);
            }
        }
        return n;
    }
    memcpy(sizes, def, n * sizeof(*sizes));
    return n;
}

int main(int argc, char **argv)
{
    Bench b = { 0 };
    Options o = { .level = -1, .pattern = -1 };
    unsigned sizes[8], nsizes, nres = 0;
    double bpm[LEVEL__COUNT], bpd;
    CaseResult *res;

    parse_options(argc, argv, &b, &o);
    nsizes = parse_sizes(&o, sizes, G_N_ELEMENTS(sizes));
    res = g_new0(CaseResult, LEVEL__COUNT * PAT__COUNT * nsizes);
    setup(&b);
    for (Level l = 0; l < LEVEL__COUNT; l++) {
        for (unsigned s = 0; s < nsizes; s++) {
            for (Pattern p = 0; p < PAT__COUNT; p++) {
                if ((o.level >= 0 && (int)l != o.level) ||
                    (o.pattern >= 0 && (int)p != o.pattern)) {
                    continue;
                }
                res[nres++] = run_case(&b, l, p, sizes[s], sizes[0]);
            }
        }
    }
    for (Level l = 0; l < LEVEL__COUNT; l++) {
        bpm[l] = bytes_per_mapping(&b, l, sizes[nsizes - 1]);
    }
    bpd = bytes_per_device(&b);

    bool met = judge(res, nres);
    unsigned left = teardown(&b);

    if (o.json) {
        print_json(res, nres, bpm, bpd, met);
    } else {
        print_text(res, nres, bpm, bpd);
        printf("kernel objects left: %u\n", left);
    }
    g_free(res);
    if (left) {
        return 1;
    }
    return met || o.is_short ? 0 : 1;
}
