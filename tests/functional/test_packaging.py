"""Packaging: one top-level package, `ocitree`, holding the repository's core/, tui/ and sample_data/."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import ocitree

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = {"ocitree.core": "core", "ocitree.tui": "tui", "ocitree.sample_data": "sample_data", "ocitree": "ocitree"}


def _declared() -> list[str]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]


def test_every_package_folder_is_declared_under_the_ocitree_namespace():
    # A new subpackage that pyproject.toml does not list would be missing from a wheel.
    on_disk = set()
    for name, folder in FOLDERS.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder).parts
            on_disk.add(".".join((name, *rel)))
    assert on_disk == set(_declared())


def test_python_dash_m_ocitree_prints_the_version():
    out = subprocess.run([sys.executable, "-m", "ocitree", "--version"], capture_output=True, text=True, cwd="/")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"ocitree {ocitree.__version__}"
    assert ocitree.__version__[0].isdigit()


def test_a_wheel_holds_one_top_level_package(tmp_path):
    # Top-level `core`/`tui` packages in site-packages were overwritten by other distributions' files.
    import zipfile

    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path), str(ROOT)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    (wheel,) = tmp_path.glob("ocitree-*.whl")
    tops = {name.split("/", 1)[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"ocitree"}
    names = zipfile.ZipFile(wheel).namelist()
    assert "ocitree/sample_data/demo.json" in names and "ocitree/tui/app.tcss" in names
