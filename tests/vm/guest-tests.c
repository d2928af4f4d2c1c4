/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Real-kernel integration tests (issue 5), TAP output.
 *
 * Runs inside the QEMU guest booted by tests/vm/run.sh, or on a real host:
 *
 *   guest-tests --mode iommu   boot 1: intel-iommu, two edu devices bound to
 *                              vfio-pci, one mtty mdev (VMTEST_MDEV or the
 *                              only entry of /sys/bus/mdev/devices)
 *   guest-tests --mode mock    boot 2: the kernel's mock IOMMU
 *                              (CONFIG_IOMMUFD_TEST) for dirty tracking
 *   guest-tests --sim          the boot-1 scenarios on the kernel model
 *                              (sim/): a VfiSim mirroring the VM (one VT-d
 *                              instance without dirty tracking, two PCI
 *                              devices with the edu's ids 1234:11e8, one
 *                              mdev offering DMA logging), with the same
 *                              assertions, so model and real kernel must
 *                              agree (meson suite "agreement"); only what
 *                              needs the real edu device is simulated
 *   guest-tests                a real host: the devices listed in
 *                              VFI_TEST_DEVICES (already bound to
 *                              vfio-pci), optional VFI_TEST_MDEV;
 *                              skips with a reason when none is given
 *
 * Everything goes through the library's public API, except the two things
 * the library does not offer: the BAR0 mmap / config space write that lets
 * the edu device do DMA, and IOMMU_TEST_CMD (the mock IOMMU's test ioctl,
 * from the kernel source's iommufd_test.h, found at build time).
 *
 * The plan (1..N) is printed first and every test prints exactly one result,
 * so a crash shows as missing results.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>
#include <linux/pci_regs.h>
#include <glib.h>

#include "vfio-iommufd/build.h"
#include "vfio-iommufd/error.h"
#include "vfio-iommufd/iommufd.h"
#include "vfio-iommufd/device.h"
#include "vfio-iommufd/container.h"
#include "vfio-iommufd/dirty.h"
#include "vfio-iommufd/kernel.h"
#include "vfio-iommufd/device-pasid.h"
#include "vfio-iommufd/viommu.h"
#include "vfio-iommufd/live-update.h"
#include "vfio-iommufd-sim/sim.h"
#include "viommu-scenarios.h"

/* The mock IOMMU's test ioctl: from the kernel source (run.sh adds its
 * drivers/iommu/iommufd to the include path). Without it the mock tests are
 * left out and --mode mock skips. */
#if defined(__has_include)
#if __has_include("iommufd_test.h")
#include "iommufd_test.h"
#define HAVE_IOMMUFD_TEST_H 1
#endif
#endif

/* ---- tiny TAP runner ----------------------------------------------------- */

typedef enum { T_PASS, T_FAIL, T_SKIP } TResult;

typedef enum { MODE_HOST, MODE_IOMMU, MODE_MOCK, MODE_SIM } Mode;

#define EDU_MAX 8

typedef struct Ctx {
    Mode mode;
    bool strict;                 /* the emulated platform: exact expectations */
    VfiSim *sim;                /* --sim: the kernel model standing for the VM */
    GString *why;                /* first failure / skip reason of a test */

    /* iommu / host mode */
    VfiIommufd *be;
    uint32_t ioas;
    char *bdf[EDU_MAX];
    unsigned nr_pci;
    bool is_edu[EDU_MAX];
    VfiDevice *pci[EDU_MAX];
    char *mdev_path;
    VfiDevice *mdev;
    VfiAddressSpace *as;

    /* mock mode */
    int fd;                      /* the iommufd (backend's) */
    uint32_t mock_ioas;
    uint32_t stdev, idev, auto_hwpt;
    uint32_t stdev_a, stdev_b, stdev_n, idev_n;
    uint32_t hwpt_a, hwpt_b, hwpt_plain;
    void *mock_buf;
    void *mock_buf2;             /* the mapping unmapped during tracking */
    uint64_t mock_align;         /* the mock IOAS's IOVA alignment */
    struct MockLayout *lay;      /* the IOPTEs of the main mapping (mock_buf) */
    uint64_t mock_marked[2][4];  /* the test's model: per dirty HWPT (a, b), the 2 KiB
                                  * pages of the main mapping marked dirty and
                                  * not cleared since */
    /* dirty readers (the library's query path): a, b, both */
    VfiDirtyReader *rd_a, *rd_b, *rd_ab;
} Ctx;

typedef struct Test {
    const char *name;
    TResult (*fn)(Ctx *c);
} Test;

static void G_GNUC_PRINTF(2, 3) note(Ctx *c, const char *fmt, ...)
{
    va_list ap;

    (void)c;
    va_start(ap, fmt);
    printf("# ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

static TResult G_GNUC_PRINTF(3, 4) set_why(Ctx *c, TResult r, const char *fmt, ...)
{
    va_list ap;

    if (c->why->len == 0) {
        va_start(ap, fmt);
        g_string_vprintf(c->why, fmt, ap);
        va_end(ap);
    }
    return r;
}

#define FAIL(...) return set_why(c, T_FAIL, __VA_ARGS__)
#define SKIP(...) return set_why(c, T_SKIP, __VA_ARGS__)

#define CHECK(cond, ...) do {                                              \
        if (!(cond)) {                                                     \
            set_why(c, T_FAIL, "line %d: %s: ", __LINE__, #cond);          \
            g_string_append_printf(c->why, __VA_ARGS__);                   \
            return T_FAIL;                                                 \
        }                                                                  \
    } while (0)

/* A library call that must succeed. */
#define OK(call) do {                                                      \
        g_autoptr(GError) ok_err_ = NULL;                                  \
        GError **errp = &ok_err_;                                          \
        if (!(call)) {                                                     \
            return set_why(c, T_FAIL, "line %d: %s failed: %s", __LINE__,  \
                           #call, ok_err_ ? ok_err_->message : "(no GError)"); \
        }                                                                  \
    } while (0)

/* A library call that must fail with a kernel errno. */
#define KERR(call, want) do {                                              \
        g_autoptr(GError) kerr_err_ = NULL;                                \
        GError **errp = &kerr_err_;                                        \
        if (call) {                                                        \
            return set_why(c, T_FAIL, "line %d: %s succeeded, expected %s", \
                           __LINE__, #call, g_strerror(want));             \
        }                                                                  \
        if (!g_error_matches(kerr_err_, VFI_KERNEL_ERROR, want)) { \
            return set_why(c, T_FAIL, "line %d: %s: expected kernel %s, got %s", \
                           __LINE__, #call, g_strerror(want),              \
                           kerr_err_ ? kerr_err_->message : "(no GError)"); \
        }                                                                  \
    } while (0)

/* Exact on the emulated platform; a note on a real host. */
#define EXPECT_VM(cond, ...) do {                                          \
        if (!(cond)) {                                                     \
            if (c->strict) {                                               \
                CHECK(cond, __VA_ARGS__);                                  \
            } else {                                                       \
                note(c, "host differs from the VM expectation: %s", #cond); \
            }                                                              \
        }                                                                  \
    } while (0)

static int run_tests(Ctx *c, const Test *tests, unsigned n)
{
    unsigned i, failed = 0;

    printf("1..%u\n", n);
    fflush(stdout);
    for (i = 0; i < n; i++) {
        TResult r;

        g_string_truncate(c->why, 0);
        r = tests[i].fn(c);
        switch (r) {
        case T_PASS:
            printf("ok %u - %s\n", i + 1, tests[i].name);
            break;
        case T_SKIP:
            printf("ok %u - %s # SKIP %s\n", i + 1, tests[i].name, c->why->str);
            break;
        default:
            failed++;
            printf("not ok %u - %s\n", i + 1, tests[i].name);
            printf("#   %s\n", c->why->str);
            break;
        }
        fflush(stdout);
    }
    printf("# %u of %u failed\n", failed, n);
    fflush(stdout);
    return failed ? 1 : 0;
}

/* ---- helpers ------------------------------------------------------------- */

static bool read_sysfs_hex(const char *dir, const char *file, unsigned long *val)
{
    g_autofree char *path = g_build_filename(dir, file, NULL);
    g_autofree char *text = NULL;

    if (!g_file_get_contents(path, &text, NULL, NULL)) {
        return false;
    }
    *val = strtoul(text, NULL, 16);
    return true;
}

/* <sysfs>/@rel: "/sys" on Linux, the model's tree in --sim mode. */
static char *sysfs_path(const char *rel)
{
    return g_build_filename(vfi_kernel_sysfs_root(), rel, NULL);
}

static bool is_edu_bdf(const char *bdf)
{
    g_autofree char *pci = sysfs_path("bus/pci/devices");
    g_autofree char *dir = g_build_filename(pci, bdf, NULL);
    unsigned long vendor, device;

    return read_sysfs_hex(dir, "vendor", &vendor) && read_sysfs_hex(dir, "device", &device) &&
           vendor == 0x1234 && device == 0x11e8;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* All edu devices (1234:11e8) in sysfs, sorted. */
static unsigned scan_edu(char **out, unsigned max)
{
    g_autofree char *pci = sysfs_path("bus/pci/devices");
    DIR *d = opendir(pci);
    struct dirent *e;
    unsigned n = 0;

    if (!d) {
        return 0;
    }
    while ((e = readdir(d)) && n < max) {
        if (e->d_name[0] != '.' && is_edu_bdf(e->d_name)) {
            out[n++] = g_strdup(e->d_name);
        }
    }
    closedir(d);
    qsort(out, n, sizeof(out[0]), cmp_str);
    return n;
}

/* The mdev to test: in the VM the one /init made (VMTEST_MDEV, else the
 * only one in sysfs), on the model the only one in its sysfs; on a host
 * only VFI_TEST_MDEV (never an mdev the user did not name). */
static char *find_mdev(Mode mode)
{
    const char *env = mode == MODE_SIM ? NULL :
                      getenv(mode == MODE_IOMMU ? "VMTEST_MDEV" : "VFI_TEST_MDEV");
    g_autofree char *mdevs = sysfs_path("bus/mdev/devices");
    DIR *d;
    struct dirent *e;
    char *found = NULL;

    if (env && *env) {
        return g_strdup(env);
    }
    if (mode != MODE_IOMMU && mode != MODE_SIM) {
        return NULL;
    }
    d = opendir(mdevs);
    if (!d) {
        return NULL;
    }
    while ((e = readdir(d))) {
        if (e->d_name[0] != '.' && !found) {
            found = g_build_filename(mdevs, e->d_name, NULL);
        }
    }
    closedir(d);
    return found;
}

static bool in_ranges(const VfiIovaRange *r, size_t n, uint64_t start, uint64_t last)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (start >= r[i].start && last <= r[i].last) {
            return true;
        }
    }
    return false;
}

static bool overlaps_ranges(const VfiIovaRange *r, size_t n, uint64_t start, uint64_t last)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (start <= r[i].last && last >= r[i].start) {
            return true;
        }
    }
    return false;
}

