"""`python -m reports ...` is what scripts/ipcreport runs."""
import sys

from reports.cli import main

sys.exit(main())
