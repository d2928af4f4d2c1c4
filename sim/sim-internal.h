/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd kernel model: internal state shared by the files of sim/.
 *
 * One VfiSim holds the topology (IOMMU instances, devices), the table of
 * fds open on it and the fault-injection state. Each open /dev/iommu is a
 * SimCtx with its own object table; each open /dev/vfio/devices/vfioN is a
 * SimFile of kind SIM_FILE_DEVICE with its own bind state.
 */
#ifndef VFI_SIM_INTERNAL_H
#define VFI_SIM_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <glib.h>
#include <linux/iommufd.h>

#include "vfio-iommufd-sim/sim.h"

/* The model's IOMMU page size: the IOVA alignment of an IOAS with a domain
 * (or an mdev) on it. */
#define SIM_PAGE_SHIFT 12
#define SIM_PAGE_SIZE (UINT64_C(1) << SIM_PAGE_SHIFT)
/* Highest IOVA of a domain's aperture: 48 bits. */
/* Huge page size of the modelled kernel (x86, CONFIG_TRANSPARENT_HUGEPAGE). */
#define SIM_HPAGE_SIZE (UINT64_C(2) << 20)
#define SIM_IOVA_LAST ((UINT64_C(1) << 48) - 1)
/* The x86 MSI window, reserved in an IOAS while a physical device is
 * attached to a domain on it. */
#define SIM_MSI_START UINT64_C(0xfee00000)
#define SIM_MSI_LAST UINT64_C(0xfeefffff)
/* Most allowed IOVA ranges an IOAS can have in the model. */
#define SIM_MAX_RANGES 2
/*
 * Most ranges a VFIO_DEVICE_FEATURE_DMA_LOGGING_START accepts: the kernel's
 * vfio core refuses more than fit in one 4 KiB page (256 ranges of 16
 * bytes) with E2BIG.
 */
#define SIM_LOG_MAX_RANGES 256

/* ---- dirty page store (sim-dirty.c) ------------------------------------ */

/*
 * A set of dirty 4 KiB IOVA pages, kept as 1 GiB chunks of bits allocated on
 * first dirtying.
 */
typedef struct SimDirty SimDirty;

SimDirty *sim_dirty_new(void);
void sim_dirty_free(SimDirty *d);
/* Mark every 4 KiB page touching [iova, iova + len) (len > 0). */
void sim_dirty_mark(SimDirty *d, uint64_t iova, uint64_t len);
/* Forget the pages of [iova, iova + len) (len > 0). */
void sim_dirty_clear(SimDirty *d, uint64_t iova, uint64_t len);
/* Forget everything. */
void sim_dirty_clear_all(SimDirty *d);
/*
 * OR into @bitmap one bit per @page_size page of [iova, iova + len): bit i
 * is set when a 4 KiB page inside iova + i * page_size is dirty. @iova and
 * @len are multiples of @page_size, a power of two >= 4096. With @clear the
 * pages reported on are forgotten afterwards. @bitmap may be at any byte
 * address (the kernel puts no alignment requirement on it); only the
 * DIV_ROUND_UP(len / page_size, 64) words starting there are touched.
 */
void sim_dirty_report(SimDirty *d, uint64_t iova, uint64_t len, uint64_t page_size,
                      void *bitmap, bool clear);
/* Returns: whether the 4 KiB page at @iova is dirty (for tests). */
bool sim_dirty_test(const SimDirty *d, uint64_t iova);
/*
 * The first dirty 4 KiB page in [iova, last] (page-aligned @iova): sets
 * *@found to its IOVA and returns true, or false when there is none.
 * Visits the chunks of the range in order, skipping absent ones.
 */
bool sim_dirty_next(const SimDirty *d, uint64_t iova, uint64_t last, uint64_t *found);

/* ---- topology (sim.c, sim-topology.c) ---------------------------------- */

typedef struct SimIommu {
    char *name;
    unsigned index;             /* order of creation, from 0 */
    VfiSimIommuConfig cfg;     /* cap_reg/ecap_reg already derived */
} SimIommu;

typedef struct SimDeviceFile SimDeviceFile;

typedef struct SimLogRange {
    uint64_t iova;
    uint64_t last;
} SimLogRange;

