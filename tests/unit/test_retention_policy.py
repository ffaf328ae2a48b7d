"""Harbor retention policies (`ocitree prune --policy`), tested on the examples of Harbor's documentation
("Create Tag Retention Rules"), with push time read as created time since no registry API exposes pulls."""

from __future__ import annotations

import hashlib
import json

import pytest

from ocitree.core import media_types as mt
from ocitree.core.doublestar import doublestar_match
from ocitree.core.errors import BadInputError
from ocitree.core.model import Artifact, Registry, Repository
from ocitree.core.prune import plan_prune, select_by_policy
from ocitree.core.retention_policy import parse_policy
from ocitree.tui.cli import main

NOW = 1_780_000_000.0
DAY = 86400


def _digest(seed: str) -> str:
    return "sha256:" + hashlib.sha256(seed.encode()).hexdigest()


def _image(repo: str, seed: str, tags: list[str], age_days: float | None) -> Artifact:
    created = None if age_days is None else NOW - age_days * DAY
    return Artifact(repo, _digest(f"{repo}/{seed}"), mt.OCI_MANIFEST, 500, tags=tags, created=created)


def _rule(template: str, count: int | None = None, tags: str = "**", untagged: bool | None = False,
          repos: str = "**", tag_decoration: str = "matches", repo_decoration: str = "repoMatches") -> dict:
    selector = {"kind": "doublestar", "decoration": tag_decoration, "pattern": tags}
    if untagged is not None:
        selector["extras"] = json.dumps({"untagged": untagged})
    rule = {"disabled": False, "action": "retain", "template": template, "params": {},
            "tag_selectors": [selector],
            "scope_selectors": {"repository": [{"kind": "doublestar", "decoration": repo_decoration, "pattern": repos}]}}
    if count is not None:
        rule["params"] = {template: count}
    return rule


def _project() -> Registry:
    """Harbor's example: A has 102 artifacts (2 untagged), B..E have 7 (1 untagged); all pushed in the
    last week in A, a month ago or more in B..E."""
    repos = []
    arts = [_image("a", f"t{i}", [f"t{i}"], age_days=i / 100) for i in range(100)]
    arts += [_image("a", f"u{i}", [], age_days=1) for i in range(2)]
    repos.append(Repository("a", arts))
    for name in "bcde":
        arts = [_image(name, f"t{i}", [f"t{i}"], age_days=30 + i) for i in range(6)]
        arts.append(_image(name, "u", [], age_days=40))
        repos.append(Repository(name, arts))
    return Registry("project", repos)


def _retained_count(registry: Registry, policy: dict) -> tuple[int, int]:
    selection = select_by_policy(registry, parse_policy(policy), NOW)
    plan = plan_prune(registry, selection)
    return len(plan.retained), len(plan.delete)


def test_example_1_latest_k_per_repository_and_untagged_deleted():
    # "retains the 10 most recent tagged artifacts in repository A, and the 6 of each of B to E: 34; untagged deleted"
    assert _retained_count(_project(), {"rules": [_rule("latestPushedK", 10)]}) == (34, 102 + 28 - 34)


def test_example_2_days_since_push():
    # "all of the 100 tagged artifacts in repository A are retained ... none in B to E"
    assert _retained_count(_project(), {"rules": [_rule("nDaysSinceLastPush", 7)]}) == (100, 30)


def test_example_3_untagged_checked_keeps_untagged_too():
    assert _retained_count(_project(), {"rules": [_rule("nDaysSinceLastPush", 7, untagged=True)]}) == (102, 28)


def test_example_4_rules_are_or_combined():
    policy = {"rules": [_rule("nDaysSinceLastPush", 7), _rule("latestPushedK", 10)]}
    # A: all 100 tagged (rule 1); B..E: 6 each (rule 2); untagged go.
    assert _retained_count(_project(), policy) == (124, 6)


def test_a_partial_tag_match_retains_the_whole_artifact():
    # Harbor: "retention is matched at the tag level but carried out at the artifact level".
    arts = [_image("r", "x", ["harbor-1.8", "harbor-release", "harbor-nightly", "harbor-latest"], age_days=1),
            _image("r", "y", ["other"], age_days=1)]
    registry = Registry("s", [Repository("r", arts)])
    selection = select_by_policy(registry, parse_policy([_rule("latestPushedK", 2, tags="harbor-{rc,latest}")]), NOW)
    assert [t.reference for t in selection.targets] == ["r:other"]
    assert [r.tags[0] for r in selection.retained] == ["harbor-1.8"]


