#!/bin/busybox sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The vfio-iommufd tool on the real kernel (boot 'iommu' of tests/vm/run.sh,
# run by /init after the guest tests): intel-iommu without dirty tracking,
# two edu devices bound to vfio-pci, one mtty mdev (VMTEST_MDEV, offering
# VFIO DMA logging in 6.12). TAP on stdout, the plan first; the output of a
# failed check follows it as "#" lines.
#
# usage: tool-tests.sh [PATH-TO-vfio-iommufd]

# tool-tests.sh --no-iommufd-host COMMAND...: (run by the demo checks below,
# in a mount namespace of its own: unshare -m) make /dev as on a host whose
# kernel has no CONFIG_IOMMUFD (so no CONFIG_VFIO_DEVICE_CDEV): /dev/null,
# /dev/vfio/vfio and the group nodes /dev/vfio/N only, on a fresh tmpfs; the
# devices' sysfs vfio-dev/ hidden under an empty tmpfs; then run COMMAND.
if [ "$1" = --no-iommufd-host ]; then
    shift
    nodes=$(for n in /dev/null /dev/vfio/vfio /dev/vfio/[0-9]*; do
        echo "$n $(stat -c '%t %T' "$n")"
    done)
    mount -t tmpfs -o mode=0755 tmpfs /dev && mkdir /dev/vfio || exit 90
    echo "$nodes" | while read -r n maj min; do
        mknod -m 0666 "$n" c $((0x$maj)) $((0x$min)) || exit 91
    done || exit 91
    for d in /sys/bus/pci/devices/*/vfio-dev /sys/bus/mdev/devices/*/vfio-dev; do
        [ -d "$d" ] && { mount -t tmpfs -o ro,mode=0555 tmpfs "$d" || exit 92; }
    done
    [ ! -e /dev/iommu ] && [ ! -e /dev/vfio/devices ] || exit 93
    exec "$@"
fi

tool=${1:-/bin/vfio-iommufd}
out=/tmp/tool-out
n=0
fails=0
PLAN=$(grep -c '^t "' "$0")    # one result per t line below
echo "1..$PLAN"

# t DESCRIPTION COMMAND...: one result (the output of the last run after a
# failure).
t() {
    desc=$1
    shift
    n=$((n + 1))
    if "$@"; then
        echo "ok $n - $desc"
    else
        echo "not ok $n - $desc"
        fails=$((fails + 1))
        sed 's/^/# /' "$out" | head -60
    fi
}

# run EXPECTED-EXIT ARGS...: run the tool into $out, check its exit status.
run() {
    want=$1
    shift
    "$tool" "$@" >"$out" 2>&1
    rc=$?
    [ "$rc" = "$want" ] || { echo "exit status $rc, expected $want: vfio-iommufd $*" >>"$out"; return 1; }
}

has() { grep -q -E -- "$1" "$out"; }
hasnt() { ! grep -q -E -- "$1" "$out"; }

# The lines of the JSON object of device $1 in $out (from its "address" to
# the next one).
obj() {
    awk -v a="\"address\": \"$1\"" 'index($0, a) { on = 1; print; next }
        on && /"address":/ { exit } on { print }' "$out"
}
obj_has() { obj "$1" | grep -q -E -- "$2"; }

edus=""
for d in /sys/bus/pci/devices/*; do
    [ "$(cat "$d/vendor")" = 0x1234 ] && [ "$(cat "$d/device")" = 0x11e8 ] && edus="$edus ${d##*/}"
