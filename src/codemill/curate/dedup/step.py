"""The ``dedup`` step: exact and MinHash-LSH near-duplicate removal that shards, spills and decides the same way
every time.

Phases (each a set of parallel tasks; see :class:`~codemill.pipeline.step.GlobalStep`):

1. ``signatures`` (one task per shard): exact hash, MinHash signature and LSH band keys of every document;
   band entries are written sorted by bucket, so phase 2 reads only its slice of each shard's file.
2. ``candidates`` (one task per bucket): documents sharing a band key (or the exact hash) become candidate
   pairs, checked against the threshold on their signatures (or on exact shingle sets) if asked.
3. ``clusters`` (one task): a disk-backed union-find streams the edge files; in each cluster the survivor is
   the document with the highest ``quality``, then the most repository stars, then the smallest id.
   Holds the cluster labels (8 bytes a document, memory-mapped), never all signatures or edges.

Then each shard drops its removed documents (``exact_duplicate`` or ``near_duplicate``), each carrying its
survivor's id in ``meta["duplicate_of"]``.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import Field, model_validator

from codemill.curate.decided import (
    DecidedStep,
    doc_keys,
    load_bucket,
    save_array,
    save_bucketed,
    shard_row,
    write_table,
)
from codemill.curate.dedup.minhash import (
    LshParams,
    band_keys,
    estimated_jaccard,
    exact_hash,
    lsh_params,
    shingle_hashes,
    signatures,
)
from codemill.curate.dedup.unionfind import DiskUnionFind
from codemill.data.schema import Document
from codemill.pipeline.step import Params, StageContext

EXACT_BAND = 0xFFFF
SETTLED_MARGIN = 0.1  # signature estimates this far from the threshold need no exact check
BAND_DTYPE = np.dtype([("band", "<u2"), ("key", "<u8"), ("doc", "<u8")])
STAR_KEYS = ("stars", "max_stars_count", "stargazers_count", "repo_stars")


class DedupParams(Params):
    exact: bool = Field(True, description="remove copies whose text is equal up to whitespace")
    near: bool = Field(True, description="remove near-duplicates found by MinHash-LSH")
    threshold: float = Field(0.7, gt=0, lt=1, description="Jaccard similarity of word n-gram sets")
    num_perm: int = Field(256, ge=16, le=1024, description="MinHash permutations")
    ngram: int = Field(5, ge=1, le=20, description="words per shingle")
    bands: int | None = Field(None, ge=1, description="pin the LSH band count (default: derived from threshold)")
    verify: Literal["none", "signature", "exact"] = Field(
        "exact", description="check candidate pairs: not at all, on signatures, or on exact shingle sets"
    )
    buckets: int = Field(16, ge=1, le=4096, description="partitions of the band index (parallel tasks)")
    seed: int = Field(42, ge=0)

    @model_validator(mode="after")
    def _something_to_do(self) -> DedupParams:
        if not (self.exact or self.near):
            raise ValueError("exact and near are both false: the step would do nothing")
        if self.bands is not None and self.bands > self.num_perm:
            raise ValueError(f"bands {self.bands} > num_perm {self.num_perm}")
        return self


@lru_cache(maxsize=32)
def _lsh(threshold: float, num_perm: int, bands: int | None, verified: bool) -> LshParams:
    """Bands and rows for the threshold. Checked candidates cost only a comparison while a missed pair is lost,
    so with a check the S-curve is fitted weighting misses 19:1 (36 x 7 for 0.7: 95% of pairs at 0.7 become
    candidates, against 51% with 25 x 10)."""
    weights = (0.05, 0.95) if verified else (0.5, 0.5)
    return lsh_params(threshold, num_perm, *weights, bands=bands)


def stars_of(meta: dict[str, Any]) -> int:
    """Repository stars from a document's meta, where the source recorded them (0 otherwise)."""
    for key in STAR_KEYS:
        value = meta.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return int(value)
    return 0