typedef struct SimDevice {
    char *name;
    unsigned cdev_index;        /* N of /dev/vfio/devices/vfioN */
    SimIommu *iommu;            /* NULL: an mdev */
    bool dma_logging;           /* offers VFIO_DEVICE_FEATURE_DMA_LOGGING_* */
    char *bdf;                  /* PCI address, NULL for an mdev */
    uint16_t pci_vendor;        /* sysfs vendor/device of a PCI device */
    uint16_t pci_device;
    unsigned iommu_group;       /* sysfs kernel/iommu_groups/<N> (PCI devices) */
    char *uuid;                 /* mdev UUID, NULL for a PCI device */
    char *sysfs_path;           /* its directory under devices/ */
    SimDeviceFile *bound;       /* the device file it is bound through */
    /* device DMA logging */
    bool logging;
    uint64_t log_page_size;
    GArray *log_ranges;         /* SimLogRange */
    SimDirty *log;
    uint8_t max_pasid_log2;     /* GET_HW_INFO out_max_pasid_log2 */
    /* hot reset: the devices of one reset group share one bus reset (the
     * kernel's dev_set); NULL: no slot or bus reset (ENODEV) */
    char *reset_group;
    unsigned resets;            /* VFIO_DEVICE_PCI_HOT_RESETs done */
    /* BAR0 (sim-dmabuf.c): SIM_BAR0_SIZE bytes of MMIO, its contents
     * allocated on first use; whether it has a P2P provider (dma-buf
     * export; topology p2p-provider=, default true) */
    uint8_t *bar0;
    bool no_p2p_provider;
    /* VFIO groups (sim-type1.c): device files got through its group (the
     * kernel's open_count of the group path); a cdev bound (@bound) blocks
     * the group, vfio_device_block_group() */
    unsigned group_opens;
    /* no VFIO cdev (topology vfio-cdev=false: a kernel without
     * CONFIG_VFIO_DEVICE_CDEV): no vfio-dev/ in sysfs, its node ENOENT */
    bool no_cdev;
} SimDevice;

/* ---- iommufd objects (sim-iommufd.c) ----------------------------------- */

typedef enum {
    SIM_OBJ_IOAS,
    SIM_OBJ_HWPT,
    SIM_OBJ_DEVICE,     /* a physical device bound to the iommufd */
    SIM_OBJ_ACCESS,     /* an mdev bound to the iommufd */
    SIM_OBJ_VIOMMU,     /* sim-viommu.c from here */
    SIM_OBJ_VDEVICE,
    SIM_OBJ_VEVENTQ,
    SIM_OBJ_FAULT,
    SIM_OBJ_HW_QUEUE,
} SimObjType;

/* The mock IOMMU's IOTLB / device cache entries (iommufd_test.h). */
#define SIM_MOCK_CACHE_NUM 4

typedef struct SimCtx SimCtx;
typedef struct SimObj SimObj;

typedef struct SimMapping {
    uint64_t iova;
    uint64_t last;
    uint64_t user_va;           /* the model's physical address (IOPTE layout,
                                 * alignment checks): the user VA, or for a
                                 * file mapping its offset in the file */
    uint32_t flags;             /* IOMMU_IOAS_MAP_* */
    bool by_file;               /* IOMMU_IOAS_MAP_FILE: */
    int fd;                     /*   the caller's fd number at the map (the
                                 *   model keeps no reference: -1 otherwise) */
    uint64_t dev, ino;          /*   the file it named (fstat) */
    uint64_t dmabuf;            /*   a model dma-buf: its id (sim-dmabuf.c), 0: none */
    pid_t owner;                /* the process its pinned pages are charged
                                 * to: the mapper's, or the last caller of
                                 * IOMMU_IOAS_CHANGE_PROCESS (sim-cpr.c) */
    GSequenceIter *it;          /* its place in the IOAS's SimMaps */
    unsigned locks;             /* HW queues pinning its pages (the kernel's
                                 * area->num_locks): unmap is EBUSY */
} SimMapping;

/* The mappings of one IOAS (sim-maps.c): ordered by IOVA, disjoint; O(log
 * n) insert, remove and lookup, as the kernel's interval tree. */
typedef struct SimMaps SimMaps;

SimMaps *sim_maps_new(void);
void sim_maps_free(SimMaps *maps);
guint sim_maps_len(const SimMaps *maps);
/* The first mapping whose last >= @iova, or NULL. */
SimMapping *sim_maps_first(const SimMaps *maps, uint64_t iova);
/* The mapping after @m, or NULL. */
SimMapping *sim_maps_next(const SimMapping *m);
/* Insert a copy of @m (checked: it overlaps nothing); returns the copy. */
SimMapping *sim_maps_insert(SimMaps *maps, const SimMapping *m);
/* Remove and free @m. */
void sim_maps_remove(SimMaps *maps, SimMapping *m);
void sim_maps_clear(SimMaps *maps);

