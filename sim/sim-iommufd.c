/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd kernel model: /dev/iommu.
 *
 * One SimCtx per open /dev/iommu, with its own table of objects (u32 ids
 * from 1): IOAS, HWPT (user-allocated or kernel-made auto domains), DEVICE
 * bindings of physical devices and ACCESS objects of mdevs. The ioctls
 * follow Linux 6.12: the struct is read like copy_struct_from_user() does
 * (a size below the minimum: EINVAL; a larger size with non-zero trailing
 * bytes: E2BIG) and written back up to the smaller of the two sizes.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/iommufd.h>
#include <linux/magic.h>

#include "config.h"
#include "sim-internal.h"
#include "trace.h"

/* ---- contexts and objects ----------------------------------------------- */

SimCtx *sim_ctx_new(VfiSim *sim, int fd)
{
    SimCtx *ctx = g_new0(SimCtx, 1);

    ctx->sim = sim;
    ctx->fd = fd;
    ctx->objects = g_hash_table_new(g_direct_hash, g_direct_equal);
    g_ptr_array_add(sim->contexts, ctx);
    return ctx;
}

const char *sim_obj_type_name(SimObjType type)
{
    switch (type) {
    case SIM_OBJ_IOAS:
        return "ioas";
    case SIM_OBJ_HWPT:
        return "hwpt";
    case SIM_OBJ_DEVICE:
        return "device";
    case SIM_OBJ_ACCESS:
        return "access";
    case SIM_OBJ_VIOMMU:
        return "viommu";
    case SIM_OBJ_VDEVICE:
        return "vdevice";
    case SIM_OBJ_VEVENTQ:
        return "veventq";
    case SIM_OBJ_FAULT:
        return "fault";
    case SIM_OBJ_HW_QUEUE:
        return "hw-queue";
    }
    return "?";
}

SimObj *sim_ctx_lookup(SimCtx *ctx, uint32_t id)
{
    return g_hash_table_lookup(ctx->objects, GUINT_TO_POINTER(id));
}

/* Returns: object @id of @ctx if it has type @type, else NULL. */
static SimObj *sim_ctx_get(SimCtx *ctx, uint32_t id, SimObjType type)
{
    SimObj *obj = sim_ctx_lookup(ctx, id);

    return obj && obj->type == type ? obj : NULL;
}

SimObj *sim_obj_new(SimCtx *ctx, SimObjType type)
{
    SimObj *obj = g_new0(SimObj, 1);

    obj->type = type;
    obj->ctx = ctx;
    /* The lowest free id, as the kernel's xa_alloc() on ictx->objects: ids
     * of destroyed objects are handed out again (the real kernel in
     * tests/vm: an mdev bound after an IOAS and a HWPT were destroyed gets
     * the IOAS's old id). */
    obj->id = 1;
    obj->qfd = -1;
    while (sim_ctx_lookup(ctx, obj->id) || sim_ctx_tombstoned(ctx, obj->id)) {
        obj->id++;
    }
    if (type == SIM_OBJ_IOAS) {
        obj->maps = sim_maps_new();
    }
    g_hash_table_insert(ctx->objects, GUINT_TO_POINTER(obj->id), obj);
    trace_vfi_sim_object_new(ctx->fd, obj->id, sim_obj_type_name(type));
    return obj;
}

void sim_obj_free(SimObj *obj)
{
    trace_vfi_sim_object_free(obj->ctx->fd, obj->id, sim_obj_type_name(obj->type));
    g_hash_table_remove(obj->ctx->objects, GUINT_TO_POINTER(obj->id));
    sim_maps_free(obj->maps);
    sim_dirty_free(obj->dirty);
    sim_obj_clear_nesting(obj);
    g_free(obj);
}

SimObj *sim_hwpt_new(SimCtx *ctx, SimObj *ioas, SimIommu *iommu, uint32_t flags,
                     bool auto_domain)
{
    SimObj *hwpt = sim_obj_new(ctx, SIM_OBJ_HWPT);

    hwpt->ioas = ioas;
    ioas->users++;
    hwpt->iommu = iommu;
    hwpt->alloc_flags = flags;
    hwpt->auto_domain = auto_domain;
    hwpt->dirty = sim_dirty_new();
    hwpt->iopte_sizes = ctx->sim->iopte_sizes;
    return hwpt;
}

static void sim_ctx_free(SimCtx *ctx)
{
    GList *objs = g_hash_table_get_values(ctx->objects);

    g_list_free_full(objs, (GDestroyNotify)sim_obj_free);
    g_hash_table_destroy(ctx->objects);
    g_clear_pointer(&ctx->tombstones, g_hash_table_destroy);
    g_ptr_array_remove(ctx->sim->contexts, ctx);
    g_free(ctx);
}

void sim_ctx_maybe_free(SimCtx *ctx)
{
    if (ctx->fd < 0 && !ctx->bound_devices && !ctx->queue_fds) {
        sim_ctx_free(ctx);
    }
}

void sim_ctx_close(SimCtx *ctx)
{
    /* Bound devices keep the context (and its objects) alive, as the
     * kernel's device bindings hold a reference on the iommufd. */
    trace_vfi_sim_iommufd_close(ctx->fd, ctx->bound_devices);
    ctx->fd = -1;
    sim_ctx_maybe_free(ctx);
}

/* ---- IOAS mappings ------------------------------------------------------ */

static bool maps_overlap(const SimMaps *maps, uint64_t iova, uint64_t last)
{
    const SimMapping *m = sim_maps_first(maps, iova);

    return m && m->iova <= last;
}

bool sim_ioas_covers(const SimObj *ioas, uint64_t iova, uint64_t len, bool write)
{
    uint64_t last = iova + len - 1, cur = iova;

    SIM_MAPS_FOREACH_FROM(m, ioas->maps, iova) {
        if (m->iova > cur || (write && !(m->flags & IOMMU_IOAS_MAP_WRITEABLE))) {
            return false;
        }
        if (m->last >= last) {
            return true;
        }
        cur = m->last + 1;
    }
    return false;
}

