#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Install what is missing (Debian 12, as root), build, and run the demo on the
# simulated kernel (`vfio-iommufd demo`). Extra arguments go to the demo
# (--json, --topology FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${VFI_SKIP_SETUP:-0}" != 1 ]; then
    bash scripts/setup-debian.sh
fi
if [ ! -f build/build.ninja ]; then
    meson setup build
fi
ninja -C build >/dev/null
exec build/tools/vfio-iommufd demo "$@"
