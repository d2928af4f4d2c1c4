/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd demo: the passthrough demo.
 *
 * On the kernel model (a built-in heterogeneous topology, or --topology
 * FILE): plug every device into one guest address space, map guest memory,
 * run a migration round of dirty tracking (start, simulated DMA from every
 * device, sync into a log of guest RAM, stop: per device its coverage and
 * how many of the pages it wrote were found dirty, and the migration-blocker
 * message), hot-unplug and re-plug a device, tear everything down, and print
 * what happened. --device X (repeatable) runs the same flow on the running
 * kernel with devices already bound to vfio-pci. --backend picks the host
 * backend (IOMMUFD or the VFIO type1 container; AUTO by default), and the
 * report says which one the address space used and why.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/mman.h>
#include <linux/iommufd.h>

#include "vfio-iommufd/container.h"
#include "vfio-iommufd/dirty.h"
#include "cli.h"
#include "demo-report.h"

/* Guest memory of the demo: low RAM below the 32-bit hole and high RAM. */
#define DEMO_LOW_IOVA   UINT64_C(0x0)
#define DEMO_LOW_SIZE   (UINT64_C(64) << 20)
#define DEMO_HIGH_IOVA  UINT64_C(0x100000000)
#define DEMO_HIGH_SIZE  (UINT64_C(64) << 20)
#define DEMO_RAM_SIZE   (DEMO_LOW_SIZE + DEMO_HIGH_SIZE)

/* Pages device @i writes in the migration round: i * 7 + k * 97 of low RAM. */
#define DEMO_PAGES_PER_DEVICE 8

typedef struct DemoRun {
    DemoReport *r;
    VfiIommufd *be;
    VfiSim *sim;                /* NULL on the running kernel */
    VfiAddressSpace *as;
    void *ram;                  /* MAP_FAILED until mapped */
} DemoRun;

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
        return tool_usage_error(errp, "bad topology: [device %s] %s: %s", name, key,
                                err->message);
    }
    *out = v;
    return true;
}

/* The VMM's wishes per device live in the topology file beside the
 * kernel's facts: want-dirty-tracking (default true),
 * prefer-device-logging (default true: a device that logs its own DMA is
 * tracked that way, the finest and cheapest tracking) and nest-parent
 * (default false: true for a device the guest's vIOMMU translates). */
static bool read_wishes(GKeyFile *kf, const char *name, DemoDevice *d, GError **errp)
{
    d->want_dirty = true;
    d->prefer_logging = true;
    return read_bool(kf, name, "want-dirty-tracking", &d->want_dirty, errp) &&
           read_bool(kf, name, "prefer-device-logging", &d->prefer_logging, errp) &&
           read_bool(kf, name, "nest-parent", &d->nest_parent, errp);
}

static bool plug(DemoRun *run, DemoDevice *d, GError **errp)
{
    VfiAttachOptions opts = VFI_ATTACH_OPTIONS_INIT(
        .no_iommu_dirty_tracking = !d->want_dirty,
        .prefer_device_dirty_logging = d->prefer_logging,
        .nest_parent = d->nest_parent,
    );
    VfiHwpt *hwpt;
    VfiContainer *c;

    tool_backend_first(&run->r->backend, d->name);
    if (!vfi_address_space_attach_device(run->as, run->be, d->dev, &opts, errp)) {
        return false;
    }
    d->attached = true;
    hwpt = vfi_device_get_hwpt(d->dev);
    c = vfi_device_get_container(d->dev);
    if (vfi_container_get_backend_kind(c) == VFI_BACKEND_TYPE1) {
        demo_report_log(run->r, "plug %s: IOMMU group %d joined the type1 container",
                        d->name, demo_device_iommu_group(d->dev));
    } else if (hwpt) {
        demo_report_log(run->r, "plug %s: HWPT %u (%s%s) after %u attach attempt(s), IOAS %u",
                        d->name, vfi_hwpt_get_id(hwpt),
                        vfi_hwpt_get_flags(hwpt) & IOMMU_HWPT_ALLOC_DIRTY_TRACKING ?
                        "dirty-tracking" : "plain",
                        vfi_hwpt_get_flags(hwpt) & IOMMU_HWPT_ALLOC_NEST_PARENT ?
                        ", nest-parent" : "",
                        vfi_device_get_attach_attempts(d->dev), vfi_container_get_ioas_id(c));
    } else {
        demo_report_log(run->r, "plug %s: mdev attached to IOAS %u", d->name,
                        vfi_container_get_ioas_id(c));
    }
    return true;
}

