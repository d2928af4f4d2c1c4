/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The guest program's scenarios of one area: the backend: connect, IOAS,
 * IOVA ranges, map and unmap. Part of tests/vm/guest-tests.c, included by it
 * at this place (not a header of its own): it uses the TAP runner, Ctx and
 * the helpers defined there before it, and the boot tables there list its
 * scenarios in their order.
 */
#ifndef VFI_GUEST_BACKEND_H
#define VFI_GUEST_BACKEND_H

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

#endif /* VFI_GUEST_BACKEND_H */
