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

/* ---- backend tests (iommu / host) ----------------------------------------- */

static TResult t_backend_connect(Ctx *c)
{
    c->be = vfi_iommufd_new();
    CHECK(c->be != NULL, "no backend");
    OK(vfi_iommufd_connect(c->be, errp));
    CHECK(vfi_iommufd_get_fd(c->be) >= 0, "fd %d", vfi_iommufd_get_fd(c->be));
    CHECK(vfi_iommufd_users(c->be) == 1, "users %u", vfi_iommufd_users(c->be));
    CHECK(!vfi_iommufd_fd_is_borrowed(c->be), "owned fd reported borrowed");
    return T_PASS;
}

static TResult t_ioas_alloc(Ctx *c)
{
    CHECK(c->be, "no backend");
    OK(vfi_iommufd_ioas_alloc(c->be, &c->ioas, errp));
    CHECK(c->ioas != 0, "ioas id 0");
    return T_PASS;
}

static TResult t_iova_ranges(Ctx *c)
{
    g_autofree VfiIovaRange *r = NULL;
    size_t n = 0, i;
    uint64_t align = 0;

    CHECK(c->ioas, "no ioas");
    OK(vfi_iommufd_ioas_iova_ranges(c->be, c->ioas, &r, &n, &align, errp));
    CHECK(n >= 1, "no range");
    CHECK(align != 0 && (align & (align - 1)) == 0, "alignment 0x%" PRIx64, align);
    for (i = 0; i < n; i++) {
        note(c, "ioas %u range [0x%" PRIx64 ", 0x%" PRIx64 "]", c->ioas, r[i].start, r[i].last);
        CHECK(r[i].start <= r[i].last, "range %zu reversed", i);
        CHECK(i == 0 || r[i].start > r[i - 1].last, "ranges not ascending at %zu", i);
    }
    note(c, "alignment 0x%" PRIx64, align);
    CHECK(in_ranges(r, n, 0x100000, 0x2fffff), "0x100000..0x2fffff not allowed");
    /* No domain on the IOAS yet: everything, byte alignment. */
    EXPECT_VM(n == 1 && r[0].start == 0 && r[0].last == UINT64_MAX, "%zu range(s)", n);
    EXPECT_VM(align == 1, "alignment 0x%" PRIx64, align);
    return T_PASS;
}

#define MAP_SIZE 0x10000

static TResult t_map_fixed(Ctx *c)
{
    void *buf;

    CHECK(c->ioas, "no ioas");
    buf = alloc_pages(MAP_SIZE);
    CHECK(buf, "mmap");
    OK(vfi_iommufd_ioas_map(c->be, c->ioas, 0x100000, MAP_SIZE, buf, false, errp));
    /* Overlapping the first mapping: EEXIST. */
    KERR(vfi_iommufd_ioas_map(c->be, c->ioas, 0x108000, MAP_SIZE, buf, false, errp), EEXIST);
    return T_PASS;
}

static TResult t_map_any(Ctx *c)
{
    void *buf = alloc_pages(MAP_SIZE);
    uint64_t iova = 0;
    g_autofree VfiIovaRange *r = NULL;
    size_t n = 0;
    uint64_t align = 0;

    CHECK(buf, "mmap");
    OK(vfi_iommufd_ioas_map_any(c->be, c->ioas, MAP_SIZE, buf, false, &iova, errp));
    note(c, "kernel chose iova 0x%" PRIx64, iova);
    OK(vfi_iommufd_ioas_iova_ranges(c->be, c->ioas, &r, &n, &align, errp));
    CHECK(iova % align == 0, "iova 0x%" PRIx64 " not aligned to 0x%" PRIx64, iova, align);
    CHECK(in_ranges(r, n, iova, iova + MAP_SIZE - 1), "iova 0x%" PRIx64 " outside the ranges", iova);
    CHECK(iova + MAP_SIZE <= 0x100000 || iova >= 0x100000 + MAP_SIZE,
          "iova 0x%" PRIx64 " overlaps the fixed mapping", iova);
    /* Placement (iopt_alloc_iova()): the lowest free IOVA from PAGE_SIZE on,
     * aligned to the smaller of the length and the buffer's alignment,
     * capped at the huge page size with CONFIG_TRANSPARENT_HUGEPAGE (the
     * model is such a kernel; the test kernel has no THP) and at PAGE_SIZE
     * without it. */
    {
        bool thp = c->sim || access("/sys/kernel/mm/transparent_hugepage", F_OK) == 0;
        uint64_t a = MIN((uint64_t)MAP_SIZE, (uint64_t)1 << __builtin_ctzll((uintptr_t)buf));

        a = MIN(a, thp ? (uint64_t)2 << 20 : (uint64_t)4096);
        a = MAX(a, align);
        EXPECT_VM(iova == ((uint64_t)4096 + a - 1) / a * a, "iova 0x%" PRIx64 " for buffer %p",
                  iova, buf);
    }
    return T_PASS;
}

static TResult t_map_readonly(Ctx *c)
{
    void *buf = alloc_pages(MAP_SIZE);

    CHECK(buf, "mmap");
    OK(vfi_iommufd_ioas_map(c->be, c->ioas, 0x200000, MAP_SIZE, buf, true, errp));
    return T_PASS;
}

static TResult t_unmap(Ctx *c)
{
    uint64_t unmapped = 0;

    OK(vfi_iommufd_ioas_unmap(c->be, c->ioas, 0x100000, MAP_SIZE, &unmapped, errp));
    CHECK(unmapped == MAP_SIZE, "unmapped 0x%" PRIx64, unmapped);
    KERR(vfi_iommufd_ioas_unmap(c->be, c->ioas, 0x100000, MAP_SIZE, &unmapped, errp), ENOENT);
    return T_PASS;
}

static TResult t_unmap_all(Ctx *c)
{
    uint64_t unmapped = 0;

    /* What is left: the kernel-chosen and the read-only mapping. */
    OK(vfi_iommufd_ioas_unmap_all(c->be, c->ioas, &unmapped, errp));
    CHECK(unmapped == 2 * MAP_SIZE, "unmapped 0x%" PRIx64, unmapped);
    unmapped = 1;
    OK(vfi_iommufd_ioas_unmap_all(c->be, c->ioas, &unmapped, errp));
    CHECK(unmapped == 0, "second unmap-all unmapped 0x%" PRIx64, unmapped);
    return T_PASS;
}

/* ---- devices --------------------------------------------------------------- */

static TResult t_find_devices(Ctx *c)
{
    unsigned i;

    if (c->mode == MODE_IOMMU || c->mode == MODE_SIM) {
        c->nr_pci = scan_edu(c->bdf, EDU_MAX);
        CHECK(c->nr_pci == 2, "found %u edu devices (1234:11e8), want 2", c->nr_pci);
    } else {
        const char *env = getenv("VFI_TEST_DEVICES");
        g_auto(GStrv) list = env ? g_strsplit(env, ",", -1) : NULL;

        for (i = 0; list && list[i] && c->nr_pci < EDU_MAX; i++) {
            g_strstrip(list[i]);
            if (*list[i]) {
                c->bdf[c->nr_pci++] = g_strdup(list[i]);
            }
        }
        if (!c->nr_pci) {
            SKIP("VFI_TEST_DEVICES not set");
        }
    }
    for (i = 0; i < c->nr_pci; i++) {
        g_autofree char *rel = g_strdup_printf("bus/pci/devices/%s/vfio-dev", c->bdf[i]);
        g_autofree char *vd = sysfs_path(rel);

        c->is_edu[i] = is_edu_bdf(c->bdf[i]);
        note(c, "device %s%s", c->bdf[i], c->is_edu[i] ? " (edu)" : "");
        CHECK(g_file_test(vd, G_FILE_TEST_IS_DIR), "%s is not bound to vfio-pci (no %s)",
              c->bdf[i], vd);
    }
    c->mdev_path = find_mdev(c->mode);
    if (c->mode == MODE_IOMMU || c->mode == MODE_SIM) {
        CHECK(c->mdev_path, "no mdev in /sys/bus/mdev/devices");
    }
    return T_PASS;
}

static TResult t_open_pci(Ctx *c)
{
    unsigned i;

    if (!c->nr_pci) {
        if (!c->strict) {
            SKIP("no device");
        }
        FAIL("no device found");
    }
    for (i = 0; i < c->nr_pci; i++) {
        OK((c->pci[i] = vfi_device_open_pci(c->bdf[i], errp)) != NULL);
        CHECK(vfi_device_get_fd(c->pci[i]) >= 0, "fd");
        CHECK(!vfi_device_is_mdev(c->pci[i]), "%s detected as mdev", c->bdf[i]);
        CHECK(strcmp(vfi_device_get_name(c->pci[i]), c->bdf[i]) == 0, "name %s",
              vfi_device_get_name(c->pci[i]));
        CHECK(!vfi_device_is_bound(c->pci[i]), "bound right after open");
    }
    return T_PASS;
}

static TResult t_bind(Ctx *c)
{
    unsigned i, users;

    if (!c->pci[0]) {
        return c->strict ? set_why(c, T_FAIL, "no device opened") : set_why(c, T_SKIP, "no device");
    }
    users = vfi_iommufd_users(c->be);
    for (i = 0; i < c->nr_pci; i++) {
        OK(vfi_device_bind(c->pci[i], c->be, errp));
        CHECK(vfi_device_is_bound(c->pci[i]), "not bound");
        CHECK(vfi_device_get_backend(c->pci[i]) == c->be, "backend");
        CHECK(vfi_device_get_devid(c->pci[i]) != 0, "devid 0");
        CHECK(vfi_device_get_attached_pt(c->pci[i]) == 0, "attached right after bind");
        note(c, "%s: devid %u", c->bdf[i], vfi_device_get_devid(c->pci[i]));
        /* Object ids: the lowest free one (the IOAS has 1). */
        EXPECT_VM(vfi_device_get_devid(c->pci[i]) == c->ioas + 1 + i, "devid %u",
                  vfi_device_get_devid(c->pci[i]));
    }
    CHECK(vfi_iommufd_users(c->be) == users + c->nr_pci, "users %u",
          vfi_iommufd_users(c->be));
    /* A second bind is refused by the library. */
    {
        g_autoptr(GError) err = NULL;
        CHECK(!vfi_device_bind(c->pci[0], c->be, &err), "second bind succeeded");
        CHECK(g_error_matches(err, VFI_ERROR, VFI_ERROR_WRONG_STATE),
              "second bind: %s", err->message);
    }
    return T_PASS;
}

static TResult t_device_info(Ctx *c)
{
    unsigned i;

    if (!c->pci[0] || !vfi_device_is_bound(c->pci[0])) {
        return c->strict ? set_why(c, T_FAIL, "no bound device") : set_why(c, T_SKIP, "no device");
    }
    for (i = 0; i < c->nr_pci; i++) {
        VfiDeviceInfo info = { 0 };

        OK(vfi_device_get_info(c->pci[i], &info, errp));
        note(c, "%s: flags 0x%x regions %u irqs %u", c->bdf[i], info.flags,
             info.num_regions, info.num_irqs);
        CHECK(info.flags & VFIO_DEVICE_FLAGS_PCI, "not a PCI device: flags 0x%x", info.flags);
        CHECK(info.num_regions >= VFIO_PCI_NUM_REGIONS, "%u regions", info.num_regions);
        CHECK(info.num_irqs >= VFIO_PCI_NUM_IRQS, "%u irqs", info.num_irqs);
    }
    return T_PASS;
}

/*
 * PCI hot reset of the edus. The first sits on q35's root bus as an
 * integrated endpoint: no hotplug slot (pci_probe_reset_slot() fails) and a
 * root bus has no bridge to reset (pci_probe_reset_bus() fails), so
 * VFIO_DEVICE_GET_PCI_HOT_RESET_INFO and VFIO_DEVICE_PCI_HOT_RESET say
 * ENODEV (vfio_pci_core.c). The second sits alone behind a PCIe root port
 * (run.sh): its bus can be reset, the info lists it alone, owned by our
 * iommufd, and the reset goes through. The model agrees (edu1 has a
 * reset-group of its own). On a real host: what the kernel said is noted.
 */
static TResult hot_reset_one(Ctx *c, unsigned i)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(VfiHotResetInfo) info = vfi_device_get_hot_reset_info(c->pci[i], &err);

    note(c, "%s: hot reset info: %s", c->bdf[i],
         info ? (info->all_owned ? "all owned" : "not all owned") : err->message);
    if (!c->strict) {
        return T_PASS;
    }
    if (i == 0) {
        CHECK(!info && g_error_matches(err, VFI_KERNEL_ERROR, ENODEV),
              "%s: expected ENODEV (no slot or bus reset on the root bus), got %s", c->bdf[i],
              info ? "an info" : err->message);
        KERR(vfi_device_hot_reset(c->pci[i], errp), ENODEV);
        return T_PASS;
    }
    CHECK(info, "%s (behind a root port): %s", c->bdf[i], err->message);
    CHECK(info->n_devices == 1 && info->all_owned && info->devices[0].owned &&
          info->devices[0].devid == vfi_device_get_devid(c->pci[i]),
          "%s: %u devices, all owned %d", c->bdf[i], info->n_devices, info->all_owned);
    OK(vfi_device_hot_reset(c->pci[i], errp));
    return T_PASS;
}

static TResult t_hot_reset(Ctx *c)
{
    if (!c->pci[0] || !vfi_device_is_bound(c->pci[0])) {
        return c->strict ? set_why(c, T_FAIL, "no bound device") : set_why(c, T_SKIP, "no device");
    }
    for (unsigned i = 0; i < c->nr_pci; i++) {
        TResult r = hot_reset_one(c, i);

        if (r != T_PASS) {
            return r;
        }
    }
    return T_PASS;
}

static TResult t_hw_info(Ctx *c)
{
    unsigned i;

    if (!c->pci[0] || !vfi_device_is_bound(c->pci[0])) {
        return c->strict ? set_why(c, T_FAIL, "no bound device") : set_why(c, T_SKIP, "no device");
    }
    for (i = 0; i < c->nr_pci; i++) {
        struct iommu_hw_info_vtd vtd = { 0 };
        VfiHwInfo hw = { .data = &vtd, .data_len = sizeof(vtd) };

        OK(vfi_device_get_hw_info(c->pci[i], &hw, errp));
        note(c, "%s: hw info type %u capabilities 0x%" PRIx64 " data_len %u pasid %u",
             c->bdf[i], hw.type, hw.capabilities, hw.data_len, hw.max_pasid_log2);
        EXPECT_VM(hw.type == IOMMU_HW_INFO_TYPE_INTEL_VTD, "type %u", hw.type);
        EXPECT_VM(!(hw.capabilities & IOMMU_HW_CAP_DIRTY_TRACKING),
                  "capabilities 0x%" PRIx64, hw.capabilities);
        EXPECT_VM(hw.data_len == sizeof(vtd), "data_len %u", hw.data_len);
        EXPECT_VM(hw.max_pasid_log2 == 0, "max_pasid_log2 %u", hw.max_pasid_log2);
        if (hw.type == IOMMU_HW_INFO_TYPE_INTEL_VTD) {
            CHECK(hw.data_len >= sizeof(vtd), "data_len %u", hw.data_len);
            CHECK(vtd.cap_reg != 0 || vtd.ecap_reg != 0, "empty VT-d registers");
        }
    }
    return T_PASS;
}

static TResult t_hwpt_dirty_refused(Ctx *c)
{
    struct iommu_hw_info_vtd vtd;
    VfiHwInfo hw = { .data = &vtd, .data_len = sizeof(vtd) };
    uint32_t id = 0;

    if (!c->pci[0] || !vfi_device_is_bound(c->pci[0])) {
        return c->strict ? set_why(c, T_FAIL, "no bound device") : set_why(c, T_SKIP, "no device");
    }
    OK(vfi_device_get_hw_info(c->pci[0], &hw, errp));
    if (hw.capabilities & IOMMU_HW_CAP_DIRTY_TRACKING) {
        EXPECT_VM(false, "dirty capability on the emulated IOMMU");
        SKIP("the IOMMU has dirty tracking");
    }
    KERR(vfi_iommufd_hwpt_alloc(c->be, vfi_device_get_devid(c->pci[0]), c->ioas,
                                    IOMMU_HWPT_ALLOC_DIRTY_TRACKING, IOMMU_HWPT_DATA_NONE, 0,
                                    NULL, &id, errp), EOPNOTSUPP);
    return T_PASS;
}

static TResult t_destroy_busy(Ctx *c)
{
    VfiDevice *d = c->pci[0];
    uint32_t ioas = 0, hwpt = 0, pt = 0;

    if (!d || !vfi_device_is_bound(d)) {
        return c->strict ? set_why(c, T_FAIL, "no bound device") : set_why(c, T_SKIP, "no device");
    }
    OK(vfi_iommufd_ioas_alloc(c->be, &ioas, errp));
    OK(vfi_iommufd_hwpt_alloc(c->be, vfi_device_get_devid(d), ioas, 0,
                                  IOMMU_HWPT_DATA_NONE, 0, NULL, &hwpt, errp));
    EXPECT_VM(ioas == c->ioas + 1 + c->nr_pci && hwpt == ioas + 1, "ioas %u hwpt %u", ioas, hwpt);
    /* An IOAS with a HWPT on it. */
    KERR(vfi_iommufd_destroy(c->be, ioas, errp), EBUSY);
    OK(vfi_device_attach(d, hwpt, &pt, errp));
    CHECK(pt == hwpt, "attached to %u, want %u", pt, hwpt);
    CHECK(vfi_device_get_attached_pt(d) == hwpt, "attached pt %u", vfi_device_get_attached_pt(d));
    /* A HWPT with a device attached. */
    KERR(vfi_iommufd_destroy(c->be, hwpt, errp), EBUSY);
    OK(vfi_device_detach(d, errp));
    CHECK(vfi_device_get_attached_pt(d) == 0, "still attached");
    OK(vfi_iommufd_destroy(c->be, hwpt, errp));
    OK(vfi_iommufd_destroy(c->be, ioas, errp));
    KERR(vfi_iommufd_destroy(c->be, hwpt, errp), ENOENT);
    KERR(vfi_iommufd_destroy(c->be, ioas, errp), ENOENT);
    return T_PASS;
}

static TResult t_mdev_detect(Ctx *c)
{
    VfiHwInfo hw = { 0 };
    g_autofree char *base = NULL;

    if (!c->mdev_path) {
        return c->strict ? set_why(c, T_FAIL, "no mdev") : set_why(c, T_SKIP, "no mdev (VFI_TEST_MDEV)");
    }
    OK((c->mdev = vfi_device_open_sysfs(c->mdev_path, errp)) != NULL);
    CHECK(vfi_device_is_mdev(c->mdev), "%s not detected as mdev", c->mdev_path);
    base = g_path_get_basename(c->mdev_path);
    CHECK(strcmp(vfi_device_get_name(c->mdev), base) == 0, "name %s",
          vfi_device_get_name(c->mdev));
    OK(vfi_device_bind(c->mdev, c->be, errp));
    note(c, "mdev: devid %u", vfi_device_get_devid(c->mdev));
    /* Its access object gets the lowest free id: the one of the IOAS the
     * previous test destroyed. */
    EXPECT_VM(vfi_device_get_devid(c->mdev) == c->ioas + 1 + c->nr_pci, "mdev devid %u",
              vfi_device_get_devid(c->mdev));
    KERR(vfi_device_get_hw_info(c->mdev, &hw, errp), ENOENT);
    /* A PCI device is not an mdev (checked again next to the mdev). */
    if (c->pci[0]) {
        CHECK(!vfi_device_is_mdev(c->pci[0]), "PCI device detected as mdev");
    }
    return T_PASS;
}

/* ---- containers ------------------------------------------------------------ */

static bool have_two(Ctx *c)
{
    return c->nr_pci >= 2 && c->pci[0] && c->pci[1];
}

static TResult need_devices(Ctx *c, bool two)
{
    if (!c->pci[0] || (two && !have_two(c))) {
        return c->strict ? set_why(c, T_FAIL, "devices missing")
                         : set_why(c, T_SKIP, "needs %s device(s)", two ? "two" : "one");
    }
    return T_PASS;
}

static TResult t_container_attach(Ctx *c)
{
    VfiContainer *ct;
    VfiHwpt *h;
    unsigned i;

    if (need_devices(c, false) != T_PASS) {
        return need_devices(c, false);
    }
    c->as = vfi_address_space_new(c);
    CHECK(c->as, "no address space");
    OK(vfi_address_space_attach_device(c->as, c->be, c->pci[0], NULL, errp));
    CHECK(vfi_address_space_container_count(c->as) == 1, "%u containers",
          vfi_address_space_container_count(c->as));
    ct = vfi_address_space_container(c->as, 0);
    CHECK(vfi_device_get_container(c->pci[0]) == ct, "container");
    CHECK(vfi_container_hwpt_count(ct) == 1, "%u hwpts", vfi_container_hwpt_count(ct));
    h = vfi_device_get_hwpt(c->pci[0]);
    CHECK(h && h == vfi_container_hwpt(ct, 0), "hwpt");
    CHECK(vfi_device_get_attach_attempts(c->pci[0]) == 1, "%u attempts",
          vfi_device_get_attach_attempts(c->pci[0]));
    CHECK(vfi_device_get_attached_pt(c->pci[0]) == vfi_hwpt_get_id(h),
          "attached pt %u, hwpt %u", vfi_device_get_attached_pt(c->pci[0]), vfi_hwpt_get_id(h));
    EXPECT_VM(!(vfi_hwpt_get_flags(h) & IOMMU_HWPT_ALLOC_DIRTY_TRACKING),
              "hwpt flags 0x%x", vfi_hwpt_get_flags(h));
    note(c, "container: ioas %u hwpt %u", vfi_container_get_ioas_id(ct), vfi_hwpt_get_id(h));
    EXPECT_VM(vfi_container_get_ioas_id(ct) == c->ioas + 2 + c->nr_pci &&
              vfi_hwpt_get_id(h) == c->ioas + 3 + c->nr_pci,
              "container ioas %u hwpt %u", vfi_container_get_ioas_id(ct), vfi_hwpt_get_id(h));
    for (i = 1; i < c->nr_pci; i++) {
        OK(vfi_address_space_attach_device(c->as, c->be, c->pci[i], NULL, errp));
        note(c, "%s: hwpt %u after %u attempt(s)", c->bdf[i],
             vfi_device_get_hwpt(c->pci[i]) ? vfi_hwpt_get_id(vfi_device_get_hwpt(c->pci[i])) : 0,
             vfi_device_get_attach_attempts(c->pci[i]));
    }
    if (have_two(c)) {
        EXPECT_VM(vfi_device_get_hwpt(c->pci[1]) == h, "second device in another hwpt");
        EXPECT_VM(vfi_device_get_attach_attempts(c->pci[1]) == 1, "%u attempts",
                  vfi_device_get_attach_attempts(c->pci[1]));
        EXPECT_VM(vfi_container_hwpt_count(ct) == 1, "%u hwpts", vfi_container_hwpt_count(ct));
        EXPECT_VM(vfi_hwpt_device_count(h) == 2, "%u devices in the hwpt",
                  vfi_hwpt_device_count(h));
    }
    CHECK(vfi_address_space_container_count(c->as) == 1, "%u containers",
          vfi_address_space_container_count(c->as));
    return T_PASS;
}

static TResult t_container_mdev(Ctx *c)
{
    VfiContainer *ct;
    VfiUntrackedReason why = VFI_COVERED;
    unsigned n;

    if (!c->as || !c->mdev) {
        return c->strict ? set_why(c, T_FAIL, "no container or no mdev")
                         : set_why(c, T_SKIP, "no mdev");
    }
    ct = vfi_address_space_container(c->as, 0);
    n = vfi_container_device_count(ct);
    OK(vfi_address_space_attach_device(c->as, c->be, c->mdev, NULL, errp));
    CHECK(vfi_device_get_container(c->mdev) == ct, "mdev in another container");
    CHECK(vfi_device_get_hwpt(c->mdev) == NULL, "mdev in a hwpt");
    CHECK(vfi_device_get_attached_pt(c->mdev) == vfi_container_get_ioas_id(ct),
          "mdev attached to %u, ioas %u", vfi_device_get_attached_pt(c->mdev),
          vfi_container_get_ioas_id(ct));
    CHECK(vfi_container_device_count(ct) == n + 1, "%u devices", vfi_container_device_count(ct));
    CHECK(vfi_container_dirty_coverage(ct, c->mdev, &why) == VFI_DIRTY_COVERAGE_NONE, "coverage");
    /* mtty implements VFIO DMA logging (vfio_log_ops) in 6.12: the first
     * reason that matches is "offers logging, not preferred". */
    note(c, "mdev: %s", vfi_untracked_reason_str(why));
    EXPECT_VM(why == VFI_UNTRACKED_LOGGING_NOT_PREFERRED, "reason %d", why);
    CHECK(why == VFI_UNTRACKED_LOGGING_NOT_PREFERRED || why == VFI_UNTRACKED_MDEV,
          "reason %d", why);
    why = VFI_COVERED;
    EXPECT_VM(vfi_container_dirty_coverage(ct, c->pci[0], &why) == VFI_DIRTY_COVERAGE_NONE &&
              why == VFI_UNTRACKED_NO_IOMMU_CAP, "edu coverage reason %d", why);
    CHECK(!vfi_container_iommu_coverage_complete(ct), "tracking complete with an mdev");
    return T_PASS;
}

