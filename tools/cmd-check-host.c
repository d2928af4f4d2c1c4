/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd check-host: is this host ready for VFIO cdev + IOMMUFD
 * passthrough (and live migration), and if not, what is missing.
 */
#include <stdio.h>

#include "cli.h"
#include "host-checks.h"

enum { OPT_ROOT = 256 };

static const struct option check_host_options[] = {
    { "root", required_argument, NULL, OPT_ROOT },
    { NULL, 0, NULL, 0 },
};

static bool set_root(int val, const char *arg, void *data, GError **errp)
{
    *(const char **)data = arg;
    return true;
}

static bool host_ready(const HostEnv *e, GPtrArray *failed)
{
    for (guint i = 0; i < e->checks->len; i++) {
        const Check *c = &g_array_index(e->checks, Check, i);

        if (c->status == CHECK_FAIL) {
            g_ptr_array_add(failed, (char *)c->id);
        }
    }
    return failed->len == 0;
}

static void checks_text(const HostEnv *e, GPtrArray *failed, FILE *out)
{
    fprintf(out, "vfio-iommufd check-host: %s%s\n",
            e->k->sim ? "the kernel model" : "Linux ", e->k->sim ? "" : e->release);
    for (guint i = 0; i < e->checks->len; i++) {
        const Check *c = &g_array_index(e->checks, Check, i);

        fprintf(out, "  %-5s %-24s %s\n", check_status_str(c->status), c->id, c->message);
        if (c->hint && c->status != CHECK_OK) {
            fprintf(out, "  %-5s %-24s -> %s\n", "", "", c->hint);
        }
    }
    if (failed->len) {
        g_autofree char *ids = NULL;

        g_ptr_array_add(failed, NULL);
        ids = g_strjoinv(", ", (char **)failed->pdata);
        fprintf(out, "\nNot ready: %s failed.\n", ids);
    } else {
        fprintf(out, "\nReady for VFIO cdev + IOMMUFD passthrough.\n");
    }
}

static void checks_json(const ToolOptions *o, const HostEnv *e, bool ready)
{
    g_autoptr(Json) j = tool_json_begin(o, e->k);

    json_string(j, "release", e->k->sim ? NULL : e->release);
    json_string(j, "root", e->root);
    json_string(j, "config_source", e->config ? e->config->source : NULL);
    json_bool(j, "ready", ready);
    json_begin_array(j, "checks");
    for (guint i = 0; i < e->checks->len; i++) {
        const Check *c = &g_array_index(e->checks, Check, i);

        json_begin_object(j, NULL);
        json_string(j, "id", c->id);
        json_string(j, "status", check_status_str(c->status));
        json_string(j, "message", c->message);
        json_string(j, "hint", c->hint);
        json_end_object(j);
    }
    json_end_array(j);
    json_begin_array(j, "devices");
    for (guint i = 0; i < e->probed->len; i++) {
        const ProbedDevice *pd = &g_array_index(e->probed, ProbedDevice, i);

        json_begin_object(j, NULL);
        host_device_json(pd->host, j);
        device_probe_json(&pd->probe, j, "probe", false);
        json_end_object(j);
    }
    json_end_array(j);
    json_end_object(j);
    json_print(j, stdout);
}

static int run_check_host(ToolOptions *o, int argc, char **argv)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GPtrArray) failed = g_ptr_array_new();
    const char *root = NULL;
    HostEnv e = { 0 };
    ToolKernel k = { 0 };
    bool ready;
    int first, r = tool_parse_options(o, &tool_cmd_check_host, argc, argv,
                                      check_host_options, set_root, &root, &first, &err);

    if (r <= 0) {
        return r == 0 ? TOOL_EXIT_OK : tool_fail(o, err);
    }
    if (first < argc || (root && o->sim)) {
        tool_usage_error(&err, first < argc ? "unexpected argument '%s'" :
                         "--root and --sim exclude each other", argv[first < argc ? first : 0]);
        return tool_fail(o, err);
    }
    if (!tool_kernel_open(o, &k, &err) || !host_env_init(&e, &k, root, &err)) {
        host_env_clear(&e);
        tool_kernel_close(&k);
        return tool_fail(o, err);
    }
    host_checks_run(&e);
    ready = host_ready(&e, failed);
    if (o->json) {
        checks_json(o, &e, ready);
    } else {
        checks_text(&e, failed, stdout);
    }
    host_env_clear(&e);
    tool_kernel_close(&k);
    return ready ? TOOL_EXIT_OK : TOOL_EXIT_CHECK_FAILED;
}

const ToolCommand tool_cmd_check_host = {
    .name = "check-host",
    .synopsis = "[--root DIR] [--json] [--sim [--topology FILE]]",
    .brief = "is this host ready for VFIO cdev + IOMMUFD, what is missing",
    .summary = "Check that this host can pass devices through with VFIO cdev + IOMMUFD:\n"
               "the kernel's version and configuration (CONFIG_IOMMUFD,\n"
               "CONFIG_VFIO_DEVICE_CDEV, CONFIG_VFIO_PCI from /proc/config.gz or\n"
               "/boot/config-RELEASE), /dev/iommu, the vfio-pci driver, the devices bound\n"
               "to VFIO and their /dev/vfio/devices files, that they bind to an iommufd,\n"
               "and which are dirty-tracked (IOMMU_GET_HW_INFO, DMA logging) for live\n"
               "migration. Each missing piece is named with what to enable or do. Exit\n"
               "status 0 when ready, 1 when not.",
    .help = "The devices are probed as by 'list' (opened, bound, asked, closed):\n"
            "nothing is left behind.\n"
            "\n"
            "Options:\n"
            "  --root DIR       look at DIR/proc, DIR/boot, DIR/dev and DIR/sys instead\n"
            "                   of the running system's (files only: nothing is opened)\n",
    .run = run_check_host,
};
