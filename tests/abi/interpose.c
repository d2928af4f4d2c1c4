/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The interposition test: a VMM (here with QEMU's own names for its VFIO
 * and IOMMUFD code) links the library and keeps its names. The program
 * declares QEMU's types, macros, data and functions (the functions abort:
 * the library must never reach them), includes every public header of the
 * library, and runs a short passthrough + migration scenario on the kernel
 * model. Built twice (tests/abi/meson.build): against the shared library,
 * with the program's symbols exported, and against the static archive,
 * where any global symbol of the library with one of these names is a
 * duplicate definition at link time.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* ---- QEMU's names, before the library's headers ----------------------- */

#define container_of(ptr, type, member) \
    ((type *)((char *)(ptr) - offsetof(type, member)))
#define TYPE_IOMMUFD_BACKEND "iommufd"
#define TYPE_HOST_IOMMU_DEVICE "host-iommu-device"
#define VFIO_MSG_PREFIX "vfio %s: "
#define IOMMUFD_BACKEND(obj) ((IOMMUFDBackend *)(obj))
#define VFIO_IOMMU(obj) ((VFIOContainerBase *)(obj))

typedef struct Error Error;
typedef struct AddressSpace { int x; } AddressSpace;
typedef struct IOMMUFDBackend { int x; } IOMMUFDBackend;
typedef struct VFIOContainer { int x; } VFIOContainer;
typedef struct VFIOContainerBase { int x; } VFIOContainerBase;
typedef struct VFIOIOMMUFDContainer { int x; } VFIOIOMMUFDContainer;
typedef struct VFIODevice { int x; } VFIODevice;
typedef struct VFIOAddressSpace { int x; } VFIOAddressSpace;
typedef struct VFIOBitmap { int x; } VFIOBitmap;
typedef struct HostIOMMUDevice { int x; } HostIOMMUDevice;

IOMMUFDBackend *iommufd_backend_new(int fd, Error **errp);
bool iommufd_backend_connect(IOMMUFDBackend *be, Error **errp);
void iommufd_backend_disconnect(IOMMUFDBackend *be);
bool iommufd_backend_alloc_ioas(IOMMUFDBackend *be, uint32_t *ioas_id, Error **errp);
void iommufd_backend_free_id(IOMMUFDBackend *be, uint32_t id);
int iommufd_backend_map_dma(IOMMUFDBackend *be, uint32_t ioas_id, uint64_t iova,
                            uint64_t size, void *vaddr, bool readonly);
int iommufd_backend_unmap_dma(IOMMUFDBackend *be, uint32_t ioas_id, uint64_t iova,
                              uint64_t size);
bool iommufd_backend_set_dirty_tracking(IOMMUFDBackend *be, uint32_t hwpt_id,
                                        bool start, Error **errp);
bool vfio_device_attach(char *name, VFIODevice *vbasedev, AddressSpace *as,
                        Error **errp);
void vfio_device_detach(VFIODevice *vbasedev);
void vfio_device_free(VFIODevice *vbasedev);
bool vfio_device_get_name(VFIODevice *vbasedev, Error **errp);
int vfio_container_dma_map(VFIOContainerBase *bcontainer, uint64_t iova,
                           uint64_t size, void *vaddr, bool readonly);
int vfio_container_dma_unmap(VFIOContainerBase *bcontainer, uint64_t iova,
                             uint64_t size, void *iotlb);
VFIOAddressSpace *vfio_address_space_get(AddressSpace *as);
void vfio_address_space_put(VFIOAddressSpace *space);
void vfio_address_space_insert(VFIOAddressSpace *space, VFIOContainerBase *bcontainer);
bool vfio_devices_all_dirty_tracking(VFIOContainerBase *bcontainer);
int vfio_get_dirty_bitmap(const VFIOContainerBase *bcontainer, uint64_t iova,
                          uint64_t size, uint64_t ram_addr, Error **errp);
extern int vfio_kvm_device_fd;
extern VFIOAddressSpace *vfio_address_spaces;

#define QEMU_FUNCTION \
    { fprintf(stderr, "%s: the library called the VMM's function\n", __func__); abort(); }

IOMMUFDBackend *iommufd_backend_new(int fd, Error **errp) QEMU_FUNCTION
bool iommufd_backend_connect(IOMMUFDBackend *be, Error **errp) QEMU_FUNCTION
void iommufd_backend_disconnect(IOMMUFDBackend *be) QEMU_FUNCTION
bool iommufd_backend_alloc_ioas(IOMMUFDBackend *be, uint32_t *ioas_id,
                                Error **errp) QEMU_FUNCTION
void iommufd_backend_free_id(IOMMUFDBackend *be, uint32_t id) QEMU_FUNCTION
int iommufd_backend_map_dma(IOMMUFDBackend *be, uint32_t ioas_id, uint64_t iova,
                            uint64_t size, void *vaddr, bool readonly) QEMU_FUNCTION
int iommufd_backend_unmap_dma(IOMMUFDBackend *be, uint32_t ioas_id, uint64_t iova,
                              uint64_t size) QEMU_FUNCTION
bool iommufd_backend_set_dirty_tracking(IOMMUFDBackend *be, uint32_t hwpt_id,
                                        bool start, Error **errp) QEMU_FUNCTION
bool vfio_device_attach(char *name, VFIODevice *vbasedev, AddressSpace *as,
                        Error **errp) QEMU_FUNCTION
