"""A fast, strict reader of well-formed sample files, straight into the model.

Validating 100,000 entries with the pydantic models of sample_format.py, then
converting them, took 2.5 s and 780 MB. This reader walks the document with the
json module's own C scanner one entry at a time (an entry's dicts are dropped as
soon as it is converted, so the whole parsed document never exists at once; the
store hands it the text in pieces, so neither does the whole text),
checks each entry by hand and builds Artifacts directly, sharing repeated strings
and platforms. Image and index entries written as ocitree's own generator writes them
(compact, its key order, plain strings) are not made into dicts at all: one regular
expression per entry checks it and finds its fields, and the Artifact is built from
the text. What it knows of the format it takes from sample_entries.py: the keys
each object may have (the models' aliases) and what the fields mean (the
converter both readers call).

It is deliberately narrower than the models: on ANY doubt (an unknown key, a type
it does not expect, a bad digest or tag, a duplicate, a cycle, odd JSON) it gives
up (raises Doubt), and the caller reads the file the reference way, through the
pydantic models, which accept or word the precise error. So this module never
decides that input is invalid; it only recognises input that certainly is valid.
tests/unit/test_sample_loading.py checks that the two paths agree.
"""

from __future__ import annotations

import json.decoder
import re
from collections.abc import Callable, Iterable
from json import JSONDecodeError
from json.decoder import JSONDecoder
from typing import Any, TypeVar

from ..dates import parse_created
from ..errors import MalformedDataError
from ..model import Artifact, BlobRef, ChildRef, PlatformInfo, Registry, Repository
from ..names import is_repository_name
from .sample_entries import (BLOB_KEYS, CHILD_KEYS, ENTRY_KEYS, FORMAT, PLATFORM_KEYS, TOP_KEYS, TOP_REQUIRED, child_ref,
                             entry_artifact)

# The same grammar as manifest.DIGEST_PATTERN (pydantic-core's `$` is an end-of-text anchor).
_DIGEST = re.compile(r"sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128}").fullmatch
# Tighter than names.is_tag (whose `$` also allows a trailing newline): a doubt costs only speed.
_TAG_TEXT = r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}"
_TAG = re.compile(_TAG_TEXT).fullmatch

# Image and index entries as ocitree.sample_data.generate writes them (json.dumps, compact) are
# matched whole and built from the text (EntryReader.image, EntryReader.index): no JSON objects are
# made and checked key by key, which took most of a load's time. Only what certainly is such an entry
# matches: no whitespace, these keys in this order and each once, strings that need no escape, sizes
# as plain integers. Any other entry (other keys or order, whitespace, escapes, media type
# parameters) is read the general way.
#
# In these expressions a digest's [0-9a-f] is written "none of the other ASCII characters": sre tests
# a class of two ranges range by range, a branch per character that hex digits mispredict, and this
# one in a bitmap; digests match 40% faster (0.05 s of a 100k-artifact load). It is [0-9a-f] only in
# ASCII text (excluding every other character up to U+10FFFF took 30 ms to compile), so they are used
# only on a window of text that is all ASCII, as json.dumps writes by default (str.isascii does not
# read the text); a window that is not has its entries read the general way.
_HEX = "[^\\x00-/:-`g-\\x7f]"
_DIGEST_TEXT = rf"sha256:{_HEX}{{64}}|sha512:{_HEX}{{128}}"
_PLAIN_TEXT = r"[a-zA-Z0-9._+/-]*"  # no character JSON escapes, nor one of the text around it
_SIZE_TEXT = r"0|[1-9][0-9]{0,18}"  # JSON's integers, not negative; the readers check the bound
_TAGS_TEXT = rf'(?:,"tags":\[((?:"{_TAG_TEXT}"(?:,"{_TAG_TEXT}")*)?)\])?'  # the text between the brackets
_BLOB_TEXT = rf'\{{"mediaType":"({_PLAIN_TEXT})","digest":"({_DIGEST_TEXT})","size":({_SIZE_TEXT})\}}'
_CHILD_TEXT = (rf'\{{"mediaType":"({_PLAIN_TEXT})","digest":"({_DIGEST_TEXT})","size":({_SIZE_TEXT}),'
               rf'"platform":\{{"os":"({_PLAIN_TEXT})","architecture":"({_PLAIN_TEXT})"(,"variant":"{_PLAIN_TEXT}")?\}}\}}')
_VARIANT_AT = len(',"variant":"')  # where the variant starts in the last group of _CHILD_TEXT


def _uncaptured(item: str) -> str:
    """`item` with its groups made non-capturing."""
    return re.sub(r"\((?!\?)", "(?:", item)