/* Every mapping of @maps from the first whose last >= @iova on. */
#define SIM_MAPS_FOREACH_FROM(m, maps, iova) \
    for (SimMapping *m = sim_maps_first((maps), (iova)); m; m = sim_maps_next(m))

struct SimObj {
    SimObjType type;
    uint32_t id;
    SimCtx *ctx;
    /* references held by other objects (HWPT -> IOAS, device -> HWPT,
     * access -> IOAS): IOMMU_DESTROY refuses an object with users */
    unsigned users;

    /* SIM_OBJ_IOAS */
    SimMaps *maps;              /* its mappings */

    /* SIM_OBJ_HWPT */
    SimObj *ioas;
    SimIommu *iommu;
    uint32_t alloc_flags;       /* IOMMU_HWPT_ALLOC_* */
    bool auto_domain;           /* made by the kernel for an IOAS attach */
    bool dirty_enabled;
    SimDirty *dirty;
    /* IOPTE page sizes the HWPT's IOAS mappings are made of, fixed when it
     * is allocated (vfi_sim_set_iopte_sizes()); 0: one dirty bit per
     * 4 KiB page and reads as before IOPTEs were modelled */
    uint64_t iopte_sizes;

    /* SIM_OBJ_DEVICE, SIM_OBJ_ACCESS */
    SimDevice *dev;
    SimObj *attached;           /* HWPT (device) or IOAS (access), or NULL */

    /* nesting (sim-viommu.c); a reference is a users count taken */
    bool nested;                /* HWPT: a nested (stage-1) one */
    SimObj *parent;             /* nested HWPT, vIOMMU: the nest parent
                                 * (referenced, but not by a nested HWPT of
                                 * a vIOMMU: its vIOMMU holds the parent) */
    SimObj *viommu;             /* nested HWPT, vDEVICE, vEVENTQ, HW queue:
                                 * their vIOMMU (referenced) */
    SimObj *fault;              /* HWPT: its fault queue (referenced) */
    uint32_t cache[SIM_MOCK_CACHE_NUM]; /* nested HWPT: the mock IOTLB;
                                 * vDEVICE: the device's cache */
    uint32_t vtype;             /* vIOMMU, vEVENTQ, HW queue: the type */
    uint64_t virt_id;           /* vDEVICE */
    bool has_window;            /* vIOMMU: offers an mmap window (its data
                                 * was given), offset id << 12, two pages, */
    uint32_t window_word;       /*   its first word the data's in_data */
    SimObj *devobj;             /* vDEVICE: its device's binding */
    SimObj *vdev;               /* DEVICE: its vDEVICE, or NULL */
    SimObj *event_viommu;       /* DEVICE: the vIOMMU of the nested HWPT it
                                 * was attached to, and its virtual id then */
    uint64_t event_virt_id;     /*   (the mock's mdev->viommu, vdev_id) */
    GHashTable *pasids;         /* DEVICE: PASID -> HWPT (referenced), or NULL */
    int qfd;                    /* vEVENTQ, FAULT: its fd, -1 once closed */
    GQueue *queue;              /* vEVENTQ: SimVevent; FAULT: SimFault */
    uint32_t depth;             /* vEVENTQ: the most events it keeps */
    uint32_t num_events;        /*   events queued (not the lost record) */
    uint32_t sequence;          /*   the next event's sequence */
    GHashTable *responses;      /* FAULT: cookie -> SimFault read, awaiting
                                 * its response */
    uint32_t queue_index;       /* HW queue: its index, */
    SimObj *queue_prev;         /*   the queue at index - 1 (referenced), */
    SimObj *queue_ioas;         /*   the IOAS its pages are pinned in, */
    uint64_t queue_first;       /*   and the page-aligned range pinned */
    uint64_t queue_last;
};

struct SimCtx {
    VfiSim *sim;
    int fd;                     /* -1 once closed while devices are bound */
    GHashTable *objects;        /* id -> SimObj (owned) */
    unsigned bound_devices;
    unsigned queue_fds;         /* vEVENTQ and fault fds open, and mmaps of
                                 * vIOMMU windows: like bound devices, they
                                 * keep the context alive */
    GHashTable *tombstones;     /* ids the kernel destroyed itself (a vDEVICE
                                 * at its device's unbind): never reused, and
                                 * ENOENT to IOMMU_DESTROY; NULL: none */
};