void vfio_device_detach(VFIODevice *vbasedev) QEMU_FUNCTION
void vfio_device_free(VFIODevice *vbasedev) QEMU_FUNCTION
bool vfio_device_get_name(VFIODevice *vbasedev, Error **errp) QEMU_FUNCTION
int vfio_container_dma_map(VFIOContainerBase *bcontainer, uint64_t iova,
                           uint64_t size, void *vaddr, bool readonly) QEMU_FUNCTION
int vfio_container_dma_unmap(VFIOContainerBase *bcontainer, uint64_t iova,
                             uint64_t size, void *iotlb) QEMU_FUNCTION
VFIOAddressSpace *vfio_address_space_get(AddressSpace *as) QEMU_FUNCTION
void vfio_address_space_put(VFIOAddressSpace *space) QEMU_FUNCTION
void vfio_address_space_insert(VFIOAddressSpace *space,
                               VFIOContainerBase *bcontainer) QEMU_FUNCTION
bool vfio_devices_all_dirty_tracking(VFIOContainerBase *bcontainer) QEMU_FUNCTION
int vfio_get_dirty_bitmap(const VFIOContainerBase *bcontainer, uint64_t iova,
                          uint64_t size, uint64_t ram_addr, Error **errp) QEMU_FUNCTION
int vfio_kvm_device_fd = -1;
VFIOAddressSpace *vfio_address_spaces;

/* ---- the library: every public header, and the kernel model ----------- */

#include "vfi-public-headers.h"
#include VFI_SIM_HEADER

#define RAM_SIZE (2u << 20)
#define PAGE 4096u
#define NR_PAGES (RAM_SIZE / PAGE)
#define DIRTY_PAGE 5u

static const char topology[] =
    "[iommu dmar0]\ndirty-tracking=true\n"
    "[device nic0]\niommu=dmar0\n"
    "[device nic1]\niommu=dmar0\n";

#define CHECK(cond) check((cond), #cond, NULL, __LINE__)
#define CHECK_OK(call) check((call), #call, &err, __LINE__)

static void check(bool ok, const char *what, GError **err, int line)
{
    if (!ok) {
        fprintf(stderr, "interpose.c:%d: %s failed%s%s\n", line, what,
                err && *err ? ": " : "", err && *err ? (*err)->message : "");
        exit(1);
    }
}

static VfiDevice *open_device(VfiSim *sim, const char *name)
{
    g_autoptr(GError) err = NULL;
    VfiDevice *dev = vfi_device_open_pci(vfi_sim_device_bdf(sim, name), &err);

    CHECK_OK(dev != NULL);
    return dev;
}

/* Track dirty pages while nic1 writes one page; the synced log has that bit
 * and no other. */
static void migrate(VfiSim *sim, VfiAddressSpace *as)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *blocker = vfi_address_space_migration_blocker(as);
    uint64_t bitmap[NR_PAGES / 64] = { 0 };
    VfiDirtyLog log = { .base_iova = 0, .page_size = PAGE, .bitmap = bitmap,
                        .nr_pages = NR_PAGES };

    CHECK(blocker == NULL);
    CHECK_OK(vfi_address_space_dirty_tracking_start(as, &err));
    CHECK_OK(vfi_sim_dma_write(sim, "nic1", DIRTY_PAGE * PAGE, PAGE, &err));
    CHECK_OK(vfi_address_space_sync_dirty(as, &log, &err));
    CHECK(bitmap[0] == UINT64_C(1) << DIRTY_PAGE);
    for (unsigned i = 1; i < G_N_ELEMENTS(bitmap); i++) {
        CHECK(bitmap[i] == 0);
    }
    CHECK_OK(vfi_address_space_dirty_tracking_stop(as, &err));
}

static void scenario(VfiSim *sim)
{
    g_autoptr(GError) err = NULL;
    VfiIommufd *be = vfi_iommufd_new();
    VfiAddressSpace *as = vfi_address_space_new(NULL);
    VfiDevice *nic0 = open_device(sim, "nic0");
    VfiDevice *nic1 = open_device(sim, "nic1");
    void *ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    CHECK(ram != MAP_FAILED);
    CHECK_OK(vfi_address_space_attach_device(as, be, nic0, NULL, &err));
    CHECK_OK(vfi_address_space_attach_device(as, be, nic1, NULL, &err));
    CHECK(vfi_device_get_hwpt(nic0) == vfi_device_get_hwpt(nic1));
    CHECK(vfi_container_iommu_coverage_complete(vfi_device_get_container(nic0)));
    CHECK_OK(vfi_address_space_dma_map(as, 0, RAM_SIZE, ram, false, &err));
    migrate(sim, as);
    CHECK_OK(vfi_address_space_dma_unmap(as, 0, RAM_SIZE, 0, &err));
    CHECK_OK(vfi_address_space_detach_device(as, nic0, &err));
    CHECK_OK(vfi_address_space_detach_device(as, nic1, &err));
    vfi_device_free(nic0);
    vfi_device_free(nic1);
    CHECK_OK(vfi_address_space_free(as, &err));
    CHECK_OK(vfi_iommufd_free(be, &err));
    munmap(ram, RAM_SIZE);
}

int main(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(VfiSim) sim = vfi_sim_new(&err);

    CHECK_OK(sim != NULL);
    CHECK_OK(vfi_sim_load_topology_data(sim, topology, &err));
    vfi_sim_install(sim);
    scenario(sim);
    CHECK(vfi_sim_live_objects(sim) == 0);
    CHECK(vfi_sim_open_fds(sim) == 0);
    printf("interpose: libvfio-iommufd %s ran next to QEMU's names\n",
           vfi_version_string());
    return 0;
}
