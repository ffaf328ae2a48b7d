"""Planning speed and memory on large synthetic registries.

    .venv/bin/python -m bench.plan_bench                      # 10,000 and 1,000,000 artifacts
    .venv/bin/python -m bench.plan_bench --sizes 10000 --plans 500

For each size, in a fresh subprocess (so that its peak memory is its own):
  - generate a registry with sample_data.generate (10 children per index, 10% of children shared
    with a second index, 10% of indexes nested in bundles, signatures and signed SBOMs, tags,
    0.5% of indexes listing a missing child), GC paused: the generator's cost, not a target;
  - build the reference graph as a store does after parsing (core.model.Repository with its
    cycle check, GC on): "graph build";
  - plan the deletion of many different indexes of 10 children, one plan each, with the
    protection rule `release-*` (so rule 6 is checked): median and 99th percentile of
    core.planner.plan_deletion alone (targets are resolved beforehand);
  - memory: peak resident set size of the process (resource.getrusage ru_maxrss), and the
    same minus the size right after imports.

Targets: median plan <= 1 ms at every size, and the largest size's median at most 1.5 times
the smallest's. A table goes to stdout, the figures to bench/results/plan_bench-<time>.json.
Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"
MEDIAN_TARGET_US = 1000.0
GROWTH_TARGET = 1.5
PROTECT = ["release-*"]
CHILDREN = 10


def _shape(size: int, seed: int):
    from ocitree.sample_data.generate import Shape

    # 10 repositories of ~1,000 artifacts at 10k, 100 of ~10,000 at 1M: repositories grow too.
    repositories = max(1, round(math.sqrt(size) / 10))
    return Shape.for_total(
        size,
        repositories=repositories,
        children=CHILDREN,
        share=0.1,
        nesting=0.1,
        tagged=0.8,
        tagged_children=0.02,
        accessories=0.1,
        missing=0.005,
        seed=seed,
    )


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _full_collections() -> int:
    return gc.get_stats()[2]["collections"]


def measure(size: int, plans: int, seed: int) -> dict:
    """One size, in this process."""
    from ocitree.core import media_types as mt
    from ocitree.core.model import Registry, Repository
    from ocitree.core.plan import TargetRef
    from ocitree.core.planner import plan_deletion
    from ocitree.sample_data.generate import generate_artifacts

    baseline = _rss_mib()
    shape = _shape(size, seed)
    t0 = time.perf_counter()
    generated = generate_artifacts(shape)
    t1 = time.perf_counter()
    registry = Registry("synthetic", [Repository(name, artifacts) for name, artifacts in generated])
    t2 = time.perf_counter()
    del generated

    # Every index of exactly CHILDREN images is a candidate: top-level ones (most are allowed,
    # many keep a shared child, some take accessories or hit a protected tag) and ones nested in a
    # bundle (refused: referenced). Each is planned once, so caches are as cold as in real use.
    candidates = [
        (repo.name, a.digest)
        for repo in registry.repositories.values()
        for a in repo.artifacts.values()
        if a.is_index and len(a.children) == CHILDREN and all(c.media_type in mt.MANIFEST_TYPES for c in a.children)
    ]
    # A small registry has fewer such indexes than plans wanted: it goes round them again.
    rng = random.Random(seed)
    warmup = min(50, len(candidates) // 10)
    chosen = rng.sample(candidates, min(len(candidates), plans + warmup))
    while len(chosen) < plans + warmup:
        chosen += rng.sample(candidates, min(len(candidates), plans + warmup - len(chosen)))
    targets = [[TargetRef(repository=r, digest=d, reference=f"{r}@{d}")] for r, d in chosen]
    for t in targets[:warmup]:
        plan_deletion(registry, t, PROTECT)

    timings: list[int] = []
    mix = {"allowed": 0, "refused_referenced": 0, "refused_protected": 0, "keeps_shared": 0, "takes_accessories": 0}
    deleted = 0
    full_gc_before = _full_collections()
    clock = time.perf_counter_ns
    for t in targets[warmup:]:
        start = clock()
        plan = plan_deletion(registry, t, PROTECT)
        timings.append(clock() - start)
        if plan.allowed:
            mix["allowed"] += 1
            deleted += len(plan.delete)
        reasons = {r.reason for r in plan.refusals}
        mix["refused_referenced"] += "referenced" in reasons
        mix["refused_protected"] += "protected_tag" in reasons
        mix["keeps_shared"] += any(k.reason == "shared" for k in plan.keep)
        mix["takes_accessories"] += any(d.why == "accessory" for d in plan.delete)
    full_gc = _full_collections() - full_gc_before

    timings.sort()
    us = [t / 1000 for t in timings]
    return {
        "size": size,
        "artifacts": registry.artifact_count,
        "repositories": len(registry.repositories),
        "shape": {k: v for k, v in vars(shape).items()},
        "generate_s": round(t1 - t0, 3),
        "graph_build_s": round(t2 - t1, 3),
        "plans": len(us),
        "distinct_targets": len(set(chosen[warmup:])),
        "plan_median_us": round(statistics.median(us), 1),
        "plan_p99_us": round(us[min(len(us) - 1, math.ceil(0.99 * len(us)) - 1)], 1),
        "plan_mean_us": round(statistics.fmean(us), 1),
        "plan_max_us": round(us[-1], 1),
        "plan_mix": mix,
        "mean_deleted_when_allowed": round(deleted / mix["allowed"], 2) if mix["allowed"] else 0,
        "full_gc_during_plans": full_gc,
        "rss_after_imports_mib": round(baseline, 1),
        "rss_peak_mib": round(_rss_mib(), 1),
        "memory_measure": "resource.getrusage(RUSAGE_SELF).ru_maxrss of a fresh process",
    }


def _run_one(size: int, plans: int, seed: int) -> dict:
    cmd = [sys.executable, "-m", "bench.plan_bench", "--one", str(size), "--plans", str(plans), "--seed", str(seed)]
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"benchmark of {size:,} artifacts failed (exit {done.returncode})")
    return json.loads(done.stdout)


def _table(results: list[dict]) -> str:
    header = ["artifacts", "repos", "generate", "graph build", "plans", "median", "p99", "max", "peak RSS", "RSS - imports"]
    rows = [
        [
            f"{r['artifacts']:,}",
            f"{r['repositories']:,}",
            f"{r['generate_s']:.2f} s",
            f"{r['graph_build_s']:.2f} s",
            f"{r['plans']:,}",
            f"{r['plan_median_us'] / 1000:.3f} ms",
            f"{r['plan_p99_us'] / 1000:.3f} ms",
            f"{r['plan_max_us'] / 1000:.3f} ms",
            f"{r['rss_peak_mib']:,.0f} MiB",
            f"{r['rss_peak_mib'] - r['rss_after_imports_mib']:,.0f} MiB",
        ]
        for r in results
    ]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(header, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in rows]
    for r in results:
        m = r["plan_mix"]
        lines.append(
            f"{r['artifacts']:,} artifacts: {m['allowed']} allowed (mean {r['mean_deleted_when_allowed']} deleted), "
            f"{m['refused_referenced']} refused as referenced, {m['refused_protected']} as protected, "
            f"{m['keeps_shared']} keep a shared child, {m['takes_accessories']} take accessories; "
            f"{r['distinct_targets']:,} distinct indexes; full GCs while planning: {r['full_gc_during_plans']}"
        )
    return "\n".join(lines)


def _verdict(results: list[dict]) -> tuple[bool, list[str]]:
    lines = []
    ok = True
    for r in results:
        good = r["plan_median_us"] <= MEDIAN_TARGET_US
        ok &= good
        lines.append(f"{'PASS' if good else 'FAIL'}  median plan at {r['artifacts']:,} artifacts: {r['plan_median_us'] / 1000:.3f} ms (target <= 1 ms)")
    if len(results) > 1:
        small, large = min(results, key=lambda r: r["size"]), max(results, key=lambda r: r["size"])
        ratio = large["plan_median_us"] / small["plan_median_us"]
        good = ratio <= GROWTH_TARGET
        ok &= good
        lines.append(
            f"{'PASS' if good else 'FAIL'}  median at {large['artifacts']:,} / median at {small['artifacts']:,}: "
            f"{ratio:.2f}x (target <= {GROWTH_TARGET}x)"
        )
    return ok, lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.plan_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000], metavar="N", help="registry sizes in artifacts")
    parser.add_argument("--plans", type=int, default=2000, help="distinct indexes planned per size")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--one", type=int, metavar="N", help=argparse.SUPPRESS)  # the per-size subprocess
    args = parser.parse_args(argv)
    if args.one is not None:
        print(json.dumps(measure(args.one, args.plans, args.seed)))
        return 0

    results = []
    for size in args.sizes:
        print(f"measuring {size:,} artifacts ...", file=sys.stderr, flush=True)
        results.append(_run_one(size, args.plans, args.seed))
    ok, verdict = _verdict(results)
    print(_table(results))
    print("\n".join(verdict))
    print("plan = core.planner.plan_deletion alone, one index per plan, protect release-*; "
          "memory = ru_maxrss (peak RSS) of a fresh process per size")
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = RESULTS_DIR / f"plan_bench-{stamp}.json"
    record = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "python": sys.version.split()[0],
        "machine": f"{platform.machine()} {platform.system()} {os.cpu_count()} cpu",
        "targets": {"median_us_max": MEDIAN_TARGET_US, "growth_max": GROWTH_TARGET},
        "passed": ok,
        "results": results,
    }
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"results: {out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
