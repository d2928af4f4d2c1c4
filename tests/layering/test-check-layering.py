#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Self-test of check-layering.py on tiny archives (tests/layering/fixtures/):
it must flag a low layer calling a high one and two files calling each other,
accept a clean pair of layers, and fail loudly (exit 2) on an archive it
cannot read, so that it cannot pass by checking nothing.

usage: test-check-layering.py --checker PY --nm NM --root DIR
           --up-low A --up-high A --cycle A --clean-low A --clean-high A
"""
import argparse
import subprocess
import sys


def run(o, archives):
    """Run the checker on @archives; returns (exit status, output)."""
    cmd = [sys.executable, o.checker, '--nm', o.nm, '--root', o.root] + archives
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    return res.returncode, res.stdout + res.stderr


def expect(o, what, archives, status, texts):
    """One case: the exit status and the texts the output must hold."""
    got, out = run(o, archives)
    problems = [f'exit status {got}, want {status}'] if got != status else []
    problems += [f'no "{t}" in the output' for t in texts if t not in out]
    if problems:
        print(f'FAIL {what}: ' + '; '.join(problems))
        print('  ' + out.replace('\n', '\n  '))
        return False
    print(f'ok   {what}')
    return True


def main():
    """Run every case; exit 1 if one fails."""
    ap = argparse.ArgumentParser()
    for opt in ('checker', 'nm', 'root', 'up-low', 'up-high', 'cycle', 'clean-low',
                'clean-high'):
        ap.add_argument('--' + opt, required=True)
    o = ap.parse_args()
    cases = [
        ('a low layer calling a high one', [o.up_low, o.up_high], 1,
         ['up-low.c.o references vfi_fixture_high defined in the higher layer',
          'up-high.c.o (layer 1', '1 reference(s) to a higher layer']),
        ('two files of one layer calling each other', [o.cycle], 1,
         ['file circle in layer 0',
          'cycle-ping.c.o -> ', 'cycle-pong.c.o (vfi_fixture_pong) -> ',
          'cycle-ping.c.o (vfi_fixture_ping)',
          '1 file circle(s)']),
        ('a clean pair of layers (one-way use inside a layer, glib outside)',
         [o.clean_low, o.clean_high], 0, ['check-layering: OK']),
        ('the clean pair given in the wrong order', [o.clean_high, o.clean_low], 1,
         ['clean-helper.c.o references vfi_fixture_base_name defined in the higher layer',
          'clean-top.c.o references vfi_fixture_base_name']),
        ('an archive that does not exist', [o.clean_low, o.root + '/no-such-lib.a'], 2,
         ['no such archive']),
    ]
    ok = all([expect(o, *case) for case in cases])
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
