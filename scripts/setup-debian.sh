#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Install what vfio-iommufd needs to build and test on Debian 12 (bookworm).
# Idempotent: does nothing that is already done. Needs root (or sudo).
#
#   scripts/setup-debian.sh          build + unit-test dependencies
#   scripts/setup-debian.sh --vm     also what the real-kernel (QEMU) suite needs,
#                                    and Linux 7.3 (source and UAPI headers) from
#                                    trixie-backports, fetched into the cache only
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

# --- Linux 7.3 from trixie-backports, into the cache only ----------------------
# The vm suite's second kernel and the second build's UAPI headers: the
# packages linux-source-7.3 and linux-libc-dev of the same version, fetched
# by name with `apt-get download` under a private apt configuration (its own
# sources list naming trixie-backports only, its own state and cache
# directories, no dpkg status) and unpacked with `dpkg-deb -x` into
#   ${XDG_CACHE_HOME:-~/.cache}/vfio-iommufd/pkg/linux-source-7.3/    (usr/src/linux-source-7.3.tar.xz)
#   ${XDG_CACHE_HOME:-~/.cache}/vfio-iommufd/pkg/linux-libc-dev-7.3/  (usr/include, -Duapi_include)
# each with a .version file. Nothing of trixie is installed into this Debian
# 12 system and its own apt sources are left alone. Runs as the calling
# user (no root needed); done once: present directories are kept.
k73_cache=${XDG_CACHE_HOME:-$HOME/.cache}/vfio-iommufd/pkg
k73_suite=trixie-backports
k73_keyring=/usr/share/keyrings/debian-archive-keyring.gpg

# The Debian mirror this system uses (the URI of its bookworm-backports or
# bookworm entry, one-line or deb822 format), else deb.debian.org.
debian_mirror() {
    local uri
    uri=$( { cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true; } |
          awk '$1 == "deb" { i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
                             if ($(i + 1) ~ /^bookworm(-backports|-updates)?$/) { print $i; exit } }')
    if [ -z "$uri" ]; then
        uri=$( { cat /etc/apt/sources.list.d/*.sources 2>/dev/null || true; } |
              awk 'tolower($1) == "uris:" { u = $2 }
                   tolower($1) == "suites:" && $0 ~ /[[:space:]]bookworm([[:space:]]|-backports|-updates|$)/ { if (u != "") { print u; exit } }
                   /^[[:space:]]*$/ { u = "" }')
    fi
    echo "${uri:-http://deb.debian.org/debian}"
}

# Does the system's Debian archive keyring hold the trixie keys? (gpg with a
# throw-away home, so that it needs no ~/.gnupg; without gpg: the per-release
# keyring the same debian-archive-keyring version ships.)
keyring_has_trixie() {
    local home rc=1
    if command -v gpg >/dev/null 2>&1; then
        home=$(mktemp -d)
        if GNUPGHOME="$home" gpg --batch --no-default-keyring --keyring "$k73_keyring" \
                --with-colons --list-keys 2>/dev/null | grep -q '^uid:.*(13/trixie)'; then
            rc=0
        fi
        rm -rf "$home"
        return "$rc"
    fi
    [ -f /usr/share/keyrings/debian-archive-trixie-automatic.gpg ]
}

# unpack_deb DEB DIR: DEB's files under DIR (replaced as a whole), DIR/.version.
unpack_deb() {
    local deb=$1 dir=$2 ver
    ver=$(dpkg-deb -f "$deb" Version)
    rm -rf "$dir.new"
    dpkg-deb -x "$deb" "$dir.new"
    echo "$ver" >"$dir.new/.version"
    rm -rf "$dir"
    mv "$dir.new" "$dir"
}

fetch_k73() {
    local apt_root="$k73_cache/apt-$k73_suite" mirror ver tmp
    local -a apt_opts
    if [ -f "$k73_cache/linux-source-7.3/.version" ] &&
       [ -f "$k73_cache/linux-libc-dev-7.3/.version" ]; then
        return 0
    fi
    if ! keyring_has_trixie; then
        # bookworm's own debian-archive-keyring update carries the trixie keys
        echo "setup: $k73_keyring lacks the trixie keys: updating debian-archive-keyring"
        $SUDO apt-get install -y -q --no-install-recommends debian-archive-keyring
        keyring_has_trixie || { echo "setup: $k73_keyring still has no trixie key" >&2; exit 1; }
    fi
    mirror=$(debian_mirror)
    echo "setup: fetching linux-source-7.3 and linux-libc-dev from $k73_suite ($mirror) into $k73_cache"
    mkdir -p "$apt_root/lists/partial" "$apt_root/archives/partial" "$apt_root/preferences.d"
    echo "deb [signed-by=$k73_keyring] $mirror $k73_suite main" >"$apt_root/sources.list"
    : >"$apt_root/status"
    apt_opts=(-q -o Dir::Etc::sourcelist="$apt_root/sources.list" -o Dir::Etc::sourceparts=-
              -o Dir::Etc::preferences="$apt_root/preferences"
              -o Dir::Etc::preferencesparts="$apt_root/preferences.d"
              -o Dir::State="$apt_root" -o Dir::State::lists="$apt_root/lists"
              -o Dir::State::status="$apt_root/status"
              -o Dir::Cache="$apt_root" -o Dir::Cache::archives="$apt_root/archives"
              -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=)
    if [ "$(id -u)" = 0 ]; then
        # apt downloads as user _apt, who cannot write under root's home
        apt_opts+=(-o APT::Sandbox::User=root)
    fi
    apt-get "${apt_opts[@]}" update
    ver=$(apt-cache "${apt_opts[@]}" policy linux-source-7.3 | awk '$1 == "Candidate:" { print $2 }')
    if [ -z "$ver" ] || [ "$ver" = "(none)" ]; then
        echo "setup: $k73_suite ($mirror) has no linux-source-7.3" >&2
        exit 1
    fi
    tmp=$(mktemp -d "$k73_cache/.fetch.XXXXXX")
    # the UAPI headers of the same version as the source
    ( cd "$tmp" && apt-get "${apt_opts[@]}" download "linux-source-7.3=$ver" "linux-libc-dev=$ver" )
    unpack_deb "$tmp/linux-libc-dev_"*.deb "$k73_cache/linux-libc-dev-7.3"
    unpack_deb "$tmp/linux-source-7.3_"*.deb "$k73_cache/linux-source-7.3"
    rm -rf "$tmp"
    [ -f "$k73_cache/linux-source-7.3/usr/src/linux-source-7.3.tar.xz" ] ||
        { echo "setup: linux-source-7.3 $ver has no usr/src/linux-source-7.3.tar.xz" >&2; exit 1; }
    [ -f "$k73_cache/linux-libc-dev-7.3/usr/include/linux/iommufd.h" ] ||
        { echo "setup: linux-libc-dev $ver has no usr/include/linux/iommufd.h" >&2; exit 1; }
    echo "setup: Linux 7.3 ($ver): source and UAPI headers in $k73_cache"
}

if [ "$want_vm" = 1 ]; then
    mkdir -p "$k73_cache"
    fetch_k73
fi
