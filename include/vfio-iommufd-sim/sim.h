/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd-sim: a simulated kernel (the kernel model), its own library.
 *
 * Link libvfio-iommufd-sim (pkg-config vfio-iommufd-sim; meson dependency
 * 'vfio-iommufd-sim'), which requires libvfio-iommufd. The production library
 * holds nothing of the model: the model plugs into it through the public
 * ioctl seam of <vfio-iommufd/kernel.h>, as any other kernel would, and
 * registers its trace events (vfi_sim_*) with the library's switchboard
 * (<vfio-iommufd/trace.h>), so VFI_TRACE and vfi_trace_enable() switch them.
 *
 * A VfiSim is a model of the parts of Linux the library talks to: /dev/iommu
 * (IOMMUFD: objects, IOAS mappings, HWPTs, dirty tracking), VFIO cdev devices
 * (bind, attach, detach, info) and the sysfs entries that lead to them. It
 * sees only what the kernel sees: paths, fds, ioctl numbers and UAPI structs.
 *
 * Once installed (vfi_sim_install()) it replaces the running kernel for the
 * whole process, so the library, a VMM's passthrough code or a test run
 * unchanged against a topology of IOMMU instances and devices, without
 * hardware. Tests reach its controls (topology, simulated DMA, fault
 * injection, live objects and fds) through this header.
 *
 * Topology:
 *  - an IOMMU instance has a name, a dirty-tracking capability and hw info
 *    (type and vendor data). A HWPT made for a device of one instance refuses
 *    devices of another with EINVAL, as does a dirty HWPT a device without the
 *    capability.
 *  - a device sits behind an IOMMU instance (a PCI device with a BDF under
 *    <sysfs>/bus/pci/devices) or is an mdev (under <sysfs>/bus/mdev/devices,
 *    attachable only to an IOAS).
 * The sysfs tree lives in a temporary directory owned by the VfiSim.
 *
 * Threads: one lock per model serialises its open, close and ioctl dispatch
 * and its control calls: every function below but vfi_sim_new() and
 * vfi_sim_free() may be called from any thread, so a test may run threads
 * on it (a simulated device writing from one while the
 * library syncs and maps from others, docs/concurrency.md). vfi_sim_free()
 * must not overlap other calls on the model; strings it returns stay valid
 * until it is freed.
 */
#ifndef VFI_SIM_H
#define VFI_SIM_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "vfio-iommufd/visibility.h"

G_BEGIN_DECLS

/* A simulated kernel (opaque; vfi_sim_new()). */
typedef struct VfiSim VfiSim;

/* Counters a test can read: one per kind of ioctl handled. */
typedef enum {
    VFI_SIM_OP_DESTROY,
    VFI_SIM_OP_IOAS_ALLOC,
    VFI_SIM_OP_IOAS_IOVA_RANGES,
    VFI_SIM_OP_IOAS_MAP,
    VFI_SIM_OP_IOAS_UNMAP,
    VFI_SIM_OP_GET_HW_INFO,
    VFI_SIM_OP_HWPT_ALLOC,
    VFI_SIM_OP_HWPT_SET_DIRTY_TRACKING,
    VFI_SIM_OP_HWPT_GET_DIRTY_BITMAP,
    VFI_SIM_OP_DEVICE_BIND,
    VFI_SIM_OP_DEVICE_ATTACH,
    VFI_SIM_OP_DEVICE_DETACH,
    VFI_SIM_OP_DEVICE_GET_INFO,
    VFI_SIM_OP_DEVICE_FEATURE,
    VFI_SIM_OP_OTHER,     /* any ioctl the model does not know: ENOTTY */
    VFI_SIM_OP_IOAS_MAP_FILE, /* IOMMU_IOAS_MAP_FILE (builds with 6.13+ headers;
                               * after OTHER so the older values stay) */
    VFI_SIM_OP_DEVICE_HOT_RESET_INFO, /* VFIO_DEVICE_GET_PCI_HOT_RESET_INFO */
    VFI_SIM_OP_DEVICE_HOT_RESET,      /* VFIO_DEVICE_PCI_HOT_RESET */
    VFI_SIM_OP_CONTAINER,     /* VFIO_GET_API_VERSION, VFIO_CHECK_EXTENSION,
                               * VFIO_SET_IOMMU on /dev/vfio/vfio */
    VFI_SIM_OP_GROUP,         /* VFIO_GROUP_* on /dev/vfio/N */
    VFI_SIM_OP_TYPE1_GET_INFO, /* VFIO_IOMMU_GET_INFO */
    VFI_SIM_OP_TYPE1_MAP,     /* VFIO_IOMMU_MAP_DMA */
    VFI_SIM_OP_TYPE1_UNMAP,   /* VFIO_IOMMU_UNMAP_DMA */
    VFI_SIM_OP_TYPE1_DIRTY_PAGES, /* VFIO_IOMMU_DIRTY_PAGES */
    VFI_SIM_OP__COUNT,
} VfiSimOp;

