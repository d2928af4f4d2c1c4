#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Check the vfio-iommufd demo tool end to end: its JSON on the built-in
topology and on a topology file, and exit status 2 with a message for bad
options and bad topology files.

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

# Bad input: exit status 2 and a message.
for args, what in ((['--bogus'], 'unknown option'),
                   (['--topology', '/nonexistent.ini'], 'missing topology file'),
                   (['--device', '0000:zz:00.0'], 'malformed PCI address'),
                   (['extra'], 'stray argument')):
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