SimCtx *sim_ctx_new(VfiSim *sim, int fd);
/* Close the iommufd: free now, or when the last bound device goes. */
void sim_ctx_close(SimCtx *ctx);
/* Free the context once closed and no device is bound any more. */
void sim_ctx_maybe_free(SimCtx *ctx);
SimObj *sim_ctx_lookup(SimCtx *ctx, uint32_t id);
SimObj *sim_obj_new(SimCtx *ctx, SimObjType type);
/* Remove @obj from its table and free it (no checks). */
void sim_obj_free(SimObj *obj);
const char *sim_obj_type_name(SimObjType type);
/* Returns: whether [iova, iova + len) is mapped in @ioas, writeable too
 * when @write. */
bool sim_ioas_covers(const SimObj *ioas, uint64_t iova, uint64_t len, bool write);
/* How many bytes from @iova (at most @len) are mapped without a hole. */
uint64_t sim_ioas_contig_len(const SimObj *ioas, uint64_t iova, uint64_t len);
/*
 * The IOVA state of an IOAS, computed from what is attached (see
 * sim-iommufd.c): its allowed ranges (ascending; returns how many), its
 * alignment, whether it has a domain (HWPT) and a physical device attached
 * to one of its domains.
 */
unsigned sim_ioas_allowed(const SimObj *ioas, struct iommu_iova_range out[SIM_MAX_RANGES]);
uint64_t sim_ioas_alignment(const SimObj *ioas);
bool sim_ioas_has_domain(const SimObj *ioas);
bool sim_ioas_has_physical_device(const SimObj *ioas);
/* Whether a mapping of @ioas overlaps [iova, last]. */
bool sim_ioas_maps_overlap(const SimObj *ioas, uint64_t iova, uint64_t last);
/* 0, or -EADDRINUSE when adding a domain to @ioas would leave a mapping
 * outside its aperture or misaligned (iopt_table_add_domain()). */
int sim_ioas_check_new_domain(const SimObj *ioas);
/* 0, or -EADDRINUSE when an mdev's PAGE_SIZE alignment does not fit a
 * mapping of @ioas (iopt_add_access()). */
int sim_ioas_check_new_access(const SimObj *ioas);
/* 0, or -EADDRINUSE when a mapping of @ioas overlaps a physical device's
 * reserved region, the MSI window (iopt_reserve_iova()). */
int sim_ioas_check_dev_resv(const SimObj *ioas);
/* A HWPT made for @dev on @ioas (users of @ioas taken). */
SimObj *sim_hwpt_new(SimCtx *ctx, SimObj *ioas, SimIommu *iommu, uint32_t flags,
                     bool auto_domain);
/* IOMMU_IOAS_CHANGE_PROCESS on @ctx (sim-cpr.c): @cmd a struct
 * iommu_ioas_change_process. Returns 0 or -errno. */
int sim_ioas_change_process(SimCtx *ctx, void *cmd);
/* Handle an IOMMUFD ioctl on @ctx. Returns 0 or -errno. */
int sim_iommufd_ioctl(SimCtx *ctx, unsigned long request, void *arg);

/* ---- nesting, vIOMMU objects, PASID (sim-viommu.c, sim-eventq.c) ----- */

/* One queued vEVENT, or the lost-events record (IOMMU_VEVENTQ_FLAG_LOST_EVENTS). */
typedef struct SimVevent {
    uint32_t flags;
    uint32_t sequence;
    uint32_t data_len;
    uint8_t data[8];
} SimVevent;

/* One page-request fault (a group of one) queued or awaiting a response. */
typedef struct SimFault {
    uint32_t flags, dev_id, pasid, grpid, perm, cookie;
    uint64_t addr;
} SimFault;

/* Is @id a tombstone of @ctx? */
bool sim_ctx_tombstoned(const SimCtx *ctx, uint32_t id);
/* IOMMU_HWPT_ALLOC with a HWPT or vIOMMU as pt_id (a nested HWPT), once the
 * common checks are done. Returns 0 or -errno. */
int sim_hwpt_alloc_nested(SimCtx *ctx, struct iommu_hwpt_alloc *cmd, SimObj *devobj,
                          SimObj *pt);
/* The fault queue part of an IOMMU_HWPT_ALLOC (IOMMU_HWPT_FAULT_ID_VALID):
 * 0, or -ENOENT when @fault_id is no fault queue. */
int sim_hwpt_check_fault(SimCtx *ctx, uint32_t fault_id);
/* Take the fault queue @fault_id for @hwpt (checked). */
void sim_hwpt_set_fault(SimObj *hwpt, uint32_t fault_id);
/* IOMMU_DESTROY of @obj with no users: drop what it references (its
 * IOAS, parent, vIOMMU, fault queue, device). */