done
set -- $edus
edu1=${1:-none}
edu2=${2:-none}
short1=${edu1#0000:}
mdev=$(basename "${VMTEST_MDEV:-none}")
echo "# edu devices: $edu1 $edu2, mdev: $mdev"

# --- version, check-host -----------------------------------------------------------
host_config() {
    has '^  ok +kernel-config +read from /proc/config.gz' &&
        has '^  ok +config-iommufd +CONFIG_IOMMUFD=y' &&
        has '^  ok +config-vfio-device-cdev +CONFIG_VFIO_DEVICE_CDEV=y'
}
host_devices() {
    has '^  ok +dev-iommu ' &&
        has "^  ok +vfio-pci-driver .*2 device\(s\) bound: $edu1, $edu2"
}
host_json() {
    run 0 check-host --json && has '"ready": true' && has '"schema": 1' &&
        has '"config_source": "/proc/config.gz"'
}
t "--version" run 0 --version
t "check-host: ready (exit 0)" run 0 check-host
t "check-host: CONFIG_IOMMUFD=y and CONFIG_VFIO_DEVICE_CDEV=y from /proc/config.gz" host_config
t "check-host: /dev/iommu opens, vfio-pci has both edus" host_devices
t "check-host: the edus and the mdev bind" \
    has "^  ok +bind +3 device\(s\) bind to an iommufd: $edu1, $edu2, $mdev"
t "check-host: no IOMMU dirty tracking, the mdev logs its DMA" \
    has "^  ok +dirty-tracking +IOMMU dirty tracking: none; device DMA logging: $mdev"
t "check-host --json: ready, schema 1" host_json

# --- list ------------------------------------------------------------------------
list_edus() {
    has "^$edu1 +1234:11e8 +vfio-pci +[0-9]+ +vfio[0-9]+ +dmar[0-9]+/intel-vtd +no +no" &&
        has "^$edu2 +1234:11e8 +vfio-pci +[0-9]+ +vfio[0-9]+ +dmar[0-9]+/intel-vtd +no +no"
}
list_edu_json() {
    obj_has "$edu1" '"type": "intel-vtd"' && obj_has "$edu1" '"dirty_tracking": false' &&
        obj_has "$edu1" '"driver": "vfio-pci"' && obj_has "$edu1" '"error": null' &&
        obj_has "$edu1" '"iommu_group": [0-9]+'
}
list_mdev_json() {
    obj_has "$mdev" '"kind": "mdev"' && obj_has "$mdev" '"iommu_hw_info": null' &&
        obj_has "$mdev" '"dma_logging": true'
}
t "list: exit 0" run 0 list
t "list: the edus on vfio-pci behind a VT-d IOMMU, no dirty tracking, no logging" list_edus
t "list: the mtty mdev with its cdev, offering DMA logging" \
    has "^$mdev +mdev +[^ ]+ +[-0-9]+ +vfio[0-9]+ +\(mdev\) +- +yes"
t "list --json: exit 0" run 0 list --json
t "list --json: edu 1 probed (VT-d, no dirty tracking, on vfio-pci, in a group)" list_edu_json
t "list --json: the mdev: no IOMMU hw info, DMA logging" list_mdev_json
t "list --no-probe: exit 0" run 0 list --no-probe --json
t "list --no-probe: nothing probed" hasnt '"iommu_hw_info"'

# --- info --------------------------------------------------------------------------
info_json() {
    has "\"address\": \"$edu1\"" && has '"regions": 9' && has '"type": "intel-vtd"' &&
        has '"dirty_tracking": false' && has '"vtd_cap_reg": "0x' &&
        has '"iommu_group": [0-9]+' && has '"driver": "vfio-pci"'
}
# The capabilities of an edu behind VT-d: none on 6.12; from 7.x on the
# kernel also reports IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED (bit 3: the edu has
# no ATS capability).
case "$(uname -r)" in
    [0-6].*) edu_caps=0x0 ;;
    *) edu_caps=0x8 ;;
esac
info_text() {
    has '^  driver: +vfio-pci' && has '^  VFIO cdev: +/dev/vfio/devices/vfio' &&
        has "^  IOMMU hw info: +intel-vtd, capabilities $edu_caps, dirty tracking no"
}
t "info $short1 (short address): exit 0" run 0 info --json "$short1"
t "info: the full address, 9 regions, VT-d without dirty tracking, group, driver" info_json
t "info (text): exit 0" run 0 info "$edu1"
t "info (text): driver, cdev, hw info" info_text
t "info of an absent device: exit 3" run 3 info 00:1f.7
t "info of a malformed address: exit 2" run 2 info 0000:zz:00.0

# --- plan --------------------------------------------------------------------------
plan_text() {
    has "^    HWPT [0-9]+ \[plain\]: $edu1 $edu2\$" &&
        has "^    on the IOAS itself \(mdev\): $mdev\$" &&
        [ "$(grep -c -E '^    HWPT ' "$out")" = 1 ] &&
        has '^Torn down: every object made was destroyed'
}
plan_json() {
    [ "$(grep -c '"attach_attempts": 1' "$out")" = 3 ] && has '"torn_down": true' &&
        has '"migration_possible": false' && has '"dirty_tracking": false'
}
t "plan edu edu mtty: exit 0" run 0 plan "$edu1" "$edu2" "$mdev"
t "plan: both edus in one plain HWPT, the mdev on the IOAS, torn down" plan_text
t "plan --json: exit 0" run 0 plan --json "$edu1" "$edu2" "$mdev"
t "plan --json: one attach attempt each, no dirty HWPT, torn down" plan_json

# --- migration-check ----------------------------------------------------------------
mig_coverage() {
    obj_has "$edu1" '"dirty_coverage": "none"' && obj_has "$edu2" '"dirty_coverage": "none"' &&
        obj_has "$mdev" '"dirty_coverage": "device-logging"'
}
t "migration-check edu edu mtty: not possible (exit 1)" \
    run 1 migration-check --json "$edu1" "$edu2" "$mdev"
