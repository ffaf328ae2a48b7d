"""ocitree's faces: the Textual app and the command line. No deletion rule lives here."""