def _list_of(item: str) -> str:
    """A group of the text inside a JSON array of `item`s (their own groups made non-capturing)."""
    item = _uncaptured(item)
    return f"((?:{item}(?:,{item})*)?)"


# The first two layers are groups of the match (the generator writes an image's base layer and its
# own): finding them again in the text with _BLOBS took 0.13 s of the 1.2 s a 100k file took to
# load. Any further layers are the text of the last group.
_IMAGE_ENTRY = re.compile(
    rf'\{{"digest":"({_DIGEST_TEXT})"{_TAGS_TEXT},"mediaType":"({_PLAIN_TEXT})","size":({_SIZE_TEXT}),'
    rf'"config":{_BLOB_TEXT},"layers":\[(?:{_BLOB_TEXT}(?:,{_BLOB_TEXT}((?:,{_uncaptured(_BLOB_TEXT)})*))?)?\]\}}')
_MORE_LAYERS = _IMAGE_ENTRY.groups  # the group of the layers after the second
_INDEX_ENTRY = re.compile(
    rf'\{{"digest":"({_DIGEST_TEXT})"{_TAGS_TEXT},"mediaType":"({_PLAIN_TEXT})","size":({_SIZE_TEXT}),'
    rf'"manifests":\[{_list_of(_CHILD_TEXT)}\]\}}')
_BLOBS: Callable[[str, int, int], list[tuple[str, str, str]]] = re.compile(_BLOB_TEXT).findall
_CHILDREN: Callable[[str, int, int], list[tuple[str, str, str, str, str, str]]] = re.compile(_CHILD_TEXT).findall
# The json module's own scanner parts, which typeshed does not declare: their types are stated here.
_SKIP: Callable[[str, int], re.Match[str]] = getattr(json.decoder, "WHITESPACE").match  # [ \t\n\r]*: always matches
_BLANK = " \t\n\r"  # what _SKIP skips: a compact file has none, and then a character test saves the call
scanstring: Callable[[str, int, bool], tuple[str, int]] = getattr(json.decoder, "scanstring")


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise Doubt  # a key twice: the reference path refuses it, naming the key
    return obj


_scan_value: Callable[[str, int], tuple[Any, int]] = getattr(
    JSONDecoder(object_pairs_hook=_unique_keys), "scan_once")  # json.loads' settings, keys checked
_T = TypeVar("_T")
_MAX_STEP = 64 << 20  # characters one entry may span when read in pieces; a bigger one takes the reference path
_MAX_SIZE = 2**63 - 1  # beyond any real size; bigger ones take the reference path


class Doubt(Exception):
    """The input is not certainly valid: read it the reference way."""


def _size(value: object) -> int:
    if type(value) is not int or value < 0 or value > _MAX_SIZE:  # type() excludes bool
        raise Doubt
    return value


def _optional_text(value: object) -> str | None:
    if value is not None and type(value) is not str:
        raise Doubt
    return value


def _annotations(value: object) -> dict[str, str] | None:
    if value is None:
        return None
    if type(value) is not dict:
        raise Doubt
    for v in value.values():  # JSON keys are always strings
        if type(v) is not str:
            raise Doubt
    return value


def _created(value: object) -> float | None:
    if value is None:
        return None
    created = parse_created(value)
    if created is None:
        raise Doubt  # the reference reader words the error
    return created


def _bounded(size: str) -> int:
    """A size of _SIZE_TEXT as an int, or Doubt when beyond what _size takes."""
    value = int(size)
    if value > _MAX_SIZE:
        raise Doubt
    return value