/* What the kernel says about the container's IOAS once devices are in it. */
static TResult t_kernel_ranges_attached(Ctx *c)
{
    g_autofree VfiIovaRange *r = NULL;
    size_t n = 0, i;
    uint64_t align = 0;
    VfiContainer *ct;
    g_autoptr(GError) err = NULL;
    void *buf;

    if (!c->as || !vfi_address_space_container_count(c->as)) {
        FAIL("no container");
    }
    ct = vfi_address_space_container(c->as, 0);
    OK(vfi_iommufd_ioas_iova_ranges(c->be, vfi_container_get_ioas_id(ct), &r, &n, &align,
                                       errp));
    for (i = 0; i < n; i++) {
        note(c, "kernel: ioas %u range [0x%" PRIx64 ", 0x%" PRIx64 "]",
             vfi_container_get_ioas_id(ct), r[i].start, r[i].last);
    }
    note(c, "kernel: alignment 0x%" PRIx64, align);
    CHECK(n >= 1, "no range");
    /* The x86 MSI window is reserved once a device is attached. */
    EXPECT_VM(!overlaps_ranges(r, n, 0xfee00000, 0xfeefffff), "MSI window allowed");
    /* Exactly: the VT-d domain's 48-bit aperture minus the MSI window. */
    EXPECT_VM(n == 2 && r[0].start == 0 && r[0].last == 0xfedfffff &&
              r[1].start == 0xfef00000 && r[1].last == 0xffffffffffffull, "%zu range(s)", n);
    EXPECT_VM(align == 4096, "alignment 0x%" PRIx64, align);
    /* A map into the reserved window is refused by the kernel. */
    buf = alloc_pages(4096);
    CHECK(buf, "mmap");
    CHECK(!vfi_iommufd_ioas_map(c->be, vfi_container_get_ioas_id(ct), 0xfee00000, 4096, buf,
                                   false, &err), "map in the MSI window succeeded");
    note(c, "kernel: map at 0xfee00000: %s", err->message);
    EXPECT_VM(g_error_matches(err, VFI_KERNEL_ERROR, EINVAL), "%s", err->message);
    munmap(buf, 4096);
    return T_PASS;
}

/* The container's view must be the kernel's (it is used to check maps
 * before any ioctl). */
static TResult t_container_ranges(Ctx *c)
{
    g_autofree VfiIovaRange *k = NULL;
    const VfiIovaRange *r;
    size_t n = 0, nk = 0, i;
    uint64_t align = 0;
    VfiContainer *ct;
    g_autoptr(GError) err = NULL;
    void *buf;

    if (!c->as || !vfi_address_space_container_count(c->as)) {
        FAIL("no container");
    }
    ct = vfi_address_space_container(c->as, 0);
    OK(vfi_iommufd_ioas_iova_ranges(c->be, vfi_container_get_ioas_id(ct), &k, &nk, &align,
                                       errp));
    r = vfi_container_get_iova_ranges(ct, &n);
    for (i = 0; i < n; i++) {
        note(c, "container: range [0x%" PRIx64 ", 0x%" PRIx64 "]", r[i].start, r[i].last);
    }
    note(c, "container: alignment 0x%" PRIx64, vfi_container_get_iova_alignment(ct));
    CHECK(n == nk && !memcmp(r, k, n * sizeof(*r)),
          "container has %zu range(s) [0x%" PRIx64 "..], kernel %zu [0x%" PRIx64 "..]",
          n, n ? r[0].start : 0, nk, nk ? k[0].start : 0);
    CHECK(vfi_container_get_iova_alignment(ct) == align, "container alignment 0x%" PRIx64
          ", kernel 0x%" PRIx64, vfi_container_get_iova_alignment(ct), align);
    /* So a map into the MSI window is refused before any ioctl. */
    buf = alloc_pages(4096);
    CHECK(buf, "mmap");
    CHECK(!vfi_container_dma_map(ct, 0xfee00000, 4096, buf, false, &err),
          "container map in the MSI window succeeded");
    munmap(buf, 4096);
    CHECK(g_error_matches(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT),
          "container map in the MSI window: %s", err->message);
    return T_PASS;
}

/* Detach @devs in order; check the container goes away with the last one and
 * that its IOAS and HWPT ids are gone from the kernel (ENOENT). */
static TResult teardown_order(Ctx *c, VfiDevice **devs, unsigned n)
{
    VfiContainer *ct = vfi_device_get_container(devs[0]);
    uint32_t ioas, hwpts[EDU_MAX];
    unsigned nh, i;

    CHECK(ct, "not in a container");
    ioas = vfi_container_get_ioas_id(ct);
    nh = MIN(vfi_container_hwpt_count(ct), EDU_MAX);
    for (i = 0; i < nh; i++) {
        hwpts[i] = vfi_hwpt_get_id(vfi_container_hwpt(ct, i));
    }
    for (i = 0; i < n; i++) {
        OK(vfi_address_space_detach_device(c->as, devs[i], errp));
        CHECK(vfi_device_get_container(devs[i]) == NULL, "still in a container");
        CHECK(vfi_device_get_attached_pt(devs[i]) == 0, "still attached");
        CHECK(vfi_device_is_bound(devs[i]), "unbound by detach");
        CHECK(vfi_address_space_container_count(c->as) == (i + 1 < n ? 1u : 0u),
              "%u containers after %u detaches", vfi_address_space_container_count(c->as), i + 1);
    }
    KERR(vfi_iommufd_destroy(c->be, ioas, errp), ENOENT);
    for (i = 0; i < nh; i++) {
        KERR(vfi_iommufd_destroy(c->be, hwpts[i], errp), ENOENT);
    }
    return T_PASS;
}

static TResult attach_all(Ctx *c, VfiDevice **devs, unsigned n)
{
    unsigned i;

    for (i = 0; i < n; i++) {
        OK(vfi_address_space_attach_device(c->as, c->be, devs[i], NULL, errp));
        if (!vfi_device_is_mdev(devs[i]) && c->strict) {
            CHECK(vfi_device_get_attach_attempts(devs[i]) == 1, "%s: %u attempts",
                  vfi_device_get_name(devs[i]), vfi_device_get_attach_attempts(devs[i]));
        }
    }
    CHECK(vfi_address_space_container_count(c->as) == 1, "%u containers",
          vfi_address_space_container_count(c->as));
    if (c->strict) {
        VfiContainer *ct = vfi_address_space_container(c->as, 0);
        unsigned phys = 0;

        for (i = 0; i < n; i++) {
            phys += !vfi_device_is_mdev(devs[i]);
        }
        CHECK(vfi_container_hwpt_count(ct) == (phys ? 1u : 0u), "%u hwpts",
              vfi_container_hwpt_count(ct));
        CHECK(vfi_container_device_count(ct) == n, "%u devices", vfi_container_device_count(ct));
    }
    return T_PASS;
}

static TResult t_unplug_a(Ctx *c)
{
    VfiDevice *devs[EDU_MAX + 1];
    unsigned n = 0, i;

    if (!c->as || !c->pci[0] || !vfi_device_get_container(c->pci[0])) {
        FAIL("nothing attached");
    }
    for (i = 0; i < c->nr_pci; i++) {
        devs[n++] = c->pci[i];
    }
    if (c->mdev && vfi_device_get_container(c->mdev)) {
        devs[n++] = c->mdev;
    }
    return teardown_order(c, devs, n);
}

static TResult t_replug_b(Ctx *c)
{
    /* mdev first, then the PCI devices backwards; out: pci1, mdev, pci0. */
    VfiDevice *in[EDU_MAX + 1], *out[EDU_MAX + 1];
    unsigned n = 0, m = 0, i;
    TResult r;

    if (need_devices(c, false) != T_PASS) {
        return need_devices(c, false);
    }
    if (c->mdev) {
        in[n++] = c->mdev;
    }
    for (i = c->nr_pci; i-- > 0;) {
        in[n++] = c->pci[i];
    }
    r = attach_all(c, in, n);
    if (r != T_PASS) {
        return r;
    }
    for (i = 1; i < c->nr_pci; i++) {
        out[m++] = c->pci[i];
    }
    if (c->mdev) {
        out[m++] = c->mdev;
    }
    out[m++] = c->pci[0];
    /* While the mdev is alone with pci0 the HWPT of pci1 must be gone. */
    return teardown_order(c, out, m);
}

static TResult t_replug_c(Ctx *c)
{
    VfiHwpt *h;
    VfiDevice *out[2];
    uint32_t old_hwpt;

    if (need_devices(c, true) != T_PASS) {
        return need_devices(c, true);
    }
    /* Alone, out again: the container is gone. */
    OK(vfi_address_space_attach_device(c->as, c->be, c->pci[0], NULL, errp));
    h = vfi_device_get_hwpt(c->pci[0]);
    CHECK(h, "no hwpt");
    old_hwpt = vfi_hwpt_get_id(h);
    OK(vfi_address_space_detach_device(c->as, c->pci[0], errp));
    CHECK(vfi_address_space_container_count(c->as) == 0, "container left");
    KERR(vfi_iommufd_destroy(c->be, old_hwpt, errp), ENOENT);
    /* Both in, the first out and in again: it rejoins the second's HWPT. */
    OK(vfi_address_space_attach_device(c->as, c->be, c->pci[0], NULL, errp));
    OK(vfi_address_space_attach_device(c->as, c->be, c->pci[1], NULL, errp));
    OK(vfi_address_space_detach_device(c->as, c->pci[0], errp));
    h = vfi_device_get_hwpt(c->pci[1]);
    CHECK(h, "pci1 has no hwpt");
    CHECK(vfi_hwpt_device_count(h) == 1, "%u devices left in the hwpt", vfi_hwpt_device_count(h));
    OK(vfi_address_space_attach_device(c->as, c->be, c->pci[0], NULL, errp));
    EXPECT_VM(vfi_device_get_hwpt(c->pci[0]) == h, "did not rejoin the hwpt");
    EXPECT_VM(vfi_device_get_attach_attempts(c->pci[0]) == 1, "%u attempts",
              vfi_device_get_attach_attempts(c->pci[0]));
    out[0] = c->pci[0];
    out[1] = c->pci[1];
    return teardown_order(c, out, 2);
}

/* ---- what a migration needs (issue 10) ------------------------------------ */

#define MIG_IOVA 0x2000000ull
#define MIG_SIZE 0x200000ull

/* A map of @size at @iova into @as, and the queries saying so. */
static TResult mig_map(Ctx *c, VfiAddressSpace *as, void *buf)
{
    VfiMappingInfo m;

    OK(vfi_address_space_dma_map(as, MIG_IOVA, MIG_SIZE, buf, false, errp));
    CHECK(vfi_address_space_mapping_count(as) == 1, "%u mappings",
          vfi_address_space_mapping_count(as));
    CHECK(vfi_address_space_mapping(as, 0, &m) && m.iova == MIG_IOVA && m.size == MIG_SIZE &&
          m.vaddr == buf && !m.readonly && m.owner == VFI_MAPPING_BY_ADDRESS_SPACE,
          "mapping query");
    CHECK(vfi_container_mapping(vfi_address_space_container(as, 0), 0, &m) &&
          m.iova == MIG_IOVA && m.owner == VFI_MAPPING_BY_ADDRESS_SPACE, "container query");
    return T_PASS;
}

/* Labels in the blocker; the mdev (mtty logs its DMA in 6.12) tracked by
 * its own log, its logged ranges queried, unplugged while tracking with a
 * dirty read; the edu stays. */
static TResult t_migration_calls(Ctx *c)
{
    VfiAttachOptions edu_opts = { .label = "edu-a" };
    VfiAttachOptions mdev_opts = { .label = "tty-a", .prefer_device_dirty_logging = true };
    static uint64_t bits[MIG_SIZE / 4096 / 64];
    VfiDirtyLog log = { .base_iova = MIG_IOVA, .page_size = 4096, .bitmap = bits,
                        .nr_pages = MIG_SIZE / 4096 };
    g_autofree VfiDmaLoggingRange *ranges = NULL;
    g_autofree char *blocker = NULL;
    VfiAddressSpace *as;
    uint64_t ps = 0;
    unsigned n = 0;
    void *buf;

    if (need_devices(c, false) != T_PASS || !c->mdev) {
        return c->strict ? set_why(c, T_FAIL, "devices missing") : set_why(c, T_SKIP, "no mdev");
    }
    buf = mmap(NULL, MIG_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(buf != MAP_FAILED, "mmap");
    as = vfi_address_space_new(c);
    OK(vfi_address_space_attach_device(as, c->be, c->pci[0], &edu_opts, errp));
    OK(vfi_address_space_attach_device(as, c->be, c->mdev, &mdev_opts, errp));
    if (mig_map(c, as, buf) != T_PASS) {
        return T_FAIL;
    }
    blocker = vfi_address_space_migration_blocker(as);
    note(c, "blocker: %s", blocker ? blocker : "(none)");
    CHECK(blocker && strstr(blocker, vfi_device_get_display_name(c->pci[0])) &&
          strstr(blocker, "edu-a ("), "blocker without the label");
    CHECK(vfi_device_dirty_coverage(c->mdev, NULL) == VFI_DIRTY_COVERAGE_DEVICE_LOGGING,
          "the mdev is not covered by its log");
    OK(vfi_address_space_dirty_tracking_start(as, errp));
    ranges = vfi_device_dma_logging_ranges(c->mdev, &n, &ps);
    CHECK(ranges && n == 1 && ranges[0].iova == MIG_IOVA && ranges[0].length == MIG_SIZE &&
          ps == 4096, "logged ranges: %u", n);
    OK(vfi_address_space_sync_dirty(as, &log, errp));
    OK(vfi_address_space_detach_device_dirty(as, c->mdev, &log, errp));
    CHECK(!vfi_device_get_container(c->mdev) && !vfi_device_dma_logging_active(c->mdev),
          "the mdev stayed");
    CHECK(vfi_address_space_dirty_tracking_is_active(as), "tracking stopped");
    OK(vfi_address_space_dirty_tracking_stop(as, errp));
    OK(vfi_address_space_dma_unmap(as, MIG_IOVA, MIG_SIZE, 0, errp));
    OK(vfi_address_space_detach_device(as, c->pci[0], errp));
    OK(vfi_address_space_free(as, errp));
    vfi_device_set_label(c->pci[0], NULL);
    vfi_device_set_label(c->mdev, NULL);
    munmap(buf, MIG_SIZE);
    return T_PASS;
}

/* A fixed map whose user_va page offset the IOAS alignment forbids: taken
 * by an IOAS without a domain (alignment 1), then a domain is refused
 * (EADDRINUSE); refused (EINVAL) once the IOAS has a domain
 * (iopt_insert_area()). The model follows the kernel here. */
static TResult t_unaligned_user_va(Ctx *c)
{
    uint8_t *buf;
    uint32_t ioas = 0;

    if (!have_two(c)) {
        return need_devices(c, true);
    }
    buf = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(buf != MAP_FAILED, "mmap");
    if (!vfi_device_is_bound(c->pci[1])) {
        OK(vfi_device_bind(c->pci[1], c->be, errp));
    }
    OK(vfi_iommufd_ioas_alloc(c->be, &ioas, errp));
    OK(vfi_iommufd_ioas_map(c->be, ioas, 0x3000000, 4096, buf + 0x800, false, errp));
    KERR(vfi_device_attach(c->pci[1], ioas, NULL, errp), EADDRINUSE);
    OK(vfi_iommufd_ioas_unmap_all(c->be, ioas, NULL, errp));
    OK(vfi_device_attach(c->pci[1], ioas, NULL, errp));
    KERR(vfi_iommufd_ioas_map(c->be, ioas, 0x3000000, 4096, buf + 0x800, false, errp), EINVAL);
    OK(vfi_iommufd_ioas_map(c->be, ioas, 0x3000000, 4096, buf, false, errp));
    OK(vfi_device_detach(c->pci[1], errp));
    OK(vfi_iommufd_destroy(c->be, ioas, errp));
    munmap(buf, 2 * 4096);
    return T_PASS;
}

/* The vfioN cdev name of PCI device @i (the one entry of its vfio-dev/). */
static char *cdev_of(Ctx *c, unsigned i)
{
    g_autofree char *rel = g_strdup_printf("bus/pci/devices/%s/vfio-dev", c->bdf[i]);
    g_autofree char *vd = sysfs_path(rel);
    g_autoptr(GDir) d = g_dir_open(vd, 0, NULL);
    const char *e = d ? g_dir_read_name(d) : NULL;

    return g_strdup(e ? e : "none");
}

/* A VMM-passed fd bound before (its device freed, the fd kept) cannot be
 * bound again: the kernel's EINVAL comes with what to do. */
static TResult t_rebind_passed_fd(Ctx *c)
{
    const VfiKernelOps *ops;
    void *opaque;
    g_autofree char *node = NULL;
    VfiDevice *dev;
    int fd;

    if (!have_two(c)) {
        return need_devices(c, true);
    }
    {
        g_autofree char *cdev = cdev_of(c, 1);

        node = g_strdup_printf("/dev/vfio/devices/%s", cdev);
    }
    /* The library's own device of it closes its fd: the device is unbound. */
    vfi_device_free(c->pci[1]);
    c->pci[1] = NULL;
    vfi_kernel_get(&ops, &opaque);
    fd = ops->open(opaque, node, O_RDWR);
    CHECK(fd >= 0, "open %s: %d", node, fd);
    dev = vfi_device_new_from_fd(fd, NULL, NULL);
    CHECK(dev, "device from fd");
    OK(vfi_device_bind(dev, c->be, errp));
    vfi_device_free(dev);
    dev = vfi_device_new_from_fd(fd, NULL, NULL);
    CHECK(dev, "device from fd");
    {
        g_autoptr(GError) err = NULL;

        CHECK(!vfi_device_bind(dev, c->be, &err), "bound twice");
        note(c, "rebind: %s", err->message);
        CHECK(g_error_matches(err, VFI_KERNEL_ERROR, EINVAL) &&
              strstr(err->message, "bound once per open file"), "%s", err->message);
    }
    vfi_device_free(dev);
    CHECK(ops->close(opaque, fd) == 0, "close");
    OK((c->pci[1] = vfi_device_open_pci(c->bdf[1], errp)) != NULL);
    return T_PASS;
}

/* ---- real DMA with the edu device ---------------------------------------- */

#define EDU_REG_ID       0x00
#define EDU_REG_DMA_SRC  0x80
#define EDU_REG_DMA_DST  0x88
#define EDU_REG_DMA_CNT  0x90
#define EDU_REG_DMA_CMD  0x98
#define EDU_CMD_RUN      0x1
#define EDU_CMD_TO_RAM   0x2     /* direction: 0 RAM -> edu, 1 edu -> RAM */
#define EDU_BUF          0x40000 /* the edu's internal buffer, 4096 bytes */
#define DMA_IOVA         0x1000000ull /* < 256 MiB: edu's 28-bit DMA mask */

typedef struct Edu {
    int fd;
    volatile uint8_t *bar;
    size_t bar_size;
} Edu;

static bool edu_open_fd(Edu *e, int fd, GString *why);

static bool edu_open(Edu *e, VfiDevice *d, GString *why)
{
    return edu_open_fd(e, vfi_device_get_fd(d), why);
}

/* The edu's BAR0 mapped and bus mastering on, through its VFIO fd @fd. */
static bool edu_open_fd(Edu *e, int fd, GString *why)
{
    struct vfio_region_info ri = { .argsz = sizeof(ri), .index = VFIO_PCI_BAR0_REGION_INDEX };
    struct vfio_region_info cfg = { .argsz = sizeof(cfg), .index = VFIO_PCI_CONFIG_REGION_INDEX };
    uint16_t cmd;
    void *p;

    e->fd = fd;
    if (ioctl(e->fd, VFIO_DEVICE_GET_REGION_INFO, &ri) < 0 ||
        ioctl(e->fd, VFIO_DEVICE_GET_REGION_INFO, &cfg) < 0) {
        g_string_printf(why, "VFIO_DEVICE_GET_REGION_INFO: %s", g_strerror(errno));
        return false;
    }
    if (!(ri.flags & VFIO_REGION_INFO_FLAG_MMAP) || ri.size < 0x100) {
        g_string_printf(why, "BAR0 not mmapable (flags 0x%x size 0x%llx)", ri.flags,
                        (unsigned long long)ri.size);
        return false;
    }
    p = mmap(NULL, ri.size, PROT_READ | PROT_WRITE, MAP_SHARED, e->fd, ri.offset);
    if (p == MAP_FAILED) {
        g_string_printf(why, "mmap BAR0: %s", g_strerror(errno));
        return false;
    }
    e->bar = p;
    e->bar_size = ri.size;
    /* Bus master on, or the device's DMA goes nowhere. */
    if (pread(e->fd, &cmd, 2, cfg.offset + PCI_COMMAND) != 2) {
        g_string_printf(why, "config read: %s", g_strerror(errno));
        return false;
    }
    cmd |= PCI_COMMAND_MASTER | PCI_COMMAND_MEMORY;
    if (pwrite(e->fd, &cmd, 2, cfg.offset + PCI_COMMAND) != 2) {
        g_string_printf(why, "config write: %s", g_strerror(errno));
        return false;
    }
    return true;
}

static void edu_close(Edu *e)
{
    if (e->bar) {
        munmap((void *)e->bar, e->bar_size);
        e->bar = NULL;
    }
}

static uint32_t edu_rd32(Edu *e, unsigned off)
{
    return *(volatile uint32_t *)(e->bar + off);
}

static void edu_wr64(Edu *e, unsigned off, uint64_t v)
{
    *(volatile uint64_t *)(e->bar + off) = v;
}

/* One DMA of @len bytes; false on timeout. */
static bool edu_dma(Edu *e, uint64_t src, uint64_t dst, uint64_t len, bool to_ram)
{
    double t0 = now_s();

    edu_wr64(e, EDU_REG_DMA_SRC, src);
    edu_wr64(e, EDU_REG_DMA_DST, dst);
    edu_wr64(e, EDU_REG_DMA_CNT, len);
    edu_wr64(e, EDU_REG_DMA_CMD, EDU_CMD_RUN | (to_ram ? EDU_CMD_TO_RAM : 0));
    while (edu_rd32(e, EDU_REG_DMA_CMD) & EDU_CMD_RUN) {
        if (now_s() - t0 > 5.0) {
            return false;
        }
        usleep(1000);
    }
    return true;
}

static int edu_index(Ctx *c)
{
    unsigned i;

    for (i = 0; i < c->nr_pci; i++) {
        if (c->is_edu[i] && c->pci[i]) {
            return i;
        }
    }
    return -1;
}

/* --sim: the model's name of the device at @bdf. */
static const char *sim_device_name(Ctx *c, const char *bdf)
{
    g_autofree const char **names = NULL;
    unsigned n = 0, k;

    names = vfi_sim_device_names(c->sim, &n);
    for (k = 0; k < n; k++) {
        const char *b = vfi_sim_device_bdf(c->sim, names[k]);

        if (b && !strcmp(b, bdf)) {
            return names[k];
        }
    }
    return NULL;
}

/* --sim: the edu's DMA engine is not modelled; the device writing the
 * range (vfi_sim_dma_write(), which faults where nothing is mapped in its
 * IOAS) stands for it. No data moves. */
static bool sim_dma(Ctx *c, int i, uint64_t iova, uint64_t len, GError **errp)
{
    const char *name = sim_device_name(c, c->bdf[i]);

    if (!name) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_NOT_FOUND,
                    "no model device at %s", c->bdf[i]);
        return false;
    }
    return vfi_sim_dma_write(c->sim, name, iova, len, errp);
}

static TResult t_dma_copy(Ctx *c)
{
    int i = edu_index(c);
    g_autoptr(GString) why = g_string_new(NULL);
    Edu e = { 0 };
    uint8_t *buf;
    unsigned k;
    TResult r = T_PASS;

    if (i < 0) {
        return c->strict ? set_why(c, T_FAIL, "no edu device")
                         : set_why(c, T_SKIP, "no edu device (no DMA on other devices)");
    }
    CHECK(c->as, "no address space");
    OK(vfi_address_space_attach_device(c->as, c->be, c->pci[i], NULL, errp));
    buf = alloc_pages(2 * 4096);
    CHECK(buf, "mmap");
    for (k = 0; k < 4096; k++) {
        buf[k] = (uint8_t)(k * 7 + 3);
    }
    OK(vfi_address_space_dma_map(c->as, DMA_IOVA, 2 * 4096, buf, false, errp));
    CHECK(vfi_address_space_mapping_count(c->as) == 1, "%u mappings",
          vfi_address_space_mapping_count(c->as));
    if (c->sim) {
        note(c, "on the model: no edu DMA engine; the device writes the mapped range");
        OK(sim_dma(c, i, DMA_IOVA, 2 * 4096, errp));
        return T_PASS;
    }
    if (!edu_open(&e, c->pci[i], why)) {
        FAIL("%s", why->str);
    }
    note(c, "edu %s id 0x%08x", c->bdf[i], edu_rd32(&e, EDU_REG_ID));
    if ((edu_rd32(&e, EDU_REG_ID) & 0xff) != 0xed) {
        r = set_why(c, T_FAIL, "edu id register 0x%08x", edu_rd32(&e, EDU_REG_ID));
    } else if (!edu_dma(&e, DMA_IOVA, EDU_BUF, 4096, false)) {
        r = set_why(c, T_FAIL, "DMA RAM -> edu timed out");
    } else if (!edu_dma(&e, EDU_BUF, DMA_IOVA + 4096, 4096, true)) {
        r = set_why(c, T_FAIL, "DMA edu -> RAM timed out");
    } else if (memcmp(buf, buf + 4096, 4096) != 0) {
        r = set_why(c, T_FAIL, "copied data differ (first bytes %02x %02x %02x, want %02x %02x %02x)",
                    buf[4096], buf[4097], buf[4098], buf[0], buf[1], buf[2]);
    }
    edu_close(&e);
    return r;
}

