/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The guest program's scenarios of one area: the mock IOMMU (IOMMUFD_TEST,
 * boot 2): dirty tracking. Part of tests/vm/guest-tests.c, included by it at
 * this place (not a header of its own): it uses the TAP runner, Ctx and the
 * helpers defined there before it, and the boot tables there list its
 * scenarios in their order.
 */
#ifndef VFI_GUEST_MOCK_DIRTY_H
#define VFI_GUEST_MOCK_DIRTY_H

#define MOCK_IOVA   0x2000000ull   /* inside MOCK_APERTURE_START..LAST */
#define MOCK_PAGES  128u           /* 4 KiB pages mapped */
#define PG          4096u
#define MOCK_PG     2048u          /* the mock's IO page: PAGE_SIZE / 2 */
#define DIV_ROUND_UP_U(n, d) (((n) + (d) - 1) / (d))

static int test_cmd(Ctx *c, struct iommu_test_cmd *cmd)
{
    cmd->size = sizeof(*cmd);
    return ioctl(c->fd, IOMMU_TEST_CMD, cmd) < 0 ? -errno : 0;
}

static int mock_domain(Ctx *c, uint32_t pt, uint32_t dev_flags, uint32_t *stdev,
                       uint32_t *hwpt, uint32_t *idev)
{
    struct iommu_test_cmd cmd = {
        .op = dev_flags ? IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS : IOMMU_TEST_OP_MOCK_DOMAIN,
        .id = pt,
        .mock_domain_flags.dev_flags = dev_flags,
    };
    int ret = test_cmd(c, &cmd);

    if (ret == 0) {
        *stdev = cmd.mock_domain.out_stdev_id;
        if (hwpt) {
            *hwpt = cmd.mock_domain.out_hwpt_id;
        }
        if (idev) {
            *idev = cmd.mock_domain.out_idev_id;
        }
    }
    return ret;
}


static unsigned popcount_words(const uint64_t *w, unsigned n)
{
    unsigned i, s = 0;

    for (i = 0; i < n; i++) {
        s += __builtin_popcountll(w[i]);
    }
    return s;
}

static bool bit_of(const uint64_t *w, unsigned i)
{
    return w[i / 64] & (1ull << (i % 64));
}

/* The two patterns (pages of MOCK_IOVA). */
static const uint64_t PAT_A[MOCK_PAGES / 64] = { 0x80000001000000a3ull, 0x0000000000000181ull };
static const uint64_t PAT_B[MOCK_PAGES / 64] = { 0x0000000100000f00ull, 0x8000000000000001ull };
static const uint64_t PAT_AB[MOCK_PAGES / 64] = { 0x80000001000000a3ull | 0x0000000100000f00ull,
                                                  0x0000000000000181ull | 0x8000000000000001ull };

/*
 * The IOPTEs of a mapping, as its dirty bits show them, and a model of what
 * a read reports. How kernels record a marked IOVA differs
 * (docs/dirty-tracking.md, "Granularity"): 6.12's mock keeps one dirty bit
 * per 2 KiB IO page (an xarray entry each, MOCK_IO_PAGE_SIZE); the mock on
 * the generic page table (7.3: AMD v1 format with a 2 KiB granule) sets the
 * dirty bit of the IOPTE holding the IOVA and reports and clears whole
 * IOPTEs, as real IOMMU drivers do. Its IOPTEs are the largest pages the
 * IOVA, the physical address and the length of each physically contiguous
 * run allow: at least the 4 KiB CPU page for a page-aligned mapping, more
 * where the pinned pages happen to be contiguous. So the test learns them
 * (mock_probe_layout()) and predicts each read with model_read().
 */
#define MOCK_UNITS (MOCK_PAGES * 2)   /* 2 KiB pages ("units") of the main mapping */
#define UNIT_WORDS (MOCK_UNITS / 64)
G_STATIC_ASSERT(sizeof(((Ctx *)0)->mock_marked[0]) == UNIT_WORDS * sizeof(uint64_t));

typedef struct MockLayout {
    unsigned units;                /* 2 KiB pages of the mapping */
    uint16_t first[MOCK_UNITS];    /* per 2 KiB page: the first of its IOPTE */
    uint16_t count[MOCK_UNITS];    /* and the IOPTE's 2 KiB pages */
} MockLayout;

/* One IOPTE per 2 KiB page: what 6.12 reports, and the start value. */
static void layout_exact(MockLayout *lay, unsigned units)
{
    unsigned k;

    lay->units = units;
    for (k = 0; k < units; k++) {
        lay->first[k] = k;
        lay->count[k] = 1;
    }
}

/* Is every IOPTE of @lay one 2 KiB page? */
static bool layout_is_exact(const MockLayout *lay)
{
    unsigned k;

    for (k = 0; k < lay->units; k++) {
        if (lay->count[k] != 1) {
            return false;
        }
    }
    return true;
}

/* Any bit of [@from, @to) set in @w? */
static bool any_bit(const uint64_t *w, unsigned from, unsigned to)
{
    unsigned k;

    for (k = from; k < to; k++) {
        if (bit_of(w, k)) {
            return true;
        }
    }
    return false;
}

/*
 * What the kernel does reading @n units from unit @u0 of a mapping with
 * IOPTEs @lay at log pages of @k units, @marked being its marked units:
 * every IOPTE overlapping the range that holds a marked unit sets the bits
 * of the log pages it covers, counted from the range's start (bit b: units
 * u0 + b * k ...) and also past the range's end, up to the IOPTE's; one
 * starting before @u0 sets none (iova_bitmap_set() drops an IOVA below the
 * bitmap's). A clearing read (@clear) makes every overlapping IOPTE clean,
 * reported or not. @out gets @max bits (zeroed first). On a layout of 2 KiB
 * IOPTEs (6.12) this is exactly: the marked units of the range.
 */
static void model_read(const MockLayout *lay, uint64_t *marked, unsigned u0, unsigned n,
                       unsigned k, bool clear, uint64_t *out, unsigned max)
{
    unsigned u = u0, f, e, j;

    memset(out, 0, DIV_ROUND_UP_U(max, 64) * sizeof(uint64_t));
    while (u < u0 + n && u < lay->units) {
        f = lay->first[u];
        e = f + lay->count[u];
        if (any_bit(marked, f, e)) {
            for (j = f; j < e && f >= u0; j++) {
                if ((j - u0) / k < max) {
                    out[(j - u0) / k / 64] |= 1ull << ((j - u0) / k % 64);
                }
            }
            for (j = f; j < e && clear; j++) {
                marked[j / 64] &= ~(1ull << (j % 64));
            }
        }
        u = e;
    }
}

/* The units mock_mark() marks for the 4 KiB pages @pages (@npages of them):
 * odd pages their upper half, even pages their lower half. */
static void units_of_pages(const uint64_t *pages, unsigned npages, uint64_t *units)
{
    unsigned i, half;

    memset(units, 0, UNIT_WORDS * sizeof(uint64_t));
    for (i = 0; pages && i < npages; i++) {
        if (bit_of(pages, i)) {
            half = 2 * i + (i & 1);
            units[half / 64] |= 1ull << (half % 64);
        }
    }
}

/* The model's marked units of @hwpt in the main mapping (NULL: not a
 * dirty HWPT of the test). */
static uint64_t *marked_of(Ctx *c, uint32_t hwpt)
{
    return hwpt == c->hwpt_a ? c->mock_marked[0] : hwpt == c->hwpt_b ? c->mock_marked[1] : NULL;
}

#define LOG_WORDS 8                  /* the test logs: 512 pages */

/* The test logs: in one page, so that bits the kernel sets past a range
 * (an IOPTE ending after it) stay inside the log (it writes up to the end
 * of the bitmap's last page). */
static uint64_t test_log[512] __attribute__((aligned(4096)));

/* The log bits @rd's HWPTs report reading @len bytes from @off of MOCK_IOVA
 * at @page_size, ORed into @exp from bit @log_bit on (past the range too
 * when the reader hands the kernel the log itself, the zero-copy path of a
 * byte-aligned @log_bit; its scratch path keeps the range's bits only). A
 * clearing read clears the model. */