class EntryReader:
    """Converts parsed sample entries to Artifacts, sharing equal strings and platforms
    across the whole file, and digests and blobs within a repository (media types,
    platforms, child digests and base layers repeat by the hundred thousand). Written for
    speed: locals, few calls."""

    def __init__(self) -> None:
        self._strings: dict[str, str] = {}  # media types, platform parts
        self._platforms: dict[tuple[object, object, object], PlatformInfo] = {}
        self.next_repository()

    def next_repository(self) -> None:
        """Forget the digests and blobs seen: children and blobs are mostly the repository's
        own, and keeping a million digests would add 150 MB to the peak of a load."""
        self._digests: dict[str, str] = {}  # digests already checked
        self._blobs: dict[str, BlobRef] = {}

    def _digest(self, value: object) -> str:
        known = self._digests.get(value) if type(value) is str else None
        if known is not None:
            return known
        if type(value) is not str or not _DIGEST(value):
            raise Doubt
        self._digests[value] = value
        return value

    def _platform(self, value: object) -> PlatformInfo | None:
        if value is None:
            return None
        if type(value) is not dict or not value.keys() <= PLATFORM_KEYS:
            raise Doubt
        key = (value.get("os"), value.get("architecture"), value.get("variant"))
        platform = self._platforms.get(key)
        if platform is None:
            os_name, architecture, variant = key
            if type(os_name) is not str or type(architecture) is not str:
                raise Doubt
            _optional_text(variant)
            platform = PlatformInfo(os_name, architecture, variant)
            self._platforms[key] = platform
        _optional_text(value.get("os.version"))
        return platform

    def _blob(self, value: object) -> BlobRef:
        if type(value) is not dict or not value.keys() <= BLOB_KEYS:
            raise Doubt
        digest = value.get("digest")
        size = value.get("size", 0)
        media_type = value.get("mediaType", "")
        blob = self._blobs.get(digest) if type(digest) is str else None
        if blob is not None and blob.size == size and type(size) is int and blob.media_type == media_type:
            return blob  # its digest and media type were checked when it was first seen
        if type(media_type) is not str:
            raise Doubt
        blob = BlobRef(self._digest(digest), _size(size), self._strings.setdefault(media_type, media_type))
        self._blobs[blob.digest] = blob
        return blob

    def _checked_digest(self, digest: str) -> str:
        """_digest, for a digest already checked."""
        known = self._digests.get(digest)
        if known is None:
            self._digests[digest] = known = digest
        return known

    def _checked_blob(self, digest: str, size: int, media_type: str) -> BlobRef:
        """_blob, for fields already checked."""
        blob = self._blobs.get(digest)
        if blob is not None and blob.size == size and blob.media_type == media_type:
            return blob
        blob = BlobRef(self._checked_digest(digest), size, self._strings.setdefault(media_type, media_type))
        self._blobs[blob.digest] = blob
        return blob

    def index(self, repository: str, text: str, entry: re.Match[str]) -> Artifact:
        """What `artifact` makes of the entry `entry` (an _INDEX_ENTRY match in `text`) holds."""
        digest, tags, media_type, size, _ = entry.groups()
        strings, platforms = self._strings, self._platforms
        children = []
        for child_type, child_digest, child_size, os_name, architecture, given in _CHILDREN(text, entry.start(5), entry.end(5)):
            key = (os_name, architecture, given[_VARIANT_AT:-1] if given else None)  # as _platform has it
            platform = platforms.get(key)
            if platform is None:
                platforms[key] = platform = PlatformInfo(*key)
            children.append(child_ref(self._checked_digest(child_digest),
                                      strings.setdefault(child_type, child_type) if child_type else None,
                                      _bounded(child_size), platform, None))
        return entry_artifact(
            repository,
            self._checked_digest(digest),
            strings.setdefault(media_type, media_type) if media_type else None,
            _bounded(size),
            tuple(children),
            None,
            (),
            None,
            None,
            None,
            tags[1:-1].split('","') if tags else [],
            None,
        )

    def image(self, repository: str, text: str, entry: re.Match[str]) -> Artifact:
        """What `artifact` makes of the entry `entry` (an _IMAGE_ENTRY match in `text`) holds."""
        (digest, tags, media_type, size, config_type, config_digest, config_size,
         type1, digest1, size1, type2, digest2, size2, more) = entry.groups()
        blob = self._checked_blob
        digest = self._checked_digest(digest)
        config = blob(config_digest, _bounded(config_size), config_type)
        layers: tuple[BlobRef, ...]
        if digest1 is None:
            layers = ()
        elif digest2 is None:
            layers = (blob(digest1, _bounded(size1), type1),)
        else:
            layers = (blob(digest1, _bounded(size1), type1), blob(digest2, _bounded(size2), type2))
            if more:
                start, end = entry.span(_MORE_LAYERS)
                layers += tuple([blob(d, _bounded(s), m) for m, d, s in _BLOBS(text, start, end)])
        return entry_artifact(
            repository,
            digest,
            self._strings.setdefault(media_type, media_type) if media_type else None,
            _bounded(size),
            None,
            config,
            layers,
            None,
            None,
            None,
            tags[1:-1].split('","') if tags else [],
            None,
        )

    def _media_type(self, value: object) -> str | None:
        """An optional mediaType: a shared string, or None when absent or empty."""
        if value is None or value == "":
            return None
        if type(value) is not str:
            raise Doubt  # false, 0, [], {}
        return self._strings.setdefault(value, value)

    def _child(self, value: object) -> ChildRef:
        if type(value) is not dict or not value.keys() <= CHILD_KEYS:
            raise Doubt
        get = value.get
        annotations = get("annotations")
        return child_ref(
            self._digest(get("digest")),
            self._media_type(get("mediaType")),
            _size(get("size", 0)),
            self._platform(get("platform")),
            None if annotations is None else _annotations(annotations),  # most have none: no call
        )

    def artifact(self, repository: str, entry: object) -> Artifact:
        """The Artifact core.stores.sample builds from the validated model of `entry`."""
        if type(entry) is not dict or not entry.keys() <= ENTRY_KEYS:
            raise Doubt
        get = entry.get
        tags = get("tags", [])
        if type(tags) is not list:
            raise Doubt
        for tag in tags:
            if type(tag) is not str or not _TAG(tag):
                raise Doubt
        manifests = get("manifests")
        children: tuple[ChildRef, ...] | None = None
        if manifests is not None:
            if type(manifests) is not list:
                raise Doubt
            children = tuple(map(self._child, manifests))
        layers = get("layers", [])
        if type(layers) is not list:
            raise Doubt
        config = get("config")
        subject = get("subject")
        if type(subject) is dict:  # a full descriptor is accepted for its digest
            subject = subject.get("digest")
        artifact_type = get("artifactType")
        if artifact_type is not None:
            if type(artifact_type) is not str:
                raise Doubt
            artifact_type = self._strings.setdefault(artifact_type, artifact_type)
        annotations = get("annotations")
        created = get("created")
        return entry_artifact(
            repository,
            self._digest(get("digest")),
            self._media_type(get("mediaType")),
            _size(get("size", 0)),
            children,
            None if config is None else self._blob(config),
            tuple(map(self._blob, layers)),
            self._digest(subject) if subject is not None else None,
            artifact_type,
            None if annotations is None else _annotations(annotations),  # most entries have neither: no call
            tags,
            None if created is None else _created(created),
        )


