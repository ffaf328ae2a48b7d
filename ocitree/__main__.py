"""`python -m ocitree` runs the command line, as the `ocitree` script does."""

import sys

from ocitree.tui.cli import main

sys.exit(main())
