#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Install what is missing (Debian 12, as root), build with -Werror and run
# every test: the unit tests plain, under AddressSanitizer + UBSan, and under
# valgrind (no leak), then the benchmarks' short versions.
#
#   scripts/run-tests.sh            everything
#   VFIO_IOMMUFD_SKIP_SETUP=1 ...   do not run scripts/setup-debian.sh
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

if [ "${VFIO_IOMMUFD_SKIP_SETUP:-0}" != 1 ]; then
    bash scripts/setup-debian.sh
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

step "unit tests (plain)"
meson test -C build --suite unit --print-errorlogs --num-processes 2

step "build (AddressSanitizer + UndefinedBehaviorSanitizer, -Werror)"
setup_build build-asan -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false \
    -Dbuildtype=debug
ninja -C build-asan

step "unit tests (ASan + UBSan)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    meson test -C build-asan --suite unit --print-errorlogs --num-processes 2

step "unit tests (valgrind: no leak, no error)"
meson test -C build --suite unit --setup valgrind --print-errorlogs --num-processes 2

if meson test -C build --list --suite bench >/dev/null 2>&1 &&
   [ -n "$(meson test -C build --list --suite bench 2>/dev/null)" ]; then
    step "benchmarks (short run: fails only on a crash)"
    meson test -C build --suite bench --print-errorlogs --num-processes 1
fi

if [ -n "$(meson test -C build --list --suite vm 2>/dev/null || true)" ]; then
    step "real-kernel suite (QEMU)"
    meson test -C build --suite vm --print-errorlogs --num-processes 1 --timeout-multiplier 1
fi

step "all tests passed"