uint64_t sim_ioas_contig_len(const SimObj *ioas, uint64_t iova, uint64_t len)
{
    uint64_t last = iova + len - 1, cur = iova;

    SIM_MAPS_FOREACH_FROM(m, ioas->maps, iova) {
        if (m->iova > cur) {
            break;
        }
        if (m->last >= last) {
            return len;
        }
        cur = m->last + 1;
    }
    return cur - iova;
}

/*
 * The IOVA state of an IOAS, computed from what is attached, as the kernel's
 * io_pagetable keeps it:
 *  - an IOAS with no domain is a software table: the whole 64-bit space,
 *    alignment 1 (iopt_init_table());
 *  - each domain (HWPT, user-allocated or auto) reserves what lies outside
 *    its aperture, [2^48, 2^64 - 1], and raises the alignment to its smallest
 *    page size, 4096 (iopt_table_add_domain());
 *  - each physical device attached to a domain on the IOAS reserves its
 *    reserved regions, the x86 MSI window, until it detaches
 *    (iopt_table_enforce_dev_resv_regions());
 *  - an mdev (access object) reserves nothing but needs PAGE_SIZE alignment
 *    (vfio's access ops pin pages: iopt_add_access()).
 */
bool sim_ioas_has_domain(const SimObj *ioas)
{
    GHashTableIter it;
    gpointer value;

    g_hash_table_iter_init(&it, ioas->ctx->objects);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        const SimObj *obj = value;

        if (obj->type == SIM_OBJ_HWPT && obj->ioas == ioas) {
            return true;
        }
    }
    return false;
}

bool sim_ioas_has_physical_device(const SimObj *ioas)
{
    GHashTableIter it;
    gpointer value;

    g_hash_table_iter_init(&it, ioas->ctx->objects);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        const SimObj *obj = value;

        if (obj->type == SIM_OBJ_DEVICE && obj->attached &&
            obj->attached->type == SIM_OBJ_HWPT && obj->attached->ioas == ioas) {
            return true;
        }
    }
    return false;
}

static bool ioas_has_access(const SimObj *ioas)
{
    GHashTableIter it;
    gpointer value;

    g_hash_table_iter_init(&it, ioas->ctx->objects);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        const SimObj *obj = value;

        if (obj->type == SIM_OBJ_ACCESS && obj->attached == ioas) {
            return true;
        }
    }
    return false;
}

uint64_t sim_ioas_alignment(const SimObj *ioas)
{
    return sim_ioas_has_domain(ioas) || ioas_has_access(ioas) ? SIM_PAGE_SIZE : 1;
}

unsigned sim_ioas_allowed(const SimObj *ioas, struct iommu_iova_range out[SIM_MAX_RANGES])
{
    uint64_t top = sim_ioas_has_domain(ioas) ? SIM_IOVA_LAST : UINT64_MAX;

    if (!sim_ioas_has_physical_device(ioas)) {
        out[0] = (struct iommu_iova_range) { .start = 0, .last = top };
        return 1;
    }
    out[0] = (struct iommu_iova_range) { .start = 0, .last = SIM_MSI_START - 1 };
    out[1] = (struct iommu_iova_range) { .start = SIM_MSI_LAST + 1, .last = top };
    return 2;
}

static bool iova_allowed(const SimObj *ioas, uint64_t iova, uint64_t last)
{
    struct iommu_iova_range r[SIM_MAX_RANGES];
    unsigned n = sim_ioas_allowed(ioas, r);

    for (unsigned i = 0; i < n; i++) {
        if (iova >= r[i].start && last <= r[i].last) {
            return true;
        }
    }
    return false;
}

/* Whether a mapping of @ioas overlaps [iova, last]. */
bool sim_ioas_maps_overlap(const SimObj *ioas, uint64_t iova, uint64_t last)
{
    return maps_overlap(ioas->maps, iova, last);
}

/* Whether every mapping of @ioas conforms to @align (IOVA, length and the
 * user address's offset in its page), as iopt_check_iova_alignment(). */
static bool maps_aligned(const SimObj *ioas, uint64_t align)
{
    SIM_MAPS_FOREACH_FROM(m, ioas->maps, 0) {
        if ((m->iova | (m->last - m->iova + 1) | (m->user_va % SIM_PAGE_SIZE)) &
            (align - 1)) {
            return false;
        }
    }
    return true;
}

int sim_ioas_check_new_domain(const SimObj *ioas)
{
    if (!maps_aligned(ioas, SIM_PAGE_SIZE)) {
        return -EADDRINUSE;
    }
    if (sim_ioas_maps_overlap(ioas, SIM_IOVA_LAST + 1, UINT64_MAX)) {
        return -EADDRINUSE;
    }
    return 0;
}

int sim_ioas_check_new_access(const SimObj *ioas)
{
    return maps_aligned(ioas, SIM_PAGE_SIZE) ? 0 : -EADDRINUSE;
}

int sim_ioas_check_dev_resv(const SimObj *ioas)
{
    return sim_ioas_maps_overlap(ioas, SIM_MSI_START, SIM_MSI_LAST) ? -EADDRINUSE : 0;
}

/* @x rounded up to a multiple of @align (a power of two); UINT64_MAX when
 * that overflows. */
static uint64_t align_up(uint64_t x, uint64_t align)
{
    uint64_t y;

    if (__builtin_add_overflow(x, align - 1, &y)) {
        return UINT64_MAX;
    }
    return y & ~(align - 1);
}

/* The first @align-aligned IOVA after a mapping ending at @last; false when
 * there is none. */
static bool next_start(uint64_t last, uint64_t align, uint64_t *start)
{
    if (last == UINT64_MAX) {
        return false;
    }
    *start = align_up(last + 1, align);
    return *start != UINT64_MAX || align == 1;
}

/* The lowest free IOVA aligned to @align inside an allowed range with room
 * for @length bytes. As the kernel's iopt_alloc_iova(), the search covers
 * [PAGE_SIZE, UINT64_MAX - PAGE_SIZE] only: IOVA 0 is never chosen. Returns
 * false if there is none. */