static void expect_read(Ctx *c, VfiDirtyReader *rd, uint64_t off, uint64_t len,
                        uint64_t page_size, uint32_t flags, unsigned log_bit, uint64_t *exp)
{
    unsigned k = page_size / MOCK_PG, n = len / page_size, max, b, i;
    uint32_t hwpts[2] = { rd != c->rd_b ? c->hwpt_a : 0, rd != c->rd_a ? c->hwpt_b : 0 };
    uint64_t got[LOG_WORDS + 1];

    max = log_bit % 8 == 0 ? LOG_WORDS * 64 - log_bit : n;
    for (i = 0; i < 2; i++) {
        if (!hwpts[i]) {
            continue;
        }
        model_read(c->lay, marked_of(c, hwpts[i]), off / MOCK_PG, n * k, k,
                   !(flags & VFI_DIRTY_QUERY_NO_CLEAR), got, max);
        for (b = 0; b < max; b++) {
            if (bit_of(got, b)) {
                exp[(log_bit + b) / 64] |= 1ull << ((log_bit + b) % 64);
            }
        }
    }
}

/* A sentinel for check_read()'s @pages: no 6.12-view expectation given. */
static const uint64_t MODEL_ONLY[UNIT_WORDS];

/*
 * Read [@off, @off + @len) of MOCK_IOVA with page size @page_size through the
 * dirty reader @rd (c->rd_a, rd_b or rd_ab) into a VMM-style log whose bit
 * @log_bit is the range's first page (the log's base moved accordingly),
 * prefilled with @fill in every word. Every bit of the log must be its fill
 * bit ORed with what the model predicts for the reader's HWPTs
 * (expect_read()). @pages: the 4 KiB pages the test expects marked and not
 * yet cleared in those HWPTs, as on 6.12 (checked against the model when
 * the IOPTEs are 2 KiB pages; MODEL_ONLY: none given). The reader's stats
 * must show the zero-copy path for a byte-aligned @log_bit and the scratch
 * path otherwise, one read per HWPT.
 */
static TResult check_read(Ctx *c, VfiDirtyReader *rd, uint64_t off, uint64_t len,
                          uint64_t page_size, uint32_t flags, const uint64_t *pages,
                          unsigned log_bit, uint64_t fill, const char *what)
{
    uint64_t *bm = test_log, exp[LOG_WORDS], units[UNIT_WORDS], both[UNIT_WORDS];
    VfiDirtyLog log = {
        .base_iova = MOCK_IOVA + off - (uint64_t)log_bit * page_size,
        .page_size = page_size,
        .bitmap = bm,
        .nr_pages = LOG_WORDS * 64,
    };
    uint64_t n = len / page_size, srcs, b;
    VfiDirtyStats st0, st1;

    CHECK(log_bit + n <= LOG_WORDS * 64, "%s: window too large for the test log", what);
    if (pages != MODEL_ONLY && layout_is_exact(c->lay)) {
        units_of_pages(pages, MOCK_PAGES, units);
        for (b = 0; b < UNIT_WORDS; b++) {
            both[b] = (rd != c->rd_b ? c->mock_marked[0][b] : 0) |
                      (rd != c->rd_a ? c->mock_marked[1][b] : 0);
        }
        CHECK(!memcmp(units, both, sizeof(units)), "%s: the test's model differs from the "
              "pages it expects marked", what);
    }
    for (b = 0; b < LOG_WORDS; b++) {
        bm[b] = exp[b] = fill;
    }
    srcs = vfi_dirty_reader_hwpt_count(rd);
    vfi_dirty_reader_get_stats(rd, &st0);
    OK(vfi_dirty_reader_query(rd, MOCK_IOVA + off, len, &log, flags, errp));
    vfi_dirty_reader_get_stats(rd, &st1);
    expect_read(c, rd, off, len, page_size, flags, log_bit, exp);
    for (b = 0; b < LOG_WORDS * 64; b++) {
        CHECK(bit_of(bm, b) == bit_of(exp, b), "%s: log bit %" PRIu64 " is %d, want %d (range "
              "bits %u..%" PRIu64 ", words %016" PRIx64 " %016" PRIx64 " %016" PRIx64 " %016"
              PRIx64 ")", what, b, bit_of(bm, b), bit_of(exp, b), log_bit, log_bit + n - 1,
              bm[0], bm[1], bm[2], bm[3]);
    }
    if (log_bit % 8 == 0) {
        CHECK(st1.zero_copy_reads - st0.zero_copy_reads == srcs &&
              st1.scratch_reads == st0.scratch_reads,
              "%s: expected %" PRIu64 " zero-copy reads, got %" PRIu64 " (+%" PRIu64
              " scratch)", what, srcs, st1.zero_copy_reads - st0.zero_copy_reads,
              st1.scratch_reads - st0.scratch_reads);
    } else {
        CHECK(st1.scratch_reads - st0.scratch_reads == srcs &&
              st1.zero_copy_reads == st0.zero_copy_reads,
              "%s: expected %" PRIu64 " scratch reads, got %" PRIu64 " (+%" PRIu64
              " zero-copy)", what, srcs, st1.scratch_reads - st0.scratch_reads,
              st1.zero_copy_reads - st0.zero_copy_reads);
    }
    return T_PASS;
}

/* Mark the 4 KiB pages whose bits are set in @pages (bit i: page i of
 * @iova, @npages of them) dirty in @hwpt; the mock works in 2 KiB pages: odd
 * pages get their upper half marked, even pages their lower half. Marks in
 * the main mapping go into the test's model too. */
static int mock_mark_at(Ctx *c, uint32_t hwpt, uint64_t iova, unsigned npages,
                        const uint64_t *pages, uint64_t *nr)
{
    uint64_t units[UNIT_WORDS];
    struct iommu_test_cmd cmd = {
        .op = IOMMU_TEST_OP_DIRTY,
        .id = hwpt,
        .dirty = {
            .iova = iova,
            .length = (uint64_t)npages * PG,
            .page_size = MOCK_PG,
            .uptr = (uintptr_t)units,
        },
    };
    uint64_t *marked = iova == MOCK_IOVA ? marked_of(c, hwpt) : NULL;
    unsigned i;
    int ret;

    g_assert(npages <= MOCK_PAGES);
    units_of_pages(pages, npages, units);
    ret = test_cmd(c, &cmd);
    *nr = cmd.dirty.out_nr_dirty;
    for (i = 0; ret == 0 && marked && i < UNIT_WORDS; i++) {
        marked[i] |= units[i];
    }
    return ret;
}

static int mock_mark(Ctx *c, uint32_t hwpt, const uint64_t *pages, uint64_t *nr)
{
    return mock_mark_at(c, hwpt, MOCK_IOVA, MOCK_PAGES, pages, nr);
}

#define CHECK_READ(...) do {                                               \
        TResult r_ = check_read(c, __VA_ARGS__);                           \
        if (r_ != T_PASS) {                                                \
            return r_;                                                     \
        }                                                                  \
    } while (0)

/* A helper returning a TResult: return it unless it passed. */
#define CHECK_RESULT(call) do {                                            \
        TResult r_ = (call);                                               \
        if (r_ != T_PASS) {                                                \
            return r_;                                                     \
        }                                                                  \
    } while (0)

/* Shorthands: the whole mapping in 4 KiB pages at log bit 0, nothing preset. */
#define ALL         0, (uint64_t)MOCK_PAGES * PG, PG
#define NC          VFI_DIRTY_QUERY_NO_CLEAR

static TResult t_mock_setup(Ctx *c)
{
    int ret;

    c->be = vfi_iommufd_new();
    OK(vfi_iommufd_connect(c->be, errp));
    c->fd = vfi_iommufd_get_fd(c->be);
    OK(vfi_iommufd_ioas_alloc(c->be, &c->mock_ioas, errp));
    ret = mock_domain(c, c->mock_ioas, 0, &c->stdev, &c->auto_hwpt, &c->idev);
    if (ret == -ENOTTY) {
        return c->strict ? set_why(c, T_FAIL, "IOMMU_TEST_CMD: ENOTTY (no CONFIG_IOMMUFD_TEST)")
                         : set_why(c, T_SKIP, "kernel without CONFIG_IOMMUFD_TEST");
    }
    CHECK(ret == 0, "IOMMU_TEST_OP_MOCK_DOMAIN: %s", g_strerror(-ret));
    note(c, "mock device: stdev %u idev %u auto hwpt %u", c->stdev, c->idev, c->auto_hwpt);
    return T_PASS;
}

#define NEED_MOCK() do {                                                   \
        if (!c->idev) {                                                    \
            return c->strict ? set_why(c, T_FAIL, "no mock device")       \
                             : set_why(c, T_SKIP, "no mock IOMMU");        \
        }                                                                  \
    } while (0)