def _skip(text: str, i: int) -> int:
    return _SKIP(text, i).end()


def _expect(text: str, i: int, char: str) -> int:
    if text[i : i + 1] != char:
        raise Doubt
    return _skip(text, i + 1)


def _key(text: str, i: int) -> tuple[str, int]:
    """An object key and the index after its ':'."""
    if text[i : i + 1] != '"':
        raise Doubt
    key, i = scanstring(text, i + 1, True)
    return key, _expect(text, _skip(text, i), ":")


def _value(text: str, i: int) -> tuple[object, int]:
    try:
        value, i = _scan_value(text, i)
    except (StopIteration, JSONDecodeError, RecursionError, ValueError):
        raise Doubt from None
    return value, _skip(text, i)


def _after_item(text: str, i: int, close: str) -> tuple[bool, int]:
    """After one item of an object or array: (more items follow, index of the next one)."""
    char = text[i : i + 1]
    if char == ",":
        return True, _skip(text, i + 1)
    if char == close:
        return False, _skip(text, i + 1)
    raise Doubt


class _Window:
    """The part of the file's text not parsed yet, read a piece at a time: what is parsed is
    dropped, so the text of a million artifacts (805 MB) is never held beside their model.

    Every step parses from an index into `text`; a step that fails, or that ends at the end
    of the window (a number, or whitespace, may go on in the next piece), is repeated after
    the next piece is appended. Only a step that fails with the whole rest of the file in
    the window is a Doubt."""

    __slots__ = ("text", "_pieces", "ended")

    def __init__(self, pieces: Iterable[str]) -> None:
        self.text = ""
        self._pieces = iter(pieces)
        self.ended = False

    def refill(self, i: int) -> int:
        """Drop the text before `i` and append the next piece; returns the index `i` now has.
        Raises Doubt when the file has no more text (the step failed on all of it)."""
        if self.ended or len(self.text) - i > _MAX_STEP:
            raise Doubt  # an error in the middle of a big file must not pull the rest of it in
        for piece in self._pieces:
            if piece:
                self.text = self.text[i:] + piece
                return 0
        self.ended = True
        return i

    def step(self, parse: Callable[[str, int], tuple[_T, int]], i: int) -> tuple[_T, int]:
        """parse(text, i), on enough of the file: its result and the index after it."""
        while True:
            try:
                result, end = parse(self.text, i)
            except (Doubt, ValueError):  # JSONDecodeError included
                if self.ended:
                    raise
            else:
                if end < len(self.text) or self.ended:
                    return result, end
            i = self.refill(i)


def _open_array(text: str, i: int) -> tuple[bool, int]:
    """At an array: (it has items, the index of the first one, or the one after the array)."""
    i = _expect(text, i, "[")
    if text[i : i + 1] == "]":
        return False, _skip(text, i + 1)
    return True, i


