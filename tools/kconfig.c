/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd tool: reading the kernel's configuration (kconfig.h).
 */
#include <string.h>
#include <sys/utsname.h>
#include <zlib.h>

#include "vfio-iommufd/error.h"
#include "kconfig.h"

/* Inflate the gzip stream @in into @out. */
static bool gunzip(const char *path, const guint8 *in, gsize len, GString *out,
                   GError **errp)
{
    z_stream zs = { .next_in = (Bytef *)in, .avail_in = (uInt)len };
    guint8 buf[16384];
    int ret;

    if (inflateInit2(&zs, 15 + 16) != Z_OK) {      /* 16: a gzip header */
        g_set_error(errp, VFI_ERROR, VFI_ERROR_HOST, "%s: zlib: %s", path,
                    zs.msg ? zs.msg : "cannot initialise");
        return false;
    }
    do {
        zs.next_out = buf;
        zs.avail_out = sizeof(buf);
        ret = inflate(&zs, Z_NO_FLUSH);
        if (ret != Z_OK && ret != Z_STREAM_END) {
            g_set_error(errp, VFI_ERROR, VFI_ERROR_HOST, "%s: not gzip data or truncated "
                        "(zlib: %s)", path, zs.msg ? zs.msg : zError(ret));
            inflateEnd(&zs);
            return false;
        }
        g_string_append_len(out, (const char *)buf, (gssize)(sizeof(buf) - zs.avail_out));
    } while (ret != Z_STREAM_END);
    inflateEnd(&zs);
    return true;
}

/* "CONFIG_X=v" lines into @options ("# CONFIG_X is not set": absent). */
static void parse_config(const char *text, GHashTable *options)
{
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);

    for (char **l = lines; *l; l++) {
        char *eq = strchr(*l, '=');

        if (g_str_has_prefix(*l, "CONFIG_") && eq) {
            g_hash_table_insert(options, g_strndup(*l, (gsize)(eq - *l)), g_strdup(eq + 1));
        }
    }
}

static KernelConfig *config_from_text(const char *path, const char *text)
{
    KernelConfig *c = g_new0(KernelConfig, 1);

    c->source = g_strdup(path);
    c->options = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    parse_config(text, c->options);
    return c;
}

static KernelConfig *load_gz(const char *path, GError **errp)
{
    g_autofree char *data = NULL;
    g_autoptr(GString) text = g_string_new(NULL);
    g_autoptr(GError) err = NULL;
    gsize len;

    if (!g_file_get_contents(path, &data, &len, &err)) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_HOST, "%s", err->message);
        return NULL;
    }
    if (!gunzip(path, (const guint8 *)data, len, text, errp)) {
        return NULL;
    }
    return config_from_text(path, text->str);
}

KernelConfig *kernel_config_load(const char *root, const char *release, GError **errp)
{
    g_autofree char *gz = g_build_filename(root, "proc", "config.gz", NULL);
    g_autofree char *name = g_strdup_printf("config-%s", release);
    g_autofree char *boot = g_build_filename(root, "boot", name, NULL);
    g_autofree char *text = NULL;
    g_autoptr(GError) err = NULL;

    if (g_file_test(gz, G_FILE_TEST_EXISTS)) {
        return load_gz(gz, errp);
    }
    if (!g_file_test(boot, G_FILE_TEST_EXISTS)) {
        return NULL;
    }
    if (!g_file_get_contents(boot, &text, NULL, &err)) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_HOST, "%s", err->message);
        return NULL;
    }
    return config_from_text(boot, text);
}

void kernel_config_free(KernelConfig *c)
{
    if (!c) {
        return;
    }
    g_free(c->source);
    g_hash_table_unref(c->options);
    g_free(c);
}

const char *kernel_config_get(const KernelConfig *c, const char *option)
{
    const char *v = c ? g_hash_table_lookup(c->options, option) : NULL;

    return v && !g_str_equal(v, "n") ? v : NULL;
}

char *kernel_release(const char *root)
{
    g_autofree char *path = g_build_filename(root, "proc", "sys", "kernel", "osrelease", NULL);
    g_autofree char *text = NULL;
    struct utsname u;

    if (g_file_get_contents(path, &text, NULL, NULL)) {
        return g_strstrip(g_steal_pointer(&text));
    }
    if (uname(&u) == 0) {
        return g_strdup(u.release);
    }
    return g_strdup("unknown");
}