class Dedup(DecidedStep[DedupParams]):
    """Exact and near-duplicate removal with a deterministic survivor per cluster."""

    name = "dedup"

    def __init__(self, params: DedupParams | None = None) -> None:
        super().__init__(params)
        self.lsh = _lsh(self.params.threshold, self.params.num_perm, self.params.bands, self.params.verify != "none")

    # ----------------------------------------------------------------------------------------- phases

    def phases(self, ctx: StageContext) -> list[tuple[str, int]]:
        return [("signatures", ctx.shards), ("candidates", self.params.buckets), ("clusters", 1)]

    def run_task(self, ctx: StageContext, phase: str, task: int) -> None:
        {"signatures": self._signatures, "candidates": self._candidates, "clusters": self._clusters}[phase](ctx, task)

    def _signatures(self, ctx: StageContext, shard: int) -> None:
        work = ctx.work
        rows: dict[str, list] = {"id": [], "quality": [], "stars": [], "exact": [], "shingles": []}
        sigs: list[np.ndarray] = []
        shingle_sets: list[np.ndarray] = []
        table = pq.ParquetFile(ctx.inputs[shard])
        for batch in table.iter_batches(batch_size=2048, columns=["id", "text", "meta", "quality"]):
            cols = batch.to_pydict()
            shingles = [
                shingle_hashes(t, self.params.ngram) if self.params.near else np.zeros(0, np.uint64)
                for t in cols["text"]
            ]
            rows["id"] += cols["id"]
            rows["quality"] += cols["quality"]
            rows["stars"] += [stars_of(json.loads(m) if m else {}) for m in cols["meta"]]
            rows["exact"] += [exact_hash(t) for t in cols["text"]]
            rows["shingles"] += [len(s) for s in shingles]
            if self.params.near:
                sigs.append(signatures(shingles, self.params.num_perm, self.params.seed))
            if self.params.verify == "exact":
                shingle_sets += [np.unique(s) for s in shingles]
        n = len(rows["id"])
        sig = np.concatenate(sigs) if sigs else np.zeros((n, self.params.num_perm), np.uint32)
        entries = [self._band_entries(shard, sig, np.array(rows["exact"], np.uint64), np.array(rows["shingles"]))]
        bands = np.concatenate(entries)
        bucket = (bands["key"] % np.uint64(self.params.buckets)).astype(np.int64)
        save_bucketed(work / "bands" / f"{shard:05d}", bands, bucket, self.params.buckets)
        if self.params.verify != "none":
            save_array(work / "sig" / f"{shard:05d}.npy", sig)
        if self.params.verify == "exact":
            lengths = np.array([len(s) for s in shingle_sets], np.int64)
            save_array(work / "shingles" / f"{shard:05d}.npy", np.concatenate([np.zeros(0, np.uint64), *shingle_sets]))
            save_array(work / "shingles" / f"{shard:05d}.offsets.npy", np.concatenate([[0], np.cumsum(lengths)]))
        write_table(
            work / "docs" / f"{shard:05d}.parquet",
            {
                "id": pa.array(rows["id"], pa.string()),
                "quality": pa.array(rows["quality"], pa.int32()),
                "stars": pa.array(rows["stars"], pa.int64()),
                "exact": pa.array(rows["exact"], pa.uint64()),
            },
        )

    def _band_entries(self, shard: int, sig: np.ndarray, exact: np.ndarray, shingles: np.ndarray) -> np.ndarray:
        n = len(exact)
        doc = doc_keys(shard, n)
        parts = []
        if self.params.exact:
            e = np.zeros(n, BAND_DTYPE)
            e["band"], e["key"], e["doc"] = EXACT_BAND, exact, doc
            parts.append(e)
        if self.params.near:
            has = shingles > 0  # documents without a word have no signature to compare
            keys = band_keys(sig[has], self.lsh.bands, self.lsh.rows)
            b = np.zeros(keys.size, BAND_DTYPE)
            b["band"] = np.tile(np.arange(self.lsh.bands, dtype=np.uint16), int(has.sum()))
            b["key"] = keys.reshape(-1)
            b["doc"] = np.repeat(doc[has], self.lsh.bands)
            parts.append(b)
        return np.concatenate(parts) if parts else np.zeros(0, BAND_DTYPE)

    def _candidates(self, ctx: StageContext, bucket: int) -> None:
        work = ctx.work
        stems = [work / "bands" / f"{shard:05d}" for shard in range(ctx.shards)]
        entries = load_bucket(stems, bucket, BAND_DTYPE)
        if len(entries) < 2:
            save_array(work / "edges" / f"{bucket:05d}.npy", np.zeros((0, 2), np.uint64))
            return
        order = np.lexsort((entries["doc"], entries["key"], entries["band"]))
        entries = entries[order]
        same = (entries["band"][1:] == entries["band"][:-1]) & (entries["key"][1:] == entries["key"][:-1])
        u, v = entries["doc"][:-1][same], entries["doc"][1:][same]  # chain each group in doc order
        exact = entries["band"][1:][same] == EXACT_BAND
        first = np.maximum.accumulate(np.where(np.concatenate([[True], ~same]), np.arange(len(entries)), 0))
        group_head = entries["doc"][first[1:][same]]
        if self.params.verify != "none" and len(u):
            ok = exact.copy()
            ok[~exact] = self._similar(ctx, u[~exact], v[~exact])
            retry = ~ok & (group_head != u)  # a broken chain link: try the group's first document instead
            ok_head = np.zeros_like(ok)
            if retry.any():
                ok_head[retry] = self._similar(ctx, group_head[retry], v[retry])
            u = np.where(ok_head, group_head, u)
            u, v = u[ok | ok_head], v[ok | ok_head]
        edges = (
            np.unique(np.stack([np.minimum(u, v), np.maximum(u, v)], axis=1), axis=0)
            if len(u)
            else np.zeros((0, 2), np.uint64)
        )
        save_array(work / "edges" / f"{bucket:05d}.npy", edges.astype(np.uint64))

    def _similar(self, ctx: StageContext, u: np.ndarray, v: np.ndarray, chunk: int = 50_000) -> np.ndarray:
        """Whether each pair reaches the threshold.

        Signatures settle every pair under ``signature``. Under ``exact`` they settle only the pairs whose
        estimate is more than ``SETTLED_MARGIN`` from the threshold (3.5 standard errors at 256 permutations:
        wrong about 1 pair in 4,000 of those), and the borderline rest is decided on exact shingle sets.
        """
        ok = np.zeros(len(u), bool)
        for start in range(0, len(u), chunk):  # bounded memory: 2 x chunk signature rows at a time
            a, b = u[start : start + chunk], v[start : start + chunk]
            est = estimated_jaccard(self._rows(ctx, "sig", a), self._rows(ctx, "sig", b))
            if self.params.verify == "signature":
                ok[start : start + len(a)] = est >= self.params.threshold
                continue
            part = est >= self.params.threshold + SETTLED_MARGIN
            border = np.flatnonzero(np.abs(est - self.params.threshold) < SETTLED_MARGIN)
            part[border] = [
                self._exact_jaccard(ctx, int(x), int(y)) >= self.params.threshold
                for x, y in zip(a[border], b[border], strict=True)
            ]
            ok[start : start + len(a)] = part
        return ok

    def _exact_jaccard(self, ctx: StageContext, a: int, b: int) -> float:
        sets = []
        for doc in (a, b):
            flat, offsets = self._shingle_file(ctx, doc >> 32)
            row = doc & 0xFFFFFFFF
            sets.append(np.asarray(flat[offsets[row] : offsets[row + 1]]))
        inter = len(np.intersect1d(sets[0], sets[1], assume_unique=True))
        union = len(sets[0]) + len(sets[1]) - inter
        return 1.0 if union == 0 else inter / union

    def _shingle_file(self, ctx: StageContext, shard: int) -> tuple[np.ndarray, np.ndarray]:
        cache = self.__dict__.setdefault("_shingle_maps", {})
        if (ctx.work, shard) not in cache:
            cache[(ctx.work, shard)] = (
                np.load(ctx.work / "shingles" / f"{shard:05d}.npy", mmap_mode="r"),
                np.load(ctx.work / "shingles" / f"{shard:05d}.offsets.npy"),
            )
        return cache[(ctx.work, shard)]

    def _rows(self, ctx: StageContext, kind: str, docs: np.ndarray) -> np.ndarray:
        """Signature rows of documents given as ``shard << 32 | row``."""
        out = np.empty((len(docs), self.params.num_perm), np.uint32)
        shards, rows = shard_row(docs)
        for s in np.unique(shards):
            table = np.load(ctx.work / kind / f"{s:05d}.npy", mmap_mode="r")
            out[shards == s] = table[rows[shards == s]]
        return out

    def _clusters(self, ctx: StageContext, _task: int) -> None:
        work = ctx.work
        docs = [pq.read_table(work / "docs" / f"{s:05d}.parquet") for s in range(ctx.shards)]
        counts = np.array([len(t) for t in docs], np.int64)
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        uf = DiskUnionFind(work / "parent.npy", int(offsets[-1]))
        edges_total = 0
        for bucket in range(self.params.buckets):
            edges = np.load(work / "edges" / f"{bucket:05d}.npy")
            edges_total += len(edges)
            if len(edges):
                glob = offsets[(edges >> np.uint64(32)).astype(np.int64)] + (edges & np.uint64(0xFFFFFFFF)).astype(
                    np.int64
                )
                uf.union(glob[:, 0], glob[:, 1])
        labels = uf.labels()
        uf.close()
        (work / "parent.npy").unlink()
        sizes = np.bincount(labels, minlength=len(labels)) if len(labels) else np.zeros(0, np.int64)
        in_cluster = np.flatnonzero(sizes[labels] > 1) if len(labels) else np.zeros(0, np.int64)
        shard_of = np.searchsorted(offsets, in_cluster, side="right") - 1
        row_of = in_cluster - offsets[shard_of]
        ids, quality, stars, exact = [], [], [], []
        for s in np.unique(shard_of):
            t = docs[s].take(pa.array(row_of[shard_of == s]))
            ids += t["id"].to_pylist()
            quality += t["quality"].to_pylist()
            stars += t["stars"].to_pylist()
            exact += t["exact"].to_pylist()
        # survivor: highest quality, then most stars, then smallest id; deterministic whatever the order of edges
        ranking = sorted(range(len(in_cluster)), key=lambda i: (labels[in_cluster[i]], -quality[i], -stars[i], ids[i]))
        survivor: dict[int, int] = {}
        for i in ranking:
            survivor.setdefault(int(labels[in_cluster[i]]), i)
        decisions: dict[int, list[tuple[int, str, str, str, int]]] = {}
        removed = {"exact_duplicate": 0, "near_duplicate": 0}
        for i in range(len(in_cluster)):
            label = int(labels[in_cluster[i]])
            keep = survivor[label]
            reason = "" if i == keep else ("exact_duplicate" if exact[i] == exact[keep] else "near_duplicate")
            if reason:
                removed[reason] += 1
            decisions.setdefault(int(shard_of[i]), []).append(
                (int(row_of[i]), ids[i], reason, ids[keep], int(sizes[label]))
            )
        for s in range(ctx.shards):
            rows = decisions.get(s, [])
            write_table(
                work / "decisions" / f"{s:05d}.parquet",
                {
                    "row": pa.array([r[0] for r in rows], pa.int64()),
                    "id": pa.array([r[1] for r in rows], pa.string()),
                    "reason": pa.array([r[2] for r in rows], pa.string()),
                    "survivor": pa.array([r[3] for r in rows], pa.string()),
                    "cluster_size": pa.array([r[4] for r in rows], pa.int64()),
                },
            )
        cluster_sizes = sizes[sizes > 1]
        summary = {
            "lsh": {
                "bands": self.lsh.bands,
                "rows": self.lsh.rows,
                "threshold": self.params.threshold,
                "s_curve_midpoint": round(self.lsh.curve_midpoint, 4),
                "false_positive_area": round(self.lsh.false_positive_area, 5),
                "false_negative_area": round(self.lsh.false_negative_area, 5),
            },
            "documents": int(offsets[-1]),
            "candidate_edges": edges_total,
            "clusters": len(cluster_sizes),
            "documents_in_clusters": int(cluster_sizes.sum()),
            "largest_cluster": int(cluster_sizes.max()) if len(cluster_sizes) else 0,
            "removed": removed,
        }
        self.write_summary(ctx, summary)

    # ------------------------------------------------------------------------------------ final pass

    def apply(self, doc: Document, decision: dict[str, Any]) -> tuple[str, str] | None:
        doc.meta["dedup_cluster_size"] = decision["cluster_size"]
        if not decision["reason"]:
            return None  # the survivor of its cluster
        doc.meta["duplicate_of"] = decision["survivor"]
        return decision["reason"], f"duplicate of {decision['survivor']} (cluster of {decision['cluster_size']})"
