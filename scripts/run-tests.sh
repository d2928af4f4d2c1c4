#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Install what is missing (Debian 12, as root), build with -Werror and run
# every test: the unit tests plain, under AddressSanitizer + UBSan and under
# valgrind, threads under ThreadSanitizer, the abi suite (exported and global
# symbols, nothing of the kernel model in the production library,
# interposition, version), the project checks (headers alone, README
# samples, use as a subproject, no installs from tests), the API reference
# (doxygen), the agreement suite (the real-kernel scenarios on the kernel
# model), the benchmarks' short versions, and the real-kernel suite (builds
# a kernel once, cached in ${XDG_CACHE_HOME:-~/.cache}/vfio-iommufd, and
# boots it under QEMU), on Linux 6.12. Then a second build against Linux
# 7.3's UAPI headers (the trixie-backports linux-libc-dev that
# setup-debian.sh --vm unpacks into that cache): -Werror, its unit and
# agreement tests, and the real-kernel suite on Linux 7.3 with the test
# program of that build.
#
#   scripts/run-tests.sh            everything
#   VFI_SKIP_SETUP=1 ...   do not run scripts/setup-debian.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${VFI_SKIP_SETUP:-0}" != 1 ]; then
    bash scripts/setup-debian.sh --vm
fi

step() { printf '\n==== %s\n' "$*"; }

setup_build() {
    local dir=$1; shift
    if [ -d "$dir" ] && [ -f "$dir/build.ninja" ]; then
        meson configure "$dir" "$@" >/dev/null
    else
        rm -rf "$dir"
        meson setup "$dir" "$@"
    fi
}

step "build (plain, -Werror)"
setup_build build -Dwerror=true
ninja -C build

step "the project as others meet it: every header alone (C, C++), the README's samples, as a meson subproject, no test installs packages"
meson test -C build --suite headers --suite readme --suite subproject --suite policy \
    --print-errorlogs --num-processes 2 --logbase meta

step "API reference (doxygen; an undocumented public symbol or any doxygen warning fails)"
if [ "${VFI_SKIP_SETUP:-0}" != 1 ]; then
    bash scripts/setup-debian.sh --docs
fi
setup_build build-docs -Dwerror=true -Ddocs=enabled -Dtests=false -Dtool=false
ninja -C build-docs docs/api
echo "API reference: build-docs/docs/api/html/index.html"

step "install + link a VMM against it with pkg-config (examples/minimal-vmm.c)"
bash scripts/check-install.sh build

step "layering: no call from a lower layer up, no circle of files inside one (tests/layering)"
meson test -C build --suite layering --print-errorlogs --logbase layering

step "abi: exported and archive-global symbols = the public API, no PLT to itself, no model in the library, interposition, version"
meson test -C build --suite abi --print-errorlogs --logbase abi

step "unit tests (plain)"
meson test -C build --suite unit --print-errorlogs --num-processes 2 --logbase unit-plain

step "threads under ThreadSanitizer: syncs, maps, unmaps, hot-plug and a shared backend at once (tests/tsan)"
meson test -C build --suite tsan --print-errorlogs --logbase tsan

step "build (AddressSanitizer + UndefinedBehaviorSanitizer, -Werror)"
setup_build build-asan -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false \
    -Dbuildtype=debug
ninja -C build-asan

step "unit tests (ASan + UBSan)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    meson test -C build-asan --suite unit --print-errorlogs --num-processes 2 --logbase unit-asan

step "unit tests (valgrind: no leak, no error)"
meson test -C build --suite unit --setup valgrind --print-errorlogs --num-processes 2 \
    --logbase unit

step "agreement: the VM's boot-1 scenarios on the kernel model (tests/vm/guest-tests --sim)"
meson test -C build --suite agreement --print-errorlogs --logbase agreement
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    meson test -C build-asan --suite agreement --print-errorlogs --logbase agreement-asan

step "the demo tool end to end"
meson test -C build --suite tool --print-errorlogs --logbase tool

step "benchmarks (short runs on the model: fail only on a crash or a wrong dirty log)"
meson test -C build --suite bench --print-errorlogs --num-processes 1 --logbase bench

step "real-kernel suite on Linux 6.12 (a kernel with IOMMUFD under QEMU; a skip fails, but one a newer kernel needs; the short dirty-sync benchmark in boot mock, JSON in build/tests/vm/bench-dirty-kernel.json)"
VFI_VM_REQUIRED=1 \
    meson test -C build --suite vm --print-errorlogs --num-processes 1 --logbase vm

# The newest UAPI: everything the probes find compiled in.
uapi73=${XDG_CACHE_HOME:-$HOME/.cache}/vfio-iommufd/pkg/linux-libc-dev-7.3/usr/include
if [ ! -f "$uapi73/linux/iommufd.h" ]; then
    echo "run-tests: no Linux 7.3 UAPI headers in $uapi73 (scripts/setup-debian.sh --vm unpacks them)" >&2
    exit 1
fi

step "build against Linux 7.3's UAPI headers (-Duapi_include, -Werror)"
setup_build build-7.3 -Dwerror=true -Duapi_include="$uapi73" -Dvm_kernel=7.3
ninja -C build-7.3

step "unit tests and agreement, built against 7.3's headers"
meson test -C build-7.3 --suite unit --suite agreement --print-errorlogs --num-processes 2 \
    --logbase unit-7.3

step "real-kernel suite on Linux 7.3 (its test program built against 7.3's headers; no skip allowed; the short dirty-sync benchmark, JSON in build-7.3/tests/vm/bench-dirty-kernel.json)"
VFI_VM_REQUIRED=1 \
    meson test -C build-7.3 --suite vm --print-errorlogs --num-processes 1 --logbase vm-7.3

step "summary"
python3 scripts/test-summary.py build/meson-logs/layering.json build/meson-logs/abi.json build/meson-logs/unit-plain.json \
    build/meson-logs/tsan.json build-asan/meson-logs/unit-asan.json build/meson-logs/unit-valgrind.json \
    build/meson-logs/agreement.json build-asan/meson-logs/agreement-asan.json \
    build/meson-logs/tool.json build/meson-logs/bench.json build/meson-logs/vm.json \
    build/meson-logs/meta.json build-7.3/meson-logs/unit-7.3.json \
    build-7.3/meson-logs/vm-7.3.json
