"""`ocitree prune`: rules choose top-level targets; children and accessories follow the deletion rules."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ocitree.core.plan import DeletionPlan
from ocitree.core.prune import PruneRule, parse_age, plan_prune, select_by_rule
from ocitree.core.stores.sample import SampleStore
from ocitree.sample_data.builder import RegistryBuilder
from ocitree.sample_data.generate import Shape, generate_registry
from ocitree.tui.cli import main

CREATED = "org.opencontainers.image.created"
DAY = 86400.0
NOW = 1_780_000_000.0  # a fixed "now" for selections computed in-process


def _day(n: int) -> str:
    """RFC 3339 for day n of a fixed month: larger n is newer."""
    return f"2026-03-{n:02d}T12:00:00Z"


def _release_repo(b: RegistryBuilder, repo: str = "team/app") -> dict:
    """Five multi-arch releases v1..v5 (v5 newest). Each index has two children; v3 and v4 share one.
    v5 also carries `latest`. An untagged old image and an orphaned signature are left over."""
    made = {}
    shared = b.image(repo, arch="s390x", seed="shared", annotations={CREATED: _day(3)})
    for n in range(1, 6):
        amd = b.image(repo, arch="amd64", seed=f"v{n}-amd64", annotations={CREATED: _day(n)})
        arm = b.image(repo, arch="arm64", seed=f"v{n}-arm64", annotations={CREATED: _day(n)})
        children = [amd, arm] + ([shared] if n in (3, 4) else [])
        tags = [f"v{n}"] + (["latest"] if n == 5 else [])
        made[f"v{n}"] = b.index(repo, children, tags=tags)
        made[f"v{n}-amd64"], made[f"v{n}-arm64"] = amd, arm
    made["shared"] = shared
    made["sig-v2"] = b.accessory(repo, made["v2"], "signature")
    made["untagged-old"] = b.image(repo, seed="old", annotations={CREATED: _day(1)})
    return made


def _prune_json(source: str, *flags: str, capsys) -> tuple[int, dict]:
    code = main(["prune", source, *flags, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else {}


def _deleted(doc: dict) -> set[str]:
    return {d["digest"] for d in doc["delete"]}


def test_keep_last_keeps_whole_multi_arch_images_on_every_source(make_source, capsys):
    b = RegistryBuilder()
    made = _release_repo(b)
    source = make_source(b)
    code, doc = _prune_json(source, "--tags", "v*", "--keep-last", "2", "--yes", capsys=capsys)
    assert code == 0
    deleted = _deleted(doc)
    # v5 carries `latest` too, so a `v*` rule never selects it: retained as not_selected.
    reasons = {min(r["tags"], key=lambda t: not t.startswith("v")): r["reason"] for r in doc["retained"]}
    assert reasons == {"v5": "not_selected", "v4": "keep_last", "v3": "keep_last"}
    # v1 and v2 go whole: index, both children, v2's signature.
    expected = {made[k].digest for k in ("v1", "v1-amd64", "v1-arm64", "v2", "v2-amd64", "v2-arm64", "sig-v2")}
    assert deleted == expected
    assert doc["completed"] is True
    # Nothing of v3..v5 (nor the child v3/v4 share) was touched; ls agrees.
    assert main(["ls", source, "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    tags = {t for r in listing["repositories"] for a in r["artifacts"] for t in a["tags"]}
    assert {"v3", "v4", "v5", "latest"} <= tags and not {"v1", "v2"} & tags


def test_untagged_never_selects_the_untagged_children_of_a_tagged_index(make_source, capsys):
    # distribution #3178: --delete-untagged deletes the children of tagged indexes. Here only the
    # top-level untagged image is a candidate; every child of v1..v5 is untagged and stays.
    b = RegistryBuilder()
    made = _release_repo(b)
    source = make_source(b)
    code = main(["prune", source, "--untagged", "--yes", "--json"])
    captured = capsys.readouterr()
    assert code == 0
    doc = json.loads(captured.out)
    if make_source.kind == "registry":
        # The API shows manifests only through tags and indexes: the untagged image is not seen, and ocitree says so.
        assert _deleted(doc) == set()
        assert "invisible" in captured.err
    else:
        assert _deleted(doc) == {made["untagged-old"].digest}


def test_older_than_goes_by_created_date_and_reports_undated(capsys, tmp_path):
    b = RegistryBuilder()
    b.image("r/app", ["old"], annotations={CREATED: "2020-01-01T00:00:00Z"})
    b.image("r/app", ["new"], annotations={CREATED: "2999-01-01T00:00:00Z"})
    b.image("r/app", ["undated"])
    path = str(b.write_sample(tmp_path / "r.json"))
    code, doc = _prune_json(path, "--older-than", "90d", "--dry-run", capsys=capsys)
    assert code == 0
    assert [d["tags"] for d in doc["delete"]] == [["old"]]
    assert {r["tags"][0]: r["reason"] for r in doc["retained"]} == {"new": "newer", "undated": "no_date"}
    assert doc["completed"] is False  # a dry run
    assert "old" in json.loads(open(path).read())["repositories"]["r/app"][0]["tags"]


def test_sample_created_field_dates_an_artifact(tmp_path, capsys):
    b = RegistryBuilder()
    b.image("r/app", ["a"])
    b.image("r/app", ["b"])
    doc = b.to_sample()
    doc["repositories"]["r/app"][0]["created"] = "2026-01-01T00:00:00Z"
    doc["repositories"]["r/app"][1]["created"] = "2026-02-01T00:00:00+01:00"
    path = tmp_path / "r.json"
    path.write_text(json.dumps(doc))
    code, plan = _prune_json(str(path), "--keep-last", "1", "--dry-run", capsys=capsys)
    assert [d["tags"] for d in plan["delete"]] == [["a"]]
    doc["repositories"]["r/app"][0]["created"] = "yesterday"
    path.write_text(json.dumps(doc))
    assert main(["prune", str(path), "--keep-last", "1"]) == 2
    err = capsys.readouterr().err
    assert "RFC 3339" in err and err.count("\n") == 1


def test_protected_and_referenced_candidates_are_retained_and_the_rest_proceeds(tmp_path, capsys):
    b = RegistryBuilder()
    keep = b.image("r/app", ["v1"], annotations={CREATED: _day(1)})
    b.accessory("r/app", keep, "signature", tags=["release-sig"])
    b.image("r/app", ["v2"], annotations={CREATED: _day(2)})
    path = str(b.write_sample(tmp_path / "r.json"))
    code, doc = _prune_json(path, "--tags", "v*", "--protect", "release-*", "--dry-run", capsys=capsys)
    assert code == 0
    assert [d["tags"] for d in doc["delete"]] == [["v2"]]
    # v1 itself is not protected: its tagged signature, which would go with it, is.
    assert [(r["tags"], r["reason"]) for r in doc["retained"]] == [(["v1"], "protected")]


def test_orphans_selects_accessories_whose_subject_is_gone(tmp_path, capsys):
    b = RegistryBuilder()
    gone = b.image("r/app", ["v1"])
    sig = b.accessory("r/app", gone, "signature")
    b.image("r/app", ["v2"])
    doc = b.to_sample()
    doc["repositories"]["r/app"] = [e for e in doc["repositories"]["r/app"] if e["digest"] != gone.digest]
    path = tmp_path / "r.json"
    path.write_text(json.dumps(doc))
    code, plan = _prune_json(str(path), "--orphans", "--yes", capsys=capsys)
    assert code == 0 and _deleted(plan) == {sig.digest}


def test_nothing_to_select_is_bad_input_and_so_are_bad_ages(tmp_path, capsys):
    b = RegistryBuilder()
    b.image("r/app", ["v1"])
    path = str(b.write_sample(tmp_path / "r.json"))
    assert main(["prune", path]) == 2
    assert "say what to prune" in capsys.readouterr().err
    assert main(["prune", path, "--older-than", "3 months"]) == 2
    assert "invalid age" in capsys.readouterr().err
    with pytest.raises(Exception):
        parse_age("0d")


def test_prune_without_a_terminal_or_yes_changes_nothing(tmp_path):
    b = RegistryBuilder()
    b.image("r/app", ["v1"])
    path = b.write_sample(tmp_path / "r.json")
    before = path.read_bytes()
    done = subprocess.run([sys.executable, "-m", "ocitree.tui.cli", "prune", str(path), "--tags", "*"],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True)
    assert done.returncode == 2
    assert "pass --yes" in done.stderr
    assert "Prune 1 target" in done.stdout
    assert path.read_bytes() == before


def test_prune_text_shows_the_plan_and_what_was_retained(tmp_path, capsys):
    b = RegistryBuilder()
    _release_repo(b)
    path = str(b.write_sample(tmp_path / "r.json"))
    assert main(["prune", path, "--tags", "v*", "--keep-last", "1", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "Prune 3 targets chosen by the rule" in out
    assert "RETAIN 2 candidates (1 keep_last, 1 not_selected)" in out
    assert "team/app:v4" in out and "one of the newest" in out


def test_empty_plan_exits_0(tmp_path, capsys):
    b = RegistryBuilder()
    b.image("r/app", ["v1"], annotations={CREATED: _day(1)})
    path = str(b.write_sample(tmp_path / "r.json"))
    assert main(["prune", path, "--keep-last", "5"]) == 0
    assert "Nothing to prune" in capsys.readouterr().err


def test_keep_last_ties_go_to_the_greatest_tag(tmp_path):
    b = RegistryBuilder()
    for tag in ("a", "c", "b"):
        b.image("r/app", [tag], annotations={CREATED: _day(1)})
    registry = SampleStore(b.write_sample(tmp_path / "r.json")).load()
    plan = plan_prune(registry, select_by_rule(registry, PruneRule(keep_last=1), NOW))
    assert [r.tags for r in plan.retained] == [["c"]]
    assert sorted(d.tags[0] for d in plan.delete) == ["a", "b"]


def test_a_prune_plan_is_the_plan_its_json_validates_to():
    """The planner and the rule build their entries unvalidated (plan.trusted_builder), hundreds of
    thousands in a big prune: each must be the model that validating its JSON gives, with the JSON's
    keys in the schema's order."""
    registry = generate_registry(Shape(repositories=2, indexes=30, children=3, share=0.3, nesting=0.2,
                                       tagged_children=0.2, accessories=0.5, missing=0.1))
    for repo in registry.repositories.values():
        for i, artifact in enumerate(repo.artifacts.values()):
            artifact.created = NOW - 400 * DAY + i * 60
    p = plan_prune(registry, select_by_rule(registry, PruneRule(keep_last=3, untagged=True), NOW), ["release-*"])
    assert p.delete and p.keep and p.missing and p.retained and p.tags_removed
    text = p.model_dump_json()
    again = DeletionPlan.model_validate_json(text)
    assert again == p
    assert again.model_dump_json() == text
    assert [e.model_fields_set for e in p.delete] == [e.model_fields_set for e in again.delete]


