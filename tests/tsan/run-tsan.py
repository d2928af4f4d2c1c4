#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Run a ThreadSanitizer test program, or skip (exit 77) without TSan.

  run-tsan.py PROGRAM [ARGS...]      run it; its exit status is the result
                                     (66: TSan reported, TSAN_OPTIONS
                                     exitcode=66), except that a TSan run
                                     time that cannot start on this host
                                     (its memory layout) is a skip
  run-tsan.py --unavailable WHY      print why and skip
"""
import subprocess
import sys

SKIP = 77


def main(argv):
    if len(argv) >= 2 and argv[1] == '--unavailable':
        print('skip: ThreadSanitizer unavailable: ' + ' '.join(argv[2:]))
        return SKIP
    proc = subprocess.run(argv[1:], stderr=subprocess.PIPE, text=True, check=False)
    sys.stderr.write(proc.stderr)
    if proc.returncode != 0 and 'FATAL: ThreadSanitizer' in proc.stderr \
            and 'WARNING: ThreadSanitizer' not in proc.stderr:
        print('skip: the ThreadSanitizer run time cannot start here (see above; '
              'often vm.mmap_rnd_bits too high for this compiler)')
        return SKIP
    return proc.returncode


if __name__ == '__main__':
    sys.exit(main(sys.argv))
