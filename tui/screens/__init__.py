"""The main screen (main.py) and the modal screens: confirmation, refusal, progress, errors, help."""