static TResult t_dma_blocked_after_unmap(Ctx *c)
{
    int i = edu_index(c);
    g_autoptr(GString) why = g_string_new(NULL);
    Edu e = { 0 };
    uint8_t *buf;
    unsigned k;
    TResult r = T_PASS;

    if (i < 0) {
        return c->strict ? set_why(c, T_FAIL, "no edu device")
                         : set_why(c, T_SKIP, "no edu device");
    }
    CHECK(c->as && vfi_address_space_mapping_count(c->as) == 1, "no mapping from the copy test");
    /* Unmap what t_dma_copy mapped. */
    OK(vfi_address_space_dma_unmap(c->as, DMA_IOVA, 2 * 4096, 0, errp));
    CHECK(vfi_address_space_mapping_count(c->as) == 0, "%u mappings",
          vfi_address_space_mapping_count(c->as));
    buf = alloc_pages(4096);
    CHECK(buf, "mmap");
    memset(buf, 0x5a, 4096);
    if (c->sim) {
        g_autoptr(GError) err = NULL;

        note(c, "on the model: no edu DMA engine; the device writes the range");
        CHECK(!sim_dma(c, i, DMA_IOVA + 4096, 4096, &err), "DMA to the unmapped IOVA went through");
        note(c, "model: %s", err->message);
        OK(vfi_address_space_dma_map(c->as, DMA_IOVA + 4096, 4096, buf, false, errp));
        OK(sim_dma(c, i, DMA_IOVA + 4096, 4096, errp));
        OK(vfi_address_space_dma_unmap(c->as, DMA_IOVA + 4096, 4096, 0, errp));
        OK(vfi_address_space_detach_device(c->as, c->pci[i], errp));
        CHECK(vfi_address_space_container_count(c->as) == 0, "container left");
        return T_PASS;
    }
    if (!edu_open(&e, c->pci[i], why)) {
        FAIL("%s", why->str);
    }
    /* edu -> RAM at the unmapped IOVA: must not reach any memory we own. */
    if (!edu_dma(&e, EDU_BUF, DMA_IOVA + 4096, 4096, true)) {
        r = set_why(c, T_FAIL, "DMA edu -> RAM timed out");
    }
    for (k = 0; k < 4096 && r == T_PASS; k++) {
        if (buf[k] != 0x5a) {
            r = set_why(c, T_FAIL, "byte %u changed to 0x%02x", k, buf[k]);
        }
    }
    /* Map the fresh buffer at the IOVA: now the same DMA lands. */
    if (r == T_PASS) {
        g_autoptr(GError) err = NULL;

        if (!vfi_address_space_dma_map(c->as, DMA_IOVA + 4096, 4096, buf, false, &err)) {
            r = set_why(c, T_FAIL, "remap: %s", err->message);
        } else if (!edu_dma(&e, EDU_BUF, DMA_IOVA + 4096, 4096, true)) {
            r = set_why(c, T_FAIL, "DMA edu -> RAM timed out");
        } else if (buf[0] != 3 || buf[1] != 10) {
            r = set_why(c, T_FAIL, "remapped DMA did not land (0x%02x 0x%02x)", buf[0], buf[1]);
        } else if (!vfi_address_space_dma_unmap(c->as, DMA_IOVA + 4096, 4096, 0, &err)) {
            r = set_why(c, T_FAIL, "unmap: %s", err->message);
        }
    }
    edu_close(&e);
    if (r == T_PASS) {
        /* The same mapping after the device left: attached to nothing. */
        OK(vfi_address_space_detach_device(c->as, c->pci[i], errp));
        CHECK(vfi_address_space_container_count(c->as) == 0, "container left");
    }
    return r;
}

/* ---- mappings by file (IOMMU_IOAS_MAP_FILE, 6.13) ---------------------------- */

#define FILE_IOVA 0x2000000ull   /* < 256 MiB: edu's 28-bit DMA mask */
#define FILE_PAGES 4

/* The number of fds open in this process. */
static unsigned open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    unsigned n = 0;

    if (!d) {
        return 0;
    }
    while (readdir(d)) {
        n++;
    }
    closedir(d);
    return n;
}

#ifdef IOMMU_IOAS_MAP_FILE
/* Guest RAM in a memfd: @mem its shared mapping, page 0 a pattern. The
 * first two pages are mapped by file at FILE_IOVA while the address space
 * has no container (remembered only), the edu attached (replayed by file
 * into the new container), page 3 mapped at a kernel-chosen *@any_iova;
 * then the VMM closes its memfd: the library's duplicate stays. */
static TResult file_setup(Ctx *c, int i, uint8_t **mem, uint64_t *any_iova)
{
    int mfd = memfd_create("guest-ram", MFD_CLOEXEC);
    g_autoptr(GError) err = NULL;
    VfiMappingInfo mi;
    void *p;

    CHECK(mfd >= 0 && ftruncate(mfd, FILE_PAGES * 4096) == 0, "memfd: %s", g_strerror(errno));
    p = mmap(NULL, FILE_PAGES * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
    CHECK(p != MAP_FAILED, "mmap memfd: %s", g_strerror(errno));
    *mem = p;
    for (unsigned k = 0; k < 4096; k++) {
        (*mem)[k] = (uint8_t)(k * 5 + 1);
    }
    OK(vfi_address_space_dma_map_file(c->as, FILE_IOVA, 2 * 4096, mfd, 0, false, NULL, errp));
    if (!vfi_address_space_attach_device(c->as, c->be, c->pci[i], NULL, &err)) {
        bool old = g_error_matches(err, VFI_KERNEL_ERROR, ENOTTY) && !kernel_at_least(6, 13);

        note(c, "attach (replay by file): %s", err->message);
        close(mfd);
        OK(vfi_address_space_dma_unmap(c->as, FILE_IOVA, 2 * 4096, 0, errp));
        if (old) {
            SKIP("needs Linux 6.13: IOMMU_IOAS_MAP_FILE missing from this kernel");
        }
        FAIL("attach with a mapping by file to replay: %s", err->message);
    }
    OK(vfi_address_space_dma_map_file(c->as, VFI_IOVA_ANY, 4096, mfd, 3 * 4096, false,
                                      any_iova, errp));
    note(c, "kernel-chosen IOVA 0x%" PRIx64 " for file offset 0x3000", *any_iova);
    CHECK(*any_iova + 4096 <= (1ull << 28), "chosen IOVA beyond edu's DMA mask");
    CHECK(vfi_address_space_mapping(c->as, 0, &mi) && mi.by_file && mi.fd >= 0 &&
          mi.fd != mfd && mi.vaddr == NULL, "mapping 0 is not by file, or its fd %d", mi.fd);
    close(mfd);             /* the VMM's own: the address space keeps its duplicate */
    return T_PASS;
}

/* Real edu DMA through the file mappings: RAM (memfd page 0) -> edu -> RAM
 * (page 1), and edu -> the kernel-chosen IOVA (page 3). */
static TResult file_dma_real(Ctx *c, Edu *e, uint8_t *mem, uint64_t any_iova)
{
    CHECK(edu_dma(e, FILE_IOVA, EDU_BUF, 4096, false), "DMA RAM -> edu timed out");
    CHECK(edu_dma(e, EDU_BUF, FILE_IOVA + 4096, 4096, true), "DMA edu -> RAM timed out");
    CHECK(memcmp(mem, mem + 4096, 4096) == 0, "copy into page 1 differs (0x%02x, want 0x%02x)",
          mem[4096], mem[0]);
    CHECK(edu_dma(e, EDU_BUF, any_iova, 4096, true), "DMA edu -> chosen IOVA timed out");
    CHECK(memcmp(mem, mem + 3 * 4096, 4096) == 0, "copy into page 3 differs (0x%02x)",
          mem[3 * 4096]);
    return T_PASS;
}

/* After the unmaps, edu -> RAM at FILE_IOVA + 4096 must not reach page 1. */
static TResult file_dma_blocked(Ctx *c, Edu *e, uint8_t *mem, int i)
{
    memset(mem + 4096, 0x5a, 4096);
    if (c->sim) {
        g_autoptr(GError) err = NULL;

        CHECK(!sim_dma(c, i, FILE_IOVA + 4096, 4096, &err), "DMA after unmap went through");
        note(c, "model: %s", err->message);
        return T_PASS;
    }
    CHECK(edu_dma(e, EDU_BUF, FILE_IOVA + 4096, 4096, true), "DMA edu -> RAM timed out");
    for (unsigned k = 0; k < 4096; k++) {
        CHECK(mem[4096 + k] == 0x5a, "byte %u of page 1 changed to 0x%02x after unmap", k,
              mem[4096 + k]);
    }
    return T_PASS;
}

static TResult file_dma(Ctx *c, int i, uint8_t *mem, uint64_t any_iova, unsigned base)
{
    g_autoptr(GString) why = g_string_new(NULL);
    Edu e = { 0 };
    TResult r = T_PASS;

    if (c->sim) {
        note(c, "on the model: no edu DMA engine; the device writes the mapped ranges");
        OK(sim_dma(c, i, FILE_IOVA, 2 * 4096, errp));
        OK(sim_dma(c, i, any_iova, 4096, errp));
    } else if (!edu_open(&e, c->pci[i], why)) {
        FAIL("%s", why->str);
    } else {
        r = file_dma_real(c, &e, mem, any_iova);
    }
    if (r == T_PASS) {
        OK(vfi_address_space_dma_unmap(c->as, FILE_IOVA, 2 * 4096, 0, errp));
        OK(vfi_address_space_dma_unmap(c->as, any_iova, 4096, 0, errp));
        CHECK(open_fds() == base, "%u fds open after the unmaps, %u before the memfd",
              open_fds(), base);
        r = file_dma_blocked(c, &e, mem, i);
    }
    edu_close(&e);
    return r;
}
#endif

/* Guest RAM in a memfd mapped by file (IOMMU_IOAS_MAP_FILE) into the
 * address space with the edu attached: replayed into its new container,
 * real edu DMA through it (a fixed and a kernel-chosen IOVA), blocked
 * after the unmap, no fd left. */
static TResult t_dma_file(Ctx *c)
{
    int i = edu_index(c);
    unsigned base = open_fds();

    if (i < 0) {
        return c->strict ? set_why(c, T_FAIL, "no edu device")
                         : set_why(c, T_SKIP, "no edu device");
    }
    CHECK(c->as && vfi_address_space_container_count(c->as) == 0, "a container is left");
#ifdef IOMMU_IOAS_MAP_FILE
    uint8_t *mem = NULL;
    uint64_t any_iova = 0;
    TResult r = file_setup(c, i, &mem, &any_iova);

    if (r == T_PASS) {
        r = file_dma(c, i, mem, any_iova, base);
    }
    if (vfi_device_get_container(c->pci[i])) {
        OK(vfi_address_space_detach_device(c->as, c->pci[i], errp));
    }
    if (mem) {
        munmap(mem, FILE_PAGES * 4096);
    }
    CHECK(r != T_PASS || vfi_address_space_container_count(c->as) == 0, "container left");
    return r;
#else
    g_autoptr(GError) err = NULL;

    CHECK(!vfi_address_space_dma_map_file(c->as, FILE_IOVA, 4096, 0, 0, false, NULL, &err) &&
          g_error_matches(err, VFI_ERROR, VFI_ERROR_NOT_SUPPORTED), "not refused as unbuilt");
    note(c, "%s", err->message);
    CHECK(open_fds() == base, "an fd left");
    if (c->sim) {
        return T_PASS;      /* the model speaks these headers' UAPI: nothing more */
    }
    SKIP("needs Linux 6.13: built against UAPI headers without IOMMU_IOAS_MAP_FILE "
         "(build with -Duapi_include= newer headers)");
#endif
}

/* ---- newer UAPI ------------------------------------------------------------ */

/* The IOMMUFD requests after Linux 6.12 that the UAPI headers of this build
 * have (the same -isystem as the library's), with the release that added
 * each. The library makes none of them yet; the kernel must know them. */
typedef struct NewerRequest {
    unsigned long request;
    const char *name;
    unsigned major, minor;
    bool modelled;              /* the kernel model implements it */
} NewerRequest;

static const NewerRequest newer_requests[] = {
#ifdef IOMMU_IOAS_MAP_FILE
    { IOMMU_IOAS_MAP_FILE, "IOMMU_IOAS_MAP_FILE", 6, 13, true },
#endif
#ifdef IOMMU_VIOMMU_ALLOC
    { IOMMU_VIOMMU_ALLOC, "IOMMU_VIOMMU_ALLOC", 6, 13, true },
#endif
#ifdef IOMMU_VDEVICE_ALLOC
    { IOMMU_VDEVICE_ALLOC, "IOMMU_VDEVICE_ALLOC", 6, 13, true },
#endif
#ifdef IOMMU_IOAS_CHANGE_PROCESS
    { IOMMU_IOAS_CHANGE_PROCESS, "IOMMU_IOAS_CHANGE_PROCESS", 6, 13, true },
#endif
#ifdef IOMMU_VEVENTQ_ALLOC
    { IOMMU_VEVENTQ_ALLOC, "IOMMU_VEVENTQ_ALLOC", 6, 15, true },
#endif
#ifdef IOMMU_HW_QUEUE_ALLOC
    { IOMMU_HW_QUEUE_ALLOC, "IOMMU_HW_QUEUE_ALLOC", 6, 17, true },
#endif
    { 0, NULL, 0, 0, false },
};

/*
 * Each request of newer_requests with a size field of 0 (below every
 * struct's minimum): a kernel that has the request answers EINVAL, one
 * without it ENOTTY. A kernel of the release that added a request must have
 * it; an older one may not (a note if it does, a backport). Skipped, with
 * "needs Linux 6.13", when the headers have none of them or the kernel
 * knows none and is older than 6.13 (the harness allows such a skip on an
 * older kernel only). The kernel model answers ENOTTY for each but those
 * it implements (IOMMU_IOAS_MAP_FILE, IOMMU_IOAS_CHANGE_PROCESS, IOMMU_VIOMMU_ALLOC,
 * IOMMU_VDEVICE_ALLOC, IOMMU_VEVENTQ_ALLOC): EINVAL, as a kernel that has them.
 */
static TResult t_newer_uapi(Ctx *c)
{
    const VfiKernelOps *ops = NULL;
    void *opaque = NULL;
    unsigned i, known = 0;
    int fd;

    CHECK(c->be && (fd = vfi_iommufd_get_fd(c->be)) >= 0, "no backend");
    if (!newer_requests[0].name) {
        SKIP("needs Linux 6.13: built against UAPI headers without IOMMU_IOAS_MAP_FILE, "
             "IOMMU_VIOMMU_ALLOC, ... (build with -Duapi_include= newer headers)");
    }
    vfi_kernel_get(&ops, &opaque);
    for (i = 0; newer_requests[i].name; i++) {
        const NewerRequest *r = &newer_requests[i];
        uint32_t arg[16] = { 0 };   /* size 0, the rest zeroed */
        int ret = ops->ioctl(opaque, fd, r->request, arg);
        bool due = kernel_at_least(r->major, r->minor);

        note(c, "%s (Linux %u.%u): %s", r->name, r->major, r->minor,
             ret == 0 ? "success" : g_strerror(-ret));
        if (c->sim) {
            CHECK(ret == (r->modelled ? -EINVAL : -ENOTTY), "%s: the model (%s) answered %d",
                  r->name, r->modelled ? "implements it" : "6.12", ret);
            continue;
        }
        CHECK(ret == -EINVAL || ret == -ENOTTY, "%s with size 0: %d", r->name, ret);
        CHECK(ret == -EINVAL || !due, "%s: ENOTTY from a kernel since %u.%u", r->name,
              r->major, r->minor);
        known += ret == -EINVAL;
    }
    if (!c->sim && known == 0 && !kernel_at_least(6, 13)) {
        SKIP("needs Linux 6.13: this kernel knows none of the newer IOMMUFD requests");
    }
    return T_PASS;
}

/* ---- nest parents (docs/nesting.md, "Nest-parent placement") ----------- */

/* HWPT_ALLOC of @flags for @dev on @ioas: 0 or the kernel's errno (a HWPT
 * made is destroyed again). */
static int nest_alloc_errno(Ctx *c, VfiDevice *dev, uint32_t ioas, uint32_t flags)
{
    g_autoptr(GError) err = NULL;
    uint32_t id = 0;

    if (vfi_iommufd_hwpt_alloc(c->be, vfi_device_get_devid(dev), ioas, flags,
                               IOMMU_HWPT_DATA_NONE, 0, NULL, &id, &err)) {
        vfi_iommufd_destroy(c->be, id, NULL);
        return 0;
    }
    return err->domain == VFI_KERNEL_ERROR ? err->code : -1;
}

/*
 * What the emulated VT-d says to nest parents: the erratum 772415 flag in
 * its hw info (every VT-d of 6.12 and 7.3 sets it), NEST_PARENT and
 * NEST_PARENT | DIRTY_TRACKING refused with EOPNOTSUPP (no nesting, no
 * dirty tracking); an address space asking nest parents: the attach fails
 * with that EOPNOTSUPP and leaves nothing; with a read-only mapping there,
 * the library refuses the erratum device before any attach (WRONG_STATE).
 * The model's dmar0 answers the same (SIM_TOPOLOGY).
 */
static TResult t_nest_parent(Ctx *c)
{
    struct iommu_hw_info_vtd vtd = { 0 };
    VfiHwInfo hw = { .data = &vtd, .data_len = sizeof(vtd) };
    VfiNestingOptions nest = { .nest_parent = true };
    g_autoptr(GError) err = NULL;
    VfiAddressSpace *as;
    VfiDevice *d;
    int i = edu_index(c), e1, e2;
    uint8_t *buf;
    bool ok;

    if (i < 0 || !c->be || !c->ioas) {
        return c->strict ? set_why(c, T_FAIL, "no edu device") : set_why(c, T_SKIP, "no edu");
    }
    d = c->pci[i];
    CHECK(!vfi_device_get_container(d), "the edu is in a container");
    OK(vfi_device_get_hw_info(d, &hw, errp));
    note(c, "%s: VT-d flags 0x%x", c->bdf[i], vtd.flags);
    EXPECT_VM(hw.type == IOMMU_HW_INFO_TYPE_INTEL_VTD &&
              (vtd.flags & IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17), "VT-d flags 0x%x", vtd.flags);
    e1 = nest_alloc_errno(c, d, c->ioas, IOMMU_HWPT_ALLOC_NEST_PARENT);
    e2 = nest_alloc_errno(c, d, c->ioas,
                          IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_DIRTY_TRACKING);
    note(c, "HWPT_ALLOC NEST_PARENT: %s; NEST_PARENT | DIRTY_TRACKING: %s",
         e1 ? g_strerror(e1) : "taken", e2 ? g_strerror(e2) : "taken");
    EXPECT_VM(e1 == EOPNOTSUPP && e2 == EOPNOTSUPP, "errnos %d %d", e1, e2);

    as = vfi_address_space_new(c);
    OK(vfi_address_space_set_nesting(as, &nest, errp));
    ok = vfi_address_space_attach_device(as, c->be, d, NULL, &err);
    note(c, "attach as a nest parent: %s", ok ? "attached" : err->message);
    if (ok) {
        EXPECT_VM(false, "nest-parent attach succeeded");
        OK(vfi_address_space_detach_device(as, d, errp));
    } else if (c->strict) {
        CHECK(g_error_matches(err, VFI_KERNEL_ERROR, EOPNOTSUPP) &&
              strstr(err->message, "nest-parent"), "%s", err->message);
    }
    g_clear_error(&err);
    CHECK(vfi_address_space_container_count(as) == 0, "a container left");
    CHECK(vfi_device_get_attached_pt(d) == 0, "attached to pt %u", vfi_device_get_attached_pt(d));
    /* the erratum, read from the kernel's hw info: refused before any attach */
    buf = alloc_pages(4096);
    CHECK(buf, "mmap");
    OK(vfi_address_space_dma_map(as, 0x100000, 4096, buf, true, errp));
    ok = vfi_address_space_attach_device(as, c->be, d, NULL, &err);
    if (vtd.flags & IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17) {
        CHECK(!ok && g_error_matches(err, VFI_ERROR, VFI_ERROR_WRONG_STATE) &&
              strstr(err->message, "772415"), "%s", ok ? "attached" : err->message);
        note(c, "%s", err->message);
    } else if (ok) {
        OK(vfi_address_space_detach_device(as, d, errp));
    }
    CHECK(vfi_address_space_container_count(as) == 0, "a container left");
    OK(vfi_address_space_dma_unmap(as, 0x100000, 4096, 0, errp));
    OK(vfi_address_space_free(as, errp));
    munmap(buf, 4096);
    return T_PASS;
}

static TResult t_teardown(Ctx *c)
{
    unsigned i;

    if (c->as) {
        OK(vfi_address_space_free(c->as, errp));
        c->as = NULL;
    }
    for (i = 0; i < c->nr_pci; i++) {
        vfi_device_free(c->pci[i]);
        c->pci[i] = NULL;
    }
    vfi_device_free(c->mdev);
    c->mdev = NULL;
    CHECK(c->be, "no backend");
    CHECK(vfi_iommufd_users(c->be) == 1, "%u users left (want the test's own)",
          vfi_iommufd_users(c->be));
    if (c->ioas) {
        OK(vfi_iommufd_destroy(c->be, c->ioas, errp));
        KERR(vfi_iommufd_destroy(c->be, c->ioas, errp), ENOENT);
    }
    vfi_iommufd_disconnect(c->be);
    CHECK(vfi_iommufd_get_fd(c->be) == -1, "fd still open");
    OK(vfi_iommufd_free(c->be, errp));
    c->be = NULL;
    if (c->sim) {
        /* What only the model can tell: no object and no fd left. */
        CHECK(vfi_sim_live_objects(c->sim) == 0, "%u objects left",
              vfi_sim_live_objects(c->sim));
        CHECK(vfi_sim_open_fds(c->sim) == 0, "%u fds left", vfi_sim_open_fds(c->sim));
    }
    return T_PASS;
}

/*
 * VFIO_DEVICE_ATTACH_PASID for an edu, which has no PASID capability (its
 * IOMMU reports a max PASID width of 0): the library asks GET_HW_INFO and
 * refuses with its own message, VFI_ERROR_NOT_SUPPORTED, before the attach.
 * Built against headers without the request (6.12's), the call refuses as
 * a build without it, before any ioctl. The address space goes first: a
 * device it places is its container's to move.
 */
static TResult t_edu_attach_pasid(Ctx *c)
{
    g_autoptr(GError) err = NULL;
    bool have = vfi_build_features() & VFI_BUILD_DEVICE_PASID;
    VfiDevice *dev = c->pci[0];

    if (!dev || !vfi_device_is_bound(dev)) {
        return c->strict ? set_why(c, T_FAIL, "no bound device") : set_why(c, T_SKIP, "no device");
    }
    if (c->as) {
        OK(vfi_address_space_free(c->as, errp));
        c->as = NULL;
    }
    CHECK(!vfi_device_attach_pasid(dev, 1, c->ioas, NULL, &err), "ATTACH_PASID succeeded");
    note(c, "%s", err->message);
    CHECK(g_error_matches(err, VFI_ERROR, VFI_ERROR_NOT_SUPPORTED), "error %s/%d",
          g_quark_to_string(err->domain), err->code);
    CHECK(strstr(err->message, have ? "has no PASID support" : "built against Linux UAPI"),
          "message: %s", err->message);
    CHECK(vfi_device_get_pasid_pt(dev, 1) == 0, "PASID 1 recorded as attached");
    g_clear_error(&err);
    CHECK(!vfi_device_detach_pasid(dev, 1, &err) &&
          g_error_matches(err, VFI_ERROR, have ? VFI_ERROR_WRONG_STATE : VFI_ERROR_NOT_SUPPORTED),
          "DETACH_PASID of a PASID never attached: %s", err ? err->message : "succeeded");
    return T_PASS;
}

/* ---- peer-to-peer DMA through a dma-buf (VFIO_DEVICE_FEATURE_DMA_BUF, 6.19) -- */

#define P2P_IOVA    0x3000000ull /* < 256 MiB: edu's 28-bit DMA mask */
#define P2P_REG     EDU_REG_DMA_SRC /* an edu register that keeps what is written:
                                     * edu 0's DMA source, 64 bits */
#define P2P_VALUE   0x1122334455667788ull
#define P2P_VALUE2  0x0badcafe0badcafeull

/* The two edu devices: *@i0 (the BAR) and *@i1 (the DMA engine). */
static bool two_edus(Ctx *c, int *i0, int *i1)
{
    *i0 = *i1 = -1;
    for (unsigned i = 0; i < c->nr_pci; i++) {
        if (c->is_edu[i] && c->pci[i]) {
            *(*i0 < 0 ? i0 : i1) = (int)i;
            if (*i1 >= 0) {
                return true;
            }
        }
    }
    return false;
}

static uint64_t edu_rd64(Edu *e, unsigned off)
{
    return *(volatile uint64_t *)(e->bar + off);
}

/* The 64 bits at P2P_REG of edu @i0's BAR0: through its mmap, or the
 * model's BAR store. */
static bool p2p_read(Ctx *c, Edu *e0, int i0, uint64_t *v, GError **errp)
{
    if (c->sim) {
        return vfi_sim_device_bar_read(c->sim, sim_device_name(c, c->bdf[i0]), 0, P2P_REG, v,
                                       sizeof(*v), errp);
    }
    *v = edu_rd64(e0, P2P_REG);
    return true;
}

/* edu @i1 writes @value (8 bytes) at P2P_IOVA + P2P_REG: on the real edu
 * RAM (@ram, mapped at DMA_IOVA) -> its buffer -> the IOVA; on the model
 * the device's data DMA. False on a fault (the model) or a timeout. */
static bool p2p_dma(Ctx *c, Edu *e1, int i1, uint8_t *ram, uint64_t value, GError **errp)
{
    if (c->sim) {
        return vfi_sim_dma_write_data(c->sim, sim_device_name(c, c->bdf[i1]),
                                      P2P_IOVA + P2P_REG, &value, sizeof(value), errp);
    }
    memcpy(ram, &value, sizeof(value));
    if (!edu_dma(e1, DMA_IOVA, EDU_BUF, sizeof(value), false) ||
        !edu_dma(e1, EDU_BUF, P2P_IOVA + P2P_REG, sizeof(value), true)) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_HOST, "edu DMA timed out");
        return false;
    }
    return true;
}

/* With the BAR mapped: edu 1's DMA lands in edu 0's register; unmapped: it
 * does not (an IOMMU fault; the register keeps the first value). */
static TResult p2p_run(Ctx *c, Edu *e0, Edu *e1, int i0, int i1, uint8_t *ram)
{
    g_autoptr(GError) err = NULL;
    uint64_t v = 0;

    if (!c->sim) {
        *(volatile uint64_t *)(e0->bar + P2P_REG) = 0;
    }
    OK(p2p_read(c, e0, i0, &v, errp));
    CHECK(v != P2P_VALUE, "edu 0's register holds the pattern before the DMA");
    OK(p2p_dma(c, e1, i1, ram, P2P_VALUE, errp));
    OK(p2p_read(c, e0, i0, &v, errp));
    CHECK(v == P2P_VALUE, "edu 1's DMA did not reach edu 0's BAR: 0x%016" PRIx64, v);
    note(c, "edu 1's DMA at IOVA 0x%llx reached edu 0's BAR0 + 0x%x: 0x%016" PRIx64,
         P2P_IOVA + P2P_REG, P2P_REG, v);
    OK(vfi_address_space_dma_unmap(c->as, P2P_IOVA, 4096, 0, errp));
    if (!p2p_dma(c, e1, i1, ram, P2P_VALUE2, &err)) {
        CHECK(c->sim, "after the unmap: %s", err->message);
        note(c, "after the unmap, model: %s", err->message);
    }
    OK(p2p_read(c, e0, i0, &v, errp));
    CHECK(v == P2P_VALUE, "after the unmap the DMA still reached the BAR: 0x%016" PRIx64, v);
    return T_PASS;
}