static TResult t_mock_hw_info(Ctx *c)
{
    struct iommu_test_hw_info ti = { 0 };
    VfiHwInfo hw = { .data = &ti, .data_len = sizeof(ti) };

    NEED_MOCK();
    OK(vfi_iommufd_get_hw_info(c->be, c->idev, &hw, errp));
    CHECK(hw.type == IOMMU_HW_INFO_TYPE_SELFTEST, "type 0x%x", hw.type);
    CHECK(hw.capabilities & IOMMU_HW_CAP_DIRTY_TRACKING, "capabilities 0x%" PRIx64,
          hw.capabilities);
    CHECK(ti.test_reg == IOMMU_HW_INFO_SELFTEST_REGVAL, "test_reg 0x%x", ti.test_reg);
    return T_PASS;
}

static TResult t_mock_map(Ctx *c)
{
    g_autofree VfiIovaRange *r = NULL;
    size_t n = 0, i;
    uint64_t align = 0;

    NEED_MOCK();
    OK(vfi_iommufd_ioas_iova_ranges(c->be, c->mock_ioas, &r, &n, &align, errp));
    for (i = 0; i < n; i++) {
        note(c, "mock ioas range [0x%" PRIx64 ", 0x%" PRIx64 "] alignment 0x%" PRIx64,
             r[i].start, r[i].last, align);
    }
    CHECK(in_ranges(r, n, MOCK_IOVA, MOCK_IOVA + MOCK_PAGES * PG - 1), "iova outside the ranges");
    CHECK(!in_ranges(r, n, 0, MOCK_APERTURE_START - 1), "below the mock aperture allowed");
    c->mock_buf = alloc_pages(MOCK_PAGES * PG);
    CHECK(c->mock_buf, "mmap");
    OK(vfi_iommufd_ioas_map(c->be, c->mock_ioas, MOCK_IOVA, MOCK_PAGES * PG, c->mock_buf,
                               false, errp));
    /* Until t_mock_layout() learns the IOPTEs: one per 2 KiB page. */
    c->lay = g_new0(MockLayout, 1);
    layout_exact(c->lay, MOCK_UNITS);
    return T_PASS;
}

static TResult t_mock_hwpt_alloc(Ctx *c)
{
    int ret;

    NEED_MOCK();
    OK(vfi_iommufd_hwpt_alloc(c->be, c->idev, c->mock_ioas, IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
                                  IOMMU_HWPT_DATA_NONE, 0, NULL, &c->hwpt_a, errp));
    OK(vfi_iommufd_hwpt_alloc(c->be, c->idev, c->mock_ioas, IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
                                  IOMMU_HWPT_DATA_NONE, 0, NULL, &c->hwpt_b, errp));
    /* A device in each: the shape of a container with two dirty HWPTs. */
    ret = mock_domain(c, c->hwpt_a, 0, &c->stdev_a, NULL, NULL);
    CHECK(ret == 0, "mock device on hwpt %u: %s", c->hwpt_a, g_strerror(-ret));
    ret = mock_domain(c, c->hwpt_b, 0, &c->stdev_b, NULL, NULL);
    CHECK(ret == 0, "mock device on hwpt %u: %s", c->hwpt_b, g_strerror(-ret));
    note(c, "dirty hwpts %u %u", c->hwpt_a, c->hwpt_b);
    return T_PASS;
}

static TResult t_mock_no_dirty_device(Ctx *c)
{
    VfiHwInfo hw = { 0 };
    uint32_t id = 0;
    struct iommu_test_cmd cmd = { .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE };
    int ret;

    NEED_MOCK();
    CHECK(c->hwpt_a, "no dirty hwpt");
    ret = mock_domain(c, c->mock_ioas, MOCK_FLAGS_DEVICE_NO_DIRTY, &c->stdev_n, NULL, &c->idev_n);
    CHECK(ret == 0, "mock device without dirty tracking: %s", g_strerror(-ret));
    OK(vfi_iommufd_get_hw_info(c->be, c->idev_n, &hw, errp));
    CHECK(!(hw.capabilities & IOMMU_HW_CAP_DIRTY_TRACKING), "capabilities 0x%" PRIx64,
          hw.capabilities);
    KERR(vfi_iommufd_hwpt_alloc(c->be, c->idev_n, c->mock_ioas,
                                    IOMMU_HWPT_ALLOC_DIRTY_TRACKING, IOMMU_HWPT_DATA_NONE, 0,
                                    NULL, &id, errp), EOPNOTSUPP);
    /* Into a dirty-tracking HWPT: EINVAL, the library's "incompatible". */
    cmd.id = c->stdev_n;
    cmd.mock_domain_replace.pt_id = c->hwpt_a;
    ret = test_cmd(c, &cmd);
    CHECK(ret == -EINVAL, "replace into a dirty hwpt: %s", g_strerror(-ret));
    return T_PASS;
}

/*
 * A PASID-capable mock device (6.15: MOCK_FLAGS_DEVICE_PASID in the kernel
 * source's iommufd_test.h) reports its PASID width through GET_HW_INFO's
 * out_max_pasid_log2 (6.15 UAPI), which the library passes on when it was
 * built with headers that have the field (VFI_BUILD_HW_INFO_MAX_PASID); the
 * plain mock device reports 0. "needs Linux 6.15" skips otherwise.
 */
static TResult t_mock_pasid_hw_info(Ctx *c)
{
#ifdef MOCK_PASID_WIDTH
    VfiHwInfo hw = { 0 };
    uint32_t stdev = 0, idev = 0;
    int ret;

    NEED_MOCK();
    if (!(vfi_build_features() & VFI_BUILD_HW_INFO_MAX_PASID)) {
        SKIP("needs Linux 6.15 UAPI headers: the library was built without "
             "iommu_hw_info.out_max_pasid_log2");
    }
    ret = mock_domain(c, c->mock_ioas, MOCK_FLAGS_DEVICE_PASID, &stdev, NULL, &idev);
    CHECK(ret == 0, "mock device with PASID: %s", g_strerror(-ret));
    OK(vfi_iommufd_get_hw_info(c->be, idev, &hw, errp));
    note(c, "PASID mock device: idev %u max_pasid_log2 %u", idev, hw.max_pasid_log2);
    CHECK(hw.max_pasid_log2 == MOCK_PASID_WIDTH, "max_pasid_log2 %u, want %u",
          hw.max_pasid_log2, MOCK_PASID_WIDTH);
    /* (its data_len came back as the mock's: no data asked for again) */
    hw = (VfiHwInfo){ 0 };
    OK(vfi_iommufd_destroy(c->be, stdev, errp));
    OK(vfi_iommufd_get_hw_info(c->be, c->idev, &hw, errp));
    CHECK(hw.max_pasid_log2 == 0, "plain mock device: max_pasid_log2 %u", hw.max_pasid_log2);
    return T_PASS;
#else
    NEED_MOCK();
    SKIP("needs Linux 6.15: this kernel's iommufd_test.h has no PASID-capable mock device "
         "(MOCK_FLAGS_DEVICE_PASID)");
#endif
}

/* Dirty readers on the two HWPTs: the library's query path (the one its
 * containers use) on HWPTs the test made itself, since mock devices are no
 * VFIO cdevs and cannot be put in a container. */
static TResult t_mock_readers(Ctx *c)
{
    g_autofree VfiIovaRange *r = NULL;
    g_autoptr(GError) err = NULL;
    size_t n = 0;

    NEED_MOCK();
    CHECK(c->hwpt_a && c->hwpt_b, "no dirty hwpt");
    OK(vfi_iommufd_ioas_iova_ranges(c->be, c->mock_ioas, &r, &n, &c->mock_align, errp));
    /* The mock IO page: what the reader must accept as a log page size. */
    CHECK(c->mock_align == MOCK_PG, "mock ioas alignment 0x%" PRIx64, c->mock_align);
    c->rd_a = vfi_dirty_reader_new(c->be);
    c->rd_b = vfi_dirty_reader_new(c->be);
    c->rd_ab = vfi_dirty_reader_new(c->be);
    CHECK(c->rd_a && c->rd_b && c->rd_ab, "vfi_dirty_reader_new");
    OK(vfi_dirty_reader_set_iova_alignment(c->rd_a, c->mock_align, errp));
    OK(vfi_dirty_reader_set_iova_alignment(c->rd_b, c->mock_align, errp));
    OK(vfi_dirty_reader_set_iova_alignment(c->rd_ab, c->mock_align, errp));
    OK(vfi_dirty_reader_add_hwpt(c->rd_a, c->hwpt_a, errp));
    OK(vfi_dirty_reader_add_hwpt(c->rd_b, c->hwpt_b, errp));
    OK(vfi_dirty_reader_add_hwpt(c->rd_ab, c->hwpt_a, errp));
    OK(vfi_dirty_reader_add_hwpt(c->rd_ab, c->hwpt_b, errp));
    CHECK(!vfi_dirty_reader_add_hwpt(c->rd_ab, c->hwpt_b, &err), "hwpt added twice");
    CHECK(g_error_matches(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT),
          "%s", err->message);
    CHECK(vfi_dirty_reader_hwpt_count(c->rd_ab) == 2, "%u sources",
          vfi_dirty_reader_hwpt_count(c->rd_ab));
    return T_PASS;
}

