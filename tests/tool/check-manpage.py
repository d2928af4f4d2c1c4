#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Keep vfio-iommufd's --help texts and its manual page from drifting apart:
every command of the global --help and every option of any --help must be
in the manual page (a command in its COMMANDS section), every option the
page names must be in some --help, the exit codes must be documented in
both, and the page must render without a warning (groff -ww, man -l).

usage: check-manpage.py PATH-TO-vfio-iommufd PATH-TO-vfio-iommufd.1"""
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tap import check, done  # noqa: E402

tool, page = sys.argv[1], sys.argv[2]


def help_text(*args):
    p = subprocess.run([tool, *args, '--help'], capture_output=True, text=True, timeout=60)
    check(p.returncode == 0, f'vfio-iommufd {" ".join(args)} --help exits 0')
    return p.stdout


def roff_to_text(src):
    """The words of a roff page: comments and requests' names dropped,
    escapes resolved ('\\-' is '-', fonts removed)."""
    out = []
    for line in src.splitlines():
        if line.startswith('.\\"'):
            continue
        line = re.sub(r'^\.[A-Za-z]+\s?', '', line)
        line = line.replace('\\-', '-').replace('\\(dq', '"').replace('\\(em', '-')
        line = re.sub(r'\\f[BIRP]', '', line)
        out.append(line)
    return '\n'.join(out)


def section(src, name):
    m = re.search(r'^\.SH "?' + re.escape(name) + r'"?\s*$(.*?)(?=^\.SH |\Z)', src, re.M | re.S)
    return m.group(1) if m else ''


OPTION = re.compile(r'(?<![\w-])(--[a-z][a-z-]*[a-z]|-h)(?![\w-])')

glob = help_text()
m = re.search(r'^Commands:\n((?:  \S.*\n)+)', glob, re.M)
commands = [line.split()[0] for line in m.group(1).splitlines()] if m else []
check(len(commands) >= 6, f'the global --help lists the commands: {commands}')
helps = {'': glob}
for c in commands:
    helps[c] = help_text(c)

with open(page) as f:
    src = f.read()
text = roff_to_text(src)
commands_text = roff_to_text(section(src, 'COMMANDS'))
synopsis_text = roff_to_text(section(src, 'SYNOPSIS'))

for c in commands:
    check(re.search(r'^' + re.escape(c) + r'\b', commands_text, re.M) is not None,
          f'command {c}: described in COMMANDS')
    check(f'vfio-iommufd {c}' in synopsis_text, f'command {c}: in the SYNOPSIS')

help_options = set()
for c, h in helps.items():
    opts = set(OPTION.findall(h))
    help_options |= opts
    for o in sorted(opts):
        check(o in text, f'option {o} (of {c or "the tool"} --help): in the manual page')
    # a command's own options are described with the command
    own = sorted(opts - set(OPTION.findall(glob)))
    for o in own:
        check(o in commands_text, f'option {o} of {c}: described under COMMANDS')

page_options = set(OPTION.findall(text))
for o in sorted(page_options - help_options):
    check(False, f'option {o} of the manual page: in no --help')
check(page_options, 'the manual page names options')

exits = roff_to_text(section(src, 'EXIT STATUS'))
for code in '0123':
    check(re.search(r'^' + code + r'\s*$', exits, re.M) is not None,
          f'exit status {code}: in EXIT STATUS')
check(all(f'{c} ' in glob for c in ('0 done', '1 a', '2 usage', '3 runtime')) or
      ('Exit status' in glob and all(c in glob for c in '0123')),
      'the global --help says the exit codes')
check('"schema": 1' in text, 'the JSON schema version is documented')

groff = shutil.which('groff')
if groff:
    p = subprocess.run([groff, '-man', '-Tutf8', '-ww', '-z', page], capture_output=True,
                       text=True, timeout=60)
    check(p.returncode == 0 and not p.stderr.strip(), f'groff -ww: no warning {p.stderr!r}')
else:
    print('# groff not found: the rendering is not checked')
man = shutil.which('man')
if man:
    env = dict(os.environ, MANWIDTH='80', MANPAGER='cat', PAGER='cat')
    p = subprocess.run([man, '-l', page], capture_output=True, text=True, timeout=60, env=env)
    check(p.returncode == 0 and 'EXIT STATUS' in p.stdout and 'check-host' in p.stdout,
          'man -l renders it')
else:
    print('# man not found: man -l is not tried')

sys.exit(done())