static bool ioas_alloc_iova(const SimObj *ioas, uint64_t length, uint64_t align,
                            uint64_t *iova)
{
    struct iommu_iova_range allowed[SIM_MAX_RANGES];
    unsigned nr = sim_ioas_allowed(ioas, allowed);

    for (unsigned r = 0; r < nr; r++) {
        uint64_t first = MAX(allowed[r].start, SIM_PAGE_SIZE);
        uint64_t range_last = MIN(allowed[r].last, UINT64_MAX - SIM_PAGE_SIZE);
        uint64_t start = align_up(first, align);
        const SimMapping *m = sim_maps_first(ioas->maps, start);

        if (first > range_last) {
            continue;
        }
        while (start <= range_last) {
            uint64_t hole_last = range_last;

            if (m) {
                if (m->iova <= start) {
                    /* start lies inside this mapping: skip past it */
                    if (!next_start(m->last, align, &start)) {
                        break;
                    }
                    m = sim_maps_next(m);
                    continue;
                }
                hole_last = MIN(hole_last, m->iova - 1);
            }
            if (hole_last - start >= length - 1) {
                *iova = start;
                return true;
            }
            if (!m || !next_start(m->last, align, &start)) {
                break;
            }
            m = sim_maps_next(m);
        }
    }
    return false;
}

/* Every HWPT of @ctx on @ioas forgets the dirty state of [iova, last]. */
static void ioas_drop_dirty(SimObj *ioas, uint64_t iova, uint64_t last)
{
    GHashTableIter it;
    gpointer value;

    g_hash_table_iter_init(&it, ioas->ctx->objects);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        SimObj *obj = value;

        if (obj->type == SIM_OBJ_HWPT && obj->ioas == ioas) {
            sim_dirty_clear(obj->dirty, iova, last - iova + 1);
        }
    }
}

/* ---- ioctls ------------------------------------------------------------- */

/* Log why an ioctl is refused and return -err. */
static int refuse(const char *what, int err, const char *why)
{
    trace_vfi_sim_refused(what, err, why);
    return -err;
}

static int ioctl_destroy(SimCtx *ctx, void *arg)
{
    struct iommu_destroy *cmd = arg;
    SimObj *obj = sim_ctx_lookup(ctx, cmd->id);

    if (!obj) {
        return refuse("IOMMU_DESTROY", ENOENT, "no such object");
    }
    if (obj->type == SIM_OBJ_DEVICE || obj->type == SIM_OBJ_ACCESS) {
        /* the VFIO driver holds a reference until the device fd unbinds */
        return refuse("IOMMU_DESTROY", EBUSY, "device bindings die with their fd");
    }
    if (obj->users) {
        /* a nest parent under a vIOMMU, a vIOMMU under its vDEVICEs, a queue
         * whose fd is open, ...: the users count says it */
        return refuse("IOMMU_DESTROY", EBUSY, "object in use");
    }
    sim_obj_unref_all(obj);
    sim_obj_free(obj);
    return 0;
}

static int ioctl_ioas_alloc(SimCtx *ctx, void *arg)
{
    struct iommu_ioas_alloc *cmd = arg;

    if (cmd->flags) {
        return refuse("IOMMU_IOAS_ALLOC", EOPNOTSUPP, "flags");
    }
    cmd->out_ioas_id = sim_obj_new(ctx, SIM_OBJ_IOAS)->id;
    return 0;
}

static int ioctl_ioas_iova_ranges(SimCtx *ctx, void *arg)
{
    struct iommu_ioas_iova_ranges *cmd = arg;
    struct iommu_iova_range *out = (void *)(uintptr_t)cmd->allowed_iovas;
    struct iommu_iova_range allowed[SIM_MAX_RANGES];
    uint32_t max = cmd->num_iovas, total;
    SimObj *ioas = sim_ctx_get(ctx, cmd->ioas_id, SIM_OBJ_IOAS);

    if (!ioas) {
        return refuse("IOMMU_IOAS_IOVA_RANGES", ENOENT, "not an IOAS");
    }
    if (max && !out) {
        return -EFAULT;
    }
    total = sim_ioas_allowed(ioas, allowed);
    for (uint32_t i = 0; i < MIN(max, total); i++) {
        out[i] = allowed[i];
    }
    cmd->num_iovas = total;
    cmd->out_iova_alignment = sim_ioas_alignment(ioas);
    /* the caller gets num_iovas back even when its array was too small */
    return max < total ? -EMSGSIZE : 0;
}

/* A map with FIXED_IOVA (@what: MAP or MAP_FILE): the checks of [iova,
 * *last]; @addr is the model's physical address (user_va, file offset). */
static int ioas_map_fixed(SimObj *ioas, const char *what, uint64_t iova, uint64_t length,
                          uint64_t addr, uint64_t align, uint64_t *last)
{
    if (iova & (align - 1)) {
        return refuse(what, EINVAL, "iova not aligned");
    }
    if (__builtin_add_overflow(iova, length - 1, last)) {
        return refuse(what, EOVERFLOW, "iova + length overflows");
    }
    if (!iova_allowed(ioas, iova, *last)) {
        return refuse(what, EINVAL, "range reserved or outside the aperture");
    }
    if (maps_overlap(ioas->maps, iova, *last)) {
        return refuse(what, EEXIST, "overlaps a mapping");
    }
    /* iopt_insert_area(): the user_va's (the file offset's) offset in its
     * page must be aligned as the IOAS's IOVAs are (4 KiB once a domain is
     * attached). */
    if ((addr % SIM_PAGE_SIZE) & (align - 1)) {
        return refuse(what, EINVAL, "page offset of the address not aligned");
    }
    return 0;
}

/* A map without FIXED_IOVA: the kernel chooses *@iova. */
static int ioas_map_any(SimObj *ioas, const char *what, uint64_t length, uint64_t addr,
                        uint64_t align, uint64_t *iova, uint64_t *last)
{
    /* Like the kernel (iopt_alloc_iova()), align the chosen IOVA to the
     * smaller of the length (rounded up to a power of two) and the address's
     * alignment (none for address 0, a file's start), capped at the huge
     * page size: the model is a kernel with CONFIG_TRANSPARENT_HUGEPAGE (2
     * MiB on x86; without it the kernel caps at 4 KiB). (The model keeps
     * requiring a page-aligned address here.) */
    uint64_t pow2 = length > (UINT64_C(1) << 63) ? UINT64_C(1) << 63 :
                    length == 1 ? 1 : UINT64_C(1) << (64 - __builtin_clzll(length - 1));
    uint64_t ua = MIN(addr ? MIN(UINT64_C(1) << __builtin_ctzll(addr), pow2) : pow2,
                      SIM_HPAGE_SIZE);

    if ((addr & (SIM_PAGE_SIZE - 1)) || ua < align) {
        return refuse(what, EINVAL, "address not page aligned");
    }
    if (!ioas_alloc_iova(ioas, length, ua, iova)) {
        return refuse(what, ENOSPC, "no free IOVA range");
    }
    *last = *iova + length - 1;
    return 0;
}

