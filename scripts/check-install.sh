#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Install the library from build dir $1 into a temporary prefix and build
# examples/minimal-vmm.c against it with pkg-config, twice: shared and
# static (the archive with `pkg-config --static`). Proves the installed
# headers, the .pc file and the exported symbols are enough for a VMM, and
# that each installed static archive leaves exactly the public API of its
# installed headers global (scripts/abi.py check-archive, docs/abi.md).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT

meson install -C "$build" --destdir "$dest" --quiet
opt() {
    meson introspect "$build" --buildoptions |
        python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]==sys.argv[1]][0])' "$1"
}
prefix=$(opt prefix)
libdir=$(opt libdir)
includedir=$(opt includedir)
case "$libdir" in /*) ;; *) libdir="$prefix/$libdir" ;; esac
case "$includedir" in /*) ;; *) includedir="$prefix/$includedir" ;; esac
lib="$dest$libdir"
fail() { echo "check-install: $*" >&2; exit 1; }

# --- static archives: only the public API is global ---------------------------
# Each installed library, with the folder of its installed public headers.
for lib_headers in vfio-iommufd:vfio-iommufd; do
    python3 scripts/abi.py check-archive --nm nm --archive "$lib/lib${lib_headers%%:*}.a" \
        "$dest$includedir/${lib_headers#*:}"
done

# Point the installed .pc file at the staging directory.
sed -i "s|^prefix=.*|prefix=$dest$prefix|" "$lib/pkgconfig/vfio-iommufd.pc"
export PKG_CONFIG_PATH="$lib/pkgconfig"

cc -std=gnu11 -Wall -Wextra -Werror -o "$dest/minimal-vmm" examples/minimal-vmm.c \
    $(pkg-config --cflags --libs vfio-iommufd)
LD_LIBRARY_PATH="$lib" "$dest/minimal-vmm"

# Static: what `pkg-config --static` says, with the project's archives in
# place of its -lvfio-iommufd* (-l:libvfio-iommufd*.a); glib as the system
# has it.
static_libs() { sed -E 's/(^| )-l(vfio-iommufd[a-z-]*)/\1-l:lib\2.a/g'; }
cc -std=gnu11 -Wall -Wextra -Werror -o "$dest/minimal-vmm-static" examples/minimal-vmm.c \
    $(pkg-config --cflags vfio-iommufd) $(pkg-config --static --libs vfio-iommufd | static_libs)
needed=$(readelf -d "$dest/minimal-vmm-static" | grep NEEDED || true)
case "$needed" in
    *libvfio-iommufd*) fail "minimal-vmm-static needs a shared libvfio-iommufd" ;;
esac
"$dest/minimal-vmm-static"
echo "check-install: the installed library links and runs (shared and static);" \
     "its archive leaves only the public API global"
