"""`ocitree prune`: a rule chooses the targets; the same plan, confirmation, JSON and audit as delete.

Imports of the engine and of Rich are made where they are used: building the command line's
parsers must stay cheap for `ocitree ls`."""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING

from ocitree.core.errors import BadInputError

if TYPE_CHECKING:
    from rich.console import RenderableType

    from ocitree.core.plan import DeletionPlan
    from ocitree.core.prune import PruneRule, Selection
    from ocitree.core.retention_policy import RetentionPolicy

RETAINED_WORDING = {
    "keep_last": "one of the newest (--keep-last)",
    "newer": "newer than --older-than",
    "not_selected": "also carries a tag the rule does not select",
    "referenced": "an index outside the plan lists it",
    "protected": "a protected tag",
    "no_date": "no created date: a rule on age never selects it",
}


def add_prune_parser(parser_class, source_options, protect_option) -> argparse.ArgumentParser:
    p = parser_class(
        prog="ocitree prune",
        description="Delete by rule: keep the last N, drop what is older than AGE, clear untagged leftovers. "
                    "Candidates are top-level artifacts (and orphaned accessories with --orphans); children "
                    "and accessories go with them by the deletion rules. Shows the plan and asks, like delete.",
    )
    p.add_argument("source")
    p.add_argument("--repos", action="append", default=[], metavar="GLOB", help="only repositories matching GLOB (repeatable; default: all)")
    p.add_argument("--tags", action="append", default=[], metavar="GLOB",
                   help="a tagged artifact is a candidate when every one of its tags matches some GLOB (repeatable)")
    p.add_argument("--keep-last", type=int, metavar="N", help="per repository, retain the N newest candidates")
    p.add_argument("--older-than", metavar="AGE", help="only candidates created more than AGE ago (90d, 12h, 2w)")
    p.add_argument("--untagged", action="store_true", help="untagged top-level images and indexes are candidates too")
    p.add_argument("--orphans", action="store_true", help="accessories whose subject is gone are candidates")
    p.add_argument("--policy", metavar="FILE", help="a Harbor retention policy (JSON of GET /api/v2/retentions/{id})")
    protect_option(p)
    p.add_argument("--json", action="store_true", help="print one JSON object: the plan, with `retained`")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask (for scripts)")
    p.add_argument("--dry-run", action="store_true", help="show the plan and what is retained; change nothing")
    source_options(p)
    return p


def rule_from_args(args: argparse.Namespace) -> PruneRule:
    from ocitree.core.prune import PruneRule, parse_age

    rule = PruneRule(
        repos=tuple(args.repos),
        tags=tuple(args.tags),
        keep_last=args.keep_last,
        older_than=parse_age(args.older_than) if args.older_than is not None else None,
        untagged=args.untagged,
        orphans=args.orphans,
    )
    rule.check()
    return rule


def check_args(args: argparse.Namespace) -> None:
    """Bad flags are bad input before any I/O."""
    from ocitree.core.retention_policy import load_policy

    if args.policy is not None:
        if args.keep_last is not None or args.older_than or args.untagged or args.orphans or args.tags or args.repos:
            raise BadInputError("--policy carries its own rules: give it alone, without --repos, --tags, --keep-last, --older-than, --untagged or --orphans")
        load_policy(args.policy)
    else:
        rule_from_args(args)


def _rule(args: argparse.Namespace) -> PruneRule | RetentionPolicy:
    from ocitree.core.retention_policy import load_policy

    return load_policy(args.policy) if args.policy is not None else rule_from_args(args)


def select(registry, rule: PruneRule | RetentionPolicy, now: float | None = None) -> Selection:
    from ocitree.core.prune import PruneRule, select_by_policy, select_by_rule

    now = time.time() if now is None else now
    if isinstance(rule, PruneRule):
        return select_by_rule(registry, rule, now)
    return select_by_policy(registry, rule, now)


def prune_plan(registry, args: argparse.Namespace, protect: list[str]) -> tuple[DeletionPlan, list[str]]:
    """The plan, with the REFs a cut-off run of this same rule already deleted resumed (their
    leftovers re-checked by the rules); and a note for each of those."""
    from ocitree.core.interrupted import resumed_by_rule
    from ocitree.core.prune import plan_prune, rule_key

    rule = _rule(args)
    key = rule_key(rule)
    resumed, notes = resumed_by_rule(registry, key)
    plan = plan_prune(registry, select(registry, rule), protect, resumed)
    plan.prune_rule = key
    return plan, notes


def render_retained(plan: DeletionPlan) -> RenderableType:
    from rich.console import Group
    from rich.text import Text

    from ocitree.core.names import short_digest

    from .literal import literal

    if not plan.retained:
        return Text("Retained: none")
    counts: dict[str, int] = {}
    for r in plan.retained:
        counts[r.reason] = counts.get(r.reason, 0) + 1
    parts: list[RenderableType] = [
        Text(f"RETAIN {len(plan.retained)} candidate{'s' if len(plan.retained) != 1 else ''} "
             + "(" + ", ".join(f"{n} {reason}" for reason, n in counts.items()) + ")", style="bold green")
    ]
    for r in sorted(plan.retained, key=lambda r: (r.repository, r.reason, r.tags[:1], r.digest)):
        what = f"{r.repository}:{r.tags[0]}" if r.tags else f"{r.repository}@{short_digest(r.digest)}"
        parts.append(Text(f"  = {literal(what)} {short_digest(r.digest)}  {r.reason}: {RETAINED_WORDING[r.reason]}"))
    return Group(*parts)


def prune_title(plan: DeletionPlan) -> str:
    n = len(plan.targets)
    return f"Prune {n} target{'s' if n != 1 else ''} chosen by the rule"
