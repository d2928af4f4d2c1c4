/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd tool: the running kernel's build configuration, from
 * /proc/config.gz (CONFIG_IKCONFIG_PROC; gzip, inflated with zlib) or else
 * /boot/config-<release>.
 */
#ifndef VFI_TOOL_KCONFIG_H
#define VFI_TOOL_KCONFIG_H

#include <glib.h>

typedef struct KernelConfig {
    char *source;               /* the file read */
    GHashTable *options;        /* "CONFIG_X" -> "y", "m", "\"text\"", "42" */
} KernelConfig;

/*
 * Read <@root>/proc/config.gz, else <@root>/boot/config-@release.
 * Returns: the configuration; NULL without an error when neither file
 * exists; NULL with a HOST error when one exists but cannot be read or
 * inflated.
 */
KernelConfig *kernel_config_load(const char *root, const char *release, GError **errp);
void kernel_config_free(KernelConfig *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KernelConfig, kernel_config_free)
/* Returns: the value of @option ("y", "m", ...), NULL when it is not set. */
const char *kernel_config_get(const KernelConfig *c, const char *option);
/* Returns: the kernel release: <@root>/proc/sys/kernel/osrelease, else
 * uname(2)'s (g_free()). */
char *kernel_release(const char *root);

#endif