t "migration-check: the blocker names both edus, not the logging mdev" \
    has "\"migration_blocker\": \"dirty tracking does not cover 2 devices: $edu1 \(its IOMMU has no dirty tracking\), $edu2 \(its IOMMU has no dirty tracking\)\""
t "migration-check: coverage none, none, device-logging" mig_coverage
t "migration-check --no-device-logging: exit 1" \
    run 1 migration-check --no-device-logging "$edu1" "$edu2" "$mdev"
t "migration-check --no-device-logging: the mdev is named too" \
    has "does not cover 3 devices: .*$mdev"
t "migration-check of the mdev alone: possible (exit 0)" run 0 migration-check "$mdev"

# --- demo: the backend and why ------------------------------------------------------
# run_no_iommufd EXPECTED-EXIT ARGS...: run as run does, on a host without
# IOMMUFD (--no-iommufd-host above, in a mount namespace of its own).
run_no_iommufd() {
    want=$1
    shift
    unshare -m /bin/busybox sh "$0" --no-iommufd-host "$tool" "$@" >"$out" 2>&1
    rc=$?
    [ "$rc" = "$want" ] || { echo "exit status $rc, expected $want: (no IOMMUFD) vfio-iommufd $*" >>"$out"; return 1; }
}
demo_iommufd() {
    has '"backend": "iommufd"' && has '"type1_container": null' &&
        has "\"backend_reason\": \"auto: /dev/iommu and the device's VFIO cdev exist \\(the first device, $edu1\\)\""
}
demo_type1() {
    has '"backend": "type1"' && has '"containers": \[\]' && has '"iommu_groups": \[' &&
        [ "$(grep -c '"dirty_coverage": "type1: all mapped pages reported dirty"' "$out")" = 2 ] &&
        [ "$(grep -c '"dirty_coverage": "device-logging"' "$out")" = 1 ] &&
        has '"migration_blocker": null' && has '"error": null'
}
demo_no_iommufd() {
    demo_type1 && has "\"backend_reason\": \"auto: the device has no VFIO cdev and there is no /dev/iommu \\(the first device, $edu1\\)"
}
demo_no_iommufd_text() {
    has '^Backend: type1 ' && has "^  why: auto: the device has no VFIO cdev and there is no /dev/iommu \\(the first device, $edu1\\)" &&
        has "^  plug $edu1: IOMMU group [0-9]+ joined the type1 container" &&
        has '^    IOMMU group [0-9]+ \(/dev/vfio/[0-9]+\): '"$mdev"
}
t "demo --device edu edu mtty: exit 0" \
    run 0 demo --json --device "$edu1" --device "$edu2" --device "$mdev"
t "demo: iommufd, and why (auto: /dev/iommu and the first device's cdev)" demo_iommufd
t "demo --backend type1: exit 0" \
    run 0 demo --json --backend type1 --device "$edu1" --device "$edu2" --device "$mdev"
t "demo --backend type1: type1, the groups, the edus 'all mapped pages reported dirty', the mdev its log" \
    demo_type1
t "demo --backend type1: asked for" has '"backend_reason": "asked for \(--backend type1\)"'
t "demo on a host without IOMMUFD (no /dev/iommu, no cdev), auto: exit 0" \
    run_no_iommufd 0 demo --json --device "$edu1" --device "$edu2" --device "$mdev"
t "demo without IOMMUFD: type1, and why (the first edu has no VFIO cdev)" demo_no_iommufd
t "demo without IOMMUFD (text): exit 0" \
    run_no_iommufd 0 demo --device "$edu1" --device "$edu2" --device "$mdev"
t "demo without IOMMUFD (text): Backend: type1, why, the groups joined" demo_no_iommufd_text

# --- nothing left behind --------------------------------------------------------------
t "check-host again: ready" run 0 check-host
t "check-host again: every device binds" has '^  ok +bind +3 device'
t "plan again: the same placement" run 0 plan "$edu1" "$edu2" "$mdev"
t "plan again: both edus in one plain HWPT" plan_text
t "a usage error with --json: exit 2" run 2 plan --json zz
t "a usage error with --json: an error object" has '"domain": "usage"'

[ "$n" = "$PLAN" ] || echo "# ran $n checks, planned $PLAN"

# What the tool says here, for the console log.
for args in check-host list "info $edu1" "plan $edu1 $edu2 $mdev" \
            "migration-check $edu1 $edu2 $mdev"; do
    echo "# \$ vfio-iommufd $args"
    # shellcheck disable=SC2086
    "$tool" $args 2>&1 | sed 's/^/#   /'
done

[ "$fails" = 0 ] && [ "$n" = "$PLAN" ]