static void *alloc_pages(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED) {
        return NULL;
    }
    memset(p, 0, size);
    return p;
}

/* The running kernel's release (uname): @major.@minor; 0.0 if unreadable. */
static void kernel_release(unsigned *major, unsigned *minor)
{
    struct utsname u;

    *major = *minor = 0;
    if (uname(&u) == 0 && sscanf(u.release, "%u.%u", major, minor) != 2) {
        *major = *minor = 0;
    }
}

/* Whether the running kernel is release @major.@minor or later. */
static bool kernel_at_least(unsigned major, unsigned minor)
{
    unsigned ma, mi;

    kernel_release(&ma, &mi);
    return ma > major || (ma == major && mi >= minor);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- the scenarios of boot 1 (iommu, host, --sim), one header an area ---- */
#include "guest-backend.h"
#include "guest-devices.h"
#include "guest-containers.h"
#include "guest-migration.h"
#include "guest-dma.h"
#include "guest-map-file.h"
#include "guest-newer-uapi.h"
#include "guest-nest-parent.h"
#include "guest-dma-buf.h"
#include "guest-live-update.h"
#include "guest-type1.h"

/* ---- the README's flow with AUTO on a host without IOMMUFD ---- */
#include "no-iommufd-scenarios.h"

static const char *sim_topology(void);

/* no-iommufd-scenarios.h's DMA: one page by the edu through its fd. */
static bool ni_edu_dma(VfiDevice *dev, uint64_t iova, bool to_ram, GString *why)
{
    Edu e = { 0 };
    bool ok = edu_open_fd(&e, vfi_device_get_fd(dev), why) &&
              edu_dma(&e, to_ram ? EDU_BUF : iova, to_ram ? iova : EDU_BUF, 4096, to_ram);

    if (!ok && !why->len) {
        g_string_printf(why, "edu DMA timed out");
    }
    edu_close(&e);
    return ok;
}

static TResult t_no_iommufd(Ctx *c, NiHost host)
{
    NiPlatform p = { .sim_topology = c->sim ? sim_topology() : NULL, .bdf = c->bdf,
                     .n = c->nr_pci, .mdev_path = c->mdev_path, .dma = ni_edu_dma };
    const char *why;

    CHECK(c->nr_pci && c->is_edu[0], "no edu");
    why = ni_run(&p, host);
    if (why && g_str_has_prefix(why, "SKIP: ")) {
        SKIP("%s", why + 6);
    }
    CHECK(!why, "%s", why);
    return T_PASS;
}

static TResult t_ni_no_iommufd(Ctx *c) { return t_no_iommufd(c, NI_HOST_NO_IOMMUFD); }
static TResult t_ni_no_cdev(Ctx *c) { return t_no_iommufd(c, NI_HOST_NO_CDEV); }
static TResult t_ni_no_dev_iommu(Ctx *c) { return t_no_iommufd(c, NI_HOST_NO_DEV_IOMMU); }
static TResult t_ni_no_cdev_node(Ctx *c) { return t_no_iommufd(c, NI_HOST_NO_CDEV_NODE); }

static const Test iommu_tests[] = {
    { "backend: connect", t_backend_connect },
    { "backend: IOAS alloc", t_ioas_alloc },
    { "backend: IOVA ranges", t_iova_ranges },
    { "backend: map at a fixed IOVA, overlap gives EEXIST", t_map_fixed },
    { "backend: map at a kernel-chosen IOVA", t_map_any },
    { "backend: map read-only", t_map_readonly },
    { "backend: unmap, again gives ENOENT", t_unmap },
    { "backend: unmap-all", t_unmap_all },
    { "devices: find the devices in sysfs", t_find_devices },
    { "devices: open the cdev from the PCI address", t_open_pci },
    { "devices: bind", t_bind },
    { "devices: device info", t_device_info },
    { "devices: hot reset: ENODEV on the root bus, the edu behind a root port reset",
      t_hot_reset },
    { "devices: hw info (VT-d, no dirty capability)", t_hw_info },
    { "devices: dirty-tracking HWPT refused (EOPNOTSUPP)", t_hwpt_dirty_refused },
    { "backend: destroy of a used IOAS/HWPT gives EBUSY, then ENOENT", t_destroy_busy },
    { "devices: mdev detection, bind, hw info ENOENT", t_mdev_detect },
    { "containers: devices share one HWPT, one attempt each, no dirty flag", t_container_attach },
    { "containers: the mdev attaches to the IOAS", t_container_mdev },
    { "kernel: IOAS ranges after attach exclude the MSI window", t_kernel_ranges_attached },
    { "containers: IOVA ranges and alignment agree with the kernel's", t_container_ranges },
    { "containers: unplug in attach order, old ids ENOENT", t_unplug_a },
    { "containers: replug mdev first, unplug reversed, old ids ENOENT", t_replug_b },
    { "containers: unplug/replug one device, rejoin the HWPT", t_replug_c },
    { "migration: labels, mapping queries, logged ranges, unplug with a dirty read",
      t_migration_calls },
    { "devices: a passed fd bound before: EINVAL says why", t_rebind_passed_fd },
    { "kernel: a map's user_va page offset against the IOAS alignment", t_unaligned_user_va },
    { "DMA: edu copies RAM -> device -> RAM through the mapping", t_dma_copy },
    { "DMA: after unmap the DMA does not reach memory", t_dma_blocked_after_unmap },
    { "DMA: guest RAM in a memfd mapped by file (replayed, any IOVA), edu DMA, blocked "
      "after unmap (6.13+)", t_dma_file },
    { "newer UAPI: the kernel knows the IOMMUFD requests of the headers (6.13+)",
      t_newer_uapi },
    { "P2P: edu 0's BAR0 as a dma-buf mapped by file, edu 1's DMA reaches it, blocked "
      "after unmap (6.19+)", t_dma_buf_p2p },
    { "nest parents: VT-d erratum 772415 in hw info, NEST_PARENT (+DIRTY) EOPNOTSUPP, "
      "the address space's nest-parent attach fails clean, read-only refused first",
      t_nest_parent },
    { "devices: ATTACH_PASID of an edu (no PASID) refused with our message", t_edu_attach_pasid },
    { "live update: A hands both edus, a memfd mapping by file and tracking to B (SCM_RIGHTS, "
      "or pidfd_getfd), which restores (CHANGE_PROCESS), DMAs, tears down", t_live_update },
    { "teardown: nothing left", t_teardown },
    { "type1: the edus' groups, viable, one container, type1v2, device fds, bind EBUSY",
      t_type1_groups },
    { "type1: the mdev through its own group in the same container", t_type1_mdev },
    { "type1: GET_INFO capability chain (IOVA ranges, migration, DMA available)",
      t_type1_info },
    { "type1: edu DMA through a type1 mapping, none after the unmap", t_type1_dma },
    { "type1: dirty pages (every mapped page), v2 unmap rules, unmap with the bitmap",
      t_type1_dirty },
    { "type1 teardown: nothing left, the cdevs open again", t_type1_teardown },
    { "type1 address space: the edus and the mdev attached with VFI_BACKEND_TYPE1",
      t_type1_as_attach },
    { "type1 address space: map, edu DMA, a migration round (every page), unmap with its "
      "dirty read, no DMA after it", t_type1_as_migrate },
    { "type1 address space teardown: nothing left", t_type1_as_teardown },
    { "no IOMMUFD (no /dev/iommu, no cdev): the README's flow with AUTO takes type1, says why, "
      "edu DMA, blocked after unmap, tracking, no fd left", t_ni_no_iommufd },
    { "IOMMUFD without VFIO cdevs (/dev/iommu, no cdev): AUTO takes type1, the same flow",
      t_ni_no_cdev },
    { "VFIO cdevs without /dev/iommu: AUTO takes type1 (\"no /dev/iommu\"), the same flow",
      t_ni_no_dev_iommu },
    { "VFIO cdevs in sysfs but no /dev/vfio/devices (nor /dev/iommu): the device opens "
      "through its group, AUTO takes type1, the same flow", t_ni_no_cdev_node },
};

/* ---- mock IOMMU (IOMMUFD_TEST, boot 2): dirty tracking, vIOMMU objects -- */
#ifdef HAVE_IOMMUFD_TEST_H
#include "guest-mock-dirty.h"
#include "guest-mock-viommu.h"

static const Test mock_tests[] = {
    { "mock: backend, IOAS and a mock device (IOMMU_TEST_OP_MOCK_DOMAIN)", t_mock_setup },
    { "mock: hw info reports the dirty capability", t_mock_hw_info },
    { "mock: IOVA ranges = the mock aperture, map", t_mock_map },
    { "mock: two dirty-tracking HWPTs with a device each", t_mock_hwpt_alloc },
    { "mock: device without dirty capability: EOPNOTSUPP, EINVAL", t_mock_no_dirty_device },
    { "mock: a PASID-capable device: hw info max_pasid_log2 (6.15+)", t_mock_pasid_hw_info },
    { "mock: dirty readers on the HWPTs (alignment = the mock IO page)", t_mock_readers },
    { "mock: HWPT without the flag: no tracking, the reader reports EOPNOTSUPP",
      t_mock_plain_hwpt },
    { "mock: tracking off: GET_DIRTY_BITMAP reads nothing (EINVAL or 0), raw and reader",
      t_mock_tracking_off },
    { "mock: start tracking (twice), nothing dirty", t_mock_start },
    { "mock: the IOPTEs as dirty bits show them: per 2 KiB page (6.12), per IOPTE (7.x)",
      t_mock_layout },
    { "mock: raw baseline, then the reader: as the IOPTEs report, NO_CLEAR keeps them",
      t_mock_no_clear },
    { "mock: reader: a clearing read clears", t_mock_clear },
    { "mock: reader: sub-ranges at aligned and sub-byte log bits, 2/4/8 KiB pages, OR",
      t_mock_offsets },
    { "mock: reader: two HWPTs ORed into one log", t_mock_two_hwpts },
    { "mock: reads ending / starting inside an IOPTE: bits past the end, a dirty IOPTE lost "
      "(7.x)", t_mock_edges },
    { "mock: reader told of the mapping: queries cutting an IOPTE lose nothing, spill nothing",
      t_mock_edges_guarded },
    { "mock: reader: NO_CLEAR read, then unmap: the bits were captured",
      t_mock_unmap_no_clear },
    { "mock: stop tracking (twice), restart clean", t_mock_stop },
    { "mock: nest parents: NEST_PARENT (+DIRTY_TRACKING) taken, the pair refused without "
      "the capability, a dirty nest parent reads as a plain dirty HWPT", t_mock_nest_parent },
    { "mock: vIOMMU: nested HWPT alloc, attach, replace, mmap window, teardown order (6.15+)",
      t_mock_vs_nested },
    { "mock: vIOMMU: invalidation with partial completion (6.15+)", t_mock_vs_invalidate },
    { "mock: vIOMMU: vEVENTQ events and a provoked loss (6.15+)", t_mock_vs_veventq },
    { "mock: vIOMMU: fault queue, page request and response (6.15+)", t_mock_vs_fault },
    { "mock: PASID attach, replace, detach (6.15+)", t_mock_vs_pasid },
    { "mock: PASID onto a vIOMMU's nested HWPT and back (6.15+)", t_mock_vs_pasid_nested },
    { "mock: vIOMMU HW queue (6.17+)", t_mock_hw_queue },
    { "mock: teardown, EBUSY then ENOENT", t_mock_teardown },
};
#endif /* HAVE_IOMMUFD_TEST_H */

/* ---- main -------------------------------------------------------------------- */

/*
 * --sim: the VM of boot 1 as the model's topology. One VT-d instance without
 * dirty tracking or nesting, reporting the erratum 772415 (QEMU's
 * intel-iommu under 6.12 and 7.3); the two edu devices (1234:11e8) behind
 * it; another PCI device that is no edu (the VM has more, the scan must pass
 * them by); the mtty mdev, which offers VFIO DMA logging in 6.12.
 */
#define SIM_TOPOLOGY                                                       \
    "[iommu dmar0]\ndirty-tracking=false\nnesting=false\nvtd-errata-772415=true\n" \
    "[device other0]\niommu=dmar0\n"                                       \
    "[device edu0]\niommu=dmar0\npci-id=1234:11e8\n"                       \
    "[device edu1]\niommu=dmar0\npci-id=1234:11e8\nreset-group=rp1\n"       \
    "[device mtty0]\nmdev=true\ndma-logging=true\n"

static const char *sim_topology(void)
{
    return SIM_TOPOLOGY;
}

/* The mode of --mode / --sim into @c. Returns 0, or the exit code (2). */
static int parse_mode(Ctx *c, int argc, char **argv)
{
    const char *mode = NULL;
    int i;

    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--mode") && i + 1 < argc) {
            mode = argv[++i];
        } else if (!strcmp(argv[i], "--sim")) {
            mode = "sim";
        } else {
            fprintf(stderr, "usage: %s [--mode iommu|mock|host|sim] [--sim]\n", argv[0]);
            return 2;
        }
    }
    if (!mode || !strcmp(mode, "host")) {
        c->mode = MODE_HOST;
    } else if (!strcmp(mode, "iommu")) {
        c->mode = MODE_IOMMU;
        c->strict = true;
    } else if (!strcmp(mode, "mock")) {
        c->mode = MODE_MOCK;
        c->strict = true;
    } else if (!strcmp(mode, "sim")) {
        c->mode = MODE_SIM;
        c->strict = true;
    } else {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }
    return 0;
}

