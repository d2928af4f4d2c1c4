/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd kernel model: dma-bufs of device BARs and peer-to-peer DMA.
 *
 * VFIO_DEVICE_FEATURE_DMA_BUF (Linux 6.19, vfio_pci_dmabuf.c) exports
 * slices of a PCI device's BAR as a dma-buf fd; iommufd's IOMMU_IOAS_MAP_FILE
 * maps such an fd (iopt_map_file_pages(): a VFIO dma-buf of one range,
 * any part of it), so another device's DMA at that IOVA reaches the BAR.
 *
 * In the model every PCI device has a BAR0 of SIM_BAR0_SIZE bytes (its
 * contents allocated on first use), with a P2P provider unless the topology
 * says p2p-provider=false; it has no other BAR. A dma-buf is a memfd the
 * model makes and names "vfi-sim-dma-buf-<id>", so it knows the fd again
 * wherever it is passed (a dup of it too) by that name in /proc/self/fd;
 * the caller owns the fd. A dma-buf lives while an fd of the process or a
 * mapping of an IOAS names it (computed when asked: the model sees no
 * close()). Closing the device file revokes its dma-bufs, as
 * vfio_pci_dma_buf_cleanup() does: mappings of them stay in their IOAS
 * but DMA through them faults, and a new MAP_FILE of one gives ENODEV.
 * vfi_sim_dma_write_data() moves bytes: into memory mappings (the user
 * pages) and into BAR0 through dma-buf mappings.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/vfio.h>

#include "config.h"
#include "vfio-iommufd/error.h"
#include "sim-internal.h"
#include "trace.h"

#define DMABUF_NAME "vfi-sim-dma-buf-"
/* DMA_IOVA_USE_SWIOTLB: validate_dmabuf_input() refuses a total with it */
#define DMABUF_SIZE_BIT (UINT64_C(1) << 63)

typedef struct SimDmaBuf {
    uint64_t id;
    SimDevice *dev;
    uint64_t bar_offset;        /* the first range's (the one iommufd maps) */
    uint64_t size;              /* the sum of the ranges */
    uint32_t nr_ranges;
    bool revoked;
    uint64_t ino;               /* the memfd's inode */
} SimDmaBuf;

static int refuse(SimDeviceFile *df, int err, const char *why)
{
    trace_vfi_sim_device_refused(df->dev->name, "VFIO_DEVICE_FEATURE_DMA_BUF", err, why);
    return -err;
}

static uint8_t *bar0_of(SimDevice *dev)
{
    if (!dev->bar0) {
        dev->bar0 = g_malloc0(SIM_BAR0_SIZE);
    }
    return dev->bar0;
}

/* ---- liveness ------------------------------------------------------------ */

/* The id of a model dma-buf @fd names (by its memfd's name), 0 if none. */
static uint64_t fd_dmabuf_id(int fd)
{
    char path[64], link[128];
    ssize_t n;
    uint64_t id = 0;

    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    n = readlink(path, link, sizeof(link) - 1);
    if (n <= 0) {
        return 0;
    }
    link[n] = '\0';
    if (sscanf(link, "/memfd:" DMABUF_NAME "%" SCNu64, &id) != 1) {
        return 0;
    }
    return id;
}

/* The ids some fd of the process names. */
static GHashTable *ids_open(void)
{
    GHashTable *ids = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;

    while (d && (e = readdir(d))) {
        uint64_t id = e->d_name[0] != '.' ? fd_dmabuf_id(atoi(e->d_name)) : 0;

        if (id) {
            g_hash_table_add(ids, g_memdup2(&id, sizeof(id)));
        }
    }
    if (d) {
        closedir(d);
    }
    return ids;
}

/* Whether a mapping of a live IOAS names dma-buf @id. */
static bool id_mapped(const VfiSim *sim, uint64_t id)
{
    for (guint c = 0; c < sim->contexts->len; c++) {
        SimCtx *ctx = g_ptr_array_index(sim->contexts, c);
        GHashTableIter it;
        gpointer value;

        g_hash_table_iter_init(&it, ctx->objects);
        while (g_hash_table_iter_next(&it, NULL, &value)) {
            SimObj *obj = value;

            if (!obj->maps) {
                continue;
            }
            SIM_MAPS_FOREACH_FROM(m, obj->maps, 0) {
                if (m->dmabuf == id) {
                    return true;
                }
            }
        }
    }
    return false;
}