static TResult t_mock_plain_hwpt(Ctx *c)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(VfiDirtyReader) rd = NULL;
    uint64_t bm[2] = { 0 };
    VfiDirtyLog log = { .base_iova = MOCK_IOVA, .page_size = PG, .bitmap = bm,
                         .nr_pages = 128 };

    NEED_MOCK();
    OK(vfi_iommufd_hwpt_alloc(c->be, c->idev, c->mock_ioas, 0, IOMMU_HWPT_DATA_NONE, 0,
                                  NULL, &c->hwpt_plain, errp));
    CHECK(!vfi_iommufd_hwpt_set_dirty_tracking(c->be, c->hwpt_plain, true, &err),
          "tracking started on a HWPT without the flag");
    CHECK(g_error_matches(err, VFI_KERNEL_ERROR, EOPNOTSUPP) ||
          g_error_matches(err, VFI_KERNEL_ERROR, EINVAL), "%s", err->message);
    note(c, "set tracking on a plain HWPT: %s", err->message);
    g_clear_error(&err);
    KERR(vfi_iommufd_hwpt_get_dirty_bitmap(c->be, c->hwpt_plain, MOCK_IOVA, 64 * PG, PG, bm, 0,
                                          errp), EOPNOTSUPP);
    /* Through a reader: the kernel's errno, the HWPT named. */
    rd = vfi_dirty_reader_new(c->be);
    OK(vfi_dirty_reader_add_hwpt(rd, c->hwpt_plain, errp));
    KERR(vfi_dirty_reader_query(rd, MOCK_IOVA, 64 * PG, &log, 0, errp), EOPNOTSUPP);
    CHECK(!vfi_dirty_reader_query(rd, MOCK_IOVA, 64 * PG, &log, 0, &err), "query succeeded");
    {
        g_autofree char *id = g_strdup_printf("hwpt %u", c->hwpt_plain);

        CHECK(strstr(err->message, id), "message names no hwpt: %s", err->message);
    }
    CHECK(bm[0] == 0 && bm[1] == 0, "bits from a HWPT without tracking");
    return T_PASS;
}

/* A dirty-capable HWPT whose tracking is off. The IOMMU drivers refuse to
 * read it (read_and_clear_dirty(): EINVAL when not tracking and a bitmap is
 * given), but Linux 6.12's iommu_read_and_clear_dirty() drops the return
 * value of iova_bitmap_for_each(), so the ioctl returns 0 and sets no bit;
 * kernels that pass the error up say EINVAL. Either is accepted here (the
 * note says which), never a bit set. Through a reader (which cannot know the
 * state of a HWPT the VMM manages): the same, the error naming the HWPT and
 * saying tracking may be off. The model refuses with EINVAL; containers
 * never read a HWPT whose tracking is off and refuse queries and syncs while
 * not tracking (WRONG_STATE; unit tests). */
static TResult t_mock_tracking_off(Ctx *c)
{
    uint64_t bm[2] = { 0x5a, 0 };
    VfiDirtyLog log = { .base_iova = MOCK_IOVA, .page_size = PG, .bitmap = bm,
                         .nr_pages = 128 };
    const uint32_t flags[] = { 0, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR };

    NEED_MOCK();
    CHECK(c->hwpt_a && c->rd_ab, "no dirty hwpt or reader");
    for (unsigned i = 0; i < G_N_ELEMENTS(flags); i++) {
        g_autoptr(GError) err = NULL;

        if (vfi_iommufd_hwpt_get_dirty_bitmap(c->be, c->hwpt_a, MOCK_IOVA, 64 * PG, PG, bm,
                                             flags[i], &err)) {
            note(c, "raw read with tracking off (flags %u): success, nothing read "
                 "(the driver's EINVAL is dropped by this kernel)", flags[i]);
        } else {
            CHECK(g_error_matches(err, VFI_KERNEL_ERROR, EINVAL), "%s",
                  err->message);
            note(c, "raw read with tracking off (flags %u): EINVAL", flags[i]);
        }
        CHECK(bm[0] == 0x5a && bm[1] == 0, "bits read from a HWPT not tracking: "
              "0x%" PRIx64 " 0x%" PRIx64, bm[0], bm[1]);
    }
    {
        g_autoptr(GError) err = NULL;
        g_autofree char *id = g_strdup_printf("hwpt %u", c->hwpt_a);

        if (!vfi_dirty_reader_query(c->rd_ab, MOCK_IOVA, 64 * PG, &log,
                                     VFI_DIRTY_QUERY_NO_CLEAR, &err)) {
            CHECK(g_error_matches(err, VFI_KERNEL_ERROR, EINVAL), "%s",
                  err->message);
            CHECK(strstr(err->message, id), "message names no hwpt: %s", err->message);
            CHECK(strstr(err->message, "tracking is off"), "message: %s", err->message);
        }
        CHECK(bm[0] == 0x5a && bm[1] == 0, "log changed: 0x%" PRIx64 " 0x%" PRIx64, bm[0],
              bm[1]);
    }
    return T_PASS;
}

static TResult t_mock_start(Ctx *c)
{
    NEED_MOCK();
    CHECK(c->hwpt_a && c->hwpt_b && c->rd_ab, "no dirty hwpt or reader");
    OK(vfi_iommufd_hwpt_set_dirty_tracking(c->be, c->hwpt_a, true, errp));
    OK(vfi_iommufd_hwpt_set_dirty_tracking(c->be, c->hwpt_a, true, errp));
    OK(vfi_iommufd_hwpt_set_dirty_tracking(c->be, c->hwpt_b, true, errp));
    /* Enabling starts clean (the kernel clears what was dirty). */
    memset(c->mock_marked, 0, sizeof(c->mock_marked));
    /* Nothing dirty right after the start. */
    CHECK_READ(c->rd_a, ALL, 0, NULL, 0, 0, "fresh hwpt a");
    CHECK_READ(c->rd_b, ALL, 0, NULL, 0, 0, "fresh hwpt b");
    return T_PASS;
}

/* Mark the 2 KiB page @u of the mapping at @iova dirty in @hwpt. */
static int mock_mark_unit(Ctx *c, uint32_t hwpt, uint64_t iova, unsigned u)
{
    uint64_t one = 1;
    struct iommu_test_cmd cmd = {
        .op = IOMMU_TEST_OP_DIRTY,
        .id = hwpt,
        .dirty = { .iova = iova + (uint64_t)u * MOCK_PG, .length = MOCK_PG,
                   .page_size = MOCK_PG, .uptr = (uintptr_t)&one },
    };
    int ret = test_cmd(c, &cmd);

    return ret == 0 && cmd.dirty.out_nr_dirty != 1 ? -EIO : ret;
}

/*
 * Learn the IOPTEs of the mapping [@iova, @iova + @units * 2 KiB) in @hwpt
 * (tracking on, nothing dirty): mark the first 2 KiB page not covered yet,
 * read the mapping at 2 KiB pages (clearing): the bits set are its IOPTE,
 * which must start there and be an aligned power-of-two run of 2 KiB pages.
 */
static TResult mock_probe_layout(Ctx *c, uint32_t hwpt, uint64_t iova, unsigned units,
                                 MockLayout *lay)
{
    uint64_t bm[MOCK_UNITS / 64];
    unsigned u = 0, n, k;
    int ret;

    CHECK(units <= MOCK_UNITS && units % 64 == 0, "%u units", units);
    lay->units = units;
    while (u < units) {
        ret = mock_mark_unit(c, hwpt, iova, u);
        CHECK(ret == 0, "IOMMU_TEST_OP_DIRTY at 2 KiB page %u: %s", u, g_strerror(-ret));
        memset(bm, 0, sizeof(bm));
        OK(vfi_iommufd_hwpt_get_dirty_bitmap(c->be, hwpt, iova, (uint64_t)units * MOCK_PG,
                                             MOCK_PG, bm, 0, errp));
        n = popcount_words(bm, units / 64);
        CHECK(n > 0 && bit_of(bm, u), "hwpt %u: 2 KiB page %u marked, not reported", hwpt, u);
        for (k = u; k < u + n; k++) {
            CHECK(k < units && bit_of(bm, k), "hwpt %u: 2 KiB page %u reports %u pages that "
                  "are no run from it (%016" PRIx64 " %016" PRIx64 " ...)", hwpt, u, n, bm[0],
                  bm[1]);
            lay->first[k] = u;
            lay->count[k] = n;
        }
        CHECK((n & (n - 1)) == 0 && (iova / MOCK_PG + u) % n == 0,
              "hwpt %u: IOPTE of %u x 2 KiB at 2 KiB page %u: no aligned power of two",
              hwpt, n, u);
        u += n;
    }
    return T_PASS;
}

