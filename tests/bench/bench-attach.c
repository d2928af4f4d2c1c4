/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Benchmark: userspace auto domains at scale.
 *
 * 256 devices spread round-robin over 8 IOMMU instances ("classes"), half
 * of them with dirty tracking, attached one by one into one guest address
 * space on the simulated kernel. Prints the attach attempts per device
 * (histogram, mean, max) and the library's time per attach beside the time
 * spent in the (simulated) kernel's ioctls it issued, measured side by side
 * in the same run, as a ratio.
 *
 *   bench-attach [--devices N] [--classes K] [--rounds R] [--json]
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "vfio-iommufd/kernel.h"
#include "timed-kernel.h"
#include "vfio-iommufd-sim/sim.h"
#include "vfio-iommufd/container.h"

static uint64_t now_ns(void)
{
    return bench_now_ns(CLOCK_MONOTONIC);
}

static void die(GError *err)
{
    fprintf(stderr, "bench-attach: %s\n", err->message);
    exit(1);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "devices", required_argument, NULL, 'd' },
        { "classes", required_argument, NULL, 'c' },
        { "rounds", required_argument, NULL, 'r' },
        { "json", no_argument, NULL, 'j' },
        { NULL, 0, NULL, 0 },
    };
    unsigned ndev = 256, nclass = 8, rounds = 5;
    bool json = false;
    int opt;

    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case 'd': ndev = strtoul(optarg, NULL, 0); break;
        case 'c': nclass = strtoul(optarg, NULL, 0); break;
        case 'r': rounds = strtoul(optarg, NULL, 0); break;
        case 'j': json = true; break;
        default:
            fprintf(stderr, "usage: bench-attach [--devices N] [--classes K] [--rounds R] [--json]\n");
            return 2;
        }
    }
    if (!ndev || !nclass || !rounds) {
        fprintf(stderr, "bench-attach: counts must be positive\n");
        return 2;
    }

    g_autoptr(GError) err = NULL;
    g_autoptr(VfiSim) sim = vfi_sim_new(&err);
    if (!sim) {
        die(err);
    }
    for (unsigned k = 0; k < nclass; k++) {
        g_autofree char *name = g_strdup_printf("iommu%u", k);
        VfiSimIommuConfig cfg = { .dirty_tracking = (k % 2) == 0 };
        if (!vfi_sim_add_iommu(sim, name, &cfg, &err)) {
            die(err);
        }
    }
    for (unsigned i = 0; i < ndev; i++) {
        g_autofree char *name = g_strdup_printf("dev%u", i);
        g_autofree char *iommu = g_strdup_printf("iommu%u", i % nclass);
        if (!vfi_sim_add_device(sim, name, iommu, false, &err)) {
            die(err);
        }
    }
    vfi_sim_install(sim);

    TimedKernel tk = { 0 };
    timed_kernel_install(&tk, CLOCK_MONOTONIC);
    tk.timing = true;

    VfiDevice **devs = g_new0(VfiDevice *, ndev);
    g_autofree unsigned *hist = g_new0(unsigned, nclass + 2);
    uint64_t lib_ns = 0, bare_ns = 0, attaches = 0, attempts_total = 0;
    unsigned attempts_max = 0;

    for (unsigned i = 0; i < ndev; i++) {
        g_autofree char *name = g_strdup_printf("dev%u", i);
        devs[i] = vfi_device_open_sysfs(vfi_sim_device_sysfs_path(sim, name), &err);
        if (!devs[i]) {
            die(err);
        }
    }
    VfiIommufd *be = vfi_iommufd_new();
    if (!vfi_iommufd_connect(be, &err)) {
        die(err);
    }
    for (unsigned r = 0; r < rounds; r++) {
        VfiAddressSpace *as = vfi_address_space_new(NULL);
        for (unsigned i = 0; i < ndev; i++) {
            /* Bind outside the timed window: binding is not placement. */
            if (!vfi_device_is_bound(devs[i]) && !vfi_device_bind(devs[i], be, &err)) {
                die(err);
            }
            tk.ioctl_ns = 0;
            uint64_t t0 = now_ns();
            if (!vfi_address_space_attach_device(as, be, devs[i], NULL, &err)) {
                die(err);
            }
            lib_ns += now_ns() - t0;
            bare_ns += tk.ioctl_ns;
            attaches++;
            unsigned a = vfi_device_get_attach_attempts(devs[i]);
            attempts_total += a;
            attempts_max = MAX(attempts_max, a);
            if (r == 0) {
                hist[MIN(a, nclass + 1)]++;
            }
        }
        for (unsigned i = 0; i < ndev; i++) {
            if (!vfi_address_space_detach_device(as, devs[i], &err)) {
                die(err);
            }
        }
        if (!vfi_address_space_free(as, &err)) {
            die(err);
        }
    }
    for (unsigned i = 0; i < ndev; i++) {
        vfi_device_free(devs[i]);
    }
    g_free(devs);
    vfi_iommufd_disconnect(be);
    if (!vfi_iommufd_free(be, &err)) {
        die(err);
    }
    timed_kernel_uninstall(&tk);

    double mean = (double)attempts_total / attaches;
    double lib_us = lib_ns / 1000.0 / attaches;
    double bare_us = bare_ns / 1000.0 / attaches;
    double ratio = bare_ns ? (double)lib_ns / bare_ns : 0;
    unsigned left = vfi_sim_live_objects(sim);

    if (json) {
        printf("{\"devices\": %u, \"classes\": %u, \"rounds\": %u, \"attempts_mean\": %.3f, "
               "\"attempts_max\": %u, \"lib_us_per_attach\": %.3f, "
               "\"ioctl_us_per_attach\": %.3f, \"lib_over_ioctls\": %.3f, "
               "\"leaked_objects\": %u}\n",
               ndev, nclass, rounds, mean, attempts_max, lib_us, bare_us, ratio, left);
    } else {
        printf("auto domains: %u devices over %u IOMMU classes (half dirty-capable), "
               "%u round(s)\n", ndev, nclass, rounds);
        printf("  attach attempts per device (first round):\n");
        for (unsigned a = 0; a <= nclass + 1; a++) {
            if (hist[a]) {
                printf("    %2u%s attempt(s): %u device(s)\n", a, a == nclass + 1 ? "+" : " ",
                       hist[a]);
            }
        }
        printf("  mean %.3f, max %u attempts per attach\n", mean, attempts_max);
        printf("  per attach: library %.2f us, ioctls alone %.2f us, library/ioctls %.2f\n",
               lib_us, bare_us, ratio);
        printf("  kernel objects left: %u\n", left);
    }
    return left == 0 ? 0 : 1;
}