def _repository(window: _Window, i: int, name: str, reader: EntryReader) -> tuple[Repository, int]:
    artifacts: list[Artifact] = []
    digests: set[str] = set()
    tags: set[str] = set()
    more, i = window.step(_open_array, i)
    text = window.text
    ascii_text = text.isascii()  # where the entry expressions may be used (_HEX)
    reader.next_repository()
    scan, skip, to_artifact, match_image, match_index = _scan_value, _SKIP, reader.artifact, _IMAGE_ENTRY.match, _INDEX_ENTRY.match
    while more:
        # Window.step inlined: this runs once per artifact.
        written = (match_image(text, i) or match_index(text, i)) if ascii_text else None  # as the generator writes it
        if written is not None:
            end = written.end()
        else:
            try:
                entry, end = scan(text, i)
            except (StopIteration, ValueError):  # the entry goes on in the next piece, or is no JSON
                i = window.refill(i)
                text = window.text
                ascii_text = text.isascii()
                continue
        char = text[end : end + 1]
        if char in _BLANK:  # "" is in it too: the end of the window
            end = skip(text, end).end()
            char = text[end : end + 1]
        if not char and not window.ended:  # what follows the entry is in the next piece
            i = window.refill(i)
            text = window.text
            ascii_text = text.isascii()
            continue
        if written is None:
            artifact = to_artifact(name, entry)
        elif written.re is _IMAGE_ENTRY:
            artifact = reader.image(name, text, written)
        else:
            artifact = reader.index(name, text, written)
        named = artifact.tags
        if named:  # most artifacts have no tags: no calls for them
            if not tags.isdisjoint(named) or len(set(named)) != len(named):
                raise Doubt  # the reference path words which tag is doubled
            tags.update(named)
        if artifact.digest in digests:
            raise Doubt  # the reference path words which digest is doubled
        digests.add(artifact.digest)
        artifacts.append(artifact)
        if char == ",":
            i = end + 1
            if text[i : i + 1] in _BLANK:
                i = skip(text, i).end()
            if i == len(text) and not window.ended:
                i = window.step(_after_comma, end)[1]
                text = window.text
                ascii_text = text.isascii()
        elif char == "]":
            more = False
            i = window.step(_after_comma, end)[1]
        else:
            raise Doubt
    try:
        return Repository(name, artifacts), i
    except MalformedDataError:
        raise Doubt from None  # a cycle: reported only once the whole file has been validated


def _after_comma(text: str, i: int) -> tuple[None, int]:
    """Past the ',' or ']' at `i` and the whitespace after it."""
    return None, _skip(text, i + 1)


def read_registry(text: str | Iterable[str], source: str) -> Registry:
    """The registry in a sample file, given as its text or as pieces of its text (then no more
    than a piece or two of it is held at once); Doubt when it is not certainly valid."""
    window = _Window([text] if isinstance(text, str) else text)
    step = window.step
    reader = EntryReader()
    seen: set[str] = set()
    protect: list[str] = []
    repositories: dict[str, Repository] = {}
    try:
        more, i = step(_open_object, 0)
        while more:
            key, i = step(_key, i)
            if key in seen or key not in TOP_KEYS:
                raise Doubt
            seen.add(key)
            if key == "repositories":
                more_repos, i = step(_open_object_at, i)
                while more_repos:
                    name, i = step(_key, i)
                    if name in repositories or not is_repository_name(name):
                        raise Doubt
                    repositories[name], i = _repository(window, i, name, reader)
                    more_repos, i = step(_after_member, i)
            else:
                value, i = step(_value, i)
                if key == "format" and value != FORMAT:
                    raise Doubt
                if key == "protect":
                    if type(value) is not list or any(type(p) is not str for p in value):
                        raise Doubt
                    protect = value
            more, i = step(_after_member, i)
        while not window.ended:  # only whitespace may follow, in this piece or the next
            i = _skip(window.text, window.refill(i))
    except (IndexError, KeyError, TypeError, ValueError, RecursionError):
        raise Doubt from None  # JSONDecodeError included: json.loads words it
    if i != len(window.text) or not TOP_REQUIRED <= seen:
        raise Doubt
    return Registry(source, repositories.values(), protect=protect)


def _open_object(text: str, i: int) -> tuple[bool, int]:
    """At the start of the file: (the top object has members, the index of the first one)."""
    return _open_object_at(text, _skip(text, i))


def _open_object_at(text: str, i: int) -> tuple[bool, int]:
    i = _expect(text, i, "{")
    if text[i : i + 1] == "}":
        return False, _skip(text, i + 1)
    return True, i


def _after_member(text: str, i: int) -> tuple[bool, int]:
    return _after_item(text, i, "}")