/* The IOPTE sizes of @lay, as a note ("64 x 4 KiB, 2 x 8 KiB"), and
 * whether each is at least @min_units 2 KiB pages (and at most @max_units). */
static bool layout_summary(const MockLayout *lay, unsigned min_units, unsigned max_units,
                           GString *out)
{
    unsigned hist[16] = { 0 }, k, lg;
    bool ok = true;

    for (k = 0; k < lay->units; k += lay->count[k]) {
        ok = ok && lay->count[k] >= min_units && lay->count[k] <= max_units;
        lg = (unsigned)__builtin_ctz(lay->count[k]);
        hist[lg < 16 ? lg : 15]++;
    }
    for (lg = 0; lg < 16; lg++) {
        if (hist[lg]) {
            g_string_append_printf(out, "%s%u x %u KiB", out->len ? ", " : "", hist[lg],
                                   2u << lg);
        }
    }
    return ok;
}

/* Same IOPTEs in both layouts? */
static bool layout_equal(const MockLayout *a, const MockLayout *b)
{
    return a->units == b->units &&
           !memcmp(a->first, b->first, a->units * sizeof(a->first[0])) &&
           !memcmp(a->count, b->count, a->units * sizeof(a->count[0]));
}

/*
 * The granularity the kernel reports dirty pages at, learnt on both HWPTs
 * (the same pages mapped the same way: the same IOPTEs), checked against
 * what the kernel is known to do: 6.12 (and older) exactly per 2 KiB IO
 * page; 7.x per IOPTE, each IOPTE of this page-aligned mapping at least a
 * 4 KiB CPU page. Other releases: noted only.
 */
static TResult t_mock_layout(Ctx *c)
{
    g_autofree MockLayout *b = g_new0(MockLayout, 1);
    g_autoptr(GString) sizes = g_string_new(NULL);
    unsigned ma, mi;
    bool ok;

    NEED_MOCK();
    CHECK(c->hwpt_a && c->hwpt_b && c->lay, "no dirty hwpt");
    CHECK_RESULT(mock_probe_layout(c, c->hwpt_a, MOCK_IOVA, MOCK_UNITS, c->lay));
    CHECK_RESULT(mock_probe_layout(c, c->hwpt_b, MOCK_IOVA, MOCK_UNITS, b));
    CHECK(layout_equal(c->lay, b), "hwpts %u and %u map the same pages with other IOPTEs",
          c->hwpt_a, c->hwpt_b);
    kernel_release(&ma, &mi);
    if (ma < 6 || (ma == 6 && mi <= 12)) {
        ok = layout_summary(c->lay, 1, 1, sizes);
        note(c, "Linux %u.%u: dirty bits per 2 KiB IO page (%s)", ma, mi, sizes->str);
        CHECK(ok, "Linux %u.%u's mock reports per 2 KiB page, here: %s", ma, mi, sizes->str);
    } else if (ma >= 7) {
        ok = layout_summary(c->lay, PG / MOCK_PG, MOCK_UNITS, sizes);
        note(c, "Linux %u.%u: dirty bits per IOPTE: %s", ma, mi, sizes->str);
        CHECK(ok, "Linux %u.%u: IOPTEs below the 4 KiB CPU page: %s", ma, mi, sizes->str);
    } else {
        layout_summary(c->lay, 1, MOCK_UNITS, sizes);
        note(c, "Linux %u.%u: IOPTEs as dirty bits show them: %s", ma, mi, sizes->str);
    }
    /* The probes cleared what they marked. */
    CHECK_READ(c->rd_ab, ALL, NC, NULL, 0, 0, "after the probes");
    return T_PASS;
}

/* The raw ioctl as the baseline, then the reader agreeing with it. */
static TResult t_mock_no_clear(Ctx *c)
{
    uint64_t nr = 0, bm[2] = { 0 }, want[2], tiny[8] = { 0 };
    g_autoptr(GError) err = NULL;
    int ret;

    NEED_MOCK();
    ret = mock_mark(c, c->hwpt_a, PAT_A, &nr);
    CHECK(ret == 0, "IOMMU_TEST_OP_DIRTY: %s", g_strerror(-ret));
    CHECK(nr == popcount_words(PAT_A, 2), "%" PRIu64 " marked, want %u", nr,
          popcount_words(PAT_A, 2));
    /* raw: vfi_iommufd_hwpt_get_dirty_bitmap() straight into a buffer; the
     * marked pages, widened to their IOPTEs */
    model_read(c->lay, c->mock_marked[0], 0, MOCK_UNITS, PG / MOCK_PG, false, want, MOCK_PAGES);
    OK(vfi_iommufd_hwpt_get_dirty_bitmap(c->be, c->hwpt_a, MOCK_IOVA, MOCK_PAGES * PG, PG, bm,
                                        IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, errp));
    CHECK(bm[0] == want[0] && bm[1] == want[1], "raw read %016" PRIx64 " %016" PRIx64
          ", want %016" PRIx64 " %016" PRIx64, bm[0], bm[1], want[0], want[1]);
    /* What the kernel accepts as a page size: below the IOAS alignment too,
     * when the range is aligned to it (the reader, like containers, refuses
     * such logs when told the alignment). */
    if (vfi_iommufd_hwpt_get_dirty_bitmap(c->be, c->hwpt_a, MOCK_IOVA, 8 * PG, MOCK_PG / 2,
                                         tiny, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, &err)) {
        note(c, "kernel: page size 0x%x below the IOAS alignment 0x%" PRIx64 " accepted "
             "(%016" PRIx64 ")", MOCK_PG / 2, c->mock_align, tiny[0]);
    } else {
        note(c, "kernel: page size 0x%x below the IOAS alignment: %s", MOCK_PG / 2,
             err->message);
        g_clear_error(&err);
    }
    /* the reader, twice: NO_CLEAR keeps them */
    CHECK_READ(c->rd_a, ALL, NC, PAT_A, 0, 0, "NO_CLEAR read 1");
    CHECK_READ(c->rd_a, ALL, NC, PAT_A, 0, 0, "NO_CLEAR read 2");
    /* The other HWPT saw nothing. */
    CHECK_READ(c->rd_b, ALL, NC, NULL, 0, 0, "hwpt b");
    return T_PASS;
}

static TResult t_mock_clear(Ctx *c)
{
    NEED_MOCK();
    CHECK_READ(c->rd_a, ALL, 0, PAT_A, 0, 0, "clearing read");
    CHECK_READ(c->rd_a, ALL, 0, NULL, 0, 0, "read after clear");
    return T_PASS;
}

