#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The house rule "no function over 60 lines", for the library, the model,
the tools and the tests alike.

A function is counted from the line of its opening brace (at column 0, right
after a line ending in ')', the signature) to the line of its closing brace
(at column 0), both included. Reads every .c and .h file below the given
folders of the source tree; prints each function over the limit and exits 1
when there is one.

usage: check-function-length.py SRCROOT [--max N] [--skip DIR]... DIR...
"""
import argparse
import os
import sys


def long_functions(path, limit):
    """(lines, first line, signature) of each function of @path over @limit."""
    with open(path, encoding='utf-8', errors='replace') as f:
        lines = f.read().split('\n')
    found = []
    start = None
    for i, line in enumerate(lines):
        if start is None and line.startswith('{'):
            j = i - 1
            while j >= 0 and not lines[j].strip():
                j -= 1
            if j < 0 or not lines[j].rstrip().endswith(')'):
                continue                    # an initializer or a type
            k = j
            while k > 0 and '(' not in lines[k]:
                k -= 1
            start, sig = i, lines[k].strip()
        elif start is not None and line.startswith('}'):
            n = i - start + 1
            if n > limit:
                found.append((n, start + 1, sig))
            start = None
    return found


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('srcroot')
    ap.add_argument('dirs', nargs='+')
    ap.add_argument('--max', type=int, default=60)
    ap.add_argument('--skip', action='append', default=[])
    a = ap.parse_args()
    skip = {os.path.normpath(os.path.join(a.srcroot, s)) for s in a.skip}
    bad = 0
    files = 0
    for d in a.dirs:
        for root, subdirs, names in os.walk(os.path.join(a.srcroot, d)):
            subdirs[:] = sorted(s for s in subdirs
                                if os.path.normpath(os.path.join(root, s)) not in skip)
            for name in sorted(names):
                if not name.endswith(('.c', '.h')):
                    continue
                path = os.path.join(root, name)
                files += 1
                for n, line, sig in long_functions(path, a.max):
                    rel = os.path.relpath(path, a.srcroot)
                    print(f'{rel}:{line}: {n} lines (at most {a.max}): {sig}')
                    bad += 1
    if files == 0:
        print('no C file found: wrong folders?')
        return 1
    print(f'{files} files read, {bad} function(s) over {a.max} lines')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