/* Forget the dma-bufs nothing names any more (the kernel frees one with
 * its last reference). */
static void dmabuf_gc(VfiSim *sim)
{
    g_autoptr(GHashTable) open_ids = NULL;
    GHashTableIter it;
    gpointer value;

    if (!sim->dmabufs) {
        return;
    }
    open_ids = ids_open();
    g_hash_table_iter_init(&it, sim->dmabufs);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        SimDmaBuf *db = value;

        if (!g_hash_table_contains(open_ids, &db->id) && !id_mapped(sim, db->id)) {
            trace_vfi_sim_dmabuf_released(db->id, db->dev->name);
            g_hash_table_iter_remove(&it);
        }
    }
}

unsigned vfi_sim_live_dma_bufs(const VfiSim *sim)
{
    SIM_LOCKED(sim);
    VfiSim *s = (VfiSim *)sim;

    dmabuf_gc(s);
    return s->dmabufs ? g_hash_table_size(s->dmabufs) : 0;
}

void sim_dmabuf_free_all(VfiSim *sim)
{
    g_clear_pointer(&sim->dmabufs, g_hash_table_destroy);
}

void sim_dmabuf_device_closed(VfiSim *sim, SimDevice *dev)
{
    GHashTableIter it;
    gpointer value;

    if (!sim->dmabufs) {
        return;
    }
    g_hash_table_iter_init(&it, sim->dmabufs);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        SimDmaBuf *db = value;

        if (db->dev == dev && !db->revoked) {
            db->revoked = true;
            trace_vfi_sim_dmabuf_revoked(db->id, dev->name);
        }
    }
}

/* ---- export ---------------------------------------------------------------- */

#if HAVE_VFIO_DEVICE_FEATURE_DMA_BUF

/* validate_dmabuf_input() and vfio_pci_core_fill_phys_vec() for BAR0. */
static int check_ranges(SimDeviceFile *df, const struct vfio_region_dma_range *r, uint32_t n,
                        uint64_t *size)
{
    uint64_t total = 0, end;

    for (uint32_t i = 0; i < n; i++) {
        if (!r[i].length || (r[i].offset | r[i].length) & (SIM_PAGE_SIZE - 1) ||
            __builtin_add_overflow(total, r[i].length, &total)) {
            return refuse(df, EINVAL, "a range empty, unaligned, or the sum overflows");
        }
    }
    if (total & DMABUF_SIZE_BIT) {
        return refuse(df, EINVAL, "total length too large");
    }
    if (df->dev->no_p2p_provider) {
        return refuse(df, EINVAL, "BAR0 has no P2P provider (topology p2p-provider=false)");
    }
    for (uint32_t i = 0; i < n; i++) {
        if (__builtin_add_overflow(r[i].offset, r[i].length, &end)) {
            return refuse(df, EOVERFLOW, "offset + length overflows");
        }
        if (end > SIM_BAR0_SIZE) {
            return refuse(df, EINVAL, "a range reaches past the BAR's end");
        }
    }
    *size = total;
    return 0;
}

/* dma_buf_export() and dma_buf_fd(): the memfd standing for the dma-buf. */
static int make_fd(SimDeviceFile *df, SimDmaBuf *db, uint32_t open_flags)
{
    g_autofree char *name = g_strdup_printf(DMABUF_NAME "%" PRIu64, db->id);
    struct stat st;
    int fd = memfd_create(name, (open_flags & O_CLOEXEC) ? MFD_CLOEXEC : 0);

    if (fd < 0) {
        return refuse(df, errno, "memfd_create");
    }
    if (ftruncate(fd, db->size) < 0 || fstat(fd, &st) < 0) {
        int err = errno;

        close(fd);
        return refuse(df, err, "ftruncate");
    }
    db->ino = st.st_ino;
    return fd;
}