def test_repositories_no_rule_scopes_are_untouched_and_excludes_work():
    policy = {"rules": [_rule("latestPushedK", 0, repos="a", repo_decoration="repoExcludes")]}
    selection = select_by_policy(_project(), parse_policy(policy), NOW)
    assert {t.repository for t in selection.targets} == set("bcde")


def test_always_and_tag_excludes_follow_harbors_selector():
    arts = [_image("r", "p", ["2.1-prod"], age_days=400), _image("r", "q", ["2.2-prod"], age_days=400),
            _image("r", "u", [], age_days=400)]
    registry = Registry("s", [Repository("r", arts)])
    # "retain all tags that do not include 2.1-prod"; an excludes selector without extras keeps untagged.
    selection = select_by_policy(registry, parse_policy([_rule("always", tags="2.1-prod", tag_decoration="excludes", untagged=None)]), NOW)
    assert [t.reference for t in selection.targets] == ["r:2.1-prod"]
    assert {r.reason for r in selection.retained} == {"not_selected"}


def test_undated_artifacts_are_retained_by_age_rules():
    arts = [_image("r", "x", ["v1"], age_days=None)]
    registry = Registry("s", [Repository("r", arts)])
    selection = select_by_policy(registry, parse_policy([_rule("latestPushedK", 0)]), NOW)
    assert [(r.tags, r.reason) for r in selection.retained] == [(["v1"], "no_date")]


@pytest.mark.parametrize("template", ["latestPulledN", "nDaysSinceLastPull", "latestActiveK"])
def test_pull_based_templates_are_refused(template):
    with pytest.raises(BadInputError, match="pull times"):
        parse_policy([_rule(template, 10)])


@pytest.mark.parametrize("policy, message", [
    ({"rules": [_rule("latestPushedK")]}, "must be a whole number"),
    ({"rules": [{**_rule("always"), "action": "delete"}]}, "only retain"),
    ({"rules": [_rule("bogus")]}, "unknown template"),
    ({"rules": [{**_rule("always"), "disabled": True}]}, "no enabled rule"),
    ({"rules": "x"}, "expected a list"),
    ({"rules": [_rule("always", tags="[a")]}, "without ']'"),
])
def test_malformed_policies_are_one_line_errors(policy, message):
    with pytest.raises(BadInputError, match=message):
        parse_policy(policy)


def test_policy_from_the_command_line(tmp_path, capsys):
    from ocitree.sample_data.builder import RegistryBuilder

    b = RegistryBuilder()
    for n in range(1, 4):
        b.image("r/app", [f"v{n}"], annotations={"org.opencontainers.image.created": f"2026-03-0{n}T00:00:00Z"})
    source = str(b.write_sample(tmp_path / "r.json"))
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"algorithm": "or", "rules": [_rule("latestPushedK", 1)], "trigger": {"kind": "Schedule"}}))
    assert main(["prune", source, "--policy", str(policy), "--dry-run", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert sorted(d["tags"][0] for d in doc["delete"]) == ["v1", "v2"]
    assert main(["prune", source, "--policy", str(policy), "--keep-last", "3"]) == 2
    assert "give it alone" in capsys.readouterr().err
    policy.write_text("{")
    assert main(["prune", source, "--policy", str(policy)]) == 2
    assert "not valid JSON" in capsys.readouterr().err


@pytest.mark.parametrize("pattern, text, expected", [
    ("**", "a/b/c", True), ("*", "a/b", False), ("library/*", "library/nginx", True),
    ("{latest,prod}", "prod", True), ("1.*", "1.2.3", True), ("v?", "v1", True), ("v?", "v10", False),
    ("[0-9]*", "9x", True), ("[!0-9]*", "9x", False), ("", "anything", True), ("a\\*", "a*", True),
])
def test_doublestar_matches_as_harbor_does(pattern, text, expected):
    assert doublestar_match(pattern, text) is expected
