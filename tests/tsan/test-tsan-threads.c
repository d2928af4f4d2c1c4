/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tsan-threads: a VMM's threads on one address space, its containers, its
 * devices and a backend shared with a second address space, all at once,
 * on the kernel model, built with ThreadSanitizer (docs/concurrency.md).
 *
 *  - thread "sync" (a migration thread): dirty syncs of address space 1
 *    while its tracking is on, serial and parallel (a pool of 2 threads
 *    splitting mappings), with queries, reports and getters between;
 *  - thread "dma" (the device): simulated DMA writes of device dma0 to the
 *    mapped pages of address space 1 (vfi_sim_dma_write());
 *  - thread "main" (the VMM's main thread): maps and unmaps address space 1
 *    (reading the dirty bits first, or discarding them), maps and unmaps in
 *    its container, and hot-plugs a device (open, attach, detach or free);
 *  - thread "as2": a second address space on the same backend, its own
 *    device attached, mapped, tracked, synced and detached again, which
 *    connects and disconnects users of the shared backend as it goes;
 *  - thread "fd": users of a second backend connected and disconnected by
 *    it and by "as2", so its /dev/iommu is opened and closed lazily from two
 *    threads, and a trace event switched on and off under the others.
 *
 * ThreadSanitizer (TSAN_OPTIONS=halt_on_error=1 exitcode=66) fails the test
 * on any data race or lock-order inversion. Correctness (tracking is on all
 * along):
 *  - each sync reports every page the device wrote to the ranges mapped all
 *    along since the sync before (the device waits for the sync there, so
 *    "before" is well defined; the other threads do not);
 *  - every page the device wrote while mapped is found in the union of the
 *    logs: the sync thread's, the read-before-unmap log and a final sync;
 *    pages of a range unmapped with VFI_UNMAP_DISCARD_DIRTY are not asked
 *    for.
 * The test mirrors the guest: no DMA lands in a range while it is being
 * mapped or unmapped (a lock per range of the test, not of the library).
 *
 * Usage: test-tsan-threads [SECONDS] (default 2).
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <glib.h>

#include "vfio-iommufd/container.h"
#include "vfio-iommufd/dirty.h"
#include "vfio-iommufd/dirty-pool.h"
#include "vfio-iommufd/iommufd.h"
#include "vfio-iommufd/trace.h"
#include "vfio-iommufd-sim/sim.h"

#define PAGE UINT64_C(4096)
#define SLOT_PAGES 16
#define SLOT_SIZE (SLOT_PAGES * PAGE)
#define NR_STATIC 4                   /* slots mapped all along */
#define NR_SLOTS 8                    /* the others: mapped and unmapped by "main" */
#define AS1_BASE UINT64_C(0x100000)
#define AS1_PAGES (NR_SLOTS * SLOT_PAGES)
#define AS1_CONTAINER_IOVA UINT64_C(0x40000000)  /* a container-level mapping */
#define AS2_BASE UINT64_C(0x200000)
#define MIN_ROUNDS 5                  /* each thread must get this far */

static const char topology[] =
    "[iommu dirty]\ndirty-tracking=true\n"
    "[device dma0]\niommu=dirty\n"
    "[device hot0]\niommu=dirty\n"
    "[device hot1]\niommu=dirty\n"
    "[device c0]\niommu=dirty\n";

/* One range of address space 1 and what the device wrote there. */
typedef struct Slot {
    pthread_mutex_t lock;     /* the guest's: no DMA during (un)map */
    bool mapped;
    uint32_t written;         /* bit p: page p written while mapped */
    uint32_t pending;         /* written since the last sync (static slots) */
} Slot;

typedef struct World {
    VfiSim *sim;
    VfiDirtyPool *pool;       /* parallel syncs of the "sync" thread */
    VfiIommufd *be;           /* shared by both address spaces */
    VfiIommufd *be2;          /* opened and closed by "fd" and "as2" */
    VfiAddressSpace *as1, *as2;
    VfiDevice *dma0;
    Slot slots[NR_SLOTS];
    uint64_t log_sync[AS1_PAGES / 64];      /* "sync"'s log */
    uint64_t log_unmap[AS1_PAGES / 64];     /* "main"'s read-before-unmap log */
    uint64_t log_final[AS1_PAGES / 64];     /* the last sync, after the threads */
    FILE *trace_sink;
    int stop;                 /* atomic */
} World;

static World w;

static void G_GNUC_NORETURN die(const char *who, const char *what, GError *err)
{
    fprintf(stderr, "tsan-threads: %s: %s: %s\n", who, what, err ? err->message : "failed");
    abort();
}

#define CHECK(who, call) \
    do { \
        g_autoptr(GError) err_ = NULL; \
        GError **errp_ = &err_; \
        if (!(call)) { \
            die((who), #call, err_); \
        } \
        (void)errp_; \
    } while (0)

static bool stopping(void)
{
    return g_atomic_int_get(&w.stop);
}

static uint32_t next_rand(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static VfiDirtyLog as1_log(uint64_t *bitmap)
{
    return (VfiDirtyLog){ .base_iova = AS1_BASE, .page_size = PAGE, .bitmap = bitmap,
                          .nr_pages = AS1_PAGES };
}

static void *fake_va(uint64_t iova)
{
    /* The model never touches user memory: any non-NULL pointer will do. */
    return (void *)(uintptr_t)(UINT64_C(0x10000000000) + iova);
}

static uint64_t slot_iova(unsigned s)
{
    return AS1_BASE + s * SLOT_SIZE;
}

/* ---- the device --------------------------------------------------------- */

static void *dma_thread(void *arg)
{
    uint32_t seed = 0x1234567;
    unsigned long *rounds = arg;

    while (!stopping()) {
        unsigned s = next_rand(&seed) % NR_SLOTS, p = next_rand(&seed) % SLOT_PAGES;
        uint64_t iova = slot_iova(s) + p * PAGE;
        g_autoptr(GError) err = NULL;
        bool ok;

        pthread_mutex_lock(&w.slots[s].lock);
        ok = vfi_sim_dma_write(w.sim, "dma0", iova, PAGE, &err);
        if (ok != w.slots[s].mapped) {
            die("dma", w.slots[s].mapped ? "write to a mapped page" :
                "write to an unmapped page succeeded", err);
        }
        if (ok) {
            w.slots[s].written |= 1u << p;
            w.slots[s].pending |= 1u << p;
        }
        pthread_mutex_unlock(&w.slots[s].lock);
        (*rounds)++;
    }
    return NULL;
}

/* ---- the migration thread ------------------------------------------------ */

/* Getters and reports between syncs: each takes the address space's lock. */
static void sync_look_around(VfiContainer *c)
{
    g_autofree VfiDirtyDeviceReport *rep = NULL;
    g_autofree char *blocker = NULL;
    unsigned n = 0;
    VfiHwpt *h = vfi_device_get_hwpt(w.dma0);

    if (!vfi_address_space_dirty_tracking_is_active(w.as1) ||
        !vfi_container_dirty_tracking_is_active(c) || !vfi_hwpt_dirty_tracking_is_on(h) ||
        vfi_device_get_container(w.dma0) != c || vfi_hwpt_device_count(h) != 1) {
        die("sync", "the tracking state of address space 1", NULL);
    }
    rep = vfi_address_space_dirty_report(w.as1, &n);
    blocker = vfi_address_space_migration_blocker(w.as1);
    if (n < 1 || vfi_container_device_count(c) < 1 || vfi_container_hwpt_count(c) < 1 ||
        vfi_address_space_mapping_count(w.as1) < NR_STATIC ||
        vfi_container_dirty_coverage(c, w.dma0, NULL) != VFI_DIRTY_COVERAGE_IOMMU) {
        die("sync", "the state of address space 1", NULL);
    }
}

/* One sync (of the address space when @mode is odd, else of its first
 * container; parallel when @mode & 2) with the device held off the static
 * slots: every page it wrote there since the last sync must be in this
 * one. */
static void sync_once(VfiContainer *c, unsigned mode)
{
    uint64_t bits[AS1_PAGES / 64] = { 0 };
    VfiDirtyLog log = as1_log(bits);
    uint32_t expect[NR_STATIC];

    for (unsigned s = 0; s < NR_STATIC; s++) {
        pthread_mutex_lock(&w.slots[s].lock);
        expect[s] = w.slots[s].pending;
        w.slots[s].pending = 0;
    }
    switch (mode % 4) {
    case 0:
        CHECK("sync", vfi_container_sync_dirty(c, &log, errp_));
        break;
    case 1:
        CHECK("sync", vfi_address_space_sync_dirty(w.as1, &log, errp_));
        break;
    case 2:
        CHECK("sync", vfi_container_sync_dirty_parallel(c, &log, w.pool, errp_));
        break;
    default:
        CHECK("sync", vfi_address_space_sync_dirty_parallel(w.as1, &log, w.pool, errp_));
        break;
    }
    for (unsigned s = NR_STATIC; s-- > 0;) {
        pthread_mutex_unlock(&w.slots[s].lock);
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(bits); i++) {
        w.log_sync[i] |= bits[i];
    }
    for (unsigned s = 0; s < NR_STATIC; s++) {
        uint32_t got = (uint32_t)(bits[s * SLOT_PAGES / 64] >> (s * SLOT_PAGES % 64)) &
                       ((1u << SLOT_PAGES) - 1);

        if (expect[s] & ~got) {
            fprintf(stderr, "tsan-threads: sync: slot %u: pages 0x%x written, 0x%x read\n",
                    s, expect[s], got);
            die("sync", "a page written before the sync is not in it", NULL);
        }
    }
}

static void *sync_thread(void *arg)
{
    uint64_t peek_bits[AS1_PAGES / 64];
    VfiDirtyLog peek = as1_log(peek_bits);
    VfiContainer *c = vfi_address_space_container(w.as1, 0);
    unsigned long *rounds = arg;

    while (!stopping()) {
        sync_once(c, (unsigned)(*rounds % 4));
        /* A query that leaves the bits in place: harmless to the others. */
        CHECK("sync", vfi_container_query_dirty(c, AS1_BASE, NR_STATIC * SLOT_SIZE, &peek,
                                                VFI_DIRTY_QUERY_NO_CLEAR, errp_));
        sync_look_around(c);
        (*rounds)++;
    }
    return NULL;
}

/* ---- the VMM's main thread ------------------------------------------------ */

/* Map or unmap slot @s of address space 1; @dirty: read its bits first. */
static void main_toggle_slot(unsigned s, bool dirty)
{
    VfiDirtyLog log = as1_log(w.log_unmap);
    Slot *slot = &w.slots[s];

    pthread_mutex_lock(&slot->lock);
    if (!slot->mapped) {
        CHECK("main", vfi_address_space_dma_map(w.as1, slot_iova(s), SLOT_SIZE,
                                                fake_va(slot_iova(s)), false, errp_));
    } else if (dirty) {
        CHECK("main", vfi_address_space_dma_unmap_dirty(w.as1, slot_iova(s), SLOT_SIZE,
                                                        &log, 0, errp_));
    } else {
        CHECK("main", vfi_address_space_dma_unmap(w.as1, slot_iova(s), SLOT_SIZE,
                                                  VFI_UNMAP_DISCARD_DIRTY, errp_));
        slot->written = 0;          /* their dirty bits were given up */
    }
    slot->mapped = !slot->mapped;
    pthread_mutex_unlock(&slot->lock);
}

/* A mapping of the container alone, made and dropped again. */
static void main_container_mapping(void)
{
    VfiContainer *c = vfi_device_get_container(w.dma0);
    uint64_t unmapped = 0;

    CHECK("main", vfi_container_dma_map(c, AS1_CONTAINER_IOVA, SLOT_SIZE,
                                        fake_va(AS1_CONTAINER_IOVA), true, errp_));
    CHECK("main", vfi_container_dma_unmap(c, AS1_CONTAINER_IOVA, SLOT_SIZE,
                                          VFI_UNMAP_DISCARD_DIRTY, &unmapped, errp_));
    if (unmapped != SLOT_SIZE) {
        die("main", "container-level unmap", NULL);
    }
}

/* Hot-plug: open a device, attach it (untracked: the VMM opts out, so it may
 * leave while tracking is on), then detach and free it, or free it alone
 * (its address space takes it out). */
static void main_hotplug(unsigned round)
{
    static const VfiAttachOptions opt_out =
        VFI_ATTACH_OPTIONS_INIT(.no_iommu_dirty_tracking = true);
    const char *name = round % 2 ? "hot1" : "hot0";
    g_autoptr(GError) err = NULL;
    VfiDevice *dev = vfi_device_open_sysfs(vfi_sim_device_sysfs_path(w.sim, name), &err);

    if (!dev) {
        die("main", "open of a hot-plugged device", err);
    }
    CHECK("main", vfi_address_space_attach_device(w.as1, w.be, dev, &opt_out, errp_));
    if (!vfi_device_get_container(dev) || vfi_device_dma_logging_active(dev)) {
        die("main", "the hot-plugged device's state", NULL);
    }
    if (round % 4 < 2) {
        CHECK("main", vfi_address_space_detach_device(w.as1, dev, errp_));
    }
    vfi_device_free(dev);
}

static void *main_thread(void *arg)
{
    unsigned long *rounds = arg;

    while (!stopping()) {
        unsigned long i = *rounds;

        main_toggle_slot(NR_STATIC + i % (NR_SLOTS - NR_STATIC),
                         i / (NR_SLOTS - NR_STATIC) % 2);
        if (i % 3 == 0) {
            main_hotplug(i / 3);
        } else {
            main_container_mapping();
        }
        (*rounds)++;
    }
    return NULL;
}

/* ---- the second address space on the same backend --------------------- */

/* One cycle of a device in address space 2: its container is made (the
 * address space's mapping replayed), tracked, written, synced, torn down. */
static void as2_cycle(void)
{
    uint64_t bits[1] = { 0 };
    VfiDirtyLog log = { .base_iova = AS2_BASE, .page_size = PAGE, .bitmap = bits,
                        .nr_pages = 64 };
    g_autoptr(GError) err = NULL;
    VfiDevice *dev = vfi_device_open_sysfs(vfi_sim_device_sysfs_path(w.sim, "c0"), &err);

    if (!dev) {
        die("as2", "open", err);
    }
    CHECK("as2", vfi_address_space_attach_device(w.as2, w.be, dev, NULL, errp_));
    CHECK("as2", vfi_address_space_dma_map(w.as2, AS2_BASE + SLOT_SIZE, SLOT_SIZE,
                                           fake_va(AS2_BASE + SLOT_SIZE), false, errp_));
    CHECK("as2", vfi_address_space_dirty_tracking_start(w.as2, errp_));
    CHECK("as2", vfi_sim_dma_write(w.sim, "c0", AS2_BASE + 3 * PAGE, PAGE, errp_));
    CHECK("as2", vfi_sim_dma_write(w.sim, "c0", AS2_BASE + SLOT_SIZE, PAGE, errp_));
    CHECK("as2", vfi_address_space_sync_dirty(w.as2, &log, errp_));
    CHECK("as2", vfi_address_space_dma_unmap_dirty(w.as2, AS2_BASE + SLOT_SIZE, SLOT_SIZE,
                                                   &log, 0, errp_));
    if (bits[0] != ((UINT64_C(1) << 3) | (UINT64_C(1) << SLOT_PAGES))) {
        die("as2", "the pages written are not the pages read", NULL);
    }
    CHECK("as2", vfi_address_space_dirty_tracking_stop(w.as2, errp_));
    CHECK("as2", vfi_address_space_detach_device(w.as2, dev, errp_));
    if (vfi_address_space_container_count(w.as2) != 0 || vfi_iommufd_users(w.be) < 2) {
        die("as2", "the containers and the backend's users", NULL);
    }
    vfi_device_free(dev);
}

/* A user of the second backend: its fd is open while connected. */
static void use_be2(const char *who)
{
    uint32_t ioas = 0;

    CHECK(who, vfi_iommufd_connect(w.be2, errp_));
    if (vfi_iommufd_get_fd(w.be2) < 0 || vfi_iommufd_users(w.be2) < 1) {
        die(who, "a connected backend without an fd", NULL);
    }
    CHECK(who, vfi_iommufd_ioas_alloc(w.be2, &ioas, errp_));
    CHECK(who, vfi_iommufd_destroy(w.be2, ioas, errp_));
    vfi_iommufd_disconnect(w.be2);
}

static void *as2_thread(void *arg)
{
    unsigned long *rounds = arg;

    while (!stopping()) {
        as2_cycle();
        use_be2("as2");
        (*rounds)++;
    }
    return NULL;
}

static void *fd_thread(void *arg)
{
    unsigned long *rounds = arg;

    while (!stopping()) {
        use_be2("fd");
        /* Switching an event while the other threads emit it. */
        vfi_trace_enable("vfi_kernel_ioctl", *rounds % 2 == 0);
        (*rounds)++;
    }
    vfi_trace_enable("vfi_kernel_ioctl", false);
    return NULL;
}

/* ---- set-up, run, check --------------------------------------------------- */

static void setup(void)
{
    g_autoptr(GError) err = NULL;

    w.sim = vfi_sim_new(&err);
    if (!w.sim || !vfi_sim_load_topology_data(w.sim, topology, &err)) {
        die("setup", "the kernel model", err);
    }
    vfi_sim_install(w.sim);
    w.trace_sink = fopen("/dev/null", "w");
    vfi_trace_set_output(w.trace_sink);
    w.pool = vfi_dirty_pool_new(2, &err);
    if (!w.pool || !vfi_dirty_pool_set_split_alignment(w.pool, 4 * PAGE, &err)) {
        die("setup", "dirty pool", err);
    }
    w.be = vfi_iommufd_new();
    w.be2 = vfi_iommufd_new();
    w.as1 = vfi_address_space_new(&w.as1);
    w.as2 = vfi_address_space_new(&w.as2);
    w.dma0 = vfi_device_open_sysfs(vfi_sim_device_sysfs_path(w.sim, "dma0"), &err);
    if (!w.dma0) {
        die("setup", "open of dma0", err);
    }
    CHECK("setup", vfi_address_space_attach_device(w.as1, w.be, w.dma0, NULL, errp_));
    for (unsigned s = 0; s < NR_SLOTS; s++) {
        pthread_mutex_init(&w.slots[s].lock, NULL);
        if (s < NR_STATIC) {
            CHECK("setup", vfi_address_space_dma_map(w.as1, slot_iova(s), SLOT_SIZE,
                                                     fake_va(slot_iova(s)), false, errp_));
            w.slots[s].mapped = true;
        }
    }
    /* Remembered only (no container yet): replayed into each new one. */
    CHECK("setup", vfi_address_space_dma_map(w.as2, AS2_BASE, SLOT_SIZE, fake_va(AS2_BASE),
                                             false, errp_));
    CHECK("setup", vfi_address_space_dirty_tracking_start(w.as1, errp_));
}

/* Every page written while mapped is in one of the logs. */
static void check_pages(void)
{
    VfiDirtyLog log = as1_log(w.log_final);
    unsigned written = 0, missing = 0;

    CHECK("check", vfi_address_space_sync_dirty(w.as1, &log, errp_));
    for (unsigned s = 0; s < NR_SLOTS; s++) {
        for (unsigned p = 0; p < SLOT_PAGES; p++) {
            unsigned bit = s * SLOT_PAGES + p;
            uint64_t m = UINT64_C(1) << (bit % 64);
            bool found = (w.log_sync[bit / 64] | w.log_unmap[bit / 64] |
                          w.log_final[bit / 64]) & m;

            if (!(w.slots[s].written & (1u << p))) {
                continue;
            }
            written++;
            if (!found) {
                fprintf(stderr, "tsan-threads: page 0x%" G_GINT64_MODIFIER "x was written "
                        "while mapped and is in no log\n", slot_iova(s) + p * PAGE);
                missing++;
            }
        }
    }
    printf("pages written while mapped and not discarded: %u, missing from the logs: %u\n",
           written, missing);
    if (missing || !written) {
        die("check", "dirty pages", NULL);
    }
}

static void teardown(void)
{
    CHECK("teardown", vfi_address_space_dirty_tracking_stop(w.as1, errp_));
    for (unsigned s = 0; s < NR_SLOTS; s++) {
        if (w.slots[s].mapped) {
            CHECK("teardown", vfi_address_space_dma_unmap(w.as1, slot_iova(s), SLOT_SIZE,
                                                          0, errp_));
        }
        pthread_mutex_destroy(&w.slots[s].lock);
    }
    CHECK("teardown", vfi_address_space_dma_unmap(w.as2, AS2_BASE, SLOT_SIZE, 0, errp_));
    CHECK("teardown", vfi_address_space_detach_device(w.as1, w.dma0, errp_));
    vfi_device_free(w.dma0);
    CHECK("teardown", vfi_address_space_free(w.as1, errp_));
    CHECK("teardown", vfi_address_space_free(w.as2, errp_));
    CHECK("teardown", vfi_iommufd_free(w.be, errp_));
    CHECK("teardown", vfi_iommufd_free(w.be2, errp_));
    if (vfi_sim_live_objects(w.sim) || vfi_sim_open_fds(w.sim)) {
        die("teardown", "objects or fds left in the kernel model", NULL);
    }
    vfi_sim_free(w.sim);
    vfi_dirty_pool_free(w.pool);
    vfi_trace_set_output(NULL);
    fclose(w.trace_sink);
}

int main(int argc, char **argv)
{
    static const struct { const char *name; void *(*fn)(void *); } threads[] = {
        { "sync", sync_thread }, { "dma", dma_thread }, { "main", main_thread },
        { "as2", as2_thread }, { "fd", fd_thread },
    };
    enum { N = G_N_ELEMENTS(threads) };
    double seconds = argc > 1 ? g_ascii_strtod(argv[1], NULL) : 2.0;
    unsigned long rounds[N] = { 0 };
    pthread_t tid[N];

    setup();
    for (unsigned i = 0; i < N; i++) {
        if (pthread_create(&tid[i], NULL, threads[i].fn, &rounds[i])) {
            die("main", "pthread_create", NULL);
        }
    }
    g_usleep((gulong)(seconds * G_USEC_PER_SEC));
    g_atomic_int_set(&w.stop, 1);
    for (unsigned i = 0; i < N; i++) {
        pthread_join(tid[i], NULL);
        printf("thread %-5s %lu rounds\n", threads[i].name, rounds[i]);
        if (rounds[i] < MIN_ROUNDS) {
            die(threads[i].name, "too few rounds to overlap the others", NULL);
        }
    }
    check_pages();
    teardown();
    printf("ok\n");
    return 0;
}
