"""The artifacts an undo put back, rebuilt from what its run saved, so that a view of the source can
take them in place (Registry.restore_artifacts) without reading the source again.

Each saved artifact carries what its source's reader would build it from: the exact manifest bytes
(registries, layouts), or its sample-file entry verbatim; the date read from an image config is
saved beside them, since the manifest does not hold it.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..manifest_fast import artifact_from_bytes
from ..model import Artifact
from .saved import SavedArtifact


def restored_artifacts(items: Iterable[SavedArtifact]) -> list[Artifact] | None:
    """The Artifacts `items` describe; None when one of them cannot be rebuilt as the source would
    read it (a referrers index that was rewritten, not deleted: the source holds new content for it;
    or a save with neither bytes nor an entry): then only reading the source again shows it right."""
    out: list[Artifact] = []
    for item in items:
        artifact = _rebuilt(item)
        if artifact is None:
            return None
        out.append(artifact)
    return out


def _rebuilt(item: SavedArtifact) -> Artifact | None:
    if item.rewritten:
        return None
    if item.record is not None:
        from ..stores.sample_format import SampleArtifact  # pydantic: only for a sample file's undo

        return SampleArtifact.model_validate(item.record).to_artifact(item.repository)
    if item.manifest is None:
        return None
    artifact = artifact_from_bytes(item.repository, item.digest, item.manifest, item.media_type or None,
                                   list(item.tags), lambda: f"the saved manifest of {item.label}")
    artifact.created = item.created
    return artifact
