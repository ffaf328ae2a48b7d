"""ocitree: a registry as a tree of indexes and manifests, deleted with Harbor's reference rules.

The repository keeps the folders `core/`, `tui/` and `sample_data/` at its top level; pyproject.toml
installs them as `ocitree.core`, `ocitree.tui` and `ocitree.sample_data`, so that site-packages gains
one top-level package and nothing another distribution could overwrite.
"""


def __getattr__(name: str) -> str:
    """`ocitree.__version__`, read from the installed metadata when asked: importing
    importlib.metadata cost every command 20-30 ms of its start (issue 10)."""
    if name != "__version__":
        raise AttributeError(f"module 'ocitree' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ocitree")
    except PackageNotFoundError:  # running from a checkout that was never installed
        return "0+unknown"
