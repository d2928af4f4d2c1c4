/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The guest program's scenarios of one area: peer-to-peer DMA through a dma-
 * buf (VFIO_DEVICE_FEATURE_DMA_BUF, 6.19). Part of tests/vm/guest-tests.c,
 * included by it at this place (not a header of its own): it uses the TAP
 * runner, Ctx and the helpers defined there before it, and the boot tables
 * there list its scenarios in their order.
 */
#ifndef VFI_GUEST_DMA_BUF_H
#define VFI_GUEST_DMA_BUF_H

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

#endif /* VFI_GUEST_DMA_BUF_H */
