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

import itertools
import json
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pydantic import Field, model_validator

from codemill.curate.decided import (
    ArrayFile,
    ArrayWriter,
    DecidedStep,
    MappedArray,
    PhaseClock,
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
    batch_shingle_hashes,
    estimated_jaccard,
    exact_hash,
    flat_signatures,
    lsh_params,
)
from codemill.curate.dedup.unionfind import DiskUnionFind
from codemill.data.schema import Document
from codemill.pipeline.step import Params, StageContext

EXACT_BAND = 0xFFFF
SETTLED_MARGIN = 0.1  # signature estimates this far from the threshold need no exact check
BAND_DTYPE = np.dtype([("band", "<u2"), ("key", "<u8"), ("doc", "<u8")])
SIGNATURE_BATCH = 512  # documents per batch of the signatures phase at most
SIGNATURE_BYTES = 2 << 20  # bytes of text per batch at most (one larger document is a batch of its own)
STAR_MAX_WORK = 20_000_000  # centre-member comparisons per cluster before star survivors give up on it
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
    survivors: Literal["chain", "star"] = Field(
        "star",
        description="chain: one survivor per connected cluster (a removed document may be far from it); star: "
        "survivors are centres, and a document is removed only for a centre it is near itself",
    )
    buckets: int = Field(
        16, ge=1, le=4096, description="partitions of the band index (parallel tasks; more when memory_mb asks)"
    )
    memory_mb: int = Field(
        256, ge=1, description="bound on what one task of the index holds: more buckets for a larger corpus"
    )
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


def _batches(path: Path, columns: list[str]) -> Iterator[pa.RecordBatch]:
    """The shard's rows in batches of at most ``SIGNATURE_BATCH`` documents and ``SIGNATURE_BYTES`` of text (a
    larger document alone): hashing a batch holds about 20 bytes per byte of its text."""
    for batch in pq.ParquetFile(path).iter_batches(batch_size=SIGNATURE_BATCH, columns=columns):
        sizes = np.cumsum(pc.binary_length(batch.column("text")).to_numpy(zero_copy_only=False))
        start = 0
        while start < len(sizes):
            done = sizes[start - 1] if start else 0
            stop = max(start + 1, int(np.searchsorted(sizes, done + SIGNATURE_BYTES, side="right")))
            yield batch.slice(start, stop - start)
            start = stop