static bool plug_all(DemoRun *run, GError **errp)
{
    for (guint i = 0; i < run->r->devices->len; i++) {
        DemoDevice *d = &g_array_index(run->r->devices, DemoDevice, i);

        if (!plug(run, d, errp)) {
            return false;
        }
        d->attach_attempts = vfi_device_get_attach_attempts(d->dev);
    }
    return true;
}

static bool map_ram(DemoRun *run, GError **errp)
{
    g_autofree char *where = NULL;

    run->ram = mmap(NULL, DEMO_RAM_SIZE, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (run->ram == MAP_FAILED) {
        int err = errno;

        g_set_error(errp, VFI_ERROR, VFI_ERROR_HOST, "cannot allocate %" PRIu64 " bytes "
                    "of guest memory: %s (errno %d)", DEMO_RAM_SIZE, g_strerror(err), err);
        return false;
    }
    if (!vfi_address_space_dma_map(run->as, DEMO_LOW_IOVA, DEMO_LOW_SIZE, run->ram, false,
                                   errp) ||
        !vfi_address_space_dma_map(run->as, DEMO_HIGH_IOVA, DEMO_HIGH_SIZE,
                                   (char *)run->ram + DEMO_LOW_SIZE, false, errp)) {
        return false;
    }
    run->r->mapped_bytes = DEMO_RAM_SIZE;
    where = vfi_address_space_get_backend(run->as) == VFI_BACKEND_TYPE1 ?
            g_strdup("the type1 container") :
            g_strdup_printf("%u container(s)", vfi_address_space_container_count(run->as));
    demo_report_log(run->r, "map guest RAM: IOVA 0x%" PRIx64 "+0x%" PRIx64 " and 0x%" PRIx64
                    "+0x%" PRIx64 " in %s", DEMO_LOW_IOVA, DEMO_LOW_SIZE,
                    DEMO_HIGH_IOVA, DEMO_HIGH_SIZE, where);
    return true;
}

/* Each device's coverage from the address space's report (which has the
 * devices of a type1 container too). */
static void record_coverage(DemoReport *r, VfiAddressSpace *as)
{
    unsigned n = 0;
    g_autofree VfiDirtyDeviceReport *report = vfi_address_space_dirty_report(as, &n);

    for (guint i = 0; i < r->devices->len; i++) {
        DemoDevice *d = &g_array_index(r->devices, DemoDevice, i);

        d->mdev = vfi_device_is_mdev(d->dev);
        d->coverage = VFI_DIRTY_COVERAGE_NONE;
        d->why = VFI_UNTRACKED_NOT_ATTACHED;
        for (unsigned k = 0; k < n; k++) {
            if (report[k].device == d->dev) {
                d->coverage = report[k].coverage;
                d->why = report[k].reason;
            }
        }
    }
}

static uint64_t demo_page(unsigned i, unsigned k)
{
    return (uint64_t)i * 7 + (uint64_t)k * 97;
}

/* Every device writes its own pages (simulated DMA: it marks the trackers
 * covering that device only). */
static void simulated_dma(DemoRun *run)
{
    for (guint i = 0; run->sim && i < run->r->devices->len; i++) {
        DemoDevice *d = &g_array_index(run->r->devices, DemoDevice, i);

        for (unsigned k = 0; k < DEMO_PAGES_PER_DEVICE; k++) {
            g_autoptr(GError) err = NULL;

            if (!vfi_sim_dma_write(run->sim, d->name,
                                   DEMO_LOW_IOVA + demo_page(i, k) * 4096, 4096, &err)) {
                demo_report_log(run->r, "DMA of %s failed: %s", d->name, err->message);
                continue;
            }
            d->pages_written++;
        }
    }
}

static void count_found(DemoRun *run, const uint64_t *bitmap)
{
    for (guint i = 0; run->sim && i < run->r->devices->len; i++) {
        DemoDevice *d = &g_array_index(run->r->devices, DemoDevice, i);

        for (unsigned k = 0; k < DEMO_PAGES_PER_DEVICE; k++) {
            uint64_t bit = (DEMO_LOW_IOVA / 4096) + demo_page(i, k);

            d->pages_found += (bitmap[bit / 64] >> (bit % 64)) & 1;
        }
    }
}

/* One migration round: start tracking, DMA, sync into a log covering guest
 * RAM, stop, count per device the pages found. */
static bool migration_round(DemoRun *run, GError **errp)
{
    VfiDirtyLog log = {
        .base_iova = 0,
        .page_size = 4096,
        .nr_pages = (DEMO_HIGH_IOVA + DEMO_HIGH_SIZE) / 4096,
    };
    g_autofree uint64_t *bitmap = g_new0(uint64_t, (log.nr_pages + 63) / 64);

    log.bitmap = bitmap;
    if (!vfi_address_space_dirty_tracking_start(run->as, errp)) {
        return false;
    }
    simulated_dma(run);
    if (!vfi_address_space_sync_dirty(run->as, &log, errp)) {
        g_autoptr(GError) serr = NULL;

        vfi_address_space_dirty_tracking_stop(run->as, &serr);
        return false;
    }
    if (!vfi_address_space_dirty_tracking_stop(run->as, errp)) {
        return false;
    }
    count_found(run, bitmap);
    run->r->migration_ran = true;
    demo_report_log(run->r, "migration round: tracking started, %u device(s) wrote, synced "
                    "0x%" PRIx64 " bytes of guest-physical space, tracking stopped",
                    run->r->devices->len, log.nr_pages * log.page_size);
    return true;
}

/* Hot-unplug and re-plug the first physical device that shares its HWPT
 * with another device (so the HWPT survives and the re-plug shows a
 * reuse), else the first device. */
static bool replug(DemoRun *run, GError **errp)
{
    DemoReport *r = run->r;
    DemoDevice *rp = r->devices->len ? &g_array_index(r->devices, DemoDevice, 0) : NULL;

    for (guint i = 0; i < r->devices->len; i++) {
        DemoDevice *d = &g_array_index(r->devices, DemoDevice, i);
        VfiHwpt *h = vfi_device_get_hwpt(d->dev);

        if (h && vfi_hwpt_device_count(h) > 1) {
            rp = d;
            break;
        }
    }
    if (!rp) {
        return true;
    }
    if (!vfi_address_space_detach_device(run->as, rp->dev, errp)) {
        return false;
    }
    rp->attached = false;
    demo_report_log(r, "hot-unplug %s", rp->name);
    if (!plug(run, rp, errp)) {
        return false;
    }
    rp->replug_attempts = vfi_device_get_attach_attempts(rp->dev);
    r->replugged = g_strdup(rp->name);
    return true;
}

/* Teardown, also after a failure: unmap, unplug every device, free. */
static bool teardown(DemoRun *run)
{
    DemoReport *r = run->r;
    g_autoptr(GError) err = NULL;
    bool ok = true;

    if (r->mapped_bytes &&
        (!vfi_address_space_dma_unmap(run->as, DEMO_LOW_IOVA, DEMO_LOW_SIZE, 0, &err) ||
         !vfi_address_space_dma_unmap(run->as, DEMO_HIGH_IOVA, DEMO_HIGH_SIZE, 0, &err))) {
        demo_report_log(r, "unmap failed: %s", err->message);
        g_clear_error(&err);
        ok = false;
    }
    for (guint i = 0; i < r->devices->len; i++) {
        DemoDevice *d = &g_array_index(r->devices, DemoDevice, i);

        if (d->attached && !vfi_address_space_detach_device(run->as, d->dev, &err)) {
            demo_report_log(r, "unplug %s failed: %s", d->name, err->message);
            g_clear_error(&err);
            ok = false;
        }
        d->attached = false;
    }
    demo_report_log(r, "teardown: every device unplugged, %u container(s) left",
                    vfi_address_space_container_count(run->as));
    if (!vfi_address_space_free(run->as, &err)) {
        demo_report_log(r, "address space not freed: %s", err->message);
        ok = false;
    }
    if (run->ram != MAP_FAILED) {
        munmap(run->ram, DEMO_RAM_SIZE);
    }
    return ok;
}

static bool run_flow(DemoReport *r, VfiIommufd *be, VfiSim *sim, GError **errp)
{
    DemoRun run = { .r = r, .be = be, .sim = sim, .as = vfi_address_space_new(r),
                    .ram = MAP_FAILED };
    bool ok = vfi_address_space_set_backend(run.as, r->backend.asked, errp) &&
              plug_all(&run, errp);

    tool_backend_read(&r->backend, run.as);
    if (ok) {
        g_autofree char *why = tool_backend_reason(&r->backend);

        demo_report_log(r, "backend: %s (%s)", tool_backend_str(r->backend.used), why);
        ok = map_ram(&run, errp);
    }
    if (ok) {
        record_coverage(r, run.as);
        demo_report_snapshot(r, run.as);
        r->migration_blocker = vfi_address_space_migration_blocker(run.as);
        ok = migration_round(&run, errp) && replug(&run, errp);
    }
    return teardown(&run) && ok;
}

static void free_devices(DemoReport *r)
{
    for (guint i = 0; i < r->devices->len; i++) {
        g_clear_pointer(&g_array_index(r->devices, DemoDevice, i).dev, vfi_device_free);
    }
}

/* Run the flow on the devices of @r with a new backend, free them, print
 * the report. */
static int run_and_report(const ToolOptions *o, const ToolKernel *k, DemoReport *r)
{
    g_autoptr(GError) err = NULL;
    VfiIommufd *be = vfi_iommufd_new();
    bool ok = run_flow(r, be, k->sim, &err);

    free_devices(r);
    if (!vfi_iommufd_free(be, err ? NULL : &err)) {
        ok = false;
    }
    if (k->sim) {
        r->leaked_objects = tool_kernel_objects_left(k);
        demo_report_log(r, "kernel objects left: %" PRId64 ", open fds left: %u",
                        r->leaked_objects, vfi_sim_open_fds(k->sim));
    }
    if (o->json) {
        g_autoptr(Json) j = tool_json_begin(o, k);

        demo_report_json(r, j);
        tool_json_error(j, "error", ok ? NULL : err);
        json_end_object(j);
        json_print(j, stdout);
    } else {
        demo_report_print_text(r, stdout);
    }
    if (!ok) {
        fprintf(stderr, "vfio-iommufd demo: failed: %s\n", err ? err->message : "see the log");
        return TOOL_EXIT_RUNTIME;
    }
    return r->leaked_objects > 0 ? TOOL_EXIT_CHECK_FAILED : TOOL_EXIT_OK;
}

static bool add_device(DemoReport *r, const char *name, const char *path, GError **errp)
{
    DemoDevice d = { .name = g_strdup(name), .want_dirty = true, .prefer_logging = true };

    g_array_append_val(r->devices, d);
    g_array_index(r->devices, DemoDevice, r->devices->len - 1).dev =
        vfi_device_open_sysfs(path, errp);
    return g_array_index(r->devices, DemoDevice, r->devices->len - 1).dev != NULL;
}

/* Every device of the model's topology, with the VMM's wishes from it. */
static bool open_simulated(const ToolOptions *o, const ToolKernel *k, DemoReport *r,
                           GError **errp)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autofree const char **names = NULL;
    unsigned n;

    if (o->topology ? !g_key_file_load_from_file(kf, o->topology, G_KEY_FILE_NONE, errp)
                    : !g_key_file_load_from_data(kf, tool_builtin_topology, -1,
                                                 G_KEY_FILE_NONE, errp)) {
        return false;
    }
    names = vfi_sim_device_names(k->sim, &n);
    for (unsigned i = 0; i < n; i++) {
        if (!add_device(r, names[i], vfi_sim_device_sysfs_path(k->sim, names[i]), errp) ||
            !read_wishes(kf, names[i], &g_array_index(r->devices, DemoDevice, i), errp)) {
            return false;
        }
    }
    return true;
}

