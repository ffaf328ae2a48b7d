"""TUI speed and memory on a generated registry of 100,000 artifacts, headless.

    .venv/bin/python -m bench.tui_bench                       # both shapes, both stores
    .venv/bin/python -m bench.tui_bench --repositories 1 --stores memory

Each case runs in a fresh subprocess (its peak memory is its own), in an 80x24 headless app:

  first screen    from constructing OcitreeApp to the first frame that shows the tree.
                  store "memory": the Registry is built before the clock starts, so this is
                  the TUI's own cost; store "sample": the generated sample file is read by
                  core.stores.sample.SampleStore inside the clock (parsing included).
  key to repaint  from sending a key event to the next frame the app renders (Textual caps
                  frames at 60 per second, so up to ~16 ms of this is frame pacing). Median
                  and 95th percentile for: moving the cursor (down/up over repositories,
                  over a 500-row group of indexes, over an expanded index), expanding a
                  repository (each of them), a group of 500 indexes and an index of 10
                  children, and collapsing a repository.
                  Filter: typing `f`, a filter, then Enter (timed) and Esc (timed) for each of
                  FILTERS; sort: `o` pressed nine times (three rounds of name, created, size).
  memory          peak resident set size of the process (ru_maxrss), and the part of it
                  added after the imports and the registry were in place.

Shapes (sample_data.generate): 100,000 artifacts in 10 repositories (indexes of 10 children,
10% of children shared, signatures and signed SBOMs), and the same in 1 repository, whose
~9,000 top-level indexes the tree shows in groups of 500.

Targets: first screen <= 2 s (memory store), median key to repaint <= 50 ms, peak memory
<= 500 MB. A table goes to stdout, the figures to bench/results/tui_bench-<time>.json;
exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"
# Filters timed: a platform, a kind, a marker, a digest prefix, a tag fragment, two words.
FILTERS = ["arm64", "sbom", "shared", "0a1b", "v1", "signature shared"]
FIRST_SCREEN_TARGET_S = 2.0
KEY_TARGET_MS = 50.0
MEMORY_TARGET_MB = 500.0
CACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ocitree-bench"


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


# -- one case, in its own process ------------------------------------------------------------------


def run_case(artifacts: int, repositories: int, store_kind: str, presses: int) -> dict:
    started = time.perf_counter()
    from core.stores.base import Store
    from core.stores.sample import SampleStore
    from sample_data.generate import Shape, generate_registry, write_sample
    from textual import events
    from tui.app import OcitreeApp

    imported = time.perf_counter()
    shape = Shape.for_total(artifacts, repositories=repositories)
    if store_kind == "memory":
        registry = generate_registry(shape, source="synthetic")

        class MemoryStore(Store):
            source = "synthetic"

            def load(self, progress=None):
                return registry

            def session(self, repositories):
                raise NotImplementedError

        store = MemoryStore()
        count = registry.artifact_count
    else:
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        path = CACHE_DIR / f"registry-{artifacts}-{repositories}.json"
        if not path.exists():
            write_sample(shape, path)
        store = SampleStore(path)
        count = None
    prepared = time.perf_counter()
    rss_before = _rss_mb()

    frames: list[float] = []
    frame_event = asyncio.Event()

    async def scenario() -> dict:
        t0 = time.perf_counter()
        app = OcitreeApp(store, read_only=True)
        real_display = app._display

        def display(screen, renderable) -> None:
            real_display(screen, renderable)
            if renderable is not None:
                frames.append(time.perf_counter())
                frame_event.set()

        app._display = display  # type: ignore[method-assign]
        # Headless apps skip drawing in _display, but the frame is composed before the call.
        async with app.run_test(size=(80, 24)) as pilot:
            while not (app.registry is not None and app.tree.root.children and frames and frames[-1] > app._loaded_at):
                frame_event.clear()
                try:
                    await asyncio.wait_for(frame_event.wait(), 60)
                except TimeoutError:
                    raise SystemExit("the tree never appeared") from None
            first_screen = frames[-1] - t0
            tree = app.tree

            async def key(name: str) -> float:
                await pilot.pause()
                frame_event.clear()
                sent = time.perf_counter()
                app._driver.send_message(events.Key(name, None))  # type: ignore[union-attr]
                while True:
                    await asyncio.wait_for(frame_event.wait(), 10)
                    if frames[-1] > sent:
                        return (frames[-1] - sent) * 1000
                    frame_event.clear()

            timings: dict[str, list[float]] = {}

            async def measure(label: str, keys: list[str]) -> None:
                timings.setdefault(label, []).extend([await key(k) for k in keys])

            half = presses // 2
            top_rows = len(tree.root.children)
            await measure("move: repositories", (["down"] * (top_rows - 1) + ["up"] * (top_rows - 1)) * max(1, half // max(1, top_rows)))
            for repo_node in list(tree.root.children)[1:]:  # each repository but the first, opened and closed
                tree.move_cursor(repo_node)
                await measure("expand: repository", ["enter"])
                await measure("collapse", ["left"])
            tree.move_cursor(tree.root.children[0])
            await measure("expand: repository", ["enter"])
            await pilot.pause()
            await measure("move: repositories", ["down"])
            group = tree.cursor_node
            kind = group.data.kind
            await measure(f"expand: {'group of 500' if kind == 'group' else 'index'}", ["enter"])
            await app.workers.wait_for_complete()
            await pilot.pause()
            if kind == "group":
                await measure("move: 500-row group", ["down"] * half + ["up"] * half)
                await measure("move: 500-row group", ["down"] * 3)
                indexes = [n for n in group.children if n.allow_expand][10:15]
                for node in indexes:  # expand a few indexes of 10 children, then walk through one
                    tree.move_cursor(node)
                    await measure("expand: index of 10", ["enter"])
                    await measure("move: inside an index", ["down"] * 12)
            total_lines = tree.last_line + 1
            await pilot.pause()
            # Filter and sort: the key that applies them (Enter in the filter bar, `o`) to the
            # repaint. Each filter is typed first (not timed), then Enter is timed; Esc clears.
            for words in FILTERS:
                await pilot.press("f")
                await pilot.press(*words)
                await app.workers.wait_for_complete()
                await measure("filter: Enter", ["enter"])
                await app.workers.wait_for_complete()
                await measure("filter: Esc clears", ["escape"])
                await app.workers.wait_for_complete()
            for _ in range(3):
                await measure("sort: o", ["o"] * 3)  # name -> created -> size -> name
                await app.workers.wait_for_complete()
            return {"first_screen_s": first_screen, "timings": timings, "tree_lines": total_lines}

    import tui.app as tui_app

    original_loaded = tui_app.OcitreeApp._loaded

    def loaded(self, registry):
        original_loaded(self, registry)
        self._loaded_at = time.perf_counter()

    tui_app.OcitreeApp._loaded = loaded  # type: ignore[method-assign]
    tui_app.OcitreeApp._loaded_at = float("inf")
    result = asyncio.run(scenario())
    summary = {
        label: {"median_ms": statistics.median(v), "p95_ms": _percentile(v, 95), "max_ms": max(v), "n": len(v)}
        for label, v in result["timings"].items()
    }
    return {
        "artifacts": count if count is not None else artifacts,
        "repositories": repositories,
        "store": store_kind,
        "import_s": imported - started,
        "prepare_s": prepared - imported,
        "first_screen_s": result["first_screen_s"],
        "keys": summary,
        "tree_lines_at_end": result["tree_lines"],
        "peak_rss_mb": _rss_mb(),
        "rss_added_mb": _rss_mb() - rss_before,
    }


# -- the driver ----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tui_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--artifacts", type=int, default=100_000)
    parser.add_argument("--repositories", type=int, nargs="+", default=[10, 1])
    parser.add_argument("--stores", nargs="+", choices=["memory", "sample"], default=["memory", "sample"])
    parser.add_argument("--presses", type=int, default=100, help="cursor moves per measured stretch")
    parser.add_argument("--case", nargs=3, metavar=("ARTIFACTS", "REPOSITORIES", "STORE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.case:
        print(json.dumps(run_case(int(args.case[0]), int(args.case[1]), args.case[2], args.presses)))
        return 0

    results = []
    for repositories in args.repositories:
        for store in args.stores:
            cmd = [sys.executable, "-m", "bench.tui_bench", "--presses", str(args.presses),
                   "--case", str(args.artifacts), str(repositories), store]
            proc = subprocess.run(cmd, capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent)
            if proc.returncode != 0:
                print(proc.stderr, file=sys.stderr)
                return 2
            results.append(json.loads(proc.stdout.strip().splitlines()[-1]))

    missed = []
    for r in results:
        print(f"\n{r['artifacts']:,} artifacts in {r['repositories']} repositor{'y' if r['repositories'] == 1 else 'ies'}, "
              f"{r['store']} store")
        print(f"  imports {r['import_s']:.2f} s; registry prepared in {r['prepare_s']:.2f} s (outside the clock)")
        print(f"  first screen with the tree: {r['first_screen_s']:.2f} s")
        for label, k in r["keys"].items():
            print(f"  {label:<24} median {k['median_ms']:6.1f} ms   p95 {k['p95_ms']:6.1f} ms   max {k['max_ms']:6.1f} ms   (n={k['n']})")
            if k["median_ms"] > KEY_TARGET_MS:
                missed.append(f"{label} median {k['median_ms']:.1f} ms ({r['repositories']} repos, {r['store']})")
        print(f"  peak memory {r['peak_rss_mb']:.0f} MB ({r['rss_added_mb']:.0f} MB added by the app)")
        if r["store"] == "memory" and r["first_screen_s"] > FIRST_SCREEN_TARGET_S:
            missed.append(f"first screen {r['first_screen_s']:.2f} s ({r['repositories']} repos)")
        if r["peak_rss_mb"] > MEMORY_TARGET_MB:
            missed.append(f"peak memory {r['peak_rss_mb']:.0f} MB ({r['repositories']} repos, {r['store']})")

    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"tui_bench-{time.strftime('%Y%m%dT%H%M%S')}.json"
    machine = {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()}
    out.write_text(json.dumps({"machine": machine, "command": " ".join([sys.executable, "-m", "bench.tui_bench", *(argv or sys.argv[1:])]),
                               "results": results, "missed": missed}, indent=2) + "\n")
    print(f"\nfigures: {out}")
    if missed:
        print("MISSED: " + "; ".join(missed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