/* The export + map refused: by this build (6.12 headers), by a kernel
 * before 6.19; anything else fails, with our error text. */
static TResult p2p_refused(Ctx *c, GError *err)
{
    note(c, "refused: %s", err->message);
    if (g_error_matches(err, VFI_ERROR, VFI_ERROR_NOT_SUPPORTED)) {
        if (c->sim) {
            return T_PASS;  /* the model speaks these headers' UAPI: nothing more */
        }
        SKIP("needs Linux 6.19: built against UAPI headers without "
             "VFIO_DEVICE_FEATURE_DMA_BUF (build with -Duapi_include= newer headers)");
    }
    if (!c->sim && g_error_matches(err, VFI_KERNEL_ERROR, ENOTTY) && !kernel_at_least(6, 19)) {
        SKIP("needs Linux 6.19: this kernel has no VFIO_DEVICE_FEATURE_DMA_BUF (%s)",
             err->message);
    }
    FAIL("dma-buf export + map of edu 0's BAR0: %s", err->message);
}

static TResult p2p_body(Ctx *c, int i0, int i1, uint8_t *ram)
{
    g_autoptr(GString) why = g_string_new(NULL);
    g_autoptr(GError) err = NULL;
    Edu e0 = { 0 }, e1 = { 0 };
    TResult r;

    /* memory decoding on first: vfio-pci exports a dma-buf of a device
     * whose (virtual) command register has it off as revoked */
    if (!c->sim && (!edu_open(&e0, c->pci[i0], why) || !edu_open(&e1, c->pci[i1], why))) {
        edu_close(&e0);
        FAIL("%s", why->str);
    }
    if (!vfi_address_space_dma_map_device_bar(c->as, P2P_IOVA, c->pci[i0], 0, 0, 4096, false,
                                              NULL, &err)) {
        r = p2p_refused(c, err);
    } else if (vfi_address_space_mapping_count(c->as) != 2) {
        r = set_why(c, T_FAIL, "%u mappings", vfi_address_space_mapping_count(c->as));
    } else {
        r = p2p_run(c, &e0, &e1, i0, i1, ram);
    }
    edu_close(&e0);
    edu_close(&e1);
    return r;
}

/* edu 0's BAR0 (its first page: the registers) exported as a dma-buf and
 * mapped by file at P2P_IOVA in the address space with edu 1 attached;
 * edu 1's DMA at that IOVA lands in edu 0's register (read through edu
 * 0's mmapped BAR0), and no longer after the unmap. A build or kernel
 * without the feature refuses: the refusal and its text are shown. */
static TResult t_dma_buf_p2p(Ctx *c)
{
    unsigned base = open_fds();
    uint8_t *ram;
    int i0, i1;
    TResult r;

    if (!two_edus(c, &i0, &i1)) {
        return c->strict ? set_why(c, T_FAIL, "two edu devices needed")
                         : set_why(c, T_SKIP, "needs two edu devices");
    }
    CHECK(c->as && vfi_address_space_container_count(c->as) == 0, "a container is left");
    if (!vfi_device_is_bound(c->pci[i0])) {
        OK(vfi_device_bind(c->pci[i0], c->be, errp));
    }
    OK(vfi_address_space_attach_device(c->as, c->be, c->pci[i1], NULL, errp));
    ram = alloc_pages(4096);
    CHECK(ram, "mmap");
    OK(vfi_address_space_dma_map(c->as, DMA_IOVA, 4096, ram, false, errp));
    r = p2p_body(c, i0, i1, ram);
    if (vfi_address_space_mapping_count(c->as) == 2) {
        OK(vfi_address_space_dma_unmap(c->as, P2P_IOVA, 4096, 0, errp));
    }
    OK(vfi_address_space_dma_unmap(c->as, DMA_IOVA, 4096, 0, errp));
    OK(vfi_address_space_detach_device(c->as, c->pci[i1], errp));
    CHECK(vfi_address_space_container_count(c->as) == 0, "container left");
    CHECK(r != T_PASS || open_fds() == base, "%u fds open, %u before", open_fds(), base);
    if (c->sim && r == T_PASS) {
        CHECK(vfi_sim_live_dma_bufs(c->sim) == 0, "%u dma-bufs left",
              vfi_sim_live_dma_bufs(c->sim));
    }
    return r;
}

/* ---- live update (CPR) ------------------------------------------------------ */

/* Process A sets up an address space with both edus, guest RAM in a memfd
 * mapped by file (6.13+) and dirty tracking, saves it and hands the blob
 * and its fds to process B (SCM_RIGHTS over a socketpair; the guest's
 * kernel has no AF_UNIX, so there B takes them with pidfd_getfd(): the same
 * files under other numbers either way), then lets go; B restores
 * (IOMMU_IOAS_CHANGE_PROCESS), does
 * edu DMA through the restored mapping, unmaps, detaches and tears down.
 * On the real kernel B is a forked child; on the model it runs in the
 * same process on duplicates of the fds, A's objects let go first, with
 * the same assertions. Without MAP_FILE (6.12) A maps nothing (the save
 * refuses process memory), the kernel's refusal of CHANGE_PROCESS is
 * checked, and B maps memory of its own for the DMA. */
#define CPR_IOVA  0x3000000ull   /* < 256 MiB: edu's 28-bit DMA mask */
#define CPR_PAGES 2
#define CPR_MAX_FDS 8

typedef struct CprHandover {
    GBytes *blob;
    int fds[CPR_MAX_FDS];
    unsigned n;
    bool files;                  /* A's guest RAM is mapped by file (fds[1]) */
} CprHandover;

/* A's memfd of guest RAM, mapped by file at CPR_IOVA; false (with a note)
 * where the build or the kernel has no IOMMU_IOAS_MAP_FILE. */
static TResult cpr_map_file(Ctx *c, VfiAddressSpace *as, int mfd, bool *files)
{
    g_autoptr(GError) err = NULL;

    *files = vfi_address_space_dma_map_file(as, CPR_IOVA, CPR_PAGES * 4096, mfd, 0, false,
                                            NULL, &err);
    if (*files) {
        return T_PASS;
    }
    CHECK(g_error_matches(err, VFI_ERROR, VFI_ERROR_NOT_SUPPORTED) ||
          (g_error_matches(err, VFI_KERNEL_ERROR, ENOTTY) && !kernel_at_least(6, 13)),
          "map by file: %s", err->message);
    note(c, "no mapping by file here (%s): the handover carries no mapping", err->message);
    return T_PASS;
}

/* A's save refuses a mapping of process memory (CHANGE_PROCESS could not
 * move it), before any ioctl; unmapped, the address space is as before. */
static TResult cpr_refuse_va(Ctx *c, VfiAddressSpace *as)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GArray) fds = NULL;
    uint8_t *page = alloc_pages(4096);
    uint64_t n;

    CHECK(page, "mmap");
    OK(vfi_address_space_dma_map(as, CPR_IOVA + 0x100000, 4096, page, false, errp));
    n = c->sim ? vfi_sim_ioctl_count(c->sim) : 0;
    CHECK(!vfi_live_update_save(as, &fds, &err) &&
          g_error_matches(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT) &&
          strstr(err->message, "process memory"), "save with a mapping of process memory: %s",
          err ? err->message : "not refused");
    CHECK(!c->sim || vfi_sim_ioctl_count(c->sim) == n, "the refused save made ioctls");
    OK(vfi_address_space_dma_unmap(as, CPR_IOVA + 0x100000, 4096, 0, errp));
    munmap(page, 4096);
    return T_PASS;
}

/* Process A: set up, save. @devs get the opened edus. */
static TResult cpr_setup_save(Ctx *c, const int *idx, VfiIommufd **be, VfiAddressSpace **as,
                              VfiDevice **devs, CprHandover *h)
{
    g_autoptr(GArray) fds = NULL;
    g_autoptr(GError) err = NULL;
    int mfd = memfd_create("cpr-guest-ram", MFD_CLOEXEC);
    uint8_t *mem;

    CHECK(mfd >= 0 && ftruncate(mfd, CPR_PAGES * 4096) == 0, "memfd: %s", g_strerror(errno));
    mem = mmap(NULL, CPR_PAGES * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
    CHECK(mem != MAP_FAILED, "mmap memfd: %s", g_strerror(errno));
    for (unsigned k = 0; k < 4096; k++) {
        mem[k] = (uint8_t)(k * 11 + 5);
    }
    munmap(mem, CPR_PAGES * 4096);
    *be = vfi_iommufd_new();
    *as = vfi_address_space_new(c);
    for (int k = 0; k < 2; k++) {
        devs[k] = vfi_device_open_pci(c->bdf[idx[k]], &err);
        CHECK(devs[k], "open %s: %s", c->bdf[idx[k]], err->message);
        OK(vfi_address_space_attach_device(*as, *be, devs[k], &(VfiAttachOptions){
               .label = k ? "edu-b" : "edu-a" }, errp));
    }
    if (cpr_map_file(c, *as, mfd, &h->files) != T_PASS) {
        close(mfd);
        return T_FAIL;
    }
    close(mfd);                  /* the address space keeps its duplicate */
    if (cpr_refuse_va(c, *as) != T_PASS) {
        return T_FAIL;
    }
    OK(vfi_address_space_dirty_tracking_start(*as, errp));
    h->blob = vfi_live_update_save(*as, &fds, &err);
    CHECK(h->blob, "save: %s", err->message);
    CHECK(fds->len == 3u + h->files && fds->len <= CPR_MAX_FDS, "%u fds listed", fds->len);
    h->n = fds->len;
    memcpy(h->fds, fds->data, fds->len * sizeof(int));
    note(c, "saved: %zu bytes, %u fds (iommufd %d)", g_bytes_get_size(h->blob), h->n, h->fds[0]);
    return T_PASS;
}

/* Process A lets go: no ioctl, every fd of its own closed. */
static TResult cpr_let_go(Ctx *c, VfiIommufd *be, VfiAddressSpace *as, VfiDevice **devs)
{
    uint64_t n = c->sim ? vfi_sim_ioctl_count(c->sim) : 0;
    g_autoptr(GError) err = NULL;

    vfi_live_update_let_go(as);
    CHECK(!vfi_device_detach(devs[0], &err), "a handed-over device still detaches");
    vfi_device_free(devs[0]);
    vfi_device_free(devs[1]);
    OK(vfi_iommufd_free(be, errp));
    CHECK(!c->sim || vfi_sim_ioctl_count(c->sim) == n, "the let-go made %" PRIu64 " ioctls",
          vfi_sim_ioctl_count(c->sim) - n);
    return T_PASS;
}

/* B's CHANGE_PROCESS where A mapped nothing: the kernel's (or the
 * build's) refusal on 6.12, success from 6.13 on. */
static TResult cpr_change_process(Ctx *c, VfiIommufd *be)
{
    g_autoptr(GError) err = NULL;
    bool ok = vfi_iommufd_ioas_change_process(be, &err);

    if (ok) {
        CHECK(vfi_build_features() & VFI_BUILD_IOAS_CHANGE_PROCESS,
              "succeeded without the request in the build");
        return T_PASS;
    }
    CHECK(g_error_matches(err, VFI_ERROR, VFI_ERROR_NOT_SUPPORTED) ||
          (g_error_matches(err, VFI_KERNEL_ERROR, ENOTTY) && !kernel_at_least(6, 13)),
          "CHANGE_PROCESS: %s", err->message);
    note(c, "CHANGE_PROCESS refused as expected: %s", err->message);
    return T_PASS;
}

/* One edu DMA RAM -> edu -> RAM through [iova, iova + 2 pages) of @mem. */
static TResult cpr_dma(Ctx *c, VfiDevice *dev, int i, uint8_t *mem, uint64_t iova)
{
    g_autoptr(GString) why = g_string_new(NULL);
    Edu e = { 0 };
    TResult r = T_PASS;

    if (c->sim) {
        OK(sim_dma(c, i, iova, 2 * 4096, errp));
        return T_PASS;
    }
    if (!edu_open(&e, dev, why)) {
        FAIL("%s", why->str);
    }
    memset(mem + 4096, 0, 4096);
    if (!edu_dma(&e, iova, EDU_BUF, 4096, false) ||
        !edu_dma(&e, EDU_BUF, iova + 4096, 4096, true)) {
        r = set_why(c, T_FAIL, "edu DMA timed out in B");
    } else if (memcmp(mem, mem + 4096, 4096) != 0) {
        r = set_why(c, T_FAIL, "B's DMA copy differs (0x%02x, want 0x%02x)", mem[4096], mem[0]);
    }
    edu_close(&e);
    return r;
}

/* B uses what it restored, then tears it down: CHANGE_PROCESS done by the
 * restore (or refused where A mapped nothing), DMA, unmap, detach, free. */
static TResult cpr_b_use(Ctx *c, VfiLiveUpdateRestored *r, const CprHandover *h,
                         const int *idx)
{
    uint8_t *mem;
    TResult res;

    CHECK(r->n_devices == 2 && !strcmp(vfi_device_get_label(r->devices[0]), "edu-a"),
          "%u devices restored", r->n_devices);
    CHECK(vfi_device_get_attached_pt(r->devices[0]) &&
          vfi_device_get_attached_pt(r->devices[0]) ==
          vfi_device_get_attached_pt(r->devices[1]), "the edus not on one HWPT");
    CHECK(vfi_address_space_dirty_tracking_is_active(r->as), "tracking state lost");
    if (h->files) {
        mem = mmap(NULL, CPR_PAGES * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, h->fds[1], 0);
        CHECK(mem != MAP_FAILED, "mmap the handed-over memfd: %s", g_strerror(errno));
        CHECK(mem[1] == 16, "guest RAM content 0x%02x", mem[1]);
    } else {
        if (cpr_change_process(c, r->backend) != T_PASS) {
            return T_FAIL;
        }
        mem = alloc_pages(CPR_PAGES * 4096);
        CHECK(mem, "mmap");
        for (unsigned k = 0; k < 4096; k++) {
            mem[k] = (uint8_t)(k * 11 + 5);
        }
        OK(vfi_address_space_dma_map(r->as, CPR_IOVA, CPR_PAGES * 4096, mem, false, errp));
    }
    res = cpr_dma(c, r->devices[0], idx[0], mem, CPR_IOVA);
    OK(vfi_address_space_dirty_tracking_stop(r->as, errp));
    OK(vfi_address_space_dma_unmap(r->as, CPR_IOVA, CPR_PAGES * 4096, 0, errp));
    munmap(mem, CPR_PAGES * 4096);
    for (unsigned k = 0; k < 2; k++) {
        OK(vfi_address_space_detach_device(r->as, r->devices[k], errp));
    }
    OK(vfi_address_space_free(r->as, errp));
    for (unsigned k = 0; k < 2; k++) {
        vfi_device_free(r->devices[k]);
    }
    OK(vfi_iommufd_free(r->backend, errp));
    return res;
}

/* A restore of @blob (changed) that must be refused with @code, naming
 * @what, nothing made (on the model: no ioctl for a bad blob). */
static TResult cpr_refused(Ctx *c, GBytes *blob, const int *fds, unsigned n, GQuark domain,
                           int code, const char *what)
{
    g_autoptr(GError) err = NULL;
    VfiLiveUpdateRestored *r = NULL;
    uint64_t ioctls = c->sim ? vfi_sim_ioctl_count(c->sim) : 0;
    unsigned before = open_fds();

    CHECK(!vfi_live_update_restore(blob, fds, n, c, NULL, 0, &r, &err) && !r,
          "a restore that must fail (%s) succeeded", what);
    CHECK(g_error_matches(err, domain, code) && strstr(err->message, what),
          "refusal (%s): %s", what, err->message);
    CHECK(!c->sim || domain != VFI_ERROR || vfi_sim_ioctl_count(c->sim) == ioctls,
          "a refused blob made ioctls");
    CHECK(open_fds() == before, "the refused restore left an fd");
    return T_PASS;
}

/* B first tries what must be refused: a byte changed, a truncated blob, a
 * foreign magic, another iommufd than the saved one (the kernel check). */
static TResult cpr_b_refusals(Ctx *c, const CprHandover *h)
{
    gsize len;
    const guint8 *d = g_bytes_get_data(h->blob, &len);
    g_autofree guint8 *copy = g_memdup2(d, len);
    g_autoptr(GBytes) flipped = NULL, cut = NULL, foreign = NULL;
    int fds[CPR_MAX_FDS];
    VfiIommufd *other = vfi_iommufd_new();
    TResult r;

    copy[len / 2] ^= 0x10;
    flipped = g_bytes_new(copy, len);
    copy[len / 2] ^= 0x10;
    cut = g_bytes_new(copy, len - 1);
    copy[0] ^= 0x20;
    foreign = g_bytes_new(copy, len);
    if (cpr_refused(c, flipped, h->fds, h->n, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "corrupt") != T_PASS ||
        cpr_refused(c, cut, h->fds, h->n, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "truncated") != T_PASS ||
        cpr_refused(c, foreign, h->fds, h->n, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "foreign magic") != T_PASS) {
        vfi_iommufd_free(other, NULL);
        return T_FAIL;
    }
    OK(vfi_iommufd_connect(other, errp));
    memcpy(fds, h->fds, sizeof(int) * h->n);
    fds[0] = vfi_iommufd_get_fd(other);
    r = cpr_refused(c, h->blob, fds, h->n, VFI_KERNEL_ERROR, ENOENT, "ioas");
    vfi_iommufd_disconnect(other);
    OK(vfi_iommufd_free(other, errp));
    return r;
}

/* B: restore from the handover (its fds this process's), use, tear down,
 * close the fds (@close_fd: how this process closes them). */
static TResult cpr_b(Ctx *c, const CprHandover *h, const int *idx, void (*close_fd)(int, bool))
{
    g_autoptr(GError) err = NULL;
    VfiLiveUpdateRestored *r = NULL;
    TResult res;

    if (cpr_b_refusals(c, h) != T_PASS) {
        return T_FAIL;
    }
    if (!vfi_live_update_restore(h->blob, h->fds, h->n, c, NULL, 0, &r, &err)) {
        FAIL("B's restore: %s", err->message);
    }
    res = cpr_b_use(c, r, h, idx);
    vfi_live_update_restored_free(r);
    for (unsigned k = 0; k < h->n; k++) {
        close_fd(h->fds[k], k == 0 || k >= h->n - 2);
    }
    return res;
}

static void cpr_close_model(int fd, bool model)
{
    const VfiKernelOps *ops;
    void *opaque;

    vfi_kernel_get(&ops, &opaque);
    if (model) {
        ops->close(opaque, fd);     /* the iommufd and the devices: model files */
    } else {
        close(fd);
    }
}

static void cpr_close_host(int fd, bool model)
{
    (void)model;
    close(fd);
}

/* The model: B in this process, on duplicates of A's fds (A lets go
 * first), the same assertions; then nothing of either is left. */
static TResult cpr_on_model(Ctx *c, const int *idx)
{
    unsigned objects = vfi_sim_live_objects(c->sim), files = vfi_sim_open_fds(c->sim);
    CprHandover h = { 0 };
    VfiDevice *devs[2] = { 0 };
    VfiAddressSpace *as;
    VfiIommufd *be;
    TResult r;

    if (cpr_setup_save(c, idx, &be, &as, devs, &h) != T_PASS) {
        return T_FAIL;
    }
    for (unsigned k = 0; k < h.n; k++) {
        h.fds[k] = fcntl(h.fds[k], F_DUPFD_CLOEXEC, 100);
        CHECK(h.fds[k] >= 100, "dup: %s", g_strerror(errno));
    }
    r = cpr_let_go(c, be, as, devs);
    if (r == T_PASS) {
        r = cpr_b(c, &h, idx, cpr_close_model);
    }
    g_bytes_unref(h.blob);
    CHECK(r != T_PASS || (vfi_sim_live_objects(c->sim) == objects &&
                          vfi_sim_open_fds(c->sim) == files),
          "left behind: %u objects (want %u), %u files (want %u)",
          vfi_sim_live_objects(c->sim), objects, vfi_sim_open_fds(c->sim), files);
    return r;
}

/* What A tells B over a pipe: whether A mapped by file, A's fd numbers (for
 * pidfd_getfd()), then the blob. */
typedef struct CprWire {
    uint32_t files, n, len;
    int fds[CPR_MAX_FDS];
} CprWire;

static bool cpr_write_all(int fd, const void *p, size_t len)
{
    for (size_t done = 0; done < len;) {
        ssize_t n = write(fd, (const char *)p + done, len - done);

        if (n <= 0) {
            return false;
        }
        done += n;
    }
    return true;
}

static bool cpr_read_all(int fd, void *p, size_t len)
{
    for (size_t done = 0; done < len;) {
        ssize_t n = read(fd, (char *)p + done, len - done);

        if (n <= 0) {
            return false;
        }
        done += n;
    }
    return true;
}

/* A -> B: the description and the blob over @wfd; the fds themselves as
 * SCM_RIGHTS over @sock in the saved order (-1: no AF_UNIX in this kernel,
 * B takes them with pidfd_getfd()). */
static bool cpr_send(int wfd, int sock, const CprHandover *h)
{
    gsize len;
    const void *blob = g_bytes_get_data(h->blob, &len);
    CprWire w = { .files = h->files, .n = h->n, .len = len };
    union {
        struct cmsghdr align;
        char b[CMSG_SPACE(sizeof(int) * CPR_MAX_FDS)];
    } u;
    char one = 'F';
    struct iovec iov = { .iov_base = &one, .iov_len = 1 };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b,
                        .msg_controllen = CMSG_SPACE(sizeof(int) * h->n) };
    struct cmsghdr *cm;

    memcpy(w.fds, h->fds, sizeof(int) * h->n);
    if (!cpr_write_all(wfd, &w, sizeof(w)) || !cpr_write_all(wfd, blob, len)) {
        return false;
    }
    if (sock < 0) {
        return true;
    }
    memset(&u, 0, sizeof(u));
    cm = CMSG_FIRSTHDR(&m);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int) * h->n);
    memcpy(CMSG_DATA(cm), h->fds, sizeof(int) * h->n);
    return sendmsg(sock, &m, MSG_NOSIGNAL) == 1;
}

/* B's fds: the SCM_RIGHTS message, or each of A's taken with pidfd_getfd(). */
static bool cpr_take_fds(int sock, CprHandover *h, const CprWire *w)
{
    union {
        struct cmsghdr align;
        char b[CMSG_SPACE(sizeof(int) * CPR_MAX_FDS)];
    } u;
    char one;
    struct iovec iov = { .iov_base = &one, .iov_len = 1 };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b,
                        .msg_controllen = sizeof(u.b) };
    struct cmsghdr *cm;
    int pidfd;

    if (sock >= 0) {
        cm = recvmsg(sock, &m, MSG_CMSG_CLOEXEC) == 1 ? CMSG_FIRSTHDR(&m) : NULL;
        if (!cm || cm->cmsg_type != SCM_RIGHTS ||
            cm->cmsg_len != CMSG_LEN(sizeof(int) * w->n)) {
            return false;
        }
        memcpy(h->fds, CMSG_DATA(cm), sizeof(int) * w->n);
        return true;
    }
    pidfd = syscall(SYS_pidfd_open, getppid(), 0);
    if (pidfd < 0) {
        return false;
    }
    for (unsigned k = 0; k < w->n; k++) {
        h->fds[k] = syscall(SYS_pidfd_getfd, pidfd, w->fds[k], 0);
        if (h->fds[k] < 0) {
            close(pidfd);
            return false;
        }
    }
    close(pidfd);
    return true;
}

static bool cpr_recv(int rfd, int sock, CprHandover *h)
{
    g_autofree void *blob = NULL;
    CprWire w;

    if (!cpr_read_all(rfd, &w, sizeof(w)) || w.n < 3 || w.n > CPR_MAX_FDS ||
        w.len > (1u << 20)) {
        return false;
    }
    blob = g_malloc(w.len);
    if (!cpr_read_all(rfd, blob, w.len) || !cpr_take_fds(sock, h, &w)) {
        return false;
    }
    h->n = w.n;
    h->files = w.files;
    h->blob = g_bytes_new(blob, w.len);
    return true;
}

/* Process B (a forked child): receive, tell A it has the fds ('A' over
 * @wfd), restore, use, tear down; its result goes back over @wfd ("P", "S"
 * or "F", then why). */
static void G_GNUC_NORETURN cpr_child(Ctx *c, int rfd, int wfd, int sock, const int *idx)
{
    CprHandover h = { 0 };
    TResult r;

    g_string_truncate(c->why, 0);
    if (cpr_recv(rfd, sock, &h)) {
        (void)!write(wfd, "A", 1);
        r = cpr_b(c, &h, idx, cpr_close_host);
    } else {
        r = set_why(c, T_FAIL, "B: receiving the handover: %s", g_strerror(errno));
    }
    g_string_prepend_c(c->why, r == T_PASS ? 'P' : r == T_SKIP ? 'S' : 'F');
    (void)!write(wfd, c->why->str, c->why->len);
    fflush(stdout);
    _exit(0);
}

/* A's end of the handover once B runs: send, wait until B has the fds, let
 * go, read B's result into @msg. */
static TResult cpr_a(Ctx *c, const int *idx, int wfd, int rfd, int sock, char *msg,
                     size_t size)
{
    CprHandover h = { 0 };
    VfiDevice *devs[2] = { 0 };
    VfiAddressSpace *as = NULL;
    VfiIommufd *be = NULL;
    ssize_t n;
    char ack = 0;
    TResult r = cpr_setup_save(c, idx, &be, &as, devs, &h);

    if (r == T_PASS && !cpr_send(wfd, sock, &h)) {
        r = set_why(c, T_FAIL, "sending the handover: %s", g_strerror(errno));
    }
    g_bytes_unref(h.blob);
    close(wfd);
    if (r == T_PASS && (read(rfd, &ack, 1) != 1 || ack != 'A')) {
        r = set_why(c, T_FAIL, "B did not get the fds");
    }
    if (r == T_PASS) {
        r = cpr_let_go(c, be, as, devs);
    }
    n = r == T_PASS ? read(rfd, msg, size - 1) : -1;
    msg[n > 0 ? n : 0] = 0;
    return r;
}

