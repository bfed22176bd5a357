"""Dedup and decontamination benchmark: quality on planted cases, speed against datasketch and rensa.

Corpus: real code on this machine (the Python standard library, and the Go, Rust, JavaScript, PHP, Ruby,
Lua, Perl and C sources of the test fixtures' Debian packages), plus

* planted near-duplicates: edited copies of random files, the edit share chosen to spread their exact
  Jaccard similarity (word 5-gram sets) from about 0.4 to 1.0; ground truth is the exact Jaccard;
* planted contamination: HumanEval / MBPP+ / MultiPL-E solutions pasted into copies of real files, with
  one identifier renamed.

Measured (wall clock, this machine, one run):

* near-dedup precision (removed documents whose exact Jaccard with their survivor reaches 0.7) and recall
  (planted pairs at >= 0.7 that end in one cluster), and planted pairs below 0.7 wrongly merged;
* MinHash signatures per second per core, 256 permutations, the same shingles: codemill (numpy + rensa
  batch) vs ``datasketch.MinHash.update_batch`` vs ``rensa.RMinHash.update``;
* end to end near-dedup of the corpus (read, hash, index, cluster, write), time and peak memory (VmHWM of the
  process; with 1 worker codemill runs in that process):
  ``codemill dedup`` (1 worker) vs datasketch ``MinHashLSH`` (insert all, query all, union), each in its own
  process;
* decontamination recall on the planted cases and false hits on the clean corpus.

Usage: ``python bench/dedup_bench.py`` (``make bench``). Results: ``bench/results/dedup.json``.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pyarrow.parquet as pq

from codemill.curate.dedup.planted import edited_copy as edit
from codemill.curate.dedup.planted import jaccard

HERE = Path(__file__).parent
WORK = HERE / ".work" / "dedup"
RESULTS = HERE / "results"
STDLIB = Path(sysconfig.get_paths()["stdlib"])
DEBIAN = [
    Path("/usr/share/gocode/src/github.com"),
    Path("/usr/share/cargo/registry"),
    Path("/usr/share/nodejs/lodash"),
    Path("/usr/share/php"),
    Path("/usr/share/rubygems-integration/all/gems"),
    Path("/usr/share/lua/5.4"),
    Path("/usr/share/perl/5.36.0"),
    Path("/usr/include"),
]
SUFFIXES = {".py", ".go", ".rs", ".js", ".php", ".rb", ".lua", ".pm", ".h"}
EDIT_SHARES = [0.0, 0.02, 0.04, 0.07, 0.1, 0.14, 0.2, 0.3, 0.45]


def real_files(limit: int, rng: random.Random) -> list[Path]:
    files = [p for p in STDLIB.rglob("*.py") if "site-packages" not in p.parts]
    for root in DEBIAN:
        files += [p for p in root.rglob("*") if p.suffix in SUFFIXES]
    files = sorted(p for p in files if p.is_file() and 1_000 < p.stat().st_size < 60_000)
    rng.shuffle(files)
    return files[:limit]


def build_corpus(rng: random.Random) -> tuple[Path, list[dict], list[dict]]:
    from codemill.benchmarks import decontamination_items

    corpus = WORK / "corpus"
    shutil.rmtree(corpus, ignore_errors=True)
    files = real_files(6000, rng)
    texts: dict[str, str] = {}
    for i, f in enumerate(files):
        try:
            texts[f"orig/{i:05d}{f.suffix}"] = f.read_text()
        except UnicodeDecodeError:
            continue
    names = sorted(texts)
    pairs = []
    for j, name in enumerate(rng.sample(names, 600)):
        copy = edit(texts[name], EDIT_SHARES[j % len(EDIT_SHARES)], rng)
        jac = jaccard(texts[name], copy)
        copy_name = f"near/{j:05d}{Path(name).suffix}"
        texts[copy_name] = copy
        pairs.append({"a": name, "b": copy_name, "jaccard": jac})
    snippets = [it for b in ("humaneval", "mbpp") for it in decontamination_items(b)]
    snippets += [it for it in decontamination_items("multipl-e") if it.id.split("/")[1] in ("js", "java", "cpp", "go")]
    planted = []
    for j, item in enumerate(rng.sample(snippets, 100)):
        host = texts[rng.choice(names)]
        words = sorted({w for w in item.text.split() if w.isidentifier() and len(w) > 3})
        snippet = item.text.replace(words[0], words[0] + "_x", 1) if words else item.text
        cut = host.index("\n", len(host) // 2) if "\n" in host[len(host) // 2 :] else len(host)
        name = f"dirty/{j:05d}.txt"
        texts[name] = host[:cut] + "\n" + snippet + "\n" + host[cut:]
        planted.append({"doc": name, "item": item.id})
    for name, text in texts.items():
        path = corpus / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return corpus, pairs, planted


def rows_of(out: Path, which: str) -> list[dict]:
    return [r for f in sorted((out / which).glob("*.parquet")) for r in pq.read_table(f).to_pylist()]


def measure_quality(out: Path, pairs: list[dict], texts: dict[str, str]) -> dict:

    removed = {
        f"{r['repo']}/{r['path']}": json.loads(r["meta"])
        for r in rows_of(out, "rejected")
        if r["rejected_by"] == "dedup"
    }
    by_id = {r["id"]: f"{r['repo']}/{r['path']}" for which in ("data", "rejected") for r in rows_of(out, which)}
    survivor_of = {name: by_id[m["duplicate_of"]] for name, m in removed.items()}

    def jac(x: str, y: str) -> float:
        return jaccard(texts[x], texts[y])

    members: dict[str, list[str]] = {}
    for name, surv in survivor_of.items():
        members.setdefault(surv, [surv]).append(name)
    # a removed document is right if it reaches the threshold with some other member of its cluster
    true_pos = sum(
        1 for name, surv in survivor_of.items() if max(jac(name, m) for m in members[surv] if m != name) >= 0.7
    )
    cluster = lambda n: survivor_of.get(n, n)  # noqa: E731
    above = [p for p in pairs if p["jaccard"] >= 0.7]
    below = [p for p in pairs if p["jaccard"] < 0.7]
    found = sum(1 for p in above if cluster(p["a"]) == cluster(p["b"]))
    merged_below = sum(1 for p in below if cluster(p["a"]) == cluster(p["b"]))
    return {
        "removed": len(removed),
        "precision": round(true_pos / max(1, len(removed)), 4),
        "recall": round(found / max(1, len(above)), 4),
        "planted_pairs_at_or_above_0.7": len(above),
        "planted_pairs_below_0.7": len(below),
        "planted_pairs_below_0.7_merged": merged_below,
    }


def signature_speed(texts: list[str]) -> dict:
    import rensa
    from datasketch import MinHash

    from codemill.curate.dedup.minhash import shingle_hashes, signatures
    from codemill.curate.ngrams import word_tokens

    mb = sum(len(t.encode()) for t in texts) / 1e6
    t0 = time.perf_counter()
    for start in range(0, len(texts), 2048):
        signatures([shingle_hashes(t, 5) for t in texts[start : start + 2048]], 256, 42)
    ours = time.perf_counter() - t0

    def shingle_strings(t: str) -> list[bytes]:
        toks = word_tokens(t)
        return [b" ".join(toks[i : i + 5]) for i in range(max(1, len(toks) - 4))] if toks else []

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
        m.update_batch(shingle_strings(t))
        m.digest()
    ds = (time.perf_counter() - t0) * len(texts) / len(sample)
    n = len(texts)
    return {
        "documents": n,
        "megabytes": round(mb, 1),
        "codemill_docs_per_s": round(n / ours),
        "rensa_docs_per_s": round(n / rensa_s),
        "datasketch_docs_per_s": round(n / ds),
        "codemill_over_rensa": round(rensa_s / ours, 2),
        "codemill_over_datasketch": round(ds / ours, 2),
        "note": "all three from raw text with the same word 5-gram shingles (tokenise, shingle, MinHash); "
        "datasketch timed on a tenth of the documents",
    }


DATASKETCH_E2E = r"""
import sys, json, time, re
from pathlib import Path
from datasketch import MinHash, MinHashLSH
WORD = re.compile(rb"[A-Za-z0-9_\x80-\xff]+")
t0 = time.perf_counter()
files = sorted(p for p in Path(sys.argv[1]).rglob("*") if p.is_file())
lsh = MinHashLSH(threshold=0.7, num_perm=256)
sigs = {}
for i, p in enumerate(files):
    toks = WORD.findall(p.read_bytes())
    sh = [b" ".join(toks[j:j + 5]) for j in range(max(1, len(toks) - 4))] if toks else []
    m = MinHash(num_perm=256, seed=42); m.update_batch(sh)
    lsh.insert(i, m); sigs[i] = m
