"""What the end-to-end report tests (e2e_gate.py, e2e_history.py) share: the IPC objects ipcbench
runs may leave behind, and the script's entry point that takes the ipcbench binary to test."""
import glob
import os
import sys
import unittest


def leftovers():
    return sorted(glob.glob('/dev/shm/ipcb*') + glob.glob('/dev/mqueue/ipcb*'))


def main(module):
    """Runs the tests of `module` (the script) against PATH/TO/ipcbench, the first argument (or
    $IPCBENCH_BIN): it becomes the module's IPCBENCH."""
    if len(sys.argv) > 1 and not sys.argv[1].startswith('-'):
        module.IPCBENCH = os.path.abspath(sys.argv.pop(1))
    if not os.access(module.IPCBENCH, os.X_OK):
        sys.exit(f'usage: {sys.argv[0]} PATH/TO/ipcbench (or set IPCBENCH_BIN)')
    unittest.main(module=module, verbosity=2)
