#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Check the vfio-iommufd tool's subcommands end to end: every one on the
kernel model (--sim) with assertions on its JSON, the usage errors (exit 2),
--version, short PCI addresses, and check-host on fake host trees (--root)
and, for consistency with what exists, on this machine.

usage: check-tool.py PATH-TO-vfio-iommufd VERSION"""
import gzip
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tap import check, done  # noqa: E402
import tempfile

tool, version = sys.argv[1], sys.argv[2]


def run(*args):
    return subprocess.run([tool, *args], capture_output=True, text=True, timeout=120)


def run_json(*args, rc=0, what=None):
    """Run with --json; check the exit status and the common members."""
    p = run(*args, '--json')
    what = what or ' '.join(args)
    check(p.returncode == rc, f'{what}: exit {rc} (got {p.returncode}; {p.stderr.strip()})')
    try:
        d = json.loads(p.stdout)
    except ValueError:
        check(False, f'{what}: stdout is one JSON object: {p.stdout[:200]!r}')
        return {}
    check(d.get('schema') == 1, f'{what}: schema 1')
    return d


# The built-in topology's devices (kernel.c): PCI addresses in file order,
# mdevs 00000000-0000-0000-0000-0000000000NN (NN = cdev index + 1).
PCI = {'nic0': '0000:00:01.0', 'gpu0': '0000:00:02.0', 'nic1': '0000:00:03.0',
       'nvme0': '0000:00:04.0', 'gpu1': '0000:00:05.0', 'nic2': '0000:00:06.0',
       'vf0': '0000:00:07.0'}
MDEV = {'vgpu0': '00000000-0000-0000-0000-000000000004',
        'vgpu1': '00000000-0000-0000-0000-000000000009'}
ADDR = {**PCI, **MDEV}
IOMMU = {'nic0': 'dmar0', 'gpu0': 'dmar1', 'nic1': 'dmar0', 'nvme0': 'dmar2',
         'gpu1': 'dmar1', 'nic2': 'dmar0', 'vf0': 'dmar1'}
DIRTY_IOMMUS = {'dmar0', 'dmar2'}
LOGGING = {'vf0', 'vgpu1'}

# ---- global options -----------------------------------------------------------
p = run('--version')
check(p.returncode == 0 and p.stdout.strip() == f'vfio-iommufd {version}',
      f'--version prints "vfio-iommufd {version}"')
p = run('--help')
check(p.returncode == 0 and 'check-host' in p.stdout and 'migration-check' in p.stdout,
      '--help exits 0 and lists the commands')
for cmd in ('check-host', 'list', 'info', 'plan', 'migration-check', 'demo'):
    for flag in ('--help', '-h'):
        p = run(cmd, flag)
        check(p.returncode == 0 and p.stdout.startswith(f'usage: vfio-iommufd {cmd} '),
              f'{cmd} {flag}: exit 0 with its usage')

# ---- usage errors: exit 2, a message, and with --json an error object ------
for args, what in (([], 'no command'),
                   (['bogus'], 'unknown command'),
                   (['--bogus'], 'unknown global option'),
                   (['--topology'], 'global option without its argument'),
                   (['list', '--bogus'], 'unknown option of list'),
                   (['list', 'extra'], 'stray argument of list'),
                   (['info', '--sim'], 'info without a device'),
                   (['info', '--sim', '00:01.0', '00:02.0'], 'info with two devices'),
                   (['info', '--sim', '0000:zz:00.0'], 'malformed PCI address'),
                   (['info', '--sim', '00:20.0'], 'PCI device number above 1f'),
                   (['info', '--sim', '00:01.8'], 'PCI function above 7'),
                   (['plan', '--sim'], 'plan without devices'),
                   (['plan', '--sim', 'nic0', '00:01.0'], 'plan with a device twice'),
                   (['migration-check', '--sim'], 'migration-check without devices'),
                   (['check-host', '--sim', '--root', '/'], 'check-host --root with --sim'),
                   (['check-host', '--root'], 'check-host --root without a directory'),
                   (['list', '--topology', '/nonexistent.ini'], 'missing topology file'),
                   (['demo', '--sim', '--device', '00:01.0'], 'demo --device with --sim')):
    p = run(*args)
    check(p.returncode == 2 and p.stderr.strip() != '', f'{what}: exit 2 with a message')
    if args and args[-1] not in ('--topology', '--root'):   # would take --json
        p = run(*args, '--json')
        try:
            e = json.loads(p.stdout)['error']
            check(p.returncode == 2 and e['domain'] == 'usage' and e['message'],
                  f'{what}: --json gives an error object (domain usage)')
        except (ValueError, KeyError, TypeError):
            check(False, f'{what}: --json gives an error object: {p.stdout[:200]!r}')

# ---- list ------------------------------------------------------------------------
d = run_json('list', '--sim')
check(d.get('command') == 'list' and d.get('kernel') == 'model', 'list: command and kernel')
devs = {x['address']: x for x in d.get('devices', [])}
check(set(devs) == set(ADDR.values()), 'list: every PCI device and mdev of the model')
groups = set()
for name, addr in PCI.items():
    x = devs.get(addr, {})
    pr = x.get('probe') or {}
    hw = pr.get('iommu_hw_info') or {}
    check(x.get('kind') == 'pci' and x.get('driver') == 'vfio-pci' and
          x.get('vendor') == '0x1b36' and x.get('device') == '0x0005',
          f'list: {name} is a PCI device on vfio-pci with its ids')
    check(x.get('iommu') == IOMMU[name], f'list: {name} behind {IOMMU[name]}')
    check(isinstance(x.get('iommu_group'), int), f'list: {name} has an IOMMU group')
    groups.add(x.get('iommu_group'))
    check(x.get('vfio_cdev', '').startswith('/dev/vfio/devices/vfio'), f'list: {name} cdev')
    check(pr.get('error') is None and hw.get('type') == 'intel-vtd' and
          hw.get('dirty_tracking') == (IOMMU[name] in DIRTY_IOMMUS),
          f'list: {name} probed: VT-d, dirty tracking as its IOMMU')
    check(pr.get('dma_logging') == (name in LOGGING), f'list: {name} DMA logging')
check(len(groups) == len(PCI), 'list: one IOMMU group per PCI device')
for name, addr in MDEV.items():
    x = devs.get(addr, {})
    pr = x.get('probe') or {}
    check(x.get('kind') == 'mdev' and x.get('parent') == 'mdev_parent',
          f'list: {name} is an mdev of the model parent')
    check(pr.get('iommu_hw_info') is None and 'mdev' in (pr.get('iommu_hw_info_error') or ''),
          f'list: {name} has no IOMMU hw info')
    check(pr.get('dma_logging') == (name in LOGGING), f'list: {name} DMA logging')
d = run_json('list', '--sim', '--no-probe')
check(all(x['probe'] is None for x in d.get('devices', [])), 'list --no-probe: no probe')
p = run('--sim', 'list')
check(p.returncode == 0 and p.stdout.startswith('ADDRESS') and
      all(a in p.stdout for a in ADDR.values()), 'list (text): a header and every device')

# ---- info: short and full addresses, UUIDs, topology names -------------------
d = run_json('info', '--sim', '00:07.0')
x = d.get('device', {})
pr = x.get('probe') or {}
check(x.get('address') == PCI['vf0'], 'info 00:07.0: short BDF is domain 0000')
check(x.get('iommu_group_devices') == [PCI['vf0']], 'info: the group holds the device')
check(x.get('sysfs_path', '').endswith(PCI['vf0']), 'info: sysfs path')
check((pr.get('device_info') or {}).get('regions') == 9 and
      (pr.get('device_info') or {}).get('pci') is True, 'info: device info (PCI, 9 regions)')
check((pr.get('iommu_hw_info') or {}).get('vtd_ecap_reg', '').startswith('0x'),
      'info: the VT-d registers')
check(pr.get('dma_logging') is True, 'info: vf0 offers DMA logging')
for form in ('0000:00:07.0', '0000:00:07.0'.upper(), 'vf0'):
    d2 = run_json('info', '--sim', form)
    check(d2.get('device', {}).get('address') == PCI['vf0'], f'info {form}: the same device')
d = run_json('info', '--sim', MDEV['vgpu1'].upper())
check(d.get('device', {}).get('kind') == 'mdev', 'info: an mdev by its UUID (upper case)')
d = run_json('info', '--sim', '00:1f.0', rc=3)
e = d.get('error') or {}
check(e.get('domain') == 'library' and '0000:00:1f.0' in e.get('message', ''),
      'info of an absent device: exit 3, the error names it')
p = run('info', '--sim', 'nic0')
check(p.returncode == 0 and 'dmar0' in p.stdout and 'VFIO cdev' in p.stdout, 'info (text)')

# ---- plan --------------------------------------------------------------------------
names = list(ADDR)
d = run_json('plan', '--sim', *names)
check(d.get('torn_down') is True and d.get('kernel_objects_left') == 0,
      'plan: torn down, no kernel object left')
check(d.get('options') == {'iommu_dirty_tracking': True, 'device_logging': True,
                           'nest_parent': False, 'backend': 'auto'},
      'plan: default options')
cs = d.get('containers', [])
check(len(cs) == 1, 'plan: one container')
pd = {x['address']: x for x in d.get('devices', [])}
check(list(pd) == [ADDR[n] for n in names], 'plan: the devices in argument order')
for c in cs:
    for h in c['hwpts']:
        for a in h['devices']:
            check(pd[a]['hwpt_id'] == h['hwpt_id'], f'plan: {a} in HWPT {h["hwpt_id"]}')
            check((pd[a]['dirty_coverage'] == 'iommu') == h['dirty_tracking'],
                  f'plan: {a} IOMMU-covered exactly when its HWPT tracks')
    check(sorted(c['ioas_devices']) == sorted(MDEV.values()), 'plan: mdevs on the IOAS')
check(pd[PCI['vf0']]['dirty_coverage'] == 'device-logging' and
      pd[MDEV['vgpu1']]['dirty_coverage'] == 'device-logging', 'plan: loggers use logging')
untracked = [a for a, x in pd.items() if x['dirty_coverage'] == 'none']
check(d.get('migration_possible') is False and
      all(a in (d.get('migration_blocker') or '') for a in untracked),
      'plan: the blocker names every untracked device')
shared = [h for c in cs for h in c['hwpts'] if PCI['nic0'] in h['devices']]
check(shared and PCI['nic1'] in shared[0]['devices'], 'plan: nic0 and nic1 share a HWPT')
d = run_json('plan', '--sim', '00:01.0', '00:03.0')
check(d.get('migration_possible') is True and d.get('migration_blocker') is None and
      len(d['containers'][0]['hwpts']) == 1 and d['containers'][0]['hwpts'][0]['dirty_tracking'],
      'plan of two devices of one dirty IOMMU: one dirty HWPT, migration possible')
d = run_json('plan', '--sim', '--no-iommu-dirty-tracking', 'nic0', 'nvme0')
check(all(not h['dirty_tracking'] for c in d.get('containers', []) for h in c['hwpts']) and
      all(x['untracked_reason'] == 'the VMM opted out of IOMMU dirty tracking'
          for x in d.get('devices', [])), 'plan --no-iommu-dirty-tracking: plain HWPTs')
d = run_json('plan', '--sim', '--nest-parent', 'nic0', 'nvme0')
hs = {a: h for c in d.get('containers', []) for h in c['hwpts'] for a in h['devices']}
pd = {x['address']: x for x in d.get('devices', [])}
check(d.get('options', {}).get('nest_parent') is True and
      all(h['nest_parent'] for h in hs.values()) and
      hs[PCI['nic0']]['dirty_tracking'] and not hs[PCI['nvme0']]['dirty_tracking'] and
      pd[PCI['nic0']]['dirty_coverage'] == 'iommu' and
      'NEST_PARENT' in (pd[PCI['nvme0']]['untracked_reason'] or '') and
      PCI['nvme0'] in (d.get('migration_blocker') or ''),
      'plan --nest-parent: nest parents, dirty where the pair is taken, the refusal named')
d = run_json('plan', '--sim', '--backend', 'type1', 'nic0', 'nvme0')
check(d.get('options', {}).get('backend') == 'type1' and d.get('backend') == 'type1' and
      d.get('containers') == [] and d.get('kernel_objects_left') == 0 and
      all(x['dirty_coverage'] == 'type1: all mapped pages reported dirty'
          for x in d.get('devices', [])) and d.get('migration_possible') is True,
      'plan --backend type1: no containers or HWPTs, every device "all mapped pages dirty"')
d = run_json('plan', '--sim', 'nic0')
check(d.get('backend') == 'iommufd' and d.get('options', {}).get('backend') == 'auto',
      'plan: the auto backend on the model is iommufd, and the JSON says so')
check(d.get('backend_reason') == ("auto: /dev/iommu and the device's VFIO cdev exist "
                                    f"(the first device, {PCI['nic0']})"),
      'plan: why auto is iommufd (the first device has its cdev, /dev/iommu)')
d = run_json('migration-check', '--sim', '--backend', 'type1', 'nic0')
check(d.get('backend') == 'type1' and d.get('backend_reason') == 'asked for (--backend type1)',
      'migration-check --backend type1: type1, asked for')
p = run('migration-check', '--sim', '--backend', 'type1', 'nic0')
check('Backend: type1' in p.stdout and '  why: asked for (--backend type1)' in p.stdout,
      'migration-check (text): the backend and why')
p = run('plan', '--sim', '--backend', 'vfio', 'nic0')
check(p.returncode == 2 and 'auto, iommufd or type1' in p.stderr,
      'plan --backend with an unknown kind: exit 2, the kinds named')
p = run('plan', '--sim', '--nest-parent', 'gpu0')
check(p.returncode != 0 and 'nest-parent' in p.stdout + p.stderr,
      'plan --nest-parent of an IOMMU without nesting: fails, says why')
d = run_json('plan', '--sim', '--no-device-logging', 'vf0')
x = (d.get('devices') or [{}])[0]
check(x.get('dirty_coverage') == 'none' and 'DMA logging' in (x.get('untracked_reason') or ''),
      'plan --no-device-logging: the logging device is untracked, and why')
p = run('plan', '--sim', 'nic0', 'gpu0')
check(p.returncode == 0 and 'HWPT' in p.stdout and 'Torn down' in p.stdout, 'plan (text)')

# ---- migration-check ------------------------------------------------------------
d = run_json('migration-check', '--sim', 'nic0', 'nic1', 'vf0', 'vgpu1')
check(d.get('migration_possible') is True and d.get('migration_blocker') is None and
      d.get('torn_down') is True, 'migration-check of covered devices: exit 0, possible')
check('containers' not in d, 'migration-check: no placement in its output')
d = run_json('migration-check', '--sim', '00:01.0', '00:02.0', MDEV['vgpu0'], rc=1)
b = d.get('migration_blocker') or ''
check(d.get('migration_possible') is False and PCI['gpu0'] in b and MDEV['vgpu0'] in b and
      PCI['nic0'] not in b, 'migration-check: exit 1, the blocker names the untracked ones')
check([x['dirty_coverage'] for x in d.get('devices', [])] == ['iommu', 'none', 'none'],
      'migration-check: coverage per device')
p = run('migration-check', '--sim', 'gpu0')
check(p.returncode == 1 and 'not possible' in p.stdout, 'migration-check (text): exit 1')

# ---- a topology file -------------------------------------------------------------
with tempfile.NamedTemporaryFile('w', suffix='.ini', delete=False) as f:
    f.write('[iommu a]\ndirty-tracking=false\n[device x]\niommu=a\n[device m]\nmdev=true\n')
    topo = f.name
try:
    d = run_json('list', '--topology', topo)
    check([x['address'] for x in d.get('devices', [])] ==
          ['0000:00:01.0', '00000000-0000-0000-0000-000000000002'],
          'list --topology FILE: its devices')
    d = run_json('--topology', topo, 'migration-check', 'x', 'm', rc=1)
    check(d.get('migration_possible') is False, 'global --topology before the command')
finally:
    os.unlink(topo)
with tempfile.NamedTemporaryFile('w', suffix='.ini', delete=False) as f:
    f.write('[iommu v]\ndirty-tracking=true\nnesting=true\n'
            '[iommu s]\ndirty-tracking=true\nnesting=true\ndirty-nest-parent=EOPNOTSUPP\n'
            '[device a]\niommu=v\nnest-parent=true\n[device b]\niommu=s\nnest-parent=true\n'
            '[device c]\niommu=v\n')
    topo = f.name
try:
    d = run_json('demo', '--topology', topo)
    hw = [h for c in d.get('containers', []) for h in c['hwpts']]
    dv = {x['name']: x for x in d.get('devices', [])}
    check(sorted((h['nest_parent'], h['dirty_tracking']) for h in hw) ==
          [(False, True), (True, False), (True, True)] and
          dv['a']['dirty_coverage'] == 'iommu' and dv['c']['dirty_coverage'] == 'iommu' and
          'NEST_PARENT' in (dv['b']['untracked_reason'] or ''),
          'demo with nest-parent wishes: nest parents apart, the pair refused named')
finally:
    os.unlink(topo)

# ---- check-host on the model ---------------------------------------------------
IDS = ['kernel', 'kernel-config', 'config-iommufd', 'config-vfio-device-cdev',
       'config-vfio-pci', 'dev-iommu', 'vfio-pci-driver', 'vfio-devices', 'vfio-cdev',
       'bind', 'dirty-tracking']
d = run_json('check-host', '--sim')
st = {c['id']: c for c in d.get('checks', [])}
check(list(st) == IDS, 'check-host: every check, in order')
check(all(set(c) == {'id', 'status', 'message', 'hint'} for c in st.values()),
      'check-host: id, status, message, hint')
check(d.get('ready') is True and not any(c['status'] == 'FAIL' for c in st.values()),
      'check-host --sim: ready')
check(st['bind']['status'] == 'ok' and st['dirty-tracking']['status'] == 'ok' and
      PCI['nic0'] in st['dirty-tracking']['message'], 'check-host --sim: probed, dirty-tracked')
check(len(d.get('devices', [])) == len(ADDR), 'check-host --sim: every VFIO device probed')


# ---- check-host on fake host trees (--root) ----------------------------------
def write(root, rel, text='', mode='w'):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, mode) as f:
        f.write(text)


def pci_device(root, bdf, vfio=None, cdev_attr=True):
    dev = os.path.join(root, 'sys/devices/pci0000:00', bdf)
    write(root, f'sys/devices/pci0000:00/{bdf}/vendor', '0x8086\n')
    write(root, f'sys/devices/pci0000:00/{bdf}/device', '0x1533\n')
    os.makedirs(os.path.join(root, 'sys/bus/pci/devices'), exist_ok=True)
    os.symlink(f'../../../devices/pci0000:00/{bdf}',
               os.path.join(root, 'sys/bus/pci/devices', bdf))
    if vfio:
        os.makedirs(os.path.join(root, 'sys/bus/pci/drivers/vfio-pci'), exist_ok=True)
        os.symlink('../../../bus/pci/drivers/vfio-pci', os.path.join(dev, 'driver'))
        os.makedirs(os.path.join(dev, 'vfio-dev', vfio))
        if cdev_attr:
            write(root, f'sys/devices/pci0000:00/{bdf}/vfio-dev/{vfio}/dev', '511:0\n')


def host(release='6.12.0-test', config=None, gz=True, dev_iommu=False, vfio=None,
         cdev_attr=True, node=True):
    root = tempfile.mkdtemp(prefix='vfi-host-')
    write(root, 'proc/sys/kernel/osrelease', release + '\n')
    if config is not None and gz:
        write(root, 'proc/config.gz', gzip.compress(config.encode()), 'wb')
    elif config is not None:
        write(root, f'boot/config-{release}', config)
    if dev_iommu:
        write(root, 'dev/iommu')
    if vfio and node:
        write(root, f'dev/vfio/devices/{vfio}')
    pci_device(root, '0000:00:01.0', vfio, cdev_attr)
    return root


def check_host(root, rc, what):
    d = run_json('check-host', '--root', root, rc=rc, what=f'check-host --root ({what})')
    check(d.get('ready') is (rc == 0), f'{what}: ready is {rc == 0}')
    return {c['id']: c for c in d.get('checks', [])}, d


GOOD = 'CONFIG_IOMMUFD=y\nCONFIG_VFIO=y\nCONFIG_VFIO_DEVICE_CDEV=y\nCONFIG_VFIO_PCI=m\n'
BAD = '# CONFIG_IOMMUFD is not set\n# CONFIG_VFIO_DEVICE_CDEV is not set\nCONFIG_VFIO=y\n'
roots = []
try:
    roots.append(host(config=BAD))
    st, d = check_host(roots[-1], 1, 'a kernel without IOMMUFD')
    check(st['config-iommufd']['status'] == 'FAIL' and
          'the running kernel was built without CONFIG_IOMMUFD' in st['config-iommufd']['message'],
          'without IOMMUFD: named')
    check(st['config-vfio-device-cdev']['status'] == 'FAIL', 'without VFIO cdev: named')
    check(st['config-vfio-pci']['status'] == 'warn', 'without vfio-pci: a warning')
    check(st['dev-iommu']['status'] == 'FAIL' and '/dev/iommu' in st['dev-iommu']['message'],
          'no /dev/iommu: named')
    check(st['vfio-devices']['status'] == 'FAIL' and
          'no device bound to vfio-pci' in st['vfio-devices']['message'] and
          'driver_override' in (st['vfio-devices']['hint'] or ''),
          'no VFIO device: named, with how to bind one')
    check(d.get('config_source', '').endswith('proc/config.gz'), 'config from /proc/config.gz')
    p = run('check-host', '--root', roots[-1])
    check(p.returncode == 1 and 'Not ready' in p.stdout and
          'built without CONFIG_IOMMUFD' in p.stdout, 'check-host (text): not ready, why')

    roots.append(host(config=GOOD, gz=False, dev_iommu=True, vfio='vfio0'))
    st, d = check_host(roots[-1], 0, 'a ready host, config in /boot')
    check(d.get('config_source', '').endswith('boot/config-6.12.0-test'), 'config from /boot')
    check(st['config-vfio-pci']['message'] == 'CONFIG_VFIO_PCI=m (a module)', 'a module')
    check(st['vfio-devices']['status'] == 'ok' and '0000:00:01.0' in st['vfio-devices']['message'],
          'the VFIO device is found')
    check(st['bind']['status'] == 'skip' and st['dirty-tracking']['status'] == 'skip',
          '--root: nothing opened')

    roots.append(host(release='5.15.0', config=GOOD, dev_iommu=True, vfio='vfio0'))
    st, _ = check_host(roots[-1], 1, 'Linux 5.15')
    check(st['kernel']['status'] == 'FAIL' and '6.6' in st['kernel']['message'], 'too old')

    roots.append(host(release='6.6.1', config=GOOD, dev_iommu=True, vfio='vfio0'))
    st, _ = check_host(roots[-1], 0, 'Linux 6.6')
    check(st['kernel']['status'] == 'warn' and '6.7' in st['kernel']['message'],
          '6.6: no IOMMU dirty tracking, a warning')

    roots.append(host(config=GOOD, dev_iommu=True, vfio='vfio0', node=False))
    st, _ = check_host(roots[-1], 1, 'no device node')
    check(st['vfio-cdev']['status'] == 'FAIL' and
          '/dev/vfio/devices/vfio0' in st['vfio-cdev']['message'], 'the missing node is named')

    roots.append(host(dev_iommu=True, vfio='vfio0', cdev_attr=False))
    st, _ = check_host(roots[-1], 1, 'no configuration, vfio-dev without dev attribute')
    check(st['kernel-config']['status'] == 'warn', 'no configuration: a warning')
    check(st['config-iommufd']['status'] == 'ok' and 'dev/iommu' in st['config-iommufd']['message'],
          'IOMMUFD judged from /dev/iommu')
    check(st['vfio-cdev']['status'] == 'FAIL' and
          'CONFIG_VFIO_DEVICE_CDEV' in st['vfio-cdev']['message'], 'no cdev: named')

    roots.append(host(dev_iommu=True, vfio='vfio0'))
    write(roots[-1], 'proc/config.gz', b'not gzip at all', 'wb')
    st, _ = check_host(roots[-1], 0, 'a corrupt /proc/config.gz')
    check(st['kernel-config']['status'] == 'warn' and 'gzip' in st['kernel-config']['message'],
          'a corrupt config.gz: a warning saying so')
finally:
    for r in roots:
        subprocess.run(['rm', '-rf', r], check=False)

# ---- check-host on this machine: consistent with what exists ------------------
p = run('check-host', '--json')
try:
    d = json.loads(p.stdout)
    st = {c['id']: c for c in d['checks']}
    fails = [i for i, c in st.items() if c['status'] == 'FAIL']
    check(p.returncode == (1 if fails else 0) and d['ready'] == (not fails),
          f'check-host here: exit status and ready agree with the checks (failed: {fails})')
    if not os.path.exists('/dev/iommu'):
        check(p.returncode == 1 and st['dev-iommu']['status'] == 'FAIL' and
              '/dev/iommu' in st['dev-iommu']['message'],
              'check-host here: no /dev/iommu, not ready, and it says so')
    has_vfio = any(os.path.isdir(f'/sys/bus/{b}/devices/{n}/vfio-dev')
                   for b in ('pci', 'mdev') if os.path.isdir(f'/sys/bus/{b}/devices')
                   for n in os.listdir(f'/sys/bus/{b}/devices'))
    check((st['vfio-devices']['status'] == 'FAIL') == (not has_vfio),
          'check-host here: vfio-devices agrees with sysfs')
except (ValueError, KeyError) as ex:
    check(False, f'check-host here: JSON with the checks ({ex}): {p.stdout[:200]!r}')

sys.exit(done())
