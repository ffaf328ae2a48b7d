"""The twelve public scenarios of docs/deletion-semantics.md, as data every source test shares.

Each scenario builds real content with RegistryBuilder into its own repository
(`s<N>/app`, plus `s12/other` for the cross-repository case), names what it built,
and states the outcome the semantics file gives.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ocitree.sample_data.builder import BuiltManifest, RegistryBuilder


@dataclass
class Scenario:
    number: int
    title: str
    build: Callable[[RegistryBuilder, str], dict[str, BuiltManifest]]
    targets: list[str]  # "name" (by digest) or ":tag" (by tag), within the scenario repository
    deleted: set[str]
    kept: set[str] = field(default_factory=set)
    refused: str | None = None  # "referenced" or "protected_tag"
    protect: list[str] = field(default_factory=list)
    tags_removed: set[str] = field(default_factory=set)

    @property
    def repo(self) -> str:
        return f"s{self.number}/app"

    def __str__(self) -> str:
        return f"scenario {self.number}: {self.title}"


def _s1(b, r):
    return {"M": b.image(r, ["v1", "v2"])}


def _s2(b, r):
    a, bb = b.image(r, arch="amd64"), b.image(r, arch="arm64")
    return {"A": a, "B": bb, "I": b.index(r, [a, bb], ["latest"])}


def _s3(b, r):
    cs = [b.image(r, arch=f"arch{i}") for i in range(1, 11)]
    names = {f"C{i}": c for i, c in enumerate(cs, 1)}
    names["I"] = b.index(r, cs, ["multi"])
    names["K"] = b.index(r, [cs[9]], ["other"])
    return names


def _s4(b, r):
    a, bb = b.image(r, ["amd64"], arch="amd64"), b.image(r, arch="arm64")
    return {"A": a, "B": bb, "I": b.index(r, [a, bb], ["latest"])}


def _s5(b, r):
    a = b.image(r)
    return {"A": a, "I": b.index(r, [a], ["latest"])}


def _s6(b, r):
    a = b.image(r, ["amd64"])
    return {"A": a, "I": b.index(r, [a], ["latest"])}


def _s7(b, r):
    c1, c2, c3 = b.image(r, arch="amd64"), b.image(r, arch="arm64"), b.image(r, arch="s390x")
    i1 = b.index(r, [c1, c2])
    return {"C1": c1, "C2": c2, "C3": c3, "I1": i1, "R": b.index(r, [i1, c3], ["r"])}


def _s8(b, r):
    c1 = b.image(r)
    i1 = b.index(r, [c1], ["inner"])
    return {"C1": c1, "I1": i1, "R": b.index(r, [i1], ["outer"])}


def _s9(b, r):
    m = b.image(r, ["v1"])
    return {"M": m, "S": b.accessory(r, m, "signature")}


def _s10(b, r):
    m = b.image(r, ["v1"])
    return {"M": m, "S": b.accessory(r, m, "signature")}


def _s11(b, r):
    return {"M": b.image(r, ["v1", "v2"])}


def _s12(b, r):
    a = b.image(r, ["v1"], seed="shared-content")
    other = b.image("s12/other", ["v1"], seed="shared-content")
    assert a.digest == other.digest
    return {"M": a, "OTHER": other}


SCENARIOS = [
    Scenario(1, "image by tag takes all its tags", _s1, [":v1"], {"M"}, tags_removed={"v1", "v2"}),
    Scenario(2, "index takes its children", _s2, ["I"], {"I", "A", "B"}, tags_removed={"latest"}),
    Scenario(3, "index of 10, one shared", _s3, ["I"], {"I"} | {f"C{i}" for i in range(1, 10)}, {"C10", "K"}),
    Scenario(4, "tagged child stays", _s4, ["I"], {"I", "B"}, {"A"}),
    Scenario(5, "referenced child refused", _s5, ["A"], set(), {"A", "I"}, refused="referenced"),
    Scenario(6, "referenced tagged child refused", _s6, [":amd64"], set(), {"A", "I"}, refused="referenced"),
    Scenario(7, "nested indexes cascade", _s7, ["R"], {"R", "I1", "C1", "C2", "C3"}),
    Scenario(8, "tagged nested index stays", _s8, ["R"], {"R"}, {"I1", "C1"}),
    Scenario(9, "signature goes with its subject", _s9, ["M"], {"M", "S"}),
    Scenario(10, "signature alone", _s10, ["S"], {"S"}, {"M"}),
    Scenario(11, "protected tag refuses", _s11, ["M"], set(), {"M"}, refused="protected_tag", protect=["v1"]),
    Scenario(12, "same digest in two repositories", _s12, ["M"], {"M"}, {"OTHER"}),
]


def build_all(builder: RegistryBuilder | None = None) -> tuple[RegistryBuilder, dict[int, dict[str, BuiltManifest]]]:
    """Every scenario in one builder, each in its own repository."""
    builder = builder or RegistryBuilder()
    built = {s.number: s.build(builder, s.repo) for s in SCENARIOS}
    return builder, built


def ref_for(scenario: Scenario, built: dict[str, BuiltManifest], target: str) -> str:
    if target.startswith(":"):
        return f"{scenario.repo}{target}"
    return f"{scenario.repo}@{built[target].digest}"