void sim_obj_unref_all(SimObj *obj);
/* Free what sim-viommu.c hung on @obj (queues, tables), before it is freed. */
void sim_obj_clear_nesting(SimObj *obj);
/* The device's attach to HWPT @hwpt: 0, or -errno when the kernel refuses
 * (a vIOMMU's nested HWPT without the device's vDEVICE: ENOENT; a HWPT
 * without PASID support while PASIDs are attached: EINVAL). On 0 the
 * device's vEVENT source is updated (the mock's attach). */
int sim_attach_nested_check(SimObj *devobj, SimObj *hwpt);
/* A device binding goes (unbind): its vDEVICE is destroyed, its id a
 * tombstone; its PASIDs are detached. */
void sim_device_unbind_nesting(SimObj *devobj);
/* VFIO_DEVICE_ATTACH_PASID / DETACH_PASID of a physical device. */
int sim_pasid_attach(SimObj *devobj, uint32_t pasid, SimObj *pt, uint32_t *pt_id);
void sim_pasid_detach(SimObj *devobj, uint32_t pasid);
/* The ioctls of sim-viommu.c and sim-eventq.c (the dispatch table of
 * sim-iommufd.c). */
int sim_ioctl_viommu_alloc(SimCtx *ctx, void *arg);
int sim_ioctl_vdevice_alloc(SimCtx *ctx, void *arg);
int sim_ioctl_hwpt_invalidate(SimCtx *ctx, void *arg);
int sim_ioctl_veventq_alloc(SimCtx *ctx, void *arg);
int sim_ioctl_fault_alloc(SimCtx *ctx, void *arg);
/* IOMMU_HW_QUEUE_ALLOC (sim-hwqueue.c), and the destroy of a HW queue:
 * drop its reference on the queue before it and unlock its pinned pages. */
int sim_ioctl_hw_queue_alloc(SimCtx *ctx, void *arg);
void sim_hw_queue_release(SimObj *q);
/* read(2) / write(2) on a queue fd of @obj. Returns bytes or -errno. */
ssize_t sim_queue_read(SimObj *obj, void *buf, size_t len);
ssize_t sim_queue_write(SimObj *obj, const void *buf, size_t len);
/* A queue's fd is closed: its reference on @obj goes. */
void sim_queue_closed(SimObj *obj);
/* mmap / munmap of a vIOMMU window of iommufd @ctx (sim-viommu.c). */
int sim_window_mmap(SimCtx *ctx, size_t len, uint64_t offset, void **addr);
int sim_window_munmap(VfiSim *sim, void *addr, size_t len);
/* Open a model fd for queue @obj (the fd holds a reference). Returns the fd
 * or -errno (sim.c). */
int sim_queue_open(SimObj *obj);

/* ---- IOPTEs and kernel-shaped dirty reads (sim-iopte.c) --------------- */

/*
 * Mark [iova, iova + len) dirty in @hwpt: per 4 KiB page without IOPTE
 * sizes, else every IOPTE the range touches in the IOAS's mappings, whole
 * (nothing where nothing is mapped).
 */
void sim_hwpt_mark(SimObj *hwpt, uint64_t iova, uint64_t len);
/*
 * IOMMU_HWPT_GET_DIRTY_BITMAP once the arguments are checked: read
 * [iova, iova + len) of @hwpt at @page_size into the user bitmap @data,
 * clearing unless @no_clear, the fast way or the kernel's
 * (VfiSim.dirty_cost). Returns 0 or -errno (-EINVAL: with IOPTE sizes, a
 * hole in the range; nothing is read then).
 */
int sim_hwpt_read_dirty(SimObj *hwpt, uint64_t iova, uint64_t len, uint64_t page_size,
                        void *data, bool no_clear);

/* ---- device files (sim-vfio.c) ----------------------------------------- */

struct SimDeviceFile {
    VfiSim *sim;
    int fd;
    SimDevice *dev;
    SimCtx *ctx;                /* the iommufd it is bound to, or NULL */
    SimObj *obj;                /* its DEVICE or ACCESS object */
    struct SimGroup *group;     /* got by VFIO_GROUP_GET_DEVICE_FD, else NULL */
};

/* Unbind (detach, destroy the binding object), as on close. */
void sim_device_file_unbind(SimDeviceFile *df);
/* Handle a VFIO ioctl on a device file. Returns 0 or -errno. */
int sim_vfio_ioctl(SimDeviceFile *df, unsigned long request, void *arg);
/* Detach a bound device from what it is attached to (auto domains die with
 * their last device). */
void sim_device_detach(SimObj *devobj);

