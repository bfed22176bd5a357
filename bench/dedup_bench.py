"""Dedup and decontamination benchmark: quality against named survivors, speed and memory against peers.

Corpus: real code on this machine (Python's standard library, the Go, Ruby, Perl and JavaScript/TypeScript
sources that Debian's packages and the toolchains install), files of 1-100 KB, up to ``--files`` of them,
split into four quarters, plus in each quarter

* planted near-duplicates: edited copies of its files (one word replaced in a share of the lines), most at
  exact Jaccard 0.75-0.95, some at 0.4-0.7 (pairs that must not be merged); ground truth is the exact
  Jaccard of word 5-gram sets;
* planted contamination: HumanEval / MBPP+ / MultiPL-E solutions pasted into copies of real files, with one
  identifier renamed (for the decontamination part).

Measured, in one run on one machine, each pipeline in its own process (``bench/dedup_peers.py``):

* end to end near-dedup of the whole corpus (read, hash, index, cluster, write; ``codemill dedup`` as a user
  runs it, start-up included) with 1 and 2 workers, against rensa's plain pipeline (its LSH at 32 x 8, no
  candidate check) and datasketch's ``MinHashLSH``: seconds and peak memory (the sum of the proportional set
  sizes of the process and its workers, sampled every 0.2 s);
* the same codemill run at 1/4 and 1/2 of the corpus, and at 10x (the corpus repeated with edits): peak
  memory must stay flat if it is bounded by configuration;
* quality of each: recall (planted pairs at >= 0.7 of which at most one document is kept), and precision
  against the named survivor (removed documents whose exact Jaccard with the document named as their
  survivor reaches 0.5 and 0.7), for codemill's ``survivors: chain`` and ``star``;
* codemill's time per phase (from ``stats.json``) and its per-part profile;
* MinHash signatures per second per core from raw text, codemill vs rensa vs datasketch;
* decontamination recall on the planted cases and false hits on the clean corpus.

Usage: ``python bench/dedup_bench.py [--files N] [--no-ten-x]`` (``make bench``). Results:
``bench/results/dedup.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import sysconfig
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq

from codemill.curate.dedup.planted import edited_copy, jaccard

HERE = Path(__file__).parent
WORK = HERE / ".work" / "dedup"
RESULTS = HERE / "results"
ROOTS = [
    Path(sysconfig.get_paths()["stdlib"]),
    Path("/usr/lib/go/src"),
    Path("/usr/share/gocode/src"),
    Path("/usr/lib/ruby"),
    Path("/usr/share/perl"),
    Path("/usr/share/perl5"),
    Path("/usr/lib/x86_64-linux-gnu/perl"),
    Path("/usr/share/nodejs"),
    Path("/opt/codemill/node"),
]
SUFFIXES = {".py", ".go", ".rb", ".pm", ".pl", ".js", ".ts"}
NEAR_SHARES = [0.01, 0.015, 0.02, 0.03, 0.04, 0.05]  # about 0.95 down to 0.75 on these files
FAR_SHARES = [0.1, 0.15, 0.2, 0.3]  # about 0.65 down to 0.4
BIN = Path(sys.executable).parent


def real_files(limit: int, rng: random.Random) -> list[Path]:
    files: set[Path] = set()
    for root in ROOTS:
        if root.is_dir():
            files |= {p for p in root.rglob("*") if p.suffix in SUFFIXES and "site-packages" not in p.parts}
    kept = sorted(p for p in files if p.is_file() and not p.is_symlink() and 1_000 < p.stat().st_size < 100_000)
    rng.shuffle(kept)
    return kept[:limit]


def build_corpus(limit: int, rng: random.Random) -> tuple[list[Path], dict[str, str], list[dict], list[dict]]:
    """Four quarter folders; the texts by path; the planted pairs; the planted contaminations."""
    from codemill.benchmarks import decontamination_items

    corpus = WORK / "corpus"
    shutil.rmtree(corpus, ignore_errors=True)
    texts: dict[str, str] = {}
    for i, f in enumerate(real_files(limit, rng)):
        try:
            texts[str(corpus / f"q{i % 4}" / "orig" / f"{i:06d}{f.suffix}")] = f.read_text()
        except (UnicodeDecodeError, OSError):
            continue
    originals = sorted(texts)
    pairs = []
    plan = [(s, j) for j, s in enumerate(NEAR_SHARES * (2000 // len(NEAR_SHARES)) + FAR_SHARES * 100)]
    for (share, j), name in zip(plan, rng.sample(originals, len(plan)), strict=True):
        copy = edited_copy(texts[name], share, rng)
        quarter = Path(name).parent.parent
        copy_name = str(quarter / "near" / f"{j:06d}{Path(name).suffix}")
        texts[copy_name] = copy
        pairs.append({"a": name, "b": copy_name, "jaccard": jaccard(texts[name], copy)})
    snippets = [it for b in ("humaneval", "mbpp") for it in decontamination_items(b)]
    snippets += [it for it in decontamination_items("multipl-e") if it.id.split("/")[1] in ("js", "java", "cpp", "go")]
    planted = []
    for j, item in enumerate(rng.sample(snippets, 100)):
        host_name = rng.choice(originals)
        host = texts[host_name]
        words = sorted({w for w in item.text.split() if w.isidentifier() and len(w) > 3})
        snippet = item.text.replace(words[0], words[0] + "_x", 1) if words else item.text
        cut = host.index("\n", len(host) // 2) if "\n" in host[len(host) // 2 :] else len(host)
        name = str(Path(host_name).parent.parent / "dirty" / f"{j:05d}.txt")
        texts[name] = host[:cut] + "\n" + snippet + "\n" + host[cut:]
        planted.append({"doc": name, "item": item.id})
    for name, text in texts.items():
        Path(name).parent.mkdir(parents=True, exist_ok=True)
        Path(name).write_text(text)
    return [corpus / f"q{k}" for k in range(4)], texts, pairs, planted


def ten_x_corpus(texts: dict[str, str], rng: random.Random) -> Path:
    """The corpus ten times as JSONL files: the originals, then nine edited copies of every document; files of
    about 32 MB (a JSONL file is one unit of input, so this keeps shards the size they are for the folders)."""
    folder = WORK / "ten-x"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    part, size, out = 0, 0, None
    for copy in range(10):
        for name, text in texts.items():
            if out is None or size > 32_000_000:
                out = out.close() if out else None
                out, size, part = (folder / f"part-{part:04d}.jsonl").open("w"), 0, part + 1
            body = text if copy == 0 else edited_copy(text, rng.choice(NEAR_SHARES), rng)
            size += out.write(json.dumps({"id": f"{copy}:{name}", "text": body}) + "\n")
    if out:
        out.close()
    return folder


# -------------------------------------------------------------------------------------------- measuring


def _pss_mb(pid: int) -> float:
    """Proportional set size of a process (its share of pages it shares with its workers), MB; 0 if gone."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("Pss:")) / 1024
    except (OSError, StopIteration):
        return 0.0


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            with open(f"/proc/{p}/task/{p}/children") as f:
                todo += [int(c) for c in f.read().split()]
        except OSError:
            continue
    return out


