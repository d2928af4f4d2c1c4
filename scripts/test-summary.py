#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Sum up meson test logs (meson-logs/*.json, one JSON object per test) and
print one line per log plus a closing 'N passed, N failed' line. Exit 1 when
any test did not pass or a log is missing."""
import json
import os
import sys

total_pass = total_fail = total_skip = 0
bad = False
for path in sys.argv[1:]:
    if not os.path.exists(path):
        print(f'{path}: missing (that run did not happen)')
        bad = True
        continue
    p = f = s = 0
    with open(path, encoding='utf-8') as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line).get('result')
            if r in ('OK', 'EXPECTEDFAIL'):
                p += 1
            elif r == 'SKIP':
                s += 1
            else:
                f += 1
    print(f'{path}: {p} passed, {f} failed, {s} skipped')
    total_pass += p
    total_fail += f
    total_skip += s
    bad = bad or f > 0 or p == 0
print(f'{total_pass} passed, {total_fail} failed, {total_skip} skipped')
sys.exit(1 if bad else 0)
