#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Check the vfio-iommufd demo tool end to end: its JSON on the built-in
topology and on a topology file, the host backend it names (IOMMUFD, the
type1 container asked for, and AUTO's type1 on devices without a VFIO cdev),
and exit status 2 with a message for bad options and bad topology files.

usage: check-demo.py PATH-TO-vfio-iommufd"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tap import check, done  # noqa: E402

tool = sys.argv[1]


def run(*args):
    return subprocess.run([tool, 'demo', *args], capture_output=True, text=True, timeout=120)


# Built-in heterogeneous topology.
p = run('--json')
check(p.returncode == 0, 'demo exits 0')
d = json.loads(p.stdout)
check(d['leaked_objects'] == 0, 'no kernel object left')
check(len(d['containers']) == 1, 'one container for one address space')
c = d['containers'][0]
hw = {tuple(h['devices']): h['dirty_tracking'] for h in c['hwpts']}
devs = {x['name']: x for x in d['devices']}
for name, x in devs.items():
    for key in ('attach_attempts', 'iommu_dirty_tracking', 'dirty_coverage',
                'dirty_granularity', 'pages_written', 'pages_found'):
        check(key in x, f'{name} has {key}')
    want = {'iommu': 'per IOPTE', 'device-logging': 'per 4 KiB DMA logging page',
            'none': 'untracked'}[x['dirty_coverage']]
    check(x['dirty_granularity'].startswith(want),
          f"{name}: granularity {x['dirty_granularity']!r} for {x['dirty_coverage']}")
# Every device with IOMMU coverage sits in a dirty HWPT, and vice versa.
for h in c['hwpts']:
    for name in h['devices']:
        check(devs[name]['iommu_dirty_tracking'] == h['dirty_tracking'],
              f'{name}: iommu_dirty_tracking matches its HWPT')
for name in c['ioas_devices']:
    check(devs[name]['mdev'], f'{name} on the IOAS is an mdev')
# Pages found: all of them for covered devices, none for untracked ones.
for name, x in devs.items():
    if x['dirty_coverage'] == 'none':
        check(x['pages_found'] == 0, f'{name}: untracked, no page found')
    else:
        check(x['pages_found'] == x['pages_written'] > 0,
              f'{name}: every written page found')
untracked = [n for n, x in devs.items() if x['dirty_coverage'] == 'none']
check(isinstance(d['migration_blocker'], str) and
      f'{len(untracked)} devices' in d['migration_blocker'],
      'the blocker message counts every untracked device')
check(devs['nic2']['dirty_coverage'] == 'none' and
      'opted out' in devs['nic2']['untracked_reason'], 'opt-out device is untracked')

# A homogeneous topology file: one dirty HWPT, one attempt each, no blocker.
with tempfile.NamedTemporaryFile('w', suffix='.ini', delete=False) as f:
    f.write('[iommu a]\ndirty-tracking=true\n')
    for i in range(6):
        f.write(f'[device d{i}]\niommu=a\n')
    topo = f.name
try:
    p = run('--json', '--topology', topo)
    check(p.returncode == 0, 'topology file demo exits 0')
    d = json.loads(p.stdout)
    check(len(d['containers'][0]['hwpts']) == 1, 'homogeneous: one HWPT')
    check(all(x['attach_attempts'] == 1 for x in d['devices']),
          'homogeneous: one attach attempt per device')
    check(d['migration_blocker'] is None, 'homogeneous: no migration blocker')
    check(d['leaked_objects'] == 0, 'homogeneous: no kernel object left')
finally:
    os.unlink(topo)

# The backend: AUTO on the model (which has /dev/iommu and the cdevs) is
# IOMMUFD, and the report says so and why.
p = run('--json')
d = json.loads(p.stdout)
check(d['options'] == {'backend': 'auto'} and d['backend'] == 'iommufd' and
      d['type1_container'] is None and
      d['backend_reason'] == ("auto: /dev/iommu and the device's VFIO cdev exist "
                             f"(the first device, {d['devices'][0]['name']})"),
      'auto on the model: iommufd, the reason names /dev/iommu and the first cdev')
p = run()
check(p.returncode == 0 and '\nBackend: iommufd' in p.stdout and
      "  why: auto: /dev/iommu and the device's VFIO cdev exist (the first device, " in p.stdout, 'text: the backend and why')


def check_type1(d, what, reason, logging=()):
    devs = d['devices']
    groups = []
    for x in devs:
        if x['iommu_group'] not in groups:
            groups.append(x['iommu_group'])
    check(d['backend'] == 'type1' and d['containers'] == [] and
          d['backend_reason'].startswith(reason), f'{what}: type1, no IOMMUFD container, why')
    check(d['type1_container'] == {'iommu_groups': groups} and
          all(isinstance(g, int) and g >= 0 for g in groups), f'{what}: the groups joined')
    # mixed mode per device on type1 as on IOMMUFD: a device whose driver
    # offers DMA logging is covered by its log, the others by type1's
    # "every mapped page"
    t1 = 'type1: all mapped pages reported dirty'
    check(all(x['dirty_coverage'] == ('device-logging' if x['name'] in logging else t1) and
              x['pages_found'] == x['pages_written'] > 0 for x in devs),
          f'{what}: every device "all mapped pages reported dirty" or its DMA log, every page found')
    check(d['migration_blocker'] is None and d['leaked_objects'] == 0 and
          d['replugged'] == devs[0]['name'], f'{what}: migration possible, re-plug, nothing left')


p = run('--json', '--backend', 'type1')
check(p.returncode == 0, 'demo --backend type1 exits 0')
d = json.loads(p.stdout)
check(d['options'] == {'backend': 'type1'}, '--backend type1: in the options')
# vf0 and vgpu1 of the default topology offer DMA logging
check_type1(d, '--backend type1', 'asked for (--backend type1)', logging=('vf0', 'vgpu1'))
check(len(d['devices']) == len(devs), '--backend type1: every device of the topology')

# A host without VFIO cdevs (the model's vfio-cdev=false: a kernel without
# CONFIG_VFIO_DEVICE_CDEV): AUTO takes type1 and says why; IOMMUFD asked
# for fails, naming the device.
with tempfile.NamedTemporaryFile('w', suffix='.ini', delete=False) as f:
    f.write('[iommu a]\ndirty-tracking=true\n')
    for i in range(3):
        f.write(f'[device d{i}]\niommu=a\nvfio-cdev=false\n')
    f.write('[device m0]\nmdev=true\nvfio-cdev=false\n')
    nocdev = f.name
try:
    p = run('--json', '--topology', nocdev)
    check(p.returncode == 0, 'no cdevs, auto: exit 0')
    d = json.loads(p.stdout)
    check_type1(d, 'no cdevs, auto', 'auto: the device has no VFIO cdev (the first device, d0)')
    p = run('--topology', nocdev)
    check(p.returncode == 0 and 'Backend: type1' in p.stdout and
          'why: auto: the device has no VFIO cdev (the first device, d0)' in p.stdout and
          'IOMMU group 0 (/dev/vfio/0): d0' in p.stdout, 'no cdevs, text: type1, why, groups')
    p = run('--json', '--topology', nocdev, '--backend', 'iommufd')
    d = json.loads(p.stdout)
    check(p.returncode == 3 and 'no VFIO cdev' in d['error']['message'] and
          d['backend'] == 'iommufd' and d['leaked_objects'] == 0,
          'no cdevs, --backend iommufd: exit 3, the error says why, nothing left')
finally:
    os.unlink(nocdev)

# Bad input: exit status 2 and a message.
for args, what in ((['--bogus'], 'unknown option'),
                   (['--topology', '/nonexistent.ini'], 'missing topology file'),
                   (['--device', '0000:zz:00.0'], 'malformed PCI address'),
                   (['extra'], 'stray argument'),
                   (['--backend', 'vfio'], 'unknown backend')):
    p = run(*args)
    check(p.returncode == 2 and p.stderr.strip() != '', f'{what}: exit 2 with a message')
with tempfile.NamedTemporaryFile('w', suffix='.ini', delete=False) as f:
    f.write('[iommu a]\ndirty-tracking=maybe\n[device x]\niommu=a\n')
    bad = f.name
try:
    p = run('--topology', bad)
    check(p.returncode == 2 and 'dirty-tracking' in p.stderr, 'bad key value: exit 2 naming it')
finally:
    os.unlink(bad)

sys.exit(done())
