#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Real-kernel integration suite: builds a small Linux kernel (6.12 or 7.3,
# --kernel) with IOMMUFD, VFIO cdev, vfio-pci, intel-iommu, the mtty sample
# mdev and the kernel's mock IOMMU (IOMMUFD_TEST), links
# tests/vm/guest-tests.c and the vfio-iommufd
# tool (tools/) statically against the library (and the kernel model's,
# libvfio-iommufd-sim, for --sim), packs an initramfs and boots it twice
# under QEMU (TCG):
#
#   boot 1 "iommu": q35 + intel-iommu + two edu devices (one on the root bus, one
#     behind a PCIe root port, so that it has a bus to reset) + one mtty mdev;
#                   the guest tests, then the tool's (tests/vm/tool-tests.sh)
#   boot 2 "mock":  no emulated IOMMU; the mock IOMMU's dirty tracking
#
# The guest prints TAP on the serial console; this script fails on any
# "not ok", a missing result, a skipped test (but a "# SKIP needs Linux X.Y"
# on a kernel older than X.Y), a kernel panic or a timeout.
#
# Usage: tests/vm/run.sh [--workdir DIR] [--kernel 6.12|7.3] [--uapi-include DIR]
#                        [--only iommu|mock] [--stage kernel|guest] [--no-setup]
#   --kernel        the kernel to build and boot (default 6.12): 6.12 from
#                   Debian's linux-source-6.12 (bookworm-backports, installed),
#                   7.3 from linux-source-7.3 (trixie-backports, unpacked into
#                   the cache by scripts/setup-debian.sh --vm); fragments
#                   kernel.config (+ kernel-7.3.config)
#   --uapi-include  build the libraries, the test program and the tool
#                   against the Linux UAPI headers in DIR (meson
#                   -Duapi_include=DIR) instead of the system's
#   --no-setup      accepted, does nothing (nothing is ever installed here)
#   --stage kernel  only build (or find cached) the kernel
#   --stage guest   only build the test program and the tool (for a real
#                   host: see docs/testing.md); no QEMU or kernel source needed
# Environment:
#   XDG_CACHE_HOME            kernel cache lives in ${XDG_CACHE_HOME:-~/.cache}/vfio-iommufd
#   VFI_VM_REQUIRED  1: fail (instead of skip, exit 77) when the
#                             prerequisites are missing (this script installs
#                             nothing: scripts/setup-debian.sh --vm does)
#   VFI_VM_TIMEOUT   seconds per boot (default 300)
#   VFI_VM_JOBS      make -j for the kernel (default: nproc)
#   VFI_VM_BENCH     the dirty-sync benchmark in boot "mock" (tests/bench/
#                    bench-dirty.c --kernel): short (default, about a minute:
#                    checks every path, prints the ratios), full (the
#                    targets; fails on a miss; boot timeout at least 1800 s)
#                    or off; its JSON: <workdir>/bench-dirty-kernel.json
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
srcroot=$(cd "$here/../.." && pwd)

workdir="$srcroot/build-vm"
only=""
stage=""
kernel=6.12
uapi_include=""
while [ $# -gt 0 ]; do
    case "$1" in
        --workdir) workdir="$2"; shift 2 ;;
        --no-setup) shift ;;   # accepted as before: nothing is ever installed
        --only) only="$2"; shift 2 ;;
        --stage) stage="$2"; shift 2 ;;
        --kernel) kernel="$2"; shift 2 ;;
        --uapi-include) uapi_include="$2"; shift 2 ;;
        -h|--help) sed -n '3,40p' "$0"; exit 0 ;;
        *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
mkdir -p "$workdir"
workdir=$(cd "$workdir" && pwd)

boot_timeout=${VFI_VM_TIMEOUT:-300}
vm_bench=${VFI_VM_BENCH:-short}
case "$vm_bench" in
    short|full|off) ;;
    *) echo "run.sh: VFI_VM_BENCH must be short, full or off" >&2; exit 2 ;;
esac
jobs=${VFI_VM_JOBS:-$(nproc)}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/vfio-iommufd
t_start=$(date +%s)

log() { printf '[vm %4ss] %s\n' "$(( $(date +%s) - t_start ))" "$*"; }
die() { printf '[vm] ERROR: %s\n' "$*" >&2; exit 1; }
skip_or_die() {
    if [ "${VFI_VM_REQUIRED:-0}" = 1 ]; then
        die "$* (VFI_VM_REQUIRED=1)"
    fi
    printf '[vm] SKIP: %s\n' "$*" >&2
    exit 77
}

