# taprun.py: the TAP runner of the standalone Python test programs
# (tests/certcli, tests/trust): a set-up step counted as test 1, then each
# test function, a failure's traceback as TAP diagnostics.
# SPDX-License-Identifier: Apache-2.0
import sys
import time
import traceback


def _diag_traceback():
    for line in traceback.format_exc().splitlines():
        print("# " + line)


def run(setup_name, setup, tests, cleanup=None, timed=False):
    """Runs setup, then every function of tests; prints the plan and one
    `ok`/`not ok` line each; runs cleanup last.  Returns the exit status
    (0: all passed)."""
    print("1..%d" % (len(tests) + 1))
    failed = 0
    try:
        setup()
        print("ok 1 " + setup_name)
    except Exception:
        print("not ok 1 " + setup_name)
        _diag_traceback()
        failed += 1
    for i, t in enumerate(tests, start=2):
        started = time.monotonic()
        try:
            t()
            print("ok %d %s" % (i, t.__name__))
            if timed:
                print("# %s took %.1f s" % (t.__name__, time.monotonic() - started))
        except Exception:
            failed += 1
            print("not ok %d %s" % (i, t.__name__))
            _diag_traceback()
        sys.stdout.flush()
    if cleanup is not None:
        cleanup()
    return 1 if failed else 0
