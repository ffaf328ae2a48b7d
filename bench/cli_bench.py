"""Whole-process speed: what a user waits for, against a floor measured in the same run.

    .venv/bin/python -m bench.cli_bench                      # every shape
    .venv/bin/python -m bench.cli_bench --only layouts registry --rounds 5
    .venv/bin/python -m bench.cli_bench --tree /tmp/ocitree-before   # another checkout's code

Every measured command is its own process, started as a user starts it (interpreter start and
imports count, imports from bytecode compiled beforehand as an installed copy's is). The inputs
are built here, OUTSIDE the measured processes, and cached under ~/.cache/ocitree-bench
(layouts, sample files); the registry is pushed into a fresh docker-registry on loopback each
run (not measured).

  layouts    `ocitree ls ROOT --json` and `ocitree ls ROOT` (piped to a file) on a root of
             20 OCI layouts, 25,020 manifests. Floor: a plain Python process that reads every
             index.json and json-parses every manifest blob it reaches. Exact floor (second
             rows): the same plus what an exact listing must do (each manifest checked against
             its digest, each image config read for its date, each blob directory listed).
  registry   warm `ocitree ls URL --json` (manifest cache filled by one run before) against a
             docker-registry of 2,040 manifests with 400 tags, then with 2,440 tags (tag-heavy:
             20 tags per index). Floor: a plain Python process with one keep-alive http.client
             connection sending the catalog, each tags/list and one conditional GET
             (If-None-Match: "<digest>", answered 304) per tag. Exact floor (a second row): the
             same plus one HEAD per manifest no tag names, the question an exact warm listing
             must still ask (a cached manifest may have been deleted since).
  tui        the TUI's first screen with the tree, in tmux at 80x24, on sample files of 100,000
             and 1,000,000 artifacts: from starting the process to the pane showing the first
             repository; peak memory (VmHWM) at that moment. Floor: a Textual app that
             json.loads the same file in on_mount and then shows one line.
  find       `/` search at 1,000,000 artifacts (in one process, after loading): the index
             build once, then the median of several queries (tag, digest prefix, repository,
             no match). Floor: none (the issue's floor is one key repaint, 14 ms).

The same rounds alternate floor and ocitree, so machine load hits both; the medians and their
ratio are printed, with the goal of issue 10. Figures go to bench/results/cli_bench-<time>.json.
`--tree DIR` runs another checkout's ocitree (its folders, as the package ocitree, go first on
PYTHONPATH) with this bench: that is how a "before" column is measured.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve()
REPO = HERE.parent.parent
RESULTS_DIR = HERE.parent / "results"
CACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ocitree-bench"

LAYOUT_REPOSITORIES, LAYOUT_INDEXES, LAYOUT_PLATFORMS = 20, 139, 4  # 20 x 139 x (1 + 2 x 4) = 25,020
REGISTRY_REPOSITORIES, REGISTRY_RELEASES, REGISTRY_PLATFORMS = 20, 6, 8  # 2,040 manifests
HEAVY_TAGS_PER_INDEX = 20
GOALS = {"layouts-json": 2.0, "layouts-text": 3.0, "registry-warm": 1.5, "registry-heavy": 1.5,
         "tui-100k": 1.5, "tui-1m": 1.5}


# -- shapes (built here, outside every measured process) ---------------------------------------------


def _add_release(builder, repo: str, v: int, platforms: int, tags: list[str]):
    images = [builder.image(repo, arch=f"arch{p}", layer_sizes=(64,), seed=f"{repo}/v{v}/{p}") for p in range(platforms)]
    attestations = [builder.accessory(repo, image, "attestation", cosign_tag=False) for image in images]
    children = images + [(a, {"os": "unknown", "architecture": "unknown"}) for a in attestations]
    return builder.index(repo, children, tags)


def layout_root() -> Path:
    root = CACHE_DIR / f"layouts-{LAYOUT_REPOSITORIES}x{LAYOUT_INDEXES}x{LAYOUT_PLATFORMS}"
    if (root / ".complete").exists():
        return root
    from ocitree.sample_data.builder import RegistryBuilder

    shutil.rmtree(root, ignore_errors=True)
    builder = RegistryBuilder()
    for r in range(LAYOUT_REPOSITORIES):
        repo = f"service-{r:02d}"
        for v in range(1, LAYOUT_INDEXES + 1):
            _add_release(builder, repo, v, LAYOUT_PLATFORMS, [f"v{v}"] + (["latest"] if v == LAYOUT_INDEXES else []))
    builder.write_layouts(root)
    (root / ".complete").write_text("")
    return root


def registry_builder():
    """2,040 manifests; tags vN, vN.0, vN.0.0 on each index and latest, stable on the newest: 400 tags."""
    from ocitree.sample_data.builder import RegistryBuilder

    builder = RegistryBuilder()
    indexes = []
    for r in range(REGISTRY_REPOSITORIES):
        repo = f"bench/service-{r:02d}"
        for v in range(1, REGISTRY_RELEASES + 1):
            tags = [f"v{v}", f"v{v}.0", f"v{v}.0.0"] + (["latest", "stable"] if v == REGISTRY_RELEASES else [])
            indexes.append(_add_release(builder, repo, v, REGISTRY_PLATFORMS, tags))
    return builder, indexes


def sample_file(artifacts: int) -> Path:
    path = CACHE_DIR / f"registry-{artifacts}-10.json"  # the same file bench.tui_bench uses
    if not path.exists():
        from ocitree.sample_data.generate import Shape, write_sample

        tmp = path.with_suffix(".tmp")
        write_sample(Shape.for_total(artifacts, repositories=10), tmp)
        tmp.rename(path)
    return path


# -- floors (each runs as its own process: `python cli_bench.py --floor KIND ARGS`) ------------------


def floor_layouts(root: str, exact: str = "") -> None:
    """`exact`: also what an exact listing must do beyond parsing: check each manifest against its
    digest, read each image config once (its created date) and list the blob directory (leftovers)."""
    import hashlib
    import json as j

    count = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "blobs" and not d.startswith("."))
        if "index.json" not in filenames:
            continue
        with open(os.path.join(dirpath, "index.json"), "rb") as fh:
            index = j.loads(fh.read())
        queue = [m["digest"] for m in index["manifests"]]
        seen = set(queue)
        configs = set()
        while queue:
            digest = queue.pop()
            with open(os.path.join(dirpath, "blobs", "sha256", digest[7:]), "rb") as fh:
                data = fh.read()
            doc = j.loads(data)
            count += 1
            if exact:
                assert hashlib.sha256(data).hexdigest() == digest[7:]
                if "config" in doc and doc["config"]["mediaType"] == "application/vnd.oci.image.config.v1+json":
                    configs.add(doc["config"]["digest"])
            for child in doc.get("manifests", ()):
                if child["digest"] not in seen:
                    seen.add(child["digest"])
                    queue.append(child["digest"])
        if exact:
            for digest in configs:
                with open(os.path.join(dirpath, "blobs", "sha256", digest[7:]), "rb") as fh:
                    data = fh.read()
                assert hashlib.sha256(data).hexdigest() == digest[7:]
                j.loads(data).get("created")
            len(os.listdir(os.path.join(dirpath, "blobs", "sha256")))
    print(count)


def floor_registry(url: str, tags_file: str, heads_file: str = "") -> None:
    import http.client
    import json as j
    from urllib.parse import urlsplit

    accept = ", ".join([
        "application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json"])
    with open(tags_file) as fh:
        tags = j.load(fh)  # [[repository, tag, digest], ...]
    conn = http.client.HTTPConnection(urlsplit(url).netloc)
    conn.request("GET", "/v2/_catalog?n=1000")
    repositories = j.loads(conn.getresponse().read())["repositories"]
    for repo in repositories:
        conn.request("GET", f"/v2/{repo}/tags/list")
        conn.getresponse().read()
    unchanged = 0
    for repo, tag, digest in tags:
        conn.request("GET", f"/v2/{repo}/manifests/{tag}", headers={"Accept": accept, "If-None-Match": f'"{digest}"'})
        response = conn.getresponse()
        response.read()
        unchanged += response.status == 304
    if unchanged != len(tags):
        print(f"floor: {len(tags) - unchanged} of {len(tags)} conditional GETs were not answered 304", file=sys.stderr)
    if heads_file:  # the exact floor: also ask for each manifest no tag names, as an exact listing must
        with open(heads_file) as fh:
            for repo, digest in j.load(fh):
                conn.request("HEAD", f"/v2/{repo}/manifests/{digest}", headers={"Accept": accept})
                response = conn.getresponse()
                response.read()
    print(len(tags))


def floor_tui(path: str) -> None:
    import json as j

    from textual.app import App
    from textual.widgets import Static

    class Floor(App):
        def compose(self):
            yield Static("starting")

        def on_mount(self) -> None:
            with open(path, "rb") as fh:
                doc = j.load(fh)
            self.query_one(Static).update("FLOOR-READY " + next(iter(doc["repositories"])))

    Floor().run()


# -- the find case (one process: load, then time the index and the queries) --------------------------


def find_case(path: str) -> None:
    from ocitree.core.stores.sample import SampleStore

    registry = SampleStore(path).load()
    repo = registry.repositories[sorted(registry.repositories)[-1]]
    some = list(repo.artifacts.values())[len(repo.artifacts) // 2]
    queries = [next(a for a in reversed(repo.artifacts.values()) if a.tags).tags[0],  # a tag
               some.digest[7:15],  # a digest prefix
               "app3",  # repositories
               "release",  # many tags
               "nothing-like-this"]
    try:
        from ocitree.tui.widgets.find_index import FindIndex
    except ImportError:  # an older checkout: every query scans the registry
        from ocitree.tui.widgets.search import find_matches

        build_s = 0.0

        def query(q):
            return find_matches(registry, q)
    else:
        t = time.perf_counter()
        index = FindIndex(registry)
        build_s = time.perf_counter() - t
        query = index.matches
    times, counts = [], []
    for q in queries * 3:
        t = time.perf_counter()
        found = query(q)
        times.append(time.perf_counter() - t)
        counts.append(len(found))
    print(json.dumps({"build_s": build_s, "median_query_s": statistics.median(times), "max_query_s": max(times),
                      "matches": dict(zip(queries, counts))}))


# -- running ocitree -------------------------------------------------------------------------------


class Runner:
    def __init__(self, tree: Path, scratch: Path):
        self.tree = tree
        self.scratch = scratch
        home = scratch / "xdg"
        # The tree's folders as the package ocitree.*, as pyproject.toml installs them. PYTHONPATH=tree
        # alone found only its ocitree/__init__.py: core/ and tui/ came from the editable install.
        package = scratch / "path" / "ocitree"
        package.mkdir(parents=True)
        for module in (tree / "ocitree").glob("*.py"):
            (package / module.name).symlink_to(module)
        for folder in ("core", "tui", "sample_data"):
            (package / folder).symlink_to(tree / folder)
        self.env = {**os.environ, "PYTHONPATH": str(package.parent),
                    "XDG_CONFIG_HOME": str(home / "config"), "XDG_DATA_HOME": str(home / "data"),
                    "XDG_STATE_HOME": str(home / "state"), "XDG_CACHE_HOME": str(home / "cache")}
        self.env.pop("NO_COLOR", None)
        # Bytecode, as an installed copy has it (pip compiles on install; a checkout writes __pycache__
        # on its first run). Without it every measured process compiled ocitree's modules again, 0.15 s
        # the floor's imports (Textual's, compiled) never paid, wherever PYTHONDONTWRITEBYTECODE is set.
        for folder in ("ocitree", "core", "tui", "sample_data"):
            compileall.compile_dir(tree / folder, quiet=1)

    def ocitree(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "ocitree.tui.cli", *args]

    def floor(self, *args: str) -> list[str]:
        return [sys.executable, str(HERE), "--floor", *args]

    def timed(self, cmd: list[str]) -> float:
        out = self.scratch / "stdout"
        with open(out, "wb") as fh:
            t = time.perf_counter()
            proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.PIPE, env=self.env, cwd=self.scratch)
            elapsed = time.perf_counter() - t
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.decode()[-2000:]}")
        return elapsed

    def tmux_first_screen(self, cmd: list[str], marker: str, timeout: float = 300.0) -> tuple[float, float]:
        """Seconds from start to `marker` on an 80x24 tmux pane, and the process's peak RSS in MB."""
        self.sessions = getattr(self, "sessions", 0) + 1  # a server of its own each time: no race with one ending
        socket_name = f"ocitree-bench-{os.getpid()}-{self.sessions}"
        tmux = ["tmux", "-L", socket_name, "-f", "/dev/null"]
        env_args = [f"{k}={self.env[k]}" for k in ("PYTHONPATH", "XDG_CONFIG_HOME", "XDG_DATA_HOME",
                                                    "XDG_STATE_HOME", "XDG_CACHE_HOME")]
        shell = "exec env " + " ".join(_quote(a) for a in [*env_args, *cmd])
        t = time.perf_counter()
        subprocess.run([*tmux, "new-session", "-d", "-x", "80", "-y", "24", "-s", "bench", shell], check=True, cwd=self.scratch)
        try:
            pid = int(subprocess.run([*tmux, "display", "-p", "-t", "bench", "#{pane_pid}"], capture_output=True,
                                     text=True, check=True).stdout.strip())
            hwm = 0.0
            while True:
                screen = subprocess.run([*tmux, "capture-pane", "-p", "-t", "bench"], capture_output=True, text=True).stdout
                if marker in screen:
                    elapsed = time.perf_counter() - t
                    hwm = max(hwm, _peak_rss_mb(pid))
                    return elapsed, hwm
                hwm = max(hwm, _peak_rss_mb(pid))
                if time.perf_counter() - t > timeout:
                    raise SystemExit(f"{marker!r} never appeared; the pane shows:\n{screen}")
                time.sleep(0.05)
        finally:
            subprocess.run([*tmux, "kill-server"], capture_output=True)


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)


