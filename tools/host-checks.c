/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd tool: the checks of check-host (host-checks.h).
 */
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

#include "vfio-iommufd/iommufd.h"
#include "vfio-iommufd/version.h"
#include "host-checks.h"

#define BIND_HINT \
    "bind the device to pass through to vfio-pci (BDF: its PCI address, see " \
    "'vfio-iommufd list'): echo vfio-pci > /sys/bus/pci/devices/BDF/driver_override; " \
    "echo BDF > /sys/bus/pci/devices/BDF/driver/unbind; echo BDF > /sys/bus/pci/drivers_probe"

static void G_GNUC_PRINTF(5, 6) add(HostEnv *e, const char *id, CheckStatus st,
                                    const char *hint, const char *fmt, ...)
{
    Check c = { .id = id, .status = st, .hint = g_strdup(hint) };
    va_list ap;

    va_start(ap, fmt);
    c.message = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_array_append_val(e->checks, c);
}

static char *under_root(const HostEnv *e, const char *rel)
{
    return g_build_filename(e->root, rel, NULL);
}

static const char *cfg(const HostEnv *e, const char *option)
{
    return kernel_config_get(e->config, option);
}

const char *check_status_str(CheckStatus s)
{
    static const char *const names[] = { "ok", "warn", "FAIL", "skip" };

    return names[s];
}

/* ---- setup ----------------------------------------------------------------- */

static void clear_check(gpointer p)
{
    Check *c = p;

    g_free(c->message);
    g_free(c->hint);
}

static void clear_probed(gpointer p)
{
    device_probe_clear(&((ProbedDevice *)p)->probe);
}

static bool probe_all(HostEnv *e, GError **errp)
{
    VfiIommufd *be = vfi_iommufd_new();

    for (guint i = 0; i < e->hosts->len; i++) {
        ProbedDevice pd = { .host = g_ptr_array_index(e->hosts, i) };

        if (pd.host->cdev_attr) {
            device_probe(be, pd.host->sysfs_path, &pd.probe);
            g_array_append_val(e->probed, pd);
        }
    }
    return vfi_iommufd_free(be, errp);
}

bool host_env_init(HostEnv *e, const ToolKernel *k, const char *root, GError **errp)
{
    e->k = k;
    e->root = root ? root : "/";
    e->fake_root = root != NULL;
    e->sysfs = root ? g_build_filename(root, "sys", NULL) : g_strdup(k->sysfs);
    e->release = kernel_release(e->root);
    if (!k->sim) {
        e->config = kernel_config_load(e->root, e->release, &e->config_error);
    }
    e->checks = g_array_new(FALSE, TRUE, sizeof(Check));
    g_array_set_clear_func(e->checks, clear_check);
    e->probed = g_array_new(FALSE, TRUE, sizeof(ProbedDevice));
    g_array_set_clear_func(e->probed, clear_probed);
    e->hosts = host_devices_scan(e->sysfs, errp);
    if (!e->hosts) {
        return false;
    }
    return e->fake_root || probe_all(e, errp);
}

void host_env_clear(HostEnv *e)
{
    g_clear_pointer(&e->sysfs, g_free);
    g_clear_pointer(&e->release, g_free);
    g_clear_pointer(&e->config, kernel_config_free);
    g_clear_error(&e->config_error);
    g_clear_pointer(&e->probed, g_array_unref);
    g_clear_pointer(&e->hosts, g_ptr_array_unref);
    g_clear_pointer(&e->checks, g_array_unref);
}

/* ---- the kernel and its configuration --------------------------------------- */

static void check_kernel(HostEnv *e)
{
    unsigned major = 0, minor = 0;

    if (e->k->sim) {
        add(e, "kernel", CHECK_OK, NULL, "the kernel model (libvfio-iommufd-sim, "
            "vfio-iommufd %s)", vfi_version_string());
        return;
    }
    if (sscanf(e->release, "%u.%u", &major, &minor) != 2) {
        add(e, "kernel", CHECK_WARN, NULL, "Linux %s: cannot tell its version", e->release);
    } else if (major * 1000 + minor < 6006) {
        add(e, "kernel", CHECK_FAIL, "boot Linux 6.6 or later (6.7 or later for IOMMU "
            "dirty tracking)", "Linux %s is older than 6.6, the first with VFIO device "
            "files on IOMMUFD", e->release);
    } else if (major * 1000 + minor < 6007) {
        add(e, "kernel", CHECK_WARN, "boot Linux 6.7 or later to migrate with IOMMU dirty "
            "tracking", "Linux %s has no IOMMU dirty tracking (it came in 6.7)", e->release);
    } else {
        add(e, "kernel", CHECK_OK, NULL, "Linux %s", e->release);
    }
}

