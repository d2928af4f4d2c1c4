#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Install the library from build dir $1 into a temporary prefix and build
# examples/minimal-vmm.c against it with pkg-config, twice: shared and
# static. Proves the installed headers, the .pc file and the exported
# symbols are enough for a VMM.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT

meson install -C "$build" --destdir "$dest" --quiet
prefix=$(meson introspect "$build" --buildoptions |
         python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"][0])')
libdir=$(meson introspect "$build" --buildoptions |
         python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="libdir"][0])')
case "$libdir" in /*) ;; *) libdir="$prefix/$libdir" ;; esac
# Point the installed .pc file at the staging directory.
sed -i "s|^prefix=.*|prefix=$dest$prefix|" "$dest$libdir/pkgconfig/vfio-iommufd.pc"
export PKG_CONFIG_PATH="$dest$libdir/pkgconfig"
pc() { pkg-config "$@"; }

cc -std=gnu11 -Wall -Wextra -Werror -o "$dest/minimal-vmm" examples/minimal-vmm.c \
    $(pc --cflags --libs vfio-iommufd)
LD_LIBRARY_PATH="$dest$libdir" "$dest/minimal-vmm"

cc -std=gnu11 -Wall -Wextra -Werror -o "$dest/minimal-vmm-static" examples/minimal-vmm.c \
    $(pc --cflags vfio-iommufd) "$dest$libdir/libvfio-iommufd.a" \
    $(pkg-config --libs glib-2.0)
"$dest/minimal-vmm-static"
echo "check-install: the installed library links and runs (shared and static)"