/* The real kernel: A is this process, B a child forked before A opens
 * anything, so that B holds nothing of A's but what it is handed. */
static TResult cpr_forked(Ctx *c, const int *idx)
{
    unsigned base = open_fds();
    char msg[2048];
    int to_b[2], to_a[2], sv[2] = { -1, -1 }, st = 0;
    TResult r;
    pid_t pid;

    CHECK(pipe2(to_b, O_CLOEXEC) == 0 && pipe2(to_a, O_CLOEXEC) == 0, "pipe: %s",
          g_strerror(errno));
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        note(c, "no AF_UNIX here (%s): B takes the fds with pidfd_getfd()", g_strerror(errno));
    }
    fflush(stdout);
    pid = fork();
    CHECK(pid >= 0, "fork: %s", g_strerror(errno));
    if (pid == 0) {
        close(to_b[1]);
        close(to_a[0]);
        cpr_child(c, to_b[0], to_a[1], sv[1], idx);
    }
    close(to_b[0]);
    close(to_a[1]);
    r = cpr_a(c, idx, to_b[1], to_a[0], sv[0], msg, sizeof(msg));
    close(to_a[0]);
    waitpid(pid, &st, 0);
    if (sv[0] >= 0) {
        close(sv[0]);
        close(sv[1]);
    }
    if (r != T_PASS) {
        return r;
    }
    CHECK(msg[0] && WIFEXITED(st) && WEXITSTATUS(st) == 0, "no word from B (status 0x%x)", st);
    if (msg[0] != 'P') {
        return set_why(c, msg[0] == 'S' ? T_SKIP : T_FAIL, "B: %s", msg + 1);
    }
    CHECK(open_fds() == base, "%u fds more in A than before", open_fds() - base);
    return T_PASS;
}

static TResult t_live_update(Ctx *c)
{
    int idx[2], n = 0;

    for (unsigned i = 0; i < c->nr_pci && n < 2; i++) {
        if (c->is_edu[i] && c->pci[i]) {
            idx[n++] = (int)i;
        }
    }
    if (n < 2) {
        return c->strict ? set_why(c, T_FAIL, "needs two edu devices")
                         : set_why(c, T_SKIP, "needs two edu devices");
    }
    /* A binds them anew: a cdev is bound once, so the test's own go */
    for (int k = 0; k < 2; k++) {
        CHECK(!vfi_device_get_container(c->pci[idx[k]]), "%s still attached", c->bdf[idx[k]]);
        vfi_device_free(c->pci[idx[k]]);
        c->pci[idx[k]] = NULL;
    }
    return c->sim ? cpr_on_model(c, idx) : cpr_forked(c, idx);
}

/* ---- the legacy VFIO group + type1 container (after the cdev teardown) ----
 *
 * Raw ioctls through the installed kernel (vfi_kernel_get(): Linux, or the
 * model under --sim), so the model's /dev/vfio/vfio and /dev/vfio/N answer
 * as the kernel's do. A device's cdev and its group exclude each other, so
 * these run after "teardown: nothing left" closed every cdev.
 */

#define T1_MAX_GROUPS (EDU_MAX + 1)
#define T1_IOVA 0x1000000ull       /* < 256 MiB: edu's 28-bit DMA mask */

typedef struct T1State {
    int container;
    unsigned nr_groups;
    unsigned group_id[T1_MAX_GROUPS];
    int group_fd[T1_MAX_GROUPS];
    int dev_fd[T1_MAX_GROUPS];       /* per edu (index as c->bdf), then the mdev */
    uint8_t *buf;
} T1State;

static T1State t1 = { .container = -1, .dev_fd = { [0 ... T1_MAX_GROUPS - 1] = -1 } };

static int k_open(const char *path)
{
    const VfiKernelOps *ops;
    void *opaque;

    vfi_kernel_get(&ops, &opaque);
    return ops->open(opaque, path, O_RDWR | O_CLOEXEC);
}

static int k_close(int fd)
{
    const VfiKernelOps *ops;
    void *opaque;

    vfi_kernel_get(&ops, &opaque);
    return ops->close(opaque, fd);
}

static int k_ioctl(int fd, unsigned long request, void *arg)
{
    const VfiKernelOps *ops;
    void *opaque;

    vfi_kernel_get(&ops, &opaque);
    return ops->ioctl(opaque, fd, request, arg);
}

/* The IOMMU group number of the device at sysfs @dir, or -1. */
static int t1_group_of(const char *dir)
{
    g_autofree char *link = g_build_filename(dir, "iommu_group", NULL);
    g_autofree char *target = g_file_read_link(link, NULL);

    return target ? atoi(strrchr(target, '/') + 1) : -1;
}

static char *t1_pci_dir(const char *bdf)
{
    return g_build_filename(vfi_kernel_sysfs_root(), "bus", "pci", "devices", bdf, NULL);
}

/* Open group @id once, viable, into the container; its fd. */
static TResult t1_join(Ctx *c, int id, int *fd_out)
{
    struct vfio_group_status st = { .argsz = sizeof(st) };
    g_autofree char *path = g_strdup_printf("/dev/vfio/%d", id);
    int fd, rc;

    for (unsigned k = 0; k < t1.nr_groups; k++) {
        if (t1.group_id[k] == (unsigned)id) {
            *fd_out = t1.group_fd[k];
            return T_PASS;              /* a group joins once */
        }
    }
    fd = k_open(path);
    CHECK(fd >= 0, "open %s: %s", path, g_strerror(-fd));
    t1.group_id[t1.nr_groups] = (unsigned)id;
    t1.group_fd[t1.nr_groups++] = fd;
    CHECK(k_ioctl(fd, VFIO_GROUP_GET_STATUS, &st) == 0, "GET_STATUS");
    CHECK(st.flags == VFIO_GROUP_FLAGS_VIABLE, "group %d flags 0x%x", id, st.flags);
    CHECK(k_ioctl(fd, VFIO_GROUP_UNSET_CONTAINER, NULL) == -EINVAL, "unset without one");
    rc = k_ioctl(fd, VFIO_GROUP_SET_CONTAINER, &t1.container);
    CHECK(rc == 0, "SET_CONTAINER group %d: %s", id, g_strerror(-rc));
    CHECK(k_ioctl(fd, VFIO_GROUP_SET_CONTAINER, &t1.container) == -EINVAL, "set twice");
    CHECK(k_ioctl(fd, VFIO_GROUP_GET_STATUS, &st) == 0 &&
          st.flags == (VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET),
          "flags 0x%x after SET_CONTAINER", st.flags);
    *fd_out = fd;
    return T_PASS;
}

/* The cdev of a device whose group is open opens, but does not bind to an
 * iommufd: EBUSY (vfio_device_block_group()). */
static TResult t1_cdev_blocked(Ctx *c, const char *bdf)
{
    g_autofree char *dir = t1_pci_dir(bdf);
    g_autofree char *vdir = g_build_filename(dir, "vfio-dev", NULL);
    GDir *d = g_dir_open(vdir, 0, NULL);
    const char *e = d ? g_dir_read_name(d) : NULL;
    g_autofree char *node = e ? g_strdup_printf("/dev/vfio/devices/%s", e) : NULL;
    struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
    int fd, ifd, rc;

    if (d) {
        g_dir_close(d);
    }
    CHECK(node, "%s: no vfio-dev entry", bdf);
    fd = k_open(node);
    CHECK(fd >= 0, "open %s while its group is open: %s", node, g_strerror(-fd));
    ifd = k_open("/dev/iommu");
    bind.iommufd = ifd;
    rc = ifd >= 0 ? k_ioctl(fd, VFIO_DEVICE_BIND_IOMMUFD, &bind) : ifd;
    k_close(fd);
    if (ifd >= 0) {
        k_close(ifd);
    }
    CHECK(rc == -EBUSY, "bind of %s while its group is open: %d, want EBUSY", node, rc);
    return T_PASS;
}

static TResult t_type1_groups(Ctx *c)
{
    int gfd, id, rc;
    TResult r;

    CHECK(c->nr_pci >= 1, "no edu found earlier");
    for (unsigned i = 0; i < T1_MAX_GROUPS; i++) {
        t1.dev_fd[i] = -1;
    }
    t1.container = k_open("/dev/vfio/vfio");
    CHECK(t1.container >= 0, "open /dev/vfio/vfio: %s", g_strerror(-t1.container));
    CHECK(k_ioctl(t1.container, VFIO_GET_API_VERSION, NULL) == VFIO_API_VERSION, "API version");
    CHECK(k_ioctl(t1.container, VFIO_CHECK_EXTENSION, (void *)(uintptr_t)VFIO_TYPE1v2_IOMMU) == 1,
          "no type1v2");
    CHECK(k_ioctl(t1.container, VFIO_SET_IOMMU, (void *)(uintptr_t)VFIO_TYPE1v2_IOMMU) == -EINVAL,
          "SET_IOMMU without a group");
    for (unsigned i = 0; i < c->nr_pci; i++) {
        g_autofree char *dir = t1_pci_dir(c->bdf[i]);

        id = t1_group_of(dir);
        CHECK(id >= 0, "%s: no iommu_group", c->bdf[i]);
        note(c, "%s in IOMMU group %d", c->bdf[i], id);
        r = t1_join(c, id, &gfd);
        if (r != T_PASS) {
            return r;
        }
        if (i == 0) {
            struct vfio_iommu_type1_dma_map m = { .argsz = sizeof(m), .flags = 1, .size = 4096 };

            CHECK(k_ioctl(t1.container, VFIO_IOMMU_MAP_DMA, &m) == -EINVAL, "map before SET_IOMMU");
            CHECK(k_ioctl(gfd, VFIO_GROUP_GET_DEVICE_FD, c->bdf[i]) == -EINVAL,
                  "GET_DEVICE_FD before SET_IOMMU");
            rc = k_ioctl(t1.container, VFIO_SET_IOMMU, (void *)(uintptr_t)VFIO_TYPE1v2_IOMMU);
            CHECK(rc == 0, "SET_IOMMU: %s", g_strerror(-rc));
        }
        t1.dev_fd[i] = k_ioctl(gfd, VFIO_GROUP_GET_DEVICE_FD, c->bdf[i]);
        CHECK(t1.dev_fd[i] >= 0, "GET_DEVICE_FD %s: %s", c->bdf[i], g_strerror(-t1.dev_fd[i]));
    }
    CHECK(k_ioctl(t1.group_fd[0], VFIO_GROUP_GET_DEVICE_FD, "0000:ff:1f.7") == -ENODEV,
          "a name not in the group");
    CHECK(k_ioctl(t1.group_fd[0], VFIO_GROUP_UNSET_CONTAINER, NULL) == -EBUSY,
          "unset while a device is open");
    return t1_cdev_blocked(c, c->bdf[0]);
}

/* The mtty mdev through its own (emulated) group, in the same container. */
static TResult t_type1_mdev(Ctx *c)
{
    g_autofree char *uuid = NULL;
    int id, gfd;
    TResult r;

    if (!c->mdev_path) {
        return c->strict ? set_why(c, T_FAIL, "no mdev") : set_why(c, T_SKIP, "no mdev");
    }
    id = t1_group_of(c->mdev_path);
    CHECK(id >= 0, "mdev %s: no iommu_group", c->mdev_path);
    r = t1_join(c, id, &gfd);
    if (r != T_PASS) {
        return r;
    }
    uuid = g_path_get_basename(c->mdev_path);
    t1.dev_fd[c->nr_pci] = k_ioctl(gfd, VFIO_GROUP_GET_DEVICE_FD, uuid);
    CHECK(t1.dev_fd[c->nr_pci] >= 0, "GET_DEVICE_FD %s: %s", uuid,
          g_strerror(-t1.dev_fd[c->nr_pci]));
    note(c, "mdev %s in IOMMU group %d", uuid, id);
    return T_PASS;
}

/* VFIO_IOMMU_GET_INFO: the capability chain, walked. */
static TResult t_type1_info(Ctx *c)
{
    uint64_t buf[128] = { 0 };
    struct vfio_iommu_type1_info *info = (void *)buf;
    struct vfio_info_cap_header h;
    unsigned seen = 0;

    info->argsz = sizeof(*info);
    CHECK(k_ioctl(t1.container, VFIO_IOMMU_GET_INFO, info) == 0, "GET_INFO");
    CHECK((info->flags & VFIO_IOMMU_INFO_CAPS) && info->argsz > sizeof(*info) &&
          info->argsz <= sizeof(buf), "flags 0x%x argsz %u", info->flags, info->argsz);
    CHECK(k_ioctl(t1.container, VFIO_IOMMU_GET_INFO, info) == 0, "GET_INFO, full size");
    CHECK(info->iova_pgsizes & 4096, "pgsizes 0x%llx", (unsigned long long)info->iova_pgsizes);
    note(c, "type1 page sizes 0x%llx", (unsigned long long)info->iova_pgsizes);
    for (uint32_t off = info->cap_offset; off; off = h.next) {
        CHECK(off >= sizeof(*info) && off + sizeof(h) <= info->argsz, "cap at %u", off);
        memcpy(&h, (uint8_t *)buf + off, sizeof(h));
        if (h.id == VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION) {
            struct vfio_iommu_type1_info_cap_migration m;

            memcpy(&m, (uint8_t *)buf + off, sizeof(m));
            CHECK(m.pgsize_bitmap == 4096, "dirty pgsizes 0x%llx",
                  (unsigned long long)m.pgsize_bitmap);
            CHECK(m.max_dirty_bitmap_size == 256ull << 20, "max bitmap %llu",
                  (unsigned long long)m.max_dirty_bitmap_size);
        } else if (h.id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL) {
            struct vfio_iommu_type1_info_dma_avail a;

            memcpy(&a, (uint8_t *)buf + off, sizeof(a));
            CHECK(a.avail == 65535, "dma avail %u", a.avail);
        } else if (h.id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
            struct vfio_iommu_type1_info_cap_iova_range r;
            struct vfio_iova_range r0;

            memcpy(&r, (uint8_t *)buf + off, sizeof(r));
            memcpy(&r0, (uint8_t *)buf + off + sizeof(r), sizeof(r0));
            CHECK(r.nr_iovas >= 2 && r0.start == 0 && r0.end == 0xfedfffffull,
                  "%u ranges, first 0x%llx-0x%llx", r.nr_iovas,
                  (unsigned long long)r0.start, (unsigned long long)r0.end);
        }
        seen |= 1u << (h.id & 31);
    }
    CHECK(seen == 0xe, "capabilities seen 0x%x (want IOVA range, migration, DMA avail)", seen);
    return T_PASS;
}

static int t1_map(uint64_t iova, uint64_t size, void *va)
{
    struct vfio_iommu_type1_dma_map m = {
        .argsz = sizeof(m), .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
        .vaddr = (uintptr_t)va, .iova = iova, .size = size,
    };

    return k_ioctl(t1.container, VFIO_IOMMU_MAP_DMA, &m);
}

/* Unmap, with the dirty bitmap when @bits: the bytes unmapped, or -errno. */
static int64_t t1_unmap(uint64_t iova, uint64_t size, uint64_t *bits)
{
    uint8_t buf[sizeof(struct vfio_iommu_type1_dma_unmap) + sizeof(struct vfio_bitmap)] = { 0 };
    struct vfio_iommu_type1_dma_unmap u = { .argsz = sizeof(u), .iova = iova, .size = size };
    struct vfio_bitmap bm = { .pgsize = 4096, .size = 8, .data = (void *)bits };
    int rc;

    if (bits) {
        u.argsz = sizeof(buf);
        u.flags = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP;
        memcpy(buf + sizeof(u), &bm, sizeof(bm));
    }
    memcpy(buf, &u, sizeof(u));
    rc = k_ioctl(t1.container, VFIO_IOMMU_UNMAP_DMA, buf);
    memcpy(&u, buf, sizeof(u));
    return rc < 0 ? rc : (int64_t)u.size;
}

/* Real edu DMA (or the model's device write) through a type1 mapping, and
 * none after the unmap. */
static TResult t_type1_dma(Ctx *c)
{
    g_autoptr(GString) why = g_string_new(NULL);
    Edu e = { 0 };
    TResult r = T_PASS;
    int i = 0;

    CHECK(c->is_edu[i] && t1.dev_fd[i] >= 0, "no edu open through its group");
    t1.buf = alloc_pages(2 * 4096);
    CHECK(t1.buf, "mmap");
    for (unsigned k = 0; k < 4096; k++) {
        t1.buf[k] = (uint8_t)(k * 5 + 1);
    }
    CHECK(t1_map(T1_IOVA, 2 * 4096, t1.buf) == 0, "map");
    CHECK(t1_map(T1_IOVA + 4096, 4096, t1.buf) == -EEXIST, "overlap");
    if (c->sim) {
        g_autoptr(GError) err = NULL;

        note(c, "on the model: no edu DMA engine; the device writes the mapped range");
        OK(sim_dma(c, i, T1_IOVA, 2 * 4096, errp));
        CHECK(t1_unmap(T1_IOVA, 2 * 4096, NULL) == 2 * 4096, "unmap");
        CHECK(!sim_dma(c, i, T1_IOVA + 4096, 4096, &err), "DMA after unmap went through");
        return T_PASS;
    }
    if (!edu_open_fd(&e, t1.dev_fd[i], why)) {
        FAIL("%s", why->str);
    }
    if (!edu_dma(&e, T1_IOVA, EDU_BUF, 4096, false) ||
        !edu_dma(&e, EDU_BUF, T1_IOVA + 4096, 4096, true)) {
        r = set_why(c, T_FAIL, "edu DMA timed out");
    } else if (memcmp(t1.buf, t1.buf + 4096, 4096) != 0) {
        r = set_why(c, T_FAIL, "copied data differ");
    } else if (t1_unmap(T1_IOVA, 2 * 4096, NULL) != 2 * 4096) {
        r = set_why(c, T_FAIL, "unmap");
    } else {
        memset(t1.buf + 4096, 0x5a, 4096);
        if (!edu_dma(&e, EDU_BUF, T1_IOVA + 4096, 4096, true)) {
            r = set_why(c, T_FAIL, "edu DMA timed out");
        } else if (t1.buf[4096] != 0x5a || t1.buf[8191] != 0x5a) {
            r = set_why(c, T_FAIL, "DMA after unmap reached memory (0x%02x)", t1.buf[4096]);
        }
    }
    edu_close(&e);
    return r;
}

static int t1_dirty(uint32_t flag)
{
    struct vfio_iommu_type1_dirty_bitmap d = { .argsz = sizeof(d), .flags = flag };

    return k_ioctl(t1.container, VFIO_IOMMU_DIRTY_PAGES, &d);
}

static int t1_bitmap(uint64_t iova, uint64_t size, uint64_t pgsize, uint64_t *bits)
{
    uint8_t buf[sizeof(struct vfio_iommu_type1_dirty_bitmap) +
                sizeof(struct vfio_iommu_type1_dirty_bitmap_get)] = { 0 };
    struct vfio_iommu_type1_dirty_bitmap d = {
        .argsz = sizeof(buf), .flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP,
    };
    struct vfio_iommu_type1_dirty_bitmap_get r = {
        .iova = iova, .size = size, .bitmap = { .pgsize = pgsize, .size = 8, .data = (void *)bits },
    };

    memcpy(buf, &d, sizeof(d));
    memcpy(buf + sizeof(d), &r, sizeof(r));
    return k_ioctl(t1.container, VFIO_IOMMU_DIRTY_PAGES, buf);
}

/* Dirty pages: every mapped page is reported dirty (physical groups in the
 * container, which cannot tell), again at every read; unmap with the
 * bitmap; the v2 rules on cut mappings. */
static TResult t_type1_dirty(Ctx *c)
{
    uint64_t bits = 0;

    (void)c;
    CHECK(t1.buf, "no buffer from the DMA test");
    CHECK(t1_map(T1_IOVA, 2 * 4096, t1.buf) == 0, "map");
    CHECK(t1_map(T1_IOVA + 4 * 4096, 4096, t1.buf) == 0, "map 2");
    CHECK(t1_bitmap(T1_IOVA, 8 * 4096, 4096, &bits) == -EINVAL, "bitmap before start");
    CHECK(t1_dirty(VFIO_IOMMU_DIRTY_PAGES_FLAG_START | VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP) == -EINVAL,
          "two flags");
    CHECK(t1_dirty(VFIO_IOMMU_DIRTY_PAGES_FLAG_START) == 0, "start");
    CHECK(t1_bitmap(T1_IOVA, 8 * 4096, 8192, &bits) == -EINVAL, "page size not the IOMMU's");
    CHECK(t1_bitmap(T1_IOVA + 4096, 4096, 4096, &bits) == -EINVAL, "a range cutting a mapping");
    bits = ~0ull;
    CHECK(t1_bitmap(T1_IOVA, 8 * 4096, 4096, &bits) == 0, "bitmap");
    CHECK(bits == 0x13, "bits 0x%llx, want 0x13 (the words written whole)",
          (unsigned long long)bits);
    /* Again every page; the kernel's in-place shift of the second mapping's
     * bitmap (update_user_bitmap()) left the first mapping's bits in it,
     * so they come back shifted: over-reported, never lost. */
    bits = 0;
    CHECK(t1_bitmap(T1_IOVA, 8 * 4096, 4096, &bits) == 0 && bits == 0x133,
          "second read 0x%llx, want 0x133", (unsigned long long)bits);
    CHECK(t1_unmap(T1_IOVA + 4096, 4096, NULL) == -EINVAL, "v2: cutting a mapping");
    CHECK(t1_unmap(T1_IOVA + 6 * 4096, 4096, NULL) == 0, "empty range: 0 bytes");
    bits = 0;
    CHECK(t1_unmap(T1_IOVA, 8 * 4096, &bits) == 3 * 4096, "unmap with the bitmap");
    CHECK(bits == 0x1333, "unmap bitmap 0x%llx, want 0x1333 (0x13 and the shifted stale bits)",
          (unsigned long long)bits);
    CHECK(t1_dirty(VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP) == 0, "stop");
    CHECK(t1_dirty(VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP) == 0, "stop again");
    CHECK(t1_map(T1_IOVA, 4096, t1.buf) == 0, "map");
    bits = 0;
    CHECK(t1_unmap(T1_IOVA, 4096, &bits) == -EINVAL, "unmap with the bitmap, not tracking");
    CHECK(t1_unmap(T1_IOVA, 4096, NULL) == 4096, "unmap");
    return T_PASS;
}

/* Every device fd, group and the container closed: the cdevs open again. */
static TResult t_type1_teardown(Ctx *c)
{
    for (unsigned i = 0; i < T1_MAX_GROUPS; i++) {
        if (t1.dev_fd[i] >= 0) {
            CHECK(k_close(t1.dev_fd[i]) == 0, "close device fd");
            t1.dev_fd[i] = -1;
        }
    }
    for (unsigned k = 0; k < t1.nr_groups; k++) {
        CHECK(k_ioctl(t1.group_fd[k], VFIO_GROUP_UNSET_CONTAINER, NULL) == 0, "unset group %u",
              t1.group_id[k]);
        CHECK(k_close(t1.group_fd[k]) == 0, "close group");
    }
    t1.nr_groups = 0;
    CHECK(t1.container < 0 || k_close(t1.container) == 0, "close container");
    t1.container = -1;
    if (t1.buf) {
        munmap(t1.buf, 2 * 4096);
        t1.buf = NULL;
    }
    for (unsigned i = 0; i < c->nr_pci; i++) {
        g_autoptr(GError) err = NULL;
        VfiDevice *d = vfi_device_open_pci(c->bdf[i], &err);

        CHECK(d && vfi_device_get_fd(d) >= 0, "%s: its cdev after the group closed: %s",
              c->bdf[i], err ? err->message : "no fd");
        vfi_device_free(d);
    }
    if (c->sim) {
        CHECK(vfi_sim_type1_live(c->sim) == 0, "%u type1 objects left",
              vfi_sim_type1_live(c->sim));
        CHECK(vfi_sim_open_fds(c->sim) == 0, "%u fds left", vfi_sim_open_fds(c->sim));
    }
    return T_PASS;
}


/* ---- the README's flow on the type1 backend (the public API) ---- */

#define T1_AS_PAGES 16u

typedef struct T1Flow {
    VfiAddressSpace *as;
    VfiIommufd *be;
    VfiDevice *dev[EDU_MAX + 1];
    unsigned n;
    uint8_t *ram;
    uint64_t bits[1];
} T1Flow;

static T1Flow t1f;

/* Every edu and the mdev attached to one address space asking for type1. */
static TResult t_type1_as_attach(Ctx *c)
{
    t1f.as = vfi_address_space_new(NULL);
    t1f.be = vfi_iommufd_new();
    OK(vfi_address_space_set_backend(t1f.as, VFI_BACKEND_TYPE1, errp));
    for (unsigned i = 0; i < c->nr_pci; i++) {
        OK((t1f.dev[t1f.n] = vfi_device_open_pci(c->bdf[i], errp)) != NULL);
        OK(vfi_address_space_attach_device(t1f.as, t1f.be, t1f.dev[t1f.n++], NULL, errp));
    }
    if (c->mdev_path) {
        OK((t1f.dev[t1f.n] = vfi_device_open_sysfs(c->mdev_path, errp)) != NULL);
        OK(vfi_address_space_attach_device(t1f.as, t1f.be, t1f.dev[t1f.n++], NULL, errp));
    }
    CHECK(vfi_address_space_get_backend(t1f.as) == VFI_BACKEND_TYPE1, "backend %d",
          (int)vfi_address_space_get_backend(t1f.as));
    CHECK(vfi_address_space_container_count(t1f.as) == 0, "IOMMUFD containers made");
    CHECK(vfi_iommufd_users(t1f.be) == 0, "the iommufd was used");
    return T_PASS;
}

/* Guest RAM mapped, edu DMA through it, a migration round: every mapped
 * page dirty, the unmap with its dirty read, no DMA after it. */
