"""Modal screens: confirmation, refusal, progress, errors, help."""