static void check_config_source(HostEnv *e)
{
    if (e->k->sim) {
        add(e, "kernel-config", CHECK_SKIP, NULL, "the kernel model has no build "
            "configuration");
    } else if (e->config) {
        add(e, "kernel-config", CHECK_OK, NULL, "read from %s", e->config->source);
    } else if (e->config_error) {
        add(e, "kernel-config", CHECK_WARN, NULL, "cannot read the kernel configuration: "
            "%s; the options are judged from what the kernel shows",
            e->config_error->message);
    } else {
        add(e, "kernel-config", CHECK_WARN, "a kernel built with CONFIG_IKCONFIG_PROC "
            "has /proc/config.gz", "no kernel configuration (no /proc/config.gz, no "
            "/boot/config-%s): the options are judged from what the kernel shows",
            e->release);
    }
}

typedef struct OptionCheck {
    const char *id;
    const char *option;
    CheckStatus unset;          /* the status when the kernel lacks it */
    const char *what;           /* what it gives */
    const char *hint;           /* when unset */
} OptionCheck;

/* @seen: what the kernel shows proves the option is on. */
static void check_option(HostEnv *e, const OptionCheck *oc, bool seen, const char *evidence)
{
    const char *v = cfg(e, oc->option);

    if (e->k->sim) {
        add(e, oc->id, CHECK_SKIP, NULL, "%s: the kernel model has it", oc->option);
    } else if (e->config && !v) {
        add(e, oc->id, oc->unset, oc->hint, "the running kernel was built without %s "
            "(%s)", oc->option, oc->what);
    } else if (e->config) {
        add(e, oc->id, CHECK_OK, NULL, "%s=%s%s", oc->option, v,
            g_str_equal(v, "m") ? " (a module)" : "");
    } else if (seen) {
        add(e, oc->id, CHECK_OK, NULL, "%s: on (%s)", oc->option, evidence);
    } else {
        add(e, oc->id, CHECK_WARN, NULL, "%s: cannot tell (no kernel configuration, "
            "and %s)", oc->option, evidence);
    }
}

static bool path_exists(const HostEnv *e, const char *rel)
{
    g_autofree char *path = under_root(e, rel);

    return g_file_test(path, G_FILE_TEST_EXISTS);
}

static bool any_cdev(const HostEnv *e)
{
    for (guint i = 0; i < e->hosts->len; i++) {
        if (((HostDevice *)g_ptr_array_index(e->hosts, i))->cdev_attr) {
            return true;
        }
    }
    return path_exists(e, "dev/vfio/devices");
}

static void check_options(HostEnv *e)
{
    static const OptionCheck iommufd = {
        "config-iommufd", "CONFIG_IOMMUFD", CHECK_FAIL, "/dev/iommu",
        "boot a kernel built with CONFIG_IOMMUFD=y or =m (Linux 6.6 or later; some "
        "distributions' kernels, Debian's among them, are built without it)",
    }, cdev = {
        "config-vfio-device-cdev", "CONFIG_VFIO_DEVICE_CDEV", CHECK_FAIL,
        "VFIO device files /dev/vfio/devices/vfioN", "boot a kernel built with "
        "CONFIG_VFIO, CONFIG_IOMMUFD and CONFIG_VFIO_DEVICE_CDEV=y (Linux 6.6 or later)",
    }, pci = {
        "config-vfio-pci", "CONFIG_VFIO_PCI", CHECK_WARN,
        "the vfio-pci driver: without it only mdevs can be passed through",
        "boot a kernel built with CONFIG_VFIO_PCI=y or =m",
    };
    g_autofree char *vfio_pci = g_build_filename(e->sysfs, "bus", "pci", "drivers",
                                                 "vfio-pci", NULL);
    bool pci_loaded = g_file_test(vfio_pci, G_FILE_TEST_IS_DIR);

    check_option(e, &iommufd, path_exists(e, "dev/iommu"),
                 path_exists(e, "dev/iommu") ? "/dev/iommu exists" : "no /dev/iommu");
    check_option(e, &cdev, any_cdev(e), any_cdev(e) ? "VFIO device files exist" :
                 "no VFIO device file (no device bound to a VFIO driver?)");
    check_option(e, &pci, pci_loaded, pci_loaded ? "the vfio-pci driver is loaded" :
                 "the vfio-pci driver is not loaded");
}

/* ---- /dev/iommu ------------------------------------------------------------- */

static const char *dev_iommu_hint(const HostEnv *e)
{
    const char *v = cfg(e, "CONFIG_IOMMUFD");

    if (v && g_str_equal(v, "m")) {
        return "load the module: modprobe iommufd";
    }
    if (v) {
        return "mount devtmpfs on /dev (or let udev create /dev/iommu)";
    }
    if (e->config) {
        return "it needs a kernel with CONFIG_IOMMUFD (see config-iommufd)";
    }
    return "modprobe iommufd, or boot a kernel built with CONFIG_IOMMUFD";
}