int sim_dmabuf_feature(SimDeviceFile *df, uint32_t flags, void *data, size_t data_size)
{
    struct vfio_device_feature_dma_buf get;
    g_autofree struct vfio_region_dma_range *ranges = NULL;
    uint32_t dir = flags & (VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET);
    SimDmaBuf *db;
    uint64_t size;
    int rc;

    if (!df->dev->iommu) {
        /* an mdev (mtty) has no device_feature op: vfio core's ENOTTY */
        return refuse(df, ENOTTY, "an mdev has no dma-buf export");
    }
    if ((dir & ~VFIO_DEVICE_FEATURE_GET) ||
        (!(flags & VFIO_DEVICE_FEATURE_PROBE) && (!dir || data_size < sizeof(get)))) {
        return refuse(df, EINVAL, "not GET, or argsz");
    }
    if (flags & VFIO_DEVICE_FEATURE_PROBE) {
        return 0;
    }
    memcpy(&get, data, sizeof(get));
    if (!get.nr_ranges || get.flags) {
        return refuse(df, EINVAL, "no range, or flags");
    }
    if (get.region_index != VFIO_PCI_BAR0_REGION_INDEX) {
        return refuse(df, ENODEV, "no such BAR (the model's devices have BAR0 only)");
    }
    /* The kernel reads nr_ranges entries whatever argsz says; the model
     * cannot read past the buffer: EFAULT, as for unmapped user memory. */
    if ((data_size - sizeof(get)) / sizeof(*ranges) < get.nr_ranges) {
        return refuse(df, EFAULT, "argsz does not cover nr_ranges ranges");
    }
    ranges = g_memdup2((uint8_t *)data + sizeof(get), (gsize)get.nr_ranges * sizeof(*ranges));
    rc = check_ranges(df, ranges, get.nr_ranges, &size);
    if (rc) {
        return rc;
    }
    if (!df->sim->dmabufs) {
        df->sim->dmabufs = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, g_free);
    }
    dmabuf_gc(df->sim);
    db = g_new0(SimDmaBuf, 1);
    db->id = ++df->sim->next_dmabuf;
    db->dev = df->dev;
    db->bar_offset = ranges[0].offset;
    db->size = size;
    db->nr_ranges = get.nr_ranges;
    rc = make_fd(df, db, get.open_flags);
    if (rc < 0) {
        g_free(db);
        return rc;
    }
    bar0_of(df->dev);
    g_hash_table_insert(df->sim->dmabufs, &db->id, db);
    trace_vfi_sim_dmabuf_export(df->dev->name, db->id, get.nr_ranges, db->size, rc);
    return rc;
}

#else /* 6.12 headers: the model is a kernel before 6.19 */

int sim_dmabuf_feature(SimDeviceFile *df, uint32_t flags, void *data, size_t data_size)
{
    (void)flags;
    (void)data;
    (void)data_size;
    return refuse(df, ENOTTY, "feature not offered");
}

#endif

/* ---- MAP_FILE ------------------------------------------------------------- */

static SimDmaBuf *lookup_fd(VfiSim *sim, int fd)
{
    uint64_t id = sim->dmabufs ? fd_dmabuf_id(fd) : 0;
    SimDmaBuf *db = id ? g_hash_table_lookup(sim->dmabufs, &id) : NULL;
    struct stat st;

    if (!db || fstat(fd, &st) < 0 || st.st_ino != db->ino) {
        return NULL;
    }
    return db;
}

int sim_dmabuf_map_check(VfiSim *sim, int fd, uint64_t start, uint64_t length, uint64_t *id)
{
    const char *what = "IOMMU_IOAS_MAP_FILE";
    SimDmaBuf *db = lookup_fd(sim, fd);

    *id = 0;
    if (!db) {
        return 0;
    }
    /* iopt_alloc_dmabuf_pages(): the range inside the dma-buf */
    if (db->size <= start + length - 1) {
        trace_vfi_sim_refused(what, EINVAL, "range reaches past the dma-buf's end");
        return -EINVAL;
    }
    /* vfio_pci_dma_buf_attach() / vfio_pci_dma_buf_iommufd_map() */
    if (db->revoked) {
        trace_vfi_sim_refused(what, ENODEV, "dma-buf revoked (its device was closed)");
        return -ENODEV;
    }
    if (db->nr_ranges != 1) {
        trace_vfi_sim_refused(what, EOPNOTSUPP, "dma-buf of several ranges");
        return -EOPNOTSUPP;
    }
    *id = db->id;
    return 0;
}