parent = list(range(len(files)))
def find(x):
    while parent[x] != x:
        parent[x] = parent[parent[x]]; x = parent[x]
    return x
for i, m in sigs.items():
    for j in lsh.query(m):
        a, b = find(i), find(j)
        if a != b: parent[max(a, b)] = min(a, b)
removed = sum(1 for i in range(len(files)) if find(i) != i)
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")) / 1024
print(json.dumps({"seconds": time.perf_counter() - t0, "removed": removed, "peak_rss_mb": hwm}))
"""

CODEMILL_E2E = r"""
import sys, json, time
from pathlib import Path
from codemill.pipeline.recipe import parse_recipe
from codemill.pipeline.run import curate
t0 = time.perf_counter()
recipe = parse_recipe({"steps": [{"step": "dedup", "exact": False}]})
stats = curate(recipe, [Path(sys.argv[1])], Path(sys.argv[2]), workers=int(sys.argv[3]), progress=False,
               overwrite=True)
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")) / 1024
print(json.dumps({"seconds": time.perf_counter() - t0, "removed": stats["documents_rejected"], "peak_rss_mb": hwm}))
"""


def run_json(code: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    from codemill.pipeline.recipe import parse_recipe
    from codemill.pipeline.run import curate

    rng = random.Random(2026)
    WORK.mkdir(parents=True, exist_ok=True)
    corpus, pairs, planted = build_corpus(rng)
    texts = {str(p.relative_to(corpus)): p.read_text() for p in corpus.rglob("*") if p.is_file()}
    print(
        f"corpus: {len(texts):,} documents ({sum(map(len, texts.values())) / 1e6:.1f} MB), {len(pairs)} planted "
        f"near-duplicate pairs, {len(planted)} planted contaminations"
    )

    out = WORK / "out"
    stats = curate(
        parse_recipe({"steps": [{"step": "dedup"}]}),
        [corpus],
        out,
        workers=2,
        progress=False,
        overwrite=True,
    )
    quality = measure_quality(out, pairs, texts)
    print(
        f"near-dedup: precision {quality['precision']:.3f}, recall {quality['recall']:.3f} "
        f"({quality['planted_pairs_at_or_above_0.7']} planted pairs >= 0.7; "
        f"{quality['planted_pairs_below_0.7_merged']} of {quality['planted_pairs_below_0.7']} below merged)"
    )

    dout = WORK / "decont"
    dstats = curate(
        parse_recipe({"steps": [{"step": "decontaminate"}]}),
        [corpus],
        dout,
        workers=2,
        progress=False,
        overwrite=True,
    )
    contaminated = {f"{r['repo']}/{r['path']}" for r in rows_of(dout, "rejected")}
    caught = sum(1 for p in planted if p["doc"] in contaminated)
    clean_docs = dstats["documents_in"] - len(planted)
    false_hits = len(contaminated - {p["doc"] for p in planted})
    decont = {
        "planted": len(planted),
        "caught": caught,
        "recall": round(caught / len(planted), 4),
        "false_hits": false_hits,
        "false_hit_rate": round(false_hits / max(1, clean_docs), 5),
    }
    print(
        f"decontamination: recall {decont['recall']:.3f} ({caught}/{len(planted)}), false hits {false_hits} "
        f"of {clean_docs:,} clean documents ({decont['false_hit_rate']:.3%})"
    )

    speed = signature_speed(list(texts.values()))
    print(
        f"signatures/s (1 core): codemill {speed['codemill_docs_per_s']:,}, rensa {speed['rensa_docs_per_s']:,}, "
        f"datasketch {speed['datasketch_docs_per_s']:,} -> {speed['codemill_over_rensa']}x rensa, "
        f"{speed['codemill_over_datasketch']}x datasketch"
    )

    ours = run_json(CODEMILL_E2E, str(corpus), str(WORK / "e2e"), "1")
    peer = run_json(DATASKETCH_E2E, str(corpus))
    ours2 = run_json(CODEMILL_E2E, str(corpus), str(WORK / "e2e2"), "2")
    e2e = {
        "codemill_1_worker": ours,
        "codemill_2_workers": ours2,
        "datasketch_minhashlsh": peer,
        "speedup_1_worker": round(peer["seconds"] / ours["seconds"], 2),
        "memory_ratio": round(ours["peak_rss_mb"] / peer["peak_rss_mb"], 2),
    }
    print(
        f"end to end near-dedup: codemill {ours['seconds']:.1f} s / {ours['peak_rss_mb']:.0f} MB (1 worker), "
        f"{ours2['seconds']:.1f} s (2 workers); datasketch MinHashLSH {peer['seconds']:.1f} s / "
        f"{peer['peak_rss_mb']:.0f} MB -> {e2e['speedup_1_worker']}x faster on 1 core"
    )

    record = {
        "benchmark": "dedup",
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "corpus_documents": len(texts),
        "near_dedup": quality,
        "decontamination": decont,
        "signatures": speed,
        "end_to_end": e2e,
        "dedup_summary": stats["global_steps"]["dedup"],
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "dedup.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"results: {RESULTS / 'dedup.json'}")


if __name__ == "__main__":
    main()
