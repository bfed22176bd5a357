"""The peers of ``dedup_bench.py``, each a whole near-dedup pipeline run in its own process.

``python bench/dedup_peers.py PEER OUT.json DIR [DIR ...]`` reads every file under the folders, finds
near-duplicates at Jaccard 0.7 on word 5-grams with 256 permutations and writes, as JSON, its time, peak
memory (VmHWM) and which file it removed in favour of which survivor (the smallest file of the cluster in
sorted order, as a plain pipeline keeps the first it saw):

* ``rensa``: rensa's ``RMinHash`` over the shingle strings and its ``RMinHashLSH`` at 32 bands x 8 rows, every
  file inserted then queried, no check of the candidates: the plain pipeline rensa's README shows;
* ``datasketch``: datasketch's ``MinHash.update_batch`` and ``MinHashLSH`` (its own bands for 0.7), the same
  way.

Shingles are the same for both and for codemill: runs of letters, digits and underscores, word 5-grams.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

WORD = re.compile(rb"[A-Za-z0-9_\x80-\xff]+")


def shingles(data: bytes) -> list[bytes]:
    tokens = WORD.findall(data)
    if not tokens:
        return []
    return [b" ".join(tokens[i : i + 5]) for i in range(max(1, len(tokens) - 4))]


def peak_rss_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024


def main() -> None:
    peer, out, *folders = sys.argv[1:]
    started = time.perf_counter()
    files = sorted(p for folder in folders for p in Path(folder).rglob("*") if p.is_file())
    if peer == "rensa":
        from rensa import RMinHash, RMinHashLSH

        lsh = RMinHashLSH(threshold=0.7, num_perm=256, num_bands=32)

        def minhash(sh: list[bytes]) -> RMinHash:
            m = RMinHash(num_perm=256, seed=42)
            m.update([s.decode("utf-8", "replace") for s in sh])
            return m

    elif peer == "datasketch":
        from datasketch import MinHash, MinHashLSH

        lsh = MinHashLSH(threshold=0.7, num_perm=256)

        def minhash(sh: list[bytes]) -> MinHash:
            m = MinHash(num_perm=256, seed=42)
            m.update_batch(sh)
            return m

    else:
        raise SystemExit(f"unknown peer {peer!r}: rensa or datasketch")
    sigs = []
    for i, path in enumerate(files):
        m = minhash(shingles(path.read_bytes()))
        lsh.insert(i, m)
        sigs.append(m)
    parent = list(range(len(files)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, m in enumerate(sigs):
        for j in lsh.query(m):
            a, b = find(i), find(int(j))
            if a != b:
                parent[max(a, b)] = min(a, b)
    survivor_of = {str(files[i]): str(files[find(i)]) for i in range(len(files)) if find(i) != i}
    seconds = time.perf_counter() - started
    record = {"seconds": seconds, "removed": len(survivor_of), "peak_rss_mb": peak_rss_mb(), "survivor_of": survivor_of}
    Path(out).write_text(json.dumps(record))


if __name__ == "__main__":
    main()
