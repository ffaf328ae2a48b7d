"""Plans, results and registry listings as Rich renderables for the command line."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from core.model import Artifact, Registry, Repository
from core.names import short_digest
from core.sizes import lists_text, total_size
from core.plan import DeletionPlan, ExecutionResult

from .literal import literal, literal_text


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def size_text(repo: Repository, digest: str) -> str:
    """Both sizes, labelled the same on every screen: `manifest 682 B, total 15.1 KiB`."""
    artifact = repo.artifacts[digest]
    return f"manifest {human_bytes(artifact.size)}, total {human_bytes(total_size(repo, digest))}"


def display_tag(tag: str) -> str:
    """cosign's `sha256-<64 hex>.sig` tags shortened to 12 hex digits for display."""
    text = literal(tag)
    if text.startswith(("sha256-", "sha512-")) and len(text) > 70:
        stem, dot, suffix = text.partition(".")
        return f"{stem[:19]}…{dot}{suffix}"
    return text


def _tags(tags: list[str]) -> str:
    return "tags " + ", ".join(display_tag(t) for t in tags) if tags else "untagged"


RECLAIM_WORDING = {
    "gc": "Reclaimable by the registry's garbage collector",
    "immediate": "Freed at once (unused blobs are removed with their manifests)",
    "kept": "Reclaimable once unused blobs are pruned (--keep-blobs leaves them)",
}


def reclaim_lines(plan: DeletionPlan) -> list[str]:
    """What the plan frees, how sure the figure is, and what it counted: the CLI and the TUI say the same."""
    info = plan.reclaim
    amount = human_bytes(plan.reclaimable_bytes)
    if not info.exact:
        amount = f"at most {amount}"
    first = f"{RECLAIM_WORDING.get(info.by, RECLAIM_WORDING['gc'])}: {amount}"
    if info.counted_across:
        first += f" (exact, counted across {info.counted_across})" if info.exact else f" (counted across {info.counted_across})"
    lines = [first]
    if not info.exact and info.caveat:
        lines.append(f"  an upper bound: {info.caveat}")
    lines.extend(f"  {note}" for note in info.notes)
    return [literal(line) for line in lines]


def render_plan(plan: DeletionPlan, blob_reclaim: str | None = None) -> RenderableType:
    """`blob_reclaim` is ignored: the plan itself says who frees its blobs."""
    parts: list[RenderableType] = []
    targets = ", ".join(literal(r) for r in plan.references)
    parts.append(Text.assemble(("Plan for ", "bold"), (targets, "bold cyan"), f"  (source: {literal(plan.source)})"))
    if not plan.allowed:
        parts.append(Text("REFUSED: nothing will be deleted", style="bold red"))
        for r in plan.refusals:
            parts.append(Text("  x " + literal(r.describe())))
        return Group(*parts)

    labels = {d.digest: display_tag(d.tags[0]) for d in plan.delete if d.tags}
    if plan.rewrite:
        n = len(plan.rewrite)
        parts.append(Text(f"REWRITE {n} referrers ind{'ex' if n == 1 else 'exes'} first (OCI 1.1 fallback tag; bookkeeping, not a parent):",
                          style="bold yellow"))
        for w in plan.rewrite:
            parts.append(Text("  ~ " + literal(w.describe())))
            for digest in w.remove:
                parts.append(Text(f"      without {short_digest(digest)}"))
    labels.update({r.digest: f"{literal(r.reference)} (deleted before)" for r in plan.resumed})
    if plan.delete:
        parts.append(Text(f"DELETE {len(plan.delete)} artifact{'s' if len(plan.delete) != 1 else ''}, in this order:", style="bold red"))
    else:
        parts.append(Text("Nothing left to delete", style="bold"))
    table = None
    repository = None
    for i, d in enumerate(plan.delete, 1):
        if d.repository != repository:
            repository = d.repository
            parts.append(literal_text(f"  {repository}", "bold blue"))
            table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 1))
            table.add_column(justify="right", no_wrap=True, min_width=4)
            table.add_column(no_wrap=True)
            table.add_column(ratio=1)
            parts.append(table)
        why = "referrers index left empty" if d.why == "referrers" else d.why
        if d.via and d.why == "referrers":
            why += " by deleting " + labels.get(d.via, short_digest(d.via))
        elif d.via:
            why += " of " + labels.get(d.via, short_digest(d.via))
        kind = d.kind + (f" {d.platform}" if d.platform else "")
        table.add_row(f"{i}.", short_digest(d.digest), Text(literal(f"{kind}; {_tags(d.tags)}; {why}")))  # a str cell is markup
    if plan.keep:
        parts.append(Text(f"KEEP {len(plan.keep)}", style="bold green"))
        for k in plan.keep:
            parts.append(Text("  = " + literal(k.describe())))
    if plan.missing:
        parts.append(Text(f"MISSING {len(plan.missing)} (listed but not in the repository; reported, not an error)", style="bold yellow"))
        for m in plan.missing:
            parts.append(Text(f"  ? {literal(m.repository)}@{short_digest(m.digest)} listed by {short_digest(m.parent)}"))
    if plan.tags_removed:
        parts.append(Text("Tags removed: " + ", ".join(display_tag(t.partition(":")[2]) for t in plan.tags_removed)))
    parts.extend(Text(line) for line in reclaim_lines(plan))
    if plan.garbage_collect is not None:
        parts.append(Text(garbage_collect_advice(plan)))
    parts.append(Text("Summary: " + plan.summary(), style="bold"))
    return Group(*parts)


