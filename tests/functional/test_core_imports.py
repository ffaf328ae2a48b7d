"""core/ never imports Textual: scripts and the command line use the engine without the TUI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ocitree import core

# Runs in a fresh interpreter, so nothing this test process imported can hide an import.
_PROBE = """
import importlib, json, pkgutil, sys
from ocitree import core
imported, failed = [], {}
for info in pkgutil.walk_packages(core.__path__, "ocitree.core."):
    try:
        importlib.import_module(info.name)
        imported.append(info.name)
    except Exception as exc:
        failed[info.name] = f"{type(exc).__name__}: {exc}"
offenders = sorted(m for m in sys.modules if m == "textual" or m.startswith("textual.") or m == "ocitree.tui" or m.startswith("ocitree.tui."))
print(json.dumps({"imported": imported, "failed": failed, "offenders": offenders}))
"""


def _core_modules_on_disk() -> set[str]:
    root = Path(core.__file__).parent
    names = set()
    for path in root.rglob("*.py"):
        parts = path.relative_to(root.parent).with_suffix("").parts
        names.add("ocitree." + ".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_importing_every_core_module_never_imports_textual_or_the_tui():
    proc = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, cwd=Path(core.__file__).parent.parent)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["failed"] == {}, "core modules that cannot be imported"
    assert report["offenders"] == [], "core pulled in the TUI layer"
    # Every module on disk was really imported (the walk cannot silently skip one).
    assert _core_modules_on_disk() - {"ocitree.core"} <= set(report["imported"])
    assert {"ocitree.core.planner", "ocitree.core.executor", "ocitree.core.stores.sample"} <= set(report["imported"])


# What must not be imported yet when the first screen is up (issue 10).
_LATER = "('pydantic', 'ocitree.core.plan', 'ocitree.core.planner', 'ocitree.core.untag')"


def test_the_tui_starts_on_a_layout_or_a_registry_without_pydantic_or_the_planner(tmp_path):
    """The first screen does not wait for pydantic and the plan machinery (about 0.1 s of the app's
    imports): they come when first used, or from the warm-up after the first screen (issue 10)."""
    probe = (
        "import sys, argparse\n"
        "from ocitree.tui.cli import open_store, _options, load_config\n"
        "store = open_store(sys.argv[1], _options(argparse.Namespace(), load_config()))\n"
        "import ocitree.tui.app\n"
        f"print(sorted(m for m in {_LATER} if m in sys.modules))\n"
    )
    from ocitree.sample_data.builder import RegistryBuilder

    b = RegistryBuilder()
    b.image("team/app", ["v1"])
    root = b.write_layouts(tmp_path / "layouts")
    for source in (str(root), "http://127.0.0.1:9"):  # a registry is not asked anything before the load
        proc = subprocess.run([sys.executable, "-c", probe, source], capture_output=True, text=True, env={**os.environ, "XDG_CONFIG_HOME": str(tmp_path)})
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == "[]", (source, proc.stdout)


def test_the_tui_shows_a_sample_file_without_pydantic_or_the_planner(tmp_path):
    """A well-formed sample file is read by the fast reader alone: the pydantic models are only for
    a file it doubts. Checked once the loaded registry is on screen, where the warm-up starts."""
    probe = (
        "import asyncio, sys, argparse\n"
        "from ocitree.tui.cli import open_store, _options, load_config\n"
        "from ocitree.tui.app import OcitreeApp\n"
        "from ocitree.tui.screens.main import MainScreen\n"
        "seen = []\n"
        "def first_screen(screen, view):\n"
        f"    seen.append((sorted(m for m in {_LATER} if m in sys.modules), sorted(view.registry.repositories)))\n"
        "    screen.app.exit()\n"
        "MainScreen.warm_up = first_screen\n"
        "async def run():\n"
        "    app = OcitreeApp(open_store(sys.argv[1], _options(argparse.Namespace(), load_config())))\n"
        "    async with app.run_test() as pilot:\n"
        "        while not seen:\n"
        "            await pilot.pause(0.05)\n"
        "asyncio.run(run())\n"
        "print(seen)\n"
    )
    from ocitree.sample_data.builder import RegistryBuilder

    b = RegistryBuilder()
    b.image("team/app", ["v1"])
    b.index("team/app", [b.image("team/app"), b.image("team/app", arch="arm64")], ["v2"])
    path = tmp_path / "sample.json"
    path.write_text(json.dumps(b.to_sample()))
    proc = subprocess.run([sys.executable, "-c", probe, str(path)], capture_output=True, text=True,
                          env={**os.environ, "XDG_CONFIG_HOME": str(tmp_path)}, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[([], ['team/app'])]", proc.stdout
