"""`ocitree untag SOURCE REPOSITORY:TAG`: remove one tag and keep the manifest, asked like delete.

Imports of the engine and of Rich are made where they are used: building the command line's
parsers must stay cheap for `ocitree ls`."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import RenderableType

    from ocitree.core.untag import UntagPlan, UntagResult


def add_untag_parser(parser_class, source_options, protect_option) -> argparse.ArgumentParser:
    p = parser_class(
        prog="ocitree untag",
        description="Remove one tag and keep the manifest it names (sample files, OCI layouts, registries that "
                    "answer DELETE by tag; CNCF distribution 2.x cannot). Shows what it does and asks, like delete.",
    )
    p.add_argument("source")
    p.add_argument("ref", metavar="REPOSITORY:TAG", help="the tag to remove")
    protect_option(p)
    p.add_argument("--json", action="store_true", help="print one JSON object: the untag plan and what was done")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask (for scripts)")
    source_options(p)
    return p


def render_untag(plan: UntagPlan, sees_untagged: bool) -> RenderableType:
    from rich.text import Text

    from ocitree.core.names import short_digest

    from .literal import literal

    if not plan.allowed:
        return Text(f"REFUSED untag {literal(plan.reference)}: {literal(plan.refusal_text())}", style="bold red")
    text = Text(f"Untag {literal(plan.reference)} ({short_digest(plan.digest)}): the manifest is not deleted", style="bold")
    text.append(f"\n  {literal(plan.effect(sees_untagged))}", style="")
    return text


def untag_json(plan: UntagPlan, result: UntagResult | None) -> dict:
    doc = plan.model_dump(mode="json")
    doc["reference"] = plan.reference
    doc.update(completed=bool(result and result.completed), untagged=result.untagged if result else [],
               error=result.error if result else None)
    return doc
