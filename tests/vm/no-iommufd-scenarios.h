/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The README's passthrough and migration flow, unchanged (VFI_BACKEND_AUTO:
 * no vfi_address_space_set_backend() call), on a host without IOMMUFD
 * (issue 12), shared by the real kernel (tests/vm/guest-tests.c, boot 1) and
 * the kernel model (guest-tests --sim, the agreement suite).
 *
 * The VM's kernels have IOMMUFD, so a host without it is made in a child
 * process: a mount namespace of its own (unshare(CLONE_NEWNS), mounts made
 * private) with a fresh tmpfs on /dev holding what such a host has, nodes
 * made with mknod from the real nodes' st_rdev: /dev/null, /dev/zero,
 * /dev/urandom, /dev/vfio/vfio and the devices' /dev/vfio/N, and per host:
 *
 *   NI_HOST_NO_IOMMUFD    a kernel without CONFIG_IOMMUFD (and so without
 *                         CONFIG_VFIO_DEVICE_CDEV), as Debian's: no
 *                         /dev/iommu, no VFIO cdev (each device's sysfs
 *                         vfio-dev/ hidden under an empty read-only tmpfs,
 *                         no /dev/vfio/devices)
 *   NI_HOST_NO_CDEV       IOMMUFD without CONFIG_VFIO_DEVICE_CDEV:
 *                         /dev/iommu, no VFIO cdev
 *   NI_HOST_NO_DEV_IOMMU  the VFIO cdevs (sysfs and /dev/vfio/devices/vfioN)
 *                         but no /dev/iommu (a /dev that lacks it)
 *   NI_HOST_NO_CDEV_NODE  the VFIO cdevs in sysfs (vfio-dev/vfioN) but no
 *                         /dev/vfio/devices and no /dev/iommu: a container
 *                         given only /dev/vfio/vfio and the group nodes (the
 *                         cdev's open ENOENT: the device goes through its
 *                         group, traced as vfi_device_group_only)
 *
 * AUTO must take type1 on each, and say why in its trace (vfi_as_backend:
 * "auto: the device has no VFIO cdev", with " and there is no /dev/iommu"
 * where /dev/iommu is missing too, "auto: no /dev/iommu" on the third);
 * the flow then runs as the README's: attach,
 * map, real edu DMA through the mapping, no migration blocker, tracking
 * start, a sync (every mapped page dirty on type1), stop, unmap, a DMA
 * after the unmap that reaches no memory, detach, free: no fd left.
 *
 * On the model the child loads the VM's topology with vfio-cdev=false on
 * every device (vfio-cdev-node=false on the fourth host: sysfs keeps the
 * cdev, its node is ENOENT; sim/sim-topology.c): the first two hosts and
 * the fourth (the model always
 * has /dev/iommu, which AUTO looks for on Linux only, so the third is
 * skipped there), the edu's DMA the model's device write
 * (vfi_sim_dma_write(), which faults where nothing is mapped).
 *
 * Each scenario returns NULL when it passed, "SKIP: why", or the first
 * failure.
 */
#ifndef VFI_NO_IOMMUFD_SCENARIOS_H
#define VFI_NO_IOMMUFD_SCENARIOS_H

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <glib.h>

#include "vfio-iommufd/error.h"
#include "vfio-iommufd/iommufd.h"
#include "vfio-iommufd/device.h"
#include "vfio-iommufd/container.h"
#include "vfio-iommufd/dirty.h"
#include "vfio-iommufd/kernel.h"
#include "vfio-iommufd/trace.h"
#include "vfio-iommufd-sim/sim.h"

typedef enum {
    NI_HOST_NO_IOMMUFD,
    NI_HOST_NO_CDEV,
    NI_HOST_NO_DEV_IOMMU,
    NI_HOST_NO_CDEV_NODE,
} NiHost;

/* What the scenarios need of the platform. */
typedef struct NiPlatform {
    const char *sim_topology;   /* --sim: the model's topology; NULL: Linux */
    char *const *bdf;           /* the PCI devices (bound to vfio-pci), bdf[0] an edu */
    unsigned n;
    const char *mdev_path;      /* an mdev's sysfs path, or NULL */
    /* Linux: one DMA of a page by the edu @dev between its buffer and
     * @iova (@to_ram: device -> RAM); false with @why when it did not end. */
    bool (*dma)(VfiDevice *dev, uint64_t iova, bool to_ram, GString *why);
} NiPlatform;