def _peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _row(results: list, key: str, measure: str, floor: list[float], ours: list[float], **extra) -> None:
    f, o = statistics.median(floor), statistics.median(ours)
    goal = GOALS.get(key)
    results.append({"key": key, "measure": measure, "floor_s": f, "ocitree_s": o, "ratio": o / f,
                    "goal_ratio": goal, "met": goal is None or o / f <= goal, "floor_runs": floor, "ocitree_runs": ours, **extra})
    print(f"  {measure:<58} floor {f:7.3f} s  ocitree {o:7.3f} s  ratio {o / f:5.2f}"
          + (f"  (goal <= {goal})" if goal else ""), flush=True)


def bench_layouts(runner: Runner, rounds: int, results: list) -> None:
    root = layout_root()
    print(f"layouts: {root}", flush=True)
    runner.timed(runner.ocitree("ls", str(root), "--json"))  # warm the page cache
    floor, exact_floor, js, text = [], [], [], []
    for _ in range(rounds):
        floor.append(runner.timed(runner.floor("layouts", str(root))))
        exact_floor.append(runner.timed(runner.floor("layouts", str(root), "exact")))
        js.append(runner.timed(runner.ocitree("ls", str(root), "--json")))
        text.append(runner.timed(runner.ocitree("ls", str(root))))
    _row(results, "layouts-json", "ls LAYOUT_ROOT --json (20 layouts, 25,020 manifests)", floor, js)
    _row(results, "layouts-text", "ls LAYOUT_ROOT, text to a file", floor, text)
    # What exactness costs: ocitree checks each manifest's digest, reads image configs for dates
    # and lists blob directories for leftovers; this floor does those too (in the plainest way).
    _row(results, "layouts-json-exact", "  ls --json, floor + digests, configs, blob listing", exact_floor, js)
    _row(results, "layouts-text-exact", "  ls text, floor + digests, configs, blob listing", exact_floor, text)


