#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""vfio-iommufd as a meson subproject of a VMM: a tiny parent project, made
in a temporary directory with subprojects/vfio-iommufd a symbolic link to
this source tree, takes the library with dependency(..., fallback) and its
default options, builds and runs its own test. Checked: the parent's
`meson test --list` and `--benchmark --list` hold its own test and benchmark
and nothing of ours; its build and its install have no vfio-iommufd tool.
Nothing is downloaded (--wrap-mode=nodownload).

  check-subproject.py --source DIR --ninja NINJA --meson WORD [--meson WORD...]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

PARENT_MESON = """project('vmm', 'c', default_options : ['c_std=gnu11'])
vfio_iommufd = dependency('vfio-iommufd', fallback : ['vfio-iommufd', 'vfio_iommufd_dep'])
vmm = executable('vmm', 'vmm.c', dependencies : vfio_iommufd, install : true)
test('vmm-own-test', vmm)
benchmark('vmm-own-benchmark', vmm)
"""

PARENT_C = """#include <stdio.h>
#include <vfio-iommufd/iommufd.h>

int main(void)
{
    GError *err = NULL;
    VfiIommufd *be = vfi_iommufd_new();

    if (!vfi_iommufd_free(be, &err)) {
        fprintf(stderr, "vmm: %s\\n", err->message);
        return 1;
    }
    puts("vmm: linked against the vfio-iommufd subproject");
    return 0;
}
"""


def run(cmd, **kw):
    print('$ ' + ' '.join(cmd), flush=True)
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        print(r.stdout + r.stderr)
        raise SystemExit(f'check-subproject: {cmd[0]} failed (exit {r.returncode})')
    return r.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--source', required=True)
    ap.add_argument('--ninja', required=True)
    ap.add_argument('--meson', action='append', required=True)
    args = ap.parse_args()
    meson = args.meson
    problems = []

    with tempfile.TemporaryDirectory(prefix='vfi-parent-') as parent:
        with open(os.path.join(parent, 'meson.build'), 'w', encoding='utf-8') as f:
            f.write(PARENT_MESON)
        with open(os.path.join(parent, 'vmm.c'), 'w', encoding='utf-8') as f:
            f.write(PARENT_C)
        os.mkdir(os.path.join(parent, 'subprojects'))
        os.symlink(os.path.abspath(args.source), os.path.join(parent, 'subprojects', 'vfio-iommufd'))
        build = os.path.join(parent, 'build')
        # The fallback even where an installed vfio-iommufd would be found.
        run(meson + ['setup', build, parent, '--wrap-mode=nodownload',
                     '--force-fallback-for=vfio-iommufd'])
        run([args.ninja, '-C', build])

        lists = {}
        for kind, flag in (('test', []), ('benchmark', ['--benchmark'])):
            out = run(meson + ['test', '-C', build, '--no-rebuild', '--list'] + flag)
            lists[kind] = [ln.strip() for ln in out.splitlines() if ln.strip()]
        print(f"parent tests: {lists['test']}, benchmarks: {lists['benchmark']}")
        for kind, own in (('test', 'vmm-own-test'), ('benchmark', 'vmm-own-benchmark')):
            if lists[kind] != [own]:
                problems.append(f"the parent's {kind} list is {lists[kind]}, not [{own!r}]")

        targets = json.loads(run(meson + ['introspect', '--targets', build]))
        tool = [t['name'] for t in targets if t['type'] == 'executable' and t['name'] != 'vmm']
        if tool:
            problems.append(f'executables of ours built in the parent: {tool}')
        if os.path.exists(os.path.join(build, 'subprojects', 'vfio-iommufd', 'tools')):
            problems.append('build/subprojects/vfio-iommufd/tools/ exists')
        installed = json.loads(run(meson + ['introspect', '--installed', build]))
        bins = [d for d in installed.values()
                if os.path.basename(os.path.dirname(d)) == 'bin' and os.path.basename(d) != 'vmm']
        if bins:
            problems.append(f'the parent would install programs of ours: {bins}')

        run(meson + ['test', '-C', build, '--print-errorlogs'])

    for p in problems:
        print('check-subproject: ' + p)
    if problems:
        return 1
    print('check-subproject: the parent builds, links and tests with nothing of ours '
          'in its test list, benchmarks, build or install beyond the library')
    return 0


if __name__ == '__main__':
    sys.exit(main())