/* Record @m in @ioas (checked: nothing overlaps it). */
static void ioas_insert(SimObj *ioas, const SimMapping *m)
{
    sim_maps_insert(ioas->maps, m);
}

static int ioctl_ioas_map(SimCtx *ctx, void *arg)
{
    struct iommu_ioas_map *cmd = arg;
    const char *what = "IOMMU_IOAS_MAP";
    const uint32_t known = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE |
                           IOMMU_IOAS_MAP_READABLE;
    SimObj *ioas;
    uint64_t iova, last, align;
    int ret;

    if ((cmd->flags & ~known) || cmd->__reserved) {
        return refuse(what, EOPNOTSUPP, "unknown flags or reserved");
    }
    ioas = sim_ctx_get(ctx, cmd->ioas_id, SIM_OBJ_IOAS);
    if (!ioas) {
        return refuse(what, ENOENT, "not an IOAS");
    }
    align = sim_ioas_alignment(ioas);
    if (!cmd->length || (cmd->length & (align - 1))) {
        return refuse(what, EINVAL, "length zero or not aligned");
    }
    if (!cmd->user_va) {
        return refuse(what, EFAULT, "user_va is NULL");
    }
    iova = cmd->iova;
    ret = (cmd->flags & IOMMU_IOAS_MAP_FIXED_IOVA) ?
          ioas_map_fixed(ioas, what, iova, cmd->length, cmd->user_va, align, &last) :
          ioas_map_any(ioas, what, cmd->length, cmd->user_va, align, &iova, &last);
    if (ret || (ret = sim_nest_parent_map_check(ctx, ioas, cmd->flags))) {
        return ret;
    }
    cmd->iova = iova;
    ioas_insert(ioas, &(SimMapping) {
        .iova = cmd->iova, .last = last, .user_va = cmd->user_va, .flags = cmd->flags,
        .fd = -1, .owner = getpid(),
    });
    trace_vfi_sim_ioas_map(ioas->id, cmd->iova, cmd->length, cmd->flags);
    return 0;
}

#if HAVE_IOMMU_IOAS_MAP_FILE
/*
 * What pinning the file's pages would refuse (memfd_pin_folios(): a file
 * that is neither shmem nor hugetlbfs, a range reaching past i_size:
 * EINVAL). The kernel pins when the IOAS has a domain (at the map, or when
 * the first domain is added); the model checks at the map, always (the
 * stricter side). The model keeps no reference on the file.
 */
static int map_file_pin_check(const char *what, int fd, uint64_t start, uint64_t last)
{
    struct stat st;
    struct statfs sfs;

    if (fstat(fd, &st) < 0 || fstatfs(fd, &sfs) < 0) {
        return refuse(what, EBADF, "fd not open");
    }
    if (sfs.f_type != TMPFS_MAGIC && sfs.f_type != HUGETLBFS_MAGIC) {
        return refuse(what, EINVAL, "not a shmem (memfd, tmpfs) or hugetlbfs file");
    }
    if (last >= (uint64_t)st.st_size) {
        return refuse(what, EINVAL, "range reaches past the end of the file");
    }
    return 0;
}

/* The checks iommufd_ioas_map_file() and iopt_map_file_pages() make before
 * the IOVA's (7.3's order). */
static int map_file_args(SimCtx *ctx, const struct iommu_ioas_map_file *cmd, SimObj **ioas,
                         struct stat *st)
{
    const char *what = "IOMMU_IOAS_MAP_FILE";
    const uint32_t known = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE |
                           IOMMU_IOAS_MAP_READABLE;
    uint64_t last;

    if (cmd->flags & ~known) {
        return refuse(what, EOPNOTSUPP, "unknown flags");
    }
    if (cmd->iova >= UINT64_MAX || cmd->length >= UINT64_MAX) {
        return refuse(what, EOVERFLOW, "iova or length ULONG_MAX");
    }
    if (!(cmd->flags & (IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE))) {
        return refuse(what, EINVAL, "neither readable nor writeable");
    }
    *ioas = sim_ctx_get(ctx, cmd->ioas_id, SIM_OBJ_IOAS);
    if (!*ioas) {
        return refuse(what, ENOENT, "not an IOAS");
    }
    if (!cmd->length) {
        return refuse(what, EINVAL, "length 0");
    }
    if (__builtin_add_overflow(cmd->start, cmd->length - 1, &last)) {
        return refuse(what, EOVERFLOW, "start + length overflows");
    }
    if (cmd->fd < 0 || fstat(cmd->fd, st) < 0) {
        return refuse(what, EBADF, "fd not open");
    }
    if (cmd->length > SIZE_MAX - SIM_PAGE_SIZE) {
        return refuse(what, EINVAL, "length too large");
    }
    return 0;
}

