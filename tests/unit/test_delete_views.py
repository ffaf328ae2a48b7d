"""A plan's delete list read as views (DeleteEntries.views): the entries' own fields, in order,
whether or not the entries were made, and without making them (the confirmation and the text plan
read a prune's hundreds of thousands; the executor makes the entries when it runs)."""

from __future__ import annotations

from ocitree.core import plan as plan_module
from ocitree.core.plan import DeleteView
from ocitree.core.prune import PruneRule, plan_prune, select_by_rule
from ocitree.sample_data.generate import Shape, generate_registry

NOW = 1_780_000_000.0


def _prune():
    registry = generate_registry(Shape(repositories=3, indexes=30, children=4, share=0.3, nesting=0.3,
                                       tagged_children=0.2, accessories=0.5, missing=0.1, seed=11))
    return plan_prune(registry, select_by_rule(registry, PruneRule(tags=("*",), untagged=True, orphans=True), NOW))


def test_views_are_the_entries_fields_in_order_and_make_no_entry(monkeypatch):
    plan = _prune()
    made: list[object] = []
    real = plan_module._new_delete_entry
    monkeypatch.setattr(plan_module, "_new_delete_entry", lambda **fields: made.append(1) or real(**fields))
    views = plan.delete.views()
    assert made == []  # read without making the entries
    assert len(views) == len(plan.delete) > 50
    entries = list(plan.delete)  # now made, as the executor makes them
    assert len(made) == len(entries)
    assert views == [DeleteView(**entry.model_dump()) for entry in entries]
    assert {v.why for v in views} >= {"target", "child", "accessory"} and any(v.tags for v in views)
    assert plan.delete.views() == views  # and the same once they are made


def test_a_view_has_a_delete_entrys_fields_in_its_order():
    assert DeleteView._fields == tuple(plan_module.DeleteEntry.model_fields)