bool sim_dmabuf_revoked_in(const VfiSim *sim, const SimObj *ioas, uint64_t iova, uint64_t len)
{
    uint64_t last = iova + len - 1;

    if (!sim->dmabufs) {
        return false;
    }
    SIM_MAPS_FOREACH_FROM(m, ioas->maps, iova) {
        SimDmaBuf *db;

        if (m->iova > last) {
            break;
        }
        db = m->dmabuf ? g_hash_table_lookup(sim->dmabufs, &m->dmabuf) : NULL;
        if (db && db->revoked) {
            return true;
        }
    }
    return false;
}

/* ---- data DMA and the BAR ---------------------------------------------------- */

/* The IOAS @dev's DMA goes through, or NULL (not attached). */
static SimObj *device_ioas(SimDevice *dev)
{
    SimObj *t = dev->bound && dev->bound->obj ? dev->bound->obj->attached : NULL;

    return t && t->type == SIM_OBJ_HWPT ? t->ioas : t;
}

/* Where the bytes of mapping @m at @iova go: a host pointer, or NULL with
 * *@why. */
static uint8_t *mapping_target(VfiSim *sim, const SimMapping *m, uint64_t iova,
                               const char **why)
{
    uint64_t off = m->user_va + (iova - m->iova);
    SimDmaBuf *db;

    if (!m->by_file) {
        return (uint8_t *)(uintptr_t)off;
    }
    db = m->dmabuf && sim->dmabufs ? g_hash_table_lookup(sim->dmabufs, &m->dmabuf) : NULL;
    if (!db) {
        *why = "a mapping of a file: data DMA not modelled";
        return NULL;
    }
    if (db->revoked) {
        *why = "IOMMU fault: the dma-buf was revoked (its device was closed)";
        return NULL;
    }
    return bar0_of(db->dev) + db->bar_offset + off;
}

/* One walk over [iova, iova + len) of @ioas: each byte's target, copied
 * into with @write (a first walk without finds any fault). */
static bool dma_walk(VfiSim *sim, const char *name, SimObj *ioas, uint64_t iova,
                     const uint8_t *data, size_t len, bool write, GError **errp)
{
    uint64_t cur = iova, done = 0;

    while (done < len) {
        const SimMapping *m = sim_maps_first(ioas->maps, cur);
        const char *why = "IOMMU fault (not mapped writeable)";
        uint8_t *to = m && m->iova <= cur ? mapping_target(sim, m, cur, &why) : NULL;
        uint64_t n = to ? MIN(len - done, m->last - cur + 1) : 0;

        if (!to) {
            g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                        "DMA write of device %s to 0x%" PRIx64 ": %s", name, cur, why);
            return false;
        }
        if (write) {
            memcpy(to, data + done, n);
        }
        done += n;
        cur += n;
    }
    return true;
}

bool vfi_sim_dma_write_data(VfiSim *sim, const char *name, uint64_t iova, const void *data,
                            size_t len, GError **errp)
{
    SIM_LOCKED(sim);
    SimDevice *dev = sim_find_device(sim, name);
    SimObj *ioas = dev ? device_ioas(dev) : NULL;

    if (!data || !len) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT, "DMA of no data");
        return false;
    }
    /* attachment, coverage and dirty marking: vfi_sim_dma_write() */
    if (!ioas || !sim_ioas_covers(ioas, iova, len, true)) {
        return vfi_sim_dma_write(sim, name, iova, len, errp);
    }
    if (!dma_walk(sim, name, ioas, iova, data, len, false, errp)) {
        trace_vfi_sim_dma_fault(name, iova, len);
        return false;
    }
    dma_walk(sim, name, ioas, iova, data, len, true, NULL);
    return vfi_sim_dma_write(sim, name, iova, len, errp);
}

bool vfi_sim_device_bar_read(const VfiSim *sim, const char *name, unsigned region,
                             uint64_t offset, void *buf, size_t len, GError **errp)
{
    SIM_LOCKED(sim);
    SimDevice *dev = sim_find_device(sim, name);

    if (!dev || !dev->iommu || region != VFIO_PCI_BAR0_REGION_INDEX || !buf ||
        offset > SIM_BAR0_SIZE || len > SIM_BAR0_SIZE - offset) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "BAR read of %s: no such PCI device, BAR (BAR0 only) or range",
                    name ? name : "(null)");
        return false;
    }
    memcpy(buf, bar0_of(dev) + offset, len);
    return true;
}