# --- 1. prerequisites ---------------------------------------------------------
# The kernels: where the source tarball is, its package version, the config
# fragments merged on tinyconfig (in order). A new kernel is one more entry
# (docs/testing.md, "Adding a kernel").
case "$kernel" in
    6.12)
        src_tar=/usr/src/linux-source-6.12.tar.xz
        srcver=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || true)
        fragments=("$here/kernel.config")
        ;;
    7.3)
        k73_pkg="$cache/pkg/linux-source-7.3"
        src_tar="$k73_pkg/usr/src/linux-source-7.3.tar.xz"
        srcver=$(cat "$k73_pkg/.version" 2>/dev/null || true)
        fragments=("$here/kernel.config" "$here/kernel-7.3.config")
        ;;
    *) echo "run.sh: unknown kernel '$kernel' (6.12 or 7.3)" >&2; exit 2 ;;
esac
if [ -n "$uapi_include" ] && [ ! -f "$uapi_include/linux/iommufd.h" ]; then
    echo "run.sh: --uapi-include $uapi_include has no linux/iommufd.h" >&2
    exit 2
fi
need_tools=(qemu-system-x86_64 make gcc bc bison flex cpio xz gzip pkg-config meson ninja)

if [ "$stage" = guest ]; then
    need_tools=(gcc pkg-config meson ninja)
fi

missing_prereqs() {
    local t
    for t in "${need_tools[@]}"; do
        command -v "$t" >/dev/null 2>&1 || { echo "$t"; return 0; }
    done
    local libdir
    libdir=$(pkg-config --variable=libdir glib-2.0 2>/dev/null || true)
    [ -n "$libdir" ] && [ -f "$libdir/libglib-2.0.a" ] || { echo "libglib-2.0.a"; return 0; }
    # the tool inflates /proc/config.gz with zlib
    libdir=$(pkg-config --variable=libdir zlib 2>/dev/null || true)
    [ -n "$libdir" ] && [ -f "$libdir/libz.a" ] || { echo "libz.a (zlib1g-dev)"; return 0; }
    [ "$stage" = guest ] && return 0
    [ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -qx sh || { echo busybox-static; return 0; }
    [ -f "$src_tar" ] || { echo "$src_tar (linux-source-$kernel)"; return 0; }
    [ -f /usr/include/libelf.h ] || { echo libelf-dev; return 0; }
    [ -f /usr/include/openssl/ssl.h ] || { echo libssl-dev; return 0; }
    return 0
}

# A test installs nothing (tests/meta/check-no-installs.py): scripts/run-tests.sh
# runs scripts/setup-debian.sh --vm before the suites; by hand, run that once.
m=$(missing_prereqs)
[ -z "$m" ] || skip_or_die "missing prerequisite: $m (scripts/setup-debian.sh --vm provides it, as root)"

# --- 2. kernel: extracted once, built once per (source version, fragment) ------
if [ "$stage" != guest ]; then
[ -n "$srcver" ] || srcver="$kernel-unknown-$(stat -c %Y "$src_tar")"
# The cache key: the package version and the fragments' text (one fragment:
# the hash of that file, as before there were two kernels).
fragsum=$(cat "${fragments[@]}" | sha256sum | cut -c1-16)
ksrc_top="$cache/linux-source-$srcver"
ksrc="$ksrc_top/linux-source-$kernel"
kkey="$srcver-$fragsum"
kout="$cache/kernel-$kkey"
bzimage="$kout/bzImage"

mkdir -p "$cache"
exec 9>"$cache/.lock"
if ! flock -w 1800 9; then
    die "could not lock $cache/.lock"
fi

if [ ! -f "$ksrc_top/.extracted" ]; then
    log "extracting $src_tar ($srcver) into $ksrc_top"
    rm -rf "$ksrc_top"
    mkdir -p "$ksrc_top"
    tar -C "$ksrc_top" -xJf "$src_tar"
    [ -f "$ksrc/Makefile" ] || die "unexpected layout of $src_tar (no $ksrc/Makefile)"
    touch "$ksrc_top/.extracted"
fi

build_kernel() {
    local kbuild="$cache/kbuild-$kkey"
    local kmake=(make -C "$ksrc" O="$kbuild" ARCH=x86_64 -j"$jobs")
    local t0
    t0=$(date +%s)
    log "building kernel $kernel ($srcver, fragments ${fragments[*]##*/}: $fragsum) in $kbuild, -j$jobs"
    mkdir -p "$kbuild"
    "${kmake[@]}" -s tinyconfig >"$kbuild/config.log" 2>&1 || { tail -30 "$kbuild/config.log"; die "make tinyconfig failed"; }
    ( cd "$kbuild" && "$ksrc/scripts/kconfig/merge_config.sh" -m -O "$kbuild" "$kbuild/.config" "${fragments[@]}" ) \
        >>"$kbuild/config.log" 2>&1 || { tail -30 "$kbuild/config.log"; die "merge_config.sh failed"; }
    "${kmake[@]}" -s olddefconfig >>"$kbuild/config.log" 2>&1 || { tail -30 "$kbuild/config.log"; die "make olddefconfig failed"; }
    # Every option of the fragment must have survived (a dependency missing
    # from the fragment silently drops an option otherwise).
    local line bad=0
    while IFS= read -r line; do
        case "$line" in CONFIG_*=*) ;; *) continue ;; esac
        if ! grep -qx "$line" "$kbuild/.config"; then
            echo "[vm] kernel config: '$line' did not survive olddefconfig" >&2
            bad=1
        fi
    done < <(cat "${fragments[@]}")
    [ "$bad" = 0 ] || die "${fragments[*]##*/}: needs fixing for $kernel (missing dependencies)"
    if ! "${kmake[@]}" bzImage >"$kbuild/build.log" 2>&1; then
        tail -40 "$kbuild/build.log"
        die "kernel build failed (full log: $kbuild/build.log)"
    fi
    mkdir -p "$kout.tmp"
    cp "$kbuild/arch/x86/boot/bzImage" "$kout.tmp/bzImage"
    cp "$kbuild/.config" "$kout.tmp/config"
    echo "$srcver" >"$kout.tmp/version"
    rm -rf "$kout"
    mv "$kout.tmp" "$kout"
    rm -rf "$kbuild"
    log "kernel built: $bzimage ($(stat -c %s "$bzimage") bytes, $(( $(date +%s) - t0 ))s)"
}

