"""Prune at scale: from a loaded registry to one plan.

    .venv/bin/python -m bench.prune_bench                 # 1,000,000 artifacts
    .venv/bin/python -m bench.prune_bench --size 100000

In a fresh subprocess per size: generate a registry with sample_data.generate (10 children per
index, 10% shared, 10% nested, signatures and SBOMs, tags `build-N` / `release-N`) and give every
image a created time (not measured: that is what a load gives). Then measure what the user waits
for after the load: the rule's selection and the one plan (core.prune.select_by_rule +
plan_prune) for `--tags 'build-*' --keep-last 10 --older-than 30d --untagged`, with the
protection rule `release-*` (which refuses nothing here: candidates carry only `build-*` tags).
A second row adds the rule `*.sig`, so that candidates whose signature would go are refused,
retained, and the planner runs again without them. Memory: the growth of peak RSS across the
measured step (of the first row). The plan's entries are made when first read; reading them
after (the plan's JSON; every entry as the executor reads them) is measured apart and printed.

Target: at most 2 s on this project's 2-core machine. Exit 1 when missed.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"
TARGET_S = 2.0


def _run_one(size: int) -> dict:
    from ocitree.core.gc_pause import gc_paused
    from ocitree.core.prune import PruneRule, plan_prune, select_by_rule
    from ocitree.sample_data.generate import Shape, generate_registry

    shape = Shape.for_total(size, repositories=max(1, size // 10000), children=10, share=0.1, nesting=0.1,
                            tagged=0.8, tagged_children=0.02, accessories=0.1, missing=0.005)
    with gc_paused():
        registry = generate_registry(shape)
        now = 1_780_000_000.0
        for repo in registry.repositories.values():
            for i, artifact in enumerate(repo.artifacts.values()):
                if not artifact.is_index:
                    artifact.created = now - 86400 * 400 + i * 60  # one a minute, the newest last
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rule = PruneRule(tags=("build-*",), keep_last=10, older_than=30 * 86400, untagged=True)
    started = time.perf_counter()
    selection = select_by_rule(registry, rule, now)
    selected = time.perf_counter()
    plan = plan_prune(registry, selection, ["release-*"])
    planned = time.perf_counter()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # The plan's entries are made when first read (core.plan.DeleteEntries): what reading them
    # costs is measured apart, as `ocitree prune --json` pays it (to_json_dict) and as the
    # executor and the text plan do (every entry made).
    started_json = time.perf_counter()
    plan.to_json_dict()
    json_s = time.perf_counter() - started_json
    started_read = time.perf_counter()
    len(list(plan.delete))
    read_s = time.perf_counter() - started_read
    started_refused = time.perf_counter()
    refused = plan_prune(registry, select_by_rule(registry, rule, now), ["release-*", "*.sig"])
    refused_s = time.perf_counter() - started_refused
    return {
        "artifacts": registry.artifact_count,
        "repositories": len(registry.repositories),
        "targets": len(plan.targets),
        "deleted": len(plan.delete),
        "retained": len(plan.retained),
        "select_s": round(selected - started, 3),
        "plan_s": round(planned - selected, 3),
        "total_s": round(planned - started, 3),
        "added_peak_rss_mib": round((rss_after - rss_before) / 1024, 1),
        "to_json_s": round(json_s, 3),
        "entries_made_s": round(read_s, 3),
        "with_refusals_total_s": round(refused_s, 3),
        "with_refusals_retained": len(refused.retained),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.prune_bench")
    parser.add_argument("--size", type=int, action="append", help="artifacts (repeatable; default 1,000,000)")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # the measured child process
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(_run_one(args.one)))
        return 0
    rows = []
    for size in args.size or [1_000_000]:
        out = subprocess.run([sys.executable, "-m", "bench.prune_bench", "--one", str(size)],
                             capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"{'artifacts':>10} {'targets':>8} {'deleted':>8} {'retained':>8} {'select s':>9} {'plan s':>7} {'total s':>8} {'+peak MiB':>9}")
    for r in rows:
        print(f"{r['artifacts']:>10,} {r['targets']:>8,} {r['deleted']:>8,} {r['retained']:>8,} {r['select_s']:>9} "
              f"{r['plan_s']:>7} {r['total_s']:>8} {r['added_peak_rss_mib']:>9}")
        print(f"{'':>10} reading the plan after: its JSON (to_json_dict) {r['to_json_s']} s, "
              f"every entry made {r['entries_made_s']} s")
        print(f"{'':>10} with '*.sig' protected too: {r['with_refusals_retained']:,} retained, "
              f"select and plan {r['with_refusals_total_s']} s")
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / f"prune_bench-{time.strftime('%Y%m%dT%H%M%S')}.json").write_text(json.dumps(rows, indent=2))
    missed = [r for r in rows if r["total_s"] > TARGET_S]
    if missed:
        print(f"target missed: prune plan > {TARGET_S} s", file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