def bench_registry(runner: Runner, rounds: int, results: list) -> None:
    sys.path.insert(0, str(REPO))
    from tests.helpers.registry_push import push_builder, push_manifest
    from tests.helpers.registry_server import RegistryServer

    binary = shutil.which("docker-registry")
    if binary is None:
        print("registry: skipped, docker-registry is not installed")
        return
    builder, indexes = registry_builder()
    server = RegistryServer(binary, runner.scratch / "registry").start()
    try:
        t = time.perf_counter()
        push_builder(builder, server.url)
        manifests = sum(len(builder.manifests(r)) for r in builder.repositories())
        print(f"registry: pushed {manifests} manifests in {time.perf_counter() - t:.1f} s (not measured)", flush=True)
        for key, label in (("registry-warm", "warm ls URL --json"), ("registry-heavy", "warm ls URL --json, tag-heavy")):
            if key == "registry-heavy":
                import httpx

                with httpx.Client(timeout=30) as client:
                    for m in indexes:
                        for n in range(len(m.tags), HEAVY_TAGS_PER_INDEX):
                            tag = f"build-{n:03d}"
                            push_manifest(client, server.url, m, tag)
                            m.tags.append(tag)
            tags = [[m.repository, tag, m.digest] for r in builder.repositories() for m in builder.manifests(r) for tag in m.tags]
            tags_file = runner.scratch / "tags.json"
            tags_file.write_text(json.dumps(tags))
            untagged = [[m.repository, m.digest] for r in builder.repositories() for m in builder.manifests(r) if not m.tags]
            heads_file = runner.scratch / "heads.json"
            heads_file.write_text(json.dumps(untagged))
            runner.timed(runner.ocitree("ls", server.url, "--json"))  # fills the manifest cache
            floor, exact_floor, ours = [], [], []
            for _ in range(rounds):
                floor.append(runner.timed(runner.floor("registry", server.url, str(tags_file))))
                exact_floor.append(runner.timed(runner.floor("registry", server.url, str(tags_file), str(heads_file))))
                ours.append(runner.timed(runner.ocitree("ls", server.url, "--json")))
            _row(results, key, f"{label} ({manifests:,} manifests, {len(tags):,} tags)", floor, ours)
            # What exactness costs: a warm load still asks the registry about every manifest no tag
            # names (core/stores/registry/loader.py), so this floor adds one HEAD for each.
            _row(results, key + "-exact", f"  same, floor + {len(untagged):,} HEADs by digest", exact_floor, ours)
    finally:
        server.stop()