if [ -f "$bzimage" ]; then
    log "kernel cached: $bzimage"
else
    build_kernel
fi
flock -u 9
fi

[ "$stage" = kernel ] && exit 0

# iommufd_test.h (the mock IOMMU's test ioctl) from the extracted source;
# never copied into the repository.
test_h_dir=""
for d in "${ksrc:-}" "$cache"/linux-source-*/linux-source-"$kernel"; do
    if [ -n "$d" ] && [ -f "$d/drivers/iommu/iommufd/iommufd_test.h" ]; then
        test_h_dir="$d/drivers/iommu/iommufd"
        break
    fi
done
if [ -z "$test_h_dir" ]; then
    [ "$stage" = guest ] || die "no drivers/iommu/iommufd/iommufd_test.h in the kernel source"
    log "no iommufd_test.h: the mock IOMMU tests are left out"
fi

# --- 3. the guest test program, static ---------------------------------------
# The UAPI headers: the system's, or --uapi-include's (and its multiarch
# directory, for asm/), before the system's, as meson's -Duapi_include does.
uapi_flags=()
if [ -n "$uapi_include" ]; then
    uapi_flags=(-isystem "$uapi_include")
    multiarch=$(gcc -print-multiarch 2>/dev/null || true)
    if [ -n "$multiarch" ] && [ -d "$uapi_include/$multiarch" ]; then
        uapi_flags+=(-isystem "$uapi_include/$multiarch")
    fi
fi
vmbuild="$workdir/build-static"
if [ ! -f "$vmbuild/build.ninja" ]; then
    log "configuring static library build in $vmbuild"
    rm -rf "$vmbuild"
    meson setup "$vmbuild" "$srcroot" -Ddefault_library=static -Dtests=false \
        -Dtrace_backends=log -Dbuildtype=debugoptimized -Duapi_include="$uapi_include" \
        >"$workdir/meson-setup.log" 2>&1 ||
        { tail -30 "$workdir/meson-setup.log"; die "meson setup of the static build failed"; }
