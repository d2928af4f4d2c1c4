#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Install the libraries from build dir $1 into a temporary prefix and check
# what a VMM gets:
#  - libvfio-iommufd (headers under include/vfio-iommufd/, vfio-iommufd.pc)
#    holds nothing of the kernel model: its .so exports no vfi_sim_* and no
#    sim-internal (sim_*) symbol (nm -D), and no sim header is installed
#    with it;
#  - the kernel model installs as its own library, libvfio-iommufd-sim (.so
#    and .a, include/vfio-iommufd-sim/sim.h, vfio-iommufd-sim.pc requiring
#    vfio-iommufd), exporting vfi_sim_* only;
#  - examples/minimal-vmm.c (a VMM on the model) builds with pkg-config and
#    runs, twice: shared and static.
#  - each installed static archive leaves exactly the public API of its
#    installed headers global (scripts/abi.py check-archive, docs/abi.md);
#  - the vfio-iommufd tool, when installed, comes with its manual page.
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

# --- what is installed --------------------------------------------------------
for f in "$lib/libvfio-iommufd.so" "$lib/libvfio-iommufd.a" "$lib/pkgconfig/vfio-iommufd.pc" \
         "$lib/libvfio-iommufd-sim.so" "$lib/libvfio-iommufd-sim.a" \
         "$lib/pkgconfig/vfio-iommufd-sim.pc" \
         "$dest$includedir/vfio-iommufd/kernel.h" "$dest$includedir/vfio-iommufd-sim/sim.h"; do
    [ -e "$f" ] || fail "${f#"$dest"} is not installed"
done
[ ! -e "$dest$includedir/vfio-iommufd/sim.h" ] ||
    fail "the model's header is installed with the production headers (vfio-iommufd/sim.h)"
# The tool (-Dtool) comes with its manual page.
mandir=$(opt mandir)
bindir=$(opt bindir)
case "$mandir" in /*) ;; *) mandir="$prefix/$mandir" ;; esac
case "$bindir" in /*) ;; *) bindir="$prefix/$bindir" ;; esac
if [ -e "$dest$bindir/vfio-iommufd" ]; then
    [ -e "$dest$mandir/man1/vfio-iommufd.1" ] ||
        fail "the tool is installed without its manual page ($mandir/man1/vfio-iommufd.1)"
fi

# --- the production .so exports nothing of the model --------------------------
model_syms='^(vfi_sim_|sim_|_vfi_trace_vfi_sim_)'
# (nm -D names carry their version, name@@VFI_0.2: drop it)
dsyms() { nm -D --defined-only "$1" | awk '$2 != "A" {sub(/@.*/, "", $NF); print $NF}'; }
leaked=$(dsyms "$lib/libvfio-iommufd.so" | grep -E "$model_syms" || true)
[ -z "$leaked" ] || fail "libvfio-iommufd.so exports symbols of the kernel model: $(echo $leaked | head -c 300)"
dsyms "$lib/libvfio-iommufd.so" | grep -qx vfi_kernel_install ||
    fail "libvfio-iommufd.so does not export vfi_kernel_install"
# ... nor does a hidden copy of it sit in the library (the symbol table, if not stripped).
leaked=$(nm --defined-only "$lib/libvfio-iommufd.so" 2>/dev/null | awk '{print $NF}' | grep -E "$model_syms" || true)
[ -z "$leaked" ] || fail "libvfio-iommufd.so holds code of the kernel model: $(echo $leaked | head -c 300)"
other=$(dsyms "$lib/libvfio-iommufd-sim.so" | grep -v '^vfi_sim_' || true)
[ -z "$other" ] || fail "libvfio-iommufd-sim.so exports more than vfi_sim_*: $(echo $other | head -c 300)"

# --- static archives: only the public API is global ---------------------------
# Each installed library, with the folder of its installed public headers.
for lib_headers in vfio-iommufd:vfio-iommufd vfio-iommufd-sim:vfio-iommufd-sim; do
    python3 scripts/abi.py check-archive --nm nm --archive "$lib/lib${lib_headers%%:*}.a" \
        "$dest$includedir/${lib_headers#*:}"
done

# --- pkg-config ---------------------------------------------------------------
# Point the installed .pc files at the staging directory.
sed -i "s|^prefix=.*|prefix=$dest$prefix|" "$lib/pkgconfig/vfio-iommufd.pc" \
    "$lib/pkgconfig/vfio-iommufd-sim.pc"
export PKG_CONFIG_PATH="$lib/pkgconfig"
pkg-config --print-requires vfio-iommufd-sim | grep -q '^vfio-iommufd\b' ||
    fail "vfio-iommufd-sim.pc does not require vfio-iommufd"

cc -std=gnu11 -Wall -Wextra -Werror -o "$dest/minimal-vmm" examples/minimal-vmm.c \
    $(pkg-config --cflags --libs vfio-iommufd-sim)
LD_LIBRARY_PATH="$lib" "$dest/minimal-vmm"

# Static: what `pkg-config --static` says, with the project's archives in
# place of its -lvfio-iommufd* (-l:libvfio-iommufd*.a); glib as the system
# has it.
static_libs() { sed -E 's/(^| )-l(vfio-iommufd[a-z-]*)/\1-l:lib\2.a/g'; }
cc -std=gnu11 -Wall -Wextra -Werror -o "$dest/minimal-vmm-static" examples/minimal-vmm.c \
    $(pkg-config --cflags vfio-iommufd-sim) $(pkg-config --static --libs vfio-iommufd-sim | static_libs)
needed=$(readelf -d "$dest/minimal-vmm-static" | grep NEEDED || true)
case "$needed" in
    *libvfio-iommufd*) fail "minimal-vmm-static needs a shared libvfio-iommufd" ;;
esac
"$dest/minimal-vmm-static"
echo "check-install: the production library holds nothing of the model; libvfio-iommufd-sim" \
     "installs with its .pc; each archive leaves only its public API global; a VMM on the" \
     "model links and runs (shared and static)"