/* --sim: the boot-1 scenarios on the kernel model of SIM_TOPOLOGY. */
static int run_sim(Ctx *c)
{
    g_autoptr(GError) err = NULL;
    int rc;

    c->sim = vfi_sim_new(&err);
    if (!c->sim || !vfi_sim_load_topology_data(c->sim, SIM_TOPOLOGY, &err)) {
        printf("Bail out! kernel model: %s\n", err->message);
        vfi_sim_free(c->sim);
        return -1;
    }
    vfi_sim_install(c->sim);
    printf("# the boot-1 (iommu) scenarios on the kernel model, sysfs at %s\n",
           vfi_kernel_sysfs_root());
    rc = run_tests(c, iommu_tests, G_N_ELEMENTS(iommu_tests));
    vfi_sim_free(c->sim);
    c->sim = NULL;
    return rc;
}

/* host mode: the boot-1 scenarios on the devices of VFI_TEST_DEVICES;
 * -1 when skipped. */
static int run_host(Ctx *c)
{
    const char *env = getenv("VFI_TEST_DEVICES");

    if (!g_file_test("/dev/iommu", G_FILE_TEST_EXISTS)) {
        printf("1..0 # SKIP no /dev/iommu (kernel without CONFIG_IOMMUFD, or no IOMMU)\n");
        return -1;
    }
    if (!env || !*env) {
        printf("1..0 # SKIP VFI_TEST_DEVICES not set (a comma-separated list of "
               "PCI addresses bound to vfio-pci)\n");
        return -1;
    }
    return run_tests(c, iommu_tests, G_N_ELEMENTS(iommu_tests));
}

int main(int argc, char **argv)
{
    Ctx ctx = { 0 };
    Ctx *c = &ctx;
    int i, rc;

    setvbuf(stdout, NULL, _IOLBF, 0);
    rc = parse_mode(c, argc, argv);
    if (rc) {
        return rc;
    }
    c->why = g_string_new(NULL);
    if (c->mode == MODE_MOCK) {
#ifdef HAVE_IOMMUFD_TEST_H
        rc = run_tests(c, mock_tests, G_N_ELEMENTS(mock_tests));
#else
        printf("1..0 # SKIP built without the kernel's iommufd_test.h\n");
        rc = 0;
#endif
    } else if (c->mode == MODE_IOMMU) {
        rc = run_tests(c, iommu_tests, G_N_ELEMENTS(iommu_tests));
    } else if (c->mode == MODE_SIM) {
        rc = run_sim(c);
        if (rc < 0) {
            g_string_free(c->why, true);
            return 1;
        }
    } else {
        rc = run_host(c);
        if (rc < 0) {
            return 0;
        }
    }
    for (i = 0; i < (int)c->nr_pci; i++) {
        g_free(c->bdf[i]);
    }
    g_free(c->mdev_path);
    g_string_free(c->why, true);
    return rc;
}