static bool open_real(const ToolKernel *k, GPtrArray *args, DemoReport *r, GError **errp)
{
    for (guint i = 0; i < args->len; i++) {
        const char *arg = g_ptr_array_index(args, i);
        g_autofree char *path = NULL, *name = NULL;

        if (!tool_device_path(k, arg, &path, &name, errp) ||
            !add_device(r, arg, path, errp)) {
            return false;
        }
    }
    return true;
}

enum { OPT_DEVICE = 256, OPT_BACKEND };

static const struct option demo_options[] = {
    { "device", required_argument, NULL, OPT_DEVICE },
    { "backend", required_argument, NULL, OPT_BACKEND },
    { NULL, 0, NULL, 0 },
};

/* What the options ask for. */
typedef struct DemoOptions {
    GPtrArray *devices;         /* --device arguments */
    VfiBackendKind backend;
} DemoOptions;

static bool demo_option(int val, const char *arg, void *data, GError **errp)
{
    DemoOptions *dopts = data;

    if (val == OPT_BACKEND) {
        return tool_backend_parse(arg, &dopts->backend, errp);
    }
    g_ptr_array_add(dopts->devices, (char *)arg);
    return true;
}

static int run_demo(ToolOptions *o, int argc, char **argv)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GPtrArray) devices = g_ptr_array_new();
    DemoOptions dopts = { .devices = devices, .backend = VFI_BACKEND_AUTO };
    g_autoptr(DemoReport) r = NULL;
    ToolKernel k = { 0 };
    int first, ret = tool_parse_options(o, &tool_cmd_demo, argc, argv, demo_options,
                                        demo_option, &dopts, &first, &err);

    if (ret <= 0) {
        return ret == 0 ? TOOL_EXIT_OK : tool_fail(o, err);
    }
    if (first < argc || (o->sim && devices->len)) {
        tool_usage_error(&err, first < argc ? "unexpected argument '%s'" :
                         "--device (the running kernel) excludes --sim and --topology",
                         argv[first < argc ? first : 0]);
        return tool_fail(o, err);
    }
    o->sim = devices->len == 0;
    r = demo_report_new(o->sim ? "simulated" : "linux");
    r->backend.asked = dopts.backend;
    if (!tool_kernel_open(o, &k, &err) ||
        !(o->sim ? open_simulated(o, &k, r, &err) : open_real(&k, devices, r, &err))) {
        free_devices(r);
        tool_kernel_close(&k);
        return tool_fail(o, err);
    }
    ret = run_and_report(o, &k, r);
    tool_kernel_close(&k);
    return ret;
}