def _cut_off_v1(tmp_path):
    """A sample where a prune `--tags 'v*'` was cut off after deleting index v1: its children a and b,
    and a's signature (cosign-tagged), are left, recorded under `team/app:v1` for that rule."""
    from ocitree.core.interrupted import InterruptedRuns
    from ocitree.core.prune import rule_key

    def build(with_index: bool):
        b = RegistryBuilder()
        made = {"a": b.image("team/app", arch="amd64", seed="a"), "b": b.image("team/app", arch="arm64", seed="b")}
        made["sig"] = b.accessory("team/app", made["a"], "signature")
        made["v2"] = b.image("team/app", tags=["v2"], seed="v2")
        if with_index:
            made["v1"] = b.index("team/app", [made["a"], made["b"]], tags=["v1"])
        return b, made

    path = tmp_path / "registry.json"
    b, made = build(True)
    b.write_sample(path)
    registry = SampleStore(str(path)).load()
    rule = PruneRule(tags=("v*",))
    plan = plan_prune(registry, select_by_rule(registry, rule, NOW))
    plan.prune_rule = rule_key(rule)
    InterruptedRuns().begin(plan, registry)  # the write-ahead record; then the run was killed after v1
    build(False)[0].write_sample(path)
    return str(path), made


def test_the_same_prune_finishes_a_cut_off_run_and_another_rule_does_not(tmp_path, capsys):
    path, made = _cut_off_v1(tmp_path)
    code, other = _prune_json(path, "--tags", "v2", "--dry-run", capsys=capsys)
    assert other["resumed"] == [] and _deleted(other) == {made["v2"].digest}
    code, doc = _prune_json(path, "--tags", "v*", "--yes", capsys=capsys)
    assert code == 0
    assert [r["reference"] for r in doc["resumed"]] == ["team/app:v1"]
    assert _deleted(doc) == {made["a"].digest, made["b"].digest, made["sig"].digest, made["v2"].digest}
    assert not SampleStore(path).load().repositories["team/app"].artifacts