static int ioctl_ioas_map_file(SimCtx *ctx, void *arg)
{
    struct iommu_ioas_map_file *cmd = arg;
    const char *what = "IOMMU_IOAS_MAP_FILE";
    SimObj *ioas = NULL;
    struct stat st;
    uint64_t iova, last, align;
    uint64_t dmabuf = 0;
    int ret = map_file_args(ctx, cmd, &ioas, &st);

    /* a dma-buf is checked when iommufd attaches to it, before the IOVA */
    if (ret || (ret = sim_dmabuf_map_check(ctx->sim, cmd->fd, cmd->start, cmd->length,
                                           &dmabuf))) {
        return ret;
    }
    align = sim_ioas_alignment(ioas);
    if (cmd->length & (align - 1)) {
        return refuse(what, EINVAL, "length not aligned");
    }
    iova = cmd->iova;
    ret = (cmd->flags & IOMMU_IOAS_MAP_FIXED_IOVA) ?
          ioas_map_fixed(ioas, what, iova, cmd->length, cmd->start, align, &last) :
          ioas_map_any(ioas, what, cmd->length, cmd->start, align, &iova, &last);
    if (ret || (ret = map_file_pin_check(what, cmd->fd, cmd->start,
                                         cmd->start + cmd->length - 1)) ||
        (ret = sim_nest_parent_map_check(ctx, ioas, cmd->flags))) {
        return ret;
    }
    cmd->iova = iova;
    ioas_insert(ioas, &(SimMapping) {
        .iova = cmd->iova, .last = last, .user_va = cmd->start, .flags = cmd->flags,
        .by_file = true, .fd = cmd->fd, .dev = st.st_dev, .ino = st.st_ino,
        .dmabuf = dmabuf,
        .owner = getpid(),
    });
    trace_vfi_sim_ioas_map_file(ioas->id, cmd->iova, cmd->length, cmd->flags, cmd->fd,
                                cmd->start);
    return 0;
}
#endif

/* Unmap everything; an empty IOAS is a success with length 0. A mapping a
 * HW queue pins stops it with EBUSY, those before it unmapped. */
static int ioas_unmap_all(SimObj *ioas, struct iommu_ioas_unmap *cmd)
{
    uint64_t unmapped = 0;
    SimMapping *m;

    while ((m = sim_maps_first(ioas->maps, 0))) {
        if (m->locks) {
            trace_vfi_sim_ioas_unmap(ioas->id, 0, UINT64_MAX, unmapped);
            return refuse("IOMMU_IOAS_UNMAP", EBUSY, "a HW queue pins a mapping");
        }
        unmapped += m->last - m->iova + 1;
        ioas_drop_dirty(ioas, m->iova, m->last);
        sim_maps_remove(ioas->maps, m);
    }
    cmd->length = unmapped;
    trace_vfi_sim_ioas_unmap(ioas->id, 0, UINT64_MAX, unmapped);
    return 0;
}

static int ioctl_ioas_unmap(SimCtx *ctx, void *arg)
{
    struct iommu_ioas_unmap *cmd = arg;
    SimObj *ioas = sim_ctx_get(ctx, cmd->ioas_id, SIM_OBJ_IOAS);
    uint64_t first = cmd->iova, last, unmapped = 0;
    int rc = 0;

    if (!ioas) {
        return refuse("IOMMU_IOAS_UNMAP", ENOENT, "not an IOAS");
    }
    if (cmd->iova == 0 && cmd->length == UINT64_MAX) {
        return ioas_unmap_all(ioas, cmd);
    }
    if (!cmd->length) {
        return refuse("IOMMU_IOAS_UNMAP", EINVAL, "length 0");
    }
    if (__builtin_add_overflow(cmd->iova, cmd->length - 1, &last)) {
        return refuse("IOMMU_IOAS_UNMAP", EOVERFLOW, "iova + length overflows");
    }
    /*
     * As the kernel's iopt_unmap_iova_range(): walk the mappings in the range
     * in IOVA order; a mapping that sticks out of the range stops the walk
     * with ENOENT (mappings before it stay unmapped), and so does a range
     * holding nothing. Mappings are never split.
     */
    for (;;) {
        SimMapping *at = sim_maps_first(ioas->maps, first), m;

        if (!at || at->iova > last) {
            break;
        }
        m = *at;
        if (m.locks) {
            /* iopt_unmap_iova_range(): area->num_locks, before the edges */
            rc = refuse("IOMMU_IOAS_UNMAP", EBUSY, "a HW queue pins the mapping");
            break;
        }
        if (m.iova < cmd->iova || m.last > last) {
            rc = refuse("IOMMU_IOAS_UNMAP", ENOENT, "a mapping crosses the range's edge");
            break;
        }
        sim_maps_remove(ioas->maps, at);
        ioas_drop_dirty(ioas, m.iova, m.last);
        unmapped += m.last - m.iova + 1;
        if (m.last == last) {
            break;
        }
        first = m.last + 1;
    }
    trace_vfi_sim_ioas_unmap(ioas->id, cmd->iova, cmd->length, unmapped);
    if (rc) {
        return rc;
    }
    if (!unmapped) {
        return refuse("IOMMU_IOAS_UNMAP", ENOENT, "nothing mapped in the range");
    }
    cmd->length = unmapped;
    return 0;
}

#if HAVE_IOMMU_HW_INFO_FLAG_INPUT_TYPE
#define HW_INFO_FLAGS ((uint32_t)IOMMU_HW_INFO_FLAG_INPUT_TYPE)
#else
#define HW_INFO_FLAGS 0u                /* 6.12: no flag at all */
#endif

/*
 * The type of hw info GET_HW_INFO asks for (7.3's iommufd_get_hw_info():
 * in_data_type counts only with IOMMU_HW_INFO_FLAG_INPUT_TYPE, else it is
 * the default, 0) and the driver's answer to it (intel_iommu_hw_info() and
 * the other drivers: a type other than the default or their own is
 * EOPNOTSUPP). Returns 0 or -errno.
 */
static int hw_info_input_type(const struct iommu_hw_info *cmd, uint32_t type)
{
#if HAVE_IOMMU_HW_INFO_FLAG_INPUT_TYPE
    uint32_t in = (cmd->flags & IOMMU_HW_INFO_FLAG_INPUT_TYPE) ? cmd->in_data_type :
                  IOMMU_HW_INFO_TYPE_DEFAULT;

    if (in != IOMMU_HW_INFO_TYPE_DEFAULT && in != type) {
        trace_vfi_sim_hw_info_type(cmd->dev_id, in, type, EOPNOTSUPP);
        return refuse("IOMMU_GET_HW_INFO", EOPNOTSUPP, "the IOMMU has no such data type");
    }
    trace_vfi_sim_hw_info_type(cmd->dev_id, in, type, 0);
#else
    (void)cmd;
    (void)type;
#endif
    return 0;
}

