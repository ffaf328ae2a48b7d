"""Undoing a deletion until garbage collection: what each executed run saved, and putting it back.

    saved.py     the run records in the state directory (what a run deleted, exact bytes), retention
    adapter.py   the per-source part: what to save before a delete, how to check and restore
    recorder.py  the executor's one hook: save each step before it deletes
    restore.py   the undo plan (restore, conflicts, missing blobs) and its execution
    restored.py  the restored artifacts rebuilt from the saved data, for a view to take in place
"""
