"""The ocitree engine: model, reference graph, planner, executor and stores.

This package must never import Textual (a test enforces it): every interface,
the TUI, the command line and scripts, reads the same plans from here.
"""
