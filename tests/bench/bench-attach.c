/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Benchmark: userspace auto domains at scale (docs/benchmarks.md).
 *
 * Per case: N devices spread round-robin over K IOMMU instances, every
 * other instance with dirty tracking, attached one by one into one guest
 * address space on the simulated kernel, then detached; R rounds. The
 * instances of each kind report the same hw info (as the IOMMUs of one
 * model on a real host do: the kernel tells them apart only by refusing a
 * device of one instance on a HWPT of another); --distinct-hw-info gives
 * each instance its own vendor data instead (the model's default).
 *
 * Measured per case: the attach ioctls per device, the library's time per
 * attach beside the time of the ioctls it issued (same run), and the time
 * per attach of the last tenth of the devices over the first tenth.
 * Targets (same hw info only): <= 1.1 attach ioctls per device, last tenth
 * within 2x of the first, library/ioctls <= 2. A miss exits 1 in a full
 * run; --short (suite "bench") fails only on an error or a leak.
 *
 *   bench-attach [--devices N] [--iommus K] [--rounds R] [--distinct-hw-info]
 *                [--short] [--json]
 */
#include <getopt.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "vfio-iommufd/kernel.h"
#include "timed-kernel.h"
#include "vfio-iommufd-sim/sim.h"
#include "vfio-iommufd/container.h"
#include "bench-stats.h"

#define TARGET_IOCTLS 1.1
#define TARGET_TENTHS 2.0
#define TARGET_LIB 2.0

typedef struct Case {
    unsigned iommus, devices, rounds;
    bool distinct;
    /* results */
    double ioctls_per_attach, tenths, total_tenths, lib_over_ioctls, lib_us, ioctl_us;
    double first_us, last_us;      /* the library's own time per attach */
    unsigned attempts_max, hwpts, leaked;
} Case;

static uint64_t now_ns(void)
{
    return bench_now_ns(CLOCK_MONOTONIC);
}

static void die(GError *err)
{
    fprintf(stderr, "bench-attach: %s\n", err->message);
    exit(1);
}

static VfiSim *make_sim(const Case *k)
{
    g_autoptr(GError) err = NULL;
    VfiSim *sim = vfi_sim_new(&err);

    if (!sim) {
        die(err);
    }
    for (unsigned i = 0; i < k->iommus; i++) {
        g_autofree char *name = g_strdup_printf("iommu%u", i);
        VfiSimIommuConfig cfg = { .dirty_tracking = (i % 2) == 0 };

        if (!k->distinct) {
            /* one model per kind: the same vendor data on every instance */
            cfg.cap_reg = UINT64_C(0x00d2008c40660462);
            cfg.ecap_reg = UINT64_C(0x0000000000f050da) | ((uint64_t)(i % 2 + 1) << 32);
        }
        if (!vfi_sim_add_iommu(sim, name, &cfg, &err)) {
            die(err);
        }
    }
    for (unsigned i = 0; i < k->devices; i++) {
        g_autofree char *name = g_strdup_printf("dev%u", i);
        g_autofree char *iommu = g_strdup_printf("iommu%u", i % k->iommus);

        if (!vfi_sim_add_device(sim, name, iommu, false, &err)) {
            die(err);
        }
    }
    vfi_sim_install(sim);
    return sim;
}

/* One round: attach every device (timed one by one), detach them all. */
static void run_round(Case *k, TimedKernel *tk, VfiIommufd *be, VfiDevice **devs,
                      uint64_t *lib_ns, uint64_t *io_ns, uint64_t *attempts)
{
    g_autoptr(GError) err = NULL;
    VfiAddressSpace *as = vfi_address_space_new(NULL);

    for (unsigned i = 0; i < k->devices; i++) {
        /* Bind outside the timed window: binding is not placement. */
        if (!vfi_device_is_bound(devs[i]) && !vfi_device_bind(devs[i], be, &err)) {
            die(err);
        }
        tk->ioctl_ns = 0;
        uint64_t t0 = now_ns();
        if (!vfi_address_space_attach_device(as, be, devs[i], NULL, &err)) {
            die(err);
        }
        lib_ns[i] = now_ns() - t0;
        io_ns[i] = tk->ioctl_ns;
        unsigned a = vfi_device_get_attach_attempts(devs[i]);
        *attempts += a;
        k->attempts_max = MAX(k->attempts_max, a);
    }
    k->hwpts = 0;
    for (unsigned i = 0; i < vfi_address_space_container_count(as); i++) {
        k->hwpts += vfi_container_hwpt_count(vfi_address_space_container(as, i));
    }
    for (unsigned i = 0; i < k->devices; i++) {
        if (!vfi_address_space_detach_device(as, devs[i], &err)) {
            die(err);
        }
    }
    if (!vfi_address_space_free(as, &err)) {
        die(err);
    }
}

static uint64_t sum(const uint64_t *v, unsigned from, unsigned to)
{
    uint64_t s = 0;

    for (unsigned i = from; i < to; i++) {
        s += v[i];
    }
    return s;
}

/* One round's figures: the library's own time per attach (its attach time
 * less its ioctls' time) of the last tenth of the devices over the first
 * tenth, the same for the whole attach time, and library/ioctls. */
typedef struct RoundStats {
    double tenths, total_tenths, lib, first_us, last_us;
} RoundStats;

static RoundStats round_stats(const Case *k, const uint64_t *lib_ns, const uint64_t *io_ns)
{
    unsigned n = k->devices, t = MAX(n / 10, 1u);
    uint64_t f = sum(lib_ns, 0, t), l = sum(lib_ns, n - t, n), io = sum(io_ns, 0, n);
    double fo = (double)f - sum(io_ns, 0, t), lo = (double)l - sum(io_ns, n - t, n);
    RoundStats s = {
        .tenths = fo > 0 ? lo / fo : 0,
        .total_tenths = f ? (double)l / f : 0,
        .lib = io ? (double)sum(lib_ns, 0, n) / io : 0,
        .first_us = fo / 1000.0 / t,
        .last_us = lo / 1000.0 / t,
    };
    return s;
}

/* The median over @n rounds of the member at @off of RoundStats. */
static double median_of(RoundStats *rs, unsigned n, size_t off)
{
    g_autofree double *v = g_new(double, n);

    for (unsigned i = 0; i < n; i++) {
        v[i] = *(double *)((char *)&rs[i] + off);
    }
    return median(v, n);
}

static void run_case(Case *k)
{
    g_autoptr(GError) err = NULL;
    VfiSim *sim = make_sim(k);
    TimedKernel tk = { 0 };
    VfiDevice **devs = g_new0(VfiDevice *, k->devices);
    uint64_t *lib_ns = g_new0(uint64_t, k->devices), *io_ns = g_new0(uint64_t, k->devices);
    RoundStats *rs = g_new0(RoundStats, k->rounds);
    uint64_t attempts = 0, lib_total = 0, io_total = 0;
    VfiIommufd *be = vfi_iommufd_new();

    timed_kernel_install(&tk, CLOCK_MONOTONIC);
    tk.timing = true;
    for (unsigned i = 0; i < k->devices; i++) {
        g_autofree char *name = g_strdup_printf("dev%u", i);

        if (!(devs[i] = vfi_device_open_sysfs(vfi_sim_device_sysfs_path(sim, name), &err))) {
            die(err);
        }
    }
    if (!vfi_iommufd_connect(be, &err)) {
        die(err);
    }
    for (unsigned r = 0; r < k->rounds; r++) {
        run_round(k, &tk, be, devs, lib_ns, io_ns, &attempts);
        rs[r] = round_stats(k, lib_ns, io_ns);
        lib_total += sum(lib_ns, 0, k->devices);
        io_total += sum(io_ns, 0, k->devices);
    }
    for (unsigned i = 0; i < k->devices; i++) {
        vfi_device_free(devs[i]);
    }
    vfi_iommufd_disconnect(be);
    if (!vfi_iommufd_free(be, &err)) {
        die(err);
    }
    timed_kernel_uninstall(&tk);
    k->ioctls_per_attach = (double)attempts / ((uint64_t)k->devices * k->rounds);
    k->tenths = median_of(rs, k->rounds, offsetof(RoundStats, tenths));
    k->total_tenths = median_of(rs, k->rounds, offsetof(RoundStats, total_tenths));
    k->lib_over_ioctls = median_of(rs, k->rounds, offsetof(RoundStats, lib));
    k->first_us = median_of(rs, k->rounds, offsetof(RoundStats, first_us));
    k->last_us = median_of(rs, k->rounds, offsetof(RoundStats, last_us));
    k->lib_us = lib_total / 1000.0 / ((uint64_t)k->devices * k->rounds);
    k->ioctl_us = io_total / 1000.0 / ((uint64_t)k->devices * k->rounds);
    k->leaked = vfi_sim_live_objects(sim);
    vfi_sim_free(sim);
    g_free(devs), g_free(lib_ns), g_free(io_ns);
    g_free(rs);
}

static bool met_ioctls(const Case *k) { return k->ioctls_per_attach <= TARGET_IOCTLS; }
static bool met_tenths(const Case *k) { return k->tenths <= TARGET_TENTHS; }
static bool met_lib(const Case *k) { return k->lib_over_ioctls <= TARGET_LIB; }

static bool case_met(const Case *k)
{
    return k->distinct || (met_ioctls(k) && met_tenths(k) && met_lib(k));
}

static const char *verdict(const Case *k, bool met)
{
    return k->distinct ? "n/a" : met ? "met" : "MISSED";
}

static void print_text(const Case *k)
{
    printf("%u devices over %u IOMMU instances (%s hw info per kind), %u round(s): "
           "%u HWPTs\n", k->devices, k->iommus, k->distinct ? "distinct" : "the same",
           k->rounds, k->hwpts);
    printf("  attach ioctls per device %.3f (max %u)            target <= %.1f: %s\n",
           k->ioctls_per_attach, k->attempts_max, TARGET_IOCTLS, verdict(k, met_ioctls(k)));
    printf("  library's own time per attach: first tenth %.2f us, last tenth %.2f us, "
           "ratio %.2f  target <= %.1f: %s\n", k->first_us, k->last_us, k->tenths,
           TARGET_TENTHS, verdict(k, met_tenths(k)));
    printf("  whole attach (with the model's ioctls): last tenth / first tenth %.2f\n",
           k->total_tenths);
    printf("  per attach: library %.2f us, ioctls alone %.2f us, library/ioctls %.2f  "
           "target <= %.1f: %s\n", k->lib_us, k->ioctl_us, k->lib_over_ioctls, TARGET_LIB,
           verdict(k, met_lib(k)));
    printf("  kernel objects left: %u\n", k->leaked);
}

static void print_json(const Case *cases, unsigned n)
{
    printf("{\"cases\": [");
    for (unsigned i = 0; i < n; i++) {
        const Case *k = &cases[i];

        printf("%s\n  {\"iommus\": %u, \"devices\": %u, \"rounds\": %u, \"hw_info\": \"%s\", "
               "\"ioctls_per_attach\": %.3f, \"last_tenth_over_first_tenth\": %.3f, "
               "\"lib_over_ioctls\": %.3f, \"total_last_tenth_over_first_tenth\": %.3f, "
               "\"attempts_max\": %u, \"hwpts\": %u, "
               "\"first_tenth_us\": %.3f, \"last_tenth_us\": %.3f, "
               "\"lib_us_per_attach\": %.3f, \"ioctl_us_per_attach\": %.3f, "
               "\"targets\": \"%s\", \"leaked_objects\": %u}", i ? "," : "", k->iommus,
               k->devices, k->rounds, k->distinct ? "distinct" : "same",
               k->ioctls_per_attach, k->tenths, k->lib_over_ioctls, k->total_tenths,
               k->attempts_max,
               k->hwpts, k->first_us, k->last_us, k->lib_us, k->ioctl_us,
               k->distinct ? "n/a" : case_met(k) ? "met" : "missed", k->leaked);
    }
    printf("\n]}\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "devices", required_argument, NULL, 'd' },
        { "iommus", required_argument, NULL, 'i' },
        { "rounds", required_argument, NULL, 'r' },
        { "distinct-hw-info", no_argument, NULL, 'x' },
        { "short", no_argument, NULL, 's' },
        { "json", no_argument, NULL, 'j' },
        { NULL, 0, NULL, 0 },
    };
    unsigned ndev = 1000, niommu = 0, rounds = 5, ncases = 0;
    bool json = false, shrt = false, distinct = false, ok = true;
    unsigned sizes[] = { 10, 100, 1000 };
    Case cases[G_N_ELEMENTS(sizes)];
    int opt;

    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case 'd': ndev = strtoul(optarg, NULL, 0); break;
        case 'i': niommu = strtoul(optarg, NULL, 0); break;
        case 'r': rounds = strtoul(optarg, NULL, 0); break;
        case 'x': distinct = true; break;
        case 's': shrt = true; break;
        case 'j': json = true; break;
        default:
            fprintf(stderr, "usage: bench-attach [--devices N] [--iommus K] [--rounds R] "
                    "[--distinct-hw-info] [--short] [--json]\n");
            return 2;
        }
    }
    if (shrt) {
        ndev = 200, rounds = 1;
    }
    if (!ndev || !rounds) {
        fprintf(stderr, "bench-attach: counts must be positive\n");
        return 2;
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(sizes); i++) {
        unsigned k = niommu ? niommu : sizes[i];

        if ((niommu && i) || (shrt && k > ndev)) {
            continue;
        }
        cases[ncases] = (Case){ .iommus = k, .devices = ndev, .rounds = rounds,
                                .distinct = distinct };
        run_case(&cases[ncases]);
        ok &= cases[ncases].leaked == 0 && (shrt || case_met(&cases[ncases]));
        if (!json) {
            print_text(&cases[ncases]);
        }
        ncases++;
    }
    if (json) {
        print_json(cases, ncases);
    }
    return ok ? 0 : 1;
}
