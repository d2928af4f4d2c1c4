#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""No test installs packages or edits the apt sources: only the README's two
entry points do (scripts/demo.sh and scripts/run-tests.sh, through
scripts/setup-debian.sh). This scans every file of the source tree
(git ls-files when it is a checkout, else a walk that skips build
directories) except scripts/setup-debian.sh and the documentation, and
fails on a package-manager command outside a comment: apt-get/apt/aptitude
install|update|upgrade|remove|purge, dpkg -i/--install/-r/-P, an
add-apt-repository, sudo, a path under /etc/apt, or a run of
scripts/setup-debian.sh from anywhere but the two entry points. Meson files
are only checked for such a program given to a function (a quoted 'apt-get'
etc.): their error() texts may tell the user what to install.

  check-no-installs.py SOURCE_ROOT
"""
import os
import re
import subprocess
import sys

# setup-debian.sh installs; the two entry points call it; this file names
# what it looks for.
ALLOWED = {'scripts/setup-debian.sh', 'tests/meta/check-no-installs.py'}
CALLERS = {'scripts/demo.sh', 'scripts/run-tests.sh'}
DOC_SUFFIXES = ('.md', '.txt', '.ini', '.config', 'LICENSE')

COMMANDS = [
    re.compile(r'\b(?:apt-get|apt|aptitude)\s+(?:-\S+\s+)*(?:install|update|upgrade|'
               r'dist-upgrade|full-upgrade|remove|purge|autoremove)\b'),
    re.compile(r'\bdpkg\s+(?:-i|--install|--unpack|-r|--remove|-P|--purge|--configure)\b'),
    re.compile(r'\badd-apt-repository\b'),
    re.compile(r'(?:^|[\s;&|(`$])sudo\s'),
    re.compile(r'/etc/apt\b'),
]
# Running scripts/setup-debian.sh (not naming it in a message).
SETUP_CALL = [
    re.compile(r'(?:^\s*|[;&|]\s*|(?:\b(?:bash|sh|exec|source)|(?:^|\s)\.)\s+)["\']?\S*setup-debian\.sh'),
    re.compile(r'["\'][^"\'\s]*setup-debian\.sh["\']'),
]
MESON_PROGRAM = [re.compile(r"""['"](?:apt-get|apt|aptitude|dpkg|add-apt-repository|sudo)['"]"""),
                 SETUP_CALL[1]]


def files(root):
    if os.path.exists(os.path.join(root, '.git')):
        r = subprocess.run(['git', '-C', root, 'ls-files', '--cached', '--others',
                            '--exclude-standard'], capture_output=True, text=True)
        if r.returncode == 0:
            return [f for f in r.stdout.splitlines() if os.path.isfile(os.path.join(root, f))]
    out = []
    for d, dirs, fs in os.walk(root):
        dirs[:] = [x for x in dirs if not x.startswith('.') and x != 'subprojects'
                   and not os.path.exists(os.path.join(d, x, 'meson-private'))
                   and not (d == root and x.startswith('build'))]
        out += [os.path.relpath(os.path.join(d, f), root) for f in fs]
    return out


def strip_comment(line, kind):
    if kind == 'c':
        return re.sub(r'/\*.*?(\*/|$)|//.*$', '', line)
    s = line.lstrip()
    if s.startswith('#') and not s.startswith('#!'):
        return ''
    return re.sub(r'\s#\s.*$', '', line)


def main():
    root = sys.argv[1]
    bad = []
    scanned = 0
    for rel in sorted(files(root)):
        if rel in ALLOWED or rel.endswith(DOC_SUFFIXES):
            continue
        try:
            with open(os.path.join(root, rel), encoding='utf-8') as f:
                lines = f.read().split('\n')
        except (UnicodeDecodeError, OSError):
            continue
        scanned += 1
        name = os.path.basename(rel)
        is_meson = name in ('meson.build', 'meson_options.txt', 'meson.options')
        kind = 'c' if rel.endswith(('.c', '.h')) else 'sh'
        in_c_comment = False
        for n, line in enumerate(lines, 1):
            if kind == 'c':
                if in_c_comment:
                    if '*/' not in line:
                        continue
                    line = line.split('*/', 1)[1]
                    in_c_comment = False
                if '/*' in line and '*/' not in line.split('/*', 1)[1]:
                    in_c_comment = True
            code = strip_comment(line, kind)
            patterns = MESON_PROGRAM if is_meson else COMMANDS
            if not is_meson and rel not in CALLERS:
                patterns = patterns + SETUP_CALL
            hit = any(p.search(code) for p in patterns)
            if hit:
                bad.append(f'{rel}:{n}: {line.strip()}')
    for b in bad:
        print(b)
    if bad:
        print(f'check-no-installs: {len(bad)} line(s) install packages or touch the apt '
              'sources outside scripts/setup-debian.sh (tests must skip or fail instead)')
        return 1
    print(f'check-no-installs: {scanned} files, none installs packages '
          '(only scripts/setup-debian.sh does)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