/* The sysfs vendor/device ids of a PCI device added without a pci-id
 * (topology key): the QEMU PCI test device. */
#define VFI_SIM_PCI_VENDOR_DEFAULT 0x1b36
#define VFI_SIM_PCI_DEVICE_DEFAULT 0x0005

/* An IOMMU instance. */
typedef struct VfiSimIommuConfig {
    bool dirty_tracking;      /* reports IOMMU_HW_CAP_DIRTY_TRACKING */
    uint32_t hw_info_type;    /* enum iommu_hw_info_type; 0 = Intel VT-d */
    uint64_t cap_reg;         /* vendor data (VT-d cap/ecap); 0: derived */
    uint64_t ecap_reg;        /*   from the instance's index */
    /* Nest parents (docs/kernel-model.md, "Nest parents"), as the drivers
     * differ: */
    bool nesting;             /* HWPT_ALLOC takes IOMMU_HWPT_ALLOC_NEST_PARENT;
                               * false: EOPNOTSUPP (no nesting, as QEMU's
                               * emulated VT-d) */
    int dirty_nest_parent_errno; /* HWPT_ALLOC of NEST_PARENT | DIRTY_TRACKING
                               * (the IOMMU tracking dirty pages): 0 takes it
                               * (Intel, AMD with its features, the mock),
                               * EOPNOTSUPP (ARM SMMUv3) or EINVAL refuse it */
    bool vtd_errata_772415;   /* VT-d hw info flags report
                               * IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17 (as every
                               * VT-d of Linux 6.12 and 7.3 does), and a
                               * nest-parent domain of it refuses read-only
                               * mappings: EINVAL from IOAS_MAP(_FILE) into an
                               * IOAS holding one, or from HWPT_ALLOC of one on
                               * an IOAS holding a read-only mapping */
} VfiSimIommuConfig;

/**
 * vfi_sim_new:
 *
 * A simulated kernel with no IOMMU and no device, its sysfs tree in a new
 * temporary directory. IOVA ranges and alignment of an IOAS follow its
 * state as in Linux: [0, 2^64 - 1] with alignment 1 while it has no domain;
 * a HWPT (domain) on it limits them to its aperture [0, 2^48 - 1] with
 * alignment 4096; a physical device attached to such a domain also
 * reserves the x86 MSI window [0xfee00000, 0xfeefffff] until it detaches;
 * an mdev raises the alignment to 4096 only. Conflicting mappings make
 * HWPT_ALLOC and attaches fail with EADDRINUSE (docs/kernel-model.md).
 * Returns: the model (vfi_sim_free()), or NULL (HOST error) when the
 * temporary directory cannot be made.
 */
VFI_API VfiSim *vfi_sim_new(GError **errp);

/**
 * vfi_sim_free:
 *
 * Uninstall it if installed, close every fd still open on it, remove its
 * sysfs tree. NULL is accepted.
 */