/* ---- dma-bufs of device BARs (sim-dmabuf.c) ----------------------------- */

/* The size of every PCI device's BAR0 in the model (the edu's). */
#define SIM_BAR0_SIZE (UINT64_C(1) << 20)

/* VFIO_DEVICE_FEATURE_DMA_BUF on @df (vfio_pci_core_feature_dma_buf()):
 * returns the new fd, 0 for a probe, or -errno. */
int sim_dmabuf_feature(SimDeviceFile *df, uint32_t flags, void *data, size_t data_size);
/* IOMMU_IOAS_MAP_FILE of @fd: 0 with *@id 0 when @fd is no model dma-buf,
 * 0 with its id when iommufd takes [start, start + length) of it, else
 * -errno (iopt_alloc_dmabuf_pages(), vfio_pci_dma_buf_iommufd_map()). */
int sim_dmabuf_map_check(VfiSim *sim, int fd, uint64_t start, uint64_t length, uint64_t *id);
/* The device's file is closed (vfio_pci_dma_buf_cleanup()): revoke its
 * dma-bufs. */
void sim_dmabuf_device_closed(VfiSim *sim, SimDevice *dev);
/* Whether a mapping of @ioas in [iova, iova + len) is of a revoked
 * dma-buf (its IOMMU entries are gone: DMA there faults). */
bool sim_dmabuf_revoked_in(const VfiSim *sim, const SimObj *ioas, uint64_t iova, uint64_t len);
/* Free the table (vfi_sim_free()). */
void sim_dmabuf_free_all(VfiSim *sim);

/* ---- sysfs (sim-sysfs.c) ------------------------------------------------ */

/* Make <root>/bus/{pci,mdev}/devices and <root>/devices. */
bool sim_sysfs_init(const char *root, GError **errp);
/* Make the sysfs entries of IOMMU instance @name. */
bool sim_sysfs_add_iommu(const char *root, const char *name, GError **errp);
/* Make the sysfs entries of @dev; sets dev->sysfs_path. */
bool sim_sysfs_add_device(const char *root, SimDevice *dev, GError **errp);
/* Remove the whole tree at @root (symlinks are not followed). */
void sim_sysfs_remove_tree(const char *root);
/* Take @dev's VFIO cdev out of sysfs (its vfio-dev/ directory) and mark it
 * cdev-less (SimDevice.no_cdev). */
bool sim_sysfs_remove_cdev(SimDevice *dev, GError **errp);

/* ---- the model (sim.c) -------------------------------------------------- */

typedef enum {
    SIM_FILE_IOMMUFD,
    SIM_FILE_DEVICE,
    SIM_FILE_QUEUE,             /* a vEVENTQ's or fault queue's fd */
    SIM_FILE_CONTAINER,         /* /dev/vfio/vfio (sim-type1.c) */
    SIM_FILE_GROUP,             /* /dev/vfio/N (sim-type1.c) */
} SimFileKind;

typedef struct SimFile {
    SimFileKind kind;
    SimCtx *ctx;                /* SIM_FILE_IOMMUFD */
    SimDeviceFile *df;          /* SIM_FILE_DEVICE */
    SimObj *queue;              /* SIM_FILE_QUEUE */
    unsigned refs;              /* fds of the table on it (sim-fds.c) */
    uint64_t st_dev, st_ino;    /* its memfd: what its dups fstat() to */
    char link[48];              /* and what /proc/self/fd shows for them */
    struct SimContainer *container; /* SIM_FILE_CONTAINER */
    struct SimGroup *group;     /* SIM_FILE_GROUP */
} SimFile;

struct VfiSim {
    /* One recursive lock around everything below: the open/close/ioctl
     * dispatch and every control call of sim.h take it (SIM_LOCKED). */
    pthread_mutex_t lock;
    /* Dirty reads run outside @lock, as the kernel reads under its IOAS's
     * iova_rwsem taken for reading: a GET_DIRTY_BITMAP holds @readers for
     * reading while it walks; every holder of @lock holds it for writing
     * (taken when @lock_depth goes from 0 to 1), so nothing changes under
     * a read. Readers of one HWPT clear its words atomically. */
    pthread_rwlock_t readers;
    unsigned lock_depth;        /* under @lock */
    bool readers_not_held;      /* under @lock: the dispatcher's hold came
                                 * back from a read without @readers */
    char *sysfs_root;
    GPtrArray *iommus;          /* SimIommu, in order of creation */
    GPtrArray *devices;         /* SimDevice, in order of creation */
    unsigned next_pci_slot;
    GHashTable *files;          /* fd -> SimFile (owned) */
    GPtrArray *contexts;        /* every live SimCtx, open or closing */
    GHashTable *windows;        /* mapped vIOMMU window address -> its vIOMMU */