static TResult t_type1_as_migrate(Ctx *c)
{
    VfiDirtyLog log = { .base_iova = T1_IOVA, .page_size = 4096, .bitmap = t1f.bits,
                        .nr_pages = T1_AS_PAGES };
    g_autoptr(GString) why = g_string_new(NULL);
    g_autofree char *blocker = NULL;
    Edu e = { 0 };

    CHECK(t1f.as && t1f.n, "no address space from the attach test");
    t1f.ram = alloc_pages(T1_AS_PAGES * 4096);
    CHECK(t1f.ram, "mmap");
    memset(t1f.ram, 0x33, 4096);
    OK(vfi_address_space_dma_map(t1f.as, T1_IOVA, T1_AS_PAGES * 4096, t1f.ram, false, errp));
    if (c->sim) {
        OK(sim_dma(c, 0, T1_IOVA + 4096, 4096, errp));
    } else {
        CHECK(edu_open_fd(&e, vfi_device_get_fd(t1f.dev[0]), why), "%s", why->str);
        CHECK(edu_dma(&e, T1_IOVA, EDU_BUF, 4096, false) &&
              edu_dma(&e, EDU_BUF, T1_IOVA + 4096, 4096, true), "edu DMA timed out");
        CHECK(t1f.ram[4096] == 0x33 && t1f.ram[8191] == 0x33, "DMA did not land");
    }
    blocker = vfi_address_space_migration_blocker(t1f.as);
    CHECK(!blocker, "blocker: %s", blocker);
    OK(vfi_address_space_dirty_tracking_start(t1f.as, errp));
    OK(vfi_address_space_sync_dirty(t1f.as, &log, errp));
    CHECK(t1f.bits[0] == 0xffff, "synced 0x%llx, want every page",
          (unsigned long long)t1f.bits[0]);
    t1f.bits[0] = 0;
    OK(vfi_address_space_dma_unmap_dirty(t1f.as, T1_IOVA, T1_AS_PAGES * 4096, &log, 0, errp));
    CHECK(t1f.bits[0] == 0xffff, "unmap read 0x%llx", (unsigned long long)t1f.bits[0]);
    OK(vfi_address_space_dirty_tracking_stop(t1f.as, errp));
    if (c->sim) {
        g_autoptr(GError) err = NULL;

        CHECK(!sim_dma(c, 0, T1_IOVA + 4096, 4096, &err), "DMA after unmap went through");
    } else {
        memset(t1f.ram + 4096, 0x5a, 4096);
        CHECK(edu_dma(&e, EDU_BUF, T1_IOVA + 4096, 4096, true), "edu DMA timed out");
        CHECK(t1f.ram[4096] == 0x5a, "DMA after unmap reached memory");
        edu_close(&e);
    }
    return T_PASS;
}

static TResult t_type1_as_teardown(Ctx *c)
{
    for (unsigned i = 0; i < t1f.n; i++) {
        OK(vfi_address_space_detach_device(t1f.as, t1f.dev[i], errp));
        vfi_device_free(t1f.dev[i]);
    }
    t1f.n = 0;
    OK(vfi_address_space_free(t1f.as, errp));
    OK(vfi_iommufd_free(t1f.be, errp));
    t1f.as = NULL;
    if (t1f.ram) {
        munmap(t1f.ram, T1_AS_PAGES * 4096);
    }
    if (c->sim) {
        CHECK(vfi_sim_type1_live(c->sim) == 0, "%u type1 objects left",
              vfi_sim_type1_live(c->sim));
        CHECK(vfi_sim_open_fds(c->sim) == 0, "%u fds left", vfi_sim_open_fds(c->sim));
    }
    return T_PASS;
}

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
};

/* ---- mock IOMMU (IOMMUFD_TEST): dirty tracking -------------------------- */
#ifdef HAVE_IOMMUFD_TEST_H

#define MOCK_IOVA   0x2000000ull   /* inside MOCK_APERTURE_START..LAST */
#define MOCK_PAGES  128u           /* 4 KiB pages mapped */
#define PG          4096u
#define MOCK_PG     2048u          /* the mock's IO page: PAGE_SIZE / 2 */
#define DIV_ROUND_UP_U(n, d) (((n) + (d) - 1) / (d))

static int test_cmd(Ctx *c, struct iommu_test_cmd *cmd)
{
    cmd->size = sizeof(*cmd);
    return ioctl(c->fd, IOMMU_TEST_CMD, cmd) < 0 ? -errno : 0;
}

static int mock_domain(Ctx *c, uint32_t pt, uint32_t dev_flags, uint32_t *stdev,
                       uint32_t *hwpt, uint32_t *idev)
{
    struct iommu_test_cmd cmd = {
        .op = dev_flags ? IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS : IOMMU_TEST_OP_MOCK_DOMAIN,
        .id = pt,
        .mock_domain_flags.dev_flags = dev_flags,
    };
    int ret = test_cmd(c, &cmd);

    if (ret == 0) {
        *stdev = cmd.mock_domain.out_stdev_id;
        if (hwpt) {
            *hwpt = cmd.mock_domain.out_hwpt_id;
        }
        if (idev) {
            *idev = cmd.mock_domain.out_idev_id;
        }
    }
    return ret;
}


static unsigned popcount_words(const uint64_t *w, unsigned n)
{
    unsigned i, s = 0;

    for (i = 0; i < n; i++) {
        s += __builtin_popcountll(w[i]);
    }
    return s;
}

static bool bit_of(const uint64_t *w, unsigned i)
{
    return w[i / 64] & (1ull << (i % 64));
}

/* The two patterns (pages of MOCK_IOVA). */
static const uint64_t PAT_A[MOCK_PAGES / 64] = { 0x80000001000000a3ull, 0x0000000000000181ull };
static const uint64_t PAT_B[MOCK_PAGES / 64] = { 0x0000000100000f00ull, 0x8000000000000001ull };
static const uint64_t PAT_AB[MOCK_PAGES / 64] = { 0x80000001000000a3ull | 0x0000000100000f00ull,
                                                  0x0000000000000181ull | 0x8000000000000001ull };

/*
 * The IOPTEs of a mapping, as its dirty bits show them, and a model of what
 * a read reports. How kernels record a marked IOVA differs
 * (docs/dirty-tracking.md, "Granularity"): 6.12's mock keeps one dirty bit
 * per 2 KiB IO page (an xarray entry each, MOCK_IO_PAGE_SIZE); the mock on
 * the generic page table (7.3: AMD v1 format with a 2 KiB granule) sets the
 * dirty bit of the IOPTE holding the IOVA and reports and clears whole
 * IOPTEs, as real IOMMU drivers do. Its IOPTEs are the largest pages the
 * IOVA, the physical address and the length of each physically contiguous
 * run allow: at least the 4 KiB CPU page for a page-aligned mapping, more
 * where the pinned pages happen to be contiguous. So the test learns them
 * (mock_probe_layout()) and predicts each read with model_read().
 */
#define MOCK_UNITS (MOCK_PAGES * 2)   /* 2 KiB pages ("units") of the main mapping */
#define UNIT_WORDS (MOCK_UNITS / 64)
G_STATIC_ASSERT(sizeof(((Ctx *)0)->mock_marked[0]) == UNIT_WORDS * sizeof(uint64_t));

typedef struct MockLayout {
    unsigned units;                /* 2 KiB pages of the mapping */
    uint16_t first[MOCK_UNITS];    /* per 2 KiB page: the first of its IOPTE */
    uint16_t count[MOCK_UNITS];    /* and the IOPTE's 2 KiB pages */
} MockLayout;

/* One IOPTE per 2 KiB page: what 6.12 reports, and the start value. */
static void layout_exact(MockLayout *lay, unsigned units)
{
    unsigned k;

    lay->units = units;
    for (k = 0; k < units; k++) {
        lay->first[k] = k;
        lay->count[k] = 1;
    }
}

/* Is every IOPTE of @lay one 2 KiB page? */
static bool layout_is_exact(const MockLayout *lay)
{
    unsigned k;

    for (k = 0; k < lay->units; k++) {
        if (lay->count[k] != 1) {
            return false;
        }
    }
    return true;
}

/* Any bit of [@from, @to) set in @w? */
static bool any_bit(const uint64_t *w, unsigned from, unsigned to)
{
    unsigned k;

    for (k = from; k < to; k++) {
        if (bit_of(w, k)) {
            return true;
        }
    }
    return false;
}

/*
 * What the kernel does reading @n units from unit @u0 of a mapping with
 * IOPTEs @lay at log pages of @k units, @marked being its marked units:
 * every IOPTE overlapping the range that holds a marked unit sets the bits
 * of the log pages it covers, counted from the range's start (bit b: units
 * u0 + b * k ...) and also past the range's end, up to the IOPTE's; one
 * starting before @u0 sets none (iova_bitmap_set() drops an IOVA below the
 * bitmap's). A clearing read (@clear) makes every overlapping IOPTE clean,
 * reported or not. @out gets @max bits (zeroed first). On a layout of 2 KiB
 * IOPTEs (6.12) this is exactly: the marked units of the range.
 */
static void model_read(const MockLayout *lay, uint64_t *marked, unsigned u0, unsigned n,
                       unsigned k, bool clear, uint64_t *out, unsigned max)
{
    unsigned u = u0, f, e, j;

    memset(out, 0, DIV_ROUND_UP_U(max, 64) * sizeof(uint64_t));
    while (u < u0 + n && u < lay->units) {
        f = lay->first[u];
        e = f + lay->count[u];
        if (any_bit(marked, f, e)) {
            for (j = f; j < e && f >= u0; j++) {
                if ((j - u0) / k < max) {
                    out[(j - u0) / k / 64] |= 1ull << ((j - u0) / k % 64);
                }
            }
            for (j = f; j < e && clear; j++) {
                marked[j / 64] &= ~(1ull << (j % 64));
            }
        }
        u = e;
    }
}

/* The units mock_mark() marks for the 4 KiB pages @pages (@npages of them):
 * odd pages their upper half, even pages their lower half. */
static void units_of_pages(const uint64_t *pages, unsigned npages, uint64_t *units)
{
    unsigned i, half;

    memset(units, 0, UNIT_WORDS * sizeof(uint64_t));
    for (i = 0; pages && i < npages; i++) {
        if (bit_of(pages, i)) {
            half = 2 * i + (i & 1);
            units[half / 64] |= 1ull << (half % 64);
        }
    }
}

/* The model's marked units of @hwpt in the main mapping (NULL: not a
 * dirty HWPT of the test). */
static uint64_t *marked_of(Ctx *c, uint32_t hwpt)
{
    return hwpt == c->hwpt_a ? c->mock_marked[0] : hwpt == c->hwpt_b ? c->mock_marked[1] : NULL;
}

#define LOG_WORDS 8                  /* the test logs: 512 pages */

/* The test logs: in one page, so that bits the kernel sets past a range
 * (an IOPTE ending after it) stay inside the log (it writes up to the end
 * of the bitmap's last page). */
static uint64_t test_log[512] __attribute__((aligned(4096)));

/* The log bits @rd's HWPTs report reading @len bytes from @off of MOCK_IOVA
 * at @page_size, ORed into @exp from bit @log_bit on (past the range too
 * when the reader hands the kernel the log itself, the zero-copy path of a
 * byte-aligned @log_bit; its scratch path keeps the range's bits only). A
 * clearing read clears the model. */
static void expect_read(Ctx *c, VfiDirtyReader *rd, uint64_t off, uint64_t len,
                        uint64_t page_size, uint32_t flags, unsigned log_bit, uint64_t *exp)
{
    unsigned k = page_size / MOCK_PG, n = len / page_size, max, b, i;
    uint32_t hwpts[2] = { rd != c->rd_b ? c->hwpt_a : 0, rd != c->rd_a ? c->hwpt_b : 0 };
    uint64_t got[LOG_WORDS + 1];

    max = log_bit % 8 == 0 ? LOG_WORDS * 64 - log_bit : n;
    for (i = 0; i < 2; i++) {
        if (!hwpts[i]) {
            continue;
        }
        model_read(c->lay, marked_of(c, hwpts[i]), off / MOCK_PG, n * k, k,
                   !(flags & VFI_DIRTY_QUERY_NO_CLEAR), got, max);
        for (b = 0; b < max; b++) {
            if (bit_of(got, b)) {
                exp[(log_bit + b) / 64] |= 1ull << ((log_bit + b) % 64);
            }
        }
    }
}

/* A sentinel for check_read()'s @pages: no 6.12-view expectation given. */
static const uint64_t MODEL_ONLY[UNIT_WORDS];

/*
 * Read [@off, @off + @len) of MOCK_IOVA with page size @page_size through the
 * dirty reader @rd (c->rd_a, rd_b or rd_ab) into a VMM-style log whose bit
 * @log_bit is the range's first page (the log's base moved accordingly),
 * prefilled with @fill in every word. Every bit of the log must be its fill
 * bit ORed with what the model predicts for the reader's HWPTs
 * (expect_read()). @pages: the 4 KiB pages the test expects marked and not
 * yet cleared in those HWPTs, as on 6.12 (checked against the model when
 * the IOPTEs are 2 KiB pages; MODEL_ONLY: none given). The reader's stats
 * must show the zero-copy path for a byte-aligned @log_bit and the scratch
 * path otherwise, one read per HWPT.
 */
static TResult check_read(Ctx *c, VfiDirtyReader *rd, uint64_t off, uint64_t len,
                          uint64_t page_size, uint32_t flags, const uint64_t *pages,
                          unsigned log_bit, uint64_t fill, const char *what)
{
    uint64_t *bm = test_log, exp[LOG_WORDS], units[UNIT_WORDS], both[UNIT_WORDS];
    VfiDirtyLog log = {
        .base_iova = MOCK_IOVA + off - (uint64_t)log_bit * page_size,
        .page_size = page_size,
        .bitmap = bm,
        .nr_pages = LOG_WORDS * 64,
    };
    uint64_t n = len / page_size, srcs, b;
    VfiDirtyStats st0, st1;

    CHECK(log_bit + n <= LOG_WORDS * 64, "%s: window too large for the test log", what);
    if (pages != MODEL_ONLY && layout_is_exact(c->lay)) {
        units_of_pages(pages, MOCK_PAGES, units);
        for (b = 0; b < UNIT_WORDS; b++) {
            both[b] = (rd != c->rd_b ? c->mock_marked[0][b] : 0) |
                      (rd != c->rd_a ? c->mock_marked[1][b] : 0);
        }
        CHECK(!memcmp(units, both, sizeof(units)), "%s: the test's model differs from the "
              "pages it expects marked", what);
    }
    for (b = 0; b < LOG_WORDS; b++) {
        bm[b] = exp[b] = fill;
    }
    srcs = vfi_dirty_reader_hwpt_count(rd);
    vfi_dirty_reader_get_stats(rd, &st0);
    OK(vfi_dirty_reader_query(rd, MOCK_IOVA + off, len, &log, flags, errp));
    vfi_dirty_reader_get_stats(rd, &st1);
    expect_read(c, rd, off, len, page_size, flags, log_bit, exp);
    for (b = 0; b < LOG_WORDS * 64; b++) {
        CHECK(bit_of(bm, b) == bit_of(exp, b), "%s: log bit %" PRIu64 " is %d, want %d (range "
              "bits %u..%" PRIu64 ", words %016" PRIx64 " %016" PRIx64 " %016" PRIx64 " %016"
              PRIx64 ")", what, b, bit_of(bm, b), bit_of(exp, b), log_bit, log_bit + n - 1,
              bm[0], bm[1], bm[2], bm[3]);
    }
    if (log_bit % 8 == 0) {
        CHECK(st1.zero_copy_reads - st0.zero_copy_reads == srcs &&
              st1.scratch_reads == st0.scratch_reads,
              "%s: expected %" PRIu64 " zero-copy reads, got %" PRIu64 " (+%" PRIu64
              " scratch)", what, srcs, st1.zero_copy_reads - st0.zero_copy_reads,
              st1.scratch_reads - st0.scratch_reads);
    } else {
        CHECK(st1.scratch_reads - st0.scratch_reads == srcs &&
              st1.zero_copy_reads == st0.zero_copy_reads,
              "%s: expected %" PRIu64 " scratch reads, got %" PRIu64 " (+%" PRIu64
              " zero-copy)", what, srcs, st1.scratch_reads - st0.scratch_reads,
              st1.zero_copy_reads - st0.zero_copy_reads);
    }
    return T_PASS;
}

/* Mark the 4 KiB pages whose bits are set in @pages (bit i: page i of
 * @iova, @npages of them) dirty in @hwpt; the mock works in 2 KiB pages: odd
 * pages get their upper half marked, even pages their lower half. Marks in
 * the main mapping go into the test's model too. */
static int mock_mark_at(Ctx *c, uint32_t hwpt, uint64_t iova, unsigned npages,
                        const uint64_t *pages, uint64_t *nr)
{
    uint64_t units[UNIT_WORDS];
    struct iommu_test_cmd cmd = {
        .op = IOMMU_TEST_OP_DIRTY,
        .id = hwpt,
        .dirty = {
            .iova = iova,
            .length = (uint64_t)npages * PG,
            .page_size = MOCK_PG,
            .uptr = (uintptr_t)units,
        },
    };
    uint64_t *marked = iova == MOCK_IOVA ? marked_of(c, hwpt) : NULL;
    unsigned i;
    int ret;

    g_assert(npages <= MOCK_PAGES);
    units_of_pages(pages, npages, units);
    ret = test_cmd(c, &cmd);
    *nr = cmd.dirty.out_nr_dirty;
    for (i = 0; ret == 0 && marked && i < UNIT_WORDS; i++) {
        marked[i] |= units[i];
    }
    return ret;
}

static int mock_mark(Ctx *c, uint32_t hwpt, const uint64_t *pages, uint64_t *nr)
{
    return mock_mark_at(c, hwpt, MOCK_IOVA, MOCK_PAGES, pages, nr);
}

#define CHECK_READ(...) do {                                               \
        TResult r_ = check_read(c, __VA_ARGS__);                           \
        if (r_ != T_PASS) {                                                \
            return r_;                                                     \
        }                                                                  \
    } while (0)

/* A helper returning a TResult: return it unless it passed. */
#define CHECK_RESULT(call) do {                                            \
        TResult r_ = (call);                                               \
        if (r_ != T_PASS) {                                                \
            return r_;                                                     \
        }                                                                  \
    } while (0)

/* Shorthands: the whole mapping in 4 KiB pages at log bit 0, nothing preset. */
#define ALL         0, (uint64_t)MOCK_PAGES * PG, PG
#define NC          VFI_DIRTY_QUERY_NO_CLEAR

static TResult t_mock_setup(Ctx *c)
{
    int ret;

    c->be = vfi_iommufd_new();
    OK(vfi_iommufd_connect(c->be, errp));
    c->fd = vfi_iommufd_get_fd(c->be);
    OK(vfi_iommufd_ioas_alloc(c->be, &c->mock_ioas, errp));
    ret = mock_domain(c, c->mock_ioas, 0, &c->stdev, &c->auto_hwpt, &c->idev);
    if (ret == -ENOTTY) {
        return c->strict ? set_why(c, T_FAIL, "IOMMU_TEST_CMD: ENOTTY (no CONFIG_IOMMUFD_TEST)")
                         : set_why(c, T_SKIP, "kernel without CONFIG_IOMMUFD_TEST");
    }
    CHECK(ret == 0, "IOMMU_TEST_OP_MOCK_DOMAIN: %s", g_strerror(-ret));
    note(c, "mock device: stdev %u idev %u auto hwpt %u", c->stdev, c->idev, c->auto_hwpt);
    return T_PASS;
}

#define NEED_MOCK() do {                                                   \
        if (!c->idev) {                                                    \
            return c->strict ? set_why(c, T_FAIL, "no mock device")       \
                             : set_why(c, T_SKIP, "no mock IOMMU");        \
        }                                                                  \
    } while (0)

static TResult t_mock_hw_info(Ctx *c)
{
    struct iommu_test_hw_info ti = { 0 };
    VfiHwInfo hw = { .data = &ti, .data_len = sizeof(ti) };

    NEED_MOCK();
    OK(vfi_iommufd_get_hw_info(c->be, c->idev, &hw, errp));
    CHECK(hw.type == IOMMU_HW_INFO_TYPE_SELFTEST, "type 0x%x", hw.type);
    CHECK(hw.capabilities & IOMMU_HW_CAP_DIRTY_TRACKING, "capabilities 0x%" PRIx64,
          hw.capabilities);
    CHECK(ti.test_reg == IOMMU_HW_INFO_SELFTEST_REGVAL, "test_reg 0x%x", ti.test_reg);
    return T_PASS;
}

static TResult t_mock_map(Ctx *c)
{
    g_autofree VfiIovaRange *r = NULL;
    size_t n = 0, i;
    uint64_t align = 0;

    NEED_MOCK();
    OK(vfi_iommufd_ioas_iova_ranges(c->be, c->mock_ioas, &r, &n, &align, errp));
    for (i = 0; i < n; i++) {
        note(c, "mock ioas range [0x%" PRIx64 ", 0x%" PRIx64 "] alignment 0x%" PRIx64,
             r[i].start, r[i].last, align);
    }
    CHECK(in_ranges(r, n, MOCK_IOVA, MOCK_IOVA + MOCK_PAGES * PG - 1), "iova outside the ranges");
    CHECK(!in_ranges(r, n, 0, MOCK_APERTURE_START - 1), "below the mock aperture allowed");
    c->mock_buf = alloc_pages(MOCK_PAGES * PG);
    CHECK(c->mock_buf, "mmap");
    OK(vfi_iommufd_ioas_map(c->be, c->mock_ioas, MOCK_IOVA, MOCK_PAGES * PG, c->mock_buf,
                               false, errp));
    /* Until t_mock_layout() learns the IOPTEs: one per 2 KiB page. */
    c->lay = g_new0(MockLayout, 1);
    layout_exact(c->lay, MOCK_UNITS);
    return T_PASS;
}

static TResult t_mock_hwpt_alloc(Ctx *c)
{
    int ret;

    NEED_MOCK();
    OK(vfi_iommufd_hwpt_alloc(c->be, c->idev, c->mock_ioas, IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
                                  IOMMU_HWPT_DATA_NONE, 0, NULL, &c->hwpt_a, errp));
    OK(vfi_iommufd_hwpt_alloc(c->be, c->idev, c->mock_ioas, IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
                                  IOMMU_HWPT_DATA_NONE, 0, NULL, &c->hwpt_b, errp));
    /* A device in each: the shape of a container with two dirty HWPTs. */
    ret = mock_domain(c, c->hwpt_a, 0, &c->stdev_a, NULL, NULL);
    CHECK(ret == 0, "mock device on hwpt %u: %s", c->hwpt_a, g_strerror(-ret));
    ret = mock_domain(c, c->hwpt_b, 0, &c->stdev_b, NULL, NULL);
    CHECK(ret == 0, "mock device on hwpt %u: %s", c->hwpt_b, g_strerror(-ret));
    note(c, "dirty hwpts %u %u", c->hwpt_a, c->hwpt_b);
    return T_PASS;
}

static TResult t_mock_no_dirty_device(Ctx *c)
{
    VfiHwInfo hw = { 0 };
    uint32_t id = 0;
    struct iommu_test_cmd cmd = { .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE };
    int ret;

    NEED_MOCK();
    CHECK(c->hwpt_a, "no dirty hwpt");
    ret = mock_domain(c, c->mock_ioas, MOCK_FLAGS_DEVICE_NO_DIRTY, &c->stdev_n, NULL, &c->idev_n);
    CHECK(ret == 0, "mock device without dirty tracking: %s", g_strerror(-ret));
    OK(vfi_iommufd_get_hw_info(c->be, c->idev_n, &hw, errp));
    CHECK(!(hw.capabilities & IOMMU_HW_CAP_DIRTY_TRACKING), "capabilities 0x%" PRIx64,
          hw.capabilities);
    KERR(vfi_iommufd_hwpt_alloc(c->be, c->idev_n, c->mock_ioas,
                                    IOMMU_HWPT_ALLOC_DIRTY_TRACKING, IOMMU_HWPT_DATA_NONE, 0,
                                    NULL, &id, errp), EOPNOTSUPP);
    /* Into a dirty-tracking HWPT: EINVAL, the library's "incompatible". */
    cmd.id = c->stdev_n;
    cmd.mock_domain_replace.pt_id = c->hwpt_a;
    ret = test_cmd(c, &cmd);
    CHECK(ret == -EINVAL, "replace into a dirty hwpt: %s", g_strerror(-ret));
    return T_PASS;
}

/*
 * A PASID-capable mock device (6.15: MOCK_FLAGS_DEVICE_PASID in the kernel
 * source's iommufd_test.h) reports its PASID width through GET_HW_INFO's
 * out_max_pasid_log2 (6.15 UAPI), which the library passes on when it was
 * built with headers that have the field (VFI_BUILD_HW_INFO_MAX_PASID); the
 * plain mock device reports 0. "needs Linux 6.15" skips otherwise.
 */
static TResult t_mock_pasid_hw_info(Ctx *c)
{
#ifdef MOCK_PASID_WIDTH
    VfiHwInfo hw = { 0 };
    uint32_t stdev = 0, idev = 0;
    int ret;

    NEED_MOCK();
    if (!(vfi_build_features() & VFI_BUILD_HW_INFO_MAX_PASID)) {
        SKIP("needs Linux 6.15 UAPI headers: the library was built without "
             "iommu_hw_info.out_max_pasid_log2");
    }
    ret = mock_domain(c, c->mock_ioas, MOCK_FLAGS_DEVICE_PASID, &stdev, NULL, &idev);
    CHECK(ret == 0, "mock device with PASID: %s", g_strerror(-ret));
    OK(vfi_iommufd_get_hw_info(c->be, idev, &hw, errp));
    note(c, "PASID mock device: idev %u max_pasid_log2 %u", idev, hw.max_pasid_log2);
    CHECK(hw.max_pasid_log2 == MOCK_PASID_WIDTH, "max_pasid_log2 %u, want %u",
          hw.max_pasid_log2, MOCK_PASID_WIDTH);
    /* (its data_len came back as the mock's: no data asked for again) */
    hw = (VfiHwInfo){ 0 };
    OK(vfi_iommufd_destroy(c->be, stdev, errp));
    OK(vfi_iommufd_get_hw_info(c->be, c->idev, &hw, errp));
    CHECK(hw.max_pasid_log2 == 0, "plain mock device: max_pasid_log2 %u", hw.max_pasid_log2);
    return T_PASS;
#else
    NEED_MOCK();
    SKIP("needs Linux 6.15: this kernel's iommufd_test.h has no PASID-capable mock device "
         "(MOCK_FLAGS_DEVICE_PASID)");
#endif
}