VFI_API void vfi_sim_free(VfiSim *sim);

/* Make @sim the kernel of this process (vfi_kernel_install()). */
VFI_API void vfi_sim_install(VfiSim *sim);
/* Restore the running Linux kernel if @sim is installed. */
VFI_API void vfi_sim_uninstall(VfiSim *sim);

/* Returns: the root of the simulated sysfs (owned by @sim). */
VFI_API const char *vfi_sim_sysfs_root(const VfiSim *sim);

/**
 * vfi_sim_add_iommu:
 * @name: unique name of the instance.
 * @cfg: NULL for the default (VT-d, no dirty tracking).
 */
VFI_API bool vfi_sim_add_iommu(VfiSim *sim, const char *name,
                                         const VfiSimIommuConfig *cfg, GError **errp);

/**
 * vfi_sim_add_device:
 * @name: unique name of the device.
 * @iommu: the IOMMU instance it sits behind, or NULL for an mdev.
 * @dma_logging: whether the device offers VFIO DMA logging
 *   (VFIO_DEVICE_FEATURE_DMA_LOGGING_*).
 *
 * A PCI device gets the next free BDF (0000:00:01.0, 0000:00:02.0, ...) and
 * the vendor/device ids VFI_SIM_PCI_{VENDOR,DEVICE}_DEFAULT; an mdev a
 * UUID. Its sysfs directory gets vfio-dev/vfioN and a subsystem link (a PCI
 * device also "vendor" and "device" files, "0x1b36\n" as in Linux);
 * /dev/vfio/devices/vfioN opens it.
 */
VFI_API bool vfi_sim_add_device(VfiSim *sim, const char *name, const char *iommu,
                                          bool dma_logging, GError **errp);

/**
 * vfi_sim_load_topology:
 * @path: a key file with [iommu NAME] sections (dirty-tracking=bool) and
 *   [device NAME] sections (iommu=NAME, or mdev=true; dma-logging=bool;
 *   pci-id=VVVV:DDDD, hex, the sysfs vendor/device of a PCI device;
 *   reset-group=NAME; p2p-provider=bool, default true: whether its BAR0
 *   can be exported as a dma-buf, VFIO_DEVICE_FEATURE_DMA_BUF, which the
 *   model offers when built with headers that have it).
 *   Other keys (for example want-dirty-tracking, which is the VMM's and not
 *   the kernel's) are ignored.
 *
 * Errors: HOST (unreadable file, bad key-file syntax), INVALID_ARGUMENT (an
 * unknown section kind, a device naming no or an unknown IOMMU, duplicates,
 * a malformed pci-id or one on an mdev).
 * Nothing is added when loading fails.
 */
VFI_API bool vfi_sim_load_topology(VfiSim *sim, const char *path, GError **errp);
/* The same from a key file's text. */
VFI_API bool vfi_sim_load_topology_data(VfiSim *sim, const char *data,
                                                  GError **errp);

/* Returns: the device's sysfs directory (owned by @sim), or NULL if unknown. */
VFI_API const char *vfi_sim_device_sysfs_path(const VfiSim *sim, const char *name);
/* Returns: the device's PCI address (NULL for an mdev or an unknown name). */
VFI_API const char *vfi_sim_device_bdf(const VfiSim *sim, const char *name);
/* Returns: the device names in the order they were added (free with g_free();
 * the strings are owned by @sim). */
VFI_API const char **vfi_sim_device_names(const VfiSim *sim, unsigned *n);
/* Returns: how many VFIO_DEVICE_PCI_HOT_RESETs reset the device (the
 * topology's reset-group=), 0 for an unknown name. */
VFI_API unsigned vfi_sim_device_reset_count(const VfiSim *sim, const char *name);
/* Returns: the pt id the device is attached to in its iommufd (the HWPT id,
 * also for a kernel-made auto domain; the IOAS id for an mdev), 0 if none. */
VFI_API uint32_t vfi_sim_device_attached_pt(const VfiSim *sim, const char *name);