const ToolCommand tool_cmd_demo = {
    .name = "demo",
    .synopsis = "[--json] [--backend KIND] [--topology FILE | --device DEVICE...]",
    .brief = "the passthrough and migration demo (on the kernel model)",
    .summary = "Run the passthrough demo: plug every device into one guest address space\n"
               "(userspace auto domains), map guest memory, run a migration round of\n"
               "dirty tracking (start, DMA from every device, sync, stop), hot-unplug\n"
               "and re-plug a device, tear down, and print the containers, HWPTs,\n"
               "attach attempts, dirty-tracking coverage (IOMMU, device logging or\n"
               "none), the dirty pages found per device, the migration blocker and the\n"
               "kernel objects left; and the host backend the address space used\n"
               "(IOMMUFD or the VFIO type1 container) and why.",
    .help = "By default it runs on the kernel model with a built-in heterogeneous\n"
            "topology (--topology FILE: another one; the keys want-dirty-tracking,\n"
            "prefer-device-logging and nest-parent of a [device NAME] section give the\n"
            "VMM's wishes).\n"
            "\n"
            "Options:\n"
            "  --device DEVICE  a device bound to vfio-pci (as for 'info'; repeatable):\n"
            "                   run on the running kernel instead of the model\n"
            "  --backend auto|iommufd|type1\n"
            "                   the host backend of the address space\n"
            "                   (vfi_address_space_set_backend()): auto (the default)\n"
            "                   takes type1 for a device without a VFIO cdev or on a\n"
            "                   host without /dev/iommu, IOMMUFD otherwise\n",
    .run = run_demo,
};
