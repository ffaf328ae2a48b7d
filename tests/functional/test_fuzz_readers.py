"""Fuzzing the three readers (issue 8): sample files, OCI layouts (index.json, oci-layout and
manifest blobs) and registry answers (the real docker-registry behind the fault proxy, which
swaps in crafted answers). Mutated good documents and random ones go through the real command
line (`ocitree.tui.cli.main`, in-process for speed) as `ls`, `ls --json`, `plan` and, for files, `delete
--yes`. Whatever comes in:

- the exit code is 0 or 2 (3 for a plan the rules refuse; 1 only for a registry's error status);
- an error is one line on stderr, and a success prints nothing there; never a traceback;
- nothing on stdout or stderr is a control character, C1, bidi override or lone surrogate;
- a command that fails writes nothing, and `ls` and `plan` never write; nothing is sent to
  a registry but reads.

`make test` runs a short budget; `make fuzz` a long one (FUZZ_EXAMPLES per reader), and
prints with --hypothesis-show-statistics how many cases each test tried.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ocitree.core import media_types as mt
from ocitree.core.printable import is_unsafe_char
from ocitree.sample_data.builder import RegistryBuilder
from tests.helpers.fuzz_documents import documents
from tests.helpers.sources.layout_source import snapshot, write_blob
from ocitree.tui.cli import main

REPO = "team/app"
REF = f"{REPO}:latest"
EXAMPLES = int(os.environ.get("OCITREE_FUZZ_EXAMPLES") or 0)
SETTINGS = settings(
    max_examples=EXAMPLES or 25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)


def build() -> RegistryBuilder:
    builder = RegistryBuilder()
    amd = builder.image(REPO, [], arch="amd64")
    arm = builder.image(REPO, [], arch="arm64", variant="v8")
    index = builder.index(REPO, [amd, arm], ["latest"], annotations={"org.example": "x"})
    builder.accessory(REPO, index, "signature")
    builder.image("team/other", ["v1"])
    return builder


def run(capsys, argv: list[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(argv)
    got = capsys.readouterr()
    return code, got.out, got.err


def check(argv: list[str], code: int, out: str, err: str, allowed: set[int]) -> None:
    assert "Traceback" not in err and "internal error" not in err, err
    assert code in allowed, (argv, code, err)
    unsafe = sorted({f"U+{ord(c):04X}" for c in out + err if c != "\n" and is_unsafe_char(c)})
    assert not unsafe, (argv, unsafe, (out + err)[:500])
    lines = err.splitlines()
    if code:
        assert len(lines) == 1, (argv, err)
    else:
        assert not lines, (argv, err)


def commands(source: str, capsys, allowed_errors: set[int], delete: bool, before, now) -> None:
    """ls, ls --json, plan (and delete --yes): checked, and nothing written unless a delete succeeded."""
    for argv, codes in ((["ls", source], {0}), (["ls", "--json", source], {0}), (["plan", source, REF], {0, 3}),
                        (["delete", source, REF, "--yes"], {0, 3})):
        if argv[0] == "delete" and not delete:
            continue
        code, out, err = run(capsys, argv)
        check(argv, code, out, err, codes | allowed_errors)
        if argv[0] == "ls" and code == 0 and "--json" in argv:
            json.loads(out)
        if argv[0] != "delete" or code != 0:
            assert now() == before, f"{argv} changed the source (exit {code}: {err})"


# -- sample files -----------------------------------------------------------------------------------

GOOD_SAMPLE = build().to_sample()


@SETTINGS
@given(data=documents(GOOD_SAMPLE))
def test_fuzz_sample_files(capsys, data):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "registry.json"
        path.write_bytes(data)

        def now():
            return {p.name: p.read_bytes() for p in Path(tmp).iterdir() if not p.name.endswith(".lock")}

        commands(str(path), capsys, {2}, delete=True, before=now(), now=now)


# -- OCI layouts ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def good_layouts(tmp_path_factory) -> Path:
    return build().write_layouts(tmp_path_factory.mktemp("good") / "layouts")


def _blob_path(layout: Path, digest: str) -> Path:
    return layout / "blobs" / "sha256" / digest.split(":")[1]


def replace_blob(layout: Path, old: str, data: bytes) -> None:
    """Put `data` in place of blob `old`, and make everything that names `old` name the new
    digest (the index.json, and the blobs listing it, themselves replaced the same way)."""
    new = write_blob(layout, data)
    if new == old:
        return
    index = layout / "index.json"
    index.write_bytes(index.read_bytes().replace(old.encode(), new.encode()))
    for blob in sorted((layout / "blobs" / "sha256").iterdir()):
        content = blob.read_bytes()
        if old.encode() in content and blob.name != new.split(":")[1]:
            replace_blob(layout, "sha256:" + blob.name, content.replace(old.encode(), new.encode()))


def _manifest_digests(layout: Path) -> list[str]:
    out = []
    for blob in sorted((layout / "blobs" / "sha256").iterdir()):
        try:
            doc = json.loads(blob.read_bytes())
        except ValueError:
            continue
        if isinstance(doc, dict) and "schemaVersion" in doc:
            out.append("sha256:" + blob.name)
    return out


@st.composite
def layout_damage(draw, root: Path):
    """(file to change, its new bytes, keep digests consistent?) for one layout below `root`."""
    layout = root / REPO
    target = draw(st.sampled_from(["index.json", "index.json", "oci-layout", "blob", "blob"]))
    if target == "blob":
        target = draw(st.sampled_from(_manifest_digests(layout)))
        good = json.loads(_blob_path(layout, target).read_bytes())
    else:
        good = json.loads((layout / target).read_bytes())
    data = draw(documents(good))
    return target, data, draw(st.booleans())


def test_the_good_layout_passes(good_layouts, capsys):
    tree = snapshot(good_layouts)
    commands(str(good_layouts), capsys, set(), delete=False, before=tree, now=lambda: snapshot(good_layouts))


@SETTINGS
@given(data=st.data())
def test_fuzz_layouts(good_layouts, capsys, data):
    target, content, consistent = data.draw(layout_damage(good_layouts))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(shutil.copytree(good_layouts, Path(tmp) / "layouts"))
        layout = root / REPO
        if target.startswith("sha256:"):
            if consistent:
                replace_blob(layout, target, content)
            else:
                _blob_path(layout, target).write_bytes(content)
        else:
            (layout / target).write_bytes(content)
        commands(str(root), capsys, {2}, delete=True, before=snapshot(root), now=lambda: snapshot(root))


# -- registry answers -------------------------------------------------------------------------------

ERROR_STATUSES = [400, 401, 403, 404, 405, 500]  # 429 and 502-504 are retried with backoff: too slow here


@pytest.fixture
def served(registry_proxy):
    from tests.helpers.registry_push import push_builder

    builder = build()
    push_builder(builder, registry_proxy.upstream)
    index = next(m for m in builder.manifests(REPO) if "latest" in m.tags)
    child = next(m for m in builder.manifests(REPO) if m.digest in index.data.decode())
    return registry_proxy, builder, index, child


@st.composite
def answers(draw, index, child) -> list[tuple[str, int, bytes, str]]:
    """(path fragment, status, body, content type) for one to three crafted answers."""
    good = {
        "/v2/_catalog": {"repositories": ["team/app", "team/other"]},
        f"/v2/{REPO}/tags/list": {"name": REPO, "tags": ["latest", index.digest.replace(":", "-") + ".sig"]},
        "/manifests/latest": json.loads(index.data),
        "/referrers/": {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": []},
    }
    out = []
    for path in draw(st.lists(st.sampled_from([*good, "child"]), min_size=1, max_size=3, unique=True)):
        status = draw(st.sampled_from([200] * 6 + ERROR_STATUSES))
        content_type = draw(st.sampled_from(["application/json", mt.OCI_INDEX, mt.OCI_MANIFEST, mt.DOCKER_MANIFEST_LIST,
                                             "text/html"]))
        if path == "child":  # a changed child, served under its new digest by an index that lists it
            body = draw(documents(json.loads(child.data)))
            digest = "sha256:" + hashlib.sha256(body).hexdigest()
            out.append((f"/manifests/{digest}", status, body, content_type))
            out.append(("/manifests/latest", 200, index.data.replace(child.digest.encode(), digest.encode()), mt.OCI_INDEX))
        else:
            out.append((path, status, draw(documents(good[path])), content_type))
    return out


@SETTINGS
@given(data=st.data())
def test_fuzz_registry_answers(served, capsys, data):
    from tests.helpers.registry_fault_proxy import Fault

    proxy, builder, index, child = served
    crafted = data.draw(answers(index, child))
    proxy.clear()
    for path, status, body, content_type in crafted:
        proxy.add(Fault(method="GET", path=path, status=status, body=body, content_type=content_type))
    cache = tempfile.mkdtemp()
    saved = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = cache  # each case reads the registry afresh
    try:
        allowed = {2} if all(status == 200 for _, status, _, _ in crafted) else {1, 2}
        commands(proxy.url, capsys, allowed, delete=False, before=(), now=lambda: ())
    finally:
        if saved is None:
            del os.environ["XDG_CACHE_HOME"]
        else:
            os.environ["XDG_CACHE_HOME"] = saved
        shutil.rmtree(cache, ignore_errors=True)
    assert not [m for m, _ in proxy.requests if m not in ("GET", "HEAD")], proxy.requests
