"""`python -m ocitree` runs the command line, as the `ocitree` script does."""

from ocitree.tui.cli import run

run()
