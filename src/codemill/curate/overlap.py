"""The ``source_overlap`` step: drop text documents that share word n-grams with the code data.

Qwen2.5-Coder keeps its sources independent: "all code segments were removed from the general Text data to
avoid overlap with our code data". This step removes whole text documents (kind ``text`` by default) that
share at least ``min_matches`` whitespace-word 10-grams with any document of the code kinds; the ladder's
code-removal step (issue: filtering ladder) cuts code segments out of prose, this one catches what is left.

Phases: ``ngrams`` (per shard: the code documents' n-grams and the text documents' (n-gram, document) pairs,
split into buckets by hash), ``join`` (per bucket: which text n-grams occur in code), ``decide`` (1 task:
matches per text document, decisions). No task holds more than one bucket of the corpus's n-grams.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import Field

from codemill.curate.decided import (
    DecidedStep,
    load_bucket,
    save_array,
    save_bucketed,
    shard_row,
    write_table,
)
from codemill.curate.ngrams import ngram_hashes, token_hashes, whitespace_tokens
from codemill.data.schema import KINDS, Document
from codemill.pipeline.step import Params, StageContext

PAIR = np.dtype([("gram", "<u8"), ("doc", "<u8")])


class OverlapParams(Params):
    code_kinds: list[str] = Field(["code"], description=f"kinds whose n-grams make the code index ({', '.join(KINDS)})")
    text_kinds: list[str] = Field(["text"], description="kinds whose documents are checked and dropped")
    ngram: int = Field(10, ge=3, le=50, description="words per n-gram (whitespace split)")
    min_matches: int = Field(1, ge=1, description="shared n-grams that make a text document overlap")
    buckets: int = Field(16, ge=1, le=4096, description="partitions of the n-gram index (parallel tasks)")


class SourceOverlap(DecidedStep[OverlapParams]):
    """Text documents that repeat code data are removed, so text and code stay independent sources."""

    name = "source_overlap"

    def phases(self, ctx: StageContext) -> list[tuple[str, int]]:
        return [("ngrams", ctx.shards), ("join", self.params.buckets), ("decide", 1)]

    def run_task(self, ctx: StageContext, phase: str, task: int) -> None:
        {"ngrams": self._ngrams, "join": self._join, "decide": self._decide}[phase](ctx, task)

    def _ngrams(self, ctx: StageContext, shard: int) -> None:
        code: list[np.ndarray] = []
        text: list[np.ndarray] = []
        row = 0
        for batch in pq.ParquetFile(ctx.inputs[shard]).iter_batches(batch_size=2048, columns=["text", "kind"]):
            cols = batch.to_pydict()
            for body, kind in zip(cols["text"], cols["kind"], strict=True):
                if kind in self.params.code_kinds or kind in self.params.text_kinds:
                    grams = np.unique(ngram_hashes(token_hashes(whitespace_tokens(body)), self.params.ngram, False))
                    if kind in self.params.code_kinds:
                        code.append(grams)
                    else:
                        pairs = np.zeros(len(grams), PAIR)
                        pairs["gram"], pairs["doc"] = grams, (shard << 32) | row
                        text.append(pairs)
                row += 1
        codes = np.unique(np.concatenate([np.zeros(0, np.uint64), *code]))
        texts = np.concatenate([np.zeros(0, PAIR), *text])
        b = np.uint64(self.params.buckets)
        save_bucketed(ctx.work / "code" / f"{shard:05d}", codes, (codes % b).astype(np.int64), self.params.buckets)
        save_bucketed(
            ctx.work / "text" / f"{shard:05d}", texts, (texts["gram"] % b).astype(np.int64), self.params.buckets
        )
        save_array(ctx.work / "rows" / f"{shard:05d}.npy", np.array([row], np.int64))

    def _join(self, ctx: StageContext, bucket: int) -> None:
        stems = range(ctx.shards)
        code = np.unique(load_bucket([ctx.work / "code" / f"{s:05d}" for s in stems], bucket, np.uint64))
        text = load_bucket([ctx.work / "text" / f"{s:05d}" for s in stems], bucket, PAIR)
        hit = text["doc"][np.isin(text["gram"], code, assume_unique=False)]
        docs, counts = np.unique(hit, return_counts=True)
        hits = np.zeros(len(docs), PAIR)
        hits["gram"], hits["doc"] = counts.astype(np.uint64), docs
        save_array(ctx.work / "hits" / f"{bucket:05d}.npy", hits)

    def _decide(self, ctx: StageContext, _task: int) -> None:
        hits = np.concatenate(
            [np.zeros(0, PAIR), *(np.load(ctx.work / "hits" / f"{b:05d}.npy") for b in range(self.params.buckets))]
        )
        docs, inverse = np.unique(hits["doc"], return_inverse=True)
        matches = np.bincount(inverse, weights=hits["gram"].astype(np.float64)).astype(np.int64) if len(docs) else docs
        chosen = docs[matches >= self.params.min_matches]
        counts = matches[matches >= self.params.min_matches]
        shards, rows = shard_row(chosen)
        for s in range(ctx.shards):
            sel = shards == s
            ids = pq.read_table(ctx.inputs[s], columns=["id"])["id"].take(pa.array(rows[sel])).to_pylist()
            write_table(
                ctx.work / "decisions" / f"{s:05d}.parquet",
                {
                    "row": pa.array(rows[sel], pa.int64()),
                    "id": pa.array(ids, pa.string()),
                    "matches": pa.array(counts[sel], pa.int64()),
                },
            )
        self.write_summary(
            ctx,
            {
                "code_kinds": self.params.code_kinds,
                "text_kinds": self.params.text_kinds,
                "ngram": self.params.ngram,
                "text_documents_with_overlap": len(docs),
                "removed": len(chosen),
                "documents": int(sum(int(np.load(ctx.work / "rows" / f"{s:05d}.npy")[0]) for s in range(ctx.shards))),
            },
        )

    def apply(self, doc: Document, decision: dict[str, Any]) -> tuple[str, str] | None:
        return "overlaps_code", f"shares {decision['matches']} word {self.params.ngram}-grams with the code data"