/**
 * vfi_sim_dma_write:
 *
 * Simulated DMA: device @name writes [@iova, @iova + @len). Every page is
 * marked dirty in the HWPT the device is attached to when that HWPT's dirty
 * tracking is on, and in the device's DMA log when its logging is on.
 * Returns: false (INVALID_ARGUMENT) when the device is unknown, not attached,
 * or part of the range is not mapped in its IOAS (an IOMMU fault: nothing is
 * marked), or a mapping there is of a revoked dma-buf.
 */
VFI_API bool vfi_sim_dma_write(VfiSim *sim, const char *name, uint64_t iova,
                                         uint64_t len, GError **errp);

/**
 * vfi_sim_dma_write_pasid:
 *
 * Simulated DMA tagged with a PASID: device @name writes [@iova, @iova +
 * @len) at @pasid, translated through the HWPT attached at that PASID
 * (VFIO_DEVICE_ATTACH_PASID; a nested HWPT's stage 1 is the identity, its
 * nest parent translates). Every page is marked dirty in that HWPT (the
 * parent for a nested one) when its dirty tracking is on. The device's own
 * DMA log is not marked (VFIO's DMA logging has no PASID).
 * Returns: false (INVALID_ARGUMENT, nothing marked) for an unknown device,
 * an empty or wrapping range, nothing attached at @pasid (PASID 0 included:
 * the RID's DMA is vfi_sim_dma_write()), or part of the range not mapped
 * writeable in the HWPT's IOAS: IOMMU faults.
 */
VFI_API bool vfi_sim_dma_write_pasid(VfiSim *sim, const char *name, uint32_t pasid,
                                     uint64_t iova, uint64_t len, GError **errp);

/* Returns: the id of the HWPT PASID @pasid of device @name is attached to
 * (the kernel's PASID table of the device), 0 if none. */
VFI_API uint32_t vfi_sim_device_pasid_pt(const VfiSim *sim, const char *name, uint32_t pasid);

/**
 * vfi_sim_dma_write_data:
 *
 * Simulated DMA that moves bytes: device @name writes @len bytes of @data
 * at @iova through its IOMMU. Where a memory mapping covers the IOVA the
 * bytes land in the user pages (the process's memory at the mapping's
 * user_va: it must still be mapped); where a mapping of a dma-buf (a BAR
 * exported with VFIO_DEVICE_FEATURE_DMA_BUF, mapped with
 * IOMMU_IOAS_MAP_FILE) covers it, in that device's BAR: peer-to-peer DMA
 * (vfi_sim_device_bar_read() shows it). Pages are marked dirty as by
 * vfi_sim_dma_write().
 * Returns: false (INVALID_ARGUMENT, nothing written) as vfi_sim_dma_write(),
 * and when part of the range is a revoked dma-buf (its device file was
 * closed: an IOMMU fault) or a file mapping that is no dma-buf (data DMA
 * into files is not modelled).
 */
VFI_API bool vfi_sim_dma_write_data(VfiSim *sim, const char *name, uint64_t iova,
                                    const void *data, size_t len, GError **errp);

/**
 * vfi_sim_device_bar_read:
 * @region: the BAR: 0 (a model PCI device has one BAR0 of 1 MiB, zeroed at
 *   first).
 *
 * Copy @len bytes at @offset of the BAR of PCI device @name into @buf (what
 * a peer's DMA through a dma-buf wrote there).
 * Returns: false (INVALID_ARGUMENT) for an unknown device, an mdev, another
 * BAR or a range past the BAR's end.
 */
VFI_API bool vfi_sim_device_bar_read(const VfiSim *sim, const char *name, unsigned region,
                                     uint64_t offset, void *buf, size_t len, GError **errp);

/* Returns: the number of dma-bufs alive (exported with
 * VFIO_DEVICE_FEATURE_DMA_BUF and still named by an fd of the process or by
 * a mapping of an IOAS). */