#define NI_MAX_DEV 9
#define NI_IOVA 0x1000000ull        /* < 256 MiB: the edu's 28-bit DMA mask */
#define NI_PAGES 16u
#define NI_MAX_NODES (2 * NI_MAX_DEV + 8)

typedef struct NiRun {
    const NiPlatform *p;
    NiHost host;
    VfiSim *sim;                /* the child's model, or NULL */
    VfiAddressSpace *as;
    VfiIommufd *be;
    VfiDevice *dev[NI_MAX_DEV];
    unsigned n;
    uint8_t *ram;
    uint64_t bits[NI_PAGES / 64 + 1];
    char *trace;                /* the library's trace (open_memstream) */
    size_t trace_len;
    FILE *trace_fp;
} NiRun;

static char ni_why[1024];

static const char *G_GNUC_PRINTF(1, 2) ni_fail(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(ni_why, sizeof(ni_why), fmt, ap);
    va_end(ap);
    return ni_why;
}

#define NI_CHECK(cond, ...) do {                                              \
        if (!(cond)) {                                                        \
            int n_ = snprintf(ni_why, sizeof(ni_why), "line %d: %s: ", __LINE__, #cond); \
            n_ = MIN(MAX(n_, 0), (int)sizeof(ni_why) - 1);                    \
            snprintf(ni_why + n_, sizeof(ni_why) - (size_t)n_, __VA_ARGS__);  \
            return ni_why;                                                    \
        }                                                                     \
    } while (0)

/* A library call that must succeed. */
#define NI_OK(call) do {                                                      \
        g_autoptr(GError) ni_err_ = NULL;                                     \
        GError **errp = &ni_err_;                                             \
        if (!(call)) {                                                        \
            return ni_fail("line %d: %s failed: %s", __LINE__, #call,         \
                           ni_err_ ? ni_err_->message : "(no GError)");       \
        }                                                                     \
    } while (0)

static const char *const ni_host_name[] = {
    [NI_HOST_NO_IOMMUFD] = "no /dev/iommu, no VFIO cdev",
    [NI_HOST_NO_CDEV] = "/dev/iommu, no VFIO cdev",
    [NI_HOST_NO_DEV_IOMMU] = "VFIO cdevs, no /dev/iommu",
    [NI_HOST_NO_CDEV_NODE] = "cdevs in sysfs but no /dev/vfio/devices, no /dev/iommu",
};

/* The fds open in this process. */
static unsigned ni_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    unsigned n = 0;

    while (d && readdir(d)) {
        n++;
    }
    if (d) {
        closedir(d);
    }
    return n;
}

/* The sysfs directory of device @i of the platform (PCI devices, then the
 * mdev), resolved; NULL past the last. */
static char *ni_device_dir(const NiPlatform *p, unsigned i)
{
    g_autofree char *path = NULL;
    char *real;

    if (i < p->n) {
        path = g_build_filename(vfi_kernel_sysfs_root(), "bus", "pci", "devices", p->bdf[i],
                                NULL);
    } else if (i == p->n && p->mdev_path) {
        path = g_strdup(p->mdev_path);
    } else {
        return NULL;
    }
    real = realpath(path, NULL);
    return real ? real : g_steal_pointer(&path);
}

/* ---- the host without IOMMUFD (Linux: a mount namespace) ---------------- */

typedef struct NiNode {
    char *path;
    struct stat st;
} NiNode;

/* @path into @nodes when it exists; false with the reason when @need. */
static bool ni_node(GPtrArray *nodes, const char *path, bool need, GString *why)
{
    NiNode *nd = g_new0(NiNode, 1);

    if (stat(path, &nd->st) < 0 || !S_ISCHR(nd->st.st_mode)) {
        if (need) {
            g_string_printf(why, "%s: not a character device (%s)", path, g_strerror(errno));
        }
        g_free(nd);
        return !need;
    }
    nd->path = g_strdup(path);
    g_ptr_array_add(nodes, nd);
    return true;
}

/* The one vfioN of @dir/vfio-dev (its cdev), or NULL. */
static char *ni_cdev_of(const char *dir)
{
    g_autofree char *vdir = g_build_filename(dir, "vfio-dev", NULL);
    GDir *d = g_dir_open(vdir, 0, NULL);
    const char *e = d ? g_dir_read_name(d) : NULL;
    char *name = e ? g_strdup(e) : NULL;

    if (d) {
        g_dir_close(d);
    }
    return name;
}