def bench_tui(runner: Runner, rounds: int, results: list, sizes: list[int]) -> None:
    if shutil.which("tmux") is None:
        print("tui: skipped, tmux is not installed")
        return
    for artifacts in sizes:
        path = sample_file(artifacts)
        key = "tui-1m" if artifacts >= 1_000_000 else "tui-100k"
        floor, ours, floor_mb, ours_mb = [], [], [], []
        for _ in range(rounds if artifacts < 1_000_000 else max(1, rounds // 2)):
            s, mb = runner.tmux_first_screen(runner.floor("tui", str(path)), "FLOOR-READY")
            floor.append(s)
            floor_mb.append(mb)
            s, mb = runner.tmux_first_screen(runner.ocitree(str(path), "--read-only"), "synthetic/app0")
            ours.append(s)
            ours_mb.append(mb)
        _row(results, key, f"TUI first screen, {artifacts:,} artifacts, tmux 80x24", floor, ours,
             floor_peak_mb=max(floor_mb), ocitree_peak_mb=max(ours_mb))
        print(f"  {'':58} peak memory: floor {max(floor_mb):.0f} MB, ocitree {max(ours_mb):.0f} MB", flush=True)


def bench_find(runner: Runner, results: list) -> None:
    path = sample_file(1_000_000)
    proc = subprocess.run([sys.executable, str(HERE), "--find-case", str(path)], capture_output=True, text=True,
                          env=runner.env, cwd=runner.scratch)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-2000:])
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    results.append({"key": "find-1m", "measure": "find at 1,000,000 artifacts", **r, "goal_query_s": 0.1,
                    "met": r["median_query_s"] <= 0.1})
    print(f"  {'find at 1,000,000 artifacts':<58} index built once {r['build_s']:.3f} s; "
          f"query median {r['median_query_s'] * 1000:.1f} ms, max {r['max_query_s'] * 1000:.1f} ms (goal <= 100 ms)", flush=True)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--floor"]:
        kind, *rest = argv[1:]
        floors: dict[str, Callable[..., None]] = {"layouts": floor_layouts, "registry": floor_registry, "tui": floor_tui}
        floors[kind](*rest)
        return 0
    if argv[:1] == ["--find-case"]:
        find_case(argv[1])
        return 0
    parser = argparse.ArgumentParser(prog="python -m bench.cli_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=["layouts", "registry", "tui", "find"],
                        default=["layouts", "registry", "tui", "find"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tui-sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--tree", type=Path, default=REPO, help="the ocitree checkout to measure (default: this one)")
    args = parser.parse_args(argv)
    if not (args.tree / "tui" / "cli.py").exists():
        parser.error(f"{args.tree}: not an ocitree checkout")
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(REPO))
    results: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="ocitree-cli-bench-") as tmp:
        runner = Runner(args.tree.resolve(), Path(tmp))
        print(f"measuring {runner.tree}; medians of {args.rounds} rounds; ratio = ocitree / floor", flush=True)
        if "layouts" in args.only:
            bench_layouts(runner, args.rounds, results)
        if "registry" in args.only:
            bench_registry(runner, args.rounds, results)
        if "tui" in args.only:
            bench_tui(runner, args.rounds, results, args.tui_sizes)
        if "find" in args.only:
            bench_find(runner, results)
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"cli_bench-{time.strftime('%Y%m%dT%H%M%S')}.json"
    machine = {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform(),
               "load_average": os.getloadavg()}
    out.write_text(json.dumps({"machine": machine, "tree": str(args.tree), "command": " ".join(["python -m bench.cli_bench", *argv]),
                               "results": results}, indent=2) + "\n")
    missed = [r["measure"] for r in results if not r["met"]]
    print(f"figures: {out}")
    if missed:
        print("MISSED: " + "; ".join(missed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