VFI_API unsigned vfi_sim_live_dma_bufs(const VfiSim *sim);

/**
 * vfi_sim_hwpt_mark_dirty:
 *
 * Mark [@iova, @iova + @len) dirty in HWPT @hwpt_id of iommufd @iommufd,
 * whether or not tracking is on (as the kernel's mock IOMMU test ioctl does).
 * Returns: false (INVALID_ARGUMENT) for an unknown fd, id or a non-HWPT.
 */
VFI_API bool vfi_sim_hwpt_mark_dirty(VfiSim *sim, int iommufd, uint32_t hwpt_id,
                                               uint64_t iova, uint64_t len, GError **errp);

/**
 * Fault injection.
 * vfi_sim_fail_nth: the @n-th ioctl from now (1 = the next one) fails
 *   with @err (positive errno) and has no effect.
 * vfi_sim_fail_next: the next ioctl of kind @op fails with @err.
 * vfi_sim_fail_clear: cancel pending injections.
 */
VFI_API void vfi_sim_fail_nth(VfiSim *sim, unsigned n, int err);
VFI_API void vfi_sim_fail_next(VfiSim *sim, VfiSimOp op, int err);
VFI_API void vfi_sim_fail_clear(VfiSim *sim);

/**
 * vfi_sim_set_iopte_sizes:
 * @pgsize_bitmap: the IOPTE page sizes, one bit per power of two (as an
 *   IOMMU driver's pgsize_bitmap): 4096 and larger, 4096 included; 0 for
 *   the default.
 *
 * Model IOPTEs in the HWPTs allocated from now on (user-allocated ones and
 * kernel auto domains; HWPTs that exist keep what they had), as Linux 7.3's
 * generic page table (its mock IOMMU, VT-d, AMD) and any driver with huge
 * IOPTEs. Each IOAS mapping is made of IOPTEs: from its start, greedily the
 * largest size to which the IOVA and the user address (the model's
 * physical address) are aligned and that fits in the rest of the mapping;
 * an IOPTE never crosses a mapping. A DMA write (vfi_sim_dma_write(),
 * vfi_sim_hwpt_mark_dirty()) anywhere in an IOPTE dirties the whole IOPTE.
 * IOMMU_HWPT_GET_DIRTY_BITMAP then reads as 7.3 does: every dirty IOPTE
 * overlapping the range is reported from its start for its whole size
 * through iova_bitmap_set(): bits below the range's start are dropped (an
 * IOPTE straddling the start reports nothing, yet a clearing read cleans
 * it); bits past the range's end are written into the caller's bitmap as
 * far as the user pages the kernel pins reach (docs/kernel-model.md,
 * "IOPTEs": the page holding the bitmap's last byte, one page more when the
 * first dirty IOPTE's byte is not page-aligned), so the caller must own
 * that memory. The range must be mapped without a hole (EINVAL; see
 * docs/kernel-model.md for what the kernel does).
 *
 * The default, 0, is one dirty bit per 4 KiB page, no IOPTE edges, and
 * reads of unmapped IOVAs allowed: the model as it was.
 * Returns: false (INVALID_ARGUMENT, nothing changed) for a bitmap with bits
 * below 4096 or without 4096.
 */
VFI_API bool vfi_sim_set_iopte_sizes(VfiSim *sim, uint64_t pgsize_bitmap, GError **errp);

/* How IOMMU_HWPT_GET_DIRTY_BITMAP computes its answer (never what). */
typedef enum {
    /* word-wise over the dirty store: what unit tests use */
    VFI_SIM_DIRTY_COST_FAST = 0,
    /* a kernel's shape: one test-and-clear per IOPTE (per 4 KiB page
     * without IOPTE sizes) of the range, bits set one IOPTE at a time as
     * iova_bitmap_set() does; for benchmarks */
    VFI_SIM_DIRTY_COST_KERNEL = 1,
} VfiSimDirtyCost;

