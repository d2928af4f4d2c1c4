/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The guest program's scenarios of one area: devices: sysfs, cdev, bind,
 * device and hw info, hot reset, mdev. Part of tests/vm/guest-tests.c,
 * included by it at this place (not a header of its own): it uses the TAP
 * runner, Ctx and the helpers defined there before it, and the boot tables
 * there list its scenarios in their order.
 */
#ifndef VFI_GUEST_DEVICES_H
#define VFI_GUEST_DEVICES_H

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

#endif /* VFI_GUEST_DEVICES_H */
