/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd tool: the checks of check-host, each a function adding one
 * result (ok, warn, FAIL or skip, a message and, where something is
 * missing, a hint saying what to enable or do).
 */
#ifndef VFI_TOOL_HOST_CHECKS_H
#define VFI_TOOL_HOST_CHECKS_H

#include <stdbool.h>
#include <glib.h>

#include "cli.h"
#include "host-devices.h"
#include "kconfig.h"
#include "probe.h"

typedef enum {
    CHECK_OK,
    CHECK_WARN,                 /* works, but something is missing */
    CHECK_FAIL,                 /* the host is not ready */
    CHECK_SKIP,                 /* not applicable or not tried */
} CheckStatus;

typedef struct Check {
    const char *id;
    CheckStatus status;
    char *message;
    char *hint;                 /* what to do, or NULL */
} Check;

typedef struct ProbedDevice {
    HostDevice *host;           /* not owned */
    DeviceProbe probe;
} ProbedDevice;

typedef struct HostEnv {
    const ToolKernel *k;
    const char *root;           /* "/" or --root: proc/, boot/, dev/ under it */
    bool fake_root;             /* --root: files only, no open or ioctl */
    char *sysfs;
    char *release;
    KernelConfig *config;       /* NULL: none found or unreadable */
    GError *config_error;
    GPtrArray *hosts;           /* HostDevice */
    GArray *probed;             /* ProbedDevice: the devices with a cdev */
    GArray *checks;             /* Check */
} HostEnv;

/* Read what the checks need (release, configuration, sysfs devices) and
 * probe the VFIO devices (not with @fake_root). */
bool host_env_init(HostEnv *e, const ToolKernel *k, const char *root, GError **errp);
void host_env_clear(HostEnv *e);
/* Run every check, in order. */
void host_checks_run(HostEnv *e);
/* Returns: "ok", "warn", "FAIL", "skip". */
const char *check_status_str(CheckStatus s);

#endif
