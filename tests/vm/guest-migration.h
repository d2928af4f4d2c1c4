/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The guest program's scenarios of one area: what a migration needs (issue
 * 10): labels, mapping queries, logged ranges. Part of tests/vm/guest-
 * tests.c, included by it at this place (not a header of its own): it uses
 * the TAP runner, Ctx and the helpers defined there before it, and the boot
 * tables there list its scenarios in their order.
 */
#ifndef VFI_GUEST_MIGRATION_H
#define VFI_GUEST_MIGRATION_H

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
    VfiAttachOptions edu_opts = VFI_ATTACH_OPTIONS_INIT(.label = "edu-a");
    VfiAttachOptions mdev_opts =
        VFI_ATTACH_OPTIONS_INIT(.label = "tty-a", .prefer_device_dirty_logging = true);
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

#endif /* VFI_GUEST_MIGRATION_H */