/* Open /dev/iommu through the library (the model's on --sim). */
static void try_connect(HostEnv *e)
{
    g_autoptr(GError) err = NULL;
    VfiIommufd *be = vfi_iommufd_new();
    bool ok = vfi_iommufd_connect(be, &err);

    if (ok) {
        vfi_iommufd_disconnect(be);
        add(e, "dev-iommu", CHECK_OK, NULL, "/dev/iommu opens: IOMMUFD is available");
    } else {
        bool perm = g_error_matches(err, VFI_KERNEL_ERROR, EACCES) ||
                    g_error_matches(err, VFI_KERNEL_ERROR, EPERM);

        add(e, "dev-iommu", CHECK_FAIL, perm ? "run as root, or give the VMM's user "
            "access to /dev/iommu and to the /dev/vfio/devices/vfioN it uses" : NULL,
            "/dev/iommu cannot be opened: %s", err->message);
    }
    vfi_iommufd_free(be, NULL);
}

static void check_dev_iommu(HostEnv *e)
{
    g_autofree char *path = under_root(e, "dev/iommu");
    struct stat st;

    if (e->k->sim) {
        try_connect(e);
    } else if (stat(path, &st) < 0) {
        int err = errno;

        add(e, "dev-iommu", CHECK_FAIL, dev_iommu_hint(e), "no %s: %s (errno %d)", path,
            g_strerror(err), err);
    } else if (e->fake_root) {
        add(e, "dev-iommu", CHECK_OK, NULL, "%s exists (not opened: --root)", path);
    } else if (!S_ISCHR(st.st_mode)) {
        add(e, "dev-iommu", CHECK_FAIL, NULL, "%s is not a character device", path);
    } else {
        try_connect(e);
    }
}

/* ---- drivers and devices ----------------------------------------------------- */

/* ", "-joined names of the hosts matching @pred. */
static char *host_names(const HostEnv *e, bool (*pred)(const HostDevice *), unsigned *n)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new();

    for (guint i = 0; i < e->hosts->len; i++) {
        HostDevice *h = g_ptr_array_index(e->hosts, i);

        if (pred(h)) {
            g_ptr_array_add(names, h->name);
        }
    }
    *n = names->len;
    g_ptr_array_add(names, NULL);
    return g_strjoinv(", ", (char **)names->pdata);
}

static bool on_vfio_pci(const HostDevice *h)
{
    return g_strcmp0(h->driver, "vfio-pci") == 0;
}

static bool has_vfio_dev(const HostDevice *h)
{
    return h->cdev != NULL;
}

static bool no_cdev_attr(const HostDevice *h)
{
    return h->cdev && !h->cdev_attr;
}

static void check_vfio_pci(HostEnv *e)
{
    g_autofree char *dir = g_build_filename(e->sysfs, "bus", "pci", "drivers", "vfio-pci",
                                            NULL);
    const char *v = cfg(e, "CONFIG_VFIO_PCI");
    unsigned n;
    g_autofree char *bound = host_names(e, on_vfio_pci, &n);

    if (g_file_test(dir, G_FILE_TEST_IS_DIR)) {
        add(e, "vfio-pci-driver", CHECK_OK, n ? NULL : BIND_HINT, "the vfio-pci driver is "
            "loaded, %u device(s) bound%s%s", n, n ? ": " : "", bound);
    } else {
        add(e, "vfio-pci-driver", CHECK_WARN, v && g_str_equal(v, "m") ? "modprobe vfio-pci"
            : v || !e->config ? "modprobe vfio-pci (CONFIG_VFIO_PCI)" :
            "boot a kernel built with CONFIG_VFIO_PCI", "the vfio-pci driver is not "
            "loaded (no %s)", dir);
    }
}

static void check_vfio_devices(HostEnv *e)
{
    unsigned n;
    g_autofree char *names = host_names(e, has_vfio_dev, &n);

    if (n) {
        add(e, "vfio-devices", CHECK_OK, NULL, "%u device(s) bound to a VFIO driver: %s",
            n, names);
    } else {
        add(e, "vfio-devices", CHECK_FAIL, BIND_HINT, "no device bound to vfio-pci (no "
            "PCI device or mdev has a vfio-dev entry in %s)", e->sysfs);
    }
}