elif [ "$(meson introspect --buildoptions "$vmbuild" |
          python3 -c 'import json, sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "uapi_include"))')" != "$uapi_include" ]; then
    log "static library build: uapi_include is now '${uapi_include}'"
    meson configure "$vmbuild" -Duapi_include="$uapi_include" >"$workdir/meson-setup.log" 2>&1 ||
        { tail -30 "$workdir/meson-setup.log"; die "meson configure of the static build failed"; }
fi
uapi_version=$(awk '/define LINUX_VERSION_(MAJOR|PATCHLEVEL|SUBLEVEL)/ { printf "%s%s", sep, $3; sep = "." }' \
    "${uapi_include:-/usr/include}/linux/version.h")
uapi_where=${uapi_include:-/usr/include}
log "UAPI headers: $uapi_where (Linux $uapi_version)"
log "building the libraries (static)"
# The guest program also runs on the kernel model (--sim, the agreement
# suite), which is its own library.
ninja -C "$vmbuild" libvfio-iommufd.a sim/libvfio-iommufd-sim.a >"$workdir/ninja.log" 2>&1 ||
    { tail -40 "$workdir/ninja.log"; die "building libvfio-iommufd.a / libvfio-iommufd-sim.a failed"; }

guest="$workdir/guest-tests"
log "linking $guest statically"
# shellcheck disable=SC2046
gcc -std=gnu11 -O2 -g -static -Wall -Wextra -Wshadow -Wstrict-prototypes \
    -Wmissing-prototypes -Wno-unused-parameter -Wformat=2 -Wno-format-nonliteral -Werror -D_GNU_SOURCE \
    "${uapi_flags[@]}" -I"$srcroot/include" -I"$vmbuild/include" ${test_h_dir:+-I"$test_h_dir"} \
    $(pkg-config --cflags glib-2.0) \
    -o "$guest" "$here/guest-tests.c" \
    "$vmbuild/sim/libvfio-iommufd-sim.a" "$vmbuild/libvfio-iommufd.a" \
    $(pkg-config --static --libs glib-2.0) 2>"$workdir/link.log" ||
    { grep -v 'statically linked applications requires at runtime' "$workdir/link.log" >&2 || true;
      die "building the guest test program failed"; }

# The dirty-sync benchmark (tests/bench/bench-dirty.c, --kernel: on the mock
# IOMMU), static too, with iommufd_test.h like the test program.
bench="$workdir/bench-dirty"
if [ -n "$test_h_dir" ]; then
    log "linking $bench statically"
    # shellcheck disable=SC2046
    gcc -std=gnu11 -O2 -g -static -Wall -Wextra -Wshadow -Wstrict-prototypes \
        -Wmissing-prototypes -Wno-unused-parameter -Wformat=2 -Wno-format-nonliteral -Werror -D_GNU_SOURCE \
        "${uapi_flags[@]}" -I"$srcroot/include" -I"$vmbuild/include" -I"$test_h_dir" \
        $(pkg-config --cflags glib-2.0) \
        -o "$bench" "$srcroot/tests/bench/bench-dirty.c" \
        "$vmbuild/sim/libvfio-iommufd-sim.a" "$vmbuild/libvfio-iommufd.a" \
        $(pkg-config --static --libs glib-2.0) 2>"$workdir/link-bench.log" ||
        { grep -v 'statically linked applications requires at runtime' "$workdir/link-bench.log" >&2 || true;
          die "building the dirty-sync benchmark failed"; }
fi