    /* fault injection and counters */
    unsigned fail_nth;          /* 0: none */
    int fail_nth_err;
    int fail_op_err[VFI_SIM_OP__COUNT];
    uint64_t op_count[VFI_SIM_OP__COUNT];
    uint64_t ioctl_count;

    /* dirty reads: IOPTE sizes of new HWPTs (0: per 4 KiB page), cost */
    uint64_t iopte_sizes;
    VfiSimDirtyCost dirty_cost;

    /* dma-bufs exported from device BARs (sim-dmabuf.c): id -> SimDmaBuf,
     * NULL until the first export */
    GHashTable *dmabufs;
    uint64_t next_dmabuf;
    /* VFIO groups (id -> SimGroup, made at the first open of /dev/vfio/N)
     * and the type1 containers alive (sim-type1.c) */
    GHashTable *groups;
    unsigned type1_containers;

    /* the last ioctl */
    unsigned long last_request;
    size_t last_size;
    uint8_t last_arg[256];
};

/* Hold @sim's lock until the end of the enclosing block: SIM_LOCKED(sim).
 * Locking does not change the model's state, so it takes a const model. */
typedef VfiSim SimLocked;

static inline SimLocked *sim_lock(const VfiSim *sim)
{
    SimLocked *l = (SimLocked *)sim;

    pthread_mutex_lock(&l->lock);
    if (l->lock_depth++ == 0) {
        pthread_rwlock_wrlock(&l->readers);
    }
    return l;
}

/* The dispatcher's hold of an ioctl that only reads dirty bits
 * (GET_DIRTY_BITMAP): the lock without @readers, so other reads keep walking
 * while its checks run (holders of the lock change nothing under a walk:
 * every other hold takes @readers for writing). */
static inline SimLocked *sim_lock_reader(const VfiSim *sim)
{
    SimLocked *l = (SimLocked *)sim;

    pthread_mutex_lock(&l->lock);
    if (l->lock_depth++ == 0) {
        l->readers_not_held = true;
    }
    return l;
}

static inline void sim_unlock(SimLocked *l)
{
    if (--l->lock_depth == 0) {
        if (l->readers_not_held) {
            l->readers_not_held = false;
        } else {
            pthread_rwlock_unlock(&l->readers);
        }
    }
    pthread_mutex_unlock(&l->lock);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SimLocked, sim_unlock)

/* In an ioctl holding @sim once (the dispatcher's hold), turn the hold into
 * a read hold of @sim->readers and let other callers in; returns false (and
 * keeps the lock) for a nested hold (a control call making an ioctl).
 * sim_lock_from_read() takes the dispatcher's hold back. */
static inline bool sim_lock_to_read(VfiSim *sim)
{
    if (sim->lock_depth != 1) {
        return false;
    }
    sim->lock_depth = 0;
    if (sim->readers_not_held) {
        sim->readers_not_held = false;
    } else {
        pthread_rwlock_unlock(&sim->readers);
    }
    /* no writer holds it: writers hold the lock, which this caller has */
    pthread_rwlock_rdlock(&sim->readers);
    pthread_mutex_unlock(&sim->lock);
    return true;
}

/* The dispatcher's hold comes back as the lock alone: other reads may still
 * walk, so the caller may only return (trace) before its unlock. */
static inline void sim_lock_from_read(VfiSim *sim, bool switched)
{
    if (!switched) {
        return;
    }
    pthread_rwlock_unlock(&sim->readers);
    pthread_mutex_lock(&sim->lock);
    sim->lock_depth = 1;
    sim->readers_not_held = true;
}

#define SIM_LOCKED(sim) \
    g_autoptr(SimLocked) G_PASTE(sim_locked_, __LINE__) G_GNUC_UNUSED = sim_lock(sim)

/* ---- the fd table (sim-fds.c) ------------------------------------------ */

/* A new file of @kind (*@out, its other members for the caller to fill)
 * with its first fd (a memfd of its own) in the table: the fd, or a
 * negative errno and nothing made. */
int sim_file_new(VfiSim *sim, SimFileKind kind, SimFile **out);
/* The number @f goes by (traces, lookups): one fd of the table on it. */
int sim_file_fd(const SimFile *f);
/* The file @fd refers to (an fd the model handed out, or a dup of one), or
 * NULL; stale entries (fds closed behind the model's back) are dropped. */
