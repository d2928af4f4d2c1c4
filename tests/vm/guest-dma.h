/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The guest program's scenarios of one area: real DMA with the edu device.
 * Part of tests/vm/guest-tests.c, included by it at this place (not a header
 * of its own): it uses the TAP runner, Ctx and the helpers defined there
 * before it, and the boot tables there list its scenarios in their order.
 */
#ifndef VFI_GUEST_DMA_H
#define VFI_GUEST_DMA_H

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

/* t_dma_blocked_after_unmap on the model: the device's write to the
 * unmapped IOVA refused, then taken once @buf is mapped there. */
static TResult dma_blocked_sim(Ctx *c, int i, uint8_t *buf)
{
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

/* t_dma_blocked_after_unmap on an edu: its DMA to the unmapped IOVA reaches
 * no memory of ours; once @buf is mapped there, the same DMA lands. */
static TResult dma_blocked_edu(Ctx *c, Edu *e, uint8_t *buf)
{
    TResult r = T_PASS;
    unsigned k;

    /* edu -> RAM at the unmapped IOVA: must not reach any memory we own. */
    if (!edu_dma(e, EDU_BUF, DMA_IOVA + 4096, 4096, true)) {
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
        } else if (!edu_dma(e, EDU_BUF, DMA_IOVA + 4096, 4096, true)) {
            r = set_why(c, T_FAIL, "DMA edu -> RAM timed out");
        } else if (buf[0] != 3 || buf[1] != 10) {
            r = set_why(c, T_FAIL, "remapped DMA did not land (0x%02x 0x%02x)", buf[0], buf[1]);
        } else if (!vfi_address_space_dma_unmap(c->as, DMA_IOVA + 4096, 4096, 0, &err)) {
            r = set_why(c, T_FAIL, "unmap: %s", err->message);
        }
    }
    return r;
}

static TResult t_dma_blocked_after_unmap(Ctx *c)
{
    int i = edu_index(c);
    g_autoptr(GString) why = g_string_new(NULL);
    Edu e = { 0 };
    uint8_t *buf;
    TResult r;

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
        return dma_blocked_sim(c, i, buf);
    }
    if (!edu_open(&e, c->pci[i], why)) {
        FAIL("%s", why->str);
    }
    r = dma_blocked_edu(c, &e, buf);
    edu_close(&e);
    if (r == T_PASS) {
        /* The same mapping after the device left: attached to nothing. */
        OK(vfi_address_space_detach_device(c->as, c->pci[i], errp));
        CHECK(vfi_address_space_container_count(c->as) == 0, "container left");
    }
    return r;
}

#endif /* VFI_GUEST_DMA_H */
