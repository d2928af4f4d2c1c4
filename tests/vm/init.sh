#!/bin/busybox sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# /init of the test guest (tests/vm/run.sh packs it into the initramfs).
# vmtest=iommu: bind the edu devices to vfio-pci, create one mtty mdev, run
#               the device/container/DMA tests.
# vmtest=mock:  run the mock-IOMMU dirty-tracking tests, then (vmbench=short
#               or full) the dirty-sync benchmark.
# Prints VMTEST-BEGIN, the TAP of /bin/guest-tests, VMTEST-END (and in mode
# iommu the same for the vfio-iommufd tool, /bin/tool-tests, as block
# "tool"), then powers off.

/bin/busybox mkdir -p /proc /sys /dev /tmp /usr/bin /usr/sbin /sbin
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp

mode=iommu
bench=off
for arg in $(cat /proc/cmdline); do
    case "$arg" in
        vmtest=*) mode="${arg#vmtest=}" ;;
        vmbench=*) bench="${arg#vmbench=}" ;;
    esac
done

echo "VMTEST-INFO kernel $(uname -r) mode $mode"

if [ "$mode" = iommu ]; then
    for d in /sys/bus/pci/devices/*; do
        [ "$(cat "$d/vendor")" = 0x1234 ] && [ "$(cat "$d/device")" = 0x11e8 ] || continue
        bdf=${d##*/}
        if [ -e "$d/driver" ]; then
            echo "$bdf" > "$d/driver/unbind"
        fi
        echo vfio-pci > "$d/driver_override"
        echo "$bdf" > /sys/bus/pci/drivers_probe
        echo "VMTEST-INFO edu $bdf -> $(basename "$(readlink "$d/driver")") $(ls "$d/vfio-dev" 2>/dev/null)"
    done
    uuid=83b8f4f2-509f-382f-3c1e-e6bfe0fa1001
    created=""
    for t in /sys/class/mdev_bus/*/mdev_supported_types/mtty-2; do
        [ -e "$t/create" ] || continue
        if echo "$uuid" > "$t/create"; then
            created=/sys/bus/mdev/devices/$uuid
            break
        fi
    done
    if [ -n "$created" ]; then
        export VMTEST_MDEV="$created"
        echo "VMTEST-INFO mdev $created $(ls "$created/vfio-dev" 2>/dev/null)"
    else
        echo "VMTEST-INFO no mtty mdev type found (/sys/class/mdev_bus: $(ls /sys/class/mdev_bus 2>&1))"
    fi
fi

# Keep kernel messages (DMAR faults, ...) off the console while the TAP
# runs; they are printed from dmesg afterwards.
dmesg -n 1
echo "VMTEST-BEGIN $mode"
/bin/guest-tests --mode "$mode"
rc=$?
echo "VMTEST-END $mode rc=$rc"
# vmbench=short|full (boot mock): the dirty-sync benchmark on the mock IOMMU
# (tests/bench/bench-dirty.c --kernel), its text and one JSON line between
# the markers; run.sh saves the JSON.
if [ "$mode" = mock ] && [ "$bench" != off ]; then
    echo "VMBENCH-BEGIN $bench"
    if [ ! -x /bin/bench-dirty ]; then
        echo "no /bin/bench-dirty in the initramfs"
        brc=127
    elif [ "$bench" = full ]; then
        /bin/bench-dirty --kernel --json 2>&1
        brc=$?
    else
        /bin/bench-dirty --kernel --short --json 2>&1
        brc=$?
    fi
    echo "VMBENCH-END rc=$brc"
fi
if [ "$mode" = iommu ]; then
    echo "VMTEST-BEGIN tool"
    /bin/busybox sh /bin/tool-tests /bin/vfio-iommufd
    echo "VMTEST-END tool rc=$?"
fi
echo "VMTEST-DMESG (last 40 lines)"
dmesg | tail -40
sync
poweroff -f
