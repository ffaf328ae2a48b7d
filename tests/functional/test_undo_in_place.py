"""What a view needs to show an undo in place: the restored artifacts, rebuilt from what the run
saved (core.undo.restored), put back into the registry as it was loaded after the delete, give
the registry a fresh load reads after the undo, on every source."""

from __future__ import annotations

from ocitree.core.sources import open_store
from ocitree.core.undo.restore import plan_undo, read_touched
from ocitree.core.undo.restored import restored_artifacts
from ocitree.core.undo.saved import RunBook
from tests.functional.test_undo import delete, run, scenario
from tests.helpers.registry_maps import derived_maps


def test_the_saved_artifacts_put_back_in_place_equal_a_fresh_load(make_source, capsys):
    builder, m = scenario()
    source = make_source(builder)
    done = delete(capsys, source, "team/app:v1")
    shown = open_store(source).load()  # what a view holds once the deletion is applied
    (deletion,) = [r for r in RunBook().runs(source) if r.kind == "delete"]
    store = open_store(source)
    touched = read_touched(deletion, store)  # what the TUI plans against: the run's repositories, now
    assert "team/app" in touched.repositories and m["v1"].digest not in touched.repositories["team/app"].artifacts
    plan = plan_undo(deletion, store, touched)
    assert plan.allowed and {s.digest for s in plan.restore} == {d["digest"] for d in done["deleted"]}
    store.close()
    code, _, err = run(capsys, "undo", source, "--yes", "--json")
    assert code == 0, err
    artifacts = restored_artifacts(deletion.saved())
    assert artifacts is not None
    assert {a.digest for a in artifacts} == {d["digest"] for d in done["deleted"]}
    assert shown.restore_artifacts(artifacts) == {"team/app"}
    assert derived_maps(shown) == derived_maps(open_store(source).load())
    assert shown.repositories["team/app"].tags["v1"] == m["v1"].digest
