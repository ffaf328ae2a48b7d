"""The TUI's cleanup flow: `m` marks by rule, `L` marks a group of leftovers, Delete shows one plan
with what the rule retained, `y` deletes. Keys in, screen and file out."""

from __future__ import annotations

from ocitree.core.stores.sample import SampleStore
from ocitree.sample_data.builder import RegistryBuilder
from tests.helpers.tui_pilot import press, screen_text, settle, stored, type_text
from ocitree.tui.app import OcitreeApp

CREATED = "org.opencontainers.image.created"


def _releases(tmp_path):
    b = RegistryBuilder()
    made = {}
    for n in range(1, 5):
        amd = b.image("team/app", arch="amd64", seed=f"{n}a", annotations={CREATED: f"2026-03-0{n}T00:00:00Z"})
        arm = b.image("team/app", arch="arm64", seed=f"{n}b", annotations={CREATED: f"2026-03-0{n}T00:00:00Z"})
        made[n] = b.index("team/app", [amd, arm], tags=[f"v{n}"])
    made["stray"] = b.image("team/app", seed="stray")
    b.image("other/app", ["v1"], seed="other", annotations={CREATED: "2026-01-01T00:00:00Z"})
    path = b.write_sample(tmp_path / "r.json")
    return path, made


async def test_mark_by_rule_marks_the_targets_and_delete_shows_what_was_retained(tmp_path):
    path, made = _releases(tmp_path)
    app = OcitreeApp(SampleStore(path))
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "down", "down")  # a row of team/app: the rule covers that repository
        await press(pilot, "m")
        assert "Mark by rule" in screen_text(app)
        await type_text(pilot, "v*")
        await press(pilot, "tab")
        await type_text(pilot, "2")
        await press(pilot, "enter")
        assert set(app.main_screen.registry_tree.marked) == {("team/app", made[1].digest), ("team/app", made[2].digest)}
        assert "2 marked" in screen_text(app)
        await press(pilot, "d")
        text = screen_text(app)
        assert "Delete 6 artifacts?" in text and "Retained by the rule (2)" in text
        assert "keep_last" in text
        # The run is recorded under the rule `ocitree prune --repos team/app --tags 'v*' --keep-last 2`
        # says, so that command finishes it if it is cut off.
        from ocitree.core.prune import rule_key
        from ocitree.tui.cli import build_parser
        from ocitree.tui.prune_command import _rule

        args = build_parser()["prune"].parse_args([str(path), "--repos", "team/app", "--tags", "v*", "--keep-last", "2"])
        plan = app.main_screen.plan(list(app.main_screen.registry_tree.marked))
        assert plan.prune_rule == rule_key(_rule(args))
        await press(pilot, "y")
        await settle(pilot)
    left = stored(path)
    assert made[1].digest not in left["team/app"] and made[3].digest in left["team/app"]
    assert "other/app" in left and len(left["other/app"]) == 1  # another repository: untouched


async def test_a_bad_age_is_said_in_the_dialog_and_nothing_is_marked(tmp_path):
    path, _ = _releases(tmp_path)
    app = OcitreeApp(SampleStore(path))
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "down", "m", "tab", "tab")
        await type_text(pilot, "soon")
        await press(pilot, "enter")
        assert "invalid age" in screen_text(app)
        await press(pilot, "escape")
        assert not app.main_screen.registry_tree.marked


async def test_leftovers_lists_groups_with_sizes_and_marks_one(tmp_path):
    path, made = _releases(tmp_path)
    app = OcitreeApp(SampleStore(path))
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "L")
        text = screen_text(app)
        assert "untagged top-level manifests" in text and "orphaned accessories" in text
        await press(pilot, "enter")  # the first group: untagged top-level manifests
        assert set(app.main_screen.registry_tree.marked) == {("team/app", made["stray"].digest)}
        await press(pilot, "d")
        assert "Delete 1 artifact?" in screen_text(app)


async def test_o_sorts_by_created_time_newest_first_and_undated_last(tmp_path):
    b = RegistryBuilder()
    for tag, day in (("a-old", "01"), ("b-none", None), ("c-new", "09"), ("d-mid", "05")):
        b.image("r/app", [tag], seed=tag, annotations={CREATED: f"2026-03-{day}T00:00:00Z"} if day else None)
    app = OcitreeApp(SampleStore(b.write_sample(tmp_path / "r.json")))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await press(pilot, "enter", "o")
        assert app.main_screen.registry_tree.order == "created"
        rows = [app.main_screen.registry.repositories["r/app"].artifacts[n.data.digest].tags[0] for n in app.main_screen.registry_tree.repository_node("r/app").children]
        assert rows == ["c-new", "d-mid", "a-old", "b-none"]


async def test_the_mark_by_rule_dialog_shows_every_choice_at_80x24_and_a_box_says_on_or_off_in_text(tmp_path):
    path, _ = _releases(tmp_path)
    app = OcitreeApp(SampleStore(path))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "down", "m")
        text = screen_text(app)
        for choice in ("Tags (globs)", "Keep last", "Older than", "Untagged top-level", "Orphaned accessories", "Every repository"):
            assert choice in text, choice
        # Not by colour alone: Textual's own box reads ▐X▌ when off too.
        assert "▐ ▌ Untagged top-level" in text
        await press(pilot, "tab", "tab", "tab", "space")  # tags, keep last, older than, then the box
        assert "▐X▌ Untagged top-level" in screen_text(app) and "▐ ▌ Orphaned accessories" in screen_text(app)
        await press(pilot, "space")
        assert "▐ ▌ Untagged top-level" in screen_text(app)


async def test_enter_on_a_box_marks_as_the_dialog_says_and_space_ticks_it(tmp_path):
    path, made = _releases(tmp_path)
    app = OcitreeApp(SampleStore(path))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "down", "down", "m")  # team/app
        assert "Enter or ctrl+s mark" in screen_text(app)
        await press(pilot, "tab", "tab", "tab", "space")  # untagged ticked
        await press(pilot, "enter")  # on the box: marks (Textual's box would untick it)
        assert app.screen is app.main_screen
        assert set(app.main_screen.registry_tree.marked) == {("team/app", made["stray"].digest)}
