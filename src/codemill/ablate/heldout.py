"""The held-out sets, cut from the curated run before any arm is drawn, and the pool the arms are drawn from.

* **code**: whole repositories, chosen by a seeded hash of their name (every file of a held-out repository, at
  every quality level, so no arm is favoured by how the set was chosen and no sibling file leaks into training);
* **text**, **math**: documents chosen by a seeded hash of their id.

Level 0 is what the ladder's level 1 turned away: a curated run keeps only documents that passed its hard rules,
so the documents ``code_rules`` rejected (listed in ``rejected/``) join the corpus at level 0, and a level-0 arm
is every document, as the report's first stage. They were rejected before dedup, so the level-0 arm also holds
the near-duplicates among them: the raw stage it stands for holds them too.

The pool is everything else, decontaminated against the held-out sets the way training data is decontaminated
against benchmarks (``decontaminate``'s rule): a pool document sharing a whitespace 10-gram with a held-out document
is dropped, unless that n-gram is an idiom found in ``stoplist_min_docs`` pool documents or more (licence lines,
``if __name__ == "__main__":``). So no held-out text is in any arm, and ``split.json`` says how many documents
the decontamination removed, with examples.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow.parquet as pq
import xxhash

from codemill.ablate.recipe import HeldoutSpec
from codemill.curate.ngrams import ngram_hashes, token_hashes, whitespace_tokens
from codemill.curate.pack.sources import input_files, iter_documents
from codemill.data.schema import Document, documents_to_table
from codemill.data.textio import atomic_write_text, open_binary_read, open_binary_write
from codemill.data.writers import document_json, iter_parquet_rows

__all__ = ["HELDOUT_KINDS", "corpus_documents", "heldout_documents", "is_heldout", "split_corpus"]

HELDOUT_KINDS = ("code", "text", "math")
POOL_ROWS = 20_000  # documents per pool Parquet file
EXAMPLES = 10


def _unit(seed: int, name: str) -> float:
    return xxhash.xxh64_intdigest(f"codemill-heldout\x00{seed}\x00{name}".encode("utf-8", "surrogatepass")) / 2.0**64


def is_heldout(doc: Document, spec: HeldoutSpec) -> bool:
    """Whether ``doc`` belongs to a held-out set (code by its repository, text and math by their id)."""
    if doc.kind == "code":
        return _unit(spec.seed, f"repo\x00{doc.repo or doc.id}") < spec.code_repositories
    if doc.kind == "text":
        return _unit(spec.seed, doc.id) < spec.text_documents
    if doc.kind == "math":
        return _unit(spec.seed, doc.id) < spec.math_documents
    return False


def _ngrams(text: str, n: int) -> np.ndarray:
    return ngram_hashes(token_hashes(whitespace_tokens(text)), n, whole_if_short=False)


def corpus_documents(curated: Path, spec: HeldoutSpec) -> Iterator[Document]:
    """The curated run's documents, and those its ladder's level-1 steps rejected (``level0_from``), at level 0."""
    yield from iter_documents([curated])
    wanted = set(spec.level0_from)
    rejected = sorted((curated / "rejected").glob("*.parquet")) if wanted else []
    for row in iter_parquet_rows(rejected):
        if row.get("rejected_by") in wanted and row.get("text"):
            doc = Document.from_row(row)
            doc.quality = 0
            yield doc


def _pool_candidates(curated: Path, spec: HeldoutSpec) -> Iterator[Document]:
    return (d for d in corpus_documents(curated, spec) if d.text and not is_heldout(d, spec))


def split_corpus(curated: Path, folder: Path, spec: HeldoutSpec) -> dict[str, Any]:
    """Write ``folder/heldout/{code,text,math}.jsonl`` and ``folder/pool/*.parquet``; ``split.json`` last.

    A finished split (its ``split.json``) is returned as it is; an unfinished one is redone from scratch.
    """
    marker = folder / "split.json"
    if marker.exists():
        return json.loads(marker.read_text(encoding="utf-8"))
    input_files([curated])  # a missing or empty curated folder fails here, with its name
    for sub in ("heldout", "pool"):
        shutil.rmtree(folder / sub, ignore_errors=True)
        (folder / sub).mkdir(parents=True)
    # pass 1: the held-out documents and their n-grams
    held: dict[str, int] = dict.fromkeys(HELDOUT_KINDS, 0)
    grams: list[np.ndarray] = []
    with ExitStack() as stack:
        files = {k: stack.enter_context(open_binary_write(folder / "heldout" / f"{k}.jsonl")) for k in HELDOUT_KINDS}
        for doc in corpus_documents(curated, spec):
            if doc.text and is_heldout(doc, spec):
                files[doc.kind].write(document_json(doc).encode("utf-8", "surrogatepass") + b"\n")
                held[doc.kind] += 1
                grams.append(np.unique(_ngrams(doc.text, spec.ngram)))
    held_grams = np.unique(np.concatenate(grams)) if grams else np.zeros(0, np.uint64)
    # pass 2: which pool documents share which held-out n-grams, and in how many documents each n-gram is
    doc_count = np.zeros(len(held_grams), np.int64)
    hits: dict[str, np.ndarray] = {}
    for doc in _pool_candidates(curated, spec):
        found = _shared(_ngrams(doc.text, spec.ngram), held_grams)
        if len(found):
            hits[doc.id] = found
            doc_count[found] += 1
    idiom = doc_count >= spec.stoplist_min_docs
    removed = {i for i, found in hits.items() if not np.all(idiom[found])}
    # pass 3: the pool
    pool_docs, parts, batch = 0, 0, []
    for doc in _pool_candidates(curated, spec):
        if doc.id in removed:
            continue
        batch.append(doc)
        if len(batch) == POOL_ROWS:
            parts = _write_part(folder / "pool", parts, batch)
            pool_docs += len(batch)
            batch = []
    if batch or not parts:
        parts = _write_part(folder / "pool", parts, batch)
        pool_docs += len(batch)
    summary = {
        "curated": str(curated),
        "spec": spec.model_dump(),
        "heldout_documents": held,
        "pool_documents": pool_docs,
        "decontamination": {
            "removed": len(removed),
            "heldout_ngrams": len(held_grams),
            "idiom_ngrams": int(np.count_nonzero(idiom)),
            "examples": sorted(removed)[:EXAMPLES],
        },
    }
    atomic_write_text(marker, json.dumps(summary, indent=2))
    return summary


def _shared(grams: np.ndarray, held: np.ndarray) -> np.ndarray:
    """Indexes into ``held`` (sorted) of the n-grams of ``grams`` that are in it, each once."""
    if not len(grams) or not len(held):
        return np.zeros(0, np.int64)
    at = np.searchsorted(held, grams)
    at[at == len(held)] = 0
    return np.unique(at[held[at] == grams])


def _write_part(folder: Path, index: int, docs: list[Document]) -> int:
    pq.write_table(documents_to_table(docs), folder / f"part-{index:05d}.parquet")
    return index + 1


def heldout_documents(folder: Path, kind: str, spec: HeldoutSpec) -> list[Document]:
    """The held-out documents of ``kind`` that are scored: at most ``max_documents``, chosen by a seeded hash."""
    path = folder / "heldout" / f"{kind}.jsonl"
    docs = []
    with open_binary_read(path) as f:
        for line in f:
            if line.strip():
                docs.append(Document.from_row(orjson.loads(line)))
    docs.sort(key=lambda d: (_unit(spec.seed + 1, d.id), d.id))
    return docs[: spec.max_documents]