def timed(argv: list[str]) -> tuple[float, float, str]:
    """Run ``argv``; its wall seconds, the peak over time of its process tree's summed PSS (MB), its stdout."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0.0]

    def sample() -> None:
        while proc.poll() is None:
            peak[0] = max(peak[0], sum(_pss_mb(p) for p in _tree(proc.pid)))
            time.sleep(0.2)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    out, err = proc.communicate()
    seconds = time.perf_counter() - started
    watcher.join()
    if proc.returncode:
        raise RuntimeError(f"{argv[:3]} failed ({proc.returncode}): {err[-2000:]}")
    return seconds, peak[0], out


def run_codemill(inputs: list[Path], out: Path, workers: int, survivors: str = "chain") -> dict:
    """``codemill dedup`` as a user runs it (near only: exact copies are near copies too)."""
    argv = [str(BIN / "codemill"), "dedup", "--output", str(out), "--overwrite", "--workers", str(workers)]
    argv += ["--survivors", survivors] + [a for p in inputs for a in ("--input", str(p))]
    seconds, peak, _ = timed(argv)
    stats = json.loads((out / "stats.json").read_text())
    return {
        "seconds": round(seconds, 2),
        "peak_memory_mb": round(peak),
        "removed": stats["documents_rejected"],
        "documents": stats["documents_in"],
        "dedup_step_seconds": next(s["seconds"] for s in stats["steps"] if s["name"] == "dedup"),
        "summary": stats["global_steps"]["dedup"],
    }


def run_peer(peer: str, inputs: list[Path]) -> dict:
    result = WORK / f"{peer}.json"
    seconds, peak, _ = timed([sys.executable, str(HERE / "dedup_peers.py"), peer, str(result), *map(str, inputs)])
    record = json.loads(result.read_text())
    return {"seconds": round(seconds, 2), "peak_memory_mb": round(peak), **record}


def codemill_survivors(out: Path, texts: dict[str, str]) -> dict[str, str]:
    """Removed file -> its named survivor, from a codemill output. A document's repository is the folder under
    its input folder (``orig``, ``near``, ``dirty``); file names are unique across the quarters."""
    full = {"/".join(Path(name).parts[-2:]): name for name in texts}
    rows = {
        which: [r for f in sorted((out / which).glob("*.parquet")) for r in pq.read_table(f).to_pylist()]
        for which in ("data", "rejected")
    }
    by_id = {r["id"]: full[f"{r['repo']}/{r['path']}"] for which in rows.values() for r in which}
    return {full[f"{r['repo']}/{r['path']}"]: by_id[json.loads(r["meta"])["duplicate_of"]] for r in rows["rejected"]}


def quality(survivor_of: dict[str, str], pairs: list[dict], texts: dict[str, str]) -> dict:
    """Recall on planted pairs and precision against the named survivor at 0.5 and 0.7."""
    sims = [jaccard(texts[name], texts[surv]) for name, surv in survivor_of.items()]
    near = [p for p in pairs if p["jaccard"] >= 0.7]
    far = [p for p in pairs if p["jaccard"] < 0.7]
    resolved = sum(1 for p in near if p["a"] in survivor_of or p["b"] in survivor_of)
    same = lambda p: survivor_of.get(p["a"], p["a"]) == survivor_of.get(p["b"], p["b"])  # noqa: E731
    return {
        "removed": len(survivor_of),
        "recall": round(resolved / max(1, len(near)), 4),
        "precision_at_0.5": round(sum(s >= 0.5 for s in sims) / max(1, len(sims)), 4),
        "precision_at_0.7": round(sum(s >= 0.7 for s in sims) / max(1, len(sims)), 4),
        "planted_pairs_at_or_above_0.7": len(near),
        "planted_pairs_below_0.7": len(far),
        "planted_pairs_below_0.7_merged": sum(1 for p in far if same(p)),
    }


def signature_speed(texts: list[str]) -> dict:
    """Signatures per second on one core from raw text, the same word 5-gram shingles for all three."""
    import rensa
    from datasketch import MinHash

    from codemill.curate.dedup.minhash import batch_shingle_hashes, flat_signatures
    from codemill.curate.ngrams import word_tokens

    mb = sum(len(t.encode()) for t in texts) / 1e6
    t0 = time.perf_counter()
    for start in range(0, len(texts), 256):  # batches as the dedup step makes them (at most 2 MiB of text)
        flat_signatures(*batch_shingle_hashes(texts[start : start + 256], 5), 256, 42)
    ours = time.perf_counter() - t0

    def shingle_strings(t: str) -> list[str]:
        toks = [w.decode() for w in word_tokens(t)]
        return [" ".join(toks[i : i + 5]) for i in range(max(1, len(toks) - 4))] if toks else []

    t0 = time.perf_counter()
    for t in texts:
        r = rensa.RMinHash(256, 42)
        r.update(shingle_strings(t))
        r.digest()
    rensa_s = time.perf_counter() - t0
    sample = texts[: max(1, len(texts) // 10)]  # datasketch is slow: time a tenth, scale up
    t0 = time.perf_counter()
    for t in sample:
        m = MinHash(num_perm=256, seed=42)
        m.update_batch([s.encode() for s in shingle_strings(t)])
        m.digest()
    ds = (time.perf_counter() - t0) * len(texts) / len(sample)
    return {
        "documents": len(texts),
        "megabytes": round(mb, 1),
        "codemill_mb_per_s": round(mb / ours, 1),
        "rensa_mb_per_s": round(mb / rensa_s, 1),
        "datasketch_mb_per_s": round(mb / ds, 1),
        "codemill_over_rensa": round(rensa_s / ours, 2),
        "codemill_over_datasketch": round(ds / ours, 2),
        "note": "from raw text with the same word 5-gram shingles; datasketch timed on a tenth of the documents",
    }


def decontamination(quarters: list[Path], planted: list[dict], texts: dict[str, str]) -> dict:
    from codemill.pipeline.recipe import parse_recipe
    from codemill.pipeline.run import curate

    out = WORK / "decont"
    stats = curate(parse_recipe({"steps": [{"step": "decontaminate"}]}), quarters, out, progress=False, overwrite=True)
    full = {"/".join(Path(name).parts[-2:]): name for name in texts}
    hit = {
        full[f"{r['repo']}/{r['path']}"]
        for f in sorted((out / "rejected").glob("*.parquet"))
        for r in pq.read_table(f, columns=["repo", "path"]).to_pylist()
    }
    caught = sum(1 for p in planted if p["doc"] in hit)
    false_hits = len(hit - {p["doc"] for p in planted})
    clean = stats["documents_in"] - len(planted)
    return {
        "planted": len(planted),
        "caught": caught,
        "recall": round(caught / len(planted), 4),
        "false_hits": false_hits,
        "false_hit_rate": round(false_hits / max(1, clean), 5),
    }


def ratio(a: float, b: float) -> float:
    return round(a / b, 2) if b else 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=26_000, help="real files to take (before planting)")
    ap.add_argument("--no-ten-x", action="store_true", help="skip the 10x memory run (the longest part)")
    args = ap.parse_args()
    rng = random.Random(2026)
    WORK.mkdir(parents=True, exist_ok=True)
    quarters, texts, pairs, planted = build_corpus(args.files, rng)
    mb = sum(len(t.encode()) for t in texts.values()) / 1e6
    print(f"corpus: {len(texts):,} files ({mb:.0f} MB), {len(pairs)} planted pairs, {len(planted)} contaminations")

    runs: dict[str, dict] = {}
    for name, argv in {
        "rensa_plain": ("rensa", quarters),
        "datasketch": ("datasketch", quarters),
    }.items():
        runs[name] = run_peer(*argv)
        print(f"{name}: {runs[name]['seconds']:.1f} s, {runs[name]['peak_memory_mb']} MB")
    for workers in (1, 2):
        for survivors in ("chain", "star"):
            key = f"codemill_{workers}_worker_{survivors}"
            runs[key] = run_codemill(quarters, WORK / key, workers, survivors)
            runs[key]["survivor_of"] = codemill_survivors(WORK / key, texts)
            print(f"{key}: {runs[key]['seconds']:.1f} s, {runs[key]['peak_memory_mb']} MB")

    scale = {}
    for label, parts in (("quarter", quarters[:1]), ("half", quarters[:2]), ("full", quarters)):
        r = runs["codemill_1_worker_star"] if label == "full" else run_codemill(parts, WORK / label, 1, "star")
        scale[label] = {
            "megabytes": round(sum(du(p) for p in parts) / 1e6),
            **{k: r[k] for k in ("seconds", "peak_memory_mb")},
        }
    if not args.no_ten_x:
        big = ten_x_corpus(texts, rng)
        r = run_codemill([big], WORK / "ten-x-out", 2, "star")
        scale["ten_x"] = {
            "megabytes": round(du(big) / 1e6),
            "seconds": r["seconds"],
            "peak_memory_mb": r["peak_memory_mb"],
            "workers": 2,
        }
        shutil.rmtree(big, ignore_errors=True)
    print(
        "peak memory by corpus size: "
        + ", ".join(f"{k} {v['megabytes']} MB -> {v['peak_memory_mb']} MB" for k, v in scale.items())
    )

    qualities = {k: quality(r.pop("survivor_of"), pairs, texts) for k, r in runs.items()}
    for k, q in qualities.items():
        print(f"quality {k}: recall {q['recall']}, precision vs survivor", end=" ")
        print(f"@0.5 {q['precision_at_0.5']}, @0.7 {q['precision_at_0.7']}")
    ours = runs["codemill_2_worker_star"]
    e2e = {
        "codemill_over_rensa_plain_2_workers": ratio(runs["rensa_plain"]["seconds"], ours["seconds"]),
        "codemill_over_rensa_plain_1_worker": ratio(
            runs["rensa_plain"]["seconds"], runs["codemill_1_worker_star"]["seconds"]
        ),
        "codemill_over_datasketch_2_workers": ratio(runs["datasketch"]["seconds"], ours["seconds"]),
        "two_workers_over_one": ratio(runs["codemill_1_worker_star"]["seconds"], ours["seconds"]),
        "memory_over_rensa_plain": ratio(ours["peak_memory_mb"], runs["rensa_plain"]["peak_memory_mb"]),
    }
    print(
        f"end to end: codemill (2 workers) {e2e['codemill_over_rensa_plain_2_workers']}x rensa's plain pipeline, "
        f"{e2e['codemill_over_datasketch_2_workers']}x datasketch; 2 workers {e2e['two_workers_over_one']}x 1"
    )
    decont = decontamination(quarters, planted, texts)
    print(f"decontamination: recall {decont['recall']} ({decont['caught']}/{decont['planted']}), ", end="")
    print(f"false hits {decont['false_hits']}")
    speed = signature_speed(list(texts.values())[:6000])
    print(f"signatures MB/s (1 core): codemill {speed['codemill_mb_per_s']}, rensa {speed['rensa_mb_per_s']}, ", end="")
    print(f"datasketch {speed['datasketch_mb_per_s']}")

    record = {
        "benchmark": "dedup",
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": {"cpus": os.cpu_count(), "cpu": cpu_name()},
        "corpus": {"files": len(texts), "megabytes": round(mb), "planted_pairs": len(pairs)},
        "end_to_end": {"ratios": e2e, "runs": runs},
        "memory_by_corpus_size": scale,
        "quality": qualities,
        "decontamination": decont,
        "signatures": speed,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "dedup.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"results: {RESULTS / 'dedup.json'}")


def du(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def cpu_name() -> str:
    with open("/proc/cpuinfo") as f:
        return next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "unknown")


if __name__ == "__main__":
    main()
