"""`python -m receipt.cli` runs the `photo-receipt` command line."""

import sys

from receipt.cli import main

sys.exit(main())