/* The nodes of the device at sysfs @dir: its group's, and its cdev's where
 * the host has cdevs. */
static bool ni_device_nodes(const char *dir, NiHost host, GPtrArray *nodes, GString *why)
{
    g_autofree char *link = g_build_filename(dir, "iommu_group", NULL);
    g_autofree char *target = g_file_read_link(link, NULL);
    g_autofree char *group = target ? g_strdup_printf("/dev/vfio/%s", strrchr(target, '/') + 1)
                                    : NULL;
    g_autofree char *cdev = ni_cdev_of(dir);
    g_autofree char *cnode = cdev ? g_strdup_printf("/dev/vfio/devices/%s", cdev) : NULL;

    if (!group || !cnode) {
        g_string_printf(why, "%s: no %s", dir, group ? "VFIO cdev" : "IOMMU group");
        return false;
    }
    return ni_node(nodes, group, true, why) &&
           (host != NI_HOST_NO_DEV_IOMMU || ni_node(nodes, cnode, true, why));
}

/* The nodes the host of @host keeps, stat()ed in the real /dev. */
static bool ni_collect_nodes(const NiPlatform *p, NiHost host, GPtrArray *nodes, GString *why)
{
    static const char *const base[] = { "/dev/null", "/dev/zero", "/dev/urandom",
                                        "/dev/vfio/vfio" };

    for (unsigned i = 0; i < G_N_ELEMENTS(base); i++) {
        if (!ni_node(nodes, base[i], i == 3, why)) {
            return false;
        }
    }
    if (host == NI_HOST_NO_CDEV && !ni_node(nodes, "/dev/iommu", true, why)) {
        return false;
    }
    for (unsigned i = 0;; i++) {
        g_autofree char *dir = ni_device_dir(p, i);

        if (!dir) {
            return true;
        }
        if (!ni_device_nodes(dir, host, nodes, why)) {
            return false;
        }
    }
}

/* A fresh /dev of @nodes (their modes and st_rdev); /dev/vfio/devices
 * only where there are cdevs. */
static bool ni_make_dev(GPtrArray *nodes, bool cdevs, GString *why)
{
    if (mount("tmpfs", "/dev", "tmpfs", MS_NOSUID, "mode=0755") < 0 ||
        mkdir("/dev/vfio", 0755) < 0 || (cdevs && mkdir("/dev/vfio/devices", 0755) < 0)) {
        g_string_printf(why, "a tmpfs on /dev: %s", g_strerror(errno));
        return false;
    }
    for (guint i = 0; i < nodes->len; i++) {
        NiNode *nd = g_ptr_array_index(nodes, i);

        if (mknod(nd->path, nd->st.st_mode & (S_IFMT | 07777), nd->st.st_rdev) < 0) {
            g_string_printf(why, "mknod %s (%u:%u): %s", nd->path, major(nd->st.st_rdev),
                            minor(nd->st.st_rdev), g_strerror(errno));
            return false;
        }
    }
    return true;
}

/* Every device's sysfs vfio-dev/ under an empty read-only tmpfs: a kernel
 * without CONFIG_VFIO_DEVICE_CDEV has none. */
static bool ni_hide_cdevs(const NiPlatform *p, GString *why)
{
    for (unsigned i = 0;; i++) {
        g_autofree char *dir = ni_device_dir(p, i);
        g_autofree char *vdir = dir ? g_build_filename(dir, "vfio-dev", NULL) : NULL;
        g_autofree char *left = NULL;

        if (!dir) {
            return true;
        }
        if (mount("tmpfs", vdir, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  "mode=0555") < 0) {
            g_string_printf(why, "a tmpfs on %s: %s", vdir, g_strerror(errno));
            return false;
        }
        if ((left = ni_cdev_of(dir))) {
            g_string_printf(why, "%s still shows %s", vdir, left);
            return false;
        }
    }
}

/* Every device's sysfs still shows its cdev (vfio-dev/vfioN). */
static bool ni_cdevs_shown(const NiPlatform *p, GString *why)
{
    for (unsigned i = 0;; i++) {
        g_autofree char *dir = ni_device_dir(p, i);
        g_autofree char *cdev = dir ? ni_cdev_of(dir) : NULL;

        if (!dir) {
            return true;
        }
        if (!cdev) {
            g_string_printf(why, "%s: no vfio-dev/vfioN in sysfs", dir);
            return false;
        }
    }
}

