"""Crafted input ends in one line and an exit code, never a traceback (issue 8).

JSON nested 100,000 deep wherever JSON is read (a layout's index.json, oci-layout file and
manifest blobs, every registry answer), a lone surrogate (`"\\ud800"`, which json accepts and
UTF-8 cannot encode) in the strings of a sample file, an index.json or a registry's answers,
and `--password-stdin` for the TUI, whose keys must then come from the terminal.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ocitree.core import media_types as mt
from ocitree.sample_data.builder import RegistryBuilder
from tests.helpers.registry_fault_proxy import Fault
from tests.helpers.sources.layout_source import snapshot, write_blob
from tests.functional.test_hostile_strings import assert_printable, run_ocitree

REPO = "team/app"
DEEP = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECT = b'{"a":' * 100_000 + b"1" + b"}" * 100_000


def build() -> tuple[RegistryBuilder, object, object]:
    builder = RegistryBuilder()
    child = builder.image(REPO, [], arch="amd64")
    index = builder.index(REPO, [child], ["latest"])
    builder.image(REPO, ["other"], arch="arm64")
    return builder, index, child


def one_error_line(done, exit_code: int = 2) -> str:
    err = assert_printable(done.stderr, "stderr")
    assert_printable(done.stdout, "stdout")
    assert "Traceback" not in err, err[-2000:]
    assert done.returncode == exit_code, err
    assert len(err.splitlines()) == 1, err
    return err


# -- deep nesting ---------------------------------------------------------------------------------


def _layout(tmp_path: Path) -> tuple[Path, Path, object, object]:
    builder, index, child = build()
    root = builder.write_layouts(tmp_path / "layouts")
    return root, root / REPO, index, child


@pytest.mark.parametrize("what", ["index.json", "oci-layout", "manifest blob", "child blob"])
@pytest.mark.parametrize("deep", [DEEP, DEEP_OBJECT], ids=["array", "object"])
def test_deep_json_in_a_layout_is_one_line(tmp_path, what, deep):
    root, layout, index, child = _layout(tmp_path)
    if what == "index.json":
        (layout / "index.json").write_bytes(deep)
    elif what == "oci-layout":
        (layout / "oci-layout").write_bytes(deep)
    else:
        target = index if what == "manifest blob" else child
        (layout / "blobs" / "sha256" / target.digest.split(":")[1]).write_bytes(deep)
    before = snapshot(root)
    err = one_error_line(run_ocitree(["delete", str(root), f"{REPO}:latest", "--yes"]))
    assert "nested too deeply" in err or "does not match its digest" in err
    assert snapshot(root) == before


def test_a_deep_manifest_blob_with_its_true_digest_is_one_line(tmp_path):
    root, layout, _, _ = _layout(tmp_path)
    digest = write_blob(layout, DEEP_OBJECT)
    doc = json.loads((layout / "index.json").read_text())
    doc["manifests"].append({"mediaType": mt.OCI_MANIFEST, "digest": digest, "size": len(DEEP_OBJECT)})
    (layout / "index.json").write_text(json.dumps(doc))
    err = one_error_line(run_ocitree(["ls", str(root)]))
    assert "nested too deeply" in err


@pytest.fixture
def pushed(registry_proxy):
    from tests.helpers.registry_push import push_builder

    builder, index, child = build()
    push_builder(builder, registry_proxy.upstream)
    return registry_proxy, index, child


@pytest.mark.parametrize("where", ["catalog", "tags/list", "manifest by tag", "child by digest", "error answer"])
def test_deep_json_from_a_registry_is_one_line(pushed, where):
    proxy, index, child = pushed
    if where == "catalog":
        proxy.add(Fault(method="GET", path="/v2/_catalog", body=DEEP, fix_digest=False))
    elif where == "tags/list":
        proxy.add(Fault(method="GET", path="/tags/list", body=DEEP_OBJECT, fix_digest=False))
    elif where == "manifest by tag":
        proxy.add(Fault(method="GET", path="/manifests/latest", status=200, body=DEEP_OBJECT, content_type=mt.OCI_INDEX))
    elif where == "child by digest":
        proxy.add(Fault(method="GET", path=f"/manifests/{child.digest}", status=200, body=DEEP_OBJECT,
                        content_type=mt.OCI_MANIFEST))
    else:
        proxy.add(Fault(method="GET", path="/manifests/latest", status=400, body=DEEP_OBJECT))
    done = run_ocitree(["ls", proxy.url])
    one_error_line(done, exit_code=1 if where == "error answer" else 2)


# -- lone surrogates ------------------------------------------------------------------------------

LONE = "\ud800"


def test_a_lone_surrogate_in_a_sample_file_survives_a_deletion(tmp_path):
    builder, index, _ = build()
    doc = builder.to_sample()
    for entry in doc["repositories"][REPO]:
        if "other" in entry.get("tags", []):
            entry["annotations"] = {"note": f"kept {LONE} as is", LONE: "key too"}
    path = tmp_path / "sample.json"
    path.write_text(json.dumps(doc))  # json writes it as the escape \ud800, as a hand-kept file would
    for argv in (["ls", str(path)], ["ls", "--json", str(path)], ["plan", str(path), f"{REPO}:latest"]):
        done = run_ocitree(argv)
        assert_printable(done.stdout, "stdout")
        assert done.returncode == 0, done.stderr
    done = run_ocitree(["delete", str(path), f"{REPO}:latest", "--yes"])
    assert_printable(done.stderr, "stderr")
    assert done.returncode == 0, done.stderr
    after = json.loads(path.read_bytes())
    (kept,) = after["repositories"][REPO]
    assert kept["annotations"] == {"note": f"kept {LONE} as is", LONE: "key too"}
    assert b"\\ud800" in path.read_bytes()


def test_a_lone_surrogate_in_index_json_survives_a_deletion(tmp_path):
    delete_from_a_layout_with_lone_surrogates(tmp_path)


def delete_from_a_layout_with_lone_surrogates(tmp_path):
    """ls and delete a layout whose index.json holds lone surrogates; (layout, remaining entry)."""
    root, layout, index, _ = _layout(tmp_path)
    doc = json.loads((layout / "index.json").read_text())
    for entry in doc["manifests"]:
        if entry["digest"] != index.digest:
            entry.setdefault("annotations", {}).update({"note": f"kept {LONE} as is"})
    doc["annotations"] = {LONE: LONE}
    (layout / "index.json").write_text(json.dumps(doc))
    for argv in (["ls", str(root)], ["ls", "--json", str(root)]):
        done = run_ocitree(argv)
        assert_printable(done.stdout, "stdout")
        assert done.returncode == 0, done.stderr
    done = run_ocitree(["delete", str(root), f"{REPO}:latest", "--yes"])
    assert_printable(done.stderr, "stderr")
    assert done.returncode == 0, done.stderr
    after = json.loads((layout / "index.json").read_bytes())
    assert after["annotations"] == {LONE: LONE}
    (entry,) = after["manifests"]
    assert entry["annotations"]["note"] == f"kept {LONE} as is"
    return layout, entry


@pytest.mark.skopeo
def test_skopeo_reads_an_index_json_rewritten_with_a_lone_surrogate(tmp_path):
    import subprocess

    from tests.helpers.binaries import require_binary

    skopeo = require_binary("skopeo", "skopeo")
    layout, entry = delete_from_a_layout_with_lone_surrogates(tmp_path)
    tag = entry["annotations"]["org.opencontainers.image.ref.name"]
    done = subprocess.run([skopeo, "inspect", "--raw", f"oci:{layout}:{tag}"], capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["schemaVersion"] == 2


def test_lone_surrogates_in_a_registry_name_are_refused_in_one_line(pushed):
    """A registry name must be asked for by URL and kept in the cache, as UTF-8: one with a lone
    surrogate (outside the grammar anyway) is refused, shown as an escape."""
    proxy, index, child = pushed
    proxy.add(Fault(method="GET", path=f"/v2/{REPO}/tags/list",
                    body=json.dumps({"name": REPO, "tags": ["latest", "other", LONE]}).encode(), fix_digest=False))
    err = one_error_line(run_ocitree(["ls", proxy.url]))
    assert "\\ud800" in err and "not a valid tag" in err
    proxy.clear()
    proxy.add(Fault(method="GET", path="/v2/_catalog",
                    body=json.dumps({"repositories": [REPO, LONE]}).encode(), fix_digest=False))
    err = one_error_line(run_ocitree(["plan", proxy.url, f"{REPO}:latest"]))
    assert "\\ud800" in err and "not a valid repository name" in err


def test_a_lone_surrogate_in_a_registry_manifest_is_data(pushed):
    proxy, index, child = pushed
    manifest = json.loads(index.data)
    manifest["annotations"] = {LONE: f"kept {LONE}"}
    proxy.add(Fault(method="GET", path="/manifests/latest", status=200, body=json.dumps(manifest).encode(),
                    content_type=mt.OCI_INDEX))
    for argv in (["ls", proxy.url], ["plan", proxy.url, f"{REPO}:latest"]):
        done = run_ocitree(argv)
        assert_printable(done.stdout, "stdout")
        assert done.returncode == 0, done.stderr
    done = run_ocitree(["ls", "--json", proxy.url])
    assert done.returncode == 0, done.stderr
    tops = json.loads(assert_printable(done.stdout, "stdout"))["repositories"][0]["artifacts"]
    assert {LONE: f"kept {LONE}"} in [a["annotations"] for a in tops]  # kept exactly, escaped in JSON


# -- found by the fuzz tests ----------------------------------------------------------------------


@pytest.mark.parametrize("media_type", [["a"], {"b": 1}, 7])
def test_a_manifest_whose_media_type_is_no_string_is_one_line(tmp_path, media_type):
    root, layout, index, _ = _layout(tmp_path)
    doc = json.loads(index.data)
    doc["mediaType"] = media_type
    data = json.dumps(doc).encode()
    digest = write_blob(layout, data)
    (layout / "index.json").write_bytes((layout / "index.json").read_bytes().replace(index.digest.encode(), digest.encode()))
    err = one_error_line(run_ocitree(["ls", str(root)]))
    assert "mediaType" in err


def test_a_chain_of_thousands_of_nested_indexes_is_one_line_in_ls(tmp_path):
    # Each index lists the next: ls prints depth first and ran out of stack with a traceback.
    from ocitree.sample_data.builder import RegistryBuilder

    b = RegistryBuilder()
    inner = b.image("deep/app", seed="leaf")
    for n in range(3000):
        inner = b.index("deep/app", [inner], tags=["top"] if n == 2999 else [])
    path = b.write_sample(tmp_path / "deep.json")
    for flags in ([], ["--json"]):
        done = subprocess.run([sys.executable, "-m", "ocitree.tui.cli", "ls", str(path), *flags], capture_output=True, text=True)
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1
        assert "nested too deeply" in done.stderr
    done = subprocess.run([sys.executable, "-m", "ocitree.tui.cli", "plan", str(path), "deep/app:top"], capture_output=True, text=True)
    assert done.returncode == 0 and "DELETE 3001 artifacts" in done.stdout


# -- output that cannot be written ----------------------------------------------------------------


@pytest.mark.parametrize("command", [["ls"], ["ls", "--json"], ["plan", "payments/api:latest", "--json"]],
                         ids=["ls", "ls-json", "plan-json"])
def test_a_full_device_as_output_is_one_line(command):
    demo = Path(__file__).resolve().parents[2] / "sample_data" / "demo.json"
    argv = [sys.executable, "-m", "ocitree", command[0], str(demo), *command[1:]]
    with open("/dev/full", "w") as full:
        done = subprocess.run(argv, stdout=full, stderr=subprocess.PIPE, timeout=60)
    assert (done.returncode, done.stderr.decode()) == (
        1, "ocitree: cannot write the output: No space left on device; free space or write it elsewhere\n")


def test_a_closed_standard_output_is_one_line():
    demo = Path(__file__).resolve().parents[2] / "sample_data" / "demo.json"
    done = subprocess.run([sys.executable, "-m", "ocitree", "ls", str(demo)], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, timeout=60, preexec_fn=lambda: os.close(1))
    assert (done.returncode, done.stderr.decode()) == (1, "ocitree: cannot write the output: standard output is closed\n")
