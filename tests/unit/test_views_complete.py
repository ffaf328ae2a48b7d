"""Every artifact a source holds appears in every view (issue 7 §3b), on random registries from
which another tool has deleted random artifacts (orphaning accessories, leaving missing children)
and in which cosign tags may name each other: ls --json lists each distinct artifact, as many as
its `artifact_count` and the header say; the text tree shows each; the TUI's rows reach each."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from ocitree.core.model import Registry
from ocitree.core.stores.sample import SampleStore
from tests.unit.test_properties import SETTINGS, cases
from ocitree.tui.ls_output import registry_json, registry_lines
from ocitree.tui.widgets.entries import Entry, RootItems, items_below


@st.composite
def damaged(draw):
    builder, _, _ = draw(cases())
    for repo in builder.repositories():
        made = builder.manifests(repo)
        if len(made) >= 2 and draw(st.booleans()):
            x, y = draw(st.lists(st.sampled_from(made), min_size=2, max_size=2, unique_by=lambda m: m.digest))
            used = {t for m in made for t in m.tags}
            to_x, to_y = y.digest.replace(":", "-") + ".sig", x.digest.replace(":", "-") + ".att"
            if not {to_x, to_y} & used:  # a tag names one artifact
                builder.tag(x, to_x)
                builder.tag(y, to_y)
    with tempfile.TemporaryDirectory() as tmp:
        registry = SampleStore(builder.write_sample(Path(tmp) / "registry.json")).load()
    everything = sorted((r.name, d) for r in registry.repositories.values() for d in r.artifacts)
    gone = draw(st.lists(st.sampled_from(everything), max_size=4, unique=True)) if everything else []
    registry.drop_artifacts(gone)  # another tool deleted these, whatever referred to them
    return registry


def _json_listed(doc: dict, name: str) -> set[str]:
    repo = next(r for r in doc["repositories"] if r["name"] == name)
    seen, stack = set(), list(repo["artifacts"])
    while stack:
        a = stack.pop()
        seen.add(a["digest"])
        stack += a["children"] + a["accessories"]
    return seen


def _tui_listed(registry: Registry, name: str) -> set[str]:
    seen: set[str] = set()
    roots = RootItems()
    stack = items_below(registry, Entry("repository", name), roots)
    while stack:
        entry = stack.pop()
        if entry.kind == "artifact" and entry.digest not in seen:
            seen.add(entry.digest)
            stack += items_below(registry, entry, roots)
    return seen


@SETTINGS
@given(damaged())
def test_every_view_lists_every_artifact(registry):
    doc = registry_json(registry)
    text = "\n".join(registry_lines(registry))
    assert f"{registry.artifact_count} artifacts" in text.splitlines()[0]
    for name, repo in registry.repositories.items():
        held = set(repo.artifacts)
        assert _json_listed(doc, name) == held
        assert next(r for r in doc["repositories"] if r["name"] == name)["artifact_count"] == len(held)
        assert _tui_listed(registry, name) == held
        for digest in held:
            assert digest.partition(":")[2][:12] in text
