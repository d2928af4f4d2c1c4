/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The guest program's scenarios of one area: mappings by file
 * (IOMMU_IOAS_MAP_FILE, 6.13). Part of tests/vm/guest-tests.c, included by
 * it at this place (not a header of its own): it uses the TAP runner, Ctx
 * and the helpers defined there before it, and the boot tables there list
 * its scenarios in their order.
 */
#ifndef VFI_GUEST_MAP_FILE_H
#define VFI_GUEST_MAP_FILE_H

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

#endif /* VFI_GUEST_MAP_FILE_H */
