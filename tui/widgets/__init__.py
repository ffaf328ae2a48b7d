"""Widgets of the ocitree app: the registry tree, the details pane, the header line."""
