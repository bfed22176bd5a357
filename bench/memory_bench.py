"""The agents' memory (:mod:`codemill.synth.memory`) on labelled instruction pairs: what it refuses, and what not.

Pairs: ``bench/data/memory_pairs.jsonl``, hand-written programming-exercise instructions (Python, JavaScript, Bash,
C++) in three kinds that share their first text: ``paraphrase`` (the same task reworded) and ``renamed`` (the same
task with other identifiers and a few changed words) are duplicates the memory should refuse;
``distinct_same_topic`` (another task on the same topic) it should let through. For every pair: the MinHash
estimate of word 3-gram Jaccard, through the memory's own signature (128 permutations), and the cosine of the
memory's embedder (``LlamaEmbedder("smollm2")``, each text embedded alone, as the memory does). Reported, over a
grid of thresholds, for MinHash alone, the embedding alone and the memory's rule (refused when either reaches its
threshold): recall per duplicate kind and pooled, and false refusals (share of distinct pairs refused). A real
:class:`~codemill.synth.memory.MemoryBank` at the recipe's defaults is run over the pairs too, and must agree with
the rule as computed here. Best thresholds: the highest pooled recall with false refusals <= 5%; ties go to fewer
false refusals, then to higher (stricter) thresholds.

Rates are per pair. A bank holds many entries and refuses a candidate when any one of them is close, so with N
unrelated same-topic entries a per-pair false refusal rate p becomes about 1 - (1 - p)^N per candidate.

    .venv/bin/python bench/memory_bench.py

Results: ``bench/results/memory.json``.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from codemill.curate.dedup.minhash import estimated_jaccard
from codemill.synth.embed import LlamaEmbedder, normalise_rows
from codemill.synth.memory import NGRAM, NUM_PERM, MemoryBank, _signature
from codemill.synth.recipe import MemorySpec

HERE = Path(__file__).parent
PAIRS = HERE / "data" / "memory_pairs.jsonl"
RESULTS = HERE / "results" / "memory.json"
DUPLICATE_KINDS = ("paraphrase", "renamed")
DISTINCT_KIND = "distinct_same_topic"
MINHASH_GRID = [round(0.30 + 0.05 * i, 2) for i in range(13)]  # 0.30 .. 0.90
EMBEDDING_GRID = [round(0.80 + 0.01 * i, 2) for i in range(20)]  # 0.80 .. 0.99
MAX_FALSE_REFUSALS = 0.05
QUANTILES = {"min": 0.0, "p05": 0.05, "p25": 0.25, "p50": 0.5, "p75": 0.75, "p95": 0.95, "max": 1.0}
OFF = 2.0  # a threshold no similarity reaches: that measure never refuses


def load_pairs(path: Path = PAIRS) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def minhash_scores(pairs: list[dict[str, Any]]) -> np.ndarray:
    """The memory's Jaccard estimate for each pair (its own signature function: same shingles, same permutations)."""
    return np.array([float(estimated_jaccard(_signature(p["a"]), _signature(p["b"]))) for p in pairs])


class CachedEmbedder:
    """The vectors already computed, served to a real :class:`MemoryBank` under the model's identity."""

    def __init__(self, identity: str, vectors: dict[str, np.ndarray]) -> None:
        self.identity = identity
        self.vectors = vectors

    def embed(self, texts: list[str]) -> np.ndarray:
        return np.stack([self.vectors[text] for text in texts])


def embed_all(embedder: LlamaEmbedder, texts: list[str]) -> dict[str, np.ndarray]:
    """One decode per text, as the memory embeds: a vector must not depend on its batch companions."""
    return {text: normalise_rows(embedder.embed([text]))[0] for text in texts}


def rates(kinds: list[str], refused: np.ndarray) -> dict[str, float]:
    """Share refused per duplicate kind, pooled over duplicates, and among distinct pairs (false refusals)."""
    kind = np.array(kinds)
    duplicate = np.isin(kind, DUPLICATE_KINDS)
    out = {k: float(refused[kind == k].mean()) for k in DUPLICATE_KINDS}
    out["duplicates"] = float(refused[duplicate].mean())
    out["false_refusals"] = float(refused[kind == DISTINCT_KIND].mean())
    return {k: round(v, 4) for k, v in out.items()}


