/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The guest program's scenarios of one area: containers: shared HWPTs, the
 * mdev, IOVA ranges, unplug and replug. Part of tests/vm/guest-tests.c,
 * included by it at this place (not a header of its own): it uses the TAP
 * runner, Ctx and the helpers defined there before it, and the boot tables
 * there list its scenarios in their order.
 */
#ifndef VFI_GUEST_CONTAINERS_H
#define VFI_GUEST_CONTAINERS_H

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

#endif /* VFI_GUEST_CONTAINERS_H */
