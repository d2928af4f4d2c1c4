/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd tool: what every subcommand shares.
 *
 * Exit codes, the tool's error domain, the common options (--json, --sim,
 * --topology FILE, --help), errors printed as text or JSON, the kernel a
 * command runs on (the running Linux kernel or the kernel model) and the
 * device arguments (PCI addresses, short or full, mdev UUIDs, sysfs paths).
 */
#ifndef VFI_TOOL_CLI_H
#define VFI_TOOL_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <glib.h>

#include "vfio-iommufd-sim/sim.h"
#include "json.h"

/* The version of the JSON documents ("schema" member of every one). */
#define TOOL_SCHEMA 1

/* Exit codes (docs/vfio-iommufd.1, EXIT STATUS). */
typedef enum {
    TOOL_EXIT_OK = 0,           /* done; host ready; migration possible */
    TOOL_EXIT_CHECK_FAILED = 1, /* host not ready; migration not possible */
    TOOL_EXIT_USAGE = 2,        /* bad command line or topology file */
    TOOL_EXIT_RUNTIME = 3,      /* a device, sysfs or the kernel failed */
} ToolExit;

/* Errors of the tool itself (codes: ToolErrorCode). */
#define TOOL_ERROR (tool_error_quark())
GQuark tool_error_quark(void);
typedef enum {
    TOOL_ERROR_USAGE = 1,       /* exit code 2 */
} ToolErrorCode;

/* The options every subcommand takes. */
typedef struct ToolOptions {
    const char *command;        /* the subcommand's name */
    bool json;
    bool sim;                   /* run on the kernel model */
    const char *topology;       /* the model's topology file (implies sim) */
} ToolOptions;

typedef struct ToolCommand ToolCommand;
struct ToolCommand {
    const char *name;
    const char *synopsis;       /* after "vfio-iommufd NAME " */
    const char *brief;          /* one line, for the global --help */
    const char *summary;        /* the first paragraph of its --help */
    const char *help;           /* the rest of its --help: text and options */
    int (*run)(ToolOptions *o, int argc, char **argv);
};

/* The subcommands, in --help order; NULL-terminated. */
extern const ToolCommand *const tool_commands[];
extern const ToolCommand tool_cmd_check_host, tool_cmd_list, tool_cmd_info,
    tool_cmd_plan, tool_cmd_migration_check, tool_cmd_demo;

/* The help of the common options (in every subcommand's --help). */
extern const char tool_common_options_help[];

/* Called for each option of @extra (its val) with its argument or NULL. */
typedef bool (*ToolOptionFn)(int val, const char *arg, void *data, GError **errp);

/*
 * Parse the options of @cmd: the common ones and @extra (NULL or a
 * table ended by a zero entry; its vals must be >= 256). Options and
 * arguments may be mixed; "--" ends the options.
 * Returns: 1 to run (*first_arg: index of the first argument), 0 when
 * --help was printed, -1 on a usage error (@errp).
 */
int tool_parse_options(ToolOptions *o, const ToolCommand *cmd, int argc, char **argv,
                       const struct option *extra, ToolOptionFn fn, void *data,
                       int *first_arg, GError **errp);
/* Print @cmd's --help to @out. */
void tool_print_command_help(const ToolCommand *cmd, FILE *out);

/* Whether "--json" is among @argv (before any "--"): for the error of a
 * command line whose options could not all be parsed. */
bool tool_wants_json(int argc, char **argv);
/* A usage error (exit code 2). */
bool tool_usage_error(GError **errp, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/*
 * Report @err: on stderr ("vfio-iommufd COMMAND: message"), and with --json
 * as {"schema", "command", "error": {"code", "domain", "message"}} on
 * stdout. Returns: the exit code (2 for usage errors, else 3).
 */
int tool_fail(const ToolOptions *o, const GError *err);
/* Write @err as a JSON member @key ({"code", "domain", "message"}), or
 * null when @err is NULL. */
void tool_json_error(Json *j, const char *key, const GError *err);

/* ---- the kernel a command runs on --------------------------------------- */

typedef struct ToolKernel {
    VfiSim *sim;                /* the kernel model, or NULL for Linux */
    const char *sysfs;          /* vfi_kernel_sysfs_root() once open */
} ToolKernel;

/* The model's built-in topology (the demo's; docs/kernel-model.md). */
extern const char tool_builtin_topology[];

/* Install the kernel model (o->sim: --topology or the built-in topology)
 * or keep the running kernel. A bad topology file is a usage error. */
bool tool_kernel_open(const ToolOptions *o, ToolKernel *k, GError **errp);
/* Uninstall and free the model (if any). */
void tool_kernel_close(ToolKernel *k);
/* Returns: the kernel objects the model holds: IOMMUFD objects, type1
 * containers and groups set to one (-1 on Linux). */
int64_t tool_kernel_objects_left(const ToolKernel *k);
/* Start the JSON document of a command: schema, command, kernel. */
Json *tool_json_begin(const ToolOptions *o, const ToolKernel *k);

/* ---- device arguments ---------------------------------------------------- */

/* "DDDD:BB:DD.F" or "BB:DD.F" (domain 0000), hex in either case, into the
 * full lower-case form (g_free()). Returns NULL when malformed. */
char *tool_parse_bdf(const char *arg);
/* Returns: whether @s is an mdev UUID (8-4-4-4-12 hex digits). */
bool tool_is_uuid(const char *s);
/*
 * The sysfs directory of device argument @arg: a PCI address (short or
 * full), an mdev UUID, a sysfs path, or (on the model) a topology device
 * name. Malformed: a usage error; no such device: NOT_FOUND (exit 3).
 * *@name: the device's name (its BDF or UUID, or the path's last part).
 */
bool tool_device_path(const ToolKernel *k, const char *arg, char **path, char **name,
                      GError **errp);

#endif