/**
 * vfi_sim_set_dirty_cost:
 *
 * Choose how dirty bitmap reads are computed, from the next read on. The
 * results are bit-identical; only the work differs (docs/kernel-model.md,
 * "Dirty read cost"). vfi_sim_new() starts with VFI_SIM_DIRTY_COST_KERNEL
 * when the environment has VFI_SIM_DIRTY_COST=kernel, else FAST.
 * Returns: false (INVALID_ARGUMENT, nothing changed) for an unknown @cost.
 */
VFI_API bool vfi_sim_set_dirty_cost(VfiSim *sim, VfiSimDirtyCost cost, GError **errp);
/* Returns: the current dirty read cost mode. */
VFI_API VfiSimDirtyCost vfi_sim_get_dirty_cost(const VfiSim *sim);

/**
 * vfi_sim_set_device_max_pasid_log2:
 * @name: a PCI device (not an mdev).
 * @log2: the width of its PASIDs, 0 (the default: no PASID) to 20.
 *
 * What IOMMU_GET_HW_INFO reports as out_max_pasid_log2 for the device
 * (ilog2 of the kernel's dev->iommu->max_pasids), from the next call on.
 * Returns: false (INVALID_ARGUMENT) for an unknown device, an mdev or
 * @log2 above 20.
 */
VFI_API bool vfi_sim_set_device_max_pasid_log2(VfiSim *sim, const char *name,
                                               unsigned log2, GError **errp);

/* Returns: how many ioctls of kind @op were handled (including failed ones). */
VFI_API uint64_t vfi_sim_op_count(const VfiSim *sim, VfiSimOp op);
/* Returns: how many ioctls were handled in all. */
VFI_API uint64_t vfi_sim_ioctl_count(const VfiSim *sim);

/**
 * vfi_sim_last_ioctl:
 * @request: out (may be NULL): the last ioctl request number.
 * @buf, @len: out: a copy of the argument struct as the library passed it,
 *   before the model wrote any output (at most @len bytes copied).
 * Returns: the size of the argument struct that was passed, 0 if none yet.
 */
VFI_API size_t vfi_sim_last_ioctl(const VfiSim *sim, unsigned long *request,
                                            void *buf, size_t len);

/* Returns: the number of live iommufd objects (IOAS, HWPT, device bindings,
 * kernel-made auto domains, access objects) over all open iommufds. */
VFI_API unsigned vfi_sim_live_objects(const VfiSim *sim);
/* Returns: the number of live objects of one iommufd (-1 if @iommufd unknown). */
VFI_API int vfi_sim_live_objects_fd(const VfiSim *sim, int iommufd);
/* Returns: the number of files open on the model (/dev/iommu, devices, and
 * the vEVENTQ and fault queue fds the ioctls hand out; an fd and its dups
 * count once). */
VFI_API unsigned vfi_sim_open_fds(const VfiSim *sim);
/* Returns: whether @id is a live object of @iommufd. */
VFI_API bool vfi_sim_object_exists(const VfiSim *sim, int iommufd, uint32_t id);
/* Returns: the number of mappings in IOAS @ioas_id (-1 if not an IOAS). */
VFI_API int vfi_sim_ioas_mapping_count(const VfiSim *sim, int iommufd,
                                                 uint32_t ioas_id);

/*
 * Nesting as Linux 7.3's mock IOMMU (CONFIG_IOMMUFD_TEST, the kernel source's
 * drivers/iommu/iommufd/iommufd_test.h) does it, for an IOMMU instance
 * switched on with vfi_sim_set_iommu_nesting(): IOMMU_HWPT_ALLOC_NEST_PARENT,
 * nested HWPTs of the selftest data type (mock IOTLB of 4 entries set from
 * it), vIOMMUs of the selftest type (its data a loopback with an mmap
 * window), vDEVICEs (a device cache of 4 entries each), invalidation of both
 * with partial completion, a vEVENTQ of the selftest type, fault queues, and
 * PASID attach of a physical device to a HWPT allocated with
 * IOMMU_HWPT_ALLOC_PASID. The values and layouts below are the mock's.
 */
