"""User configuration: `$XDG_CONFIG_HOME/ocitree/config.toml`, or the file OCITREE_CONFIG names.

    protect = ["v*", "prod/*:release-*"]   # protection rules added to every plan
    audit_log = "/var/log/ocitree/audit.jsonl"
    concurrency = 8                          # parallel fetches from a live registry
    timeout = 30                             # seconds a registry request may take in all
    undo_keep_days = 14                      # days a run's saved data is kept for `ocitree undo`
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .errors import BadInputError
from .paths import config_dir, state_dir
from .protection import parse_rules


MAX_TIMEOUT = 3600  # seconds; longer is a typo, not a registry


@dataclass
class Config:
    protect: list[str] = field(default_factory=list)
    audit_log: Path = field(default_factory=lambda: state_dir() / "audit.jsonl")
    concurrency: int = 8
    timeout: float = 30.0
    undo_keep_days: int = 14
    path: Path | None = None


def config_path() -> Path:
    explicit = os.environ.get("OCITREE_CONFIG")
    return Path(explicit) if explicit else config_dir() / "config.toml"


def load_config() -> Config:
    path = config_path()
    config = Config()
    if not path.exists():
        if os.environ.get("OCITREE_CONFIG"):
            raise BadInputError(f"config file {path} (from OCITREE_CONFIG) does not exist")
        return config
    import tomllib  # here: 5 ms of every start, and most users have no config file

    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise BadInputError(f"config file {path}: {exc}") from None
    config.path = path
    protect = doc.get("protect", [])
    if not isinstance(protect, list) or not all(isinstance(p, str) for p in protect):
        raise BadInputError(f"config file {path}: 'protect' must be a list of strings")
    try:
        parse_rules(protect)
    except BadInputError as exc:
        raise BadInputError(f"config file {path}: {exc}") from None
    config.protect = protect
    if "audit_log" in doc:
        if not isinstance(doc["audit_log"], str):
            raise BadInputError(f"config file {path}: 'audit_log' must be a path string")
        config.audit_log = Path(doc["audit_log"]).expanduser()
    if "concurrency" in doc:
        value = doc["concurrency"]
        if type(value) is not int or not 1 <= value <= 64:  # TOML true is a bool, not 1
            raise BadInputError(f"config file {path}: 'concurrency' must be a whole number from 1 to 64")
        config.concurrency = value
    if "timeout" in doc:
        value = doc["timeout"]
        if type(value) not in (int, float) or not 0 < value <= MAX_TIMEOUT:
            raise BadInputError(f"config file {path}: 'timeout' must be a number of seconds, more than 0 and at most {MAX_TIMEOUT}")
        config.timeout = float(value)
    if "undo_keep_days" in doc:
        value = doc["undo_keep_days"]
        if type(value) is not int or not 0 <= value <= 3650:
            raise BadInputError(f"config file {path}: 'undo_keep_days' must be a whole number of days from 0 to 3650")
        config.undo_keep_days = value
    return config