def sweep(kinds: list[str], jaccard: np.ndarray, cosine: np.ndarray) -> list[dict[str, Any]]:
    """Every (minhash, embedding) threshold pair, with either measure off as well (the memory's rule: either)."""
    rows = []
    for mh in [*MINHASH_GRID, OFF]:
        for em in [*EMBEDDING_GRID, OFF]:
            if mh == em == OFF:
                continue
            refused = (jaccard >= mh) | (cosine >= em)
            rows.append(
                {"minhash": None if mh == OFF else mh, "embedding": None if em == OFF else em} | rates(kinds, refused)
            )
    return rows


def best(rows: list[dict[str, Any]], budget: float = MAX_FALSE_REFUSALS) -> dict[str, Any] | None:
    """Highest pooled recall with false refusals <= ``budget``; then fewer false refusals, then stricter thresholds."""
    allowed = [r for r in rows if r["false_refusals"] <= budget]
    if not allowed:
        return None
    return max(
        allowed, key=lambda r: (r["duplicates"], -r["false_refusals"], r["minhash"] or OFF, r["embedding"] or OFF)
    )


def auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """Chance that a duplicate pair scores above a distinct one (ties count half): 0.5 is no separation at all."""
    diff = positive[:, None] - negative[None, :]
    return round(float((diff > 0).mean() + 0.5 * (diff == 0).mean()), 4)


def separation(kinds: list[str], values: np.ndarray) -> dict[str, float]:
    """AUC of each duplicate kind against the distinct pairs, for one measure (threshold-free)."""
    kind = np.array(kinds)
    return {k: auc(values[kind == k], values[kind == DISTINCT_KIND]) for k in DUPLICATE_KINDS}


def quantiles(kinds: list[str], values: np.ndarray) -> dict[str, dict[str, float]]:
    kind = np.array(kinds)
    return {
        k: {name: round(float(np.quantile(values[kind == k], q)), 4) for name, q in QUANTILES.items()}
        for k in (*DUPLICATE_KINDS, DISTINCT_KIND)
    }


def bank_agrees(pairs: list[dict[str, Any]], embedder: CachedEmbedder, expected: np.ndarray, spec: MemorySpec) -> int:
    """Pairs on which a real MemoryBank at the defaults (``a`` remembered, ``b`` checked) refuses as ``expected``."""
    agree = 0
    with tempfile.TemporaryDirectory() as work:
        for i, pair in enumerate(pairs):
            bank = MemoryBank(Path(work) / f"{i}.jsonl", spec.minhash_threshold, spec.embedding_threshold, embedder)
            bank.add("a", pair["a"])
            agree += (bank.check(pair["b"])[0] is not None) == bool(expected[i])
    return agree


def fmt(rate: float) -> str:
    return f"{100 * rate:5.1f}%"


def print_alone(title: str, rows: list[dict[str, Any]], key: str) -> None:
    print(f"\n{title}\n{key:>10} {'paraphrase':>11} {'renamed':>8} {'dups':>7} {'false ref':>10}")
    for r in rows:
        print(
            f"{r[key]:>10.2f} {fmt(r['paraphrase']):>11} {fmt(r['renamed']):>8} {fmt(r['duplicates']):>7}"
            f" {fmt(r['false_refusals']):>10}"
        )


def print_combined(rows: list[dict[str, Any]]) -> None:
    mh_rows = [0.4, 0.5, 0.6, 0.7, 0.8]
    em_cols = [0.86, 0.88, 0.90, 0.92, 0.94, 0.95, 0.96, 0.98, 0.99]
    cell = {(r["minhash"], r["embedding"]): r for r in rows}
    print("\nEither (the memory's rule): pooled duplicate recall / false refusals; rows minhash, columns embedding")
    print(f"{'':>7}" + "".join(f"{em:>14.2f}" for em in em_cols))
    for mh in mh_rows:
        cells = [f"{fmt(cell[mh, em]['duplicates'])}/{fmt(cell[mh, em]['false_refusals'])}" for em in em_cols]
        print(f"{mh:>7.2f}" + "".join(f"{c:>14}" for c in cells))


