#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The ABI machinery of the project's libraries (docs/abi.md), for any of
them: given its public headers (files or folders of *.h), its linker version
script and its folder archives.

  api       HEADERS...                 print the public API (VFI_API names)
  map       --node N HEADERS...        print a fresh version script
  umbrella  --output F HEADERS...      write a header including every one
  archive   --map M --output LIB.a --ld LD --objcopy OC --ar AR --nm NM A.a...
            one relocatable object of the archives, every global symbol
            that is not in the map localised, archived as LIB.a
  check-map      --map M HEADERS...    the map's globals == the public API
  check-shared   --map M --lib SO --readelf R HEADERS...
                 the .so exports the public API, nothing else, each symbol
                 in a version node of the map
  check-plt      --lib SO --readelf R  no PLT/GOT relocation to a function
                 the .so defines (it calls itself directly)
  check-archive  --archive A --nm NM HEADERS...
                 the archive's global definitions == the public API

A name beginning with '__' or '_.' belongs to the toolchain (compiler,
sanitizers, <sys/sdt.h>): it is never localised and never checked.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

API_MACRO = 'VFI_API'


def is_reserved(name):
    return name.startswith('__') or name.startswith('_.')


def header_files(paths):
    """The .h files named, and those directly in the folders named."""
    out = []
    for p in paths:
        if os.path.isdir(p):
            out += sorted(os.path.join(p, f) for f in os.listdir(p) if f.endswith('.h'))
        else:
            out.append(p)
    return out


def strip_c(text):
    """Text without comments and preprocessor lines."""
    text = re.sub(r'/\*.*?\*/', ' ', text, flags=re.S)
    text = re.sub(r'//[^\n]*', ' ', text)
    text = re.sub(r'\\\n', ' ', text)
    return re.sub(r'^\s*#[^\n]*', ' ', text, flags=re.M)


def declared_name(decl):
    """The name a declaration (the text after the macro, up to ';') declares."""
    head = decl.split('(', 1)[0] if '(' in decl else re.sub(r'\[.*', '', decl)
    names = re.findall(r'[A-Za-z_]\w*', head)
    if not names:
        raise ValueError(f'{API_MACRO} declaration without a name: {decl.strip()!r}')
    return names[-1]


def public_api(paths):
    """The set of names declared with the API macro in the headers."""
    api = set()
    for path in header_files(paths):
        with open(path, encoding='utf-8') as fh:
            text = strip_c(fh.read())
        for m in re.finditer(r'\b%s\b([^;{]*)' % API_MACRO, text):
            api.add(declared_name(m.group(1)))
    return api


def read_map(path):
    """(node names, global names) of a GNU ld version script."""
    with open(path, encoding='utf-8') as fh:
        text = re.sub(r'/\*.*?\*/', ' ', fh.read(), flags=re.S)
    text = re.sub(r'#[^\n]*', ' ', text)
    nodes, names = [], set()
    for m in re.finditer(r'([A-Za-z_][\w.]*)\s*\{(.*?)\}\s*[\w.]*\s*;', text, flags=re.S):
        nodes.append(m.group(1))
        scope = None
        for tok in re.findall(r'[^\s;]+:|[^\s;]+', m.group(2)):
            if tok.endswith(':'):
                scope = tok[:-1]
            elif scope == 'global':
                names.add(tok)
    return nodes, names


def run(cmd):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE,
                          universal_newlines=True).stdout


def compare(what, got, want):
    """Print the differences; returns True when the sets are equal."""
    extra, missing = sorted(got - want), sorted(want - got)
    for n in extra:
        print(f'{what}: {n} is not public API')
    for n in missing:
        print(f'{what}: public API {n} is missing')
    if not extra and not missing:
        print(f'{what}: the {len(got)} symbols are exactly the public API')
    return not extra and not missing


def dyn_symbols(readelf, lib):
    """{name: (type, version)} of the symbols the .so defines."""
    out = {}
    for line in run([readelf, '--dyn-syms', '-W', lib]).splitlines():
        f = line.split()
        if len(f) < 8 or not f[0][:-1].isdigit() or f[6] == 'UND':
            continue
        name, _, version = f[7].partition('@')
        out[name] = (f[3], version.lstrip('@'))
    return out


def cmd_check_shared(a):
    nodes, _ = read_map(a.map)
    syms = dyn_symbols(a.readelf, a.lib)
    # The version nodes themselves are absolute symbols of the .so.
    exported = {n for n in syms if n not in nodes}
    ok = compare(os.path.basename(a.lib), exported, public_api(a.headers))
    for n in sorted(exported):
        if syms[n][1] not in nodes:
            print(f'{n}: version "{syms[n][1]}" is not a node of {a.map}')
            ok = False
    return ok