/* Dirty readers on the two HWPTs: the library's query path (the one its
 * containers use) on HWPTs the test made itself, since mock devices are no
 * VFIO cdevs and cannot be put in a container. */
static TResult t_mock_readers(Ctx *c)
{
    g_autofree VfiIovaRange *r = NULL;
    g_autoptr(GError) err = NULL;
    size_t n = 0;

    NEED_MOCK();
    CHECK(c->hwpt_a && c->hwpt_b, "no dirty hwpt");
    OK(vfi_iommufd_ioas_iova_ranges(c->be, c->mock_ioas, &r, &n, &c->mock_align, errp));
    /* The mock IO page: what the reader must accept as a log page size. */
    CHECK(c->mock_align == MOCK_PG, "mock ioas alignment 0x%" PRIx64, c->mock_align);
    c->rd_a = vfi_dirty_reader_new(c->be);
    c->rd_b = vfi_dirty_reader_new(c->be);
    c->rd_ab = vfi_dirty_reader_new(c->be);
    CHECK(c->rd_a && c->rd_b && c->rd_ab, "vfi_dirty_reader_new");
    OK(vfi_dirty_reader_set_iova_alignment(c->rd_a, c->mock_align, errp));
    OK(vfi_dirty_reader_set_iova_alignment(c->rd_b, c->mock_align, errp));
    OK(vfi_dirty_reader_set_iova_alignment(c->rd_ab, c->mock_align, errp));
    OK(vfi_dirty_reader_add_hwpt(c->rd_a, c->hwpt_a, errp));
    OK(vfi_dirty_reader_add_hwpt(c->rd_b, c->hwpt_b, errp));
    OK(vfi_dirty_reader_add_hwpt(c->rd_ab, c->hwpt_a, errp));
    OK(vfi_dirty_reader_add_hwpt(c->rd_ab, c->hwpt_b, errp));
    CHECK(!vfi_dirty_reader_add_hwpt(c->rd_ab, c->hwpt_b, &err), "hwpt added twice");
    CHECK(g_error_matches(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT),
          "%s", err->message);
    CHECK(vfi_dirty_reader_hwpt_count(c->rd_ab) == 2, "%u sources",
          vfi_dirty_reader_hwpt_count(c->rd_ab));
    return T_PASS;
}

static TResult t_mock_plain_hwpt(Ctx *c)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(VfiDirtyReader) rd = NULL;
    uint64_t bm[2] = { 0 };
    VfiDirtyLog log = { .base_iova = MOCK_IOVA, .page_size = PG, .bitmap = bm,
                         .nr_pages = 128 };

    NEED_MOCK();
    OK(vfi_iommufd_hwpt_alloc(c->be, c->idev, c->mock_ioas, 0, IOMMU_HWPT_DATA_NONE, 0,
                                  NULL, &c->hwpt_plain, errp));
    CHECK(!vfi_iommufd_hwpt_set_dirty_tracking(c->be, c->hwpt_plain, true, &err),
          "tracking started on a HWPT without the flag");
    CHECK(g_error_matches(err, VFI_KERNEL_ERROR, EOPNOTSUPP) ||
          g_error_matches(err, VFI_KERNEL_ERROR, EINVAL), "%s", err->message);
    note(c, "set tracking on a plain HWPT: %s", err->message);
    g_clear_error(&err);
    KERR(vfi_iommufd_hwpt_get_dirty_bitmap(c->be, c->hwpt_plain, MOCK_IOVA, 64 * PG, PG, bm, 0,
                                          errp), EOPNOTSUPP);
    /* Through a reader: the kernel's errno, the HWPT named. */
    rd = vfi_dirty_reader_new(c->be);
    OK(vfi_dirty_reader_add_hwpt(rd, c->hwpt_plain, errp));
    KERR(vfi_dirty_reader_query(rd, MOCK_IOVA, 64 * PG, &log, 0, errp), EOPNOTSUPP);
    CHECK(!vfi_dirty_reader_query(rd, MOCK_IOVA, 64 * PG, &log, 0, &err), "query succeeded");
    {
        g_autofree char *id = g_strdup_printf("hwpt %u", c->hwpt_plain);

        CHECK(strstr(err->message, id), "message names no hwpt: %s", err->message);
    }
    CHECK(bm[0] == 0 && bm[1] == 0, "bits from a HWPT without tracking");
    return T_PASS;
}

/* A dirty-capable HWPT whose tracking is off. The IOMMU drivers refuse to
 * read it (read_and_clear_dirty(): EINVAL when not tracking and a bitmap is
 * given), but Linux 6.12's iommu_read_and_clear_dirty() drops the return
 * value of iova_bitmap_for_each(), so the ioctl returns 0 and sets no bit;
 * kernels that pass the error up say EINVAL. Either is accepted here (the
 * note says which), never a bit set. Through a reader (which cannot know the
 * state of a HWPT the VMM manages): the same, the error naming the HWPT and
 * saying tracking may be off. The model refuses with EINVAL; containers
 * never read a HWPT whose tracking is off and refuse queries and syncs while
 * not tracking (WRONG_STATE; unit tests). */
static TResult t_mock_tracking_off(Ctx *c)
{
    uint64_t bm[2] = { 0x5a, 0 };
    VfiDirtyLog log = { .base_iova = MOCK_IOVA, .page_size = PG, .bitmap = bm,
                         .nr_pages = 128 };
    const uint32_t flags[] = { 0, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR };

    NEED_MOCK();
    CHECK(c->hwpt_a && c->rd_ab, "no dirty hwpt or reader");
    for (unsigned i = 0; i < G_N_ELEMENTS(flags); i++) {
        g_autoptr(GError) err = NULL;

        if (vfi_iommufd_hwpt_get_dirty_bitmap(c->be, c->hwpt_a, MOCK_IOVA, 64 * PG, PG, bm,
                                             flags[i], &err)) {
            note(c, "raw read with tracking off (flags %u): success, nothing read "
                 "(the driver's EINVAL is dropped by this kernel)", flags[i]);
        } else {
            CHECK(g_error_matches(err, VFI_KERNEL_ERROR, EINVAL), "%s",
                  err->message);
            note(c, "raw read with tracking off (flags %u): EINVAL", flags[i]);
        }
        CHECK(bm[0] == 0x5a && bm[1] == 0, "bits read from a HWPT not tracking: "
              "0x%" PRIx64 " 0x%" PRIx64, bm[0], bm[1]);
    }
    {
        g_autoptr(GError) err = NULL;
        g_autofree char *id = g_strdup_printf("hwpt %u", c->hwpt_a);

        if (!vfi_dirty_reader_query(c->rd_ab, MOCK_IOVA, 64 * PG, &log,
                                     VFI_DIRTY_QUERY_NO_CLEAR, &err)) {
            CHECK(g_error_matches(err, VFI_KERNEL_ERROR, EINVAL), "%s",
                  err->message);
            CHECK(strstr(err->message, id), "message names no hwpt: %s", err->message);
            CHECK(strstr(err->message, "tracking is off"), "message: %s", err->message);
        }
        CHECK(bm[0] == 0x5a && bm[1] == 0, "log changed: 0x%" PRIx64 " 0x%" PRIx64, bm[0],
              bm[1]);
    }
    return T_PASS;
}

static TResult t_mock_start(Ctx *c)
{
    NEED_MOCK();
    CHECK(c->hwpt_a && c->hwpt_b && c->rd_ab, "no dirty hwpt or reader");
    OK(vfi_iommufd_hwpt_set_dirty_tracking(c->be, c->hwpt_a, true, errp));
    OK(vfi_iommufd_hwpt_set_dirty_tracking(c->be, c->hwpt_a, true, errp));
    OK(vfi_iommufd_hwpt_set_dirty_tracking(c->be, c->hwpt_b, true, errp));
    /* Enabling starts clean (the kernel clears what was dirty). */
    memset(c->mock_marked, 0, sizeof(c->mock_marked));
    /* Nothing dirty right after the start. */
    CHECK_READ(c->rd_a, ALL, 0, NULL, 0, 0, "fresh hwpt a");
    CHECK_READ(c->rd_b, ALL, 0, NULL, 0, 0, "fresh hwpt b");
    return T_PASS;
}

/* Mark the 2 KiB page @u of the mapping at @iova dirty in @hwpt. */
static int mock_mark_unit(Ctx *c, uint32_t hwpt, uint64_t iova, unsigned u)
{
    uint64_t one = 1;
    struct iommu_test_cmd cmd = {
        .op = IOMMU_TEST_OP_DIRTY,
        .id = hwpt,
        .dirty = { .iova = iova + (uint64_t)u * MOCK_PG, .length = MOCK_PG,
                   .page_size = MOCK_PG, .uptr = (uintptr_t)&one },
    };
    int ret = test_cmd(c, &cmd);

    return ret == 0 && cmd.dirty.out_nr_dirty != 1 ? -EIO : ret;
}

/*
 * Learn the IOPTEs of the mapping [@iova, @iova + @units * 2 KiB) in @hwpt
 * (tracking on, nothing dirty): mark the first 2 KiB page not covered yet,
 * read the mapping at 2 KiB pages (clearing): the bits set are its IOPTE,
 * which must start there and be an aligned power-of-two run of 2 KiB pages.
 */
static TResult mock_probe_layout(Ctx *c, uint32_t hwpt, uint64_t iova, unsigned units,
                                 MockLayout *lay)
{
    uint64_t bm[MOCK_UNITS / 64];
    unsigned u = 0, n, k;
    int ret;

    CHECK(units <= MOCK_UNITS && units % 64 == 0, "%u units", units);
    lay->units = units;
    while (u < units) {
        ret = mock_mark_unit(c, hwpt, iova, u);
        CHECK(ret == 0, "IOMMU_TEST_OP_DIRTY at 2 KiB page %u: %s", u, g_strerror(-ret));
        memset(bm, 0, sizeof(bm));
        OK(vfi_iommufd_hwpt_get_dirty_bitmap(c->be, hwpt, iova, (uint64_t)units * MOCK_PG,
                                             MOCK_PG, bm, 0, errp));
        n = popcount_words(bm, units / 64);
        CHECK(n > 0 && bit_of(bm, u), "hwpt %u: 2 KiB page %u marked, not reported", hwpt, u);
        for (k = u; k < u + n; k++) {
            CHECK(k < units && bit_of(bm, k), "hwpt %u: 2 KiB page %u reports %u pages that "
                  "are no run from it (%016" PRIx64 " %016" PRIx64 " ...)", hwpt, u, n, bm[0],
                  bm[1]);
            lay->first[k] = u;
            lay->count[k] = n;
        }
        CHECK((n & (n - 1)) == 0 && (iova / MOCK_PG + u) % n == 0,
              "hwpt %u: IOPTE of %u x 2 KiB at 2 KiB page %u: no aligned power of two",
              hwpt, n, u);
        u += n;
    }
    return T_PASS;
}

/* The IOPTE sizes of @lay, as a note ("64 x 4 KiB, 2 x 8 KiB"), and
 * whether each is at least @min_units 2 KiB pages (and at most @max_units). */
static bool layout_summary(const MockLayout *lay, unsigned min_units, unsigned max_units,
                           GString *out)
{
    unsigned hist[16] = { 0 }, k, lg;
    bool ok = true;

    for (k = 0; k < lay->units; k += lay->count[k]) {
        ok = ok && lay->count[k] >= min_units && lay->count[k] <= max_units;
        lg = (unsigned)__builtin_ctz(lay->count[k]);
        hist[lg < 16 ? lg : 15]++;
    }
    for (lg = 0; lg < 16; lg++) {
        if (hist[lg]) {
            g_string_append_printf(out, "%s%u x %u KiB", out->len ? ", " : "", hist[lg],
                                   2u << lg);
        }
    }
    return ok;
}

/* Same IOPTEs in both layouts? */
static bool layout_equal(const MockLayout *a, const MockLayout *b)
{
    return a->units == b->units &&
           !memcmp(a->first, b->first, a->units * sizeof(a->first[0])) &&
           !memcmp(a->count, b->count, a->units * sizeof(a->count[0]));
}

/*
 * The granularity the kernel reports dirty pages at, learnt on both HWPTs
 * (the same pages mapped the same way: the same IOPTEs), checked against
 * what the kernel is known to do: 6.12 (and older) exactly per 2 KiB IO
 * page; 7.x per IOPTE, each IOPTE of this page-aligned mapping at least a
 * 4 KiB CPU page. Other releases: noted only.
 */
static TResult t_mock_layout(Ctx *c)
{
    g_autofree MockLayout *b = g_new0(MockLayout, 1);
    g_autoptr(GString) sizes = g_string_new(NULL);
    unsigned ma, mi;
    bool ok;

    NEED_MOCK();
    CHECK(c->hwpt_a && c->hwpt_b && c->lay, "no dirty hwpt");
    CHECK_RESULT(mock_probe_layout(c, c->hwpt_a, MOCK_IOVA, MOCK_UNITS, c->lay));
    CHECK_RESULT(mock_probe_layout(c, c->hwpt_b, MOCK_IOVA, MOCK_UNITS, b));
    CHECK(layout_equal(c->lay, b), "hwpts %u and %u map the same pages with other IOPTEs",
          c->hwpt_a, c->hwpt_b);
    kernel_release(&ma, &mi);
    if (ma < 6 || (ma == 6 && mi <= 12)) {
        ok = layout_summary(c->lay, 1, 1, sizes);
        note(c, "Linux %u.%u: dirty bits per 2 KiB IO page (%s)", ma, mi, sizes->str);
        CHECK(ok, "Linux %u.%u's mock reports per 2 KiB page, here: %s", ma, mi, sizes->str);
    } else if (ma >= 7) {
        ok = layout_summary(c->lay, PG / MOCK_PG, MOCK_UNITS, sizes);
        note(c, "Linux %u.%u: dirty bits per IOPTE: %s", ma, mi, sizes->str);
        CHECK(ok, "Linux %u.%u: IOPTEs below the 4 KiB CPU page: %s", ma, mi, sizes->str);
    } else {
        layout_summary(c->lay, 1, MOCK_UNITS, sizes);
        note(c, "Linux %u.%u: IOPTEs as dirty bits show them: %s", ma, mi, sizes->str);
    }
    /* The probes cleared what they marked. */
    CHECK_READ(c->rd_ab, ALL, NC, NULL, 0, 0, "after the probes");
    return T_PASS;
}

/* The raw ioctl as the baseline, then the reader agreeing with it. */
static TResult t_mock_no_clear(Ctx *c)
{
    uint64_t nr = 0, bm[2] = { 0 }, want[2], tiny[8] = { 0 };
    g_autoptr(GError) err = NULL;
    int ret;

    NEED_MOCK();
    ret = mock_mark(c, c->hwpt_a, PAT_A, &nr);
    CHECK(ret == 0, "IOMMU_TEST_OP_DIRTY: %s", g_strerror(-ret));
    CHECK(nr == popcount_words(PAT_A, 2), "%" PRIu64 " marked, want %u", nr,
          popcount_words(PAT_A, 2));
    /* raw: vfi_iommufd_hwpt_get_dirty_bitmap() straight into a buffer; the
     * marked pages, widened to their IOPTEs */
    model_read(c->lay, c->mock_marked[0], 0, MOCK_UNITS, PG / MOCK_PG, false, want, MOCK_PAGES);
    OK(vfi_iommufd_hwpt_get_dirty_bitmap(c->be, c->hwpt_a, MOCK_IOVA, MOCK_PAGES * PG, PG, bm,
                                        IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, errp));
    CHECK(bm[0] == want[0] && bm[1] == want[1], "raw read %016" PRIx64 " %016" PRIx64
          ", want %016" PRIx64 " %016" PRIx64, bm[0], bm[1], want[0], want[1]);
    /* What the kernel accepts as a page size: below the IOAS alignment too,
     * when the range is aligned to it (the reader, like containers, refuses
     * such logs when told the alignment). */
    if (vfi_iommufd_hwpt_get_dirty_bitmap(c->be, c->hwpt_a, MOCK_IOVA, 8 * PG, MOCK_PG / 2,
                                         tiny, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, &err)) {
        note(c, "kernel: page size 0x%x below the IOAS alignment 0x%" PRIx64 " accepted "
             "(%016" PRIx64 ")", MOCK_PG / 2, c->mock_align, tiny[0]);
    } else {
        note(c, "kernel: page size 0x%x below the IOAS alignment: %s", MOCK_PG / 2,
             err->message);
        g_clear_error(&err);
    }
    /* the reader, twice: NO_CLEAR keeps them */
    CHECK_READ(c->rd_a, ALL, NC, PAT_A, 0, 0, "NO_CLEAR read 1");
    CHECK_READ(c->rd_a, ALL, NC, PAT_A, 0, 0, "NO_CLEAR read 2");
    /* The other HWPT saw nothing. */
    CHECK_READ(c->rd_b, ALL, NC, NULL, 0, 0, "hwpt b");
    return T_PASS;
}

static TResult t_mock_clear(Ctx *c)
{
    NEED_MOCK();
    CHECK_READ(c->rd_a, ALL, 0, PAT_A, 0, 0, "clearing read");
    CHECK_READ(c->rd_a, ALL, 0, NULL, 0, 0, "read after clear");
    return T_PASS;
}

static TResult t_mock_offsets(Ctx *c)
{
    uint64_t nr = 0, bm[LOG_WORDS] = { 0 };
    VfiDirtyLog small = { .base_iova = MOCK_IOVA, .page_size = MOCK_PG / 2, .bitmap = bm,
                           .nr_pages = LOG_WORDS * 64 };
    g_autoptr(GError) err = NULL;
    VfiDirtyStats st0, st1;
    int ret;

    NEED_MOCK();
    ret = mock_mark(c, c->hwpt_a, PAT_A, &nr);
    CHECK(ret == 0, "IOMMU_TEST_OP_DIRTY: %s", g_strerror(-ret));
    /* Ranges starting inside a byte / a word of the pattern, at byte-aligned
     * and at sub-byte bits of the log. */
    CHECK_READ(c->rd_a, 3 * PG, 21 * PG, PG, NC, PAT_A, 0, 0, "pages 3..23 at log bit 0");
    CHECK_READ(c->rd_a, 3 * PG, 21 * PG, PG, NC, PAT_A, 3, 0, "pages 3..23 at log bit 3");
    CHECK_READ(c->rd_a, 5 * PG, 100 * PG, PG, NC, PAT_A, 5, 0, "pages 5..104 at log bit 5");
    CHECK_READ(c->rd_a, 63 * PG, 2 * PG, PG, NC, PAT_A, 63, 0, "pages 63..64 at log bit 63");
    CHECK_READ(c->rd_a, ALL, NC, PAT_A, 121, 0, "all pages at log bit 121");
    /* The reader ORs into the log: preset bits stay, outside the range too. */
    CHECK_READ(c->rd_a, ALL, NC, PAT_A, 0, 0x0101010101010101ull, "preset, log bit 0");
    CHECK_READ(c->rd_a, ALL, NC, PAT_A, 7, 0x8421084210842108ull, "preset, log bit 7");
    /* 8 KiB pages: a bit covers two 4 KiB pages. */
    CHECK_READ(c->rd_a, 0, MOCK_PAGES * PG, 2 * PG, NC, PAT_A, 0, 0, "8 KiB pages");
    CHECK_READ(c->rd_a, 0, MOCK_PAGES * PG, 2 * PG, NC, PAT_A, 5, 0, "8 KiB pages at bit 5");
    /* 2 KiB pages (the mock's IO page, the IOAS alignment): the marked halves. */
    CHECK_READ(c->rd_a, 0, MOCK_PAGES * PG, MOCK_PG, NC, PAT_A, 0, 0, "2 KiB pages");
    CHECK_READ(c->rd_a, MOCK_PG, 100 * MOCK_PG, MOCK_PG, NC, PAT_A, 9, 0,
               "2 KiB pages from an odd half at bit 9");
    /* Below the alignment set: refused before any ioctl. */
    CHECK(!vfi_dirty_reader_query(c->rd_a, MOCK_IOVA, 8 * PG, &small, NC, &err),
          "page size 0x%x accepted", MOCK_PG / 2);
    CHECK(g_error_matches(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT),
          "%s", err->message);
    CHECK(bm[0] == 0, "log written");
    /* Clearing read of a sub-range at a sub-byte bit leaves the rest dirty. */
    CHECK_READ(c->rd_a, 0, 8 * PG, PG, 0, PAT_A, 13, 0, "clear pages 0..7 at log bit 13");
    {
        uint64_t rest[2] = { PAT_A[0] & ~0xffull, PAT_A[1] };

        CHECK_READ(c->rd_a, ALL, NC, rest, 0, 0, "rest after sub-range clear");
        CHECK_READ(c->rd_a, 8 * PG, 120 * PG, PG, 0, rest, 2, 0, "clear pages 8..127 at bit 2");
    }
    CHECK_READ(c->rd_a, ALL, 0, NULL, 0, 0, "all clear");
    /* Steady state: the scratch buffer no longer grows. */
    vfi_dirty_reader_get_stats(c->rd_a, &st0);
    CHECK_READ(c->rd_a, ALL, 0, NULL, 3, 0, "scratch again");
    vfi_dirty_reader_get_stats(c->rd_a, &st1);
    CHECK(st1.scratch_grows == st0.scratch_grows && st0.scratch_grows >= 1,
          "scratch grows %" PRIu64 " -> %" PRIu64, st0.scratch_grows, st1.scratch_grows);
    return T_PASS;
}

static TResult t_mock_two_hwpts(Ctx *c)
{
    uint64_t nr = 0;
    int ret;

    NEED_MOCK();
    ret = mock_mark(c, c->hwpt_a, PAT_A, &nr);
    CHECK(ret == 0, "IOMMU_TEST_OP_DIRTY a: %s", g_strerror(-ret));
    ret = mock_mark(c, c->hwpt_b, PAT_B, &nr);
    CHECK(ret == 0, "IOMMU_TEST_OP_DIRTY b: %s", g_strerror(-ret));
    /* Each source alone, then both ORed into one log. */
    CHECK_READ(c->rd_a, ALL, NC, PAT_A, 0, 0, "a alone");
    CHECK_READ(c->rd_b, ALL, NC, PAT_B, 0, 0, "b alone");
    CHECK_READ(c->rd_ab, ALL, NC, PAT_AB, 0, 0, "a|b at log bit 0");
    CHECK_READ(c->rd_ab, ALL, NC, PAT_AB, 3, 0x1000000000000001ull, "a|b at log bit 3, preset");
    CHECK_READ(c->rd_ab, 2 * PG, 64 * PG, 2 * PG, NC, PAT_AB, 6, 0, "a|b 8 KiB at bit 6");
    CHECK_READ(c->rd_ab, ALL, 0, PAT_AB, 11, 0, "clearing a|b at log bit 11");
    CHECK_READ(c->rd_a, ALL, 0, NULL, 0, 0, "a after clear");
    CHECK_READ(c->rd_b, ALL, 0, NULL, 0, 0, "b after clear");
    return T_PASS;
}

/* An IOPTE of the main mapping starting at unit 64 or later whose next 64
 * units are mapped: its first unit, and its size in units (*count). */
static unsigned edge_iopte(const MockLayout *lay, unsigned *count)
{
    unsigned u;

    for (u = 64; u + 65 <= lay->units; u += lay->count[u]) {
        if (lay->first[u] == u) {
            *count = lay->count[u];
            return u;
        }
    }
    *count = 0;
    return 0;
}

/* Raw read of @n units from unit @u0 of the main mapping in hwpt a at
 * 2 KiB pages into @buf (two words, page-aligned: the second is a guard),
 * checked against the model (which it updates). */
static TResult raw_edge_read(Ctx *c, unsigned u0, unsigned n, uint32_t flags, uint64_t *buf,
                             const char *what)
{
    uint64_t exp[2];

    buf[0] = buf[1] = 0;
    OK(vfi_iommufd_hwpt_get_dirty_bitmap(c->be, c->hwpt_a, MOCK_IOVA + (uint64_t)u0 * MOCK_PG,
                                        (uint64_t)n * MOCK_PG, MOCK_PG, buf, flags, errp));
    model_read(c->lay, c->mock_marked[0], u0, n, 1,
               !(flags & IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR), exp, 128);
    note(c, "%s: units %u..%u read %016" PRIx64 ", guard %016" PRIx64, what, u0, u0 + n - 1,
         buf[0], buf[1]);
    CHECK(buf[0] == exp[0] && buf[1] == exp[1], "%s: read %016" PRIx64 " %016" PRIx64
          ", want %016" PRIx64 " %016" PRIx64, what, buf[0], buf[1], exp[0], exp[1]);
    return T_PASS;
}

/*
 * Reads that end or start inside an IOPTE: raw, at 2 KiB pages, 64 bits into
 * a page-aligned buffer whose second word is a guard. The generic page
 * table (7.x) records a dirty IOPTE from its start to its end: one ending
 * after the range sets bits past the range's end, in the caller's memory
 * after the bitmap (the guard word: the kernel writes up to the end of the
 * bitmap's last page); one starting before the range has no bit and is
 * dropped, yet a clearing read makes it clean: its dirty pages are lost.
 * 6.12's IOPTEs are 2 KiB pages: neither can happen, the reads are exact.
 */