def garbage_collect_advice(plan: DeletionPlan) -> str:
    """Registry storage: blob files stay until the registry's garbage collector runs."""
    gc = plan.garbage_collect
    return (f"Blob files stay until you run `docker-registry garbage-collect CONFIG` (registry stopped or read-only): "
            f"it will then free {human_bytes(gc.frees)} ({gc.frees:,} bytes; {gc.reclaimable_now:,} of them already "
            f"reclaimable now), or {human_bytes(gc.frees_delete_untagged)} ({gc.frees_delete_untagged:,} bytes) "
            f"with --delete-untagged (which in distribution 2.8 also unlinks untagged children of indexes that stay)")


def reclaimable_now(registry: Registry) -> str | None:
    """Registry storage: what garbage-collect would free today, for headers."""
    figures = getattr(registry, "garbage_collect_now", None)
    return f"reclaimable now {human_bytes(figures().reclaimable_now)}" if figures else None


def render_result(result: ExecutionResult) -> RenderableType:
    if result.completed:
        return Text(f"Done: {result.summary()}", style="bold green")
    lines = [Text(f"INCOMPLETE: {literal(result.summary())}", style="bold red")]
    for d in result.deleted:
        lines.append(Text(f"  deleted      {literal(d.repository)}@{short_digest(d.digest)}"))
    for f in result.failed:
        # A store that writes once at the end fails as a whole, with no artifact to name.
        where = f"{literal(f.repository)}@{short_digest(f.digest)}: " if f.digest else ""
        lines.append(Text(f"  failed       {where}{literal(f.error)}"))
    for n in result.not_done:
        lines.append(Text(f"  not deleted  {literal(n.repository)}@{short_digest(n.digest)}"))
    lines.append(Text("Run the same delete again to finish: what remains is planned afresh."))
    return Group(*lines)


def artifact_line(repo: Repository, artifact: Artifact, platform: str | None = None, marker: str | None = None) -> Text:
    text = Text(no_wrap=True, overflow="ignore")  # one artifact, one line, for grep
    if marker:
        text.append(marker.upper(), style="bold yellow")
        missing = repo.missing_subjects(artifact.digest)
        if missing:
            text.append(" (missing subject " + ", ".join(short_digest(d) for d in missing) + ")", style="yellow")
        text.append(" ")
    if artifact.tags:
        text.append(", ".join(display_tag(t) for t in artifact.tags), style="bold")
        text.append(" ")
    elif artifact.digest not in repo.parents and artifact.digest not in repo.subjects:
        text.append("(untagged) ", style="yellow")
    text.append(short_digest(artifact.digest), style="dim")
    kind = repo.accessory_kinds.get(artifact.digest) if artifact.digest in repo.subjects else artifact.kind
    text.append(f" {kind}")
    if platform:
        text.append(f" {literal(platform)}")
    if artifact.is_index:
        text.append(f" [{lists_text(repo, artifact.digest)}]")
    n = len(repo.parents.get(artifact.digest, ()))
    if n > 1:
        text.append(f" shared x{n}", style="bold magenta")
    text.append(f" {size_text(repo, artifact.digest)}")
    return text