/* Copy @len bytes of vendor data into the caller's @data_len bytes at
 * @uptr, zeroing the rest. */
static int hw_info_copy(uint64_t uptr, uint32_t data_len, const void *data, uint32_t len)
{
    uint8_t *out = (void *)(uintptr_t)uptr;

    if (!data_len) {
        return 0;
    }
    if (!out) {
        return -EFAULT;
    }
    memcpy(out, data, MIN(data_len, len));
    if (data_len > len) {
        memset(out + len, 0, data_len - len);
    }
    return 0;
}

static int ioctl_get_hw_info(SimCtx *ctx, void *arg)
{
    struct iommu_hw_info *cmd = arg;
    SimObj *devobj;
    SimIommu *iommu;
    struct iommu_hw_info_vtd vtd = { 0 };
    uint32_t type, len = 0;
    int rc;

    if ((cmd->flags & ~HW_INFO_FLAGS) ||
        cmd->__reserved[0] || cmd->__reserved[1] || cmd->__reserved[2]) {
        return refuse("IOMMU_GET_HW_INFO", EOPNOTSUPP, "flags or reserved");
    }
    devobj = sim_ctx_get(ctx, cmd->dev_id, SIM_OBJ_DEVICE);
    if (!devobj) {
        return refuse("IOMMU_GET_HW_INFO", ENOENT, "not a physical device");
    }
    iommu = devobj->dev->iommu;
    type = iommu->cfg.hw_info_type ? iommu->cfg.hw_info_type : IOMMU_HW_INFO_TYPE_INTEL_VTD;
    rc = hw_info_input_type(cmd, type);
    if (rc) {
        return rc;
    }
    if (type == IOMMU_HW_INFO_TYPE_INTEL_VTD) {
        /* IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17 (6.8 UAPI: after the floor) */
        vtd.flags = iommu->cfg.vtd_errata_772415 ? 1u << 0 : 0;
        vtd.cap_reg = iommu->cfg.cap_reg;
        vtd.ecap_reg = iommu->cfg.ecap_reg;
        len = sizeof(vtd);
    }
    rc = hw_info_copy(cmd->data_uptr, cmd->data_len, &vtd, len);
    if (rc) {
        return rc;
    }
    cmd->data_len = len;
    cmd->out_data_type = type;
#if HAVE_IOMMU_HW_INFO_MAX_PASID
    cmd->out_max_pasid_log2 = devobj->dev->max_pasid_log2;
#endif
    cmd->out_capabilities = iommu->cfg.dirty_tracking ? IOMMU_HW_CAP_DIRTY_TRACKING : 0;
    return 0;
}

#if !HAVE_IOMMU_HWPT_ALLOC_PASID
#define IOMMU_HWPT_ALLOC_PASID 0u       /* 6.12 headers: no such flag */
#endif

/* A paging HWPT on IOAS @pt (iommufd_hwpt_paging_alloc()). */
static int hwpt_alloc_paging(SimCtx *ctx, struct iommu_hwpt_alloc *cmd, SimIommu *iommu,
                             SimObj *pt)
{
    SimObj *hwpt;
    int rc;

    if ((cmd->flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) && !iommu->cfg.dirty_tracking) {
        return refuse("IOMMU_HWPT_ALLOC", EOPNOTSUPP, "IOMMU cannot track dirty pages");
    }
    if ((rc = sim_nest_parent_alloc_check(iommu, cmd->flags))) {
        return rc;
    }
    if (cmd->data_type != IOMMU_HWPT_DATA_NONE || cmd->data_len) {
        return refuse("IOMMU_HWPT_ALLOC", EINVAL, "driver data for a paging HWPT");
    }
    if ((cmd->flags & IOMMU_HWPT_FAULT_ID_VALID) && (cmd->flags & IOMMU_HWPT_ALLOC_NEST_PARENT)) {
        return refuse("IOMMU_HWPT_ALLOC", EOPNOTSUPP, "a nest parent with a fault queue");
    }
    if ((cmd->flags & IOMMU_HWPT_FAULT_ID_VALID) && sim_hwpt_check_fault(ctx, cmd->fault_id)) {
        return -ENOENT;
    }
    if (sim_ioas_check_new_domain(pt)) {
        /* iopt_table_add_domain(): mappings beyond the aperture, or not
         * aligned to the domain's page size */
        return refuse("IOMMU_HWPT_ALLOC", EADDRINUSE,
                      "a mapping lies outside the domain's aperture");
    }
    if ((rc = sim_nest_parent_fill_check(iommu, pt, cmd->flags))) {
        return rc;
    }
    hwpt = sim_hwpt_new(ctx, pt, iommu, cmd->flags, false);
    if (cmd->flags & IOMMU_HWPT_FAULT_ID_VALID) {
        sim_hwpt_set_fault(hwpt, cmd->fault_id);
    }
    cmd->out_hwpt_id = hwpt->id;
    trace_vfi_sim_hwpt_alloc(hwpt->id, pt->id, iommu->name, cmd->flags);
    return 0;
}

static int ioctl_hwpt_alloc(SimCtx *ctx, void *arg)
{
    struct iommu_hwpt_alloc *cmd = arg;
    const uint32_t known = IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_DIRTY_TRACKING |
                           IOMMU_HWPT_FAULT_ID_VALID | IOMMU_HWPT_ALLOC_PASID;
    SimObj *devobj, *pt;

    if ((cmd->flags & ~known) || cmd->__reserved) {
        return refuse("IOMMU_HWPT_ALLOC", EOPNOTSUPP, "unknown flags or reserved");
    }
    if (!cmd->data_len && cmd->data_type != IOMMU_HWPT_DATA_NONE) {
        return refuse("IOMMU_HWPT_ALLOC", EINVAL, "data_type without data");
    }
    devobj = sim_ctx_get(ctx, cmd->dev_id, SIM_OBJ_DEVICE);
    if (!devobj) {
        return refuse("IOMMU_HWPT_ALLOC", ENOENT, "dev_id is not a physical device");
    }
    pt = sim_ctx_lookup(ctx, cmd->pt_id);
    if (!pt) {
        return refuse("IOMMU_HWPT_ALLOC", ENOENT, "no such pt_id");
    }
    if (pt->type != SIM_OBJ_IOAS) {
        /* a HWPT or vIOMMU parent: a nested allocation (sim-viommu.c) */
        return sim_hwpt_alloc_nested(ctx, cmd, devobj, pt);
    }
    return hwpt_alloc_paging(ctx, cmd, devobj->dev->iommu, pt);
}

