/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: the command-line tool (docs/vfio-iommufd.1).
 *
 *   vfio-iommufd [--json] [--sim] [--topology FILE] COMMAND [OPTIONS] [ARGS]
 *   vfio-iommufd --help | --version
 *
 * One file per subcommand (cmd-*.c), each a ToolCommand (cli.h); this file
 * only takes the global options and dispatches. The tool uses the public
 * API of libvfio-iommufd only, and libvfio-iommufd-sim for --sim.
 */
#include <stdio.h>
#include <string.h>

#include "vfio-iommufd/version.h"
#include "cli.h"

const ToolCommand *const tool_commands[] = {
    &tool_cmd_check_host,
    &tool_cmd_list,
    &tool_cmd_info,
    &tool_cmd_plan,
    &tool_cmd_migration_check,
    &tool_cmd_demo,
    NULL,
};

enum {
    OPT_VERSION = 256,
    OPT_JSON,
    OPT_SIM,
    OPT_TOPOLOGY,
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: vfio-iommufd [--json] [--sim] [--topology FILE] COMMAND [OPTIONS] [ARGS]\n"
            "       vfio-iommufd --help | --version\n"
            "\n"
            "Inspect a host for PCI passthrough with Linux VFIO device files (cdev) and\n"
            "IOMMUFD, and see what libvfio-iommufd would do with its devices.\n"
            "\n"
            "Commands:\n");
    for (const ToolCommand *const *c = tool_commands; *c; c++) {
        fprintf(out, "  %-16s %s\n", (*c)->name, (*c)->brief);
    }
    fprintf(out,
            "\n"
            "'vfio-iommufd COMMAND --help' describes a command and its options.\n"
            "DEVICE: a PCI address (0000:3b:00.0, or 3b:00.0 for domain 0000), an mdev\n"
            "UUID or a sysfs directory.\n"
            "\n"
            "Options (also accepted after the command):\n"
            "%s"
            "  --version        print the version of libvfio-iommufd\n"
            "\n"
            "Exit status: 0 done (check-host: ready; migration-check: possible), 1 a\n"
            "check failed (host not ready, migration not possible), 2 usage error,\n"
            "3 runtime error. See vfio-iommufd(1).\n",
            tool_common_options_help);
}

static const ToolCommand *find_command(const char *name)
{
    for (const ToolCommand *const *c = tool_commands; *c; c++) {
        if (g_str_equal((*c)->name, name)) {
            return *c;
        }
    }
    return NULL;
}

/* The options before the command. Returns: -1 to go on, else an exit code. */
static int global_options(ToolOptions *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, OPT_VERSION },
        { "json", no_argument, NULL, OPT_JSON },
        { "sim", no_argument, NULL, OPT_SIM },
        { "topology", required_argument, NULL, OPT_TOPOLOGY },
        { NULL, 0, NULL, 0 },
    };
    g_autoptr(GError) err = NULL;
    int c;

    opterr = 0;
    while ((c = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'h':
            usage(stdout);
            return TOOL_EXIT_OK;
        case OPT_VERSION:
            printf("vfio-iommufd %s\n", vfi_version_string());
            return TOOL_EXIT_OK;
        case OPT_JSON:
            o->json = true;
            break;
        case OPT_SIM:
            o->sim = true;
            break;
        case OPT_TOPOLOGY:
            o->topology = optarg;
            o->sim = true;
            break;
        default:
            o->json = o->json || tool_wants_json(argc - optind, argv + optind);
            tool_usage_error(&err, c == ':' ? "option '%s' needs an argument" :
                             "unknown option '%s'", argv[optind - 1]);
            return tool_fail(o, err);
        }
    }
    return -1;
}

int main(int argc, char **argv)
{
    g_autoptr(GError) err = NULL;
    ToolOptions o = { 0 };
    const ToolCommand *cmd;
    int r = global_options(&o, argc, argv);

    if (r >= 0) {
        return r;
    }
    if (optind == argc) {
        usage(stderr);
        return TOOL_EXIT_USAGE;
    }
    cmd = find_command(argv[optind]);
    if (!cmd) {
        o.json = o.json || tool_wants_json(argc - optind, argv + optind);
        tool_usage_error(&err, "unknown command '%s' (commands: check-host, list, info, "
                         "plan, migration-check, demo)", argv[optind]);
        return tool_fail(&o, err);
    }
    o.command = cmd->name;
    /* The command parses its own arguments, argv[0] being its name. */
    return cmd->run(&o, argc - optind, argv + optind);
}
