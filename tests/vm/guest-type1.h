/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The guest program's scenarios of one area: the legacy VFIO group + type1
 * container, and the README's flow on the type1 backend. Part of
 * tests/vm/guest-tests.c, included by it at this place (not a header of its
 * own): it uses the TAP runner, Ctx and the helpers defined there before it,
 * and the boot tables there list its scenarios in their order.
 */
#ifndef VFI_GUEST_TYPE1_H
#define VFI_GUEST_TYPE1_H

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

#endif /* VFI_GUEST_TYPE1_H */
