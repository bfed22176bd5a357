"""Level 3's teacher: a small language model annotates a sample of documents, so a small classifier can learn it.

The FineWeb-Edu recipe, with perplexity as the annotation (CCNet's idea): the shipped small LM reads the first
tokens of each sampled document (after its leading comment or licence block, which says little about the code and
which every file of a project shares), and its mean negative log-likelihood per token is the score. Documents are
then labelled *within their language*, because perplexities of different languages are not comparable: the
lowest third ``good``, the highest third ``bad``, the rest ``middle`` (not used for training). A fastText
classifier trained on ``good``/``bad`` then scores the whole corpus at fastText speed (``codemill classifier
train``, and the recipe's ``classifier`` step at ``level: 3``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from codemill.data.sampling import sample_by_id
from codemill.data.schema import Document
from codemill.llm.perplexity import PerplexityScorer

__all__ = ["annotate", "label_by_quantile", "sample_documents", "scoring_text"]

COMMENT_LINE = re.compile(r"^\s*(#|//|--|;|%|\*|/\*|\*/|<!--|-->|\"\"\"|'''|=begin|=end)")
MIN_GROUP = 9  # fewer documents of a language than this are labelled in one pooled group


def scoring_text(text: str) -> str:
    """The text from its first line that is neither blank nor a comment (all of it if there is no such line)."""
    lines = text.splitlines(keepends=True)
    for index, line in enumerate(lines):
        if line.strip() and not COMMENT_LINE.match(line) and not line.lstrip().startswith("#!"):
            return "".join(lines[index:])
    return text


def sample_documents(
    documents: Iterable[Document], n: int, seed: int, kinds: Sequence[str] = ("code",)
) -> list[Document]:
    """``n`` documents of the given kinds, chosen by a seeded hash of their id: the same whatever the input order."""
    wanted = (doc for doc in documents if doc.kind in kinds)
    return sample_by_id(wanted, n, seed, lambda doc: doc.id).get(None, [])


def annotate(
    documents: Sequence[Document],
    scorer: PerplexityScorer,
    on_done: Callable[[int, int], None] | None = None,
) -> list[dict[str, Any]]:
    """One row per document: id, language, text, and the model's mean NLL per token over its scoring text."""
    rows = []
    for number, doc in enumerate(documents, 1):
        measured = scorer.score(scoring_text(doc.text))
        rows.append(
            {
                "id": doc.id,
                "lang": doc.lang or "unknown",
                "text": doc.text,
                "tokens": measured.tokens,
                "nll": round(measured.mean_nll, 5),
            }
        )
        if on_done is not None:
            on_done(number, len(documents))
    return rows


def label_by_quantile(rows: list[dict[str, Any]], share: float = 1 / 3) -> list[dict[str, Any]]:
    """Add ``label``: per language, the ``share`` lowest NLL ``good``, the ``share`` highest ``bad``, else
    ``middle``; rows whose text was too short to score (fewer than 2 tokens) are ``middle``."""
    if not 0 < share <= 0.5:
        raise ValueError(f"share must be in (0, 0.5], not {share}")
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["tokens"] > 0:
            groups[row["lang"]].append(row)
    pooled = [row for lang, members in groups.items() if len(members) < MIN_GROUP for row in members]
    buckets = [members for members in groups.values() if len(members) >= MIN_GROUP] + ([pooled] if pooled else [])
    labels: dict[int, str] = {}
    for bucket in buckets:
        ordered = sorted(bucket, key=lambda row: (row["nll"], row["id"]))
        cut = int(len(ordered) * share)
        for rank, row in enumerate(ordered):
            labels[id(row)] = "good" if rank < cut else "bad" if rank >= len(ordered) - cut else "middle"
    return [{**row, "label": labels.get(id(row), "middle")} for row in rows]
