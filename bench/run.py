"""Benchmarks: one command, ratios against a named peer measured in the same run, results in bench/results/.

Reading + writing (issue: foundation). On the sample corpus of `make run` (the Python standard library and
the packages of the virtual environment, each a repository):

* ``repos -> parquet``: codemill reads the folder of repositories and writes Parquet shards, no filters,
  with 1 worker and with every core; documents/s and MB/s per core.
* ``jsonl -> parquet``: the same documents as one JSONL file, read and written as Parquet (zstd) by codemill
  and by the peer, Hugging Face datatrove (``JsonlReader -> ParquetWriter``, 1 task, 1 worker); the ratio
  is codemill's documents/s over datatrove's. datatrove has no reader for folders of source files, so the
  repository numbers have no peer.

Each measurement is the best of ``--repeat`` runs (wall clock). Usage: ``python bench/run.py [--repeat N]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

from codemill import __version__
from codemill.data.samples import build_sample_corpus
from codemill.data.writers import iter_parquet_rows
from codemill.pipeline.executors import default_workers
from codemill.pipeline.recipe import parse_recipe
from codemill.pipeline.run import curate
from codemill.pipeline.runner import iter_outputs

HERE = Path(__file__).parent
WORK = HERE / ".work"
RESULTS = HERE / "results"
READ_WRITE_ONLY = parse_recipe({"name": "read-write", "steps": []})


def best_of(repeat: int, run: Callable[[], None]) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return min(times)


def codemill_run(inputs: list[Path], out: Path, workers: int) -> Callable[[], None]:
    def run() -> None:
        shutil.rmtree(out, ignore_errors=True)
        curate(READ_WRITE_ONLY, inputs, out, workers=workers, progress=False)

    return run


def datatrove_run(jsonl: Path, out: Path) -> Callable[[], None]:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import ParquetWriter

    def run() -> None:
        shutil.rmtree(out, ignore_errors=True)
        LocalPipelineExecutor(
            pipeline=[
                JsonlReader(str(jsonl.parent), glob_pattern=jsonl.name),
                ParquetWriter(str(out / "data"), compression="zstd"),
            ],
            tasks=1,
            workers=1,
            logging_dir=str(out / "logs"),
        ).run()

    return run


def rate(docs: int, nbytes: int, seconds: float, cores: int) -> dict[str, float]:
    return {
        "seconds": round(seconds, 3),
        "cores": cores,
        "docs_per_s_per_core": round(docs / seconds / cores, 1),
        "mb_per_s_per_core": round(nbytes / 1e6 / seconds / cores, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    corpus = WORK / "corpus"
    build_sample_corpus(corpus)
    cores = default_workers()

    first = WORK / "repos-1"
    stats = curate(READ_WRITE_ONLY, [corpus], first, workers=1, progress=False, overwrite=True)
    docs, nbytes = stats["documents_kept"], stats["bytes_kept"]
    jsonl = WORK / "jsonl" / "corpus.jsonl"
    jsonl.parent.mkdir(parents=True, exist_ok=True)
    with jsonl.open("w", encoding="utf-8") as f:  # flat records both tools read the same way
        for r in iter_parquet_rows(iter_outputs(first)):
            f.write(json.dumps({k: r[k] for k in ("id", "text", "lang", "repo", "path")}) + "\n")

    results: dict[str, dict] = {}
    print(f"corpus: {docs:,} documents, {nbytes / 1e6:,.1f} MB of text, {stats['documents_in']:,} files")
    t = best_of(args.repeat, codemill_run([corpus], WORK / "repos-1", 1))
    results["repos->parquet codemill 1 worker"] = rate(docs, nbytes, t, 1)
    t = best_of(args.repeat, codemill_run([corpus], WORK / "repos-n", cores))
    results[f"repos->parquet codemill {cores} workers"] = rate(docs, nbytes, t, cores)
    t = best_of(args.repeat, codemill_run([jsonl], WORK / "jsonl-codemill", 1))
    results["jsonl->parquet codemill 1 worker"] = ours = rate(docs, nbytes, t, 1)
    t = best_of(args.repeat, datatrove_run(jsonl, WORK / "jsonl-datatrove"))
    results["jsonl->parquet datatrove 1 worker"] = peer = rate(docs, nbytes, t, 1)
    ratio = ours["docs_per_s_per_core"] / peer["docs_per_s_per_core"]

    for name, r in results.items():
        print(
            f"{name:42s} {r['seconds']:8.2f} s  {r['docs_per_s_per_core']:10,.0f} docs/s/core  "
            f"{r['mb_per_s_per_core']:7.2f} MB/s/core"
        )
    print(f"jsonl->parquet: codemill / datatrove = {ratio:.2f}x (documents/s, 1 worker each)")
    from importlib.metadata import version

    record = {
        "benchmark": "read_write",
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "codemill": __version__,
        "peer": f"datatrove {version('datatrove')}",
        "machine": {"cores": cores, "python": sys.version.split()[0], "platform": platform.platform()},
        "corpus": {"documents": docs, "text_bytes": nbytes, "files": stats["documents_in"]},
        "repeat": args.repeat,
        "results": results,
        "ratio_jsonl_codemill_over_datatrove": round(ratio, 3),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "read_write.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"results: {RESULTS / 'read_write.json'}")


if __name__ == "__main__":
    main()
