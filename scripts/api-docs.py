#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Build the API reference with doxygen and fail on any doxygen warning:
an undocumented public symbol, a @param naming no parameter, bad markup
(docs/api-reference.md).

  api-docs.py --doxygen DOXYGEN --doxyfile FILE --warnings LOG [--allow FILE]

--allow names a file of symbols (one a line, '#' comments) whose "is not
documented" warning is tolerated for now; an entry whose symbol is
documented (or gone) is an error too, so the list only shrinks.
"""
import argparse
import os
import re
import subprocess
import sys

UNDOC = re.compile(r'(?:Member|Compound) (\w+)\b.* is not documented\.')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--doxygen', required=True)
    ap.add_argument('--doxyfile', required=True)
    ap.add_argument('--warnings', required=True)
    ap.add_argument('--allow')
    args = ap.parse_args()

    allowed = set()
    if args.allow:
        with open(args.allow, encoding='utf-8') as f:
            for line in f:
                line = line.split('#', 1)[0].strip()
                if line:
                    allowed.add(line)

    if os.path.exists(args.warnings):
        os.unlink(args.warnings)
    doxyfile = os.path.abspath(args.doxyfile)
    r = subprocess.run([args.doxygen, doxyfile], cwd=os.path.dirname(doxyfile))
    if r.returncode != 0:
        print(f'api-docs: doxygen failed (exit {r.returncode})', file=sys.stderr)
        return 1

    bad = []
    tolerated = set()
    with open(args.warnings, encoding='utf-8', errors='replace') as f:
        for line in f:
            line = line.rstrip('\n')
            if not line.strip():
                continue
            m = UNDOC.search(line)
            if m and m.group(1) in allowed:
                tolerated.add(m.group(1))
                continue
            bad.append(line)
    for sym in sorted(allowed - tolerated):
        bad.append(f'{args.allow}: {sym} is documented now (or gone): remove it from the list')
    for line in bad:
        print(line, file=sys.stderr)
    if bad:
        print(f'api-docs: {len(bad)} problem(s) in the API documentation '
              '(docs/api-reference.md says what doxygen expects)', file=sys.stderr)
        return 1
    for sym in sorted(tolerated):
        print(f'api-docs: note: {sym} is still undocumented ({args.allow})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
