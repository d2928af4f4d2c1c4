/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The smallest VMM-side use of vfio-iommufd, built against the installed
 * libraries through pkg-config (see scripts/check-install.sh): it installs
 * the simulated kernel (the kernel model, libvfio-iommufd-sim), plugs two
 * devices into one guest address space, maps guest memory, and tears down,
 * checking nothing is left. A VMM that does not use the model links
 * vfio-iommufd alone.
 *
 *   cc -o minimal-vmm minimal-vmm.c $(pkg-config --cflags --libs vfio-iommufd-sim)
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include <vfio-iommufd-sim/sim.h>
#include <vfio-iommufd/container.h>

static const char topology[] =
    "[iommu dmar0]\ndirty-tracking=true\n"
    "[device nic0]\niommu=dmar0\n"
    "[device nic1]\niommu=dmar0\n";

int main(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(VfiSim) sim = vfi_sim_new(&err);
    const size_t ram_size = 16 << 20;
    void *ram;

    if (!sim || !vfi_sim_load_topology_data(sim, topology, &err)) {
        fprintf(stderr, "minimal-vmm: %s\n", err->message);
        return 1;
    }
    vfi_sim_install(sim);

    VfiIommufd *be = vfi_iommufd_new();
    VfiAddressSpace *as = vfi_address_space_new(NULL);
    VfiDevice *nic0 = vfi_device_open_pci(vfi_sim_device_bdf(sim, "nic0"), &err);
    VfiDevice *nic1 = nic0 ? vfi_device_open_pci(vfi_sim_device_bdf(sim, "nic1"), &err)
                            : NULL;
    ram = mmap(NULL, ram_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (!nic1 || ram == MAP_FAILED ||
        !vfi_address_space_attach_device(as, be, nic0, NULL, &err) ||
        !vfi_address_space_attach_device(as, be, nic1, NULL, &err)) {
        fprintf(stderr, "minimal-vmm: %s\n", err ? err->message : "out of memory");
        return 1;
    }
    printf("minimal-vmm: nic0 and nic1 share HWPT %u (nic1 placed in %u attempt)\n",
           vfi_hwpt_get_id(vfi_device_get_hwpt(nic1)), vfi_device_get_attach_attempts(nic1));
    if (vfi_device_get_hwpt(nic0) != vfi_device_get_hwpt(nic1) ||
        !vfi_address_space_dma_map(as, 0, ram_size, ram, false, &err) ||
        !vfi_address_space_dma_unmap(as, 0, ram_size, 0, &err) ||
        !vfi_address_space_detach_device(as, nic0, &err) ||
        !vfi_address_space_detach_device(as, nic1, &err)) {
        fprintf(stderr, "minimal-vmm: %s\n", err ? err->message : "not one HWPT");
        return 1;
    }
    vfi_device_free(nic0);
    vfi_device_free(nic1);
    munmap(ram, ram_size);
    if (!vfi_address_space_free(as, &err) || !vfi_iommufd_free(be, &err)) {
        fprintf(stderr, "minimal-vmm: %s\n", err->message);
        return 1;
    }
    return vfi_sim_live_objects(sim) == 0 ? 0 : 1;
}
