"""Strings from a source never reach the terminal raw, on any path (issue 8, terminal injection).

One case per message site or output path: a sample file, an OCI layout or a registry (the real
docker-registry, behind tests/helpers/registry_fault_proxy.py for the answers distribution itself would
never give, such as tags holding escape sequences) carries a hostile string, and the real
`ocitree` command runs in a subprocess. Nothing below 0x20 but the line end, nothing from
0x7f to 0x9f and no bidi override may reach its standard output or standard error; the
string must be there, shown as visible escapes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

from ocitree.core import media_types as mt
from ocitree.core.printable import is_unsafe_char, printable
from ocitree.sample_data.builder import RegistryBuilder
from tests.helpers.sources.layout_source import write_blob

# A window title (OSC 0), the clipboard (OSC 52: "rm -rf ~"), clear screen and home, a colour
# through the 8-bit CSI (C1 0x9b), a right-to-left override, and a fake verdict.
HOSTILE = "\x1b]0;pwned\x07\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J\x1b[H\x9b31m\u202eAll good"
SHOWN = printable(HOSTILE)  # what must appear instead: "\x1b]0;pwned\x07..." as visible text
REPO = "team/app"


def build() -> tuple[RegistryBuilder, object]:
    builder = RegistryBuilder()
    image = builder.image(REPO, ["latest"])
    return builder, image


def sample(tmp_path: Path, edit: Callable[[dict], None] | None = None, name: str = "sample.json") -> str:
    builder, _ = build()
    doc = builder.to_sample()
    if edit:
        edit(doc)
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return str(path)


def layouts(tmp_path: Path) -> Path:
    builder, _ = build()
    return builder.write_layouts(tmp_path / "layouts")


def _first(doc: dict) -> dict:
    return doc["repositories"][REPO][0]


# -- sample files --------------------------------------------------------------------------------


def sample_annotation_key(tmp_path, _):
    return ["ls", sample(tmp_path, lambda d: _first(d).update(annotations={HOSTILE: 5}))]


def sample_unknown_field(tmp_path, _):
    return ["ls", sample(tmp_path, lambda d: _first(d).update({HOSTILE: 1}))]


def sample_invalid_tag(tmp_path, _):
    return ["ls", sample(tmp_path, lambda d: _first(d).update(tags=[HOSTILE]))]


def sample_repository_name(tmp_path, _):
    return ["ls", sample(tmp_path, lambda d: d["repositories"].update({HOSTILE: d["repositories"].pop(REPO)}))]


def sample_protect_rule(tmp_path, _):
    return ["plan", sample(tmp_path, lambda d: d.update(protect=[HOSTILE + ":"])), f"{REPO}:latest"]


def sample_file_name(tmp_path, _):
    return ["ls", str(tmp_path / (HOSTILE + ".json"))]


def sample_tree_annotation_and_type(tmp_path, _):
    def edit(doc):
        _first(doc).update(annotations={HOSTILE: HOSTILE}, artifactType=HOSTILE)
    return ["ls", sample(tmp_path, edit, name=HOSTILE.replace("/", "") + ".json")]


def sample_json_output(tmp_path, _):
    return ["ls", "--json", sample(tmp_path, lambda d: _first(d).update(annotations={HOSTILE: HOSTILE}))]


def sample_plan_of_hostile_platform(tmp_path, _):
    def edit(doc):
        builder = RegistryBuilder()
        child = builder.image(REPO, [], os=HOSTILE, arch=HOSTILE)
        builder.index(REPO, [child], ["latest"])
        doc.update(builder.to_sample())
    return ["plan", sample(tmp_path, edit), f"{REPO}:latest"]


# -- OCI layouts ---------------------------------------------------------------------------------


def layout_directory_name(tmp_path, _):
    root = layouts(tmp_path)
    (root / REPO).rename(root / "team" / HOSTILE)
    return ["ls", str(root)]


def layout_single_directory_name(tmp_path, _):
    root = layouts(tmp_path)
    return ["ls", str((root / REPO).rename(tmp_path / HOSTILE))]


def layout_root_without_layouts(tmp_path, _):
    root = tmp_path / HOSTILE
    (root / "empty").mkdir(parents=True)
    return ["ls", str(root)]


def _edit_index(layout: Path, edit: Callable[[dict], None]) -> None:
    doc = json.loads((layout / "index.json").read_text())
    edit(doc)
    (layout / "index.json").write_text(json.dumps(doc))


def layout_index_annotation_key(tmp_path, _):
    root = layouts(tmp_path)
    _edit_index(root / REPO, lambda d: d["manifests"][0].setdefault("annotations", {}).update({HOSTILE: 5}))
    return ["ls", str(root)]


def layout_index_tag(tmp_path, _):
    root = layouts(tmp_path)
    _edit_index(root / REPO, lambda d: d["manifests"][0]["annotations"].update(
        {"org.opencontainers.image.ref.name": HOSTILE}))
    return ["ls", str(root)]


def layout_blob_annotation_key(tmp_path, _):
    root = layouts(tmp_path)
    layout = root / REPO
    entry = json.loads((layout / "index.json").read_text())["manifests"][0]
    manifest = json.loads((layout / "blobs" / "sha256" / entry["digest"].split(":")[1]).read_bytes())
    manifest["annotations"] = {HOSTILE: 5}
    data = json.dumps(manifest).encode()
    digest = write_blob(layout, data)
    _edit_index(layout, lambda d: d["manifests"][0].update(digest=digest, size=len(data)))
    return ["ls", str(root)]


# -- registries (the real docker-registry behind the fault proxy) --------------------------------


def _serve_hostile_tags(proxy, image) -> None:
    from tests.helpers.registry_fault_proxy import Fault

    proxy.add(Fault(method="GET", path=f"/v2/{REPO}/tags/list",
                    body=json.dumps({"name": REPO, "tags": ["latest", HOSTILE]}).encode(), fix_digest=False))
    proxy.add(Fault(method="GET", path=f"/manifests/{quote(HOSTILE, safe='')}", status=200, body=image.data,
                    content_type=image.media_type))


def registry_no_tag_lists_tags(tmp_path, proxy_image):
    """The issue's attack: `plan URL app:v2` listed the registry's tags raw. A tag outside the
    grammar is now refused while loading, in one line that shows it escaped."""
    proxy, image = proxy_image
    _serve_hostile_tags(proxy, image)
    return ["plan", proxy.url, f"{REPO}:v2"]


def registry_no_repository_lists_names(tmp_path, proxy_image):
    from tests.helpers.registry_fault_proxy import Fault

    proxy, _ = proxy_image
    proxy.add(Fault(method="GET", path="/v2/_catalog",
                    body=json.dumps({"repositories": [REPO, HOSTILE]}).encode(), fix_digest=False))
    return ["plan", proxy.url, "other/app:v1"]


def registry_manifest_annotation_key(tmp_path, proxy_image):
    from tests.helpers.registry_fault_proxy import Fault

    proxy, image = proxy_image
    manifest = json.loads(image.data)
    manifest["annotations"] = {HOSTILE: 5}
    proxy.add(Fault(method="GET", path="/manifests/latest", status=200, body=json.dumps(manifest).encode(),
                    content_type=mt.OCI_MANIFEST))
    return ["ls", proxy.url]


def registry_error_text(tmp_path, proxy_image):
    from tests.helpers.registry_fault_proxy import Fault

    proxy, _ = proxy_image
    proxy.add(Fault(method="GET", path="/manifests/latest", status=400, message=HOSTILE))
    return ["ls", proxy.url]


def registry_referrer_not_a_digest(tmp_path, proxy_image):
    from tests.helpers.registry_fault_proxy import Fault

    proxy, image = proxy_image
    answer = {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": [{"digest": HOSTILE}]}
    proxy.add(Fault(method="GET", path="/referrers/", status=200, body=json.dumps(answer).encode(),
                    content_type=mt.OCI_INDEX))
    return ["ls", proxy.url]


@dataclass
class Case:
    make: Callable
    exit_code: int
    registry: bool = False


CASES = {
    "sample: annotation key in a validation error": Case(sample_annotation_key, 2),
    "sample: unknown field name": Case(sample_unknown_field, 2),
    "sample: invalid tag": Case(sample_invalid_tag, 2),
    "sample: invalid repository name": Case(sample_repository_name, 2),
    "sample: protection rule": Case(sample_protect_rule, 2),
    "sample: file name in 'no such file'": Case(sample_file_name, 2),
    "sample: tree with hostile annotations, artifact type and source name": Case(sample_tree_annotation_and_type, 0),
    "sample: --json output": Case(sample_json_output, 0),
    "sample: plan naming a hostile platform": Case(sample_plan_of_hostile_platform, 0),
    "layout: directory name below the root": Case(layout_directory_name, 2),
    "layout: a single layout's directory name": Case(layout_single_directory_name, 2),
    "layout: a root with no layout below it": Case(layout_root_without_layouts, 2),
    "layout: annotation key in index.json": Case(layout_index_annotation_key, 2),
    "layout: tag in index.json": Case(layout_index_tag, 2),
    "layout: annotation key in a manifest blob": Case(layout_blob_annotation_key, 2),
    "registry: tags listed by 'no tag'": Case(registry_no_tag_lists_tags, 2, registry=True),
    "registry: names listed by 'no repository'": Case(registry_no_repository_lists_names, 2, registry=True),
    "registry: annotation key in a manifest": Case(registry_manifest_annotation_key, 2, registry=True),
    "registry: error text in an answer": Case(registry_error_text, 1, registry=True),
    "registry: referrer that is not a digest": Case(registry_referrer_not_a_digest, 2, registry=True),
}


def assert_printable(stream: bytes, name: str) -> str:
    text = stream.decode("utf-8")  # strict: a lone surrogate or a stray byte fails here
    bad = sorted({f"U+{ord(c):04X}" for c in text if c != "\n" and is_unsafe_char(c)})
    assert not bad, f"{name} carries {bad}: {text[:400]!r}"
    return text


def run_ocitree(argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ocitree.tui.cli", *argv], capture_output=True, timeout=120, **kwargs)


@pytest.fixture
def proxy_image(registry_proxy):
    from tests.helpers.registry_push import push_builder

    builder, image = build()
    push_builder(builder, registry_proxy.upstream)
    return registry_proxy, image


@pytest.mark.parametrize("name", list(CASES))
def test_no_control_character_from_a_source_reaches_the_terminal(name, tmp_path, request):
    case = CASES[name]
    context = request.getfixturevalue("proxy_image") if case.registry else None
    done = run_ocitree(case.make(tmp_path, context))
    out = assert_printable(done.stdout, "stdout")
    err = assert_printable(done.stderr, "stderr")
    assert done.returncode == case.exit_code, (out, err)
    assert "Traceback" not in err
    if case.exit_code:
        assert len(err.splitlines()) == 1, err
    shown = out + err
    # The hostile string is shown, as visible escapes (repr's form is the same for these).
    assert "\\x1b]0;pwned" in shown or "\\\\x1b]0;pwned" in shown or "\\u001b]0;pwned" in shown, shown[:600]


def test_the_audit_log_records_a_hostile_source_as_escaped_json(tmp_path, isolated_home):
    """The audit line names the source (here a file whose name holds the escapes) as JSON
    escapes, so `tail audit.jsonl` on a terminal shows them instead of obeying them."""
    source = sample(tmp_path, name=HOSTILE.replace("/", "") + ".json")
    done = run_ocitree(["delete", source, f"{REPO}:latest", "--yes"])
    assert_printable(done.stdout, "stdout")
    assert_printable(done.stderr, "stderr")
    assert done.returncode == 0, done.stderr
    raw = (isolated_home / "state" / "ocitree" / "audit.jsonl").read_bytes()
    assert all(0x20 <= b < 0x7f for b in raw.rstrip(b"\n")), raw
    assert json.loads(raw)["source"] == source  # kept exactly, only escaped


def test_a_crash_on_the_command_line_prints_its_traceback_printable(monkeypatch, capfd):
    from ocitree.tui import cli

    def crash(*args):
        raise RuntimeError(f"no such thing as {HOSTILE}")

    monkeypatch.setattr(cli, "cmd_ls", crash)
    assert cli.main(["ls", "anything"]) == 1
    printed = capfd.readouterr()
    err = assert_printable(printed.err.encode(), "stderr")
    assert "RuntimeError: no such thing as " + SHOWN in err  # the traceback is there, escaped
    assert err.splitlines()[-1].startswith("ocitree: internal error (RuntimeError): this is a bug")


async def test_a_crash_in_the_tui_prints_its_traceback_printable(tmp_path, capfd):
    from tests.helpers.tui_pilot import demo_app

    app, _ = demo_app(tmp_path)

    def explode() -> None:
        raise RuntimeError(f"bad tag {HOSTILE}")

    with pytest.raises(RuntimeError):  # run_test re-raises the app's crash
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            app.call_later(explode)
            await pilot.pause()
    printed = capfd.readouterr()
    text = printed.out + printed.err
    assert "RuntimeError" in text and "\\x1b]0;pwned\\x07" in text  # wrapped at 80 columns
    assert not [c for c in text if c in "\x07\x9b\u202e"], text[-500:]


async def test_the_tui_shows_a_hostile_load_error_and_tags_as_escapes(tmp_path):
    """The TUI asks core's rule too (tui/literal.py): a load error quoting a registry's text,
    and tags no file format would accept, appear as visible escapes."""
    from ocitree.core.errors import MalformedDataError
    from ocitree.core.model import Artifact, Registry, Repository
    from tests.helpers.tui_pilot import MemoryStore, screen_text, settle
    from ocitree.tui.app import OcitreeApp

    class FailingStore(MemoryStore):
        def load(self, progress=None):
            raise MalformedDataError(f"registry answered {HOSTILE}")

    app = OcitreeApp(FailingStore(Registry("x", []), source="reg" + HOSTILE))
    async with app.run_test(size=(100, 24)) as pilot:
        await settle(pilot)
        text = screen_text(app)
    assert "registry answered" in text and text.count("\\x1b]0;pwned") >= 2, text  # the header and the dialog
    assert not [c for c in text if c != "\n" and is_unsafe_char(c)], text

    artifact = Artifact(repository=REPO, digest="sha256:" + "1" * 64, media_type=mt.OCI_MANIFEST, size=10,
                        tags=[HOSTILE])
    app = OcitreeApp(MemoryStore(Registry("memory", [Repository(REPO, [artifact])])), read_only=True)
    async with app.run_test(size=(100, 24)) as pilot:
        await settle(pilot)
        await pilot.press("down", "enter", "down")
        await settle(pilot)
        text = screen_text(app)
    assert "\\x1b]0;pwned" in text and not [c for c in text if c != "\n" and is_unsafe_char(c)], text
