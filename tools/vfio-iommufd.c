/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: the command-line tool.
 *
 * With no argument it runs the demo on a built-in heterogeneous topology of
 * the simulated kernel: plug every device into one guest address space,
 * map guest memory, hot-unplug and re-plug a device, tear everything down,
 * run a migration round of dirty tracking (start, simulated DMA from every
 * device, sync into a log of guest RAM, stop: per device its coverage and
 * how many of the pages it wrote were found dirty, and the migration-blocker
 * message), and print what happened. --topology FILE uses another topology, --json
 * prints one JSON object, --device PATH|BDF (repeatable) runs the same flow
 * on the real kernel with devices already bound to vfio-pci.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <linux/iommufd.h>

#include "vfio-iommufd/iommufd.h"
#include "vfio-iommufd-sim/sim.h"
#include "vfio-iommufd/container.h"
#include "vfio-iommufd/device.h"
#include "vfio-iommufd/dirty.h"
#include "demo-report.h"

#define EXIT_USAGE 2

/* Two IOMMUs with dirty tracking, one without, an mdev, a device whose VMM
 * opts out of IOMMU dirty tracking, a VF that logs its own DMA (and whose
 * VMM prefers that), and an mdev that logs its own DMA. */
static const char builtin_topology[] =
    "[iommu dmar0]\n"
    "dirty-tracking=true\n"
    "[iommu dmar1]\n"
    "dirty-tracking=false\n"
    "[iommu dmar2]\n"
    "dirty-tracking=true\n"
    "[device nic0]\n"
    "iommu=dmar0\n"
    "[device gpu0]\n"
    "iommu=dmar1\n"
    "[device nic1]\n"
    "iommu=dmar0\n"
    "[device vgpu0]\n"
    "mdev=true\n"
    "[device nvme0]\n"
    "iommu=dmar2\n"
    "[device gpu1]\n"
    "iommu=dmar1\n"
    "[device nic2]\n"
    "iommu=dmar0\n"
    "want-dirty-tracking=false\n"
    "[device vf0]\n"
    "iommu=dmar1\n"
    "dma-logging=true\n"
    "prefer-device-logging=true\n"
    "[device vgpu1]\n"
    "mdev=true\n"
    "dma-logging=true\n";

/* Guest memory of the demo: low RAM below the 32-bit hole and high RAM. */
#define DEMO_LOW_IOVA   UINT64_C(0x0)
#define DEMO_LOW_SIZE   (UINT64_C(64) << 20)
#define DEMO_HIGH_IOVA  UINT64_C(0x100000000)
#define DEMO_HIGH_SIZE  (UINT64_C(64) << 20)

typedef struct DemoOptions {
    bool json;
    const char *topology;
    GPtrArray *devices;   /* --device arguments */
} DemoOptions;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: vfio-iommufd [--json] [--topology FILE]\n"
            "       vfio-iommufd [--json] --device PATH|BDF [--device ...]\n"
            "\n"
            "Runs the passthrough demo: plug every device into one guest address\n"
            "space (userspace auto domains), map guest memory, run a migration\n"
            "round of dirty tracking (start, DMA from every device, sync, stop),\n"
            "hot-unplug and re-plug a device, tear down, and print containers,\n"
            "HWPTs, attach attempts, dirty-tracking coverage (IOMMU, device\n"
            "logging or none), the dirty pages found per device, the migration\n"
            "blocker and the kernel objects left.\n"
            "\n"
            "  --topology FILE  simulated kernel topology (glib key file) instead of\n"
            "                   the built-in one\n"
            "  --device X       a device bound to vfio-pci (sysfs path or PCI address):\n"
            "                   run on the real kernel instead of the simulated one\n"
            "  --json           print one JSON object\n"
            "  --help           this text\n");
}

static bool read_bool(GKeyFile *kf, const char *name, const char *key, bool *out,
                      GError **errp)
{
    g_autofree char *group = g_strdup_printf("device %s", name);
    g_autoptr(GError) err = NULL;
    gboolean v;

    if (!g_key_file_has_key(kf, group, key, NULL)) {
        return true;
    }
    v = g_key_file_get_boolean(kf, group, key, &err);
    if (err) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "[device %s] %s: %s", name, key, err->message);
        return false;
    }
    *out = v;
    return true;
}

/* The VMM's wishes per device live in the topology file beside the
 * kernel's facts: want-dirty-tracking (default true) and
 * prefer-device-logging (default true: a device that logs its own DMA is
 * tracked that way, the finest and cheapest tracking). */
static bool read_wishes(GKeyFile *kf, const char *name, DemoDevice *d, GError **errp)
{
    d->want_dirty = true;
    d->prefer_logging = true;
    return read_bool(kf, name, "want-dirty-tracking", &d->want_dirty, errp) &&
           read_bool(kf, name, "prefer-device-logging", &d->prefer_logging, errp);
}