# The tool, static too: its sources are tools/*.c, <vfio-iommufd/version.h>
# is generated in the build directory.
tool="$workdir/vfio-iommufd"
log "linking $tool statically"
# shellcheck disable=SC2046
gcc -std=gnu11 -O2 -g -static -Wall -Wextra -Wshadow -Wstrict-prototypes \
    -Wmissing-prototypes -Wno-unused-parameter -Wformat=2 -Wno-format-nonliteral -Werror -D_GNU_SOURCE \
    "${uapi_flags[@]}" -I"$srcroot/include" -I"$vmbuild/include" $(pkg-config --cflags glib-2.0 zlib) \
    -o "$tool" "$srcroot"/tools/*.c \
    "$vmbuild/sim/libvfio-iommufd-sim.a" "$vmbuild/libvfio-iommufd.a" \
    $(pkg-config --static --libs glib-2.0 zlib) 2>"$workdir/link-tool.log" ||
    { grep -v 'statically linked applications requires at runtime' "$workdir/link-tool.log" >&2 || true;
      die "building the vfio-iommufd tool failed"; }

if [ "$stage" = guest ]; then
    log "test program: $guest, tool: $tool"
    exit 0
fi

# --- 4. initramfs -------------------------------------------------------------
initrd="$workdir/initramfs.cpio.gz"
root="$workdir/initramfs"
rm -rf "$root"
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,usr/bin,usr/sbin}
cp /bin/busybox "$root/bin/busybox"
cp "$guest" "$root/bin/guest-tests"
cp "$tool" "$root/bin/vfio-iommufd"
cp "$here/tool-tests.sh" "$root/bin/tool-tests"
cp "$here/init.sh" "$root/init"
if [ -x "$bench" ] && [ -n "$test_h_dir" ]; then
    cp "$bench" "$root/bin/bench-dirty"
fi
chmod 755 "$root/init" "$root/bin/busybox" "$root/bin/guest-tests" "$root/bin/vfio-iommufd" \
    "$root/bin/tool-tests"
( cd "$root" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1 ) >"$initrd"
log "initramfs: $initrd ($(stat -c %s "$initrd") bytes)"

# --- 5. boots -----------------------------------------------------------------
qemu_version=$(qemu-system-x86_64 --version | head -1)
log "kernel: linux-source-$kernel $srcver ($bzimage)"
log "qemu:   $qemu_version"

# check_tap LOGFILE NAME BLOCK: the TAP between the guest's markers
# "VMTEST-BEGIN BLOCK" and "VMTEST-END BLOCK rc=N" must be complete and all
# "ok" (no "not ok", every planned number exactly once), and skip nothing
# but what this kernel is too old for: "# SKIP needs Linux X.Y ..." with X.Y
# newer than the booted kernel ($kernel). Any other skip, or such a skip on
# a kernel of X.Y or later, fails.
check_tap() {
    local logf="$1" name="$2" block="$3"
    awk -v name="$name/$block" -v block="$block" -v kver="$kernel" '
        # "... X.Y" -> X * 1000 + Y
        function vcode(v,    p) { sub(/.* /, "", v); split(v, p, "."); return p[1] * 1000 + p[2] }
        { sub(/\r$/, "") }
        /^VMTEST-BEGIN/ { inside = ($2 == block); next }
        /^VMTEST-END/   { if (inside) { ended = 1; rc = $3; sub(/^rc=/, "", rc) } inside = 0; next }
        !inside { next }
        /^1\.\.[0-9]+/ { plan = substr($0, 4) + 0; next }
        /^not ok [0-9]+/ { fail++; print "[vm] " name ": FAILED: " $0; n = $3 + 0; seen[n]++; next }
        /^ok [0-9]+/ {
            n = $2 + 0; seen[n]++
            if ($0 ~ /# *[Ss][Kk][Ii][Pp]/) {
                if (match($0, /# *SKIP needs Linux [0-9]+\.[0-9]+/) &&
                    vcode(substr($0, RSTART, RLENGTH)) > vcode(kver)) {
                    older++; print "[vm] " name ": skipped on Linux " kver " (too old): " $0
                } else {
                    skip++; print "[vm] " name ": SKIPPED (not allowed on Linux " kver "): " $0
                }
            } else ok++
            next
        }
        END {
            bad = 0
            if (!ended) { print "[vm] " name ": the guest did not finish (no VMTEST-END)"; bad = 1 }
            if (plan == 0) { print "[vm] " name ": no TAP plan (1..N) seen"; bad = 1 }
            for (i = 1; i <= plan; i++) {
                if (!(i in seen)) { print "[vm] " name ": missing result for test " i; bad = 1 }
                else if (seen[i] > 1) { print "[vm] " name ": result for test " i " seen " seen[i] " times"; bad = 1 }
            }
            for (k in seen) if (k + 0 > plan || k + 0 < 1) { print "[vm] " name ": result " k " outside the plan 1.." plan; bad = 1 }
            if (ended && rc != "0") { print "[vm] " name ": the guest test program exited with " rc; bad = 1 }
            if (fail || skip) bad = 1
            printf "[vm] %s: planned %d, ok %d, not ok %d, skipped %d, skipped (kernel too old) %d\n", \
                name, plan, ok, fail + 0, skip + 0, older + 0
            exit bad
        }' "$logf"
}

# check_bench LOGFILE: the benchmark's output between "VMBENCH-BEGIN" and
# "VMBENCH-END rc=N" (boot mock): printed, its JSON line saved in
# $workdir/bench-dirty-kernel.json; fails unless it ran to its end with rc 0.
check_bench() {
    local logf="$1" out="$workdir/bench-dirty-kernel.json" txt="$workdir/bench-dirty-kernel.txt"
    local rc
    rm -f "$out" "$txt"
    [ "$vm_bench" != off ] || return 0
    awk '{ sub(/\r$/, "") } /^VMBENCH-BEGIN/ { inside = 1; next } /^VMBENCH-END/ { inside = 0 }
         inside' "$logf" >"$txt"
    grep '^{"cases"' "$txt" >"$out" || true
    sed 's/^/  [bench] /' "$txt"
    rc=$(sed -n 's/^VMBENCH-END rc=\([0-9]*\).*/\1/p' "$logf" | tail -1)
    if [ -z "$rc" ]; then
        echo "[vm] bench: the benchmark did not finish (no VMBENCH-END)"
        return 1
    elif [ "$rc" != 0 ]; then
        echo "[vm] bench: bench-dirty --kernel ($vm_bench) exited with $rc"
        return 1
    elif [ ! -s "$out" ]; then
        echo "[vm] bench: no JSON line"
        return 1
    fi
    log "bench-dirty --kernel ($vm_bench) on Linux $kernel: $out"
    return 0
}