static int ioctl_set_dirty_tracking(SimCtx *ctx, void *arg)
{
    struct iommu_hwpt_set_dirty_tracking *cmd = arg;
    SimObj *hwpt;
    bool enable = cmd->flags & IOMMU_HWPT_DIRTY_TRACKING_ENABLE;

    if ((cmd->flags & ~IOMMU_HWPT_DIRTY_TRACKING_ENABLE) || cmd->__reserved) {
        return refuse("IOMMU_HWPT_SET_DIRTY_TRACKING", EOPNOTSUPP, "flags or reserved");
    }
    hwpt = sim_ctx_get(ctx, cmd->hwpt_id, SIM_OBJ_HWPT);
    if (!hwpt) {
        return refuse("IOMMU_HWPT_SET_DIRTY_TRACKING", ENOENT, "not a HWPT");
    }
    if (!(hwpt->alloc_flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING)) {
        return refuse("IOMMU_HWPT_SET_DIRTY_TRACKING", EOPNOTSUPP,
                      "HWPT allocated without dirty tracking");
    }
    /* As the kernel's iopt_set_dirty_tracking(): every enable starts from a
     * clean snapshot, even when tracking was on already. */
    if (enable) {
        sim_dirty_clear_all(hwpt->dirty);
    }
    hwpt->dirty_enabled = enable;
    trace_vfi_sim_dirty_tracking(hwpt->id, enable);
    return 0;
}

/* The walk of a checked read, outside the model's lock under a read hold,
 * as the kernel's under its iova_rwsem: reads run at once, nothing else
 * does. */
static int read_unlocked(VfiSim *sim, SimObj *hwpt,
                         const struct iommu_hwpt_get_dirty_bitmap *cmd)
{
    bool switched = sim_lock_to_read(sim);
    int rc = sim_hwpt_read_dirty(hwpt, cmd->iova, cmd->length, cmd->page_size,
                                 (void *)(uintptr_t)cmd->data,
                                 cmd->flags & IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR);

    sim_lock_from_read(sim, switched);
    return rc;
}

static int ioctl_get_dirty_bitmap(SimCtx *ctx, void *arg)
{
    struct iommu_hwpt_get_dirty_bitmap *cmd = arg;
    SimObj *hwpt;
    uint64_t last, align;
    int rc;

    if ((cmd->flags & ~IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR) || cmd->__reserved) {
        return refuse("IOMMU_HWPT_GET_DIRTY_BITMAP", EOPNOTSUPP, "flags or reserved");
    }
    hwpt = sim_ctx_get(ctx, cmd->hwpt_id, SIM_OBJ_HWPT);
    if (!hwpt) {
        return refuse("IOMMU_HWPT_GET_DIRTY_BITMAP", ENOENT, "not a HWPT");
    }
    if (!cmd->length) {
        return refuse("IOMMU_HWPT_GET_DIRTY_BITMAP", EINVAL, "length 0");
    }
    if (__builtin_add_overflow(cmd->iova, cmd->length - 1, &last)) {
        return refuse("IOMMU_HWPT_GET_DIRTY_BITMAP", EOVERFLOW, "iova + length overflows");
    }
    /* iommufd_check_iova_range(): the IOAS's current IOVA alignment */
    align = sim_ioas_alignment(hwpt->ioas);
    if ((cmd->iova & (align - 1)) || ((last + 1) & (align - 1))) {
        return refuse("IOMMU_HWPT_GET_DIRTY_BITMAP", EINVAL, "range not IOVA aligned");
    }
    /* The kernel accepts pages smaller than the IOMMU's (the range being
     * aligned to the IOAS alignment): each 4 KiB dirty page then sets the
     * bits of all its sub-pages. A page size that is not a power of two is
     * refused here (the kernel would index by its lowest set bit). */
    if (!cmd->page_size || (cmd->page_size & (cmd->page_size - 1))) {
        return refuse("IOMMU_HWPT_GET_DIRTY_BITMAP", EINVAL, "bad page_size");
    }
    if ((cmd->iova & (cmd->page_size - 1)) || ((last + 1) & (cmd->page_size - 1))) {
        return refuse("IOMMU_HWPT_GET_DIRTY_BITMAP", EINVAL, "range not page_size aligned");
    }
    if (!(hwpt->alloc_flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING)) {
        return refuse("IOMMU_HWPT_GET_DIRTY_BITMAP", EOPNOTSUPP,
                      "HWPT allocated without dirty tracking");
    }
    if (!cmd->data) {
        return refuse("IOMMU_HWPT_GET_DIRTY_BITMAP", EFAULT, "data is NULL");
    }
    /* The IOMMU drivers' read_and_clear_dirty() (Intel, AMD, the selftest
     * mock): "if (!dirty_tracking && dirty->bitmap) return -EINVAL". */
    if (!hwpt->dirty_enabled) {
        return refuse("IOMMU_HWPT_GET_DIRTY_BITMAP", EINVAL, "dirty tracking is off");
    }
    rc = read_unlocked(ctx->sim, hwpt, cmd);
    if (rc) {
        return rc;
    }
    trace_vfi_sim_dirty_read(hwpt->id, cmd->iova, cmd->length, cmd->page_size,
                         !(cmd->flags & IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR));
    return 0;
}

/* ---- dispatch ----------------------------------------------------------- */

typedef struct IommufdOp {
    unsigned long request;
    const char *name;
    size_t size;                /* sizeof the 6.12 struct */
    size_t min_size;            /* the smallest size the kernel accepts */
    int (*fn)(SimCtx *ctx, void *cmd);
} IommufdOp;