static void ni_node_free(gpointer q)
{
    g_free(((NiNode *)q)->path);
    g_free(q);
}

/* This process (a child) on a host of @host. */
static bool ni_enter_linux(const NiPlatform *p, NiHost host, GString *why)
{
    g_autoptr(GPtrArray) nodes = g_ptr_array_new_with_free_func(ni_node_free);

    if (!ni_collect_nodes(p, host, nodes, why)) {
        return false;
    }
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
        g_string_printf(why, "a mount namespace of its own: %s", g_strerror(errno));
        return false;
    }
    if (!ni_make_dev(nodes, host == NI_HOST_NO_DEV_IOMMU, why) ||
        (host != NI_HOST_NO_DEV_IOMMU && host != NI_HOST_NO_CDEV_NODE &&
         !ni_hide_cdevs(p, why))) {
        return false;
    }
    if (host == NI_HOST_NO_CDEV_NODE && !ni_cdevs_shown(p, why)) {
        return false;
    }
    if (g_file_test("/dev/iommu", G_FILE_TEST_EXISTS) != (host == NI_HOST_NO_CDEV)) {
        g_string_printf(why, "/dev/iommu %s", host == NI_HOST_NO_CDEV ? "missing" : "left");
        return false;
    }
    return true;
}

/* @topology with @key (vfio-cdev=false) in every [device] section. */
static char *ni_topology_without_cdevs(const char *topology, const char *key)
{
    g_auto(GStrv) lines = g_strsplit(topology, "\n", -1);
    GString *out = g_string_new(NULL);

    for (char **l = lines; *l; l++) {
        g_string_append_printf(out, "%s\n", *l);
        if (g_str_has_prefix(*l, "[device ")) {
            g_string_append_printf(out, "%s\n", key);
        }
    }
    return g_string_free(out, false);
}

/* The sysfs path of the model's first mdev, or NULL. */
static const char *ni_sim_mdev(VfiSim *sim)
{
    unsigned n = 0;
    g_autofree const char **names = vfi_sim_device_names(sim, &n);

    for (unsigned k = 0; k < n; k++) {
        if (!vfi_sim_device_bdf(sim, names[k])) {
            return vfi_sim_device_sysfs_path(sim, names[k]);
        }
    }
    return NULL;
}

/* The model's host: the VM's topology without cdevs (or without their
 * nodes), installed. */
static VfiSim *ni_enter_model(const NiPlatform *p, NiHost host, GString *why)
{
    g_autofree char *topo = ni_topology_without_cdevs(p->sim_topology,
        host == NI_HOST_NO_CDEV_NODE ? "vfio-cdev-node=false" : "vfio-cdev=false");
    g_autoptr(GError) err = NULL;
    VfiSim *sim = vfi_sim_new(&err);

    if (!sim || !vfi_sim_load_topology_data(sim, topo, &err)) {
        g_string_printf(why, "kernel model: %s", err->message);
        vfi_sim_free(sim);
        return NULL;
    }
    vfi_sim_install(sim);
    return sim;
}

/* ---- the README's flow --------------------------------------------------- */

/* The model's name of the device at @bdf. */
static const char *ni_sim_name(VfiSim *sim, const char *bdf)
{
    unsigned n = 0;
    g_autofree const char **names = vfi_sim_device_names(sim, &n);

    for (unsigned k = 0; k < n; k++) {
        if (!g_strcmp0(vfi_sim_device_bdf(sim, names[k]), bdf)) {
            return names[k];
        }
    }
    return NULL;
}

/* One DMA of a page by the edu (device 0) at @iova: the real edu, or on
 * the model the device's write (no data moves; it faults where nothing is
 * mapped). */
static bool ni_dma(NiRun *r, uint64_t iova, bool to_ram, GString *why)
{
    g_autoptr(GError) err = NULL;

    if (!r->sim) {
        return r->p->dma(r->dev[0], iova, to_ram, why);
    }
    if (!vfi_sim_dma_write(r->sim, ni_sim_name(r->sim, r->p->bdf[0]), iova, 4096, &err)) {
        g_string_printf(why, "%s", err->message);
        return false;
    }
    return true;
}

