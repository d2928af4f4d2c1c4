#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Every header under include/ (all subdirectories, found when the test
runs) compiles on its own: a .c file holding only `#include <that header>`
is compiled with -Wall -Wextra -Werror as C (gnu11 and c11) and, when a C++
compiler was found, as C++.

  check-headers.py --include DIR --pkg-config PKG_CONFIG --cc WORD [--cc WORD...]
                   [--cxx WORD...]
"""
import argparse
import concurrent.futures
import os
import shlex
import subprocess
import sys
import tempfile

WARN = ['-Wall', '-Wextra', '-Werror']


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--include', required=True)
    ap.add_argument('--pkg-config', required=True)
    ap.add_argument('--cc', action='append', required=True)
    ap.add_argument('--cxx', action='append', default=[])
    args = ap.parse_args()

    glib = subprocess.run([args.pkg_config, '--cflags', 'glib-2.0'], check=True,
                          capture_output=True, text=True).stdout.split()
    headers = []
    for root, dirs, files in os.walk(args.include):
        dirs.sort()
        for f in sorted(files):
            if f.endswith('.h'):
                headers.append(os.path.relpath(os.path.join(root, f), args.include))
    if not headers:
        print(f'no header under {args.include}', file=sys.stderr)
        return 1

    variants = [('c-gnu11', args.cc, ['-x', 'c', '-std=gnu11', '-Wstrict-prototypes',
                                      '-Wmissing-prototypes', '-Wshadow']),
                ('c-c11', args.cc, ['-x', 'c', '-std=c11'])]
    if args.cxx:
        variants.append(('c++', args.cxx, ['-x', 'c++']))

    with tempfile.TemporaryDirectory() as tmp:
        jobs = []
        for i, h in enumerate(headers):
            src = os.path.join(tmp, f'h{i}.c')
            with open(src, 'w', encoding='utf-8') as f:
                f.write(f'#include <{h}>\n')
            for name, compiler, flags in variants:
                cmd = compiler + flags + WARN + ['-I' + args.include] + glib + \
                    ['-fsyntax-only', src]
                jobs.append((h, name, cmd))

        def run(job):
            h, name, cmd = job
            r = subprocess.run(cmd, capture_output=True, text=True)
            return h, name, cmd, r

        bad = 0
        with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as ex:
            for h, name, cmd, r in ex.map(run, jobs):
                if r.returncode == 0:
                    print(f'ok: <{h}> alone ({name})')
                else:
                    bad += 1
                    print(f'FAIL: <{h}> alone ({name}): {shlex.join(cmd)}')
                    print(r.stdout + r.stderr)
    print(f'{len(headers)} headers, {len(variants)} ways, {bad} failure(s)')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
