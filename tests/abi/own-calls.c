/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The library calls its own public functions directly, not through the PLT
 * (-Wl,-Bsymbolic-functions): this program, linked against the shared
 * library with its symbols exported, defines three of the library's public
 * functions itself, and the library's internal calls must still reach the
 * library's own:
 *  - vfi_iommufd_connect(): an attach binds the device, which connects the
 *    backend (hw/vfio/ calling backends/); the program's one aborts;
 *  - vfi_device_get_name(): a refused second attach names the device;
 *  - vfi_error_quark(): that refusal is a VFI_ERROR.
 * The program's versions of the last two count their calls: none expected.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vfio-iommufd/container.h>
#include <vfio-iommufd/error.h>
#include VFI_SIM_HEADER

static unsigned interposed_calls;

bool vfi_iommufd_connect(VfiIommufd *be, GError **errp)
{
    fprintf(stderr, "own-calls: the library called the program's vfi_iommufd_connect()\n");
    abort();
}

const char *vfi_device_get_name(const VfiDevice *dev)
{
    interposed_calls++;
    return "interposed-name";
}

GQuark vfi_error_quark(void)
{
    interposed_calls++;
    return g_quark_from_static_string("interposed-error-quark");
}

#define CHECK(cond) check((cond), #cond, __LINE__)

static void check(bool ok, const char *what, int line)
{
    if (!ok) {
        fprintf(stderr, "own-calls.c:%d: %s failed\n", line, what);
        exit(1);
    }
}

static void second_attach_refused(VfiSim *sim, VfiAddressSpace *as, VfiIommufd *be,
                                  VfiDevice *dev)
{
    g_autoptr(GError) err = NULL;

    CHECK(!vfi_address_space_attach_device(as, be, dev, NULL, &err));
    CHECK(err != NULL);
    printf("own-calls: %s: %s\n", g_quark_to_string(err->domain), err->message);
    CHECK(strcmp(g_quark_to_string(err->domain), "vfi-error-quark") == 0);
    CHECK(err->code == VFI_ERROR_WRONG_STATE);
    CHECK(strstr(err->message, vfi_sim_device_bdf(sim, "nic0")) != NULL);
    CHECK(interposed_calls == 0);
}

int main(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(VfiSim) sim = vfi_sim_new(&err);
    VfiIommufd *be = vfi_iommufd_new();
    VfiAddressSpace *as = vfi_address_space_new(NULL);
    VfiDevice *dev;

    CHECK(sim && vfi_sim_load_topology_data(sim, "[iommu dmar0]\n[device nic0]\n"
                                            "iommu=dmar0\n", &err));
    vfi_sim_install(sim);
    dev = vfi_device_open_pci(vfi_sim_device_bdf(sim, "nic0"), &err);
    CHECK(dev != NULL);
    CHECK(vfi_address_space_attach_device(as, be, dev, NULL, &err));
    second_attach_refused(sim, as, be, dev);
    CHECK(vfi_address_space_detach_device(as, dev, &err));
    vfi_device_free(dev);
    CHECK(vfi_address_space_free(as, &err) && vfi_iommufd_free(be, &err));
    CHECK(vfi_sim_live_objects(sim) == 0);
    printf("own-calls: the library reached its own functions\n");
    return 0;
}
