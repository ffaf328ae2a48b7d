"""Error types with the exit code each maps to on the command line."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # plan.py imports this module (through names.py): a runtime import would be a cycle
    from .plan import DeletionPlan


class OcitreeError(Exception):
    """Base error: its message is one line that says what is wrong and what to do."""

    exit_code = 1


class BadInputError(OcitreeError):
    """Usage, unknown source or reference, malformed data (exit 2)."""

    exit_code = 2


class UnknownReferenceError(BadInputError):
    """A REF names a repository, tag or digest the source does not hold."""


class MalformedDataError(BadInputError):
    """A file or manifest that cannot be read as what it claims to be."""


class StoreError(OcitreeError):
    """An operational failure talking to a store: I/O, network, permissions (exit 1)."""


class StalePlanError(OcitreeError):
    """The store changed since the plan was made; nothing was deleted (exit 3)."""

    exit_code = 3

    def __init__(self, message: str, new_plan: DeletionPlan | None = None):
        super().__init__(message)
        self.new_plan = new_plan