# boot NAME QEMU-ARGS...: run one guest, save the console, check it.
boot() {
    local name="$1"; shift
    local logf="$workdir/console-$name.log" rc=0 t0 tmo=$boot_timeout
    if [ "$name" = mock ] && [ "$vm_bench" = full ] && [ "$tmo" -lt 1800 ]; then
        tmo=1800
    fi
    t0=$(date +%s)
    log "boot '$name' (timeout ${tmo}s), console -> $logf"
    timeout -k 10 "$tmo" qemu-system-x86_64 \
        -machine q35,kernel-irqchip=split -accel tcg,thread=multi -cpu max -m 1G -smp 2 \
        "$@" \
        -kernel "$bzimage" -initrd "$initrd" \
        -display none -serial stdio -monitor none -no-reboot \
        </dev/null >"$logf" 2>&1 || rc=$?
    log "boot '$name' finished in $(( $(date +%s) - t0 ))s (qemu exit $rc)"
    local bad=0
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
        echo "[vm] $name: TIMEOUT after ${tmo}s" >&2
        bad=1
    elif [ "$rc" != 0 ]; then
        echo "[vm] $name: qemu exited with $rc" >&2
        bad=1
    fi
    if grep -q 'Kernel panic' "$logf"; then
        echo "[vm] $name: KERNEL PANIC" >&2
        bad=1
    fi
    grep -E '^(ok|not ok|#|1\.\.|VMTEST-BEGIN)' "$logf" | sed 's/\r$//' | sed "s/^/  [$name] /" || true
    # boot iommu also runs the tool's tests, in a block of their own
    local block
    for block in "$name" $([ "$name" = iommu ] && echo tool); do
        check_tap "$logf" "$name" "$block" || bad=1
    done
    if [ "$name" = mock ]; then
        check_bench "$logf" || bad=1
    fi
    if [ "$bad" != 0 ]; then
        echo "[vm] $name: last console lines:" >&2
        tail -40 "$logf" | sed 's/^/    /' >&2
    fi
    return "$bad"
}

status=0
if [ -z "$only" ] || [ "$only" = iommu ]; then
    boot iommu -device intel-iommu,intremap=on,caching-mode=on \
        -device edu \
        -device pcie-root-port,id=rp1,chassis=1,slot=1 -device edu,bus=rp1 \
        -append "console=ttyS0 rdinit=/init panic=-1 intel_iommu=on vmtest=iommu" || status=1
fi
if [ -z "$only" ] || [ "$only" = mock ]; then
    boot mock \
        -append "console=ttyS0 rdinit=/init panic=-1 vmtest=mock vmbench=$vm_bench" || status=1
fi

log "kernel: linux-source-$kernel $srcver; $qemu_version"
if [ "$status" = 0 ]; then
    log "PASS: all guest tests passed"
else
    log "FAIL (consoles in $workdir/console-*.log)"
fi
exit "$status"