/* Open and attach every device with AUTO; type1 chosen, and why. */
static const char *ni_attach(NiRun *r)
{
    /* /dev/iommu is looked for on Linux only (the model has one) */
    bool no_iommu = !r->sim && r->host != NI_HOST_NO_CDEV;
    const char *want = r->host == NI_HOST_NO_DEV_IOMMU ? "(auto: no /dev/iommu)"
                       : no_iommu ? "(auto: the device has no VFIO cdev and there is no /dev/iommu)"
                                  : "(auto: the device has no VFIO cdev)";
    unsigned n = r->p->n + (r->p->mdev_path != NULL);

    r->as = vfi_address_space_new(NULL);
    r->be = vfi_iommufd_new();
    NI_CHECK(n <= NI_MAX_DEV, "%u devices", n);
    for (unsigned i = 0; i < n; i++) {
        /* as the README: by PCI address (the mdev by its sysfs path) */
        NI_OK((r->dev[r->n] = i < r->p->n ? vfi_device_open_pci(r->p->bdf[i], errp)
                                          : vfi_device_open_sysfs(r->p->mdev_path, errp)));
        NI_CHECK((vfi_device_get_fd(r->dev[r->n]) >= 0) == (r->host == NI_HOST_NO_DEV_IOMMU),
                 "%s: fd %d before the attach", vfi_device_get_name(r->dev[r->n]),
                 vfi_device_get_fd(r->dev[r->n]));
        NI_OK(vfi_address_space_attach_device(r->as, r->be, r->dev[r->n++], NULL, errp));
    }
    NI_CHECK(vfi_address_space_get_backend(r->as) == VFI_BACKEND_TYPE1, "backend %d",
             (int)vfi_address_space_get_backend(r->as));
    NI_CHECK(vfi_address_space_container_count(r->as) == 0 && vfi_iommufd_users(r->be) == 0 &&
             vfi_container_get_backend_kind(vfi_device_get_container(r->dev[0])) ==
                 VFI_BACKEND_TYPE1, "the IOMMUFD path was taken");
    fflush(r->trace_fp);
    NI_CHECK(r->trace && strstr(r->trace, want), "the trace does not say %s: %s", want,
             r->trace ? r->trace : "(none)");
    NI_CHECK(r->host != NI_HOST_NO_CDEV_NODE ||
             strstr(r->trace, "its VFIO cdev is in sysfs but has no node"),
             "the trace does not say the cdev has no node: %s", r->trace);
    return NULL;
}

/* The edu copies page 0 to page 1 through the mapping. */
static const char *ni_copy(NiRun *r)
{
    g_autoptr(GString) why = g_string_new(NULL);

    for (unsigned k = 0; k < 4096; k++) {
        r->ram[k] = (uint8_t)(k * 3 + 7);
    }
    NI_CHECK(ni_dma(r, NI_IOVA, false, why) && ni_dma(r, NI_IOVA + 4096, true, why),
             "DMA through the mapping: %s", why->str);
    NI_CHECK(r->sim || !memcmp(r->ram, r->ram + 4096, 4096), "copied data differ (0x%02x)",
             r->ram[4096]);
    return NULL;
}

/* After the unmap the edu's write lands nowhere (the model: a fault). */
static const char *ni_blocked(NiRun *r)
{
    g_autoptr(GString) why = g_string_new(NULL);
    bool done;

    memset(r->ram + 4096, 0x5a, 4096);
    done = ni_dma(r, NI_IOVA + 4096, true, why);
    NI_CHECK(r->sim ? !done : done, "DMA after the unmap: %s", r->sim ? "went through" : why->str);
    NI_CHECK(r->ram[4096] == 0x5a && r->ram[8191] == 0x5a, "DMA after unmap reached memory "
             "(0x%02x)", r->ram[4096]);
    return NULL;
}

