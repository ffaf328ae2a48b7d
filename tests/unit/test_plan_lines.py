"""The confirmation's body makes an entry's lines only when read (tui/screens/plan_view.PlanLines):
read one at a time, in any order, they are the lines the whole plan reads as, and the widths
measured without them are theirs."""

from __future__ import annotations

import random
import threading
from array import array

import pytest
from rich.cells import cell_len
from rich.text import Text

from ocitree.core.cancellation import PlanCancelled, stopped_by
from ocitree.core.plan import DeletionPlan, TargetRef
from ocitree.core.model import Registry
from ocitree.core.planner import plan_deletion
from ocitree.core.prune import PruneRule, plan_prune, select_by_rule
from ocitree.core.stores.sample import registry_from_sample
from ocitree.core.stores.sample_format import SampleFile
from ocitree.sample_data import DEMO_PATH
from ocitree.sample_data.generate import Shape, generate_registry
from ocitree.tui.screens import plan_view
from ocitree.tui.screens.plan_view import PlanLines, plan_body, plan_lines

NOW = 1_780_000_000.0


def generated(seed: int) -> Registry:
    registry = generate_registry(Shape(repositories=3, indexes=25, children=4, share=0.3, nesting=0.2,
                                       tagged_children=0.2, accessories=0.5, missing=0.1, seed=seed))
    for repo in registry.repositories.values():
        for i, artifact in enumerate(repo.artifacts.values()):
            if not artifact.is_index:
                artifact.created = NOW - 400 * 86400 + i * 60
    return registry


def demo_plan() -> tuple[Registry, DeletionPlan]:
    """Every tagged top-level index of the demo at once: kept children, accessories, tags removed."""
    registry = registry_from_sample(SampleFile.model_validate_json(DEMO_PATH.read_text()), "demo.json")
    targets = [TargetRef(repository=name, digest=digest, reference=f"{name}@{digest}")
               for name, repo in registry.repositories.items() for digest, artifact in repo.artifacts.items()
               if artifact.is_index and artifact.plain_tags and repo.is_top_level(digest)]
    return registry, plan_deletion(registry, targets)


def plans() -> list[tuple[Registry, DeletionPlan]]:
    made = [demo_plan()]
    for seed in range(4):
        registry = generated(seed)
        made.append((registry, plan_prune(registry, select_by_rule(registry, PruneRule(keep_last=3, untagged=True), NOW),
                                          ["release-*"])))
        made.append((registry, plan_prune(registry, select_by_rule(registry, PruneRule(tags=("build-*",), keep_last=2), NOW),
                                          ["release-*", "*.sig"])))
    return made


def spans(line: Text) -> tuple[str, list[tuple[int, int, str]], str]:
    return line.plain, [(s.start, s.end, str(s.style)) for s in line.spans], str(line.style)


@pytest.mark.parametrize("registry, plan", plans())
def test_each_line_read_alone_is_the_line_of_the_whole_plan_and_its_width_is_measured_without_it(registry, plan):
    assert plan.allowed and plan.delete
    body = plan_body(plan, registry)
    assert isinstance(body.lines, PlanLines)
    eager = list(plan_lines(plan, registry))  # made in order, every one
    assert len(body.lines) == len(eager) == len(body.widths)
    order = list(range(len(eager)))
    random.Random(len(eager)).shuffle(order)
    for i in order:
        assert spans(body.lines[i]) == spans(eager[i]), i
        assert spans(body.lines[i - len(eager)]) == spans(eager[i]), i  # from the end, as a list counts
    assert [spans(line) for line in body.lines[3:-2]] == [spans(line) for line in eager[3:-2]]
    assert list(body.widths) == [cell_len(line.plain) for line in eager]
    # two lines an entry, after its repository's header
    assert sum(line.plain.startswith("  - ") for line in eager) == len(plan.delete)
    assert sum(line.plain.startswith("  = ") and after.plain.startswith("      ")
               for line, after in zip(eager, eager[1:])) == len(plan.keep)
    with pytest.raises(IndexError):
        body.lines[len(eager)]


def test_reading_a_line_words_only_its_entry(monkeypatch):
    registry, plan = plans()[1]
    worded: list[str] = []
    wording = plan_view._deleted_entry
    monkeypatch.setattr(plan_view, "_deleted_entry", lambda r, d, whys=None: worded.append(d.digest) or wording(r, d, whys))
    body = plan_body(plan, registry)
    assert len(worded) == len(plan.delete)  # measured, each once
    line = next(i for i in range(len(body.lines)) if body.lines[i].plain.startswith("  - "))
    worded.clear()
    body.lines[line + 1]  # the why of the first entry that goes
    assert worded == [plan.delete[0].digest]


def test_entries_only_start_a_line():
    lines = plan_view._Lines()
    lines.append("half a line")
    with pytest.raises(ValueError):
        lines.entries(plan_view._EntryRun([], array("I"), plan_view._deleted_entry))


def test_measuring_the_lines_stops_once_the_plan_is_cancelled():
    """The widths are measured on the planning thread, a second or more at a million artifacts:
    Esc stops it there too (core.cancellation)."""
    registry, plan = plans()[1]
    assert len(plan.delete) > 0
    flag = threading.Event()
    with stopped_by(flag):
        plan_body(plan, registry)  # not cancelled: measured whole
        flag.set()
        with pytest.raises(PlanCancelled):
            plan_body(plan, registry)


def test_a_prune_of_thousands_of_tags_lists_the_first_and_counts_the_rest():
    registry = generate_registry(Shape(repositories=1, indexes=260, children=1, tagged=1.0, accessories=0, seed=5))
    plan = plan_prune(registry, select_by_rule(registry, PruneRule(tags=("*",)), NOW))
    n = len(plan.tags_removed)
    assert n > plan_view.TAGS_LISTED
    [line] = [line.plain for line in plan_lines(plan, registry) if line.plain.startswith("Tags removed")]
    assert line.startswith(f"Tags removed ({n}): ") and line.endswith(f" and {n - plan_view.TAGS_LISTED:,} more")
    assert line.count(", ") == plan_view.TAGS_LISTED - 1
