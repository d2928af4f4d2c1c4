#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Install what vfio-iommufd needs to build and test on Debian 12 (bookworm).
# Idempotent: does nothing that is already done. Needs root (or sudo).
#
#   scripts/setup-debian.sh          build + unit-test dependencies
#   scripts/setup-debian.sh --vm     also what the real-kernel (QEMU) suite needs
#   scripts/setup-debian.sh --docs   also doxygen, for the API reference
#                                    (meson -Ddocs=enabled)
set -euo pipefail

want_vm=0
want_docs=0
for a in "$@"; do
    case "$a" in
        --vm) want_vm=1 ;;
        --docs) want_docs=1 ;;
        *) echo "usage: $0 [--vm] [--docs]" >&2; exit 2 ;;
    esac
done

SUDO=""
if [ "$(id -u)" != 0 ]; then
    SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive

have_backports() {
    grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null
}

if ! have_backports; then
    echo "setup: adding bookworm-backports"
    echo "deb http://deb.debian.org/debian bookworm-backports main" |
        $SUDO tee /etc/apt/sources.list.d/bookworm-backports.list >/dev/null
    updated=0
else
    updated=${VFI_APT_UPDATED:-0}
fi

# zlib1g-dev: the tool's check-host inflates /proc/config.gz (libglib2.0-dev
# depends on it anyway; named here because the tool links it directly).
# gcc brings ThreadSanitizer's run time (libtsan2, through libgcc-12-dev)
# for the tsan suite: nothing more to install for it.
pkgs=(meson ninja-build pkg-config gcc libglib2.0-dev zlib1g-dev libcmocka-dev
      systemtap-sdt-dev valgrind python3)
if [ "$want_vm" = 1 ]; then
    # tests/vm/run.sh: kernel build tools, busybox for the initramfs, and the
    # static archives of glib, pcre2 and zlib for the statically linked guest
    # program and tool.
    pkgs+=(busybox-static bc bison flex libelf-dev libssl-dev cpio xz-utils make
           gzip libglib2.0-dev libpcre2-dev)
fi
if [ "$want_docs" = 1 ]; then
    # docs/meson.build: the API reference (no graphviz: no diagrams).
    pkgs+=(doxygen)
fi

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# UAPI headers: IOMMU_HWPT_GET_DIRTY_BITMAP appeared in 6.7.
need_headers=1
if grep -qs IOMMU_HWPT_GET_DIRTY_BITMAP /usr/include/linux/iommufd.h; then
    need_headers=0
fi

bp_missing=()
if [ "$want_vm" = 1 ]; then
    dpkg-query -W -f='${Status}' linux-source-6.12 2>/dev/null | grep -q "install ok installed" ||
        bp_missing+=(linux-source-6.12)
    if ! dpkg-query -W -f='${Version}' qemu-system-x86 2>/dev/null | grep -q '^1:[1-9][0-9]\.'; then
        bp_missing+=(qemu-system-x86)
    fi
fi

if [ "${#missing[@]}" -gt 0 ] || [ "$need_headers" = 1 ] || [ "${#bp_missing[@]}" -gt 0 ]; then
    if [ "$updated" = 0 ]; then
        $SUDO apt-get update -q
    fi
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "setup: installing ${missing[*]}"
        $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
    fi
    if [ "$need_headers" = 1 ]; then
        echo "setup: installing linux-libc-dev from bookworm-backports (UAPI >= 6.7)"
        $SUDO apt-get install -y -q --no-install-recommends -t bookworm-backports linux-libc-dev
    fi
    if [ "${#bp_missing[@]}" -gt 0 ]; then
        echo "setup: installing ${bp_missing[*]} from bookworm-backports"
        $SUDO apt-get install -y -q --no-install-recommends -t bookworm-backports "${bp_missing[@]}"
    fi
fi