#define VFI_SIM_HWPT_DATA_SELFTEST 0xdeadu              /* nested HWPT data type */
#define VFI_SIM_HWPT_INVALIDATE_DATA_SELFTEST 0xdeadbeefu
#define VFI_SIM_VIOMMU_TYPE_SELFTEST 0xdeadbeefu
#define VFI_SIM_VIOMMU_INVALIDATE_DATA_SELFTEST 0xdeadbeefu
#define VFI_SIM_VEVENTQ_TYPE_SELFTEST 0xbeefbeefu
#define VFI_SIM_HW_QUEUE_TYPE_SELFTEST 0xdeadbeefu      /* IOMMU_HW_QUEUE_ALLOC type */
#define VFI_SIM_HW_QUEUE_MAX 2u                         /* the mock's queues per vIOMMU */
#define VFI_SIM_IOTLB_DEFAULT 0xbadbeefu                /* a nested HWPT's IOTLB value */
#define VFI_SIM_DEV_CACHE_DEFAULT 0xbaddadu             /* a new vDEVICE's cache value */
#define VFI_SIM_INVALIDATE_FLAG_ALL 1u                  /* invalidate every entry */

/* The nested HWPT data of VFI_SIM_HWPT_DATA_SELFTEST. */
typedef struct VfiSimHwptSelftest {
    uint32_t iotlb;            /* the value of every mock IOTLB entry */
    uint32_t pagetable_type;   /* 0 */
} VfiSimHwptSelftest;

/* One request of VFI_SIM_HWPT_INVALIDATE_DATA_SELFTEST. */
typedef struct VfiSimInvalidateSelftest {
    uint32_t flags;            /* 0 or VFI_SIM_INVALIDATE_FLAG_ALL */
    uint32_t iotlb_id;         /* the entry (0..3) cleared without FLAG_ALL */
} VfiSimInvalidateSelftest;

/* The vIOMMU data of VFI_SIM_VIOMMU_TYPE_SELFTEST. */
typedef struct VfiSimViommuSelftest {
    uint32_t in_data;          /* any value */
    uint32_t out_data;         /* out: @in_data */
    uint64_t out_mmap_offset;  /* out: the mmap offset of its window */
    uint64_t out_mmap_length;  /* out: its length (two pages) */
} VfiSimViommuSelftest;

/* One request of VFI_SIM_VIOMMU_INVALIDATE_DATA_SELFTEST. */
typedef struct VfiSimViommuInvalidateSelftest {
    uint32_t flags;            /* 0 or VFI_SIM_INVALIDATE_FLAG_ALL */
    uint32_t vdev_id;          /* the vDEVICE's virtual id */
    uint32_t cache_id;         /* the cache entry (0..3) cleared without FLAG_ALL */
} VfiSimViommuInvalidateSelftest;

/* The data of one event of VFI_SIM_VEVENTQ_TYPE_SELFTEST. */
typedef struct VfiSimVeventSelftest {
    uint32_t virt_id;          /* the device's virtual id */
} VfiSimVeventSelftest;

/**
 * vfi_sim_set_iommu_nesting:
 * @name: an IOMMU instance.
 * @on: whether it nests as the mock IOMMU (off by default: NEST_PARENT,
 *   vIOMMUs and nested HWPTs answer EOPNOTSUPP, as a VT-d without nesting).
 *
 * Returns: false (INVALID_ARGUMENT) for an unknown instance.
 */
VFI_API bool vfi_sim_set_iommu_nesting(VfiSim *sim, const char *name, bool on,
                                       GError **errp);

/**
 * vfi_sim_nested_iotlb:
 * @value: out: mock IOTLB entry @index (0..3) of nested HWPT @hwpt_id of
 *   @iommufd (IOMMU_TEST_OP_MD_CHECK_IOTLB's value).
 *
 * Returns: false (INVALID_ARGUMENT) when there is no such HWPT or entry.
 */