static TResult t_mock_edges(Ctx *c)
{
    uint64_t *buf = alloc_pages(PG);
    unsigned f, cnt;
    bool exact, lost;
    int ret;

    NEED_MOCK();
    CHECK(buf && c->lay, "mmap");
    f = edge_iopte(c->lay, &cnt);
    CHECK(cnt, "no IOPTE with 64 mapped units after it");
    exact = layout_is_exact(c->lay);
    note(c, "IOPTE of %u x 2 KiB at unit %u", cnt, f);
    ret = mock_mark_unit(c, c->hwpt_a, MOCK_IOVA, f);
    CHECK(ret == 0, "IOMMU_TEST_OP_DIRTY: %s", g_strerror(-ret));
    c->mock_marked[0][f / 64] |= 1ull << (f % 64);
    /* ends inside: the IOPTE's first unit is the range's last */
    CHECK_RESULT(raw_edge_read(c, f - 63, 64, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, buf,
                               "ending inside"));
    CHECK(exact == (buf[1] == 0), "%s: bits past the range: %016" PRIx64,
          exact ? "2 KiB IOPTEs" : "IOPTEs of 4 KiB and more", buf[1]);
    /* starts inside, clearing: nothing read, and cleared */
    CHECK_RESULT(raw_edge_read(c, f + 1, 64, 0, buf, "starting inside"));
    lost = !(c->mock_marked[0][f / 64] & (1ull << (f % 64)));
    CHECK(lost == !exact, "the marked unit %s", lost ? "was lost" : "is still dirty");
    munmap(buf, PG);
    if (lost) {
        note(c, "the dirty IOPTE at unit %u was cleared by a read starting inside it and "
             "reported nowhere: its pages are lost", f);
    }
    /* what is left, through the reader; then clean */
    CHECK_READ(c->rd_a, ALL, NC, MODEL_ONLY, 0, 0, "after the edge reads");
    CHECK_READ(c->rd_a, ALL, 0, MODEL_ONLY, 0, 0, "clearing after the edge reads");
    CHECK_READ(c->rd_a, ALL, NC, NULL, 0, 0, "clean after the edge reads");
    return T_PASS;
}

/* A query of @n units from unit @u0 of the main mapping through @rd at
 * 2 KiB log pages into @log (based at MOCK_IOVA, zeroed first). */
static bool unit_query(VfiDirtyReader *rd, VfiDirtyLog *log, unsigned u0, unsigned n,
                       GError **errp)
{
    memset(log->bitmap, 0, LOG_WORDS * sizeof(uint64_t));
    return vfi_dirty_reader_query(rd, MOCK_IOVA + (uint64_t)u0 * MOCK_PG,
                                  (uint64_t)n * MOCK_PG, log, 0, errp);
}

/* The log bits set outside [from, to), or the count of those inside. */
static unsigned bits_outside(const uint64_t *bm, unsigned from, unsigned to)
{
    unsigned k, n = 0;

    for (k = 0; k < LOG_WORDS * 64; k++) {
        n += (k < from || k >= to) && bit_of(bm, k);
    }
    return n;
}

/*
 * The library's guard of those edges: a reader told of the mapping
 * (vfi_dirty_reader_add_mapping()) reads it whole when a query cuts it,
 * delivers the range's bits and keeps the others for the query of their
 * pages. The same assertions on every kernel: a marked unit is reported by
 * the query of its page (7.3 without the guard: lost), every unit of its
 * IOPTE inside a range is reported (2 KiB IOPTEs on 6.12: itself only), no
 * bit lands outside a range, and nothing is left afterwards.
 */
static TResult t_mock_edges_guarded(Ctx *c)
{
    uint64_t bm[LOG_WORDS];
    VfiDirtyLog log = { .base_iova = MOCK_IOVA, .page_size = MOCK_PG, .bitmap = bm,
                        .nr_pages = LOG_WORDS * 64 };
    g_autoptr(VfiDirtyReader) rd = NULL;
    unsigned f, cnt, last, k;
    int ret;

    NEED_MOCK();
    CHECK(c->lay, "no IOPTE layout learnt");
    f = edge_iopte(c->lay, &cnt);
    CHECK(cnt, "no IOPTE with 64 mapped units after it");
    last = f + cnt - 1;
    rd = vfi_dirty_reader_new(c->be);
    OK(vfi_dirty_reader_set_iova_alignment(rd, c->mock_align, errp));
    OK(vfi_dirty_reader_add_hwpt(rd, c->hwpt_a, errp));
    OK(vfi_dirty_reader_add_mapping(rd, MOCK_IOVA, MOCK_PAGES * (uint64_t)PG, errp));
    /* starting inside: unit f marked, the query from the IOPTE's last unit */
    ret = mock_mark_unit(c, c->hwpt_a, MOCK_IOVA, f);
    CHECK(ret == 0, "IOMMU_TEST_OP_DIRTY: %s", g_strerror(-ret));
    OK(unit_query(rd, &log, last, 64, errp));
    CHECK(bit_of(bm, last) && bits_outside(bm, last, last + 1) == 0,
          "query from unit %u: bit %d, %u others", last, bit_of(bm, last),
          bits_outside(bm, last, last + 1));
    OK(unit_query(rd, &log, f, cnt, errp));
    for (k = f; k < last; k++) {
        CHECK(bit_of(bm, k), "unit %u of the dirty IOPTE at %u (%u units) lost", k, f, cnt);
    }
    CHECK(bits_outside(bm, f, f + cnt) == 0, "bits outside the IOPTE");
    /* ending inside: its last unit marked, the query up to its first unit */
    ret = mock_mark_unit(c, c->hwpt_a, MOCK_IOVA, last);
    CHECK(ret == 0, "IOMMU_TEST_OP_DIRTY: %s", g_strerror(-ret));
    OK(unit_query(rd, &log, f - 63, 64, errp));
    CHECK(bit_of(bm, f) && bits_outside(bm, f - 63, f + 1) == 0,
          "query up to unit %u: bit %d, %u bits past it", f, bit_of(bm, f),
          bits_outside(bm, f - 63, f + 1));
    if (cnt > 1) {
        OK(unit_query(rd, &log, f + 1, cnt - 1, errp));
        CHECK(bit_of(bm, last), "the marked unit %u lost", last);
    }
    /* nothing left; then forget the mapping */
    OK(unit_query(rd, &log, 0, 2 * MOCK_PAGES, errp));
    CHECK(popcount_words(bm, LOG_WORDS) == 0, "%u bits left",
          popcount_words(bm, LOG_WORDS));
    OK(vfi_dirty_reader_remove_mapping(rd, MOCK_IOVA, MOCK_PAGES * (uint64_t)PG, errp));
    memset(c->mock_marked[0], 0, sizeof(c->mock_marked[0]));
    note(c, "IOPTE of %u x 2 KiB at unit %u: nothing lost at either edge", cnt, f);
    return T_PASS;
}

/*
 * Unmap during migration: read a mapping's bits with NO_CLEAR, then unmap
 * it. The dirty state goes with the mapping (reading the range afterwards
 * finds nothing), so the bits read first are all that is left of it.
 */
static TResult t_mock_unmap_no_clear(Ctx *c)
{
    const uint64_t off = 0x100000, len = 64 * (uint64_t)PG;   /* MOCK_IOVA + 1 MiB */
    const uint64_t pa[1] = { 0x8000000100000a05ull }, pb[1] = { 0x0000300000000180ull };
    uint64_t ma[UNIT_WORDS], mb[UNIT_WORDS], ra[1], rb[1], both[1];
    uint64_t bm[LOG_WORDS] = { 0 }, nr = 0, unmapped = 0;
    VfiDirtyLog log = { .base_iova = MOCK_IOVA + off - 5 * PG, .page_size = PG,
                         .bitmap = bm, .nr_pages = LOG_WORDS * 64 };
    g_autofree MockLayout *la = g_new0(MockLayout, 1);
    g_autofree MockLayout *lb = g_new0(MockLayout, 1);
    unsigned i;
    int ret;

    NEED_MOCK();
    c->mock_buf2 = alloc_pages(len);
    CHECK(c->mock_buf2, "mmap");
    OK(vfi_iommufd_ioas_map(c->be, c->mock_ioas, MOCK_IOVA + off, len, c->mock_buf2, false,
                               errp));
    /* This mapping's own IOPTEs (t_mock_layout()), the same in both HWPTs:
     * the pages read dirty are those of the IOPTEs holding a marked one. */
    CHECK_RESULT(mock_probe_layout(c, c->hwpt_a, MOCK_IOVA + off, 128, la));
    CHECK_RESULT(mock_probe_layout(c, c->hwpt_b, MOCK_IOVA + off, 128, lb));
    CHECK(layout_equal(la, lb), "hwpts %u and %u map the same pages with other IOPTEs",
          c->hwpt_a, c->hwpt_b);
    units_of_pages(pa, 64, ma);
    units_of_pages(pb, 64, mb);
    model_read(la, ma, 0, 128, PG / MOCK_PG, false, ra, 64);
    model_read(lb, mb, 0, 128, PG / MOCK_PG, false, rb, 64);
    both[0] = ra[0] | rb[0];
    ret = mock_mark_at(c, c->hwpt_a, MOCK_IOVA + off, 64, pa, &nr);
    CHECK(ret == 0 && nr == popcount_words(pa, 1), "IOMMU_TEST_OP_DIRTY a: %s, %" PRIu64,
          g_strerror(-ret), nr);
    ret = mock_mark_at(c, c->hwpt_b, MOCK_IOVA + off, 64, pb, &nr);
    CHECK(ret == 0 && nr == popcount_words(pb, 1), "IOMMU_TEST_OP_DIRTY b: %s, %" PRIu64,
          g_strerror(-ret), nr);
    /* NO_CLEAR read of the range about to go, at a sub-byte bit of the log */
    OK(vfi_dirty_reader_query(c->rd_ab, MOCK_IOVA + off, len, &log, NC, errp));
    OK(vfi_iommufd_ioas_unmap(c->be, c->mock_ioas, MOCK_IOVA + off, len, &unmapped, errp));
    CHECK(unmapped == len, "unmapped 0x%" PRIx64, unmapped);
    for (i = 0; i < LOG_WORDS * 64; i++) {
        bool exp = i >= 5 && i < 5 + 64 && bit_of(both, i - 5);

        CHECK(bit_of(bm, i) == exp, "log bit %u is %d, want %d", i, bit_of(bm, i), exp);
    }
    /* The dirty state went with the mapping: reading the range where
     * nothing is mapped any more succeeds (6.12) and finds nothing. */
    memset(bm, 0, sizeof(bm));
    OK(vfi_dirty_reader_query(c->rd_ab, MOCK_IOVA + off, len, &log, NC, errp));
    CHECK(popcount_words(bm, LOG_WORDS) == 0, "bits read from an unmapped range");
    /* The main mapping was not touched: still clean. */
    CHECK_READ(c->rd_ab, ALL, NC, NULL, 0, 0, "main mapping after the unmap");
    /* Mapped again: clean. */
    OK(vfi_iommufd_ioas_map(c->be, c->mock_ioas, MOCK_IOVA + off, len, c->mock_buf2, false,
                               errp));
    memset(bm, 0, sizeof(bm));
    OK(vfi_dirty_reader_query(c->rd_ab, MOCK_IOVA + off, len, &log, 0, errp));
    CHECK(popcount_words(bm, LOG_WORDS) == 0, "remapped range dirty");
    OK(vfi_iommufd_ioas_unmap(c->be, c->mock_ioas, MOCK_IOVA + off, len, &unmapped, errp));
    return T_PASS;
}

static TResult t_mock_stop(Ctx *c)
{
    uint64_t nr = 0;
    int ret;

    NEED_MOCK();
    OK(vfi_iommufd_hwpt_set_dirty_tracking(c->be, c->hwpt_a, false, errp));
    OK(vfi_iommufd_hwpt_set_dirty_tracking(c->be, c->hwpt_a, false, errp));
    OK(vfi_iommufd_hwpt_set_dirty_tracking(c->be, c->hwpt_b, false, errp));
    /* The mock refuses to mark pages while tracking is off. */
    ret = mock_mark(c, c->hwpt_a, PAT_A, &nr);
    CHECK(ret == -EINVAL, "IOMMU_TEST_OP_DIRTY with tracking off: %s", g_strerror(-ret));
    /* Starting again starts clean. */
    OK(vfi_iommufd_hwpt_set_dirty_tracking(c->be, c->hwpt_a, true, errp));
    memset(c->mock_marked[0], 0, sizeof(c->mock_marked[0]));
    CHECK_READ(c->rd_a, ALL, 0, NULL, 0, 0, "restart");
    OK(vfi_iommufd_hwpt_set_dirty_tracking(c->be, c->hwpt_a, false, errp));
    return T_PASS;
}

/*
 * Nest parents on the mock: it takes NEST_PARENT and NEST_PARENT |
 * DIRTY_TRACKING for a device with dirty tracking, NEST_PARENT alone for
 * one without (the pair: EOPNOTSUPP from the core). A nest parent with the
 * flag tracks as a plain dirty HWPT: the same marks read the same bits.
 */
static TResult t_mock_nest_parent(Ctx *c)
{
    const uint32_t np = IOMMU_HWPT_ALLOC_NEST_PARENT, dt = IOMMU_HWPT_ALLOC_DIRTY_TRACKING;
    static const uint64_t pages[1] = { 0x28 };      /* pages 3 and 5 of the range */
    uint64_t bm_np[1] = { 0 }, bm_a[1] = { 0 }, nr = 0;
    uint32_t h_np = 0, h_npd = 0, h_n = 0, id = 0, st = 0;
    const uint64_t at = MOCK_IOVA + 8 * PG;
    int ret;

    NEED_MOCK();
    OK(vfi_iommufd_hwpt_alloc(c->be, c->idev, c->mock_ioas, np, IOMMU_HWPT_DATA_NONE, 0, NULL,
                              &h_np, errp));
    OK(vfi_iommufd_hwpt_alloc(c->be, c->idev, c->mock_ioas, np | dt, IOMMU_HWPT_DATA_NONE, 0,
                              NULL, &h_npd, errp));
    CHECK(c->idev_n, "no mock device without dirty tracking");
    OK(vfi_iommufd_hwpt_alloc(c->be, c->idev_n, c->mock_ioas, np, IOMMU_HWPT_DATA_NONE, 0,
                              NULL, &h_n, errp));
    KERR(vfi_iommufd_hwpt_alloc(c->be, c->idev_n, c->mock_ioas, np | dt, IOMMU_HWPT_DATA_NONE,
                                0, NULL, &id, errp), EOPNOTSUPP);
    note(c, "nest parents: hwpt %u (NEST_PARENT), %u (with DIRTY_TRACKING), %u (no-dirty "
         "device)", h_np, h_npd, h_n);
    /* a device in the dirty nest parent, then the same marks as in hwpt_a */
    ret = mock_domain(c, h_npd, 0, &st, NULL, NULL);
    CHECK(ret == 0, "mock device on hwpt %u: %s", h_npd, g_strerror(-ret));
    KERR(vfi_iommufd_hwpt_set_dirty_tracking(c->be, h_np, true, errp), EOPNOTSUPP);
    OK(vfi_iommufd_hwpt_set_dirty_tracking(c->be, h_npd, true, errp));
    OK(vfi_iommufd_hwpt_set_dirty_tracking(c->be, c->hwpt_a, true, errp));
    ret = mock_mark_at(c, h_npd, at, 8, pages, &nr);
    CHECK(ret == 0, "mark on hwpt %u: %s", h_npd, g_strerror(-ret));
    ret = mock_mark_at(c, c->hwpt_a, at, 8, pages, &nr);
    CHECK(ret == 0, "mark on hwpt %u: %s", c->hwpt_a, g_strerror(-ret));
    OK(vfi_iommufd_hwpt_get_dirty_bitmap(c->be, h_npd, at, 8 * PG, PG, bm_np, 0, errp));
    OK(vfi_iommufd_hwpt_get_dirty_bitmap(c->be, c->hwpt_a, at, 8 * PG, PG, bm_a, 0, errp));
    note(c, "nest parent read 0x%" PRIx64 ", plain dirty HWPT 0x%" PRIx64, bm_np[0], bm_a[0]);
    CHECK((bm_np[0] & pages[0]) == pages[0], "bits 0x%" PRIx64, bm_np[0]);
    CHECK(bm_np[0] == bm_a[0], "nest parent 0x%" PRIx64 " plain 0x%" PRIx64, bm_np[0], bm_a[0]);
    OK(vfi_iommufd_hwpt_set_dirty_tracking(c->be, h_npd, false, errp));
    OK(vfi_iommufd_hwpt_set_dirty_tracking(c->be, c->hwpt_a, false, errp));
    KERR(vfi_iommufd_destroy(c->be, h_npd, errp), EBUSY);
    OK(vfi_iommufd_destroy(c->be, st, errp));
    OK(vfi_iommufd_destroy(c->be, h_npd, errp));
    OK(vfi_iommufd_destroy(c->be, h_np, errp));
    OK(vfi_iommufd_destroy(c->be, h_n, errp));
    return T_PASS;
}

static TResult t_mock_teardown(Ctx *c)
{
    uint32_t objs[8];
    unsigned n = 0, i;
    uint64_t unmapped = 0;

    NEED_MOCK();
    g_clear_pointer(&c->lay, g_free);
    /* The readers hold no kernel object. */
    g_clear_pointer(&c->rd_a, vfi_dirty_reader_free);
    g_clear_pointer(&c->rd_b, vfi_dirty_reader_free);
    g_clear_pointer(&c->rd_ab, vfi_dirty_reader_free);
    /* A HWPT with a device in it. */
    KERR(vfi_iommufd_destroy(c->be, c->hwpt_a, errp), EBUSY);
    KERR(vfi_iommufd_destroy(c->be, c->mock_ioas, errp), EBUSY);
    /* Devices (their selftest objects), then HWPTs, then the IOAS. */
    objs[n++] = c->stdev_a;
    objs[n++] = c->stdev_b;
    if (c->stdev_n) {
        objs[n++] = c->stdev_n;
    }
    objs[n++] = c->stdev;
    objs[n++] = c->hwpt_a;
    objs[n++] = c->hwpt_b;
    if (c->hwpt_plain) {
        objs[n++] = c->hwpt_plain;
    }
    for (i = 0; i < n; i++) {
        OK(vfi_iommufd_destroy(c->be, objs[i], errp));
    }
    OK(vfi_iommufd_ioas_unmap_all(c->be, c->mock_ioas, &unmapped, errp));
    CHECK(unmapped == MOCK_PAGES * PG, "unmapped 0x%" PRIx64, unmapped);
    OK(vfi_iommufd_destroy(c->be, c->mock_ioas, errp));
    objs[n++] = c->mock_ioas;
    /* The kernel-made HWPT of the first mock device went with it. */
    objs[n++] = c->auto_hwpt;
    for (i = 0; i < n; i++) {
        KERR(vfi_iommufd_destroy(c->be, objs[i], errp), ENOENT);
    }
    vfi_iommufd_disconnect(c->be);
    OK(vfi_iommufd_free(c->be, errp));
    c->be = NULL;
    return T_PASS;
}

/* ---- mock IOMMU: vIOMMU objects (issue 13), the shared scenarios -------- */

#ifdef IOMMU_VEVENTQ_ALLOC
/* The mock platform: a PASID-capable mock device per scenario, moved and
 * triggered by the mock's test ops. */
typedef struct MockVs {
    Ctx *c;
    uint32_t stdev, idev;
} MockVs;

static bool mock_op(MockVs *m, struct iommu_test_cmd *cmd, const char *what, GError **errp)
{
    int ret = test_cmd(m->c, cmd);

    if (ret) {
        g_set_error(errp, VFI_KERNEL_ERROR, -ret, "%s: %s", what, g_strerror(-ret));
    }
    return ret == 0;
}

static bool mvs_replace(void *opaque, uint32_t pt, GError **errp)
{
    MockVs *m = opaque;
    struct iommu_test_cmd cmd = {
        .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, .id = m->stdev,
        .mock_domain_replace.pt_id = pt,
    };

    return mock_op(m, &cmd, "IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE", errp);
}

static bool mvs_pasid(void *opaque, int op, uint32_t pasid, uint32_t pt, GError **errp)
{
    MockVs *m = opaque;
    struct iommu_test_cmd cmd = { .id = m->stdev };

    cmd.op = op == 0 ? IOMMU_TEST_OP_PASID_ATTACH : op == 1 ? IOMMU_TEST_OP_PASID_REPLACE :
             IOMMU_TEST_OP_PASID_DETACH;
    cmd.pasid_attach.pasid = pasid;
    cmd.pasid_attach.pt_id = pt;
    return mock_op(m, &cmd, "IOMMU_TEST_OP_PASID_*", errp);
}

static bool mvs_vevent(void *opaque, GError **errp)
{
    MockVs *m = opaque;
    struct iommu_test_cmd cmd = {
        .op = IOMMU_TEST_OP_TRIGGER_VEVENT, .trigger_vevent.dev_id = m->idev,
    };

    return mock_op(m, &cmd, "IOMMU_TEST_OP_TRIGGER_VEVENT", errp);
}

static bool mvs_iopf(void *opaque, uint32_t pasid, uint32_t grpid, uint32_t perm,
                     uint64_t addr, GError **errp)
{
    MockVs *m = opaque;
    struct iommu_test_cmd cmd = {
        .op = IOMMU_TEST_OP_TRIGGER_IOPF,
        .trigger_iopf = { .dev_id = m->idev, .pasid = pasid, .grpid = grpid, .perm = perm,
                          .addr = addr },
    };

    return mock_op(m, &cmd, "IOMMU_TEST_OP_TRIGGER_IOPF", errp);
}

static bool mvs_iotlb_is(void *opaque, uint32_t hwpt, unsigned i, uint32_t want)
{
    MockVs *m = opaque;
    struct iommu_test_cmd cmd = {
        .op = IOMMU_TEST_OP_MD_CHECK_IOTLB, .id = hwpt,
        .check_iotlb = { .id = i, .iotlb = want },
    };

    return test_cmd(m->c, &cmd) == 0;
}

static bool mvs_cache_is(void *opaque, uint32_t vdev, unsigned i, uint32_t want)
{
    MockVs *m = opaque;
    struct iommu_test_cmd cmd = {
        .op = IOMMU_TEST_OP_DEV_CHECK_CACHE, .id = m->idev,
        .check_dev_cache = { .id = i, .cache = want },
    };

    (void)vdev;
    return test_cmd(m->c, &cmd) == 0;
}

/* Free in the mock IOAS (MOCK_IOVA's pages are below), inside the aperture. */
#define MOCK_VS_FREE_IOVA 0x10000000ull

/* Scenario @i of viommu-scenarios.h on a new PASID-capable mock device on
 * the mock IOAS (destroyed after it): the same function, the same
 * assertions as test-viommu on the model. */
static TResult mock_vs(Ctx *c, size_t i)
{
    MockVs m = { .c = c };
    VsPlatform p = {
        .be = c->be, .ioas = c->mock_ioas, .home_pt = c->mock_ioas, .opaque = &m,
        .replace = mvs_replace, .pasid = mvs_pasid, .trigger_vevent = mvs_vevent,
        .trigger_iopf = mvs_iopf, .iotlb_is = mvs_iotlb_is, .dev_cache_is = mvs_cache_is,
        .free_iova = MOCK_VS_FREE_IOVA,
    };
    const char *why;
    int ret;

    NEED_MOCK();
    ret = mock_domain(c, c->mock_ioas, MOCK_FLAGS_DEVICE_PASID, &m.stdev, NULL, &m.idev);
    CHECK(ret == 0, "PASID-capable mock device: %s", g_strerror(-ret));
    p.dev_id = m.idev;
    why = vs_run(&p, &vs_scenarios[i]);
    OK(vfi_iommufd_destroy(c->be, m.stdev, errp));
    CHECK(!why, "%s", why);
    return T_PASS;
}
#define MOCK_VS(n, i) static TResult n(Ctx *c) { return mock_vs(c, i); }
#else
#define MOCK_VS(n, i) static TResult n(Ctx *c)                                \
    {                                                                          \
        NEED_MOCK();                                                           \
        SKIP("needs Linux 6.15 UAPI headers: built without IOMMU_VEVENTQ_ALLOC, "   \
             "IOMMU_VIOMMU_ALLOC and the PASID attach (6.12's have none)");   \
    }
#endif
MOCK_VS(t_mock_vs_nested, 0)
MOCK_VS(t_mock_vs_invalidate, 1)
MOCK_VS(t_mock_vs_veventq, 2)
MOCK_VS(t_mock_vs_fault, 3)
MOCK_VS(t_mock_vs_pasid, 4)

/* IOMMU_HW_QUEUE_ALLOC (6.17): vs_hw_queue of viommu-scenarios.h, the
 * same assertions as test-viommu on the model. */
#if defined(IOMMU_VEVENTQ_ALLOC) && defined(IOMMU_HW_QUEUE_ALLOC)
MOCK_VS(t_mock_hw_queue, 5)
#else
static TResult t_mock_hw_queue(Ctx *c)
{
    NEED_MOCK();
    SKIP("needs Linux 6.17 UAPI headers: no IOMMU_HW_QUEUE_ALLOC");
}
#endif

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

int main(int argc, char **argv)
{
    Ctx ctx = { 0 };
    Ctx *c = &ctx;
    const char *mode = NULL;
    int i, rc;

    setvbuf(stdout, NULL, _IOLBF, 0);
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
    c->why = g_string_new(NULL);
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
        g_autoptr(GError) err = NULL;

        c->sim = vfi_sim_new(&err);
        if (!c->sim || !vfi_sim_load_topology_data(c->sim, SIM_TOPOLOGY, &err)) {
            printf("Bail out! kernel model: %s\n", err->message);
            g_string_free(c->why, true);
            vfi_sim_free(c->sim);
            return 1;
        }
        vfi_sim_install(c->sim);
        printf("# the boot-1 (iommu) scenarios on the kernel model, sysfs at %s\n",
               vfi_kernel_sysfs_root());
        rc = run_tests(c, iommu_tests, G_N_ELEMENTS(iommu_tests));
        vfi_sim_free(c->sim);
        c->sim = NULL;
    } else {
        const char *env = getenv("VFI_TEST_DEVICES");

        if (!g_file_test("/dev/iommu", G_FILE_TEST_EXISTS)) {
            printf("1..0 # SKIP no /dev/iommu (kernel without CONFIG_IOMMUFD, or no IOMMU)\n");
            return 0;
        }
        if (!env || !*env) {
            printf("1..0 # SKIP VFI_TEST_DEVICES not set (a comma-separated list of "
                   "PCI addresses bound to vfio-pci)\n");
            return 0;
        }
        rc = run_tests(c, iommu_tests, G_N_ELEMENTS(iommu_tests));
    }
    for (i = 0; i < (int)c->nr_pci; i++) {
        g_free(c->bdf[i]);
    }
    g_free(c->mdev_path);
    g_string_free(c->why, true);
    return rc;
}
