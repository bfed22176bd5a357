"""Counting what each step did, per shard, and adding shards up into the run's ``stats.json``.

The counts are what proves nothing was lost: for every step ``in = kept + rejected``, each step's input is
the previous step's output, and the run's input equals its kept plus its rejected documents.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class InvariantError(RuntimeError):
    """The counts do not add up: documents were lost or invented. Always a bug, never bad input."""


@dataclass
class StepStats:
    """What one step did to the documents that reached it."""

    name: str
    docs_in: int = 0
    kept: int = 0
    rejected: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    bytes_in: int = 0
    bytes_kept: int = 0
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "in": self.docs_in,
            "kept": self.kept,
            "rejected": self.rejected,
            "reasons": dict(sorted(self.reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
            "bytes_in": self.bytes_in,
            "bytes_kept": self.bytes_kept,
            "seconds": round(self.seconds, 4),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StepStats:
        return cls(
            data["name"],
            data["in"],
            data["kept"],
            data["rejected"],
            Counter(data["reasons"]),
            data["bytes_in"],
            data["bytes_kept"],
            data["seconds"],
        )

    def add(self, other: StepStats) -> None:
        self.docs_in += other.docs_in
        self.kept += other.kept
        self.rejected += other.rejected
        self.reasons.update(other.reasons)
        self.bytes_in += other.bytes_in
        self.bytes_kept += other.bytes_kept
        self.seconds += other.seconds


CODE_EXAMPLES = 5
"""Examples of removed code the statistics keep (the first ones, in shard order)."""
SCORE_BINS = 20
"""Bins of a score's histogram over [0, 1] (a value outside is counted in the nearest end bin)."""


def score_bin(value: float) -> int:
    """The histogram bin of a score: ``SCORE_BINS`` equal bins over [0, 1], the ends taking what lies beyond."""
    return min(SCORE_BINS - 1, max(0, int(value * SCORE_BINS)))


@dataclass
class Profile:
    """What the kept documents look like: languages and sizes (for the report)."""

    languages: Counter[str] = field(default_factory=Counter)
    language_bytes: Counter[str] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    size_log2: Counter[int] = field(default_factory=Counter)  # bucket b holds sizes in [2**(b-1), 2**b)
    quality: Counter[int] = field(default_factory=Counter)  # kept documents per deepest ladder level passed
    scores: dict[str, Counter[int]] = field(default_factory=dict)  # score name -> bin (SCORE_BINS over 0..1) -> docs
    score_languages: dict[str, dict[str, Counter[int]]] = field(default_factory=dict)  # score -> language -> bins
    code_removed: Counter[str] = field(default_factory=Counter)  # documents, segments, chars taken out of kept text
    code_removed_examples: list[dict[str, str]] = field(default_factory=list)  # the first few, for the report

    def count(
        self, lang: str, kind: str, nbytes: int, quality: int = 0, scores: Mapping[str, float] | None = None
    ) -> None:
        key = lang or "unknown"
        self.languages[key] += 1
        self.language_bytes[key] += nbytes
        self.kinds[kind] += 1
        self.size_log2[nbytes.bit_length()] += 1
        self.quality[quality] += 1
        for name, value in (scores or {}).items():
            self.scores.setdefault(name, Counter())[score_bin(value)] += 1
            self.score_languages.setdefault(name, {}).setdefault(key, Counter())[score_bin(value)] += 1

    def count_code_removed(self, doc_id: str, removed: Mapping[str, Any]) -> None:
        """What ``code_removal`` took out of a kept text document (its ``meta["code_removed"]``)."""
        self.code_removed.update(
            documents=1, segments=int(removed.get("segments", 0)), chars=int(removed.get("chars", 0))
        )
        if len(self.code_removed_examples) < CODE_EXAMPLES and removed.get("example"):
            self.code_removed_examples.append(
                {"id": doc_id, "before": str(removed.get("before", "")), "removed": str(removed["example"])}
            )

    def to_json(self) -> dict[str, Any]:
        return {
            "languages": {
                k: {"documents": v, "bytes": self.language_bytes[k]}
                for k, v in sorted(self.languages.items(), key=lambda kv: (-kv[1], kv[0]))
            },
            "kinds": dict(sorted(self.kinds.items())),
            "size_log2": {str(k): v for k, v in sorted(self.size_log2.items())},
            "quality_levels": {str(k): v for k, v in sorted(self.quality.items())},
            "scores": {n: {str(b): c for b, c in sorted(bins.items())} for n, bins in sorted(self.scores.items())},
            "score_languages": {
                n: {lang: {str(b): c for b, c in sorted(bins.items())} for lang, bins in sorted(langs.items())}
                for n, langs in sorted(self.score_languages.items())
            },
            "code_removed": {**dict(self.code_removed), "examples": self.code_removed_examples},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Profile:
        p = cls()
        for lang, entry in data["languages"].items():
            p.languages[lang] = entry["documents"]
            p.language_bytes[lang] = entry["bytes"]
        p.kinds.update(data["kinds"])
        p.size_log2.update({int(k): v for k, v in data["size_log2"].items()})
        p.quality.update({int(k): v for k, v in data.get("quality_levels", {}).items()})
        for name, bins in data.get("scores", {}).items():
            p.scores[name] = Counter({int(b): c for b, c in bins.items()})
        for name, langs in data.get("score_languages", {}).items():
            p.score_languages[name] = {lang: Counter({int(b): c for b, c in b2.items()}) for lang, b2 in langs.items()}
        removed = dict(data.get("code_removed", {}))
        p.code_removed_examples = list(removed.pop("examples", []))
        p.code_removed.update(removed)
        return p

    def add(self, other: Profile) -> None:
        self.languages.update(other.languages)
        self.language_bytes.update(other.language_bytes)
        self.kinds.update(other.kinds)
        self.size_log2.update(other.size_log2)
        self.quality.update(other.quality)
        for name, bins in other.scores.items():
            self.scores.setdefault(name, Counter()).update(bins)
        for name, langs in other.score_languages.items():
            for lang, bins in langs.items():
                self.score_languages.setdefault(name, {}).setdefault(lang, Counter()).update(bins)
        self.code_removed.update(other.code_removed)
        room = CODE_EXAMPLES - len(self.code_removed_examples)
        self.code_removed_examples += other.code_removed_examples[: max(0, room)]


def check_chain(steps: list[StepStats], where: str) -> None:
    """Raise :class:`InvariantError` unless every step balances and feeds the next one exactly."""
    for i, s in enumerate(steps):
        if s.docs_in != s.kept + s.rejected or sum(s.reasons.values()) != s.rejected:
            raise InvariantError(
                f"{where}: step {s.name!r} saw {s.docs_in} documents but kept {s.kept} and rejected "
                f"{s.rejected} (reasons add up to {sum(s.reasons.values())})"
            )
        if i and steps[i - 1].kept != s.docs_in:
            raise InvariantError(
                f"{where}: step {s.name!r} saw {s.docs_in} documents but {steps[i - 1].name!r} kept {steps[i - 1].kept}"
            )
