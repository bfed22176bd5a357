"""Scale test of near-dedup: a million documents made from real code, peak memory, and local == Ray.

Documents are windows of 6 to 30 lines cut from the real files of the dedup benchmark's corpus (the Python
standard library and the Debian packages of the test fixtures); one in ten is an edited copy of another,
so there is something to find. They are written as zstd-compressed JSONL shards. The run is the ``dedup``
step alone, 2 workers, first with the local executor, then with Ray; peak memory is the largest sum of the
resident sizes of the run's whole process tree, sampled every 0.2 s.

Usage: ``python bench/dedup_scale.py [--documents 1000000]``. Results: ``bench/results/dedup_scale.json``.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).parent))
import contextlib

from dedup_bench import real_files

from codemill.curate.dedup.planted import edited_copy as edit
from codemill.data.schema import Document
from codemill.data.writers import write_jsonl
from codemill.pipeline.recipe import parse_recipe
from codemill.pipeline.run import curate

HERE = Path(__file__).parent
WORK = HERE / ".work" / "scale"


def make_documents(n: int, out: Path, rng: random.Random) -> int:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    sources = []
    for f in real_files(20_000, rng):
        try:
            sources.append(f.read_text().splitlines())
        except UnicodeDecodeError:
            continue
    per_file, total_bytes = 100_000, 0
    recent: list[str] = []
    for part in range(0, n, per_file):
        docs = []
        for i in range(part, min(n, part + per_file)):
            if recent and rng.random() < 0.1:
                text = edit(rng.choice(recent), rng.choice([0.0, 0.05, 0.1, 0.3]), rng)
            else:
                lines = rng.choice(sources)
                start = rng.randrange(max(1, len(lines) - 6))
                text = "\n".join(lines[start : start + rng.randint(6, 30)]) + "\n"
                recent = ([*recent, text])[-1000:]
            total_bytes += len(text)
            docs.append(Document(f"doc-{i:07d}", text))
        write_jsonl(docs, out / f"part-{part // per_file:03d}.jsonl.zst")
    return total_bytes


class PeakMemory:
    """Samples the resident memory of this process and all its descendants (Ray's included)."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for p in [me, *me.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    total += p.memory_info().rss
            self.peak = max(self.peak, total)
            time.sleep(0.2)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run(executor: str, inputs: Path, out: Path) -> dict:
    recipe = parse_recipe({"shards": {"target_bytes": 16_000_000}, "steps": [{"step": "dedup"}]})
    t0 = time.perf_counter()
    with PeakMemory() as mem:
        stats = curate(recipe, [inputs], out, executor=executor, workers=2, progress=False, overwrite=True)  # type: ignore[arg-type]
    return {
        "seconds": round(time.perf_counter() - t0, 1),
        "peak_memory_mb": round(mem.peak / 2**20),
        "kept": stats["documents_kept"],
        "removed": stats["documents_rejected"],
        "shards": stats["shards"],
        "dedup": stats["global_steps"]["dedup"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=1_000_000)
    args = parser.parse_args()
    rng = random.Random(11)
    t0 = time.perf_counter()
    nbytes = make_documents(args.documents, WORK / "input", rng)
    print(f"{args.documents:,} documents, {nbytes / 1e6:.0f} MB of text, made in {time.perf_counter() - t0:.0f} s")
    local = run("local", WORK / "input", WORK / "local")
    print(f"local: {local['seconds']} s, peak {local['peak_memory_mb']} MB, removed {local['removed']:,}")
    on_ray = run("ray", WORK / "input", WORK / "ray")
    print(f"ray:   {on_ray['seconds']} s, peak {on_ray['peak_memory_mb']} MB, removed {on_ray['removed']:,}")
    same = all(
        a.read_bytes() == b.read_bytes()
        for which in ("data", "rejected")
        for a, b in zip(
            sorted((WORK / "local" / which).glob("*.parquet")),
            sorted((WORK / "ray" / which).glob("*.parquet")),
            strict=True,
        )
    )
    print(f"local and Ray outputs byte-identical: {same}")
    record = {
        "benchmark": "dedup_scale",
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "documents": args.documents,
        "text_megabytes": round(nbytes / 1e6),
        "local": local,
        "ray": on_ray,
        "identical": same,
    }
    (HERE / "results" / "dedup_scale.json").write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
