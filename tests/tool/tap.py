# SPDX-License-Identifier: LGPL-2.1-or-later
"""The one result counter of the tool's test scripts: check() prints an
ok / FAIL line per assertion, done() prints the closing count and gives the
exit code (1 when anything failed)."""

failures = 0
passed = 0


def check(cond, what):
    """Print one result line for @what, count it."""
    global failures, passed
    print(('ok' if cond else 'FAIL') + ' - ' + what)
    if cond:
        passed += 1
    else:
        failures += 1
    return cond


def done():
    """The closing line; returns the process exit code."""
    print(f'{passed} passed, {failures} failed')
    return 1 if failures else 0