static TResult t_mock_offsets(Ctx *c)
{
    uint64_t nr = 0, bm[LOG_WORDS] = { 0 };
    VfiDirtyLog small = { .base_iova = MOCK_IOVA, .page_size = MOCK_PG / 2, .bitmap = bm,
                           .nr_pages = LOG_WORDS * 64 };
    g_autoptr(GError) err = NULL;
    VfiDirtyStats st0, st1;
    int ret;

    NEED_MOCK();
    ret = mock_mark(c, c->hwpt_a, PAT_A, &nr);
    CHECK(ret == 0, "IOMMU_TEST_OP_DIRTY: %s", g_strerror(-ret));
    /* Ranges starting inside a byte / a word of the pattern, at byte-aligned
     * and at sub-byte bits of the log. */
    CHECK_READ(c->rd_a, 3 * PG, 21 * PG, PG, NC, PAT_A, 0, 0, "pages 3..23 at log bit 0");
    CHECK_READ(c->rd_a, 3 * PG, 21 * PG, PG, NC, PAT_A, 3, 0, "pages 3..23 at log bit 3");
    CHECK_READ(c->rd_a, 5 * PG, 100 * PG, PG, NC, PAT_A, 5, 0, "pages 5..104 at log bit 5");
    CHECK_READ(c->rd_a, 63 * PG, 2 * PG, PG, NC, PAT_A, 63, 0, "pages 63..64 at log bit 63");
    CHECK_READ(c->rd_a, ALL, NC, PAT_A, 121, 0, "all pages at log bit 121");
    /* The reader ORs into the log: preset bits stay, outside the range too. */
    CHECK_READ(c->rd_a, ALL, NC, PAT_A, 0, 0x0101010101010101ull, "preset, log bit 0");
    CHECK_READ(c->rd_a, ALL, NC, PAT_A, 7, 0x8421084210842108ull, "preset, log bit 7");
    /* 8 KiB pages: a bit covers two 4 KiB pages. */
    CHECK_READ(c->rd_a, 0, MOCK_PAGES * PG, 2 * PG, NC, PAT_A, 0, 0, "8 KiB pages");
    CHECK_READ(c->rd_a, 0, MOCK_PAGES * PG, 2 * PG, NC, PAT_A, 5, 0, "8 KiB pages at bit 5");
    /* 2 KiB pages (the mock's IO page, the IOAS alignment): the marked halves. */
    CHECK_READ(c->rd_a, 0, MOCK_PAGES * PG, MOCK_PG, NC, PAT_A, 0, 0, "2 KiB pages");
    CHECK_READ(c->rd_a, MOCK_PG, 100 * MOCK_PG, MOCK_PG, NC, PAT_A, 9, 0,
               "2 KiB pages from an odd half at bit 9");
    /* Below the alignment set: refused before any ioctl. */
    CHECK(!vfi_dirty_reader_query(c->rd_a, MOCK_IOVA, 8 * PG, &small, NC, &err),
          "page size 0x%x accepted", MOCK_PG / 2);
    CHECK(g_error_matches(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT),
          "%s", err->message);
    CHECK(bm[0] == 0, "log written");
    /* Clearing read of a sub-range at a sub-byte bit leaves the rest dirty. */
    CHECK_READ(c->rd_a, 0, 8 * PG, PG, 0, PAT_A, 13, 0, "clear pages 0..7 at log bit 13");
    {
        uint64_t rest[2] = { PAT_A[0] & ~0xffull, PAT_A[1] };

        CHECK_READ(c->rd_a, ALL, NC, rest, 0, 0, "rest after sub-range clear");
        CHECK_READ(c->rd_a, 8 * PG, 120 * PG, PG, 0, rest, 2, 0, "clear pages 8..127 at bit 2");
    }
    CHECK_READ(c->rd_a, ALL, 0, NULL, 0, 0, "all clear");
    /* Steady state: the scratch buffer no longer grows. */
    vfi_dirty_reader_get_stats(c->rd_a, &st0);
    CHECK_READ(c->rd_a, ALL, 0, NULL, 3, 0, "scratch again");
    vfi_dirty_reader_get_stats(c->rd_a, &st1);
    CHECK(st1.scratch_grows == st0.scratch_grows && st0.scratch_grows >= 1,
          "scratch grows %" PRIu64 " -> %" PRIu64, st0.scratch_grows, st1.scratch_grows);
    return T_PASS;
}

static TResult t_mock_two_hwpts(Ctx *c)
{
    uint64_t nr = 0;
    int ret;

    NEED_MOCK();
    ret = mock_mark(c, c->hwpt_a, PAT_A, &nr);
    CHECK(ret == 0, "IOMMU_TEST_OP_DIRTY a: %s", g_strerror(-ret));
    ret = mock_mark(c, c->hwpt_b, PAT_B, &nr);
    CHECK(ret == 0, "IOMMU_TEST_OP_DIRTY b: %s", g_strerror(-ret));
    /* Each source alone, then both ORed into one log. */
    CHECK_READ(c->rd_a, ALL, NC, PAT_A, 0, 0, "a alone");
    CHECK_READ(c->rd_b, ALL, NC, PAT_B, 0, 0, "b alone");
    CHECK_READ(c->rd_ab, ALL, NC, PAT_AB, 0, 0, "a|b at log bit 0");
    CHECK_READ(c->rd_ab, ALL, NC, PAT_AB, 3, 0x1000000000000001ull, "a|b at log bit 3, preset");
    CHECK_READ(c->rd_ab, 2 * PG, 64 * PG, 2 * PG, NC, PAT_AB, 6, 0, "a|b 8 KiB at bit 6");
    CHECK_READ(c->rd_ab, ALL, 0, PAT_AB, 11, 0, "clearing a|b at log bit 11");
    CHECK_READ(c->rd_a, ALL, 0, NULL, 0, 0, "a after clear");
    CHECK_READ(c->rd_b, ALL, 0, NULL, 0, 0, "b after clear");
    return T_PASS;
}

/* An IOPTE of the main mapping starting at unit 64 or later whose next 64
 * units are mapped: its first unit, and its size in units (*count). */
static unsigned edge_iopte(const MockLayout *lay, unsigned *count)
{
    unsigned u;

    for (u = 64; u + 65 <= lay->units; u += lay->count[u]) {
        if (lay->first[u] == u) {
            *count = lay->count[u];
            return u;
        }
    }
    *count = 0;
    return 0;
}

/* Raw read of @n units from unit @u0 of the main mapping in hwpt a at
 * 2 KiB pages into @buf (two words, page-aligned: the second is a guard),
 * checked against the model (which it updates). */
static TResult raw_edge_read(Ctx *c, unsigned u0, unsigned n, uint32_t flags, uint64_t *buf,
                             const char *what)
{
    uint64_t exp[2];

    buf[0] = buf[1] = 0;
    OK(vfi_iommufd_hwpt_get_dirty_bitmap(c->be, c->hwpt_a, MOCK_IOVA + (uint64_t)u0 * MOCK_PG,
                                        (uint64_t)n * MOCK_PG, MOCK_PG, buf, flags, errp));
    model_read(c->lay, c->mock_marked[0], u0, n, 1,
               !(flags & IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR), exp, 128);
    note(c, "%s: units %u..%u read %016" PRIx64 ", guard %016" PRIx64, what, u0, u0 + n - 1,
         buf[0], buf[1]);
    CHECK(buf[0] == exp[0] && buf[1] == exp[1], "%s: read %016" PRIx64 " %016" PRIx64
          ", want %016" PRIx64 " %016" PRIx64, what, buf[0], buf[1], exp[0], exp[1]);
    return T_PASS;
}

/*
 * Reads that end or start inside an IOPTE: raw, at 2 KiB pages, 64 bits into
 * a page-aligned buffer whose second word is a guard. The generic page
 * table (7.x) records a dirty IOPTE from its start to its end: one ending
 * after the range sets bits past the range's end, in the caller's memory
 * after the bitmap (the guard word: the kernel writes up to the end of the
 * bitmap's last page); one starting before the range has no bit and is
 * dropped, yet a clearing read makes it clean: its dirty pages are lost.
 * 6.12's IOPTEs are 2 KiB pages: neither can happen, the reads are exact.
 */
static TResult t_mock_edges(Ctx *c)
{
    uint64_t *buf = alloc_pages(PG);
    unsigned f, cnt;
    bool exact, lost;
    int ret;

    NEED_MOCK();
    CHECK(buf && c->lay, "mmap");
    f = edge_iopte(c->lay, &cnt);
    CHECK(cnt, "no IOPTE with 64 mapped units after it");
    exact = layout_is_exact(c->lay);
    note(c, "IOPTE of %u x 2 KiB at unit %u", cnt, f);
    ret = mock_mark_unit(c, c->hwpt_a, MOCK_IOVA, f);
    CHECK(ret == 0, "IOMMU_TEST_OP_DIRTY: %s", g_strerror(-ret));
    c->mock_marked[0][f / 64] |= 1ull << (f % 64);
    /* ends inside: the IOPTE's first unit is the range's last */
    CHECK_RESULT(raw_edge_read(c, f - 63, 64, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, buf,
                               "ending inside"));
    CHECK(exact == (buf[1] == 0), "%s: bits past the range: %016" PRIx64,
          exact ? "2 KiB IOPTEs" : "IOPTEs of 4 KiB and more", buf[1]);
    /* starts inside, clearing: nothing read, and cleared */
    CHECK_RESULT(raw_edge_read(c, f + 1, 64, 0, buf, "starting inside"));
    lost = !(c->mock_marked[0][f / 64] & (1ull << (f % 64)));
    CHECK(lost == !exact, "the marked unit %s", lost ? "was lost" : "is still dirty");
    munmap(buf, PG);
    if (lost) {
        note(c, "the dirty IOPTE at unit %u was cleared by a read starting inside it and "
             "reported nowhere: its pages are lost", f);
    }
    /* what is left, through the reader; then clean */
    CHECK_READ(c->rd_a, ALL, NC, MODEL_ONLY, 0, 0, "after the edge reads");
    CHECK_READ(c->rd_a, ALL, 0, MODEL_ONLY, 0, 0, "clearing after the edge reads");
    CHECK_READ(c->rd_a, ALL, NC, NULL, 0, 0, "clean after the edge reads");
    return T_PASS;
}

/* A query of @n units from unit @u0 of the main mapping through @rd at
 * 2 KiB log pages into @log (based at MOCK_IOVA, zeroed first). */
