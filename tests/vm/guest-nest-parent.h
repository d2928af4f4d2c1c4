/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The guest program's scenarios of one area: nest parents (docs/nesting.md,
 * "Nest-parent placement"). Part of tests/vm/guest-tests.c, included by it
 * at this place (not a header of its own): it uses the TAP runner, Ctx and
 * the helpers defined there before it, and the boot tables there list its
 * scenarios in their order.
 */
#ifndef VFI_GUEST_NEST_PARENT_H
#define VFI_GUEST_NEST_PARENT_H

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

#endif /* VFI_GUEST_NEST_PARENT_H */
