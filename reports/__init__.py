"""ipcbench reports: charts, summary.md and index.html from result folders, and the
regression gate (`compare`). Run through scripts/ipcreport, which finds a suitable Python.

Computing (load, series, stats, compare) is kept apart from drawing (charts) so that the
numbers are tested on fixture files without matplotlib in the loop.
"""

# ipcbench's version (CMakeLists.txt project(VERSION); test_compute checks they agree).
__version__ = "0.1.0"
