#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The production library holds nothing of the kernel model.

usage: check-symbols.py --nm NM --sim-archive libvi-sim.a
                        [--prod-shared libvfio-iommufd.so] [--prod-static libvfio-iommufd.a]
                        [--sim-shared libvfio-iommufd-sim.so] [--sim-static libvfio-iommufd-sim.a]

Checks, from the symbol tables (nm):
  - the production .so and .a define no symbol of the model: none of the
    global symbols the model's folder archive (sim/) defines, nothing named
    vfi_sim_* or sim_*, no switch of a vfi_sim_* trace event, no trace group
    "sim"; the .so exports the seams a companion library uses
    (vfi_kernel_install, vfi_trace_register_group, vfi_trace_log);
  - the model's .so exports only vfi_sim_* and takes the production code
    from libvfio-iommufd.so (it references vfi_kernel_install and defines
    no production symbol); its .a defines no production symbol either.
"""
import argparse
import re
import subprocess
import sys

MODEL_NAME = re.compile(r'^(vfi_sim_|sim_|_vfi_trace_vfi_sim_)|^vfi_trace_(group|events|register)_sim$')
SEAMS = ('vfi_kernel_install', 'vfi_trace_register_group', 'vfi_trace_log')
GLOBAL_TYPES = set('TDBRCGSVWiu')


def nm(tool, path, *flags):
    """(name, type) of every symbol nm lists for @path (an empty list when
    the file has no symbol table, e.g. a stripped .so without -D)."""
    r = subprocess.run([tool, *flags, path], capture_output=True, text=True)
    if r.returncode != 0:
        if 'no symbols' in r.stderr:
            return []
        sys.exit(f'check-symbols: {tool} {" ".join(flags)} {path} failed: {r.stderr.strip()}')
    out = []
    for line in r.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and len(parts[-2]) == 1:
            if parts[-2] == 'A':
                continue        # a version node (VFI_0.2), not a symbol
            # drop the symbol version (name@@VFI_0.2) the version script gives
            out.append((parts[-1].split('@')[0], parts[-2]))
    return out


def defined(tool, path, dynamic=False, global_only=False):
    """Names defined in @path; with @global_only, global ones only and not
    those the linker provides (_init, _end, __bss_start, ...)."""
    flags = ['--defined-only'] + (['-D'] if dynamic else [])
    return {n for n, t in nm(tool, path, *flags)
            if not global_only
            or (t in GLOBAL_TYPES and (not n.startswith('_') or n.startswith('_vfi_')))}


class Checker:
    def __init__(self):
        self.failures = 0

    def expect(self, ok, msg):
        print(('ok     ' if ok else 'FAILED ') + msg)
        if not ok:
            self.failures += 1


def check_production(c, tool, path, model_globals, shared):
    syms = defined(tool, path)
    if shared:
        syms |= defined(tool, path, dynamic=True)
    leaked = sorted(n for n in syms if n in model_globals or MODEL_NAME.search(n))
    c.expect(not leaked, f'{path}: no symbol of the kernel model'
             + (f' (found {len(leaked)}: {", ".join(leaked[:10])})' if leaked else ''))
    if shared:
        exported = defined(tool, path, dynamic=True)
        missing = [s for s in SEAMS if s not in exported]
        c.expect(not missing, f'{path}: exports the companion seams {", ".join(SEAMS)}'
                 + (f' (missing {", ".join(missing)})' if missing else ''))
    return defined(tool, path, global_only=True)


def check_model(c, tool, path, prod_globals, shared):
    # Every defined name, local ones too: in a linked .so the model's hidden
    # functions, and any production code copied in, are local.
    dup = sorted(defined(tool, path) & prod_globals)
    c.expect(not dup, f'{path}: defines no symbol of the production library'
             + (f' (found {len(dup)}: {", ".join(dup[:10])})' if dup else ''))
    if not shared:
        return
    exported = defined(tool, path, dynamic=True)
    other = sorted(n for n in exported if not n.startswith('vfi_sim_'))
    c.expect('vfi_sim_new' in exported and not other,
             f'{path}: exports vfi_sim_* only' + (f' (also {", ".join(other[:10])})' if other else ''))
    undef = {n for n, t in nm(tool, path, '-D', '--undefined-only')}
    c.expect('vfi_kernel_install' in undef,
             f'{path}: takes vfi_kernel_install from libvfio-iommufd.so')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--nm', default='nm')
    ap.add_argument('--sim-archive', required=True)
    for k in ('prod-shared', 'prod-static', 'sim-shared', 'sim-static'):
        ap.add_argument('--' + k)
    o = ap.parse_args()

    c = Checker()
    model_globals = defined(o.nm, o.sim_archive, global_only=True)
    c.expect(any(n.startswith('vfi_sim_') for n in model_globals),
             f'{o.sim_archive}: the model archive defines vfi_sim_* (sanity)')
    prod_globals = set()
    for path, shared in ((o.prod_shared, True), (o.prod_static, False)):
        if path:
            prod_globals |= check_production(c, o.nm, path, model_globals, shared)
    c.expect('vfi_kernel_install' in prod_globals,
             'the production library defines vfi_kernel_install (sanity)')
    for path, shared in ((o.sim_shared, True), (o.sim_static, False)):
        if path:
            check_model(c, o.nm, path, prod_globals, shared)
    return 1 if c.failures else 0


if __name__ == '__main__':
    sys.exit(main())
