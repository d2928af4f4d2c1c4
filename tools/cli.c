/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd tool: common options and errors (cli.h).
 */
#include <string.h>

#include "vfio-iommufd/error.h"
#include "cli.h"

G_DEFINE_QUARK(vfio-iommufd-tool-error-quark, tool_error)

enum {
    OPT_JSON = 1,
    OPT_SIM,
    OPT_TOPOLOGY,
    OPT_HELP = 'h',
};

static const struct option common_options[] = {
    { "json", no_argument, NULL, OPT_JSON },
    { "sim", no_argument, NULL, OPT_SIM },
    { "topology", required_argument, NULL, OPT_TOPOLOGY },
    { "help", no_argument, NULL, OPT_HELP },
};

const char tool_common_options_help[] =
    "  --json           print one JSON object (schema 1) on stdout, errors too\n"
    "  --sim            run on the kernel model (libvfio-iommufd-sim) instead of\n"
    "                   the running kernel, with its built-in topology\n"
    "  --topology FILE  the kernel model with this topology (implies --sim)\n"
    "  -h, --help       this text\n";

bool tool_usage_error(GError **errp, const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error_literal(errp, TOOL_ERROR, TOOL_ERROR_USAGE, msg);
    return false;
}

void tool_print_command_help(const ToolCommand *cmd, FILE *out)
{
    fprintf(out, "usage: vfio-iommufd %s %s\n\n%s\n\n%s\nCommon options:\n%s", cmd->name,
            cmd->synopsis, cmd->summary, cmd->help, tool_common_options_help);
}

/* The common options followed by @extra, ended by a zero entry. */
static GArray *merge_options(const struct option *extra)
{
    GArray *all = g_array_new(TRUE, TRUE, sizeof(struct option));

    g_array_append_vals(all, common_options, G_N_ELEMENTS(common_options));
    for (; extra && extra->name; extra++) {
        g_array_append_vals(all, extra, 1);
    }
    return all;
}

static bool common_option(ToolOptions *o, int c, const char *arg)
{
    switch (c) {
    case OPT_JSON:
        o->json = true;
        return true;
    case OPT_SIM:
        o->sim = true;
        return true;
    case OPT_TOPOLOGY:
        o->topology = arg;
        o->sim = true;
        return true;
    default:
        return false;
    }
}

int tool_parse_options(ToolOptions *o, const ToolCommand *cmd, int argc, char **argv,
                       const struct option *extra, ToolOptionFn fn, void *data,
                       int *first_arg, GError **errp)
{
    g_autoptr(GArray) all = merge_options(extra);
    int c;

    optind = 0;     /* a fresh scan (glibc), after the global options */
    opterr = 0;
    /* ':' first: a missing argument is ':', an unknown option '?'; GNU
     * getopt permutes, so options may follow the arguments. */
    while ((c = getopt_long(argc, argv, ":h", (struct option *)all->data, NULL)) != -1) {
        if (c == OPT_HELP) {
            tool_print_command_help(cmd, stdout);
            return 0;
        }
        if (common_option(o, c, optarg)) {
            continue;
        }
        if (c >= 256 && fn) {
            if (!fn(c, optarg, data, errp)) {
                return -1;
            }
            continue;
        }
        o->json = o->json || tool_wants_json(argc - optind, argv + optind);
        if (c == ':') {
            tool_usage_error(errp, "option '%s' needs an argument", argv[optind - 1]);
        } else {
            tool_usage_error(errp, "unknown option '%s'", argv[optind - 1]);
        }
        return -1;
    }
    *first_arg = optind;
    return 1;
}

bool tool_wants_json(int argc, char **argv)
{
    for (int i = 0; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (g_str_equal(argv[i], "--json")) {
            return true;
        }
    }
    return false;
}

static const char *domain_name(GQuark domain)
{
    if (domain == TOOL_ERROR) {
        return "usage";
    }
    if (domain == VFI_KERNEL_ERROR) {
        return "kernel";
    }
    if (domain == VFI_ERROR) {
        return "library";
    }
    return g_quark_to_string(domain);
}

void tool_json_error(Json *j, const char *key, const GError *err)
{
    if (!err) {
        json_null(j, key);
        return;
    }
    json_begin_object(j, key);
    json_int(j, "code", err->code);
    json_string(j, "domain", domain_name(err->domain));
    json_string(j, "message", err->message);
    json_end_object(j);
}

int tool_fail(const ToolOptions *o, const GError *err)
{
    bool usage = g_error_matches(err, TOOL_ERROR, TOOL_ERROR_USAGE);

    fprintf(stderr, "vfio-iommufd%s%s: %s\n", o->command ? " " : "",
            o->command ? o->command : "", err->message);
    if (usage) {
        fprintf(stderr, "Try 'vfio-iommufd %s%s--help'.\n",
                o->command ? o->command : "", o->command ? " " : "");
    }
    if (o->json) {
        g_autoptr(Json) j = json_new();

        json_begin_object(j, NULL);
        json_int(j, "schema", TOOL_SCHEMA);
        json_string(j, "command", o->command);
        tool_json_error(j, "error", err);
        json_end_object(j);
        json_print(j, stdout);
    }
    return usage ? TOOL_EXIT_USAGE : TOOL_EXIT_RUNTIME;
}