def cmd_check_plt(a):
    funcs = {n for n, (kind, _) in dyn_symbols(a.readelf, a.lib).items()
             if kind in ('FUNC', 'IFUNC')}
    bad = set()
    for line in run([a.readelf, '-r', '-W', a.lib]).splitlines():
        f = line.split()
        if len(f) >= 5 and f[2].startswith('R_') and 'RELATIVE' not in f[2]:
            name = f[4].split('@')[0]
            if name in funcs:
                print(f'{os.path.basename(a.lib)}: {f[2]} relocation to its own {name}')
                bad.add(name)
    if not bad:
        print(f'{os.path.basename(a.lib)}: no PLT/GOT relocation to the '
              f'{len(funcs)} functions it defines')
    return not bad


def archive_globals(nm, path):
    """The global symbols an archive or object defines (toolchain ones aside)."""
    out = set()
    for line in run([nm, '--defined-only', '-g', '-P', path]).splitlines():
        f = line.split()
        if len(f) >= 2 and not f[0].endswith(':') and not is_reserved(f[0]):
            out.add(f[0])
    return out


def cmd_check_archive(a):
    return compare(os.path.basename(a.archive), archive_globals(a.nm, a.archive),
                   public_api(a.headers))


def cmd_archive(a):
    _, keep = read_map(a.map)
    with tempfile.TemporaryDirectory() as tmp:
        combined = os.path.join(tmp, 'combined.o')
        run([a.ld, '-r', '-o', combined, '--whole-archive'] + a.archives +
            ['--no-whole-archive'])
        local = sorted(archive_globals(a.nm, combined) - keep)
        listing = os.path.join(tmp, 'localize.txt')
        with open(listing, 'w', encoding='utf-8') as fh:
            fh.write(''.join(n + '\n' for n in local))
        member = os.path.join(tmp, os.path.basename(a.output)[:-2] + '.o')
        # (objcopy fails on an empty list)
        run([a.objcopy] + (['--localize-symbols=' + listing] if local else []) +
            [combined, member])
        if os.path.exists(a.output):
            os.unlink(a.output)
        run([a.ar, 'rcsD', a.output, member])
    return True


def cmd_umbrella(a):
    lines = ['/* Generated by scripts/abi.py: every public header. */\n']
    seen = set()
    for path in header_files(a.headers):
        inc = os.path.basename(os.path.dirname(os.path.abspath(path))) + '/' + \
            os.path.basename(path)
        if inc not in seen:
            seen.add(inc)
            lines.append(f'#include <{inc}>\n')
    text = ''.join(lines)
    # Written only when it changes, so that ninja (restat) rebuilds nothing.
    old = None
    if os.path.exists(a.output):
        with open(a.output, encoding='utf-8') as fh:
            old = fh.read()
    if old != text:
        with open(a.output, 'w', encoding='utf-8') as fh:
            fh.write(text)
    return True


def cmd_map(a):
    print('/* SPDX-License-Identifier: LGPL-2.1-or-later */')
    print(f'{a.node} {{\n  global:')
    for n in sorted(public_api(a.headers)):
        print(f'    {n};')
    print('  local:\n    *;\n};')
    return True


def parser():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = p.add_subparsers(dest='cmd', required=True)
    opts = {
        'api': [], 'map': ['node'], 'umbrella': ['output'], 'check-map': ['map'],
        'check-shared': ['map', 'lib', 'readelf'], 'check-plt': ['lib', 'readelf'],
        'check-archive': ['archive', 'nm'],
        'archive': ['map', 'output', 'ld', 'objcopy', 'ar', 'nm'],
    }
    for cmd, names in opts.items():
        s = sub.add_parser(cmd)
        for n in names:
            s.add_argument('--' + n, required=True)
        if cmd == 'archive':
            s.add_argument('archives', nargs='+')
        elif cmd != 'check-plt':
            s.add_argument('headers', nargs='+')
    return p


def main():
    a = parser().parse_args()
    if a.cmd == 'api':
        print('\n'.join(sorted(public_api(a.headers))))
        return 0
    if a.cmd == 'check-map':
        ok = compare(os.path.basename(a.map), read_map(a.map)[1], public_api(a.headers))
        return 0 if ok else 1
    fn = globals()['cmd_' + a.cmd.replace('-', '_')]
    return 0 if fn(a) else 1


if __name__ == '__main__':
    sys.exit(main())