#define OP(req, type, last, f) \
    { req, #req, sizeof(type), offsetof(type, last) + sizeof(((type *)0)->last), f }

static const IommufdOp iommufd_ops[] = {
    OP(IOMMU_DESTROY, struct iommu_destroy, id, ioctl_destroy),
    OP(IOMMU_IOAS_ALLOC, struct iommu_ioas_alloc, out_ioas_id, ioctl_ioas_alloc),
    OP(IOMMU_IOAS_IOVA_RANGES, struct iommu_ioas_iova_ranges, out_iova_alignment,
       ioctl_ioas_iova_ranges),
    OP(IOMMU_IOAS_MAP, struct iommu_ioas_map, iova, ioctl_ioas_map),
    OP(IOMMU_IOAS_UNMAP, struct iommu_ioas_unmap, length, ioctl_ioas_unmap),
#if HAVE_IOMMU_IOAS_MAP_FILE
    OP(IOMMU_IOAS_MAP_FILE, struct iommu_ioas_map_file, iova, ioctl_ioas_map_file),
#endif
    OP(IOMMU_GET_HW_INFO, struct iommu_hw_info, __reserved, ioctl_get_hw_info),
    OP(IOMMU_HWPT_ALLOC, struct iommu_hwpt_alloc, __reserved, ioctl_hwpt_alloc),
    OP(IOMMU_HWPT_SET_DIRTY_TRACKING, struct iommu_hwpt_set_dirty_tracking, __reserved,
       ioctl_set_dirty_tracking),
    OP(IOMMU_HWPT_GET_DIRTY_BITMAP, struct iommu_hwpt_get_dirty_bitmap, data,
       ioctl_get_dirty_bitmap),
    /* sim-viommu.c, sim-hwqueue.c, sim-eventq.c */
#if HAVE_IOMMU_HWPT_INVALIDATE
    OP(IOMMU_HWPT_INVALIDATE, struct iommu_hwpt_invalidate, __reserved,
       sim_ioctl_hwpt_invalidate),
#endif
#if HAVE_IOMMU_FAULT_QUEUE_ALLOC
    OP(IOMMU_FAULT_QUEUE_ALLOC, struct iommu_fault_alloc, out_fault_fd, sim_ioctl_fault_alloc),
#endif
#if HAVE_IOMMU_VIOMMU_ALLOC
    OP(IOMMU_VIOMMU_ALLOC, struct iommu_viommu_alloc, data_uptr, sim_ioctl_viommu_alloc),
#endif
#if HAVE_IOMMU_VDEVICE_ALLOC
    OP(IOMMU_VDEVICE_ALLOC, struct iommu_vdevice_alloc, virt_id, sim_ioctl_vdevice_alloc),
#endif
#if HAVE_IOMMU_VEVENTQ_ALLOC
    OP(IOMMU_VEVENTQ_ALLOC, struct iommu_veventq_alloc, __reserved, sim_ioctl_veventq_alloc),
#endif
#if HAVE_IOMMU_HW_QUEUE_ALLOC
    OP(IOMMU_HW_QUEUE_ALLOC, struct iommu_hw_queue_alloc, length, sim_ioctl_hw_queue_alloc),
#endif
#if HAVE_IOMMU_IOAS_CHANGE_PROCESS
    OP(IOMMU_IOAS_CHANGE_PROCESS, struct iommu_ioas_change_process, __reserved,
       sim_ioas_change_process),
#endif
};

/*
 * IOMMUFD requests the kernel the model follows has and the model does not
 * implement (yet): ENOTTY, as from a kernel without them, with a trace
 * event naming them. Those after 6.12 only where the build's headers have
 * them; with 6.12's headers their numbers are simply unknown.
 */
typedef struct NotModelled {
    unsigned long request;
    const char *name;
} NotModelled;

#define NM(req) { req, #req }

static const NotModelled iommufd_not_modelled[] = {
    NM(IOMMU_IOAS_ALLOW_IOVAS), NM(IOMMU_IOAS_COPY), NM(IOMMU_OPTION), NM(IOMMU_VFIO_IOAS),
};

static int ioctl_unknown(SimCtx *ctx, unsigned long request)
{
    for (size_t i = 0; i < G_N_ELEMENTS(iommufd_not_modelled); i++) {
        if (iommufd_not_modelled[i].request == request) {
            trace_vfi_sim_ioctl_not_modelled(ctx->fd, iommufd_not_modelled[i].name, ENOTTY);
            return -ENOTTY;
        }
    }
    trace_vfi_sim_ioctl_unknown(ctx->fd, request);
    return -ENOTTY;
}

#if HAVE_IOMMU_HWPT_INVALIDATE
#define INVALIDATE_FN sim_ioctl_hwpt_invalidate
#else
#define INVALIDATE_FN NULL
#endif

int sim_iommufd_ioctl(SimCtx *ctx, unsigned long request, void *arg)
{
    const IommufdOp *op = NULL;
    uint64_t cmd[16];           /* big and aligned enough for every struct */
    uint32_t user_size;
    const uint8_t *user = arg;
    int rc;

    for (size_t i = 0; i < G_N_ELEMENTS(iommufd_ops); i++) {
        if (iommufd_ops[i].request == request) {
            op = &iommufd_ops[i];
        }
    }
    if (!op) {
        return ioctl_unknown(ctx, request);
    }
    G_STATIC_ASSERT(sizeof(struct iommu_hwpt_alloc) <= sizeof(cmd));
    memcpy(&user_size, arg, sizeof(user_size));
    if (user_size < op->min_size) {
        return refuse(op->name, EINVAL, "size below the minimum");
    }
    /* copy_struct_from_user(): a newer, larger struct is fine if its
     * extra bytes are zero */
    for (size_t i = op->size; i < user_size; i++) {
        if (user[i]) {
            return refuse(op->name, E2BIG, "unknown trailing bytes not zero");
        }
    }
    memset(cmd, 0, sizeof(cmd));
    memcpy(cmd, arg, MIN(user_size, op->size));
    rc = op->fn(ctx, cmd);
    /* IOMMU_HWPT_INVALIDATE reports the requests it consumed on failure
     * too (iommufd_hwpt_invalidate() responds in every case) */
    if (rc == 0 || rc == -EMSGSIZE || op->fn == INVALIDATE_FN) {
        memcpy(arg, cmd, MIN(user_size, op->size));
    }
    return rc;
}