static void check_cdev_nodes(HostEnv *e)
{
    unsigned n_vfio, n_bad;
    g_autofree char *vfio = host_names(e, has_vfio_dev, &n_vfio);
    g_autofree char *bad = host_names(e, no_cdev_attr, &n_bad);
    g_autoptr(GPtrArray) missing = g_ptr_array_new_with_free_func(g_free);

    if (!n_vfio) {
        add(e, "vfio-cdev", CHECK_SKIP, NULL, "no VFIO device");
        return;
    }
    if (n_bad) {
        add(e, "vfio-cdev", CHECK_FAIL, "boot a kernel built with CONFIG_VFIO_DEVICE_CDEV=y",
            "no VFIO device file for %s (vfio-dev/vfioN without a dev attribute: the "
            "kernel was built without CONFIG_VFIO_DEVICE_CDEV)", bad);
        return;
    }
    for (guint i = 0; !e->k->sim && i < e->hosts->len; i++) {
        HostDevice *h = g_ptr_array_index(e->hosts, i);
        g_autofree char *rel = h->cdev ? g_build_filename("dev/vfio/devices", h->cdev, NULL)
                                       : NULL;

        if (rel && !path_exists(e, rel)) {
            g_ptr_array_add(missing, g_strdup_printf("/%s (%s)", rel, h->name));
        }
    }
    if (missing->len) {
        g_autofree char *list = NULL;

        g_ptr_array_add(missing, NULL);
        list = g_strjoinv(", ", (char **)missing->pdata);
        add(e, "vfio-cdev", CHECK_FAIL, "mount devtmpfs on /dev (or let udev create the "
            "nodes)", "missing device files: %s", list);
    } else {
        add(e, "vfio-cdev", CHECK_OK, NULL, "every VFIO device has its device file in "
            "/dev/vfio/devices");
    }
}

/* ---- through the library: bind, hw info, DMA logging ------------------------- */

static void check_bind(HostEnv *e)
{
    g_autoptr(GString) ok = g_string_new(NULL);
    g_autoptr(GString) failed = g_string_new(NULL);
    unsigned n_ok = 0;

    if (e->fake_root || !e->probed->len) {
        add(e, "bind", CHECK_SKIP, NULL, e->fake_root ? "not tried (--root: files only)"
            : "no VFIO device file to bind");
        return;
    }
    for (guint i = 0; i < e->probed->len; i++) {
        const ProbedDevice *pd = &g_array_index(e->probed, ProbedDevice, i);

        if (pd->probe.error) {
            g_string_append_printf(failed, "%s%s: %s", failed->len ? "; " : "",
                                   pd->host->name, pd->probe.error->message);
        } else {
            g_string_append_printf(ok, "%s%s", ok->len ? ", " : "", pd->host->name);
            n_ok++;
        }
    }
    if (!failed->len) {
        add(e, "bind", CHECK_OK, NULL, "%u device(s) bind to an iommufd: %s", n_ok, ok->str);
    } else {
        add(e, "bind", n_ok ? CHECK_WARN : CHECK_FAIL, "a device a VMM uses cannot be "
            "bound again; otherwise see the error", "%u of %u device(s) bind to an "
            "iommufd%s%s; failed: %s", n_ok, e->probed->len, n_ok ? ": " : "", ok->str,
            failed->str);
    }
}

static void check_dirty(HostEnv *e)
{
    g_autoptr(GString) iommu = g_string_new(NULL);
    g_autoptr(GString) logging = g_string_new(NULL);

    for (guint i = 0; i < e->probed->len; i++) {
        const ProbedDevice *pd = &g_array_index(e->probed, ProbedDevice, i);

        if (device_probe_iommu_dirty(&pd->probe)) {
            g_string_append_printf(iommu, "%s%s", iommu->len ? ", " : "", pd->host->name);
        }
        if (pd->probe.have_logging && pd->probe.dma_logging) {
            g_string_append_printf(logging, "%s%s", logging->len ? ", " : "", pd->host->name);
        }
    }
    if (e->fake_root || !e->probed->len) {
        add(e, "dirty-tracking", CHECK_SKIP, NULL, "no device probed");
    } else if (iommu->len || logging->len) {
        add(e, "dirty-tracking", CHECK_OK, NULL, "IOMMU dirty tracking: %s; device DMA "
            "logging: %s", iommu->len ? iommu->str : "none",
            logging->len ? logging->str : "none");
    } else {
        add(e, "dirty-tracking", CHECK_WARN, "IOMMU dirty tracking needs Linux 6.7 or "
            "later and an IOMMU reporting it (IOMMU_HW_CAP_DIRTY_TRACKING; emulated IOMMUs "
            "such as QEMU's intel-iommu do not); device DMA logging needs a VFIO variant "
            "driver offering it", "no VFIO device is dirty-tracked by its IOMMU or logs "
            "its own DMA: a guest with these devices cannot be live-migrated");
    }
}

void host_checks_run(HostEnv *e)
{
    check_kernel(e);
    check_config_source(e);
    check_options(e);
    check_dev_iommu(e);
    check_vfio_pci(e);
    check_vfio_devices(e);
    check_cdev_nodes(e);
    check_bind(e);
    check_dirty(e);
}