static bool plug(DemoReport *r, VfiAddressSpace *as, VfiIommufd *be, DemoDevice *d,
                 GError **errp)
{
    VfiAttachOptions opts = {
        .no_iommu_dirty_tracking = !d->want_dirty,
        .prefer_device_dirty_logging = d->prefer_logging,
    };

    if (!vfi_address_space_attach_device(as, be, d->dev, &opts, errp)) {
        return false;
    }
    VfiHwpt *hwpt = vfi_device_get_hwpt(d->dev);
    if (hwpt) {
        demo_report_log(r, "plug %s: HWPT %u (%s) after %u attach attempt(s), IOAS %u",
                        d->name, vfi_hwpt_get_id(hwpt),
                        vfi_hwpt_get_flags(hwpt) & IOMMU_HWPT_ALLOC_DIRTY_TRACKING ?
                        "dirty-tracking" : "plain",
                        vfi_device_get_attach_attempts(d->dev),
                        vfi_container_get_ioas_id(vfi_device_get_container(d->dev)));
    } else {
        demo_report_log(r, "plug %s: mdev attached to IOAS %u", d->name,
                        vfi_container_get_ioas_id(vfi_device_get_container(d->dev)));
    }
    return true;
}

static void record_coverage(DemoReport *r)
{
    for (guint i = 0; i < r->devices->len; i++) {
        DemoDevice *d = &g_array_index(r->devices, DemoDevice, i);
        VfiContainer *c = vfi_device_get_container(d->dev);

        d->mdev = vfi_device_is_mdev(d->dev);
        d->coverage = c ? vfi_container_dirty_coverage(c, d->dev, &d->why)
                        : VFI_DIRTY_COVERAGE_NONE;
    }
}

/* Pick the device to hot-unplug and re-plug: the first physical device that
 * shares its HWPT with another device (so the HWPT survives and the re-plug
 * shows a reuse), else the first device. */
static DemoDevice *pick_replug(DemoReport *r)
{
    for (guint i = 0; i < r->devices->len; i++) {
        DemoDevice *d = &g_array_index(r->devices, DemoDevice, i);
        VfiHwpt *h = vfi_device_get_hwpt(d->dev);
        if (h && vfi_hwpt_device_count(h) > 1) {
            return d;
        }
    }
    return r->devices->len ? &g_array_index(r->devices, DemoDevice, 0) : NULL;
}

/* Pages device @i writes in the migration round: i * 7 + k * 97 of low RAM. */
#define DEMO_PAGES_PER_DEVICE 8

static uint64_t demo_page(unsigned i, unsigned k)
{
    return (uint64_t)i * 7 + (uint64_t)k * 97;
}

/*
 * One migration round: start tracking, every device writes its own pages
 * (simulated DMA: it marks the trackers covering that device only), sync
 * into a log covering guest RAM, stop, count per device the pages found.
 */
static bool migration_round(DemoReport *r, VfiAddressSpace *as, VfiSim *sim,
                            GError **errp)
{
    VfiDirtyLog log = {
        .base_iova = 0,
        .page_size = 4096,
        .nr_pages = (DEMO_HIGH_IOVA + DEMO_HIGH_SIZE) / 4096,
    };
    g_autofree uint64_t *bitmap = g_new0(uint64_t, (log.nr_pages + 63) / 64);
    g_autoptr(GError) err = NULL;

    log.bitmap = bitmap;
    if (!vfi_address_space_dirty_tracking_start(as, errp)) {
        return false;
    }
    for (guint i = 0; sim && i < r->devices->len; i++) {
        DemoDevice *d = &g_array_index(r->devices, DemoDevice, i);

        for (unsigned k = 0; k < DEMO_PAGES_PER_DEVICE; k++) {
            g_clear_error(&err);
            if (!vfi_sim_dma_write(sim, d->name, DEMO_LOW_IOVA + demo_page(i, k) * 4096,
                                    4096, &err)) {
                demo_report_log(r, "DMA of %s failed: %s", d->name, err->message);
                continue;
            }
            d->pages_written++;
        }
    }
    if (!vfi_address_space_sync_dirty(as, &log, errp)) {
        g_autoptr(GError) serr = NULL;

        vfi_address_space_dirty_tracking_stop(as, &serr);
        return false;
    }
    if (!vfi_address_space_dirty_tracking_stop(as, errp)) {
        return false;
    }
    for (guint i = 0; sim && i < r->devices->len; i++) {
        DemoDevice *d = &g_array_index(r->devices, DemoDevice, i);

        for (unsigned k = 0; k < DEMO_PAGES_PER_DEVICE; k++) {
            uint64_t bit = (DEMO_LOW_IOVA / 4096) + demo_page(i, k);

            d->pages_found += (bitmap[bit / 64] >> (bit % 64)) & 1;
        }
    }
    r->migration_ran = true;
    demo_report_log(r, "migration round: tracking started, %u device(s) wrote, synced "
                    "0x%" PRIx64 " bytes of guest-physical space, tracking stopped",
                    r->devices->len, log.nr_pages * log.page_size);
    return true;
}