SimFile *sim_file_lookup(VfiSim *sim, int fd);
/* Close @fd; its file is released with its last fd. 0 or -EBADF. */
int sim_fd_close(VfiSim *sim, int fd);
/* How many files are open (an fd and its dups count once). */
unsigned sim_files_count(VfiSim *sim);
/* Close every fd of the table and release every file (the model's end). */
void sim_files_close_all(VfiSim *sim);

SimIommu *sim_find_iommu(const VfiSim *sim, const char *name);
SimDevice *sim_find_device(const VfiSim *sim, const char *name);
/* vfi_sim_add_device() with the PCI vendor/device ids of its sysfs
 * directory (ignored for an mdev). */
bool sim_add_device(VfiSim *sim, const char *name, const char *iommu_name, bool dma_logging,
                    uint16_t pci_vendor, uint16_t pci_device, GError **errp);
/* Returns: the iommufd context open as @fd, or NULL. */
SimCtx *sim_lookup_iommufd(VfiSim *sim, int fd);
/* Set up DMA log state of a device and release it. */
void sim_device_logging_stop(SimDevice *dev);

/* ---- nest parents (sim-nest-parent.c) ---------------------------------- */

/* The driver's answer to HWPT_ALLOC @flags on @iommu as far as nesting
 * goes (after the core's checks): 0 or -errno. */
int sim_nest_parent_alloc_check(const SimIommu *iommu, uint32_t flags);
/* Filling a new domain of @flags on @iommu with @ioas's mappings: -EINVAL
 * for a nest parent with the VT-d erratum and a read-only mapping, else 0. */
int sim_nest_parent_fill_check(const SimIommu *iommu, const SimObj *ioas, uint32_t flags);
/* A map of @flags (IOMMU_IOAS_MAP_*) into @ioas: -EINVAL when read-only
 * and a nest-parent domain with the VT-d erratum is on @ioas, else 0. */
int sim_nest_parent_map_check(SimCtx *ctx, const SimObj *ioas, uint32_t flags);

/* ---- VFIO groups and type1 containers (sim-type1.c) -------------------- */

/* Group number of the group a new mdev gets (vfio_register_emulated_iommu_dev()
 * makes one per mdev): this plus the mdev's cdev index, above the groups of
 * PCI devices (their slot). */
#define SIM_MDEV_GROUP_BASE 1000u

/* Whether @path is /dev/vfio/vfio or /dev/vfio/<N>. */
bool sim_type1_is_path(const char *path);
/* Open the container or group node @path: an fd or -errno. */
int sim_type1_open(VfiSim *sim, const char *path);
/* Close a SIM_FILE_CONTAINER or SIM_FILE_GROUP file. */
void sim_type1_close(VfiSim *sim, SimFile *f);
/* The fd number a SIM_FILE_CONTAINER or SIM_FILE_GROUP file goes by, and
 * its change (the fd closed, a dup of it left: sim-fds.c). */
int sim_type1_file_fd(const SimFile *f);
void sim_type1_renumber(SimFile *f, int fd);
/* A cdev of @dev is being bound (VFIO_DEVICE_BIND_IOMMUFD): -EBUSY while
 * its group is open (vfio_device_block_group()), else 0. */
int sim_type1_cdev_bind(VfiSim *sim, SimDevice *dev);
/* A device file closes (cdev or got through its group). */
void sim_type1_device_close(SimDeviceFile *df);
/* Handle an ioctl on a container or group file. Returns >= 0 or -errno. */
int sim_type1_ioctl(SimFile *f, unsigned long request, void *arg);
/* The counter kind of a container/group request, or VFI_SIM_OP_OTHER. */
VfiSimOp sim_type1_classify(unsigned long request);
/* A DMA write of @dev through its group's type1 container: -1 when its
 * group is in no container with an IOMMU set (not this path), 1 when it
 * went through, 0 on an IOMMU fault (@errp set). */
int sim_type1_dma_write(VfiSim *sim, SimDevice *dev, uint64_t iova, uint64_t len,
                        GError **errp);
/* The size of the argument of a container/group request that is no struct
 * starting with its argsz (an integer, an int *, a string): sets *@size and
 * returns true, else false. */
bool sim_type1_arg_size(unsigned long request, const void *arg, size_t *size);
/* Free the group table (every file closed). */
void sim_type1_free(VfiSim *sim);
/* Move the sysfs iommu_group links of @dev from group @old to dev->iommu_group. */
bool sim_sysfs_move_group(const char *root, const SimDevice *dev, unsigned old,
                          GError **errp);

#endif