VFI_API bool vfi_sim_nested_iotlb(const VfiSim *sim, int iommufd, uint32_t hwpt_id,
                                  unsigned index, uint32_t *value, GError **errp);

/**
 * vfi_sim_vdevice_cache:
 * @value: out: cache entry @index (0..3) of vDEVICE @vdevice_id's device
 *   (IOMMU_TEST_OP_DEV_CHECK_CACHE's value; the model keeps it with the
 *   vDEVICE, VFI_SIM_DEV_CACHE_DEFAULT at its alloc).
 *
 * Returns: false (INVALID_ARGUMENT) when there is no such vDEVICE or entry.
 */
VFI_API bool vfi_sim_vdevice_cache(const VfiSim *sim, int iommufd, uint32_t vdevice_id,
                                   unsigned index, uint32_t *value, GError **errp);

/**
 * vfi_sim_trigger_vevent:
 * @dev_id: a bound physical device of @iommufd.
 *
 * The mock's IOMMU_TEST_OP_TRIGGER_VEVENT: the device's vIOMMU (the one of
 * the nested HWPT it was attached to) reports one event of
 * VFI_SIM_VEVENTQ_TYPE_SELFTEST with the device's virtual id to its queue
 * of that type; a full queue loses it (the lost-events record).
 * Returns: false with VFI_KERNEL_ERROR ENOENT (not attached through a
 * vIOMMU) or EOPNOTSUPP (no such queue), INVALID_ARGUMENT (no such device).
 */
VFI_API bool vfi_sim_trigger_vevent(VfiSim *sim, int iommufd, uint32_t dev_id, GError **errp);

/**
 * vfi_sim_trigger_iopf:
 * @pasid: 0 for the device's own page table, else an attached PASID's.
 * @grpid, @perm, @addr: the page request (IOMMU_PGFAULT_PERM_*).
 *
 * The mock's IOMMU_TEST_OP_TRIGGER_IOPF: a page-request fault of one page
 * (LAST_PAGE, PASID_VALID for a PASID) on the HWPT the device (or PASID) is
 * attached to, queued to its fault queue; a HWPT without one answers the
 * request itself (nothing queued).
 * Returns: false (INVALID_ARGUMENT) when there is no such device.
 */
VFI_API bool vfi_sim_trigger_iopf(VfiSim *sim, int iommufd, uint32_t dev_id, uint32_t pasid,
                                  uint32_t grpid, uint32_t perm, uint64_t addr, GError **errp);
/* ---- VFIO groups and type1 containers (/dev/vfio/vfio, /dev/vfio/N) ---- */

/*
 * Returns: what the type1 path keeps alive: the type1 containers (open, or
 * held by a group set to them) plus the groups set to a container; 0 when
 * everything of /dev/vfio/vfio and /dev/vfio/N is gone (leak checks).
 */
VFI_API unsigned vfi_sim_type1_live(const VfiSim *sim);
/* Returns: the number of mappings of the type1 container open as
 * @container_fd (-1 if it is no container fd). */
VFI_API int vfi_sim_type1_mapping_count(const VfiSim *sim, int container_fd);
/*
 * vfi_sim_set_device_iommu_group:
 * @name: a PCI device of the model (by default alone in group <its slot>).
 * @group: the IOMMU group number it moves to (/dev/vfio/@group, sysfs
 *   iommu_group): devices naming one group share it, as devices behind one
 *   PCIe-to-PCI bridge do. The topology key iommu-group=N does the same.
 * Returns: false (@errp set) for an unknown device or an mdev, a device or
 * group that is open, or a group holding devices of another IOMMU instance.
 */
VFI_API bool vfi_sim_set_device_iommu_group(VfiSim *sim, const char *name, unsigned group,
                                            GError **errp);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(VfiSim, vfi_sim_free)

G_END_DECLS

#endif