static bool run_flow(DemoReport *r, VfiIommufd *be, VfiSim *sim, GError **errp)
{
    VfiAddressSpace *as = vfi_address_space_new(r);
    void *ram = MAP_FAILED;
    size_t ram_size = DEMO_LOW_SIZE + DEMO_HIGH_SIZE;
    bool ok = false;
    DemoDevice *rp;

    for (guint i = 0; i < r->devices->len; i++) {
        if (!plug(r, as, be, &g_array_index(r->devices, DemoDevice, i), errp)) {
            goto out;
        }
        g_array_index(r->devices, DemoDevice, i).attach_attempts =
            vfi_device_get_attach_attempts(g_array_index(r->devices, DemoDevice, i).dev);
    }

    ram = mmap(NULL, ram_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (ram == MAP_FAILED) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_HOST,
                    "cannot allocate %zu bytes of guest memory: %s", ram_size,
                    g_strerror(errno));
        goto out;
    }
    if (!vfi_address_space_dma_map(as, DEMO_LOW_IOVA, DEMO_LOW_SIZE, ram, false, errp) ||
        !vfi_address_space_dma_map(as, DEMO_HIGH_IOVA, DEMO_HIGH_SIZE,
                                    (char *)ram + DEMO_LOW_SIZE, false, errp)) {
        goto out;
    }
    r->mapped_bytes = ram_size;
    demo_report_log(r, "map guest RAM: IOVA 0x%" PRIx64 "+0x%" PRIx64 " and 0x%" PRIx64
                    "+0x%" PRIx64 " in %u container(s)", DEMO_LOW_IOVA, DEMO_LOW_SIZE,
                    DEMO_HIGH_IOVA, DEMO_HIGH_SIZE, vfi_address_space_container_count(as));

    record_coverage(r);
    demo_report_snapshot(r, as);
    r->migration_blocker = vfi_address_space_migration_blocker(as);
    if (!migration_round(r, as, sim, errp)) {
        goto out;
    }

    rp = pick_replug(r);
    if (rp) {
        if (!vfi_address_space_detach_device(as, rp->dev, errp)) {
            goto out;
        }
        demo_report_log(r, "hot-unplug %s", rp->name);
        if (!plug(r, as, be, rp, errp)) {
            goto out;
        }
        rp->replug_attempts = vfi_device_get_attach_attempts(rp->dev);
        r->replugged = g_strdup(rp->name);
    }
    ok = true;

out:
    /* Teardown, also after a failure: unmap, unplug every device. */
    if (r->mapped_bytes) {
        g_autoptr(GError) err = NULL;
        if (!vfi_address_space_dma_unmap(as, DEMO_LOW_IOVA, DEMO_LOW_SIZE, 0, &err) ||
            !vfi_address_space_dma_unmap(as, DEMO_HIGH_IOVA, DEMO_HIGH_SIZE, 0, &err)) {
            demo_report_log(r, "unmap failed: %s", err->message);
            ok = false;
        }
    }
    for (guint i = 0; i < r->devices->len; i++) {
        DemoDevice *d = &g_array_index(r->devices, DemoDevice, i);
        g_autoptr(GError) err = NULL;

        if (vfi_device_get_container(d->dev) &&
            !vfi_address_space_detach_device(as, d->dev, &err)) {
            demo_report_log(r, "unplug %s failed: %s", d->name, err->message);
            ok = false;
        }
    }
    demo_report_log(r, "teardown: every device unplugged, %u container(s) left",
                    vfi_address_space_container_count(as));
    {
        g_autoptr(GError) err = NULL;
        if (!vfi_address_space_free(as, &err)) {
            demo_report_log(r, "address space not freed: %s", err->message);
            ok = false;
        }
    }
    if (ram != MAP_FAILED) {
        munmap(ram, ram_size);
    }
    return ok;
}

static void free_devices(DemoReport *r)
{
    for (guint i = 0; i < r->devices->len; i++) {
        DemoDevice *d = &g_array_index(r->devices, DemoDevice, i);
        g_clear_pointer(&d->dev, vfi_device_free);
    }
}

/* Run the flow on the devices of @r with a new backend, free them, print
 * the report. @sim: the simulated kernel, or NULL for the real one. */
