/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd kernel model: the legacy VFIO group and type1 container.
 *
 * /dev/vfio/vfio is a container (drivers/vfio/container.c), /dev/vfio/N the
 * IOMMU group N of the model's devices (drivers/vfio/group.c), and
 * VFIO_SET_IOMMU with VFIO_TYPE1(v2)_IOMMU opens the type1 driver
 * (drivers/vfio/vfio_iommu_type1.c) on the container. What the model keeps
 * of the kernel's rules:
 *  - a group opens once (EBUSY), and not while a cdev of one of its devices
 *    is bound; a cdev does not bind while its group is open (EBUSY);
 *  - SET_CONTAINER: EINVAL when the group has one, EBADF/EBADFD for an fd
 *    that is no container; UNSET_CONTAINER: EINVAL without one, EBUSY while
 *    devices are open through the group; closing the group (its fd and the
 *    last device got from it) unsets it;
 *  - SET_IOMMU: EINVAL without a group or when set, ENODEV for a type no
 *    driver offers; the last group leaving releases the driver and every
 *    mapping; other container ioctls before it: EINVAL;
 *  - GET_DEVICE_FD: ENODEV for a name not in the group, EINVAL before
 *    SET_CONTAINER and SET_IOMMU; BIND_IOMMUFD on such a device file: EINVAL;
 *  - type1: mappings aligned to the smallest IOMMU page (4 KiB), EEXIST on
 *    overlap, EINVAL outside the IOVA ranges (the aperture less the MSI
 *    window, only with a physical group), ENOSPC past dma_entry_limit
 *    (65535); v2 unmaps must not cut a mapping (EINVAL), an empty range
 *    unmaps 0 bytes; GET_INFO with the migration, DMA-available and IOVA
 *    range capabilities (argsz grown when too small);
 *  - dirty pages: START/STOP (one flag at a time), GET_BITMAP only while
 *    started, at the smallest page size, on a range that cuts no mapping,
 *    with a big enough bitmap; every page of a mapping is reported dirty
 *    while a physical group is in the container (it cannot tell), else
 *    only pages an mdev wrote (vfio_dma_rw()); the kernel writes the words
 *    of a mapping's bits whole (it keeps the bits below the first) and its
 *    shifts leave bits behind that later reports show again (modelled).
 * Not modelled: VFIO_DMA_MAP_FLAG_VADDR / UNMAP_FLAG_VADDR (EOPNOTSUPP,
 * traced), an iommufd given to SET_CONTAINER (iommufd's compat container),
 * RLIMIT_MEMLOCK, page pinning by an mdev.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <linux/vfio.h>

#include "sim-internal.h"
#include "vfio-iommufd/error.h"
#include "trace.h"

#define CONTAINER_PATH "/dev/vfio/vfio"
#define GROUP_PREFIX "/dev/vfio/"
#define ARGSZ_END(type, member) (offsetof(type, member) + sizeof(((type *)0)->member))
/* dma_entry_limit's default */
#define T1_DMA_ENTRY_LIMIT 65535u
/* DIRTY_BITMAP_PAGES_MAX and DIRTY_BITMAP_SIZE_MAX of vfio_iommu_type1.c */
#define T1_BITMAP_PAGES_MAX ((uint64_t)INT32_MAX)
#define T1_BITMAP_BYTES(n) ((((n) + 63) / 64) * 8)
#define T1_BITMAP_SIZE_MAX T1_BITMAP_BYTES(T1_BITMAP_PAGES_MAX)
/* A physical device's domain: 4 KiB, 2 MiB and 1 GiB pages (VT-d); the
 * driver alone (no domain): PAGE_MASK */
#define T1_DOMAIN_PGSIZES (UINT64_C(0x1000) | UINT64_C(0x200000) | UINT64_C(0x40000000))
#define T1_PAGE_MASK (~(SIM_PAGE_SIZE - 1))

typedef struct SimContainer SimContainer;

typedef struct SimGroup {
    VfiSim *sim;
    unsigned id;
    int fd;                     /* the open group fd, -1 */
    bool opened;                /* its fd or a device got from it holds it */
    SimContainer *container;
} SimGroup;

typedef struct T1Map {
    uint64_t iova;
    uint64_t last;
    uint64_t vaddr;
    uint32_t flags;             /* VFIO_DMA_MAP_FLAG_* */
    /* while tracking: the kernel's dma->bitmap, one bit per 4 KiB page and
     * a word more (the shifts of a report run in it and leave bits there,
     * as the kernel's do) */
    uint64_t *bitmap;
} T1Map;

struct SimContainer {
    VfiSim *sim;
    int fd;                     /* -1 once closed */
    unsigned refs;              /* its fd, each group set to it */
    bool iommu;                 /* VFIO_SET_IOMMU done */
    bool v2;
    GPtrArray *groups;          /* SimGroup set to it, in order */
    GArray *maps;               /* T1Map, sorted, disjoint */
    bool tracking;
    unsigned dma_avail;
};

static int refuse(const char *what, int err, const char *why)
{
    trace_vfi_sim_refused(what, err, why);
    return -err;
}

/* ---- groups and their devices ------------------------------------------ */

static SimGroup *group_get(VfiSim *sim, unsigned id)
{
    SimGroup *g;

    if (!sim->groups) {
        sim->groups = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
    }
    g = g_hash_table_lookup(sim->groups, GUINT_TO_POINTER(id));
    if (!g) {
        g = g_new0(SimGroup, 1);
        g->sim = sim;
        g->id = id;
        g->fd = -1;
        g_hash_table_insert(sim->groups, GUINT_TO_POINTER(id), g);
    }
    return g;
}

/* The devices of group @id, in order of creation. */
static GPtrArray *group_devices(VfiSim *sim, unsigned id)
{
    GPtrArray *out = g_ptr_array_new();

    for (guint i = 0; i < sim->devices->len; i++) {
        SimDevice *d = g_ptr_array_index(sim->devices, i);

        if (d->iommu_group == id) {
            g_ptr_array_add(out, d);
        }
    }
    return out;
}

/* VFIO_EMULATED_IOMMU: an mdev's group; else a physical one (VFIO_IOMMU). */
static bool group_physical(SimGroup *g)
{
    g_autoptr(GPtrArray) devs = group_devices(g->sim, g->id);

    return devs->len && ((SimDevice *)g_ptr_array_index(devs, 0))->iommu;
}

/* group->container_users - 1: the devices opened through the group. */
static unsigned group_open_devices(SimGroup *g)
{
    g_autoptr(GPtrArray) devs = group_devices(g->sim, g->id);
    unsigned n = 0;

    for (guint i = 0; i < devs->len; i++) {
        n += ((SimDevice *)g_ptr_array_index(devs, i))->group_opens > 0;
    }
    return n;
}

bool sim_type1_is_path(const char *path)
{
    const char *num = path + strlen(GROUP_PREFIX);

    if (g_str_equal(path, CONTAINER_PATH)) {
        return true;
    }
    if (!g_str_has_prefix(path, GROUP_PREFIX) || !*num) {
        return false;
    }
    for (; *num; num++) {
        if (!g_ascii_isdigit(*num)) {
            return false;
        }
    }
    return true;
}

static bool group_opened(VfiSim *sim, unsigned id)
{
    SimGroup *g = sim->groups ? g_hash_table_lookup(sim->groups, GUINT_TO_POINTER(id)) : NULL;

    return g && g->opened;
}

int sim_type1_cdev_bind(VfiSim *sim, SimDevice *dev)
{
    if (group_opened(sim, dev->iommu_group)) {
        /* vfio_device_block_group() */
        return refuse("VFIO_DEVICE_BIND_IOMMUFD", EBUSY, "its IOMMU group is open");
    }
    return 0;
}

/* ---- containers ---------------------------------------------------------- */

static void map_clear(gpointer p)
{
    g_clear_pointer(&((T1Map *)p)->bitmap, g_free);
}

static uint64_t map_pages(const T1Map *m)
{
    return (m->last - m->iova + 1) / SIM_PAGE_SIZE;
}

/* vfio_dma_bitmap_alloc(): zeroed, a word more than the pages need. */
static uint64_t *map_bitmap_new(const T1Map *m)
{
    return g_new0(uint64_t, (map_pages(m) + 63) / 64 + 1);
}

/* bitmap_set(bm, first, n) */
static void bits_set(uint64_t *bm, uint64_t first, uint64_t n)
{
    for (uint64_t b = first; b < first + n; b++) {
        bm[b / 64] |= UINT64_C(1) << (b % 64);
    }
}

static SimContainer *container_new(VfiSim *sim, int fd)
{
    SimContainer *c = g_new0(SimContainer, 1);

    c->sim = sim;
    c->fd = fd;
    c->refs = 1;
    c->groups = g_ptr_array_new();
    c->maps = g_array_new(FALSE, TRUE, sizeof(T1Map));
    g_array_set_clear_func(c->maps, map_clear);
    c->dma_avail = T1_DMA_ENTRY_LIMIT;
    sim->type1_containers++;
    return c;
}

static void container_put(SimContainer *c)
{
    if (--c->refs) {
        return;
    }
    c->sim->type1_containers--;
    g_ptr_array_free(c->groups, TRUE);
    g_array_free(c->maps, TRUE);
    g_free(c);
}

static unsigned physical_groups(const SimContainer *c)
{
    unsigned n = 0;

    for (guint i = 0; i < c->groups->len; i++) {
        n += group_physical(g_ptr_array_index(c->groups, i));
    }
    return n;
}

static uint64_t container_pgsizes(const SimContainer *c)
{
    return physical_groups(c) ? T1_DOMAIN_PGSIZES : T1_PAGE_MASK;
}

/* The IOVA list: the aperture less the MSI window with a physical group,
 * empty (any IOVA) with mdev groups alone. Returns how many. */
static unsigned container_ranges(const SimContainer *c, uint64_t start[2], uint64_t end[2])
{
    if (!physical_groups(c)) {
        return 0;
    }
    start[0] = 0;
    end[0] = SIM_MSI_START - 1;
    start[1] = SIM_MSI_LAST + 1;
    end[1] = SIM_IOVA_LAST;
    return 2;
}

static bool iova_valid(const SimContainer *c, uint64_t iova, uint64_t last)
{
    uint64_t s[2], e[2];
    unsigned n = container_ranges(c, s, e);

    for (unsigned i = 0; i < n; i++) {
        if (iova >= s[i] && last <= e[i]) {
            return true;
        }
    }
    return n == 0;
}

/* The index of the first mapping whose last >= @iova. */
static guint first_map(const SimContainer *c, uint64_t iova)
{
    guint lo = 0, hi = c->maps->len;

    while (lo < hi) {
        guint mid = (lo + hi) / 2;

        if (g_array_index(c->maps, T1Map, mid).last < iova) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* The mapping holding @iova, or NULL (vfio_find_dma(iommu, iova, 1)). */
static T1Map *find_map(const SimContainer *c, uint64_t iova)
{
    guint i = first_map(c, iova);
    T1Map *m = i < c->maps->len ? &g_array_index(c->maps, T1Map, i) : NULL;

    return m && m->iova <= iova ? m : NULL;
}

static bool range_cuts_a_map(const SimContainer *c, uint64_t iova, uint64_t last)
{
    T1Map *m = find_map(c, iova);

    if (m && m->iova != iova) {
        return true;
    }
    m = find_map(c, last);
    return m && m->last != last;
}

/* Remove every mapping: vfio_iommu_unmap_unpin_all(). */
static void unmap_all(SimContainer *c)
{
    c->dma_avail += c->maps->len;
    g_array_set_size(c->maps, 0);
}

/* vfio_iommu_type1_attach_group(): an existing mapping outside the IOVA
 * list a physical group brings is EINVAL. */
static int driver_attach(SimContainer *c, SimGroup *g)
{
    if (group_physical(g)) {
        for (guint i = 0; i < c->maps->len; i++) {
            T1Map *m = &g_array_index(c->maps, T1Map, i);

            if (m->last > SIM_IOVA_LAST || (m->iova <= SIM_MSI_LAST && m->last >= SIM_MSI_START)) {
                return refuse("type1 attach group", EINVAL,
                              "a mapping conflicts with the aperture or the MSI window");
            }
        }
    }
    return 0;
}

/* vfio_group_detach_container(): the driver's detach (a physical group
 * leaving while tracking marks every mapped page dirty, as the kernel's
 * vfio_iommu_populate_bitmap_full(): its DMA is not known), then the
 * driver's release with every mapping when it was the last group. */
static void group_detach(SimGroup *g)
{
    SimContainer *c = g->container;
    bool physical = group_physical(g);

    g_ptr_array_remove(c->groups, g);
    g->container = NULL;
    trace_vfi_sim_type1_group(g->id, "detached from its container", c->groups->len);
    if (c->iommu && c->tracking && physical) {
        for (guint i = 0; i < c->maps->len; i++) {
            T1Map *m = &g_array_index(c->maps, T1Map, i);

            bits_set(m->bitmap, 0, map_pages(m));
        }
    }
    if (c->iommu && !c->groups->len) {
        unmap_all(c);
        c->iommu = false;
        c->tracking = false;
        c->dma_avail = T1_DMA_ENTRY_LIMIT;
    }
    container_put(c);
}

/* The group's last holder went: vfio_group_fops_release(). */
static void group_release(SimGroup *g)
{
    if (g->container) {
        group_detach(g);
    }
    g->opened = false;
}

void sim_type1_device_close(SimDeviceFile *df)
{
    SimGroup *g = df->group;

    if (!g) {
        return;
    }
    if (--df->dev->group_opens == 0) {
        /* vfio_device_group_unuse_iommu(): the group file's reference goes */
        sim_device_logging_stop(df->dev);
        if (g->fd < 0 && group_open_devices(g) == 0) {
            group_release(g);
        }
    }
}

/* ---- open and close ------------------------------------------------------- */

int sim_type1_file_fd(const SimFile *f)
{
    return f->kind == SIM_FILE_CONTAINER ? f->container->fd : f->group->fd;
}

void sim_type1_renumber(SimFile *f, int fd)
{
    if (f->kind == SIM_FILE_CONTAINER) {
        f->container->fd = fd;
    } else {
        f->group->fd = fd;
    }
}

static int open_group(VfiSim *sim, unsigned id)
{
    g_autoptr(GPtrArray) devs = group_devices(sim, id);
    SimGroup *g;
    SimFile *f = NULL;
    int fd;

    if (!devs->len) {
        return -ENOENT;
    }
    for (guint i = 0; i < devs->len; i++) {
        if (((SimDevice *)g_ptr_array_index(devs, i))->bound) {
            return refuse("open of a group", EBUSY, "a device of the group is bound by its cdev");
        }
    }
    g = group_get(sim, id);
    if (g->opened) {
        return refuse("open of a group", EBUSY, "the group is open already");
    }
    fd = sim_file_new(sim, SIM_FILE_GROUP, &f);
    if (fd < 0) {
        return fd;
    }
    f->group = g;
    g->fd = fd;
    g->opened = true;
    return fd;
}

int sim_type1_open(VfiSim *sim, const char *path)
{
    SimFile *f = NULL;
    int fd;

    if (!g_str_equal(path, CONTAINER_PATH)) {
        fd = open_group(sim, (unsigned)strtoul(path + strlen(GROUP_PREFIX), NULL, 10));
    } else {
        fd = sim_file_new(sim, SIM_FILE_CONTAINER, &f);
        if (fd >= 0) {
            f->container = container_new(sim, fd);
        }
    }
    trace_vfi_sim_open(path, fd);
    return fd;
}

void sim_type1_close(VfiSim *sim, SimFile *f)
{
    (void)sim;
    if (f->kind == SIM_FILE_CONTAINER) {
        f->container->fd = -1;
        container_put(f->container);
        return;
    }
    f->group->fd = -1;
    if (group_open_devices(f->group) == 0) {
        group_release(f->group);
    }
}

void sim_type1_free(VfiSim *sim)
{
    g_clear_pointer(&sim->groups, g_hash_table_destroy);
}

/* ---- group ioctls --------------------------------------------------------- */

static int group_get_status(SimGroup *g, struct vfio_group_status *st)
{
    if (st->argsz < ARGSZ_END(struct vfio_group_status, flags)) {
        return refuse("VFIO_GROUP_GET_STATUS", EINVAL, "argsz");
    }
    /* every device of the model is bound to vfio-pci (or is an mdev): the
     * group's DMA owner is never claimed by a host driver, so it is viable */
    st->flags = VFIO_GROUP_FLAGS_VIABLE;
    if (g->container) {
        st->flags |= VFIO_GROUP_FLAGS_CONTAINER_SET;
    }
    return 0;
}

static int group_set_container(SimGroup *g, const int *arg)
{
    SimFile *f = sim_file_lookup(g->sim, *arg);
    SimContainer *c;
    int rc;

    if (!f) {
        return refuse("VFIO_GROUP_SET_CONTAINER", EBADF, "not an open fd");
    }
    if (g->container) {
        return refuse("VFIO_GROUP_SET_CONTAINER", EINVAL, "the group has a container");
    }
    if (f->kind == SIM_FILE_IOMMUFD) {
        trace_vfi_sim_ioctl_not_modelled(g->fd, "VFIO_GROUP_SET_CONTAINER(iommufd)", EOPNOTSUPP);
        return -EOPNOTSUPP;
    }
    if (f->kind != SIM_FILE_CONTAINER) {
        return refuse("VFIO_GROUP_SET_CONTAINER", EBADFD, "the fd is no container");
    }
    c = f->container;
    if (c->iommu) {
        rc = driver_attach(c, g);
        if (rc) {
            return rc;
        }
    }
    g_ptr_array_add(c->groups, g);
    g->container = c;
    c->refs++;
    trace_vfi_sim_type1_group(g->id, "set to a container", c->groups->len);
    return 0;
}

static int group_unset_container(SimGroup *g)
{
    if (!g->container) {
        return refuse("VFIO_GROUP_UNSET_CONTAINER", EINVAL, "no container");
    }
    if (group_open_devices(g)) {
        return refuse("VFIO_GROUP_UNSET_CONTAINER", EBUSY, "devices open through the group");
    }
    group_detach(g);
    return 0;
}

/* The device of @g named @name (its PCI address, an mdev's UUID). */
static SimDevice *group_find(SimGroup *g, const char *name)
{
    g_autoptr(GPtrArray) devs = group_devices(g->sim, g->id);

    for (guint i = 0; i < devs->len; i++) {
        SimDevice *d = g_ptr_array_index(devs, i);

        if (g_strcmp0(d->bdf ? d->bdf : d->uuid, name) == 0) {
            return d;
        }
    }
    return NULL;
}

static int group_get_device_fd(SimGroup *g, const char *name)
{
    SimDevice *dev = group_find(g, name);
    SimFile *f = NULL;
    int fd;

    if (!dev) {
        return refuse("VFIO_GROUP_GET_DEVICE_FD", ENODEV, "no such device in the group");
    }
    if (!g->container) {
        return refuse("VFIO_GROUP_GET_DEVICE_FD", EINVAL, "the group has no container");
    }
    if (!g->container->iommu) {
        return refuse("VFIO_GROUP_GET_DEVICE_FD", EINVAL, "VFIO_SET_IOMMU not done");
    }
    fd = sim_file_new(g->sim, SIM_FILE_DEVICE, &f);
    if (fd < 0) {
        return fd;
    }
    f->df = g_new0(SimDeviceFile, 1);
    f->df->sim = g->sim;
    f->df->fd = fd;
    f->df->dev = dev;
    f->df->group = g;
    dev->group_opens++;
    trace_vfi_sim_type1_device(dev->name, g->id, fd);
    return fd;
}

static int group_ioctl(SimGroup *g, unsigned long request, void *arg)
{
    if (!arg && request != VFIO_GROUP_UNSET_CONTAINER) {
        return -EFAULT;     /* copy_from_user(), get_user(), strndup_user() */
    }
    switch (request) {
    case VFIO_GROUP_GET_STATUS:
        return group_get_status(g, arg);
    case VFIO_GROUP_SET_CONTAINER:
        return group_set_container(g, arg);
    case VFIO_GROUP_UNSET_CONTAINER:
        return group_unset_container(g);
    case VFIO_GROUP_GET_DEVICE_FD:
        return group_get_device_fd(g, arg);
    default:
        trace_vfi_sim_ioctl_unknown(g->fd, request);
        return -ENOTTY;
    }
}

/* ---- container ioctls ---------------------------------------------------- */

static int check_extension(const SimContainer *c, unsigned long ext)
{
    switch (ext) {
    case VFIO_TYPE1_IOMMU:
    case VFIO_TYPE1v2_IOMMU:
    case VFIO_UNMAP_ALL:
        return 1;
    case VFIO_UPDATE_VADDR:
        /* no mdev in the container; VADDR itself is not modelled */
        return c->iommu && physical_groups(c) == c->groups->len;
    case VFIO_DMA_CC_IOMMU:
        return c->iommu && physical_groups(c) > 0;
    default:
        return 0;
    }
}

static int set_iommu(SimContainer *c, unsigned long type)
{
    int rc;

    if (!c->groups->len || c->iommu) {
        return refuse("VFIO_SET_IOMMU", EINVAL, "no group, or an IOMMU set already");
    }
    if (type != VFIO_TYPE1_IOMMU && type != VFIO_TYPE1v2_IOMMU) {
        /* VFIO_UNMAP_ALL passes the extension check, then open() refuses */
        return refuse("VFIO_SET_IOMMU", type == VFIO_UNMAP_ALL ? EINVAL : ENODEV,
                      "no driver of that type");
    }
    for (guint i = 0; i < c->groups->len; i++) {
        rc = driver_attach(c, g_ptr_array_index(c->groups, i));
        if (rc) {
            return rc;
        }
    }
    c->iommu = true;
    c->v2 = type == VFIO_TYPE1v2_IOMMU;
    trace_vfi_sim_type1_set_iommu(c->fd, c->v2 ? "type1v2" : "type1", c->groups->len);
    return 0;
}

/* ---- type1: info ----------------------------------------------------------- */

/* Append capability @cap of @size bytes (header first) at *@off of @buf
 * (when it fits in @room), linking the previous one to it. */
static void add_cap(uint8_t *buf, size_t room, size_t *off, size_t *prev, const void *cap,
                    size_t size)
{
    struct vfio_info_cap_header h;

    if (*prev && *off + size <= room) {
        memcpy(&h, buf + *prev, sizeof(h));
        h.next = (uint32_t)*off;
        memcpy(buf + *prev, &h, sizeof(h));
    }
    if (*off + size <= room) {
        memcpy(buf + *off, cap, size);
    }
    *prev = *off;
    *off += size;
}

static void build_caps(const SimContainer *c, uint8_t *buf, size_t room, size_t *off)
{
    struct vfio_iommu_type1_info_cap_migration mig = {
        .header = { .id = VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION, .version = 1 },
        .pgsize_bitmap = SIM_PAGE_SIZE,
        .max_dirty_bitmap_size = T1_BITMAP_SIZE_MAX,
    };
    struct vfio_iommu_type1_info_dma_avail avail = {
        .header = { .id = VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, .version = 1 },
        .avail = c->dma_avail,
    };
    uint8_t ranges[sizeof(struct vfio_iommu_type1_info_cap_iova_range) +
                   2 * sizeof(struct vfio_iova_range)] = { 0 };
    struct vfio_iommu_type1_info_cap_iova_range hdr = {
        .header = { .id = VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, .version = 1 },
    };
    uint64_t s[2], e[2];
    size_t prev = 0;

    add_cap(buf, room, off, &prev, &mig, sizeof(mig));
    add_cap(buf, room, off, &prev, &avail, sizeof(avail));
    hdr.nr_iovas = container_ranges(c, s, e);
    if (hdr.nr_iovas) {
        memcpy(ranges, &hdr, sizeof(hdr));
        for (unsigned i = 0; i < hdr.nr_iovas; i++) {
            struct vfio_iova_range r = { .start = s[i], .end = e[i] };

            memcpy(ranges + sizeof(hdr) + i * sizeof(r), &r, sizeof(r));
        }
        add_cap(buf, room, off, &prev, ranges,
                sizeof(hdr) + hdr.nr_iovas * sizeof(struct vfio_iova_range));
    }
}

static int t1_get_info(SimContainer *c, struct vfio_iommu_type1_info *info)
{
    size_t minsz = ARGSZ_END(struct vfio_iommu_type1_info, iova_pgsizes);
    size_t off = sizeof(*info);
    uint32_t argsz = info->argsz;
    bool fits;

    if (info->argsz < minsz) {
        return refuse("VFIO_IOMMU_GET_INFO", EINVAL, "argsz");
    }
    build_caps(c, NULL, 0, &off);       /* the size only */
    fits = info->argsz >= off;
    /* the migration capability is always there: CAPS always set */
    info->flags = VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS;
    info->iova_pgsizes = container_pgsizes(c);
    if (!fits) {
        info->argsz = (uint32_t)off;
    }
    if (argsz >= sizeof(*info)) {
        info->cap_offset = 0;
        info->pad = 0;
    }
    if (fits) {
        off = sizeof(*info);
        build_caps(c, (uint8_t *)info, argsz, &off);
        info->cap_offset = sizeof(*info);
    }
    return 0;
}

/* ---- type1: map and unmap --------------------------------------------------- */

static int t1_map(SimContainer *c, const struct vfio_iommu_type1_dma_map *map)
{
    const char *what = "VFIO_IOMMU_MAP_DMA";
    const uint32_t known = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE |
                           VFIO_DMA_MAP_FLAG_VADDR;
    uint64_t last, vlast;
    T1Map m = { 0 };
    guint at;

    if (map->argsz < ARGSZ_END(struct vfio_iommu_type1_dma_map, size) || (map->flags & ~known)) {
        return refuse(what, EINVAL, "argsz or flags");
    }
    if (!map->size) {
        return refuse(what, EINVAL, "size 0");
    }
    if (__builtin_add_overflow(map->iova, map->size - 1, &last) ||
        __builtin_add_overflow(map->vaddr, map->size - 1, &vlast)) {
        return refuse(what, EOVERFLOW, "iova or vaddr + size overflows");
    }
    if (map->flags & VFIO_DMA_MAP_FLAG_VADDR) {
        trace_vfi_sim_ioctl_not_modelled(c->fd, "VFIO_DMA_MAP_FLAG_VADDR", EOPNOTSUPP);
        return -EOPNOTSUPP;
    }
    if (!(map->flags & (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE))) {
        return refuse(what, EINVAL, "neither READ nor WRITE");
    }
    if ((map->size | map->iova | map->vaddr) & (SIM_PAGE_SIZE - 1)) {
        return refuse(what, EINVAL, "iova, vaddr or size not aligned to the IOMMU page");
    }
    at = first_map(c, map->iova);
    if (at < c->maps->len && g_array_index(c->maps, T1Map, at).iova <= last) {
        return refuse(what, EEXIST, "overlaps a mapping");
    }
    if (!c->dma_avail) {
        return refuse(what, ENOSPC, "dma_entry_limit reached");
    }
    if (!iova_valid(c, map->iova, last)) {
        return refuse(what, EINVAL, "outside the IOVA ranges");
    }
    m = (T1Map) { .iova = map->iova, .last = last, .vaddr = map->vaddr, .flags = map->flags };
    if (c->tracking) {
        m.bitmap = map_bitmap_new(&m);
    }
    g_array_insert_val(c->maps, at, m);
    c->dma_avail--;
    return 0;
}

/* update_user_bitmap() of vfio_iommu_type1.c, step by step, on the
 * mapping's own bitmap: every page set while a physical group is in the
 * container (it cannot tell what the device wrote); shifted left in place
 * to the mapping's bit in the user's word, the user's first word ORed in
 * whole; then DIRTY_BITMAP_BYTES(pages + shift) bytes written to the user
 * bitmap @data (bit 0: the page at @base). The shift leaves bits in the
 * mapping's bitmap the next report finds again: the kernel's do too. */
static void put_bits(const SimContainer *c, T1Map *m, uint64_t base, uint8_t *data)
{
    uint64_t first = (m->iova - base) / SIM_PAGE_SIZE, nbits = map_pages(m);
    uint64_t word0 = first / 64, shift = first % 64;
    uint64_t lim = (nbits + shift + 63) / 64;

    if (physical_groups(c) > 0) {
        bits_set(m->bitmap, 0, nbits);
    }
    if (shift) {
        uint64_t leftover;

        for (uint64_t k = lim; k-- > 0;) {
            m->bitmap[k] = (m->bitmap[k] << shift) |
                           (k ? m->bitmap[k - 1] >> (64 - shift) : 0);
        }
        memcpy(&leftover, data + word0 * 8, sizeof(leftover));
        m->bitmap[0] |= leftover;
    }
    memcpy(data + word0 * 8, m->bitmap, T1_BITMAP_BYTES(nbits + shift));
}

/* After a report: bitmap_clear(bitmap, 0, pages), and the pinned pages
 * back (none: the model's mdevs pin nothing). */
static void clear_bits(T1Map *m)
{
    uint64_t nbits = map_pages(m);

    for (uint64_t b = 0; b < nbits; b++) {
        m->bitmap[b / 64] &= ~(UINT64_C(1) << (b % 64));
    }
}

/* verify_bitmap_size() */
static bool bitmap_size_ok(uint64_t npages, uint64_t size)
{
    return npages && size && size <= T1_BITMAP_SIZE_MAX && size >= T1_BITMAP_BYTES(npages);
}

/* The checks of vfio_iommu_type1_unmap_dma() on the flags and the bitmap. */
static int unmap_check(const SimContainer *c, const struct vfio_iommu_type1_dma_unmap *u,
                       const struct vfio_bitmap *bm)
{
    const char *what = "VFIO_IOMMU_UNMAP_DMA";
    bool all = u->flags & VFIO_DMA_UNMAP_FLAG_ALL;
    uint64_t last = 0;

    if (u->iova & (SIM_PAGE_SIZE - 1)) {
        return refuse(what, EINVAL, "iova not aligned to the IOMMU page");
    }
    if (all && (u->iova || u->size)) {
        return refuse(what, EINVAL, "UNMAP_FLAG_ALL with an iova or size");
    }
    if (!all && (!u->size || (u->size & (SIM_PAGE_SIZE - 1)))) {
        return refuse(what, EINVAL, "size 0 or not aligned to the IOMMU page");
    }
    if (!all && __builtin_add_overflow(u->iova, u->size - 1, &last)) {
        return refuse(what, EOVERFLOW, "iova + size overflows");
    }
    if (bm && (!c->tracking || bm->pgsize != SIM_PAGE_SIZE)) {
        return refuse(what, EINVAL, "GET_DIRTY_BITMAP: not tracking, or not the IOMMU page");
    }
    if (c->v2 && !all && range_cuts_a_map(c, u->iova, last)) {
        return refuse(what, EINVAL, "the range cuts a mapping (type1v2)");
    }
    return 0;
}

static int t1_unmap(SimContainer *c, struct vfio_iommu_type1_dma_unmap *u)
{
    const char *what = "VFIO_IOMMU_UNMAP_DMA";
    const uint32_t known = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP | VFIO_DMA_UNMAP_FLAG_ALL |
                           VFIO_DMA_UNMAP_FLAG_VADDR;
    const size_t minsz = ARGSZ_END(struct vfio_iommu_type1_dma_unmap, size);
    bool with_bitmap = u->flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP;
    struct vfio_bitmap bm;
    uint64_t last, unmapped = 0;
    int rc;

    if (u->argsz < minsz || (u->flags & ~known)) {
        return refuse(what, EINVAL, "argsz or flags");
    }
    if (with_bitmap && (u->flags & (VFIO_DMA_UNMAP_FLAG_ALL | VFIO_DMA_UNMAP_FLAG_VADDR))) {
        return refuse(what, EINVAL, "GET_DIRTY_BITMAP with ALL or VADDR");
    }
    if (with_bitmap) {
        if (u->argsz < minsz + sizeof(bm)) {
            return refuse(what, EINVAL, "argsz without the vfio_bitmap");
        }
        memcpy(&bm, u->data, sizeof(bm));
        if (!bm.pgsize || !bitmap_size_ok(u->size / (bm.pgsize & -bm.pgsize), bm.size)) {
            return refuse(what, EINVAL, "bitmap size");
        }
        if (!bm.data) {
            return refuse(what, EINVAL, "bitmap data NULL (access_ok)");
        }
    }
    if (u->flags & VFIO_DMA_UNMAP_FLAG_VADDR) {
        trace_vfi_sim_ioctl_not_modelled(c->fd, "VFIO_DMA_UNMAP_FLAG_VADDR", EOPNOTSUPP);
        return -EOPNOTSUPP;
    }
    rc = unmap_check(c, u, with_bitmap ? &bm : NULL);
    if (rc) {
        u->size = 0;
        return rc;
    }
    last = (u->flags & VFIO_DMA_UNMAP_FLAG_ALL) ? UINT64_MAX : u->iova + u->size - 1;
    for (guint i = first_map(c, u->iova); i < c->maps->len;) {
        T1Map *m = &g_array_index(c->maps, T1Map, i);

        if (m->iova > last || (!c->v2 && u->iova > m->iova)) {
            break;
        }
        if (with_bitmap) {
            put_bits(c, m, u->iova, (uint8_t *)(uintptr_t)bm.data);
        }
        unmapped += m->last - m->iova + 1;
        g_array_remove_index(c->maps, i);
        c->dma_avail++;
    }
    u->size = unmapped;
    return 0;
}

/* ---- type1: dirty pages ----------------------------------------------------- */

static int dirty_get(SimContainer *c, const struct vfio_iommu_type1_dirty_bitmap *d)
{
    const char *what = "VFIO_IOMMU_DIRTY_PAGES(GET_BITMAP)";
    struct vfio_iommu_type1_dirty_bitmap_get r;
    uint64_t last = 0;

    if (d->argsz < sizeof(*d) + sizeof(r)) {
        return refuse(what, EINVAL, "argsz without the range");
    }
    memcpy(&r, d->data, sizeof(r));
    if (!r.size) {
        return refuse(what, EINVAL, "size 0");
    }
    if (__builtin_add_overflow(r.iova, r.size - 1, &last)) {
        return refuse(what, EOVERFLOW, "iova + size overflows");
    }
    if (!r.bitmap.data || !r.bitmap.pgsize ||
        !bitmap_size_ok(r.size / (r.bitmap.pgsize & -r.bitmap.pgsize), r.bitmap.size)) {
        return refuse(what, EINVAL, "bitmap data or size");
    }
    if (r.bitmap.pgsize != SIM_PAGE_SIZE || ((r.iova | r.size) & (SIM_PAGE_SIZE - 1))) {
        return refuse(what, EINVAL, "not the smallest IOMMU page, or a range not aligned to it");
    }
    if (!c->tracking) {
        return refuse(what, EINVAL, "dirty tracking not started");
    }
    if (range_cuts_a_map(c, r.iova, last)) {
        return refuse(what, EINVAL, "the range cuts a mapping");
    }
    for (guint i = first_map(c, r.iova); i < c->maps->len; i++) {
        T1Map *m = &g_array_index(c->maps, T1Map, i);

        if (m->iova > last) {
            break;
        }
        put_bits(c, m, r.iova, (uint8_t *)(uintptr_t)r.bitmap.data);
        clear_bits(m);
    }
    trace_vfi_sim_type1_dirty(c->fd, "get bitmap", r.iova, r.size);
    return 0;
}

static int t1_dirty(SimContainer *c, const struct vfio_iommu_type1_dirty_bitmap *d)
{
    const uint32_t known = VFIO_IOMMU_DIRTY_PAGES_FLAG_START | VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP |
                           VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;

    if (!c->v2) {
        return refuse("VFIO_IOMMU_DIRTY_PAGES", EACCES, "type1 v1");
    }
    if (d->argsz < ARGSZ_END(struct vfio_iommu_type1_dirty_bitmap, flags) ||
        (d->flags & ~known) || !d->flags || (d->flags & (d->flags - 1))) {
        return refuse("VFIO_IOMMU_DIRTY_PAGES", EINVAL, "argsz, or not one known flag");
    }
    if (d->flags == VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP) {
        return dirty_get(c, d);
    }
    if (d->flags == VFIO_IOMMU_DIRTY_PAGES_FLAG_START && !c->tracking) {
        for (guint i = 0; i < c->maps->len; i++) {
            T1Map *m = &g_array_index(c->maps, T1Map, i);

            m->bitmap = map_bitmap_new(m);
        }
        c->tracking = true;
        trace_vfi_sim_type1_dirty(c->fd, "start", 0, 0);
    } else if (d->flags == VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP && c->tracking) {
        for (guint i = 0; i < c->maps->len; i++) {
            g_clear_pointer(&g_array_index(c->maps, T1Map, i).bitmap, g_free);
        }
        c->tracking = false;
        trace_vfi_sim_type1_dirty(c->fd, "stop", 0, 0);
    }
    return 0;
}

static int container_ioctl(SimContainer *c, unsigned long request, void *arg)
{
    switch (request) {
    case VFIO_GET_API_VERSION:
        return VFIO_API_VERSION;
    case VFIO_CHECK_EXTENSION:
        return check_extension(c, (unsigned long)(uintptr_t)arg);
    case VFIO_SET_IOMMU:
        return set_iommu(c, (unsigned long)(uintptr_t)arg);
    default:
        break;
    }
    if (!c->iommu) {
        return refuse("container ioctl", EINVAL, "no IOMMU set (VFIO_SET_IOMMU)");
    }
    if (!arg && (request == VFIO_IOMMU_GET_INFO || request == VFIO_IOMMU_MAP_DMA ||
                 request == VFIO_IOMMU_UNMAP_DMA || request == VFIO_IOMMU_DIRTY_PAGES)) {
        return -EFAULT;
    }
    switch (request) {
    case VFIO_IOMMU_GET_INFO:
        return t1_get_info(c, arg);
    case VFIO_IOMMU_MAP_DMA:
        return t1_map(c, arg);
    case VFIO_IOMMU_UNMAP_DMA:
        return t1_unmap(c, arg);
    case VFIO_IOMMU_DIRTY_PAGES:
        return t1_dirty(c, arg);
    default:
        trace_vfi_sim_ioctl_unknown(c->fd, request);
        return -ENOTTY;
    }
}

int sim_type1_ioctl(SimFile *f, unsigned long request, void *arg)
{
    if (f->kind == SIM_FILE_CONTAINER) {
        return container_ioctl(f->container, request, arg);
    }
    return group_ioctl(f->group, request, arg);
}

bool sim_type1_arg_size(unsigned long request, const void *arg, size_t *size)
{
    switch (request) {
    case VFIO_GET_API_VERSION:
    case VFIO_CHECK_EXTENSION:
    case VFIO_SET_IOMMU:
    case VFIO_GROUP_UNSET_CONTAINER:
        *size = 0;
        return true;
    case VFIO_GROUP_SET_CONTAINER:
        *size = arg ? sizeof(int) : 0;
        return true;
    case VFIO_GROUP_GET_DEVICE_FD:
        *size = arg ? strnlen(arg, 255) + 1 : 0;
        return true;
    default:
        return false;
    }
}

VfiSimOp sim_type1_classify(unsigned long request)
{
    switch (request) {
    case VFIO_GET_API_VERSION:
    case VFIO_CHECK_EXTENSION:
    case VFIO_SET_IOMMU:
        return VFI_SIM_OP_CONTAINER;
    case VFIO_GROUP_GET_STATUS:
    case VFIO_GROUP_SET_CONTAINER:
    case VFIO_GROUP_UNSET_CONTAINER:
    case VFIO_GROUP_GET_DEVICE_FD:
        return VFI_SIM_OP_GROUP;
    case VFIO_IOMMU_GET_INFO:
        return VFI_SIM_OP_TYPE1_GET_INFO;
    case VFIO_IOMMU_MAP_DMA:
        return VFI_SIM_OP_TYPE1_MAP;
    case VFIO_IOMMU_UNMAP_DMA:
        return VFI_SIM_OP_TYPE1_UNMAP;
    case VFIO_IOMMU_DIRTY_PAGES:
        return VFI_SIM_OP_TYPE1_DIRTY_PAGES;
    default:
        return VFI_SIM_OP_OTHER;
    }
}

/* ---- simulated DMA ------------------------------------------------------------ */

int sim_type1_dma_write(VfiSim *sim, SimDevice *dev, uint64_t iova, uint64_t len,
                        GError **errp)
{
    SimGroup *g = sim->groups ?
        g_hash_table_lookup(sim->groups, GUINT_TO_POINTER(dev->iommu_group)) : NULL;
    SimContainer *c = g ? g->container : NULL;
    uint64_t last = iova + len - 1, at = iova;

    if (!c || !c->iommu) {
        return -1;
    }
    while (at <= last) {
        T1Map *m = find_map(c, at);

        if (!m || !(m->flags & VFIO_DMA_MAP_FLAG_WRITE)) {
            trace_vfi_sim_dma_fault(dev->name, iova, len);
            g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                        "DMA write of device %s to 0x%" G_GINT64_MODIFIER "x+0x%"
                        G_GINT64_MODIFIER "x: IOMMU fault (not mapped writeable in the "
                        "type1 container of group %u)", dev->name, iova, len, g->id);
            return 0;
        }
        if (m->bitmap && !dev->iommu) {
            /* vfio_dma_rw() of an mdev marks what it writes */
            uint64_t end = MIN(last, m->last);

            bits_set(m->bitmap, (at - m->iova) / SIM_PAGE_SIZE,
                     end / SIM_PAGE_SIZE - at / SIM_PAGE_SIZE + 1);
        }
        if (m->last >= last) {
            break;
        }
        at = m->last + 1;
    }
    trace_vfi_sim_dma_write(dev->name, iova, len, false, dev->logging);
    return 1;
}

/* ---- controls ------------------------------------------------------------------- */

unsigned vfi_sim_type1_live(const VfiSim *sim)
{
    SIM_LOCKED(sim);
    unsigned n = sim->type1_containers;
    GHashTableIter it;
    gpointer value;

    if (sim->groups) {
        g_hash_table_iter_init(&it, sim->groups);
        while (g_hash_table_iter_next(&it, NULL, &value)) {
            n += ((SimGroup *)value)->container != NULL;
        }
    }
    return n;
}

int vfi_sim_type1_mapping_count(const VfiSim *sim, int container_fd)
{
    SIM_LOCKED(sim);
    SimFile *f = sim_file_lookup((VfiSim *)sim, container_fd);

    return f && f->kind == SIM_FILE_CONTAINER ? (int)f->container->maps->len : -1;
}

bool vfi_sim_set_device_iommu_group(VfiSim *sim, const char *name, unsigned group,
                                    GError **errp)
{
    SIM_LOCKED(sim);
    SimDevice *dev = sim_find_device(sim, name);
    g_autoptr(GPtrArray) peers = NULL;
    unsigned old;

    if (!dev || !dev->iommu) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "%s is no PCI device of the model", name ? name : "(null)");
        return false;
    }
    if (dev->bound || dev->group_opens || group_opened(sim, dev->iommu_group)) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "device %s is open: its IOMMU group cannot change", name);
        return false;
    }
    peers = group_devices(sim, group);
    for (guint i = 0; i < peers->len; i++) {
        SimDevice *p = g_ptr_array_index(peers, i);

        if (p != dev && p->iommu != dev->iommu) {
            g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                        "device %s: IOMMU group %u holds %s, behind another IOMMU (%s)",
                        name, group, p->name, p->iommu ? p->iommu->name : "an mdev");
            return false;
        }
    }
    old = dev->iommu_group;
    dev->iommu_group = group;
    if (old != group && !sim_sysfs_move_group(sim->sysfs_root, dev, old, errp)) {
        dev->iommu_group = old;
        return false;
    }
    trace_vfi_sim_type1_group(group, "has a new device", peers->len + 1);
    return true;
}