def main() -> None:
    started = time.perf_counter()
    pairs = load_pairs()
    kinds = [p["kind"] for p in pairs]
    spec = MemorySpec()
    jaccard = minhash_scores(pairs)

    t0 = time.perf_counter()
    embedder = LlamaEmbedder(spec.embedder or "smollm2")
    try:
        texts = sorted({t for p in pairs for t in (p["a"], p["b"])})
        vectors = embed_all(embedder, texts)
    finally:
        embedder.close()
    embed_seconds = time.perf_counter() - t0
    cosine = np.array([float(vectors[p["a"]] @ vectors[p["b"]]) for p in pairs])

    rows = sweep(kinds, jaccard, cosine)
    minhash_alone = [r for r in rows if r["embedding"] is None]
    embedding_alone = [r for r in rows if r["minhash"] is None]
    combined = [r for r in rows if r["minhash"] is not None and r["embedding"] is not None]
    expected = (jaccard >= spec.minhash_threshold) | (cosine >= spec.embedding_threshold)
    at_defaults = rates(kinds, expected)
    agree = bank_agrees(pairs, CachedEmbedder(embedder.identity, vectors), expected, spec)
    if agree != len(pairs):
        raise SystemExit(f"MemoryBank disagrees with the computed rule on {len(pairs) - agree} pairs")

    print(f"{len(pairs)} pairs: " + ", ".join(f"{k} {kinds.count(k)}" for k in (*DUPLICATE_KINDS, DISTINCT_KIND)))
    print_alone("MinHash alone (word 3-gram Jaccard estimate)", minhash_alone, "minhash")
    print_alone("Embedding alone (cosine)", embedding_alone, "embedding")
    print_combined(combined)
    recommended = {
        "minhash_alone": best(minhash_alone),
        "embedding_alone": best(embedding_alone),
        "either": best(combined),
    }
    looser = {f"{budget:.2f}": best(combined, budget) for budget in (0.10, 0.20, 0.30)}
    auc_by_measure = {"minhash": separation(kinds, jaccard), "cosine": separation(kinds, cosine)}
    print(f"\nAt the defaults (minhash {spec.minhash_threshold}, embedding {spec.embedding_threshold}): {at_defaults}")
    for name, row in recommended.items():
        print(f"Best {name} (max recall, false refusals <= {MAX_FALSE_REFUSALS:.0%}): {row}")
    for budget, row in looser.items():
        print(f"Best either with false refusals <= {budget}: {row}")
    for name, values in (("minhash", jaccard), ("cosine", cosine)):
        print(f"{name}: AUC against distinct {auc_by_measure[name]}; quantiles {quantiles(kinds, values)}")
    total = time.perf_counter() - started
    print(f"{len(texts)} texts embedded in {embed_seconds:.1f} s; whole bench {total:.1f} s")

    record = {
        "benchmark": "memory",
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "pairs": {k: kinds.count(k) for k in (*DUPLICATE_KINDS, DISTINCT_KIND)},
        "data": "bench/data/memory_pairs.jsonl",
        "minhash": {"ngram": NGRAM, "num_perm": NUM_PERM},
        "embedder": {"model": spec.embedder, "identity": embedder.identity, "n_ctx": embedder.n_ctx},
        "defaults": {"minhash": spec.minhash_threshold, "embedding": spec.embedding_threshold},
        "at_defaults": at_defaults,
        "rule": (
            f"highest pooled duplicate recall with false refusals <= {MAX_FALSE_REFUSALS}; ties: fewer false refusals,"
            " then higher thresholds"
        ),
        "recommended": recommended,
        "best_either_at_looser_false_refusal_budgets": looser,
        "auc_against_distinct": auc_by_measure,
        "memory_bank_agrees": f"{agree}/{len(pairs)} pairs at the defaults",
        "note": "rates are per pair; against a bank of N unrelated entries a candidate's false refusal is ~1-(1-p)^N",
        "quantiles": {"minhash": quantiles(kinds, jaccard), "cosine": quantiles(kinds, cosine)},
        "minhash_alone": minhash_alone,
        "embedding_alone": embedding_alone,
        "either": combined,
        "per_pair": [
            {"id": p["id"], "minhash": round(float(j), 4), "cosine": round(float(c), 4)}
            for p, j, c in zip(pairs, jaccard, cosine, strict=True)
        ],
        "seconds": {"embedding": round(embed_seconds, 1), "total": round(total, 1)},
        "machine": "2 cores shared with a CI run",
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
