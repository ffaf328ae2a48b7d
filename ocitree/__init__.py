"""ocitree: a registry as a tree of indexes and manifests, deleted with Harbor's reference rules.

The repository keeps the folders `core/`, `tui/` and `sample_data/` at its top level; pyproject.toml
installs them as `ocitree.core`, `ocitree.tui` and `ocitree.sample_data`, so that site-packages gains
one top-level package and nothing another distribution could overwrite.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ocitree")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0+unknown"