static bool unit_query(VfiDirtyReader *rd, VfiDirtyLog *log, unsigned u0, unsigned n,
                       GError **errp)
{
    memset(log->bitmap, 0, LOG_WORDS * sizeof(uint64_t));
    return vfi_dirty_reader_query(rd, MOCK_IOVA + (uint64_t)u0 * MOCK_PG,
                                  (uint64_t)n * MOCK_PG, log, 0, errp);
}

/* The log bits set outside [from, to), or the count of those inside. */
static unsigned bits_outside(const uint64_t *bm, unsigned from, unsigned to)
{
    unsigned k, n = 0;

    for (k = 0; k < LOG_WORDS * 64; k++) {
        n += (k < from || k >= to) && bit_of(bm, k);
    }
    return n;
}

/*
 * The library's guard of those edges: a reader told of the mapping
 * (vfi_dirty_reader_add_mapping()) reads it whole when a query cuts it,
 * delivers the range's bits and keeps the others for the query of their
 * pages. The same assertions on every kernel: a marked unit is reported by
 * the query of its page (7.3 without the guard: lost), every unit of its
 * IOPTE inside a range is reported (2 KiB IOPTEs on 6.12: itself only), no
 * bit lands outside a range, and nothing is left afterwards.
 */
static TResult t_mock_edges_guarded(Ctx *c)
{
    uint64_t bm[LOG_WORDS];
    VfiDirtyLog log = { .base_iova = MOCK_IOVA, .page_size = MOCK_PG, .bitmap = bm,
                        .nr_pages = LOG_WORDS * 64 };
    g_autoptr(VfiDirtyReader) rd = NULL;
    unsigned f, cnt, last, k;
    int ret;

    NEED_MOCK();
    CHECK(c->lay, "no IOPTE layout learnt");
    f = edge_iopte(c->lay, &cnt);
    CHECK(cnt, "no IOPTE with 64 mapped units after it");
    last = f + cnt - 1;
    rd = vfi_dirty_reader_new(c->be);
    OK(vfi_dirty_reader_set_iova_alignment(rd, c->mock_align, errp));
    OK(vfi_dirty_reader_add_hwpt(rd, c->hwpt_a, errp));
    OK(vfi_dirty_reader_add_mapping(rd, MOCK_IOVA, MOCK_PAGES * (uint64_t)PG, errp));
    /* starting inside: unit f marked, the query from the IOPTE's last unit */
    ret = mock_mark_unit(c, c->hwpt_a, MOCK_IOVA, f);
    CHECK(ret == 0, "IOMMU_TEST_OP_DIRTY: %s", g_strerror(-ret));
    OK(unit_query(rd, &log, last, 64, errp));
    CHECK(bit_of(bm, last) && bits_outside(bm, last, last + 1) == 0,
          "query from unit %u: bit %d, %u others", last, bit_of(bm, last),
          bits_outside(bm, last, last + 1));
    OK(unit_query(rd, &log, f, cnt, errp));
    for (k = f; k < last; k++) {
        CHECK(bit_of(bm, k), "unit %u of the dirty IOPTE at %u (%u units) lost", k, f, cnt);
    }
    CHECK(bits_outside(bm, f, f + cnt) == 0, "bits outside the IOPTE");
    /* ending inside: its last unit marked, the query up to its first unit */
    ret = mock_mark_unit(c, c->hwpt_a, MOCK_IOVA, last);
    CHECK(ret == 0, "IOMMU_TEST_OP_DIRTY: %s", g_strerror(-ret));
    OK(unit_query(rd, &log, f - 63, 64, errp));
    CHECK(bit_of(bm, f) && bits_outside(bm, f - 63, f + 1) == 0,
          "query up to unit %u: bit %d, %u bits past it", f, bit_of(bm, f),
          bits_outside(bm, f - 63, f + 1));
    if (cnt > 1) {
        OK(unit_query(rd, &log, f + 1, cnt - 1, errp));
        CHECK(bit_of(bm, last), "the marked unit %u lost", last);
    }
    /* nothing left; then forget the mapping */
    OK(unit_query(rd, &log, 0, 2 * MOCK_PAGES, errp));
    CHECK(popcount_words(bm, LOG_WORDS) == 0, "%u bits left",
          popcount_words(bm, LOG_WORDS));
    OK(vfi_dirty_reader_remove_mapping(rd, MOCK_IOVA, MOCK_PAGES * (uint64_t)PG, errp));
    memset(c->mock_marked[0], 0, sizeof(c->mock_marked[0]));
    note(c, "IOPTE of %u x 2 KiB at unit %u: nothing lost at either edge", cnt, f);
    return T_PASS;
}

/*
 * Unmap during migration: read a mapping's bits with NO_CLEAR, then unmap
 * it. The dirty state goes with the mapping (reading the range afterwards
 * finds nothing), so the bits read first are all that is left of it.
 */
static TResult t_mock_unmap_no_clear(Ctx *c)
{
    const uint64_t off = 0x100000, len = 64 * (uint64_t)PG;   /* MOCK_IOVA + 1 MiB */
    const uint64_t pa[1] = { 0x8000000100000a05ull }, pb[1] = { 0x0000300000000180ull };
    uint64_t ma[UNIT_WORDS], mb[UNIT_WORDS], ra[1], rb[1], both[1];
    uint64_t bm[LOG_WORDS] = { 0 }, nr = 0, unmapped = 0;
    VfiDirtyLog log = { .base_iova = MOCK_IOVA + off - 5 * PG, .page_size = PG,
                         .bitmap = bm, .nr_pages = LOG_WORDS * 64 };
    g_autofree MockLayout *la = g_new0(MockLayout, 1);
    g_autofree MockLayout *lb = g_new0(MockLayout, 1);
    unsigned i;
    int ret;

    NEED_MOCK();
    c->mock_buf2 = alloc_pages(len);
    CHECK(c->mock_buf2, "mmap");
    OK(vfi_iommufd_ioas_map(c->be, c->mock_ioas, MOCK_IOVA + off, len, c->mock_buf2, false,
                               errp));
    /* This mapping's own IOPTEs (t_mock_layout()), the same in both HWPTs:
     * the pages read dirty are those of the IOPTEs holding a marked one. */
    CHECK_RESULT(mock_probe_layout(c, c->hwpt_a, MOCK_IOVA + off, 128, la));
    CHECK_RESULT(mock_probe_layout(c, c->hwpt_b, MOCK_IOVA + off, 128, lb));
    CHECK(layout_equal(la, lb), "hwpts %u and %u map the same pages with other IOPTEs",
          c->hwpt_a, c->hwpt_b);
    units_of_pages(pa, 64, ma);
    units_of_pages(pb, 64, mb);
    model_read(la, ma, 0, 128, PG / MOCK_PG, false, ra, 64);
    model_read(lb, mb, 0, 128, PG / MOCK_PG, false, rb, 64);
    both[0] = ra[0] | rb[0];
    ret = mock_mark_at(c, c->hwpt_a, MOCK_IOVA + off, 64, pa, &nr);
    CHECK(ret == 0 && nr == popcount_words(pa, 1), "IOMMU_TEST_OP_DIRTY a: %s, %" PRIu64,
          g_strerror(-ret), nr);
    ret = mock_mark_at(c, c->hwpt_b, MOCK_IOVA + off, 64, pb, &nr);
    CHECK(ret == 0 && nr == popcount_words(pb, 1), "IOMMU_TEST_OP_DIRTY b: %s, %" PRIu64,
          g_strerror(-ret), nr);
    /* NO_CLEAR read of the range about to go, at a sub-byte bit of the log */
    OK(vfi_dirty_reader_query(c->rd_ab, MOCK_IOVA + off, len, &log, NC, errp));
    OK(vfi_iommufd_ioas_unmap(c->be, c->mock_ioas, MOCK_IOVA + off, len, &unmapped, errp));
    CHECK(unmapped == len, "unmapped 0x%" PRIx64, unmapped);
    for (i = 0; i < LOG_WORDS * 64; i++) {
        bool exp = i >= 5 && i < 5 + 64 && bit_of(both, i - 5);

        CHECK(bit_of(bm, i) == exp, "log bit %u is %d, want %d", i, bit_of(bm, i), exp);
    }
    /* The dirty state went with the mapping: reading the range where
     * nothing is mapped any more succeeds (6.12) and finds nothing. */
    memset(bm, 0, sizeof(bm));
    OK(vfi_dirty_reader_query(c->rd_ab, MOCK_IOVA + off, len, &log, NC, errp));
    CHECK(popcount_words(bm, LOG_WORDS) == 0, "bits read from an unmapped range");
    /* The main mapping was not touched: still clean. */
    CHECK_READ(c->rd_ab, ALL, NC, NULL, 0, 0, "main mapping after the unmap");
    /* Mapped again: clean. */
    OK(vfi_iommufd_ioas_map(c->be, c->mock_ioas, MOCK_IOVA + off, len, c->mock_buf2, false,
                               errp));
    memset(bm, 0, sizeof(bm));
    OK(vfi_dirty_reader_query(c->rd_ab, MOCK_IOVA + off, len, &log, 0, errp));
    CHECK(popcount_words(bm, LOG_WORDS) == 0, "remapped range dirty");
    OK(vfi_iommufd_ioas_unmap(c->be, c->mock_ioas, MOCK_IOVA + off, len, &unmapped, errp));
    return T_PASS;
}