def test_a_resumed_leftover_with_a_protected_tag_keeps_what_that_ref_left_and_the_rest_proceeds(tmp_path, capsys):
    path, made = _cut_off_v1(tmp_path)
    code, doc = _prune_json(path, "--tags", "v*", "--protect", "sha256-*", "--dry-run", capsys=capsys)
    assert code == 0 and doc["resumed"] == []
    assert _deleted(doc) == {made["v2"].digest}
    assert [(r["digest"], r["reason"]) for r in doc["retained"]] == [(made["v1"].digest, "protected")]


def test_the_targets_a_refusal_traces_back_to_come_in_the_order_found_whatever_the_hash_seed(tmp_path):
    """A protected signature on a child three indexes list: the refusal traces back to all three,
    and they are retained in the order the walk finds them (a set's order changed with the seed,
    and with it the order of `retained` in prune's JSON)."""
    b = RegistryBuilder()
    child = b.image("r/app", annotations={CREATED: _day(1)})
    b.accessory("r/app", child, "signature", tags=["release-sig"])
    for tag in ("v1", "v2", "v3"):
        b.index("r/app", [child], [tag], annotations={"release": tag})  # three distinct indexes
    path = b.write_sample(tmp_path / "r.json")
    probe = (
        "import sys\n"
        "from ocitree.core.prune import _responsible_targets\n"
        "from ocitree.core.stores.sample import SampleStore\n"
        "repo = SampleStore(sys.argv[1]).load().repositories['r/app']\n"
        "owners = {('r/app', d): ('r/app', d) for d, a in repo.artifacts.items() if a.tags and a.is_index}\n"
        "signature = next(d for d, a in repo.artifacts.items() if 'release-sig' in a.tags)\n"
        "print([repo.artifacts[d].tags[0] for _, d in _responsible_targets(repo, signature, owners)])\n"
    )
    orders = set()
    for seed in range(8):
        done = subprocess.run([sys.executable, "-c", probe, str(path)], capture_output=True, text=True,
                              env={**os.environ, "PYTHONHASHSEED": str(seed)})
        assert done.returncode == 0, done.stderr
        orders.add(done.stdout.strip())
    assert len(orders) == 1, orders