def render_registry(registry: Registry) -> RenderableType:
    root = Tree(Text.assemble(literal(registry.source), f"  {len(registry.repositories)} repositories, {registry.artifact_count} artifacts"))
    if reclaimable_now(registry):
        root.label.append(f", {reclaimable_now(registry)}")
    for name in sorted(registry.repositories):
        repo = registry.repositories[name]
        node = root.add(literal_text(name, "bold blue"))
        top = repo.top_level()
        for artifact in top:
            _add_artifact(node, repo, artifact, None, set())
        for artifact, marker in repo.detached(top):
            _add_artifact(node, repo, artifact, None, set(), marker)
        if repo.leftover_blobs:
            n = len(repo.leftover_blobs)
            node.add(Text(f"leftovers: {n} unreferenced blob{'s' if n != 1 else ''}, "
                          f"{human_bytes(sum(repo.leftover_blobs.values()))} (no manifest uses them)", style="yellow"))
    return root


def _add_artifact(node: Tree, repo: Repository, artifact: Artifact, platform: str | None, path: set[str],
                  marker: str | None = None) -> None:
    branch = node.add(artifact_line(repo, artifact, platform, marker))
    path = path | {artifact.digest}
    for child in artifact.children:
        c = repo.artifacts.get(child.digest)
        plat = str(child.platform) if child.platform else None
        if c is None:
            branch.add(Text(f"{short_digest(child.digest)} {literal(plat or '')} MISSING", style="red"))
        elif c.digest not in path:
            _add_artifact(branch, repo, c, plat, path)
    for acc in repo.accessories.get(artifact.digest, ()):
        a = repo.artifacts.get(acc)
        if a is not None and a.digest not in path:
            _add_artifact(branch, repo, a, None, path)


def registry_json(registry: Registry) -> dict:
    def one(repo: Repository, artifact: Artifact, platform: str | None, path: frozenset, marker: str | None = None) -> dict:
        path = path | {artifact.digest}
        out = {
            "digest": artifact.digest,
            "media_type": artifact.media_type,
            "kind": repo.accessory_kinds.get(artifact.digest, artifact.kind) if artifact.digest in repo.subjects else artifact.kind,
            "tags": list(artifact.tags),
            "size": artifact.size,
            "total_size": total_size(repo, artifact.digest),
            "platform": platform,
            "parents": list(repo.parents.get(artifact.digest, ())),
            "shared": len(repo.parents.get(artifact.digest, ())) > 1,
            "artifact_type": artifact.artifact_type,
            "annotations": artifact.annotations or {},
            "children": [],
            "accessories": [],
            "missing_children": [],
            "marker": marker,  # what is odd about an artifact the top level does not lead to
            "missing_subjects": repo.missing_subjects(artifact.digest),
        }
        for child in artifact.children:
            c = repo.artifacts.get(child.digest)
            if c is None:
                out["missing_children"].append(child.digest)
            elif c.digest not in path:
                out["children"].append(one(repo, c, str(child.platform) if child.platform else None, path))
        for acc in repo.accessories.get(artifact.digest, ()):
            if acc in repo.artifacts and acc not in path:
                out["accessories"].append(one(repo, repo.artifacts[acc], None, path))
        return out

    def roots(repo: Repository) -> list[dict]:
        top = repo.top_level()
        return ([one(repo, a, None, frozenset()) for a in top]
                + [one(repo, a, None, frozenset(), marker) for a, marker in repo.detached(top)])

    doc = {
        "source": registry.source,
        "repositories": [
            {"name": name, "artifact_count": len(r.artifacts), "artifacts": roots(r),
             "leftover_blobs": [{"digest": d, "size": n} for d, n in sorted(r.leftover_blobs.items())]}
            for name, r in sorted(registry.repositories.items())
        ],
    }
    figures = getattr(registry, "garbage_collect_now", None)  # registry storage read directly
    if figures is not None:
        now = figures()
        doc["reclaimable_now"] = {"bytes": now.reclaimable_now, "delete_untagged_bytes": now.reclaimable_now_delete_untagged}
    return doc