static int run_and_report(const DemoOptions *o, DemoReport *r, VfiSim *sim)
{
    g_autoptr(GError) err = NULL;
    VfiIommufd *be = vfi_iommufd_new();
    bool ok = run_flow(r, be, sim, &err);

    free_devices(r);
    if (!vfi_iommufd_free(be, err ? NULL : &err)) {
        ok = false;
    }
    if (sim) {
        r->leaked_objects = vfi_sim_live_objects(sim);
        demo_report_log(r, "kernel objects left: %" PRId64 ", open fds left: %u",
                        r->leaked_objects, vfi_sim_open_fds(sim));
    }
    if (o->json) {
        demo_report_print_json(r, stdout);
    } else {
        demo_report_print_text(r, stdout);
    }
    if (!ok) {
        fprintf(stderr, "vfio-iommufd: demo failed: %s\n", err ? err->message : "see log");
        return EXIT_FAILURE;
    }
    return r->leaked_objects > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

static int run_simulated(const DemoOptions *o)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(DemoReport) r = demo_report_new("simulated");
    g_autoptr(VfiSim) sim = vfi_sim_new(&err);
    const char **names;
    unsigned n;

    if (!sim) {
        fprintf(stderr, "vfio-iommufd: %s\n", err->message);
        return EXIT_FAILURE;
    }
    if (o->topology) {
        if (!g_key_file_load_from_file(kf, o->topology, G_KEY_FILE_NONE, &err) ||
            !vfi_sim_load_topology(sim, o->topology, &err)) {
            fprintf(stderr, "vfio-iommufd: bad topology %s: %s\n", o->topology, err->message);
            return EXIT_USAGE;
        }
    } else if (!g_key_file_load_from_data(kf, builtin_topology, -1, G_KEY_FILE_NONE, &err) ||
               !vfi_sim_load_topology_data(sim, builtin_topology, &err)) {
        fprintf(stderr, "vfio-iommufd: built-in topology: %s\n", err->message);
        return EXIT_FAILURE;
    }
    vfi_sim_install(sim);

    names = vfi_sim_device_names(sim, &n);
    if (n == 0) {
        g_free(names);
        fprintf(stderr, "vfio-iommufd: bad topology %s: it has no [device NAME] section\n",
                o->topology ? o->topology : "(built-in)");
        return EXIT_USAGE;
    }
    for (unsigned i = 0; i < n; i++) {
        DemoDevice d = { .name = g_strdup(names[i]) };

        g_array_append_val(r->devices, d);
        DemoDevice *dp = &g_array_index(r->devices, DemoDevice, r->devices->len - 1);
        if (!read_wishes(kf, names[i], dp, &err)) {
            g_free(names);
            free_devices(r);
            fprintf(stderr, "vfio-iommufd: bad topology %s: %s\n",
                    o->topology ? o->topology : "(built-in)", err->message);
            return EXIT_USAGE;
        }
        dp->dev = vfi_device_open_sysfs(vfi_sim_device_sysfs_path(sim, names[i]), &err);
        if (!dp->dev) {
            g_free(names);
            free_devices(r);
            fprintf(stderr, "vfio-iommufd: %s: %s\n", names[i], err->message);
            return EXIT_FAILURE;
        }
    }
    g_free(names);

    return run_and_report(o, r, sim);
}

static int run_real(const DemoOptions *o)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(DemoReport) r = demo_report_new("linux");

    for (guint i = 0; i < o->devices->len; i++) {
        const char *arg = g_ptr_array_index(o->devices, i);
        DemoDevice d = { .name = g_strdup(arg), .want_dirty = true, .prefer_logging = true };

        d.dev = arg[0] == '/' ? vfi_device_open_sysfs(arg, &err)
                              : vfi_device_open_pci(arg, &err);
        g_array_append_val(r->devices, d);
        if (!d.dev) {
            free_devices(r);
            fprintf(stderr, "vfio-iommufd: %s: %s\n", arg, err->message);
            return err->domain == VFI_ERROR &&
                   err->code == VFI_ERROR_INVALID_ARGUMENT ? EXIT_USAGE : EXIT_FAILURE;
        }
    }
    return run_and_report(o, r, NULL);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "json", no_argument, NULL, 'j' },
        { "topology", required_argument, NULL, 't' },
        { "device", required_argument, NULL, 'd' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    g_autoptr(GPtrArray) devices = g_ptr_array_new();
    DemoOptions o = { .devices = devices };
    int c;

    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'j':
            o.json = true;
            break;
        case 't':
            o.topology = optarg;
            break;
        case 'd':
            g_ptr_array_add(devices, optarg);
            break;
        case 'h':
            usage(stdout);
            return EXIT_SUCCESS;
        default:
            fprintf(stderr, "vfio-iommufd: bad option '%s'\n", argv[optind - 1]);
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "vfio-iommufd: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return EXIT_USAGE;
    }
    if (o.topology && devices->len) {
        fprintf(stderr, "vfio-iommufd: --topology and --device exclude each other\n");
        return EXIT_USAGE;
    }
    return devices->len ? run_real(&o) : run_simulated(&o);
}