def _sorted_set(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted (a sort and a comparison: ``np.unique`` is several times slower on the
    thousand-odd shingles of a file)."""
    ordered = np.sort(values)
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))] if len(ordered) else ordered


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
        return [("signatures", ctx.shards), ("candidates", self._buckets(ctx)), ("clusters", 1)]

    def _buckets(self, ctx: StageContext) -> int:
        """Partitions of the band index: ``buckets``, or more, so that one bucket's entries of every shard (with
        the sort and the edges made from them, about 4x the entries) stay within ``memory_mb``. From the input's
        row counts, so every task of a run computes the same number."""
        rows = sum(pq.ParquetFile(path).metadata.num_rows for path in ctx.inputs)
        entry_bytes = BAND_DTYPE.itemsize * (self.lsh.bands + 1) * 4
        return max(self.params.buckets, -(-rows * entry_bytes // (self.params.memory_mb << 20)))

    def run_task(self, ctx: StageContext, phase: str, task: int) -> None:
        for cache in ("_maps", "_shingle_files"):  # files of another run may have had these names
            self.__dict__.pop(cache, None)
        {"signatures": self._signatures, "candidates": self._candidates, "clusters": self._clusters}[phase](ctx, task)

    def _signatures(self, ctx: StageContext, shard: int) -> None:
        """One pass over the shard, a batch at a time: signatures and shingle sets go to disk as they are made,
        and what stays in memory is per document a few numbers and its band entries (18 bytes a band)."""
        work, near, exact_check = ctx.work, self.params.near, self.params.verify == "exact"
        rows: dict[str, list] = {"id": [], "quality": [], "stars": [], "exact": []}
        sig_out = ArrayWriter(work / "sig" / f"{shard:05d}.npy", np.uint32, self.params.num_perm)
        shingles_out = ArrayWriter(work / "shingles" / f"{shard:05d}.npy", np.uint64)
        shingle_offsets = [np.zeros(1, np.uint64)]
        entries = []
        clock = PhaseClock()
        for batch in _batches(ctx.inputs[shard], ["id", "text", "meta", "quality"]):
            with clock("read"):
                cols = batch.to_pydict()
                texts = cols["text"]
            with clock("shingles"):
                flat, offsets = batch_shingle_hashes(texts if near else [], self.params.ngram)
            with clock("exact"):
                exact = np.array([exact_hash(t) for t in texts], np.uint64)
            first = len(rows["id"])
            rows["id"] += cols["id"]
            rows["quality"] += cols["quality"]
            rows["stars"] += [stars_of(json.loads(m) if m else {}) for m in cols["meta"]]
            rows["exact"] += exact.tolist()
            with clock("signatures"):
                sig = flat_signatures(flat, offsets, self.params.num_perm, self.params.seed) if near else None
            with clock("bands"):
                entries.append(self._band_entries(shard, first, sig, exact, np.diff(offsets)))
            with clock("write"):
                if sig is not None:  # read back by the candidate check and by star survivors
                    sig_out.append(sig)
                if exact_check:  # the shingles as they come, repeats and all: only borderline pairs need sets
                    shingles_out.append(flat)
                    shingle_offsets.append(offsets[1:] + shingle_offsets[-1][-1])
        with clock("write"):
            bands = np.concatenate(entries) if entries else np.zeros(0, BAND_DTYPE)
            buckets = self._buckets(ctx)  # reads every input's footer: once per task
            bucket = (bands["key"] % np.uint64(buckets)).astype(np.int64)
            save_bucketed(work / "bands" / f"{shard:05d}", bands, bucket, buckets)
            sig_out.close()
            shingles_out.close()
            save_array(work / "shingles" / f"{shard:05d}.offsets.npy", np.concatenate(shingle_offsets))
            write_table(
                work / "docs" / f"{shard:05d}.parquet",
                {
                    "id": pa.array(rows["id"], pa.string()),
                    "quality": pa.array(rows["quality"], pa.int32()),
                    "stars": pa.array(rows["stars"], pa.int64()),
                    "exact": pa.array(rows["exact"], pa.uint64()),
                },
            )
        clock.save(work / "profile" / f"signatures-{shard:05d}.json")

    def _band_entries(
        self, shard: int, first: int, sig: np.ndarray | None, exact: np.ndarray, shingles: np.ndarray
    ) -> np.ndarray:
        """Band entries of a batch whose first document is row ``first`` of the shard."""
        n = len(exact)
        doc = doc_keys(shard, n) + np.uint64(first)
        parts = []
        if self.params.exact:
            e = np.zeros(n, BAND_DTYPE)
            e["band"], e["key"], e["doc"] = EXACT_BAND, exact, doc
            parts.append(e)
        if sig is not None:
            has = shingles > 0  # documents without a word have no signature to compare
            keys = band_keys(sig[has], self.lsh.bands, self.lsh.rows)
            b = np.zeros(keys.size, BAND_DTYPE)
            b["band"] = np.tile(np.arange(self.lsh.bands, dtype=np.uint16), int(has.sum()))
            b["key"] = keys.reshape(-1)
            b["doc"] = np.repeat(doc[has], self.lsh.bands)
            parts.append(b)
        return np.concatenate(parts) if parts else np.zeros(0, BAND_DTYPE)

    def _candidates(self, ctx: StageContext, bucket: int) -> None:
        clock = PhaseClock()
        edges = self._bucket_edges(ctx, bucket, clock)
        with clock("write"):
            save_array(ctx.work / "edges" / f"{bucket:05d}.npy", edges.astype(np.uint64))
        clock.save(ctx.work / "profile" / f"candidates-{bucket:05d}.json")

    def _bucket_edges(self, ctx: StageContext, bucket: int, clock: PhaseClock) -> np.ndarray:
        """The checked candidate pairs of one bucket of the band index."""
        stems = [ctx.work / "bands" / f"{shard:05d}" for shard in range(ctx.shards)]
        with clock("read"):
            entries = load_bucket(stems, bucket, BAND_DTYPE)
        if len(entries) < 2:
            return np.zeros((0, 2), np.uint64)
        clock.start("group")
        order = np.lexsort((entries["doc"], entries["key"], entries["band"]))
        entries = entries[order]
        same = (entries["band"][1:] == entries["band"][:-1]) & (entries["key"][1:] == entries["key"][:-1])
        u, v = entries["doc"][:-1][same], entries["doc"][1:][same]  # chain each group in doc order
        exact = entries["band"][1:][same] == EXACT_BAND
        first = np.maximum.accumulate(np.where(np.concatenate([[True], ~same]), np.arange(len(entries)), 0))
        group_head = entries["doc"][first[1:][same]]
        if self.params.verify != "none" and len(u):
            clock.start("check")
            ok = exact.copy()
            ok[~exact] = self._similar(ctx, u[~exact], v[~exact])
            retry = ~ok & (group_head != u)  # a broken chain link: try the group's first document instead
            ok_head = np.zeros_like(ok)
            if retry.any():
                ok_head[retry] = self._similar(ctx, group_head[retry], v[retry])
            u = np.where(ok_head, group_head, u)
            u, v = u[ok | ok_head], v[ok | ok_head]
        clock.start("edges")
        edges = (
            np.unique(np.stack([np.minimum(u, v), np.maximum(u, v)], axis=1), axis=0)
            if len(u)
            else np.zeros((0, 2), np.uint64)
        )
        clock.stop()
        return edges

    def _similar(self, ctx: StageContext, u: np.ndarray, v: np.ndarray, chunk: int = 16_384) -> np.ndarray:
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
            self._release()
        return ok

    def _exact_jaccard(self, ctx: StageContext, a: int, b: int) -> float:
        sets = []
        for doc in (a, b):
            shingles, offsets = self._shingle_file(ctx, doc >> 32)
            row = doc & 0xFFFFFFFF
            sets.append(_sorted_set(shingles.slice(int(offsets[row]), int(offsets[row + 1]))))
        x, y = sets
        if not len(x) or not len(y):
            return 1.0 if len(x) == len(y) else 0.0
        at = np.searchsorted(y, x)
        at[at == len(y)] = 0
        inter = int((y[at] == x).sum())
        return inter / (len(x) + len(y) - inter)

    def _mapped(self, ctx: StageContext, kind: str, shard: int) -> MappedArray:
        """A shard's signatures, mapped once per task; see :meth:`_release`."""
        maps = self.__dict__.setdefault("_maps", {})
        key = (ctx.work, kind, shard)
        if key not in maps:
            maps[key] = MappedArray(ctx.work / kind / f"{shard:05d}.npy")
        return maps[key]

    def _release(self) -> None:
        """Hand back the pages read so far: random reads over the signature and shingle files would otherwise
        stay resident, and the process's memory would grow with the corpus, not with the chunk."""
        for mapped in self.__dict__.get("_maps", {}).values():
            mapped.release()

    def _shingle_file(self, ctx: StageContext, shard: int) -> tuple[ArrayFile, np.ndarray]:
        """A shard's shingles (read a document at a time: only borderline pairs need them) and their offsets."""
        files = self.__dict__.setdefault("_shingle_files", {})
        if (ctx.work, shard) not in files:
            offsets = np.load(ctx.work / "shingles" / f"{shard:05d}.offsets.npy")
            files[(ctx.work, shard)] = (ArrayFile(ctx.work / "shingles" / f"{shard:05d}.npy"), offsets)
        return files[(ctx.work, shard)]

    def _rows(self, ctx: StageContext, kind: str, docs: np.ndarray) -> np.ndarray:
        """Signature rows of documents given as ``shard << 32 | row``."""
        out = np.empty((len(docs), self.params.num_perm), np.uint32)
        shards, rows = shard_row(docs)
        for s in np.unique(shards):
            out[shards == s] = self._mapped(ctx, kind, int(s)).array[rows[shards == s]]
        return out

    def _clusters(self, ctx: StageContext, _task: int) -> None:
        """Connected clusters of the checked edges, then survivors: one per cluster (``chain``) or centres
        (``star``); the decisions of every shard, and the summary with the profile of every phase."""
        work, clock = ctx.work, PhaseClock()
        with clock("union-find"):
            counts = np.array(
                [pq.ParquetFile(work / "docs" / f"{s:05d}.parquet").metadata.num_rows for s in range(ctx.shards)]
            )
            offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
            uf = DiskUnionFind(work / "parent.npy", int(offsets[-1]))
            edges_total = 0
            buckets = self._buckets(ctx)
            for bucket in range(buckets):
                edges = np.load(work / "edges" / f"{bucket:05d}.npy")
                edges_total += len(edges)
                if len(edges):
                    shard, row = shard_row(edges.reshape(-1))
                    glob = (offsets[shard] + row).reshape(-1, 2)
                    uf.union(glob[:, 0], glob[:, 1])
            labels = uf.labels()
            uf.close()
            (work / "parent.npy").unlink()
            sizes = np.bincount(labels, minlength=len(labels)) if len(labels) else np.zeros(0, np.int64)
            in_cluster = np.flatnonzero(sizes[labels] > 1) if len(labels) else np.zeros(0, np.int64)
        with clock("rank"):
            members = self._members(ctx, offsets, in_cluster, labels[in_cluster])
        with clock("survivors"):
            if self.params.survivors == "star" and self.params.near:  # exact-only clusters are stars already
                centre, fallback = self._stars(ctx, members)
            else:
                labels = members["label"].to_numpy()
                first = np.concatenate([[True], labels[1:] != labels[:-1]]) if len(labels) else np.zeros(0, bool)
                centre, fallback = np.flatnonzero(first)[np.cumsum(first) - 1], 0
        with clock("write"):
            removed = self._write_decisions(ctx, members, centre)
        group_sizes = np.bincount(centre) if len(centre) else np.zeros(0, np.int64)
        cluster_sizes = sizes[sizes > 1]
        clock.save(work / "profile" / "clusters-00000.json")
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
            "buckets": buckets,
            "candidate_edges": edges_total,
            "clusters": len(cluster_sizes),
            "documents_in_clusters": int(cluster_sizes.sum()),
            "largest_cluster": int(cluster_sizes.max()) if len(cluster_sizes) else 0,
            "survivors": self.params.survivors,
            "survivor_groups": int((group_sizes > 1).sum()),
            "kept_as_centres": int((group_sizes == 1).sum()),
            "star_fallback": fallback,
            "removed": removed,
        }
        self.write_summary(ctx, summary)

    def _members(self, ctx: StageContext, offsets: np.ndarray, in_cluster: np.ndarray, label: np.ndarray) -> pa.Table:
        """The documents in clusters, ranked: by cluster, then the survivor rule (highest quality, then most
        stars, then smallest id; deterministic whatever the order of edges). Read one shard at a time."""
        shard_of = np.searchsorted(offsets, in_cluster, side="right") - 1
        row_of = in_cluster - offsets[shard_of]
        parts = []
        for s in np.unique(shard_of):
            pick = shard_of == s
            t = pq.read_table(ctx.work / "docs" / f"{s:05d}.parquet").take(pa.array(row_of[pick]))
            parts.append(
                t.append_column("label", pa.array(label[pick]))
                .append_column("shard", pa.array(np.full(int(pick.sum()), s, np.int64)))
                .append_column("row", pa.array(row_of[pick]))
            )
        if not parts:
            columns = {"id": pa.string(), "quality": pa.int32(), "stars": pa.int64(), "exact": pa.uint64()}
            columns |= {"label": pa.int64(), "shard": pa.int64(), "row": pa.int64()}
            return pa.table({name: pa.array([], kind) for name, kind in columns.items()})
        table = pa.concat_tables(parts)
        order = pc.sort_indices(
            table,
            sort_keys=[("label", "ascending"), ("quality", "descending"), ("stars", "descending"), ("id", "ascending")],
        )
        return table.take(order)

    def _stars(self, ctx: StageContext, members: pa.Table) -> tuple[np.ndarray, int]:
        """Greedy star clustering inside each cluster, in survivor-rule order: a member joins the first centre
        it is near (signature estimate, exact check near the threshold, as for candidates), otherwise it is a
        centre itself. So every removed document reaches the threshold with its own named survivor. The index
        of each member's centre; and how many members of clusters too large for it (``STAR_MAX_WORK``
        comparisons) fell back to their cluster's first member."""
        labels = members["label"].to_numpy()
        keys = (members["shard"].to_numpy().astype(np.uint64) << np.uint64(32)) | members["row"].to_numpy().astype(
            np.uint64
        )
        centre = np.arange(len(labels))
        starts = np.flatnonzero(np.concatenate([[True], labels[1:] != labels[:-1]])) if len(labels) else []
        bounds = [*starts, len(labels)]
        fallback = 0
        for lo, hi in itertools.pairwise(bounds):
            todo = np.arange(lo, hi)
            sig = self._rows(ctx, "sig", keys[lo:hi])
            work = 0
            while len(todo) > 1:
                c, rest = todo[0], todo[1:]
                if work > STAR_MAX_WORK:
                    centre[todo] = lo
                    fallback += len(todo)
                    break
                est = estimated_jaccard(sig[rest - lo], sig[c - lo][None, :])
                near = self._near(ctx, est, keys[c], keys[rest])
                centre[rest[near]] = c
                todo = rest[~near]
                work += len(rest)
            self._release()
        return centre, fallback

    def _near(self, ctx: StageContext, est: np.ndarray, centre: np.uint64, others: np.ndarray) -> np.ndarray:
        """Which of ``others`` reach the threshold with ``centre``, from their signature estimates ``est``."""
        t = self.params.threshold
        if self.params.verify != "exact":
            return est >= t
        near = est >= t + SETTLED_MARGIN
        for i in np.flatnonzero(np.abs(est - t) < SETTLED_MARGIN):
            near[i] = self._exact_jaccard(ctx, int(centre), int(others[i])) >= t
        return near

    def _write_decisions(self, ctx: StageContext, members: pa.Table, centre: np.ndarray) -> dict[str, int]:
        """Every shard's decisions (row, id, reason, survivor, group size); the removed counts per reason."""
        n = len(centre)
        exact = members["exact"].to_numpy()
        is_survivor = centre == np.arange(n)
        reason = np.where(is_survivor, "", np.where(exact == exact[centre], "exact_duplicate", "near_duplicate"))
        group = np.bincount(centre, minlength=n)[centre] if n else np.zeros(0, np.int64)
        table = pa.table(
            {
                "row": members["row"],
                "id": members["id"],
                "reason": pa.array(reason, pa.string()),
                "survivor": members["id"].take(pa.array(centre, pa.int64())),
                "cluster_size": pa.array(group, pa.int64()),
            }
        )
        shards = members["shard"].to_numpy()
        for s in range(ctx.shards):
            part = table.filter(pa.array(shards == s))
            part = part.take(pc.sort_indices(part, sort_keys=[("row", "ascending")]))
            write_table(
                ctx.work / "decisions" / f"{s:05d}.parquet", dict(zip(part.column_names, part.columns, strict=True))
            )
        return {k: int((reason == k).sum()) for k in ("exact_duplicate", "near_duplicate")}

    # ------------------------------------------------------------------------------------ final pass

    def apply(self, doc: Document, decision: dict[str, Any]) -> tuple[str, str] | None:
        doc.meta["dedup_cluster_size"] = decision["cluster_size"]
        if not decision["reason"]:
            return None  # the survivor of its cluster
        doc.meta["duplicate_of"] = decision["survivor"]
        return decision["reason"], f"duplicate of {decision['survivor']} (cluster of {decision['cluster_size']})"