/* Map, DMA, a migration round as the README's, unmap, no DMA after it. */
static const char *ni_migrate(NiRun *r)
{
    VfiDirtyLog log = { .base_iova = NI_IOVA, .page_size = 4096, .bitmap = r->bits,
                        .nr_pages = NI_PAGES };
    g_autofree char *blocker = NULL;
    const char *why;

    r->ram = mmap(NULL, NI_PAGES * 4096, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    NI_CHECK(r->ram != MAP_FAILED, "mmap: %s", g_strerror(errno));
    NI_OK(vfi_address_space_dma_map(r->as, NI_IOVA, NI_PAGES * 4096, r->ram, false, errp));
    if ((why = ni_copy(r))) {
        return why;
    }
    blocker = vfi_address_space_migration_blocker(r->as);
    NI_CHECK(!blocker, "blocker: %s", blocker);
    NI_OK(vfi_address_space_dirty_tracking_start(r->as, errp));
    NI_OK(vfi_address_space_sync_dirty(r->as, &log, errp));
    NI_CHECK(r->bits[0] == 0xffff, "synced 0x%llx, want every mapped page (type1)",
             (unsigned long long)r->bits[0]);
    NI_OK(vfi_address_space_dirty_tracking_stop(r->as, errp));
    NI_OK(vfi_address_space_dma_unmap(r->as, NI_IOVA, NI_PAGES * 4096, 0, errp));
    NI_CHECK(vfi_address_space_mapping_count(r->as) == 0, "mappings left");
    return ni_blocked(r);
}

/* Unplug and free everything: no fd (and on the model no object) left. */
static const char *ni_teardown(NiRun *r, unsigned fds)
{
    for (unsigned i = 0; i < r->n; i++) {
        NI_OK(vfi_address_space_detach_device(r->as, r->dev[i], errp));
        vfi_device_free(r->dev[i]);
    }
    r->n = 0;
    NI_OK(vfi_address_space_free(r->as, errp));
    NI_OK(vfi_iommufd_free(r->be, errp));
    munmap(r->ram, NI_PAGES * 4096);
    NI_CHECK(ni_open_fds() == fds, "%u fds open, %u before", ni_open_fds(), fds);
    NI_CHECK(!r->sim || (vfi_sim_type1_live(r->sim) == 0 && vfi_sim_open_fds(r->sim) == 0 &&
                         vfi_sim_live_objects(r->sim) == 0),
             "model: %u type1 objects, %u fds, %u objects left", vfi_sim_type1_live(r->sim),
             vfi_sim_open_fds(r->sim), vfi_sim_live_objects(r->sim));
    return NULL;
}

/* The child: enter the host, run the flow. */
static const char *ni_child(const NiPlatform *p, NiHost host)
{
    g_autoptr(GString) why = g_string_new(NULL);
    NiPlatform q = *p;
    NiRun r = { .p = &q, .host = host };
    const char *fail;
    unsigned fds;

    if (p->sim_topology ? !(r.sim = ni_enter_model(p, host, why)) : !ni_enter_linux(p, host, why)) {
        return ni_fail("a host with %s: %s", ni_host_name[host], why->str);
    }
    if (r.sim && p->mdev_path) {
        q.mdev_path = ni_sim_mdev(r.sim);     /* the mdev of this model */
    }
    r.trace_fp = open_memstream(&r.trace, &r.trace_len);
    NI_CHECK(r.trace_fp, "open_memstream");
    vfi_trace_set_output(r.trace_fp);
    NI_CHECK(vfi_trace_enable("vfi_as_backend", true) == 1, "no trace event vfi_as_backend");
    NI_CHECK(vfi_trace_enable("vfi_device_group_only", true) == 1,
             "no trace event vfi_device_group_only");
    fds = ni_open_fds();
    fail = ni_attach(&r);
    fail = fail ? fail : ni_migrate(&r);
    fail = fail ? fail : ni_teardown(&r, fds);
    return fail;
}

/* Run the flow on a host of @host in a child process. */
static G_GNUC_UNUSED const char *ni_run(const NiPlatform *p, NiHost host)
{
    int fd[2], status = 0;
    size_t len = 0;
    ssize_t n;
    pid_t pid;

    if (host == NI_HOST_NO_DEV_IOMMU && p->sim_topology) {
        return "SKIP: the kernel model always has /dev/iommu (AUTO looks for it on Linux only)";
    }
    if (pipe(fd) < 0) {
        return ni_fail("pipe: %s", g_strerror(errno));
    }
    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        const char *why;

        close(fd[0]);
        why = ni_child(p, host);
        if (why && write(fd[1], why, strlen(why)) < 0) {
            _exit(2);
        }
        _exit(0);
    }
    close(fd[1]);
    while (pid > 0 && len < sizeof(ni_why) - 1 &&
           (n = read(fd[0], ni_why + len, sizeof(ni_why) - 1 - len)) > 0) {
        len += (size_t)n;
    }
    ni_why[len] = 0;
    close(fd[0]);
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status)) {
        g_autofree char *said = g_strdup(ni_why);

        return ni_fail("the child (a host with %s) %s: status 0x%x %s", ni_host_name[host],
                       pid < 0 ? "was not made" : "did not end well", (unsigned)status, said);
    }
    return len ? ni_why : NULL;
}

#endif
