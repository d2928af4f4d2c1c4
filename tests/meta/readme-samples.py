#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Extract the C samples of README.md so that the build compiles them.

Every ```c block of the README must follow a marker line:

  <!-- readme-sample: program -->    a whole program (exactly one): written
                                     as it is to PROGRAM_C; the meson test
                                     readme-vmm links and runs it
  <!-- readme-sample: fragment -->   statements: its #include lines go to
                                     the top of FRAGMENTS_C, the rest into a
                                     function of its own (compiled only)

#line directives point compiler messages at README.md.

Usage: readme-samples.py README.md PROGRAM_C FRAGMENTS_C
"""
import os
import re
import sys

MARKER = re.compile(r'^<!--\s*readme-sample:\s*(\S+)\s*-->\s*$')


def blocks(path):
    """(kind, first line number of the code, code lines) of each ```c block."""
    out = []
    with open(path, encoding='utf-8') as f:
        lines = f.read().split('\n')
    pending = None
    i = 0
    while i < len(lines):
        line = lines[i]
        m = MARKER.match(line)
        if m:
            if m.group(1) not in ('program', 'fragment'):
                sys.exit(f'{path}:{i + 1}: unknown readme-sample kind "{m.group(1)}"')
            pending = (m.group(1), i + 1)
            i += 1
            continue
        fence = line.strip()
        if fence.startswith('```'):
            lang = fence[3:].strip()
            start = i + 1
            j = start
            while j < len(lines) and lines[j].strip() != '```':
                j += 1
            if j == len(lines):
                sys.exit(f'{path}:{i + 1}: unterminated ``` block')
            if lang == 'c':
                if not pending or pending[1] != i:
                    sys.exit(f'{path}:{i + 1}: a ```c block without a '
                             '"<!-- readme-sample: program|fragment -->" line right above it')
                out.append((pending[0], start + 1, lines[start:j]))
            elif pending and pending[1] == i:
                sys.exit(f'{path}:{pending[1]}: readme-sample marker above a ```{lang} block')
            pending = None
            i = j + 1
            continue
        if pending and line.strip():
            sys.exit(f'{path}:{pending[1]}: readme-sample marker not right above a ```c block')
        i += 1
    return out


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    readme, program_c, fragments_c = sys.argv[1:]
    src = os.path.abspath(readme)
    found = blocks(readme)
    programs = [b for b in found if b[0] == 'program']
    if len(programs) != 1:
        sys.exit(f'{readme}: {len(programs)} ```c blocks marked "program", expected exactly one')
    _, first, code = programs[0]
    with open(program_c, 'w', encoding='utf-8') as f:
        f.write(f'#line {first} "{src}"\n')
        f.write('\n'.join(code) + '\n')

    includes, bodies = [], []
    n = 0
    for kind, first, code in found:
        if kind != 'fragment':
            continue
        n += 1
        body = [f'void readme_fragment_{n}(void);',
                f'void readme_fragment_{n}(void)', '{']
        need_line = True
        for k, line in enumerate(code):
            if line.startswith('#include'):
                includes.append(f'#line {first + k} "{src}"')
                includes.append(line)
                need_line = True
                continue
            if need_line:
                body.append(f'#line {first + k} "{src}"')
                need_line = False
            body.append(line)
        body.append('}')
        bodies.append('\n'.join(body))
    with open(fragments_c, 'w', encoding='utf-8') as f:
        f.write('/* Generated from README.md by tests/meta/readme-samples.py. */\n')
        f.write('\n'.join(includes) + '\n\n')
        f.write('\n\n'.join(bodies) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