static TResult t_mock_stop(Ctx *c)
{
    uint64_t nr = 0;
    int ret;

    NEED_MOCK();
    OK(vfi_iommufd_hwpt_set_dirty_tracking(c->be, c->hwpt_a, false, errp));
    OK(vfi_iommufd_hwpt_set_dirty_tracking(c->be, c->hwpt_a, false, errp));
    OK(vfi_iommufd_hwpt_set_dirty_tracking(c->be, c->hwpt_b, false, errp));
    /* The mock refuses to mark pages while tracking is off. */
    ret = mock_mark(c, c->hwpt_a, PAT_A, &nr);
    CHECK(ret == -EINVAL, "IOMMU_TEST_OP_DIRTY with tracking off: %s", g_strerror(-ret));
    /* Starting again starts clean. */
    OK(vfi_iommufd_hwpt_set_dirty_tracking(c->be, c->hwpt_a, true, errp));
    memset(c->mock_marked[0], 0, sizeof(c->mock_marked[0]));
    CHECK_READ(c->rd_a, ALL, 0, NULL, 0, 0, "restart");
    OK(vfi_iommufd_hwpt_set_dirty_tracking(c->be, c->hwpt_a, false, errp));
    return T_PASS;
}

/*
 * Nest parents on the mock: it takes NEST_PARENT and NEST_PARENT |
 * DIRTY_TRACKING for a device with dirty tracking, NEST_PARENT alone for
 * one without (the pair: EOPNOTSUPP from the core). A nest parent with the
 * flag tracks as a plain dirty HWPT: the same marks read the same bits.
 */
static TResult t_mock_nest_parent(Ctx *c)
{
    const uint32_t np = IOMMU_HWPT_ALLOC_NEST_PARENT, dt = IOMMU_HWPT_ALLOC_DIRTY_TRACKING;
    static const uint64_t pages[1] = { 0x28 };      /* pages 3 and 5 of the range */
    uint64_t bm_np[1] = { 0 }, bm_a[1] = { 0 }, nr = 0;
    uint32_t h_np = 0, h_npd = 0, h_n = 0, id = 0, st = 0;
    const uint64_t at = MOCK_IOVA + 8 * PG;
    int ret;

    NEED_MOCK();
    OK(vfi_iommufd_hwpt_alloc(c->be, c->idev, c->mock_ioas, np, IOMMU_HWPT_DATA_NONE, 0, NULL,
                              &h_np, errp));
    OK(vfi_iommufd_hwpt_alloc(c->be, c->idev, c->mock_ioas, np | dt, IOMMU_HWPT_DATA_NONE, 0,
                              NULL, &h_npd, errp));
    CHECK(c->idev_n, "no mock device without dirty tracking");
    OK(vfi_iommufd_hwpt_alloc(c->be, c->idev_n, c->mock_ioas, np, IOMMU_HWPT_DATA_NONE, 0,
                              NULL, &h_n, errp));
    KERR(vfi_iommufd_hwpt_alloc(c->be, c->idev_n, c->mock_ioas, np | dt, IOMMU_HWPT_DATA_NONE,
                                0, NULL, &id, errp), EOPNOTSUPP);
    note(c, "nest parents: hwpt %u (NEST_PARENT), %u (with DIRTY_TRACKING), %u (no-dirty "
         "device)", h_np, h_npd, h_n);
    /* a device in the dirty nest parent, then the same marks as in hwpt_a */
    ret = mock_domain(c, h_npd, 0, &st, NULL, NULL);
    CHECK(ret == 0, "mock device on hwpt %u: %s", h_npd, g_strerror(-ret));
    KERR(vfi_iommufd_hwpt_set_dirty_tracking(c->be, h_np, true, errp), EOPNOTSUPP);
    OK(vfi_iommufd_hwpt_set_dirty_tracking(c->be, h_npd, true, errp));
    OK(vfi_iommufd_hwpt_set_dirty_tracking(c->be, c->hwpt_a, true, errp));
    ret = mock_mark_at(c, h_npd, at, 8, pages, &nr);
    CHECK(ret == 0, "mark on hwpt %u: %s", h_npd, g_strerror(-ret));
    ret = mock_mark_at(c, c->hwpt_a, at, 8, pages, &nr);
    CHECK(ret == 0, "mark on hwpt %u: %s", c->hwpt_a, g_strerror(-ret));
    OK(vfi_iommufd_hwpt_get_dirty_bitmap(c->be, h_npd, at, 8 * PG, PG, bm_np, 0, errp));
    OK(vfi_iommufd_hwpt_get_dirty_bitmap(c->be, c->hwpt_a, at, 8 * PG, PG, bm_a, 0, errp));
    note(c, "nest parent read 0x%" PRIx64 ", plain dirty HWPT 0x%" PRIx64, bm_np[0], bm_a[0]);
    CHECK((bm_np[0] & pages[0]) == pages[0], "bits 0x%" PRIx64, bm_np[0]);
    CHECK(bm_np[0] == bm_a[0], "nest parent 0x%" PRIx64 " plain 0x%" PRIx64, bm_np[0], bm_a[0]);
    OK(vfi_iommufd_hwpt_set_dirty_tracking(c->be, h_npd, false, errp));
    OK(vfi_iommufd_hwpt_set_dirty_tracking(c->be, c->hwpt_a, false, errp));
    KERR(vfi_iommufd_destroy(c->be, h_npd, errp), EBUSY);
    OK(vfi_iommufd_destroy(c->be, st, errp));
    OK(vfi_iommufd_destroy(c->be, h_npd, errp));
    OK(vfi_iommufd_destroy(c->be, h_np, errp));
    OK(vfi_iommufd_destroy(c->be, h_n, errp));
    return T_PASS;
}

static TResult t_mock_teardown(Ctx *c)
{
    uint32_t objs[8];
    unsigned n = 0, i;
    uint64_t unmapped = 0;

    NEED_MOCK();
    g_clear_pointer(&c->lay, g_free);
    /* The readers hold no kernel object. */
    g_clear_pointer(&c->rd_a, vfi_dirty_reader_free);
    g_clear_pointer(&c->rd_b, vfi_dirty_reader_free);
    g_clear_pointer(&c->rd_ab, vfi_dirty_reader_free);
    /* A HWPT with a device in it. */
    KERR(vfi_iommufd_destroy(c->be, c->hwpt_a, errp), EBUSY);
    KERR(vfi_iommufd_destroy(c->be, c->mock_ioas, errp), EBUSY);
    /* Devices (their selftest objects), then HWPTs, then the IOAS. */
    objs[n++] = c->stdev_a;
    objs[n++] = c->stdev_b;
    if (c->stdev_n) {
        objs[n++] = c->stdev_n;
    }
    objs[n++] = c->stdev;
    objs[n++] = c->hwpt_a;
    objs[n++] = c->hwpt_b;
    if (c->hwpt_plain) {
        objs[n++] = c->hwpt_plain;
    }
    for (i = 0; i < n; i++) {
        OK(vfi_iommufd_destroy(c->be, objs[i], errp));
    }
    OK(vfi_iommufd_ioas_unmap_all(c->be, c->mock_ioas, &unmapped, errp));
    CHECK(unmapped == MOCK_PAGES * PG, "unmapped 0x%" PRIx64, unmapped);
    OK(vfi_iommufd_destroy(c->be, c->mock_ioas, errp));
    objs[n++] = c->mock_ioas;
    /* The kernel-made HWPT of the first mock device went with it. */
    objs[n++] = c->auto_hwpt;
    for (i = 0; i < n; i++) {
        KERR(vfi_iommufd_destroy(c->be, objs[i], errp), ENOENT);
    }
    vfi_iommufd_disconnect(c->be);
    OK(vfi_iommufd_free(c->be, errp));
    c->be = NULL;
    return T_PASS;
}

#endif /* VFI_GUEST_MOCK_DIRTY_H */
